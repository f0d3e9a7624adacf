#!/usr/bin/env bash
# Fuzzes the mapping-expression compiler and evaluator with libFuzzer
# (tests/fuzz/fuzz_mapping.c, which documents the input format).
#
# Usage: tests/fuzz/run.sh [options] [-- libFuzzer options...]
#
#   -b DIR    build directory (default: $FUZZ_BUILDDIR, else
#             $top_builddir/build-fuzz when top_builddir is set, else
#             ./build-fuzz). The library is configured there from the
#             source tree with clang and
#             -fsanitize=fuzzer-no-link,address,undefined; the source tree
#             and other build directories are not touched.
#   -t SECS   how long to fuzz (default: $FUZZ_SECONDS, else 60)
#   -j N      run N fuzzing processes (libFuzzer -fork=N; default 1)
#   -n        do not rebuild; use the fuzzer already in the build directory
#   -r FILE   reproduce: run the target once on each FILE (a crash file, a
#             corpus file or a directory) and exit with its status
#   -m        after fuzzing, merge the inputs that add coverage into the
#             seed corpus tests/fuzz/corpus/mapping (the only way this
#             script writes into the repository; review before committing)
#   -h        this help
#
# The fuzzer runs on a scratch corpus in the build directory
# (BUILDDIR/fuzz-mapping/corpus: the seeds, plus what earlier runs found),
# with -timeout=5 (one input taking over 5 s is a finding: evaluation must
# not take unbounded time), -rss_limit_mb=2048 and -max_len=65536, and a
# dictionary of the language's tokens and every registered function name.
# Crash, leak, timeout and out-of-memory inputs are written to
# BUILDDIR/fuzz-mapping/artifacts/; on a finding the script prints their
# paths and exits 1. Reproduce one with "-r FILE"; minimise one with
#   BUILDDIR/fuzz-mapping/fuzz_mapping -minimize_crash=1 -runs=10000 FILE
# A reproducer that passes once src/ is fixed belongs in the seed corpus,
# where `make check` replays it in every build (tests/fuzz/replay_mapping).
#
# Environment: FUZZ_SECONDS, FUZZ_BUILDDIR (as above); CC_FUZZ (default
# clang); FUZZ_CFLAGS, extra compiler flags for the library and the target
# (e.g. "-fsanitize-recover=nonnull-attribute" with a UBSAN_OPTIONS
# suppressions file, to fuzz past a known finding until it is fixed);
# ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS replace this script's.
#
# Examples:
#   tests/fuzz/run.sh                      # build, fuzz for 60 s
#   FUZZ_SECONDS=600 tests/fuzz/run.sh -j 4
#   tests/fuzz/run.sh -n -r build-fuzz/fuzz-mapping/artifacts/crash-1234...
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -n ${FUZZ_BUILDDIR:-} ]]; then
    builddir=$FUZZ_BUILDDIR
elif [[ -n ${top_builddir:-} ]]; then
    builddir=$top_builddir/build-fuzz
else
    builddir=$PWD/build-fuzz
fi
seconds=${FUZZ_SECONDS:-60}
jobs=1
rebuild=1
merge=0
reproduce=()

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

while getopts ':b:t:j:nr:mh' opt; do
    case $opt in
        b) builddir=$OPTARG ;;
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        n) rebuild=0 ;;
        r) reproduce+=("$OPTARG") ;;
        m) merge=1 ;;
        h) usage; exit 0 ;;
        :) echo "run.sh: -$OPTARG needs an argument" >&2; exit 2 ;;
        *) echo "run.sh: unknown option -$OPTARG (see -h)" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ ${1:-} == -- ]] && shift
extra=("$@")

[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run.sh: bad time '$seconds'" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "run.sh: bad job count '$jobs'" >&2; exit 2; }

mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)
work=$builddir/fuzz-mapping
fuzzer=$work/fuzz_mapping
seeds=$srcdir/tests/fuzz/corpus/mapping
mkdir -p "$work"

CC=${CC_FUZZ:-clang}
SAN_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIB_CFLAGS="-g -O1 $SAN_CFLAGS${FUZZ_CFLAGS:+ $FUZZ_CFLAGS}"
PKGS=(ldap lber libsasl2 libcurl json-c libconfig libcrypto libsystemd sqlite3 libpcre2-8)

