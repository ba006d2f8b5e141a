// --semaphore / sem: a counting semaphore of N slots shared by processes. Each slot is a file,
// $cache/semaphores/sluice-id-<name>/slot-<i>, held with an exclusive file_lock: the kernel releases a holder
// that dies, so no slot is ever lost to a crash and no stale-PID clean-up is needed. A waiter keeps every slot
// file open, tries them all, and otherwise sleeps on a close_watch of the directory until some holder closes
// its slot (unlocks or exits): no polling. ($cache is GNU's: $PARALLEL_HOME, else $XDG_CACHE_HOME/parallel if
// it exists, else ~/.parallel.)
#include "semaphore.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <unistd.h>


#include <sluice/file_lock.hpp>
#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

#include "runner.hpp"
#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr const char* k_fd_variable = "SLUICE_SEMAPHORE_FD";  // a background copy's inherited slot

std::string cache_dir() {
  auto is_dir = [](const char* p) {
    std::error_code ec;
    return p != nullptr && *p != '\0' && fs::is_directory(p, ec);
  };
  if (const char* ph = std::getenv("PARALLEL_HOME"); is_dir(ph)) return ph;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    std::string d = std::string(xdg) + "/parallel";
    if (is_dir(d.c_str())) return d;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.parallel";
}

// GNU's default name is what tty(1) prints for stdin; other characters than [-_a-zA-Z0-9] become their hex.
std::string semaphore_dir(const config& cfg) {
  std::string name;
  if (cfg.semaphore_name) {
    name = *cfg.semaphore_name;
  } else {
    name = sluice::terminal_name(0);
    if (name.empty()) name = "not a tty";
  }
  std::string id;
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      id += static_cast<char>(c);
    } else {
      id += hex[c >> 4];
      id += hex[c & 15];
    }
  }
  std::string base = cache_dir() + "/semaphores";
  std::string dir = base + "/sluice-id-" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !sluice::can_access(dir, sluice::access_mode::read) || !sluice::can_access(dir, sluice::access_mode::write) ||
      !sluice::can_access(dir, sluice::access_mode::execute))
    throw usage_error("Semaphoredir must be writable: '" + base + "'");
  return dir;
}

std::string slot_path(const std::string& dir, std::size_t i) { return dir + "/slot-" + std::to_string(i); }

std::optional<double> time_left(std::optional<clock_type::time_point> deadline) {
  if (!deadline) return std::nullopt;
  return std::chrono::duration<double>(*deadline - clock_type::now()).count();
}

void warn(const std::string& m) {
  std::string line = named("sluice: Warning: " + m + "\n");
  write_all(2, line.data(), line.size());
}

// Sleeps until a slot may have been freed: on the directory's close_watch, or (when inotify is out of
// instances) for a while that grows from 10 ms to 0.5 s. False once the deadline passed.
class release_waiter {
 public:
  explicit release_waiter(const std::string& dir) {
    try {
      watch_.emplace(dir);
    } catch (const std::system_error&) {
      // fs.inotify.max_user_instances reached: poll instead
    }
  }
  bool wait(std::optional<clock_type::time_point> deadline) {
    std::optional<double> left = time_left(deadline);
    if (left && *left <= 0) return false;
    if (watch_) {
      watch_->wait(left);
    } else {
      double nap = left ? std::min(*left, backoff_) : backoff_;
      std::this_thread::sleep_for(std::chrono::duration<double>(nap));
      backoff_ = std::min(backoff_ * 1.5, 0.5);
    }
    return !deadline || clock_type::now() < *deadline;
  }

 private:
  std::optional<close_watch> watch_;
  double backoff_ = 0.01;
};

// One of slots 0..n-1, or nullopt when the deadline passed first.
std::optional<file_lock> acquire(const std::string& dir, std::size_t n, std::optional<clock_type::time_point> deadline) {
  release_waiter waiter(dir);  // before the first try: a release after it is not missed
  std::vector<file_lock> slots;
  slots.reserve(n);
  for (std::size_t i = 0; i < n; ++i) slots.emplace_back(slot_path(dir, i));
  for (;;) {
    for (auto& s : slots)
      if (s.try_lock()) return std::move(s);
    if (!waiter.wait(deadline)) {
      for (auto& s : slots)  // a last look
        if (s.try_lock()) return std::move(s);
      return std::nullopt;
    }
  }
}

