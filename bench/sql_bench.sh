#!/usr/bin/env bash
# bench/sql_bench.sh -- the SQL job queue against GNU parallel's --sqlworker (PERF.md row "sql").
#   bench/sql_bench.sh [path/to/sluice]
# For each engine (SQLite file; PostgreSQL 15 started by tests/fixtures/postgres.sh, needs root): a master of
# the same tool fills a table with SLUICE_BENCH_SQL_JOBS (1000) x `true`, then 4 workers of that tool, -j2 each,
# run it; the wall time is from the workers' start to the last one's exit. Checks: every row done, and (sluice,
# whose workers write joblogs) no Seq run twice. Prints markdown rows "| case | sluice | peer | ratio | target | met? |".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sluice=${1:-$here/build/dev/apps/sluice/sluice}
jobs=${SLUICE_BENCH_SQL_JOBS:-1000}
workers=4
gnu=$(command -v parallel || true)
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-sqlbench.XXXXXX")
mkdir -p "$work/home/.parallel" && touch "$work/home/.parallel/will-cite"
export HOME=$work/home
pg_up=0
cleanup() {
  [ "$pg_up" = 1 ] && pg_fixture_stop
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

now() { date +%s.%N; }

# run_side TOOL DBURL TABLE QUERYFN: prints "seconds done dups"
run_side() {
  local tool=$1 url=$2 table=$3 qf=$4 i t0 t1
  "$tool" --sqlmaster "$url" true ::: $(seq "$jobs") >/dev/null 2>&1 || { echo "master-failed"; return; }
  rm -f log.*
  t0=$(now)
  for i in $(seq $workers); do
    if [ "$tool" = "$sluice" ]; then "$tool" --sqlworker "$url" -j2 --joblog "log.$i" >/dev/null 2>&1 &
    else "$tool" --sqlworker "$url" -j2 >/dev/null 2>&1 &
    fi
  done
  wait
  t1=$(now)
  local done dups="n/a"
  done=$($qf "SELECT count(*) FROM $table WHERE Exitval = 0")
  if [ "$tool" = "$sluice" ]; then
    dups=$(($(tail -q -n +2 log.* | wc -l) - $(tail -q -n +2 log.* | cut -f1 | sort -u | wc -l)))
  fi
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') $done $dups"
}

sq() { sqlite3 -cmd ".timeout 20000" "$work/$db_file" "$1"; }
pq() { psql -h "$PG_SOCKET_DIR" -U postgres -d postgres -qAt -c "$1"; }

echo "| case | sluice | peer | ratio | target | met? |"
echo "|---|---|---|---|---|---|"
report() {  # CASE SLUICE_RESULT GNU_RESULT
  local s g ratio met
  read -r s sdone sdups <<<"$2"
  read -r g gdone _ <<<"$3"
  if [[ "$s" =~ ^[0-9.]+$ ]] && [[ "$g" =~ ^[0-9.]+$ ]]; then
    ratio=$(awk -v s="$s" -v g="$g" 'BEGIN{printf "%.1f", g / s}')
    met=$(awk -v r="$ratio" -v d="$sdups" -v n="$sdone" -v j="$jobs" 'BEGIN{print (r >= 5 && d == 0 && n == j) ? "yes" : "no"}')
    echo "| sql $1: $jobs x true, $workers workers -j2 | ${s} s ($sdone done, $sdups dups) | GNU --sqlworker ${g} s ($gdone done) | ${ratio}x | >= 5x, 0 dups | $met |"
  else
    echo "| sql $1 | $2 | $3 | - | >= 5x | no |"
  fi
}

if command -v sqlite3 >/dev/null; then
  db_file=s.sqlite
  s=$(run_side "$sluice" "sqlite3:///$(printf %s "$work/s.sqlite" | sed 's,/,%2F,g')/t" t sq)
  db_file=g.sqlite
  if [ -n "$gnu" ] && perl -MDBD::SQLite -e1 2>/dev/null; then
    g=$(run_side "$gnu" "sqlite3:///$(printf %s "$work/g.sqlite" | sed 's,/,%2F,g')/t" t sq)
  else g="no GNU parallel with DBD::SQLite"; fi
  db_file=s.sqlite
  report SQLite "$s" "$g"
fi

# shellcheck source=../tests/fixtures/postgres.sh
source "$here/tests/fixtures/postgres.sh"
if pg_fixture_start "$work/pg"; then
  pg_up=1
  s=$(run_side "$sluice" "pg://postgres@$(printf %s "$PG_SOCKET_DIR" | sed 's,/,%2F,g')/postgres/st" st pq)
  if [ -n "$gnu" ] && perl -MDBD::Pg -e1 2>/dev/null; then
    g=$(run_side "$gnu" "pg://postgres@$(printf %s "$PG_SOCKET_DIR" | sed 's,/,%2F,g')/postgres/gt" gt pq)
  else g="no GNU parallel with DBD::Pg"; fi
  report PostgreSQL "$s" "$g"
else
  echo "note: PostgreSQL not measured: $PG_FIXTURE_WHY"
fi
