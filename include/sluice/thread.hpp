// sluice/thread.hpp -- threads whose exceptions reach the caller (Items 53, 57), and a value guarded by
// its own lock (Item 54).
//
//   sluice::thread t([](std::stop_token st, int n) { while (!st.stop_requested() && n--) work(); }, 10);
//   t.join();                                   // rethrows what the callable threw
//   sluice::synchronized<std::map<std::string, int>> counts;
//   counts.lock()->emplace("a", 1);             // the lock is held for the full-expression
//   int n = counts.with_lock([](auto& m) { return m["a"]; });
//
// Thread-safety: a sluice::thread object is like std::jthread: one owner calls its members (get_id,
// request_stop and get_stop_token may be called from anywhere while the object is alive).
// synchronized<T> may be used from any number of threads; that is its purpose. set_excepthook is
// thread-safe.
#pragma once
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "export.hpp"
#include "detail/deadline.hpp"

namespace sluice {

using seconds = std::chrono::duration<double>;

// Called with what a thread threw when nobody collected it with join() (Python: threading.excepthook),
// in the thread that destroys or move-assigns over the sluice::thread, before that returns. Also receives
// exceptions thrown by future done-callbacks. The default prints "Exception in thread <id>: <what()>" to
// stderr; set_excepthook({}) restores it. Anything the hook throws is swallowed. Never std::terminate.
using excepthook = std::function<void(std::exception_ptr, std::thread::id)>;
// Thread-safe; the hook runs outside any sluice lock, so it may call set_excepthook itself.
SLUICE_EXPORT void set_excepthook(excepthook hook);

namespace detail {
// Hands e to the installed excepthook (or the default printer); swallows whatever the hook throws.
SLUICE_EXPORT void call_excepthook(std::exception_ptr e, std::thread::id id) noexcept;

struct SLUICE_EXPORT thread_state {
  std::exception_ptr error;  // written by the thread, read after join (join orders the two)
  std::thread::id id;
  // Set by the thread itself when its own callable destroyed (or moved over) the sluice::thread: nobody is
  // left to collect the error, so the thread reports it to the excepthook. Written and read by that thread only.
  bool orphaned = false;
  std::atomic<std::uint32_t> done{0};  // 1 once the callable has returned or thrown (a futex word for join_for)
};

// Marks the state done and wakes join_for.
SLUICE_EXPORT void thread_finished(thread_state& state) noexcept;
// Blocks until state.done or the deadline (nullopt: never); true once done.
SLUICE_EXPORT bool thread_wait_done(const thread_state& state, const steady_deadline& deadline) noexcept;
}  // namespace detail

// Like std::jthread, but join() rethrows what the callable threw (then it never reaches the excepthook).
// As with jthread, if std::invocable<F, std::stop_token, Args...> the callable receives this thread's
// token first. f and args are decay-copied into the new thread (std::ref to pass a reference).
class SLUICE_EXPORT thread {
 public:
  thread() noexcept = default;
  // Starts the thread. Throws std::system_error if it cannot be started (nothing runs then).
  template <class F, class... Args>
    requires(!std::same_as<std::remove_cvref_t<F>, thread>)
  explicit thread(F&& f, Args&&... args) : state_(std::make_shared<detail::thread_state>()) {
    using fn_type = std::decay_t<F>;
    auto body = [state = state_, fn = fn_type(std::forward<F>(f)),
                 args = std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)](
                    std::stop_token token) mutable {
      try {
        if constexpr (std::is_invocable_v<fn_type, std::stop_token, std::decay_t<Args>...>) {
          std::apply(
              [&](auto&&... a) { std::invoke(std::move(fn), std::move(token), std::forward<decltype(a)>(a)...); },
              std::move(args));
        } else {
          static_assert(std::is_invocable_v<fn_type, std::decay_t<Args>...>,
                        "sluice::thread: the callable cannot be called with these arguments");
          std::apply([&](auto&&... a) { std::invoke(std::move(fn), std::forward<decltype(a)>(a)...); },
                     std::move(args));
        }
      } catch (...) {
        if (state->orphaned)
          detail::call_excepthook(std::current_exception(), std::this_thread::get_id());
        else
          state->error = std::current_exception();
      }
      detail::thread_finished(*state);
    };
    thread_ = std::jthread(std::move(body));
    state_->id = thread_.get_id();
  }
  thread(thread&& other) noexcept = default;
  // Finishes the thread this object owned first (request_stop, join; an exception goes to the excepthook).
  thread& operator=(thread&& other) noexcept {
    if (this != &other) {
      finish();
      thread_ = std::move(other.thread_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  // request_stop() and join() (blocks until the callable returns); an uncollected exception goes to
  // the excepthook. Run by the callable itself (it destroyed or moved over its own sluice::thread), it
  // request_stop()s and detaches instead of joining, and an exception the callable throws afterwards still
  // reaches the excepthook, called in that thread when the callable ends.
  ~thread() { finish(); }

  // Blocks until the callable returns, then rethrows its exception, once. std::system_error
  // (invalid_argument) if not joinable, (resource_deadlock_would_occur) when called from the thread itself.
  void join() {
    thread_.join();
    if (state_ && state_->error) {
      std::exception_ptr e = std::exchange(state_->error, nullptr);
      std::rethrow_exception(e);
    }
  }
  // Blocks at most `timeout` (Python's join(timeout), which leaves the thread alive on timeout): false at the
  // deadline, and then nothing changed (still joinable, the exception still to come); true once joined, and
  // then like join() it rethrows the callable's exception. Like future::wait_for, a wait without a result
  // reports the timeout by its return value. Throws std::invalid_argument for a negative or NaN timeout (the
  // library's one timeout rule: 0 only looks, more than ~31 years or infinite waits forever), then
  // std::system_error as join().
  bool join_for(seconds timeout) {
    const auto deadline = detail::deadline_after(timeout);
    if (!thread_.joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument));
    if (thread_.get_id() == std::this_thread::get_id())
      throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur));
    if (state_ && !detail::thread_wait_done(*state_, deadline)) return false;
    join();  // the callable is done: this only waits for the thread to exit
    return true;
  }
  bool joinable() const noexcept { return thread_.joinable(); }
  std::thread::id get_id() const noexcept { return thread_.get_id(); }
  bool request_stop() noexcept { return thread_.request_stop(); }
  std::stop_token get_stop_token() const noexcept { return thread_.get_stop_token(); }
  std::stop_source get_stop_source() noexcept { return thread_.get_stop_source(); }

