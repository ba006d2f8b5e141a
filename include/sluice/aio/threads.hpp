// sluice/aio/threads.hpp -- threads and coroutines together (Effective Python, Item 62): awaiting a thread-safe
// sluice::queue, a thread_pool future, or a blocking call run on a pool thread (Python: asyncio.to_thread,
// asyncio.wrap_future).
//
//   sluice::queue<std::string> lines(64);                  // filled by an ordinary thread
//   std::string s = co_await aio::get(lines);              // the loop keeps running meanwhile
//   auto digest = co_await aio::to_thread([&] { return sha256(file); });
//
// Thread-safety: the awaits belong to the loop's thread; the queue and the pool are shared with any thread.
// No polling and no helper thread: the queue and the future wake the loop through its eventfd.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "../export.hpp"
#include "../queue.hpp"
#include "../thread_pool.hpp"
#include "../detail/queue_access.hpp"
#include "task.hpp"

namespace sluice {

namespace aio {
namespace detail {

// Suspends until a sluice::detail::event_count is notified, after `attempt()` failed once more with the
// registration in place (so no notification is missed). Cancelling a wait that was already woken passes the
// wake-up on to the next waiter.
template <class Attempt>
struct event_count_await : cancellable_await {
  sluice::detail::event_count& ec;
  Attempt& attempt;  // true when it succeeded: no need to wait
  struct registration : sluice::detail::async_waiter {
    event_count_await* self;
  } reg{};
  struct wake_node : remote_node {
    event_count_await* self;
  } node{};
  std::shared_ptr<remote_queue> remote{};
  loop_impl* loop = nullptr;

  event_count_await(sluice::detail::event_count& e, Attempt& a) : ec(e), attempt(a) {}
  bool await_suspend(std::coroutine_handle<> h) {
    loop = &loop_impl::require();
    remote = loop->remote();
    reg.self = this;
    reg.wake = [](sluice::detail::async_waiter* a) noexcept {
      auto* self = static_cast<registration*>(a)->self;
      self->remote->post(&self->node);
    };
    node.self = this;
    node.run = [](remote_node* n) noexcept {
      auto* self = static_cast<wake_node*>(n)->self;
      self->loop->fire(&self->w);
    };
    ec.add_async(&reg);
    bool done;
    try {
      done = attempt();
    } catch (...) {
      unregister();
      throw;
    }
    if (done) {
      unregister();
      return false;
    }
    loop->suspend(&w, h);
    w.context = this;
    w.on_cancel = [](waiter* w) noexcept {
      auto* self = static_cast<event_count_await*>(w->context);
      if (!self->unregister()) self->ec.notify_one();  // it was woken: hand the wake-up on
      return true;
    };
    return true;
  }
  // False when it had been woken already (its wake-up is then withdrawn from the loop).
  bool unregister() noexcept {
    if (ec.remove_async(&reg)) return true;
    loop->cancel_remote(&node);
    return false;
  }
  void await_resume() { resume_or_throw(w); }
};

template <class T>
task<T> queue_get(sluice::queue<T>& q) {
  using access = sluice::detail::queue_access;
  std::optional<T> out;
  for (;;) {
    sluice::detail::pop_status st = access::pop_once(q, out);
    if (st == sluice::detail::pop_status::ok) co_return std::move(*out);
    if (st == sluice::detail::pop_status::drained) access::throw_shut_down();
    auto attempt = [&] { return access::pop_once(q, out) != sluice::detail::pop_status::empty; };
    event_count_await<decltype(attempt)> a(access::not_empty(q), attempt);
    co_await a;
    if (out) co_return std::move(*out);
  }
}

template <class T>
task<void> queue_put(sluice::queue<T>& q, T item) {
  using access = sluice::detail::queue_access;
  for (;;) {
    sluice::detail::push_status st = access::push_once(q, item);
    if (st == sluice::detail::push_status::ok) co_return;
    if (st == sluice::detail::push_status::shut_down) access::throw_shut_down();
    bool pushed = false;
    auto attempt = [&] {
      st = access::push_once(q, item);
      pushed = st == sluice::detail::push_status::ok;
      return st != sluice::detail::push_status::full;
    };
    event_count_await<decltype(attempt)> a(access::not_full(q), attempt);
    co_await a;
    if (pushed) co_return;
    if (st == sluice::detail::push_status::shut_down) access::throw_shut_down();
  }
}

// The meeting point of a thread_pool future's done callback (any thread) and the awaiting task.
struct SLUICE_EXPORT future_bridge {
  std::mutex mu;
  bool attached = true;
  std::shared_ptr<remote_queue> remote;
  loop_impl* loop = nullptr;
  waiter* w = nullptr;
  struct wake_node : remote_node {
    future_bridge* self;
  } node{};

