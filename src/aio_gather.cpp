// src/aio_gather.cpp -- gather, task_group, wait_for's pieces that are not templates.
#include <sstream>

#include "sluice/aio/gather.hpp"
#include "sluice/detail/deadline.hpp"

namespace sluice::aio {

namespace detail {

task<void> wait_all_shielded(std::vector<task_base*> targets) {
  for (;;) {
    std::erase_if(targets, [](task_base* t) { return t->done; });
    if (targets.empty()) co_return;
    any_done_await a(targets, std::nullopt, true);
    co_await a;
  }
}

std::exception_ptr first_failure(const std::vector<task_base*>& tasks) noexcept {
  for (task_base* t : tasks) {
    if (t->done && (t->error || t->was_cancelled)) return t->outcome();
  }
  return nullptr;
}

namespace {
void cancel_each(const std::vector<task_base*>& tasks) noexcept {
  for (task_base* t : tasks) t->request_cancel();
}
void mark_retrieved(const std::vector<task_base*>& tasks) noexcept {
  for (task_base* t : tasks) {
    t->retrieved = true;
    t->loop->forget_unretrieved(t);
  }
}
}  // namespace

task<void> gather_all(std::vector<task_base*> tasks) {
  std::exception_ptr failure;
  bool cancelled = false;
  for (;;) {
    failure = first_failure(tasks);
    if (failure) break;
    std::vector<task_base*> pending;
    for (task_base* t : tasks) {
      if (!t->done) pending.push_back(t);
    }
    if (pending.empty()) break;
    try {
      any_done_await a(pending, std::nullopt, false);
      co_await a;
    } catch (const cancelled_error&) {
      cancelled = true;
      break;
    }
  }
  if (failure || cancelled) {
    cancel_each(tasks);
    co_await wait_all_shielded(tasks);
    mark_retrieved(tasks);  // the first failure is rethrown; the others were caused by it
    if (cancelled) throw_cancelled();
    std::rethrow_exception(failure);
  }
}

void throw_wait_for_timeout(seconds timeout) {
  std::ostringstream os;
  os << "sluice::aio::wait_for: timed out after " << timeout.count() << " seconds";
  throw timeout_error(os.str());
}

}  // namespace detail

exception_group::exception_group(std::vector<std::exception_ptr> errors) : errors_(std::move(errors)) {
  std::string first;
  if (!errors_.empty()) {
    try {
      std::rethrow_exception(errors_.front());
    } catch (const std::exception& e) {
      first = e.what();
    } catch (...) {
      first = "an exception not derived from std::exception";
    }
  }
  what_ = std::to_string(errors_.size()) + (errors_.size() == 1 ? " task failed" : " tasks failed");
  if (!first.empty()) what_ += "; the first: " + first;
}

struct task_group::state {
  std::vector<handle<void>> tasks;  // typed as void only to hold a reference; never asked for a result
  std::vector<std::exception_ptr> errors;
  bool joined = false;
  bool joining = false;
  bool failed = false;

  void child_done(detail::task_base* t) {
    if (!t->done || t->was_cancelled || !t->error) return;
    t->retrieved = true;
    t->loop->forget_unretrieved(t);
    errors.push_back(t->error);
    if (!failed) {
      failed = true;
      for (auto& h : tasks) h.base_ptr()->request_cancel();
    }
  }
};

task_group::task_group() : state_(std::make_shared<state>()) {}

task_group::~task_group() {
  if (!state_->joined) {
    for (auto& h : state_->tasks) h.base_ptr()->request_cancel();
  }
}

void task_group::check_open() const {
  if (state_->joined) throw std::logic_error("sluice::aio::task_group: create_task after join() returned");
}

void task_group::adopt(detail::task_base* t) {
  t->add_ref();
  state_->tasks.emplace_back(t);
  std::weak_ptr<state> weak = state_;
  t->done_callbacks.emplace_back([weak, t] {
    if (auto s = weak.lock()) s->child_done(t);
  });
  if (state_->failed) t->request_cancel();
}

void task_group::cancel() {
  for (auto& h : state_->tasks) h.base_ptr()->request_cancel();
}

task<void> task_group::join() {
  auto s = state_;
  if (s->joined || s->joining) throw std::logic_error("sluice::aio::task_group: join() awaited twice");
  s->joining = true;
  bool cancelled = false;
  for (;;) {
    std::vector<detail::task_base*> pending;
    for (auto& h : s->tasks) {
      if (!h.base_ptr()->done) pending.push_back(h.base_ptr());
    }
    if (pending.empty()) break;
    try {
      detail::any_done_await a(pending, std::nullopt, false);
      co_await a;
    } catch (const cancelled_error&) {
      cancelled = true;
      for (auto& h : s->tasks) h.base_ptr()->request_cancel();
    }
  }
  // Done callbacks run at the next turn; collect the failures now so that none is missed.
  for (auto& h : s->tasks) {
    detail::task_base* t = h.base_ptr();
    if (t->error && !t->was_cancelled && !t->retrieved) s->child_done(t);
  }
  s->joined = true;
  s->joining = false;
  if (!s->errors.empty()) throw exception_group(s->errors);
  if (cancelled) detail::throw_cancelled();
}

}  // namespace sluice::aio
