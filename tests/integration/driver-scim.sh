#!/usr/bin/env bash
# The SCIM 2.0 driver end to end against real slapd and the SCIM simulator:
# a directory of 500+ users delivered exactly once with the enterprise
# extension, users already at the server (another case, quotes and
# backslashes in userName) adopted through the filter lookup with their
# ids, invalid entries skipped with the server's own reason (logged once),
# nothing sent again, a wrong or revoked token pausing the target without
# hammering, 429 Retry-After and a server rate limit obeyed, a 5xx storm
# and lost answers recovered without creating anyone twice, the example
# configuration valid, and no secret in logs or state.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
bash "$srcroot/tests/data/gen-users.sh" -n 500 >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start

ENT='urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
TOKEN_FILE="$SIM_SECRETS/scim.token"
# curl reads the bearer header from a file: the token stays off argv.
(umask 077 && printf 'Authorization: Bearer %s\n' "$(<"$TOKEN_FILE")" >"$T/auth.header")

# scim_target KEY_FILE MAX_RETRIES [EXTRA]: the target's text.
scim_target() {
    cat <<EOT
  { name = "scim"; driver = "scim"; url = "$SIM_URL/scim";
    auth = { key_file = "$1"; };
    enterprise_extension = true;
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = $2; max_inflight = 4;
    ${3:-}
    map = {
      userName = "\${uid}";
      externalId = "\${entryUUID}";
      displayName = "\${displayName | default(cn)}";
      givenName = "\${givenName}";
      familyName = "\${sn}";
      formattedName = "\${cn}";
      email = "\${mail | lower}";
      phoneNumber = "\${telephoneNumber}";
      preferredLanguage = "\${preferredLanguage}";
      active = true;
      password = "\${random_password(16)}";
      employeeNumber = "\${employeeNumber}";
      department = "Engineering";
      organization = "Example Org";
    };
  }
EOT
}
conf() {
    ms_conf_write "$T/membersync.conf" "$(scim_target "${1:-$TOKEN_FILE}" "${2:-3}" "${3:-}")"
}
# Creates a user through the API; prints its id.
scim_create() {
    jq -nc --arg u "$1" '{schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: $u}' |
        curl -sS -f --noproxy '*' --max-time 5 -H @"$T/auth.header" \
            -H 'Content-Type: application/scim+json' --data-binary @- "$SIM_URL/scim/Users" | jq -r .id
}
# Log entries of the simulator since the mark, as a jq array.
mark() {
    MARK=$(ms_sim_jq '.log | length')
}
since() {
    ms_sim_jq --argjson m "$MARK" "[.log[\$m:][] | select(.api == \"scim\")] | $1"
}
sim_id() {
    ms_sim_jq --arg u "$1" '.apis.scim.users[] | select(.userName == $u) | .id'
}
state_id() {
    ms_state_sql "SELECT remote_id FROM members WHERE target = 'scim' AND member_key = '$1'"
}
add_users() {
    local u
    for u in "$@"; do
        printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: Test\nmail: %s@example.org\n\n' \
            "$u" "$LDAP_PEOPLE" "$u" "$u" "$u"
    done | ms_ldapadd
}

ms_log "entries for the SCIM cases"
ms_ldapadd <<EOT
dn: cn=Quote User,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: o"brien
cn: Quote User
sn: User
mail: obrien@example.org

dn: cn=Back Slash,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: back\\slash
cn: Back Slash
sn: Slash
mail: backslash@example.org

dn: cn=New Quote,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: q"new\\x
cn: New Quote
sn: Quote
mail: qnew@example.org

dn: uid=badphone,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: badphone
cn: Bad Phone
sn: Phone
mail: badphone@example.org
telephoneNumber: call me

dn: uid=badlang,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: badlang
cn: Bad Lang
sn: Lang
mail: badlang@example.org
preferredLanguage: english please
EOT
[[ "$(ms_ldapsearch '(uid=back\5cslash)' uid)" == *'uid: back\slash'* ]] || ms_error "backslash uid not stored"

ms_log "users already at the server, some in another case"
id7=$(scim_create USER0007)
id10=$(scim_create user0010)
id_quote=$(scim_create 'O"Brien')
id_back=$(scim_create 'BACK\SLASH')
for id in "$id7" "$id10" "$id_quote" "$id_back"; do
    [[ -n "$id" && "$id" != null ]] || ms_error "could not create a user at the simulator"
done
ms_assert_eq 4 "$(ms_sim_jq '.apis.scim.users | length')" "users created through the API"

# 500 regular + 6 special + 5 above; badlang is invalid in the mapping,
# badphone at the server; 4 are there already.
entries=511 pushed=510 created=505 dups=4

