#!/usr/bin/env bash
# membersyncd --check-config over the corpus in configs/: each broken
# NAME.conf must exit 78 and report exactly the errors in NAME.expected
# (file:line: message, in order; warnings are not counted); ok.conf must
# pass. Runs in the corpus folder so the paths in messages are stable.
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
((n >= 10)) || ms_fail "only $n broken configs in the corpus"

# Usage errors are not config errors.
rc=0
"$MEMBERSYNCD" --no-such-option >/dev/null 2>&1 || rc=$?
ms_assert_eq 64 "$rc" "unknown option"
rc=0
"$MEMBERSYNCD" --check-config -c /nonexistent/membersync.conf 2>"$T/missing.err" || rc=$?
ms_assert_eq 78 "$rc" "missing config file"
grep -qx "/nonexistent/membersync.conf: cannot read the configuration file: No such file or directory" \
    "$T/missing.err" || ms_fail "missing file message"
ms_log "$n broken configs checked"
