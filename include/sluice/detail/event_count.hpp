// sluice/detail/event_count.hpp -- park-and-wake for lock-free structures (internal).
// A waiter registers, re-checks its condition, then sleeps on an epoch word; a notifier that changed
// the condition bumps the epoch and wakes only if somebody registered, so notifying costs one load
// when nobody waits. The condition's own atomics must be accessed seq_cst on both sides (Dekker).
#pragma once
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <thread>

#include "futex.hpp"

namespace sluice::detail {

inline constexpr std::size_t cache_line = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Brief bounded spinning before parking: a handful of pauses that grow, then a couple of yields
// (more threads than cores: the one we wait for may need our core), then the caller parks.
class backoff {
 public:
  // Returns false once the caller should stop spinning and park.
  bool pause() noexcept {
    if (step_ < spin_steps) {
      for (unsigned i = 0; i < (1u << step_); ++i) cpu_relax();
    } else if (step_ < spin_steps + yield_steps) {
      std::this_thread::yield();
    } else {
      return false;
    }
    ++step_;
    return true;
  }

 private:
  static constexpr unsigned spin_steps = 7;
  static constexpr unsigned yield_steps = 2;
  unsigned step_ = 0;
};

class alignas(cache_line) event_count {
 public:
  // Register as a waiter; re-check the condition after this, then wait(ticket) or cancel().
  std::uint32_t prepare() noexcept {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }
  void cancel() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }
  // Sleeps unless notified since prepare(); false when the deadline passed. Unregisters.
  bool wait(std::uint32_t ticket, const std::chrono::steady_clock::time_point* deadline) noexcept {
    bool ok = futex_wait(epoch_, ticket, deadline);
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return ok;
  }

  bool has_waiters() const noexcept { return waiters_.load(std::memory_order_seq_cst) != 0; }
  void notify_one() noexcept {
    if (!has_waiters()) return;
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(epoch_, 1);
  }
  void notify_all() noexcept {
    if (!has_waiters()) return;
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(epoch_, INT_MAX);
  }

 private:
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace sluice::detail
