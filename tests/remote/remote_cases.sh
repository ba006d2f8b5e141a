# The cases of the -S suite (run by remote_test.sh): diff_* against GNU parallel, check_* sluice alone.
# `hosts N` on a case's first line says how many hosts it needs (sl1..slN, reached with --ssh $SSH_WRAP).

# --- the same as GNU parallel -S ---------------------------------------------------------------------------
diff_output_keep_order() {
  hosts 2
  par --ssh "$SSH_WRAP" -S sl1,sl2 -k 'echo out {}; echo err {} >&2' ::: a b c d e
  echo "rc=$?"
}

diff_exit_status_and_joblog_host() {
  hosts 1
  par --ssh "$SSH_WRAP" -S sl1 --joblog jl 'exit {}' ::: 0 3 4
  echo "rc=$?"
  joblog_cols jl
}

diff_joblog_host_column_two_hosts() {
  hosts 2
  # One slot per host and a job that takes a while: each host gets exactly one job.
  par --ssh "$SSH_WRAP" -S 1/sl1,1/root@sl2:22 --joblog jl 'sleep 1; echo {}' ::: x y | sort
  awk -F'\t' 'NR > 1 {print $2}' jl | sort
}

diff_tag() {
  hosts 2
  par --ssh "$SSH_WRAP" -S sl1,sl2 --tag -k 'echo {} $((1+{}))' ::: 1 2 3
}

diff_nonall_tag() {
  hosts 2
  par --ssh "$SSH_WRAP" -S sl1,sl2 --nonall --tag 'echo hi; exit 0' | sort
  echo "rc=$?"
}

diff_onall() {
  hosts 2
  par --ssh "$SSH_WRAP" -S sl1,sl2 --onall 'echo {}' ::: a b | sort
  echo "rc=$?"
}

diff_timeout() {
  hosts 1
  par --ssh "$SSH_WRAP" -S 2/sl1 --timeout 2 'sleep {}; echo {}' ::: 10 0
  echo "rc=$?"
}

diff_halt_now_fail() {
  hosts 1
  par --ssh "$SSH_WRAP" -S 1/sl1 --halt now,fail=1 'echo {}; exit {}' ::: 0 2 0 0
  echo "rc=$?"
}

diff_retries() {
  hosts 2
  # Fails on the first try, succeeds on the second (a marker file in this shared directory).
  par --ssh "$SSH_WRAP" -S sl1,sl2 --retries 2 "cd $PWD && if [ -e m{} ]; then echo ok {}; else touch m{}; exit 1; fi" ::: 1 2 | sort
  echo "rc=$?"
}

diff_env() {
  hosts 1
  FOO='a b$c' par --ssh "$SSH_WRAP" -S sl1 --env FOO 'echo "[$FOO]" {}' ::: 1
}

diff_transfer_return_cleanup() {
  hosts 1
  mkdir -p in
  printf 'one\n' >in/f1
  printf 'two\n' >in/f2
  par --ssh "$SSH_WRAP" -S sl1 --workdir /tmp/sluice-remote-wd-$$ --trc {}.out 'tr a-z A-Z <{} >{}.out' ::: in/f1 in/f2
  echo "rc=$?"
  cat in/f1.out in/f2.out
  # --cleanup removed both the sent and the returned files on the host
  find /tmp/sluice-remote-wd-$$ -type f | sort
  rm -rf /tmp/sluice-remote-wd-$$
}

diff_workdir_three_dots() {
  hosts 1
  printf 'x\n' >data
  par --ssh "$SSH_WRAP" -S sl1 --workdir ... --transferfile {} 'cat {}; pwd | grep -c .parallel/tmp' ::: data
  echo "rc=$?"
}

diff_hostgroups() {
  hosts 3
  # Each argument's @groups pick its hosts: g2 is only sl2, g3 only sl3, a host is also the group of its
  # name, "g2+g3" allows either, and no group any host (the job prints which set it landed in, not the host
  # GNU happens to pick).
  par --ssh "$SSH_WRAP" --hostgroups -S @g1/1/sl1,@g1+g2/1/sl2 -S @g3/1/sl3 -k \
    'echo {} $PARALLEL_SSHHOST | sed "s/^d sl[23]\$/d ok/; s/^e sl[123]\$/e ok/"' ::: a@g2 b@g3 c@sl1 d@g2+g3 e
  echo "rc=$?"
  # without --hostgroups an argument's '@' is plain text; `-S @g1` keeps only g1's hosts
  par --ssh "$SSH_WRAP" -S @g1/sl1,@g2/sl2 -S @g1 -k 'echo {} $PARALLEL_SSHHOST' ::: a@g2 b
  echo "rc=$?"
  par --ssh "$SSH_WRAP" --hgrp -S @g1/sl1,@g2/sl2 -k 'echo {} $PARALLEL_SSHHOST $PARALLEL_ARGHOSTGROUPS' ::: a@g1 b@g2+zz
  echo "rc=$?"
}

