#!/usr/bin/env bash
# Checks the Samba AD DC harness (lib-samba.sh) and pins the Active
# Directory behaviour membersync relies on, so that a broken harness or a
# Samba upgrade that changes it shows up here as one clear failure:
#   - the DC listens on its own 127.x.y.z address only and answers LDAPS
#     and StartTLS with a certificate that verifies with SAMBA_CA_FILE;
#   - the service account binds over LDAPS (plain simple binds are refused)
#     and reads objectGUID (16 bytes) and uSNChanged; the rootDSE has
#     highestCommittedUSN, the AD capability and the paged results control;
#   - disabled users have userAccountControl bit 0x2;
#   - a 1600 member group: Samba returns every value for a plain `member`
#     (no MaxValRange, unlike Windows) and honours explicit ranges:
#     member;range=0-1499 and member;range=1500-*;
#   - the in-chain matching rule (1.2.840.113556.1.4.1941) resolves
#     nested groups;
#   - a second DC, started at the same time by another test process, runs
#     alongside on another address, and its exit trap stops it for good;
#   - ms_samba_restart and ms_samba_stop.
# Run as `selftest-samba.sh --second` it is that other test process.
set -euo pipefail

srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcroot/tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib-samba.sh
. "$srcroot/tests/integration/lib-samba.sh"

# Milliseconds since the epoch.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# values ATTR: the values of attribute description ATTR (case-insensitive,
# options included, e.g. "member;range=0-1499") in LDIF on stdin, one a
# line; base64 values (attr:: ...) stay encoded.
values() {
    local want=${1,,} line name
    while IFS= read -r line; do
        name=${line%%:*}
        if [[ "${name,,}" != "$want" || "$line" == "#"* ]]; then
            continue
        fi
        if [[ "$line" == "$name:: "* ]]; then
            printf '%s\n' "${line#"$name":: }"
        else
            printf '%s\n' "${line#"$name": }"
        fi
    done
}

# Lines on stdin.
count() {
    local n=0 line
    while IFS= read -r line; do
        n=$((n + 1))
    done
    echo "$n"
}

# Attribute descriptions in LDIF on stdin, sorted and unique.
attr_names() {
    local line
    while IFS= read -r line; do
        if [[ -n "$line" && "$line" != "#"* && "$line" != " "* ]]; then
            printf '%s\n' "${line%%:*}"
        fi
    done | sort -u
}

# As the service account, over LDAPS.
svc_search() {
    ms_samba_ldap ldapsearch -x -H "$SAMBA_URI" -D "$SAMBA_SVC_DN" \
        -y "$SAMBA_SVC_PWFILE" -LLL -o ldif-wrap=no "$@"
}

# Anonymous rootDSE read; status of ldapsearch.
rootdse() {
    ms_samba_ldap ldapsearch -x -H "$SAMBA_URI" -o nettimeout=5 -LLL \
        -o ldif-wrap=no -s base -b '' '(objectClass=*)' "$@"
}

