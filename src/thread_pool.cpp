// The non-template half of sluice::thread_pool and sluice::future: the future state machine's slow paths, the
// completion waiters behind as_completed/wait, and the pool's workers.
//
// Scheduling: every worker owns a FIFO of intrusive task nodes guarded by its own tiny spin lock. Outside
// submitters deal tasks round-robin over the workers (a per-thread cursor, so concurrent submitters do not share
// a counter); a task submitted from a worker goes to that worker's own queue. A worker pops its own queue, else
// steals from the others, spins briefly, then parks on an event count that costs nothing while idle. Nothing is
// shared by all workers on the hot path but the (read-mostly) sleeper count.
#include "sluice/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "sluice/detail/event_count.hpp"
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

// ---- the pool ----

namespace {

class spin_lock {
 public:
  void lock() noexcept {
    backoff<spin::queue_lock> b;
    while (flag_.exchange(true, std::memory_order_acquire)) {
      // Spin on a plain load, then give the core away: the holder may be preempted on a loaded machine.
      while (flag_.load(std::memory_order_relaxed))
        if (!b.pause()) std::this_thread::yield();
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

struct alignas(cache_line) work_queue {
  spin_lock lock;
  future_state_base* head = nullptr;
  future_state_base* tail = nullptr;
  std::atomic<std::size_t> size{0};  // a hint for thieves and sleepers, exact under the lock

  void push(future_state_base* t) noexcept {
    t->next_ = nullptr;
    std::lock_guard g(lock);
    if (tail)
      tail->next_ = t;
    else
      head = t;
    tail = t;
    size.store(size.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  }
  future_state_base* pop() noexcept {
    // seq_cst: after parking_.prepare() this load is the waiter's half of the event count's Dekker pair (the
    // push's seq_cst store of size is the other); a plain load on x86.
    if (size.load(std::memory_order_seq_cst) == 0) return nullptr;
    std::lock_guard g(lock);
    future_state_base* t = head;
    if (!t) return nullptr;
    head = t->next_;
    if (!head) tail = nullptr;
    size.store(size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return t;
  }
  future_state_base* take_all() noexcept {
    std::lock_guard g(lock);
    future_state_base* t = head;
    head = tail = nullptr;
    size.store(0, std::memory_order_relaxed);
    return t;
  }
};

thread_local pool_core* tls_pool = nullptr;
thread_local std::size_t tls_worker = 0;
thread_local std::size_t tls_cursor = 0;

}  // namespace

class pool_core {
 public:
  explicit pool_core(pool_options opts) : opts_(std::move(opts)), queues_(opts_.max_workers) {
    if (opts_.thread_name_prefix.empty()) opts_.thread_name_prefix = "sluice-pool";
    threads_.reserve(opts_.max_workers);
    try {
      for (std::size_t i = 0; i < opts_.max_workers; ++i) {
        live_.fetch_add(1, std::memory_order_relaxed);
        try {
          threads_.emplace_back([this, i] { worker_main(i); });
        } catch (...) {
          live_.fetch_sub(1, std::memory_order_relaxed);
          throw;
        }
      }
    } catch (...) {
      shutdown(true, false);
      throw;
    }
  }
  ~pool_core() {
    // An orphaned core is deleted by its last worker, which has nothing left to join.
    if (!orphaned_.load(std::memory_order_acquire)) shutdown(true, false);
  }

  void push(future_state_base* task) {
    // The gate counts submits in progress (units of 4) so that a shutdown or a broken pool can wait them out:
    // a task must never land in a queue after the last worker has looked at it.
    auto g = gate_.fetch_add(4, std::memory_order_seq_cst);
    if (g & (shut_bit | broken_bit)) {
      gate_.fetch_sub(4, std::memory_order_seq_cst);
      if (g & broken_bit) throw broken_pool(broken_message());
      throw std::runtime_error("cannot schedule new futures after shutdown");
    }
    std::size_t n = queues_.size();
    std::size_t i = tls_pool == this ? tls_worker : tls_cursor++ % n;
    queues_[i].push(task);
    gate_.fetch_sub(4, std::memory_order_seq_cst);
    parking_.notify_one();
  }

  bool on_own_worker() const noexcept { return tls_pool == this; }

  // The pool's owner let go of it from one of its own tasks (called on a worker of this pool). Nobody can join
  // the workers then, so they are detached: they run what is queued as shutdown(true) would, and the last one
  // to leave worker_main deletes the core. The caller must not touch the core afterwards.
  void orphan() noexcept {
    shutdown(false, false);
    {
      std::lock_guard lock(join_mutex_);
      for (auto& t : threads_)
        if (t.joinable()) t.detach();
    }
    // Release: the last worker's acquire in leave() sees the detached threads_ and this flag.
    orphaned_.store(true, std::memory_order_release);
  }

  void shutdown(bool wait, bool cancel_futures) {
    // Refused before anything changes: joining would include the very thread asking.
    if (wait && on_own_worker())
      throw std::logic_error("sluice::thread_pool::shutdown(wait=true) called from one of its own workers");
    gate_.fetch_or(shut_bit, std::memory_order_seq_cst);
    if (cancel_futures) {
      wait_for_submitters();
      for (auto& q : queues_) drain(q.take_all(), nullptr);
    }
    parking_.notify_all();
    if (!wait) return;
    std::lock_guard lock(join_mutex_);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  static constexpr std::uint64_t shut_bit = 1;
  static constexpr std::uint64_t broken_bit = 2;

  std::string broken_message() {
    std::lock_guard lock(broken_mutex_);
    return broken_what_;
  }

  void wait_for_submitters() noexcept {
    while ((gate_.load(std::memory_order_seq_cst) >> 2) != 0) std::this_thread::yield();
  }

  // Cancels (error null) or fails (broken pool) every task in the list, dropping the queue's references.
  static void drain(future_state_base* t, const std::exception_ptr& error) noexcept {
    while (t) {
      future_state_base* next = t->next_;
      if (error)
        t->fail_pending(error);
      else
        t->cancel();
      t->release();
      t = next;
    }
  }

  future_state_base* find_task(std::size_t self) noexcept {
    if (auto* t = queues_[self].pop()) return t;
    const std::size_t n = queues_.size();
    for (std::size_t k = 1; k < n; ++k)
      if (auto* t = queues_[(self + k) % n].pop()) return t;
    return nullptr;
  }

  bool finished() const noexcept {
    // Shut down, no submit in flight (so nothing more can arrive), and every queue empty.
    if (gate_.load(std::memory_order_seq_cst) != shut_bit &&
        gate_.load(std::memory_order_seq_cst) != (shut_bit | broken_bit))
      return false;
    for (auto& q : queues_)
      if (q.size.load(std::memory_order_seq_cst) != 0) return false;
    return true;
  }

  void set_name(std::size_t i) {
    std::string name = opts_.thread_name_prefix + "_" + std::to_string(i);
    if (name.size() > 15) name.resize(15);  // the kernel's limit
    pthread_setname_np(pthread_self(), name.c_str());
  }

  void break_pool(std::exception_ptr cause) {
    std::string what = "a thread initializer failed, the pool is not usable anymore";
    try {
      if (cause) std::rethrow_exception(cause);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    {
      std::lock_guard lock(broken_mutex_);
      if (broken_what_.empty()) broken_what_ = what;
    }
    gate_.fetch_or(broken_bit, std::memory_order_seq_cst);
    wait_for_submitters();
    auto error = std::make_exception_ptr(broken_pool(broken_message()));
    for (auto& q : queues_) drain(q.take_all(), error);
  }

  void worker_main(std::size_t self) {
    run_worker(self);
    leave();
  }

  // The last worker out of an orphaned pool frees it. The orphaning call runs on a worker that has not left
  // yet, so live_ cannot reach zero before orphaned_ is set; the acq_rel decrements chain every worker's
  // accesses to the core before the delete.
  void leave() noexcept {
    if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1 && orphaned_.load(std::memory_order_acquire)) delete this;
  }

  void run_worker(std::size_t self) {
    tls_pool = this;
    tls_worker = self;
    set_name(self);
    if (opts_.initializer) {
      try {
        opts_.initializer();
      } catch (...) {
        break_pool(std::current_exception());
        return;
      }
    }
    for (;;) {
      future_state_base* t = find_task(self);
      for (backoff<spin::worker_idle> b; !t && b.pause();) t = find_task(self);
      if (!t) {
        auto ticket = parking_.prepare();
        t = find_task(self);
        if (!t) {
          if (finished()) {
            parking_.cancel();
            return;
          }
          if ((gate_.load(std::memory_order_seq_cst) & shut_bit) != 0) {
            // Shut down but a submit is still in flight: it will either land a task or back out; poll.
            parking_.cancel();
            std::this_thread::yield();
            continue;
          }
          parking_.wait(ticket, nullptr);
          continue;
        }
        parking_.cancel();
      }
      t->run();
      t->release();
    }
  }

  pool_options opts_;
  std::vector<work_queue> queues_;
  std::vector<std::thread> threads_;
  alignas(cache_line) std::atomic<std::uint64_t> gate_{0};
  event_count parking_;  // idle workers; a submit wakes one only if somebody sleeps
  std::mutex join_mutex_;
  std::atomic<std::size_t> live_{0};  // workers that have not left worker_main
  std::atomic<bool> orphaned_{false};
  std::mutex broken_mutex_;
  std::string broken_what_;
};

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
