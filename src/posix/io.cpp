// src/posix/io.cpp -- descriptors, poll, waiting for and signalling children.
#include "posix/platform.hpp"
#include "posix/fault.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sluice::detail::os {

int make_pipe(int fds[2]) noexcept {
  return fault::call_or_fail(sys_call::pipe, [&] { return ::pipe2(fds, O_CLOEXEC); });
}

int open_cloexec(const char* path, int flags, mode_t mode) noexcept {
  int fd;
  do fd = fault::call_or_fail(sys_call::open, [&] { return ::open(path, flags | O_CLOEXEC, mode); });
  while (fd < 0 && errno == EINTR);
  return fd;
}

int dup_cloexec(int fd) noexcept {
  return fault::call_or_fail(sys_call::dup, [&] { return ::fcntl(fd, F_DUPFD_CLOEXEC, 3); });
}

// close() is not retried on EINTR: on Linux the descriptor is gone either way, and a retry could close a
// descriptor another thread has just been given.
void close_fd(int fd) noexcept {
  if (fd >= 0) ::close(fd);
}

bool can_access(const char* path, int how) noexcept {
  static const int modes[] = {F_OK, R_OK, W_OK, X_OK};
  return ::access(path, modes[how & 3]) == 0;
}

int create_unnamed(const char* dir) noexcept {
  int fd = open_cloexec(dir, O_TMPFILE | O_RDWR, 0600);
  if (fd >= 0) return fd;
  // A file system without O_TMPFILE: a named file, unlinked at once.
  std::string path = std::string(dir) + "/.sluiceXXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(path.c_str());
  return fd;
}

long long file_size(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  return static_cast<long long>(st.st_size);
}

bool rewind_file(int fd) noexcept { return ::lseek(fd, 0, SEEK_SET) == 0; }

bool is_terminal(int fd) noexcept { return ::isatty(fd) != 0; }

bool terminal_name(int fd, char* buf, std::size_t n) noexcept { return ::ttyname_r(fd, buf, n) == 0; }

bool make_temp_dir(char* templ) noexcept { return ::mkdtemp(templ) != nullptr; }


void grow_pipe(int fd, int size) noexcept {
  (void)fault::call_or_fail(sys_call::set_pipe_size, [&] { return ::fcntl(fd, F_SETPIPE_SZ, size); });
}

int pipe_size(int fd) noexcept { return ::fcntl(fd, F_GETPIPE_SZ); }

long pipe_size_limit() noexcept {
  static const long limit = [] {
    long v = -1;
    if (std::FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "re")) {
      if (std::fscanf(f, "%ld", &v) != 1) v = -1;
      std::fclose(f);
    }
    return v;
  }();
  return limit;
}

ssize_t lend_to_pipe(int fd, const void* data, std::size_t n) noexcept {
  // SPLICE_F_NONBLOCK: vmsplice ignores the descriptor's O_NONBLOCK and would wait for room in the pipe.
  iovec iov{const_cast<void*>(data), n};
  ssize_t r;
  do r = fault::call_or_fail(sys_call::write, [&] { return ::vmsplice(fd, &iov, 1, SPLICE_F_NONBLOCK); });
  while (r < 0 && errno == EINTR);
  return r;
}

long long drain_pipe(int fd) noexcept {
  char path[40];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int rd = ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rd < 0) return -1;
  char sink[1 << 14];  // contents never looked at
  long long total = 0;
  for (;;) {
    ssize_t r = ::read(rd, sink, sizeof sink);
    if (r > 0) {
      total += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  ::close(rd);
  return total;
}

ssize_t read_some(int fd, void* buf, std::size_t n) noexcept {
  ssize_t r;
  do r = fault::call_or_fail(sys_call::read, [&] { return ::read(fd, buf, n); });
  while (r < 0 && errno == EINTR);
  return r;
}

ssize_t write_some(int fd, const void* buf, std::size_t n) noexcept {
  ssize_t r;
  do r = fault::call_or_fail(sys_call::write, [&] { return ::write(fd, buf, n); });
  while (r < 0 && errno == EINTR);
  return r;
}

ssize_t read_some_at(int fd, void* buf, std::size_t n, std::uint64_t offset) noexcept {
  ssize_t r;
  do r = ::pread(fd, buf, n, static_cast<off_t>(offset));
  while (r < 0 && errno == EINTR);
  return r;
}

int write_all_nosignal(int fd, const void* data, std::size_t n) noexcept {
  sigpipe_guard no_sigpipe;  // a gone reader is EPIPE here, not the death of the process
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Someone made the descriptor non-blocking (a shared terminal or pipe): wait for room, as a blocking one would.
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) return errno;
      continue;
    }
    return w < 0 ? errno : EIO;
  }
  return 0;
}

void set_nonblocking(int fd, bool on) noexcept {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return;
  int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (want != fl) ::fcntl(fd, F_SETFL, want);
}

bool prefault_writable(void* p, std::size_t n) noexcept {
#ifdef MADV_POPULATE_WRITE
  static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto lo = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  auto hi = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(page - 1);
  if (hi <= lo) return true;
  int r;
  do r = ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
  while (r < 0 && errno == EINTR);
  return r == 0;
#else
  (void)p;
  (void)n;
  return false;
#endif
}

all_signals_blocked::all_signals_blocked() noexcept {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old_);
}

all_signals_blocked::~all_signals_blocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

namespace {
thread_local int sigpipe_blocks_ours = 0;  // live guards of this thread that did the blocking
}  // namespace

bool sigpipe_blocked_by_us() noexcept { return sigpipe_blocks_ours > 0; }

