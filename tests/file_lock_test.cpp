// Tests for sluice::file_lock and sluice::close_watch: exclusion between descriptors, a lock kept by a child that
// inherited it and released by its exit, and a watch that wakes on that release without polling.
#include "sluice/file_lock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <string>

#include "sluice/subprocess.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

class FileLock : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-file-lock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileLock, ExcludesAnotherDescriptorUntilUnlocked) {
  sluice::file_lock a(dir_ + "/l"), b(dir_ + "/l");
  EXPECT_FALSE(a.owns_lock());
  EXPECT_TRUE(a.try_lock());
  EXPECT_TRUE(a.owns_lock());
  EXPECT_FALSE(b.try_lock());
  a.unlock();
  EXPECT_TRUE(b.try_lock());
  EXPECT_FALSE(a.try_lock());
  b.close();
  EXPECT_TRUE(a.try_lock());
}

TEST_F(FileLock, MovedLockStaysHeld) {
  sluice::file_lock a(dir_ + "/l");
  ASSERT_TRUE(a.try_lock());
  sluice::file_lock moved = std::move(a);
  EXPECT_FALSE(a.is_open());
  EXPECT_TRUE(moved.owns_lock());
  sluice::file_lock b(dir_ + "/l");
  EXPECT_FALSE(b.try_lock());
}

TEST_F(FileLock, UnopenablePathThrows) {
  EXPECT_THROW(sluice::file_lock(dir_ + "/missing/dir/l"), std::system_error);
}

TEST_F(FileLock, ChildKeepsInheritedLockUntilItExits) {
  sluice::file_lock a(dir_ + "/l");
  ASSERT_TRUE(a.try_lock());
  sluice::options opts;
  opts.pass_fds = {a.native_handle()};
  sluice::process child({"sleep", "0.4"}, opts);
  a.close();  // our copy goes; the child's keeps the lock
  sluice::file_lock b(dir_ + "/l");
  EXPECT_FALSE(b.try_lock());
  EXPECT_EQ(child.wait(), 0);
  EXPECT_TRUE(b.try_lock());  // the kernel released it with the child
}

TEST_F(FileLock, WatchWakesOnHolderExitWithoutPolling) {
  sluice::file_lock a(dir_ + "/l");
  ASSERT_TRUE(a.try_lock());
  sluice::close_watch watch(dir_);
  EXPECT_FALSE(watch.wait(0.05));  // nothing closed yet
  sluice::options opts;
  opts.pass_fds = {a.native_handle()};
  sluice::process child({"sleep", "0.3"}, opts);
  a.close();
  sluice::file_lock b(dir_ + "/l");
  ASSERT_FALSE(b.try_lock());
  auto t0 = clock_type::now();
  EXPECT_TRUE(watch.wait(10.0));
  double waited = std::chrono::duration<double>(clock_type::now() - t0).count();
  EXPECT_LT(waited, 5.0);
  EXPECT_TRUE(b.try_lock());
  EXPECT_EQ(child.wait(), 0);
}

TEST_F(FileLock, WatchKeepsAnEventThatCameBeforeTheWait) {
  sluice::close_watch watch(dir_);
  { sluice::file_lock a(dir_ + "/l"); }  // opened read-write and closed: one event
  EXPECT_TRUE(watch.wait(0.0));
  EXPECT_FALSE(watch.wait(0.0));  // consumed
}

// The library's one timeout rule: negative and NaN are refused before waiting, a huge timeout means "for ever"
// (no overflow of the clock), and an event already there is returned at once whatever the timeout.
TEST_F(FileLock, WatchFollowsTheLibraryTimeoutRule) {
  sluice::close_watch watch(dir_);
  for (double bad : {-1.0, -1e-9, std::nan("")}) EXPECT_THROW(watch.wait(bad), std::invalid_argument) << bad;
  { sluice::file_lock a(dir_ + "/l"); }
  EXPECT_TRUE(watch.wait(1e300));
  { sluice::file_lock a(dir_ + "/l"); }
  EXPECT_TRUE(watch.wait(std::numeric_limits<double>::infinity()));
}

TEST_F(FileLock, AdoptMarksTheDescriptorLocked) {
  sluice::file_lock a(dir_ + "/l");
  ASSERT_TRUE(a.try_lock());
  int fd = ::dup(a.native_handle());
  ASSERT_GE(fd, 0);
  a.close();
  sluice::file_lock adopted = sluice::file_lock::adopt(fd);
  EXPECT_TRUE(adopted.owns_lock());
  sluice::file_lock b(dir_ + "/l");
  EXPECT_FALSE(b.try_lock());
  adopted.close();
  EXPECT_TRUE(b.try_lock());
}

}  // namespace
