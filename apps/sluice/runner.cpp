#include "runner.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sluice/queue.hpp>
#include <sluice/subprocess.hpp>

#include "compose.hpp"
#include "feeder.hpp"
#include "input.hpp"
#include "output.hpp"
#include "pipe_mode.hpp"
#include "progress.hpp"
#include "records.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

using clock_type = std::chrono::steady_clock;

// Objects a detached input thread still uses at exit (see runner::run); a global keeps them reachable.
void* g_abandoned[4];

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct job {
  job_args args;
  std::size_t order = 0;  // position in output order (-k)
  unsigned attempt = 1;
  std::size_t slot = 0;
  composed_command cmd;
  std::optional<sluice::process> proc;
  pid_t pid = -1;
  int pidfd = -1;  // the process's own (it closes it); -1 without pidfd support or once finished
  int out_fd = -1;
  int err_fd = -1;
  int in_fd = -1;
  std::size_t in_written = 0;
  std::size_t block_bytes = 0;  // --pipe: the block's size, the joblog's Send even if the job stopped reading
  spool out;
  spool err;
  std::size_t received = 0;
  double start_epoch = 0;
  clock_type::time_point start{};
  std::optional<clock_type::time_point> deadline{};
  bool killing = false;
  bool killed_by_us = false;
  bool timed_out = false;
  std::size_t term_index = 0;
  clock_type::time_point next_term{};
  bool exited = false;
  int returncode = 0;
  std::string tag;
  bool skipped = false;  // {= skip() =}
};

class runner {
 public:
  explicit runner(config& cfg) : cfg_(cfg) {}
  int run();

 private:
  void start_job(job_args args, unsigned attempt, std::size_t order);
  void read_pipe(job& j, int& fd, spool& s, bool is_out, std::size_t limit);
  void write_stdin(job& j);
  void finish(std::unique_ptr<job> j);
  void begin_kill(job& j, bool by_us);
  void step_kill(job& j, clock_type::time_point now);
  void deliver(job& j, bool final);
  void flush_ordered();
  void hold(std::size_t order, output_chunk c);
  void emit_chunk(output_chunk c);
  void stop_all(bool kill);
  std::size_t take_slot();
  void release_slot(std::size_t s);
  void note_halt(const job& j, bool failed);
  std::optional<double> timeout_for_job() const;

  config& cfg_;
  std::unique_ptr<input_reader> input_;
  std::unique_ptr<block_reader> blocks_;
  std::unique_ptr<command_template> tpl_;
  std::unique_ptr<feeder> feed_;
  std::unique_ptr<output_writer> writer_;
  std::unique_ptr<joblog> joblog_;
  std::unique_ptr<results_writer> results_;
  std::unique_ptr<progress_meter> progress_;
  std::vector<std::unique_ptr<job>> running_;
  std::deque<std::pair<job_args, std::pair<unsigned, std::size_t>>> retry_;  // args, (attempt, order)
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
  std::optional<int> halt_status_;
  std::size_t failed_ = 0;
  std::size_t succeeded_ = 0;
  std::size_t completed_ = 0;
  std::size_t started_ = 0;
  std::vector<double> runtimes_;  // successful runtimes, for --timeout N%
  std::optional<sluice::environment> base_env_;
  int signal_fd_ = -1;
  bool first_job_gets_stdin_ = false;
};

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

void runner::emit_chunk(output_chunk c) {
  if (c.out.empty() && c.err.empty()) return;
  writer_->put(std::move(c));
}

