// apps/sluice/remote_transfer.cpp -- remote hosts over ssh (see remote.hpp): the working directory of a
// remote job, the command lines that send files (rsync, else tar over ssh), --basefile sent once per host and
// removed by --cleanup at the end.
#include "remote.hpp"

#include <sluice/system.hpp>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "compose.hpp"
#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

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

std::string local_workdir(const config& cfg, std::size_t seq) {
  std::string wd = remote_workdir(cfg, seq);
  if ((*cfg.workdir == "." || *cfg.workdir == "...") && (wd.empty() || wd.front() != '/')) {
    const char* home = std::getenv("HOME");
    wd = std::string(home != nullptr ? home : "") + "/" + (wd.empty() ? "." : wd);
  }
  return wd;
}

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
    std::string m = named("sluice: Warning: --basefile to " + h.login.name + " failed: " + failed + "\n");
    write_all(2, m.data(), m.size());
  }
}

// --cleanup: the basefiles go from every host still alive at the end.
aio::task<void> remote_hosts::remove_basefiles() {
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

}  // namespace sluice::app
