// Remote hosts over ssh (-S): the hosts of a run, their slots, their multiplexed connections, and the
// commands that run a job there. Runs on the job loop's thread (see job_loop.hpp).
//
// The remote side needs only POSIX sh: a job is sent as `exec sh -c WRAPPER sluice COMMAND`; the wrapper
// starts the command as its own process group (setsid, or `set -m` where setsid is missing) and watches its
// stdin, which the runner holds open for the job's whole life. When the connection drops (the runner
// killed, even with SIGKILL, a job's ssh killed by --timeout or Ctrl-C, the network gone) stdin ends and
// the wrapper kills the job's group. ssh-like commands are multiplexed (ControlMaster, one master per 8
// slots of a host so that sshd's MaxSessions 10 holds) and their logins paced (at most 8 at once, and
// --sshdelay apart) so that sshd's MaxStartups is not hit. A host whose connection fails mid-run is probed
// with a fresh login; one that does not answer is taken out and the jobs it had are run again elsewhere.
#pragma once
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sluice/aio.hpp>

#include "config.hpp"
#include "sshlogin.hpp"

namespace sluice::app {

// Checks the remote options once the command line is read (malformed sshlogins, unreadable
// --sshloginfile, --nonall's lack of input): throws usage_error, so nothing has started yet.
void check_remote_options(config& cfg);

// --workdir for a remote job: "" (the login directory), "..." a fresh .parallel/tmp/sluice-PID-SEQ per job,
// "." this directory (relative to the home directory when inside it), else the name as given.
std::string remote_workdir(const config& cfg, std::size_t seq);

// rsync's options for transfers, as shell words: --rsync-opts, else $PARALLEL_RSYNC_OPTS, else -rlDR (GNU's
// -rlDzR without compression; -R keeps the paths relative, which the transfers rely on).
std::string rsync_options(const config& cfg);

// Starts argv with all three standard streams on /dev/null (an ssh master, or its "-O exit").
aio::task<aio::process> spawn_quiet(std::vector<std::string> argv);
// A helper command run on this machine (an ssh login or probe, a transfer): stdin from /dev/null, stderr
// captured, stdout captured or discarded. With a limit, it is killed when the limit passes (expired, returncode
// -1). A failed spawn throws, as aio::create_subprocess_exec does.
struct helper_result {
  int returncode = -1;
  bool expired = false;
  std::string out, err;
};
aio::task<helper_result> run_helper(std::vector<std::string> argv, bool keep_out, std::optional<double> limit = {});
// run_helper for `/bin/sh -c command`.
aio::task<helper_result> run_helper_shell(std::string command);

struct remote_host {
  sshlogin login;
  std::size_t slots = 0;
  std::vector<bool> busy;  // per slot of this host
  std::size_t used = 0;
  bool alive = true;
  bool probing = false;
  bool retired = false;  // removed from its --sshloginfile: no new jobs
  bool has_rsync = false;
  std::size_t masters = 0;  // multiplexing masters (ControlPath <dir>/h<host>-<k>)
};

class remote_hosts {
 public:
  explicit remote_hosts(const config& cfg);  // reads the sshlogins; throws usage_error
  remote_hosts(const remote_hosts&) = delete;
  remote_hosts& operator=(const remote_hosts&) = delete;
  ~remote_hosts();  // removes the control directory (masters end by themselves, ControlPersist)

  // Logs in to every host (paced), asks the CPU count where -j needs it, starts the masters. An
  // unreachable host is reported once with ssh's message and left out. Returns the total of slots.
  aio::task<std::size_t> connect();
  // Ends the file watch and the multiplexing masters (ssh -O exit).
  aio::task<void> close();
  // Re-reads the --sshloginfile files (and -S ..) once a second while running, as GNU does: a host added
  // there is logged in to and used, a host removed gets no new jobs (its running ones finish). Calls
  // `changed` after each change of the slots. Does nothing without such files.
  void watch_files(std::function<void()> changed);

  std::size_t size() const noexcept { return hosts_.size(); }
  const remote_host& host(std::size_t h) const { return hosts_[h]; }
  std::size_t alive_slots() const noexcept;
  std::size_t alive_count() const noexcept;

  // A free slot: on `pinned` when given, else on the alive host (in one of `groups`, if any are given) with
  // the most free slots. nullopt if none.
  std::optional<std::pair<std::size_t, std::size_t>> acquire(std::optional<std::size_t> pinned = std::nullopt,
                                                             const std::vector<std::string>& groups = {});

  // --hostgroups: is host h in one of `groups` (any host when empty)? Is g the group of some host? Every
  // group of the hosts; a free slot, or an alive host at all, in one of `groups`.
  bool in_groups(std::size_t h, const std::vector<std::string>& groups) const;
  bool known_group(const std::string& g) const;
  std::vector<std::string> all_groups() const;
  bool has_free(const std::vector<std::string>& groups) const;
  bool any_alive(const std::vector<std::string>& groups) const;
  // A host named while running (GNU: an argument's group that no sshlogin has is logged in to as a host).
  aio::task<void> add(sshlogin login);
  void release(std::size_t h, std::size_t slot);

  // The local argv that runs `command` (a shell command line) on host h in slot `slot`, with `exports`
  // (NAME=value pairs) set there, in the --workdir. With `block` (--pipe), the job's stdin there is the
  // first that many bytes the runner writes to the ssh's stdin (which then stays open, as always).
  std::vector<std::string> job_argv(std::size_t h, std::size_t slot, const std::string& command,
                                    const std::vector<std::pair<std::string, std::string>>& exports,
                                    const std::string& workdir,
                                    std::optional<std::size_t> block = std::nullopt) const;
  // The ssh command (with its options and the destination) for host h, slot's master; for transfers.
  std::vector<std::string> ssh_argv(std::size_t h, std::size_t slot, bool fresh_login = false) const;

  // After a job on h ended with ssh's 255: is h gone? A fresh login tells (once at a time per host); a
  // host that fails it is marked dead, reported once, and true is returned.
  aio::task<bool> lost(std::size_t h);

 private:
  aio::task<void> open(std::size_t h);
  aio::task<void> login_turn();
  aio::task<void> send_basefiles(std::size_t h);
  aio::task<void> watch(std::function<void()> changed);
  void reread(std::vector<sshlogin>& added);  // --sshdelay and the cap on logins at once
  bool ssh_like(const remote_host& h) const;
  std::vector<std::string> words(const remote_host& h) const;

  const config& cfg_;
  std::deque<remote_host> hosts_;  // a deque: hosts added while running leave references to others valid
  std::vector<std::pair<std::string, long long>> watched_;  // --sshloginfile paths and their last mtimes
  aio::handle<void> watcher_;
  std::string control_dir_;
  aio::semaphore logins_{8};
  double next_login_ = 0;  // steady seconds before which no login starts (--sshdelay)
  aio::event probed_;
};

}  // namespace sluice::app
