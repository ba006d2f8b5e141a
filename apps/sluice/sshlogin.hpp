// GNU parallel's sshlogin syntax (-S, --sshloginfile): `[@grp[+grp]/][N/][sshcommand [options] ][user@]host[:port]`,
// ":" for this machine, several separated by commas; `@grp` alone keeps only the hosts of that group. Pure parsing, no I/O but the file reader.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::app {

struct sshlogin {
  std::string name;                   // as given, without N/ (the --tag and joblog Host name, as GNU's)
  std::optional<std::size_t> slots;   // N/: this host's CPU count for -j (asked from the host otherwise)
  std::vector<std::string> command;   // its own ssh command words, if any ("ssh -i key user@host")
  std::string user;                   // empty: ssh's default
  std::string host;                   // empty for ":" (this machine)
  std::string port;                   // empty: ssh's default
  bool local = false;                 // ":"
  // Its host groups (--hostgroups): the @grp+grp/ ones, then, as GNU's, the text after them ("N/host") and
  // the name. With group_only (`-S @grp`), the groups to keep hosts of, and no host.
  std::vector<std::string> groups;
  bool group_only = false;
};

// Words separated by spaces and tabs (an ssh command's, --ssh's): as the shell GNU hands them to splits them.
std::vector<std::string> split_words(std::string_view s);

// One sshlogin; throws usage_error("bad sshlogin '...': why") for malformed text.
sshlogin parse_sshlogin(std::string_view text);

// A -S value: comma-separated sshlogins (empty entries skipped). Throws usage_error.
std::vector<sshlogin> parse_sshlogin_list(std::string_view text);

// An --sshloginfile's text: one sshlogin (or comma list) per line; blank lines and '#' comments skipped.
std::vector<sshlogin> parse_sshloginfile(std::string_view content);

// The path an --sshloginfile value names: ".." is ~/.parallel/sshloginfile, "." ~/.parallel/sshloginfile too
// (GNU: `--slf .`), else the path itself (a name without '/' is also looked up in ~/.parallel when absent).
std::string sshloginfile_path(const std::string& value);

}  // namespace sluice::app
