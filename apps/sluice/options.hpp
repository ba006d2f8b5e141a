// The option table's types, shared by the parser (args.cpp) and the files that contribute options to it, one
// file a concept (options_*.cpp). Internal to the job runner.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace sluice::app {

enum class arg_kind { none, required, optional };

struct option_spec {
  std::vector<std::string_view> longs;
  char short_name;
  arg_kind kind;
  std::function<void(config&, const std::string&)> apply;
};

// Adds rows to an option table: a flag, an option with a required value, or one whose value is optional.
class option_table {
 public:
  explicit option_table(std::vector<option_spec>& rows) : rows_(rows) {}
  void flag(std::vector<std::string_view> longs, char short_name, std::function<void(config&)> apply);
  void val(std::vector<std::string_view> longs, char short_name, std::function<void(config&, const std::string&)> apply);
  void opt(std::vector<std::string_view> longs, char short_name, std::function<void(config&, const std::string&)> apply);
  std::vector<option_spec>& rows() { return rows_; }

 private:
  std::vector<option_spec>& rows_;
};

// Input (options_input.cpp): -a, :::, separators, -E, --colsep, --trim, --header, --link; --pipe and
// --pipe-part with their records and blocks, --shard/--bin, --cat, --fifo, --round-robin, --tee.
void add_input_options(option_table& t);

// The composed command (options_command.cpp): -I and the renamed strings, --plus, --rpl, -q, --parens,
// --shell-quote, --filter, --template; how many arguments a job gets: -n, -N, -L, -l, -s, -X, -m, -x.
void add_command_options(option_table& t);

// Output and records (options_output.cpp): -k, the output modes, --tag/--tagstring, -v, -t, --dry-run,
// --joblog, --resume, --results, --bar/--progress/--eta, --color, --files, --compress, --color-failed.
void add_output_options(option_table& t);

// Job control (options_jobs.cpp): -j, the slot variable, --timeout, --retries, --halt, --term-seq, --tmpdir,
// start gating (--delay, --load, --memfree, --limit, --memsuspend, --noswap), --semaphore, --tty, -o, -p.
void add_job_options(option_table& t);

// Other hosts (options_hosts.cpp): -S, --ssh, transfers, --workdir, --onall/--nonall, --env, the SQL job
// queue, --slurm.
void add_host_options(option_table& t);

// GNU's local options beyond the basics: command length (--max-line-length-allowed, --show-limits),
// --env/--record-env, --nice, --shebang/--shebang-wrap/--skip-first-line, --shuf, --csv, --group-by.
void add_local_options(std::vector<option_spec>& o);

// GNU's retired options (-g -B -T -U -W -Y -H --sql --ctrlc --noctrlc): each gives GNU's messages and stops.
void add_retired_options(std::vector<option_spec>& o);

// GNU's options that cannot apply to sluice (--embed): refused with the reason, never "unknown option".
void add_inapplicable_options(std::vector<option_spec>& o);

// --shell-completion: prints the shell code (bash or zsh; "auto" from $SHELL) that completes the options of
// `specs` (completion.cpp).
void print_completion(std::string shell, const std::vector<option_spec>& specs);

// #!/usr/bin/sluice --shebang ... / --shebang-wrap ...: the kernel passes everything after the interpreter
// as one word; this rewrites argv (after the program name) into the command line GNU parallel re-executes
// itself with. Other command lines come back unchanged.
std::vector<std::string> expand_shebang(std::vector<std::string> args);

// After the whole command line is read: resolves and checks what add_local_options set (-s against the
// usable length, --env _, --record-env, --show-limits). May print; throws usage_error / exit_request.
void finish_local_options(config& cfg);

}  // namespace sluice::app
