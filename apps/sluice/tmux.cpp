// apps/sluice/tmux.cpp -- Jobs in tmux windows (--tmux, --tmuxpane): the session, the local wrapper, the window.
#include "tmux.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

#include "compose.hpp"
#include "output.hpp"

namespace sluice::app {
namespace {

// The window's name: the command with tabs, line breaks, ';' and the lead bytes of non-ASCII characters
// blanked (tmux mangles them in a name), runs of them squeezed to one blank.
std::string window_title(const std::string& command) {
  std::string title;
  bool blank = false;
  for (unsigned char c : command) {
    const bool mangled = (c >= 0x09 && c <= 0x0e) || c == ';' || (c >= 0xc2 && c <= 0xf5);
    if (mangled && blank) continue;
    title += mangled ? ' ' : static_cast<char>(c);
    blank = mangled;
  }
  return title;
}

// Run by the job shell: $1 tmux, $2 socket, $3 session, $4 window name, $5 status pipe, $6 window command.
// The session may exist already (then new-session fails, quietly); its first window only keeps it up until
// the job's own window opens. The window gets the job's directory and its PARALLEL_* numbers.
constexpr const char k_wrapper[] =
    "rm -f \"$5\" && mkfifo -m 600 \"$5\" || exit 255\n"
    "\"$1\" -S \"$2\" new-session -s \"$3\" -d 'sleep .2' >/dev/null 2>&1\n"
    "\"$1\" -S \"$2\" new-window -t \"$3\" -n \"$4\" -c \"$PWD\" -e \"PARALLEL_SEQ=$PARALLEL_SEQ\" "
    "-e \"PARALLEL_JOBSLOT=$PARALLEL_JOBSLOT\" \"$6\" || { rm -f \"$5\"; exit 255; }\n"
    "read -r s < \"$5\"\n"
    "rm -f \"$5\"\n"
    "exit \"${s:-255}\"\n";

}  // namespace

tmux_session make_tmux_session() {
  tmux_session s;
  const char* program = std::getenv("PARALLEL_TMUX");
  s.program = program != nullptr && *program != '\0' ? program : "tmux";
  if (s.program.find('/') == std::string::npos ? find_program(s.program).empty()
                                                : !sluice::can_access(s.program, sluice::access_mode::execute))
    throw usage_error("Error: " + s.program + " not found in $PATH.");
  s.socket = temp_name("tms");
  if (s.socket.size() >= 100) throw usage_error("Error: tmux does not support sockets with path > 100.");
  s.name = "p" + std::to_string(sluice::system::pid());
  return s;
}

std::string tmux_attach_hint(const tmux_session& s) {
  return "See output with: " + s.program + " -S " + s.socket + " attach\n";
}

std::vector<std::string> tmux_job_argv(const tmux_session& s, const std::string& shell, const std::string& command,
                                       const std::string& status_fifo) {
  const std::string title = window_title(command);
  // The window's shell: (--tmuxpane: move into the first window, tiled), the command, its status to the
  // waiting wrapper, then the command again and when it ended, left on screen for 10 s.
  std::string script;
  if (s.panes)
    script += shlex::quote(s.program) + " joinp -t :0; " + shlex::quote(s.program) + " select-layout -t :0 tiled; ";
  // (The status is written only while the pipe is there: a wrapper that was killed left none to wait on it.)
  const std::string fifo = shlex::quote(status_fifo);
  script += "(" + shlex::quote(shell) + " -c " + shlex::quote(command) + "); s=$?; [ -p " + fifo + " ] && echo $s > " + fifo +
            " & echo " + shlex::quote(title) + "; printf '\\007Job finished at: %s\\n' \"$(date)\"; sleep 10";
  const std::string window_command = shlex::quote(shell) + " -c " + shlex::quote(script);
  return {shell, "-c", k_wrapper, "sluice", s.program, s.socket, s.name, title, status_fifo, window_command};
}

std::vector<std::string> tmux_attach_argv(const tmux_session& s) {
  return {"/bin/sh", "-c", "while [ ! -S \"$2\" ]; do sleep 0.05; done; exec \"$1\" -S \"$2\" attach", "sluice",
          s.program, s.socket};
}

}  // namespace sluice::app
