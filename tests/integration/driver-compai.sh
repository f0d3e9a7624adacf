#!/usr/bin/env bash
# The compai driver end to end against real slapd (506 entries) and the
# Comp AI simulator:
#  1. bulk adds: user ids from the directory, every member sent exactly
#     once in one bulk request; existing members adopted with their id,
#     deactivated ones reactivated (never re-added), bulk errors mapped to
#     the right members ("already a member" -> synced, unknown user ->
#     rejected with the API's words), people without a user id rejected;
#     zero 400s (nothing outside the whitelist is ever sent); a re-run
#     sends nothing; one new member goes alone to POST /v1/people;
#  2. a 5xx storm: the listing is not hammered, and everything is
#     delivered exactly once when it passes, within a run for a counted
#     storm on the adds;
#  3. invites by email for people without a user id, each sent once;
#  4. throttling: Retry-After obeyed, the 100 requests / 60 s limit
#     (scaled down) met without hammering;
#  5. a wrong key pauses the target after at most max_inflight requests.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 awk
ms_setup
ms_sim_start

ctl() {
    curl -sS -f --noproxy '*' --max-time 10 -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$SIM_URL/_sim/api/compai/$1"
}
ratelimit() {
    curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$1" "$SIM_URL/_sim/ratelimit"
}
# Requests to Comp AI in the simulator's log: METHOD and path (without the
# /compai prefix), optionally only those answered with STATUS.
count() {
    ms_sim_jq --arg m "$1" --arg p "/compai$2" --arg s "${3:-}" \
        '[.log[] | select(.method == $m and .path == $p and ($s == "" or (.status | tostring) == $s))] | length'
}
reqs() {
    ms_sim_jq '[.log[] | select(.api == "compai")] | length'
}
member_id() {
    ms_sim_jq --arg e "$1" '.apis.compai.members[] | select(.email == $e) | .id'
}
remote_id() {
    ms_state_sql "SELECT coalesce(remote_id, '') FROM members WHERE member_key = '$1'"
}
fresh() {
    ms_sim_reset
    rm -rf "$T/state"
}

# People Comp AI knows (users, not members): everyone but user0011-0015
# and nomail. Users are created in this order after every reset, so the
# simulator hands out the same ids each time.
known=()
for i in $(seq 1 500); do
    n=$(printf '%04d' "$i")
    ((i >= 11 && i <= 15)) || known+=("user$n@example.org")
done
known+=(multimail1@example.org jsmith@example.org j.doe@example.org zhangsan@example.org long@example.org)
users_json=$(printf '%s\n' "${known[@]}" | jq -Rn '{users: [inputs | {email: ., name: (split("@")[0])}]}')
seed_users() {
    ctl add-user "$users_json" | jq -r '.ids[]' >"$T/ids"
}
seed_users
paste -d' ' <(printf '%s\n' "${known[@]}") "$T/ids" >"$T/email-ids"
ms_assert_eq 500 "$(wc -l <"$T/email-ids")" "users seeded"

# The directory: the Comp AI user id in employeeType (bogus ones for
# user0011-0012, none for user0013-0015 and nomail), a title for every
# 50th user.
bash "$srcroot/tests/data/gen-users.sh" -n 500 >"$T/gen.ldif"
awk -v idfile="$T/email-ids" '
    BEGIN { while ((getline l < idfile) > 0) { split(l, f, " "); id[f[1]] = f[2] } }
    /^dn: / { seen_mail = 0 }
    { print }
    /^mail: / && !seen_mail {
        seen_mail = 1; m = tolower(substr($0, 7))
        if (m in id) print "employeeType: " id[m]
        if (m == "user0011@example.org" || m == "user0012@example.org")
            print "employeeType: usr_gone" substr(m, 5, 4)
        if (m ~ /^user0[0-9][05]0@/) print "title: Engineer"
    }' "$T/gen.ldif" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"

