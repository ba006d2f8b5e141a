// SQLite and PostgreSQL connections (see sql_db.hpp). Each engine's client library is linked into the job
// runner only when found at build time (SLUICE_HAVE_SQLITE3 / SLUICE_HAVE_LIBPQ).
#include "sql_db.hpp"

#include <chrono>
#include <thread>

#include "config.hpp"

#if SLUICE_HAVE_SQLITE3
#include <sqlite3.h>
#endif
#if SLUICE_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

namespace sluice::app {

namespace {

std::string url_text(const dburl& u) {
  std::string s = u.driver + "://";
  if (u.host) s += *u.host;
  if (u.port) s += ":" + *u.port;
  s += "/" + u.database.value_or("") + "/" + u.table.value_or("");
  return s;
}

#if SLUICE_HAVE_SQLITE3
class sqlite_connection final : public sql_connection {
 public:
  sqlite_connection(const dburl& u, bool create) {
    const std::string path = *u.database;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string m = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      if (db_) sqlite3_close(db_);
      db_ = nullptr;
      throw usage_error("cannot open the SQLite database " + path + ": " + m);
    }
    // Several workers write one file: wait for the lock rather than fail. The file is switched to WAL (a
    // persistent setting GNU's DBD::SQLite reads as well): a commit then appends to the log without fsync, and
    // readers do not block the writer; in the default rollback journal each claim cost three fsyncs.
    sqlite3_busy_timeout(db_, 60000);
    try {
      exec("PRAGMA journal_mode=WAL", {});
      exec("PRAGMA synchronous=NORMAL", {});
      exec("SELECT count(*) FROM sqlite_master", {});  // a file that is not a database fails here, not later
    } catch (const sql_error& e) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw usage_error("cannot use the SQLite database " + path + ": " + e.what());
    }
  }
  ~sqlite_connection() override {
    if (db_) sqlite3_close(db_);
  }

  std::vector<sql_row> exec(const std::string& sql, const std::vector<sql_value>& params) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK)
      throw sql_error(sqlite3_errmsg(db_));
    struct finalizer {
      sqlite3_stmt* s;
      ~finalizer() { sqlite3_finalize(s); }
    } fin{st};
    for (std::size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      if (!params[i]) sqlite3_bind_null(st, idx);
      else sqlite3_bind_text(st, idx, params[i]->data(), static_cast<int>(params[i]->size()), SQLITE_TRANSIENT);
    }
    std::vector<sql_row> rows;
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        sql_row r;
        r.reserve(static_cast<std::size_t>(n));
        for (int c = 0; c < n; ++c) {
          if (sqlite3_column_type(st, c) == SQLITE_NULL) {
            r.emplace_back();
          } else {
            const unsigned char* t = sqlite3_column_text(st, c);
            int len = sqlite3_column_bytes(st, c);
            r.emplace_back(std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(len)));
          }
        }
        rows.push_back(std::move(r));
        continue;
      }
      if (rc == SQLITE_DONE) break;
      throw sql_error(sqlite3_errmsg(db_));
    }
    return rows;
  }
  void begin_write() override { exec("BEGIN IMMEDIATE", {}); }
  bool table_exists(const std::string& table) override {
    return !exec("SELECT name FROM sqlite_master WHERE type='table' AND name=?", {table}).empty();
  }
  std::string now_expr() const override { return "((julianday('now') - 2440587.5) * 86400.0)"; }
  bool is_postgresql() const override { return false; }

 private:
  sqlite3* db_ = nullptr;
};
#endif

#if SLUICE_HAVE_LIBPQ
class pg_connection final : public sql_connection {
 public:
  explicit pg_connection(const dburl& u) {
    std::vector<const char*> keys, values;
    auto add = [&](const char* k, const std::optional<std::string>& v) {
      if (v) keys.push_back(k), values.push_back(v->c_str());
    };
    add("host", u.host);
    add("port", u.port);
    add("user", u.user);
    add("password", u.password);
    add("dbname", u.database);
    keys.push_back("connect_timeout"), values.push_back("10");
    keys.push_back(nullptr), values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string m = PQerrorMessage(conn_);
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      for (char& c : m)
        if (c == '\n') c = ' ';
      PQfinish(conn_);
      conn_ = nullptr;
      throw usage_error("cannot connect to " + url_text(u) + ": " + m);
    }
    exec("SET client_min_messages = warning", {});
  }
  ~pg_connection() override {
    if (conn_) PQfinish(conn_);
  }

  std::vector<sql_row> exec(const std::string& sql, const std::vector<sql_value>& params) override {
    // `?` placeholders become $1, $2, ... (the statements here never hold a literal question mark).
    std::string text;
    int n = 0;
    for (char c : sql) {
      if (c == '?') text += "$" + std::to_string(++n);
      else text += c;
    }
    std::vector<const char*> vals;
    for (const auto& p : params) vals.push_back(p ? p->c_str() : nullptr);
    PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(vals.size()), nullptr, vals.data(), nullptr, nullptr, 0);
    struct clearer {
      PGresult* r;
      ~clearer() { PQclear(r); }
    } cl{res};
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string m = PQerrorMessage(conn_);
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      for (char& c : m)
        if (c == '\n') c = ' ';
      throw sql_error(m.empty() ? "PostgreSQL error" : m);
    }
    std::vector<sql_row> rows;
    int nr = PQntuples(res), nc = PQnfields(res);
    for (int r = 0; r < nr; ++r) {
      sql_row row;
      for (int c = 0; c < nc; ++c) {
        if (PQgetisnull(res, r, c)) row.emplace_back();
        else row.emplace_back(std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void begin_write() override { exec("BEGIN", {}); }
  bool table_exists(const std::string& table) override {
    auto r = exec("SELECT to_regclass(?) IS NOT NULL", {table});
    return !r.empty() && r[0][0] && (*r[0][0] == "t" || *r[0][0] == "true");
  }
  std::string now_expr() const override { return "extract(epoch from clock_timestamp())::float8"; }
  bool is_postgresql() const override { return true; }

 private:
  PGconn* conn_ = nullptr;
};
#endif

}  // namespace

std::unique_ptr<sql_connection> sql_connect(const dburl& url, bool create) {
  if (url.kind == dburl::engine::sqlite) {
#if SLUICE_HAVE_SQLITE3
    return std::make_unique<sqlite_connection>(url, create);
#else
    (void)create;
    throw usage_error("this sluice was built without libsqlite3 (Debian: libsqlite3-dev): sqlite3:// is not available");
#endif
  }
#if SLUICE_HAVE_LIBPQ
  return std::make_unique<pg_connection>(url);
#else
  throw usage_error("this sluice was built without libpq (Debian: libpq-dev): pg:// is not available");
#endif
}

}  // namespace sluice::app
