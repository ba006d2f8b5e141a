// A scheduler for deterministic concurrency tests: the threads of a test run one at a time, and at every
// atomic operation, lock and futex call the scheduler picks (with a seeded pseudo-random generator) which of
// the runnable threads goes next. One seed is one interleaving, replayable exactly; many seeds explore many
// interleavings, including the rare ones a stress test almost never hits.
//
//   deterministic_schedule sched(seed);           // the calling thread takes part (participant 0)
//   sluice::queue<int, det_sync> q(1);            // the code under test, on det_sync instead of real_sync
//   det_thread producer([&] { q.put(1); });       // a participant
//   int x = q.get();
//   producer.join();
//   EXPECT_FALSE(sched.failed()) << sched.failure();
//
// The model (det_sync, the policy of sluice/detail/sync_policy.hpp):
//  - det_atomic<T>: every operation is a scheduling point, then acts on a std::atomic<T> with the order the
//    code asked for. Only one thread runs at a time, so every interleaving of whole operations is sequentially
//    consistent: this explores orderings of operations, not weak-memory reorderings (TSan covers those).
//    compare_exchange_weak may fail spuriously (schedule_options::spurious_cas_failures).
//  - park_wait: a scheduling point; then, in the same turn, returns at once when the word no longer holds the
//    expected value; otherwise the thread is parked -- not runnable -- until a park_wake on the same word picks
//    it (wakes choose among the parked threads at random). Spurious wake-ups are injected with probability
//    schedule_options::spurious_wakeups. A timed wait may time out only when no thread is runnable.
//  - det_mutex: a futex mutex on det_atomic, so a thread blocked on it is parked like any other.
//  - det_thread: std::thread's interface; the new thread is a participant; join() parks until it has ended.
// When no thread is runnable and one is parked without a deadline, nobody can ever wake it: the schedule
// records the failure (a lost wake-up or a deadlock), with the seed, and from then on lets every thread run
// freely (waits return at once, as spurious wake-ups may), so that the test still ends and can report it.
// The same happens when the steps exceed schedule_options::max_steps (a livelock, or an endless poll).
//
// Things you must get right: every thread that touches the objects under test is a participant (created by
// det_thread, or the schedule's creator); a participant must not block in any other way (std::mutex,
// condition variables, real I/O), or every participant stops; join every det_thread before the schedule ends.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/detail/spin.hpp"

namespace sluice::test {

struct schedule_options {
  double spurious_wakeups = 0.0;       // probability that a matching futex wait returns at once
  double spurious_cas_failures = 0.0;  // probability that a compare_exchange_weak fails although it could succeed
  std::uint64_t max_steps = 2'000'000;
};

class deterministic_schedule {
 public:
  explicit deterministic_schedule(std::uint64_t seed, schedule_options opts = {});
  ~deterministic_schedule();
  deterministic_schedule(const deterministic_schedule&) = delete;
  deterministic_schedule& operator=(const deterministic_schedule&) = delete;

  bool failed() const;
  std::string failure() const;  // empty unless failed()
  std::uint64_t steps() const;  // scheduling points passed so far
  std::uint64_t trace() const;  // a hash of the sequence of choices (equal for equal seeds)

  // The hooks of det_sync. Each acts on the calling thread's schedule; a thread outside any schedule (or
  // after a failure) gets the plain behaviour: no scheduling, waits that return at once.
  static void point();
  static bool chance(double p);
  // Parks the caller on `word` unless matches() (evaluated in the caller's turn) is false. false: timed out.
  static bool park(const void* word, const std::function<bool()>& matches, bool timed);
  static void unpark(const void* word, int count);
  static double spurious_cas_rate();

 private:
  friend class det_thread;
  struct participant;
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  std::size_t add_participant();
  void run_participant(std::size_t id, const std::function<void()>& fn);
  void join_participant(std::size_t id);
  void hand_over(std::unique_lock<std::mutex>& lk, std::size_t self, bool self_leaves);
  std::size_t pick_locked();
  void fail_locked(std::string why, std::size_t self);
  std::uint64_t next_random_locked();

