// sluice/detail/aio_core.hpp -- the event loop's plumbing that sluice::aio's templates need (internal).
//
// A task is suspended on exactly one `waiter` at a time. Its source (a timer, a descriptor, a list of
// waiters on an event, a queue, another task) fires the waiter, which puts the task on the loop's ready
// list; a cancellation detaches the waiter from its source instead and fires it as cancelled. Waiters,
// timer nodes and list links live inside the awaiting coroutine's frame, so an await allocates nothing.
#pragma once
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <vector>

#include "../export.hpp"

namespace sluice::aio::detail {

using clock = std::chrono::steady_clock;

struct task_base;
class loop_impl;
struct remote_queue;

// Coroutine frames come from a per-thread pool of size classes, so that the library's own short coroutines
// (sleep, a queue get, a stream read) reuse frames instead of calling operator new on every await.
SLUICE_EXPORT void* frame_alloc(std::size_t n);
SLUICE_EXPORT void frame_free(void* p, std::size_t n) noexcept;

// A symmetric transfer to `next` that cannot overflow the stack: see loop_impl::transfer.
SLUICE_EXPORT std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept;

// What a suspended task waits on.
struct SLUICE_EXPORT waiter {
  task_base* task = nullptr;
  std::coroutine_handle<> resume{};
  // Detaches the waiter from its source on cancellation and returns true (the task then resumes with
  // cancelled_error), or returns false to keep waiting (the cancellation was passed on, e.g. to an awaited
  // task). Null: the wait is shielded, and the cancellation is delivered at the next await.
  bool (*on_cancel)(waiter*) noexcept = nullptr;
  void* context = nullptr;  // for on_cancel
  bool fired = false;
  bool cancelled = false;
  waiter* prev = nullptr;  // links in a waiter_list
  waiter* next = nullptr;
  bool linked = false;
};

// FIFO of waiters (an event's, a lock's, a queue's getters), intrusive: no allocation.
class SLUICE_EXPORT waiter_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  waiter* front() const noexcept { return head_; }
  void push_back(waiter* w) noexcept;
  void remove(waiter* w) noexcept;  // no-op when not linked
  waiter* pop_front() noexcept;

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
};

// A deadline in the loop's timer heap; calls fn when due (on the loop thread).
struct SLUICE_EXPORT timer_node {
  clock::time_point when{};
  std::size_t index = static_cast<std::size_t>(-1);  // position in the heap; -1 when not armed
  void (*fn)(timer_node*) noexcept = nullptr;
  void* context = nullptr;
  bool armed() const noexcept { return index != static_cast<std::size_t>(-1); }
};

// A descriptor watched by the loop, edge-triggered: the readiness flags are set by the loop and cleared by
// the reader or writer on EAGAIN, which then waits with its waiter in `reader` / `writer`.
struct SLUICE_EXPORT io_state {
  int fd = -1;
  bool readable = false;
  bool writable = false;
  bool hangup = false;  // EPOLLHUP / EPOLLERR seen: reads and writes will not block any more
  bool registered = false;
  bool always_ready = false;  // epoll refuses the descriptor (a regular file): reads never wait
  waiter* reader = nullptr;
  waiter* writer = nullptr;
  // Called when writable and no task waits in `writer` (a stream_writer flushing its buffer in the background),
  // and when readable and no task waits in `reader` (a child's exit seen on its pidfd).
  void (*on_writable)(io_state*) noexcept = nullptr;
  void (*on_readable)(io_state*) noexcept = nullptr;
  void* owner = nullptr;
};

// A wake-up that another thread hands to the loop (thread-safe queue, intrusive).
struct SLUICE_EXPORT remote_node {
  remote_node* next = nullptr;
  void (*run)(remote_node*) noexcept = nullptr;
  bool queued = false;  // guarded by the loop's remote mutex
};

// The state of a task. Every coroutine promise of sluice::aio derives from it; only the promise at the root
// of a task started by create_task/run uses the bookkeeping part, so a created task is one allocation.
struct SLUICE_EXPORT task_base {
  // Nested awaiting (co_await another task<T>): who resumes when this coroutine ends.
  std::coroutine_handle<> continuation{};
  std::exception_ptr error{};

