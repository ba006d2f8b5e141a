// tests/support/proc.hpp -- what /proc says about this test process: its open descriptors, its threads, its
// children and every process's state, parent and group. One reader for the leak listener and the tests.
#pragma once
#include <dirent.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sluice_test {

struct proc_entry {
  int pid = 0;
  char state = '?';  // R, S, D, Z, ...
  int ppid = 0;
  int pgid = 0;
  std::string comm;
};

// Every process we may read, from /proc/<pid>/stat.
inline std::vector<proc_entry> all_processes() {
  std::vector<proc_entry> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;  // gone in between
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split at the last ')'.
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    proc_entry p;
    p.pid = std::atoi(e->d_name);
    p.comm = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 1));
    rest >> p.state >> p.ppid >> p.pgid;
    out.push_back(std::move(p));
  }
  ::closedir(dir);
  return out;
}

// Our direct children as (pid, state): running ones and zombies alike.
inline std::vector<std::pair<int, char>> our_children() {
  std::vector<std::pair<int, char>> kids;
  const int self = ::getpid();
  for (const auto& p : all_processes())
    if (p.ppid == self) kids.emplace_back(p.pid, p.state);
  return kids;
}

// Our open descriptors: fd -> what it points to (readlink of /proc/self/fd/<fd>).
inline std::map<int, std::string> open_fds() {
  std::map<int, std::string> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return out;
  const int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char buf[PATH_MAX];
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    out[fd] = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
  }
  ::closedir(dir);
  return out;
}

inline std::set<int> open_fd_numbers() {
  std::set<int> out;
  for (const auto& [fd, target] : open_fds()) out.insert(fd);
  return out;
}

// Threads of this process (/proc/self/task).
inline int thread_count() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return 0;
  while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

}  // namespace sluice_test
