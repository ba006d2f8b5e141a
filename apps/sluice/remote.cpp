// apps/sluice/remote.cpp -- remote hosts over ssh (see remote.hpp): logging in, slots, the job's remote
// command, transfers, and the dead-host check.
#include "remote.hpp"

#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>


#include "compose.hpp"
#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

// Runs on the remote host under any POSIX sh (dash, busybox ash): the job as its own process group, killed
// when stdin (held open by the runner) ends. The job itself reads /dev/null, or with --pipe ($2 = the block's
// size) the block: the first $2 bytes of stdin, kept in an unlinked temp file (head -c: coreutils, busybox).
constexpr const char* k_remote_wrapper =
    "exec 3<&0 4</dev/null </dev/null\n"
    "if [ -n \"$2\" ]; then\n"
    "  f=${TMPDIR:-/tmp}/sluice-block.$$\n"
    "  head -c \"$2\" <&3 >\"$f\" && [ $(($(wc -c <\"$f\"))) -eq \"$2\" ] && exec 4<\"$f\" || { rm -f \"$f\"; exit 255; }\n"
    "  rm -f \"$f\"\n"
    "fi\n"
    "if command -v setsid >/dev/null 2>&1; then setsid sh -c \"$1\" <&4 & else set -m; sh -c \"$1\" <&4 & fi\n"
    "exec 4<&-\n"
    "p=$!\n"
    "{ while read -r _; do :; done; kill -TERM -$p; sleep 1; kill -KILL -$p; } <&3 >/dev/null 2>&1 &\n"
    "w=$!\n"
    "exec 3<&-\n"
    "wait $p\n"
    "s=$?\n"
    "kill $w 2>/dev/null\n"
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
  } else {
    n = static_cast<double>(cfg.jobs);
  }
  return static_cast<std::size_t>(std::clamp(n, 1.0, 100000.0));
}

std::string read_text_file(const std::string& path) {
  // A file that reads only once (`--slf <(...)`, a fifo) is kept: the logins are read more than once.
  static std::map<std::string, std::string> once;
  if (auto it = once.find(path); it != once.end()) return it->second;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw usage_error("cannot read --sshloginfile '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) once[path] = ss.str();
  return ss.str();
}

long long mtime_of(const std::string& path) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(path, ec);
  return ec ? -1 : static_cast<long long>(t.time_since_epoch().count());
}

std::vector<sshlogin> all_logins(const config& cfg) {
  std::vector<sshlogin> out;
  for (const auto& v : cfg.sshlogins) {
    if (v == "..") {
      for (auto& h : parse_sshloginfile(read_text_file(sshloginfile_path(v)))) out.push_back(std::move(h));
      continue;
    }
    for (auto& h : parse_sshlogin_list(v)) out.push_back(std::move(h));
  }
  for (const auto& f : cfg.sshloginfiles)
    for (auto& h : parse_sshloginfile(read_text_file(sshloginfile_path(f)))) out.push_back(std::move(h));
  // `-S @grp`: only the hosts in one of these groups are used.
  std::vector<std::string> allowed;
  for (const auto& h : out)
    if (h.group_only) allowed.insert(allowed.end(), h.groups.begin(), h.groups.end());
  // The same login twice is one host (GNU merges them too, adding nothing).
  std::vector<sshlogin> uniq;
  for (auto& h : out) {
    if (h.group_only) continue;
    if (!allowed.empty() && std::none_of(h.groups.begin(), h.groups.end(), [&](const std::string& g) {
          return std::find(allowed.begin(), allowed.end(), g) != allowed.end();
        }))
      continue;
    bool dup = false;
    for (auto& u : uniq)
      if (u.name == h.name) dup = true;
    if (!dup) uniq.push_back(std::move(h));
  }
  return uniq;
}

}  // namespace

std::string rsync_options(const config& cfg) {
  if (cfg.rsync_opts) return *cfg.rsync_opts;
  const char* env = std::getenv("PARALLEL_RSYNC_OPTS");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("-rlDR");
}

