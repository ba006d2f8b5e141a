// sluice/detail/event_count.hpp -- park-and-wake for lock-free structures (internal).
// A waiter registers, re-checks its condition, then sleeps on an epoch word; a notifier that changed
// the condition bumps the epoch and wakes only if somebody registered, so notifying costs one load
// when nobody waits. The condition's own atomics must be accessed seq_cst on both sides (Dekker).
#pragma once
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>

#include "spin.hpp"  // cache_line
#include "sync_policy.hpp"

namespace sluice::detail {

// A waiter that is not a thread: a coroutine of sluice::aio waiting on a sluice::queue. Instead of sleeping
// it registers, and a notifier calls wake() -- under the event count's lock, so that a waiter which
// unregisters afterwards knows that no wake() still runs for it.
struct async_waiter {
  void (*wake)(async_waiter*) noexcept = nullptr;
  async_waiter* prev = nullptr;
  async_waiter* next = nullptr;
  bool linked = false;
};

// Waiters and signals in flight share one word, so that a notifier wakes a sleeper only when some
// registered waiter has not been signalled yet. Without that, every put while a woken consumer is still
// on its way back to a CPU would cost another wake-up system call for nobody.
// Users: sluice::queue (not_empty, not_full, all_done) and thread_pool's idle workers. Sync is the
// policy (detail/sync_policy.hpp): real_sync in the library, a deterministic scheduler in tests.
template <class Sync = real_sync>
class alignas(cache_line) basic_event_count {
 public:
  // Register as a waiter; re-check the condition after this, then wait(ticket) or cancel().
  // The ticket is read before registering: a notifier that counted this waiter bumps the epoch after
  // counting it, so the waiter's sleep on the older ticket is either woken or refused. Read after
  // registering, the ticket could already include that bump; the signal would then be spent on a
  // waiter that sleeps through it, and with every waiter looking signalled no later notify would wake it.
  std::uint32_t prepare() noexcept {
    std::uint32_t ticket = epoch_.load(std::memory_order_seq_cst);
    state_.fetch_add(one_waiter, std::memory_order_seq_cst);
    return ticket;
  }
  void cancel() noexcept { leave(); }
  // Sleeps unless notified since prepare(); false when the deadline passed. Unregisters.
  bool wait(std::uint32_t ticket, const std::chrono::steady_clock::time_point* deadline) noexcept {
    bool ok = Sync::park_wait(epoch_, ticket, deadline);
    leave();
    return ok;
  }

  bool has_waiters() const noexcept {
    return (state_.load(std::memory_order_seq_cst) >> 32) != 0 || async_count_.load(std::memory_order_seq_cst) != 0;
  }

  // Registers an async waiter; like prepare(), the caller re-checks its condition afterwards.
  void add_async(async_waiter* w) noexcept {
    std::lock_guard lk(async_mu_);
    w->prev = async_tail_;
    w->next = nullptr;
    (async_tail_ ? async_tail_->next : async_head_) = w;
    async_tail_ = w;
    w->linked = true;
    async_count_.fetch_add(1, std::memory_order_seq_cst);
  }
  // True when it was still registered; false when a notifier has already woken it.
  bool remove_async(async_waiter* w) noexcept {
    std::lock_guard lk(async_mu_);
    if (!w->linked) return false;
    unlink_async(w);
    return true;
  }

  void notify_one() noexcept {
    if (async_count_.load(std::memory_order_seq_cst) != 0) wake_async(false);
    std::uint64_t s = state_.load(std::memory_order_seq_cst);
    do {
      if (signals(s) >= waiters(s)) return;  // each registered waiter will re-check anyway
    } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_seq_cst));
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    Sync::park_wake(epoch_, 1);
  }
  // Rare (shutdown, puts after it): wakes every sleeper whenever anyone is registered.
  void notify_all() noexcept {
    if (async_count_.load(std::memory_order_seq_cst) != 0) wake_async(true);
    std::uint64_t s = state_.load(std::memory_order_seq_cst);
    do {
      if (waiters(s) == 0) return;
    } while (!state_.compare_exchange_weak(s, (s & ~signal_mask) | waiters(s), std::memory_order_seq_cst));
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    Sync::park_wake(epoch_, INT_MAX);
  }

 private:
  static constexpr std::uint64_t one_waiter = std::uint64_t{1} << 32;
  static constexpr std::uint64_t signal_mask = one_waiter - 1;
  static std::uint64_t waiters(std::uint64_t s) noexcept { return s >> 32; }
  static std::uint64_t signals(std::uint64_t s) noexcept { return s & signal_mask; }

  // A leaving waiter takes one signal with it, whether or not it was the one woken: erring towards
  // "fewer signals in flight" only ever costs an extra wake, never a lost one.
  void leave() noexcept {
    std::uint64_t s = state_.load(std::memory_order_seq_cst);
    std::uint64_t next;
    do {
      next = s - one_waiter - (signals(s) != 0 ? 1 : 0);
    } while (!state_.compare_exchange_weak(s, next, std::memory_order_seq_cst));
  }

  void unlink_async(async_waiter* w) noexcept {
    (w->prev ? w->prev->next : async_head_) = w->next;
    (w->next ? w->next->prev : async_tail_) = w->prev;
    w->prev = w->next = nullptr;
    w->linked = false;
    async_count_.fetch_sub(1, std::memory_order_seq_cst);
  }
  void wake_async(bool all) noexcept {
    std::lock_guard lk(async_mu_);
    do {
      async_waiter* w = async_head_;
      if (!w) break;
      unlink_async(w);
      w->wake(w);
    } while (all);
  }

  typename Sync::template atomic<std::uint64_t> state_{0};  // waiters << 32 | signals in flight
  typename Sync::template atomic<std::uint32_t> epoch_{0};
  typename Sync::template atomic<std::uint32_t> async_count_{0};
  typename Sync::mutex async_mu_;
  async_waiter* async_head_ = nullptr;
  async_waiter* async_tail_ = nullptr;
};

using event_count = basic_event_count<>;

}  // namespace sluice::detail