# listeners PID: "PROTO ADDR:PORT" for every listening TCP socket and every
# UDP socket of PID, from /proc (no dependency on ss/netstat).  IPv4
# addresses in /proc/net are the raw 32 bits printed in host order, which
# is little endian on every machine CI uses.
listeners() {
    local pid=$1 fd link f proto hex port addr
    local -a fields
    local -A mine=()
    for fd in /proc/"$pid"/fd/*; do
        link=$(readlink "$fd" 2>/dev/null) || continue
        if [[ "$link" =~ ^socket:\[([0-9]+)\]$ ]]; then
            mine[${BASH_REMATCH[1]}]=1
        fi
    done
    for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
        proto=${f##*/}
        while read -r -a fields; do
            if [[ "${fields[0]}" == sl || -z "${mine[${fields[9]}]:-}" ]]; then
                continue
            fi
            # TCP state 0A is LISTEN; the rest are connections.
            if [[ "$proto" == tcp* && "${fields[3]}" != 0A ]]; then
                continue
            fi
            hex=${fields[1]%:*}
            port=$((16#${fields[1]#*:}))
            if ((${#hex} == 8)); then
                addr="$((16#${hex:6:2})).$((16#${hex:4:2})).$((16#${hex:2:2})).$((16#${hex:0:2}))"
            else
                addr="[$hex]"
            fi
            printf '%s %s:%s\n' "$proto" "$addr" "$port"
        done <"$f"
    done | sort
}

# Status 0 when no process is left in process group PGID.
group_gone() {
    ! pgrep -g "$1" >/dev/null 2>&1
}

# ------------------------------------------------- the second instance
if [[ "${1:-}" == --second ]]; then
    ms_setup
    ms_samba_start --allow-plain-bind
    # With --allow-plain-bind, a simple bind over plain LDAP works.
    ms_samba_ldap ldapsearch -x -H "$SAMBA_LDAP_URI" -D "$SAMBA_ADMIN_DN" \
        -y "$SAMBA_ADMIN_PWFILE" -LLL -s base -b "$SAMBA_BASE" dn >/dev/null ||
        ms_fail "plain LDAP simple bind refused despite --allow-plain-bind"
    printf '%s %s %s\n' "$SAMBA_ADDR" "$SAMBA_PID" "$SAMBA_CA_FILE" >"$SELFTEST_INFO.tmp"
    mv -- "$SELFTEST_INFO.tmp" "$SELFTEST_INFO"
    # Stay up until the first instance has seen both DCs answer.
    ms_wait_until 300 test -e "$SELFTEST_DONE" ||
        ms_fail "no word from the first instance in 300 s"
    exit 0
fi

# ------------------------------------------------- the first instance
ms_setup
test_started=$(now_ms)
# Skip here, before starting the second instance, if the DC cannot run.
_ms_samba_check_prereqs
ms_require_cmd pgrep base64

# The second instance starts at the same time as ours, as a separate test
# process (its own trap, its $T inside ours), sharing the template cache.
SELFTEST_INFO="$T/second.info"
SELFTEST_DONE="$T/second.done"
export SELFTEST_INFO SELFTEST_DONE
cache_dir=${MS_SAMBA_CACHE_DIR:-${TMPDIR:-/tmp}/membersync-samba-cache.$EUID}
TMPDIR="$T" MS_SAMBA_CACHE_DIR="$cache_dir" \
    "$BASH" "$0" --second </dev/null >"$T/second.log" 2>&1 &
second_pid=$!
ms_register_pid "$second_pid"

started=$(now_ms)
ms_samba_start
ms_log "ms_samba_start took $(($(now_ms) - started)) ms"

# --- its own address, and nothing else
[[ "$SAMBA_ADDR" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ && "$SAMBA_ADDR" != 127.0.0.1 ]] ||
    ms_fail "SAMBA_ADDR '$SAMBA_ADDR' is not a private 127.x.y.z address"
ms_assert_eq "ldaps://$SAMBA_ADDR" "$SAMBA_URI" "SAMBA_URI"
ms_assert_eq "ldap://$SAMBA_ADDR" "$SAMBA_LDAP_URI" "SAMBA_LDAP_URI"
expected=$(printf 'tcp %s:%s\n' "$SAMBA_ADDR" 389 "$SAMBA_ADDR" 636 "$SAMBA_ADDR" 3268 \
    "$SAMBA_ADDR" 3269 | sort)
ms_assert_eq "$expected" "$(listeners "$SAMBA_PID")" "sockets samba listens on"
ms_assert_eq "$SAMBA_PID" "$(ps -o pgid= -p "$SAMBA_PID" | tr -d ' ')" \
    "samba leads its own process group"

for f in "$SAMBA_ADMIN_PWFILE" "$SAMBA_SVC_PWFILE"; do
    ms_assert_eq 600 "$(stat -c %a "$f")" "mode of $f"
    ms_assert_eq 0 "$(tr -dc '\n' <"$f" | wc -c)" "newlines in $f"
done

# --- TLS: verification on, with our CA only
dse=$(rootdse highestCommittedUSN supportedCapabilities supportedControl \
    defaultNamingContext dnsHostName) || ms_fail "anonymous rootDSE read over LDAPS failed"
openssl req -config /dev/null -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other-ca.key" -out "$T/other-ca.pem" -days 1 -subj "/CN=some other CA" \
    >/dev/null 2>&1 || ms_error "openssl failed"
rc=0
ms_samba_ldap env LDAPTLS_CACERT="$T/other-ca.pem" ldapsearch -x -H "$SAMBA_URI" \
    -o nettimeout=5 -LLL -s base -b '' dn >/dev/null 2>&1 || rc=$?
ms_assert_eq 255 "$rc" "LDAPS with a CA that did not sign the DC's certificate"
ms_samba_ldap ldapsearch -x -ZZ -H "$SAMBA_LDAP_URI" -D "$SAMBA_SVC_DN" -y "$SAMBA_SVC_PWFILE" \
    -LLL -s base -b "$SAMBA_SVC_DN" dn >/dev/null ||
    ms_fail "StartTLS + simple bind as the service account failed"
rc=0
ms_samba_ldap ldapsearch -x -H "$SAMBA_LDAP_URI" -D "$SAMBA_SVC_DN" -y "$SAMBA_SVC_PWFILE" \
    -LLL -s base -b "$SAMBA_SVC_DN" dn >/dev/null 2>&1 || rc=$?
ms_assert_eq 8 "$rc" "simple bind over plain LDAP (strongAuthRequired)"

# --- rootDSE
ms_assert_eq "$SAMBA_BASE" "$(values defaultNamingContext <<<"$dse")" "defaultNamingContext"
ms_assert_eq "$SAMBA_HOSTNAME" "$(values dnsHostName <<<"$dse")" "dnsHostName"
usn0=$(values highestCommittedUSN <<<"$dse")
[[ "$usn0" =~ ^[1-9][0-9]*$ ]] || ms_fail "highestCommittedUSN '$usn0'"
grep -qx '1.2.840.113556.1.4.800' < <(values supportedCapabilities <<<"$dse") ||
    ms_fail "supportedCapabilities lacks 1.2.840.113556.1.4.800 (Active Directory)"
grep -qx '1.2.840.113556.1.4.319' < <(values supportedControl <<<"$dse") ||
    ms_fail "supportedControl lacks 1.2.840.113556.1.4.319 (paged results)"

# --- users, read by the service account
ms_samba_user_create alice --given-name=Alice --surname=Liddell --mail-address=alice@msync.test
ms_samba_user_create bob --given-name=Bob --surname=Builder --mail-address=bob@msync.test
ms_samba_user_create carol --mail-address=carol@msync.test
ms_samba_user_create dave
out=$(svc_search -b "$SAMBA_PEOPLE" '(sAMAccountName=alice)' objectGUID uSNChanged mail \
    displayName userAccountControl) || ms_fail "service account search failed"
ms_assert_eq "CN=alice,$SAMBA_PEOPLE" "$(values dn <<<"$out")" "alice's DN"
ms_assert_eq alice@msync.test "$(values mail <<<"$out")" "alice's mail"
ms_assert_eq "Alice Liddell" "$(values displayName <<<"$out")" "alice's displayName"
ms_assert_eq 16 "$(values objectGUID <<<"$out" | base64 -d | wc -c)" "bytes in objectGUID"
usn1=$(values uSNChanged <<<"$out")
if ! [[ "$usn1" =~ ^[1-9][0-9]*$ ]] || ((usn1 <= usn0)); then
    ms_fail "alice's uSNChanged '$usn1' is not above the USN before she existed ($usn0)"
fi
ms_samba_ldap ldapsearch -x -H "$SAMBA_URI" -D "CN=alice,$SAMBA_PEOPLE" \
    -y "$SAMBA_PW_DIR/alice.pw" -LLL -s base -b "CN=alice,$SAMBA_PEOPLE" dn >/dev/null ||
    ms_fail "alice cannot bind with $SAMBA_PW_DIR/alice.pw"

# uSNChanged moves on a change, and highestCommittedUSN with it.
ms_samba_ldapmodify <<EOF
dn: CN=alice,$SAMBA_PEOPLE
changetype: modify
replace: description
description: changed by selftest-samba
EOF
usn2=$(svc_search -b "CN=alice,$SAMBA_PEOPLE" -s base uSNChanged | values uSNChanged) ||
    ms_fail "cannot read alice's uSNChanged"
((usn2 > usn1)) || ms_fail "uSNChanged did not grow on a change ($usn1 -> $usn2)"
usn3=$(rootdse highestCommittedUSN | values highestCommittedUSN) ||
    ms_fail "cannot read highestCommittedUSN"
((usn3 >= usn2)) || ms_fail "highestCommittedUSN $usn3 is below uSNChanged $usn2"

# --- disabled accounts
ms_samba_user_disable bob
uac() {
    svc_search -b "CN=$1,$SAMBA_PEOPLE" -s base userAccountControl | values userAccountControl
}
uac_bob=$(uac bob) || ms_fail "cannot read bob's userAccountControl"
uac_alice=$(uac alice) || ms_fail "cannot read alice's userAccountControl"
if ! ((uac_bob & 2)); then
    ms_fail "disabled bob has userAccountControl $uac_bob"
fi
if ((uac_alice & 2)); then
    ms_fail "enabled alice has userAccountControl $uac_alice"
fi
disabled=$(svc_search -b "$SAMBA_PEOPLE" \
    '(userAccountControl:1.2.840.113556.1.4.803:=2)' 1.1 | values dn | sort) ||
    ms_fail "bitwise-AND search failed"
ms_assert_eq "CN=bob,$SAMBA_PEOPLE" "$disabled" "users the bitwise-AND rule finds disabled"

# --- nested groups: staff = {alice, eng}, eng = {carol}
ms_samba_group_create staff
ms_samba_group_create eng
ms_samba_group_add eng carol
ms_samba_group_add staff alice eng
staff="CN=staff,$SAMBA_GROUPS"
direct=$(svc_search -b "$SAMBA_PEOPLE" "(memberOf=$staff)" 1.1 | values dn | sort) ||
    ms_fail "memberOf search failed"
ms_assert_eq "CN=alice,$SAMBA_PEOPLE" "$direct" "direct members of staff"
chain=$(svc_search -b "$SAMBA_PEOPLE" "(memberOf:1.2.840.113556.1.4.1941:=$staff)" 1.1 |
    values dn | sort) || ms_fail "in-chain search failed"
ms_assert_eq "$(printf 'CN=%s,%s\n' alice "$SAMBA_PEOPLE" carol "$SAMBA_PEOPLE")" "$chain" \
    "members of staff through the in-chain rule"

# --- a group past AD's MaxValRange (1500)
started=$(now_ms)
ms_samba_bulk_users bk 1600 big
ms_log "1600 users and their group took $(($(now_ms) - started)) ms"
expected=$(for ((i = 1; i <= 1600; i++)); do printf 'CN=bk%05d,%s\n' "$i" "$SAMBA_PEOPLE"; done | sort)
big="CN=big,$SAMBA_GROUPS"
out=$(svc_search -b "$big" -s base '(objectClass=*)' member) || ms_fail "cannot read $big"
ms_assert_eq member "$(attr_names <<<"$out" | grep -v '^dn$')" \
    "attributes for a plain 'member' request (Samba has no MaxValRange: all values, no range)"
ms_assert_eq 1600 "$(values member <<<"$out" | count)" "values of a plain 'member'"
low=$(svc_search -b "$big" -s base '(objectClass=*)' 'member;range=0-1499') ||
    ms_fail "cannot read member;range=0-1499 of $big"
ms_assert_eq 'member;range=0-1499' "$(attr_names <<<"$low" | grep -v '^dn$')" \
    "attribute returned for member;range=0-1499"
ms_assert_eq 1500 "$(values 'member;range=0-1499' <<<"$low" | count)" "values in range 0-1499"
high=$(svc_search -b "$big" -s base '(objectClass=*)' 'member;range=1500-*') ||
    ms_fail "cannot read member;range=1500-* of $big"
ms_assert_eq 'member;range=1500-*' "$(attr_names <<<"$high" | grep -v '^dn$')" \
    "attribute returned for member;range=1500-*"
ms_assert_eq 100 "$(values 'member;range=1500-*' <<<"$high" | count)" "values in range 1500-*"
ms_assert_eq "$expected" "$({ values 'member;range=0-1499' <<<"$low"
    values 'member;range=1500-*' <<<"$high"; } | sort -u)" "members over both ranges"

paged=$(svc_search -E pr=500/noprompt -b "$SAMBA_PEOPLE" '(sAMAccountName=bk*)' 1.1 |
    values dn | sort) || ms_fail "paged search failed"
ms_assert_eq "$expected" "$paged" "bulk users in a paged search (500 a page)"
unpaged=$(svc_search -b "$SAMBA_PEOPLE" '(sAMAccountName=bk*)' 1.1 | values dn | count) ||
    ms_fail "unpaged search failed"
ms_assert_eq 1600 "$unpaged" "entries of an unpaged search (Samba has no MaxPageSize limit)"
out=$(svc_search -b "CN=bk00042,$SAMBA_PEOPLE" -s base mail userPrincipalName \
    userAccountControl memberOf) || ms_fail "cannot read CN=bk00042,$SAMBA_PEOPLE"
ms_assert_eq bk00042@msync.test "$(values mail <<<"$out")" "a bulk user's mail"
ms_assert_eq bk00042@msync.test "$(values userPrincipalName <<<"$out")" "a bulk user's UPN"
ms_assert_eq 544 "$(values userAccountControl <<<"$out")" "a bulk user's userAccountControl"
ms_assert_eq "$big" "$(values memberOf <<<"$out")" "a bulk user's memberOf"

# --- the second instance, up at the same time as ours
ms_wait_until 300 test -s "$SELFTEST_INFO" || ms_fail "the second instance did not come up"
read -r addr2 pid2 ca2 <"$SELFTEST_INFO"
[[ "$addr2" != "$SAMBA_ADDR" ]] || ms_fail "both instances got address $addr2"
[[ "$pid2" != "$SAMBA_PID" ]] || ms_fail "both instances report pid $pid2"
ms_samba_ldap env LDAPTLS_CACERT="$ca2" ldapsearch -x -H "ldaps://$addr2" -o nettimeout=5 \
    -LLL -s base -b '' dn >/dev/null || ms_fail "the second DC does not answer on ldaps://$addr2"
rc=0
ms_samba_ldap ldapsearch -x -H "ldaps://$addr2" -o nettimeout=5 -LLL -s base -b '' dn \
    >/dev/null 2>&1 || rc=$?
ms_assert_eq 255 "$rc" "LDAPS to the second DC with the first DC's CA"
rootdse dn >/dev/null || ms_fail "our DC stopped answering while the second one ran"
touch "$SELFTEST_DONE"
pid_gone() {
    ! kill -0 "$1" 2>/dev/null
}
ms_wait_until 30 pid_gone "$second_pid" ||
    ms_fail "the second instance did not exit"
rc=0
wait "$second_pid" || rc=$?
_ms_samba_forget_pid "$second_pid"
ms_assert_eq 0 "$rc" "exit status of the second instance (see second.log)"
ms_wait_until 10 group_gone "$pid2" || ms_fail "the second DC's processes outlived its test"
rootdse dn >/dev/null || ms_fail "our DC stopped answering when the second one stopped"

# --- restart: same address, same data
pid1=$SAMBA_PID
started=$(now_ms)
ms_samba_restart
ms_log "ms_samba_restart took $(($(now_ms) - started)) ms"
[[ "$SAMBA_PID" != "$pid1" ]] || ms_fail "restart kept pid $pid1"
group_gone "$pid1" || ms_fail "processes of the stopped DC are still running"
ms_assert_eq "CN=alice,$SAMBA_PEOPLE" \
    "$(svc_search -b "$SAMBA_PEOPLE" '(sAMAccountName=alice)' 1.1 | values dn)" \
    "alice after a restart"

# --- stop
pid1=$SAMBA_PID
ms_samba_stop
ms_assert_eq "" "$SAMBA_PID" "SAMBA_PID after ms_samba_stop"
group_gone "$pid1" || ms_fail "processes of the stopped DC are still running"
rc=0
rootdse dn >/dev/null 2>&1 || rc=$?
ms_assert_eq 255 "$rc" "LDAPS after ms_samba_stop"

ms_log "selftest-samba took $(($(now_ms) - test_started)) ms"
