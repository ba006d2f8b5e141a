// sluice::file_lock and sluice::close_watch on Linux: flock(2) on a descriptor, inotify's IN_CLOSE_WRITE.
#include <sluice/file_lock.hpp>
#include <sluice/detail/deadline.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace sluice {

namespace {
[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}
}  // namespace

file_lock::file_lock(const std::string& path) {
  do {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw_errno("cannot open lock file " + path);
}

file_lock::file_lock(file_lock&& other) noexcept : fd_(other.fd_), locked_(other.locked_) {
  other.fd_ = -1;
  other.locked_ = false;
}

file_lock& file_lock::operator=(file_lock&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    locked_ = other.locked_;
    other.fd_ = -1;
    other.locked_ = false;
  }
  return *this;
}

file_lock::~file_lock() { close(); }

file_lock file_lock::adopt(int fd) noexcept {
  file_lock l;
  if (fd < 0) return l;
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  l.fd_ = fd;
  l.locked_ = true;
  return l;
}

bool file_lock::try_lock() {
  if (fd_ < 0) throw std::system_error(EBADF, std::generic_category(), "file_lock::try_lock on a closed lock");
  if (locked_) return true;
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      locked_ = true;
      return true;
    }
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) throw_errno("flock");
  }
}

void file_lock::lock() {
  if (fd_ < 0) throw std::system_error(EBADF, std::generic_category(), "file_lock::lock on a closed lock");
  if (locked_) return;
  while (::flock(fd_, LOCK_EX) != 0)
    if (errno != EINTR) throw_errno("flock");
  locked_ = true;
}

void file_lock::unlock() noexcept {
  if (fd_ >= 0 && locked_) ::flock(fd_, LOCK_UN);
  locked_ = false;
}

void file_lock::close() noexcept {
  if (fd_ >= 0) ::close(fd_);  // releases the lock unless another process shares the descriptor
  fd_ = -1;
  locked_ = false;
}

close_watch::close_watch(const std::string& directory) {
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0) throw_errno("inotify_init1");
  if (::inotify_add_watch(fd_, directory.c_str(), IN_CLOSE_WRITE) < 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    errno = e;
    throw_errno("cannot watch " + directory);
  }
}

close_watch::~close_watch() {
  if (fd_ >= 0) ::close(fd_);
}

bool close_watch::wait(std::optional<double> timeout_seconds) {
  using clock = std::chrono::steady_clock;
  const auto deadline = timeout_seconds ? detail::deadline_after(std::chrono::duration<double>(*timeout_seconds))
                                        : detail::steady_deadline();
  for (;;) {
    // Drain what came: any event is a close of interest.
    alignas(inotify_event) char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      while (::read(fd_, buf, sizeof buf) > 0) {
      }
      return true;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("read inotify");
    int ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock::now()).count();
      if (left <= 0) return false;
      ms = static_cast<int>(std::min<long long>(left + 1, 1 << 30));
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno != EINTR) throw_errno("poll inotify");
  }
}

}  // namespace sluice