target() {
    cat <<EOT
  { name = "compai"; driver = "compai"; url = "$SIM_URL/compai";
    auth = { key_file = "${KEYFILE:-$SIM_SECRETS/compai.key}"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0;
    $1
    map = {
      email = "\${mail | lower}";
      userId = "\${employeeType}";
      role = "employee";
      department = "it";
      jobTitle = "\${title}";
      fleetDmLabelId = "\${employeeNumber}";
      isActive = true;
    };
  }
EOT
}

ms_log "1. bulk adds"
# user0001-0005 are members already, user0006-0008 deactivated ones,
# user0009-0010 members the listing does not show (a lagging replica).
for i in $(seq 1 10); do
    ctl add-member "$(printf '{"email": "user%04d@example.org"}' "$i")" >/dev/null
done
for i in 6 7 8; do ctl deactivate "{\"email\": \"user000$i@example.org\"}" >/dev/null; done
ctl hide '{"email": "user0009@example.org"}' >/dev/null
ctl hide '{"email": "user0010@example.org"}' >/dev/null
existing1=$(member_id user0001@example.org)
deactivated6=$(member_id user0006@example.org)
[[ "$existing1" == mem_* && "$deactivated6" == mem_* ]] || ms_error "seeding members failed"

ms_conf_write "$T/membersync.conf" "$(target "")"
start=$SECONDS
ms_once run1
ms_log "first run took $((SECONDS - start)) s"
ms_assert_eq 0 "$MS_RC" "first run exit status"
grep -q "cycle 1 finished in .*: 506 entries; compai: 493 added, 7 already there, 0 updated, 5 rejected, 0 failed, 1 invalid, 0 unchanged" \
    "$T/run1.log" || ms_fail "first run summary"
# 485 + 5 special users added, user0009/0010 refused as members already,
# user0011/0012 as unknown users: 494 user ids, each carried once.
ms_assert_eq 1 "$(count POST /v1/people/bulk)" "bulk requests"
ms_assert_eq 0 "$(count POST /v1/people)" "single adds"
ms_assert_eq 494 "$(ms_sim_jq '.apis.compai.adds | length')" "user ids sent"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.adds[] | select(. != 1)] | length')" "user ids sent more than once"
ms_assert_eq 500 "$(ms_sim_jq '[.apis.compai.members[] | select(.isActive and (.deactivated | not))] | length')" \
    "active members"
ms_assert_eq 1 "$(count PATCH "/v1/people/$deactivated6/reactivate" 200)" "reactivation of user0006"
ms_assert_eq 3 "$(ms_sim_jq '[.log[] | select(.method == "PATCH" and .status == 200)] | length')" "reactivations"
ms_assert_eq 3 "$(ms_sim_jq '.apis.compai.reactivations | length')" "members reactivated"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.api == "compai" and .status >= 400)] | length')" "4xx and 5xx answers"
lists=$(count GET /v1/people)
ms_log "member listings: $lists"
# One listing serves the whole run: the others wait for it.
ms_assert_eq 1 "$lists" "member listings in one run"
ms_assert_eq $((lists + 1 + 3)) "$(reqs)" "requests in the first run"
ms_assert_eq "$existing1" "$(remote_id user0001@example.org)" "remote id of an existing member"
ms_assert_eq "$deactivated6" "$(remote_id user0006@example.org)" "remote id of a reactivated member"
ms_assert_eq "$(member_id user0100@example.org)" "$(remote_id user0100@example.org)" "remote id of an added member"
ms_assert_eq "" "$(remote_id user0009@example.org)" "remote id of a member the listing hid"
ms_assert_eq "Engineer" "$(ms_sim_jq '.apis.compai.members[] | select(.email == "user0050@example.org") | .jobTitle')" \
    "jobTitle sent"
ms_assert_eq 50 "$(ms_sim_jq '.apis.compai.members[] | select(.email == "user0050@example.org") | .fleetDmLabelId')" \
    "fleetDmLabelId sent as a number"
