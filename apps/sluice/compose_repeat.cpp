// -X, -m (and -N, -L with several arguments): the words of a command that hold {} are repeated once per
// argument, as in GNU parallel. Here: that repetition, and the lengths the feeder packs arguments by
// (base_length, context_length, value_uses; feeder.hpp).
#include <algorithm>
#include <string>
#include <vector>

#include "compose.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {
bool repeats_per_argument(const command_template::token& t) {
  return t.type == command_template::token::kind::value && t.position == 0;
}
}  // namespace

void command_template::measure_for_packing() {
  for (const auto& w : words_)
    for (const auto& t : w) {
      if (t.type == token::kind::literal) base_length_ += t.text.size();
      if (repeats_per_argument(t)) ++value_uses_;
    }
  if (!cfg_.xargs_context) return;
  if (cfg_.quote_command) {
    // -q: a command word holding {} is repeated whole, quoted (at most two quotes and a space more).
    for (const auto& w : words_) {
      if (std::none_of(w.begin(), w.end(), repeats_per_argument)) continue;
      for (const auto& t : w)
        if (t.type == token::kind::literal) context_length_ += t.text.size();
      context_length_ += 2;
      ++value_words_;
    }
    return;
  }
  // The words holding a replacement string, split at the spaces of the literals, as compose_repeated repeats them.
  std::size_t word_literal = 0;
  bool word_has_value = false;
  auto end_word = [&] {
    if (word_has_value) context_length_ += word_literal, ++value_words_;
    word_literal = 0;
    word_has_value = false;
  };
  for (const auto& t : words_.front()) {
    if (t.type != token::kind::literal) {
      if (repeats_per_argument(t)) word_has_value = true;
      continue;
    }
    for (char ch : t.text) {
      if (ch == ' ') end_word();
      else ++word_literal;
    }
  }
  end_word();
}

void command_template::compose_repeated(const job_args& job, const job_numbers& n, std::string& out,
                                        std::vector<std::string>* argv, bool* raw_inserted) const {
  // Split the token list into words at unquoted spaces in literals.
  std::vector<std::vector<token>> split(1);
  for (const auto& t : words_.front()) {
    if (t.type != token::kind::literal) {
      split.back().push_back(t);
      continue;
    }
    std::string cur;
    for (char ch : t.text) {
      if (ch == ' ') {
        if (!cur.empty()) split.back().push_back(token{token::kind::literal, cur, "", 0, 0});
        cur.clear();
        if (!split.back().empty()) split.emplace_back();
      } else {
        cur += ch;
      }
    }
    if (!cur.empty()) split.back().push_back(token{token::kind::literal, cur, "", 0, 0});
  }
  bool open = false;
  bool first = true;
  for (const auto& w : split) {
    if (w.empty()) continue;
    // Only a word with {} (not a positional {n}) is repeated per argument, as in GNU.
    if (std::none_of(w.begin(), w.end(), repeats_per_argument)) {
      if (!first) out += ' ';
      first = false;
      open = false;
      render(w, job, n, quote_values_, out, argv, &open, raw_inserted);
      continue;
    }
    // Once per value: with several sources, each value of each argument gets its own copy of the word.
    for (const auto& rec : job.records)
      for (const auto& v : rec) {
        job_args one{job.seq, {arg_record{v}}, {}};
        if (!first) out += ' ';
        first = false;
        open = false;
        // {} is this value; a positional {n} (and the rest) still refers to the whole job, as in GNU.
        for (const auto& t : w)
          render(std::vector<token>{t}, repeats_per_argument(t) ? one : job, n, quote_values_, out, argv, &open,
                 raw_inserted);
      }
  }
}

void command_template::compose_quoted(const job_args& job, const job_numbers& n, bool repeat, std::string& out,
                                      std::vector<std::string>& argv, bool* raw_inserted) const {
  bool insert_none = cfg_.max_replace_args && cfg_.max_args == 0;
  // `one` (a repeated word's copy): {} is that one value; a positional {n} and the rest stay the job's.
  auto emit = [&](const std::vector<token>& w, const job_args* one) {
    std::string word;
    bool open = false;
    if (!one) render(w, job, n, false, word, nullptr, &open, raw_inserted);
    else
      for (const auto& t : w)
        render(std::vector<token>{t}, repeats_per_argument(t) ? *one : job, n, false, word, nullptr, &open,
               raw_inserted);
    // A word that -N0 left empty is dropped, as GNU drops it; a word that was empty to begin with ('') stays.
    if (word.empty() && insert_none && !w.empty()) return;
    if (!out.empty()) out += ' ';
    out += shell_quote(word);
    argv.push_back(std::move(word));
  };
  for (const auto& w : words_) {
    if (!repeat || std::none_of(w.begin(), w.end(), repeats_per_argument)) {
      emit(w, nullptr);
      continue;
    }
    for (const auto& rec : job.records)
      for (const auto& v : rec) {
        job_args one{job.seq, {arg_record{v}}, {}};
        emit(w, &one);
      }
  }
}

}  // namespace sluice::app
