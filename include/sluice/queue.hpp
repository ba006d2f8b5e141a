// sluice/queue.hpp -- Python's queue.Queue (3.13, with shutdown) as a blocking MPMC queue, plus the
// ClosableQueue pattern of Effective Python Item 55: close() and range-for that ends once drained.
//
//   sluice::queue<std::string> q(64);                 // at most 64 items; queue<T>() is unbounded
//   sluice::thread worker([&] { for (std::string& s : q) process(s); });   // ends after close()
//   for (auto& line : input) q.put(line);            // blocks while full
//   q.close();                                       // no more items; the loop drains, then ends
//   worker.join();
//
// Thread-safety: every member may be called from any number of threads at once. Bounded queues are a
// lock-free ring (a stamp per slot); blocked callers spin briefly, then sleep on a futex and cost no CPU.
// Unbounded queues keep items in a deque under a short mutex and block consumers the same way.
//
// Error precedence is Python's: a shut-down queue reports queue_shut_down first (for gets: once it is
// also drained); then a negative or NaN timeout is std::invalid_argument (even when an item is ready);
// then queue_full / queue_empty. Timeouts follow the library's one rule (detail/deadline.hpp): 0 only
// looks, more than ~31 years or infinite waits forever. Producers learn of a shutdown by an exception (try_put too); consumers
// by nullopt from try_get / try_get_for (the normal end of a stream).
//
// Things you must get right:
//  - Destroying the queue while another thread is still inside one of its members is undefined;
//    shut it down and join the threads first.
//  - If T's move constructor throws inside get(), that item is lost (the exception reaches the caller).
//  - join() waits for task_done() per item; range-for calls it for you, get() does not.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "export.hpp"
#include "detail/deadline.hpp"
#include "detail/event_count.hpp"
#include "detail/queue_storage.hpp"
#include "detail/sync_policy.hpp"

namespace sluice {

using seconds = std::chrono::duration<double>;

class SLUICE_EXPORT queue_empty : public std::runtime_error {  // Python: queue.Empty
 public:
  using std::runtime_error::runtime_error;
};
class SLUICE_EXPORT queue_full : public std::runtime_error {  // Python: queue.Full
 public:
  using std::runtime_error::runtime_error;
};
class SLUICE_EXPORT queue_shut_down : public std::runtime_error {  // Python: queue.ShutDown
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
struct queue_access;  // sluice::aio's awaitable get and put
}

// Sync: how the queue synchronises (detail/sync_policy.hpp); leave it defaulted. Tests substitute a
// scheduler that runs the threads one at a time in a seeded order.
template <class T, class Sync = detail::real_sync>
class queue {
  static_assert(std::is_object_v<T> && !std::is_const_v<T>, "sluice::queue<T> needs a non-const object type");
  static_assert(std::is_move_constructible_v<T>, "sluice::queue<T> needs a move-constructible T");

 public:
  // maxsize 0: unbounded. Throws std::invalid_argument for a maxsize beyond 2^40, std::bad_alloc.
  explicit queue(std::size_t maxsize = 0) : maxsize_(maxsize) {
    if (maxsize == 0) {
      fifo_ = std::make_unique<detail::locked_fifo<T, Sync>>();
    } else {
      ring_ = std::make_unique<detail::mpmc_ring<T, Sync>>(maxsize);
    }
  }
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;
  ~queue() = default;  // destroys the items still queued

