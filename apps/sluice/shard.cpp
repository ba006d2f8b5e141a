#include "shard.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <vector>

#include "perl_expr.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

line_router::line_router(const config& cfg, std::size_t jobs) : bin_(cfg.shard_is_bin), jobs_(jobs == 0 ? 1 : jobs) {
  std::string spec = cfg.shard.value_or("");
  // GNU's split of "column perlexpr": a number, or a name (then the header names the columns), then blanks.
  std::size_t word = 0;
  while (word < spec.size() && (is_word_char(spec[word]) || spec[word] == '-')) ++word;
  const bool word_first = word > 0 && (word == spec.size() || std::isspace(static_cast<unsigned char>(spec[word])));
  std::string rest = spec;
  if (word_first) {
    std::string w = spec.substr(0, word);
    std::size_t digits = w[0] == '-' ? 1 : 0;
    bool number = digits < w.size() && w.find_first_not_of("0123456789", digits) == std::string::npos;
    bool name = !number && w.find('-') == std::string::npos;
    if (number || name) {
      if (number) column_ = std::strtol(w.c_str(), nullptr, 10);
      else column_name_ = w;
      rest = spec.substr(word);
      std::size_t b = rest.find_first_not_of(" \t\n\r\f\v");
      rest = b == std::string::npos ? std::string() : rest.substr(b);
    }
  }
  sep_ = cfg.colsep.value_or(",");
  if (sep_.find_first_of("\\^$.|?*+()[]{}") != std::string::npos) {
    try {
      sep_re_.emplace(sep_);
    } catch (const std::regex_error&) {
      throw usage_error("--colsep: invalid regular expression '" + sep_ + "'");
    }
  }
  if (!rest.empty()) expr_ = perl_expr::compile(rest);
}

void line_router::set_header(const std::string& line) {
  // The columns of the header line, its newline kept on the last one (a name there never matches, as in GNU).
  std::size_t col = 1, from = 0;
  for (;;) {
    std::size_t at = std::string::npos, len = 0;
    if (sep_re_) {
      std::smatch m;
      if (std::regex_search(line.cbegin() + static_cast<std::ptrdiff_t>(from), line.cend(), m, *sep_re_) && m.length(0) > 0) {
        at = from + static_cast<std::size_t>(m.position(0));
        len = static_cast<std::size_t>(m.length(0));
      }
    } else if (!sep_.empty()) {
      at = line.find(sep_, from);
      len = sep_.size();
    }
    if (line.compare(from, at == std::string::npos ? std::string::npos : at - from, column_name_) == 0 &&
        (at != std::string::npos ? at - from : line.size() - from) == column_name_.size()) {
      column_ = static_cast<long>(col);
      column_name_.clear();
      return;
    }
    if (at == std::string::npos) break;
    from = at + len;
    ++col;
  }
  std::string shown = line;
  while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.pop_back();
  throw usage_error("Error: Column '" + column_name_ + "' " + sep_ + " not found in header: " + shown);
}

std::string line_router::key(std::string_view line) const {
  if (column_ == 0) return std::string(line);
  // Perl's split with a limit of column+1 fields: the wanted column is whole, whatever follows it.
  std::vector<std::string_view> fields;
  std::size_t from = 0;
  const std::size_t limit = column_ > 0 ? static_cast<std::size_t>(column_) + 1 : 1;
  while (fields.size() + 1 < limit) {
    std::size_t at = std::string_view::npos, len = 0;
    if (sep_re_) {
      std::match_results<std::string_view::const_iterator> m;
      if (std::regex_search(line.begin() + static_cast<std::ptrdiff_t>(from), line.end(), m, *sep_re_) && m.length(0) > 0) {
        at = from + static_cast<std::size_t>(m.position(0));
        len = static_cast<std::size_t>(m.length(0));
      }
    } else if (!sep_.empty()) {
      at = line.find(sep_, from);
      len = sep_.size();
    }
    if (at == std::string_view::npos) break;
    fields.push_back(line.substr(from, at - from));
    from = at + len;
  }
  fields.push_back(line.substr(from));
  if (column_ < 0) {
    std::size_t back = static_cast<std::size_t>(-column_);
    return back <= fields.size() ? std::string(fields[fields.size() - back]) : std::string();
  }
  std::size_t k = static_cast<std::size_t>(column_) - 1;
  return k < fields.size() ? std::string(fields[k]) : std::string();
}

std::size_t line_router::route(std::string_view line) const {
  std::string k = key(line);
  if (expr_ >= 0) k = perl_expr::evaluate(expr_, k).text;
  if (!bin_) return std::hash<std::string>{}(k) % jobs_;
  // --bin: Perl's % on the integer part; its result takes the sign of the right side.
  double v = std::trunc(perl_number(k));
  long long n = static_cast<long long>(jobs_);
  long long m = std::fabs(v) < 9.2e18 ? static_cast<long long>(v) % n : 0;
  if (m < 0) m += n;
  return static_cast<std::size_t>((m + n - 1) % n);  // value 1 -> the first job, 0 -> the last
}

}  // namespace sluice::app
