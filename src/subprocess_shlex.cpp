// src/subprocess_shlex.cpp -- shlex.quote / join / split (POSIX mode), as CPython 3.12 behaves.
#include <sluice/subprocess.hpp>

namespace sluice::shlex {

namespace {
bool safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
         c == '%' || c == '+' || c == '=' || c == ':' || c == ',' || c == '.' || c == '/' || c == '-';
}
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::string quote(std::string_view s) {
  if (s.empty()) return "''";
  bool all_safe = true;
  for (unsigned char c : s) all_safe = all_safe && safe(c);
  if (all_safe) return std::string(s);
  std::string r = "'";
  for (char c : s) {
    if (c == '\'')
      r += "'\"'\"'";
    else
      r += c;
  }
  return r + "'";
}

std::string join(const std::vector<std::string>& args) {
  std::string r;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) r += ' ';
    r += quote(args[i]);
  }
  return r;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::string tok;
  bool in_token = false;  // a token has started, even if it is still empty ('' is a token)
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (space(c)) {
      if (in_token) out.push_back(std::move(tok));
      tok.clear();
      in_token = false;
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= s.size()) throw std::invalid_argument("shlex.split: no escaped character");
      tok += s[i + 1];
      in_token = true;
      i += 2;
    } else if (c == '\'') {
      std::size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) throw std::invalid_argument("shlex.split: no closing quotation");
      tok.append(s.substr(i + 1, end - i - 1));
      in_token = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) throw std::invalid_argument("shlex.split: no closing quotation");
        char d = s[i];
        if (d == '"') {
          ++i;
          break;
        }
        if (d == '\\') {
          if (i + 1 >= s.size()) throw std::invalid_argument("shlex.split: no closing quotation");
          char e = s[i + 1];
          // Inside double quotes only \" and \\ are escapes; any other backslash stays.
          if (e != '"' && e != '\\') tok += '\\';
          tok += e;
          i += 2;
          continue;
        }
        tok += d;
        ++i;
      }
      in_token = true;
    } else {
      tok += c;
      in_token = true;
      ++i;
    }
  }
  if (in_token) out.push_back(std::move(tok));
  return out;
}

}  // namespace sluice::shlex