ms_log "first run: a full sync"
conf
mark
start=$SECONDS
ms_once run1
ms_log "first run took $((SECONDS - start)) s"
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq $((created + dups)) "$(ms_sim_jq '.apis.scim.users | length')" "users at the server"
ms_assert_eq "$pushed" "$(since 'map(select(.method == "POST")) | length')" "POSTs in the first run"
ms_assert_eq "$pushed" "$(since 'map(select(.method == "POST") | .key) | unique | length')" "members posted"
ms_assert_eq "$created" "$(since 'map(select(.status == 201)) | length')" "201 answers"
ms_assert_eq "$created" "$(since 'map(select(.status == 201) | .key) | unique | length')" "members created once"
ms_assert_eq "$dups" "$(since 'map(select(.status == 409)) | length')" "409 answers"
ms_assert_eq "$dups" "$(since 'map(select(.method == "GET" and .status == 200)) | length')" "lookups"
ms_assert_eq 1 "$(since 'map(select(.status == 400)) | length')" "400 answers"
ms_assert_eq "$((pushed + dups))" "$(since 'length')" "requests in the first run"
ms_assert_eq $((created + dups)) \
    "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced' AND remote_id IS NOT NULL")" \
    "synced rows with a remote id"
ms_assert_eq 2 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status NOT IN ('synced', 'invalid')")" \
    "rows neither synced nor invalid"
grep -q "cycle 1 finished in .*: $entries entries; scim: $created added, $dups already there, 0 updated, 1 rejected, 0 failed, 1 invalid" \
    "$T/run1.log" || ms_fail "first run summary"

ms_log "duplicates adopted with the server's ids"
ms_assert_eq "$id7" "$(state_id user0007)" "user0007 (USER0007 at the server)"
ms_assert_eq "$id10" "$(state_id user0010)" "user0010"
ms_assert_eq "$id_quote" "$(state_id 'o"brien')" "o\"brien (O\"Brien at the server)"
ms_assert_eq "$id_back" "$(state_id 'back\slash')" "back\\slash (BACK\\SLASH at the server)"
ms_assert_eq "USER0007" "$(ms_sim_jq --arg i "$id7" '.apis.scim.users[] | select(.id == $i) | .userName')" \
    "the existing user is left as it was"
grep -q "scim: user0007 (uid=user0007,$LDAP_PEOPLE) is already there; recorded as synced (already at the SCIM server as user $id7)" \
    "$T/run1.log" || ms_fail "duplicate not logged with its id"
ms_assert_eq "$(sim_id user0001)" "$(state_id user0001)" "remote id of a created member"
ms_assert_eq "$(sim_id 'q"new\x')" "$(state_id 'q"new\x')" "a quote and a backslash in a created userName"

ms_log "the User resource as the server got it"
u1=$(ms_sim_jq '.apis.scim.users[] | select(.userName == "user0001")')
ms_assert_eq "user0001@example.org work true" "$(jq -r '.emails[0] | "\(.value) \(.type) \(.primary)"' <<<"$u1")" \
    "emails"
