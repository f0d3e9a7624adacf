#!/usr/bin/env bash
# Change propagation in persist mode: how long a change in LDAP takes to
# reach the target API while membersyncd runs as a daemon with a syncrepl
# refreshAndPersist search open. Starts a throwaway slapd (syncprov), the
# target simulator and membersyncd --foreground (not --once), waits for the
# first sync and for "live change tracking started", then adds CHANGES new
# users one at a time with ldapadd, PAUSE_MS apart. Each latency is from a
# wall-clock timestamp taken just before ldapadd runs to the wall-clock
# arrival of the matching POST at the simulator (its log's received_at),
# matched by the member's key (rest: email, rainbond: nick_name = uid).
# Prints p50/p90/p99/max against the targets (p50 <= 200 ms, p99 <= 1 s),
# and the ldapadd round trip as a baseline. Exits 1 if a change did not
# arrive within TIMEOUT_S, or arrived more than once; a target that is not
# met is only reported.
#
#   bench/latency.sh [-n CHANGES] [-p PAUSE_MS] [-t TIMEOUT_S] [-u USERS]
#                    [--target rest|rainbond] [--markdown]
#
# Defaults: 200 changes, 50 ms apart, 10 s timeout, a directory of 200
# generated users (206 entries), target rest. The same from the environment:
# LATENCY_CHANGES, LATENCY_PAUSE_MS, LATENCY_TIMEOUT, LATENCY_USERS,
# LATENCY_TARGET. Binaries: MEMBERSYNCD and TARGETSIM if both are set (as
# for "make check"; nothing is built then), else built in BUILDDIR (default:
# the current directory if it is a build directory, else build/) like
# bench/targets.sh does. Loopback only; everything runs in a temp folder
# that is removed (MS_KEEP_TMP=1 keeps it on failure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The command as run, with the environment it reads.
cmdline=
for v in top_srcdir MEMBERSYNCD TARGETSIM BUILDDIR LATENCY_CHANGES LATENCY_PAUSE_MS LATENCY_TIMEOUT \
    LATENCY_USERS LATENCY_TARGET; do
    if [[ -n "${!v:-}" ]]; then
        cmdline+=$(printf '%s=%q ' "$v" "${!v}")
    fi
done
cmdline+=$(printf '%q ' "${BASH:-bash}" "$0" "$@")
changes=${LATENCY_CHANGES:-200}
pause_ms=${LATENCY_PAUSE_MS:-50}
timeout_s=${LATENCY_TIMEOUT:-10}
users=${LATENCY_USERS:-200}
target=${LATENCY_TARGET:-rest}
markdown=0
while (($#)); do
    case $1 in
    -n) changes=$2; shift 2 ;;
    -p) pause_ms=$2; shift 2 ;;
    -t) timeout_s=$2; shift 2 ;;
    -u) users=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for v in changes timeout_s users pause_ms; do
    [[ ${!v} =~ ^[0-9]+$ && (${!v} =~ [1-9] || $v == pause_ms) ]] ||
        { echo "bench: $v must be a positive integer, not '${!v}'" >&2; exit 2; }
    printf -v "$v" '%d' "$((10#${!v}))"
done
case $target in rest | rainbond) ;; *) echo "bench: --target must be rest or rainbond" >&2; exit 2 ;; esac
((changes <= 9999)) || { echo "bench: at most 9999 changes" >&2; exit 2; }

. "$root/bench/binaries.sh"
# EPOCHREALTIME: a timestamp without forking date(1).
((BASH_VERSINFO[0] >= 5)) || { echo "bench: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/daemon.sh"

echo "Command: ${cmdline% }"
echo "Settings: $changes changes, ${pause_ms} ms apart, timeout ${timeout_s} s, $users directory users, target $target"
echo "Binaries: $MEMBERSYNCD, $TARGETSIM"

ms_setup
ms_require_cmd ldapadd
bash "$root/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start

case $target in
rest)
    conf_target=$(ms_rest_target bench)
    path=/rest/members
    ;;
rainbond)
    # The new users have no mobile.
    conf_target=$(ms_rainbond_target bench | sed '/phone = /d')
    path=/openapi/v1/users
    ;;
esac
# Live changes only: no poll during the run.
MS_CHANGE_DETECTION=syncrepl ms_conf_write "$T/membersync.conf" "$conf_target" "poll_interval = 3600;"

