// tests/subprocess_test.cpp -- sluice::subprocess against CPython 3.12's behaviour and the spec's failure modes.
// Every test runs under a fixture that fails when a descriptor leaked or a child of ours is left behind.
#include <sluice/subprocess.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/posix/platform.hpp"  // test hooks that force the fallbacks
#include "support/proc.hpp"
#include "support/sanitizer.hpp"

using namespace std::chrono_literals;
using sluice::redirect;

namespace {

const std::string child = SLUICE_TEST_CHILD;
using sluice_test::under_tsan;

using sluice_test::our_children;

// The test main makes this process a child subreaper (support/leak_listener.hpp), so a grandchild that outlives
// its killed parent is adopted by us. Tests that leave one on purpose end it here: true if there was one.
bool end_adopted_grandchildren() {
  auto kids = our_children();
  for (auto [pid, state] : kids) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return !kids.empty();
}

// Leaked descriptors and children are caught after every test by the listener in support/leak_listener.hpp.
class Subprocess : public ::testing::Test {};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ---------------------------------------------------------------- run and friends

TEST_F(Subprocess, RunCapturesOutput) {
  auto r = sluice::run({child, "print", "hello", "eprint", "oops", "exit", "3"}, {.capture_output = true});
  EXPECT_EQ(r.returncode, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(r.args, (std::vector<std::string>{child, "print", "hello", "eprint", "oops", "exit", "3"}));
  EXPECT_THROW(r.check_returncode(), sluice::called_process_error);
}

TEST_F(Subprocess, RunWithoutCaptureLeavesOutputEmpty) {
  auto r = sluice::run({child, "exit", "0"});
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_NO_THROW(r.check_returncode());
}

TEST_F(Subprocess, RunInputFeedsStdin) {
  auto r = sluice::run({child, "echo"}, {.input = "abc\ndef", .capture_output = true});
  EXPECT_EQ(r.out, "abc\ndef");
  auto empty = sluice::run({child, "echo"}, {.input = "", .capture_output = true});
  EXPECT_EQ(empty.out, "");
}

TEST_F(Subprocess, CheckRaisesCalledProcessErrorWithOutput) {
  try {
    sluice::run({child, "print", "partial", "eprint", "bad", "exit", "7"}, {.capture_output = true, .check = true});
    FAIL() << "no exception";
  } catch (const sluice::called_process_error& e) {
    EXPECT_EQ(e.returncode(), 7);
    EXPECT_EQ(e.out(), "partial\n");
    EXPECT_EQ(e.err(), "bad\n");
    EXPECT_EQ(e.cmd().back(), "7");
    EXPECT_NE(std::string(e.what()).find("returned non-zero exit status 7."), std::string::npos) << e.what();
  }
}

TEST_F(Subprocess, CalledProcessErrorMessagesMatchPython) {
  sluice::called_process_error a(1, {"test", "-d", "x"});
  EXPECT_STREQ(a.what(), "Command '['test', '-d', 'x']' returned non-zero exit status 1.");
  sluice::called_process_error b(-15, {"sleep", "it's"});
  EXPECT_STREQ(b.what(), "Command '['sleep', \"it's\"]' died with signal 15 (SIGTERM).");
  sluice::timeout_expired t({"sleep", "5"}, 100ms, "o", "e");
  EXPECT_STREQ(t.what(), "Command '['sleep', '5']' timed out after 0.1 seconds");
  EXPECT_EQ(t.out(), "o");
  EXPECT_EQ(t.err(), "e");
  EXPECT_DOUBLE_EQ(t.timeout().count(), 0.1);
}

TEST_F(Subprocess, CallAndCheckCall) {
  EXPECT_EQ(sluice::call({child, "exit", "4"}), 4);
  EXPECT_NO_THROW(sluice::check_call({child, "exit", "0"}));
  EXPECT_THROW(sluice::check_call({child, "exit", "1"}), sluice::called_process_error);
}

TEST_F(Subprocess, CheckOutput) {
  EXPECT_EQ(sluice::check_output({child, "print", "out"}), "out\n");
  try {
    sluice::check_output({child, "print", "so far", "exit", "2"});
    FAIL();
  } catch (const sluice::called_process_error& e) {
    EXPECT_EQ(e.returncode(), 2);
    EXPECT_EQ(e.out(), "so far\n");
  }
  EXPECT_THROW(sluice::check_output({child}, {.out = redirect::devnull}), std::invalid_argument);
}

TEST_F(Subprocess, GetoutputAndGetstatusoutput) {
  EXPECT_EQ(sluice::getoutput("echo hi; echo there >&2"), "hi\nthere");
  auto [status, out] = sluice::getstatusoutput("echo x; exit 3");
  EXPECT_EQ(status, 3);
  EXPECT_EQ(out, "x");
  EXPECT_EQ(sluice::getoutput("printf 'a\\n\\n'"), "a\n");  // only one newline is stripped
}

TEST_F(Subprocess, ShellRunsCommandLineAndPassesPositionalArgs) {
  auto r = sluice::run({"echo \"$0-$1\"; exit 5", "zero", "one"}, {.capture_output = true, .shell = true});
  EXPECT_EQ(r.out, "zero-one\n");
  EXPECT_EQ(r.returncode, 5);
}

TEST_F(Subprocess, SignalDeathIsNegative) {
  auto r = sluice::run({child, "signal", "9"});
  EXPECT_EQ(r.returncode, -9);
  try {
    sluice::run({child, "signal", "15"}, {.check = true});
    FAIL();
  } catch (const sluice::called_process_error& e) {
    EXPECT_EQ(e.returncode(), -15);
    EXPECT_NE(std::string(e.what()).find("died with signal 15 (SIGTERM)."), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- invalid arguments

TEST_F(Subprocess, InvalidArgumentsThrowBeforeAnythingStarts) {
  using sluice::options;
  auto bad = [](std::vector<std::string> args, options o) {
    EXPECT_THROW(sluice::run(std::move(args), std::move(o)), std::invalid_argument);
  };
  bad({}, {});
  bad({std::string("a\0b", 3)}, {});
  bad({child}, {.env = sluice::environment{{"A=B", "c"}}});
  bad({child}, {.env = sluice::environment{{"A", std::string("c\0d", 3)}}});
  bad({child}, {.env = sluice::environment{{std::string("A\0", 2), "x"}}});
  bad({child}, {.cwd = std::filesystem::path(std::string("/tm\0p", 5))});
  bad({child}, {.executable = std::string("/bin/tr\0ue", 10)});
  bad({child}, {.out = redirect::pipe, .capture_output = true});
  bad({child}, {.err = redirect::devnull, .capture_output = true});
  bad({child}, {.in = redirect::devnull, .input = "x"});
  bad({child}, {.in = redirect::to_stdout});
  bad({child}, {.out = redirect::to_stdout});
  bad({child}, {.pass_fds = {-3}});
  EXPECT_THROW(sluice::process({}), std::invalid_argument);
  EXPECT_THROW(sluice::process({child}, {.input = "x"}), std::invalid_argument);
  EXPECT_THROW(sluice::process({child}, {.capture_output = true}), std::invalid_argument);
  EXPECT_THROW(sluice::process({child}, {.timeout = 1s}), std::invalid_argument);
  EXPECT_THROW(sluice::process({child}, {.check = true}), std::invalid_argument);
  EXPECT_THROW(sluice::stream{-1}, std::invalid_argument);
  EXPECT_THROW(sluice::stream{sluice::fd{}}, std::invalid_argument);
  EXPECT_THROW(sluice::stream{static_cast<const char*>(nullptr)}, std::invalid_argument);
}

// ---------------------------------------------------------------- process

TEST_F(Subprocess, ProcessPollAndWait) {
  sluice::process p({child, "sleep", "0.2", "exit", "6"});
  EXPECT_GT(p.pid(), 0);
  EXPECT_EQ(p.poll(), std::nullopt);
  EXPECT_EQ(p.returncode(), std::nullopt);
  EXPECT_EQ(p.wait(), 6);
  EXPECT_EQ(p.poll(), 6);
  EXPECT_EQ(p.returncode(), 6);
  EXPECT_EQ(p.wait(), 6);
}

TEST_F(Subprocess, PidfdBecomesReadableWhenTheChildEnds) {
  sluice::process p({child, "sleep", "0.1"});
  ASSERT_GE(p.pidfd(), 0);
  pollfd pf{p.pidfd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pf, 1, 0), 0);
  EXPECT_EQ(::poll(&pf, 1, 30000), 1);
  EXPECT_EQ(p.poll(), 0);
}

TEST_F(Subprocess, NanTimeoutIsInvalid) {
  EXPECT_THROW(sluice::run({child}, {.timeout = sluice::seconds(std::nan(""))}), std::invalid_argument);
  sluice::process p({child, "exit", "0"});
  EXPECT_THROW(p.wait(sluice::seconds(std::nan(""))), std::invalid_argument);
  EXPECT_EQ(p.wait(sluice::seconds(1e300)), 0);  // huge timeouts mean no deadline instead of overflowing
}

// The library's one timeout rule (detail/deadline.hpp) on every timed call of this header.
TEST_F(Subprocess, NegativeOrNanTimeoutIsInvalidBeforeAnythingStarts) {
  const std::string marker = ::testing::TempDir() + "sluice_negative_timeout_marker";
  ::unlink(marker.c_str());
  for (double bad : {-1.0, -1e-9, std::nan("")}) {
    // If the child ran, it would create the marker file (its stdout).
    EXPECT_THROW(sluice::run({child, "print", "ran"}, {.out = marker, .timeout = sluice::seconds(bad)}),
                 std::invalid_argument)
        << bad;
    EXPECT_THROW(sluice::run_pipeline({{child, "print", "ran"}, {child, "echo"}},
                                      {.out = marker, .timeout = sluice::seconds(bad)}),
                 std::invalid_argument)
        << bad;
    EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "a child was started for timeout " << bad;
    sluice::process p({child, "readline", "exit", "4"}, {.in = redirect::pipe, .out = redirect::pipe});
    EXPECT_THROW(p.wait(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW(p.communicate("x\n", sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW(p.in().write("x\n", sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW(p.out().read(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW(p.out().read(1, sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_THROW(p.out().readline(sluice::seconds(bad)), std::invalid_argument) << bad;
    EXPECT_FALSE(p.poll().has_value());  // nothing changed: the child still waits for its line
    auto [out, err] = p.communicate("x\n", 30s);
    EXPECT_EQ(out, "x\n");
    EXPECT_EQ(p.returncode(), 4);
  }
}

TEST_F(Subprocess, HugeOrInfiniteTimeoutMeansNoDeadline) {
  for (double huge : {1e12, 1e300, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(sluice::run({child, "print", "a"}, {.capture_output = true, .timeout = sluice::seconds(huge)}).out,
              "a\n");
    EXPECT_EQ(sluice::run_pipeline({{child, "print", "b"}, {child, "echo"}},
                                   {.capture_output = true, .timeout = sluice::seconds(huge)})
                  .out,
              "b\n");
    sluice::process p({child, "readline", "print", "two", "print", "three", "exit", "5"},
                      {.in = redirect::pipe, .out = redirect::pipe});
    p.in().write("one\n", sluice::seconds(huge));
    EXPECT_EQ(p.out().readline(sluice::seconds(huge)), "one\n");
    EXPECT_EQ(p.out().read(4, sluice::seconds(huge)), "two\n");
    EXPECT_EQ(p.out().read(sluice::seconds(huge)), "three\n");
    EXPECT_EQ(p.wait(sluice::seconds(huge)), 5);
  }
}

TEST_F(Subprocess, PipeReadsTimeOutNotEarlyAndKeepWhatArrived) {
  sluice::process p({child, "print", "first", "printn", "sec", "sleep", "2", "print", "ond", "printn", "tail"},
                    {.out = redirect::pipe});
  EXPECT_EQ(p.out().readline(30s), "first\n");
  auto t0 = std::chrono::steady_clock::now();
  try {
    (void)p.out().readline(100ms);  // "sec" arrives, the newline does not
    FAIL() << "expected timeout_expired";
  } catch (const sluice::timeout_expired& e) {
    EXPECT_GE(since(t0), 0.1);
    EXPECT_TRUE(e.cmd().empty());
    EXPECT_EQ(std::string(e.what()), "Pipe I/O timed out after 0.1 seconds");
  }
  t0 = std::chrono::steady_clock::now();
  EXPECT_THROW((void)p.out().read(100, 100ms), sluice::timeout_expired);
  EXPECT_GE(since(t0), 0.1);
  EXPECT_THROW((void)p.out().read(100ms), sluice::timeout_expired);
  EXPECT_EQ(p.out().readline(30s), "second\n");  // the partial line was kept
  EXPECT_EQ(p.out().read(30s), "tail");
  EXPECT_EQ(p.out().read(30s), "");
  EXPECT_EQ(p.wait(), 0);
}

TEST_F(Subprocess, PipeWriteTimesOutAndTellsHowMuchWent) {
  // The child reads nothing for a while: a write bigger than the pipe holds cannot finish by the deadline.
  sluice::process p({child, "sleep", "1.5", "echo"}, {.in = redirect::pipe, .out = redirect::devnull});
  const std::string data(std::size_t(8) << 20, 'x');
  auto t0 = std::chrono::steady_clock::now();
  std::size_t went = 0;
  try {
    p.in().write(data, 100ms);
    FAIL() << "expected timeout_expired";
  } catch (const sluice::timeout_expired& e) {
    EXPECT_GE(since(t0), 0.1);
    went = e.written();
    EXPECT_GT(went, 0u);
    EXPECT_LT(went, data.size());
  }
  p.in().write(std::string_view(data).substr(went), 30s);  // the rest goes once the child reads
  p.in().close();
  EXPECT_EQ(p.wait(30s), 0);
}

TEST_F(Subprocess, WaitTimeoutIsNotEarlyAndChildKeepsRunning) {
  sluice::process p({child, "sleep", "30"});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(p.wait(150ms), sluice::timeout_expired);
  double took = since(t0);
  EXPECT_GE(took, 0.15);
  EXPECT_LT(took, 10.0);
  EXPECT_EQ(p.poll(), std::nullopt);
  p.terminate();
  EXPECT_EQ(p.wait(), -15);
}

TEST_F(Subprocess, TerminateGivesMinus15AndKillMinus9) {
  sluice::process a({child, "sleep", "30"});
  a.terminate();
  EXPECT_EQ(a.wait(), -SIGTERM);
  sluice::process b({child, "sleep", "30"});
  b.kill();
  EXPECT_EQ(b.wait(), -SIGKILL);
  sluice::process c({child, "sleep", "30"});
  c.send_signal(SIGINT);
  EXPECT_EQ(c.wait(), -SIGINT);
}

TEST_F(Subprocess, PipesReadWriteReadline) {
  sluice::process p({child, "echo"}, {.in = redirect::pipe, .out = redirect::pipe});
  EXPECT_TRUE(p.in().is_open());
  p.in().write("line one\nline two\nrest");
  p.in().close();
  EXPECT_FALSE(p.in().is_open());
  EXPECT_EQ(p.out().readline(), "line one\n");
  EXPECT_EQ(p.out().read(4), "line");
  EXPECT_EQ(p.out().read(), " two\nrest");
  EXPECT_EQ(p.out().readline(), std::nullopt);
  EXPECT_EQ(p.wait(), 0);
  EXPECT_THROW(p.err(), std::logic_error);
}

TEST_F(Subprocess, AccessorsThrowUnlessPiped) {
  sluice::process p({child, "exit", "0"});
  EXPECT_THROW(p.in(), std::logic_error);
  EXPECT_THROW(p.out(), std::logic_error);
  EXPECT_THROW(p.err(), std::logic_error);
  p.wait();
}

TEST_F(Subprocess, CommunicateWritesReadsAndWaits) {
  sluice::process p({child, "echo", "eprint", "done"},
                    {.in = redirect::pipe, .out = redirect::pipe, .err = redirect::pipe});
  auto [out, err] = p.communicate("payload");
  EXPECT_EQ(out, "payload");
  EXPECT_EQ(err, "done\n");
  EXPECT_EQ(p.returncode(), 0);
}

TEST_F(Subprocess, CommunicateKeepsDataBufferedByReadline) {
  sluice::process p({child, "print", "first", "print", "second"}, {.out = redirect::pipe});
  EXPECT_EQ(p.out().readline(), "first\n");
  auto [out, err] = p.communicate();
  EXPECT_EQ(out, "second\n");
  EXPECT_EQ(err, "");
}

TEST_F(Subprocess, CommunicateInputWithoutStdinPipeIsALogicError) {
  sluice::process p({child, "exit", "0"});
  EXPECT_THROW(p.communicate("x"), std::logic_error);
  p.wait();
}

TEST_F(Subprocess, CommunicateWithoutPipesJustWaits) {
  sluice::process p({child, "exit", "2"});
  auto [out, err] = p.communicate();
  EXPECT_EQ(out, "");
  EXPECT_EQ(p.returncode(), 2);
}

TEST_F(Subprocess, DestructorKillsAndReapsRunningChild) {
  pid_t pid;
  {
    sluice::process p({child, "sleep", "30"}, {.in = redirect::pipe, .out = redirect::pipe});
    pid = p.pid();
  }
  EXPECT_EQ(kill(pid, 0), -1);  // gone and reaped (the fixture also checks for zombies)
}

TEST_F(Subprocess, MoveAssignKillsTheOldChild) {
  sluice::process a({child, "sleep", "30"});
  sluice::process b({child, "exit", "3"});
  a = std::move(b);
  EXPECT_EQ(a.wait(), 3);
  EXPECT_EQ(b.pid(), -1);
  EXPECT_THROW(b.wait(), std::logic_error);
  sluice::process c(std::move(a));
  EXPECT_EQ(c.returncode(), 3);
}

namespace {
// Forks a parent that starts `child sleep 30` with `o`, reports the child's pid and then waits forever; SIGKILLs
// that parent and returns how its orphan ended within `grace`: its wait status, or -1 while it still runs (the
// test process, a child subreaper, adopts it; a survivor is killed and reaped here).
int orphan_status_after_parent_sigkill(std::optional<int> death_signal, std::chrono::milliseconds grace) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -2;
  pid_t parent = ::fork();
  if (parent == 0) {
    try {
      sluice::options o;
      o.parent_death_signal = death_signal;
      auto* p = new sluice::process({child, "sleep", "30"}, o);  // never destroyed: the parent dies by SIGKILL
      pid_t pid = p->pid();
      if (::write(fds[1], &pid, sizeof pid) != sizeof pid) ::_exit(2);
    } catch (...) {
      ::_exit(3);
    }
    for (;;) ::pause();
  }
  ::close(fds[1]);
  pid_t orphan = -1;
  const bool got = parent > 0 && ::read(fds[0], &orphan, sizeof orphan) == sizeof orphan;
  ::close(fds[0]);
  if (parent > 0) {
    ::kill(parent, SIGKILL);
    ::waitpid(parent, nullptr, 0);
  }
  if (!got) return -2;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int st = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(orphan, &st, WNOHANG) == orphan) return st;
    std::this_thread::sleep_for(5ms);
  }
  ::kill(orphan, SIGKILL);
  ::waitpid(orphan, nullptr, 0);
  return -1;
}
}  // namespace

TEST_F(Subprocess, ParentDeathSignalKillsTheChildWhenItsParentIsKilled) {
  int st = orphan_status_after_parent_sigkill(SIGKILL, 5s);
  ASSERT_GE(st, 0) << "the child outlived its SIGKILLed parent (or the parent failed to start it)";
  EXPECT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
  st = orphan_status_after_parent_sigkill(SIGTERM, 5s);
  ASSERT_GE(st, 0);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

TEST_F(Subprocess, WithoutParentDeathSignalTheChildOutlivesItsParent) {
  // The control: the same parent without the option leaves its child running.
  EXPECT_EQ(orphan_status_after_parent_sigkill(std::nullopt, 300ms), -1);
}

TEST_F(Subprocess, ParentDeathSignalMustBeASignal) {
  EXPECT_THROW(sluice::process({child, "exit", "0"}, {.parent_death_signal = 0}), std::invalid_argument);
  EXPECT_THROW(sluice::process({child, "exit", "0"}, {.parent_death_signal = 1000}), std::invalid_argument);
  EXPECT_EQ(sluice::run({child, "exit", "4"}, {.parent_death_signal = SIGKILL}).returncode, 4);
}

// ---------------------------------------------------------------- failure modes

// 1. Pipe-buffer deadlock.
TEST_F(Subprocess, FM1_NoDeadlockWithMegabytesEachWay) {
  std::string input(1 << 20, 'i');
  for (std::size_t k = 0; k < input.size(); k += 4099) input[k] = static_cast<char>('a' + k % 26);
  auto r = sluice::run({child, "write", "err", std::to_string(1 << 20), "e", "echo"},
                       {.input = input, .capture_output = true, .timeout = 60s});
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.err, std::string(1 << 20, 'e'));
}

// The spec's size: 100 MiB each way (stdin -> stdout echoed, plus 100 MiB of stderr written first). TSan makes
// every byte the helper child copies ~20x dearer, so there it is 20 MiB, still far beyond any pipe buffer.
TEST_F(Subprocess, FM1_HundredMebibytesEachWay) {
  const std::size_t n = std::size_t(under_tsan ? 20 : 100) << 20;
  std::string input(n, 'i');
  for (std::size_t k = 0; k < n; k += 65537) input[k] = static_cast<char>('a' + k % 26);
  sluice::process p({child, "write", "err", std::to_string(n), "e", "echo"},
                    {.in = redirect::pipe, .out = redirect::pipe, .err = redirect::pipe});
  auto [out, err] = p.communicate(input, 100s);
  EXPECT_EQ(p.returncode(), 0);
  EXPECT_EQ(out.size(), n);
  EXPECT_TRUE(out == input);
  EXPECT_EQ(err.size(), n);
  EXPECT_EQ(err.find_first_not_of('e'), std::string::npos);
}

// Big input reserves stdout's buffer from the input size and maps it ahead of the reads from a second thread;
// output beyond that reservation must move the buffer (after the helper is done with it) without losing a byte.
TEST_F(Subprocess, CommunicateOutputOutgrowingTheInputReservation) {
  const std::size_t n = std::size_t(12) << 20, extra = std::size_t(under_tsan ? 12 : 40) << 20;
  std::string input(n, 'i');
  for (std::size_t k = 0; k < n; k += 4093) input[k] = static_cast<char>('a' + k % 26);
  sluice::process p({child, "echo", "write", "out", std::to_string(extra), "y"},
                    {.in = redirect::pipe, .out = redirect::pipe});
  auto [out, err] = p.communicate(input, 100s);
  EXPECT_EQ(p.returncode(), 0);
  ASSERT_EQ(out.size(), n + extra);
  EXPECT_TRUE(std::string_view(out).substr(0, n) == input);
  EXPECT_EQ(out.find_first_not_of('y', n), std::string::npos);
}

// A timeout while a big transfer is stalled, then a second call that finishes it: the buffer prepared in the
// first call is reused and nothing is duplicated or lost.
TEST_F(Subprocess, CommunicateBigInputResumesAfterTimeout) {
  const std::size_t n = std::size_t(16) << 20;
  std::string input(n, 'i');
  for (std::size_t k = 0; k < n; k += 8191) input[k] = static_cast<char>('a' + k % 26);
  sluice::process p({child, "sleep", "1.5", "echo"}, {.in = redirect::pipe, .out = redirect::pipe});
  EXPECT_THROW(p.communicate(input, 100ms), sluice::timeout_expired);
  auto [out, err] = p.communicate(input, 100s);
  EXPECT_EQ(p.returncode(), 0);
  EXPECT_EQ(out.size(), n);
  EXPECT_TRUE(out == input);
}

// A timeout in the middle of a big output: the exception carries every byte read so far (a prefix of the
// output, nothing zero-filled or doubled), and the next call returns the whole output once.
TEST_F(Subprocess, CommunicateTimeoutMidBigOutputKeepsPartialOutput) {
  const std::size_t n = std::size_t(under_tsan ? 8 : 24) << 20;
  sluice::process p({child, "write", "out", std::to_string(n), "y", "sleep", "1.5", "print", "end"},
                    {.out = redirect::pipe, .err = redirect::pipe});
  try {
    p.communicate({}, 500ms);
    FAIL() << "expected timeout_expired";
  } catch (const sluice::timeout_expired& e) {
    EXPECT_LE(e.out().size(), n);
    EXPECT_EQ(e.out().find_first_not_of('y'), std::string::npos);
    EXPECT_EQ(e.err(), "");
  }
  auto [out, err] = p.communicate({}, 100s);
  EXPECT_EQ(p.returncode(), 0);
  ASSERT_EQ(out.size(), n + 4);
  EXPECT_EQ(out.find_first_not_of('y'), n);
  EXPECT_EQ(out.substr(n), "end\n");
}

// Without a timeout a big input is lent to the pipe (vmsplice) and only its last few MiB are copied: the child
// must still see every byte in order, and the buffer may be changed as soon as communicate returns.
TEST_F(Subprocess, CommunicateBigInputWithoutTimeoutIsLentToThePipe) {
  const std::size_t n = std::size_t(under_tsan ? 16 : 64) << 20;
  std::string input(n, 'i');
  for (std::size_t k = 0; k < n; k += 4093) input[k] = static_cast<char>('a' + k % 26);
  const std::string expected = input;
  sluice::process p({child, "echo"}, {.in = redirect::pipe, .out = redirect::pipe});
  auto [out, err] = p.communicate(input);
  std::fill(input.begin(), input.end(), '!');  // the pipe must hold no reference to it any more
  EXPECT_EQ(p.returncode(), 0);
  ASSERT_EQ(out.size(), n);
  EXPECT_TRUE(out == expected);
}

// A child that exits without reading its big input: the lent pages are dropped with the pipe (EPIPE), the
// call returns without hanging.
TEST_F(Subprocess, CommunicateLentInputToAChildThatDoesNotRead) {
  const std::size_t n = std::size_t(32) << 20;
  sluice::process p({child, "print", "bye", "exit", "3"}, {.in = redirect::pipe, .out = redirect::pipe});
  auto [out, err] = p.communicate(std::string(n, 'z'));
  EXPECT_EQ(out, "bye\n");
  EXPECT_EQ(p.returncode(), 3);
}

// A child that reads part of its input and exits: the rest is not delivered, nothing hangs.
TEST_F(Subprocess, CommunicateLentInputPartlyRead) {
  const std::size_t n = std::size_t(32) << 20;
  auto r = sluice::run({"head", "-c", "5000000"}, {.input = std::string(n, 'h'), .capture_output = true});
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out, std::string(5000000, 'h'));
}

// Big input with little output (a filter): the reservation stays mostly untouched address space.
TEST_F(Subprocess, CommunicateBigInputSmallOutput) {
  const std::size_t n = std::size_t(32) << 20;
  sluice::process p({"wc", "-c"}, {.in = redirect::pipe, .out = redirect::pipe});
  auto [out, err] = p.communicate(std::string(n, 'z'), 100s);
  EXPECT_EQ(p.returncode(), 0);
  EXPECT_EQ(out, std::to_string(n) + "\n");
}

// 2. A grandchild holding the pipe must not make a timed run hang.
TEST_F(Subprocess, FM2_GrandchildHoldingPipeDoesNotHangTimedRun) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    sluice::run({"sleep 30 & echo x"}, {.capture_output = true, .shell = true, .timeout = 200ms});
    FAIL() << "expected timeout_expired";
  } catch (const sluice::timeout_expired& e) {
    EXPECT_EQ(e.out(), "x\n");
  }
  EXPECT_LT(since(t0), 1.5);
  EXPECT_GE(since(t0), 0.2);
  EXPECT_TRUE(end_adopted_grandchildren()) << "the background sleep should still run";
}

TEST_F(Subprocess, FM2_HelperGrandchildTimesOutAndReturnsPromptly) {
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(sluice::run({child, "grandchild", "5", "print", "x"}, {.capture_output = true, .timeout = 300ms}),
               sluice::timeout_expired);
  EXPECT_LT(since(t0), 3.0);
  EXPECT_TRUE(end_adopted_grandchildren()) << "the helper's grandchild should still run";
}

// 3. Timeout keeps partial output; communicate can be called again.
TEST_F(Subprocess, FM3_TimeoutKeepsPartialOutputAndCommunicateResumes) {
  sluice::process p({child, "print", "before", "eprint", "e1", "sleep", "0.6", "print", "after"},
                    {.out = redirect::pipe, .err = redirect::pipe});
  try {
    p.communicate({}, 200ms);
    FAIL() << "expected timeout_expired";
  } catch (const sluice::timeout_expired& e) {
    EXPECT_EQ(e.out(), "before\n");
    EXPECT_EQ(e.err(), "e1\n");
    EXPECT_GE(e.timeout().count(), 0.2);
  }
  auto [out, err] = p.communicate({}, 30s);
  EXPECT_EQ(out, "before\nafter\n");
  EXPECT_EQ(err, "e1\n");
  EXPECT_EQ(p.returncode(), 0);
}

TEST_F(Subprocess, FM3_RunTimeoutKillsReapsAndCarriesOutput) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    sluice::run({child, "print", "partial", "sleep", "30"}, {.capture_output = true, .timeout = 300ms});
    FAIL();
  } catch (const sluice::timeout_expired& e) {
    EXPECT_EQ(e.out(), "partial\n");
    EXPECT_EQ(e.cmd().front(), child);
  }
  EXPECT_GE(since(t0), 0.3);
  EXPECT_LT(since(t0), 10.0);
}

TEST_F(Subprocess, CommunicateSecondCallWithOtherInputIsALogicError) {
  sluice::process p({child, "sleep", "0.4", "echo"}, {.in = redirect::pipe, .out = redirect::pipe});
  EXPECT_THROW(p.communicate("abc", 100ms), sluice::timeout_expired);
  EXPECT_THROW(p.communicate("other", 100ms), std::logic_error);
  auto [out, err] = p.communicate("abc", 30s);  // the same input again is fine
  EXPECT_EQ(out, "abc");
}

// 4. Exec failure reaches the parent with errno and filename; no fd and no zombie left.
TEST_F(Subprocess, FM4_ExecFailureCarriesErrnoAndFilename) {
  try {
    sluice::run({"/nonexistent/sluice-no-such-program"});
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(e.filename(), "/nonexistent/sluice-no-such-program");
  }
  try {
    sluice::run({"sluice-no-such-program-on-path"});
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(e.filename(), "sluice-no-such-program-on-path");
  }
  try {
    sluice::run({"/etc/passwd"});  // not executable
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied);
    EXPECT_EQ(e.filename(), "/etc/passwd");
  }
  try {
    sluice::run({"/etc/passwd/x"});
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::not_a_directory);
  }
  try {
    sluice::run({child}, {.cwd = "/nonexistent-sluice-dir"});
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(e.filename(), "/nonexistent-sluice-dir");
  }
}

TEST_F(Subprocess, FM4_ThousandFailedSpawnsLeaveNoFdAndNoZombie) {
  for (int i = 0; i < 1000; ++i) {
    EXPECT_THROW(sluice::run({"/nonexistent/prog"}, {.in = redirect::pipe, .capture_output = true}),
                 sluice::spawn_error);
  }
  EXPECT_THROW(sluice::process({"/nonexistent/prog"}, {.in = redirect::pipe, .out = redirect::pipe}),
               sluice::spawn_error);
}

// 5. Many threads spawning cat with piped stdin: each child ends promptly when its stdin closes.
TEST_F(Subprocess, FM5_SixteenThreadsSpawnCatAndCloseStdin) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        sluice::process p({"cat"}, {.in = redirect::pipe, .out = redirect::pipe});
        std::string msg = "thread " + std::to_string(t) + "\n";
        p.in().write(msg);
        p.in().close();
        std::string got = p.out().read();
        try {
          if (p.wait(30s) == 0 && got == msg) ++ok;
        } catch (const sluice::timeout_expired&) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 64);
}

// The strict form: all 16 cats run at once, then they are closed one at a time while the rest stay open. If a
// stdin write end had leaked into a sibling spawned at the same moment, that cat would never see end of file.
TEST_F(Subprocess, FM5_NoPipeEndLeaksIntoAConcurrentSibling) {
  constexpr int n = 16;
  std::vector<std::optional<sluice::process>> cats(n);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      cats[t].emplace(std::vector<std::string>{"cat"},
                     sluice::options{.in = redirect::pipe, .out = redirect::devnull, .close_fds = false});
    });
  }
  while (ready.load() < n) std::this_thread::yield();
  go = true;
  for (auto& th : threads) th.join();
  for (int t = 0; t < n; ++t) {
    cats[t]->in().close();
    int rc = -1;
    EXPECT_NO_THROW(rc = cats[t]->wait(20s)) << "cat " << t << " never saw end of file";
    EXPECT_EQ(rc, 0);
  }
}

