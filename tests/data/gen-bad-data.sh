#!/usr/bin/env bash
# gen-bad-data.sh [-n N] [-x] [-o FILE]
#
# Writes a deterministic "bad data" LDIF corpus (issue 9) to stdout, or to
# FILE with -o: N good users (default 200) and, among them, entries that
# are hard for a reader of the directory: bytes that are not UTF-8, NUL
# bytes, megabyte values, attributes with 10,000 values, entries without
# an id, with two ids or sharing one, without a member key, with an empty
# DN in a DN-valued attribute, and values made of spaces.  Loadable with
# `slapadd -q` (which is what tests/integration/lib.sh's ms_slapd_start
# does; slapd refuses some of these over LDAP) into an OpenLDAP with the
# core, cosine, inetorgperson and nis schemas, suffix dc=example,dc=org.
# With -x it also writes, at the end, records that no directory holds
# (slapadd refuses them): a DN that is empty ("dn:"), one with a NUL byte,
# one that is not a DN, and cn or displayName values that are not UTF-8.  That file is for `membersync map --ldif`.
#
# The corpus is meant for a configuration with id_attribute =
# "employeeNumber" (so that ids can be missing or shared) and a member key
# of ${uid}.  Every entry is an inetOrgPerson under ou=people, so every one
# reaches the daemon; good users are uid=goodNNNN (NNNN = 0001..N, zero
# padded), employeeNumber NNNN without padding, mail goodNNNN@example.org,
# mobile 138 + NNNN as 8 digits.  Bad entries have uid=bad-* (or no uid)
# and employeeNumber 9000 and up, except where the id is the problem.
#
# Each entry below is listed with the comment that the LDIF carries for it
# ("# BAD <name>: <what>" or "# GOOD <name>: <what>"), so a test can find
# the list with grep.  Entries marked GOOD are unusual but valid and must
# be synced; entries marked BAD must be skipped with a reason.  Which of
# them are bad for which target depends on the mapping: the comments say
# what is special, the test decides what it expects.

set -euo pipefail

usage() {
    echo "usage: ${0##*/} [-n N] [-x] [-o FILE]" >&2
    exit 2
}

n=200
extra=
out=
while getopts 'n:xo:h' opt; do
    case "$opt" in
        n) n="$OPTARG" ;;
        x) extra=1 ;;
        o) out="$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
