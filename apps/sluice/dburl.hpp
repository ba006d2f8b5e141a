// GNU parallel's DBURL, the address of the job table behind --sqlmaster / --sqlworker / --sqlandworker:
//   [+][sql:]driver://[user[:password]@][host][:port]/database/table[?query]
// with %XX escapes in every part (a path needs them: sqlite3:///%2Ftmp%2Fjobs.db/tbl). A leading `+` appends
// to the table instead of recreating it. Parsed as GNU 20221122 does (its regular expression, field for field).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sluice::app {

struct dburl {
  enum class engine { sqlite, postgresql };
  engine kind = engine::sqlite;
  std::string driver;  // as written, lower case: sqlite3, pg, postgresql, ...
  std::optional<std::string> user, password, host, port, database, table, query;
  bool append = false;  // `+` prefix
};

// Throws usage_error with one line naming the URL: not a DBURL, an engine sluice cannot reach (mysql, oracle,
// csv), an alias (`:name`), no table, a table name that is not a plain SQL identifier, no sqlite3 file.
dburl parse_dburl(std::string_view url);

// The %XX decoding GNU applies (a `%` not followed by two hex digits stays as it is).
std::string uri_unescape(std::string_view s);

}  // namespace sluice::app
