#!/usr/bin/env bash
# The devin driver end to end against real slapd (500 generated users plus
# the special ones) and the Devin simulator:
#   - a full sync: every member resolved by email, added once, in batches
#     of batch_size; members already in the organization re-added
#     harmlessly and recorded synced with their user id; unknown emails
#     skipped with a reason logged once; a second run sends nothing;
#   - the identity cache: a run after failed adds looks nobody up again, and
#     a cached user deleted at Devin is isolated by halving its batch (the
#     others added, it alone invalid with Devin's own words);
#   - invite = true invites unknown emails (and Devin's validator refuses a
#     bad address), then adds them;
#   - a wrong key pauses the target without hammering; the right one
#     delivers everything afterwards;
#   - throttling (a 429 with Retry-After, and the API's own rate limit) is
#     waited out and everything delivered;
#   - a 5xx storm on lookups and adds is retried and delivers every member
#     exactly once;
#   - no secret in the logs or the state database.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
bash "$srcroot/tests/data/gen-users.sh" -n 500 >"$T/users.ldif"
# An address the mapping's check accepts but Devin's validator does not.
cat >>"$T/users.ldif" <<EOT

dn: uid=dots,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dots
cn: Double Dots
sn: Dots
mail: double..dots@example.org
EOT
ms_slapd_start "$T/users.ldif"
ms_sim_start

ORG=org-main
ADD_PATH=/devin/v2/enterprise/organizations/$ORG/members
LOOKUP_PATH=/devin/v2/enterprise/members
INVITE_PATH=/devin/v2/enterprise/members/invite
# 507 entries: nomail has no email (invalid for the mapping); 506 emails.
# Devin knows the 500 regular users and these three; zhangsan, long and
# double..dots are strangers to it.
KNOWN_EXTRA='"multimail1@example.org","jsmith@example.org","j.doe@example.org"'
known=503

ctl() {
    curl -sS -f --noproxy '*' --max-time 10 -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$SIM_URL/_sim/api/devin/$1"
}

# api METHOD PATH [BODY]: the simulated API itself, with the right key.
api() {
    curl -sS --noproxy '*' --max-time 10 -X "$1" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $(<"$SIM_SECRETS/devin.key")" ${3:+--data-binary "$3"} "$SIM_URL$2"
}

# add_users FIRST LAST [EXTRA_JSON_EMAILS]: enterprise users user<FIRST..LAST>.
add_users() {
    local list
    list=$(seq -f '"user%04g@example.org"' "$1" "$2" | paste -sd, -)
    ctl add-user "{\"emails\":[${list}${3:+,$3}]}"
}

devin_target() {
    cat <<EOT
  { name = "devin"; driver = "devin"; url = "$SIM_URL/devin"; org_id = "$ORG";
    auth = { key_file = "${2:-$SIM_SECRETS/devin.key}"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    $1
    map = { email = "\${mail | lower}"; };
  }
EOT
}

# fresh TARGET_EXTRA [KEYFILE]: empty simulator (one organization), no state.
fresh() {
    ms_sim_reset
    rm -rf "$T/state"
    ctl add-org "{\"org_id\":\"$ORG\"}" >/dev/null
    ms_conf_write "$T/membersync.conf" "$(devin_target "$1" "${2:-}")"
}

members() { ms_sim_jq --arg o "$ORG" '.apis.devin.orgs[$o] | length'; }
log_len() { ms_sim_jq '.log | length'; }
# count_since SEQ JQ_SELECT: log entries after SEQ matching the condition.
count_since() { ms_sim_jq --argjson s "$1" "[.log[] | select(.seq > \$s and ($2))] | length"; }
sql() { ms_state_sql "$1"; }

# Every member of the organization was named by exactly one successful add.
assert_added_once() {
    ms_assert_eq "$1" "$(members)" "members of $ORG"
    ms_assert_eq 0 "$(ms_sim_jq --arg o "$ORG" '[.apis.devin.orgs[$o][] | select(.adds != 1)] | length')" \
        "members added more than once"
    ms_assert_eq "$1" "$(ms_sim_jq '[.apis.devin.add_calls[] | select(.status == 200) | .size] | add // 0')" \
        "user ids in successful add calls"
}

# ------------------------------------------------------------------ full sync
ms_log "full sync of $known known members; three already in the organization"
fresh ""
add_users 1 500 "$KNOWN_EXTRA" >"$T/ids.json"
pre=$(jq -c '.user_ids[0:3]' "$T/ids.json")
api POST "$ADD_PATH" "{\"user_ids\":$pre,\"org_ids\":[\"$ORG\"]}" >/dev/null
ms_assert_eq 3 "$(members)" "members before the first run"
seq0=$(log_len)
ms_once full1
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq "$known" "$(members)" "members after the first run"
# The three already there were re-added (idempotent), the others once.
ms_assert_eq 3 "$(ms_sim_jq --arg o "$ORG" '[.apis.devin.orgs[$o][] | select(.adds == 2)] | length')" \
    "pre-existing members re-added"
ms_assert_eq 0 "$(ms_sim_jq --arg o "$ORG" '[.apis.devin.orgs[$o][] | select(.adds > 2 or .adds < 1)] | length')" \
    "members added more than once"
ms_assert_eq "$known" "$(ms_sim_jq '[.apis.devin.add_calls[1:][] | select(.status == 200) | .size] | add')" \
    "user ids in the run's add calls"
# Batched: ceil(503 / 100) calls of at most 100.
ms_assert_eq 6 "$(count_since "$seq0" ".path == \"$ADD_PATH\"")" "add calls (batches of 100)"
ms_assert_eq "[100,100,100,100,100,3]" \
    "$(ms_sim_jq -c '[.apis.devin.add_calls[1:][] | .size] | sort_by(-.)')" "batch sizes"
