// sluice/export.hpp -- SLUICE_EXPORT marks what a shared libsluice exports.
// The library is built with hidden symbol visibility (-fvisibility=hidden, inline functions hidden too), so
// only what its public headers mark here is visible to programs: the non-template classes and functions of
// the public API, the detail:: functions their templates and inline code call, and the exception classes
// (whose type information must be one and the same on both sides of a throw). For a static library the mark
// changes nothing. Hand-written: GCC and Clang on Linux are the only platforms sluice builds for.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define SLUICE_EXPORT __attribute__((visibility("default")))
#else
#define SLUICE_EXPORT
#endif