  // --- bookkeeping of a created task ---
  loop_impl* loop = nullptr;
  std::coroutine_handle<> frame{};      // this root coroutine's own frame
  std::coroutine_handle<> resume_at{};  // where the task continues when it is next run
  waiter* waiting_on = nullptr;         // the wait it is suspended in, if any
  std::uint32_t refs = 0;               // handles + the loop while running
  bool root = false;
  bool started = false;
  bool done = false;
  bool cancel_requested = false;
  bool was_cancelled = false;   // ended by cancelled_error
  bool retrieved = false;       // its exception was looked at (no excepthook report)
  bool in_ready = false;
  task_base* next_ready = nullptr;
  task_base* prev_live = nullptr;  // the loop's list of unfinished tasks
  task_base* next_live = nullptr;
  waiter_list done_waiters;        // tasks awaiting this one
  std::vector<std::function<void()>> done_callbacks;
  void (*report_unretrieved)(task_base*) noexcept = nullptr;

  void add_ref() noexcept { ++refs; }
  void release() noexcept;  // destroys the frame at zero
  bool request_cancel() noexcept;  // handle::cancel
  std::exception_ptr outcome() const noexcept;  // the exception, or cancelled_error when cancelled
};

// The event loop of one thread (epoll + pidfd + timerfd + eventfd). See event_loop in sluice/aio/task.hpp
// for the public face.
class SLUICE_EXPORT loop_impl {
 public:
  loop_impl();
  ~loop_impl();
  loop_impl(const loop_impl&) = delete;
  loop_impl& operator=(const loop_impl&) = delete;

  static loop_impl* current() noexcept;  // the loop running on this thread, or null
  static loop_impl& require();           // std::logic_error when there is none

  task_base* current_task() const noexcept { return current_; }
  task_base& require_task() const;  // std::logic_error outside a task

  // Scheduling.
  void start(task_base* t);  // a new task: runs at the next turn
  void schedule(task_base* t, std::coroutine_handle<> h) noexcept;
  void fire(waiter* w) noexcept;           // no-op once fired
  void fire_cancelled(waiter* w) noexcept;
  void call_soon(std::function<void()> fn);
  void suspend(waiter* w, std::coroutine_handle<> h) noexcept;  // the current task now waits on w
  // Where a symmetric transfer from the running task goes: `next`, or, once the task has used more than
  // transfer_stack_limit of stack since the loop resumed it, the loop (next runs at the next turn, on a fresh
  // stack). The transfer is a tail call only where the compiler makes one (g++ -O2 without sanitizers); at -O0
  // or under ASan each one nests a call, and a loop of awaits that complete at once would overflow the stack.
  std::coroutine_handle<> transfer(std::coroutine_handle<> next) noexcept;
  static constexpr std::size_t transfer_stack_limit = 64 * 1024;

  // Runs turns until `until` is done (or, with null, until no task is left).
  void run_until(task_base* until);
  void cancel_all() noexcept;
  bool has_live_tasks() const noexcept { return live_head_ != nullptr; }

  // Timers.
  double time() const noexcept;
  void add_timer(timer_node* t) noexcept;  // t->when set by the caller; heap growth may allocate once
  void remove_timer(timer_node* t) noexcept;

  // Descriptors.
  void watch(io_state& s);  // registers (edge-triggered, in and out); a regular file becomes always_ready
  void unwatch(io_state& s) noexcept;
  void notify_readable(io_state& s) noexcept;  // sets readable; fires the reader or calls on_readable

  // Children whose exit the loop must see without a pidfd (the fallback): polled by a timer.
  void watch_child_without_pidfd(io_state& s, int pid);
  void unwatch_child_without_pidfd(io_state& s) noexcept;

  // Thread-safe.
  std::shared_ptr<remote_queue> remote() const noexcept { return remote_; }
  void cancel_remote(remote_node* n) noexcept;  // on the loop thread: unqueues a node not yet run

  // Signals (on the loop thread).
  void add_signal_handler(int signum, std::function<void()> fn);
  bool remove_signal_handler(int signum);

  void note_unretrieved(task_base* t) noexcept;
  void forget_unretrieved(task_base* t) noexcept;
  void report_unretrieved() noexcept;  // run() ends: report every failure nobody looked at
  void finish_task(task_base* t) noexcept;  // from a root coroutine's final suspend

