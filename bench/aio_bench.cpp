// bench/aio_bench.cpp -- sluice::aio against a hand-written epoll loop, asyncio and Boost.Asio.
//
// Cases (spec: PERF.md, rows "aio"):
//  - spawn + await N x /bin/true one after another on one thread: aio::create_subprocess_exec + wait, vs a
//    raw posix_spawn + pidfd_open + epoll_wait loop (the physical limit of this design), asyncio's
//    create_subprocess_exec + wait (bench/aio_peer.py), and Boost.Asio + Boost.Process v2 async_wait;
//  - N concurrent `sleep 1` children awaited by one thread, vs the same asyncio program: wall time and the
//    parent's peak RSS, each side run as a fresh process reporting its own getrusage(RUSAGE_SELF).ru_maxrss
//    (this executable re-runs itself with --sleepers N);
//  - ping-pong between two tasks over two queues of capacity 1 (a round trip is put, get, put, get), vs
//    asyncio.Queue and boost::asio::experimental::channel (co_spawn + use_awaitable, capacity 1);
//  - communicate() of a large buffer through `cat`, aio vs sluice's sync process::communicate.
// Environment: SLUICE_BENCH_AIO_SPAWNS, SLUICE_BENCH_AIO_SLEEPERS, SLUICE_BENCH_AIO_SLEEPER_ROUNDS,
// SLUICE_BENCH_AIO_TRIPS, SLUICE_BENCH_AIO_PY_TRIPS, SLUICE_BENCH_COMMUNICATE_MIB, SLUICE_BENCH_ROUNDS,
// SLUICE_BENCH_PYTHON; SLUICE_BENCH_AIO_ONLY=spawn|sleepers|pingpong|communicate runs that case alone.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

#if __has_include(<sluice/aio.hpp>)
#include <sluice/aio.hpp>
#include <sluice/subprocess.hpp>
#define SLUICE_BENCH_HAVE_SLUICE 1
#endif

#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
#include "boost_process_v2.hpp"
#endif
#if defined(SLUICE_BENCH_HAVE_BOOST_PROCESS) || defined(SLUICE_BENCH_HAVE_ASIO_CHANNEL)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif
#ifdef SLUICE_BENCH_HAVE_ASIO_CHANNEL
#include <boost/asio/experimental/channel.hpp>
#endif

#ifndef SLUICE_BENCH_DIR
#define SLUICE_BENCH_DIR "bench"
#endif

extern char** environ;

namespace {

using namespace sluice_bench;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "aio_bench: %s\n", what.c_str());
  std::exit(1);
}

// Runs argv to its end with posix_spawn, capturing stdout; dies unless it exits 0.
std::string capture(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  pid_t pid;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot start " + args[0] + ": " + std::strerror(rc));
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(args[0] + " " + (args.size() > 1 ? args[1] : "") + " failed");
  return out;
}

void raise_nofile() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// ---- the raw peer: what a minimal single-thread loop does per child ----
double raw_pidfd_spawn(long n) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1 failed");
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) die("posix_spawn failed");
    const int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pfd < 0) die("pidfd_open failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = pfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev) != 0) die("epoll_ctl failed");
    epoll_event got{};
    while (epoll_wait(ep, &got, 1, -1) != 1) {
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || status != 0) die("/bin/true failed");
    close(pfd);  // also leaves the epoll set
  }
  const double t = (now() - t0) / static_cast<double>(n);
  close(ep);
  return t;
}

// ---- sluice::aio ----
#ifdef SLUICE_BENCH_HAVE_SLUICE
namespace aio = sluice::aio;

aio::task<double> aio_spawn_task(long n) {
  const std::vector<std::string> args{"/bin/true"};
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    aio::process p = co_await aio::create_subprocess_exec(args);
    const int rc = co_await p.wait();
    if (rc != 0) die("aio: /bin/true failed");
  }
  co_return (now() - t0) / static_cast<double>(n);
}
double aio_spawn(long n) { return aio::run(aio_spawn_task(n)); }

aio::task<int> aio_sleeper(const std::vector<std::string>& args) {
  aio::process p = co_await aio::create_subprocess_exec(args);
  co_return co_await p.wait();
}

aio::task<double> aio_sleepers_task(long n, std::string secs) {
  const std::vector<std::string> args{"sleep", secs};
  const double t0 = now();
  std::vector<aio::task<int>> ts;
  ts.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) ts.push_back(aio_sleeper(args));
  auto all = aio::gather(std::move(ts));
  std::vector<int> codes = co_await std::move(all);
  const double wall = now() - t0;
  for (int c : codes)
    if (c != 0) die("aio: a sleep child failed");
  co_return wall;
}

