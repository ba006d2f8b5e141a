// Tests for sluice::pipeline: results, filters, sources, order, failure mode 14 at every stage position,
// cancellation at random moments, bounded memory with an endless source, and the stats.
#include "sluice/pipeline.hpp"

#include <gtest/gtest.h>

#include "support/counting_range.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <ranges>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using sluice_test::counting_range;
using sluice_test::seconds_since;


std::vector<int> iota_vec(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Counts live instances so a test can prove that no item leaked or was destroyed twice.
struct counted {
  static inline std::atomic<int> alive{0};
  int v = 0;
  explicit counted(int x) : v(x) { ++alive; }
  counted(const counted& o) : v(o.v) { ++alive; }
  counted(counted&& o) noexcept : v(o.v) { ++alive; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
  ~counted() { --alive; }
};

struct stage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

// ---- results ----

TEST(Pipeline, SingleStageCollect) {
  auto out = sluice::pipeline(iota_vec(100)).stage([](int x) { return x * 3; }).collect();
  ASSERT_EQ(out.size(), 100u);
  std::sort(out.begin(), out.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], 3 * i);
}

TEST(Pipeline, SourceOnlyCollect) {
  auto out = sluice::pipeline(iota_vec(10), {.ordered = true}).collect();
  EXPECT_EQ(out, iota_vec(10));
}

TEST(Pipeline, EmptyInput) {
  std::vector<int> none;
  auto stats = sluice::pipeline(none).stage([](int x) { return x; }, {.workers = 3}).run();
  ASSERT_EQ(stats.stages.size(), 1u);
  EXPECT_EQ(stats.stages[0].items_in, 0u);
}

TEST(Pipeline, TypesChangeFromStageToStage) {
  auto out = sluice::pipeline(iota_vec(50), {.ordered = true})
                 .stage([](int x) { return std::to_string(x); }, {.workers = 2})
                 .stage([](std::string s) { return s.size(); }, {.workers = 3})
                 .collect();
  static_assert(std::is_same_v<decltype(out), std::vector<std::size_t>>);
  ASSERT_EQ(out.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(out[i], std::to_string(i).size());
}

TEST(Pipeline, OptionalResultsFilter) {
  auto out = sluice::pipeline(iota_vec(1000), {.ordered = true})
                 .stage([](int x) -> std::optional<int> {
                   if (x % 3 == 0) return std::nullopt;
                   return x;
                 },
                        {.workers = 4})
                 .stage([](int x) { return x * 2; }, {.workers = 2})
                 .collect();
  std::vector<int> expect;
  for (int i = 0; i < 1000; ++i)
    if (i % 3 != 0) expect.push_back(i * 2);
  EXPECT_EQ(out, expect);
}

TEST(Pipeline, VoidLastStageEndsThePipeline) {
  std::atomic<long> sum{0};
  sluice::pipeline_stats stats = sluice::pipeline(iota_vec(200))
                                     .stage([](int x) { return long(x); }, {.workers = 2})
                                     .stage([&sum](long x) { sum += x; }, {.workers = 3, .name = "sum"})
                                     .run();
  EXPECT_EQ(sum, 199L * 200 / 2);
  ASSERT_EQ(stats.stages.size(), 2u);
  EXPECT_EQ(stats.stages[1].name, "sum");
  EXPECT_EQ(stats.stages[1].items_in, 200u);
  EXPECT_EQ(stats.stages[1].items_out, 200u);
}

TEST(Pipeline, ForEachRunsSinkOnCallingThreadInOrder) {
  std::vector<int> seen;
  std::thread::id caller = std::this_thread::get_id();
  bool all_on_caller = true;
  sluice::pipeline(iota_vec(300), {.ordered = true})
      .stage([](int x) { return x + 1; }, {.workers = 3})
      .for_each([&](int x) {
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
        seen.push_back(x);
      });
  EXPECT_TRUE(all_on_caller);
  std::vector<int> expect(300);
  std::iota(expect.begin(), expect.end(), 1);
  EXPECT_EQ(seen, expect);
}

TEST(Pipeline, MoveOnlyItems) {
  auto out = sluice::pipeline(iota_vec(20), {.ordered = true})
                 .stage([](int x) { return std::make_unique<int>(x); }, {.workers = 2})
                 .stage([](std::unique_ptr<int> p) { return *p * 10; })
                 .collect();
  ASSERT_EQ(out.size(), 20u);
  EXPECT_EQ(out[19], 190);
}

TEST(Pipeline, LvalueRangeIsReferencedNotCopied) {
  std::vector<std::string> words{"a", "bb", "ccc"};
  auto out = sluice::pipeline(words, {.ordered = true}).stage([](std::string s) { return s + "!"; }).collect();
  EXPECT_EQ(out, (std::vector<std::string>{"a!", "bb!", "ccc!"}));
  EXPECT_EQ(words[2], "ccc");
}

TEST(Pipeline, ZeroWorkersIsInvalid) {
  EXPECT_THROW(sluice::pipeline(iota_vec(3)).stage([](int x) { return x; }, {.workers = 0}), std::invalid_argument);
}

TEST(Pipeline, EmptySourceFunctionIsInvalid) {
  EXPECT_THROW(sluice::pipeline<int>(std::function<std::optional<int>()>{}), std::invalid_argument);
}

// ---- sources ----

TEST(PipelineSource, FunctionUntilNullopt) {
  int next = 0;
  auto out = sluice::pipeline<int>([&next]() -> std::optional<int> {
               if (next == 25) return std::nullopt;
               return next++;
             },
                                   {.ordered = true})
                 .stage([](int x) { return x * x; }, {.workers = 2})
                 .collect();
  ASSERT_EQ(out.size(), 25u);
  EXPECT_EQ(out[24], 576);
}

TEST(PipelineSource, QueueUntilClosedWithTaskDone) {
  sluice::queue<int> q(8);
  std::thread producer([&q] {
    for (int i = 0; i < 100; ++i) q.put(i);
    q.join();  // returns only because the pipeline marks each item task_done
    q.close();
  });
  auto out = sluice::pipeline(q, {.ordered = true}).stage([](int x) { return x + 1; }, {.workers = 2}).collect();
  producer.join();
  ASSERT_EQ(out.size(), 100u);
  EXPECT_EQ(out.front(), 1);
  EXPECT_EQ(out.back(), 100);
}

TEST(PipelineSource, UnclosedQueueStillEndsOnError) {
  sluice::queue<int> q;
  for (int i = 0; i < 5; ++i) q.put(i);  // never closed
  auto t0 = clock_type::now();
  EXPECT_THROW(sluice::pipeline(q)
                   .stage([](int x) {
                     if (x == 2) throw stage_error("bad item");
                     return x;
                   })
                   .run(),
               stage_error);
  EXPECT_LT(seconds_since(t0), 20.0);
}

TEST(PipelineSource, StopEndsARunWaitingOnAnIdleQueue) {
  sluice::queue<int> q(4);  // nobody puts and nobody closes it
  std::stop_source stop;
  auto t0 = clock_type::now();  // before the stopper starts its 100 ms: this thread may be preempted in between
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(100ms);
    stop.request_stop();
  });
  EXPECT_THROW(sluice::pipeline(q, {.stop_token = stop.get_token()}).stage([](int x) { return x; }).run(),
               sluice::cancelled_error);
  const double took = seconds_since(t0);
  stopper.join();
  EXPECT_GE(took, 0.1);
  EXPECT_LT(took, 20.0);
}

