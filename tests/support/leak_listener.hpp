// tests/support/leak_listener.hpp -- fails any test that leaves a file descriptor or a child process behind.
//
// Before each test it takes a snapshot of /proc/self/fd and of our children (every /proc/<pid>/stat whose
// parent is us); after the test it compares, naming each leaked descriptor (with what it points to) and each
// leaked child (pid and command). The test process is made a child subreaper, so a grandchild left running by
// a child that exited is reparented to us and caught as well. Stragglers get a short grace period (a child
// the test just killed may not be gone yet); exited ones (zombies) that are not ours to reap by any handle are
// reaped here; live ones are reported, then killed and reaped so that they cannot spoil later tests.
#pragma once
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "proc.hpp"  // open_fds, all_processes

namespace sluice_test {

class leak_listener : public ::testing::EmptyTestEventListener {
 public:
  // Call once from main, before any thread or child exists.
  static void install() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::testing::UnitTest::GetInstance()->listeners().Append(new leak_listener);
  }

  void OnTestStart(const ::testing::TestInfo&) override {
    fds_before_ = open_fds();
    children_before_ = children();
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    std::map<int, std::string> fds, kids;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (;;) {
      fds = new_entries(open_fds(), fds_before_);
      kids = new_entries(children(), children_before_);
      reap_zombies(kids);
      if ((fds.empty() && kids.empty()) || std::chrono::steady_clock::now() >= give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const auto& [fd, target] : fds) ADD_FAILURE() << "leaked file descriptor " << fd << " -> " << target;
    for (const auto& [pid, what] : kids) {
      ADD_FAILURE() << "leaked child process " << pid << " (" << what << ")";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

 private:
  // pid -> "state comm" for every process whose parent is us.
  static std::map<int, std::string> children() {
    std::map<int, std::string> out;
    const int self = ::getpid();
    for (const auto& p : all_processes())
      if (p.ppid == self) out[p.pid] = std::string(1, p.state) + " " + p.comm;
    return out;
  }

  static std::map<int, std::string> new_entries(const std::map<int, std::string>& now,
                                                const std::map<int, std::string>& before) {
    std::map<int, std::string> out;
    for (const auto& [k, v] : now)
      if (!before.count(k)) out.emplace(k, v);
    return out;
  }

  // An exited grandchild reparented to us is nobody else's to reap, and it is not running: reap it, no leak.
  static void reap_zombies(std::map<int, std::string>& kids) {
    for (auto it = kids.begin(); it != kids.end();) {
      if (it->second.rfind("Z ", 0) == 0 && ::waitpid(it->first, nullptr, WNOHANG) == it->first)
        it = kids.erase(it);
      else
        ++it;
    }
  }

  std::map<int, std::string> fds_before_;
  std::map<int, std::string> children_before_;
};

}  // namespace sluice_test
