// One job from spawn to exit, as a task of the job loop (see job_loop.hpp): its command and options, the
// process in its own group, its output pumped into spools, its --pipe block, --timeout and --term-seq.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "job_loop.hpp"
#include "slurm.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {
double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

aio::task<void> settle(aio::handle<void> h) {
  if (!h.valid()) co_return;
  if (!h.done()) h.cancel();
  try {
    co_await h;
  } catch (const sluice::cancelled_error&) {
  }
}

// A job's command, slot and tag. Null under --dry-run, which prints the command instead.
std::unique_ptr<job> runner::prepare(job_args args, unsigned attempt, std::size_t order) {
  auto j = std::make_unique<job>();
  j->args = std::move(args);
  j->attempt = attempt;
  j->order = order;
  j->slot = take_slot();
  job_numbers nums{j->args.seq, j->slot, total_};
  const command_template& tpl = j->args.tpl ? *j->args.tpl : *tpl_;
  j->cmd = tpl.compose(j->args, nums);
  if (cfg_.output != output_mode::ungroup && (cfg_.tag || cfg_.tagstring)) {
    if (cfg_.tagstring) {
      j->tag = tpl.expand_plain(*cfg_.tagstring, j->args, nums) + "\t";
    } else {
      std::string t;
      for (const auto& r : j->args.records)
        for (const auto& v : r) {
          if (!t.empty()) t += ' ';
          t += v;
        }
      j->tag = t + "\t";
    }
  }
  ++started_;
  if (j->cmd.skip && !cfg_.dry_run) {
    // {= skip() =}: not run. GNU parallel 20221122 logs such a job with Exitval -2 and counts it as failed.
    j->skipped = true;
    j->exited = true;
    j->start_epoch = epoch_now();
    j->start = clock_type::now();
    finish(*j);
    return nullptr;
  }
  if (cfg_.dry_run) {
    output_chunk c;
    std::string line = j->cmd.shell_command + "\n";
    c.out.append(line.data(), line.size());
    if (cfg_.keep_order) held_.emplace(order, std::move(c));
    else emit_chunk(std::move(c));
    release_slot(j->slot);
    ++completed_;
    if (j->cmd.skip) ++failed_;  // GNU prints a skipped job's command under --dry-run, and counts it failed
    else ++succeeded_;
    if (cfg_.keep_order) flush_ordered();
    return nullptr;
  }
  if (cfg_.trace) {  // -t: on stderr as the job starts, never grouped
    std::string line = j->cmd.shell_command + "\n";
    write_all(2, line.data(), line.size());
  }
  if (cfg_.verbose) {
    std::string line = j->cmd.shell_command + "\n";
    if (cfg_.output == output_mode::ungroup) write_all(1, line.data(), line.size());
    else j->out.append(line.data(), line.size());
  }

  return j;
}

sluice::options runner::spawn_options(const job& j) {
  const bool ungroup = cfg_.output == output_mode::ungroup;
  if (!base_env_) base_env_ = sluice::current_environment();
  sluice::options opts;
  if (cfg_.pipe) opts.in = sluice::redirect::pipe;
  else if (first_job_gets_stdin_ && j.args.seq == 1) opts.in = sluice::redirect::inherit;
  else opts.in = sluice::redirect::devnull;
  opts.out = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
  opts.err = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
  opts.process_group = 0;  // its own group, so --term-seq and interrupts reach what it started too
  sluice::environment env = *base_env_;
  env["PARALLEL_SEQ"] = std::to_string(j.args.seq);
  env["PARALLEL_JOBSLOT"] = std::to_string(j.slot);
  env["PARALLEL_PID"] = std::to_string(::getpid());
  opts.env = std::move(env);
  return opts;
}

void runner::start(job_args args, unsigned attempt, std::size_t order) {
  std::unique_ptr<job> j = prepare(std::move(args), attempt, order);
  if (!j) return;
  ++active_;
  aio::create_task(job_task(std::move(j)));
}

// A job from start to end, its retries included.
aio::task<void> runner::job_task(std::unique_ptr<job> j) {
  try {
    for (;;) {
      co_await execute(*j);
      if (!finish(*j)) break;
      j = prepare(std::move(j->args), j->attempt + 1, j->order);
    }
  } catch (const std::exception&) {
    // Not the job's failure but ours (a temp file that cannot be written): stop everything, report it at the end.
    if (!fatal_) fatal_ = std::current_exception();
    interrupt();
  }
  --active_;
  changed_.set();
}