if ! [[ "$n" =~ ^[0-9]+$ ]] || ((10#$n < 1 || 10#$n > 8999)); then
    echo "${0##*/}: -n must be between 1 and 8999" >&2
    exit 2
fi
n=$((10#$n))
if [[ -n "$out" ]]; then
    exec >"$out"
fi

base='dc=example,dc=org'
people="ou=people,$base"

# b64 STRING-WITH-ESCAPES: printf %b interprets \xHH and \0NNN, so bytes
# that cannot sit in a shell variable (NUL) still reach base64.
b64() {
    printf '%b' "$1" | base64 -w0
}

# person DN UID CN MAIL ID [EXTRA-LINES]: an inetOrgPerson; an empty
# UID, MAIL or ID leaves the attribute out.
person() {
    printf '\ndn: %s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n' "$1"
    printf 'objectClass: inetOrgPerson\n'
    [[ -z "$2" ]] || printf 'uid: %s\n' "$2"
    printf 'cn: %s\nsn: %s\n' "$3" "${3##* }"
    [[ -z "$4" ]] || printf 'mail: %s\n' "$4"
    [[ -z "$5" ]] || printf 'employeeNumber: %s\n' "$5"
    [[ -z "${6:-}" ]] || printf '%s\n' "$6"
}

# A 1 MiB value: 1,048,576 letters, on one line (slapadd and libldap take
# lines of any length).
MEG=$(head -c 1048576 /dev/zero | tr '\0' 'x')

# ---------------------------------------------------------------- suffix
printf 'dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n' "$base"
printf 'dc: example\no: example\n'
for ou in people groups services; do
    printf '\ndn: ou=%s,%s\nobjectClass: top\nobjectClass: organizationalUnit\nou: %s\n' "$ou" "$base" "$ou"
done

# ------------------------------------------------------------ good users
# Every 50th good user is written after a bad one (below), so that bad
# entries sit between good ones in every page of a paged read.
good() {
    local num
    num=$(printf '%04d' "$1")
    person "uid=good$num,$people" "good$num" "Good User$num" "good$num@example.org" "$1" \
        "displayName: Good User$num
mobile: $(printf '138%08d' "$1")"
}

bad=()
# BAD lines: name|comment|LDIF record.  Kept in an array so that good
# users can be interleaved with them.
add_bad() {
    bad+=("$1")
}

# --- bytes that are not UTF-8.  slapd refuses them in directoryString
# attributes (cn, displayName), even through slapadd, and in
# employeeNumber; those records are in the -x part below.  It does take
# them through slapadd in IA5String (mail) and in octet-string syntaxes
# (audio here, as a map that reads a binary attribute would).
add_bad "$(printf '# BAD utf8-mail: mail has a Latin-1 e-acute byte (\\xe9), not UTF-8'
    person "uid=bad-utf8-mail,$people" bad-utf8-mail "Bad Utf8mail" '' 9002 \
        "mail:: $(b64 'caf\xe9@example.org')")"
add_bad "$(printf '# BAD utf8-audio: audio (octet string, mapped by some targets) is \\xff\\xfe, not UTF-8'
    person "uid=bad-utf8-audio,$people" bad-utf8-audio "Bad Utf8audio" bad-utf8-audio@example.org 9003 \
        "audio:: $(b64 'Bad \xff\xfe')")"
# --- NUL bytes
add_bad "$(printf '# BAD nul-displayname: displayName has a NUL byte inside ("Bob\\0Evil")'
    person "uid=bad-nul-displayname,$people" bad-nul-displayname "Bad Nul" \
        bad-nul-displayname@example.org 9005 "displayName:: $(b64 'Bob\0Evil')")"
add_bad "$(printf '# BAD nul-uid: the member key (uid) has a NUL byte inside ("bad-nul\\0uid")'
    person "cn=Bad Nuluid,$people" '' "Bad Nuluid" bad-nul-uid@example.org 9006 \
        "uid:: $(b64 'bad-nul\0uid')")"
# --- 1 MiB values
add_bad "$(printf '# BAD big-displayname: displayName is 1 MiB long (mapped)'
    person "uid=bad-big-displayname,$people" bad-big-displayname "Bad Bigdisplayname" \
        bad-big-displayname@example.org 9007 "displayName: $MEG")"
add_bad "$(printf '# GOOD big-unmapped: description (requested, not mapped) is 1 MiB long'
    person "uid=big-unmapped,$people" big-unmapped "Big Unmapped" big-unmapped@example.org 9008 \
        "description: $MEG")"
# --- 10,000 values
many_mail=$(for ((i = 1; i <= 10000; i++)); do printf 'mail: many%05d@example.org\n' "$i"; done)
many_desc=$(for ((i = 1; i <= 10000; i++)); do printf 'description: value %05d\n' "$i"; done)
add_bad "$(printf '# GOOD many-mail: mail has 10,000 values (maps read the first)'
    person "uid=bad-many-mail,$people" bad-many-mail "Bad Manymail" '' 9009 "$many_mail")"
add_bad "$(printf '# GOOD many-unmapped: description (requested, not mapped) has 10,000 values'
    person "uid=many-unmapped,$people" many-unmapped "Many Unmapped" many-unmapped@example.org 9010 \
        "$many_desc")"
# --- ids (id_attribute = employeeNumber)
add_bad "$(printf '# BAD no-id: no employeeNumber at all'
    person "uid=bad-no-id,$people" bad-no-id "Bad Noid" bad-no-id@example.org '')"
# (Two values of the id cannot happen here: employeeNumber is SINGLE-VALUE
# in inetorgperson.schema, and slapadd refuses a second one.)
add_bad "$(printf '# GOOD dup-first: employeeNumber 9020, the first of two entries sharing it'
    person "uid=dup-first,$people" dup-first "Dup First" dup-first@example.org 9020)"
