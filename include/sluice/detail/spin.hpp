// sluice/detail/spin.hpp -- the one spin-then-park policy of the library (internal).
//
// A thread that finds nothing to do (an empty queue, a task not finished, a turn not yet come) spins briefly
// before it parks, because the other side often answers within moments and a park plus a wake-up costs a few
// microseconds. The policy is the same everywhere: `spins` rounds of cpu_relax (doubling per round when
// `growing`, one pause per round otherwise), then `yields` rounds of sched_yield, then the caller parks. Only
// the amounts differ, and they are all stated here, each with the measurement behind it. On a loaded 2-core
// machine (more threads than cores) long spins and many yields lose: the thread we wait for usually needs our
// core. No macro overrides them: change them here, measure with bench/, and say why.
#pragma once
#include <cstddef>
#include <thread>

namespace sluice::detail {

inline constexpr std::size_t cache_line = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct spin_profile {
  unsigned spins;   // rounds of cpu_relax
  unsigned yields;  // rounds of std::this_thread::yield after them
  bool growing;     // round k pauses 2^k times (else once)
};

// The amounts, all in one place.
namespace spin {
// sluice::queue put/get: 1 + 2 + 4 pauses, then park. Capacity-1 ping-pong went from ~12 us to ~2 us per round
// trip when the spin shrank to this and the yields went (bench/queue_bench, 2 cores).
inline constexpr spin_profile queue_wait{3, 0, true};
// future::wait/result: a task about to finish is caught without a sleep and a wake-up.
inline constexpr spin_profile future_wait{32, 32, false};
// A pool worker with an empty queue looks again (its own and its peers') before it parks.
inline constexpr spin_profile worker_idle{64, 64, false};
// The pool's per-worker queue lock: held for a few instructions, but its holder may be preempted.
inline constexpr spin_profile queue_lock{64, 0, false};
// A pipeline carrier waiting for a permit, a turn, a token or the source: the thread it waits for is usually in
// the middle of a short call, so a brief spin and a couple of yields catch most waits before a park.
inline constexpr spin_profile pipeline_wait{32, 2, false};
}  // namespace spin

// One wait's progress through a profile: `while (!ready()) if (!b.pause()) park();`.
template <spin_profile P>
class backoff {
 public:
  // Spins or yields once and returns true; false once the profile is used up and the caller should park.
  bool pause() noexcept {
    if (round_ < P.spins) {
      const unsigned n = P.growing ? (1u << round_) : 1u;
      for (unsigned i = 0; i < n; ++i) cpu_relax();
    } else if (round_ < P.spins + P.yields) {
      std::this_thread::yield();
    } else {
      return false;
    }
    ++round_;
    return true;
  }
  // True while still in the spinning rounds (a caller that only polls a cheap flag there).
  bool spinning() const noexcept { return round_ < P.spins; }

 private:
  unsigned round_ = 0;
};

}  // namespace sluice::detail
