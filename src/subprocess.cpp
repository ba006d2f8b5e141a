// src/subprocess.cpp -- sluice::process: the handle on one child, over detail::process_state.
#include <sluice/subprocess.hpp>

#include <csignal>

#include "subprocess_state.hpp"

namespace sluice {

namespace {
detail::process_state& must(const std::unique_ptr<detail::process_state>& s) {
  if (!s) throw std::logic_error("sluice::process: used after being moved from");
  return *s;
}
}  // namespace

process::process(std::vector<std::string> args, options opts) {
  detail::validate_common(args, opts);
  if (opts.input || opts.capture_output || opts.timeout || opts.check)
    throw std::invalid_argument("sluice::process: input, capture_output, timeout and check belong to run()");
  auto st = std::make_unique<detail::process_state>();
  st->args = std::move(args);
  detail::spawn_into(*st, opts);
  state_ = std::move(st);
}

process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;
process::~process() = default;

pid_t process::pid() const noexcept { return state_ ? state_->pid : -1; }
int process::pidfd() const noexcept { return state_ ? state_->pidfd : -1; }

const std::vector<std::string>& process::args() const noexcept {
  static const std::vector<std::string> none;
  return state_ ? state_->args : none;
}

std::optional<int> process::returncode() const noexcept {
  if (!state_) return std::nullopt;
  int rc = state_->returncode.load(std::memory_order_acquire);
  return rc == detail::still_running ? std::nullopt : std::optional<int>(rc);
}

std::optional<int> process::poll() { return must(state_).poll(); }
int process::wait(std::optional<seconds> timeout) { return must(state_).wait(timeout); }

std::pair<std::string, std::string> process::communicate(std::string_view input, std::optional<seconds> timeout) {
  return must(state_).communicate(input, timeout);
}

void process::send_signal(int sig) { must(state_).signal(sig); }
void process::terminate() { send_signal(SIGTERM); }
void process::kill() { send_signal(SIGKILL); }

pipe_writer& process::in() {
  auto& st = must(state_);
  if (!st.in_piped) throw std::logic_error("sluice::process::in: stdin is not redirect::pipe");
  return st.in;
}

pipe_reader& process::out() {
  auto& st = must(state_);
  if (!st.out_piped) throw std::logic_error("sluice::process::out: stdout is not redirect::pipe");
  return st.out;
}

pipe_reader& process::err() {
  auto& st = must(state_);
  if (!st.err_piped) throw std::logic_error("sluice::process::err: stderr is not redirect::pipe");
  return st.err;
}

}  // namespace sluice
