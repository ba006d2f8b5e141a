// Tests for sluice::thread_pool, sluice::future, as_completed and wait: Python's concurrent.futures behaviour
// case by case, failure mode 15, and races (cancellation at random moments, shutdown racing submitters).
#include "sluice/thread_pool.hpp"

#include <gtest/gtest.h>

#include "support/counting_range.hpp"
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if __has_include("sluice/thread.hpp")
#include "sluice/thread.hpp"
#define SLUICE_HAVE_EXCEPTHOOK 1
#endif

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using sluice_test::counting_range;
using sluice_test::seconds_since;

// A one-shot gate tasks block on until the test opens it.
class gate {
 public:
  void open() {
    {
      std::lock_guard lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Holds the only worker of a one-worker pool busy until released, so later submits stay pending.
struct occupied_pool {
  sluice::thread_pool pool{1};
  gate release;
  std::latch started{1};
  sluice::future<int> blocker;
  occupied_pool() {
    blocker = pool.submit([this] {
      started.count_down();
      release.wait();
      return 1;
    });
    started.wait();
  }
  ~occupied_pool() { release.open(); }
};

// Counts live instances so a test can prove nothing leaked and nothing was destroyed twice.
struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  ~counted() { --alive; }
};


}  // namespace

// ---- the future state machine, case by case ----

TEST(Future, DefaultConstructedHasNoState) {
  sluice::future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW((void)f.done(), std::future_error);
  EXPECT_THROW((void)f.result(), std::future_error);
  EXPECT_THROW((void)f.cancel(), std::future_error);
  EXPECT_THROW(f.add_done_callback([](const sluice::future<int>&) {}), std::future_error);
}

TEST(Future, PendingState) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 2; });
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  auto t0 = clock_type::now();
  EXPECT_THROW((void)f.result(sluice::seconds(0.05)), sluice::timeout_error);
  EXPECT_GE(seconds_since(t0), 0.05);
  EXPECT_THROW((void)f.exception(sluice::seconds(0.0)), sluice::timeout_error);
  EXPECT_FALSE(f.wait_for(sluice::seconds(0.01)));
  p.release.open();
  EXPECT_EQ(f.result(), 2);
}

TEST(Future, RunningStateCannotBeCancelled) {
  occupied_pool p;
  EXPECT_TRUE(p.blocker.running());
  EXPECT_FALSE(p.blocker.done());
  EXPECT_FALSE(p.blocker.cancel());
  EXPECT_FALSE(p.blocker.cancelled());
  p.release.open();
  EXPECT_EQ(p.blocker.result(), 1);
  EXPECT_FALSE(p.blocker.running());
}

TEST(Future, CancelPendingNeverRuns) {
  occupied_pool p;
  std::atomic<bool> ran{false};
  auto f = p.pool.submit([&ran] { ran = true; });
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_TRUE(f.cancel());  // cancelling twice still reports cancelled
  EXPECT_THROW(f.result(), sluice::cancelled_error);
  EXPECT_THROW((void)f.exception(), sluice::cancelled_error);
  EXPECT_TRUE(f.wait_for(sluice::seconds(0)));
  p.release.open();
  p.pool.shutdown();
  EXPECT_FALSE(ran);
}

TEST(Future, FinishedWithValue) {
  sluice::thread_pool pool(2);
  auto f = pool.submit([](int a, int b) { return a + b; }, 40, 2);
  EXPECT_EQ(f.result(), 42);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_EQ(f.result(sluice::seconds(0.0)), 42);  // a done future answers even with a zero timeout
}

TEST(Future, FinishedWithException) {
  sluice::thread_pool pool(2);
  auto f = pool.submit([]() -> int { throw std::out_of_range("boom"); });
  EXPECT_THROW((void)f.result(), std::out_of_range);
  auto e = f.exception();
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const std::out_of_range& ex) {
    EXPECT_STREQ(ex.what(), "boom");
  }
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.cancel());
}

