// Effective Python, Item 62: mix threads and coroutines to port a program to asyncio step by step. One
// thread-safe sluice::queue is shared by both worlds: threads use get/put as always, coroutines await
// aio::get / aio::put, which never block the loop (the queue wakes it through its eventfd).
//   1. A thread produces, a coroutine consumes (the consumer was ported first).
//   2. Coroutines produce, threads consume (now the producer is ported, the consumers not yet).
// Meanwhile a heartbeat task shows that the loop keeps running while the coroutines wait on the queue.
#include <sluice/aio.hpp>
#include <sluice/queue.hpp>
#include <sluice/thread.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace aio = sluice::aio;
using namespace std::chrono_literals;

namespace {

aio::task<int> heartbeat(const bool& stop) {
  int beats = 0;
  while (!stop) {
    ++beats;
    co_await aio::sleep(5ms);
  }
  co_return beats;
}

// Step 1: the consumer is a coroutine; the producer is still a thread.
aio::task<void> thread_to_coroutine() {
  sluice::queue<std::string> lines(4);
  sluice::thread producer([&lines] {
    for (int i = 0; i < 20; ++i) {
      lines.put("line " + std::to_string(i));
      std::this_thread::sleep_for(2ms);  // a blocking read, as the old code did
    }
    lines.shutdown();  // the coroutine's get() throws queue_shut_down once it has drained the queue
  });

  bool stop = false;
  auto beat = aio::create_task(heartbeat(stop));
  int got = 0;
  std::size_t bytes = 0;
  try {
    for (;;) {
      std::string line = co_await aio::get(lines);
      bytes += line.size();
      ++got;
    }
  } catch (const sluice::queue_shut_down&) {
  }
  stop = true;
  const int beats = co_await beat;
  producer.join();
  std::printf("thread -> coroutine: the coroutine got %d lines (%zu bytes); the loop beat %d times meanwhile\n", got,
              bytes, beats);
}

// Step 2: the producers are coroutines; the consumers are still threads.
aio::task<void> coroutine_to_threads() {
  sluice::queue<int> jobs(2);
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  std::vector<sluice::thread> consumers;
  for (int t = 0; t < 3; ++t) {
    consumers.emplace_back([&] {
      try {
        for (;;) {
          sum += jobs.get();
          ++count;
          std::this_thread::sleep_for(1ms);  // slow consumers: the coroutines wait on a full queue
        }
      } catch (const sluice::queue_shut_down&) {
      }
    });
  }
  auto producer = [](sluice::queue<int>& q, int from, int to) -> aio::task<void> {
    for (int i = from; i < to; ++i) co_await aio::put(q, i);
  };
  bool stop = false;
  auto beat = aio::create_task(heartbeat(stop));
  auto a = producer(jobs, 0, 50);
  auto b = producer(jobs, 50, 100);
  auto both = aio::gather(std::move(a), std::move(b));
  co_await std::move(both);
  jobs.shutdown();  // the threads drain what is left, then their get() throws queue_shut_down
  stop = true;
  const int beats = co_await beat;
  for (auto& t : consumers) t.join();
  std::printf("coroutines -> threads: 3 threads consumed %d items, sum %ld (expected 4950); the loop beat %d times\n",
              count.load(), sum.load(), beats);
}

aio::task<void> main_task() {
  co_await thread_to_coroutine();
  co_await coroutine_to_threads();
}

}  // namespace

int main() { aio::run(main_task()); }
