#include "pipe_mode.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <regex>

#include <system_error>
#include <thread>

#include <sluice/subprocess.hpp>

#include "output.hpp"
#include "text.hpp"

namespace sluice::app {

block_reader::block_reader(const config& cfg, int fd) : fd_(fd) {
  recend_ = cfg.recend;
  recstart_ = cfg.recstart;
  if (!recstart_.empty() && !cfg.recend_given) recend_.clear();
  records_ = cfg.pipe_records;
  lines_ = cfg.pipe_lines_per_record;
  if (lines_ > 0) {
    recend_ = "\n";
    recstart_.clear();
  }
  block_size_ = cfg.block_size;
  skip_blank_lines_ = cfg.skip_empty;
  want_header_ = cfg.header;
  header_text_ = cfg.header_text;
  skip_first_line_ = cfg.skip_first_line;
  if (cfg.csv) {
    // --csv: a block ends at a newline after an even number of quotes (a quoted field may hold newlines);
    // as in GNU, -N and -L do not apply then.
    csv_ = true;
    recend_ = "\n";
    recstart_.clear();
    records_ = 0;
    lines_ = 0;
  }
  if (cfg.group_by) {
    const std::string& g = *cfg.group_by;
    if (g.find_first_not_of("0123456789") == std::string::npos && g.size() <= 9 && std::stoul(g) > 0) {
      group_col_ = std::stoul(g);
    } else if (!g.empty() && g.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                                 std::string::npos) {
      group_name_ = g;  // a column name: the header names it (read_header)
      want_header_ = true;
    } else {
      throw usage_error("--group-by: sluice groups by a column number or name, not '" + g + "'");
    }
    recend_ = "\n";
    recstart_.clear();
    lines_ = 0;
    group_sep_ = cfg.colsep ? unescape_delimiter(*cfg.colsep) : "\t";
    if (group_sep_.empty()) group_sep_ = "\t";
    if (group_sep_.find_first_of("\\^$.|?*+()[]{}") != std::string::npos) {
      try {
        group_re_.emplace(group_sep_);
      } catch (const std::regex_error&) {
        throw usage_error("--colsep: invalid regular expression '" + group_sep_ + "'");
      }
    }
  }
  remove_rec_sep_ = cfg.remove_rec_sep && !cfg.pipe_part;  // (GNU leaves --pipe-part's blocks whole)
  block_timeout_ = cfg.pipe_part ? 0 : cfg.block_timeout;
  if (cfg.regexp && lines_ == 0 && !csv_ && group_col_ == 0 && group_name_.empty()) {
    // --regexp: Perl's regular expressions in GNU, ECMAScript's here (the same for the usual ones).
    std::string end = cfg.recend_given ? cfg.recend_text : cfg.recstart_text.empty() ? "\n" : "";
    const std::string& start = cfg.recstart_text;
    if (end.empty() && start.empty()) end = "[\\s\\S]";  // (GNU: --recend '' alone cuts after every byte)
    try {
      // Perl's /m, as GNU's: ^ and $ also match at the starts and ends of lines inside the buffer.
      cut_re_.emplace("(?:" + end + ")" + (start.empty() ? "" : "(?=(?:" + start + "))"),
                      std::regex::ECMAScript | std::regex::multiline);
      recend_pat_ = end;
      recstart_pat_ = start;
      if (!start.empty()) recstart_re_.emplace("(?:" + start + ")");
      if (!end.empty()) recend_re_.emplace("(?:" + end + ")");
    } catch (const std::regex_error&) {
      throw usage_error("--regexp: invalid regular expression in --recstart '" + start + "' or --recend '" + end + "'");
    }
    recstart_.clear();
    recend_ = "\n";  // (unused: the expressions cut)
  }
  if (cfg.pipe_part) {
    // ::: values are no job's arguments here (GNU runs the parts without any); they only count in the sizing.
    part_mode_ = true;
    std::uint64_t total = 0;
    for (const auto& src : cfg.sources) {
      if (src.type == input_source::kind::values) {
        for (const auto& v : src.values) total += v.size() + 1;
        continue;
      }
      if (src.type != input_source::kind::file)
        throw usage_error("--pipe-part needs its input as files: -a file or :::: file");
      part_files_.push_back(src.path);
    }
    if (cfg.blocks_per_slot > 0) {
      // GNU's sizing: the inputs' total size over the job slots, over the blocks per slot, plus one byte.
      for (const auto& path : part_files_) {
        std::error_code ec;
        auto n = std::filesystem::file_size(path, ec);
        if (!ec) total += n;
      }
      block_size_ = 1 + static_cast<std::size_t>(static_cast<double>(total) / static_cast<double>(std::max<std::size_t>(cfg.jobs, 1)) /
                                                  cfg.blocks_per_slot);
    }
  }
}

std::optional<std::string> block_reader::group_key(std::size_t line_start) const {
  std::size_t nl = buf_.find('\n', line_start);
  if (nl == std::string::npos && !eof_) return std::nullopt;
  std::string line = buf_.substr(line_start, nl == std::string::npos ? std::string::npos : nl - line_start);
  std::size_t col = 1, from = 0;
  for (;;) {
    std::size_t at, len;
    if (group_re_) {
      std::smatch m;
      auto begin = line.cbegin() + static_cast<std::ptrdiff_t>(from);
      if (!std::regex_search(begin, line.cend(), m, *group_re_) || m.length(0) == 0) {
        at = std::string::npos;
        len = 0;
      } else {
        at = from + static_cast<std::size_t>(m.position(0));
        len = static_cast<std::size_t>(m.length(0));
      }
    } else {
      at = line.find(group_sep_, from);
      len = group_sep_.size();
    }
    if (col == group_col_) return line.substr(from, at == std::string::npos ? std::string::npos : at - from);
    if (at == std::string::npos) return std::string();  // a missing column is empty
    from = at + len;
    ++col;
  }
}

// -r under --pipe: lines of only blanks leave the input before it is cut into blocks (GNU's s/^\s*\n//gm on
// what it has read), so a block of them runs no job. Lines from the one holding `from` on are looked at.
void block_reader::drop_blank_lines(std::size_t from) {
  std::size_t line = from == 0 ? 0 : buf_.rfind('\n', from - 1);
  line = line == std::string::npos || from == 0 ? 0 : line + 1;
  std::size_t out = line;
  for (std::size_t i = line; i < buf_.size();) {
    std::size_t nl = buf_.find('\n', i);
    if (nl == std::string::npos) {  // a partial last line stays until its end is read
      buf_.erase(out, i - out);
      return;
    }
    bool blank = buf_.find_first_not_of(" \t\r\f\v", i) >= nl;
    if (!blank) {
      if (out != i) std::copy(buf_.begin() + static_cast<std::ptrdiff_t>(i), buf_.begin() + static_cast<std::ptrdiff_t>(nl + 1),
                              buf_.begin() + static_cast<std::ptrdiff_t>(out));
      out += nl + 1 - i;
    }
    i = nl + 1;
  }
  buf_.resize(out);
}

block_reader::~block_reader() {
  sluice::fd(part_fd_).close();
  if (chunks_) chunks_->shutdown(true);  // the reading thread ends at its next chunk
}

std::size_t block_reader::regex_cut_after(std::size_t from, std::size_t lo) const {
  auto flags = from > 0 ? std::regex_constants::match_prev_avail : std::regex_constants::match_default;
  for (auto it = std::sregex_iterator(buf_.begin() + static_cast<std::ptrdiff_t>(from), buf_.end(), *cut_re_, flags);
       it != std::sregex_iterator(); ++it) {
    std::size_t cut = from + static_cast<std::size_t>(it->position(0) + it->length(0));
    if (cut >= lo && cut > 0 && cut <= buf_.size()) return cut;
  }
  return std::string::npos;
}

std::size_t block_reader::regex_cut_before(std::size_t limit, std::size_t lo) const {
  std::size_t best = std::string::npos;
  for (auto it = std::sregex_iterator(buf_.begin(), buf_.end(), *cut_re_); it != std::sregex_iterator(); ++it) {
    std::size_t cut = static_cast<std::size_t>(it->position(0) + it->length(0));
    if (cut > limit) break;
    if (cut >= lo && cut > 0) best = cut;
  }
  return best;
}

// --remove-rec-sep, as GNU: every recend+recstart inside the block goes, then a recstart at its start and a
// recend at its end (Perl's $: also just before a final newline).
void block_reader::remove_separators(std::string& block) const {
  auto strip_end = [&](std::size_t end_len_at_end, std::size_t end_len_before_nl) {
    if (end_len_at_end > 0) block.erase(block.size() - end_len_at_end);
    else if (end_len_before_nl > 0) block.erase(block.size() - 1 - end_len_before_nl, end_len_before_nl);
  };
  if (cut_re_) {
    block = std::regex_replace(
        block, std::regex("(?:" + recend_pat_ + ")(?:" + recstart_pat_ + ")", std::regex::ECMAScript | std::regex::multiline),
        "");
    std::smatch m;
    if (recstart_re_ && std::regex_search(block, m, *recstart_re_, std::regex_constants::match_continuous))
      block.erase(0, static_cast<std::size_t>(m.length(0)));
    if (recend_re_) {
      for (auto it = std::sregex_iterator(block.begin(), block.end(), *recend_re_); it != std::sregex_iterator(); ++it) {
        const auto at = static_cast<std::size_t>(it->position(0)), len = static_cast<std::size_t>(it->length(0));
        if (len == 0) continue;
        if (at + len == block.size() || (at + len + 1 == block.size() && block.back() == '\n')) {
          block.erase(at, len);
          break;
        }
      }
    }
    return;
  }
  const std::string sep = recend_ + recstart_;
  if (!sep.empty()) {
    std::string out;
    out.reserve(block.size());
    std::size_t from = 0;
    for (std::size_t hit; (hit = block.find(sep, from)) != std::string::npos; from = hit + sep.size())
      out.append(block, from, hit - from);
    out.append(block, from, std::string::npos);
    block.swap(out);
  }
  if (!recstart_.empty() && block.compare(0, recstart_.size(), recstart_) == 0) block.erase(0, recstart_.size());
  if (!recend_.empty()) {
    const std::size_t n = recend_.size(), z = block.size();
    if (z >= n && block.compare(z - n, n, recend_) == 0) strip_end(n, 0);
    else if (z >= n + 1 && block.back() == '\n' && block.compare(z - 1 - n, n, recend_) == 0) strip_end(0, n);
  }
}

bool block_reader::fill_until(std::size_t want, std::chrono::steady_clock::time_point deadline) {
  if (!reader_started_) {
    reader_started_ = true;
    chunks_ = std::make_shared<sluice::queue<std::string>>(4);
    std::thread([q = chunks_, fd = fd_] {
      for (;;) {
        std::string chunk(256 * 1024, '\0');
        std::size_t n = 0;
        try {
          n = sluice::read_some(fd, chunk.data(), chunk.size());
        } catch (const std::system_error& e) {
          std::string m = named(std::string("sluice: reading stdin: ") + e.what() + "\n");
          write_all(2, m.data(), m.size());
        }
        chunk.resize(n);
        try {
          q->put(std::move(chunk));
        } catch (const std::exception&) {
          return;  // nobody reads any more
        }
        if (n == 0) return;
      }
    }).detach();
  }
  while (buf_.size() < want && !eof_) {
    std::optional<std::string> chunk;
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      chunk = chunks_->get();
    } else {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return false;
      chunk = chunks_->try_get_for(std::chrono::duration_cast<sluice::seconds>(left));
      if (!chunk) return false;
    }
    if (chunk->empty()) {
      eof_ = true;
      break;
    }
    std::size_t old = buf_.size();
    buf_ += *chunk;
    if (skip_blank_lines_) drop_blank_lines(old);
  }
  return true;
}

