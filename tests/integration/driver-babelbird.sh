#!/usr/bin/env bash
# The BabelBird driver end to end against real slapd and the simulator: a
# 509-entry directory delivered exactly once with one JWT flow, nothing
# sent on a re-run, members already there adopted with their ids, entries
# the API refuses skipped with its reason (logged once), department_ids[]
# arriving as an array (form and JSON), an access token expiring mid-run
# renewed with the refresh token, a revoked refresh token falling back to
# the JWT flow, a wrong secret or a refused token pausing the target
# without hammering, throttling obeyed, a 5xx storm ridden out, and no
# secret in the logs or the state database.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup

people="ou=people,${MS_LDAP_BASE:-dc=example,dc=org}"
bash "$srcroot/tests/data/gen-users.sh" -n 500 >"$T/users.ldif"
# Records are separated by blank lines, so this starts with one.
cat >>"$T/users.ldif" <<EOT

dn: uid=depts,$people
objectClass: inetOrgPerson
uid: depts
cn: Dept Member
sn: Member
mail: depts@example.org
mobile: 13912345678
departmentNumber: 3
departmentNumber: 7
departmentNumber: 12

dn: uid=badphone1,$people
objectClass: inetOrgPerson
uid: badphone1
cn: Bad Phone
sn: Phone
mail: badphone1@example.org
mobile: +49 30 1234567

dn: uid=badphone2,$people
objectClass: inetOrgPerson
uid: badphone2
cn: Short Phone
sn: Phone
mail: badphone2@example.org
mobile: 12345
EOT
ms_slapd_start "$T/users.ldif"
ms_sim_start

# 506 generated entries + 3; nomail has no email (the mapping skips it),
# badphone1 and badphone2 pass the mapping but BabelBird refuses them.
keys=508
accepted=506

ADD=/babelbird/nd/api/enterprise/add_ent_mem
LOOKUP=/babelbird/nd/api/enterprise/enterprise_members
AUTHORIZE=/babelbird/api/authorizeByJWT.do
TOKEN=/babelbird/api/token.do
REFRESH=/babelbird/api/refreshToken.do
SECRET_FILE="$SIM_SECRETS/babelbird.client_secret"
CLIENT_ID=$(<"$SIM_SECRETS/babelbird.client_id")