  // Blocks while full. Throws queue_shut_down (also when shut down while it waits).
  void put(T item) { put_blocking(std::move(item), nullptr); }
  // Blocks at most `timeout`; throws queue_full when still full at the deadline, queue_shut_down,
  // std::invalid_argument for a negative timeout.
  void put(T item, seconds timeout) {
    if (!try_put_for(std::move(item), timeout)) throw queue_full("sluice::queue: full");
  }
  // Never blocks. Throws queue_shut_down, then queue_full.
  void put_nowait(T item) {
    if (!try_put(std::move(item))) throw queue_full("sluice::queue: full");
  }
  // Never blocks: false when full, and then `item` is untouched. Throws queue_shut_down.
  bool try_put(T&& item) { return push_once(std::move(item)); }
  bool try_put(const T& item)
    requires std::is_copy_constructible_v<T>
  {
    return push_once(item);
  }
  // Blocks at most `timeout`; false at the deadline (item untouched). Throws queue_shut_down (also when
  // shut down while waiting), std::invalid_argument for a negative timeout.
  bool try_put_for(T&& item, seconds timeout) {
    throw_if_shut_down();
    auto deadline = deadline_after(timeout);
    return put_blocking(std::move(item), deadline ? &*deadline : nullptr);
  }

  // Blocks while empty. Throws queue_shut_down once shut down and drained.
  T get() {
    std::optional<T> out;
    if (pop_blocking(out, nullptr) == detail::pop_status::drained) throw_shut_down();
    return std::move(*out);
  }
  // Blocks at most `timeout`. Throws queue_shut_down (shut down and drained), std::invalid_argument
  // (negative timeout), queue_empty (still empty at the deadline).
  T get(seconds timeout) {
    std::optional<T> out = try_get_for(timeout);
    if (!out) {
      if (is_drained()) throw_shut_down();
      throw queue_empty("sluice::queue: empty");
    }
    return std::move(*out);
  }
  // Never blocks. Throws queue_shut_down (shut down and drained), then queue_empty.
  T get_nowait() {
    std::optional<T> out;
    switch (pop_once(out)) {
      case detail::pop_status::ok: return std::move(*out);
      case detail::pop_status::drained: throw_shut_down();
      case detail::pop_status::empty: break;
    }
    throw queue_empty("sluice::queue: empty");
  }
  // Never blocks: nullopt when empty, or shut down and drained.
  std::optional<T> try_get() {
    std::optional<T> out;
    pop_once(out);
    return out;
  }
  // Blocks at most `timeout`: nullopt at the deadline, and at once when shut down and drained.
  // Throws std::invalid_argument for a negative timeout.
  std::optional<T> try_get_for(seconds timeout) {
    std::optional<T> out;
    if (is_drained()) return out;
    auto deadline = deadline_after(timeout);
    pop_blocking(out, deadline ? &*deadline : nullptr);
    return out;
  }

  // Never blocks. Throws std::logic_error("task_done() called too many times").
  void task_done() {
    if (!mark_done()) throw std::logic_error("task_done() called too many times");
  }
  // Blocks until every item put so far has been marked task_done (immediate shutdown marks the
  // items it discards). Returns at once when nothing is unfinished.
  void join() { join_until(nullptr); }
  // Blocks at most `timeout`: true once every item put so far is done, false at the deadline (Python's
  // Queue.join has no timeout; like try_get_for, a wait without a result answers by its return value).
  // Throws std::invalid_argument for a negative or NaN timeout.
  bool join_for(seconds timeout) {
    auto deadline = deadline_after(timeout);
    return join_until(deadline ? &*deadline : nullptr);
  }

