// sluice/detail/sync_policy.hpp -- what sluice::queue, the event count and the thread pool's core
// synchronise with (internal).
//
// The lock-free code takes its atomics, its locks, its threads and its parking (wait on a word, wake) from a
// policy type, so that a test can substitute a scheduler that runs the threads one at a time in a seeded
// order (tests/support/deterministic_schedule.hpp). real_sync is the default everywhere: std::atomic,
// std::mutex, std::thread and the platform's parking below, all passed straight through, so the code users
// get is the same as without the policy. A policy provides:
//   template <class T> using atomic;         std::atomic's interface (the members the library uses)
//   using mutex; using thread;               std::mutex's and std::thread's
//   park_wait(const atomic<uint32_t>&, expected, const steady_clock::time_point* deadline) -> bool
//   park_wake(const atomic<uint32_t>&, count)       the contract of detail::park_wait / park_wake below
//   yield()                                  a polling loop's "let someone else run"
//   spin(profile) -> spin_profile            the spin before parking (a scheduler may shorten it)
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "../export.hpp"
#include "spin.hpp"

namespace sluice::detail {

// Parking on a 32-bit word, provided by the platform layer (src/posix/, where it is the futex); declared here
// only because the queue and the event count are templates. park_wait sleeps while word == expected, until
// woken, the deadline passes (nullptr: never) or spuriously, and returns false only when the deadline had
// passed (a deadline before the clock's epoch has passed). park_wake wakes up to `count` threads parked on word.
SLUICE_EXPORT bool park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                             const std::chrono::steady_clock::time_point* deadline) noexcept;
SLUICE_EXPORT void park_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

struct real_sync {
  template <class T>
  using atomic = std::atomic<T>;
  using mutex = std::mutex;
  using thread = std::thread;

  static bool park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                        const std::chrono::steady_clock::time_point* deadline) noexcept {
    return detail::park_wait(word, expected, deadline);
  }
  static void park_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
    detail::park_wake(word, count);
  }
  static void yield() noexcept { std::this_thread::yield(); }
  static constexpr spin_profile spin(spin_profile p) noexcept { return p; }
};

}  // namespace sluice::detail
