// How long a composed command may be, as GNU parallel 20221122 computes it: the longest command line the
// system takes (GNU finds it by running `echo` with ever longer lines; sluice reproduces that search against
// the kernel's limits, which it reads instead of probing), and the usable length GNU derives from it (room for
// wrapping, halved for hex-encoding), which `-s` may lower. A command at or over the usable length is refused:
// "Command line too long (N >= M) at input 0: ARGS", exit 255, after the jobs already running end.
#pragma once
#include <cstddef>
#include <string>

namespace sluice::app {

// GNU's "Maximal size of command" (--max-line-length-allowed): 130329 on Linux with 4 KiB pages.
std::size_t max_command_length();
// GNU's "Maximal usable size of command" without -s: (max_command_length() - 3000) / 2, 63664 on Linux.
std::size_t usable_command_length();
// What --show-limits prints (on stdout) before the run goes on.
std::string show_limits_text(std::size_t usable);
// GNU's error line for a command that is too long (without the leading "sluice: ").
std::string too_long_message(std::size_t length, std::size_t limit, const std::string& args);

}  // namespace sluice::app
