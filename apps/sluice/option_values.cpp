// apps/sluice/option_values.cpp -- the values of options, parsed as GNU parallel reads them: counts, numbers,
// durations (1d2h3m4.5s), sizes (1M, 1k), --term-seq, --halt, -j (N, N%, +N, -N, 0, a procfile), C escapes.
// Each bad value is a usage_error naming the option.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string_view>
#include <thread>


#include "option_values.hpp"

#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>
#include "signals.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

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

}  // namespace

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

double parse_size_number(const std::string& opt, const std::string& v) {
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
  return parse_number(opt, num) * mult;
}

std::size_t parse_size(const std::string& opt, const std::string& v) {
  double n = parse_size_number(opt, v);
  if (n < 1 || n > 1e15) throw usage_error(opt + ": size out of range: '" + v + "'");
  return static_cast<std::size_t>(n);
}

std::size_t cpu_threads() { return sluice::system::cpu_count().threads; }

// "cpus" is GNU's older name for cores.
std::size_t cpu_count(const std::string& what) {
  if (what == "threads") return std::max(1u, std::thread::hardware_concurrency());  // (no /proc/cpuinfo)
  auto c = sluice::system::cpu_count();
  return what == "sockets" ? c.sockets : what == "threads" ? c.threads : c.cores;
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
  else throw usage_error("Error: --halt must have 'never', 'soon', or 'now'.");  // GNU's words
  if (comma == std::string::npos) throw usage_error("Error: --halt " + when + " must be followed by ,success or ,fail.");
  std::string rest = v.substr(comma + 1);
  auto eq = rest.find('=');
  std::string why = rest.substr(0, eq);
  if (why == "fail") h.why = halt_why::fail;
  else if (why == "success") h.why = halt_why::success;
  else if (why == "done") h.why = halt_why::done;
  else throw usage_error("Error: --halt " + when + " must be followed by ,success or ,fail.");
  if (eq == std::string::npos) throw usage_error("Error: --halt " + when + "," + why + " must be followed by ,number or ,percent%.");
  std::string n = rest.substr(eq + 1);
  if (!n.empty() && n.back() == '%') {
    n.pop_back();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("Error: --halt " + when + "," + why + " must be followed by ,number or ,percent%.");
    h.percent = true;
    h.count = std::strtod(n.c_str(), nullptr) / 100.0;  // digits only: no exception, at worst HUGE_VAL
  } else {
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("Error: --halt " + when + "," + why + " must be followed by ,number or ,percent%.");
    h.count = std::strtod(n.c_str(), nullptr);
  }
  if (!std::isfinite(h.count)) throw usage_error("--halt: number too large in '" + raw + "'");
  return h;
}

void resolve_jobs(config& cfg, bool from_procfile) {
  const std::string& v = cfg.jobs_spec;
  // Counted only when the value is relative to it: counting cores reads /proc/cpuinfo, which costs 0.1 ms on
  // two CPUs and grows with them, on every start.
  auto cpus = [&] { return static_cast<double>(cpu_count(cfg.cpu_unit)); };
  double n = 0;
  auto bad = [&]() { return usage_error("-j: bad value '" + v + "' (use N, N%, +N, -N or 0)"); };
  if (v.empty()) throw bad();
  if (v.back() == '%') {
    auto d = jobs_number(std::string_view(v.data(), v.size() - 1), true);
    if (!d) throw bad();
    n = std::floor(std::min(*d, k_max_jobs * 100) * cpus() / 100.0);
  } else if (v[0] == '+' || v[0] == '-') {
    auto d = jobs_number(std::string_view(v.data() + 1, v.size() - 1));
    if (!d) throw bad();
    double k = std::floor(std::min(*d, k_max_jobs));
    n = v[0] == '+' ? cpus() + k : cpus() - k;
  } else if (auto d = jobs_number(v)) {
    n = std::floor(std::min(*d, k_max_jobs));
    if (n == 0) n = 2000;  // "as many as possible": bounded by processes here, by descriptors below
  } else if (!from_procfile && sluice::can_access(v, sluice::access_mode::read)) {
    // A procfile: read here, and again as each job ends (jobs_from_procfile).
    cfg.jobs_procfile = v;
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
  // A running job holds up to four descriptors (its pidfd, two output pipes, a spool file), beside the
  // runner's own: GNU's count too (ulimit -n 50 runs 8 jobs, 1024 runs 251).
  cfg.jobs_fd_capped = false;
  if (auto limit = sluice::system::open_file_limit()) {
    std::size_t cap = *limit > 22 ? static_cast<std::size_t>((*limit - 18) / 4) : 1;
    if (cfg.jobs > cap) {
      cfg.jobs = cap;
      cfg.jobs_fd_capped = true;
    }
  }
}

std::optional<std::size_t> jobs_from_procfile(const config& cfg) {
  if (cfg.jobs_procfile.empty()) return std::nullopt;
  config now;
  now.cpu_unit = cfg.cpu_unit;
  now.jobs_spec = cfg.jobs_procfile;
  try {
    resolve_jobs(now);
  } catch (const usage_error&) {
    return std::nullopt;  // gone or not a number for now: the last value holds
  }
  return now.jobs;
}

std::string unquote_printf(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (s[i] != '\\' || next == '\0') {
      out += s[i];
    } else if (next == 't' || next == 'n' || next == 'r') {
      out += next == 't' ? '\t' : next == 'n' ? '\n' : '\r';
      ++i;
    } else if (next >= '0' && next <= '9') {
      // Three digits if there are three, else one; read as octal (8 and 9 end the number, as in Perl).
      std::size_t digits = i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
                                   std::isdigit(static_cast<unsigned char>(s[i + 3]))
                               ? 3 : 1;
      unsigned v = 0;
      for (std::size_t k = 0; k < digits && s[i + 1 + k] >= '0' && s[i + 1 + k] <= '7'; ++k) v = v * 8 + unsigned(s[i + 1 + k] - '0');
      out += static_cast<char>(v & 0xff);
      i += digits;
    } else {
      out += s[i];
    }
  }
  return out;
}

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

// --load: N, N.M, N% (of the CPU threads), +N, -N, or a file holding one of those.
double parse_load(const std::string& v, int depth) {
  const double cpus = static_cast<double>(cpu_threads());
  auto digits = [](std::string_view d) { return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos; };
  std::string_view sv(v);
  if (sv.size() > 1 && sv[0] == '+' && digits(sv.substr(1))) return cpus + std::strtod(v.c_str() + 1, nullptr);
  if (sv.size() > 1 && sv[0] == '-' && digits(sv.substr(1))) return cpus - std::strtod(v.c_str() + 1, nullptr);
  if (sv.size() > 1 && sv.back() == '%' && digits(sv.substr(0, sv.size() - 1)))
    return cpus * std::strtod(v.c_str(), nullptr) / 100.0;
  auto dot = sv.find('.');
  if (digits(sv.substr(0, dot)) && (dot == std::string_view::npos || digits(sv.substr(dot + 1))))
    return std::strtod(v.c_str(), nullptr);
  if (depth == 0 && sluice::can_access(v, sluice::access_mode::read)) {
    std::ifstream in(v);
    std::string content;
    std::getline(in, content);
    while (!content.empty() && std::isspace(static_cast<unsigned char>(content.back()))) content.pop_back();
    return parse_load(content, 1);
  }
  throw usage_error("Parsing of --load failed: '" + v + "'");
}

}  // namespace sluice::app
