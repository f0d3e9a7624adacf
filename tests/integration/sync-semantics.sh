#!/usr/bin/env bash
# Issue 7's guarantees end to end, with real slapd and the Rainbond
# simulator: a modification is sent once as an update; users leaving the
# directory are deprovisioned per policy (delete, disable); an unreachable
# directory or one returning no entries deprovisions nobody; a plan over
# max_deprovision is held until `membersync approve`; a member failing for
# good is quarantined after max_attempts and `membersync retry` releases
# it; --dry-run and --check change nothing.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
ms_slapd_start
ms_sim_start

# $1: deprovision policy, $2: extra target settings.
write_conf() {
    ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target | sed "s|retry_delay = 0.05;|retry_delay = 0.05; deprovision = \"$1\"; max_deprovision = 3; max_attempts = 2; ${2:-}|")"
}
# Requests of one method to the users API (optionally for one key).
requests() {
    ms_sim_jq --arg m "$1" --arg k "${2:-}" \
        '[.log[] | select(.method == $m and (.path | startswith("/openapi/v1/users")) and ($k == "" or .key == $k))] | length'
}
sim_user() {
    ms_sim_jq --arg n "$1" '.apis.rainbond.users[] | select(.nick_name == $n)'
}
ms() {
    "$MEMBERSYNC" -c "$T/membersync.conf" "$@"
}

write_conf delete
valid=203
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run"
ms_assert_eq "$valid" "$(ms_sim_jq '.apis.rainbond.users | length')" "users at Rainbond"

ms_log "a modification is one update, sent once"
ms_ldapmodify <<EOT
dn: uid=user0001,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: renamed0001@example.org
EOT
password_before=$(sim_user user0001 | jq -r .password)
"$MEMBERSYNCD" --check --config "$T/membersync.conf" >"$T/check1.out" 2>"$T/check1.log" && rc=0 || rc=$?
ms_assert_eq 1 "$rc" "--check with a change pending"
grep -q "1 to update" "$T/check1.out" || ms_fail "--check counts"
"$MEMBERSYNCD" --dry-run --config "$T/membersync.conf" >"$T/dry1.out" 2>"$T/dry1.log"
grep -q "^  update      uid=user0001,$LDAP_PEOPLE \[user0001\]: changed in the directory" "$T/dry1.out" ||
    ms_fail "dry-run shows the update"
ms_assert_eq 0 "$(requests PUT)" "nothing sent by --check and --dry-run"
ms_once run2
ms_assert_eq 0 "$MS_RC" "update run"
ms_assert_eq 1 "$(requests PUT user0001)" "PUTs for the modified user"
ms_assert_eq 1 "$(requests PUT)" "PUTs in all"
ms_assert_eq "$valid" "$(ms_posts)" "no POST for a modification"
ms_assert_eq "renamed0001@example.org" "$(sim_user user0001 | jq -r .email)" "email updated at Rainbond"
ms_assert_eq "$password_before" "$(sim_user user0001 | jq -r .password)" "the password is not reset by an update"
grep -q "rainbond: 0 added, 0 already there, 1 updated" "$T/run2.log" || ms_fail "update summary"
ms_once run3
ms_assert_eq 1 "$(requests PUT)" "the update is not sent again"
"$MEMBERSYNCD" --check --config "$T/membersync.conf" >"$T/check2.out" 2>&1 && rc=0 || rc=$?
ms_assert_eq 0 "$rc" "--check when in sync"
ms_assert_eq "in sync" "$(tail -n1 "$T/check2.out")" "--check says in sync"

ms_log "a user leaving the directory is deleted (deprovision = delete)"
ms_ldapdelete "uid=user0002,$LDAP_PEOPLE"
ms_once run4
ms_assert_eq 0 "$MS_RC" "deprovision run"
ms_assert_eq 1 "$(requests DELETE)" "DELETE requests"
ms_assert_eq "" "$(sim_user user0002)" "user0002 gone from Rainbond"
ms_assert_eq deleted "$(ms_state_sql "SELECT status FROM members WHERE member_key = 'user0002'")" "state row"
ms_once run5
ms_assert_eq 1 "$(requests DELETE)" "the delete is not sent again"

ms_log "disable policy: deactivated, account kept"
write_conf disable
ms_ldapdelete "uid=user0003,$LDAP_PEOPLE"
ms_once run6
ms_assert_eq 0 "$MS_RC" "disable run"
ms_assert_eq false "$(sim_user user0003 | jq -r .is_active)" "user0003 deactivated"
ms_assert_eq disabled "$(ms_state_sql "SELECT status FROM members WHERE member_key = 'user0003'")" "state row"
ms_assert_eq 1 "$(requests DELETE)" "no DELETE under the disable policy"

