// Small string helpers shared by the job runner: GNU parallel's shell quoting, splitting, escaping.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sluice::app {

std::vector<std::string> split_string(std::string_view s, char sep);

// GNU parallel's quoting for Bourne shells: a value with any byte outside [-_.+A-Za-z0-9/] is wrapped in
// single quotes (each ' becoming '"'"', with needless '' trimmed at the ends); "" becomes ''.
std::string shell_quote(std::string_view s);
bool needs_quoting(std::string_view s) noexcept;

// Field quoting for --results .csv / .tsv, and JSON string escaping for .json.
std::string csv_field(std::string_view s, char sep);
std::string json_string(std::string_view s);

std::string trim_string(std::string_view s, std::string_view how);  // how: n, l, r, lr, rl

}  // namespace sluice::app
