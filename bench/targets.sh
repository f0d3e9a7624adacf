#!/usr/bin/env bash
# Per-driver throughput, side by side in one run: the target simulator's
# ceiling (wrk POSTing valid, unique members with 8 connections) and
# membersyncd pushing a directory to the same endpoint with max_inflight 8,
# measured from the arrival times in the simulator's log. Prints a table
# with the ratio; --markdown prints it for docs/BENCHMARKS.md.
#
#   bench/targets.sh [-n USERS] [-d WRK_SECONDS] [--markdown] [DRIVER...]
#
# Loopback only; everything runs in a temp folder that is removed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=5000
seconds=10
markdown=0
drivers=()
while (($#)); do
    case $1 in
    -n) users=$2; shift 2 ;;
    -d) seconds=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) drivers+=("$1"); shift ;;
    esac
done
((${#drivers[@]})) || drivers=(rainbond rest)

"$root/scripts/install-deps.sh"
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
BUILDDIR=${BUILDDIR:-$root/build} "$root/scripts/build.sh" >/dev/null
builddir=${BUILDDIR:-$root/build}
make -C "$builddir" -s --no-print-directory tests/targetsim/targetsim

export top_srcdir=$root MEMBERSYNCD=$builddir/membersyncd TARGETSIM=$builddir/tests/targetsim/targetsim
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/daemon.sh"

ms_setup
bash "$root/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start --threads 2

# For each driver: the endpoint wrk hits, its headers, a body template,
# and the membersyncd target that pushes to the same endpoint.
bench_setup() {
    case $1 in
    rainbond)
        path=/openapi/v1/users
        headers="Authorization: $(<"$SIM_RAINBOND_KEYFILE")
Content-Type: application/json"
        body='{"nick_name":"%ID%","password":"Passw0rd1234","enterprise_id":"bench","email":"%ID%@bench.org"}'
        target=$(ms_rainbond_target bench | sed '/phone = /d')
        ;;
    rest)
        path=/rest/members
        headers="Authorization: Bearer $(<"$SIM_REST_TOKENFILE")
Content-Type: application/json"
        body='{"email":"%ID%@bench.org","name":"Bench %ID%"}'
        target=$(ms_rest_target bench)
        ;;
    *)
        echo "bench: no benchmark for driver '$1'" >&2
        return 1
        ;;
    esac
    # Same concurrency as wrk's 8 connections, no retries to blur it.
    target=$(sed 's/max_retries = 3;/max_retries = 3; max_inflight = 8;/' <<<"$target")
}

rows=()
for d in "${drivers[@]}"; do
    bench_setup "$d"
    ms_sim_reset
    ceiling=$(BENCH_BODY=$body BENCH_HEADERS=$headers wrk -t2 -c8 -d"${seconds}s" \
        -s "$root/bench/wrk/post.lua" "$SIM_URL$path" | awk '/^Requests\/sec:/ { print $2 }')
    created=$(ms_sim_jq '[.stats.by_route[] | .["201"] // .["200"] // 0] | add')
    total=$(ms_sim_jq '.stats.requests')
    if ((created * 100 < total * 99)); then
        echo "bench: only $created of $total wrk requests succeeded for $d; the ceiling is not valid" >&2
        exit 1
    fi

    ms_sim_reset
    rm -rf "$T/state"
    ms_conf_write "$T/membersync.conf" "$target"
    start=$(date +%s.%N)
    "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" >"$T/$d.log" 2>&1 ||
        { tail -5 "$T/$d.log" >&2; echo "bench: membersyncd failed for $d" >&2; exit 1; }
    wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    read -r n rate < <(ms_sim_jq '[.log[] | select(.method == "POST") | .t_ms] |
        [length, (if length > 1 then (length - 1) * 1000 / (.[-1] - .[0]) else 0 end)] | @tsv')
    ratio=$(awk -v a="$rate" -v b="$ceiling" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("$(printf '%s\t%s\t%.0f\t%s\t%.0f\t%s' "$d" "$path" "$ceiling" "$n" "$rate" "$ratio")")
    ms_log "$d: ceiling $ceiling req/s, membersyncd $rate req/s over $n requests ($wall s wall), ratio $ratio"
done

cores=$(nproc)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
if ((markdown)); then
    echo "Machine: $cores cores, $mem; $users directory users; wrk -t2 -c8 -d${seconds}s; membersyncd max_inflight 8."
    echo
    echo "| driver | endpoint | simulator ceiling (req/s) | membersyncd requests | membersyncd (req/s) | ratio |"
    echo "|---|---|---:|---:|---:|---:|"
    for r in "${rows[@]}"; do
        IFS=$'\t' read -r a b c e f g <<<"$r"
        echo "| $a | \`$b\` | $c | $e | $f | $g |"
    done
else
    printf '%-10s %-22s %12s %10s %12s %6s\n' driver endpoint ceiling requests membersyncd ratio
    for r in "${rows[@]}"; do
        IFS=$'\t' read -r a b c e f g <<<"$r"
        printf '%-10s %-22s %12s %10s %12s %6s\n' "$a" "$b" "$c" "$e" "$f" "$g"
    done
fi
