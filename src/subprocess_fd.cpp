// src/subprocess_fd.cpp -- sluice::fd (an owned descriptor) and sluice::stream (what a child's stdin/stdout/stderr is).
#include <sluice/subprocess.hpp>

#include <cerrno>
#include <system_error>

#include <fcntl.h>

#include "posix/platform.hpp"

namespace sluice {

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

// ---- blocking I/O on a descriptor the caller holds

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

bool can_access(const std::filesystem::path& file, access_mode how) noexcept {
  return detail::os::can_access(file.c_str(), static_cast<int>(how));
}

fd open_file(const std::filesystem::path& file) {
  int f = detail::os::open_cloexec(file.c_str(), O_RDONLY);
  if (f < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + file.string());
  return fd(f);
}

fd create_new_file(const std::filesystem::path& file, unsigned permissions) {
  int f = detail::os::open_cloexec(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, static_cast<mode_t>(permissions));
  if (f < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + file.string());
  return fd(f);
}

fd create_unnamed_file(const std::filesystem::path& directory) {
  int f = detail::os::create_unnamed(directory.c_str());
  if (f < 0) throw std::system_error(errno, std::generic_category(), "cannot create a temporary file in " + directory.string());
  return fd(f);
}

std::uint64_t file_size(int f) {
  long long n = detail::os::file_size(f);
  if (n < 0) throw std::system_error(errno, std::generic_category(), "sluice::file_size");
  return static_cast<std::uint64_t>(n);
}

void rewind_file(int f) {
  if (!detail::os::rewind_file(f)) throw std::system_error(errno, std::generic_category(), "sluice::rewind_file");
}

bool is_terminal(int f) noexcept { return detail::os::is_terminal(f); }

fd open_terminal() noexcept { return fd(detail::os::open_cloexec("/dev/tty", O_RDWR)); }

std::string terminal_name(int f) {
  char buf[256];
  if (!detail::os::terminal_name(f, buf, sizeof buf)) return {};
  return buf;
}

std::filesystem::path create_temp_directory(const std::filesystem::path& prefix) {
  std::string templ = prefix.string() + "XXXXXX";
  if (!detail::os::make_temp_dir(templ.data()))
    throw std::system_error(errno, std::generic_category(), "cannot create a directory " + templ);
  return templ;
}

void fd::close() {
  detail::os::close_fd(fd_);
  fd_ = -1;
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

}  // namespace sluice
