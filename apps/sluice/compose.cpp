// GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s <regex> automaton when it is inlined here with
// sanitizers on (a known false positive in std::function's move); it is not about this file's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "compose.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <unordered_map>


#include "compose_ops.hpp"
#include "perl_expr.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

// --plus {slot}, {host}, {sshlogin}, {hgrp}, {agrp}: the job variable each stands for, or nullptr.
const char* plus_job_variable(const std::string& name) {
  if (name == "slot") return "PARALLEL_JOBSLOT";
  if (name == "host") return "PARALLEL_SSHHOST";
  if (name == "sshlogin") return "PARALLEL_SSHLOGIN";
  if (name == "hgrp") return "PARALLEL_HOSTGROUPS";
  if (name == "agrp") return "PARALLEL_ARGHOSTGROUPS";
  return nullptr;
}


bool safe_literal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/' || c == '+' || c == '=' || c == ',' || c == ':' || c == '@' || c == '%' || c == '^' ||
         c == ' ';
}

// Words a shell treats specially, or builtins whose behaviour differs from the program of that name.
bool shell_only_word(const std::string& w) {
  static const char* const k_words[] = {
      "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done", "in",
      "function", "select", "time", "cd", "exit", "export", "set", "unset", "read", "exec", "eval", ".",
      "source", "alias", "unalias", "shift", "trap", "umask", "ulimit", "wait", "return", "break", "continue",
      "local", "readonly", "getopts", "hash", "type", "command", "builtin", "declare", "typeset", "let",
      "jobs", "fg", "bg", "times",
      // Builtins that differ from the program of the same name: pwd gives the shell's logical directory
      // and ignores arguments, kill knows job numbers, printf knows the shell's own formats.
      "pwd", "kill", "printf",
  };
  for (const char* k : k_words)
    if (w == k) return true;
  return false;
}

// The shell would fail on every job with a syntax error; say so once, before any job starts.
void check_quotes(const std::string& cmd) {
  char open = 0;
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    char c = cmd[i];
    if (open == '\'') {
      if (c == '\'') open = 0;
    } else if (c == '\\') {
      ++i;
    } else if (open == '"') {
      if (c == '"') open = 0;
    } else if (c == '\'' || c == '"') {
      open = c;
    }
  }
  if (open == '\'') throw usage_error("unbalanced single quote (') in the command: " + cmd);
  if (open == '"') throw usage_error("unbalanced double quote (\") in the command: " + cmd);
}

}  // namespace

