// The SQL job queue (see sql_queue.hpp): GNU's table, the command encoding, the worker's thread with its
// claims, lease and results, and the master.
#include "sql_queue.hpp"

#include <sluice/system.hpp>


#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "feeder.hpp"
#include "input.hpp"
#include "output.hpp"
#include "runner.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

constexpr const char* k_claim_prefix = "Reserved-sluice:";
// GNU: "\257 " between command words, "\257<" and "\257>" around a replacement string's Perl form.
struct markers {
  std::string sep, open, close;
  explicit markers(bool utf8) {
    const std::string m = utf8 ? "\xC2\xAF" : "\xAF";
    sep = m + " ", open = m + "<", close = m + ">";
  }
};

// GNU 20221122's Perl for each replacement string sluice knows; {#} and {%} carry GNU's position 1.
const std::string k_dirname = "$Global::use{\"File::Basename\"} ||= eval \"use File::Basename; 1;\"; $_ = dirname($_);";
struct known_rpl {
  const char* suffix;  // what follows the digits inside {}: "", ".", "/", "//", "/."
  std::string perl;
};
const std::vector<known_rpl>& known_rpls() {
  static const std::vector<known_rpl> k{{"", ""},
                                        {".", "s:\\.[^/.]*$::"},
                                        {"/", "s:.*/::"},
                                        {"//", k_dirname},
                                        {"/.", "s:.*/::; s:\\.[^/.]*$::;"}};
  return k;
}
const std::string k_seq_perl = "1 $_=$job->seq()";
const std::string k_slot_perl = "1 $_=$job->slot()";

std::string format3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string hostname() {
  try {
    return sluice::system::hostname();
  } catch (const std::system_error&) {
    return "localhost";
  }
}

// The V columns of the table, counted as GNU counts them (the columns beyond its 11 own).
std::size_t v_columns(sql_connection& db, const std::string& table) {
  std::vector<sql_row> rows;
  if (db.is_postgresql()) {
    std::string schema, name = table;
    auto dot = table.find('.');
    if (dot != std::string::npos) schema = table.substr(0, dot), name = table.substr(dot + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    rows = db.exec("SELECT column_name FROM information_schema.columns WHERE table_name = ?" +
                       std::string(schema.empty() ? " AND table_schema = current_schema()" : " AND table_schema = ?"),
                   schema.empty() ? std::vector<sql_value>{name} : std::vector<sql_value>{name, schema});
  } else {
    rows = db.exec("SELECT name FROM pragma_table_info(?)", {table});
  }
  return rows.size() > 11 ? rows.size() - 11 : 0;
}

struct lease_lost {};

double lease_setting() {
  if (const char* e = std::getenv("SLUICE_SQL_LEASE")) {
    char* end = nullptr;
    double v = std::strtod(e, &end);
    if (end != e && *end == '\0' && v >= 0.5 && v <= 86400) return v;
  }
  return 30;
}

void create_lease_table(sql_connection& db, const std::string& lease_table) {
  db.exec("CREATE TABLE IF NOT EXISTS " + lease_table + " (Worker TEXT PRIMARY KEY, Host TEXT, Pid BIGINT, Expires FLOAT(44))");
}

}  // namespace

std::string gnu_encode_command(const std::vector<std::string>& words, bool utf8) {
  const markers mk(utf8);
  const std::string &k_sep = mk.sep, &k_open = mk.open, &k_close = mk.close;
  std::string out;
  for (std::size_t w = 0; w < words.size(); ++w) {
    if (w > 0) out += k_sep;
    const std::string& s = words[w];
    for (std::size_t i = 0; i < s.size();) {
      if (s[i] != '{') {
        out += s[i++];
        continue;
      }
      if (s.compare(i, 2, "{=") == 0) {
        auto e = s.find("=}", i + 2);
        if (e != std::string::npos) {
          out += k_open + s.substr(i + 2, e - i - 2) + k_close;
          i = e + 2;
          continue;
        }
      }
      if (s.compare(i, 3, "{#}") == 0 || s.compare(i, 3, "{%}") == 0) {
        out += k_open + (s[i + 1] == '#' ? k_seq_perl : k_slot_perl) + k_close;
        i += 3;
        continue;
      }
      std::size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      std::string digits = s.substr(i + 1, j - i - 1);
      auto close = s.find('}', j);
      bool done = false;
      if (close != std::string::npos && (digits.empty() || digits[0] != '0')) {
        std::string suffix = s.substr(j, close - j);
        for (const auto& k : known_rpls()) {
          if (suffix == k.suffix) {
            out += k_open + digits + k.perl + k_close;
            i = close + 1;
            done = true;
            break;
          }
        }
      }
      if (!done) out += s[i++];
    }
  }
  return out;
}

