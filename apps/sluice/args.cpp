// Command-line parsing with GNU parallel's conventions: Getopt::Long in "bundling, require_order" mode
// (short options bundle, option parsing stops at the first command word, long options may be abbreviated
// to a unique prefix), then the command words, then the input sources after `:::` / `::::`. The option table
// is built by concept in options_*.cpp (input, command, output, jobs, hosts, local), the values of options are
// parsed in option_values.cpp and the default options read in defaults.cpp.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string_view>


#include <sluice/subprocess.hpp>

#include "config.hpp"
#include "limits.hpp"
#include "option_values.hpp"
#include "options.hpp"
#include "records.hpp"
#include "remote.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

// Getopt's optional values: the next word is the value unless it looks like an option, so `-i echo {}` makes
// "echo" the replacement string, as in GNU. -l/--max-lines takes an integer: only a number is its value.
bool optional_value_follows(const option_spec& sp, const std::string& next) {
  if (next.empty()) return false;
  if (sp.short_name == 'l') return next.find_first_not_of("0123456789") == std::string::npos;
  return next[0] != '-';
}

void print_help() {
  std::fputs(
      "Usage: sluice [options] [command [arguments]] < list_of_arguments\n"
      "       sluice [options] [command [arguments]] (::: arguments | :::: argfile(s))...\n"
      "       cat ... | sluice --pipe [options] [command [arguments]]\n"
      "\n"
      "Runs the command once per input, many at a time; GNU parallel's command line.\n"
      "\n"
      "Input:   ::: a b   :::: file   -a file   :::+ / ::::+ (link)   --link   -0   -d delim\n"
      "         --colsep sep   -r   --trim lr   --header :   -E eof\n"
      "Strings: {} {.} {/} {//} {/.} {#} {%} {n} {n.} {n/} {n//} {n/.}   -I str   --plus ({..} {##} ...)\n"
      "         {= perl expression =}   {=n perl expression =}   --rpl 'tag perl expression'\n"
      "Jobs:    -j N|N%|+N|-N|0   -n N   -N N   -X   -m   -q   --dry-run   -v\n"
      "Output:  (grouped by default)   --line-buffer   -u   -k   --tag   --tagstring str\n"
      "Control: --timeout 10s|N%   --retries n   --halt now|soon,fail|success|done=N|N%   --term-seq\n"
      "Records: --joblog file   --resume   --resume-failed   --results dir|x.csv|x.tsv|x.json\n"
      "Status:  --bar   --progress   --eta   --total-jobs n\n"
      "Pipe:    --pipe   --block 1M   --recend str   --recstart str   -N records   -L lines\n"
      "\n"
      "Exit status: 0 all jobs succeeded, 1-100 failed jobs, 101 more, 255 error.\n"
      "See sluice(1) for every option.\n",
      stdout);
}

// --number-of-cpus/-cores/-threads/-sockets, --minversion, --max-line-length-allowed.
void print_info(const std::string& what) {
  if (what.rfind("minversion ", 0) == 0) {
    // sluice behaves as GNU parallel 20221122 does: that is the version it answers to.
    std::printf("%s\n", k_gnu_version);
    std::fflush(stdout);
    if (std::strtod(what.c_str() + 11, nullptr) > std::strtod(k_gnu_version, nullptr)) throw exit_request{255};
    return;
  }
  if (what == "max-line-length") {
    std::printf("%zu\n", max_command_length());
    return;
  }
  std::printf("%zu\n", cpu_count(what));
}

