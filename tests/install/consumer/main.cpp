// Uses one name from each public header, so a missing header or symbol fails the consumer's build.
#include <sluice/sluice.hpp>

#include <iostream>

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
  std::cout << got << sum.result() << ' ' << counter.copy() << '\n';
  return got == "hello from a child\n" && sum.result() == 42 && counter.copy() == 1 ? 0 : 1;
}
