// Replacement strings (apps/sluice/compose.cpp): {} {.} {/} {//} {/.} {#} {%} {n} {n.} ..., -I, --plus's
// {..} {##} {:-x} {#re} {/re/s} ..., --header names, and {= perl =} (parsed only: the interpreter is switched
// off here, so a template with one is refused, since a fuzzer must never run arbitrary Perl). For any command template
// and any arguments: building the template throws nothing but usage_error, composing a job throws nothing;
// under -q the shell command has one word per command word; and when the job can be exec'd directly, the
// argv is exactly what the shell would make of the shell command (the two paths must never disagree).
//   input: flags byte, counts byte, then NUL-separated fields: the command words (cut at 0x1f),
//   the -I string, and the argument values.
#include <sluice/subprocess.hpp>

#include <cstdlib>

#include "compose.hpp"
#include "fuzz_check.hpp"
#include "perl_expr.hpp"

namespace {

using sluice::app::usage_error;

void check_job(const sluice::app::command_template& tpl, const sluice::app::config& cfg,
               const sluice::app::job_args& job, const std::string& plain_text) {
  sluice::app::job_numbers nums{job.seq, 1 + job.seq % 3, 7};
  sluice::app::composed_command c;
  try {
    c = tpl.compose(job, nums);
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("command_template::compose", e);
  }
  if (cfg.quote_command) {
    // -q: every command word, substituted, is quoted as one shell word.
    auto words = sluice::shlex::split(c.shell_command);
    // (Without a replacement string the arguments are one more word, unless -N0 inserts none.)
    bool insert_none = cfg.max_replace_args && cfg.max_args == 0;
    // (-N0 inserts nothing; a word it leaves empty is dropped, as GNU drops it. Under -N/-X with several
    // arguments a word holding {} is repeated per value, so there are at least as many words.)
    std::size_t want = cfg.command.size() + (!tpl.has_replacements() && !insert_none ? 1 : 0);
    bool repeats = (cfg.xargs_context || cfg.max_replace_args) && job.records.size() > 1;
    bool ok = repeats ? insert_none || words.size() >= want : insert_none ? words.size() <= want : words.size() == want;
    if (!ok) std::fprintf(stderr, "shell command under -q: [%s]\n", c.shell_command.c_str());
    FUZZ_CHECK(ok);
  }
  if (c.argv) {
    const auto& argv = *c.argv;
    FUZZ_CHECK(!argv.empty());
    FUZZ_CHECK(c.program.find('/') != std::string::npos);  // resolved through $PATH; argv[0] stays as written
    std::vector<std::string> words;
    try {
      words = sluice::shlex::split(c.shell_command);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "shell command: [%s]\n", c.shell_command.c_str());
      FUZZ_CHECK(!"a directly exec'd command has a shell form that does not parse");
    }
    FUZZ_CHECK(words.size() == argv.size());
    FUZZ_CHECK(sluice::app::find_program(words[0]) == c.program);
    for (std::size_t k = 0; k < argv.size(); ++k) FUZZ_CHECK(words[k] == argv[k]);
  }
  try {
    (void)tpl.expand_plain(plain_text, job, nums);
  } catch (const usage_error&) {
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("command_template::expand_plain", e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool once = [] {
    ::setenv("PATH", "/usr/bin:/bin", 1);  // a fixed $PATH: the same programs resolve on every machine
    sluice::app::perl_expr::disable();
    return true;
  }();
  (void)once;
  // std::regex (behind --plus's {#re} {/re/s} ...) recurses per character: keep values short.
  if (size < 2 || size > 512) return -1;
  const std::uint8_t flags = data[0], counts = data[1];
  auto f = sluice_fuzz::fields({reinterpret_cast<const char*>(data) + 2, size - 2}, '\0');

  sluice::app::config cfg;
  cfg.plus = flags & 1;
  cfg.quote_command = flags & 2;
  cfg.max_replace_args = flags & 4;
  cfg.xargs_context = flags & 8;
  if ((flags & 16) && f.size() > 1 && !f[1].empty()) cfg.replace_str = f[1];
  cfg.max_args = 1 + counts % 3;
  if (cfg.max_replace_args && (counts & 0x80)) cfg.max_args = 0;  // -N0
  cfg.jobs = 1 + (counts >> 2) % 20;
  cfg.command = sluice_fuzz::fields(f[0], '\x1f');
  if (f[0].empty()) cfg.command.clear();
  std::map<std::string, std::size_t> names;
  if (flags & 32) names = {{"name", 1}, {"size", 2}, {"a b", 3}};

  std::optional<sluice::app::command_template> tpl;
  try {
    tpl.emplace(cfg, names);
  } catch (const usage_error&) {
    return 0;
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("command_template", e);
  }

  // The arguments: values grouped into records of 1-3 (sources or --colsep columns), 1-3 records a job.
  std::size_t per_record = 1 + (counts >> 5) % 3;
  std::vector<std::string> values(f.begin() + std::min<std::size_t>(2, f.size()), f.end());
  sluice::app::job_args job;
  job.seq = 1 + counts;
  for (std::size_t i = 0; i < values.size() && job.records.size() < 3; i += per_record) {
    sluice::app::arg_record r(values.begin() + static_cast<long>(i),
                              values.begin() + static_cast<long>(std::min(values.size(), i + per_record)));
    job.records.push_back(std::move(r));
  }
  check_job(*tpl, cfg, job, f[0]);
  if (job.records.size() > 1) {  // one record alone too (the last job of -n / -X often has fewer)
    sluice::app::job_args one{job.seq, {job.records.front()}, {}};
    check_job(*tpl, cfg, one, f[0]);
  }
  return 0;
}
