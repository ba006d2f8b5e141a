// DBURL parsing (see dburl.hpp). The fields are cut by hand, in the order GNU's regular expression takes
// them; where that expression backtracks (the user@ part), the same choice is made explicitly.
#include "dburl.hpp"

#include <algorithm>
#include <cctype>

#include "config.hpp"

namespace sluice::app {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::string> field(std::string_view raw) {
  std::string v = uri_unescape(raw);
  if (v.empty()) return std::nullopt;  // GNU's undef_if_empty
  return v;
}

bool plain_identifier(const std::string& t) {
  // Interpolated into SQL statements, as GNU does: letters, digits, `_`, and one `.` for a schema.
  if (t.empty() || std::isdigit(static_cast<unsigned char>(t[0]))) return false;
  std::size_t dots = 0;
  for (char c : t) {
    if (c == '.') ++dots;
    else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return dots <= 1 && t.front() != '.' && t.back() != '.';
}

// A %-decoded part in an error message: quoted when it is printable, else left out (the message stays one line
// of text; the URL as given is in it anyway).
std::string decoded_part(const std::string& part) {
  for (unsigned char c : part)
    if (c < 0x20 || c > 0x7e) return "";
  return " '" + part + "'";
}

}  // namespace

std::string uri_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

dburl parse_dburl(std::string_view url) {
  const std::string shown(url);
  auto invalid = [&] { return usage_error(shown + " is not a valid DBURL"); };
  dburl d;
  std::string_view s = url;
  if (!s.empty() && s.front() == '+') {
    d.append = true;
    s.remove_prefix(1);
  }
  while (s.substr(0, 4) == "sql:") s.remove_prefix(4);
  if (!s.empty() && s.front() == ':')
    throw usage_error("DBURL aliases (" + std::string(s) + ") are not implemented in sluice: write the URL itself");

  // The driver: GNU's list, any case.
  std::size_t sep = s.find("://");
  if (sep == std::string_view::npos) throw invalid();
  std::string driver = lower(s.substr(0, sep));
  static const char* const k_pg[] = {"pg", "postgres", "postgresql"};
  static const char* const k_other_net[] = {"oracle", "ora", "mysql"};
  bool known = false, is_pg = false;
  for (const char* base : k_pg)
    for (const char* suffix : {"", "s", "ssl"})
      if (driver == std::string(base) + suffix) known = is_pg = true;
  for (const char* base : k_other_net)
    for (const char* suffix : {"", "s", "ssl"})
      if (driver == std::string(base) + suffix) known = true;
  const bool is_sqlite = driver == "sqlite" || driver == "sqlite3";
  if (is_sqlite || driver == "sqlite2" || driver == "csv") known = true;
  if (!known) throw invalid();
  d.driver = driver;
  s.remove_prefix(sep + 3);

  // [user[:password]@]: user is [^:@/][^:@]* or empty, password [^@]*. GNU's expression takes this part
  // only when what follows still matches; the rest never contains an unmatched shape that would need it
  // back, except that the host may itself contain '@' (host is [^:/]*).
  {
    std::size_t u_end = 0;
    while (u_end < s.size() && s[u_end] != ':' && s[u_end] != '@') ++u_end;
    bool user_ok = u_end == 0 || s[0] != '/';
    std::optional<std::size_t> at;
    std::size_t pass_begin = 0, pass_end = 0;
    if (user_ok && u_end < s.size()) {
      if (s[u_end] == '@') {
        at = u_end;
      } else {  // ':' then a password up to the first '@'
        std::size_t a = s.find('@', u_end + 1);
        if (a != std::string_view::npos) {
          at = a;
          pass_begin = u_end + 1;
          pass_end = a;
        }
      }
    }
    if (at) {
      d.user = field(s.substr(0, u_end));
      if (pass_end > 0) d.password = field(s.substr(pass_begin, pass_end - pass_begin));
      s.remove_prefix(*at + 1);
    }
  }
  // host [^:/]*, then :port [^/]*, then /database [^/?]*, then /table [^?]*, then ?query.
  std::size_t h = 0;
  while (h < s.size() && s[h] != ':' && s[h] != '/') ++h;
  d.host = field(s.substr(0, h));
  s.remove_prefix(h);
  // Each later part: its lead character, then everything up to the first of `ends` (or the end).
  auto part = [&](std::optional<std::string>& out, char lead, std::string_view ends) {
    if (s.empty() || s.front() != lead) return;
    std::size_t p = s.find_first_of(ends, 1);
    if (p == std::string_view::npos) p = s.size();
    out = field(s.substr(1, p - 1));
    s.remove_prefix(p);
  };
  part(d.port, ':', "/");
  part(d.database, '/', "/?");
  part(d.table, '/', "?");
  part(d.query, '?', "");
  if (!s.empty()) throw invalid();

  if (!is_sqlite && !is_pg)
    throw usage_error(shown + ": the " + driver + " driver is not supported by sluice (sqlite3:// and pg:// are)");
  d.kind = is_pg ? dburl::engine::postgresql : dburl::engine::sqlite;
  if (!d.table) throw usage_error("The DBURL (" + shown + ") must contain a table.");
  if (!plain_identifier(*d.table))
    throw usage_error(shown + ": the table name" + decoded_part(*d.table) + " is not a plain SQL identifier");
  if (is_sqlite && !d.database)
    throw usage_error(shown + ": a sqlite3 DBURL needs a database file (sqlite3:///%2Fpath%2Fto%2Ffile/table)");
  if (d.port && (d.port->empty() || d.port->find_first_not_of("0123456789") != std::string::npos || d.port->size() > 5))
    throw usage_error(shown + ": bad port" + decoded_part(*d.port));
  return d;
}

}  // namespace sluice::app