ms_log "an unreachable directory deprovisions nobody"
write_conf delete
ms_slapd_stop
ms_once run7
ms_assert_eq 69 "$MS_RC" "exit status without a directory"
ms_assert_eq 1 "$(requests DELETE)" "no DELETE while the directory is down"
ms_slapd_restart

ms_log "a directory returning no entries deprovisions nobody"
cp "$T/membersync.conf" "$T/membersync.conf.good"
sed -i 's|filter = "(objectClass=inetOrgPerson)";|filter = "(\&(objectClass=inetOrgPerson)(uid=nobody-at-all))";|' "$T/membersync.conf"
ms_once run8
ms_assert_eq 1 "$(requests DELETE)" "no DELETE after an empty read"
grep -q "deprovisions not planned (the directory returned no entries at all)" "$T/run8.log" ||
    ms_fail "the empty read is not reported"
cp "$T/membersync.conf.good" "$T/membersync.conf"
ms_once run9
ms_assert_eq 0 "$MS_RC" "run after the empty read"
# The only DELETE is user0003's: disabled under the old policy, and
# delete is the stronger one.
ms_assert_eq deleted "$(ms_state_sql "SELECT status FROM members WHERE member_key = 'user0003'")" \
    "the disabled user is deleted under the new policy"
ms_assert_eq "" "$(sim_user user0003)" "user0003 gone from Rainbond"
ms_assert_eq 2 "$(requests DELETE)" "no other DELETE when the entries are back"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NOT NULL AND status = 'synced'")" \
    "everyone back"

ms_log "more than max_deprovision is held until approved"
for i in 10 11 12 13 14; do ms_ldapdelete "uid=user00$i,$LDAP_PEOPLE"; done
ms_once run10
ms_assert_eq 2 "$(requests DELETE)" "no DELETE while held"
grep -q "5 deprovisions planned, more than max_deprovision allows (3 of" "$T/run10.log" || ms_fail "hold not logged"
ms plan >"$T/plan.out"
grep -q "uid=user0012,$LDAP_PEOPLE" "$T/plan.out" || ms_fail "membersync plan does not show the held plan"
ms_assert_eq 5 "$(ms plan --json | jq '.[0].plan | length')" "held plan in --json"
ms_once run11
ms_assert_eq 2 "$(requests DELETE)" "still held on the next cycle"
grep -q "rainbond: still held: 5 deprovisions wait for 'membersync approve rainbond'" "$T/run11.log" ||
    ms_fail "an unchanged hold is not said once"
if grep -q "more than max_deprovision allows" "$T/run11.log"; then
    ms_fail "an unchanged hold is warned about again"
fi
ms approve rainbond >"$T/approve.out"
ms_once run12
ms_assert_eq 0 "$MS_RC" "approved run"
ms_assert_eq 7 "$(requests DELETE)" "the approved deletes"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM holds")" "the hold is gone"
ms_once run13
ms_assert_eq 7 "$(requests DELETE)" "nothing more"

ms_log "a permanent failure is quarantined after max_attempts; retry releases it"
ms_sim_fault '{"api":"rainbond","method":"POST","key":"qq","status":302,"count":-1,"body":"moved"}'
ms_add_user qq
ms_once run14
ms_assert_eq 1 "$MS_RC" "exit status with a failed member"
ms_assert_eq "failed|1" "$(ms_state_sql "SELECT status, failures FROM members WHERE member_key = 'qq'")" "first failure"
qq_due() {
    [[ $(date +%s) -ge $(ms_state_sql "SELECT next_attempt_at FROM members WHERE member_key = 'qq'") ]]
}
ms_wait_until 5 qq_due || ms_fail "the retry is not due within 5 s"
ms_once run15
ms_assert_eq "quarantined|2" "$(ms_state_sql "SELECT status, failures FROM members WHERE member_key = 'qq'")" \
    "quarantined after two"
grep -q "quarantined until 'membersync retry'" "$T/run15.log" || ms_fail "quarantine not logged"
posts_qq=$(requests POST qq)
sleep 2
ms_once run16
ms_assert_eq "$posts_qq" "$(requests POST qq)" "a quarantined member is left alone"
ms members --quarantined | grep -q "uid=qq,$LDAP_PEOPLE" || ms_fail "members --quarantined"
ms_sim_clear_faults
ms retry --member qq >"$T/retry.out"
ms_once run17
ms_assert_eq 0 "$MS_RC" "run after retry"
ms_assert_eq synced "$(ms_state_sql "SELECT status FROM members WHERE member_key = 'qq'")" "delivered after retry"
ms_assert_eq 1 "$(ms_sim_jq '[.apis.rainbond.users[] | select(.nick_name == "qq")] | length')" "qq once"
ms_log "ok"
