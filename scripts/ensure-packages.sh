#!/usr/bin/env bash
# Sourced by the other scripts: ensure_packages PKG... installs, with apt-get, the Debian packages not yet there.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "sluice: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
# What every build needs (libperl-dev: the job runner embeds Perl for {= =} and --rpl; libsqlite3-dev and
# libpq-dev: its SQL job queue).
SLUICE_BUILD_PACKAGES=(g++ cmake make libperl-dev libsqlite3-dev libpq-dev)
# ensure_packages_quiet_services PKG...: the same, with a policy-rc.d (exit 101) in place while installing so
# that a package's service (openssh-server's sshd) is not started on this machine; tests start their own.
ensure_packages_quiet_services() {
  local policy=/usr/sbin/policy-rc.d made=0 sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod +x "$policy" && made=1
  fi
  ensure_packages "$@"
  local status=$?
  [ "$made" -eq 0 ] || "${sudo[@]}" rm -f "$policy"
  return "$status"
}
