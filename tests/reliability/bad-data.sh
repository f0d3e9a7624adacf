#!/usr/bin/env bash
# The bad-data corpus (issue 9), end to end: real slapd loaded (slapadd, as
# slapd refuses some of it over LDAP) with tests/data/gen-bad-data.sh's 200
# good users and, among them, entries with bytes that are not UTF-8 (mail,
# an octet-string attribute), NUL bytes (displayName, the member key),
# 1 MiB values (mapped and not), 10,000-valued attributes (mapped and
# not), no id, a shared id, no member key, a blank key, a blank mail and an
# empty DN in manager; id_attribute = employeeNumber so that ids can be
# missing or shared.  Two targets with different schemas (rainbond: strict
# lengths and formats; scim: loose, with the enterprise manager field).
# One membersyncd --once, then:
#   - it exits 0 (invalid entries are not failures) with bounded memory
#     (max RSS under 200 MB while holding 1 MiB and 10,000-value entries);
#   - every good user (the 200 and the unusual but valid ones) arrived
#     exactly once at each API (one POST each, the set of members exact);
#   - every entry invalid for a target was not sent there, is 'invalid' in
#     the state database with the precise reason (the exact list);
#   - entries that cannot get a state row (no id; an id another entry read
#     before holds) are logged once with the reason, and the first holder
#     of a shared id is the one synced;
#   - no log line carries a megabyte value (lines stay short);
# then a second run sends nothing, logs no invalid entry again, logs the
# id-less and duplicate entries once more (they have no state row to be
# remembered by, so the daemon warns about them in its first cycle, then
# only at debug level: once per --once run), and changes no state row;
# and `membersync map --ldif` on the corpus plus records no directory can
# hold (empty DN, a NUL in a DN, not a DN, cn/displayName not UTF-8) does
# not crash, names each record it skips with a reason, and gives the same
# reasons as the daemon for the rest.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_need_membersync
ms_require_cmd sqlite3 curl jq base64
# GNU time for the maximum RSS (the shell keyword has none).
if [[ ! -x /usr/bin/time ]]; then
    ms_skip "/usr/bin/time (GNU time) not installed"
fi
ms_setup
"$srcroot/tests/data/gen-bad-data.sh" -o "$T/bad.ldif" || ms_error "gen-bad-data.sh failed"
"$srcroot/tests/data/gen-bad-data.sh" -x -o "$T/bad-x.ldif" || ms_error "gen-bad-data.sh -x failed"
ms_slapd_start "$T/bad.ldif"
ms_sim_start

P="ou=people,dc=example,dc=org"
# Plain builds use about 25 MB here.  AddressSanitizer's shadow memory and
# quarantine are not the daemon's: the bound is only checked without it.
MAX_RSS_KB=$((200 * 1024))
if [[ "${SANITIZERS:-no}" == yes ]]; then
    MAX_RSS_KB=$((4 * 1024 * 1024))
fi

ms_conf_write "$T/membersync.conf" "  { name = \"rainbond\"; driver = \"rainbond\"; url = \"$SIM_URL\";
    auth = { key_file = \"$SIM_RAINBOND_KEYFILE\"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    map = {
      nick_name = \"\${uid}\";
      email = \"\${mail | lower}\";
      password = \"\${random_password(12)}\";
      enterprise_id = \"ent-demo\";
      phone = \"\${mobile}\";
      is_active = true;
      origion = \"ldap\";
    };
  },
  { name = \"scim\"; driver = \"scim\"; url = \"$SIM_URL/scim\"; enterprise_extension = true;
    auth = { key_file = \"$SIM_SECRETS/scim.token\"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    map = {
      userName = \"\${uid}\";
      externalId = \"\${employeeNumber}\";
      displayName = \"\${displayName | default(cn)}\";
      familyName = \"\${sn}\";
      email = \"\${mail | lower}\";
      nickName = \"\${audio}\";
      manager = \"\${manager | rdn}\";
      active = true;
    };
  }" 'id_attribute = "employeeNumber";
  # Requested but mapped by no target: the 1 MiB and 10,000-value ones.
  attributes = [ "description" ];'

