#!/usr/bin/env bash
# The main job: on a fresh Debian 12 machine, installs what is missing, builds sluice (Release), and runs the
# job runner on a real workload: a SHA-256 checksum of every file under /usr/share/doc, many at a time, with a
# progress bar and GNU parallel's joblog. Then it runs the Effective Python examples.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-packages.sh
ensure_packages "${SLUICE_BUILD_PACKAGES[@]}" coreutils findutils openssl

build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCHMARKS=OFF \
      -DSLUICE_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

out=$build/main-job
mkdir -p "$out"
root=${1:-/usr/share/doc}
echo "== sluice: sha256sum of every file under $root =="
start=${EPOCHREALTIME/./}
status=0
find "$root" -type f -print0 |
  "$build/apps/sluice/sluice" -0 --bar --joblog "$out/joblog.tsv" sha256sum {} >"$out/sha256sums.txt" || status=$?
end=${EPOCHREALTIME/./}
jobs=$(($(wc -l <"$out/joblog.tsv") - 1))
failed=$(awk -F'\t' 'NR > 1 && $7 != 0' "$out/joblog.tsv" | wc -l)
ms=$(((end - start) / 1000))
printf '%d jobs in %d.%03d s, %d failed (exit status %d)\n' "$jobs" $((ms / 1000)) $((ms % 1000)) "$failed" "$status"
echo "checksums: $out/sha256sums.txt ($(wc -l <"$out/sha256sums.txt") lines), joblog: $out/joblog.tsv"
head -3 "$out/sha256sums.txt"
echo "verifying with sha256sum -c ..."
sha256sum --quiet -c "$out/sha256sums.txt" && echo "all checksums verified"

echo
echo "== the Effective Python examples =="
for example in "$build"/examples/example_*; do
  [ -x "$example" ] || continue
  echo "-- ${example##*/example_}"
  (cd "$out" && "$(realpath "$OLDPWD/$example")")
done
