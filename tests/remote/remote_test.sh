#!/usr/bin/env bash
# Runs one case of the -S suite against real ssh hosts (tests/fixtures/sshd_hosts.sh).
#
#   remote_test.sh CASE     run one case (a diff_* or check_* function of remote_cases.sh)
#   remote_test.sh --list   print every case name
#
# A case's body runs with `par` = the runner under test and $SSH_WRAP reaching hosts sl1..slN. diff_* cases
# run the body once with GNU parallel and once with sluice, each in a fresh directory at the same path, and
# compare stdout and exit status (stderr is each tool's own wording); check_* cases run only sluice and
# assert by themselves. A case declares its hosts with `hosts N` on its first line (default 2), and may
# set their sshd's MaxStartups with `sshd_maxstartups V`.
# Environment: SLUICE (required), GNU_PARALLEL (default parallel), REMOTE_KEEP=1 keeps the work directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../fixtures/sshd_hosts.sh"
source "$here/remote_cases.sh"

if [ "${1:-}" = "--list" ]; then
  declare -F | awk '{print $3}' | grep -E '^(diff|check)_' | sort
  exit 0
fi
case_name=${1:?usage: remote_test.sh CASE | --list}
declare -F "$case_name" >/dev/null || { echo "remote_test.sh: no such case: $case_name" >&2; exit 2; }
[ -n "${SLUICE:-}" ] && [ -x "$SLUICE" ] || { echo "remote_test.sh: SLUICE must name the sluice binary" >&2; exit 2; }
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
GNU_PARALLEL=${GNU_PARALLEL:-parallel}
if [[ $case_name == diff_* ]] && ! command -v "$GNU_PARALLEL" >/dev/null; then
  echo "SKIP: GNU parallel ($GNU_PARALLEL) is not installed" >&2
  exit 77
fi

n=$(declare -f "$case_name" | grep -oE 'hosts [0-9]+' | head -1 | awk '{print $2}')
# `sshd_maxstartups V` in a case: its hosts' sshd MaxStartups (set before they start).
SSHD_MAXSTARTUPS=$(declare -f "$case_name" | grep -oE 'sshd_maxstartups [0-9:]+' | head -1 | awk '{print $2}')
hosts_up "${n:-2}"
work=$HOSTS_DIR/work
mkdir -p "$work/home/.parallel"
touch "$work/home/.parallel/will-cite"
# TMPDIR inside the fixture's directory: what a runner killed with SIGKILL leaves (its ssh control
# directory) goes with the hosts.
mkdir -p "$HOSTS_DIR/tmp"
export HOME=$work/home LC_ALL=C PARALLEL_SHELL=/bin/sh TMPDIR=$HOSTS_DIR/tmp
unset PARALLEL PARALLEL_HOME 2>/dev/null

par() { "$P" "$@"; }
hosts() { :; }
sshd_maxstartups() { :; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"; }
# The joblog without its times: Seq Host Exitval Signal Command, sorted by Seq.
joblog_cols() { awk -F'\t' 'NR > 1 {print $1 "|" $2 "|" $7 "|" $8 "|" $9}' "$1" | sort -n; }
# Processes on any host (this machine's view) whose command line carries MARK.
count_marker() { pgrep -f -- "$1" | wc -l; }

# run_side LABEL RUNNER: the case in $work/run (fresh each time), results kept as $work/LABEL.*
run_side() {
  rm -rf "$work/run"
  mkdir -p "$work/run"
  (cd "$work/run" && P=$2 timeout -k 5 60 bash -c "$(declare -f); $case_name" >"$work/$1.out" 2>"$work/$1.err")
  echo $? >"$work/$1.rc"
}

status=0
if [[ $case_name == diff_* ]]; then
  export SSH_WRAP
  run_side gnu "$GNU_PARALLEL"
  # GNU parallel 20221122 itself hangs now and then (its --shard/--bin sharder, about one run in 25-30): a GNU
  # side that ran out of time runs once more before the case is called broken.
  if [ "$(cat "$work/gnu.rc")" = 124 ]; then
    echo "--- GNU parallel timed out; its side runs once more" >&2
    run_side gnu "$GNU_PARALLEL"
  fi
  run_side sluice "$SLUICE"
  for what in out rc; do
    if ! diff -u "$work/gnu.$what" "$work/sluice.$what" >"$work/diff.$what"; then
      echo "FAIL: $case_name: $what differs from GNU parallel's (--- GNU, +++ sluice):" >&2
      cat "$work/diff.$what" >&2
      status=1
    fi
  done
  if [ "$status" -ne 0 ]; then
    echo "--- GNU stderr:" >&2; cat "$work/gnu.err" >&2
    echo "--- sluice stderr:" >&2; cat "$work/sluice.err" >&2
  fi
else
  mkdir -p "$work/run"
  (cd "$work/run" && P=$SLUICE timeout -k 5 100 bash -c "$(declare -f); $case_name")
  status=$?
fi
[ "${REMOTE_KEEP:-0}" = 1 ] && { cp -r "$work" "/tmp/remote-$case_name.$$"; echo "kept: /tmp/remote-$case_name.$$"; }
exit "$status"