build() {
    command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (libFuzzer needs clang)" >&2; exit 2; }
    if [[ ! -x $srcdir/configure ]]; then
        echo "run.sh: $srcdir/configure is missing: run ./autogen.sh in the source tree first" >&2
        exit 2
    fi
    # Configure once per compiler and flags; make does the rest.
    local stamp="$CC $LIB_CFLAGS"
    if [[ ! -f $builddir/Makefile || ! -f $builddir/.fuzz-configured ||
          $(cat "$builddir/.fuzz-configured") != "$stamp" || $srcdir/configure -nt $builddir/Makefile ]]; then
        echo "run.sh: configuring $builddir ($CC, $SAN_CFLAGS)"
        (cd "$builddir" && "$srcdir/configure" --quiet --disable-werror CC="$CC" \
            CFLAGS="$LIB_CFLAGS" LDFLAGS="-fsanitize=address,undefined") ||
            { echo "run.sh: configure failed; see $builddir/config.log" >&2; exit 2; }
        echo "$stamp" >"$builddir/.fuzz-configured"
    fi
    echo "run.sh: building libmembersync.a in $builddir"
    make -C "$builddir" -j"$(nproc)" --no-print-directory -s libmembersync.a
    local cflags libs
    cflags=$(pkg-config --cflags "${PKGS[@]}")
    libs=$(pkg-config --libs "${PKGS[@]}")
    echo "run.sh: linking $fuzzer"
    # shellcheck disable=SC2086
    "$CC" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter ${FUZZ_CFLAGS:-} \
        -I"$builddir" -I"$srcdir/src" $cflags \
        -o "$fuzzer" "$srcdir/tests/fuzz/fuzz_mapping.c" "$builddir/libmembersync.a" $libs
}

if ((rebuild)); then
    build
elif [[ ! -x $fuzzer ]]; then
    echo "run.sh: $fuzzer is not built (run without -n)" >&2
    exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$srcdir/tests/lsan.supp:print_suppressions=0}

if ((${#reproduce[@]})); then
    files=()
    for f in "${reproduce[@]}"; do
        if [[ -d $f ]]; then
            while IFS= read -r -d '' g; do files+=("$g"); done < <(find "$f" -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
        else
            files+=("$f")
        fi
    done
    exec "$fuzzer" -timeout=5 -rss_limit_mb=2048 "${extra[@]}" "${files[@]}"
fi

# A scratch corpus in the build directory: the seeds, refreshed, plus what
# earlier runs found. The repository's corpus is only read.
corpus=$work/corpus
artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts"
[[ -d $seeds ]] || { echo "run.sh: no seed corpus at $seeds" >&2; exit 2; }
cp -p "$seeds"/* "$corpus"/
dict=$work/mapping.dict
MAPPING_FUZZ_DICT=$dict "$fuzzer" >/dev/null 2>&1 || { echo "run.sh: could not write $dict" >&2; exit 2; }

marker=$work/.started
touch "$marker"
args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536
      -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1)
((jobs > 1)) && args+=(-fork="$jobs")
echo "run.sh: fuzzing for ${seconds}s: $fuzzer ${args[*]} ${extra[*]} $corpus"
status=0
(cd "$work" && "$fuzzer" "${args[@]}" "${extra[@]}" "$corpus") || status=$?

found=()
while IFS= read -r -d '' f; do found+=("$f"); done < <(find "$artifacts" -type f -newer "$marker" -print0 | sort -z)
if ((status != 0 || ${#found[@]})); then
    echo "run.sh: FINDING (libFuzzer exit status $status)" >&2
    for f in "${found[@]}"; do
        echo "run.sh: crash file: $f" >&2
    done
    ((${#found[@]})) || echo "run.sh: no crash file was written; see the output above" >&2
    echo "run.sh: reproduce with: $0 -b $builddir -n -r FILE" >&2
    exit 1
fi

if ((merge)); then
    echo "run.sh: merging new coverage into $seeds"
    "$fuzzer" -merge=1 -timeout=5 -rss_limit_mb=2048 -max_len=65536 "$seeds" "$corpus"
fi
echo "run.sh: no findings in ${seconds}s; corpus: $corpus ($(find "$corpus" -type f | wc -l) inputs)"