// Spawns the job, streams its output into its spools, writes its --pipe block, times it out, and waits for
// its exit.
aio::task<void> runner::execute(job& j) {
  const bool ungroup = cfg_.output == output_mode::ungroup;
  j.start_epoch = epoch_now();
  j.start = clock_type::now();
  std::string cannot_start;
  // Named variables only around co_await (g++ 12, see sluice/aio.hpp).
  if (j.cmd.argv && !cfg_.slurm) {
    try {
      sluice::options opts = spawn_options(j);
      auto spawn = aio::create_subprocess_exec(*j.cmd.argv, std::move(opts));
      aio::process p = co_await spawn;
      j.proc.emplace(std::move(p));
    } catch (const sluice::spawn_error&) {
      // Let the shell report it, exactly as it would have.
    } catch (const std::exception& e) {
      cannot_start = e.what();
    }
  }
  if (!j.proc && cannot_start.empty()) {
    try {
      std::vector<std::string> argv{job_shell().path, "-c", j.cmd.shell_command};
      if (cfg_.slurm) argv = slurm_step_argv(cfg_, std::move(argv));  // one job step each
      sluice::options opts = spawn_options(j);
      auto spawn = aio::create_subprocess_exec(std::move(argv), std::move(opts));
      aio::process p = co_await spawn;
      j.proc.emplace(std::move(p));
    } catch (const std::exception& e) {
      cannot_start = e.what();
    }
  }
  if (!j.proc) {
    // Could not start even the shell (out of processes or descriptors): the job fails with 255.
    std::string msg = "sluice: cannot start job: " + cannot_start + "\n";
    j.err.append(msg.data(), msg.size());
    j.exited = true;
    j.returncode = 255;
    co_return;
  }
  aio::process& proc = *j.proc;
  running_.push_back(&j);
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_[j.order] = &j;
  if (cfg_.pipe) {
    // The loop writes the block out in the background as the job reads; a job that stops reading loses the rest.
    j.block_bytes = j.args.block.size();
    aio::stream_writer& in = proc.in();
    if (!j.args.block.empty()) in.write(j.args.block);
    in.close();
    if (cfg_.retries <= 1) std::string().swap(j.args.block);  // no retry will need it: free it now
  }
  aio::handle<void> out_pump, err_pump;
  if (!ungroup) {
    out_pump = aio::create_task(pump(j, proc.out(), j.out, true));
    err_pump = aio::create_task(pump(j, proc.err(), j.err, false));
  }

  if (auto t = timeout_for_job()) {
    bool expired = false;
    try {
      auto waited = aio::wait_for(proc.wait(), sluice::seconds(*t));
      co_await waited;
    } catch (const sluice::timeout_error&) {
      expired = true;
    }
    if (expired && !j.killing) {
      j.timed_out = true;
      begin_kill(j, true);
    }
  }
  auto waited = proc.wait();
  j.returncode = co_await waited;
  j.exited = true;
  auto stop_killer = settle(j.killer);
  co_await stop_killer;
  // No orphans: whatever the job started in its group goes too.
  if (j.killing) kill_now(j);

  if (!ungroup) {
    // Whatever the job wrote before it ended is in the pipes now; take it without waiting for end of file,
    // which a backgrounded grandchild could hold off forever. Unless one does, the pipes hung up before the
    // exit was seen and the readers end within a turn: give them that turn, since cancelling a reader costs
    // an exception thrown through its frames.
    if (!out_pump.done() || !err_pump.done()) {
      auto one_turn = aio::sleep(0);
      co_await one_turn;
    }
    auto stop_out = settle(out_pump);
    co_await stop_out;
    auto stop_err = settle(err_pump);
    co_await stop_err;
    drain(j, proc.out(), j.out, true);
    drain(j, proc.err(), j.err, false);
  }
  j.proc.reset();  // closes its pipes now rather than when the job's bookkeeping ends
}

aio::task<void> runner::pump(job& j, aio::stream_reader& r, spool& s, bool is_out) {
  for (;;) {
    auto read = r.read(1 << 16);
    std::string data = co_await read;
    if (data.empty()) co_return;
    if (is_out) j.received += data.size();
    s.append(data.data(), data.size());
    if (cfg_.output == output_mode::line_buffer) deliver(j, false);
  }
}

void runner::drain(job& j, aio::stream_reader& r, spool& s, bool is_out) {
  for (;;) {
    std::string data = r.read_nowait(1 << 20);
    if (data.empty()) return;
    if (is_out) j.received += data.size();
    s.append(data.data(), data.size());
  }
}

// --term-seq: each signal to the job's process group, then its wait, until the job has ended.
void runner::begin_kill(job& j, bool by_us) {
  if (j.killing || j.exited || !j.proc) return;
  j.killing = true;
  j.killed_by_us = by_us;
  j.killer = aio::create_task(term_sequence(j));
}

aio::task<void> runner::term_sequence(job& j) {
  for (const term_step& st : cfg_.term_seq) {
    if (j.exited) co_return;
    signal_group(j, st.signal);
    auto pause = aio::sleep(sluice::seconds(st.wait_ms / 1000.0));
    co_await pause;
  }
}

void runner::kill_now(job& j) { signal_group(j, SIGKILL); }

void runner::signal_group(job& j, int sig) {
  if (!j.proc) return;
  try {
    j.proc->send_signal_to_group(sig);
  } catch (const std::system_error&) {
    // EPERM from a group that turned setuid: nothing more we can do about it.
  }
}

}  // namespace sluice::app
