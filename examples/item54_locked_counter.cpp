// Effective Python, Item 54: use Lock to prevent data races in threads.
// Five "sensor" threads each count 100,000 readings into one counter. Without a lock the read-add-write
// of `count += 1` from several threads interleaves and loses updates; sluice::synchronized makes every
// increment happen under the counter's own lock, so the total is exact.
#include <sluice/thread.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <latch>
#include <thread>
#include <vector>

namespace {

constexpr int how_many = 100'000;
constexpr int sensors = 5;

// Python's Counter: `self.count += offset` is a read, an add and a write. The separate relaxed load and
// store reproduce that race without undefined behaviour (a plain int would be a C++ data race). Now and
// then the thread gives up the CPU between the read and the write, as CPython's interpreter switches
// threads every few milliseconds; whatever other threads add meanwhile is then overwritten.
class counter {
 public:
  void increment(int offset) {
    int value = count_.load(std::memory_order_relaxed);
    if (++calls_ % 1000 == 0) std::this_thread::yield();
    count_.store(value + offset, std::memory_order_relaxed);
  }
  int count() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
  static inline thread_local int calls_ = 0;
};

// Item 54's LockedCounter, generalised: the int can only be reached under its lock.
class locked_counter {
 public:
  void increment(int offset) { count_.with_lock([offset](int& c) { c += offset; }); }
  int count() const { return count_.copy(); }

 private:
  sluice::synchronized<int> count_{0};
};

template <class Counter>
void worker(int /*sensor_index*/, int n, Counter& c, std::latch& start) {
  start.arrive_and_wait();  // all sensors begin together, so their increments really overlap
  for (int i = 0; i < n; ++i) c.increment(1);  // the book reads the sensor here
}

template <class Counter>
int run_sensors(Counter& c) {
  std::latch start(sensors);
  std::vector<sluice::thread> threads;
  for (int i = 0; i < sensors; ++i)
    threads.emplace_back(worker<Counter>, i, how_many, std::ref(c), std::ref(start));
  for (auto& t : threads) t.join();
  return c.count();
}

}  // namespace

int main() {
  counter racy;
  int found = run_sensors(racy);
  std::printf("Counter should be %d, got %d (%d increments lost)\n", how_many * sensors, found,
              how_many * sensors - found);

  locked_counter safe;
  found = run_sensors(safe);
  std::printf("Counter should be %d, got %d\n", how_many * sensors, found);
  return found == how_many * sensors ? 0 : 1;
}
