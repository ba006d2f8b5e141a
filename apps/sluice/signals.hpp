// Signal handling for the job runner: signals become bytes on a self-pipe that the event loop polls, so
// nothing but write(2) runs in a handler. Also signal names for --term-seq.
#pragma once
#include <string>

namespace sluice::app {

int signal_from_name(const std::string& name);  // "TERM", "SIGTERM", "15" -> 15; 0 when unknown

// Installs handlers for SIGINT, SIGTERM, SIGHUP (and ignores SIGPIPE). Returns the read end of the
// self-pipe; each byte read is a signal number.
int install_signal_pipe();

}  // namespace sluice::app
