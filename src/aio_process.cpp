// src/aio_process.cpp -- child processes on the loop: spawn (the sync API's), exit through the pidfd (or the
// loop's waitid timer), communicate that resumes after a timeout or a cancellation, run_process.
#include <cerrno>
#include <csignal>
#include <system_error>

#include "aio_internal.hpp"
#include "output_prefaulter.hpp"
#include "posix/platform.hpp"
#include "sluice/detail/deadline.hpp"

namespace sluice::aio {

namespace os = sluice::detail::os;

namespace detail {

// What process_state needs from the options once they have been handed to the child (moved: a copy of the
// environment per spawn cost more than the rest of a job runner's bookkeeping).
struct spawn_shape {
  bool new_session;
  std::optional<pid_t> process_group;
  bool pipe_in, pipe_out, pipe_err;
  explicit spawn_shape(const options& o)
      : new_session(o.start_new_session),
        process_group(o.process_group),
        pipe_in(o.in.is(redirect::pipe)),
        pipe_out(o.out.is(redirect::pipe)),
        pipe_err(o.err.is(redirect::pipe)) {}
};

struct process_state {
  process_state(std::vector<std::string> args, options opts)
      : process_state(spawn_shape(opts), std::move(args), std::move(opts)) {}
  process_state(const spawn_shape& shape, std::vector<std::string>&& args, options&& opts)
      : child(std::move(args), std::move(opts)), loop(&loop_impl::require()), alive(loop->remote()) {
    if (shape.new_session) {
      group = child.pid();
    } else if (shape.process_group) {
      group = *shape.process_group == 0 ? child.pid() : *shape.process_group;
    }
    if (shape.pipe_in) in = stream_writer(child.in().take());
    if (shape.pipe_out) out = stream_reader(child.out().take());
    if (shape.pipe_err) err = stream_reader(child.err().take());
    exit_io.owner = this;
    exit_io.on_readable = [](io_state* s) noexcept { static_cast<process_state*>(s->owner)->on_exit_seen(); };
    if (child.pidfd() >= 0) {
      exit_io.fd = child.pidfd();
      loop->watch(exit_io);
    } else {
      loop->watch_child_without_pidfd(exit_io, child.pid());
    }
  }
  ~process_state() {
    // Lent input pages still in the stdin pipe (a communicate cancelled or timed out, then the process dropped)
    // must not be read by anyone once `input` is freed: take them out of the pipe.
    if (lent_pending && in.valid() && !in.state()->closed) os::drain_pipe(in.state()->f.get());
    if (!alive->closed) {
      if (exit_io.registered) {
        loop->unwatch(exit_io);
      } else {
        loop->unwatch_child_without_pidfd(exit_io);
      }
    }
    // Then the streams close, and the sync process kills and reaps a child that still runs.
  }
  process_state(const process_state&) = delete;
  process_state& operator=(const process_state&) = delete;

  void on_exit_seen() noexcept {
    try {
      child.poll();
    } catch (...) {
    }
    while (waiter* w = exit_waiters.pop_front()) loop->fire(w);
  }

  sluice::process child;
  loop_impl* loop;
  std::shared_ptr<remote_queue> alive;
  std::optional<pid_t> group;
  io_state exit_io;
  waiter_list exit_waiters;  // tasks waiting for the exit
  stream_writer in;
  stream_reader out;
  stream_reader err;
  // communicate()'s progress, kept across a timeout or a cancellation.
  bool communicating = false;
  std::string input;
  std::size_t input_pos = 0;
  // input[input_pos, lend_until) may be lent to the stdin pipe (vmsplice) instead of copied: `input` is ours and
  // stays unchanged until the communication ends, across timeouts and cancellations. The last bytes (twice the
  // largest pipe an unprivileged child can make) are copied, and those only all fit once every lent page has been
  // read; lent_pending until then (or until EPIPE says no reader is left).
  std::size_t lend_until = 0;
  bool lent_pending = false;
  std::string out_acc;
  std::string err_acc;
};

namespace {

// Waits for any of: the child's stdout/stderr readable, its stdin writable, its exit, a deadline. Cancellable.
struct any_io_await : deadline_await {
  process_state& s;
  io_state* read_a;
  io_state* read_b;
  io_state* write_c;
  bool want_exit;

  any_io_await(process_state& p, io_state* a, io_state* b, io_state* c, bool exit, std::optional<clock::time_point> d)
      : deadline_await(d), s(p), read_a(a), read_b(b), write_c(c), want_exit(exit) {}
  any_io_await(const any_io_await&) = delete;