std::vector<std::string> gnu_decode_command(const std::string& encoded, bool utf8) {
  const markers mk(utf8);
  const std::string &k_sep = mk.sep, &k_open = mk.open, &k_close = mk.close;
  std::vector<std::string> words;
  std::size_t pos = 0;
  for (;;) {
    std::size_t next = encoded.find(k_sep, pos);
    std::string w = encoded.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    std::string out;
    for (std::size_t i = 0; i < w.size();) {
      if (w.compare(i, k_open.size(), k_open) == 0) {
        auto e = w.find(k_close, i + k_open.size());
        if (e != std::string::npos) {
          std::string perl = w.substr(i + k_open.size(), e - i - k_open.size());
          i = e + k_close.size();
          if (perl == k_seq_perl) {
            out += "{#}";
            continue;
          }
          if (perl == k_slot_perl) {
            out += "{%}";
            continue;
          }
          std::size_t d = 0;
          while (d < perl.size() && std::isdigit(static_cast<unsigned char>(perl[d]))) ++d;
          std::string digits = perl.substr(0, d), rest = perl.substr(d);
          bool mapped = false;
          for (const auto& k : known_rpls()) {
            if (rest == k.perl) {
              out += "{" + digits + k.suffix + "}";
              mapped = true;
              break;
            }
          }
          if (!mapped) out += "{=" + perl + "=}";
          continue;
        }
      }
      out += w[i++];
    }
    words.push_back(std::move(out));
    if (next == std::string::npos) break;
    pos = next + k_sep.size();
  }
  return words;
}

bool reclaim_expired(sql_connection& db, const std::string& table) {
  const std::string lease_table = table + "_sluice";
  return db.in_write_transaction([&] {
    auto dead = db.exec("DELETE FROM " + lease_table + " WHERE Expires < " + db.now_expr() + " RETURNING Worker");
    for (const auto& row : dead) {
      if (!row[0]) continue;
      db.exec("UPDATE " + table + " SET Exitval = -1000, Stdout = NULL, Stderr = NULL, Host = NULL"
              " WHERE Stdout = ? AND Exitval IN (-1210, -1220)",
              {std::string(k_claim_prefix) + *row[0]});
    }
    return !dead.empty();
  });
}

// ---- the worker -------------------------------------------------------------------------------------------

sql_worker::sql_worker(const config& cfg, const dburl& url) : cfg_(cfg), url_(url), replies_(0) {
  db_ = sql_connect(url_, false);
  table_ = *url_.table;
  lease_table_ = table_ + "_sluice";
  std::string where = url_.kind == dburl::engine::sqlite ? "the SQLite file " + url_.database.value_or("")
                                                         : "the PostgreSQL database " + url_.database.value_or("(default)");
  try {
    if (!db_->table_exists(table_))
      throw usage_error("the job table " + table_ + " does not exist in " + where + " (a --sqlmaster creates it)");
    v_count_ = v_columns(*db_, table_);
    utf8_ = db_->is_postgresql();
    create_lease_table(*db_, lease_table_);
    lease_seconds_ = lease_setting();
    host_ = hostname();
    std::random_device rd;
    char id[64];
    std::snprintf(id, sizeof id, "%s-%ld-%08x%08x", host_.substr(0, 30).c_str(), static_cast<long>(sluice::system::pid()), rd(), rd());
    worker_ = id;
    mark_ = k_claim_prefix + worker_;
    db_->exec("INSERT INTO " + lease_table_ + " (Worker, Host, Pid, Expires) VALUES (?, ?, ?, " + db_->now_expr() + " + ?)",
              {worker_, host_, std::to_string(sluice::system::pid()), format3(lease_seconds_)});
  } catch (const sql_error& e) {
    throw usage_error(where + ": " + e.what());
  }
}

sql_worker::~sql_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  replies_.shutdown(true);
  if (thread_.joinable()) thread_.join();
}

void sql_worker::start(std::function<void()> on_fatal) {
  on_fatal_ = std::move(on_fatal);
  thread_ = std::thread([this] { run(); });
}

