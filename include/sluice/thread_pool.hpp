// sluice/thread_pool.hpp -- Python's concurrent.futures for C++: a fixed set of reusable worker threads
// instead of a thread per task (Effective Python, Item 57), futures with Python's state machine,
// as_completed and wait.
//
//   sluice::thread_pool pool(4);
//   auto f = pool.submit([](int x) { return x * x; }, 7);
//   std::cout << f.result() << '\n';                                  // 49
//   auto squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 100));
//   for (auto& done : sluice::as_completed(futures, 5s)) use(done.result());
//
// Thread-safety: every member of thread_pool and future may be called from any thread at once; copies of a
// future share one state. Lifetimes: the destructor is shutdown(true): it runs every queued task, then joins
// the workers. Futures outlive their pool. A pool destroyed on one of its own workers (a task held the last
// owner, say a captured shared_ptr<thread_pool>) cannot join the thread running it: it shuts down without
// waiting and hands its workers the cleanup instead -- they still run every queued task (so every future
// completes), then exit, and the last one frees the pool. Things you must get right: shutdown(wait=true) from
// one of the pool's own tasks is refused with std::logic_error (nothing changes); a task blocking on another
// task's future needs a free worker to run it; a program that ends (returns from main) while an orphaned
// pool's workers still run tasks has the same problem as with any detached thread.
//
// Timeouts (result, exception, wait_for, as_completed, wait) follow the library's one rule: 0 only looks,
// negative or NaN throws std::invalid_argument, more than ~31 years or infinite waits forever.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "export.hpp"
#include "detail/future_state.hpp"

namespace sluice {

using seconds = std::chrono::duration<double>;

class SLUICE_EXPORT cancelled_error : public std::runtime_error {  // Python: CancelledError
 public:
  using std::runtime_error::runtime_error;
};
class SLUICE_EXPORT timeout_error : public std::runtime_error {  // Python: TimeoutError
 public:
  using std::runtime_error::runtime_error;
};
class SLUICE_EXPORT broken_pool : public std::runtime_error {  // Python: BrokenThreadPool (the initializer threw)
 public:
  using std::runtime_error::runtime_error;
};

class thread_pool;
template <class T>
class future;

namespace detail {
[[noreturn]] SLUICE_EXPORT void throw_no_state();
[[noreturn]] SLUICE_EXPORT void throw_cancelled();
[[noreturn]] SLUICE_EXPORT void throw_result_timeout();
template <class T>
future<T> make_future(future_state<T>* adopt) noexcept;
template <class T>
future_state<T>* state_of(const future<T>& f) noexcept;
}  // namespace detail

// A handle to a result that will exist; copies share one state (Python's Future). States: pending, running,
// finished (with a value or an exception) and cancelled. A default-constructed future has no state: every
// member but valid() then throws std::future_error(no_state).
template <class T>
class future {
  using result_ref = std::conditional_t<std::is_void_v<T>, void, std::add_lvalue_reference_t<const T>>;

 public:
  future() noexcept = default;  // holds no state; valid() is false
  bool valid() const noexcept { return state_.get() != nullptr; }

  // Never blocks. True if it was pending (now cancelled, callbacks run in this thread) or already cancelled;
  // false once running or done.
  bool cancel() const { return st().cancel(); }
  bool cancelled() const { return st().status() == detail::future_status::cancelled; }
  bool running() const { return st().status() == detail::future_status::running; }
  bool done() const { return st().done(); }  // finished, failed or cancelled

  // Blocks for the result and returns it; rethrows the task's exception; cancelled_error if cancelled;
  // timeout_error at the deadline (a timeout of 0 only looks); std::invalid_argument for a negative or NaN
  // timeout.
  result_ref result(std::optional<seconds> timeout = std::nullopt) const {
    auto& s = st();
    if (!s.wait_until(detail::deadline_after(timeout))) detail::throw_result_timeout();
    if (s.status() == detail::future_status::cancelled) detail::throw_cancelled();
    if (s.error()) std::rethrow_exception(s.error());
    if constexpr (!std::is_void_v<T>) return s.value();
  }
  // Blocks; the task's exception, null when it succeeded; cancelled_error if cancelled; timeout_error at the
  // deadline.
  std::exception_ptr exception(std::optional<seconds> timeout = std::nullopt) const {
    auto& s = st();
    if (!s.wait_until(detail::deadline_after(timeout))) detail::throw_result_timeout();
    if (s.status() == detail::future_status::cancelled) detail::throw_cancelled();
    return s.error();
  }
  // Blocks until done; never throws the task's exception.
  void wait() const { st().wait_until(std::nullopt); }
  // Blocks until done or the timeout; true if done.
  bool wait_for(seconds timeout) const { return st().wait_until(detail::deadline_after(timeout)); }

