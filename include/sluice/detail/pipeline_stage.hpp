// sluice/detail/pipeline_stage.hpp -- the machinery behind sluice::pipeline (not part of the public API).
//
// Carriers and tokens. A run has a fixed number of tokens, the contract's memory bound (see
// pipeline_types.hpp): an item is made by the source only when a token is free, and the token comes back when
// the item leaves (taken by the sink, or done by a final void stage). So the items alive never exceed the bound,
// item for item, whatever the threads do. The threads are "carriers", all alike: one takes the source (a
// lock: the source is serial, and numbers the items in order), makes an item, and carries it through every
// stage itself, one function call after the other, instead of handing it to another thread at each stage.
// Per-stage limits are gates the carrier passes on the way:
//   - a stage with `workers` w has w permits: at most w carriers run its function at once. A carrier finding
//     none free joins the stage's queue (at most `capacity` waiting; beyond that it waits for room, which the
//     stats count as the previous stage's waiting_output). A stage that can never have more carriers than
//     workers has no gate at all (the common fast case: no shared state touched per item).
//   - in ordered mode a one-worker stage takes items by turn (seq order), within a window of capacity + 1
//     items; an item filtered out before it still takes its turn, empty (a "hole").
// A carrier releases a stage's permit (or passes its turn on) as soon as the function returns, before it
// goes on, so no carrier ever waits while holding something another may need: the item with the lowest
// seq can always move, which is why the run cannot deadlock. A run ending in a void stage has sum(workers)
// spawned carriers plus the caller. A run ending in a sink (for_each) has sum(workers) carrier places:
// sum(workers) - 1 spawned carriers, and one place shared by the caller and a spare thread (see
// carrier_core::caller_may_carry). The sink runs on the calling thread, which takes the items from a ring of
// `tokens` slots in seq order (for ordered runs and unordered ones alike) and, while none is ready, carries
// items itself; while it is in a slow sink the spare carries in its place. So every stage can run all its
// workers at once, and on trivial work there are no more busy threads than places. Waits spin briefly, then
// park on one lot that a state change wakes only when
// someone sleeps. The first failure (or a stop) sets the run's stop flag and wakes every parked thread;
// each carrier then drops its item and leaves, and the run joins them all.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../export.hpp"
#include "../queue.hpp"
#include "../thread_pool.hpp"  // cancelled_error
#include "pipeline_types.hpp"
#include "queue_access.hpp"
#include "spin.hpp"

namespace sluice::detail {

// What one carrier measured for one stage; merged into the stage's stats when it leaves.
struct SLUICE_EXPORT worker_tally {
  std::uint64_t items_in = 0;
  std::uint64_t items_out = 0;
  std::chrono::steady_clock::duration waiting_input{};
  std::chrono::steady_clock::duration waiting_output{};
  std::chrono::steady_clock::duration busy{};
  std::size_t max_depth = 0;
};

// Shared by every thread of one run: the first error, the stop hooks, the threads, the stats.
class SLUICE_EXPORT pipeline_control {
 public:
  explicit pipeline_control(std::vector<stage_stats> stages);
  pipeline_control(const pipeline_control&) = delete;
  pipeline_control& operator=(const pipeline_control&) = delete;
  ~pipeline_control();

