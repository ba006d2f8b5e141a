// sluice/subprocess.hpp -- Python's subprocess module (CPython 3.12 on Linux) for C++20.
//
// Start child processes, talk to them over pipes, wait for them with timeouts, and pipe them into
// each other. Spawning never copies the parent (clone(CLONE_VM|CLONE_VFORK)); exit is detected through a
// pidfd, never through a pipe closing; every descriptor the library creates is close-on-exec.
//
//   auto r = sluice::run({"echo", "hello"}, {.capture_output = true});
//   // r.returncode == 0, r.out == "hello\n"
//   sluice::process p({"cat"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
//   auto [out, err] = p.communicate("data", std::chrono::seconds(5));  // out == "data"
//
// Thread-safety: the free functions may be called from any number of threads at once; a pipe end meant for
// one child never leaks into a sibling spawned concurrently. One `process` object may be used from several
// threads only for poll(), wait(), returncode(), pid() and send_signal()/terminate()/kill(), which are
// synchronised with each other; communicate() and the pipe objects belong to one thread at a time.
//
// Things you must get right:
//  - Reading out() to end of file while the child blocks writing a full err() pipe deadlocks; use
//    communicate(), which services all three pipes in one poll loop.
//  - A process that is destroyed while its child runs kills (SIGKILL) and reaps that child.
//  - With a pipe to stdin, the child sees end of file only after in().close() (or communicate()).
//  - Without a timeout, run() and communicate() read the pipes to end of file, as Python does: a background
//    grandchild that inherited stdout keeps them waiting until it exits. With a timeout they return on time.
//  - An application that sets SIGCHLD to SIG_IGN gets returncode 0 for every child (the kernel discards the
//    status), as in CPython.
//
// Invalid arguments throw std::invalid_argument before anything starts: empty args; a NUL byte in args, env,
// cwd or executable; '=' in an env name; capture_output with out/err set; input with in set; to_stdout for
// in or out; input, capture_output, timeout or check given to process (they belong to run/run_pipeline).
#pragma once
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <cstdint>
#include <utility>
#include <vector>
#include <sys/types.h>

#include "export.hpp"

