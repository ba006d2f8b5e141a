// The Perl side of replacement strings: {= perl =} tokens with their positions and --rpl names, and the
// --plus operations that run as Perl substitutions (as GNU's). The rest of compose is in compose.cpp.
#include <string>

#include "compose.hpp"
#include "compose_ops.hpp"
#include "perl_expr.hpp"
#include "text.hpp"

namespace sluice::app {

namespace {

// A Perl expression may start with a position: {=2 ... =}, --rpl '{x} 1 ...'. Strips it and returns it.
int take_position(std::string& expr) {
  std::size_t k = expr.size() > 1 && expr[0] == '-' ? 1 : 0;
  std::size_t d = k;
  while (k < expr.size() && std::isdigit(static_cast<unsigned char>(expr[k]))) ++k;
  if (k == d || k - d > 9) return 0;
  int pos = std::atoi(expr.substr(0, k).c_str());
  expr.erase(0, k);
  return pos;
}

// $$1, $$2, ... in a dynamic --rpl expression stand for the text the tag's groups matched: they become
// variables (set before each evaluation), so that text is a string, never Perl code.
std::string group_variables(const std::string& expr) {
  std::string out;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    if (expr.compare(i, 2, "$$") == 0 && i + 2 < expr.size() && std::isdigit(static_cast<unsigned char>(expr[i + 2]))) {
      std::size_t j = i + 2;
      while (j < expr.size() && std::isdigit(static_cast<unsigned char>(expr[j]))) ++j;
      out += "${sluice_group_" + expr.substr(i + 2, j - i - 2) + "}";
      i = j - 1;
      continue;
    }
    out += expr[i];
  }
  return out;
}

// GNU's {#re} and {%re} match as little as they can: each quantifier (*, +, {n,m}) outside a character class
// and not escaped is made lazy, unless it already is.
std::string lazy_quantifiers(const std::string& re) {
  std::string out;
  bool escaped = false, in_class = false, after_quantifier = false;
  for (char c : re) {
    if (after_quantifier && c != '?') out += '?';
    after_quantifier = false;
    out += c;
    if (escaped) {
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '[') {
      in_class = true;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '*' || c == '+' || c == '}') {
      after_quantifier = true;
    }
  }
  if (after_quantifier) out += '?';
  return out;
}

// --plus's pattern operations as the Perl substitutions GNU parallel runs for them. The pattern and the
// replacement are variables (${sluice_group_1}, ${sluice_group_2}), so the pattern is a Perl regular expression
// and the replacement plain text, as in GNU (a $1 in it stays "$1").
const char* plus_perl_code(int op) {
  switch (op) {
    case op_strip_prefix: return "s/^${sluice_group_1}(.*)/$1/;";
    case op_strip_prefix_long: return "s/^${sluice_group_1}//;";
    case op_strip_suffix: return "s/(.*)${sluice_group_1}$/$1/;";
    case op_strip_suffix_long: return "s/${sluice_group_1}$//;";
    case op_replace_one: return "s/${sluice_group_1}/${sluice_group_2}/;";
    case op_replace_all: return "s/${sluice_group_1}/${sluice_group_2}/g;";
    case op_replace_start: return "s/^${sluice_group_1}/${sluice_group_2}/g;";
    case op_replace_end: return "s/${sluice_group_1}$/${sluice_group_2}/g;";
    case op_upper_first: return "s/^(${sluice_group_1})/uc($1)/e;";
    case op_upper_all: return "s/(${sluice_group_1})/uc($1)/eg;";
    case op_lower_first: return "s/^(${sluice_group_1})/lc($1)/e;";
    case op_lower_all: return "s/(${sluice_group_1})/lc($1)/eg;";
    default: return nullptr;
  }
}

// A dynamic --rpl tag as GNU reads it: its (...) groups are regular expressions, the text around them is
// literal ("{^(.+?)}" matches "{^a}", the ^ is no anchor). An escape outside the groups stays as written.
std::string tag_pattern(const std::string& tag) {
  std::string out;
  int depth = 0;
  for (std::size_t k = 0; k < tag.size(); ++k) {
    const char c = tag[k];
    if (c == '\\' && k + 1 < tag.size()) {
      out += c;
      out += tag[++k];
      continue;
    }
    if (c == '(') ++depth;
    if (depth == 0 && std::string_view("{}[]^$.|?*+").find(c) != std::string_view::npos) out += '\\';
    out += c;
    if (c == ')' && depth > 0) --depth;
  }
  return out;
}

}  // namespace

