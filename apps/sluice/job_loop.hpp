// The job loop's shared state, private to apps/sluice: one attempt of a job, and the runner whose tasks
// (runner.cpp: feeding, ordering output, halting, signals; job.cpp: one job from spawn to exit) share it.
// Everything here runs on the loop's thread.
#pragma once
#include <atomic>
#include <thread>
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
#include <sluice/system.hpp>

#include "compose.hpp"
#include "templates.hpp"
#include "config.hpp"
#include "feeder.hpp"
#include "input.hpp"
#include "latest_line.hpp"
#include "output.hpp"
#include "pipe_mode.hpp"
#include "progress.hpp"
#include "records.hpp"
#include "remote.hpp"
#include "sql_queue.hpp"
#include "tmux.hpp"

namespace sluice::app {

using clock_type = std::chrono::steady_clock;

// One attempt of one job. Owned by its job task; the runner's lists only point at it while it runs.
struct job {
  job_args args;
  std::size_t order = 0;  // position in output order (-k)
  unsigned attempt = 1;
  unsigned attempts = 1;  // --retries: how many it may have (UINT_MAX: until one succeeds)
  std::size_t slot = 0;
  composed_command cmd;
  std::optional<aio::process> proc;
  std::size_t block_bytes = 0;  // --pipe: the block's size, the joblog's Send even if the job stopped reading
  std::shared_ptr<std::atomic<std::size_t>> dealt_bytes;  // --round-robin: the later blocks dealt to it (Send)
  spool out;
  spool err;
  std::size_t received = 0;
  double start_epoch = 0;
  clock_type::time_point start{};
  bool killing = false;
  bool killed_by_us = false;
  bool timed_out = false;
  bool abandoned = false;  // killed by an interrupt or --halt now: not recorded, so --resume runs it again
  bool exited = false;
  bool suspended = false;  // --memsuspend: stopped (SIGSTOP to its group) until memory is free again
  int returncode = 0;
  std::string tag;
  std::string cat_file;  // --cat: the block's temp file, removed when the attempt ends
  std::string status_fifo;  // --tmux: where the window's shell writes the status (removed when the attempt ends)
  std::vector<std::string> template_copies;  // --template: the files written for it (--cleanup removes them)
  std::string color;  // --color: the escape that starts each of its lines
  bool skipped = false;  // {= skip() =}
  aio::handle<void> killer;  // the --term-seq task, once a kill began
  // -S: the host it runs on (an index into remote_hosts) and its slot there; its joblog Host name.
  std::optional<std::size_t> host;
  std::size_t host_slot = 0;
  std::string host_name = ":";
  std::string workdir;  // --workdir as resolved for this job (remote)
  std::string local_workdir;  // --workdir on this machine: the job's working directory (made before it runs)
  bool in_session = false;  // runs through its slot's ssh session (no local process; see remote_session.cpp)
};

// Cancels a helper task unless it already ended, and waits for it; its cancellation is no error.
aio::task<void> settle(aio::handle<void> h);
// Now, in seconds since the epoch (a joblog's Starttime).
double epoch_now();

class runner {
 public:
  explicit runner(config& cfg, sql_worker* sql = nullptr) : cfg_(cfg), sql_(sql) {}
  int run();

 private:
  // The steps of run(), in order.
  std::optional<int> open_inputs();  // a value: the run ends here with that status
  void set_up_jobs();
  void count_jobs();
  void release_inputs();
  int exit_status() const;
  // -D: a line on stderr when its category (init, run) or all was asked for.
  void debug_line(std::string_view category, const std::string& text) const;
  // --tee, --shard: the thread that reads the blocks for them (pipe_input.cpp), and its end.
  void start_tee_reader();
  void start_shard_reader();
  // --cat whose block reaches the job on stdin as it runs (--tee, --shard, --bin): its shell writes the file.
  bool streamed_cat() const { return cfg_.cat && (cfg_.tee || cfg_.shard); }
  void deal_to_every_slot();             // --shard: pads the jobs to one per slot, starts the reader
  std::string all_at_once_error() const;  // --shard / --bin with more jobs than slots, in GNU's words
  void stop_pipe_reader();