TEST(Future, VoidFuture) {
  sluice::thread_pool pool(2);
  std::atomic<int> n{0};
  sluice::future<void> f = pool.submit([&n] { ++n; });
  f.result();
  EXPECT_EQ(n, 1);
  auto g = pool.submit([] { throw std::runtime_error("void fails"); });
  EXPECT_THROW(g.result(), std::runtime_error);
}

TEST(Future, CopiesShareOneState) {
  sluice::thread_pool pool(1);
  auto f = pool.submit([] { return std::string("shared"); });
  auto g = f;
  EXPECT_TRUE(f == g);
  EXPECT_EQ(&f.result(), &g.result());
  EXPECT_EQ(g.result(), "shared");
}

TEST(Future, MoveOnlyArgumentsAndResults) {
  sluice::thread_pool pool(2);
  auto p = std::make_unique<int>(5);
  auto f = pool.submit([](std::unique_ptr<int> q) { return std::make_unique<int>(*q * 2); }, std::move(p));
  EXPECT_EQ(*f.result(), 10);
}

TEST(Future, ReferenceResult) {
  sluice::thread_pool pool(1);
  int x = 3;
  auto f = pool.submit([&x]() -> int& { return x; });
  EXPECT_EQ(&f.result(), &x);
}

TEST(Future, TimeoutsNeverReturnEarly) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 0; });
  auto t0 = clock_type::now();
  EXPECT_FALSE(f.wait_for(sluice::seconds(0.1)));
  EXPECT_GE(seconds_since(t0), 0.1);
  t0 = clock_type::now();
  EXPECT_THROW((void)f.exception(sluice::seconds(0.08)), sluice::timeout_error);
  EXPECT_GE(seconds_since(t0), 0.08);
  EXPECT_THROW((void)f.result(sluice::seconds(0)), sluice::timeout_error);  // 0: just look
  EXPECT_THROW((void)f.result(sluice::seconds(std::nan(""))), std::invalid_argument);
}

// The library's one timeout rule (detail/deadline.hpp), on every timed call of this header.
TEST(Future, NegativeOrNanTimeoutIsInvalidHugeMeansForever) {
  const double inf = std::numeric_limits<double>::infinity();
  sluice::thread_pool pool(1);
  auto f = pool.submit([] { return 5; });
  std::vector<sluice::future<int>> fs{f};
  for (double bad : {-1.0, -1e-9, std::nan("")}) {
    EXPECT_THROW((void)f.result(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW((void)f.exception(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW((void)f.wait_for(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW((void)sluice::as_completed(fs, sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW((void)sluice::wait(fs, sluice::seconds(bad)), std::invalid_argument) << bad;
  }
  for (double huge : {1e12, 1e300, inf}) {
    EXPECT_EQ(f.result(sluice::seconds(huge)), 5) << huge;
    EXPECT_EQ(f.exception(sluice::seconds(huge)), nullptr) << huge;
    EXPECT_TRUE(f.wait_for(sluice::seconds(huge))) << huge;
    int n = 0;
    for (auto& done : sluice::as_completed(fs, sluice::seconds(huge))) n += done.result();
    EXPECT_EQ(n, 5);
    EXPECT_EQ(sluice::wait(fs, sluice::seconds(huge)).done.size(), 1u);
  }
}

TEST(Future, WaitForReturnsOnceDone) {
  sluice::thread_pool pool(1);
  auto f = pool.submit([] { std::this_thread::sleep_for(20ms); });
  EXPECT_TRUE(f.wait_for(sluice::seconds(30)));
  EXPECT_TRUE(f.done());
}

// ---- done callbacks ----

TEST(DoneCallback, RunsInFinishingThreadOnce) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 7; });
  std::atomic<int> calls{0};
  std::thread::id where;
  std::promise<void> called;
  f.add_done_callback([&](const sluice::future<int>& done) {
    EXPECT_TRUE(done.done());
    EXPECT_EQ(done.result(), 7);
    where = std::this_thread::get_id();
    ++calls;
    called.set_value();
  });
  EXPECT_EQ(calls, 0);
  p.release.open();
  called.get_future().wait();
  p.pool.shutdown();
  EXPECT_EQ(calls, 1);
  EXPECT_NE(where, std::this_thread::get_id());
}

TEST(DoneCallback, AlreadyDoneRunsRightAwayInCaller) {
  sluice::thread_pool pool(1);
  auto f = pool.submit([] { return 1; });
  f.wait();
  std::thread::id where;
  f.add_done_callback([&](const sluice::future<int>&) { where = std::this_thread::get_id(); });
  EXPECT_EQ(where, std::this_thread::get_id());
}

TEST(DoneCallback, CancelRunsItInCancellingThread) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 1; });
  std::thread::id where;
  bool saw_cancelled = false;
  f.add_done_callback([&](const sluice::future<int>& d) {
    where = std::this_thread::get_id();
    saw_cancelled = d.cancelled();
  });
  ASSERT_TRUE(f.cancel());
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_TRUE(saw_cancelled);
}

TEST(DoneCallback, RunInOrderOfAddition) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 1; });
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) f.add_done_callback([&order, i](const sluice::future<int>&) { order.push_back(i); });
  p.release.open();
  p.pool.shutdown();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(DoneCallback, EmptyFunctionIsRejected) {
  sluice::thread_pool pool(1);
  auto f = pool.submit([] { return 1; });
  EXPECT_THROW(f.add_done_callback({}), std::invalid_argument);
}

