// The option table's types, shared by the parser (args.cpp) and the files that contribute options to it
// (options_local.cpp). Internal to the job runner.
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

// GNU's local options beyond the basics: command length (--max-line-length-allowed, --show-limits),
// --env/--record-env, --nice, --shebang/--shebang-wrap/--skip-first-line, --shuf, --csv, --group-by.
void add_local_options(std::vector<option_spec>& o);

// GNU's retired options (-g -B -T -U -W -Y -H --sql --ctrlc --noctrlc): each gives GNU's messages and stops.
void add_retired_options(std::vector<option_spec>& o);

// GNU's options sluice lacks: "--name is not implemented in sluice", never "unknown option". Added last: one
// already in `o` is skipped.
void add_not_implemented_options(std::vector<option_spec>& o);

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
