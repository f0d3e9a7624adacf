#!/usr/bin/env bash
# Active Directory as the source: a real Samba AD DC started by the test
# (tests/integration/lib-samba.sh).  LDAPS with verification, objectGUID
# identity, disabled accounts (userAccountControl), a group of more than
# 1500 members read completely through range retrieval, nested groups
# through the in-chain matching rule, and uSNChanged change tracking that
# picks up a `samba-tool user create` and an attribute change.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/lib-samba.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 jq
ms_setup
ms_samba_start
ms_sim_start

# ad_conf FILE [SOURCE_EXTRA] [TARGET_EXTRA]: the service account over
# LDAPS, objectGUID ids, groups under OU=Groups.  One rest target keeps
# every field it is sent, so the payloads can be checked.
ad_conf() {
    local file=$1 extra=${2:-} target_extra=${3:-}
    cat >"$file" <<EOT
source = {
  uri = "$SAMBA_URI";
  ca_file = "$SAMBA_CA_FILE";
  bind_dn = "$SAMBA_SVC_DN";
  bind_password_file = "$SAMBA_SVC_PWFILE";
  base = "$SAMBA_PEOPLE";
  filter = "(&(objectClass=user)(!(objectClass=computer)))";
  id_attribute = "objectGUID";
  page_size = 200;
  timeout = 30;
  attributes = [ "sAMAccountName" ];
  groups = { base = "$SAMBA_GROUPS"; };
  $extra
};
state_dir = "$T/state";
log_level = "info";
targets = (
  { name = "ad-api"; driver = "rest"; url = "$SIM_URL/rest/members";
    key = "uid"; remote_id_path = "id";
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    auth = { key_file = "$SIM_REST_TOKENFILE"; };
    $target_extra
    map = {
      uid = "\${sAMAccountName}";
      email = "\${mail | lower}";
      name = "\${displayName | default(cn)}";
      groups = "\${groups[*]}";
    };
  }
);
EOT
}