TEST_F(Subprocess, ExceptionsShareTheBaseClass) {
  EXPECT_THROW(sluice::run({child, "exit", "1"}, {.check = true}), sluice::subprocess_error);
  EXPECT_THROW(sluice::run({child, "sleep", "30"}, {.timeout = 50ms}), sluice::subprocess_error);
  EXPECT_THROW(sluice::run({"/nonexistent/x"}), std::system_error);
}

// 6. Spawning while other threads malloc and hold locks never hangs.
TEST_F(Subprocess, FM6_SpawnWhileOtherThreadsMallocAndLock) {
  std::atomic<bool> stop{false};
  std::mutex m;
  std::vector<std::thread> busy;
  for (int t = 0; t < 3; ++t) {
    busy.emplace_back([&] {
      while (!stop.load()) {
        std::lock_guard lock(m);
        std::vector<std::string> v(64, std::string(100, 'x'));
      }
    });
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sluice::run({child, "exit", "0"}).returncode, 0);
  stop = true;
  for (auto& th : busy) th.join();
}

// 7. A huge RLIMIT_NOFILE does not slow spawning (close_fds never loops up to the limit).
TEST_F(Subprocess, FM7_HugeNofileLimitDoesNotSlowSpawning) {
  rlimit old;
  getrlimit(RLIMIT_NOFILE, &old);
  rlimit big{rlim_t(1) << 20, rlim_t(1) << 20};
  if (setrlimit(RLIMIT_NOFILE, &big) != 0) {  // without privileges: as high as the hard limit allows
    big.rlim_cur = big.rlim_max = old.rlim_max;
    if (old.rlim_max < 4096 || setrlimit(RLIMIT_NOFILE, &big) != 0) GTEST_SKIP() << "cannot raise RLIMIT_NOFILE";
  }
  // A descriptor near the top, not close-on-exec, that close_fds must close in the child.
  int high = static_cast<int>(big.rlim_cur - 2);
  int dup_high = dup2(1, high);
  auto t0 = std::chrono::steady_clock::now();
  std::string seen;
  for (int i = 0; i < 20; ++i) seen = sluice::run({child, "fds"}, {.capture_output = true}).out;
  double took = since(t0);
  if (dup_high >= 0) close(high);
  setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(dup_high, high);
  EXPECT_EQ(seen, "0 1 2\n");
  // What a child that closes every descriptor up to the limit one by one would pay per spawn, measured here
  // and now (the machine is noisy, so compare against it rather than against a constant).
  auto c0 = std::chrono::steady_clock::now();
  for (rlim_t f = 1u << 30; f < (1u << 30) + big.rlim_cur; ++f) close(static_cast<int>(f));  // all EBADF
  double naive_per_spawn = since(c0);
  if (big.rlim_cur >= (rlim_t(1) << 20)) {
    EXPECT_LT(took, 20 * naive_per_spawn / 2) << "20 spawns took " << took << " s; one naive close loop "
                                                << naive_per_spawn << " s";
  }
  EXPECT_LT(took, 30.0);
}

