#!/usr/bin/env bash
# The push engine against the simulator: transient failures retried within
# the cycle, Retry-After obeyed to the millisecond (no request before it),
# a configured rate sustained within 5 %, an API's own rate limit learnt
# without hammering it, and a Retry-After longer than max_wait pausing the
# target cleanly.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
ms_slapd_start
ms_sim_start

members=205 # 206 entries; nomail has no key
fresh() {
    ms_sim_reset
    rm -rf "$T/state"
    ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api | sed "s|max_retries = 3;|max_retries = 3; $1|")"
}
# Arrival times (ms) of the simulator's POSTs, one per line.
post_times() {
    ms_sim_jq '.log[] | select(.method == "POST") | .t_ms'
}

ms_log "transient failures are retried within the cycle"
fresh ""
ms_sim_fault '{"api":"rest","status":503,"count":10}'
ms_once transient
ms_assert_eq 0 "$MS_RC" "exit status with 10 transient failures"
ms_assert_eq "$members" "$(ms_sim_jq '.apis.rest.members | length')" "members delivered in one run"
ms_assert_eq $((members + 10)) "$(ms_posts /rest/members)" "requests (each failure retried once)"
grep -q "hr-api: $members added, .* 10 retries" "$T/transient.log" || ms_fail "retries not reported"

ms_log "Retry-After is obeyed"
fresh "max_inflight = 1;"
ms_sim_fault '{"api":"rest","status":429,"count":1,"headers":{"Retry-After":"2"}}'
ms_once retry_after
ms_assert_eq 0 "$MS_RC" "exit status after a 429"
ms_assert_eq "$members" "$(ms_sim_jq '.apis.rest.members | length')" "members delivered after the wait"
t429=$(ms_sim_jq '[.log[] | select(.status == 429)][0].t_ms')
early=$(ms_sim_jq --argjson t "$t429" '[.log[] | select(.t_ms > $t and .t_ms < $t + 2000)] | length')
# One request in flight: nothing can go out before the daemon has read the
# throttled answer, so nothing may arrive within its wait (with more in
# flight, requests sent before the answer was read would land inside it).
ms_assert_eq 0 "$early" "requests within 2 s of the 429"
grep -q "the API asks us to slow down" "$T/retry_after.log" || ms_fail "throttling not logged"

ms_log "a configured rate is sustained within 5 %"
# burst 2: a timer that fires late on a busy machine is made up for.
fresh "rate_limit = 50; burst = 2;"
ms_once rate
ms_assert_eq 0 "$MS_RC" "exit status at 50 requests/s"
rate=$(post_times | awk 'NR == 1 { f = $1 } { l = $1; n++ } END { printf "%.1f", (n - 1) * 1000 / (l - f) }')
ms_log "achieved $rate requests/s against rate_limit 50"
awk -v r="$rate" 'BEGIN { exit !(r >= 47.5 && r <= 52.5) }' || ms_fail "rate $rate is not within 5 % of 50"

ms_log "an API limit is learnt without hammering"
fresh ""
curl -sS --noproxy '*' --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"api":"rest","limit":40,"window_ms":1000}' "$SIM_URL/_sim/ratelimit"
ms_once learn
ms_assert_eq 0 "$MS_RC" "exit status against an API limit"
ms_assert_eq "$members" "$(ms_sim_jq '.apis.rest.members | length')" "members delivered under the API's limit"
throttled=$(ms_sim_jq '.stats.throttled.rest // 0')
ms_log "$throttled throttled answers for $members members"
# Learning costs a few refusals, not a storm.
if ((throttled > members / 10)); then
    ms_fail "$throttled throttled answers: the limit was not learnt"
fi

ms_log "a Retry-After longer than max_wait pauses the target"
fresh "max_wait = 5;"
ms_sim_fault '{"api":"rest","status":429,"count":-1,"headers":{"Retry-After":"3600"}}'
start=$SECONDS
ms_once long_wait
ms_assert_eq 1 "$MS_RC" "exit status when paused"
if ((SECONDS - start > 10)); then
    ms_fail "the run waited instead of pausing"
fi
grep -q "hr-api: paused for the rest of this cycle: throttled for longer than max_wait (5 s)" \
    "$T/long_wait.log" || ms_fail "pause not logged"
grep -q "not attempted" "$T/long_wait.log" || ms_fail "unattempted members not reported"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'pending'")" "pending rows after a pause"
ms_log "ok"
