// apps/sluice/remote_login.cpp -- remote hosts over ssh (see remote.hpp): logging in to a host (its CPU count,
// rsync, the multiplexing masters, paced), the ssh command lines of its jobs, the helper commands run here,
// closing the masters, and the probe that tells a dead host.
#include "remote.hpp"

#include <sluice/subprocess.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

// Runs on the remote host under any POSIX sh (dash, busybox ash): the job as its own process group, killed
// when stdin (held open by the runner) ends. The job itself reads /dev/null, or with --pipe ($2 = the block's
// size) the block: the first $2 bytes of stdin, kept in a temp file (head -c: coreutils, busybox) that is its
// stdin, or with $3 = cat (--cat) that file itself, or with $3 = fifo (--fifo) a named pipe the file is copied
// into while the job runs; either is named by $PARALLEL_TMP (which {} stands for) and removed after the job.
// (A --fifo job that never opens its pipe ends anyway: the copy is killed with the job's end.)
// With $2 = "-" (--round-robin, --tee, --shard) the job reads a stream of blocks, each sent as its size on a
// line and then its bytes, "0" ending the stream; each is copied whole to a temp file first, so that a job that
// stops reading never leaves part of one unread (the rest are dropped), and the liveness watch starts after "0".
// The stream goes through a named pipe: the job's stdin, or with $3 = fifo $PARALLEL_TMP; with $3 = cat it is
// all written to the file $PARALLEL_TMP before the job starts.
constexpr const char* k_remote_wrapper =
    "exec 3<&0 </dev/null\n"
    "f= in=/dev/null\n"
    "if [ \"$2\" = - ]; then\n"
    "  f=${TMPDIR:-/tmp}/sluice-block.$$\n"
    "  if [ \"$3\" = cat ]; then\n"
    "    { trap '' PIPE\n"
    "      while read -r n && [ \"$n\" -gt 0 ]; do head -c \"$n\" >\"$f.b\" && cat \"$f.b\"; done >\"$f\"; } <&3 2>/dev/null\n"
    "  else\n"
    "    rm -f \"$f\"; mkfifo -m 600 \"$f\" || exit 255\n"
    "  fi\n"
    "  case $3 in cat|fifo) PARALLEL_TMP=$f; export PARALLEL_TMP ;; *) in=$f ;; esac\n"
    "elif [ -n \"$2\" ]; then\n"
    "  f=${TMPDIR:-/tmp}/sluice-block.$$\n"
    "  head -c \"$2\" <&3 >\"$f\" && [ $(($(wc -c <\"$f\"))) -eq \"$2\" ] || { rm -f \"$f\"; exit 255; }\n"
    "  case $3 in\n"
    "    cat) PARALLEL_TMP=$f; export PARALLEL_TMP ;;\n"
    "    fifo) PARALLEL_TMP=$f.fifo; export PARALLEL_TMP\n"
    "      rm -f \"$PARALLEL_TMP\"; mkfifo -m 600 \"$PARALLEL_TMP\" || { rm -f \"$f\"; exit 255; } ;;\n"
    "    *) in=$f ;;\n"
    "  esac\n"
    "fi\n"
    "if command -v setsid >/dev/null 2>&1; then setsid sh -c \"$1\" <\"$in\" & else set -m; sh -c \"$1\" <\"$in\" & fi\n"
    "p=$!\n"
    "if [ \"$2\" = - ] && [ \"$3\" != cat ]; then\n"
    "  { trap '' PIPE\n"
    "    while read -r n && [ \"$n\" -gt 0 ]; do head -c \"$n\" >\"$f.b\" && cat \"$f.b\"; done >\"$f\"\n"
    "    while read -r _; do :; done; kill -TERM -$p; sleep 1; kill -KILL -$p; } <&3 2>/dev/null &\n"
    "else\n"
    "  { while read -r _; do :; done; kill -TERM -$p; sleep 1; kill -KILL -$p; } <&3 >/dev/null 2>&1 &\n"
    "fi\n"
    "w=$!\n"
    "exec 3<&-\n"
    "q=\n"
    "if [ \"$3\" = fifo ] && [ \"$2\" != - ]; then cat \"$f\" >\"$PARALLEL_TMP\" & q=$!; fi\n"
    "wait $p\n"
    "s=$?\n"
    "kill $w $q 2>/dev/null\n"
    "if [ -n \"$f\" ]; then rm -f \"$f\" \"$f.fifo\" \"$f.b\"; fi\n"
    "exit $s";

