# bash completion for sluice(1), the parallel job runner. Installed as
# share/bash-completion/completions/sluice; the long options are those of apps/sluice/args.cpp.

_sluice() {
  local cur prev words cword
  _init_completion -n := || return

  local flags="--null --no-run-if-empty --link --plus --quote --xargs --keep-order --ungroup --group
    --line-buffer --tag --dry-run --verbose --resume --resume-failed --bar --progress --eta --pipe
    --will-cite --help --version --controlmaster --transfer --cleanup --onall --nonall --filter-hosts
    --cat --fifo --round-robin --tee --compress --use-cores-instead-of-threads --use-sockets-instead-of-threads
    --shell-quote --exit --regexp --remove-rec-sep"
  local valued="--arg-file --delimiter --eof --colsep --trim --header --replace --max-args
    --max-replace-args --max-lines --max-chars --jobs --tagstring --timeout --retries --halt --term-seq
    --joblog --results --total-jobs --block --recend --recstart --tmpdir --sshlogin --sshloginfile --ssh
    --sshdelay --transferfile --return --trc --basefile --workdir --env --compress-program --decompress-program
    --er --bnr --dnr --bner --seqreplace --slotreplace --process-slot-var --shard --bin --filter --template
    --parens --block-timeout"

  # Past the options: the command (a program, then its arguments), and the input sources.
  local i marker="" seen_command=0
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      ::: | :::+ | :::: | ::::+) marker=${words[i]} ;;
      --) seen_command=1 ;;
      -*) [ $seen_command -eq 0 ] && [ -z "$marker" ] && continue ;;
      *)
        # The value of the option before it is not the command.
        if [ $seen_command -eq 0 ] && [ -z "$marker" ]; then
          case ${words[i - 1]} in
            --arg-file | --delimiter | --eof | --colsep | --trim | --header | --replace | --max-args | \
              --max-replace-args | --max-lines | --max-chars | --jobs | --tagstring | --timeout | --retries | \
              --halt | --term-seq | --joblog | --results | --total-jobs | --block | --recend | --recstart | \
              --tmpdir | --sshlogin | --sshloginfile | --ssh | --sshdelay | --transferfile | --return | --trc | \
              --basefile | --workdir | --env | --compress-program | --decompress-program | --er | --bnr | --dnr | \
              --bner | --seqreplace | --slotreplace | --process-slot-var | --shard | --bin | --filter | \
              --template | --tmpl | --parens | --block-timeout | --bt | -[adECInNLsjPS]) continue ;;
          esac
          seen_command=1
        fi
        ;;
    esac
  done
  case $marker in
    :::: | ::::+) _filedir; return ;;
    ::: | :::+) return ;;
  esac
  if [ $seen_command -eq 1 ]; then
    _filedir
    return
  fi

  case $prev in
    --arg-file | -a | --joblog | --results) _filedir; return ;;
    --tmpdir) _filedir -d; return ;;
    --trim) COMPREPLY=($(compgen -W "n l r lr rl" -- "$cur")); return ;;
    --halt) COMPREPLY=($(compgen -W "never now,fail=1 soon,fail=1 now,success=1 soon,success=1 now,done=1 soon,done=1" -- "$cur")); return ;;
    --header) COMPREPLY=($(compgen -W ":" -- "$cur")); return ;;
    --jobs | -j | -P) COMPREPLY=($(compgen -W "0 1 2 4 8 100% 50% +0 -1" -- "$cur")); return ;;
    --term-seq) COMPREPLY=($(compgen -W "TERM,200,TERM,100,TERM,50,KILL,25" -- "$cur")); return ;;
    --delimiter | -d | --eof | -E | --colsep | -C | --replace | -I | --max-args | -n | --max-replace-args | -N | \
      --max-lines | -L | --max-chars | -s | --tagstring | --timeout | --retries | --total-jobs | --block | \
      --recend | --recstart)
      return ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags $valued" -- "$cur"))
    return
  fi
  # The command to run.
  COMPREPLY=($(compgen -c -- "$cur"))
}
complete -F _sluice sluice
