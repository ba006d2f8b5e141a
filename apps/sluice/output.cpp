#include "output.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sluice::app {

std::size_t spool::threshold = 256 * 1024;

namespace {

int open_temp_file() {
  const char* dir = std::getenv("TMPDIR");
  std::string d = (dir != nullptr && *dir != '\0') ? dir : "/tmp";
  // O_TMPFILE: never visible, so nothing is left behind even after SIGKILL.
  int fd = ::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string path = d + "/sluice.XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create a temp file in " + d);
  ::unlink(path.c_str());
  return fd;
}

bool pwrite_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Copies text to fd, putting prefix before each line start; at_line_start carries over between calls.
bool write_prefixed(int fd, const char* data, std::size_t n, const std::string& prefix, bool& at_line_start) {
  if (prefix.empty()) return write_all(fd, data, n);
  std::string buf;
  buf.reserve(n + prefix.size() * 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (at_line_start) {
      buf += prefix;
      at_line_start = false;
    }
    buf += data[i];
    if (data[i] == '\n') at_line_start = true;
  }
  return write_all(fd, buf.data(), buf.size());
}

bool emit(int target, const spool& s, const std::string& prefix, bool at_line_start) {
  bool ok = write_prefixed(target, s.mem_.data(), s.mem_.size(), prefix, at_line_start);
  if (s.fd_ < 0 || !ok) return ok;
  off_t off = 0;
  struct stat st {};
  if (::fstat(s.fd_, &st) != 0) return false;
  auto remaining = static_cast<std::size_t>(st.st_size);
  if (prefix.empty()) {
    while (remaining > 0) {
      ssize_t w = ::sendfile(target, s.fd_, &off, remaining);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // fall back to read/write below
      remaining -= static_cast<std::size_t>(w);
    }
  }
  std::string buf(1 << 20, '\0');
  while (remaining > 0) {
    ssize_t r = ::pread(s.fd_, buf.data(), std::min(buf.size(), remaining), off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    if (!write_prefixed(target, buf.data(), static_cast<std::size_t>(r), prefix, at_line_start)) return false;
    off += r;
    remaining -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

bool write_all(int fd, const char* data, std::size_t n) { return pwrite_all(fd, data, n); }

spool::spool(spool&& o) noexcept : mem_(std::move(o.mem_)), fd_(o.fd_), size_(o.size_) {
  o.fd_ = -1;
  o.size_ = 0;
  o.mem_.clear();
}

spool& spool::operator=(spool&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    mem_ = std::move(o.mem_);
    fd_ = o.fd_;
    size_ = o.size_;
    o.fd_ = -1;
    o.size_ = 0;
    o.mem_.clear();
  }
  return *this;
}

spool::~spool() {
  if (fd_ >= 0) ::close(fd_);
}

void spool::append(const char* data, std::size_t n) {
  size_ += n;
  if (fd_ < 0 && mem_.size() + n <= threshold) {
    mem_.append(data, n);
    return;
  }
  if (fd_ < 0) fd_ = open_temp_file();
  if (!pwrite_all(fd_, data, n)) throw std::system_error(errno, std::generic_category(), "writing a temp file");
}

void spool::spill() {
  if (fd_ >= 0 || mem_.empty()) return;
  fd_ = open_temp_file();
  if (!pwrite_all(fd_, mem_.data(), mem_.size()))
    throw std::system_error(errno, std::generic_category(), "writing a temp file");
  std::string().swap(mem_);
}

std::string spool::read_all() const {
  std::string out = mem_;
  if (fd_ >= 0) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      std::size_t base = out.size();
      out.resize(base + static_cast<std::size_t>(st.st_size));
      off_t off = 0;
      while (off < st.st_size) {
        ssize_t r = ::pread(fd_, out.data() + base + off, static_cast<std::size_t>(st.st_size - off), off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += r;
      }
      out.resize(base + static_cast<std::size_t>(off));
    }
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

output_writer::output_writer() : queue_(64), thread_([this] { run(); }) {}

output_writer::~output_writer() { finish(); }

void output_writer::put(output_chunk c) { queue_.put(std::move(c)); }

void output_writer::finish() {
  if (finished_) return;
  finished_ = true;
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void output_writer::run() {
  bool broken_out = false, broken_err = false;
  for (output_chunk& c : queue_) {
    // After EPIPE on stdout (e.g. `sluice ... | head`), keep draining so the runner never blocks.
    if (!broken_out && !emit(1, c.out, c.prefix, c.out_at_line_start)) {
      broken_out = errno == EPIPE;
      if (broken_out) broken_.store(true);
    }
    if (!broken_err && !emit(2, c.err, c.prefix, c.err_at_line_start)) broken_err = errno == EPIPE;
  }
}

}  // namespace sluice::app
