#include "records.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "text.hpp"

namespace sluice::app {

namespace {

std::string joblog_command(const std::string& cmd) {
  std::string out;
  for (char c : cmd) {
    if (c == '\n') out += '\0';  // GNU writes a NUL byte, keeping the log one line per job
    else out += c;
  }
  return out;
}

// --results tree: a value becomes one path component; '/' would split it, so GNU writes "\_" (and "\\", "\t",
// "\0"). A component longer than a file name may be is cut to 255 bytes (what GNU finds on Linux's file systems).
std::string path_component(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '/') out += "\\_";
    else if (c == '\0') out += "\\0";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  if (out.size() > 255) out.resize(255);
  return out;
}

void write_file(const std::filesystem::path& p, const std::string& content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot write " + p.string() + ": " + std::strerror(errno));
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

}  // namespace

joblog::joblog(const config& cfg) {
  if (!cfg.joblog || cfg.dry_run) return;  // GNU writes no joblog for a dry run
  const std::string& path = *cfg.joblog;
  if (path == "-") {
    file_ = stdout;
    is_stdout_ = true;
  }
  bool keep = cfg.joblog_append || cfg.resume || cfg.resume_failed;
  bool existed = false;
  if (!is_stdout_ && (cfg.resume || cfg.resume_failed)) {
    std::ifstream in(path);
    existed = static_cast<bool>(in);
    done_ = read_joblog_done(in, cfg.resume_failed);
  } else if (!is_stdout_ && keep) {
    existed = std::filesystem::exists(path);
  }
  if (!is_stdout_) {
    file_ = std::fopen(path.c_str(), keep ? "a" : "w");
    if (file_ == nullptr) throw usage_error("cannot open joblog '" + path + "': " + std::strerror(errno));
  }
  bool empty_file = !existed || (!is_stdout_ && std::filesystem::file_size(path) == 0);
  if (!keep || empty_file || is_stdout_) {
    std::fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n", file_);
    std::fflush(file_);
  }
}

std::unordered_set<std::size_t> read_joblog_done(std::istream& in, bool successful_only) {
  std::unordered_set<std::size_t> done;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) {
      first = false;
      if (line.rfind("Seq", 0) == 0) continue;
    }
    auto f = split_string(line, '\t');
    if (f.size() < 9) continue;
    char* end = nullptr;
    unsigned long long seq = std::strtoull(f[0].c_str(), &end, 10);
    if (end == f[0].c_str()) continue;
    bool ok = f[6] == "0" && f[7] == "0";
    if (successful_only && !ok) continue;
    done.insert(static_cast<std::size_t>(seq));
  }
  return done;
}

std::string joblog_line(const job_record& r) {
  // Measured first: a huge start time or runtime prints hundreds of digits with %f.
  auto format = [&](char* buf, std::size_t size) {
    return std::snprintf(buf, size, "%zu\t%s\t%.3f\t%10.3f\t%zu\t%zu\t%d\t%d\t", r.seq, r.host.c_str(), r.start_time, r.runtime,
                         r.send, r.receive, r.exitval, r.signal);
  };
  int n = format(nullptr, 0);
  std::string line(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) format(line.data(), line.size() + 1);
  line += joblog_command(r.command);
  line += '\n';
  return line;
}

joblog::~joblog() {
  if (file_ != nullptr && !is_stdout_) std::fclose(file_);
  else if (file_ != nullptr) std::fflush(file_);
}

bool joblog::skip(std::size_t seq) const { return done_.count(seq) != 0; }