  // Runs fn(*this) once done (finished, failed or cancelled): right away in this thread if already done, else in
  // the thread that finishes it (cancel() and shutdown(cancel_futures) run it in the calling thread). An exception
  // from fn goes to the excepthook.
  void add_done_callback(std::function<void(const future&)> fn) const {
    if (!fn) throw std::invalid_argument("sluice::future::add_done_callback: empty function");
    st().add_callback([fn = std::move(fn)](detail::future_state_base* s) {
      s->add_ref();
      fn(detail::make_future(static_cast<detail::future_state<T>*>(s)));
    });
  }

  // Copies of one future compare equal.
  friend bool operator==(const future& a, const future& b) noexcept { return a.state_.get() == b.state_.get(); }

 private:
  friend future detail::make_future<T>(detail::future_state<T>*) noexcept;
  friend detail::future_state<T>* detail::state_of<T>(const future&) noexcept;
  explicit future(detail::future_state<T>* adopt) noexcept : state_(adopt) {}
  detail::future_state<T>& st() const {
    if (!state_.get()) detail::throw_no_state();
    return *static_cast<detail::future_state<T>*>(state_.get());
  }
  detail::state_ref state_;
};

namespace detail {
template <class T>
future<T> make_future(future_state<T>* adopt) noexcept {
  return future<T>(adopt);
}
template <class T>
future_state<T>* state_of(const future<T>& f) noexcept {
  return static_cast<future_state<T>*>(f.state_.get());
}

struct real_sync;  // detail/sync_policy.hpp
template <class Sync>
class basic_pool_core;  // src/pool_core.hpp: a template over the sync policy, for the deterministic tests
using pool_core = basic_pool_core<real_sync>;
struct SLUICE_EXPORT pool_core_deleter {
  void operator()(pool_core* core) const noexcept;
};
// Queues a task holding one reference for the queue; throws (and takes nothing) after shutdown or when broken.
SLUICE_EXPORT void pool_push(pool_core& core, future_state_base* task);
}  // namespace detail

struct SLUICE_EXPORT pool_options {
  std::size_t max_workers = 0;              // 0: std::thread::hardware_concurrency()
  std::string thread_name_prefix{};         // shown by ps/top/gdb as <prefix>_<n>; default "sluice-pool"
  std::function<void()> initializer{};      // runs once in each worker; if it throws the pool is broken: pending
                                            // futures fail with broken_pool and every later submit throws it
};

class SLUICE_EXPORT thread_pool {
 public:
  // Starts the workers now (their initializer runs right away).
  explicit thread_pool(std::size_t max_workers = 0);
  explicit thread_pool(pool_options opts);
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  // shutdown(true): runs every queued task, joins the workers. Called on one of this pool's own workers it
  // never joins (and never throws): shutdown(false), and the workers, detached, finish the queued tasks and free
  // the pool when the last one exits.
  ~thread_pool();

