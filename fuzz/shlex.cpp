// sluice::shlex: split never fails except with std::invalid_argument (bad quoting), and quote / join are
// split's inverse: split(quote(s)) == {s}, split(join(v)) == v for strings without NUL (like CPython's).
//   input: the bytes are both a string to split and, cut at NUL bytes, a vector of strings to join.
#include <sluice/subprocess.hpp>

#include <stdexcept>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // 1. Arbitrary text: split either parses or says why with std::invalid_argument.
  std::vector<std::string> words;
  bool parsed = false;
  try {
    words = sluice::shlex::split(text);
    parsed = true;
  } catch (const std::invalid_argument&) {
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("shlex::split", e);
  }
  // What split returned is a fixed point of join + split.
  if (parsed) FUZZ_CHECK(sluice::shlex::split(sluice::shlex::join(words)) == words);

  // 2. The NUL-separated pieces as a vector: join then split gives them back.
  std::vector<std::string> v = sluice_fuzz::fields(text, '\0');
  if (size == 0) v.clear();
  std::string joined = sluice::shlex::join(v);
  FUZZ_CHECK(sluice::shlex::split(joined) == v);

  // 3. Each piece alone: quote then split gives exactly that one word; quote leaves safe words alone.
  for (const auto& s : v) {
    std::string q = sluice::shlex::quote(s);
    auto back = sluice::shlex::split(q);
    FUZZ_CHECK(back.size() == 1 && back[0] == s);
    FUZZ_CHECK(!q.empty());
    if (q == s) FUZZ_CHECK(!s.empty() && s.find_first_of(" \t\r\n'\"\\$`;&|<>()*?[]#~!{}") == std::string::npos);
  }
  return 0;
}
