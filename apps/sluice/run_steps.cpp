// A run of the job runner, step by step (see job_loop.hpp): its inputs opened, the command template and the
// outputs set up, the jobs counted where something needs the total, the loop run, the inputs released and
// the exit status worked out. The loop itself: runner.cpp.
#include "runner.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>

#include "job_loop.hpp"
#include "slurm.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {
// Objects a detached input thread still uses at exit (see runner::release_inputs); a global keeps them reachable.
void* g_abandoned[4];
}  // namespace

// Opens the inputs: the arguments' sources, --pipe's block reader. A value is the exit status of a run that
// ends here, before any job.
std::optional<int> runner::open_inputs() {
  if (cfg_.tee) {
    // --tee: the jobs come from the arguments (none when there are only the default stdin), and every one
    // of them reads all of stdin.
    if (cfg_.pipe_part) throw usage_error("--tee with --pipe-part is not implemented in sluice");
    if (cfg_.sources.size() == 1 && cfg_.sources[0].type == input_source::kind::standard_input) return 0;
  }
  if (cfg_.pipe) blocks_ = std::make_unique<block_reader>(cfg_, 0);
  if (cfg_.dry_run && cfg_.round_robin && !cfg_.tee && !cfg_.pipe_part) {
    // GNU parallel 20221122 runs no job and prints nothing here; it dies of SIGPIPE when there is input.
    return blocks_->next() ? 128 + SIGPIPE : 0;
  }
  if (cfg_.pipe && !cfg_.tee && !cfg_.shard) {
  } else if (!sql_) {
    input_ = std::make_unique<input_reader>(cfg_);
    bool any_file = false;
    for (const auto& s : cfg_.sources)
      if (s.type == input_source::kind::file) any_file = true;
    first_job_gets_stdin_ = any_file && !input_->reads_stdin();
  }
  return std::nullopt;
}

// The command template and where each job's records and output go.
void runner::set_up_jobs() {
  static const std::map<std::string, std::size_t> no_names;
  tpl_ = std::make_unique<command_template>(cfg_, input_ ? input_->header_names() : no_names);
  templates_ = load_templates(cfg_);
  if (cfg_.compress && cfg_.output != output_mode::ungroup) {
    spool::compress_program = cfg_.compress_program;
    spool::decompress_program = cfg_.decompress_program;
  }
  if (cfg_.open_tty || cfg_.interactive) tty_ = sluice::open_terminal();
  if (cfg_.tmux && (!cfg_.sshlogins.empty() || !cfg_.sshloginfiles.empty() || cfg_.slurm || sql_))
    throw usage_error("--tmux is not implemented with -S, --slurm or an SQL job queue in sluice");
  if (cfg_.tmux && !cfg_.dry_run) {
    tmux_ = make_tmux_session();
    tmux_->panes = cfg_.tmux_panes;
  }
  if (cfg_.interactive && !tty_ && !cfg_.dry_run)
    throw usage_error("-p/--interactive asks on the terminal, and there is none (/dev/tty cannot be opened)");
  joblog_ = std::make_unique<joblog>(cfg_);
  results_ = std::make_unique<results_writer>(cfg_);
  if (input_) results_->set_column_names(input_->header_names());
  feed_ = std::make_unique<feeder>(cfg_, input_.get(), cfg_.tee || cfg_.shard ? nullptr : blocks_.get(), tpl_.get());
  if (!cfg_.sshlogins.empty() || !cfg_.sshloginfiles.empty()) remote_ = std::make_unique<remote_hosts>(cfg_);
  if (sql_) start_group_watcher();
}

// The number of jobs, read ahead when something needs it (--bar, --eta, {##}, --halt N%, --tee, --shard), and
// the feeder or the --tee/--shard reading thread started.
void runner::count_jobs() {
  const bool need_total = cfg_.bar || cfg_.eta || tpl_->uses_total() || (cfg_.halt.percent && cfg_.halt.when != halt_when::never) ||
                          (cfg_.onall && cfg_.keep_order);  // -k --onall prints host by host (start_on_all)
  if (cfg_.total_jobs) {
    total_ = *cfg_.total_jobs;
    total_known_ = true;
  }
  if (sql_) {
    // Started by loop_main: the rows are claimed one by one as slots free up.
  } else if (cfg_.tee && cfg_.dry_run) {
    // As GNU: the fifos its tee would write to, by name only, then the jobs' commands.
    total_ = feed_->preload();
    total_known_ = true;
    std::string names;
    for (std::size_t k = 0; k < total_; ++k) names += " " + temp_name("fif");
    std::string text = "mkfifo" + names + "\ntee --output-error=warn-nopipe" + names + " >/dev/null &\n";
    write_all(1, text.data(), text.size());
  } else if (cfg_.tee) {
    total_ = feed_->preload();
    total_known_ = true;
    // With -S the check waits for every host's slots (connect_hosts).
    if ((!remote_ || cfg_.dry_run) && total_ > cfg_.jobs) {
      if (cfg_.jobs_fd_capped) warn_fd_cap();  // (-j0 was cut down by the descriptor limit: GNU says so first)
      throw usage_error("Error: --tee requires --jobs to be higher. Try --jobs 0.");
    }
    start_tee_reader();
  } else if (!cfg_.all_at_once.empty()) {
    // --shard / --bin: every job at once (a job per command line, padded to one per slot); a thread deals each
    // line to the job its key picks. Under --pipe-part the file's parts are the jobs, and only the check applies.
    // With -S the slots are every host's, known once the hosts are logged in to (see connect_hosts).
    total_ = feed_->preload();
    total_known_ = true;
    const bool slots_known = !remote_ || cfg_.dry_run;
    if (slots_known && total_ > cfg_.jobs) throw usage_error(all_at_once_error());
    if (slots_known) deal_to_every_slot();
  } else if (need_total && !total_known_ && !cfg_.round_robin) {
    total_ = feed_->preload();
    total_known_ = true;
  } else {
    feed_->start();
  }
}