std::string sql_worker::error() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void sql_worker::fail(const std::string& what, bool kill_jobs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.empty()) error_ = what;
    ended_ = true;
  }
  replies_.close();  // nothing more starts; the jobs running finish, unless
  if (kill_jobs && on_fatal_) on_fatal_();
}

aio::task<std::optional<job_args>> sql_worker::next() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ended_ && replies_.empty()) co_return std::nullopt;
    ++wanted_;
  }
  wake_.notify_all();
  std::optional<claimed> row;
  try {
    auto get = aio::get(replies_);
    row = co_await get;
  } catch (const sluice::queue_shut_down&) {
  }
  if (!row) co_return std::nullopt;
  auto it = templates_.find(row->command);
  if (it == templates_.end()) {
    auto c = std::make_unique<config>(cfg_);
    c->command = gnu_decode_command(row->command, utf8_);
    static const std::map<std::string, std::size_t> no_names;
    std::unique_ptr<command_template> t;
    try {
      t = std::make_unique<command_template>(*c, no_names);
    } catch (const std::exception& e) {
      // The row stays claimed and is released when the worker stops; nothing more starts.
      done(job_record{row->seq, 0, 0, 0, 0, 0, 0, {}}, {}, {}, true);
      fail("row " + std::to_string(row->seq) + ": " + e.what(), false);
      co_return std::nullopt;
    }
    it = templates_.emplace(row->command, std::make_pair(std::move(c), std::move(t))).first;
  }
  job_args a;
  a.seq = row->seq;
  a.records.push_back(std::move(row->values));
  a.tpl = it->second.second.get();
  co_return a;
}

void sql_worker::done(const job_record& r, std::string out, std::string err, bool release) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    results_.push_back(result{r, std::move(out), std::move(err), release});
  }
  wake_.notify_all();
}

void sql_worker::renew() {
  auto r = db_->exec("UPDATE " + lease_table_ + " SET Expires = " + db_->now_expr() + " + ? WHERE Worker = ? RETURNING Worker",
                     {format3(lease_seconds_), worker_});
  if (r.empty()) throw lease_lost();
}

std::optional<sql_worker::claimed> sql_worker::claim() {
  std::string cols = "Seq, Command";
  for (std::size_t i = 1; i <= v_count_; ++i) cols += ", V" + std::to_string(i);
  const std::string pick = db_->is_postgresql()
                               ? "SELECT Seq FROM " + table_ + " WHERE Exitval = -1000 ORDER BY Seq LIMIT 1 FOR UPDATE SKIP LOCKED"
                               : "SELECT min(Seq) FROM " + table_ + " WHERE Exitval = -1000";
  std::vector<sql_row> rows = db_->in_write_transaction([&] {
    renew();
    return db_->exec("UPDATE " + table_ + " SET Exitval = -1220, Stdout = ?, Host = ? WHERE Seq = (" + pick +
                         ") AND Exitval = -1000 RETURNING " + cols,
                     {mark_, host_});
  });
  if (rows.empty()) return std::nullopt;
  claimed c;
  c.seq = static_cast<std::size_t>(std::strtoull(rows[0][0].value_or("0").c_str(), nullptr, 10));
  c.command = rows[0][1].value_or("");
  for (std::size_t i = 2; i < rows[0].size(); ++i) c.values.push_back(rows[0][i].value_or(""));
  return c;
}

// No row left to run, and none held by another sluice worker (whose death would put it back).
bool sql_worker::nothing_left() {
  auto r = db_->exec("SELECT count(*) FROM " + table_ + " WHERE Exitval = -1000 OR (Exitval IN (-1210, -1220) AND Stdout LIKE '" +
                         std::string(k_claim_prefix) + "%' AND Stdout <> ?)",
                     {mark_});
  return !r.empty() && r[0][0].value_or("0") == "0";
}

