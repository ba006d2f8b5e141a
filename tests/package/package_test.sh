#!/usr/bin/env bash
# package_test.sh SOURCE_DIR WORK_DIR [CMAKE [CPACK]]: builds sluice's .deb from SOURCE_DIR (Release, in
# WORK_DIR/build, kept between runs so a rerun is incremental), extracts it with dpkg -x and checks it.
# Fails (exit 1) with the reason when anything is missing or broken.
set -euo pipefail
src=$(realpath "$1")
work=$2
cmake=${3:-cmake}
cpack=${4:-cpack}
mkdir -p "$work"
work=$(realpath "$work")
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
step() { echo "package_test: $*" >&2; }

for tool in dpkg-deb dpkg-shlibdeps pkg-config c++; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/test.sh installs dpkg-dev and pkgconf)"
done

step "Release build"
"$cmake" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=OFF \
  -DSLUICE_BUILD_EXAMPLES=OFF -DSLUICE_BUILD_BENCHMARKS=OFF -DSLUICE_BUILD_APP=ON -DSLUICE_INSTALL=ON \
  -DSLUICE_SANITIZE= >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
"$cmake" --build "$work/build" -j 2 >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; fail "build"; }

step "cpack -G DEB"
rm -f "$work/build"/*.deb
(cd "$work/build" && "$cpack" -G DEB) >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
debs=("$work/build"/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb in $work/build, found: ${debs[*]}"
deb=${debs[0]}
step "built $(basename "$deb")"

# The files: the runner, its man page and bash completion, headers, library, CMake package, pkg-config file.
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
libdir=$(printf '%s\n' "$contents" | sed -n 's|^\(/usr/lib.*\)/libsluice\.a$|\1|p')
[ -n "$libdir" ] || fail "no libsluice.a under /usr/lib in the package"
for want in /usr/bin/sluice /usr/share/man/man1/sluice.1.gz /usr/share/bash-completion/completions/sluice \
            /usr/include/sluice/sluice.hpp /usr/include/sluice/subprocess.hpp /usr/include/sluice/aio.hpp \
            /usr/include/sluice/aio/task.hpp /usr/include/sluice/detail/aio_core.hpp \
            "$libdir/cmake/sluice/sluiceConfig.cmake" "$libdir/cmake/sluice/sluiceTargets.cmake" \
            "$libdir/pkgconfig/sluice.pc"; do
  grep -qxF "$want" <<<"$contents" || fail "$want is not in the package"
done
if printf '%s\n' "$contents" | grep -E '^/usr/(src|local)/|/tests?/|\.cpp$|subprocess_state\.hpp' >/dev/null; then
  fail "the package holds files it should not: $(printf '%s\n' "$contents" | grep -E '^/usr/(src|local)/|/tests?/|\.cpp$|subprocess_state\.hpp')"
fi

# Depends, computed by dpkg-shlibdeps from bin/sluice: the C and C++ runtimes.
depends=$(dpkg-deb -f "$deb" Depends)
step "Depends: $depends"
[[ $depends == *libc6* ]] || fail "Depends lacks libc6: '$depends'"
[[ $depends == *libstdc++6* ]] || fail "Depends lacks libstdc++6: '$depends'"
[ "$(dpkg-deb -f "$deb" Package)" = sluice ] || fail "package name"

root=$work/root
rm -rf "$root"
dpkg-deb -x "$deb" "$root"

step "the job runner in the package"
out=$("$root/usr/bin/sluice" -k echo ::: a b c) || fail "sluice from the package did not run"
[ "$out" = $'a\nb\nc' ] || fail "sluice -k echo ::: a b c printed '$out'"
"$root/usr/bin/sluice" --version | grep -q '^sluice ' || fail "sluice --version"
# Debian policy 12.1: man pages compressed with gzip -9n (no name, no time stamp: reproducible).
[ ! -e "$root/usr/share/man/man1/sluice.1" ] || fail "the man page is installed uncompressed too"
gzip -t "$root/usr/share/man/man1/sluice.1.gz" || fail "sluice.1.gz is not a valid gzip file"
[ "$(od -An -tu4 -j4 -N4 "$root/usr/share/man/man1/sluice.1.gz" | tr -d ' ')" = 0 ] ||
  fail "sluice.1.gz carries a time stamp (gzip without -n)"
# Read the whole page first: `zcat | grep -q` under pipefail fails when grep stops early and zcat gets SIGPIPE.
man_page=$(zcat "$root/usr/share/man/man1/sluice.1.gz") || fail "zcat sluice.1.gz"
grep -q '^\.TH' <<<"$man_page" || fail "the man page has no .TH"
cmp -s <(zcat "$root/usr/share/man/man1/sluice.1.gz") "$src/docs/sluice.1" || fail "sluice.1.gz differs from docs/sluice.1"

step "pkg-config"
pc=$root$libdir/pkgconfig/sluice.pc
grep -qx 'prefix=/usr' "$pc" || fail "sluice.pc does not say prefix=/usr: $(grep prefix= "$pc")"
export PKG_CONFIG_PATH=$root$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=
flags=$(pkg-config --define-variable=prefix="$root/usr" --cflags --libs sluice) || fail "pkg-config --cflags --libs sluice"
step "flags: $flags"
[[ " $flags " == *" -lsluice "* && " $flags " == *" -pthread "* ]] || fail "Libs lacks -lsluice -pthread: $flags"
[[ " $flags " == *" -I$root/usr/include "* ]] || fail "Cflags lacks -I$root/usr/include: $flags"
[ "$(pkg-config --modversion sluice)" = "$(dpkg-deb -f "$deb" Version)" ] || fail "pkg-config version differs from the package's"

cat >"$work/consumer.cpp" <<'CPP'
#include <sluice/sluice.hpp>
#include <cstdio>
int main() {
  sluice::queue<int> q(4);
  q.put(20);
  auto words = sluice::shlex::split("echo 'from the package'");
  auto r = sluice::run({"sh", "-c", "exit 22"});
  std::printf("%d %s %d\n", q.get() + 1, words.at(1).c_str(), r.returncode);
  return words.size() == 2 && r.returncode == 22 ? 0 : 1;
}
CPP
# shellcheck disable=SC2086  # the flags are words
c++ -std=c++20 "$work/consumer.cpp" -o "$work/consumer" $flags 2>"$work/consumer.log" ||
  { cat "$work/consumer.log"; fail "the consumer does not compile and link with pkg-config's flags"; }
out=$("$work/consumer") || fail "the consumer failed: $out"
[ "$out" = "21 from the package 22" ] || fail "the consumer printed '$out'"

step "bash completion"
bash -n "$root/usr/share/bash-completion/completions/sluice" || fail "completion script syntax"
got=$(bash -c '
  _init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${words[cword]}; prev=${words[cword-1]}; }
  _filedir() { COMPREPLY=(FILES); }
  . "$1"
  COMP_WORDS=(sluice --jo); COMP_CWORD=1; _sluice; echo "${COMPREPLY[*]}"
  COMP_WORDS=(sluice --trim ""); COMP_CWORD=2; _sluice; echo "${COMPREPLY[*]}"
  COMP_WORDS=(sluice -j 2 echo ""); COMP_CWORD=4; _sluice; echo "${COMPREPLY[*]}"' _ \
  "$root/usr/share/bash-completion/completions/sluice")
[ "$got" = $'--jobs --joblog\nn l r lr rl\nFILES' ] || fail "completion answered: $got"

echo "package_test: OK: $(basename "$deb"), $(printf '%s\n' "$contents" | grep -cv '/$') files, Depends: $depends"
