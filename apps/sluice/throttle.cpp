// apps/sluice/throttle.cpp -- when the next job may start: --delay, --load, --memfree, --memsuspend,
// --noswap and --limit, each polled as GNU parallel polls them, and the machine figures they compare.
#include "throttle.hpp"

#include <sluice/system.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "job_loop.hpp"
#include "option_values.hpp"
#include "text.hpp"

namespace sluice::app {

std::optional<double> instant_load() {
  auto l = sluice::system::load();
  if (!l) return std::nullopt;
  return static_cast<double>(l->runnable > 0 ? l->runnable - 1 : 0);
}

std::optional<double> free_memory() {
  auto bytes = sluice::system::available_memory();
  if (!bytes) return std::nullopt;
  return static_cast<double>(*bytes);
}

std::optional<std::pair<double, double>> swap_counts() {
  auto c = sluice::system::swap_activity();
  if (!c) return std::nullopt;
  return std::pair{static_cast<double>(c->pages_in), static_cast<double>(c->pages_out)};
}

// --delay, --load, --memfree: waits until the next job may start. The machine's state is polled, as GNU
// parallel polls it (there is no event for "the load went down").
aio::task<void> runner::throttle() {
  if (delay_ > 0 && last_start_) {
    double left = delay_ - std::chrono::duration<double>(clock_type::now() - *last_start_).count();
    if (left > 0) {
      auto pause = aio::sleep(left);
      co_await pause;
    }
  }
  for (;;) {
    if (stop_starting_) co_return;
    bool busy = false;
    if (cfg_.max_load) {
      auto load = instant_load();
      busy = !load || *load >= *cfg_.max_load;  // unknown counts as too high, as in GNU
    }
    if (!busy && (cfg_.memfree > 0 || cfg_.memsuspend > 0)) {
      auto mem = free_memory();
      busy = mem && *mem < cfg_.memfree + cfg_.memsuspend;  // (GNU's memlimit is their sum)
    }
    if (!busy && cfg_.noswap) {
      // Swap activity is swap-ins times swap-outs over the last second or so, as GNU computes it from vmstat.
      const auto now = clock_type::now();
      if (!swap_seen_ || now - swap_seen_at_ >= std::chrono::seconds(1)) {
        auto counts = swap_counts();
        if (counts && swap_seen_)
          swapping_ = (counts->first - swap_seen_->first) * (counts->second - swap_seen_->second) > 0;
        swap_seen_ = counts;
        swap_seen_at_ = now;
      }
      busy = swapping_;
    }
    if (!busy && cfg_.limit) {
      auto limit = run_limit();
      int status = co_await limit;
      busy = status != 0;
      if (status == 2) kill_youngest();
    }
    if (!busy) co_return;
    auto pause = aio::sleep(0.1);
    co_await pause;
  }
}

// --memfree: below half of it free, the youngest running job is killed (--term-seq); GNU parallel 20221122 then
// records it as failed (Exitval -1), to be retried only under --retries.
aio::task<void> runner::watch_memory() {
  for (;;) {
    auto pause = aio::sleep(1.0);
    co_await pause;
    if (cfg_.memsuspend > 0) suspend_for_memory();
    if (cfg_.memfree <= 0) continue;
    auto mem = free_memory();
    if (!mem || *mem >= cfg_.memfree * 0.5) continue;
    kill_youngest();
  }
}

void runner::kill_youngest() {
  job* youngest = nullptr;
  for (job* r : running_)
    if (!r->killing && (youngest == nullptr || r->args.seq > youngest->args.seq)) youngest = r;
  if (youngest != nullptr) begin_kill(*youngest, true);
}

// --limit io: the busiest disk's share of time with I/O in flight (iostat's %util) since the last reading; the
// first reading waits a second for a second one (GNU measures over one second with iostat, and counts the run
// as over the limit until its first measurement is in). Readings closer than 0.1 s keep the last figure.
aio::task<double> runner::disk_busy_percent() {
  auto now = clock_type::now();
  if (!disks_seen_) {
    disks_seen_ = sluice::system::disk_activity();
    disks_seen_at_ = now;
    auto pause = aio::sleep(1.0);
    co_await pause;
    now = clock_type::now();
  }
  const double ms = std::chrono::duration<double, std::milli>(now - disks_seen_at_).count();
  if (ms < 100) co_return disk_busy_percent_;
  auto disks = sluice::system::disk_activity();
  double busiest = 0;
  for (const auto& d : disks)
    for (const auto& was : *disks_seen_)
      if (was.device == d.device && d.busy_ms >= was.busy_ms)
        busiest = std::max(busiest, static_cast<double>(d.busy_ms - was.busy_ms) / ms * 100.0);
  disks_seen_ = std::move(disks);
  disks_seen_at_ = now;
  disk_busy_percent_ = std::min(busiest, 100.0);
  co_return disk_busy_percent_;
}

// --limit: the command's exit status (GNU runs it with $SSHLOGIN set, ":" here). GNU's predefined "mem N",
// "load N" and "io N" are measured here directly, as its shell functions measure them.
aio::task<int> runner::run_limit() {
  auto words = split_string(*cfg_.limit, ' ');
  words.erase(std::remove(words.begin(), words.end(), std::string()), words.end());
  if (words.size() >= 2 && words[0] == "io") {
    const double most = std::strtod(words[1].c_str(), nullptr);
    auto busy = disk_busy_percent();
    co_return most < co_await busy ? 1 : 0;
  }
  if (words.size() >= 2 && (words[0] == "mem" || words[0] == "load")) {
    double n = words[0] == "mem" ? static_cast<double>(parse_size("--limit mem", words[1])) : std::strtod(words[1].c_str(), nullptr);
    if (words[0] == "load") {
      auto load = instant_load();
      co_return load && *load <= n ? 0 : 1;
    }
    auto mem = free_memory();
    if (!mem) co_return 1;
    co_return *mem < n / 2 ? 2 : (*mem < n ? 1 : 0);
  }
  sluice::options o;
  o.in = sluice::redirect::devnull;
  sluice::environment env = sluice::current_environment();
  env["SSHLOGIN"] = ":";
  o.env = std::move(env);
  int status = 1;
  try {
    auto spawn = aio::create_subprocess_exec({job_shell().path, "-c", *cfg_.limit}, std::move(o));
    aio::process p = co_await spawn;
    auto waited = p.wait();
    status = co_await waited;
  } catch (const std::exception&) {
    status = 1;  // could not run it (out of processes): over the limit, for now
  }
  co_return status < 0 ? 1 : status;
}

// --limit: while jobs run, an exit status of 2 kills the youngest (GNU checks as it reaps jobs).
aio::task<void> runner::watch_limit() {
  for (;;) {
    auto pause = aio::sleep(0.5);
    co_await pause;
    if (running_.empty()) continue;
    auto limit = run_limit();
    if (co_await limit == 2) kill_youngest();
  }
}

// --memsuspend: below twice the limit free, the younger jobs are stopped (SIGSTOP to their group) and only the
// oldest int(1 / (2 - free/limit)) + 1 run; with enough free again, every job runs again. As GNU does.
void runner::suspend_for_memory() {
  auto mem = free_memory();
  if (!mem) return;
  const double limit = cfg_.memsuspend;
  std::vector<job*> jobs;
  for (job* r : running_)
    if (!r->killing) jobs.push_back(r);
  std::sort(jobs.begin(), jobs.end(), [](const job* a, const job* b) { return a->args.seq < b->args.seq; });
  std::size_t run = jobs.size();
  if (*mem < 2 * limit) {
    double r = 1.0 / (2.0 - *mem / limit);
    run = static_cast<std::size_t>(std::max(0.0, r)) + 1;
  }
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    const bool want_stopped = k >= run;
    if (want_stopped == jobs[k]->suspended) continue;
    jobs[k]->suspended = want_stopped;
    signal_group(*jobs[k], want_stopped ? SIGSTOP : SIGCONT);
  }
}

}  // namespace sluice::app
