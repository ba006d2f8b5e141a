// Command-line parsing with GNU parallel's conventions: Getopt::Long in "bundling, require_order" mode
// (short options bundle, option parsing stops at the first command word, long options may be abbreviated
// to a unique prefix), then the command words, then the input sources after `:::` / `::::`. The values of
// options are parsed in option_values.cpp, the default options read in defaults.cpp, and GNU's further local
// options are in options_local.cpp.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string_view>
#include <thread>


#include <sluice/subprocess.hpp>

#include "config.hpp"
#include "limits.hpp"
#include "option_values.hpp"
#include "options.hpp"
#include "records.hpp"
#include "remote.hpp"
#include "dburl.hpp"
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
  flag({"null"}, '0', [](c& g) { g.null_delim = true; g.delimiter = '\0'; g.delimiter_text = std::string(1, '\0'); });
  val({"delimiter"}, 'd', [](c& g, s v) {
    std::string d = unescape_delimiter(v);
    if (d.empty()) throw usage_error("-d needs a delimiter");
    g.delimiter = d[0];
    g.delimiter_text = d;  // several characters, as GNU allows: -d '\r\n'
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
  val({"colsep", "col-sep"}, 'C', [](c& g, s v) {
    if (v.empty()) throw usage_error("--colsep needs a separator");
    g.colsep = v;
  });
  val({"trim"}, '\0', [](c& g, s v) {
    if (v != "n" && v != "l" && v != "r" && v != "lr" && v != "rl")
      throw usage_error("Error: --trim must be one of: r l rl lr.");  // GNU's words
    g.trim = v;
    g.trim_given = true;
  });
  flag({"no-run-if-empty", "norunifempty"}, 'r', [](c& g) { g.skip_empty = true; });
  val({"header"}, '\0', [](c& g, s v) { g.header = true; g.header_text = v; });
  flag({"link", "xapply"}, '\0', [](c& g) { g.link = true; });
  val({}, 'I', [](c& g, s v) {
    if (v.empty()) throw usage_error("-I needs a non-empty replacement string");
    g.replace_str = v;
  });
  auto rename = [&](std::vector<std::string_view> names, std::string inner) {
    val(std::move(names), '\0', [inner](c& g, s v) {
      for (auto it = g.renamed.begin(); it != g.renamed.end();)  // given twice: the last one counts
        it = it->second == inner ? g.renamed.erase(it) : std::next(it);
      if (v != "{" + inner + "}") g.renamed[v] = inner;
    });
  };
  val({"process-slot-var", "processslotvar"}, '\0', [](c& g, s v) {
    if (v.empty() || v.find('=') != std::string::npos) throw usage_error("--process-slot-var needs a variable name");
    g.process_slot_var = v;
  });
  // How -j N% and the like count CPUs (GNU: threads by default); --use-cpus-instead-of-cores is an older
  // spelling of the cores one.
  flag({"use-cores-instead-of-threads", "usecoresinsteadofthreads"}, '\0', [](c& g) { g.cpu_unit = "cores"; });
  flag({"use-cpus-instead-of-cores", "usecpusinsteadofcores"}, '\0', [](c& g) { g.cpu_unit = "cores"; });
  flag({"use-sockets-instead-of-threads", "usesocketsinsteadofthreads"}, '\0', [](c& g) { g.cpu_unit = "sockets"; });
  rename({"extensionreplace", "er"}, ".");
  rename({"basenamereplace", "bnr"}, "/");
  rename({"dirnamereplace", "dnr"}, "//");
  rename({"basenameextensionreplace", "bner"}, "/.");
  rename({"seqreplace"}, "#");
  rename({"slotreplace"}, "%");
  opt({"replace"}, 'i', [](c& g, s v) { g.replace_str = v.empty() ? "{}" : v; });  // GNU: --replace is -i
  flag({"plus"}, '\0', [](c& g) { g.plus = true; });
  val({"rpl"}, '\0', [](c& g, s v) { g.rpl.push_back(v); });
  flag({"quote"}, 'q', [](c& g) { g.quote_command = true; });
  val({"parens"}, '\0', [](c& g, s v) {
    if (v.size() < 2) throw usage_error("--parens needs a left and a right parenthesis, such as {==}, not '" + v + "'");
    g.parens = v;
  });
  flag({"shell-quote", "shellquote", "shell_quote"}, '\0', [](c& g) { ++g.shell_quote; });
  val({"filter"}, '\0', [](c& g, s v) { g.filters.push_back(v); });
  val({"template", "tmpl"}, '\0', [](c& g, s v) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
      throw usage_error("Option tmpl, key \"" + v + "\", requires a value");
    g.templates.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  });
  // -x: GNU parallel stops at a command line longer than -s anyway; accepted for xargs' sake.
  flag({"exit"}, 'x', [](c&) {});
  val({"max-args", "maxargs"}, 'n', [](c& g, s v) {
    g.max_args = parse_count("-n", v);
    if (g.max_args == 0) g.max_replace_args = true;  // -n 0: like -N 0, a job per argument, none inserted
    g.args_given = true;
  });
  val({"max-replace-args", "maxreplaceargs"}, 'N', [](c& g, s v) {
    g.max_args = parse_count("-N", v);
    g.pipe_records = std::max<std::size_t>(1, g.max_args);
    g.max_replace_args = true;
    g.args_given = true;
  });
  val({}, 'L', [](c& g, s v) {
    g.max_args = parse_count("-L", v);
    g.pipe_lines_per_record = std::max<std::size_t>(1, g.max_args);
    if (g.max_args == 0) g.max_replace_args = true;  // -L 0: as -N 0
    g.args_given = true;
  });
  opt({"max-lines", "maxlines"}, 'l', [](c& g, s v) {  // GNU's older -L, whose count is optional (0 means 1)
    g.max_args = v.empty() ? 1 : std::max<std::size_t>(1, parse_count("-l", v));
    g.pipe_lines_per_record = g.max_args;
    g.args_given = true;
  });
  val({"max-chars", "maxchars"}, 's', [](c& g, s v) {
    g.max_line_length = parse_count("-s", v);
  });
  flag({"xargs"}, 'X', [](c& g) { g.xargs_context = true; });
  flag({}, 'm', [](c& g) { g.multi_args = true; });
  val({"jobs", "max-procs", "maxprocs"}, 'j', [](c& g, s v) { g.jobs_spec = v; g.jobs_given = true; });
  val({}, 'P', [](c& g, s v) { g.jobs_spec = v; g.jobs_given = true; });
  flag({"keep-order", "keeporder"}, 'k', [](c& g) { g.keep_order = true; });
  // Wherever it stands, as in GNU: it is there to override a -k from a config file or an alias.
  flag({"no-keep-order", "nokeeporder", "nok", "nko", "no-k"}, '\0', [](c& g) { g.no_keep_order = true; });
  flag({"ungroup"}, 'u', [](c& g) { g.output = output_mode::ungroup; g.output_given = true; });
  flag({"group"}, '\0', [](c& g) { g.output = output_mode::group; g.output_given = true; });
  flag({"line-buffer", "linebuffer", "line-buffered", "linebuffered", "lb"}, '\0', [](c& g) { g.output = output_mode::line_buffer; g.output_given = true; });
  flag({"tag"}, '\0', [](c& g) { g.tag = true; });
  val({"tagstring", "tag-string"}, '\0', [](c& g, s v) { g.tagstring = unquote_printf(v); });
  flag({"dry-run", "dryrun"}, '\0', [](c& g) { g.dry_run = true; });
  flag({}, 'v', [](c& g) { g.verbose = true; });
  flag({"verbose"}, '\0', [](c& g) { g.trace = true; });  // GNU 20221122: --verbose is -t, not -v
  flag({}, 't', [](c& g) { g.trace = true; });
  // Answers instead of jobs: printed once the whole command line is read.
  flag({"number-of-cpus", "numberofcpus"}, '\0', [](c& g) { g.info = "cpus"; });
  flag({"number-of-cores", "numberofcores"}, '\0', [](c& g) { g.info = "cores"; });
  flag({"number-of-threads", "numberofthreads"}, '\0', [](c& g) { g.info = "threads"; });
  flag({"number-of-sockets", "numberofsockets"}, '\0', [](c& g) { g.info = "sockets"; });
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
    g.retries_template.reset();
    if (v.find('{') != std::string::npos) {
      // A replacement string: each job's own count (GNU: --retries {//}).
      g.retries_template = v;
      g.retries = UINT_MAX;
    } else {
      std::size_t n = parse_count("--retries", v);
      g.retries = n == 0 ? UINT_MAX : static_cast<unsigned>(std::min<std::size_t>(n, UINT_MAX - 1));  // 0: until it succeeds
    }
    g.retries_given = true;
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
  flag({"resume-failed", "resumefailed"}, '\0', [](c& g) { g.resume_failed = true; });
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
  val({"total-jobs", "totaljobs", "total"}, '\0', [](c& g, s v) { g.total_jobs = parse_count("--total-jobs", v); });
  flag({"pipe", "spreadstdin"}, '\0', [](c& g) { g.pipe = true; });
  val({"block", "block-size", "blocksize"}, '\0', [](c& g, s v) { g.block_size = parse_size("--block", v); });
  val({"recend"}, '\0', [](c& g, s v) {
    g.recend_text = v;
    g.recend = unescape_delimiter(v);
    g.recend_given = true;
  });
  val({"recstart"}, '\0', [](c& g, s v) {
    g.recstart_text = v;
    g.recstart = unescape_delimiter(v);
  });
  flag({"regexp"}, '\0', [](c& g) { g.regexp = true; });
  flag({"remove-rec-sep", "removerecsep", "rrs"}, '\0', [](c& g) { g.remove_rec_sep = true; });
  val({"block-timeout", "blocktimeout", "bt"}, '\0', [](c& g, s v) {
    double t = 0;
    try {
      t = std::trunc(parse_duration("--block-timeout", v));  // (GNU: whole seconds)
    } catch (const usage_error&) {
    }
    if (t < 1) throw usage_error("Error: --block-timeout must be at least 1");
    g.block_timeout = t;
  });
  val({"shard"}, '\0', [](c& g, s v) { g.shard = v; g.shard_is_bin = false; });
  val({"bin"}, '\0', [](c& g, s v) { g.shard = v; g.shard_is_bin = true; });
  val({"tmpdir", "tempdir"}, '\0', [](c& g, s v) { g.tmpdir = v; });
  // Remote hosts (remote.hpp); the sshlogins themselves are parsed once the whole line is read.
  val({"sshlogin"}, 'S', [](c& g, s v) { g.sshlogins.push_back(v); });
  val({"sshloginfile", "slf"}, '\0', [](c& g, s v) { g.sshloginfiles.push_back(v); });
  val({"ssh"}, '\0', [](c& g, s v) {
    if (v.find_first_not_of(" \t") == std::string::npos) throw usage_error("--ssh needs a command");
    g.ssh_command = v;
  });
  flag({"controlmaster"}, 'M', [](c& g) { g.controlmaster = true; });
  flag({"hostgroups", "hostgroup", "hostgrp", "hgrp"}, '\0', [](c& g) { g.hostgroups = true; });
  val({"rsync-opts", "rsyncopts"}, '\0', [](c& g, s v) { g.rsync_opts = v; });
  val({"sshdelay", "ssh-delay"}, '\0', [](c& g, s v) { g.ssh_delay = parse_duration("--sshdelay", v); });
  val({"transferfile", "transfer-file", "transferfiles", "transfer-files", "tf"}, '\0', [](c& g, s v) {
    g.transfer_files.push_back(v);
    if (g.transfer_spelling.empty()) g.transfer_spelling = "--transferfile";
  });
  flag({"transfer"}, '\0', [](c& g) {
    g.transfer_files.push_back("{}");
    if (g.transfer_spelling != "--trc") g.transfer_spelling = "--transfer";
  });
  val({"return"}, '\0', [](c& g, s v) { g.return_files.push_back(v); });
  flag({"cleanup"}, '\0', [](c& g) { g.cleanup = true; });
  val({"trc"}, '\0', [](c& g, s v) {
    g.transfer_files.push_back("{}");
    g.return_files.push_back(v);
    g.cleanup = true;
    g.transfer_spelling = "--trc";
  });
  val({"basefile", "bf"}, '\0', [](c& g, s v) { g.basefiles.push_back(v); });
  val({"workdir", "work-dir", "wd"}, '\0', [](c& g, s v) { g.workdir = v; });
  flag({"onall"}, '\0', [](c& g) { g.onall = true; });
  flag({"nonall"}, '\0', [](c& g) { g.nonall = true; });
  flag({"filter-hosts", "filterhosts", "filter-host"}, '\0', [](c& g) { g.filter_hosts = true; });
  val({"env"}, '\0', [](c& g, s v) { g.env_names.push_back(v); });
  // The SQL job queue (sql_queue.cpp); the DBURL is parsed when the run starts.
  val({"sqlmaster", "sql-master"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = v; });
  val({"sqlworker", "sql-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_worker = v; });
  val({"sqlandworker", "sql-and-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = g.sql_worker = v; });
  flag({"slurm"}, '\0', [](c& g) { g.slurm = true; });
  val({"cpus-per-job"}, '\0', [](c& g, s v) {
    g.slurm_cpus_per_job = parse_count("--cpus-per-job", v);
    if (g.slurm_cpus_per_job == 0) throw usage_error("--cpus-per-job must be at least 1");
  });
  flag({"will-cite", "willcite", "nn", "nonotice", "no-notice", "citation", "bibtex", "silent"}, '\0', [](c&) {});
  flag({"gnu"}, '\0', [](c& g) { g.gnu = true; });
  flag({"tollef"}, '\0', [](c& g) { g.tollef = true; });
  flag({"color", "colour"}, '\0', [](c& g) { g.color = true; });
  flag({"ctag"}, '\0', [](c& g) { g.color = true; g.tag = true; });
  val({"ctagstring", "ctag-string"}, '\0', [](c& g, s v) { g.color = true; g.tagstring = unquote_printf(v); });
  val({"delay"}, '\0', [](c& g, s v) {
    std::string d = v;
    if (d.size() >= 4 && d.compare(d.size() - 4, 4, "auto") == 0) {
      g.delay_auto = true;
      d.resize(d.size() - 4);
    }
    g.delay = d.empty() ? 0 : parse_duration("--delay", d);
  });
  val({"load"}, '\0', [](c& g, s v) {
    if (v == "0") g.max_load.reset();  // Perl's false: GNU checks no load at all
    else g.max_load = parse_load(v);
  });
  val({"memfree"}, '\0', [](c& g, s v) { g.memfree = static_cast<double>(parse_size("--memfree", v)); });
  flag({"files", "output-as-files", "outputasfiles"}, '\0', [](c& g) { g.files = true; });
  flag({"cat"}, '\0', [](c& g) { g.cat = true; });
  flag({"fifo"}, '\0', [](c& g) { g.fifo = true; });
  flag({"round-robin", "roundrobin", "round"}, '\0', [](c& g) { g.round_robin = true; });
  flag({"tee"}, '\0', [](c& g) { g.tee = true; });
  flag({"compress"}, '\0', [](c& g) { g.compress = true; });
  val({"compress-program", "compressprogram", "use-compress-program", "usecompressprogram"}, '\0',
      [](c& g, s v) { g.compress_program = v; });
  val({"decompress-program", "decompressprogram", "use-decompress-program", "usedecompressprogram"}, '\0',
      [](c& g, s v) { g.decompress_program = v; });
  flag({"pipe-part", "pipepart"}, '\0', [](c& g) { g.pipe = true; g.pipe_part = true; });
  // --semaphore (semaphore.cpp); any of its options makes a semaphore, as in GNU.
  flag({"semaphore"}, '\0', [](c& g) { g.semaphore = true; });
  val({"semaphore-name", "semaphorename", "id"}, '\0', [](c& g, s v) {
    g.semaphore = true;
    g.semaphore_name = v;
  });
  val({"semaphore-timeout", "semaphoretimeout", "st"}, '\0', [](c& g, s v) {
    g.semaphore = true;
    bool negative = !v.empty() && v[0] == '-';
    // GNU takes the whole seconds of it (int(multiply_time_units(...))).
    double t = std::trunc(parse_duration("--semaphoretimeout", negative ? v.substr(1) : v));
    g.semaphore_timeout = negative ? -t : t;
  });
  flag({"fg"}, '\0', [](c& g) { g.semaphore = true; g.semaphore_fg = true; });
  flag({"bg"}, '\0', [](c& g) { g.semaphore = true; g.semaphore_fg = false; });
  flag({"wait"}, '\0', [](c& g) { g.semaphore_wait = true; });  // the SQL master's --wait, else the semaphore's
  add_retired_options(o);
  add_local_options(o);
  flag({"color-failed", "colour-failed", "colorfailed", "colourfailed", "color-fail", "colour-fail", "colorfail",
        "colourfail", "cf"},
       '\0', [](c& g) { g.color_failed = true; });
  flag({"retry-failed", "retryfailed"}, '\0', [](c& g) { g.retry_failed = true; });
  val({"limit"}, '\0', [](c& g, s v) { g.limit = v; });
  val({"memsuspend"}, '\0', [](c& g, s v) { g.memsuspend = static_cast<double>(parse_size("--memsuspend", v)); });
  flag({"noswap"}, '\0', [](c& g) { g.noswap = true; });
  // env_parallel's: it records the shell's names in $PARALLEL_IGNORED_NAMES itself; GNU parallel ignores it.
  flag({"session"}, '\0', [](c&) {});
  flag({"open-tty"}, 'o', [](c& g) { g.open_tty = true; });
  flag({"tty"}, '\0', [](c& g) {  // as GNU: -j1 and -u by default; a -j or another output mode given wins
    g.open_tty = true;
    g.tty_defaults = true;
  });
  flag({"interactive"}, 'p', [](c& g) { g.interactive = true; });
  val({"shell-completion", "shellcompletion"}, '\0', [](c& g, s v) { g.shell_completion = v; });
  add_not_implemented_options(o);
  // Read before the rest of the command line (see default_words): nothing left to do when they come by.
  val({"profile"}, 'J', [](c&, s) {});
  flag({"plain"}, '\0', [](c&) {});
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

}  // namespace

std::optional<config> parse_command_line(int argc, char** argv) {
  config cfg;
  std::vector<std::string> args = expand_shebang(std::vector<std::string>(argv + 1, argv + argc));
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
  // Sources after the markers; `-a` sources come first, as GNU orders them.
  std::vector<input_source> marker_sources;
  while (i < args.size()) {
    const std::string marker = args[i++];
    bool files = marker == fsep || marker == fsep + "+";
    bool linked = marker == vsep + "+" || marker == fsep + "+";
    if (files) {
      bool first = true;
      // `::::+ a b` with nothing before it: as GNU, the files are linked to each other.
      const bool link_all = linked && marker_sources.empty() && cfg.sources.empty();
      while (i < args.size() && !is_marker(args[i])) {
        input_source src;
        src.type = args[i] == "-" ? input_source::kind::standard_input : input_source::kind::file;
        src.path = args[i];
        src.linked_to_previous = link_all ? !first : linked && first;
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
  check_remote_options(cfg);
  if (!cfg.sources.empty() && cfg.sources.front().linked_to_previous)
    throw usage_error(":::+ / ::::+ need a source before them to link to");
  for (const auto& s : cfg.sources) {
    if (s.type != input_source::kind::file) continue;
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
    if (cfg.semaphore_wait) cfg.command = {"true"};
    if (!cfg.jobs_given) cfg.jobs_spec = "1";
  }
  resolve_jobs(cfg);
  if (cfg.shard && (cfg.shard->empty() || *cfg.shard == "0")) cfg.shard.reset();  // Perl's false: GNU ignores it
  if (cfg.shard && !cfg.pipe) cfg.shard.reset();  // (GNU deals lines to jobs under --pipe only)
  if (cfg.shard) {
    const char* opt = cfg.shard_is_bin ? "--bin" : "--shard";
    if (cfg.pipe_part || cfg.tee || cfg.round_robin || cfg.cat || cfg.fifo || cfg.group_by)
      throw usage_error(std::string(opt) + " with --pipe-part, --tee, --round-robin, --cat, --fifo or --group-by is not implemented in sluice");
    if (cfg.sources.size() != 1 || cfg.sources[0].type != input_source::kind::standard_input)
      throw usage_error(std::string(opt) + " with input sources (::: / :::: / -a) is not implemented in sluice");
    // A job per job slot, with no argument: each reads the lines dealt to it.
    input_source slots;
    slots.type = input_source::kind::values;
    slots.values.assign(cfg.jobs, std::string());
    cfg.sources = {std::move(slots)};
  }
  if ((cfg.resume || cfg.resume_failed) && !cfg.joblog && cfg.results == results_kind::none)
    throw usage_error("--resume and --resume-failed require --joblog or --results");
  if (cfg.max_args == 0 && !cfg.max_replace_args) cfg.max_args = 1;
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