ms_assert_eq 500 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 6 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('pending', 'failed')")" \
    "pending or failed rows"
grep -q "user0009@example.org (uid=user0009,.*) is already there; recorded as synced (already at Comp AI: User user0009@example.org is already a member of this organization)" \
    "$T/run1.log" || ms_fail "bulk duplicate not mapped to user0009"
grep -q "user0011@example.org (uid=user0011,.*) was rejected and is skipped until it changes: rejected by Comp AI: User with ID usr_gone0011 not found" \
    "$T/run1.log" || ms_fail "bulk error not mapped to user0011"
grep -q "user0012@example.org (uid=user0012,.*rejected by Comp AI: User with ID usr_gone0012 not found" \
    "$T/run1.log" || ms_fail "bulk error not mapped to user0012"
grep -q "user0013@example.org (uid=user0013,.*) was rejected and is skipped until it changes: no Comp AI user id for user0013@example.org; map userId or set invite = true" \
    "$T/run1.log" || ms_fail "no reason logged for a person without a user id"
grep -q "skipping uid=nomail,ou=people,dc=example,dc=org: email: is the member key, but the mapping gives no value" \
    "$T/run1.log" || ms_fail "no reason logged for nomail"
grep -q "added user0006@example.org (uid=user0006,ou=people,dc=example,dc=org)" "$T/run1.log" ||
    ms_fail "reactivation not logged"
ms_assert_eq "rejected by Comp AI: User with ID usr_gone0011 not found" \
    "$(ms_state_sql "SELECT last_error FROM members WHERE member_key = 'user0011@example.org'")" "reason stored"

ms_log "1b. a second run sends nothing and logs nothing again"
before=$(reqs)
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq "$before" "$(reqs)" "requests in the second run"
if grep -q "skipping \|was rejected" "$T/run2.log"; then
    ms_fail "invalid entries logged again on the second run"
fi
grep -q "compai: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 6 invalid, 500 unchanged" "$T/run2.log" ||
    ms_fail "second run summary"

ms_log "1c. one new member goes alone to POST /v1/people"
newid=$(ctl add-user '{"email": "newbie@example.org", "name": "New Bie"}' | jq -r .id)
ms_ldapadd <<EOT
dn: uid=newbie,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: newbie
cn: New Bie
sn: Bie
mail: Newbie@Example.org
employeeType: $newid
EOT
ms_once run3
ms_assert_eq 0 "$MS_RC" "third run exit status"
ms_assert_eq 1 "$(count POST /v1/people 201)" "single adds"
ms_assert_eq 1 "$(count POST /v1/people/bulk)" "bulk requests after the third run"
ms_assert_eq "$newid" "$(ms_sim_jq '.log[] | select(.method == "POST" and .path == "/compai/v1/people") | .key')" \
    "the new member's user id was sent"
ms_assert_eq "$(member_id newbie@example.org)" "$(remote_id newbie@example.org)" "remote id of the new member"
ms_ldapdelete "uid=newbie,$LDAP_PEOPLE"

ms_log "2. a 5xx storm: the listing is not hammered; all is delivered once it passes"
fresh
seed_users
ms_sim_fault '{"api":"compai","status":502,"count":-1,"body":"<html>502 Bad Gateway</html>","content_type":"text/html"}'
ms_once storm
ms_assert_eq 1 "$MS_RC" "exit status during the storm"
ms_assert_eq 505 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'failed'")" "failed rows"
grep -q "add of user0001@example.org (uid=user0001,.*) failed (transient), will retry at the next cycle: HTTP 502: <html>502 Bad Gateway</html>" \
    "$T/storm.log" || ms_fail "failure not logged"
