// apps/sluice/options_local.cpp -- GNU parallel's local options beyond the basics (see options.hpp): the
// command-length limits, --env and --record-env, --nice, the #! forms, --shuf, --csv and --group-by.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>


#include <sluice/subprocess.hpp>

#include "limits.hpp"
#include "options.hpp"
#include "text.hpp"

extern char** environ;

namespace sluice::app {

namespace {

// Perl's Getopt "=i": an optional sign and digits.
int parse_int(const std::string& opt, const std::string& v) {
  std::size_t k = !v.empty() && (v[0] == '-' || v[0] == '+') ? 1 : 0;
  if (k == v.size() || v.find_first_not_of("0123456789", k) != std::string::npos)
    throw usage_error("Value \"" + v + "\" invalid for option " + opt + " (number expected)");
  long long n = std::strtoll(v.c_str(), nullptr, 10);
  if (n > INT_MAX || n < INT_MIN) throw usage_error("Value \"" + v + "\" invalid for option " + opt + " (number expected)");
  return static_cast<int>(n);
}

// $PARALLEL_HOME, else ~/.parallel: where ignored_vars lives.
std::string config_dir() {
  if (const char* ph = std::getenv("PARALLEL_HOME"); ph != nullptr && *ph != '\0') return ph;
  if (const char* h = std::getenv("HOME"); h != nullptr) return std::string(h) + "/.parallel";
  return ".parallel";
}

// The words a shell would make of these (as GNU's re-exec through the shell does), without expansions.
std::vector<std::string> shell_words(const std::string& text) {
  try {
    return sluice::shlex::split(text);
  } catch (const std::invalid_argument&) {
    throw usage_error("unbalanced quotes in the #! line: " + text);
  }
}

bool strip_prefix(std::string& s, std::string_view prefix) {
  if (s.compare(0, prefix.size(), prefix) != 0) return false;
  s.erase(0, prefix.size());
  s.erase(0, s.find_first_not_of(' ') == std::string::npos ? s.size() : s.find_first_not_of(' '));
  return true;
}

}  // namespace

void add_local_options(std::vector<option_spec>& o) {
  using c = config;
  using s = const std::string&;
  auto flag = [&](std::vector<std::string_view> l, std::function<void(c&)> f) {
    o.push_back({std::move(l), '\0', arg_kind::none, [f](c& cfg, s) { f(cfg); }});
  };
  auto val = [&](std::vector<std::string_view> l, std::function<void(c&, s)> f) {
    o.push_back({std::move(l), '\0', arg_kind::required, std::move(f)});
  };
  flag({"max-line-length-allowed", "maxlinelengthallowed"}, [](c& g) { g.info = "max-line-length"; });
  flag({"show-limits", "showlimits"}, [](c& g) { g.show_limits = true; });
  flag({"record-env", "recordenv"}, [](c& g) { g.record_env = true; });
  val({"nice"}, [](c& g, s v) { g.nice = parse_int("nice", v); });
  // Meaningful only as the first word (see expand_shebang); elsewhere GNU accepts and ignores them.
  flag({"shebang", "hashbang"}, [](c&) {});
  flag({"shebang-wrap", "shebangwrap"}, [](c&) {});
  flag({"skip-first-line", "skipfirstline"}, [](c& g) { g.skip_first_line = true; });
  flag({"_pipe-means-argfiles"}, [](c& g) { g.pipe_means_argfiles = true; });
  flag({"shuf"}, [](c& g) { g.shuffle = true; });
  flag({"csv"}, [](c& g) { g.csv = true; });
  val({"group-by", "groupby"}, [](c& g, s v) {
    if (v.empty()) throw usage_error("--group-by needs a column");
    g.group_by = v;
  });
}

// Retired options: GNU names them all, whichever was given, and stops.
void add_retired_options(std::vector<option_spec>& o) {
  auto retired = [](config&, const std::string&) {
    throw usage_error(
        "Error: -g has been retired. Use --group.\nsluice: Error: -B has been retired. Use --bf.\n"
        "sluice: Error: -T has been retired. Use --tty.\nsluice: Error: -U has been retired. Use --er.\n"
        "sluice: Error: -W has been retired. Use --wd.\nsluice: Error: -Y has been retired. Use --shebang.\n"
        "sluice: Error: -H has been retired. Use --halt.\nsluice: Error: --sql has been retired. Use --sqlmaster.\n"
        "sluice: Error: --ctrlc has been retired.\nsluice: Error: --noctrlc has been retired.");
  };
  for (char sh : {'g', 'T', 'Y'}) o.push_back({{}, sh, arg_kind::none, retired});
  for (char sh : {'B', 'U', 'W', 'H'}) o.push_back({{}, sh, arg_kind::required, retired});
  o.push_back({{"sql"}, '\0', arg_kind::required, retired});
  o.push_back({{"ctrlc", "ctrl-c"}, '\0', arg_kind::none, retired});
  o.push_back({{"noctrlc", "no-ctrlc", "no-ctrl-c"}, '\0', arg_kind::none, retired});
}

// GNU parallel's options that cannot apply to sluice: refused with the reason, never "unknown".
void add_inapplicable_options(std::vector<option_spec>& o) {
  // GNU's --embed prints its own Perl source inside a shell script; sluice is a compiled program, so there is
  // no source to print: said, and why.
  o.push_back({{"embed"}, '\0', arg_kind::none, [](config&, const std::string&) {
                 throw usage_error("--embed cannot apply to sluice: it is a compiled program, not a script that can "
                                   "be pasted into yours. Install the sluice binary where the script runs.");
               }});
}

std::vector<std::string> expand_shebang(std::vector<std::string> args) {
  if (args.empty()) return args;
  if (args[0] == "--semaphore" && args.size() > 1 && args[1].rfind("--", 0) == 0 &&
      (args[1].find("bang") != std::string::npos)) {
    // #!/usr/bin/sem --shebang-wrap ...: `sem` put --semaphore before the #! line's word.
    auto out = expand_shebang(std::vector<std::string>(args.begin() + 1, args.end()));
    out.insert(out.begin(), "--semaphore");
    return out;
  }
  std::string first = args[0];
  if (strip_prefix(first, "--shebang-wrap") || strip_prefix(first, "--shebangwrap")) {
    // #!/usr/bin/sluice --shebang-wrap [options] interpreter: the options and interpreter came as one word,
    // then the script, then the script's arguments, which become the input (GNU does not quote them: a shell
    // splits them again).
    if (args.size() < 2) throw usage_error("--shebang-wrap needs a script to run");
    std::vector<std::string> out{"--_pipe-means-argfiles"};
    for (auto& w : shell_words(first)) out.push_back(std::move(w));
    out.push_back(args[1]);
    out.push_back(":::");
    std::string rest;
    for (std::size_t i = 2; i < args.size(); ++i) rest += (i > 2 ? " " : "") + args[i];
    for (auto& w : shell_words(rest)) out.push_back(std::move(w));
    return out;
  }
  if (strip_prefix(first, "--shebang") || strip_prefix(first, "--hashbang")) {
    // #!/usr/bin/sluice --shebang [options] command: the script itself (the last word) is the input, its
    // first line (the #! line) skipped; GNU re-reads the other words through a shell, so they split again.
    if (args.size() < 2) throw usage_error("--shebang needs a script to read");
    std::string script = args.back();
    args.pop_back();
    std::vector<std::string> out{"--skip-first-line", "-a", script};
    std::string rest = first;
    for (std::size_t i = 1; i < args.size(); ++i) rest += " " + args[i];
    for (auto& w : shell_words(rest)) out.push_back(std::move(w));
    return out;
  }
  return args;
}

void finish_local_options(config& cfg) {
  if (cfg.record_env) {
    // GNU: the names of the current environment, one a line; nothing runs.
    std::string path = config_dir() + "/ignored_vars";
    std::ofstream f(path, std::ios::trunc);
    for (char** e = environ; f && e != nullptr && *e != nullptr; ++e) {
      const char* eq = std::strchr(*e, '=');
      f << std::string(*e, eq != nullptr ? static_cast<std::size_t>(eq - *e) : std::strlen(*e)) << '\n';
    }
    f.flush();
    if (!f) throw usage_error("Error: Cannot write to " + path + ".");
    throw exit_request{0};
  }
  for (const auto& name : cfg.env_names) {
    // --env _: every variable not in ignored_vars (what --record-env saw in a clean environment). Locally
    // every variable reaches the jobs anyway; GNU still insists on the file.
    if (name == "_" && !sluice::can_access(config_dir() + "/ignored_vars", sluice::access_mode::read))
      throw usage_error("Error: Run 'sluice --record-env' in a clean environment first.");
  }
  if (cfg.tmpdir) {
    // GNU checks $TMPDIR when it makes its first temporary file; sluice's spools need it too: say so up front.
    std::error_code ec;
    if (!std::filesystem::is_directory(*cfg.tmpdir, ec) || !sluice::can_access(*cfg.tmpdir, sluice::access_mode::write) ||
        !sluice::can_access(*cfg.tmpdir, sluice::access_mode::execute))
      throw usage_error("Error: Tmpdir '" + *cfg.tmpdir + "' is not writable.");
  }
  const std::size_t usable = usable_command_length();
  if (cfg.max_line_length == 0) {
    cfg.max_line_length = usable;
  } else if (cfg.max_line_length > usable) {
    std::fprintf(stderr, "%s: Warning: Value for option -s should be < %zu.\n", program_name().c_str(), usable);
    cfg.max_line_length = usable;
  }
  if (cfg.show_limits) {
    std::string text = show_limits_text(cfg.max_line_length);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  if (cfg.csv && !cfg.colsep) cfg.colsep = ",";  // (no --trim implied, unlike a --colsep given)
  if (cfg.pipe_means_argfiles && cfg.pipe) {
    // (--shebang-wrap --pipe) the script's arguments are files whose contents are the input.
    std::vector<input_source> srcs;
    for (auto& src : cfg.sources) {
      if (src.type != input_source::kind::values) {
        srcs.push_back(std::move(src));
        continue;
      }
      for (auto& v : src.values) {
        if (v.empty()) throw usage_error("Error: Cannot open input file `': No such file or directory.");
        input_source f;
        f.type = v == "-" ? input_source::kind::standard_input : input_source::kind::file;
        f.path = v;
        srcs.push_back(std::move(f));
      }
    }
    if (srcs.empty()) srcs.emplace_back();  // no arguments: the script reads standard input
    cfg.sources = std::move(srcs);
  }
}

}  // namespace sluice::app