  // The tasks of the job loop.
  aio::task<int> loop_main();
  aio::task<void> feed();
  aio::task<void> job_task(std::unique_ptr<job> j);
  aio::task<void> execute(job& j);
  aio::task<void> pump(job& j, aio::stream_reader& r, spool& s, bool is_out);
  aio::task<void> term_sequence(job& j);
  aio::task<void> forward_output();
  aio::task<void> tick_progress();
  aio::task<void> throttle();
  aio::task<void> watch_memory();
  aio::task<void> watch_limit();                      // --limit: exit 2 kills the youngest job
  aio::task<int> run_limit();                          // --limit: the command's exit status
  aio::task<double> disk_busy_percent();               // --limit io: the busiest disk's utilisation
  void suspend_for_memory();
  void kill_youngest();  // --memfree, --limit: the running job with the highest Seq, by --term-seq                           // --memsuspend
  bool ask_user(const std::string& command);           // -p: the terminal's answer
  // --round-robin: one job's further blocks (`framed` for a remote job: see frame_block).
  aio::task<void> deal_blocks(aio::stream_writer w, bool framed, std::shared_ptr<std::atomic<std::size_t>> dealt);
  aio::task<void> tee_input();                        // --tee: the whole input to every job

  void start(job_args args, unsigned attempt, std::size_t order);
  void warn_fd_cap();  // the descriptor limit caps -j (GNU's warning, once)
  std::unique_ptr<job> prepare(job_args args, unsigned attempt, std::size_t order);
  sluice::options spawn_options(const job& j);
  void drain(job& j, aio::stream_reader& r, spool& s, bool is_out);
  bool finish(job& j);
  void begin_kill(job& j, bool by_us);
  void abandon(job& j);
  bool already_in_results(const job_args& a);
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

  // Remote hosts (remote_jobs.cpp).
  aio::task<bool> connect_hosts();           // false when no host answered (the status is then 255)
  void assign_host(job& j);                  // from prepare(): the job's host and slot there
  bool remote_job(const job& j) const;
  std::vector<std::string> remote_argv(job& j);
  std::vector<std::pair<std::string, std::string>> remote_exports(const job& j);
  bool sessions_wanted() const;              // remote jobs of this run go through slot sessions
  bool use_session(const job& j) const;       // the slot's session rather than an ssh of its own
  aio::task<void> execute_in_session(job& j);  // execute() for such a job
  aio::task<bool> requeue_if_lost(job& j);   // its host died: logged, freed, a slot waited for; true
  aio::task<void> start_on_all(job_args a);  // --onall / --nonall: the job once on every host
  aio::task<void> take_hostgroups(job_args& a);  // --hostgroups: strips every argument's @grp, keeps the first's
  aio::task<void> transfer_files(job& j);    // --transferfile, before the job
  aio::task<void> return_files(job& j);      // --return and --cleanup, after it
  aio::task<bool> run_local_shell(job& j, std::string command);  // by value: the task outlives the call

  // --sqlworker: the worker's jobs must not outlive it, even when it dies by SIGKILL (its rows are then run again
  // elsewhere). Each job's shell gets SIGKILL as its parent-death signal, and a watcher started once (a tiny sh
  // reading "+PGID"/"-PGID" lines) kills every group still listed when its stdin hits end of file, which is when
  // this process is gone.
  void start_group_watcher();
  void watch_group(char op, pid_t pgid) noexcept;

