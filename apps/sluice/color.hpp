// --color, --ctag, --ctagstring: each job's output lines on a background colour chosen by its sequence number,
// from GNU parallel's table of readable combinations in GNU's order.
#pragma once
#include <cstddef>
#include <string>

namespace sluice::app {

// The escape that starts a line of job `seq` (colour, then clear to end of line).
std::string job_color(std::size_t seq);
// The escape that ends a coloured line.
inline constexpr const char* k_color_reset = "\033[m";

}  // namespace sluice::app
