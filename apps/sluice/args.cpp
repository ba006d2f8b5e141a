// Command-line parsing with GNU parallel's conventions: Getopt::Long in "bundling, require_order" mode
// (short options bundle, option parsing stops at the first command word, long options may be abbreviated
// to a unique prefix), then the command words, then the input sources after `:::` / `::::`.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <thread>

#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

#include <sluice/subprocess.hpp>

#include "config.hpp"
#include "dburl.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

enum class arg_kind { none, required, optional };

struct option_spec {
  std::vector<std::string_view> longs;
  char short_name;
  arg_kind kind;
  std::function<void(config&, const std::string&)> apply;
};

std::size_t parse_count(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < 0)
    throw usage_error(opt + " needs a non-negative integer, not '" + v + "'");
  return static_cast<std::size_t>(n);
}

double parse_number(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d < 0)
    throw usage_error(opt + " needs a non-negative number, not '" + v + "'");
  return d;
}

// "1d2h3m4.5s", "30", "2m": GNU's multiply_time_units.
double parse_duration(const std::string& opt, const std::string& v) {
  if (v.empty()) throw usage_error(opt + " needs a duration, not ''");
  double total = 0;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t j = i;
    while (j < v.size() && (std::isdigit(static_cast<unsigned char>(v[j])) || v[j] == '.')) ++j;
    if (j == i) throw usage_error(opt + ": invalid duration '" + v + "'");
    double n = parse_number(opt, v.substr(i, j - i));
    double unit = 1;
    if (j < v.size()) {
      switch (v[j]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: throw usage_error(opt + ": invalid duration '" + v + "' (use s, m, h or d)");
      }
      ++j;
    }
    total += n * unit;
    i = j;
  }
  if (!std::isfinite(total)) throw usage_error(opt + ": duration too long: '" + v + "'");
  return total;
}

std::size_t parse_size(const std::string& opt, const std::string& v) {
  if (v.empty()) throw usage_error(opt + " needs a size, not ''");
  std::string num = v;
  double mult = 1;
  char last = v.back();
  // GNU: K M G T P E are powers of 1024, k m g t p e powers of 1000.
  const std::string binary = "KMGTPE", decimal = "kmgtpe";
  if (auto pos = binary.find(last); pos != std::string::npos) {
    mult = std::pow(1024.0, static_cast<double>(pos + 1));
    num.pop_back();
  } else if (auto dpos = decimal.find(last); dpos != std::string::npos) {
    mult = std::pow(1000.0, static_cast<double>(dpos + 1));
    num.pop_back();
  } else if (last == 'b' || last == 'B') {
    num.pop_back();
  }
  double n = parse_number(opt, num) * mult;
  if (n < 1 || n > 1e15) throw usage_error(opt + ": size out of range: '" + v + "'");
  return static_cast<std::size_t>(n);
}

std::size_t cpu_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::vector<term_step> parse_term_seq(const std::string& v) {
  std::vector<term_step> seq;
  std::vector<std::string> parts = split_string(v, ',');
  for (std::size_t i = 0; i < parts.size(); i += 2) {
    int sig = signal_from_name(parts[i]);
    if (sig <= 0) throw usage_error("--term-seq: unknown signal '" + parts[i] + "'");
    int ms = 0;
    if (i + 1 < parts.size()) {
      std::size_t wait = parse_count("--term-seq", parts[i + 1]);
      if (wait > 86400000) throw usage_error("--term-seq: wait too long: '" + parts[i + 1] + "' ms");
      ms = static_cast<int>(wait);
    }
    seq.push_back({sig, ms});
  }
  if (seq.empty()) throw usage_error("--term-seq needs a list such as TERM,200,KILL,25");
  return seq;
}

