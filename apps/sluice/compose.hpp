// Job composition: the command template is parsed once into literal text and replacement strings
// ({}, {.}, {/}, {//}, {/.}, {#}, {%}, {n...}, --header names, -I, --plus); each job then substitutes its
// arguments in a single pass, so inserted text is never rescanned. Values are quoted as GNU parallel does,
// and when the command has no shell syntax the argv for a direct exec is built alongside the shell string.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "input.hpp"

namespace sluice::app {

class command_template;

// What a job gets: its arguments (one record, or several under -n/-N/-X/-m) and its numbers.
struct job_args {
  std::size_t seq = 0;
  std::vector<arg_record> records;
  std::string block;  // --pipe: the bytes for the job's stdin
  std::vector<std::string> hostgroups{};  // --hostgroups: the groups its first argument named (empty: any host)
  const command_template* tpl = nullptr;  // --sqlworker: the command of the job's own row (else the runner's)
};

struct job_numbers {
  std::size_t seq = 0;
  std::size_t slot = 0;
  std::size_t total = 0;  // {##}; 0 when unknown
};

struct composed_command {
  std::string shell_command;               // what /bin/sh -c runs (and what --dry-run / --joblog show)
  std::optional<std::vector<std::string>> argv;  // set when the command can be exec'd directly
  std::string program;                           // then: the file argv[0] names, found on $PATH
  bool skip = false;  // a {= perl =} expression called skip(): the job is not run
};

class command_template {
 public:
  // Throws usage_error for a template that cannot apply (e.g. {3} with a single source and no -N).
  command_template(const config& cfg, const std::map<std::string, std::size_t>& header_names);

  composed_command compose(const job_args& job, const job_numbers& n) const;
  // A plain template (tagstring, results name): replacement strings substituted, nothing quoted. `joined`: a
  // string standing for several values gives them with nothing between (--tmpl's files, as GNU's), not a space.
  std::string expand_plain(const std::string& text, const job_args& job, const job_numbers& n, bool joined = false) const;
  bool uses_total() const noexcept { return uses_total_; }
  bool has_replacements() const noexcept { return has_replacements_; }
  bool has_perl() const noexcept { return has_perl_; }
  // The bytes a job adds to the command line per argument, for -X/-m line filling.
  std::size_t base_length() const noexcept { return base_length_; }
  // -X: the literal text around replacement strings, which is repeated for every argument.
  std::size_t context_length() const noexcept { return context_length_; }
  // How many times each argument lands in the command (its replacement strings; 1 when it is appended).
  std::size_t value_uses() const noexcept { return value_uses_ == 0 ? 1 : value_uses_; }
  // The spaces a further argument adds: one per repeated word (-X), else one per replacement string.
  std::size_t separators_per_argument() const noexcept {
    return value_uses_ == 0 ? 0 : (value_words_ > 0 ? value_words_ : value_uses_);
  }

  struct token {
    enum class kind { literal, value, seq, slot, total, seq_padded, slot_padded } type = kind::literal;
    std::string text;        // literal text, or the argument for a --plus operation
    std::string text2;       // second argument ({/a/b}, {:n:m})
    int position = 0;        // 0: every argument; n > 0: the n-th; n < 0: from the end
    int op = 0;              // see compose.cpp: which transformation
    int expr = -1;           // a {= perl =} / --rpl string: its compiled expression (perl_expr.hpp)
    std::vector<std::string> groups{};  // a dynamic --rpl tag: what its groups matched ($$1, $$2, ...)
  };

 private:
  std::vector<token> parse(const std::string& text, bool& any) const;
  void append_values(std::string& out, const token& t, const job_args& job, bool quote,
                     std::vector<std::string>* words, bool* word_open, bool* raw_inserted = nullptr,
                     bool joined = false) const;
  bool perl_token_at(const std::string& text, std::size_t i, token& t, std::size_t& end) const;
  bool plus_operation(const std::string& inner, token& t) const;
  std::optional<std::pair<int, int>> named_with_op(const std::string& inner) const;
  void plus_perl_token(token& t) const;  // a --plus pattern operation, run by Perl as in GNU
  void begin_perl_job(const job_args& job, const job_numbers& n) const;
  std::string scalar(const token& t, const job_args& job, const job_numbers& n) const;
  void render(const std::vector<token>& toks, const job_args& a, const job_numbers& n, bool quote, std::string& out,
              std::vector<std::string>* words, bool* open, bool* raw_inserted) const;
  // -X/-m (compose_repeat.cpp): the lengths feeder.hpp packs by, and the command with each word holding {}
  // repeated once per argument.
  void measure_for_packing();
  void compose_repeated(const job_args& job, const job_numbers& n, std::string& out, std::vector<std::string>* argv,
                        bool* raw_inserted) const;
  // -q: each command word quoted as one shell word; under -N/-X/-m a word holding {} once per value.
  void compose_quoted(const job_args& job, const job_numbers& n, bool repeat, std::string& out,
                      std::vector<std::string>& argv, bool* raw_inserted) const;

  const config& cfg_;
  const std::map<std::string, std::size_t>& names_;
  std::vector<std::vector<token>> words_;  // -q: one template per command word; else a single template
  bool quote_values_ = true;
  bool direct_exec_ok_ = false;
  bool uses_total_ = false;
  bool has_replacements_ = false;
  std::size_t base_length_ = 0;
  std::size_t context_length_ = 0;
  std::size_t value_uses_ = 0;
  std::size_t value_words_ = 0;  // -X: the words holding a replacement string
  mutable bool has_perl_ = false;  // some template uses {= =} or --rpl: jobs set up the interpreter first
  // --plus {choose_k} / {uniq}: the job is skipped unless its arguments ascend strictly / are all different.
  bool plus_filter_passes(const job_args& job) const;
  mutable bool skip_unless_ascending_ = false;
  mutable bool skip_unless_unique_ = false;

  struct rpl_def {
    std::string tag;   // literal text, or a Perl regular expression when dynamic
    std::string expr;  // the Perl expression, $$1... standing for the tag's groups
    bool dynamic = false;
  };
  std::vector<rpl_def> rpls_;  // --rpl, longest tag first
};

struct job_shell_info {
  std::string path;            // the shell that runs composed commands: path -c command
  bool echo_is_plain = false;  // its echo prints backslashes literally, like /bin/echo (bash)
};
const job_shell_info& job_shell();  // computed once

// Resolves a program name through $PATH once; empty when not found or not executable.
std::string find_program(const std::string& name);
// True when the environment holds a bash function of this name (export -f): the job shell must run it.
bool exported_function(const std::string& name);

}  // namespace sluice::app
