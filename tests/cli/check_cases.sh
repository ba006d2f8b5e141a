# Non-differential cases: run against sluice only (`par`), each asserting by itself.  They cover what a
# comparison cannot: concurrency, streaming, memory, signals and process groups, and the places where
# sluice's contract is stricter than GNU parallel 20221122 (bad input, -d hex escapes), or where GNU's
# behaviour is version dependent (hard-coded here, with the reason beside it).

# ---------------------------------------------------------------- helpers for this file

# max_concurrency JOBS PAR_OPTIONS...: runs JOBS jobs that each stay 2 s, prints the largest number of
# them that were running at the same time (each job counts the live jobs while it runs).
max_concurrency() {
  local jobs=$1
  shift
  rm -rf live counts && mkdir live && : >counts
  seq "$jobs" | par "$@" 'touch live/{}; sleep 2; ls live | wc -l >>counts; rm live/{}'
  sort -n counts | tail -n 1
}

# elapsed_since START: whole seconds since START (a value of $SECONDS).
elapsed_since() { echo $((SECONDS - $1)); }

# live_markers MARKER: processes whose command line starts with ./MARKER (the job's own sleeps, not the
# shells or the runner, which merely mention it).
live_markers() { pgrep -f -- "^\./$1 " | wc -l; }
no_live_markers() { [ "$(live_markers "$1")" = 0 ]; }

# ---------------------------------------------------------------- inputs
check_delim_hex_escape() {
  # GNU parallel 20221122 documents hex escapes for -d but passes "\x3b" through literally (a bug in
  # that release), so this is checked against the documented behaviour rather than compared.
  local got
  got=$(printf 'a;b;c' | par -d '\x3b' -k echo)
  expect_eq "-d '\\x3b' splits on ';'" "$got" "$(printf 'a\nb\nc')"
}

check_argument_input_in_bounded_memory() {
  # 200 MiB of input lines waiting behind two slow jobs: the runner reads only a bounded amount ahead. Its peak
  # RSS is compared with the same runner's on two lines of input, so that the figure is the read-ahead, not the
  # binary's own size (a sanitizer build starts at about 50 MiB).
  local m line base hwm
  m=$(marker_sleep)
  line=$(printf 'x%.0s' $(seq 1000))
  peak_rss_after_4s() {
    local pid rss
    "$P" -j2 "./$m 30; : {}" >/dev/null 2>&1 &
    pid=$!
    sleep 4
    rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    wait_until 10 no_live_markers "$m" || pkill -f -- "^\./$m "
    echo "$rss"
  }
  base=$(printf 'a\nb\n' | peak_rss_after_4s)
  hwm=$(yes "$line" | head -c 209715200 | peak_rss_after_4s)
  [ -n "$base" ] && [ -n "$hwm" ] || fail "the runner was not running after 4 s"
  [ $((hwm - base)) -le $((16 * 1024)) ] ||
    fail "peak RSS ${hwm} KiB with 200 MiB of input waiting, ${base} KiB with 2 lines (limit: 16 MiB more)"
}

check_huge_input_streams() {
  # 300000 arguments through -X: every one arrives, in order, exactly once
  local got want
  got=$(seq 300000 | par -j2 -k -X echo | tr ' ' '\n' | md5sum)
  want=$(seq 300000 | md5sum)
  expect_eq "all arguments, in order" "$got" "$want"
}

check_input_is_streamed() {
  # the second line is only written once the first job has run: a runner that reads all of its input
  # before starting jobs never gets there (the writer gives up after 20 s and the case fails)
  { echo a; wait_until 20 test -e ran_a || echo "job a did not run before the input ended" >&2; echo b; } |
    par -j2 'touch ran_{}' 2>err
  [ -s err ] && fail "$(cat err)"
  [ -e ran_b ] || fail "job b did not run"
}

# --bin with -X and fewer values than slots: the slots past the values get an empty {} (GNU parallel
# 20221122's output; it is not a diff case because GNU hangs on this command about one run in thirty)
check_bin_with_x_fills_the_slots_past_the_values() {
  local got
  got=$(seq 6 | par --pipe --bin 1 -j6 -k -X 'echo job {}-{#}; cat' ::: a b c | tr '\n' ' ')
  expect_eq "--bin -X output" "$got" "job a-1 1 job b-2 2 job c-3 3 job -4 4 job -5 5 job -6 6 "
}

check_stops_when_output_is_closed() {
  local start took first
  start=$SECONDS
  first=$(seq 100000 | timeout 20 "$P" -j2 -k echo 2>/dev/null | head -n 1)
  took=$(elapsed_since "$start")
  expect_eq "first line" "$first" 1
  [ "$took" -le 15 ] || fail "the runner kept going ${took} s after its output was closed"
}

check_jobs_inherit_only_std_fds() {
  # a job sees stdin, stdout, stderr and what the caller gave the runner past them (as GNU's jobs do), nothing
  # of the runner's own: the same descriptors as a program the caller starts itself (ls adds its own one)
  local direct shell want want_shell
  want=$(ls /proc/self/fd | tr '\n' ' ')
  want_shell=$(sh -c 'ls /proc/self/fd; true' | tr '\n' ' ')
  direct=$(par -N0 ls /proc/self/fd ::: 1 | tr '\n' ' ')
  shell=$(par -N0 'ls /proc/self/fd; true' ::: 1 | tr '\n' ' ')
  expect_eq "fds of a directly executed job" "$direct" "$want"
  expect_eq "fds of a job run by the shell" "$shell" "$want_shell"
  want=$( (ls /proc/self/fd | tr '\n' ' ') 7>/dev/null)
  direct=$( (par -N0 ls /proc/self/fd ::: 1 | tr '\n' ' ') 7>/dev/null)
  expect_eq "fds of a job given a descriptor 7" "$direct" "$want"
}

# pipe_peak_rss MIB: peak RSS (KiB) of the runner while MIB MiB of lines go through --pipe -j2 to jobs
# that are a little slow to start reading (so an unbounded reader would run ahead of them); checks
# that every byte arrived.  ASan keeps freed blocks in a quarantine (256 MiB by default), which would
# look like growth, so it gets a small one for this measurement.
pipe_peak_rss() {
  local size=$(($1 * 1048576))
  yes 0123456789abcdef | head -c "$size" |
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 \
      /usr/bin/time -v -o time.txt "$P" --pipe -j2 'sleep 0.02; wc -c' | awk '{n += $1} END {print n}' >total
  expect_eq "bytes through --pipe" "$(cat total)" "$size"
  local rss_kb
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' time.txt)
  [ -n "$rss_kb" ] || fail "no RSS measured: $(cat time.txt)"
  echo "$rss_kb"
}