  bool await_ready() {
    if (cancel_pending_on_entry()) {
      w.cancelled = true;
      return true;
    }
    if ((read_a && read_a->readable) || (read_b && read_b->readable) || (write_c && write_c->writable)) return true;
    if (want_exit && s.child.returncode()) return true;
    return deadline_passed();
  }
  void await_suspend(std::coroutine_handle<> h) {
    loop_impl& loop = loop_impl::require();
    loop.suspend(&w, h);
    if (read_a) read_a->reader = &w;
    if (read_b) read_b->reader = &w;
    if (write_c) write_c->writer = &w;
    if (want_exit) s.exit_waiters.push_back(&w);
    arm_deadline(loop);
    w.context = this;
    w.on_cancel = [](waiter* w) noexcept {
      static_cast<any_io_await*>(w->context)->detach();
      return true;
    };
  }
  void detach() noexcept {
    if (read_a && read_a->reader == &w) read_a->reader = nullptr;
    if (read_b && read_b->reader == &w) read_b->reader = nullptr;
    if (write_c && write_c->writer == &w) write_c->writer = nullptr;
    if (want_exit) s.exit_waiters.remove(&w);
    disarm_deadline();
  }
  void await_resume() {
    detach();
    resume_or_throw(w);
  }
};

constexpr std::size_t big_io = std::size_t(1) << 20;

// Moves what the reader holds and what the pipe has now into dst; true at end of file. The pipe is read
// straight into dst, not through the reader's buffer: a large output is then copied once, not three times.
// With a prefaulter (stdout), the room of a big output is mapped by its helper thread ahead of the reads, as in
// the sync communicate: on this loop's one thread the page faults (or an inline madvise) bounded the throughput,
// and left the second core idle while the child waited for room in its pipe.
bool drain_into(reader_state& r, std::string& dst, sluice::detail::output_prefaulter* prefaulter = nullptr) {
  if (r.pos < r.buf.size()) {
    if (prefaulter) prefaulter->stop();  // the swap or append below may move dst's buffer
    if (dst.empty() && r.pos == 0) {
      dst.swap(r.buf);
    } else {
      dst.append(r.buf, r.pos, std::string::npos);
    }
    r.buf.clear();
    r.pos = 0;
    if (prefaulter) prefaulter->start(dst);
  }
  constexpr std::size_t min_read = std::size_t(1) << 16;
  for (;;) {
    if (prefaulter && dst.capacity() - dst.size() < min_read) {
      prefaulter->stop();  // the buffer is about to move: the helper must be done with it first
      dst.reserve(std::max(dst.size() + big_io, dst.capacity() * 2));
      prefaulter->start(dst);
    }
    // Fill the room there is before growing: an exact reservation must not be doubled (and copied) because the
    // last read asks for a full 1 MiB.
    std::size_t want = big_io;
    if (dst.capacity() - dst.size() >= min_read) want = std::min(want, dst.capacity() - dst.size());
    switch (r.read_into(dst, want)) {
      case read_result::data:
        if (prefaulter) prefaulter->progress(dst.size());
        continue;
      case read_result::eof: return true;
      case read_result::would_block: return false;
    }
  }
}

// Writes what it can of the input; true once stdin is closed (all written, or the child stopped reading).
bool feed(process_state& s) {
  writer_state& w = *s.in.state();
  if (w.closed) return true;
  while (s.input_pos < s.input.size() && w.io.writable) {
    ssize_t n;
    if (s.input_pos < s.lend_until) {
      n = os::lend_to_pipe(w.f.get(), s.input.data() + s.input_pos, std::min(big_io, s.lend_until - s.input_pos));
      if (n > 0) s.lent_pending = true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EPIPE) {
        s.lend_until = 0;  // refused: copy from here on
        continue;
      }
    } else {
      n = os::write_some(w.f.get(), s.input.data() + s.input_pos, s.input.size() - s.input_pos);
    }
    if (n > 0) {
      s.input_pos += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      w.io.writable = false;
    } else {
      // EPIPE: the child exited or closed stdin; not an error. After another error a reader may be left: no
      // lent page may stay in the pipe for it.
      if (s.lent_pending && errno != EPIPE) os::drain_pipe(w.f.get());
      s.input_pos = s.input.size();
    }
  }
  if (s.input_pos < s.input.size()) return false;
  s.lent_pending = false;  // all written, the copied tail last (or no reader left)
  w.close_now();
  return true;
}

[[noreturn]] void throw_timeout(process_state& s, seconds timeout) {
  throw timeout_expired(s.child.args(), timeout, s.out_acc, s.err_acc);
}

}  // namespace

task<std::pair<std::string, std::string>> communicate(process_state& s, std::string input,
                                                      std::optional<seconds> timeout) {
  if (!s.communicating) {
    if (!input.empty() && !s.in.valid())
      throw std::logic_error("sluice::aio::process::communicate: input given, but stdin is not a pipe");
    s.communicating = true;
    if (s.in.valid()) {
      // Bytes written earlier through in() and still buffered go first.
      writer_state& w = *s.in.state();
      if (w.pos >= w.buf.size()) {
        s.input = std::move(input);  // nothing buffered: no copy of what may be gigabytes
      } else {
        s.input = w.buf.substr(w.pos);
        s.input += input;
      }
      w.buf.clear();
      w.pos = 0;
      w.suspended = true;
      if (w.closing && s.input.empty()) w.close_now();
    }
  } else if (!input.empty() && s.input.find(input) == std::string::npos) {
    throw std::logic_error("sluice::aio::process::communicate: a later call gave other input");
  }
  std::optional<clock::time_point> deadline;
  if (timeout) deadline = sluice::detail::loop_deadline_after(*timeout);  // NaN was refused by the caller
  if (s.input.size() - s.input_pos >= big_io) {
    // Big input usually means big output from a filter: bigger pipes cut the system calls per byte, and
    // reserving the output up front (address space only until touched) spares its geometric regrowth.
    if (s.in.valid() && !s.in.state()->closed) {
      const int fd = s.in.state()->f.get();
      os::grow_pipe(fd, int(big_io));
      const long cap = std::max<long>(os::pipe_size(fd), os::pipe_size_limit());
      if (cap > 0 && os::pipe_size_limit() > 0 && s.input.size() > 2 * std::size_t(cap) + 4 * big_io)
        s.lend_until = s.input.size() - 2 * static_cast<std::size_t>(cap);
    }
    if (s.out.valid() && !s.out.state()->eof) {
      os::grow_pipe(s.out.state()->f.get(), int(big_io));
      if (s.out_acc.capacity() < s.input.size()) s.out_acc.reserve(s.out_acc.size() + s.input.size() + big_io);
    }
  }
  sluice::detail::output_prefaulter prefaulter;  // joined before the output can move, and when this frame ends (or is destroyed)
  if (s.out.valid() && !s.out.state()->eof) prefaulter.start(s.out_acc);
  bool in_done = !s.in.valid();
  bool out_done = !s.out.valid() || s.out.state()->eof;
  bool err_done = !s.err.valid() || s.err.state()->eof;
  for (;;) {
    if (!in_done) in_done = feed(s);
    if (!out_done) out_done = drain_into(*s.out.state(), s.out_acc, &prefaulter);
    if (!err_done) err_done = drain_into(*s.err.state(), s.err_acc);
    if (in_done && out_done && err_done) break;
    any_io_await a(s, out_done ? nullptr : &s.out.state()->io, err_done ? nullptr : &s.err.state()->io,
                   in_done ? nullptr : &s.in.state()->io, false, deadline);
    co_await a;
    if (a.timed_out) throw_timeout(s, *timeout);
  }
  prefaulter.stop();  // before the output is handed over (and maybe freed) by the caller
  while (!s.child.poll()) {
    any_io_await a(s, nullptr, nullptr, nullptr, true, deadline);
    co_await a;
    if (a.timed_out && !s.child.poll()) throw_timeout(s, *timeout);
  }
  s.communicating = false;
  s.input.clear();
  s.input_pos = 0;
  s.lend_until = 0;
  co_return std::pair<std::string, std::string>(std::move(s.out_acc), std::move(s.err_acc));
}

task<int> wait_exit(process_state& s) {
  // While the loop watches the pidfd and has not seen it readable, the child has not ended: asking the kernel
  // (wait4) would only answer "not yet", one system call per spawn + await. The loop reaps it when it ends.
  for (bool ask = !s.exit_io.registered || s.exit_io.readable;; ask = true) {
    if (auto rc = ask ? s.child.poll() : s.child.returncode()) co_return *rc;
    any_io_await a(s, nullptr, nullptr, nullptr, true, std::nullopt);
    co_await a;
  }
}

}  // namespace detail