  void signal() noexcept {
    std::lock_guard lk(mu);
    if (attached) remote->post(&node);
  }
};

struct SLUICE_EXPORT future_await : cancellable_await {
  std::shared_ptr<future_bridge> bridge;
  void await_suspend(std::coroutine_handle<> h) {
    loop_impl& loop = loop_impl::require();
    loop.suspend(&w, h);
    w.context = bridge.get();
    w.on_cancel = [](waiter* w) noexcept {
      auto* b = static_cast<future_bridge*>(w->context);
      {
        std::lock_guard lk(b->mu);
        b->attached = false;
      }
      b->loop->cancel_remote(&b->node);
      return true;
    };
  }
  void await_resume() { resume_or_throw(w); }
};

template <class T>
task<T> wrap_impl(sluice::future<T> f) {
  if (!f.done()) {
    auto b = std::make_shared<future_bridge>();
    b->loop = &loop_impl::require();
    b->remote = b->loop->remote();
    b->node.self = b.get();
    b->node.run = [](remote_node* n) noexcept {
      auto* self = static_cast<future_bridge::wake_node*>(n)->self;
      if (self->w) self->loop->fire(self->w);
    };
    future_await a{{}, b};
    b->w = &a.w;
    f.add_done_callback([b](const sluice::future<T>&) { b->signal(); });
    co_await a;  // cancelling leaves the future running; its result is then dropped (as in Python)
  }
  if constexpr (std::is_void_v<T>) {
    f.result();
  } else {
    co_return f.result();
  }
}

SLUICE_EXPORT sluice::thread_pool& default_thread_pool();
}  // namespace detail

// Awaiting the thread-safe sluice::queue<T> from a coroutine without blocking the loop, so threads and
// coroutines can share one queue. get: queue_shut_down once shut down and drained; a cancelled get never
// takes an item. put: waits while full; queue_shut_down; a cancelled put leaves the queue untouched.
template <class T>
task<T> get(sluice::queue<T>& q) {
  return detail::queue_get(q);
}
template <class T>
task<void> put(sluice::queue<T>& q, T item) {
  return detail::queue_put(q, std::move(item));
}

// Python: asyncio.wrap_future. Awaits a sluice::future from any thread_pool without blocking the loop; yields
// its value or rethrows (cancelled_error when the future was cancelled). Cancelling the await leaves the
// future alone. std::invalid_argument for a future without a state.
template <class T>
task<T> wrap(sluice::future<T> f) {
  if (!f.valid()) throw std::invalid_argument("sluice::aio::wrap: a future without a state");
  return detail::wrap_impl(std::move(f));
}

// Python: asyncio.to_thread. Runs fn() on a default thread_pool (min(32, cores + 4) workers, as Python's)
// and awaits its result. Cancelling the await does not stop fn (as in Python); its result is then dropped.
template <class F>
task<std::invoke_result_t<F>> to_thread(F fn) {
  return wrap(detail::default_thread_pool().submit(std::move(fn)));
}

}  // namespace aio
}  // namespace sluice