  // Records the first error (later ones are dropped) and runs every stop hook once.
  void fail(std::exception_ptr error) noexcept;
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  // A hook registered after the stop runs at once.
  void on_stop(std::function<void()> hook);
  // Starts a thread running body; body must not throw.
  void spawn(std::function<void()> body);
  void join_all() noexcept;
  void merge(std::size_t stage, const worker_tally& tally);
  std::exception_ptr error() const;
  pipeline_stats take_stats() { return std::move(stats_); }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
  std::vector<std::function<void()>> hooks_;
  std::vector<std::thread> threads_;
  pipeline_stats stats_;
};

// Runs launch (which starts every thread) then drain on the calling thread, joins everything, and rethrows the
// first error. A stop requested before the start throws cancelled_error without starting anything. Each
// stage's waiting_input is what its workers' time leaves: workers x wall - busy - waiting_output.
SLUICE_EXPORT pipeline_stats run_pipeline(const pipeline_options& opts, std::vector<stage_stats> stages,
                                          const std::function<void(pipeline_control&)>& launch,
                                          const std::function<void(pipeline_control&)>& drain);

// Reports a queue_shut_down caught by a pipeline thread: the expected way out once stopping, a real error
// (from user code) otherwise.
inline void shut_down_seen(pipeline_control& ctl) noexcept {
  if (!ctl.stopping()) ctl.fail(std::current_exception());
}

// Where every wait of a run parks after a short spin. A state change calls notify(), which costs a fence and
// a load unless someone sleeps; the stop wakes everyone. Once a wake-up is on its way, further notifies add
// nothing until a sleeper has looked again: on a loaded machine a woken thread may wait milliseconds for a
// core, and every state change meanwhile took the lock and signalled again (1 to 8 % of the items of a run of
// trivial items at load 5-7 on 2 cores, each a lock, an unlock and a broadcast).
class SLUICE_EXPORT parking_lot {
 public:
  // Blocks until ready() (true) or the run is stopping (false).
  template <class Ready>
  bool wait(Ready&& ready, const pipeline_control& ctl) {
    for (backoff<spin::pipeline_wait> b;;) {
      if (ready()) return true;
      if (ctl.stopping()) return false;
      if (!b.pause()) break;
    }
    std::unique_lock lock(mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    bool ok;
    for (;;) {
      // Cleared before the look, both fenced: a notify whose exchange saw `true` came before this store, so its
      // state change is seen by the look below; one after it finds `false` and signals.
      woken_.store(false, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if ((ok = ready()) || ctl.stopping()) break;
      cv_.wait(lock);
    }
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return ok && !ctl.stopping();
  }
  // After a state change (made before the call) that may let a parked thread go on.
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_relaxed) == 0) return;
    if (woken_.exchange(true, std::memory_order_relaxed)) return;  // signalled already; the sleeper will look
    { std::lock_guard lock(mutex_); }  // a sleeper checked its condition under the lock: it is waiting by now
    cv_.notify_all();
  }
  void stop() {
    { std::lock_guard lock(mutex_); }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<std::size_t> sleepers_{0};
  std::atomic<bool> woken_{false};  // a notify_all is on its way and no sleeper has looked since
};

// One stage's limits (see the file comment).
struct alignas(cache_line) stage_gate {
  std::size_t workers = 1;
  std::size_t capacity = 1;
  bool in_order = false;  // ordered run, one worker: items take turns
  bool limited = false;   // more carriers than workers: a permit is needed
  // Permit stages: queued << 32 | running.
  std::atomic<std::uint64_t> state{0};
  // In-order stages: the seq whose turn it is.
  std::atomic<std::uint64_t> next{0};
};

class carrier_core;

// Per stage, when to read the clock around a call: every call while calls take 20 us or more, else one call in
// 64 (its time counted 64 times), so trivial items pay no clock reads.
struct stage_clock {
  std::uint32_t countdown = 0;
  std::uint32_t stride = 1;
};

// One thread's view of a run.
struct carrier {
  carrier_core& core;
  std::vector<worker_tally> tally;  // per stage
  std::vector<stage_clock> clocks;  // per stage
  carrier(carrier_core& c, std::size_t stages) : core(c), tally(stages), clocks(stages) {}
};

enum class step_result { started, wait, done };

// The source's side: starts one item (a token and the source lock needed).
class source_base {
 public:
  virtual ~source_base() = default;
  virtual step_result step(carrier& c) = 0;
};

class SLUICE_EXPORT carrier_core {
 public:
  carrier_core(pipeline_control& ctl, const std::vector<const stage_options*>& stages, bool ordered,
               std::size_t tokens, std::size_t carriers);
  carrier_core(const carrier_core&) = delete;
  carrier_core& operator=(const carrier_core&) = delete;

  pipeline_control& ctl;
  parking_lot lot;
  const std::size_t tokens;
  source_base* source = nullptr;

