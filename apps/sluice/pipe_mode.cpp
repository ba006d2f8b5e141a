#include "pipe_mode.hpp"

#include <cerrno>
#include <system_error>

#include <unistd.h>

namespace sluice::app {

block_reader::block_reader(const config& cfg, int fd) : cfg_(cfg), fd_(fd) {
  recend_ = cfg.recend;
  recstart_ = cfg.recstart;
  if (!recstart_.empty() && !cfg.recend_given) recend_.clear();
  if (cfg.pipe_records > 0) {
    records_ = cfg.pipe_records;
    // -L n: a record is n lines, so a block of N records is N*n newline-terminated lines.
    if (cfg.pipe_lines_per_record > 1 && cfg.pipe_records == cfg.pipe_lines_per_record && recstart_.empty())
      recend_ = "\n";
  }
}

bool block_reader::fill(std::size_t want) {
  while (buf_.size() < want && !eof_) {
    std::size_t old = buf_.size();
    std::size_t chunk = std::max<std::size_t>(want - old, 256 * 1024);
    buf_.resize(old + chunk);
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + old, chunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      buf_.resize(old);
      throw std::system_error(errno, std::generic_category(), "reading stdin");
    }
    buf_.resize(old + static_cast<std::size_t>(n));
    if (n == 0) eof_ = true;
  }
  return buf_.size() >= want;
}

bool block_reader::is_cut(std::size_t p) const {
  if (p == 0 || p > buf_.size()) return false;
  if (!recend_.empty()) {
    if (p < recend_.size() || buf_.compare(p - recend_.size(), recend_.size(), recend_) != 0) return false;
  }
  if (!recstart_.empty()) {
    if (p + recstart_.size() > buf_.size() || buf_.compare(p, recstart_.size(), recstart_) != 0) return false;
  }
  return true;
}

std::size_t block_reader::split_after(std::size_t from) const {
  if (recend_.empty() && recstart_.empty()) return from < buf_.size() ? buf_.size() : std::string::npos;
  if (!recend_.empty()) {
    std::size_t start = from + 1 >= recend_.size() ? from + 1 - recend_.size() : 0;
    for (;;) {
      std::size_t hit = buf_.find(recend_, start);
      if (hit == std::string::npos) return std::string::npos;
      std::size_t cut = hit + recend_.size();
      if (cut > from && is_cut(cut)) return cut;
      start = hit + 1;
    }
  }
  std::size_t start = from + 1;
  for (;;) {
    std::size_t hit = buf_.find(recstart_, start);
    if (hit == std::string::npos) return std::string::npos;
    if (is_cut(hit)) return hit;
    start = hit + 1;
  }
}

std::size_t block_reader::split_before(std::size_t limit) const {
  if (limit > buf_.size()) limit = buf_.size();
  if (!recend_.empty()) {
    if (limit < recend_.size()) return std::string::npos;
    std::size_t pos = limit - recend_.size();
    for (;;) {
      std::size_t hit = buf_.rfind(recend_, pos);
      if (hit == std::string::npos) return std::string::npos;
      std::size_t cut = hit + recend_.size();
      if (is_cut(cut)) return cut;
      if (hit == 0) return std::string::npos;
      pos = hit - 1;
    }
  }
  if (recstart_.empty()) return limit;
  std::size_t pos = limit;
  for (;;) {
    std::size_t hit = buf_.rfind(recstart_, pos);
    if (hit == std::string::npos || hit == 0) return std::string::npos;
    if (is_cut(hit)) return hit;
    pos = hit - 1;
  }
}

std::optional<std::string> block_reader::next() {
  if (records_ > 0) {
    std::size_t cut = 0, found = 0;
    for (;;) {
      std::size_t next_cut = split_after(cut);
      if (next_cut == std::string::npos) {
        if (eof_) {
          cut = buf_.size();
          break;
        }
        fill(buf_.size() + 256 * 1024);
        continue;
      }
      // A cut needs the recstart after it: at the end of the buffer, wait for more input first.
      cut = next_cut;
      if (++found == records_) break;
    }
    if (cut == 0 && buf_.empty()) return std::nullopt;
    std::string block = buf_.substr(0, cut);
    buf_.erase(0, cut);
    if (block.empty()) return std::nullopt;
    return block;
  }
  std::size_t size = cfg_.block_size;
  fill(size + (recstart_.empty() ? 0 : recstart_.size()));
  if (buf_.empty()) return std::nullopt;
  std::size_t cut;
  if (eof_ && buf_.size() <= size) {
    cut = buf_.size();
  } else {
    cut = split_before(size);
    while (cut == std::string::npos) {
      // A record longer than the block: grow until a boundary shows up (GNU grows by 30%).
      cut = split_after(size);
      if (cut != std::string::npos) break;
      if (eof_) {
        cut = buf_.size();
        break;
      }
      fill(buf_.size() + buf_.size() * 3 / 10 + 1);
    }
  }
  std::string block;
  if (cut == buf_.size()) {
    block.swap(buf_);
  } else {
    block.assign(buf_, 0, cut);
    buf_.erase(0, cut);
  }
  return block;
}

}  // namespace sluice::app