// What a login asks: the CPU count (for -j N%, +N, -N) and whether rsync is there.
constexpr const char* k_host_query =
    "nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1; "
    "command -v rsync >/dev/null 2>&1 && echo rsync; true";


double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// -j against a host's CPU count, as GNU applies -j to each host.
std::size_t slots_for(const config& cfg, std::size_t cpus) {
  const std::string& v = cfg.jobs_spec;
  double n = 0;
  char* end = nullptr;
  if (!v.empty() && v.back() == '%') {
    n = std::floor(std::strtod(v.c_str(), &end) * static_cast<double>(cpus) / 100.0);
  } else if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    double k = std::strtod(v.c_str() + 1, &end);
    n = v[0] == '+' ? static_cast<double>(cpus) + k : static_cast<double>(cpus) - k;
  } else if (v == "0") {
    // "As many as possible" (also --tee's default): each slot is an ssh session, so a host gets what four
    // multiplexing masters carry rather than the thousands of processes -j0 allows here.
    n = static_cast<double>(4 * k_sessions_per_master);
  } else {
    n = static_cast<double>(cfg.jobs);
  }
  return static_cast<std::size_t>(std::clamp(n, 1.0, 100000.0));
}

}  // namespace

std::vector<std::string> remote_hosts::words(const remote_host& h) const {
  if (!h.login.command.empty()) return h.login.command;
  return split_words(cfg_.ssh_command);
}

bool remote_hosts::ssh_like(const remote_host& h) const {
  if (cfg_.controlmaster) return true;
  auto w = words(h);
  if (w.empty()) return false;
  std::string base = w[0].substr(w[0].rfind('/') == std::string::npos ? 0 : w[0].rfind('/') + 1);
  return base.find("ssh") != std::string::npos && !control_dir_.empty();
}

std::string remote_hosts::master_path(std::size_t h, std::size_t slot) const {
  return control_dir_ + "/h" + std::to_string(h) + "-" + std::to_string(slot / k_sessions_per_master);
}

std::vector<std::string> remote_hosts::ssh_argv(std::size_t hi, std::size_t slot, bool fresh_login) const {
  const remote_host& h = hosts_[hi];
  std::vector<std::string> a = words(h);
  if (ssh_like(h)) {
    if (fresh_login) {
      a.insert(a.end(), {"-o", "ControlPath=none", "-o", "ConnectTimeout=3", "-o", "ServerAliveInterval=1",
                         "-o", "ServerAliveCountMax=3"});
    } else {
      std::string path = master_path(hi, slot);
      // The master's keepalive notices a frozen or unplugged host within about 4 s.
      a.insert(a.end(), {"-o", "ControlMaster=auto", "-o", "ControlPath=" + path, "-o", "ControlPersist=30",
                         "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3"});
    }
  }
  if (!h.login.port.empty()) a.insert(a.end(), {"-p", h.login.port});
  a.push_back(h.login.user.empty() ? h.login.host : h.login.user + "@" + h.login.host);
  return a;
}

std::string remote_hosts::remote_command(const std::string& command,
                                         const std::vector<std::pair<std::string, std::string>>& exports,
                                         const std::string& workdir) {
  std::string inner;
  for (const auto& [k, v] : exports) inner += k + "=" + shell_quote(v) + "; export " + k + "; ";
  if (!workdir.empty()) inner += "mkdir -p " + shell_quote(workdir) + " && cd " + shell_quote(workdir) + " || exit 255; ";
  inner += command;
  return inner;
}

std::vector<std::string> remote_hosts::job_argv(std::size_t h, std::size_t slot, const std::string& command,
                                                const std::vector<std::pair<std::string, std::string>>& exports,
                                                const std::string& workdir,
                                                std::optional<std::size_t> block, block_file as,
                                                bool streamed) const {
  std::string inner = remote_command(command, exports, workdir);
  std::vector<std::string> a = ssh_argv(h, slot);
  const char* mode = as == block_file::cat ? " cat" : as == block_file::fifo ? " fifo" : "";
  std::string size = streamed ? std::string(" -") + mode : block ? " " + std::to_string(*block) + mode : std::string();
  a.push_back("exec sh -c " + shell_quote(k_remote_wrapper) + " sluice " + shell_quote(inner) + size);
  return a;
}

