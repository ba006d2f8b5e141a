// --bar, --progress, --eta: status on stderr. Redrawn in place (at most 4 times a second) when stderr is a
// terminal; otherwise a single summary line at the end, so logs stay readable.
#pragma once
#include <chrono>
#include <cstddef>

#include "config.hpp"

namespace sluice::app {

class progress_meter {
 public:
  progress_meter(const config& cfg, std::size_t total, std::size_t slots);
  void job_done(bool failed);
  void update(std::size_t running);  // redraws if live and due
  void finish(std::size_t running);
  bool live() const noexcept { return tty_; }

 private:
  void draw(std::size_t running, bool final);
  const config& cfg_;
  std::size_t total_;
  std::size_t slots_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace sluice::app
