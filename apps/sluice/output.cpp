#include "output.hpp"

#include "color.hpp"

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <utility>
#include <string>
#include <system_error>


#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

namespace sluice::app {

std::size_t spool::threshold = 256 * 1024;
std::string spool::compress_program;
std::string spool::decompress_program;

namespace {

int open_temp_file() {
  const char* dir = std::getenv("TMPDIR");
  std::string d = (dir != nullptr && *dir != '\0') ? dir : "/tmp";
  // Never visible, so nothing is left behind even after SIGKILL.
  return sluice::create_unnamed_file(d).release();
}

// Copies text to fd, putting prefix before each line start; at_line_start carries over between calls.
// As GNU's --tag, a carriage return starts a line too (a progress line redrawn with \r keeps its tag).
// 0 or the errno that stopped it.
int write_prefixed(int fd, const char* data, std::size_t n, const std::string& prefix, bool& at_line_start) {
  if (prefix.empty()) return sluice::try_write_all(fd, {data, n});
  std::string buf;
  buf.reserve(n + prefix.size() * 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (at_line_start) {
      buf += prefix;
      at_line_start = false;
    }
    buf += data[i];
    if (data[i] == '\n' || data[i] == '\r') at_line_start = true;
  }
  return sluice::try_write_all(fd, buf);
}

// --color: every line is colour + prefix + text + reset + newline; a carriage return inside a line also ends
// the colour and starts it again with the prefix (GNU parallel's rendering).
int write_colored(int fd, const char* data, std::size_t n, const std::string& color, const std::string& prefix,
                  bool& at_line_start) {
  std::string buf;
  buf.reserve(n + (color.size() + prefix.size() + 4) * 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (at_line_start) {
      buf += color;
      buf += prefix;
      at_line_start = false;
    }
    if (data[i] == '\n') {
      buf += k_color_reset;
      buf += '\n';
      at_line_start = true;
    } else if (data[i] == '\r') {
      buf += k_color_reset;
      buf += '\r';
      buf += color;
      buf += prefix;
    } else {
      buf += data[i];
    }
  }
  return sluice::try_write_all(fd, buf);
}

// Prints a spool (memory part, then what was spilled to its temp file); 0 or the errno that stopped it.
int emit(int target, const spool& s, const std::string& prefix, bool at_line_start, const std::string& color = {}) {
  if (!color.empty()) {
    bool start = true;
    std::string all = s.read_all();  // (decompressed)
    if (int e = write_colored(target, all.data(), all.size(), color, prefix, start)) return e;
    if (!start) return sluice::try_write_all(target, std::string(k_color_reset) + "\n");
    return 0;
  }
  if (int e = write_prefixed(target, s.mem_.data(), s.mem_.size(), prefix, at_line_start)) return e;
  if (s.fd_ < 0) return 0;
  if (s.compressed())
    return s.decompress(prefix.empty() ? target : -1, [&](const char* d, std::size_t n) {
      return write_prefixed(target, d, n, prefix, at_line_start);
    });
  std::string buf(std::min<std::size_t>(s.file_size_, 1 << 20), '\0');
  std::uint64_t off = 0;
  while (off < s.file_size_) {
    std::size_t r;
    try {
      r = sluice::read_some_at(s.fd_, buf.data(), std::min<std::size_t>(buf.size(), s.file_size_ - off), off);
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    if (r == 0) return EIO;  // the temp file shrank under us
    if (int e = write_prefixed(target, buf.data(), r, prefix, at_line_start)) return e;
    off += r;
  }
  return 0;
}

}  // namespace

namespace {
// A new file $TMPDIR/par + 5 random characters + suffix, opened for writing (GNU parallel's temp names).
std::pair<std::string, int> create_par_file(const char* suffix, mode_t mode) {
  const char* dir = std::getenv("TMPDIR");
  std::string d = (dir != nullptr && *dir != '\0') ? dir : "/tmp";
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
  static std::minstd_rand rng(static_cast<unsigned>(std::random_device{}()) ^ static_cast<unsigned>(sluice::system::pid()));
  for (int attempt = 0;; ++attempt) {
    std::string name = d + "/par";
    for (int i = 0; i < 5; ++i) name += alphabet[rng() % (sizeof alphabet - 1)];
    name += suffix;
    try {
      return {name, sluice::create_new_file(name, mode).release()};
    } catch (const std::system_error& e) {
      if (e.code() == std::errc::file_exists && attempt < 1000) continue;
      throw;
    }
  }
}
}  // namespace

std::string write_output_file(const spool& s) {
  auto [name, fd] = create_par_file(".par", 0600);
  // --compress: the file holds the compressed output, as GNU's does.
  int e = s.compressed() ? sluice::try_write_all(fd, s.read_raw()) : emit(fd, s, "", true);
  sluice::fd(fd).close();
  if (e != 0) throw std::system_error(e, std::generic_category(), "cannot write " + name);
  return name;
}

std::string write_temp_file(const std::string& data) {
  auto [name, fd] = create_par_file("", 0666);
  int e = sluice::try_write_all(fd, data);
  sluice::fd(fd).close();
  if (e != 0) throw std::system_error(e, std::generic_category(), "cannot write " + name);
  return name;
}

std::string temp_name(const std::string& prefix) {
  static const char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::mt19937 gen{std::random_device{}()};
  const char* dir = std::getenv("TMPDIR");
  std::string name = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/" + prefix;
  for (int k = 0; k < 5; ++k) name += k_chars[gen() % (sizeof k_chars - 1)];
  return name;
}

bool write_all(int fd, const char* data, std::size_t n) { return sluice::try_write_all(fd, {data, n}) == 0; }

spool::spool(spool&& o) noexcept
    : mem_(std::move(o.mem_)), fd_(o.fd_), file_size_(o.file_size_), size_(o.size_),
      compressor_(std::move(o.compressor_)), compressed_(o.compressed_), compress_(o.compress_) {
  o.compressed_ = false;
  o.fd_ = -1;
  o.file_size_ = 0;
  o.size_ = 0;
  o.mem_.clear();
}

spool& spool::operator=(spool&& o) noexcept {
  if (this != &o) {
    sluice::fd(fd_).close();
    mem_ = std::move(o.mem_);
    fd_ = o.fd_;
    file_size_ = o.file_size_;
    size_ = o.size_;
    compressor_ = std::move(o.compressor_);
    compressed_ = o.compressed_;
    compress_ = o.compress_;
    o.compressed_ = false;
    o.fd_ = -1;
    o.file_size_ = 0;
    o.size_ = 0;
    o.mem_.clear();
  }
  return *this;
}

spool::~spool() {
  sluice::fd(fd_).close();
}

void spool::append(const char* data, std::size_t n) {
  if (n == 0) return;
  size_ += n;
  if (compress_) {
    if (!compressor_ && !compressed_) {
      fd_ = open_temp_file();
      sluice::options o;
      o.in = sluice::redirect::pipe;
      o.out = sluice::stream(fd_);  // (a duplicate: the compressor writes the file, we read it back with pread)
      compressor_ = std::make_unique<sluice::process>(std::vector<std::string>{"/bin/sh", "-c", compress_program}, std::move(o));
      compressed_ = true;
    }
    if (!compressor_) return;  // (sealed: the job has ended)
    try {
      compressor_->in().write(std::string_view(data, n));
    } catch (const std::system_error&) {
      // The compressor is gone: what it did not take is lost, and seal() reports its failure.
    }
    return;
  }
  if (fd_ < 0 && mem_.size() + n <= threshold) {
    mem_.append(data, n);
    return;
  }
  if (fd_ < 0) fd_ = open_temp_file();
  write_file(data, n);
}

void spool::write_file(const char* data, std::size_t n) {
  if (int e = sluice::try_write_all(fd_, {data, n})) throw std::system_error(e, std::generic_category(), "writing a temp file");
  file_size_ += n;
}

void spool::spill() {
  if (fd_ >= 0 || mem_.empty()) return;
  fd_ = open_temp_file();
  write_file(mem_.data(), mem_.size());
  std::string().swap(mem_);
}

bool spool::seal() {
  if (!compressor_) return true;
  int status = 1;
  try {
    compressor_->in().close();
    status = compressor_->wait();
  } catch (const std::exception&) {
  }
  compressor_.reset();
  compress_ = false;
  if (status != 0) {  // nothing to read back: the output is lost, as in GNU
    sluice::fd(fd_).close();
    fd_ = -1;
    size_ = file_size_ = 0;
    compressed_ = false;
    return false;
  }
  file_size_ = sluice::file_size(fd_);
  return true;
}

std::string spool::read_raw() const {
  std::string out = mem_;
  std::size_t base = out.size();
  out.resize(base + file_size_);
  std::size_t off = 0;
  while (fd_ >= 0 && off < file_size_) {
    std::size_t r = sluice::read_some_at(fd_, out.data() + base + off, file_size_ - off, off);
    if (r == 0) break;
    off += r;
  }
  out.resize(base + off);
  return out;
}

int spool::decompress(int fd, const std::function<int(const char*, std::size_t)>& sink) const {
  try {
    sluice::rewind_file(fd_);
    sluice::options o;
    o.in = sluice::stream(fd_);
    o.out = fd >= 0 ? sluice::stream(fd) : sluice::stream(sluice::redirect::pipe);
    sluice::process p(std::vector<std::string>{"/bin/sh", "-c", decompress_program}, std::move(o));
    int e = 0;
    if (fd < 0) {
      for (;;) {
        std::string d = p.out().read(1 << 16);
        if (d.empty()) break;
        if (e == 0) e = sink(d.data(), d.size());
      }
    }
    p.wait();
    return e;
  } catch (const std::system_error& x) {
    return x.code().value() != 0 ? x.code().value() : EIO;
  } catch (const std::exception&) {
    return EIO;
  }
}

std::string spool::read_all() const {
  if (compressed_) {
    std::string out = mem_;
    decompress(-1, [&](const char* d, std::size_t n) {
      out.append(d, n);
      return 0;
    });
    return out;
  }
  std::string out = mem_;
  if (fd_ >= 0) {
    std::size_t base = out.size();
    out.resize(base + file_size_);
    std::size_t off = 0;
    while (off < file_size_) {
      std::size_t r = sluice::read_some_at(fd_, out.data() + base + off, file_size_ - off, off);
      if (r == 0) break;
      off += r;
    }
    out.resize(base + off);
  }
  return out;
}

std::string spool::take_lines() {
  auto nl = mem_.rfind('\n');
  if (nl == std::string::npos) return {};
  std::string lines = mem_.substr(0, nl + 1);
  mem_.erase(0, nl + 1);
  size_ -= lines.size();
  return lines;
}

std::string spool::take_all_memory() {
  std::string all = std::move(mem_);
  mem_.clear();
  size_ -= all.size();
  return all;
}

output_writer::output_writer(std::function<void()> on_broken)
    : queue_(64), on_broken_(std::move(on_broken)), thread_([this] { run(); }) {}

output_writer::~output_writer() { finish(); }

void output_writer::finish() {
  if (finished_) return;
  finished_ = true;
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void output_writer::run() {
  bool broken_out = false, broken_err = false;
  for (output_chunk& c : queue_) {
    // After EPIPE on stdout (e.g. `sluice ... | head`), keep draining so the runner never waits on us.
    if (!broken_out && emit(1, c.out, c.prefix, c.out_at_line_start, c.color) == EPIPE) {
      broken_out = true;
      if (on_broken_) on_broken_();
    }
    if (!broken_err && emit(2, c.err, c.prefix, c.err_at_line_start, c.color) == EPIPE) broken_err = true;
  }
}

}  // namespace sluice::app