process::process() noexcept = default;
process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;
process::~process() = default;
process::process(std::unique_ptr<detail::process_state> s) noexcept : s_(std::move(s)) {}

detail::process_state& process::st() const {
  if (!s_) throw std::logic_error("sluice::aio::process: no process (moved from)");
  return *s_;
}

pid_t process::pid() const noexcept { return s_ ? s_->child.pid() : -1; }
const std::vector<std::string>& process::args() const noexcept {
  static const std::vector<std::string> none;
  return s_ ? s_->child.args() : none;
}
std::optional<int> process::returncode() const noexcept { return s_ ? s_->child.returncode() : std::nullopt; }

task<int> process::wait() { return detail::wait_exit(st()); }
task<std::pair<std::string, std::string>> process::communicate() { return detail::communicate(st(), {}, std::nullopt); }
task<std::pair<std::string, std::string>> process::communicate(std::string input) {
  return detail::communicate(st(), std::move(input), std::nullopt);
}
task<std::pair<std::string, std::string>> process::communicate(std::string input, std::optional<seconds> timeout) {
  if (timeout) sluice::detail::check_loop_timeout(*timeout, "sluice::aio::process::communicate");  // before anything
  return detail::communicate(st(), std::move(input), timeout);
}

stream_writer& process::in() {
  if (!st().in.valid()) throw std::logic_error("sluice::aio::process::in: stdin is not a pipe");
  return s_->in;
}
stream_reader& process::out() {
  if (!st().out.valid()) throw std::logic_error("sluice::aio::process::out: stdout is not a pipe");
  return s_->out;
}
stream_reader& process::err() {
  if (!st().err.valid()) throw std::logic_error("sluice::aio::process::err: stderr is not a pipe");
  return s_->err;
}

