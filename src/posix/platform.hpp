// src/posix/platform.hpp -- sluice's one internal interface to the operating system (Linux).
// Everything that spawns, waits, polls or juggles descriptors lives behind these functions, so the portable
// part of the library (src/subprocess*.cpp) never touches a raw syscall. Not installed.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <csignal>
#include <cstddef>
#include <string>
#include <sys/types.h>

#include <sluice/export.hpp>  // the test hooks below are called by the test programs

namespace sluice::detail::os {

using clock = std::chrono::steady_clock;

// What the child must do between clone and exec. All pointers stay owned by the caller; they are read in the
// child, which shares the parent's memory until it execs.
struct spawn_request {
  const char* const* exec_paths = nullptr;  // candidates, tried in order (PATH search done by the caller)
  std::size_t n_exec_paths = 0;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int std_fds[3] = {-1, -1, -1};  // descriptor to become 0/1/2 in the child; -1 leaves it as inherited
  const char* cwd = nullptr;
  bool close_fds = true;
  const int* pass_fds = nullptr;  // sorted ascending, no duplicates
  std::size_t n_pass_fds = 0;
  bool restore_signals = true;
  bool new_session = false;
  pid_t process_group = -1;  // -1: leave alone
  int parent_death_signal = 0;  // 0: none; else prctl(PR_SET_PDEATHSIG), and the signal at once if the parent is gone
  int umask = -1;            // -1: leave alone
  bool set_niceness = false;  // setpriority(PRIO_PROCESS, 0, niceness); its failure is ignored
  int niceness = 0;
  bool walk_proc_fds = false;  // close_fds by walking /proc/self/fd even when close_range works (tests)
};

// Which step failed in the child.
enum class spawn_step { none, exec, cwd, dup, setsid, setpgid, close_fds, pdeathsig, other };

struct spawn_result {
  pid_t pid = -1;
  int pidfd = -1;  // -1 when the kernel offers none; wait then falls back to waitpid(WNOHANG) polling
  int error = 0;   // errno of the failed step (child reaped already)
  spawn_step step = spawn_step::none;
};

spawn_result spawn(const spawn_request& req) noexcept;
int open_pidfd(pid_t pid) noexcept;
// Whether open_pidfd may give a descriptor (not known missing, not switched off by a test): spawn() then asks
// clone3 for the pidfd instead, in the same call.
bool pidfd_usable() noexcept;
void forget_clone3_refusal() noexcept;  // spawn.cpp: clone3 is tried again (forget_fallbacks_for_testing)

// Test hooks: behave as on a kernel without pidfd_open / close_range, so the fallbacks can be exercised.
SLUICE_EXPORT void force_fallbacks_for_testing(bool no_pidfd, bool no_close_range) noexcept;
SLUICE_EXPORT bool close_range_disabled_for_testing() noexcept;

// ---- fault injection (tests only; posix/fault.hpp is the seam every wrapper below goes through) ----------------
// The system calls of this layer that can fail. `spawn` is the clone of spawn(); `close_range` is the child's
// close_range (the fault is decided in the parent and acted out by the child); `wait` covers waitid and waitpid;
// `set_pipe_size` is grow_pipe's F_SETPIPE_SZ (refused above /proc/sys/fs/pipe-max-size or the user's pipe quota);
// `clone3` is spawn()'s first try on x86-64: an injected fault acts as a kernel or sandbox that refuses it
// (remembered until the fallbacks are forgotten), and spawn() starts the child with clone instead.
enum class sys_call : unsigned char {
  pipe, open, dup, read, write, poll, spawn, pidfd_open, close_range, wait,
  epoll_create, epoll_wait, timerfd_create, eventfd_create, set_pipe_size, clone3,
  count_
};
// After `skip` calls that succeed, the next `times` calls of `call` fail with errno `error` without reaching the
// kernel. Thread-safe; the faults of all calls are independent.
SLUICE_EXPORT void inject_fault_for_testing(sys_call call, int error, int times = 1, int skip = 0) noexcept;
SLUICE_EXPORT int faults_taken_for_testing(sys_call call) noexcept;  // injected so far (since the last clear)
// Disarms every fault and forgets what the fallbacks learned (a pidfd_open refused for good), so the next
// test starts on the real kernel's behaviour again.
SLUICE_EXPORT void clear_faults_for_testing() noexcept;
SLUICE_EXPORT void forget_fallbacks_for_testing() noexcept;

// Descriptors (all close-on-exec). Return -1 and set errno on failure.
int make_pipe(int fds[2]) noexcept;
int open_cloexec(const char* path, int flags, mode_t mode = 0666) noexcept;
int dup_cloexec(int fd) noexcept;
void close_fd(int fd) noexcept;
void grow_pipe(int fd, int size) noexcept;  // best effort F_SETPIPE_SZ: a refusal leaves the pipe as it was
int pipe_size(int fd) noexcept;  // F_GETPIPE_SZ: the pipe's capacity in bytes, -1 when fd is not a pipe
long pipe_size_limit() noexcept;  // /proc/sys/fs/pipe-max-size (the most an unprivileged process may set), or -1

// Lends [data, data+n) to a pipe (vmsplice): the pipe then refers to those pages instead of holding a copy, so the
// reader copies straight out of the caller's memory -- which must stay unchanged until the reader has read them.
// Retried on EINTR; -1 and errno (EAGAIN on a full non-blocking pipe, EPIPE without readers) on failure. Goes
// through the fault seam as a `write`.
ssize_t lend_to_pipe(int fd, const void* data, std::size_t n) noexcept;
// Reads and discards whatever a pipe holds now, through a read end of its own opened from the write end `fd`
// (/proc/self/fd); the number of bytes taken, or -1 when no read end can be opened (no /proc).
long long drain_pipe(int fd) noexcept;

// Reads and writes retried on EINTR; -1 and errno on failure.
ssize_t read_some(int fd, void* buf, std::size_t n) noexcept;
ssize_t write_some(int fd, const void* buf, std::size_t n) noexcept;
void set_nonblocking(int fd, bool on) noexcept;
// One read_some appended to dst, into room the caller has reserved (capacity() - size() >= want, else EINVAL):
// dst grows by what was read. Where C++23's resize_and_overwrite exists the room is not zero-filled first
// (posix/read_append.cpp). -1 and errno on failure, dst unchanged.
ssize_t read_append(int fd, std::string& dst, std::size_t want) noexcept;
// pread, retried on EINTR; -1 and errno on failure.
ssize_t read_some_at(int fd, void* buf, std::size_t n, std::uint64_t offset) noexcept;
// Writes all of data, retrying short writes and EINTR and polling while EAGAIN; SIGPIPE is blocked in the calling
// thread meanwhile and one it caused is consumed, so a gone reader is EPIPE, never a signal. 0 or errno.
int write_all_nosignal(int fd, const void* data, std::size_t n) noexcept;
// Files: access(2) with R_OK/W_OK/X_OK/F_OK chosen by `how` (0 exists, 1 read, 2 write, 3 execute); an unnamed
// temporary file in dir (O_TMPFILE, else mkostemp + unlink); the size by fstat. -1 and errno on failure.
bool can_access(const char* path, int how) noexcept;
int create_unnamed(const char* dir) noexcept;
long long file_size(int fd) noexcept;
bool rewind_file(int fd) noexcept;  // lseek to 0
bool is_terminal(int fd) noexcept;
bool terminal_name(int fd, char* buf, std::size_t n) noexcept;  // false when not a terminal
bool make_temp_dir(char* templ) noexcept;                       // templ ends in XXXXXX, rewritten in place

// Maps the whole pages inside [p, p+n) writable now, in one call, instead of one page fault per page as they are
// first written (MADV_POPULATE_WRITE). Contents are unchanged. False when the kernel cannot (before Linux 5.14).
bool prefault_writable(void* p, std::size_t n) noexcept;

// Blocks every signal in the calling thread for its lifetime, so that a helper thread started meanwhile inherits
// a full mask and never takes a signal meant for the application's own threads.
class all_signals_blocked {
 public:
  all_signals_blocked() noexcept;
  ~all_signals_blocked();
  all_signals_blocked(const all_signals_blocked&) = delete;
  all_signals_blocked& operator=(const all_signals_blocked&) = delete;

