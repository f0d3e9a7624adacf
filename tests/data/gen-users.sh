#!/usr/bin/env bash
# gen-users.sh [-n N] [-b BASE_DN]
#
# Writes a deterministic LDIF sample directory to stdout (and nothing else),
# loadable with slapadd or ldapadd into an OpenLDAP using the core, cosine,
# inetorgperson and nis schemas.  Defaults: N=200, BASE_DN=dc=example,dc=org.
#
# Entries, in this order:
#   BASE_DN                  dcObject+organization (organization / OU if the
#                            first RDN is o= / ou=; its value is copied
#                            as is, so it must not need DN escaping)
#   ou=people, ou=groups, ou=services under BASE_DN
#   N regular users          uid=userNNNN,ou=people,BASE_DN for NNNN=1..N,
#                            zero-padded to 4 digits (to the width of N when
#                            N >= 10000).  mail=userNNNN@example.org,
#                            employeeNumber=NNNN without padding,
#                            telephoneNumber = mobile = 138 + NNNN as 8 digits.
#                            Names cycle through 24 given/family pairs in
#                            ASCII, accented Latin, CJK, Cyrillic, Greek and
#                            Arabic (interleaved, so any 6 consecutive users
#                            cover every script); cn = displayName =
#                            "Given Family", CJK "FamilyGiven".
#   6 special users          (ou=people; telephoneNumber = mobile =
#                            1390000000K, K=1..6, never a regular number;
#                            no employeeNumber)
#     1. uid=nomail          no mail attribute at all (cn "No Mail")
#     2. uid=multimail       mail multimail1@example.org and
#                            multimail2@example.org
#     3. cn=Smith\, John     uid=jsmith, mail jsmith@example.org (the DN
#                            contains an escaped comma)
#     4. uid=j.doe           mail j.doe@example.org (not a valid nick_name)
#     5. uid=zhangsan        cn/displayName 张三, sn 张, givenName 三
#     6. uid=averyveryverylongusername01 (27 chars), mail long@example.org
# So ou=people holds N + 6 users.
#
# Values that are not RFC 2849 SAFE-STRINGs (non-ASCII, or a leading space,
# colon or '<', or a trailing space) are written base64-encoded ("attr::").
# Generation is a single awk pass so that N=1000000 takes seconds.

set -euo pipefail

usage() {
    echo "usage: ${0##*/} [-n N] [-b BASE_DN]" >&2
    exit 2
}

n=200
base='dc=example,dc=org'
while getopts 'n:b:h' opt; do
    case "$opt" in
        n) n="$OPTARG" ;;
        b) base="$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage

