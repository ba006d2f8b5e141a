// --load, --memfree, --memsuspend and --noswap: what the machine looks like right now (sluice/system.hpp), in
// the units GNU parallel compares.
#pragma once
#include <optional>
#include <utility>

namespace sluice::app {

// Runnable tasks this instant, ourselves not counted (GNU counts processes in state R/D with ps; the kernel
// gives the runnable ones directly). nullopt when unknown.
std::optional<double> instant_load();

// Free memory plus buffers, page cache and swap cache, in bytes (GNU's "memfree"). nullopt when unknown.
std::optional<double> free_memory();

// Pages swapped in and out since boot. nullopt when unknown.
std::optional<std::pair<double, double>> swap_counts();

}  // namespace sluice::app
