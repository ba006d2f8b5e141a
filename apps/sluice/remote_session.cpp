// apps/sluice/remote_session.cpp -- a slot's long-lived ssh session (see remote.hpp): one ssh per host and
// slot instead of one per job.
//
// The host runs a POSIX-sh loop (k_session_loop, no Perl; its own stderr, where a shell reports a killed
// background job, goes to /dev/null, the session's stderr being fd 4 there). The runner writes a job as a line "J<n>" and the
// n lines of its command; the loop starts it with setsid (or `set -m`) as its own process group, reading
// /dev/null, its stdout and stderr those of the session, and starts a watcher that reads the session's stdin
// while the job runs: a line there is a signal name for the job's group (--timeout, --term-seq, Ctrl-C,
// --memsuspend), and end of file (the runner gone, the connection dropped) kills the group, as the per-job
// wrapper does. When the job ends the loop stops the watcher and answers: the token and a newline on stderr,
// the token, a space, the exit status and a newline on stdout. The token is 32 random hex digits, so the
// output before it is the job's, byte for byte (binary data, no trailing newline, any size). A signal line
// that arrives after the job ended goes to what is left of its group. When the job's shell ends with
// processes of its group still running (`sleep 3 &`), the loop answers `token status L` and leaves: sshd
// then ends the session when those processes close the output they hold (at once when they hold none), so
// the job is answered when its shell has exited and its output is closed, as with an ssh of its own (and
// GNU parallel); what they print until then is the job's, and they are left running as GNU leaves them. The
// slot's next job gets a fresh session. The loop answers once (status 0) as soon as it starts, which tells
// the runner the session is up.
#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

#include "job_loop.hpp"
#include "output.hpp"
#include "remote.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

constexpr const char* k_session_loop =
    "t=$1\n"
    "exec 3<&0 4>&2 2>/dev/null\n"
    "if command -v setsid >/dev/null 2>&1; then s=setsid; else s=; set -m; fi\n"
    "p=\n"
    "printf '%s\\n' \"$t\" >&4\n"
    "printf '%s 0\\n' \"$t\"\n"
    "while IFS= read -r h; do\n"
    "  case $h in\n"
    "    J*) ;;\n"
    "    *) [ -n \"$p\" ] && kill -\"$h\" -\"$p\" 2>/dev/null; continue ;;\n"
    "  esac\n"
    "  n=${h#J}\n"
    "  c=\n"
    "  while [ \"$n\" -gt 0 ]; do\n"
    "    IFS= read -r l || exit 0\n"
    "    c=\"$c$l\n\"\n"
    "    n=$((n - 1))\n"
    "  done\n"
    "  c=${c%?}\n"
    "  $s sh -c \"$c\" </dev/null 2>&4 3<&- 4>&- &\n"
    "  p=$!\n"
    "  { while IFS= read -r g; do kill -\"$g\" -\"$p\"; done; kill -TERM -\"$p\"; sleep 1; kill -KILL -\"$p\"; } <&3 >/dev/null 2>&1 &\n"
    "  w=$!\n"
    "  wait \"$p\"\n"
    "  r=$?\n"
    "  kill \"$w\" 2>/dev/null\n"
    "  wait \"$w\" 2>/dev/null\n"
    "  printf '%s\\n' \"$t\" >&4\n"
    "  if kill -0 -\"$p\" 2>/dev/null; then printf '%s %d L\\n' \"$t\" \"$r\"; exit 0; fi\n"
    "  printf '%s %d\\n' \"$t\" \"$r\"\n"
    "done\n";

std::string new_token() {
  static std::random_device rd;
  static std::mt19937_64 gen(((std::uint64_t)rd() << 32) ^ rd());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return std::string("SL") + buf;
}

// The name kill(1) knows a signal by (POSIX names; others as their number here).
std::string signal_word(int sig) {
  switch (sig) {
    case SIGHUP: return "HUP";
    case SIGINT: return "INT";
    case SIGQUIT: return "QUIT";
    case SIGKILL: return "KILL";
    case SIGUSR1: return "USR1";
    case SIGUSR2: return "USR2";
    case SIGALRM: return "ALRM";
    case SIGTERM: return "TERM";
    case SIGCONT: return "CONT";
    case SIGSTOP: return "STOP";
    case SIGTSTP: return "TSTP";
    default: return std::to_string(sig);
  }
}