// The --sleepers child mode: prints "wall_seconds peak_rss_kib".
int sleepers_main(long n, const std::string& secs) {
  raise_nofile();
  const double wall = aio::run(aio_sleepers_task(n, secs));
  std::printf("%.6f %ld\n", wall, max_rss_kib());
  return 0;
}

aio::task<void> aio_ping(aio::queue<long>& a, aio::queue<long>& b, long n) {
  for (long i = 0; i < n; ++i) {
    co_await a.put(i);
    keep(co_await b.get());
  }
}
aio::task<void> aio_pong(aio::queue<long>& a, aio::queue<long>& b, long n) {
  for (long i = 0; i < n; ++i) {
    long v = co_await a.get();
    co_await b.put(v);
  }
}
aio::task<double> aio_pingpong_task(long n) {
  aio::queue<long> a(1), b(1);
  auto pong = aio::create_task(aio_pong(a, b, n));
  const double t0 = now();
  co_await aio_ping(a, b, n);
  co_await pong;
  co_return (now() - t0) / static_cast<double>(n);
}
double aio_pingpong(long n) { return aio::run(aio_pingpong_task(n)); }

aio::task<double> aio_communicate_task(const std::string& data) {
  std::string input = data;  // the copy is made before the clock starts (the sync side makes one too)
  aio::options opts;
  opts.in = sluice::redirect::pipe;
  opts.out = sluice::redirect::pipe;
  const std::vector<std::string> args{"cat"};
  const double t0 = now();
  aio::process p = co_await aio::create_subprocess_exec(args, opts);
  auto [out, err] = co_await p.communicate(std::move(input));
  const double t = now() - t0;
  if (out != data || p.returncode() != 0) die("aio communicate through cat lost or changed data");
  co_return static_cast<double>(data.size()) / t;
}
double aio_communicate(const std::string& data) { return aio::run(aio_communicate_task(data)); }

double sync_communicate(const std::string& data) {
  // The same copy as the aio side, though this call could read `data` in place: a round that allocates a
  // fresh 1 GiB more than the other gets its output on memory this guest has handed back to the host, and
  // loses half its speed to that alone (page faults and system time measured per round), not to its code.
  const std::string input = data;
  const double t0 = now();
  sluice::process p({"cat"}, {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe});
  auto [out, err] = p.communicate(input);
  const double t = now() - t0;
  if (out != data || p.returncode() != 0) die("sync communicate through cat lost or changed data");
  return static_cast<double>(data.size()) / t;
}
#endif

// ---- Boost.Asio peers ----
#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
boost::asio::awaitable<void> boost_spawn_loop(long n, double& per) {
  auto ex = co_await boost::asio::this_coro::executor;
  const std::vector<std::string> no_args;
  const double t0 = now();
  for (long i = 0; i < n; ++i) {
    boost::process::v2::process p(ex, "/bin/true", no_args);
    const int rc = co_await p.async_wait(boost::asio::use_awaitable);
    if (rc != 0) die("Boost.Process v2: /bin/true failed");
  }
  per = (now() - t0) / static_cast<double>(n);
}
double boost_spawn(long n) {
  boost::asio::io_context ctx(1);
  double per = 0;
  boost::asio::co_spawn(ctx, boost_spawn_loop(n, per), boost::asio::detached);
  ctx.run();
  return per;
}
#endif

#ifdef SLUICE_BENCH_HAVE_ASIO_CHANNEL
using asio_channel = boost::asio::experimental::channel<void(boost::system::error_code, long)>;
boost::asio::awaitable<void> asio_ping(asio_channel& a, asio_channel& b, long n) {
  for (long i = 0; i < n; ++i) {
    co_await a.async_send(boost::system::error_code{}, i, boost::asio::use_awaitable);
    keep(co_await b.async_receive(boost::asio::use_awaitable));
  }
}
boost::asio::awaitable<void> asio_pong(asio_channel& a, asio_channel& b, long n) {
  for (long i = 0; i < n; ++i) {
    long v = co_await a.async_receive(boost::asio::use_awaitable);
    co_await b.async_send(boost::system::error_code{}, v, boost::asio::use_awaitable);
  }
}
double asio_pingpong(long n) {
  boost::asio::io_context ctx(1);
  asio_channel a(ctx, 1), b(ctx, 1);
  boost::asio::co_spawn(ctx, asio_pong(a, b, n), boost::asio::detached);
  boost::asio::co_spawn(ctx, asio_ping(a, b, n), boost::asio::detached);
  const double t0 = now();
  ctx.run();
  return (now() - t0) / static_cast<double>(n);
}
#endif

