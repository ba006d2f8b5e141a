// One job from spawn to exit, as a task of the job loop (see job_loop.hpp): its spawn options and variables,
// the process in its own group, its output pumped into spools, its --pipe block, --timeout and --term-seq.
// Before it: job_prepare.cpp; its stdin shared with other jobs (--round-robin, --tee, --shard): job_input.cpp.
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>

#include <sluice/system.hpp>

#include "job_loop.hpp"
#include "slurm.hpp"
#include "text.hpp"

namespace sluice::app {

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

aio::task<void> settle(aio::handle<void> h) {
  if (!h.valid()) co_return;
  if (!h.done()) h.cancel();
  try {
    co_await h;
  } catch (const sluice::cancelled_error&) {
  }
}


namespace {
// A job's variables (PARALLEL_SEQ, PARALLEL_JOBSLOT, PARALLEL_PID) live in the runner's own environment,
// in buffers handed to putenv once and rewritten in place before each spawn, and the child inherits that
// environment. Copying the environment into a map for every job (and that map again inside the spawn) cost
// a fifth of the time per `true` job. Only the loop's thread spawns, so the rewrite never races a spawn;
// the buffers are static because environ keeps pointing at them.
struct env_var {
  const char* name;
  std::size_t name_len;
  char text[64];
};
env_var job_vars[] = {{"PARALLEL_SEQ", 12, {}}, {"PARALLEL_JOBSLOT", 16, {}}, {"PARALLEL_PID", 12, {}}};

void set_job_var(env_var& v, std::size_t value) {
  std::memcpy(v.text, v.name, v.name_len);
  v.text[v.name_len] = '=';
  auto [end, ec] = std::to_chars(v.text + v.name_len + 1, v.text + sizeof v.text - 1, value);
  *end = '\0';
  // Installed again if something (a {= =} block through Perl's %ENV, say) replaced the entry meanwhile.
  if (::getenv(v.name) != v.text + v.name_len + 1) ::putenv(v.text);
}
}  // namespace

void runner::start_group_watcher() {
  // Pure parameter expansion, no forks per line; a group is listed at most once.
  static const char* const script =
      "g=' '\n"
      "while read -r l; do\n"
      "  p=${l#?}\n"
      "  case $l in\n"
      "    +*) g=\"$g$p \" ;;\n"
      "    -*) case $g in *\" $p \"*) g=\"${g%% $p *} ${g#* $p }\" ;; esac ;;\n"
      "  esac\n"
      "done\n"
      "for p in $g; do kill -KILL -\"$p\" 2>/dev/null; done\n";
  sluice::options o;
  o.in = sluice::redirect::pipe;
  o.out = sluice::redirect::devnull;
  o.err = sluice::redirect::devnull;
  o.process_group = 0;  // out of the terminal's reach: a Ctrl-C is the runner's to handle
  try {
    group_watcher_.emplace(std::vector<std::string>{"/bin/sh", "-c", script}, std::move(o));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot start the job watcher: ") + e.what());
  }
}

void runner::watch_group(char op, pid_t pgid) noexcept {
  if (!group_watcher_) return;
  char line[32];
  auto [end, ec] = std::to_chars(line + 1, line + sizeof line - 1, pgid);
  line[0] = op;
  *end++ = '\n';
  try {
    // A line is far below PIPE_BUF and the watcher reads as fast as jobs start: this never blocks for long.
    group_watcher_->in().write(std::string_view(line, static_cast<std::size_t>(end - line)));
  } catch (const std::exception&) {
    // The watcher is gone (killed by hand): the parent-death signal still takes each job's shell.
  }
}

namespace {

std::vector<int>& inherited_descriptors() {
  static std::vector<int> fds;
  return fds;
}

// The inherited descriptors still open and still inheritable (sluice may have closed or adopted one since, as
// `sem --bg`'s copy adopts its slot).
std::vector<int> descriptors_for_jobs() {
  std::vector<int> keep;
  for (int fd : inherited_descriptors()) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) keep.push_back(fd);
  }
  return keep;
}

// The working directory as the shell names it: $PWD when it is this directory (it keeps symlinks), else the
// real path.
std::filesystem::path logical_cwd() {
  std::error_code ec;
  const auto real = std::filesystem::current_path(ec);
  if (const char* pwd = std::getenv("PWD"); pwd != nullptr && pwd[0] == '/' && std::filesystem::equivalent(pwd, real, ec))
    return pwd;
  return real;
}

}  // namespace

