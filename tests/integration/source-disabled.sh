#!/usr/bin/env bash
# Disabled accounts against a real slapd with the ppolicy overlay: an
# administrator's permanent lock (pwdAccountLockedTime 000001010000Z) and
# disabled_filter matches are not pushed, a timed lockout (any other
# pwdAccountLockedTime) is not a disabled account, detect_disabled = false
# turns the lock check off, and a re-enabled account is added at the next
# cycle.  Then the same with syncrepl change tracking: a lock, an unlock and
# a disabled_filter match made between cycles are picked up, and a member
# disabled after it was pushed is kept at the target (deprovisioning is
# not configured).
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
base=${MS_LDAP_BASE:-dc=example,dc=org}
"$srcroot/tests/data/gen-users.sh" -n 20 -b "$base" >"$T/users.ldif"
MS_SLAPD_OVERLAYS=ppolicy ms_slapd_start "$T/users.ldif"
ms_sim_start

PERMANENT=000001010000Z
lock() {
    ms_ldapmodify <<EOF
dn: uid=$1,$LDAP_PEOPLE
changetype: modify
replace: pwdAccountLockedTime
pwdAccountLockedTime: $2
EOF
}
unlock() {
    ms_ldapmodify <<EOF
dn: uid=$1,$LDAP_PEOPLE
changetype: modify
delete: pwdAccountLockedTime
EOF
}
employee_type() {
    ms_ldapmodify <<EOF
dn: uid=$1,$LDAP_PEOPLE
changetype: modify
replace: employeeType
employeeType: $2
EOF
}
posts_for() {
    ms_sim_jq --arg k "$1@example.org" '[.log[] | select(.method == "POST" and .key == $k)] | length'
}
rest_count() { ms_sim_jq '.apis.rest.members | length'; }
write_conf() {
    ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api)" \
        "disabled_filter = \"(employeeType=disabled)\"; $*"
}

lock user0001 "$PERMANENT"
# A lockout after failed logins: it expires, so it is no departure.
lock user0002 "$(date -u +%Y%m%d%H%M%SZ)"
employee_type user0003 disabled
employee_type user0004 staff
# The service account reads the operational attribute when it asks for it.
got=$(LDAPNOINIT=1 ldapsearch -x -LLL -H "$LDAP_URI" -D "$LDAP_SVC_DN" -y "$LDAP_SVC_PWFILE" \
    -b "uid=user0001,$LDAP_PEOPLE" -s base pwdAccountLockedTime | sed -n 's/^pwdAccountLockedTime: //p')
ms_assert_eq "$PERMANENT" "$got" "pwdAccountLockedTime as the service account sees it"

ms_log "a permanent lock and disabled_filter exclude; a timed lock does not"
write_conf
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
# 26 entries: nomail has no key, user0001 and user0003 are disabled.
ms_assert_eq 23 "$(rest_count)" "members at the API"
ms_assert_eq 0 "$(posts_for user0001)" "POSTs for the locked user0001"
ms_assert_eq 0 "$(posts_for user0003)" "POSTs for user0003 (disabled_filter)"
ms_assert_eq 1 "$(posts_for user0002)" "POSTs for user0002 (timed lock only)"
ms_assert_eq 1 "$(posts_for user0004)" "POSTs for user0004 (employeeType staff)"
grep -q "cycle 1 finished in .*: 26 entries; hr-api: 23 added, 0 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, 0 unchanged, 2 disabled in the directory; read: full$" \
    "$T/run1.log" || ms_fail "first run summary"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE dn IN
    ('uid=user0001,$LDAP_PEOPLE', 'uid=user0003,$LDAP_PEOPLE')")" "state rows for disabled users"

ms_log "detect_disabled = false: the lock is ignored, disabled_filter still applies"
write_conf "detect_disabled = false;"
ms_once dry-nodetect --dry-run
ms_assert_eq 0 "$MS_RC" "dry run exit status"
grep -q "target hr-api (rest): 1 to add, .*, 1 disabled, 0 not in its groups" "$T/dry-nodetect.log" ||
    ms_fail "detect_disabled = false: plan"
grep -q "^  add         uid=user0001,$LDAP_PEOPLE \[user0001@example.org\]: new member" "$T/dry-nodetect.log" ||
    ms_fail "detect_disabled = false: user0001 not planned"

ms_log "re-enabled accounts are added at the next cycle"
write_conf
unlock user0001
employee_type user0003 staff
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 25 "$(rest_count)" "members at the API after re-enabling"
ms_assert_eq 1 "$(posts_for user0001)" "POSTs for user0001 after unlocking"
ms_assert_eq 1 "$(posts_for user0003)" "POSTs for user0003 after leaving disabled_filter"
grep -q "hr-api: 2 added, 0 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, 23 unchanged; read: full$" "$T/run2.log" ||
    ms_fail "second run summary"

ms_log "syncrepl: locks and unlocks between cycles are picked up"
MS_CHANGE_DETECTION=auto
write_conf
ms_once run3
ms_assert_eq 0 "$MS_RC" "third run exit status"
grep -q "cycle 1 finished in .*: 26 entries; hr-api: 0 added, .* 25 unchanged; read: syncrepl$" "$T/run3.log" ||
    ms_fail "third run (first syncrepl read) summary"

lock user0006 "$PERMANENT"
ms_add_user fresh1 Fresh
lock fresh1 "$PERMANENT"
ms_once run4
ms_assert_eq 0 "$MS_RC" "fourth run exit status"
grep -q "cycle 1 finished in .*: 2 changed entries; hr-api: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 0 invalid, 0 unchanged, 2 disabled in the directory, 1 leaving members kept (deprovision = none); read: syncrepl, changes only$" \
    "$T/run4.log" || ms_fail "fourth run: locks not picked up"
ms_assert_eq 0 "$(posts_for fresh1)" "POSTs for the locked new user"
ms_assert_eq 25 "$(ms_posts /rest/members)" "POSTs after the locks"
ms_assert_eq "synced|0" "$(ms_state_sql "SELECT status, coalesce(gone_at, 0) FROM members
    WHERE dn = 'uid=user0006,$LDAP_PEOPLE'")" "the locked member's row is kept"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.method != "POST" and .method != "GET")] | length')" \
    "nothing removed at the target"

unlock fresh1
ms_once run5
ms_assert_eq 0 "$MS_RC" "fifth run exit status"
grep -q "cycle 1 finished in .*: 1 changed entries; hr-api: 1 added, .*; read: syncrepl, changes only$" "$T/run5.log" ||
    ms_fail "fifth run: unlock not picked up"
ms_assert_eq 1 "$(posts_for fresh1)" "POSTs for fresh1 after unlocking"

ms_log "syncrepl: a new disabled_filter match"
employee_type user0007 disabled
ms_once run6
ms_assert_eq 0 "$MS_RC" "sixth run exit status"
# disabled_filter matches are read apart from the entries: a new match
# changes the scope, so the cookie is not continued.
grep -q "cycle 1 reads the whole directory: the groups or disabled accounts that scope the entries changed" \
    "$T/run6.log" || ms_fail "sixth run: no full read after disabled_filter matched another entry"
grep -q "cycle 1 finished in .*: 27 entries; hr-api: 0 added, .*, 24 unchanged, 2 disabled in the directory, 2 leaving members kept (deprovision = none); read: syncrepl$" \
    "$T/run6.log" || ms_fail "sixth run: disabled_filter match not picked up"
ms_assert_eq 26 "$(ms_posts /rest/members)" "POSTs in total"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NOT NULL")" "members marked gone"
