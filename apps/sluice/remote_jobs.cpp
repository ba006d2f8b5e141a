// apps/sluice/remote_jobs.cpp -- the job loop's side of -S (see remote.hpp): a job's host, its remote
// command, transfers before and after it, --onall / --nonall, and the requeue of jobs whose host died.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "job_loop.hpp"
#include "text.hpp"

extern char** environ;

namespace sluice::app {

namespace {

// --env _: every variable of this environment whose name a shell takes, except those named in
// $PARALLEL_HOME/ignored_vars (else ~/.parallel/ignored_vars; what --record-env saw in a clean environment).
const std::vector<std::string>& env_underscore_names() {
  static const std::vector<std::string> names = [] {
    std::string dir;
    if (const char* ph = std::getenv("PARALLEL_HOME"); ph != nullptr && *ph != '\0') {
      dir = ph;
    } else {
      const char* h = std::getenv("HOME");
      dir = std::string(h != nullptr ? h : ".") + "/.parallel";
    }
    std::vector<std::string> ignored;
    std::ifstream f(dir + "/ignored_vars");
    for (std::string line; std::getline(f, line);) ignored.push_back(line);
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view kv(*e);
      std::string name(kv.substr(0, kv.find('=')));
      bool ok = !name.empty() && name != "_" && !(name[0] >= '0' && name[0] <= '9');
      for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
      if (ok && name.rfind("PARALLEL_", 0) != 0 && std::find(ignored.begin(), ignored.end(), name) == ignored.end())
        out.push_back(name);
    }
    return out;
  }();
  return names;
}

// A path as given relative to the remote working directory; absolute ones stay absolute.
std::string workdir_path(const std::string& wd, const std::string& file) {
  if (wd.empty() || (!file.empty() && file[0] == '/')) return file;
  return wd + "/" + file;
}

}  // namespace

// Jobs start as soon as one host is up (the others join as their logins end), except with --onall /
// --nonall, whose jobs belong to every host, and --filter-hosts, which first sorts out the hosts that are down
// (as GNU's does, its warnings then come before any job's output), and --round-robin / --tee, whose jobs
// all start at once, one per slot or argument.
aio::task<bool> runner::connect_hosts() {
  const bool all = cfg_.onall || cfg_.nonall || cfg_.filter_hosts || cfg_.round_robin || cfg_.tee || cfg_.shard;
  auto connect = remote_->connect(all, sessions_wanted(), [this] {
    cfg_.jobs = std::max<std::size_t>(remote_->alive_slots(), 1);
    changed_.set();
  });
  std::size_t slots = co_await connect;
  if (cfg_.filter_hosts) {
    // GNU's words: the hosts left out on one line, in the order they were given.
    std::string removed;
    for (std::size_t h = 0; h < remote_->size(); ++h)
      if (!remote_->host(h).alive) removed += " " + remote_->host(h).login.name;
    if (!removed.empty()) {
      std::string m = named("sluice: Warning: Removed" + removed + ".\n");
      write_all(2, m.data(), m.size());
    }
  }
  if (slots == 0) {
    std::string m = named(cfg_.filter_hosts ? "sluice: Error: Cannot run any jobs.\n"  // GNU's words
                                      : "sluice: no host could be reached; no job was run\n");
    write_all(2, m.data(), m.size());
    final_status_ = 255;
    co_return false;
  }
  if ((cfg_.tee || !cfg_.all_at_once.empty()) && total_known_ && total_ > slots) {
    // Every --tee (--shard, --bin) job must run at once: as the local check (count_jobs) says it, in GNU's words.
    std::string m = named("sluice: " + (cfg_.tee ? std::string("Error: --tee requires --jobs to be higher. Try --jobs 0.")
                                                 : all_at_once_error()) + "\n");
    write_all(2, m.data(), m.size());
    final_status_ = 255;
    co_return false;
  }
  cfg_.jobs = slots;
  // --shard with -S: a job for every slot of every host, as GNU's.
  if (!cfg_.all_at_once.empty() && !cfg_.dry_run) deal_to_every_slot();
  remote_->watch_files();
  co_return true;
}

bool runner::remote_job(const job& j) const {
  return remote_ && j.host && !remote_->host(*j.host).login.local;
}