 private:
  void run_ready();
  void poll_events(bool block);
  void expire_timers();
  void drain_remote();
  void rearm_timerfd();
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void resume_task(task_base* t);
  void link_live(task_base* t) noexcept;
  void unlink_live(task_base* t) noexcept;
  void poll_children() noexcept;
  friend struct task_base;

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  clock::time_point timer_armed_for_ = clock::time_point::max();
  std::shared_ptr<remote_queue> remote_;
  task_base* current_ = nullptr;
  const char* resumed_at_sp_ = nullptr;  // the stack pointer when the loop resumed current_
  task_base* ready_head_ = nullptr;
  task_base* ready_tail_ = nullptr;
  task_base* live_head_ = nullptr;
  std::vector<std::function<void()>> soon_;
  std::vector<timer_node*> heap_;
  std::vector<std::pair<io_state*, int>> unpidfd_children_;
  timer_node child_poll_timer_;
  double child_poll_interval_ = 0.001;
  std::vector<std::pair<int, std::function<void()>>> signal_handlers_;
  std::shared_ptr<void> sigpipe_blocked_;  // the loop's writes to a closed pipe give EPIPE, never SIGPIPE
  std::vector<task_base*> unretrieved_;  // failed tasks whose exception nobody has looked at yet
  friend void child_poll_due(timer_node*) noexcept;
};

// The thread-safe part of a loop, shared with other threads so that they may post to it after it ended
// (the post is then refused).
struct SLUICE_EXPORT remote_queue {
  std::mutex mu;
  remote_node* head = nullptr;
  remote_node* tail = nullptr;
  std::vector<std::function<void()>> calls;
  bool closed = false;
  int wake_fd = -1;  // eventfd
  std::atomic<bool> wake_pending{false};
  std::atomic<std::uint64_t> signals_pending{0};  // bit per signal number < 64

  bool post(remote_node* n) noexcept;           // false once the loop ended
  bool post_call(std::function<void()> fn);     // likewise
  void wake_locked() noexcept;  // with mu held
};

// Awaiter plumbing shared by the library's awaits: a pending cancellation is delivered before suspending.
struct SLUICE_EXPORT cancellable_await {
  waiter w{};
  bool cancel_pending_on_entry() {
    task_base& t = loop_impl::require().require_task();
    w.task = &t;
    if (t.cancel_requested) {
      t.cancel_requested = false;
      return true;
    }
    return false;
  }
  // The usual await_ready: a pending cancellation ends the wait before it suspends (await_resume then throws
  // cancelled_error); otherwise the awaiter suspends.
  bool await_ready() {
    if (!cancel_pending_on_entry()) return false;
    w.cancelled = true;
    return true;
  }
};

// A cancellable await that may also end at a deadline, on the loop's timer heap: deadline_passed() in
// await_ready, arm_deadline() in await_suspend (at the deadline timed_out is set and w fired), disarm_deadline()
// when the await is over or cancelled. No deadline (nullopt): none of them does anything.
struct SLUICE_EXPORT deadline_await : cancellable_await {
  std::optional<clock::time_point> deadline;
  timer_node timer{};
  bool timed_out = false;

  explicit deadline_await(std::optional<clock::time_point> d) noexcept : deadline(d) {}
  bool deadline_passed() noexcept {
    if (!deadline || *deadline > clock::now()) return false;
    timed_out = true;
    return true;
  }
  void arm_deadline(loop_impl& loop) noexcept {
    if (!deadline) return;
    timer.when = *deadline;
    timer.context = this;
    timer.fn = [](timer_node* t) noexcept {
      auto* self = static_cast<deadline_await*>(t->context);
      self->timed_out = true;
      loop_impl::require().fire(&self->w);
    };
    loop.add_timer(&timer);
  }
  void disarm_deadline() noexcept {
    if (timer.armed()) loop_impl::require().remove_timer(&timer);
  }
};

[[noreturn]] SLUICE_EXPORT void throw_cancelled();
// Called in await_resume: throws cancelled_error when the wait was cancelled (consuming the request).
inline void resume_or_throw(waiter& w) {
  if (w.cancelled) {
    if (w.task) w.task->cancel_requested = false;
    throw_cancelled();
  }
}

}  // namespace sluice::aio::detail
