// --template / --tmpl file=name: before each job starts, the file's text with the job's replacement strings
// substituted (unquoted, as in a --tagstring) is written to `name`, itself substituted; --cleanup removes it
// when the job ends. The files are read once, up front.
#pragma once
#include <string>
#include <vector>

#include "compose.hpp"
#include "config.hpp"

namespace sluice::app {

struct job_template {
  std::string name;      // the file to write, with replacement strings
  std::string contents;  // the template's text, with replacement strings
};

// Reads every --template file; throws usage_error ("Cannot open 'file'.") for one that cannot be read.
std::vector<job_template> load_templates(const config& cfg);

// Writes the job's copies and returns their names; throws std::runtime_error when one cannot be written.
std::vector<std::string> fill_templates(const std::vector<job_template>& templates, const command_template& tpl,
                                        const job_args& job, const job_numbers& n);

}  // namespace sluice::app
