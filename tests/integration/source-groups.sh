#!/usr/bin/env bash
# Group membership from a real slapd: groupOfNames (member),
# groupOfUniqueNames (uniqueMember, with and without the #'bits'B uid
# suffix), posixGroup (memberUid, matched case-insensitively), nested
# groups three levels deep, a nesting cycle (which terminates and gives
# every group of it the union of the members), and memberOf kept by the
# memberof overlay.  A target scoped to groups gets only their members
# while an unscoped one gets everyone; ${groups} and ${group_dns} reach the
# payloads; a member removed from the group is out of scope at the next
# cycle and kept at the target (deprovisioning is not configured); a
# target's groups without a source.groups block is a config error.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup

# 20 regular users + 6 special ones (gen-users.sh), then the groups.  The
# groups go through slapadd, so the memberof overlay does not see them:
# memberOf is tested further down with groups added over LDAP.
base=${MS_LDAP_BASE:-dc=example,dc=org}
people="ou=people,$base"
groups="ou=groups,$base"
"$srcroot/tests/data/gen-users.sh" -n 20 -b "$base" >"$T/users.ldif"
cat >>"$T/users.ldif" <<EOF

dn: cn=all,$groups
objectClass: groupOfNames
cn: all
member: cn=engineering,$groups
member: cn=qa,$groups
member: cn=ops,$groups

dn: cn=engineering,$groups
objectClass: groupOfNames
cn: engineering
member: uid=user0001,$people
member: uid=user0002,$people
member: UID=user0003, OU=People,${base^^}
member: cn=Smith\, John,$people
member: cn=backend,$groups

dn: cn=backend,$groups
objectClass: groupOfNames
cn: backend
member: uid=user0004,$people
member: uid=user0005,$people

dn: cn=qa,$groups
objectClass: groupOfUniqueNames
cn: qa
uniqueMember: uid=user0006,$people
uniqueMember: uid=user0007,$people#'0101'B

dn: cn=ops,$groups
objectClass: posixGroup
cn: ops
gidNumber: 5000
memberUid: user0008
memberUid: USER0009

dn: cn=cyc-a,$groups
objectClass: groupOfNames
cn: cyc-a
member: cn=cyc-b,$groups
member: uid=user0010,$people

dn: cn=cyc-b,$groups
objectClass: groupOfNames
cn: cyc-b
member: cn=cyc-a,$groups
member: uid=user0011,$people

dn: cn=other,$groups
objectClass: groupOfNames
cn: other
member: uid=user0012,$people
EOF

MS_SLAPD_OVERLAYS=memberof ms_slapd_start "$T/users.ldif"
ms_sim_start

# The REST target scoped to groups, with the group fields in its payload;
# a rainbond target with no groups for comparison.
scoped_target() {
    local groups_list=$1 extra=${2:-}
    cat <<EOT
  { name = "hr-api"; driver = "rest"; url = "$SIM_URL/rest/members";
    key = "email"; remote_id_path = "id"; $extra
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    auth = { key_file = "$SIM_REST_TOKENFILE"; };
    groups = [ $groups_list ];
    map = {
      email = "\${mail | lower}";
      uid = "\${uid}";
      groups = "\${groups[*] | join(\",\")}";
      group_dns = "\${group_dns[*]}";
      n_groups = "\${groups[*] | count}";
    };
  }
EOT
}
groups_block() {
    local extra=${1:-}
    printf 'groups = { base = "%s"; %s };' "$groups" "$extra"
}
write_conf() {
    ms_conf_write "$T/membersync.conf" "$(scoped_target "$1"),
$(ms_rainbond_target)" "$(groups_block "${2:-}")"
}

rest_groups() {
    # The names, sorted: what matters is the set.
    ms_sim_jq --arg u "$1" '[.apis.rest.members[] | select(.uid == $u) | .groups | split(",") | sort | join(",")] | join(";")'
}
rest_count() { ms_sim_jq '.apis.rest.members | length'; }
rainbond_count() { ms_sim_jq '.apis.rainbond.users | length'; }

ms_log "scoped and unscoped targets, every kind of group, nesting and a cycle"
write_conf '"all", "cn=cyc-a,'"$groups"'"'
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
# all: engineering (user0001-3, jsmith, backend: user0004-5), qa
# (user0006-7), ops (user0008-9); cyc-a: user0010, and through cyc-b
# user0011.
ms_assert_eq 12 "$(rest_count)" "members of the scoped target"
# 26 entries; nomail, j.doe and the long uid are not valid for rainbond.
ms_assert_eq 23 "$(rainbond_count)" "members of the unscoped target"
for u in user0001 user0002 user0003 jsmith; do
    ms_assert_eq "all,engineering" "$(rest_groups $u)" "groups of $u (member; DNs written differently, escaped comma)"
