#include "text.hpp"

#include <cstdio>

namespace sluice::app {

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
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  bool left = how.find('l') != std::string_view::npos;
  bool right = how.find('r') != std::string_view::npos;
  std::size_t b = 0, e = s.size();
  if (left)
    while (b < e && blank(s[b])) ++b;
  if (right)
    while (e > b && blank(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace sluice::app