#ifdef SLUICE_HAVE_EXCEPTHOOK
TEST(DoneCallback, ExceptionGoesToExcepthook) {
  std::mutex m;
  std::vector<std::string> seen;
  sluice::set_excepthook([&](std::exception_ptr e, std::thread::id) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::lock_guard lock(m);
      seen.emplace_back(ex.what());
    }
  });
  {
    occupied_pool p;
    auto f = p.pool.submit([] { return 1; });
    std::atomic<int> later{0};
    f.add_done_callback([](const sluice::future<int>&) { throw std::runtime_error("callback failed"); });
    f.add_done_callback([&later](const sluice::future<int>&) { ++later; });  // still runs
    p.release.open();
    EXPECT_EQ(f.result(), 1);
    p.pool.shutdown();
    EXPECT_EQ(later, 1);
    f.add_done_callback([](const sluice::future<int>&) { throw std::runtime_error("late callback failed"); });
  }
  sluice::set_excepthook({});
  EXPECT_EQ(seen, (std::vector<std::string>{"callback failed", "late callback failed"}));
}
#endif

// ---- the pool ----

TEST(ThreadPool, MaxWorkersDefaultsToHardwareConcurrency) {
  sluice::thread_pool pool;
  auto hw = std::thread::hardware_concurrency();
  EXPECT_EQ(pool.max_workers(), hw == 0 ? 1u : hw);
  sluice::thread_pool three(3);
  EXPECT_EQ(three.max_workers(), 3u);
}

