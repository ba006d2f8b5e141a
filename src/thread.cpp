// sluice::set_excepthook and the reporting path for exceptions nobody collected (thread.hpp).
#include "sluice/thread.hpp"

#include <cstdio>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>

#include "posix/platform.hpp"

namespace sluice {
namespace {

std::mutex hook_mutex;
excepthook installed_hook;  // empty: the default printer

void print_exception(std::exception_ptr e, std::thread::id id) {
  std::ostringstream out;
  out << "Exception in thread " << id << ": ";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    out << ex.what();
  } catch (...) {
    out << "unknown exception (not derived from std::exception)";
  }
  out << '\n';
  // One write, so that reports from several threads do not interleave mid-line.
  std::string text = out.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void set_excepthook(excepthook hook) {
  std::lock_guard lock(hook_mutex);
  installed_hook = std::move(hook);
}

namespace detail {

void call_excepthook(std::exception_ptr e, std::thread::id id) noexcept {
  if (!e) return;
  try {
    excepthook hook;
    {
      // Copied, then called unlocked: a hook may itself call set_excepthook or take long.
      std::lock_guard lock(hook_mutex);
      hook = installed_hook;
    }
    if (hook) {
      hook(e, id);
    } else {
      print_exception(e, id);
    }
  } catch (...) {
    // Python ignores what threading.excepthook raises; a destructor must not throw either.
  }
}

void thread_finished(thread_state& state) noexcept {
  state.done.store(1, std::memory_order_release);
  os::futex_wake(state.done, std::numeric_limits<int>::max());
}

bool thread_wait_done(const thread_state& state, const steady_deadline& deadline) noexcept {
  while (state.done.load(std::memory_order_acquire) == 0) {
    if (!os::futex_wait(state.done, 0, deadline ? &*deadline : nullptr))
      return state.done.load(std::memory_order_acquire) != 0;
  }
  return true;
}

}  // namespace detail
}  // namespace sluice
