// The figures of sluice/system.hpp, read from Linux's /proc and a few system calls.
#include <sluice/system.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <string_view>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <sys/resource.h>

namespace sluice::system {
namespace {

// A /proc file whole: they report size 0, so read until the end. Empty when it cannot be opened.
std::optional<std::string> slurp(const char* path) {
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

// Calls fn(line) for each line of text.
template <class Fn>
void each_line(std::string_view text, Fn fn) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> number(std::string_view s) {
  s = trim(s);
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  return v;
}

// "key: value ..." lines (/proc/meminfo) and "key value" lines (/proc/vmstat): the number after key.
std::optional<std::uint64_t> field(std::string_view text, std::string_view key) {
  std::optional<std::uint64_t> found;
  each_line(text, [&](std::string_view line) {
    if (found || line.substr(0, key.size()) != key) return;
    line.remove_prefix(key.size());
    if (!line.empty() && line.front() == ':') line.remove_prefix(1);
    else if (line.empty() || (line.front() != ' ' && line.front() != '\t')) return;
    found = number(line);  // "123 kB": the digits, up to the unit
  });
  return found;
}

}  // namespace

int pid() noexcept { return static_cast<int>(::getpid()); }

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) throw std::system_error(errno, std::generic_category(), "gethostname");
  return buf;
}

cpu_counts cpu_count() {
  cpu_counts c;
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> sockets, cores;
  if (auto text = slurp("/proc/cpuinfo")) {
    std::string socket;
    each_line(*text, [&](std::string_view line) {
      auto colon = line.find(':');
      if (colon == std::string_view::npos) return;
      std::string_view key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
      if (key == "physical id") {
        socket = value;
        if (std::find(sockets.begin(), sockets.end(), socket) == sockets.end()) sockets.push_back(socket);
      } else if (key == "core id") {
        std::string core = socket + "/" + std::string(value);
        if (std::find(cores.begin(), cores.end(), core) == cores.end()) cores.push_back(core);
      }
    });
  }
  c.cores = cores.empty() ? c.threads : cores.size();
  c.sockets = sockets.empty() ? 1 : sockets.size();
  return c;
}

std::optional<load_average> load() {
  auto text = slurp("/proc/loadavg");
  if (!text) return std::nullopt;
  load_average l;
  unsigned long runnable = 0, tasks = 0;
  if (std::sscanf(text->c_str(), "%lf %lf %lf %lu/%lu", &l.one, &l.five, &l.fifteen, &runnable, &tasks) != 5)
    return std::nullopt;
  l.runnable = runnable;
  l.tasks = tasks;
  return l;
}

std::optional<std::uint64_t> available_memory() {
  auto text = slurp("/proc/meminfo");
  if (!text) return std::nullopt;
  std::uint64_t kib = 0;
  bool any = false;
  for (std::string_view key : {"MemFree", "Buffers", "Cached", "SwapCached"}) {
    if (auto v = field(*text, key)) {
      kib += *v;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return kib * 1024;
}

std::optional<swap_counters> swap_activity() {
  auto text = slurp("/proc/vmstat");
  if (!text) return std::nullopt;
  auto in = field(*text, "pswpin"), out = field(*text, "pswpout");
  if (!in || !out) return std::nullopt;
  return swap_counters{*in, *out};
}

std::vector<disk_counter> disk_activity() {
  // /proc/diskstats: major minor name, then 11 or more counters; the 10th counter is the time with I/O in
  // flight. Whole disks only: a partition's time is already its disk's.
  std::vector<disk_counter> disks;
  auto text = slurp("/proc/diskstats");
  if (!text) return disks;
  each_line(*text, [&](std::string_view line) {
    unsigned major = 0, minor = 0;
    char name[64] = {};
    unsigned long long c[10] = {};
    std::string copy(line);
    int got = std::sscanf(copy.c_str(), "%u %u %63s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &major,
                          &minor, name, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9]);
    if (got != 13) return;
    std::string sys = std::string("/sys/block/") + name;
    std::error_code ec;
    if (!std::filesystem::exists(sys, ec)) return;  // a partition: its disk is listed too
    disks.push_back({name, c[9]});
  });
  return disks;
}

std::optional<std::size_t> open_file_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<std::size_t>(rl.rlim_cur);
}

