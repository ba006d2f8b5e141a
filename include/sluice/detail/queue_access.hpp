// sluice/detail/queue_access.hpp -- reaches sluice::queue's event counts and single attempts (a friend of queue)
// for the library's own waits that a queue's blocking calls do not cover: sluice::aio's awaitable get and put,
// and sluice::pipeline's queue source, which must also wake up for a stop. Internal.
#pragma once
#include <optional>
#include <utility>

#include "../export.hpp"
#include "../queue.hpp"

namespace sluice {
namespace detail {
struct SLUICE_EXPORT queue_access {
  template <class T>
  static event_count& not_empty(queue<T>& q) noexcept { return q.not_empty_; }
  template <class T>
  static event_count& not_full(queue<T>& q) noexcept { return q.not_full_; }
  template <class T>
  static pop_status pop_once(queue<T>& q, std::optional<T>& out) { return q.pop_once(out); }
  template <class T>
  static push_status push_once(queue<T>& q, T& item) {
    push_status st = q.push(std::move(item));  // moves from item only on success
    if (st == push_status::ok) q.pushed_one();
    return st;
  }
  [[noreturn]] static void throw_shut_down() { throw queue_shut_down("sluice::queue: shut down"); }
};
}  // namespace detail
}  // namespace sluice