# 8 digits of phone number per user; more would collide or overflow.
if ! [[ "$n" =~ ^[0-9]+$ ]] || ((${#n} > 8)); then
    echo "${0##*/}: -n must be an integer between 0 and 99999999" >&2
    exit 2
fi
n=$((10#$n))
if [[ -z "$base" || "$base" != *=* ]]; then
    echo "${0##*/}: -b must be a DN" >&2
    exit 2
fi

# LC_ALL=C makes awk work on bytes, which the base64 encoder relies on.
# BASE goes through the environment because awk -v would eat backslashes.
BASE="$base" LC_ALL=C exec awk -v n="$n" '
function init_b64(   i) {
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for (i = 1; i < 256; i++)
        ORD[sprintf("%c", i)] = i
    HIGH = "[" sprintf("%c", 128) "-" sprintf("%c", 255) "]"
}

function b64(s,   out, i, len, c1, c2, c3, t) {
    len = length(s)
    out = ""
    for (i = 1; i <= len; i += 3) {
        c1 = ORD[substr(s, i, 1)]
        c2 = (i + 1 <= len) ? ORD[substr(s, i + 1, 1)] : 0
        c3 = (i + 2 <= len) ? ORD[substr(s, i + 2, 1)] : 0
        t = c1 * 65536 + c2 * 256 + c3
        out = out substr(B64, int(t / 262144) + 1, 1) \
                  substr(B64, int(t / 4096) % 64 + 1, 1)
        out = out ((i + 1 <= len) ? substr(B64, int(t / 64) % 64 + 1, 1) : "=")
        out = out ((i + 2 <= len) ? substr(B64, t % 64 + 1, 1) : "=")
    }
    return out
}

function is_safe(s) {
    if (s ~ HIGH || s ~ /[\n\r]/)
        return 0
    if (s ~ /^[ :<]/ || s ~ / $/)
        return 0
    return 1
}

# One "attr: value" or "attr:: base64" line; memoised because the name
# values repeat every 24 users.
function line(attr, val,   key) {
    key = attr SUBSEP val
    if (!(key in LINE))
        LINE[key] = is_safe(val) ? attr ": " val : attr ":: " b64(val)
    return LINE[key]
}

# Records are separated, not terminated, by blank lines.
function entry_head(dn) {
    if (NRECORDS++ > 0)
        print ""
    print line("dn", dn)
}

function person(dn, uid, given, family, cn, mail1, mail2, phone) {
    entry_head(dn)
    print "objectClass: top"
    print "objectClass: person"
    print "objectClass: organizationalPerson"
    print "objectClass: inetOrgPerson"
    print line("uid", uid)
    print line("cn", cn)
    print line("sn", family)
    print line("givenName", given)
    print line("displayName", cn)
    if (mail1 != "") print line("mail", mail1)
    if (mail2 != "") print line("mail", mail2)
    print "telephoneNumber: " phone
    print "mobile: " phone
}

function add_name(given, family, cjk) {
    GIVEN[NNAMES] = given
    FAMILY[NNAMES] = family
    CN[NNAMES] = cjk ? family given : given " " family
    NNAMES++
}

BEGIN {
    base = ENVIRON["BASE"]
    init_b64()

    # Interleaved by script: ASCII, accented Latin, CJK, Cyrillic, Greek,
    # Arabic, then the next pair of each.
    NNAMES = 0
    add_name("James", "Walker", 0)
    add_name("José", "García", 0)
    add_name("伟", "张", 1)
    add_name("Иван", "Петров", 0)
    add_name("Γιώργος", "Παπαδόπουλος", 0)
    add_name("محمد", "العلي", 0)
    add_name("Mary", "Johnson", 0)
    add_name("Zoë", "Müller", 0)
    add_name("芳", "王", 1)
    add_name("Ольга", "Смирнова", 0)
    add_name("Μαρία", "Οικονόμου", 0)
    add_name("فاطمة", "حسن", 0)
    add_name("Robert", "Brown", 0)
    add_name("François", "Ångström", 0)
    add_name("娜", "李", 1)
    add_name("Дмитрий", "Кузнецов", 0)
    add_name("Νίκος", "Γεωργίου", 0)
    add_name("أحمد", "إبراهيم", 0)
    add_name("Linda", "Taylor", 0)
    add_name("Søren", "Dvořák", 0)
    add_name("洋", "刘", 1)
    add_name("Анна", "Попова", 0)
    add_name("Ελένη", "Δημητρίου", 0)
    add_name("ليلى", "منصور", 0)

    # The first RDN decides which object classes the suffix entry needs.
    rdn = base
    sub(/,.*/, "", rdn)
    rattr = tolower(rdn)
    sub(/[ ]*=.*/, "", rattr)
    rval = rdn
    sub(/^[^=]*=[ ]*/, "", rval)
    sub(/^[ ]+/, "", rattr)
    if (rattr != "dc" && rattr != "o" && rattr != "ou") {
        print "gen-users.sh: unsupported base RDN: " rdn > "/dev/stderr"
        exit 2
    }

    # No "version: 1" line: slapadd rejects it (RFC 2849 makes it optional).
    entry_head(base)
    print "objectClass: top"
    if (rattr == "dc") {
        print "objectClass: dcObject"
        print "objectClass: organization"
        print line("dc", rval)
        print line("o", rval)
    } else if (rattr == "o") {
        print "objectClass: organization"
        print line("o", rval)
    } else {
        print "objectClass: organizationalUnit"
        print line("ou", rval)
    }

    split("people groups services", ous, " ")
    for (i = 1; i <= 3; i++) {
        entry_head("ou=" ous[i] "," base)
        print "objectClass: top"
        print "objectClass: organizationalUnit"
        print "ou: " ous[i]
    }

    people = "ou=people," base
    # uid is ASCII, so only the suffix decides whether user DNs need base64.
    people_safe = is_safe("x," people)
    width = (n >= 10000) ? length(n "") : 4
    fmt = "%0" width "d"
    for (i = 1; i <= n; i++) {
        num = sprintf(fmt, i)
        k = (i - 1) % NNAMES
        uid = "user" num
        dn = "uid=" uid "," people
        dn = people_safe ? "dn: " dn : "dn:: " b64(dn)
        # Inline rather than person() because this loop runs up to 1e6 times.
        printf "\n%s\nobjectClass: top\nobjectClass: person\n" \
               "objectClass: organizationalPerson\nobjectClass: inetOrgPerson\n" \
               "uid: %s\n%s\n%s\n%s\n%s\nmail: %s@example.org\n" \
               "employeeNumber: %d\ntelephoneNumber: 138%08d\nmobile: 138%08d\n",
               dn, uid,
               line("cn", CN[k]), line("sn", FAMILY[k]),
               line("givenName", GIVEN[k]), line("displayName", CN[k]),
               uid, i, i, i
    }

    person("uid=nomail," people, "nomail", "No", "Mail", "No Mail",
           "", "", "13900000001")
    person("uid=multimail," people, "multimail", "Multi", "Mail", "Multi Mail",
           "multimail1@example.org", "multimail2@example.org", "13900000002")
    person("cn=Smith\\, John," people, "jsmith", "John", "Smith", "Smith, John",
           "jsmith@example.org", "", "13900000003")
    person("uid=j.doe," people, "j.doe", "Jane", "Doe", "Jane Doe",
           "j.doe@example.org", "", "13900000004")
    person("uid=zhangsan," people, "zhangsan", "三", "张", "张三",
           "zhangsan@example.org", "", "13900000005")
    person("uid=averyveryverylongusername01," people,
           "averyveryverylongusername01", "Avery", "Long", "Avery Long",
           "long@example.org", "", "13900000006")
}
'
