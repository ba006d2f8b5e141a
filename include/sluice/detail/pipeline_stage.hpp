// sluice/detail/pipeline_stage.hpp -- the machinery behind sluice::pipeline (not part of the public API).
//
// A pipeline is a chain of nodes, the source first. Running it launches the chain from its end: each stage
// creates the bounded queue feeding it, launches its upstream into that queue, then starts its workers. Items
// carry a sequence number. In ordered mode a stage with several workers whose consumer is a single thread (a
// one-worker stage or the sink) passes results on out of order and the consumer reorders them in a window as
// large as its queue's capacity (emit_gate: a worker may not run further ahead), so items alive are still
// those a queue could hold plus one per worker. Toward a multi-worker consumer the workers instead pass results
// on in order through a turnstile (a worker waits until the item before its own has left).
// The first failure (or a stop) shuts every queue down at once ("immediate"): blocked puts and gets wake up
// with queue_shut_down, each thread leaves, and the run joins them all.
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
#include "spin.hpp"

namespace sluice::detail {

// The items of one queue entry. One item (the default) lives inline, so a per-item hand-over allocates
// nothing; more go to a vector only when a stage asked for batching (stage_options::batch > 1).
template <class T>
class item_list {
 public:
  std::size_t size() const noexcept { return first_ ? 1 + rest_.size() : 0; }
  bool empty() const noexcept { return !first_; }
  T& operator[](std::size_t i) noexcept { return i == 0 ? *first_ : rest_[i - 1]; }
  void reserve(std::size_t n) {
    if (n > 1) rest_.reserve(n - 1);
  }
  void push_back(T&& item) {
    if (!first_)
      first_.emplace(std::move(item));
    else
      rest_.push_back(std::move(item));
  }
  void clear() noexcept {
    first_.reset();
    rest_.clear();
  }

 private:
  std::optional<T> first_;
  std::vector<T> rest_;
};

// Queues carry batches: a batch is what one producer handed over at once. Unless the consuming stage opted in
// to batching it is exactly one item, so queue capacities count items.
template <class T>
struct batch {
  std::uint64_t seq = 0;  // consecutive per queue in ordered mode
  item_list<T> items;
};
// Aim when batching: one batch is about this much of the consumer's work, so handing it over costs little in
// comparison.
inline constexpr std::uint64_t batch_target_ns = 20'000;

// The one ordering gate of the pipeline: result seq may pass once seq < next + window, where next is the seq
// that passed last plus one (advance() moves it on). Two uses:
//  - emit_gate (window = the queue's capacity): the workers of an ordered multi-worker stage pass results on out
//    of order to a single consumer that puts them back in order (reorder_window below); the results in the
//    queue or in the consumer's window then have distinct seqs in [next, next + window), so they never
//    outnumber the capacity and the memory bound is the one without reordering;
//  - turnstile (window 1): toward a multi-worker consumer the workers pass results on in order, each waiting
//    until the item before its own has left.
// A turn usually comes within moments, so a waiter spins briefly (profile P) before sleeping, and advance()
// touches the lock only when someone sleeps: one item per hand-over must not cost a futex round trip. A waiter
// sleeps on its seq's slot (seq % slots), so advance() wakes only the slot whose seq it opened.
template <spin_profile P>
class order_gate {
 public:
  order_gate(std::uint64_t window, std::size_t slots) : window_(window), slots_(std::max<std::size_t>(slots, 1)) {}
  std::uint64_t window() const noexcept { return window_; }
  // True when seq may pass now (a wait would return at once).
  bool open_for(std::uint64_t seq) const noexcept { return seq < next_.load(std::memory_order_acquire) + window_; }
  // Blocks until seq may pass; false if the run is stopping.
  bool wait(std::uint64_t seq) {
    for (backoff<P> b;;) {
      if (open_for(seq)) return true;
      if (stopped_.load(std::memory_order_acquire)) return false;
      if (!b.pause()) break;
    }
    std::unique_lock lock(mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    slots_[seq % slots_.size()].wait(lock, [&] {
      return seq < next_.load(std::memory_order_seq_cst) + window_ || stopped_.load(std::memory_order_seq_cst);
    });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return !stopped_.load(std::memory_order_relaxed);
  }
  // Seq next has passed (the consumer took it, or its worker passed it on): next + window may pass now.
  void advance() {
    // seq_cst pairs with the sleeper's: either it sees the new value before sleeping, or this sees it asleep.
    const std::uint64_t opened = next_.fetch_add(1, std::memory_order_seq_cst) + window_;
    if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
    { std::lock_guard lock(mutex_); }  // a sleeper checked under the lock, so it is waiting by now
    slots_[opened % slots_.size()].notify_all();
  }
  std::uint64_t next() const noexcept { return next_.load(std::memory_order_relaxed); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_.store(true, std::memory_order_seq_cst);
    }
    for (auto& cv : slots_) cv.notify_all();
  }

