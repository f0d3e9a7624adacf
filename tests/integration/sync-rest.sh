#!/usr/bin/env bash
# The generic REST driver end to end: members posted with a bearer token,
# remote ids adopted from the answers (including from a 409 for a member
# that was already there), arrays kept as arrays, nothing sent twice.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api)"

# A member that exists before membersync ever ran.
curl -sS --noproxy '*' --max-time 10 -o /dev/null -X POST \
    -H "Authorization: Bearer $(<"$SIM_REST_TOKENFILE")" -H 'Content-Type: application/json' \
    --data '{"email":"user0002@example.org","name":"preexisting"}' "$SIM_URL/rest/members"
pre_id=$(ms_sim_jq '.apis.rest.members[0].id')

ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
# 206 entries; nomail has no key (email) and is skipped.
ms_assert_eq 205 "$(ms_sim_jq '.apis.rest.members | length')" "members at the API"
ms_assert_eq 206 "$(ms_posts /rest/members)" "POSTs (one per member, plus the pre-existing one)"
ms_assert_eq 409 "$(ms_sim_jq '[.log[] | select(.key == "user0002@example.org")][-1].status')" "duplicate answer"
ms_assert_eq "$pre_id" \
    "$(ms_state_sql "SELECT remote_id FROM members WHERE member_key = 'user0002@example.org'")" "adopted remote id"
ms_assert_eq "synced" \
    "$(ms_state_sql "SELECT status FROM members WHERE member_key = 'user0002@example.org'")" "duplicate counts as synced"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced' AND remote_id IS NULL")" \
    "every synced member has a remote id"
ms_assert_eq '["multimail1@example.org","multimail2@example.org"]' \
    "$(ms_sim_jq -c '.apis.rest.members[] | select(.uid == "multimail") | .mails')" "arrays stay arrays"
ms_assert_eq "张三" "$(ms_sim_jq '.apis.rest.members[] | select(.uid == "zhangsan") | .name')" "UTF-8 values"
grep -q "hr-api: skipping uid=nomail,.*: email: is the member key, but the mapping gives no value" "$T/run1.log" ||
    ms_fail "nomail not reported"
grep -q "hr-api: user0002@example.org (uid=user0002,.*) is already there; recorded as synced" "$T/run1.log" ||
    ms_fail "duplicate not reported"

ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 206 "$(ms_posts /rest/members)" "POSTs after the second run"

ms_log "a wrong token pauses the target instead of hammering it"
printf 'wrong-token' >"$T/wrong.token"
chmod 600 "$T/wrong.token"
sed -i "s|key_file = \"$SIM_REST_TOKENFILE\"|key_file = \"$T/wrong.token\"|" "$T/membersync.conf"
for u in late1 late2 late3 late4 late5 late6; do
    ms_ldapadd <<EOT
dn: uid=$u,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: $u
cn: $u
sn: Late
mail: $u@example.org
EOT
done
ms_once run3
ms_assert_eq 1 "$MS_RC" "exit status with refused credentials"
grep -q "hr-api: paused for the rest of this cycle: the target refused our credentials" "$T/run3.log" ||
    ms_fail "pause not logged"
# max_inflight (4) requests may already be on the way; no more follow.
posts=$(ms_posts /rest/members)
if ((posts > 206 + 4)); then
    ms_fail "kept sending after a 401 ($((posts - 206)) requests)"
fi
grep -q "not attempted" "$T/run3.log" || ms_fail "unattempted members not reported"

ms_log "a running daemon rests after refused credentials (auth_pause), cycle after cycle"
before=$(ms_posts /rest/members)
sed -i 's|poll_interval = [0-9]*;||; s|^source = {|source = {\n  poll_interval = 1;|' "$T/membersync.conf"
"$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/daemon-auth.log" 2>&1 &
pid=$!
ms_register_pid "$pid"
cycles() { grep -c "cycle [0-9]* started" "$T/daemon-auth.log" || true; }
ms_wait_until 20 eval '(( $(cycles) >= 4 ))' || ms_fail "the daemon did not run 4 cycles"
kill -TERM "$pid"
wait "$pid" || ms_fail "the daemon did not stop cleanly"
sent=$(($(ms_posts /rest/members) - before))
# One cycle's requests in flight when the first 401 came back, then none.
((sent <= 4)) || ms_fail "$sent POSTs over $(cycles) cycles with refused credentials"
grep -q "hr-api: no requests for 600 s (auth_pause)" "$T/daemon-auth.log" || ms_fail "the pause is not logged"
grep -q "hr-api: paused for [0-9]* s more: it refused our credentials (auth_pause); 6 members wait" \
    "$T/daemon-auth.log" || ms_fail "later cycles do not say they rest"

sed -i "s|key_file = \"$T/wrong.token\"|key_file = \"$SIM_REST_TOKENFILE\"|" "$T/membersync.conf"
ms_once run4
ms_assert_eq 0 "$MS_RC" "exit status once the token is right"
ms_assert_eq 211 "$(ms_sim_jq '.apis.rest.members | length')" "late members delivered"
ms_log "ok"
