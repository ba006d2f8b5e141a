// src/subprocess_state.hpp -- what a sluice::process owns, shared by the subprocess*.cpp files. Not installed.
// Where each part lives: subprocess_fd.cpp (fd, stream), subprocess_environment.cpp (environment, PATH search),
// subprocess_errors.cpp (exceptions, reprs), subprocess_pipes.cpp (pipe_reader/writer), subprocess_reap.cpp
// (wait, reap, signal), subprocess_pump.cpp (the poll loop, communicate; output_prefaulter.hpp),
// subprocess_spawn.cpp (validation, redirections, spawn), subprocess.cpp (process), subprocess_run.cpp (run and
// friends), subprocess_pipeline.cpp (run_pipeline), subprocess_shlex.cpp (shlex).
#pragma once
#include <sluice/subprocess.hpp>

#include <atomic>
#include <climits>
#include <mutex>

#include "posix/platform.hpp"

namespace sluice::detail {

inline constexpr int still_running = INT_MIN;

struct process_state {
  std::vector<std::string> args;
  pid_t pid = -1;
  int pidfd = -1;  // kept until destruction: closing it while another thread polls it could poll a recycled number
  std::mutex reap_mutex;  // reaping and signalling exclude each other, so a signal never reaches a recycled pid
  std::atomic<int> returncode{still_running};

  pipe_writer in;
  pipe_reader out;
  pipe_reader err;
  bool in_piped = false, out_piped = false, err_piped = false;

  // communicate() keeps its progress here so that a call after timeout_expired carries on.
  bool comm_started = false;
  // The caller's input is used in place; only what is still unwritten when a call times out is copied, so
  // that a later call can carry on without the caller's buffer (and 1 GiB of input is never duplicated).
  std::size_t comm_input_size = 0;
  std::size_t comm_written = 0;  // of the whole input
  std::string comm_rest;         // input[comm_written..] after a timeout
  std::string comm_out, comm_err;

  process_state() = default;
  process_state(const process_state&) = delete;
  process_state& operator=(const process_state&) = delete;
  ~process_state();

  bool reap();  // non-blocking; true once the child has been reaped (returncode set)
  int wait(std::optional<seconds> timeout);  // throws timeout_expired
  // The same against a deadline computed once by the caller (nullptr: none); false when it passed first.
  bool wait_until(const os::clock::time_point* deadline);
  std::optional<int> poll() { return reap() ? std::optional<int>(returncode.load()) : std::nullopt; }
  void signal(int sig);
  std::pair<std::string, std::string> communicate(std::string_view input, std::optional<seconds> timeout);

  // The pipe plumbing lives here because process_state is the pipe classes' friend.
  struct pump_reader {
    pipe_reader* reader;
    std::string* sink;
  };
  // One poll loop that writes input[written..] into `in` (closing it when done or on EPIPE) and reads every
  // reader to end of file, until all are closed (true) or the deadline passes (false; progress is kept in the
  // arguments). `watched`, when given, is reaped as soon as its pidfd says it ended.
  static bool pump(pipe_writer* in, std::string_view input, std::size_t& written, pump_reader* readers,
                   std::size_t n, const os::clock::time_point* deadline, process_state* watched);
  // pump's loop; input[written, lend_until) may be lent to the pipe (vmsplice), lent_any says whether some was.
  static bool pump_loop(pipe_writer* in, std::string_view input, std::size_t& written, pump_reader* readers,
                        std::size_t n, const os::clock::time_point* deadline, process_state* watched,
                        std::size_t lend_until, bool& lent_any);
  // Moves data already buffered in r (by readline/read(n)) to the end of sink.
  static void take_buffered(pipe_reader& r, std::string& sink);
};

// Throws std::invalid_argument for everything that is wrong before a child starts.
void validate_common(const std::vector<std::string>& args, const options& o);
// Starts st.args with o's redirections into st (pid, pidfd, pipes); throws spawn_error.
void spawn_into(process_state& st, const options& o);

// Where to look for `program`: itself when it holds a '/', else each directory of the PATH of env (or ours).
std::vector<std::string> exec_candidates(const std::string& program, const std::optional<environment>& env);

std::string repr_cmd(const std::vector<std::string>& cmd);  // Python's repr of a list of str
std::optional<os::clock::time_point> deadline_from(std::optional<seconds> timeout);

}  // namespace sluice::detail
