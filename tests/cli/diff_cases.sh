# Differential cases: each body runs once under GNU parallel and once under sluice (`par`), in a fresh
# directory; stdout, exit status and stderr (unless ignore_stderr) must be identical.  Where GNU's
# output order is not deterministic the body uses -k, -j1 or sorts.  A body that inspects files
# prints them, so the comparison covers them too.

# ---------------------------------------------------------------- input sources
diff_stdin_lines() { printf 'a\nb b\n c\n' | par -k echo; }
diff_stdin_last_line_without_newline() { printf 'a\nb' | par -k echo; }
diff_stdin_blank_line_is_an_argument() { printf 'a\n\nb\n' | par -k echo x; }
diff_triple_colon() { par -k echo ::: a b c; }
diff_quad_colon_file() { printf '1\n2\n3\n' >in.txt; par -k echo :::: in.txt; }
diff_quad_colon_two_files() { printf '1\n2\n' >f1; printf 'a\nb\n' >f2; par -k echo :::: f1 f2; }
diff_arg_file_a() { printf '1\n2\n3\n' >in.txt; par -k -a in.txt echo; }
diff_arg_file_a_repeated() { printf '1\n2\n' >f1; printf 'a\nb\n' >f2; par -k -a f1 -a f2 echo; }
diff_arg_file_dash_is_stdin() { printf 'x\ny\n' | par -k echo :::: - ::: 1 2; }
diff_arg_file_a_dash_is_stdin() { printf 'x\ny\n' | par -k -a - echo; }
diff_mixed_sources() { printf 'f1\nf2\n' >in.txt; par -k echo ::: a b :::: in.txt ::: z; }
diff_cartesian_last_varies_fastest() { par -k echo ::: 1 2 ::: a b ::: X Y; }
diff_cartesian_j1_without_k() { par -j1 echo ::: 1 2 3 ::: a b; }
diff_link_wraps_shorter() { par -k --link echo ::: 1 2 3 ::: a b; }
diff_link_three_sources() { par -k --link echo ::: 1 2 3 4 ::: a b ::: X Y Z; }
diff_link_plus_then_product() { par -k echo ::: a b c :::+ 1 2 3 ::: X Y; }
diff_link_plus_file() { printf '1\n2\n3\n' >in.txt; par -k echo ::: a b c ::::+ in.txt; }
diff_null_separated() { printf 'a b\0c\nd\0e\0' | par -0 -k printf '[%s]\\n'; }
diff_null_long_option() { printf 'x\0y\0' | par --null -k echo; }
diff_delim_comma() { printf 'a,b,c' | par -d , -k echo; }
diff_delim_tab_escape() { printf 'a\tb c\td\n' | par -d '\t' -k printf '[%s]\\n'; }
diff_delim_octal_escape() { printf 'a;b;c' | par -d '\073' -k echo; }
diff_delim_newline_escape() { printf 'a\nb\n' | par -d '\n' -k echo; }
diff_colsep() { printf 'a,b\nc,d\n' | par -k --colsep , echo {2} {1}; }
diff_colsep_appends_all_columns() { printf 'a,b,c\n' | par -k --colsep , echo; }
diff_colsep_tab() { printf 'a\tb\n' | par -k --colsep '\t' echo {2}-{1}; }
diff_colsep_with_arg_file() { printf 'a:1\nb:2\n' >in.txt; par -k --colsep : -a in.txt echo {1}={2}; }
diff_skip_empty_r() { printf 'a\n\n\nb\n' | par -r -k echo x; }
diff_skip_empty_long_option() { printf '\na\n\n' | par --no-run-if-empty -k echo x; }
diff_trim_default_keeps_blanks() { printf '  a  \n' | par -k printf '[%s]\\n'; }
diff_trim_lr() { printf '  a  \n b\n' | par --trim lr -k printf '[%s]\\n'; }
diff_trim_l() { printf '  a  \n' | par --trim l -k printf '[%s]\\n'; }
diff_trim_r() { printf '  a  \n' | par --trim r -k printf '[%s]\\n'; }
diff_trim_n() { printf '  a  \n' | par --trim n -k printf '[%s]\\n'; }
diff_colsep_trims_columns() { printf ' a , b \n' | par --colsep , --trim lr -k printf '[%s]\\n' {1} {2}; }
diff_header_colon_with_colsep() { printf 'name,age\nann,3\nbob,4\n' | par -k --header : --colsep , echo {name} is {age}; }
diff_header_colon_with_triple_colon() { par -k --header : echo {fruit}-{n} ::: fruit apple pear ::: n 1 2; }
diff_header_colon_positional_still_works() { par -k --header : echo {1}-{2} ::: a x y ::: b 1; }
diff_empty_stdin_runs_nothing() { par touch started </dev/null; echo "rc=$?"; ls; }
diff_empty_file_runs_nothing() { : >empty; par touch started :::: empty; echo "rc=$?"; ls; }
diff_empty_triple_colon_runs_nothing() { par touch started :::; echo "rc=$?"; ls; }
diff_newline_in_triple_colon_value_splits() { par -k echo ::: "$(printf 'a\nb')" c; }
diff_stdin_not_given_to_jobs_with_triple_colon() { echo data | par -k 'cat; echo {}' ::: a b; }
diff_jobs_do_not_read_the_argument_stdin() { printf 'a\nb\nc\n' | par -j1 -k 'cat; echo {}'; }
diff_non_utf8_bytes_preserved() { printf 'caf\351\n\377\376\n' | par -k echo | od -An -c; }
diff_long_argument() { head -c 30000 /dev/zero | tr '\0' x | par -k 'printf %s {} | wc -c'; }

