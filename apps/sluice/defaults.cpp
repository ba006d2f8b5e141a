// apps/sluice/defaults.cpp -- GNU parallel's default options: the config files, the -J profiles, $PARALLEL.
#include <cstdlib>
#include <fstream>

#include <sluice/subprocess.hpp>

#include "option_values.hpp"

namespace sluice::app {

namespace {

// Words of a config or profile file: each line split like the shell splits words (quotes and backslashes,
// no expansion); lines starting with '#' are comments. A missing file gives nothing.
std::vector<std::string> file_words(const std::string& path) {
  std::vector<std::string> words;
  std::ifstream in(path);
  if (!in) return words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    try {
      for (auto& w : sluice::shlex::split(line)) words.push_back(std::move(w));
    } catch (const std::invalid_argument&) {
      throw usage_error("unbalanced quotes in " + path + ": " + line);
    }
  }
  return words;
}

}  // namespace

// GNU parallel's default options, which go before the command line's own: the profiles named by
// -J/--profile (files in $PARALLEL_HOME, default ~/.parallel; a name starting with / or ./ is a path), or
// else /etc/parallel/config and $PARALLEL_HOME/config; then $PARALLEL. --plain ignores them all.
std::vector<std::vector<std::string>> default_words(const std::vector<std::string>& profiles, bool plain) {
  std::vector<std::vector<std::string>> words;
  if (plain) return words;
  std::string home;
  if (const char* ph = std::getenv("PARALLEL_HOME"); ph != nullptr && *ph != '\0') home = ph;
  else if (const char* h = std::getenv("HOME"); h != nullptr) home = std::string(h) + "/.parallel";
  auto add = [&](const std::string& path) {
    auto w = file_words(path);
    if (!w.empty()) words.push_back(std::move(w));
  };
  if (profiles.empty()) {
    add("/etc/parallel/config");
    if (!home.empty()) add(home + "/config");
  } else {
    for (const auto& p : profiles) {
      if (p.empty()) continue;
      if (p[0] == '/' || p.rfind("./", 0) == 0) add(p);
      else if (!home.empty()) add(home + "/" + p);
    }
  }
  if (const char* env = std::getenv("PARALLEL"); env != nullptr && *env != '\0') {
    try {
      words.push_back(sluice::shlex::split(env));
    } catch (const std::invalid_argument&) {
      throw usage_error(std::string("unbalanced quotes in $PARALLEL: ") + env);
    }
  }
  return words;
}

}  // namespace sluice::app