diff_hostgroups_later_job_goes_first() {
  hosts 2
  # One slot in g1: its three jobs run one after another on sl1 while g2's job runs at once on sl2.
  par --ssh "$SSH_WRAP" --hgrp -S @g1/1/sl1,@g2/1/sl2 --joblog jl -k 'sleep 0.5; echo {} $PARALLEL_SSHHOST' \
    ::: a@g1 b@g1 c@g1 d@g2
  echo "rc=$?"
  awk -F'\t' 'NR > 1 {print $1, $2}' jl | sort -n
  # d started before c ended: it did not wait behind g1's queue
  awk -F'\t' 'NR > 1 {printf "%d %.3f %.3f\n", $1, $3, $3 + $4}' jl | sort -n |
    awk '{s[$1] = $2; e[$1] = $3} END {print (s[4] < e[3]) ? "d went ahead" : "d waited"}'
}

diff_hostgroups_unknown_group_is_a_host() {
  hosts 2
  # A group no sshlogin has is taken as an sshlogin (GNU: "Adding hostgroups"): sl2 is logged in to and
  # used; zz cannot be reached, so its job fails there (one failure).
  par --ssh "$SSH_WRAP" --hgrp -S @g1/sl1 -k 'echo {} $PARALLEL_SSHHOST' ::: a@g1 b@sl2 c@zz
  echo "rc=$?"
  par --ssh "$SSH_WRAP" -S @g1/sl1 -S @zz 'echo {}' ::: a
  echo "rc=$?"
}

diff_tabs_and_spaces_in_sshlogins() {
  hosts 2
  local t
  t=$(printf '\t')
  # An ssh command's words may be separated by tabs (GNU's shell splits them), in -S, in --ssh and in a
  # --sshloginfile; the login follows the last space; blank space around an sshlogin is dropped.
  par -S "$SSH_WRAP$t-p 22 sl1" 'echo {} $PARALLEL_SSHLOGIN' ::: a | sed "s|$SSH_WRAP|WRAP|"
  echo "rc=$?"
  par --ssh "$SSH_WRAP$t-p${t}22" -S sl1 'echo {}' ::: b
  echo "rc=$?"
  printf '1/sl1%s\n%s# a comment\n\n1/%s%s-p 22 sl2\n' "$t" "$t" "$SSH_WRAP" "$t" >slf
  # (one slot each and two jobs that take a second: each host runs one)
  par --ssh "$SSH_WRAP" --slf slf 'sleep 1; true {}; echo $PARALLEL_SSHHOST' ::: c d | sort
  echo "rc=$?"
}

diff_pipe() {
  hosts 2
  # --pipe -S: each block is the remote job's stdin (the joblog's Send and Receive count its bytes).
  seq 10 | par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe -N3 -k 'wc -l; echo $PARALLEL_SEQ'
  echo "rc=$?"
  seq 100000 | par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe --block 100k -k md5sum | md5sum
  seq 5 | par --ssh "$SSH_WRAP" -S 1/sl1 --pipe -N2 --joblog jl 'cat; exit 3'
  echo "rc=$?"
  awk -F'\t' 'NR > 1 {print $1, $2, $5, $6, $7}' jl | sort -n
  # a job that does not read its block
  seq 3 | par --ssh "$SSH_WRAP" -S sl1 --pipe -N1 -k 'echo x'
  echo "rc=$?"
}

diff_pipe_part() {
  hosts 2
  seq 1000 >in
  par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe-part -a in --block 1k -k 'wc -l' | awk '{s += $1} END {print s}'
  echo "rc=$?"
}

diff_pipe_cat_fifo() {
  hosts 2
  # --cat / --fifo with -S: {} is a temp file / named pipe on the host that holds the block ($PARALLEL_TMP).
  seq 10 | par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe -N3 --cat -k 'wc -l <{}; test -f {} && echo file; echo $PARALLEL_SEQ'
  echo "rc=$?"
  seq 10 | par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe -N3 --fifo -k 'wc -l <{}; test -p {} && echo fifo; echo $PARALLEL_SEQ'
  echo "rc=$?"
  # the job's status, --tag (GNU tags with the variable's name) and the joblog's Send/Receive
  seq 4 | par --ssh "$SSH_WRAP" -S 1/sl1 --cat -N2 --tag -k --joblog jl 'cat {}; exit 2'
  echo "rc=$?"
  awk -F'\t' 'NR > 1 {print $1, $2, $5, $6, $7}' jl | sort -n
  # this machine and a host in one run: each job's {} is where it runs
  seq 1000 >in
  par --ssh "$SSH_WRAP" -S 1/:,1/sl1 --pipe-part -a in --block 1k --cat 'wc -l <{}' | awk '{s += $1} END {print s}'
  par --ssh "$SSH_WRAP" -S 1/:,1/sl1 --pipe-part -a in --block 1k --fifo 'wc -l <{}' | awk '{s += $1} END {print s}'
}

