// src/output_prefaulter.hpp -- maps a big output buffer's pages ahead of the reads that fill it (used by the
// poll loop, subprocess_pump.cpp). Not installed.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <system_error>
#include <thread>

#include "posix/platform.hpp"

namespace sluice::detail {

// Maps the pages of a big output buffer from a second thread, a bounded distance ahead of the reads.
// Receiving 1 GiB means 262144 first-touch page faults, which cost the pumping thread more than all its copies;
// taken off its path they run beside the pump, on the core a simple filter child leaves mostly idle.
// Safety: it only advises on the string's own capacity (no C++ access to the bytes, so no data race), and it
// is joined before the string may reallocate and before pump returns or throws. Staying only as far ahead as
// has already arrived bounds the memory it makes resident beyond the real output (by max_ahead, and by the
// output so far, as geometric growth would), so a filter with little output keeps its reservation virtual.
class output_prefaulter {
 public:
  static constexpr std::size_t min_room = std::size_t(8) << 20;  // below this a thread does not pay for itself
  static constexpr std::size_t step = std::size_t(2) << 20;
  static constexpr std::size_t max_ahead = std::size_t(64) << 20;

  output_prefaulter() = default;
  output_prefaulter(const output_prefaulter&) = delete;
  output_prefaulter& operator=(const output_prefaulter&) = delete;
  ~output_prefaulter() { stop(); }

  // Starts on sink's unused capacity when it is big enough; quietly does nothing when no thread can be had.
  void start(std::string& sink) {
    stop();
    if (sink.capacity() - sink.size() < min_room || unsupported_.load(std::memory_order_relaxed)) return;
    base_ = sink.data();
    capacity_ = sink.capacity();
    filled_.store(sink.size());
    stopping_.store(false);
    idle_.store(false);
    try {
      detail::os::all_signals_blocked mask;  // inherited by the helper
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
    }
  }
  // Called after every read into the sink with its new size.
  void progress(std::size_t filled) {
    if (!thread_.joinable()) return;
    filled_.store(filled);
    if (idle_.load()) filled_.notify_one();
  }
  void stop() noexcept {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    filled_.fetch_add(1);  // a changed value wakes the wait in run()
    filled_.notify_one();
    thread_.join();
  }

 private:
  void run() noexcept {
    std::size_t done = filled_.load();
    while (!stopping_.load() && done < capacity_) {
      const std::size_t filled = filled_.load();
      done = std::max(done, filled);
      if (done - filled >= std::min(max_ahead, std::max(filled, step))) {
        // seq_cst on idle_ and filled_ (both sides): either progress() sees idle_ or this sees the new size.
        idle_.store(true);
        if (filled_.load() == filled && !stopping_.load()) filled_.wait(filled);
        idle_.store(false);
        continue;
      }
      const std::size_t upto = std::min(capacity_, done + step);
      if (!detail::os::prefault_writable(base_ + done, upto - done)) {
        unsupported_.store(true, std::memory_order_relaxed);
        return;
      }
      done = upto;
    }
  }

  static inline std::atomic<bool> unsupported_{false};  // the kernel refused once: do not try again
  char* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::atomic<std::size_t> filled_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> idle_{false};
  std::thread thread_;
};

}  // namespace sluice::detail
