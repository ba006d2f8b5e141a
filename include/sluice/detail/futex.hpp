// sluice/detail/futex.hpp -- the platform wait primitive under sluice::queue's blocking calls.
// Internal: a 32-bit word to sleep on, with an absolute steady_clock deadline (the clock is
// CLOCK_MONOTONIC on Linux, so the deadline is handed to the kernel unchanged and never drifts).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>

#include "../export.hpp"

namespace sluice::detail {

// Sleeps while *word == expected, until woken, the deadline passes (nullptr: never) or spuriously.
// Returns false only when the deadline had passed.
SLUICE_EXPORT bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::chrono::steady_clock::time_point* deadline) noexcept;

// Wakes up to `count` threads sleeping on word.
SLUICE_EXPORT void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace sluice::detail
