#!/usr/bin/env bash
# bench/remote_chart.sh OUT.svg [TITLE] -- draws remote_bench.sh's figures: jobs/s against hosts, sluice's
# measured rate beside perfect scaling from its 1-host rate and PERF.md's 2-host target (1.8x).
# Reads lines "HOSTS JOBS_PER_S" on stdin. Needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail
out=${1:?usage: remote_chart.sh OUT.svg [TITLE] < "hosts jobs/s" lines}
title=${2:-400 x true over -S}
command -v gnuplot >/dev/null || { echo "remote_chart.sh: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
cat >"$data"
base=$(awk '$1 == 1 {print $2}' "$data")
[ -n "$base" ] || { echo "remote_chart.sh: no 1-host figure" >&2; exit 1; }
gnuplot <<GP
set terminal svg size 640,400 dynamic font "sans,12"
set output "$out"
set title "$title"
set xlabel "hosts"
set ylabel "jobs/s"
set xrange [0.8:3.2]
set xtics 1
set yrange [0:*]
set key top left
set grid ytics
plot "$data" using 1:2 with linespoints lw 2 pt 7 title "sluice -S, measured", \
     "$data" using 1:($base * \$1) with lines dt 2 lc rgb "gray40" title "perfect scaling", \
     "+" using (2):($base * 1.8) with points pt 2 ps 2 lc rgb "red" title "target at 2 hosts (1.8x)"
GP
