// apps/sluice/compose_ops.cpp -- the per-value operations of replacement strings (see compose_ops.hpp).
// GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s <regex> automaton when it is inlined here with
// sanitizers on (a known false positive in std::function's move); it is not about this file's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "compose_ops.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "text.hpp"

namespace sluice::app {

namespace {

// s:\.[^/.]*$:: applied `times` times in one go (GNU's {.}, {..}, {...}).
std::string strip_ext(std::string_view v, int times) {
  std::size_t end = v.size();
  for (int i = 0; i < times; ++i) {
    std::size_t k = end;
    while (k > 0 && v[k - 1] != '.' && v[k - 1] != '/') --k;
    if (k == 0 || v[k - 1] != '.') return std::string(v);  // the whole chain must match, or nothing changes
    end = k - 1;
  }
  return std::string(v.substr(0, end));
}

std::string basename_of(std::string_view v) {
  auto p = v.rfind('/');
  return std::string(p == std::string_view::npos ? v : v.substr(p + 1));
}

// Perl's File::Basename::dirname, which GNU parallel uses for {//}.
std::string dirname_of(std::string_view v) {
  std::string s(v);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  auto p = s.rfind('/');
  if (p == std::string::npos) return ".";
  s.resize(p);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s.empty() ? "/" : s;
}

std::string plus_ext(std::string_view v, int parts) {
  // The extension chain that {.}/{..}/{...} removes, without its leading dot.
  std::string stripped = strip_ext(v, parts);
  if (stripped.size() == v.size()) return "";
  return std::string(v.substr(stripped.size() + 1));
}

// The replacement of {/re/s} is plain text, as in GNU (where a $1 stays "$1"): std::regex_replace's format
// escapes for it.
std::string literal_format(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

}  // namespace

std::regex make_regex(const std::string& re) {
  try {
    return user_regex(re);
  } catch (const std::regex_error&) {
    throw usage_error("--plus: invalid regular expression '" + re + "' in a replacement string");
  }
}

std::string apply_op(std::string v, const command_template::token& t) {
  switch (t.op) {
    case op_none: return v;
    case op_noext: return strip_ext(v, 1);
    case op_basename: return basename_of(v);
    case op_dirname: return dirname_of(v);
    case op_base_noext: return strip_ext(basename_of(v), 1);
    case op_noext2: return strip_ext(v, 2);
    case op_noext3: return strip_ext(v, 3);
    case op_base_noext2: return strip_ext(basename_of(v), 2);
    case op_base_noext3: return strip_ext(basename_of(v), 3);
    case op_plus_dir: {
      auto p = v.rfind('/');
      return p == std::string::npos ? "" : v.substr(0, p);
    }
    case op_plus_ext: return plus_ext(v, 1);
    case op_plus_ext2: return plus_ext(v, 2);
    case op_plus_ext3: return plus_ext(v, 3);
    case op_default: return v.empty() ? t.text : v;
    case op_substr_from: {
      std::size_t n = std::strtoul(t.text.c_str(), nullptr, 10);
      return n >= v.size() ? "" : v.substr(n);
    }
    case op_substr: {
      std::size_t n = std::strtoul(t.text.c_str(), nullptr, 10);
      std::size_t m = std::strtoul(t.text2.c_str(), nullptr, 10);
      return n >= v.size() ? "" : v.substr(n, m);
    }
    case op_strip_prefix:
    case op_strip_prefix_long: {
      std::smatch m;
      // The shortest (or longest) prefix matching the pattern.
      std::regex re = make_regex("^(" + t.text + ")");
      if (t.op == op_strip_prefix_long) {
        if (std::regex_search(v, m, re)) return v.substr(static_cast<std::size_t>(m.length(0)));
        return v;
      }
      std::regex whole = make_regex("^(?:" + t.text + ")$");
      for (std::size_t k = 0; k <= v.size(); ++k)
        if (std::regex_match(v.substr(0, k), whole)) return v.substr(k);
      return v;
    }
    case op_strip_suffix:
    case op_strip_suffix_long: {
      std::regex whole = make_regex("^(?:" + t.text + ")$");
      if (t.op == op_strip_suffix_long) {
        for (std::size_t k = 0; k <= v.size(); ++k)
          if (std::regex_match(v.substr(k), whole)) return v.substr(0, k);
        return v;
      }
      for (std::size_t k = v.size() + 1; k-- > 0;)
        if (std::regex_match(v.substr(k), whole)) return v.substr(0, k);
      return v;
    }
    case op_replace_one:
      return std::regex_replace(v, make_regex(t.text), literal_format(t.text2), std::regex_constants::format_first_only);
    case op_replace_all: return std::regex_replace(v, make_regex(t.text), literal_format(t.text2));
    case op_replace_start:
      return std::regex_replace(v, make_regex("^(?:" + t.text + ")"), literal_format(t.text2),
                                std::regex_constants::format_first_only);
    case op_replace_end:
      return std::regex_replace(v, make_regex("(?:" + t.text + ")$"), literal_format(t.text2),
                                std::regex_constants::format_first_only);
    case op_upper_first:
    case op_upper_all:
    case op_lower_first:
    case op_lower_all: {
      bool upper = t.op == op_upper_first || t.op == op_upper_all;
      bool all = t.op == op_upper_all || t.op == op_lower_all;
      std::regex re = make_regex(all ? t.text : "^(?:" + t.text + ")");
      std::string out;
      std::size_t last = 0;
      for (auto it = std::sregex_iterator(v.begin(), v.end(), re); it != std::sregex_iterator(); ++it) {
        auto pos = static_cast<std::size_t>(it->position(0));
        out += v.substr(last, pos - last);
        std::string piece = it->str(0);
        for (auto& c : piece)
          c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                      : std::tolower(static_cast<unsigned char>(c)));
        out += piece;
        last = pos + piece.size();
        if (!all || piece.empty()) break;
      }
      out += v.substr(std::min(last, v.size()));
      return out;
    }
  }
  return v;
}

bool suffix_op(std::string_view s, bool plus, int& op) {
  if (s.empty()) op = op_none;
  else if (s == ".") op = op_noext;
  else if (s == "/") op = op_basename;
  else if (s == "//") op = op_dirname;
  else if (s == "/.") op = op_base_noext;
  else if (plus && s == "..") op = op_noext2;
  else if (plus && s == "...") op = op_noext3;
  else if (plus && s == "/..") op = op_base_noext2;
  else if (plus && s == "/...") op = op_base_noext3;
  else if (plus && s == "+/") op = op_plus_dir;
  else if (plus && s == "+.") op = op_plus_ext;
  else if (plus && s == "+..") op = op_plus_ext2;
  else if (plus && s == "+...") op = op_plus_ext3;
  else return false;
  return true;
}

}  // namespace sluice::app
