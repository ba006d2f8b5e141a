// src/aio_sync.cpp -- event, lock and semaphore on a FIFO of waiting tasks.
#include "sluice/aio/sync.hpp"

namespace sluice::aio {

namespace detail {

void wait_queue::awaiter::await_suspend(std::coroutine_handle<> h) {
  loop_impl::require().suspend(&w, h);
  q->waiters_.push_back(&w);
  w.context = q;
  w.on_cancel = [](waiter* w) noexcept {
    static_cast<wait_queue*>(w->context)->waiters_.remove(w);
    return true;
  };
}

void wait_queue::awaiter::await_resume() {
  // Woken, but the task was cancelled in the same turn: the wake-up is kept (the caller proceeds) and the
  // cancellation waits for the next await, so nothing granted is lost.
  resume_or_throw(w);
}

bool wait_queue::wake_one() noexcept {
  waiter* w = waiters_.pop_front();
  if (!w) return false;
  w->task->loop->fire(w);
  return true;
}

void wait_queue::wake_all() noexcept {
  while (wake_one()) {
  }
}

}  // namespace detail

void event::set() {
  set_ = true;
  waiters_.wake_all();
}

task<void> event::wait() {
  if (set_) co_return;
  co_await waiters_.wait();
}

task<void> lock::acquire() {
  if (!locked_ && waiters_.empty()) {
    locked_ = true;
    co_return;
  }
  // The releaser hands the lock straight to the first waiter: it stays locked in between.
  co_await waiters_.wait();
}

void lock::release() {
  if (!locked_) throw std::logic_error("sluice::aio::lock::release: the lock is not held");
  if (!waiters_.wake_one()) locked_ = false;
}

semaphore::semaphore(std::size_t value) : value_(value) {}

bool semaphore::locked() const noexcept { return value_ == 0 || !waiters_.empty(); }

task<void> semaphore::acquire() {
  if (value_ > 0 && waiters_.empty()) {
    --value_;
    co_return;
  }
  // A release hands its permit directly to the first waiter (value_ is not raised), so a newcomer cannot
  // take it first.
  co_await waiters_.wait();
}

void semaphore::release() {
  if (!waiters_.wake_one()) ++value_;
}

}  // namespace sluice::aio
