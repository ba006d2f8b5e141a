// sluice/detail/sync_policy.hpp -- what sluice::queue, the event count and the thread pool's core
// synchronise with (internal).
//
// The lock-free code takes its atomics, its locks, its threads and its parking (futex wait/wake) from a
// policy type, so that a test can substitute a scheduler that runs the threads one at a time in a seeded
// order (tests/support/deterministic_schedule.hpp). real_sync is the default everywhere: std::atomic,
// std::mutex, std::thread and the futex, all passed straight through, so the code users get is the same as
// without the policy. A policy provides:
//   template <class T> using atomic;         std::atomic's interface (the members the library uses)
//   using mutex; using thread;               std::mutex's and std::thread's
//   futex_wait(const atomic<uint32_t>&, expected, const steady_clock::time_point* deadline) -> bool
//   futex_wake(const atomic<uint32_t>&, count)      detail/futex.hpp's contract
//   yield()                                  a polling loop's "let someone else run"
//   spin(profile) -> spin_profile            the spin before parking (a scheduler may shorten it)
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "futex.hpp"
#include "spin.hpp"

namespace sluice::detail {

struct real_sync {
  template <class T>
  using atomic = std::atomic<T>;
  using mutex = std::mutex;
  using thread = std::thread;

  static bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                         const std::chrono::steady_clock::time_point* deadline) noexcept {
    return detail::futex_wait(word, expected, deadline);
  }
  static void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
    detail::futex_wake(word, count);
  }
  static void yield() noexcept { std::this_thread::yield(); }
  static constexpr spin_profile spin(spin_profile p) noexcept { return p; }
};

}  // namespace sluice::detail
