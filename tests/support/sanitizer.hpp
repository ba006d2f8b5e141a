// tests/support/sanitizer.hpp -- which sanitizer this test binary runs under (GCC defines __SANITIZE_*__,
// clang answers __has_feature), so that slow sweeps can shrink and tests that cannot hold under one can say so.
#pragma once

namespace sluice_test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
#else
inline constexpr bool under_asan = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif
#else
inline constexpr bool under_tsan = false;
#endif

inline constexpr bool under_sanitizer = under_asan || under_tsan;

}  // namespace sluice_test