sigpipe_guard::sigpipe_guard() noexcept {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &s, &old_);
  was_blocked_ = sigismember(&old_, SIGPIPE) == 1;
  if (!was_blocked_) ++sigpipe_blocks_ours;
  // Only a SIGPIPE that was blocked already can be pending now; that one belongs to someone else.
  if (was_blocked_) {
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
}

sigpipe_guard::~sigpipe_guard() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  if (!was_pending_) {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      while (sigtimedwait(&s, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
  }
  if (!was_blocked_) {
    pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
    --sigpipe_blocks_ours;
  }
}

namespace {
std::atomic<bool> pidfd_unavailable{false};
std::atomic<bool> pidfd_forced_off{false};

int remaining_ms(const clock::time_point* deadline) {
  if (!deadline) return -1;
  auto left = *deadline - clock::now();
  if (left <= clock::duration::zero()) return 0;
  // Round up so that a wait never ends before its deadline.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<long long>(ms, INT_MAX));
}
}  // namespace

int open_pidfd(pid_t pid) noexcept {
  if (pidfd_unavailable.load(std::memory_order_relaxed) || pidfd_forced_off.load(std::memory_order_relaxed))
    return -1;
  // pidfd_open's descriptor is close-on-exec by definition.
  long fd = fault::call_or_fail(sys_call::pidfd_open, [&] { return ::syscall(SYS_pidfd_open, pid, 0); });
  if (fd < 0) {
    // ENOSYS: kernel before 5.3; EPERM/EINVAL: seccomp filters or sandboxes. Fall back to polling for good.
    if (errno == ENOSYS || errno == EPERM || errno == EINVAL) pidfd_unavailable.store(true, std::memory_order_relaxed);
    return -1;
  }
  return static_cast<int>(fd);
}

bool pidfd_usable() noexcept {
  return !pidfd_unavailable.load(std::memory_order_relaxed) && !pidfd_forced_off.load(std::memory_order_relaxed);
}

std::atomic<bool> close_range_forced_off{false};

void force_fallbacks_for_testing(bool no_pidfd, bool no_close_range) noexcept {
  pidfd_forced_off.store(no_pidfd);
  close_range_forced_off.store(no_close_range);
}

bool close_range_disabled_for_testing() noexcept { return close_range_forced_off.load(std::memory_order_relaxed); }

void forget_fallbacks_for_testing() noexcept {
  pidfd_unavailable.store(false, std::memory_order_relaxed);
  forget_clone3_refusal();
}

int poll_until(poll_entry* entries, std::size_t n, const clock::time_point* deadline) noexcept {
  pollfd fds[8];
  if (n > 8) {
    errno = EINVAL;
    return -1;
  }
  for (;;) {
    for (std::size_t i = 0; i < n; ++i) fds[i] = pollfd{entries[i].fd, entries[i].events, 0};
    int ms = remaining_ms(deadline);
    int r = fault::call_or_fail(sys_call::poll, [&] { return ::poll(fds, n, ms); });
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && deadline && clock::now() < *deadline) continue;  // woke a little early: not a timeout yet
    for (std::size_t i = 0; i < n; ++i) entries[i].revents = r > 0 ? fds[i].revents : 0;
    return r;
  }
}

bool try_reap(pid_t pid, int& returncode) noexcept {
  int status = 0;
  pid_t r;
  do r = fault::call_or_fail(sys_call::wait, [&] { return ::waitpid(pid, &status, WNOHANG); });
  while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  if (r < 0) {
    // ECHILD: SIGCHLD is SIG_IGN (or SA_NOCLDWAIT) and the kernel reaped the child; the status is lost.
    returncode = 0;
    return true;
  }
  if (WIFEXITED(status))
    returncode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    returncode = -WTERMSIG(status);
  else
    return false;  // stopped/continued are not ends
  return true;
}

bool wait_exit(pid_t pid, int pidfd, const clock::time_point* deadline) noexcept {
  if (pidfd >= 0) {
    poll_entry e{pidfd, POLLIN, 0};
    int r = poll_until(&e, 1, deadline);
    if (r == 0) return false;
    // POLLNVAL or an error means the pidfd is unusable (closed by someone else): wait the fallback way
    // instead of reporting "ended" forever and letting the caller spin.
    if (r > 0 && !(e.revents & POLLNVAL)) return true;
  }
  if (!deadline) {
    // WNOWAIT leaves the zombie in place, so the pid cannot be recycled before try_reap runs under its lock.
    siginfo_t info;
    int r;
    do r = fault::call_or_fail(sys_call::wait, [&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT); });
    while (r < 0 && errno == EINTR);
    return true;
  }
  // Fallback with a deadline: look, then sleep with a growing backoff (1 ms .. 50 ms).
  auto nap = std::chrono::milliseconds(1);
  for (;;) {
    siginfo_t info{};
    int r;
    do r = fault::call_or_fail(sys_call::wait, [&] {
      return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    });
    while (r < 0 && errno == EINTR);
    if (r < 0 || info.si_pid != 0) return true;
    auto now = clock::now();
    if (now >= *deadline) return false;
    std::this_thread::sleep_for(std::min<clock::duration>(nap, *deadline - now));
    nap = std::min(nap * 2, std::chrono::milliseconds(50));
  }
}

bool child_has_ended(pid_t pid) noexcept {
  siginfo_t info{};
  int r;
  do r = fault::call_or_fail(sys_call::wait, [&] {
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  });
  while (r < 0 && errno == EINTR);
  return r < 0 || info.si_pid != 0;  // an error (ECHILD: reaped elsewhere, SIGCHLD ignored) ends the wait too
}

int send_signal(pid_t pid, int pidfd, int sig) noexcept {
  long r = pidfd >= 0 ? ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) : ::kill(pid, sig);
  return r == 0 ? 0 : errno;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::string();
}

}  // namespace sluice::detail::os
