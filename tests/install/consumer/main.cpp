// Uses one name from each public header, so a missing header or symbol fails the consumer's build. Built
// against a shared libsluice too (consume.cmake, add_subdirectory mode), where only what the headers mark
// SLUICE_EXPORT is visible: the ordered multi-worker pipeline reaches both of its ordering gates, the
// coroutine reaches the event loop and a child process.
#include <sluice/sluice.hpp>

#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

sluice::aio::task<int> child_exit_code() {
  std::vector<std::string> argv{"/bin/sh", "-c", "exit 3"};  // named: GCC 12 rejects a braced list of literals here
  auto r = co_await sluice::aio::run_process(std::move(argv));
  co_return r.returncode;
}

}  // namespace

int main() {
  auto done = sluice::run({"/bin/echo", "hello from a child"}, {.capture_output = true});
  sluice::queue<std::string> q(1);
  sluice::thread producer([&] { q.put(done.out); q.close(); });
  std::string got;
  for (std::string& line : q) got += line;
  producer.join();
  sluice::thread_pool pool(2);
  auto sum = pool.submit([](int a, int b) { return a + b; }, 20, 22);
  sluice::synchronized<int> counter(0);
  counter.with_lock([](int& n) { ++n; });
  std::vector<int> in(200);
  for (int i = 0; i < 200; ++i) in[i] = i;
  std::vector<int> out;
  sluice::pipeline(in, {.ordered = true})
      .stage([](int x) { return x * 2; }, {.workers = 3})   // in order toward 3 workers: the turnstile
      .stage([](int x) { return x + 1; }, {.workers = 3})   // reordered by the single consumer: the emit gate
      .for_each([&](int x) { out.push_back(x); });
  bool ordered = out.size() == 200;
  for (int i = 0; ordered && i < 200; ++i) ordered = out[i] == 2 * i + 1;
  const int code = sluice::aio::run(child_exit_code());
  std::cout << got << sum.result() << ' ' << counter.copy() << ' ' << ordered << ' ' << code << '\n';
  return got == "hello from a child\n" && sum.result() == 42 && counter.copy() == 1 && ordered && code == 3 ? 0 : 1;
}