diff_pipe_round_robin_tee() {
  hosts 2
  # --round-robin -S: a job per slot of every host (4), the blocks dealt among them; how many each gets is
  # timing, so only the total and the number of jobs are compared.
  seq 100000 | par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --pipe --round-robin --block 10k wc -l | awk '{s += $1} END {print s, NR}'
  echo "rc=${PIPESTATUS[1]}"
  # --tee -S: every job gets all of the input, wherever it runs; -j0 by default, so one host may take all.
  seq 100000 | par --ssh "$SSH_WRAP" -S sl1,sl2 --pipe --tee -k 'grep {} | wc -l' ::: 1 2 3
  echo "rc=$?"
  seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1 --pipe --tee --tag -k 'wc -l; exit {}' ::: 1 2 3
  echo "rc=$?"
  # more --tee jobs than slots: refused before any job
  seq 10 | par --ssh "$SSH_WRAP" -S sl1,sl2 -j1 --pipe --tee 'wc -l' ::: 1 2 3
  echo "rc=$?"
}

# --shard / --bin -S: one job for every slot of every host (5 here), not -j's; each line to one of them. The
# wanted outputs are GNU parallel 20221122's on these hosts: not a diff case, because GNU's sharder hangs
# now and then (about one run in 25 to 30). Which job a --shard key goes to is the hash's, so those lines
# are counted.
check_pipe_shard_a_job_per_slot_of_every_host() {
  hosts 2
  local got
  got=$(seq 100 | par --ssh "$SSH_WRAP" -S 2/sl1,3/sl2 --pipe --shard 1 'wc -l' | awk '{s += $1} END {print s, NR}')
  expect_eq "--shard -S: lines and jobs" "$got" "100 5"
  got=$(seq 100 | par --ssh "$SSH_WRAP" -S 2/sl1,3/sl2 --pipe --bin 1 -k 'sort -n | head -1' | sort -n | tr '\n' ' ')
  expect_eq "--bin -S: each job's first line" "$got" "1 2 3 4 5 "
  # each line to the job its value picks (GNU's --bin line hung here once in a CI run: 60 s, GNU's side only)
  got=$(seq 100 | par --ssh "$SSH_WRAP" -S 2/sl1 -j2 --pipe --bin 1 'sort -n | awk "NR == 1 {f = \$1} END {print NR, f}"' |
        sort -k2n | tr '\n' ' ')
  expect_eq "--bin -S, 2 slots: lines and first value per job" "$got" "50 1 50 2 "
  # more arguments than slots over all hosts: refused before any job
  seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1,1/sl2 --pipe --bin 1 'echo {}; wc -l' ::: a b c >out 2>err
  expect_eq "--bin -S, 3 arguments for 2 slots: exit status" "$?" 255
  [ -s out ] && fail "a job ran: $(cat out)"
  got=$(seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1,2/sl2 --pipe --bin 1 -k 'echo {}; wc -l' ::: a b c | tr '\n' ' ')
  expect_eq "--bin -S with arguments" "$got" "a 4 b 3 c 3 "
  # with --cat / --fifo: {} is the job's file or named pipe on its host
  got=$(seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1,2/sl2 --pipe --bin 1 -k --cat 'sort -n {} | head -1' | tr '\n' ' ')
  expect_eq "--bin --cat -S" "$got" "1 2 3 "
  got=$(seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1,2/sl2 --pipe --bin 1 -k --fifo 'sort -n < {} | head -1' | tr '\n' ' ')
  expect_eq "--bin --fifo -S" "$got" "1 2 3 "
  got=$(seq 10 | par --ssh "$SSH_WRAP" -S 1/sl1,1/sl2 --pipe --tee -k --cat 'wc -l < {}' ::: a b | tr '\n' ' ')
  expect_eq "--tee --cat -S" "$got" "10 10 "
}

diff_rsync_opts() {
  hosts 1
  printf 'x\n' >data
  chmod 644 data
  # --rsync-opts replaces the transfer's options: here they set the mode of what arrives.
  par --ssh "$SSH_WRAP" -S sl1 --workdir /tmp/sluice-ro-$$ --rsync-opts '-rlR --chmod=F600' --transferfile {} \
    'stat -c %a {}; cat {}' ::: data
  echo "rc=$?"
  PARALLEL_RSYNC_OPTS='-rlR --chmod=F640' par --ssh "$SSH_WRAP" -S sl1 --workdir /tmp/sluice-ro2-$$ --trc {} \
    'stat -c %a {}' ::: data
  echo "rc=$?"
  rm -rf /tmp/sluice-ro-$$ /tmp/sluice-ro2-$$
}

# The runner's name as RUNNER, and --filter-hosts' "Removed h1 h2." with its hosts sorted (GNU names them in
# its hash order, which changes from run to run).
removed_line() {
  local l h
  while IFS= read -r l; do
    l=$(printf '%s\n' "$l" | sed 's/^[a-z]*: /RUNNER: /')
    case $l in
      'RUNNER: Warning: Removed '*.)
        h=${l#RUNNER: Warning: Removed }
        echo "RUNNER: Warning: Removed $(printf '%s\n' ${h%.} | sort | paste -sd' ')."
        ;;
      *) printf '%s\n' "$l" ;;
    esac
  done
}

