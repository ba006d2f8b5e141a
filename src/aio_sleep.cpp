// src/aio_sleep.cpp -- sleep, and event_loop: the public face of the loop running on this thread.
#include <optional>

#include "posix/platform.hpp"
#include "sluice/aio/task.hpp"
#include "sluice/detail/deadline.hpp"

namespace sluice::aio::detail {

// ---- sleep -----------------------------------------------------------------------------------------------
namespace {
struct sleep_awaiter : cancellable_await {
  seconds delay;
  timer_node timer{};
  void await_suspend(std::coroutine_handle<> h) {
    loop_impl& loop = loop_impl::require();
    loop.suspend(&w, h);
    if (delay.count() <= 0) {
      loop.fire(&w);  // sleep(0): the next turn
      return;
    }
    timer.when = sluice::detail::loop_deadline_after(delay);  // no overflow for a huge delay
    timer.context = this;
    timer.fn = [](timer_node* t) noexcept {
      auto* self = static_cast<sleep_awaiter*>(t->context);
      loop_impl::require().fire(&self->w);
    };
    loop.add_timer(&timer);
    w.context = this;
    w.on_cancel = [](waiter* w) noexcept {
      loop_impl::require().remove_timer(&static_cast<sleep_awaiter*>(w->context)->timer);
      return true;
    };
  }
  void await_resume() { resume_or_throw(w); }
};

task<void> sleep_for(seconds delay) { co_await sleep_awaiter{{}, delay}; }
}  // namespace

}  // namespace sluice::aio::detail

namespace sluice::aio {

task<void> sleep(seconds delay) {
  sluice::detail::check_loop_timeout(delay, "sluice::aio::sleep");
  return detail::sleep_for(delay);
}

// ---- event_loop ------------------------------------------------------------------------------------------
namespace {
thread_local std::optional<event_loop> current_loop_handle;
}

event_loop::event_loop(detail::loop_impl* impl) : impl_(impl), remote_(impl->remote()) {}

event_loop& event_loop::current() {
  detail::loop_impl& loop = detail::loop_impl::require();
  if (!current_loop_handle || current_loop_handle->remote_ != loop.remote()) current_loop_handle.emplace(&loop);
  return *current_loop_handle;
}

detail::loop_impl& event_loop::own() const {
  if (!impl_ || detail::loop_impl::current() != impl_)
    throw std::logic_error("sluice::aio::event_loop: used from a thread that does not run it, or after it ended");
  return *impl_;
}

double event_loop::time() const { return own().time(); }

bool event_loop::call_soon_threadsafe(std::function<void()> fn) {
  if (!fn) throw std::invalid_argument("sluice::aio::call_soon_threadsafe: empty function");
  return remote_ && remote_->post_call(std::move(fn));
}

void event_loop::add_signal_handler(int signum, std::function<void()> fn) { own().add_signal_handler(signum, std::move(fn)); }
bool event_loop::remove_signal_handler(int signum) { return own().remove_signal_handler(signum); }

}  // namespace sluice::aio
