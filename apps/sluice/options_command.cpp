// apps/sluice/options_command.cpp -- The options that shape the composed command: replacement strings and how many
// arguments a job gets.
#include <algorithm>
#include <iterator>
#include <string>

#include "config.hpp"
#include "option_values.hpp"
#include "options.hpp"

namespace sluice::app {

void add_command_options(option_table& t) {
  using c = config;
  using s = const std::string&;
  t.val({}, 'I', [](c& g, s v) {
    if (v.empty()) throw usage_error("-I needs a non-empty replacement string");
    g.replace_str = v;
  });
  auto rename = [&](std::vector<std::string_view> names, std::string inner) {
    t.val(std::move(names), '\0', [inner](c& g, s v) {
      for (auto it = g.renamed.begin(); it != g.renamed.end();)  // given twice: the last one counts
        it = it->second == inner ? g.renamed.erase(it) : std::next(it);
      if (v != "{" + inner + "}") g.renamed[v] = inner;
    });
  };
  rename({"extensionreplace", "er"}, ".");
  rename({"basenamereplace", "bnr"}, "/");
  rename({"dirnamereplace", "dnr"}, "//");
  rename({"basenameextensionreplace", "bner"}, "/.");
  rename({"seqreplace"}, "#");
  rename({"slotreplace"}, "%");
  t.opt({"replace"}, 'i', [](c& g, s v) { g.replace_str = v.empty() ? "{}" : v; });  // GNU: --replace is -i
  t.flag({"plus"}, '\0', [](c& g) { g.plus = true; });
  t.val({"rpl"}, '\0', [](c& g, s v) { g.rpl.push_back(v); });
  t.flag({"quote"}, 'q', [](c& g) { g.quote_command = true; });
  t.val({"parens"}, '\0', [](c& g, s v) {
    if (v.size() < 2) throw usage_error("--parens needs a left and a right parenthesis, such as {==}, not '" + v + "'");
    g.parens = v;
  });
  t.flag({"shell-quote", "shellquote", "shell_quote"}, '\0', [](c& g) { ++g.shell_quote; });
  t.val({"filter"}, '\0', [](c& g, s v) { g.filters.push_back(v); });
  t.val({"template", "tmpl"}, '\0', [](c& g, s v) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
      throw usage_error("Option tmpl, key \"" + v + "\", requires a value");
    g.templates.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  });
  // -x: GNU parallel stops at a command line longer than -s anyway; accepted for xargs' sake.
  t.flag({"exit"}, 'x', [](c&) {});
  t.val({"max-args", "maxargs"}, 'n', [](c& g, s v) {
    g.max_args = parse_count("-n", v);
    g.pipe_records = std::max<std::size_t>(1, g.max_args);  // --pipe: records per block, as -N (GNU: the same count)
    if (g.max_args == 0) g.max_replace_args = true;  // -n 0: like -N 0, a job per argument, none inserted
    g.args_given = true;
  });
  t.val({"max-replace-args", "maxreplaceargs"}, 'N', [](c& g, s v) {
    g.max_args = parse_count("-N", v);
    g.pipe_records = std::max<std::size_t>(1, g.max_args);
    g.max_replace_args = true;
    g.args_given = true;
  });
  t.val({}, 'L', [](c& g, s v) {
    g.max_args = parse_count("-L", v);
    g.pipe_lines_per_record = std::max<std::size_t>(1, g.max_args);
    if (g.max_args == 0) g.max_replace_args = true;  // -L 0: as -N 0
    g.args_given = true;
  });
  t.opt({"max-lines", "maxlines"}, 'l', [](c& g, s v) {  // GNU's older -L, whose count is optional (0 means 1)
    g.max_args = v.empty() ? 1 : std::max<std::size_t>(1, parse_count("-l", v));
    g.pipe_lines_per_record = g.max_args;
    g.args_given = true;
  });
  t.val({"max-chars", "maxchars"}, 's', [](c& g, s v) {
    g.max_line_length = parse_count("-s", v);
  });
  t.flag({}, 'X', [](c& g) { g.xargs_context = true; });
  t.flag({}, 'm', [](c& g) { g.multi_args = true; });
  t.flag({"xargs"}, '\0', [](c& g) { g.xargs_fill = true; });
}

}  // namespace sluice::app
