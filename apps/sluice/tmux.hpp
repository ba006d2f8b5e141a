// --tmux / --tmuxpane: each job runs in a window (or a pane of the first window) of a tmux session of the run's
// own, on a socket of its own; the user attaches to watch. The job's local process is a small shell that opens
// the window and waits on a named pipe for the status the window's shell writes there when the command ends.
#pragma once
#include <string>
#include <vector>

#include "config.hpp"

namespace sluice::app {

struct tmux_session {
  std::string program;  // $PARALLEL_TMUX, else tmux
  std::string socket;   // a fresh name in $TMPDIR
  std::string name;     // p<our pid>
  bool panes = false;   // --tmuxpane
};

// The session for this run: checks that the program is in $PATH and that the socket's name suits tmux (throws
// usage_error in GNU's words otherwise).
tmux_session make_tmux_session();

// The line telling the user how to watch ("See output with: tmux -S SOCKET attach").
std::string tmux_attach_hint(const tmux_session& s);

// The argv of the local process that runs `command` with `shell` in a new window and exits with its status;
// `status_fifo` is a fresh path the process makes and removes.
std::vector<std::string> tmux_job_argv(const tmux_session& s, const std::string& shell, const std::string& command,
                                       const std::string& status_fifo);

// --fg: `tmux -S SOCKET attach` in the foreground once the session's socket exists (started once, not waited for).
std::vector<std::string> tmux_attach_argv(const tmux_session& s);

}  // namespace sluice::app
