// --pipe: stdin cut into blocks at record boundaries (--block, --recend, --recstart, -N records, -L lines),
// each block becoming one job's stdin. Large reads; the block grows when a record is longer than it.
#pragma once
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>
#include <functional>
#include <optional>
#include <regex>
#include <string>

#include <sluice/queue.hpp>

#include "config.hpp"

namespace sluice::app {

class block_reader {
 public:
  block_reader(const config& cfg, int fd);  // throws usage_error for a --pipe-part without files
  block_reader(const block_reader&) = delete;
  block_reader& operator=(const block_reader&) = delete;
  ~block_reader();
  std::optional<std::string> next();  // blocks on input; nullopt at end of input; throws std::system_error
  // Where "a record was longer than the block" warnings go; by default one line on stderr.
  void set_warning_sink(std::function<void(const std::string&)> sink) { warn_ = std::move(sink); }

 private:
  std::optional<std::string> next_part();  // --pipe-part
  std::uint64_t regex_part_end(std::uint64_t from) const;
  void start_part_file();                  // --pipe-part: a new file's first line and header
  bool fill(std::size_t want);                  // reads until the buffer holds want bytes or EOF; false at EOF
  void drop_blank_lines(std::size_t from);      // -r
  void read_header();                           // --header, --group-by NAME
  std::size_t split_after(std::size_t from) const;  // first cut position > from, or npos
  std::size_t split_before(std::size_t limit) const;  // last cut position in (0, limit], or npos
  bool is_cut(std::size_t p) const;
  std::size_t first_cut_after(std::size_t start) const;  // the earliest cut of the record starting at start
  std::size_t record_end(std::size_t from) const;       // end of the record starting at from, or npos
  std::size_t last_cut_within(std::size_t limit) const;  // last record end <= limit, or npos
  std::optional<std::string> group_key(std::size_t line_start) const;  // --group-by: nullopt if the line is partial

  // --regexp: the cuts are where recend matches, followed by a match of recstart.
  std::size_t regex_cut_after(std::size_t from, std::size_t lo) const;
  std::size_t regex_cut_before(std::size_t limit, std::size_t lo) const;
  void remove_separators(std::string& block) const;  // --remove-rec-sep
  bool fill_until(std::size_t want, std::chrono::steady_clock::time_point deadline);  // --block-timeout

  int fd_;
  std::optional<std::regex> cut_re_;        // --regexp: (?:recend)(?=(?:recstart))
  std::optional<std::regex> recstart_re_;   // --regexp: recstart alone, anchored (for --remove-rec-sep)
  std::optional<std::regex> recend_re_;     // --regexp: recend alone
  std::string recend_pat_, recstart_pat_;   // --regexp: the expressions as given
  bool remove_rec_sep_ = false;
  double block_timeout_ = 0;
  // --block-timeout: a thread reads the input into this queue ("" at its end), so a read can give up in time.
  std::shared_ptr<sluice::queue<std::string>> chunks_;
  bool reader_started_ = false;
  std::string recend_;
  std::string recstart_;
  std::size_t records_ = 0;  // records per block (-N), 0: by size
  bool garbage_checked_ = false;  // --regexp -N: whether the input starts with a record was checked
  std::size_t lines_ = 0;    // -L: lines per record
  std::size_t block_size_;
  std::string buf_;
  std::size_t read_chunk_ = 16 * 1024;  // grows to 256 KiB: a short input does not pay for zeroing a big buffer
  bool eof_ = false;
  std::function<void(const std::string&)> warn_;
  // --group-by N: a record is the run of lines whose column N (split at --colsep, tab by default) is equal.
  bool skip_blank_lines_ = false;  // -r
  bool csv_ = false;               // --csv: records are CSV records
  bool want_header_ = false;       // --header: the first line heads every block
  bool header_read_ = false;
  std::string header_;
  std::string header_text_;  // --header's value (see read_header)
  bool skip_first_line_ = false;  // --skip-first-line: still to be dropped
  std::string group_name_;         // --group-by NAME
  std::size_t group_col_ = 0;  // 1-based; 0: no grouping
  std::string group_sep_;
  std::optional<std::regex> group_re_;


  // --pipe-part: the files (-a / ::::), each cut where GNU parallel cuts it: at the first recend+recstart at or
  // after the previous cut plus --block, found by reading from there (the rest of the file is never scanned).
  bool part_mode_ = false;  // --pipe-part: the blocks come from part_files_ only
  std::vector<std::string> part_files_;
  std::size_t part_index_ = 0;
  int part_fd_ = -1;
  std::uint64_t part_pos_ = 0, part_size_ = 0;
};

}  // namespace sluice::app