namespace sluice {

// Timeouts are seconds as a double; any std::chrono duration converts implicitly (100ms, 2s). One rule for every
// timeout of the library: 0 only looks, negative or NaN throws std::invalid_argument (before anything starts or
// changes), more than ~31 years or infinite means no deadline.
using seconds = std::chrono::duration<double>;

using environment = std::map<std::string, std::string>;
// A copy of the parent's environ at the time of the call (os.environ.copy()). Never throws but bad_alloc.
SLUICE_EXPORT environment current_environment();

// An owned file descriptor: move-only, closed on destruction.
class SLUICE_EXPORT fd {
 public:
  fd() noexcept = default;             // holds nothing (-1)
  explicit fd(int raw) noexcept : fd_(raw) {}  // takes ownership
  fd(fd&& o) noexcept : fd_(o.release()) {}
  fd& operator=(fd&& o) noexcept;
  fd(const fd&) = delete;
  fd& operator=(const fd&) = delete;
  ~fd();                               // closes, ignoring errors
  int get() const noexcept { return fd_; }
  int release() noexcept;              // gives up ownership, returns the raw descriptor
  void close();                        // no-op when empty; never throws (close errors are not retried, as on Linux)
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Blocking I/O on a descriptor the caller holds (stdout, an input file, a temp file), for code that would otherwise
// call read(2)/write(2) itself. EINTR is retried; none of them takes ownership of fd.
//
// write_all: writes every byte, retrying short writes, and waiting (poll) while a non-blocking descriptor is
// full. A reader that is gone gives std::system_error(EPIPE) and never raises SIGPIPE, whatever the
// process's SIGPIPE disposition (the signal is blocked in the calling thread for the call, and a SIGPIPE it
// caused is consumed). Other errors: std::system_error with their errno (ENOSPC, EBADF, ...).
SLUICE_EXPORT void write_all(int fd, std::string_view data);
// The same without exceptions: 0 when everything was written, else the errno that stopped it.
SLUICE_EXPORT int try_write_all(int fd, std::string_view data) noexcept;
// One read of up to n bytes into buf: returns as soon as any are available; 0 at end of file (or n == 0).
// std::system_error on error (EAGAIN included: meant for blocking descriptors).
SLUICE_EXPORT std::size_t read_some(int fd, void* buf, std::size_t n);
// The same at a file offset, leaving the descriptor's own offset alone (pread): for reading back a file
// that is still being written through the same descriptor.
SLUICE_EXPORT std::size_t read_some_at(int fd, void* buf, std::size_t n, std::uint64_t offset);

// Files for that I/O, opened close-on-exec; std::system_error (its errno, the path in what()) when they cannot be.
enum class access_mode { exists, read, write, execute };
// Whether this process may use the file that way now (access(2): the real user's permissions).
SLUICE_EXPORT bool can_access(const std::filesystem::path& file, access_mode how) noexcept;
SLUICE_EXPORT fd open_file(const std::filesystem::path& file);  // for reading
// A new file for writing with these permission bits (less the umask); EEXIST when the name is taken.
SLUICE_EXPORT fd create_new_file(const std::filesystem::path& file, unsigned permissions = 0666);
// A file for writing and reading back that has no name in `directory` (gone when the descriptor is closed).
SLUICE_EXPORT fd create_unnamed_file(const std::filesystem::path& directory);
SLUICE_EXPORT std::uint64_t file_size(int fd);           // of what the descriptor refers to now
// Moves the descriptor's offset back to the start of the file (lseek), so that a child given it reads it whole;
// std::system_error when it cannot (a pipe).
SLUICE_EXPORT void rewind_file(int fd);
SLUICE_EXPORT bool is_terminal(int fd) noexcept;         // isatty
SLUICE_EXPORT std::string terminal_name(int fd);         // ttyname: "/dev/pts/3"; empty when not a terminal
// The process's controlling terminal (/dev/tty), open for reading and writing, close-on-exec; an empty fd when
// the process has none (a daemon, a job under cron or CI).
SLUICE_EXPORT fd open_terminal() noexcept;
// A new directory, mode 0700, named prefix + 6 random characters (mkdtemp); returns its path.
SLUICE_EXPORT std::filesystem::path create_temp_directory(const std::filesystem::path& prefix);

enum class redirect {
  inherit,    // the child shares the parent's stream (Python: None)
  pipe,       // a new pipe; the parent's end is process::in()/out()/err() (Python: PIPE)
  devnull,    // /dev/null (Python: DEVNULL)
  to_stdout,  // only for err: stderr goes wherever stdout goes (Python: STDOUT)
};

// Where one standard stream of the child goes. Copyable; copies of a stream built from an owned fd share it.
// Files are opened (close-on-exec) when the child is spawned; failing to open one throws spawn_error naming it.
// Constructors throw std::invalid_argument for a negative descriptor, an empty sluice::fd or a null file name.
class SLUICE_EXPORT stream {
 public:
  enum class kind { redirect, parent_fd, owned_fd, file, append_file };

  stream(redirect r = redirect::inherit) : redirect_(r) {}
  stream(int parent_fd);                 // this parent descriptor, duplicated into the child; the parent keeps it
  stream(fd owned);                      // moved in; the parent's copy is closed once the child runs or the spawn fails
  stream(std::filesystem::path file);    // in: opened for reading; out/err: created or truncated
  stream(const char* file);              // the same, so that {.out = "log.txt"} works
  stream(const std::string& file);
  static stream append(std::filesystem::path file);  // out/err: created or appended to

  kind type() const noexcept { return kind_; }
  redirect redirection() const noexcept { return redirect_; }  // meaningful when type() == kind::redirect
  int parent_descriptor() const noexcept;                       // parent_fd / owned_fd: the raw descriptor, else -1
  const std::filesystem::path& path() const noexcept { return path_; }
  bool is_inherit() const noexcept { return kind_ == kind::redirect && redirect_ == redirect::inherit; }
  bool is(redirect r) const noexcept { return kind_ == kind::redirect && redirect_ == r; }
  // Closes an owned descriptor now (every copy sees it closed); the library calls it once the child runs.
  void release_owned() const;

