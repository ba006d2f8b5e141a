// --shard / --bin under --pipe: every job runs at once (one per job slot), and each input line goes to the
// job its key picks. The key is a column of the line (split at --colsep, "," by default, as a regular
// expression; the line keeps its newline, so the last column ends with it, as in GNU parallel), optionally
// rewritten by a Perl expression run with $_ set to it. --shard: a hash of the key picks the job, so equal
// keys meet in one job; --bin: the key as a number, modulo the job count (1 picks the first job, 0 the last).
#pragma once
#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "config.hpp"

namespace sluice::app {

class line_router {
 public:
  // Parses "column [perl expression]" (a number, or a name that the first input line holds); compiles the
  // expression (usage_error with Perl's message when it does not compile).
  line_router(const config& cfg, std::size_t jobs);
  // A column name: the first input line (with its newline) is the header, which no job gets.
  bool needs_header() const noexcept { return !column_name_.empty(); }
  void set_header(const std::string& line);  // throws usage_error when the name is not in it
  std::size_t route(std::string_view line) const;  // the job's index, 0 .. jobs-1

 private:
  std::string key(std::string_view line) const;

  bool bin_;
  std::size_t jobs_;
  long column_ = 0;          // 1-based; 0: the whole line (no column given), < 0: from the end
  std::string column_name_;  // until set_header
  std::string sep_;
  std::optional<std::regex> sep_re_;
  int expr_ = -1;            // perl_expr handle, or -1
};

}  // namespace sluice::app
