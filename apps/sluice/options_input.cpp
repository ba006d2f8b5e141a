// apps/sluice/options_input.cpp -- The input options: where arguments come from and how they are split, and --pipe's
// blocks and records.
#include <cmath>
#include <string>

#include "config.hpp"
#include "option_values.hpp"
#include "options.hpp"

namespace sluice::app {

void add_input_options(option_table& t) {
  using c = config;
  using s = const std::string&;
  t.val({"arg-file"}, 'a', [](c& g, s v) {
    input_source src;
    src.type = v == "-" ? input_source::kind::standard_input : input_source::kind::file;
    src.path = v;
    g.sources.push_back(std::move(src));
  });
  t.flag({"null"}, '0', [](c& g) { g.null_delim = true; g.delimiter = '\0'; g.delimiter_text = std::string(1, '\0'); });
  t.val({"delimiter"}, 'd', [](c& g, s v) {
    std::string d = unescape_delimiter(v);
    if (d.empty()) throw usage_error("-d needs a delimiter");
    g.delimiter = d[0];
    g.delimiter_text = d;  // several characters, as GNU allows: -d '\r\n'
  });
  t.val({"eof"}, 'E', [](c& g, s v) { g.eof_string = v; });
  t.opt({}, 'e', [](c& g, s v) {  // GNU's older -E: without a string, no end-of-file string
    if (v.empty()) g.eof_string.reset();
    else g.eof_string = v;
  });
  t.val({"arg-sep", "argsep"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--arg-sep needs a non-empty separator");
    g.arg_sep = v;
  });
  t.val({"arg-file-sep", "argfilesep"}, '\0', [](c& g, s v) {
    if (v.empty()) throw usage_error("--arg-file-sep needs a non-empty separator");
    g.arg_file_sep = v;
  });
  t.val({"colsep", "col-sep"}, 'C', [](c& g, s v) {
    if (v.empty()) throw usage_error("--colsep needs a separator");
    g.colsep = v;
  });
  t.val({"trim"}, '\0', [](c& g, s v) {
    if (v != "n" && v != "l" && v != "r" && v != "lr" && v != "rl")
      throw usage_error("Error: --trim must be one of: r l rl lr.");  // GNU's words
    g.trim = v;
    g.trim_given = true;
  });
  t.flag({"no-run-if-empty", "norunifempty"}, 'r', [](c& g) { g.skip_empty = true; });
  t.val({"header"}, '\0', [](c& g, s v) { g.header = true; g.header_text = v; });
  t.flag({"link", "xapply"}, '\0', [](c& g) { g.link = true; });
  // What :::+ and ::::+ stand for: the k-th value says whether input source k is linked to the one before it.
  t.val({"linkinputsource", "xapplyinputsource"}, '\0', [](c& g, s v) {
    const bool negative = !v.empty() && v[0] == '-';
    const std::string digits = negative ? v.substr(1) : v;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("--linkinputsource needs a whole number (0: not linked), not '" + v + "'");
    g.link_input_sources.push_back(digits.find_first_not_of('0') != std::string::npos);
  });
  t.flag({"pipe", "spreadstdin"}, '\0', [](c& g) { g.pipe = true; });
  t.val({"block", "block-size", "blocksize"}, '\0', [](c& g, s v) {
    g.block_given = true;
    g.blocks_per_slot = 0;
    if (!v.empty() && v[0] == '-') {
      // A negative size counts blocks per job slot instead of bytes (parse_size wants at least 1: scaled).
      g.blocks_per_slot = parse_size_number("--block", v.substr(1));
      if (!(g.blocks_per_slot > 0)) throw usage_error("--block: size out of range: '" + v + "'");
    } else {
      g.block_size = parse_size("--block", v);
    }
  });
  t.val({"recend"}, '\0', [](c& g, s v) {
    g.recend_text = v;
    g.recend = unescape_delimiter(v);
    g.recend_given = true;
  });
  t.val({"recstart"}, '\0', [](c& g, s v) {
    g.recstart_text = v;
    g.recstart = unescape_delimiter(v);
  });
  t.flag({"regexp"}, '\0', [](c& g) { g.regexp = true; });
  t.flag({"remove-rec-sep", "removerecsep", "rrs"}, '\0', [](c& g) { g.remove_rec_sep = true; });
  t.val({"block-timeout", "blocktimeout", "bt"}, '\0', [](c& g, s v) {
    double t = 0;
    try {
      t = std::trunc(parse_duration("--block-timeout", v));  // (GNU: whole seconds)
    } catch (const usage_error&) {
    }
    if (t < 1) throw usage_error("Error: --block-timeout must be at least 1");
    g.block_timeout = t;
  });
  t.val({"shard"}, '\0', [](c& g, s v) { g.shard = v; g.shard_is_bin = false; });
  t.val({"bin"}, '\0', [](c& g, s v) { g.shard = v; g.shard_is_bin = true; });
  t.flag({"cat"}, '\0', [](c& g) { g.cat = true; });
  t.flag({"fifo"}, '\0', [](c& g) { g.fifo = true; });
  t.flag({"round-robin", "roundrobin", "round"}, '\0', [](c& g) { g.round_robin = true; });
  t.flag({"tee"}, '\0', [](c& g) { g.tee = true; });
  t.flag({"pipe-part", "pipepart"}, '\0', [](c& g) { g.pipe = true; g.pipe_part = true; });
}

}  // namespace sluice::app
