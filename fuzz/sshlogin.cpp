// The sshlogin parser (apps/sluice/sshlogin.cpp): any text is either an sshlogin list or one usage_error,
// never another exception; what it accepts is well formed (a host without spaces, '@' or '/', a port of
// 1..65535, at least one slot), and the name it keeps (behind its N/) parses again to the same login.
//   input: the bytes as a -S value, and as an --sshloginfile's content.
#include <string>

#include "config.hpp"
#include "fuzz_check.hpp"
#include "sshlogin.hpp"

namespace {

void check_login(const sluice::app::sshlogin& l) {
  if (l.group_only) {  // `@grp+grp`: groups, no host
    FUZZ_CHECK(!l.groups.empty() && l.host.empty());
    for (const auto& g : l.groups) FUZZ_CHECK(!g.empty() && g.find_first_of("+/") == std::string::npos);
    return;
  }
  FUZZ_CHECK(!l.groups.empty() && l.groups.back() == l.name);  // a host is always in the group of its name
  if (l.local) {
    FUZZ_CHECK(l.host.empty() && l.command.empty());
    return;
  }
  FUZZ_CHECK(!l.host.empty());
  FUZZ_CHECK(l.host.find_first_of(" \t\n/@") == std::string::npos);
  FUZZ_CHECK(l.user.find_first_of("@/:") == std::string::npos);
  if (!l.port.empty()) {
    FUZZ_CHECK(l.port.find_first_not_of("0123456789") == std::string::npos && l.port.size() <= 5);
    long p = std::stol(l.port);
    FUZZ_CHECK(p >= 1 && p <= 65535);
  }
  if (l.slots) FUZZ_CHECK(*l.slots >= 1);
  // The kept name (the login without N/) reads back as the same login once its N/ is put back in front: alone,
  // a name whose ssh command word itself starts with digits and '/' ("2/2/ssh h" keeps "2/ssh h") would read
  // as another CPU count, as in GNU parallel, which strips only the first N/ too.
  // A name that itself starts with '@' (an ssh command word such as "@x/ssh") reads back only behind a group
  // prefix, since one leading "@groups/" is taken as the groups (GNU strips exactly one too).
  std::string with_slots = l.slots ? std::to_string(*l.slots) + "/" + l.name : l.name;
  auto same = [&](const sluice::app::sshlogin& again) {
    return again.host == l.host && again.user == l.user && again.port == l.port && again.command == l.command &&
           again.slots == l.slots && again.name == l.name;
  };
  FUZZ_CHECK(same(sluice::app::parse_sshlogin("@fuzz/" + with_slots)));
  if (l.name.front() != '@') FUZZ_CHECK(same(sluice::app::parse_sshlogin(with_slots)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& l : sluice::app::parse_sshlogin_list(text)) check_login(l);
  } catch (const sluice::app::usage_error& e) {
    FUZZ_CHECK(std::string(e.what()).rfind("bad sshlogin", 0) == 0);
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("parse_sshlogin_list", e);
  }
  try {
    for (const auto& l : sluice::app::parse_sshloginfile(text)) check_login(l);
  } catch (const sluice::app::usage_error&) {
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("parse_sshloginfile", e);
  }
  return 0;
}
