// src/subprocess_spawn.cpp -- from options to a running child: validation, redirections, argv/envp, then posix spawn().
#include <algorithm>
#include <cerrno>
#include <csignal>

#include <fcntl.h>

#include <sluice/detail/deadline.hpp>
#include "subprocess_state.hpp"

extern char** environ;

namespace sluice::detail {

namespace {

void check_no_nul(std::string_view s, const char* what) {
  if (s.find('\0') != std::string_view::npos) throw std::invalid_argument(std::string("sluice: embedded NUL byte in ") + what);
}

// Descriptors the parent holds only for the duration of the spawn.
struct temp_fds {
  std::vector<int> fds;
  const stream* owned[3] = {nullptr, nullptr, nullptr};
  ~temp_fds() {
    for (int f : fds) os::close_fd(f);
    for (auto* s : owned)
      if (s) s->release_owned();
  }
};

[[noreturn]] void throw_errno(int e, const std::string& filename, const std::string& what) {
  throw spawn_error(std::error_code(e, std::generic_category()), filename, what);
}

}  // namespace

void validate_common(const std::vector<std::string>& args, const options& o) {
  if (o.timeout) (void)deadline_after(*o.timeout);  // a negative or NaN timeout throws before anything starts
  if (args.empty()) throw std::invalid_argument("sluice: args must not be empty");
  for (auto& a : args) check_no_nul(a, "an argument");
  if (o.env)
    for (auto& [k, v] : *o.env) {
      check_no_nul(k, "an environment name");
      check_no_nul(v, "an environment value");
      if (k.find('=') != std::string::npos)
        throw std::invalid_argument("sluice: illegal environment variable name '" + k + "'");
    }
  if (o.cwd) check_no_nul(o.cwd->native(), "cwd");
  if (o.executable) check_no_nul(*o.executable, "executable");
  if (o.parent_death_signal && (*o.parent_death_signal <= 0 || *o.parent_death_signal >= NSIG))
    throw std::invalid_argument("sluice: parent_death_signal " + std::to_string(*o.parent_death_signal) +
                                " is not a signal number");
  if (o.in.is(redirect::to_stdout)) throw std::invalid_argument("sluice: redirect::to_stdout is only valid for err");
  if (o.out.is(redirect::to_stdout)) throw std::invalid_argument("sluice: redirect::to_stdout is only valid for err");
  if (o.capture_output && (!o.out.is_inherit() || !o.err.is_inherit()))
    throw std::invalid_argument("sluice: capture_output may not be used with out or err");
  if (o.input && !o.in.is_inherit()) throw std::invalid_argument("sluice: input and in may not both be used");
  for (int f : o.pass_fds)
    if (f < 0) throw std::invalid_argument("sluice: pass_fds holds a negative descriptor");
}

void spawn_into(process_state& st, const options& o) {
  const auto& args = st.args;
  // argv and the program, as CPython's Popen._execute_child computes them.
  std::vector<std::string> argv;
  std::string program;
  if (o.shell) {
    argv = {"/bin/sh", "-c"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (o.executable) argv[0] = *o.executable;
    program = argv[0];
  } else {
    argv = args;
    program = o.executable ? *o.executable : args[0];
  }
  const std::vector<std::string> candidates = exec_candidates(program, o.env);
  std::vector<const char*> cand_ptrs;
  for (auto& c : candidates) cand_ptrs.push_back(c.c_str());
  std::vector<char*> argv_ptrs;
  for (auto& a : argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
  argv_ptrs.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> env_ptrs;
  char* const* envp = environ;
  if (o.env) {
    for (auto& [k, v] : *o.env) env_strings.push_back(k + "=" + v);
    for (auto& e : env_strings) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
    envp = env_ptrs.data();
  }

  temp_fds temps;
  int child_fd[3] = {-1, -1, -1};
  int devnull = -1;
  const stream* streams[3] = {&o.in, &o.out, &o.err};
  // Owned descriptors are closed whatever happens next, also when opening another stream fails.
  for (int i = 0; i < 3; ++i)
    if (streams[i]->type() == stream::kind::owned_fd) temps.owned[i] = streams[i];
  for (int i = 0; i < 3; ++i) {
    const stream& s = *streams[i];
    switch (s.type()) {
      case stream::kind::redirect:
        switch (s.redirection()) {
          case redirect::inherit:
            break;
          case redirect::pipe: {
            int p[2];
            if (os::make_pipe(p) != 0) throw std::system_error(errno, std::generic_category(), "sluice: pipe");
            if (i == 0) {
              child_fd[0] = p[0];
              temps.fds.push_back(p[0]);
              st.in = pipe_writer(fd(p[1]));
              st.in_piped = true;
            } else {
              child_fd[i] = p[1];
              temps.fds.push_back(p[1]);
              (i == 1 ? st.out : st.err) = pipe_reader(fd(p[0]));
              (i == 1 ? st.out_piped : st.err_piped) = true;
            }
            break;
          }
          case redirect::devnull:
            if (devnull < 0) {
              devnull = os::open_cloexec("/dev/null", O_RDWR);
              if (devnull < 0) throw_errno(errno, "/dev/null", "sluice: cannot open /dev/null");
              temps.fds.push_back(devnull);
            }
            child_fd[i] = devnull;
            break;
          case redirect::to_stdout:
            child_fd[2] = child_fd[1] >= 0 ? child_fd[1] : 1;
            break;
        }
        break;
      case stream::kind::parent_fd:
        child_fd[i] = s.parent_descriptor();
        break;
      case stream::kind::owned_fd:
        child_fd[i] = s.parent_descriptor();
        if (child_fd[i] < 0) throw std::invalid_argument("sluice: the fd given as a stream was already closed");
        break;
      case stream::kind::file:
      case stream::kind::append_file: {
        int flags = i == 0 ? O_RDONLY
                           : (O_WRONLY | O_CREAT | (s.type() == stream::kind::append_file ? O_APPEND : O_TRUNC));
        int f = os::open_cloexec(s.path().c_str(), flags);
        if (f < 0) throw_errno(errno, s.path().string(), "sluice: cannot open '" + s.path().string() + "'");
        temps.fds.push_back(f);
        child_fd[i] = f;
        break;
      }
    }
  }

  std::vector<int> pass = o.pass_fds;
  std::sort(pass.begin(), pass.end());
  pass.erase(std::unique(pass.begin(), pass.end()), pass.end());

  os::spawn_request req;
  req.exec_paths = cand_ptrs.data();
  req.n_exec_paths = cand_ptrs.size();
  req.argv = argv_ptrs.data();
  req.envp = envp;
  for (int i = 0; i < 3; ++i) req.std_fds[i] = child_fd[i];
  std::string cwd = o.cwd ? o.cwd->string() : std::string();
  req.cwd = o.cwd ? cwd.c_str() : nullptr;
  req.close_fds = o.close_fds || !pass.empty();
  req.pass_fds = pass.data();
  req.n_pass_fds = pass.size();
  req.restore_signals = o.restore_signals;
  req.new_session = o.start_new_session;
  req.process_group = o.process_group ? *o.process_group : -1;
  req.parent_death_signal = o.parent_death_signal.value_or(0);
  req.umask = o.umask ? static_cast<int>(*o.umask) : -1;
  req.set_niceness = o.niceness.has_value();
  req.niceness = o.niceness.value_or(0);

  os::spawn_result res = os::spawn(req);
  if (res.pid < 0) {
    // The parent's pipe ends go with the exception too: st is discarded by the caller.
    std::string name;
    std::string what;
    switch (res.step) {
      case os::spawn_step::exec:
        name = program;
        what = "sluice: cannot execute '" + program + "'";
        break;
      case os::spawn_step::cwd:
        name = cwd;
        what = "sluice: cannot change to directory '" + cwd + "'";
        break;
      case os::spawn_step::dup:
        what = "sluice: cannot set up the child's descriptors";
        break;
      case os::spawn_step::setsid:
        what = "sluice: setsid failed in the child";
        break;
      case os::spawn_step::setpgid:
        what = "sluice: setpgid failed in the child";
        break;
      case os::spawn_step::pdeathsig:
        what = "sluice: prctl(PR_SET_PDEATHSIG) failed in the child";
        break;
      default:
        what = "sluice: cannot create the child process";
        break;
    }
    throw_errno(res.error, name, what);
  }
  st.pid = res.pid;
  st.pidfd = res.pidfd;
}

}  // namespace sluice::detail
