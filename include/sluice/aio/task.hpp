// sluice/aio/task.hpp -- coroutines and the loop that runs them: task<T>, run, create_task, handle<T>,
// sleep, event_loop (Python: asyncio.run, asyncio.create_task, asyncio.Task, asyncio.sleep).
//
//   sluice::aio::task<int> answer() { co_await sluice::aio::sleep(10ms); co_return 42; }
//   int x = sluice::aio::run(answer());   // 42
//
// Thread-safety: a loop and every task on it belong to the thread that runs the loop; only
// event_loop::call_soon_threadsafe may be called from other threads.
#pragma once
#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "../export.hpp"
#include "../detail/aio_core.hpp"
#include "../thread_pool.hpp"  // cancelled_error, timeout_error, seconds

namespace sluice::aio {

template <class T = void>
class task;
template <class T = void>
class handle;

namespace detail {

// The promise part common to every task<T>.
struct SLUICE_EXPORT promise_common : task_base {
  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      task_base& p = h.promise();
      if (p.root) {
        p.loop->finish_task(&p);
        return std::noop_coroutine();
      }
      if (p.continuation) return transfer_to(p.continuation);  // symmetric transfer: nesting never grows the stack
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct promise : promise_common {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
  const T& peek() const {
    if (error) std::rethrow_exception(error);
    return *value;
  }
};

template <>
struct promise<void> : promise_common {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() const {
    if (error) std::rethrow_exception(error);
  }
  void peek() const { take(); }
};

[[noreturn]] SLUICE_EXPORT void throw_moved_from(const char* what);
// Its outcome was looked at: no excepthook report. Touches the loop only for a failure still on the loop's list
// of unretrieved ones, so that it is safe on a handle that outlived its loop (run() ended: all were reported).
inline void mark_retrieved(task_base& b) noexcept {
  if (b.retrieved) return;
  b.retrieved = true;
  if (b.error) b.loop->forget_unretrieved(&b);
}
[[noreturn]] SLUICE_EXPORT void throw_not_done();
SLUICE_EXPORT void start_task(task_base* t, std::coroutine_handle<> frame);  // on the current loop; std::logic_error without
template <class T>
task_base* release_root(task<T>& t);
}  // namespace detail

// A coroutine that yields T. Lazy: it starts when awaited or handed to create_task/run. Move-only.
// `co_await t` returns the value or rethrows the coroutine's exception; awaiting nests without growing the
// stack. Awaiting a moved-from task throws std::logic_error.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }
  bool valid() const noexcept { return static_cast<bool>(h_); }

  struct awaiter {
    std::coroutine_handle<promise_type> h;
    bool await_ready() const {
      if (!h) detail::throw_moved_from("sluice::aio::task: awaiting a moved-from task");
      return h.done();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
      h.promise().continuation = caller;
      return detail::transfer_to(h);
    }
    T await_resume() { return h.promise().take(); }
  };
  awaiter operator co_await() & noexcept { return awaiter{h_}; }
  awaiter operator co_await() && noexcept { return awaiter{h_}; }

 private:
  friend struct detail::promise<T>;
  template <class U>
  friend detail::task_base* detail::release_root(task<U>& t);
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_{};
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}
template <class T>
task_base* release_root(task<T>& t) {
  if (!t.h_) throw_moved_from("sluice::aio::create_task: a moved-from task");
  start_task(&t.h_.promise(), t.h_);  // may throw (no loop): t still owns the frame then, and frees it
  return &std::exchange(t.h_, {}).promise();
}

// Awaits a task's end (not its result). Cancellable: a cancellation is passed on to the awaited task, and
// the awaiting one resumes, with cancelled_error, once that has ended. Shielded: a cancellation waits for
// the awaiting task's next await.
struct SLUICE_EXPORT done_await : cancellable_await {
  task_base* target = nullptr;
  bool shielded = false;
  bool await_ready() {
    if (!shielded && cancel_pending_on_entry()) {
      target->request_cancel();
      w.task->cancel_requested = true;  // delivered once the target has ended
    }
    if (shielded) w.task = &loop_impl::require().require_task();
    return target->done;
  }
  void await_suspend(std::coroutine_handle<> h) {
    if (!shielded) w.on_cancel = &on_cancel;
    w.context = target;
    target->done_waiters.push_back(&w);
    target->loop->suspend(&w, h);
  }
  void await_resume() {
    if (!shielded && w.task->cancel_requested) {
      w.task->cancel_requested = false;
      throw_cancelled();
    }
  }
  static bool on_cancel(waiter* w) noexcept {
    static_cast<task_base*>(w->context)->request_cancel();
    return false;  // keep waiting for it to finish cancelling
  }
};
}  // namespace detail

// A running task (Python: asyncio.Task). Copies share one task. Every member must be used on the loop's
// thread. Destroying the last handle of a running task does not cancel it (the loop keeps it alive until it
// ends, unlike Python, which may collect it half-way).
template <class T>
class handle {
  using result_ref = std::add_lvalue_reference_t<const T>;

