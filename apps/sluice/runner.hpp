// The scheduler: one event loop (poll over pidfds, job pipes, a signal self-pipe and the input queue's
// wake-up descriptor) that starts jobs into free slots, collects their output, enforces --timeout, --halt,
// --retries and --term-seq, and hands finished output to the writer thread. No thread per job.
#pragma once
#include <memory>

#include "config.hpp"

namespace sluice::app {

// Runs everything the configuration describes; returns the exit status (GNU parallel's rules).
int run_jobs(config& cfg);

}  // namespace sluice::app