# run NAME: membersyncd --once under GNU time; sets MS_RC, RSS (kB).
run() {
    MS_RC=0
    /usr/bin/time -f '%M' -o "$T/$1.rss" "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" \
        >"$T/$1.log" 2>&1 || MS_RC=$?
    RSS=$(tail -n 1 "$T/$1.rss")
    [[ "$RSS" =~ ^[0-9]+$ ]] || ms_error "no max RSS from /usr/bin/time: $(cat "$T/$1.rss")"
}
sim_snapshot() {
    ms_sim_state >"$T/sim.json" || ms_error "cannot read the simulator's state"
}
sim() {
    jq -r "$@" "$T/sim.json"
}
# count_lines FILE FIXED-STRING: lines of FILE holding it.
count_lines() {
    local n
    n=$(grep -cF -- "$2" "$1") || true
    echo "${n:-0}"
}

# ------------------------------------------------------------- first run

ms_log "first run"
run run1
ms_assert_eq 0 "$MS_RC" "first run exit status (invalid entries are not failures)"
ms_log "max RSS: $RSS kB"
((RSS < MAX_RSS_KB)) || ms_fail "membersyncd's max RSS was $RSS kB, over $MAX_RSS_KB kB"
sim_snapshot

# What each API must hold: the good users, and the unusual entries that
# are valid for its mapping (rainbond maps neither displayName, audio nor
# manager, so those entries are good for it).
goods=$(for ((i = 1; i <= 200; i++)); do printf 'good%04d\n' "$i"; done)
{
    echo "$goods"
    printf '%s\n' big-unmapped many-unmapped bad-many-mail dup-first bad-empty-manager \
        bad-utf8-audio bad-nul-displayname bad-big-displayname
} | LC_ALL=C sort >"$T/rainbond.expected"
{
    echo "$goods"
    printf '%s\n' big-unmapped many-unmapped bad-many-mail dup-first bad-empty-manager
} | LC_ALL=C sort >"$T/scim.expected"

sim '.apis.rainbond.users[].nick_name' | LC_ALL=C sort >"$T/rainbond.got"
sim '.apis.scim.users[].userName' | LC_ALL=C sort >"$T/scim.got"
for t in rainbond scim; do
    diff -u "$T/$t.expected" "$T/$t.got" >&2 || ms_fail "$t: the members at the API are not the valid entries"
    # One add request per member: nothing sent twice, nothing refused.
    ms_assert_eq "$(wc -l <"$T/$t.expected")" \
        "$(sim --arg t "$t" '[.log[] | select(.api == $t and .method == "POST")] | length')" \
        "$t: POST requests"
    ms_assert_eq 0 "$(sim --arg t "$t" '[.log[] | select(.api == $t and .status >= 400)] | length')" \
        "$t: requests the API refused"
done
# The shared id: the first entry read holds it, the other reached no API.
ms_assert_eq 9020 "$(sim '.apis.scim.users[] | select(.userName == "dup-first") | .externalId')" \
    "scim: externalId of dup-first"