check_pipe_memory_is_flat_as_input_grows() {
  # --pipe streams: 256 MiB of input needs no more memory than 32 MiB does (a bounded number of
  # blocks in flight), give or take 24 MiB of noise
  local small big
  small=$(pipe_peak_rss 32) || exit 1
  big=$(pipe_peak_rss 256) || exit 1
  [ "$big" -le $((small + 24 * 1024)) ] ||
    fail "peak RSS grows with the input: ${small} KiB for 32 MiB, ${big} KiB for 256 MiB"
}

# ---------------------------------------------------------------- job slots
check_j_limits_concurrency() {
  local got
  got=$(max_concurrency 6 -j2)
  expect_eq "most jobs running at once with -j2" "$got" 2
}

check_j1_runs_one_at_a_time() {
  local got
  got=$(max_concurrency 3 -j1)
  expect_eq "most jobs running at once with -j1" "$got" 1
}

check_j_default_is_cpu_threads() {
  local n got
  n=$(nproc)
  got=$(max_concurrency $((2 * n + 1)))
  expect_eq "most jobs running at once by default (nproc=$n)" "$got" "$n"
}

check_j_percent_of_threads() {
  local n want got
  n=$(nproc)
  want=$((n * 150 / 100))
  [ "$want" -lt 1 ] && want=1
  got=$(max_concurrency $((2 * want + 1)) -j 150%)
  expect_eq "most jobs running at once with -j 150% (nproc=$n)" "$got" "$want"
}

check_j_plus_adds_to_threads() {
  local n got
  n=$(nproc)
  got=$(max_concurrency $((2 * n + 3)) -j +1)
  expect_eq "most jobs running at once with -j +1 (nproc=$n)" "$got" $((n + 1))
}

check_j_zero_runs_all_at_once() {
  local got
  got=$(max_concurrency 8 -j0)
  expect_eq "most jobs running at once with -j0 and 8 jobs" "$got" 8
}

check_slot_numbers_unique_and_reused() {
  # {%} is 1..j, never shared by two running jobs, and freed slots are reused
  seq 12 | par -j3 'mkdir slot{%} || echo "slot {%} taken twice"; echo {%} >>slots; sleep 0.3; rmdir slot{%}' >out 2>&1
  [ -s out ] && fail "$(cat out)"
  local bad
  bad=$(grep -cvE '^[123]$' slots)
  expect_eq "slot values outside 1..3" "$bad" 0
  expect_eq "slots recorded" "$(wc -l <slots)" 12
}

check_job_is_process_group_leader() {
  local got
  got=$(par -j2 -k 'test "$(ps -o pgid= -p $$ | tr -d " ")" = "$$" && echo leader {}' ::: a b)
  expect_eq "each job leads its own process group" "$got" "$(printf 'leader a\nleader b')"
}

check_jobs_file_read_again_as_jobs_end() {
  # -j FILE: the file is read again as each job ends (the tutorial's "echo 0 > my_jobs" while running).
  # One at a time for two seconds, then four at a time: about 4 s, where reading it once takes 10.
  echo 1 >procfile
  local start=$SECONDS
  (sleep 1.5; echo 4 >procfile) &
  seq 10 | par -N0 -j procfile sleep 1
  wait
  local took
  took=$(elapsed_since "$start")
  [ "$took" -le 7 ] || fail "took $took s: the file was not read again"
}

# ---------------------------------------------------------------- output
check_group_never_interleaves() {
  # four jobs writing 200000 lines each, as fast as they can, at the same time
  par -j4 'yes {} | head -n 200000' ::: A B C D >out
  local runs
  runs=$(uniq -c out | awk '{print $1 " " $2}' | sort -k2)
  expect_eq "runs of identical lines" "$runs" "$(printf '200000 A\n200000 B\n200000 C\n200000 D')"
}

check_group_large_output_low_memory() {
  # 256 MiB from one job while a second job writes a line: all bytes arrive, the small job's line is
  # wholly before or after the big block, the runner's peak RSS stays low (spooled, not buffered in
  # memory), and the spool files are gone afterwards.
  local size=268435456
  # Under AddressSanitizer freed chunks wait in its quarantine (256 MiB by default) and count as resident;
  # a small quarantine keeps the figure about the runner, not the sanitizer.
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8" /usr/bin/time -v -o time.txt "$P" -j2 {} ::: "head -c $size /dev/zero" 'echo small' |
    perl -e 'binmode STDIN; my ($n, $head, $tail) = (0, "", "");
             while (my $r = read(STDIN, my $buf, 1 << 20)) {
               $head .= substr($buf, 0, 6 - length $head) if length $head < 6;
               $tail = substr($tail . $buf, -6); $n += $r }
             $head =~ s/\0/0/g; $tail =~ s/\0/0/g; $head =~ s/\n/N/g; $tail =~ s/\n/N/g;
             print "$n $head $tail\n"' >summary
  local n head tail
  read -r n head tail <summary
  expect_eq "bytes of output" "$n" $((size + 6))
  if [ "$head" != smallN ] && [ "$tail" != smallN ]; then
    fail "the small job's line is not wholly before or after the big block (head [$head], tail [$tail])"
  fi
  local rss_kb
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' time.txt)
  [ -n "$rss_kb" ] || fail "no RSS measured: $(cat time.txt)"
  if [ "$rss_kb" -gt $((96 * 1024)) ]; then
    fail "peak RSS ${rss_kb} KiB for a 256 MiB grouped output (limit 96 MiB)"
  fi
  local left
  left=$(find "$TMPDIR" -mindepth 1 | head -n 5)
  [ -z "$left" ] || fail "temp files left behind: $left"
}

