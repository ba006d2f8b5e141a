// apps/sluice/latest_line.cpp -- --latest-line's rows (see latest_line.hpp).
#include "latest_line.hpp"

#include <algorithm>

namespace sluice::app {

namespace {

// Tabs as spaces to the next multiple of 8, counted on the text as it was (as GNU's untabify does).
std::string untabify(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\t') out.append(8 - i % 8, ' ');
    else out += s[i];
  }
  return out;
}

}  // namespace

latest_line_display::latest_line_display(bool terminal, std::size_t rows, std::size_t columns)
    : up_(terminal ? "\033[A" : ""), rows_(rows == 0 ? 24 : rows), columns_(columns == 0 ? 80 : columns) {}

std::size_t latest_line_display::row_of(std::size_t seq, bool keep_order) {
  auto it = row_by_seq_.find(seq);
  if (it != row_by_seq_.end()) return it->second;
  std::size_t row = keep_order ? seq : ++next_row_;  // -k: a job's row is its number
  row_by_seq_.emplace(seq, row);
  return row;
}

void latest_line_display::draw(std::size_t row, std::string& out) {
  if (!visible(row)) return;
  row_state& r = rows_state_[row];
  std::string tag = untabify(r.tag);
  std::string line = untabify(r.latest);
  std::size_t tag_len = tag.size();
  const long room = static_cast<long>(columns_) - static_cast<long>(tag_len);
  const bool fits = room - static_cast<long>(line.size()) > 0;
  std::size_t line_len = room - 1 > 0 ? static_cast<std::size_t>(room - 1) : 0;
  std::string mark = fits ? " " : ">", tag_mark;
  if (tag_len > columns_) {  // the tag alone is wider than the terminal: it is cut, the line not shown
    tag_len = columns_ - 1;
    tag_mark = ">";
    mark.clear();
  }
  max_row_ = std::max(max_row_, row);
  for (std::size_t k = row; k < current_; ++k) out += up_;
  out.append(row > current_ ? row - current_ : 0, '\n');
  out += '\r';
  out += tag.substr(0, tag_len);
  out += tag_mark;
  out += r.color;
  out += line.substr(0, line_len);
  out += mark;
  if (!r.color.empty()) out += "\033[0m";
  out.append(max_row_ - row + 1, '\n');
  current_ = max_row_ + 1;
}

std::string latest_line_display::update(std::size_t seq, bool keep_order, const std::string& tag,
                                        const std::string& color, std::string_view data) {
  std::size_t row = row_of(seq, keep_order);
  row_state& r = rows_state_[row];
  r.seq = seq;
  r.tag = tag;
  r.color = color;
  // A line ends at a newline, or (when the data has none) at a carriage return, as GNU reads it.
  std::size_t end = data.rfind('\n');
  if (end == std::string_view::npos) end = data.rfind('\r');
  if (end == std::string_view::npos) {
    r.half.append(data);
    return {};
  }
  std::string lines = r.half;
  lines.append(data.substr(0, end));
  r.half.assign(data.substr(end + 1));
  std::size_t start = lines.rfind('\n');
  if (start == std::string::npos) start = lines.rfind('\r');
  r.latest = start == std::string::npos ? lines : lines.substr(start + 1);
  std::string out;
  draw(row, out);
  return out;
}

std::string latest_line_display::finish(std::size_t seq, bool keep_order, const std::string& tag,
                                        const std::string& color) {
  std::size_t row = row_of(seq, keep_order);
  row_state& r = rows_state_[row];
  r.seq = seq;
  r.tag = tag;
  r.color = color;
  r.done = true;
  std::string out;
  draw(row, out);
  // What followed its last newline, as it is: taken now, since the scrolling below may erase this row.
  std::string rest = r.half.empty() ? std::string() : tag + r.half;
  r.half.clear();
  // Finished rows at the top scroll away; the rows on screen are drawn again.
  for (auto it = rows_state_.find(min_visible_); it != rows_state_.end() && it->second.done;
       it = rows_state_.find(min_visible_)) {
    draw(min_visible_, out);
    row_by_seq_.erase(it->second.seq);
    rows_state_.erase(it);
    ++min_visible_;
  }
  for (std::size_t k = min_visible_; k + 1 < min_visible_ + rows_; ++k)
    if (auto it = rows_state_.find(k); it != rows_state_.end() && it->second.done) draw(k, out);
  out += rest;
  return out;
}

}  // namespace sluice::app
