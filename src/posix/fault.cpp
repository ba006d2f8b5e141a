// src/posix/fault.cpp -- the fault table behind the system-call seam (posix/fault.hpp). Only the
// fault-injection tests arm it; a mutex is fine here, the seam never reaches this file while disarmed.
#include "posix/fault.hpp"

#include <cstddef>
#include <mutex>

namespace sluice::detail::os {

namespace fault {

std::atomic<bool> armed{false};

namespace {

struct slot {
  int error = 0;
  int skip = 0;   // calls that still succeed before the faults begin
  int left = 0;   // faults still to inject
  int taken = 0;  // faults injected since the last clear
};

constexpr std::size_t n_calls = static_cast<std::size_t>(sys_call::count_);
std::mutex table_mutex;
slot table[n_calls];

}  // namespace

int take_slow(sys_call call) noexcept {
  std::lock_guard lock(table_mutex);
  slot& s = table[static_cast<std::size_t>(call)];
  if (s.left == 0) return 0;
  if (s.skip > 0) {
    --s.skip;
    return 0;
  }
  --s.left;
  ++s.taken;
  return s.error;
}

}  // namespace fault

void inject_fault_for_testing(sys_call call, int error, int times, int skip) noexcept {
  std::lock_guard lock(fault::table_mutex);
  fault::slot& s = fault::table[static_cast<std::size_t>(call)];
  s.error = error;
  s.left = times;
  s.skip = skip;
  fault::armed.store(true, std::memory_order_relaxed);
}

int faults_taken_for_testing(sys_call call) noexcept {
  std::lock_guard lock(fault::table_mutex);
  return fault::table[static_cast<std::size_t>(call)].taken;
}

void clear_faults_for_testing() noexcept {
  {
    std::lock_guard lock(fault::table_mutex);
    fault::armed.store(false, std::memory_order_relaxed);
    for (auto& s : fault::table) s = fault::slot{};
  }
  forget_fallbacks_for_testing();
}

}  // namespace sluice::detail::os
