// sluice/detail/pipeline_stage.hpp -- the machinery behind sluice::pipeline (not part of the public API).
//
// A pipeline is a chain of nodes, the source first. Running it launches the chain from its end: each stage
// creates the bounded queue feeding it, launches its upstream into that queue, then starts its workers. Items
// carry a sequence number; in ordered mode a stage with several workers passes results on in that order
// through a turnstile (a worker waits until the item before its own has left), so every queue stays in order
// and no reorder buffer can grow: the items alive are those in queues plus one per worker.
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

namespace sluice::detail {

template <class T>
struct seq_item {
  std::uint64_t seq;
  T value;
};
template <class T>
using channel = sluice::queue<seq_item<T>>;
template <class T>
using channel_ptr = std::conditional_t<std::is_void_v<T>, void*, channel<T>*>;

// What one worker measured; merged into its stage's stats when it leaves.
struct worker_tally {
  std::uint64_t items_in = 0;
  std::uint64_t items_out = 0;
  std::chrono::steady_clock::duration waiting_input{};
  std::chrono::steady_clock::duration waiting_output{};
  std::size_t max_depth = 0;
};

// Shared by every thread of one run: the first error, the stop hooks, the threads, the stats.
class pipeline_control {
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
  void merge(std::size_t stage, const worker_tally& tally, std::chrono::steady_clock::duration alive);
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
pipeline_stats run_pipeline(const pipeline_options& opts, std::vector<stage_stats> stages,
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
  virtual void launch(pipeline_control& ctl, channel_ptr<T> out) = 0;
  virtual std::size_t stage_count() const noexcept = 0;
  virtual std::size_t last_workers() const noexcept = 0;
  virtual std::vector<stage_stats> describe() const = 0;
};

// Puts into a channel, timing only the puts that had to wait.
template <class T>
void emit(channel<T>& out, seq_item<T>&& item, worker_tally& tally) {
  if (out.try_put(std::move(item))) return;
  const auto t0 = std::chrono::steady_clock::now();
  out.put(std::move(item));
  tally.waiting_output += std::chrono::steady_clock::now() - t0;
}

template <class T>
class source_node : public node<T> {
 public:
  std::size_t stage_count() const noexcept override { return 0; }
  std::size_t last_workers() const noexcept override { return 1; }
  std::vector<stage_stats> describe() const override { return {}; }
  void launch(pipeline_control& ctl, channel_ptr<T> out) override {
    ctl.spawn([this, &ctl, out] {
      try {
        produce(ctl, *out);
        out->close();
      } catch (const queue_shut_down&) {
        shut_down_seen(ctl);
      } catch (...) {
        ctl.fail(std::current_exception());
      }
    });
  }

 protected:
  virtual void produce(pipeline_control& ctl, channel<T>& out) = 0;
};

template <class T, class R>
class range_source final : public source_node<T> {
 public:
  template <class U>
  explicit range_source(U&& r) : range_(std::forward<U>(r)) {}