check_group_spools_to_unlinked_file_in_tmpdir() {
  # past the in-memory threshold a grouped job's output goes to a temp file under $TMPDIR that is
  # already unlinked while the job runs (so nothing is left behind, whatever happens)
  "$P" 'head -c 8388608 /dev/zero; i=0; while [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo {}' ::: x >out &
  local pid=$!
  spooled() { ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "-> $TMPDIR/.*(deleted)"; }
  local ok=1
  wait_until 20 spooled || ok=0
  local fds
  fds=$(ls -l "/proc/$pid/fd" 2>/dev/null | sed 's/.* -> //' | tr '\n' ' ')
  touch go
  wait "$pid"
  [ "$ok" = 1 ] || fail "no unlinked spool file under $TMPDIR while the job ran (runner's fds: $fds)"
  expect_eq "bytes of output" "$(wc -c <out)" $((8388608 + 2))
  local left
  left=$(find "$TMPDIR" -mindepth 1 | head -n 5)
  [ -z "$left" ] || fail "temp files left behind: $left"
}

check_line_buffer_streams_before_job_ends() {
  # the job prints a line, then waits for the test to see it: only a streaming runner lets it finish
  "$P" --line-buffer 'echo started {}; i=0; while [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo done {}' ::: x >out &
  local pid=$!
  if ! wait_until 20 grep -q '^started x$' out; then
    touch go
    wait "$pid"
    fail "--line-buffer: the first line did not appear while the job was running"
  fi
  touch go
  wait "$pid"
  expect_eq "exit status" "$?" 0
  expect_eq "output" "$(cat out)" "$(printf 'started x\ndone x')"
}

check_line_buffer_keeps_lines_whole() {
  local line_a line_b
  line_a=$(printf 'A%.0s' $(seq 200))
  line_b=$(printf 'B%.0s' $(seq 200))
  par -j2 --line-buffer 'yes {} | head -n 50000' ::: "$line_a" "$line_b" >out
  local bad
  bad=$(grep -cvxE "($line_a|$line_b)" out)
  expect_eq "broken lines" "$bad" 0
  expect_eq "lines" "$(wc -l <out)" 100000
}

check_ungroup_passes_partial_lines_through() {
  "$P" -u 'printf started; i=0; while [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo " done {}"' ::: x >out &
  local pid=$!
  if ! wait_until 20 grep -q '^started' out; then
    touch go
    wait "$pid"
    fail "-u: output did not appear while the job was running"
  fi
  touch go
  wait "$pid"
  expect_eq "output" "$(cat out)" "started done x"
}

check_bar_is_live_on_a_terminal() {
  # under script(1) stderr is a terminal: the bar redraws itself (carriage returns) up to 100%, and
  # the jobs' output still arrives
  command -v script >/dev/null || { echo "script(1) not installed: nothing to check"; return 0; }
  timeout 30 script -qec "'$P' -j1 --bar 'sleep 0.2; echo job-{}' ::: a b c" /dev/null </dev/null >tty.txt
  local crs
  # the terminal turns each newline into CR LF; a redraw is a CR not followed by LF
  crs=$(perl -0777 -ne 'my $n = () = /\r(?!\n)/g; print $n' tty.txt)
  [ "$crs" -ge 2 ] || fail "no live redraws on the terminal: $(cat -A tty.txt | head -n 5)"
  grep -q '100%' tty.txt || fail "the bar never reached 100%: $(cat -A tty.txt | head -n 5)"
  for j in a b c; do grep -q "job-$j" tty.txt || fail "job $j's output is missing"; done
}

check_keep_order_many_jobs() {
  local got want
  got=$(seq 500 | par -k -j4 'echo {}; [ $(({} % 7)) = 0 ] && sleep 0.0{}' | md5sum)
  want=$(seq 500 | md5sum)
  expect_eq "-k output order for 500 jobs" "$got" "$want"
}

# ---------------------------------------------------------------- timeouts, halting, term-seq
check_timeout_kills_process_group() {
  local m start rc
  m=$(marker_sleep)
  start=$SECONDS
  par --timeout 1 "./$m 30 & ./$m 31; echo never {}" ::: x >out 2>err
  rc=$?
  local took
  took=$(elapsed_since "$start")
  expect_eq "exit status (one job failed)" "$rc" 1
  [ "$took" -le 20 ] || fail "--timeout 1 took ${took} s"
  grep -q never out && fail "the job ran to the end"
  wait_until 5 no_live_markers "$m" || fail "$(live_markers "$m") process(es) of the timed-out job survive (grandchild not killed)"
}

check_timeout_minute_suffix_not_early() {
  local start rc took
  start=$(date +%s%N)
  par --timeout 0.03m 'sleep 30; echo {}' ::: x >/dev/null 2>&1
  rc=$?
  took=$((($(date +%s%N) - start) / 1000000))
  expect_eq "exit status" "$rc" 1
  [ "$took" -ge 1700 ] || fail "--timeout 0.03m (1.8 s) killed after only ${took} ms"
  [ "$took" -le 20000 ] || fail "--timeout 0.03m took ${took} ms"
}

check_timeout_percent_of_median() {
  local start rc took
  start=$SECONDS
  par -j1 --timeout 300% 'sleep {}' ::: 0.3 0.3 0.3 0.3 0.3 30 >/dev/null 2>&1
  rc=$?
  took=$(elapsed_since "$start")
  expect_eq "exit status (the long job timed out)" "$rc" 1
  [ "$took" -le 20 ] || fail "--timeout 300% of a 0.3 s median let a job run ${took} s"
}

check_timeout_joblog_exitval() {
  # a timed-out 'sleep 3; true' is logged as Exitval -1, Signal 15 (the same in 20221122 and later)
  par --joblog jl --timeout 1 'sleep 3; true {}' ::: x >/dev/null 2>&1
  expect_eq "Exitval/Signal of a timed-out job" "$(awk -F'\t' 'NR == 2 {print $7 "/" $8}' jl)" "-1/15"
}

check_joblog_sigkill_columns() {
  # a job killed by SIGKILL: Signal is 9; Exitval is 0 in GNU 20221122 and 137 from 20221222 on
  # (release note: "same exit code as bash"), so either is accepted.
  par --joblog jl 'kill -9 $$; echo {}' ::: x >/dev/null 2>&1
  local cols
  cols=$(awk -F'\t' 'NR == 2 {print $7 "/" $8}' jl)
  case $cols in
    0/9 | 137/9) ;;
    *) fail "Exitval/Signal of a SIGKILLed job: got $cols, want 0/9 or 137/9" ;;
  esac
}