  std::size_t stage_count() const noexcept { return stages_; }
  // Blocks until item seq may run stage s (a permit, or its turn); false if the run is stopping.
  bool enter(std::size_t s, std::uint64_t seq, carrier& c) {
    stage_gate& g = gates_[s];
    if (g.in_order) return enter_turn(g, s, seq, c);
    if (!g.limited) return true;
    std::uint64_t st = g.state.load(std::memory_order_relaxed);
    if ((st & 0xffffffffu) < g.workers && (st >> 32) == 0 &&
        g.state.compare_exchange_strong(st, st + 1, std::memory_order_acquire, std::memory_order_relaxed))
      return true;
    return enter_permit(g, s, c);
  }
  // Item seq is done with stage s (its function returned).
  void leave(std::size_t s, std::uint64_t seq) {
    stage_gate& g = gates_[s];
    if (g.in_order) {
      g.next.store(seq + 1, std::memory_order_release);
    } else if (g.limited) {
      g.state.fetch_sub(1, std::memory_order_release);
    } else {
      return;
    }
    lot.notify();
  }
  // A hole (an item filtered out upstream) passes stage s: it takes its turn at an in-order stage.
  bool pass_hole(std::size_t s, std::uint64_t seq, carrier& c) {
    stage_gate& g = gates_[s];
    if (!g.in_order) return true;
    if (!enter_turn(g, s, seq, c)) return false;
    leave(s, seq);
    return true;
  }

  // The source lock and the token count. The lock holder numbers items; `released` counts items gone.
  bool try_lock_source() noexcept {
    return !source_busy_.load(std::memory_order_relaxed) && !source_busy_.exchange(true, std::memory_order_acquire);
  }
  void unlock_source() {
    source_busy_.store(false, std::memory_order_release);
    lot.notify();
    if (done_.load(std::memory_order_relaxed)) spare_lot.notify();
  }
  bool source_done() const noexcept { return done_.load(std::memory_order_acquire); }
  // With the source lock held: the seq for a new item, or nullopt when every token is out.
  std::optional<std::uint64_t> take_token() noexcept {
    const std::uint64_t p = produced_.load(std::memory_order_relaxed);
    if (p - released_seen_ >= tokens) {
      released_seen_ = released_.load(std::memory_order_acquire);
      if (p - released_seen_ >= tokens) return std::nullopt;
    }
    return p;
  }
  void made(std::uint64_t seq) noexcept { produced_.store(seq + 1, std::memory_order_release); }
  // With the source lock held: the source is exhausted.
  void finish_source() noexcept {
    total_.store(produced_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    done_.store(true, std::memory_order_release);
  }
  std::uint64_t total() const noexcept { return total_.load(std::memory_order_relaxed); }
  // True when a carrier could start an item now (or learn that the source is done).
  bool can_start() const noexcept {
    if (done_.load(std::memory_order_acquire)) return true;
    if (source_busy_.load(std::memory_order_acquire)) return false;
    return produced_.load(std::memory_order_acquire) - released_.load(std::memory_order_acquire) < tokens;
  }
  // Items leave: by one thread in seq order (the sink: up to), or by any (a void stage: one more).
  void released_up_to(std::uint64_t n) {
    released_.store(n, std::memory_order_release);
    lot.notify();
  }
  void released_one() {
    released_.fetch_add(1, std::memory_order_release);
    lot.notify();
  }

  // The loop of a spawned carrier (and of the caller when the last stage is void).
  void carry_loop(carrier& c);
  void merge(carrier& c);

  // With a sink (for_each), sum(workers) - 1 carriers carry all the time and one more "license" is shared by the
  // caller and a spare carrier: the caller holds it and carries while it has nothing to sink; while it is in a
  // slow sink (calls of 20 us or more) it lends the license to the spare, so that the stages keep all their
  // workers busy. So at most sum(workers) carriers are ever in the stages, and on trivial work only two threads
  // per two workers run, with no hand-over to a spare.
  bool caller_may_carry() {
    int h = holder_.load(std::memory_order_relaxed);
    if (h == caller_holds) return true;
    return h == nobody_holds && holder_.compare_exchange_strong(h, caller_holds, std::memory_order_acq_rel);
  }
  bool spare_holds_license() const noexcept { return holder_.load(std::memory_order_acquire) == spare_holds; }
  void lend() {
    int h = caller_holds;
    holder_.compare_exchange_strong(h, nobody_holds, std::memory_order_acq_rel);
    lend_.store(true, std::memory_order_release);
    spare_lot.notify();
  }
  void unlend() {
    lend_.store(false, std::memory_order_release);
    lot.notify();
  }
  // The spare parks on a lot of its own while the license is not lent, so that it does not make every state
  // change of the run pay a wake-up.
  parking_lot spare_lot;
  void stop() {
    lot.stop();
    spare_lot.stop();
  }
  void spare_loop(carrier& c);

 private:
  bool enter_turn(stage_gate& g, std::size_t s, std::uint64_t seq, carrier& c);
  bool enter_permit(stage_gate& g, std::size_t s, carrier& c);

  std::size_t stages_;
  std::unique_ptr<stage_gate[]> gates_;
  alignas(cache_line) std::atomic<bool> source_busy_{false};
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> produced_{0};
  std::atomic<std::uint64_t> total_{0};
  std::uint64_t released_seen_ = 0;  // under the source lock
  alignas(cache_line) std::atomic<std::uint64_t> released_{0};
  static constexpr int nobody_holds = 0, caller_holds = 1, spare_holds = 2;
  alignas(cache_line) std::atomic<int> holder_{caller_holds};
  std::atomic<bool> lend_{false};
};

// Where a stage (or the source) passes its items on.
template <class T>
class consumer {
 public:
  virtual ~consumer() = default;
  // Carries item seq on, on the calling thread; returns when it has left (or is parked in the sink's ring).
  virtual void carry(T&& item, std::uint64_t seq, carrier& c) = 0;
  // Item seq was filtered out upstream: its place is passed on.
  virtual void hole(std::uint64_t seq, carrier& c) = 0;
};

template <>
class consumer<void> {};

// Calls fn (the stage's function) reading the clock as stage_clock says.
template <class Fn>
decltype(auto) timed_call(carrier& c, std::size_t s, Fn&& fn) {
  stage_clock& k = c.clocks[s];
  if (k.countdown != 0) {
    --k.countdown;
    return fn();
  }
  struct timer {
    carrier& c;
    std::size_t s;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~timer() {
      const auto d = std::chrono::steady_clock::now() - t0;
      stage_clock& k = c.clocks[s];
      c.tally[s].busy += d * k.stride;
      k.stride = d < std::chrono::microseconds(20) ? 64 : 1;
      k.countdown = k.stride - 1;
    }
  } t{c, s};
  return fn();
}

// The sink's side for for_each: a ring of `tokens` slots, indexed by seq, filled by carriers and emptied in seq
// order by the calling thread. A seq never overtakes the slot of seq - tokens: that item left before its token
// came back.
template <class T>
class ring_sink final : public consumer<T> {
 public:
  explicit ring_sink(carrier_core& core) : core_(core), slots_(core.tokens) {}
  void carry(T&& item, std::uint64_t seq, carrier&) override {
    slot& s = slots_[seq % slots_.size()];
    s.item.emplace(std::move(item));
    s.state.store(1, std::memory_order_release);
    core_.lot.notify();
  }
  void hole(std::uint64_t seq, carrier&) override {
    slots_[seq % slots_.size()].state.store(2, std::memory_order_release);
    core_.lot.notify();
  }
  bool ready(std::uint64_t seq) const noexcept {
    return slots_[seq % slots_.size()].state.load(std::memory_order_acquire) != 0;
  }
  // The item of seq (nullopt for a hole), once ready(seq).
  std::optional<T> take(std::uint64_t seq) {
    slot& s = slots_[seq % slots_.size()];
    std::optional<T> out = std::move(s.item);
    s.item.reset();
    s.state.store(0, std::memory_order_relaxed);
    return out;
  }