 private:
  kind kind_ = kind::redirect;
  redirect redirect_ = redirect::inherit;
  int parent_fd_ = -1;
  std::shared_ptr<fd> owned_;
  std::filesystem::path path_;
};

// Options shared by run() and process. Fields are in the order of Python's run() signature,
// so designated initializers read like Python keyword arguments: {.capture_output = true, .check = true}.
struct SLUICE_EXPORT options {
  stream in{};                              // stdin
  std::optional<std::string> input{};       // run(): bytes written to stdin, which is then closed; needs `in` left as inherit
  stream out{};                             // stdout
  stream err{};                             // stderr
  bool capture_output = false;              // run(): out = err = pipe; combining it with out/err set is an error
  bool shell = false;                       // args[0] is a command line for /bin/sh -c; further args become $0, $1, ...
  std::optional<std::filesystem::path> cwd{};
  std::optional<seconds> timeout{};         // run(): on expiry the child is killed, reaped, and timeout_expired thrown with
                                            // the output read so far -- also when the child exited but a descendant
                                            // still holds its pipe open
  bool check = false;                       // run(): a nonzero exit throws called_process_error
  std::optional<environment> env{};         // replaces the child's whole environment
  std::optional<std::string> executable{};  // the program to run instead of args[0] (args[0] stays argv[0])
  bool close_fds = true;                    // close every other descriptor in the child, except pass_fds
  std::vector<int> pass_fds{};              // stay open in the child, close-on-exec or not (forces close_fds, as Python)
  bool restore_signals = true;              // SIGPIPE, SIGXFSZ back to their defaults in the child
  bool start_new_session = false;           // setsid() in the child
  std::optional<pid_t> process_group{};     // setpgid(0, value) in the child
  std::optional<int> parent_death_signal{};  // Linux PR_SET_PDEATHSIG: the child gets this signal (SIGKILL, SIGTERM,
                                            // ...) when the thread that started it ends -- also when the whole
                                            // parent dies by SIGKILL; if the parent is already gone while the child
                                            // is being set up, the child gets it at once. Only the child itself:
                                            // what it starts is not signalled (a shell's running command outlives
                                            // it). Kept across exec, cleared by exec of a set-user-ID program.
                                            // Start such children from a thread that lives as long as they should
                                            // (a pool thread that ends takes its children with it).
  std::optional<mode_t> umask{};
  std::optional<int> niceness{};            // setpriority(PRIO_PROCESS, 0, value) in the child: an absolute nice value
                                            // (nice(1) -n adds to the current one), clamped by the kernel to -20..19;
                                            // refused (lowering it unprivileged) is ignored, the child runs as is
};

class SLUICE_EXPORT subprocess_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// what(): "Command '['test', '-d', 'x']' returned non-zero exit status 1." or "... died with signal 15 (SIGTERM)."
class SLUICE_EXPORT called_process_error : public subprocess_error {
 public:
  called_process_error(int returncode, std::vector<std::string> cmd, std::string out = {}, std::string err = {});
  int returncode() const noexcept { return returncode_; }
  const std::vector<std::string>& cmd() const noexcept { return cmd_; }
  const std::string& out() const noexcept { return out_; }
  const std::string& err() const noexcept { return err_; }

 private:
  int returncode_;
  std::vector<std::string> cmd_;
  std::string out_, err_;
};

// Carries the output read before the deadline.
// what(): "Command '['sleep', '5']' timed out after 0.1 seconds"; with an empty cmd (the timed pipe calls, which
// do not know the command) "Pipe I/O timed out after 0.1 seconds".
class SLUICE_EXPORT timeout_expired : public subprocess_error {
 public:
  timeout_expired(std::vector<std::string> cmd, seconds timeout, std::string out = {}, std::string err = {});
  const std::vector<std::string>& cmd() const noexcept { return cmd_; }
  seconds timeout() const noexcept { return timeout_; }
  const std::string& out() const noexcept { return out_; }
  const std::string& err() const noexcept { return err_; }
  // From pipe_writer::write(data, timeout): how many bytes of data went before the deadline (Python's
  // BlockingIOError.characters_written); 0 otherwise.
  std::size_t written() const noexcept { return written_; }