// 8. yes | head -1 ends; the parent survives EPIPE.
TEST_F(Subprocess, FM8_YesPipeHeadEnds) {
  auto r = sluice::run_pipeline({{"yes"}, {"head", "-1"}}, {.capture_output = true, .timeout = 60s});
  EXPECT_EQ(r.out, "y\n");
  ASSERT_EQ(r.returncodes.size(), 2u);
  EXPECT_EQ(r.returncodes[0], -SIGPIPE);
  EXPECT_EQ(r.returncodes[1], 0);
}

TEST_F(Subprocess, FM8_ParentSurvivesEpipeOnStdin) {
  std::string big(8 << 20, 'z');
  auto r = sluice::run({child, "exit", "0"}, {.input = big});
  EXPECT_EQ(r.returncode, 0);
  sluice::process p({child, "exit", "0"}, {.in = redirect::pipe});
  p.wait();
  try {
    p.in().write(big);
    FAIL() << "write to a pipe nobody reads";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPIPE);
  }
}

// 9. SIGCHLD = SIG_IGN: wait() still works (returncode 0); a child forked by other code is not reaped by us.
TEST_F(Subprocess, FM9_SigchldIgnoredAndForeignChildrenUntouched) {
  pid_t foreign = fork();
  if (foreign == 0) {
    usleep(300000);
    _exit(42);
  }
  auto r = sluice::run({child, "exit", "5"});
  EXPECT_EQ(r.returncode, 5);
  int status = 0;
  ASSERT_EQ(waitpid(foreign, &status, 0), foreign);  // still ours to reap
  EXPECT_EQ(WEXITSTATUS(status), 42);

  struct sigaction ign {}, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGCHLD, &ign, &old);
  sluice::process p({child, "sleep", "0.1", "exit", "5"});
  EXPECT_EQ(p.wait(30s), 0);  // the status is lost, as in CPython
  EXPECT_EQ(sluice::run({child, "exit", "3"}).returncode, 0);
  sigaction(SIGCHLD, &old, nullptr);
}