"$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/daemon.log" 2>&1 &
daemon_pid=$!
ms_register_pid "$daemon_pid"
live_started() { grep -q "live change tracking started" "$T/daemon.log"; }
first_cycle_done() { grep -q "cycle 1 finished" "$T/daemon.log"; }
ms_wait_until 60 first_cycle_done || ms_error "membersyncd did not finish its first cycle within 60 s"
ms_wait_until 20 live_started || ms_error "live change tracking did not start (see $T/daemon.log)"
kill -0 "$daemon_pid" 2>/dev/null || ms_error "membersyncd exited"
base_seq=$(ms_sim_jq '.stats.requests')
initial=$(ms_sim_jq --arg p "$path" '[.log[] | select(.method == "POST" and .path == $p)] | length')
ms_log "first sync: $initial POSTs to $path; live change tracking started"
# What the daemon logs from here on is about the changes.
log_from=$(($(wc -l <"$T/daemon.log") + 1))

# Changes: LDIF written beforehand, so that the timed part is ldapadd only.
mkdir "$T/add"
for ((i = 1; i <= changes; i++)); do
    u=$(printf 'lat%04d' "$i")
    cat >"$T/add/$u.ldif" <<EOT
dn: uid=$u,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: $u
cn: Latency $i
sn: Latency
mail: $u@example.org
EOT
done
case $target in
rest) key_of() { echo "$1@example.org"; } ;;
rainbond) key_of() { echo "$1"; } ;;
esac

pause=$(awk -v p="$pause_ms" 'BEGIN { printf "%.3f", p / 1000 }')
: >"$T/sent.tsv"
ms_log "making $changes changes, ${pause_ms} ms apart"
for ((i = 1; i <= changes; i++)); do
    u=$(printf 'lat%04d' "$i")
    t0=$EPOCHREALTIME
    LDAPNOINIT=1 ldapadd -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" -y "$LDAP_ADMIN_PWFILE" \
        -f "$T/add/$u.ldif" >/dev/null 2>"$T/ldapadd.err" ||
        ms_error "ldapadd of $u failed: $(<"$T/ldapadd.err")"
    t1=$EPOCHREALTIME
    printf '%s\t%s\t%s\n' "$(key_of "$u")" "${t0/./}" "${t1/./}" >>"$T/sent.tsv"
    sleep "$pause"
done
last_t0=$(tail -n 1 "$T/sent.tsv" | cut -f 2)

# The simulator's POSTs since the first sync: key, arrival (us), status.
fetch_posts() {
    curl -sS -f --noproxy '*' --max-time 30 "$SIM_URL/_sim/state?log_since=$base_seq" |
        jq -r --arg p "$path" '.log[] | select(.method == "POST" and .path == $p) |
            [(.key // "-"), .received_at, .status] | @tsv' >"$T/posts.tsv"
}
all_arrived() {
    fetch_posts
    local got
    got=$(awk -F '\t' 'NR == FNR { sent[$1] = 1; next } ($1 in sent) && !seen[$1]++' \
        "$T/sent.tsv" "$T/posts.tsv" | wc -l)
    ((got == changes))
}
deadline=$((last_t0 + timeout_s * 1000000))
until all_arrived; do
    now=${EPOCHREALTIME/./}
    ((now < deadline)) || break
    sleep 0.1
done
kill -0 "$daemon_pid" 2>/dev/null || ms_log "membersyncd is no longer running"

# One row per change: key, t0, t1, first arrival (or empty), POSTs for it.
awk -F '\t' -v OFS='\t' '
    NR == FNR { if (!($1 in first) || $2 < first[$1]) first[$1] = $2; n[$1]++; next }
    { print $1, $2, $3, ($1 in first ? first[$1] : ""), n[$1] + 0 }
' "$T/posts.tsv" "$T/sent.tsv" >"$T/joined.tsv"
extra=$(awk -F '\t' 'NR == FNR { sent[$1] = 1; next } !($1 in sent)' "$T/sent.tsv" "$T/posts.tsv" | wc -l)
bad_status=$(awk -F '\t' '$3 < 200 || $3 > 299' "$T/posts.tsv" | wc -l)

# Latencies in ms. A change whose POST did not come within the timeout is
# lost: it stays in the count, as an infinite latency (1e99, shown as
# "lost"), so that the percentiles are over every change made.
awk -F '\t' -v lim="$timeout_s" '{
        if ($4 != "" && ($4 - $2) / 1e6 <= lim) printf "%.3f\n", ($4 - $2) / 1000
        else print "1e99" }' "$T/joined.tsv" | sort -g >"$T/lat.ms"
awk -F '\t' '$4 != "" { printf "%.3f\n", ($4 - $3) / 1000 }' "$T/joined.tsv" | sort -n >"$T/after.ms"
awk -F '\t' '{ printf "%.3f\n", ($3 - $2) / 1000 }' "$T/joined.tsv" | sort -n >"$T/ldapadd.ms"
lost=$(awk -F '\t' -v lim="$timeout_s" '$4 == "" || ($4 - $2) / 1e6 > lim' "$T/joined.tsv")
dups=$(awk -F '\t' '$5 > 1 { print $1 " (" $5 " POSTs)" }' "$T/joined.tsv")

# pct FILE P: nearest-rank percentile of a sorted file; max for P=100.
pct() {
    awk -v p="$2" '{ v[NR] = $1 } END {
        if (!NR) { print "-"; exit }
        r = int((p * NR + 99) / 100); if (r < 1) r = 1; if (r > NR) r = NR
        if (v[r] >= 1e98) print "lost"; else printf "%.1f", v[r] }' "$1"
}
stats() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(wc -l <"$1")" "$(pct "$1" 0)" "$(pct "$1" 50)" \
        "$(pct "$1" 90)" "$(pct "$1" 99)" "$(pct "$1" 100)"
}
IFS=$'\t' read -r _ _ p50 _ p99 _ < <(stats "$T/lat.ms")
meets() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v + 0 <= l) }' && echo met || echo "NOT met"; }
p50_ok=$(meets "$p50" 200)
p99_ok=$(meets "$p99" 1000)
[[ $p50 == lost ]] || p50+=" ms"
[[ $p99 == lost ]] || p99+=" ms"

