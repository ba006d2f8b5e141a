// The example on the first screen of README.md, kept here so that it is built and run.
#include <sluice/sluice.hpp>

#include <iostream>

int main() {
  auto r = sluice::run({"echo", "hello"}, {.capture_output = true, .check = true});
  sluice::thread_pool pool(4);
  auto lengths = pool.map([](const std::string& s) { return s.size(); },
                          std::vector<std::string>{"a", "bb", r.out});
  std::cout << r.out << lengths[0] + lengths[1] + lengths[2] << '\n';
}
