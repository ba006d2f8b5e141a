// src/posix/read_append.cpp -- one read appended to a std::string without zero-filling the room first.
//
// std::string::resize(n) writes n zero bytes that the read then overwrites: a whole extra pass over the output,
// or many (a 1 MiB resize for a read that returns 64 KiB). C++23's resize_and_overwrite hands over the room
// uninitialised, so where the standard library has it this file is compiled as C++23 (src/CMakeLists.txt; the
// std::string layout is the same in every -std mode of one libstdc++/libc++) and the rest stays C++20.
#include "posix/platform.hpp"

#include <cerrno>

namespace sluice::detail::os {

ssize_t read_append(int fd, std::string& dst, std::size_t want) noexcept {
  const std::size_t old = dst.size();
  if (want == 0 || dst.capacity() - old < want) {
    errno = EINVAL;  // the caller reserves: growing here would copy the string under a noexcept
    return -1;
  }
  ssize_t got = -1;
  int saved = 0;
#if defined(__cpp_lib_string_resize_and_overwrite)
  dst.resize_and_overwrite(old + want, [&](char* p, std::size_t) noexcept {
    got = read_some(fd, p + old, want);
    saved = errno;
    return old + static_cast<std::size_t>(got > 0 ? got : 0);
  });
#else
  dst.resize(old + want);
  got = read_some(fd, dst.data() + old, want);
  saved = errno;
  dst.resize(old + static_cast<std::size_t>(got > 0 ? got : 0));
#endif
  errno = saved;
  return got;
}

}  // namespace sluice::detail::os