 private:
  const std::uint64_t window_;
  std::mutex mutex_;
  std::vector<std::condition_variable> slots_;  // as many as workers: one sleeper per slot
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::size_t> sleepers_{0};
  std::atomic<bool> stopped_{false};
};
// The emit gate's waiters wait for a window of turns, so they also yield a few times before they sleep.
using emit_gate = order_gate<spin::emit_window>;
using turnstile = order_gate<spin::ordered_turn>;

// A bounded queue plus, when its consumer opted in to batching, the consumer's recent cost per item, which
// tells its producer how much to gather (up to max_batch items).
template <class T>
struct link {
  link(std::size_t capacity, std::size_t max_batch) : queue(capacity), max_batch(max_batch) {}
  sluice::queue<batch<T>> queue;
  const std::size_t max_batch;            // 1: one item per entry, the item-exact bound
  std::atomic<std::uint64_t> item_ns{0};  // 0: not measured yet
  std::size_t batch_limit() const noexcept {
    if (max_batch <= 1) return 1;
    const std::uint64_t ns = item_ns.load(std::memory_order_relaxed);
    if (ns == 0) return 1;
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(batch_target_ns / ns, 1, max_batch));
  }
  bool measures() const noexcept { return max_batch > 1; }
  // Set (before the producer launches) when the single consumer reorders what several workers emit.
  std::unique_ptr<emit_gate> gate;
  void reorder() { gate = std::make_unique<emit_gate>(queue.maxsize(), 1); }
  void stop_gate() {
    if (gate) gate->stop();
  }
  void record(std::chrono::steady_clock::duration spent, std::size_t items) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count();
    item_ns.store(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(ns) / std::max<std::size_t>(items, 1)),
                  std::memory_order_relaxed);
  }
};
template <class T>
using channel_ptr = std::conditional_t<std::is_void_v<T>, void*, link<T>*>;

// What one worker measured; merged into its stage's stats when it leaves.
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
// first error. A stop requested before the start throws cancelled_error without starting anything.
SLUICE_EXPORT pipeline_stats run_pipeline(const pipeline_options& opts, std::vector<stage_stats> stages,
                            const std::function<void(pipeline_control&)>& launch,
                            const std::function<void(pipeline_control&)>& drain);

// Reports a queue_shut_down caught by a pipeline thread: the expected way out once stopping, a real error
// (from user code) otherwise.
inline void shut_down_seen(pipeline_control& ctl) noexcept {
  if (!ctl.stopping()) ctl.fail(std::current_exception());
}

// Produces T items into a channel (nothing, for T = void: the pipeline ends there).
template <class T>
class node {
 public:
  virtual ~node() = default;
  // Starts this node's threads and its upstream's, on the calling thread; the last of this node's threads to
  // finish closes out.
  virtual void launch(pipeline_control& ctl, channel_ptr<T> out, bool ordered) = 0;
  virtual std::size_t stage_count() const noexcept = 0;
  virtual std::size_t last_workers() const noexcept = 0;
  virtual std::size_t last_batch() const noexcept = 0;
  virtual std::vector<stage_stats> describe() const = 0;
};

// Blocking puts and gets park until the queue answers: a stop shuts every queue of the run down at once
// (pipeline_control's stop hooks), which wakes them. Before it parks, a thread that found its queue empty (or
// full) yields its core a few times (spin::pipeline_handoff): a park plus wake-up per item costs several times
// more.
inline constexpr seconds park_until_woken{std::numeric_limits<double>::infinity()};

