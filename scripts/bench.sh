#!/usr/bin/env bash
# Builds sluice and its benchmarks in Release (build/bench), runs every benchmark against its peers, prints the
# table and records it in docs/benchmarks.md, with one chart per area in docs/charts/AREA.svg (gnuplot).
#   scripts/bench.sh                 everything (about 10-15 minutes on 2 cores), writes docs/benchmarks.md
#   scripts/bench.sh queue pool      only these (subprocess queue pool pipeline cli aio); prints, writes nothing,
#                                    except that a run including aio rewrites the "## aio" section of the doc
#   scripts/bench.sh --dry-run ...   runs and prints but records nothing (no doc, no charts)
# A record names the commit it measured, so it is refused from a working tree with uncommitted changes
# (commit first, or use --dry-run to only look at the figures).
# Sizes can be shrunk through the SLUICE_BENCH_* variables each benchmark documents at its top.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-packages.sh

all=(subprocess queue pool pipeline cli aio)
dry_run=0
selected=()
for a in "$@"; do
  case $a in
    --dry-run) dry_run=1 ;;
    -*) echo "scripts/bench.sh: unknown option '$a' (--dry-run)" >&2; exit 2 ;;
    *) selected+=("$a") ;;
  esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${all[@]}")
for b in "${selected[@]}"; do
  case " ${all[*]} " in *" $b "*) ;; *) echo "scripts/bench.sh: unknown benchmark '$b' (${all[*]})" >&2; exit 2 ;; esac
done

