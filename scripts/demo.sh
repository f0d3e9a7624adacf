#!/usr/bin/env bash
# The main job in one command: builds membersync, starts a throwaway slapd
# with 206 sample users and the target simulator (Rainbond API) on
# loopback, runs `membersyncd --once`, shows what the API received and
# what was skipped and why, runs again to show nothing is pushed twice,
# changes one user's mail to show it sent as one update, and ends with
# `membersync status`. Everything runs in a temp folder and is removed at
# the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$root/build}

"$root/scripts/install-deps.sh"
echo "== building membersync in $builddir"
BUILDDIR=$builddir "$root/scripts/build.sh"
make -C "$builddir" -s --no-print-directory tests/targetsim/targetsim

export top_srcdir=$root MEMBERSYNCD=$builddir/membersyncd MEMBERSYNC=$builddir/membersync \
    TARGETSIM=$builddir/tests/targetsim/targetsim
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/daemon.sh"

ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target)"
users=$(ms_ldapsearch -b "$LDAP_PEOPLE" '(objectClass=inetOrgPerson)' dn | grep -c '^dn:')

cat <<EOT

== directory: $users users under $LDAP_PEOPLE on $LDAP_URI (throwaway slapd)
== target:    Rainbond console API simulator at $SIM_URL
== config:    $T/membersync.conf, mapping:
EOT
sed -n '/map = {/,/};/p' "$T/membersync.conf"

echo
echo "== run 1: membersyncd --once --config $T/membersync.conf"
ms_once run1
grep -vE 'info: rainbond: added ' "$T/run1.log" | sed 's/^/   /'
echo "   ($(grep -c 'info: rainbond: added ' "$T/run1.log") 'added' lines not shown)"
echo "   exit status $MS_RC"

echo
echo "== what the Rainbond API received ($(ms_sim_jq '.apis.rainbond.users | length') users; first 8 and the special ones):"
ms_sim_jq -r '.apis.rainbond.users[] | [.user_id, .nick_name, .email, .phone] | @tsv' |
    awk -F'\t' 'NR <= 8 || $2 !~ /^user[0-9]+$/ { printf "   %4s  %-12s %-26s %s\n", $1, $2, $3, $4 }'

echo
echo "== state database ($T/state/state.db):"
ms_state_sql "SELECT status, count(*) FROM members GROUP BY status" | sed 's/^/   /; s/|/: /'

echo
posts=$(ms_posts)
echo "== run 2: nothing changed in the directory"
ms_once run2
grep 'cycle 1 finished' "$T/run2.log" | sed 's/^/   /'
echo "   requests sent: $(($(ms_posts) - posts)) (exit status $MS_RC)"

echo
echo "== run 3: user0001's mail changed in the directory"
ms_ldapmodify <<EOT >/dev/null
dn: uid=user0001,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: renamed0001@example.org
EOT
ms_once run3
grep -E 'updated user0001|cycle 1 finished' "$T/run3.log" | sed 's/^/   /'
echo "   Rainbond now has: $(ms_sim_jq -r '.apis.rainbond.users[] | select(.nick_name == "user0001") | .email')"

echo
echo "== membersync status"
"$MEMBERSYNC" -c "$T/membersync.conf" status | sed 's/^/   /'
echo
echo "Done. See README.md for running membersyncd as a service."