// Hands the first n bytes of the stream's buffer to the running job (none running: dropped).
void hand_on(slot_session& s, slot_session::stream& st, std::size_t n, bool is_out) {
  if (n == 0) return;
  if (st.to != nullptr) {
    st.to->append(st.buf.data(), n);
    if (is_out && s.received != nullptr) *s.received += n;
  }
  st.buf.erase(0, n);
}

// Looks for the end marker in what was read: everything before it is the job's.
void scan(slot_session& s, bool is_out) {
  slot_session::stream& st = is_out ? s.out : s.err;
  if (st.done) {
    if (s.lingering) hand_on(s, st, st.buf.size(), is_out);  // the rest of the session is the job's
    return;
  }
  const std::string& tok = s.token;
  auto at = st.buf.find(tok);
  if (at == std::string::npos) {
    // Keep what could be the token's start; the rest is the job's.
    std::size_t keep = std::min(st.buf.size(), tok.size() - 1);
    hand_on(s, st, st.buf.size() - keep, is_out);
    return;
  }
  hand_on(s, st, at, is_out);
  if (is_out) {
    auto nl = st.buf.find('\n', tok.size());
    if (nl == std::string::npos) return;  // the status is still coming
    int status = 255;
    const char* b = st.buf.data() + tok.size() + 1;
    const char* e = st.buf.data() + nl;
    auto [rest, ec] = std::from_chars(b, e, status);
    s.status = ec == std::errc() ? status : 255;
    s.lingering = std::string_view(rest, static_cast<std::size_t>(e - rest)) == " L";
    st.buf.erase(0, nl + 1);
  } else {
    if (st.buf.size() < tok.size() + 1) return;
    st.buf.erase(0, tok.size() + 1);
  }
  st.done = true;
  // Lingering, the answer is the session's end (session_read), when what the job left has closed the output.
  if (s.lingering) {
    hand_on(s, s.out, s.out.buf.size(), true);
    if (s.err.done) hand_on(s, s.err, s.err.buf.size(), false);
    return;
  }
  if (s.out.done && s.err.done) s.answered.set();
}

void aim(slot_session& s, spool& out, spool& err, std::size_t& received) {
  s.out.to = &out;
  s.err.to = &err;
  s.received = &received;
  s.out.done = s.err.done = false;
  s.status = 255;
  s.answered.clear();
}

}  // namespace

aio::task<void> remote_hosts::session_read(slot_session& s, bool is_out) {
  aio::stream_reader& r = is_out ? s.proc->out() : s.proc->err();
  slot_session::stream& st = is_out ? s.out : s.err;
  try {
    for (;;) {
      auto read = r.read(1 << 16);
      std::string data = co_await read;
      if (data.empty()) break;
      st.buf += data;
      scan(s, is_out);
    }
    // The session ended: what is left (ssh's complaint, say) is the job's.
    hand_on(s, st, st.buf.size(), is_out);
  } catch (const sluice::cancelled_error&) {
    throw;
  } catch (const std::exception&) {
    if (!s.failure) s.failure = std::current_exception();
  }
  st.eof = true;
  if (s.out.eof && s.err.eof) {
    s.dead = true;
    s.answered.set();
  }
}

