#!/usr/bin/env bash
# Draws one SVG chart per benchmark area from the markdown rows the benchmarks print (called by scripts/bench.sh).
#   scripts/bench-charts.sh OUT_DIR AREA ROWS_FILE [AREA ROWS_FILE ...]
# A row is "| case | sluice | peer: figure | ratio | target | met? |". Each row with a ratio becomes a pair of bars
# on a log scale: the peer at 1 and sluice at its speed relative to the peer (a "(time)" ratio r is drawn as 1/r,
# so higher is always better for sluice), with the target drawn as a red line across the pair. Rows without a
# ratio (context rows) are left out. Writes OUT_DIR/AREA.svg; needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail
[ $# -ge 3 ] && [ $(( ($# - 1) % 2 )) -eq 0 ] || { echo "usage: $0 OUT_DIR AREA ROWS_FILE [AREA ROWS_FILE ...]" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "scripts/bench-charts.sh: gnuplot not installed (Debian: gnuplot-nox); no charts drawn" >&2; exit 1; }
out=$1; shift
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

while [ $# -gt 0 ]; do
  area=$1 rows=$2; shift 2
  # One line per drawable row: index, sluice's relative speed, target as relative speed (or NaN), met (1/0/-1),
  # label. Labels lose markdown and are shortened; the peer's name (before ": ") follows the case.
  awk '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); gsub(/[`*]/, "", s); return s }
    /^\|/ {
      line = $0
      gsub(/\\\|/, "\001", line)                 # an escaped "\|" inside a cell is not a column break
      if (split(line, f, "|") < 8) next
      for (i in f) gsub(/\001/, "|", f[i])
      c = trim(f[2]); peer = trim(f[4]); ratio = trim(f[5]); target = trim(f[6]); met = trim(f[7])
      if (ratio !~ /^[0-9.]+ \((time|speed|RSS)\)$/) next
      split(ratio, rp, " "); r = rp[1] + 0
      if (r <= 0) next
      kind = rp[2]
      rel = (kind == "(speed)") ? r : 1 / r     # time and RSS: lower is better, so draw the inverse
      t = "NaN"
      if (match(target, /[0-9.]+×/)) {
        tv = substr(target, RSTART, RLENGTH - length("×")) + 0
        if (tv > 0) t = (target ~ /^speed/) ? tv : 1 / tv
      }
      m = (met == "yes") ? 1 : (met == "no") ? 0 : -1
      sub(/:.*/, "", peer)
      label = c " vs " peer
      gsub(/"/, "", label)
      if (length(label) > 70) label = substr(label, 1, 67) "..."
      n++
      printf "%d\t%.6g\t%s\t%d\t\"%s\"\n", n, rel, t, m, label
    }' "$rows" >"$tmp/$area.dat"
  n=$(wc -l <"$tmp/$area.dat")
  if [ "$n" -eq 0 ]; then
    echo "scripts/bench-charts.sh: no rows with a ratio for $area; no chart" >&2
    continue
  fi
  height=$(( 160 + 34 * n ))
  # Horizontal bars (one row of the table per line of the chart, top to bottom in table order), drawn with
  # boxxyerror: grey = the peer (1), blue = sluice (green when the row's target is met, red when it is not).
  gnuplot <<EOF
set terminal svg size 1200,$height dynamic font "sans,11" background "white"
set output "$out/$area.svg"
set title "sluice vs its peers: $area (log scale; red line: the target)"
set datafile separator "\t"
set termoption noenhanced
set logscale x 10
set xrange [0.01:*]
set xlabel "sluice's speed relative to the peer (peer = 1, higher is better for sluice)"
set yrange [$n + 0.7:0.3]
set ytics scale 0 font "sans,10"
set grid xtics
set key outside top center horizontal
set style fill solid 0.85 noborder
bar = 0.18
lo = 0.01
color(m) = m == 1 ? 0x2e9e4f : m == 0 ? 0xd9412b : 0x3b73b9
plot "$tmp/$area.dat" using (1):(\$1 - bar):(lo):(1):(\$1 - 2 * bar):(\$1) with boxxyerror lc rgb "#9e9e9e" title "peer", \
     "" using (1):(\$1 + bar):(lo):(\$2):(\$1):(\$1 + 2 * bar):(color(\$4)):ytic(5) with boxxyerror lc rgb variable notitle, \
     NaN with boxes lc rgb "#2e9e4f" title "sluice, target met", \
     NaN with boxes lc rgb "#d9412b" title "sluice, target missed", \
     NaN with boxes lc rgb "#3b73b9" title "sluice, no target", \
     "" using 3:(\$1 - 0.45):(0):(0.9) with vectors nohead lw 3 lc rgb "#c00000" title "target", \
     "" using (\$2 * 1.1):(\$1 + bar):(sprintf("%.2f", \$2)) with labels left font "sans,9" notitle
EOF
  echo "scripts/bench-charts.sh: wrote $out/$area.svg" >&2
done