void note_inherited_descriptors() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  const int own = ::dirfd(d);
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd <= 2 || fd == own) continue;
    const int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) inherited_descriptors().push_back(static_cast<int>(fd));
  }
  ::closedir(d);
}

sluice::options runner::spawn_options(const job& j) {
  const bool ungroup = cfg_.output == output_mode::ungroup;
  sluice::options opts;
  if (cfg_.pipe && (!cfg_.cat || streamed_cat())) opts.in = sluice::redirect::pipe;
  else if (cfg_.cat) opts.in = sluice::redirect::devnull;
  else if (!cfg_.stdin_file.empty()) opts.in = sluice::stream(sluice::open_file(cfg_.stdin_file));
  else if (cfg_.open_tty && tty_) opts.in = sluice::stream(tty_.get());  // (no terminal: as without -o)
  else if ((first_job_gets_stdin_ && j.args.seq == 1) || cfg_.semaphore) opts.in = sluice::redirect::inherit;
  else opts.in = sluice::redirect::devnull;
  opts.out = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
  opts.err = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
  opts.process_group = 0;  // its own group, so --term-seq and interrupts reach what it started too
  opts.niceness = cfg_.nice;  // --nice: absolute, as GNU's setpriority(0, 0, N)
  if (!j.local_workdir.empty()) opts.cwd = j.local_workdir;
  if (!inherited_descriptors().empty()) opts.pass_fds = descriptors_for_jobs();
  if (group_watcher_) opts.parent_death_signal = SIGKILL;  // see start_group_watcher
  set_job_var(job_vars[0], j.args.seq);
  set_job_var(job_vars[1], j.slot);
  static const auto self = static_cast<std::size_t>(sluice::system::pid());
  set_job_var(job_vars[2], self);
  // A job on this machine sees ":" as its host and sshlogin, as GNU's do (remote jobs get theirs exported).
  static char local_login[] = "PARALLEL_SSHLOGIN=:", local_host[] = "PARALLEL_SSHHOST=:";
  static const bool local_names_set = (::putenv(local_login), ::putenv(local_host), true);
  (void)local_names_set;
  if (!j.cat_file.empty() || j.host || cfg_.process_slot_var || !j.local_workdir.empty()) {  // the job's own copy
    sluice::environment env = sluice::current_environment();
    if (!j.local_workdir.empty()) {
      // --wd: the job sees what `cd DIR` would leave (GNU's jobs cd there): $PWD the directory as named (so
      // `pwd` keeps symlinks: /bin, not /usr/bin), $OLDPWD where sluice runs.
      static const std::filesystem::path here = logical_cwd();
      std::filesystem::path wd(j.local_workdir);
      env["PWD"] = (wd.is_absolute() ? wd : here / wd).lexically_normal().string();
      if (env["PWD"].size() > 1 && env["PWD"].back() == '/') env["PWD"].pop_back();
      env["OLDPWD"] = here.string();
    }
    if (cfg_.process_slot_var) env[*cfg_.process_slot_var] = std::to_string(j.slot - 1);  // GNU: PARALLEL_JOBSLOT - 1
    if (!j.cat_file.empty()) env["PARALLEL_TMP"] = j.cat_file;
    if (j.host) env["PARALLEL_SSHLOGIN"] = j.host_name;  // -S with ":": this machine's jobs say so, as GNU's
    opts.env = std::move(env);
  }
  return opts;
}

// GNU's words when the descriptors allow fewer jobs at once than asked for; said once.
void runner::warn_fd_cap() {
  if (fd_cap_warned_) return;
  fd_cap_warned_ = true;
  std::string n = std::to_string(cfg_.jobs);
  std::string m = named("sluice: Warning: Only enough file handles to run " + n + " jobs in parallel.\n"
                  "sluice: Warning: Try running '" + program_name() + " -j0 -N " + n + " --pipe " + program_name() + " -j0'\n"
                  "sluice: Warning: or increasing 'ulimit -n' (try: ulimit -n `ulimit -Hn`)\n"
                  "sluice: Warning: or increasing 'nofile' in /etc/security/limits.conf\n"
                  "sluice: Warning: or increasing /proc/sys/fs/file-max\n");
  write_all(2, m.data(), m.size());
}

