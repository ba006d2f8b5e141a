// The DBURL parser behind --sqlmaster / --sqlworker (apps/sluice/dburl.cpp): any bytes either parse or are
// refused with usage_error (nothing else is thrown); a parsed table is a plain identifier; and a URL built from
// %-escaped fields parses back to exactly those fields.
//   input: NUL-separated fields: the URL to parse, then user, password, host, database for the round trip.
#include <string>

#include "config.hpp"
#include "dburl.hpp"
#include "fuzz_check.hpp"

namespace {

std::string escape(const std::string& s) {
  static const char* const k_hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return -1;
  auto f = sluice_fuzz::fields(std::string_view(reinterpret_cast<const char*>(data), size), '\0');

  // 1. Arbitrary bytes as a URL.
  try {
    sluice::app::dburl d = sluice::app::parse_dburl(f[0]);
    FUZZ_CHECK(d.table && !d.table->empty());
    FUZZ_CHECK(d.table->find_first_of("'\";/ \n") == std::string::npos);
    FUZZ_CHECK(d.kind != sluice::app::dburl::engine::sqlite || d.database);
    FUZZ_CHECK(d.append == (!f[0].empty() && f[0][0] == '+'));
  } catch (const sluice::app::usage_error& e) {
    FUZZ_CHECK(std::string(e.what()).find('\n') == std::string::npos || f[0].find('\n') != std::string::npos);
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("parse_dburl", e);
  }

  // 2. Round trip: escaped fields come back unescaped, each in its place.
  if (f.size() >= 5) {
    const std::string& user = f[1];
    const std::string& password = f[2];
    const std::string& host = f[3];
    const std::string& database = f[4];
    std::string url = "+pg://";
    if (!user.empty() || !password.empty()) {
      url += escape(user);
      if (!password.empty()) url += ":" + escape(password);
      url += "@";
    }
    url += escape(host) + ":5432/" + escape(database) + "/job_table?x=%41";
    try {
      sluice::app::dburl d = sluice::app::parse_dburl(url);
      FUZZ_CHECK(d.append);
      FUZZ_CHECK(d.kind == sluice::app::dburl::engine::postgresql);
      FUZZ_CHECK(d.user.value_or("") == user);
      FUZZ_CHECK(d.password.value_or("") == password);
      FUZZ_CHECK(d.host.value_or("") == host);
      FUZZ_CHECK(d.port.value_or("") == "5432");
      FUZZ_CHECK(d.database.value_or("") == database);
      FUZZ_CHECK(d.table.value_or("") == "job_table");
      FUZZ_CHECK(d.query.value_or("") == "x=A");
    } catch (const std::exception& e) {
      sluice_fuzz::unexpected_exception("parse_dburl round trip", e);
    }
  }
  return 0;
}