std::optional<std::string> block_reader::next_part() {
  // Open the next file when this one is done.
  while (part_fd_ < 0 || part_pos_ >= part_size_) {
    sluice::fd(part_fd_).close();
    part_fd_ = -1;
    if (part_index_ >= part_files_.size()) return std::nullopt;
    const std::string& path = part_files_[part_index_++];
    part_fd_ = sluice::open_file(path).release();
    part_size_ = sluice::file_size(part_fd_);
    part_pos_ = 0;
    if (skip_first_line_ || want_header_) start_part_file();
  }
  const std::uint64_t start = part_pos_;
  std::uint64_t end = part_size_;
  const std::uint64_t from = start + block_size_;
  const std::string sep = recend_ + recstart_;
  if (from < part_size_) {
    if (cut_re_) {
      end = regex_part_end(from);
    } else if (sep.empty()) {
      end = from;
    } else {
      // Read forward from `from` until recend+recstart shows up (GNU reads 128 KiB at a time).
      std::string window;
      std::size_t searched = 0;
      for (;;) {
        std::size_t old = window.size();
        window.resize(old + 131072);
        std::size_t n = sluice::read_some_at(part_fd_, window.data() + old, 131072, from + old);
        window.resize(old + n);
        std::size_t hit = window.find(sep, searched);
        if (hit != std::string::npos) {
          end = from + hit + recend_.size();
          break;
        }
        if (n == 0) break;  // no record boundary after this point: the rest is one block
        searched = window.size() >= sep.size() ? window.size() - sep.size() + 1 : 0;
      }
    }
  }
  std::string block(header_.size() + static_cast<std::size_t>(end - start), '\0');
  std::copy(header_.begin(), header_.end(), block.begin());  // --header: every part starts with the file's
  std::size_t got = 0;
  while (got < end - start) {
    std::size_t n = sluice::read_some_at(part_fd_, block.data() + header_.size() + got, end - start - got, start + got);
    if (n == 0) break;  // the file shrank
    got += n;
  }
  block.resize(header_.size() + got);
  part_pos_ = got < end - start ? part_size_ : end;
  if (got == 0) return next_part();
  return block;
}

