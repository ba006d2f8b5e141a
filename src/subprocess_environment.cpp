// src/subprocess_environment.cpp -- the environment a child gets, and where its program is looked up (PATH), as CPython does.
#include <sluice/subprocess.hpp>

#include <cstdlib>
#include <cstring>

#include "subprocess_state.hpp"

extern char** environ;

namespace sluice {

environment current_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

namespace detail {

namespace {
// The directories of PATH: the child's own PATH when an environment is given, else ours; /bin:/usr/bin without one.
std::vector<std::string> exec_search_path(const std::optional<environment>& env) {
  std::string path;
  if (env) {
    auto it = env->find("PATH");
    path = it != env->end() ? it->second : "/bin:/usr/bin";
  } else {
    const char* p = std::getenv("PATH");
    path = p ? p : "/bin:/usr/bin";
  }
  std::vector<std::string> dirs;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = path.find(':', start);
    dirs.push_back(path.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dirs;
}
}  // namespace

std::vector<std::string> exec_candidates(const std::string& program, const std::optional<environment>& env) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> candidates;
  for (auto& dir : exec_search_path(env)) candidates.push_back(dir.empty() ? program : dir + "/" + program);
  return candidates;
}

}  // namespace detail

}  // namespace sluice
