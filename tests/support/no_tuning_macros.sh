#!/bin/sh
# The public headers take no configuration from macros: every preprocessor condition or definition under
# include/ is SLUICE_EXPORT's own or tests a compiler's predefined macro (__x86_64__, __GNUC__, ...). A tuning
# knob belongs in detail/spin.hpp as a named constant, measured, not in a -D a user may or may not pass.
# Usage: no_tuning_macros.sh <include dir>. Prints each offending line; exits 1 if there is one.
cd "$1" || exit 2
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*(define|undef|ifdef|ifndef|if|elif)[[:space:](]' sluice |
      grep -vE '#[[:space:]]*define SLUICE_EXPORT' |
      grep -vE '#[[:space:]]*(el)?if (defined\(__[A-Za-z0-9_]+__\)( \|\| )?)+$')
[ -z "$bad" ] && exit 0
printf 'a macro that is not SLUICE_EXPORT or a compiler'"'"'s own in a public header:\n%s\n' "$bad"
exit 1