halt_policy parse_halt(const std::string& raw) {
  std::string v = raw;
  if (v == "0") v = "never";
  else if (v == "1") v = "soon,fail=1";
  else if (v == "2") v = "now,fail=1";
  else if (v == "-1") v = "soon,success=1";
  else if (v == "-2") v = "now,success=1";
  else if (!v.empty() && v.back() == '%' && v.find_first_not_of("0123456789%") == std::string::npos)
    v = "soon,fail=" + v;
  halt_policy h;
  auto comma = v.find(',');
  std::string when = v.substr(0, comma);
  if (when == "never") return h;
  if (when == "soon") h.when = halt_when::soon;
  else if (when == "now") h.when = halt_when::now;
  else throw usage_error("--halt must have 'never', 'soon', or 'now', not '" + raw + "'");
  if (comma == std::string::npos) throw usage_error("--halt " + when + " must be followed by ,success or ,fail");
  std::string rest = v.substr(comma + 1);
  auto eq = rest.find('=');
  std::string why = rest.substr(0, eq);
  if (why == "fail") h.why = halt_why::fail;
  else if (why == "success") h.why = halt_why::success;
  else if (why == "done") h.why = halt_why::done;
  else throw usage_error("--halt " + when + " must be followed by ,success or ,fail or ,done, not '" + raw + "'");
  if (eq == std::string::npos) throw usage_error("--halt " + when + "," + why + " must be followed by =number or =percent%");
  std::string n = rest.substr(eq + 1);
  if (!n.empty() && n.back() == '%') {
    n.pop_back();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("--halt: bad percentage in '" + raw + "'");
    h.percent = true;
    h.count = std::strtod(n.c_str(), nullptr) / 100.0;  // digits only: no exception, at worst HUGE_VAL
  } else {
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("--halt " + when + "," + why + " must be followed by =number or =percent%, not '" + raw + "'");
    h.count = std::strtod(n.c_str(), nullptr);
  }
  if (!std::isfinite(h.count)) throw usage_error("--halt: number too large in '" + raw + "'");
  return h;
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

// The CPUs of this machine as GNU parallel counts them: sockets (physical ids), cores (distinct
// socket/core pairs), threads (the CPUs we may run on); "cpus" is GNU's older name for cores.
void print_info(const std::string& what) {
  if (what.rfind("minversion ", 0) == 0) {
    // sluice behaves as GNU parallel 20221122 does: that is the version it answers to.
    std::printf("%s\n", k_gnu_version);
    std::fflush(stdout);
    if (std::strtod(what.c_str() + 11, nullptr) > std::strtod(k_gnu_version, nullptr)) throw exit_request{255};
    return;
  }
  std::size_t threads = cpu_threads();
  std::size_t sockets = 0, cores = 0;
  if (std::FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    std::vector<std::string> socket_ids, core_ids;
    std::string phys;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      std::string l(line);
      auto colon = l.find(':');
      if (colon == std::string::npos) continue;
      std::string key = l.substr(0, l.find_last_not_of(" \t", colon - 1) + 1);
      std::string val = l.substr(colon + 1);
      val.erase(0, val.find_first_not_of(' '));
      while (!val.empty() && (val.back() == '\n' || val.back() == ' ')) val.pop_back();
      if (key == "physical id") {
        phys = val;
        if (std::find(socket_ids.begin(), socket_ids.end(), val) == socket_ids.end()) socket_ids.push_back(val);
      } else if (key == "core id") {
        std::string id = phys + "/" + val;
        if (std::find(core_ids.begin(), core_ids.end(), id) == core_ids.end()) core_ids.push_back(id);
      }
    }
    std::fclose(f);
    sockets = socket_ids.size();
    cores = core_ids.size();
  }
  if (sockets == 0) sockets = 1;
  if (cores == 0) cores = threads;
  std::size_t n = what == "sockets" ? sockets : what == "threads" ? threads : cores;
  std::printf("%zu\n", n);
}

