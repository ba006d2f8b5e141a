// The non-template half of sluice::pipeline: the run's control block (first error, stop hooks, threads,
// stats), the driver every run goes through, and the stats report.
#include "sluice/pipeline.hpp"

#include <cstdio>
#include <sstream>

namespace sluice {

std::size_t pipeline_stats::bottleneck() const {
  std::size_t best = 0;
  double best_load = -1;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const double load = s.busy.count() / static_cast<double>(s.workers == 0 ? 1 : s.workers);
    if (load > best_load) {
      best_load = load;
      best = i;
    }
  }
  return best;
}

std::string pipeline_stats::report() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "pipeline: %zu stage%s, wall %.3f s\n", stages.size(),
                stages.size() == 1 ? "" : "s", wall.count());
  out << line;
  std::snprintf(line, sizeof line, "  %-20s %7s %10s %10s %9s %9s %9s %9s %6s\n", "stage", "workers", "in", "out",
                "busy s", "busy/wkr", "wait in", "wait out", "max q");
  out << line;
  const std::size_t worst = bottleneck();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    std::string name = s.name.size() > 20 ? s.name.substr(0, 17) + "..." : s.name;
    std::snprintf(line, sizeof line, "  %-20s %7zu %10llu %10llu %9.3f %9.3f %9.3f %9.3f %6zu%s\n", name.c_str(),
                  s.workers, static_cast<unsigned long long>(s.items_in),
                  static_cast<unsigned long long>(s.items_out), s.busy.count(),
                  s.busy.count() / static_cast<double>(s.workers == 0 ? 1 : s.workers), s.waiting_input.count(),
                  s.waiting_output.count(), s.max_queue_depth, i == worst ? "  <- bottleneck" : "");
    out << line;
  }
  if (!stages.empty()) {
    const auto& s = stages[worst];
    out << "bottleneck: " << s.name
        << " (most busy time per worker; more workers there, or less work per item, speeds the run up)\n";
  }
  return out.str();
}

namespace detail {

pipeline_control::pipeline_control(std::vector<stage_stats> stages) { stats_.stages = std::move(stages); }

pipeline_control::~pipeline_control() { join_all(); }

void pipeline_control::fail(std::exception_ptr error) noexcept {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mutex_);
    if (error_) return;
    error_ = std::move(error);
    stopping_.store(true, std::memory_order_release);
    hooks = hooks_;
  }
  for (auto& h : hooks) {
    try {
      h();
    } catch (...) {  // a shutdown of our own queues does not throw; nothing to report if it did
    }
  }
}

void pipeline_control::on_stop(std::function<void()> hook) {
  {
    std::lock_guard lock(mutex_);
    if (!error_) {
      hooks_.push_back(std::move(hook));
      return;
    }
  }
  hook();
}

void pipeline_control::spawn(std::function<void()> body) {
  std::lock_guard lock(mutex_);
  threads_.emplace_back(std::move(body));
}

