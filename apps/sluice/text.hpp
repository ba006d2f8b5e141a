// Small string helpers shared by the job runner: GNU parallel's shell quoting, splitting, escaping.
#pragma once
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::app {

std::vector<std::string> split_string(std::string_view s, char sep);

// The name sluice's messages start with: "parallel" when it was run under that name (a drop-in link in place
// of GNU parallel, whose messages and the scripts that read them say "parallel: "), else "sluice".
void set_program_name(std::string_view argv0);
const std::string& program_name();
// A message as written in the code ("sluice: Warning: ...", line by line) under the program's name.
std::string named(std::string_view message);

// GNU parallel's quoting for Bourne shells: a value with any byte outside [-_.+A-Za-z0-9/] is wrapped in
// single quotes (each ' becoming '"'"', with needless '' trimmed at the ends); "" becomes ''.
std::string shell_quote(std::string_view s);
bool needs_quoting(std::string_view s) noexcept;

// Field quoting for --results .csv / .tsv, and JSON string escaping for .json.
std::string csv_field(std::string_view s, char sep);
std::string json_string(std::string_view s);

std::string trim_string(std::string_view s, std::string_view how);  // how: n, l, r, lr, rl

// Perl's numeric value of a string: leading blanks, a sign, digits, a fraction, an exponent; else 0.
double perl_number(const std::string& s);

// A user's regular expression (--plus replacement strings, --colsep) as a std::regex (ECMAScript). Throws
// std::regex_error for what std::regex refuses, and also (found by fuzzing) for a repetition count above 1000
// ({n}, {n,m}) or a back-reference number of more than 3 digits -- libstdc++ parses those numbers into a long
// without an overflow check (undefined behaviour) and copies the repeated part once per count -- and for a
// quantifier of a quantifier (a**, .++), which ECMAScript forbids and libstdc++ backtracks on exponentially.
std::regex user_regex(const std::string& pattern);

}  // namespace sluice::app