// Puts a batch, timing only the puts that had to wait. Throws queue_shut_down once the run is stopping.
template <class T>
void emit(link<T>& out, batch<T>&& b, worker_tally& tally, const pipeline_control& ctl) {
  if (out.queue.try_put(std::move(b))) return;
  const auto t0 = std::chrono::steady_clock::now();
  for (backoff<spin::pipeline_handoff> wait; wait.pause();) {
    if (out.queue.try_put(std::move(b))) {
      tally.waiting_output += std::chrono::steady_clock::now() - t0;
      return;
    }
  }
  try {
    while (!out.queue.try_put_for(std::move(b), park_until_woken)) {
    }
  } catch (const queue_shut_down&) {
    tally.waiting_output += std::chrono::steady_clock::now() - t0;
    throw;
  }
  tally.waiting_output += std::chrono::steady_clock::now() - t0;
}

// Blocks for the next batch: nullopt once the queue is closed and drained, or the run is stopping.
template <class T>
std::optional<batch<T>> take(link<T>& in, const pipeline_control& ctl) {
  for (backoff<spin::pipeline_handoff> wait; wait.pause();) {
    if (std::optional<batch<T>> got = in.queue.try_get()) return got;
  }
  for (;;) {
    std::optional<batch<T>> got = in.queue.try_get_for(park_until_woken);
    if (got || ctl.stopping()) return got;
    if (in.queue.is_shut_down() && in.queue.qsize() == 0) return got;
  }
}

// The consumer's side of an emit_gate: takes entries as they come and hands them out in seq order; empty
// entries (a filtered item's place) are handed out too, so that the order can move on.
template <class T>
class reorder_window {
 public:
  explicit reorder_window(link<T>& in) : in_(in) {
    if (in.gate) slots_.resize(in.gate->window());
  }
  // Blocks for the next batch in order: nullopt once the queue is closed and drained, or the run is stopping.
  std::optional<batch<T>> next(const pipeline_control& ctl) {
    if (!in_.gate) {
      std::optional<batch<T>> got = in_.queue.try_get();
      if (!got) got = take(in_, ctl);
      return got;
    }
    for (;;) {
      const std::uint64_t want = in_.gate->next();
      auto& slot = slots_[want % slots_.size()];
      if (slot) {
        std::optional<batch<T>> got = std::move(slot);
        slot.reset();
        in_.gate->advance();
        return got;
      }
      std::optional<batch<T>> got = in_.queue.try_get();
      if (!got) got = take(in_, ctl);
      if (!got) return got;
      if (got->seq == want) {
        in_.gate->advance();
        return got;
      }
      // The gate keeps every seq in [want, want + window): this slot is free.
      slots_[got->seq % slots_.size()] = std::move(got);
    }
  }

 private:
  link<T>& in_;
  std::vector<std::optional<batch<T>>> slots_;
};

// The source's side of batching: hands items over one by one while the consumer is waiting for them, and
// gathers them (up to the consumer's batch limit) while it is behind.
template <class T>
class batcher {
 public:
  batcher(link<T>& out, bool ordered, const pipeline_control& ctl) noexcept
      : out_(out), ctl_(ctl), ordered_(ordered) {}
  void add(T&& item, worker_tally& tally) {
    acc_.items.push_back(std::move(item));
    if (!out_.measures() || acc_.items.size() >= out_.batch_limit()) {
      flush(tally);
    } else if (out_.queue.empty()) {
      stamp();
      if (out_.queue.try_put(std::move(acc_))) {
        ++seq_;
        acc_.items.clear();
      }
    }
  }
  // Blocks while the queue is full.
  void flush(worker_tally& tally) {
    if (acc_.items.empty()) return;
    stamp();
    emit(out_, std::move(acc_), tally, ctl_);
    ++seq_;
    acc_.items.clear();
  }

 private:
  void stamp() noexcept { acc_.seq = ordered_ ? seq_ : 0; }
  link<T>& out_;
  const pipeline_control& ctl_;
  bool ordered_;
  std::uint64_t seq_ = 0;
  batch<T> acc_;
};

