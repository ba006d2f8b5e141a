// Effective Python, Item 55's download -> resize -> upload pipeline with sluice::pipeline: several workers per
// stage, bounded queues between them, and the stats that show where the time goes. Real work stands in for the
// book's placeholders: "download" reads a file, "resize" compresses it (a small LZ77 coder, CPU-bound), "upload"
// writes the result to an output directory. The example makes its own input files in a temporary directory.
#include <sluice/pipeline.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct blob {
  fs::path name;
  std::string bytes;
  std::size_t original = 0;
};

// Greedy LZ77 with a hash of 4-byte prefixes: literals as (0, byte), matches as (length, 2-byte distance).
std::string compress(const std::string& in) {
  constexpr std::size_t window = 65535, min_match = 4, max_match = 255;
  std::vector<std::int64_t> last(1 << 16, -1);
  std::string out;
  out.reserve(in.size() / 2);
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t best = 0, dist = 0;
    if (i + min_match <= in.size()) {
      std::uint32_t key = 0;
      for (std::size_t k = 0; k < min_match; ++k) key = key * 131 + static_cast<unsigned char>(in[i + k]);
      key &= 0xffff;
      const std::int64_t cand = last[key];
      last[key] = static_cast<std::int64_t>(i);
      if (cand >= 0 && i - static_cast<std::size_t>(cand) <= window) {
        const std::size_t from = static_cast<std::size_t>(cand);
        while (best < max_match && i + best < in.size() && in[from + best] == in[i + best]) ++best;
        dist = i - from;
      }
    }
    if (best >= min_match) {
      out.push_back(static_cast<char>(best));
      out.push_back(static_cast<char>(dist & 0xff));
      out.push_back(static_cast<char>(dist >> 8));
      i += best;
    } else {
      out.push_back('\0');
      out.push_back(in[i++]);
    }
  }
  return out;
}

// Text-like input: words from a small vocabulary, so the coder finds repeats.
void make_inputs(const fs::path& dir, int files) {
  const char* words[] = {"queue", "thread", "pool", "future", "stage", "worker", "pipeline", "sluice", "item"};
  std::mt19937 rng(55);
  fs::create_directories(dir);
  for (int f = 0; f < files; ++f) {
    std::ofstream out(dir / ("photo" + std::to_string(f) + ".txt"), std::ios::binary);
    const int n = 20000 + static_cast<int>(rng() % 40000);
    for (int w = 0; w < n; ++w) out << words[rng() % 9] << (rng() % 12 == 0 ? '\n' : ' ');
  }
}

}  // namespace

int main() {
  const fs::path root = fs::temp_directory_path() / ("sluice-pipeline-" + std::to_string(::getpid()));
  const fs::path in_dir = root / "in", out_dir = root / "out";
  make_inputs(in_dir, 120);
  fs::create_directories(out_dir);

  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(in_dir)) paths.push_back(e.path());

  std::size_t total_in = 0, total_out = 0;
  try {
    auto stats = sluice::pipeline(paths)
                     .stage(
                         [](const fs::path& p) {  // download
                           std::ifstream in(p, std::ios::binary);
                           blob b{p.filename(), std::string(std::istreambuf_iterator<char>(in), {}), 0};
                           b.original = b.bytes.size();
                           return b;
                         },
                         {.workers = 3, .name = "download"})
                     .stage(
                         [](blob b) {  // resize
                           b.bytes = compress(b.bytes);
                           return b;
                         },
                         {.workers = 4, .name = "resize"})
                     .stage(
                         [&out_dir](blob b) {  // upload
                           std::ofstream out(out_dir / b.name.replace_extension(".lz"), std::ios::binary);
                           out.write(b.bytes.data(), static_cast<std::streamsize>(b.bytes.size()));
                           if (!out) throw std::runtime_error("upload failed: " + b.name.string());
                           return std::pair(b.original, b.bytes.size());
                         },
                         {.workers = 5, .name = "upload"})
                     .for_each([&](std::pair<std::size_t, std::size_t> sizes) {
                       total_in += sizes.first;
                       total_out += sizes.second;
                     });
    std::printf("%zu files, %zu bytes -> %zu bytes\n\n%s", paths.size(), total_in, total_out,
                stats.report().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipeline failed: %s\n", e.what());
    fs::remove_all(root);
    return 1;
  }
  fs::remove_all(root);
  return 0;
}
