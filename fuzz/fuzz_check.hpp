// Shared by the fuzz targets: a check that stays on in release builds, and a splitter for inputs that
// carry several fields.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

// A failed property aborts, which libFuzzer (and the corpus replay) reports with the input that did it.
#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);      \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace sluice_fuzz {

// An exception the target's contract does not allow: report it as a crash, with its message.
[[noreturn]] inline void unexpected_exception(const char* where, const std::exception& e) {
  std::fprintf(stderr, "%s: undocumented exception: %s\n", where, e.what());
  std::abort();
}

// Cuts the input at every `sep` byte (n separators give n + 1 fields).
inline std::vector<std::string> fields(std::string_view data, char sep) {
  std::vector<std::string> out(1);
  for (char c : data) {
    if (c == sep) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

}  // namespace sluice_fuzz