void pipeline_control::join_all() noexcept {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void pipeline_control::merge(std::size_t stage, const worker_tally& tally) {
  std::lock_guard lock(mutex_);
  if (stage >= stats_.stages.size()) return;
  auto& s = stats_.stages[stage];
  s.items_in += tally.items_in;
  s.items_out += tally.items_out;
  s.waiting_input += std::chrono::duration_cast<seconds>(tally.waiting_input);
  s.waiting_output += std::chrono::duration_cast<seconds>(tally.waiting_output);
  s.busy += std::chrono::duration_cast<seconds>(tally.busy);
  s.max_queue_depth = std::max(s.max_queue_depth, tally.max_depth);
}

std::exception_ptr pipeline_control::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

pipeline_stats run_pipeline(const pipeline_options& opts, std::vector<stage_stats> stages,
                            const std::function<void(pipeline_control&)>& launch,
                            const std::function<void(pipeline_control&)>& drain) {
  if (opts.stop_token.stop_requested()) throw cancelled_error("pipeline cancelled before it started");
  const auto t0 = std::chrono::steady_clock::now();
  pipeline_control ctl(std::move(stages));
  {
    auto on_stop = [&ctl] { ctl.fail(std::make_exception_ptr(cancelled_error("pipeline cancelled"))); };
    std::stop_callback<decltype(on_stop)> stop(opts.stop_token, on_stop);
    try {
      launch(ctl);
      drain(ctl);
    } catch (...) {
      ctl.fail(std::current_exception());
    }
    ctl.join_all();
  }
  if (auto e = ctl.error()) std::rethrow_exception(e);
  auto stats = ctl.take_stats();
  stats.wall = std::chrono::duration_cast<seconds>(std::chrono::steady_clock::now() - t0);
  // A stage's workers are permits, not threads: the time they were not in use is time waiting for input.
  for (auto& s : stats.stages)
    s.waiting_input = std::max(seconds{}, static_cast<double>(s.workers) * stats.wall - s.busy - s.waiting_output);
  return stats;
}

carrier_core::carrier_core(pipeline_control& control, const std::vector<const stage_options*>& stages,
                           bool ordered, std::size_t token_count, std::size_t carriers)
    : ctl(control), tokens(token_count), stages_(stages.size()), gates_(new stage_gate[stages.size()]) {
  for (std::size_t s = 0; s < stages_; ++s) {
    stage_gate& g = gates_[s];
    g.workers = stages[s]->workers;
    g.capacity = stages[s]->capacity;
    g.in_order = ordered && g.workers == 1;
    g.limited = !g.in_order && carriers > g.workers;
  }
}

bool carrier_core::enter_turn(stage_gate& g, std::size_t s, std::uint64_t seq, carrier& c) {
  using clock = std::chrono::steady_clock;
  if (g.next.load(std::memory_order_acquire) == seq) return true;
  // Within the window (the stage's queue) the item waits for its turn; beyond it, for room.
  if (seq - g.next.load(std::memory_order_acquire) > g.capacity) {
    const auto t0 = clock::now();
    const bool ok =
        lot.wait([&] { return seq - g.next.load(std::memory_order_acquire) <= g.capacity; }, ctl);
    if (s > 0) c.tally[s - 1].waiting_output += clock::now() - t0;
    if (!ok) return false;
  }
  const std::uint64_t depth = seq - g.next.load(std::memory_order_relaxed);
  c.tally[s].max_depth = std::max<std::size_t>(c.tally[s].max_depth, std::min<std::uint64_t>(depth, g.capacity));
  return lot.wait([&] { return g.next.load(std::memory_order_acquire) == seq; }, ctl);
}

bool carrier_core::enter_permit(stage_gate& g, std::size_t s, carrier& c) {
  using clock = std::chrono::steady_clock;
  constexpr std::uint64_t one_queued = std::uint64_t{1} << 32;
  bool admitted = false;
  bool timing = false;
  clock::time_point t0;
  auto stop_timing = [&] {
    if (!timing) return;
    if (s > 0) c.tally[s - 1].waiting_output += clock::now() - t0;
    timing = false;
  };
  for (;;) {
    std::uint64_t st = g.state.load(std::memory_order_acquire);
    const std::uint64_t queued = st >> 32, running = st & 0xffffffffu;
    if (running < g.workers && (admitted || queued == 0)) {
      if (g.state.compare_exchange_weak(st, st + 1 - (admitted ? one_queued : 0), std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
        stop_timing();
        return true;
      }
      continue;
    }
    if (!admitted && queued < g.capacity) {
      if (g.state.compare_exchange_weak(st, st + one_queued, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        admitted = true;
        stop_timing();
        c.tally[s].max_depth = std::max<std::size_t>(c.tally[s].max_depth, queued + 1);
      }
      continue;
    }
    if (!admitted && !timing) {
      timing = true;
      t0 = clock::now();
    }
    if (!lot.wait([&] { return g.state.load(std::memory_order_acquire) != st; }, ctl)) {
      stop_timing();
      return false;
    }
  }
}

namespace {

// Runs a carrier's loop to its end: a shut-down queue ends the run quietly, any other exception fails it, and
// either way the carrier's counts are merged into the run's.
template <class Loop>
void run_carrier(carrier_core& core, carrier& c, Loop loop) {
  try {
    loop();
  } catch (const queue_shut_down&) {
    shut_down_seen(core.ctl);
  } catch (...) {
    core.ctl.fail(std::current_exception());
  }
  core.merge(c);
}

}  // namespace

void carrier_core::carry_loop(carrier& c) {
  run_carrier(*this, c, [&] {
    for (;;) {
      const step_result r = source->step(c);
      if (r == step_result::started) continue;
      if (r == step_result::done) break;
      if (!lot.wait([this] { return can_start(); }, ctl)) break;
    }
  });
}

void carrier_core::spare_loop(carrier& c) {
  run_carrier(*this, c, [&] {
    for (;;) {
      if (!spare_lot.wait(
              [this] {
                return source_done() ||
                       (lend_.load(std::memory_order_acquire) && holder_.load(std::memory_order_acquire) == nobody_holds);
              },
              ctl))
        break;
      if (source_done()) break;
      int h = nobody_holds;
      if (!holder_.compare_exchange_strong(h, spare_holds, std::memory_order_acq_rel)) continue;
      bool finished = false;
      while (lend_.load(std::memory_order_acquire)) {
        const step_result r = source->step(c);
        if (r == step_result::started) continue;
        if (r == step_result::done) {
          finished = true;
          break;
        }
        if (!lot.wait([this] { return can_start() || !lend_.load(std::memory_order_acquire); }, ctl)) {
          finished = true;
          break;
        }
      }
      holder_.store(nobody_holds, std::memory_order_release);
      lot.notify();
      if (finished) break;
    }
  });
}

void carrier_core::merge(carrier& c) {
  for (std::size_t s = 0; s < c.tally.size(); ++s) ctl.merge(s, c.tally[s]);
}

}  // namespace detail
}  // namespace sluice
