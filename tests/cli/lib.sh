# Helpers shared by the cases of the sluice command-line suite (sourced by cli_test.sh).
# A case runs with its own empty directory as the working directory and `par` = the runner under test.

# The runner under test: GNU parallel or sluice, depending on the side being run.
par() { "$P" "$@"; }

# Marks a diff_* case whose stderr is not compared, because GNU parallel's messages are its own wording
# (the driver looks for this word in the case body; calling it does nothing).
ignore_stderr() { :; }

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
  if [ "$2" != "$3" ]; then
    fail "$1: got [$2], want [$3]"
  fi
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s, returns 1 if it never succeeded.
wait_until() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.1
  done
}

# A sleep whose command line carries a marker unique to this run, so pgrep finds exactly the processes
# this case started (and none of a concurrently running case).  Prints the marker; ./MARKER is the program.
marker_sleep() {
  local marker=sluicecli_${BASHPID}_${RANDOM}${RANDOM}
  ln -s "$(command -v sleep)" "./$marker"
  echo "$marker"
}

# count_marker MARKER: how many live processes carry the marker.
count_marker() {
  pgrep -f -- "$1" | wc -l
}

# Replaces the two time columns of a joblog (Starttime, JobRuntime) by T and R after checking their
# format: Starttime is epoch seconds with three decimals, JobRuntime is %10.3f.  A malformed value is
# kept, marked BAD, so the comparison shows it.
normalize_joblog() {
  perl -ne '
    chomp; my @f = split /\t/, $_, -1;
    if ($. == 1) { print join("|", @f), "\n"; next }
    $f[2] = $f[2] =~ /^\d{9,}\.\d{3}$/ ? "T" : "BAD-START[$f[2]]";
    $f[3] = (length($f[3]) >= 10 && $f[3] =~ /^ *\d+\.\d{3}$/) ? "R" : "BAD-RUNTIME[$f[3]]";
    print join("|", @f), "\n";' "$1"
}

# The same for --results x.csv / x.tsv (separator given): record lines start with the Seq number.
normalize_table() {
  local sep=$1 file=$2
  SEP=$sep perl -ne '
    my $s = $ENV{SEP};
    if (/^\d+\Q$s\E/) {
      my @f = split /\Q$s\E/, $_, -1;
      $f[2] = $f[2] =~ /^\d{9,}\.\d{3}$/ ? "T" : "BAD-START[$f[2]]";
      $f[3] = $f[3] =~ /^ *\d+\.\d{3}$/ ? "R" : "BAD-RUNTIME[$f[3]]";
      $_ = join($s, @f);
    }
    print;' "$file"
}

# The same for --results x.json: one object per line.
normalize_json() {
  perl -pe 's/"Starttime": *\d+\.\d+/"Starttime": T/; s/"JobRuntime": *\d+\.\d+/"JobRuntime": R/' "$1"
}

# expect_bad_input PATTERN ARGS...: runs `par ARGS...`, which must be rejected before any job starts:
# exit status 255, nothing on stdout, exactly one line on stderr that names the problem (matches the
# extended regex PATTERN, ignoring case: the option or the bad value), and no ./started marker (every
# job of a bad-input case would create it).
expect_bad_input() {
  local word=$1
  shift
  par "$@" >out.txt 2>err.txt </dev/null
  local rc=$?
  local lines
  lines=$(wc -l <err.txt)
  if [ "$rc" != 255 ] || [ -s out.txt ] || [ "$lines" != 1 ] || ! grep -qiE -- "$word" err.txt || [ -e started ]; then
    echo "arguments: $*" >&2
    echo "exit status: $rc (want 255)" >&2
    echo "stdout:" >&2; cat out.txt >&2
    echo "stderr ($lines lines, want 1 matching /$word/):" >&2; cat err.txt >&2
    [ -e started ] && echo "a job was started" >&2
    fail "bad input not rejected cleanly"
  fi
  rm -f out.txt err.txt
}
