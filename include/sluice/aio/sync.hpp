// sluice/aio/sync.hpp -- synchronisation between the tasks of one loop (Python: asyncio.Event, Lock, Semaphore).
//
//   aio::semaphore slots(4);
//   co_await slots.acquire();  /* at most 4 tasks here at once */  slots.release();
//
// Thread-safety: the loop's thread only (as in asyncio); threads reach a loop through call_soon_threadsafe.
// Waiters are served first come, first served. A wait cancelled after it was granted passes the grant on,
// so a cancellation never loses a wake-up or a permit. Destroying one of these while tasks still wait on it
// is a bug (as destroying a mutex that is held).
#pragma once
#include <cstddef>

#include "../export.hpp"
#include "task.hpp"

namespace sluice::aio {

namespace detail {
// A FIFO of waiting tasks with cancellation: the building block of event, lock, semaphore and the queues.
class SLUICE_EXPORT wait_queue {
 public:
  // Awaits a wake-up; cancelled_error when cancelled before it. A wake-up that arrives together with the
  // cancellation is passed to the next waiter.
  struct awaiter : cancellable_await {
    wait_queue* q;
    void await_suspend(std::coroutine_handle<> h);
    void await_resume();
  };
  awaiter wait() noexcept { return awaiter{{}, this}; }
  bool wake_one() noexcept;  // false when nobody waits
  void wake_all() noexcept;
  bool empty() const noexcept { return waiters_.empty(); }

 private:
  waiter_list waiters_;
};
}  // namespace detail

// Python: asyncio.Event.
class SLUICE_EXPORT event {
 public:
  void set();                            // wakes every waiter; never blocks
  void clear() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }
  task<void> wait();                     // returns at once when set; cancellable

 private:
  bool set_ = false;
  detail::wait_queue waiters_;
};

// Python: asyncio.Lock. FIFO; not reentrant.
class SLUICE_EXPORT lock {
 public:
  task<void> acquire();  // cancellable; a cancelled acquire never holds the lock
  void release();        // std::logic_error when not locked
  bool locked() const noexcept { return locked_; }

 private:
  bool locked_ = false;
  detail::wait_queue waiters_;
};

// Python: asyncio.Semaphore. FIFO and cancellation-safe: a waiter cancelled after it was woken passes its
// wake-up on (no lost wake-up); a newcomer never overtakes a waiter.
class SLUICE_EXPORT semaphore {
 public:
  explicit semaphore(std::size_t value = 1);
  task<void> acquire();
  void release();                          // never blocks; no upper bound (Python's Semaphore, not Bounded)
  bool locked() const noexcept;            // true when acquire() would wait
  std::size_t value() const noexcept { return value_; }

 private:
  std::size_t value_;
  detail::wait_queue waiters_;
};

}  // namespace sluice::aio
