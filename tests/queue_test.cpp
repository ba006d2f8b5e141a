// Tests for sluice::queue: Python 3.13 queue.Queue semantics, close/range-for, exactly-once delivery
// under producers x consumers x capacity sweeps, timeouts, idle CPU, and failure mode 13.
#include "sluice/queue.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include "support/sanitizer.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

static_assert(std::ranges::input_range<sluice::queue<int>&>);
static_assert(std::ranges::input_range<sluice::queue<std::unique_ptr<int>>&>);
static_assert(std::input_iterator<sluice::queue<int>::iterator>);
static_assert(!std::copyable<sluice::queue<int>::iterator>);

// Counts live instances and copies: proves nothing leaked, was destroyed twice, or was copied.
struct counted {
  static inline std::atomic<long> live{0};
  static inline std::atomic<long> copies{0};
  int value = 0;
  explicit counted(int v) : value(v) { ++live; }
  counted(const counted& o) : value(o.value) {
    ++live;
    ++copies;
  }
  counted(counted&& o) noexcept : value(o.value) {
    o.value = -1;
    ++live;
  }
  counted& operator=(const counted&) = delete;
  counted& operator=(counted&&) = delete;
  ~counted() { --live; }
};

class QueueBasics : public ::testing::TestWithParam<std::size_t> {};  // param: maxsize (0 = unbounded)

TEST_P(QueueBasics, FifoOrderAndSizes) {
  sluice::queue<int> q(GetParam());
  EXPECT_EQ(q.maxsize(), GetParam());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.qsize(), 0u);
  for (int i = 0; i < 3; ++i) q.put(i);
  EXPECT_EQ(q.qsize(), 3u);
  EXPECT_FALSE(q.empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.get(), i);
  EXPECT_TRUE(q.empty());
}

TEST_P(QueueBasics, NowaitEmptyThrows) {
  sluice::queue<int> q(GetParam());
  EXPECT_THROW(q.get_nowait(), sluice::queue_empty);
  EXPECT_FALSE(q.try_get().has_value());
  q.put_nowait(7);
  EXPECT_EQ(q.get_nowait(), 7);
}

TEST_P(QueueBasics, ShutdownPrecedence) {
  sluice::queue<int> q(GetParam());
  q.put(1);
  q.shutdown();
  EXPECT_TRUE(q.is_shut_down());
  // Puts: shut down comes before everything, including a bad timeout.
  EXPECT_THROW(q.put(2), sluice::queue_shut_down);
  EXPECT_THROW(q.put(2, sluice::seconds(-1)), sluice::queue_shut_down);
  EXPECT_THROW(q.put_nowait(2), sluice::queue_shut_down);
  int two = 2;
  EXPECT_THROW(q.try_put(two), sluice::queue_shut_down);
  EXPECT_THROW(q.try_put(2), sluice::queue_shut_down);
  EXPECT_THROW(q.try_put_for(2, sluice::seconds(-1)), sluice::queue_shut_down);
  // Gets drain what is left; a negative timeout is still an error while an item is there.
  EXPECT_THROW(q.get(sluice::seconds(-1)), std::invalid_argument);
  EXPECT_THROW(q.try_get_for(sluice::seconds(-1)), std::invalid_argument);
  EXPECT_EQ(q.get(), 1);
  EXPECT_THROW(q.get(), sluice::queue_shut_down);
  EXPECT_THROW(q.get(sluice::seconds(-1)), sluice::queue_shut_down);
  EXPECT_THROW(q.get(sluice::seconds(1)), sluice::queue_shut_down);
  EXPECT_THROW(q.get_nowait(), sluice::queue_shut_down);
  EXPECT_FALSE(q.try_get().has_value());
  EXPECT_FALSE(q.try_get_for(sluice::seconds(-1)).has_value());  // drained comes first
  EXPECT_FALSE(q.try_get_for(sluice::seconds(10)).has_value());   // at once
  q.close();  // sticky and idempotent
  EXPECT_TRUE(q.is_shut_down());
}

