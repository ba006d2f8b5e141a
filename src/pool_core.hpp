// The thread pool's core (private): per-worker task queues, the submit gate, idle parking and shutdown.
//
// A template over the synchronisation policy (sluice/detail/sync_policy.hpp) so that the deterministic tests
// (tests/deterministic_test.cpp) can run it one thread at a time in a seeded order; thread_pool.cpp uses
// basic_pool_core<real_sync> (pool_core, thread_pool.hpp), the only instantiation in the library.
//
// Scheduling: every worker owns a FIFO of intrusive task nodes guarded by its own tiny spin lock. Outside
// submitters deal tasks round-robin over the workers (a per-thread cursor, so concurrent submitters do not share
// a counter); a task submitted from a worker goes to that worker's own queue. A worker pops its own queue, else
// steals from the others, spins briefly, then parks on an event count that costs nothing while idle. Nothing is
// shared by all workers on the hot path but the (read-mostly) sleeper count.
#pragma once
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/detail/event_count.hpp"
#include "sluice/detail/spin.hpp"
#include "sluice/detail/sync_policy.hpp"
#include "sluice/thread_pool.hpp"

namespace sluice::detail {

template <class Sync>
class spin_lock {
 public:
  void lock() noexcept {
    backoff<Sync::spin(spin::queue_lock)> b;
    while (flag_.exchange(true, std::memory_order_acquire)) {
      // Spin on a plain load, then give the core away: the holder may be preempted on a loaded machine.
      while (flag_.load(std::memory_order_relaxed))
        if (!b.pause()) Sync::yield();
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  typename Sync::template atomic<bool> flag_{false};
};

template <class Sync>
struct alignas(cache_line) work_queue {
  spin_lock<Sync> lock;
  future_state_base* head = nullptr;
  future_state_base* tail = nullptr;
  typename Sync::template atomic<std::size_t> size{0};  // a hint for thieves and sleepers, exact under the lock

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

template <class Sync>
class basic_pool_core {
 public:
  explicit basic_pool_core(pool_options opts) : opts_(std::move(opts)), queues_(opts_.max_workers) {
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
  basic_pool_core(const basic_pool_core&) = delete;
  basic_pool_core& operator=(const basic_pool_core&) = delete;
  ~basic_pool_core() {
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
    while ((gate_.load(std::memory_order_seq_cst) >> 2) != 0) Sync::yield();
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
      for (backoff<Sync::spin(spin::worker_idle)> b; !t && b.pause();) t = find_task(self);
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
            Sync::yield();
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

  // Which pool (if any) the calling thread works for, and its index there; an outside submitter's cursor.
  static inline thread_local basic_pool_core* tls_pool = nullptr;
  static inline thread_local std::size_t tls_worker = 0;
  static inline thread_local std::size_t tls_cursor = 0;

  pool_options opts_;
  std::vector<work_queue<Sync>> queues_;
  std::vector<typename Sync::thread> threads_;
  alignas(cache_line) typename Sync::template atomic<std::uint64_t> gate_{0};
  basic_event_count<Sync> parking_;  // idle workers; a submit wakes one only if somebody sleeps
  typename Sync::mutex join_mutex_;
  typename Sync::template atomic<std::size_t> live_{0};  // workers that have not left worker_main
  typename Sync::template atomic<bool> orphaned_{false};
  typename Sync::mutex broken_mutex_;
  std::string broken_what_;
};

}  // namespace sluice::detail
