// Effective Python, Item 55: the download -> resize -> upload pipeline, built by hand from sluice::queue
// and sluice::thread, with several workers per stage as in the book (3 download, 4 resize, 5 upload).
// Real work stands in for the book's placeholders: "download" reads a file, "resize" compresses it with
// gzip in a child process, "upload" writes the result to an output directory.
//
// The book's ClosableQueue and StoppableWorker are built in: close() is sticky, and `for (item : queue)`
// ends once the queue is closed and drained, marking each item task_done as the loop moves on.
#include <sluice/queue.hpp>
#include <sluice/subprocess.hpp>
#include <sluice/thread.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct file_data {
  std::string name;
  std::string bytes;
  std::size_t original_size = 0;
};

file_data download(fs::path path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t size = bytes.size();
  return {path.filename().string(), std::move(bytes), size};
}

file_data resize(file_data item) {
  auto result = sluice::run({"gzip", "-9", "-c"}, {.input = std::move(item.bytes), .capture_output = true, .check = true});
  item.bytes = std::move(result.out);
  item.name += ".gz";
  return item;
}

struct upload_target {
  fs::path dir;
  file_data operator()(file_data item) const {
    std::ofstream out(dir / item.name, std::ios::binary);
    out.write(item.bytes.data(), static_cast<std::streamsize>(item.bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir / item.name).string());
    return item;
  }
};

// The book's StoppableWorker: take items until the input queue is closed and drained.
template <class In, class Out, class Func>
std::vector<sluice::thread> start_threads(int count, Func func, sluice::queue<In>& in, sluice::queue<Out>& out) {
  std::vector<sluice::thread> threads;
  for (int i = 0; i < count; ++i)
    threads.emplace_back([func, &in, &out] {
      for (In& item : in) out.put(func(std::move(item)));
    });
  return threads;
}

// The book's stop_threads: close, wait until every item was processed, then join (rethrowing a failure).
template <class In>
void stop_threads(sluice::queue<In>& queue, std::vector<sluice::thread>& threads) {
  queue.close();
  queue.join();
  for (auto& t : threads) t.join();
}

// Files with some repetition in them, so that compression has something to do.
void make_inputs(const fs::path& dir, int count) {
  std::mt19937 gen(55);
  const char* words[] = {"queue ", "thread ", "sluice ", "pipeline ", "download ", "resize ", "upload "};
  for (int i = 0; i < count; ++i) {
    std::ofstream out(dir / ("photo" + std::to_string(i) + ".txt"), std::ios::binary);
    std::size_t n = 2000 + gen() % 20000;
    for (std::size_t k = 0; k < n; ++k) out << words[gen() % 7];
  }
}

}  // namespace

int main() {
  const fs::path root = fs::temp_directory_path() / ("sluice_item55_" + std::to_string(::getpid()));
  const fs::path in_dir = root / "in", out_dir = root / "out";
  fs::create_directories(in_dir);
  fs::create_directories(out_dir);
  const int files = 100;
  make_inputs(in_dir, files);

  sluice::queue<fs::path> download_queue(16);
  sluice::queue<file_data> resize_queue(16);
  sluice::queue<file_data> upload_queue(16);
  sluice::queue<file_data> done_queue;  // unbounded: nobody reads it until the end

  auto download_threads = start_threads(3, download, download_queue, resize_queue);
  auto resize_threads = start_threads(4, resize, resize_queue, upload_queue);
  auto upload_threads = start_threads(5, upload_target{out_dir}, upload_queue, done_queue);

  for (const auto& entry : fs::directory_iterator(in_dir)) download_queue.put(entry.path());

  stop_threads(download_queue, download_threads);
  stop_threads(resize_queue, resize_threads);
  stop_threads(upload_queue, upload_threads);

  std::printf("%zu items finished\n", done_queue.qsize());
  std::size_t before = 0, after = 0;
  while (auto item = done_queue.try_get()) {
    before += item->original_size;
    after += item->bytes.size();
  }
  std::printf("%zu bytes read, %zu bytes written to %s\n", before, after, out_dir.c_str());
  fs::remove_all(root);
}
