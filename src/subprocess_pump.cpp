// src/subprocess_pump.cpp -- the poll loop: feeding stdin and draining stdout/stderr at once, and communicate() on it.
#include <algorithm>
#include <cerrno>
#include <system_error>

#include <poll.h>

#include "output_prefaulter.hpp"
#include "subprocess_state.hpp"

namespace sluice::detail {

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
  constexpr std::size_t lend_min = std::size_t(4) << 20;
  std::optional<os::sigpipe_guard> guard;
  if (in && in->fd_) {
    guard.emplace();
    // Non-blocking, so that a write never stalls the loop while the child waits for us to read.
    os::set_nonblocking(in->fd_.get(), true);
    if (input.size() - written > (std::size_t(1) << 16)) os::grow_pipe(in->fd_.get(), int(max_chunk));
  }
  // Without a deadline, a big input is lent to the pipe (vmsplice) rather than copied into it: the child reads
  // straight from `input`, one copy per byte instead of two. Safe because `input` cannot change while this call
  // runs, and the call never returns with a lent byte still readable: the last bytes (twice the largest pipe an
  // unprivileged child could make of its stdin) go by write(), as copies, and those can only all fit once every
  // lent page has been read (a pipe holds capacity/4096 buffers, and lent pages never merge with copies); EPIPE
  // means no reader is left to read them. (A privileged child that grows its stdin pipe beyond pipe-max-size
  // in mid-transfer would void that count.) A deadline could end the call with lent bytes in the pipe and the
  // child alive, so a timed call only copies. On an exception the pipe is drained (see below).
  std::size_t lend_until = 0;  // input [written, lend_until) may be lent
  bool lent_any = false;
  if (in && in->fd_ && !deadline && input.size() - written >= lend_min) {
    const long cap = std::max<long>(os::pipe_size(in->fd_.get()), os::pipe_size_limit());
    if (cap > 0 && os::pipe_size_limit() > 0 && input.size() - written > 2 * std::size_t(cap) + lend_min)
      lend_until = input.size() - 2 * static_cast<std::size_t>(cap);
  }
  try {
    return pump_loop(in, input, written, readers, n, deadline, watched, lend_until, lent_any);
  } catch (...) {
    // Lent bytes still in the pipe would be read after the caller got control back (and maybe changed or freed
    // `input`): take them out of the pipe first. The child then misses them -- after an exception the stream it
    // received is not complete anyway.
    if (lent_any && in->fd_ && written < input.size()) os::drain_pipe(in->fd_.get());
    throw;
  }
}

bool process_state::pump_loop(pipe_writer* in, std::string_view input, std::size_t& written, pump_reader* readers,
                              std::size_t n, const os::clock::time_point* deadline, process_state* watched,
                              std::size_t lend_until, bool& lent_any) {
  constexpr std::size_t max_chunk = std::size_t(1) << 20;
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
        ssize_t w = -1;
        if (written < lend_until) {
          w = os::lend_to_pipe(in->fd_.get(), input.data() + written, std::min(len, lend_until - written));
          if (w > 0) lent_any = true;
          if (w < 0 && errno != EAGAIN && errno != EPIPE) lend_until = 0;  // refused: copy from here on
        }
        if (written >= lend_until) w = os::write_some(in->fd_.get(), input.data() + written, len);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno != EAGAIN) {
          // EPIPE (the child stopped reading, maybe exited) is not an error, as in Python; nor is anything
          // else worth losing the output over: stop feeding and keep reading. A reader may be left after an
          // error other than EPIPE: no lent byte may stay in the pipe for it.
          if (lent_any && errno != EPIPE) os::drain_pipe(in->fd_.get());
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
        ssize_t got = os::read_append(rd.fd_.get(), sink, want);  // no zero-fill of the room first
        const int read_errno = errno;
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
  if (!wait_until(dl)) throw timeout_expired(args, *timeout, comm_out, comm_err);
  return {std::move(comm_out), std::move(comm_err)};
}

}  // namespace sluice::detail
