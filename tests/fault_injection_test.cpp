// tests/fault_injection_test.cpp -- system calls that fail, injected through the platform layer's seam
// (src/posix/fault.hpp): each fault must end in a clear exception or a correct fallback, with no descriptor
// leaked (the suite's leak listener checks after every test), no zombie left (checked here, since the listener
// reaps exited children silently) and no byte lost.
#include <sluice/aio.hpp>
#include <sluice/subprocess.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "../src/posix/platform.hpp"  // inject_fault_for_testing
#include "support/proc.hpp"

namespace {

using namespace std::chrono_literals;
namespace os = sluice::detail::os;
namespace aio = sluice::aio;
using os::sys_call;

const std::string child = SLUICE_TEST_CHILD;

// Every exited child of ours that nobody reaped: must be none after a test.
std::vector<std::string> zombies() {
  std::vector<std::string> out;
  for (auto [pid, state] : sluice_test::our_children())
    if (state == 'Z') out.push_back(std::to_string(pid));
  return out;
}

class Fault : public ::testing::Test {
 protected:
  void TearDown() override {
    os::clear_faults_for_testing();
    // A child killed during the test may take a moment to become a zombie; one that stays one is a leak.
    std::vector<std::string> z;
    for (int i = 0; i < 100; ++i) {
      z = zombies();
      if (z.empty()) break;
      std::this_thread::sleep_for(10ms);
    }
    for (auto& pid : z) ADD_FAILURE() << "zombie child " << pid << " left unreaped";
  }