// --pipe-part --regexp: where the part that reaches `from` ends, the end of the first recend+recstart match
// after it (the file's end when there is none). The window starts a byte early so that ^ knows whether a
// line starts at `from`; a match near the window's end waits for more bytes, as the lookahead may need them.
std::uint64_t block_reader::regex_part_end(std::uint64_t from) const {
  constexpr std::size_t chunk = 131072, margin = 4096;
  const std::uint64_t base = from - 1;  // (from > 0: a block holds at least a byte)
  std::string window;
  for (;;) {
    std::size_t old = window.size();
    window.resize(old + chunk);
    std::size_t n = sluice::read_some_at(part_fd_, window.data() + old, chunk, base + old);
    window.resize(old + n);
    for (auto it = std::sregex_iterator(window.begin() + 1, window.end(), *cut_re_, std::regex_constants::match_prev_avail);
         it != std::sregex_iterator(); ++it) {
      const std::size_t cut = 1 + static_cast<std::size_t>(it->position(0) + it->length(0));
      if (cut <= 1) continue;
      if (n == 0 || cut + margin <= window.size()) return base + cut;
      break;
    }
    if (n == 0) return part_size_;
  }
}

// --pipe-part with --skip-first-line / --header, as GNU: in each file, its first line is skipped, then its
// header is found (the same rules as under --pipe, on the file's start); the parts are cut from what follows.
// The stdin reader's buffer and state are lent to the file for this, and given back even if a read throws.
void block_reader::start_part_file() {
  struct lend_reader {
    block_reader& r;
    const int fd = r.fd_;
    const bool drop_blank = r.skip_blank_lines_;
    explicit lend_reader(block_reader& reader, int file) : r(reader) {
      r.fd_ = file;  // (just opened: read from its start)
      r.skip_blank_lines_ = false;
      r.buf_.clear();
      r.eof_ = false;
    }
    ~lend_reader() {
      r.fd_ = fd;
      r.skip_blank_lines_ = drop_blank;
      r.buf_.clear();
      r.eof_ = false;
    }
  } lent(*this, part_fd_);
  std::size_t skipped = 0;
  if (skip_first_line_) {
    std::size_t nl;
    while ((nl = buf_.find('\n')) == std::string::npos && !eof_) fill(buf_.size() + 4096);
    skipped = nl == std::string::npos ? buf_.size() : nl + 1;
    buf_.erase(0, skipped);
  }
  header_.clear();
  if (want_header_) read_header();
  part_pos_ = skipped + header_.size();
}

