// sluice/system.hpp -- what a scheduler asks about this machine and this process before it starts more work:
// how many CPUs, how loaded they are, how much memory is free, whether the machine is swapping or its disks are
// busy, how many descriptors the process may open. Python: os.getpid, os.cpu_count, os.getloadavg,
// socket.gethostname, resource.getrlimit.
//
// Every call reads the kernel's figures of the moment (on Linux, /proc); nothing is cached. Where the kernel does
// not tell (a /proc that is not mounted, a process that is gone), the answer is empty, never a guess.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "export.hpp"

namespace sluice::system {

SLUICE_EXPORT int pid() noexcept;  // os.getpid()
// socket.gethostname(); std::system_error when the kernel refuses.
SLUICE_EXPORT std::string hostname();

// The CPUs of this machine, counted three ways. threads: the CPUs online (os.cpu_count(), at least 1);
// cores: distinct (socket, core) pairs; sockets: distinct physical packages. Where the topology is not
// published (some virtual machines), cores = threads and sockets = 1.
struct cpu_counts {
  std::size_t threads = 1;
  std::size_t cores = 1;
  std::size_t sockets = 1;
};
SLUICE_EXPORT cpu_counts cpu_count();

// os.getloadavg(), plus the instant figures the kernel gives with it: the tasks runnable right now (the caller
// among them) and the tasks that exist.
struct load_average {
  double one = 0, five = 0, fifteen = 0;
  std::size_t runnable = 0;
  std::size_t tasks = 0;
};
SLUICE_EXPORT std::optional<load_average> load();

// Bytes of memory a new program could have without the machine swapping: free memory plus what the kernel
// would drop first (buffers, page cache, swap cache).
SLUICE_EXPORT std::optional<std::uint64_t> available_memory();

// Pages swapped in and out since boot; two readings a moment apart tell whether the machine is swapping now.
struct swap_counters {
  std::uint64_t pages_in = 0;
  std::uint64_t pages_out = 0;
};
SLUICE_EXPORT std::optional<swap_counters> swap_activity();

// Milliseconds each disk has spent with I/O in flight since boot (partitions left out); two readings a moment
// apart give its utilisation: busy_ms difference / elapsed ms.
struct disk_counter {
  std::string device;
  std::uint64_t busy_ms = 0;
};
SLUICE_EXPORT std::vector<disk_counter> disk_activity();

// The soft limit on this process's open descriptors (resource.getrlimit(RLIMIT_NOFILE)[0]); empty: unlimited.
SLUICE_EXPORT std::optional<std::size_t> open_file_limit();

// How much a new program's command line may take (execve): one argument at most per_argument bytes with its
// NUL, all arguments and the environment together (each with its NUL and pointer) at most total.
struct argument_limits {
  std::size_t per_argument = 0;
  std::size_t total = 0;
};
SLUICE_EXPORT argument_limits exec_limits() noexcept;

// Another process as far as this one may see it; empty when it is gone or hidden. pid 0 means this process.
struct process_info {
  int pid = 0;
  int parent = 0;
  std::filesystem::path executable;  // empty when not readable (another user's process)
};
SLUICE_EXPORT std::optional<process_info> process(int pid);

// Every signal's disposition (handler, flags and mask), taken at once: signal.getsignal for each signal. Code
// that may change dispositions behind the caller's back (an embedded interpreter's start-up, a plug-in's init)
// runs between save() and restore(); restore() puts back each disposition that changed and touches no other.
// SIGKILL and SIGSTOP, which cannot be caught, are left out.
class SLUICE_EXPORT signal_dispositions {
 public:
  static signal_dispositions save();
  // Puts back every disposition that differs from the saved one; returns how many it put back. Throws
  // std::system_error if the kernel refuses one (the others are still put back).
  std::size_t restore() const;

  signal_dispositions(signal_dispositions&&) noexcept;
  signal_dispositions& operator=(signal_dispositions&&) noexcept;
  ~signal_dispositions();

 private:
  struct table;
  explicit signal_dispositions(std::unique_ptr<table> t);
  std::unique_ptr<table> saved_;
};

}  // namespace sluice::system
