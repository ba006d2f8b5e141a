// bench/harness.hpp -- timing and reporting shared by sluice's benchmarks (not installed).
//
// The machines these run on are shared and noisy, so absolute times mean little: every figure is
// compared with a peer measured in the same process, the contenders take turns (A B C, then B C A, ...),
// each side's median is shown and the ratio is the median of the per-round ratios. Each benchmark prints markdown table rows
//   | case | sluice | peer | ratio | target | met? |
// plus "note: ..." lines; scripts/bench.sh gathers them into docs/benchmarks.md.
//
//   std::vector<sluice_bench::contender> cs{{"sluice", [] { return time_one_thing(); }},
//                                           {"raw", [] { return time_other_thing(); }}};
//   auto f = sluice_bench::interleave(cs, 5);
//   sluice_bench::row("case", f[0], "raw", f[1], sluice_bench::unit::seconds_per_op,
//                     sluice_bench::goal::time_at_most, 1.15);
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace sluice_bench {

inline constexpr double missing = std::numeric_limits<double>::quiet_NaN();

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return missing;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// An environment variable as a count, so a run can be shortened without rebuilding.
inline long env_long(const char* name, long fallback) {
  const char* s = std::getenv(name);
  if (!s || !*s) return fallback;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  return (end && *end == '\0' && v > 0) ? v : fallback;
}

// One side of a comparison. run() performs one repetition and returns its figure; an empty run means the
// contender is not available in this build (its rows then say so instead of showing a number).
struct contender {
  std::string name;
  std::function<double()> run;
};

// One contender's figures, one per round. Built from a single number (or NaN: unavailable) where a figure
// comes from another phase of the run and must not be paired round by round.
struct figures {
  std::vector<double> rounds;
  figures() = default;
  figures(double v) {  // NOLINT: implicit on purpose, so a lone number can stand in
    if (!std::isnan(v)) rounds.push_back(v);
  }
  double median() const { return sluice_bench::median(rounds); }
  bool available() const { return !rounds.empty(); }
};

// The rounds of a slow case (a GiB through a pipe, a parent with GiBs resident): two fewer than asked, but at least
// three (a median needs them) and never more than asked.
inline int slow_case_rounds(int rounds) { return rounds < 3 ? rounds : std::max(3, rounds - 2); }

// Runs the contenders in turn, `rounds` times; an unavailable contender gets no figures. Each round starts
// with the next contender, so none is always the one that runs first (after the set-up, or on memory the
// previous round freed).
inline std::vector<figures> interleave(const std::vector<contender>& cs, int rounds) {
  std::vector<figures> result(cs.size());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t k = 0; k < cs.size(); ++k) {
      const std::size_t i = (static_cast<std::size_t>(r) + k) % cs.size();
      if (cs[i].run) result[i].rounds.push_back(cs[i].run());
    }
  return result;
}

enum class unit {
  seconds_per_op,    // latency: lower is better
  ops_per_second,    // throughput: higher is better
  bytes_per_second,  // throughput: higher is better
};

enum class goal {
  none,              // shown for context (a physical limit, a peer without a target)
  time_at_most,      // ratio = sluice time / peer time, met when <= target
  speed_at_least,    // ratio = sluice speed / peer speed, met when >= target
};

inline bool is_rate(unit u) { return u != unit::seconds_per_op; }

inline std::string format(double v, unit u) {
  if (std::isnan(v)) return "n/a";
  char buf[64] = "";
  switch (u) {
    case unit::seconds_per_op:
      if (v >= 1) std::snprintf(buf, sizeof buf, "%.2f s", v);
      else if (v >= 1e-3) std::snprintf(buf, sizeof buf, "%.2f ms", v * 1e3);
      else if (v >= 1e-6) std::snprintf(buf, sizeof buf, "%.2f us", v * 1e6);
      else std::snprintf(buf, sizeof buf, "%.1f ns", v * 1e9);
      break;
    case unit::ops_per_second:
      if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M/s", v / 1e6);
      else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1f k/s", v / 1e3);
      else std::snprintf(buf, sizeof buf, "%.1f /s", v);
      break;
    case unit::bytes_per_second:
      std::snprintf(buf, sizeof buf, "%.2f GiB/s", v / double(1ull << 30));
      break;
  }
  return buf;
}

// sluice's figure relative to the peer's, oriented so that a larger number means sluice is faster.
inline double speedup(double sluice, double peer, unit u) { return is_rate(u) ? sluice / peer : peer / sluice; }

// The ratio of two contenders measured in the same rounds is the median of the per-round ratios: the two
// figures of one round were taken moments apart, under the same load, so their ratio is steadier than the
// ratio of two medians. Figures from different phases (different round counts) fall back to the medians.
inline double speedup(const figures& s, const figures& p, unit u) {
  if (s.rounds.size() > 1 && s.rounds.size() == p.rounds.size()) {
    std::vector<double> r;
    for (std::size_t i = 0; i < s.rounds.size(); ++i) r.push_back(speedup(s.rounds[i], p.rounds[i], u));
    return median(r);
  }
  return speedup(s.median(), p.median(), u);
}

// Prints one table row: each side's median, and the ratio in the target's terms. An unavailable side
// says `sluice_missing` / `peer_missing` instead of a figure.
inline void row(const std::string& case_name, const figures& sluice, const std::string& peer_name,
                const figures& peer, unit u, goal g = goal::none, double target = 0,
                const std::string& sluice_missing = "not built", const std::string& peer_missing = "not installed") {
  const std::string s = sluice.available() ? format(sluice.median(), u) : sluice_missing;
  const std::string p = peer_name + ": " + (peer.available() ? format(peer.median(), u) : peer_missing);
  std::string ratio = "—", tgt = "—", met = "—";
  if (sluice.available() && peer.available() && sluice.median() > 0 && peer.median() > 0) {
    char buf[64];
    // Stated in the target's own terms, so the two columns read together.
    const bool as_time = g == goal::time_at_most || (g == goal::none && !is_rate(u));
    const double up = speedup(sluice, peer, u);
    const double r = as_time ? 1 / up : up;
    std::snprintf(buf, sizeof buf, "%.2f (%s)", r, as_time ? "time" : "speed");
    ratio = buf;
    if (g == goal::time_at_most) met = r <= target ? "yes" : "**no**";
    if (g == goal::speed_at_least) met = r >= target ? "yes" : "**no**";
  }
  if (g != goal::none) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %g×", g == goal::time_at_most ? "time ≤" : "speed ≥", target);
    tgt = buf;
  }
  std::printf("| %s | %s | %s | %s | %s | %s |\n", case_name.c_str(), s.c_str(), p.c_str(), ratio.c_str(),
              tgt.c_str(), met.c_str());
  std::fflush(stdout);
}

// A count for a case name: 2000000 -> "2 M", 250000 -> "250 k", 999 -> "999".
inline std::string count_label(long n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + " M";
  if (n >= 1000 && n % 1000 == 0) return std::to_string(n / 1000) + " k";
  return std::to_string(n);
}

inline void note(const std::string& text) {
  std::printf("note: %s\n", text.c_str());
  std::fflush(stdout);
}

// Keeps the optimiser from discarding a computed value.
template <class T>
inline void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

}  // namespace sluice_bench