argument_limits exec_limits() noexcept {
  // Linux caps one argument at MAX_ARG_STRLEN, 32 pages; ARG_MAX is the whole, a quarter of the stack limit.
  long page = ::sysconf(_SC_PAGESIZE);
  long total = ::sysconf(_SC_ARG_MAX);
  argument_limits l;
  l.per_argument = static_cast<std::size_t>(page > 0 ? page : 4096) * 32;
  l.total = total > 0 ? static_cast<std::size_t>(total) : l.per_argument;
  return l;
}

std::optional<process_info> process(int id) {
  std::string dir = id == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(id);
  auto stat = slurp((dir + "/stat").c_str());
  if (!stat) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse from the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos || close + 4 >= stat->size()) return std::nullopt;
  process_info p;
  p.pid = id == 0 ? pid() : id;
  std::string_view rest(*stat);
  rest.remove_prefix(close + 4);
  auto parent = number(rest.substr(0, rest.find(' ')));
  if (!parent) return std::nullopt;
  p.parent = static_cast<int>(*parent);
  std::error_code ec;
  p.executable = std::filesystem::read_symlink(dir + "/exe", ec);
  if (ec) p.executable.clear();
  return p;
}

struct signal_dispositions::table {
  struct sigaction action[NSIG];
};

signal_dispositions::signal_dispositions(std::unique_ptr<table> t) : saved_(std::move(t)) {}
signal_dispositions::signal_dispositions(signal_dispositions&&) noexcept = default;
signal_dispositions& signal_dispositions::operator=(signal_dispositions&&) noexcept = default;
signal_dispositions::~signal_dispositions() = default;

namespace {
bool catchable(int sig) { return sig != SIGKILL && sig != SIGSTOP; }

// glibc sets SA_RESTORER (its return trampoline) on every sigaction it passes on, so that flag says nothing
// about what the caller set.
constexpr int k_restorer_flag = 0x04000000;

bool same_disposition(const struct sigaction& a, const struct sigaction& b) {
  if ((a.sa_flags & ~k_restorer_flag) != (b.sa_flags & ~k_restorer_flag)) return false;
  if ((a.sa_flags & SA_SIGINFO) ? a.sa_sigaction != b.sa_sigaction : a.sa_handler != b.sa_handler) return false;
  // The mask applies only while a handler runs; for SIG_DFL and SIG_IGN it is noise (a thread sanitizer, for one,
  // reports a full mask after it installs an empty one).
  if (!(a.sa_flags & SA_SIGINFO) && (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN)) return true;
  for (int s = 1; s < NSIG; ++s)
    if (sigismember(&a.sa_mask, s) != sigismember(&b.sa_mask, s)) return false;
  return true;
}
}  // namespace

signal_dispositions signal_dispositions::save() {
  auto t = std::make_unique<table>();
  std::memset(t->action, 0, sizeof t->action);
  // Numbers the kernel does not know (a gap in the real-time range) stay zeroed: SIG_DFL, never restored.
  for (int s = 1; s < NSIG; ++s)
    if (catchable(s)) ::sigaction(s, nullptr, &t->action[s]);
  return signal_dispositions(std::move(t));
}

std::size_t signal_dispositions::restore() const {
  std::size_t put_back = 0;
  int refused = 0;
  for (int s = 1; s < NSIG; ++s) {
    struct sigaction now {};
    if (!catchable(s) || ::sigaction(s, nullptr, &now) != 0) continue;
    if (same_disposition(now, saved_->action[s])) continue;
    if (::sigaction(s, &saved_->action[s], nullptr) == 0)
      ++put_back;
    else
      refused = errno;
  }
  if (refused != 0) throw std::system_error(refused, std::generic_category(), "sigaction");
  return put_back;
}

}  // namespace sluice::system
