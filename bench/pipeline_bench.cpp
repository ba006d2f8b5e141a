// bench/pipeline_bench.cpp -- sluice::pipeline against tbb::parallel_pipeline.
//
// Case: three stages, trivial work -- a serial source counting 0..N-1 (a generator, like TBB's first filter), a parallel map (x * 2 + 1) on nproc
// workers, a serial in-order sink summing (checked). So this measures the cost of moving items between stages,
// which is what a pipeline adds. sluice runs with ordered = true and default capacities, twice: by default (the
// memory bound counts items: 12 tokens here) and with batch = 64 on the map stage (which only multiplies the
// tokens, the bound then counting batches of up to 64). TBB with
// serial_in_order -> parallel -> serial_in_order and 4 * nproc tokens (its usual setting).
// A second case is realistic work: two stages each sleeping 1 ms per item, 3 workers each, 900 items, default
// options. Its ideal time is items / 3 sleeps (the two stages overlap) plus one item's trip through both, with
// the sleep's real cost measured in the same round (one thread, 100 sleeps); the target is within 5% of it.
// Environment: SLUICE_BENCH_PIPELINE_ITEMS, SLUICE_BENCH_PIPELINE_SLOW_ITEMS, SLUICE_BENCH_ROUNDS.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

#if __has_include(<sluice/pipeline.hpp>)
#include <sluice/pipeline.hpp>
#define SLUICE_BENCH_HAVE_SLUICE 1
#endif
#ifdef SLUICE_BENCH_HAVE_TBB
#include <tbb/parallel_pipeline.h>
#endif

namespace {

using namespace sluice_bench;

std::size_t workers() { return std::max(1u, std::thread::hardware_concurrency()); }

void check_sum(long sum, long n, const char* who) {
  // sum of (2i + 1) for i < n is n^2
  if (sum != n * n) {
    std::fprintf(stderr, "pipeline_bench: %s produced the wrong sum\n", who);
    std::exit(1);
  }
}

#ifdef SLUICE_BENCH_HAVE_SLUICE
double sluice_pipeline(long n, std::size_t batch) {
  long sum = 0;
  const double t0 = now();
  long next = 0;
  // A generator source rather than views::iota: clang 14 cannot see libstdc++ 12's iota_view as a range.
  std::function<std::optional<long>()> source = [&]() -> std::optional<long> {
    if (next >= n) return std::nullopt;
    return next++;
  };
  [[maybe_unused]] const auto stats =
      sluice::pipeline<long>(std::move(source), {.ordered = true})
      .stage([](long x) { return x * 2 + 1; }, {.workers = workers(), .batch = batch})
      .for_each([&](long x) { sum += x; });
  const double t = now() - t0;
  check_sum(sum, n, "sluice::pipeline");
  return static_cast<double>(n) / t;
}

// Seconds for `n` items through two stages sleeping 1 ms each on 3 workers each.
double sluice_sleeping(long n) {
  const auto work = [](long x) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return x;
  };
  const double t0 = now();
  std::vector<long> in(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) in[static_cast<std::size_t>(i)] = i;
  long count = 0;
  sluice::pipeline(in).stage(work, {.workers = 3}).stage(work, {.workers = 3}).for_each([&](long) { ++count; });
  const double t = now() - t0;
  if (count != n) {
    std::fprintf(stderr, "pipeline_bench: the sleeping pipeline lost items\n");
    std::exit(1);
  }
  return t;
}
#endif

// The ideal time of that pipeline: n / 3 sleeps plus the two of one item's trip, at the sleep's measured cost.
double ideal_sleeping(long n) {
  constexpr int samples = 100;
  const double t0 = now();
  for (int i = 0; i < samples; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double sleep = (now() - t0) / samples;
  return (static_cast<double>(n) / 3 + 2) * sleep;
}

#ifdef SLUICE_BENCH_HAVE_TBB
double tbb_pipeline(long n) {
  long sum = 0, next = 0;
  const double t0 = now();
  tbb::parallel_pipeline(
      4 * workers(),
      tbb::make_filter<void, long>(tbb::filter_mode::serial_in_order,
                                   [&](tbb::flow_control& fc) -> long {
                                     if (next >= n) {
                                       fc.stop();
                                       return 0;
                                     }
                                     return next++;
                                   }) &
          tbb::make_filter<long, long>(tbb::filter_mode::parallel, [](long x) { return x * 2 + 1; }) &
          tbb::make_filter<long, void>(tbb::filter_mode::serial_in_order, [&](long x) { sum += x; }));
  const double t = now() - t0;
  check_sum(sum, n, "tbb::parallel_pipeline");
  return static_cast<double>(n) / t;
}
#endif

}  // namespace

int main() {
  const long items = env_long("SLUICE_BENCH_PIPELINE_ITEMS", 2'000'000);
  const int rounds = static_cast<int>(env_long("SLUICE_BENCH_ROUNDS", 3));
  note("pipeline: " + std::to_string(items) + " items, serial source -> parallel map on " +
       std::to_string(workers()) + " workers -> serial in-order sink; items per second, median of " +
       std::to_string(rounds) + " interleaved rounds");
  std::vector<contender> cs(3);
  cs[0].name = "sluice (default: item-exact bound)";
  cs[1].name = "sluice (batch = 64)";
  cs[2].name = "tbb";
#ifdef SLUICE_BENCH_HAVE_SLUICE
  cs[0].run = [=] { return sluice_pipeline(items, 1); };
  cs[1].run = [=] { return sluice_pipeline(items, 64); };
#endif
#ifdef SLUICE_BENCH_HAVE_TBB
  cs[2].run = [=] { return tbb_pipeline(items); };
#endif
  const auto m = interleave(cs, rounds);
  row("pipeline: 3 stages, " + count_label(items) + " trivial items, default (item-exact bound)",
      m[0], "tbb::parallel_pipeline", m[2], unit::ops_per_second, goal::speed_at_least, 1);
  row("pipeline: 3 stages, " + count_label(items) + " trivial items, batch = 64 (opt-in, bound x 64)", m[1],
      "tbb::parallel_pipeline", m[2], unit::ops_per_second, goal::speed_at_least, 1);

  const long slow_items = env_long("SLUICE_BENCH_PIPELINE_SLOW_ITEMS", 900);
  note("pipeline, sleeping stages: " + std::to_string(slow_items) +
       " items, two stages sleeping 1 ms each on 3 workers each; ideal = items / 3 + 2 sleeps at the sleep's cost "
       "measured in the same round; median of " + std::to_string(rounds) + " interleaved rounds");
  std::vector<contender> slow(2);
  slow[0].name = "sluice (sleeping stages)";
  slow[1].name = "ideal";
#ifdef SLUICE_BENCH_HAVE_SLUICE
  slow[0].run = [=] { return sluice_sleeping(slow_items); };
#endif
  slow[1].run = [=] { return ideal_sleeping(slow_items); };
  const auto ms = interleave(slow, rounds);
  row("pipeline: 2 stages sleeping 1 ms, 3 workers each, " + count_label(slow_items) + " items (whole run)", ms[0],
      "ideal (items / 3 + 2 measured sleeps)", ms[1], unit::seconds_per_op, goal::time_at_most, 1.05);
  return 0;
}