command_template::command_template(const config& cfg, const std::map<std::string, std::size_t>& header_names)
    : cfg_(cfg), names_(header_names) {
  for (const auto& def : cfg.rpl) {
    // 'TAG EXPRESSION': the tag ends at the first blank; a tag with parentheses is a regular expression.
    auto sp = def.find_first_of(" \t");
    rpl_def r;
    r.tag = def.substr(0, sp);
    r.expr = sp == std::string::npos ? "" : def.substr(sp + 1);
    if (r.tag.empty()) throw usage_error("--rpl needs 'tag perl-expression', not '" + def + "'");
    r.dynamic = r.tag.find('(') != std::string::npos;
    // A later definition of the same tag replaces the earlier one.
    std::erase_if(rpls_, [&](const rpl_def& o) { return o.tag == r.tag; });
    rpls_.push_back(std::move(r));
  }
  std::stable_sort(rpls_.begin(), rpls_.end(), [](const rpl_def& a, const rpl_def& b) { return a.tag.size() > b.tag.size(); });
  bool any = false;
  if (cfg.quote_command) {
    for (const auto& w : cfg.command) words_.push_back(parse(w, any));
  } else {
    std::string joined;
    for (std::size_t i = 0; i < cfg.command.size(); ++i) {
      if (i) joined += ' ';
      joined += cfg.command[i];
    }
    if (cfg.shell_quote == 0) check_quotes(joined);  // (--shell-quote only prints it)
    words_.push_back(parse(joined, any));
  }
  has_replacements_ = any;
  bool insert_none = cfg.max_replace_args && cfg.max_args == 0;  // -N0: read an argument, insert none
  // (-q -N0 with no replacement string appends nothing: GNU drops the empty word.)
  if (!any && (!cfg.pipe || cfg.cat) && cfg.stdin_file.empty() &&
      !(cfg.quote_command && insert_none && !cfg.command.empty())) {
    // No replacement string: append {} (GNU's rule), as its own word.
    token t;
    t.type = token::kind::value;
    if (cfg.quote_command || cfg.command.empty()) {
      // (-q with no command: words_ is still empty; the argument alone is the command.)
      if (cfg.command.empty()) {
        if (words_.empty()) words_.emplace_back();
        words_.back().push_back(t);
      }
      else words_.push_back({t});
    } else {
      words_.back().push_back(token{token::kind::literal, " ", "", 0, 0});
      words_.back().push_back(t);
    }
  }
  // Values are not quoted when a replacement string is (part of) the first word: the input is the command.
  if (!cfg.quote_command) {
    const auto& toks = words_.front();
    for (const auto& t : toks) {
      if (t.type == token::kind::literal) {
        if (t.text.find_first_of(" \t\n=") != std::string::npos) break;
        continue;
      }
      quote_values_ = false;
      break;
    }
  }
  // Direct exec: literal text free of shell syntax, the program a real file, not a builtin.
  if (cfg.quote_command) {
    direct_exec_ok_ = true;
  } else if (quote_values_) {
    direct_exec_ok_ = true;
    for (const auto& t : words_.front())
      if (t.type == token::kind::literal)
        for (char c : t.text)
          if (!safe_literal_char(c)) direct_exec_ok_ = false;
    // The first word must be literal and not an assignment.
    const auto& toks = words_.front();
    std::size_t k = 0;
    while (k < toks.size() && toks[k].type == token::kind::literal && toks[k].text.find_first_not_of(' ') == std::string::npos) ++k;
    if (k >= toks.size() || toks[k].type != token::kind::literal) direct_exec_ok_ = false;
    else {
      std::string first = toks[k].text.substr(toks[k].text.find_first_not_of(' '));
      first = first.substr(0, first.find(' '));
      if (first.find('=') != std::string::npos || first.find('%') != std::string::npos) direct_exec_ok_ = false;
    }
  }
  // -N0: each job's argument is one empty value per input source, inserted unquoted (GNU: "echo x  " for two
  // sources), which the shell then drops.
  if (insert_none) direct_exec_ok_ = false;
  auto needs_total = [](const token& t) {
    return t.type == token::kind::total || t.type == token::kind::seq_padded ||
           (t.op == op_perl && t.text.find("total_jobs") != std::string::npos);
  };
  for (const auto& w : words_)
    for (const auto& t : w)
      if (needs_total(t)) uses_total_ = true;
  measure_for_packing();
  // The other templates are expanded per job: a Perl expression in them that does not compile is bad input
  // now, before any job starts.
  std::vector<std::string> others;
  if (cfg.tagstring) others.push_back(*cfg.tagstring);
  if (cfg.results == results_kind::templated) others.push_back(cfg.results_path);
  for (const auto& f : cfg.filters) others.push_back(f);
  for (const auto& t : cfg.templates) others.push_back(t.second);
  if (!cfg.filters.empty() && !perl_expr::available())
    throw usage_error("--filter needs Perl, and this sluice was built without libperl");
  for (const auto& text : others) {
    bool unused = false;
    for (const auto& t : parse(text, unused))
      if (needs_total(t)) uses_total_ = true;
  }
}

