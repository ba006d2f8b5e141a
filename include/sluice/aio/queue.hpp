// sluice/aio/queue.hpp -- a queue between the tasks of one loop (Python 3.13: asyncio.Queue, with shutdown),
// and the thread-safe sluice::queue awaited from a coroutine (aio::get / aio::put in sluice/aio/threads.hpp).
//
//   aio::queue<std::string> q(16);
//   co_await q.put("job");            // waits while full
//   std::string s = co_await q.get(); // waits while empty
//
// Thread-safety: the loop's thread only. Errors as sluice::queue's: queue_full, queue_empty, queue_shut_down
// (which is checked first). A get cancelled after it was woken never takes an item, and its wake-up goes to
// the next waiter.
#pragma once
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "../queue.hpp"
#include "sync.hpp"

namespace sluice::aio {

namespace detail {
// A FIFO that keeps its storage: once it has grown to the queue's working size, push and pop allocate nothing
// (std::deque frees and reallocates a block every few hundred items).
template <class T>
class ring {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  void push_back(T&& item) {
    if (size_ == cap_) grow();
    slots_[(head_ + size_) & (cap_ - 1)].emplace(std::move(item));
    ++size_;
  }
  T& front() noexcept { return *slots_[head_]; }
  void pop_front() noexcept {
    slots_[head_].reset();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }
  void clear() noexcept {
    while (size_ != 0) pop_front();
  }

 private:
  void grow() {
    std::size_t cap = cap_ ? cap_ * 2 : 16;
    auto slots = std::make_unique<std::optional<T>[]>(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      auto& from = slots_[(head_ + i) & (cap_ - 1)];
      slots[i].emplace(std::move(*from));
      from.reset();
    }
    slots_ = std::move(slots);
    cap_ = cap;
    head_ = 0;
  }
  std::unique_ptr<std::optional<T>[]> slots_;
  std::size_t cap_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};
}  // namespace detail

template <class T>
class queue {
 public:
  explicit queue(std::size_t maxsize = 0) : maxsize_(maxsize) {}  // 0: unbounded
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  // Waits while full; queue_shut_down once shut down; cancellable (the item is then not queued).
  task<void> put(T item) {
    for (;;) {
      if (shut_down_) throw queue_shut_down("sluice::aio::queue: shut down");
      if (!full()) break;
      co_await putters_.wait();
    }
    push(std::move(item));
  }
  // Waits while empty; queue_shut_down once shut down and drained; cancellable.
  task<T> get() {
    for (;;) {
      if (!items_.empty()) co_return pop();
      if (shut_down_) throw queue_shut_down("sluice::aio::queue: shut down");
      co_await getters_.wait();
    }
  }
  void put_nowait(T item) {
    if (shut_down_) throw queue_shut_down("sluice::aio::queue: shut down");
    if (full()) throw queue_full("sluice::aio::queue: full");
    push(std::move(item));
  }
  T get_nowait() {
    if (items_.empty()) {
      if (shut_down_) throw queue_shut_down("sluice::aio::queue: shut down");
      throw queue_empty("sluice::aio::queue: empty");
    }
    return pop();
  }
  // std::logic_error when called more times than items were put.
  void task_done() {
    if (unfinished_ == 0) throw std::logic_error("sluice::aio::queue::task_done: called too many times");
    if (--unfinished_ == 0) all_done_.set();
  }
  // Waits until every item put has been marked task_done (or discarded by shutdown(true)).
  task<void> join() {
    while (unfinished_ != 0) {
      co_await all_done_.wait();
    }
  }
  // Later puts throw queue_shut_down; gets drain what is queued first, unless immediate, which discards it
  // (counted as done). Wakes every waiting put and get.
  void shutdown(bool immediate = false) {
    shut_down_ = true;
    if (immediate) {
      unfinished_ -= std::min(unfinished_, items_.size());
      items_.clear();
      if (unfinished_ == 0) all_done_.set();
    }
    getters_.wake_all();
    putters_.wake_all();
  }
  bool is_shut_down() const noexcept { return shut_down_; }
  std::size_t qsize() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }

 private:
  void push(T&& item) {
    items_.push_back(std::move(item));
    ++unfinished_;
    all_done_.clear();
    getters_.wake_one();
  }
  T pop() {
    T item = std::move(items_.front());
    items_.pop_front();
    putters_.wake_one();
    return item;
  }

  std::size_t maxsize_;
  detail::ring<T> items_;
  std::size_t unfinished_ = 0;
  bool shut_down_ = false;
  detail::wait_queue getters_;
  detail::wait_queue putters_;
  event all_done_;
};

}  // namespace sluice::aio