 private:
  friend class pipe_writer;
  std::vector<std::string> cmd_;
  seconds timeout_;
  std::string out_, err_;
  std::size_t written_ = 0;
};

// The child could not be started: exec failed, cwd missing, ... code() is the child's errno
// (std::errc::no_such_file_or_directory, permission_denied, ...); filename() names the path at fault.
class SLUICE_EXPORT spawn_error : public std::system_error {
 public:
  spawn_error(std::error_code code, std::string filename, const std::string& what);
  const std::string& filename() const noexcept { return filename_; }

 private:
  std::string filename_;
};

struct SLUICE_EXPORT completed_process {
  std::vector<std::string> args;
  int returncode = 0;  // exit status, or -N when the child was killed by signal N; 0 when the status was lost
                       // because the application set SIGCHLD to SIG_IGN (as CPython)
  std::string out;     // captured stdout ("" when not captured)
  std::string err;     // captured stderr
  void check_returncode() const;  // throws called_process_error when returncode != 0
};

// All of these block until the child has ended (or the timeout expired: timeout_expired, child killed and reaped).
// They throw std::invalid_argument for bad options, spawn_error when the child cannot start.
SLUICE_EXPORT completed_process run(std::vector<std::string> args, options opts = {});
SLUICE_EXPORT int call(std::vector<std::string> args, options opts = {});
SLUICE_EXPORT void check_call(std::vector<std::string> args, options opts = {});              // throws called_process_error
SLUICE_EXPORT std::string check_output(std::vector<std::string> args, options opts = {});  // stdout; throws like check=true
SLUICE_EXPORT std::string getoutput(const std::string& command);                           // shell; trailing newline stripped
SLUICE_EXPORT std::pair<int, std::string> getstatusoutput(const std::string& command);     // shell, stderr included; exit status

namespace detail {
struct process_state;
}

// The parent's end of a child's piped stdin.
class SLUICE_EXPORT pipe_writer {
 public:
  pipe_writer() noexcept = default;
  explicit pipe_writer(fd f) noexcept : fd_(std::move(f)) {}
  void write(std::string_view data);  // blocks until all is written; throws std::system_error (EPIPE) if the child is
                                      // gone (SIGPIPE never kills the parent); std::logic_error after close()
  // Blocks at most `timeout`; throws timeout_expired (empty cmd) when not all was written by the deadline, its
  // written() telling how much went; otherwise as write(). Leaves the descriptor non-blocking (communicate does
  // the same).
  void write(std::string_view data, seconds timeout);
  void close();                       // the child sees end of file; idempotent
  bool is_open() const noexcept { return static_cast<bool>(fd_); }
  int native_handle() const noexcept { return fd_.get(); }
  fd take() noexcept { return std::move(fd_); }  // hand the descriptor on (e.g. to sluice::aio); is_open() is false after

 private:
  friend struct detail::process_state;
  fd fd_;
};

// The parent's end of a child's piped stdout or stderr.
class SLUICE_EXPORT pipe_reader {
 public:
  pipe_reader() noexcept = default;
  explicit pipe_reader(fd f) noexcept : fd_(std::move(f)) {}
  std::string read();                        // everything up to end of file (blocks); "" when closed
  std::string read(std::size_t n);           // up to n bytes; fewer only at end of file
  std::optional<std::string> readline();     // the next line with its '\n'; nullopt at end of file
  // The same, blocking at most `timeout`: at the deadline they throw timeout_expired (empty cmd) and keep what
  // arrived buffered, so a later call returns it -- nothing is lost (as communicate after a timeout).
  std::string read(seconds timeout);
  std::string read(std::size_t n, seconds timeout);
  std::optional<std::string> readline(seconds timeout);
  fd take();                                 // hand the descriptor to someone else, e.g. as another child's `in`;
                                             // afterwards is_open() is false; std::logic_error if read data is buffered
  void close();                              // idempotent; buffered data is dropped
  bool is_open() const noexcept { return static_cast<bool>(fd_); }
  int native_handle() const noexcept { return fd_.get(); }