 private:
  struct slot {
    std::atomic<int> state{0};  // 0 empty, 1 an item, 2 a hole
    std::optional<T> item;
  };
  carrier_core& core_;
  std::vector<slot> slots_;
};

// Produces T items (nothing, for T = void: the pipeline ends there).
template <class T>
class node {
 public:
  virtual ~node() = default;
  // Connects this node and its upstream to the run: items go to down (nullptr for T = void).
  virtual void wire(carrier_core& core, consumer<T>* down) = 0;
  virtual std::size_t stage_count() const noexcept = 0;
  virtual std::size_t last_workers() const noexcept = 0;
  virtual std::size_t last_batch() const noexcept = 0;
  virtual std::vector<stage_stats> describe() const = 0;
  virtual void options(std::vector<const stage_options*>& out) const = 0;
};

// The run's token count: the contract's bound (pipeline_types.hpp), each stage's share times its batch.
inline std::size_t token_count(const std::vector<const stage_options*>& stages, bool sink) {
  std::size_t n = sink ? 2 : 1;
  for (const stage_options* o : stages) n += (o->capacity + o->workers) * o->batch;
  if (sink) {
    const std::size_t last_w = stages.empty() ? 1 : stages.back()->workers;
    const std::size_t last_b = stages.empty() ? 1 : stages.back()->batch;
    n += std::max<std::size_t>(2, 2 * last_w) * last_b;
  }
  return n;
}
inline std::size_t carrier_count(const std::vector<const stage_options*>& stages) {
  std::size_t n = 0;
  for (const stage_options* o : stages) n += o->workers;
  return n;
}

template <class T>
class source_node : public node<T>, public source_base {
 public:
  std::size_t stage_count() const noexcept override { return 0; }
  std::size_t last_workers() const noexcept override { return 1; }
  std::size_t last_batch() const noexcept override { return 1; }
  std::vector<stage_stats> describe() const override { return {}; }
  void options(std::vector<const stage_options*>&) const override {}
  void wire(carrier_core& core, consumer<T>* down) override {
    core_ = &core;
    down_ = down;
    core.source = this;
  }
  step_result step(carrier& c) override {
    carrier_core& core = *core_;
    if (core.source_done() || core.ctl.stopping()) return step_result::done;
    if (!core.try_lock_source()) return step_result::wait;
    std::optional<T> item;
    std::uint64_t seq = 0;
    try {
      if (core.source_done()) {
        core.unlock_source();
        return step_result::done;
      }
      const std::optional<std::uint64_t> token = core.take_token();
      if (!token) {
        core.unlock_source();
        return step_result::wait;
      }
      seq = *token;
      item = pull(core.ctl);
      if (item) {
        core.made(seq);
      } else {
        core.finish_source();
      }
    } catch (...) {
      core.unlock_source();
      throw;
    }
    core.unlock_source();
    if (!item) return step_result::done;
    down_->carry(std::move(*item), seq, c);
    return step_result::started;
  }