  static void inject(sys_call c, int err, int times = 1, int skip = 0) { os::inject_fault_for_testing(c, err, times, skip); }
  static int taken(sys_call c) { return os::faults_taken_for_testing(c); }
};

template <class F>
std::error_code code_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

const std::string big(300'000, 'q');

// ---------------------------------------------------------------- EINTR and EAGAIN: retried, nothing lost

TEST_F(Fault, ReadAndWriteRetriedOnEintr) {
  inject(sys_call::read, EINTR, 5);
  inject(sys_call::write, EINTR, 5);
  auto r = sluice::run({child, "echo"}, {.input = big, .capture_output = true});
  EXPECT_EQ(r.out, big);
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(taken(sys_call::read), 5);
  EXPECT_EQ(taken(sys_call::write), 5);
}

TEST_F(Fault, CommunicateCarriesOnAfterEagain) {
  // Between poll saying "ready" and the read, another reader of the same pipe may have taken the data.
  inject(sys_call::read, EAGAIN, 3);
  inject(sys_call::write, EAGAIN, 3);
  auto r = sluice::run({child, "echo"}, {.input = big, .capture_output = true});
  EXPECT_EQ(r.out, big);
  EXPECT_EQ(taken(sys_call::read), 3);
  EXPECT_EQ(taken(sys_call::write), 3);
}

TEST_F(Fault, PipeReaderAndWriterWaitOnEagain) {
  sluice::process p({child, "echo"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
  inject(sys_call::write, EAGAIN, 2);
  p.in().write("line one\nline two\n");
  p.in().write("timed\n", 5s);
  p.in().close();
  inject(sys_call::read, EAGAIN, 2);
  EXPECT_EQ(p.out().readline(), "line one\n");
  inject(sys_call::read, EAGAIN, 1);
  EXPECT_EQ(p.out().readline(5s), "line two\n");
  inject(sys_call::read, EAGAIN, 1);
  EXPECT_EQ(p.out().read(), "timed\n");
  EXPECT_EQ(p.wait(), 0);
  EXPECT_EQ(taken(sys_call::write), 2);
  EXPECT_GE(taken(sys_call::read), 2);  // a readline served from the buffer reads nothing
}

TEST_F(Fault, PollRetriedOnEintrKeepsItsDeadline) {
  inject(sys_call::poll, EINTR, 4);
  auto r = sluice::run({child, "print", "hi"}, {.capture_output = true, .timeout = 30s});
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_GE(taken(sys_call::poll), 1);

  // A timeout still ends on time when every poll is interrupted first.
  inject(sys_call::poll, EINTR, 1000);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(sluice::run({child, "sleep", "30"}, {.capture_output = true, .timeout = 200ms}), sluice::timeout_expired);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
}

TEST_F(Fault, WaitRetriedOnEintr) {
  inject(sys_call::wait, EINTR, 5);
  EXPECT_EQ(sluice::run({child, "exit", "7"}).returncode, 7);
  sluice::process p({child, "sleep", "0.05", "exit", "3"});
  EXPECT_EQ(p.wait(10s), 3);
  EXPECT_GE(taken(sys_call::wait), 1);
}

TEST_F(Fault, WaitWithoutPidfdRetriedOnEintr) {
  os::force_fallbacks_for_testing(true, false);
  inject(sys_call::wait, EINTR, 20);
  sluice::process p({child, "sleep", "0.05", "exit", "4"});
  EXPECT_EQ(p.pidfd(), -1);
  EXPECT_EQ(p.wait(10s), 4);
  sluice::process q({child, "exit", "5"});
  EXPECT_EQ(q.wait(), 5);
  os::force_fallbacks_for_testing(false, false);
  EXPECT_GE(taken(sys_call::wait), 1);
}

TEST_F(Fault, PipelineUnderEintrAndEagain) {
  inject(sys_call::read, EINTR, 3);
  inject(sys_call::write, EAGAIN, 3, 1);
  inject(sys_call::poll, EINTR, 3);
  auto r = sluice::run_pipeline({{child, "echo"}, {child, "echo"}, {child, "echo"}},
                                {.input = big, .capture_output = true, .timeout = 60s});
  EXPECT_EQ(r.out, big);
  EXPECT_EQ(r.returncodes, (std::vector<int>{0, 0, 0}));
}

// ---------------------------------------------------------------- EMFILE and ENOMEM: a clear exception

TEST_F(Fault, PipeCreationFailsCleanlyAtEveryPipe) {
  for (int err : {EMFILE, ENFILE, ENOMEM}) {
    for (int which = 0; which < 3; ++which) {
      inject(sys_call::pipe, err, 1, which);
      auto code = code_of([&] { sluice::run({child, "echo"}, {.input = "x", .capture_output = true}); });
      EXPECT_EQ(code.value(), err) << "pipe " << which;
      EXPECT_EQ(taken(sys_call::pipe), 1);
      os::clear_faults_for_testing();
    }
  }
  // The next run works: nothing was left half set up.
  EXPECT_EQ(sluice::run({child, "echo"}, {.input = "ok", .capture_output = true}).out, "ok");
}

TEST_F(Fault, OpenFailsWithTheFileInTheException) {
  inject(sys_call::open, EMFILE);
  try {
    sluice::run({child, "exit", "0"}, {.out = sluice::redirect::devnull});
    ADD_FAILURE() << "no exception";
  } catch (const sluice::spawn_error& e) {
    EXPECT_EQ(e.code().value(), EMFILE);
    EXPECT_EQ(e.filename(), "/dev/null");
  }
  // A pipe made before the failing open goes with the exception.
  inject(sys_call::open, ENOMEM);
  EXPECT_EQ(code_of([&] {
              sluice::run({child, "exit", "0"}, {.in = sluice::redirect::pipe, .out = sluice::stream("/dev/null")});
            }).value(),
            ENOMEM);
  // EINTR on open is retried.
  inject(sys_call::open, EINTR, 3);
  EXPECT_EQ(sluice::run({child, "exit", "0"}, {.out = sluice::redirect::devnull}).returncode, 0);
}

TEST_F(Fault, SpawnFailsCleanlyOnEagainAndEnomem) {
  for (int err : {EAGAIN, ENOMEM, EMFILE}) {
    inject(sys_call::spawn, err);
    try {
      sluice::run({child, "echo"}, {.input = "x", .capture_output = true});
      ADD_FAILURE() << "no exception";
    } catch (const sluice::spawn_error& e) {
      EXPECT_EQ(e.code().value(), err);
      EXPECT_NE(std::string(e.what()).find("cannot create the child process"), std::string::npos) << e.what();
    }
  }
}

TEST_F(Fault, PipelineSpawnFailureKillsAndReapsTheCommandsStarted) {
  // The third command cannot start: the first two, already running (and waiting for input), must go.
  inject(sys_call::spawn, EAGAIN, 1, 2);
  EXPECT_EQ(code_of([&] {
              sluice::run_pipeline({{child, "echo"}, {child, "echo"}, {child, "echo"}}, {.input = big, .capture_output = true});
            }).value(),
            EAGAIN);
  inject(sys_call::pipe, EMFILE, 1, 3);
  EXPECT_EQ(code_of([&] {
              sluice::run_pipeline({{child, "echo"}, {child, "echo"}, {child, "echo"}}, {.input = big, .capture_output = true});
            }).value(),
            EMFILE);
}

// ---------------------------------------------------------------- ENOSYS and EPERM: the fallbacks

TEST_F(Fault, SpawnFallsBackToVforkWhenCloneIsRefused) {
  for (int err : {ENOSYS, EPERM}) {
    inject(sys_call::spawn, err, 3);
    auto r = sluice::run({child, "echo"}, {.input = big, .capture_output = true});
    EXPECT_EQ(r.out, big);
    // The child's own failures still reach the parent through the shared memory.
    try {
      sluice::run({"/nonexistent/program"});
      ADD_FAILURE() << "no exception";
    } catch (const sluice::spawn_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
    }
    try {
      sluice::run({child, "exit", "0"}, {.cwd = "/nonexistent/dir"});
      ADD_FAILURE() << "no exception";
    } catch (const sluice::spawn_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_EQ(e.filename(), "/nonexistent/dir");
    }
    EXPECT_EQ(taken(sys_call::spawn), 3);
    os::clear_faults_for_testing();
  }
}

TEST_F(Fault, PidfdRefusedFallsBackToPolling) {
  for (int err : {ENOSYS, EPERM}) {
    inject(sys_call::pidfd_open, err);
    sluice::process p({child, "sleep", "30"});
    EXPECT_EQ(p.pidfd(), -1);
    EXPECT_THROW(p.wait(100ms), sluice::timeout_expired);
    p.terminate();
    EXPECT_EQ(p.wait(10s), -SIGTERM);
    // Refused once means refused for good: no pidfd_open again until the fallbacks are forgotten.
    sluice::process q({child, "exit", "2"});
    EXPECT_EQ(q.pidfd(), -1);
    EXPECT_EQ(q.wait(), 2);
    EXPECT_EQ(taken(sys_call::pidfd_open), 1);
    auto r = sluice::run({child, "echo"}, {.input = "abc", .capture_output = true, .timeout = 30s});
    EXPECT_EQ(r.out, "abc");
    os::clear_faults_for_testing();
    sluice::process later({child, "exit", "0"});
    EXPECT_GE(later.pidfd(), 0);
    later.wait();
  }
}

TEST_F(Fault, PidfdOutOfDescriptorsFallsBackForThatChildOnly) {
  inject(sys_call::pidfd_open, EMFILE);
  sluice::process p({child, "exit", "6"});
  EXPECT_EQ(p.pidfd(), -1);
  EXPECT_EQ(p.wait(10s), 6);
  sluice::process q({child, "exit", "0"});
  EXPECT_GE(q.pidfd(), 0);  // EMFILE is no reason to give up on pidfds
  q.wait();
}

void on_usr1(int) {}

TEST_F(Fault, Clone3RefusedFallsBackToClone) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "spawn() tries clone3 on x86-64 only";
#endif
  struct sigaction sa {}, old{};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, &old);
  for (int err : {ENOSYS, EPERM, EINVAL}) {
    inject(sys_call::clone3, err);
    // The clone path does what clone3 did in one call: the caught handler is SIG_DFL in the child, the pidfd
    // comes from pidfd_open, and the descriptors are closed.
    auto r = sluice::run({child, "sighandler", "10", "fds"}, {.capture_output = true});
    EXPECT_EQ(r.out, "default\n0 1 2\n") << "errno " << err;
    sluice::process p({child, "exit", "4"});
    EXPECT_GE(p.pidfd(), 0);
    EXPECT_EQ(p.wait(10s), 4);
    EXPECT_EQ(taken(sys_call::clone3), 1);
    os::clear_faults_for_testing();  // forgets the refusal too: clone3 again
    auto again = sluice::run({child, "sighandler", "10"}, {.capture_output = true});
    EXPECT_EQ(again.out, "default\n");
  }
  sigaction(SIGUSR1, &old, nullptr);
}

TEST_F(Fault, CloseRangeRefusedFallsBackToProcWalk) {
  for (int err : {ENOSYS, EPERM, EINVAL}) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);  // not close-on-exec: only close_fds can keep it from the child
    inject(sys_call::close_range, err);
    auto r = sluice::run({child, "fds"}, {.capture_output = true});
    EXPECT_EQ(r.out, "0 1 2\n");
    inject(sys_call::close_range, err);
    r = sluice::run({child, "fds"}, {.capture_output = true, .pass_fds = {p[1]}});
    EXPECT_EQ(r.out, "0 1 2 " + std::to_string(p[1]) + "\n");
    EXPECT_EQ(taken(sys_call::close_range), 2);
    ::close(p[0]);
    ::close(p[1]);
    os::clear_faults_for_testing();
  }
}

