#!/usr/bin/env bash
# The systemd units, membersyncd.service and the template
# membersyncd@.service: `systemd-analyze verify` says nothing about them,
# and `systemd-analyze security --offline=true` rates each at an overall
# exposure of at most 1.5 (on its 0-10 scale).
#
# The units are the ones the build generates (systemd/NAME in the build
# tree, @sbindir@ substituted); when one is missing or older than its .in,
# the .in is substituted here the same way.  verify checks that ExecStart=
# names an executable, so the copies checked point at the built
# membersyncd instead of $(sbindir).  The Documentation= man pages are
# looked up in a MANPATH holding docs/ (so a page named there must exist),
# or not at all when man is not installed.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"

MAX_EXPOSURE=1.5
UNITS=(membersyncd.service membersyncd@.service)

ms_require_cmd systemd-analyze
# --offline=true (a review of unit files, without a running manager) came
# with systemd 250.
if ! systemd-analyze --help 2>/dev/null | grep -q -e '--offline'; then
    ms_skip "systemd-analyze $(systemd-analyze --version | awk 'NR == 1 { print $2 }') has no --offline (systemd >= 250 needed)"
fi
[[ -n "${MEMBERSYNCD:-}" && -x "$MEMBERSYNCD" ]] || ms_error "MEMBERSYNCD is not set to the built membersyncd"
builddir="${top_builddir:-$(cd "$(dirname "$MEMBERSYNCD")" && pwd)}"
bindir=$(cd "$(dirname "$MEMBERSYNCD")" && pwd)

ms_setup
mkdir -p "$T/units" "$T/man/man1" "$T/man/man5" "$T/man/man8"
for page in "$srcroot"/docs/*.[158]; do
    cp "$page" "$T/man/man${page##*.}/"
done
man_opt=(--man=yes)
if ! _ms_have_cmd man; then
    ms_log "man not installed: Documentation= pages are not checked"
    man_opt=(--man=no)
fi

for unit in "${UNITS[@]}"; do
    in="$srcroot/systemd/$unit.in"
    built="$builddir/systemd/$unit"
    [[ -f "$in" ]] || ms_fail "$in is missing"
    if [[ -f "$built" && ! "$built" -ot "$in" ]]; then
        ms_log "$unit: the build's $built"
        src=$built
    else
        ms_log "$unit: not built (or older than its .in): substituting $in"
        sed -e "s|@sbindir[@]|/usr/sbin|g" "$in" >"$T/$unit.gen"
        src=$T/$unit.gen
    fi
    # Every placeholder must have been substituted by the build's rule.
    if grep -n -E '^[^#]*@[A-Za-z_]+@' "$src" >"$T/placeholders"; then
        cat "$T/placeholders" >&2
        ms_fail "$unit: placeholders left unsubstituted in $src"
    fi
    grep -q -E '^ExecStart=[^ ]*/membersyncd ' "$src" || ms_fail "$unit: no ExecStart= running membersyncd"
    # ExecStart=/ExecStartPre= (any prefix such as - or !) -> the built binary.
    sed -E "s#^(Exec[A-Za-z]+=[-@:+!]*)[^ ]*/membersyncd( |\$)#\\1$bindir/membersyncd\\2#" "$src" >"$T/units/$unit"
done

# verify: the unit files themselves (the template as such) and an instance
# of the template (its %i expanded).
verify_one() {
    local what=$1 out=$T/verify.out rc=0
    MANPATH="$T/man" systemd-analyze verify "${man_opt[@]}" "$what" >"$out" 2>&1 || rc=$?
    if grep -e 'membersyncd' -e "$T" "$out" >"$T/verify.ours"; then
        cat "$out" >&2
        ms_fail "systemd-analyze verify ${what##*/}: warnings about the unit (above)"
    fi
    if [[ -s "$out" ]]; then
        ms_log "systemd-analyze verify ${what##*/}, about other units:"
        sed 's/^/#   /' "$out" >&2
    fi
    ((rc == 0)) || { cat "$out" >&2; ms_fail "systemd-analyze verify ${what##*/} exited $rc"; }
    ms_log "verify ${what##*/}: clean"
}
verify_one "$T/units/membersyncd.service"
verify_one "$T/units/membersyncd@.service"
verify_one "$T/units/membersyncd@example.service"

# security: overall exposure, and every item that costs something.
security_one() {
    local what=$1 name=${1##*/} out=$T/security.out rc=0 level
    systemd-analyze security --offline=true --no-pager "$what" >"$out" 2>&1 || rc=$?
    level=$(sed -n -E 's/.*Overall exposure level for [^:]*: ([0-9]+(\.[0-9]+)?).*/\1/p' "$out")
    if [[ -z "$level" ]]; then
        cat "$out" >&2
        ms_fail "systemd-analyze security $name (exit $rc): no overall exposure level in its output"
    fi
    if awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l + 0 > m + 0) }'; then
        grep -E '^✗' "$out" >&2 || true
        ms_fail "$name: overall exposure $level > $MAX_EXPOSURE (items above)"
    fi
    ms_log "security $name: exposure $level (at most $MAX_EXPOSURE); what remains:"
    grep -E '^✗' "$out" | sed -E 's/  +/ /g; s/^/#   /' >&2 || true
}
security_one "$T/units/membersyncd.service"
security_one "$T/units/membersyncd@example.service"

echo "PASS: ${UNITS[*]}: verify clean, exposure <= $MAX_EXPOSURE"
