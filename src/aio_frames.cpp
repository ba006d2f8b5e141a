// src/aio_frames.cpp -- the per-thread pool that sluice::aio's coroutine frames come from.
#include <cstddef>
#include <new>
#include <utility>

#include "sluice/detail/aio_core.hpp"

namespace sluice::aio::detail {

// ---- frame pool ------------------------------------------------------------------------------------------
namespace {
constexpr std::size_t frame_grain = 64;
constexpr std::size_t frame_classes = 64;  // frames up to 4 KiB are pooled (clang keeps more in a frame than g++)
constexpr std::size_t frame_keep = 4096;   // per class and thread, so that a burst is not hoarded forever

struct free_frame {
  free_frame* next;
};
struct frame_pool {
  free_frame* heads[frame_classes] = {};
  std::size_t counts[frame_classes] = {};
  ~frame_pool() {
    for (auto*& h : heads) {
      while (h) ::operator delete(std::exchange(h, h->next));
    }
  }
};
thread_local frame_pool pool;

// Under AddressSanitizer every frame goes to operator new, so that a use after free is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool use_pool = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool use_pool = false;
#else
constexpr bool use_pool = true;
#endif
#else
constexpr bool use_pool = true;
#endif
}  // namespace

void* frame_alloc(std::size_t n) {
  std::size_t c = (n + frame_grain - 1) / frame_grain;
  if (!use_pool || c >= frame_classes) return ::operator new(n);
  if (free_frame* f = pool.heads[c]) {
    pool.heads[c] = f->next;
    --pool.counts[c];
    return f;
  }
  return ::operator new(c * frame_grain);
}

void frame_free(void* p, std::size_t n) noexcept {
  std::size_t c = (n + frame_grain - 1) / frame_grain;
  if (!use_pool || c >= frame_classes || pool.counts[c] >= frame_keep) {
    ::operator delete(p);
    return;
  }
  auto* f = static_cast<free_frame*>(p);
  f->next = pool.heads[c];
  pool.heads[c] = f;
  ++pool.counts[c];
}

}  // namespace sluice::aio::detail
