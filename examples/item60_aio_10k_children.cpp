// Effective Python, Item 60 (highly concurrent I/O with coroutines), with child processes: 10 000 `sleep 1`
// children started and awaited by one thread. Each child is a pidfd in the loop's epoll set: no thread per
// child, no SIGCHLD handler. A pidfd is a descriptor, so the soft RLIMIT_NOFILE is raised to the hard limit
// first (Python programs do the same with resource.setrlimit).
#include <sluice/aio.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace aio = sluice::aio;

namespace {

// The number of threads in this process, from /proc/self/status.
int threads_now() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

int most_threads = 0;

aio::task<int> sleeper(const std::vector<std::string>& args) {
  aio::process p = co_await aio::create_subprocess_exec(args);
  co_return co_await p.wait();
}

// Looks at the thread count while the children run.
aio::task<int> watch_threads(const bool& finished) {
  int samples = 0;
  while (!finished) {
    most_threads = std::max(most_threads, threads_now());
    ++samples;
    co_await aio::sleep(0.1);
  }
  co_return samples;
}

aio::task<void> main_task(long n) {
  const std::vector<std::string> args{"sleep", "1"};
  std::vector<aio::task<int>> children;
  children.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) children.push_back(sleeper(args));

  bool finished = false;
  auto watcher = aio::create_task(watch_threads(finished));
  const auto t0 = std::chrono::steady_clock::now();
  auto all = aio::gather(std::move(children));
  std::vector<int> codes = co_await std::move(all);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  finished = true;
  co_await watcher;

  const auto ok = std::count(codes.begin(), codes.end(), 0);
  std::printf("%ld children of `sleep 1` ran at once and exited (%ld with status 0) in %.2f s\n", n,
              static_cast<long>(ok), s);
  std::printf("threads in this process while they ran: at most %d (one thread awaited them all)\n", most_threads);
}

}  // namespace

int main() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  // One pidfd per child, plus a few descriptors of our own.
  long n = 10000;
  if (r.rlim_cur != RLIM_INFINITY && static_cast<long>(r.rlim_cur) < n + 64) {
    n = std::max(1L, static_cast<long>(r.rlim_cur) - 64);
    std::printf("RLIMIT_NOFILE allows %ld descriptors: running %ld children instead of 10000\n",
                static_cast<long>(r.rlim_cur), n);
  }
  aio::run(main_task(n));
}
