// src/aio_stream.cpp -- stream_reader and stream_writer: pipes on the loop, edge-triggered.
#include <cerrno>
#include <cstring>
#include <system_error>

#include "aio_internal.hpp"
#include "posix/platform.hpp"

namespace sluice::aio {

namespace os = sluice::detail::os;

namespace detail {

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
thread_local char chunk[read_chunk];
}  // namespace

bool io_await::await_ready() {
  if (cancel_pending_on_entry()) {
    w.cancelled = true;
    return true;
  }
  waiter*& slot = for_write ? s.writer : s.reader;
  if (slot) throw std::logic_error("sluice::aio: another task already waits on this stream");
  return for_write ? s.writable : s.readable;
}

void io_await::await_suspend(std::coroutine_handle<> h) {
  loop_impl::require().suspend(&w, h);
  (for_write ? s.writer : s.reader) = &w;
  w.context = this;
  w.on_cancel = [](waiter* w) noexcept {
    auto* self = static_cast<io_await*>(w->context);
    waiter*& slot = self->for_write ? self->s.writer : self->s.reader;
    if (slot == w) slot = nullptr;
    return true;
  };
}

void io_await::await_resume() {
  waiter*& slot = for_write ? s.writer : s.reader;
  if (slot == &w) slot = nullptr;
  resume_or_throw(w);
}

// ---- reader ----------------------------------------------------------------------------------------------
reader_state::reader_state(sluice::fd fd) : loop(&loop_impl::require()), alive(loop->remote()), f(std::move(fd)) {
  os::set_nonblocking(f.get(), true);
  io.fd = f.get();
  io.readable = io.writable = true;
  loop->watch(io);
  // In the epoll set, data already there is reported by an event at once (edge-triggered, as added): waiting
  // for it saves a read that fails with EAGAIN on every fresh pipe (a job runner's two per job).
  if (io.registered) io.readable = false;
}

reader_state::~reader_state() {
  if (!alive->closed) loop->unwatch(io);
}

read_result reader_state::read_once() {
  if (eof) return read_result::eof;
  if (!io.readable) return read_result::would_block;
  ssize_t n = os::read_some(f.get(), chunk, read_chunk);
  const int err = errno;
  if (n > 0) {
    if (pos == buf.size()) {
      buf.clear();
      pos = 0;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  return read_outcome(n, err, read_chunk);
}

read_result reader_state::read_into(std::string& dst, std::size_t want) {
  if (eof) return read_result::eof;
  if (!io.readable) return read_result::would_block;
  const std::size_t old = dst.size();
  if (dst.capacity() - old < want) dst.reserve(std::max(old + want, dst.capacity() * 2));
  ssize_t n = os::read_append(f.get(), dst, want);  // no zero-fill of the room first
  return read_outcome(n, errno, want);
}

read_result reader_state::read_outcome(ssize_t n, int err, std::size_t asked) {
  if (n > 0) {
    // A short read drained the pipe: wait for the next edge (unless it hung up, which gives no further edge).
    if (static_cast<std::size_t>(n) < asked && !io.always_ready && !io.hangup) io.readable = false;
    return read_result::data;
  }
  if (n == 0) {
    eof = true;
    return read_result::eof;
  }
  if (err == EAGAIN || err == EWOULDBLOCK) {
    io.readable = false;
    return read_result::would_block;
  }
  throw std::system_error(err, std::generic_category(), "sluice::aio::stream_reader: read");
}

task<bool> reader_state::fill() {
  for (;;) {
    switch (read_once()) {
      case read_result::data: co_return true;
      case read_result::eof: co_return false;
      case read_result::would_block: break;
    }
    co_await io_await{{}, io, false};
  }
}

std::string reader_state::take(std::size_t n) {
  n = std::min(n, buf.size() - pos);
  std::string out;
  if (pos == 0 && n == buf.size()) {
    out.swap(buf);
  } else {
    out.assign(buf, pos, n);
    pos += n;
  }
  if (pos == buf.size()) {
    buf.clear();
    pos = 0;
  }
  return out;
}

// ---- writer ----------------------------------------------------------------------------------------------
writer_state::writer_state(sluice::fd fd) : loop(&loop_impl::require()), alive(loop->remote()), f(std::move(fd)) {
  os::set_nonblocking(f.get(), true);
  io.fd = f.get();
  io.readable = io.writable = true;
  io.owner = this;
  io.on_writable = [](io_state* s) noexcept { static_cast<writer_state*>(s->owner)->flush(); };
  loop->watch(io);
}

writer_state::~writer_state() { close_now(); }

void writer_state::close_now() noexcept {
  if (!f) return;
  if (!alive->closed) loop->unwatch(io);
  f.close();
  closed = true;
  buf.clear();
  pos = 0;
  waiters.wake_all();
}

void writer_state::flush() noexcept {
  while (f && pos < buf.size() && io.writable) {
    ssize_t n = os::write_some(f.get(), buf.data() + pos, buf.size() - pos);
    if (n > 0) {
      pos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      io.writable = false;
      break;
    }
    error = n < 0 ? errno : EIO;  // EPIPE: the reader is gone; the rest is dropped
    buf.clear();
    pos = 0;
    break;
  }
  if (pos == buf.size()) {
    buf.clear();
    pos = 0;
  } else if (pos > high_water) {
    buf.erase(0, pos);
    pos = 0;
  }
  if (closing && buf.empty()) close_now();
  if (buffered() <= high_water) waiters.wake_all();
}

}  // namespace detail

// ---- public ----------------------------------------------------------------------------------------------
incomplete_read::incomplete_read(std::string partial, std::string what)
    : std::runtime_error(std::move(what)), partial_(std::move(partial)) {}

stream_reader::stream_reader() noexcept = default;
stream_reader::stream_reader(stream_reader&&) noexcept = default;
stream_reader& stream_reader::operator=(stream_reader&&) noexcept = default;
stream_reader::~stream_reader() = default;
stream_reader::stream_reader(sluice::fd f) : s_(std::make_unique<detail::reader_state>(std::move(f))) {}

namespace {
detail::reader_state& reader_of(const std::unique_ptr<detail::reader_state>& s) {
  if (!s) throw std::logic_error("sluice::aio::stream_reader: no stream (moved from, or not a pipe)");
  return *s;
}
detail::writer_state& writer_of(const std::unique_ptr<detail::writer_state>& s) {
  if (!s) throw std::logic_error("sluice::aio::stream_writer: no stream (moved from, or not a pipe)");
  return *s;
}

// g++ 12 miscompiles this coroutine when the fill() awaits sit in a while condition or a brace-less if (the
// first resume lands on a bad resume index: SIGILL): each await is a statement of its own here.
task<std::string> read_up_to(detail::reader_state& r, std::ptrdiff_t n) {
  if (n < 0) {
    for (;;) {
      bool more = co_await r.fill();
      if (!more) break;
    }
    n = static_cast<std::ptrdiff_t>(r.buf.size() - r.pos);
  } else if (n > 0 && r.buf.size() == r.pos) {
    bool got = co_await r.fill();
    (void)got;
  }
  co_return r.take(static_cast<std::size_t>(n));
}

task<std::string> read_until(detail::reader_state& r, std::string sep, bool eof_ok) {
  std::size_t searched = r.pos;
  for (;;) {
    std::size_t at = r.buf.find(sep, searched);
    if (at != std::string::npos) co_return r.take(at + sep.size() - r.pos);
    if (r.buf.size() - r.pos >= sep.size()) searched = r.buf.size() - sep.size() + 1;
    if (!co_await r.fill()) {
      std::string partial = r.take(r.buf.size() - r.pos);
      if (eof_ok) co_return partial;
      throw incomplete_read(std::move(partial), "sluice::aio::stream_reader::readuntil: end of file before the separator");
    }
  }
}

task<std::string> read_exactly(detail::reader_state& r, std::size_t n) {
  while (r.buf.size() - r.pos < n) {
    if (!co_await r.fill()) {
      std::string partial = r.take(r.buf.size() - r.pos);
      throw incomplete_read(std::move(partial), "sluice::aio::stream_reader::readexactly: " + std::to_string(n) +
                                                    " bytes expected, end of file after " +
                                                    std::to_string(partial.size()));
    }
  }
  co_return r.take(n);
}
}  // namespace

task<std::string> stream_reader::read(std::ptrdiff_t n) { return read_up_to(reader_of(s_), n); }
task<std::string> stream_reader::read() { return read_up_to(reader_of(s_), -1); }
task<std::string> stream_reader::readline() { return read_until(reader_of(s_), "\n", true); }
task<std::string> stream_reader::readexactly(std::size_t n) { return read_exactly(reader_of(s_), n); }
task<std::string> stream_reader::readuntil(std::string separator) {
  if (separator.empty()) throw std::invalid_argument("sluice::aio::stream_reader::readuntil: empty separator");
  return read_until(reader_of(s_), std::move(separator), false);
}
bool stream_reader::at_eof() const noexcept { return s_ && s_->eof && s_->pos == s_->buf.size(); }

std::string stream_reader::read_nowait(std::size_t n) {
  auto& r = reader_of(s_);
  if (r.io.reader) throw std::logic_error("sluice::aio::stream_reader::read_nowait: another task waits in a read");
  if (n == 0) return {};
  if (r.buf.size() == r.pos && !r.eof) {
    // Try even without a readiness edge: the loop may not have seen this turn's data yet, and a non-blocking
    // read that finds nothing only clears the flag again.
    r.io.readable = true;
    r.read_once();
  }
  return r.take(n);
}

stream_writer::stream_writer() noexcept = default;
stream_writer::stream_writer(stream_writer&&) noexcept = default;
stream_writer& stream_writer::operator=(stream_writer&&) noexcept = default;
stream_writer::~stream_writer() = default;
stream_writer::stream_writer(sluice::fd f) : s_(std::make_unique<detail::writer_state>(std::move(f))) {}

void stream_writer::write(std::string_view data) {
  auto& w = writer_of(s_);
  if (w.closing || w.closed) throw std::logic_error("sluice::aio::stream_writer::write: the stream is closed");
  if (w.error || data.empty()) return;  // after EPIPE data is dropped; drain() reports it
  w.buf.append(data);
  if (!w.suspended) w.flush();
}

task<void> stream_writer::drain() {
  auto& w = writer_of(s_);
  while (!w.error && w.buffered() > w.high_water && !w.closed) {
    co_await w.waiters.wait();
  }
  if (w.error) throw std::system_error(w.error, std::generic_category(), "sluice::aio::stream_writer::drain");
}

void stream_writer::close() {
  if (!s_) return;
  auto& w = *s_;
  if (w.closed || w.closing) return;
  w.closing = true;
  w.flush();
}

task<void> stream_writer::wait_closed() {
  auto& w = writer_of(s_);
  while (!w.closed) {
    co_await w.waiters.wait();
  }
}

std::size_t stream_writer::buffered() const noexcept { return s_ ? s_->buffered() : 0; }
bool stream_writer::is_closing() const noexcept { return s_ && (s_->closing || s_->closed); }

stream_reader connect_read_pipe(sluice::fd f) {
  if (!f) throw std::invalid_argument("sluice::aio::connect_read_pipe: an empty descriptor");
  return stream_reader(std::move(f));
}
stream_writer connect_write_pipe(sluice::fd f) {
  if (!f) throw std::invalid_argument("sluice::aio::connect_write_pipe: an empty descriptor");
  return stream_writer(std::move(f));
}

}  // namespace sluice::aio