TEST_P(QueueBasics, NegativeOrNanTimeoutIsInvalidEvenWithItemReady) {
  sluice::queue<int> q(GetParam());
  q.put(1);
  EXPECT_THROW(q.get(sluice::seconds(-0.5)), std::invalid_argument);
  EXPECT_THROW(q.get(sluice::seconds(std::numeric_limits<double>::quiet_NaN())), std::invalid_argument);
  EXPECT_THROW(q.put(2, sluice::seconds(-1)), std::invalid_argument);
  EXPECT_THROW(q.try_put_for(2, sluice::seconds(-1)), std::invalid_argument);
  EXPECT_EQ(q.qsize(), 1u);  // nothing was taken or added by the failed calls
  EXPECT_EQ(q.get(sluice::seconds(0)), 1);
  EXPECT_THROW(q.get(sluice::seconds(0)), sluice::queue_empty);
}

TEST_P(QueueBasics, HugeTimeoutMeansForever) {
  sluice::queue<int> q(GetParam());
  q.put(3, sluice::seconds(1e300));
  EXPECT_EQ(q.get(sluice::seconds(std::numeric_limits<double>::infinity())), 3);
}

TEST_P(QueueBasics, TaskDoneAndJoin) {
  sluice::queue<int> q(GetParam());
  q.join();  // nothing unfinished: returns at once
  EXPECT_THROW(q.task_done(), std::logic_error);
  try {
    q.task_done();
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
  q.put(1);
  q.put(2);
  std::atomic<bool> joined{false};
  std::thread joiner([&] {
    q.join();
    joined = true;
  });
  EXPECT_EQ(q.get(), 1);
  q.task_done();
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(joined.load());  // one task still unfinished
  EXPECT_EQ(q.get(), 2);
  q.task_done();
  joiner.join();
  EXPECT_TRUE(joined.load());
  EXPECT_THROW(q.task_done(), std::logic_error);
}

TEST_P(QueueBasics, ImmediateShutdownDiscardsAndMarksDone) {
  counted::live = 0;
  {
    sluice::queue<counted> q(GetParam());
    for (int i = 0; i < 2; ++i) q.put(counted(i));
    std::thread joiner([&] { q.join(); });
    q.shutdown(true);
    joiner.join();  // discarded items count as done
    EXPECT_EQ(counted::live.load(), 0);
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_THROW(q.get(), sluice::queue_shut_down);
    EXPECT_THROW(q.task_done(), std::logic_error);
  }
  EXPECT_EQ(counted::live.load(), 0);
}

TEST_P(QueueBasics, ImmediateShutdownDoesNotGoBelowZero) {
  sluice::queue<int> q(GetParam());
  q.put(1);
  q.put(2);
  q.task_done();  // legal in Python before any get
  q.task_done();
  q.shutdown(true);
  q.join();
  EXPECT_THROW(q.task_done(), std::logic_error);
}

TEST_P(QueueBasics, MoveOnlyItemsNeverCopiedNorLeaked) {
  counted::live = 0;
  counted::copies = 0;
  {
    sluice::queue<counted> q(GetParam());
    q.put(counted(1));
    q.put(counted(2), sluice::seconds(1));
    counted c(3);
    ASSERT_TRUE(q.try_put(std::move(c)));
    EXPECT_EQ(q.get().value, 1);
    // Left in the queue on destruction: destroyed exactly once.
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::copies.load(), 0);

  sluice::queue<std::unique_ptr<int>> q(GetParam());
  q.put(std::make_unique<int>(5));
  EXPECT_EQ(*q.get(), 5);
}

TEST_P(QueueBasics, RangeForMarksTaskDoneAsItMovesOn) {
  sluice::queue<std::string> q(GetParam() == 0 ? 0 : 8);
  q.put("a");
  q.put("b");
  q.put("c");
  q.close();
  std::vector<std::string> seen;
  for (std::string& s : q) {
    seen.push_back(s);
    if (seen.size() == 1) {
      EXPECT_FALSE(q.empty());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  q.join();  // every item was marked done
  EXPECT_THROW(q.task_done(), std::logic_error);
}

TEST_P(QueueBasics, RangeForBreakAndExceptionMarkDone) {
  sluice::queue<int> q(GetParam() == 0 ? 0 : 8);
  for (int i = 0; i < 4; ++i) q.put(i);
  for (int& v : q) {
    if (v == 1) break;
  }
  EXPECT_EQ(q.qsize(), 2u);  // no read-ahead: exactly two taken
  try {
    for (int& v : q) {
      if (v == 2) throw std::runtime_error("boom");
    }
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(q.get(), 3);
  q.task_done();
  q.join();  // items 0, 1, 2 were marked by the loops
}

TEST_P(QueueBasics, RangesAlgorithmsReadFromQueue) {
  sluice::queue<int> q(GetParam() == 0 ? 0 : 16);
  for (int i = 1; i <= 5; ++i) q.put(i);
  q.close();
  int sum = 0;
#if defined(__clang__) && __clang_major__ < 15
  // clang 14 cannot compile libstdc++ 12's range adaptors at all (not even over a std::vector).
  std::ranges::for_each(q, [&](int x) { sum += x * 2; });
#else
  for (int v : q | std::views::transform([](int x) { return x * 2; })) sum += v;
#endif
  EXPECT_EQ(sum, 30);
  q.join();
}

INSTANTIATE_TEST_SUITE_P(Capacities, QueueBasics, ::testing::Values(0, 3, 4, 64),
                         [](const auto& info) { return "maxsize" + std::to_string(info.param); });

TEST(QueueBounded, FullBehaviour) {
  sluice::queue<int> q(2);
  q.put(1);
  q.put(2);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_THROW(q.put_nowait(3), sluice::queue_full);
  int three = 3;
  EXPECT_FALSE(q.try_put(three));
  EXPECT_EQ(three, 3);
  auto moved_only = std::make_unique<int>(9);
  sluice::queue<std::unique_ptr<int>> uq(1);
  uq.put(std::make_unique<int>(1));
  EXPECT_FALSE(uq.try_put(std::move(moved_only)));
  ASSERT_NE(moved_only, nullptr);  // untouched by a failed try_put
  EXPECT_FALSE(uq.try_put_for(std::move(moved_only), sluice::seconds(0.01)));
  ASSERT_NE(moved_only, nullptr);
  EXPECT_THROW(q.put(3, sluice::seconds(0.01)), sluice::queue_full);
  EXPECT_EQ(q.get(), 1);
  EXPECT_FALSE(q.full());
  q.put(3);
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
}

TEST(QueueBounded, UnboundedIsNeverFull) {
  sluice::queue<int> q;
  for (int i = 0; i < 100000; ++i) q.put_nowait(i);
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 100000u);
  long sum = 0;
  while (auto v = q.try_get()) sum += *v;
  EXPECT_EQ(sum, 100000L * 99999 / 2);
}

TEST(QueueBounded, AbsurdMaxsizeIsAClearError) {
  EXPECT_THROW(sluice::queue<int>(std::size_t{1} << 50), std::invalid_argument);
}

TEST(QueueBounded, ThrowingConstructorLeavesQueueUsable) {
  struct fragile {
    int v;
    explicit fragile(int x) : v(x) {}
    fragile(const fragile& o) : v(o.v) {
      if (v < 0) throw std::runtime_error("copy refused");
    }
    fragile(fragile&& o) noexcept : v(o.v) {}
  };
  sluice::queue<fragile> q(2);
  const fragile bad(-1);
  EXPECT_THROW(q.try_put(bad), std::runtime_error);
  q.put(fragile(4));
  EXPECT_EQ(q.get().v, 4);  // the failed slot is skipped
  q.task_done();
  q.join();  // and not counted as unfinished
}

// Sanitizers slow everything down by 5-20x; the sweeps shrink so the suite stays well under its limits.
constexpr long stress_scale = sluice_test::under_sanitizer ? 2 : 8;

struct sweep_case {
  int producers;
  int consumers;
  std::size_t capacity;
};

class QueueSweep : public ::testing::TestWithParam<sweep_case> {};

// Every item put is got exactly once, each producer's items arrive in order at each consumer, and
// close() ends every consumer once the queue has drained (failure mode 13).
TEST_P(QueueSweep, ExactlyOnceDelivery) {
  const auto [producers, consumers, capacity] = GetParam();
  const long per_producer = 2000 * stress_scale / producers;
  sluice::queue<long> q(capacity);
  std::vector<std::vector<long>> received(static_cast<std::size_t>(consumers));
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = received[static_cast<std::size_t>(c)];
      if (c % 2 == 0) {
        for (long& v : q) mine.push_back(v);  // marks task_done as it goes
      } else {
        for (;;) {
          std::optional<long> v = (c % 4 == 1) ? q.try_get_for(sluice::seconds(5)) : std::optional<long>{};
          if (c % 4 == 3) {
            try {
              v = q.get();
            } catch (const sluice::queue_shut_down&) {
              break;
            }
          } else if (!v) {
            if (q.is_shut_down() && q.empty()) break;
            continue;
          }
          mine.push_back(*v);
          q.task_done();
        }
      }
    });
  }
  std::vector<std::thread> producer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      for (long i = 0; i < per_producer; ++i) {
        long item = static_cast<long>(p) * per_producer + i;
        if (i % 3 == 0) {
          q.put(item);
        } else if (i % 3 == 1) {
          while (!q.try_put(std::move(item))) std::this_thread::yield();
        } else {
          q.put(item, sluice::seconds(30));
        }
      }
    });
  }
  for (auto& t : producer_threads) t.join();
  q.join();  // consumers mark every item done
  q.close();
  for (auto& t : threads) t.join();

  const long total = per_producer * producers;
  std::vector<int> seen(static_cast<std::size_t>(total), 0);
  for (const auto& mine : received) {
    std::vector<long> last(static_cast<std::size_t>(producers), -1);
    for (long v : mine) {
      ASSERT_GE(v, 0);
      ASSERT_LT(v, total);
      ++seen[static_cast<std::size_t>(v)];
      auto p = static_cast<std::size_t>(v / per_producer);
      EXPECT_GT(v, last[p]) << "items of one producer arrived out of order";
      last[p] = v;
    }
  }
  long missing = std::count(seen.begin(), seen.end(), 0);
  long duplicated = std::count_if(seen.begin(), seen.end(), [](int n) { return n > 1; });
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.task_done(), std::logic_error);
}