void runner::assign_host(job& j) {
  auto got = remote_->acquire(pin_, j.args.hostgroups);
  if (!got) return;  // nothing free (a pinned host full): runs as a local job would not; see execute
  j.host = got->first;
  j.host_slot = got->second;
  const remote_host& h = remote_->host(got->first);
  j.host_name = h.login.local ? ":" : h.login.name;
  if ((cfg_.onall || cfg_.nonall) && cfg_.tag && !cfg_.tagstring && cfg_.output != output_mode::ungroup)
    j.tag = h.login.name + "\t";
  j.workdir = h.login.local ? std::string() : remote_workdir(cfg_, j.args.seq);
}

std::vector<std::pair<std::string, std::string>> runner::remote_exports(const job& j) {
  const remote_host& h = remote_->host(*j.host);
  std::vector<std::pair<std::string, std::string>> exports{
      {"PARALLEL_SEQ", std::to_string(j.args.seq)},
      {"PARALLEL_JOBSLOT", std::to_string(j.slot)},
      {"PARALLEL_PID", std::to_string(sluice::system::pid())},
      {"PARALLEL_SSHLOGIN", h.login.name},
      {"PARALLEL_SSHHOST", h.login.host},
  };
  if (cfg_.hostgroups) {
    auto plus = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& g : v) s += (s.empty() ? "" : "+") + g;
      return s;
    };
    exports.emplace_back("PARALLEL_HOSTGROUPS", plus(h.login.groups));
    exports.emplace_back("PARALLEL_ARGHOSTGROUPS",
                         plus(j.args.hostgroups.empty() ? remote_->all_groups() : j.args.hostgroups));
  }
  for (const auto& names : cfg_.env_names) {
    for (const auto& name : split_string(names, ',')) {  // --env A,B names two, as in GNU
      if (name.empty()) continue;
      if (name == "_") {
        for (const auto& n : env_underscore_names())
          if (const char* v = std::getenv(n.c_str())) exports.emplace_back(n, v);
        continue;
      }
      if (const char* v = std::getenv(name.c_str())) exports.emplace_back(name, v);
    }
  }
  return exports;
}

std::vector<std::string> runner::remote_argv(job& j) {
  std::vector<std::pair<std::string, std::string>> exports = remote_exports(j);
  std::optional<std::size_t> block;
  if (cfg_.pipe || cfg_.pipe_part) block = j.args.block.size();
  using as = remote_hosts::block_file;
  return remote_->job_argv(*j.host, j.host_slot, j.cmd.shell_command, exports, j.workdir, block,
                           cfg_.cat ? as::cat : cfg_.fifo ? as::fifo : as::standard_input,
                           cfg_.round_robin || cfg_.tee || cfg_.shard);
}

// The session path takes the common case. A job keeps an ssh of its own (the per-job path) when its
// output streams while it runs (-u, --line-buffer), when it reads stdin (--pipe, --pipe-part), when files
// travel with it (--transferfile, --return, --cleanup, --workdir ...: those transfers would need a further
// session on the slot's master, beyond sshd's MaxSessions), or when SLUICE_SSH_SESSIONS=0.
bool runner::sessions_wanted() const {
  static const bool off = [] {
    const char* v = std::getenv("SLUICE_SSH_SESSIONS");
    return v != nullptr && std::string(v) == "0";
  }();
  return !off && !cfg_.dry_run && cfg_.output == output_mode::group && !cfg_.pipe && !cfg_.pipe_part &&
         cfg_.transfer_files.empty() && cfg_.return_files.empty() && !cfg_.cleanup &&
         !(cfg_.workdir && *cfg_.workdir == "...");
}

bool runner::use_session(const job& j) const { return remote_job(j) && sessions_wanted(); }

// execute() through the slot's session: no local process; kills go through the session (signal_group).
aio::task<void> runner::execute_in_session(job& j) {
  j.in_session = true;
  running_.push_back(&j);
  const std::size_t h = *j.host, slot = j.host_slot;
  std::string command = remote_hosts::remote_command(j.cmd.shell_command, remote_exports(j), j.workdir);
  auto begin = remote_->session_begin(h, slot, std::move(command), j.out, j.err, j.received);
  co_await begin;
  // A kill whose signals all went out while the session was being replaced may have found none to carry them.
  if (j.killing && j.killer.valid() && j.killer.done()) kill_now(j);
  bool answered = false;
  if (auto t = timeout_for_job()) {
    double left = *t - std::chrono::duration<double>(clock_type::now() - j.start).count();
    try {
      auto waited = aio::wait_for(remote_->session_wait(h, slot), sluice::seconds(std::max(left, 0.0)));
      j.returncode = co_await waited;
      answered = true;
    } catch (const sluice::timeout_error&) {
      if (!j.killing) {
        j.timed_out = true;
        begin_kill(j, true);
      }
    }
  }
  if (!answered) {
    auto waited = remote_->session_wait(h, slot);
    j.returncode = co_await waited;
  }
  j.exited = true;
  auto stop_killer = settle(j.killer);
  co_await stop_killer;
  if (j.killing) kill_now(j);  // what is left of its group goes too
}

