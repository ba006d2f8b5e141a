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

}  // namespace sluice::app
