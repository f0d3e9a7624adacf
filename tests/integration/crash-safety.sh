#!/usr/bin/env bash
# Exactly-once adds across crashes: a 10,000-user sync to the Rainbond
# simulator (whose adds are not idempotent: a second POST of a user is a
# 409), with membersyncd killed by SIGKILL at 20 random points and started
# again each time. The simulator's latency keeps requests in flight at
# every kill, so some kills land between a request and the commit of its
# answer. Afterwards every user must be at the simulator exactly once,
# created by exactly one POST, and nothing may be left pending.
# MS_CRASH_SEED repeats a run's kill points; MS_CRASH_USERS and
# MS_CRASH_KILLS shrink it for debugging.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
users=${MS_CRASH_USERS:-10000}
kills=${MS_CRASH_KILLS:-20}
seed=${MS_CRASH_SEED:-$$}
RANDOM=$seed
ms_log "seed $seed: $users users, $kills kills"

ms_setup
bash "$srcroot/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target | sed 's|retry_delay = 0.05;|retry_delay = 0.05; max_inflight = 16;|')"
sed -i 's|page_size = 50;|page_size = 500;|' "$T/membersync.conf"
# nomail, j.doe and the 27-character uid are invalid for Rainbond.
valid=$((users + 3))
_ms_curl -X POST -d '{"ms": 20}' "$SIM_URL/_sim/latency" >/dev/null

pending_seen=0
for ((k = 1; k <= kills; k++)); do
    # Early kills fall in the read or the first requests, later ones in
    # the thick of the pushes.
    delay_ms=$((300 + RANDOM % 2700))
    "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" >"$T/kill$k.log" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -KILL "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        pending=$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'pending'" 2>/dev/null || echo 0)
        oldest=$(ms_state_sql "SELECT coalesce(min(updated_at), 0) FROM members WHERE status = 'pending'" 2>/dev/null || echo 0)
        pending_seen=$((pending_seen + pending))
        ms_log "kill $k after ${delay_ms} ms: $(ms_sim_jq '.apis.rainbond.users | length') users at the simulator, $pending pending$( ((pending == 0)) || echo " (oldest marked $(($(date +%s) - oldest)) s ago)")"
    else
        wait "$pid" || true
        ms_log "kill $k after ${delay_ms} ms: the run had finished already"
    fi
done

ms_log "a last run without a kill"
ms_once final
ms_assert_eq 0 "$MS_RC" "exit status of the last run"
grep -q "interrupted add" "$T"/kill*.log "$T/final.log" || ms_fail "no interrupted add was ever checked"

ms_assert_eq "$valid" "$(ms_sim_jq '.apis.rainbond.users | length')" "users at the simulator"
ms_assert_eq "$valid" "$(ms_sim_jq '[.apis.rainbond.users[].nick_name] | unique | length')" "distinct users"
created_twice=$(ms_sim_jq '[.log[] | select(.method == "POST" and .status == 201) | .key] | group_by(.) | map(select(length > 1)) | length')
ms_assert_eq 0 "$created_twice" "users created by more than one POST"
ms_assert_eq "$valid" "$(ms_sim_jq '[.log[] | select(.method == "POST" and .status == 201)] | length')" "successful POSTs"
ms_assert_eq "$valid" "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('pending', 'failed', 'quarantined')")" \
    "rows left pending or failed"
lookups=$(ms_sim_jq '[.log[] | select(.method == "GET" and (.path | startswith("/openapi/v1/users")))] | length')
dups=$(ms_sim_jq '[.log[] | select(.method == "POST" and .status == 409)] | length')
ms_log "pending rows seen after kills: $pending_seen; lookups: $lookups; POSTs refused as duplicates: $dups"
[[ $pending_seen -gt 0 ]] || ms_fail "no kill landed while requests were pending; the test proved nothing"
[[ $lookups -gt 0 ]] || ms_fail "pending adds were never looked up"
ms_log "ok"
