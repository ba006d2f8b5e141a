// `{= perl expression =}` and `--rpl`: an embedded Perl interpreter, created on first use.
//
// A run whose command has no such string never calls into this file, so it never constructs the
// interpreter (libperl is linked into the job runner, never into the sluice library). The interpreter is
// not thread-safe: every function here must be called from one thread at a time (the runner composes
// commands on its scheduler thread; a mutex makes misuse safe rather than fast).
//
// Semantics, as GNU parallel's: `$_` holds the value (an argument); after the expression ran, `$_` is what
// is inserted, shell-quoted unless the expression called uq(). Helpers: Q(s) (the runner's shell quoting),
// pQ(s) (Perl string quoting), uq(), skip(), seq(), slot(), total_jobs(), $job->seq(), $job->slot(), @arg
// ($arg[1] is the job's first argument), hash(s), and the time helpers (yyyy_mm_dd_hh_mm_ss() ... hhmm()).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::app::perl_expr {

// False when sluice was built without libperl: then compile() throws a usage_error saying so.
bool available() noexcept;

// After disable(), compile() refuses every expression (usage_error) without starting Perl: for the fuzz
// targets, which parse arbitrary templates and must never run arbitrary Perl code.
void disable() noexcept;

// Compiles an expression (cached by its text) and returns its handle. Throws usage_error with Perl's
// message and the expression when it does not compile.
int compile(const std::string& expr);

// Sets what the helpers return for the job being composed, and clears the skip() flag.
void begin_job(std::size_t seq, std::size_t slot, std::size_t total, const std::vector<std::string_view>& args);

struct value {
  std::string text;
  bool unquoted = false;  // the expression called uq()
};
// Runs expression `id` with $_ = input and ${sluice_group_N} = groups[N-1] (a dynamic --rpl tag's $$N).
// Throws std::runtime_error with Perl's message if it dies.
value evaluate(int id, std::string_view input, const std::vector<std::string>& groups = {});

// --filter: runs `code` (replacement strings already substituted) as Perl and says whether its value is true.
// The code is compiled once per text (a few dozen texts kept) and its sub called.
// The code is compiled once per text (a few dozen texts kept) and its sub called.
// Code that does not compile or dies is false, as in GNU parallel.
bool truth(const std::string& code);

// Whether an expression of the current job called skip().
bool skip_requested();

// A --rpl tag with parentheses is a Perl regular expression: matches it at `pos` of `text` and returns the
// matched length and the groups ($$1, $$2, ... in the tag's expression), or nullopt.
struct match {
  std::size_t length = 0;
  std::vector<std::string> groups;
};
std::optional<match> match_tag(const std::string& tag_regex, const std::string& text, std::size_t pos);

}  // namespace sluice::app::perl_expr
