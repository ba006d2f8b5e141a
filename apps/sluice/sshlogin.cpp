// apps/sluice/sshlogin.cpp -- parsing GNU parallel's sshlogins (see sshlogin.hpp).
#include "sshlogin.hpp"

#include <sluice/subprocess.hpp>

#include <cstdlib>


#include "config.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Host names and addresses: letters, digits, '.', '-', '_' (an IPv6 address comes in brackets).
bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

}  // namespace

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t b = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

sshlogin parse_sshlogin(std::string_view text) {
  const std::string shown(text);
  auto bad = [&](const std::string& why) { return usage_error("bad sshlogin '" + shown + "': " + why); };
  std::string_view s = trim(text);
  if (s.empty()) throw bad("empty");
  sshlogin r;
  if (s.front() == '@') {  // @grp+grp/ (or @grp alone: a selection)
    std::size_t slash = s.find('/');
    std::string_view list = s.substr(1, slash == std::string_view::npos ? std::string_view::npos : slash - 1);
    if (trim(list).empty()) throw bad("no host group name after '@'");
    for (auto& g : split_string(list, '+')) {
      if (trim(g).empty()) throw bad("an empty host group name");
      r.groups.push_back(g);
    }
    if (slash == std::string_view::npos) {
      r.group_only = true;
      return r;
    }
    s = trim(s.substr(slash + 1));
    if (s.empty()) throw bad("no host after '@" + std::string(list) + "/'");
  }
  r.groups.emplace_back(s);  // GNU: a host is in the group named by its "N/host" text
  // N/: only digits before the first '/' make a CPU count.
  if (auto slash = s.find('/'); slash != std::string_view::npos && all_digits(s.substr(0, slash))) {
    std::string_view n = s.substr(0, slash);
    if (n.size() > 6) throw bad("too many CPUs: " + std::string(n));
    std::size_t v = static_cast<std::size_t>(std::strtoul(std::string(n).c_str(), nullptr, 10));
    if (v == 0) throw bad("0 CPUs");
    r.slots = v;
    s = trim(s.substr(slash + 1));
    if (s.empty()) throw bad("no host after " + std::string(n) + "/");
  }
  // "sshcommand [options] login": the login follows the last space, as in GNU's parser; the command's words
  // are split at spaces and tabs, as GNU's shell splits them. A tab before the login is refused (GNU's
  // parser fails on it).
  std::string_view login = s;
  if (auto sp = s.rfind(' '); sp != std::string_view::npos) {
    login = s.substr(sp + 1);
    r.command = split_words(s.substr(0, sp));
  }
  if (login.find('\t') != std::string_view::npos)
    throw bad("a tab before the host name (the ssh command and the login are separated by a space)");
  r.name = std::string(s);
  if (login == ":") {
    if (!r.command.empty()) throw bad("':' (this machine) takes no ssh command");
    r.local = true;
    if (r.name != r.groups.back()) r.groups.push_back(r.name);
    return r;
  }
  std::string_view hostport = login;
  if (auto at = login.rfind('@'); at != std::string_view::npos) {
    std::string_view user = login.substr(0, at);
    hostport = login.substr(at + 1);
    if (user.empty()) throw bad("empty user name before '@'");
    if (user.find(':') != std::string_view::npos) throw bad("passwords in sshlogins are not supported (use keys)");
    for (char c : user)
      if (c == '/' || c == '@' || static_cast<unsigned char>(c) < 0x20) throw bad("invalid user name");
    r.user = std::string(user);
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {  // [v6 address]:port
    auto close = hostport.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '['");
    host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw bad("text after ']'");
      r.port = std::string(rest.substr(1));
      if (r.port.empty()) throw bad("empty port");
    }
    if (host.empty()) throw bad("empty address in []");
    for (char c : host)
      if (!(host_char(c) || c == ':' || c == '%')) throw bad("invalid address");
  } else {
    if (auto colon = hostport.find(':'); colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      r.port = std::string(hostport.substr(colon + 1));
      if (r.port.empty()) throw bad("empty port after ':'");
    }
    if (host.empty()) throw bad("no host name");
    for (char c : host)
      if (!host_char(c)) throw bad(std::string("invalid character '") + c + "' in the host name");
    if (host.front() == '-') throw bad("a host name cannot start with '-'");
  }
  if (!r.port.empty()) {
    if (!all_digits(r.port) || r.port.size() > 5 || std::strtoul(r.port.c_str(), nullptr, 10) == 0 ||
        std::strtoul(r.port.c_str(), nullptr, 10) > 65535)
      throw bad("port must be a number from 1 to 65535, not '" + r.port + "'");
  }
  r.host = std::string(host);
  if (r.name != r.groups.back()) r.groups.push_back(r.name);
  return r;
}

std::vector<sshlogin> parse_sshlogin_list(std::string_view text) {
  std::vector<sshlogin> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = text.find(',', pos);
    std::string_view part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (!trim(part).empty()) out.push_back(parse_sshlogin(part));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw usage_error("bad sshlogin '" + std::string(text) + "': empty");
  return out;
}

std::vector<sshlogin> parse_sshloginfile(std::string_view content) {
  std::vector<sshlogin> out;
  for (auto& line : split_string(content, '\n')) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    for (auto& h : parse_sshlogin_list(l)) out.push_back(std::move(h));
  }
  return out;
}

std::string sshloginfile_path(const std::string& value) {
  const char* home = std::getenv("HOME");
  std::string dir = std::string(home != nullptr ? home : "") + "/.parallel/";
  if (value == ".." || value == ".") return dir + "sshloginfile";
  if (value.find('/') == std::string::npos && !sluice::can_access(value, sluice::access_mode::exists) &&
      sluice::can_access((dir + value), sluice::access_mode::exists))
    return dir + value;
  return value;
}

}  // namespace sluice::app