void runner::start_job(job_args args, unsigned attempt, std::size_t order) {
  auto j = std::make_unique<job>();
  j->args = std::move(args);
  j->attempt = attempt;
  j->order = order;
  j->slot = take_slot();
  job_numbers nums{j->args.seq, j->slot, total_};
  j->cmd = tpl_->compose(j->args, nums);
  if (cfg_.output != output_mode::ungroup && (cfg_.tag || cfg_.tagstring)) {
    if (cfg_.tagstring) {
      j->tag = tpl_->expand_plain(*cfg_.tagstring, j->args, nums) + "\t";
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
    finish(std::move(j));
    return;
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
    return;
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

  const bool ungroup = cfg_.output == output_mode::ungroup;
  if (!base_env_) base_env_ = sluice::current_environment();
  auto make_options = [&] {
    sluice::options opts;
    if (cfg_.pipe) opts.in = sluice::redirect::pipe;
    else if (first_job_gets_stdin_ && j->args.seq == 1) opts.in = sluice::redirect::inherit;
    else opts.in = sluice::redirect::devnull;
    opts.out = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
    opts.err = ungroup ? sluice::redirect::inherit : sluice::redirect::pipe;
    opts.process_group = 0;
    sluice::environment env = *base_env_;
    env["PARALLEL_SEQ"] = std::to_string(j->args.seq);
    env["PARALLEL_JOBSLOT"] = std::to_string(j->slot);
    env["PARALLEL_PID"] = std::to_string(::getpid());
    opts.env = std::move(env);
    return opts;
  };

  j->start_epoch = epoch_now();
  j->start = clock_type::now();
  try {
    if (j->cmd.argv) {
      try {
        j->proc.emplace(*j->cmd.argv, make_options());
      } catch (const sluice::spawn_error&) {
        j->proc.reset();  // let the shell report it, exactly as it would have
      }
    }
    if (!j->proc) j->proc.emplace(std::vector<std::string>{job_shell().path, "-c", j->cmd.shell_command}, make_options());
  } catch (const std::exception& e) {
    // Could not start even the shell (out of processes or descriptors): the job fails with 255.
    std::string msg = std::string("sluice: cannot start job: ") + e.what() + "\n";
    j->err.append(msg.data(), msg.size());
    j->exited = true;
    j->returncode = 255;
    finish(std::move(j));
    return;
  }
  j->pid = j->proc->pid();
  j->pidfd = j->proc->pidfd();
  if (!ungroup) {
    j->out_fd = j->proc->out().native_handle();
    j->err_fd = j->proc->err().native_handle();
    set_nonblocking(j->out_fd);
    set_nonblocking(j->err_fd);
  }
  if (cfg_.pipe) {
    j->block_bytes = j->args.block.size();
    j->in_fd = j->proc->in().native_handle();
    set_nonblocking(j->in_fd);
    ::fcntl(j->in_fd, F_SETPIPE_SZ, 1 << 20);
    if (j->args.block.empty()) {
      j->proc->in().close();
      j->in_fd = -1;
    }
  }
  if (auto t = timeout_for_job())
    j->deadline = j->start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(*t));
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_[j->order] = j.get();
  running_.push_back(std::move(j));
}

void runner::read_pipe(job& j, int& fd, spool& s, bool is_out, std::size_t limit) {
  char buf[65536];
  std::size_t got = 0;
  while (fd >= 0 && got < limit) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      n = 0;  // treat a read error as the end of the stream
    }
    if (n == 0) {
      if (is_out) j.proc->out().close();
      else j.proc->err().close();
      fd = -1;
      break;
    }
    got += static_cast<std::size_t>(n);
    if (is_out) j.received += static_cast<std::size_t>(n);
    s.append(buf, static_cast<std::size_t>(n));
  }
  if (got > 0 && cfg_.output == output_mode::line_buffer) deliver(j, false);
}

void runner::write_stdin(job& j) {
  const std::string& b = j.args.block;
  while (j.in_written < b.size()) {
    ssize_t n = ::write(j.in_fd, b.data() + j.in_written, b.size() - j.in_written);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      break;  // EPIPE: the job does not want more input
    }
    j.in_written += static_cast<std::size_t>(n);
  }
  j.proc->in().close();
  j.in_fd = -1;
  // The block is no longer needed: free it now rather than at job end.
  std::string().swap(j.args.block);
}

