// --latest-line (--ll): one row per running job showing the last complete line it wrote, as GNU parallel
// draws it: a row is "\r", the job's tag, the line cut to the terminal's width and " " (or ">" when cut),
// then the newlines down to below the lowest row. On a terminal the rows are redrawn in place (cursor up);
// elsewhere (a pipe, a file) nothing moves up, as with GNU there, so each redraw is a line of its own.
// Not thread-safe: the runner calls it from its loop.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace sluice::app {

class latest_line_display {
 public:
  // terminal: stdout is one; then `up` moves the cursor up a row, and rows x columns is its size.
  latest_line_display(bool terminal, std::size_t rows, std::size_t columns);

  // More output of job `seq` (stdout and stderr alike): returns what to print (empty when no line completed).
  std::string update(std::size_t seq, bool keep_order, const std::string& tag, const std::string& color,
                     std::string_view data);
  // Job `seq` ended: its row one last time, the finished rows that can now scroll off, and what it wrote
  // after its last newline (with its tag, as GNU prints it).
  std::string finish(std::size_t seq, bool keep_order, const std::string& tag, const std::string& color);

 private:
  struct row_state {
    std::size_t seq = 0;
    std::string tag, color, latest, half;
    bool done = false;
  };
  std::size_t row_of(std::size_t seq, bool keep_order);
  void draw(std::size_t row, std::string& out);
  bool visible(std::size_t row) const { return min_visible_ <= row && row + 1 < min_visible_ + rows_; }

  std::string up_;
  std::size_t rows_, columns_;
  std::size_t current_ = 1, max_row_ = 1, min_visible_ = 1, next_row_ = 0;
  std::map<std::size_t, std::size_t> row_by_seq_;
  std::map<std::size_t, row_state> rows_state_;
};

}  // namespace sluice::app