done
for u in user0004 user0005; do
    ms_assert_eq "all,backend,engineering" "$(rest_groups $u)" "groups of $u (nested two levels)"
done
for u in user0006 user0007; do
    ms_assert_eq "all,qa" "$(rest_groups $u)" "groups of $u (uniqueMember)"
done
for u in user0008 user0009; do
    ms_assert_eq "all,ops" "$(rest_groups $u)" "groups of $u (memberUid)"
done
for u in user0010 user0011; do
    ms_assert_eq "cyc-a,cyc-b" "$(rest_groups $u)" "groups of $u (a nesting cycle gives the union)"
done
ms_assert_eq "" "$(rest_groups user0012)" "user0012 (only in 'other') is not at the scoped target"
ms_assert_eq "cn=all,$groups;cn=backend,$groups;cn=engineering,$groups" \
    "$(ms_sim_jq -r --arg u user0004 '.apis.rest.members[] | select(.uid == $u) | .group_dns | sort | join(";")')" \
    "group_dns of user0004"
ms_assert_eq 3 "$(ms_sim_jq --arg u user0004 '.apis.rest.members[] | select(.uid == $u) | .n_groups')" \
    "groups | count of user0004"
grep -q "nested groups form a cycle (cn=cyc-[ab],$groups -> cn=cyc-[ab],$groups -> cn=cyc-[ab],$groups)" \
    "$T/run1.log" || ms_fail "the nesting cycle was not reported"
# 26 entries: 12 in scope, the other 14 (nomail included) not.
grep -q "cycle 1 finished in .*: 26 entries; hr-api: 12 added, 0 already there, 0 updated, 0 rejected, 0 failed, 0 invalid, 0 unchanged, 14 not in its groups; rainbond: 23 added" \
    "$T/run1.log" || ms_fail "first run summary"

ms_log "a member removed from the group leaves the scope, and stays at the target"
ms_ldapmodify <<EOF
dn: cn=engineering,$groups
changetype: modify
delete: member
member: uid=user0001,$people
EOF
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 12 "$(ms_posts /rest/members)" "no new POST to the scoped target"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.method == "DELETE" or .method == "PUT" or .method == "PATCH")] | length')" \
    "nothing removed or changed at the targets"
ms_assert_eq 23 "$(ms_posts)" "no new POST to the unscoped target"
grep -q "hr-api: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 0 invalid, 11 unchanged, 15 not in its groups, 1 leaving members kept (deprovision = none)" \
    "$T/run2.log" || ms_fail "second run: user0001 not reported out of scope and kept"
grep -q "rainbond: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 3 invalid, 23 unchanged; read: full$" "$T/run2.log" ||
    ms_fail "second run: the unscoped target changed"
ms_assert_eq "synced|0" "$(ms_state_sql "SELECT status, coalesce(gone_at, 0) FROM members
    WHERE target = 'hr-api' AND dn = 'uid=user0001,$people'")" "user0001's row at hr-api"

ms_log "syncrepl: a member added to a nested group between cycles"
MS_CHANGE_DETECTION=auto write_conf '"all", "cn=cyc-a,'"$groups"'"'
ms_once sync1
ms_assert_eq 0 "$MS_RC" "first syncrepl run exit status"
grep -q "cycle 1 finished in .*: 26 entries; hr-api: 0 added, .*; read: syncrepl$" "$T/sync1.log" ||
    ms_fail "first syncrepl run summary"
ms_ldapmodify <<EOF
dn: cn=backend,$groups
changetype: modify
add: member
member: uid=user0013,$people
EOF
ms_once sync2
ms_assert_eq 0 "$MS_RC" "second syncrepl run exit status"
# user0013's entry did not change, but its scope did.
grep -q "cycle 1 reads the whole directory: the groups or disabled accounts that scope the entries changed" \
    "$T/sync2.log" || ms_fail "a group change did not lead to a full read"
grep -q "hr-api: 1 added, .* 11 unchanged, 14 not in its groups, 1 leaving members kept (deprovision = none); .*read: syncrepl$" \
    "$T/sync2.log" || ms_fail "second syncrepl run summary"
ms_assert_eq "all,backend,engineering" "$(rest_groups user0013)" "groups of user0013 after joining backend"
ms_assert_eq 13 "$(ms_posts /rest/members)" "POSTs to the scoped target after the group change"

ms_log "nested = false: only direct members"
write_conf '"all", "cn=cyc-a,'"$groups"'"' "nested = false;"
ms_once dry-flat --dry-run
ms_assert_eq 0 "$MS_RC" "dry run exit status"
# cyc-a directly holds only user0010; all holds only groups.
grep -q "target hr-api (rest): 0 to add, .* 25 not in its groups" "$T/dry-flat.log" ||
    ms_fail "nested = false did not keep to direct members"

