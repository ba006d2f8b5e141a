// tests/aio_alloc_test.cpp -- "no allocation per await in the steady state" (sluice/aio.hpp): this binary replaces
// the global operator new with a counting one, warms each kind of await up, then checks that N more awaits
// allocate at most a small constant -- nothing proportional to N. A binary of its own, since the replacement
// applies to the whole program.
#include <sluice/aio.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "support/sanitizer.hpp"

using namespace std::chrono_literals;
namespace aio = sluice::aio;
using aio::task;
using sluice::redirect;

namespace {
std::atomic<long> allocations{0};
}  // namespace

// The replacements pair operator new with malloc and operator delete with free; g++ cannot see that pairing
// through the inlined calls and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

const std::string child = SLUICE_TEST_CHILD;
using sluice_test::under_asan;
using sluice_test::under_tsan;

long now() { return allocations.load(std::memory_order_relaxed); }

// A little allowance for one-time growth (a vector reaching its final capacity, a timer heap slot), never
// anything per await.
constexpr long allowance = 16;
// Under TSan g++ makes no tail call for symmetric transfer, so a loop of awaits that complete without suspending
// (an unbounded queue's put) grows the stack with each one (see sluice/aio.hpp): fewer rounds there.
constexpr int rounds = under_tsan ? 2000 : 20000;

class AioAlloc : public ::testing::Test {
 protected:
  void SetUp() override {
    if (under_asan) GTEST_SKIP() << "under AddressSanitizer every coroutine frame is allocated (the pool is off)";
  }
};

// Runs `round` warm-up times, then `rounds` times, and returns what the latter allocated.
template <class Round>
task<long> measure(Round round) {
  for (int i = 0; i < rounds / 20; ++i) co_await round();
  long before = now();
  for (int i = 0; i < rounds; ++i) co_await round();
  co_return now() - before;
}

}  // namespace

TEST_F(AioAlloc, SleepZero) {
  long n = aio::run(measure([] { return aio::sleep(0); }));
  EXPECT_LE(n, allowance) << n << " allocations for " << rounds << " sleep(0)";
}

TEST_F(AioAlloc, SleepTimer) {
  long n = aio::run([]() -> task<long> {
    for (int i = 0; i < 100; ++i) co_await aio::sleep(1us);
    long before = now();
    for (int i = 0; i < 2000; ++i) co_await aio::sleep(1us);
    co_return now() - before;
  }());
  EXPECT_LE(n, allowance);
}

TEST_F(AioAlloc, EventPingPong) {
  long n = aio::run([]() -> task<long> {
    aio::event ping, pong;
    auto other = aio::create_task([](aio::event* ping, aio::event* pong) -> task<void> {
      for (;;) {
        co_await ping->wait();
        ping->clear();
        pong->set();
      }
    }(&ping, &pong));
    auto round = [&]() -> task<void> {
      ping.set();
      co_await pong.wait();
      pong.clear();
    };
    long r = co_await measure(round);
    other.cancel();
    co_return r;
  }());
  EXPECT_LE(n, allowance);
}

TEST_F(AioAlloc, SemaphorePingPong) {
  long n = aio::run([]() -> task<long> {
    aio::semaphore a(0), b(0);
    auto other = aio::create_task([](aio::semaphore* a, aio::semaphore* b) -> task<void> {
      for (;;) {
        co_await a->acquire();
        b->release();
      }
    }(&a, &b));
    auto round = [&]() -> task<void> {
      a.release();
      co_await b.acquire();
    };
    long r = co_await measure(round);
    other.cancel();
    co_return r;
  }());
  EXPECT_LE(n, allowance);
}

TEST_F(AioAlloc, QueueGetPut) {
  long n = aio::run([]() -> task<long> {
    aio::queue<int> there(1), back(1);
    auto other = aio::create_task([](aio::queue<int>* there, aio::queue<int>* back) -> task<void> {
      for (;;) {
        int v = co_await there->get();
        co_await back->put(v + 1);
      }
    }(&there, &back));
    int v = 0;
    auto round = [&]() -> task<void> {
      co_await there.put(v);
      v = co_await back.get();
    };
    long r = co_await measure(round);
    EXPECT_EQ(v, rounds + rounds / 20);
    other.cancel();
    co_return r;
  }());
  EXPECT_LE(n, allowance);
}

TEST_F(AioAlloc, UnboundedQueueGetPut) {
  long n = aio::run([]() -> task<long> {
    aio::queue<int> q;
    auto round = [&]() -> task<void> {
      co_await q.put(1);
      co_await q.put(2);
      (void)co_await q.get();
      (void)co_await q.get();
    };
    co_return co_await measure(round);
  }());
  EXPECT_LE(n, allowance);
}

TEST_F(AioAlloc, ChildWait) {
  long n = aio::run([]() -> task<long> {
    long total = 0;
    for (int i = 0; i < 120; ++i) {
      aio::process p = co_await aio::create_subprocess_exec(child, "sleep", "0.002");
      long before = now();
      int rc = co_await p.wait();
      if (i >= 20) total += now() - before;  // the first ones warm up
      EXPECT_EQ(rc, 0);
    }
    co_return total;
  }());
  EXPECT_LE(n, allowance) << n << " allocations for 100 waits";
}

TEST_F(AioAlloc, StreamReadline) {
  long n = aio::run([]() -> task<long> {
    aio::options o;
    o.in = redirect::pipe;
    o.out = redirect::pipe;
    std::vector<std::string> args{child, "echo"};
    aio::process p = co_await aio::create_subprocess_exec(args, o);
    auto round = [&]() -> task<void> {
      p.in().write("ping\n");
      std::string line = co_await p.out().readline();
      EXPECT_EQ(line, "ping\n");
    };
    long r = co_await measure(round);
    p.in().close();
    co_await p.wait();
    co_return r;
  }());
  EXPECT_LE(n, allowance);
}
