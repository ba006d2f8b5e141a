// GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s <regex> automaton when it is inlined here with
// sanitizers on (a known false positive in std::function's move); it is not about this file's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "input.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>


#include <sluice/subprocess.hpp>

#include "text.hpp"

namespace sluice::app {

record_reader::record_reader(int fd, bool owned, std::string delim) : fd_(fd), owned_(owned), delim_(std::move(delim)) {}

record_reader::~record_reader() {
  if (owned_) sluice::fd(fd_).close();
}

std::optional<std::string> record_reader::next() {
  for (;;) {
    auto hit = delim_.size() == 1 ? buf_.find(delim_[0], pos_) : buf_.find(delim_, pos_);
    if (hit != std::string::npos) {
      std::string rec = buf_.substr(pos_, hit - pos_);
      pos_ = hit + delim_.size();
      return rec;
    }
    if (eof_) {
      if (pos_ < buf_.size()) {
        std::string rec = buf_.substr(pos_);
        pos_ = buf_.size();
        return rec;
      }
      return std::nullopt;
    }
    // Compact, then read a large chunk: one syscall per 64 KiB rather than per line.
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    std::size_t old = buf_.size();
    buf_.resize(old + 65536);
    std::size_t n;
    try {
      n = sluice::read_some(fd_, buf_.data() + old, 65536);  // returns what is there: input streams in
    } catch (const std::system_error& e) {
      buf_.resize(old);
      throw std::system_error(e.code(), "reading input");
    }
    buf_.resize(old + n);
    if (n == 0) eof_ = true;
  }
}

namespace {
bool regex_meta(const std::string& s) {
  return s.find_first_of("\\^$.|?*+()[]{}") != std::string::npos;
}
}  // namespace

// GNU's warning, once per input read from a terminal while stderr is one too: a forgotten ::: or pipe.
void input_reader::warn_about_terminal_input() const {
  if (!sluice::is_terminal(2)) return;
  for (const auto& st : sources_) {
    if (!st.reader || !sluice::is_terminal(st.reader->descriptor())) continue;
    static const char k_warning[] =
        "sluice: Warning: Input is read from the terminal. You are either an expert\n"
        "sluice: Warning: (in which case: YOU ARE AWESOME!) or maybe you forgot\n"
        "sluice: Warning: ::: or :::: or -a or to pipe data into parallel. If so\n"
        "sluice: Warning: consider going through the tutorial: man parallel_tutorial\n"
        "sluice: Warning: Press CTRL-D to exit.\n";
    sluice::try_write_all(2, named(k_warning));
  }
}

input_reader::input_reader(const config& cfg) : cfg_(cfg) {
  if (cfg.colsep && regex_meta(*cfg.colsep)) {
    try {
      colsep_re_.emplace(user_regex(*cfg.colsep));
    } catch (const std::regex_error&) {
      throw usage_error("--colsep: invalid regular expression '" + *cfg.colsep + "'");
    }
  }
  const std::string delimiter = cfg.delimiter_text.empty() ? std::string(1, cfg.delimiter) : cfg.delimiter_text;
  for (const auto& src : cfg.sources) {
    source_state st;
    switch (src.type) {
      case input_source::kind::values:
        st.values = src.values;
        if (cfg.eof_string) {  // -E ends ::: values too, as GNU does
          auto at = std::find(st.values.begin(), st.values.end(), *cfg.eof_string);
          st.values.erase(at, st.values.end());
        }
        if (lines_mode()) {  // -L: a value ending in a blank goes on in the next one
          std::vector<std::string> joined;
          bool open = false;
          for (auto& v : st.values) {
            if (open) joined.back() += v;
            else joined.push_back(std::move(v));
            open = !joined.back().empty() && (joined.back().back() == ' ' || joined.back().back() == '\t');
          }
          st.values = std::move(joined);
        }
        break;
      case input_source::kind::standard_input:
        reads_stdin_ = true;
        st.reader = std::make_unique<record_reader>(0, false, delimiter);
        break;
      case input_source::kind::file: {
        sluice::fd f;
        try {
          f = sluice::open_file(src.path);
        } catch (const std::system_error& e) {
          throw usage_error("Error: Cannot open input file `" + src.path + "': " + std::strerror(e.code().value()) + ".");
        }
        st.reader = std::make_unique<record_reader>(f.release(), true, delimiter);
        break;
      }
    }
    sources_.push_back(std::move(st));
  }
  warn_about_terminal_input();
  if (cfg.skip_first_line && !sources_.empty()) {
    // --skip-first-line (what --shebang uses for the #! line): the first source's first line is no argument.
    source_state& first = sources_.front();
    if (first.reader) first.reader->next();
    else if (!first.values.empty()) first.values.erase(first.values.begin());
  }
  streaming_ = sources_.size() == 1;

  if (cfg.header && cfg.header_text == "0") {
    // --header 0: no line is a header; a file's values are named by the file's path ({path}), as in GNU.
    for (std::size_t i = 0; i < cfg.sources.size(); ++i)
      if (cfg.sources[i].type == input_source::kind::file) names_[cfg.sources[i].path] = i + 1;
  } else if (cfg.header) {
    std::size_t col = 1;
    reading_header_ = true;  // (a header line is no value for the CR-NL hint, as in GNU)
    for (auto& s : sources_) {
      auto v = next_value(s);
      if (!v) continue;
      if (!v->empty() && v->back() == '\r') v->pop_back();  // DOS text: the names are without the CR, as GNU's
      if (cfg.colsep) {
        for (auto& name : split_columns(*v)) names_[name] = col++;
      } else {
        names_[*v] = col++;
      }
    }
    reading_header_ = false;
  }
  if (!streaming_) {
    // Read every source now; --link wraps, :::+ truncates, the product walks them lazily.
    for (auto& s : sources_) {
      if (!s.reader) continue;
      std::vector<std::string> vals;
      while (auto v = next_value(s)) vals.push_back(std::move(*v));
      s.values = std::move(vals);
      s.pos = 0;
      s.reader.reset();
    }
    // The values sources consumed by the header were advanced through pos; drop them now.
    for (auto& s : sources_) {
      if (s.pos > 0) {
        s.values.erase(s.values.begin(), s.values.begin() + static_cast<std::ptrdiff_t>(s.pos));
        s.pos = 0;
      }
    }
    // Groups: linked sources form one group; --link links everything (with wrapping).
    struct group {
      std::vector<std::size_t> members;
      std::size_t rows = 0;
    };
    std::vector<group> groups;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      if (cfg.link || (i > 0 && cfg.sources[i].linked_to_previous)) {
        if (groups.empty()) groups.push_back({});
        groups.back().members.push_back(i);
      } else {
        groups.push_back({{i}, 0});
      }
    }
    bool all_empty = true;
    for (auto& g : groups) {
      std::size_t mn = SIZE_MAX, mx = 0;
      for (auto m : g.members) {
        mn = std::min(mn, sources_[m].values.size());
        mx = std::max(mx, sources_[m].values.size());
      }
      g.rows = cfg.link ? (mn == 0 ? 0 : mx) : mn;
      if (g.rows > 0) all_empty = false;
    }
    // An empty source among non-empty ones gives an empty value, as GNU parallel does ("a--x" for
    // {1}-{2}-{3} with an empty second source); only all-empty input runs no job.
    for (auto& g : groups)
      if (g.rows == 0) {
        g.rows = 1;
        for (auto m : g.members)
          if (sources_[m].values.empty()) sources_[m].values.push_back("");
      }
    if (!all_empty) {
      std::vector<std::size_t> idx(groups.size(), 0);
      for (;;) {
        arg_record rec;
        for (std::size_t gi = 0; gi < groups.size(); ++gi)
          for (auto m : groups[gi].members) {
            const auto& vals = sources_[m].values;
            rec.push_back(vals[idx[gi] % vals.size()]);
          }
        combined_.push_back(std::move(rec));
        std::size_t k = groups.size();
        while (k > 0) {
          --k;
          if (++idx[k] < groups[k].rows) break;
          idx[k] = 0;
          if (k == 0) goto done;
        }
        if (groups.empty()) break;
      }
    done:;
    }
  }
}