 private:
  void finish() noexcept {
    if (thread_.joinable()) {
      thread_.request_stop();
      if (thread_.get_id() == std::this_thread::get_id()) {
        // Destroyed by its own callable: joining would deadlock; let it run out instead, and since nobody
        // can join it any more, a later exception of the callable goes to the excepthook from the thread.
        state_->orphaned = true;
        thread_.detach();
        state_.reset();
        return;
      }
      thread_.join();
    }
    if (state_ && state_->error) {
      detail::call_excepthook(std::exchange(state_->error, nullptr), state_->id);
    }
    state_.reset();
  }

  std::jthread thread_;
  std::shared_ptr<detail::thread_state> state_;
};

// A T that can only be reached under its lock (the LockedCounter of Item 54, generalised).
// Not copyable or movable.
// Things you must get right:
//  - Two lock() in one full-expression deadlock: s.lock()->size() == s.copy().size() never returns.
//  - Do not call back into the same object from with_lock's function (same deadlock).
//  - Do not keep a pointer or reference from lock() or with_lock beyond the lock's lifetime.
template <class T, class Mutex = std::mutex>
class synchronized {
 public:
  // T(std::forward<Args>(args)...), with parentheses. Throws what T's constructor throws.
  template <class... Args>
    requires std::constructible_from<T, Args...>
  explicit synchronized(Args&&... args) : value_(std::forward<Args>(args)...) {}
  synchronized(const synchronized&) = delete;
  synchronized& operator=(const synchronized&) = delete;

  // Holds the lock while alive; movable, not copyable.
  class locked_ptr {
   public:
    T* operator->() const noexcept { return value_; }
    T& operator*() const noexcept { return *value_; }

   private:
    friend class synchronized;
    locked_ptr(Mutex& m, T& v) : lock_(m), value_(&v) {}
    std::unique_lock<Mutex> lock_;
    T* value_;
  };
  // Blocks until the lock is free; the lock is held until the locked_ptr is destroyed.
  locked_ptr lock() { return locked_ptr(mutex_, value_); }

  // Calls f(value) under the lock (blocking until it is free); returns or throws what f does.
  template <class F>
  std::invoke_result_t<F, T&> with_lock(F&& f) {
    std::lock_guard guard(mutex_);
    return std::invoke(std::forward<F>(f), value_);
  }
  // Calls f(const value) under the lock.
  template <class F>
  std::invoke_result_t<F, const T&> with_lock(F&& f) const {
    std::lock_guard guard(mutex_);
    return std::invoke(std::forward<F>(f), value_);
  }
  // A copy taken under the lock (blocks until it is free).
  T copy() const {
    std::lock_guard guard(mutex_);
    return value_;
  }

 private:
  mutable Mutex mutex_;
  T value_;
};

}  // namespace sluice
