// The job loop's scheduling (see job_loop.hpp): the feeder task, slots, output order, --halt, signals.
// A run's steps around the loop (inputs, job count, exit status): run_steps.cpp.
#include "runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <string>

#include <sluice/queue.hpp>

#include "job_loop.hpp"
#include "option_values.hpp"
#include "text.hpp"
#include "throttle.hpp"

namespace sluice::app {

std::size_t runner::take_slot() {
  if (!free_slots_.empty()) {
    std::size_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  return ++max_slot_;
}

void runner::release_slot(std::size_t s) {
  free_slots_.push_back(s);
  // Lowest free slot first, as GNU's lazy stack hands them out.
  std::sort(free_slots_.begin(), free_slots_.end(), std::greater<>());
}

std::optional<double> runner::timeout_for_job() const {
  // Capped at about 31 years: the deadline is kept in the steady clock's nanoseconds, which a timeout of
  // more than 292 years (--timeout 99999999999) would overflow.
  constexpr double k_max_timeout = 1e9;
  if (cfg_.timeout_seconds > 0) return std::min(cfg_.timeout_seconds, k_max_timeout);
  if (cfg_.timeout_percent > 0 && runtimes_.size() >= 3) {
    std::vector<double> r = runtimes_;
    std::nth_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(r.size() / 2), r.end());
    return std::clamp(r[r.size() / 2] * cfg_.timeout_percent / 100.0, 0.001, k_max_timeout);
  }
  return std::nullopt;
}

// Finished output goes to the outbox, in order; forward_output hands it to the writer thread. emit_chunk
// itself never waits, so the ordering decisions above it stay atomic on the loop.
void runner::emit_chunk(output_chunk c) {
  if (c.out.empty() && c.err.empty()) return;
  outbox_.push_back(std::move(c));
  outbox_ready_.set();
}


void runner::show_latest(std::string text) {
  if (text.empty()) return;
  output_chunk c;
  c.out.append(text.data(), text.size());
  emit_chunk(std::move(c));
}

// --line-buffer: complete lines go out as they arrive (only the oldest job's under -k).
void runner::deliver(job& j, bool final) {
  if (cfg_.keep_order && (live_.empty() || live_.begin()->first != j.order) && !final) return;
  output_chunk c;
  c.prefix = j.tag;
  c.color = j.color;
  std::string o = final ? j.out.take_all_memory() : j.out.take_lines();
  std::string e = final ? j.err.take_all_memory() : j.err.take_lines();
  c.out.append(o.data(), o.size());
  c.err.append(e.data(), e.size());
  if (final) {
    // Whatever was spilled to disk goes out last, in order.
    if (j.out.fd_ >= 0) c.out = std::move(j.out), c.out.mem_.insert(0, o);
    if (j.err.fd_ >= 0) c.err = std::move(j.err), c.err.mem_.insert(0, e);
  }
  emit_chunk(std::move(c));
}

// -k: output that must wait for an older job. Past 32 MiB held in memory, further held output goes to
// temp files, so a slow first job followed by many chatty ones cannot exhaust memory.
void runner::hold(std::size_t order, output_chunk c) {
  if (held_memory_ > (32u << 20)) {
    c.out.spill();
    c.err.spill();
  }
  held_memory_ += c.out.mem_.size() + c.err.mem_.size();
  held_.emplace(order, std::move(c));
}

void runner::flush_ordered() {
  for (;;) {
    auto it = held_.find(print_order_);
    if (it != held_.end()) {
      if (auto rec = held_records_.find(print_order_); rec != held_records_.end()) {
        results_->put(rec->second.first, rec->second.second);
        held_records_.erase(rec);
      }
      held_memory_ -= std::min(held_memory_, it->second.out.mem_.size() + it->second.err.mem_.size());
      emit_chunk(std::move(it->second));
      held_.erase(it);
      ++print_order_;
      continue;
    }
    if (cfg_.output == output_mode::line_buffer) {
      auto lit = live_.find(print_order_);
      if (lit != live_.end()) deliver(*lit->second, false);
    }
    return;
  }
}

void runner::note_halt(const job& j, bool failed) {
  if (cfg_.halt.when == halt_when::never) return;
  // Halted already: under soon, as GNU, each later job that counts is named again with the jobs still running
  // (the exit status stays the first's); a job --halt now killed says nothing more.
  const bool again = halt_status_.has_value();
  if (again && cfg_.halt.when == halt_when::now) return;
  std::size_t count = 0;
  bool relevant = false;
  const char* what = "";
  if (cfg_.halt.why == halt_why::fail && failed) {
    count = failed_;
    relevant = true;
    what = "failed";
  } else if (cfg_.halt.why == halt_why::success && !failed) {
    count = succeeded_;
    relevant = true;
    what = "succeeded";
  } else if (cfg_.halt.why == halt_why::done) {
    count = completed_;
    relevant = true;
    what = "finished";
  }
  if (!relevant) return;
  // Through the writer, after the job's own output, as GNU prints it.
  std::string msg = named(std::string("sluice: This job ") + what + ":\n" + j.cmd.shell_command + "\n");
  output_chunk note;
  note.err.append(msg.data(), msg.size());
  emit_chunk(std::move(note));
  double need = cfg_.halt.percent ? cfg_.halt.count * static_cast<double>(total_) : cfg_.halt.count;
  if (static_cast<double>(count) < need) return;
  if (again) {
    if (!running_.empty()) {
      std::string m = named("sluice: Starting no more jobs. Waiting for " + std::to_string(running_.size()) + " jobs to finish.\n");
      output_chunk more;
      more.err.append(m.data(), m.size());
      emit_chunk(std::move(more));
    }
    return;
  }
  int status = 0;
  if (cfg_.halt.why != halt_why::success) {
    if (cfg_.halt.percent)
      status = static_cast<int>(std::ceil(static_cast<double>(failed_) / static_cast<double>(std::max<std::size_t>(total_, 1)) * 100.0));
    else  // GNU parallel 20221122 gives 101 when none failed (done=N reached with no failure): kept, as GNU does
      status = failed_ == 0 ? 101 : static_cast<int>(std::min<std::size_t>(failed_, 101));
    if (!cfg_.halt.percent && cfg_.halt.count == 1) {
      int rc = j.returncode;
      status = rc > 0 ? rc : (rc < 0 ? 128 - rc : 0);
    }
  }
  halt_status_ = status;
  stop_starting();
  if (cfg_.halt.when == halt_when::now) {
    for (job* r : running_) abandon(*r);
  } else if (!running_.empty()) {
    std::string m = named("sluice: Starting no more jobs. Waiting for " + std::to_string(running_.size()) + " jobs to finish.\n");
    output_chunk note;
    note.err.append(m.data(), m.size());
    emit_chunk(std::move(note));
  }
}

// The bookkeeping of an ended attempt: joblog, results, output, halt. True when it is to be tried again.
bool runner::finish(job& j) {
  const bool out_ok = j.out.seal(), err_ok = j.err.seal();
  if (!out_ok || !err_ok) {
    // As GNU: the compressor's failure is reported and the job counts as failed with 255.
    std::string m = named("sluice: Error: " + spool::compress_program + " failed.\n");
    write_all(2, m.data(), m.size());
    j.returncode = 255;
  }
  if (!j.cat_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(j.cat_file, ec);
    j.cat_file.clear();
  }
  if (!j.status_fifo.empty()) {  // (the wrapper removes it, unless it was killed)
    std::error_code ec;
    std::filesystem::remove(j.status_fifo, ec);
    j.status_fifo.clear();
  }
  if (!j.local_workdir.empty() && cfg_.workdir == "...") {  // a directory of the job's own: gone after it
    std::error_code ec;
    std::filesystem::remove_all(j.local_workdir, ec);
  }
  if (cfg_.cleanup) {
    for (const auto& name : j.template_copies) {
      std::error_code ec;
      std::filesystem::remove(name, ec);
    }
  }
  j.template_copies.clear();
  auto it = std::find(running_.begin(), running_.end(), &j);
  if (it != running_.end()) running_.erase(it);  // a job that could not start never ran
  release_slot(j.slot);
  if (remote_ && j.host) remote_->release(*j.host, j.host_slot);
  // -j FILE: GNU reads the file again as each job ends, so the number of jobs can be changed while running.
  if (!remote_ && !cfg_.jobs_procfile.empty())
    if (auto n = jobs_from_procfile(cfg_)) job_limit_ = *n;
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_.erase(j.order);
  const double runtime = std::chrono::duration<double>(clock_type::now() - j.start).count();
  int exitval = 0, sig = 0;
  if (j.returncode >= 0) exitval = j.returncode;
  else sig = -j.returncode;
  if (j.killed_by_us) exitval = -1;
  if (j.skipped) exitval = -2, sig = 0;
  const bool failed = exitval != 0 || sig != 0;

  if (j.abandoned && !j.timed_out) {
    // Killed because everything stops (SIGINT, SIGTERM, --halt now): as GNU parallel does, neither logged
    // nor printed, so that --resume runs it again. Under -k the output stops there, as GNU's: what later jobs
    // printed stays held behind it and is dropped at the end.
    if (cfg_.keep_order) cut_order_ = std::min(cut_order_, j.order);
    if (progress_) progress_->update(running_.size());
    return false;
  }
  if (j.timed_out) {  // every attempt that timed out, as GNU parallel warns
    std::string m = named("sluice: Warning: This job was killed because it timed out:\nsluice: Warning: " +
                    j.cmd.shell_command + "\n");
    write_all(2, m.data(), m.size());
  }
  if (failed && j.attempt < j.attempts && !stop_starting_ && !j.skipped) {
    // Try again (at once, in a free slot); the failed attempt's output is dropped, as GNU parallel does.
    return true;
  }
  ++completed_;
  if (cfg_.delay_auto) delay_ *= failed ? 1.3 : 0.9;  // --delay Nauto, as GNU adapts it
  if (cfg_.semaphore) cfg_.semaphore_status = exitval > 0 ? exitval : (sig > 0 ? 128 + sig : 0);  // as bash reports it
  if (failed) ++failed_;
  else {
    ++succeeded_;
    runtimes_.push_back(runtime);
    if (runtimes_.size() > 1001) runtimes_.erase(runtimes_.begin());
  }

  job_record rec;
  rec.seq = j.args.seq;
  rec.start_time = j.start_epoch;
  rec.runtime = runtime;
  rec.send = cfg_.pipe ? j.block_bytes + (j.dealt_bytes ? j.dealt_bytes->load() : 0) : 0;
  rec.receive = j.received;
  rec.exitval = exitval;
  rec.signal = sig;
  rec.command = j.cmd.shell_command;
  rec.host = j.host_name;
  if (joblog_->active()) joblog_->write(rec);
  // A job killed by SIGINT/SIGTERM goes back to the table for another worker; any other end is its result.
  if (sql_) sql_->done(rec, j.out.read_all(), j.err.read_all(), interrupted_ && j.killed_by_us);
  bool print = true;
  if (results_->active()) {
    job_numbers nums{j.args.seq, j.slot, total_};
    std::string name = cfg_.results == results_kind::templated ? tpl_->expand_plain(cfg_.results_path, j.args, nums) : "";
    // --compress: the files of a results directory hold the output compressed, as GNU's do; the CSV, TSV and
    // JSON records hold it as text.
    const bool as_files = cfg_.results == results_kind::tree || cfg_.results == results_kind::templated;
    auto text = [&](const spool& s) { return as_files && s.compressed() ? s.read_raw() : s.read_all(); };
    results_->write(rec, j.args.records, text(j.out), text(j.err), name);
    if (auto held = results_->take_held()) held_records_.emplace(j.order, std::move(*held));
    print = false;
    if (cfg_.files && cfg_.output != output_mode::ungroup) {
      // --files --results: the name of the results file of its stdout
      std::string path = results_->stdout_path(j.args.records, name);
      if (!path.empty()) {
        output_chunk c;
        c.prefix = j.tag;
        path += "\n";
        c.out.append(path.data(), path.size());
        if (cfg_.keep_order) hold(j.order, std::move(c));
        else emit_chunk(std::move(c));
      }
    }
  }
  if (print && latest_) {
    show_latest(latest_->finish(j.args.seq, cfg_.keep_order, j.tag, j.color));
  } else if (print && cfg_.output != output_mode::ungroup) {
    if (cfg_.output == output_mode::line_buffer) {
      if (cfg_.keep_order && j.order != print_order_) {
        output_chunk c;
        c.prefix = j.tag;
        c.color = j.color;
        c.out = std::move(j.out);
        c.err = std::move(j.err);
        hold(j.order, std::move(c));
      } else {
        deliver(j, true);
        if (cfg_.keep_order) {
          ++print_order_;
          flush_ordered();
        }
      }
    } else {
      output_chunk c;
      c.prefix = j.tag;
      // --color-failed: white on red for a failed job (grouped output only: a line already printed stays as it is).
      c.color = cfg_.color_failed && failed ? "\033[48;5;196;38;5;231m\033[K" : j.color;
      if (cfg_.files) {
        // --files: the name of a file holding its stdout, in place of the output (GNU drops its stderr).
        std::string name = write_output_file(j.out) + "\n";
        c.out.append(name.data(), name.size());
      } else {
        c.out = std::move(j.out);
        c.err = std::move(j.err);
      }
      if (cfg_.keep_order) {
        hold(j.order, std::move(c));
        flush_ordered();
      } else {
        emit_chunk(std::move(c));
      }
    }
  } else if (cfg_.keep_order) {
    held_.emplace(j.order, output_chunk{});
    flush_ordered();
  }
  if (progress_) {
    progress_->job_done(failed);
    progress_->update(running_.size());
  }
  note_halt(j, failed);
  return false;
}

// --resume --results: GNU parallel skips a job whose results are there (its stdout file in the tree, its
// file under a templated name). Not for .csv/.tsv/.json, which GNU cannot read back either.
bool runner::already_in_results(const job_args& a) {
  if (cfg_.results == results_kind::csv || cfg_.results == results_kind::tsv || cfg_.results == results_kind::json) {
    if (!joblog_->active() && !warned_results_resume_) {
      warned_results_resume_ = true;
      std::string m = named("sluice: Warning: --resume --results .csv/.tsv/.json is not supported yet\n\n");  // (GNU's blank line too)
      write_all(2, m.data(), m.size());
    }
    return false;
  }
  job_numbers nums{a.seq, 1, total_};
  std::string name = cfg_.results == results_kind::templated ? tpl_->expand_plain(cfg_.results_path, a, nums) : "";
  return results_->exists(a.records, name);
}

void runner::stop_starting() {
  stop_starting_ = true;
  if (feeder_task_.valid() && !feeder_task_.done()) feeder_task_.cancel();
}

// SIGINT, SIGTERM, a broken stdout: start nothing more and run each job's --term-seq.
void runner::interrupt() {
  if (interrupted_) {
    // A second interrupt: skip the rest of the term sequences.
    for (job* r : running_) kill_now(*r);
  }
  interrupted_ = true;
  stop_starting();
  for (job* r : running_) abandon(*r);
}

void runner::abandon(job& j) {
  if (!j.exited) j.abandoned = true;
  begin_kill(j, true);
}

// Starts jobs while slots are free, as the input comes.
aio::task<void> runner::feed() {
  const std::size_t max_held = std::max<std::size_t>(1024, cfg_.jobs * 4);
  const std::size_t max_outbox = 64;  // a slow stdout holds back new jobs, not the loop
  // --hostgroups with -S: jobs read whose groups have no free slot yet, with their output order. A later
  // job whose group has one goes first, as GNU's; at most this many are held back before the reading waits.
  const bool by_group = cfg_.hostgroups && remote_ && !cfg_.dry_run && !cfg_.onall && !cfg_.nonall;
  const std::size_t max_waiting = 100000;
  std::deque<std::pair<job_args, std::size_t>> waiting;
  bool read_all = false;
  for (;;) {
    while (!stop_starting_ && (active_ >= (job_limit_ ? job_limit_ : cfg_.jobs) || (cfg_.keep_order && held_.size() >= max_held && waiting.empty()) ||
                               outbox_.size() >= max_outbox)) {
      changed_.clear();
      auto w = changed_.wait();
      co_await w;
    }
    if (stop_starting_) co_return;
    if (!waiting.empty()) {
      auto fits = std::find_if(waiting.begin(), waiting.end(),
                               [&](const auto& w) { return remote_->has_free(w.first.hostgroups); });
      if (fits != waiting.end()) {
        auto [args, order] = std::move(*fits);
        waiting.erase(fits);
        start(std::move(args), 1, order);
        continue;
      }
      if (read_all || waiting.size() >= max_waiting || (cfg_.keep_order && held_.size() >= max_held)) {
        changed_.clear();
        auto w = changed_.wait();
        co_await w;
        continue;
      }
    }
    if (read_all) co_return;
    auto next = sql_ ? sql_->next() : feed_->next();
    std::optional<job_args> a = co_await next;
    if (a && (delay_ > 0 || cfg_.max_load || cfg_.memfree > 0 || cfg_.memsuspend > 0 || cfg_.limit || cfg_.noswap)) {
      // Only when there is a job to start: a limit that stays over keeps nothing waiting after the last job.
      auto wait = throttle();
      co_await wait;
      if (stop_starting_) co_return;
    }
    if (!a) {
      input_done_ = true;
      std::string err = feed_->error();
      if (!err.empty()) {
        std::string m = named("sluice: " + err + "\n");
        write_all(2, m.data(), m.size());
        final_status_ = 255;
      }
      if (waiting.empty()) co_return;
      read_all = true;  // the jobs held back still start, as slots of their groups free up
      continue;
    }
    if (joblog_->active() && (cfg_.resume || cfg_.resume_failed) && joblog_->skip(a->seq)) continue;
    if (cfg_.resume && results_->active() && already_in_results(*a)) continue;
    if (cfg_.hostgroups) {
      auto pick = take_hostgroups(*a);
      co_await pick;
      if (stop_starting_) co_return;
    }
    if (by_group && (!waiting.empty() || !remote_->has_free(a->hostgroups))) {
      waiting.emplace_back(std::move(*a), next_order_++);
      continue;
    }
    if (remote_ && (cfg_.onall || cfg_.nonall)) {
      auto on_all = start_on_all(std::move(*a));
      co_await on_all;
    } else {
      start(std::move(*a), 1, next_order_++);
    }
  }
}

// Hands finished output to the writer thread, in order, waiting while its queue is full.
aio::task<void> runner::forward_output() {
  for (;;) {
    while (outbox_.empty()) {
      if (outbox_closed_) co_return;
      outbox_ready_.clear();
      auto w = outbox_ready_.wait();
      co_await w;
    }
    output_chunk c = std::move(outbox_.front());
    outbox_.pop_front();
    auto put = aio::put(writer_->writer_queue(), std::move(c));
    co_await put;
    changed_.set();
  }
}

aio::task<void> runner::tick_progress() {
  for (;;) {
    progress_->update(running_.size());
    auto pause = aio::sleep(0.25);
    co_await pause;
  }
}

aio::task<int> runner::loop_main() {
  aio::event_loop& loop = aio::event_loop::current();
  // Installed only now: until the loop runs, SIGINT may simply end us (a preload can block on stdin).
  loop.add_signal_handler(SIGHUP, [this] { stop_starting(); });
  loop.add_signal_handler(SIGINT, [this] { interrupt(); });
  loop.add_signal_handler(SIGTERM, [this] { interrupt(); });
  // Whoever read our output is gone (`sluice ... | head`): stop as GNU parallel would on SIGPIPE, but without
  // leaving the running jobs behind.
  writer_ = std::make_unique<output_writer>([this, wake = loop]() mutable {
    wake.call_soon_threadsafe([this] {
      if (!interrupted_) interrupt();
    });
  });
  aio::handle<void> forwarder = aio::create_task(forward_output());
  aio::handle<void> ticker;
  if (progress_ && progress_->live()) ticker = aio::create_task(tick_progress());

  aio::handle<void> memory_watch;
  if (cfg_.memfree > 0 || cfg_.memsuspend > 0) memory_watch = aio::create_task(watch_memory());
  aio::handle<void> limit_watch;
  if (cfg_.limit) limit_watch = aio::create_task(watch_limit());
  delay_ = cfg_.delay;
  if (sql_) {
    // A worker whose lease was taken over must kill its jobs: they already run elsewhere.
    sql_->start([this, wake = loop]() mutable {
      wake.call_soon_threadsafe([this] {
        if (!interrupted_) interrupt();
      });
    });
  }
  bool hosts_ok = true;
  if (remote_) {
    auto connect = connect_hosts();
    hosts_ok = co_await connect;
  }
  aio::handle<void> tee_task;
  if ((cfg_.tee || cfg_.shard) && !cfg_.dry_run) tee_task = aio::create_task(tee_input());
  if (hosts_ok) feeder_task_ = aio::create_task(feed());
  try {
    if (feeder_task_.valid()) co_await feeder_task_;
  } catch (const sluice::cancelled_error&) {
    // Stopped by a signal or a halt.
  }
  while (active_ > 0) {
    changed_.clear();
    auto w = changed_.wait();
    co_await w;
  }
  auto stop_tee = settle(tee_task);
  co_await stop_tee;
  for (auto& d : dealers_) {
    auto stop_dealer = settle(d);
    co_await stop_dealer;
  }
  dealers_.clear();
  auto stop_ticker = settle(ticker);
  co_await stop_ticker;
  auto stop_memory_watch = settle(memory_watch);
  co_await stop_memory_watch;
  auto stop_limit_watch = settle(limit_watch);
  co_await stop_limit_watch;
  if (progress_) progress_->finish(running_.size());
  // -k: anything still held goes out in order, up to the first job that was killed because everything stopped.
  for (auto& [order, chunk] : held_)
    if (order < cut_order_) emit_chunk(std::move(chunk));
  if (!closing_error_.empty()) {
    output_chunk c;
    c.err.append(closing_error_.data(), closing_error_.size());
    emit_chunk(std::move(c));
  }
  held_.clear();
  outbox_closed_ = true;
  outbox_ready_.set();
  co_await forwarder;
  if (remote_) {
    auto close_hosts = remote_->close();
    co_await close_hosts;
  }
  co_return 0;
}

}  // namespace sluice::app
