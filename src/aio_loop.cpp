// src/aio_loop.cpp -- sluice::aio's event loop: the ready list, the timer heap, epoll, wake-ups from other
// threads and signals; the task bookkeeping (cancel, finish, unretrieved failures); run(). Frames: aio_frames.cpp;
// sleep and event_loop: aio_sleep.cpp.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "posix/platform.hpp"
#include "sluice/detail/deadline.hpp"
#include "sluice/aio/task.hpp"
#include "sluice/thread.hpp"

namespace sluice::aio::detail {

namespace os = sluice::detail::os;

// ---- small helpers ---------------------------------------------------------------------------------------
void throw_cancelled() { throw cancelled_error("sluice::aio: the task was cancelled"); }
void throw_moved_from(const char* what) { throw std::logic_error(what); }
void throw_not_done() { throw std::logic_error("sluice::aio::handle: the task is not done yet"); }

void waiter_list::push_back(waiter* w) noexcept {
  w->prev = tail_;
  w->next = nullptr;
  if (tail_) {
    tail_->next = w;
  } else {
    head_ = w;
  }
  tail_ = w;
  w->linked = true;
}

void waiter_list::remove(waiter* w) noexcept {
  if (!w->linked) return;
  (w->prev ? w->prev->next : head_) = w->next;
  (w->next ? w->next->prev : tail_) = w->prev;
  w->prev = w->next = nullptr;
  w->linked = false;
}

waiter* waiter_list::pop_front() noexcept {
  waiter* w = head_;
  if (w) remove(w);
  return w;
}

// ---- tasks -----------------------------------------------------------------------------------------------
void task_base::release() noexcept {
  if (--refs != 0) return;
  if (done && error && !retrieved && !was_cancelled) {
    if (loop) loop->forget_unretrieved(this);
    sluice::detail::call_excepthook(error, std::this_thread::get_id());
  }
  frame.destroy();
}

bool task_base::request_cancel() noexcept {
  if (done) return false;
  cancel_requested = true;
  waiter* w = waiting_on;
  if (w && !w->fired && w->on_cancel && w->on_cancel(w)) loop->fire_cancelled(w);
  return true;
}

std::exception_ptr task_base::outcome() const noexcept {
  if (was_cancelled) return std::make_exception_ptr(cancelled_error("sluice::aio: the task was cancelled"));
  return error;
}

void start_task(task_base* t, std::coroutine_handle<> frame) {
  loop_impl& loop = loop_impl::require();
  t->root = true;
  t->loop = &loop;
  t->frame = frame;
  loop.start(t);
}

namespace {
bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

thread_local loop_impl* running_loop = nullptr;
}  // namespace

// ---- the remote queue ------------------------------------------------------------------------------------
bool remote_queue::post(remote_node* n) noexcept {
  std::lock_guard lk(mu);
  if (closed) return false;
  if (n->queued) return true;
  n->queued = true;
  n->next = nullptr;
  (tail ? tail->next : head) = n;
  tail = n;
  wake_locked();
  return true;
}

bool remote_queue::post_call(std::function<void()> fn) {
  std::lock_guard lk(mu);
  if (closed) return false;
  calls.push_back(std::move(fn));
  wake_locked();
  return true;
}

// One eventfd write per batch of posts. The flag is set and cleared under the lock, together with the list:
// a post after the loop took the list always writes, and the write happens before the loop can close the
// descriptor. (Cleared outside the lock, a post landing between the loop's drain of the eventfd and its taking
// of the list could see the flag still set, skip the write, and wait unseen.)
void remote_queue::wake_locked() noexcept {
  if (wake_pending.exchange(true, std::memory_order_relaxed)) return;
  os::eventfd_post(wake_fd);
}

// ---- the loop --------------------------------------------------------------------------------------------
namespace {
// epoll data for the loop's own descriptors (io_state pointers are the rest).
char timer_tag;
char wake_tag;

[[noreturn]] void throw_os(const char* what) { throw std::system_error(errno, std::generic_category(), what); }
}  // namespace

void child_poll_due(timer_node* t) noexcept { static_cast<loop_impl*>(t->context)->poll_children(); }

loop_impl::loop_impl() : remote_(std::make_shared<remote_queue>()) {
  epoll_fd_ = os::epoll_open();
  if (epoll_fd_ < 0) throw_os("sluice::aio: epoll_create1");
  timer_fd_ = os::timerfd_open();
  remote_->wake_fd = os::eventfd_open();
  if (timer_fd_ < 0 || remote_->wake_fd < 0) {
    int e = errno;
    os::close_fd(epoll_fd_);
    os::close_fd(timer_fd_);
    os::close_fd(remote_->wake_fd);
    errno = e;
    throw_os("sluice::aio: timerfd/eventfd");
  }
  os::epoll_watch_in(epoll_fd_, timer_fd_, &timer_tag);
  os::epoll_watch_in(epoll_fd_, remote_->wake_fd, &wake_tag);
  child_poll_timer_.fn = &child_poll_due;
  child_poll_timer_.context = this;
  heap_.reserve(64);
  sigpipe_blocked_ = std::make_shared<os::sigpipe_guard>();
}

loop_impl::~loop_impl() {
  for (auto& [signum, fn] : signal_handlers_) os::restore_signal(signum);
  {
    std::lock_guard lk(remote_->mu);
    remote_->closed = true;
    remote_->calls.clear();
    remote_->head = remote_->tail = nullptr;
  }
  os::close_fd(remote_->wake_fd);
  remote_->wake_fd = -1;
  os::close_fd(timer_fd_);
  os::close_fd(epoll_fd_);
}

loop_impl* loop_impl::current() noexcept { return running_loop; }

loop_impl& loop_impl::require() {
  if (!running_loop) throw std::logic_error("sluice::aio: no event loop runs on this thread");
  return *running_loop;
}

task_base& loop_impl::require_task() const {
  if (!current_) throw std::logic_error("sluice::aio: awaited outside a task of the running loop");
  return *current_;
}

void loop_impl::start(task_base* t) {
  t->add_ref();  // the loop's, until the task ends
  link_live(t);
  schedule(t, t->frame);
}

void loop_impl::schedule(task_base* t, std::coroutine_handle<> h) noexcept {
  t->resume_at = h;
  if (t->in_ready) return;
  t->in_ready = true;
  t->next_ready = nullptr;
  (ready_tail_ ? ready_tail_->next_ready : ready_head_) = t;
  ready_tail_ = t;
}

std::coroutine_handle<> loop_impl::transfer(std::coroutine_handle<> next) noexcept {
  const char* here = static_cast<const char*>(__builtin_frame_address(0));
  if (current_ == nullptr || resumed_at_sp_ == nullptr ||
      static_cast<std::size_t>(resumed_at_sp_ - here) < transfer_stack_limit)
    return next;
  schedule(current_, next);
  return std::noop_coroutine();
}

std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
  loop_impl* loop = loop_impl::current();
  return loop ? loop->transfer(next) : next;
}

