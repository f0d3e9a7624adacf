#!/usr/bin/env bash
# The performance benchmark of issue 10: membersyncd side by side with a
# naive shell sync, the LDAP read ceiling and the simulator ceiling, all
# measured in this one run on this machine. Loopback only; everything runs
# in a temp folder that is removed (MS_KEEP_TMP=1 keeps it on failure).
#
#   bench/run.sh [--quick | --full] [-n USERS] [-s SCENARIOS] [--markdown]
#
#   --quick       10,000 users, shorter runs (what "make bench" runs; < 3 min)
#   (default)     100,000 users
#   --full        the default run, then scenarios 1, 5 and 7 again at 1,000,000
#   -n USERS      directory size (generated inetOrgPerson users)
#   -s LIST       scenarios to run, e.g. "1,5,7" (default: all)
#   --markdown    print the results as docs/BENCHMARKS.md tables
#
# Baselines and ceilings, measured first:
#   (a) naive: ldapsearch | awk | a shell loop running curl per user, on a
#       subset of the users (2,000; 500 with --quick), scaled to all;
#   (b) LDAP read ceiling: the same paged search as membersyncd's, to /dev/null;
#   (c) simulator ceiling: wrk POSTing valid, unique Rainbond members with
#       as many connections as membersyncd's max_inflight.
# Scenarios:
#   1 initial sync to Rainbond (single adds)   vs (a) and (c)
#   2 the same with 20 ms latency per request  vs max_inflight / latency
#   3 Devin batched adds, Comp AI bulk adds    requests/s and members/s vs (a)
#   4 DingTalk limited to 20 requests/s        achieved rate, throttled answers
#   5 no-change cycle                          wall time vs (b)
#   6 change propagation in persist mode       bench/latency.sh, 200 changes
#   7 peak RSS (from 1 and 5), state db bytes per member
# Binaries: see bench/binaries.sh (MEMBERSYNCD and TARGETSIM, or a build
# in BUILDDIR, the current build directory or build/). Exit status 1 when
# a measurement could not be taken (a run failed, members went missing);
# targets that are not met are reported, not fatal.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=100000
quick=0
full=0
markdown=0
scenarios=1,2,3,4,5,6,7
cmdline="bench/run.sh $*"
while (($#)); do
    case $1 in
    --quick) quick=1; users=10000; shift ;;
    --full) full=1; shift ;;
    -n) users=$2; shift 2 ;;
    -s) scenarios=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $users =~ ^[1-9][0-9]*$ ]] || { echo "bench: -n wants a positive number, not '$users'" >&2; exit 2; }
[[ $scenarios =~ ^[1-7](,[1-7])*$ ]] || { echo "bench: -s wants scenario numbers 1-7, e.g. 1,5,7" >&2; exit 2; }
want() { [[ ",$scenarios," == *",$1,"* ]]; }

if ((quick)); then
    naive_subset=500 wrk_seconds=5 rate_seconds=10 latency_changes=100
else
    naive_subset=2000 wrk_seconds=10 rate_seconds=30 latency_changes=200
fi
((naive_subset <= users)) || naive_subset=$users
inflight=8          # scenario 1 and the wrk ceiling
latency_inflight=32 # scenario 2
latency_ms=20
dingtalk_limit=20

