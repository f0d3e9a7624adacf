#!/usr/bin/env bash
# membersyncd --check-config over the corpus in configs/: each broken
# NAME.conf must exit 78 and report exactly the errors in NAME.expected
# (file:line: message, in order; warnings are not counted); ok.conf must
# pass. Runs in the corpus folder so the paths in messages are stable.
# Then what the corpus cannot hold: secret file modes (git keeps none),
# a huge line, and a password in a URL that must never be echoed.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"

ms_setup
cd "$srcroot/tests/integration/configs"

"$MEMBERSYNCD" --check-config -c ok.conf >"$T/ok.out" 2>"$T/ok.err" || ms_fail "ok.conf rejected: $(cat "$T/ok.err")"
grep -qx "ok.conf: OK (1 target: rainbond/rainbond)" "$T/ok.out" || ms_fail "ok.conf: unexpected output"

n=0
for expected in *.expected; do
    name=${expected%.expected}
    rc=0
    "$MEMBERSYNCD" --check-config -c "$name.conf" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    ms_assert_eq 78 "$rc" "$name.conf exit status"
    # Errors only: drop warnings and the closing "N errors" line.
    grep -v -e ': warning: ' -e "^$name.conf: [0-9]* errors\?$" "$T/$name.err" >"$T/$name.got" || true
    if ! diff -u "$expected" "$T/$name.got" >"$T/$name.diff"; then
        cat "$T/$name.diff" >&2
        ms_fail "$name.conf: the errors differ from $expected"
    fi
    nerr=$(wc -l <"$expected")
    grep -qx "$name.conf: $nerr errors\?" "$T/$name.err" || ms_fail "$name.conf: no error count"
    n=$((n + 1))
done
((n >= 40)) || ms_fail "only $n broken configs in the corpus"

# Usage errors are not config errors.
rc=0
"$MEMBERSYNCD" --no-such-option >/dev/null 2>&1 || rc=$?
ms_assert_eq 64 "$rc" "unknown option"
rc=0
"$MEMBERSYNCD" --check-config -c /nonexistent/membersync.conf 2>"$T/missing.err" || rc=$?
ms_assert_eq 78 "$rc" "missing config file"
grep -qx "/nonexistent/membersync.conf: cannot read the configuration file: No such file or directory" \
    "$T/missing.err" || ms_fail "missing file message"

# The password of url-userinfo.conf's URL must not be echoed anywhere.
if grep -q hunter2 "$T/url-userinfo.err" "$T/url-userinfo.out"; then
    ms_fail "url-userinfo.conf: the password in the URL is echoed"
fi
# The corpus's secrets are read with whatever mode the checkout gave them:
# the expected output must not depend on the umask (warnings are filtered
# above, and ok.conf is checked for its stdout only), so ok.conf passes
# whatever the modes.

# World-readable secrets warn, at the key's line, and the file still loads;
# modes are set here since git does not keep them.
w="$T/world"
mkdir -p "$w"
cp ok.conf ldap.pw rb.key "$w/"
chmod 0600 "$w/ldap.pw" "$w/rb.key"
rc=0
(cd "$w" && "$MEMBERSYNCD" --check-config -c ok.conf) >"$T/world.out" 2>"$T/world.err" || rc=$?
ms_assert_eq 0 "$rc" "ok.conf with 0600 secrets"
if grep -q 'warning' "$T/world.err"; then
    ms_fail "0600 secrets gave a warning: $(cat "$T/world.err")"
fi
chmod 0644 "$w/ldap.pw" "$w/rb.key"
rc=0
(cd "$w" && "$MEMBERSYNCD" --check-config -c ok.conf) >"$T/world.out" 2>"$T/world.err" || rc=$?
ms_assert_eq 0 "$rc" "ok.conf with world-readable secrets (a warning, not an error)"
grep -qx "ok.conf:5: warning: source: bind_password_file ./ldap.pw is readable by every user; chmod 600 it" \
    "$T/world.err" || ms_fail "no warning for a world-readable bind_password_file: $(cat "$T/world.err")"
grep -qx "ok.conf:10: warning: target rainbond: auth.key_file: ./rb.key is readable by every user; chmod 600 it" \
    "$T/world.err" || ms_fail "no warning for a world-readable auth.key_file: $(cat "$T/world.err")"
grep -qx "ok.conf: OK (1 target: rainbond/rainbond)" "$T/world.out" || ms_fail "world-readable: ok.conf not confirmed"

# A huge line (1 MiB, generated: too big for the corpus): no crash, the
# right line, and the 1 MiB value not echoed.
h="$T/huge"
mkdir -p "$h"
cp ldap.pw rb.key "$h/"
{
    sed -n '/^source/,/^};/p' ok.conf
    printf 'targets = (\n  { name = "rainbond"; driver = "rainbond";\n'
    printf '    url = "'; head -c 1048576 /dev/zero | tr '\0' a; printf '";\n'
    sed -n '/auth = /,$p' ok.conf
} >"$h/huge.conf"
rc=0
(cd "$h" && "$MEMBERSYNCD" --check-config -c huge.conf) >"$T/huge.out" 2>"$T/huge.err" || rc=$?
ms_assert_eq 78 "$rc" "huge.conf exit status"
line=$(grep -n '^    url = ' "$h/huge.conf" | cut -d: -f1)
grep -qx "huge.conf:$line: target rainbond: url must start with http:// or https://" "$T/huge.err" ||
    ms_fail "huge.conf: unexpected errors: $(head -c 300 "$T/huge.err")"
(($(wc -c <"$T/huge.err") < 1000)) || ms_fail "huge.conf: the huge value is echoed"
ms_log "$n broken configs checked"