template <class T>
class source_node : public node<T> {
 public:
  std::size_t stage_count() const noexcept override { return 0; }
  std::size_t last_workers() const noexcept override { return 1; }
  std::size_t last_batch() const noexcept override { return 1; }
  std::vector<stage_stats> describe() const override { return {}; }
  void launch(pipeline_control& ctl, channel_ptr<T> out, bool ordered) override {
    ctl.spawn([this, &ctl, out, ordered] {
      try {
        worker_tally unused;
        batcher<T> b(*out, ordered, ctl);
        produce(ctl, b, unused);
        b.flush(unused);
        out->queue.close();
      } catch (const queue_shut_down&) {
        shut_down_seen(ctl);
      } catch (...) {
        ctl.fail(std::current_exception());
      }
    });
  }

 protected:
  virtual void produce(pipeline_control& ctl, batcher<T>& out, worker_tally& tally) = 0;
};

template <class T, class R>
class range_source final : public source_node<T> {
 public:
  template <class U>
  explicit range_source(U&& r) : range_(std::forward<U>(r)) {}

 private:
  void produce(pipeline_control& ctl, batcher<T>& out, worker_tally& tally) override {
    auto& r = get();
    for (auto it = std::ranges::begin(r), last = std::ranges::end(r); it != last; ++it) {
      if (ctl.stopping()) return;
      out.add(T(*it), tally);
    }
  }
  auto& get() noexcept {
    if constexpr (std::is_pointer_v<R>)
      return *range_;
    else
      return range_;
  }
  R range_;  // a pointer for an lvalue range, the range itself for an rvalue
};

// A sluice::queue source is polled, so that a stop or an error elsewhere ends the run even if nobody closes it.
template <class T>
class queue_source final : public source_node<T> {
 public:
  explicit queue_source(sluice::queue<T>& q) noexcept : q_(q) {}

