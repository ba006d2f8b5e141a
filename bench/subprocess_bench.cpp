// bench/subprocess_bench.cpp -- sluice's subprocess against raw posix_spawn, Python and Boost.Process.
//
// Cases:
//  - run({"/bin/true"}) latency from a small parent, vs a bare posix_spawn + waitpid loop, Python's
//    subprocess.run (a python3 loop timing itself), Boost.Process v1 (child) and v2 (process);
//  - the same from a parent holding 2 GiB resident (every page touched), where fork-based spawners pay for
//    copying the page tables;
//  - 8 threads spawning at once, vs posix_spawn from 8 threads;
//  - communicate() of a large buffer through `cat`, vs Python's communicate and the shell pipe
//    `head -c N /dev/zero | cat >/dev/null` (the physical limit).
// Environment: SLUICE_BENCH_SPAWNS (per round), SLUICE_BENCH_BIG_SPAWNS (fork-based peers in the 2 GiB parent),
// SLUICE_BENCH_COMMUNICATE_MIB, SLUICE_BENCH_RESIDENT_MIB, SLUICE_BENCH_ROUNDS, SLUICE_BENCH_PYTHON.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

#if __has_include(<sluice/subprocess.hpp>)
#include <sluice/subprocess.hpp>
#define SLUICE_BENCH_HAVE_SLUICE 1
#endif

#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
#include "boost_process_v2.hpp"
#include <boost/asio/io_context.hpp>
#include <boost/process/child.hpp>
#endif

extern char** environ;

namespace {

using namespace sluice_bench;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "subprocess_bench: %s\n", what.c_str());
  std::exit(1);
}

// Starts argv with posix_spawn, optionally capturing stdout; returns the exit status.
int spawn_wait(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out) {
    if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2 failed");
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  }
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot start " + args[0] + ": " + std::strerror(rc));
  if (out) {
    close(fds[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) out->append(buf, static_cast<std::size_t>(n));
    close(fds[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double raw_spawn(long n) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) die("posix_spawn failed");
    int status;
    waitpid(pid, &status, 0);
    if (status != 0) die("/bin/true failed");
  }
  return (now() - t0) / static_cast<double>(n);
}

#ifdef SLUICE_BENCH_HAVE_SLUICE
double sluice_spawn(long n) {
  const double t0 = now();
  for (long i = 0; i < n; ++i)
    if (sluice::run({"/bin/true"}).returncode != 0) die("sluice::run(/bin/true) failed");
  return (now() - t0) / static_cast<double>(n);
}
#endif

#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
double boost_v1_spawn(long n) {
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    boost::process::child c("/bin/true");
    c.wait();
    if (c.exit_code() != 0) die("boost::process::child(/bin/true) failed");
  }
  return (now() - t0) / static_cast<double>(n);
}

double boost_v2_spawn(long n) {
  boost::asio::io_context ctx;
  const std::vector<std::string> no_args;
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    boost::process::v2::process p(ctx, "/bin/true", no_args);
    if (p.wait() != 0) die("boost::process::v2::process(/bin/true) failed");
  }
  return (now() - t0) / static_cast<double>(n);
}
#endif

std::string python() {
  const char* p = std::getenv("SLUICE_BENCH_PYTHON");
  std::string exe = p && *p ? p : "/usr/bin/python3";
  return access(exe.c_str(), X_OK) == 0 ? exe : std::string();
}

// Python times its own loop, so its start-up is not counted. resident_mib > 0 makes it hold that much first.
double python_spawn(long n, long resident_mib) {
  static const char* script =
      "import subprocess, sys, time\n"
      "n, mib = int(sys.argv[1]), int(sys.argv[2])\n"
      "hold = bytearray(mib << 20)\n"
      "hold[::4096] = b'\\1' * len(range(0, len(hold), 4096))\n"
      "subprocess.run(['/bin/true'], check=True)\n"
      "t = time.perf_counter()\n"
      "for _ in range(n): subprocess.run(['/bin/true'], check=True)\n"
      "print((time.perf_counter() - t) / n)\n";
  std::string out;
  if (spawn_wait({python(), "-c", script, std::to_string(n), std::to_string(resident_mib)}, &out) != 0)
    die("the Python spawn loop failed");
  return std::stod(out);
}

