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

// Memory bound. The items alive in a run -- produced by the source but not yet passed to the sink
// (for_each's function, collect's vector, run's discard) -- never exceed
//     sum over stages of (capacity + workers) + output capacity + 2
// where the output capacity is max(2, 2 * the last stage's workers) and the 2 are the item in the source's hand
// and the one in the sink's hand (for a pipeline ending in a void stage: the sum + 1). The run hands out exactly
// that many tokens: the source makes an item only with a free token, which comes back when the item leaves.
// This holds ordered or not, whatever the work per item. A stage's function may keep more alive by itself, of
// course. Example: source -> 4 workers (capacity 8) -> sink: at most 8 + 4 + 8 + 2 = 22 items.
// A stage's capacity is also the most items that wait for one of its workers (its "queue"); beyond it an item
// waits before the stage, which counts as the previous stage's waiting_output.
struct SLUICE_EXPORT stage_options {
  std::size_t workers = 1;   // calls of the stage's function at once (and threads the run adds); 0 is invalid_argument
  std::size_t capacity = 0;  // the most items waiting for this stage's workers (its queue); 0: 2 * workers
  std::string name{};        // for stats; default "stage N"
  // Kept from the queue-based design; 0 is std::invalid_argument. 1 (default): the bound above holds item for item.
  // > 1 multiplies this stage's share of the bound (and, for the last stage, the output capacity) by `batch`:
  // more items may be in flight. Results and order are unchanged; the default is already fast on trivial work.
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
  seconds busy{};            // summed over workers, inside the stage's function (calls under ~20 us are timed
                             // one in 64 and counted 64 times, so trivial items pay no clock reads)
  seconds waiting_input{};   // the stage's idle worker time: workers x wall - busy - waiting_output (>= 0)
  seconds waiting_output{};  // summed over items, waiting after this stage for room before the next one
  std::size_t max_queue_depth = 0;  // the most items waiting for one of this stage's workers (<= capacity)
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
