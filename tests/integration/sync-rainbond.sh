#!/usr/bin/env bash
# The main job end to end against real slapd and the Rainbond simulator:
# every valid user pushed exactly once, invalid ones skipped with a reason
# (logged once), nothing pushed on a re-run, a new user pushed alone, a
# modified one never pushed twice, a 500 storm retried until delivered,
# --dry-run changing nothing, and no secret in logs or state.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target)"

# 200 regular users + multimail, jsmith, zhangsan; nomail, j.doe and the
# 27-character uid are invalid for Rainbond.
valid=203

ms_log "first run"
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq "$valid" "$(ms_sim_jq '.apis.rainbond.users | length')" "users at Rainbond"
ms_assert_eq "$valid" "$(ms_posts)" "POSTs in the first run"
ms_assert_eq "$valid" "$(ms_sim_jq '[.log[].key] | unique | length')" "distinct members posted"
ms_assert_eq "multimail1@example.org" \
    "$(ms_sim_jq '.apis.rainbond.users[] | select(.nick_name == "multimail") | .email')" "first mail value used"
ms_assert_eq "jsmith@example.org" \
    "$(ms_sim_jq '.apis.rainbond.users[] | select(.nick_name == "jsmith") | .email')" "DN with escaped comma"
ms_assert_eq "zhangsan@example.org" \
    "$(ms_sim_jq '.apis.rainbond.users[] | select(.nick_name == "zhangsan") | .email')" "CJK user"
ms_assert_eq 12 "$(ms_sim_jq '.apis.rainbond.users[0].password | length')" "random password length"
ms_assert_eq "$valid" "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 3 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'pending'")" "pending rows"
grep -q "skipping uid=nomail,ou=people,dc=example,dc=org: email: required, but the mapping gives no value" \
    "$T/run1.log" || ms_fail "no reason logged for nomail"
grep -q "skipping uid=j.doe,.*nick_name: value \"j.doe\" does not match the required format" "$T/run1.log" ||
    ms_fail "no reason logged for j.doe"
grep -q "nick_name: value \"averyveryverylongusername01\" is 27 characters long, the maximum is 24" \
    "$T/run1.log" || ms_fail "no reason logged for the long uid"
grep -q "cycle 1 finished in .*: 206 entries; rainbond: 203 added, 0 already there, 0 updated, 0 rejected, 0 failed, 3 invalid" \
    "$T/run1.log" || ms_fail "no cycle summary"

ms_log "second run: nothing to push, nothing logged again"
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq "$valid" "$(ms_posts)" "POSTs after the second run"
if grep -q "skipping" "$T/run2.log"; then
    ms_fail "invalid entries logged again on the second run"
fi
grep -q "rainbond: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 3 invalid, 203 unchanged" "$T/run2.log" ||
    ms_fail "second run summary"

ms_log "a new user is pushed alone"
ms_ldapadd <<EOT
dn: uid=newbie,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: newbie
cn: New Bie
sn: Bie
mail: Newbie@Example.org
mobile: 13700000001
EOT
ms_once run3
ms_assert_eq 0 "$MS_RC" "third run exit status"
ms_assert_eq $((valid + 1)) "$(ms_posts)" "POSTs after adding one user"
ms_assert_eq "newbie" "$(ms_sim_jq '.log[-1].key')" "the new user was the one pushed"
ms_assert_eq "newbie@example.org" \
    "$(ms_sim_jq '.apis.rainbond.users[] | select(.nick_name == "newbie") | .email')" "mapped email lowercased"

ms_log "a modified mapped attribute is one update, never a second add"
ms_ldapmodify <<EOT
dn: uid=user0001,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: renamed0001@example.org
EOT
ms_once run4
ms_assert_eq 0 "$MS_RC" "fourth run exit status"
ms_assert_eq $((valid + 1)) "$(ms_posts)" "POSTs after modifying a user"
grep -q "rainbond: 0 added, 0 already there, 1 updated" "$T/run4.log" || ms_fail "the update is not reported"
ms_assert_eq "renamed0001@example.org" \
    "$(ms_sim_jq '.apis.rainbond.users[] | select(.nick_name == "user0001") | .email')" "email updated"