# How the daemon grouped the changes: its live cycles.
tail -n +"$log_from" "$T/daemon.log" >"$T/daemon-changes.log"
live_cycles=$(grep -c "cycle [0-9]* finished" "$T/daemon-changes.log" || true)
warnings=$(grep -ciE "warning|error" "$T/daemon-changes.log" || true)

cores=$(nproc)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo "Machine: $cores cores, $mem, $(uname -sr)"
echo "Daemon: $live_cycles cycles for $changes changes; $warnings warning/error lines in its log meanwhile"
grep -iE "warning|error" "$T/daemon-changes.log" | head -n 5 | sed 's/^/  | /' || true
echo "Simulator: $(wc -l <"$T/posts.tsv") POSTs to $path after the first sync ($extra for no change of this run, $bad_status not 2xx)"
if ((markdown)); then
    echo
    echo "| measured (ms) | count | min | p50 | p90 | p99 | max |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for r in "ldapadd start to POST arrival|lat" "ldapadd returned to POST arrival|after" "ldapadd round trip (baseline)|ldapadd"; do
        IFS=$'\t' read -r a b c d e f < <(stats "$T/${r#*|}.ms")
        echo "| ${r%|*} | $a | $b | $c | $d | $e | $f |"
    done
    echo
    echo "Targets: p50 <= 200 ms: $p50_ok ($p50); p99 <= 1000 ms: $p99_ok ($p99)."
else
    printf '%-34s %6s %8s %8s %8s %8s %8s\n' "measured (ms)" count min p50 p90 p99 max
    for r in "ldapadd start to POST arrival|lat" "ldapadd returned to POST arrival|after" "ldapadd round trip (baseline)|ldapadd"; do
        IFS=$'\t' read -r a b c d e f < <(stats "$T/${r#*|}.ms")
        printf '%-34s %6s %8s %8s %8s %8s %8s\n' "${r%|*}" "$a" "$b" "$c" "$d" "$e" "$f"
    done
    echo "target p50 <= 200 ms:  $p50_ok ($p50)"
    echo "target p99 <= 1000 ms: $p99_ok ($p99)"
fi

rc=0
if [[ -n "$lost" ]]; then
    echo "bench: $(wc -l <<<"$lost") of $changes changes did not reach the simulator within ${timeout_s} s:" >&2
    awk -F '\t' '{ if ($4 == "") print "  " $1 ": never arrived"
        else printf "  %s: arrived after %.0f ms\n", $1, ($4 - $2) / 1000 }' <<<"$lost" >&2
    rc=1
fi
if [[ -n "$dups" ]]; then
    echo "bench: changes POSTed more than once: $(tr '\n' ' ' <<<"$dups")" >&2
    rc=1
fi
# A clean stop is part of the run; a daemon that hangs is left to the
# harness, which kills it.
kill -TERM "$daemon_pid" 2>/dev/null || true
daemon_gone() { ! kill -0 "$daemon_pid" 2>/dev/null; }
if ! ms_wait_until 10 daemon_gone; then
    echo "bench: membersyncd did not stop within 10 s of SIGTERM" >&2
    rc=1
elif ! wait "$daemon_pid"; then
    echo "bench: membersyncd did not exit cleanly" >&2
    rc=1
fi
exit "$rc"
