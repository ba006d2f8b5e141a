// src/aio_internal.hpp -- the state behind sluice::aio's streams and processes (private).
#pragma once
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "sluice/aio/process.hpp"
#include "sluice/aio/sync.hpp"

namespace sluice::aio::detail {

// Waits until a watched descriptor is readable (or writable). Cancellable.
struct io_await : cancellable_await {
  io_state& s;
  bool for_write;
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();
};

enum class read_result { data, eof, would_block };

struct reader_state {
  explicit reader_state(sluice::fd fd);
  ~reader_state();
  read_result read_once();  // one non-blocking read into buf
  read_result read_into(std::string& dst, std::size_t want);  // one non-blocking read appended to dst (buf empty)
  read_result read_outcome(ssize_t n, int err, std::size_t asked);  // what a read of `asked` returning n means
  task<bool> fill();        // reads at least one byte into buf, waiting as needed; false at end of file
  std::string take(std::size_t n);

  loop_impl* loop;
  std::shared_ptr<remote_queue> alive;  // closed once the loop ended: nothing to unregister from then
  sluice::fd f;
  io_state io;
  std::string buf;
  std::size_t pos = 0;
  bool eof = false;
};

struct writer_state {
  explicit writer_state(sluice::fd fd);
  ~writer_state();
  void flush() noexcept;  // writes what it can without waiting
  void close_now() noexcept;
  std::size_t buffered() const noexcept { return buf.size() - pos; }

  static constexpr std::size_t high_water = 64 * 1024;
  loop_impl* loop;
  std::shared_ptr<remote_queue> alive;
  sluice::fd f;
  io_state io;
  std::string buf;
  std::size_t pos = 0;
  int error = 0;
  bool closing = false;
  bool closed = false;
  bool suspended = false;  // communicate() owns the descriptor for now
  wait_queue waiters;      // drain() and wait_closed()
};

}  // namespace sluice::aio::detail