# The empty manager DN gives no manager at all, not an empty one.
ms_assert_eq null "$(sim '.apis.scim.users[] | select(.userName == "bad-empty-manager")
    | .["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].manager')" \
    "scim: manager of bad-empty-manager"
# The 10,000 addresses: the first one, as the map says.
ms_assert_eq many00001@example.org "$(sim '.apis.scim.users[] | select(.userName == "bad-many-mail")
    | .emails[0].value')" "scim: email of bad-many-mail"

# The invalid entries, exactly, with their reasons.
BIG_REASON="value \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is 1048576 bytes long, more than the 65536 one field may carry"
cat >"$T/invalid.expected" <<EOF
rainbond|cn=Bad Blankkey,$P|nick_name: value "   " does not match the required format (ASCII letters, digits, '_', '-' and CJK ideographs U+4E00-U+9FA5)
rainbond|cn=Bad Nokey,$P|nick_name: required, but the mapping gives no value
rainbond|cn=Bad Nuluid,$P|nick_name: attribute 'uid' has a value that is not valid UTF-8 text
rainbond|uid=bad-blank-mail,$P|email: value "   " does not match the required format (an email address)
rainbond|uid=bad-utf8-mail,$P|email: attribute 'mail' has a value that is not valid UTF-8 text
scim|cn=Bad Blankkey,$P|userName: is the member key, but its value is only white space
scim|cn=Bad Nokey,$P|userName: required, but the mapping gives no value
scim|cn=Bad Nuluid,$P|userName: attribute 'uid' has a value that is not valid UTF-8 text
scim|uid=bad-big-displayname,$P|displayName: $BIG_REASON
scim|uid=bad-blank-mail,$P|email: value "   " does not match the required format (an email address)
scim|uid=bad-nul-displayname,$P|displayName: attribute 'displayname' has a value that is not valid UTF-8 text
scim|uid=bad-utf8-audio,$P|nickName: attribute 'audio' has a value that is not valid UTF-8 text
scim|uid=bad-utf8-mail,$P|email: attribute 'mail' has a value that is not valid UTF-8 text
EOF
LC_ALL=C sort -o "$T/invalid.expected" "$T/invalid.expected"
ms_state_sql "SELECT target || '|' || dn || '|' || last_error FROM members WHERE status = 'invalid'" |
    LC_ALL=C sort >"$T/invalid.got"
diff -u "$T/invalid.expected" "$T/invalid.got" >&2 || ms_fail "the invalid entries and their reasons"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status NOT IN ('synced', 'invalid')")" \
    "state rows neither synced nor invalid"
# No state row for what has no usable id.
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE dn IN
    ('uid=bad-no-id,$P', 'uid=bad-dup-second,$P')")" "state rows of bad-no-id and bad-dup-second"

# The log: each invalid entry once per target, with the reason; the
# id-less and the duplicate once, with theirs.
while IFS='|' read -r t dn why; do
    ms_assert_eq 1 "$(count_lines "$T/run1.log" "$t: skipping $dn: $why")" "run1: lines skipping $dn for $t"
done <"$T/invalid.expected"
NOID_LINE="skipping directory entry uid=bad-no-id,$P: no employeeNumber attribute"
DUP_LINE="skipping directory entry uid=bad-dup-second,$P: its employeeNumber \"9020\" is also the id of uid=dup-first,$P, read before it; an id names one member, so this entry is skipped"
ms_assert_eq 1 "$(count_lines "$T/run1.log" "$NOID_LINE")" "run1: lines about bad-no-id"
ms_assert_eq 1 "$(count_lines "$T/run1.log" "$DUP_LINE")" "run1: lines about bad-dup-second"
grep -q "213 entries, 2 unusable" "$T/run1.log" || ms_fail "run1: the summary does not say 213 entries, 2 unusable"
# No megabyte value in the log: every line short, the log small.
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/run1.log")
((longest < 2048)) || ms_fail "run1: a log line of $longest bytes"
(($(stat -c %s "$T/run1.log") < 262144)) || ms_fail "run1: the log is $(stat -c %s "$T/run1.log") bytes"
grep -q xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "$T/run1.log" &&
    ms_fail "run1: the log quotes more than 32 characters of the 1 MiB value"

# ------------------------------------------------------------ second run

ms_log "second run: nothing sent, invalid entries not logged again"
state_rows() {
    ms_state_sql "SELECT target || ' ' || source_id || ' ' || dn || ' ' || status || ' ' ||
        coalesce(payload_hash, '-') || ' ' || coalesce(last_error, '-') FROM members ORDER BY 1"
}
state_rows >"$T/rows1"
before=$(sim '.log | length')
run run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
((RSS < MAX_RSS_KB)) || ms_fail "second run: max RSS $RSS kB, over $MAX_RSS_KB kB"
sim_snapshot
ms_assert_eq "$before" "$(sim '.log | length')" "requests after the second run"
if grep -E ": skipping (cn|uid)=" "$T/run2.log" >&2; then
    ms_fail "the second run logged invalid entries again"
fi
# Entries without a usable id have no state row to remember them by: each
# --once run is a new daemon, which warns about them once.
ms_assert_eq 1 "$(count_lines "$T/run2.log" "$NOID_LINE")" "run2: lines about bad-no-id"
ms_assert_eq 1 "$(count_lines "$T/run2.log" "$DUP_LINE")" "run2: lines about bad-dup-second"
state_rows >"$T/rows2"
diff -u "$T/rows1" "$T/rows2" >&2 || ms_fail "the second run changed the state"

# ------------------------------------------------------ membersync map --ldif

ms_log "membersync map --ldif on the corpus and records no directory holds"
for t in rainbond scim; do
    rc=0
    /usr/bin/time -f '%M' -o "$T/map-$t.rss" "$MEMBERSYNC" -c "$T/membersync.conf" --json map \
        --ldif "$T/bad-x.ldif" --target "$t" >"$T/map-$t.json" 2>"$T/map-$t.err" || rc=$?
    # 1: some entries are invalid; a crash would be 128+ or 134.
    ms_assert_eq 1 "$rc" "map --target $t exit status ($(head -c 300 "$T/map-$t.err"))"
    rss=$(tail -n 1 "$T/map-$t.rss")
    ((rss < MAX_RSS_KB)) || ms_fail "map --target $t: max RSS $rss kB"
    # The records that cannot be entries, each named with its line and why.
    for want in '"": the DN is empty; no directory entry has an empty DN' \
        '"uid=bad": the DN has a NUL byte in it' \
        '"not a DN": the DN does not parse as a DN (RFC 4514)'; do
        grep -qE "^membersync: .*/bad-x\.ldif:[0-9]+: skipping the record of $(printf '%s' "$want" |
            sed 's/[][\.*^$()+?{}|]/\\&/g')\$" "$T/map-$t.err" ||
            ms_fail "map --target $t: no message skipping $want"
    done
    ms_assert_eq 3 "$(grep -c 'skipping the record' "$T/map-$t.err")" "map --target $t: records skipped"
    # Every other record is in the output, the suffix and ous included.
    ms_assert_eq "$(($(grep -c '^dn' "$T/bad-x.ldif") - 3))" "$(jq length "$T/map-$t.json")" \
        "map --target $t: entries mapped"
    # Invalid people entries, with the daemon's reasons, plus the ones slapd
    # could not hold; bad-dup-second and bad-no-id are valid here (map has
    # no ids), as the daemon would find them if their ids were sound.
    jq -r --arg t "$t" '.[] | select((.valid | not) and (.dn | test("^(uid|cn)="))) |
        "\($t)|\(.dn)|\([.fields[] | select(.error) | "\(.name): \(.error)"] | join("; "))"' \
        "$T/map-$t.json" | LC_ALL=C sort >"$T/map-$t.invalid"
    {
        grep "^$t|" "$T/invalid.expected"
        if [[ $t == scim ]]; then
            echo "scim|uid=bad-utf8-cn,$P|displayName: attribute 'cn' has a value that is not valid UTF-8 text"
            echo "scim|uid=bad-utf8-displayname,$P|displayName: attribute 'displayname' has a value that is not valid UTF-8 text"
            echo "scim|uid=bad-utf8-overlong,$P|displayName: attribute 'displayname' has a value that is not valid UTF-8 text"
        fi
    } | LC_ALL=C sort | diff -u - "$T/map-$t.invalid" >&2 || ms_fail "map --target $t: the invalid entries"
done
ms_log "ok"
