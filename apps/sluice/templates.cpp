#include "templates.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sluice::app {

std::vector<job_template> load_templates(const config& cfg) {
  std::vector<job_template> out;
  std::vector<std::string> files;  // out[k] came from files[k]
  for (const auto& [file, name] : cfg.templates) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw usage_error("Error: Cannot open '" + file + "'.");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The same file given twice: the last name counts (GNU keeps them in a hash keyed by the file).
    bool replaced = false;
    for (std::size_t k = 0; k < out.size(); ++k)
      if (files[k] == file) {
        out[k] = job_template{name, text};
        replaced = true;
      }
    if (!replaced) {
      out.push_back(job_template{name, std::move(text)});
      files.push_back(file);
    }
  }
  return out;
}

std::vector<std::string> fill_templates(const std::vector<job_template>& templates, const command_template& tpl,
                                        const job_args& job, const job_numbers& n) {
  std::vector<std::string> names;
  for (const auto& t : templates) {
    std::string name = tpl.expand_plain(t.name, job, n, true);
    std::string text = tpl.expand_plain(t.contents, job, n, true);
    std::ofstream f(name, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.flush();
    if (!f) throw std::runtime_error("cannot write the template copy '" + name + "'");
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace sluice::app