// 10. A repeating signal handler without SA_RESTART changes nothing.
namespace {
std::atomic<int> alarms{0};
void on_alarm(int) { alarms.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

TEST_F(Subprocess, FM10_RepeatingSignalWithoutRestart) {
  struct sigaction sa {}, old{};
  sa.sa_handler = on_alarm;
  sa.sa_flags = 0;  // no SA_RESTART: every blocking call sees EINTR
  sigaction(SIGALRM, &sa, &old);
  itimerval every{{0, 2000}, {0, 2000}}, off{};
  setitimer(ITIMER_REAL, &every, nullptr);
  std::string input(2 << 20, 'q');
  auto r = sluice::run({child, "sleep", "0.2", "echo"}, {.input = input, .capture_output = true});
  sluice::process p({child, "sleep", "0.2", "exit", "4"});
  int rc = p.wait(30s);
  sluice::process q({child, "sleep", "30"});
  EXPECT_THROW(q.wait(200ms), sluice::timeout_expired);
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
  EXPECT_EQ(r.out, input);
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(rc, 4);
  EXPECT_GT(alarms.load(), 10);
}

// 11. send_signal after the child was reaped is a no-op.
TEST_F(Subprocess, FM11_SendSignalAfterReapIsNoop) {
  sluice::process p({child, "exit", "0"});
  EXPECT_EQ(p.wait(), 0);
  EXPECT_NO_THROW(p.send_signal(SIGKILL));
  EXPECT_NO_THROW(p.terminate());
  EXPECT_NO_THROW(p.kill());
  EXPECT_EQ(p.returncode(), 0);
}

// 12. Closed or swapped fds 0/1/2 in the parent still give the child the right streams.
TEST_F(Subprocess, FM12_ClosedOrSwappedStandardDescriptors) {
  int saved[3];
  for (int i = 0; i < 3; ++i) saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
  int x[2], y[2];  // made while 0/1/2 are taken, so they get high numbers
  ASSERT_EQ(pipe2(x, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(y, O_CLOEXEC), 0);
  close(0);
  close(1);
  close(2);
  // The pipes now get the numbers 0, 1, 2 in some order; the child must still see them in the right places.
  auto r = sluice::run({child, "echo", "eprint", "to-err"}, {.input = "to-out", .capture_output = true});
  // Swap: the parent's 0 becomes a write end and its 1 a read end; the child is given them crosswise and must
  // read its stdin from the parent's 1 and write its stdout into the parent's 0.
  ssize_t wrote = write(y[1], "swapped", 7);
  close(y[1]);
  dup3(x[1], 0, O_CLOEXEC);
  dup3(y[0], 1, O_CLOEXEC);
  close(x[1]);
  close(y[0]);
  auto s = sluice::run({child, "echo"}, {.in = 1, .out = 0, .err = redirect::devnull});
  for (int i = 0; i < 3; ++i) {
    dup2(saved[i], i);
    close(saved[i]);
  }
  char buf[32];
  ssize_t got = read(x[0], buf, sizeof buf);
  close(x[0]);
  EXPECT_EQ(r.out, "to-out");
  EXPECT_EQ(r.err, "to-err\n");
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(wrote, 7);
  EXPECT_EQ(s.returncode, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(got, 0))), "swapped");
}

// ---------------------------------------------------------------- options

TEST_F(Subprocess, OptionCwd) {
  auto r = sluice::run({child, "cwd"}, {.capture_output = true, .cwd = "/tmp"});
  EXPECT_EQ(r.out, "/tmp\n");
}

TEST_F(Subprocess, OptionEnvReplacesEnvironment) {
  auto r = sluice::run({child, "env", "SLUICE_X", "env", "HOME", "envcount"},
                       {.capture_output = true, .env = sluice::environment{{"SLUICE_X", "42"}}});
  EXPECT_EQ(r.out, "42\n<unset>\n1\n");
  auto env = sluice::current_environment();
  env["SLUICE_Y"] = "y y";
  auto s = sluice::run({child, "env", "SLUICE_Y"}, {.capture_output = true, .env = env});
  EXPECT_EQ(s.out, "y y\n");
}

TEST_F(Subprocess, OptionEnvPathIsUsedForTheSearch) {
  // Without PATH in env, CPython searches os.defpath (/bin:/usr/bin): true is found there.
  EXPECT_EQ(sluice::run({"true"}, {.env = sluice::environment{}}).returncode, 0);
  EXPECT_THROW(sluice::run({"true"}, {.env = sluice::environment{{"PATH", "/nonexistent"}}}), sluice::spawn_error);
}

TEST_F(Subprocess, OptionExecutableKeepsArgv0) {
  auto r = sluice::run({"renamed", "print", "hi"}, {.capture_output = true, .executable = child});
  EXPECT_EQ(r.out, "hi\n");
  auto sh = sluice::run({"echo $0"}, {.capture_output = true, .shell = true, .executable = "/bin/sh"});
  EXPECT_EQ(sh.out, "/bin/sh\n");
}

TEST_F(Subprocess, OptionNicenessIsAbsolute) {
  // The child's nice value is the one given, whatever the parent's; a value past 19 is clamped by the kernel.
  auto r = sluice::run({"sh", "-c", "cut -d' ' -f19 /proc/self/stat"}, {.capture_output = true, .niceness = 7});
  EXPECT_EQ(r.out, "7\n");
  auto clamped = sluice::run({"sh", "-c", "cut -d' ' -f19 /proc/self/stat"}, {.capture_output = true, .niceness = 40});
  EXPECT_EQ(clamped.out, "19\n");
  auto unchanged = sluice::run({"sh", "-c", "cut -d' ' -f19 /proc/self/stat"}, {.capture_output = true});
  EXPECT_EQ(unchanged.out, std::to_string(getpriority(PRIO_PROCESS, 0)) + "\n");
}

TEST_F(Subprocess, OptionCloseFdsAndPassFds) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);  // deliberately not close-on-exec
  auto closed = sluice::run({child, "stat", std::to_string(p[1])}, {.capture_output = true});
  EXPECT_EQ(closed.out, "closed\n");
  auto inherited = sluice::run({child, "stat", std::to_string(p[1])}, {.capture_output = true, .close_fds = false});
  EXPECT_EQ(inherited.out, "open w\n");
  int q[2];
  ASSERT_EQ(pipe2(q, O_CLOEXEC), 0);
  auto passed = sluice::run({child, "stat", std::to_string(q[1]), "stat", std::to_string(p[1])},
                            {.capture_output = true, .pass_fds = {q[1]}});
  EXPECT_EQ(passed.out, "open w\nclosed\n");
  auto only_std = sluice::run({child, "fds"}, {.capture_output = true});
  EXPECT_EQ(only_std.out, "0 1 2\n");
  for (int f : {p[0], p[1], q[0], q[1]}) close(f);
}

