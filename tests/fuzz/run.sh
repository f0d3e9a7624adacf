#!/usr/bin/env bash
# Fuzzes membersync's parsers of untrusted input with libFuzzer, one run
# per target (each tests/fuzz/fuzz_TARGET.c documents its input format):
#
#   mapping   the mapping-expression compiler and evaluator
#   config    the config loader (conf_load, conf_load_ext CHECK_SAMPLES)
#   drivers   every driver's response classifier (step, classify_batch)
#             and the token providers' answers
#   encode    the JSON/form body encoders, URL escaping, the LDIF reader
#
# Usage: tests/fuzz/run.sh [options] [TARGET...] [-- libFuzzer options...]
#
#   TARGET    mapping, config, drivers or encode; default: all four, one
#             after the other
#   -b DIR    build directory (default: $FUZZ_BUILDDIR, else
#             $top_builddir/build-fuzz when top_builddir is set, else
#             ./build-fuzz). The library is configured there from the
#             source tree with clang and
#             -fsanitize=fuzzer-no-link,address,undefined; the source tree
#             and other build directories are not touched.
#   -t SECS   how long to fuzz each target (default: $FUZZ_SECONDS, else 60)
#   -j N      run N fuzzing processes per target (libFuzzer -fork=N;
#             default 1)
#   -n        do not rebuild; use the fuzzers already in the build directory
#   -r FILE   reproduce: run the target once on each FILE (a crash file, a
#             corpus file or a directory) and exit with its status. With
#             no TARGET, the target is read from FILE's path
#             (.../fuzz-TARGET/... or .../corpus/TARGET/...)
#   -m        after fuzzing, merge the inputs that add coverage into the
#             seed corpus tests/fuzz/corpus/TARGET (the only way this
#             script writes into the repository; review before committing)
#   -h        this help
#
# Each target runs on a scratch corpus in the build directory
# (BUILDDIR/fuzz-TARGET/corpus: the seeds, plus what earlier runs found),
# with -timeout=5 (one input taking over 5 s is a finding: nothing may
# take unbounded time), -rss_limit_mb=2048, -max_len=65536 and a
# dictionary (the mapping one lists the language's tokens and every
# registered function name; the others are tests/fuzz/dict/TARGET.dict).
# Crash, leak, timeout and out-of-memory inputs are written to
# BUILDDIR/fuzz-TARGET/artifacts/; after all targets ran, the script
# prints their paths and exits 1 if any target found something.
# Reproduce one with "-r FILE"; minimise one with
#   BUILDDIR/fuzz-TARGET/fuzz_TARGET -minimize_crash=1 -runs=10000 FILE
# A reproducer that passes once src/ is fixed belongs in the seed corpus,
# where `make check` replays it in every build (tests/fuzz/replay_TARGET).
#
# Environment: FUZZ_SECONDS, FUZZ_BUILDDIR (as above); CC_FUZZ (default
# clang); FUZZ_CFLAGS, extra compiler flags for the library and the targets
# (e.g. "-fsanitize-recover=nonnull-attribute" with a UBSAN_OPTIONS
# suppressions file, to fuzz past a known finding until it is fixed);
# ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS replace this script's
# (its LSAN_OPTIONS use tests/lsan.supp and tests/fuzz/lsan.supp).
#
# Examples:
#   tests/fuzz/run.sh -t 30                # CI: every target for 30 s
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh -j 2   # long run: an hour each
#   tests/fuzz/run.sh -t 600 drivers       # one target
#   tests/fuzz/run.sh -n -r build-fuzz/fuzz-config/artifacts/crash-1234...
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
all_targets=(mapping config drivers encode)

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
targets=()
while (($#)) && [[ $1 != -- ]]; do
    case " ${all_targets[*]} " in
        *" $1 "*) targets+=("$1") ;;
        *) echo "run.sh: unknown target '$1' (one of: ${all_targets[*]})" >&2; exit 2 ;;
    esac
    shift
done
[[ ${1:-} == -- ]] && shift
extra=("$@")