// --line-buffer: complete lines go out as they arrive (only the oldest job's under -k).
void runner::deliver(job& j, bool final) {
  if (cfg_.keep_order && (live_.empty() || live_.begin()->first != j.order) && !final) return;
  output_chunk c;
  c.prefix = j.tag;
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

void runner::begin_kill(job& j, bool by_us) {
  if (j.killing || j.exited) return;
  j.killing = true;
  j.killed_by_us = by_us;
  j.term_index = 0;
  step_kill(j, clock_type::now());
}

void runner::step_kill(job& j, clock_type::time_point now) {
  if (j.exited || j.term_index >= cfg_.term_seq.size()) return;
  const term_step& st = cfg_.term_seq[j.term_index++];
  ::kill(-j.pid, st.signal);
  j.next_term = now + std::chrono::milliseconds(st.wait_ms);
}

void runner::note_halt(const job& j, bool failed) {
  if (cfg_.halt.when == halt_when::never || halt_status_) return;
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
  std::string msg = std::string("sluice: This job ") + what + ":\n" + j.cmd.shell_command + "\n";
  write_all(2, msg.data(), msg.size());
  double need = cfg_.halt.percent ? cfg_.halt.count * static_cast<double>(total_) : cfg_.halt.count;
  if (static_cast<double>(count) < need) return;
  int status = 0;
  if (cfg_.halt.why != halt_why::success) {
    if (cfg_.halt.percent)
      status = static_cast<int>(std::ceil(static_cast<double>(failed_) / static_cast<double>(std::max<std::size_t>(total_, 1)) * 100.0));
    else
      status = static_cast<int>(std::min<std::size_t>(failed_, 101));
    if (!cfg_.halt.percent && cfg_.halt.count == 1) {
      int rc = j.returncode;
      status = rc > 0 ? rc : (rc < 0 ? 128 - rc : 0);
    }
  }
  halt_status_ = status;
  stop_starting_ = true;
  if (cfg_.halt.when == halt_when::now) {
    for (auto& r : running_) begin_kill(*r, true);
  } else if (!running_.empty()) {
    std::string m = "sluice: Starting no more jobs. Waiting for " + std::to_string(running_.size()) + " jobs to finish.\n";
    write_all(2, m.data(), m.size());
  }
}

void runner::finish(std::unique_ptr<job> jp) {
  job& j = *jp;
  j.pidfd = -1;
  if (j.killing && j.pid > 0) ::kill(-j.pid, SIGKILL);  // no orphans: the rest of the group goes too
  release_slot(j.slot);
  if (cfg_.keep_order && cfg_.output == output_mode::line_buffer) live_.erase(j.order);
  const double runtime = std::chrono::duration<double>(clock_type::now() - j.start).count();
  int exitval = 0, sig = 0;
  if (j.returncode >= 0) exitval = j.returncode;
  else sig = -j.returncode;
  if (j.killed_by_us) exitval = -1;
  if (j.skipped) exitval = -2, sig = 0;
  const bool failed = exitval != 0 || sig != 0;

  if (failed && j.attempt < cfg_.retries && !stop_starting_ && !j.skipped) {
    // Try again; the failed attempt's output is dropped, as GNU parallel does.
    retry_.emplace_back(std::move(j.args), std::make_pair(j.attempt + 1, j.order));
    return;
  }
  ++completed_;
  if (failed) ++failed_;
  else {
    ++succeeded_;
    runtimes_.push_back(runtime);
    if (runtimes_.size() > 1001) runtimes_.erase(runtimes_.begin());
  }
  if (j.timed_out) {
    std::string m = "sluice: Warning: This job was killed because it timed out:\nsluice: Warning: " +
                    j.cmd.shell_command + "\n";
    write_all(2, m.data(), m.size());
  }

  job_record rec;
  rec.seq = j.args.seq;
  rec.start_time = j.start_epoch;
  rec.runtime = runtime;
  rec.send = cfg_.pipe ? j.block_bytes : 0;
  rec.receive = j.received;
  rec.exitval = exitval;
  rec.signal = sig;
  rec.command = j.cmd.shell_command;
  if (joblog_->active()) joblog_->write(rec);
  bool print = true;
  if (results_->active()) {
    job_numbers nums{j.args.seq, j.slot, total_};
    std::string name = cfg_.results == results_kind::templated ? tpl_->expand_plain(cfg_.results_path, j.args, nums) : "";
    results_->write(rec, j.args.records, j.out.read_all(), j.err.read_all(), name);
    print = false;
  }
  if (print && cfg_.output != output_mode::ungroup) {
    if (cfg_.output == output_mode::line_buffer) {
      if (cfg_.keep_order && j.order != print_order_) {
        output_chunk c;
        c.prefix = j.tag;
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
      c.out = std::move(j.out);
      c.err = std::move(j.err);
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
  if (progress_) progress_->job_done(failed);
  note_halt(j, failed);
}

void runner::stop_all(bool kill) {
  stop_starting_ = true;
  if (kill)
    for (auto& r : running_) begin_kill(*r, true);
}

int runner::run() {
  if (cfg_.pipe) {
    blocks_ = std::make_unique<block_reader>(cfg_, 0);
  } else {
    input_ = std::make_unique<input_reader>(cfg_);
    bool any_file = false;
    for (const auto& s : cfg_.sources)
      if (s.type == input_source::kind::file) any_file = true;
    first_job_gets_stdin_ = any_file && !input_->reads_stdin();
  }
  static const std::map<std::string, std::size_t> no_names;
  tpl_ = std::make_unique<command_template>(cfg_, input_ ? input_->header_names() : no_names);
  joblog_ = std::make_unique<joblog>(cfg_);
  results_ = std::make_unique<results_writer>(cfg_);
  writer_ = std::make_unique<output_writer>();
  feed_ = std::make_unique<feeder>(cfg_, input_.get(), blocks_.get(), tpl_.get());

  const bool need_total = cfg_.bar || cfg_.eta || tpl_->uses_total() || (cfg_.halt.percent && cfg_.halt.when != halt_when::never);
  if (cfg_.total_jobs) {
    total_ = *cfg_.total_jobs;
    total_known_ = true;
  }
  if (need_total && !total_known_) {
    total_ = feed_->preload();
    total_known_ = true;
  } else {
    feed_->start();
  }
  // Installed only now: until the first job starts, SIGINT may simply end us (a preload can block on stdin).
  signal_fd_ = install_signal_pipe();
  if (cfg_.bar || cfg_.progress || cfg_.eta)
    progress_ = std::make_unique<progress_meter>(cfg_, total_known_ ? total_ : 0, cfg_.jobs);

  std::vector<pollfd> fds;
  std::vector<std::pair<job*, int>> owners;  // which job and which stream (0 out, 1 err, 2 exit, 3 stdin)
  const std::size_t max_held = std::max<std::size_t>(1024, cfg_.jobs * 4);
  int final_status = 0;

  for (;;) {
    // Start what we can.
    while (!stop_starting_ && running_.size() < cfg_.jobs) {
      if (cfg_.keep_order && held_.size() >= max_held) break;  // bounded memory under -k
      if (!retry_.empty()) {
        auto item = std::move(retry_.front());
        retry_.pop_front();
        start_job(std::move(item.first), item.second.first, item.second.second);
        continue;
      }
      if (input_done_) break;
      bool done = false;
      auto a = feed_->try_next(done);
      if (done) {
        input_done_ = true;
        std::string err = feed_->error();
        if (!err.empty()) {
          std::string m = "sluice: " + err + "\n";
          write_all(2, m.data(), m.size());
          final_status = 255;
        }
        break;
      }
      if (!a) break;
      if (joblog_->active() && (cfg_.resume || cfg_.resume_failed) && joblog_->skip(a->seq)) continue;
      start_job(std::move(*a), 1, next_order_++);
    }
    if (running_.empty() && (input_done_ || stop_starting_) && retry_.empty()) break;

    // Wait for something to happen.
    fds.clear();
    owners.clear();
    fds.push_back({signal_fd_, POLLIN, 0});
    owners.push_back({nullptr, -1});
    bool waiting_input = !stop_starting_ && !input_done_ && running_.size() < cfg_.jobs && retry_.empty();
    if (waiting_input && !feed_->arm()) continue;
    if (waiting_input) {
      fds.push_back({feed_->wake_fd(), POLLIN, 0});
      owners.push_back({nullptr, -2});
    }
    auto now = clock_type::now();
    std::optional<clock_type::time_point> wake_at;
    auto at = [&](clock_type::time_point t) {
      if (!wake_at || t < *wake_at) wake_at = t;
    };
    bool need_tick = false;
    for (auto& jp : running_) {
      job& j = *jp;
      if (j.out_fd >= 0) { fds.push_back({j.out_fd, POLLIN, 0}); owners.push_back({&j, 0}); }
      if (j.err_fd >= 0) { fds.push_back({j.err_fd, POLLIN, 0}); owners.push_back({&j, 1}); }
      if (j.pidfd >= 0) { fds.push_back({j.pidfd, POLLIN, 0}); owners.push_back({&j, 2}); }
      else need_tick = true;
      if (j.in_fd >= 0) { fds.push_back({j.in_fd, POLLOUT, 0}); owners.push_back({&j, 3}); }
      if (j.deadline && !j.killing) at(*j.deadline);
      if (j.killing && j.term_index < cfg_.term_seq.size()) at(j.next_term);
    }
    if (need_tick) at(now + std::chrono::milliseconds(10));
    if (progress_ && progress_->live()) at(now + std::chrono::milliseconds(250));
    int timeout_ms = -1;
    if (wake_at) {
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(*wake_at - now).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(d + 1, 0, 60000));
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (waiting_input) feed_->disarm();
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");

    // Signals first: they change what the rest of this round does.
    if (n > 0 && (fds[0].revents & POLLIN)) {
      unsigned char sigs[64];
      ssize_t k = ::read(signal_fd_, sigs, sizeof sigs);
      for (ssize_t i = 0; i < k; ++i) {
        if (sigs[i] == SIGHUP) {
          stop_starting_ = true;
        } else {
          if (interrupted_) {
            // A second interrupt: skip the rest of the term sequence.
            for (auto& r : running_) if (!r->exited) ::kill(-r->pid, SIGKILL);
          }
          interrupted_ = true;
          stop_all(true);
        }
      }
    }
    if (writer_->stdout_broken() && !interrupted_) {
      // Whoever read our output is gone (`sluice ... | head`): stop as GNU parallel would on SIGPIPE, but
      // without leaving the running jobs behind.
      interrupted_ = true;
      stop_all(true);
    }
    std::vector<job*> exited;
    if (n > 0) {
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        job* j = owners[i].first;
        if (j == nullptr) continue;
        switch (owners[i].second) {
          case 0: read_pipe(*j, j->out_fd, j->out, true, 1 << 20); break;
          case 1: read_pipe(*j, j->err_fd, j->err, false, 1 << 20); break;
          case 2: if (j->proc->poll()) exited.push_back(j); break;
          case 3: write_stdin(*j); break;
        }
      }
    }
    now = clock_type::now();
    for (auto& jp : running_) {
      job& j = *jp;
      if (j.pidfd < 0 && std::find(exited.begin(), exited.end(), &j) == exited.end() && j.proc && j.proc->poll())
        exited.push_back(&j);
      if (j.deadline && !j.killing && now >= *j.deadline) {
        j.timed_out = true;
        begin_kill(j, true);
      } else if (j.killing && j.term_index < cfg_.term_seq.size() && now >= j.next_term) {
        step_kill(j, now);
      }
    }
    for (job* j : exited) {
      j->exited = true;
      j->returncode = *j->proc->returncode();
      // Whatever the job wrote before it ended is in the pipes now; take it without waiting for EOF, which
      // a backgrounded grandchild could hold off forever.
      read_pipe(*j, j->out_fd, j->out, true, SIZE_MAX);
      read_pipe(*j, j->err_fd, j->err, false, SIZE_MAX);
      auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == j; });
      std::unique_ptr<job> owned = std::move(*it);
      running_.erase(it);
      finish(std::move(owned));
    }
    if (progress_) progress_->update(running_.size());
  }

  if (progress_) progress_->finish(running_.size());
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
  // -k: anything still held (a halt left gaps) goes out in order.
  for (auto& [order, chunk] : held_) emit_chunk(std::move(chunk));
  held_.clear();
  writer_->finish();

  if (interrupted_) return 255;
  if (final_status != 0) return final_status;
  if (halt_status_) return *halt_status_;
  if (cfg_.halt.when != halt_when::never && cfg_.halt.percent && cfg_.halt.why != halt_why::success)
    return static_cast<int>(std::ceil(static_cast<double>(failed_) / static_cast<double>(std::max<std::size_t>(started_, 1)) * 100.0));
  return static_cast<int>(std::min<std::size_t>(failed_, 101));
}

}  // namespace

int run_jobs(config& cfg) {
  runner r(cfg);
  return r.run();
}

}  // namespace sluice::app
