// apps/sluice/remote.cpp -- remote hosts over ssh (see remote.hpp): the host list. The sshlogins read from -S
// and --sshloginfile (and re-read while running), the checks of the remote options, each host's slots and
// --hostgroups. Logging in is remote_login.cpp's, transfers remote_transfer.cpp's.
#include "remote.hpp"

#include <sluice/subprocess.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

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
  std::string m = named("sluice: Warning: " + which + " ignored as there are no remote --sshlogin.\n");
  std::fputs(m.c_str(), stderr);
}

}  // namespace

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
    std::string m = named(std::string("sluice: Warning: --sshloginfile not re-read: ") + e.what() + "\n");
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

}  // namespace sluice::app
