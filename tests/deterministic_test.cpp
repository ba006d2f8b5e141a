// Deterministic concurrency tests: sluice::queue, the event count and the thread pool's core run on det_sync
// (support/deterministic_schedule.hpp), one thread at a time, switching at every atomic operation in an order
// drawn from a seed. Each property is checked over many seeds; a failure names its seed, and
//   SLUICE_DET_SEED=<seed> deterministic_test --gtest_filter=<test>
// replays exactly that interleaving. SLUICE_DET_SEEDS=<n> sets how many seeds each property runs (default 2000,
// 300 under a sanitizer; the tests that show a broken event count is caught always try up to 5000).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "pool_core.hpp"  // src/: the thread pool's core, a template over the sync policy
#include "sluice/detail/event_count.hpp"
#include "sluice/queue.hpp"
#include "support/deterministic_schedule.hpp"
#include "support/sanitizer.hpp"

namespace {

using sluice::test::det_atomic;
using sluice::test::det_sync;
using sluice::test::det_thread;
using sluice::test::deterministic_schedule;
using sluice::test::schedule_options;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct seed_run {
  std::optional<std::uint64_t> first_failure;
  std::string message;
  std::uint64_t seeds = 0;
  std::uint64_t steps = 0;
};

// Runs scenario(seed, sched) -> error text (empty: the property held) for every seed, each under a fresh
// schedule, stopping at the first failure. SLUICE_DET_SEED runs only that seed.
template <class Scenario>
seed_run over_seeds(const char* property, Scenario scenario, schedule_options opts = {}, std::uint64_t min_seeds = 0) {
  seed_run r;
  const std::uint64_t default_seeds = sluice_test::under_sanitizer ? 300 : 2000;
  std::uint64_t first = 1, count = std::max(env_number("SLUICE_DET_SEEDS", default_seeds), min_seeds);
  if (std::getenv("SLUICE_DET_SEED")) {
    first = env_number("SLUICE_DET_SEED", 1);
    count = 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    std::string error;
    {
      deterministic_schedule sched(seed, opts);
      error = scenario(seed, sched);
      if (sched.failed()) error = sched.failure() + (error.empty() ? "" : "; then: " + error);
      r.steps += sched.steps();
    }
    ++r.seeds;
    if (!error.empty()) {
      r.first_failure = seed;
      r.message = error;
      break;
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ det ] %s: %llu seeds, %llu scheduling points, %lld ms%s\n", property,
              static_cast<unsigned long long>(r.seeds), static_cast<unsigned long long>(r.steps),
              static_cast<long long>(ms),
              r.first_failure ? (" -- failed at seed " + std::to_string(*r.first_failure)).c_str() : "");
  return r;
}

void expect_all_pass(const seed_run& r) {
  EXPECT_FALSE(r.first_failure) << "seed " << r.first_failure.value_or(0) << ": " << r.message
                                << "\nreplay: SLUICE_DET_SEED=" << r.first_failure.value_or(0)
                                << " deterministic_test --gtest_filter="
                                << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() << "."
                                << ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// The parameters of one seed's scenario, drawn from the seed (apart from the schedule's own generator).
struct draw {
  std::mt19937_64 g;
  explicit draw(std::uint64_t seed) : g(seed * 0x9E3779B97F4A7C15ull + 7) {}
  int in(int lo, int hi) { return lo + static_cast<int>(g() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

schedule_options with_spurious(std::uint64_t) {
  schedule_options o;
  o.spurious_wakeups = 0.1;
  o.spurious_cas_failures = 0.1;
  return o;
}

// ---- the event count ----

// Waiters each take one token, waiting on the event count while there is none; notifiers add the tokens.
// No lost wake-up: every waiter gets its token and returns (the scheduler reports a thread parked for good).
template <template <class> class EventCount>
std::string event_count_scenario(std::uint64_t seed, deterministic_schedule&) {
  draw d(seed);
  const int waiters = d.in(1, 3), notifiers = d.in(1, 2);
  const bool use_notify_all = d.in(0, 3) == 0;
  EventCount<det_sync> ec;
  det_atomic<int> tokens{0};
  auto take = [&] {
    int t = tokens.load();
    while (t > 0)
      if (tokens.compare_exchange_weak(t, t - 1)) return true;
    return false;
  };
  std::vector<det_thread> threads;
  int taken = 0;
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&] {
      for (;;) {
        if (take()) break;
        auto ticket = ec.prepare();
        if (take()) {
          ec.cancel();
          break;
        }
        ec.wait(ticket, nullptr);
      }
      ++taken;  // the threads run one at a time
    });
  for (int n = 0; n < notifiers; ++n)
    threads.emplace_back([&, n] {
      for (int k = n; k < waiters; k += notifiers) {
        tokens.fetch_add(1);
        if (use_notify_all)
          ec.notify_all();
        else
          ec.notify_one();
      }
    });
  for (auto& t : threads) t.join();
  if (taken != waiters) return std::to_string(taken) + " of " + std::to_string(waiters) + " waiters got a token";
  return {};
}

template <class Sync>
using real_event_count = sluice::detail::basic_event_count<Sync>;

// Two deliberately broken event counts (test-only), to show that the scheduler finds lost wake-ups.
// late_registration: a waiter counts itself only when it goes to sleep, so a notify between its re-check and
// its sleep sees nobody and wakes nobody.
template <class Sync>
class late_registration_event_count {
 public:
  std::uint32_t prepare() { return epoch_.load(); }
  void cancel() {}
  bool wait(std::uint32_t ticket, const std::chrono::steady_clock::time_point*) {
    waiters_.fetch_add(1);
    Sync::park_wait(epoch_, ticket, nullptr);
    waiters_.fetch_sub(1);
    return true;
  }
  void notify_one() {
    if (waiters_.load() == 0) return;
    epoch_.fetch_add(1);
    Sync::park_wake(epoch_, 1);
  }
  void notify_all() {
    if (waiters_.load() == 0) return;
    epoch_.fetch_add(1);
    Sync::park_wake(epoch_, 1 << 30);
  }

 private:
  typename Sync::template atomic<std::uint32_t> waiters_{0};
  typename Sync::template atomic<std::uint32_t> epoch_{0};
};

// ticket_after_registration: sluice's event count with prepare()'s two steps swapped (detail/event_count.hpp
// explains why the ticket must be read first): a signal can be spent on a waiter that then sleeps through it.
template <class Sync>
class ticket_after_registration_event_count {
 public:
  std::uint32_t prepare() {
    state_.fetch_add(one_waiter);
    return epoch_.load();
  }
  void cancel() { leave(); }
  bool wait(std::uint32_t ticket, const std::chrono::steady_clock::time_point*) {
    Sync::park_wait(epoch_, ticket, nullptr);
    leave();
    return true;
  }
  void notify_one() {
    std::uint64_t s = state_.load();
    do {
      if ((s & signal_mask) >= (s >> 32)) return;
    } while (!state_.compare_exchange_weak(s, s + 1));
    epoch_.fetch_add(1);
    Sync::park_wake(epoch_, 1);
  }
  void notify_all() {
    std::uint64_t s = state_.load();
    do {
      if ((s >> 32) == 0) return;
    } while (!state_.compare_exchange_weak(s, (s & ~signal_mask) | (s >> 32)));
    epoch_.fetch_add(1);
    Sync::park_wake(epoch_, 1 << 30);
  }

 private:
  static constexpr std::uint64_t one_waiter = std::uint64_t{1} << 32;
  static constexpr std::uint64_t signal_mask = one_waiter - 1;
  void leave() {
    std::uint64_t s = state_.load();
    while (!state_.compare_exchange_weak(s, s - one_waiter - ((s & signal_mask) != 0 ? 1 : 0))) {
    }
  }
  typename Sync::template atomic<std::uint64_t> state_{0};
  typename Sync::template atomic<std::uint32_t> epoch_{0};
};

TEST(DeterministicEventCount, NoLostWakeUp) {
  expect_all_pass(over_seeds("event count: no lost wake-up", event_count_scenario<real_event_count>));
}

TEST(DeterministicEventCount, NoLostWakeUpWithSpuriousWakeUpsAndCasFailures) {
  expect_all_pass(over_seeds("event count: no lost wake-up, spurious wake-ups",
                             event_count_scenario<real_event_count>, with_spurious(0)));
}

// The checker itself: the broken variants must be caught within the seed budget.
TEST(DeterministicEventCount, CatchesLateRegistrationLostWakeUp) {
  auto r = over_seeds("broken event count (late registration)", event_count_scenario<late_registration_event_count>,
                      {}, 5000);
  ASSERT_TRUE(r.first_failure) << "no seed out of " << r.seeds << " found the lost wake-up";
  EXPECT_NE(r.message.find("lost wake-up"), std::string::npos) << r.message;
}

TEST(DeterministicEventCount, CatchesTicketAfterRegistrationLostWakeUp) {
  auto r = over_seeds("broken event count (ticket after registration)",
                      event_count_scenario<ticket_after_registration_event_count>, {}, 5000);
  ASSERT_TRUE(r.first_failure) << "no seed out of " << r.seeds << " found the lost wake-up";
  EXPECT_NE(r.message.find("lost wake-up"), std::string::npos) << r.message;
}

// A seed is one interleaving: the same seed takes the same steps, another seed (almost surely) other ones.
TEST(DeterministicSchedule, SameSeedSameInterleaving) {
  auto run = [](std::uint64_t seed) {
    deterministic_schedule sched(seed);
    event_count_scenario<real_event_count>(seed, sched);
    return std::pair(sched.steps(), sched.trace());
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42).second, run(43).second);
}

// ---- sluice::queue ----

// NP producers put distinct items, NC consumers take them with range-for until the queue is closed and
// drained, a joiner waits in join(). Every item arrives exactly once, each producer's items in order, and
// join() returns.
std::string exactly_once_scenario(std::uint64_t seed, deterministic_schedule&) {
  draw d(seed);
  const int np = d.in(1, 3), nc = d.in(1, 3), per = d.in(1, 5);
  const int capacities[] = {0, 1, 2, 3};
  const int capacity = capacities[d.in(0, 3)];
  sluice::queue<int, det_sync> q(static_cast<std::size_t>(capacity));
  std::vector<std::vector<int>> got(static_cast<std::size_t>(nc));
  bool joined = false;
  {
    std::vector<det_thread> producers, consumers;
    for (int p = 0; p < np; ++p)
      producers.emplace_back([&, p] {
        for (int i = 0; i < per; ++i) q.put(p * 1000 + i);
      });
    for (int c = 0; c < nc; ++c)
      consumers.emplace_back([&, c] {
        for (int& x : q) got[static_cast<std::size_t>(c)].push_back(x);
      });
    det_thread joiner([&] {
      q.join();
      joined = true;
    });
    for (auto& t : producers) t.join();
    q.close();
    for (auto& t : consumers) t.join();
    joiner.join();
  }
  std::map<int, int> seen;
  for (auto& v : got) {
    std::map<int, int> last;
    for (int x : v) {
      ++seen[x];
      auto [it, fresh] = last.try_emplace(x / 1000, x);
      if (!fresh && it->second >= x) return "producer " + std::to_string(x / 1000) + "'s items out of order";
      it->second = x;
    }
  }
  for (int p = 0; p < np; ++p)
    for (int i = 0; i < per; ++i)
      if (seen[p * 1000 + i] != 1)
        return "item " + std::to_string(p * 1000 + i) + " delivered " + std::to_string(seen[p * 1000 + i]) + " times";
  if (seen.size() != static_cast<std::size_t>(np * per)) return "unknown items delivered";
  if (!joined) return "join() did not return";
  return {};
}

TEST(DeterministicQueue, ExactlyOnceDelivery) {
  expect_all_pass(over_seeds("queue: exactly-once delivery, NPxNC", exactly_once_scenario));
}

TEST(DeterministicQueue, ExactlyOnceDeliveryWithSpuriousWakeUpsAndCasFailures) {
  expect_all_pass(over_seeds("queue: exactly-once delivery, spurious wake-ups", exactly_once_scenario,
                             with_spurious(0)));
}

// close() races producers blocked on a full queue and consumers blocked on an empty one: every caller returns
// (producers with queue_shut_down, consumers once drained), and what was accepted is delivered exactly once.
std::string close_race_scenario(std::uint64_t seed, deterministic_schedule&) {
  draw d(seed);
  const int np = d.in(1, 3), nc = d.in(1, 3), per = d.in(1, 4), delay = d.in(0, 40);
  const int capacity = d.in(0, 2);  // 0: unbounded
  sluice::queue<int, det_sync> q(static_cast<std::size_t>(capacity));
  std::vector<std::vector<int>> accepted(static_cast<std::size_t>(np)), got(static_cast<std::size_t>(nc));
  int returned = 0;
  {
    std::vector<det_thread> threads;
    for (int p = 0; p < np; ++p)
      threads.emplace_back([&, p] {
        try {
          for (int i = 0; i < per; ++i) {
            q.put(p * 1000 + i);
            accepted[static_cast<std::size_t>(p)].push_back(p * 1000 + i);
          }
        } catch (const sluice::queue_shut_down&) {
        }
        ++returned;
      });
    for (int c = 0; c < nc; ++c)
      threads.emplace_back([&, c] {
        try {
          for (;;) got[static_cast<std::size_t>(c)].push_back(q.get());
        } catch (const sluice::queue_shut_down&) {
        }
        ++returned;
      });
    threads.emplace_back([&] {
      for (int i = 0; i < delay; ++i) det_sync::yield();
      q.close();
      ++returned;
    });
    for (auto& t : threads) t.join();
  }
  if (returned != np + nc + 1) return "not every caller returned";
  std::map<int, int> want, seen;
  for (auto& v : accepted)
    for (int x : v) ++want[x];
  for (auto& v : got)
    for (int x : v) ++seen[x];
  if (want != seen) {
    std::string s = "accepted and delivered differ:";
    for (auto& [x, n] : want)
      if (seen[x] != n) s += " " + std::to_string(x) + " (delivered " + std::to_string(seen[x]) + " times)";
    for (auto& [x, n] : seen)
      if (!want.count(x)) s += " " + std::to_string(x) + " (delivered, never accepted)";
    return s;
  }
  return {};
}

TEST(DeterministicQueue, CloseRacingBlockedPutAndGet) {
  expect_all_pass(over_seeds("queue: close() racing blocked put/get", close_race_scenario));
}

TEST(DeterministicQueue, CloseRacingBlockedPutAndGetWithSpuriousWakeUps) {
  expect_all_pass(over_seeds("queue: close() racing blocked put/get, spurious wake-ups", close_race_scenario,
                             with_spurious(0)));
}

// ---- the thread pool's core ----

using det_pool = sluice::detail::basic_pool_core<det_sync>;

template <class F>
sluice::future<void> submit(det_pool& core, F f) {  // thread_pool::submit, on the test's core
  auto* task = new sluice::detail::task_state<void, F>(std::move(f));
  auto fut = sluice::detail::make_future<void>(task);
  task->add_ref();
  try {
    core.push(task);
  } catch (...) {
    task->release();
    throw;
  }
  return fut;
}

// Submitters race shutdown(wait, cancel_futures) and then wait (polling) for their accepted futures; idle
// workers park and must be woken. Everyone returns; every accepted task runs exactly once, or is cancelled
// (cancel_futures only); no task runs after shutdown(wait=true) returned; refused submits throw.
std::string pool_shutdown_scenario(std::uint64_t seed, deterministic_schedule&) {
  draw d(seed);
  const int workers = d.in(1, 3), submitters = d.in(1, 2), per = d.in(1, 4), delay = d.in(0, 60);
  const bool wait = d.in(0, 1) == 1, cancel = d.in(0, 2) == 0;
  std::vector<int> runs(static_cast<std::size_t>(submitters * per), 0);
  std::vector<std::optional<sluice::future<void>>> futures(runs.size());
  bool shutdown_returned = false, ran_late = false;
  int refused = 0;
  std::string error;
  {
    std::optional<det_pool> core;
    core.emplace(sluice::pool_options{.max_workers = static_cast<std::size_t>(workers)});
    std::vector<det_thread> threads;
    for (int s = 0; s < submitters; ++s)
      threads.emplace_back([&, s] {
        for (int i = 0; i < per; ++i) {
          std::size_t k = static_cast<std::size_t>(s * per + i);
          try {
            futures[k] = submit(*core, [&runs, &ran_late, &shutdown_returned, k] {
              ++runs[k];
              if (shutdown_returned) ran_late = true;
            });
          } catch (const std::runtime_error&) {
            ++refused;
          }
        }
        // A waiter: polls its futures until each is done (a scheduling point between looks).
        for (int i = 0; i < per; ++i) {
          auto& f = futures[static_cast<std::size_t>(s * per + i)];
          if (f)
            while (!f->done()) det_sync::yield();
        }
      });
    threads.emplace_back([&] {
      for (int i = 0; i < delay; ++i) det_sync::yield();
      core->shutdown(wait, cancel);
      if (wait) shutdown_returned = true;
    });
    for (auto& t : threads) t.join();
    core.reset();  // joins the workers (shutdown(true))
  }
  if (ran_late) return "a task ran after shutdown(wait=true) returned";
  int accepted = 0;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    if (!futures[k]) {
      if (runs[k] != 0) return "a refused task ran";
      continue;
    }
    ++accepted;
    if (!futures[k]->done()) return "task " + std::to_string(k) + " never finished";
    bool cancelled = futures[k]->cancelled();
    if (cancelled && !cancel) return "task " + std::to_string(k) + " cancelled without cancel_futures";
    if (runs[k] != (cancelled ? 0 : 1))
      return "task " + std::to_string(k) + " ran " + std::to_string(runs[k]) + " times";
  }
  if (accepted + refused != static_cast<int>(runs.size())) return "a submit neither accepted nor refused";
  return {};
}

TEST(DeterministicThreadPool, ShutdownRacingSubmitAndWaiters) {
  expect_all_pass(over_seeds("pool: shutdown racing submit and waiters", pool_shutdown_scenario));
}

TEST(DeterministicThreadPool, ShutdownRacingSubmitAndWaitersWithSpuriousWakeUps) {
  expect_all_pass(over_seeds("pool: shutdown racing submit and waiters, spurious wake-ups", pool_shutdown_scenario,
                             with_spurious(0)));
}

}  // namespace