// ---------------------------------------------------------------- sluice::aio

aio::task<std::string> aio_echo(std::string input) {
  sluice::options o;
  o.in = sluice::redirect::pipe;
  o.out = sluice::redirect::pipe;
  std::vector<std::string> argv{child, "echo"};
  aio::process p = co_await aio::create_subprocess_exec(argv, o);
  auto [out, err] = co_await p.communicate(std::move(input));
  int rc = co_await p.wait();
  if (rc != 0) throw std::runtime_error("echo failed");
  co_return out;
}

aio::task<sluice::completed_process> aio_run(std::vector<std::string> argv, sluice::options o) {
  co_return co_await aio::run_process(std::move(argv), std::move(o));
}

TEST_F(Fault, AioUnderEintr) {
  inject(sys_call::read, EINTR, 5);
  inject(sys_call::write, EINTR, 5);
  inject(sys_call::epoll_wait, EINTR, 5);
  EXPECT_EQ(aio::run(aio_echo(big)), big);
  EXPECT_EQ(taken(sys_call::read), 5);
  EXPECT_EQ(taken(sys_call::write), 5);
  EXPECT_GE(taken(sys_call::epoll_wait), 1);
}

TEST_F(Fault, AioRunProcessUnderEintrAndWaitEintr) {
  inject(sys_call::read, EINTR, 3);
  inject(sys_call::wait, EINTR, 3);
  auto r = aio::run(aio_run({child, "print", "out", "eprint", "err", "exit", "3"}, {.capture_output = true}));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.returncode, 3);
}