void sql_worker::write_results(std::deque<result>& batch) {
  if (batch.empty()) return;
  std::vector<std::size_t> lost;
  db_->in_write_transaction([&] {
    for (const result& x : batch) {
      std::vector<sql_row> rows;
      if (x.release) {
        rows = db_->exec("UPDATE " + table_ + " SET Exitval = -1000, Stdout = NULL, Stderr = NULL, Host = NULL"
                             " WHERE Seq = ? AND Stdout = ? AND Exitval = -1220 RETURNING Seq",
                         {std::to_string(x.rec.seq), mark_});
        continue;
      }
      rows = db_->exec("UPDATE " + table_ + " SET Host = ?, Starttime = ?, JobRuntime = ?, Send = ?, Receive = ?, Exitval = ?,"
                           " _Signal = ?, Command = ?, Stdout = ?, Stderr = ? WHERE Seq = ? AND Stdout = ? AND Exitval = -1220"
                           " RETURNING Seq",
                       {host_, format3(x.rec.start_time), format3(x.rec.runtime), std::to_string(x.rec.send),
                        std::to_string(x.rec.receive), std::to_string(x.rec.exitval), std::to_string(x.rec.signal),
                        x.rec.command, x.out, x.err, std::to_string(x.rec.seq), mark_});
      if (rows.empty()) lost.push_back(x.rec.seq);
    }
  });
  batch.clear();
  for (std::size_t seq : lost) {
    std::string m = named("sluice: Warning: job " + std::to_string(seq) + " ran, but its row had been given to another worker: its result was not written to the table\n");
    write_all(2, m.data(), m.size());
  }
}

void sql_worker::run() {
  using clock = std::chrono::steady_clock;
  const auto beat = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(lease_seconds_ / 4));
  const auto poll = std::chrono::milliseconds(200);
  auto next_beat = clock::now() + beat;
  auto next_poll = clock::now();
  bool broken = false;
  for (;;) {
    std::deque<result> batch;
    int wanted = 0;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      auto ready = [&] { return stopping_ || !results_.empty() || (wanted_ > 0 && !ended_ && clock::now() >= next_poll); };
      auto until = std::min(next_beat, wanted_ > 0 && !ended_ ? next_poll : next_beat);
      wake_.wait_until(lock, until, ready);
      batch.swap(results_);
      wanted = ended_ ? 0 : wanted_;
      stopping = stopping_;
    }
    if (broken) {
      if (stopping) return;
      continue;
    }
    try {
      write_results(batch);
      if (clock::now() >= next_beat) {
        db_->in_write_transaction([&] { renew(); });
        reclaim_expired(*db_, table_);
        next_beat = clock::now() + beat;
      }
      while (wanted > 0 && !stopping) {
        auto row = claim();
        if (!row) {
          // Nothing pending: free what dead workers hold, then either wait for more or end.
          if (reclaim_expired(*db_, table_)) continue;
          if (nothing_left()) {
            {
              std::lock_guard<std::mutex> lock(mutex_);
              ended_ = true;
            }
            replies_.close();
          }
          next_poll = clock::now() + poll;
          break;
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          --wanted_;
        }
        --wanted;
        replies_.put(std::move(*row));
      }
      if (stopping) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (results_.empty()) return;
      }
    } catch (const sluice::queue_shut_down&) {
      return;
    } catch (const lease_lost&) {
      // Another process saw this worker silent past its lease and gave its rows to others: its jobs must go.
      broken = true;
      fail("this worker's lease on " + table_ + " expired (no heartbeat for " + format3(lease_seconds_) +
               " s) and its rows went back to the queue: its running jobs were killed",
           true);
    } catch (const std::exception& e) {
      broken = true;
      fail(std::string("the job table ") + table_ + ": " + e.what(), false);
    }
  }
}

void sql_worker::finish_all() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    ended_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  replies_.shutdown(false);
  if (!error().empty()) return;
  try {
    // Claimed but never started (a halt or signal stopped the loop first): back to the table.
    while (auto row = replies_.try_get()) {
      db_->exec("UPDATE " + table_ + " SET Exitval = -1000, Stdout = NULL, Host = NULL WHERE Seq = ? AND Stdout = ? AND Exitval = -1220",
                {std::to_string(row->seq), mark_});
    }
    std::deque<result> rest;
    rest.swap(results_);
    write_results(rest);
    db_->exec("DELETE FROM " + lease_table_ + " WHERE Worker = ?", {worker_});
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.empty()) error_ = std::string("the job table ") + table_ + ": " + e.what();
  }
}

// ---- the master -------------------------------------------------------------------------------------------