check_term_seq_escalates_to_kill() {
  # a job that ignores TERM still dies: the sequence ends in KILL
  local start took
  start=$SECONDS
  par --timeout 1 --term-seq TERM,200,TERM,100,KILL,25 'trap "" TERM; sleep 30; echo {}' ::: x >/dev/null 2>&1
  took=$(elapsed_since "$start")
  [ "$took" -le 15 ] || fail "a TERM-ignoring job outlived the term sequence (${took} s)"
}

check_halt_now_kills_running_jobs() {
  local m start rc took
  m=$(marker_sleep)
  start=$SECONDS
  par -j2 --halt now,fail=1 {} ::: "./$m 30; touch finished" 'sleep 0.5; exit 3' >/dev/null 2>&1
  rc=$?
  took=$(elapsed_since "$start")
  expect_eq "exit status (the failing job's own)" "$rc" 3
  [ "$took" -le 15 ] || fail "--halt now took ${took} s"
  [ -e finished ] && fail "the running job was not killed"
  wait_until 5 no_live_markers "$m" || fail "the running job's process survives --halt now"
}

check_halt_soon_lets_running_jobs_finish() {
  par -j2 --halt soon,fail=1 {} ::: 'sleep 2; echo finished' 'sleep 0.3; exit 4' 'touch started' >out 2>/dev/null
  local rc=$?
  expect_eq "exit status (the failing job's own)" "$rc" 4
  grep -q finished out || fail "--halt soon killed a running job"
  [ -e started ] && fail "--halt soon started a new job"
  return 0
}

# ---------------------------------------------------------------- signals
# The runner is started as "$P" ... & (not through the par function) so $! is the runner itself.

# signal_stops_everything SIG: jobs (each with a grandchild) are running; SIG to the runner must end
# every one of their processes, promptly, with GNU's exit status 255 (measured on 20221122), and
# leave no temp files.
signal_stops_everything() {
  local sig=$1 m pid rc start
  m=$(marker_sleep)
  set -m # a background job of a non-interactive shell would otherwise ignore SIGINT
  "$P" -j3 "./$m 60 & ./$m {}; wait" ::: 61 62 63 >out 2>err &
  pid=$!
  set +m
  if ! wait_until 20 eval '[ "$(live_markers "$m")" -ge 6 ]'; then
    kill -KILL "$pid"
    pkill -f -- "^\./$m "
    fail "the jobs did not start (saw $(live_markers "$m") of 6 processes)"
  fi
  start=$SECONDS
  kill "-$sig" "$pid"
  wait "$pid"
  rc=$?
  [ "$(elapsed_since "$start")" -le 15 ] || fail "the runner took $(elapsed_since "$start") s to stop after SIG$sig"
  if ! wait_until 5 no_live_markers "$m"; then
    local n
    n=$(live_markers "$m")
    pkill -f -- "^\./$m "
    fail "$n job process(es) left running after SIG$sig"
  fi
  expect_eq "exit status after SIG$sig" "$rc" 255
  local left
  left=$(find "$TMPDIR" -mindepth 1 | head -n 5)
  [ -z "$left" ] || fail "temp files left behind after SIG$sig: $left"
}
check_sigint_leaves_no_orphans() { signal_stops_everything INT; }
check_sigterm_leaves_no_orphans() { signal_stops_everything TERM; }

check_sighup_lets_running_jobs_finish() {
  # GNU 20221122: the running job finishes and is printed, no new job starts, exit status 0
  local pid rc
  set -m
  "$P" -j1 'touch running_{}; sleep 2; echo end {}' ::: a b c >out 2>err &
  pid=$!
  set +m
  wait_until 20 test -e running_a || { kill -KILL "$pid"; fail "the first job did not start"; }
  kill -HUP "$pid"
  wait "$pid"
  rc=$?
  expect_eq "output" "$(cat out)" "end a"
  [ -e running_b ] && fail "a new job started after SIGHUP"
  expect_eq "exit status after SIGHUP" "$rc" 0
}

# ---------------------------------------------------------------- bad input: one line, exit 255, no job
check_bad_unknown_option() { expect_bad_input 'no-such-option' --no-such-option touch started ::: a; }
check_bad_missing_quad_colon_file() { expect_bad_input 'no_such_file' touch started :::: no_such_file; }
check_bad_missing_a_file() { expect_bad_input no_such_file -a no_such_file touch started; }
check_bad_missing_second_file() { printf 'x\n' >ok.txt; expect_bad_input no_such_file touch started :::: ok.txt no_such_file; }
# A --plus pattern Perl cannot compile: one line with Perl's message, 255, before any job (GNU runs the jobs and
# prints Perl's message for each)
check_bad_plus_pattern() { expect_bad_input 'invalid regular expression.*Unmatched' --plus touch started '{/(/x}' ::: a; }
check_bad_j_word() { expect_bad_input 'abc|-j|jobs' -j abc touch started ::: a; }
check_bad_j_percent() { expect_bad_input 'x%|-j|jobs' -j 'x%' touch started ::: a; }
check_bad_halt_word() { expect_bad_input 'bogus|halt' --halt bogus touch started ::: a; }
check_bad_halt_when() { expect_bad_input 'later|halt' --halt later,fail=1 touch started ::: a; }
check_bad_halt_why() { expect_bad_input 'oops|halt' --halt now,oops=1 touch started ::: a; }
check_bad_halt_count() { expect_bad_input 'fail=x|halt' --halt now,fail=x touch started ::: a; }
check_bad_timeout_word() { expect_bad_input 'abc|timeout' --timeout abc touch started ::: a; }
check_bad_timeout_suffix() { expect_bad_input '5x|timeout' --timeout 5x touch started ::: a; }
check_bad_retries() { expect_bad_input 'abc|retries' --retries abc touch started ::: a; }
check_bad_unbalanced_single_quote() { expect_bad_input 'quot' "touch started; echo 'a" ::: x; }
check_bad_unbalanced_double_quote() { expect_bad_input 'quot' 'touch started; echo "a' ::: x; }
check_bad_joblog_missing_value() { expect_bad_input joblog --joblog; }

# ---------------------------------------------------------------- citation, help
check_will_cite_accepted_silently() {
  rm -rf "$HOME/.parallel"
  local got
  got=$(par --will-cite echo ok ::: a 2>err)
  expect_eq "exit status" "$?" 0
  expect_eq "output" "$got" "ok a"
  [ -s err ] && fail "stderr not empty: $(cat err)"
  return 0
}