TEST(ThreadPool, RunsOnAtMostMaxWorkersThreads) {
  sluice::thread_pool pool(3);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::vector<sluice::future<void>> fs;
  for (int i = 0; i < 200; ++i)
    fs.push_back(pool.submit([&] {
      std::lock_guard lock(m);
      ids.insert(std::this_thread::get_id());
    }));
  for (auto& f : fs) f.result();
  EXPECT_LE(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(ThreadPool, ThreadNamePrefix) {
  sluice::thread_pool pool(sluice::pool_options{.max_workers = 2, .thread_name_prefix = "imgpool"});
  auto name = pool.submit([] {
                    char buf[32] = {};
                    pthread_getname_np(pthread_self(), buf, sizeof buf);
                    return std::string(buf);
                  })
                  .result();
  EXPECT_TRUE(name == "imgpool_0" || name == "imgpool_1") << name;
}

TEST(ThreadPool, InitializerRunsOncePerWorker) {
  std::atomic<int> inits{0};
  {
    sluice::thread_pool pool(sluice::pool_options{.max_workers = 3, .initializer = [&inits] { ++inits; }});
    pool.submit([] {}).result();
  }
  EXPECT_EQ(inits, 3);
}

TEST(ThreadPool, ThrowingInitializerBreaksThePool) {
  gate go;
  sluice::thread_pool pool(sluice::pool_options{.max_workers = 1, .initializer = [&go] {
                                                  go.wait();
                                                  throw std::runtime_error("no GPU");
                                                }});
  auto pending = pool.submit([] { return 1; });  // queued before the initializer fails
  go.open();
  EXPECT_THROW((void)pending.result(sluice::seconds(30.0)), sluice::broken_pool);
  try {
    pending.result();
  } catch (const sluice::broken_pool& e) {
    EXPECT_NE(std::string(e.what()).find("no GPU"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pool.submit([] { return 2; }), sluice::broken_pool);
  pool.shutdown();
}

TEST(ThreadPool, SubmitAfterShutdownThrows) {
  sluice::thread_pool pool(2);
  pool.shutdown();
  try {
    pool.submit([] {});
    FAIL() << "submit after shutdown did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  pool.shutdown();  // repeated shutdown is harmless
}

TEST(ThreadPool, ShutdownWaitRunsEverythingQueued) {
  std::atomic<int> ran{0};
  std::vector<sluice::future<void>> fs;
  sluice::thread_pool pool(2);
  for (int i = 0; i < 100; ++i)
    fs.push_back(pool.submit([&ran] {
      std::this_thread::sleep_for(100us);
      ++ran;
    }));
  pool.shutdown(true);
  EXPECT_EQ(ran, 100);
  for (auto& f : fs) EXPECT_TRUE(f.done());
}

TEST(ThreadPool, DestructorWaitsForQueuedTasks) {
  std::atomic<int> ran{0};
  {
    sluice::thread_pool pool(2);
    for (int i = 0; i < 50; ++i) pool.submit([&ran] { ++ran; });
  }
  EXPECT_EQ(ran, 50);
}

// Failure mode 15: shutdown(wait=false, cancel_futures=true) cancels pending futures; running ones finish.
TEST(ThreadPool, FailureMode15ShutdownCancelFutures) {
  auto p = std::make_unique<occupied_pool>();
  std::atomic<int> ran{0};
  std::vector<sluice::future<void>> pending;
  for (int i = 0; i < 20; ++i) pending.push_back(p->pool.submit([&ran] { ++ran; }));
  std::atomic<int> callbacks{0};
  for (auto& f : pending) f.add_done_callback([&callbacks](const sluice::future<void>& d) {
    if (d.cancelled()) ++callbacks;
  });
  auto t0 = clock_type::now();
  p->pool.shutdown(false, true);
  EXPECT_LT(seconds_since(t0), 10.0);  // did not wait for the running task
  EXPECT_EQ(callbacks, 20);            // run in this thread, before shutdown returned
  for (auto& f : pending) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(), sluice::cancelled_error);
  }
  EXPECT_TRUE(p->blocker.running());
  p->release.open();
  EXPECT_EQ(p->blocker.result(), 1);  // the running one finishes normally
  EXPECT_THROW(p->pool.submit([] {}), std::runtime_error);
  p.reset();
  EXPECT_EQ(ran, 0);
}

TEST(ThreadPool, ShutdownWithoutWaitReturnsAtOnceAndLetsQueuedRun) {
  auto p = std::make_unique<occupied_pool>();
  auto later = p->pool.submit([] { return 5; });
  p->pool.shutdown(false);
  EXPECT_FALSE(later.done());
  p->release.open();
  EXPECT_EQ(later.result(), 5);  // queued work still runs after shutdown(wait=false)
}

TEST(ThreadPool, ShutdownWaitFromOwnWorkerIsALogicError) {
  sluice::thread_pool pool(1);
  auto f = pool.submit([&pool] { pool.shutdown(true); });
  EXPECT_THROW(f.result(), std::logic_error);
}

TEST(ThreadPool, TasksMaySubmitTasks) {
  sluice::thread_pool pool(2);
  auto outer = pool.submit([&pool] {
    std::vector<sluice::future<int>> inner;
    for (int i = 0; i < 10; ++i) inner.push_back(pool.submit([i] { return i; }));
    return inner;
  });
  int sum = 0;
  for (auto& f : outer.result()) sum += f.result();
  EXPECT_EQ(sum, 45);
}

TEST(ThreadPool, ManySubmittersAtOnce) {
  sluice::thread_pool pool(3);
  constexpr int threads = 4, per_thread = 5000;
  std::vector<std::vector<sluice::future<long>>> fs(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) fs[t].push_back(pool.submit([](long v) { return v * 2; }, long(i)));
    });
  for (auto& t : ts) t.join();
  for (auto& row : fs) {
    long sum = 0;
    for (auto& f : row) sum += f.result();
    EXPECT_EQ(sum, 2L * per_thread * (per_thread - 1) / 2);
  }
}

TEST(ThreadPool, ShutdownRacingSubmittersNeverStrandsATask) {
  for (int round = 0; round < 20; ++round) {
    sluice::thread_pool pool(2);
    std::vector<sluice::future<int>> accepted;
    std::mutex m;
    std::latch go(3);
    auto submitter = [&] {
      go.arrive_and_wait();
      for (int i = 0; i < 500; ++i) {
        try {
          auto f = pool.submit([i] { return i; });
          std::lock_guard lock(m);
          accepted.push_back(f);
        } catch (const std::runtime_error&) {
          return;
        }
      }
    };
    std::thread a(submitter), b(submitter);
    go.arrive_and_wait();
    pool.shutdown(round % 2 == 0);
    a.join();
    b.join();
    for (auto& f : accepted) ASSERT_TRUE(f.wait_for(sluice::seconds(30)));
  }
}

TEST(ThreadPool, NothingLeakedOrDestroyedTwice) {
  counted::alive = 0;
  {
    auto p = std::make_unique<occupied_pool>();
    std::vector<sluice::future<int>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(p->pool.submit([c = counted{}](counted) { return 1; }, counted{}));
    for (int i = 0; i < 50; i += 2) fs[i].cancel();
    p->release.open();
    p.reset();
    for (int i = 1; i < 50; i += 2) EXPECT_EQ(fs[i].result(), 1);
    // Every task released its captures (run or skipped as cancelled) while the futures are still held.
    EXPECT_EQ(counted::alive, 0);
  }
  EXPECT_EQ(counted::alive, 0);
}

TEST(ThreadPool, CancellationAtRandomMoments) {
  std::mt19937 rng(12345);
  sluice::thread_pool pool(2);
  constexpr int n = 400;
  std::vector<std::atomic<bool>> ran(n);
  std::vector<std::atomic<int>> callbacks(n);
  std::vector<sluice::future<int>> fs;
  for (int i = 0; i < n; ++i) {
    fs.push_back(pool.submit([&ran, i, spin = int(rng() % 200)] {
      ran[i] = true;
      std::this_thread::sleep_for(std::chrono::microseconds(spin));
      return i;
    }));
    fs.back().add_done_callback([&callbacks, i](const sluice::future<int>&) { ++callbacks[i]; });
  }
  std::vector<int> cancel_ok(n, -1);
  std::thread canceller([&] {
    std::mt19937 r(777);
    for (int k = 0; k < n; ++k) {
      int i = int(r() % n);
      if (cancel_ok[i] == -1) cancel_ok[i] = fs[i].cancel() ? 1 : 0;
      if (r() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(r() % 300));
    }
  });
  canceller.join();
  pool.shutdown();
  int cancelled = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(fs[i].done());
    EXPECT_EQ(callbacks[i], 1) << i;
    if (fs[i].cancelled()) {
      ++cancelled;
      EXPECT_FALSE(ran[i]) << i;
      EXPECT_EQ(cancel_ok[i], 1) << i;
    } else {
      EXPECT_TRUE(ran[i]) << i;
      EXPECT_EQ(fs[i].result(), i);
      EXPECT_NE(cancel_ok[i], 1) << i;
    }
  }
  RecordProperty("cancelled", cancelled);
}