 private:
  friend struct detail::process_state;
  bool fill();  // one read() into buf_; false at end of file
  // Waits until a read would not block (data, end of file or an error) or the deadline; throws timeout_expired.
  void await_readable(const std::chrono::steady_clock::time_point& deadline, seconds timeout);
  fd fd_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

// Python's Popen. The constructor starts the child and does not wait.
class SLUICE_EXPORT process {
 public:
  explicit process(std::vector<std::string> args, options opts = {});  // throws spawn_error, std::invalid_argument
  process(process&&) noexcept;
  process& operator=(process&&) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process();  // never leaves a zombie or an open descriptor; a child still running is killed and reaped
               // (move-assigning onto a process does the same to the old child)

  pid_t pid() const noexcept;                      // -1 for a moved-from process
  int pidfd() const noexcept;  // the pidfd that waits use (readable once the child ended), for callers' own poll
                               // loops; owned by the process, open until its destruction; -1 when the kernel has none
  const std::vector<std::string>& args() const noexcept;
  std::optional<int> returncode() const noexcept;  // nullopt while running (as last seen by poll/wait)

  std::optional<int> poll();                                      // never blocks: returncode if it has ended, else nullopt
  int wait(std::optional<seconds> timeout = std::nullopt);        // blocks; throws timeout_expired (child keeps running)
  // Writes input (then closes stdin), reads stdout and stderr to end of file, waits. Never deadlocks on full pipes.
  // On timeout throws timeout_expired holding the output read so far, and the child keeps running; a later
  // call carries on and returns the whole output, including what the exception held (as Python does).
  // The input is taken from the first call; a later call with other input throws std::logic_error.
  // Input given while stdin is not a pipe throws std::logic_error. EPIPE on stdin is not an error.
  // For outputs of several MiB a short-lived helper thread (all signals blocked) maps the output buffer ahead of
  // the reads; it has ended before communicate() returns or throws.
  // Without a timeout, an input of several MiB is lent to the stdin pipe (vmsplice: the child reads straight from
  // `input`, one copy fewer) and must not change until the call returns -- as for any argument; no lent byte is
  // left readable once it has returned or thrown. A timed call copies.
  std::pair<std::string, std::string> communicate(std::string_view input = {},
                                                  std::optional<seconds> timeout = std::nullopt);
  void send_signal(int sig);  // never blocks; no effect once the child has been reaped (no pid-reuse accident)
  void terminate();           // SIGTERM
  void kill();                // SIGKILL

  pipe_writer& in();   // throws std::logic_error unless stdin is redirect::pipe
  pipe_reader& out();  // likewise for stdout
  pipe_reader& err();  // likewise for stderr

 private:
  std::unique_ptr<detail::process_state> state_;
};

// A shell-like pipeline `cmd1 | cmd2 | ...`: opts.in / opts.input feed the first command, opts.out takes the last
// one's stdout, stderr of all goes to opts.err (capture_output: out is the last stdout, err every stderr).
// timeout and check apply to the whole pipeline: on expiry every command is killed and reaped. The exceptions'
// cmd() is the rightmost failing command (the last one for a timeout). Blocks until every command has ended.
// err = to_stdout sends each command's stderr along its stdout (`cmd 2>&1 | next`); process_group = 0 puts the
// whole pipeline into one new group led by the first command, as a shell does. If a command cannot be started,
// the ones already running are killed and reaped and spawn_error is thrown.
struct SLUICE_EXPORT completed_pipeline {
  std::vector<std::vector<std::string>> args;
  std::vector<int> returncodes;  // one per command, like bash's PIPESTATUS
  std::string out;
  std::string err;
  int returncode() const noexcept;  // the rightmost nonzero code, else 0 (bash's pipefail)
  void check_returncode() const;    // throws called_process_error for the rightmost failing command
};
SLUICE_EXPORT completed_pipeline run_pipeline(std::vector<std::vector<std::string>> commands, options opts = {});

namespace shlex {
SLUICE_EXPORT std::string quote(std::string_view s);                 // shlex.quote
SLUICE_EXPORT std::string join(const std::vector<std::string>& args);  // shlex.join
SLUICE_EXPORT std::vector<std::string> split(std::string_view s);    // shlex.split (POSIX mode); throws std::invalid_argument on bad quoting
}  // namespace shlex

}  // namespace sluice