 private:
  sigset_t old_;
};

// Blocks SIGPIPE in the calling thread for its lifetime; a SIGPIPE raised meanwhile by our own writes is
// consumed before the old mask returns, so the parent never dies of it.
// A child spawned meanwhile from this thread must not inherit that block (see sigpipe_blocked_by_us).
class sigpipe_guard {
 public:
  sigpipe_guard() noexcept;
  ~sigpipe_guard();
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
  bool was_blocked_ = false;
};

// True while a sigpipe_guard of the calling thread holds SIGPIPE blocked that was not blocked before it:
// that block is ours, and spawn leaves it out of the child's mask.
bool sigpipe_blocked_by_us() noexcept;

// Waiting for a child. `pidfd` may be -1 (fallback polling).
// try_reap: non-blocking; true with the decoded returncode when the child has ended and was reaped
// (returncode 0 when SIGCHLD is ignored and the kernel reaped it for us).
bool try_reap(pid_t pid, int& returncode) noexcept;
// Blocks until the child is reapable or the deadline passes; returns false on timeout. Does not reap.
bool wait_exit(pid_t pid, int pidfd, const clock::time_point* deadline) noexcept;
// Non-blocking: true once the child has ended (it stays reapable: waitid with WNOWAIT).
bool child_has_ended(pid_t pid) noexcept;
// Signal delivery that cannot hit a recycled pid when a pidfd exists. Returns 0 or an errno.
int send_signal(pid_t pid, int pidfd, int sig) noexcept;

// poll() on up to N descriptors with an absolute deadline (nullptr: none), EINTR retried with the remaining
// time. Returns the number ready, 0 on timeout, -1 on error.
struct poll_entry {
  int fd;
  short events;
  short revents;
};
int poll_until(poll_entry* entries, std::size_t n, const clock::time_point* deadline) noexcept;

std::string signal_name(int sig);  // "SIGTERM", or "" when unknown

// Waiting on a 32-bit word: the futex (FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline, so a wait
// woken early and retried keeps its deadline). futex_wait sleeps while word == expected, until woken, the
// deadline passes (nullptr: never) or spuriously; false only when the deadline had passed. futex_wake wakes up
// to `count` sleepers. The public parking entry points (detail/sync_policy.hpp) are these, under other names.
bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const clock::time_point* deadline) noexcept;
void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace sluice::detail::os