std::vector<option_spec> make_options() {
  using c = config;
  using s = const std::string&;
  std::vector<option_spec> o;
  auto flag = [&](std::vector<std::string_view> l, char sh, std::function<void(c&)> f) {
    o.push_back({std::move(l), sh, arg_kind::none, [f](c& cfg, s) { f(cfg); }});
  };
  auto val = [&](std::vector<std::string_view> l, char sh, std::function<void(c&, s)> f) {
    o.push_back({std::move(l), sh, arg_kind::required, std::move(f)});
  };
  auto opt = [&](std::vector<std::string_view> l, char sh, std::function<void(c&, s)> f) {
    o.push_back({std::move(l), sh, arg_kind::optional, std::move(f)});
  };
  val({"arg-file"}, 'a', [](c& g, s v) {
    input_source src;
    src.type = v == "-" ? input_source::kind::standard_input : input_source::kind::file;
    src.path = v;
    g.sources.push_back(std::move(src));
  });
  flag({"null"}, '0', [](c& g) { g.null_delim = true; g.delimiter = '\0'; });
  val({"delimiter"}, 'd', [](c& g, s v) {
    std::string d = unescape_delimiter(v);
    if (d.size() != 1) throw usage_error("-d needs a single character (C escapes allowed), not '" + v + "'");
    g.delimiter = d[0];
  });
  val({"eof"}, 'E', [](c& g, s v) { g.eof_string = v; });
  opt({}, 'e', [](c& g, s v) {  // GNU's older -E: without a string, no end-of-file string
    if (v.empty()) g.eof_string.reset();
    else g.eof_string = v;
  });
  val({"arg-sep", "argsep"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--arg-sep needs a non-empty separator");
    g.arg_sep = v;
  });
  val({"arg-file-sep", "argfilesep"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--arg-file-sep needs a non-empty separator");
    g.arg_file_sep = v;
  });
  val({"colsep"}, 'C', [](c& g, s v) {
    if (v.empty()) throw usage_error("--colsep needs a separator");
    g.colsep = v;
  });
  val({"trim"}, '\0', [](c& g, s v) {
    if (v != "n" && v != "l" && v != "r" && v != "lr" && v != "rl")
      throw usage_error("--trim must be one of n, l, r, lr, rl, not '" + v + "'");
    g.trim = v;
  });
  flag({"no-run-if-empty"}, 'r', [](c& g) { g.skip_empty = true; });
  val({"header"}, '\0', [](c& g, s) { g.header = true; });
  flag({"link", "xapply"}, '\0', [](c& g) { g.link = true; });
  val({"replace"}, 'I', [](c& g, s v) {
    if (v.empty()) throw usage_error("-I needs a non-empty replacement string");
    g.replace_str = v;
  });
  opt({}, 'i', [](c& g, s v) { g.replace_str = v.empty() ? "{}" : v; });
  flag({"plus"}, '\0', [](c& g) { g.plus = true; });
  val({"rpl"}, '\0', [](c& g, s v) { g.rpl.push_back(v); });
  flag({"quote"}, 'q', [](c& g) { g.quote_command = true; });
  val({"max-args"}, 'n', [](c& g, s v) {
    g.max_args = parse_count("-n", v);
    if (g.max_args == 0) g.max_replace_args = true;  // -n 0: like -N 0, a job per argument, none inserted
    g.args_given = true;
  });
  val({"max-replace-args"}, 'N', [](c& g, s v) {
    g.max_args = parse_count("-N", v);
    g.pipe_records = std::max<std::size_t>(1, g.max_args);
    g.max_replace_args = true;
    g.args_given = true;
  });
  val({"max-lines"}, 'L', [](c& g, s v) {
    g.max_args = parse_count("-L", v);
    g.pipe_lines_per_record = std::max<std::size_t>(1, g.max_args);
    g.args_given = true;
  });
  opt({}, 'l', [](c& g, s v) {  // GNU's older -L, whose count is optional (and 0 means 1)
    g.max_args = v.empty() ? 1 : std::max<std::size_t>(1, parse_count("-l", v));
    g.pipe_lines_per_record = g.max_args;
    g.args_given = true;
  });
  val({"max-chars"}, 's', [](c& g, s v) {
    g.max_line_length = parse_count("-s", v);
    if (g.max_line_length < 16) throw usage_error("-s: line length too small: " + v);
  });
  flag({"xargs"}, 'X', [](c& g) { g.xargs_context = true; });
  flag({}, 'm', [](c& g) { g.multi_args = true; });
  val({"jobs", "max-procs"}, 'j', [](c& g, s v) { g.jobs_spec = v, g.jobs_given = true; });
  val({}, 'P', [](c& g, s v) { g.jobs_spec = v, g.jobs_given = true; });
  flag({"keep-order", "keeporder"}, 'k', [](c& g) { g.keep_order = true; });
  flag({"no-keep-order", "nokeeporder", "nko", "no-k"}, '\0', [](c& g) { g.keep_order = false; });
  flag({"ungroup"}, 'u', [](c& g) { g.output = output_mode::ungroup; });
  flag({"group"}, '\0', [](c& g) { g.output = output_mode::group; });
  flag({"line-buffer", "linebuffer", "lb"}, '\0', [](c& g) { g.output = output_mode::line_buffer; });
  flag({"tag"}, '\0', [](c& g) { g.tag = true; });
  val({"tagstring", "tag-string"}, '\0', [](c& g, s v) { g.tagstring = v; });
  flag({"dry-run", "dryrun"}, '\0', [](c& g) { g.dry_run = true; });
  flag({"verbose"}, 'v', [](c& g) { g.verbose = true; });
  flag({}, 't', [](c& g) { g.trace = true; });
  // Answers instead of jobs: printed once the whole command line is read.
  flag({"number-of-cpus"}, '\0', [](c& g) { g.info = "cpus"; });
  flag({"number-of-cores"}, '\0', [](c& g) { g.info = "cores"; });
  flag({"number-of-threads"}, '\0', [](c& g) { g.info = "threads"; });
  flag({"number-of-sockets"}, '\0', [](c& g) { g.info = "sockets"; });
  val({"minversion"}, '\0', [](c& g, s v) {
    std::string digits = v.substr(0, v.find_first_not_of("0123456789"));
    if (digits.empty()) throw usage_error("--minversion needs a version such as 20221122, not '" + v + "'");
    g.info = "minversion " + digits;
  });
  val({"timeout"}, '\0', [](c& g, s v) {
    g.timeout_spec = v;
    if (!v.empty() && v.back() == '%') {
      g.timeout_percent = parse_number("--timeout", v.substr(0, v.size() - 1));
      if (g.timeout_percent <= 0) throw usage_error("--timeout: percentage must be positive: '" + v + "'");
    } else {
      g.timeout_seconds = parse_duration("--timeout", v);
    }
  });
  val({"retries"}, '\0', [](c& g, s v) {
    std::size_t n = parse_count("--retries", v);
    g.retries = static_cast<unsigned>(std::clamp<std::size_t>(n, 1, 1000000));
  });
  val({"halt-on-error", "haltonerror", "halt"}, '\0', [](c& g, s v) { g.halt = parse_halt(v); });
  val({"term-seq", "termseq"}, '\0', [](c& g, s v) { g.term_seq = parse_term_seq(v); });
  val({"joblog", "jl"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--joblog needs a file name");
    if (v[0] == '+') {
      g.joblog = v.substr(1);
      g.joblog_append = true;
    } else {
      g.joblog = v;
    }
  });
  flag({"resume"}, '\0', [](c& g) { g.resume = true; });
  flag({"resume-failed"}, '\0', [](c& g) { g.resume_failed = true; });
  val({"results", "result", "res"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--results needs a name");
    g.results_path = v;
    auto ends = [&](std::string_view suf) {
      return v.size() >= suf.size() && v.compare(v.size() - suf.size(), suf.size(), suf) == 0;
    };
    if (ends(".csv")) g.results = results_kind::csv;
    else if (ends(".tsv")) g.results = results_kind::tsv;
    else if (ends(".json")) g.results = results_kind::json;
    else if (v.find('{') != std::string::npos && v.find('}') != std::string::npos) g.results = results_kind::templated;
    else g.results = results_kind::tree;
  });
  flag({"bar"}, '\0', [](c& g) { g.bar = true; });
  flag({"progress"}, '\0', [](c& g) { g.progress = true; });
  flag({"eta"}, '\0', [](c& g) { g.eta = true; });
  val({"total-jobs", "total"}, '\0', [](c& g, s v) { g.total_jobs = parse_count("--total-jobs", v); });
  flag({"pipe", "spreadstdin"}, '\0', [](c& g) { g.pipe = true; });
  val({"block", "block-size"}, '\0', [](c& g, s v) { g.block_size = parse_size("--block", v); });
  val({"recend"}, '\0', [](c& g, s v) {
    g.recend = unescape_delimiter(v);
    g.recend_given = true;
  });
  val({"recstart"}, '\0', [](c& g, s v) { g.recstart = unescape_delimiter(v); });
  val({"tmpdir", "tempdir"}, '\0', [](c& g, s v) { g.tmpdir = v; });
  // The SQL job queue (sql_queue.cpp); the DBURL is parsed when the run starts.
  val({"sqlmaster", "sql-master"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = v; });
  val({"sqlworker", "sql-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_worker = v; });
  val({"sqlandworker", "sql-and-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = g.sql_worker = v; });
  flag({"wait"}, '\0', [](c& g) { g.sql_wait = true; });
  flag({"slurm"}, '\0', [](c& g) { g.slurm = true; });
  val({"cpus-per-job"}, '\0', [](c& g, s v) {
    g.slurm_cpus_per_job = parse_count("--cpus-per-job", v);
    if (g.slurm_cpus_per_job == 0) throw usage_error("--cpus-per-job must be at least 1");
  });
  flag({"will-cite", "citation", "bibtex", "no-notice", "silent", "gnu"}, '\0', [](c&) {});
  // GNU parallel's options that sluice does not have (yet): named as such, never "unknown".
  static const char* const k_not_implemented[] = {
      "basefile", "bf", "basenameextensionreplace", "bner", "basenamereplace", "bnr", "bg", "bin",
      "block-timeout", "blocktimeout", "bt", "cat", "cf", "cleanup", "color", "colour", "color-failed",
      "colour-failed", "compress", "compress-program", "controlmaster", "csv", "ctag", "ctagstring",
      "decompress-program", "delay", "dirnamereplace", "dnr", "embed", "env", "er", "exit",
      "extensionreplace", "fg", "fifo", "files", "filter", "filter-hosts", "group-by", "groupby",
      "hashbang", "hgrp", "hostgroups", "hostgroup", "id", "interactive", "latest-line", "ll", "limit",
      "load", "max-line-length-allowed", "memfree", "memsuspend", "nice", "nonall", "noswap", "onall",
      "open-tty", "output-as-files", "outputasfiles", "parens", "pipe-part", "pipepart", "process-slot-var",
      "record-env", "regexp", "remove-rec-sep", "removerecsep", "rrs", "retry-failed", "return",
      "round", "round-robin", "rsync-opts", "semaphore", "semaphore-name", "semaphorename",
      "semaphore-timeout", "semaphoretimeout", "seqreplace", "session", "shard", "shebang", "shebang-wrap",
      "shell-completion", "shell-quote", "show-limits", "shuf", "skip-first-line", "slf", "slotreplace",
      "sql", "ssh",
      "ssh-delay", "sshdelay", "sshlogin", "sshloginfile", "st", "tee", "template", "tf", "tmpl", "tmux",
      "tmuxpane", "transfer", "transferfile", "trc", "tty", "use-cores-instead-of-threads",
      "use-cpus-instead-of-cores", "use-sockets-instead-of-threads", "wd", "workdir",
  };
  for (const char* name : k_not_implemented) {
    std::string n = name;
    o.push_back({{std::string_view(name)}, '\0', arg_kind::optional,
                 [n](c&, s) { throw usage_error("--" + n + " is not implemented in sluice"); }});
  }
  for (char sh : {'M', 'S', 'o', 'p', 'x'}) {
    o.push_back({{}, sh, arg_kind::optional,
                 [sh](c&, s) { throw usage_error(std::string("-") + sh + " is not implemented in sluice"); }});
  }
  // Read before the rest of the command line (see default_words): nothing left to do when they come by.
  val({"profile"}, 'J', [](c&, s) {});
  flag({"plain"}, '\0', [](c&) {});
  return o;
}

// A -j count: digits and dots, parsed without exceptions; nullopt when malformed.
std::optional<double> jobs_number(std::string_view d, bool fraction = false) {
  // GNU parallel takes a fraction only before '%' (50.5%): N, +N and -N are digits alone (not even 2.0).
  if (!fraction && d.find('.') != std::string_view::npos) return std::nullopt;
  if (d.empty() || d.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;
  if (d.find_first_not_of('.') == std::string_view::npos) return std::nullopt;
  // The leading number ("1.5.2%" is 1.5%, as it always was); digits only, so at worst HUGE_VAL, clamped below.
  return std::strtod(std::string(d).c_str(), nullptr);
}

// More jobs than this cannot run anyway (each needs descriptors and a process); a bigger -j means "this many".
constexpr double k_max_jobs = 1e9;

void resolve_jobs(config& cfg, bool from_procfile = false) {
  const std::string& v = cfg.jobs_spec;
  double threads = static_cast<double>(cpu_threads());
  double n = 0;
  auto bad = [&]() { return usage_error("-j: bad value '" + v + "' (use N, N%, +N, -N or 0)"); };
  if (v.empty()) throw bad();
  if (v.back() == '%') {
    auto d = jobs_number(std::string_view(v.data(), v.size() - 1), true);
    if (!d) throw bad();
    n = std::floor(std::min(*d, k_max_jobs * 100) * threads / 100.0);
  } else if (v[0] == '+' || v[0] == '-') {
    auto d = jobs_number(std::string_view(v.data() + 1, v.size() - 1));
    if (!d) throw bad();
    double k = std::floor(std::min(*d, k_max_jobs));
    n = v[0] == '+' ? threads + k : threads - k;
  } else if (auto d = jobs_number(v)) {
    n = std::floor(std::min(*d, k_max_jobs));
    if (n == 0) {
      // "As many as possible": bounded by descriptors (three pipes and a pidfd per job) and processes.
      struct rlimit rl {};
      long long by_fd = 250;
      if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        by_fd = static_cast<long long>((rl.rlim_cur - 32) / 5);
      n = static_cast<double>(std::clamp<long long>(by_fd, 1, 2000));
    }
  } else if (!from_procfile && ::access(v.c_str(), R_OK) == 0) {
    // A procfile: read once here (GNU re-reads it as jobs end; see the report).
    std::FILE* f = std::fopen(v.c_str(), "r");
    char buf[64] = {};
    std::string content;
    if (f != nullptr) {
      if (std::fgets(buf, sizeof buf, f) != nullptr) content = buf;
      std::fclose(f);
    }
    while (!content.empty() && std::isspace(static_cast<unsigned char>(content.back()))) content.pop_back();
    if (content.empty()) throw usage_error("-j: '" + v + "' is a file without a number of jobs in it");
    // The procfile holds a -j value, not the name of another procfile (which could loop).
    cfg.jobs_spec = content;
    resolve_jobs(cfg, true);
    return;
  } else {
    throw bad();
  }
  cfg.jobs = static_cast<std::size_t>(std::clamp(n, 1.0, k_max_jobs));
}

// Words of a config or profile file: each line split like the shell splits words (quotes and backslashes,
// no expansion); lines starting with '#' are comments. A missing file gives nothing.
std::vector<std::string> file_words(const std::string& path) {
  std::vector<std::string> words;
  std::ifstream in(path);
  if (!in) return words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    try {
      for (auto& w : sluice::shlex::split(line)) words.push_back(std::move(w));
    } catch (const std::invalid_argument&) {
      throw usage_error("unbalanced quotes in " + path + ": " + line);
    }
  }
  return words;
}

// GNU parallel's default options, which go before the command line's own: the profiles named by
// -J/--profile (files in $PARALLEL_HOME, default ~/.parallel; a name starting with / or ./ is a path), or
// else /etc/parallel/config and $PARALLEL_HOME/config; then $PARALLEL. --plain ignores them all.
std::vector<std::string> default_words(const std::vector<std::string>& profiles, bool plain) {
  std::vector<std::string> words;
  if (plain) return words;
  std::string home;
  if (const char* ph = std::getenv("PARALLEL_HOME"); ph != nullptr && *ph != '\0') home = ph;
  else if (const char* h = std::getenv("HOME"); h != nullptr) home = std::string(h) + "/.parallel";
  auto add = [&](const std::string& path) {
    for (auto& w : file_words(path)) words.push_back(std::move(w));
  };
  if (profiles.empty()) {
    add("/etc/parallel/config");
    if (!home.empty()) add(home + "/config");
  } else {
    for (const auto& p : profiles) {
      if (p.empty()) continue;
      if (p[0] == '/' || p.rfind("./", 0) == 0) add(p);
      else if (!home.empty()) add(home + "/" + p);
    }
  }
  if (const char* env = std::getenv("PARALLEL"); env != nullptr && *env != '\0') {
    try {
      for (auto& w : sluice::shlex::split(env)) words.push_back(std::move(w));
    } catch (const std::invalid_argument&) {
      throw usage_error(std::string("unbalanced quotes in $PARALLEL: ") + env);
    }
  }
  return words;
}

}  // namespace

std::string unescape_delimiter(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        int v = 0, k = 0;
        while (k < 2 && i + 1 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1]))) {
          char h = s[++i];
          v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          ++k;
        }
        if (k == 0) throw usage_error("bad \\x escape in '" + s + "'");
        out += static_cast<char>(v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', k = 1;
          while (k < 3 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7') {
            v = v * 8 + (s[++i] - '0');
            ++k;
          }
          out += static_cast<char>(v);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

std::optional<config> parse_command_line(int argc, char** argv) {
  config cfg;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<option_spec> specs = make_options();
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
        std::string name = a.substr(2);
        std::optional<std::string> value;
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name.resize(eq);
        }
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
    std::vector<std::string> defaults = default_words(profiles, plain);
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
      std::string name = a.substr(2);
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
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
      } else if (i + 1 < args.size() && !args[i + 1].empty() &&
                 (c == 'l' ? args[i + 1].find_first_not_of("0123456789") == std::string::npos
                           : args[i + 1][0] != '-')) {
        // Getopt's optional values: the next word is the value unless it looks like an option (for -l's
        // count: unless it is not a number), so `-i echo {}` makes "echo" the replacement string, as in GNU.
        sp->apply(cfg, args[++i]);
      } else {
        sp->apply(cfg, "");
      }
      break;
    }
  }
  if (want_help) {
    print_help();
    return std::nullopt;
  }
  if (!cfg.info.empty()) {
    print_info(cfg.info);
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
  // Sources after the markers; `-a` sources come first, as GNU orders them.
  std::vector<input_source> marker_sources;
  while (i < args.size()) {
    const std::string marker = args[i++];
    bool files = marker == fsep || marker == fsep + "+";
    bool linked = marker == vsep + "+" || marker == fsep + "+";
    if (files) {
      bool first = true;
      while (i < args.size() && !is_marker(args[i])) {
        input_source src;
        src.type = args[i] == "-" ? input_source::kind::standard_input : input_source::kind::file;
        src.path = args[i];
        src.linked_to_previous = linked && first;
        first = false;
        marker_sources.push_back(std::move(src));
        ++i;
      }
      if (first) throw usage_error(marker + " needs at least one file");
    } else {
      input_source src;
      src.type = input_source::kind::values;
      src.linked_to_previous = linked;
      while (i < args.size() && !is_marker(args[i])) {
        // A value with a newline becomes several arguments, as in GNU parallel.
        for (auto& part : split_string(args[i], '\n')) src.values.push_back(part);
        ++i;
      }
      marker_sources.push_back(std::move(src));
    }
  }
  for (auto& s : marker_sources) cfg.sources.push_back(std::move(s));
  if (cfg.sources.empty()) cfg.sources.push_back(input_source{});
  if (!cfg.sources.empty() && cfg.sources.front().linked_to_previous)
    throw usage_error(":::+ / ::::+ need a source before them to link to");
  for (const auto& s : cfg.sources)
    if (s.type == input_source::kind::file && ::access(s.path.c_str(), R_OK) != 0)
      throw usage_error("cannot open input file '" + s.path + "': " + std::strerror(errno));

  resolve_jobs(cfg);
  if (cfg.resume && !cfg.joblog) throw usage_error("--resume needs --joblog");
  if (cfg.resume_failed && !cfg.joblog) throw usage_error("--resume-failed needs --joblog");
  if (cfg.max_args == 0 && !cfg.max_replace_args) cfg.max_args = 1;
  if (cfg.xargs_context || cfg.multi_args) {
    if (!cfg.args_given) cfg.max_args = 0;  // as many as fit on the line
  }
  if (cfg.colsep && cfg.trim == "n") cfg.trim = "lr";
  return cfg;
}

}  // namespace sluice::app
