// Records of finished jobs: --joblog (GNU's TSV, exactly), the --resume / --resume-failed skip sets read
// back from it, and --results in its four forms (directory tree, templated names, .csv/.tsv, .json).
#pragma once
#include <cstddef>
#include <cstdio>
#include <istream>
#include <map>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config.hpp"
#include "input.hpp"

namespace sluice::app {

struct job_record {
  std::size_t seq = 0;
  double start_time = 0;   // epoch seconds
  double runtime = 0;      // seconds
  std::size_t send = 0;    // bytes sent to the job's stdin (--pipe)
  std::size_t receive = 0; // bytes of stdout received
  int exitval = 0;
  int signal = 0;
  std::string command;
  std::string host = ":";  // the joblog's Host column: the sshlogin a remote job ran on
};

// The Seqs a --resume (every job logged) or --resume-failed (successful_only: Exitval and Signal 0) run skips,
// read from a joblog: GNU's header line, then Seq Host Starttime JobRuntime Send Receive Exitval Signal Command,
// tab-separated. Lines that do not parse are ignored. Throws only std::bad_alloc.
std::unordered_set<std::size_t> read_joblog_done(std::istream& in, bool successful_only);

// One joblog line, newline included (a newline inside the command is written as a NUL byte, as GNU does).
std::string joblog_line(const job_record& r);

class joblog {
 public:
  // Opens the log (truncating unless appending or resuming) and reads the Seqs to skip; throws usage_error.
  explicit joblog(const config& cfg);
  joblog(const joblog&) = delete;
  joblog& operator=(const joblog&) = delete;
  ~joblog();

  bool skip(std::size_t seq) const;  // --resume / --resume-failed: already done
  void write(const job_record& r);   // one line, flushed at once so a killed run can resume
  bool active() const noexcept { return file_ != nullptr; }

 private:
  std::FILE* file_ = nullptr;
  bool is_stdout_ = false;
  std::unordered_set<std::size_t> done_;
};

class results_writer {
 public:
  explicit results_writer(const config& cfg);  // creates the directory or file; throws usage_error
  results_writer(const results_writer&) = delete;
  results_writer& operator=(const results_writer&) = delete;
  ~results_writer();

  bool active() const noexcept { return cfg_.results != results_kind::none; }
  // --header :: the columns' names (name -> position from 1) name the tree's directories, as in GNU.
  void set_column_names(const std::map<std::string, std::size_t>& names);
  // Where a job's stdout goes (tree and templated forms; empty for the others).
  std::string stdout_path(const std::vector<arg_record>& args, const std::string& name) const;
  // --resume: whether this job's results are already there (tree and templated forms only).
  bool exists(const std::vector<arg_record>& args, const std::string& name) const;
  // `name` is the expanded template for results_kind::templated.
  void write(const job_record& r, const std::vector<arg_record>& args, const std::string& out,
             const std::string& err, const std::string& name);
  // Under -k, the CSV/TSV/JSON record that write() just made ({header, line}), for put() in the jobs' order.
  std::optional<std::pair<std::string, std::string>> take_held();
  void put(const std::string& header, const std::string& line);

 private:
  // The tree form's directory of a job: DIR/1/value1/2/value2/..., a column's name in place of its number.
  std::filesystem::path tree_dir(const std::vector<arg_record>& args) const;
  // The templated form: a name ending in / is a directory holding stdout, stderr and seq.
  bool templated_dir(const std::string& name) const { return !name.empty() && name.back() == '/'; }

  const config& cfg_;
  std::FILE* file_ = nullptr;
  void record(std::string header, std::string line);

  bool header_written_ = false;
  std::string held_header_, held_line_;
  std::vector<std::string> column_names_;  // --header :: by position - 1
};

// --retry-failed --joblog FILE: the jobs become the logged commands, by Seq, and --resume-failed skips those that
// succeeded; the command line's command and input are not used (as in GNU). No log yet: nothing changes.
void load_failed_jobs(config& cfg);

}  // namespace sluice::app
