// Effective Python, Item 52: ten children run in parallel, so ten one-second sleeps take about one second.
//   sleep_procs = [subprocess.Popen(['sleep', '1']) for _ in range(10)]
//   for proc in sleep_procs:
//       proc.communicate()
//   print(f'Finished in {delta:.3} seconds')
#include <sluice/subprocess.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  auto start = std::chrono::steady_clock::now();
  std::vector<sluice::process> sleep_procs;
  for (int i = 0; i < 10; ++i) sleep_procs.emplace_back(std::vector<std::string>{"sleep", "1"});
  for (auto& proc : sleep_procs) proc.communicate();
  std::chrono::duration<double> delta = std::chrono::steady_clock::now() - start;
  std::printf("Finished in %.3g seconds\n", delta.count());
}
