// The threads that read --pipe's input for jobs that all start at once: --tee (every job gets every block)
// and --shard/--bin (each line goes to the job its key picks). The job loop (runner.cpp, job.cpp) takes what
// they put in their queues.
#include <atomic>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <sluice/queue.hpp>

#include "job_loop.hpp"
#include "shard.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {
// The body of a thread that reads the input for the jobs (--tee, --shard): a queue shut down by the runner
// ends it quietly, an error is printed; either way `out` is closed and `done` set, so no job waits for more.
template <class Queue, class Body>
void read_into(Queue& out, std::atomic<bool>& done, Body body) {
  try {
    body();
  } catch (const sluice::queue_shut_down&) {
  } catch (const std::exception& e) {
    std::string m = named(std::string("sluice: ") + e.what() + "\n");
    write_all(2, m.data(), m.size());
  }
  out.close();
  done.store(true);
}
}  // namespace

void runner::start_tee_reader() {
  tee_blocks_ = std::make_unique<sluice::queue<std::string>>(4);
  // The thread gets the objects, not the members: the runner may release the members and leave it running.
  tee_thread_ = std::thread([blocks = blocks_.get(), out = tee_blocks_.get(), done = tee_read_all_] {
    read_into(*out, *done, [&] {
      while (auto b = blocks->next()) out->put(std::move(*b));
    });
  });
}

void runner::start_shard_reader() {
  auto router = std::make_shared<line_router>(cfg_, total_);
  std::string pending;
  if (router->needs_header()) {
    // The header names the column; no job gets it.
    while (pending.find('\n') == std::string::npos) {
      auto b = blocks_->next();
      if (!b) break;
      pending += *b;
    }
    std::size_t nl = pending.find('\n');
    std::size_t end = nl == std::string::npos ? pending.size() : nl + 1;
    router->set_header(pending.substr(0, end));
    pending.erase(0, end);
  }
  shard_blocks_ = std::make_unique<sluice::queue<std::vector<std::string>>>(4);
  tee_thread_ = std::thread([blocks = blocks_.get(), out = shard_blocks_.get(), done = tee_read_all_, router,
                             pending = std::move(pending), n = total_] {
    auto deal = [&](const std::string& b) {
      std::vector<std::string> parts(n);
      for (std::size_t from = 0; from < b.size();) {
        std::size_t nl = b.find('\n', from);
        std::size_t end = nl == std::string::npos ? b.size() : nl + 1;
        std::string_view line(b.data() + from, end - from);
        parts[router->route(line)].append(line);
        from = end;
      }
      out->put(std::move(parts));
    };
    read_into(*out, *done, [&] {
      if (!pending.empty()) deal(pending);
      while (auto b = blocks->next()) deal(*b);
    });
  });
}

void runner::stop_pipe_reader() {
  if (!tee_thread_.joinable()) return;
  if (tee_blocks_) tee_blocks_->shutdown(true);
  if (shard_blocks_) shard_blocks_->shutdown(true);
  if (tee_read_all_->load()) {
    tee_thread_.join();
  } else {
    // Blocked reading stdin: left to exit with the process, with what it uses.
    tee_thread_.detach();
    (void)blocks_.release();
    (void)tee_blocks_.release();
    (void)shard_blocks_.release();
  }
}

}  // namespace sluice::app
