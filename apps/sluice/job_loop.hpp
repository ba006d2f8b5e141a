// The job loop's shared state, private to apps/sluice: one attempt of a job, and the runner whose tasks
// (runner.cpp: feeding, ordering output, halting, signals; job.cpp: one job from spawn to exit) share it.
// Everything here runs on the loop's thread.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sluice/aio.hpp>
#include <sluice/subprocess.hpp>

#include "compose.hpp"
#include "config.hpp"
#include "feeder.hpp"
#include "input.hpp"
#include "output.hpp"
#include "pipe_mode.hpp"
#include "progress.hpp"
#include "records.hpp"
#include "sql_queue.hpp"

namespace sluice::app {

using clock_type = std::chrono::steady_clock;

// One attempt of one job. Owned by its job task; the runner's lists only point at it while it runs.
struct job {
  job_args args;
  std::size_t order = 0;  // position in output order (-k)
  unsigned attempt = 1;
  std::size_t slot = 0;
  composed_command cmd;
  std::optional<aio::process> proc;
  std::size_t block_bytes = 0;  // --pipe: the block's size, the joblog's Send even if the job stopped reading
  spool out;
  spool err;
  std::size_t received = 0;
  double start_epoch = 0;
  clock_type::time_point start{};
  bool killing = false;
  bool killed_by_us = false;
  bool timed_out = false;
  bool exited = false;
  int returncode = 0;
  std::string tag;
  bool skipped = false;  // {= skip() =}
  aio::handle<void> killer;  // the --term-seq task, once a kill began
};

// Cancels a helper task unless it already ended, and waits for it; its cancellation is no error.
aio::task<void> settle(aio::handle<void> h);

class runner {
 public:
  explicit runner(config& cfg, sql_worker* sql = nullptr) : cfg_(cfg), sql_(sql) {}
  int run();

 private:
  // The tasks of the job loop.
  aio::task<int> loop_main();
  aio::task<void> feed();
  aio::task<void> job_task(std::unique_ptr<job> j);
  aio::task<void> execute(job& j);
  aio::task<void> pump(job& j, aio::stream_reader& r, spool& s, bool is_out);
  aio::task<void> term_sequence(job& j);
  aio::task<void> forward_output();
  aio::task<void> tick_progress();

  void start(job_args args, unsigned attempt, std::size_t order);
  std::unique_ptr<job> prepare(job_args args, unsigned attempt, std::size_t order);
  sluice::options spawn_options(const job& j);
  void drain(job& j, aio::stream_reader& r, spool& s, bool is_out);
  bool finish(job& j);
  void begin_kill(job& j, bool by_us);
  void kill_now(job& j);
  void signal_group(job& j, int sig);
  void interrupt();
  void stop_starting();
  void deliver(job& j, bool final);
  void flush_ordered();
  void hold(std::size_t order, output_chunk c);
  void emit_chunk(output_chunk c);
  std::size_t take_slot();
  void release_slot(std::size_t s);
  void note_halt(const job& j, bool failed);
  std::optional<double> timeout_for_job() const;

  config& cfg_;
  sql_worker* sql_ = nullptr;  // --sqlworker: jobs come from the table, results go back to it
  std::unique_ptr<input_reader> input_;
  std::unique_ptr<block_reader> blocks_;
  std::unique_ptr<command_template> tpl_;
  std::unique_ptr<feeder> feed_;
  std::unique_ptr<output_writer> writer_;
  std::unique_ptr<joblog> joblog_;
  std::unique_ptr<results_writer> results_;
  std::unique_ptr<progress_meter> progress_;
  std::vector<job*> running_;  // spawned and not yet finished
  std::size_t active_ = 0;     // job tasks alive (running, or between a failed attempt and its retry)
  aio::event changed_;         // a job ended or the output backlog shrank: the feeder may start more
  aio::handle<void> feeder_task_;
  std::deque<output_chunk> outbox_;  // finished output, in print order, for forward_output
  aio::event outbox_ready_;
  bool outbox_closed_ = false;
  std::exception_ptr fatal_;  // an error of the runner itself (not of a job), rethrown once all is stopped
  std::vector<std::size_t> free_slots_;
  std::size_t max_slot_ = 0;
  std::size_t total_ = 0;
  bool total_known_ = false;
  std::size_t next_order_ = 0;
  std::size_t print_order_ = 0;  // -k: the next order to print
  std::map<std::size_t, output_chunk> held_;  // -k: finished but not yet printable
  std::size_t held_memory_ = 0;               // bytes of held_ kept in memory
  std::map<std::size_t, job*> live_;          // -k --line-buffer: running jobs by order
  bool input_done_ = false;
  bool stop_starting_ = false;
  bool interrupted_ = false;
  int final_status_ = 0;
  std::optional<int> halt_status_;
  std::size_t failed_ = 0;
  std::size_t succeeded_ = 0;
  std::size_t completed_ = 0;
  std::size_t started_ = 0;
  std::vector<double> runtimes_;  // successful runtimes, for --timeout N%
  std::optional<sluice::environment> base_env_;
  bool first_job_gets_stdin_ = false;
};

}  // namespace sluice::app