// --semaphoretimeout N > 0: the lowest slot free at all, even past -j, so that --wait still counts the job.
file_lock steal(const std::string& dir, std::size_t n) {
  for (std::size_t i = n;; ++i) {
    file_lock s(slot_path(dir, i));
    if (s.try_lock()) return s;
  }
}

// --wait: until fewer than n slot files are held.
void wait_below(const std::string& dir, std::size_t n) {
  release_waiter waiter(dir);
  std::map<std::string, file_lock> seen;  // kept open: closing them would wake the other waiters for nothing
  for (;;) {
    std::size_t held = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string p = e.path().string();
      if (e.path().filename().string().rfind("slot-", 0) != 0) continue;
      auto it = seen.find(p);
      if (it == seen.end()) it = seen.emplace(p, file_lock(p)).first;
      if (it->second.try_lock()) it->second.unlock();
      else ++held;
    }
    if (held < n) return;
    waiter.wait(std::nullopt);
  }
}

}  // namespace

int run_semaphore(config& cfg, const std::vector<std::string>& args) {
  std::optional<file_lock> slot;
  if (const char* inherited = std::getenv(k_fd_variable); inherited != nullptr) {
    // The background copy: its parent took the slot and handed it down.
    slot = file_lock::adopt(std::atoi(inherited));
    ::unsetenv(k_fd_variable);
    cfg.semaphore_fg = true;
  } else {
    const std::string dir = semaphore_dir(cfg);
    if (cfg.semaphore_wait) {
      wait_below(dir, cfg.jobs);
      return 0;
    }
    std::optional<clock_type::time_point> deadline;
    if (cfg.semaphore_timeout != 0)
      deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(std::abs(cfg.semaphore_timeout)));
    slot = acquire(dir, cfg.jobs, deadline);
    if (!slot) {
      if (cfg.semaphore_timeout < 0) {
        warn("Semaphore timed out. Exiting.");
        return 1;
      }
      warn("Semaphore timed out. Stealing the semaphore.");
      slot = steal(dir, cfg.jobs);
    }
    if (!cfg.semaphore_fg) {
      // --bg: a copy of sluice runs the command and holds the slot until it ends; we return at once. The shell
      // puts it in the background and ends, keeping our stdin for it (an asynchronous list's would be
      // /dev/null).
      auto me = sluice::system::process(0);
      fs::path self = me ? me->executable : fs::path();
      if (self.empty()) throw std::runtime_error("cannot find the sluice binary");
      int fd = slot->native_handle();
      int saved_in = fd == 3 ? 4 : 3;
      std::string s = std::to_string(saved_in);
      // bash when there is one: a POSIX sh such as dash drops the exported bash functions (BASH_FUNC_f%%) from
      // the environment, and the command may call one.
      std::string sh = "/bin/sh";
      for (const char* b : {"/bin/bash", "/usr/bin/bash"})
        if (::access(b, X_OK) == 0) {
          sh = b;
          break;
        }
      std::vector<std::string> argv{sh, "-c", "exec " + s + "<&0; \"$0\" \"$@\" <&" + s + " " + s + "<&- &",
                                    self.string(), "--semaphore"};
      argv.insert(argv.end(), args.begin(), args.end());
      sluice::options opts;
      opts.pass_fds = {fd};
      sluice::environment env = sluice::current_environment();
      env[k_fd_variable] = std::to_string(fd);
      opts.env = std::move(env);
      sluice::process launcher(std::move(argv), std::move(opts));
      int rc = launcher.wait();
      return rc == 0 ? 0 : 255;
    }
  }
  // One job, no argument: {} is replaced by nothing; stdin is the job's.
  cfg.sources.clear();
  input_source one;
  one.type = input_source::kind::values;
  one.values = {""};
  cfg.sources.push_back(std::move(one));
  cfg.max_args = 0;
  cfg.max_replace_args = true;
  cfg.jobs = 1;
  return run_jobs(cfg);
}

}  // namespace sluice::app
