// Effective Python, Item 53: use threads for blocking I/O, avoid them for parallelism.
// Five threads each run a child process that blocks for 0.1 s (the book's select() system call);
// fanned out, the five waits overlap and the whole takes about 0.1 s instead of 0.5 s. Fan-in is join(),
// which also hands back anything a thread threw.
#include <sluice/subprocess.hpp>
#include <sluice/thread.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// The blocking work: a child that sleeps 0.1 s, the way a slow system call would hold the thread.
void slow_systemcall() {
  auto result = sluice::run({"sleep", "0.1"});
  if (result.returncode != 0) throw std::runtime_error("sleep failed");
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main() {
  auto start = clock_type::now();
  for (int i = 0; i < 5; ++i) slow_systemcall();
  std::printf("Serial took %.3f seconds\n", seconds_since(start));

  start = clock_type::now();
  std::vector<sluice::thread> threads;
  for (int i = 0; i < 5; ++i) threads.emplace_back(slow_systemcall);  // fan out
  // The main thread is free meanwhile, like the book's compute_helicopter_location().
  for (auto& t : threads) t.join();  // fan in; rethrows a thread's exception
  std::printf("Parallel took %.3f seconds\n", seconds_since(start));

  // An exception in a thread reaches whoever joins it.
  sluice::thread failing([] { sluice::run({"false"}, {.check = true}); });
  try {
    failing.join();
  } catch (const sluice::called_process_error& e) {
    std::printf("join() rethrew: %s\n", e.what());
  }
}