ms_log "--dry-run shows the plan and changes nothing"
ms_ldapadd <<EOT
dn: uid=drydock,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: drydock
cn: Dry Dock
sn: Dock
mail: drydock@example.org
EOT
before=$(ms_state_sql "SELECT count(*), max(updated_at) FROM members; SELECT count(*) FROM runs")
"$MEMBERSYNCD" --dry-run --config "$T/membersync.conf" >"$T/dry.out" 2>"$T/dry.log"
grep -q "^target rainbond (rainbond): 1 to add, 0 to update, 0 to enable, 0 to check, 0 to disable, 0 to delete, 0 newly invalid, 3 still invalid, 204 unchanged, 0 waiting for retry" "$T/dry.out" ||
    ms_fail "dry-run summary"
grep -q "^  add         uid=drydock,$LDAP_PEOPLE \[drydock\]: new member" "$T/dry.out" || ms_fail "dry-run action"
grep -q '"password":"\*\*\*\*\*\*\*\*"' "$T/dry.out" || ms_fail "dry-run does not redact the password"
ms_assert_eq "$before" \
    "$(ms_state_sql "SELECT count(*), max(updated_at) FROM members; SELECT count(*) FROM runs")" "state after dry-run"
ms_assert_eq $((valid + 1)) "$(ms_posts)" "POSTs after dry-run"

ms_log "a 500 storm: failed adds are retried and delivered once it passes"
ms_sim_fault '{"api":"rainbond","status":500,"count":-1,"body":"<h1>Server Error (500)</h1>","content_type":"text/html"}'
for u in storm1 storm2 storm3; do
    ms_ldapadd <<EOT
dn: uid=$u,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: $u
cn: $u
sn: Storm
mail: $u@example.org
EOT
done
ms_once run5
ms_assert_eq 1 "$MS_RC" "exit status with failed members"
ms_assert_eq 4 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'failed'")" "failed rows"
ms_assert_eq 0 "$(ms_sim_jq '[.apis.rainbond.users[] | select(.nick_name | startswith("storm"))] | length')" \
    "storm users while failing"
grep -q "rainbond: add of storm1 (uid=storm1,$LDAP_PEOPLE) failed (transient), will retry at the next cycle: HTTP 500" \
    "$T/run5.log" || ms_fail "failure not logged"
# Each was tried 1 + max_retries (3) times within the run.
ms_assert_eq 16 "$(ms_sim_jq '[.log[] | select(.status == 500)] | length')" "attempts during the storm"
ms_sim_clear_faults
ms_once run6
ms_assert_eq 0 "$MS_RC" "exit status after recovery"
ms_assert_eq 3 "$(ms_sim_jq '[.apis.rainbond.users[] | select(.nick_name | startswith("storm"))] | length')" \
    "storm users delivered"
ms_assert_eq 1 "$(ms_sim_jq '[.apis.rainbond.users[] | select(.nick_name == "drydock")] | length')" \
    "drydock delivered once"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('failed', 'pending')")" \
    "nothing left failed or pending"
ms_assert_eq "$(ms_sim_jq '.apis.rainbond.users | length')" \
    "$(ms_sim_jq '[.log[] | select(.status == 201) | .key] | unique | length')" "one 201 per member"
ms_assert_eq "$(ms_sim_jq '[.log[] | select(.status == 201)] | length')" \
    "$(ms_sim_jq '.apis.rainbond.users | length')" "no member created twice"

ms_log "no secret in logs or the state database"
secrets=("$(<"$SIM_RAINBOND_KEYFILE")" "$(<"$LDAP_SVC_PWFILE")")
while IFS= read -r pw; do secrets+=("$pw"); done < <(ms_sim_jq '.apis.rainbond.users[].password')
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "${secrets[@]}"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/run*.log "$T/dry.out" "$T/dry.log" "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
