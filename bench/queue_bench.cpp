// bench/queue_bench.cpp -- sluice::queue against the bounded queues people reach for instead.
//
// Peers: a mutex + two condition_variables ring (the design of Python's queue.Queue, written here),
// tbb::concurrent_bounded_queue, moodycamel::BlockingConcurrentQueue (unbounded), and a single-thread
// ring without any synchronisation as the physical limit. Cases: PxC throughput at capacity 1024 and
// capacity-1 ping-pong latency. Environment: SLUICE_BENCH_QUEUE_ITEMS, SLUICE_BENCH_ROUNDS.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

#if __has_include(<sluice/queue.hpp>)
#include <sluice/queue.hpp>
#define SLUICE_BENCH_HAVE_SLUICE 1
#endif
#ifdef SLUICE_BENCH_HAVE_TBB
#include <tbb/concurrent_queue.h>
#endif
#ifdef SLUICE_BENCH_HAVE_MOODYCAMEL
#include <concurrentqueue/blockingconcurrentqueue.h>
#endif

namespace {

using namespace sluice_bench;

// Python's queue.Queue design: one mutex, "not empty" and "not full" conditions, a fixed ring.
class mutex_ring {
 public:
  explicit mutex_ring(std::size_t capacity) : buf_(capacity), capacity_(capacity) {}
  void put(long v) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return size_ < capacity_; });
    buf_[(head_ + size_) % capacity_] = v;
    ++size_;
    lock.unlock();
    not_empty_.notify_one();
  }
  long get() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return size_ > 0; });
    const long v = buf_[head_];
    head_ = (head_ + 1) % capacity_;
    --size_;
    lock.unlock();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::vector<long> buf_;
  std::size_t capacity_, head_ = 0, size_ = 0;
};

// Uniform put/get over every contender, so each case is written once.
struct mutex_adapter {
  explicit mutex_adapter(std::size_t cap) : q(cap) {}
  void put(long v) { q.put(v); }
  long get() { return q.get(); }
  mutex_ring q;
};
#ifdef SLUICE_BENCH_HAVE_SLUICE
struct sluice_adapter {
  explicit sluice_adapter(std::size_t cap) : q(cap) {}
  void put(long v) { q.put(v); }
  long get() { return q.get(); }
  sluice::queue<long> q;
};
#endif
#ifdef SLUICE_BENCH_HAVE_TBB
struct tbb_adapter {
  explicit tbb_adapter(std::size_t cap) { q.set_capacity(static_cast<std::ptrdiff_t>(cap)); }
  void put(long v) { q.push(v); }
  long get() {
    long v = 0;
    q.pop(v);
    return v;
  }
  tbb::concurrent_bounded_queue<long> q;
};
#endif
#ifdef SLUICE_BENCH_HAVE_MOODYCAMEL
struct moodycamel_adapter {
  explicit moodycamel_adapter(std::size_t) {}  // unbounded: the capacity has no equivalent
  void put(long v) { q.enqueue(v); }
  long get() {
    long v = 0;
    q.wait_dequeue(v);
    return v;
  }
  moodycamel::BlockingConcurrentQueue<long> q;
};
#endif

// Items per second moving `items` values from `producers` threads to `consumers` threads. The sum of what
// was taken is checked, so a queue that loses or duplicates items cannot post a good figure.
template <class Q>
double throughput(int producers, int consumers, long items) {
  auto q = std::make_unique<Q>(1024);
  const long per_producer = items / producers;
  const long total = per_producer * producers;
  std::atomic<long> sum{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    const long share = total / consumers + (c < total % consumers ? 1 : 0);
    threads.emplace_back([&, share] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      long local = 0;
      for (long i = 0; i < share; ++i) local += q->get();
      sum.fetch_add(local);
    });
  }
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (long i = 0; i < per_producer; ++i) q->put(p * per_producer + i);
    });
  }
  while (ready.load() < producers + consumers) std::this_thread::yield();
  const double t0 = now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  const double t = now() - t0;
  if (sum.load() != (total - 1) * total / 2) {
    std::fprintf(stderr, "queue_bench: wrong sum of items, a queue lost or duplicated items\n");
    std::exit(1);
  }
  return static_cast<double>(total) / t;
}

// Seconds per round trip through two capacity-1 queues.
template <class Q>
double ping_pong(long trips) {
  auto there = std::make_unique<Q>(1);
  auto back = std::make_unique<Q>(1);
  std::thread echo([&] {
    for (long i = 0; i < trips; ++i) back->put(there->get());
  });
  const double t0 = now();
  long check = 0;
  for (long i = 0; i < trips; ++i) {
    there->put(i);
    check += back->get();
  }
  const double t = now() - t0;
  echo.join();
  if (check != (trips - 1) * trips / 2) {
    std::fprintf(stderr, "queue_bench: ping-pong returned the wrong items\n");
    std::exit(1);
  }
  return t / static_cast<double>(trips);
}