void runner::start(job_args args, unsigned attempt, std::size_t order) {
  last_start_ = clock_type::now();
  // More jobs than descriptors allow at once: said once, when the first job has to wait (-j0) or at the
  // start (-j N asked for more), in GNU's words.
  if (cfg_.jobs_fd_capped && (cfg_.jobs_spec != "0" || args.seq > cfg_.jobs)) warn_fd_cap();
  std::unique_ptr<job> j = prepare(std::move(args), attempt, order);
  if (!j) return;
  if (progress_) {
    std::string shown;
    for (const auto& r : j->args.records)
      for (const auto& v : r) shown += (shown.empty() ? "" : " ") + v;
    progress_->job_started(std::move(shown));
  }
  ++active_;
  aio::create_task(job_task(std::move(j)));
}

// A job from start to end, its retries included.
aio::task<void> runner::job_task(std::unique_ptr<job> j) {
  try {
    for (;;) {
      co_await execute(*j);
      if (!cfg_.debug.empty()) {
        const double took = std::chrono::duration<double>(clock_type::now() - j->start).count();
        const std::string how = j->returncode < 0 ? "signal " + std::to_string(-j->returncode) : "exit " + std::to_string(j->returncode);
        debug_line("run", "job " + std::to_string(j->args.seq) + " attempt " + std::to_string(j->attempt) + ": " + how +
                              (j->timed_out ? " (timed out)" : "") + " after " + std::to_string(took) + " s");
      }
      if (remote_) {
        auto lost = requeue_if_lost(*j);
        if (co_await lost) {  // its host died: the same attempt again, elsewhere
          j = prepare(std::move(j->args), j->attempt, j->order);
          if (!j) break;
          continue;
        }
      }
      if (!finish(*j)) break;
      j = prepare(std::move(j->args), j->attempt + 1, j->order);
    }
  } catch (const std::exception&) {
    // Not the job's failure but ours (a temp file that cannot be written): stop everything, report it at the end.
    if (!fatal_) fatal_ = std::current_exception();
    interrupt();
  }
  --active_;
  changed_.set();
}

std::vector<std::string> runner::tmux_argv(job& j) {
  if (j.status_fifo.empty()) {
    const std::string hint = tmux_attach_hint(*tmux_);
    if (!std::exchange(tmux_hint_shown_, true)) {
      write_all(2, hint.data(), hint.size());
      if (cfg_.fg_given) tmux_attach_.emplace(tmux_attach_argv(*tmux_));
    }
  }
  j.status_fifo = temp_name("tmx");
  const std::string command = cfg_.env_prelude.empty() ? j.cmd.shell_command : cfg_.env_prelude + "\n" + j.cmd.shell_command;
  return tmux_job_argv(*tmux_, job_shell().path, command, j.status_fifo);
}

