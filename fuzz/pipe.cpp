// --pipe record splitting (apps/sluice/pipe_mode.cpp): for any settings and any input, the blocks are
// non-empty, concatenated they give back the input exactly, and every block but the last ends at a record
// boundary (after --recend, before --recstart, after whole lines under -L, at most -N records).
//   input: 5 setting bytes (block size, -N, -L, --recend length, --recstart length), the recend and recstart
//   strings, then the data read from "stdin".
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "fuzz_check.hpp"
#include "pipe_mode.hpp"

namespace {

int memory_file() {
  static int fd = ::memfd_create("sluice-fuzz-pipe", 0);
  FUZZ_CHECK(fd >= 0);
  return fd;
}

// Occurrences of `needle` in `hay` (overlapping ones included).
std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5 || size > 8192) return -1;
  sluice::app::config cfg;
  cfg.pipe = true;
  cfg.block_size = 1 + data[0] % 64;
  std::size_t records = data[1] % 5;
  std::size_t lines = data[2] % 4;
  std::size_t recend_len = data[3] % 4, recstart_len = data[4] % 4;
  std::string_view rest(reinterpret_cast<const char*>(data) + 5, size - 5);
  if (rest.size() < recend_len + recstart_len) return -1;
  std::string recend(rest.substr(0, recend_len));
  std::string recstart(rest.substr(recend_len, recstart_len));
  rest.remove_prefix(recend_len + recstart_len);
  const std::string input(rest);

  // As the parser sets them: -N gives records per block, -L lines per record (and records per block 1
  // unless -N too), --recend given explicitly or the default "\n".
  cfg.pipe_records = records;
  cfg.pipe_lines_per_record = lines;
  if (recend_len > 0 || data[3] & 0x80) {
    cfg.recend = recend;
    cfg.recend_given = true;
  }
  cfg.recstart = recstart;

  int fd = memory_file();
  FUZZ_CHECK(::ftruncate(fd, 0) == 0);
  FUZZ_CHECK(::pwrite(fd, input.data(), input.size(), 0) == static_cast<ssize_t>(input.size()));
  FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0);

  sluice::app::block_reader reader(cfg, fd);
  std::size_t warnings = 0;
  reader.set_warning_sink([&](const std::string&) { ++warnings; });
  std::vector<std::string> blocks;
  try {
    while (auto b = reader.next()) {
      FUZZ_CHECK(!b->empty());
      blocks.push_back(std::move(*b));
      FUZZ_CHECK(blocks.size() <= input.size());  // every block holds at least one byte
    }
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("block_reader::next", e);
  }

  std::string joined;
  for (const auto& b : blocks) joined += b;
  FUZZ_CHECK(joined == input);

  // The effective separators, as block_reader derives them from the config.
  std::string end = cfg.recend, start = cfg.recstart;
  if (!start.empty() && !cfg.recend_given) end.clear();
  if (lines > 0) {
    end = "\n";
    start.clear();
  }
  for (std::size_t i = 0; i + 1 < blocks.size(); ++i) {
    const std::string& b = blocks[i];
    if (!end.empty()) FUZZ_CHECK(b.size() >= end.size() && b.compare(b.size() - end.size(), end.size(), end) == 0);
    if (!start.empty()) FUZZ_CHECK(blocks[i + 1].compare(0, start.size(), start) == 0);
    if (lines > 0 && cfg.pipe_records > 0) FUZZ_CHECK(count(b, "\n") <= lines * cfg.pipe_records);
    if (lines > 0) FUZZ_CHECK(count(b, "\n") % lines == 0);
  }
  // By size (no -N), a block outgrows --block only when a record does: that is when the warning is due.
  if (cfg.pipe_records == 0 && warnings == 0)
    for (const auto& b : blocks) FUZZ_CHECK(b.size() <= cfg.block_size);
  return 0;
}