  // Never blocks; one allocation. Throws std::runtime_error("cannot schedule new futures after shutdown"), or
  // broken_pool. f and args are decay-copied and invoked as rvalues in a worker.
  template <class F, class... Args>
  future<std::invoke_result_t<F, Args...>> submit(F&& f, Args&&... args) {
    using result_t = std::invoke_result_t<F, Args...>;
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "sluice::thread_pool::submit: f must be callable with rvalue copies of the arguments");
    auto* task = new detail::task_state<result_t, std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(f), std::forward<Args>(args)...);
    auto fut = detail::make_future<result_t>(task);
    task->add_ref();  // the queue's reference
    try {
      detail::pool_push(*core_, task);
    } catch (...) {
      task->release();
      throw;
    }
    return fut;
  }

  // Blocks until every result is in. Results in input order; rethrows the first failed item's exception (in
  // input order) at once, after cancelling what has not started (it does not wait for running tasks). Reads the
  // input lazily: at most max_workers * 2 tasks submitted but not yet collected (Python 3.14's buffersize), so a
  // long input never floods the pool; an endless input ends only by an exception. Items are copied into the
  // tasks, and f is shared by them, so running tasks never refer to the caller's range. Throws as submit after
  // shutdown.
  template <class F, std::ranges::input_range R>
  std::vector<std::invoke_result_t<F, std::ranges::range_reference_t<R>>> map(F&& f, R&& inputs) {
    using ref_t = std::ranges::range_reference_t<R>;
    using out_t = std::invoke_result_t<F, ref_t>;
    using item_t = std::remove_cvref_t<ref_t>;
    static_assert(!std::is_void_v<out_t>, "sluice::thread_pool::map: f must return a value (use submit for void)");
    static_assert(!std::is_reference_v<out_t>, "sluice::thread_pool::map: f must return a value, not a reference");

    auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
    std::vector<out_t> results;
    std::deque<future<out_t>> window;
    auto cancel_window = [&window]() noexcept {
      for (auto& w : window) w.cancel();
    };
    const std::size_t buffer = 2 * max_workers_;
    auto it = std::ranges::begin(inputs);
    const auto last = std::ranges::end(inputs);
    try {
      for (;;) {
        while (window.size() < buffer && it != last) {
          window.push_back(submit([fn, item = item_t(*it)]() mutable -> out_t {
            if constexpr (std::is_reference_v<ref_t>)
              return std::invoke(*fn, static_cast<ref_t>(item));
            else
              return std::invoke(*fn, std::move(item));
          }));
          ++it;
        }
        if (window.empty()) break;
        auto& front = window.front();
        front.wait();
        auto* s = detail::state_of(front);
        if (s->status() == detail::future_status::cancelled) detail::throw_cancelled();
        if (s->error()) std::rethrow_exception(s->error());
        results.push_back(std::move(s->value()));
        window.pop_front();
      }
    } catch (...) {
      cancel_window();
      throw;
    }
    return results;
  }

  // Python's shutdown: later submits throw. wait: block until the queued and running tasks are done and the
  // workers joined. cancel_futures: cancel every task not yet started (their callbacks run in this thread).
  // Safe to call repeatedly and concurrently. wait=true from one of its own workers throws std::logic_error
  // before it changes anything (the pool keeps accepting submits); shutdown(false) from a worker is fine.
  void shutdown(bool wait = true, bool cancel_futures = false);
  std::size_t max_workers() const noexcept { return max_workers_; }

 private:
  std::unique_ptr<detail::pool_core, detail::pool_core_deleter> core_;
  std::size_t max_workers_ = 0;
};

namespace detail {
template <class T>
std::vector<future<T>> unique_futures(std::span<const future<T>> fs) {
  std::vector<future<T>> out;
  out.reserve(fs.size());
  std::unordered_set<const void*> seen;
  seen.reserve(fs.size());
  for (const auto& f : fs) {
    if (!f.valid()) throw std::invalid_argument("sluice: a future without state was passed to as_completed/wait");
    if (seen.insert(state_of(f)).second) out.push_back(f);
  }
  return out;
}
[[noreturn]] SLUICE_EXPORT void throw_as_completed_timeout(std::size_t unfinished, std::size_t total);
}  // namespace detail

// Yields the futures as they finish: the ones already done first, each once (duplicates are dropped). Throws
// timeout_error ("k (of n) futures unfinished") from begin() or ++ when the deadline, counted from the
// as_completed call, passes. Keeps its own copies of the futures. Single-pass; not thread-safe itself.
template <class T>
class as_completed_range {
 public:
  class iterator {
   public:
    using value_type = future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() noexcept = default;
    const future<T>& operator*() const { return range_->current_; }
    iterator& operator++() {
      range_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class as_completed_range;
    explicit iterator(as_completed_range* r) noexcept : range_(r) {}
    bool at_end() const noexcept { return range_->at_end_; }
    as_completed_range* range_ = nullptr;
  };