. "$root/bench/binaries.sh"
((BASH_VERSINFO[0] >= 5)) || { echo "bench: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
for cmd in wrk ldapsearch curl jq awk /usr/bin/time; do
    command -v "$cmd" >/dev/null || { echo "bench: $cmd is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/daemon.sh"

# One row per figure, fields separated by US (not a tab: read would merge
# the empty ones): scenario, measured, membersyncd's figure, what it is
# compared with, that figure, the ratio, the target, met or not.
results=()
result() { results+=("$(printf '%s\x1f' "$@")"); ms_log "$1: $2 = $3${5:+ (vs $4: $5, ratio $6)}${8:+, $7: $8}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# verdict VALUE OP LIMIT: "met" or "NOT met"
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=" ? v <= l : v >= l); print (ok ? "met" : "NOT met") }'; }
elapsed() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", e - s }'; }

sim_get() { curl -sS --noproxy '*' --max-time 300 "$SIM_URL/_sim/state?$1" | jq -r "${@:2}"; }
sim_post() {
    curl -sS -f --noproxy '*' --max-time 300 -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$SIM_URL/_sim/$1"
}
# sim_span: "REQUESTS SECONDS" from the first request's arrival to the last's.
sim_span() {
    local n first last
    n=$(sim_get log=0 .stats.requests)
    ((n > 1)) || { echo "$n 0"; return; }
    first=$(sim_get log_limit=1 '.log[0].received_at')
    last=$(sim_get "log_since=$((n - 1))&log_limit=1" '.log[0].received_at')
    echo "$n $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
}

conf_write() {
    cat >"$T/bench.conf" <<EOT
source = {
  uri = "$LDAP_URI"; bind_dn = "$LDAP_SVC_DN"; bind_password_file = "$LDAP_SVC_PWFILE";
  allow_plaintext_bind = true;
  base = "$LDAP_PEOPLE"; filter = "${2:-(objectClass=inetOrgPerson)}";
  page_size = 1000; timeout = 60; change_detection = "full";
};
state_dir = "$T/state";
log_level = "warning";
targets = (
$1
);
EOT
}
rainbond_target() {
    cat <<EOT
  { name = "bench"; driver = "rainbond"; url = "$SIM_URL"; auth = { key_file = "$SIM_RAINBOND_KEYFILE"; };
    max_inflight = $1; rate_limit = 0; max_retries = 3;
    map = { nick_name = "\${uid}"; email = "\${mail | lower}"; password = "\${random_password(12)}";
            enterprise_id = "bench"; }; }
EOT
}
# run_once NAME: membersyncd --once with $T/bench.conf; sets WALL and RSS_KB.
run_once() {
    "/usr/bin/time" -f '%e %M' -o "$T/$1.time" \
        "$MEMBERSYNCD" --once --foreground --config "$T/bench.conf" >"$T/$1.log" 2>&1 ||
        { tail -n 20 "$T/$1.log" >&2; ms_error "membersyncd --once failed in $1 (log above)"; }
    read -r WALL RSS_KB <"$T/$1.time"
}

cores=$(nproc)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Command: $cmdline"
echo "Machine: $cores cores ($cpu), $mem RAM, $(uname -sr)"
echo "membersyncd: $("$MEMBERSYNCD" --version 2>/dev/null | head -n 1), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "Directory: $users generated users; naive subset $naive_subset; max_inflight $inflight (wrk -c $inflight)"

ms_setup
started=$EPOCHREALTIME
ms_sim_start --threads 2

# The directory. Comp AI adds in bulk only people it knows by user id, so
# every user is created there first and its id goes into employeeType; the
# simulator hands out the same ids in the same order after every reset.
bash "$root/tests/data/gen-users.sh" -n "$users" >"$T/gen.ldif"
awk '/^mail: / && !m { m = 1; print tolower(substr($0, 7)) } /^dn: / { m = 0 }' "$T/gen.ldif" |
    sort -u >"$T/emails"
# In chunks: the simulator takes bodies up to 1 MiB.
compai_seed() {
    local chunk
    rm -f "$T"/compai-chunk.* "$T/compai-ids.$1"
    split -l 5000 -d -a 4 "$T/emails" "$T/compai-chunk."
    for chunk in "$T"/compai-chunk.*; do
        jq -Rn '{users: [inputs | {email: ., name: (split("@")[0])}]}' <"$chunk" |
            curl -sS -f --noproxy '*' --max-time 300 -X POST --data-binary @- \
                "$SIM_URL/_sim/api/compai/add-user" | jq -r '.ids[]' >>"$T/compai-ids.$1"
    done
    (($(wc -l <"$T/compai-ids.$1") == $(wc -l <"$T/emails"))) || ms_error "Comp AI: not every user was created"
}
if want 3; then
    compai_seed 0
    paste -d' ' "$T/emails" "$T/compai-ids.0" >"$T/email-ids"
    awk -v idfile="$T/email-ids" '
        BEGIN { while ((getline l < idfile) > 0) { split(l, f, " "); id[f[1]] = f[2] } }
        /^dn: / { m = 0 }
        { print }
        /^mail: / && !m { m = 1; e = tolower(substr($0, 7)); if (e in id) print "employeeType: " id[e] }' \
        "$T/gen.ldif" >"$T/users.ldif"
else
    mv "$T/gen.ldif" "$T/users.ldif"
fi
t0=$EPOCHREALTIME
ms_slapd_start "$T/users.ldif"
ms_log "directory: $users users loaded with slapadd in $(elapsed "$t0" "$EPOCHREALTIME") s"
entries=$(($(grep -c '^dn: ' "$T/users.ldif") - 4))   # minus base, people, groups, services

# ---------------------------------------------------------------- baselines
# (b) the LDAP read ceiling: the attributes membersyncd asks for with the
# Rainbond mapping (the id, the two account-disabled flags, uid, mail),
# paged like membersyncd.
ldap_read() {
    ldapsearch -LLL -x -H "$LDAP_URI" -D "$LDAP_SVC_DN" -y "$LDAP_SVC_PWFILE" -b "$LDAP_PEOPLE" \
        -E pr=1000/noprompt '(objectClass=inetOrgPerson)' entryUUID userAccountControl pwdAccountLockedTime uid mail >/dev/null
}
ldap_read   # warms slapd's caches, as membersyncd's first run will have
t0=$EPOCHREALTIME
ldap_read
ldap_s=$(elapsed "$t0" "$EPOCHREALTIME")
ms_log "(b) LDAP read ceiling: $entries entries in $ldap_s s"

naive_rate=0
if want 1 || want 3; then
    ms_sim_reset
    printf 'Authorization: %s\nContent-Type: application/json\n' "$(<"$SIM_RAINBOND_KEYFILE")" >"$T/naive.headers"
    t0=$EPOCHREALTIME
    bash "$root/bench/naive-sync.sh" "$LDAP_URI" "$LDAP_SVC_DN" "$LDAP_SVC_PWFILE" "$LDAP_PEOPLE" \
        "$SIM_URL/openapi/v1/users" "$T/naive.headers" "$naive_subset" >"$T/naive.out"
    naive_s=$(elapsed "$t0" "$EPOCHREALTIME")
    naive_ok=$(awk '$2 ~ /^2/ { n += $1 } END { print n + 0 }' "$T/naive.out")
    ((naive_ok * 100 >= naive_subset * 99)) ||
        ms_error "naive baseline: only $naive_ok of $naive_subset adds succeeded: $(tr '\n' ' ' <"$T/naive.out")"
    naive_rate=$(awk -v n="$naive_ok" -v s="$naive_s" 'BEGIN { printf "%.1f", n / s }')
    ms_log "(a) naive shell sync: $naive_ok users in $naive_s s = $naive_rate users/s" \
        "(all $entries: $(awk -v n="$entries" -v r="$naive_rate" 'BEGIN { printf "%.0f", n / r }') s)"
fi

ceiling=0
if want 1; then
    ms_sim_reset
    BENCH_BODY='{"nick_name":"%ID%","password":"Passw0rd1234","enterprise_id":"bench","email":"%ID%@bench.org"}' \
        BENCH_HEADERS="Authorization: $(<"$SIM_RAINBOND_KEYFILE")
Content-Type: application/json" \
        wrk -t2 -c"$inflight" -d"${wrk_seconds}s" -s "$root/bench/wrk/post.lua" "$SIM_URL/openapi/v1/users" >"$T/wrk.out"
    ceiling=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$T/wrk.out")
    stored=$(sim_get log=0 '.apis.rainbond.users | length')
    total=$(sim_get log=0 .stats.requests)
    ((stored * 100 >= total * 99)) ||
        ms_error "wrk: only $stored of its $total requests stored a member; the ceiling is not valid"
    ms_log "(c) simulator ceiling: $ceiling req/s (wrk -t2 -c$inflight, $stored members stored)"
fi

# ---------------------------------------------------------------- scenarios
if want 1 || want 5 || want 7; then
    ms_sim_reset
    rm -rf "$T/state"
    conf_write "$(rainbond_target "$inflight")"
    run_once initial
    read -r reqs span < <(sim_span)
    added=$(sim_get log=0 '.apis.rainbond.users | length')
    ((added * 100 >= entries * 99)) || ms_error "initial sync stored $added of $entries members"
    initial_rss=$RSS_KB
    push_rate=$(awk -v n="$reqs" -v s="$span" 'BEGIN { printf "%.0f", (s > 0 ? (n - 1) / s : 0) }')
    e2e_rate=$(awk -v n="$added" -v s="$WALL" 'BEGIN { printf "%.0f", n / s }')
    db_bytes=$(du -cb "$T/state"/state.db* | awk 'END { print $1 }')
    if want 1; then
        result 1 "users/s, whole cycle ($added added in $WALL s)" "$e2e_rate" "(a) naive shell sync, users/s" \
            "$naive_rate" "$(ratio "$e2e_rate" "$naive_rate")" ">= 80x (a)" \
            "$(verdict "$(ratio "$e2e_rate" "$naive_rate")" ">=" 80)"
        result 1 "requests/s while pushing ($reqs requests in $span s)" "$push_rate" \
            "(c) simulator ceiling, req/s" "$ceiling" "$(ratio "$push_rate" "$ceiling")" ">= 0.5 of (c)" \
            "$(verdict "$(ratio "$push_rate" "$ceiling")" ">=" 0.5)"
    fi
    if want 5 || want 7; then
        before=$(sim_get log=0 .stats.requests)
        run_once nochange
        sent=$(($(sim_get log=0 .stats.requests) - before))
        ((sent == 0)) || ms_error "the no-change cycle sent $sent requests"
        # The 2 s target is for 100,000 entries.
        goal="<= 2 s" met=$(verdict "$WALL" "<=" 2)
        ((users <= 100000)) || goal="(2 s is for 100k)" met=""
        want 5 && result 5 "no-change cycle over $entries entries, s" "$WALL" "(b) LDAP read ceiling, s" "$ldap_s" \
            "$(ratio "$WALL" "$ldap_s")" "$goal" "$met"
        nochange_rss=$RSS_KB
    fi
    if want 7; then
        limit_mb=$(((users + 6) > 500000 ? 300 : 50))
        peak=$((initial_rss > ${nochange_rss:-0} ? initial_rss : ${nochange_rss:-0}))
        result 7 "peak RSS at $entries entries, MB (initial $((initial_rss / 1024)), no-change $((${nochange_rss:-0} / 1024)))" \
            "$((peak / 1024))" "" "" "" "<= $limit_mb MB" "$(verdict "$((peak / 1024))" "<=" "$limit_mb")"
        result 7 "state db bytes per member ($((db_bytes / 1024)) KiB for $added)" \
            "$((db_bytes / added))" "" "" "" "" ""
    fi
fi

if want 2; then
    ms_sim_reset
    sim_post latency "{\"ms\":$latency_ms}" >/dev/null
    rm -rf "$T/state"
    conf_write "$(rainbond_target "$latency_inflight")"
    run_once latency
    read -r reqs span < <(sim_span)
    rate=$(awk -v n="$reqs" -v s="$span" 'BEGIN { printf "%.0f", (s > 0 ? (n - 1) / s : 0) }')
    bound=$((latency_inflight * 1000 / latency_ms))
    result 2 "requests/s, $latency_ms ms per request, max_inflight $latency_inflight ($reqs in $span s)" "$rate" \
        "max_inflight / latency" "$bound" "$(ratio "$rate" "$bound")" ">= 0.9" \
        "$(verdict "$(ratio "$rate" "$bound")" ">=" 0.9)"
fi

if want 3; then
    # Devin: everyone is a Devin user already; membersyncd looks each up
    # and adds them to the organisation in batches. At most the first 9,999
    # users (uid userNNNN with leading zeros, gen-users.sh): the simulator
    # answers a lookup by searching every user's email for the text, as the
    # API's search does, so at 100,000 users it is the simulator that sets
    # the pace.
    width=$((users >= 10000 ? ${#users} : 4))
    devin_filter='(objectClass=inetOrgPerson)' devin_what="all users"
    if ((width > 4)); then
        devin_filter="(&(objectClass=inetOrgPerson)(uid=user$(printf '%0*d' $((width - 4)) 0)*))"
        devin_what="users 1-9999"
    fi
    ms_sim_reset
    sim_post api/devin/add-org '{"org_id":"org-bench"}' >/dev/null
    if ((width > 4)); then
        grep "^user$(printf '%0*d' $((width - 4)) 0)" "$T/emails" >"$T/devin-emails"
    else
        cp "$T/emails" "$T/devin-emails"
    fi
    split -l 20000 -d -a 4 "$T/devin-emails" "$T/devin-chunk."
    for chunk in "$T"/devin-chunk.*; do
        jq -Rn '{emails: [inputs]}' <"$chunk" | curl -sS -f --noproxy '*' --max-time 300 -o /dev/null -X POST \
            --data-binary @- "$SIM_URL/_sim/api/devin/add-user"
    done
    rm -rf "$T/state"
    conf_write "  { name = \"bench\"; driver = \"devin\"; url = \"$SIM_URL/devin\"; org_id = \"org-bench\";
    auth = { key_file = \"$SIM_SECRETS/devin.key\"; }; max_inflight = $inflight; rate_limit = 0;
    map = { email = \"\${mail | lower}\"; }; }" "$devin_filter"
    run_once devin
    read -r reqs span < <(sim_span)
    members=$(sim_get log=0 '.apis.devin.orgs["org-bench"] | length')
    want_members=$((width > 4 ? 9999 : entries))
    ((members * 100 >= want_members * 98)) || ms_error "Devin: only $members of $want_members people became members"
    result 3 "Devin, $devin_what: requests/s ($reqs in $span s)" "$(awk -v n="$reqs" -v s="$span" 'BEGIN { printf "%.0f", (n - 1) / s }')" \
        "" "" "" "" ""
    m_rate=$(awk -v n="$members" -v s="$WALL" 'BEGIN { printf "%.0f", n / s }')
    result 3 "Devin, $devin_what: members/s, whole cycle ($members in $WALL s)" "$m_rate" "(a) naive shell sync, users/s" \
        "$naive_rate" "$(ratio "$m_rate" "$naive_rate")" "" ""

    # Comp AI: bulk adds of people it knows, up to 1,000 per request.
    ms_sim_reset
    compai_seed 1
    cmp -s "$T/compai-ids.0" "$T/compai-ids.1" || ms_error "Comp AI handed out other ids after the reset"
    rm -rf "$T/state"
    conf_write "  { name = \"bench\"; driver = \"compai\"; url = \"$SIM_URL/compai\";
    auth = { key_file = \"$SIM_SECRETS/compai.key\"; }; max_inflight = $inflight; rate_limit = 0;
    map = { email = \"\${mail | lower}\"; userId = \"\${employeeType}\"; role = \"employee\"; }; }"
    before=$(sim_get log=0 .stats.requests)   # the seeding is not counted, but be sure
    run_once compai
    read -r reqs span < <(sim_span)
    reqs=$((reqs - before))
    members=$(sim_get log=0 '[.apis.compai.members[] | select(.isActive)] | length')
    ((members * 100 >= entries * 98)) || ms_error "Comp AI: only $members of $entries people became members"
    result 3 "Comp AI bulk: requests ($reqs in $WALL s)" "$reqs" "" "" "" "" ""
    m_rate=$(awk -v n="$members" -v s="$WALL" 'BEGIN { printf "%.0f", n / s }')
    result 3 "Comp AI bulk: members/s, whole cycle ($members in $WALL s)" "$m_rate" \
        "(a) naive shell sync, users/s" "$naive_rate" "$(ratio "$m_rate" "$naive_rate")" "" ""
fi

if want 4; then
    ms_sim_reset
    sim_post ratelimit "{\"api\":\"dingtalk\",\"limit\":$dingtalk_limit,\"window_ms\":1000}" >/dev/null
    rm -rf "$T/state"
    conf_write "  { name = \"bench\"; driver = \"dingtalk\"; url = \"$SIM_URL/dingtalk\"; rate_limit = $dingtalk_limit;
    auth = { appkey_file = \"$SIM_SECRETS/dingtalk.appkey\"; appsecret_file = \"$SIM_SECRETS/dingtalk.appsecret\"; };
    map = { name = \"\${displayName | default(cn)}\"; mobile = \"\${mobile}\"; dept_id_list = \"1\"; userid = \"\${uid}\"; };
    max_inflight = $inflight; }"
    "$MEMBERSYNCD" --foreground --config "$T/bench.conf" >"$T/dingtalk.log" 2>&1 &
    pid=$!
    ms_register_pid "$pid"
    first_request() { (($(sim_get log=0 .stats.requests) > 0)); }
    ms_wait_until 120 first_request || ms_error "membersyncd sent nothing to DingTalk within 120 s"
    sleep "$rate_seconds"
    kill -TERM "$pid"
    wait "$pid" || true
    read -r reqs span < <(sim_span)
    throttled=$(sim_get '' '[.log[] | select(.throttled)] | length')
    achieved=$(awk -v n="$reqs" -v t="$throttled" -v s="$span" 'BEGIN { printf "%.2f", (n - t - 1) / s }')
    pct=$(awk -v n="$reqs" -v t="$throttled" 'BEGIN { printf "%.2f", 100 * t / n }')
    result 4 "DingTalk requests/s admitted, limit $dingtalk_limit/s ($reqs requests in $span s)" "$achieved" \
        "the limit" "$dingtalk_limit" "$(ratio "$achieved" "$dingtalk_limit")" ">= 0.95" \
        "$(verdict "$(ratio "$achieved" "$dingtalk_limit")" ">=" 0.95)"
    result 4 "throttled answers, % ($throttled of $reqs)" "$pct" "" "" "" "< 1 %" "$(verdict "$pct" "<=" 0.99)"
fi

if want 6; then
    # Its own slapd (with syncprov) and simulator, so none of ours.
    env -u SIM_PID -u SIM_URL -u SIM_SECRETS -u SIM_RAINBOND_KEYFILE -u SIM_REST_TOKENFILE \
        bash "$root/bench/latency.sh" -n "$latency_changes" >"$T/latency.out" 2>&1 ||
        { tail -n 20 "$T/latency.out" >&2; ms_error "bench/latency.sh failed"; }
    read -r _ _ _ _ _ count _ p50 _ p99 _ < <(grep '^ldapadd start to POST arrival' "$T/latency.out") || true
    result 6 "ldapadd start to POST arrival, p50 ms ($count changes)" "$p50" "" "" "" "<= 200 ms" "$(verdict "$p50" "<=" 200)"
    result 6 "ldapadd start to POST arrival, p99 ms" "$p99" "" "" "" "<= 1000 ms" "$(verdict "$p99" "<=" 1000)"
fi

echo
titles=("" "Initial sync, Rainbond single adds" "20 ms latency per request" "Devin batches, Comp AI bulk"
    "DingTalk rate-limited to 20 requests/s" "No-change cycle" "Change propagation in persist mode"
    "Memory and state size")
if ((markdown)); then
    # A table per scenario.
    for n in 1 2 3 4 5 6 7; do
        header=1
        for r in "${results[@]}"; do
            IFS=$'\x1f' read -r s m v a f q g d <<<"$r"
            [[ $s == "$n" ]] || continue
            if ((header)); then
                printf '\n**%s. %s**\n\n' "$n" "${titles[$n]}"
                echo "| measured | membersyncd | compared with | its figure | ratio | target | result |"
                echo "|---|---:|---|---:|---:|---|---|"
                header=0
            fi
            echo "| $m | $v | ${a:--} | ${f:--} | ${q:--} | ${g:--} | ${d:--} |"
        done
    done
else
    for r in "${results[@]}"; do
        IFS=$'\x1f' read -r s m v a f q g d <<<"$r"
        printf '%s  %-70s %10s' "$s" "$m" "$v"
        [[ -n $a ]] && printf '   %s %s (ratio %s)' "$a:" "$f" "$q"
        [[ -n $g ]] && printf '   target %s: %s' "$g" "$d"
        printf '\n'
    done
fi
echo "Run time: $(elapsed "$started" "$EPOCHREALTIME") s"

if ((full)); then
    echo
    echo "==== the same at 1,000,000 users: scenarios 1, 5 and 7"
    extra=()
    ((markdown)) && extra+=(--markdown)
    env -u SIM_PID -u SIM_URL -u SIM_SECRETS -u SIM_RAINBOND_KEYFILE -u SIM_REST_TOKENFILE \
        bash "$0" -n 1000000 -s 1,5,7 "${extra[@]}"
fi