// ---- map ----

TEST(ThreadPoolMap, ResultsInInputOrder) {
  sluice::thread_pool pool(3);
  std::vector<int> in(300);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map(
      [](int x) {
        std::this_thread::sleep_for(std::chrono::microseconds((x * 37) % 200));
        return x * x;
      },
      in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 300; ++i) EXPECT_EQ(out[i], i * i);
}

TEST(ThreadPoolMap, EmptyInput) {
  sluice::thread_pool pool(2);
  std::vector<std::string> none;
  EXPECT_TRUE(pool.map([](const std::string& s) { return s.size(); }, none).empty());
}

TEST(ThreadPoolMap, LvalueReferencesAndMoveOnlyResults) {
  sluice::thread_pool pool(2);
  std::vector<std::string> words{"a", "bb", "ccc"};
  auto out = pool.map([](std::string& s) { return std::make_unique<std::size_t>(s.size()); }, words);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(*out[2], 3u);
  EXPECT_EQ(words[2], "ccc");  // items are copied into the tasks, the caller's range is untouched
}

TEST(ThreadPoolMap, FirstFailureInInputOrderWins) {
  sluice::thread_pool pool(4);
  auto f = [](int x) {
    if (x == 3) {
      std::this_thread::sleep_for(50ms);
      throw std::out_of_range("item 3");
    }
    if (x == 6) throw std::length_error("item 6");
    return x;
  };
  EXPECT_THROW(pool.map(f, counting_range([](long x) { return int(x); }, 0, 20)), std::out_of_range);
}

