// sluice/file_lock.hpp -- an exclusive lock on a file shared between processes (flock(2)), and a watch that
// wakes when such a lock may have been released, so a waiter needs no polling.
//
// The lock belongs to an open descriptor: it is released by unlock(), by destruction, or by the kernel when the
// last process holding the descriptor exits, so a holder that dies never leaves it taken. The descriptor is
// close-on-exec; pass it with options::pass_fds to let a child keep the lock (and adopt() it there).
#pragma once
#include <optional>
#include <string>

#include "export.hpp"

namespace sluice {

class SLUICE_EXPORT file_lock {
 public:
  file_lock() noexcept = default;
  // Opens the file read-write, creating it (mode 0666 less the umask); does not lock it yet.
  // Throws std::system_error when it cannot be opened.
  explicit file_lock(const std::string& path);
  file_lock(file_lock&& other) noexcept;
  file_lock& operator=(file_lock&& other) noexcept;
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  ~file_lock();  // closes the descriptor (and so releases the lock)

  // Takes over a descriptor that may hold a lock already (one inherited through options::pass_fds); it is
  // made close-on-exec. owns_lock() is true after adopting.
  static file_lock adopt(int fd) noexcept;

  bool try_lock();  // without waiting: false when another open descriptor holds it; throws std::system_error
  void lock();      // waits as long as it takes; throws std::system_error
  void unlock() noexcept;  // keeps the file open
  bool owns_lock() const noexcept { return locked_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  int native_handle() const noexcept { return fd_; }
  void close() noexcept;

 private:
  int fd_ = -1;
  bool locked_ = false;
};

// Watches a directory for a file in it that was open for writing being closed -- what the release of a
// file_lock by its last holder looks like, its unlock-and-close or its exit. Events since the watch was made
// (or since the last wait that returned true) are kept, so a waiter that checks the locks and then waits
// cannot miss a release in between.
class SLUICE_EXPORT close_watch {
 public:
  explicit close_watch(const std::string& directory);  // throws std::system_error
  close_watch(const close_watch&) = delete;
  close_watch& operator=(const close_watch&) = delete;
  ~close_watch();

  // Waits up to `timeout_seconds` for such a close; true when one happened. The library's timeout rule
  // (detail/deadline.hpp): for ever when nullopt, infinite or above ~31 years; 0 only looks; negative or NaN
  // throws std::invalid_argument.
  bool wait(std::optional<double> timeout_seconds = std::nullopt);

 private:
  int fd_ = -1;
};

}  // namespace sluice
