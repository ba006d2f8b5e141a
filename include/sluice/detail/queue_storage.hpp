// sluice/detail/queue_storage.hpp -- the two stores behind sluice::queue (internal).
// mpmc_ring: bounded, lock-free, a slot per item with a stamp that says whose turn the slot is.
// locked_fifo: unbounded, a deque under a short mutex (nobody ever waits for room in it).
// Both never block; sluice::queue adds spinning, parking, deadlines and task accounting on top.
// Sync is the atomics/locks policy (detail/sync_policy.hpp): real_sync unless a test schedules the threads.
#pragma once
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include "spin.hpp"  // cache_line
#include "sync_policy.hpp"

namespace sluice::detail {

enum class push_status { ok, full, shut_down };
// empty also covers "an item is being written right now"; drained means shut down, and every
// item accepted before the shutdown has been taken.
enum class pop_status { ok, empty, drained };

// Positions ("stamps") carry a lap number above the slot index: one lap is the capacity rounded up to a
// power of two strictly larger than it, so "written for position p" (p + 1) and "free for the next lap"
// (p + one_lap) never collide, even with capacity 1, and the index is a mask rather than a division.
// The top bit of tail_ is the shutdown flag: setting it with one RMW fixes the set of producers that
// got a slot before the shutdown, which is what lets a consumer know for certain that it has drained.
template <class T, class Sync = real_sync>
class mpmc_ring {
 public:
  explicit mpmc_ring(std::size_t capacity)
      : capacity_(checked(capacity)),
        one_lap_(std::bit_ceil(capacity_ + 1)),
        lap_shift_(static_cast<unsigned>(std::countr_zero(one_lap_))),
        slots_(new slot[capacity]) {
    for (std::size_t i = 0; i < capacity; ++i) slots_[i].stamp.store(i, std::memory_order_relaxed);
  }
  mpmc_ring(const mpmc_ring&) = delete;
  mpmc_ring& operator=(const mpmc_ring&) = delete;
  ~mpmc_ring() {
    // Nobody else touches the ring now: destroy what is still in it.
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    std::uint64_t t = tail_.load(std::memory_order_relaxed) & ~shut_bit;
    while (h != t) {
      slot& s = slots_[h & (one_lap_ - 1)];
      if (s.live) s.item()->~T();
      h = next(h);
    }
  }

  // Constructs the item in a slot from std::forward<U>(value); value is untouched unless this returns ok.
  // If T's constructor throws, the slot is published empty (consumers skip it) and the exception propagates.
  template <class U>
  push_status try_push(U&& value) {
    // seq_cst: a parked producer's re-check must not miss a shutdown (see event_count).
    std::uint64_t t = tail_.load(std::memory_order_seq_cst);
    for (;;) {
      if (t & shut_bit) return push_status::shut_down;
      slot& s = slots_[t & (one_lap_ - 1)];
      std::uint64_t stamp = s.stamp.load(std::memory_order_seq_cst);
      if (stamp == t) {
        if (tail_.compare_exchange_weak(t, next(t), std::memory_order_seq_cst, std::memory_order_relaxed)) {
          try {
            ::new (static_cast<void*>(s.storage)) T(std::forward<U>(value));
            s.live = true;
          } catch (...) {
            s.live = false;
            failed_.fetch_add(1, std::memory_order_relaxed);
            s.stamp.store(t + 1, std::memory_order_seq_cst);
            throw;
          }
          s.stamp.store(t + 1, std::memory_order_seq_cst);
          return push_status::ok;
        }
      } else if (stamp < t) {
        // The slot still holds (or is handing out) the item from one lap ago: full. The shutdown
        // check comes first, as in Python.
        std::uint64_t now = tail_.load(std::memory_order_seq_cst);
        if (now & shut_bit) return push_status::shut_down;
        if (now == t) return push_status::full;
        t = now;
      } else {
        t = tail_.load(std::memory_order_seq_cst);
      }
    }
  }

