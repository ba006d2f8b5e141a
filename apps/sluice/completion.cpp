// --shell-completion: the completion code for bash and zsh, generated from the option table (options.hpp).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "options.hpp"

namespace sluice::app {

void print_completion(std::string shell, const std::vector<option_spec>& specs) {
  if (shell == "auto") {
    const char* sh = std::getenv("SHELL");
    std::string name = sh != nullptr ? sh : "";
    name = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
    shell = name == "zsh" ? "zsh" : "bash";  // (GNU too answers with bash's code for any other shell)
  }
  if (shell != "bash" && shell != "zsh")
    throw usage_error("Error: --shellcompletion is not implemented for '" + shell + "'.");
  std::vector<std::string> words;
  for (const auto& sp : specs) {
    for (auto l : sp.longs)
      if (!l.empty() && l[0] != '_') words.push_back("--" + std::string(l));
    if (sp.short_name != '\0') words.push_back(std::string("-") + sp.short_name);
  }
  for (const char* w : {"--help", "-h", "--version", "-V"}) words.emplace_back(w);
  std::string out;
  if (shell == "bash") {
    out = "complete -F _comp_sluice sluice;_comp_sluice() { COMPREPLY=($(compgen -W \"";
    for (const auto& w : words) out += w + " ";
    out += "\" -- \"${COMP_WORDS[$COMP_CWORD]}\")); };\n";
  } else {
    out = "compdef _comp_sluice sluice; setopt localoptions extended_glob; _comp_sluice() { _arguments";
    for (const auto& w : words) out += " " + w + "''";
    out += " '(-)1:command: _command_names -e' '*::arguments: _normal' };\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace sluice::app