std::vector<sweep_case> sweep_cases() {
  std::vector<sweep_case> cases;
  for (int p : {1, 2, 4, 8})
    for (int c : {1, 2, 4, 8})
      for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{64}, std::size_t{1024}})
        cases.push_back({p, c, cap});
  for (int pc : {1, 4}) cases.push_back({pc, pc, 0});  // unbounded
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ProducersConsumersCapacity, QueueSweep, ::testing::ValuesIn(sweep_cases()),
                         [](const auto& info) {
                           return std::to_string(info.param.producers) + "P" + std::to_string(info.param.consumers) +
                                  "C_cap" + std::to_string(info.param.capacity);
                         });

// Failure mode 13: close() racing with producers blocked on a full queue and consumers blocked on an
// empty one wakes every one of them promptly.
TEST(QueueClose, WakesBlockedProducers) {
  sluice::queue<int> q(1);
  q.put(0);
  std::atomic<int> shut_down_seen{0};
  std::vector<std::thread> producers;
  for (int i = 0; i < 8; ++i)
    producers.emplace_back([&] {
      try {
        q.put(1);
      } catch (const sluice::queue_shut_down&) {
        ++shut_down_seen;
      }
    });
  std::this_thread::sleep_for(50ms);
  auto start = clock_type::now();
  q.close();
  for (auto& t : producers) t.join();
  EXPECT_LT(clock_type::now() - start, 10s);
  EXPECT_EQ(shut_down_seen.load(), 8);
  EXPECT_EQ(q.get(), 0);  // what was queued before the close is still delivered
  EXPECT_THROW(q.get(), sluice::queue_shut_down);
}