  pop_status try_pop(std::optional<T>& out) {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      slot& s = slots_[h & (one_lap_ - 1)];
      std::uint64_t stamp = s.stamp.load(std::memory_order_seq_cst);
      if (stamp == h + 1) {
        if (head_.compare_exchange_weak(h, next(h), std::memory_order_seq_cst, std::memory_order_relaxed)) {
          // Release the slot even if moving the item out throws (the item is then lost, as documented).
          struct release {
            slot& s;
            std::uint64_t stamp;
            ~release() {
              if (s.live) s.item()->~T();
              s.stamp.store(stamp, std::memory_order_seq_cst);
            }
          } guard{s, h + one_lap_};
          if (!s.live) {  // a producer whose T constructor threw
            h = head_.load(std::memory_order_relaxed);
            continue;
          }
          out.emplace(std::move(*s.item()));
          return pop_status::ok;
        }
      } else if (stamp < h + 1) {
        std::uint64_t t = tail_.load(std::memory_order_seq_cst);
        if ((t & shut_bit) && h == (t & ~shut_bit)) return pop_status::drained;
        std::uint64_t now = head_.load(std::memory_order_relaxed);
        if (now == h) return pop_status::empty;
        h = now;
      } else {
        h = head_.load(std::memory_order_relaxed);
      }
    }
  }

  void shutdown() noexcept { tail_.fetch_or(shut_bit, std::memory_order_seq_cst); }
  bool is_shut_down() const noexcept { return tail_.load(std::memory_order_seq_cst) & shut_bit; }
  // Items ever accepted (a put whose T constructor threw does not count).
  std::uint64_t pushed() const noexcept {
    return count(tail_.load(std::memory_order_seq_cst) & ~shut_bit) - failed_.load(std::memory_order_relaxed);
  }
  std::size_t size() const noexcept {
    // head first: the tail read afterwards is never behind it.
    std::uint64_t h = count(head_.load(std::memory_order_seq_cst));
    std::uint64_t t = count(tail_.load(std::memory_order_seq_cst) & ~shut_bit);
    std::uint64_t n = t > h ? t - h : 0;
    return n > capacity_ ? capacity_ : static_cast<std::size_t>(n);
  }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::uint64_t shut_bit = std::uint64_t{1} << 63;

  static std::uint64_t checked(std::size_t capacity) {
    // Far above any memory we could allocate, and keeps stamps clear of the shutdown bit.
    if (capacity == 0 || capacity >= (std::uint64_t{1} << 40))
      throw std::invalid_argument("sluice::queue: maxsize too large for a bounded queue");
    return capacity;
  }

  struct slot {
    typename Sync::template atomic<std::uint64_t> stamp{0};
    bool live = false;
    alignas(T) unsigned char storage[sizeof(T)];
    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  std::uint64_t next(std::uint64_t pos) const noexcept {
    std::uint64_t index = pos & (one_lap_ - 1);
    return index + 1 < capacity_ ? pos + 1 : (pos & ~(one_lap_ - 1)) + one_lap_;
  }
  std::uint64_t count(std::uint64_t pos) const noexcept {
    return (pos >> lap_shift_) * capacity_ + (pos & (one_lap_ - 1));
  }

  // Read-only after construction; shared by everyone without contention.
  const std::uint64_t capacity_;
  const std::uint64_t one_lap_;
  const unsigned lap_shift_;
  const std::unique_ptr<slot[]> slots_;
  typename Sync::template atomic<std::uint64_t> failed_{0};
  // Consumers hammer head_, producers tail_: separate cache lines.
  alignas(cache_line) typename Sync::template atomic<std::uint64_t> head_{0};
  alignas(cache_line) typename Sync::template atomic<std::uint64_t> tail_{0};
};

template <class T, class Sync = real_sync>
class locked_fifo {
 public:
  template <class U>
  push_status try_push(U&& value) {
    std::lock_guard lock(mutex_);
    if (shut_) return push_status::shut_down;
    items_.emplace_back(std::forward<U>(value));
    pushed_.store(pushed_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    return push_status::ok;
  }
  pop_status try_pop(std::optional<T>& out) {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return shut_ ? pop_status::drained : pop_status::empty;
    out.emplace(std::move(items_.front()));
    items_.pop_front();
    return pop_status::ok;
  }
  void shutdown() noexcept {
    std::lock_guard lock(mutex_);
    shut_ = true;
    shut_flag_.store(true, std::memory_order_seq_cst);
  }
  bool is_shut_down() const noexcept { return shut_flag_.load(std::memory_order_seq_cst); }
  std::uint64_t pushed() const noexcept { return pushed_.load(std::memory_order_seq_cst); }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  mutable typename Sync::mutex mutex_;
  std::deque<T> items_;
  bool shut_ = false;
  typename Sync::template atomic<bool> shut_flag_{false};
  typename Sync::template atomic<std::uint64_t> pushed_{0};
};

}  // namespace sluice::detail