aio::task<void> remote_hosts::session_start(std::size_t h, std::size_t slot, slot_session& s) {
  // A login's turn (at most 8 at once, --sshdelay apart), unless the slot's master is up: a session through
  // it is a channel of an existing connection, not a login that sshd's MaxStartups counts.
  const std::string master = master_path(h, slot);
  const bool paced = !(ssh_like(hosts_[h]) && cfg_.ssh_delay <= 0 && sluice::can_access(master, sluice::access_mode::exists));
  if (paced) {
    auto turn = login_turn();
    co_await turn;
  }
  std::vector<std::string> argv = ssh_argv(h, slot);
  argv.push_back("exec sh -c " + shell_quote(k_session_loop) + " sluice " + s.token);
  try {
    sluice::options o;
    o.in = sluice::redirect::pipe;
    o.out = sluice::redirect::pipe;
    o.err = sluice::redirect::pipe;
    o.process_group = 0;  // a Ctrl-C at the terminal is the runner's to handle
    auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(o));
    aio::process p = co_await spawn;
    s.proc.emplace(std::move(p));
  } catch (const std::exception& e) {
    if (paced) logins_.release();
    std::string m = named(std::string("sluice: cannot start ssh: ") + e.what() + "\n");
    if (s.err.to != nullptr) s.err.to->append(m.data(), m.size());
    s.dead = true;
    s.answered.set();
    co_return;
  }
  s.out_reader = aio::create_task(session_read(s, true));
  s.err_reader = aio::create_task(session_read(s, false));
  bool up = false;
  try {
    auto ready = aio::wait_for(s.answered.wait(), sluice::seconds(30));
    co_await ready;
    up = true;
  } catch (const sluice::timeout_error&) {
  }
  if (paced) logins_.release();
  if (!up) {
    s.proc->kill();  // no answer within 30 s: as a failed login
    auto gone = s.answered.wait();
    co_await gone;
  }
}

// Right after the host's login: the sessions of its first master's slots start at once (channels of the
// master just made, so no login's turn), and a slot's first job finds its session up or on its way. The
// further slots' sessions start at their first job (a run with few jobs and a large -j would otherwise
// start sessions that no job uses). What a start prints is nobody's; a start that fails leaves a dead
// session, which the slot's first job replaces as usual.
void remote_hosts::prestart_sessions(std::size_t h) {
  for (std::size_t slot = 0; slot < std::min(hosts_[h].slots, k_sessions_per_master); ++slot) {
    const auto key = std::make_pair(h, slot);
    if (sessions_.count(key) != 0) continue;
    auto fresh = std::make_unique<slot_session>();
    slot_session* s = fresh.get();
    sessions_[key] = std::move(fresh);
    s->token = new_token();
    s->answered.clear();
    s->starter = aio::create_task(session_start(h, slot, *s));
  }
}

aio::task<void> remote_hosts::session_begin(std::size_t h, std::size_t slot, std::string command, spool& out,
                                            spool& err, std::size_t& received) {
  const auto key = std::make_pair(h, slot);
  auto it = sessions_.find(key);
  if (it != sessions_.end() && it->second->starter.valid()) {
    // Started with the host: wait for it to be up (or to have failed).
    it->second->starting = true;
    aio::handle<void> started = std::move(it->second->starter);
    it->second->starter = aio::handle<void>();
    try {
      co_await started;
    } catch (const std::exception&) {
      it->second->dead = true;
    }
    it = sessions_.find(key);
  }
  if (it != sessions_.end()) it->second->starting = true;
  if (it != sessions_.end() && it->second->dead) {
    auto dropped = drop_session(h, slot);
    co_await dropped;
    it = sessions_.end();
  }
  slot_session* s = nullptr;
  if (it == sessions_.end()) {
    // What the start says (a login banner, ssh's warnings) is nobody's output; if the start fails twice,
    // ssh's complaint ends the job's stderr and session_wait answers 255. One failed start is tried again
    // (half a second later), since the job has not run yet: a master that gave up on a busy host, say.
    spool said_out, said_err;
    std::size_t said_n = 0;
    std::vector<int> carry;
    for (int attempt = 0;; ++attempt) {
      auto fresh = std::make_unique<slot_session>();
      s = fresh.get();
      sessions_[key] = std::move(fresh);
      s->token = new_token();
      s->starting = true;
      s->pending = std::move(carry);
      aim(*s, said_out, said_err, said_n);
      auto started = session_start(h, slot, *s);
      co_await started;
      if (!s->dead) break;
      if (attempt == 1 || !hosts_[h].alive) {
        std::string text = said_err.read_all();
        err.append(text.data(), text.size());
        s->out.to = &out;
        s->err.to = &err;
        s->received = &received;
        s->starting = false;
        co_return;
      }
      std::vector<int> carried = std::move(s->pending);  // a kill asked for meanwhile still counts
      auto dropped = drop_session(h, slot);
      co_await dropped;
      auto pause = aio::sleep(0.5);
      co_await pause;
      carry = std::move(carried);
    }
  } else {
    s = it->second.get();
  }
  aim(*s, out, err, received);
  s->starting = false;
  std::size_t lines = 1 + static_cast<std::size_t>(std::count(command.begin(), command.end(), '\n'));
  std::string msg = "J" + std::to_string(lines) + "\n" + command + "\n";
  for (int sig : s->pending) msg += signal_word(sig) + "\n";
  s->pending.clear();
  try {
    s->proc->in().write(msg);
  } catch (const std::exception&) {
    // The ssh is gone: its readers see the end and session_wait answers 255.
  }
}

