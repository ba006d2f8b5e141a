// sluice/detail/future_state.hpp -- the shared state behind sluice::future and the task a pool runs.
// Not part of the public API. One heap block per submit holds the state, the callable with its arguments and
// the result; it doubles as the node of the pool's intrusive work queues, so submit allocates exactly once.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../export.hpp"
#include "deadline.hpp"  // steady_deadline, deadline_after: the timeout rule

namespace sluice::detail {

// Declared by sluice/thread.hpp as well; done-callback exceptions go there.
SLUICE_EXPORT void call_excepthook(std::exception_ptr error, std::thread::id thread) noexcept;

enum class future_status : std::uint8_t { pending, running, finished, cancelled };

class future_state_base;

// Collects futures as they finish, for as_completed and wait (Python's _Waiter classes).
class SLUICE_EXPORT completion_waiter {
 public:
  enum class mode : std::uint8_t { each, first_completed, first_exception, all_completed };
  completion_waiter(mode m, std::size_t pending) noexcept : mode_(m), pending_(pending) {}

  void on_done(future_state_base* state) noexcept;
  // Blocks until the mode's condition holds or the deadline passes; true if it holds.
  bool wait_ready(const steady_deadline& deadline);
  // For mode::each: the next finished state, or null at the deadline.
  future_state_base* next(const steady_deadline& deadline);

 private:
  bool ready_locked() const noexcept;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<future_state_base*> finished_;
  std::size_t taken_ = 0;
  mode mode_;
  std::size_t pending_;
  bool ready_ = false;
};

// Allocated only when somebody waits, adds a callback or a waiter: most tasks finish without ever touching it.
struct SLUICE_EXPORT future_sync {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::function<void(future_state_base*)>> callbacks;
  std::vector<std::shared_ptr<completion_waiter>> waiters;
};

class SLUICE_EXPORT future_state_base {
 public:
  future_state_base() noexcept = default;
  future_state_base(const future_state_base&) = delete;
  future_state_base& operator=(const future_state_base&) = delete;
  virtual ~future_state_base() { delete sync_.load(std::memory_order_relaxed); }

  // Runs the task (pool workers only). A cancelled task is skipped.
  virtual void run() noexcept {}

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  future_status status() const noexcept { return status_.load(std::memory_order_seq_cst); }
  bool done() const noexcept {
    auto s = status();
    return s == future_status::finished || s == future_status::cancelled;
  }
  // Finished with an exception (a cancellation is not a failure).
  bool failed() const noexcept { return status() == future_status::finished && error_ != nullptr; }
  const std::exception_ptr& error() const noexcept { return error_; }

  // Python's Future.cancel(): true if pending (now cancelled) or already cancelled. Runs the callbacks here.
  bool cancel() noexcept;
  // Python's set_running_or_notify_cancel(): false if it was cancelled.
  bool try_start() noexcept {
    auto expected = future_status::pending;
    return status_.compare_exchange_strong(expected, future_status::running, std::memory_order_seq_cst);
  }
  // Fails a still-pending task without running it (broken pool); false if it had started or was cancelled.
  bool fail_pending(std::exception_ptr error) noexcept;
  // Marks a running task finished (error null on success), waking waiters and running callbacks.
  void finish(std::exception_ptr error) noexcept {
    error_ = std::move(error);
    publish(future_status::finished);
  }

  // True once done; false at the deadline.
  bool wait_until(const steady_deadline& deadline);
  void add_callback(std::function<void(future_state_base*)> fn);
  // False (and nothing registered) if already done.
  bool add_waiter(const std::shared_ptr<completion_waiter>& waiter);
  void remove_waiter(const completion_waiter* waiter) noexcept;

  future_state_base* next_ = nullptr;  // link in a pool's work queue

 private:
  void publish(future_status s) noexcept;
  future_sync* sync();

  std::atomic<std::uint32_t> refs_{1};
  std::atomic<future_status> status_{future_status::pending};
  std::atomic<future_sync*> sync_{nullptr};
  std::exception_ptr error_;
};

// Drops one reference on destruction; what future<T> and the pool's queues hold.
class SLUICE_EXPORT state_ref {
 public:
  state_ref() noexcept = default;
  explicit state_ref(future_state_base* adopt) noexcept : p_(adopt) {}
  state_ref(const state_ref& o) noexcept : p_(o.p_) {
    if (p_) p_->add_ref();
  }
  state_ref(state_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  state_ref& operator=(state_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~state_ref() {
    if (p_) p_->release();
  }
  future_state_base* get() const noexcept { return p_; }

 private:
  future_state_base* p_ = nullptr;
};

template <class T>
class future_state : public future_state_base {
  using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>;

 public:
  // Valid only once finished without an error.
  std::add_lvalue_reference_t<T> value() noexcept {
    if constexpr (std::is_reference_v<T>)
      return **value_;
    else
      return *value_;
  }

 protected:
  template <class U>
  void set_value(U&& v) {
    if constexpr (std::is_reference_v<T>)
      value_.emplace(std::addressof(v));
    else
      value_.emplace(std::forward<U>(v));
  }

 private:
  std::optional<stored> value_;
};

template <>
class future_state<void> : public future_state_base {};

// The task a pool runs: state, callable, arguments and result in one allocation (no std::function).
template <class R, class Fn, class... Args>
class task_state final : public future_state<R> {
 public:
  template <class F, class... A>
  explicit task_state(F&& f, A&&... args) : call_(std::in_place, std::forward<F>(f), std::forward<A>(args)...) {}

  void run() noexcept override {
    if (!this->try_start()) {
      call_.reset();
      return;
    }
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply([](Fn& fn, Args&... args) { std::invoke(std::move(fn), std::move(args)...); }, *call_);
      } else {
        this->set_value(std::apply(
            [](Fn& fn, Args&... args) -> R { return std::invoke(std::move(fn), std::move(args)...); }, *call_));
      }
    } catch (...) {
      error = std::current_exception();
    }
    // Captures are released before anyone sees the future done, as Python drops its work item.
    call_.reset();
    this->finish(std::move(error));
  }

 private:
  std::optional<std::tuple<Fn, Args...>> call_;
};

}  // namespace sluice::detail
