// The job runner's command-line parser (apps/sluice/args.cpp): any argv either parses into a consistent
// config or is refused with usage_error; nothing else escapes, nothing exits, parsing is deterministic.
//   input: the arguments after argv[0], separated by NUL bytes (at most 64 of them).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "config.hpp"
#include "fuzz_check.hpp"

namespace {

std::optional<sluice::app::config> parse(std::vector<std::string> args, bool& refused) {
  std::vector<char*> argv;
  static char name[] = "sluice";
  argv.push_back(name);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  refused = false;
  try {
    return sluice::app::parse_command_line(static_cast<int>(argv.size() - 1), argv.data());
  } catch (const sluice::app::exit_request&) {
    return std::nullopt;  // --minversion newer than ours: printed, then the CLI exits
  } catch (const sluice::app::usage_error& e) {
    FUZZ_CHECK(e.what()[0] != '\0');  // the user is told why
    refused = true;
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("parse_command_line", e);
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return -1;  // the parser is linear; longer inputs only slow the search down
  std::vector<std::string> args = sluice_fuzz::fields({reinterpret_cast<const char*>(data), size}, '\0');
  if (size == 0) args.clear();
  if (args.size() > 64) return -1;
  // -J/--profile read a file named by the input (which could be /dev/zero or a FIFO): not fuzzed here.
  // The default options ($PARALLEL, $PARALLEL_HOME/config) are kept out, so every run is the same.
  for (const auto& a : args)
    if (a.find('J') != std::string::npos || a.find("prof") != std::string::npos) return -1;
  static bool once = [] {
    ::unsetenv("PARALLEL");
    // An empty directory of its own: the parser makes a missing $PARALLEL_HOME, as GNU does.
    static char home[] = "/tmp/sluice-fuzz-home.XXXXXX";
    if (::mkdtemp(home) != nullptr) {
      ::setenv("PARALLEL_HOME", home, 1);
      std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(home, ec);
      });
    }
    return true;
  }();
  (void)once;

  bool refused = false;
  auto cfg = parse(args, refused);
  if (!cfg) return 0;  // refused, or --help / --version (printed, as the CLI does)

  using sluice::app::input_source;
  FUZZ_CHECK(!cfg->sources.empty());
  FUZZ_CHECK(!cfg->sources.front().linked_to_previous);
  FUZZ_CHECK(cfg->jobs >= 1);
  FUZZ_CHECK(cfg->retries >= 1);
  FUZZ_CHECK(cfg->max_args >= 1 || cfg->max_replace_args || cfg->xargs_context || cfg->multi_args);
  FUZZ_CHECK(cfg->block_size >= 1);
  FUZZ_CHECK(cfg->max_line_length >= 1);  // GNU takes any -s, then refuses each command longer
  FUZZ_CHECK(!cfg->replace_str.empty());
  FUZZ_CHECK(cfg->trim == "n" || cfg->trim == "l" || cfg->trim == "r" || cfg->trim == "lr" || cfg->trim == "rl");
  FUZZ_CHECK(std::isfinite(cfg->timeout_seconds) && cfg->timeout_seconds >= 0);  // the runner caps it
  FUZZ_CHECK(std::isfinite(cfg->timeout_percent) && cfg->timeout_percent >= 0);
  FUZZ_CHECK(!cfg->term_seq.empty());
  for (const auto& t : cfg->term_seq) FUZZ_CHECK(t.signal > 0 && t.wait_ms >= 0);
  // --resume reads what ran from the joblog, or from the --results directory or file (as GNU).
  FUZZ_CHECK(!(cfg->resume || cfg->resume_failed) || cfg->joblog || cfg->results != sluice::app::results_kind::none);
  for (const auto& s : cfg->sources) {
    if (s.type == input_source::kind::file) FUZZ_CHECK(!s.path.empty() && s.path != "-");
    if (s.type != input_source::kind::values) FUZZ_CHECK(s.values.empty());
    // A value holding the record delimiter became several (-d's text, a newline without -d), as in GNU; with
    // -d a newline is part of the value.
    const std::string delimiter = cfg->delimiter_text.empty() ? std::string(1, cfg->delimiter) : cfg->delimiter_text;
    for (const auto& v : s.values) FUZZ_CHECK(v.find(delimiter) == std::string::npos);
  }
  // The command words are the arguments themselves, in order: no word is invented (unless the first word is
  // --shebang/--shebang-wrap, whose #! line the shell splits again, as GNU's, or --wait makes the command `true`).
  bool shebang = !args.empty() && (args[0].rfind("--shebang", 0) == 0 || args[0].rfind("--hashbang", 0) == 0);
  std::size_t k = 0;
  for (const auto& a : args)
    if (k < cfg->command.size() && a == cfg->command[k]) ++k;
  FUZZ_CHECK(shebang || (cfg->semaphore && cfg->semaphore_wait && cfg->command == std::vector<std::string>{"true"}) ||
             k == cfg->command.size());

  // Same argv, same result.
  bool again_refused = false;
  auto again = parse(args, again_refused);
  FUZZ_CHECK(again && !again_refused);
  FUZZ_CHECK(again->command == cfg->command && again->jobs == cfg->jobs && again->sources.size() == cfg->sources.size());
  return 0;
}