// The child starts on the parent's descriptor table and takes a private one holding only what it keeps: with
// thousands of descriptors open it still sees exactly its own, and nothing it does reaches the parent's table
// (a passed descriptor stays close-on-exec in the parent, a standard stream stays what it was).
TEST_F(Subprocess, ChildOfParentWithManyDescriptorsKeepsOnlyItsOwn) {
  std::vector<int> many;
  for (int i = 0; i < 3000; ++i) {
    int fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) break;
    many.push_back(fd);
  }
  ASSERT_GE(many.size(), 1000u) << "cannot open descriptors";
  int plain = dup(1);  // not close-on-exec: only close_range can close it in the child
  ASSERT_GE(plain, 0);
  const int passed = many[many.size() / 2];
  auto r = sluice::run({child, "fds"}, {.out = redirect::pipe, .pass_fds = {passed}});
  EXPECT_EQ(r.out, "0 1 2 " + std::to_string(passed) + "\n");
  EXPECT_EQ(fcntl(passed, F_GETFD), FD_CLOEXEC) << "the child's F_SETFD reached the parent";
  auto piped = sluice::run({child, "fds"}, {.in = redirect::devnull, .capture_output = true});
  EXPECT_EQ(piped.out, "0 1 2\n");
  for (int fd : many) EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(plain, F_GETFD), 0);
  for (int fd : many) close(fd);
  close(plain);
}

