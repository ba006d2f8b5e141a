#include "signals.hpp"

#include <csignal>
#include <cstdlib>
#include <string>

namespace sluice::app {

namespace {

struct named_signal {
  const char* name;
  int number;
};

constexpr named_signal k_signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"SYS", SIGSYS},
};

}  // namespace

int signal_from_name(const std::string& raw) {
  if (raw.empty()) return 0;
  if (raw.find_first_not_of("0123456789") == std::string::npos) {
    long n = std::strtol(raw.c_str(), nullptr, 10);
    return n > 0 && n < 65 ? static_cast<int>(n) : 0;
  }
  std::string name = raw;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  for (const auto& s : k_signals)
    if (name == s.name) return s.number;
  return 0;
}

}  // namespace sluice::app
