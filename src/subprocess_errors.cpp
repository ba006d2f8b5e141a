// src/subprocess_errors.cpp -- the exceptions of <sluice/subprocess.hpp> and the Python reprs in their messages.
#include <sluice/subprocess.hpp>

#include <charconv>
#include <type_traits>

#include <sluice/detail/deadline.hpp>
#include "subprocess_state.hpp"

namespace sluice {

namespace detail {

namespace {
std::string repr_str(const std::string& s) {
  // Python's str repr: single quotes unless the text holds ' and no ".
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string r(1, q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\t') {
      r += "\\t";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else {
      r += static_cast<char>(c);
    }
  }
  r += q;
  return r;
}

std::string format_seconds(double s) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, s);
  std::string t(buf, res.ptr);
  if (t.find_first_of(".en") == std::string::npos) t += ".0";  // Python prints a float: 5.0, not 5
  return t;
}
}  // namespace

std::string repr_cmd(const std::vector<std::string>& cmd) {
  std::string r = "[";
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    if (i) r += ", ";
    r += repr_str(cmd[i]);
  }
  return r + "]";
}

// The library's one timeout rule (sluice/detail/deadline.hpp); os::clock is the steady clock.
std::optional<os::clock::time_point> deadline_from(std::optional<seconds> timeout) {
  static_assert(std::is_same_v<os::clock, std::chrono::steady_clock>);
  return deadline_after(timeout);
}

namespace {
std::string called_what(int rc, const std::vector<std::string>& cmd) {
  std::string w = "Command '" + repr_cmd(cmd) + "' ";
  if (rc < 0) {
    std::string name = os::signal_name(-rc);
    if (name.empty()) return w + "died with unknown signal " + std::to_string(-rc) + ".";
    return w + "died with signal " + std::to_string(-rc) + " (" + name + ").";
  }
  return w + "returned non-zero exit status " + std::to_string(rc) + ".";
}
}  // namespace
}  // namespace detail

called_process_error::called_process_error(int returncode, std::vector<std::string> cmd, std::string out,
                                           std::string err)
    : subprocess_error(detail::called_what(returncode, cmd)),
      returncode_(returncode),
      cmd_(std::move(cmd)),
      out_(std::move(out)),
      err_(std::move(err)) {}

timeout_expired::timeout_expired(std::vector<std::string> cmd, seconds timeout, std::string out, std::string err)
    : subprocess_error((cmd.empty() ? std::string("Pipe I/O") : "Command '" + detail::repr_cmd(cmd) + "'") +
                       " timed out after " + detail::format_seconds(timeout.count()) + " seconds"),
      cmd_(std::move(cmd)),
      timeout_(timeout),
      out_(std::move(out)),
      err_(std::move(err)) {}

spawn_error::spawn_error(std::error_code code, std::string filename, const std::string& what)
    : std::system_error(code, what), filename_(std::move(filename)) {}

void completed_process::check_returncode() const {
  if (returncode != 0) throw called_process_error(returncode, args, out, err);
}

}  // namespace sluice
