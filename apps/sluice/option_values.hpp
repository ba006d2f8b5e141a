// The parsers of option values (option_values.cpp) and of the default options (defaults.cpp), shared by the
// command-line parser (args.cpp) and the option tables. Each throws usage_error naming the option.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace sluice::app {

std::size_t parse_count(const std::string& opt, const std::string& v);    // a non-negative integer
double parse_number(const std::string& opt, const std::string& v);        // a non-negative finite number
double parse_duration(const std::string& opt, const std::string& v);      // "1d2h3m4.5s", "30", "2m": seconds
double parse_size_number(const std::string& opt, const std::string& v);  // the same, any value (a fraction too)
std::size_t parse_size(const std::string& opt, const std::string& v);     // "1M" (1024s), "1m" (1000s), "512"
std::vector<term_step> parse_term_seq(const std::string& v);              // --term-seq TERM,200,KILL,25
halt_policy parse_halt(const std::string& raw);                           // --halt now,fail=1, 2, 50%, ...
double parse_load(const std::string& v, int depth = 0);             // --load: N, N%, +N, -N or a file
std::size_t cpu_threads();                                                // the CPUs this process may use
std::size_t cpu_count(const std::string& what);  // "threads", "cores" or "sockets", as GNU parallel counts them
// -j: cfg.jobs from cfg.jobs_spec (N, N%, +N, -N, 0, or a procfile holding one of those).
void resolve_jobs(config& cfg, bool from_procfile = false);
// -j FILE: the number of jobs the file says now (nothing when it cannot be read or holds no -j value).
std::optional<std::size_t> jobs_from_procfile(const config& cfg);

// GNU parallel's default options, which go before the command line's own: the profiles named by
// -J/--profile, or else /etc/parallel/config and $PARALLEL_HOME/config; then $PARALLEL. --plain: none.
// One list of words a source (a file may end with command words, which the caller moves to the command).
std::vector<std::vector<std::string>> default_words(const std::vector<std::string>& profiles, bool plain);

}  // namespace sluice::app
