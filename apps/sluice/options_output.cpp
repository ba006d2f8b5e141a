// apps/sluice/options_output.cpp -- The output options: how each job's output reaches stdout, and what is recorded of
// the jobs.
#include <string>

#include "config.hpp"
#include "option_values.hpp"
#include "options.hpp"

namespace sluice::app {

void add_output_options(option_table& t) {
  using c = config;
  using s = const std::string&;
  t.flag({"keep-order", "keeporder"}, 'k', [](c& g) { g.keep_order = true; });
  // Wherever it stands, as in GNU: it is there to override a -k from a config file or an alias.
  t.flag({"no-keep-order", "nokeeporder", "nok", "nko", "no-k"}, '\0', [](c& g) { g.no_keep_order = true; });
  t.flag({"ungroup"}, 'u', [](c& g) { g.output = output_mode::ungroup; g.output_given = true; });
  t.flag({"group"}, '\0', [](c& g) { g.output = output_mode::group; g.output_given = true; });
  t.flag({"line-buffer", "linebuffer", "line-buffered", "linebuffered", "lb"}, '\0', [](c& g) { g.output = output_mode::line_buffer; g.output_given = true; });
  t.flag({"tag"}, '\0', [](c& g) { g.tag = true; });
  t.flag({"latest-line", "latestline", "ll"}, '\0', [](c& g) { g.latest_line = true; });
  t.val({"tagstring", "tag-string"}, '\0', [](c& g, s v) { g.tagstring = unquote_printf(v); });
  t.flag({"dry-run", "dryrun"}, '\0', [](c& g) { g.dry_run = true; });
  t.flag({}, 'v', [](c& g) { g.verbose = true; });
  t.flag({"verbose"}, '\0', [](c& g) { g.trace = true; });  // GNU 20221122: --verbose is -t, not -v
  t.flag({}, 't', [](c& g) { g.trace = true; });
  t.val({"debug"}, 'D', [](c& g, s v) { g.debug = v; });
  t.flag({"tmux"}, '\0', [](c& g) { g.tmux = true; });
  t.flag({"tmuxpane", "tmux-pane"}, '\0', [](c& g) { g.tmux = g.tmux_panes = true; });
  t.val({"joblog", "jl"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--joblog needs a file name");
    if (v[0] == '+') {
      g.joblog = v.substr(1);
      g.joblog_append = true;
    } else {
      g.joblog = v;
    }
  });
  t.flag({"resume"}, '\0', [](c& g) { g.resume = true; });
  t.flag({"resume-failed", "resumefailed"}, '\0', [](c& g) { g.resume_failed = true; });
  t.val({"results", "result", "res"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--results needs a name");
    g.results_path = v;
    auto ends = [&](std::string_view suf) {
      return v.size() >= suf.size() && v.compare(v.size() - suf.size(), suf.size(), suf) == 0;
    };
    if (ends(".csv")) g.results = results_kind::csv;
    else if (ends(".tsv")) g.results = results_kind::tsv;
    else if (ends(".json")) g.results = results_kind::json;
    else if (v.find('{') != std::string::npos && v.find('}') != std::string::npos) g.results = results_kind::templated;
    else g.results = results_kind::tree;
  });
  t.flag({"bar"}, '\0', [](c& g) { g.bar = true; });
  t.flag({"progress"}, '\0', [](c& g) { g.progress = true; });
  t.flag({"eta"}, '\0', [](c& g) { g.eta = true; });
  t.val({"total-jobs", "totaljobs", "total"}, '\0', [](c& g, s v) { g.total_jobs = parse_count("--total-jobs", v); });
  t.flag({"color", "colour"}, '\0', [](c& g) { g.color = true; });
  t.flag({"ctag"}, '\0', [](c& g) { g.color = true; g.tag = true; });
  t.val({"ctagstring", "ctag-string"}, '\0', [](c& g, s v) { g.color = true; g.tagstring = unquote_printf(v); });
  t.flag({"files", "output-as-files", "outputasfiles"}, '\0', [](c& g) { g.files = true; });
  t.flag({"compress"}, '\0', [](c& g) { g.compress = true; });
  t.val({"compress-program", "compressprogram", "use-compress-program", "usecompressprogram"}, '\0',
      [](c& g, s v) { g.compress_program = v; });
  t.val({"decompress-program", "decompressprogram", "use-decompress-program", "usedecompressprogram"}, '\0',
      [](c& g, s v) { g.decompress_program = v; });
  t.flag({"color-failed", "colour-failed", "colorfailed", "colourfailed", "color-fail", "colour-fail", "colorfail",
        "colourfail", "cf"},
       '\0', [](c& g) { g.color_failed = true; });
  t.flag({"retry-failed", "retryfailed"}, '\0', [](c& g) { g.retry_failed = true; });
}

}  // namespace sluice::app