void loop_impl::fire(waiter* w) noexcept {
  if (w->fired) return;
  w->fired = true;
  if (w->task->waiting_on == w) w->task->waiting_on = nullptr;
  schedule(w->task, w->resume);
}

void loop_impl::fire_cancelled(waiter* w) noexcept {
  if (w->fired) return;
  w->cancelled = true;
  fire(w);
}

void loop_impl::suspend(waiter* w, std::coroutine_handle<> h) noexcept {
  w->task = current_;
  w->resume = h;
  w->fired = false;
  w->cancelled = false;
  current_->waiting_on = w;
}

void loop_impl::call_soon(std::function<void()> fn) { soon_.push_back(std::move(fn)); }

void loop_impl::link_live(task_base* t) noexcept {
  t->prev_live = nullptr;
  t->next_live = live_head_;
  if (live_head_) live_head_->prev_live = t;
  live_head_ = t;
}

void loop_impl::unlink_live(task_base* t) noexcept {
  (t->prev_live ? t->prev_live->next_live : live_head_) = t->next_live;
  if (t->next_live) t->next_live->prev_live = t->prev_live;
  t->prev_live = t->next_live = nullptr;
}

void loop_impl::finish_task(task_base* t) noexcept {
  t->done = true;
  t->waiting_on = nullptr;
  if (t->error && is_cancellation(t->error)) {
    t->was_cancelled = true;
    t->error = nullptr;
  }
  while (waiter* w = t->done_waiters.pop_front()) fire(w);
  for (auto& cb : t->done_callbacks) soon_.push_back(std::move(cb));
  t->done_callbacks.clear();
  unlink_live(t);
  if (t->error && !t->retrieved) note_unretrieved(t);
}

