#!/usr/bin/env bash
# The full test suite: installs missing Debian packages (as root), builds
# in build/, and runs `make check` (unit tests, and integration tests
# against a real slapd and the target simulator). Extra arguments go to
# configure; BUILDDIR selects another build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$root/build}

"$root/scripts/install-deps.sh"
BUILDDIR=$builddir "$root/scripts/build.sh" "$@"
cd "$builddir"
if ! make -j"$(nproc)" --no-print-directory check; then
    # automake keeps each test's output in its .log; show the failures.
    for log in $(find tests -name '*.log' ! -name test-suite.log); do
        if grep -qE '^:test-result: (FAIL|ERROR)' "${log%.log}.trs" 2>/dev/null; then
            echo "======== $log" >&2
            tail -n 80 "$log" >&2
        fi
    done
    exit 1
fi