std::string remote_workdir(const config& cfg, std::size_t seq) {
  if (!cfg.workdir) return {};
  const std::string& w = *cfg.workdir;
  if (w == "...") {  // GNU's name: host-pid-seq
    static const std::string here = [] {
      try {
        return sluice::system::hostname();
      } catch (const std::system_error&) {
        return std::string("localhost");
      }
    }();
    return ".parallel/tmp/" + here + "-" + std::to_string(sluice::system::pid()) + "-" + std::to_string(seq);
  }
  if (w != ".") return w;
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  const char* home = std::getenv("HOME");
  std::string hm = home != nullptr ? home : "";
  if (!hm.empty() && cwd.size() > hm.size() && cwd.compare(0, hm.size(), hm) == 0 && cwd[hm.size()] == '/')
    return cwd.substr(hm.size() + 1);
  return cwd == hm ? std::string() : cwd;
}

namespace {

// File transfers need a remote host; with none (no -S, or only ':') GNU parallel names the first option that
// asked for one, in this order, and runs the jobs here.
void warn_transfers_without_remote_hosts(const config& cfg) {
  if (cfg.transfer_files.empty() && cfg.return_files.empty() && !cfg.cleanup && cfg.basefiles.empty()) return;
  if (!cfg.sshlogins.empty() || !cfg.sshloginfiles.empty()) {
    for (const auto& l : all_logins(cfg))
      if (!l.local) return;
  }
  std::string which = !cfg.transfer_spelling.empty()   ? cfg.transfer_spelling
                      : !cfg.return_files.empty()       ? "--return"
                      : cfg.cleanup && cfg.templates.empty() ? "--cleanup"
                      : !cfg.basefiles.empty()          ? "--basefile"
                                                        : "";
  if (which.empty()) return;
  std::string m = "sluice: Warning: " + which + " ignored as there are no remote --sshlogin.\n";
  std::fputs(m.c_str(), stderr);
}

}  // namespace

std::string local_workdir(const config& cfg, std::size_t seq) {
  std::string wd = remote_workdir(cfg, seq);
  if ((*cfg.workdir == "." || *cfg.workdir == "...") && (wd.empty() || wd.front() != '/')) {
    const char* home = std::getenv("HOME");
    wd = std::string(home != nullptr ? home : "") + "/" + (wd.empty() ? "." : wd);
  }
  return wd;
}

void check_remote_options(config& cfg) {
  // --onall / --nonall without hosts: this machine is the one host (":"), as in GNU parallel.
  if ((cfg.onall || cfg.nonall) && cfg.sshlogins.empty() && cfg.sshloginfiles.empty()) cfg.sshlogins.push_back(":");
  const bool remote = !cfg.sshlogins.empty() || !cfg.sshloginfiles.empty();
  if (remote) {
    auto logins = all_logins(cfg);
    if (logins.empty()) throw usage_error("no sshlogin given (an empty --sshloginfile, or no host in the -S @groups?)");
  }
  warn_transfers_without_remote_hosts(cfg);
  if (cfg.nonall) {
    // The command runs once per host, with no argument.
    cfg.sources.clear();
    cfg.sources.push_back(input_source{input_source::kind::values, {""}, {}, false});
    cfg.max_args = 0;
    cfg.max_replace_args = true;
  }
  if (remote && (cfg.pipe || cfg.pipe_part)) {
    const char* which = cfg.tee ? "--tee" : cfg.round_robin ? "--round-robin" : cfg.cat ? "--cat" : cfg.fifo ? "--fifo" : nullptr;
    if (which != nullptr) throw usage_error(std::string(which) + " with -S is not implemented in sluice");
  }
}

remote_hosts::remote_hosts(const config& cfg) : cfg_(cfg) {
  for (auto& l : all_logins(cfg)) {
    remote_host h;
    h.login = std::move(l);
    hosts_.push_back(std::move(h));
  }
  for (const auto& f : cfg.sshloginfiles) watched_.emplace_back(sshloginfile_path(f), 0);
  for (const auto& v : cfg.sshlogins)
    if (v == "..") watched_.emplace_back(sshloginfile_path(v), 0);
  for (auto& [path, t] : watched_) t = mtime_of(path);
  // A short directory for the control sockets (sun_path holds 108 bytes).
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0' && std::string(t).size() < 40) base = t;
  try {
    control_dir_ = sluice::create_temp_directory(base + "/sluice-ssh.").string();
  } catch (const std::system_error&) {
  }
}

remote_hosts::~remote_hosts() {
  if (!control_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(control_dir_, ec);
  }
}

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
                                                std::optional<std::size_t> block) const {
  std::string inner = remote_command(command, exports, workdir);
  std::vector<std::string> a = ssh_argv(h, slot);
  a.push_back("exec sh -c " + shell_quote(k_remote_wrapper) + " sluice " + shell_quote(inner) +
              (block ? " " + std::to_string(*block) : std::string()));
  return a;
}

