// src/subprocess_run.cpp -- run() and its Python friends (call, check_call, check_output, getstatusoutput, getoutput).
#include <sluice/subprocess.hpp>

#include "subprocess_state.hpp"

namespace sluice {

completed_process run(std::vector<std::string> args, options opts) {
  detail::validate_common(args, opts);
  if (opts.capture_output) {
    opts.out = redirect::pipe;
    opts.err = redirect::pipe;
  }
  std::optional<std::string> input = std::move(opts.input);
  if (input) opts.in = redirect::pipe;
  auto timeout = opts.timeout;
  bool check = opts.check;
  opts.input.reset();
  opts.capture_output = false;
  opts.timeout.reset();
  opts.check = false;

  process p(args, std::move(opts));
  std::pair<std::string, std::string> output;
  try {
    output = p.communicate(input ? std::string_view(*input) : std::string_view(), timeout);
  } catch (timeout_expired&) {
    p.kill();
    p.wait();
    throw;
  }
  completed_process r{std::move(args), *p.returncode(), std::move(output.first), std::move(output.second)};
  if (check) r.check_returncode();
  return r;
}

int call(std::vector<std::string> args, options opts) { return run(std::move(args), std::move(opts)).returncode; }

void check_call(std::vector<std::string> args, options opts) {
  opts.check = true;
  run(std::move(args), std::move(opts));
}

std::string check_output(std::vector<std::string> args, options opts) {
  if (!opts.out.is_inherit() || opts.capture_output)
    throw std::invalid_argument("sluice::check_output: out may not be set, it is captured");
  opts.out = redirect::pipe;
  opts.check = true;
  return run(std::move(args), std::move(opts)).out;
}

std::pair<int, std::string> getstatusoutput(const std::string& command) {
  auto r = run({command}, {.out = redirect::pipe, .err = redirect::to_stdout, .shell = true});
  std::string data = std::move(r.out);
  if (!data.empty() && data.back() == '\n') data.pop_back();
  return {r.returncode, std::move(data)};
}

std::string getoutput(const std::string& command) { return getstatusoutput(command).second; }

}  // namespace sluice