void joblog::write(const job_record& r) {
  if (file_ == nullptr) return;
  std::string line = joblog_line(r);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

results_writer::results_writer(const config& cfg) : cfg_(cfg) {
  switch (cfg.results) {
    case results_kind::none:
      return;
    case results_kind::tree: {
      std::error_code ec;
      std::filesystem::create_directories(cfg.results_path, ec);
      if (ec) throw usage_error("cannot create results directory '" + cfg.results_path + "': " + ec.message());
      return;
    }
    case results_kind::templated:
      return;
    case results_kind::csv:
    case results_kind::tsv:
    case results_kind::json: {
      if (cfg.results_path == "-.csv" || cfg.results_path == "-.tsv" || cfg.results_path == "-.json") {
        file_ = stdout;  // as GNU: the records go to standard output
        return;
      }
      auto parent = std::filesystem::path(cfg.results_path).parent_path();
      if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
      }
      file_ = std::fopen(cfg.results_path.c_str(), "w");
      if (file_ == nullptr)
        throw usage_error("cannot open results file '" + cfg.results_path + "': " + std::strerror(errno));
      return;
    }
  }
}

results_writer::~results_writer() {
  if (file_ == stdout) std::fflush(file_);
  else if (file_ != nullptr) std::fclose(file_);
}

void results_writer::set_column_names(const std::map<std::string, std::size_t>& names) {
  for (const auto& [name, pos] : names) {
    if (pos == 0) continue;
    if (column_names_.size() < pos) column_names_.resize(pos);
    column_names_[pos - 1] = name;
  }
}

std::filesystem::path results_writer::tree_dir(const std::vector<arg_record>& args) const {
  // As GNU: each argument's columns are named by their header (else their number) and ordered by that name,
  // by its numeric value first (Perl's), then as text.
  std::filesystem::path dir = cfg_.results_path;
  for (const auto& rec : args) {
    std::vector<std::pair<std::string, std::size_t>> columns;
    for (std::size_t k = 0; k < rec.size(); ++k)
      columns.emplace_back(k < column_names_.size() && !column_names_[k].empty() ? column_names_[k] : std::to_string(k + 1), k);
    std::stable_sort(columns.begin(), columns.end(), [](const auto& a, const auto& b) {
      const double x = perl_number(a.first), y = perl_number(b.first);
      return x != y ? x < y : a.first < b.first;
    });
    for (const auto& [name, k] : columns) dir = dir / path_component(name) / path_component(rec[k]);
  }
  return dir;
}

std::string results_writer::stdout_path(const std::vector<arg_record>& args, const std::string& name) const {
  if (cfg_.results == results_kind::templated) return templated_dir(name) ? name + "stdout" : name;
  if (cfg_.results != results_kind::tree) return {};
  return (tree_dir(args) / "stdout").string();
}

bool results_writer::exists(const std::vector<arg_record>& args, const std::string& name) const {
  std::string p = stdout_path(args, name);
  std::error_code ec;
  if (p.empty()) return false;
  return cfg_.results == results_kind::templated ? std::filesystem::is_regular_file(p, ec)
                                                  : std::filesystem::exists(p, ec);
}

