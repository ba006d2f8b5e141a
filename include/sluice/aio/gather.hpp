// sluice/aio/gather.hpp -- running tasks together: gather, task_group, wait_for, wait (Python: asyncio.gather,
// asyncio.TaskGroup, asyncio.wait_for, asyncio.wait), made structured: no task outlives its gather or group.
//
//   auto [a, b] = co_await aio::gather(fetch("a"), fetch("b"));   // both at once; the first failure
//                                                                  // cancels the other, then is rethrown
//   int v = co_await aio::wait_for(slow(), 2s);                    // timeout_error after 2 s
//
// Thread-safety: the loop's thread only, like every task.
#pragma once
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "../detail/deadline.hpp"
#include "../export.hpp"
#include "task.hpp"

namespace sluice::aio {

namespace detail {
template <class T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// Suspends until one of `targets` has ended, or the deadline passed. Cancellable (cancelled_error) unless
// shielded (the cancellation then waits for the next await). One link per target, each in that target's
// list of waiters; the loop fires whichever ends first.
struct SLUICE_EXPORT any_done_await : deadline_await {
  const std::vector<task_base*>& targets;
  bool shielded = false;
  std::vector<waiter> links{};

  any_done_await(const std::vector<task_base*>& t, std::optional<clock::time_point> d, bool shield)
      : deadline_await(d), targets(t), shielded(shield) {}
  any_done_await(const any_done_await&) = delete;

  bool await_ready() {
    if (shielded) {
      w.task = &loop_impl::require().require_task();
    } else if (cancellable_await::await_ready()) {
      return true;
    }
    for (task_base* t : targets) {
      if (t->done) return true;
    }
    if (deadline_passed()) return true;
    return targets.empty();
  }
  void await_suspend(std::coroutine_handle<> h) {
    loop_impl& loop = loop_impl::require();
    loop.suspend(&w, h);
    links.resize(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      links[i].task = w.task;
      links[i].resume = h;
      targets[i]->done_waiters.push_back(&links[i]);
    }
    arm_deadline(loop);
    w.context = this;
    if (!shielded) {
      w.on_cancel = [](waiter* w) noexcept {
        static_cast<any_done_await*>(w->context)->detach();
        return true;
      };
    }
  }
  void detach() noexcept {
    for (std::size_t i = 0; i < links.size(); ++i) targets[i]->done_waiters.remove(&links[i]);
    disarm_deadline();
  }
  void await_resume() {
    detach();
    if (w.task && w.task->waiting_on == &w) w.task->waiting_on = nullptr;
    for (task_base* t : targets) {
      if (t->done) timed_out = false;  // a result that raced the deadline wins
    }
    resume_or_throw(w);
  }
};

// Waits until every target has ended, whatever cancellations arrive meanwhile (they are delivered at the
// awaiting task's next await).
SLUICE_EXPORT task<void> wait_all_shielded(std::vector<task_base*> targets);

template <class T>
value_or_monostate<T> take_result(task_base* b) {
  b->retrieved = true;
  b->loop->forget_unretrieved(b);
  if constexpr (std::is_void_v<T>) {
    static_cast<promise<void>*>(b)->take();
    return {};
  } else {
    return static_cast<promise<T>*>(b)->take();
  }
}

// The first failure among ended tasks (in list order), or null. A cancelled task counts as failed.
SLUICE_EXPORT std::exception_ptr first_failure(const std::vector<task_base*>& tasks) noexcept;
// Runs the gather protocol over started tasks: waits for all; the first failure cancels the rest, which are
// waited for, then it is rethrown; a cancellation of the gather cancels and waits for all, then rethrows.
SLUICE_EXPORT task<void> gather_all(std::vector<task_base*> tasks);

template <class... T, std::size_t... I>
task<std::tuple<value_or_monostate<T>...>> gather_tuple(std::index_sequence<I...>, task<T>... ts) {
  std::tuple<handle<T>...> hs{create_task(std::move(ts))...};
  std::vector<task_base*> bases{std::get<I>(hs).base_ptr()...};
  co_await gather_all(bases);
  co_return std::tuple<value_or_monostate<T>...>{take_result<T>(std::get<I>(hs).base_ptr())...};
}

template <class T>
task<std::vector<value_or_monostate<T>>> gather_vector(std::vector<task<T>> ts) {
  std::vector<handle<T>> hs;
  hs.reserve(ts.size());
  for (auto& t : ts) hs.push_back(create_task(std::move(t)));
  std::vector<task_base*> bases;
  bases.reserve(hs.size());
  for (auto& h : hs) bases.push_back(h.base_ptr());
  co_await gather_all(bases);
  std::vector<value_or_monostate<T>> out;
  out.reserve(hs.size());
  for (auto& h : hs) out.push_back(take_result<T>(h.base_ptr()));
  co_return out;
}

[[noreturn]] SLUICE_EXPORT void throw_wait_for_timeout(seconds timeout);

template <class T>
task<T> wait_for_impl(task<T> t, seconds timeout) {
  handle<T> h = create_task(std::move(t));
  std::vector<task_base*> target{h.base_ptr()};
  bool timed_out = false;
  bool cancelled = false;
  try {
    any_done_await a(target, sluice::detail::loop_deadline_after(timeout), false);
    co_await a;
    timed_out = a.timed_out;
  } catch (const cancelled_error&) {
    cancelled = true;
  }
  if (cancelled || timed_out) {
    h.cancel();
    co_await wait_all_shielded(target);
    if (cancelled) {
      h.base_ptr()->retrieved = true;
      h.base_ptr()->loop->forget_unretrieved(h.base_ptr());
      throw_cancelled();
    }
    // A task that still ended with a result or its own failure (it completed in the turn of the deadline, or
    // caught the cancellation) gives that; only the deadline's own cancellation becomes timeout_error.
    if (h.cancelled()) {
      h.base_ptr()->retrieved = true;
      throw_wait_for_timeout(timeout);
    }
  }
  if constexpr (std::is_void_v<T>) {
    take_result<T>(h.base_ptr());
  } else {
    co_return take_result<T>(h.base_ptr());
  }
}
}  // namespace detail

// Python: asyncio.gather, made structured: all run concurrently as tasks; the first exception cancels the
// others, waits for them to finish, then is rethrown (no task outlives its gather). Cancelling the gather
// cancels every task and waits for them. void results are std::monostate, in the tuple and in the vector.
template <class... T>
task<std::tuple<detail::value_or_monostate<T>...>> gather(task<T>... ts) {
  return detail::gather_tuple(std::index_sequence_for<T...>{}, std::move(ts)...);
}
template <class T>
task<std::vector<detail::value_or_monostate<T>>> gather(std::vector<task<T>> ts) {
  return detail::gather_vector(std::move(ts));
}

// All exceptions of a task_group's failed tasks (Python: ExceptionGroup); what() names the count and the first.
class SLUICE_EXPORT exception_group : public std::exception {
 public:
  explicit exception_group(std::vector<std::exception_ptr> errors);
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::vector<std::exception_ptr> errors_;
  std::string what_;
};

// Python: asyncio.TaskGroup. Tasks may be added until join() returns. The first failure (other than
// cancellation) cancels every other task of the group; join() waits for all of them, then throws
// exception_group holding every failure. A group destroyed before join() cancels its tasks (they end on
// the loop afterwards). Cancelling the task that awaits join() cancels the group's tasks, waits for them and
// rethrows cancelled_error.
//   aio::task_group g;  g.create_task(fetch(a));  g.create_task(fetch(b));  co_await g.join();
class SLUICE_EXPORT task_group {
 public:
  task_group();
  ~task_group();
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  template <class T>
  handle<T> create_task(task<T> t) {
    check_open();
    handle<T> h = aio::create_task(std::move(t));
    adopt(h.base_ptr());
    return h;
  }
  task<void> join();  // std::logic_error when joined twice
  void cancel();      // cancels every task of the group; join() then returns normally