// The physical limit: one thread filling and draining a 1024-slot ring, no synchronisation at all.
double unsynchronised_ring(long items) {
  std::vector<long> ring(1024);
  const std::size_t mask = ring.size() - 1;
  std::size_t head = 0, tail = 0;
  long sum = 0;
  const double t0 = now();
  for (long done = 0; done < items;) {
    while (tail - head < ring.size() && done + static_cast<long>(tail - head) < items) {
      ring[tail & mask] = done + static_cast<long>(tail - head);
      ++tail;
      keep(ring);
    }
    while (head != tail) {
      sum += ring[head & mask];
      ++head;
      ++done;
    }
  }
  const double t = now() - t0;
  keep(sum);
  return static_cast<double>(items) / t;
}

template <class Q>
std::function<double()> maybe_throughput(bool available, int p, int c, long items) {
  if (!available) return {};
  return [=] { return throughput<Q>(p, c, items); };
}

}  // namespace

int main() {
  const long items = env_long("SLUICE_BENCH_QUEUE_ITEMS", 1'000'000);
  const int rounds = static_cast<int>(env_long("SLUICE_BENCH_ROUNDS", 5));
  const long trips = env_long("SLUICE_BENCH_QUEUE_TRIPS", 20'000);

#ifdef SLUICE_BENCH_HAVE_SLUICE
  using sluice_q = sluice_adapter;
  constexpr bool have_sluice = true;
#else
  using sluice_q = mutex_adapter;  // never run: only keeps the templates instantiable
  constexpr bool have_sluice = false;
#endif
#ifdef SLUICE_BENCH_HAVE_TBB
  using tbb_q = tbb_adapter;
  constexpr bool have_tbb = true;
#else
  using tbb_q = mutex_adapter;
  constexpr bool have_tbb = false;
#endif
#ifdef SLUICE_BENCH_HAVE_MOODYCAMEL
  using moody_q = moodycamel_adapter;
  constexpr bool have_moody = true;
#else
  using moody_q = mutex_adapter;
  constexpr bool have_moody = false;
#endif

  note("queue: " + std::to_string(items) + " longs per throughput run, capacity 1024 (moodycamel unbounded), " +
       std::to_string(trips) + " ping-pong round trips, median of " + std::to_string(rounds) + " interleaved rounds");

  double sluice_1p1c = missing;
  for (int n : {1, 2, 4, 8}) {
    std::vector<contender> cs{
        {"sluice", maybe_throughput<sluice_q>(have_sluice, n, n, items)},
        {"mutex", maybe_throughput<mutex_adapter>(true, n, n, items)},
        {"tbb", maybe_throughput<tbb_q>(have_tbb, n, n, items)},
        {"moodycamel", maybe_throughput<moody_q>(have_moody, n, n, items)},
    };
    const auto m = interleave(cs, rounds);
    const std::string name = "queue " + std::to_string(n) + "P" + std::to_string(n) + "C, cap 1024";
    row(name, m[0], "mutex+2 condvars ring", m[1], unit::ops_per_second, goal::speed_at_least, 2);
    row(name, m[0], "tbb::concurrent_bounded_queue", m[2], unit::ops_per_second, goal::speed_at_least, 1);
    row(name, m[0], "moodycamel::BlockingConcurrentQueue", m[3], unit::ops_per_second, goal::speed_at_least, 0.8);
    if (n == 1) sluice_1p1c = m[0].median();  // another phase: compared by medians
  }

  {
    std::vector<contender> cs{{"ring", [&] { return unsynchronised_ring(items * 20); }}};
    const auto m = interleave(cs, rounds);
    row("queue 1P1C vs the physical limit", sluice_1p1c, "single-thread unsynchronised ring", m[0],
        unit::ops_per_second);
  }

  {
    auto pp = [&](bool available, auto* tag) -> std::function<double()> {
      using Q = std::remove_pointer_t<decltype(tag)>;
      if (!available) return {};
      return [=] { return ping_pong<Q>(trips); };
    };
    std::vector<contender> cs{
        {"sluice", pp(have_sluice, static_cast<sluice_q*>(nullptr))},
        {"mutex", pp(true, static_cast<mutex_adapter*>(nullptr))},
        {"tbb", pp(have_tbb, static_cast<tbb_q*>(nullptr))},
        {"moodycamel", pp(have_moody, static_cast<moody_q*>(nullptr))},
    };
    const auto m = interleave(cs, rounds);
    const std::string name = "queue cap 1 ping-pong, round trip";
    row(name, m[0], "mutex+2 condvars ring", m[1], unit::seconds_per_op, goal::time_at_most, 1);
    row(name, m[0], "tbb::concurrent_bounded_queue", m[2], unit::seconds_per_op);
    row(name, m[0], "moodycamel::BlockingConcurrentQueue (unbounded)", m[3], unit::seconds_per_op);
  }
  return 0;
}
