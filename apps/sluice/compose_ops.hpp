// The per-value operations of replacement strings ({.} {/} {//} {/.}, and --plus: {..} {+.} {#re} {/re/s}
// {^re} ...), applied to one value. With libperl, compose.cpp hands the pattern operations to Perl, as GNU
// does; these std::regex forms are what a build without libperl uses; compose.cpp parses the strings and calls these for each value.
#pragma once
#include <regex>
#include <string>
#include <string_view>

#include "compose.hpp"

namespace sluice::app {

enum op : int {
  op_none,
  op_noext,         // {.}
  op_basename,      // {/}
  op_dirname,       // {//}
  op_base_noext,    // {/.}
  op_noext2,        // {..}
  op_noext3,        // {...}
  op_base_noext2,   // {/..}
  op_base_noext3,   // {/...}
  op_plus_dir,      // {+/}
  op_plus_ext,      // {+.}
  op_plus_ext2,     // {+..}
  op_plus_ext3,     // {+...}
  op_default,       // {:-str}
  op_substr_from,   // {:n}
  op_substr,        // {:n:m}
  op_strip_prefix,  // {#re}
  op_strip_prefix_long,  // {##re}
  op_strip_suffix,  // {%re}
  op_strip_suffix_long,  // {%%re}
  op_replace_one,   // {/re/s}
  op_replace_all,   // {//re/s}
  op_upper_first,   // {^re}
  op_upper_all,     // {^^re}
  op_lower_first,   // {,re}
  op_lower_all,     // {,,re}
  op_replace_start, // {/#re/s}
  op_replace_end,   // {/%re/s}
  op_perl,          // {= perl =}, --rpl: token::expr says which expression
};

// A --plus pattern compiled; a bad one is a usage_error.
std::regex make_regex(const std::string& re);
// The value after the token's operation (token::op, with token::text / text2 as its arguments).
std::string apply_op(std::string v, const command_template::token& t);
// The suffix of a positional string: "" "." "/" "//" "/." (and with --plus "..", "...", "/..", "/...",
// "+/", "+.", "+..", "+..."); false when it is none of them.
bool suffix_op(std::string_view s, bool plus, int& op);

}  // namespace sluice::app
