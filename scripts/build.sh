#!/usr/bin/env bash
# Configures and builds membersync out of tree in $BUILDDIR (default
# build/). Extra arguments go to configure, e.g. --enable-sanitizers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$root/build}

cd "$root"
if [[ ! -x configure || configure.ac -nt configure || Makefile.am -nt Makefile.in ]]; then
    ./autogen.sh >/dev/null 2>&1 || { ./autogen.sh; exit 1; }
fi
mkdir -p "$builddir"
cd "$builddir"
if [[ ! -f Makefile || "$root/configure" -nt Makefile || $# -gt 0 ]]; then
    "$root/configure" --quiet "$@"
fi
make -j"$(nproc)" --no-print-directory -s
