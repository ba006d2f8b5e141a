// src/posix/fault.hpp -- the system-call seam of the platform layer (private to src/posix/).
//
// Every wrapper in src/posix/ whose system call can fail asks fault::take(call) first. Off (always, outside the
// fault-injection tests) that is one relaxed load of a global and a branch predicted not taken; armed, the call
// may fail with an injected errno instead of reaching the kernel, so that the tests can prove each caller
// retries (EINTR, EAGAIN), reports (EMFILE, ENOMEM) or falls back (ENOSYS, EPERM) as it must.
// The test API is in platform.hpp (inject_fault_for_testing).
#pragma once
#include <atomic>
#include <cerrno>

#include "posix/platform.hpp"

namespace sluice::detail::os::fault {

extern std::atomic<bool> armed;
int take_slow(sys_call call) noexcept;

// 0: make the call. Otherwise the errno the call must fail with.
inline int take(sys_call call) noexcept {
  if (!armed.load(std::memory_order_relaxed)) [[likely]]
    return 0;
  return take_slow(call);
}

// Runs f() unless a fault is due; then sets errno and returns -1 (as the system call would).
template <class F>
inline auto call_or_fail(sys_call call, F&& f) noexcept -> decltype(f()) {
  if (int e = take(call)) [[unlikely]] {
    errno = e;
    return static_cast<decltype(f())>(-1);
  }
  return f();
}

}  // namespace sluice::detail::os::fault