std::vector<command_template::token> command_template::parse(const std::string& text, bool& any) const {
  std::vector<token> out;
  auto lit = [&](std::string_view s) {
    if (s.empty()) return;
    if (!out.empty() && out.back().type == token::kind::literal) out.back().text += s;
    else out.push_back(token{token::kind::literal, std::string(s), "", 0, 0});
  };
  const std::string& rs = cfg_.replace_str;
  const bool custom_parens = cfg_.parens != "{==}";  // --parens: a Perl expression may open without a '{'
  const std::string left_paren = cfg_.parens.substr(0, cfg_.parens.size() / 2);
  // The renamed replacement strings: the new spelling stands for the old, which becomes plain text.
  auto renamed_at = [&](std::size_t at) -> const std::pair<const std::string, std::string>* {
    for (const auto& r : cfg_.renamed)
      if (!r.first.empty() && text.compare(at, r.first.size(), r.first) == 0) return &r;
    return nullptr;
  };
  auto renamed_away = [&](const std::string& inner) {
    for (const auto& r : cfg_.renamed)
      if (r.second == inner) return true;
    return false;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (auto r = renamed_at(i)) {
      std::string inner = r->second;
      token t;
      if (inner == "#") {
        t.type = token::kind::seq;
      } else if (inner == "%") {
        t.type = token::kind::slot;
      } else {
        int op = 0;
        suffix_op(inner, cfg_.plus, op);
        t.type = token::kind::value;
        t.op = op;
      }
      out.push_back(std::move(t));
      any = true;
      i += r->first.size();
      continue;
    }
    if (text[i] == '{' || !rpls_.empty() || custom_parens) {
      token pt;
      std::size_t end = 0;
      if (perl_token_at(text, i, pt, end)) {
        out.push_back(std::move(pt));
        any = true;
        i = end;
        continue;
      }
    }
    if (text.compare(i, rs.size(), rs) == 0) {
      out.push_back(token{token::kind::value, "", "", 0, op_none});
      any = true;
      i += rs.size();
      continue;
    }
    if (text[i] != '{') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '{' && text.compare(j, rs.size(), rs) != 0 && rpls_.empty() &&
             renamed_at(j) == nullptr && !(custom_parens && text.compare(j, left_paren.size(), left_paren) == 0))
        ++j;
      lit(std::string_view(text).substr(i, j - i));
      i = j;
      continue;
    }
    auto close = text.find('}', i + 1);
    if (close == std::string::npos) {
      lit(std::string_view(text).substr(i));
      break;
    }
    std::string inner = text.substr(i + 1, close - i - 1);
    token t;
    bool ok = !renamed_away(inner);
    int op = 0;
    // A --header name wins over the built-in strings, as in GNU ({1} is the column named 1, {/a/b} under
    // --header 0 the file /a/b's value).
    auto named_col = names_.find(inner);
    if (named_col != names_.end()) {
      t.type = token::kind::value;
      t.position = static_cast<int>(named_col->second);
    } else if (inner == "#") t.type = token::kind::seq;
    else if (inner == "%") t.type = token::kind::slot;
    else if (cfg_.plus && inner == "##") t.type = token::kind::total;
    else if (cfg_.plus && inner == "0#") t.type = token::kind::seq_padded;
    else if (cfg_.plus && inner == "0%") t.type = token::kind::slot_padded;
    else if (suffix_op(inner, cfg_.plus, op) && !inner.empty()) {
      t.type = token::kind::value;
      t.op = op;
    } else if (!inner.empty() && (std::isdigit(static_cast<unsigned char>(inner[0])) ||
                                  (inner[0] == '-' && inner.size() > 1 &&
                                   std::isdigit(static_cast<unsigned char>(inner[1]))))) {
      std::size_t k = inner[0] == '-' ? 1 : 0;
      while (k < inner.size() && std::isdigit(static_cast<unsigned char>(inner[k]))) ++k;
      const std::size_t digits = k;
      // As GNU: blanks (newlines too) may stand between the position and what follows it: "{1\n }" is {1}.
      while (k < inner.size() && std::isspace(static_cast<unsigned char>(inner[k]))) ++k;
      if (suffix_op(std::string_view(inner).substr(k), cfg_.plus, op) && digits <= 9) {
        t.type = token::kind::value;
        t.position = std::atoi(inner.substr(0, digits).c_str());
        t.op = op;
        if (t.position == 0) ok = false;
      } else if (cfg_.plus && digits <= 9 && k == digits &&
                 (inner.substr(k) == "choose_k" || inner.substr(k) == "uniq")) {
        // {2choose_k}, {1uniq}: that argument, and the job runs only under the same condition as {choose_k}'s.
        t.type = token::kind::value;
        t.position = std::atoi(inner.substr(0, digits).c_str());
        (inner.substr(k) == "uniq" ? skip_unless_unique_ : skip_unless_ascending_) = true;
        if (t.position == 0) ok = false;
      } else if (cfg_.plus && digits <= 9 && inner.size() > k + 1 && plus_operation(inner.substr(k), t)) {
        t.type = token::kind::value;  // {2/a/b}, {-1%.gz}: a --plus operation on one argument, as GNU
        t.position = std::atoi(inner.substr(0, digits).c_str());
        if (t.position == 0) ok = false;
      } else {
        ok = false;
      }
    } else if (auto named = named_with_op(inner)) {
      // {name.} {name/} {name//} {name/.}: a --header column with an operation, as GNU.
      t.type = token::kind::value;
      t.position = named->first;
      t.op = named->second;
    } else if (const char* var = cfg_.plus ? plus_job_variable(inner) : nullptr) {
      // GNU's --plus defines these as the job's variable, left for the job's shell to expand.
      lit(std::string("${") + var + "}");
      any = true;
      i = close + 1;
      continue;
    } else if (cfg_.plus && (inner == "choose_k" || inner == "uniq")) {
      // Every argument, as {}; the job runs only when they are in strictly ascending order (n choose k)
      // or all different.
      t.type = token::kind::value;
      (inner == "uniq" ? skip_unless_unique_ : skip_unless_ascending_) = true;
    } else if (cfg_.plus && inner.size() >= 2) {
      t.type = token::kind::value;
      ok = plus_operation(inner, t);
    } else {
      ok = false;
    }
    if (!ok) {
      lit("{");
      ++i;
      continue;
    }
    any = true;
    out.push_back(std::move(t));
    i = close + 1;
  }
  return out;
}