check_citation_accepted_silently() {
  rm -rf "$HOME/.parallel"
  local got
  got=$(par --citation echo ok ::: a 2>err </dev/null)
  expect_eq "exit status" "$?" 0
  expect_eq "output" "$got" "ok a"
  [ -s err ] && fail "stderr not empty: $(cat err)"
  return 0
}

check_never_nags_without_will_cite() {
  rm -rf "$HOME/.parallel"
  local got
  got=$(par echo ok ::: a 2>err)
  expect_eq "output" "$got" "ok a"
  [ -s err ] && fail "stderr not empty (nagging?): $(cat err)"
  return 0
}

check_help_is_short_and_useful() {
  par --help >out 2>err
  expect_eq "exit status" "$?" 0
  [ -s err ] && fail "stderr not empty: $(cat err)"
  local lines
  lines=$(wc -l <out)
  [ "$lines" -ge 5 ] && [ "$lines" -le 80 ] || fail "--help has $lines lines (want 5..80)"
  for word in ':::' '::::' '-j' '-k' '--pipe'; do
    grep -qF -- "$word" out || fail "--help does not mention $word"
  done
}

# ---------------------------------------------------------------- {= perl expression =}
# GNU prints the compile error on two lines and numbers its own evals ("(eval 10)"); sluice prints Perl's
# message and the expression on one line.
check_bad_perl_does_not_compile() { expect_bad_input 'Cannot use.*\$_ = \(.*syntax error' touch started '{= $_ = ( =}' ::: a; }
check_bad_perl_in_results_name() { expect_bad_input 'Cannot use' --results 'r{= ) =}' touch started ::: a; }
# An expression that dies while a command is composed stops the run with Perl's message (GNU parallel
# dies too, with an exit status that is whatever errno held, 25 here; sluice exits 255).
check_perl_die_stops_the_run() {
  par -j1 echo '{= die "no good\n" if $_ eq "b" =}' ::: a b c >out 2>err
  expect_eq "exit status" "$?" 255
  grep -q 'no good' err || fail "Perl's message missing: $(cat err)"
}
# The interpreter is started only for a command that needs it: with PERL5OPT naming a module that does not
# exist, Perl would fail at start-up, so a plain run that succeeds never started it.
check_perl_not_started_without_expression() {
  local got
  got=$(PERL5OPT=-MSluiceNoSuchModule par -k echo '{}' '{==' ::: a 2>err)
  expect_eq "exit status" "$?" 0
  expect_eq "output" "$got" "a {=="
  [ -s err ] && fail "stderr not empty: $(cat err)"
  PERL5OPT=-MSluiceNoSuchModule par -k echo '{= $_ =}' ::: a >/dev/null 2>err && fail "Perl was not started for {= =}"
  grep -q SluiceNoSuchModule err || fail "Perl's start-up error not shown: $(cat err)"
}