 public:
  handle() noexcept = default;  // refers to no task
  handle(const handle& o) noexcept : t_(o.t_) {
    if (t_) t_->add_ref();
  }
  handle(handle&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  handle& operator=(handle o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~handle() {
    if (t_) t_->release();
  }
  bool valid() const noexcept { return t_ != nullptr; }

  // Requests cancellation: cancelled_error is thrown into the coroutine at its current (or next) await, and
  // the operation it awaited is cancelled. A task cancelled before it started never runs its body. When the
  // awaited operation completed in the same turn, its result is kept and the cancellation is delivered at
  // the next await. Returns false if already done.
  bool cancel() const { return base().request_cancel(); }
  bool cancelled() const { return base().done && base().was_cancelled; }
  bool done() const { return base().done; }
  // The value; rethrows the task's exception (cancelled_error if cancelled); std::logic_error while running.
  result_ref result() const {
    auto& b = base();
    if (!b.done) detail::throw_not_done();
    detail::mark_retrieved(b);
    if (b.was_cancelled) detail::throw_cancelled();
    return promise().peek();
  }
  // Null on success; cancelled_error when cancelled; std::logic_error while running.
  std::exception_ptr exception() const {
    auto& b = base();
    if (!b.done) detail::throw_not_done();
    detail::mark_retrieved(b);
    if (b.was_cancelled) detail::throw_cancelled();
    return b.error;
  }
  // fn(*this) runs on the loop once the task is done (at the next turn if it already is).
  void add_done_callback(std::function<void(const handle&)> fn) const {
    if (!fn) throw std::invalid_argument("sluice::aio::handle::add_done_callback: empty function");
    auto& b = base();
    auto call = [h = *this, fn = std::move(fn)] { fn(h); };
    if (b.done) {
      if (detail::loop_impl::current() != b.loop)
        throw std::logic_error("sluice::aio::handle::add_done_callback: the task's loop does not run on this thread");
      b.loop->call_soon(std::move(call));
    } else {
      b.done_callbacks.emplace_back(std::move(call));
    }
  }

  // Waits for the task; yields its value (const T&) or rethrows. Cancelling the awaiting task cancels the
  // awaited one too (as in Python) and resumes once it has ended.
  struct awaiter : detail::done_await {
    handle h;
    result_ref await_resume() {
      detail::done_await::await_resume();
      return h.result();
    }
  };
  awaiter operator co_await() const {
    awaiter a{{{}, &base(), false}, *this};
    return a;
  }

  friend bool operator==(const handle& a, const handle& b) noexcept { return a.t_ == b.t_; }
  detail::task_base* base_ptr() const noexcept { return t_; }
  explicit handle(detail::task_base* adopt_ref) noexcept : t_(adopt_ref) {}

 private:
  detail::task_base& base() const {
    if (!t_) detail::throw_moved_from("sluice::aio::handle: refers to no task");
    return *t_;
  }
  detail::promise<T>& promise() const { return static_cast<detail::promise<T>&>(*t_); }
  detail::task_base* t_ = nullptr;
};

// Python: asyncio.create_task. Starts t on the current loop at the next turn (std::logic_error without a
// running loop). A failed task whose exception nobody retrieved (co_await, result(), exception()) is
// reported through sluice's excepthook when its last handle goes away or run() ends, whichever is first.
template <class T>
handle<T> create_task(task<T> t) {
  detail::task_base* b = detail::release_root(t);
  b->add_ref();
  return handle<T>(b);
}

namespace detail {
// Runs a loop on this thread until `main` ends, then cancels what still runs and waits for it.
class SLUICE_EXPORT loop_runner {
 public:
  loop_runner();  // std::logic_error when a loop already runs on this thread
  ~loop_runner();
  loop_runner(const loop_runner&) = delete;
  loop_runner& operator=(const loop_runner&) = delete;
  void run_until(task_base* main);
  void finish() noexcept;

 private:
  std::unique_ptr<loop_impl> loop_;
};
}  // namespace detail

// Python: asyncio.run(main()). Runs a new event loop on this thread until t completes; then cancels the tasks
// still running and waits for them, and returns t's value or rethrows its exception.
// std::logic_error if a loop already runs on this thread.
template <class T>
T run(task<T> t) {
  if (!t.valid()) detail::throw_moved_from("sluice::aio::run: a moved-from task");
  detail::loop_runner runner;
  handle<T> h = create_task(std::move(t));
  runner.run_until(h.base_ptr());
  auto* b = h.base_ptr();
  b->retrieved = true;  // its outcome is run()'s: never reported to the excepthook
  b->loop->forget_unretrieved(b);
  runner.finish();
  if (b->was_cancelled) detail::throw_cancelled();
  return static_cast<detail::promise<T>*>(b)->take();
}

// Python: asyncio.sleep. sleep(0) yields to the other ready tasks once; a negative delay counts as 0.
// std::invalid_argument for NaN. Cancellable.
SLUICE_EXPORT task<void> sleep(seconds delay);
inline task<void> sleep(double delay_seconds) { return sleep(seconds(delay_seconds)); }  // sleep(0), sleep(0.5)

// The loop running on this thread (Python: asyncio.get_running_loop()). A copy may be kept and used from
// other threads for call_soon_threadsafe, also after the loop ended; its other members belong to the loop's
// thread (std::logic_error elsewhere or once the loop ended).
class SLUICE_EXPORT event_loop {
 public:
  static event_loop& current();  // std::logic_error when no loop runs on this thread
  double time() const;           // the loop's monotonic clock, in seconds
  // The only member callable from any thread: runs fn on the loop's thread at its next turn. Returns false
  // (and drops fn) once the loop has ended.
  bool call_soon_threadsafe(std::function<void()> fn);
  // Python: loop.add_signal_handler. fn runs on the loop, not in a signal handler. A real handler forwards
  // the signal to the loop through its wake-up descriptor (as Python's set_wakeup_fd does), so threads that
  // do not block the signal cannot die of its default action; a handler replaced for signum is restored by
  // remove_signal_handler or when the loop ends. std::invalid_argument for SIGKILL, SIGSTOP or a bad number.
  void add_signal_handler(int signum, std::function<void()> fn);
  bool remove_signal_handler(int signum);  // false when none was installed

  explicit event_loop(detail::loop_impl* impl);

 private:
  detail::loop_impl& own() const;
  detail::loop_impl* impl_ = nullptr;
  std::shared_ptr<detail::remote_queue> remote_;
};

}  // namespace sluice::aio
