// bench/pool_bench.cpp -- sluice::thread_pool against other ways of running many tiny tasks with futures.
//
// Case: submit N tiny tasks (each returns its index), keeping a future for each, then wait for all and sum
// the results (checked). Peers: boost::asio::thread_pool + use_future, thread_pool::ThreadPool
// (libthread-pool-dev), and std::async per task. Every pool has nproc workers and is created inside the
// timed region (thread start-up is noise next to a million tasks). std::async starts a thread per task, so it
// runs fewer tasks (SLUICE_BENCH_ASYNC_TASKS) and its per-task figure is compared.
// Environment: SLUICE_BENCH_POOL_TASKS, SLUICE_BENCH_ASYNC_TASKS, SLUICE_BENCH_ROUNDS.
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

#if __has_include(<sluice/thread_pool.hpp>)
#include <sluice/thread_pool.hpp>
#define SLUICE_BENCH_HAVE_SLUICE 1
#endif
#ifdef SLUICE_BENCH_HAVE_ASIO
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#endif
#ifdef SLUICE_BENCH_HAVE_THREAD_POOL
#include <thread_pool/thread_pool.hpp>
#endif

namespace {

using namespace sluice_bench;

void check_sum(long sum, long n, const char* who) {
  if (sum != (n - 1) * n / 2) {
    std::fprintf(stderr, "pool_bench: %s returned the wrong results\n", who);
    std::exit(1);
  }
}

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

#ifdef SLUICE_BENCH_HAVE_SLUICE
double sluice_pool(long n) {
  const double t0 = now();
  long sum = 0;
  {
    sluice::thread_pool pool(workers());
    std::vector<sluice::future<long>> fs;
    fs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) fs.push_back(pool.submit([i] { return i; }));
    for (auto& f : fs) sum += f.result();
  }
  const double t = now() - t0;
  check_sum(sum, n, "sluice::thread_pool");
  return t / static_cast<double>(n);
}
#endif

#ifdef SLUICE_BENCH_HAVE_ASIO
double asio_pool(long n) {
  const double t0 = now();
  long sum = 0;
  {
    boost::asio::thread_pool pool(workers());
    std::vector<std::future<long>> fs;
    fs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) fs.push_back(boost::asio::post(pool, boost::asio::use_future([i] { return i; })));
    for (auto& f : fs) sum += f.get();
    pool.join();
  }
  const double t = now() - t0;
  check_sum(sum, n, "boost::asio::thread_pool");
  return t / static_cast<double>(n);
}
#endif

#ifdef SLUICE_BENCH_HAVE_THREAD_POOL
double vaser_pool(long n) {
  const double t0 = now();
  long sum = 0;
  {
    thread_pool::ThreadPool pool(workers());
    std::vector<std::future<long>> fs;
    fs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) fs.push_back(pool.Submit([i] { return i; }));
    for (auto& f : fs) sum += f.get();
  }
  const double t = now() - t0;
  check_sum(sum, n, "thread_pool::ThreadPool");
  return t / static_cast<double>(n);
}
#endif

double std_async(long n) {
  const double t0 = now();
  long sum = 0;
  std::vector<std::future<long>> fs;
  fs.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) fs.push_back(std::async(std::launch::async, [i] { return i; }));
  for (auto& f : fs) sum += f.get();
  const double t = now() - t0;
  check_sum(sum, n, "std::async");
  return t / static_cast<double>(n);
}

}  // namespace

int main() {
  const long tasks = env_long("SLUICE_BENCH_POOL_TASKS", 1'000'000);
  const long async_tasks = env_long("SLUICE_BENCH_ASYNC_TASKS", 20'000);
  const int rounds = static_cast<int>(env_long("SLUICE_BENCH_ROUNDS", 3));
  note("pool: " + std::to_string(tasks) + " tiny tasks with futures on " + std::to_string(workers()) +
       " workers, then wait all; std::async runs " + std::to_string(async_tasks) +
       " tasks (a thread each) and is compared per task; figures are time per task, median of " +
       std::to_string(rounds) + " interleaved rounds");

  std::vector<contender> cs(4);
  cs[0].name = "sluice";
  cs[1].name = "asio";
  cs[2].name = "thread_pool";
  cs[3] = {"std::async", [=] { return std_async(async_tasks); }};
#ifdef SLUICE_BENCH_HAVE_SLUICE
  cs[0].run = [=] { return sluice_pool(tasks); };
#endif
#ifdef SLUICE_BENCH_HAVE_ASIO
  cs[1].run = [=] { return asio_pool(tasks); };
#endif
#ifdef SLUICE_BENCH_HAVE_THREAD_POOL
  cs[2].run = [=] { return vaser_pool(tasks); };
#endif
  const auto m = interleave(cs, rounds);
  const std::string name = "pool: " + count_label(tasks) + " tiny tasks + futures, per task";
  row(name, m[0], "boost::asio::thread_pool + use_future", m[1], unit::seconds_per_op, goal::speed_at_least, 3);
  row(name, m[0], "thread_pool::ThreadPool", m[2], unit::seconds_per_op);
  row(name, m[0], "std::async per task (" + count_label(async_tasks) + " tasks)", m[3],
      unit::seconds_per_op, goal::speed_at_least, 50);
  return 0;
}