std::size_t remote_hosts::alive_slots() const noexcept {
  std::size_t n = 0;
  for (const auto& h : hosts_)
    if (h.alive && !h.retired) n += h.slots;
  return n;
}

std::size_t remote_hosts::alive_count() const noexcept {
  std::size_t n = 0;
  for (const auto& h : hosts_) n += h.alive ? 1 : 0;
  return n;
}

bool remote_hosts::in_groups(std::size_t h, const std::vector<std::string>& groups) const {
  if (groups.empty()) return true;
  for (const auto& g : hosts_[h].login.groups)
    if (std::find(groups.begin(), groups.end(), g) != groups.end()) return true;
  return false;
}

bool remote_hosts::known_group(const std::string& g) const {
  for (const auto& h : hosts_)
    if (std::find(h.login.groups.begin(), h.login.groups.end(), g) != h.login.groups.end()) return true;
  return false;
}

std::vector<std::string> remote_hosts::all_groups() const {
  std::vector<std::string> out;
  for (const auto& h : hosts_)
    for (const auto& g : h.login.groups)
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  return out;
}

bool remote_hosts::has_free(const std::vector<std::string>& groups) const {
  if (!groups.empty() && !any_alive(groups)) return true;  // only dead hosts: it fails there at once (acquire)
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& h = hosts_[i];
    if (h.alive && !h.retired && h.used < h.slots && in_groups(i, groups)) return true;
  }
  return false;
}

bool remote_hosts::any_alive(const std::vector<std::string>& groups) const {
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    if (hosts_[i].alive && !hosts_[i].retired && in_groups(i, groups)) return true;
  return false;
}

aio::task<void> remote_hosts::add(sshlogin login) {
  for (const auto& h : hosts_)
    if (h.login.name == login.name) co_return;
  remote_host h;
  h.login = std::move(login);
  hosts_.push_back(std::move(h));
  auto opened = open(hosts_.size() - 1);
  co_await opened;
}

std::optional<std::pair<std::size_t, std::size_t>> remote_hosts::acquire(std::optional<std::size_t> pinned,
                                                                          const std::vector<std::string>& groups) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (pinned && i != *pinned) continue;
    if (!in_groups(i, groups)) continue;
    const auto& h = hosts_[i];
    if (!h.alive || h.retired || h.used >= h.slots) continue;
    if (!best || h.slots - h.used > hosts_[*best].slots - hosts_[*best].used) best = i;
  }
  if (!best && !pinned && !groups.empty() && !any_alive(groups)) {
    // Its groups have only hosts that are gone: the job goes to one of them and fails with ssh's 255, as
    // GNU's does, rather than waiting for ever.
    for (std::size_t i = 0; i < hosts_.size() && !best; ++i)
      if (in_groups(i, groups)) best = i;
  }
  if (!best) return std::nullopt;
  remote_host& h = hosts_[*best];
  std::size_t s = 0;
  while (s < h.busy.size() && h.busy[s]) ++s;
  if (s == h.busy.size()) h.busy.push_back(false);
  h.busy[s] = true;
  ++h.used;
  return std::make_pair(*best, s);
}