std::vector<option_spec> make_options() {
  using c = config;
  using s = const std::string&;
  std::vector<option_spec> o;
  option_table t(o);
  add_input_options(t);
  add_command_options(t);
  add_job_options(t);
  add_output_options(t);
  add_host_options(t);
  // Answers instead of jobs: printed once the whole command line is read.
  t.flag({"number-of-cpus", "numberofcpus"}, '\0', [](c& g) { g.info = "cpus"; });
  t.flag({"number-of-cores", "numberofcores"}, '\0', [](c& g) { g.info = "cores"; });
  t.flag({"number-of-threads", "numberofthreads"}, '\0', [](c& g) { g.info = "threads"; });
  t.flag({"number-of-sockets", "numberofsockets"}, '\0', [](c& g) { g.info = "sockets"; });
  t.val({"minversion"}, '\0', [](c& g, s v) {
    std::string digits = v.substr(0, v.find_first_not_of("0123456789"));
    if (digits.empty()) throw usage_error("--minversion needs a version such as 20221122, not '" + v + "'");
    g.info = "minversion " + digits;
  });
  t.flag({"will-cite", "willcite", "nn", "nonotice", "no-notice", "citation", "bibtex", "silent"}, '\0', [](c&) {});
  t.flag({"gnu"}, '\0', [](c& g) { g.gnu = true; });
  t.flag({"tollef"}, '\0', [](c& g) { g.tollef = true; });
  add_retired_options(o);
  add_local_options(o);
  // env_parallel's: it records the shell's names in $PARALLEL_IGNORED_NAMES itself; GNU parallel ignores it.
  t.flag({"session"}, '\0', [](c&) {});
  t.val({"shell-completion", "shellcompletion"}, '\0', [](c& g, s v) { g.shell_completion = v; });
  add_inapplicable_options(o);
  // Read before the rest of the command line (see default_words): nothing left to do when they come by.
  t.val({"profile"}, 'J', [](c&, s) {});
  t.flag({"plain"}, '\0', [](c&) {});
  return o;
}

// "--name=value" or "--name": the name, and the value when there is one.
struct long_option {
  std::string name;
  std::optional<std::string> value;
};
long_option split_long_option(const std::string& a) {
  long_option o{a.substr(2), std::nullopt};
  if (auto eq = o.name.find('='); eq != std::string::npos) {
    o.value = o.name.substr(eq + 1);
    o.name.resize(eq);
  }
  return o;
}

// --pipe-part reads its files at offsets: each must be a regular file or a block device (GNU's checks and words:
// sizing the blocks per slot looks at them all first).
void check_pipe_part_files(const config& cfg) {
  namespace fs = std::filesystem;
  auto seekable = [](const fs::file_status& st) { return fs::is_regular_file(st) || fs::is_block_file(st); };
  if (cfg.blocks_per_slot > 0) {
    for (const auto& s : cfg.sources) {
      if (s.type != input_source::kind::file) continue;
      std::error_code ec;
      const auto st = fs::status(s.path, ec);
      if (!fs::exists(st)) throw usage_error("Error: File not found: " + s.path);
      if (!seekable(st)) throw usage_error("Error: " + s.path + " is neither a file nor a block device");
    }
  }
  for (const auto& s : cfg.sources) {
    if (s.type != input_source::kind::file) continue;
    std::error_code ec;
    if (!seekable(fs::status(s.path, ec)))
      throw usage_error("Error: --pipepart only works on seekable files, not streams/pipes.\nsluice: Error: " + s.path +
                        " is not a seekable file.");
  }
}

}  // namespace

void option_table::flag(std::vector<std::string_view> longs, char short_name, std::function<void(config&)> apply) {
  rows_.push_back({std::move(longs), short_name, arg_kind::none,
                   [f = std::move(apply)](config& cfg, const std::string&) { f(cfg); }});
}

void option_table::val(std::vector<std::string_view> longs, char short_name,
                       std::function<void(config&, const std::string&)> apply) {
  rows_.push_back({std::move(longs), short_name, arg_kind::required, std::move(apply)});
}

void option_table::opt(std::vector<std::string_view> longs, char short_name,
                       std::function<void(config&, const std::string&)> apply) {
  rows_.push_back({std::move(longs), short_name, arg_kind::optional, std::move(apply)});
}