[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run.sh: bad time '$seconds'" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "run.sh: bad job count '$jobs'" >&2; exit 2; }

if ((${#reproduce[@]})); then
    if ((${#targets[@]} == 0)); then
        # The target the file belongs to, from where it lies.
        for t in "${all_targets[@]}"; do
            [[ ${reproduce[0]} == *fuzz-$t/* || ${reproduce[0]} == *corpus/$t || ${reproduce[0]} == *corpus/$t/* ]] && targets=("$t")
        done
        ((${#targets[@]})) || { echo "run.sh: -r: name the TARGET; it cannot be told from ${reproduce[0]}" >&2; exit 2; }
    elif ((${#targets[@]} > 1)); then
        echo "run.sh: -r takes one TARGET" >&2
        exit 2
    fi
fi
((${#targets[@]})) || targets=("${all_targets[@]}")

mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)

CC=${CC_FUZZ:-clang}
SAN_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIB_CFLAGS="-g -O1 $SAN_CFLAGS${FUZZ_CFLAGS:+ $FUZZ_CFLAGS}"
PKGS=(ldap lber libsasl2 libcurl json-c libconfig libcrypto libsystemd sqlite3 libpcre2-8)

build_lib() {
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
}

build_target() { # TARGET
    local t=$1 work=$builddir/fuzz-$1 cflags libs
    mkdir -p "$work"
    cflags=$(pkg-config --cflags "${PKGS[@]}")
    libs=$(pkg-config --libs "${PKGS[@]}")
    echo "run.sh: linking $work/fuzz_$t"
    # shellcheck disable=SC2086
    "$CC" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter ${FUZZ_CFLAGS:-} \
        -I"$builddir" -I"$srcdir/src" $cflags \
        -o "$work/fuzz_$t" "$srcdir/tests/fuzz/fuzz_$t.c" "$builddir/libmembersync.a" $libs
}

if ((rebuild)); then
    build_lib
    for t in "${targets[@]}"; do build_target "$t"; done
else
    for t in "${targets[@]}"; do
        [[ -x $builddir/fuzz-$t/fuzz_$t ]] || { echo "run.sh: $builddir/fuzz-$t/fuzz_$t is not built (run without -n)" >&2; exit 2; }
    done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The repository's suppressions plus the fuzzing ones (tests/fuzz/lsan.supp:
# libraries' own leaks that only malformed input reaches).
cat "$srcdir/tests/lsan.supp" "$srcdir/tests/fuzz/lsan.supp" >"$builddir/lsan.supp"
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$builddir/lsan.supp:print_suppressions=0}

if ((${#reproduce[@]})); then
    files=()
    for f in "${reproduce[@]}"; do
        if [[ -d $f ]]; then
            while IFS= read -r -d '' g; do files+=("$g"); done < <(find "$f" -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
        else
            files+=("$f")
        fi
    done
    t=${targets[0]}
    exec "$builddir/fuzz-$t/fuzz_$t" -timeout=5 -rss_limit_mb=2048 "${extra[@]}" "${files[@]}"
fi

# One target: a scratch corpus in the build directory (the seeds,
# refreshed, plus what earlier runs found; the repository's corpus is
# only read), then libFuzzer. Returns 1 on a finding.
fuzz_target() { # TARGET
    local t=$1 work=$builddir/fuzz-$1
    local fuzzer=$work/fuzz_$t seeds=$srcdir/tests/fuzz/corpus/$t
    local corpus=$work/corpus artifacts=$work/artifacts dict=$work/$t.dict
    mkdir -p "$corpus" "$artifacts"
    [[ -d $seeds ]] || { echo "run.sh: no seed corpus at $seeds" >&2; exit 2; }
    cp -p "$seeds"/* "$corpus"/
    if [[ $t == mapping ]]; then
        MAPPING_FUZZ_DICT=$dict "$fuzzer" >/dev/null 2>&1 || { echo "run.sh: could not write $dict" >&2; exit 2; }
    else
        cp "$srcdir/tests/fuzz/dict/$t.dict" "$dict"
    fi

    local marker=$work/.started
    touch "$marker"
    local args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536
                -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1)
    ((jobs > 1)) && args+=(-fork="$jobs")
    echo "run.sh: fuzzing $t for ${seconds}s: $fuzzer ${args[*]} ${extra[*]} $corpus"
    local status=0
    (cd "$work" && "$fuzzer" "${args[@]}" "${extra[@]}" "$corpus") || status=$?

    local found=()
    while IFS= read -r -d '' f; do found+=("$f"); done < <(find "$artifacts" -type f -newer "$marker" -print0 | sort -z)
    if ((status != 0 || ${#found[@]})); then
        echo "run.sh: FINDING in $t (libFuzzer exit status $status)" >&2
        for f in "${found[@]}"; do
            echo "run.sh: crash file: $f" >&2
            findings+=("$f")
        done
        ((${#found[@]})) || { echo "run.sh: no crash file was written; see the output above" >&2; findings+=("$t: exit status $status, no crash file"); }
        return 1
    fi
    if ((merge)); then
        echo "run.sh: merging new coverage into $seeds"
        "$fuzzer" -merge=1 -timeout=5 -rss_limit_mb=2048 -max_len=65536 "$seeds" "$corpus"
    fi
    echo "run.sh: $t: no findings in ${seconds}s; corpus: $corpus ($(find "$corpus" -type f | wc -l) inputs)"
}

findings=()
failed=()
for t in "${targets[@]}"; do
    fuzz_target "$t" || failed+=("$t")
done
if ((${#failed[@]})); then
    echo "run.sh: FINDINGS in: ${failed[*]}" >&2
    for f in "${findings[@]}"; do echo "run.sh:   $f" >&2; done
    echo "run.sh: reproduce with: $0 -b $builddir -n -r FILE" >&2
    exit 1
fi
echo "run.sh: no findings in ${targets[*]} (${seconds}s each)"