TEST(PipelineSource, ThrowingRangeReachesTheCaller) {
  counting_range input([](long x) {
    if (x == 50) throw stage_error("input broke");
    return int(x);
  });
  EXPECT_THROW(sluice::pipeline(input).stage([](int x) { return x; }, {.workers = 2}).run(), stage_error);
}

TEST(PipelineSource, ThrowingFunctionReachesTheCaller) {
  int n = 0;
  EXPECT_THROW(sluice::pipeline<int>([&n]() -> std::optional<int> {
                 if (n == 10) throw stage_error("source broke");
                 return n++;
               })
                   .stage([](int x) { return x; })
                   .collect(),
               stage_error);
}

// ---- order: stages x workers sweep with random per-item delays ----

class PipelineOrder : public testing::TestWithParam<std::tuple<int, std::size_t>> {};

TEST_P(PipelineOrder, OrderedOutputWithRandomDelays) {
  const int stages = std::get<0>(GetParam());
  const std::size_t workers = std::get<1>(GetParam());
  constexpr int n = 300;
  auto delay = [](int x, int salt) {
    std::mt19937 r(static_cast<unsigned>(x * 7919 + salt));
    if (r() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(r() % 400));
  };
  auto p = sluice::pipeline(iota_vec(n), {.ordered = true}).stage([&](int x) {
    delay(x, 1);
    return x;
  },
                                                                  {.workers = workers});
  for (int s = 1; s < stages; ++s)
    p = std::move(p).stage([&, s](int x) {
      delay(x, s + 1);
      return x;
    },
                           {.workers = workers, .capacity = 1 + static_cast<std::size_t>(s % 3)});
  auto out = std::move(p).collect();
  EXPECT_EQ(out, iota_vec(n));
}

