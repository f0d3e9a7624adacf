#!/usr/bin/env bash
# The integration tests again, with every membersyncd and membersync they
# start running under valgrind memcheck: invalid reads and writes, use of
# uninitialised values, bad frees and leaks (definite and indirect) in any
# process fail the run. The unit tests are left out (the sanitizer build
# covers them); so are the tests whose subject is timing, which memcheck's
# slowdown would break rather than check (listed below with the reason).
#
# Usage: scripts/test-valgrind.sh [TEST.sh...]
#   Without arguments: every integration and reliability test make check
#   runs, minus the exclusions. BUILDDIR selects the build folder (default
#   build/; configured and built here when it is not yet).
#
# Each process writes BUILDDIR/valgrind/NAME.PID.vg. A process killed with
# SIGKILL (crash-safety tests do that on purpose) leaves a log without a
# summary; those are counted, not judged. Exit status: 0 clean, 1 a test
# failed or a log shows errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$root/build}

# Timing is what these check; under memcheck they would fail for being
# slow, not for a memory error. Their code paths run in the other tests.
excluded=(
    tests/integration/daemon-lifecycle.sh   # watchdog pings within 2 s
    tests/integration/crash-safety.sh       # 10,000 users, 20 kills: ~30 min under memcheck
    tests/integration/unit-security.sh      # no membersyncd process
    tests/integration/docs-keys.sh          # no membersyncd process
    tests/integration/selftest-harness.sh   # the harness only
    tests/integration/selftest-samba.sh     # the harness only
    tests/integration/valgrind-once.sh      # runs memcheck itself
)

"$root/scripts/install-deps.sh"
if [[ ! -x $builddir/membersyncd ]]; then
    BUILDDIR=$builddir "$root/scripts/build.sh"
fi
# check_PROGRAMS (targetsim, unit tests) without running anything.
make -C "$builddir" -j"$(nproc)" --no-print-directory check TESTS= >/dev/null

if (($#)); then
    tests=("$@")
else
    mapfile -t tests < <(make -C "$builddir" --no-print-directory -s print-integration-tests | tr ' ' '\n' | grep .)
fi
run=()
for t in "${tests[@]}"; do
    skip=0
    for e in "${excluded[@]}"; do [[ $t == "$e" ]] && skip=1; done
    ((skip)) || run+=("$t")
done

logdir=$builddir/valgrind
bindir=$logdir/bin
rm -rf "$logdir"
mkdir -p "$bindir"
for prog in membersyncd membersync; do
    cat >"$bindir/$prog" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \\
    --suppressions="$root/tests/valgrind.supp" \\
    --log-file="$logdir/$prog.%p.vg" "$builddir/$prog" "\$@"
EOF
    chmod +x "$bindir/$prog"
done

export MS_MEMCHECK=1   # tests skip the parts that need a request rate (lib.sh)
echo "test-valgrind: ${#run[@]} tests under memcheck (logs in $logdir)"
status=0
make -C "$builddir" --no-print-directory -s -j"$(nproc)" check TESTS="${run[*]}" \
    TEST_MEMBERSYNCD="$bindir/membersyncd" TEST_MEMBERSYNC="$bindir/membersync" || status=1
if ((status)); then
    for t in "${run[@]}"; do
        trs=$builddir/${t%.sh}.trs
        if grep -qE '^:test-result: (FAIL|ERROR)' "$trs" 2>/dev/null; then
            echo "======== ${t%.sh}.log" >&2
            tail -n 60 "$builddir/${t%.sh}.log" >&2
        fi
    done
fi

checked=0 killed=0 dirty=0
for vg in "$logdir"/*.vg; do
    [[ -e $vg ]] || continue
    if ! grep -q "ERROR SUMMARY:" "$vg"; then
        killed=$((killed + 1))
        continue
    fi
    checked=$((checked + 1))
    if ! grep -q "ERROR SUMMARY: 0 errors" "$vg"; then
        dirty=$((dirty + 1))
        echo "======== $vg" >&2
        cat "$vg" >&2
    fi
done
echo "test-valgrind: $checked processes checked, $dirty with errors, $killed killed before their summary"
((checked > 0)) || { echo "test-valgrind: no process ran under memcheck" >&2; exit 1; }
((dirty == 0 && status == 0))