records=1
[ ${#selected[@]} -eq ${#all[@]} ] || case " ${selected[*]} " in *" aio "*) ;; *) records=0 ;; esac
[ "$dry_run" -eq 0 ] || records=0
if [ "$records" -eq 1 ] && [ -n "$(git status --porcelain --untracked-files=normal -- . 2>/dev/null)" ]; then
  echo "scripts/bench.sh: the working tree has uncommitted changes; a recorded table must name the commit it" \
       "measured. Commit (or stash) them first, or run with --dry-run to measure without recording:" >&2
  git status --short >&2
  exit 1
fi

# The peers (and GNU time for peak RSS, gnuplot for the charts). A peer that cannot be installed only loses its rows.
ensure_packages "${SLUICE_BUILD_PACKAGES[@]}" libbenchmark-dev python3 parallel libboost1.81-dev libtbb-dev \
  libconcurrentqueue-dev libthread-pool-dev hyperfine time gnuplot-nox ||
  echo "scripts/bench.sh: some peers could not be installed; their rows will say so" >&2

dir=build/bench
cmake -S . -B "$dir" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DSLUICE_SANITIZE= \
      -DSLUICE_BUILD_BENCHMARKS=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_EXAMPLES=OFF -DSLUICE_BUILD_APP=ON >/dev/null
# The benchmarks pick up the sluice headers with __has_include, which make cannot track: recompile them.
find "$dir/bench" -name '*.o' -delete 2>/dev/null || true
# Keep going past a target that does not build: the others still get measured, and its rows say "not built".
cmake --build "$dir" -j2 -- -k >"$dir/build.log" 2>&1 || echo "scripts/bench.sh: some targets did not build (see $dir/build.log)" >&2

out=$dir/results
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
t0=$(date +%s)
for b in "${selected[@]}"; do
  echo "== $b" >&2
  tb=$(date +%s)
  if [ "$b" = cli ]; then
    bench/cli_bench.sh "$dir/apps/sluice/sluice" | tee "$out/$b.txt" || true
  elif [ -x "$dir/bench/${b}_bench" ]; then
    "$dir/bench/${b}_bench" | tee "$out/$b.txt" ||
      echo "| $b: the benchmark failed (exit $?) | — | — | — | — | — |" | tee -a "$out/$b.txt"
  else
    echo "| every $b case | not built | — | — | — | — |" | tee "$out/$b.txt"
  fi
  echo "note: $b took $(( $(date +%s) - tb )) s" | tee -a "$out/$b.txt"
done
elapsed=$(( $(date +%s) - t0 ))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

doc=docs/benchmarks.md
cpu=$(LC_ALL=C lscpu 2>/dev/null | awk -F: '/^Model name/ {sub(/^ +/, "", $2); print $2; exit}')
commit_full=$(git rev-parse HEAD 2>/dev/null || echo "unknown")
commit="commit \`$(git rev-parse --short HEAD 2>/dev/null || echo "unknown")\` ($(git log -1 --format='%cd' --date=format:'%Y-%m-%d' 2>/dev/null || echo "?"))"
machine="\`nproc\` = $(nproc), CPU: ${cpu:-unknown}, $(uname -sr), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)"
charts=docs/charts
# draw_charts AREA...: one SVG per area from this run's rows (scripts/bench-charts.sh); a failure only loses charts.
draw_charts() {
  local args=() a
  for a in "$@"; do [ -f "$out/$a.txt" ] && args+=("$a" "$out/$a.txt"); done
  [ ${#args[@]} -gt 0 ] || return 0
  scripts/bench-charts.sh "$charts" "${args[@]}" || echo "scripts/bench.sh: charts not drawn" >&2
}
# chart_link AREA: the markdown that shows an area's chart, when there is one.
chart_link() { [ -f "$charts/$1.svg" ] && printf '\n![%s: sluice vs its peers](charts/%s.svg)\n' "$1" "$1"; return 0; }

# sluice::aio has a section of its own ("## aio"), rewritten by every run that includes aio.
aio_section() {
  cat <<EOF
## aio (\`sluice::aio\`)

\`scripts/bench.sh aio\` (or a full run) writes this section; \`build/bench/bench/aio_bench\` prints its rows.
Same method as above: the contenders take turns, each side shows its median, the ratio is the median of the
per-round ratios. asyncio's side is \`bench/aio_peer.py\`: the same programs, timed from inside Python.

- Run: $started, $commit, $(grep -o 'aio took [0-9]* s' "$out/aio.txt" | grep -o '[0-9]* s' || echo "? s")
- Machine: $machine
- Load average before / after: $load_before / $load_after (the machine is shared with other engineers' builds and
  test runs, so every figure carries their noise)
- Peers: $(g++ --version | head -1); Python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo "absent");
  $(dpkg-query -W -f='${Package} ${Version}' libboost1.81-dev 2>/dev/null || echo "Boost absent")

| case | sluice | peer | ratio | target | met? |
|---|---|---|---|---|---|
$(grep '^|' "$out/aio.txt")
$(chart_link aio)

Sizes and methods:

$(sed -n 's/^note: /- /p' "$out/aio.txt")
EOF
}
# Puts this run's aio section in place of the doc's (before "## Findings", or at the end).
splice_aio() {
  local section tmp
  section=$(aio_section)
  tmp=$(mktemp)
  section="$section" awk '
    /^## aio/ { skip = 1; next }
    skip && /^## / { skip = 0 }
    skip { next }
    /^## Findings/ && !done { print ENVIRON["section"]; print ""; done = 1 }
    { print }
    END { if (!done) { print ""; print ENVIRON["section"] } }
  ' "$doc" >"$tmp"
  mv "$tmp" "$doc"
}

if [ "$records" -eq 0 ]; then
  [ "$dry_run" -eq 0 ] || echo "scripts/bench.sh: --dry-run: nothing recorded" >&2
  exit 0
fi
if [ ${#selected[@]} -ne ${#all[@]} ]; then
  draw_charts aio
  [ -f "$doc" ] && splice_aio && echo "scripts/bench.sh: rewrote the aio section of $doc" >&2
  exit 0
fi
draw_charts "${all[@]}"

kept=""
# A "## Findings" section written by hand after a run survives the next run (it is re-read, then re-appended).
[ -f "$doc" ] && kept=$(awk '/^## Findings/ {k = 1} k' "$doc")
{
  cat <<EOF
# sluice benchmarks

Produced by \`scripts/bench.sh\` (Release build in \`build/bench\`). Every figure is measured in the same run
on the same machine as the peer it is compared with; the contenders take turns (in the C++ benchmarks each round starts with the next one: A B C, B C A, ...), each
side shows its median over the rounds, and the ratio is the median of the per-round ratios (the two figures
of a round were taken moments apart, under the same load). The machine is shared: absolute figures mean little, ratios a little more.

- Run: $started, ${elapsed} s, on $commit, a clean working tree (full hash $commit_full)
- Machine: $machine
- Load average before / after: $load_before / $load_after (the machine is shared with other engineers' builds and
  test runs, so every figure carries their noise)
- Peers: $(g++ --version | head -1); Python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo "absent");
  $(dpkg-query -W -f='${Package} ${Version}\n' libboost1.81-dev libtbb-dev libconcurrentqueue-dev libthread-pool-dev parallel 2>/dev/null | paste -sd';' | sed 's/;/; /g')

**How to read a row.** \`ratio\` is stated in the target's own terms: "(time)" is sluice's time over the peer's
(lower is better, targets "time ≤ x"), "(speed)" is sluice's speed over the peer's (higher is better,
targets "speed ≥ x"). "not built" means the sluice side did not exist or did not compile in this run;
"not installed" that the peer is missing. Rows without a target give context (physical limits, peers the
spec lists without a goal).

| case | sluice | peer | ratio | target | met? |
|---|---|---|---|---|---|
EOF
  cat "$out"/{subprocess,queue,pool,pipeline,cli}.txt | grep '^|'
  echo
  echo "## Charts"
  echo
  echo "One chart per area, drawn from the rows above by \`scripts/bench-charts.sh\` (gnuplot): for every row, the"
  echo "peer's bar is 1 and sluice's bar is its speed relative to that peer (a time ratio r is drawn as 1/r, so"
  echo "longer is better for sluice; log scale); the red line is the target, the bar green where it is met."
  for a in subprocess queue pool pipeline cli; do chart_link "$a"; done
  echo
  echo "## Sizes and methods used in this run"
  echo
  cat "$out"/{subprocess,queue,pool,pipeline,cli}.txt | sed -n 's/^note: /- /p'
  echo
  aio_section
  if [ -n "$kept" ]; then echo; echo "$kept"; fi
} >"$doc"
echo "scripts/bench.sh: wrote $doc" >&2
