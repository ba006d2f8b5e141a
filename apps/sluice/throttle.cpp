#include "throttle.hpp"

#include <sluice/system.hpp>

namespace sluice::app {

std::optional<double> instant_load() {
  auto l = sluice::system::load();
  if (!l) return std::nullopt;
  return static_cast<double>(l->runnable > 0 ? l->runnable - 1 : 0);
}

std::optional<double> free_memory() {
  auto bytes = sluice::system::available_memory();
  if (!bytes) return std::nullopt;
  return static_cast<double>(*bytes);
}

std::optional<std::pair<double, double>> swap_counts() {
  auto c = sluice::system::swap_activity();
  if (!c) return std::nullopt;
  return std::pair{static_cast<double>(c->pages_in), static_cast<double>(c->pages_out)};
}

}  // namespace sluice::app