void results_writer::write(const job_record& r, const std::vector<arg_record>& args, const std::string& out,
                           const std::string& err, const std::string& name) {
  std::vector<std::string> values;
  for (const auto& rec : args)
    for (const auto& v : rec) values.push_back(v);
  switch (cfg_.results) {
    case results_kind::none:
      return;
    case results_kind::tree: {
      std::filesystem::path dir = tree_dir(args);
      std::filesystem::create_directories(dir);
      write_file(dir / "stdout", out);
      write_file(dir / "stderr", err);
      write_file(dir / "seq", std::to_string(r.seq));
      return;
    }
    case results_kind::templated: {
      if (templated_dir(name)) {
        std::filesystem::create_directories(name);
        write_file(name + "stdout", out);
        write_file(name + "stderr", err);
        write_file(name + "seq", std::to_string(r.seq));
        return;
      }
      std::filesystem::path p = name;
      if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
      write_file(p, out);
      write_file(p.string() + ".err", err);
      write_file(p.string() + ".seq", std::to_string(r.seq));
      return;
    }
    case results_kind::csv:
    case results_kind::tsv: {
      char sep = cfg_.results == results_kind::csv ? ',' : '\t';
      std::string h;
      if (!header_written_) {
        for (const char* c : {"Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"}) {
          h += c;
          h += sep;
        }
        for (std::size_t i = 0; i < values.size(); ++i) {
          h += "V" + std::to_string(i + 1);
          h += sep;
        }
        h += "Stdout";
        h += sep;
        h += "Stderr\n";
      }
      char buf[256];
      std::snprintf(buf, sizeof buf, "%zu%c:%c%.3f%c%.3f%c%zu%c%zu%c%d%c%d%c", r.seq, sep, sep, r.start_time, sep,
                    r.runtime, sep, r.send, sep, r.receive, sep, r.exitval, sep, r.signal, sep);
      std::string line = buf;
      line += csv_field(r.command, sep);
      for (const auto& v : values) {
        line += sep;
        line += csv_field(v, sep);
      }
      line += sep;
      line += csv_field(out, sep);
      line += sep;
      line += csv_field(err, sep);
      line += '\n';
      record(std::move(h), std::move(line));
      return;
    }
    case results_kind::json: {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "{ \"Seq\": %zu, \"Host\": \":\", \"Starttime\": %.3f, \"JobRuntime\": %.3f, \"Send\": %zu, "
                    "\"Receive\": %zu, \"Exitval\": %d, \"Signal\": %d, \"Command\": ",
                    r.seq, r.start_time, r.runtime, r.send, r.receive, r.exitval, r.signal);
      std::string line = buf;
      line += json_string(r.command);
      line += ", \"V\": [ ";
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) line += ",";  // GNU writes no space between the values
        line += json_string(values[i]);
      }
      line += " ], \"Stdout\": " + json_string(out) + ", \"Stderr\": " + json_string(err) + " }\n";
      record({}, std::move(line));
      return;
    }
  }
}

// A CSV/TSV/JSON record: written at once, or under -k kept for put() when its job's turn comes (as GNU writes
// the records in the order of the jobs then). `header` is the CSV/TSV header line, written before the first.
void results_writer::record(std::string header, std::string line) {
  if (cfg_.keep_order) {
    held_header_ = std::move(header);
    held_line_ = std::move(line);
    return;
  }
  put(header, line);
}

void results_writer::put(const std::string& header, const std::string& line) {
  if (!header_written_ && !header.empty()) {
    std::fwrite(header.data(), 1, header.size(), file_);
    header_written_ = true;
  }
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::optional<std::pair<std::string, std::string>> results_writer::take_held() {
  if (held_line_.empty()) return std::nullopt;
  auto r = std::make_pair(std::move(held_header_), std::move(held_line_));
  held_header_.clear();
  held_line_.clear();
  return r;
}

// --retry-failed --joblog FILE: the jobs are the logged commands, by Seq, and --resume-failed skips those that
// succeeded; the command line's command and input are not used (as in GNU).
void load_failed_jobs(config& cfg) {
  std::ifstream in(*cfg.joblog);
  if (!in) return;  // no log yet: nothing failed
  std::map<std::size_t, std::string> commands;
  std::string line;
  while (std::getline(in, line)) {
    auto f = split_string(line, '\t');
    if (f.size() < 9 || f[0].empty() || f[0].find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = f[8];
    for (std::size_t k = 9; k < f.size(); ++k) cmd += "\t" + f[k];
    std::replace(cmd.begin(), cmd.end(), '\0', '\n');  // (the joblog writes a newline as NUL)
    commands[static_cast<std::size_t>(std::stoull(f[0]))] = cmd;
  }
  input_source src;
  src.type = input_source::kind::values;
  for (std::size_t seq = 1; !commands.empty() && seq <= commands.rbegin()->first; ++seq) {
    auto it = commands.find(seq);
    src.values.push_back(it != commands.end() ? it->second : "true");  // (a Seq missing from the log: a no-op)
  }
  cfg.sources = {std::move(src)};
  cfg.command.clear();
  cfg.resume_failed = true;
  cfg.colsep.reset();
  cfg.max_args = 1;
  cfg.args_given = false;
  cfg.xargs_context = cfg.multi_args = cfg.xargs_fill = cfg.max_replace_args = false;
}

}  // namespace sluice::app
