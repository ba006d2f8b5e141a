// src/aio_threads.cpp -- the thread pool behind sluice::aio::to_thread.
#include <algorithm>
#include <thread>

#include "sluice/aio/threads.hpp"

namespace sluice::aio::detail {

sluice::thread_pool& default_thread_pool() {
  // Python's default for asyncio.to_thread: min(32, cores + 4). Created on first use, joined at exit.
  static sluice::thread_pool pool(std::min(32u, std::max(1u, std::thread::hardware_concurrency()) + 4u));
  return pool;
}

}  // namespace sluice::aio::detail
