// src/subprocess_pipes.cpp -- pipe_writer and pipe_reader: blocking and timed reads and writes on one pipe.
#include <sluice/subprocess.hpp>

#include <algorithm>
#include <cerrno>

#include <poll.h>

#include <sluice/detail/deadline.hpp>
#include "subprocess_state.hpp"

namespace sluice {

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

}  // namespace sluice