aio::task<void> remote_hosts::login_turn() {
  auto turn = logins_.acquire();
  co_await turn;
  if (cfg_.ssh_delay > 0) {
    double now = steady_now();
    double wait = next_login_ - now;
    next_login_ = std::max(now, next_login_) + cfg_.ssh_delay;
    if (wait > 0) {
      auto pause = aio::sleep(sluice::seconds(wait));
      co_await pause;
    }
  }
}

aio::task<void> remote_hosts::open(std::size_t hi) {
  remote_host& h = hosts_[hi];
  if (h.login.local) {
    unsigned n = std::thread::hardware_concurrency();
    h.slots = slots_for(cfg_, h.login.slots.value_or(n == 0 ? 1 : n));
    co_return;
  }
  std::size_t cpus = h.login.slots.value_or(1);
  // The first login: the host's CPU count and rsync, and master 0.
  {
    auto turn = login_turn();
    co_await turn;
    std::vector<std::string> argv = ssh_argv(hi, 0);
    argv.push_back(k_host_query);
    std::string out, err, failure;
    int rc = -1;
    try {
      auto run = run_helper(std::move(argv), true, 30.0);
      helper_result r = co_await run;
      if (r.expired) failure = "no answer within 30 s";
      rc = r.returncode;
      out = std::move(r.out);
      err = std::move(r.err);
    } catch (const sluice::spawn_error& e) {
      failure = e.what();
    }
    logins_.release();
    if (rc != 0) {
      h.alive = false;
      if (failure.empty()) failure = last_line(err).empty() ? "ssh exited with " + std::to_string(rc) : last_line(err);
      // --filter-hosts: the hosts that are down are named together once all logins are done (connect_hosts).
      if (cfg_.filter_hosts) co_return;
      std::string m = named("sluice: Warning: host " + h.login.name + " is not reachable, left out: " + failure + "\n");
      write_all(2, m.data(), m.size());
      co_return;
    }
    std::istringstream lines(out);
    std::string line;
    bool first = true;
    while (std::getline(lines, line)) {
      if (first && !h.login.slots) cpus = std::max<std::size_t>(1, std::strtoul(line.c_str(), nullptr, 10));
      first = false;
      if (line == "rsync") h.has_rsync = true;
    }
  }
  h.slots = slots_for(cfg_, cpus);
  if (!cfg_.basefiles.empty()) {
    auto sent = send_basefiles(hi);
    co_await sent;
  }
  h.masters = ssh_like(h) ? (h.slots + k_sessions_per_master - 1) / k_sessions_per_master : 0;
  // The further masters, paced like the first, so that no job's session makes a login of its own.
  for (std::size_t k = 1; k < h.masters; ++k) {
    auto turn = login_turn();
    co_await turn;
    std::vector<std::string> argv = ssh_argv(hi, k * k_sessions_per_master);
    argv.push_back("true");
    try {
      // No pipe: the master stays in the background (ControlPersist) holding whatever it was given.
      auto run = spawn_quiet(std::move(argv));
      aio::process p = co_await run;
      auto waited = aio::wait_for(p.wait(), sluice::seconds(30));
      co_await waited;
    } catch (const std::exception&) {
      // A job's own login (ControlMaster=auto) will try again.
    }
    logins_.release();
  }
  if (sessions_wanted_ && h.masters > 0) prestart_sessions(hi);
}

aio::task<aio::process> spawn_quiet(std::vector<std::string> argv) {
  sluice::options o;
  o.in = sluice::redirect::devnull;
  o.out = sluice::redirect::devnull;
  o.err = sluice::redirect::devnull;
  auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
  co_return co_await spawn;
}

aio::task<helper_result> run_helper(std::vector<std::string> argv, bool keep_out, std::optional<double> limit) {
  sluice::options o;
  o.in = sluice::redirect::devnull;
  o.out = keep_out ? sluice::redirect::pipe : sluice::redirect::devnull;
  o.err = sluice::redirect::pipe;
  auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
  aio::process p = co_await spawn;
  helper_result r;
  try {
    std::optional<sluice::seconds> t;
    if (limit) t = sluice::seconds(*limit);
    auto talk = p.communicate(std::string(), t);
    auto [out, err] = co_await talk;
    r.out = std::move(out);
    r.err = std::move(err);
  } catch (const sluice::timeout_expired&) {
    r.expired = true;
    p.send_signal(SIGKILL);
  }
  auto waited = p.wait();
  int rc = co_await waited;
  r.returncode = r.expired ? -1 : rc;
  co_return r;
}