  // Python 3.13 shutdown, sticky, never blocks for long: later puts throw queue_shut_down; gets drain
  // what is left, then throw (try_ forms: nullopt). immediate = true also discards the queued items,
  // marking each task_done. Wakes every blocked caller.
  void shutdown(bool immediate = false) {
    if (ring_) {
      ring_->shutdown();
    } else {
      fifo_->shutdown();
    }
    if (immediate) discard_all();
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  void close() { shutdown(false); }  // the producers' "no more items"; never blocks
  bool is_shut_down() const noexcept { return ring_ ? ring_->is_shut_down() : fifo_->is_shut_down(); }

  // Snapshots, never blocking: stale by the time they return when other threads are busy.
  std::size_t qsize() const { return ring_ ? ring_->size() : fifo_->size(); }
  bool empty() const { return qsize() == 0; }
  bool full() const { return maxsize_ != 0 && qsize() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }

  // for (T& item : q) { ... } takes items until the queue is shut down and drained (blocking while it
  // is empty). Each item is marked task_done when the loop moves past it (next iteration, break, or
  // exception). begin() and ++ each take exactly one item (no read-ahead). The iterator is move-only,
  // so queue<T>& is a std::ranges::input_range.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() noexcept = default;
    iterator(iterator&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : queue_(other.queue_), item_(std::move(other.item_)) {
      other.item_.reset();
    }
    iterator& operator=(iterator&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
      if (this != &other) {
        finish();
        queue_ = other.queue_;
        item_ = std::move(other.item_);
        other.item_.reset();
      }
      return *this;
    }
    ~iterator() { finish(); }

    T& operator*() const { return *item_; }
    T* operator->() const { return &*item_; }
    // Marks the current item done, then blocks for the next one.
    iterator& operator++() {
      finish();
      queue_->pop_blocking(item_, nullptr);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.item_; }

   private:
    friend class queue;
    explicit iterator(queue* q) : queue_(q) { queue_->pop_blocking(item_, nullptr); }
    void finish() noexcept {
      if (item_) {
        item_.reset();  // destroyed first, so join() returning means the item is gone
        queue_->mark_done();
      }
    }

    queue* queue_ = nullptr;
    mutable std::optional<T> item_;
  };
  // Blocks until the first item arrives (or the queue is shut down and drained).
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() noexcept { return {}; }

 private:
  friend struct detail::queue_access;
  using clock = std::chrono::steady_clock;

  [[noreturn]] static void throw_shut_down() { throw queue_shut_down("sluice::queue: shut down"); }
  void throw_if_shut_down() const {
    if (is_shut_down()) throw_shut_down();
  }
  bool is_drained() const { return is_shut_down() && qsize() == 0; }

  // The library's one timeout rule (detail/deadline.hpp): negative or NaN throws std::invalid_argument,
  // above ~31 years or infinite waits forever (nullopt).
  static std::optional<clock::time_point> deadline_after(seconds timeout) { return detail::deadline_after(timeout); }

  template <class U>
  detail::push_status push(U&& item) {
    return ring_ ? ring_->try_push(std::forward<U>(item)) : fifo_->try_push(std::forward<U>(item));
  }
  detail::pop_status pop(std::optional<T>& out) { return ring_ ? ring_->try_pop(out) : fifo_->try_pop(out); }

  void pushed_one() noexcept {
    // Once shut down, the remaining consumers may all be parked waiting for in-flight items; wake them
    // all so that each can see the queue drain.
    if (not_empty_.has_waiters()) {
      if (is_shut_down()) {
        not_empty_.notify_all();
      } else {
        not_empty_.notify_one();
      }
    }
  }
  void popped_one() noexcept {
    if (ring_) not_full_.notify_one();
  }

  template <class U>
  bool push_once(U&& item) {
    switch (push(std::forward<U>(item))) {
      case detail::push_status::ok: pushed_one(); return true;
      case detail::push_status::full: return false;
      case detail::push_status::shut_down: break;
    }
    throw_shut_down();
  }

  // True once pushed; false at the deadline (item untouched). Throws queue_shut_down.
  template <class U>
  bool put_blocking(U&& item, const clock::time_point* deadline) {
    detail::backoff<Sync::spin(detail::spin::queue_wait)> spinning;
    do {
      // Forwarding again after a failed attempt is fine: the item is only moved from on success.
      if (push_once(std::forward<U>(item))) return true;
    } while ((!deadline || clock::now() < *deadline) && spinning.pause());
    for (;;) {
      std::uint32_t ticket = not_full_.prepare();
      detail::push_status status;
      try {
        status = push(std::forward<U>(item));
      } catch (...) {
        not_full_.cancel();
        throw;
      }
      if (status != detail::push_status::full) {
        not_full_.cancel();
        if (status == detail::push_status::shut_down) throw_shut_down();
        pushed_one();
        return true;
      }
      if (deadline && clock::now() >= *deadline) {
        not_full_.cancel();
        return false;
      }
      not_full_.wait(ticket, deadline);
      // Woken: most often there is room now; try once before registering again.
      if (push_once(std::forward<U>(item))) return true;
    }
  }

  detail::pop_status pop_once(std::optional<T>& out) {
    detail::pop_status status = pop(out);
    if (status == detail::pop_status::ok) popped_one();
    return status;
  }

  // ok, drained, or empty at the deadline.
  detail::pop_status pop_blocking(std::optional<T>& out, const clock::time_point* deadline) {
    detail::backoff<Sync::spin(detail::spin::queue_wait)> spinning;
    detail::pop_status status;
    do {
      status = pop_once(out);
      if (status != detail::pop_status::empty) return status;
    } while ((!deadline || clock::now() < *deadline) && spinning.pause());
    for (;;) {
      std::uint32_t ticket = not_empty_.prepare();
      try {
        status = pop(out);
      } catch (...) {
        not_empty_.cancel();
        throw;
      }
      if (status != detail::pop_status::empty) {
        not_empty_.cancel();
        if (status == detail::pop_status::ok) popped_one();
        return status;
      }
      if (deadline && clock::now() >= *deadline) {
        not_empty_.cancel();
        return status;
      }
      not_empty_.wait(ticket, deadline);
      status = pop_once(out);
      if (status != detail::pop_status::empty) return status;
    }
  }

  // True once all done; false at the deadline (nullptr: never).
  bool join_until(const clock::time_point* deadline) {
    while (!all_done()) {
      std::uint32_t ticket = all_done_.prepare();
      if (all_done()) {
        all_done_.cancel();
        return true;
      }
      if (deadline && clock::now() >= *deadline) {
        all_done_.cancel();
        return false;
      }
      if (!all_done_.wait(ticket, deadline)) return all_done();
    }
    return true;
  }

  std::uint64_t pushed() const noexcept { return ring_ ? ring_->pushed() : fifo_->pushed(); }
  // done first, then pushed: true means nothing was unfinished at the moment done_ was read.
  bool all_done() const noexcept { return done_.load(std::memory_order_seq_cst) >= pushed(); }

  // Counts one task done unless that would exceed the items put; false when it would.
  bool mark_done() noexcept { return mark_done(1) == 1; }
  std::uint64_t mark_done(std::uint64_t n) noexcept {
    std::uint64_t done = done_.load(std::memory_order_seq_cst);
    std::uint64_t step = 0;
    do {
      std::uint64_t total = pushed();
      step = total > done ? std::min(n, total - done) : 0;
      if (step == 0) return 0;
    } while (!done_.compare_exchange_weak(done, done + step, std::memory_order_seq_cst));
    if (done + step >= pushed()) all_done_.notify_all();
    return step;
  }

  void discard_all() {
    std::optional<T> item;
    std::uint64_t discarded = 0;
    for (;;) {
      detail::pop_status status = pop(item);
      if (status == detail::pop_status::drained) break;
      if (status == detail::pop_status::ok) {
        item.reset();
        ++discarded;
      } else {
        // A producer that got its slot before the shutdown is still writing; it will finish shortly.
        Sync::yield();
      }
    }
    // Python: unfinished_tasks is decremented per discarded item, but never below zero.
    if (discarded != 0) mark_done(discarded);
    all_done_.notify_all();
  }

  const std::size_t maxsize_;
  std::unique_ptr<detail::mpmc_ring<T, Sync>> ring_;
  std::unique_ptr<detail::locked_fifo<T, Sync>> fifo_;
  detail::basic_event_count<Sync> not_empty_;
  detail::basic_event_count<Sync> not_full_;
  detail::basic_event_count<Sync> all_done_;
  alignas(detail::cache_line) typename Sync::template atomic<std::uint64_t> done_{0};
};

}  // namespace sluice
