// apps/sluice/color.cpp -- the job colours of --color and --ctag (see color.hpp).
#include "color.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <utility>
#include <vector>

namespace sluice::app {

namespace {

// Background colours with black (0) or white (231) text that stay readable, ordered so that neighbours differ:
// by index modulo 23, then by index modulo 7 descending (GNU's experimentally found order; ties keep their
// place, as Perl's merge sort does).
std::vector<std::string> make_table() {
  std::vector<std::pair<int, int>> combos;
  auto add = [&](int from, int to, int fg) {
    for (int c = from; c <= to; ++c) combos.emplace_back(c, fg);
  };
  for (auto [a, b] : {std::pair{6, 7}, {9, 11}, {13, 15}, {40, 51}, {75, 87}, {113, 123}, {147, 159}, {171, 182},
                      {185, 231}, {249, 254}})
    add(a, b, 0);
  for (auto [a, b] : {std::pair{1, 9}, {12, 13}, {16, 45}, {52, 81}, {88, 114}, {124, 149}, {160, 178}, {180, 180},
                      {182, 184}, {196, 214}, {232, 250}})
    add(a, b, 231);
  std::vector<int> order(combos.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [](int a, int b) {
    if (a % 23 != b % 23) return a % 23 < b % 23;
    return a % 7 > b % 7;
  });
  std::vector<std::string> table;
  for (int i : order) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "\033[48;5;%03d;38;5;%03dm\033[K", combos[static_cast<std::size_t>(i)].first,
                  combos[static_cast<std::size_t>(i)].second);
    table.emplace_back(buf);
  }
  return table;
}

}  // namespace

std::string job_color(std::size_t seq) {
  static const std::vector<std::string> table = make_table();
  return table[seq % table.size()];
}

}  // namespace sluice::app
