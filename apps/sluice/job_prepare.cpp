// A job before it runs: its command composed (or printed under --dry-run), its slot, tag, color, working
// directory and temp files; -p asks the user first.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sluice/system.hpp>

#include "color.hpp"
#include "job_loop.hpp"
#include "limits.hpp"
#include "perl_expr.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {
// --dry-run with --cat / --fifo: stands for the block's file name until the command is composed (letters only,
// so that it is never quoted), then shown as $PARALLEL_TMP.
constexpr const char* k_tmp_marker = "SLUICExPARALLELxTMPxMARKER";
}  // namespace

// A job's command, slot and tag. Null under --dry-run, which prints the command instead.
std::unique_ptr<job> runner::prepare(job_args args, unsigned attempt, std::size_t order) {
  auto j = std::make_unique<job>();
  j->args = std::move(args);
  j->attempt = attempt;
  j->order = order;
  j->slot = take_slot();
  j->out.compress_from_now();  // --compress
  j->err.compress_from_now();
  // -S with --cat / --fifo: the block's file is made on the host the job runs on, {} naming it there as
  // $PARALLEL_TMP (GNU's way); a job that lands on this machine (":") gets its file here, below.
  const bool tmp_on_host = remote_ && !cfg_.dry_run && (cfg_.cat || cfg_.fifo);
  const bool tmp_marked = (cfg_.cat || cfg_.fifo) && (cfg_.dry_run || tmp_on_host);
  if (tmp_marked) {
    j->args.records = {arg_record{k_tmp_marker}};  // shown as $PARALLEL_TMP, as GNU shows it
  } else if (cfg_.cat) {
    // --cat: the block goes to a file, and {} (or the appended argument) is its name.
    j->cat_file = write_temp_file(j->args.block);
    j->block_bytes = j->args.block.size();
    j->args.records = {arg_record{j->cat_file}};
    if (cfg_.retries <= 1) std::string().swap(j->args.block);  // no retry will need it
  } else if (cfg_.fifo) {
    // --fifo: {} names a named pipe that the block flows through (the job's shell makes it, see execute).
    j->cat_file = write_temp_file(std::string());  // (reserves the name)
    j->args.records = {arg_record{j->cat_file}};
  }
  job_numbers nums{j->args.seq, j->slot, total_};
  const command_template& tpl = j->args.tpl ? *j->args.tpl : *tpl_;
  j->attempts = cfg_.retries;
  if (cfg_.retries_template) {
    // As GNU: the count is the expanded text taken as a number (0: until it succeeds; not a number: once).
    std::string n = tpl.expand_plain(*cfg_.retries_template, j->args, nums);
    j->attempts = 1;
    if (!n.empty() && n.size() < 10 && n.find_first_not_of("0123456789") == std::string::npos)
      j->attempts = std::stoul(n) == 0 ? UINT_MAX : static_cast<unsigned>(std::stoul(n));
  }
  j->cmd = tpl.compose(j->args, nums);
  if (tmp_marked) {
    for (std::size_t at; (at = j->cmd.shell_command.find(k_tmp_marker)) != std::string::npos;)
      j->cmd.shell_command.replace(at, std::strlen(k_tmp_marker), "$PARALLEL_TMP");
    j->cmd.argv.reset();  // the shell expands it
  }
  for (const auto& f : cfg_.filters) {
    // --filter: Perl that decides, after substitution, whether the job runs (a skipped job, as skip()).
    if (j->cmd.skip) break;
    if (!perl_expr::truth(tpl.expand_plain(f, j->args, nums))) j->cmd.skip = true;
  }
  if (!templates_.empty() && !j->cmd.skip) j->template_copies = fill_templates(templates_, tpl, j->args, nums);
  if (cfg_.shell_quote > 0 && !cfg_.dry_run) {
    // --shell-quote: the job prints its command, quoted once per time the option was given, and runs nothing.
    std::string text = j->cmd.shell_command;
    for (int k = 0; k < cfg_.shell_quote; ++k) text = shell_quote(text);
    std::string printf_path = find_program("printf");
    if (!printf_path.empty()) {
      j->cmd.argv = std::vector<std::string>{"printf", "%s\n", text};
      j->cmd.program = printf_path;
    }
  }
  if (cfg_.output != output_mode::ungroup && (cfg_.tag || cfg_.tagstring)) {
    if (cfg_.tagstring) {
      j->tag = tpl.expand_plain(*cfg_.tagstring, j->args, nums) + "\t";
    } else {
      std::string t;
      bool first = true;
      for (const auto& r : j->args.records)
        for (const auto& v : r) {
          if (!first) t += ' ';  // (an empty value counts too: -N0 of two sources tags " ")
          first = false;
          t += v;
        }
      j->tag = t + "\t";
    }
    for (std::size_t at; tmp_marked && (at = j->tag.find(k_tmp_marker)) != std::string::npos;)
      j->tag.replace(at, std::strlen(k_tmp_marker), "$PARALLEL_TMP");
  }
  if (!cfg_.pipe && j->cmd.shell_command.size() >= cfg_.max_line_length) {
    // GNU: the command is refused, naming the input; the jobs already running end, nothing more starts, exit 255.
    // The error comes after their output, as GNU's (said at the end of the run).
    std::string shown;
    if (!j->args.records.empty())
      for (const auto& v : j->args.records.back()) shown += (shown.empty() ? "" : " ") + v;
    closing_error_ = named("sluice: " + too_long_message(j->cmd.shell_command.size(), cfg_.max_line_length, shown) + "\n");
    release_slot(j->slot);
    final_status_ = 255;
    stop_starting_ = true;
    return nullptr;
  }
  if (cfg_.interactive && !cfg_.dry_run && !ask_user(j->cmd.shell_command)) {
    release_slot(j->slot);  // -p: not run, not logged, as in GNU
    return nullptr;
  }
  if (cfg_.color && cfg_.output != output_mode::ungroup) j->color = job_color(j->args.seq);
  if (remote_ && !cfg_.dry_run) assign_host(*j);
  if (tmp_on_host && !remote_job(*j)) {
    j->cat_file = write_temp_file(cfg_.cat ? j->args.block : std::string());  // $PARALLEL_TMP here
    if (cfg_.cat) j->block_bytes = j->args.block.size();
  }
  // --workdir DIR with replacement strings: the job's own directory, as GNU parallel fills them in.
  const bool named_workdir = cfg_.workdir && *cfg_.workdir != "." && *cfg_.workdir != "..." &&
                             cfg_.workdir->find('{') != std::string::npos;
  std::string filled_workdir = named_workdir ? tpl.expand_plain(*cfg_.workdir, j->args, nums) : std::string();
  if (named_workdir && !j->workdir.empty()) j->workdir = filled_workdir;
  if (cfg_.workdir && !cfg_.dry_run && (!j->host || remote_->host(*j->host).login.local) && !j->cmd.skip) {
    // GNU parallel makes the directory and runs the job there; one it cannot enter ends the run with 255.
    j->local_workdir = named_workdir ? filled_workdir : local_workdir(cfg_, j->args.seq);
    std::error_code ec;
    std::filesystem::create_directories(j->local_workdir, ec);
    if (!sluice::can_access(j->local_workdir, sluice::access_mode::execute)) {
      std::string why = ec ? ec.message() : std::string(std::strerror(errno));
      std::string m = named("sluice: Error: Cannot change into non-executable dir " + j->local_workdir + ": " + why + "\n");
      write_all(2, m.data(), m.size());
      release_slot(j->slot);
      final_status_ = 255;
      stop_starting_ = true;
      return nullptr;
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
  if (!cfg_.debug.empty())
    debug_line("run", "job " + std::to_string(j->args.seq) + " attempt " + std::to_string(attempt) + " starts in slot " +
                          std::to_string(j->slot) + ": " + j->cmd.shell_command);
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

// -p: "command ?..." on stderr, the answer read from the terminal; only one starting with y or Y runs the job.
bool runner::ask_user(const std::string& command) {
  std::string prompt = command + " ?...";
  write_all(2, prompt.data(), prompt.size());
  std::string answer;
  char c = 0;
  try {
    while (sluice::read_some(tty_.get(), &c, 1) == 1 && c != '\n') answer += c;
  } catch (const std::system_error&) {
  }
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

}  // namespace sluice::app
