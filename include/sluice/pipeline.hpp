// sluice/pipeline.hpp -- Effective Python Item 55's download -> resize -> upload pipeline as a library: a source,
// stages with a number of workers each and a bounded queue before each, and the endings done right: draining,
// the first exception stopping everything and reaching the caller, cancellation, order, bounded memory.
//
//   auto stats = sluice::pipeline(paths)                                     // any input range, read lazily
//                    .stage(download, {.workers = 4, .name = "download"})
//                    .stage(resize, {.workers = 2})                          // std::optional results filter
//                    .stage(upload, {.workers = 4})                          // void: the pipeline ends here
//                    .run();
//   std::cout << stats.report();                                             // which stage is the bottleneck
//
// Thread-safety: a pipeline is built and run by one thread. A run has sum(workers) threads of its own; each takes
// an item from the source (one thread at a time) and carries it through the stages itself, so a stage's function
// is called from any of them -- and, while it has nothing to sink, from the calling thread -- but never by more
// than `workers` at once (it must be safe for that many). The source is called by one thread at a time, in turn
// (so it needs no lock of its own but must not care which thread calls it); sinks (for_each) run on the caller's.
// Memory: the items alive never exceed the bound in pipeline_types.hpp, item for item (the run hands out that
// many tokens). Design: include/sluice/detail/pipeline_stage.hpp. Lifetimes: an lvalue input range (or
// sluice::queue) is referenced, not copied, and must outlive the run; every thread is joined before
// collect/for_each/run returns or throws.
// Things you must get right: a source that blocks forever (a queue nobody closes, a function that never
// returns) keeps the run from ending, except that a sluice::queue source also wakes up for a stop or an error. A stage function that blocks forever cannot be interrupted either. A source that blocks holds
// up the thread calling it, which may be the caller (then the sink waits too) until it returns.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "queue.hpp"
#include "thread_pool.hpp"  // cancelled_error

#include "detail/pipeline_types.hpp"  // stage_options, pipeline_options, stage_stats, pipeline_stats

#include "detail/pipeline_stage.hpp"  // the stage machinery; needs the option and stats types above

namespace sluice {

template <class T>
class pipeline {
  static_assert(std::is_object_v<T> && !std::is_const_v<T>, "sluice::pipeline<T> needs a non-const object type");

 public:
  // The source: any input range, taken lazily on its own thread (a sluice::queue<T>& works: until it is closed,
  // each item marked task_done once taken, so the queue's join() works). An lvalue range is referenced.
  template <std::ranges::input_range R>
  explicit pipeline(R&& inputs, pipeline_options opts = {})
      : source_(detail::make_range_source<T>(std::forward<R>(inputs))), opts_(std::move(opts)) {}
  // The source: called (on the source thread) until it returns nullopt.
  explicit pipeline(std::function<std::optional<T>()> source, pipeline_options opts = {})
      : source_(std::make_unique<detail::function_source<T>>(std::move(source))), opts_(std::move(opts)) {
    if (!static_cast<detail::function_source<T>&>(*source_).valid())
      throw std::invalid_argument("sluice::pipeline: empty source function");
  }
  pipeline(pipeline&&) noexcept = default;
  pipeline& operator=(pipeline&&) noexcept = default;

  // Adds a stage: up to opts.workers calls of f at once, each passing f(item) on. A stage whose f
  // returns void ends the pipeline (pipeline<void>). Never blocks; std::invalid_argument for workers == 0
  // or batch == 0.
  template <class F>
  pipeline<stage_output_t<F, T>> stage(F&& f, stage_options opts = {}) && {
    using out_t = stage_output_t<F, T>;
    static_assert(std::is_void_v<out_t> || (std::is_object_v<out_t> && !std::is_const_v<out_t>),
                  "sluice::pipeline::stage: f must return void, a non-const value or std::optional of one");
    if (opts.workers == 0) throw std::invalid_argument("sluice::pipeline::stage: workers must be at least 1");
    if (opts.batch == 0) throw std::invalid_argument("sluice::pipeline::stage: batch must be at least 1");
    if (opts.capacity == 0) opts.capacity = 2 * opts.workers;
    const std::size_t index = source_->stage_count();
    if (opts.name.empty()) opts.name = "stage " + std::to_string(index + 1);
    auto node = std::make_unique<detail::stage_node<T, out_t, std::decay_t<F>>>(
        std::move(source_), std::forward<F>(f), std::move(opts), index);
    return pipeline<out_t>(std::move(node), std::move(opts_));
  }

