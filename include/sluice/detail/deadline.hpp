// sluice/detail/deadline.hpp -- the one rule that turns a timeout into a deadline, for every blocking call of
// the library (queue, thread, thread_pool, subprocess and its pipes). Not part of the public API.
//
// The rule, stated once (every blocking call of the library follows it through deadline_after; sluice::aio
// through check_loop_timeout and loop_deadline_after):
//  - a timeout is seconds as a double; the deadline is steady_clock::now() + timeout, computed once at the call
//    and never renewed by wake-ups;
//  - negative or NaN: std::invalid_argument("'timeout' must be a non-negative number"), thrown before the call
//    changes anything (Python's queue says the same; a negative wait is a bug in the caller's arithmetic, not a
//    request to "just look");
//  - zero: the deadline is now, so the call only looks (tries once) and never sleeps;
//  - more than max_timeout (about 31 years) or infinite: no deadline at all, the call waits like its untimed
//    form; this also keeps now() + timeout from overflowing the clock's 64-bit nanoseconds (about 292 years);
//  - no timeout (nullopt, Python's None): no deadline.
// sluice::aio follows asyncio instead, and says so at each call: a timeout <= 0 is no error but "one turn" (the
// deadline is now); NaN is still std::invalid_argument ("<call>: the timeout is NaN", check_loop_timeout, thrown
// when the call is made); beyond max_timeout there is no deadline, which the loop spells time_point::max().
// That is loop_deadline_after below.
#pragma once
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace sluice::detail {

using steady_deadline = std::optional<std::chrono::steady_clock::time_point>;

inline constexpr double max_timeout = 1e9;  // seconds; beyond it (and at +inf) a timeout means "never"

[[noreturn]] inline void throw_bad_timeout() {
  throw std::invalid_argument("'timeout' must be a non-negative number");
}

// Throws std::invalid_argument (negative or NaN) before anything else happens; nullopt means no deadline.
inline steady_deadline deadline_after(std::chrono::duration<double> timeout) {
  const double s = timeout.count();
  if (std::isnan(s) || s < 0) throw_bad_timeout();
  if (s > max_timeout) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
}
inline steady_deadline deadline_after(std::optional<std::chrono::duration<double>> timeout) {
  if (!timeout) return std::nullopt;
  return deadline_after(*timeout);
}

// The asyncio rule's one error (see above): `who` names the call in the message.
inline void check_loop_timeout(std::chrono::duration<double> timeout, const char* who) {
  if (std::isnan(timeout.count())) throw std::invalid_argument(std::string(who) + ": the timeout is NaN");
}

// The asyncio rule (see above). Never throws; NaN, which callers refuse first, would count as 0 here.
inline std::chrono::steady_clock::time_point loop_deadline_after(std::chrono::duration<double> timeout) noexcept {
  const auto now = std::chrono::steady_clock::now();
  const double s = timeout.count();
  if (!(s > 0)) return now;
  if (s > max_timeout) return std::chrono::steady_clock::time_point::max();
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
}

}  // namespace sluice::detail