TEST_P(PipelineOrder, UnorderedDeliversEachItemOnce) {
  const int stages = std::get<0>(GetParam());
  const std::size_t workers = std::get<1>(GetParam());
  auto p = sluice::pipeline(iota_vec(2000)).stage([](int x) { return x; }, {.workers = workers});
  for (int s = 1; s < stages; ++s) p = std::move(p).stage([](int x) { return x; }, {.workers = workers});
  auto out = std::move(p).collect();
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, iota_vec(2000));
}

INSTANTIATE_TEST_SUITE_P(StagesByWorkers, PipelineOrder,
                         testing::Combine(testing::Values(1, 2, 3), testing::Values<std::size_t>(1, 2, 4)),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "stages_" +
                                  std::to_string(std::get<1>(info.param)) + "workers";
                         });

// ---- failure mode 14: stage k throws while upstream is blocked on a full queue and downstream on an empty one ----

class PipelineFailure : public testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(PipelineFailure, StageThrowsWhileNeighboursAreBlocked) {
  const int position = std::get<0>(GetParam());  // 0, 1, 2: which of three stages throws; 3: the sink
  const bool ordered = std::get<1>(GetParam());
  counted::alive = 0;
  std::atomic<long> produced{0};
  auto slow_then_throw = [position](int k, const counted& c) {
    // The stage's other workers stall too, so nothing flows past it and its neighbours block.
    if (position == k && c.v > 3) std::this_thread::sleep_for(150ms);
    if (position == k && c.v == 3) {
      // By now upstream has filled its queue and blocks on put; downstream has drained and blocks on get.
      std::this_thread::sleep_for(100ms);
      throw stage_error("stage " + std::to_string(k) + " failed");
    }
  };
  auto t0 = clock_type::now();
  try {
    sluice::pipeline<counted>(
        [&produced]() -> std::optional<counted> { return counted(static_cast<int>(produced++)); },  // endless
        {.ordered = ordered})
        .stage([&](counted c) {
          slow_then_throw(0, c);
          return c;
        },
               {.workers = 2, .capacity = 2})
        .stage([&](counted c) {
          slow_then_throw(1, c);
          return c;
        },
               {.workers = 1, .capacity = 1})
        .stage([&](counted c) {
          slow_then_throw(2, c);
          return c;
        },
               {.workers = 3, .capacity = 4})
        .for_each([&](const counted&) {
          if (position == 3) {  // the first item the sink sees: by then everything upstream is blocked
            std::this_thread::sleep_for(100ms);
            throw stage_error("sink failed");
          }
        });
    FAIL() << "no exception";
  } catch (const stage_error& e) {
    const std::string expect = position == 3 ? "sink failed" : "stage " + std::to_string(position) + " failed";
    EXPECT_EQ(e.what(), expect);
  }
  EXPECT_LT(seconds_since(t0), 20.0);
  EXPECT_EQ(counted::alive, 0);  // every item in flight was destroyed, none leaked
  // The endless source stopped: it ran ahead at most by what the queues and workers hold, in batches of up to 64.
  EXPECT_LT(produced, (2 + 2 + 1 + 1 + 4 + 3 + 6 + 2) * 64 + 10);
}

INSTANTIATE_TEST_SUITE_P(EveryPosition, PipelineFailure,
                         testing::Combine(testing::Values(0, 1, 2, 3), testing::Bool()), [](const auto& info) {
                           return (std::get<0>(info.param) == 3 ? std::string("sink")
                                                                : "stage" + std::to_string(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_ordered" : "_unordered");
                         });

TEST(PipelineFailure, FirstExceptionWinsWhenSeveralThrow) {
  std::atomic<int> thrown{0};
  try {
    sluice::pipeline(iota_vec(1000))
        .stage([&thrown](int x) -> int {
          if (x >= 10) {
            ++thrown;
            throw stage_error("item " + std::to_string(x));
          }
          return x;
        },
               {.workers = 4})
        .run();
    FAIL() << "no exception";
  } catch (const stage_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("item ", 0), 0u);
  }
  EXPECT_GE(thrown, 1);
  EXPECT_LE(thrown, 4);  // no new items started after the first failure (at most one per worker raced it)
}

// ---- cancellation ----

TEST(PipelineCancel, StopBeforeStartThrowsWithoutRunning) {
  std::stop_source stop;
  stop.request_stop();
  std::atomic<int> calls{0};
  EXPECT_THROW(sluice::pipeline(iota_vec(10), {.stop_token = stop.get_token()})
                   .stage([&calls](int x) {
                     ++calls;
                     return x;
                   })
                   .run(),
               sluice::cancelled_error);
  EXPECT_EQ(calls, 0);
}

TEST(PipelineCancel, StopAtRandomMoments) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 12; ++round) {
    counted::alive = 0;
    std::stop_source stop;
    const auto when = std::chrono::microseconds(rng() % 20000);
    std::thread stopper([&stop, when] {
      std::this_thread::sleep_for(when);
      stop.request_stop();
    });
    const bool ordered = round % 2 == 0;
    auto t0 = clock_type::now();
    EXPECT_THROW(sluice::pipeline<counted>([n = 0]() mutable -> std::optional<counted> { return counted(n++); },
                                           {.ordered = ordered, .stop_token = stop.get_token()})
                     .stage([](counted c) { return c; }, {.workers = 2})
                     .stage([](counted c) -> std::optional<counted> {
                       if (c.v % 2) return std::nullopt;
                       return c;
                     },
                            {.workers = 3, .capacity = 1})
                     .run(),
                 sluice::cancelled_error)
        << "round " << round;
    stopper.join();
    EXPECT_LT(seconds_since(t0), 20.0);
    EXPECT_EQ(counted::alive, 0);
  }
}

