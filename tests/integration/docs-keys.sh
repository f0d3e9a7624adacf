#!/usr/bin/env bash
# Every configuration key the parser accepts is documented in
# membersync.conf(5).
#
# The accepted keys are the names in the parser's cfg_key tables (entries
# `{ "name", CFG_T_...`) anywhere under src/: the top level, source,
# source.groups, target and field rules in src/config/, each driver's and
# auth provider's keys in src/targets/ (including macros such as
# AUTH_TYPE_KEY in headers).  cfg_check_group rejects any key not in a
# table, so these are exactly the keys a configuration may use.  A key is
# documented when a line of the man page starts with it in bold:
# `.B key`, `.BR key ...` or `.BI key ...` (usually right after .TP).
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"

page="$srcroot/docs/membersync.conf.5"
[[ -f "$page" ]] || ms_fail "$page is missing"

# file:name for every table entry, so a missing key says where it is read.
mapfile -t entries < <(
    cd "$srcroot" &&
        grep -r -n -o -E --include='*.c' --include='*.h' '\{[[:space:]]*"[A-Za-z0-9_.-]+"[[:space:]]*,[[:space:]]*CFG_T_' src |
        sed -E 's/^([^:]*):([0-9]+):.*"([^"]*)".*/\3 \1:\2/' | sort -u -k1,1
)
# A broken extraction must not pass for want of keys.
((${#entries[@]} >= 50)) || ms_error "only ${#entries[@]} keys found in cfg_key tables under $srcroot/src: is the pattern out of date?"
for k in source targets uri url driver map type; do
    printf '%s\n' "${entries[@]}" | grep -q "^$k " || ms_error "key '$k' not found in the cfg_key tables: is the pattern out of date?"
done

# The names the page sets in bold at the start of a line (quotes dropped).
documented=$(sed -n -E 's/^\.B[RI]?[[:space:]]+"?([A-Za-z0-9_.-]+)"?([[:space:]].*)?$/\1/p' "$page" | sort -u)

missing=()
for e in "${entries[@]}"; do
    key=${e%% *}
    if ! grep -qxF -- "$key" <<<"$documented"; then
        missing+=("$key (${e#* })")
    fi
done
if ((${#missing[@]})); then
    printf '  %s\n' "${missing[@]}" >&2
    ms_fail "${#missing[@]} of ${#entries[@]} configuration keys are not documented in docs/membersync.conf.5 (as .B KEY or .BR KEY ...): $(printf "%s " "${missing[@]%% *}" | sed "s/ $//")"
fi
echo "PASS: all ${#entries[@]} configuration keys are documented in membersync.conf(5)"
