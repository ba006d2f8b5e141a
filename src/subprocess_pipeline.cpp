// src/subprocess_pipeline.cpp -- run_pipeline: `cmd1 | cmd2 | ...` with one poll loop and one deadline.
#include <sluice/subprocess.hpp>

#include <cerrno>
#include <csignal>

#include <fcntl.h>

#include "subprocess_state.hpp"

namespace sluice {

int completed_pipeline::returncode() const noexcept {
  for (auto it = returncodes.rbegin(); it != returncodes.rend(); ++it)
    if (*it != 0) return *it;
  return 0;
}

void completed_pipeline::check_returncode() const {
  for (std::size_t i = returncodes.size(); i-- > 0;)
    if (returncodes[i] != 0) throw called_process_error(returncodes[i], args[i], out, err);
}

namespace {

// Every command gets the same stderr. A file is opened once, so that the commands append to one description
// instead of truncating it in turn; an owned descriptor is shared and closed after the last spawn.
struct shared_err {
  stream s;
  fd opened;
  const stream* owner = nullptr;
};

void kill_all(std::vector<process>& procs) {
  for (auto& p : procs) p.kill();
  for (auto& p : procs) p.wait();
}

}  // namespace

completed_pipeline run_pipeline(std::vector<std::vector<std::string>> commands, options opts) {
  if (commands.empty()) throw std::invalid_argument("sluice::run_pipeline: no commands");
  for (auto& c : commands) detail::validate_common(c, opts);
  const std::size_t n = commands.size();
  std::optional<std::string> input = std::move(opts.input);
  // As in run(): a stdin pipe that nobody feeds is closed at once, so the first command sees end of file.
  if (!input && opts.in.is(redirect::pipe)) input.emplace();
  const bool capture_out = opts.capture_output || opts.out.is(redirect::pipe);
  const bool capture_err = opts.capture_output || opts.err.is(redirect::pipe);
  auto deadline = detail::deadline_from(opts.timeout);
  const detail::os::clock::time_point* dl = deadline ? &*deadline : nullptr;

  pipe_reader err_reader;
  shared_err err;
  if (capture_err) {
    int p[2];
    if (detail::os::make_pipe(p) != 0) throw std::system_error(errno, std::generic_category(), "sluice: pipe");
    err_reader = pipe_reader(fd(p[0]));
    err.opened = fd(p[1]);
    err.s = stream(err.opened.get());
  } else if (opts.err.type() == stream::kind::file || opts.err.type() == stream::kind::append_file) {
    int flags = O_WRONLY | O_CREAT | (opts.err.type() == stream::kind::append_file ? O_APPEND : O_TRUNC);
    int f = detail::os::open_cloexec(opts.err.path().c_str(), flags);
    if (f < 0)
      throw spawn_error(std::error_code(errno, std::generic_category()), opts.err.path().string(),
                        "sluice: cannot open '" + opts.err.path().string() + "'");
    err.opened = fd(f);
    err.s = stream(f);
  } else if (opts.err.type() == stream::kind::owned_fd) {
    err.s = stream(opts.err.parent_descriptor());
    err.owner = &opts.err;
  } else {
    err.s = opts.err;
  }

  std::vector<process> procs;
  procs.reserve(n);
  {
    struct release_on_exit {
      shared_err& e;
      ~release_on_exit() {
        e.opened.close();
        if (e.owner) e.owner->release_owned();
      }
    } release{err};
    for (std::size_t i = 0; i < n; ++i) {
      options o;
      if (i == 0)
        o.in = input ? stream(redirect::pipe) : opts.in;
      else
        o.in = stream(procs.back().out().take());
      if (i + 1 < n)
        o.out = redirect::pipe;
      else
        o.out = capture_out ? stream(redirect::pipe) : opts.out;
      o.err = err.s;
      o.shell = opts.shell;
      o.cwd = opts.cwd;
      o.env = opts.env;
      o.executable = opts.executable;
      o.close_fds = opts.close_fds;
      o.pass_fds = opts.pass_fds;
      o.restore_signals = opts.restore_signals;
      o.start_new_session = opts.start_new_session;
      o.process_group = opts.process_group;
      // As a shell does: process_group = 0 makes the first command a group leader and the rest join its group,
      // so the whole pipeline can be signalled at once. The leader exists already: the spawn of the first
      // returned only after its exec, and setpgid comes before that.
      if (i > 0 && opts.process_group == 0) o.process_group = procs.front().pid();
      o.umask = opts.umask;
      o.niceness = opts.niceness;
      procs.emplace_back(commands[i], std::move(o));  // on failure, procs' destructors kill and reap the rest
    }
  }

  completed_pipeline result;
  std::size_t written = 0;
  const std::string no_input;
  detail::process_state::pump_reader readers[2];
  std::size_t nr = 0;
  if (capture_out) readers[nr++] = {&procs.back().out(), &result.out};
  if (capture_err) readers[nr++] = {&err_reader, &result.err};
  pipe_writer* in = input ? &procs.front().in() : nullptr;
  if (!detail::process_state::pump(in, input ? *input : no_input, written, readers, nr, dl, nullptr)) {
    kill_all(procs);
    throw timeout_expired(commands.back(), *opts.timeout, std::move(result.out), std::move(result.err));
  }
  for (auto& p : procs) {
    // Against the one deadline of the whole call (process::wait would start a new one from a timeout).
    while (!p.poll()) {
      if (!detail::os::wait_exit(p.pid(), p.pidfd(), dl) && !p.poll()) {
        kill_all(procs);
        throw timeout_expired(commands.back(), *opts.timeout, std::move(result.out), std::move(result.err));
      }
    }
    result.returncodes.push_back(*p.returncode());
  }
  result.args = std::move(commands);
  if (opts.check) result.check_returncode();
  return result;
}

}  // namespace sluice