TEST_F(Fault, AioPipeEmfileIsAClearException) {
  for (int which = 0; which < 3; ++which) {
    inject(sys_call::pipe, EMFILE, 1, which);
    EXPECT_EQ(code_of([&] { aio::run(aio_run({child, "echo"}, {.input = "x", .capture_output = true})); }).value(), EMFILE)
        << "pipe " << which;
    os::clear_faults_for_testing();
  }
  inject(sys_call::spawn, ENOMEM);
  EXPECT_EQ(code_of([&] { aio::run(aio_echo("x")); }).value(), ENOMEM);
}

TEST_F(Fault, AioLoopDescriptorsEmfileIsAClearException) {
  for (sys_call c : {sys_call::epoll_create, sys_call::timerfd_create, sys_call::eventfd_create}) {
    inject(c, EMFILE);
    EXPECT_ANY_THROW(aio::run(aio_echo("x"))) << static_cast<int>(c);
    EXPECT_EQ(taken(c), 1);
    os::clear_faults_for_testing();
  }
  EXPECT_EQ(aio::run(aio_echo("after")), "after");
}

TEST_F(Fault, AioWithoutPidfdPollsForExit) {
  inject(sys_call::pidfd_open, ENOSYS);
  auto r = aio::run(aio_run({child, "sleep", "0.05", "print", "late", "exit", "9"}, {.capture_output = true}));
  EXPECT_EQ(r.out, "late\n");
  EXPECT_EQ(r.returncode, 9);
  EXPECT_EQ(aio::run(aio_echo(big)), big);
  EXPECT_THROW(aio::run(aio_run({child, "sleep", "30"}, {.timeout = 100ms})), sluice::timeout_expired);
  EXPECT_EQ(taken(sys_call::pidfd_open), 1);
}

TEST_F(Fault, AioPidfdOutOfDescriptorsStillReapsTheChild) {
  inject(sys_call::pidfd_open, EMFILE);
  auto r = aio::run(aio_run({child, "exit", "4"}, {}));
  EXPECT_EQ(r.returncode, 4);
  EXPECT_EQ(taken(sys_call::pidfd_open), 1);
}

// No injected EAGAIN for sluice::aio: its descriptors are non-blocking, so EAGAIN is its ordinary path (every
// aio test takes it), and the epoll set is edge-triggered, which relies on the kernel's promise that EAGAIN
// means "nothing there now" -- an EAGAIN with data waiting, which no kernel gives, would wait for an edge that
// never comes.