# ---------------------------------------------------------------- replacement strings
diff_rs_appended_when_absent() { par -k echo pre ::: a b; }
diff_rs_whole() { par -k echo 'x{}y' ::: a 'b c'; }
diff_rs_dot() { par -k echo {.} ::: a.b/c.d.e dir.x/file foo .hidden a/b.c/d plain.txt 'sp ace.x'; }
diff_rs_basename() { par -k echo {/} ::: a/b/c.d /abs/x.y file dir/ a//b; }
diff_rs_dirname() { par -k echo {//} ::: a/b/c.d /abs/x.y file /top; }
diff_rs_basename_no_ext() { par -k echo {/.} ::: a/b/c.d.e /abs/x.y file dir.x/file; }
diff_rs_seq() { par -j1 -k echo {#} ::: a b c d; }
diff_rs_seq_counts_products() { par -k echo {#}:{} ::: a b ::: 1 2; }
diff_rs_slot_single() { par -j1 -k echo {%} ::: a b c; }
diff_rs_positional() { par -k echo {2} {1} ::: a b ::: c d; }
diff_rs_positional_negative() { par -k echo {-1} {-2} {-3} ::: a ::: b ::: c; }
diff_rs_positional_modifiers() { par -k echo {1.} {1/} {1//} {1/.} {2} ::: d.x/f.tar.gz ::: z; }
diff_rs_negative_modifiers() { par -k echo {-1.} {-1/} {-1//} {-1/.} ::: q ::: d.x/f.tar.gz; }
diff_rs_positional_under_N() { par -k -N2 echo {2}+{1} ::: a b c d; }
diff_rs_positional_under_N_short_last() { par -k -N2 echo {1}+{2} ::: a b c; }
diff_rs_I() { par -k -I @@ echo x@@y ::: a b; }
diff_rs_I_leaves_braces_alone() { par -k -I @@ echo {} @@ ::: a; }
diff_rs_several_in_one_word() { par -k echo a{}b{.}c{/}d ::: x.y/z.w; }
diff_rs_plus_two_extensions() { par --plus -k echo {..} {+..} ::: a.tar.gz dir/b.c.d; }
diff_rs_plus_total_jobs() { par --plus -k echo {##} {#} ::: a b c; }
diff_rs_plus_keeps_basic_strings() { par --plus -k echo {} {.} {+.} {/} {+/} ::: d/f.x; }
diff_single_pass_braces_in_input_stay() { par -k echo {} ::: '{.}' '{}' 'x{/}y' '{1}' '{#}'; }
diff_single_pass_positional_value_not_rescanned() { par -k echo {1} {2} ::: '{2}' ::: b; }
diff_single_pass_I_value_not_rescanned() { par -k -I @@ echo @@ ::: '@@x'; }
diff_single_pass_stdin_value() { printf '{}\n{.}\n' | par -k echo 'x{}y'; }
# GNU inserts nothing for a positional string past the last source (the issue's "replacement string
# that cannot apply" error is not GNU's behaviour; compatibility wins here)
diff_missing_positional_inserts_nothing() { par -k echo x{3}y ::: a; }
diff_env_seq_and_slot() { par -j1 -k 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {#} {%}' ::: a b; }

# ---------------------------------------------------------------- the tutorial's and examples' commands
# --xargs fills lines as -m does but leaves the rest in the last line (no sharing out among job slots)
diff_tutorial_xargs_does_not_spread() { seq 30000 | par -k -j4 --xargs echo | awk '{print NF}'; par -j4 -k --xargs echo a{}b ::: 1 2 3 4 5; }
diff_tutorial_xargs_with_s() { seq 30000 | par -k --xargs -s 10000 echo | awk '{print NF}'; }
diff_tutorial_xargs_with_X_spreads() { par -j4 -k --xargs -X echo a{}b ::: 1 2 3 4 5 6 7; }

# a descriptor the caller opened for parallel (`3>file`) is open in every job too
diff_tutorial_jobs_inherit_callers_descriptors() { par -k -j1 'echo to3 {} >&3; echo out {}' ::: a b 3>side; cat side; }

# --timeout N%: a job started before three runtimes were known is cut once the median says so
diff_tutorial_timeout_percent_reaches_running_job() { par -k -j2 --timeout 300% 'sleep {}; echo {}' ::: 0.3 0.3 0.3 6; echo "rc=$?"; }

# --plus {Nchoose_k} / {Nuniq}: argument N, with the job filtered as by {choose_k} / {uniq}
diff_tutorial_plus_positional_choose_k() { par -k --plus echo 2{2choose_k} 1{1choose_k} ::: A B C D ::: A B C D; echo "rc=$?"; }
diff_tutorial_plus_positional_uniq() { par -k --plus echo {1uniq}+{2uniq}+{3uniq} ::: A B C ::: A B C ::: A B C; echo "rc=$?"; }

# a script run through `sem --shebang-wrap` with options: the #! line's word is split after the sem's --semaphore
diff_tutorial_sem_shebang_wrap_options() {
  ln -s "$P" sem
  printf '#!%s --shebang-wrap -u --id tutwrap --fg /bin/sh\necho run "$1"\nsleep 0.5\necho alone\n' "$PWD/sem" >s.sh
  chmod +x s.sh; ./s.sh a & ./s.sh b; wait; echo "rc=$?"
}

# --pipe --header with a repeating regex takes every header line it fits, as GNU's match over what it read
diff_tutorial_pipe_header_repeating_regex() { (echo %head1; echo %head2; seq 7) | par -k --header '(%.*\n)*' --pipe -N3 echo JOB{#}\;cat; }
diff_tutorial_pipe_header_one_line_regex() { (echo %head1; echo %head2; seq 4) | par -k --header '%.*\n' --pipe -N2 echo JOB{#}\;cat; }

# --halt soon: a job that fails while the others finish is still reported ("This job failed:")
diff_tutorial_halt_soon_reports_later_failures() { par -k -j2 --halt soon,fail=1 'sleep 0.{}; echo {}; exit {}' ::: 0 0 1 8; echo "rc=$?"; }

# a profile ending with command words: they go before the command, after all the command line's options
diff_tutorial_profile_command_words_before_command() {
  mkdir ph; echo 'echo pre' >ph/cmd; echo '--tagstring P' >ph/tag
  PARALLEL_HOME=$PWD/ph par -J cmd -k x ::: a b; PARALLEL_HOME=$PWD/ph par -J cmd -k ::: c d
  PARALLEL_HOME=$PWD/ph par -J cmd -k -- x ::: e; PARALLEL_HOME=$PWD/ph PARALLEL=-k par -J cmd -j1 y ::: f g
  PARALLEL_HOME=$PWD/ph par -J tag --tagstring C echo ::: h
}

# ---------------------------------------------------------------- quoting and the shell
diff_quote_special_values() {
  par -k printf '[%s]\\n' ::: 'a b' "it's" '$HOME' '*' 'a"b' '' '\' "tab$(printf '\t')x" '`id`' '$(id)' ';ls' '&' 'a|b' '~' 'x>y'
}
diff_quote_safe_values_unchanged() { par -k --dry-run echo ::: a-b_c.d+e/f A9; }
diff_quote_in_dry_run() { par -k --dry-run echo ::: 'a b' "it's" '$x' '' "a''b"; }
diff_command_words_are_shell() { touch f1 f2; par -k echo '*' ::: x; }
diff_command_string_with_pipe() { par -k 'echo {} | tr a-z A-Z' ::: ab cd; }
diff_command_with_semicolon() { par -k 'echo {}; echo done' ::: a; }
diff_command_with_redirection() { par -k 'echo {} > out_{}' ::: a b; cat out_a out_b; }
diff_command_with_env_expansion() { FOO=bar par -k 'echo $FOO {}' ::: x; }
diff_command_with_double_quotes_around_rs() { par -k echo '"[{}]"' ::: 'a  b' c; }
diff_value_with_space_in_direct_command() { par -k printf '[%s]\\n' ::: 'a  b' 'c'; }
diff_q_quotes_command_words() { par -k -q printf '[%s]\n' 'a  b;c' {} ::: 'x y'; }
diff_q_keeps_shell_syntax_literal() { par -k -q echo '$HOME' '|' '*' ::: v; }
diff_command_starting_with_rs_is_not_quoted() { par -k {} ::: 'echo a  b' 'printf %s\\n x'; }
diff_no_command_runs_input_lines() { printf 'echo one\necho "two  three"\n' | par -k; }
diff_exit_status_of_shell_command() { par 'exit 3' ::: x; echo "rc=$?"; }
# These have no shell syntax a fast path could see, yet need the shell (builtins, assignments, ~):
diff_builtin_without_shell_syntax() { par : ::: a; echo "rc=$?"; par -k cd ::: / /nonexistent 2>/dev/null; echo "rc=$?"; }
diff_assignment_prefix() { par -k FOO={} printenv FOO ::: 1 2; }
diff_tilde_expands() { par -k echo '~' ::: x; }
diff_not_found_and_not_executable_status() {
  touch noexec
  par -j1 -k --joblog jl {} ::: nonexistent_command_xyz ./noexec 2>/dev/null
  echo "rc=$?"; normalize_joblog jl | cut -d'|' -f1,7,8
}

# ---------------------------------------------------------------- job slots
diff_j_number() { par -j 2 -k echo ::: 1 2 3 4 5; }
diff_j_attached() { par -j3 -k echo ::: 1 2 3; }
diff_j_long_forms() { par --jobs 2 -k echo ::: 1 2; par --max-procs 2 -k echo ::: 3 4; par -P 2 -k echo ::: 5; }
diff_j_zero() { par -j0 -k echo ::: 1 2 3; }
diff_j_percent() { par -j 50% -k echo ::: 1 2 3; par -j 200% -k echo ::: 4 5; }
diff_j_plus() { par -j +1 -k echo ::: 1 2 3; }
diff_j_minus() { par -j -1 -k echo ::: 1 2 3; }

# ---------------------------------------------------------------- -n -N -X -m
diff_n2() { par -n2 -k echo ::: a b c d e; }
diff_L_groups_input_lines() { printf 'a\nb\nc\n' | par -L2 -k echo; }
diff_n_with_rs() { par -n3 -k echo 'x{}y' ::: a b c d; }
diff_N2() { par -N2 -k echo ::: a b c d e; }
# GNU's other spellings of options; --max-lines is -l (an optional count), not -L
diff_gnu_option_spellings() {
  par -k --maxargs 2 --col-sep , --maxprocs 1 echo ::: a,b c d
  printf '1\n2\n3\n' | par -k --max-lines echo x
  printf '1\n2\n3\n' | par -k --max-lines 0 echo y
  printf '1\n2\n3\n' | par -k --maxlines=2 echo z
  par --numberofthreads >/dev/null && echo threads-ok
  par -k --pipe --roundrobin --blocksize 1k -j1 wc -c < <(seq 10)
}
# --halt done=N reached with no job failed: GNU parallel 20221122 exits 101 (its min() skips an unset count)
diff_halt_done_count_without_failures() {
  par -j1 --halt now,done=2 echo ::: 1 2 3; echo "rc=$?"
  par -j1 --halt soon,done=2 'exit {}' ::: 0 1 0; echo "rc=$?"
}
# --plus {slot} {host} {sshlogin} {hgrp} {agrp}: the job's variables; {choose_k} / {uniq} skip jobs
diff_plus_job_variables_and_filters() {
  par --plus -j1 -k echo {slot} {host} {sshlogin} {hgrp} {agrp} ::: a
  par --plus -j1 -k -S : echo {slot} {host} {sshlogin} ::: a
  par -j1 -k echo '$PARALLEL_SSHHOST $PARALLEL_SSHLOGIN' ::: a
  par --plus -k echo {choose_k} ::: a b c ::: a b c
  par --plus -k echo {uniq} ::: a b ::: a b ::: c a
}
# A missing input file: GNU's message, exit 255, no job
diff_missing_input_file_message() { par echo :::: no_such_file; echo "rc=$?"; par -a no_such_file echo; echo "rc=$?"; }
# --tagstring reads \t \n \r and octal escapes as GNU's unquote_printf does
diff_tagstring_escapes() { par -k --tagstring '\t{}\101\1x\\t' echo ::: a | od -c; }
# --trim n given with --colsep keeps the blanks (--colsep alone trims both sides)
diff_trim_n_with_colsep() { par -k --trim n --colsep , echo '[{1}]' '[{2}]' ::: ' a , b '; par -k --colsep , echo '[{1}]' ::: ' a , b '; }
# --workdir on this machine: made if missing, replacement strings filled in, "..." under ~/.parallel/tmp and
# removed after the job; a directory that cannot be entered ends the run with 255
diff_workdir_runs_local_jobs_there() {
  par -k --wd wdt/{} 'pwd | sed "s:^$PWD/::"; touch f' ::: a b; find wdt | sort
  HOME=$PWD par -k --wd ... 'pwd | sed "s:^$PWD/::; s/-[0-9]*-/-PID-/"; touch f' ::: a b; ls .parallel/tmp | grep -c -- '-[0-9]*-[0-9]'
  par -k --wd /proc/no/such echo ::: a; echo "rc=$?"
  par -k pwd ::: ignored | sed "s:^$PWD:here:"
}
# -q with -N/-X: a word holding {} is repeated per argument, each copy quoted; -q -N0 inserts nothing, and a
# word it leaves empty is dropped
diff_quote_repeats_words_per_argument() {
  par -k -q -N2 echo a{}b ::: 1 2 3 4; par -k -q -X -j1 echo 'a{}' ::: '1 2' 3; par -k -q -N2 echo {} ::: 1 2 3
  par -k -q -N0 echo x ::: a b; par -k -q -N0 echo {} x ::: a; par -k -q -N0 echo {} ::: 1 ::: 2
}
# A job's pipeline ends by SIGPIPE's default action ("yes | head -1" prints no "Broken pipe"), in every output mode
diff_jobs_die_of_sigpipe() { par -k 'yes | head -1; : {}' ::: 1 2 2>&1; par -u 'yes | head -1; : {}' ::: 1 2>&1; par --lb 'yes | head -1; : {}' ::: 1 2>&1; }
# A low descriptor limit caps the job slots (ulimit -n 30: 3, 50: 8) with GNU's warning, and loses no job;
# every attempt that timed out is warned about, retries included
diff_low_descriptor_limit_caps_jobs() {
  # (the warning after the output: when it comes relative to the jobs' lines is timing)
  (ulimit -n 50; par -k -j 20 'echo {}' ::: 1 2 2>warn; sed 's/parallel/PAR/g; s/sluice/PAR/g' warn)
  (ulimit -n 30; seq 6 | par -k -j0 'echo {}' 2>warn; sed 's/parallel/PAR/g; s/sluice/PAR/g' warn)
  (ulimit -n 1024; par -j0 'echo {}' ::: 1 2 3 | wc -l)
}
diff_timeout_warned_per_attempt() { par --retries 2 --timeout 0.2 'echo {}; sleep 2; false' ::: 1; echo "rc=$?"; }
# --pipe-part --regexp cuts at the expressions (recend+recstart), not at plain newlines
diff_pipe_part_regexp_recend() {
  seq 10 >ten
  par --pipepart -a ten -k --block 2 --regexp --recend '3\n' 'echo foo; cat'
  par --pipepart -a ten -k --block 1 --regexp --recstart '^[13579]' 'echo foo; cat'
  par --pipepart -a ten -k --block 2 --regexp --recend 3 'echo foo; cat' 2>/dev/null
}
# -k --results x.csv/x.tsv/x.json: the records are written in the jobs' order, not as they finish
diff_results_table_keeps_order() {
  par -k --results x.csv 'sleep {}; echo {}' ::: 0.4 0.1 0.2
  normalize_table , x.csv
  par -k --results x.json 'sleep {}; echo {}' ::: 0.4 0.1
  normalize_json x.json
  par -k --results -.tsv 'sleep {}; echo {}' ::: 0.4 0.1 >y.tsv
  normalize_table "$(printf '\t')" y.tsv
}
# DOS text: --header names lose the CR (and the header is no value for the CR-NL hint); --colsep's default
# trim takes CR (and \f, \v) as blanks, as Perl's \s in GNU; --trim n keeps it
diff_crlf_header_and_colsep_trim() {
  printf 'foo\r\nbar\r\nbaz\r\n' | par -k --colsep , --header : echo {foo} 2>&1
  printf 'foo\r\nbar\r\n' | par --header : echo {foo} | od -c
  printf 'foo,x\r\nbar,y\r\n' | par --colsep , --header : echo {foo}-{x}
  printf 'a\r, b \r\r\n' | par --colsep , echo {1}.{2}. | od -c
  printf 'a,b\r\n' | par --colsep , --trim n echo {2}. | od -c
}
# -q -N0 / --nonall: an empty command word ('') is an argument of its own; only a word that held {} goes
diff_quote_keeps_empty_words() {
  par -q --nonall perl -le 'print scalar @ARGV' a b ''
  par -q -N0 perl -le 'print scalar @ARGV' a '' '' ::: x
  par -q -N0 perl -le 'print scalar @ARGV' a {} '' ::: x
}
# --header 0: no header line; a file's values are {its path}, which wins over {1} and over --plus's {/a/b}
diff_header_zero_names_files() {
  seq 1 >1; seq 2 >2; seq 3 >3; printf 'a\nb\n' >f
  par -k --header 0 echo {1} :::: 3 2 1
  par -k --header 0 echo {f}-{2} :::: f 2
  par -k --header 0 --plus echo {"$PWD/f"} :::: "$PWD/f"
}
# --tag / --tagstring: a carriage return starts a line too, as GNU's (a progress line redrawn with \r)
diff_tag_after_carriage_return() {
  par --tag printf "'a\rb\r\nc\r'" ::: x | od -c
  par -k --tagstring '<{}>' printf "'a\rb\r\nc\rd'" ::: x y | od -c
  par --tag --lb printf "'a\rb\rc\r\n'" ::: x | od -c
}
# {= =} holds no {= of its own: "{= {= e =}" is the text "{= " and then {= e =}, as GNU parses it
diff_perl_expression_innermost_opening() {
  par echo {= s/a/b/=}{= {= s/a/b/=} ::: a
  par echo {= {= =} =} ::: a
  par echo {= s/a/b/ =} {={==} ::: a
}
# A dynamic --rpl tag: its (...) groups are expressions, the text around them literal ({^(.+?)}, {a.(.)})
diff_rpl_dynamic_tag_literal_text() {
  par --rpl '{^(.+?)} s/^($$1)/uc($1)/e;' echo {^a} ::: abc
  par --rpl '{^^(.+?)} s/($$1)/uc($1)/eg;' echo {^^a} ::: abca
  par --rpl '{a.(.+?)} $_=$$1' --rpl '{[b](.)} $_=$$1' echo {a.x} {abx} '{[b]y}' {by} ::: q
}
# A low descriptor limit that cuts -j0 below --tee's jobs: GNU's warning comes before the error
diff_tee_fd_cap_warns_before_error() {
  ignore_stderr
  (ulimit -n 40; seq 3 | par -k --tag --pipe -j0 --tee grep {} ::: {1..100} 2>err; echo "rc=$?"; grep -c Warning err; grep -c 'Error: --tee' err)
}
# --bg semaphore jobs see the caller's exported bash functions; -p with --bg is refused (no one to ask)
diff_semaphore_bg_exported_function() {
  f() { echo "in f $1"; }
  export -f f
  export PARALLEL_SHELL=bash  # (a job shell that knows exported functions, whatever runs the case)
  par --semaphore --id bgf --bg 'f 1 >out1'; par --semaphore --id bgf --bg 'f 2 >out2'
  par --semaphore --id bgf --wait; cat out1 out2
  sleep 1  # (GNU's background copy cleans up after releasing the slot)
  par -p --bg echo x 2>&1 | sed 's/^[a-z]*: //'; echo "rc=${PIPESTATUS[0]}"
}
# --halt now under -k: the output ends at the first job killed (later jobs' output held behind it is dropped)
diff_halt_now_keep_order_stops_at_killed_job() {
  par -k -j3 --halt now,fail=1 'sleep {}; echo {}; exit {= $_ = $_ == 0.5 ? 1 : 0 =}' ::: 0.1 3 0.5 0.2 2>err
  echo "rc=$?"; sed 's/^[a-z]*: //' err
}
# --halt soon: every later job that counts is named too, with the jobs still running; the status is the first's
diff_halt_soon_names_every_later_failure() {
  # (a second between the ends: under load GNU takes a while to start its jobs)
  par -j4 --halt soon,fail=1 'sleep {}; exit {#}' ::: 1 2 3 2>err; echo "rc=$?"; sed 's/^[a-z]*: //' err
  par -j4 --halt soon,success=1 'sleep {}' ::: 1 2 2>err; echo "rc=$?"; sed 's/^[a-z]*: //' err
}
# A command line too long: the error comes after the output of the jobs that ran, as GNU's
diff_too_long_error_after_running_jobs() {
  f() { sleep 0.3; echo "$@"; }
  export -f f
  export PARALLEL_SHELL=bash
  (seq 1 10; echo 12345678; seq 12 15) | par -j1 -kX -s 10 -x f 2>&1 | sed 's/^[a-z]*: //'
}
# --tmpl: a string standing for several values (--colsep, several sources) gives them with nothing between
diff_template_joins_values() {
  printf 'All:{} A1:{1} A-1:{-1} P:{=$_.="+"=}\n' >t
  par -k --colsep , --tmpl t=o.{#} 'cat o.{#}' ::: 1,a 2,b
  par -k --tmpl t=o.{#} 'cat o.{#}' ::: 1 2 ::: a
}
# --plus pattern strings are Perl regular expressions, as in GNU: the man page's {#z.*z.} / {%.z.*z} forms,
# {##*/} (a quantified ^), (?i), a replacement that stays literal ($1), /# and /% anchors, positional forms
diff_plus_patterns_as_perl() {
  par --plus -k echo {#z.*z.} {##z.*z.} ::: z.z.z.foo
  par --plus -k echo {%.z.*z} {%%.z.*z} ::: foo.z.z.z
  par --plus -k echo {##*/} {#*/} {%.*} {%%.*} ::: /x/y.c.d a.b
  par --plus -k echo '{/a(.)/<$1>}' '{/(?i)A/z}' '{//\d/D}' '{/#a/b}' '{/%c/E}' ::: aab1.c
  par --plus -k echo '{^^[aeiou]}' '{,,[A-Z]}' '{^a}' '{,A}' '{#[a-z]+}' '{%%[.a-z]+}' ::: aAb1.tar Abc
  par --plus -k echo '{2/a/b}' '{1#a}' '{-1%.c}' '{2^a}' ::: aab1.tar.gz ::: aAa.c
}
# --compress --results: the files of a results directory (and of a --results template) hold the compressed
# output, an empty one stays empty; the CSV records hold the output as text
diff_compress_results_files_compressed() {
  par -k --compress-program 'gzip -1' --results out 'echo o{}; echo e{} >&2' ::: a b
  par -k --compress-program 'gzip -1' --results out 'echo o{}' ::: c
  for f in out/1/*/stdout out/1/*/stderr; do echo "$f $(head -c2 "$f" | od -An -tx1) $(gzip -dc <"$f")"; done
  wc -c <out/1/c/stderr
  par -k --compress-program 'gzip -1' --results 'tpl/{}.out' echo ::: d
  echo "$(head -c2 tpl/d.out | od -An -tx1) $(gzip -dc <tpl/d.out)"
  par -k --compress-program 'gzip -1' --results r.csv echo ::: f >/dev/null
  cut -d, -f1,2,5- r.csv
}
# --pipe --regexp -N: what stands before the first --recstart is a block of its own, not one of the first
# block's N records; ^ and $ in the expressions match at line starts and ends (Perl's /m)
diff_pipe_regexp_leading_garbage_own_block() {
  printf 'x\na1\nb2\na3\nb4\na5\n' | par -k --pipe --regexp --recstart a -N2 'echo -n "["; cat; echo "]"'
  printf 'xx\ny\na1\na2\na3\n' | par -k --pipe --regexp --recstart 'a[0-9]' --recend '\n' -N2 'echo -n "["; cat; echo "]"'
  printf 'a1\nb2\na3\nb4\n' | par -k --pipe --regexp --recstart '^a' --recend '\n' -N1 'echo -n "["; cat; echo "]"'
  printf 'a1\nb2\na3\nb4\n' | par -k --pipe --regexp --recstart '^a' -N1 --rrs 'echo -n "["; cat; echo "]"'
}
# --pipe -n N counts records as -N does; --recend '' alone makes every byte a record
diff_pipe_n_counts_records() {
  seq 10 | par -k --pipe -n 3 'echo -n "["; cat; echo "]"'
  seq 3 | par -k --pipe --recend '' -n 1 od -c
}
# --pipe -N: a block never starts with an empty record (GNU looks for its first separator from its second byte),
# also with -r and a NUL --recend
diff_pipe_block_never_starts_with_empty_record() {
  printf '\na\n\n\nb\n' | par --pipe -N1 -k 'echo -n "["; cat; echo "]"'
  printf '\na\n\n\nb\n' | par --pipe -N2 -k 'echo -n "["; cat; echo "]"'
  printf ' \0A\0 \0\0B\0\0 ' | par -n 1 --pipe -r --recend '\0' -k 'echo {#};cat;echo {#}' | od -c
}
# GNU's own Perl helpers that --rpl expressions call: ::shell_quote() and ::dirname()
diff_rpl_gnu_helpers() {
  par --rpl '%D $_=::shell_quote(::dirname($_));' --rpl '%Q $_=join("+",::shell_quote("a b","c"));' -k echo %D %Q ::: 'a b/c.d/e.f' x
}
# Positional strings may hold blanks after the number ("{1\n }"); a --header column's name works as the position
# of {=name expr=} and before the operations of {.} {/} {//} {/.}
diff_positions_with_blanks_and_header_names() {
  par -k "echo {1
      } { 2 } {2
      }" ::: O ::: K
  par --header : echo '{=v2=}{=v1 $_=Q($_)=}' ::: v1 K ::: v2 O
  par --header : -k echo {var/.} {var//} {var/} {var.} ::: var sub/dir/file.ext
}
# --pipe-part --tee: every job reads the whole file as its stdin (a regular file: wc sees its size), the ::: values
# are the jobs' arguments; --env A,B names two variables
diff_pipe_part_tee_reads_the_file() {
  seq 1000 >num; par --pipe-part --tee -k -a num wc ::: a b; par --pipe-part --tee --tag -k -a num 'wc -l; echo {}' ::: x y
  par --pipe-part --tee -a num wc; echo "rc=$?"
  A=1 B=2 par --env A,B -k 'echo $A$B {}' ::: x
}
# A ::: value is split at -d's delimiter only: with -d a newline stays inside the value, with -0 nothing splits
diff_triple_colon_values_split_at_the_delimiter() {
  for d in -0 '-d ,' '-d xy' '-d \t.-'; do
    echo "== $d"
    # shellcheck disable=SC2086
    par -k $d echo '[{}]' ::: $'a\nb' $'d\n' 'exy' 'f,' $'g\t.-h'
  done
}

# --shard/--bin with input sources: a job per command line they make, padded with argument-less jobs to one per
# job slot; more command lines than slots is an error (exit 255, no output); --tee wins over them
diff_shard_with_input_sources() {
  seq 6 >f6; printf 'a\nb\nc\n' >f3
  par --pipe --shard 1 -j2 'echo job {}; cat' ::: a b c </dev/null; echo "rc=$?"
  seq 6 | par --pipe --bin 1 -j5 -k -a f6 'echo job {}; cat'; echo "rc=$?"
  seq 6 | par --pipe --bin 1 -j6 -k -a f6 'echo job {}; cat'
  seq 6 | par --pipe --bin 1 -j6 -k 'echo job {}-{#}-{%}; cat' :::: f3
  seq 6 | par --pipe --bin 1 -j3 -k 'echo job {1}-{2}; cat' ::: a b :::+ c d
}
# (the same, split in two: GNU takes over 25 s for all of them on a loaded machine)
diff_shard_with_input_sources_more() {
  seq 6 | par --pipe --bin 1 -j5 -k 'echo job {1}-{2}; cat' ::: a b ::: c d
  seq 6 | par --pipe --bin 1 -j3 -k --round-robin 'echo job {#}; cat'
  seq 6 | par --pipe --tee --bin 1 -j3 -k 'echo job {}; cat' ::: a b
}
# --cat / --fifo with --tee, --shard, --bin: {} is the job's file or named pipe, filled as the input is dealt
# (--shard's keys go where GNU's per-run hash sends them, so its lines are only counted)
diff_cat_and_fifo_with_streamed_jobs() {
  seq 10 | par --pipe --bin 1 -j3 -k --cat 'echo {#}; sort -n {} | head -2'
  seq 10 | par --pipe --bin 1 -j3 -k --fifo 'echo {#}; sort -n < {} | head -2'
  seq 10 | par --pipe --bin 1 -k --cat 'echo $(basename {} | cut -c1-3); sort -n {} | tail -1; exit {#}' ::: a b; echo "rc=$?"
  seq 10 | par --pipe --tee --cat -k 'echo $(basename {} | cut -c1-3); wc -l < {}' ::: a b
  seq 10 | par --pipe --tee --fifo -k 'wc -l < {}; echo {}' ::: a b | sed 's,/.*/,/DIR/,; s,/par.*,/parX,'
  seq 100 | par --pipe --shard 1 -j4 --cat 'wc -l < {}' | awk '{s += $1} END {print s, NR}'
  seq 100 | par --pipe --shard 1 -j4 --fifo 'wc -l < {}' | awk '{s += $1} END {print s, NR}'
  ls
}
# --pipe-part with --shard/--bin: the file's parts are the jobs (nothing dealt by key), all at once or an error
diff_pipe_part_with_shard_needs_a_slot_per_part() {
  seq 6 >f6; seq 10 >f10
  par --pipe-part --bin 1 -j2 -k -a f6 'echo job {}; cat'; echo "rc=$?"
  par --pipe-part --bin 1 -j6 -k -a f6 'echo job {}; cat'; echo "rc=$?"
  par --pipe-part --shard 1 -j16 -k -a f10 -a f6 'echo job {#}; cat' | tr '\n' ' '; echo
  par --pipe-part --shard 1 -j15 -k 'echo job {#}; cat' :::: f10 f6; echo "rc=$?"
}
# --pipe-part's files must be seekable: regular files or block devices (GNU's two checks, sizing first)
diff_pipe_part_needs_seekable_files() {
  seq 3 >f; mkfifo ff
  par --pipe-part -a nosuch cat; echo "rc=$?"
  par --pipe-part -a f -a . cat; echo "rc=$?"
  par --pipe-part --block 1k -a f -a nosuch cat; echo "rc=$?"
  par --pipe-part --block 1k -a ff cat; echo "rc=$?"
}
# --pipe-part --block -N: blocks sized for about N per job slot (10 without --block; 1 with --round-robin)
diff_pipe_part_negative_block() {
  seq 1000 >s; seq 100000 >big
  par -j2 -k --pipepart echo {#} :::: s | tail -1
  par -j2 -k --block -1 --pipepart echo {#}-2 :::: s
  par -j2 -k --block -2 --pipepart echo {#}-4 :::: s
  par -j3 -k --block -10 --pipepart 'wc -l' :::: s | tr '\n' ' '; echo
  par -j2 -a big --pipepart --block -0.01k -k md5sum | wc
  par -j3 -k --pipe-part -a s -a big --block -1 wc -l
  par -j3 -k --pipe-part -a s --round-robin --block 10 wc -l
  par --block -1 echo ::: a
}
# -X/-m with -N/-n/-L: the first job whose batch reaches the end of the input spreads what it took over the job
# slots (ceil(taken / slots) a job from then on); a batch of one stays whole
diff_multi_args_with_count_spread_the_last_batch() {
  seq 3 | par -j4 -k -m -L2 echo
  seq 10 | par -j3 -k -X -N4 echo
  seq 8 | par -j3 -k -X -N4 echo
  seq 10 | par -j30 -k -X -L2 echo
  seq 20 | par -j3 -k -n3 -m echo
  printf '1 2\n3\n4 5\n6\n' | par -j3 -k -L2 -m echo
  printf '1 2\n3\n4 5\n6\n7\n' | par -j3 -k -L2 -m echo
  seq 12 | par -j2 -k -N5 -X echo {#}:{}
  par -j3 -k -X -N3 echo {1}-{2} ::: a b c d
  seq 10 | par -j3 -k -N4 echo
  par -j4 -k -X echo ::: 1 2 3
}
# ::::+ with several files links every one of them (after only -a files, just the first: GNU's quirk)
diff_quad_colon_plus_links_every_file() {
  seq 3 >a3; seq 21 23 >b3; seq 21 22 >b2; printf 'a\nb\nc\n' >f3
  par -k echo ::: 11 22 33 ::::+ a3 b3 ::: a b c :::+ aa bb cc
  par -k echo :::: f3 ::::+ a3 b3
  par -k echo ::: x y ::::+ a3 b2 ::: p q
  par -k -a f3 echo ::::+ a3 b3
}
# --linkinputsource N (GNU's option behind :::+ and ::::+): the k-th value links source k to the one before;
# the values the markers stand for come after those given by hand, and -a files shift them one source early
diff_link_input_source_option() {
  seq 3 >f1; printf 'a\nb\nc\n' >f2; printf 'x\ny\n' >f3
  par -k --linkinputsource 0 --linkinputsource 1 echo :::: f1 f2
  par -k --linkinputsource 0 --linkinputsource 0 --linkinputsource 1 echo :::: f1 f2 f3
  par -k --xapplyinputsource=0 --linkinputsource=-1 echo ::: a b ::: c d e
  par -k --linkinputsource 2 echo ::: a ::: b c
  par -k -a f1 echo ::: x y z :::+ p q
  par -k -a f1 -a f3 echo ::: x y :::+ p q
  par -k echo :::+ a b
}
# --tmux / --tmuxpane: each job runs in a window of the run's own tmux session (how to attach is said on stderr,
# nothing reaches stdout), the run's status counts the windows' exit codes; PARALLEL_TMUX names the program
diff_tmux_runs_jobs_in_windows() {
  for opt in --tmux --tmuxpane; do
    par -k -j3 $opt 'echo {} > out.{}; exit {}' ::: 0 1 2 2>err
    echo "exit $?"
    sed 's:/tms[A-Za-z0-9]*:/tmsXXXXX:' err
    cat out.0 out.1 out.2
    tmux -S "$(grep -o '/[^ ]*/tms[A-Za-z0-9]*' err)" kill-server 2>/dev/null || :
  done
  PARALLEL_TMUX=not-a-tmux par --tmux echo ::: 1
  echo "exit $?"
  # --fg attaches in the foreground (here without a terminal, so tmux says it cannot) and is not a semaphore
  par --tmux --fg 'echo {} > fg.{}' ::: 1 </dev/null 2>err
  echo "exit $?"
  sed 's:/tms[A-Za-z0-9]*:/tmsXXXXX:' err
  cat fg.1
  tmux -S "$(grep -o '/[^ ]*/tms[A-Za-z0-9]*' err)" kill-server 2>/dev/null || :  # (GNU's --fg child removes the socket)
}
# --results: a value's tab is written \t in its directory name, and a name is cut to 255 bytes
diff_results_dir_names_quote_tabs_and_cut_long_values() {
  long=$(printf '1234567890%.0s' $(seq 26))
  par --results r echo ::: "$(printf 'a\tb/c\\d')" "$long" "${long:0:255}" >/dev/null
  ls r/1 | od -c | sed -n 1,2p; ls r/1 | wc -c
}
# --results DIR: each argument's columns ordered by their names (numeric value first, then text), and the
# numbering starts again for each argument of a job (-N2)
diff_results_tree_orders_columns_by_name() {
  par --header : --results r echo ::: 10x 1 ::: 2b 2 ::: B 3 ::: a 4 >/dev/null; find r -type d | LC_ALL=C sort | tail -1
  par --results s --header : -k echo ::: foo bar baz ::: A B C >/dev/null; find s | LC_ALL=C sort
  par -N2 --results t echo ::: a b c d >/dev/null; find t | LC_ALL=C sort
}
# --wd: the job sees what `cd DIR` leaves: pwd keeps the name as given (/bin, not where the link points) and
# $OLDPWD is where the run started
diff_wd_job_sees_pwd_and_oldpwd() {
  mkdir sub; export HERE=$PWD
  par --wd /bin 'pwd; [ "$OLDPWD" = "$HERE" ] && echo oldpwd ok' ::: a
  par --wd sub 'pwd | sed "s:^$HERE:HERE:"; [ "$OLDPWD" = "$HERE" ] && echo oldpwd ok' ::: a
  par --wd ./sub/ 'echo "$PWD" | sed "s:^$HERE:HERE:"' ::: a
  par --wd / pwd ::: a
  par --wd /proc/no-such-dir pwd ::: a; echo "rc=$?"
}
# --pipe-part with --header / --skip-first-line: per file, the first line is skipped, then its header heads
# every part cut from the rest
diff_pipe_part_header_and_skip_first_line() {
  (echo h1; echo h2; seq 20) >hf; (echo H; seq 5) >hg; (echo "$(seq 100)"; echo MyHeader; seq 10) >sk
  par -k --pipe-part --header : --block 10 -a hf 'echo job; cat'
  par -k --pipe-part --header 2 --block 10 -a hf -a hg 'echo job; cat'
  par -k --pipe-part --header 'h.*\n' --block 10 -a hf 'echo job; cat'
  par -k --pipe-part --skip-first-line --block 10 -a hf -a hg 'echo job; cat'
  par -k --pipe-part --header 30 --block 10 -a hf 'echo job; cat'
  par -k --skip-first-line --pipe-part -a sk --block 10 --header 1 cat
}
# --pipe-part with ::: values: no job gets them as arguments; they only count in sizing the blocks per slot
diff_pipe_part_triple_colon_values_only_size_the_blocks() {
  printf 'a\nb\nc\n' >f3; seq 1000 >s
  par -k --pipe-part -a f3 --block 1 'echo job {}; cat' ::: x y
  par -k --pipe-part --block 2 'echo job {}; cat' :::: f3 ::: x y
  par -k --pipe-part 'echo job {}; cat' ::: x y; echo "rc=$?"
  par -k --pipe-part -a f3 'echo job {}; cat' ::: 1 2 3 4 5 6 7 8 9
  par -k -j1 --pipe-part -a s 'wc -l' ::: $(seq 300)
}
# --onall / --nonall without -S: this machine is the one host (":" in --tag)
diff_onall_without_hosts_runs_here() { par --onall --tag -k echo ::: a b; par --nonall --tag echo hi; }
# File transfers with no remote host: one warning naming the first option that asked (GNU's order), jobs run here
diff_transfer_without_remote_hosts_warns() {
  par --trc {} --transfer -S : echo ::: x
  par --transferfile {} echo ::: y
  par --return x --cleanup echo ::: z
  par --basefile /etc/hostname -S : echo ::: w
}
diff_N0_runs_once_per_input() { par -N0 -k echo hi ::: a b; }
diff_X_context_replace() { par -j1 -X -k echo pre-{}-post ::: 1 2 3; }
diff_m_joins_arguments() { par -j1 -m -k echo pre-{}-post ::: 1 2 3; }
diff_X_spreads_over_slots() { par -j2 -X -k echo ::: 1 2 3 4 5 6 7 8 9 10; }
diff_m_spreads_over_slots() { par -j3 -m -k echo ::: 1 2 3 4 5 6; }
diff_X_with_n() { par -j1 -X -n2 -k echo ::: 1 2 3 4 5; }
diff_X_quotes_each_value() { par -j1 -X -k printf '[%s]\\n' ::: 'a b' c; }

# ---------------------------------------------------------------- output
diff_k_orders_output() { par -j4 -k 'sleep {}; echo {}' ::: 0.6 0.1 0.4 0; }
diff_completion_order_without_k() { par -j4 'sleep {}; echo {}' ::: 1.8 0 1.2 0.6; }
diff_group_stdout_then_stderr() { par -j1 -k 'echo err-{} >&2; echo out-{}' ::: a b 2>&1; }
diff_group_keeps_job_lines_together() { par -j2 -k 'echo {}1; sleep 0.2; echo {}2' ::: a b c; }
diff_tag() { par --tag -k echo ::: a 'b c'; }
diff_tag_multiline_output() { par --tag -k 'printf "1\n2\n"' ::: a; }
diff_tag_two_sources() { par --tag -k echo ::: a b ::: 1; }
diff_tag_stderr() { par --tag -k 'echo e >&2' ::: a 2>&1; }
diff_tagstring() { par --tagstring '<{}-{#}>' -k echo ::: a b; }
diff_tagstring_positional() { par --tagstring '{2}:{1}' -k echo x ::: a ::: b; }
diff_k_line_buffer() { par -k --line-buffer -j2 'echo {}1; sleep 0.{}; echo {}2' ::: 3 1; }
diff_ungroup_single_job() { par -u 'echo a; echo b >&2' ::: x 2>&1; }

# ---------------------------------------------------------------- exit status
diff_exit_all_succeeded() { par true ::: 1 2 3; echo "rc=$?"; }
diff_exit_counts_failures() { par 'exit {}' ::: 0 1 2 0 3; echo "rc=$?"; }
diff_exit_failure_count_not_job_status() { par 'exit 7' ::: x; echo "rc=$?"; }
diff_exit_exactly_100() { seq 100 | par -j4 false; echo "rc=$?"; }
diff_exit_more_than_100() { seq 120 | par -j4 false; echo "rc=$?"; }
diff_exit_command_not_found() { par -k nonexistent_command_xyz ::: a 2>/dev/null; echo "rc=$?"; }

# ---------------------------------------------------------------- --halt
diff_halt_now_fail_1_returns_job_status() { ignore_stderr; par -j1 --halt now,fail=1 'echo {}; exit {}' ::: 0 0 7 0 0; }
diff_halt_soon_fail_1() { ignore_stderr; par -j1 --halt soon,fail=1 'echo {}; exit {}' ::: 0 5 0 0; }
diff_halt_legacy_1() { ignore_stderr; par -j1 --halt 1 'echo {}; exit {}' ::: 0 4 0; }
diff_halt_legacy_2() { ignore_stderr; par -j1 --halt 2 'echo {}; exit {}' ::: 0 6 0; }
diff_halt_fail_2() { ignore_stderr; par -j1 --halt soon,fail=2 'echo {}; exit {}' ::: 0 1 0 2 0 3; }
diff_halt_fail_percent() { ignore_stderr; par -j1 --halt soon,fail=30% 'echo {}; exit {}' ::: 0 1 2 0 0 0 0 0 0 0; }
diff_halt_now_success_1() { ignore_stderr; par -j1 --halt now,success=1 'echo {}; exit {}' ::: 1 2 0 3; }
diff_halt_soon_success_2() { ignore_stderr; par -j1 --halt soon,success=2 'echo {}; exit {}' ::: 1 0 1 0 0; }
diff_halt_legacy_minus_1() { ignore_stderr; par -j1 --halt -1 'echo {}; exit {}' ::: 1 0 1; }
diff_halt_done() { ignore_stderr; par -j1 --halt soon,done=2 'echo {}; exit {}' ::: 1 0 0 0; }
diff_halt_soon_lets_running_finish() {
  ignore_stderr
  par -j2 --halt soon,fail=1 {} ::: 'sleep 1.5; echo finished' 'sleep 0.2; exit 4' 'touch started'
  echo "rc=$?"; ls
}
diff_halt_never() { par -j1 --halt never 'echo {}; exit {}' ::: 0 1 0; echo "rc=$?"; }
diff_halt_not_reached() { par -j1 --halt now,fail=3 'echo {}; exit {}' ::: 0 1 0; echo "rc=$?"; }

# ---------------------------------------------------------------- --retries
diff_retries_counts_attempts() { par -j1 --retries 3 'echo try >> log_{}; exit 1' ::: a; echo "rc=$?"; wc -l <log_a; }
diff_retries_stop_after_success() {
  par -j1 --retries 4 'echo x >> n; test $(wc -l < n) -ge 2 && echo ok {}' ::: a
  echo "rc=$?"; wc -l <n
}
diff_retries_one_means_once() { par --retries 1 'echo x >> n; exit 2' ::: a; echo "rc=$?"; wc -l <n; }

# ---------------------------------------------------------------- --dry-run
diff_dry_run_prints_commands() { par --dry-run -k 'echo {} {.}' ::: 'a b.c' x; ls; }
diff_dry_run_runs_nothing() { par --dry-run touch started_{} ::: a b | sort; ls; }
diff_dry_run_positional_and_X() { par --dry-run -k -j1 -X echo {} ::: 1 2; par --dry-run -k echo {2} {1} ::: a ::: b; }

# ---------------------------------------------------------------- --joblog, --resume
diff_joblog_columns() {
  par -j1 -k --joblog jl 'echo {}; exit {}' ::: 0 3 'a b'
  echo "rc=$?"; normalize_joblog jl
}
diff_joblog_command_quoting() { par -j1 --joblog jl echo ::: "it's" '$x'; normalize_joblog jl; }
diff_joblog_append_plus() {
  par -j1 --joblog jl echo ::: a; par -j1 --joblog +jl echo ::: b
  normalize_joblog jl
}
diff_joblog_to_stdout() { par -j1 -k --joblog - echo ::: a b >out; grep -v '^[ab]$' out >jl; grep -x '[ab]' out; normalize_joblog jl; }
diff_joblog_truncates_without_plus() {
  par -j1 --joblog jl echo ::: a; par -j1 --joblog jl echo ::: b
  normalize_joblog jl
}
diff_joblog_signal_column() {
  # a job killed by a signal: Signal 15 (Exitval is version dependent for SIGKILL, see check_ cases)
  par -j1 --joblog jl 'kill -TERM $$' ::: a; echo "rc=$?"; normalize_joblog jl | cut -d'|' -f1,8
}
diff_joblog_pipe_send_receive() { seq 1000 | par --pipe -N 300 -j1 -k --joblog jl wc -l; normalize_joblog jl; }
diff_resume_skips_logged_seqs() {
  par -j1 -k --joblog jl echo ::: 1 2 3
  par -j1 -k --resume --joblog jl echo ::: 1 2 3 4 5
  normalize_joblog jl
}
diff_resume_failed_reruns_failures() {
  par -j1 -k --joblog jl 'echo run {}; exit {}' ::: 0 1 0 2
  echo "rc=$?"
  par -j1 -k --resume-failed --joblog jl 'echo again {}; exit 0' ::: 0 1 0 2 0
  echo "rc=$?"
  normalize_joblog jl
}
diff_resume_nothing_left() {
  par -j1 --joblog jl echo ::: a b
  par -j1 --resume --joblog jl touch started ::: a b; echo "rc=$?"; ls
}

# ---------------------------------------------------------------- --results
diff_results_tree() {
  par -k --results res 'echo out {1}{2}; echo err >&2' ::: a b ::: x y
  echo "rc=$?"
  find res | sort
  find res -type f | sort | while read -r f; do echo "== $f"; cat "$f"; done
}
diff_results_tree_special_values() {
  par -k --results res echo ::: 'a b' 'c/d' ''
  find res -type f | sort
}
diff_results_csv() { par -k -j1 --results out.csv 'echo {1}; exit {2}' ::: a b ::: 0 2; echo "rc=$?"; normalize_table , out.csv; }
diff_results_tsv() { par -k -j1 --results out.tsv echo ::: a b; normalize_table "$(printf '\t')" out.tsv; }
diff_results_json() { par -k -j1 --results out.json echo ::: a 'b"c'; normalize_json out.json; }
diff_results_still_prints_output() { par -k --results res echo ::: a; ls res; }

# ---------------------------------------------------------------- --pipe
diff_pipe_block() { seq 1 100000 | par --pipe --block 100k -k wc -l; }
diff_pipe_block_default_1M() { seq 1 400000 | par --pipe -k wc -l; }
diff_pipe_block_decimal_suffix() { seq 1 20000 | par --pipe --block 10k -k wc -c; }
diff_pipe_block_binary_suffix() { seq 1 20000 | par --pipe --block 10K -k wc -c; }
diff_pipe_N_records() { seq 1 10 | par --pipe -N3 -k 'echo ==; cat'; }
diff_pipe_L_lines() { seq 1 10 | par --pipe -L 4 -k 'echo ==; cat'; }
diff_pipe_recend() { printf 'a;b;c;d;e' | par --pipe --recend ';' -N 2 -k 'cat; echo'; }
diff_pipe_recstart() { printf '>h1\nAAA\n>h2\nBBB\nB\n>h3\nC\n' | par --pipe --recstart '>' -N1 -k 'echo ==; cat'; }
diff_pipe_recstart_and_recend() { printf 'x\n>1\ny\n>2\nz\n' | par --pipe --recend '\n' --recstart '>' -N1 -k 'echo ==; cat'; }
diff_pipe_block_grows_for_long_record() { { head -c 300000 /dev/zero | tr '\0' a; echo; echo b; } | par --pipe --block 10k -k wc -c; }
diff_pipe_keeps_all_data() { seq 1 300000 | par --pipe --block 200k -j2 -k cat | md5sum; }
diff_pipe_empty_input_runs_nothing() { par --pipe touch started </dev/null; echo "rc=$?"; ls; }
diff_pipe_with_seq_rs() { seq 1 6 | par --pipe -N2 -k 'echo {#}; cat'; }
diff_pipe_exit_status() { seq 1 6 | par --pipe -N2 -k 'cat >/dev/null; exit 1'; echo "rc=$?"; }
# a retried --pipe job gets its block again (the last attempt's output is what is printed)
diff_pipe_retries_resend_the_block() { printf 'a\nb\n' | par --pipe --retries 2 'cat; exit 1'; echo "rc=$?"; }

# --round-robin: one job per slot (never more jobs than blocks), every block delivered once; which job
# gets which block depends on timing, so the lines are sorted
diff_pipe_round_robin() {
  seq 5 | par --pipe --round-robin -j3 -N1 'echo J; cat' | sort
  seq 2 | par --pipe --round-robin -j3 -N1 'echo J; cat' | sort
  seq 1 200000 | par --pipe --round-robin -j2 --block 50k 'wc -l' | wc -l
  seq 1 200000 | par --pipe --round-robin -j2 --block 50k 'cat' | sort -n | md5sum
  seq 1 1000 | par --pipe --round-robin -j1 -N10 'wc -l'
  par --pipe --round-robin echo ran </dev/null; echo "rc=$?"
  true | par --retries 2 --round-robin --pipe cat; echo "rc=$?"
}
# --tee: every job (one per argument, all at once) reads the whole input; -j below the job count is an error
diff_pipe_tee() {
  seq 100000 | par --tee --pipe -k 'echo {}; wc -l' ::: a b c d e
  seq 3 | par --tee --pipe -k 'echo {}; wc -l' ::: a b ::: 1 2
  seq 3 | par --tee --pipe -k echo ::: a b
  seq 3 | par --tee --pipe -j1 -k 'echo {}; wc -l' ::: a b c; echo "rc=$?"
  seq 3 | par --tee --pipe -k 'echo {}; wc -l'; echo "rc=$?"
  seq 3 | par --tee -k 'echo {}; wc -l' ::: a b; echo "rc=$?"
}
# --fifo: {} is a named pipe the block flows through; like --cat it implies --pipe
diff_pipe_fifo() {
  seq 5 | par --fifo -k -N2 'echo J; cat {}'; echo "rc=$?"
  seq 1 100000 | par --pipe --fifo --block 100k -k 'wc -l < {}'
  seq 4 | par --pipe --fifo -k -N2 'cat {} >/dev/null; exit 3'; echo "rc=$?"
  seq 2 | par --fifo -N1 -k 'test -p {} && echo fifo; cat $PARALLEL_TMP'
  par --fifo --cat echo ::: a; echo "rc=$?"
}
diff_cat_implies_pipe() {
  seq 3 | par --cat -k 'echo {} | grep -c par; cat {}'
  seq 3 | par --cat -k 'echo {} | grep -c par; cat {}' ::: a b
  seq 5 | par --cat -N2 -k 'wc -l < {}'
}
# --compress and its programs change only how the output is kept: it comes out the same
diff_compress_output_unchanged() {
  par --compress -k echo ::: a b
  par --compress-program 'gzip -1' --decompress-program 'gzip -dc' -k echo ::: c d
  seq 3 | par --compress --pipe -N1 -k cat
}
# --compress really compresses: --files keep the compressed output, the decompressor is what prints it, and a
# compressor that fails fails its job with 255 (its output lost), reported as "<program> failed."
diff_compress_goes_through_the_programs() {
  mkdir t; export TMPDIR=$PWD/t
  par -k --compress-program gzip --files echo ::: a b | xargs zcat
  par --compress-program gzip --decompress-program 'zcat | tr a-z A-Z' -k --tag echo ::: c d
  par --decompress-program 'tr a-z A-Z' echo ::: lower
  seq 100000 | par --pipe --compress -k wc -l
  # (whether GNU also reports "false -dc failed." depends on timing: stderr is not compared here)
  par --compress-program false --joblog jl echo ::: e 2>/dev/null; echo "rc=$?"; cut -f7 jl
  par --compress -k --color 'echo {}; exit {}' ::: 0 1 | od -c
}
# --color-failed / --cf: a failed job's output in white on red (with --color a good job keeps its colour);
# nothing coloured with --line-buffer or -u
diff_color_failed() {
  par -k --cf 'echo {}; echo e{} >&2; exit {}' ::: 0 1 2 2>&1 | od -c; echo "rc=${PIPESTATUS[0]}"
  par -k --color-failed --color --tag 'echo {}; exit {}' ::: 0 1 | od -c
  par -k --cf --lb 'echo {}; exit {}' ::: 0 1 | od -c
  par -j1 --cf -u 'echo {}; exit {}' ::: 0 1 | od -c
}
# --retry-failed --joblog: the logged failed jobs again, by their commands and Seqs (the command line's command
# and input are not used); without --joblog it is a plain run
diff_retry_failed_from_the_joblog() {
  par -j1 --joblog jl 'echo {}; exit {}' ::: 0 1 2 3; echo "rc=$?"
  par -j1 --retry-failed --joblog jl echo ::: x y; echo "rc=$?"
  cut -f1,7,9 jl
  par -j1 --retryfailed --joblog jl; echo "rc=$?"; wc -l <jl
  echo a | par --retry-failed echo; echo "rc=$?"
  par -k --retry-failed --joblog nothing-logged echo ::: z; echo "rc=$?"
}
# --limit: the command decides before each start (0 start, 1 wait, 2 kill the youngest), with $SSHLOGIN ":";
# GNU's predefined "mem N" and "load N"
diff_limit_command_gates_starts() {
  par -k --limit 'exit 0' echo ::: a b
  par -k --limit 'test "$SSHLOGIN" = :' echo ::: c
  par -k --limit 'test -e once || { touch once; exit 1; }' echo ::: d e
  par -k --limit 'mem 1k' echo ::: f; par -k --limit 'load 100000' echo ::: g
}
# --noswap, --memsuspend: on a machine that is not swapping and has the memory, every job runs
diff_noswap_and_memsuspend_run_jobs() {
  par -k --noswap echo ::: a b
  par -k --memsuspend 1k echo ::: c d
  par -k --memsuspend 1k --memfree 1k echo ::: e
}
# -o / --open-tty and --tty: without a controlling terminal the jobs read nothing (as without -o); --tty also
# means -j1 and -u unless given
diff_open_tty_without_a_terminal() {
  echo x | setsid -w "$P" -o 'cat; echo {}' ::: 1
  echo y | setsid -w "$P" --open-tty 'cat; echo {}' ::: 2
  setsid -w "$P" --tty 'sleep 0.{}; echo {}' ::: 3 1 </dev/null
  setsid -w "$P" --tty -j2 -k 'sleep 0.{}; echo {}' ::: 3 1 </dev/null
}
# --session belongs to env_parallel: the runner itself runs as without it
diff_session_is_ignored() {
  par --session; echo "rc=$?"
  par --session -k echo ::: a b; echo "rc=$?"
}
# --shell-completion with a shell GNU does not know
diff_shell_completion_bad_shell() {
  par --shell-completion foo; echo "rc=$?"
  par --shellcompletion fish; echo "rc=$?"
}
# -n0 / -N0 / -L0: each job uses up an argument but none reaches the command, {} included
diff_zero_args_insert_nothing() {
  seq 3 | par -k -n0 echo a{}b
  seq 3 | par -k -N0 echo x{}y {}
  seq 2 | par -k -L0 echo a{}b
  seq 3 | par -k -n0 echo
  par -k -N0 echo {#} ::: a b
}

# ---------------------------------------------------------------- misc options
diff_progress_options_keep_stdout() { ignore_stderr; par --bar -k echo ::: a b; par --progress -k echo ::: c; par --eta -k echo ::: d; }
# --er, --bnr, --dnr, --bner, --seqreplace, --slotreplace spell {.} {/} {//} {/.} {#} {%} otherwise; the old
# spelling is then plain text
diff_replacement_string_renames() {
  par -k -j1 --er E --bnr B --dnr D --bner X --seqreplace S --slotreplace Q echo E B D X S Q '{.}' '{/}' '{#}' '{%}' ::: a/b.c d/e.f
  par -k --er '{}' echo '{}' '{.}' ::: x.y
  par -k --er '{.}' echo '{.}' ::: x.y
  par -k --seqreplace '{}' echo '{}' ::: x.y
  par -k --er E -q echo EE ::: x.y
  par -k --bnr '{1}' echo '{1}' ::: a/x.y
  par -k --er A --er B echo A B ::: x.y
}
# --process-slot-var NAME: NAME holds the job slot less one
diff_process_slot_var() { par --process-slot-var FOO -j1 -k 'echo $FOO $PARALLEL_JOBSLOT' ::: a b c; }
# --use-*-instead-of-*: what -j N% and the progress header count as CPUs
diff_use_cores_or_sockets() {
  for o in --use-sockets-instead-of-threads --use-cores-instead-of-threads --use-cpus-instead-of-cores; do
    par $o --progress true ::: a 2>&1 | grep '^1:local'
    par $o -j 100% --progress true ::: a 2>&1 | grep '^1:local'
  done
}
# --progress / --eta / --bar on stderr: GNU's header and status formats. Timing decides the numbers and how
# often the status is redrawn, so numbers become N and the distinct lines are compared.
progress_shape() {
  tr '\r' '\n' | grep -v /dev/tty | sed 's/\x1b\[[0-9]*m//g; s/[0-9][0-9.]*/N/g' | tr -s ' ' | sort -u
}
diff_progress_eta_bar_formats() {
  for o in --progress --eta --bar; do
    echo "== $o"
    par $o -j2 'sleep 0.3; echo {}' ::: 1 2 3 2>&1 >/dev/null | progress_shape
  done
  echo "== --progress --pipe"
  seq 4 | par --progress --pipe -N2 'sleep 0.3; cat' 2>&1 >/dev/null | progress_shape
  echo "== --pipe-part --bar"
  seq 4 > in; par --pipe-part -a in --block 2 --bar 'sleep 0.3; cat' 2>&1 >/dev/null | progress_shape
  seq 4 | par --bar --pipe -N2 cat; echo "rc=$?"
  seq 4 | par --eta --pipe -N2 cat; echo "rc=$?"
}
diff_will_cite_accepted() { par --will-cite -k echo ::: a; echo "rc=$?"; }
diff_timeout_does_not_touch_quick_jobs() { par -k --timeout 20 echo ::: a b; echo "rc=$?"; }
diff_timeout_suffix() { par -k --timeout 1m echo ::: a; echo "rc=$?"; }
diff_timeout_counts_as_failure() { ignore_stderr; par -k --timeout 1 'echo start; sleep {}; echo end' ::: 0 30; echo "rc=$?"; }
diff_term_seq_custom() {
  ignore_stderr
  par --timeout 1 --term-seq INT,2000,KILL,25 'trap "echo got INT {}; exit 3" INT; sleep 30 & wait' ::: a
  echo "rc=$?"
}

# ---------------------------------------------------------------- option syntax and more input forms
diff_bundled_short_options() { par -kj1 echo ::: a b; }
diff_long_option_equals_form() { par --jobs=2 --joblog=jl -k echo ::: c; normalize_joblog jl | cut -d'|' -f1,7; }
diff_options_after_command_belong_to_it() { par -k echo -j 2 ::: x; }
diff_colsep_is_a_regex() { par -k --colsep '[,;]' echo {2}{1} ::: 'a,b' 'c;d'; }
diff_eof_string() { printf 'a\nSTOP\nb\n' | par -E STOP -k echo; }
diff_quote_utf8_and_dash_values() { par --dry-run -k echo ::: é -a --b; }
diff_joblog_with_retries() { par -j1 --retries 2 --joblog jl 'exit 1' ::: a; echo "rc=$?"; normalize_joblog jl; }
diff_job_shell_is_the_parent_shell() {
  # without $PARALLEL_SHELL the job shell is the Bourne-style shell that started the runner (bash here)
  unset PARALLEL_SHELL
  par -k 'basename "$0"; echo -e "a\tb"; : {}' ::: x
}
diff_tag_with_line_buffer() { par --tag --line-buffer -j1 -k 'echo 1; echo 2; : {}' ::: a b; }
diff_header_colon_with_arg_file() { printf 'h\n1\n2\n' >f; par --header : -k -a f echo {h}-{}; }
diff_results_csv_quoting() { par -j1 -k --results o.csv echo ::: 'a,b' 'c"d'; normalize_table , o.csv; }
diff_joblog_newline_in_command() { par -j1 --joblog jl 'echo {}
echo second' ::: a; normalize_joblog jl | od -c | sed 's/^[0-9]* *//'; }
diff_dry_run_with_joblog() { par -j1 --dry-run --joblog jl echo ::: a; echo "rc=$?"; [ -e jl ] && normalize_joblog jl; true; }
diff_verbose_prints_commands() { par -v -k -j1 echo ::: a "b c"; }

# ---------------------------------------------------------------- {= perl expression =} and --rpl
diff_perl_changes_underscore() { par -k echo '{= $_ = uc($_) =}' 'x{= s/a/A/ =}y' ::: a ba; }
diff_perl_expression_spans_command_words() { par -k echo {= '$_ .= "!"' =} ::: a b; }
diff_perl_positional() { par -k echo '{=2 $_ = uc =}' '{=-1 $_ .= "z" =}' '{=1+1=}' ::: a b ::: c; }
diff_perl_positional_missing_inserts_nothing() { par -k echo 'x{=3 $_ = uc =}y' ::: a ::: b; }
diff_perl_once_per_argument() { par -k echo 'pre{= $_ = uc =}post' ::: a b ::: c; par -k -n2 echo '{= $_ .= 1 =}' ::: a b c; }
diff_perl_positional_under_N() { par -k -N2 echo '{=2 $_ = uc =}' '{=1 =}' ::: a b c d e; }
diff_perl_with_X() { par -j1 -k -X echo 'x{= $_ = uc =}y' ::: a b c; }
diff_perl_arg_array() { par -k echo '{= $_ = "$arg[1]+$arg[2]/".scalar(@arg) =}' ::: a b ::: c; }
diff_perl_result_is_quoted() { par -k --dry-run echo '{= $_ = "a b" =}' '{= $_ = "" =}' '{= $_ = "it'"'"'s" =}' ::: 1; }
diff_perl_uq_and_Q() { par -k --dry-run echo '{= $_ = "a b"; uq() =}' '{= $_ = Q("x y") =}' '{= $_ = Q("x y"); uq =}' ::: 1; }
diff_perl_uq_runs_through_the_shell() { par -k echo '{= $_ = "a  b | tr a-z A-Z"; uq() =}' ::: 1; }
diff_perl_pQ() { par -k --dry-run echo '{= $_ = pQ($_) =}' ::: 'a\b' 'a"b' 'a@b' 'a$b' 'a{b}'; }
diff_perl_seq_slot_total() {
  par -j1 -k echo '{= $_ = total_jobs() =}' '{= $_ = seq() =}' '{= $_ = slot() =}' '{= $_ = $job->seq() =}' '{= $_ = $job->slot() =}' ::: a b c
  seq 3 | par -j1 -k echo '{= $_ = seq()."/".total_jobs() =}'
}
diff_perl_globals_persist() { par -j1 -k echo '{= $sum += $_; $_ = $sum =}' ::: 1 2 3; }
diff_perl_numbers_and_undef() { par -k echo '{= $_ = 5/2 =}' '{= undef $_ =}x' '{= $_ = 0 =}' ::: a; }
diff_perl_skip() {
  par -j1 -k --joblog jl echo '{= skip() if $_ eq "b" =}' ::: a b c
  echo "rc=$?"; normalize_joblog jl
}
diff_perl_skip_every_job() { par -j1 echo '{= skip() =}' ::: a b c; echo "rc=$?"; }
diff_perl_skip_in_dry_run() { par -j1 -k --dry-run echo '{= skip() if /b/ =}' ::: a b c; echo "rc=$?"; }
diff_perl_in_first_word_is_not_quoted() { par -k '{= $_ = "echo $_" =}' ::: 'a  b'; }
diff_perl_q_option() { par -k -q --dry-run echo '{= $_ = uc =}' ::: 'a b'; }
diff_perl_in_tagstring() { par -k --tagstring '{= $_ = uc =}' echo x ::: a 'b c'; }
diff_perl_in_results_name() { par -k --results 'r_{= $_ = uc =}' echo ::: a b >/dev/null; ls; cat r_A r_B; }
diff_perl_value_not_rescanned() { par -k echo '{= $_ .= "!" =}' '{= s/{}/x/ =}' ::: 'a{}b' '{= $_ =}'; }
diff_perl_time_helpers_format() {
  par -k echo '{= $_ = join " ", map { s/[0-9]/9/g; $_ } yyyy_mm_dd_hh_mm_ss(), yyyy_mm_dd(), hh_mm(), yyyymmddhhmmss(), hhmm() =}' ::: a
}
diff_perl_use_module() { par -k echo '{= use File::Basename; $_ = basename($_) =}' ::: /a/b/c.d; }
diff_perl_compile_error_starts_nothing() { ignore_stderr; par touch started '{= $_ = ( =}' ::: a; echo "rc=$?"; ls; }
diff_perl_compile_error_in_tagstring() { ignore_stderr; par --tagstring '{= 1 + =}' touch started ::: a; echo "rc=$?"; ls; }
diff_rpl_literal_tag() { par -k --rpl 'FOO s/a/b/' echo FOO xFOOy ::: a; }
diff_rpl_overrides_builtin() { par -k --rpl '{.} s/a/X/' echo {.} ::: a.b; }
diff_rpl_positional_forms() { par -k --rpl '{U} $_ = uc' echo {U} {2U} {-1U} {1U} ::: a ::: b; }
diff_rpl_leading_position() { par -k --rpl '{f} 1 $_ = uc($_)' echo {f} ::: a ::: b; }
diff_rpl_like_builtins() { par -k --rpl '{#} 1 $_=$job->seq()' --rpl '{:} s:(\.[^/]+)*$::' echo {#} {:} ::: a/b.tar.gz c.d; }
diff_rpl_dynamic_groups() {
  par -k --rpl '{%(.*?)} s/$$1//' echo {%.tar.gz} ::: my.tar.gz
  par -k --rpl '{(.*?)/(.*?)} $_="$$2$_$$1"' echo {swap/these} ::: -middle-
  par -k --rpl '{/(.+?)/(.*?)} s/$$1/$$2/;' echo {/replacethis/withthis} {/b/C} ::: a_replacethis_b
  par -k --rpl '{:-([^}]+?)} $_ ||= $$1' echo '{:-def}' ::: '' x
}
diff_rpl_dynamic_positional() {
  par -k -n3 --rpl '{/:%(.*?)} s:.*/(.*)$$1(\.[^/]+)*$:$1:' echo job {#}: {2} {2.} {3/:%_1} ::: a/b.c c/d.e f/g_1.h.i
}
diff_rpl_later_definition_wins() { par -k --rpl '{x} $_ = 1' --rpl '{x} $_ = 2' echo {x} ::: a; }

# ---------------------------------------------------------------- default options: $PARALLEL, config, profiles
diff_env_parallel_options() { PARALLEL='-k --tag' par echo ::: 1 2; }
diff_env_parallel_shell_quoting() {
  PARALLEL="-k --tagstring 'a b'" par echo ::: 1
  PARALLEL='-k --tagstring a\ b\$c' par echo ::: 2
  PARALLEL='-k --tagstring "x y"' par echo ::: 3
}
diff_env_parallel_may_start_the_command() { PARALLEL='-k echo pre' par post ::: 1; }
diff_env_parallel_command_line_wins() { PARALLEL='-j1 --tagstring A' par -k --tagstring B echo ::: 1; }
diff_config_file() {
  printf -- '-k\n# a comment\n--tagstring <{}>\n' >"$HOME/.parallel/config"
  par echo ::: 1 2; rm "$HOME/.parallel/config"
}
diff_config_then_env_then_command_line() {
  printf -- '--tagstring C\n' >"$HOME/.parallel/config"
  par -k echo ::: 1; PARALLEL='--tagstring E' par -k echo ::: 2; PARALLEL='--tagstring E' par -k --tagstring L echo ::: 3
  rm "$HOME/.parallel/config"
}
diff_config_line_split_into_words() { printf -- '--tagstring a b\n' >"$HOME/.parallel/config"; par -k ::: 'echo x'; rm "$HOME/.parallel/config"; }
diff_profile_replaces_config() {
  printf -- '--tag\n' >"$HOME/.parallel/config"; printf -- '-k\n' >"$HOME/.parallel/p2"
  par -J p2 echo ::: 1 2; par --profile p2 echo ::: 3 4; par --profile=p2 echo ::: 5
  rm "$HOME/.parallel/config" "$HOME/.parallel/p2"
}
diff_profile_with_command_prefix() { printf -- '-k --tag echo pro\n' >"$HOME/.parallel/p1"; par -J p1 x ::: 1 2; rm "$HOME/.parallel/p1"; }
diff_profile_relative_and_absolute_paths() {
  printf -- '-k --tagstring R\n' >rel; par -J ./rel echo ::: 1; par -J "$PWD/rel" echo ::: 2
}
diff_profile_missing_is_ignored() { par -k -J no_such_profile echo ::: 1; echo "rc=$?"; }
diff_parallel_home() {
  mkdir ph; printf -- '--tagstring H\n' >ph/config; printf -- '--tagstring P\n' >ph/prof
  PARALLEL_HOME=$PWD/ph par -k echo ::: 1; PARALLEL_HOME=$PWD/ph par -k -J prof echo ::: 2
}
diff_plain_ignores_defaults() {
  printf -- '--tagstring C\n' >"$HOME/.parallel/config"
  PARALLEL='--tag' par --plain -k echo ::: 1; rm "$HOME/.parallel/config"
}

# ---------------------------------------------------------------- small GNU options and behaviours
diff_n0_passes_no_argument() { par -k -n 0 echo x ::: a b; par -k -n0 echo y ::: c; }
diff_j_fraction_is_an_error() {
  # (GNU prints its usage on stdout after the error: only the status and the absence of jobs compare)
  for j in 1.5 2.0 +1.0 .5; do par -j "$j" touch started ::: a >/dev/null 2>&1; echo "$j rc=$?"; done
  ls; par -j 50.5% echo ok ::: a
}
diff_t_prints_commands_on_stderr() { par -j1 -k -t echo ::: a "it's" 'b c' 2>err; echo "rc=$?"; cat err; }
diff_number_of_cpus_cores_threads_sockets() {
  par --number-of-cpus; par --number-of-cores; par --number-of-threads; par --number-of-sockets
}
diff_minversion() { par --minversion 20200101; echo "rc=$?"; par --minversion 20221122; echo "rc=$?"; par --minversion 20300101; echo "rc=$?"; }
diff_arg_sep() { par -k --arg-sep ,, echo ,, a b; par -k --argsep ,, echo ,, a ,,+ 1 2; par -k --arg-sep ,, echo ::: ,, x; }
diff_arg_file_sep() { printf 'x\ny\n' >f; par -k --arg-file-sep // echo // f; par -k --arg-file-sep // echo ::: a // f; }
diff_old_l_and_e_options() {
  printf 'a\nb\nc\n' | par -k -l echo; printf 'a\nb\nc\n' | par -k -l2 echo
  printf 'a\nSTOP\nc\n' | par -k -eSTOP echo; printf 'a\nSTOP\nc\n' | par -k -e -- echo
  # an optional value may be the next word, as Getopt takes it: here "echo" is the end-of-file string
  printf 'echo a\necho\nb\n' | par -k -e echo 2>&1
  par -k -i echo x{} ::: a 2>/dev/null; echo "rc=$?"; par -k -i -- echo x{} ::: a
}
diff_aliases_jl_gnu_keeporder() {
  par -j1 --jl jl -k echo ::: q; normalize_joblog jl | cut -d'|' -f1,7,9
  par --gnu -k echo ::: g
  # --no-keep-order beats -k wherever it stands: the second job ends, and prints, first
  par -j2 -k --no-keep-order -k 'sleep {}; echo {}' ::: 0.5 0
}

# ---------------------------------------------------------------- command length, argv[0], the rest of the local options
diff_command_line_too_long_names_the_input() {
  # The jobs before the long one run; the long one is refused naming its input; nothing after it; exit 255.
  { printf 'a\nb\n'; head -c 70000 /dev/zero | tr '\0' y; printf '\nc\n'; } >in.txt
  par -j1 -k echo :::: in.txt 2>err; echo "rc=$?"; cat err >&2
  par -j1 -k echo x{}y ::: 1 "$(head -c 64000 /dev/zero | tr '\0' z)" 2>err; echo "rc=$?"; cat err >&2
  # several sources: the message shows the whole record; GNU refuses before running the first job here
  par -j1 -k echo ::: "$(head -c 70000 /dev/zero | tr '\0' w)" a ::: 1 2>err; echo "rc=$?"; cat err >&2
}
diff_command_line_too_long_with_s() {
  par -j1 -k -s 20 echo ::: short 0123456789abcdefghij more 2>err; echo "rc=$?"; cat err >&2
  par -s 100000 -k echo ::: fits; echo "rc=$?"
}
diff_X_packs_to_gnu_limit() {
  seq 1 30000 | par -j1 -k -X echo | awk '{print NF, length($0)}'
  seq 1 30000 | par -j1 -k -X echo a{}b | awk '{print NF, length($0)}'
  seq 1 3000 | par -j1 -k -s 1000 -X echo | awk '{print NF, length($0)}'
  seq 1 600 | par -j1 -k -s 1000 -m echo | awk '{print NF, length($0)}'
}
diff_max_line_length_allowed_and_show_limits() {
  par --max-line-length-allowed; echo "rc=$?"
  par --max-line-length-allowed echo ::: not-run; echo "rc=$?"
  par --show-limits -k echo ::: a b; echo "rc=$?"
  par --show-limits -s 500 echo ::: c </dev/null
}
diff_program_sees_its_name_as_written() {
  par -k cat ::: /proc/self/cmdline | tr '\0' ' '; echo
  par -k sh -c 'echo $0' ::: x
  mkdir bin; printf '#!/bin/sh\necho "I am $0"\n' >bin/me; chmod +x bin/me
  PATH=$PWD/bin:$PATH par -k me ::: 1
}
diff_exported_function_shadowing_a_program() {
  # bash imports exported functions, so the job shell runs the function, never the program of that name
  # (with a shell that does not import them, both run the program).
  cat() { echo "my cat: $*"; }; export -f cat
  myfn() { echo "fn $1"; }; export -f myfn
  PARALLEL_SHELL=/bin/bash par -k cat ::: a b; PARALLEL_SHELL=/bin/bash par -k myfn ::: c
  PARALLEL_SHELL=/bin/bash par -k --env myfn myfn ::: d; PARALLEL_SHELL=/bin/sh par -k cat ::: /dev/null
}
diff_warning_when_input_is_a_terminal() {
  # (under a pseudo-terminal from script(1): stdin and stderr are the terminal; its stdin here ends at once)
  local runner="s/^\(parallel\|sluice\): /RUNNER: /"
  script -qec "$P -a - echo" /dev/null </dev/null | tr -d '\r' | sed "$runner"
  script -qec "$P echo 2>/dev/null" /dev/null </dev/null | tr -d '\r' | sed "$runner"
  script -qec "$P echo ::: no-warning" /dev/null </dev/null | tr -d '\r' | sed "$runner"
  script -qec "$P --pipe cat" /dev/null </dev/null | tr -d '\r' | sed "$runner"
}
diff_nice_sets_the_jobs_nice_value() {
  par -k --nice 7 'cut -d" " -f19 /proc/self/stat; echo {}' ::: a
  par -k --nice 25 'cut -d" " -f19 /proc/self/stat' ::: b
  par -k 'cut -d" " -f19 /proc/self/stat' ::: c
  par --nice x echo ::: d >/dev/null 2>&1; echo "rc=$?"; par --nice 2.5 echo ::: e >/dev/null 2>&1; echo "rc=$?"
}
diff_env_names_and_underscore() {
  export FOO=1 BAR=2
  par -k --env FOO 'echo $FOO $BAR' ::: a; par -k --env FOO,BAR --env BAR 'echo $BAR' ::: b
  ignore_stderr; par --env _ echo ::: c; echo "rc=$?"
  par --record-env echo ::: not-run; echo "rc=$?"; test -s "$HOME/.parallel/ignored_vars" && echo recorded
  grep -qx FOO "$HOME/.parallel/ignored_vars" && echo FOO-ignored
  par -k --env _ 'echo $FOO' ::: d; echo "rc=$?"; rm "$HOME/.parallel/ignored_vars"
}
diff_shebang() {
  printf '#!%s --shebang -r -k echo\nA\nB\n\nC D\n' "$P" >script; chmod +x script; ./script; echo "rc=$?"
  printf '#!%s --shebang -k --tag echo\nx\n' "$P" >tagged; chmod +x tagged; ./tagged
  printf 'first\nsecond\n' >in.txt; par -k --skip-first-line -a in.txt echo; par -k --skip-first-line echo ::: a b
}
diff_shebang_wrap() {
  printf '#!%s --shebang-wrap -k /bin/sh\necho "script got $1 in ${0##*/}"\n' "$P" >wrapped; chmod +x wrapped
  ./wrapped a b; echo "rc=$?"; ./wrapped; echo "rc=$?"
  printf '#!%s --shebang-wrap -k --tag /usr/bin/perl\nprint "perl: @ARGV\\n";\n' "$P" >wp; chmod +x wp; ./wp 1 2
}
diff_shuf_runs_every_job_once() {
  par --shuf -j2 echo ::: a b c d e f g h | sort
  par --shuf -k -j1 echo {#} ::: a b c d | cut -d' ' -f1
  par --shuf echo {1}{2} ::: 1 2 ::: x y | sort; seq 20 | par --shuf -N3 echo | wc -w
}
diff_csv_fields() {
  printf 'a,"b,c",d\n"x ""y""",2,3\n' | par -k --csv echo {2}
  printf 'a,"b,c",d\n' | par -k --csv -C , echo {3} {1}; printf 'a;"b;c"\n' | par -k --csv --colsep ';' echo {2}
  printf 'a,"multi\nline",z\n' | par -k --csv echo {2} {3}
  printf ' a , b \n' | par -k --csv printf '[%s]' {1} {2}; echo; printf ' a , b \n' | par -k --csv -C , printf '[%s]' {1} {2}; echo
  printf 'a,"b""c",\n' | par -k --csv printf '[%s]' {1} {2} {3}; echo
  printf 'h1,h2\n1,"2,5"\n' | par -k --csv --header : echo {h2}
}
diff_csv_bad_input() {
  ignore_stderr  # (GNU's is Perl's die message, naming its own source line)
  printf 'a,"b\n' | par -k --csv echo {1}; echo "rc=$?"; printf 'a,b"c\n' | par -k --csv echo {1}; echo "rc=$?"
}
diff_group_by_with_pipe() {
  printf 'a\t1\na\t2\nb\t3\nb\t4\nb\t5\nc\t6\n' >g.tsv
  par --pipe --group-by 1 -k 'echo JOB; cat' <g.tsv
  par --pipe --group-by 1 -N1 -k 'echo JOB; cat' <g.tsv
  printf 'x,1\ny,1\nz,2\n' | par --pipe --group-by 2 --colsep , -N1 -k 'echo JOB; cat'
  printf 'k 1\nk 2\nj 3\n' | par --pipe --group-by 1 -C ' ' -N1 -k 'echo JOB; cat'
}
diff_X_m_positional_strings_two_sources() {
  # With several arguments in a job, {n} counts the job's values across its arguments; only a word with
  # {} is repeated, once per value, under -X.
  for c in 'echo {1}' 'echo a{1}b' 'echo {-1}' 'echo {2/.}' 'echo {1} {2}' 'echo x{}y' 'echo {1.}'; do
    par -j1 -k -X $c ::: a/b.c d/e.f ::: 1 2; par -j1 -k -m $c ::: a/b.c d/e.f ::: 1 2
  done
}
diff_X_m_N_positional_strings_one_source() {
  for c in 'echo {1}' 'echo {-1}' 'echo {2}' 'echo {1}{2}' 'echo {3} {}'; do
    par -j1 -k -X $c ::: a b c; par -j1 -k -m $c ::: a b c; par -j1 -k -X -N2 $c ::: a b c
  done
  par -j1 -k -N2 echo {2} ::: a b ::: 1 2; par -j1 -k -N2 echo {-1} {3} ::: a b ::: 1 2
}
diff_eta_and_progress_print_gnus_header() {
  # (the status lines are timing, and so is GNU's "Computer:..." legend, printed once a job runs at one of its
  # 0.2 s ticks: only the header before it is compared)
  local o
  for o in --eta --progress '--eta --progress'; do
    echo "== $o"; par $o -j2 true ::: 1 2 3 2>&1 >/dev/null | tr '\r' '\n' | grep -v '^ETA\|^local\|/dev/tty\|^$\|^Computer:'
  done
}
diff_pipe_r_drops_blank_lines() {
  printf 'a\n\n' | par --pipe -r -N1 -k 'echo [$(cat)]'
  printf '\n \n\t\n' | par --pipe -r -k 'echo ran; cat'; echo "rc=$?"
  printf 'a\n  \nb\n\n\nc\n' | par --pipe -r -k cat; printf 'a\n  \nb\n' | par --pipe -k cat | od -c | head -2
  printf 'x\n\ny\n' | par --pipe -r -N1 -k 'echo [$(cat)]'; printf 'p\n\n' | par --pipe -r -L1 -k 'echo [$(cat)]'
}
diff_pipe_csv_keeps_records_whole() {
  # --pipe --csv: blocks end only after a whole CSV record (a quoted field may hold newlines); -N is ignored.
  printf 'a,"b\nc"\nd\n' | par --pipe --csv -N1 -k 'echo JOB; cat'
  { for i in 1 2 3 4 5 6 7 8; do printf '%s,"multi\nline %s"\n' $i $i; done; } | par --pipe --csv --block 30 -k 'echo JOB; cat'
}
diff_pipe_header_heads_every_block() {
  printf 'h\n1\n2\n' | par --pipe --header : -N1 -k 'echo JOB; cat'
  printf 'name\tv\na\t1\na\t2\nb\t3\n' | par --pipe --group-by name -N1 -k 'echo JOB; cat'
}
diff_shebang_wrap_pipe() {
  printf '#!%s --shebang-wrap --pipe -k /bin/cat\n# the script\n' "$P" >sw; chmod +x sw; printf '1\n' >f1
  echo STDIN | ./sw f1 | tail -n +2; echo "rc=$?"
  # no arguments: the script reads standard input
  echo STDIN | ./sw | tail -n +2; echo "rc=$?"
  # an empty file name is an input file that cannot be opened
  echo STDIN | ./sw "''"; echo "rc=$?"
}

# ---------------------------------------------------------------- --resume after a kill, --semaphore, --color/--ctag/--files/--compress, --delay/--load/--memfree
# A job the run kills as it stops (SIGTERM, --halt now) is neither logged nor printed: --resume runs it again.
resume_killed_job() {  # resume_killed_job SIGNAL|halt
  local cmd='if [ -e go ] || [ {} = 1 ]; then echo done {}; else touch running; sleep 30; fi'
  if [ "$1" = halt ]; then
    par -j2 --joblog jl --halt now,fail=1 "$cmd; [ {} = 1 ] && sleep 1 && exit 3; true" ::: 1 2 3 2>/dev/null
    echo "rc=$?"
  else
    par -j2 --joblog jl "$cmd" ::: 1 2 3 & local pid=$!
    wait_until 20 test -e running || fail "job 2 never started"
    wait_until 20 grep -q 'done 1' jl || fail "job 1 never logged"
    kill "-$1" "$pid"; wait "$pid"; echo "rc=$?"
  fi
  normalize_joblog jl | cut -d'|' -f1,7,8,9
  touch go
  par -j2 -k --joblog jl --resume "$cmd" ::: 1 2 3; echo "rc=$?"
  normalize_joblog jl | cut -d'|' -f1,7,8 | sort
}
diff_resume_reruns_job_killed_by_sigterm() { resume_killed_job TERM; }
diff_resume_reruns_job_killed_by_halt_now() { ignore_stderr; resume_killed_job halt; }
diff_halt_now_killed_job_output_not_printed() {
  ignore_stderr; par -j2 --halt now,fail=1 'echo start {}; sleep {}; exit 1' ::: 1 30; echo "rc=$?"
}
diff_resume_with_results_and_no_joblog() {
  par --results res 'echo {}; exit {}' ::: 0 1 2; echo "rc=$?"
  par --resume --results res 'echo again {}; exit {}' ::: 0 1 2 3; echo "rc=$?"
  find res -name stdout | sort | xargs grep .
  # --resume-failed reads only a joblog: with --results alone it runs everything again
  par --resume-failed --results res 'echo again2 {}' ::: 0 1 4; echo "rc=$?"
  find res -name stdout | sort | xargs grep .
  par --resume --results 'out/{}' 'echo t{}' ::: a b; par --resume --results 'out/{}' 'echo u{}' ::: a b c; cat out/a out/b out/c
}
diff_resume_needs_joblog_or_results() {
  ignore_stderr; par --resume echo ::: a 2>err; echo "rc=$?"; grep -c 'require --joblog or --results' err
}
diff_resume_with_results_csv_warns() { par --resume --results x.csv echo ::: a b; echo "rc=$?"; }
# --semaphore runs one command; --fg returns its status (a signal as 128+N), it reads our stdin, {} is nothing
diff_semaphore_fg_status_stdin_and_no_argument() {
  par --semaphore --fg 'exit 3'; echo "rc=$?"
  par --semaphore --fg 'kill -9 $$'; echo "rc=$?"
  echo hi | par --semaphore --fg cat; echo "rc=$?"
  par --semaphore --fg echo a {} b; par --fg echo fg implies semaphore; par --id n --fg echo id too
}
diff_semaphore_bg_then_wait() {
  par --semaphore --id w 'sleep 0.5; echo bg >out1'; echo "rc=$?"
  par --semaphore --id w 'echo bg2 >out2'; echo "rc=$?"
  par --semaphore --id w --wait; echo "rc=$?"; cat out1 out2
  sleep 1  # GNU's background copy still cleans up after it released the slot: let it, before the directory goes
}
# --color: every line on the job's colour (GNU's table, by sequence number), \r restarting it, a last line ended
diff_color_ctag_ctagstring() {
  # (all 307 colours were compared by hand with seq 400; a case that long times out under load)
  seq 30 | par -j4 -k --color 'echo {}; printf "a\rb\nc"; echo e{} >&2' 2>&1 | od -c | md5sum
  par -k --color echo ::: a b | od -c
  par -k --ctag echo ::: a 'b c' | od -c
  par -k --ctagstring 'X{}' 'echo {}; echo err >&2' ::: a 2>&1 | od -c
  par -k --color --tag echo ::: q | od -c
}
# --delay, --load, --memfree: what runs is the same; (their timing is in check_ cases)
diff_delay_load_memfree_run_everything() {
  # (few runs: GNU parallel takes seconds each on a loaded machine)
  par -k --delay 0.001m --load 100000 echo ::: a b; par -k --delay 0.05auto --load 0 --memfree 1k echo ::: c
  par -k --load 1000% --memfree 1M echo ::: d; par -k --load +100 echo ::: e
}
# --files: the name of a file ($TMPDIR/parXXXXX.par, mode 0600) holding each job's stdout; stderr is dropped
diff_files_prints_names_of_output_files() {
  mkdir t; export TMPDIR=$PWD/t
  par -k --files 'echo {}; echo err{} >&2' ::: a b >names; echo "rc=$?"
  sed "s|$PWD/t/par[A-Za-z0-9_]\{5\}\.par|T/parX.par|" names; xargs cat <names; stat -c %a $(cat names)
  par -k --files --tag echo ::: c | sed "s|$PWD/t/par[A-Za-z0-9_]\{5\}\.par|T/parX.par|"
  par -k --files -u echo ::: u; par -k --files --lb echo ::: l | xargs cat
  par -k --files --results res echo ::: r; ls t | wc -l
}
# --cat: each --pipe block in a temp file named by {} (appended when absent) and $PARALLEL_TMP, gone afterwards
diff_pipe_cat_block_in_a_file() {
  mkdir t; export TMPDIR=$PWD/t
  seq 6 | par --pipe -N2 -k --cat 'wc -l <{}; cat {} | tr "\n" +; echo; cat; test "$PARALLEL_TMP" = {} && echo same'
  seq 3 | par --pipe -N2 -k --cat echo | sed "s|$PWD/t/par[A-Za-z0-9_]\{5\}$|T/parX|"
  seq 4 | par --pipe -N2 -k --cat --joblog jl 'cat {}'; normalize_joblog jl | cut -d'|' -f1,5-8 | sort
  ls t | wc -l
}
# --pipe-part: blocks cut from the -a file where GNU cuts them (first recend+recstart after the last cut + --block)
diff_pipe_part_cuts_like_gnu() {
  seq 30000 >big; printf 'abc' >small
  par --pipe-part -a big --block 10k -k 'wc -lc'
  par --pipe-part -a big --block 1k --recend '5\n' -k 'wc -lc' | md5sum
  par --pipe-part -a big --block 30k --recstart 1 -k 'wc -lc'
  par --pipepart -a small -a big --block 100k -k wc -c; par --pipe-part --block 40k -k wc -l :::: big small
  par --pipe-part -a big --block 2k -k 'wc -l' | sort | uniq -c
}

# ---------------------------------------------------------------- --shard/--bin, --filter, --template, --parens,
# --shell-quote, -x, --regexp, --rrs, --block-timeout, --dry-run with the --pipe wrappers, -N0
# --bin: the column's value modulo the job count picks the job (1 the first, 0 the last); a Perl expression may
# rewrite it; a column name comes from the header line, which no job gets
diff_bin_deals_lines_by_column_value() {
  seq 10 | par --pipe --bin 1 -j3 -k 'echo job {#}; cat'; echo "rc=$?"
  seq 10 | par --pipe --bin '1 $_*=2' -j3 -k 'echo job {#}; cat | tr "\n" " "; echo'
  printf 'a,3\nb,4\nc,5\n' | par --pipe --bin 2 --colsep , -j2 -k 'echo job {#}; cat'
  printf 'id,v\n1,3\n2,4\n' | par --pipe --bin id --colsep , -j2 -k 'echo job {#}; cat'
  seq 10 | par --pipe --bin 1 -j1 -k 'echo job {#}; cat' | tr '\n' ' '; echo
  seq 1000 | par --pipe --bin 1 -j4 --block 1k 'wc -l' | sort -n
}
# --shard: equal keys meet in one job (which job a key goes to is a hash: GNU's changes from run to run)
diff_shard_keeps_equal_keys_together() {
  printf '%s\n' a,1 b,2 c,3 a,4 b,5 a,6 d,7 e,8 | par --pipe --shard 1 -j3 'cut -d, -f1 | sort -u' | sort | uniq -c
  printf '%s\n' a1,x b2,y a3,z c4,w | par --pipe --shard '1 s/\d//g' -j2 'tr -d 0-9 | cut -d, -f1 | sort -u' | sort | uniq -c
  printf 'k\tv\na\t1\nb\t2\na\t3\n' | par --pipe --shard k --colsep '\t' -j2 'cut -f1 | sort -u' | sort | uniq -c
  seq 3000 | par --pipe --shard 1 -j4 --block 1k 'wc -l' | awk '{n += $1} END {print n}'
}
# --filter: Perl after substitution; a false one skips the job, counted as failed (GNU's Exitval -2)
diff_filter_skips_jobs() {
  par -k --filter '{1} < {2}+1' echo ::: 1 2 3 ::: 1 2 3; echo "rc=$?"
  par -k --filter '{} > 1' --filter '{} < 3' echo ::: 1 2 3; echo "rc=$?"
  par -k --filter '"{}" eq "a b"' echo ::: "a b" c; echo "rc=$?"
  par -k --filter '{#} > 1' --dry-run echo ::: 1 2 3; echo "rc=$?"
  seq 3 | par -k --pipe -N1 --filter '{#} > 1' cat; echo "rc=$?"
  par -k --filter '{} <<< (' echo ::: 1 2; echo "rc=$?"
  par -j1 --joblog jl --filter '{} > 1' echo ::: 1 2 >/dev/null; normalize_joblog jl | cut -d'|' -f1,7-9
}
# --template: the file with the job's replacement strings, written to a name with them; --cleanup removes it
diff_template_writes_a_file_per_job() {
  printf 'X {} Y {#}\n{=$_=uc($_)=} {1.}\n' >my.tmpl
  par -k --tmpl my.tmpl=out{#}.t 'cat out{#}.t' ::: a.x b.y; echo "rc=$?"; ls out*; stat -c %a out1.t; rm -f out*
  par -k --cleanup --template my.tmpl=c{}.t 'cat c{}.t' ::: p q; ls c* 2>&1 | wc -l
  par --dry-run --tmpl my.tmpl=d{#}.t 'cat d{#}.t' ::: z; cat d1.t
}
# --parens: other brackets for {= =}, split in two halves
diff_parens_replace_braces() {
  par --parens ,,,, echo foo is ,,s/I/O/g,, ::: FII
  par -k --parens '[[]]' echo '[[$_.=1]]' '{= not perl =}' ::: a b
  par --parens '<<>>' echo '<<2 $_=uc>>' ::: a ::: b
}
# --shell-quote: the composed command, quoted (once per option), printed instead of run
diff_shell_quote_prints_quoted_commands() {
  par -k --shell-quote echo 'a b' '$x' "it's" ::: 1 2; echo "rc=$?"
  par --shell-quote --shell-quote echo 'a b' ::: x
  printf 'a b\n$c\n' | par -k --shell-quote
  printf 'a b\n' | par -k --shell-quote echo {} foo
  par --shell-quote --dry-run echo 'a b' ::: x
}
# -x/--exit: GNU stops at a command line longer than -s with or without it
diff_exit_x_option() {
  par -x -s 20 echo ::: aaaaaaaaaaaaaaaaaaaaaaaaaaa b; echo "rc=$?"
  par --exit -k -s 20 echo ::: aaa bbb; echo "rc=$?"
}
# --regexp: --recstart/--recend as regular expressions; --rrs: the separators leave the blocks
diff_regexp_and_remove_rec_sep() {
  printf 'a\nb\nc\nd\n' | par -k --pipe -N2 --rrs 'cat; echo .'
  printf 'a;b;c;d;' | par -k --pipe -N2 --recend ';' --rrs 'cat; echo .'
  printf '>a\nx\n>b\ny\n' | par -k --pipe -N1 --recstart '>' --remove-rec-sep 'cat; echo .'
  printf 'a\n>b\n>c\n' | par -k --pipe -N1 --recstart '>' --recend '\n' --removerecsep 'cat; echo .'
  printf 'a\nb\nc\nd\n' | par -k --pipe --block 4 --rrs 'cat; echo .'
  printf 'a\nb\nc\nd\n' >f4; par -k --pipe-part -a f4 --block 4 --rrs 'cat; echo .'
  printf 'a1b2c3d4' | par -k --pipe -N1 --regexp --recend '[0-9]' 'cat; echo .'
  printf 'a1b2c3d4' | par -k --pipe -N1 --regexp --recend '[0-9]' --rrs 'cat; echo .'
  printf 'xAyBzC' | par -k --pipe -N1 --regexp --recend '' --recstart '[A-Z]' 'cat; echo .'
  printf 'a12b345c6' | par -k --pipe -N2 --regexp --recend '\d+' 'cat; echo .'
  printf 'h1\nx\nh2\ny\n' | par -k --pipe --regexp --recstart 'h\d' -N1 'cat; echo .'
  printf 'h1\nx\nh2\ny\n' | par -k --pipe --regexp --recstart 'h\d' --recend '\n' --rrs -N1 'cat; echo .'
  seq 20 | par -k --pipe --block 10 --regexp --recend '5\n' 'cat | wc -l' 2>/dev/null
}
# --block-timeout: a block not full in time goes with the records read so far
diff_block_timeout_sends_partial_block() {
  (echo a; sleep 2.5; echo b) | par -k --pipe --bt 1 'cat; echo .'; echo "rc=$?"
  seq 5 | par --pipe --block-timeout 1s wc -l
}
diff_bad_block_timeout() { par --pipe --blocktimeout 0.5 cat </dev/null; echo "rc=$?"; }
diff_bad_template_file() { par --tmpl nofile=x echo ::: a; echo "rc=$?"; }
# --dry-run with the --pipe wrappers: {} is $PARALLEL_TMP under --cat/--fifo, --tee shows its fifos,
# --round-robin prints nothing. With input GNU usually dies of SIGPIPE (exit 141, as sluice does), but on a
# loaded machine its block write can win the race and it prints the command and exits 0: not compared.
diff_dry_run_with_pipe_wrappers() {
  seq 4 | par --dry-run --pipe -N2 --cat -k 'wc -l {}'; echo "rc=$?"
  seq 4 | par --dry-run --pipe -N2 --fifo -k 'wc -l {}'; echo "rc=$?"
  seq 4 | par --dry-run --pipe -N2 --cat -k 'wc -l'; seq 4 | par --dry-run --cat -N2 -k 'wc -l'
  seq 4 | par --dry-run --pipe --tee -k 'wc -l {}' ::: a b c | sed 's|/fif[A-Za-z0-9]\{5\}|/F|g'; echo "rc=$?"
  true | par --dry-run --pipe --round-robin -j2 -k 'wc -l'; echo "rc=$?"
}
# -N0 with several input sources: an empty value per source, unquoted
diff_n0_with_several_sources() {
  par -N0 -k --dry-run echo x ::: 1 2 | od -c; par -N0 -k --dry-run echo x ::: 1 ::: a ::: b | od -c
  par -N0 -k --dry-run echo x {} y ::: 1 ::: a; par -N0 -k echo x {} y ::: 1 ::: a
  par -N0 -k --dry-run echo x {1} y ::: 1 ::: a; par -n0 -k --dry-run echo x ::: 1 ::: a | od -c
  par -N0 -k --tag echo x ::: 1 ::: a | od -c; par -N0 -k echo x ::: 1 2 ::: a b
}
# Found by running GNU parallel's own local tests against sluice: each of these differed.
# -d with several characters, and -d splitting ::: values as it splits input
diff_delimiter_several_chars_and_values() {
  printf 'x\r\ny z\r\n' | par -k -d '\r\n' echo '<{}>'
  par -k -d , echo '<{}>' ::: 'p,q' r
  par -k -0 echo '{#}' ::: "$(printf 'one\ntwo')"
}
# DOS text on stdin without -d: one hint once the first three values end in CR
diff_crlf_input_hint() {
  printf 'u\r\nv\r\nw\r\nx\r\n' | par -j1 -k echo | od -c | head -2
  printf 'u\r\nv\nw\r\n' | par -j1 -k echo | wc -l
}
# -L: a line ending in a blank goes on in the next; -E is seen before the lines are joined
diff_L_blank_continues_line() {
  printf 'p\nq \nr\ns\n' | par -k -L2 echo
  par -k -L1 echo '[{}]' ::: 'i ' j k
  printf 'p \nSTOP\nq\n' | par -k -L1 -E STOP echo
}
# -E ends every input source, ::: values too
diff_eof_string_every_source() {
  seq 9 | par -k -E 3 echo :::: - ::: 7 8 3 9
}
# --replace's value is optional (as -i), so an option after it stays an option
diff_replace_long_optional() {
  printf 'a\nQ\nb\n' | par -k --replace -eQ echo '<{}>'
  par -k --replace XX echo XX ::: m
}
# --header : without --colsep splits on tabs (and trims nothing)
diff_header_alone_splits_on_tabs() {
  printf 'k\tw\n 7 \tsix\n' | par --header : echo '[{w}][{k}]'
}
# ::::+ with nothing before it links its files to each other
diff_quad_colon_plus_alone() {
  par -k echo ::::+ <(seq 4) <(printf 'x\ny\n') <(seq 5 8)
}
# a halt names the failed job after that job's own output
diff_halt_note_after_output() {
  par -j1 --halt now,fail=1 'echo out{};exit {}' ::: 0 2 0 2>&1 | sed 's/^[a-z]*: /RUNNER: /'
  par -j1 --halt soon,fail=1 'echo out{};exit {}' ::: 3 0 2>&1 | sed 's/^[a-z]*: /RUNNER: /'
}
# bad --halt values and --pipe without a command: GNU's own words
diff_halt_and_pipe_bad_input() {
  par --halt later echo ::: 1; echo "rc $?"
  par --halt soon echo ::: 1; echo "rc $?"
  par --halt now,fail echo ::: 1; echo "rc $?"
  seq 2 | par --pipe; echo "rc $?"
}
# retired options stop with the whole list; --tollef unless --gnu
diff_retired_options() {
  par -Y echo ::: 1; echo "rc $?"
  par -W /tmp echo ::: 1; echo "rc $?"
  par --tollef echo ::: 1; echo "rc $?"
  par --tollef --gnu echo ::: 1; echo "rc $?"
}
# -X/-m pack to the length each argument really adds ({} used often, {.} shorter than {})
diff_X_packs_exact_length() {
  seq 2000 | par -j1 -X 'echo {} {} {} {} {} {} {} {} {} {} | wc -c'
  seq 30 | sed 's/$/.txt/' | par -j1 -s 90 -k -X echo 'p{}q{.}r'
  seq 30 | sed 's/$/.txt/' | par -j1 -s 90 -k -m echo 'p{}q{.}r'
}
# --tagstring under -X repeats a word holding {} per argument
diff_tagstring_under_X() {
  par -j1 -X --tagstring 'T{}t {#}' echo ::: 5 6 7
}
# $PARALLEL_ENV: shell code (or a file of it) run before every command
diff_parallel_env_prelude() {
  PARALLEL_ENV="w='from text'" par echo '$w' ::: 1
  echo "w='from file'" > envf
  PARALLEL_ENV=$PWD/envf par echo '$w' ::: 1
}
# $job->skip() in a Perl expression
diff_perl_job_skip_method() {
  ignore_stderr
  par -k echo {= '$_ eq "b" and $job->skip()' =} ::: a b c; echo "rc $?"
}
# a missing $PARALLEL_HOME is made
diff_parallel_home_is_made() {
  PARALLEL_HOME=$PWD/newhome par echo ::: ok; test -d newhome && echo made
}
# -N and -L repeat a word holding {} per argument (as -X does; -n does not), and a positional {n} in that
# word stays the job's own
diff_N_L_repeat_context_word() {
  seq 6 | par -k -N3 echo 'x{}y'
  seq 4 | par -k -L2 echo '<{}>'
  seq 4 | par -k -n2 echo 'x{}y'
  seq 4 | par -k -N2 echo 'p{1}q{}r'
  par -j1 -k -X echo 'p{1}q{}r' ::: 1 2 ::: u v
}
# --verbose is -t (standard error); -v prints on standard output; --trim's error in GNU's words
diff_verbose_long_goes_to_stderr() {
  par -k --verbose echo 'v{}' ::: 1 2 2>/dev/null
  par -k --verbose echo 'w{}' ::: 3 2>&1 >/dev/null
  par -k -v echo 'x{}' ::: 4 2>/dev/null
  par --trim q echo ::: 1; echo "rc $?"
}
# --results x.json with two sources: GNU's "V" list has no space after its commas
diff_results_json_two_sources() { par -k -j1 --results two.json echo ::: a ::: 'b c' d; normalize_json two.json; }
# --results -.csv / -.tsv / -.json: the records go to standard output (no file is made)
diff_results_table_to_stdout() {
  par -k -j1 --results -.csv 'echo {1}; exit {2}' ::: a b ::: 0 2 >o.csv; echo "rc=$?"; normalize_table , o.csv
  par -k -j1 --results -.tsv echo ::: a 'b c' >o.tsv; normalize_table "$(printf '\t')" o.tsv
  par -k -j1 --results -.json echo ::: a 'b"c' >o.json; normalize_json o.json
  ls
}
# A NUL in an input value becomes the text \0, with GNU's three warning lines per value holding one
diff_nul_in_input_warns() {
  printf 'a\0b\nc\0d\0e\nf\n' | par -k -j1 echo
  printf 'x\0y,z\n' | par -k -j1 -d, echo {}
  printf 'p\0q\tr\n' | par -k --colsep '\t' echo {2} {1}
  printf 'u\0v\n' | par -0 -k echo | od -c
}
# -s below 16: allowed, and a command that reaches it is "too long"; -s 0 is the default
diff_max_chars_small() {
  par -s 0 echo ::: a; echo "rc=$?"
  par -s 7 echo ::: a; echo "rc=$?"
  par -s 6 echo ::: a; echo "rc=$?"
  par -s 1 echo ::: a; echo "rc=$?"
}
# -X/-m: once the rest of the input fits in one command line it is spread over the job slots, not before
diff_X_spreads_only_the_rest() {
  par -j2 -k -s 15 -X echo ::: a b c
  par -j2 -k -s 20 -X echo ::: a b c d e f g h
  par -j2 -k -s 30 -X echo ::: a b c d e f g h i j k l m n o p q r s t
  par -j3 -k -s 15 -X echo ::: a b c d e f g h i
  par -j3 -k -s 15 -X echo ::: a b c d e f g h i j k l
  par -j2 -k -s 15 -m echo ::: a b c d e f g h i j k l m n o p q r s t u v
  seq 1 92 | par -j5 -kX -s 100 echo
}
# A negative --block is refused (GNU: Perl's "Negative length"), exit 255, nothing run
diff_pipe_negative_block() { ignore_stderr; seq 5 | par --pipe --block -1 -k wc -l; echo "rc=$?"; }
# --pipe --header: `:` one line, N lines, else a regular expression the head of the input matches (fewer lines
# than N, or no match: no header); --skip-first-line drops its line before the header is read
diff_pipe_header_lines_and_regex() {
  printf 'h1\nh2\na\nb\nc\nd\n' | par --pipe -k --header '(h.\n){2}' -N2 'echo X; cat'
  printf 'h1\nh2\na\nb\nc\nd\n' | par --pipe -k --header 2 -N2 'echo X; cat'
  printf '#c\n#d\nh\na\nb\n' | par --pipe -k --header '(#.*\n)*h\n' -N1 'echo X; cat'
  printf 'a\nb\n' | par --pipe -k --header zz -N1 'echo X; cat'
  printf 'h1\na\nb\n' | par --pipe -k --header 0 -N1 'echo X; cat'
  printf 'h1\nh2\n' | par --pipe -k --header 3 -N1 'echo X; cat'
  printf 'h1\nh2' | par --pipe -k --header 2 -N1 'echo X; cat'
}
diff_pipe_skip_first_line_before_header() {
  printf 'h1\nh2\na\nb\n' | par --pipe -k --header 2 --skip-first-line -N1 'echo X; cat'
  printf 'h1\nh2\na\nb\n' | par --pipe -k --header : --skip-first-line -N1 'echo X; cat'
  printf 'h1\na\nb\n' | par --pipe -k --skip-first-line -N1 'echo X; cat'
}
# --retries with a replacement string: each job's own count; --retries 0 tries until the job succeeds
diff_retries_per_job_and_zero() {
  par --retries {//} "echo {/} >>t; exit {/}" ::: 1/11 2/22 3/33; echo "rc=$?"; sort t
  par -j1 --retries 0 'echo x >> z; test $(wc -l < z) -ge 4 && echo ok {}' ::: a; echo "rc=$?"; wc -l < z
}
# --results: a templated name ending in / is a directory (stdout, stderr, seq in it); with --header : the tree's
# directories are named by the columns' names
diff_results_template_dir_and_header_names() {
  par -k --results 'out/{1}/' 'echo {}; echo e{} >&2' ::: a b; echo "rc=$?"
  printf 'A\tB\n1\t2\n' | par -k --header : --results hd echo {A}
  par -k --header : --results h2 echo {X} {Y} ::: X x1 x2 ::: Y y1
  find . -type f -path './[oh]*' | sort | while read -r f; do echo "$f: $(cat "$f")"; done
}
