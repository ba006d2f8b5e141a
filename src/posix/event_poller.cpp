// src/posix/event_poller.cpp -- the descriptors behind sluice::aio's loop: epoll, timerfd, eventfd, and the
// signal handler that forwards a signal to a loop.
#include "posix/platform.hpp"
#include "posix/fault.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace sluice::detail::os {

int epoll_open() noexcept {
  return fault::call_or_fail(sys_call::epoll_create, [] { return ::epoll_create1(EPOLL_CLOEXEC); });
}

int epoll_watch(int ep, int fd, void* data) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = data;
  return ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int epoll_watch_in(int ep, int fd, void* data) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = data;
  return ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int epoll_forget(int ep, int fd) noexcept { return ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr); }

int epoll_next(int ep, ready_event* out, int max, bool block) noexcept {
  constexpr int batch = 256;
  epoll_event evs[batch];
  if (max > batch) max = batch;
  int n = fault::call_or_fail(sys_call::epoll_wait, [&] { return ::epoll_wait(ep, evs, max, block ? -1 : 0); });
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    unsigned e = 0;
    if (evs[i].events & EPOLLIN) e |= ev_in;
    if (evs[i].events & EPOLLOUT) e |= ev_out;
    if (evs[i].events & (EPOLLHUP | EPOLLRDHUP)) e |= ev_hup;
    if (evs[i].events & EPOLLERR) e |= ev_err;
    out[i] = {evs[i].data.ptr, e};
  }
  return n;
}

int timerfd_open() noexcept {
  return fault::call_or_fail(sys_call::timerfd_create,
                             [] { return ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK); });
}

void timerfd_arm(int fd, clock::time_point when) noexcept {
  itimerspec spec{};
  if (when != clock::time_point::max()) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    if (ns <= 0) ns = 1;  // zero would disarm
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  // steady_clock is CLOCK_MONOTONIC on Linux, so its time points are the timer's absolute times.
  ::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void timerfd_drain(int fd) noexcept {
  std::uint64_t n;
  while (fault::call_or_fail(sys_call::read, [&] { return ::read(fd, &n, sizeof n); }) < 0 && errno == EINTR) {
  }
}

int eventfd_open() noexcept {
  return fault::call_or_fail(sys_call::eventfd_create, [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
}

// Not through the fault seam: it runs in signal handlers, and the armed seam takes a lock.
void eventfd_post(int fd) noexcept {
  int saved = errno;
  std::uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
  errno = saved;
}

void eventfd_drain(int fd) noexcept {
  std::uint64_t n;
  while (fault::call_or_fail(sys_call::read, [&] { return ::read(fd, &n, sizeof n); }) < 0 && errno == EINTR) {
  }
}

bool is_regular_file(int fd) noexcept {
  struct stat st;
  return ::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

namespace {
// Per signal: where the handler forwards it. Read by the handler, so only lock-free atomics.
struct forward_target {
  std::atomic<int> wake_fd{-1};
  std::atomic<std::atomic<std::uint64_t>*> pending{nullptr};
  struct sigaction previous {};
  bool installed = false;
};
forward_target targets[64];

extern "C" void forwarding_handler(int signum) {
  if (signum <= 0 || signum >= 64) return;
  auto* pending = targets[signum].pending.load(std::memory_order_acquire);
  int fd = targets[signum].wake_fd.load(std::memory_order_acquire);
  if (pending) pending->fetch_or(std::uint64_t{1} << signum, std::memory_order_release);
  if (fd >= 0) eventfd_post(fd);
}
}  // namespace

int forward_signal(int signum, int wake_fd, std::atomic<std::uint64_t>* pending) noexcept {
  if (signum <= 0 || signum >= 64) return EINVAL;
  forward_target& t = targets[signum];
  t.pending.store(pending, std::memory_order_release);
  t.wake_fd.store(wake_fd, std::memory_order_release);
  struct sigaction sa {};
  sa.sa_handler = forwarding_handler;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  struct sigaction old {};
  if (::sigaction(signum, &sa, &old) != 0) return errno;
  if (!t.installed) t.previous = old;
  t.installed = true;
  return 0;
}

void restore_signal(int signum) noexcept {
  if (signum <= 0 || signum >= 64) return;
  forward_target& t = targets[signum];
  if (!t.installed) return;
  ::sigaction(signum, &t.previous, nullptr);
  t.installed = false;
  t.wake_fd.store(-1, std::memory_order_release);
  t.pending.store(nullptr, std::memory_order_release);
}

int send_group_signal(pid_t pgid, int sig) noexcept {
  if (pgid <= 1) return EINVAL;  // never the caller's own group or every process
  return ::kill(-pgid, sig) == 0 ? 0 : errno;
}

}  // namespace sluice::detail::os