storm=$(reqs)
ms_log "$storm requests for 505 members during the storm"
# Each member tries 1 + max_retries (5) times, but a failed listing stands
# for the others until its retry_delay is over.
((storm <= 30)) || ms_fail "$storm requests during the storm: the listing was hammered"
ms_assert_eq 0 "$(count POST /v1/people/bulk)" "adds during the storm"
ms_sim_clear_faults
ms_once after_storm
ms_assert_eq 0 "$MS_RC" "exit status after the storm"
ms_assert_eq 502 "$(ms_sim_jq '.apis.compai.adds | length')" "user ids sent after the storm"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.adds[] | select(. != 1)] | length')" "user ids sent more than once"
ms_assert_eq 500 "$(ms_sim_jq '.apis.compai.members | length')" "members after the storm"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
    "failed or pending rows after the storm"

ms_log "2b. a counted storm on the adds passes within the run"
fresh
seed_users
ms_sim_fault '{"api":"compai","method":"POST","status":503,"count":3,"body":"{\"statusCode\":503,\"message\":\"Service Unavailable\"}"}'
ms_once counted
ms_assert_eq 0 "$MS_RC" "exit status with 3 failed bulk requests"
ms_assert_eq 3 "$(count POST /v1/people/bulk 503)" "bulk requests refused"
ms_assert_eq 1 "$(count POST /v1/people/bulk 201)" "bulk requests accepted"
ms_assert_eq 502 "$(ms_sim_jq '.apis.compai.adds | length')" "user ids sent"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.adds[] | select(. != 1)] | length')" "user ids sent more than once"
ms_assert_eq 500 "$(ms_sim_jq '.apis.compai.members | length')" "members after the counted storm"
grep -q "compai: 500 added, 0 already there, 0 updated, 5 rejected, 0 failed, 1 invalid, 0 unchanged, 1506 retries" \
    "$T/counted.log" || ms_fail "counted storm summary"

invite_target() {
    cat <<EOT
  { name = "compai"; driver = "compai"; url = "$SIM_URL/compai";
    auth = { key_file = "$SIM_SECRETS/compai.key"; };
    invite = true; rate_limit = 1000; max_inflight = 8;
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0;
    map = { email = "\${mail | lower}"; role = "employee"; };
  }
EOT
}

ms_log "3. invites by email, each sent once"
fresh
seed_users
ctl add-member '{"email": "user0001@example.org"}' >/dev/null
ms_conf_write "$T/membersync.conf" "$(invite_target)"
ms_once invite
ms_assert_eq 0 "$MS_RC" "exit status of the invite run"
grep -q "compai: 504 added, 1 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, 0 unchanged" "$T/invite.log" ||
    ms_fail "invite run summary"
ms_assert_eq 504 "$(count POST /v1/people/invite 201)" "invites"
ms_assert_eq 504 "$(ms_sim_jq '.apis.compai.invites | length')" "people invited"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.invites[] | select(. != 1)] | length')" "people invited more than once"
ms_assert_eq 0 "$(ms_sim_jq '.apis.compai.invites["user0001@example.org"] // 0')" "a member invited"
ms_assert_eq 505 "$(ms_sim_jq '[.apis.compai.members[] | select(.isActive)] | length')" "members after the invites"
# Known people kept their user; user0011-0015 were new to Comp AI.
ms_assert_eq "$(sed -n 's/^user0100@example.org //p' "$T/email-ids")" \
    "$(ms_sim_jq '.apis.compai.members[] | select(.email == "user0100@example.org") | .userId')" "an invited user's id"
ms_assert_eq 505 "$(ms_sim_jq '.apis.compai.users | length')" "users after the invites"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.api == "compai" and .status >= 400)] | length')" "4xx and 5xx answers"
before=$(reqs)
ms_once invite2
ms_assert_eq 0 "$MS_RC" "exit status of the second invite run"
ms_assert_eq "$before" "$(reqs)" "requests in the second invite run"