ms_assert_eq 506 "$(count_since "$seq0" ".path == \"$LOOKUP_PATH\"")" "lookups (one per email)"
ms_assert_eq 506 "$(ms_sim_jq --argjson s "$seq0" \
    '[.log[] | select(.seq > $s and .method == "GET") | .key] | unique | length')" "distinct emails looked up"
ms_assert_eq 0 "$(count_since "$seq0" ".path == \"$INVITE_PATH\"")" "invitations without invite = true"
# Synced with the user id Devin has for each email, pre-existing ones too.
sql "SELECT member_key || ' ' || remote_id FROM members WHERE status = 'synced' ORDER BY 1" >"$T/state.ids"
ms_sim_jq --arg o "$ORG" '.apis.devin.orgs[$o][] | "\(.email | ascii_downcase) \(.user_id)"' | LC_ALL=C sort >"$T/sim.ids"
LC_ALL=C sort -o "$T/state.ids" "$T/state.ids"
diff -u "$T/sim.ids" "$T/state.ids" >&2 || ms_fail "remote ids in the state differ from Devin's user ids"
ms_assert_eq "$known" "$(wc -l <"$T/state.ids")" "synced rows"
ms_assert_eq 4 "$(sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" "failed or pending rows"
ms_assert_eq "no Devin user with email zhangsan@example.org (set invite = true to invite)" \
    "$(sql "SELECT last_error FROM members WHERE member_key = 'zhangsan@example.org'")" "reason in the state"
ms_assert_eq 1 "$(grep -c "zhangsan@example.org .* was rejected and is skipped until it changes: no Devin user with email zhangsan@example.org (set invite = true to invite)" "$T/full1.log")" \
    "reason logged once"
grep -q "devin: $known added, 0 already there, 0 updated, 3 rejected, 0 failed, 1 invalid, 0 unchanged" "$T/full1.log" ||
    ms_fail "first run summary"

ms_log "second run: nothing sent, nothing logged again"
seq1=$(log_len)
ms_once full2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 0 "$(count_since "$seq1" 'true')" "requests in the second run"
if grep -q -e "rejected and is skipped" -e "skipping" "$T/full2.log"; then
    ms_fail "invalid members logged again"
fi
grep -q "devin: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 4 invalid, $known unchanged" "$T/full2.log" ||
    ms_fail "second run summary"

# ------------------------------------------------------- identity cache, split
ms_log "adds failing for a whole run: ids are cached, members left failed"
fresh ""
add_users 1 500 "$KNOWN_EXTRA" >/dev/null
ms_sim_fault '{"api":"devin","method":"POST","status":500,"count":-1}'
ms_once cache1
ms_assert_eq 1 "$MS_RC" "exit status with failed adds"
ms_assert_eq 0 "$(members)" "members while adds fail"
ms_assert_eq "$known" "$(sql "SELECT count(*) FROM members WHERE status = 'failed'")" "failed rows"
ms_assert_eq "$known" "$(sql "SELECT count(*) FROM identities WHERE remote_id LIKE 'user-%'")" "cached ids"