TEST_F(Subprocess, OptionRestoreSignals) {
  struct sigaction ign {}, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  auto restored = sluice::run({child, "sighandler", "13", "sighandler", "25"}, {.capture_output = true});
  auto kept = sluice::run({child, "sighandler", "13"}, {.capture_output = true, .restore_signals = false});
  sigaction(SIGPIPE, &old, nullptr);
  EXPECT_EQ(restored.out, "default\ndefault\n");
  EXPECT_EQ(kept.out, "ignore\n");
}

TEST_F(Subprocess, HandlersAreResetAndMaskIsInherited) {
  struct sigaction sa {}, old{};
  sa.sa_handler = on_alarm;
  sigaction(SIGUSR1, &sa, &old);
  sigset_t usr2, before;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2, &before);
  auto r = sluice::run({child, "sighandler", "10", "sigblocked", "10", "sigblocked", "12"}, {.capture_output = true});
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  sigaction(SIGUSR1, &old, nullptr);
  // A caught signal is SIG_DFL in the child; the caller's mask is inherited as with fork+exec (CPython too).
  EXPECT_EQ(r.out, "default\nunblocked\nblocked\n");
}

TEST_F(Subprocess, OptionStartNewSessionAndProcessGroup) {
  auto s = sluice::run({child, "session"}, {.capture_output = true, .start_new_session = true});
  std::istringstream is(s.out);
  int sid, pgid, pid;
  is >> sid >> pgid >> pid;
  EXPECT_EQ(sid, pid);
  EXPECT_EQ(pgid, pid);
  auto g = sluice::run({child, "session"}, {.capture_output = true, .process_group = 0});
  std::istringstream gs(g.out);
  gs >> sid >> pgid >> pid;
  EXPECT_EQ(pgid, pid);
  EXPECT_EQ(sid, getsid(0));
  auto plain = sluice::run({child, "session"}, {.capture_output = true});
  std::istringstream ps(plain.out);
  ps >> sid >> pgid >> pid;
  EXPECT_EQ(pgid, getpgrp());
}

TEST_F(Subprocess, OptionProcessGroupLetsSignalsReachTheGroup) {
  sluice::process p({child, "sleep", "30"}, {.process_group = 0});
  // Give the child a moment to be in its group: setpgid happens before exec, so it already is.
  EXPECT_EQ(::kill(-p.pid(), SIGTERM), 0);
  EXPECT_EQ(p.wait(30s), -SIGTERM);
}

TEST_F(Subprocess, OptionUmask) {
  auto r = sluice::run({child, "umask"}, {.capture_output = true, .umask = 027});
  EXPECT_EQ(r.out, "027\n");
}

TEST_F(Subprocess, StreamsDevnullAndToStdout) {
  auto r = sluice::run({child, "print", "o", "eprint", "e"}, {.out = redirect::pipe, .err = redirect::to_stdout});
  EXPECT_EQ(r.out, "o\ne\n");
  auto n = sluice::run({child, "echo", "print", "after"}, {.in = redirect::devnull, .out = redirect::pipe});
  EXPECT_EQ(n.out, "after\n");
  auto d = sluice::run({child, "print", "gone", "eprint", "kept"}, {.out = redirect::devnull, .err = redirect::pipe});
  EXPECT_EQ(d.out, "");
  EXPECT_EQ(d.err, "kept\n");
}

TEST_F(Subprocess, StreamsFilesTruncateAppendAndRead) {
  auto path = std::filesystem::temp_directory_path() / ("sluice_test_" + std::to_string(getpid()) + ".txt");
  sluice::run({child, "print", "one"}, {.out = path});
  sluice::run({child, "print", "two"}, {.out = sluice::stream::append(path)});
  sluice::run({child, "eprint", "three"}, {.err = sluice::stream::append(path)});
  auto r = sluice::run({child, "echo"}, {.in = path, .capture_output = true});
  EXPECT_EQ(r.out, "one\ntwo\nthree\n");
  sluice::run({child, "print", "new"}, {.out = path.string()});
  auto s = sluice::run({child, "echo"}, {.in = path.c_str(), .capture_output = true});
  EXPECT_EQ(s.out, "new\n");
  std::filesystem::remove(path);
  try {
    sluice::run({child}, {.in = "/nonexistent-sluice/file"});
    FAIL();
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(e.filename(), "/nonexistent-sluice/file");
  }
}

TEST_F(Subprocess, StreamsParentFdAndOwnedFd) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  sluice::run({child, "print", "via parent fd"}, {.out = p[1]});
  EXPECT_NE(fcntl(p[1], F_GETFD), -1);  // the parent keeps it
  int q[2];
  ASSERT_EQ(pipe2(q, O_CLOEXEC), 0);
  sluice::run({child, "print", "via owned fd"}, {.out = sluice::fd(q[1])});
  EXPECT_EQ(fcntl(q[1], F_GETFD), -1);  // closed once the child runs
  close(p[1]);
  char buf[64];
  ssize_t n = read(p[0], buf, sizeof buf);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), "via parent fd\n");
  n = read(q[0], buf, sizeof buf);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), "via owned fd\n");
  close(p[0]);
  close(q[0]);
}

