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

// #!/usr/bin/sluice --shebang ... / --shebang-wrap ...: the kernel passes everything after the interpreter
// as one word; this rewrites argv (after the program name) into the command line GNU parallel re-executes
// itself with. Other command lines come back unchanged.
std::vector<std::string> expand_shebang(std::vector<std::string> args);

// After the whole command line is read: resolves and checks what add_local_options set (-s against the
// usable length, --env _, --record-env, --show-limits). May print; throws usage_error / exit_request.
void finish_local_options(config& cfg);

}  // namespace sluice::app
