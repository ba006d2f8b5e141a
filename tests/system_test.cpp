// sluice/system.hpp: each figure checked against what the kernel or another tool says in the same moment.
#include <sluice/subprocess.hpp>
#include <sluice/system.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <sys/resource.h>

namespace {

std::string output_of(std::vector<std::string> args) {
  auto r = sluice::run(std::move(args), {.capture_output = true, .check = true});
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(System, PidAndHostnameAreThisProcessAndMachine) {
  EXPECT_EQ(sluice::system::pid(), static_cast<int>(::getpid()));
  EXPECT_EQ(sluice::system::hostname(), output_of({"uname", "-n"}));
}

TEST(System, CpuCountsAreOrderedAndThreadsAreTheOnlineCpus) {
  auto c = sluice::system::cpu_count();
  EXPECT_EQ(c.threads, std::stoul(output_of({"getconf", "_NPROCESSORS_ONLN"})));
  EXPECT_GE(c.sockets, 1u);
  EXPECT_LE(c.sockets, c.cores);
  EXPECT_LE(c.cores, c.threads);
}

TEST(System, LoadCountsTheCallerAsRunnable) {
  auto l = sluice::system::load();
  ASSERT_TRUE(l.has_value());
  EXPECT_GE(l->runnable, 1u);  // this thread is running while it reads
  EXPECT_GE(l->tasks, l->runnable);
  EXPECT_GE(l->one, 0.0);
  EXPECT_GE(l->fifteen, 0.0);
}

TEST(System, AvailableMemoryLiesBetweenMemFreeAndMemTotal) {
  auto avail = sluice::system::available_memory();
  ASSERT_TRUE(avail.has_value());
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0, total = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemTotal:") total = kib * 1024;
  }
  ASSERT_GT(total, 0u);
  EXPECT_GT(*avail, 0u);
  EXPECT_LE(*avail, total + total / 2);  // swap cache may add a little beyond RAM, never twice it
}

TEST(System, SwapCountersNeverGoBackwards) {
  auto a = sluice::system::swap_activity();
  ASSERT_TRUE(a.has_value());
  auto b = sluice::system::swap_activity();
  ASSERT_TRUE(b.has_value());
  EXPECT_GE(b->pages_in, a->pages_in);
  EXPECT_GE(b->pages_out, a->pages_out);
}

TEST(System, DiskActivityListsWholeDisksOnly) {
  for (const auto& d : sluice::system::disk_activity()) {
    EXPECT_FALSE(d.device.empty());
    EXPECT_TRUE(std::filesystem::exists("/sys/block/" + d.device)) << d.device;
  }
}

TEST(System, OpenFileLimitFollowsSetrlimit) {
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit lower = saved;
  lower.rlim_cur = 200;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lower), 0);
  auto limit = sluice::system::open_file_limit();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(*limit, 200u);
}

TEST(System, ExecLimitsMatchGetconfAndTheKernelsPerArgumentCap) {
  auto l = sluice::system::exec_limits();
  EXPECT_EQ(l.total, std::stoul(output_of({"getconf", "ARG_MAX"})));
  EXPECT_EQ(l.per_argument, 32 * std::stoul(output_of({"getconf", "PAGESIZE"})));
  // One argument of exactly the cap (its NUL included) is refused, one byte less runs.
  std::string fits(l.per_argument - 1, 'x'), too_long(l.per_argument, 'x');
  EXPECT_EQ(sluice::run({"true", fits}).returncode, 0);
  EXPECT_THROW(sluice::run({"true", too_long}), sluice::spawn_error);
}

TEST(System, ProcessKnowsItsParentAndProgram) {
  auto self = sluice::system::process(0);
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->pid, static_cast<int>(::getpid()));
  EXPECT_EQ(self->parent, static_cast<int>(::getppid()));
  EXPECT_EQ(self->executable, std::filesystem::canonical("/proc/self/exe"));

  // A child whose name holds a space and a parenthesis, as /proc/PID/stat's comm field can.
  auto dir = sluice::create_temp_directory(std::filesystem::temp_directory_path() / "sluice-system-");
  auto odd = dir / "a) b";
  std::filesystem::copy_file("/bin/sleep", odd);
  sluice::process child({odd.string(), "5"});
  auto info = sluice::system::process(child.pid());
  child.kill();
  child.wait();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->parent, static_cast<int>(::getpid()));
  EXPECT_EQ(info->executable, odd);
}

TEST(System, ProcessThatIsGoneIsEmpty) {
  sluice::process child({"true"});
  int gone = child.pid();
  child.wait();
  EXPECT_FALSE(sluice::system::process(gone).has_value());
}

void on_usr1(int) {}

struct sigaction disposition_of(int sig) {
  struct sigaction a {};
  ::sigaction(sig, nullptr, &a);
  return a;
}

TEST(System, SignalDispositionsPutBackWhatChangedAndNothingElse) {
  // The application's own handler on SIGUSR2, with its flags, is part of what is saved.
  struct sigaction mine {};
  mine.sa_handler = on_usr1;
  mine.sa_flags = SA_RESTART;
  sigemptyset(&mine.sa_mask);
  sigaddset(&mine.sa_mask, SIGTERM);
  ASSERT_EQ(::sigaction(SIGUSR2, &mine, nullptr), 0);
  auto saved = sluice::system::signal_dispositions::save();

  // What a library's start-up might do: a handler, an ignore, different flags on the application's handler.
  std::signal(SIGUSR1, on_usr1);
  std::signal(SIGWINCH, SIG_IGN);
  struct sigaction other = mine;
  other.sa_flags = 0;
  ASSERT_EQ(::sigaction(SIGUSR2, &other, nullptr), 0);

  EXPECT_EQ(saved.restore(), 3u);
  EXPECT_EQ(disposition_of(SIGUSR1).sa_handler, SIG_DFL);
  EXPECT_EQ(disposition_of(SIGWINCH).sa_handler, SIG_DFL);
  struct sigaction back = disposition_of(SIGUSR2);
  EXPECT_EQ(back.sa_handler, on_usr1);
  EXPECT_TRUE(back.sa_flags & SA_RESTART);
  EXPECT_EQ(sigismember(&back.sa_mask, SIGTERM), 1);
  EXPECT_EQ(saved.restore(), 0u) << "a second restore finds nothing changed";

  std::signal(SIGUSR2, SIG_DFL);
}

}  // namespace