ms_log "4. Retry-After is obeyed"
fresh
seed_users
ms_conf_write "$T/membersync.conf" "$(target "max_inflight = 1;")"
ms_sim_fault '{"api":"compai","status":429,"count":1,"headers":{"Retry-After":"2"},"body":"{\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}"}'
ms_once retry_after
ms_assert_eq 0 "$MS_RC" "exit status after a 429"
ms_assert_eq 500 "$(ms_sim_jq '.apis.compai.members | length')" "members after the 429"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.adds[] | select(. != 1)] | length')" "user ids sent more than once"
t429=$(ms_sim_jq '[.log[] | select(.status == 429)][0].t_ms')
early=$(ms_sim_jq --argjson t "$t429" '[.log[] | select(.api == "compai" and .t_ms > $t and .t_ms < $t + 2000)] | length')
# One request in flight: nothing can go out before the daemon has read the
# throttled answer, so nothing may arrive within its wait (with more in
# flight, requests sent before the answer was read would land inside it).
ms_assert_eq 0 "$early" "requests within 2 s of the 429"
grep -q "the API asks us to slow down (HTTP 429: {\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}); waiting 2.0 s" \
    "$T/retry_after.log" || ms_fail "throttling not logged"

if ! ms_memcheck_skips "section 4b (a limit of 100 requests in 4 s)"; then
    ms_log "4b. the 100 requests / 60 s limit, scaled to 100 / 4 s"
    fresh
    seed_users
    ms_conf_write "$T/membersync.conf" "$(target "batch_size = 4; rate_limit = 50;")"
    ratelimit '{"api":"compai","limit":100,"window_ms":4000}'
    start=$SECONDS
    ms_once limit
    ms_log "run under the limit took $((SECONDS - start)) s"
    ms_assert_eq 0 "$MS_RC" "exit status under the API's limit"
    ms_assert_eq 500 "$(ms_sim_jq '.apis.compai.members | length')" "members under the limit"
    ms_assert_eq 502 "$(ms_sim_jq '.apis.compai.adds | length')" "user ids sent under the limit"
    ms_assert_eq 0 "$(ms_sim_jq '[.apis.compai.adds[] | select(. != 1)] | length')" "user ids sent more than once"
    throttled=$(ms_sim_jq '.stats.throttled.compai')
    ms_log "$throttled throttled answers for $(reqs) requests"
    ((throttled >= 1)) || ms_fail "the limit was never reached"
    ((throttled <= 8)) || ms_fail "$throttled throttled answers: the API was hammered"
    # The daemon counts throttled members (a refused bulk of 4 is 4).
    grep -q "compai: 500 added, 0 already there, 0 updated, 5 rejected, 0 failed, 1 invalid, 0 unchanged, [1-9][0-9]* throttled answers" \
        "$T/limit.log" || ms_fail "summary under the limit"
    curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X DELETE "$SIM_URL/_sim/ratelimit"
fi

ms_log "5. a wrong key pauses the target without hammering"
fresh
seed_users
printf 'not-the-key' >"$T/wrong.key"
chmod 600 "$T/wrong.key"
ms_conf_write "$T/membersync.conf" "$(KEYFILE=$T/wrong.key target "")"
ms_once wrong_key
ms_assert_eq 1 "$MS_RC" "exit status with a wrong key"
grep -q "compai: paused for the rest of this cycle: the target refused our credentials (HTTP 401: {\"message\":\"Invalid or expired API key\",\"error\":\"Unauthorized\",\"statusCode\":401})" \
    "$T/wrong_key.log" || ms_fail "pause not logged"
first=$(ms_sim_jq '[.log[] | select(.status == 401)][0].seq')
after=$(ms_sim_jq --argjson s "$first" '[.log[] | select(.api == "compai" and .seq > $s)] | length')
ms_log "$after requests after the first refusal"
((after <= 4)) || ms_fail "$after requests after the first refusal (max_inflight is 4)"
ms_assert_eq 0 "$(ms_sim_jq '.apis.compai.members | length')" "members with a wrong key"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'pending'")" "pending rows with a wrong key"

ms_log "no secret in logs or the state database"
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "$(<"$SIM_SECRETS/compai.key")" "$(<"$LDAP_SVC_PWFILE")"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/*.log "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