// Spawns the job, streams its output into its spools, writes its --pipe block, times it out, and waits for
// its exit.
aio::task<void> runner::execute(job& j) {
  const bool ungroup = cfg_.output == output_mode::ungroup;
  j.start_epoch = epoch_now();
  j.start = clock_type::now();
  std::string cannot_start;
  const bool remote = remote_job(j);
  if (remote && use_session(j)) {
    auto run = execute_in_session(j);
    co_await run;
    co_return;
  }
  if (remote) {
    try {
      auto sent = transfer_files(j);
      co_await sent;
      sluice::options opts = spawn_options(j);
      opts.in = sluice::redirect::pipe;  // held open: its end tells the remote side the runner is gone
      auto spawn = aio::create_subprocess_exec(remote_argv(j), std::move(opts));
      aio::process p = co_await spawn;
      j.proc.emplace(std::move(p));
    } catch (const std::exception& e) {
      cannot_start = e.what();
    }
  }
  // Named variables only around co_await (g++ 12, see sluice/aio.hpp).
  if (j.cmd.argv && !remote && !cfg_.slurm && !cfg_.fifo && !streamed_cat() && !tmux_ && cfg_.env_prelude.empty()) {
    try {
      sluice::options opts = spawn_options(j);
      opts.executable = j.cmd.program;
      auto spawn = aio::create_subprocess_exec(*j.cmd.argv, std::move(opts));
      aio::process p = co_await spawn;
      j.proc.emplace(std::move(p));
    } catch (const sluice::spawn_error&) {
      // Let the shell report it, exactly as it would have.
    } catch (const std::exception& e) {
      cannot_start = e.what();
    }
  }
  if (!j.proc && cannot_start.empty() && !remote) {
    try {
      std::vector<std::string> argv{job_shell().path, "-c",
                                    cfg_.env_prelude.empty() ? j.cmd.shell_command : cfg_.env_prelude + "\n" + j.cmd.shell_command};
      if (cfg_.fifo) {
        // As GNU's wrapper: make the fifo, start the command on it, copy stdin (the block) into it, then
        // remove it and leave with the command's status. A command that never opens {} holds the job.
        static const char k_fifo_wrap[] =
            "rm -f \"$1\" && mkfifo -m 600 \"$1\" || exit 255\n"
            "\"$2\" -c \"$3\" \"$1\" &\n"
            "cat > \"$1\"\n"
            "wait $!\n"
            "s=$?\n"
            "rm -f \"$1\"\n"
            "exit $s\n";
        argv = {job_shell().path, "-c", k_fifo_wrap, "sluice", j.cat_file, job_shell().path, j.cmd.shell_command};
      } else if (streamed_cat()) {
        // --cat with --tee / --shard / --bin: the block arrives on stdin while every job runs; the shell
        // writes it to the file, then runs the command on the whole of it, as GNU's --cat wrapper does.
        static const char k_cat_wrap[] =
            "cat > \"$1\" || exit 255\n"
            "\"$2\" -c \"$3\" \"$1\" </dev/null\n";
        argv = {job_shell().path, "-c", k_cat_wrap, "sluice", j.cat_file, job_shell().path, j.cmd.shell_command};
      }
      if (tmux_) argv = tmux_argv(j);
      if (cfg_.slurm) argv = slurm_step_argv(cfg_, std::move(argv));  // one job step each
      sluice::options opts = spawn_options(j);
      auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(opts));
      aio::process p = co_await spawn;
      j.proc.emplace(std::move(p));
    } catch (const std::exception& e) {
      cannot_start = e.what();
    }
  }
  if (!j.proc) {
    if (cfg_.tee || cfg_.shard) {
      ++tee_started_;
      tee_ready_.set();
    }
    // Could not start even the shell (out of processes or descriptors): the job fails with 255.
    std::string msg = named("sluice: cannot start job: " + cannot_start + "\n");
    j.err.append(msg.data(), msg.size());
    j.exited = true;
    j.returncode = 255;
    co_return;
  }
  aio::process& proc = *j.proc;
  watch_group('+', proc.pid());
  running_.push_back(&j);
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_[j.order] = &j;
  if (cfg_.tee || cfg_.shard) {
    // The job's stdin is fed by tee_input, once every job runs.
    tee_writers_.push_back({std::move(proc.in()), j.args.seq, remote});
    ++tee_started_;
    tee_ready_.set();
  } else if (cfg_.pipe && (!cfg_.cat || remote)) {
    // The loop writes the block out in the background as the job reads; a job that stops reading loses the rest.
    j.block_bytes = j.args.block.size();
    aio::stream_writer& in = proc.in();
    if (!j.args.block.empty()) in.write(remote && cfg_.round_robin ? frame_block(j.args.block) : j.args.block);
    if (cfg_.round_robin) {
      ++live_dealers_;
      j.dealt_bytes = std::make_shared<std::atomic<std::size_t>>(0);
      dealers_.push_back(aio::create_task(deal_blocks(std::move(in), remote, j.dealt_bytes)));
    }
    else if (!remote) in.close();  // a remote job's stdin stays open: its end tells the host the runner is gone
    // No retry will need it: free it now (a remote job keeps it, to run again elsewhere if its host dies).
    if (cfg_.retries <= 1 && !remote) std::string().swap(j.args.block);
  }
  aio::handle<void> out_pump, err_pump;
  if (!ungroup) {
    out_pump = aio::create_task(pump(j, proc.out(), j.out, true));
    err_pump = aio::create_task(pump(j, proc.err(), j.err, false));
  }

  if (cfg_.timeout_seconds > 0 || cfg_.timeout_percent > 0) {
    // --timeout N%: the median moves as jobs end (and is unknown until three have), so a running job's limit
    // is looked at again every half second, as GNU's is; a job started early is cut once the median is known.
    const bool moving = cfg_.timeout_seconds <= 0;
    bool expired = false;
    for (bool exited = false; !exited && !expired;) {
      const auto t = timeout_for_job();
      const double ran = std::chrono::duration<double>(clock_type::now() - j.start).count();
      if (t && *t <= ran) {
        expired = true;
        break;
      }
      if (!t && !moving) break;
      const double left = t ? *t - ran : 0.5;
      try {
        auto waited = aio::wait_for(proc.wait(), sluice::seconds(moving ? std::min(left, 0.5) : left));
        co_await waited;
        exited = true;
      } catch (const sluice::timeout_error&) {
        if (!moving) expired = true;
      }
    }
    if (expired && !j.killing) {
      j.timed_out = true;
      begin_kill(j, true);
    }
  }
  auto waited = proc.wait();
  j.returncode = co_await waited;
  j.exited = true;
  auto stop_killer = settle(j.killer);
  co_await stop_killer;
  // No orphans: whatever the job started in its group goes too.
  if (j.killing) kill_now(j);
  watch_group('-', proc.pid());

  if (!ungroup) {
    // Whatever the job wrote before it ended is in the pipes now; take it without waiting for end of file,
    // which a backgrounded grandchild could hold off forever. Unless one does, the pipes hung up before the
    // exit was seen and the readers end as soon as the loop next looks at the descriptors, which a busy loop
    // does once every few turns (16): give them up to twice that many turns, since cancelling a reader costs
    // an exception thrown through its frames (two per job cost more than half of the runner's own time).
    for (int turn = 0; turn < 32 && (!out_pump.done() || !err_pump.done()); ++turn) {
      auto one_turn = aio::sleep(0);
      co_await one_turn;
    }
    auto stop_out = settle(out_pump);
    co_await stop_out;
    auto stop_err = settle(err_pump);
    co_await stop_err;
    drain(j, proc.out(), j.out, true);
    drain(j, proc.err(), j.err, false);
  }
  j.proc.reset();  // closes its pipes now rather than when the job's bookkeeping ends
  if (remote) {
    auto fetched = return_files(j);
    co_await fetched;
  }
}

