#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz, -DSLUICE_FUZZ=ON: -fsanitize=fuzzer,address,undefined)
# and runs each for up to RUNS executions or SECONDS of wall time, whichever comes first.
#   scripts/fuzz.sh                      every target (args compose shlex joblog pipe sshlogin dburl gnu_command),
#                                        10M runs / 300 s each
#   scripts/fuzz.sh compose pipe         only these
#   RUNS=100000 SECONDS_EACH=60 scripts/fuzz.sh
# New inputs go to build/fuzz/work/<target>/ (the committed seeds in fuzz/corpus/<target>/ are only read);
# a crash leaves build/fuzz/artifacts/<target>/crash-* -- fix it, then copy it into fuzz/corpus/<target>/.
# Prints one line per target: executions done, seconds, exit status (0: nothing found).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-packages.sh
ensure_packages cmake make clang-14 libclang-rt-14-dev

all=(args compose shlex joblog pipe sshlogin dburl gnu_command)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
runs=${RUNS:-10000000}
seconds=${SECONDS_EACH:-300}
dir=build/fuzz
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON \
      -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_EXAMPLES=OFF -DSLUICE_BUILD_BENCHMARKS=OFF >/dev/null
nice -n 10 cmake --build "$dir" -j2 --target "${targets[@]/#/fuzz_}"

status=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/work/$t" "$dir/artifacts/$t"
  rc=0
  # stdin from /dev/null: an argument such as -j /dev/stdin must not wait for a terminal; -close_fd_mask=1
  # silences the --help text the argument parser prints.
  nice -n 10 "$dir/fuzz/fuzz_$t" -runs="$runs" -max_total_time="$seconds" -print_final_stats=1 \
    -close_fd_mask=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/$t/" \
    "$dir/work/$t" "fuzz/corpus/$t" </dev/null >"$dir/$t.log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log")
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/$t.log")
  echo "fuzz_$t: ${execs:-?} executions in ${secs:-?} s, exit $rc$([ $rc -eq 0 ] || echo " (see $dir/$t.log)")"
  [ $rc -eq 0 ] || status=1
done
exit $status