  // Each runs the whole pipeline and returns when every thread is joined. If any stage throws, no new items
  // are started, all threads are joined, and the first exception is rethrown here (cancelled_error for a stop).
  std::vector<T> collect() && {
    std::vector<T> out;
    std::move(*this).for_each([&out](T&& item) { out.push_back(std::move(item)); });
    return out;
  }
  // sink(T) on the calling thread, in input order when ordered; an exception from sink ends the run as a
  // stage's would.
  template <class F>
  pipeline_stats for_each(F&& sink) && {
    std::vector<const stage_options*> stages;
    source_->options(stages);
    const std::size_t carriers = detail::carrier_count(stages);
    std::unique_ptr<detail::carrier_core> core;
    std::unique_ptr<detail::ring_sink<T>> ring;
    return detail::run_pipeline(
        opts_, source_->describe(),
        [&](detail::pipeline_control& ctl) {
          // carriers - 1 threads carry; the caller and a spare share one more license (carrier_core::lend).
          core = std::make_unique<detail::carrier_core>(ctl, stages, opts_.ordered,
                                                        detail::token_count(stages, true), carriers);
          ring = std::make_unique<detail::ring_sink<T>>(*core);
          source_->wire(*core, ring.get());
          ctl.on_stop([c = core.get()] { c->stop(); });
          for (std::size_t i = 0; i < carriers; ++i)
            ctl.spawn([c = core.get(), n = stages.size(), spare = i == 0] {
              detail::carrier me(*c, n);
              if (spare)
                c->spare_loop(me);
              else
                c->carry_loop(me);
            });
        },
        [&](detail::pipeline_control& ctl) {
          detail::carrier me(*core, stages.size());
          struct merge_at_exit {
            detail::carrier& me;
            ~merge_at_exit() { me.core.merge(me); }
          } merged{me};
          std::uint64_t next = 0;
          auto ready = [&] {
            if (ring->ready(next)) return true;
            if (core->source_done()) return next == core->total();
            return core->can_start() && !core->spare_holds_license();
          };
          // The sink's calls are timed like a stage's (one in 64 while they are quick): a slow sink lends the
          // caller's carrier license to the spare while it runs. clock.stride 0: the last timed call was slow.
          detail::stage_clock clock;
          bool slow = false, lent = false;
          struct unlend_at_exit {
            detail::carrier_core& core;
            bool& lent;
            ~unlend_at_exit() {
              if (lent) core.unlend();
            }
          } unlend_guard{*core, lent};
          for (;;) {
            while (ring->ready(next)) {
              if (slow && !lent) {
                core->lend();
                lent = true;
              }
              {
                std::optional<T> item = ring->take(next);
                if (item) {
                  if (ctl.stopping()) return;
                  if (clock.countdown != 0) {
                    --clock.countdown;
                    std::invoke(sink, std::move(*item));
                  } else {
                    const auto t0 = std::chrono::steady_clock::now();
                    std::invoke(sink, std::move(*item));
                    // Slow after two slow calls in a row: one may just have been preempted.
                    const bool this_slow = std::chrono::steady_clock::now() - t0 >= std::chrono::microseconds(20);
                    slow = this_slow && clock.stride == 0;
                    clock.stride = this_slow ? 0 : 1;
                    clock.countdown = this_slow ? 0 : 63;
                  }
                }
              }
              core->released_up_to(++next);  // the item is gone: its token comes back
            }
            if (lent) {
              core->unlend();
              lent = false;
            }
            if (ctl.stopping()) return;
            if (core->source_done()) {
              if (next == core->total()) return;
            } else if (core->caller_may_carry() && core->source->step(me) == detail::step_result::started) {
              continue;
            }
            if (!core->lot.wait(ready, ctl)) return;
          }
        });
  }
  pipeline_stats run() && {
    return std::move(*this).for_each([](T&&) {});
  }

 private:
  template <class>
  friend class pipeline;
  pipeline(std::unique_ptr<detail::node<T>> source, pipeline_options opts)
      : source_(std::move(source)), opts_(std::move(opts)) {}

  std::unique_ptr<detail::node<T>> source_;
  pipeline_options opts_;
};

template <>
class pipeline<void> {
 public:
  pipeline(pipeline&&) noexcept = default;
  pipeline& operator=(pipeline&&) noexcept = default;
  // Runs the pipeline; returns when every thread is joined; rethrows the first exception.
  pipeline_stats run() && {
    std::vector<const stage_options*> stages;
    source_->options(stages);
    const std::size_t carriers = detail::carrier_count(stages);
    std::unique_ptr<detail::carrier_core> core;
    return detail::run_pipeline(
        opts_, source_->describe(),
        [&](detail::pipeline_control& ctl) {
          core = std::make_unique<detail::carrier_core>(ctl, stages, opts_.ordered,
                                                        detail::token_count(stages, false), carriers + 1);
          source_->wire(*core, nullptr);
          ctl.on_stop([c = core.get()] { c->stop(); });
          for (std::size_t i = 0; i < carriers; ++i)
            ctl.spawn([c = core.get(), n = stages.size()] {
              detail::carrier me(*c, n);
              c->carry_loop(me);
            });
        },
        [&](detail::pipeline_control&) {
          detail::carrier me(*core, stages.size());
          core->carry_loop(me);  // the caller is one more carrier
        });
  }

 private:
  template <class>
  friend class pipeline;
  pipeline(std::unique_ptr<detail::node<void>> source, pipeline_options opts)
      : source_(std::move(source)), opts_(std::move(opts)) {}

  std::unique_ptr<detail::node<void>> source_;
  pipeline_options opts_;
};

template <std::ranges::input_range R>
pipeline(R&&) -> pipeline<std::ranges::range_value_t<R>>;
template <std::ranges::input_range R>
pipeline(R&&, pipeline_options) -> pipeline<std::ranges::range_value_t<R>>;

}  // namespace sluice