bool command_template::perl_token_at(const std::string& text, std::size_t i, token& t, std::size_t& end) const {
  std::string expr;
  std::vector<std::string> groups;
  int position = 0;
  bool found = false;
  // {= =}, or the halves of --parens.
  const std::size_t half = cfg_.parens.size() / 2;
  const std::string_view parens(cfg_.parens), left = parens.substr(0, half), right = parens.substr(half);
  if (text.compare(i, left.size(), left) == 0) {
    auto close = text.find(right, i + left.size());
    // As GNU: an expression holds no opening of its own; "{= {= e =}" is the text "{= " and then {= e =}.
    if (close != std::string::npos && text.substr(i + left.size(), close - i - left.size()).find(left) != std::string::npos)
      return false;
    if (close != std::string::npos) {
      expr = text.substr(i + left.size(), close - i - left.size());
      position = take_position(expr);
      if (position == 0) {
        // {=name expr=}: a --header column's name as the position, as GNU.
        std::size_t blank = expr.find_first_of(" \t\n");
        if (auto it = names_.find(expr.substr(0, blank)); it != names_.end()) {
          position = static_cast<int>(it->second);
          expr.erase(0, blank == std::string::npos ? expr.size() : blank);
        }
      }
      end = close + right.size();
      found = true;
    }
  }
  for (std::size_t r = 0; !found && r < rpls_.size(); ++r) {
    const rpl_def& d = rpls_[r];
    // The tag itself, or (for a tag starting with '{') its positional form: {2tag...}.
    std::size_t at = i;
    int usage_position = 0;
    bool positional = false;
    if (text[i] == '{' && !d.tag.empty() && (d.tag[0] == '{' || d.tag.compare(0, 2, "\\{") == 0)) {
      std::size_t k = i + 1;
      if (k < text.size() && text[k] == '-') ++k;
      std::size_t digits = k;
      while (k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]))) ++k;
      if (k > digits && k - digits <= 9) {
        usage_position = std::atoi(text.substr(i + 1, k - i - 1).c_str());
        positional = true;
        at = k;
      }
    }
    for (int attempt = positional ? 0 : 1; attempt < 2 && !found; ++attempt) {
      bool as_positional = attempt == 0;
      std::size_t from = as_positional ? at : i;
      std::string tag = d.tag;
      if (as_positional) tag.erase(0, tag[0] == '{' ? 1 : 2);
      if (!d.dynamic) {
        if (!tag.empty() && text.compare(from, tag.size(), tag) == 0) {
          expr = d.expr;
          end = from + tag.size();
          found = true;
        }
      } else if (auto m = perl_expr::match_tag(tag_pattern(tag), text, from); m && m->length > 0) {
        expr = group_variables(d.expr);
        groups = std::move(m->groups);
        end = from + m->length;
        found = true;
      }
      if (found) {
        position = take_position(expr);
        if (as_positional) position = usage_position;
      }
    }
  }
  if (!found) return false;
  t = token{};
  t.type = token::kind::value;
  t.op = op_perl;
  t.position = position;
  t.text = expr;
  t.groups = std::move(groups);
  t.expr = perl_expr::compile(expr);
  has_perl_ = true;
  return true;
}

