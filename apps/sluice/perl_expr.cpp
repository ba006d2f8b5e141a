// The embedded Perl interpreter behind `{= =}` and `--rpl` (see perl_expr.hpp).
#include "perl_expr.hpp"

#include <clocale>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <sluice/system.hpp>

#include "config.hpp"
#include "text.hpp"

#if SLUICE_HAVE_PERL
// Perl's headers define many short macros: they come last, and only this file includes them.
#define PERL_NO_GET_CONTEXT
#include <EXTERN.h>
#include <perl.h>
#include <XSUB.h>
#endif

extern char** environ;

namespace sluice::app::perl_expr {

namespace {
bool g_disabled = false;
}

void disable() noexcept { g_disabled = true; }

#if !SLUICE_HAVE_PERL

bool available() noexcept { return false; }
int compile(const std::string& expr) {
  throw usage_error("{= perl expression =} and --rpl need Perl, and this sluice was built without libperl: " + expr);
}
void begin_job(std::size_t, std::size_t, std::size_t, const std::vector<std::string_view>&) {}
value evaluate(int, std::string_view, const std::vector<std::string>&) { throw std::logic_error("no Perl"); }
bool skip_requested() { return false; }
bool truth(const std::string&) { throw std::logic_error("no Perl"); }
std::optional<match> match_tag(const std::string&, const std::string&, std::size_t) { return std::nullopt; }

#else

namespace {

// The helpers GNU parallel offers to expressions, written for sluice. `$sluice::...` is the state the
// runner sets per job; expressions run in package main without `use strict`, as GNU's do.
const char* const k_prelude = R"PERL(
package sluice;
our ($seq, $slot, $total, $uq, $skip) = (0, 0, 0, 0, 0);
sub match_tag {
  my ($re, $text, $pos) = @_;
  pos($text) = $pos;
  return () unless $text =~ /\G(?:$re)/gc;
  my @groups = map { defined $-[$_] ? substr($text, $-[$_], $+[$_] - $-[$_]) : "" } 1 .. $#-;
  return ($+[0] - $pos, @groups);
}
sub stamp {
  my ($fmt) = @_;
  my @t = localtime;
  my %v = (Y => sprintf("%04d", $t[5] + 1900), m => sprintf("%02d", $t[4] + 1), d => sprintf("%02d", $t[3]),
           H => sprintf("%02d", $t[2]), M => sprintf("%02d", $t[1]), S => sprintf("%02d", $t[0]));
  $fmt =~ s/([YmdHMS])/$v{$1}/g;
  return $fmt;
}
package sluice::job;
sub seq { $sluice::seq }
sub slot { $sluice::slot }
sub skip { $sluice::skip = 1; return; }
package main;
our @arg;
our $job = bless {}, 'sluice::job';
sub uq { $sluice::uq = 1; return; }
sub skip { $sluice::skip = 1; return; }
sub seq { $sluice::seq }
sub slot { $sluice::slot }
sub total_jobs { $sluice::total }
sub pQ { my $s = $_[0]; $s =~ s/([\\"\$\@])/\\$1/g; return $s; }
sub hash { require B; return B::hash($_[0]); }
# GNU's own helpers that its users' --rpl expressions call: shell_quote(), and dirname() (GNU's {//} loads
# File::Basename into main).
sub shell_quote { my @q = map { Q($_) } @_; return wantarray ? @q : "@q"; }
sub dirname { require File::Basename; return File::Basename::dirname(@_); }
sub basename { require File::Basename; return File::Basename::basename(@_); }
sub yyyy_mm_dd_hh_mm_ss { sluice::stamp("Y-m-dTH:M:S") }
sub yyyy_mm_dd_hh_mm { sluice::stamp("Y-m-dTH:M") }
sub yyyy_mm_dd { sluice::stamp("Y-m-d") }
sub hh_mm_ss { sluice::stamp("H:M:S") }
sub hh_mm { sluice::stamp("H:M") }
sub yyyymmddhhmmss { sluice::stamp("YmdHMS") }
sub yyyymmddhhmm { sluice::stamp("YmdHM") }
sub yyyymmdd { sluice::stamp("Ymd") }
sub hhmmss { sluice::stamp("HMS") }
sub hhmm { sluice::stamp("HM") }
1;
)PERL";

EXTERN_C void boot_DynaLoader(pTHX_ CV* cv);

void xs_init(pTHX) {
  // Lets expressions `use` modules with compiled parts (B for hash(), POSIX, ...).
  newXS("DynaLoader::boot_DynaLoader", boot_DynaLoader, __FILE__);
}

// Q(string): the same quoting the runner gives {} values.
void xs_quote(pTHX_ CV* cv) {
  dXSARGS;
  PERL_UNUSED_VAR(cv);
  STRLEN len = 0;
  const char* p = items > 0 ? SvPV(ST(0), len) : "";
  std::string q = shell_quote(std::string_view(p, len));
  ST(0) = sv_2mortal(newSVpvn(q.data(), q.size()));
  XSRETURN(1);
}

// Perl's message as one line: trailing newlines dropped, inner ones joined.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

struct interpreter {
  PerlInterpreter* perl = nullptr;
  std::vector<SV*> subs;                        // compiled expressions (code references)
  std::unordered_map<std::string, int> by_text;  // expression -> index in subs
  // --filter: its code as substituted for a job -> the compiled sub (nullptr: it does not compile). Bounded:
  // a filter with replacement strings has a text per job.
  std::unordered_map<std::string, SV*> filters;
  SV* uq = nullptr;
  SV* skip = nullptr;
  SV* seq = nullptr;
  SV* slot = nullptr;
  SV* total = nullptr;
  AV* args = nullptr;
};

std::mutex g_mutex;
interpreter* g_interp = nullptr;

void shut_down() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_interp == nullptr) return;
  PerlInterpreter* my_perl = g_interp->perl;
  PERL_SET_CONTEXT(my_perl);
  PL_perl_destruct_level = 1;
  perl_destruct(my_perl);
  perl_free(my_perl);
  PERL_SYS_TERM();
  delete g_interp;
  g_interp = nullptr;
}

// Creates the interpreter on first use. Perl's start-up may set the locale from the environment and change
// signal dispositions; both are put back, so the runner (and the jobs it starts) see what they saw before.
interpreter& get() {
  if (g_interp != nullptr) {
    PERL_SET_CONTEXT(g_interp->perl);
    return *g_interp;
  }
  std::string saved_locale = std::setlocale(LC_ALL, nullptr) ? std::setlocale(LC_ALL, nullptr) : "C";
  const auto saved_signals = sluice::system::signal_dispositions::save();

  static char arg0[] = "sluice", arg1[] = "-e", arg2[] = "0";
  static char* argv_storage[] = {arg0, arg1, arg2, nullptr};
  int argc = 3;
  char** argv = argv_storage;
  char** env = environ;
  PERL_SYS_INIT3(&argc, &argv, &env);
  PerlInterpreter* my_perl = perl_alloc();
  if (my_perl == nullptr) throw std::runtime_error("cannot start the Perl interpreter");
  PERL_SET_CONTEXT(my_perl);
  perl_construct(my_perl);
  PL_exit_flags |= PERL_EXIT_DESTRUCT_END;
  if (perl_parse(my_perl, xs_init, argc, argv, env) != 0 || perl_run(my_perl) != 0)
    throw std::runtime_error("cannot start the Perl interpreter");
  newXS("main::Q", xs_quote, __FILE__);
  eval_pv(k_prelude, TRUE);

  auto* in = new interpreter;
  in->perl = my_perl;
  in->uq = get_sv("sluice::uq", GV_ADD);
  in->skip = get_sv("sluice::skip", GV_ADD);
  in->seq = get_sv("sluice::seq", GV_ADD);
  in->slot = get_sv("sluice::slot", GV_ADD);
  in->total = get_sv("sluice::total", GV_ADD);
  in->args = get_av("main::arg", GV_ADD);
  g_interp = in;

  std::setlocale(LC_ALL, saved_locale.c_str());
  saved_signals.restore();
  std::atexit(shut_down);
  return *in;
}

std::string error_text(pTHX) {
  STRLEN len = 0;
  const char* p = SvPV(ERRSV, len);
  return one_line(std::string(p, len));
}

// Compiles `expr` as the body of an anonymous sub: a new reference to it, or nullptr with Perl's message in `err`.
// `#line 1` makes Perl's messages count lines within the expression itself.
SV* compile_sub(pTHX_ const std::string& expr, std::string& err) {
  std::string code = "package main; no strict; sub {\n#line 1\n" + expr + "\n}";
  dSP;
  ENTER;
  SAVETMPS;
  SV* src = sv_2mortal(newSVpvn(code.data(), code.size()));
  int n = eval_sv(src, G_SCALAR);
  SPAGAIN;
  SV* result = n == 1 ? POPs : nullptr;
  SV* keep = nullptr;
  if (SvTRUE(ERRSV)) err = error_text(aTHX);
  else if (result != nullptr && SvROK(result) && SvTYPE(SvRV(result)) == SVt_PVCV) keep = newSVsv(result);
  else err = "not a block of code";
  PUTBACK;
  FREETMPS;
  LEAVE;
  return keep;
}

}  // namespace

bool available() noexcept { return true; }

int compile(const std::string& expr) {
  if (g_disabled) throw usage_error("Perl expressions are disabled here: {=" + expr + "=}");
  std::lock_guard<std::mutex> lock(g_mutex);
  interpreter& in = get();
  if (auto it = in.by_text.find(expr); it != in.by_text.end()) return it->second;
  PerlInterpreter* my_perl = in.perl;
  std::string err;
  SV* keep = compile_sub(aTHX_ expr, err);
  if (keep == nullptr) throw usage_error("Cannot use the Perl expression {=" + expr + "=}: " + err);
  in.subs.push_back(keep);
  int id = static_cast<int>(in.subs.size() - 1);
  in.by_text.emplace(expr, id);
  return id;
}

void begin_job(std::size_t seq, std::size_t slot, std::size_t total, const std::vector<std::string_view>& args) {
  std::lock_guard<std::mutex> lock(g_mutex);
  interpreter& in = get();
  PerlInterpreter* my_perl = in.perl;
  sv_setuv(in.seq, seq);
  sv_setuv(in.slot, slot);
  sv_setuv(in.total, total);
  sv_setiv(in.skip, 0);
  av_clear(in.args);
  av_push(in.args, newSV(0));  // $arg[0] is undefined: $arg[1] is the first argument, as in GNU parallel
  for (auto a : args) av_push(in.args, newSVpvn(a.data(), a.size()));
}

value evaluate(int id, std::string_view input, const std::vector<std::string>& groups) {
  std::lock_guard<std::mutex> lock(g_mutex);
  interpreter& in = get();
  PerlInterpreter* my_perl = in.perl;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    std::string name = "main::sluice_group_" + std::to_string(g + 1);
    sv_setpvn(get_sv(name.c_str(), GV_ADD), groups[g].data(), groups[g].size());
  }
  SV* code = in.subs.at(static_cast<std::size_t>(id));
  sv_setpvn(DEFSV, input.data(), input.size());
  sv_setiv(in.uq, 0);
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  PUTBACK;
  call_sv(code, G_DISCARD | G_NOARGS | G_EVAL);
  SPAGAIN;
  PUTBACK;
  FREETMPS;
  LEAVE;
  if (SvTRUE(ERRSV)) throw std::runtime_error(error_text(aTHX));
  value v;
  SV* out = DEFSV;
  if (SvOK(out)) {
    STRLEN len = 0;
    const char* p = SvPV(out, len);
    v.text.assign(p, len);
  }
  v.unquoted = SvTRUE(in.uq);
  return v;
}

