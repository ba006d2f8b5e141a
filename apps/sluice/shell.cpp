// apps/sluice/shell.cpp -- which shell runs the jobs (GNU parallel's choice) and where a program is on PATH.
// Declared in compose.hpp, which composes the commands these decide how to run.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unordered_map>


#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

#include "compose.hpp"
#include "text.hpp"

namespace sluice::app {

std::string find_program(const std::string& name) {
  static std::unordered_map<std::string, std::string> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  std::string found;
  if (name.find('/') != std::string::npos) {
    if (sluice::can_access(name, sluice::access_mode::execute)) found = name;
  } else if (const char* path = std::getenv("PATH")) {
    for (auto& dir : split_string(path, ':')) {
      std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + name;
      if (sluice::can_access(cand, sluice::access_mode::execute)) {
        found = cand;
        break;
      }
    }
  }
  cache.emplace(name, found);
  return found;
}

bool exported_function(const std::string& name) {
  static std::unordered_map<std::string, bool> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  // bash 4.3+ exports `f` as BASH_FUNC_f%%; the patched releases before it used BASH_FUNC_f().
  bool found = std::getenv(("BASH_FUNC_" + name + "%%").c_str()) != nullptr ||
               std::getenv(("BASH_FUNC_" + name + "()").c_str()) != nullptr;
  cache.emplace(name, found);
  return found;
}

namespace {

bool posix_shell_name(const std::string& base) {
  static const char* const k_shells[] = {"bash", "dash", "sh", "zsh", "ksh", "ksh93", "mksh", "pdksh", "ash", "posh", "yash"};
  for (const char* k : k_shells)
    if (base == k) return true;
  return false;
}

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

// GNU parallel's choice: $PARALLEL_SHELL, else the shell that started us (walking up the parents), else
// $SHELL, else /bin/sh. Only Bourne-style shells are taken from the parents, since the quoting is Bourne's.
const job_shell_info& job_shell() {
  static const job_shell_info info = [] {
    job_shell_info r;
    if (const char* ps = std::getenv("PARALLEL_SHELL"); ps != nullptr && *ps != '\0') {
      r.path = ps;
    } else {
      auto self = sluice::system::process(0);
      int pid = self ? self->parent : 0;
      for (int depth = 0; depth < 16 && pid > 1 && r.path.empty(); ++depth) {
        auto p = sluice::system::process(pid);
        if (!p) break;
        std::string exe = p->executable.string();
        if (!exe.empty() && posix_shell_name(base_name(exe))) r.path = exe;
        pid = p->parent;
      }
      if (r.path.empty()) {
        const char* sh = std::getenv("SHELL");
        r.path = (sh != nullptr && *sh != '\0' && posix_shell_name(base_name(sh))) ? sh : "/bin/sh";
      }
    }
    // Resolve /bin/sh -> dash to know how its echo behaves.
    std::error_code ec;
    std::string resolved = std::filesystem::canonical(r.path, ec).string();
    if (ec) resolved = r.path;
    r.echo_is_plain = base_name(resolved) == "bash";
    return r;
  }();
  return info;
}

}  // namespace sluice::app