TEST_F(Subprocess, PipeReaderTakeFeedsAnotherChild) {
  sluice::process a({child, "print", "through"}, {.out = redirect::pipe});
  sluice::process b({child, "echo"}, {.in = a.out().take(), .out = redirect::pipe});
  EXPECT_FALSE(a.out().is_open());
  EXPECT_EQ(b.out().read(), "through\n");
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
  sluice::process c({child, "print", "x", "print", "y"}, {.out = redirect::pipe});
  EXPECT_EQ(c.out().read(1), "x");
  EXPECT_THROW(c.out().take(), std::logic_error);
  c.wait();
}

TEST_F(Subprocess, OwnedFdIsClosedWhenTheSpawnFails) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  EXPECT_THROW(sluice::run({"/nonexistent/prog"}, {.out = sluice::fd(p[1])}), sluice::spawn_error);
  EXPECT_EQ(fcntl(p[1], F_GETFD), -1);
  char c;
  EXPECT_EQ(read(p[0], &c, 1), 0);  // the only write end is gone: end of file, not a hang
  close(p[0]);
}

TEST_F(Subprocess, PipeObjectsAfterCloseAndAtEndOfFile) {
  sluice::process p({child, "echo"}, {.in = redirect::pipe, .out = redirect::pipe});
  p.in().write("no newline at the end");
  p.in().close();
  p.in().close();  // idempotent
  EXPECT_THROW(p.in().write("more"), std::logic_error);
  EXPECT_EQ(p.out().readline(), "no newline at the end");
  EXPECT_EQ(p.out().readline(), std::nullopt);
  EXPECT_EQ(p.out().read(10), "");
  p.out().close();
  EXPECT_FALSE(p.out().is_open());
  EXPECT_EQ(p.out().read(), "");
  EXPECT_EQ(p.wait(), 0);
}

TEST_F(Subprocess, FdOwnsAndReleases) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  {
    sluice::fd a(p[0]);
    sluice::fd b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), p[0]);
    sluice::fd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), p[0]);
  }
  EXPECT_EQ(fcntl(p[0], F_GETFD), -1);
  sluice::fd d(p[1]);
  int raw = d.release();
  EXPECT_FALSE(d);
  EXPECT_NE(fcntl(raw, F_GETFD), -1);
  close(raw);
}

TEST_F(Subprocess, CurrentEnvironmentCopiesEnviron) {
  setenv("SLUICE_ENV_PROBE", "a=b", 1);
  auto env = sluice::current_environment();
  unsetenv("SLUICE_ENV_PROBE");
  EXPECT_EQ(env.at("SLUICE_ENV_PROBE"), "a=b");
}

TEST_F(Subprocess, WaitFromSeveralThreadsAndSignalConcurrently) {
  sluice::process p({child, "sleep", "30"});
  std::vector<std::thread> waiters;
  std::atomic<int> seen{0};
  for (int i = 0; i < 4; ++i)
    waiters.emplace_back([&] {
      if (p.wait(60s) == -SIGTERM) ++seen;
    });
  std::this_thread::sleep_for(50ms);
  p.terminate();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(seen.load(), 4);
}

// ---------------------------------------------------------------- pipelines

TEST_F(Subprocess, PipelinePassesDataThrough) {
  auto r = sluice::run_pipeline({{child, "echo"}, {"tr", "a-z", "A-Z"}, {child, "echo", "eprint", "last"}},
                                {.input = "hello", .capture_output = true});
  EXPECT_EQ(r.out, "HELLO");
  EXPECT_EQ(r.err, "last\n");
  EXPECT_EQ(r.returncodes, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(r.returncode(), 0);
  EXPECT_EQ(r.args.size(), 3u);
}

TEST_F(Subprocess, PipelineReturncodeIsRightmostNonzero) {
  auto r = sluice::run_pipeline({{child, "exit", "3"}, {child, "exit", "4"}, {child, "exit", "0"}});
  EXPECT_EQ(r.returncodes, (std::vector<int>{3, 4, 0}));
  EXPECT_EQ(r.returncode(), 4);
  try {
    sluice::run_pipeline({{child, "exit", "3"}, {child, "exit", "4"}, {child, "exit", "0"}}, {.check = true});
    FAIL();
  } catch (const sluice::called_process_error& e) {
    EXPECT_EQ(e.returncode(), 4);
    EXPECT_EQ(e.cmd(), (std::vector<std::string>{child, "exit", "4"}));
  }
}

TEST_F(Subprocess, PipelineTimeoutKillsEveryCommand) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    sluice::run_pipeline({{child, "sleep", "30"}, {child, "print", "mid", "echo"}, {child, "echo"}},
                         {.capture_output = true, .timeout = 300ms});
    FAIL();
  } catch (const sluice::timeout_expired& e) {
    EXPECT_EQ(e.cmd(), (std::vector<std::string>{child, "echo"}));
    EXPECT_EQ(e.out(), "mid\n");
  }
  EXPECT_GE(since(t0), 0.3);
  EXPECT_LT(since(t0), 10.0);
}

TEST_F(Subprocess, PipelineStderrOfAllIsCaptured) {
  auto r = sluice::run_pipeline({{child, "eprint", "a"}, {child, "sleep", "0.1", "eprint", "b"}},
                                {.capture_output = true});
  EXPECT_EQ(r.err, "a\nb\n");
}

TEST_F(Subprocess, PipelineSpawnFailureLeavesNothingBehind) {
  EXPECT_THROW(sluice::run_pipeline({{child, "sleep", "30"}, {"/nonexistent/prog"}}, {.capture_output = true}),
               sluice::spawn_error);
  EXPECT_THROW(sluice::run_pipeline({}), std::invalid_argument);
  EXPECT_THROW(sluice::run_pipeline({{child}, {}}), std::invalid_argument);
}

TEST_F(Subprocess, PipelineProcessGroupIsShared) {
  auto r = sluice::run_pipeline({{child, "session"}, {child, "session", "echo"}, {child, "echo"}},
                                {.capture_output = true, .process_group = 0});
  std::istringstream is(r.out);
  int sid, pgid1, pid1, pgid2, pid2;
  is >> sid >> pgid2 >> pid2 >> sid >> pgid1 >> pid1;  // the second command prints first, then passes the first's
  EXPECT_EQ(pgid1, pid1);  // the first leads
  EXPECT_EQ(pgid2, pid1);  // the second joined it
  EXPECT_NE(pid1, pid2);
}

TEST_F(Subprocess, PipelineOutToFile) {
  auto path = std::filesystem::temp_directory_path() / ("sluice_pipe_" + std::to_string(getpid()) + ".txt");
  sluice::run_pipeline({{child, "print", "b", "print", "a"}, {"sort"}}, {.out = path});
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "a\nb\n");
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------- shlex

TEST(Shlex, QuoteMatchesPython) {
  EXPECT_EQ(sluice::shlex::quote(""), "''");
  EXPECT_EQ(sluice::shlex::quote("abc-_./=+:,@%1"), "abc-_./=+:,@%1");
  EXPECT_EQ(sluice::shlex::quote("a b"), "'a b'");
  EXPECT_EQ(sluice::shlex::quote("it's"), "'it'\"'\"'s'");
  EXPECT_EQ(sluice::shlex::quote("$HOME"), "'$HOME'");
}

TEST(Shlex, JoinMatchesPython) {
  EXPECT_EQ(sluice::shlex::join({"echo", "a b", "c"}), "echo 'a b' c");
  EXPECT_EQ(sluice::shlex::join({}), "");
}

TEST(Shlex, SplitMatchesPythonPosixMode) {
  using v = std::vector<std::string>;
  EXPECT_EQ(sluice::shlex::split("a 'b c' \"d e\" f\\ g"), (v{"a", "b c", "d e", "f g"}));
  EXPECT_EQ(sluice::shlex::split("  "), v{});
  EXPECT_EQ(sluice::shlex::split("a'b'\"c\""), v{"abc"});
  EXPECT_EQ(sluice::shlex::split("'' \"\""), (v{"", ""}));
  EXPECT_EQ(sluice::shlex::split("\"a\\\"b\\$c\\d\""), v{"a\"b\\$c\\d"});
  EXPECT_EQ(sluice::shlex::split("'a\\b'"), v{"a\\b"});
  EXPECT_EQ(sluice::shlex::split("a # comment"), (v{"a", "#", "comment"}));  // split() keeps comments
  EXPECT_EQ(sluice::shlex::split("x\ty\nz"), (v{"x", "y", "z"}));
  EXPECT_THROW(sluice::shlex::split("'open"), std::invalid_argument);
  EXPECT_THROW(sluice::shlex::split("\"open"), std::invalid_argument);
  EXPECT_THROW(sluice::shlex::split("trailing\\"), std::invalid_argument);
  for (std::string s : {"plain", "two words", "it's", "\"q\"", "$x `y` \\z", ""})
    EXPECT_EQ(sluice::shlex::split(sluice::shlex::join({s, "x"})), (v{s, "x"})) << s;
}

