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
//
// The common case (grouped output, no --pipe, no per-job transfers) does without an ssh per job: each slot of
// a host keeps one long-lived session (remote_session.cpp), a POSIX-sh loop on the host that reads a job,
// starts it in its own group, and answers with its exit status after a random token on stdout and stderr.
#pragma once
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sluice/aio.hpp>

#include "config.hpp"
#include "sshlogin.hpp"

namespace sluice::app {

class spool;

// Slots (sessions) per multiplexing master: below sshd's default MaxSessions (10).
inline constexpr std::size_t k_sessions_per_master = 8;

// Checks the remote options once the command line is read (malformed sshlogins, unreadable
// --sshloginfile, --nonall's lack of input): throws usage_error, so nothing has started yet.
void check_remote_options(config& cfg);

// --workdir for a remote job: "" (the login directory), "..." a fresh .parallel/tmp/sluice-PID-SEQ per job,
// "." this directory (relative to the home directory when inside it), else the name as given.
std::string remote_workdir(const config& cfg, std::size_t seq);
// The same for a job on this machine, where GNU parallel runs it too: "." and "..." are under $HOME.
std::string local_workdir(const config& cfg, std::size_t seq);

// rsync's options for transfers, as shell words: --rsync-opts, else $PARALLEL_RSYNC_OPTS, else -rlDR (GNU's
// -rlDzR without compression; -R keeps the paths relative, which the transfers rely on).
std::string rsync_options(const config& cfg);
// Words shell-quoted and joined by spaces.
std::string quoted_words(const std::vector<std::string>& words);
// The command line that sends files to a host into workdir ("" = the login directory), with rsync when both
// ends have it, else tar over ssh. ssh is the host's ssh argv, its last word the destination.
std::string send_files_command(const config& cfg, bool rsync, std::vector<std::string> ssh, const std::vector<std::string>& files,
                               const std::string& workdir);

// A block as a --round-robin / --tee / --shard remote job takes it (job_argv's streamed): its size on a line,
// then its bytes; end_of_blocks ends the stream (the job's stdin ends there; the connection stays open).
std::string frame_block(std::string_view block);
inline constexpr std::string_view end_of_blocks = "0\n";

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
// Runs a command line here (a transfer): "" when it worked, else the last line of its complaint (ssh's, rsync's).
aio::task<std::string> run_here(std::string command);

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

// A slot's long-lived session (remote_session.cpp): its ssh, the token that ends each answer, and where the
// running job's output goes.
struct slot_session {
  struct stream {
    std::string buf;  // read and not yet handed on (a possible start of the token)
    bool done = false;  // the current job's end marker was seen
    bool eof = false;
    spool* to = nullptr;
  };
  std::optional<aio::process> proc;
  std::string token;
  stream out, err;
  std::size_t* received = nullptr;  // counts the job's stdout bytes (joblog Receive)
  int status = 255;
  bool dead = false;  // its ssh ended: the job's answer will never come
  // The job's shell ended with processes of its group still running: the loop answered with its status and
  // left, and the output until the session's end (those processes closing it) is still the job's.
  bool lingering = false;
  bool starting = false;  // a job is on its way (the session starting): signals wait in `pending`
  std::vector<int> pending;
  aio::event answered;
  aio::handle<void> out_reader, err_reader;
  aio::handle<void> starter;  // a start begun before the slot's first job (prestart_sessions)
  std::exception_ptr failure;  // the output could not be kept (a spool's temp file)
};

class remote_hosts {
 public:
  explicit remote_hosts(const config& cfg);  // reads the sshlogins; throws usage_error
  remote_hosts(const remote_hosts&) = delete;
  remote_hosts& operator=(const remote_hosts&) = delete;
  ~remote_hosts();  // removes the control directory (masters end by themselves, ControlPersist)