  as_completed_range(std::span<const future<T>> fs, std::optional<seconds> timeout)
      : deadline_(detail::deadline_after(timeout)), futures_(detail::unique_futures(fs)) {
    waiter_ = std::make_shared<detail::completion_waiter>(detail::completion_waiter::mode::each, 0);
    for (const auto& f : futures_) {
      auto* s = detail::state_of(f);
      if (s->done() || !s->add_waiter(waiter_)) already_done_.push_back(f);
      else ++pending_;
    }
  }
  as_completed_range(as_completed_range&&) noexcept = default;
  as_completed_range& operator=(as_completed_range&&) = delete;
  ~as_completed_range() {
    if (!waiter_) return;
    for (const auto& f : futures_) detail::state_of(f)->remove_waiter(waiter_.get());
  }

  // Blocks until the first future is done (or throws timeout_error).
  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() noexcept { return {}; }

 private:
  void advance() {
    if (next_done_ < already_done_.size()) {
      current_ = already_done_[next_done_++];
      return;
    }
    if (pending_ == 0) {
      current_ = future<T>();
      at_end_ = true;
      return;
    }
    auto* s = waiter_->next(deadline_);
    if (!s) detail::throw_as_completed_timeout(pending_, futures_.size());
    --pending_;
    s->add_ref();
    current_ = detail::make_future(static_cast<detail::future_state<T>*>(s));
  }

  detail::steady_deadline deadline_;
  std::vector<future<T>> futures_;
  std::vector<future<T>> already_done_;
  std::shared_ptr<detail::completion_waiter> waiter_;
  std::size_t next_done_ = 0;
  std::size_t pending_ = 0;
  future<T> current_;
  bool started_ = false;
  bool at_end_ = false;
};

// Throws std::invalid_argument for a future without state; the timeout covers the whole iteration.
template <class T>
as_completed_range<T> as_completed(std::span<const future<T>> fs, std::optional<seconds> timeout = std::nullopt) {
  return as_completed_range<T>(fs, timeout);
}
template <class T>
as_completed_range<T> as_completed(const std::vector<future<T>>& fs, std::optional<seconds> timeout = std::nullopt) {
  return as_completed_range<T>(std::span<const future<T>>(fs), timeout);
}

// Blocks until the condition holds or the deadline. Never throws timeout_error: at the deadline it returns what
// is done. first_exception returns when a future fails (cancelled is not failed), or else behaves as
// all_completed. Duplicates are dropped; both lists keep the input order.
enum class return_when { first_completed, first_exception, all_completed };
template <class T>
struct wait_result {
  std::vector<future<T>> done;
  std::vector<future<T>> not_done;
};
template <class T>
wait_result<T> wait(const std::vector<future<T>>& fs, std::optional<seconds> timeout = std::nullopt,
                    return_when when = return_when::all_completed) {
  auto futures = detail::unique_futures(std::span<const future<T>>(fs));
  const auto deadline = detail::deadline_after(timeout);
  auto split = [&futures] {
    wait_result<T> r;
    for (auto& f : futures) (f.done() ? r.done : r.not_done).push_back(f);
    return r;
  };
  auto r = split();
  if (when == return_when::first_completed && !r.done.empty()) return r;
  if (when == return_when::first_exception) {
    for (auto& f : r.done)
      if (detail::state_of(f)->failed()) return r;
  }
  if (r.not_done.empty()) return r;

  using wm = detail::completion_waiter::mode;
  const wm m = when == return_when::first_completed   ? wm::first_completed
               : when == return_when::first_exception ? wm::first_exception
                                                      : wm::all_completed;
  auto waiter = std::make_shared<detail::completion_waiter>(m, r.not_done.size());
  for (auto& f : r.not_done) {
    auto* s = detail::state_of(f);
    if (!s->add_waiter(waiter)) waiter->on_done(s);  // finished in between: count it as if notified
  }
  waiter->wait_ready(deadline);
  for (auto& f : r.not_done) detail::state_of(f)->remove_waiter(waiter.get());
  return split();
}

}  // namespace sluice
