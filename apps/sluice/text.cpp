#include "text.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sluice::app {

namespace {
std::string& program_name_storage() {
  static std::string name = "sluice";
  return name;
}
}  // namespace

void set_program_name(std::string_view argv0) {
  const auto slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
  program_name_storage() = argv0 == "parallel" ? "parallel" : "sluice";
}

const std::string& program_name() { return program_name_storage(); }

std::string named(std::string_view message) {
  static constexpr std::string_view k_own = "sluice: ";
  const std::string& name = program_name();
  if (name == "sluice") return std::string(message);
  std::string out;
  for (std::size_t at = 0; at < message.size();) {
    if (message.compare(at, k_own.size(), k_own) == 0) {
      out += name + ": ";
      at += k_own.size();
    }
    const auto end = message.find('\n', at);
    const auto stop = end == std::string_view::npos ? message.size() : end + 1;
    out.append(message.substr(at, stop - at));
    at = stop;
  }
  return out;
}

std::vector<std::string> split_string(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool needs_quoting(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (unsigned char c : s) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.' || c == '+' || c == '/';
    if (!plain) return true;
  }
  return false;
}

std::string shell_quote(std::string_view s) {
  if (s.empty()) return "''";
  if (!needs_quoting(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  out += '\'';
  for (char c : s) {
    if (c == '\'') out += "'\"'\"'";
    else out += c;
  }
  out += '\'';
  if (out.size() >= 2 && out.compare(0, 2, "''") == 0) out.erase(0, 2);
  if (out.size() >= 2 && out.compare(out.size() - 2, 2, "''") == 0) out.erase(out.size() - 2);
  return out;
}

std::string csv_field(std::string_view s, char sep) {
  bool quote = s.find_first_of(std::string{sep, '"', '\n', '\r', ' ', '\t'}) != std::string_view::npos;
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  out += '"';
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

std::string trim_string(std::string_view s, std::string_view how) {
  // Perl's \s less the newline, as GNU's --trim: a CR of DOS text goes too.
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  bool left = how.find('l') != std::string_view::npos;
  bool right = how.find('r') != std::string_view::npos;
  std::size_t b = 0, e = s.size();
  if (left)
    while (b < e && blank(s[b])) ++b;
  if (right)
    while (e > b && blank(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::regex user_regex(const std::string& pattern) {
  const std::size_t n = pattern.size();
  auto digits_from = [&](std::size_t j) {
    while (j < n && pattern[j] >= '0' && pattern[j] <= '9') ++j;
    return j;
  };
  bool quantified = false;  // the previous token was a quantifier
  for (std::size_t i = 0; i < n;) {
    const char c = pattern[i];
    if (c == '\\') {
      std::size_t j = i + 1;
      if (j < n && pattern[j] >= '1' && pattern[j] <= '9') {
        j = digits_from(j);
        if (j - (i + 1) > 3) throw std::regex_error(std::regex_constants::error_backref);
      } else if (j < n) {
        ++j;
      }
      i = j;
      quantified = false;
    } else if (c == '[') {
      // A bracket expression: everything in it is literal; a ']' first (after an optional '^') is one of them.
      std::size_t j = i + 1;
      if (j < n && pattern[j] == '^') ++j;
      if (j < n && pattern[j] == ']') ++j;
      while (j < n && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      i = j + 1;
      quantified = false;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      std::size_t j = i + 1;
      if (c == '{') {  // {n}, {n,} or {n,m}: each count at most 1000
        for (int part = 0; part < 2; ++part) {
          const std::size_t start = j;
          j = digits_from(j);
          if (j - start > 4 || (j > start && std::stoul(pattern.substr(start, j - start)) > 1000))
            throw std::regex_error(std::regex_constants::error_badbrace);
          if (part == 0 && (j >= n || pattern[j] != ',')) break;
          ++j;
        }
        if (j < n && pattern[j] == '}') ++j;
      }
      // ECMAScript has no quantifier of a quantifier (a** a+* a{2}+); libstdc++ accepts them and backtracks
      // exponentially on them. A '?' right after a quantifier makes it lazy, which is fine.
      if (quantified) throw std::regex_error(std::regex_constants::error_badrepeat);
      if (j < n && pattern[j] == '?') ++j;
      i = j;
      quantified = true;
    } else {
      ++i;
      quantified = false;
    }
  }
  return std::regex(pattern);
}

double perl_number(const std::string& s) {
  const char* p = s.c_str();
  while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  char* end = nullptr;
  double v = std::strtod(p, &end);
  if (end == p || !std::isfinite(v)) return 0;
  // (strtod also reads hex and "inf"/"nan", which Perl does not)
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) return 0;
  if (std::isalpha(static_cast<unsigned char>(*p))) return 0;
  return v;
}

}  // namespace sluice::app
