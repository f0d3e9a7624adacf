#!/usr/bin/env bash
# Checks the integration harness itself (lib.sh, gen-users.sh, the slapd
# setup), so that a broken harness shows up as one clear failure here rather
# than as odd failures in every daemon test.
#
# lib.sh functions take optional arguments, so bare calls are intended:
# shellcheck disable=SC2119
set -euo pipefail

srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcroot/tests/integration/lib.sh"

# Value of ATTR in LDIF on stdin (first occurrence), base64 decoded if needed.
ldif_value() {
    local attr=$1 line
    while IFS= read -r line; do
        case "$line" in
            "$attr:: "*) printf '%s' "${line#"$attr":: }" | base64 -d; return 0 ;;
            "$attr: "*) printf '%s' "${line#"$attr": }"; return 0 ;;
        esac
    done
    return 1
}

# Milliseconds since the epoch.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

count_dns() {
    grep -c '^dn:' || true
}

ms_setup

# The reporting helpers themselves: a failed assertion exits 1 and names
# this file and line.  The subshell keeps that exit from ending this test.
rc=0
probe_line=$LINENO; (ms_assert_eq a b "selftest probe") 2>"$T/probe.err" || rc=$?
ms_assert_eq 1 "$rc" "exit status of a failed ms_assert_eq"
ms_assert_eq "FAIL: selftest probe: expected 'a', got 'b' (selftest-harness.sh:$probe_line)" \
    "$(cat "$T/probe.err")" "ms_fail message"
[[ -d "$T" ]] || ms_fail "a subshell's exit removed \$T"

ms_require_cmd slapd
"$srcroot/tests/data/gen-users.sh" -n 20 >"$T/users.ldif"

started=$(now_ms)
ms_slapd_start "$T/users.ldif"
ms_log "slapd up on $LDAP_URI (pid $SLAPD_PID) after $(($(now_ms) - started)) ms"

for f in "$LDAP_ADMIN_PWFILE" "$LDAP_SVC_PWFILE"; do
    ms_assert_eq 600 "$(stat -c %a "$f")" "mode of $f"
    ms_assert_eq 0 "$(tr -dc '\n' <"$f" | wc -c)" "newlines in $f"
done

people=$(ms_ldapsearch -b "$LDAP_PEOPLE" -s one '(objectClass=inetOrgPerson)' entryUUID)
ms_assert_eq 26 "$(count_dns <<<"$people")" "users under $LDAP_PEOPLE"
ms_assert_eq 26 "$(grep -c '^entryUUID: ' <<<"$people" || true)" "users with entryUUID"

csn=$(ms_ldapsearch -s base contextCSN | ldif_value contextCSN) ||
    ms_fail "no contextCSN on $LDAP_BASE (slapadd -w / syncprov)"
ms_log "contextCSN $csn"

# The daemon's view: bind as the service account.
svc_search() {
    LDAPNOINIT=1 ldapsearch -x -H "$LDAP_URI" -D "$LDAP_SVC_DN" -y "$LDAP_SVC_PWFILE" \
        -LLL -o ldif-wrap=no -b "$LDAP_PEOPLE" "$@"
}
zs=$(svc_search '(uid=zhangsan)' entryUUID cn) || ms_fail "service account search failed"
uuid=$(ldif_value entryUUID <<<"$zs") || ms_fail "no entryUUID for zhangsan"
[[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
    ms_fail "entryUUID '$uuid' is not a UUID"
ms_assert_eq "张三" "$(ldif_value cn <<<"$zs")" "cn of zhangsan as read by the service account"
ms_assert_eq "Smith, John" "$(svc_search '(uid=jsmith)' cn | ldif_value cn)" "cn of jsmith"
ms_assert_eq 2 "$(svc_search '(uid=multimail)' mail | grep -c '^mail: ' || true)" "mails of multimail"
ms_assert_eq 0 "$(svc_search '(uid=nomail)' mail | grep -c '^mail' || true)" "mails of nomail"
ms_assert_eq "Zoë Müller" "$(svc_search '(uid=user0008)' displayName | ldif_value displayName)" \
    "displayName of user0008"

# Anonymous may bind but read nothing.
anon=$(LDAPNOINIT=1 ldapsearch -x -H "$LDAP_URI" -LLL -b "$LDAP_PEOPLE" '(uid=user0001)' mail 2>&1 || true)
if grep -q '^mail:' <<<"$anon"; then
    ms_fail "anonymous read a mail attribute"
fi
ms_assert_eq 0 "$(count_dns <<<"$anon")" "entries visible to anonymous"

ms_ldapadd <<EOF || ms_fail "ms_ldapadd failed"
dn: uid=newbie,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: newbie
cn: New Bie
sn: Bie
mail: newbie@example.org
EOF
ms_assert_eq "newbie@example.org" "$(ms_ldapsearch '(uid=newbie)' mail | ldif_value mail)" \
    "mail of the added user"
if ms_ldapadd 2>/dev/null <<EOF; then
dn: uid=newbie,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: newbie
cn: New Bie
sn: Bie
EOF
    ms_fail "ms_ldapadd of a duplicate entry succeeded"
fi

old_pid=$SLAPD_PID
old_uri=$LDAP_URI
started=$(now_ms)
ms_slapd_restart
ms_log "slapd restarted (pid $SLAPD_PID) after $(($(now_ms) - started)) ms"
[[ "$SLAPD_PID" != "$old_pid" ]] || ms_fail "ms_slapd_restart kept the old pid"
ms_assert_eq "$old_uri" "$LDAP_URI" "LDAP_URI across restart"
ms_assert_eq 27 "$(ms_ldapsearch -b "$LDAP_PEOPLE" -s one dn | count_dns)" "users after restart"
ms_assert_eq "$uuid" "$(svc_search '(uid=zhangsan)' entryUUID | ldif_value entryUUID)" \
    "entryUUID of zhangsan after restart"

ms_ldapdelete "uid=newbie,$LDAP_PEOPLE" || ms_fail "ms_ldapdelete failed"
ms_assert_eq 26 "$(ms_ldapsearch -b "$LDAP_PEOPLE" -s one dn | count_dns)" "users after delete"

ms_slapd_stop
if LDAPNOINIT=1 ldapsearch -x -H "$LDAP_URI" -o nettimeout=2 -s base -b '' >/dev/null 2>&1; then
    ms_fail "slapd still answers after ms_slapd_stop"
fi
ms_slapd_restart

# The simulator belongs to another component; check the wiring when built.
if [[ -n "${TARGETSIM:-}" && -x "${TARGETSIM:-}" ]] && command -v jq >/dev/null; then
    ms_sim_start
    ms_log "simulator up on $SIM_URL (pid $SIM_PID)"
    ms_sim_state | jq -e . >/dev/null || ms_fail "simulator state is not JSON"
    ms_sim_reset || ms_fail "ms_sim_reset failed"
    ms_sim_fault '{"api":"rainbond","status":500,"count":1}' || ms_fail "ms_sim_fault failed"
    ms_sim_clear_faults || ms_fail "ms_sim_clear_faults failed"
else
    ms_log "TARGETSIM not built; simulator helpers not exercised"
fi

exit 0