 private:
  void produce(pipeline_control& ctl, batcher<T>& out, worker_tally& tally) override {
    while (!ctl.stopping()) {
      std::optional<T> item = q_.try_get();
      if (!item) {
        out.flush(tally);  // nothing gathered may wait on an idle queue
        item = q_.try_get_for(std::chrono::milliseconds(50));
      }
      if (!item) {
        if (q_.is_shut_down() && q_.qsize() == 0) return;
        continue;
      }
      q_.task_done();  // taken: the item now belongs to the pipeline
      out.add(std::move(*item), tally);
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
  void produce(pipeline_control& ctl, batcher<T>& out, worker_tally& tally) override {
    while (!ctl.stopping()) {
      std::optional<T> item = fn_();
      if (!item) return;
      out.add(std::move(*item), tally);
    }
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
class stage_node final : public node<Out> {
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

  void launch(pipeline_control& ctl, channel_ptr<Out> out, bool ordered) override {
    in_ = std::make_unique<link<In>>(opts_.capacity, opts_.batch);
    // This stage's one worker puts back in order what a multi-worker upstream emits out of order.
    if (ordered && opts_.workers == 1 && opts_.batch == 1 && up_->stage_count() > 0 && up_->last_workers() > 1 &&
        up_->last_batch() == 1)
      in_->reorder();
    if (ordered && opts_.workers > 1) {
      if constexpr (!std::is_void_v<Out>) gated_ = out->gate != nullptr;
      if (!gated_) turn_ = std::make_unique<turnstile>(1, opts_.workers);
    }
    ordered_ = ordered;
    live_.store(opts_.workers, std::memory_order_relaxed);
    ctl.on_stop([this] {
      in_->queue.shutdown(true);
      in_->stop_gate();
      if (turn_) turn_->stop();
    });
    up_->launch(ctl, in_.get(), ordered);
    for (std::size_t w = 0; w < opts_.workers; ++w) ctl.spawn([this, &ctl, out] { work(ctl, out); });
  }

 private:
  void work(pipeline_control& ctl, channel_ptr<Out> out) {
    using clock = std::chrono::steady_clock;
    worker_tally tally;
    // Busy time is the worker's life less its waits: the clock is read when a worker has to wait, not per item
    // (two reads per item cost as much as handing a trivial item over). Only a stage that batches times each
    // batch, to size the next ones.
    const auto born = clock::now();
    const bool timed = in_->measures();
    try {
      reorder_window<In> window(*in_);
      for (std::uint64_t gets = 0;; ++gets) {
        std::optional<batch<In>> got;
        if (!in_->gate) got = in_->queue.try_get();
        if (got) {
          // Sampled: reading the queue's indices on every batch would cost more than a small batch itself.
          if ((gets & 7) == 0)
            tally.max_depth = std::max(tally.max_depth, std::min(in_->queue.qsize() + 1, opts_.capacity));
        } else {
          const auto t0 = clock::now();
          got = window.next(ctl);
          tally.waiting_input += clock::now() - t0;
          if (!got) break;  // closed and drained (this worker is done), or the run is stopping
          tally.max_depth = std::max<std::size_t>(tally.max_depth, 1);
        }
        const std::size_t n = got->items.size();
        const auto t0 = timed ? clock::now() : clock::time_point{};
        if constexpr (std::is_void_v<Out>) {
          for (std::size_t i = 0; i < n; ++i) {
            if (ctl.stopping()) break;  // no new item starts after a failure or a stop
            ++tally.items_in;
            std::invoke(f_, std::move(got->items[i]));
            ++tally.items_out;
          }
          if (timed) in_->record(clock::now() - t0, n);
        } else {
          batch<Out> results;
          results.items.reserve(n);
          for (std::size_t i = 0; i < n; ++i) {
            if (ctl.stopping()) break;
            ++tally.items_in;
            if constexpr (filters) {
              auto r = std::invoke(f_, std::move(got->items[i]));
              if (r) results.items.push_back(std::move(*r));
            } else {
              results.items.push_back(std::invoke(f_, std::move(got->items[i])));
            }
          }
          if (timed) in_->record(clock::now() - t0, n);
          const std::uint64_t in_seq = got->seq;
          got.reset();  // the inputs are gone before this worker may wait for its turn
          if (gated_) {
            // Out of order, with a filtered item's place kept by an empty entry; the consumer reorders.
            if (!out->gate->open_for(in_seq) && !timed_wait(tally, [&] { return out->gate->wait(in_seq); })) break;
            tally.items_out += results.items.size();
            results.seq = in_seq;
            emit(*out, std::move(results), tally, ctl);
            continue;
          }
          if (turn_ && !turn_->open_for(in_seq) && !timed_wait(tally, [&] { return turn_->wait(in_seq); })) break;
          tally.items_out += results.items.size();
          pass_on(*out, std::move(results), tally, ctl);
          if (turn_) turn_->advance();
        }
      }
    } catch (const queue_shut_down&) {
      shut_down_seen(ctl);
    } catch (...) {
      ctl.fail(std::current_exception());
    }
    tally.busy = std::max(clock::duration::zero(), clock::now() - born - tally.waiting_input - tally.waiting_output);
    ctl.merge(index_, tally);
    if constexpr (!std::is_void_v<Out>) {
      if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) out->queue.close();
    }
  }

  // A wait for the order's turn, counted as waiting for room downstream.
  template <class Wait>
  static bool timed_wait(worker_tally& tally, Wait&& wait) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = wait();
    tally.waiting_output += std::chrono::steady_clock::now() - t0;
    return ok;
  }

  // Splits a worker's results into batches its consumer can take (one item each when the consumer is slow, so
  // that all of its workers get some).
  template <class U>
  void pass_on(link<U>& out, batch<U>&& results, worker_tally& tally, const pipeline_control& ctl) {
    const std::size_t n = results.items.size();
    if (n == 0) return;
    const std::size_t limit = out.batch_limit();
    if (n <= limit) {
      results.seq = ordered_ ? out_seq_++ : 0;
      emit(out, std::move(results), tally, ctl);
      return;
    }
    for (std::size_t i = 0; i < n; i += limit) {
      batch<U> part;
      const std::size_t end = std::min(n, i + limit);
      part.items.reserve(end - i);
      for (std::size_t j = i; j < end; ++j) part.items.push_back(std::move(results.items[j]));
      part.seq = ordered_ ? out_seq_++ : 0;
      emit(out, std::move(part), tally, ctl);
    }
  }

  std::unique_ptr<node<In>> up_;
  F f_;
  stage_options opts_;
  std::size_t index_;
  bool ordered_ = false;
  bool gated_ = false;  // ordered, several workers, and the consumer reorders: no turnstile
  std::unique_ptr<link<In>> in_;
  std::unique_ptr<turnstile> turn_;
  std::atomic<std::size_t> live_{0};
  std::uint64_t out_seq_ = 0;  // touched by one worker at a time: the only one, or the one holding the turn
};

}  // namespace sluice::detail