// Runs a helper command line (a transfer) on this machine; its complaints go to the job's stderr.
aio::task<bool> runner::run_local_shell(job& j, std::string command) {
  auto run = run_helper_shell(std::move(command));
  helper_result r = co_await run;
  j.err.append(r.err.data(), r.err.size());
  co_return r.returncode == 0;
}

aio::task<void> runner::transfer_files(job& j) {
  if (cfg_.transfer_files.empty()) co_return;
  const remote_host& h = remote_->host(*j.host);
  job_numbers nums{j.args.seq, j.slot, total_};
  std::vector<std::string> files;
  for (const auto& t : cfg_.transfer_files) files.push_back(tpl_->expand_plain(t, j.args, nums));
  std::string cmd = send_files_command(cfg_, h.has_rsync, remote_->ssh_argv(*j.host, j.host_slot), files, j.workdir);
  auto run = run_local_shell(j, cmd);
  co_await run;
}

aio::task<void> runner::return_files(job& j) {
  const bool fresh_dir = cfg_.workdir && *cfg_.workdir == "...";
  if (cfg_.return_files.empty() && !cfg_.cleanup && !fresh_dir) co_return;
  const remote_host& h = remote_->host(*j.host);
  if (!h.alive) co_return;
  job_numbers nums{j.args.seq, j.slot, total_};
  std::vector<std::string> back, sent;
  for (const auto& t : cfg_.return_files) back.push_back(tpl_->expand_plain(t, j.args, nums));
  for (const auto& t : cfg_.transfer_files) sent.push_back(tpl_->expand_plain(t, j.args, nums));
  std::vector<std::string> ssh = remote_->ssh_argv(*j.host, j.host_slot);
  std::string dest = ssh.back();
  ssh.pop_back();
  if (!back.empty()) {
    std::string cmd;
    if (h.has_rsync && !find_program("rsync").empty()) {
      cmd = "rsync " + rsync_options(cfg_) + " -e " + shell_quote(quoted_words(ssh)) + " --";
      for (const auto& f : back)
        cmd += " " + shell_quote(dest + ":" + (j.workdir.empty() || f[0] == '/' ? f : j.workdir + "/./" + f));
      cmd += " .";
    } else {
      std::string remote = (j.workdir.empty() ? std::string() : "cd " + shell_quote(j.workdir) + " && ") + "tar cf - -- " + quoted_words(back);
      cmd = quoted_words(ssh) + " " + shell_quote(dest) + " " + shell_quote(remote) + " | tar xf -";
    }
    auto run = run_local_shell(j, cmd);
    co_await run;
  }
  std::string clean;
  if (cfg_.cleanup) {
    std::vector<std::string> gone;
    for (const auto& f : sent) gone.push_back(workdir_path(j.workdir, f));
    for (const auto& f : back) gone.push_back(workdir_path(j.workdir, f));
    if (!gone.empty()) clean = "rm -f -- " + quoted_words(gone);
  }
  if (fresh_dir) clean += std::string(clean.empty() ? "" : "; ") + "rm -rf -- " + shell_quote(j.workdir);
  if (!clean.empty()) {
    auto run = run_local_shell(j, quoted_words(ssh) + " " + shell_quote(dest) + " " + shell_quote(clean));
    co_await run;
  }
}

// --onall: the argument on every host. With -k the output goes host by host, each host's in argument order,
// as GNU's (it runs a parallel per host): the argument k (of total_, read ahead) on host h prints as
// h * total_ + k, and a host that is gone leaves an empty place. (Past 1024 jobs, where the feeder would stop
// at its bound of held outputs before the first host's last one, the order is the arguments'.)
aio::task<void> runner::start_on_all(job_args a) {
  const bool by_host = cfg_.keep_order && total_known_ && cfg_.onall && total_ * remote_->size() < 1024;
  const std::size_t k = by_host ? next_order_++ : 0;
  for (std::size_t h = 0; h < remote_->size(); ++h) {
    for (;;) {
      if (stop_starting_) co_return;
      const remote_host& r = remote_->host(h);
      if (!r.alive || r.retired) {
        if (by_host) {
          held_.emplace(h * total_ + k, output_chunk{});
          flush_ordered();
        }
        break;
      }
      if (r.used < r.slots) {
        pin_ = h;
        start(a, 1, by_host ? h * total_ + k : next_order_++);
        pin_.reset();
        break;
      }
      changed_.clear();
      auto w = changed_.wait();
      co_await w;
    }
  }
}

