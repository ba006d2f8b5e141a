// --slurm (see slurm.hpp).
#include "slurm.hpp"

#include <cstdlib>
#include <string_view>

namespace sluice::app {

namespace {

// Digits only, bounded; nullopt-like 0 for anything else.
std::size_t number(std::string_view s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos) return 0;
  return static_cast<std::size_t>(std::strtoull(std::string(s).c_str(), nullptr, 10));
}

}  // namespace

std::size_t slurm_allocation_cpus(const char* cpus_on_node, const char* job_cpus_per_node) {
  if (cpus_on_node != nullptr) {
    if (std::size_t n = number(cpus_on_node)) return n;
  }
  if (job_cpus_per_node == nullptr) return 0;
  // A comma-separated list of N or N(xM).
  std::size_t total = 0;
  std::string_view rest(job_cpus_per_node);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::size_t times = 1;
    auto paren = item.find("(x");
    if (paren != std::string_view::npos) {
      if (item.back() != ')') return 0;
      times = number(item.substr(paren + 2, item.size() - paren - 3));
      item = item.substr(0, paren);
    }
    std::size_t n = number(item);
    if (n == 0 || times == 0) return 0;
    total += n * times;
  }
  return total;
}

void slurm_setup(config& cfg) {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr || *job == '\0')
    throw usage_error("--slurm runs jobs as steps of a Slurm allocation, but SLURM_JOB_ID is not set: run sluice under salloc or sbatch");
  std::size_t cpus = slurm_allocation_cpus(std::getenv("SLURM_CPUS_ON_NODE"), std::getenv("SLURM_JOB_CPUS_PER_NODE"));
  if (cpus == 0)
    throw usage_error("--slurm: cannot tell the allocation's CPUs (SLURM_CPUS_ON_NODE and SLURM_JOB_CPUS_PER_NODE are unset or malformed)");
  if (cfg.slurm_cpus_per_job > cpus)
    throw usage_error("--cpus-per-job " + std::to_string(cfg.slurm_cpus_per_job) + " is more than the allocation's " +
                      std::to_string(cpus) + " CPUs");
  if (!cfg.jobs_given) cfg.jobs = cpus / cfg.slurm_cpus_per_job;
}

std::vector<std::string> slurm_step_argv(const config& cfg, std::vector<std::string> argv) {
  std::vector<std::string> out{"srun", "--exact", "--quiet", "-n1", "-N1", "-c" + std::to_string(cfg.slurm_cpus_per_job), "--"};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

}  // namespace sluice::app