aio::task<void> runner::pump(job& j, aio::stream_reader& r, spool& s, bool is_out) {
  for (;;) {
    auto read = r.read(1 << 16);
    std::string data = co_await read;
    if (data.empty()) co_return;
    if (is_out) j.received += data.size();
    s.append(data.data(), data.size());
    if (latest_) show_latest(latest_->update(j.args.seq, cfg_.keep_order, j.tag, j.color, data));
    else if (cfg_.output == output_mode::line_buffer) deliver(j, false);
  }
}

void runner::drain(job& j, aio::stream_reader& r, spool& s, bool is_out) {
  for (;;) {
    std::string data = r.read_nowait(1 << 20);
    if (data.empty()) return;
    if (is_out) j.received += data.size();
    s.append(data.data(), data.size());
    if (latest_) show_latest(latest_->update(j.args.seq, cfg_.keep_order, j.tag, j.color, data));
  }
}

// --term-seq: each signal to the job's process group, then its wait, until the job has ended.
void runner::begin_kill(job& j, bool by_us) {
  if (j.killing || j.exited || (!j.proc && !j.in_session)) return;
  j.killing = true;
  j.killed_by_us = by_us;
  j.killer = aio::create_task(term_sequence(j));
}

aio::task<void> runner::term_sequence(job& j) {
  if (j.suspended) {  // --memsuspend stopped it: it must run to see the signals
    j.suspended = false;
    signal_group(j, SIGCONT);
  }
  for (const term_step& st : cfg_.term_seq) {
    if (j.exited) co_return;
    signal_group(j, st.signal);
    auto pause = aio::sleep(sluice::seconds(st.wait_ms / 1000.0));
    co_await pause;
  }
}

void runner::kill_now(job& j) { signal_group(j, SIGKILL); }

void runner::signal_group(job& j, int sig) {
  if (j.in_session) {
    remote_->session_signal(*j.host, j.host_slot, sig);
    return;
  }
  if (!j.proc) return;
  try {
    j.proc->send_signal_to_group(sig);
  } catch (const std::system_error&) {
    // EPERM from a group that turned setuid: nothing more we can do about it.
  }
}

}  // namespace sluice::app