TEST(QueueClose, WakesBlockedConsumers) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{64}}) {
    sluice::queue<int> q(cap);
    std::atomic<int> ended{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 8; ++i)
      consumers.emplace_back([&, i] {
        if (i % 2 == 0) {
          for (int& v : q) (void)v;
          ++ended;
        } else {
          try {
            q.get();
          } catch (const sluice::queue_shut_down&) {
            ++ended;
          }
        }
      });
    std::this_thread::sleep_for(30ms);
    q.close();
    for (auto& t : consumers) t.join();
    EXPECT_EQ(ended.load(), 8) << "capacity " << cap;
  }
}

// Producers and consumers keep going while close() lands at a random moment: every put that returned
// normally is delivered exactly once; every put that threw delivered nothing.
TEST(QueueClose, RacingCloseLosesNothing) {
  for (int round = 0; round < 20; ++round) {
    for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{64}}) {
      sluice::queue<long> q(cap);
      std::atomic<long> accepted{0};
      std::atomic<long> accepted_sum{0};
      std::atomic<long> got{0};
      std::atomic<long> got_sum{0};
      std::vector<std::thread> threads;
      for (int p = 0; p < 3; ++p)
        threads.emplace_back([&, p] {
          for (long i = 1;; ++i) {
            long item = i * 4 + p;
            try {
              q.put(item);
            } catch (const sluice::queue_shut_down&) {
              return;
            }
            ++accepted;
            accepted_sum += item;
          }
        });
      for (int c = 0; c < 3; ++c)
        threads.emplace_back([&] {
          for (long& v : q) {
            ++got;
            got_sum += v;
          }
        });
      std::this_thread::sleep_for(std::chrono::microseconds(200 + 300 * round));
      q.close();
      for (auto& t : threads) t.join();
      EXPECT_EQ(got.load(), accepted.load()) << "round " << round << " capacity " << cap;
      EXPECT_EQ(got_sum.load(), accepted_sum.load());
      q.join();
    }
  }
}

