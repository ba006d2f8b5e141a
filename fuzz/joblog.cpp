// The joblog reader behind --resume / --resume-failed (apps/sluice/records.cpp): any bytes parse without
// an exception; the Seqs it returns come from lines of the log; --resume-failed skips a subset of what
// --resume skips; and a log written by joblog_line reads back as exactly the jobs written.
//   input: the whole input is read as a joblog; its lines also seed records for the round trip.
#include <cmath>
#include <cstring>
#include <sstream>

#include "fuzz_check.hpp"
#include "records.hpp"

namespace {

std::unordered_set<std::size_t> read(const std::string& text, bool successful_only) {
  std::istringstream in(text);
  try {
    return sluice::app::read_joblog_done(in, successful_only);
  } catch (const std::exception& e) {
    sluice_fuzz::unexpected_exception("read_joblog_done", e);
  }
}

template <class T>
T take(std::string_view& s) {
  T v{};
  std::size_t n = std::min(sizeof v, s.size());
  std::memcpy(&v, s.data(), n);
  s.remove_prefix(n);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return -1;
  std::string text(reinterpret_cast<const char*>(data), size);

  // 1. Arbitrary bytes as a log.
  auto all = read(text, false);
  auto ok = read(text, true);
  for (auto s : ok) FUZZ_CHECK(all.count(s) == 1);
  FUZZ_CHECK(all.size() <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);

  // 2. Round trip: records made from the input, written as GNU's lines, read back.
  std::string log = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
  std::unordered_set<std::size_t> want_all, want_ok;
  std::string_view rest(text);
  for (int n = 0; n < 16 && !rest.empty(); ++n) {
    sluice::app::job_record r;
    r.seq = take<std::uint16_t>(rest);
    r.start_time = take<double>(rest);
    r.runtime = take<double>(rest);
    if (!std::isfinite(r.start_time)) r.start_time = 0;
    if (!std::isfinite(r.runtime)) r.runtime = 0;
    r.send = take<std::uint32_t>(rest);
    r.receive = take<std::uint32_t>(rest);
    r.exitval = take<std::int8_t>(rest);
    r.signal = take<std::uint8_t>(rest) % 4;
    // Taken first: as two arguments of one call, the size could be read before the take shortened rest.
    std::size_t want = take<std::uint8_t>(rest);
    std::size_t len = std::min(want, rest.size());
    r.command = std::string(rest.substr(0, len));
    rest.remove_prefix(len);
    log += sluice::app::joblog_line(r);
    FUZZ_CHECK(log.back() == '\n');
    want_all.insert(r.seq);
    if (r.exitval == 0 && r.signal == 0) want_ok.insert(r.seq);
  }
  // A job that failed once and succeeded on a later line is still skipped by --resume-failed: the
  // reader keeps every successful Seq, and the round trip compares sets.
  FUZZ_CHECK(read(log, false) == want_all);
  FUZZ_CHECK(read(log, true) == want_ok);
  return 0;
}
