#!/usr/bin/env bash
# Runs one case of the sluice command-line suite, the way a user would: by running the binary.
#
#   cli_test.sh CASE            run one case (a diff_* or check_* function of the *_cases.sh files)
#   cli_test.sh --list          print every case name
#   cli_test.sh --show CASE     run one case against $SLUICE only and print what it wrote
#
# diff_* cases run the same body twice, once with `par` = GNU parallel and once with `par` = sluice,
# each in a fresh directory at the same path, and compare stdout, exit status and (unless the body
# calls ignore_stderr) stderr.  check_* cases run only against sluice and assert by themselves.
#
# Environment:
#   SLUICE        the binary under test (required)
#   GNU_PARALLEL  the reference (default: parallel); when it is missing, diff_* cases exit 77 (skipped)
#   CLI_KEEP=1    keep the work directory for inspection
#   CLI_SIDE_TIMEOUT  seconds one side of a case may take (default 25 for diff_*, 50 for check_*)
set -u
here=$(cd "$(dirname "$0")" && pwd)
skip_status=77

source "$here/lib.sh"
source "$here/diff_cases.sh"
source "$here/check_cases.sh"

if [ "${1:-}" = "--list" ]; then
  declare -F | awk '{print $3}' | grep -E '^(diff|check)_' | sort
  exit 0
fi

# Internal: one side of a case, run in its own process so a timeout can end it.
if [ "${1:-}" = "--side" ]; then
  case_name=$2
  P=$3
  export P
  cd "$4" || exit 2
  "$case_name"
  exit $?
fi

show=0
if [ "${1:-}" = "--show" ]; then show=1; shift; fi
case_name=${1:?usage: cli_test.sh [--show] CASE | --list}
if ! declare -F "$case_name" >/dev/null; then
  echo "cli_test.sh: no such case: $case_name" >&2
  exit 2
fi
if [ -z "${SLUICE:-}" ] || [ ! -x "$SLUICE" ]; then
  echo "cli_test.sh: SLUICE must name the sluice binary (got '${SLUICE:-}')" >&2
  exit 2
fi
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
GNU_PARALLEL=${GNU_PARALLEL:-parallel}

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cli.XXXXXX") || exit 2
cleanup() {
  if [ "${CLI_KEEP:-0}" = 1 ]; then
    echo "work directory kept: $work"
  else
    chmod -R u+rwx "$work" 2>/dev/null
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Both sides see the same, clean environment: no user config, no citation nag, C locale, their own
# TMPDIR (so leftovers can be checked), and /bin/sh as the job shell (GNU parallel otherwise picks
# the shell that started it, which here would be bash).
mkdir -p "$work/home/.parallel"
touch "$work/home/.parallel/will-cite"
export HOME=$work/home
export LC_ALL=C
export PARALLEL_SHELL=/bin/sh
unset PARALLEL PARALLEL_HOME PARALLEL_SEQ PARALLEL_JOBSLOT PARALLEL_PID PARALLEL_TMUX 2>/dev/null
export SLUICE GNU_PARALLEL

# run_side LABEL RUNNER LIMIT: runs the case in $work/run, keeps its results under $work/LABEL.*
run_side() {
  local label=$1 runner=$2 limit=$3
  rm -rf "$work/run" "$work/tmp"
  mkdir -p "$work/run" "$work/tmp"
  TMPDIR=$work/tmp timeout -k 5 "$limit" bash "$here/cli_test.sh" --side "$case_name" "$runner" "$work/run" \
    >"$work/$label.out" 2>"$work/$label.err" </dev/null
  echo $? >"$work/$label.rc"
  mv "$work/run" "$work/$label.dir"
  mv "$work/tmp" "$work/$label.tmp"
}

show_case() {
  echo "---- case body:"
  declare -f "$case_name" | sed '1,2d;$d'
}

if [ "$show" = 1 ]; then
  run_side sluice "$SLUICE" "${CLI_SIDE_TIMEOUT:-50}"
  echo "---- stdout:"; cat -A "$work/sluice.out"
  echo "---- stderr:"; cat -A "$work/sluice.err"
  echo "---- exit status $(cat "$work/sluice.rc")"
  exit 0
fi

case $case_name in
  check_*)
    run_side sluice "$SLUICE" "${CLI_SIDE_TIMEOUT:-50}"
    rc=$(cat "$work/sluice.rc")
    if [ "$rc" = 0 ]; then exit 0; fi
    show_case
    echo "---- stdout:"; cat "$work/sluice.out"
    echo "---- stderr:"; cat "$work/sluice.err"
    [ "$rc" = 124 ] && echo "---- the case timed out"
    echo "---- exit status $rc"
    exit 1
    ;;
  diff_*)
    if ! command -v "$GNU_PARALLEL" >/dev/null 2>&1; then
      echo "GNU parallel ($GNU_PARALLEL) not found: differential case skipped"
      exit $skip_status
    fi
    GNU_PARALLEL=$(command -v "$GNU_PARALLEL")
    limit=${CLI_SIDE_TIMEOUT:-25}
    run_side gnu "$GNU_PARALLEL" "$limit"
    # GNU parallel 20221122 itself hangs now and then (its --shard/--bin sharder: about one run in 25 to 30 of
    # some commands): a GNU side that ran out of time runs once more before the case is called broken.
    if [ "$(cat "$work/gnu.rc")" = 124 ]; then
      echo "---- GNU parallel timed out; its side runs once more"
      rm -rf "$work/gnu.dir" "$work/gnu.tmp"
      run_side gnu "$GNU_PARALLEL" "$limit"
    fi
    run_side sluice "$SLUICE" "$limit"
    status=0
    compare() {  # compare WHAT: diff the GNU and sluice versions of one result
      if ! cmp -s "$work/gnu.$1" "$work/sluice.$1"; then
        echo "---- $2 differs (--- GNU parallel, +++ sluice):"
        diff -u --label gnu --label sluice "$work/gnu.$1" "$work/sluice.$1" | head -n 60 | cat -A | cut -c1-300
        status=1
      fi
    }
    # Each runner names itself at the start of its own messages; the rest of the wording must match.
    for side in gnu sluice; do
      sed -E 's/^(parallel|sluice): /RUNNER: /' "$work/$side.err" >"$work/$side.errn"
    done
    compare out stdout
    compare rc "exit status"
    if declare -f "$case_name" | grep -qw ignore_stderr; then
      stderr_note="(not compared: the case calls ignore_stderr)"
    else
      compare errn "stderr (with 'parallel: '/'sluice: ' written 'RUNNER: ')"
      stderr_note=""
    fi
    if [ "$(cat "$work/gnu.rc")" = 124 ]; then
      echo "---- GNU parallel timed out on this case: the case itself is broken"
      status=1
    fi
    if [ "$status" != 0 ]; then
      show_case
      echo "---- GNU parallel stderr $stderr_note:"; head -n 20 "$work/gnu.err"
      echo "---- sluice stderr $stderr_note:"; head -n 20 "$work/sluice.err"
    fi
    exit $status
    ;;
  *)
    echo "cli_test.sh: case names start with diff_ or check_: $case_name" >&2
    exit 2
    ;;
esac
