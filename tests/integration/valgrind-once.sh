#!/usr/bin/env bash
# membersyncd --once under valgrind memcheck against real slapd and the
# simulator: no invalid reads or writes, no uninitialised jumps, and no
# leaks (definite, indirect or possible) in a full cycle that adds,
# rejects, fails and retries members, and in one that updates and
# deprovisions.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

if [[ "${SANITIZERS:-no}" == yes ]]; then
    ms_skip "sanitizer build: valgrind cannot run AddressSanitizer binaries"
fi
VALGRIND=${VALGRIND:-$(command -v valgrind || true)}
[[ -n "$VALGRIND" ]] || ms_skip "valgrind not installed"
ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target)
, $(ms_rest_target)"

vg() {
    local log=$1
    shift
    MS_RC=0
    "$VALGRIND" --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-origins=yes \
        --num-callers=30 --log-file="$T/$log.vg" \
        "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" "$@" >"$T/$log.log" 2>&1 || MS_RC=$?
    if [[ "$MS_RC" == 99 ]] || ! grep -q "ERROR SUMMARY: 0 errors" "$T/$log.vg"; then
        cat "$T/$log.vg" >&2
        ms_fail "valgrind found errors in the $log run"
    fi
}

# First run: everything to both targets, through 5 transient failures
# (retried within the cycle) and a 429 with Retry-After.
ms_sim_fault '{"api":"rest","status":500,"count":5}'
ms_sim_fault '{"api":"rainbond","status":429,"count":1,"headers":{"Retry-After":"1"}}'
vg first
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq 203 "$(ms_sim_jq '.apis.rainbond.users | length')" "rainbond users"
ms_assert_eq 205 "$(ms_sim_jq '.apis.rest.members | length')" "rest members"
# Second run: a new user, and the REST API down for good: retries spent.
ms_ldapadd <<EOT
dn: uid=valgrind1,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: valgrind1
cn: Val Grind
sn: Grind
mail: valgrind1@example.org
EOT
ms_sim_fault '{"api":"rest","status":503,"count":-1}'
vg second
ms_assert_eq 1 "$MS_RC" "second run (REST down) exit status"
ms_sim_clear_faults
vg third
ms_assert_eq 0 "$MS_RC" "third run exit status"
ms_assert_eq 206 "$(ms_sim_jq '.apis.rest.members | length')" "rest members after recovery"
vg dry --dry-run
ms_assert_eq 0 "$MS_RC" "dry-run exit status"
# Fourth run: an update and a deprovision at Rainbond.
sed -i '0,/driver = "rainbond";/s//driver = "rainbond"; deprovision = "delete";/' "$T/membersync.conf"
ms_ldapmodify <<EOT
dn: uid=user0001,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: changed0001@example.org
EOT
ms_ldapdelete "uid=user0002,$LDAP_PEOPLE"
vg fourth
ms_assert_eq 0 "$MS_RC" "fourth run exit status"
ms_assert_eq 1 "$(ms_sim_jq '[.log[] | select(.method == "PUT")] | length')" "updates sent"
ms_assert_eq 1 "$(ms_sim_jq '[.log[] | select(.method == "DELETE")] | length')" "deletes sent"
# The REST target cannot update user0001's changed mail: not in step.
vg check --check
ms_assert_eq 1 "$MS_RC" "--check exit status with a change the REST target cannot take"
grep -q "^changes pending$" "$T/check.log" || ms_fail "--check verdict"
ms_log "valgrind clean: $(grep -h 'total heap usage' "$T"/first.vg)"
