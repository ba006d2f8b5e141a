// Tests for sluice::thread (join rethrows, stop tokens, the excepthook) and sluice::synchronized.
#include "sluice/thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <latch>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// Installs a capturing excepthook for one test and restores the default afterwards.
class hook_capture {
 public:
  hook_capture() {
    sluice::set_excepthook([this](std::exception_ptr e, std::thread::id id) {
      std::lock_guard lock(mutex_);
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        messages_.push_back(ex.what());
      } catch (...) {
        messages_.push_back("?");
      }
      ids_.push_back(id);
    });
  }
  ~hook_capture() { sluice::set_excepthook({}); }
  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::vector<std::thread::id> ids() {
    std::lock_guard lock(mutex_);
    return ids_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
  std::vector<std::thread::id> ids_;
};

TEST(Thread, RunsCallableWithArguments) {
  int out = 0;
  sluice::thread t([](int a, int b, int& r) { r = a + b; }, 2, 3, std::ref(out));
  EXPECT_TRUE(t.joinable());
  t.join();
  EXPECT_FALSE(t.joinable());
  EXPECT_EQ(out, 5);
}

TEST(Thread, JoinRethrowsOnceAndHookIsNotCalled) {
  hook_capture hook;
  {
    sluice::thread t([] { throw std::runtime_error("worker failed"); });
    try {
      t.join();
      FAIL() << "join did not rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "worker failed");
    }
    EXPECT_THROW(t.join(), std::system_error);  // not joinable any more
  }
  EXPECT_TRUE(hook.messages().empty());
}

TEST(Thread, UncollectedExceptionGoesToHookInDestroyingThread) {
  hook_capture hook;
  std::thread::id worker_id;
  {
    sluice::thread t([] { throw std::runtime_error("nobody joined me"); });
    worker_id = t.get_id();
  }  // the destructor joins, then reports before returning
  ASSERT_EQ(hook.messages().size(), 1u);
  EXPECT_EQ(hook.messages()[0], "nobody joined me");
  EXPECT_EQ(hook.ids()[0], worker_id);
}

TEST(Thread, MoveAssignReportsTheOverwrittenThreadsException) {
  hook_capture hook;
  sluice::thread t([] { throw std::logic_error("first"); });
  t = sluice::thread([] {});
  ASSERT_EQ(hook.messages().size(), 1u);
  EXPECT_EQ(hook.messages()[0], "first");
  t.join();
}

TEST(Thread, StopTokenFirstWhenInvocable) {
  std::atomic<int> spins{0};
  sluice::thread t([&](std::stop_token st, int step) {
    while (!st.stop_requested()) {
      spins += step;
      std::this_thread::sleep_for(1ms);
    }
  }, 1);
  while (spins.load() == 0) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(t.get_stop_token().stop_possible());
  EXPECT_TRUE(t.request_stop());
  t.join();
  EXPECT_TRUE(t.get_stop_token().stop_requested() || !t.joinable());
}

TEST(Thread, DestructorRequestsStop) {
  std::atomic<bool> saw_stop{false};
  {
    sluice::thread t([&](std::stop_token st) {
      while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
      saw_stop = true;
    });
  }
  EXPECT_TRUE(saw_stop.load());
}

TEST(Thread, DefaultAndMovedFromAreNotJoinable) {
  sluice::thread a;
  EXPECT_FALSE(a.joinable());
  EXPECT_EQ(a.get_id(), std::thread::id());
  EXPECT_THROW(a.join(), std::system_error);
  sluice::thread b([] {});
  sluice::thread c(std::move(b));
  EXPECT_FALSE(b.joinable());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(c.joinable());
  c.join();
}

TEST(Thread, HookThatThrowsIsSwallowed) {
  sluice::set_excepthook([](std::exception_ptr, std::thread::id) { throw std::runtime_error("hook broke"); });
  {
    sluice::thread t([] { throw 42; });
  }
  sluice::detail::call_excepthook(std::make_exception_ptr(std::runtime_error("x")), std::this_thread::get_id());
  sluice::set_excepthook({});
  SUCCEED();
}