TEST(QueueClose, ImmediateShutdownWhileBlocked) {
  sluice::queue<int> q(2);
  q.put(1);
  q.put(2);
  std::atomic<int> producers_out{0};
  std::thread producer([&] {
    try {
      q.put(3);
    } catch (const sluice::queue_shut_down&) {
      ++producers_out;
    }
  });
  std::thread joiner([&] { q.join(); });
  std::this_thread::sleep_for(30ms);
  q.shutdown(true);
  producer.join();
  joiner.join();
  EXPECT_EQ(producers_out.load(), 1);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.get_nowait(), sluice::queue_shut_down);
}

TEST(QueueClose, TimedWaitersSeeShutdownAtOnce) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}}) {
    sluice::queue<int> q(cap);
    if (cap == 1) q.put(0);
    std::atomic<int> producer_threw{0};
    std::atomic<int> consumers_ended{0};
    std::vector<std::thread> threads;
    if (cap == 1) {
      threads.emplace_back([&] {
        try {
          (void)q.try_put_for(1, sluice::seconds(60));
        } catch (const sluice::queue_shut_down&) {
          ++producer_threw;
        }
      });
      threads.emplace_back([&] {
        try {
          q.put(1, sluice::seconds(60));
        } catch (const sluice::queue_shut_down&) {
          ++producer_threw;
        }
      });
    } else {
      threads.emplace_back([&] {
        if (!q.try_get_for(sluice::seconds(60))) ++consumers_ended;
      });
      threads.emplace_back([&] {
        try {
          (void)q.get(sluice::seconds(60));
        } catch (const sluice::queue_shut_down&) {
          ++consumers_ended;
        }
      });
    }
    std::this_thread::sleep_for(30ms);
    auto start = clock_type::now();
    if (cap == 1) {
      q.close();
    } else {
      q.shutdown(true);
    }
    for (auto& t : threads) t.join();
    EXPECT_LT(clock_type::now() - start, 10s);  // not the 60 s timeouts
    EXPECT_EQ(producer_threw.load() + consumers_ended.load(), 2) << "capacity " << cap;
  }
}

