// tests/aio_stream_test.cpp -- sluice::aio::stream_reader: read_nowait, and reads cancelled mid-wait (what the
// job runner relies on to collect a child's output without waiting for end of file).
#include <sluice/aio.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace aio = sluice::aio;

namespace {

aio::task<void> pump(aio::stream_reader& r, std::string& acc) {
  for (;;) {
    auto rd = r.read(1 << 16);
    std::string d = co_await rd;
    if (d.empty()) co_return;
    acc += d;
  }
}

// g++ 12 miscompiled read(n)'s coroutine (SIGILL on its first resume) when its awaits sat in a condition.
TEST(AioStream, ReadOfAPipeThatHasNoDataYetIsCancellable) {
  auto body = []() -> aio::task<bool> {
    std::vector<std::string> argv{"sleep", "5"};
    sluice::options o;
    o.out = sluice::redirect::pipe;
    auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
    aio::process p = co_await spawn;
    std::string acc;
    auto h = aio::create_task(pump(p.out(), acc));
    auto pause = aio::sleep(0.02);
    co_await pause;
    h.cancel();
    bool cancelled = false;
    try {
      co_await h;
    } catch (const sluice::cancelled_error&) {
      cancelled = true;
    }
    p.kill();
    auto w = p.wait();
    co_await w;
    co_return cancelled;
  };
  EXPECT_TRUE(aio::run(body()));
}

TEST(AioStream, ReadNowaitTakesWhatAnExitedChildLeftWithoutWaitingForEof) {
  auto body = []() -> aio::task<std::string> {
    // The grandchild keeps stdout open for 5 s: waiting for end of file would take that long.
    std::vector<std::string> argv{"sh", "-c", "printf 'one\\ntwo\\n'; sleep 5 & exit 0"};
    sluice::options o;
    o.out = sluice::redirect::pipe;
    o.process_group = 0;
    auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
    aio::process p = co_await spawn;
    auto w = p.wait();
    co_await w;
    std::string got;
    for (;;) {
      std::string s = p.out().read_nowait(3);  // at most n bytes per call
      EXPECT_LE(s.size(), 3u);
      if (s.empty()) break;
      got += s;
    }
    EXPECT_FALSE(p.out().at_eof());  // nothing more now, but not the end: the grandchild holds the pipe
    p.send_signal_to_group(SIGKILL);
    co_return got;
  };
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(aio::run(body()), "one\ntwo\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(AioStream, ReadNowaitAtEndOfFileReturnsEmptyAndAtEof) {
  auto body = []() -> aio::task<bool> {
    std::vector<std::string> argv{"true"};
    sluice::options o;
    o.out = sluice::redirect::pipe;
    auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
    aio::process p = co_await spawn;
    auto w = p.wait();
    co_await w;
    auto rest = p.out().read();  // to end of file
    co_await rest;
    EXPECT_EQ(p.out().read_nowait(10), "");
    co_return p.out().at_eof();
  };
  EXPECT_TRUE(aio::run(body()));
}

TEST(AioStream, ReadNowaitWhileAnotherTaskReadsIsALogicError) {
  auto body = []() -> aio::task<bool> {
    std::vector<std::string> argv{"sleep", "5"};
    sluice::options o;
    o.out = sluice::redirect::pipe;
    auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
    aio::process p = co_await spawn;
    std::string acc;
    auto h = aio::create_task(pump(p.out(), acc));
    auto pause = aio::sleep(0.02);
    co_await pause;
    bool threw = false;
    try {
      (void)p.out().read_nowait(1);
    } catch (const std::logic_error&) {
      threw = true;
    }
    h.cancel();
    try {
      co_await h;
    } catch (const sluice::cancelled_error&) {
    }
    co_return threw;
  };
  EXPECT_TRUE(aio::run(body()));
}

}  // namespace