 protected:
  // The next item, or nullopt at the end (or when the run is stopping). Called under the source lock.
  virtual std::optional<T> pull(const pipeline_control& ctl) = 0;

 private:
  carrier_core* core_ = nullptr;
  consumer<T>* down_ = nullptr;
};

template <class T, class R>
class range_source final : public source_node<T> {
 public:
  template <class U>
  explicit range_source(U&& r) : range_(std::forward<U>(r)) {}

 private:
  using iter_t = std::ranges::iterator_t<std::remove_pointer_t<R>>;
  using sent_t = std::ranges::sentinel_t<std::remove_pointer_t<R>>;
  std::optional<T> pull(const pipeline_control&) override {
    if (!it_) {
      auto& r = get();
      it_.emplace(std::ranges::begin(r));
      end_.emplace(std::ranges::end(r));
    } else {
      ++*it_;
    }
    if (*it_ == *end_) return std::nullopt;
    return std::optional<T>(std::in_place, **it_);
  }
  auto& get() noexcept {
    if constexpr (std::is_pointer_v<R>)
      return *range_;
    else
      return range_;
  }
  R range_;  // a pointer for an lvalue range, the range itself for an rvalue
  std::optional<iter_t> it_;
  std::optional<sent_t> end_;
};

// A sluice::queue source waits on the queue's own event count, which the run's stop also notifies: a stop or an
// error elsewhere ends the run at once even if nobody closes the queue (the queue's other waiters, if any,
// just look again).
template <class T>
class queue_source final : public source_node<T> {
 public:
  explicit queue_source(sluice::queue<T>& q) noexcept : q_(q) {}
  void wire(carrier_core& core, consumer<T>* down) override {
    source_node<T>::wire(core, down);
    core.ctl.on_stop([q = &q_] {
      std::atomic_thread_fence(std::memory_order_seq_cst);  // the stop flag is set: a waiter sees it, or is woken
      queue_access::not_empty(*q).notify_all();
    });
  }

 private:
  std::optional<T> pull(const pipeline_control& ctl) override {
    std::optional<T> item;
    for (;;) {
      pop_status st = queue_access::pop_once(q_, item);
      if (st == pop_status::empty && !ctl.stopping()) {
        event_count& ec = queue_access::not_empty(q_);
        const std::uint32_t ticket = ec.prepare();
        std::atomic_thread_fence(std::memory_order_seq_cst);
        st = queue_access::pop_once(q_, item);
        if (st != pop_status::empty || ctl.stopping()) {
          ec.cancel();
        } else {
          ec.wait(ticket, nullptr);
          continue;
        }
      }
      if (st == pop_status::ok) {
        q_.task_done();  // taken: the item now belongs to the pipeline
        return item;
      }
      return std::nullopt;  // closed and drained, or the run is stopping
    }
  }
  sluice::queue<T>& q_;
};

template <class T>
class function_source final : public source_node<T> {
 public:
  explicit function_source(std::function<std::optional<T>()> fn) : fn_(std::move(fn)) {}
  bool valid() const noexcept { return static_cast<bool>(fn_); }