# ---------------------------------------------------------------- GNU options sluice lacks
# Every long option of GNU parallel 20221122's manual is either implemented or "not implemented", never
# unknown; a few are checked for the one-line refusal.
check_gnu_options_are_never_unknown() {
  local name f started=0
  for name in arg-file arg-file-sep arg-sep bar basefile basenameextensionreplace basenamereplace bf bg bin \
      block block-size block-timeout bner bnr bt cat cf cleanup color color-failed colsep compress \
      compress-program controlmaster csv ctag ctagstring decompress-program delay delimiter dirnamereplace \
      dnr dry-run embed env eof er eta exit extensionreplace fg fifo files filter filter-hosts gnu group \
      group-by halt halt-on-error hashbang header hgrp hostgroups id interactive jl joblog jobs keep-order \
      latest-line lb limit line-buffer link ll load max-args max-chars max-line-length-allowed max-lines \
      max-procs max-replace-args memfree memsuspend minversion nice no-keep-order no-run-if-empty nonall \
      noswap null number-of-cores number-of-cpus number-of-sockets number-of-threads onall open-tty \
      output-as-files outputasfiles parens pipe pipe-part plain plus process-slot-var profile progress quote \
      recend record-env recstart regexp remove-rec-sep removerecsep replace res results resume resume-failed \
      retries retry-failed return round round-robin rpl rrs rsync-opts semaphore semaphore-name \
      semaphore-timeout seqreplace session shard shebang shebang-wrap shell-completion shell-quote \
      show-limits shuf silent skip-first-line slf slotreplace spreadstdin sql sql-and-worker sql-master \
      sql-worker ssh ssh-delay sshlogin sshloginfile st tag tagstring tee template term-seq tf timeout tmpdir \
      tmpl tmux tmuxpane total total-jobs transfer transferfile trc trim tty ungroup \
      use-cores-instead-of-threads use-cpus-instead-of-cores use-sockets-instead-of-threads verbose wait wd \
      workdir xapply xargs argsep colour blocktimeout; do
    # Sixteen at a time: some options take their value as seconds to wait, and a sanitizer build is slow.
    timeout 10 "$P" "--$name=1" true ::: a >/dev/null 2>"err.$name" </dev/null &
    (( ++started % 16 )) || wait
  done
  for name in M S o p x; do
    timeout 10 "$P" "-$name" true ::: a >/dev/null 2>"err.-$name" </dev/null &
  done
  wait
  for f in err.*; do
    if grep -qi 'unknown option' "$f"; then fail "--${f#err.}: $(cat "$f")"; fi
  done
  return 0
}
# -p asks on the terminal ("command ?..." on stderr) and runs only what is answered y/Y. A pseudo-terminal from
# script(1) stands for the user; GNU parallel prints exactly this too.
check_interactive_asks_on_the_terminal() {
  command -v script >/dev/null || { echo "SKIP: script(1) is not installed"; exit 77; }
  local got
  got=$(printf 'y\nn\nYes\n' | timeout 20 script -qc "'$P' -p -j1 -k echo ::: 1 2 3" /dev/null | tr -d '\r')
  # (where a job's output falls between the prompts depends on timing, in GNU parallel too)
  expect_eq "prompts" "$(grep -o 'echo [0-9] ?\.\.\.' <<<"$got" | tr '\n' ' ')" "echo 1 ?... echo 2 ?... echo 3 ?... "
  expect_eq "answers and output" "$(sed 's/echo [0-9] ?\.\.\.//g' <<<"$got" | grep . | tr '\n' ' ')" "y n Yes 1 3 "
}
check_bad_interactive_without_a_terminal() {
  # (GNU parallel 20221122 reports this as an internal bug, bugid interactive-tty, after asking once)
  expect_bad_input 'interactive.*terminal' -p touch started ::: a
}
# -o: with a terminal, the job's stdin is the terminal, not sluice's stdin
check_open_tty_gives_the_job_the_terminal() {
  command -v script >/dev/null || { echo "SKIP: script(1) is not installed"; exit 77; }
  local got
  got=$(timeout 20 script -qc "'$P' -o 'test -t 0 && echo terminal; true {}' ::: 1 </dev/null" /dev/null </dev/null | tr -d '\r')
  expect_eq "stdin of a job under -o" "$got" "terminal"
}
# --shell-completion: the code completes sluice's own options (bash), and zsh gets an _arguments function
check_shell_completion_completes_options() {
  local got
  got=$(bash -c 'source <("$1" --shell-completion bash); COMP_WORDS=(sluice --retr); COMP_CWORD=1; _comp_sluice; echo "${COMPREPLY[@]}"' _ "$P")
  expect_eq "bash completion of --retr" "$got" "--retries --retry-failed --retryfailed"
  SHELL=/bin/bash par --shell-completion auto | grep -q '^complete -F _comp_sluice sluice;' || fail "auto under bash"
  par --shell-completion zsh | grep -q '^compdef _comp_sluice sluice;.*--retry-failed' || fail "zsh completion"
}
# --limit: an exit status of 2 kills the youngest running job (by --term-seq), which is then logged as failed
check_limit_two_kills_the_youngest() {
  par -j2 --joblog jl --limit 'test -e go && exit 2; exit 0' 'if [ {} = 2 ]; then touch go; fi; sleep {}' ::: 3 2 \
    >/dev/null 2>&1
  expect_eq "killed job's Exitval" "$(awk -F'\t' '$1 == 2 {print $7}' jl)" "-1"
}
check_bad_limit_empty() { expect_bad_input 'limit needs a command' --limit '' touch started ::: a; }
check_bad_limit_io_without_percent() { expect_bad_input 'limit io needs' --limit 'io' touch started ::: a; }
check_bad_limit_io_not_a_number() { expect_bad_input 'limit io' --limit 'io x' touch started ::: a; }
# --limit "io N": disks under N % busy let jobs start (100 % always does; GNU needs iostat for it, so not diffed)
check_limit_io_lets_jobs_start() {
  out=$(par -k --limit 'io 100' echo ::: a b)
  expect_eq limit-io "$out" "$(printf 'a\nb')"
}
check_bad_memsuspend_size() { expect_bad_input 'memsuspend' --memsuspend abc touch started ::: a; }
# --latest-line where stdout is not a terminal (GNU's rows there, without its timing-dependent redraws): a row is
# "\r", the tag and the job's last line with tabs as spaces, then " " (">" when cut at 80 columns) and a newline;
# a job's row is drawn when a line completes and twice as it ends; what follows its last newline comes last, as is
check_latest_line_rows_without_a_terminal() {
  local got want
  got=$(par -j1 --ll --tag 'printf "a{}\tx\n"; printf c{}' ::: 1 2 | od -c)
  want=$(for k in 1 2; do for n in 1 2 3; do printf '\r%s       a%s      x \n' $k $k; done; printf '%s\tc%s' $k $k; done | od -c)
  expect_eq latest-line-rows "$got" "$want"
  got=$(par -j1 --ll 'printf "%090d\n" 0' ::: 1 | head -c 82 | od -c)
  want=$(printf '\r%079d>\n' 0 | od -c)
  expect_eq latest-line-cut "$got" "$want"
}
# --tmux with -S is not built (the window would have to wrap the ssh command): refused as such
check_bad_tmux_with_remote_hosts() { expect_bad_input 'tmux.*not implemented' --tmux -S localhost touch started ::: a; }
# -D/--debug CATEGORY traces the run on stderr (init: the settings; run: each job's start and end; all: both),
# leaves the output alone, and traces nothing for a category sluice does not have
check_debug_traces_on_stderr() {
  par -D all -k echo ::: a b >out.txt 2>err.txt || fail "-D all exited $?"
  expect_eq debug-output "$(cat out.txt)" "$(printf 'a\nb')"
  expect_eq debug-init "$(grep -c '^sluice: debug init: job slots ' err.txt)" 1
  expect_eq debug-starts "$(grep -c '^sluice: debug run: job [12] attempt 1 starts in slot [12]: echo [ab]$' err.txt)" 2
  expect_eq debug-ends "$(grep -c '^sluice: debug run: job [12] attempt 1: exit 0 after ' err.txt)" 2
  par --debug=run 'exit {}' ::: 3 >out.txt 2>err.txt
  expect_eq debug-status "$?" 1
  expect_eq debug-run-only "$(grep -c 'debug init' err.txt) $(grep -c ': exit 3 after ' err.txt)" "0 1"
  par -D filter echo ::: a >out.txt 2>err.txt || fail "-D filter exited $?"
  expect_eq debug-other-category "$(cat out.txt) $(wc -c <err.txt)" "a 0"
}
# Run under the name parallel (a drop-in link), every message says "parallel: " as GNU's do, also the lines of
# a several-line message and the suggestion to rerun; under any other name, "sluice: "
check_messages_under_the_invoked_name() {
  mkdir bin && ln -s "$P" bin/parallel && ln -s "$P" bin/other
  bin/parallel --tollef echo 2>err.txt
  expect_eq name-status "$?" 255
  expect_eq name-usage "$(cat err.txt)" "$(printf 'parallel: Error: --tollef has been retired.\nparallel: Error: Remove --tollef or use --gnu to override --tollef.')"
  bin/parallel --timeout 0.1 sleep ::: 5 2>err.txt
  expect_eq name-run "$(cat err.txt)" "$(printf 'parallel: Warning: This job was killed because it timed out:\nparallel: Warning: sleep 5')"
  printf 'a\0b\n' | bin/parallel echo >/dev/null 2>err.txt
  expect_eq name-input "$(grep -c '^parallel: Warning: ' err.txt) $(grep -c sluice err.txt)" "3 0"
  bin/other --timeout 0.1 sleep ::: 5 2>err.txt
  expect_eq name-other "$(cut -d: -f1 err.txt | sort -u)" sluice
}
# --embed prints GNU's Perl source into a script; sluice has none, and says so (and why) in one line
check_bad_embed_cannot_apply() { expect_bad_input 'embed cannot apply.*compiled' --embed touch started ::: a; }
# Bad values of the options GNU parallel 20221122 reports differently (a usage screen, or an error from its
# sharding helper once the jobs run): sluice says it in one line, before any job starts.
check_bad_template_without_name() { expect_bad_input 'tmpl.*requires a value' --tmpl only.tmpl touch started ::: a; }
check_bad_shard_perl_does_not_compile() { expect_bad_input 'Perl expression.*x\(' --pipe --shard '1 x(' touch started; }
check_bad_bin_column_not_in_header() { expect_bad_input "Column 'nosuch'" --pipe --bin nosuch --colsep , touch started; }
check_bad_parens_too_short() { expect_bad_input 'parens' --parens x touch started ::: a; }
check_bad_regexp_invalid() { expect_bad_input 'regexp.*invalid' --pipe --regexp --recend '(' touch started; }
# --shard/--bin feed every job at once, each line to one job only: nothing lost, nothing twice, big input.
check_shard_and_bin_deal_every_line_once() {
  seq 200000 | sed 's/$/,x/' >in.csv
  for how in '--shard 1' '--bin 1' "--shard '1 \$_ %= 7'"; do
    eval "par --pipe $how -j3 --block 100k 'cut -d, -f1'" <in.csv | sort -n | md5sum >got
    cut -d, -f1 in.csv | md5sum >want
    cmp -s got want || fail "$how lost or repeated lines"
  done
  # --bin: the value modulo the job count picks the job; a negative value as Perl's %, 0 the last job
  out=$(printf '%s\n' -1 0 1 2 3 | par --pipe --bin 1 -j3 -k 'echo "{#}: $(tr "\n" " ")"')
  expect_eq bin "$out" "$(printf '1: 1 \n2: -1 2 \n3: 0 3 ')"
}
# --template with {%}: the job slot, which depends on timing in GNU parallel
check_template_job_slot() {
  printf '{%%} {#}\n' >s.tmpl
  out=$(par -j1 -k --tmpl s.tmpl=s{#}.t 'cat s{#}.t' ::: a b)
  expect_eq template "$out" "$(printf '1 1\n1 2')"
}
check_bad_sshlogin_malformed() { expect_bad_input "bad sshlogin 'host:port'" -S host:port touch started ::: a; }
check_bad_j_fraction() { expect_bad_input '1\.5' -j 1.5 touch started ::: a; }

check_job_variables_set_per_job_without_a_shell() {
  # PARALLEL_SEQ and PARALLEL_JOBSLOT are rewritten in the runner's own environment before each spawn (no
  # copy per job): each job, also one started without a shell, must see its own values, and the runner's pid.
  local got want pids
  # (the input is appended as printenv's second name, which is not set: only PARALLEL_SEQ's value is printed)
  got=$(seq 40 | par -j3 -k printenv PARALLEL_SEQ | tr '\n' ' ')
  want=$(seq 40 | tr '\n' ' ')
  expect_eq "PARALLEL_SEQ of 40 jobs run without a shell" "$got" "$want"
  got=$(seq 40 | par -j3 -k 'echo $PARALLEL_SEQ-{#}' | awk -F- '$1 != $2' | wc -l)
  expect_eq "PARALLEL_SEQ equals {#} through the shell" "$got" 0
  got=$(seq 40 | par -j3 'echo $PARALLEL_JOBSLOT' | awk '{print $1}' | sort -u | tr '\n' ' ')
  expect_eq "PARALLEL_JOBSLOT stays within -j3" "$got" "1 2 3 "
  pids=$(seq 20 | par -j2 printenv PARALLEL_PID | sort -u | wc -l)
  expect_eq "one PARALLEL_PID for every job" "$pids" 1
}

# ---------------------------------------------------------------- --tmpdir, --nice, --shuf (sluice only)
# GNU parallel 20221122 dies with a Perl error (status 2 or 20, depending on the path) when --tmpdir is not a
# directory; sluice refuses it up front, as bad input.
check_bad_tmpdir_not_a_directory() {
  expect_bad_input "Tmpdir '.*/missing' is not writable" --tmpdir "$PWD/missing" touch started ::: a
  : >plainfile; expect_bad_input "is not writable" --tmpdir plainfile touch started ::: a
}
check_tmpdir_holds_spilled_output() {
  # Output past the in-memory spool goes to a file in --tmpdir, which must be usable.
  mkdir spool; par --tmpdir spool -j1 'head -c 400000 /dev/zero; echo {}' ::: a >out || fail "exit $?"
  expect_eq "bytes of output" "$(wc -c <out)" 400002
}
check_shuf_orders_differ() {
  # --shuf: over a few runs of 50 jobs, the order is not always the input's.
  local i same=0
  for i in 1 2 3; do
    [ "$(seq 50 | par --shuf -j1 echo | tr '\n' ' ')" = "$(seq 50 | tr '\n' ' ')" ] && same=$((same + 1))
  done
  [ "$same" -lt 3 ] || fail "--shuf kept the input order three times"
  expect_eq "jobs" "$(seq 50 | par --shuf -j2 echo | sort -n | tr '\n' ' ')" "$(seq 50 | tr '\n' ' ')"
}
# GNU parallel 20221122 cannot find a --group-by column name in a header split at another --colsep ("Column
# 'v' , not found in header"), and with --header and --group-by N it heads each block with its internal
# record separator in place of the header's first field: sluice gives the header as read.
check_pipe_group_by_name_with_colsep_and_header() {
  local got
  got=$(printf 'k,v\nx,1\ny,1\nz,2\n' | par --pipe --group-by v --colsep , -N1 -k 'echo JOB; cat' | tr '\n' ' ')
  expect_eq "--group-by v --colsep ," "$got" "JOB k,v x,1 y,1 JOB k,v z,2 "
  got=$(printf 'k\tv\nx\t1\ny\t2\n' | par --pipe --header : --group-by 2 -N1 -k 'echo JOB; cat' | tr '\n\t' ' :')
  expect_eq "--header : --group-by 2" "$got" "JOB k:v x:1 JOB k:v y:2 "
  printf 'k\tv\nx\t1\n' | par --pipe --group-by nosuch cat >out 2>err; expect_eq "status" "$?" 255
  grep -q "column 'nosuch' not found" err || fail "no error for a missing column: $(cat err)"
}
# ---------------------------------------------------------------- --resume after a kill, --semaphore, --color/--ctag/--files/--compress, --delay/--load/--memfree
# --semaphore -j2: never more than two holders at once, two at a time when five wait, and all of them run.
check_semaphore_counts_slots() {
  mkdir running
  for n in 1 2 3 4 5; do
    par --semaphore --id c -j2 "touch running/$n; ls running | wc -l >>counts; sleep 0.4; rm running/$n"
  done
  par --semaphore --id c --wait
  expect_eq "jobs run" "$(wc -l <counts | tr -d ' ')" 5
  expect_eq "most at once" "$(sort -n counts | tail -1)" 2
}
# A holder killed with SIGKILL leaves no stale slot: a waiter goes on at once, without polling for it.
check_semaphore_holder_death_frees_slot() {
  local m; m=$(marker_sleep)
  par --semaphore --id d --fg "./$m 30" & local holder=$!
  wait_until 20 pgrep -f -- "^\./$m " >/dev/null || fail "the holder's job never started"
  par --semaphore --id d --fg 'touch got_it' & local waiter=$!
  sleep 0.5
  [ -e got_it ] && fail "a second holder got the -j1 semaphore"
  local t0; t0=$(date +%s%N)
  kill -KILL "$holder"; pkill -f -- "^\./$m " 2>/dev/null
  wait_until 10 test -e got_it || fail "the slot of a killed holder was never freed"
  local took=$((($(date +%s%N) - t0) / 1000000))
  [ "$took" -le 2000 ] || fail "the waiter took ${took} ms to notice the dead holder"
  wait "$waiter"; expect_eq "waiter status" "$?" 0
}
check_semaphore_timeout_steals_or_gives_up() {
  par --semaphore --id t 'sleep 3'
  local t0; t0=$(date +%s%N)
  par --semaphore --id t --st 1 --fg echo stolen >out 2>err; expect_eq "status" "$?" 0
  local took=$((($(date +%s%N) - t0) / 1000000))
  expect_eq "output" "$(cat out)" stolen
  grep -q 'Semaphore timed out. Stealing the semaphore.' err || fail "no stealing warning: $(cat err)"
  [ "$took" -ge 900 ] && [ "$took" -le 2500 ] || fail "--st 1 stole after ${took} ms"
  par --semaphore --id t --st -1 --fg touch started >out 2>err; expect_eq "status" "$?" 1
  [ -e started ] && fail "--st -1 ran the command"
  grep -q 'Semaphore timed out. Exiting.' err || fail "no exiting warning: $(cat err)"
  par --semaphore --id t --wait
}
# `sem` is sluice under another name (a link, as installed): a semaphore, in the background by default.
check_sem_entry_point() {
  ln -s "$P" sem
  local t0; t0=$(date +%s%N)
  ./sem 'sleep 1; touch done'; expect_eq "status" "$?" 0
  local took=$((($(date +%s%N) - t0) / 1000000))
  [ "$took" -le 800 ] || fail "sem waited ${took} ms for its background command"
  [ -e done ] && fail "the command ran in the foreground"
  ./sem --wait
  [ -e done ] || fail "sem --wait returned before the command ended"
  expect_eq "fg" "$(./sem --fg echo x)" x
}
# --delay 0.01m: 0.6 s between starts, whatever -j allows; the first job starts at once
check_delay_spaces_starts() {
  par -j3 --delay 0.01m 'date +%s%N >start_{}' ::: 1 2 3 || fail "run failed"
  local a b c; a=$(cat start_1); b=$(cat start_2); c=$(cat start_3)
  local first; first=$(printf '%s\n' "$a" "$b" "$c" | sort -n | head -1)
  local last; last=$(printf '%s\n' "$a" "$b" "$c" | sort -n | tail -1)
  local span=$(((last - first) / 1000000))
  [ "$span" -ge 1150 ] || fail "three starts with --delay 0.6 s spanned only ${span} ms"
}
# --load 0.0 (GNU: the load is never below it) and --memfree more than any machine has: no job starts
check_load_and_memfree_hold_jobs_back() {
  timeout 2 "$P" --load 0.0 touch started ::: a; expect_eq "--load 0.0 status" "$?" 124
  [ -e started ] && fail "--load 0.0 started a job"
  timeout 2 "$P" --memfree 100T touch started ::: a; expect_eq "--memfree status" "$?" 124
  [ -e started ] && fail "--memfree 100T started a job"
  return 0
}
check_bad_load() { expect_bad_input 'load' --load foo touch started ::: a; }
check_bad_delay() { expect_bad_input 'delay' --delay 1x touch started ::: a; }
check_bad_memfree() { expect_bad_input 'memfree' --memfree lots touch started ::: a; }
# --pipe-part without a file: GNU parallel 20221122 silently runs nothing (exit 0); sluice says what is missing
check_bad_pipe_part_without_file() { expect_bad_input 'pipe-part.*file' --pipe-part touch started; }

# --round-robin: a job's Send in the joblog counts every block dealt to it (GNU's too; which job gets which
# block is timing, so only the total is fixed)
check_round_robin_joblog_send_counts_every_block() {
  seq 1000 | "$P" --joblog jl --block 1111 -j2 --pipe --round-robin cat >/dev/null
  expect_eq "Send summed over the jobs" "$(awk -F'\t' 'NR > 1 { s += $5 } END { print s }' jl)" "$(seq 1000 | wc -c)"
}
# --round-robin whose jobs stop reading early: the rest of the input is left unread and sluice ends with the
# jobs' status (GNU parallel 20221122 dies of SIGPIPE, status 141, losing the other job's output).
check_round_robin_jobs_that_stop_reading() {
  local out
  out=$(seq 300000 | timeout 30 "$P" --pipe --round-robin -j2 --block 10k 'head -1' | sort -n; echo "rc=${PIPESTATUS[1]}")
  expect_eq "first line of each job, status" "$out" "$(printf '1\n2222\nrc=0')"
}
