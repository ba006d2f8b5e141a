// The input stage: a thread that reads the input (arguments or --pipe blocks), groups it into jobs
// (-n, -N, -X, -m), numbers them, and hands them to the job loop through a bounded sluice::queue, which the
// loop awaits with aio::get (a blocking read(2) on stdin stays on this thread, never on the loop).
// Thread-safety: start/preload/next/abandon belong to the loop's thread; the rest is internal.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include <sluice/aio.hpp>
#include <sluice/queue.hpp>

#include "compose.hpp"
#include "config.hpp"
#include "input.hpp"
#include "pipe_mode.hpp"
#include "text.hpp"

namespace sluice::app {

// Feeds job_args from the input (a thread) into a bounded queue that the loop awaits.
class feeder {
 public:
  feeder(const config& cfg, input_reader* in, block_reader* blocks, const command_template* tpl)
      // --pipe blocks are up to --block bytes each: queue only about one per slot, so memory stays flat.
      : cfg_(cfg), in_(in), blocks_(blocks), tpl_(tpl), queue_(blocks != nullptr ? std::max<std::size_t>(2, cfg.jobs) : 256) {}
  feeder(const feeder&) = delete;
  feeder& operator=(const feeder&) = delete;
  ~feeder() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Reads everything now (for --bar, --eta, {##}, --halt N%): the total must be known before the first job.
  std::size_t preload() {
    preloaded_ = true;
    produce([this](job_args a) { buffered_.push_back(std::move(a)); return true; });
    return buffered_.size();
  }
  // After preload: argument-less jobs (one empty value) added up to n jobs in all (--shard's one per job slot).
  void pad_to(std::size_t n) {
    while (buffered_.size() < n) {
      job_args a;
      a.seq = buffered_.size() + 1;
      a.records.push_back(arg_record(1));
      buffered_.push_back(std::move(a));
    }
  }
  // The next job's arguments, waiting (on the loop) until the input thread has one; nullopt once the input is
  // exhausted (or failed: see error()). Cancellable; a cancelled wait takes no item.
  aio::task<std::optional<job_args>> next() {
    if (preloaded_) {
      if (buffered_.empty()) co_return std::nullopt;
      job_args a = std::move(buffered_.front());
      buffered_.pop_front();
      co_return a;
    }
    std::optional<job_args> item;
    try {
      auto get = aio::get(queue_);
      item = co_await get;
    } catch (const sluice::queue_shut_down&) {
      // Closed and drained: the end of the input (or an input error, reported by error()).
    }
    co_return item;
  }
  // --round-robin: the next block for a running job; nullopt at the end of the input.
  aio::task<std::optional<std::string>> next_dealt() {
    std::optional<std::string> item;
    try {
      auto get = aio::get(deal_);
      item = co_await get;
    } catch (const sluice::queue_shut_down&) {
    }
    co_return item;
  }
  // --round-robin: no job reads any more; the input stops being read.
  void stop_dealing() { deal_.shutdown(true); }
  std::string error() {
    std::lock_guard<std::mutex> lock(error_mutex_);
    return error_;
  }
  void stop() {
    stopping_.store(true);
    deal_.shutdown(true);
    if (thread_.joinable()) {
      // Unblock a producer stuck on a full queue; a producer stuck reading stdin is detached by exit.
      queue_.shutdown(true);
      thread_.join();
    }
  }
  // Stops the input thread if it can within a moment (true: joined); else detaches it (false).
  bool abandon() {
    stopping_.store(true);
    queue_.shutdown(true);
    deal_.shutdown(true);
    if (!thread_.joinable()) return true;
    for (int i = 0; i < 20 && !finished_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (finished_.load()) {
      thread_.join();
      return true;
    }
    thread_.detach();
    return false;
  }

 private:
  template <class Sink>
  void produce(Sink&& sink) {
    std::size_t seq = 0;
    auto emit = [&](job_args a) {
      a.seq = ++seq;
      return sink(std::move(a));
    };
    if (blocks_ != nullptr) {
      std::size_t jobs = 0;
      for (;;) {
        auto b = blocks_->next();
        if (!b) {
          deal_.close();
          return;
        }
        if (cfg_.round_robin && jobs >= std::max<std::size_t>(1, cfg_.jobs)) {
          // --round-robin: one job per slot; later blocks go to whichever of them is ready for more.
          try {
            deal_.put(std::move(*b));
          } catch (const sluice::queue_shut_down&) {
            return;
          }
          continue;
        }
        ++jobs;
        job_args a;
        a.block = std::move(*b);
        if (!emit(std::move(a))) return;
      }
    }
    const bool fill = cfg_.max_args == 0 && !cfg_.max_replace_args;
    const bool none = cfg_.max_replace_args && cfg_.max_args == 0;
    const std::size_t batch = none ? 1 : cfg_.max_args;
    if (none) {
      while (auto r = next_record()) {  // -n0 / -N0 / -L0: an argument is read for each job but none reaches it
        job_args a;
        a.records.push_back(arg_record(r->size()));
        if (!emit(std::move(a))) return;
      }
      return;
    }
    if (!fill) {
      // -n/-N/-L: batches of that many. With -X/-m (GNU's rule), the first job whose batch takes the input to its
      // end spreads what it took over the job slots instead: ceil(taken / slots) a job, from then on. Knowing the
      // end means reading one record ahead, so only they do.
      const bool spread = (cfg_.xargs_context || cfg_.multi_args) && cfg_.spread_last;
      std::size_t per_job = batch;
      bool spread_done = !spread;
      std::optional<arg_record> ahead;  // read to learn whether the input ended: the next batch's first
      for (;;) {
        job_args cur;
        bool at_end = false;
        while (cur.records.size() < per_job) {
          auto r = ahead ? std::exchange(ahead, std::nullopt) : next_record();
          if (!r) {
            at_end = true;
            break;
          }
          cur.records.push_back(std::move(*r));
        }
        if (!at_end && !spread_done) {
          ahead = next_record();
          at_end = !ahead;
        }
        if (!spread_done && at_end) {
          spread_done = true;
          if (cur.records.size() > 1) {
            per_job = spread_over_slots(cur.records.size());
            for (std::size_t at = 0; at < cur.records.size(); at += per_job) {
              job_args part;
              const std::size_t stop = std::min(cur.records.size(), at + per_job);
              for (std::size_t k = at; k < stop; ++k) part.records.push_back(std::move(cur.records[k]));
              if (!emit(std::move(part))) return;
            }
            return;
          }
        }
        if (!cur.records.empty() && !emit(std::move(cur))) return;
        if (at_end) return;
      }
    }
    // -X / -m: fill each command line; when the whole input fits in the first round, spread it over the slots.
    const std::size_t lookahead = 100000;
    std::deque<arg_record> pending;
    bool eof = false;
    while (pending.size() < lookahead) {
      auto r = next_record();
      if (!r) {
        eof = true;
        break;
      }
      pending.push_back(std::move(*r));
    }
    // GNU's rule: a job's command stays shorter than the limit (-s, else 63664 on Linux). The command is the
    // template's fixed text, then per argument a space, its quoted values and (-X) the text around them.
    const std::size_t fixed = tpl_->base_length() - tpl_->context_length();
    const std::size_t limit = cfg_.max_line_length > fixed ? cfg_.max_line_length - fixed : 1;
    auto length_of = [&](const arg_record& rec) {
      std::size_t add = 0;
      if (!tpl_->has_perl()) {
        // Exactly what the argument adds: the command made with it alone, less the fixed text, and a space.
        job_args one;
        one.records = {rec};
        const std::size_t whole = tpl_->compose(one, job_numbers{}).shell_command.size();
        add = (whole > fixed ? whole - fixed : 0) + tpl_->separators_per_argument();
      } else {  // ({= =} may count its calls: estimated instead)
        for (const auto& v : rec) add += (shell_quote(v).size() + 1) * tpl_->value_uses();
        add += tpl_->context_length() * rec.size();
      }
      return add;
    };
    // As GNU: once the rest of the input is known and fits in one command line, it is spread evenly over the
    // job slots (ceil(rest / slots) arguments a job from then on).
    std::size_t per_job = SIZE_MAX;
    auto spread_rest = [&] {
      if (per_job != SIZE_MAX || !eof || pending.empty() || !cfg_.spread_last) return;
      std::size_t len = 0;
      for (std::size_t k = 0; k < pending.size(); ++k) {
        len += length_of(pending[k]);
        if (k > 0 && len > limit) return;
      }
      per_job = spread_over_slots(pending.size());
    };
    for (;;) {
      if (pending.empty() && !eof) {
        auto r = next_record();
        if (!r) eof = true;
        else pending.push_back(std::move(*r));
      }
      if (pending.empty()) return;
      spread_rest();
      job_args cur;
      std::size_t len = 0;
      while (!pending.empty() && cur.records.size() < per_job) {
        const std::size_t add = length_of(pending.front());
        if (!cur.records.empty() && len + add > limit) break;
        len += add;
        cur.records.push_back(std::move(pending.front()));
        pending.pop_front();
        if (pending.empty() && !eof) {
          auto r = next_record();
          if (!r) eof = true;
          else pending.push_back(std::move(*r));
        }
      }
      if (!emit(std::move(cur))) return;
    }
  }

  // GNU's spreading of the last arguments (-X/-m): n of them over the job slots, ceil(n / slots) a job.
  std::size_t spread_over_slots(std::size_t n) const {
    const std::size_t slots = std::max<std::size_t>(cfg_.jobs, 1);
    return (n + slots - 1) / slots;
  }

  // The next argument record; under --shuf, all of them are read first and handed out in random order (the
  // job numbers follow that order, as in GNU).
  std::optional<arg_record> next_record() {
    if (!cfg_.shuffle) return in_->next();
    if (!shuffled_) {
      shuffled_.emplace();
      while (auto r = in_->next()) shuffled_->push_back(std::move(*r));
      std::mt19937_64 rng(std::random_device{}());
      std::shuffle(shuffled_->begin(), shuffled_->end(), rng);
    }
    if (shuffled_->empty()) return std::nullopt;
    arg_record r = std::move(shuffled_->front());
    shuffled_->pop_front();
    return r;
  }

  void run() {
    try {
      produce([this](job_args a) {
        try {
          queue_.put(std::move(a));
        } catch (const sluice::queue_shut_down&) {
          return false;
        }
        return !stopping_.load();
      });
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      error_ = e.what();
    }
    queue_.close();
    finished_.store(true);
  }

  const config& cfg_;
  input_reader* in_;
  block_reader* blocks_;
  const command_template* tpl_;
  sluice::queue<job_args> queue_;
  sluice::queue<std::string> deal_{4};  // --round-robin: the blocks after the first of each job
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  bool preloaded_ = false;
  std::deque<job_args> buffered_;
  std::optional<std::deque<arg_record>> shuffled_;  // --shuf
  std::mutex error_mutex_;
  std::string error_;
};

}  // namespace sluice::app
