// tests/support/sanitizer.hpp -- which sanitizer this test binary runs under (GCC defines __SANITIZE_*__,
// clang answers __has_feature), so that slow sweeps can shrink and tests that cannot hold under one can say so.
#pragma once

#if defined(__has_feature)
#define SLUICE_TEST_HAS_FEATURE(x) __has_feature(x)
#else
#define SLUICE_TEST_HAS_FEATURE(x) 0
#endif

namespace sluice_test {

#if defined(__SANITIZE_ADDRESS__) || SLUICE_TEST_HAS_FEATURE(address_sanitizer)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif

#if defined(__SANITIZE_THREAD__) || SLUICE_TEST_HAS_FEATURE(thread_sanitizer)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif

inline constexpr bool under_sanitizer = under_asan || under_tsan;

}  // namespace sluice_test

#undef SLUICE_TEST_HAS_FEATURE
