// Several running jobs' stdin fed from one input: --round-robin deals each block to whichever job can take it;
// --tee gives every job every block, --shard/--bin each job its part of every block.
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "job_loop.hpp"

namespace sluice::app {

aio::task<void> runner::deal_blocks(aio::stream_writer w, bool framed, std::shared_ptr<std::atomic<std::size_t>> dealt) {
  try {
    for (;;) {
      auto get = feed_->next_dealt();
      std::optional<std::string> b = co_await get;
      if (!b) break;
      w.write(framed ? frame_block(*b) : *b);
      auto drained = w.drain();
      co_await drained;
      *dealt += b->size();  // (the job's Send in the joblog counts every block it was dealt, as GNU's)
    }
    if (framed) {
      w.write(end_of_blocks);
      auto drained = w.drain();
      co_await drained;
    }
  } catch (const std::system_error&) {
    // The job stopped reading: it gets no more. When no job reads any more, the rest of the input is left
    // unread (GNU parallel dies of the SIGPIPE then).
  }
  if (--live_dealers_ == 0) feed_->stop_dealing();
  if (framed) {
    // A remote job's stdin ended with end_of_blocks; the connection stays open, as its end tells the host
    // that the runner is gone.
    held_writers_.push_back(std::move(w));
    co_return;
  }
  w.close();
  auto closed = w.wait_closed();
  co_await closed;
}

// One block to one --tee/--shard job, framed for a remote one; a job that stopped reading gets no more.
aio::task<void> runner::send_block(tee_writer& t, const std::string& block) {
  aio::stream_writer& w = t.in;
  if (!w.valid() || w.is_closing()) co_return;
  try {
    w.write(t.framed ? frame_block(block) : block);
    auto drained = w.drain();
    co_await drained;
  } catch (const std::system_error&) {
    w.close();  // the others go on
  }
}

aio::task<void> runner::tee_input() {
  while (tee_started_ < total_) {
    tee_ready_.clear();
    auto w = tee_ready_.wait();
    co_await w;
  }
  while (shard_blocks_) {
    // --shard / --bin: each job gets its part.
    auto get = aio::get(*shard_blocks_);
    std::optional<std::vector<std::string>> parts;
    try {
      parts = co_await get;
    } catch (const sluice::queue_shut_down&) {
    }
    if (!parts) break;
    for (auto& t : tee_writers_) {
      const std::size_t part = t.seq - 1;
      if (part >= parts->size() || (*parts)[part].empty()) continue;
      auto sent = send_block(t, (*parts)[part]);
      co_await sent;
    }
  }
  for (; !shard_blocks_;) {
    auto get = aio::get(*tee_blocks_);
    std::optional<std::string> b;
    try {
      b = co_await get;
    } catch (const sluice::queue_shut_down&) {
    }
    if (!b) break;
    for (auto& t : tee_writers_) {
      auto sent = send_block(t, *b);
      co_await sent;
    }
  }
  for (auto& t : tee_writers_) {
    auto& w = t.in;
    if (!w.valid()) continue;
    if (t.framed && !w.is_closing()) {
      // A remote job's stdin ends; its connection stays open until the job ends (see deal_blocks).
      try {
        w.write(end_of_blocks);
        auto drained = w.drain();
        co_await drained;
        continue;
      } catch (const std::system_error&) {
      }
    }
    w.close();
    auto closed = w.wait_closed();
    co_await closed;
  }
}


}  // namespace sluice::app