// ---- asyncio ----
std::string python() {
  const char* p = std::getenv("SLUICE_BENCH_PYTHON");
  std::string exe = p && *p ? p : "/usr/bin/python3";
  return access(exe.c_str(), X_OK) == 0 ? exe : std::string();
}
std::string peer_script() { return std::string(SLUICE_BENCH_DIR) + "/aio_peer.py"; }

double python_figure(const std::vector<std::string>& mode) {
  std::vector<std::string> args{python(), peer_script()};
  args.insert(args.end(), mode.begin(), mode.end());
  return std::stod(capture(args));
}

// Wall seconds and peak RSS (KiB) of one run of a sleepers program.
struct sleepers_result {
  double wall;
  long rss_kib;
};
sleepers_result parse_sleepers(const std::string& out) {
  std::istringstream in(out);
  sleepers_result r{};
  if (!(in >> r.wall >> r.rss_kib)) die("cannot read a sleepers result from '" + out + "'");
  return r;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) die("cannot find /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

void rss_row(const std::string& case_name, const figures& s, const std::string& peer_name, const figures& p,
             double target) {
  auto mib = [](double kib) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", kib / 1024);
    return std::string(buf);
  };
  std::string sv = s.available() ? mib(s.median()) : "not built";
  std::string pv = peer_name + ": " + (p.available() ? mib(p.median()) : "not installed");
  std::string ratio = "—", met = "—";
  if (s.available() && p.available()) {
    const double r = s.median() / p.median();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f (RSS)", r);
    ratio = buf;
    met = r <= target ? "yes" : "**no**";
  }
  char tgt[32];
  std::snprintf(tgt, sizeof tgt, "RSS ≤ %g×", target);
  std::printf("| %s | %s | %s | %s | %s | %s |\n", case_name.c_str(), sv.c_str(), pv.c_str(), ratio.c_str(), tgt,
              met.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef SLUICE_BENCH_HAVE_SLUICE
  if (argc == 4 && std::string(argv[1]) == "--sleepers") return sleepers_main(std::stol(argv[2]), argv[3]);
#else
  (void)argc;
  (void)argv;
#endif
  const long spawns = env_long("SLUICE_BENCH_AIO_SPAWNS", 1000);
  const long sleepers = env_long("SLUICE_BENCH_AIO_SLEEPERS", 10000);
  const int sleeper_rounds = static_cast<int>(env_long("SLUICE_BENCH_AIO_SLEEPER_ROUNDS", 3));
  const long trips = env_long("SLUICE_BENCH_AIO_TRIPS", 1000000);
  const long py_trips = env_long("SLUICE_BENCH_AIO_PY_TRIPS", 50000);
  const long comm_mib = env_long("SLUICE_BENCH_COMMUNICATE_MIB", 1024);
  const int rounds = static_cast<int>(env_long("SLUICE_BENCH_ROUNDS", 5));
  const bool have_python = !python().empty() && access(peer_script().c_str(), R_OK) == 0;
  const std::string py_name = have_python ? python() : std::string("python3 not found");
  const char* only_env = std::getenv("SLUICE_BENCH_AIO_ONLY");
  const std::string only = only_env ? only_env : "";
  auto selected = [&](const char* c) { return only.empty() || only == c; };

  // (a) spawn + await, one after another, one thread.
  if (selected("spawn")) {
    note("aio spawn: " + std::to_string(spawns) + " x /bin/true spawned and awaited one after another on one "
         "thread, time per spawn, median of " + std::to_string(rounds) + " interleaved rounds; asyncio (" + py_name +
         ", bench/aio_peer.py) times its own loop after one warm-up spawn");
    std::vector<contender> cs{{"sluice", {}},
                              {"raw", [=] { return raw_pidfd_spawn(spawns); }},
                              {"asyncio", {}},
                              {"boost", {}}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    cs[0].run = [=] { return aio_spawn(spawns); };
#endif
    if (have_python) cs[2].run = [=] { return python_figure({"spawn", std::to_string(spawns)}); };
#ifdef SLUICE_BENCH_HAVE_BOOST_PROCESS
    cs[3].run = [=] { return boost_spawn(spawns); };
#endif
    const auto f = interleave(cs, rounds);
    const std::string name = "aio: spawn + await " + count_label(spawns) + " x /bin/true, one thread";
    row(name, f[0], "raw posix_spawn+pidfd+epoll", f[1], unit::seconds_per_op, goal::time_at_most, 1.15);
    row(name, f[0], "asyncio create_subprocess_exec+wait", f[2], unit::seconds_per_op, goal::speed_at_least, 1.5);
    row(name, f[0], "Boost.Asio + Boost.Process v2 async_wait", f[3], unit::seconds_per_op, goal::speed_at_least,
        1.5);
  }

  // (b) many concurrent children, one thread; each side a fresh process.
  if (selected("sleepers")) {
    note("aio sleepers: " + std::to_string(sleepers) + " concurrent `sleep 1` children awaited by one thread (gather), "
         "wall time from the first spawn to the last exit and the parent's own peak RSS (getrusage ru_maxrss), "
         "each side a fresh process; median of " + std::to_string(sleeper_rounds) + " interleaved rounds");
    std::vector<double> s_rss, p_rss;
    std::vector<contender> cs{{"sluice", {}}, {"asyncio", {}}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    const std::string self = self_exe();
    cs[0].run = [&] {
      auto r = parse_sleepers(capture({self, "--sleepers", std::to_string(sleepers), "1"}));
      s_rss.push_back(static_cast<double>(r.rss_kib));
      return r.wall;
    };
#endif
    if (have_python)
      cs[1].run = [&] {
        std::vector<std::string> args{python(), peer_script(), "sleepers", std::to_string(sleepers), "1"};
        auto r = parse_sleepers(capture(args));
        p_rss.push_back(static_cast<double>(r.rss_kib));
        return r.wall;
      };
    const auto f = interleave(cs, sleeper_rounds);
    const std::string name = "aio: " + count_label(sleepers) + " concurrent sleep 1 children, one thread";
    row(name + ", wall", f[0], "asyncio, same program", f[1], unit::seconds_per_op, goal::speed_at_least, 1.5);
    figures srss, prss;
    srss.rounds = s_rss;
    prss.rounds = p_rss;
    rss_row(name + ", parent peak RSS", srss, "asyncio, same program", prss, 0.25);
  }

  // (c) queue ping-pong between two tasks.
  if (selected("pingpong")) {
    note("aio ping-pong: two tasks, two queues of capacity 1, a round trip is put + get + put + get; sluice and "
         "Asio run " + std::to_string(trips) + " round trips per round, asyncio " + std::to_string(py_trips) +
         "; median of " + std::to_string(rounds) + " interleaved rounds; Asio's io_context has concurrency hint 1");
    std::vector<contender> cs{{"sluice", {}}, {"asyncio", {}}, {"asio", {}}};
#ifdef SLUICE_BENCH_HAVE_SLUICE
    cs[0].run = [=] { return aio_pingpong(trips); };
#endif
    if (have_python) cs[1].run = [=] { return python_figure({"pingpong", std::to_string(py_trips)}); };
#ifdef SLUICE_BENCH_HAVE_ASIO_CHANNEL
    cs[2].run = [=] { return asio_pingpong(trips); };
#endif
    const auto f = interleave(cs, rounds);
    const std::string name = "aio: queue(1) ping-pong between two tasks, round trip";
    row(name, f[0], "asyncio.Queue(1)", f[1], unit::seconds_per_op, goal::speed_at_least, 20);
    row(name, f[0], "boost::asio::experimental::channel (capacity 1)", f[2], unit::seconds_per_op,
        goal::speed_at_least, 2);
    // The absolute target: 0.25 us per round trip.
    std::string met = "—";
    if (f[0].available()) met = f[0].median() <= 0.25e-6 ? "yes" : "**no**";
    std::printf("| %s | %s | (absolute target) | — | time ≤ 0.25 us | %s |\n", name.c_str(),
                f[0].available() ? format(f[0].median(), unit::seconds_per_op).c_str() : "not built", met.c_str());
    std::fflush(stdout);
  }

  // (d) communicate through cat.
  if (selected("communicate")) {
    const long bytes = comm_mib << 20;
    const int comm_rounds = slow_case_rounds(rounds);
    note("aio communicate: " + std::to_string(comm_mib) + " MiB through cat (process start included; each side's copy of "
         "the input, which aio's communicate() takes by value, is made before the clock starts), median of " +
         std::to_string(comm_rounds) + " interleaved rounds");
    std::vector<contender> cs{{"aio", {}}, {"sync", {}}};
    std::string data;
#ifdef SLUICE_BENCH_HAVE_SLUICE
    data.assign(static_cast<std::size_t>(bytes), 'x');
    cs[0].run = [&] { return aio_communicate(data); };
    cs[1].run = [&] { return sync_communicate(data); };
#endif
    const auto f = interleave(cs, comm_rounds);
    row("aio: communicate " + std::to_string(comm_mib) + " MiB through cat", f[0], "sluice sync communicate", f[1],
        unit::bytes_per_second, goal::speed_at_least, 0.9);
  }
  return 0;
}
