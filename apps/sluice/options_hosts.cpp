// apps/sluice/options_hosts.cpp -- The options for other hosts: -S and its transfers, the SQL job queue and --slurm.
#include <string>

#include "config.hpp"
#include "dburl.hpp"
#include "option_values.hpp"
#include "options.hpp"

namespace sluice::app {

void add_host_options(option_table& t) {
  using c = config;
  using s = const std::string&;
  // Remote hosts (remote.hpp); the sshlogins themselves are parsed once the whole line is read.
  t.val({"sshlogin"}, 'S', [](c& g, s v) { g.sshlogins.push_back(v); });
  t.val({"sshloginfile", "slf"}, '\0', [](c& g, s v) { g.sshloginfiles.push_back(v); });
  t.val({"ssh"}, '\0', [](c& g, s v) {
    if (v.find_first_not_of(" \t") == std::string::npos) throw usage_error("--ssh needs a command");
    g.ssh_command = v;
  });
  t.flag({"controlmaster"}, 'M', [](c& g) { g.controlmaster = true; });
  t.flag({"hostgroups", "hostgroup", "hostgrp", "hgrp"}, '\0', [](c& g) { g.hostgroups = true; });
  t.val({"rsync-opts", "rsyncopts"}, '\0', [](c& g, s v) { g.rsync_opts = v; });
  t.val({"sshdelay", "ssh-delay"}, '\0', [](c& g, s v) { g.ssh_delay = parse_duration("--sshdelay", v); });
  t.val({"transferfile", "transfer-file", "transferfiles", "transfer-files", "tf"}, '\0', [](c& g, s v) {
    g.transfer_files.push_back(v);
    if (g.transfer_spelling.empty()) g.transfer_spelling = "--transferfile";
  });
  t.flag({"transfer"}, '\0', [](c& g) {
    g.transfer_files.push_back("{}");
    if (g.transfer_spelling != "--trc") g.transfer_spelling = "--transfer";
  });
  t.val({"return"}, '\0', [](c& g, s v) { g.return_files.push_back(v); });
  t.flag({"cleanup"}, '\0', [](c& g) { g.cleanup = true; });
  t.val({"trc"}, '\0', [](c& g, s v) {
    g.transfer_files.push_back("{}");
    g.return_files.push_back(v);
    g.cleanup = true;
    g.transfer_spelling = "--trc";
  });
  t.val({"basefile", "bf"}, '\0', [](c& g, s v) { g.basefiles.push_back(v); });
  t.val({"workdir", "work-dir", "wd"}, '\0', [](c& g, s v) { g.workdir = v; });
  t.flag({"onall"}, '\0', [](c& g) { g.onall = true; });
  t.flag({"nonall"}, '\0', [](c& g) { g.nonall = true; });
  t.flag({"filter-hosts", "filterhosts", "filter-host"}, '\0', [](c& g) { g.filter_hosts = true; });
  t.val({"env"}, '\0', [](c& g, s v) {
    std::size_t from = 0;
    for (;;) {  // --env A,B names two
      auto comma = v.find(',', from);
      std::string name = v.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
      if (!name.empty()) g.env_names.push_back(name);
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
  });
  // The SQL job queue (sql_queue.cpp); the DBURL is parsed when the run starts.
  t.val({"sqlmaster", "sql-master"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = v; });
  t.val({"sqlworker", "sql-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_worker = v; });
  t.val({"sqlandworker", "sql-and-worker"}, '\0', [](c& g, s v) { parse_dburl(v), g.sql_master = g.sql_worker = v; });
  t.flag({"slurm"}, '\0', [](c& g) { g.slurm = true; });
  t.val({"cpus-per-job"}, '\0', [](c& g, s v) {
    g.slurm_cpus_per_job = parse_count("--cpus-per-job", v);
    if (g.slurm_cpus_per_job == 0) throw usage_error("--cpus-per-job must be at least 1");
  });
}

}  // namespace sluice::app
