#include "throttle.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sluice::app {

std::optional<double> instant_load() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return std::nullopt;
  double a = 0, b = 0, c = 0;
  long running = 0, total = 0;
  int n = std::fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total);
  std::fclose(f);
  if (n != 5) return std::nullopt;
  return static_cast<double>(running > 0 ? running - 1 : 0);
}

std::optional<double> free_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return std::nullopt;
  char line[256];
  double kib = 0;
  int seen = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    for (const char* key : {"MemFree:", "Buffers:", "Cached:", "SwapCached:"}) {
      if (std::strncmp(line, key, std::strlen(key)) == 0) {
        kib += std::strtod(line + std::strlen(key), nullptr);
        ++seen;
      }
    }
  }
  std::fclose(f);
  if (seen == 0) return std::nullopt;
  return kib * 1024;
}

std::optional<std::pair<double, double>> swap_counts() {
  std::FILE* f = std::fopen("/proc/vmstat", "r");
  if (f == nullptr) return std::nullopt;
  char line[256];
  double in = -1, out = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "pswpin ", 7) == 0) in = std::strtod(line + 7, nullptr);
    else if (std::strncmp(line, "pswpout ", 8) == 0) out = std::strtod(line + 8, nullptr);
  }
  std::fclose(f);
  if (in < 0 || out < 0) return std::nullopt;
  return std::pair{in, out};
}

}  // namespace sluice::app