// ---------------------------------------------------------------- fallbacks (kernels without pidfd / close_range)

namespace {
struct fallbacks {
  fallbacks() { sluice::detail::os::force_fallbacks_for_testing(true, true); }
  ~fallbacks() { sluice::detail::os::force_fallbacks_for_testing(false, false); }
};
}  // namespace

TEST_F(Subprocess, FallbackWithoutPidfdOrCloseRange) {
  fallbacks on;
  int p[2];
  ASSERT_EQ(pipe(p), 0);  // not close-on-exec: only the /proc walk can close it in the child
  auto r = sluice::run({child, "fds", "exit", "3"}, {.capture_output = true, .pass_fds = {p[0]}});
  EXPECT_EQ(r.out, "0 1 2 " + std::to_string(p[0]) + "\n");
  EXPECT_EQ(r.returncode, 3);
  close(p[0]);
  close(p[1]);

  sluice::process s({child, "sleep", "30"});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(s.wait(150ms), sluice::timeout_expired);
  EXPECT_GE(since(t0), 0.15);
  s.terminate();
  EXPECT_EQ(s.wait(30s), -SIGTERM);

  EXPECT_THROW(sluice::run({child, "print", "x", "sleep", "30"}, {.capture_output = true, .timeout = 200ms}),
               sluice::timeout_expired);
  sluice::process w({child, "sleep", "0.1", "exit", "9"});
  EXPECT_EQ(w.wait(), 9);  // blocking wait without a deadline
  EXPECT_NO_THROW(w.send_signal(SIGTERM));
}

// ---------------------------------------------------------------- blocking descriptor I/O (write_all, read_some)

TEST(DescriptorIo, WriteAllThenReadSomeRoundTripsThroughAPipe) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  sluice::fd r(p[0]), w(p[1]);
  sluice::write_all(w.get(), "hello");
  char buf[16];
  EXPECT_EQ(sluice::read_some(r.get(), buf, sizeof buf), 5u);  // returns what is there, not sizeof buf
  EXPECT_EQ(std::string(buf, 5), "hello");
  w.close();
  EXPECT_EQ(sluice::read_some(r.get(), buf, sizeof buf), 0u);  // end of file
}

TEST(DescriptorIo, WriteAllWaitsOnAFullNonBlockingPipe) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  sluice::fd r(p[0]), w(p[1]);
  const std::string big(1 << 20, 'x');  // far more than a pipe holds: EAGAIN must be waited out, not reported
  std::size_t got = 0;
  std::thread reader([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(r.get(), buf, sizeof buf);
      if (n > 0) got += static_cast<std::size_t>(n);
      else if (n == 0) break;
      else if (errno == EAGAIN) std::this_thread::sleep_for(1ms);
      else break;
    }
  });
  sluice::write_all(w.get(), big);
  w.close();
  reader.join();
  EXPECT_EQ(got, big.size());
}

TEST(DescriptorIo, WriteAllToAGoneReaderIsEpipeNotSigpipe) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  sluice::fd r(p[0]), w(p[1]);
  r.close();
  auto old = std::signal(SIGPIPE, SIG_DFL);  // the default action would kill the test process
  EXPECT_EQ(sluice::try_write_all(w.get(), "x"), EPIPE);
  try {
    sluice::write_all(w.get(), "x");
    ADD_FAILURE() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPIPE);
  }
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);  // consumed, not left for later
  std::signal(SIGPIPE, old);
}

TEST(DescriptorIo, ReadSomeAtLeavesTheOffsetAlone) {
  char path[] = "/tmp/sluice-io-XXXXXX";
  sluice::fd f(::mkostemp(path, O_CLOEXEC));
  ASSERT_TRUE(f);
  ::unlink(path);
  sluice::write_all(f.get(), "abcdef");
  char buf[8];
  EXPECT_EQ(sluice::read_some_at(f.get(), buf, 3, 2), 3u);
  EXPECT_EQ(std::string(buf, 3), "cde");
  sluice::write_all(f.get(), "gh");  // still appends at the end
  EXPECT_EQ(sluice::read_some_at(f.get(), buf, sizeof buf, 0), 8u);
  EXPECT_EQ(std::string(buf, 8), "abcdefgh");
}

TEST(FileApi, CreateOpenSizeAndAccess) {
  std::filesystem::path dir = sluice::create_temp_directory("/tmp/sluice-files.");
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  std::filesystem::path file = dir / "a";
  EXPECT_FALSE(sluice::can_access(file, sluice::access_mode::exists));
  {
    sluice::fd w = sluice::create_new_file(file, 0600);
    ASSERT_TRUE(w);
    EXPECT_NE(::fcntl(w.get(), F_GETFD) & FD_CLOEXEC, 0);
    sluice::write_all(w.get(), "hello");
  }
  try {  // the name is taken now
    sluice::create_new_file(file);
    ADD_FAILURE() << "create_new_file over an existing file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::file_exists);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
  EXPECT_TRUE(sluice::can_access(file, sluice::access_mode::read));
  EXPECT_TRUE(sluice::can_access(file, sluice::access_mode::write));
  EXPECT_FALSE(sluice::can_access(file, sluice::access_mode::execute));
  EXPECT_TRUE(sluice::can_access("/bin/sh", sluice::access_mode::execute));
  sluice::fd r = sluice::open_file(file);
  EXPECT_EQ(sluice::file_size(r.get()), 5u);
  char buf[8];
  EXPECT_EQ(sluice::read_some(r.get(), buf, sizeof buf), 5u);
  EXPECT_THROW(sluice::open_file(dir / "missing"), std::system_error);
  EXPECT_THROW(sluice::file_size(-1), std::system_error);

  sluice::fd u = sluice::create_unnamed_file(dir);  // no name in the directory
  sluice::write_all(u.get(), "xyz");
  EXPECT_EQ(sluice::file_size(u.get()), 3u);
  EXPECT_EQ(sluice::read_some_at(u.get(), buf, sizeof buf, 0), 3u);
  // rewind_file: a child given the descriptor reads the file from its start (as --compress's decompressor does).
  sluice::rewind_file(u.get());
  EXPECT_EQ(sluice::check_output({"cat"}, {.in = sluice::stream(u.get())}), "xyz");
  {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    sluice::fd pr(p[0]), pw(p[1]);
    EXPECT_THROW(sluice::rewind_file(pr.get()), std::system_error);  // a pipe cannot seek
  }
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  EXPECT_THROW(sluice::create_unnamed_file(dir / "missing"), std::system_error);
  EXPECT_THROW(sluice::create_temp_directory(dir / "missing" / "x."), std::system_error);
  std::filesystem::remove_all(dir);
}

TEST(FileApi, OpenTerminalIsATerminalOrEmpty) {
  // With a controlling terminal (run by hand) it is that terminal; without one (CI) the fd is empty, exactly
  // when /dev/tty cannot be opened. A new session never has one.
  sluice::fd t = sluice::open_terminal();
  const int raw = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (t) {
    EXPECT_TRUE(sluice::is_terminal(t.get()));
    EXPECT_GE(raw, 0);
  } else {
    EXPECT_LT(raw, 0);
  }
  if (raw >= 0) ::close(raw);
  auto r = sluice::run({"setsid", "-w", "sh", "-c", "exec 3</dev/tty"}, {.err = sluice::redirect::devnull});
  EXPECT_NE(r.returncode, 0);
}

TEST(FileApi, TerminalQueries) {
  sluice::fd r, w;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  r = sluice::fd(p[0]);
  w = sluice::fd(p[1]);
  EXPECT_FALSE(sluice::is_terminal(r.get()));
  EXPECT_EQ(sluice::terminal_name(r.get()), "");
  EXPECT_FALSE(sluice::is_terminal(-1));
}

TEST(DescriptorIo, BadDescriptorsThrowSystemError) {
  char buf[4];
  EXPECT_THROW(sluice::read_some(-1, buf, sizeof buf), std::system_error);
  EXPECT_THROW(sluice::write_all(-1, "x"), std::system_error);
  EXPECT_EQ(sluice::try_write_all(-1, "x"), EBADF);
}