add_bad "$(printf '# BAD dup-second: employeeNumber 9020, the same as dup-first (read after it)'
    person "uid=bad-dup-second,$people" bad-dup-second "Bad Dupsecond" bad-dup-second@example.org 9020)"
# --- member key (uid) missing, empty or blank
add_bad "$(printf '# BAD no-key: no uid, so no member key'
    person "cn=Bad Nokey,$people" '' "Bad Nokey" bad-no-key@example.org 9030)"
add_bad "$(printf '# BAD blank-key: uid is three spaces (base64 in LDIF)'
    person "cn=Bad Blankkey,$people" '' "Bad Blankkey" bad-blank-key@example.org 9031 \
        "uid:: $(b64 '   ')")"
# --- spaces-only value in a mapped attribute other than the key
add_bad "$(printf '# BAD blank-mail: mail is three spaces'
    person "uid=bad-blank-mail,$people" bad-blank-mail "Bad Blankmail" '' 9032 \
        "mail:: $(b64 '   ')")"
# --- an empty DN in a DN-valued attribute
add_bad "$(printf '# GOOD empty-manager: manager is the empty DN (a map reading it through rdn gets no value)'
    person "uid=bad-empty-manager,$people" bad-empty-manager "Bad Emptymanager" \
        bad-empty-manager@example.org 9040 "manager:")"

# Interleave: good users in runs of n/len(bad), a bad entry after each run.
nbad=${#bad[@]}
step=$(((n + nbad - 1) / nbad))
b=0
for ((i = 1; i <= n; i++)); do
    good "$i"
    if ((i % step == 0 && b < nbad)); then
        printf '\n%s\n' "${bad[b]}"
        b=$((b + 1))
    fi
done
for (( ; b < nbad; b++)); do
    printf '\n%s\n' "${bad[b]}"
done

# Records no directory holds (slapadd and slapd refuse them), for readers
# of LDIF files: membersync map --ldif.
if [[ -n "$extra" ]]; then
    printf '\n# BAD empty-dn: the DN is empty\n'
    printf 'dn:\nobjectClass: inetOrgPerson\nuid: bad-empty-dn\ncn: Bad Emptydn\nsn: Emptydn\n'
    printf 'mail: bad-empty-dn@example.org\nemployeeNumber: 9050\n'
    printf '\n# BAD nul-dn: the DN has a NUL byte ("uid=bad\\0nul-dn,...")\n'
    printf 'dn:: %s\n' "$(b64 "uid=bad\\0nul-dn,$people")"
    printf 'objectClass: inetOrgPerson\nuid: bad-nul-dn\ncn: Bad Nuldn\nsn: Nuldn\nemployeeNumber: 9054\n'
    printf '\n# BAD not-a-dn: the DN is "not a DN" (no attribute type)\n'
    printf 'dn: not a DN\nobjectClass: inetOrgPerson\nuid: bad-not-a-dn\ncn: Bad Notadn\nsn: Notadn\n'
    printf 'employeeNumber: 9055\n'
    printf '\n# BAD utf8-cn: cn is the bytes "Bad \\xff\\xfe User", not UTF-8\n'
    person "uid=bad-utf8-cn,$people" bad-utf8-cn "Bad Utf8cn" bad-utf8-cn@example.org 9051 \
        "cn:: $(b64 'Bad \xff\xfe User')" | grep -v -e '^$' -e '^cn: '
    printf '\n# BAD utf8-displayname: displayName ends in a truncated UTF-8 sequence (\\xe4\\xb8)\n'
    person "uid=bad-utf8-displayname,$people" bad-utf8-displayname "Bad Utf8displayname" \
        bad-utf8-displayname@example.org 9052 "displayName:: $(b64 'Zhang \xe4\xb8')" | grep -v '^$'
    printf '\n# BAD utf8-overlong: displayName holds an overlong encoding of "/" (\\xc0\\xaf)\n'
    person "uid=bad-utf8-overlong,$people" bad-utf8-overlong "Bad Overlong" \
        bad-utf8-overlong@example.org 9053 "displayName:: $(b64 '..\xc0\xaf..')" | grep -v '^$'
fi
