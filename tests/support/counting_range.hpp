// tests/support/counting_range.hpp -- test helpers shared by the pool and pipeline tests.
#pragma once
#include <chrono>
#include <cstddef>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>

namespace sluice_test {

using clock_type = std::chrono::steady_clock;

// Numbers first, first + 1, ... (endless by default), each passed through f as it is read: the tests' stand-in
// for std::views::iota | std::views::transform, which clang 14 cannot compile against libstdc++ 12.
template <class F>
class counting_range {
 public:
  using value_type = std::invoke_result_t<F&, long>;
  class iterator {
   public:
    using value_type = counting_range::value_type;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(long i, F* f) : i_(i), f_(f) {}
    value_type operator*() const { return (*f_)(i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    long i_ = 0;
    F* f_ = nullptr;
  };
  explicit counting_range(F f, long first = 0, long last = std::numeric_limits<long>::max())
      : f_(std::move(f)), first_(first), last_(last) {}
  iterator begin() { return iterator(first_, &f_); }
  iterator end() { return iterator(last_, &f_); }

 private:
  F f_;
  long first_, last_;
};

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace sluice_test