api_count() { ms_sim_jq '.apis.rest.members | length'; }
api_member() { ms_sim_jq --arg u "$1" '.apis.rest.members[] | select(.uid == $u)'; }
api_has() { [[ -n "$(api_member "$1")" ]]; }
state_count() { ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'"; }

ms_log "directory: people, a disabled account, nested groups with a cycle, a group of 1600"
ms_samba_user_create alice --given-name=Alice --surname=Liddell --mail-address=Alice@msync.test
ms_samba_user_create bob --given-name=Bob --surname=Builder --mail-address=bob@msync.test
ms_samba_user_create carol --given-name=Carol --surname=Danvers --mail-address=carol@msync.test
ms_samba_user_create dave --given-name=Dave --surname=Lister --mail-address=dave@msync.test
ms_samba_user_create frank --given-name=Frank --surname=Costanza --mail-address=frank@msync.test
ms_samba_user_disable dave
ms_samba_group_create staff
ms_samba_group_create eng
ms_samba_group_create oncall
ms_samba_group_add staff alice eng
ms_samba_group_add eng bob oncall
ms_samba_group_add oncall carol staff  # staff > eng > oncall > staff
# A group outside groups.base, nested in staff: only the server's in-chain
# rule sees gina as a member of staff.
ms_samba_user_create gina --given-name=Gina --surname=Linetti --mail-address=gina@msync.test
ms_samba_tool group add contractors >/dev/null
ms_samba_group_add contractors gina
ms_samba_group_add staff contractors
ms_samba_bulk_users bk 1600 big

guid_of() {
    ms_samba_ldapsearch -b "$SAMBA_PEOPLE" "(sAMAccountName=$1)" objectGUID |
        sed -n 's/^objectGUID:: //p' | base64 -d | od -An -tx1 | tr -d ' \n'
}

ms_log "first run: LDAPS, every account but the disabled one, objectGUID ids"
ad_conf "$T/membersync.conf" 'change_detection = "auto";'
ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
grep -q "change detection: usn (chosen from the rootDSE" "$T/run1.log" ||
    ms_fail "uSNChanged tracking was not chosen for AD: $(grep 'change detection' "$T/run1.log")"
# alice bob carol dave frank gina and 1600 bulk users (the service account
# lives in CN=Users); dave is disabled and stays out.
ms_assert_eq 1605 "$(api_count)" "members at the API after the first run"
grep -q "cycle 1 finished in .*: 1606 entries; ad-api: .*, 1 disabled.*read: usn$" "$T/run1.log" ||
    ms_fail "first run summary: $(grep 'cycle 1 finished' "$T/run1.log")"
api_has dave && ms_fail "the disabled account dave was pushed"
ms_assert_eq "alice@msync.test" "$(api_member alice | jq -r .email)" "alice's email"

# objectGUID: the little-endian first three fields of the raw bytes, as
# Windows prints GUIDs.
raw=$(guid_of alice)
want="${raw:6:2}${raw:4:2}${raw:2:2}${raw:0:2}-${raw:10:2}${raw:8:2}-${raw:14:2}${raw:12:2}-${raw:16:4}-${raw:20:12}"
ms_assert_eq "$want" "$(ms_state_sql "SELECT source_id FROM members WHERE dn LIKE 'CN=alice,%'")" \
    "alice's id is her objectGUID"

ms_log "group names reach the mapping, the nesting cycle included"
# staff > eng > oncall > staff: each of them is in all three.
for u in alice bob carol; do
    ms_assert_eq '["eng","oncall","staff"]' "$(api_member $u | jq -c '.groups | sort')" "$u's groups"
done
grep -q "nested groups form a cycle" "$T/run1.log" || ms_fail "the nesting cycle was not reported"
ms_assert_eq '["big"]' "$(api_member bk01600 | jq -c '.groups')" "the 1600th bulk user's groups"

ms_log "second run: uSNChanged, nothing changed, nothing read"
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
grep -q "cycle 1 finished in .*: 0 changed entries; .*read: usn, changes only" "$T/run2.log" ||
    ms_fail "second run summary: $(grep 'cycle 1 finished' "$T/run2.log")"
ms_assert_eq 1605 "$(ms_posts /rest/members)" "POSTs after the second run"

ms_log "a samba-tool user create and an attribute change are picked up incrementally"
ms_samba_user_create erin --given-name=Erin --surname=Brockovich --mail-address=erin@msync.test
ms_samba_ldapmodify <<EOT
dn: CN=bob,$SAMBA_PEOPLE
changetype: modify
replace: displayName
displayName: Bob Changed
EOT
ms_once run3
ms_assert_eq 0 "$MS_RC" "third run exit status"
grep -q "cycle 1 finished in .*: 2 changed entries; .*read: usn, changes only" "$T/run3.log" ||
    ms_fail "third run summary: $(grep 'cycle 1 finished' "$T/run3.log")"
api_has erin || ms_fail "erin (samba-tool user create) did not reach the API"
ms_assert_eq 1606 "$(ms_posts /rest/members)" "POSTs after the third run"

gone() { ms_state_sql "SELECT count(*) FROM members WHERE dn LIKE 'CN=$1,%' AND gone_at IS NOT NULL"; }

ms_log "deletions: the service account cannot read CN=Deleted Objects yet"
ms_samba_tool user delete erin >/dev/null
ms_once run4
ms_assert_eq 0 "$MS_RC" "fourth run exit status"
grep -q "cannot read the Deleted Objects container of $SAMBA_BASE (grant" "$T/run4.log" ||
    ms_fail "no word that deleted objects cannot be read"
grep -q "cycle 1 finished in .*: 0 changed entries; .*read: usn, changes only" "$T/run4.log" ||
    ms_fail "fourth run summary: $(grep 'cycle 1 finished' "$T/run4.log")"
ms_assert_eq 0 "$(gone erin)" "erin marked gone without a way to know"

ms_log "deletions through CN=Deleted Objects once permitted"
ms_samba_allow_deleted_read membersync-svc
ms_samba_tool user delete frank >/dev/null
ms_once run4a
ms_assert_eq 0 "$MS_RC" "run 4a exit status"
grep -q "cycle 1 finished in .*: 0 changed entries, 1 members' entries gone from the directory.*read: usn, changes only" \
    "$T/run4a.log" || ms_fail "run 4a summary: $(grep 'cycle 1 finished' "$T/run4a.log")"
grep -q "cannot read the Deleted Objects" "$T/run4a.log" && ms_fail "deleted objects still said to be unreadable"
ms_assert_eq 1 "$(gone frank)" "frank marked gone"
# erin's deletion was before the cursor: the next full read finds it.
ms_assert_eq 0 "$(gone erin)" "erin marked gone"

ms_log "deleting a group member changes the groups: a full read, which sees it gone"
ms_samba_tool user delete carol >/dev/null
ms_once run4b
ms_assert_eq 0 "$MS_RC" "run 4b exit status"
grep -q "cycle 1 reads the whole directory: the groups or disabled accounts that scope the entries changed" \
    "$T/run4b.log" || ms_fail "no full read after a group change"
ms_assert_eq 1 "$(gone carol)" "carol marked gone"
ms_assert_eq 1 "$(gone erin)" "erin marked gone by the full read"

ms_log "enabling dave brings him in"
ms_samba_user_enable dave
ms_once run5
ms_assert_eq 0 "$MS_RC" "fifth run exit status"
api_has dave || ms_fail "dave, enabled again, did not reach the API"

ms_log "another domain controller (a different invocationId): a full read"
cursor=$(ms_state_sql "SELECT value FROM cursors WHERE kind = 'cursor'")
IFS=';' read -r method scope invocation usn <<<"$cursor"
ms_assert_eq usn "$method" "cursor method"
[[ "$usn" =~ ^[0-9]+$ && -n "$invocation" ]] || ms_fail "usn cursor '$cursor'"
sqlite3 "$T/state/state.db" \
    "UPDATE cursors SET value = 'usn;$scope;00000000-0000-0000-0000-000000000001;$usn' WHERE kind = 'cursor'"
ms_once run6
ms_assert_eq 0 "$MS_RC" "run 6 exit status"
grep -q "reads the whole directory: the domain controller is another one, or was restored (invocationId $invocation, was 00000000-0000-0000-0000-000000000001)" \
    "$T/run6.log" || ms_fail "no full read for another DC: $(grep 'cycle 1' "$T/run6.log")"
grep -q "cycle 1 finished in .*: 1604 entries; ad-api: 0 added, .*read: usn$" "$T/run6.log" ||
    ms_fail "run 6 summary: $(grep 'cycle 1 finished' "$T/run6.log")"

ms_log "a target scoped to a nested group: in-chain matching rule"
ms_sim_reset
rm -rf "$T/state"
ad_conf "$T/scoped.conf" 'change_detection = "full";' 'groups = [ "staff" ];'
ms_once scoped1 --config "$T/scoped.conf"
ms_assert_eq 0 "$MS_RC" "scoped run exit status"

# staff and the groups nested in it: alice, bob, and gina through a group
# outside groups.base; carol, erin and frank are gone, dave is in no group.
ms_assert_eq '["alice","bob","gina"]' "$(ms_sim_jq -c '[.apis.rest.members[].uid] | sort')" \
    "members of staff, nested, by the in-chain rule"
grep -q "ad-api: .*, 1601 not in its groups" "$T/scoped1.log" ||
    ms_fail "scoped summary: $(grep 'cycle 1 finished' "$T/scoped1.log")"

ms_log "the same without in-chain: recursive expansion of the groups read"
ms_sim_reset
rm -rf "$T/state"
sed 's/groups = { base = "\([^"]*\)"; };/groups = { base = "\1"; in_chain = false; };/' "$T/scoped.conf" >"$T/recursive.conf"
grep -q "in_chain = false" "$T/recursive.conf" || ms_error "could not write recursive.conf"
ms_once recursive1 --config "$T/recursive.conf"
ms_assert_eq 0 "$MS_RC" "recursive run exit status"
ms_assert_eq '["alice","bob"]' "$(ms_sim_jq -c '[.apis.rest.members[].uid] | sort')" \
    "members of staff, nested, expanded from OU=Groups"

ms_log "range retrieval: a target scoped to the group of 1600"
ms_sim_reset
rm -rf "$T/state"
sed 's/groups = \[ "staff" \];/groups = [ "CN=big,'"$SAMBA_GROUPS"'" ];/' "$T/recursive.conf" >"$T/big.conf"
ms_once big1 --config "$T/big.conf"
ms_assert_eq 0 "$MS_RC" "big group run exit status"
ms_assert_eq 1600 "$(api_count)" "every member of the 1600-member group"
grep -q "groups read under .*long member lists read in ranges" "$T/big1.log" || ms_fail "the group's members were not read through ranges"

ms_log "source-ad passed"