  config& cfg_;
  sql_worker* sql_ = nullptr;  // --sqlworker: jobs come from the table, results go back to it
  std::optional<sluice::process> group_watcher_;
  std::unique_ptr<input_reader> input_;
  std::unique_ptr<block_reader> blocks_;
  std::unique_ptr<command_template> tpl_;
  std::vector<job_template> templates_;  // --template
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
  std::size_t job_limit_ = 0;  // -j FILE: what the file said when a job last ended (0: cfg_.jobs)
  std::size_t total_ = 0;
  bool total_known_ = false;
  std::size_t next_order_ = 0;
  std::size_t print_order_ = 0;  // -k: the next order to print
  std::string closing_error_;  // printed after every job's output (a command line too long)
  std::size_t cut_order_ = SIZE_MAX;  // -k: the first job killed because everything stopped (output ends there)
  std::map<std::size_t, output_chunk> held_;  // -k: finished but not yet printable
  std::size_t held_memory_ = 0;               // bytes of held_ kept in memory
  std::map<std::size_t, std::pair<std::string, std::string>> held_records_;  // -k: --results x.csv records by order
  std::map<std::size_t, job*> live_;          // -k --line-buffer: running jobs by order
  bool input_done_ = false;
  bool stop_starting_ = false;
  bool fd_cap_warned_ = false;  // "Only enough file handles" said once
  bool interrupted_ = false;
  bool warned_results_resume_ = false;
  int final_status_ = 0;
  std::optional<int> halt_status_;
  std::size_t failed_ = 0;
  std::size_t succeeded_ = 0;
  std::size_t completed_ = 0;
  std::size_t started_ = 0;
  std::vector<double> runtimes_;  // successful runtimes, for --timeout N%
  bool first_job_gets_stdin_ = false;
  std::optional<clock_type::time_point> last_start_;  // --delay
  double delay_ = 0;                                   // --delay, as --delay auto adapted it
  std::unique_ptr<remote_hosts> remote_;
  std::unique_ptr<latest_line_display> latest_;  // --latest-line
  std::optional<tmux_session> tmux_;                 // --tmux, --tmuxpane
  std::optional<sluice::process> tmux_attach_;       // --tmux --fg: attached once the first window opens
  std::vector<std::string> tmux_argv(job& j);        // the job's wrapper; the first one tells how to watch
  bool tmux_hint_shown_ = false;
  void show_latest(std::string text);
  sluice::fd tty_;  // -o, --tty, -p: the controlling terminal, when there is one
  std::optional<std::pair<double, double>> swap_seen_;  // --noswap: pswpin, pswpout when last read
  clock_type::time_point swap_seen_at_{};
  bool swapping_ = false;
  // --limit "io N": the disks' busy time when last read, to measure their utilisation since.
  std::optional<std::vector<sluice::system::disk_counter>> disks_seen_;
  clock_type::time_point disks_seen_at_{};
  double disk_busy_percent_ = 0;
  std::optional<std::size_t> pin_;
  std::vector<aio::handle<void>> dealers_;  // --round-robin: the deal_blocks tasks
  std::size_t live_dealers_ = 0;
  std::vector<aio::stream_writer> held_writers_;  // remote --round-robin jobs' stdin after their last block
  // --tee / --shard / --bin: a job's stdin, fed by tee_input.
  struct tee_writer {
    aio::stream_writer in;
    std::size_t seq;  // the job's seq (--shard/--bin: its part is seq - 1)
    bool framed;      // a remote job's: blocks go framed (frame_block)
  };
  std::vector<tee_writer> tee_writers_;
  aio::task<void> send_block(tee_writer& t, const std::string& block);
  std::size_t tee_started_ = 0;                  // --tee: jobs started (or failed to)
  aio::event tee_ready_;
  std::unique_ptr<sluice::queue<std::string>> tee_blocks_;  // --tee: the blocks, from tee_thread_
  // --shard / --bin: each block dealt out, a part per job (index = the job's seq - 1), from tee_thread_
  std::unique_ptr<sluice::queue<std::vector<std::string>>> shard_blocks_;
  std::thread tee_thread_;
  // Set by tee_thread_ once it has read all its input; shared, since a detached tee_thread_ may outlive the runner.
  std::shared_ptr<std::atomic<bool>> tee_read_all_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace sluice::app