std::string command_template::scalar(const token& t, const job_args& job, const job_numbers& n) const {
  (void)job;
  auto digits_for = [](std::size_t total) {
    return total == 0 ? 1 : 1 + static_cast<int>(std::floor(std::log10(static_cast<double>(total))));
  };
  char buf[32];
  switch (t.type) {
    case token::kind::seq: return std::to_string(n.seq);
    case token::kind::slot: return std::to_string(n.slot);
    case token::kind::total: return std::to_string(n.total);
    case token::kind::seq_padded:
      std::snprintf(buf, sizeof buf, "%0*zu", digits_for(n.total), n.seq);
      return buf;
    case token::kind::slot_padded:
      std::snprintf(buf, sizeof buf, "%0*zu", digits_for(cfg_.jobs), n.slot);
      return buf;
    default: return {};
  }
}

// Appends the values a token stands for. Several values (several sources, -n, -m) are separate words,
// each quoted on its own. `words` (direct exec) receives the same split without any quoting.
void command_template::append_values(std::string& out, const token& t, const job_args& job, bool quote,
                                     std::vector<std::string>* words, bool* word_open, bool* raw_inserted,
                                     bool joined) const {
  if (cfg_.semaphore) return;  // a semaphore's command has no argument: {} is nothing, as GNU's "\0noarg"
  if (cfg_.quote_command && cfg_.max_replace_args && cfg_.max_args == 0) return;  // -q -N0: GNU inserts nothing
  std::vector<const std::string*> vals;
  if (t.position == 0) {
    for (const auto& r : job.records)
      for (const auto& v : r) vals.push_back(&v);
  } else {
    // {n} is the n-th value of the job ({-n}: from the end), its records' values taken in order: one record's
    // n-th source, or under -N/-X/-m with several records, as GNU counts them, across the records
    // (-N2 of two sources: {3} is the second record's first value).
    std::size_t count = 0;
    for (const auto& r : job.records) count += r.size();
    long idx = t.position > 0 ? t.position - 1 : static_cast<long>(count) + t.position;
    if (idx >= 0 && static_cast<std::size_t>(idx) < count) {
      std::size_t k = static_cast<std::size_t>(idx);
      for (const auto& r : job.records) {
        if (k < r.size()) {
          vals.push_back(&r[k]);
          break;
        }
        k -= r.size();
      }
    }
  }
  // A missing argument (-n 2 with one left, {3} of two sources) inserts nothing at all, not ''.
  if (vals.empty()) return;
  for (std::size_t k = 0; k < vals.size(); ++k) {
    std::string v;
    bool quote_this = quote && !(cfg_.max_replace_args && cfg_.max_args == 0);  // (-N0: see the constructor)
    if (t.op == op_perl) {
      // $_ is this value; what the expression leaves in $_ is inserted, quoted unless it called uq().
      perl_expr::value pv = perl_expr::evaluate(t.expr, *vals[k], t.groups);
      v = std::move(pv.text);
      if (pv.unquoted) {
        quote_this = false;
        if (raw_inserted) *raw_inserted = true;
      }
    } else {
      v = apply_op(*vals[k], t);
    }
    if (k > 0) {
      if (!joined) out += ' ';
      if (words) *word_open = false;
    }
    out += quote_this ? shell_quote(v) : v;
    if (words) {
      if (!*word_open) {
        words->emplace_back();
        *word_open = true;
      }
      words->back() += v;
    }
  }
}

