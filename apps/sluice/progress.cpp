#include "progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "option_values.hpp"
#include "output.hpp"

namespace sluice::app {

namespace {
// GNU's seconds_to_time_units: 5s, 1m05s, 2h01m05s, 1d02h01m05s.
std::string time_units(long long s) {
  long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, r = s % 60;
  char buf[64];
  if (d) std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm%02llds", d, h, m, r);
  else if (h) std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", h, m, r);
  else if (m) std::snprintf(buf, sizeof buf, "%lldm%02llds", m, r);
  else std::snprintf(buf, sizeof buf, "%llds", r);
  return buf;
}

// Perl's "$x" of a number: up to 15 significant digits, no trailing zeros.
std::string perl_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}
}  // namespace

progress_meter::progress_meter(const config& cfg, std::size_t total, std::size_t slots)
    : cfg_(cfg), total_(total), slots_(slots), start_(std::chrono::steady_clock::now()) {
  // GNU asks the terminal (tput cols </dev/tty) and falls back on 80; $COLUMNS stands in for the former.
  if (const char* c = std::getenv("COLUMNS"); c != nullptr && std::atoi(c) > 0) columns_ = static_cast<std::size_t>(std::atoi(c));
  if (!cfg_.bar) {
    // GNU's header (--eta implies it; --bar replaces it), with the column legend of its widest status format.
    std::string head = "\nComputers / CPU cores / Max jobs to run\n1:local / " +
                       std::to_string(cpu_count(cfg_.cpu_unit)) + " / " +
                       std::to_string(slots_) + "\n" +
                       "\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n";
    write_all(2, head.data(), head.size());
  }
}

void progress_meter::job_started(std::string args) {
  ++started_;
  newest_ = std::move(args);
}

void progress_meter::job_done(bool failed) {
  if (done_++ == 0) first_done_ = std::chrono::steady_clock::now();
  if (failed) ++failed_;
}

void progress_meter::update(std::size_t running) {
  if (started_ == 0) return;  // (GNU's first status comes once jobs run)
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  draw(running);
}

void progress_meter::finish(std::size_t running) {
  draw(running);
  write_all(2, "\n", 1);
}

// GNU's compute_eta: the average is over the time since the first job ended, smoothed as more complete, and
// an ETA that grows by less than 10% keeps its last value.
void progress_meter::compute_eta(std::size_t& left, double& pct, double& avg, long long& eta) {
  std::size_t total = std::max(total_, done_);
  left = total - done_;
  pct = avg = 0;
  eta = 0;
  if (done_ == 0) return;
  pct = std::min(static_cast<double>(done_) / static_cast<double>(total), 100.0);
  double passed = std::floor(std::chrono::duration<double>(std::chrono::steady_clock::now() - first_done_).count());
  avg = passed / static_cast<double>(done_);
  if (smoothed_avg_ == 0) smoothed_avg_ = avg;
  smoothed_avg_ = (1 - pct) * smoothed_avg_ + pct * avg;
  eta = static_cast<long long>(static_cast<double>(left) * smoothed_avg_);
  if (eta * 0.9 < static_cast<double>(last_eta_) && last_eta_ < eta) eta = last_eta_;
  else last_eta_ = eta;
}

std::string progress_meter::bar() {
  std::size_t left;
  double pct, avg;
  long long eta;
  compute_eta(left, pct, avg, eta);
  const std::size_t w = columns_;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%d%% %zu:%zu=", static_cast<int>(pct * 100), done_, left);
  std::string text = buf + time_units(eta) + " " + newest_;
  std::string s = (text + std::string(w, ' ')).substr(0, w);
  std::size_t fill = static_cast<std::size_t>(static_cast<double>(w) * pct);
  s.insert(std::min(fill, s.size()), "\033[0m");
  std::string zenity = ("#   " + std::to_string(eta) + " sec " + newest_).substr(0, w);
  zenity.resize(std::max(zenity.size(), w), ' ');
  return "\r" + zenity + "\r" + perl_number(pct * 100) + "\r\033[7m" + s + "\033[0m";
}

void progress_meter::draw(std::size_t running) {
  std::string line;
  if (cfg_.bar) {
    line = bar();
  } else {
    if (cfg_.eta) {
      std::size_t left;
      double pct, avg;
      long long eta;
      compute_eta(left, pct, avg, eta);
      char buf[128];
      std::snprintf(buf, sizeof buf, "ETA: %llds Left: %zu AVG: %.2fs  ", eta, left, avg);
      line += buf;
    }
    if (started_ > 0) {
      // "local:running/done/share of the started jobs/seconds per completed job" (from the start, whole seconds).
      double elapsed = std::floor(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      double per = done_ > 0 ? elapsed / static_cast<double>(done_) : 0;
      char buf[128];
      std::snprintf(buf, sizeof buf, "local:%zu/%zu/%d%%/%.1fs ", running, done_,
                    static_cast<int>(static_cast<double>(running + done_) * 100 / static_cast<double>(started_)), per);
      line += buf;
    }
  }
  std::string out = "\r" + line;
  write_all(2, out.data(), out.size());
}

}  // namespace sluice::app