TEST(QueueBlocking, PutBlocksUntilAGetFreesASlot) {
  sluice::queue<int> q(1);
  q.put(1);
  std::atomic<bool> put_done{false};
  std::thread producer([&] {
    q.put(2);
    put_done = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(put_done.load());
  EXPECT_EQ(q.get(), 1);
  producer.join();
  EXPECT_TRUE(put_done.load());
  EXPECT_EQ(q.get(), 2);
}

TEST(QueueBlocking, GetBlocksUntilAPut) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{2}}) {
    sluice::queue<std::string> q(cap);
    std::string got;
    std::thread consumer([&] { got = q.get(); });
    std::this_thread::sleep_for(30ms);
    EXPECT_TRUE(got.empty());
    q.put("late");
    consumer.join();
    EXPECT_EQ(got, "late");
  }
}

TEST(QueueIterator, MovedIteratorKeepsItsItemAndMarksItOnce) {
  sluice::queue<int> q(4);
  q.put(10);
  q.put(20);
  {
    auto it = q.begin();
    ASSERT_FALSE(it == std::default_sentinel);
    EXPECT_EQ(*it, 10);
    auto moved = std::move(it);
    EXPECT_TRUE(it == std::default_sentinel);  // NOLINT(bugprone-use-after-move): specified state
    EXPECT_EQ(*moved, 10);
    EXPECT_EQ(q.qsize(), 1u);  // begin() took exactly one item
    ++moved;                   // marks 10 done, takes 20
    EXPECT_EQ(*moved, 20);
  }  // destroying the iterator marks 20 done
  q.join();
  EXPECT_THROW(q.task_done(), std::logic_error);
}

TEST(QueueIterator, EndsAtOnceOnAClosedEmptyQueue) {
  sluice::queue<int> q;
  q.close();
  int n = 0;
  for (int& v : q) n += v + 1;
  EXPECT_EQ(n, 0);
}

// Guards the event count's signal accounting: a waiter that read its ticket after registering could
// sleep through the signal meant for it while that signal stayed counted, so every later put skipped
// the wake and the waiter slept with items queued. A thief that takes items without ever waiting makes
// such races more likely; at the end the blocked consumer must still receive what is put for it. (The
// original race is rare outside TSan; RacingCloseLosesNothing under TSan is what found it.)
TEST(QueueRegression, BlockedConsumerStillWokenWhileAThiefStealsItems) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{8}}) {
    sluice::queue<int> q(cap);
    std::atomic<bool> stop_thief{false};
    std::atomic<int> sleeper_got{0};
    std::thread sleeper([&] {
      try {
        for (;;) {
          if (q.get() < 0) ++sleeper_got;  // negative items are meant for the sleeper
        }
      } catch (const sluice::queue_shut_down&) {
      }
    });
    std::thread thief([&] {
      while (!stop_thief) {
        if (auto v = q.try_get(); v && *v < 0) ++sleeper_got;
      }
    });
    for (int i = 0; i < 5000 * static_cast<int>(stress_scale); ++i) {
      q.put(i);
      if (i % 64 == 0) std::this_thread::yield();
    }
    stop_thief = true;
    thief.join();
    for (int i = 0; i < 4; ++i) q.put(-1);
    auto deadline = clock_type::now() + 20s;
    while (sleeper_got.load() < 4 && clock_type::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(sleeper_got.load(), 4) << "the blocked consumer was never woken (capacity " << cap << ")";
    q.shutdown(true);
    sleeper.join();
  }
}