ms_log "next run: no lookups; a cached user deleted at Devin is isolated by halving"
ms_sim_clear_faults
bad=$(ctl delete-user '{"email":"user0250@example.org"}' | jq -r .deleted)
seq2=$(log_len)
ms_once cache2
ms_assert_eq 0 "$MS_RC" "exit status after the split"
ms_assert_eq 0 "$(count_since "$seq2" '.method == "GET"')" "lookups with every id cached"
assert_added_once $((known - 1))
ms_assert_eq 0 "$(ms_sim_jq --arg o "$ORG" '[.apis.devin.orgs[$o][] | select(.email == "user0250@example.org")] | length')" \
    "the deleted user is no member"
reason="Devin refused user $bad: User $bad not found in this enterprise"
ms_assert_eq "invalid|$reason" \
    "$(sql "SELECT status || '|' || last_error FROM members WHERE member_key = 'user0250@example.org'")" \
    "the deleted user's state"
ms_assert_eq 1 "$(grep -cF "was rejected and is skipped until it changes: $reason" "$T/cache2.log")" \
    "the refusal logged once"
ms_assert_eq $((known - 1)) "$(sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows after the split"
# The refused calls halve down to the one bad id; each split adds the good half.
ms_sim_jq -c '[.apis.devin.add_calls[] | select(.status == 422) | .size]' >"$T/fails"
ms_sim_jq -c '[.apis.devin.add_calls[] | select(.status == 200) | .size]' >"$T/oks"
ms_log "refused batch sizes $(<"$T/fails"), accepted $(<"$T/oks")"
ms_assert_eq true "$(jq -n --argjson f "$(<"$T/fails")" '
    ($f | length) >= 2 and $f[-1] == 1 and $f[0] <= 100 and
    ([range(0; ($f | length) - 1) as $i | $f[$i + 1] == ($f[$i] / 2 | floor) or $f[$i + 1] == ($f[$i] / 2 | ceil)] | all)')" \
    "refused calls halve down to one id"
ms_assert_eq $((5 + $(jq length "$T/fails") - 1)) "$(jq length "$T/oks")" \
    "accepted calls: the five other batches and one good half per split"
ms_assert_eq "" "$(sql "SELECT remote_id FROM identities WHERE lookup_key = 'user0250@example.org'")" \
    "the stale id is forgotten"

# ---------------------------------------------------------------- invitations
ms_log "invite = true: strangers are invited, then added; Devin refuses a bad address"
fresh "invite = true;"
add_users 1 400 >/dev/null
seq3=$(log_len)
ms_once invite1
ms_assert_eq 0 "$MS_RC" "exit status with invitations"
# 100 regular users and the five special addresses were strangers; all but
# double..dots invited.
ms_assert_eq 106 "$(count_since "$seq3" ".path == \"$INVITE_PATH\"")" "invitations sent (one per stranger)"
ms_assert_eq 105 "$(ms_sim_jq '.apis.devin.invited')" "users invited"
ms_assert_eq $((506 + 105)) "$(count_since "$seq3" ".path == \"$LOOKUP_PATH\"")" "lookups (and one after each invitation)"
assert_added_once 505
ms_assert_eq 6 "$(count_since "$seq3" ".path == \"$ADD_PATH\"")" "add calls (batches of 100)"
reason="Devin refused to invite double..dots@example.org: value is not a valid email address: An email address cannot have two periods in a row."
ms_assert_eq "invalid|$reason" \
    "$(sql "SELECT status || '|' || last_error FROM members WHERE member_key = 'double..dots@example.org'")" \
    "the refused address's state"
ms_assert_eq 1 "$(grep -cF "$reason" "$T/invite1.log")" "the refusal logged once"
ms_assert_eq 505 "$(sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows after invitations"
seq4=$(log_len)
ms_once invite2
ms_assert_eq 0 "$MS_RC" "exit status of the run after invitations"
ms_assert_eq 0 "$(count_since "$seq4" 'true')" "requests after invitations"
if grep -qF "$reason" "$T/invite2.log"; then
    ms_fail "the refused address logged again"
fi

# ----------------------------------------------------------------- credentials
ms_log "a wrong key pauses the target without hammering"
(umask 077 && printf 'apk_user_wrong\n' >"$T/wrong.key")
fresh "" "$T/wrong.key"
add_users 1 500 "$KNOWN_EXTRA" >/dev/null
ms_once badkey
ms_assert_eq 1 "$MS_RC" "exit status with a wrong key"
grep -q "devin: paused for the rest of this cycle: the target refused our credentials (HTTP 401: {\"detail\":\"Invalid API key\"})" \
    "$T/badkey.log" || ms_fail "pause not logged"
