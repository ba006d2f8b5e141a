#!/usr/bin/env bash
# Builds the library, the job runner and the whole test suite, then runs it under CTest.
#   scripts/test.sh                      the suite (build/test)
#   scripts/test.sh --sanitize address   the suite under ASan+UBSan (build/asan)
#   scripts/test.sh --sanitize thread    the suite under TSan (build/tsan)
# Further arguments go to ctest (for example -L library, or -R queue).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-packages.sh

sanitize=""
if [ "${1:-}" = "--sanitize" ]; then sanitize=$2; shift 2; fi
case "$sanitize" in
  "") dir=build/test ;;
  address) dir=build/asan ;;
  thread) dir=build/tsan ;;
  *) echo "scripts/test.sh: --sanitize takes address or thread, not '$sanitize'" >&2; exit 2 ;;
esac

# The job runner's differential tests compare against GNU parallel (which brings perl); its checks measure
# peak RSS with GNU time and look for leftover processes with pgrep; the examples pipe through openssl.
# The package test (plain builds only) needs dpkg-shlibdeps and pkg-config. GNU parallel's --csv needs Perl's
# Text::CSV; the terminal-warning case runs under script(1) (bsdutils); --tmux cases need tmux.
ensure_packages "${SLUICE_BUILD_PACKAGES[@]}" libgtest-dev parallel libtext-csv-perl bsdutils openssl time procps \
  dpkg-dev pkgconf tmux
# The remote suite (tests/remote, plain builds) starts sshd hosts in network namespaces: openssh-server (its
# own service kept from starting), the ssh client, rsync for transfers, iproute2 for `ip netns`.
if [ -z "$sanitize" ]; then
  ensure_packages_quiet_services openssh-server openssh-client rsync iproute2
fi
# The SQL job queue's tests (tests/sql): the sqlite3 shell, a PostgreSQL server, GNU parallel's DBD drivers;
# --slurm's: a single-node Slurm (munge, slurmctld, slurmd, srun/salloc).
ensure_packages_quiet_services sqlite3 postgresql libdbd-sqlite3-perl libdbd-pg-perl munge slurmctld slurmd slurm-client
# GNU parallel run by hand here stays quiet too (the CLI suite gives each run its own HOME anyway).
if [ -n "${HOME:-}" ]; then mkdir -p "$HOME/.parallel" && touch "$HOME/.parallel/will-cite"; fi

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE="$sanitize" \
      -DSLUICE_BUILD_TESTS=ON -DSLUICE_BUILD_EXAMPLES=ON -DSLUICE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "$@"
