// sluice/aio/process.hpp -- child processes and pipes on the loop (Python: asyncio.create_subprocess_exec,
// create_subprocess_shell, asyncio.subprocess.Process, StreamReader, StreamWriter, connect_read_pipe).
//
//   aio::options o;  o.out = sluice::redirect::pipe;           // a named options, see the g++ 12 note
//   aio::process p = co_await aio::create_subprocess_exec({"ls", "-l"}, o);
//   while (!(line = co_await p.out().readline()).empty()) use(line);
//   int rc = co_await p.wait();
//
// Exit is seen through the child's pidfd in the loop's epoll set: no thread per child, no SIGCHLD handler,
// never waitpid(-1). On a kernel without pidfd_open (before 5.3, or refused by a seccomp filter) the loop
// looks at each of its own children with waitid(P_PID, WNOHANG|WNOWAIT) on a timer that backs off from 1 ms
// to 50 ms while nothing ends.
//
// Thread-safety: the loop's thread only. Lifetimes: destroying a process whose child still runs kills it
// (SIGKILL) and reaps it at once: no zombie, no descriptor left. Streams must not outlive their loop's run().
//
// g++ 12: do not write `co_await create_subprocess_exec({"a", "b"})` with a braced list, nor pass an
// `options{...}` temporary inside the co_await expression: g++ 12 destroys such temporaries of a co_await
// full-expression wrongly. Build the vector and the options as named variables first, or use the variadic
// form `create_subprocess_exec("sh", "-c", cmd)`. clang 14 has no such problem.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../export.hpp"
#include "../subprocess.hpp"
#include "task.hpp"

namespace sluice::aio {

using sluice::options;

namespace detail {
struct reader_state;
struct writer_state;
struct process_state;
}  // namespace detail

// Python: asyncio.IncompleteReadError. Thrown by readexactly/readuntil at end of file.
class SLUICE_EXPORT incomplete_read : public std::runtime_error {
 public:
  incomplete_read(std::string partial, std::string what);
  const std::string& partial() const noexcept { return partial_; }

 private:
  std::string partial_;
};

// The reading end of a pipe. Move-only; one read at a time (a second concurrent read: std::logic_error).
// Reads are cancellable; bytes already read stay buffered for the next read.
class SLUICE_EXPORT stream_reader {
 public:
  stream_reader() noexcept;
  stream_reader(stream_reader&&) noexcept;
  stream_reader& operator=(stream_reader&&) noexcept;
  ~stream_reader();

  task<std::string> read(std::ptrdiff_t n);  // up to n bytes (-1: to end of file); "" at end of file
  task<std::string> read();                  // to end of file
  task<std::string> readline();              // through '\n' or to end of file; no length limit
  task<std::string> readexactly(std::size_t n);  // incomplete_read (holding the partial bytes) at early EOF
  task<std::string> readuntil(std::string separator);  // incomplete_read at EOF without it; invalid_argument if empty
  // Never waits: what is buffered, else what one non-blocking read gets right now, up to n bytes; "" when
  // nothing is available yet or at end of file (tell them apart with at_eof()). For taking what a child wrote
  // before it exited without waiting for end of file, which a grandchild holding the pipe could put off
  // forever. std::logic_error while another task waits in a read; std::system_error on a read error.
  std::string read_nowait(std::size_t n);
  bool at_eof() const noexcept;  // end of file seen and nothing buffered
  bool valid() const noexcept { return s_ != nullptr; }

  explicit stream_reader(sluice::fd f);  // on the current loop (std::logic_error without one)
  detail::reader_state* state() const noexcept { return s_.get(); }

 private:
  std::unique_ptr<detail::reader_state> s_;
};

// The writing end of a pipe. write() buffers and never blocks the loop; the loop writes the buffer out in
// the background as the pipe drains. A broken pipe (the reader is gone) never raises SIGPIPE: drain() then
// throws std::system_error(EPIPE), and later data is dropped.
class SLUICE_EXPORT stream_writer {
 public:
  stream_writer() noexcept;
  stream_writer(stream_writer&&) noexcept;
  stream_writer& operator=(stream_writer&&) noexcept;
  ~stream_writer();  // closes (what is still buffered is dropped)