total=$(count_since 0 'true')
refused=$(count_since 0 '.status == 401')
ms_log "$total requests with a wrong key"
ms_assert_eq "$total" "$refused" "every request refused"
# max_inflight (4) at most: the first refusal, and those already in flight.
if ((total > 4)); then
    ms_fail "$total requests with a wrong key (max_inflight is 4)"
fi
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('pending', 'synced')")" "pending or synced rows"
ms_conf_write "$T/membersync.conf" "$(devin_target "")"
ms_once goodkey
ms_assert_eq 0 "$MS_RC" "exit status with the right key"
assert_added_once "$known"

# ------------------------------------------------------------------ throttling
ms_log "a 429 with Retry-After: nothing sent before it, everything delivered"
fresh "max_inflight = 1;"
add_users 1 500 "$KNOWN_EXTRA" >/dev/null
ms_sim_fault '{"api":"devin","status":429,"count":1,"skip":40,"headers":{"Retry-After":"2"},"body":"{\"detail\":\"Rate limit exceeded\"}"}'
ms_once throttle1
ms_assert_eq 0 "$MS_RC" "exit status after a 429"
assert_added_once "$known"
t429=$(ms_sim_jq '[.log[] | select(.status == 429)][0].t_ms')
early=$(ms_sim_jq --argjson t "$t429" '[.log[] | select(.t_ms > $t and .t_ms < $t + 2000)] | length')
# One request in flight: nothing can go out before the daemon has read the
# throttled answer, so nothing may arrive within its wait (with more in
# flight, requests sent before the answer was read would land inside it).
ms_assert_eq 0 "$early" "requests within 2 s of the 429"
grep -q "devin: the API asks us to slow down (HTTP 429: {\"detail\":\"Rate limit exceeded\"})" "$T/throttle1.log" ||
    ms_fail "throttling not logged"

if ! ms_memcheck_skips "the rate limit section (150 requests/s)"; then
    ms_log "Devin's own rate limit: waited out, learnt, everything delivered"
    fresh "max_inflight = 1;"
    add_users 1 500 "$KNOWN_EXTRA" >/dev/null
    curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d '{"api":"devin","limit":150,"window_ms":1000}' "$SIM_URL/_sim/ratelimit"
    ms_once throttle2
    ms_assert_eq 0 "$MS_RC" "exit status under the rate limit"
    assert_added_once "$known"
    throttled=$(ms_sim_jq '.stats.throttled.devin')
    ms_log "$throttled throttled answers"
    if ((throttled < 1 || throttled > 51)); then
        ms_fail "$throttled throttled answers: the limit was not hit, or not learnt"
    fi
    ms_assert_eq 429 "$(ms_sim_jq '[.log[] | select(.throttled)][0].status')" "the throttle answer's status"
    tthr=$(ms_sim_jq '[.log[] | select(.throttled)][0].t_ms')
    early=$(ms_sim_jq --argjson t "$tthr" '[.log[] | select(.t_ms > $t and .t_ms < $t + 1000)] | length')
    # The simulator's Retry-After is at least one second.
    ms_assert_eq 0 "$early" "requests within 1 s of the first throttled answer"
    ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
        "failed or pending rows after throttling"
fi

# ------------------------------------------------------------------ 5xx storm
ms_log "a 5xx storm on lookups and adds: retried, delivered once"
fresh ""
add_users 1 500 "$KNOWN_EXTRA" >/dev/null
ms_sim_fault '{"api":"devin","method":"GET","status":500,"count":12}'
ms_sim_fault '{"api":"devin","method":"POST","status":502,"count":3,"body":"<html>Bad Gateway</html>","content_type":"text/html"}'
ms_once storm
ms_assert_eq 0 "$MS_RC" "exit status after the storm"
ms_assert_eq 12 "$(count_since 0 '.status == 500')" "500 answers"
ms_assert_eq 3 "$(count_since 0 '.status == 502')" "502 answers"
assert_added_once "$known"
ms_assert_eq "$known" "$(sql "SELECT count(*) FROM members WHERE status = 'synced' AND remote_id LIKE 'user-%'")" \
    "synced rows after the storm"
grep -q "devin: $known added, 0 already there, 0 updated, 3 rejected, 0 failed, 1 invalid, 0 unchanged, .* retries" "$T/storm.log" ||
    ms_fail "storm summary"

# ---------------------------------------------------------------------- secrets
ms_log "no secret in the logs or the state database"
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "$(<"$SIM_SECRETS/devin.key")" "$(<"$LDAP_SVC_PWFILE")"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/*.log "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
