// Output: each job's stdout and stderr are collected in a spool (memory up to a threshold, then an unlinked
// temp file in $TMPDIR, so a 10 GiB output needs no 10 GiB of RAM), and handed as chunks through a bounded
// queue to one writer thread, which prints them (with --tag prefixes) without ever interleaving two chunks.
#pragma once
#include <cstddef>
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <sluice/queue.hpp>

namespace sluice::app {

// A growing byte store: memory first, then an unlinked temp file. Move-only; the file is closed on destruction.
class spool {
 public:
  spool() = default;
  spool(spool&& o) noexcept;
  spool& operator=(spool&& o) noexcept;
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;
  ~spool();

  void append(const char* data, std::size_t n);  // throws std::system_error when the temp file cannot be written
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string read_all() const;  // the whole content (for --results)
  // Removes and returns the complete lines held in memory (for --line-buffer); never spills.
  std::string take_lines();
  std::string take_all_memory();
  void spill();  // moves what is in memory to the temp file (when nothing was spilled yet)

  static std::size_t threshold;  // bytes kept in memory per stream before spilling

  std::string mem_;
  int fd_ = -1;  // the temp file, once spilled

 private:
  std::size_t size_ = 0;
};

// What the writer prints as one unit: stdout part then stderr part, each optionally line-prefixed.
struct output_chunk {
  spool out;
  spool err;
  std::string prefix;        // --tag / --tagstring: put before every line
  bool out_at_line_start = true;
  bool err_at_line_start = true;
};

class output_writer {
 public:
  output_writer();  // starts the writer thread
  output_writer(const output_writer&) = delete;
  output_writer& operator=(const output_writer&) = delete;
  ~output_writer();  // finish(): prints what is queued, joins

  void put(output_chunk c);  // blocks while the queue is full (stdout is slow): back-pressure on the runner
  void finish();
  bool stdout_broken() const noexcept { return broken_.load(); }  // EPIPE on stdout: nobody reads any more

 private:
  void run();
  sluice::queue<output_chunk> queue_;
  std::thread thread_;
  bool finished_ = false;
  std::atomic<bool> broken_{false};
};

// Writes all of data to fd, retrying short writes and EINTR; false on a hard error (EPIPE, ENOSPC).
bool write_all(int fd, const char* data, std::size_t n);

}  // namespace sluice::app