  void write(std::string_view data);  // std::logic_error after close()
  task<void> drain();                 // waits until the buffer is below its high-water mark (64 KiB)
  void close();                       // closes once the buffer is written out; idempotent
  task<void> wait_closed();           // waits until the descriptor is closed
  std::size_t buffered() const noexcept;
  bool is_closing() const noexcept;
  bool valid() const noexcept { return s_ != nullptr; }

  explicit stream_writer(sluice::fd f);  // on the current loop (std::logic_error without one)
  detail::writer_state* state() const noexcept { return s_.get(); }

 private:
  std::unique_ptr<detail::writer_state> s_;
};

// Python: loop.connect_read_pipe / connect_write_pipe. Streams over a descriptor handed over by the caller
// (a pipe, a socket, a terminal; a regular file is read and written directly, since epoll refuses it and it
// never makes a reader wait). The descriptor is made non-blocking. std::invalid_argument for an empty fd.
SLUICE_EXPORT stream_reader connect_read_pipe(sluice::fd f);
SLUICE_EXPORT stream_writer connect_write_pipe(sluice::fd f);

class SLUICE_EXPORT process {
 public:
  process() noexcept;
  process(process&&) noexcept;
  process& operator=(process&&) noexcept;
  ~process();  // a child still running is killed (SIGKILL) and reaped

  pid_t pid() const noexcept;
  const std::vector<std::string>& args() const noexcept;
  std::optional<int> returncode() const noexcept;  // negative signal number when killed, as sync
  // Waits for the child's exit and reaps it. Cancelling the wait does not kill the child (as in Python).
  task<int> wait();
  // Writes input, closes stdin, reads out and err to end of file, waits for exit. On timeout or cancellation
  // it throws timeout_expired (carrying the output read so far) / cancelled_error, keeps what was read and
  // what is left to write, and a later communicate() resumes where it stopped; nothing is read or written
  // between calls. Input given while stdin is not a pipe, or other input on a later call: std::logic_error.
  // wait_for(p.communicate(), t) throws timeout_error instead, like every wait_for.
  // Inputs of several MiB are lent to the stdin pipe (vmsplice) from the process's own copy of `input`, kept
  // unchanged until the communication ends; outputs of several MiB are mapped ahead of the reads by a
  // short-lived helper thread (all signals blocked), ended before the call returns, throws or is destroyed.
  task<std::pair<std::string, std::string>> communicate();
  task<std::pair<std::string, std::string>> communicate(std::string input);
  task<std::pair<std::string, std::string>> communicate(std::string input, std::optional<seconds> timeout);
  stream_writer& in();  // std::logic_error unless that stream is a pipe
  stream_reader& out();
  stream_reader& err();
  void send_signal(int signum);           // no-op once reaped (pidfd: never signals a recycled pid)
  // The child's own process group (options::process_group or start_new_session), also after the child
  // itself exited while others of its group live on; std::logic_error if it has none.
  void send_signal_to_group(int signum);
  void terminate();
  void kill();

  explicit process(std::unique_ptr<detail::process_state> s) noexcept;

 private:
  detail::process_state& st() const;
  std::unique_ptr<detail::process_state> s_;
};

// Same options as the sync API; input, capture_output, timeout and check belong to run_process.
// (Overloads, not default arguments: see the note on g++ 12 at the top.)
SLUICE_EXPORT task<process> create_subprocess_exec(std::vector<std::string> args);
SLUICE_EXPORT task<process> create_subprocess_exec(std::vector<std::string> args, options opts);
// asyncio's form: create_subprocess_exec("sh", "-c", cmd); each argument converts to std::string.
template <class... Args>
  requires(std::is_constructible_v<std::string, Args &&> && ...)
task<process> create_subprocess_exec(std::string program, Args&&... args) {
  std::vector<std::string> argv;
  argv.reserve(1 + sizeof...(Args));
  argv.push_back(std::move(program));
  (argv.emplace_back(std::forward<Args>(args)), ...);
  return create_subprocess_exec(std::move(argv));
}
SLUICE_EXPORT task<process> create_subprocess_shell(std::string command);
SLUICE_EXPORT task<process> create_subprocess_shell(std::string command, options opts);
// The coroutine form of sluice::run, with every option. On timeout or cancellation the child (and, with
// process_group/start_new_session, its group) is killed and reaped before the exception leaves.
SLUICE_EXPORT task<completed_process> run_process(std::vector<std::string> args);
SLUICE_EXPORT task<completed_process> run_process(std::vector<std::string> args, options opts);

}  // namespace sluice::aio