// 32 threads hammering a capacity-1 queue: more threads than cores must neither lose items nor hang.
TEST(QueueStress, ThirtyTwoThreadsOnCapacityOne) {
  sluice::queue<int> q(1);
  const int per_producer = static_cast<int>(250 * stress_scale / 4);
  std::atomic<long> sum{0};
  std::atomic<long> count{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 16; ++c)
    threads.emplace_back([&] {
      for (int& v : q) {
        sum += v;
        ++count;
      }
    });
  std::vector<std::thread> producers;
  for (int p = 0; p < 16; ++p)
    producers.emplace_back([&] {
      for (int i = 1; i <= per_producer; ++i) q.put(i);
    });
  for (auto& t : producers) t.join();
  q.join();
  q.close();
  for (auto& t : threads) t.join();
  EXPECT_EQ(count.load(), 16L * per_producer);
  EXPECT_EQ(sum.load(), 16L * per_producer * (per_producer + 1) / 2);
}

TEST(QueueStress, CountedItemsNeitherLeakedNorCopied) {
  counted::live = 0;
  counted::copies = 0;
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{8}}) {
    sluice::queue<counted> q(cap);
    std::atomic<long> sum{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < 3; ++c)
      threads.emplace_back([&] {
        for (counted& v : q) sum += v.value;
      });
    for (int p = 0; p < 3; ++p)
      threads.emplace_back([&] {
        for (int i = 1; i <= 500; ++i) q.put(counted(i));
      });
    for (std::size_t i = 3; i < threads.size(); ++i) threads[i].join();
    q.close();
    for (std::size_t i = 0; i < 3; ++i) threads[i].join();
    EXPECT_EQ(sum.load(), 3L * 500 * 501 / 2);
  }
  // Half-consumed, then destroyed with items inside and an immediate shutdown in between.
  {
    sluice::queue<counted> q(16);
    for (int i = 0; i < 10; ++i) q.put(counted(i));
    (void)q.get();
    sluice::queue<counted> q2(0);
    for (int i = 0; i < 10; ++i) q2.put(counted(i));
    q2.shutdown(true);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::copies.load(), 0);
}

// Timeouts never return early, and wake-ups do not renew the deadline (failure mode 13).
TEST(QueueTimeout, JoinForTimesOutNotEarlyThenSeesEveryTaskDone) {
  sluice::queue<int> q(4);
  EXPECT_TRUE(q.join_for(sluice::seconds(0)));  // nothing unfinished
  q.put(1);
  q.put(2);
  auto t0 = clock_type::now();
  EXPECT_FALSE(q.join_for(100ms));
  EXPECT_GE(std::chrono::duration<double>(clock_type::now() - t0).count(), 0.1);
  EXPECT_FALSE(q.join_for(sluice::seconds(0)));  // 0 only looks
  std::thread consumer([&q] {
    std::this_thread::sleep_for(50ms);
    for (int i = 0; i < 2; ++i) {
      q.get();
      q.task_done();
    }
  });
  EXPECT_TRUE(q.join_for(30s));
  consumer.join();
}

TEST(QueueTimeout, JoinForNegativeOrNanIsInvalidHugeMeansForever) {
  sluice::queue<int> q;
  q.put(1);
  for (double bad : {-1.0, -1e-9, std::numeric_limits<double>::quiet_NaN()})
    EXPECT_THROW(q.join_for(sluice::seconds(bad)), std::invalid_argument) << bad;
  std::thread consumer([&q] {
    std::this_thread::sleep_for(20ms);
    q.get();
    q.task_done();
  });
  EXPECT_TRUE(q.join_for(sluice::seconds(1e300)));
  EXPECT_TRUE(q.join_for(sluice::seconds(std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(q.join_for(sluice::seconds(1e12)));
  consumer.join();
}

TEST(QueueTimeout, GetTimesOutNotEarly) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{4}}) {
    sluice::queue<int> q(cap);
    auto start = clock_type::now();
    EXPECT_THROW(q.get(sluice::seconds(0.1)), sluice::queue_empty);
    auto elapsed = clock_type::now() - start;
    EXPECT_GE(elapsed, 100ms);
    EXPECT_LT(elapsed, 10s);
    start = clock_type::now();
    EXPECT_FALSE(q.try_get_for(sluice::seconds(0.05)).has_value());
    EXPECT_GE(clock_type::now() - start, 50ms);
  }
}