TEST(Thread, DefaultHookPrintsToStderr) {
  sluice::set_excepthook({});
  testing::internal::CaptureStderr();
  {
    sluice::thread t([] { throw std::runtime_error("printed by default"); });
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Exception in thread "), std::string::npos) << err;
  EXPECT_NE(err.find(": printed by default"), std::string::npos) << err;
}

TEST(Thread, CallExcepthookForDoneCallbacks) {
  hook_capture hook;
  sluice::detail::call_excepthook(std::make_exception_ptr(std::runtime_error("from a callback")),
                                  std::this_thread::get_id());
  sluice::detail::call_excepthook(nullptr, std::this_thread::get_id());  // nothing to report
  ASSERT_EQ(hook.messages().size(), 1u);
  EXPECT_EQ(hook.ids()[0], std::this_thread::get_id());
}

TEST(Thread, FanOutFanIn) {
  std::vector<sluice::thread> threads;
  std::vector<int> results(5);
  for (int i = 0; i < 5; ++i) threads.emplace_back([&results, i] { results[i] = i * i; });
  for (auto& t : threads) t.join();
  EXPECT_EQ(results, (std::vector<int>{0, 1, 4, 9, 16}));
}

// ---- failure contracts (issue 12) ----

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Regression: a thread whose callable destroyed its own sluice::thread dropped a later exception silently.
TEST(Thread, DestroyedByItsOwnCallableStillReportsALaterException) {
  hook_capture hook;
  // A first thread made and joined, so that a sanitizer's own helper thread (TSan starts one with the first
  // thread) is already in the baseline.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  auto holder = std::make_unique<sluice::thread>();
  std::latch ready(1);
  std::thread::id worker_id;
  *holder = sluice::thread([&holder, &ready] {
    ready.wait();
    holder.reset();  // ~thread on its own thread: detaches instead of joining
    throw std::runtime_error("thrown after destroying my own thread object");
  });
  worker_id = holder->get_id();
  ready.count_down();
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while ((hook.messages().empty() || thread_count() > threads_before) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(2ms);
  ASSERT_EQ(hook.messages().size(), 1u);
  EXPECT_EQ(hook.messages()[0], "thrown after destroying my own thread object");
  EXPECT_EQ(hook.ids()[0], worker_id);
  EXPECT_EQ(thread_count(), threads_before) << "the detached thread did not end";
}

TEST(Thread, JoinForTimesOutNotEarlyThenJoinsAndRethrows) {
  hook_capture hook;
  std::latch go(1);
  sluice::thread t([&go] {
    go.wait();
    throw std::runtime_error("late");
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(t.join_for(100ms));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_TRUE(t.joinable());          // nothing changed
  EXPECT_FALSE(t.join_for(sluice::seconds(0)));  // 0 only looks
  go.count_down();
  EXPECT_THROW(t.join_for(30s), std::runtime_error);  // joined now, and the exception is the caller's
  EXPECT_FALSE(t.joinable());
  EXPECT_THROW(t.join_for(1s), std::system_error);  // not joinable any more
  EXPECT_TRUE(hook.messages().empty());
}

TEST(Thread, JoinForNegativeOrNanIsInvalidHugeMeansForever) {
  for (double bad : {-1.0, -1e-9, std::nan("")}) {
    sluice::thread t([] {});
    EXPECT_THROW(t.join_for(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_TRUE(t.joinable()) << bad;
  }
  for (double huge : {1e12, 1e300, std::numeric_limits<double>::infinity()}) {
    sluice::thread t([] { std::this_thread::sleep_for(10ms); });
    EXPECT_TRUE(t.join_for(sluice::seconds(huge))) << huge;
    EXPECT_FALSE(t.joinable());
  }
}

TEST(Thread, JoinForFromItsOwnCallableIsADeadlockError) {
  std::latch ready(1);
  sluice::thread t;
  std::atomic<bool> refused{false};
  t = sluice::thread([&] {
    ready.wait();
    try {
      t.join_for(1s);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::resource_deadlock_would_occur;
    }
  });
  ready.count_down();
  t.join();
  EXPECT_TRUE(refused);
}

TEST(Synchronized, LockedCounterWithFiveThreads) {
  sluice::synchronized<long> counter(0);
  {
    std::vector<sluice::thread> sensors;
    for (int i = 0; i < 5; ++i)
      sensors.emplace_back([&] {
        for (int n = 0; n < 20000; ++n) ++*counter.lock();
      });
  }
  EXPECT_EQ(counter.copy(), 100000);
}

TEST(Synchronized, WithLockReturnsAndConstructsWithParentheses) {
  sluice::synchronized<std::vector<int>> v(3, 7);  // parentheses: three sevens, not {3, 7}
  EXPECT_EQ(v.copy(), (std::vector<int>{7, 7, 7}));
  std::size_t n = v.with_lock([](std::vector<int>& x) {
    x.push_back(1);
    return x.size();
  });
  EXPECT_EQ(n, 4u);
  const auto& cv = v;
  EXPECT_EQ(cv.with_lock([](const std::vector<int>& x) { return x.back(); }), 1);
  EXPECT_EQ(v.lock()->size(), 4u);
  EXPECT_EQ((*v.lock())[0], 7);
}

TEST(Synchronized, LockIsHeldWhileLockedPtrLives) {
  sluice::synchronized<int, std::timed_mutex> s(1);
  std::atomic<bool> got{false};
  auto held = s.lock();
  sluice::thread other([&] {
    *s.lock() += 1;
    got = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got.load());
  EXPECT_EQ(*held, 1);
  { auto released = std::move(held); }
  other.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(s.copy(), 2);
}

TEST(Synchronized, WithLockPropagatesExceptionAndUnlocks) {
  sluice::synchronized<std::map<std::string, int>> m;
  EXPECT_THROW(m.with_lock([](auto& x) -> int { return x.at("missing"); }), std::out_of_range);
  m.lock()->emplace("k", 1);  // not left locked
  EXPECT_EQ(m.copy().at("k"), 1);
}

}  // namespace