ms_assert_eq 1 "$(jq -r '.emails | length' <<<"$u1")" "one email"
ms_assert_eq "13800000001 work" "$(jq -r '.phoneNumbers[0] | "\(.value) \(.type)"' <<<"$u1")" "phoneNumbers"
ms_assert_eq "$(jq -r '.name.formatted' <<<"$u1")" "$(jq -r '.displayName' <<<"$u1")" "name.formatted = cn"
ms_assert_eq true "$(jq -r '.active' <<<"$u1")" "active"
ms_assert_eq 16 "$(jq -r '.password | length' <<<"$u1")" "random password"
[[ "$(jq -r .externalId <<<"$u1")" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
    ms_fail "externalId is not the entryUUID"
ms_assert_eq "1 Engineering Example Org" \
    "$(jq -r --arg e "$ENT" '.[$e] | "\(.employeeNumber) \(.department) \(.organization)"' <<<"$u1")" \
    "enterprise extension attributes"
ms_assert_eq true "$(jq -r --arg e "$ENT" '.schemas | index($e) != null' <<<"$u1")" "extension URN listed"
ms_assert_eq "$created" "$(ms_sim_jq --arg e "$ENT" '[.apis.scim.users[] | select(.[$e].department == "Engineering")] | length')" \
    "every created user has the extension"
ms_assert_eq "三 张" "$(ms_sim_jq '.apis.scim.users[] | select(.userName == "zhangsan") | "\(.name.givenName) \(.name.familyName)"')" \
    "CJK names"

ms_log "invalid entries: the mapping's reason and the server's, each logged once"
ms_assert_eq 1 "$(grep -c 'skipping cn=Bad Lang\|skipping uid=badlang' "$T/run1.log")" "badlang logged once"
grep -q "skipping uid=badlang,$LDAP_PEOPLE: preferredLanguage: value \"english please\" does not match the required format" \
    "$T/run1.log" || ms_fail "no mapping reason for badlang"
ms_assert_eq 1 "$(grep -c 'badphone.*was rejected' "$T/run1.log")" "badphone logged once"
grep -q "scim: badphone (uid=badphone,$LDAP_PEOPLE) was rejected and is skipped until it changes: rejected by the SCIM server: HTTP 400 invalidValue: phoneNumbers\[0\].value \"call me\" is not a telephone number" \
    "$T/run1.log" || ms_fail "no server reason for badphone"
ms_assert_eq 'rejected by the SCIM server: HTTP 400 invalidValue: phoneNumbers[0].value "call me" is not a telephone number' \
    "$(ms_state_sql "SELECT last_error FROM members WHERE member_key = 'badphone'")" "badphone's reason in the state"

ms_log "second run: nothing to send, nothing logged again"
mark
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 0 "$(since 'length')" "requests in the second run"
if grep -q "skipping\|rejected and" "$T/run2.log"; then
    ms_fail "invalid entries logged again on the second run"
fi
grep -q "scim: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 2 invalid, $((created + dups)) unchanged" \
    "$T/run2.log" || ms_fail "second run summary"

ms_log "credentials: a wrong token pauses the target without hammering"
add_users auth01 auth02 auth03 auth04 auth05 auth06 auth07 auth08 auth09 auth10 auth11 auth12
(umask 077 && printf 'not-the-token\n' >"$T/wrong.token")
conf "$T/wrong.token"
mark
ms_once wrongkey
ms_assert_eq 1 "$MS_RC" "exit status with a wrong token"
n401=$(since 'map(select(.status == 401)) | length')
if ((n401 < 1 || n401 > 4)); then
    ms_fail "$n401 requests with a wrong token (max_inflight is 4)"
fi
ms_assert_eq "$n401" "$(since 'length')" "every request refused"
grep -q "scim: paused for the rest of this cycle: the target refused our credentials (HTTP 401: .*Authorization failure" \
    "$T/wrongkey.log" || ms_fail "pause not logged"

ms_log "credentials: a token revoked in the middle of a run"
conf
ms_sim_fault '{"api":"scim","status":401,"skip":5,"count":-1,"content_type":"application/scim+json","body":"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"401\",\"detail\":\"token revoked\"}"}'
mark
ms_once revoked
ms_assert_eq 1 "$MS_RC" "exit status after a revocation"
ms_assert_eq 5 "$(since 'map(select(.status == 201)) | length')" "created before the revocation"
first=$(since 'map(select(.status == 401))[0].seq')
after=$(since "map(select(.seq > $first)) | length")
if ((after > 3)); then
    ms_fail "$after requests after the first 401 (at most max_inflight - 1 were in flight)"
fi
ms_sim_clear_faults
mark
ms_once recovered
ms_assert_eq 0 "$MS_RC" "exit status with the token valid again"
ms_assert_eq 7 "$(since 'map(select(.status == 201)) | length')" "the rest delivered"
ms_assert_eq 12 "$(ms_sim_jq '[.log[] | select(.status == 201 and (.key | startswith("auth")))] | length')" \
    "every auth user created once"
ms_assert_eq 12 "$(ms_sim_jq '[.apis.scim.users[] | select(.userName | startswith("auth"))] | length')" \
    "auth users at the server"

ms_log "throttling: Retry-After is obeyed"
add_users thr{01..30}
# One request in flight: nothing can go out before the daemon has read the
# throttled answer, so nothing may arrive within its wait (with more in
# flight, requests sent before the answer was read would land inside it).
sed -i 's/max_inflight = 4;/max_inflight = 1;/' "$T/membersync.conf"
ms_sim_fault '{"api":"scim","status":429,"count":1,"headers":{"Retry-After":"2"},"content_type":"application/scim+json","body":"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"429\",\"detail\":\"slow down\"}"}'
mark
ms_once retry_after
ms_assert_eq 0 "$MS_RC" "exit status after a 429"
ms_assert_eq 30 "$(since 'map(select(.status == 201)) | length')" "members delivered after the wait"
t429=$(since 'map(select(.status == 429))[0].t_ms')
early=$(since "map(select(.t_ms > $t429 and .t_ms < $t429 + 2000)) | length")
ms_assert_eq 0 "$early" "requests within 2 s of the 429"
grep -q "scim: the API asks us to slow down (HTTP 429: .*slow down.*); waiting 2.0 s" "$T/retry_after.log" ||
    ms_fail "throttling not logged"

ms_log "throttling: the server's rate limit (its own 429 answer)"
add_users rl{001..060}
curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"api":"scim","limit":20,"window_ms":1000}' "$SIM_URL/_sim/ratelimit"
mark
ms_once ratelimit
ms_assert_eq 0 "$MS_RC" "exit status under a rate limit"
ms_assert_eq 60 "$(since 'map(select(.status == 201)) | length')" "members delivered under the limit"
throttled=$(since 'map(select(.throttled)) | length')
ms_log "$throttled throttled answers for 60 members"
if ((throttled < 1 || throttled > 12)); then
    ms_fail "$throttled throttled answers: the limit was not hit, or not learnt"
fi
ms_assert_eq "$throttled" "$(since 'map(select(.status == 429)) | length')" "throttled answers are 429s"
t=$(since 'map(select(.throttled))[0].t_ms')
early=$(since "map(select(.t_ms > $t and .t_ms < $t + 1000)) | length")
ms_assert_eq 0 "$early" "requests within the Retry-After second"
curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X DELETE "$SIM_URL/_sim/ratelimit"
sed -i 's/max_inflight = 1;/max_inflight = 4;/' "$T/membersync.conf"

ms_log "a 5xx storm, then recovery: everything once"
add_users st01 st02 st03 st04 st05 st06 st07 st08 st09 st10
conf "$TOKEN_FILE" 30
ms_sim_fault '{"api":"scim","status":500,"count":12,"content_type":"application/scim+json","body":"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"500\",\"detail\":\"storm\"}"}'
mark
ms_once storm
ms_assert_eq 0 "$MS_RC" "exit status after the storm"
ms_assert_eq 12 "$(since 'map(select(.status == 500)) | length')" "500 answers"
ms_assert_eq 10 "$(since 'map(select(.status == 201)) | length')" "members delivered"
ms_assert_eq 10 "$(since 'map(select(.status == 201) | .key) | unique | length')" "each once"
grep -q "scim: 10 added, 0 already there, 0 updated, 0 rejected, 0 failed, .*, 12 retries" "$T/storm.log" ||
    ms_fail "storm summary"

ms_log "answers lost after the server created the user: adopted, not created twice"
add_users lost1 lost2 lost3
ms_sim_fault '{"api":"scim","method":"POST","handle":true,"reset":true,"count":3}'
mark
ms_once lost
ms_assert_eq 0 "$MS_RC" "exit status after lost answers"
ms_assert_eq 3 "$(since 'map(select(.status == 0)) | length')" "dropped answers"
ms_assert_eq 3 "$(since 'map(select(.status == 409)) | length')" "conflicts on the retries"
for u in lost1 lost2 lost3; do
    ms_assert_eq 1 "$(ms_sim_jq --arg u "$u" '[.apis.scim.users[] | select(.userName == $u)] | length')" "$u at the server"
    ms_assert_eq "$(sim_id "$u")" "$(state_id "$u")" "$u's remote id"
done
grep -q "scim: 0 added, 3 already there, 0 updated, 0 rejected, 0 failed" "$T/lost.log" || ms_fail "lost answers summary"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
    "nothing left failed or pending"
ms_assert_eq "$(ms_sim_jq '.apis.scim.users | length')" \
    "$(ms_sim_jq '[.apis.scim.users[].userName | ascii_downcase] | unique | length')" "no user twice at the server"

ms_log "configuration: extension fields need the extension; the example is valid"
sed 's/enterprise_extension = true;//' "$T/membersync.conf" >"$T/noext.conf"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/noext.conf" >"$T/noext.log" 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "--check-config exit status"
grep -q "map.employeeNumber belongs to the enterprise extension" "$T/noext.log" || ms_fail "no reason for the extension"
mkdir "$T/example"
cp "$srcroot/etc/examples/scim.conf" "$T/example/"
(umask 077 && printf 'x\n' >"$T/example/ldap.secret" && printf 'x\n' >"$T/example/scim.token")
rc=0
"$MEMBERSYNCD" --check-config --config "$T/example/scim.conf" >"$T/example.log" 2>&1 || rc=$?
ms_assert_eq 0 "$rc" "--check-config of etc/examples/scim.conf"

ms_log "no secret in logs or the state database"
secrets=("$(<"$TOKEN_FILE")" "$(<"$LDAP_SVC_PWFILE")")
while IFS= read -r pw; do secrets+=("$pw"); done < <(ms_sim_jq '.apis.scim.users[] | .password // empty')
ms_assert_eq "$((created + 12 + 30 + 60 + 10 + 3))" "$((${#secrets[@]} - 2))" "passwords collected"
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "${secrets[@]}"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/run*.log "$T"/wrongkey.log "$T"/revoked.log "$T"/recovered.log \
        "$T"/retry_after.log "$T"/ratelimit.log "$T"/storm.log "$T"/lost.log "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