bb_target() {
    cat <<EOT
  { name = "babelbird"; driver = "babelbird"; url = "$SIM_URL/babelbird";
    auth = { client_id = "$CLIENT_ID"; client_secret_file = "$SECRET_FILE";
             redirect_uri = "https://membersync.example.org/oauth/callback"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    $1
    map = {
      email = "\${mail | lower}";
      password = "\${random_password(12)}";
      name = "\${displayName | default(cn)}";
      phone = "\${mobile}";
      babelId = "\${employeeNumber}";
      department_ids = "\${departmentNumber[*]}";
      sex = 0;
      can_ownfile = -1;
      spacelimit = 10;
    };
  }
EOT
}

# Requests the simulator received on PATH (any method, any answer).
requests() {
    ms_sim_jq --arg p "$1" '[.log[] | select(.path == $p)] | length'
}
# The most add requests answered 200 (created, or refused in the envelope)
# that any one member got.
most_adds_per_member() {
    ms_sim_jq --arg p "$ADD" '[.log[] | select(.path == $p and .status == 200) | .key] | group_by(.) | map(length) | max // 0'
}
# How many members got more than one add request answered 200.
resent_members() {
    ms_sim_jq --arg p "$ADD" '[.log[] | select(.path == $p and .status == 200) | .key] | group_by(.) | map(select(length > 1)) | length'
}
# How many members were sent at all.
members_sent() {
    ms_sim_jq --arg p "$ADD" '[.log[] | select(.path == $p) | .key] | unique | length'
}
members_at_api() {
    ms_sim_jq '.apis.babelbird.members | length'
}
distinct_members_at_api() {
    ms_sim_jq '[.apis.babelbird.members[].email] | unique | length'
}
# control ACTION [JSON]: the simulator's BabelBird control hook.
control() {
    local body=${2:-'{}'}
    curl -sS -f --noproxy '*' --max-time 5 -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$SIM_URL/_sim/api/babelbird/$1"
}
sim_post() {
    curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$SIM_URL/_sim/$1"
}
# fresh [TARGET_SETTINGS]: an empty simulator and state database.
fresh() {
    ms_sim_reset
    ms_sim_clear_faults
    curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X DELETE "$SIM_URL/_sim/ratelimit"
    rm -rf "$T/state"
    ms_conf_write "$T/membersync.conf" "$(bb_target "${1:-}")"
}
sql() {
    ms_state_sql "$1"
}
# delivered_exactly_once WHAT [RESENT]: every accepted member created once,
# and RESENT (default 0) members sent more than once with a 200 answer.
delivered_exactly_once() {
    ms_assert_eq "$accepted" "$(members_at_api)" "$1: members at BabelBird"
    ms_assert_eq "$accepted" "$(distinct_members_at_api)" "$1: distinct members at BabelBird"
    ms_assert_eq "$keys" "$(members_sent)" "$1: members sent"
    ms_assert_eq "${2:-0}" "$(resent_members)" "$1: members sent again after a 200 answer"
    ms_assert_eq "$accepted" "$(sql "SELECT count(*) FROM members WHERE status = 'synced'")" "$1: synced rows"
    ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
        "$1: failed or pending rows"
}

ms_log "members already there before the first run"
fresh ""
pre7=$(control add-member '{"email":"user0007@example.org","name":"Already There"}' | jq -r .id)
pre123=$(control add-member '{"email":"User0123@Example.org","name":"Already There Too"}' | jq -r .id)

ms_log "first run: a full sync"
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq 1 "$(requests "$AUTHORIZE")" "authorizeByJWT.do requests"
ms_assert_eq 1 "$(requests "$TOKEN")" "token.do requests"
ms_assert_eq 0 "$(requests "$REFRESH")" "refreshToken.do requests"
ms_assert_eq "$keys" "$(requests "$ADD")" "add_ent_mem requests"
ms_assert_eq "$keys" "$(members_sent)" "members sent"
ms_assert_eq 1 "$(most_adds_per_member)" "most adds for one member"
ms_assert_eq 2 "$(requests "$LOOKUP")" "lookups"
ms_assert_eq "user0007@example.org user0123@example.org" \
    "$(ms_sim_jq --arg p "$LOOKUP" '[.log[] | select(.path == $p) | .key] | sort | join(" ")')" "members looked up"
ms_assert_eq $((keys - 2)) "$(members_at_api)" "members at BabelBird"
ms_assert_eq $((keys - 2)) "$(sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 3 "$(sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" "failed or pending rows"
ms_assert_eq "$pre7" "$(sql "SELECT remote_id FROM members WHERE member_key = 'user0007@example.org'")" \
    "adopted id of user0007"
ms_assert_eq "$pre123" "$(sql "SELECT remote_id FROM members WHERE member_key = 'user0123@example.org'")" \
    "adopted id of user0123"
ms_assert_eq "$(ms_sim_jq '.apis.babelbird.members[] | select(.email == "user0001@example.org") | .id')" \
    "$(sql "SELECT remote_id FROM members WHERE member_key = 'user0001@example.org'")" "remote id of user0001"
ms_assert_eq $((keys - 2)) "$(sql "SELECT count(*) FROM members WHERE status = 'synced' AND remote_id > ''")" \
    "synced rows with a remote id"
grep -q "babelbird: user0007@example.org (uid=user0007,$people) is already there; recorded as synced (already at BabelBird as member $pre7)" \
    "$T/run1.log" || ms_fail "adoption of user0007 not logged"
ms_assert_eq 1 "$(grep -c "babelbird: badphone1@example.org (uid=badphone1,$people) was rejected and is skipped until it changes: rejected by BabelBird: invalid phone number: +49 30 1234567 (code 10004)" "$T/run1.log")" \
    "the API's reason for badphone1, logged once"
ms_assert_eq 1 "$(grep -c "badphone2@example.org .* rejected by BabelBird: invalid phone number: 12345 (code 10004)" "$T/run1.log")" \
    "the API's reason for badphone2, logged once"
ms_assert_eq "rejected by BabelBird: invalid phone number: 12345 (code 10004)" \
    "$(sql "SELECT last_error FROM members WHERE member_key = 'badphone2@example.org'")" "recorded reason"
ms_assert_eq 1 "$(grep -c "skipping uid=nomail,$people: email: required, but the mapping gives no value" "$T/run1.log")" \
    "nomail skipped by the mapping"
grep -q "babelbird: $((keys - 4)) added, 2 already there, 0 updated, 2 rejected, 0 failed, 1 invalid" "$T/run1.log" ||
    ms_fail "first run summary"
ms_assert_eq '["3","7","12"] form' \
    "$(ms_sim_jq -c '.apis.babelbird.members[] | select(.email == "depts@example.org") | "\(.department_ids | tojson) \(.encoding)"')" \
    "department_ids[] in a form"
ms_assert_eq 12 "$(ms_sim_jq '.apis.babelbird.members[] | select(.email == "user0001@example.org") | .password | length')" \
    "password sent"

ms_log "second run: nothing to send, nothing logged again"
before=$(ms_sim_jq '.log | length')
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq "$before" "$(ms_sim_jq '.log | length')" "requests in the second run"
grep -q "babelbird: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 3 invalid, $((keys - 2)) unchanged" "$T/run2.log" ||
    ms_fail "second run summary"
if grep -q -e "invalid phone" -e "skipping" "$T/run2.log"; then
    ms_fail "refused members logged again on the second run"
fi

ms_log "an access token expiring mid-run is renewed in time with the refresh token"
# Tokens live 10 s and are renewed half-way, at a whole second 4 to 5 s
# after the first; the next renewal would come 5 s after that. At 80
# requests/s the run takes about 6.4 s: exactly one renewal falls inside
# it as long as the run takes 5 to 9 s.
fresh "rate_limit = 80; burst = 1;"
control token-ttl '{"seconds":10}' >/dev/null
ms_once renew
ms_assert_eq 0 "$MS_RC" "exit status with a renewal"
ms_assert_eq 1 "$(requests "$AUTHORIZE")" "authorizeByJWT.do requests with a renewal"
ms_assert_eq 1 "$(requests "$TOKEN")" "token.do requests with a renewal"
ms_assert_eq 1 "$(requests "$REFRESH")" "refreshToken.do requests with a renewal"
ms_assert_eq 0 "$(ms_sim_jq '.apis.babelbird.refused | add')" "requests refused for their token"
ms_assert_eq 2 "$(ms_sim_jq '.apis.babelbird.issued.access')" "access tokens issued"
delivered_exactly_once "renewal"

ms_log "an access token refused mid-run is replaced with the refresh token"
# One request at a time, so exactly one is refused.
fresh "max_inflight = 1;"
control expire-tokens '{"after":100}' >/dev/null
ms_once expired
ms_assert_eq 0 "$MS_RC" "exit status after an expired token"
ms_assert_eq 1 "$(ms_sim_jq '.apis.babelbird.refused.expired')" "requests refused as expired"
ms_assert_eq 1 "$(requests "$AUTHORIZE")" "authorizeByJWT.do requests after an expired token"
ms_assert_eq 1 "$(requests "$TOKEN")" "token.do requests after an expired token"
ms_assert_eq 1 "$(requests "$REFRESH")" "refreshToken.do requests after an expired token"
ms_assert_eq $((keys + 1)) "$(requests "$ADD")" "add requests (the refused one sent again)"
ms_assert_eq 1 "$(grep -c "babelbird: the API refused our token; fetching a new one" "$T/expired.log")" \
    "refusal logged"
# The refused member was sent again; the others once.
delivered_exactly_once "expired token" 1

ms_log "an access token refused with several requests in flight"
# Every request in flight with the old token is refused; one refresh
# serves them all, and each is sent again with the new token.
fresh "max_inflight = 4;"
control expire-tokens '{"after":100}' >/dev/null
sim_post latency '{"ms":5}'
ms_once expired4
sim_post latency '{"ms":0}'
ms_assert_eq 0 "$MS_RC" "exit status after an expired token, 4 in flight"
refused=$(ms_sim_jq '.apis.babelbird.refused.expired')
ms_log "$refused requests refused as expired"
if ((refused < 1 || refused > 4)); then
    ms_fail "$refused requests refused with at most 4 in flight"
fi
ms_assert_eq 1 "$(requests "$REFRESH")" "refreshToken.do requests, 4 in flight"
ms_assert_eq 1 "$(requests "$AUTHORIZE")" "authorizeByJWT.do requests, 4 in flight"
ms_assert_eq $((keys + refused)) "$(requests "$ADD")" "add requests, 4 in flight"
delivered_exactly_once "expired token, 4 in flight" "$refused"

ms_log "a revoked refresh token falls back to the JWT flow"
fresh "max_inflight = 1;"
control expire-tokens '{"after":100}' >/dev/null
control revoke-refresh '{"after":100}' >/dev/null
ms_once revoked
ms_assert_eq 0 "$MS_RC" "exit status after a revoked refresh token"
ms_assert_eq 1 "$(requests "$REFRESH")" "refreshToken.do requests (refused)"
ms_assert_eq 1 "$(ms_sim_jq --arg p "$REFRESH" '[.log[] | select(.path == $p and .status == 400)] | length')" \
    "refreshToken.do refusals"
ms_assert_eq 2 "$(requests "$AUTHORIZE")" "authorizeByJWT.do requests after a revoked refresh token"
ms_assert_eq 2 "$(requests "$TOKEN")" "token.do requests after a revoked refresh token"
delivered_exactly_once "revoked refresh token" 1

ms_log "a wrong client secret pauses the target at once"
echo "not-the-secret" >"$T/wrong.secret"
chmod 600 "$T/wrong.secret"
SECRET_FILE="$T/wrong.secret" fresh ""
ms_once wrong_secret
ms_assert_eq 1 "$MS_RC" "exit status with a wrong secret"
ms_assert_eq 1 "$(ms_sim_jq '.log | length')" "requests with a wrong secret"
ms_assert_eq 401 "$(ms_sim_jq '.log[0].status')" "the JWT refused"
grep -q "babelbird: paused for the rest of this cycle: cannot get an access token: authorizeByJWT.do: HTTP 401: invalid jwt_token: bad signature" \
    "$T/wrong_secret.log" || ms_fail "wrong secret: pause not logged"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('synced', 'pending', 'failed')")" \
    "rows touched with a wrong secret"
ms_once wrong_secret2
ms_assert_eq 2 "$(ms_sim_jq '.log | length')" "requests after a second run with a wrong secret"

ms_log "a wrong client id pauses the target at once"
CLIENT_ID="someone-else" fresh ""
ms_once wrong_id
ms_assert_eq 1 "$MS_RC" "exit status with a wrong client id"
ms_assert_eq 1 "$(ms_sim_jq '.log | length')" "requests with a wrong client id"
grep -q "cannot get an access token: authorizeByJWT.do: HTTP 401: invalid client_id" "$T/wrong_id.log" ||
    ms_fail "wrong client id: pause not logged"

ms_log "access tokens refused for good: no hammering"
fresh "max_inflight = 4;"
control refuse-tokens '{"on":true}' >/dev/null
sim_post latency '{"ms":20}'
ms_once refused
sim_post latency '{"ms":0}'
ms_assert_eq 1 "$MS_RC" "exit status when every token is refused"
refresh=$(ms_sim_jq --arg p "$REFRESH" '[.log[] | select(.path == $p)][0].seq')
after=$(ms_sim_jq --argjson s "$refresh" '[.log[] | select(.seq > $s)] | length')
ms_log "$after requests with the new token"
# The refused token is replaced once; the new one being refused too, the
# target pauses: no more than the requests already on their way.
if ((after < 1 || after > 4)); then
    ms_fail "$after requests after the new token was refused (max_inflight is 4)"
fi
ms_assert_eq $((after + 4)) "$(requests "$ADD")" "add requests when every token is refused"
ms_assert_eq 1 "$(requests "$REFRESH")" "one refresh after the refusal"
grep -q "babelbird: paused for the rest of this cycle: the target refused our credentials (BabelBird refused the access token: invalid access_token (code 40001))" \
    "$T/refused.log" || ms_fail "refused tokens: pause not logged"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('synced', 'pending')")" \
    "synced or pending rows when every token is refused"

ms_log "the API's throttle answer is obeyed"
fresh "max_inflight = 1;"
ms_sim_fault '{"api":"babelbird","method":"POST","skip":51,"count":1,"status":429,"headers":{"Retry-After":"2"},"body":"{\"code\":42900,\"success\":false,\"msg\":\"too many requests\"}"}'
ms_once throttled
ms_assert_eq 0 "$MS_RC" "exit status after a 429"
t429=$(ms_sim_jq '[.log[] | select(.status == 429)][0].t_ms')
early=$(ms_sim_jq --argjson t "$t429" '[.log[] | select(.t_ms > $t and .t_ms < $t + 2000)] | length')
# One request in flight: nothing can go out before the daemon has read the
# throttled answer, so nothing may arrive within its wait (with more in
# flight, requests sent before the answer was read would land inside it).
ms_assert_eq 0 "$early" "requests within 2 s of the 429"
grep -q "babelbird: the API asks us to slow down (HTTP 429: {\"code\":42900" "$T/throttled.log" ||
    ms_fail "throttling not logged"
delivered_exactly_once "429"

if ! ms_memcheck_skips "the rate limit section (150 requests/s)"; then
    ms_log "the API's rate limit is learnt without hammering"
    fresh "max_inflight = 1;"
    sim_post ratelimit '{"api":"babelbird","limit":150,"window_ms":1000}'
    ms_once ratelimit
    ms_assert_eq 0 "$MS_RC" "exit status under a rate limit"
    throttled=$(ms_sim_jq '.stats.throttled.babelbird')
    ms_log "$throttled throttled answers for $keys members"
    if ((throttled < 1 || throttled > keys / 10)); then
        ms_fail "$throttled throttled answers: the limit was not learnt"
    fi
    t429=$(ms_sim_jq '[.log[] | select(.throttled)][0].t_ms')
    early=$(ms_sim_jq --argjson t "$t429" '[.log[] | select(.t_ms > $t and .t_ms < $t + 1000)] | length')
    ms_assert_eq 0 "$early" "requests within the Retry-After of the first throttled answer"
    delivered_exactly_once "rate limit"
fi

ms_log "a 5xx storm within the run is ridden out"
fresh ""
ms_sim_fault '{"api":"babelbird","method":"POST","skip":1,"count":10,"status":503}'
ms_once storm
ms_assert_eq 0 "$MS_RC" "exit status after a short storm"
ms_assert_eq $((keys + 10)) "$(requests "$ADD")" "add requests (each failure retried)"
ms_assert_eq 10 "$(ms_sim_jq '[.log[] | select(.status == 503)] | length')" "503 answers"
grep -q "babelbird: $accepted added, .* 10 retries" "$T/storm.log" || ms_fail "retries not reported"
delivered_exactly_once "storm"

ms_log "a 5xx storm across runs: failed members are delivered once it passes"
for u in storm1 storm2 storm3; do
    ms_ldapadd <<EOT
dn: uid=$u,$people
objectClass: inetOrgPerson
uid: $u
cn: Storm $u
sn: Storm
mail: $u@example.org
EOT
    ms_sim_fault "{\"api\":\"babelbird\",\"key\":\"$u@example.org\",\"status\":500,\"count\":-1}"
done
ms_once storm_fail
ms_assert_eq 1 "$MS_RC" "exit status while storming"
ms_assert_eq 3 "$(sql "SELECT count(*) FROM members WHERE status = 'failed'")" "failed rows"
ms_assert_eq 12 "$(ms_sim_jq '[.log[] | select(.status == 500)] | length')" "attempts (1 + max_retries each)"
ms_sim_clear_faults
ms_once storm_over
ms_assert_eq 0 "$MS_RC" "exit status after the storm"
ms_assert_eq 3 "$(ms_sim_jq '[.apis.babelbird.members[] | select(.email | startswith("storm"))] | length')" \
    "storm members delivered"
ms_assert_eq 1 "$(most_adds_per_member)" "most answered adds for one member after the storm"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
    "failed or pending rows after the storm"
ms_ldapdelete "uid=storm1,$people" "uid=storm2,$people" "uid=storm3,$people"

ms_log "JSON encoding"
fresh 'encoding = "json";'
ms_once json
ms_assert_eq 0 "$MS_RC" "exit status with JSON"
ms_assert_eq '["3","7","12"] json' \
    "$(ms_sim_jq -c '.apis.babelbird.members[] | select(.email == "depts@example.org") | "\(.department_ids | tojson) \(.encoding)"')" \
    "department_ids in JSON"
ms_assert_eq 2 "$(sql "SELECT count(*) FROM members WHERE last_error LIKE 'rejected by BabelBird: invalid phone number%'")" \
    "refused by the API with JSON"
delivered_exactly_once "json"

ms_log "no secret in logs or the state database"
secrets=("$(<"$SIM_SECRETS/babelbird.client_secret")" "$(<"$LDAP_SVC_PWFILE")")
while IFS= read -r s; do secrets+=("$s"); done < <(ms_sim_jq '.apis.babelbird | (.access_tokens + .refresh_tokens)[]')
while IFS= read -r s; do secrets+=("$s"); done < <(ms_sim_jq '.apis.babelbird.members[].password')
((${#secrets[@]} > 500)) || ms_error "only ${#secrets[@]} secrets to look for"
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "${secrets[@]}"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/*.log "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