void loop_impl::resume_task(task_base* t) {
  t->in_ready = false;
  if (!t->started && t->cancel_requested) {
    // Cancelled before it ran: the body never starts.
    t->started = true;
    t->cancel_requested = false;
    t->error = std::make_exception_ptr(cancelled_error("sluice::aio: the task was cancelled"));
    finish_task(t);
  } else {
    t->started = true;
    current_ = t;
    resumed_at_sp_ = static_cast<const char*>(__builtin_frame_address(0));
    t->resume_at.resume();
    current_ = nullptr;
    resumed_at_sp_ = nullptr;
  }
  if (t->done) t->release();  // the loop's reference
}

void loop_impl::run_ready() {
  if (!soon_.empty()) {
    std::vector<std::function<void()>> calls;
    calls.swap(soon_);
    for (auto& fn : calls) {
      try {
        fn();
      } catch (...) {
        sluice::detail::call_excepthook(std::current_exception(), std::this_thread::get_id());
      }
    }
  }
  // Only what was ready at the start of the turn runs now: a task that yields (sleep(0)) runs next turn.
  task_base* t = std::exchange(ready_head_, nullptr);
  ready_tail_ = nullptr;
  while (t) {
    task_base* next = t->next_ready;
    resume_task(t);
    t = next;
  }
}

double loop_impl::time() const noexcept {
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

void loop_impl::sift_up(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->when <= n->when) break;
    heap_[i] = heap_[parent];
    heap_[i]->index = i;
    i = parent;
  }
  heap_[i] = n;
  n->index = i;
}

void loop_impl::sift_down(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1]->when < heap_[child]->when) ++child;
    if (n->when <= heap_[child]->when) break;
    heap_[i] = heap_[child];
    heap_[i]->index = i;
    i = child;
  }
  heap_[i] = n;
  n->index = i;
}

void loop_impl::add_timer(timer_node* t) noexcept {
  if (t->armed()) remove_timer(t);
  heap_.push_back(t);
  sift_up(heap_.size() - 1);
}

void loop_impl::remove_timer(timer_node* t) noexcept {
  if (!t->armed()) return;
  std::size_t i = t->index;
  t->index = static_cast<std::size_t>(-1);
  timer_node* last = heap_.back();
  heap_.pop_back();
  if (last == t) return;
  heap_[i] = last;
  last->index = i;
  sift_down(i);
  sift_up(last->index);
}

void loop_impl::rearm_timerfd() {
  clock::time_point next = heap_.empty() ? clock::time_point::max() : heap_.front()->when;
  if (next == timer_armed_for_) return;
  timer_armed_for_ = next;
  os::timerfd_arm(timer_fd_, next);
}

void loop_impl::expire_timers() {
  if (heap_.empty()) return;
  auto now = clock::now();
  while (!heap_.empty() && heap_.front()->when <= now) {
    timer_node* t = heap_.front();
    remove_timer(t);
    t->fn(t);
  }
}

void loop_impl::watch(io_state& s) {
  if (s.registered || s.always_ready) return;
  if (os::epoll_watch(epoll_fd_, s.fd, &s) == 0) {
    s.registered = true;
    return;
  }
  if (errno == EPERM && os::is_regular_file(s.fd)) {
    // epoll refuses regular files; reading one never waits for a writer, so it is always ready.
    s.always_ready = s.readable = s.writable = true;
    return;
  }
  throw_os("sluice::aio: epoll_ctl");
}

