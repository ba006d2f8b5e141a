// apps/sluice/options_jobs.cpp -- The job-control options: how many jobs run, when they start, how they end, and
// --semaphore.
#include <climits>
#include <cmath>
#include <string>

#include "config.hpp"
#include "option_values.hpp"
#include "options.hpp"

namespace sluice::app {

void add_job_options(option_table& t) {
  using c = config;
  using s = const std::string&;
  t.val({"jobs", "max-procs", "maxprocs"}, 'j', [](c& g, s v) { g.jobs_spec = v; g.jobs_given = true; });
  t.val({}, 'P', [](c& g, s v) { g.jobs_spec = v; g.jobs_given = true; });
  t.val({"process-slot-var", "processslotvar"}, '\0', [](c& g, s v) {
    if (v.empty() || v.find('=') != std::string::npos) throw usage_error("--process-slot-var needs a variable name");
    g.process_slot_var = v;
  });
  // How -j N% and the like count CPUs (GNU: threads by default); --use-cpus-instead-of-cores is an older
  // spelling of the cores one.
  t.flag({"use-cores-instead-of-threads", "usecoresinsteadofthreads"}, '\0', [](c& g) { g.cpu_unit = "cores"; });
  t.flag({"use-cpus-instead-of-cores", "usecpusinsteadofcores"}, '\0', [](c& g) { g.cpu_unit = "cores"; });
  t.flag({"use-sockets-instead-of-threads", "usesocketsinsteadofthreads"}, '\0', [](c& g) { g.cpu_unit = "sockets"; });
  t.val({"timeout"}, '\0', [](c& g, s v) {
    g.timeout_spec = v;
    if (!v.empty() && v.back() == '%') {
      g.timeout_percent = parse_number("--timeout", v.substr(0, v.size() - 1));
      if (g.timeout_percent <= 0) throw usage_error("--timeout: percentage must be positive: '" + v + "'");
    } else {
      g.timeout_seconds = parse_duration("--timeout", v);
    }
  });
  t.val({"retries"}, '\0', [](c& g, s v) {
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
  t.val({"halt-on-error", "haltonerror", "halt"}, '\0', [](c& g, s v) { g.halt = parse_halt(v); });
  t.val({"term-seq", "termseq"}, '\0', [](c& g, s v) { g.term_seq = parse_term_seq(v); });
  t.val({"tmpdir", "tempdir"}, '\0', [](c& g, s v) { g.tmpdir = v; });
  t.val({"delay"}, '\0', [](c& g, s v) {
    std::string d = v;
    if (d.size() >= 4 && d.compare(d.size() - 4, 4, "auto") == 0) {
      g.delay_auto = true;
      d.resize(d.size() - 4);
    }
    g.delay = d.empty() ? 0 : parse_duration("--delay", d);
  });
  t.val({"load"}, '\0', [](c& g, s v) {
    if (v == "0") g.max_load.reset();  // Perl's false: GNU checks no load at all
    else g.max_load = parse_load(v);
  });
  t.val({"memfree"}, '\0', [](c& g, s v) { g.memfree = static_cast<double>(parse_size("--memfree", v)); });
  // --semaphore (semaphore.cpp); any of its options makes a semaphore, as in GNU.
  t.flag({"semaphore"}, '\0', [](c& g) { g.semaphore = true; });
  t.val({"semaphore-name", "semaphorename", "id"}, '\0', [](c& g, s v) {
    g.semaphore = true;
    g.semaphore_name = v;
  });
  t.val({"semaphore-timeout", "semaphoretimeout", "st"}, '\0', [](c& g, s v) {
    g.semaphore = true;
    bool negative = !v.empty() && v[0] == '-';
    // GNU takes the whole seconds of it (int(multiply_time_units(...))).
    double t = std::trunc(parse_duration("--semaphoretimeout", negative ? v.substr(1) : v));
    g.semaphore_timeout = negative ? -t : t;
  });
  t.flag({"fg"}, '\0', [](c& g) { g.fg_given = g.semaphore_fg = true; });  // (a semaphore's unless --tmux)
  t.flag({"bg"}, '\0', [](c& g) { g.semaphore = true; g.semaphore_fg = false; g.semaphore_bg = true; });
  t.flag({"wait"}, '\0', [](c& g) { g.semaphore_wait = true; });  // the SQL master's --wait, else the semaphore's
  t.val({"limit"}, '\0', [](c& g, s v) { g.limit = v; });
  t.val({"memsuspend"}, '\0', [](c& g, s v) { g.memsuspend = static_cast<double>(parse_size("--memsuspend", v)); });
  t.flag({"noswap"}, '\0', [](c& g) { g.noswap = true; });
  t.flag({"open-tty"}, 'o', [](c& g) { g.open_tty = true; });
  t.flag({"tty"}, '\0', [](c& g) {  // as GNU: -j1 and -u by default; a -j or another output mode given wins
    g.open_tty = true;
    g.tty_defaults = true;
  });
  t.flag({"interactive"}, 'p', [](c& g) { g.interactive = true; });
}

}  // namespace sluice::app