 private:
  std::optional<T> pull(const pipeline_control& ctl) override {
    if (ctl.stopping()) return std::nullopt;
    return fn_();
  }
  std::function<std::optional<T>()> fn_;
};

template <class>
struct is_sluice_queue : std::false_type {};
template <class U>
struct is_sluice_queue<sluice::queue<U>> : std::true_type {};

template <class T, class R>
std::unique_ptr<node<T>> make_range_source(R&& r) {
  using bare = std::remove_cvref_t<R>;
  if constexpr (is_sluice_queue<bare>::value) {
    static_assert(std::is_lvalue_reference_v<R> && std::is_same_v<bare, sluice::queue<T>>,
                  "sluice::pipeline: pass a sluice::queue<T> source by lvalue reference");
    return std::make_unique<queue_source<T>>(r);
  } else if constexpr (std::is_lvalue_reference_v<R>) {
    return std::make_unique<range_source<T, std::remove_reference_t<R>*>>(std::addressof(r));
  } else {
    return std::make_unique<range_source<T, bare>>(std::move(r));
  }
}

template <class In, class Out, class F>
class stage_node final : public node<Out>, public consumer<In> {
  using result_t = std::invoke_result_t<F&, In&&>;
  static constexpr bool filters = !std::is_same_v<result_t, Out> && !std::is_void_v<Out>;

 public:
  template <class G>
  stage_node(std::unique_ptr<node<In>> up, G&& f, stage_options opts, std::size_t index)
      : up_(std::move(up)), f_(std::forward<G>(f)), opts_(std::move(opts)), index_(index) {}

  std::size_t stage_count() const noexcept override { return index_ + 1; }
  std::size_t last_workers() const noexcept override { return opts_.workers; }
  std::size_t last_batch() const noexcept override { return opts_.batch; }
  std::vector<stage_stats> describe() const override {
    auto v = up_->describe();
    stage_stats s;
    s.name = opts_.name;
    s.workers = opts_.workers;
    v.push_back(std::move(s));
    return v;
  }
  void options(std::vector<const stage_options*>& out) const override {
    up_->options(out);
    out.push_back(&opts_);
  }
  void wire(carrier_core& core, consumer<Out>* down) override {
    core_ = &core;
    down_ = down;
    up_->wire(core, this);
  }

  void carry(In&& item, std::uint64_t seq, carrier& c) override {
    carrier_core& core = *core_;
    if (!core.enter(index_, seq, c)) return;  // stopping: the item is dropped
    if (core.ctl.stopping()) return;          // no new item starts after a failure or a stop
    worker_tally& t = c.tally[index_];
    ++t.items_in;
    if constexpr (std::is_void_v<Out>) {
      timed_call(c, index_, [&] { std::invoke(f_, std::move(item)); });
      core.leave(index_, seq);
      ++t.items_out;
      core.released_one();
    } else {
      auto r = timed_call(c, index_, [&]() -> result_t { return std::invoke(f_, std::move(item)); });
      core.leave(index_, seq);
      if constexpr (filters) {
        if (!r) {
          down_->hole(seq, c);
          return;
        }
        ++t.items_out;
        down_->carry(std::move(*r), seq, c);
      } else {
        ++t.items_out;
        down_->carry(std::move(r), seq, c);
      }
    }
  }
  void hole(std::uint64_t seq, carrier& c) override {
    carrier_core& core = *core_;
    if (!core.pass_hole(index_, seq, c)) return;
    if constexpr (std::is_void_v<Out>) {
      core.released_one();
    } else {
      down_->hole(seq, c);
    }
  }

 private:
  std::unique_ptr<node<In>> up_;
  F f_;
  stage_options opts_;
  std::size_t index_;
  carrier_core* core_ = nullptr;
  consumer<Out>* down_ = nullptr;
};

}  // namespace sluice::detail