// ---------------------------------------------------------------- the big-transfer paths of communicate

// A patterned buffer: a byte moved, doubled or dropped shows up in a comparison.
std::string patterned(std::size_t n) {
  std::string s(n, 'i');
  for (std::size_t k = 0; k < n; k += 4093) s[k] = static_cast<char>('a' + k % 26);
  return s;
}

// F_SETPIPE_SZ refused (a user over the pipe quota, a pipe-max-size below 1 MiB): communicate goes on with the
// default 64 KiB pipes and loses nothing, sync and aio.
TEST_F(Fault, CommunicateWithBiggerPipesRefused) {
  const std::string input = patterned(std::size_t(24) << 20);
  inject(sys_call::set_pipe_size, EPERM, 1000);
  auto r = sluice::run({child, "echo"}, {.input = input, .capture_output = true, .timeout = 100s});
  EXPECT_EQ(r.returncode, 0);
  EXPECT_TRUE(r.out == input) << "sync: " << r.out.size() << " bytes back of " << input.size();
  const int sync_refusals = taken(sys_call::set_pipe_size);
  EXPECT_GE(sync_refusals, 1) << "the sync path no longer asks for bigger pipes: this test proves nothing";
  EXPECT_TRUE(aio::run(aio_echo(input)) == input) << "aio";
  EXPECT_GT(taken(sys_call::set_pipe_size), sync_refusals) << "the aio path no longer asks for bigger pipes";
}

// A read that fails (EIO) in the middle of a big output ends that output as end of file would; what was read
// before stays, exactly: a failed read appends nothing (no zero bytes from the room it was offered).
TEST_F(Fault, ReadErrorMidBigOutputKeepsWhatWasRead) {
  const std::size_t n = std::size_t(32) << 20;
  inject(sys_call::read, EIO, 1, 8);  // 8 reads take at most 8 MiB of the 32
  sluice::process p({child, "write", "out", std::to_string(n), "y"}, {.out = sluice::redirect::pipe});
  auto [out, err] = p.communicate({}, 100s);
  EXPECT_EQ(taken(sys_call::read), 1);
  EXPECT_GT(out.size(), 0u);
  EXPECT_LT(out.size(), n);
  EXPECT_EQ(out.find_first_not_of('y'), std::string::npos) << "a byte that was not read is in the output";
  EXPECT_TRUE(p.returncode().has_value());  // the child died of SIGPIPE or finished; either way it was reaped
}

// vmsplice refused (EINVAL, as for a descriptor that is no pipe) in the middle of a big untimed communicate:
// the rest goes by write(), nothing lost or doubled.
TEST_F(Fault, LentInputFallsBackToCopiesWhenRefused) {
  const std::string input = patterned(std::size_t(24) << 20);
  inject(sys_call::write, EINVAL, 1, 8);
  sluice::process p({child, "echo"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
  auto [out, err] = p.communicate(input);
  EXPECT_EQ(p.returncode(), 0);
  EXPECT_TRUE(out == input) << out.size() << " bytes back of " << input.size();
  EXPECT_EQ(taken(sys_call::write), 1);
}

// An exception in the middle of a big untimed communicate (poll failing) leaves no lent byte in the pipe for
// the child to read after the caller has its buffer back: the pipe is drained before the exception leaves.
TEST_F(Fault, ExceptionMidLentInputDrainsThePipe) {
  std::string input = patterned(std::size_t(24) << 20);
  sluice::process p({child, "sleep", "0.3", "echo"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
  inject(sys_call::poll, ENOMEM, 1, 1);  // after the first turn, which lends up to a pipe-full while the child sleeps
  EXPECT_EQ(code_of([&] { p.communicate(input); }), std::errc::not_enough_memory);
  std::fill(input.begin(), input.end(), '!');
  // What the child echoes now comes from what was still in the pipe: none of it may be the changed buffer.
  p.in().close();
  std::string rest = p.out().read();
  EXPECT_EQ(rest.find('!'), std::string::npos) << "the child read a lent page after the exception";
  EXPECT_EQ(p.wait(), 0);
}

TEST_F(Fault, AioWithCloneRefusedUsesVfork) {
  inject(sys_call::spawn, ENOSYS, 2);
  EXPECT_EQ(aio::run(aio_echo(big)), big);
  auto r = aio::run(aio_run({child, "exit", "4"}, {}));
  EXPECT_EQ(r.returncode, 4);
}

}  // namespace
