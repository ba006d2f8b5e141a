// sluice: run a command once per input, many at a time, with GNU parallel's command line.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "runner.hpp"
#include "semaphore.hpp"
#include "text.hpp"

int main(int argc, char** argv) {
  using namespace sluice::app;
  note_inherited_descriptors();
  set_program_name(argv[0]);
  try {
    // Called as `sem` (a link to sluice): GNU parallel's --semaphore.
    std::vector<char*> words(argv, argv + argc);
    std::string_view self(argv[0]);
    char semaphore_option[] = "--semaphore";
    if (self == "sem" || (self.size() > 4 && self.substr(self.size() - 4) == "/sem"))
      words.insert(words.begin() + 1, semaphore_option);
    auto cfg = parse_command_line(static_cast<int>(words.size()), words.data());
    if (!cfg) return 0;
    if (cfg->tmpdir) ::setenv("TMPDIR", cfg->tmpdir->c_str(), 1);
    if (cfg->semaphore) return run_semaphore(*cfg, std::vector<std::string>(words.begin() + 1, words.end()));
    return run_jobs(*cfg);
  } catch (const exit_request& e) {
    return e.status;
  } catch (const std::exception& e) {  // usage_error included: one message, under the program's name
    std::fputs(named("sluice: " + std::string(e.what()) + "\n").c_str(), stderr);
    return 255;
  }
}
