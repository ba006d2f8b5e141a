// tests/leak_listener_test.cpp -- the listener every test binary installs (support/leak_listener.hpp) really
// reports a leaked descriptor and a leaked child, and stays quiet when a test cleans up.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leak_listener.hpp"

namespace {

const ::testing::TestInfo& this_test() { return *::testing::UnitTest::GetInstance()->current_test_info(); }

TEST(LeakListener, ReportsALeakedDescriptor) {
  sluice_test::leak_listener listener;
  listener.OnTestStart(this_test());
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NONFATAL_FAILURE(listener.OnTestEnd(this_test()), "leaked file descriptor " + std::to_string(fd));
  ::close(fd);
}

TEST(LeakListener, ReportsAndEndsALeakedChild) {
  sluice_test::leak_listener listener;
  listener.OnTestStart(this_test());
  pid_t pid = -1;
  char arg0[] = "sleep", arg1[] = "30";
  char* argv[] = {arg0, arg1, nullptr};
  ASSERT_EQ(::posix_spawnp(&pid, "sleep", nullptr, nullptr, argv, environ), 0);
  EXPECT_NONFATAL_FAILURE(listener.OnTestEnd(this_test()), "leaked child process " + std::to_string(pid));
  // The listener killed and reaped it, so that it cannot spoil the next test.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(LeakListener, QuietWhenTheTestCleansUp) {
  sluice_test::leak_listener listener;
  listener.OnTestStart(this_test());
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ::close(fd);
  pid_t pid = -1;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  ASSERT_EQ(::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ), 0);
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  listener.OnTestEnd(this_test());  // a failure here fails this test
}

}  // namespace