bool block_reader::fill(std::size_t want) {
  if (block_timeout_ > 0) {
    fill_until(want, std::chrono::steady_clock::time_point::max());
    return buf_.size() >= want;
  }
  while (buf_.size() < want && !eof_) {
    std::size_t old = buf_.size();
    std::size_t chunk = std::max<std::size_t>(want - old, read_chunk_);
    read_chunk_ = std::min<std::size_t>(read_chunk_ * 2, 256 * 1024);
    buf_.resize(old + chunk);
    std::size_t n;
    try {
      n = sluice::read_some(fd_, buf_.data() + old, chunk);
    } catch (const std::system_error& e) {
      buf_.resize(old);
      throw std::system_error(e.code(), "reading stdin");
    }
    buf_.resize(old + n);
    if (n == 0) eof_ = true;
    if (skip_blank_lines_) drop_blank_lines(old);
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
  if (group_col_ > 0) {
    // Between two lines of the same group is no record boundary; the key of the next line must be known.
    if (p == buf_.size()) return eof_;
    std::size_t prev = p >= 2 ? buf_.rfind('\n', p - 2) : std::string::npos;
    auto before = group_key(prev == std::string::npos ? 0 : prev + 1);
    auto after = group_key(p);
    if (!before || !after) return false;
    return *before != *after;
  }
  return true;
}

// A record keeps its whole --recstart: after a record start that begins with the recstart, the next cut
// comes after it. Separators that overlap (--recend ff --recstart fff on "ffffffff") would otherwise cut a
// record in the middle of its own recstart, leaving a block that does not begin with one.
std::size_t block_reader::first_cut_after(std::size_t start) const {
  if (!recstart_.empty() && buf_.compare(start, recstart_.size(), recstart_) == 0) return start + recstart_.size();
  return start + 1;
}

std::size_t block_reader::split_after(std::size_t from) const {
  if (cut_re_) return regex_cut_after(from, from + 1);
  // --recend '' (and no --recstart): every byte is a record, as GNU's empty separator is found at every position.
  if (recend_.empty() && recstart_.empty()) return from < buf_.size() ? from + 1 : std::string::npos;
  const std::size_t lo = first_cut_after(from);
  if (!recend_.empty()) {
    std::size_t start = lo >= recend_.size() ? lo - recend_.size() : 0;
    // As GNU, a block's first separator is looked for from its second byte: a block never starts with an empty
    // record (-N1 on "\na\n" gives "\na\n").
    if (from == 0) start = std::max<std::size_t>(start, 1);
    for (;;) {
      std::size_t hit = buf_.find(recend_, start);
      if (hit == std::string::npos) return std::string::npos;
      std::size_t cut = hit + recend_.size();
      if (cut >= lo && is_cut(cut)) return cut;
      start = hit + 1;
    }
  }
  std::size_t start = lo;
  for (;;) {
    std::size_t hit = buf_.find(recstart_, start);
    if (hit == std::string::npos) return std::string::npos;
    if (is_cut(hit)) return hit;
    start = hit + 1;
  }
}

std::size_t block_reader::split_before(std::size_t limit) const {
  if (limit > buf_.size()) limit = buf_.size();
  const std::size_t lo = first_cut_after(0);
  if (cut_re_) return regex_cut_before(limit, lo);
  if (!recend_.empty()) {
    if (limit < recend_.size()) return std::string::npos;
    std::size_t pos = limit - recend_.size();
    for (;;) {
      std::size_t hit = buf_.rfind(recend_, pos);
      if (hit == std::string::npos) return std::string::npos;
      std::size_t cut = hit + recend_.size();
      if (cut < lo) return std::string::npos;
      if (is_cut(cut)) return cut;
      if (hit == 0) return std::string::npos;
      pos = hit - 1;
    }
  }
  if (recstart_.empty()) return limit;
  std::size_t pos = limit;
  for (;;) {
    std::size_t hit = buf_.rfind(recstart_, pos);
    if (hit == std::string::npos || hit < lo) return std::string::npos;
    if (is_cut(hit)) return hit;
    pos = hit - 1;
  }
}

std::size_t block_reader::record_end(std::size_t from) const {
  if (lines_ == 0) return split_after(from);
  std::size_t pos = from;
  for (std::size_t k = 0; k < lines_; ++k) {
    auto hit = buf_.find('\n', pos);
    if (hit == std::string::npos) return std::string::npos;
    pos = hit + 1;
  }
  return pos;
}

std::size_t block_reader::last_cut_within(std::size_t limit) const {
  if (csv_) {
    std::size_t cut = std::string::npos, quotes = 0;
    for (std::size_t i = 0; i < limit && i < buf_.size(); ++i) {
      if (buf_[i] == '"') ++quotes;
      else if (buf_[i] == '\n' && quotes % 2 == 0) cut = i + 1;
    }
    return cut;
  }
  if (lines_ == 0) return split_before(limit);
  std::size_t cut = std::string::npos, pos = 0;
  for (;;) {
    std::size_t e = record_end(pos);
    if (e == std::string::npos || e > limit) return cut;
    cut = pos = e;
  }
}

// --header (or --group-by a column name): the header, given at the head of every block. As GNU: `:` is the
// first line, a number N the first N lines, anything else a regular expression: the input is taken a line at
// a time until the lines taken so far start with a match of it, and on while the match takes them all (a
// repeating pattern goes on over the lines it fits); the match is the header (none when the input ends first).
void block_reader::read_header() {
  header_read_ = true;
  auto line_end = [&](std::size_t from) {
    std::size_t nl;
    while ((nl = buf_.find('\n', from)) == std::string::npos && !eof_) fill(buf_.size() + 4096);
    return nl == std::string::npos ? buf_.size() : nl + 1;
  };
  const std::string& h = header_text_;
  std::size_t end = 0;
  if (h.empty() || h == ":" || !group_name_.empty()) {
    end = line_end(0);
  } else if (h.find_first_not_of("0123456789") == std::string::npos) {
    for (unsigned long n = std::stoul(h); n > 0; --n) {
      std::size_t next = line_end(end);
      if (next == end || buf_[next - 1] != '\n') {  // fewer lines than that: no header, as for a regex
        end = 0;
        break;
      }
      end = next;
    }
  } else {
    std::regex re;
    try {
      re = user_regex(h);
    } catch (const std::regex_error&) {
      throw usage_error("--header: not a regular expression sluice can use: " + h);
    }
    for (std::size_t taken = 0;;) {
      std::size_t next = line_end(taken);
      if (next == taken) break;  // the input ended (without a match: no header)
      taken = next;
      std::smatch m;
      if (std::regex_search(buf_.cbegin(), buf_.cbegin() + static_cast<std::ptrdiff_t>(taken), m, re,
                            std::regex_constants::match_continuous)) {
        end = static_cast<std::size_t>(m.length(0));
        // GNU matches against all it has read: while the match takes every line so far, a repeating pattern
        // such as '(%.*\n)*' may take the next line too.
        if (end < taken) break;
      } else if (end > 0) {
        break;
      }
    }
  }
  header_ = buf_.substr(0, end);
  buf_.erase(0, end);
  if (!group_name_.empty()) {
    std::string line = header_;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    buf_.insert(0, line + "\n");  // (parsed as a line of the input to find the column)
    for (std::size_t col = 1; col < 10000; ++col) {
      group_col_ = col;
      auto name = group_key(0);
      if (name && *name == group_name_) break;
      if (!name || name->empty()) {
        group_col_ = 0;
        break;
      }
    }
    buf_.erase(0, line.size() + 1);
    if (group_col_ == 0) throw usage_error("--group-by: column '" + group_name_ + "' not found in the header: " + line);
  }
}

std::optional<std::string> block_reader::next() {
  if (part_mode_) return next_part();
  if (skip_first_line_) {
    // --skip-first-line (--shebang): the first line is not input, and goes before any --header is read.
    skip_first_line_ = false;
    std::size_t nl;
    while ((nl = buf_.find('\n')) == std::string::npos && !eof_) fill(buf_.size() + 4096);
    buf_.erase(0, nl == std::string::npos ? buf_.size() : nl + 1);
  }
  if (want_header_ && !header_read_) read_header();
  std::size_t cut = 0;
  if (records_ > 0) {
    std::size_t found = 0, want = records_;
    if (recstart_re_ && !garbage_checked_) {
      // --regexp -N: as GNU, what stands before the first --recstart is a block of its own, not one of the
      // first block's N records.
      garbage_checked_ = true;
      if (buf_.empty()) fill(256 * 1024);
      std::smatch m;
      if (!buf_.empty() &&
          !std::regex_search(buf_.cbegin(), buf_.cend(), m, *recstart_re_, std::regex_constants::match_continuous))
        want = 1;
    }
    for (;;) {
      std::size_t e = record_end(cut);
      if (e == std::string::npos) {
        if (eof_) {
          // -L: a trailing partial record is a block of its own.
          if (lines_ > 0 && found > 0) break;
          cut = buf_.size();
          break;
        }
        fill(buf_.size() + 1);  // one more read
        continue;
      }
      cut = e;
      if (++found == want) break;
    }
  } else {
    bool timed_out = false;
    if (block_timeout_ > 0) {
      // --block-timeout: a block not full in time goes with the whole records read so far (if any).
      for (;;) {
        auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(sluice::seconds(block_timeout_));
        if (fill_until(block_size_ + recstart_.size(), deadline)) break;
        std::size_t c = buf_.empty() ? std::string::npos : last_cut_within(buf_.size());
        if (c != std::string::npos && c > 0) {
          cut = c;
          timed_out = true;
          break;
        }
      }
    } else {
      fill(block_size_ + recstart_.size());
    }
    if (buf_.empty()) return std::nullopt;
    for (; !timed_out;) {
      if (eof_ && buf_.size() <= block_size_) {
        cut = buf_.size();
        if (lines_ > 0) {
          std::size_t c = last_cut_within(buf_.size());
          if (c != std::string::npos && c > 0) cut = c;
        }
        break;
      }
      cut = last_cut_within(block_size_);
      if (cut != std::string::npos && cut > 0) break;
      if (eof_ && buf_.size() <= block_size_) continue;
      // A record longer than the block: grow the block by 30% for good, as GNU parallel does.
      std::size_t grown = (block_size_ * 13 + 9) / 10 + 1;
      std::string m = named("sluice: Warning: A record was longer than " + std::to_string(block_size_) +
                      ". Increasing to --blocksize " + std::to_string(grown) + ".\n");
      if (warn_) {
        warn_(m);
      } else {
        write_all(2, m.data(), m.size());
      }
      block_size_ = grown;
      fill(block_size_ + recstart_.size());
    }
  }
  if (buf_.empty()) return std::nullopt;
  std::string block;
  if (cut >= buf_.size()) {
    block.swap(buf_);
  } else {
    block.assign(buf_, 0, cut);
    buf_.erase(0, cut);
  }
  if (block.empty()) return std::nullopt;
  if (remove_rec_sep_) remove_separators(block);
  if (!header_.empty()) block.insert(0, header_);
  return block;
}

}  // namespace sluice::app