// --shard: a job for every slot (the arguments' jobs padded with argument-less ones), and the thread that deals
// each line to the job its key picks.
void runner::deal_to_every_slot() {
  if (!cfg_.shard) return;
  feed_->pad_to(cfg_.jobs);
  total_ = cfg_.jobs;
  if (!cfg_.dry_run) start_shard_reader();
}

std::string runner::all_at_once_error() const {
  return "Error: " + cfg_.all_at_once + " requires --jobs to be higher than the number of\nsluice: Error: arguments. Increase --jobs.";
}

// After the loop: the input threads joined, or, stopped early, left to exit with the process.
void runner::release_inputs() {
  if (!input_done_) {
    // Stopped early (halt, signal): the input thread may be blocked in read(2) on a pipe that never ends,
    // and joining it could hang. Unblock its queue, detach it, and leave it (and what it reads) to exit.
    if (!feed_->abandon()) {
      // Globals keep them reachable (and alive) for the detached thread until the process exits.
      g_abandoned[0] = feed_.release();
      g_abandoned[1] = input_.release();
      g_abandoned[2] = blocks_.release();
      g_abandoned[3] = tpl_.release();
    }
  }
  stop_pipe_reader();
}

int runner::exit_status() const {
  if (interrupted_) return 255;
  if (final_status_ != 0) return final_status_;
  if (cfg_.semaphore) return cfg_.semaphore_status;
  if (halt_status_) return *halt_status_;
  if (cfg_.halt.when != halt_when::never && cfg_.halt.percent && cfg_.halt.why != halt_why::success)
    return static_cast<int>(std::ceil(static_cast<double>(failed_) / static_cast<double>(std::max<std::size_t>(started_, 1)) * 100.0));
  return static_cast<int>(std::min<std::size_t>(failed_, 101));
}

void runner::debug_line(std::string_view category, const std::string& text) const {
  if (cfg_.debug != "all" && cfg_.debug != category) return;
  std::string line = named("sluice: debug " + std::string(category) + ": " + text + "\n");
  write_all(2, line.data(), line.size());
}

int runner::run() {
  if (auto status = open_inputs()) return *status;
  set_up_jobs();
  count_jobs();
  if (!cfg_.debug.empty()) {
    static const char* const k_modes[] = {"group", "line-buffer", "ungroup"};
 debug_line("init", "job slots " + std::to_string(cfg_.jobs) + ", input sources " + std::to_string(cfg_.sources.size()) +
                           ", jobs " + (total_known_ ? std::to_string(total_) : "not counted") +
                           ", output " + k_modes[static_cast<int>(cfg_.output)] + (cfg_.keep_order ? " in order" : "") +
                           ", shell " + job_shell().path);
  }
  if (cfg_.bar || cfg_.progress || cfg_.eta)
    progress_ = std::make_unique<progress_meter>(cfg_, total_known_ ? total_ : 0, cfg_.jobs);

  if (cfg_.latest_line) {
    // GNU's size of the terminal, or 24 x 80 where there is none.
    std::size_t rows = 0, columns = 0;
    const bool terminal = sluice::is_terminal(1);
    if (terminal) {
      std::string size = sluice::getoutput("stty size </dev/tty 2>/dev/null");
      rows = std::strtoul(size.c_str(), nullptr, 10);
      auto space = size.find(' ');
      if (space != std::string::npos) columns = std::strtoul(size.c_str() + space + 1, nullptr, 10);
    }
    latest_ = std::make_unique<latest_line_display>(terminal, rows, columns);
  }
  aio::run(loop_main());
  if (tmux_attach_) tmux_attach_->wait();  // --fg: until the user detaches or the session ends
  if (sql_) sql_->finish_all();
  release_inputs();
  writer_->finish();
  if (fatal_) std::rethrow_exception(fatal_);
  return exit_status();
}


int run_jobs(config& cfg) {
  if (cfg.slurm) slurm_setup(cfg);
  if (cfg.sql_master || cfg.sql_worker) return run_sql(cfg);
  if (cfg.sql_wait) throw usage_error("--wait is implemented with --sqlmaster only");
  runner r(cfg);
  return r.run();
}

int run_jobs(config& cfg, sql_worker* sql) {
  runner r(cfg, sql);
  return r.run();
}

}  // namespace sluice::app