bool truth(const std::string& code) {
  if (g_disabled) throw usage_error("Perl expressions are disabled here: --filter " + code);
  std::lock_guard<std::mutex> lock(g_mutex);
  interpreter& in = get();
  PerlInterpreter* my_perl = in.perl;
  auto it = in.filters.find(code);
  if (it == in.filters.end()) {
    if (in.filters.size() >= 64) {
      for (auto& f : in.filters)
        if (f.second != nullptr) SvREFCNT_dec(f.second);
      in.filters.clear();
    }
    std::string err;
    it = in.filters.emplace(code, compile_sub(aTHX_ code, err)).first;
  }
  if (it->second == nullptr) return false;
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  PUTBACK;
  int n = call_sv(it->second, G_SCALAR | G_NOARGS | G_EVAL);
  SPAGAIN;
  SV* result = n == 1 ? POPs : nullptr;
  bool yes = !SvTRUE(ERRSV) && result != nullptr && SvTRUE(result);
  PUTBACK;
  FREETMPS;
  LEAVE;
  return yes;
}

bool skip_requested() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_interp == nullptr) return false;
  PerlInterpreter* my_perl = g_interp->perl;
  PERL_SET_CONTEXT(my_perl);
  return SvTRUE(g_interp->skip);
}

std::optional<match> match_tag(const std::string& tag_regex, const std::string& text, std::size_t pos) {
  if (g_disabled) throw usage_error("Perl expressions are disabled here: --rpl " + tag_regex);
  std::lock_guard<std::mutex> lock(g_mutex);
  interpreter& in = get();
  PerlInterpreter* my_perl = in.perl;
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  XPUSHs(sv_2mortal(newSVpvn(tag_regex.data(), tag_regex.size())));
  XPUSHs(sv_2mortal(newSVpvn(text.data(), text.size())));
  XPUSHs(sv_2mortal(newSVuv(pos)));
  PUTBACK;
#ifndef G_LIST
#define G_LIST G_ARRAY
#endif
  int n = call_pv("sluice::match_tag", G_LIST | G_EVAL);
  SPAGAIN;
  std::optional<match> m;
  std::string err;
  if (SvTRUE(ERRSV)) {
    err = error_text(aTHX);
    SP -= n;
  } else if (n > 0) {
    std::vector<std::string> items(static_cast<std::size_t>(n));
    for (int k = n - 1; k >= 0; --k) {
      STRLEN len = 0;
      SV* item = POPs;  // (SvPV evaluates its argument more than once)
      const char* p = SvPV(item, len);
      items[static_cast<std::size_t>(k)].assign(p, len);
    }
    m.emplace();
    m->length = std::strtoull(items[0].c_str(), nullptr, 10);
    m->groups.assign(items.begin() + 1, items.end());
  }
  PUTBACK;
  FREETMPS;
  LEAVE;
  if (!err.empty()) throw usage_error("--rpl: the tag is not a valid Perl regular expression: " + tag_regex + ": " + err);
  return m;
}

#endif

}  // namespace sluice::app::perl_expr
