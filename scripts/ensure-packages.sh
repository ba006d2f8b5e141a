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
  "${sudo[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
# What every build needs (libperl-dev: the job runner embeds Perl for {= =} and --rpl; libsqlite3-dev and
# libpq-dev: its SQL job queue).
SLUICE_BUILD_PACKAGES=(g++ cmake make libperl-dev libsqlite3-dev libpq-dev)