diff_filter_hosts_sshd_stopped() {
  hosts 3
  # sl3's sshd is stopped (its namespace is up, the port refuses), sl7 does not exist: --filter-hosts drops
  # both with one warning each before any job runs; with no host left the run cannot start.
  local pid
  pid=$(host_sshd_pid 3)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  par --ssh "$SSH_WRAP" --filter-hosts -S sl1,2/root@sl3:22 -k 'echo {} $PARALLEL_SSHHOST' ::: a b c 2>&1 | removed_line
  echo "rc=${PIPESTATUS[0]}"
  par --ssh "$SSH_WRAP" --filter-hosts -S sl3,sl2,sl7 --nonall --tag 'echo hi' 2>&1 | removed_line
  echo "rc=${PIPESTATUS[0]}"
  par --ssh "$SSH_WRAP" --filter-hosts -S sl3 'touch ran{}' ::: 1 2 2>&1 | removed_line
  echo "rc=${PIPESTATUS[0]}"
  ls ran* 2>/dev/null
}

# --- beyond GNU (sluice only) -------------------------------------------------------------------------------
check_dead_host_requeued() {
  hosts 2
  # sl2 loses its network while it runs two jobs: they are logged there (255), run again on sl1, and the
  # run completes with every output and status 0.
  (sleep 3; ip -n "$(host_ns 2)" link set lo down) &
  local start=$SECONDS
  # 12 jobs on 4 slots: every slot is busy across the 3rd second, whichever host the scheduler fills first.
  par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --joblog jl 'sleep 2; echo done {}' ::: $(seq 12) >out 2>err
  local rc=$?
  wait
  ip -n "$(host_ns 2)" link set lo up
  expect_eq "exit status" "$rc" 0
  expect_eq "outputs" "$(sort -k2n out | tr '\n' ' ')" "$(seq 12 | sed 's/^/done /' | tr '\n' ' ')"
  grep -q 'host sl2 stopped answering' err || fail "no report of the dead host: $(cat err)"
  expect_eq "reports" "$(grep -c 'stopped answering' err)" 1
  local lost
  lost=$(awk -F'\t' 'NR > 1 && $2 == "sl2" && $7 == 255 && $8 == 0' jl | wc -l)
  [ "$lost" -ge 1 ] || fail "no lost attempt logged for sl2: $(cat jl)"
  expect_eq "successful rows" "$(awk -F'\t' 'NR > 1 && $7 == 0' jl | wc -l)" 12
  [ $((SECONDS - start)) -lt 40 ] || fail "took $((SECONDS - start)) s"
}

check_pipe_dead_host_requeued() {
  hosts 2
  # --pipe: a job requeued from a host that lost its network gets its block again on the other host.
  (sleep 3; ip -n "$(host_ns 2)" link set lo down) &
  seq 12 | par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --pipe -N1 'sleep 2; cat' >out 2>err
  local rc=$?
  wait
  ip -n "$(host_ns 2)" link set lo up
  expect_eq "exit status" "$rc" 0
  expect_eq "outputs" "$(sort -n out | tr '\n' ' ')" "$(seq 12 | tr '\n' ' ')"
  grep -q 'host sl2 stopped answering' err || fail "no report of the dead host: $(cat err)"
}

check_frozen_sshd_requeued() {
  hosts 2
  # Every sshd process of sl2 (listener and sessions) stopped: the same as a host that hangs.
  (sleep 3; for p in $(ip netns pids "$(host_ns 2)"); do
     case "$(cat /proc/$p/comm 2>/dev/null)" in sshd) kill -STOP "$p" ;; esac; done) &
  par --ssh "$SSH_WRAP" -S 1/sl1,1/sl2 --joblog jl 'sleep 2; echo done {}' ::: 1 2 3 4 >out 2>err
  local rc=$?
  wait
  for p in $(ip netns pids "$(host_ns 2)"); do kill -CONT "$p" 2>/dev/null; done
  expect_eq "exit status" "$rc" 0
  expect_eq "outputs" "$(sort out | tr '\n' ' ')" "done 1 done 2 done 3 done 4 "
  expect_eq "successful rows" "$(awk -F'\t' 'NR > 1 && $7 == 0' jl | wc -l)" 4
}

