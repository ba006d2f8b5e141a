// Signal names for --term-seq. (SIGINT, SIGTERM and SIGHUP are handled by the job loop, through
// aio::event_loop::add_signal_handler: see runner.cpp.)
#pragma once
#include <string>

namespace sluice::app {

int signal_from_name(const std::string& name);  // "TERM", "SIGTERM", "15" -> 15; 0 when unknown

}  // namespace sluice::app
