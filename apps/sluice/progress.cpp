#include "progress.hpp"

#include <cstdio>
#include <string>
#include <thread>

#include <unistd.h>

#include "output.hpp"

namespace sluice::app {

progress_meter::progress_meter(const config& cfg, std::size_t total, std::size_t slots)
    : cfg_(cfg), total_(total), slots_(slots), tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()) {
  if ((cfg_.progress || cfg_.eta) && !cfg_.bar) {
    // GNU's header (--eta implies it; --bar replaces it), with the column legend of its widest status format.
    std::string head = "\nComputers / CPU cores / Max jobs to run\n1:local / " +
                       std::to_string(std::max<unsigned>(1, std::thread::hardware_concurrency())) + " / " +
                       std::to_string(slots_) + "\n" +
                       "\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n";
    write_all(2, head.data(), head.size());
  }
}

void progress_meter::job_done(bool failed) {
  ++done_;
  if (failed) ++failed_;
}

void progress_meter::update(std::size_t running) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  draw(running, false);
}

void progress_meter::finish(std::size_t running) { draw(running, true); }

void progress_meter::draw(std::size_t running, bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double avg = done_ > 0 ? elapsed / static_cast<double>(done_) : 0;
  std::size_t left = total_ > done_ ? total_ - done_ : 0;
  double eta = done_ > 0 ? avg * static_cast<double>(left) : 0;
  int pct = total_ > 0 ? static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_)) : 0;
  char buf[512];
  std::string line;
  if (cfg_.eta) {
    // GNU's "local:running/done/share%/avg": the share of all jobs that ran here, always 100% without -S.
    std::snprintf(buf, sizeof buf, "ETA: %.0fs Left: %zu AVG: %.2fs  local:%zu/%zu/100%%/%.1fs ", eta, left, avg,
                  running, done_, avg);
    line += buf;
  } else if (cfg_.progress) {
    std::snprintf(buf, sizeof buf, "local:%zu/%zu/100%%/%.1fs ", running, done_, avg);
    line += buf;
  }
  if (cfg_.bar) {
    std::snprintf(buf, sizeof buf, "%d%% %zu:%zu=%.0fs ", pct, done_, left, eta);
    std::string text = buf;
    if (tty_) {
      const int width = 40;
      int fill = pct * width / 100;
      text += "[" + std::string(static_cast<std::size_t>(fill), '#') + std::string(static_cast<std::size_t>(width - fill), ' ') + "]";
    }
    if (!line.empty()) line += "\n";
    line += text;
  }
  if (!tty_ && !final) return;
  std::string out = (tty_ ? "\r\033[K" : "") + line + (final ? "\n" : "");
  write_all(2, out.data(), out.size());
}

}  // namespace sluice::app
