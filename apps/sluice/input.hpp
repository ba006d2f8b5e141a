// Input sources: stdin, `:::` values, `::::` / `-a` files, combined as GNU parallel does (cartesian product
// with the last source varying fastest, --link with wrapping, :::+ without), split by -0 / -d / --colsep,
// trimmed, filtered by -r and -E, with --header names. A single source is streamed, so a billion-line
// stdin needs constant memory; several sources are read into memory first (they are normally short).
#pragma once
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "config.hpp"

namespace sluice::app {

// One argument tuple: a value per input source (or per column under --colsep).
using arg_record = std::vector<std::string>;

// One --csv record split into its fields; throws std::runtime_error ("CSV has unexpected format: ^...^").
arg_record parse_csv(const std::string& line, char sep);

// Reads delimiter-terminated records from a descriptor with large reads.
class record_reader {
 public:
  record_reader(int fd, bool owned, std::string delim);
  record_reader(const record_reader&) = delete;
  record_reader& operator=(const record_reader&) = delete;
  ~record_reader();
  std::optional<std::string> next();  // the next record without its delimiter; nullopt at end; throws on I/O error
  int descriptor() const noexcept { return fd_; }

 private:
  int fd_;
  bool owned_;
  std::string delim_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

class input_reader {
 public:
  explicit input_reader(const config& cfg);  // opens every source, reads --header names; throws usage_error
  std::optional<arg_record> next();           // blocks on input; nullopt when all sources are done
  const std::map<std::string, std::size_t>& header_names() const noexcept { return names_; }
  bool reads_stdin() const noexcept { return reads_stdin_; }

 private:
  struct source_state {
    std::unique_ptr<record_reader> reader;  // null for ::: values
    std::vector<std::string> values;
    std::size_t pos = 0;
  };
  std::optional<std::string> next_value(source_state& s);
  arg_record split_columns(const std::string& line) const;
  std::optional<arg_record> next_combined();
  bool wanted(const arg_record& r) const;
  void warn_about_terminal_input() const;

  const config& cfg_;
  std::vector<source_state> sources_;
  std::map<std::string, std::size_t> names_;
  std::optional<std::regex> colsep_re_;
  bool streaming_ = false;
  bool reads_stdin_ = false;
  bool eof_seen_ = false;
  bool lines_mode() const noexcept;
  std::optional<std::string> next_raw_value(source_state& s);
  int crlf_seen_ = 0;  // values read so far that end in CR (3: checked)
  bool reading_header_ = false;  // --header: the first value of each source is being read as names
  // Combined tuples when several sources are used.
  std::vector<arg_record> combined_;
  std::size_t combined_pos_ = 0;
};

}  // namespace sluice::app
