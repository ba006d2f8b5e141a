#!/usr/bin/env bash
# The SQL job queue and --slurm, against real engines: SQLite files, a PostgreSQL 15 server started by
# ../fixtures/postgres.sh, GNU parallel's own --sqlmaster/--sqlworker as the peer.
#
#   sql_test.sh CASE     runs one case (a function below) in a fresh temp directory
#
# Environment: SLUICE (the binary under test, required); GNU_PARALLEL (default: parallel).
# Cases that need something this machine lacks (GNU parallel's DBD modules, a PostgreSQL server) exit 77
# saying why.
set -u
here=$(cd "$(dirname "$0")" && pwd)
S=${SLUICE:?SLUICE must name the sluice binary}
GNU=${GNU_PARALLEL:-parallel}
case_name=${1:?usage: sql_test.sh CASE}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIP: $*" >&2
  exit 77
}
expect_eq() { [ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-sql.XXXXXX")
cleanup_hooks=()
cleanup() {
  local h
  for h in "${cleanup_hooks[@]}"; do eval "$h"; done
  [ -n "${SQL_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir -p home/.parallel && touch home/.parallel/will-cite
export HOME=$work/home

need_gnu_sqlite() {
  command -v "$GNU" >/dev/null || skip "GNU parallel is not installed"
  perl -MDBD::SQLite -e1 2>/dev/null || skip "GNU parallel's SQLite driver (libdbd-sqlite3-perl) is not installed"
}
need_gnu_pg() {
  command -v "$GNU" >/dev/null || skip "GNU parallel is not installed"
  perl -MDBD::Pg -e1 2>/dev/null || skip "GNU parallel's PostgreSQL driver (libdbd-pg-perl) is not installed"
}

# Engines: `db NAME` prints a DBURL for table NAME; `q SQL` runs SQL and prints rows with | between fields.
use_sqlite() {
  ENGINE=sqlite
  db() { echo "sqlite3:///$(printf %s "$work/jobs.sqlite" | sed 's,/,%2F,g')/$1"; }
  q() { sqlite3 -cmd ".timeout 20000" "$work/jobs.sqlite" "$1"; }
  command -v sqlite3 >/dev/null || skip "the sqlite3 shell is not installed"
}
use_pg() {
  ENGINE=pg
  # shellcheck source=../fixtures/postgres.sh
  source "$here/../fixtures/postgres.sh"
  pg_fixture_start "$work/pg" || skip "$PG_FIXTURE_WHY"
  cleanup_hooks+=("pg_fixture_stop")
  db() { echo "pg://postgres@$(printf %s "$PG_SOCKET_DIR" | sed 's,/,%2F,g')/postgres/$1"; }
  q() { psql -h "$PG_SOCKET_DIR" -U postgres -d postgres -qAt -F'|' -c "$1"; }
}

# ---- cases --------------------------------------------------------------------------------------------

# A sluice master writes the table GNU's master writes: same columns, same Command encoding, same rows.
layout() {
  need_gnu_$ENGINE
  "$GNU" --sqlmaster "$(db gnu_t)" echo {} {.} x{2} {#} "'a b'" ::: a.c b ::: 1 2 || fail "GNU master"
  "$S" --sqlmaster "$(db slu_t)" echo {} {.} x{2} {#} "'a b'" ::: a.c b ::: 1 2 || fail "sluice master"
  local cols="Seq,Host,Starttime,JobRuntime,Send,Receive,Exitval,_Signal,Command,V1,V2,Stdout,Stderr"
  expect_eq "rows" "$(q "SELECT $cols FROM slu_t ORDER BY Seq")" "$(q "SELECT $cols FROM gnu_t ORDER BY Seq")"
  if [ "$ENGINE" = sqlite ]; then
    expect_eq "schema" "$(q "SELECT name, type FROM pragma_table_info('slu_t')")" "$(q "SELECT name, type FROM pragma_table_info('gnu_t')")"
  else
    local info="SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '%s' ORDER BY ordinal_position"
    # shellcheck disable=SC2059
    expect_eq "schema" "$(q "$(printf "$info" slu_t)")" "$(q "$(printf "$info" gnu_t)")"
  fi
  # Appending (+DBURL) continues the numbering.
  "$S" --sqlmaster "+$(db slu_t)" echo {} ::: c d || fail "append"
  expect_eq "appended seqs" "$(q "SELECT Seq FROM slu_t ORDER BY Seq" | tr '\n' ' ')" "1 2 3 4 5 6 "
}

# GNU's master with sluice's workers, and sluice's master with GNU's worker: every job once, its output,
# exit value and command in the row.
interop() {
  need_gnu_$ENGINE
  "$GNU" --sqlmaster "$(db t1)" 'echo {1} {1.} {#}; exit {2}' ::: a.x b.y ::: 0 3 || fail "GNU master"
  "$S" --sqlworker "$(db t1)" -j2 >out1 || true
  expect_eq "sluice worker output" "$(sort out1 | tr '\n' ' ')" "a.x a 1 a.x a 2 b.y b 3 b.y b 4 "
  expect_eq "rows after sluice" "$(q "SELECT Seq, Exitval, _Signal, Command, Stdout FROM t1 ORDER BY Seq" | tr '\n' ' ')" \
    "1|0|0|echo a.x a 1; exit 0|a.x a 1  2|3|0|echo a.x a 2; exit 3|a.x a 2  3|0|0|echo b.y b 3; exit 0|b.y b 3  4|3|0|echo b.y b 4; exit 3|b.y b 4  "
  "$S" --sqlmaster "$(db t2)" 'echo {1} {1.} {#}; exit {2}' ::: a.x b.y ::: 0 3 || fail "sluice master"
  "$GNU" --sqlworker "$(db t2)" -j2 >out2 || true
  expect_eq "GNU worker output" "$(sort out2 | tr '\n' ' ')" "a.x a 1 a.x a 2 b.y b 3 b.y b 4 "
  expect_eq "rows after GNU" "$(q "SELECT Seq, Exitval, _Signal, Command, Stdout FROM t2 ORDER BY Seq" | tr '\n' ' ')" \
    "1|0|0|echo a.x a 1; exit 0|a.x a 1  2|3|0|echo a.x a 2; exit 3|a.x a 2  3|0|0|echo b.y b 3; exit 0|b.y b 3  4|3|0|echo b.y b 4; exit 3|b.y b 4  "
  # A sluice worker and a GNU worker on one table.
  "$S" --sqlmaster "$(db t3)" 'echo {}' ::: $(seq 40) || fail "sluice master t3"
  "$GNU" --sqlworker "$(db t3)" -j2 >out3g &
  "$S" --sqlworker "$(db t3)" -j2 >out3s
  wait
  expect_eq "mixed workers: every job once" "$(sort -n out3g out3s | tr '\n' ' ')" "$(seq 40 | tr '\n' ' ')"
  expect_eq "mixed workers: rows done" "$(q "SELECT count(*) FROM t3 WHERE Exitval = 0")" 40
}

# 4 workers x -j4 over 1000 jobs: each job runs exactly once, each worker logs what it ran.
exactly_once() {
  "$S" --sqlmaster "$(db t)" 'echo {}' ::: $(seq 1000) || fail "master"
  local i
  for i in 1 2 3 4; do "$S" --sqlworker "$(db t)" -j4 --joblog log$i >out$i & done
  wait
  expect_eq "outputs" "$(sort -n out1 out2 out3 out4 | uniq | wc -l) $(cat out1 out2 out3 out4 | wc -l)" "1000 1000"
  expect_eq "joblog lines" "$(tail -q -n +2 log1 log2 log3 log4 | cut -f1 | sort -n | uniq | wc -l)" 1000
  expect_eq "rows done with their output" "$(q "SELECT count(*) FROM t WHERE Exitval = 0 AND Stdout IS NOT NULL AND Stdout <> ''")" 1000
  expect_eq "leases left" "$(q "SELECT count(*) FROM t_sluice")" 0
}

# kill -9 of a worker (and of its jobs: they are in its process tree) mid-run: its claimed rows go back once
# its lease expires, the others run them, every job ends done, each stranded one exactly twice in all.
kill_worker() {
  # Long enough that the rows the victim held are still marked when they are listed after the kill.
  export SLUICE_SQL_LEASE=4
  "$S" --sqlmaster "$(db t)" "echo {} >> $work/attempts; sleep 0.6" ::: $(seq 60) || fail "master"
  "$S" --sqlworker "$(db t)" -j4 --joblog victim.log >/dev/null 2>&1 &
  local victim=$!
  "$S" --sqlworker "$(db t)" -j2 --joblog a.log >/dev/null &
  local a=$!
  "$S" --sqlworker "$(db t)" -j2 --joblog b.log >/dev/null &
  local b=$!
  sleep 1
  local held kids
  kids=$(ps -o pid= --ppid "$victim")
  kill -9 "$victim" $kids 2>/dev/null
  # Dead now: what it holds cannot change until its lease expires.
  held=$(q "SELECT Seq FROM t WHERE Exitval = -1220 AND Stdout LIKE 'Reserved-sluice:%-$victim-%'" | sort -n)
  [ -n "$held" ] || fail "the victim held no row when killed"
  wait "$a" "$b"
  expect_eq "rows done" "$(q "SELECT count(*) FROM t WHERE Exitval = 0")" 60
  local s n
  for s in $(seq 60); do
    n=$(grep -cx "$s" attempts)
    if grep -qx "$s" <<<"$held"; then
      # Held by the victim: begun by it (maybe not: a claim can precede the spawn), then once more elsewhere.
      [ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "stranded job $s ran $n times"
      expect_eq "stranded job $s in the survivors' joblogs" "$(tail -q -n +2 a.log b.log | cut -f1 | grep -cx "$s")" 1
    else
      expect_eq "job $s attempts" "$n" 1
    fi
  done
  [ "$(wc -l <attempts)" -le $((60 + $(wc -l <<<"$held"))) ] || fail "more attempts than one rerun per stranded job"
}

# kill -9 of the worker alone: nothing it started keeps running -- neither the jobs' shells nor what they were
# running (their own sleep), and the watcher that killed them is gone too.
kill_worker_alone() {
  cp "$(command -v sleep)" "$work/nap" || fail "copy sleep"
  "$S" --sqlmaster "$(db t)" "$work/nap 30; echo {} >> $work/late" ::: 1 2 3 4 || fail "master"
  "$S" --sqlworker "$(db t)" -j4 >/dev/null 2>&1 &
  local victim=$! i
  for i in $(seq 100); do
    [ "$(pgrep -fc "^$work/nap 30")" = 4 ] && break
    sleep 0.1
  done
  expect_eq "naps running" "$(pgrep -fc "^$work/nap 30")" 4
  local before
  before=$(pgrep -fc "$work/nap")
  [ "$before" -ge 8 ] || fail "want 4 naps and their 4 shells, found $before processes"
  kill -9 "$victim"
  wait "$victim" 2>/dev/null
  for i in $(seq 50); do
    pgrep -f "$work/nap" >/dev/null || break
    sleep 0.1
  done
  local left
  left=$(pgrep -af "$work/nap")
  [ -z "$left" ] || { pkill -KILL -f "$work/nap"; fail "left running after the worker's SIGKILL: $left"; }
  [ ! -e late ] || fail "a job went on after its worker died"
}

# A worker that stalls past its lease (SIGSTOP) loses its rows to the others; resumed, it finds its lease gone,
# kills its jobs, writes none of its late results over the rows, and exits with 255.
lease_lost() {
  export SLUICE_SQL_LEASE=1
  "$S" --sqlmaster "$(db t)" "sleep 0.4; echo {}" ::: $(seq 30) || fail "master"
  "$S" --sqlworker "$(db t)" -j2 >stalled.out 2>stalled.err &
  local stalled=$!
  sleep 0.7
  kill -STOP "$stalled"
  "$S" --sqlworker "$(db t)" -j2 >other.out 2>other.err || fail "the other worker failed: $(cat other.err)"
  kill -CONT "$stalled"
  wait "$stalled"
  expect_eq "stalled worker status" "$?" 255
  grep -q "lease" stalled.err || fail "no lease message: $(cat stalled.err)"
  expect_eq "rows done" "$(q "SELECT count(*) FROM t WHERE Exitval = 0")" 30
  # Every row's output is the other worker's: the stalled one's late results were not written.
  expect_eq "rows written by the other worker" "$(q "SELECT count(*) FROM t WHERE Stdout = V1 || '
'")" 30
  expect_eq "the other worker ran the rest" "$(sort -n other.out stalled.out | uniq | wc -l)" 30
}

# --wait returns once every row is done or failed; its status counts the failed rows.
wait_master() {
  "$S" --sqlmaster "$(db t)" --wait 'exit {}' ::: 0 1 0 2 >master.out 2>&1 &
  local m=$!
  sleep 1
  kill -0 "$m" 2>/dev/null || fail "--wait returned before any worker ran"
  "$S" --sqlworker "$(db t)" -j2 || true
  wait "$m"
  expect_eq "--wait status (failed rows)" "$?" 2
  # --sqlandworker runs the jobs itself; with --wait it returns with them.
  "$S" --sqlandworker "$(db t2)" --wait 'echo {}' ::: x y >out
  expect_eq "sqlandworker status" "$?" 0
  expect_eq "sqlandworker output" "$(sort out | tr '\n' ' ')" "x y "
}

# Bad input: one line, exit 255, nothing run.
bad_input() {
  local out st
  for url in 'nonsense' 'mysql://u@h/db/t' 'sqlite3:///db' "sqlite3:///x/t;drop" ':alias/t'; do
    out=$("$S" --sqlworker "$url" touch ran 2>&1)
    st=$?
    expect_eq "status for $url" "$st" 255
    expect_eq "lines for $url" "$(wc -l <<<"$out")" 1
  done
  "$S" --sqlmaster "$(db other_table)" true ::: 1 || fail "master"
  out=$("$S" --sqlworker "$(db missing_table)" touch ran 2>&1)
  expect_eq "missing table status" "$?" 255
  expect_eq "missing table lines" "$(wc -l <<<"$out")" 1
  grep -q "missing_table does not exist" <<<"$out" || fail "missing table message: $out"
  if [ "$ENGINE" = pg ]; then
    out=$("$S" --sqlworker "pg://nobody@%2Fnonexistent%2Fdir/db/t" touch ran 2>&1)
    expect_eq "unreachable status" "$?" 255
    expect_eq "unreachable lines" "$(wc -l <<<"$out")" 1
  else
    out=$("$S" --sqlworker "sqlite3:///%2Fnonexistent%2Fdir%2Fdb/t" touch ran 2>&1)
    expect_eq "unopenable status" "$?" 255
    expect_eq "unopenable lines" "$(wc -l <<<"$out")" 1
  fi
  [ ! -e ran ] || fail "a job ran"
}

# The database goes away mid-run: the workers start nothing more, the running jobs finish, and no row is
# marked done that did not finish; exit 255 with one line.
db_gone() {
  "$S" --sqlmaster "$(db t)" "sleep 0.5; echo {}" ::: $(seq 20) || fail "master"
  "$S" --sqlworker "$(db t)" -j2 >out 2>err &
  local w=$!
  sleep 1.2
  if [ "$ENGINE" = pg ]; then
    pg_fixture_stop
  else
    q "DROP TABLE t"  # an open SQLite file cannot vanish under its connection; its table can
  fi
  wait "$w"
  expect_eq "worker status" "$?" 255
  [ "$(wc -l <out)" -lt 20 ] || fail "all jobs ran although the database went away"
  [ -s err ] || fail "no message"
}

# ---- --slurm ------------------------------------------------------------------------------------------

use_slurm() {
  ENGINE=slurm
  # shellcheck source=../fixtures/slurm.sh
  source "$here/../fixtures/slurm.sh"
  slurm_fixture_start "$work/slurm" || skip "$SLURM_FIXTURE_WHY"
  cleanup_hooks+=("slurm_fixture_stop")
}

# Each job is its own step: its own SLURM_STEP_ID, as many at once as the allocation has CPUs.
steps() {
  local cpus
  cpus=$(nproc)
  timeout 120 salloc -Q -n"$cpus" "$S" --slurm 'echo {} $SLURM_STEP_ID $SLURM_JOB_ID; sleep 0.3' ::: $(seq 6) >out 2>err ||
    fail "salloc/sluice failed: $(tail -3 err)"
  expect_eq "jobs" "$(cut -d' ' -f1 out | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 "
  expect_eq "distinct step ids" "$(cut -d' ' -f2 out | sort -u | grep -c '^[0-9][0-9]*$')" 6
  expect_eq "one allocation" "$(cut -d' ' -f3 out | sort -u | wc -l)" 1
  # The slots are the allocation's CPUs: with one CPU per job, never more steps at once than CPUs.
  timeout 120 salloc -Q -n1 "$S" --slurm ': {}; date +%s.%N; sleep 0.4; date +%s.%N' ::: 1 2 3 >times 2>err || fail "salloc -n1: $(tail -3 err)"
  expect_eq "one CPU: one step at a time" "$(awk 'NR%2==1{s=$1} NR%2==0{print s, $1}' times | sort -n |
    awk 'NR>1 && $1 < prev {bad=1} {prev=$2} END{print bad+0}')" 0
  # --cpus-per-job: each step gets that many CPUs, and the slots shrink to match.
  if [ "$cpus" -ge 2 ]; then
    timeout 120 salloc -Q -n2 "$S" --slurm --cpus-per-job 2 'echo $SLURM_CPUS_PER_TASK; date +%s.%N; sleep 0.4; date +%s.%N # {}' ::: 1 2 >c2 2>err ||
      fail "--cpus-per-job 2: $(tail -3 err)"
    expect_eq "CPUs per step" "$(awk 'NR%3==1' c2 | sort -u)" 2
    expect_eq "two CPUs each: one step at a time" "$(awk 'NR%3==2{s=$1} NR%3==0{print s, $1}' c2 | sort -n |
      awk 'NR>1 && $1 < prev {bad=1} {prev=$2} END{print bad+0}')" 0
  fi
}

# SIGINT to sluice cancels its running steps: none is left in squeue, none of their processes runs on.
sigint() {
  local marker=sluice_slurm_${RANDOM}${RANDOM}
  ln -s "$(command -v sleep)" "./$marker"
  salloc -Q -n2 "$S" --slurm "$work/$marker 60" ::: 1 2 >/dev/null 2>err &
  local alloc=$! i pid=""
  for i in $(seq 150); do
    [ "$(squeue -h -s 2>/dev/null | grep -vc 'extern\|interactive')" -ge 2 ] && pgrep -f "$marker" >/dev/null && break
    sleep 0.2
  done
  pid=$(pgrep -f "^$S --slurm" | head -1)
  [ -n "$pid" ] || fail "sluice is not running under salloc"
  [ "$(pgrep -cf "$work/$marker")" -ge 2 ] || fail "the steps did not start: $(squeue -s 2>&1 | tail -3)"
  kill -INT "$pid"
  for i in $(seq 100); do
    pgrep -f "$work/$marker" >/dev/null || break
    sleep 0.1
  done
  pgrep -f "$work/$marker" >/dev/null && fail "a step's process survived SIGINT"
  wait "$alloc"
  for i in $(seq 50); do
    [ "$(squeue -h -s 2>/dev/null | grep -c "$marker")" -eq 0 ] && break
    sleep 0.1
  done
  expect_eq "steps left" "$(squeue -h -s -o %o 2>/dev/null | grep -c "$marker")" 0
}

# --halt now,fail=1 cancels the other steps.
halt() {
  local marker=sluice_slurm_${RANDOM}${RANDOM}
  ln -s "$(command -v sleep)" "./$marker"
  local start=$SECONDS
  timeout 60 salloc -Q -n2 "$S" --slurm --halt now,fail=1 "$work/$marker {}; exit 1" ::: 60 1 >/dev/null 2>err
  [ $((SECONDS - start)) -lt 30 ] || fail "--halt did not end the long step"
  # slurmd ends the cancelled step's tasks asynchronously: give it a moment.
  local i
  for i in $(seq 100); do
    pgrep -f "$work/$marker" >/dev/null || break
    sleep 0.1
  done
  pgrep -f "$work/$marker" >/dev/null && fail "a step's process survived --halt"
  return 0
}

# Outside an allocation: one line, exit 255, nothing run.
outside() {
  local out
  out=$(env -u SLURM_JOB_ID "$S" --slurm touch ran ::: x 2>&1)
  expect_eq "status" "$?" 255
  expect_eq "lines" "$(wc -l <<<"$out")" 1
  [ ! -e ran ] || fail "a job ran"
}

# ---- dispatch -------------------------------------------------------------------------------------------
engine=${case_name%%_*}
body=${case_name#*_}
case "$engine" in
  sqlite) use_sqlite ;;
  pg) use_pg ;;
  slurm) if [ "$body" = outside ]; then ENGINE=slurm; else use_slurm; fi ;;
  *) fail "unknown case $case_name" ;;
esac
declare -F "$body" >/dev/null || fail "unknown case $case_name"
"$body"
echo "PASS: $case_name"
