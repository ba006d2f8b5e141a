// Effective Python, Item 55's download -> resize -> upload pipeline, written with sluice::aio: coroutines
// instead of threads, aio::queue between the stages, several workers per stage (3 download, 4 resize,
// 5 upload, as in the book), and a clean shutdown at the end (Python 3.13: asyncio.Queue.shutdown). The
// stages are simulated with aio::sleep, as I/O would be: one thread overlaps all of them.
#include <sluice/aio.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace aio = sluice::aio;
using namespace std::chrono_literals;

namespace {

struct photo {
  int id = 0;
  std::string state;
};

aio::task<photo> download(photo p) {
  co_await aio::sleep(20ms);
  p.state = "downloaded";
  co_return p;
}
aio::task<photo> resize(photo p) {
  co_await aio::sleep(10ms);
  p.state += ", resized";
  co_return p;
}
aio::task<photo> upload(photo p) {
  co_await aio::sleep(30ms);
  p.state += ", uploaded";
  co_return p;
}

// A stage worker: takes items until its input queue is shut down and drained, passes each result on.
aio::task<int> worker(aio::task<photo> (*stage)(photo), aio::queue<photo>& in, aio::queue<photo>& out) {
  int done = 0;
  try {
    for (;;) {
      photo p = co_await in.get();
      photo result = co_await stage(std::move(p));
      co_await out.put(std::move(result));
      ++done;
    }
  } catch (const sluice::queue_shut_down&) {
  }
  co_return done;
}

// Starts n workers of one stage; the returned task ends when they all have.
aio::task<std::vector<int>> start_stage(int n, aio::task<photo> (*stage)(photo), aio::queue<photo>& in,
                                        aio::queue<photo>& out) {
  std::vector<aio::task<int>> workers;
  for (int i = 0; i < n; ++i) workers.push_back(worker(stage, in, out));
  return aio::gather(std::move(workers));
}

aio::task<void> main_task() {
  const int items = 60;
  aio::queue<photo> download_q(8), resize_q(8), upload_q(8), done_q;  // done_q is unbounded

  const auto t0 = std::chrono::steady_clock::now();
  auto downloads = aio::create_task(start_stage(3, download, download_q, resize_q));
  auto resizes = aio::create_task(start_stage(4, resize, resize_q, upload_q));
  auto uploads = aio::create_task(start_stage(5, upload, upload_q, done_q));

  for (int i = 0; i < items; ++i) {
    photo p;
    p.id = i;
    co_await download_q.put(std::move(p));  // waits while the first stage is busy
  }
  // Shutdown, stage by stage: each stage's workers finish what is queued, then end; then the next stage.
  download_q.shutdown();
  co_await downloads;
  resize_q.shutdown();
  co_await resizes;
  upload_q.shutdown();
  const std::vector<int>& per_uploader = co_await uploads;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  const std::size_t finished = done_q.qsize();
  photo first = done_q.get_nowait();
  std::printf("%zu items finished; the first out: photo %d, %s\n", finished, first.id, first.state.c_str());
  std::printf("uploads per worker:");
  for (int n : per_uploader) std::printf(" %d", n);
  std::printf("\n%d items x (20 + 10 + 30) ms of simulated I/O took %.0f ms on one thread (%.0f ms one at a time)\n",
              items, ms, items * 60.0);
}

}  // namespace

int main() { aio::run(main_task()); }