namespace {

aio::task<std::vector<job_args>> collect_jobs(feeder& f) {
  std::vector<job_args> out;
  for (;;) {
    auto n = f.next();
    std::optional<job_args> a = co_await n;
    if (!a) break;
    out.push_back(std::move(*a));
  }
  co_return out;
}

void fill_table(config& cfg, sql_connection& db, const dburl& url) {
  const std::string table = *url.table;
  input_reader in(cfg);
  command_template tpl(cfg, in.header_names());  // checks the template as a local run would
  feeder f(cfg, &in, nullptr, &tpl);
  f.preload();
  std::vector<job_args> jobs = aio::run(collect_jobs(f));
  if (!f.error().empty()) throw usage_error(f.error());
  std::size_t values = 1;
  for (const auto& j : jobs) {
    std::size_t n = 0;
    for (const auto& r : j.records) n += r.size();
    values = std::max(values, n);
  }
  std::size_t seq_base = 0;
  bool exists = url.append && db.table_exists(table);
  if (exists) {
    std::size_t have = v_columns(db, table);
    if (have < values)
      throw usage_error("the job table " + table + " has " + std::to_string(have) + " V columns; these jobs need " + std::to_string(values));
    values = have;
    auto r = db.exec("SELECT max(Seq) FROM " + table);
    if (!r.empty() && r[0][0]) seq_base = static_cast<std::size_t>(std::strtoull(r[0][0]->c_str(), nullptr, 10));
  } else {
    db.exec("DROP TABLE IF EXISTS " + table);
    std::string v_def;
    for (std::size_t i = 1; i <= values; ++i) v_def += "V" + std::to_string(i) + " TEXT, ";
    db.exec("CREATE TABLE " + table +
            " (Seq BIGINT, Host TEXT, Starttime FLOAT(44), JobRuntime FLOAT(44), Send BIGINT, Receive BIGINT,"
            " Exitval BIGINT, _Signal BIGINT, Command TEXT, " + v_def + "Stdout TEXT, Stderr TEXT)");
    db.exec("DROP TABLE IF EXISTS " + table + "_sluice");
  }
  create_lease_table(db, table + "_sluice");
  const std::string command = gnu_encode_command(cfg.command, db.is_postgresql());
  std::string cols = "Seq, Command, Exitval, Send", marks = "?, ?, -1000, 0";
  for (std::size_t i = 1; i <= values; ++i) cols += ", V" + std::to_string(i), marks += ", ?";
  const std::string insert = "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ")";
  db.in_write_transaction([&] {
    for (const auto& j : jobs) {
      std::vector<sql_value> p{std::to_string(seq_base + j.seq), command};
      for (const auto& r : j.records)
        for (const auto& v : r) p.emplace_back(v);
      while (p.size() < values + 2) p.emplace_back(std::nullopt);
      db.exec(insert, p);
    }
  });
}

}  // namespace

int run_sql(config& cfg) {
  int status = 0;
  std::unique_ptr<sql_connection> db;
  std::optional<dburl> master_url;
  if (cfg.sql_master) {
    master_url = parse_dburl(*cfg.sql_master);
    db = sql_connect(*master_url, true);
    try {
      fill_table(cfg, *db, *master_url);
    } catch (const sql_error& e) {
      throw usage_error(*cfg.sql_master + ": " + e.what());
    }
  }
  if (cfg.sql_worker) {
    dburl u = parse_dburl(*cfg.sql_worker);
    u.append = false;
    sql_worker w(cfg, u);
    status = run_jobs(cfg, &w);
    if (!w.error().empty()) {
      std::string m = named("sluice: " + w.error() + "\n");
      write_all(2, m.data(), m.size());
      status = 255;
    }
  }
  if (cfg.sql_wait && db) {
    const std::string table = *master_url->table;
    try {
      for (;;) {
        reclaim_expired(*db, table);
        auto r = db->exec("SELECT count(*) FROM " + table + " WHERE Exitval <= -1000");
        if (!r.empty() && r[0][0].value_or("1") == "0") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (!cfg.sql_worker) {
        auto f = db->exec("SELECT count(*) FROM " + table + " WHERE Exitval <> 0 OR _Signal <> 0");
        std::size_t failed = f.empty() ? 0 : std::strtoull(f[0][0].value_or("0").c_str(), nullptr, 10);
        status = static_cast<int>(std::min<std::size_t>(failed, 101));
      }
    } catch (const sql_error& e) {
      throw usage_error(*cfg.sql_master + ": " + e.what());
    }
  }
  return status;
}

}  // namespace sluice::app
