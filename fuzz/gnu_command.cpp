// GNU parallel's encoding of a command in the SQL job table (apps/sluice/sql_queue.cpp): the words joined by
// "\257 ", each replacement string as "\257<perl\257>". Any bytes decode without an exception, in both the
// SQLite (byte 0xAF) and the PostgreSQL (UTF-8 C2 AF) forms; words made of plain text and the replacement
// strings sluice translates ({}, {.}, {/}, {//}, {/.}, {#}, {%}, {N...}, {= perl =}) come back exactly.
//   input: a mode byte, then NUL-separated words (also decoded as one encoded command).
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "sql_queue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return -1;
  const bool utf8 = (data[0] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  // 1. Arbitrary bytes as a stored command.
  try {
    auto words = sluice::app::gnu_decode_command(std::string(rest), utf8);
    FUZZ_CHECK(!words.empty());
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("gnu_decode_command", e);
  }

  // 2. Round trip of words built from the input: plain characters and the tokens sluice knows.
  static const char* const k_tokens[] = {"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{2}", "{1.}", "{3/}", "{= uc =}", "{=2 lc=}"};
  std::vector<std::string> words(1);
  for (char c : rest) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\0') words.emplace_back();
    else if (u >= 0xF0) words.back() += k_tokens[u % (sizeof k_tokens / sizeof *k_tokens)];
    else if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == ' ' || c == ';' || c == '\'' || c == '$') words.back() += c;
  }
  try {
    std::string encoded = sluice::app::gnu_encode_command(words, utf8);
    FUZZ_CHECK(sluice::app::gnu_decode_command(encoded, utf8) == words);
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("gnu command round trip", e);
  }
  return 0;
}
