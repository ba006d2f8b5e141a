// src/subprocess_reap.cpp -- waiting for, reaping and signalling a child (under one lock, so no signal reaches a recycled pid).
#include <cerrno>
#include <system_error>

#include "subprocess_state.hpp"

namespace sluice::detail {

process_state::~process_state() {
  if (pid > 0 && returncode.load() == still_running) {
    os::send_signal(pid, pidfd, SIGKILL);
    while (!reap()) os::wait_exit(pid, pidfd, nullptr);
  }
  os::close_fd(pidfd);
}

bool process_state::reap() {
  if (returncode.load(std::memory_order_acquire) != still_running) return true;
  std::lock_guard lock(reap_mutex);
  if (returncode.load(std::memory_order_relaxed) != still_running) return true;
  int rc;
  if (!os::try_reap(pid, rc)) return false;
  returncode.store(rc, std::memory_order_release);
  return true;
}

void process_state::signal(int sig) {
  if (returncode.load(std::memory_order_acquire) != still_running) return;
  std::lock_guard lock(reap_mutex);
  if (returncode.load(std::memory_order_relaxed) != still_running) return;
  int e = os::send_signal(pid, pidfd, sig);
  if (e != 0 && e != ESRCH) throw std::system_error(e, std::generic_category(), "sluice::process::send_signal");
}

int process_state::wait(std::optional<seconds> timeout) {
  auto deadline = deadline_from(timeout);
  if (!wait_until(deadline ? &*deadline : nullptr)) throw timeout_expired(args, *timeout);
  return returncode.load();
}

bool process_state::wait_until(const os::clock::time_point* deadline) {
  for (;;) {
    if (reap()) return true;
    if (!os::wait_exit(pid, pidfd, deadline)) return reap();
  }
}

}  // namespace sluice::detail