void process::send_signal(int signum) { st().child.send_signal(signum); }
void process::terminate() { st().child.terminate(); }
void process::kill() { st().child.kill(); }

void process::send_signal_to_group(int signum) {
  auto& s = st();
  if (!s.group) {
    throw std::logic_error(
        "sluice::aio::process::send_signal_to_group: the child has no group of its own (use process_group or "
        "start_new_session)");
  }
  int e = os::send_group_signal(*s.group, signum);
  if (e != 0 && e != ESRCH) throw std::system_error(e, std::generic_category(), "sluice::aio::send_signal_to_group");
}

namespace {
options for_process(options opts) {
  // run_process's own options are not the sync process's business.
  opts.input.reset();
  opts.capture_output = false;
  opts.timeout.reset();
  opts.check = false;
  return opts;
}

task<process> spawn(std::vector<std::string> args, options opts) {
  auto s = std::make_unique<detail::process_state>(std::move(args), std::move(opts));
  co_return process(std::move(s));
}

void validate_run_options(const options& o) {
  if (o.capture_output && (!o.out.is_inherit() || !o.err.is_inherit()))
    throw std::invalid_argument("sluice::aio::run_process: capture_output together with out or err");
  if (o.input && !o.in.is_inherit()) throw std::invalid_argument("sluice::aio::run_process: input together with in");
  if (o.timeout) sluice::detail::check_loop_timeout(*o.timeout, "sluice::aio::run_process");
}

void kill_and_reap(detail::process_state& s) noexcept {
  if (s.group) os::send_group_signal(*s.group, SIGKILL);
  try {
    s.child.kill();
    s.child.wait();  // SIGKILL was sent: the exit is a matter of microseconds
  } catch (...) {
  }
}

task<completed_process> run_impl(std::vector<std::string> args, options opts) {
  options popts = for_process(opts);
  if (opts.capture_output) popts.out = popts.err = redirect::pipe;
  if (opts.input) popts.in = redirect::pipe;
  auto st = std::make_unique<detail::process_state>(args, std::move(popts));
  std::pair<std::string, std::string> outputs;
  try {
    outputs = co_await detail::communicate(*st, opts.input.value_or(std::string()), opts.timeout);
  } catch (...) {
    kill_and_reap(*st);
    throw;
  }
  completed_process r{std::move(args), *st->child.returncode(), std::move(outputs.first), std::move(outputs.second)};
  if (opts.check) r.check_returncode();
  co_return r;
}
}  // namespace

task<process> create_subprocess_exec(std::vector<std::string> args) { return spawn(std::move(args), options{}); }
task<process> create_subprocess_exec(std::vector<std::string> args, options opts) {
  if (opts.input || opts.capture_output || opts.timeout || opts.check)
    throw std::invalid_argument(
        "sluice::aio::create_subprocess_exec: input, capture_output, timeout and check belong to run_process");
  return spawn(std::move(args), std::move(opts));
}
task<process> create_subprocess_shell(std::string command) {
  options o;
  o.shell = true;
  std::vector<std::string> args;
  args.push_back(std::move(command));
  return spawn(std::move(args), std::move(o));
}
task<process> create_subprocess_shell(std::string command, options opts) {
  opts.shell = true;
  std::vector<std::string> args;
  args.push_back(std::move(command));
  return create_subprocess_exec(std::move(args), std::move(opts));
}
task<completed_process> run_process(std::vector<std::string> args) { return run_impl(std::move(args), options{}); }
task<completed_process> run_process(std::vector<std::string> args, options opts) {
  validate_run_options(opts);
  return run_impl(std::move(args), std::move(opts));
}

}  // namespace sluice::aio
