// The non-template half of sluice::thread_pool and sluice::future: the future state machine's slow paths, the
// completion waiters behind as_completed/wait, and the pool's workers (their scheduling: pool_core.hpp).
#include "sluice/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "pool_core.hpp"
#include "sluice/detail/spin.hpp"
#include "sluice/thread.hpp"  // call_excepthook

namespace sluice::detail {

namespace {

void run_callback(const std::function<void(future_state_base*)>& fn, future_state_base* s) noexcept {
  try {
    fn(s);
  } catch (...) {
    call_excepthook(std::current_exception(), std::this_thread::get_id());
  }
}

}  // namespace

[[noreturn]] void throw_no_state() { throw std::future_error(std::future_errc::no_state); }
[[noreturn]] void throw_cancelled() { throw cancelled_error("future was cancelled"); }
[[noreturn]] void throw_result_timeout() { throw timeout_error("future not done before the timeout"); }
[[noreturn]] void throw_as_completed_timeout(std::size_t unfinished, std::size_t total) {
  throw timeout_error(std::to_string(unfinished) + " (of " + std::to_string(total) + ") futures unfinished");
}

// ---- completion_waiter ----

void completion_waiter::on_done(future_state_base* state) noexcept {
  std::lock_guard lock(mutex_);
  finished_.push_back(state);
  if (pending_ > 0) --pending_;
  if (ready_locked()) {
    ready_ = true;
    cv_.notify_all();
  }
}

bool completion_waiter::ready_locked() const noexcept {
  switch (mode_) {
    case mode::each:
    case mode::first_completed:
      return finished_.size() > taken_;
    case mode::first_exception:
      return pending_ == 0 || (!finished_.empty() && finished_.back()->failed()) || ready_;
    case mode::all_completed:
      return pending_ == 0;
  }
  return false;
}

bool completion_waiter::wait_ready(const steady_deadline& deadline) {
  std::unique_lock lock(mutex_);
  auto pred = [this] { return ready_ || ready_locked(); };
  if (deadline) return cv_.wait_until(lock, *deadline, pred);
  cv_.wait(lock, pred);
  return true;
}

future_state_base* completion_waiter::next(const steady_deadline& deadline) {
  std::unique_lock lock(mutex_);
  auto pred = [this] { return finished_.size() > taken_; };
  if (deadline) {
    if (!cv_.wait_until(lock, *deadline, pred)) return nullptr;
  } else {
    cv_.wait(lock, pred);
  }
  return finished_[taken_++];
}

// ---- future_state_base ----
//
// The completion protocol: the finisher stores the status then loads sync_; a waiter (or callback adder)
// installs sync_ then reads the status under sync's mutex. Both sides use seq_cst, so at least one sees the
// other: either the waiter sees "done", or the finisher sees sync_ and takes its mutex before notifying.

future_sync* future_state_base::sync() {
  future_sync* s = sync_.load(std::memory_order_seq_cst);
  if (s) return s;
  auto* fresh = new future_sync;
  if (sync_.compare_exchange_strong(s, fresh, std::memory_order_seq_cst)) return fresh;
  delete fresh;
  return s;
}

void future_state_base::publish(future_status st) noexcept {
  status_.store(st, std::memory_order_seq_cst);
  future_sync* s = sync_.load(std::memory_order_seq_cst);
  if (!s) return;
  std::vector<std::function<void(future_state_base*)>> callbacks;
  std::vector<std::shared_ptr<completion_waiter>> waiters;
  {
    std::lock_guard lock(s->mutex);
    callbacks.swap(s->callbacks);
    waiters.swap(s->waiters);
    s->cv.notify_all();
  }
  for (auto& w : waiters) w->on_done(this);
  for (auto& cb : callbacks) run_callback(cb, this);
}

bool future_state_base::cancel() noexcept {
  auto s = status_.load(std::memory_order_seq_cst);
  for (;;) {
    if (s == future_status::cancelled) return true;
    if (s != future_status::pending) return false;
    if (status_.compare_exchange_weak(s, future_status::cancelled, std::memory_order_seq_cst)) break;
  }
  publish(future_status::cancelled);
  return true;
}

bool future_state_base::fail_pending(std::exception_ptr error) noexcept {
  if (!try_start()) return false;
  finish(std::move(error));
  return true;
}

bool future_state_base::wait_until(const steady_deadline& deadline) {
  if (done()) return true;
  if (deadline && *deadline <= std::chrono::steady_clock::now()) return false;
  for (backoff<spin::future_wait> b; b.pause();)
    if (done()) return true;
  future_sync* s = sync();
  std::unique_lock lock(s->mutex);
  while (!done()) {
    if (!deadline) {
      s->cv.wait(lock);
    } else if (s->cv.wait_until(lock, *deadline) == std::cv_status::timeout) {
      return done();
    }
  }
  return true;
}

void future_state_base::add_callback(std::function<void(future_state_base*)> fn) {
  future_sync* s = sync();
  {
    std::lock_guard lock(s->mutex);
    if (!done()) {
      s->callbacks.push_back(std::move(fn));
      return;
    }
  }
  run_callback(fn, this);
}

bool future_state_base::add_waiter(const std::shared_ptr<completion_waiter>& waiter) {
  future_sync* s = sync();
  std::lock_guard lock(s->mutex);
  if (done()) return false;
  s->waiters.push_back(waiter);
  return true;
}

void future_state_base::remove_waiter(const completion_waiter* waiter) noexcept {
  future_sync* s = sync_.load(std::memory_order_seq_cst);
  if (!s) return;
  std::lock_guard lock(s->mutex);
  std::erase_if(s->waiters, [waiter](const auto& w) { return w.get() == waiter; });
}

// ---- the pool (pool_core.hpp) ----

// pool_core is basic_pool_core<real_sync> (thread_pool.hpp), instantiated by its uses below.

void pool_core_deleter::operator()(pool_core* core) const noexcept { delete core; }

// Destroying a pool from one of its own tasks: hand the core to its workers instead of joining them.
bool pool_orphan_if_own_worker(pool_core* core) noexcept {
  if (!core->on_own_worker()) return false;
  core->orphan();
  return true;
}

void pool_push(pool_core& core, future_state_base* task) { core.push(task); }

}  // namespace sluice::detail

namespace sluice {

namespace {
std::size_t default_workers(std::size_t n) {
  if (n != 0) return n;
  auto hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}
}  // namespace

thread_pool::thread_pool(std::size_t max_workers) : thread_pool(pool_options{.max_workers = max_workers}) {}

thread_pool::thread_pool(pool_options opts) {
  opts.max_workers = default_workers(opts.max_workers);
  max_workers_ = opts.max_workers;
  core_.reset(new detail::pool_core(std::move(opts)));
}

thread_pool::~thread_pool() {
  if (!core_) return;
  if (detail::pool_orphan_if_own_worker(core_.get())) {
    (void)core_.release();  // now owned by its workers; the last one to exit frees it
    return;
  }
  core_->shutdown(true, false);
}

void thread_pool::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }

}  // namespace sluice
