// --slurm: inside a Slurm allocation, each job runs as a job step (`srun --exact -n1 -c<cpus per job>`), and the
// slots are the allocation's CPUs divided by the CPUs per job. Steps end with their srun: the job's
// --term-seq (SIGINT, --halt, --timeout) reaches srun in the job's process group, and srun passes it to its step.
#pragma once
#include <string>
#include <vector>

#include "config.hpp"

namespace sluice::app {

// Checks that we are inside an allocation (SLURM_JOB_ID) and, unless -j was given, sets the job count to
// its CPUs / cpus_per_job. Throws usage_error otherwise. Reads the environment only.
void slurm_setup(config& cfg);

// The CPUs of the allocation as Slurm states them: SLURM_CPUS_ON_NODE, else the sum over
// SLURM_JOB_CPUS_PER_NODE ("4(x2),2" is 10); 0 when neither parses.
std::size_t slurm_allocation_cpus(const char* cpus_on_node, const char* job_cpus_per_node);

// The argv that runs argv as one job step.
std::vector<std::string> slurm_step_argv(const config& cfg, std::vector<std::string> argv);

}  // namespace sluice::app