TEST(QueueTimeout, PutTimesOutNotEarly) {
  sluice::queue<int> q(1);
  q.put(0);
  auto start = clock_type::now();
  EXPECT_THROW(q.put(1, sluice::seconds(0.1)), sluice::queue_full);
  auto elapsed = clock_type::now() - start;
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 10s);
  start = clock_type::now();
  EXPECT_FALSE(q.try_put_for(1, sluice::seconds(0.05)));
  EXPECT_GE(clock_type::now() - start, 50ms);
}

// An item whose move constructor waits for a signal: the producer putting it holds the head slot
// "being written", so consumers find the queue empty however many items queue up behind it.
struct slow_item {
  static inline std::atomic<bool> released{false};
  int value;
  bool slow;
  slow_item(int v, bool s) : value(v), slow(s) {}
  slow_item(slow_item&& o) noexcept : value(o.value), slow(o.slow) {
    while (slow && !released) std::this_thread::sleep_for(1ms);
  }
};

TEST(QueueTimeout, WakeUpsDoNotRenewTheDeadline) {
  // Every put behind the stalled head slot wakes the waiting consumer, which finds nothing it may take
  // and sleeps again. Its deadline must stay where it was: were it renewed at each wake-up, the wait
  // would last as long as the feeder keeps putting.
  slow_item::released = false;
  sluice::queue<slow_item> q(1024);
  std::thread stalled([&] { q.put(slow_item(0, true)); });
  while (q.qsize() == 0) std::this_thread::sleep_for(1ms);
  std::atomic<bool> stop{false};
  std::atomic<int> fed{0};
  std::thread feeder([&] {
    for (int i = 1; i < 1000 && !stop; ++i) {
      q.put(slow_item(i, false));
      ++fed;
      std::this_thread::sleep_for(2ms);
    }
  });
  auto start = clock_type::now();
  EXPECT_THROW((void)q.get(sluice::seconds(0.3)), sluice::queue_empty);
  auto elapsed = clock_type::now() - start;
  stop = true;
  feeder.join();
  slow_item::released = true;
  stalled.join();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 5s) << "the deadline was renewed by wake-ups";
  EXPECT_GT(fed.load(), 5);  // the waiter really was woken along the way
  EXPECT_EQ(q.get().value, 0);  // and the stalled item comes out first once written
  EXPECT_EQ(q.qsize(), static_cast<std::size_t>(fed.load()));
}

// Blocked waiters sleep: 10 threads blocked for 300 ms burn far less CPU than 8 spinning threads would.
TEST(QueueIdle, BlockedWaitersUseNoCpu) {
  sluice::queue<int> empty_q(4);
  sluice::queue<int> full_q(1);
  full_q.put(0);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_THROW(empty_q.get(), sluice::queue_shut_down); });
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_THROW(full_q.put(1), sluice::queue_shut_down); });
  sluice::queue<int> unbounded_q;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { EXPECT_FALSE(unbounded_q.try_get_for(sluice::seconds(60))); });
  std::this_thread::sleep_for(300ms);
  empty_q.close();
  full_q.close();
  unbounded_q.close();
  for (auto& t : threads) t.join();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000L + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  long used_us = cpu_us(after) - cpu_us(before);
  // Spinning would cost ~8 x 300 ms (capped by 2 cores: ~600 ms). Allow thread start-up and sanitizers.
  EXPECT_LT(used_us, 150000) << "blocked waiters used " << used_us << " us of CPU";
}

}  // namespace
