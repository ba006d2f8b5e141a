// sluice: run a command once per input, many at a time, with GNU parallel's command line.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "config.hpp"
#include "runner.hpp"

int main(int argc, char** argv) {
  using namespace sluice::app;
  try {
    auto cfg = parse_command_line(argc, argv);
    if (!cfg) return 0;
    if (cfg->tmpdir) ::setenv("TMPDIR", cfg->tmpdir->c_str(), 1);
    return run_jobs(*cfg);
  } catch (const exit_request& e) {
    return e.status;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "sluice: %s\n", e.what());
    return 255;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice: %s\n", e.what());
    return 255;
  }
}
