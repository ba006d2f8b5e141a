// tests/helpers/child.cpp -- the one helper program the subprocess tests drive.
// Its arguments are a little script of steps run in order, e.g.
//   sluice_test_child print hello err oops exit 3
// Steps:
//   echo                  copy stdin to stdout until end of file
//   write out|err N [c]   write N bytes of c (default 'x') to stdout or stderr
//   print TEXT            TEXT + '\n' to stdout          eprint TEXT   the same to stderr
//   printn TEXT           TEXT, no newline
//   sleep SECONDS         (fractions allowed)
//   exit N                exit with status N              signal N      raise signal N
//   grandchild SECONDS    fork a child that sleeps SECONDS holding stdout/stderr, then go on
//   fds                   the open descriptors, space separated ("0 1 2")
//   session               "<sid> <pgid> <pid>"
//   umask                 octal umask                     cwd           the working directory
//   env NAME              the value, or "<unset>"         envcount      the number of environment entries
//   sighandler N          "default", "ignore" or "handler" for signal N
//   sigblocked N          "blocked" or "unblocked"
//   readline              read one line from stdin and print it back
//   stat N                "open" or "closed" for descriptor N; for open ones also "r", "w" or "rw"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// In a sanitizer build this helper is built with AddressSanitizer too. Its leak check at exit runs in a task
// of its own; when a test kills the helper during that check, the task is orphaned to the test process (a
// child subreaper) and lingers there as a zombie the test did not make. The helper is not under test.
extern "C" int __lsan_is_turned_off() { return 1; }
#include <string>
#include <vector>

namespace {

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::exit(120);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void say(const std::string& s) { write_all(1, s.data(), s.size()); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  auto need = [&](size_t i) -> const std::string& {
    if (i >= a.size()) {
      std::fprintf(stderr, "child: missing argument\n");
      std::exit(121);
    }
    return a[i];
  };
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& step = a[i];
    if (step == "echo") {
      static char buf[1 << 16];
      for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        write_all(1, buf, static_cast<size_t>(n));
      }
    } else if (step == "write") {
      int fd = need(i + 1) == "err" ? 2 : 1;
      size_t n = std::strtoull(need(i + 2).c_str(), nullptr, 10);
      char c = 'x';
      i += 2;
      if (i + 1 < a.size() && a[i + 1].size() == 1) c = a[++i][0];
      std::string block(1 << 16, c);
      while (n > 0) {
        size_t k = n < block.size() ? n : block.size();
        write_all(fd, block.data(), k);
        n -= k;
      }
    } else if (step == "print") {
      say(need(++i) + "\n");
    } else if (step == "printn") {
      say(need(++i));
    } else if (step == "eprint") {
      std::string s = need(++i) + "\n";
      write_all(2, s.data(), s.size());
    } else if (step == "sleep") {
      double s = std::strtod(need(++i).c_str(), nullptr);
      timespec ts{static_cast<time_t>(s), static_cast<long>((s - static_cast<double>(static_cast<time_t>(s))) * 1e9)};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    } else if (step == "exit") {
      return std::atoi(need(++i).c_str());
    } else if (step == "signal") {
      int sig = std::atoi(need(++i).c_str());
      signal(sig, SIG_DFL);
      sigset_t s;
      sigemptyset(&s);
      sigaddset(&s, sig);
      sigprocmask(SIG_UNBLOCK, &s, nullptr);
      raise(sig);
      return 122;
    } else if (step == "grandchild") {
      std::string secs = need(++i);
      pid_t p = fork();
      if (p == 0) {
        execl(argv[0], argv[0], "sleep", secs.c_str(), static_cast<char*>(nullptr));
        _exit(123);
      }
    } else if (step == "fds") {
      DIR* d = opendir("/proc/self/fd");
      std::string out;
      int self = dirfd(d);
      std::vector<int> fds;
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        int f = std::atoi(e->d_name);
        if (f != self) fds.push_back(f);
      }
      closedir(d);
      for (size_t k = 0; k < fds.size(); ++k) out += (k ? " " : "") + std::to_string(fds[k]);
      say(out + "\n");
    } else if (step == "session") {
      say(std::to_string(getsid(0)) + " " + std::to_string(getpgrp()) + " " + std::to_string(getpid()) + "\n");
    } else if (step == "umask") {
      mode_t m = umask(0);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%03o\n", static_cast<unsigned>(m));
      say(buf);
    } else if (step == "cwd") {
      char buf[4096];
      say(std::string(getcwd(buf, sizeof buf) ? buf : "?") + "\n");
    } else if (step == "env") {
      const char* v = std::getenv(need(++i).c_str());
      say(std::string(v ? v : "<unset>") + "\n");
    } else if (step == "envcount") {
      extern char** environ;
      int n = 0;
      for (char** e = environ; *e; ++e) ++n;
      say(std::to_string(n) + "\n");
    } else if (step == "sighandler") {
      struct sigaction sa;
      sigaction(std::atoi(need(++i).c_str()), nullptr, &sa);
      say(sa.sa_handler == SIG_DFL ? "default\n" : sa.sa_handler == SIG_IGN ? "ignore\n" : "handler\n");
    } else if (step == "sigblocked") {
      sigset_t s;
      sigprocmask(SIG_BLOCK, nullptr, &s);
      say(sigismember(&s, std::atoi(need(++i).c_str())) ? "blocked\n" : "unblocked\n");
    } else if (step == "readline") {
      std::string line;
      char c;
      while (read(0, &c, 1) == 1) {
        line += c;
        if (c == '\n') break;
      }
      say(line);
    } else if (step == "stat") {
      int f = std::atoi(need(++i).c_str());
      int fl = fcntl(f, F_GETFL);
      if (fl < 0) {
        say("closed\n");
      } else {
        int acc = fl & O_ACCMODE;
        say(std::string("open ") + (acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw") + "\n");
      }
    } else {
      std::fprintf(stderr, "child: unknown step '%s'\n", step.c_str());
      return 124;
    }
  }
  return 0;
}