// -L / -l (not under --pipe): xargs' rule, a line ending in a blank goes on in the next line.
bool input_reader::lines_mode() const noexcept { return !cfg_.pipe && cfg_.pipe_lines_per_record > 0; }

std::optional<std::string> input_reader::next_value(source_state& s) {
  auto v = next_raw_value(s);
  if (!v || !s.reader || !lines_mode()) return v;
  while (!v->empty() && (v->back() == ' ' || v->back() == '\t')) {
    auto more = next_raw_value(s);  // (an end-of-file string ends the line as it is)
    if (!more) break;
    *v += *more;
  }
  return v;
}

std::optional<std::string> input_reader::next_raw_value(source_state& s) {
  for (;;) {
    std::optional<std::string> v;
    if (s.reader) {
      if (eof_seen_ && streaming_) return std::nullopt;
      v = s.reader->next();
    } else if (s.pos < s.values.size()) {
      v = s.values[s.pos++];
    }
    if (!v) return std::nullopt;
    if (s.reader && crlf_seen_ < 3 && cfg_.delimiter_text.empty() && !reading_header_) {
      // GNU's hint for DOS text: the first three values read all end in CR.
      const bool cr = !v->empty() && v->back() == '\r';
      if (!cr) {
        crlf_seen_ = 3;  // not DOS text: no more checks
      } else if (++crlf_seen_ == 3) {
        static const char k_hint[] = "sluice: Warning: The first three values end in CR-NL. Consider using -d \"\\r\\n\"\n";
        sluice::try_write_all(2, named(k_hint));
      }
    }
    if (s.reader && v->find('\0') != std::string::npos) {
      // As GNU: a NUL cannot be in an argument; each becomes the two characters \0, with a warning per value.
      std::string text;
      for (char c : *v) {
        if (c == '\0') text += "\\0";
        else text += c;
      }
      *v = std::move(text);
      static const char k_nul[] =
          "sluice: Warning: A NUL character in the input was replaced with \\0.\n"
          "sluice: Warning: NUL cannot be passed through in the argument list.\n"
          "sluice: Warning: Did you mean to use the --null option?\n";
      sluice::try_write_all(2, named(k_nul));
    }
    if (cfg_.csv && s.reader) {
      // A quoted CSV field may hold the delimiter: the record goes on until its quotes balance.
      while (std::count(v->begin(), v->end(), '"') % 2 != 0) {
        auto more = s.reader->next();
        if (!more) throw std::runtime_error("CSV has unexpected format: ^" + *v + "^");
        *v += cfg_.delimiter_text.empty() ? std::string(1, cfg_.delimiter) : cfg_.delimiter_text;
        *v += *more;
      }
    }
    if (cfg_.eof_string && *v == *cfg_.eof_string) {
      eof_seen_ = true;
      if (s.reader) {
        // Drain nothing more from this source: -E ends it.
        s.reader.reset();
      }
      return std::nullopt;
    }
    return v;
  }
}

