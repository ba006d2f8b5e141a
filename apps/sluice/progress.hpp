// --bar, --progress, --eta: status on stderr in GNU parallel's formats, so that tools reading them (zenity
// reads --bar's "# ..." and percentage lines) keep working. As in GNU, each redraw starts with "\r", on a
// terminal or not; the last one is followed by a newline. Redrawn when a job starts or ends, at most about 4
// times a second (and every second meanwhile), where GNU redraws on every turn of its loop.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

#include "config.hpp"

namespace sluice::app {

class progress_meter {
 public:
  progress_meter(const config& cfg, std::size_t total, std::size_t slots);
  void job_started(std::string args);  // the newest job's arguments, shown by --bar
  void job_done(bool failed);
  void update(std::size_t running);  // redraws if due
  void finish(std::size_t running);
  bool live() const noexcept { return true; }

 private:
  void draw(std::size_t running);
  std::string bar();
  void compute_eta(std::size_t& left, double& pct, double& avg, long long& eta);
  const config& cfg_;
  std::size_t total_;
  std::size_t slots_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  std::size_t started_ = 0;
  std::size_t columns_ = 80;
  std::string newest_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point first_done_{};
  double smoothed_avg_ = 0;
  long long last_eta_ = 0;
};

}  // namespace sluice::app
