// Effective Python, Item 57: don't start a thread per task. One generation of Conway's Game of Life on a
// 100 x 100 grid fans out 10,000 small tasks (one per cell), first with a thread per cell, then on a fixed
// sluice::thread_pool; both times are printed and the two results must agree.
#include <sluice/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr int rows = 100, cols = 100;
using grid = std::vector<char>;

char next_state(const grid& g, int r, int c) {
  int alive = 0;
  for (int dr = -1; dr <= 1; ++dr)
    for (int dc = -1; dc <= 1; ++dc) {
      if (dr == 0 && dc == 0) continue;
      const int rr = (r + dr + rows) % rows, cc = (c + dc + cols) % cols;  // the grid wraps around
      alive += g[rr * cols + cc];
    }
  const bool live = g[r * cols + c] != 0;
  return static_cast<char>(live ? (alive == 2 || alive == 3) : alive == 3);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  grid g(rows * cols);
  std::mt19937 rng(57);
  for (auto& cell : g) cell = static_cast<char>(rng() % 4 == 0);

  // A thread per cell: 10,000 thread starts and joins for 10,000 tiny computations.
  grid by_threads(g.size());
  auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    threads.reserve(g.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        threads.emplace_back([&, r, c] { by_threads[r * cols + c] = next_state(g, r, c); });
    for (auto& t : threads) t.join();
  }
  const double thread_time = seconds_since(t0);

  // A fixed pool: the same 10,000 tasks, each a future; the workers are started once and reused.
  grid by_pool(g.size());
  t0 = std::chrono::steady_clock::now();
  {
    sluice::thread_pool pool;  // hardware_concurrency() workers
    std::vector<sluice::future<char>> cells;
    cells.reserve(g.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) cells.push_back(pool.submit(next_state, std::cref(g), r, c));
    for (std::size_t i = 0; i < cells.size(); ++i) by_pool[i] = cells[i].result();
  }
  const double pool_time = seconds_since(t0);

  long alive = 0;
  for (char cell : by_pool) alive += cell;
  std::printf("one generation of %d cells, %ld alive afterwards\n", rows * cols, alive);
  std::printf("thread per task: %8.2f ms\n", thread_time * 1e3);
  std::printf("thread_pool:     %8.2f ms  (%.0fx faster)\n", pool_time * 1e3, thread_time / pool_time);
  if (by_pool != by_threads) {
    std::fprintf(stderr, "the two runs disagree\n");
    return 1;
  }
  return 0;
}