TEST(ThreadPoolMap, FailureCancelsWhatHasNotStarted) {
  sluice::thread_pool pool(1);
  std::atomic<int> started{0};
  auto f = [&started](int x) {
    ++started;
    if (x == 0) {
      std::this_thread::sleep_for(20ms);
      throw std::runtime_error("first");
    }
    return x;
  };
  EXPECT_THROW(pool.map(f, counting_range([](long x) { return int(x); }, 0, 100)), std::runtime_error);
  pool.shutdown();
  EXPECT_LE(started, 2);  // only item 0 (and at most one racing neighbour) ever ran
}

// An endless input works in bounded memory: never more than 2 * max_workers items submitted but not collected.
TEST(ThreadPoolMap, EndlessInputStaysWithinBuffer) {
  sluice::thread_pool pool(3);
  std::atomic<long> pulled{0}, completed{0};
  long worst = 0;
  counting_range input([&](long x) {
    long ahead = ++pulled - completed.load();
    worst = std::max(worst, ahead);
    return x;
  });
  auto f = [&completed](long x) {
    if (x == 3000) throw std::runtime_error("enough");
    ++completed;
    return x;
  };
  EXPECT_THROW(pool.map(f, input), std::runtime_error);
  EXPECT_LE(worst, 2 * 3);
  EXPECT_GE(pulled, 3001);
  EXPECT_LE(pulled, 3000 + 1 + 2 * 3);
}

TEST(ThreadPoolMap, AfterShutdownThrows) {
  sluice::thread_pool pool(1);
  pool.shutdown();
  EXPECT_THROW(pool.map([](int x) { return x; }, std::vector<int>{1, 2}), std::runtime_error);
}

// ---- as_completed ----

TEST(AsCompleted, AlreadyDoneFirstThenInCompletionOrder) {
  occupied_pool p;
  sluice::thread_pool other(2);
  auto done1 = other.submit([] { return 10; });
  auto done2 = other.submit([] { return 20; });
  done1.wait();
  done2.wait();
  auto late = p.pool.submit([] { return 30; });
  std::vector<sluice::future<int>> fs{late, done2, done1, done2};
  std::vector<int> seen;
  for (auto& f : sluice::as_completed(fs)) {
    seen.push_back(f.result());
    if (seen.size() == 2) p.release.open();
  }
  EXPECT_EQ(seen, (std::vector<int>{20, 10, 30}));  // duplicates dropped, done ones in input order first
}

TEST(AsCompleted, YieldsInCompletionOrder) {
  sluice::thread_pool pool(3);
  gate g1, g2;
  auto a = pool.submit([&] {
    g2.wait();
    return 'a';
  });
  auto b = pool.submit([&] {
    g1.wait();
    return 'b';
  });
  auto c = pool.submit([] { return 'c'; });
  std::vector<sluice::future<char>> fs{a, b, c};
  std::string order;
  for (auto& f : sluice::as_completed(fs, sluice::seconds(30))) {
    order += f.result();
    if (f == c) g1.open();
    if (f == b) g2.open();
  }
  EXPECT_EQ(order, "cba");
}

