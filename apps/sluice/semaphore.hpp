// --semaphore and the `sem` entry point: a counting semaphore shared by processes (see semaphore.cpp).
#pragma once
#include <string>
#include <vector>

#include "config.hpp"

namespace sluice::app {

// Waits for a slot of the semaphore (--id, -j, --semaphoretimeout), then runs the one command: in the
// foreground under --fg (its exit status is returned), else in a background copy of sluice that keeps the slot
// until the command ends (0 returned at once). --wait only waits until fewer than -j slots are held.
// `args` are the command-line words after argv[0], for the background copy.
int run_semaphore(config& cfg, const std::vector<std::string>& args);

}  // namespace sluice::app
