// Output: each job's stdout and stderr are collected in a spool (memory up to a threshold, then an unlinked
// temp file in $TMPDIR, so a 10 GiB output needs no 10 GiB of RAM), and handed as chunks through a bounded
// queue to one writer thread, which prints them (with --tag prefixes) without ever interleaving two chunks.
// The job loop hands chunks over with aio::put on that queue (see writer_queue()), so a slow stdout holds
// back the loop's output task, never the loop.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <sluice/subprocess.hpp>

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
  // --compress: every byte goes through this shell command into the temp file (nothing is kept in memory), and
  // is read back through the decompressor. Empty: no compression.
  static std::string compress_program;
  static std::string decompress_program;
  // --compress: ends the compressor (the spool is complete); false when it failed (its status not 0).
  bool seal();
  void compress_from_now() noexcept { compress_ = !compress_program.empty(); }  // (a job's own output only)
  bool compressed() const noexcept { return compressed_; }
  std::string read_raw() const;  // the temp file's bytes as they are (compressed), after the memory part
  // Runs the decompressor on the sealed temp file with its stdout to fd (a pipe of ours when fd < 0, read
  // through sink); 0 or an errno.
  int decompress(int fd, const std::function<int(const char*, std::size_t)>& sink) const;

  std::string mem_;
  int fd_ = -1;  // the temp file, once spilled
  std::size_t file_size_ = 0;  // bytes in it

 private:
  void write_file(const char* data, std::size_t n);
  std::size_t size_ = 0;
  std::unique_ptr<sluice::process> compressor_;
  bool compressed_ = false;
  bool compress_ = false;
};

// What the writer prints as one unit: stdout part then stderr part, each optionally line-prefixed.
struct output_chunk {
  spool out;
  spool err;
  std::string prefix;        // --tag / --tagstring: put before every line
  std::string color;         // --color: put before the prefix of every line, which then ends in a reset and a
                             // newline (a last line without one gets it)
  bool out_at_line_start = true;
  bool err_at_line_start = true;
};

class output_writer {
 public:
  // Starts the writer thread. on_broken runs once, on the writer thread, at the first EPIPE on stdout
  // (nobody reads any more); later chunks are dropped.
  explicit output_writer(std::function<void()> on_broken);
  output_writer(const output_writer&) = delete;
  output_writer& operator=(const output_writer&) = delete;
  ~output_writer();  // finish(): prints what is queued, joins

  sluice::queue<output_chunk>& writer_queue() noexcept { return queue_; }  // bounded: put waits while stdout is slow
  void finish();  // closes the queue, waits until everything queued is printed

 private:
  void run();
  sluice::queue<output_chunk> queue_;
  std::function<void()> on_broken_;
  std::thread thread_;
  bool finished_ = false;
};

// --files: writes the spool to a new file $TMPDIR/parXXXXX.par (mode 0600, as GNU parallel names it) and
// returns its name; throws std::system_error when it cannot.
std::string write_output_file(const spool& s);
// --cat: writes data to a new file $TMPDIR/parXXXXX (mode 0666 less the umask) and returns its name.
std::string write_temp_file(const std::string& data);
// A name as GNU parallel makes its temporary files: $TMPDIR (else /tmp) / prefix + five random letters or
// digits. Nothing is created (for --dry-run, which shows such names).
std::string temp_name(const std::string& prefix);

// Writes all of data to fd (sluice::try_write_all: no SIGPIPE); false on a hard error (EPIPE, ENOSPC).
bool write_all(int fd, const char* data, std::size_t n);

}  // namespace sluice::app
