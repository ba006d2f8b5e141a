// src/subprocess.cpp -- sluice::process and the value types of <sluice/subprocess.hpp>.
#include <sluice/subprocess.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sluice/detail/deadline.hpp>
#include "subprocess_state.hpp"

extern char** environ;

namespace sluice {

// ---------------------------------------------------------------- fd, stream

fd& fd::operator=(fd&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.release();
  }
  return *this;
}

fd::~fd() { close(); }

int fd::release() noexcept {
  int r = fd_;
  fd_ = -1;
  return r;
}

void fd::close() {
  detail::os::close_fd(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------- blocking descriptor I/O

int try_write_all(int fd, std::string_view data) noexcept {
  if (fd < 0) return EBADF;
  return detail::os::write_all_nosignal(fd, data.data(), data.size());
}

void write_all(int fd, std::string_view data) {
  if (int e = try_write_all(fd, data)) throw std::system_error(e, std::generic_category(), "sluice::write_all");
}

std::size_t read_some(int fd, void* buf, std::size_t n) {
  ssize_t r = detail::os::read_some(fd, buf, n);
  if (r < 0) throw std::system_error(errno, std::generic_category(), "sluice::read_some");
  return static_cast<std::size_t>(r);
}

std::size_t read_some_at(int fd, void* buf, std::size_t n, std::uint64_t offset) {
  ssize_t r = detail::os::read_some_at(fd, buf, n, offset);
  if (r < 0) throw std::system_error(errno, std::generic_category(), "sluice::read_some_at");
  return static_cast<std::size_t>(r);
}

stream::stream(int parent_fd) : kind_(kind::parent_fd), parent_fd_(parent_fd) {
  if (parent_fd < 0) throw std::invalid_argument("sluice::stream: negative file descriptor");
}

stream::stream(fd owned) : kind_(kind::owned_fd) {
  if (!owned) throw std::invalid_argument("sluice::stream: empty sluice::fd");
  owned_ = std::make_shared<fd>(std::move(owned));
}

stream::stream(std::filesystem::path file) : kind_(kind::file), path_(std::move(file)) {}
stream::stream(const char* file)
    : stream(file ? std::filesystem::path(file)
                  : throw std::invalid_argument("sluice::stream: null file name")) {}
stream::stream(const std::string& file) : stream(std::filesystem::path(file)) {}

stream stream::append(std::filesystem::path file) {
  stream s(std::move(file));
  s.kind_ = kind::append_file;
  return s;
}

int stream::parent_descriptor() const noexcept {
  if (kind_ == kind::parent_fd) return parent_fd_;
  if (kind_ == kind::owned_fd && owned_) return owned_->get();
  return -1;
}

void stream::release_owned() const {
  if (owned_) owned_->close();
}

environment current_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

// ---------------------------------------------------------------- exceptions

namespace detail {

namespace {
std::string repr_str(const std::string& s) {
  // Python's str repr: single quotes unless the text holds ' and no ".
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string r(1, q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\t') {
      r += "\\t";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else {
      r += static_cast<char>(c);
    }
  }
  r += q;
  return r;
}

std::string format_seconds(double s) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, s);
  std::string t(buf, res.ptr);
  if (t.find_first_of(".en") == std::string::npos) t += ".0";  // Python prints a float: 5.0, not 5
  return t;
}
}  // namespace

std::string repr_cmd(const std::vector<std::string>& cmd) {
  std::string r = "[";
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    if (i) r += ", ";
    r += repr_str(cmd[i]);
  }
  return r + "]";
}

// The library's one timeout rule (sluice/detail/deadline.hpp); os::clock is the steady clock.
std::optional<os::clock::time_point> deadline_from(std::optional<seconds> timeout) {
  static_assert(std::is_same_v<os::clock, std::chrono::steady_clock>);
  return deadline_after(timeout);
}

namespace {
std::string called_what(int rc, const std::vector<std::string>& cmd) {
  std::string w = "Command '" + repr_cmd(cmd) + "' ";
  if (rc < 0) {
    std::string name = os::signal_name(-rc);
    if (name.empty()) return w + "died with unknown signal " + std::to_string(-rc) + ".";
    return w + "died with signal " + std::to_string(-rc) + " (" + name + ").";
  }
  return w + "returned non-zero exit status " + std::to_string(rc) + ".";
}
}  // namespace
}  // namespace detail

