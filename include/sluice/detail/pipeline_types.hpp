// sluice/detail/pipeline_types.hpp -- the option and statistics types of <sluice/pipeline.hpp>, in their own
// header so that the stage machinery (pipeline_stage.hpp) can include them too. Include <sluice/pipeline.hpp>.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <vector>

#include "../export.hpp"

namespace sluice {

using seconds = std::chrono::duration<double>;

// Memory bound. By default every queue entry is one item, and the items alive in a run -- produced by the
// source but not yet passed to the sink (for_each's function, collect's vector, run's discard) -- never exceed
//     sum over stages of (capacity + workers) + output capacity + 2
// where the output capacity is that of the queue between the last stage and the sink, max(2, 2 * the last
// stage's workers), and the 2 are the item in the source's hand and the one in the sink's hand. This holds
// ordered or not, whatever the work per item, and a worker holds one item (its input, then its result). In
// ordered mode a stage's workers either take turns passing results on, or (when a single thread consumes them:
// a one-worker stage or the sink) pass them on out of order to that consumer, which puts them back in order in
// a window no larger than its queue's capacity; a worker waits before running ahead of it. A stage's function
// may keep more alive by itself, of course. Example: source -> 4 workers (capacity 8) -> sink: at most
// 8 + 4 + 8 + 2 = 22 items.
struct SLUICE_EXPORT stage_options {
  std::size_t workers = 1;   // threads running this stage; 0 is std::invalid_argument
  std::size_t capacity = 0;  // bound of the queue feeding this stage, in entries; 0: 2 * workers
  std::string name{};        // for stats; default "stage N"
  // Items per hand-over into this stage (and, for the last stage, out of it to the sink); 0 is
  // std::invalid_argument. 1 (default): one item per queue entry, so the bound above holds item for item.
  // > 1 opts in to adaptive batching for throughput on trivial work: while this stage's work per item is under
  // ~20 us its producer gathers up to `batch` items per entry, so its capacity then counts batches and the
  // bound grows by up to that factor (memory stays bounded, order and results are unchanged).
  std::size_t batch = 1;
};

struct SLUICE_EXPORT pipeline_options {
  bool ordered = false;           // results leave in input order; the memory bound above still holds
  std::stop_token stop_token{};   // a stop requested before the run completes (even before it starts) ends it
                                  // with cancelled_error; between a stage's exception and a stop, the first wins
};

// One entry per stage() call, in order; none for the source. items_in counts calls of the stage's function,
// items_out the items it passed on (non-empty results; for a final void stage, the calls that returned).
struct SLUICE_EXPORT stage_stats {
  std::string name;          // stage_options::name, or "stage 1", "stage 2", ...
  std::size_t workers = 0;
  std::uint64_t items_in = 0;
  std::uint64_t items_out = 0;
  seconds busy{};            // summed over workers, neither waiting for input nor for room downstream: the
                             // stage's function and its share of the hand-over (measured per wait, not per item)
  seconds waiting_input{};   // summed over workers, blocked on an empty input queue
  seconds waiting_output{};  // summed over workers, blocked on a full output queue
  std::size_t max_queue_depth = 0;  // entries in the queue feeding this stage (sampled; exact when it filled up)
};

struct SLUICE_EXPORT pipeline_stats {
  std::vector<stage_stats> stages;
  seconds wall{};
  std::size_t bottleneck() const;  // index of the stage with the most busy time per worker; 0 if no stages
  std::string report() const;      // a human-readable table of the above, naming the bottleneck
};

namespace detail {
template <class R> struct unwrap_optional { using type = R; };
template <class U> struct unwrap_optional<std::optional<U>> { using type = U; };
}  // namespace detail

// The item type after a stage running f: f's result, with std::optional<U> unwrapped (empty results are dropped).
template <class F, class T>
using stage_output_t = typename detail::unwrap_optional<std::invoke_result_t<F, T&&>>::type;

}  // namespace sluice