// ---- the event loop's descriptors (sluice::aio) -------------------------------------------------------------
namespace sluice::detail::os {

// epoll: all functions return 0 (or a count) on success, -1 and errno on failure.
enum : unsigned { ev_in = 1, ev_out = 2, ev_hup = 4, ev_err = 8 };
struct ready_event {
  void* data;
  unsigned events;  // ev_* bits
};
int epoll_open() noexcept;
int epoll_watch(int ep, int fd, void* data) noexcept;  // edge-triggered, in + out + hang-up
int epoll_watch_in(int ep, int fd, void* data) noexcept;  // level-triggered, in only (timerfd, eventfd, pidfd)
int epoll_forget(int ep, int fd) noexcept;
int epoll_next(int ep, ready_event* out, int max, bool block) noexcept;  // EINTR gives 0

int timerfd_open() noexcept;
void timerfd_arm(int fd, clock::time_point when) noexcept;  // absolute CLOCK_MONOTONIC (steady_clock's); max() disarms
void timerfd_drain(int fd) noexcept;
int eventfd_open() noexcept;
void eventfd_post(int fd) noexcept;  // async-signal-safe
void eventfd_drain(int fd) noexcept;
bool is_regular_file(int fd) noexcept;

// A real handler for signum that sets bit signum in *pending and posts wake_fd (async-signal-safe). Returns 0
// or an errno; the previous disposition is saved and put back by restore_signal.
int forward_signal(int signum, int wake_fd, std::atomic<std::uint64_t>* pending) noexcept;
void restore_signal(int signum) noexcept;
int send_group_signal(pid_t pgid, int sig) noexcept;  // 0 or errno

}  // namespace sluice::detail::os