bool command_template::plus_filter_passes(const job_args& job) const {
  std::vector<std::string_view> args;
  for (const auto& r : job.records)
    for (const auto& v : r) args.emplace_back(v);
  // As GNU's Perl compares them: as strings, byte by byte.
  if (skip_unless_ascending_)
    for (std::size_t k = 1; k < args.size(); ++k)
      if (args[k - 1] >= args[k]) return false;
  if (skip_unless_unique_) {
    std::sort(args.begin(), args.end());
    if (std::adjacent_find(args.begin(), args.end()) != args.end()) return false;
  }
  return true;
}

// Appends the text of a token list: literals as they are, replacement strings substituted; `words` (direct exec)
// receives the same words unquoted, `open` telling whether its last word is still being written.
void command_template::render(const std::vector<token>& toks, const job_args& a, const job_numbers& n, bool quote,
                              std::string& out, std::vector<std::string>* words, bool* open, bool* raw_inserted) const {
  for (const auto& t : toks) {
    if (t.type == token::kind::literal) {
      out += t.text;
      if (words) {
        for (char ch : t.text) {
          if (ch == ' ') {
            *open = false;
          } else {
            if (!*open) {
              words->emplace_back();
              *open = true;
            }
            words->back() += ch;
          }
        }
      }
    } else if (t.type == token::kind::value) {
      append_values(out, t, a, quote, words, open, raw_inserted);
    } else {
      std::string s = scalar(t, a, n);
      out += s;
      if (words) {
        if (!*open) {
          words->emplace_back();
          *open = true;
        }
        words->back() += s;
      }
    }
  }
}

