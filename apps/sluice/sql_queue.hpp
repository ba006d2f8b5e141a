// The SQL job queue: --sqlmaster fills a table in GNU parallel's layout, --sqlworker runs its rows, and
// --sqlandworker does both; --wait makes the master return once every row is done or failed. GNU's masters
// and workers can share the table with sluice's.
//
// The table is GNU's: Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, _Signal, Command, V1..Vn,
// Stdout, Stderr. Exitval -1000 is a row to run, -1210/-1220 a row a worker holds, anything else a result.
// Command holds the command words joined by "\257 " with each replacement string as "\257<perl\257>", as
// GNU writes it; sluice translates both ways (gnu_encode_command / gnu_decode_command).
//
// Claims and leases (beyond GNU): a sluice worker registers in a companion table <table>_sluice (Worker, Host,
// Pid, Expires) and renews its row there every lease/4 (SLUICE_SQL_LEASE seconds, 30 by default), on the
// database's clock. A claim is one transaction: renew the lease, then take the lowest pending row
// (SQLite: one UPDATE ... RETURNING; PostgreSQL: FOR UPDATE SKIP LOCKED), marking it -1220 with
// Stdout = "Reserved-sluice:<worker>", the way GNU marks its own claims. Any sluice process (worker or
// waiting master) that sees an expired lease deletes it and puts that worker's rows back to -1000 in the same
// transaction, so each death frees each row once; a worker that finds its own lease gone kills its jobs and
// stops, and every result is written only where the row still carries the writer's mark. The main table keeps
// GNU's columns exactly (GNU counts the V columns from SELECT *), so GNU's readers see nothing new; rows
// claimed by GNU's own workers are never taken back (they have no lease).
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sluice/aio.hpp>
#include <sluice/queue.hpp>

#include "compose.hpp"
#include "config.hpp"
#include "dburl.hpp"
#include "records.hpp"
#include "sql_db.hpp"

namespace sluice::app {

// GNU's encoding of a command in the Command column, and back. Replacement strings sluice knows ({}, {.},
// {/}, {//}, {/.}, {#}, {%}, their {N...} forms, {= perl =}) become GNU's Perl forms; decoding maps those
// back and leaves any other Perl expression as {= perl =}.
// GNU's marker byte is Perl's "\257": the byte 0xAF in SQLite, and U+00AF (UTF-8: C2 AF) in PostgreSQL,
// where DBD::Pg encodes it (pass utf8 = true there).
std::string gnu_encode_command(const std::vector<std::string>& words, bool utf8);
std::vector<std::string> gnu_decode_command(const std::string& encoded, bool utf8);

// The worker side: a thread owns the connection, claims rows when the job loop asks, heartbeats the lease and
// writes results back (batched). Construction connects and checks the table (throws usage_error); start()
// starts the thread; the rest belongs to the job loop's thread.
class sql_worker {
 public:
  sql_worker(const config& cfg, const dburl& url);
  sql_worker(const sql_worker&) = delete;
  sql_worker& operator=(const sql_worker&) = delete;
  ~sql_worker();

  // on_fatal is called (from the worker's thread) when the lease was lost: the running jobs must be killed. A
  // database error only ends the input (the running jobs finish; their results are not written).
  void start(std::function<void()> on_fatal);
  // The next row to run, as a job; nullopt when no row is left (or after an error: see error()). A wait that
  // is cancelled leaves its claim, if one arrives, to be released by finish_all().
  aio::task<std::optional<job_args>> next();
  // A job's final attempt ended: its result goes to its row. `release` puts the row back to be run again.
  void done(const job_record& r, std::string out, std::string err, bool release);
  // Writes what is pending, releases rows claimed but never started, leaves the lease table; joins the thread.
  void finish_all();
  std::string error();

 private:
  struct claimed {
    std::size_t seq = 0;
    std::string command;
    std::vector<std::string> values;
  };
  struct result {
    job_record rec;
    std::string out, err;
    bool release = false;
  };
  void run();
  void write_results(std::deque<result>& batch);
  std::optional<claimed> claim();
  bool nothing_left();
  void renew();
  void fail(const std::string& what, bool kill_jobs);

  const config& cfg_;
  dburl url_;
  std::unique_ptr<sql_connection> db_;
  std::string table_, lease_table_, worker_, mark_, host_;
  std::size_t v_count_ = 0;
  bool utf8_ = false;  // PostgreSQL: GNU's markers are UTF-8 there
  double lease_seconds_ = 30;
  std::function<void()> on_fatal_;
  std::thread thread_;
  sluice::queue<claimed> replies_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<result> results_;
  int wanted_ = 0;
  bool stopping_ = false;
  bool ended_ = false;
  std::string error_;
  // Loop side: one template per distinct Command (normally one), each with its own copy of the settings.
  std::map<std::string, std::pair<std::unique_ptr<config>, std::unique_ptr<command_template>>> templates_;
};

// --sqlmaster / --sqlandworker / --wait: fills the table, runs a worker when asked, waits when asked.
int run_sql(config& cfg);

// Expires leases whose holder stopped renewing and frees their rows (one transaction); true if any.
bool reclaim_expired(sql_connection& db, const std::string& table);

}  // namespace sluice::app