TEST(AsCompleted, TotalDeadlineThrowsTimeoutWithCounts) {
  occupied_pool p;
  auto quick = sluice::thread_pool(1).submit([] { return 1; });
  auto stuck1 = p.pool.submit([] { return 2; });
  auto stuck2 = p.pool.submit([] { return 3; });
  std::vector<sluice::future<int>> fs{stuck1, quick, stuck2};
  auto t0 = clock_type::now();
  int yielded = 0;
  try {
    for (auto& f : sluice::as_completed(fs, sluice::seconds(0.15))) {
      EXPECT_EQ(f.result(), 1);
      ++yielded;
    }
    FAIL() << "no timeout";
  } catch (const sluice::timeout_error& e) {
    EXPECT_STREQ(e.what(), "2 (of 3) futures unfinished");
  }
  EXPECT_GE(seconds_since(t0), 0.15);
  EXPECT_EQ(yielded, 1);
}

TEST(AsCompleted, EmptyAndInvalidInput) {
  std::vector<sluice::future<int>> none;
  int n = 0;
  for (auto& f : sluice::as_completed(none)) {
    (void)f;
    ++n;
  }
  EXPECT_EQ(n, 0);
  std::vector<sluice::future<int>> bad(1);
  EXPECT_THROW(sluice::as_completed(bad), std::invalid_argument);
}

TEST(AsCompleted, AbandonedIterationUnregisters) {
  occupied_pool p;
  auto f = p.pool.submit([] { return 1; });
  sluice::thread_pool other(1);
  auto g = other.submit([] { return 2; });
  g.wait();
  std::vector<sluice::future<int>> fs{f, g};
  for (auto& x : sluice::as_completed(fs)) {
    EXPECT_EQ(x.result(), 2);
    break;
  }
  p.release.open();
  EXPECT_EQ(f.result(), 1);  // finishing after the range is gone touches nothing freed (ASan watches)
}

// ---- wait ----

TEST(Wait, AllCompleted) {
  sluice::thread_pool pool(2);
  std::vector<sluice::future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(pool.submit([i] {
    std::this_thread::sleep_for(std::chrono::milliseconds(i));
    return i;
  }));
  auto r = sluice::wait(fs);
  EXPECT_EQ(r.done.size(), 10u);
  EXPECT_TRUE(r.not_done.empty());
  for (auto& f : r.done) EXPECT_TRUE(f.done());
}

TEST(Wait, FirstCompleted) {
  occupied_pool p;
  sluice::thread_pool other(1);
  auto stuck = p.pool.submit([] { return 1; });
  auto fast = other.submit([] {
    std::this_thread::sleep_for(20ms);
    return 2;
  });
  auto r = sluice::wait(std::vector{stuck, fast}, std::nullopt, sluice::return_when::first_completed);
  ASSERT_EQ(r.done.size(), 1u);
  EXPECT_TRUE(r.done[0] == fast);
  ASSERT_EQ(r.not_done.size(), 1u);
  EXPECT_TRUE(r.not_done[0] == stuck);
}

TEST(Wait, FirstExceptionIgnoresCancelled) {
  occupied_pool p;
  sluice::thread_pool other(2);
  auto stuck = p.pool.submit([] { return 1; });
  auto cancelled = p.pool.submit([] { return 2; });
  ASSERT_TRUE(cancelled.cancel());
  auto fails = other.submit([]() -> int {
    std::this_thread::sleep_for(30ms);
    throw std::runtime_error("x");
  });
  auto r = sluice::wait(std::vector{stuck, cancelled, fails}, sluice::seconds(30), sluice::return_when::first_exception);
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_EQ(r.not_done.size(), 1u);
  EXPECT_TRUE(r.not_done[0] == stuck);
}