// An attempt that ended with ssh's 255 on a host that no longer answers: one joblog row for it (that host,
// Exitval 255, Signal 0), its slots freed, and the same attempt run again on a remaining host.
aio::task<bool> runner::requeue_if_lost(job& j) {
  if (!remote_job(j) || j.killed_by_us || j.returncode != 255 || stop_starting_) co_return false;
  if (cfg_.onall || cfg_.nonall) co_return false;  // it belonged to that host
  if (cfg_.round_robin || cfg_.tee || cfg_.shard) co_return false;  // its stream went there, not to be sent again
  auto probe = remote_->lost(*j.host);
  if (!(co_await probe)) co_return false;
  if (remote_->alive_count() == 0) {
    if (!stop_starting_) {
      std::string m = named("sluice: no host is left to run jobs on\n");
      write_all(2, m.data(), m.size());
      final_status_ = 255;
      stop_starting();
    }
    co_return false;  // counted as failed where it ran
  }
  if (!remote_->any_alive(j.args.hostgroups)) co_return false;  // no host of its groups is left
  auto it = std::find(running_.begin(), running_.end(), &j);
  if (it != running_.end()) running_.erase(it);
  release_slot(j.slot);
  remote_->release(*j.host, j.host_slot);
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_.erase(j.order);
  cfg_.jobs = remote_->alive_slots();
  if (joblog_->active()) {
    job_record rec;
    rec.seq = j.args.seq;
    rec.start_time = j.start_epoch;
    rec.runtime = std::chrono::duration<double>(clock_type::now() - j.start).count();
    rec.receive = j.received;
    rec.exitval = 255;
    rec.command = j.cmd.shell_command;
    rec.host = j.host_name;
    joblog_->write(rec);
  }
  // Wait for a free slot on a live host (the feeder starts nothing new meanwhile: this job still counts).
  for (;;) {
    if (stop_starting_) co_return false;
    if (!remote_->any_alive(j.args.hostgroups)) {  // the hosts that were still logging in all failed
      if (!stop_starting_) {
        std::string m = named("sluice: no host is left to run jobs on\n");
        write_all(2, m.data(), m.size());
        final_status_ = 255;
        stop_starting();
      }
      co_return false;
    }
    if (remote_->has_free(j.args.hostgroups)) break;
    changed_.clear();
    auto w = changed_.wait();
    co_await w;
  }
  co_return true;
}

}  // namespace sluice::app

namespace sluice::app {

// --hostgroups: every argument loses its "@grp+grp" (from its first '@'); the job's own groups are those of
// its first argument. Groups no host has are, as GNU's, taken as sshlogins and logged in to.
aio::task<void> runner::take_hostgroups(job_args& a) {
  bool first = true;
  for (auto& rec : a.records) {
    for (auto& v : rec) {
      auto at = v.find('@');
      if (at != std::string::npos && at + 1 < v.size()) {
        std::string groups = v.substr(at + 1);
        v.erase(at);
        if (first)
          for (auto& g : split_string(groups, '+'))
            if (!g.empty()) a.hostgroups.push_back(std::move(g));
      }
      first = false;
    }
  }
  if (a.hostgroups.empty() || !remote_) co_return;
  for (const auto& g : a.hostgroups)
    if (remote_->known_group(g)) co_return;
  std::string names;
  for (const auto& g : a.hostgroups) names += (names.empty() ? "" : " ") + g;
  std::string m = named("sluice: Warning: Adding hostgroups: " + names + "\n");
  write_all(2, m.data(), m.size());
  for (const auto& g : a.hostgroups) {
    try {
      auto added = remote_->add(parse_sshlogin(g));
      co_await added;
    } catch (const usage_error& e) {
      std::string err = named(std::string("sluice: ") + e.what() + "\n");
      write_all(2, err.data(), err.size());
      final_status_ = 255;
      stop_starting();
      co_return;
    }
  }
  cfg_.jobs = std::max<std::size_t>(remote_->alive_slots(), 1);
}

}  // namespace sluice::app