  mutable std::mutex m_;
  std::vector<std::unique_ptr<participant>> ps_;
  std::mt19937_64 rng_;
  const std::uint64_t seed_;
  const schedule_options opts_;
  std::atomic<bool> free_{false};
  std::string failure_;
  std::uint64_t steps_ = 0;
  std::uint64_t trace_ = 1469598103934665603ull;
};

template <class T>
class det_atomic {
 public:
  det_atomic() noexcept = default;
  constexpr det_atomic(T v) noexcept : a_(v) {}  // NOLINT: like std::atomic
  det_atomic(const det_atomic&) = delete;
  det_atomic& operator=(const det_atomic&) = delete;

  // Every operation is one scheduling point, then the real atomic operation.
  T load(std::memory_order o = std::memory_order_seq_cst) const { return at_point().load(o); }
  void store(T v, std::memory_order o = std::memory_order_seq_cst) { at_point().store(v, o); }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst) { return at_point().exchange(v, o); }
  T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst) { return at_point().fetch_add(v, o); }
  T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst) { return at_point().fetch_sub(v, o); }
  T fetch_or(T v, std::memory_order o = std::memory_order_seq_cst) { return at_point().fetch_or(v, o); }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order o = std::memory_order_seq_cst) {
    return at_point().compare_exchange_strong(expected, desired, o);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order s, std::memory_order f) {
    return at_point().compare_exchange_strong(expected, desired, s, f);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order o = std::memory_order_seq_cst) {
    return compare_exchange_weak(expected, desired, o, o == std::memory_order_acq_rel   ? std::memory_order_acquire
                                                       : o == std::memory_order_release ? std::memory_order_relaxed
                                                                                        : o);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order s, std::memory_order f) {
    std::atomic<T>& a = at_point();
    if (deterministic_schedule::chance(deterministic_schedule::spurious_cas_rate())) {
      expected = a.load(f);
      return false;
    }
    return a.compare_exchange_strong(expected, desired, s, f);
  }
  // Not a scheduling point: for the futex model's check, made in the caller's turn.
  T peek() const noexcept { return a_.load(std::memory_order_seq_cst); }

 private:
  // The scheduling point every operation makes before it touches the atomic.
  std::atomic<T>& at_point() {
    deterministic_schedule::point();
    return a_;
  }
  const std::atomic<T>& at_point() const {
    deterministic_schedule::point();
    return a_;
  }

  std::atomic<T> a_{};
};

struct det_sync;

// std::mutex's interface on det_atomic (0 free, 1 held, 2 held with waiters).
class det_mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();

 private:
  det_atomic<std::uint32_t> state_{0};
};

class det_thread {
 public:
  det_thread() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, det_thread>)
  explicit det_thread(F&& f) {
    start(std::function<void()>(std::forward<F>(f)));
  }
  det_thread(det_thread&&) noexcept = default;
  det_thread& operator=(det_thread&& other) noexcept {
    if (joinable()) std::terminate();
    t_ = std::move(other.t_);
    sched_ = other.sched_;
    id_ = other.id_;
    return *this;
  }
  ~det_thread() {
    if (joinable()) std::terminate();  // as std::thread
  }
  bool joinable() const noexcept { return t_.joinable(); }
  void join();
  void detach() { t_.detach(); }

 private:
  void start(std::function<void()> fn);
  std::thread t_;
  deterministic_schedule* sched_ = nullptr;
  std::size_t id_ = 0;
};

// The policy of sluice/detail/sync_policy.hpp for code run under a deterministic_schedule.
struct det_sync {
  template <class T>
  using atomic = det_atomic<T>;
  using mutex = det_mutex;
  using thread = det_thread;

  static bool park_wait(const det_atomic<std::uint32_t>& word, std::uint32_t expected,
                        const std::chrono::steady_clock::time_point* deadline) {
    return deterministic_schedule::park(&word, [&] { return word.peek() == expected; }, deadline != nullptr);
  }
  static void park_wake(const det_atomic<std::uint32_t>& word, int count) {
    deterministic_schedule::unpark(&word, count);
  }
  static void yield() { deterministic_schedule::point(); }
  // One round of spinning at most: every round is many scheduling points, and parking is what needs testing.
  static constexpr sluice::detail::spin_profile spin(sluice::detail::spin_profile p) noexcept {
    return {p.spins != 0 ? 1u : 0u, 0u, false};
  }
};

}  // namespace sluice::test