  // Logs in to every host at once (paced), asks the CPU count where -j needs it, starts the masters and,
  // with `sessions`, every slot's session as soon as its master is up. An unreachable host is reported once
  // with ssh's message and left out. Returns as soon as one host has slots (with `all`: when every host is
  // done), the total of slots then; the other hosts join as they come, each calling `changed` (0: none
  // could be reached). `changed` is also called for the --sshloginfile changes (watch_files).
  aio::task<std::size_t> connect(bool all, bool sessions, std::function<void()> changed);
  // Ends the file watch, waits for logins still under way, ends the sessions and the multiplexing masters
  // (ssh -O exit).
  aio::task<void> close();
  // Re-reads the --sshloginfile files (and -S ..) once a second while running, as GNU does: a host added
  // there is logged in to and used, a host removed gets no new jobs (its running ones finish). Calls
  // `changed` (connect's) after each change of the slots. Does nothing without such files.
  void watch_files();

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
  // first that many bytes the runner writes to the ssh's stdin (which then stays open, as always); or, `as`
  // cat / fifo (--cat, --fifo), a temp file / named pipe on the host holding them, named by $PARALLEL_TMP.
  // With `streamed` (--round-robin, --tee, --shard) the blocks are those the runner sends framed by
  // frame_block, until end_of_blocks, instead of `block` bytes; as cat, the job starts once all have come.
  enum class block_file { standard_input, cat, fifo };
  std::vector<std::string> job_argv(std::size_t h, std::size_t slot, const std::string& command,
                                    const std::vector<std::pair<std::string, std::string>>& exports,
                                    const std::string& workdir,
                                    std::optional<std::size_t> block = std::nullopt,
                                    block_file as = block_file::standard_input, bool streamed = false) const;
  // The shell command line a job runs on a host: `exports` set, in `workdir` (made when missing), `command`.
  static std::string remote_command(const std::string& command,
                                    const std::vector<std::pair<std::string, std::string>>& exports,
                                    const std::string& workdir);

  // The session path (remote_session.cpp). session_begin sends `command` (from remote_command) to the slot's
  // session, first waiting for the one started with the host (prestart_sessions), or starting one (paced
  // like a login unless the slot's master is up; a failed start is tried once more) when the slot has none,
  // its start failed, or its ssh died (or lingered after a job); the job's stdout and stderr then go to
  // `out` and `err` as they come, its stdout bytes counted in `received`.
  // session_wait gives the exit status (128+N for a signal, as the per-job path's ssh reports it; after a
  // lingering job, once the session has ended), or 255 when the session died first (the host is then checked as after a per-job ssh's 255); it may be
  // cancelled and awaited again. session_signal sends a signal to the job's process group on the host
  // through the session itself (after the job ended: to what is left of its group).
  aio::task<void> session_begin(std::size_t h, std::size_t slot, std::string command, spool& out, spool& err,
                                std::size_t& received);
  aio::task<int> session_wait(std::size_t h, std::size_t slot);
  void session_signal(std::size_t h, std::size_t slot, int sig);

  // The ssh command (with its options and the destination) for host h, slot's master; for transfers.
  std::vector<std::string> ssh_argv(std::size_t h, std::size_t slot, bool fresh_login = false) const;

  // After a job on h ended with ssh's 255: is h gone? A fresh login tells (once at a time per host); a
  // host that fails it is marked dead, reported once, and true is returned.
  aio::task<bool> lost(std::size_t h);

 private:
  aio::task<void> open(std::size_t h);
  aio::task<void> open_and_tell(std::size_t h);  // open, then count it and call changed_
  void prestart_sessions(std::size_t h);  // every slot's session, started now (they wait in sessions_)
  aio::task<void> session_start(std::size_t h, std::size_t slot, slot_session& s);
  aio::task<void> session_read(slot_session& s, bool is_out);
  aio::task<void> drop_session(std::size_t h, std::size_t slot);
  aio::task<void> close_sessions();
  aio::task<void> login_turn();
  aio::task<void> send_basefiles(std::size_t h);  // remote_transfer.cpp, as remove_basefiles
  aio::task<void> remove_basefiles();
  aio::task<void> watch();
  void reread(std::vector<sshlogin>& added);  // --sshdelay and the cap on logins at once
  bool ssh_like(const remote_host& h) const;
  std::string master_path(std::size_t h, std::size_t slot) const;  // the ControlPath of slot's master
  std::vector<std::string> words(const remote_host& h) const;

  const config& cfg_;
  std::deque<remote_host> hosts_;  // a deque: hosts added while running leave references to others valid
  std::vector<std::pair<std::string, long long>> watched_;  // --sshloginfile paths and their last mtimes
  aio::handle<void> watcher_;
  std::function<void()> changed_;
  bool sessions_wanted_ = false;  // the jobs run through slot sessions: start them with the host
  std::vector<aio::handle<void>> opening_;  // connect's logins, one per host
  std::size_t opened_ = 0;
  aio::event opened_event_;
  std::string control_dir_;
  aio::semaphore logins_{8};
  double next_login_ = 0;  // steady seconds before which no login starts (--sshdelay)
  aio::event probed_;
  std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<slot_session>> sessions_;  // by (host, slot)
};

}  // namespace sluice::app