TEST(Wait, FirstExceptionWithoutFailureWaitsForAll) {
  sluice::thread_pool pool(2);
  std::vector<sluice::future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(pool.submit([i] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * i));
    return i;
  }));
  auto r = sluice::wait(fs, std::nullopt, sluice::return_when::first_exception);
  EXPECT_EQ(r.done.size(), 6u);
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, TimeoutReturnsWhatIsDoneNeverEarly) {
  occupied_pool p;
  auto done = sluice::thread_pool(1).submit([] { return 1; });
  auto stuck = p.pool.submit([] { return 2; });
  auto t0 = clock_type::now();
  auto r = sluice::wait(std::vector{done, stuck, stuck}, sluice::seconds(0.1));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.not_done.size(), 1u);  // the duplicate is dropped
}

// ---- a pool used against itself (issue 12) ----

namespace {
std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}
// The workers of an orphaned pool exit on their own; wait (bounded) until the process is back to `expected`.
bool threads_back_to(std::size_t expected) {
  const auto give_up = clock_type::now() + 20s;
  while (thread_count() > expected && clock_type::now() < give_up) std::this_thread::sleep_for(5ms);
  return thread_count() == expected;
}
}  // namespace

// Regression: ~thread_pool run by one of its own tasks joined its own thread, threw std::logic_error from a
// noexcept destructor, and so reached std::terminate.
TEST(ThreadPool, DestroyedFromItsOwnTaskFinishesQueuedWorkAndFreesItself) {
  // A first thread made and joined, so that a sanitizer's own helper thread (TSan starts one with the first
  // thread) is already in the baseline.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  std::latch go(1);
  auto pool = std::make_shared<sluice::thread_pool>(2);
  std::weak_ptr<sluice::thread_pool> watch = pool;
  auto last = pool->submit([p = pool, &go]() mutable {
    go.wait();
    p.reset();  // the last owner: ~thread_pool runs here, on a worker of that pool
    return 1;
  });
  std::vector<sluice::future<int>> queued;
  for (int i = 0; i < 50; ++i) queued.push_back(pool->submit([i] {
    std::this_thread::sleep_for(1ms);
    return i;
  }));
  pool.reset();
  go.count_down();
  EXPECT_EQ(last.result(30s), 1);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].result(30s), i);
  EXPECT_TRUE(watch.expired());
  EXPECT_TRUE(threads_back_to(threads_before)) << "the orphaned pool's workers did not exit";
}

// The same when the last owner is only a capture, released by the worker after the task ran.
TEST(ThreadPool, LastOwnerReleasedWithTheTasksCapturesOnAWorker) {
  // A first thread made and joined, so that a sanitizer's own helper thread (TSan starts one with the first
  // thread) is already in the baseline.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  std::latch go(1);
  auto pool = std::make_shared<sluice::thread_pool>(1);
  auto f = pool->submit([p = pool, &go] {
    go.wait();
    return p->max_workers();
  });
  auto after = pool->submit([] { return 2; });
  pool.reset();
  go.count_down();
  EXPECT_EQ(f.result(30s), 1u);
  EXPECT_EQ(after.result(30s), 2);
  EXPECT_TRUE(threads_back_to(threads_before));
}

// Regression: shutdown(wait=true) from a worker shut the pool down and only then threw std::logic_error.
TEST(ThreadPool, ShutdownWaitFromOwnWorkerIsRefusedBeforeAnythingChanges) {
  sluice::thread_pool pool(1);
  std::latch go(1);
  auto refused = pool.submit([&pool, &go] {
    go.wait();
    try {
      pool.shutdown(true, true);
    } catch (const std::logic_error&) {
      return true;
    }
    return false;
  });
  auto queued = pool.submit([] { return 5; });  // behind the refusing task: must not be cancelled
  go.count_down();
  EXPECT_TRUE(refused.result(30s));
  EXPECT_EQ(queued.result(30s), 5);
  EXPECT_FALSE(queued.cancelled());
  EXPECT_EQ(pool.submit([] { return 7; }).result(30s), 7);  // still accepts work
  // shutdown(wait=false) from a worker is allowed, and it does shut the pool down.
  pool.submit([&pool] { pool.shutdown(false); }).result(30s);
  EXPECT_THROW(pool.submit([] { return 0; }), std::runtime_error);
}