void loop_impl::unwatch(io_state& s) noexcept {
  if (s.registered) os::epoll_forget(epoll_fd_, s.fd);
  s.registered = false;
}

void loop_impl::notify_readable(io_state& s) noexcept {
  s.readable = true;
  if (s.reader) {
    fire(s.reader);
  } else if (s.on_readable) {
    s.on_readable(&s);
  }
}

void loop_impl::watch_child_without_pidfd(io_state& s, int pid) {
  unpidfd_children_.emplace_back(&s, pid);
  child_poll_interval_ = 0.001;
  child_poll_timer_.when = clock::now() + std::chrono::milliseconds(1);
  add_timer(&child_poll_timer_);
}

void loop_impl::unwatch_child_without_pidfd(io_state& s) noexcept {
  std::erase_if(unpidfd_children_, [&](auto& e) { return e.first == &s; });
  if (unpidfd_children_.empty()) remove_timer(&child_poll_timer_);
}

// Without a pidfd the loop looks at each of its children with waitid(WNOWAIT) -- never waitpid(-1), which
// would reap other code's children -- on a timer that backs off from 1 ms to 50 ms while nothing ends.
void loop_impl::poll_children() noexcept {
  bool ended_any = false;
  for (auto& [s, pid] : unpidfd_children_) {
    if (s->readable) continue;
    if (os::child_has_ended(pid)) {
      ended_any = true;
      notify_readable(*s);
    }
  }
  child_poll_interval_ = ended_any ? 0.001 : std::min(child_poll_interval_ * 2, 0.05);
  if (!unpidfd_children_.empty()) {
    child_poll_timer_.when =
        clock::now() + std::chrono::duration_cast<clock::duration>(seconds(child_poll_interval_));
    add_timer(&child_poll_timer_);
  }
}

void loop_impl::cancel_remote(remote_node* n) noexcept {
  std::lock_guard lk(remote_->mu);
  if (!n->queued) return;
  remote_node* prev = nullptr;
  for (remote_node* p = remote_->head; p; prev = p, p = p->next) {
    if (p != n) continue;
    (prev ? prev->next : remote_->head) = p->next;
    if (remote_->tail == p) remote_->tail = prev;
    break;
  }
  n->queued = false;
}

void loop_impl::drain_remote() {
  os::eventfd_drain(remote_->wake_fd);
  remote_node* nodes;
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lk(remote_->mu);
    remote_->wake_pending.store(false, std::memory_order_relaxed);
    nodes = std::exchange(remote_->head, nullptr);
    remote_->tail = nullptr;
    for (remote_node* n = nodes; n; n = n->next) n->queued = false;
    calls.swap(remote_->calls);
  }
  while (nodes) {
    remote_node* next = nodes->next;
    nodes->run(nodes);
    nodes = next;
  }
  for (auto& fn : calls) soon_.push_back(std::move(fn));
  if (std::uint64_t sigs = remote_->signals_pending.exchange(0, std::memory_order_acq_rel)) {
    for (auto& [signum, fn] : signal_handlers_) {
      if (sigs & (std::uint64_t{1} << signum)) soon_.push_back(fn);
    }
  }
}

void loop_impl::poll_events(bool block) {
  if (block) rearm_timerfd();
  os::ready_event evs[256];
  int n = os::epoll_next(epoll_fd_, evs, 256, block);
  if (n < 0) throw_os("sluice::aio: epoll_wait");
  for (int i = 0; i < n; ++i) {
    void* data = evs[i].data;
    if (data == &timer_tag) {
      os::timerfd_drain(timer_fd_);
      timer_armed_for_ = clock::time_point::max();  // it fired: rearm when next blocking
      continue;
    }
    if (data == &wake_tag) {
      drain_remote();
      continue;
    }
    auto* s = static_cast<io_state*>(data);
    unsigned e = evs[i].events;
    if (e & (os::ev_hup | os::ev_err)) s->hangup = true;
    if (e & (os::ev_in | os::ev_hup | os::ev_err)) notify_readable(*s);
    if (e & (os::ev_out | os::ev_err)) {
      s->writable = true;
      if (s->writer) {
        fire(s->writer);
      } else if (s->on_writable) {
        s->on_writable(s);
      }
    }
  }
  expire_timers();
}

