// apps/sluice/limits.cpp -- the command-length limits (see limits.hpp).
#include "limits.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <sluice/system.hpp>

extern char** environ;

namespace sluice::app {

namespace {

// The longest `sh -c` string the kernel takes: one argument is at most MAX_ARG_STRLEN (32 pages) with its
// NUL, and all of argv and the environment together at most ARG_MAX.
std::size_t kernel_limit() {
  auto kernel = sluice::system::exec_limits();
  std::size_t per_arg = kernel.per_argument - 1;
  std::size_t env = 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env += std::strlen(*e) + 1 + sizeof(char*);
  std::size_t total = kernel.total;
  std::size_t by_total = total > env + 4096 ? total - env - 4096 : 4096;
  // GNU's probe runs "echo ccc... && true" through the shell: those 8 bytes count against the limit.
  return std::min(per_arg, by_total) - 8;
}

// GNU's search: grow by 16 from 324 until a length fails, then bisect until within 1 %.
std::size_t gnu_search(std::size_t limit) {
  auto ok = [limit](std::size_t len) { return len <= limit; };
  std::size_t len = 324;
  const std::size_t upper_bound = 100000000;
  do {
    if (len > upper_bound) return len;
    len *= 16;
  } while (ok(len));
  std::size_t lower = len / 16, upper = len;
  while (!(lower == upper || lower + 1 == upper || static_cast<double>(lower) / static_cast<double>(upper) > 0.99)) {
    std::size_t middle = (upper - lower) / 2 + lower;
    if (ok(middle)) lower = middle;
    else upper = middle;
  }
  return lower;
}

}  // namespace

std::size_t max_command_length() {
  static const std::size_t n = gnu_search(kernel_limit());
  return n;
}

std::size_t usable_command_length() { return max_command_length() > 3000 ? (max_command_length() - 3000) / 2 : 1000; }

std::string show_limits_text(std::size_t usable) {
  return "Maximal size of command: " + std::to_string(max_command_length()) + "\n" +
         "Maximal usable size of command: " + std::to_string(usable) + "\n" +
         "\n"
         "Execution will continue now, and it will try to read its input\n"
         "and run commands; if this is not what you wanted to happen, please\n"
         "press CTRL-D or CTRL-C\n";
}

std::string too_long_message(std::size_t length, std::size_t limit, const std::string& args) {
  std::string shown = args.size() > 50 ? args.substr(0, 50) + "..." : args;
  return "Error: Command line too long (" + std::to_string(length) + " >= " + std::to_string(limit) +
         ") at input 0: " + shown;
}

}  // namespace sluice::app