std::optional<config> parse_command_line(int argc, char** argv) {
  config cfg;
  std::vector<std::string> args = expand_shebang(std::vector<std::string>(argv + 1, argv + argc));
  // Built once: its rows are a few hundred std::functions, which cost more than parsing a command line.
  static const std::vector<option_spec> specs = make_options();
  bool want_help = false, want_version = false;

  auto find_long = [&](const std::string& name) -> const option_spec* {
    for (const auto& sp : specs)
      for (auto l : sp.longs)
        if (l == name) return &sp;
    const option_spec* hit = nullptr;
    int hits = 0;
    for (const auto& sp : specs)
      for (auto l : sp.longs)
        if (l.size() > name.size() && l.compare(0, name.size(), name) == 0) {
          if (hit != &sp) ++hits;
          hit = &sp;
        }
    if (hits == 1) return hit;
    if (hits > 1) throw usage_error("option --" + name + " is ambiguous");
    return nullptr;
  };
  auto find_short = [&](char c) -> const option_spec* {
    for (const auto& sp : specs)
      if (sp.short_name == c) return &sp;
    return nullptr;
  };

  // -J/--profile and --plain decide which defaults apply: find them among the options first. The profile
  // options leave the command line (a profile may end with command words, which must come first).
  {
    std::vector<std::string> profiles;
    std::vector<std::pair<std::size_t, std::size_t>> cut;  // [from, to) of each -J/--profile
    bool plain = false;
    for (std::size_t k = 0; k < args.size(); ++k) {
      const std::string& a = args[k];
      if (a == "--" || a.size() < 2 || a[0] != '-') break;
      if (a[1] == '-') {
        auto [name, value] = split_long_option(a);
        const option_spec* sp = nullptr;
        try {
          sp = find_long(name);
        } catch (const usage_error&) {
        }
        if (sp == nullptr) break;  // reported by the real pass below
        bool is_profile = std::find(sp->longs.begin(), sp->longs.end(), "profile") != sp->longs.end();
        if (std::find(sp->longs.begin(), sp->longs.end(), "plain") != sp->longs.end()) plain = true;
        std::size_t from = k;
        if (sp->kind == arg_kind::required && !value) {
          if (k + 1 >= args.size()) break;
          value = args[++k];
        } else if (sp->kind == arg_kind::optional && !value && k + 1 < args.size() && !args[k + 1].empty() &&
                   args[k + 1][0] != '-') {
          value = args[++k];
        }
        if (is_profile && value) {
          profiles.push_back(*value);
          cut.emplace_back(from, k + 1);
        }
        continue;
      }
      std::size_t from = k;
      for (std::size_t m = 1; m < a.size(); ++m) {
        const option_spec* sp = find_short(a[m]);
        if (sp == nullptr || sp->kind == arg_kind::none) continue;
        std::string value;
        if (m + 1 < a.size()) value = a.substr(m + 1);
        else if (sp->kind == arg_kind::required && k + 1 < args.size()) value = args[++k];
        if (sp->short_name == 'J') {
          profiles.push_back(value);
          if (m == 1) cut.emplace_back(from, k + 1);  // (in a bundle, -kJname, it stays: harmless)
        }
        break;
      }
    }
    for (auto it = cut.rbegin(); it != cut.rend(); ++it)
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(it->first), args.begin() + static_cast<std::ptrdiff_t>(it->second));
    const std::vector<std::vector<std::string>> sources = default_words(profiles, plain);
    // As GNU: the defaults' options go first, the command line's next; command words a profile ends with
    // (`-J pre_perl` holding "perl -e ...;") go before the command, after all the command line's options.
    const auto first_word = [&](const std::vector<std::string>& w) {
      std::size_t k = 0;
      for (; k < w.size(); ++k) {
        const std::string& a = w[k];
        if (a == "--" || a.size() < 2 || a[0] != '-' || a == ":::" || a == "::::") break;
        const option_spec* sp = nullptr;
        std::optional<std::string> value;
        if (a[1] == '-') {
          auto [name, v] = split_long_option(a);
          value = v;
          try {
            sp = find_long(name);
          } catch (const usage_error&) {
          }
        } else {
          for (std::size_t m = 1; m < a.size() && sp == nullptr; ++m) {
            const option_spec* s = find_short(a[m]);
            if (s == nullptr || s->kind != arg_kind::none) {
              sp = s;
              if (m + 1 < a.size()) value = a.substr(m + 1);
            }
          }
        }
        if (sp == nullptr || sp->kind == arg_kind::none || value) continue;
        if (sp->kind == arg_kind::required) ++k;
        else if (k + 1 < w.size() && optional_value_follows(*sp, w[k + 1])) ++k;
      }
      return std::min(k, w.size());
    };
    std::vector<std::string> defaults, command_words;
    for (const auto& words : sources) {
      const std::size_t own = first_word(words);
      defaults.insert(defaults.end(), words.begin(), words.begin() + static_cast<std::ptrdiff_t>(own));
      if (own < words.size() && words[own] == "--") continue;
      command_words.insert(command_words.end(), words.begin() + static_cast<std::ptrdiff_t>(own), words.end());
    }
    if (!command_words.empty()) {
      std::size_t at = first_word(args);
      if (at < args.size() && args[at] == "--") ++at;
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(at), command_words.begin(), command_words.end());
    }
    args.insert(args.begin(), defaults.begin(), defaults.end());
  }

  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-' || a == ":::" || a == "::::") break;
    if (a[1] == '-') {
      auto [name, value] = split_long_option(a);
      if (name == "help") { want_help = true; continue; }
      if (name == "version") { want_version = true; continue; }
      const option_spec* sp = find_long(name);
      if (sp == nullptr) throw usage_error("unknown option: --" + name + " (see sluice --help)");
      if (sp->kind == arg_kind::none) {
        if (value) throw usage_error("option --" + name + " takes no value");
        sp->apply(cfg, "");
      } else if (value) {
        sp->apply(cfg, *value);
      } else if (sp->kind == arg_kind::required) {
        if (i + 1 >= args.size()) throw usage_error("option --" + name + " needs a value");
        sp->apply(cfg, args[++i]);
      } else if (i + 1 < args.size() && optional_value_follows(*sp, args[i + 1])) {
        sp->apply(cfg, args[++i]);
      } else {
        sp->apply(cfg, "");
      }
      continue;
    }
    // A bundle of short options: -kj2, -j 2, -0rX.
    for (std::size_t k = 1; k < a.size(); ++k) {
      char c = a[k];
      if (c == 'h') { want_help = true; continue; }
      if (c == 'V') { want_version = true; continue; }
      const option_spec* sp = find_short(c);
      if (sp == nullptr) throw usage_error(std::string("unknown option: -") + c + " (see sluice --help)");
      if (sp->kind == arg_kind::none) {
        sp->apply(cfg, "");
        continue;
      }
      if (k + 1 < a.size()) {
        sp->apply(cfg, a.substr(k + 1));
      } else if (sp->kind == arg_kind::required) {
        if (i + 1 >= args.size()) throw usage_error(std::string("option -") + c + " needs a value");
        sp->apply(cfg, args[++i]);
      } else if (i + 1 < args.size() && optional_value_follows(*sp, args[i + 1])) {
        sp->apply(cfg, args[++i]);
      } else {
        sp->apply(cfg, "");
      }
      break;
    }
  }
  if (cfg.fg_given && !cfg.tmux) cfg.semaphore = true;  // (with --tmux, --fg attaches to the session instead)
  if (cfg.tollef && !cfg.gnu)
    throw usage_error("Error: --tollef has been retired.\nsluice: Error: Remove --tollef or use --gnu to override --tollef.");
  if (want_help) {
    print_help();
    return std::nullopt;
  }
  if (!cfg.info.empty()) {
    print_info(cfg.info);
    return std::nullopt;
  }
  if (cfg.shell_completion) {
    print_completion(*cfg.shell_completion, specs);
    return std::nullopt;
  }
  if (want_version) {
    std::printf("sluice %s\nA parallel job runner with GNU parallel's command line, built on the sluice library.\n",
                SLUICE_APP_VERSION);
    return std::nullopt;
  }

  // Command words, up to the first source marker (::: / :::: unless --arg-sep / --arg-file-sep).
  const std::string vsep = cfg.arg_sep, fsep = cfg.arg_file_sep;
  auto is_marker = [&](const std::string& a) { return a == vsep || a == vsep + "+" || a == fsep || a == fsep + "+"; };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (is_marker(a)) break;
    cfg.command.push_back(a);
  }
  // Sources after the markers; `-a` sources come first, as GNU orders them. As in GNU, :::+ and ::::+ stand for
  // --linkinputsource values (one per value group, one per file), which go after those given by hand; the k-th
  // value links source k to the one before it. So after -a files the links land one source early, as GNU's do.
  std::vector<input_source> marker_sources;
  std::vector<bool> links = cfg.link_input_sources;
  while (i < args.size()) {
    const std::string marker = args[i++];
    bool files = marker == fsep || marker == fsep + "+";
    bool linked = marker == vsep + "+" || marker == fsep + "+";
    if (files) {
      const std::size_t before = marker_sources.size();
      for (; i < args.size() && !is_marker(args[i]); ++i) {
        input_source src;
        src.type = args[i] == "-" ? input_source::kind::standard_input : input_source::kind::file;
        src.path = args[i];
        marker_sources.push_back(std::move(src));
        links.push_back(linked);
      }
      if (marker_sources.size() == before) throw usage_error(marker + " needs at least one file");
    } else {
      input_source src;
      src.type = input_source::kind::values;
      links.push_back(linked);
      while (i < args.size() && !is_marker(args[i])) {
        // A value holding the record delimiter (-d, a newline by default) becomes several arguments, as in GNU.
        if (cfg.delimiter_text.size() > 1) {
          const std::string& d = cfg.delimiter_text;
          std::size_t from = 0;
          for (auto at = args[i].find(d); at != std::string::npos; from = at + d.size(), at = args[i].find(d, from))
            src.values.push_back(args[i].substr(from, at - from));
          src.values.push_back(args[i].substr(from));
        } else {
          for (auto& part : split_string(args[i], cfg.delimiter)) src.values.push_back(part);
        }
        ++i;
      }
      marker_sources.push_back(std::move(src));
    }
  }
  for (auto& s : marker_sources) cfg.sources.push_back(std::move(s));
  if (cfg.sources.empty()) cfg.sources.push_back(input_source{});
  for (std::size_t k = 1; k < cfg.sources.size() && k < links.size(); ++k) cfg.sources[k].linked_to_previous = links[k];
  check_remote_options(cfg);
  for (const auto& s : cfg.sources) {
    if (s.type != input_source::kind::file || (cfg.pipe_part && !cfg.tee)) continue;  // (--pipe-part: below)
    try {
      sluice::open_file(s.path);  // (closed at once: read later)
    } catch (const std::system_error& e) {
      throw usage_error("Error: Cannot open input file `" + s.path + "': " + std::strerror(e.code().value()) + ".");
    }
  }

  if (cfg.fifo && cfg.cat) throw usage_error("Error: --fifo cannot be combined with --cat.");
  if (cfg.retries_given && cfg.round_robin) throw usage_error("Error: --retries cannot be combined with --roundrobin.");
  if ((cfg.cat || cfg.fifo) && !cfg.pipe_part) cfg.pipe = true;  // as in GNU: they imply --pipe
  if (!cfg.pipe) {
    cfg.round_robin = false;  // (GNU ignores them without --pipe)
    cfg.tee = false;
  }
  if (cfg.tee && !cfg.jobs_given) cfg.jobs_spec = "0";  // every job must run at once
  if (cfg.pipe && cfg.command.empty() && !cfg.semaphore)
    throw usage_error("Error: --pipe/--pipepart must have a command to pipe into (e.g. 'cat').");
  if (cfg.pipe && !cfg.pipe_part && !cfg.tee &&
      (cfg.eta || cfg.bar || cfg.shuffle || (cfg.halt.percent && cfg.halt.when != halt_when::never)))
    throw usage_error("Error: --pipe is incompatible with --eta/--bar/--shuf");  // (GNU: they count the jobs first)
  if (cfg.files && cfg.output == output_mode::line_buffer) cfg.output = output_mode::group;  // a file per job
  if (cfg.no_keep_order) cfg.keep_order = false;
  if (cfg.latest_line) cfg.output = output_mode::group;  // (its rows are drawn from the output as it comes)
  if (cfg.semaphore_wait && cfg.sql_master) {  // --wait belongs to the SQL master when there is one
    cfg.sql_wait = true;
    cfg.semaphore_wait = false;
  } else if (cfg.semaphore_wait) {
    cfg.semaphore = true;
  }
  if (cfg.tty_defaults) {
    if (!cfg.jobs_given) cfg.jobs_spec = "1";
    if (!cfg.output_given) cfg.output = output_mode::ungroup;
  }
  if (cfg.limit) {
    auto words = split_string(*cfg.limit, ' ');
    words.erase(std::remove(words.begin(), words.end(), std::string()), words.end());
    if (words.empty()) throw usage_error("--limit needs a command");
    if (words[0] == "io" && words.size() < 2)
      throw usage_error("--limit io needs the highest disk utilisation allowed, in percent (such as io 80)");
    if (words[0] == "io") parse_number("--limit io", words[1]);
    if (words[0] == "mem" && words.size() >= 2) parse_size("--limit mem", words[1]);
  }
  if (cfg.retry_failed && cfg.joblog) load_failed_jobs(cfg);
  if (!cfg.compress_program.empty()) {  // (it implies --compress; --decompress-program alone does not)
    cfg.compress = true;
    if (cfg.decompress_program.empty()) cfg.decompress_program = cfg.compress_program + " -dc";
  }
  if (cfg.compress) {
    if (cfg.compress_program.empty()) {
      // GNU's choice: the first of these found in $PATH, fastest first; else cat.
      std::string found;
      const char* path = std::getenv("PATH");
      for (const char* p : {"pzstd", "lbzip2", "pbzip2", "zstd", "pixz", "lz4", "pigz", "lzop", "plzip", "lzip",
                            "gzip", "lrz", "pxz", "bzip2", "lzma", "xz", "clzip"}) {
        for (const auto& dir : split_string(path != nullptr ? path : "/usr/bin:/bin", ':'))
          if (!dir.empty() && sluice::can_access(dir + "/" + p, sluice::access_mode::execute)) {
            found = p;
            break;
          }
        if (!found.empty()) break;
      }
      cfg.compress_program = found.empty() ? "cat" : found + " -c -1";
      if (cfg.decompress_program.empty()) cfg.decompress_program = found.empty() ? "cat" : found + " -dc";
    }
  }
  if (cfg.semaphore) {
    // (the job of a --bg semaphore runs after sluice returned: there is no one left to ask)
    if (cfg.interactive && cfg.semaphore_bg && !cfg.semaphore_fg)
      throw usage_error("Error: Jobs running in the background cannot be interactive.");
    if (cfg.semaphore_wait) cfg.command = {"true"};
    if (!cfg.jobs_given) cfg.jobs_spec = "1";
  }
  if (cfg.pipe_part && cfg.tee) {
    // --pipe-part --tee: every job reads the whole file as its own stdin (GNU redirects it the same way, so
    // a job sees a regular file); the ::: values are the jobs' arguments.
    auto is_file = [](const input_source& s) { return s.type == input_source::kind::file; };
    auto file = std::find_if(cfg.sources.begin(), cfg.sources.end(), is_file);
    if (file == cfg.sources.end()) throw usage_error("--pipe-part needs its input as files: -a file or :::: file");
    if (!sluice::can_access(file->path, sluice::access_mode::read))
      throw usage_error("Error: Cannot open input file `" + file->path + "': " + std::strerror(errno) + ".");
    cfg.stdin_file = file->path;
    cfg.sources.erase(std::remove_if(cfg.sources.begin(), cfg.sources.end(), is_file), cfg.sources.end());
    if (cfg.sources.empty()) cfg.sources.push_back(input_source{input_source::kind::values, {}, {}, false});
    cfg.sources.front().linked_to_previous = false;
    cfg.pipe = cfg.pipe_part = cfg.tee = false;
  }
  resolve_jobs(cfg);
  if (cfg.pipe_part) {
    if (!cfg.block_given) cfg.blocks_per_slot = 10;  // GNU: about 10 blocks per job slot
    if (cfg.round_robin) cfg.blocks_per_slot = 1;    // (a block per job slot, --block or not)
    check_pipe_part_files(cfg);
  } else if (cfg.pipe && cfg.blocks_per_slot > 0) {
    throw usage_error("Error: --block with a negative size needs --pipe-part");
  }
  if (cfg.shard && (cfg.shard->empty() || *cfg.shard == "0")) cfg.shard.reset();  // Perl's false: GNU ignores it
  if (cfg.shard && !cfg.pipe && !cfg.pipe_part) cfg.shard.reset();  // (GNU deals lines to jobs under --pipe only)
  if (cfg.shard && cfg.tee) cfg.shard.reset();  // GNU: --tee wins, with its own "all at once" check
  if (cfg.shard) {
    const char* opt = cfg.shard_is_bin ? "--bin" : "--shard";
    cfg.all_at_once = opt;
    if (cfg.pipe_part) {
      // GNU: the file's parts are the jobs (no line is dealt by key), but they must all run at once.
      cfg.shard.reset();
    } else {
      cfg.round_robin = false;  // GNU: the dealing by key replaces these
      cfg.group_by.reset();
      // A job per command line the input sources make (none: no argument), padded with argument-less jobs
      // to one per job slot (runner::count_jobs); each reads the lines dealt to it.
      if (cfg.sources.size() == 1 && cfg.sources[0].type == input_source::kind::standard_input) {
        input_source none;
        none.type = input_source::kind::values;
        cfg.sources = {std::move(none)};
      }
    }
  }
  if ((cfg.resume || cfg.resume_failed) && !cfg.joblog && cfg.results == results_kind::none)
    throw usage_error("--resume and --resume-failed require --joblog or --results");
  if (cfg.max_args == 0 && !cfg.max_replace_args) cfg.max_args = 1;
  if (cfg.xargs_fill && !cfg.xargs_context && !cfg.multi_args) {
    // --xargs alone: -m's filling, but as xargs, the last arguments are not shared out among the job slots.
    cfg.multi_args = true;
    cfg.spread_last = false;
  }
  if (cfg.xargs_context || cfg.multi_args) {
    if (!cfg.args_given) cfg.max_args = 0;  // as many as fit on the line
  }
  if (cfg.colsep && !cfg.trim_given) cfg.trim = "lr";
  if (cfg.header && !cfg.colsep && !cfg.pipe && !cfg.csv) cfg.colsep = "\t";  // GNU: --header alone splits on tabs (no trim)
  finish_local_options(cfg);
  if (const char* ph = std::getenv("PARALLEL_HOME"); ph != nullptr && *ph != '\0') {
    std::error_code ec;  // GNU makes its home directory when it is missing (and says nothing when it cannot)
    std::filesystem::create_directories(ph, ec);
  }
  if (const char* pe = std::getenv("PARALLEL_ENV"); pe != nullptr && *pe != '\0') {
    // GNU (what env_parallel hands over): a file's contents when it names one, else the text itself.
    std::error_code ec;
    if (std::filesystem::exists(pe, ec) && !std::filesystem::is_directory(pe, ec)) {
      std::ifstream f(pe, std::ios::binary);
      cfg.env_prelude.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    } else {
      cfg.env_prelude = pe;
    }
  }
  return cfg;
}

}  // namespace sluice::app
