// The job loop, as coroutines on one sluice::aio loop: a feeder task starts jobs into free slots as the
// input thread hands them over (aio::get on its queue); a task per job spawns it in its own process group,
// streams its stdout/stderr into spools, writes its --pipe block, times it out, runs --term-seq and
// retries it; a forwarding task hands finished output, in order, to the writer thread (aio::put); SIGINT,
// SIGTERM and SIGHUP arrive through add_signal_handler. No thread per job, and no system call of its own.
#pragma once
#include <memory>

#include "config.hpp"

namespace sluice::app {

class sql_worker;

// Runs everything the configuration describes; returns the exit status (GNU parallel's rules).
int run_jobs(config& cfg);
// The job loop fed by an SQL job table's rows instead of the input (sql_queue.hpp).
int run_jobs(config& cfg, sql_worker* sql);

// Notes the descriptors past stderr that sluice was started with (a caller's `3>file`), before sluice opens any
// of its own: local jobs inherit them, as GNU parallel's do.
void note_inherited_descriptors();

}  // namespace sluice::app