// {name<op>}: a --header column's name followed by one of {.} {/} {//} {/.}'s operations; the position and op.
std::optional<std::pair<int, int>> command_template::named_with_op(const std::string& inner) const {
  for (const auto& [name, index] : names_) {
    if (name.empty() || inner.size() <= name.size() || inner.compare(0, name.size(), name) != 0) continue;
    int op = 0;
    if (suffix_op(std::string_view(inner).substr(name.size()), cfg_.plus, op))
      return std::pair<int, int>{static_cast<int>(index), op};
  }
  return std::nullopt;
}

// A --plus operation ({:-x} {:2} {#re} {%re} {/re/s} {^re} ...), the text between the braces after any
// position: sets t.op and its arguments; false when `inner` is none of them.
bool command_template::plus_operation(const std::string& inner, token& t) const {
  bool ok = true;
  auto two = [&](std::size_t skip, int o) {
    auto slash = inner.find('/', skip);
    if (slash == std::string::npos) return false;
    t.text = inner.substr(skip, slash - skip);
    t.text2 = inner.substr(slash + 1);
    t.op = o;
    return !t.text.empty();
  };
  if (inner.rfind(":-", 0) == 0) { t.op = op_default; t.text = inner.substr(2); }
  else if (inner[0] == ':' && inner.find_first_not_of("0123456789:", 1) == std::string::npos) {
    auto colon = inner.find(':', 1);
    if (colon == std::string::npos) { t.op = op_substr_from; t.text = inner.substr(1); }
    else { t.op = op_substr; t.text = inner.substr(1, colon - 1); t.text2 = inner.substr(colon + 1); }
    if (t.text.empty()) ok = false;
  }
  else if (inner.rfind("##", 0) == 0) { t.op = op_strip_prefix_long; t.text = inner.substr(2); }
  else if (inner[0] == '#') { t.op = op_strip_prefix; t.text = inner.substr(1); }
  else if (inner.rfind("%%", 0) == 0) { t.op = op_strip_suffix_long; t.text = inner.substr(2); }
  else if (inner[0] == '%') { t.op = op_strip_suffix; t.text = inner.substr(1); }
  else if (inner.rfind("//", 0) == 0) ok = two(2, op_replace_all);
  else if (inner.rfind("/#", 0) == 0) ok = two(2, op_replace_start);
  else if (inner.rfind("/%", 0) == 0) ok = two(2, op_replace_end);
  else if (inner[0] == '/') ok = two(1, op_replace_one);
  else if (inner.rfind("^^", 0) == 0) { t.op = op_upper_all; t.text = inner.substr(2); }
  else if (inner[0] == '^') { t.op = op_upper_first; t.text = inner.substr(1); }
  else if (inner.rfind(",,", 0) == 0) { t.op = op_lower_all; t.text = inner.substr(2); }
  else if (inner[0] == ',') { t.op = op_lower_first; t.text = inner.substr(1); }
  else ok = false;
  if (ok && plus_perl_code(t.op) != nullptr) {
    if (perl_expr::available()) plus_perl_token(t);
    else make_regex(t.text);  // a bad pattern is bad input: fail before any job starts
  }
  return ok;
}

void command_template::plus_perl_token(token& t) const {
  const std::string given = t.text;
  std::string pattern = t.op == op_strip_prefix || t.op == op_strip_suffix ? lazy_quantifiers(t.text) : t.text;
  const std::string code = plus_perl_code(t.op);
  t.groups = {pattern, t.text2};
  t.op = op_perl;
  t.expr = perl_expr::compile(code);
  t.text = code;
  has_perl_ = true;
  try {
    perl_expr::evaluate(t.expr, "", t.groups);  // a bad pattern is bad input: refused before any job starts
  } catch (const std::runtime_error& e) {
    std::string why = e.what();
    why = why.substr(0, why.find(" at (eval"));
    throw usage_error("--plus: invalid regular expression '" + given + "' in a replacement string: " + why);
  }
}

void command_template::begin_perl_job(const job_args& job, const job_numbers& n) const {
  std::vector<std::string_view> args;
  for (const auto& r : job.records)
    for (const auto& v : r) args.emplace_back(v);
  perl_expr::begin_job(n.seq, n.slot, n.total, args);
}

}  // namespace sluice::app