aio::task<helper_result> run_helper_shell(std::string command) {
  auto run = run_helper({"/bin/sh", "-c", std::move(command)}, false);
  co_return co_await run;
}

std::string frame_block(std::string_view block) {
  std::string framed = std::to_string(block.size()) + "\n";
  framed += block;
  return framed;
}

aio::task<std::string> run_here(std::string command) {
  auto run = run_helper_shell(std::move(command));
  helper_result r = co_await run;
  if (r.returncode == 0) co_return std::string();
  co_return r.err.empty() ? "exit status " + std::to_string(r.returncode) : last_line(r.err);
}

aio::task<void> remote_hosts::open_and_tell(std::size_t h) {
  auto opened = open(h);
  co_await opened;
  ++opened_;
  opened_event_.set();
  if (changed_) changed_();
}

aio::task<std::size_t> remote_hosts::connect(bool all, bool sessions, std::function<void()> changed) {
  changed_ = std::move(changed);
  sessions_wanted_ = sessions;
  const std::size_t n = hosts_.size();
  for (std::size_t i = 0; i < n; ++i) opening_.push_back(aio::create_task(open_and_tell(i)));
  // Jobs start on the first host that is up; a slower login holds nobody back.
  while (opened_ < n && (all || alive_slots() == 0)) {
    opened_event_.clear();
    auto w = opened_event_.wait();
    co_await w;
  }
  co_return alive_slots();
}

aio::task<void> remote_hosts::close() {
  if (watcher_.valid()) {
    if (!watcher_.done()) watcher_.cancel();
    try {
      co_await watcher_;
    } catch (const sluice::cancelled_error&) {
    }
  }
  // Logins still under way (a slow or unreachable host) end by themselves (ConnectTimeout, 30 s at most).
  for (auto& o : opening_) {
    try {
      co_await o;
    } catch (const std::exception&) {
    }
  }
  opening_.clear();
  auto ended = close_sessions();
  co_await ended;
  if (cfg_.cleanup && !cfg_.basefiles.empty()) {
    auto removed = remove_basefiles();
    co_await removed;
  }
  std::vector<aio::process> enders;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const remote_host& h = hosts_[i];
    if (h.login.local || !ssh_like(h)) continue;
    for (std::size_t k = 0; k < std::max<std::size_t>(h.masters, 1); ++k) {
      std::string path = control_dir_ + "/h" + std::to_string(i) + "-" + std::to_string(k);
      if (!sluice::can_access(path, sluice::access_mode::exists)) continue;
      std::vector<std::string> argv = words(h);
      argv.insert(argv.end(), {"-o", "ControlPath=" + path, "-O", "exit"});
      argv.push_back(h.login.user.empty() ? h.login.host : h.login.user + "@" + h.login.host);
      try {
        auto run = spawn_quiet(std::move(argv));
        enders.push_back(co_await run);
      } catch (const std::exception&) {
      }
    }
  }
  for (auto& p : enders) {
    try {
      auto waited = aio::wait_for(p.wait(), sluice::seconds(5));
      co_await waited;
    } catch (const std::exception&) {
    }
  }
}

aio::task<bool> remote_hosts::lost(std::size_t hi) {
  remote_host& h = hosts_[hi];
  while (h.probing) {
    probed_.clear();
    auto w = probed_.wait();
    co_await w;
  }
  if (!h.alive) co_return true;
  h.probing = true;
  std::vector<std::string> argv = ssh_argv(hi, 0, true);
  argv.push_back("true");
  std::string why;
  bool answered = false;
  try {
    auto run = run_helper(std::move(argv), false, 8.0);
    helper_result r = co_await run;
    why = r.expired ? "no answer within 8 s" : last_line(r.err);
    answered = !r.expired && r.returncode == 0;
  } catch (const std::exception& e) {
    why = e.what();
  }
  h.probing = false;
  probed_.set();
  if (answered) co_return false;
  h.alive = false;
  // Its sessions go at once (their jobs' answers will never come); the host ends the jobs when they drop.
  for (auto& [key, s] : sessions_)
    if (key.first == hi && s->proc && !s->proc->returncode()) s->proc->kill();
  std::string m = named("sluice: Warning: host " + h.login.name + " stopped answering (" +
                  (why.empty() ? std::string("its connection dropped") : why) +
                  "), left out; its running jobs go to the other hosts\n");
  write_all(2, m.data(), m.size());
  co_return true;
}

}  // namespace sluice::app