void remote_hosts::release(std::size_t h, std::size_t slot) {
  if (h >= hosts_.size()) return;
  remote_host& r = hosts_[h];
  if (slot < r.busy.size() && r.busy[slot]) {
    r.busy[slot] = false;
    --r.used;
  }
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
      std::string m = "sluice: Warning: host " + h.login.name + " is not reachable, left out: " + failure + "\n";
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

namespace {

// Runs a command line here (a transfer); ssh's or rsync's complaint when it fails, "" when it worked.
aio::task<std::string> run_here(std::string command) {
  auto run = run_helper_shell(std::move(command));
  helper_result r = co_await run;
  if (r.returncode == 0) co_return std::string();
  co_return r.err.empty() ? "exit status " + std::to_string(r.returncode) : last_line(r.err);
}

}  // namespace

std::string quoted_words(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + shell_quote(w);
  return s;
}

std::string send_files_command(const config& cfg, bool rsync, std::vector<std::string> ssh, const std::vector<std::string>& files,
                               const std::string& workdir) {
  std::string dest = ssh.back();
  ssh.pop_back();
  if (rsync && !find_program("rsync").empty()) {
    // The host makes the working directory first: two jobs' rsyncs both creating it would race, one failing
    // with EEXIST. -R keeps the relative path (a "/./" in it cuts what is kept, as GNU's does).
    std::string make_dir =
        workdir.empty() ? std::string() : " --rsync-path=" + shell_quote("mkdir -p " + shell_quote(workdir) + " && rsync");
    return "rsync " + rsync_options(cfg) + make_dir + " -e " + shell_quote(quoted_words(ssh)) + " -- " + quoted_words(files) + " " +
           shell_quote(dest + ":" + (workdir.empty() ? std::string() : workdir + "/"));
  }
  std::string remote = workdir.empty() ? "tar xf -" : "mkdir -p " + shell_quote(workdir) + " && cd " + shell_quote(workdir) + " && tar xf -";
  return "tar cf - -- " + quoted_words(files) + " | " + quoted_words(ssh) + " " + shell_quote(dest) + " " + shell_quote(remote);
}

// --basefile: once per host, before its first job, into the fixed --workdir (the login directory for "...").
aio::task<void> remote_hosts::send_basefiles(std::size_t hi) {
  const remote_host& h = hosts_[hi];
  std::string wd = cfg_.workdir && *cfg_.workdir == "..." ? std::string() : remote_workdir(cfg_, 0);
  std::string cmd = send_files_command(cfg_, h.has_rsync, ssh_argv(hi, 0), cfg_.basefiles, wd);
  auto run = run_here(std::move(cmd));
  std::string failed = co_await run;
  if (!failed.empty()) {
    std::string m = "sluice: Warning: --basefile to " + h.login.name + " failed: " + failed + "\n";
    write_all(2, m.data(), m.size());
  }
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

void remote_hosts::watch_files() {
  if (!watched_.empty()) watcher_ = aio::create_task(watch());
}

// The logins the files name now: new ones are returned in `added`; hosts no longer named are retired and
// hosts named again come back (unless they died).
void remote_hosts::reread(std::vector<sshlogin>& added) {
  std::vector<sshlogin> now;
  try {
    now = all_logins(cfg_);
  } catch (const usage_error& e) {
    std::string m = std::string("sluice: Warning: --sshloginfile not re-read: ") + e.what() + "\n";
    write_all(2, m.data(), m.size());
    return;
  }
  if (now.empty()) return;  // an empty file while being rewritten: keep the hosts
  for (auto& h : hosts_) {
    bool named = false;
    for (const auto& l : now) named = named || l.name == h.login.name;
    h.retired = !named;
  }
  for (auto& l : now) {
    bool known = false;
    for (const auto& h : hosts_) known = known || h.login.name == l.name;
    if (!known) added.push_back(std::move(l));
  }
}

aio::task<void> remote_hosts::watch() {
  for (;;) {
    auto pause = aio::sleep(1.0);
    co_await pause;
    bool differs = false;
    for (auto& [path, t] : watched_) {
      long long m = mtime_of(path);
      if (m != t) differs = true;
      t = m;
    }
    if (!differs) continue;
    std::vector<sshlogin> added;
    reread(added);
    if (changed_) changed_();
    for (auto& l : added) {
      remote_host h;
      h.login = std::move(l);
      hosts_.push_back(std::move(h));
      auto opened = open(hosts_.size() - 1);
      co_await opened;
      if (changed_) changed_();
    }
  }
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
  // --cleanup: the basefiles go too.
  if (cfg_.cleanup && !cfg_.basefiles.empty()) {
    std::string wd = cfg_.workdir && *cfg_.workdir == "..." ? std::string() : remote_workdir(cfg_, 0);
    std::vector<std::string> gone;
    for (const auto& f : cfg_.basefiles) gone.push_back(wd.empty() || f[0] == '/' ? f : wd + "/" + f);
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
      if (!hosts_[i].alive || hosts_[i].login.local) continue;
      std::vector<std::string> ssh = ssh_argv(i, 0);
      auto run = run_here(quoted_words(ssh) + " " + shell_quote("rm -f -- " + quoted_words(gone)));
      co_await run;
    }
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
  std::string m = "sluice: Warning: host " + h.login.name + " stopped answering (" +
                  (why.empty() ? std::string("its connection dropped") : why) +
                  "), left out; its running jobs go to the other hosts\n";
  write_all(2, m.data(), m.size());
  co_return true;
}

}  // namespace sluice::app
