// The futex: the platform's wait on a 32-bit word (posix/platform.hpp), and the exported parking entry points
// that the header-only queue and event count call (detail/sync_policy.hpp). Linux only: FUTEX_WAIT_BITSET
// takes an absolute CLOCK_MONOTONIC deadline, so a wait that is woken early and retried keeps its deadline.
#include "posix/platform.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "sluice/detail/sync_policy.hpp"

namespace sluice::detail {
namespace {

// std::atomic<uint32_t> is a plain 32-bit word on every platform we build for; the kernel needs its address.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

auto* word_address(const std::atomic<std::uint32_t>& word) noexcept {
  return reinterpret_cast<std::uint32_t*>(const_cast<std::atomic<std::uint32_t>*>(&word));
}

}  // namespace

namespace os {

bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const clock::time_point* deadline) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline != nullptr) {
    auto since_epoch = deadline->time_since_epoch();
    if (since_epoch.count() < 0) return false;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
    tsp = &ts;
  }
  long rc = syscall(SYS_futex, word_address(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
                    nullptr, FUTEX_BITSET_MATCH_ANY);
  // EAGAIN (the word already changed) and EINTR are ordinary wake-ups: the caller re-checks its condition.
  return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
  syscall(SYS_futex, word_address(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, nullptr, nullptr, 0);
}

}  // namespace os

// Defined in this file, next to the futex, so that the compiler folds the futex in: a parked queue caller
// pays one out-of-line call, as before the platform layer took the futex over.
bool park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
               const std::chrono::steady_clock::time_point* deadline) noexcept {
  return os::futex_wait(word, expected, deadline);
}

void park_wake(const std::atomic<std::uint32_t>& word, int count) noexcept { os::futex_wake(word, count); }

}  // namespace sluice::detail