double python_communicate(long bytes) {
  static const char* script =
      "import subprocess, sys, time\n"
      "n = int(sys.argv[1])\n"
      "data = b'x' * n\n"
      "t = time.perf_counter()\n"
      "p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
      "out, _ = p.communicate(data)\n"
      "t = time.perf_counter() - t\n"
      "assert len(out) == n and p.returncode == 0\n"
      "print(n / t)\n";
  std::string out;
  if (spawn_wait({python(), "-c", script, std::to_string(bytes)}, &out) != 0) die("Python's communicate failed");
  return std::stod(out);
}

#ifdef SLUICE_BENCH_HAVE_SLUICE
double sluice_communicate(const std::string& data) {
  const double t0 = now();
  sluice::process p({"cat"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
  auto [out, err] = p.communicate(data);
  const double t = now() - t0;
  if (out.size() != data.size() || p.returncode() != 0) die("sluice communicate through cat lost data");
  return static_cast<double>(data.size()) / t;
}
#endif

// What any communicate must do at least, written by hand: cat started with posix_spawn, its pipes grown to
// 1 MiB, one poll loop writing the input and reading the output into a buffer whose pages were touched before
// the clock started (no page faults, no resizing): the limit for a library, where the shell pipe throws the
// output away.
double raw_communicate(const std::string& data, std::vector<char>& out) {
  const double t0 = now();
  int in[2], res[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0) die("pipe2 failed");
  fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(res[0], F_SETPIPE_SZ, 1 << 20);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, res[1], 1);
  char arg0[] = "cat";
  char* argv[] = {arg0, nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "cat", &fa, nullptr, argv, environ) != 0) die("cannot start cat");
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(res[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::size_t sent = 0, got = 0;
  int to_child = in[1];
  for (;;) {
    pollfd p[2] = {{res[0], POLLIN, 0}, {to_child, POLLOUT, 0}};
    if (poll(p, to_child >= 0 ? 2 : 1, -1) < 0) continue;
    if (to_child >= 0 && (p[1].revents & (POLLOUT | POLLERR))) {
      const ssize_t n = write(to_child, data.data() + sent, std::min<std::size_t>(data.size() - sent, 1 << 20));
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (sent == data.size() || (n < 0 && errno != EAGAIN)) {
        close(to_child);
        to_child = -1;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      const ssize_t n = read(res[0], out.data() + got, std::min<std::size_t>(out.size() - got, 1 << 20));
      if (n == 0) break;
      if (n > 0) got += static_cast<std::size_t>(n);
    }
  }
  close(res[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const double t = now() - t0;
  if (got != data.size() || status != 0) die("the raw communicate loop lost data");
  return static_cast<double>(data.size()) / t;
}

double shell_pipe(long bytes) {
  const double t0 = now();
  if (spawn_wait({"/bin/sh", "-c", "head -c " + std::to_string(bytes) + " /dev/zero | cat >/dev/null"}) != 0)
    die("the shell pipe failed");
  return static_cast<double>(bytes) / (now() - t0);
}

// Spawns per second with `threads` threads each running `per_thread` spawns of /bin/true at once.
template <class F>
double threaded(int threads, long per_thread, F spawn_n) {
  std::vector<std::thread> ts;
  const double t0 = now();
  for (int i = 0; i < threads; ++i) ts.emplace_back([&] { spawn_n(per_thread); });
  for (auto& t : ts) t.join();
  return static_cast<double>(threads * per_thread) / (now() - t0);
}

}  // namespace

int main() {
  const long spawns = env_long("SLUICE_BENCH_SPAWNS", 300);
  const long big_spawns = env_long("SLUICE_BENCH_BIG_SPAWNS", 20);
  const long comm_mib = env_long("SLUICE_BENCH_COMMUNICATE_MIB", 1024);
  const long resident_mib = env_long("SLUICE_BENCH_RESIDENT_MIB", 2048);
  const int rounds = static_cast<int>(env_long("SLUICE_BENCH_ROUNDS", 5));
  const bool have_python = !python().empty();

  note("subprocess: spawn latency is the mean over " + std::to_string(spawns) +
       " spawns of /bin/true per round (fork-based Boost in the big parent: " + std::to_string(big_spawns) +
       "), median of " + std::to_string(rounds) + " interleaved rounds; Python times its own loop (" +
       (have_python ? python() : std::string("python3 not found")) + ")");

  std::vector<contender> small{{"sluice", {}},
                               {"raw", [=] { return raw_spawn(spawns); }},
                               {"python", {}},
                               {"boost v1", {}},
                               {"boost v2", {}}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
  small[0].run = [=] { return sluice_spawn(spawns); };
#endif
  if (have_python) small[2].run = [=] { return python_spawn(spawns, 0); };
#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
  small[3].run = [=] { return boost_v1_spawn(spawns); };
  small[4].run = [=] { return boost_v2_spawn(spawns); };
#endif
  const auto s = interleave(small, rounds);
  const std::string small_case = "spawn /bin/true, small parent";
  row(small_case, s[0], "raw posix_spawn+waitpid", s[1], unit::seconds_per_op, goal::time_at_most, 1.15);
  row(small_case, s[0], "Python subprocess.run", s[2], unit::seconds_per_op, goal::time_at_most, 0.8);
  row(small_case, s[0], "Boost.Process v1 child", s[3], unit::seconds_per_op);
  row(small_case, s[0], "Boost.Process v2 process", s[4], unit::seconds_per_op);

  {
    const int threads = 8;
    const long per_thread = std::max(1L, spawns / threads * 2);
    std::vector<contender> cs{{"sluice", {}},
                              {"raw", [=] { return threaded(threads, per_thread, raw_spawn); }}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    cs[0].run = [=] { return threaded(threads, per_thread, sluice_spawn); };
#endif
    const auto m = interleave(cs, rounds);
    row("spawn /bin/true, 8 threads at once", m[0], "raw posix_spawn from 8 threads", m[1], unit::ops_per_second,
        goal::speed_at_least, 0.9);
  }

  {
    const long bytes = comm_mib << 20;
    const int comm_rounds = slow_case_rounds(rounds);
    note("communicate: " + std::to_string(comm_mib) + " MiB through cat (process start included), median of " +
         std::to_string(comm_rounds) + " interleaved rounds");
    std::string data(static_cast<std::size_t>(bytes), 'x');
    std::vector<char> raw_out(static_cast<std::size_t>(bytes), '\0');  // touched once, before any clock
    std::vector<contender> cs{{"sluice", {}},
                              {"python", {}},
                              {"shell", [=] { return shell_pipe(bytes); }},
                              {"raw", [&] { return raw_communicate(data, raw_out); }}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    cs[0].run = [&] { return sluice_communicate(data); };
#endif
    if (have_python) cs[1].run = [=] { return python_communicate(bytes); };
    const auto m = interleave(cs, comm_rounds);
    const std::string name = "communicate " + std::to_string(comm_mib) + " MiB through cat";
    row(name, m[0], "Python communicate", m[1], unit::bytes_per_second, goal::speed_at_least, 5);
    row(name, m[0], "head -c \\| cat >/dev/null (pipe limit)", m[2], unit::bytes_per_second, goal::speed_at_least,
        0.7);
    row(name, m[0], "raw poll loop into a pre-faulted buffer (limit)", m[3], unit::bytes_per_second);
  }

  {
    // Plain 4 KiB pages (no THP unless the system forces it), every one touched, as a big application's heap.
    const std::size_t size = static_cast<std::size_t>(resident_mib) << 20;
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("cannot map the resident block");
    madvise(mem, size, MADV_NOHUGEPAGE);
    for (std::size_t off = 0; off < size; off += 4096) static_cast<volatile char*>(mem)[off] = 1;
    note("big parent: " + std::to_string(resident_mib) + " MiB resident in 4 KiB pages, all touched");

    std::vector<contender> big{{"sluice", {}},
                               {"raw", [=] { return raw_spawn(spawns); }},
                               {"python", {}},
                               {"boost v1", {}},
                               {"boost v2", {}}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    big[0].run = [=] { return sluice_spawn(spawns); };
#endif
    if (have_python) big[2].run = [=] { return python_spawn(spawns, resident_mib); };
#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
    big[3].run = [=] { return boost_v1_spawn(big_spawns); };
    big[4].run = [=] { return boost_v2_spawn(big_spawns); };
#endif
    const auto b = interleave(big, slow_case_rounds(rounds));
    const std::string big_case = "spawn /bin/true, " + std::to_string(resident_mib) + " MiB parent";
    row(big_case, b[0], "sluice, small parent (same run)", s[0].median(), unit::seconds_per_op, goal::time_at_most, 1.3,
        "not built", "not built");
    row(big_case, b[0], "raw posix_spawn+waitpid", b[1], unit::seconds_per_op);
    row(big_case, b[0], "Python subprocess.run (same resident size)", b[2], unit::seconds_per_op);
    row(big_case, b[0], "Boost.Process v1 child", b[3], unit::seconds_per_op, goal::speed_at_least, 50);
    row(big_case, b[0], "Boost.Process v2 process", b[4], unit::seconds_per_op, goal::speed_at_least, 50);
    munmap(mem, size);
  }
  return 0;
}