void loop_impl::run_until(task_base* until) {
  // While tasks are ready, the descriptors and timers are looked at (epoll_wait without blocking) only every
  // few turns: that system call costs more than a turn that hands a value from one task to another, and
  // polling every turn made it most of a queue round trip. A busy loop still sees I/O within a few turns.
  constexpr unsigned busy_turns_per_poll = 16;
  unsigned busy_turns = 0;
  for (;;) {
    run_ready();
    if (until ? until->done : live_head_ == nullptr) return;
    bool idle = ready_head_ == nullptr && soon_.empty();
    if (idle && !heap_.empty() && heap_.front()->when <= clock::now()) {
      expire_timers();
      continue;
    }
    if (!idle && ++busy_turns < busy_turns_per_poll) continue;
    busy_turns = 0;
    poll_events(idle);
  }
}

void loop_impl::cancel_all() noexcept {
  for (task_base* t = live_head_; t; t = t->next_live) t->request_cancel();
}

void loop_impl::note_unretrieved(task_base* t) noexcept {
  try {
    unretrieved_.push_back(t);
  } catch (...) {
  }
}

void loop_impl::forget_unretrieved(task_base* t) noexcept { std::erase(unretrieved_, t); }

void loop_impl::report_unretrieved() noexcept {
  auto failed = std::move(unretrieved_);
  unretrieved_.clear();
  for (task_base* t : failed) {
    if (t->retrieved) continue;
    t->retrieved = true;
    sluice::detail::call_excepthook(t->error, std::this_thread::get_id());
  }
}

void loop_impl::add_signal_handler(int signum, std::function<void()> fn) {
  if (signum <= 0 || signum >= 64 || signum == SIGKILL || signum == SIGSTOP)
    throw std::invalid_argument("sluice::aio::add_signal_handler: signal " + std::to_string(signum) +
                                " cannot be handled");
  if (!fn) throw std::invalid_argument("sluice::aio::add_signal_handler: empty function");
  for (auto& [s, f] : signal_handlers_) {
    if (s == signum) {
      f = std::move(fn);
      return;
    }
  }
  signal_handlers_.emplace_back(signum, std::move(fn));
  if (int e = os::forward_signal(signum, remote_->wake_fd, &remote_->signals_pending)) {
    signal_handlers_.pop_back();
    throw std::system_error(e, std::generic_category(), "sluice::aio::add_signal_handler");
  }
}

bool loop_impl::remove_signal_handler(int signum) {
  auto it = std::find_if(signal_handlers_.begin(), signal_handlers_.end(),
                         [&](auto& e) { return e.first == signum; });
  if (it == signal_handlers_.end()) return false;
  signal_handlers_.erase(it);
  os::restore_signal(signum);
  return true;
}

// ---- run() -----------------------------------------------------------------------------------------------
loop_runner::loop_runner() {
  if (running_loop) throw std::logic_error("sluice::aio::run: an event loop already runs on this thread");
  loop_ = std::make_unique<loop_impl>();
  running_loop = loop_.get();
}

loop_runner::~loop_runner() {
  if (loop_) finish();
  running_loop = nullptr;
}

void loop_runner::run_until(task_base* main) { loop_->run_until(main); }

void loop_runner::finish() noexcept {
  if (!loop_) return;
  // Tasks still running are cancelled and waited for; one that shrugs the cancellation off is asked again
  // at each turn, so run() cannot end while a task of its loop is still alive.
  while (loop_->has_live_tasks()) {
    loop_->cancel_all();
    try {
      loop_->run_until(nullptr);
    } catch (...) {
      sluice::detail::call_excepthook(std::current_exception(), std::this_thread::get_id());
    }
  }
  try {
    loop_->run_until(nullptr);  // done callbacks scheduled by the last tasks
  } catch (...) {
  }
  loop_->report_unretrieved();
}

}  // namespace sluice::aio::detail