 private:
  void produce(pipeline_control& ctl, channel<T>& out) override {
    worker_tally unused;
    std::uint64_t seq = 0;
    auto& r = get();
    for (auto it = std::ranges::begin(r), last = std::ranges::end(r); it != last; ++it) {
      if (ctl.stopping()) return;
      emit(out, seq_item<T>{seq++, T(*it)}, unused);
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
  void produce(pipeline_control& ctl, channel<T>& out) override {
    worker_tally unused;
    std::uint64_t seq = 0;
    while (!ctl.stopping()) {
      std::optional<T> item = q_.try_get();
      if (!item) item = q_.try_get_for(std::chrono::milliseconds(50));
      if (!item) {
        if (q_.is_shut_down() && q_.qsize() == 0) return;
        continue;
      }
      struct done_guard {
        sluice::queue<T>& q;
        ~done_guard() {
          try {
            q.task_done();
          } catch (...) {  // only if the user called task_done for our item too; not ours to report
          }
        }
      } guard{q_};
      emit(out, seq_item<T>{seq++, std::move(*item)}, unused);
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
  void produce(pipeline_control& ctl, channel<T>& out) override {
    worker_tally unused;
    std::uint64_t seq = 0;
    while (!ctl.stopping()) {
      std::optional<T> item = fn_();
      if (!item) return;
      emit(out, seq_item<T>{seq++, std::move(*item)}, unused);
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

// Keeps a stage's outputs in input order when several workers run it (see the file comment).
class turnstile {
 public:
  explicit turnstile(std::size_t workers) : slots_(workers) {}
  // Blocks until seq's turn; false if the run is stopping.
  bool wait(std::uint64_t seq) {
    std::unique_lock lock(mutex_);
    slots_[seq % slots_.size()].wait(lock, [&] { return next_ == seq || stopped_; });
    return !stopped_;
  }
  void advance() {
    std::size_t slot;
    {
      std::lock_guard lock(mutex_);
      slot = ++next_ % slots_.size();
    }
    slots_[slot].notify_all();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    for (auto& cv : slots_) cv.notify_all();
  }

 private:
  std::mutex mutex_;
  std::vector<std::condition_variable> slots_;  // a worker waits on its seq's slot: one waiter per slot
  std::uint64_t next_ = 0;
  bool stopped_ = false;
};

template <class In, class Out, class F>
class stage_node final : public node<Out> {
  using result_t = std::invoke_result_t<F&, In&&>;
  static constexpr bool filters = !std::is_same_v<result_t, Out> && !std::is_void_v<Out>;

 public:
  template <class G>
  stage_node(std::unique_ptr<node<In>> up, G&& f, stage_options opts, std::size_t index, bool ordered)
      : up_(std::move(up)), f_(std::forward<G>(f)), opts_(std::move(opts)), index_(index), ordered_(ordered) {}

  std::size_t stage_count() const noexcept override { return index_ + 1; }
  std::size_t last_workers() const noexcept override { return opts_.workers; }
  std::vector<stage_stats> describe() const override {
    auto v = up_->describe();
    stage_stats s;
    s.name = opts_.name;
    s.workers = opts_.workers;
    v.push_back(std::move(s));
    return v;
  }

  void launch(pipeline_control& ctl, channel_ptr<Out> out) override {
    in_ = std::make_unique<channel<In>>(opts_.capacity);
    if (ordered_ && opts_.workers > 1) turn_ = std::make_unique<turnstile>(opts_.workers);
    live_.store(opts_.workers, std::memory_order_relaxed);
    ctl.on_stop([this] {
      in_->shutdown(true);
      if (turn_) turn_->stop();
    });
    up_->launch(ctl, in_.get());
    for (std::size_t w = 0; w < opts_.workers; ++w) ctl.spawn([this, &ctl, out] { work(ctl, out); });
  }

 private:
  void work(pipeline_control& ctl, channel_ptr<Out> out) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    worker_tally tally;
    try {
      for (std::uint64_t gets = 0;; ++gets) {
        std::optional<seq_item<In>> got = in_->try_get();
        if (got) {
          // Sampled: reading the queue's indices on every item would cost more than the item itself.
          if ((gets & 7) == 0) tally.max_depth = std::max(tally.max_depth, std::min(in_->qsize() + 1, opts_.capacity));
        } else {
          const auto t0 = clock::now();
          try {
            got.emplace(in_->get());
          } catch (const queue_shut_down&) {
            tally.waiting_input += clock::now() - t0;
            break;  // closed and drained (this worker is done), or the run is stopping
          }
          tally.waiting_input += clock::now() - t0;
          tally.max_depth = std::max<std::size_t>(tally.max_depth, 1);
        }
        ++tally.items_in;
        if constexpr (std::is_void_v<Out>) {
          std::invoke(f_, std::move(got->value));
          ++tally.items_out;
        } else {
          auto result = std::invoke(f_, std::move(got->value));
          if (turn_ && !turn_->wait(got->seq)) break;
          bool passed = true;
          if constexpr (filters) {
            passed = result.has_value();
            if (passed) emit(*out, seq_item<Out>{ordered_ ? out_seq_++ : 0, std::move(*result)}, tally);
          } else {
            emit(*out, seq_item<Out>{ordered_ ? out_seq_++ : 0, std::move(result)}, tally);
          }
          if (passed) ++tally.items_out;
          if (turn_) turn_->advance();
        }
      }
    } catch (const queue_shut_down&) {
      shut_down_seen(ctl);
    } catch (...) {
      ctl.fail(std::current_exception());
    }
    ctl.merge(index_, tally, clock::now() - started);
    if constexpr (!std::is_void_v<Out>) {
      if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) out->close();
    }
  }

  std::unique_ptr<node<In>> up_;
  F f_;
  stage_options opts_;
  std::size_t index_;
  bool ordered_;
  std::unique_ptr<channel<In>> in_;
  std::unique_ptr<turnstile> turn_;
  std::atomic<std::size_t> live_{0};
  std::uint64_t out_seq_ = 0;  // touched by one worker at a time: the only one, or the one holding the turn
};

}  // namespace sluice::detail