// --csv: RFC 4180 fields as Text::CSV reads them (binary, no whitespace allowed around quotes): a field is
// bare (no quote in it) or quoted from its first byte, with "" standing for a quote; anything else is an error.
arg_record parse_csv(const std::string& line, char sep) {
  arg_record cols;
  std::size_t i = 0;
  auto bad = [&]() { return std::runtime_error("CSV has unexpected format: ^" + line + "^"); };
  for (;;) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) throw bad();
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != sep) throw bad();
    } else {
      while (i < line.size() && line[i] != sep) {
        if (line[i] == '"') throw bad();
        field += line[i++];
      }
    }
    cols.push_back(std::move(field));
    if (i >= line.size()) return cols;
    ++i;  // the separator
  }
}

arg_record input_reader::split_columns(const std::string& line) const {
  arg_record cols;
  if (cfg_.csv) {
    cols = parse_csv(line, cfg_.colsep && !cfg_.colsep->empty() ? unescape_delimiter(*cfg_.colsep)[0] : ',');
  } else if (colsep_re_) {
    std::sregex_token_iterator it(line.begin(), line.end(), *colsep_re_, -1), end;
    for (; it != end; ++it) cols.push_back(it->str());
    if (cols.empty()) cols.push_back("");
  } else {
    const std::string& sep = *cfg_.colsep;
    std::size_t start = 0;
    for (;;) {
      auto pos = line.find(sep, start);
      if (pos == std::string::npos) {
        cols.push_back(line.substr(start));
        break;
      }
      cols.push_back(line.substr(start, pos - start));
      start = pos + sep.size();
    }
  }
  for (auto& c : cols) c = trim_string(c, cfg_.trim);
  return cols;
}

bool input_reader::wanted(const arg_record& r) const {
  if (!cfg_.skip_empty) return true;
  for (const auto& v : r)
    if (v.find_first_not_of(" \t\r\n") != std::string::npos) return true;
  return false;
}

std::optional<arg_record> input_reader::next_combined() {
  if (streaming_) {
    auto v = next_value(sources_[0]);
    if (!v) return std::nullopt;
    arg_record r;
    r.push_back(std::move(*v));
    return r;
  }
  if (combined_pos_ >= combined_.size()) {
    combined_.clear();
    combined_.shrink_to_fit();
    return std::nullopt;
  }
  return std::move(combined_[combined_pos_++]);
}

std::optional<arg_record> input_reader::next() {
  for (;;) {
    auto r = next_combined();
    if (!r) return std::nullopt;
    if (cfg_.colsep) {
      arg_record cols;
      for (const auto& v : *r)
        for (auto& c : split_columns(v)) cols.push_back(std::move(c));
      r = std::move(cols);
    } else if (cfg_.trim != "n") {
      for (auto& v : *r) v = trim_string(v, cfg_.trim);
    }
    if (wanted(*r)) return r;
  }
}

}  // namespace sluice::app
