// The job runner's settings, filled by the argument parser (args.cpp) and read by everything else.
#pragma once
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::app {

// Bad input: printed as one line "sluice: <what>" and exit 255, before any job starts.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One input source: `::: values`, `:::: file` / `-a file` ("-" is stdin), or stdin by default.
struct input_source {
  enum class kind { values, file, standard_input };
  kind type = kind::standard_input;
  std::vector<std::string> values{};  // for kind::values
  std::string path{};                 // for kind::file
  bool linked_to_previous = false;    // :::+ / ::::+
};

// Ends the program with this status after what was printed (--minversion newer than ours).
struct exit_request {
  int status;
};

// The GNU parallel release whose behaviour sluice follows (--minversion compares against it).
inline constexpr const char* k_gnu_version = "20221122";

enum class output_mode { group, line_buffer, ungroup };

enum class halt_when { never, soon, now };
enum class halt_why { fail, success, done };

struct halt_policy {
  halt_when when = halt_when::never;
  halt_why why = halt_why::fail;
  double count = 0;      // jobs (when !percent) or a fraction of the total jobs (when percent)
  bool percent = false;
};

struct term_step {
  int signal;
  int wait_ms;
};

enum class results_kind { none, tree, templated, csv, tsv, json };

struct config {
  std::vector<std::string> command{};  // the command words
  std::vector<input_source> sources{};
  bool link = false;
  std::string arg_sep = ":::";        // --arg-sep
  std::string arg_file_sep = "::::";  // --arg-file-sep

  // Input splitting.
  char delimiter = '\n';
  bool null_delim = false;
  std::optional<std::string> eof_string{};  // -E
  std::optional<std::string> colsep{};
  std::string trim = "n";  // n, l, r, lr, rl
  bool skip_empty = false;  // -r
  bool header = false;      // --header :

  // Composition.
  std::string replace_str = "{}";  // -I
  std::vector<std::string> rpl{};  // --rpl 'TAG PERL-EXPRESSION', in the order given
  bool plus = false;
  bool quote_command = false;  // -q
  std::size_t max_args = 1;    // -n / -N / -X / -m / -L
  bool max_replace_args = false;  // -N: {1}..{N} index the arguments
  bool xargs_context = false;     // -X
  bool multi_args = false;        // -m
  bool args_given = false;        // -n/-N/-L given explicitly
  std::size_t max_line_length = 130000;

  // Running.
  std::string jobs_spec = "100%";
  std::size_t jobs = 1;  // resolved
  output_mode output = output_mode::group;
  bool keep_order = false;
  bool tag = false;
  std::optional<std::string> tagstring{};
  bool dry_run = false;
  bool verbose = false;
  bool trace = false;  // -t: each job's command on stderr as it starts
  std::optional<std::string> timeout_spec{};
  double timeout_seconds = 0;  // absolute, when !timeout_percent
  double timeout_percent = 0;  // N% of the median runtime
  unsigned retries = 1;         // attempts in total
  halt_policy halt{};
  std::vector<term_step> term_seq{{15, 200}, {15, 100}, {15, 50}, {9, 25}};
  std::optional<std::size_t> total_jobs{};

  // Records.
  std::optional<std::string> joblog{};
  bool joblog_append = false;
  bool resume = false;
  bool resume_failed = false;
  results_kind results = results_kind::none;
  std::string results_path{};

  // Feedback.
  bool bar = false;
  bool progress = false;
  bool eta = false;

  // --number-of-cpus/-cores/-threads/-sockets, --minversion: print this and run nothing.
  std::string info{};

  // --tmpdir: main() exports it as TMPDIR (parsing itself changes nothing outside the config).
  std::optional<std::string> tmpdir{};

  // --pipe.
  bool pipe = false;
  std::size_t block_size = 1024 * 1024;
  std::string recend = "\n";
  std::string recstart{};
  bool recend_given = false;
  std::size_t pipe_records = 0;           // -N under --pipe: records per block (0 = by size)
  std::size_t pipe_lines_per_record = 0;  // -L under --pipe: a record is this many lines (0 = by --recend)

  // The SQL job queue (sql_queue.hpp): DBURLs as given; --sqlandworker sets both.
  std::optional<std::string> sql_master{};
  std::optional<std::string> sql_worker{};
  bool sql_wait = false;  // --wait: the master returns once every row is done or failed

  // --slurm (slurm.hpp): each job a step of the allocation, this many CPUs each (--cpus-per-job).
  bool slurm = false;
  std::size_t slurm_cpus_per_job = 1;
  bool jobs_given = false;  // -j / -P on the command line: --slurm keeps it
};

// Parses argv after GNU parallel's default options ($PARALLEL_HOME/config or the -J profiles, then
// $PARALLEL); throws usage_error (and std::bad_alloc), never exits. Prints --help / --version itself and
// returns nullopt then. Reads the file system only for those option files, to check that input files and a
// -j procfile are readable (and to read the procfile).
std::optional<config> parse_command_line(int argc, char** argv);

// Parses a C-escaped delimiter such as "\t", "\0", "\x1f", "\012".
std::string unescape_delimiter(const std::string& s);

}  // namespace sluice::app