aio::task<int> remote_hosts::session_wait(std::size_t h, std::size_t slot) {
  auto it = sessions_.find(std::make_pair(h, slot));
  if (it == sessions_.end()) co_return 255;
  slot_session& s = *it->second;
  auto answered = s.answered.wait();
  co_await answered;
  int rc = s.dead && !s.lingering ? 255 : s.status;
  s.out.to = s.err.to = nullptr;
  s.received = nullptr;
  s.pending.clear();
  if (s.failure) {
    std::exception_ptr f = s.failure;
    s.failure = nullptr;
    std::rethrow_exception(f);
  }
  co_return rc;
}

void remote_hosts::session_signal(std::size_t h, std::size_t slot, int sig) {
  auto it = sessions_.find(std::make_pair(h, slot));
  if (it == sessions_.end()) return;
  slot_session& s = *it->second;
  if (s.dead) return;
  if (s.lingering) {
    // The loop has left: as for a job with an ssh of its own, the connection is cut.
    if (s.proc && !s.proc->returncode()) s.proc->kill();
    return;
  }
  if (s.starting || !s.proc) {
    s.pending.push_back(sig);  // sent after the job's lines
    return;
  }
  try {
    s.proc->in().write(signal_word(sig) + "\n");
  } catch (const std::exception&) {
  }
}


aio::task<void> remote_hosts::drop_session(std::size_t h, std::size_t slot) {
  auto it = sessions_.find(std::make_pair(h, slot));
  if (it == sessions_.end()) co_return;
  std::unique_ptr<slot_session> s = std::move(it->second);
  sessions_.erase(it);
  if (s->proc && !s->proc->returncode()) s->proc->kill();
  auto r1 = settle(s->out_reader);
  co_await r1;
  auto r2 = settle(s->err_reader);
  co_await r2;
  if (s->proc) {
    try {
      auto waited = aio::wait_for(s->proc->wait(), sluice::seconds(5));
      co_await waited;
    } catch (const std::exception&) {
    }
  }
}

// End of the run: each loop reads end of file and leaves (a job still running is killed by its watcher).
aio::task<void> remote_hosts::close_sessions() {
  // Starts no job has waited for (fewer jobs than slots) end first (30 s at most, as any start).
  for (auto& [key, s] : sessions_) {
    if (!s->starter.valid()) continue;
    aio::handle<void> started = std::move(s->starter);
    s->starter = aio::handle<void>();
    try {
      co_await started;
    } catch (const std::exception&) {
    }
  }
  for (auto& [key, s] : sessions_) {
    if (!s->proc) continue;
    try {
      s->proc->in().close();
    } catch (const std::exception&) {
    }
  }
  // 5 s for all of them together (a frozen host's sessions would otherwise take 5 s each); then killed.
  const double deadline = aio::event_loop::current().time() + 5.0;
  std::vector<std::pair<std::size_t, std::size_t>> keys;
  for (auto& [key, s] : sessions_) keys.push_back(key);
  for (auto& key : keys) {
    auto it = sessions_.find(key);
    if (it == sessions_.end() || !it->second->proc) continue;
    double left = deadline - aio::event_loop::current().time();
    try {
      auto waited = aio::wait_for(it->second->proc->wait(), sluice::seconds(std::max(left, 0.0)));
      co_await waited;
    } catch (const std::exception&) {
    }
    auto dropped = drop_session(key.first, key.second);
    co_await dropped;
  }
  sessions_.clear();
}

}  // namespace sluice::app