# Starts 4 long jobs on 2 hosts in the background (RUNNER_PID), marked with $1, and waits until all run.
start_four_long_jobs() {
  hosts 2
  "$P" --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 "sleep 300; echo $1 {}" ::: 1 2 3 4 &
  RUNNER_PID=$!
  local i=0
  until { [ "$(count_marker "echo $1")" -ge 4 ] && [ "$(pgrep -f "^sleep 300" | wc -l)" -ge 4 ]; } || [ $i -ge 150 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  [ "$(count_marker "echo $1")" -ge 4 ] || fail "the jobs did not start"
}

# Waits up to $2 tenths of a second for the jobs marked $1 to be gone; prints how many are left.
jobs_left_after() {
  local i=0
  while [ "$(count_marker "echo $1")" -gt 0 ] && [ $i -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
  count_marker "echo $1"
}

check_pipe_cat_fifo_removed_on_host() {
  hosts 1
  # The block's file and pipe are gone from the host after each job, whatever its status; a --fifo job
  # that never opens its pipe still ends (GNU's waits for ever).
  seq 6 | par --ssh "$SSH_WRAP" -S 2/sl1 --pipe -N2 --cat 'cat {} >/dev/null; echo $PARALLEL_TMP; exit 1' >names
  expect_eq "exit status" "$?" 3
  seq 6 | par --ssh "$SSH_WRAP" -S 2/sl1 --pipe -N2 --fifo 'cat {} >/dev/null; echo $PARALLEL_TMP' >>names
  expect_eq "exit status" "$?" 0
  expect_eq "names" "$(sort -u names | wc -l)" 6
  local n
  while read -r n; do
    [ -n "$n" ] && [ ! -e "$n" ] && [ ! -e "${n%.fifo}" ] || fail "left on the host: $n"
  done <names
  seq 4 | timeout 20 "$P" --ssh "$SSH_WRAP" -S 1/sl1 --pipe -N2 --fifo 'echo never opens' >out
  expect_eq "exit status (a pipe never opened)" "$?" 0
  expect_eq "output" "$(cat out)" "never opens
never opens"
}

# Runs 4 --pipe jobs (with the options given) on 2 hosts that read their input and then sleep, SIGKILLs the
# runner, and fails unless the jobs are gone from the hosts within 10 s.
pipe_jobs_end_with_runner() {
  local mark=sluiceremote$$x$RANDOM
  seq 4 | "$P" --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --pipe "$@" "cat >/dev/null; sleep 300; echo $mark" &
  RUNNER_PID=$!
  local i=0
  until [ "$(count_marker "echo $mark")" -ge 4 ] || [ $i -ge 150 ]; do sleep 0.1; i=$((i + 1)); done
  [ "$(count_marker "echo $mark")" -ge 4 ] || fail "the jobs did not start"
  kill -KILL "$RUNNER_PID"
  expect_eq "remote jobs left 10 s after SIGKILL of the runner" "$(jobs_left_after "$mark" 100)" 0
}

check_pipe_no_orphan_after_sigkill() {
  hosts 2
  # --pipe: the block is read from the connection first; the job is still killed when the connection ends.
  pipe_jobs_end_with_runner -N1
}

check_round_robin_no_orphan_after_sigkill() {
  hosts 2
  # --round-robin -S: the jobs' stdin is a stream of blocks, ended before the runner is killed; the jobs are
  # still killed when the connection ends.
  pipe_jobs_end_with_runner --round-robin -N1
}

check_no_orphan_after_sigkill() {
  local mark=sluiceremote$$x$RANDOM
  start_four_long_jobs "$mark"
  kill -KILL "$RUNNER_PID"
  expect_eq "remote jobs left 10 s after SIGKILL of the runner" "$(jobs_left_after "$mark" 100)" 0
}

check_no_orphan_after_sigint() {
  local mark=sluiceremote$$y$RANDOM
  start_four_long_jobs "$mark"
  kill -INT "$RUNNER_PID"
  wait "$RUNNER_PID"
  expect_eq "exit status after SIGINT" "$?" 255
  expect_eq "remote jobs left after SIGINT" "$(jobs_left_after "$mark" 50)" 0
}

check_pacing_30_slots() {
  hosts 1
  # 30 slots on a host whose sshd allows 10 unauthenticated logins and 10 sessions per connection (its
  # defaults): multiplexing (a master per 8 slots) and paced logins keep every job within both.
  sshd_maxstartups 10
  par --ssh "$SSH_WRAP" -S 30/sl1 'sleep 0.5; echo {}' ::: $(seq 90) >out 2>err
  expect_eq "exit status" "$?" 0
  expect_eq "outputs" "$(sort -n out | tr '\n' ' ')" "$(seq 90 | tr '\n' ' ')"
  # (The host's login shell may say things of its own; nothing from ssh or sshd may appear.)
  ! grep -iE 'ssh|session|refused|mux|connection|closed' err || fail "stderr: $(head -5 err)"
}

check_bad_sshlogins() {
  hosts 1
  local bad
  for bad in 'sl1:0' 'sl1:99999' 'sl1:' '0/sl1' 'x@' '@/sl1' '@g+/sl1' '@g/' "ssh -p 22$(printf '\t')sl1" 'a:b@sl1' 'sl1:notaport' 'sl1/x' '-oProxy=x'; do
    par --ssh "$SSH_WRAP" -S "$bad" 'touch ran' ::: 1 >out 2>err
    expect_eq "exit status for -S '$bad'" "$?" 255
    expect_eq "stderr lines for -S '$bad'" "$(wc -l <err)" 1
    grep -q "bad sshlogin" err || fail "-S '$bad': $(cat err)"
    [ ! -e ran ] || fail "a job ran with -S '$bad'"
  done
}

check_unreachable_host_reported_once() {
  hosts 1
  # sl2 has no namespace at all: the wrapper's (ssh's) own message is shown once; sl1 runs everything.
  par --ssh "$SSH_WRAP" -S sl1,sl2 'echo {}' ::: 1 2 3 4 5 6 >out 2>err
  expect_eq "exit status" "$?" 0
  expect_eq "outputs" "$(sort out | tr '\n' ' ')" "1 2 3 4 5 6 "
  expect_eq "reports" "$(grep -c 'sl2' err)" 1
  grep -q 'Cannot open network namespace' err || fail "not the wrapper's own message: $(cat err)"
}

check_all_hosts_unreachable() {
  hosts 1
  ip -n "$(host_ns 1)" link set lo down
  par --ssh "$SSH_WRAP" -S sl1,sl7 'touch ran' ::: 1 2 >out 2>err
  local rc=$?
  ip -n "$(host_ns 1)" link set lo up
  expect_eq "exit status" "$rc" 255
  [ ! -e ran ] || fail "a job ran"
  grep -q 'no host could be reached' err || fail "$(cat err)"
}

check_no_perl_needed_remotely() {
  hosts 1
  # Everything sent to the host runs with a PATH holding only sh, setsid and sleep: no perl, no
  # coreutils beyond those. The --ssh wrapper puts that PATH in front of the remote command line.
  local bin=$PWD/minbin t
  mkdir -p "$bin"
  for t in sh setsid sleep; do ln -sf "$(command -v "$t")" "$bin/$t"; done
  cat >minssh <<WRAP
#!/bin/bash
args=("\$@")
last=\${args[\$#-1]}
unset 'args[\$#-1]'
exec "$SSH_WRAP" "\${args[@]}" "PATH=$bin; export PATH; \$last"
WRAP
  chmod +x minssh
  par --ssh "$PWD/minssh" -S sl1 'if command -v perl >/dev/null; then echo perl; else echo no perl {}; fi' ::: 1 2 >out 2>err
  expect_eq "exit status" "$?" 0
  expect_eq "output" "$(sort out | tr '\n' ' ')" "no perl 1 no perl 2 "
}

check_sshloginfile_and_joblog_hosts() {
  hosts 3
  printf '# hosts\n1/sl1\n1/sl2, 1/sl3\n\n' >hostsfile
  par --ssh "$SSH_WRAP" --slf hostsfile --joblog jl 'sleep 1; echo {}' ::: a b c >out
  expect_eq "exit status" "$?" 0
  expect_eq "hosts used" "$(awk -F'\t' 'NR > 1 {print $2}' jl | sort | tr '\n' ' ')" "sl1 sl2 sl3 "
  mkdir -p "$HOME/.parallel"
  echo sl2 >"$HOME/.parallel/sshloginfile"
  par --ssh "$SSH_WRAP" -S .. --joblog jl2 'echo {}' ::: a >/dev/null
  expect_eq "-S .. host" "$(awk -F'\t' 'NR > 1 {print $2}' jl2)" "sl2"
}

check_sshloginfile_reread_while_running() {
  hosts 2
  # The file names sl1 at the start; sl2 replaces it while jobs run: later jobs go to sl2 only, and the
  # jobs already on sl1 finish there.
  echo 1/sl1 >hostsfile
  (sleep 3; echo 1/sl2 >hostsfile.new; mv hostsfile.new hostsfile) &
  par --ssh "$SSH_WRAP" --slf hostsfile --joblog jl 'sleep 1; echo {}' ::: $(seq 10) >out 2>err
  local rc=$?
  wait
  expect_eq "exit status" "$rc" 0
  expect_eq "outputs" "$(sort -n out | tr '\n' ' ')" "$(seq 10 | tr '\n' ' ')"
  awk -F'\t' 'NR > 1 {print $2}' jl | grep -qx sl1 || fail "no job on sl1: $(cat jl)"
  awk -F'\t' 'NR > 1 {print $2}' jl | grep -qx sl2 || fail "no job on sl2 after the file changed: $(cat jl)"
  # Once sl2 took over, nothing started on sl1 again: the Seqs on sl1 are a prefix of the run.
  local last_sl1 first_sl2
  last_sl1=$(awk -F'\t' 'NR > 1 && $2 == "sl1" {print $1}' jl | sort -n | tail -1)
  first_sl2=$(awk -F'\t' 'NR > 1 && $2 == "sl2" {print $1}' jl | sort -n | head -1)
  [ "$last_sl1" -lt "$first_sl2" ] || fail "sl1 got job $last_sl1 after sl2 started at $first_sl2"
}

diff_basefile_cleanup() {
  hosts 2
  echo base >bf.txt
  par --ssh "$SSH_WRAP" -S sl1,sl2 --workdir /tmp/sluice-bf-$$ --basefile bf.txt --cleanup -k 'cat bf.txt; echo {}' ::: 1 2 3
  echo "rc=$?"
  # --cleanup removed the basefile from the hosts at the end
  find /tmp/sluice-bf-$$ -type f | sort
  rm -rf /tmp/sluice-bf-$$
}

diff_this_machine_and_a_host() {
  hosts 1
  # ":" is this machine: one slot here, one on sl1, two jobs long enough that each place gets one.
  par --ssh "$SSH_WRAP" -S 1/:,1/sl1 --joblog jl 'sleep 2; true {}; echo $PARALLEL_SSHLOGIN' ::: 1 2 | sort
  echo "rc=$?"
  awk -F'\t' 'NR > 1 {print $2}' jl | sort
}

# --- the session path (one long-lived ssh per slot; apps/sluice/remote_session.cpp) -------------------------
# Every case above with grouped output goes this way too: check_dead_host_requeued (a host's loopback down
# mid-run) and check_frozen_sshd_requeued requeue from lost sessions, check_no_orphan_after_sigkill/sigint
# end the jobs of dropped and closed sessions, diff_timeout / diff_halt_now_fail kill through a session.
check_session_reused_and_byte_exact() {
  hosts 2
  # One slot: every job's shell has the same parent there (the slot's session loop), where an ssh per job
  # would give each its own wrapper shell.
  par --ssh "$SSH_WRAP" -S 1/sl1 'true {}; echo $PPID' ::: 1 2 3 4 5 >ppids
  expect_eq "exit status" "$?" 0
  expect_eq "jobs" "$(wc -l <ppids)" 5
  expect_eq "distinct parents (one session)" "$(sort -u ppids | wc -l)" 1
  # Output byte for byte as run here: no trailing newline, binary bytes, an empty line, a large output, and
  # stderr kept apart from stdout (--tag marks both).
  local cmd='case {} in 1) printf "no newline";; 2) printf "\000\001\377\n\n";; 3) seq 200000;; 4) echo o; echo e >&2; printf x;; esac'
  par -k --tag "$cmd" ::: 1 2 3 4 >want.out 2>want.err
  par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 -k --tag "$cmd" ::: 1 2 3 4 >got.out 2>got.err
  expect_eq "exit status" "$?" 0
  cmp want.out got.out || fail "stdout differs"
  cmp want.err got.err || fail "stderr differs: $(head -3 got.err)"
  # A job's background leftovers are waited for, as on the per-job path (sshd waits for them there).
  par --ssh "$SSH_WRAP" -S 1/sl1 '(sleep 1; echo late {}) & echo early {}' ::: 1 >got
  SLUICE_SSH_SESSIONS=0 par --ssh "$SSH_WRAP" -S 1/sl1 '(sleep 1; echo late {}) & echo early {}' ::: 1 >want
  expect_eq "leftover output" "$(cat got)" "$(cat want)"
  # Exit statuses and signal deaths, as the per-job path reports them (joblog Exitval, Host).
  par --ssh "$SSH_WRAP" -S 1/sl1 --joblog jl 'exit {}' ::: 0 1 7 255 >/dev/null
  expect_eq "exit status (failed jobs)" "$?" 3
  par --ssh "$SSH_WRAP" -S 1/sl1 --joblog jl2 'kill -{} $$' ::: KILL TERM >/dev/null
  joblog_cols jl >cols
  joblog_cols jl2 >>cols
  expect_eq "joblog" "$(cut -d'|' -f2-4 cols | tr '\n' ' ')" "sl1|0|0 sl1|1|0 sl1|7|0 sl1|255|0 sl1|137|0 sl1|143|0 "
}

check_session_timeout_leaves_no_remote_process() {
  hosts 2
  local mark=sluicesess$$x$RANDOM
  # The session is busy with the job: --timeout reaches its group through the session's own channel.
  par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --timeout 1 --joblog jl "sleep 300; echo $mark {}" ::: 1 2 3 4 >out 2>err
  expect_eq "exit status" "$?" 4
  expect_eq "remote jobs left after --timeout" "$(jobs_left_after "$mark" 30)" 0
  expect_eq "killed rows" "$(awk -F'\t' 'NR > 1 && $7 != 0' jl | wc -l)" 4
  # The sessions outlive a killed job: a later job on the same slot still runs.
  # (and the kill's last signals, sent as the killed job ended, do not reach the next one)
  par --ssh "$SSH_WRAP" -S 1/sl1 --timeout 1 --joblog jl2 'if [ {} = 1 ]; then sleep 300; else echo ok {}; fi' ::: 1 2 >out 2>err
  expect_eq "after a timeout" "$(cat out)" "ok 2"
  expect_eq "stderr after a timeout" "$(grep -v '^sluice: Warning' err)" ""
  expect_eq "second job's status" "$(awk -F'\t' 'NR > 1 && $1 == 2 {print $7}' jl2)" 0
}

check_session_halt_kills_remote_jobs() {
  hosts 2
  local mark=sluicehalt$$x$RANDOM
  # --halt now: the other hosts' running jobs are killed there too.
  par --ssh "$SSH_WRAP" -S 2/sl1,2/sl2 --halt now,fail=1 "if [ {} = 1 ]; then sleep 1; exit 3; fi; sleep 300; echo $mark" ::: 1 2 3 4 >out 2>err
  expect_eq "exit status" "$?" 3
  expect_eq "remote jobs left after --halt now" "$(jobs_left_after "$mark" 30)" 0
}

# A job that leaves processes behind: answered when its shell has exited and its output is closed (what the
# leftovers print until then is the job's), as GNU's ssh per job is; leftovers holding no output run on.
diff_background_leftovers() {
  hosts 1
  par --ssh "$SSH_WRAP" -S 1/sl1 -k --joblog jl 'echo {}; (sleep 0.5; echo late {}; echo late err {} >&2; exit 4) & exit {}' ::: 1 0 2 2>&1
  echo "rc=$?"
  joblog_cols jl
}

check_session_background_leftovers_timing() {
  hosts 1
  local mark=sluicebg$$x$RANDOM t0 t1
  # Output held by the leftover: the job ends when it does (2 s), not a poll later.
  t0=$(date +%s%N)
  par --ssh "$SSH_WRAP" -S 1/sl1 'sleep 2 & echo {}' ::: a >out
  t1=$(date +%s%N)
  expect_eq "output" "$(cat out)" a
  [ $(((t1 - t0) / 1000000)) -ge 2000 ] || fail "answered before the leftover closed the output: $(((t1 - t0) / 1000000)) ms"
  # No output held: answered at once, and the leftover still runs afterwards (GNU leaves it too).
  t0=$(date +%s%N)
  par --ssh "$SSH_WRAP" -S 1/sl1 "sh -c 'sleep 6; echo $mark' >/dev/null 2>&1 & echo {}" ::: b >out
  t1=$(date +%s%N)
  expect_eq "output" "$(cat out)" b
  [ $(((t1 - t0) / 1000000)) -lt 4500 ] || fail "waited for a leftover that holds no output: $(((t1 - t0) / 1000000)) ms"
  [ "$(count_marker "echo $mark")" -eq 1 ] || fail "the leftover was not left running"
  # The slot's next job after a leftover runs in a fresh session.
  par --ssh "$SSH_WRAP" -S 1/sl1 -j1 '(sleep 0.2; echo late {}) & echo {}' ::: 1 2 3 >out
  expect_eq "jobs after leftovers" "$(tr '\n' ' ' <out)" "1 late 1 2 late 2 3 late 3 "
}

check_slow_login_holds_nobody_back() {
  hosts 2
  # sl2's network is down: its login hangs until ssh's ConnectTimeout (10 s here). The jobs run on sl1 at
  # once meanwhile; the run ends when that login has failed (reported once).
  ip -n "$(host_ns 2)" link set lo down
  : >out
  par --ssh "$SSH_WRAP" -S sl1,sl2 'echo {}' ::: 1 2 3 >out 2>err &
  local pid=$! i=0
  while [ "$(wc -l <out)" -lt 3 ] && [ $i -lt 60 ]; do sleep 0.1; i=$((i + 1)); done
  expect_eq "outputs while sl2 still logs in" "$(sort out | tr '\n' ' ')" "1 2 3 "
  kill -0 "$pid" 2>/dev/null || fail "the run had already ended: the test proves nothing"
  wait "$pid"
  expect_eq "exit status" "$?" 0
  expect_eq "reports" "$(grep -c 'sl2' err)" 1
}

diff_env_comma_list() {
  hosts 1
  FOO=foo BAR='b a r' par --ssh "$SSH_WRAP" -S sl1 --env FOO,BAR 'echo "[$FOO] [$BAR]" {}' ::: 1
}

diff_onall_keep_order_by_host() {
  hosts 2
  # GNU runs a parallel per host: with -k the output is host by host.
  par --ssh "$SSH_WRAP" -S sl1,sl2 --onall -k --tag 'echo {}' ::: a b c
  echo "rc=$?"
}

diff_sshloginfile_from_a_pipe() {
  hosts 2
  # A file that reads only once (process substitution) still gives its hosts.
  par --ssh "$SSH_WRAP" --slf <(printf 'sl1\nsl2\n') --sshdelay 0.1 -k 'echo {}' ::: a b c
  echo "rc=$?"
}

diff_env_underscore() {
  hosts 1
  # --env _: every variable but those --record-env saw in a clean environment.
  env -i HOME="$HOME" PATH="$PATH" "$P" --record-env
  MYV='x y' MYW='$w' par --ssh "$SSH_WRAP" -S sl1 --env _ 'echo "[$MYV] [$MYW]" {}' ::: 1
  echo "rc=$?"
}