composed_command command_template::compose(const job_args& job, const job_numbers& n) const {
  composed_command c;
  std::vector<std::string> argv;
  bool want_argv = direct_exec_ok_;
  bool raw_inserted = false;  // uq(): text the shell must split and interpret
  if (has_perl_) begin_perl_job(job, n);
  bool repeat = (cfg_.xargs_context || cfg_.max_replace_args || (!cfg_.pipe && cfg_.pipe_lines_per_record > 0)) &&
                job.records.size() > 1;
  if (cfg_.quote_command) {
    compose_quoted(job, n, repeat, c.shell_command, argv, &raw_inserted);
  } else if (repeat) {
    // -X (and, as GNU does, -N and -L): each word holding a replacement string is repeated once per argument.
    compose_repeated(job, n, c.shell_command, want_argv ? &argv : nullptr, &raw_inserted);
  } else {
    bool open = false;
    render(words_.front(), job, n, quote_values_, c.shell_command, want_argv ? &argv : nullptr, &open, &raw_inserted);
  }

  if (has_perl_) {
    c.skip = perl_expr::skip_requested();
    if (raw_inserted) want_argv = false;
  }
  if (skip_unless_ascending_ || skip_unless_unique_) c.skip = c.skip || !plus_filter_passes(job);
  if (want_argv && !argv.empty() && argv.front() == "echo" && !job_shell().echo_is_plain) {
    // dash's (and zsh's) echo expand backslashes and know only -n; /bin/echo differs there and only there.
    for (std::size_t k = 1; k < argv.size(); ++k)
      if (argv[k].find('\\') != std::string::npos || (k == 1 && argv[k].size() > 1 && argv[k][0] == '-' &&
                                                       argv[k].find_first_not_of("neE", 1) == std::string::npos &&
                                                       argv[k] != "-n"))
        want_argv = false;
  }
  // An exported bash function of that name (export -f) wins over the program, as in the job shell.
  if (want_argv && !argv.empty() && !shell_only_word(argv.front()) && !exported_function(argv.front())) {
    std::string prog = find_program(argv.front());
    if (!prog.empty()) {
      c.program = std::move(prog);  // argv[0] stays as written: the program sees its name as the shell gives it
      c.argv = std::move(argv);
    }
  }
  return c;
}

std::string command_template::expand_plain(const std::string& text, const job_args& job, const job_numbers& n,
                                           bool joined) const {
  bool any = false;
  auto toks = parse(text, any);
  if (has_perl_) begin_perl_job(job, n);
  auto render = [&](const std::vector<token>& ts, const job_args& a) {
    std::string out;
    for (const auto& t : ts) {
      if (t.type == token::kind::literal) out += t.text;
      else if (t.type == token::kind::value) append_values(out, t, a, false, nullptr, nullptr, nullptr, joined);
      else out += scalar(t, a, n);
    }
    return out;
  };
  if (!cfg_.xargs_context || job.records.size() < 2) return render(toks, job);
  // -X: as in the command, a word holding {} is repeated for each argument ("a{}b" gives "a1b a2b").
  std::vector<std::vector<token>> words(1);
  for (const auto& t : toks) {
    if (t.type != token::kind::literal) {
      words.back().push_back(t);
      continue;
    }
    std::size_t from = 0;
    for (auto sp = t.text.find(' '); sp != std::string::npos; from = sp + 1, sp = t.text.find(' ', from)) {
      token part = t;
      part.text = t.text.substr(from, sp - from);
      words.back().push_back(std::move(part));
      words.emplace_back();
    }
    token part = t;
    part.text = t.text.substr(from);
    words.back().push_back(std::move(part));
  }
  std::string out;
  for (std::size_t w = 0; w < words.size(); ++w) {
    if (w > 0) out += ' ';
    bool per_arg = std::any_of(words[w].begin(), words[w].end(),
                               [](const token& t) { return t.type == token::kind::value && t.position == 0; });
    if (!per_arg) {
      out += render(words[w], job);
      continue;
    }
    for (std::size_t r = 0; r < job.records.size(); ++r) {
      job_args one = job;
      one.records = {job.records[r]};
      if (r > 0) out += ' ';
      out += render(words[w], one);
    }
  }
  return out;
}

}  // namespace sluice::app
