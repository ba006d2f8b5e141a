// --load and --memfree: what the machine looks like right now, read from /proc as GNU parallel reads it.
#pragma once
#include <optional>
#include <utility>

namespace sluice::app {

// Runnable tasks this instant, ourselves not counted (GNU counts processes in state R/D with ps; the kernel's
// /proc/loadavg gives the runnable ones directly). nullopt when unknown.
std::optional<double> instant_load();

// MemFree + Buffers + Cached + SwapCached of /proc/meminfo in bytes (GNU's "memfree"). nullopt when unknown.
std::optional<double> free_memory();

// pswpin and pswpout of /proc/vmstat (pages swapped in and out since boot). nullopt when unknown.
std::optional<std::pair<double, double>> swap_counts();

}  // namespace sluice::app
