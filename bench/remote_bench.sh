#!/usr/bin/env bash
# bench/remote_bench.sh -- PERF.md's "remote" row: 400 x `true` over -S with 1, 2 and 3 hosts, sluice against
# GNU parallel -S on the same hosts (sshd in network namespaces, tests/fixtures/sshd_hosts.sh; needs root).
#   bench/remote_bench.sh path/to/sluice
# Each host's sshd (and so every session it starts) is put in its own CPU cgroup with a fixed quota, as a real
# host would bring its own CPU: cgroup v2 cpu.max where mounted, else v1 cpu.cfs_quota_us; without either the
# hosts share this machine's CPUs freely (said in the output). Prints markdown rows: hosts, sluice jobs/s, GNU
# jobs/s, sluice's speed-up over its own 1-host rate, sluice/GNU.
# Environment: SLUICE_BENCH_REMOTE_JOBS (400), SLUICE_BENCH_REMOTE_SLOTS (-j per host, 8),
# SLUICE_BENCH_REMOTE_CPU (each host's CPU quota in CPUs, 0.4), SLUICE_BENCH_REMOTE_ROUNDS (1),
# SLUICE_BENCH_REMOTE_GNU (1; 0 skips GNU parallel, whose logins take seconds each on a loaded machine),
# SLUICE_BENCH_REMOTE_CHART (an .svg path: the chart of jobs/s against hosts, bench/remote_chart.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sluice=${1:?usage: remote_bench.sh path/to/sluice}
jobs=${SLUICE_BENCH_REMOTE_JOBS:-400}
slots=${SLUICE_BENCH_REMOTE_SLOTS:-8}
cpu=${SLUICE_BENCH_REMOTE_CPU:-0.4}
rounds=${SLUICE_BENCH_REMOTE_ROUNDS:-1}
with_gnu=${SLUICE_BENCH_REMOTE_GNU:-1}
source "$here/../tests/fixtures/sshd_hosts.sh"
hosts_up 3
export HOME=$HOSTS_DIR/home
mkdir -p "$HOME/.parallel" && touch "$HOME/.parallel/will-cite"

# One cgroup per host, its sshd moved in (sessions are forked from it, so they follow).
cgroups=()
cg_cleanup() {
  local g p
  for g in "${cgroups[@]}"; do
    for p in $(cat "$g/cgroup.procs" 2>/dev/null); do echo "$p" >"$(dirname "$g")/cgroup.procs" 2>/dev/null; done
    rmdir "$g" 2>/dev/null
  done
  hosts_down
}
trap cg_cleanup EXIT
limit="none (the hosts share this machine's CPUs)"
for i in 1 2 3; do
  g=""
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    g=/sys/fs/cgroup/sluice-bench-$$-$i
    mkdir "$g" && echo "$(awk -v c="$cpu" 'BEGIN{printf "%d", c * 100000}') 100000" >"$g/cpu.max" || g=""
    [ -n "$g" ] && limit="cgroup v2 cpu.max, $cpu CPU per host"
  elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    g=/sys/fs/cgroup/cpu/sluice-bench-$$-$i
    mkdir "$g" && echo 100000 >"$g/cpu.cfs_period_us" &&
      awk -v c="$cpu" 'BEGIN{printf "%d\n", c * 100000}' >"$g/cpu.cfs_quota_us" || g=""
    [ -n "$g" ] && limit="cgroup v1 cpu.cfs_quota_us, $cpu CPU per host"
  fi
  if [ -n "$g" ]; then
    cgroups+=("$g")
    echo "$(host_sshd_pid "$i")" >"$g/cgroup.procs"
  fi
done

now() { date +%s.%N; }
rate() { awk -v n="$jobs" -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", n / (b - a)}'; }
run_one() {  # runner hosts -> jobs/s
  local runner=$1 n=$2 logins="" i t0 t1
  for i in $(seq 1 "$n"); do logins+="${logins:+,}sl$i"; done
  t0=$(now)
  seq "$jobs" | "$runner" --ssh "$SSH_WRAP" -S "$logins" -j "$slots" true >/dev/null 2>"$HOSTS_DIR/bench.err" ||
    { echo "note: $runner failed with $n hosts: $(head -3 "$HOSTS_DIR/bench.err")" >&2; echo nan; return; }
  t1=$(now)
  rate "$t0" "$t1"
}
echo "note: $jobs x true, -j $slots per host, CPU limit: $limit, $(nproc) CPUs here, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| hosts | sluice jobs/s | GNU parallel -S jobs/s | sluice vs its 1 host | sluice / GNU |"
echo "|---|---|---|---|---|"
base=""
chart_rows=""
for n in 1 2 3; do
  s_best=0 g_best=0
  for r in $(seq 1 "$rounds"); do
    s=$(run_one "$sluice" "$n")
    g=nan
    [ "$with_gnu" = 1 ] && g=$(run_one parallel "$n")
    s_best=$(awk -v a="$s_best" -v b="$s" 'BEGIN{print (b != "nan" && b > a) ? b : a}')
    g_best=$(awk -v a="$g_best" -v b="$g" 'BEGIN{print (b != "nan" && b > a) ? b : a}')
  done
  [ -z "$base" ] && base=$s_best
  chart_rows+="$n $s_best"$'\n'
  awk -v n="$n" -v s="$s_best" -v g="$g_best" -v b="$base" 'BEGIN{
    printf "| %d | %.1f | %s | %.2f x | %s |\n", n, s, (g > 0 ? sprintf("%.1f", g) : "not run"),
      s / b, (g > 0 ? sprintf("%.1f x", s / g) : "")}'
done
if [ -n "${SLUICE_BENCH_REMOTE_CHART:-}" ]; then
  printf %s "$chart_rows" | "$here/remote_chart.sh" "$SLUICE_BENCH_REMOTE_CHART" "$jobs x true over -S, $cpu CPU per host" ||
    echo "note: no chart drawn" >&2
fi