  struct state;

 private:
  void check_open() const;
  void adopt(detail::task_base* t);
  std::shared_ptr<state> state_;
};

// Python: asyncio.wait_for / asyncio.timeout. At the deadline t is cancelled, wait_for waits until it has
// finished cancelling, then throws timeout_error (a cancellation caused by the deadline never leaks out as
// cancelled_error, and a result that raced the deadline is returned, not lost). std::invalid_argument for a
// NaN timeout; with a timeout <= 0, t is cancelled before it starts (as in Python 3.12) and timeout_error
// thrown.
template <class T>
task<T> wait_for(task<T> t, seconds timeout) {
  sluice::detail::check_loop_timeout(timeout, "sluice::aio::wait_for");
  return detail::wait_for_impl(std::move(t), timeout);
}

enum class return_when { first_completed, first_exception, all_completed };

namespace detail {
template <class T>
task<std::pair<std::vector<handle<T>>, std::vector<handle<T>>>> wait_impl(std::vector<handle<T>> hs,
                                                                           std::optional<seconds> timeout,
                                                                           return_when when) {
  std::optional<clock::time_point> deadline;
  if (timeout) deadline = sluice::detail::loop_deadline_after(*timeout);
  for (;;) {
    std::vector<task_base*> pending;
    bool any_done = false, any_failed = false;
    for (auto& h : hs) {
      task_base* b = h.base_ptr();
      if (!b->done) {
        pending.push_back(b);
      } else {
        any_done = true;
        if (b->error || b->was_cancelled) any_failed = true;
      }
    }
    bool enough = pending.empty() || (when == return_when::first_completed && any_done) ||
                  (when == return_when::first_exception && any_failed);
    bool out_of_time = deadline && *deadline <= clock::now();
    if (enough || out_of_time) {
      std::pair<std::vector<handle<T>>, std::vector<handle<T>>> out;
      for (auto& h : hs) (h.done() ? out.first : out.second).push_back(h);
      co_return out;
    }
    any_done_await a(pending, deadline, false);
    co_await a;
  }
}
}  // namespace detail

// Python: asyncio.wait. Never throws on timeout and never cancels: returns (done, pending). Cancellable
// (cancelled_error; the tasks keep running). std::invalid_argument for an invalid handle or a NaN timeout.
template <class T>
task<std::pair<std::vector<handle<T>>, std::vector<handle<T>>>> wait(std::vector<handle<T>> hs,
                                                                      std::optional<seconds> timeout = std::nullopt,
                                                                      return_when when = return_when::all_completed) {
  for (auto& h : hs) {
    if (!h.valid()) throw std::invalid_argument("sluice::aio::wait: a handle that refers to no task");
  }
  if (timeout) sluice::detail::check_loop_timeout(*timeout, "sluice::aio::wait");
  return detail::wait_impl(std::move(hs), timeout, when);
}

}  // namespace sluice::aio