TEST(PipelineCancel, ExceptionBeforeStopWins) {
  std::stop_source stop;
  std::atomic<bool> thrown{false};
  // The stop comes 50 ms after the stage's exception, while the run may still be winding down.
  std::thread stopper([&] {
    while (!thrown) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  try {
    sluice::pipeline(iota_vec(100), {.stop_token = stop.get_token()})
        .stage([&thrown](int x) -> int {
          if (x == 5) {
            thrown = true;
            throw stage_error("first");
          }
          if (x > 5) std::this_thread::sleep_for(20ms);  // keeps the run busy past the stop
          return x;
        },
               {.workers = 2})
        .run();
    FAIL() << "no exception";
  } catch (const stage_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  thrown = true;
  stopper.join();
}

TEST(PipelineCancel, StopWhileSinkIsSlowEndsPromptly) {
  std::stop_source stop;
  auto t0 = clock_type::now();
  int seen = 0;
  EXPECT_THROW(sluice::pipeline(counting_range([](long x) { return int(x); }), {.ordered = true, .stop_token = stop.get_token()})
                   .stage([](int x) { return x; }, {.workers = 2})
                   .for_each([&](int) {
                     if (++seen == 100) stop.request_stop();
                   }),
               sluice::cancelled_error);
  EXPECT_LT(seconds_since(t0), 20.0);
  EXPECT_GE(seen, 100);
}

// ---- bounded memory: an endless source never runs ahead of the bound ----
// The documented bound for source -> 2 workers (capacity 3) -> 2 workers (capacity 4) -> sink:
// (3 + 2) + (4 + 2) + output capacity max(2, 2 * 2) + 2 hands = 17 items. By default it holds item for item even
// with trivial work (where batching would pay most); with batch = 64 opted in, it counts batches instead.

// A live-object counter for the items themselves: an item is alive from its creation until the object holding
// it is destroyed; moved-from shells do not count, since the item moved on.
struct tracked {
  static inline std::atomic<long> alive{0};
  long v = 0;
  bool owns = false;
  explicit tracked(long x) : v(x), owns(true) { ++alive; }
  tracked(tracked&& o) noexcept : v(o.v), owns(std::exchange(o.owns, false)) {}
  tracked& operator=(tracked&& o) noexcept {
    if (this != &o) {
      if (owns) --alive;
      v = o.v;
      owns = std::exchange(o.owns, false);
    }
    return *this;
  }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() {
    if (owns) --alive;
  }
};

constexpr long documented_bound = (3 + 2) + (4 + 2) + 4 + 2;

class PipelineBound : public testing::TestWithParam<std::tuple<bool, std::size_t>> {};

TEST_P(PipelineBound, InFlightItemsStayUnderTheBoundWithTrivialWork) {
  const bool ordered = std::get<0>(GetParam());
  const std::size_t batch = std::get<1>(GetParam());
  tracked::alive = 0;
  std::atomic<long> produced{0}, worst_alive{0};
  long consumed = 0, worst = 0;
  const long bound = documented_bound * static_cast<long>(batch);
  std::stop_source stop;
  const long stop_at = 20000;
  EXPECT_THROW(sluice::pipeline<tracked>(
                   [&]() -> std::optional<tracked> {
                     tracked t(produced++);
                     const long now = tracked::alive.load();  // includes the one in the source's hand
                     long seen = worst_alive.load();
                     while (now > seen && !worst_alive.compare_exchange_weak(seen, now)) {
                     }
                     return t;
                   },
                   {.ordered = ordered, .stop_token = stop.get_token()})
                   .stage([](tracked t) {
                     t.v += 1;
                     return t;
                   },
                          {.workers = 2, .capacity = 3, .batch = batch})
                   .stage([](tracked t) {
                     t.v -= 1;
                     return t;
                   },
                          {.workers = 2, .capacity = 4, .batch = batch})
                   .for_each([&](tracked t) {
                     ++consumed;
                     worst = std::max(worst, produced.load() - consumed);
                     if (ordered) {
                       EXPECT_EQ(t.v, consumed - 1);
                     }
                     if (consumed == stop_at) stop.request_stop();
                   }),
               sluice::cancelled_error);
  EXPECT_LE(worst, bound);
  EXPECT_LE(worst_alive.load(), bound);
  EXPECT_GE(worst_alive.load(), 1);
  EXPECT_GE(consumed, stop_at);
  EXPECT_EQ(tracked::alive.load(), 0);  // a stopped run leaves nothing behind
}

INSTANTIATE_TEST_SUITE_P(OrderedBatch, PipelineBound,
                         testing::Combine(testing::Bool(), testing::Values(std::size_t{1}, std::size_t{64})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "ordered" : "unordered") + "_batch" +
                                  std::to_string(std::get<1>(info.param));
                         });

// The bound also holds with a stage much slower than its neighbours (queues before it fill up, after it drain).
TEST(PipelineBoundSlow, InFlightItemsStayUnderTheBoundWithASlowStage) {
  std::atomic<long> produced{0};
  long consumed = 0, worst = 0;
  std::stop_source stop;
  EXPECT_THROW(sluice::pipeline<long>([&]() -> std::optional<long> { return produced++; },
                                      {.ordered = true, .stop_token = stop.get_token()})
                   .stage([](long x) {
                     std::this_thread::sleep_for(30us);
                     return x;
                   },
                          {.workers = 2, .capacity = 3})
                   .stage([](long x) { return x; }, {.workers = 2, .capacity = 4})
                   .for_each([&](long x) {
                     ++consumed;
                     worst = std::max(worst, produced.load() - consumed);
                     EXPECT_EQ(x, consumed - 1);
                     if (consumed == 2000) stop.request_stop();
                   }),
               sluice::cancelled_error);
  EXPECT_LE(worst, documented_bound);
}

// Several workers emitting out of order into one consumer (a serial stage, then the sink) that reorders them:
// filtered items leave gaps, and uneven work per item makes the workers overtake each other. The order holds
// and the items alive stay within the documented bound.
TEST(PipelineReorder, SerialConsumerReordersWithinTheBound) {
  tracked::alive = 0;
  std::atomic<long> produced{0}, worst_alive{0};
  long consumed = 0;
  constexpr long bound = (3 + 3) + (2 + 1) + (2 + 2) + 4 + 2;  // stages' capacity + workers, output queue, 2
  std::stop_source stop;
  const long stop_at = 3000;
  EXPECT_THROW(sluice::pipeline<tracked>(
                   [&]() -> std::optional<tracked> {
                     tracked t(produced++);
                     const long now = tracked::alive.load();
                     long seen = worst_alive.load();
                     while (now > seen && !worst_alive.compare_exchange_weak(seen, now)) {
                     }
                     return t;
                   },
                   {.ordered = true, .stop_token = stop.get_token()})
                   .stage([](tracked t) -> std::optional<tracked> {
                     if (t.v % 5 == 0) return std::nullopt;  // a gap the consumer must step over
                     if (t.v % 7 == 0) std::this_thread::sleep_for(50us);
                     return t;
                   },
                          {.workers = 3, .capacity = 3})
                   .stage([last = -1L](tracked t) mutable {
                     EXPECT_GT(t.v, last);  // the serial stage already sees its inputs in order
                     last = t.v;
                     return t;
                   },
                          {.workers = 1, .capacity = 2})
                   .stage([](tracked t) { return t; }, {.workers = 2, .capacity = 2})
                   .for_each([&, last = -1L](tracked t) mutable {
                     EXPECT_GT(t.v, last);
                     EXPECT_NE(t.v % 5, 0);
                     last = t.v;
                     if (++consumed == stop_at) stop.request_stop();
                   }),
               sluice::cancelled_error);
  EXPECT_LE(worst_alive.load(), bound);
  EXPECT_GE(consumed, stop_at);
  EXPECT_EQ(tracked::alive.load(), 0);
}

TEST(PipelineReorder, ManyWorkersIntoSinkKeepOrderAndFilters) {
  auto out = sluice::pipeline(iota_vec(5000), {.ordered = true})
                 .stage([](int x) -> std::optional<int> {
                   if (x % 3 == 0) return std::nullopt;
                   if (x % 11 == 0) std::this_thread::sleep_for(20us);
                   return x;
                 },
                        {.workers = 4})
                 .collect();
  std::vector<int> expect;
  for (int i = 0; i < 5000; ++i)
    if (i % 3 != 0) expect.push_back(i);
  EXPECT_EQ(out, expect);
}

// Opting in to batching changes neither the results nor their order, with filters and several workers.
TEST(PipelineBatch, OptInGivesTheSameResults) {
  auto build = [](std::size_t batch, bool ordered) {
    return sluice::pipeline(iota_vec(20000), {.ordered = ordered})
        .stage([](int x) -> std::optional<long> {
          if (x % 3 == 0) return std::nullopt;
          return 2L * x;
        },
               {.workers = 3, .batch = batch})
        .stage([](long x) { return x + 1; }, {.workers = 2, .batch = batch})
        .collect();
  };
  const auto plain = build(1, true);
  ASSERT_EQ(plain.size(), 20000u - 6667u);
  const auto batched = build(64, true);
  EXPECT_EQ(batched, plain);  // same items, same order
  auto unordered = build(64, false);
  std::sort(unordered.begin(), unordered.end());
  EXPECT_EQ(unordered, plain);  // plain is sorted already: inputs ascend and the stages are monotone
}

TEST(PipelineBatch, ZeroBatchIsInvalid) {
  EXPECT_THROW(sluice::pipeline(iota_vec(3)).stage([](int x) { return x; }, {.batch = 0}),
               std::invalid_argument);
}

// ---- stats ----

TEST(PipelineStats, CountsWaitsAndBottleneck) {
  auto stats = sluice::pipeline(iota_vec(60))
                   .stage([](int x) { return x; }, {.workers = 1, .name = "fast"})
                   .stage([](int x) -> std::optional<int> {
                     std::this_thread::sleep_for(2ms);
                     if (x % 2) return std::nullopt;
                     return x;
                   },
                          {.workers = 1, .capacity = 3, .name = "slow"})
                   .stage([](int) {}, {.workers = 2})
                   .run();
  ASSERT_EQ(stats.stages.size(), 3u);
  EXPECT_EQ(stats.stages[0].name, "fast");
  EXPECT_EQ(stats.stages[2].name, "stage 3");
  EXPECT_EQ(stats.stages[0].items_in, 60u);
  EXPECT_EQ(stats.stages[0].items_out, 60u);
  EXPECT_EQ(stats.stages[1].items_in, 60u);
  EXPECT_EQ(stats.stages[1].items_out, 30u);
  EXPECT_EQ(stats.stages[2].items_in, 30u);
  EXPECT_EQ(stats.stages[2].workers, 2u);
  EXPECT_EQ(stats.bottleneck(), 1u);
  EXPECT_GE(stats.stages[1].busy.count(), 0.1);              // 60 sleeps of 2 ms
  EXPECT_GT(stats.stages[0].waiting_output.count(), 0.05);   // fast stage blocked on the slow one's full queue
  EXPECT_GT(stats.stages[2].waiting_input.count(), 0.05);    // the last one starved
  EXPECT_EQ(stats.stages[1].max_queue_depth, 3u);            // its queue filled up
  EXPECT_LE(stats.stages[0].max_queue_depth, 2u);
  EXPECT_GE(stats.wall.count(), 0.1);
  const std::string report = stats.report();
  EXPECT_NE(report.find("fast"), std::string::npos);
  EXPECT_NE(report.find("bottleneck: slow"), std::string::npos) << report;
}

TEST(PipelineStats, NoStages) {
  sluice::pipeline_stats empty;
  EXPECT_EQ(empty.bottleneck(), 0u);
  EXPECT_NE(empty.report().find("0 stages"), std::string::npos);
}

// ---- the carriers' design: one thread carries an item through the stages, gates enforce each stage's limits ----

namespace {

// Tracks the most calls of one stage's function running at once.
struct concurrency_probe {
  std::atomic<int> now{0}, most{0};
  void enter() {
    const int n = ++now;
    int seen = most.load();
    while (n > seen && !most.compare_exchange_weak(seen, n)) {
    }
  }
  void leave() { --now; }
};

void random_delay(long x, int salt) {
  std::mt19937 r(static_cast<unsigned>(x * 7919 + salt));
  if (r() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(r() % 300));
}

void note_alive(std::atomic<long>& worst) {
  const long now = tracked::alive.load();
  long seen = worst.load();
  while (now > seen && !worst.compare_exchange_weak(seen, now)) {
  }
}

}  // namespace

// A one-worker stage between two parallel ones: never two calls at once, its inputs in order (ordered runs),
// the parallel stages never above their worker counts, the output in order, with random delays everywhere.
TEST(PipelineCarriers, SerialStageBetweenParallelOnesKeepsLimitsAndOrder) {
  for (bool ordered : {true, false}) {
    concurrency_probe a, s, b;
    long last_seen = -1;
    bool serial_in_order = true;
    auto out = sluice::pipeline(iota_vec(600), {.ordered = ordered})
                   .stage([&](int x) -> std::optional<int> {
                     a.enter();
                     random_delay(x, 1);
                     a.leave();
                     if (x % 7 == 3) return std::nullopt;
                     return x;
                   },
                          {.workers = 3, .capacity = 2})
                   .stage([&](int x) {
                     s.enter();
                     if (x < last_seen) serial_in_order = false;
                     last_seen = x;
                     random_delay(x, 2);
                     s.leave();
                     return x;
                   },
                          {.workers = 1, .capacity = 1})
                   .stage([&](int x) {
                     b.enter();
                     random_delay(x, 3);
                     b.leave();
                     return x;
                   },
                          {.workers = 2, .capacity = 3})
                   .collect();
    std::vector<int> expect;
    for (int i = 0; i < 600; ++i)
      if (i % 7 != 3) expect.push_back(i);
    if (ordered) {
      EXPECT_EQ(out, expect);
      EXPECT_TRUE(serial_in_order);
    } else {
      std::sort(out.begin(), out.end());
      EXPECT_EQ(out, expect);
    }
    EXPECT_LE(a.most.load(), 3);
    EXPECT_EQ(s.most.load(), 1);
    EXPECT_LE(b.most.load(), 2);
    EXPECT_GE(a.most.load(), 2) << "the parallel stage never ran two items at once";
  }
}

// The bound, checked from inside every stage and the sink, not only at the source: with an in-order serial stage
// between parallel ones, filters and random delays, the items alive never exceed
// (2 + 3) + (1 + 1) + (3 + 2) + max(2, 2 * 2) + 2 = 17.
TEST(PipelineCarriers, ItemsAliveNeverExceedTheBoundAnywhere) {
  for (bool ordered : {true, false}) {
    tracked::alive = 0;
    std::atomic<long> worst{0};
    constexpr long bound = (2 + 3) + (1 + 1) + (3 + 2) + 4 + 2;
    std::stop_source stop;
    long consumed = 0;
    EXPECT_THROW(sluice::pipeline<tracked>([n = 0L, &worst]() mutable -> std::optional<tracked> {
                   tracked t(n++);
                   note_alive(worst);
                   return t;
                 },
                                           {.ordered = ordered, .stop_token = stop.get_token()})
                     .stage([&](tracked t) -> std::optional<tracked> {
                       note_alive(worst);
                       random_delay(t.v, 4);
                       if (t.v % 5 == 1) return std::nullopt;
                       return t;
                     },
                            {.workers = 3, .capacity = 2})
                     .stage([&](tracked t) {
                       note_alive(worst);
                       return t;
                     },
                            {.workers = 1, .capacity = 1})
                     .stage([&](tracked t) {
                       note_alive(worst);
                       random_delay(t.v, 5);
                       return t;
                     },
                            {.workers = 2, .capacity = 3})
                     .for_each([&](tracked) {
                       note_alive(worst);
                       if (++consumed == 1500) stop.request_stop();
                     }),
                 sluice::cancelled_error);
    EXPECT_LE(worst.load(), bound) << (ordered ? "ordered" : "unordered");
    EXPECT_GE(consumed, 1500);
    EXPECT_EQ(tracked::alive.load(), 0);
  }
}

// A stop while every carrier holds an item inside a slow stage (and the ring holds results for the sink): the
// run ends promptly, every item is destroyed, and no stage starts an item after the stop (bar a race per worker).
TEST(PipelineCarriers, StopWithItemsInFlight) {
  for (bool ordered : {true, false}) {
    counted::alive = 0;
    std::stop_source stop;
    std::atomic<int> started_after_stop{0};
    std::atomic<int> inside{0};
    std::thread stopper([&] {
      while (inside.load() < 3) std::this_thread::sleep_for(1ms);
      stop.request_stop();
    });
    const auto t0 = clock_type::now();
    EXPECT_THROW(sluice::pipeline<counted>([n = 0]() mutable -> std::optional<counted> { return counted(n++); },
                                           {.ordered = ordered, .stop_token = stop.get_token()})
                     .stage([](counted c) { return c; }, {.workers = 2})
                     .stage([&](counted c) {
                       if (stop.stop_requested()) ++started_after_stop;
                       ++inside;
                       std::this_thread::sleep_for(20ms);
                       return c;
                     },
                            {.workers = 3})
                     .stage([](counted c) { return c; }, {.workers = 1})
                     .run(),
                 sluice::cancelled_error);
    stopper.join();
    EXPECT_LT(seconds_since(t0), 10.0);
    EXPECT_LE(started_after_stop.load(), 3);  // at most one per worker raced the stop
    EXPECT_EQ(counted::alive.load(), 0);
  }
}

// An exception in a middle stage with items ahead of it and behind it: it reaches the caller, later stages never
// see the failed item, nothing leaks, and the stats-free run still joins every carrier.
TEST(PipelineCarriers, ExceptionInAMiddleStage) {
  for (bool ordered : {true, false}) {
    counted::alive = 0;
    std::atomic<bool> later_saw_it{false};
    try {
      sluice::pipeline<counted>([n = 0]() mutable -> std::optional<counted> { return counted(n++); },
                                {.ordered = ordered})
          .stage([](counted c) {
            random_delay(c.v, 6);
            return c;
          },
                 {.workers = 2})
          .stage([](counted c) {
            if (c.v == 300) throw stage_error("middle failed");
            random_delay(c.v, 7);
            return c;
          },
                 {.workers = 3, .capacity = 2})
          .stage([&](counted c) {
            if (c.v == 300) later_saw_it = true;
            return c;
          },
                 {.workers = 1})
          .for_each([](counted) {});
      FAIL() << "no exception";
    } catch (const stage_error& e) {
      EXPECT_STREQ(e.what(), "middle failed");
    }
    EXPECT_FALSE(later_saw_it.load());
    EXPECT_EQ(counted::alive.load(), 0);
  }
}

// A final void stage with one worker in an ordered run sees its items in input order; its calls are counted.
TEST(PipelineCarriers, OrderedVoidSerialLastStage) {
  std::vector<int> seen;
  auto stats = sluice::pipeline(iota_vec(500), {.ordered = true})
                   .stage([](int x) -> std::optional<int> {
                     random_delay(x, 8);
                     if (x % 4 == 0) return std::nullopt;
                     return x;
                   },
                          {.workers = 4})
                   .stage([&seen](int x) { seen.push_back(x); }, {.workers = 1})
                   .run();
  std::vector<int> expect;
  for (int i = 0; i < 500; ++i)
    if (i % 4 != 0) expect.push_back(i);
  EXPECT_EQ(seen, expect);
  ASSERT_EQ(stats.stages.size(), 2u);
  EXPECT_EQ(stats.stages[0].items_in, 500u);
  EXPECT_EQ(stats.stages[0].items_out, expect.size());
  EXPECT_EQ(stats.stages[1].items_in, expect.size());
}

// A slow sink does not stop the stages: while the caller is in the sink, the spawned carriers keep a stage with
// as many workers as there are carriers fully busy.
TEST(PipelineCarriers, StagesRunWhileTheSinkIsBusy) {
  concurrency_probe p;
  std::atomic<bool> in_sink{false};
  std::atomic<int> most_during_sink{0};
  sluice::pipeline(iota_vec(60))
      .stage([&](int x) {
        p.enter();
        if (in_sink.load()) {
          int seen = most_during_sink.load();
          const int n = p.now.load();
          while (n > seen && !most_during_sink.compare_exchange_weak(seen, n)) {
          }
        }
        std::this_thread::sleep_for(2ms);
        p.leave();
        return x;
      },
             {.workers = 2})
      .for_each([&](int) {
        in_sink = true;
        std::this_thread::sleep_for(2ms);
        in_sink = false;
      });
  EXPECT_EQ(most_during_sink.load(), 2);
  EXPECT_LE(p.most.load(), 2);
}

// A slow sink lends the caller's place among the carriers to a spare thread; a failure in the sink (or a stop)
// while it is lent still ends the run with every item destroyed and the stages never above their workers.
TEST(PipelineCarriers, FailureAndStopWhileTheSinkLendsItsPlace) {
  for (bool stop_instead : {false, true}) {
    counted::alive = 0;
    concurrency_probe p;
    std::stop_source stop;
    int sunk = 0;
    const auto t0 = clock_type::now();
    try {
      sluice::pipeline<counted>([n = 0]() mutable -> std::optional<counted> { return counted(n++); },
                                {.ordered = true, .stop_token = stop.get_token()})
          .stage([&](counted c) {
            p.enter();
            std::this_thread::sleep_for(300us);
            p.leave();
            return c;
          },
                 {.workers = 2})
          .for_each([&](counted c) {
            EXPECT_EQ(c.v, sunk);
            std::this_thread::sleep_for(1ms);
            if (++sunk == 40) {
              if (stop_instead) stop.request_stop();
              else throw stage_error("sink failed");
            }
          });
      FAIL() << "no exception";
    } catch (const stage_error& e) {
      EXPECT_FALSE(stop_instead);
      EXPECT_STREQ(e.what(), "sink failed");
    } catch (const sluice::cancelled_error&) {
      EXPECT_TRUE(stop_instead);
    }
    EXPECT_LT(seconds_since(t0), 10.0);
    EXPECT_EQ(sunk, 40);
    EXPECT_LE(p.most.load(), 2);
    EXPECT_EQ(counted::alive.load(), 0);
  }
}