ms_log "a group named in a target that does not exist"
write_conf '"engineerin"'
ms_once typo
ms_assert_eq 69 "$MS_RC" "exit status with an unknown group"
grep -q "a target's group 'engineerin': no group named \"engineerin\" (did you mean \"engineering\"?)" "$T/typo.log" ||
    ms_fail "unknown group not reported with a suggestion"

ms_log "memberOf, kept by the overlay for groups added over LDAP"
ms_sim_reset
rm -rf -- "$T/state"
ms_ldapadd <<EOF
dn: ou=mo,$base
objectClass: organizationalUnit
ou: mo

dn: cn=mo-child,ou=mo,$base
objectClass: groupOfNames
cn: mo-child
member: uid=user0014,$people
member: uid=user0015,$people

dn: cn=mo-parent,ou=mo,$base
objectClass: groupOfNames
cn: mo-parent
member: uid=user0013,$people
member: cn=mo-child,ou=mo,$base

dn: cn=mo-other,ou=mo,$base
objectClass: groupOfNames
cn: mo-other
member: uid=user0016,$people
EOF
[[ "$(ms_ldapsearch -b "uid=user0014,$people" -s base memberOf | grep -c '^memberOf:')" == 1 ]] ||
    ms_error "the memberof overlay did not set memberOf on user0014"
ms_conf_write "$T/membersync.conf" "$(scoped_target '"mo-parent"'),
$(ms_rainbond_target)" "groups = { base = \"ou=mo,$base\"; member_attributes = [\"memberOf\"]; };"
ms_once memberof
ms_assert_eq 0 "$MS_RC" "memberOf run exit status"
ms_assert_eq 3 "$(rest_count)" "members of mo-parent through memberOf"
ms_assert_eq "mo-parent" "$(rest_groups user0013)" "groups of user0013 (memberOf)"
ms_assert_eq "mo-child,mo-parent" "$(rest_groups user0014)" "groups of user0014 (memberOf, nested)"
ms_assert_eq "mo-child,mo-parent" "$(rest_groups user0015)" "groups of user0015 (memberOf, nested)"
ms_assert_eq "" "$(rest_groups user0016)" "user0016 (only in mo-other) not at the scoped target"
ms_assert_eq 23 "$(rainbond_count)" "members of the unscoped target (memberOf run)"

ms_log "a member who leaves the target's groups is deprovisioned (deprovision = disable)"
disable_conf="deprovision = \"disable\"; disable = { url = \"$SIM_URL/rest/members/{id}\"; body = \"{\\\"active\\\":false}\"; };"
ms_conf_write "$T/membersync.conf" "$(scoped_target '"mo-parent"' "$disable_conf"),
$(ms_rainbond_target)" "groups = { base = \"ou=mo,$base\"; member_attributes = [\"memberOf\"]; };"
ms_ldapmodify <<EOF
dn: cn=mo-child,ou=mo,$base
changetype: modify
delete: member
member: uid=user0015,$people
EOF
ms_once leave
ms_assert_eq 0 "$MS_RC" "exit status after user0015 left mo-child"
ms_assert_eq 1 "$(ms_sim_jq '[.log[] | select(.method == "PATCH")] | length')" "PATCH requests"
ms_assert_eq false "$(ms_sim_jq '.apis.rest.members[] | select(.uid == "user0015") | .active')" \
    "user0015 deactivated at the API"
ms_assert_eq "disabled|not in the target's groups" \
    "$(ms_state_sql "SELECT status, excluded FROM members WHERE target = 'hr-api' AND member_key = 'user0015@example.org'")" \
    "state of user0015"
ms_once leave2
ms_assert_eq 1 "$(ms_sim_jq '[.log[] | select(.method == "PATCH")] | length')" "no PATCH again"

ms_log "config errors: groups without source.groups"
ms_conf_write "$T/membersync.conf" "$(scoped_target '"all"')"
line=$(grep -n 'groups = \[ "all" \];' "$T/membersync.conf" | cut -d: -f1)
[[ -n "$line" ]] || ms_error "cannot find the groups line in the config"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/check.log" 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "--check-config exit status"
grep -q "^$T/membersync.conf:$line: target hr-api: groups needs a source.groups block saying where groups are" \
    "$T/check.log" || ms_fail "no file:line error for a target's groups without source.groups"
mapline=$(grep -n '^    map = {' "$T/membersync.conf" | cut -d: -f1)
grep -q "^$T/membersync.conf:$mapline: target hr-api: map reads 'groups' (directly, or through is_member_of), which comes from source.groups, but there is no source.groups block" \
    "$T/check.log" || ms_fail "no file:line error for \${groups} without source.groups"
