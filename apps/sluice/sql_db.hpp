// One connection to the job table's database, for the SQL job queue (sql_queue.cpp): SQLite through
// libsqlite3, PostgreSQL through libpq, behind one small interface. Statements are written with `?`
// placeholders (rewritten to $n for PostgreSQL); values travel as text, NULL as nullopt.
// Thread-safety: one connection per thread.
#pragma once
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "dburl.hpp"

namespace sluice::app {

using sql_value = std::optional<std::string>;
using sql_row = std::vector<sql_value>;

// The database refused a statement or went away; what() is the engine's own message.
class sql_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class sql_connection {
 public:
  virtual ~sql_connection() = default;
  // Runs one statement; the rows it returns (SELECT, RETURNING). Throws sql_error. SQLite waits for a lock
  // (busy timeout) instead of failing.
  virtual std::vector<sql_row> exec(const std::string& sql, const std::vector<sql_value>& params = {}) = 0;
  // BEGIN that takes the write lock at once (SQLite: IMMEDIATE), so a transaction never fails half way.
  virtual void begin_write() = 0;
  // Runs body() between begin_write() and COMMIT and returns what it returns; on any exception rolls back (a
  // failing ROLLBACK, the connection being gone, is ignored) and rethrows.
  template <class F>
  auto in_write_transaction(F&& body) -> decltype(body()) {
    begin_write();
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        exec("COMMIT");
      } else {
        auto result = body();
        exec("COMMIT");
        return result;
      }
    } catch (...) {
      try {
        exec("ROLLBACK");
      } catch (const sql_error&) {
      }
      throw;
    }
  }
  virtual bool table_exists(const std::string& table) = 0;
  // The database's clock, seconds since the epoch, as an SQL expression: leases compare against one clock.
  virtual std::string now_expr() const = 0;
  virtual bool is_postgresql() const = 0;
};

// Connects (for SQLite, opens the file; creates it only when `create`: a master's). Throws usage_error with one
// line naming the database when it cannot be reached, or when sluice was built without the engine's library.
std::unique_ptr<sql_connection> sql_connect(const dburl& url, bool create);

}  // namespace sluice::app