called_process_error::called_process_error(int returncode, std::vector<std::string> cmd, std::string out,
                                           std::string err)
    : subprocess_error(detail::called_what(returncode, cmd)),
      returncode_(returncode),
      cmd_(std::move(cmd)),
      out_(std::move(out)),
      err_(std::move(err)) {}

timeout_expired::timeout_expired(std::vector<std::string> cmd, seconds timeout, std::string out, std::string err)
    : subprocess_error((cmd.empty() ? std::string("Pipe I/O") : "Command '" + detail::repr_cmd(cmd) + "'") +
                       " timed out after " + detail::format_seconds(timeout.count()) + " seconds"),
      cmd_(std::move(cmd)),
      timeout_(timeout),
      out_(std::move(out)),
      err_(std::move(err)) {}

spawn_error::spawn_error(std::error_code code, std::string filename, const std::string& what)
    : std::system_error(code, what), filename_(std::move(filename)) {}

void completed_process::check_returncode() const {
  if (returncode != 0) throw called_process_error(returncode, args, out, err);
}

// ---------------------------------------------------------------- pipes

void pipe_writer::write(std::string_view data) {
  if (!fd_) throw std::logic_error("sluice::pipe_writer::write: the pipe is closed");
  detail::os::sigpipe_guard guard;
  while (!data.empty()) {
    ssize_t n = detail::os::write_some(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EAGAIN) {  // someone made it non-blocking: wait for room rather than spin
        detail::os::poll_entry e{fd_.get(), POLLOUT, 0};
        detail::os::poll_until(&e, 1, nullptr);
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "sluice::pipe_writer::write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void pipe_writer::write(std::string_view data, seconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  if (!fd_) throw std::logic_error("sluice::pipe_writer::write: the pipe is closed");
  if (!deadline) return write(data);
  detail::os::sigpipe_guard guard;
  // Non-blocking: a blocking write of more than the pipe holds would sleep past the deadline.
  detail::os::set_nonblocking(fd_.get(), true);
  const std::size_t total = data.size();
  while (!data.empty()) {
    ssize_t n = detail::os::write_some(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno != EAGAIN) throw std::system_error(errno, std::generic_category(), "sluice::pipe_writer::write");
      detail::os::poll_entry e{fd_.get(), POLLOUT, 0};
      int r = detail::os::poll_until(&e, 1, &*deadline);
      if (r < 0) throw std::system_error(errno, std::generic_category(), "sluice::pipe_writer::write: poll");
      if (r == 0) {
        timeout_expired t({}, timeout);
        t.written_ = total - data.size();
        throw t;
      }
      continue;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void pipe_writer::close() { fd_.close(); }

void pipe_reader::await_readable(const std::chrono::steady_clock::time_point& deadline, seconds timeout) {
  detail::os::poll_entry e{fd_.get(), POLLIN, 0};
  int r = detail::os::poll_until(&e, 1, &deadline);
  if (r < 0) throw std::system_error(errno, std::generic_category(), "sluice::pipe_reader: poll");
  if (r == 0) throw timeout_expired({}, timeout);
}

std::string pipe_reader::read(seconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  if (!deadline) return read();
  // What arrives stays in buf_ until end of file, so a timeout loses nothing.
  while (fd_ && !eof_) {
    await_readable(*deadline, timeout);
    fill();
  }
  std::string result;
  detail::process_state::take_buffered(*this, result);
  return result;
}

std::string pipe_reader::read(std::size_t n, seconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  if (!deadline) return read(n);
  while (buf_.size() - pos_ < n && fd_ && !eof_) {
    await_readable(*deadline, timeout);
    fill();
  }
  return read(n);  // enough is buffered now, or end of file
}

std::optional<std::string> pipe_reader::readline(seconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  if (!deadline) return readline();
  for (std::size_t scanned = 0;;) {  // relative to pos_, as in readline()
    if (buf_.find('\n', pos_ + scanned) != std::string::npos || !fd_ || eof_) return readline();
    scanned = buf_.size() - pos_;
    await_readable(*deadline, timeout);
    fill();
  }
}

bool pipe_reader::fill() {
  if (eof_ || !fd_) return false;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 16) && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  constexpr std::size_t chunk = 1u << 16;
  std::size_t old = buf_.size();
  buf_.resize(old + chunk);
  ssize_t n = detail::os::read_some(fd_.get(), buf_.data() + old, chunk);
  if (n < 0 && errno == EAGAIN) {
    buf_.resize(old);
    detail::os::poll_entry e{fd_.get(), POLLIN, 0};
    detail::os::poll_until(&e, 1, nullptr);
    return true;
  }
  if (n < 0) {
    int e = errno;
    buf_.resize(old);
    throw std::system_error(e, std::generic_category(), "sluice::pipe_reader: read");
  }
  buf_.resize(old + static_cast<std::size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

std::string pipe_reader::read() {
  std::string result;
  detail::process_state::take_buffered(*this, result);
  if (eof_ || !fd_) return result;
  // Straight into the result, growing geometrically: no bounce buffer, no second copy.
  constexpr std::size_t min_room = std::size_t(1) << 16;
  for (;;) {
    std::size_t old = result.size();
    if (result.capacity() - old < min_room) result.reserve(std::max(old + min_room, result.capacity() * 2));
    std::size_t room = result.capacity() - old;
    result.resize(old + room);
    ssize_t n = detail::os::read_some(fd_.get(), result.data() + old, room);
    const int e = errno;
    result.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n == 0) {
      eof_ = true;
      return result;
    }
    if (n < 0) {
      if (e == EAGAIN) {  // a non-blocking descriptor: wait for data rather than spin
        detail::os::poll_entry pe{fd_.get(), POLLIN, 0};
        detail::os::poll_until(&pe, 1, nullptr);
        continue;
      }
      throw std::system_error(e, std::generic_category(), "sluice::pipe_reader::read");
    }
  }
}

std::string pipe_reader::read(std::size_t n) {
  while (buf_.size() - pos_ < n && fill()) {
  }
  std::size_t take = std::min(n, buf_.size() - pos_);
  std::string r = buf_.substr(pos_, take);
  pos_ += take;
  return r;
}

std::optional<std::string> pipe_reader::readline() {
  std::size_t scanned = 0;  // relative to pos_, because fill() may move the buffered bytes to the front
  for (;;) {
    std::size_t nl = buf_.find('\n', pos_ + scanned);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(pos_, nl + 1 - pos_);
      pos_ = nl + 1;
      return line;
    }
    scanned = buf_.size() - pos_;
    if (!fill()) break;
  }
  if (pos_ == buf_.size()) return std::nullopt;
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return rest;
}

fd pipe_reader::take() {
  if (pos_ != buf_.size())
    throw std::logic_error("sluice::pipe_reader::take: data is buffered; read it before handing the pipe on");
  buf_.clear();
  pos_ = 0;
  return std::move(fd_);
}

void pipe_reader::close() {
  fd_.close();
  buf_.clear();
  pos_ = 0;
}

// ---------------------------------------------------------------- output prefaulting

namespace {

// Maps the pages of a big output buffer from a second thread, a bounded distance ahead of the reads.
// Receiving 1 GiB means 262144 first-touch page faults, which cost the pumping thread more than all its copies;
// taken off its path they run beside the pump, on the core a simple filter child leaves mostly idle.
// Safety: it only advises on the string's own capacity (no C++ access to the bytes, so no data race), and it
// is joined before the string may reallocate and before pump returns or throws. Staying only as far ahead as
// has already arrived bounds the memory it makes resident beyond the real output (by max_ahead, and by the
// output so far, as geometric growth would), so a filter with little output keeps its reservation virtual.
class output_prefaulter {
 public:
  static constexpr std::size_t min_room = std::size_t(8) << 20;  // below this a thread does not pay for itself
  static constexpr std::size_t step = std::size_t(2) << 20;
  static constexpr std::size_t max_ahead = std::size_t(64) << 20;

  output_prefaulter() = default;
  output_prefaulter(const output_prefaulter&) = delete;
  output_prefaulter& operator=(const output_prefaulter&) = delete;
  ~output_prefaulter() { stop(); }

  // Starts on sink's unused capacity when it is big enough; quietly does nothing when no thread can be had.
  void start(std::string& sink) {
    stop();
    if (sink.capacity() - sink.size() < min_room || unsupported_.load(std::memory_order_relaxed)) return;
    base_ = sink.data();
    capacity_ = sink.capacity();
    filled_.store(sink.size());
    stopping_.store(false);
    idle_.store(false);
    try {
      detail::os::all_signals_blocked mask;  // inherited by the helper
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
    }
  }
  // Called after every read into the sink with its new size.
  void progress(std::size_t filled) {
    if (!thread_.joinable()) return;
    filled_.store(filled);
    if (idle_.load()) filled_.notify_one();
  }
  void stop() noexcept {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    filled_.fetch_add(1);  // a changed value wakes the wait in run()
    filled_.notify_one();
    thread_.join();
  }

 private:
  void run() noexcept {
    std::size_t done = filled_.load();
    while (!stopping_.load() && done < capacity_) {
      const std::size_t filled = filled_.load();
      done = std::max(done, filled);
      if (done - filled >= std::min(max_ahead, std::max(filled, step))) {
        // seq_cst on idle_ and filled_ (both sides): either progress() sees idle_ or this sees the new size.
        idle_.store(true);
        if (filled_.load() == filled && !stopping_.load()) filled_.wait(filled);
        idle_.store(false);
        continue;
      }
      const std::size_t upto = std::min(capacity_, done + step);
      if (!detail::os::prefault_writable(base_ + done, upto - done)) {
        unsupported_.store(true, std::memory_order_relaxed);
        return;
      }
      done = upto;
    }
  }

  static inline std::atomic<bool> unsupported_{false};  // the kernel refused once: do not try again
  char* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::atomic<std::size_t> filled_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> idle_{false};
  std::thread thread_;
};

}  // namespace

// ---------------------------------------------------------------- process_state

namespace detail {

process_state::~process_state() {
  if (pid > 0 && returncode.load() == still_running) {
    os::send_signal(pid, pidfd, SIGKILL);
    while (!reap()) os::wait_exit(pid, pidfd, nullptr);
  }
  os::close_fd(pidfd);
}

bool process_state::reap() {
  if (returncode.load(std::memory_order_acquire) != still_running) return true;
  std::lock_guard lock(reap_mutex);
  if (returncode.load(std::memory_order_relaxed) != still_running) return true;
  int rc;
  if (!os::try_reap(pid, rc)) return false;
  returncode.store(rc, std::memory_order_release);
  return true;
}

void process_state::signal(int sig) {
  if (returncode.load(std::memory_order_acquire) != still_running) return;
  std::lock_guard lock(reap_mutex);
  if (returncode.load(std::memory_order_relaxed) != still_running) return;
  int e = os::send_signal(pid, pidfd, sig);
  if (e != 0 && e != ESRCH) throw std::system_error(e, std::generic_category(), "sluice::process::send_signal");
}

int process_state::wait(std::optional<seconds> timeout) {
  auto deadline = deadline_from(timeout);
  for (;;) {
    if (reap()) return returncode.load();
    if (!os::wait_exit(pid, pidfd, deadline ? &*deadline : nullptr)) {
      if (reap()) return returncode.load();
      throw timeout_expired(args, *timeout);
    }
  }
}

void process_state::take_buffered(pipe_reader& r, std::string& sink) {
  if (r.pos_ < r.buf_.size()) {
    if (sink.empty() && r.pos_ == 0)
      sink.swap(r.buf_);
    else
      sink.append(r.buf_, r.pos_);
  }
  r.buf_.clear();
  r.pos_ = 0;
}

bool process_state::pump(pipe_writer* in, std::string_view input, std::size_t& written, pump_reader* readers,
                         std::size_t n, const os::clock::time_point* deadline, process_state* watched) {
  constexpr std::size_t max_chunk = std::size_t(1) << 20;
  std::optional<os::sigpipe_guard> guard;
  if (in && in->fd_) {
    guard.emplace();
    // Non-blocking, so that a write never stalls the loop while the child waits for us to read.
    os::set_nonblocking(in->fd_.get(), true);
    if (input.size() - written > (std::size_t(1) << 16)) os::grow_pipe(in->fd_.get(), int(max_chunk));
  }
  std::size_t chunk[4] = {1u << 16, 1u << 16, 1u << 16, 1u << 16};
  bool watch_pidfd = true;
  // Big input usually means big output from a filter. Reserving that much up front is only address space
  // (untouched pages cost nothing), but it spares the geometric regrowth, which would fault in and copy the
  // output about twice over -- on a loaded machine page faults, not the pipe, bound the throughput.
  if (n > 0 && input.size() - written >= (std::size_t(1) << 20) && readers[0].sink->capacity() < input.size())
    readers[0].sink->reserve(readers[0].sink->size() + input.size() - written + (std::size_t(1) << 16));
  output_prefaulter prefaulter;
  if (n > 0) prefaulter.start(*readers[0].sink);
  for (;;) {
    if (in && in->fd_ && written >= input.size()) in->fd_.close();
    os::poll_entry entries[6];
    int idx_of[6];
    std::size_t m = 0;
    if (in && in->fd_) {
      entries[m] = {in->fd_.get(), POLLOUT, 0};
      idx_of[m++] = -1;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (readers[i].reader->fd_ && !readers[i].reader->eof_) {
        entries[m] = {readers[i].reader->fd_.get(), POLLIN, 0};
        idx_of[m++] = static_cast<int>(i);
      }
    }
    if (m == 0) return true;
    bool watching = watch_pidfd && watched && watched->pidfd >= 0 && watched->returncode.load() == still_running;
    if (watching) {
      entries[m] = {watched->pidfd, POLLIN, 0};
      idx_of[m++] = -2;
    }
    int r = os::poll_until(entries, m, deadline);
    if (r == 0) return false;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "sluice: poll");
    for (std::size_t k = 0; k < m; ++k) {
      if (!entries[k].revents) continue;
      if (idx_of[k] == -2) {
        // Readable means ended, so this reaps; if it does not (a pidfd closed behind our back), stop watching
        // rather than spin on it -- the pipes alone decide when this loop ends anyway.
        if (!watched->reap()) watch_pidfd = false;
      } else if (idx_of[k] == -1) {
        std::size_t len = std::min(input.size() - written, max_chunk);
        ssize_t w = os::write_some(in->fd_.get(), input.data() + written, len);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno != EAGAIN) {
          // EPIPE (the child stopped reading, maybe exited) is not an error, as in Python; nor is anything
          // else worth losing the output over: stop feeding and keep reading.
          written = input.size();
          in->fd_.close();
        }
      } else {
        auto i = static_cast<std::size_t>(idx_of[k]);
        pipe_reader& rd = *readers[i].reader;
        std::string& sink = *readers[i].sink;
        std::size_t want = chunk[i < 4 ? i : 3];
        std::size_t old = sink.size();
        // Fill the capacity we have before growing: a reservation that fits the output exactly must not be
        // doubled (and copied) just because the last read asks for a full chunk.
        if (sink.capacity() - old < (std::size_t(1) << 16)) {
          if (i == 0) prefaulter.stop();  // the buffer is about to move: the helper must be done with it first
          sink.reserve(std::max(old + want, sink.capacity() * 2));
          if (i == 0) prefaulter.start(sink);
        }
        want = std::min(want, sink.capacity() - old);
        sink.resize(old + want);
        ssize_t got = os::read_some(rd.fd_.get(), sink.data() + old, want);
        const int read_errno = errno;
        sink.resize(old + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
        if (i == 0) prefaulter.progress(sink.size());
        if (got == 0 || (got < 0 && read_errno != EAGAIN)) {
          rd.eof_ = true;
          rd.fd_.close();
        } else if (got > 0 && static_cast<std::size_t>(got) == want && want < max_chunk && i < 4) {
          // A full read means a fast producer: bigger reads and a bigger pipe cut the syscalls per byte.
          if (want == (1u << 16)) os::grow_pipe(rd.fd_.get(), int(max_chunk));
          chunk[i] = want * 2;
        }
      }
    }
  }
}

std::pair<std::string, std::string> process_state::communicate(std::string_view input,
                                                               std::optional<seconds> timeout) {
  auto deadline = deadline_from(timeout);
  std::string_view pending;  // what is left to write in this call
  if (!comm_started) {
    if (!input.empty() && !in.is_open())
      throw std::logic_error(in_piped ? "sluice::process::communicate: stdin was already closed"
                                      : "sluice::process::communicate: input given but stdin is not a pipe");
    comm_started = true;
    comm_input_size = input.size();
    pending = input;
    if (out.is_open()) take_buffered(out, comm_out);
    if (err.is_open()) take_buffered(err, comm_err);
  } else {
    // The same input again is accepted (and ignored); anything else would be silently dropped, so refuse it.
    if (!input.empty() &&
        (input.size() != comm_input_size || input.substr(std::min(comm_written, input.size())) != comm_rest))
      throw std::logic_error("sluice::process::communicate: cannot send other input after starting communication");
    pending = comm_rest;
  }
  pump_reader readers[2];
  std::size_t n = 0;
  if (out.is_open()) readers[n++] = {&out, &comm_out};
  if (err.is_open()) readers[n++] = {&err, &comm_err};
  const os::clock::time_point* dl = deadline ? &*deadline : nullptr;
  std::size_t written = 0;
  bool finished = pump(&in, pending, written, readers, n, dl, this);
  comm_written += written;
  if (!finished) {
    std::string rest(pending.substr(std::min(written, pending.size())));
    comm_rest = std::move(rest);  // pending may point into comm_rest itself: copy first
    throw timeout_expired(args, *timeout, comm_out, comm_err);
  }
  comm_rest.clear();
  try {
    std::optional<seconds> left;
    if (deadline) left = std::chrono::duration_cast<seconds>(*deadline - os::clock::now());
    if (left && left->count() < 0) left = seconds(0);
    wait(left);
  } catch (timeout_expired&) {
    throw timeout_expired(args, *timeout, comm_out, comm_err);
  }
  return {std::move(comm_out), std::move(comm_err)};
}

// ---------------------------------------------------------------- spawning

namespace {

void check_no_nul(std::string_view s, const char* what) {
  if (s.find('\0') != std::string_view::npos) throw std::invalid_argument(std::string("sluice: embedded NUL byte in ") + what);
}

std::vector<std::string> exec_search_path(const std::optional<environment>& env) {
  std::string path;
  if (env) {
    auto it = env->find("PATH");
    path = it != env->end() ? it->second : "/bin:/usr/bin";
  } else {
    const char* p = std::getenv("PATH");
    path = p ? p : "/bin:/usr/bin";
  }
  std::vector<std::string> dirs;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = path.find(':', start);
    dirs.push_back(path.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dirs;
}

// Descriptors the parent holds only for the duration of the spawn.
struct temp_fds {
  std::vector<int> fds;
  const stream* owned[3] = {nullptr, nullptr, nullptr};
  ~temp_fds() {
    for (int f : fds) os::close_fd(f);
    for (auto* s : owned)
      if (s) s->release_owned();
  }
};

[[noreturn]] void throw_errno(int e, const std::string& filename, const std::string& what) {
  throw spawn_error(std::error_code(e, std::generic_category()), filename, what);
}

}  // namespace

void validate_common(const std::vector<std::string>& args, const options& o) {
  if (o.timeout) (void)deadline_after(*o.timeout);  // a negative or NaN timeout throws before anything starts
  if (args.empty()) throw std::invalid_argument("sluice: args must not be empty");
  for (auto& a : args) check_no_nul(a, "an argument");
  if (o.env)
    for (auto& [k, v] : *o.env) {
      check_no_nul(k, "an environment name");
      check_no_nul(v, "an environment value");
      if (k.find('=') != std::string::npos)
        throw std::invalid_argument("sluice: illegal environment variable name '" + k + "'");
    }
  if (o.cwd) check_no_nul(o.cwd->native(), "cwd");
  if (o.executable) check_no_nul(*o.executable, "executable");
  if (o.in.is(redirect::to_stdout)) throw std::invalid_argument("sluice: redirect::to_stdout is only valid for err");
  if (o.out.is(redirect::to_stdout)) throw std::invalid_argument("sluice: redirect::to_stdout is only valid for err");
  if (o.capture_output && (!o.out.is_inherit() || !o.err.is_inherit()))
    throw std::invalid_argument("sluice: capture_output may not be used with out or err");
  if (o.input && !o.in.is_inherit()) throw std::invalid_argument("sluice: input and in may not both be used");
  for (int f : o.pass_fds)
    if (f < 0) throw std::invalid_argument("sluice: pass_fds holds a negative descriptor");
}

void spawn_into(process_state& st, const options& o) {
  const auto& args = st.args;
  // argv and the program, as CPython's Popen._execute_child computes them.
  std::vector<std::string> argv;
  std::string program;
  if (o.shell) {
    argv = {"/bin/sh", "-c"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (o.executable) argv[0] = *o.executable;
    program = argv[0];
  } else {
    argv = args;
    program = o.executable ? *o.executable : args[0];
  }
  std::vector<std::string> candidates;
  if (program.find('/') != std::string::npos) {
    candidates.push_back(program);
  } else {
    for (auto& dir : exec_search_path(o.env)) candidates.push_back(dir.empty() ? program : dir + "/" + program);
  }
  std::vector<const char*> cand_ptrs;
  for (auto& c : candidates) cand_ptrs.push_back(c.c_str());
  std::vector<char*> argv_ptrs;
  for (auto& a : argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
  argv_ptrs.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> env_ptrs;
  char* const* envp = environ;
  if (o.env) {
    for (auto& [k, v] : *o.env) env_strings.push_back(k + "=" + v);
    for (auto& e : env_strings) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
    envp = env_ptrs.data();
  }

  temp_fds temps;
  int child_fd[3] = {-1, -1, -1};
  int devnull = -1;
  const stream* streams[3] = {&o.in, &o.out, &o.err};
  // Owned descriptors are closed whatever happens next, also when opening another stream fails.
  for (int i = 0; i < 3; ++i)
    if (streams[i]->type() == stream::kind::owned_fd) temps.owned[i] = streams[i];
  for (int i = 0; i < 3; ++i) {
    const stream& s = *streams[i];
    switch (s.type()) {
      case stream::kind::redirect:
        switch (s.redirection()) {
          case redirect::inherit:
            break;
          case redirect::pipe: {
            int p[2];
            if (os::make_pipe(p) != 0) throw std::system_error(errno, std::generic_category(), "sluice: pipe");
            if (i == 0) {
              child_fd[0] = p[0];
              temps.fds.push_back(p[0]);
              st.in = pipe_writer(fd(p[1]));
              st.in_piped = true;
            } else {
              child_fd[i] = p[1];
              temps.fds.push_back(p[1]);
              (i == 1 ? st.out : st.err) = pipe_reader(fd(p[0]));
              (i == 1 ? st.out_piped : st.err_piped) = true;
            }
            break;
          }
          case redirect::devnull:
            if (devnull < 0) {
              devnull = os::open_cloexec("/dev/null", O_RDWR);
              if (devnull < 0) throw_errno(errno, "/dev/null", "sluice: cannot open /dev/null");
              temps.fds.push_back(devnull);
            }
            child_fd[i] = devnull;
            break;
          case redirect::to_stdout:
            child_fd[2] = child_fd[1] >= 0 ? child_fd[1] : 1;
            break;
        }
        break;
      case stream::kind::parent_fd:
        child_fd[i] = s.parent_descriptor();
        break;
      case stream::kind::owned_fd:
        child_fd[i] = s.parent_descriptor();
        if (child_fd[i] < 0) throw std::invalid_argument("sluice: the fd given as a stream was already closed");
        break;
      case stream::kind::file:
      case stream::kind::append_file: {
        int flags = i == 0 ? O_RDONLY
                           : (O_WRONLY | O_CREAT | (s.type() == stream::kind::append_file ? O_APPEND : O_TRUNC));
        int f = os::open_cloexec(s.path().c_str(), flags);
        if (f < 0) throw_errno(errno, s.path().string(), "sluice: cannot open '" + s.path().string() + "'");
        temps.fds.push_back(f);
        child_fd[i] = f;
        break;
      }
    }
  }

  std::vector<int> pass = o.pass_fds;
  std::sort(pass.begin(), pass.end());
  pass.erase(std::unique(pass.begin(), pass.end()), pass.end());

  os::spawn_request req;
  req.exec_paths = cand_ptrs.data();
  req.n_exec_paths = cand_ptrs.size();
  req.argv = argv_ptrs.data();
  req.envp = envp;
  for (int i = 0; i < 3; ++i) req.std_fds[i] = child_fd[i];
  std::string cwd = o.cwd ? o.cwd->string() : std::string();
  req.cwd = o.cwd ? cwd.c_str() : nullptr;
  req.close_fds = o.close_fds || !pass.empty();
  req.pass_fds = pass.data();
  req.n_pass_fds = pass.size();
  req.restore_signals = o.restore_signals;
  req.new_session = o.start_new_session;
  req.process_group = o.process_group ? *o.process_group : -1;
  req.umask = o.umask ? static_cast<int>(*o.umask) : -1;

  os::spawn_result res = os::spawn(req);
  if (res.pid < 0) {
    // The parent's pipe ends go with the exception too: st is discarded by the caller.
    std::string name;
    std::string what;
    switch (res.step) {
      case os::spawn_step::exec:
        name = program;
        what = "sluice: cannot execute '" + program + "'";
        break;
      case os::spawn_step::cwd:
        name = cwd;
        what = "sluice: cannot change to directory '" + cwd + "'";
        break;
      case os::spawn_step::dup:
        what = "sluice: cannot set up the child's descriptors";
        break;
      case os::spawn_step::setsid:
        what = "sluice: setsid failed in the child";
        break;
      case os::spawn_step::setpgid:
        what = "sluice: setpgid failed in the child";
        break;
      default:
        what = "sluice: cannot create the child process";
        break;
    }
    throw_errno(res.error, name, what);
  }
  st.pid = res.pid;
  st.pidfd = res.pidfd;
}

}  // namespace detail

// ---------------------------------------------------------------- process

namespace {
detail::process_state& must(const std::unique_ptr<detail::process_state>& s) {
  if (!s) throw std::logic_error("sluice::process: used after being moved from");
  return *s;
}
}  // namespace

process::process(std::vector<std::string> args, options opts) {
  detail::validate_common(args, opts);
  if (opts.input || opts.capture_output || opts.timeout || opts.check)
    throw std::invalid_argument("sluice::process: input, capture_output, timeout and check belong to run()");
  auto st = std::make_unique<detail::process_state>();
  st->args = std::move(args);
  detail::spawn_into(*st, opts);
  state_ = std::move(st);
}

process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;
process::~process() = default;

pid_t process::pid() const noexcept { return state_ ? state_->pid : -1; }
int process::pidfd() const noexcept { return state_ ? state_->pidfd : -1; }

const std::vector<std::string>& process::args() const noexcept {
  static const std::vector<std::string> none;
  return state_ ? state_->args : none;
}

std::optional<int> process::returncode() const noexcept {
  if (!state_) return std::nullopt;
  int rc = state_->returncode.load(std::memory_order_acquire);
  return rc == detail::still_running ? std::nullopt : std::optional<int>(rc);
}

std::optional<int> process::poll() { return must(state_).poll(); }
int process::wait(std::optional<seconds> timeout) { return must(state_).wait(timeout); }

std::pair<std::string, std::string> process::communicate(std::string_view input, std::optional<seconds> timeout) {
  return must(state_).communicate(input, timeout);
}

void process::send_signal(int sig) { must(state_).signal(sig); }
void process::terminate() { send_signal(SIGTERM); }
void process::kill() { send_signal(SIGKILL); }

pipe_writer& process::in() {
  auto& st = must(state_);
  if (!st.in_piped) throw std::logic_error("sluice::process::in: stdin is not redirect::pipe");
  return st.in;
}

pipe_reader& process::out() {
  auto& st = must(state_);
  if (!st.out_piped) throw std::logic_error("sluice::process::out: stdout is not redirect::pipe");
  return st.out;
}

pipe_reader& process::err() {
  auto& st = must(state_);
  if (!st.err_piped) throw std::logic_error("sluice::process::err: stderr is not redirect::pipe");
  return st.err;
}

// ---------------------------------------------------------------- run and friends

completed_process run(std::vector<std::string> args, options opts) {
  detail::validate_common(args, opts);
  if (opts.capture_output) {
    opts.out = redirect::pipe;
    opts.err = redirect::pipe;
  }
  std::optional<std::string> input = std::move(opts.input);
  if (input) opts.in = redirect::pipe;
  auto timeout = opts.timeout;
  bool check = opts.check;
  opts.input.reset();
  opts.capture_output = false;
  opts.timeout.reset();
  opts.check = false;

  process p(args, std::move(opts));
  std::pair<std::string, std::string> output;
  try {
    output = p.communicate(input ? std::string_view(*input) : std::string_view(), timeout);
  } catch (timeout_expired&) {
    p.kill();
    p.wait();
    throw;
  }
  completed_process r{std::move(args), *p.returncode(), std::move(output.first), std::move(output.second)};
  if (check) r.check_returncode();
  return r;
}

int call(std::vector<std::string> args, options opts) { return run(std::move(args), std::move(opts)).returncode; }

void check_call(std::vector<std::string> args, options opts) {
  opts.check = true;
  run(std::move(args), std::move(opts));
}

std::string check_output(std::vector<std::string> args, options opts) {
  if (!opts.out.is_inherit() || opts.capture_output)
    throw std::invalid_argument("sluice::check_output: out may not be set, it is captured");
  opts.out = redirect::pipe;
  opts.check = true;
  return run(std::move(args), std::move(opts)).out;
}

std::pair<int, std::string> getstatusoutput(const std::string& command) {
  auto r = run({command}, {.out = redirect::pipe, .err = redirect::to_stdout, .shell = true});
  std::string data = std::move(r.out);
  if (!data.empty() && data.back() == '\n') data.pop_back();
  return {r.returncode, std::move(data)};
}

std::string getoutput(const std::string& command) { return getstatusoutput(command).second; }

}  // namespace sluice
