#!/usr/bin/env bash
# Change tracking with OpenLDAP syncrepl (RFC 4533) against a real slapd
# with the syncprov overlay: --once runs continue from the stored cookie
# (adds, modifies, renames and deletes reach the plan; nothing else is
# read), a damaged cookie falls back to a full read, and the daemon keeps
# a refreshAndPersist search open so a change reaches the API within
# moments, also after slapd restarts.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 ldapmodrdn
ms_setup
ms_slapd_start
ms_sim_start
MS_CHANGE_DETECTION=auto
ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api)"

cursor() { ms_state_sql "SELECT value FROM cursors WHERE kind = 'cursor'"; }
rest_has() { [[ "$(ms_sim_jq --arg u "$1" '[.apis.rest.members[] | select(.uid == $u)] | length')" == 1 ]]; }
gone_at() { ms_state_sql "SELECT coalesce(gone_at, 0) FROM members m WHERE dn = '$1'"; }

ms_log "first run: the whole content, and a cookie"
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq 205 "$(ms_sim_jq '.apis.rest.members | length')" "members at the API"
grep -q "change detection: syncrepl (chosen from the rootDSE" "$T/run1.log" || ms_fail "syncrepl not chosen"
grep -q "cycle 1 finished in .*: 206 entries; .*; read: syncrepl$" "$T/run1.log" || ms_fail "first run summary"
[[ "$(cursor)" == syncrepl\;* ]] || ms_fail "no syncrepl cursor stored: $(cursor)"

ms_log "second run: nothing changed, nothing read"
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
grep -q "cycle 1 finished in .*: 0 changed entries; .*read: syncrepl, changes only" "$T/run2.log" ||
    ms_fail "second run read more than the changes"
ms_assert_eq 205 "$(ms_posts /rest/members)" "POSTs after the second run"

ms_log "add, modify, rename, delete"
id11=$(ms_state_sql "SELECT source_id FROM members WHERE dn = 'uid=user0011,$LDAP_PEOPLE'")
ms_ldapadd <<EOT
dn: uid=fresh1,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: fresh1
cn: Fresh One
sn: One
mail: fresh1@example.org
EOT
ms_ldapmodify <<EOT
dn: uid=user0010,$LDAP_PEOPLE
changetype: modify
replace: displayName
displayName: Changed Name
EOT
ldapmodrdn -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" -y "$LDAP_ADMIN_PWFILE" \
    "uid=user0011,$LDAP_PEOPLE" "cn=Renamed Eleven" >/dev/null || ms_fail "ldapmodrdn failed"
ms_ldapdelete "uid=user0012,$LDAP_PEOPLE"
ms_once run3
ms_assert_eq 0 "$MS_RC" "third run exit status"
grep -q "cycle 1 finished in .*: 3 changed entries, 1 members' entries gone from the directory" "$T/run3.log" ||
    ms_fail "third run summary"
grep -q "hr-api: 1 added, .* 1 changed but not updatable" "$T/run3.log" || ms_fail "third run plan"
ms_assert_eq 206 "$(ms_posts /rest/members)" "one POST, for the new user"
rest_has fresh1 || ms_fail "fresh1 not at the API"
ms_assert_eq "cn=Renamed Eleven,$LDAP_PEOPLE" "$(ms_state_sql "SELECT dn FROM members WHERE source_id = '$id11'")" \
    "renamed entry keeps its row, with its new DN"
grep -q "uid=user0011,$LDAP_PEOPLE was renamed to cn=Renamed Eleven,$LDAP_PEOPLE" "$T/run3.log" ||
    ms_fail "rename not logged"
[[ "$(gone_at "uid=user0012,$LDAP_PEOPLE")" -gt 0 ]] || ms_fail "deleted entry not marked gone"
grep -q "uid=user0012,$LDAP_PEOPLE (id .*) left the directory or the search (1 target had it; each target.s deprovision policy decides)" "$T/run3.log" ||
    ms_fail "deletion not logged"
ms_assert_eq 205 "$(ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NULL AND status = 'synced'")" \
    "synced rows still there"

ms_log "a damaged cookie: a full read, and gone stays gone"
ms_state_sql "SELECT 1" >/dev/null
sqlite3 "$T/state/state.db" "UPDATE cursors SET value = 'syncrepl;' || substr(value, 10, 64) || ';zz' WHERE kind = 'cursor'"
ms_once run4
ms_assert_eq 0 "$MS_RC" "fourth run exit status"
grep -q "cycle 1 finished in .*: 206 entries; .*read: syncrepl$" "$T/run4.log" || ms_fail "no full read"
[[ "$(gone_at "uid=user0012,$LDAP_PEOPLE")" -gt 0 ]] || ms_fail "deleted entry not gone after a full read"
ms_assert_eq 206 "$(ms_posts /rest/members)" "POSTs after the full read"

ms_log "the daemon: live changes"
sed -i 's/poll_interval = [0-9]*;//; s/^  timeout = 20;/  timeout = 20; poll_interval = 3600;/' "$T/membersync.conf"
# Deprovisioning from live changes: user0012 (deleted above) goes at the
# first cycle, live1 as soon as its deletion arrives.
sed -i "s|key = \"email\"; remote_id_path = \"id\";|key = \"email\"; remote_id_path = \"id\"; deprovision = \"delete\"; delete = { url = \"$SIM_URL/rest/members/{id}\"; };|" "$T/membersync.conf"
grep -q 'deprovision = "delete"' "$T/membersync.conf" || ms_error "cannot set the deprovision policy"
"$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/daemon.log" 2>&1 &
daemon_pid=$!
ms_register_pid "$daemon_pid"
live_started() { (($(grep -c "live change tracking started" "$T/daemon.log") >= $1)); }
ms_wait_until 20 live_started 1 || ms_fail "live change tracking did not start"

start=$(date +%s%N)
ms_add_user live1 Live
ms_wait_until 5 rest_has live1 || ms_fail "live1 did not reach the API within 5 s"
ms_log "live1 reached the API after $((($(date +%s%N) - start) / 1000000)) ms"
ms_ldapdelete "uid=live1,$LDAP_PEOPLE"
live1_gone() { [[ "$(gone_at "uid=live1,$LDAP_PEOPLE")" -gt 0 ]]; }
ms_wait_until 5 live1_gone || ms_fail "live1's deletion not recorded within 5 s"
live1_deleted() { ! rest_has live1; }
ms_wait_until 5 live1_deleted || ms_fail "live1 not deleted at the API within 5 s of its deletion"
rest_deletes() { ms_sim_jq '[.log[] | select(.method == "DELETE")] | length'; }
ms_assert_eq 2 "$(rest_deletes)" "DELETEs (user0012 at the first cycle, live1 live)"

ms_log "slapd restarts: the daemon reconnects and goes live again"
ms_slapd_restart
ms_wait_until 30 live_started 2 || ms_fail "live change tracking did not resume"
ms_add_user live2 Live
ms_wait_until 5 rest_has live2 || ms_fail "live2 did not reach the API within 5 s after the restart"
kill -0 "$daemon_pid" || ms_fail "the daemon died"
ms_assert_eq 2 "$(rest_deletes)" "no DELETE after slapd restarted"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || ms_fail "the daemon did not exit cleanly"
# Nothing was sent twice: one POST per member ever added.
ms_assert_eq 208 "$(ms_posts /rest/members)" "POSTs in total"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NOT NULL AND dn NOT IN
    ('uid=user0012,$LDAP_PEOPLE', 'uid=live1,$LDAP_PEOPLE')")" "nothing else marked gone"
