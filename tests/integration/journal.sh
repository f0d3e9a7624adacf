#!/usr/bin/env bash
# journald end to end: the catalog parses and explains every MESSAGE_ID in
# src/log_ids.h (and nothing else), and a real systemd-journald, run in a
# private mount namespace with its sockets and files under $T, receives
# membersyncd's events with their MEMBERSYNC_* fields, which
# `journalctl --file` finds and `journalctl -x` explains.
#
# These machines do not boot systemd, so /run/systemd/journal/socket does
# not exist. `unshare --mount` gives the test its own view of /run/systemd
# and /run/log (tmpfs and a directory in $T); systemd-journald started there
# creates the sockets itself (it does not need socket activation) and
# membersyncd, started in the same namespace without --foreground and with
# stderr not a terminal, logs to it exactly as it does under systemd.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/lib-journal.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd journalctl jq
catalog="$srcroot/systemd/membersync.catalog"
[[ -r "$catalog" ]] || ms_error "no catalog at $catalog"
ms_setup

# ---------------------------------------------------------------- catalog

ids=$(sed -n -E 's/^#define[[:space:]]+MSGID_[A-Z_]+[[:space:]]+"([0-9a-f]{32})".*/\1/p' \
    "$srcroot/src/log_ids.h" | sort)
n_ids=$(wc -l <<<"$ids")
[[ "$n_ids" -ge 10 ]] || ms_error "read only $n_ids ids from src/log_ids.h"
ms_assert_eq "$n_ids" "$(grep -c '^#define[[:space:]]*MSGID_' "$srcroot/src/log_ids.h")" \
    "every MSGID_ in src/log_ids.h is a 32-digit hex id"
ms_assert_eq "$n_ids" "$(sort -u <<<"$ids" | wc -l)" "ids in src/log_ids.h are distinct"

# Each block: its id, then Subject:, Defined-By: membersync, Support:,
# Documentation: man:membersyncd(8), and a body.
awk '
    /^-- / { if (id) check(); id = $2; subj = def = sup = doc = body = 0; hdr = 1; next }
    !id { next }
    hdr && /^$/ { hdr = 0; next }
    hdr && /^Subject: ./ { subj = 1; next }
    hdr && /^Defined-By: membersync$/ { def = 1; next }
    hdr && /^Support: https?:\/\/./ { sup = 1; next }
    hdr && /^Documentation: .*man:membersyncd\(8\)/ { doc = 1; next }
    hdr { print id ": unexpected header line: " $0; bad = 1; next }
    /[^[:space:]]/ { body++ }
    function check() {
        if (!subj || !def || !sup || !doc) { print id ": missing Subject, Defined-By, Support or Documentation"; bad = 1 }
        if (body < 3) { print id ": body of " body " lines"; bad = 1 }
    }
    END { if (id) check(); exit bad }
' "$catalog" >"$T/catalog-lint.log" || ms_fail "catalog blocks: $(cat "$T/catalog-lint.log")"

# The catalog as journalctl --update-catalog builds it, in a private root.
root="$T/root"
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/membersync.catalog"
journalctl --root="$root" --update-catalog >"$T/update-catalog.log" 2>&1 ||
    ms_fail "journalctl --update-catalog failed: $(cat "$T/update-catalog.log")"
# journalctl warns about lines it cannot parse and carries on.
if [[ -s "$T/update-catalog.log" ]]; then
    ms_fail "journalctl --update-catalog complained: $(cat "$T/update-catalog.log")"
fi
[[ -s "$root/var/lib/systemd/catalog/database" ]] || ms_fail "no catalog database was written"
journalctl --root="$root" --list-catalog >"$T/list-catalog.log" 2>&1 ||
    ms_fail "journalctl --list-catalog failed: $(cat "$T/list-catalog.log")"
listed=$(awk '$2 == "membersync:" { print $1 }' "$T/list-catalog.log" | sort)
missing=$(comm -23 <(echo "$ids") <(echo "$listed"))
extra=$(comm -13 <(echo "$ids") <(echo "$listed"))
[[ -z "$missing" ]] || ms_fail "ids of src/log_ids.h not in the catalog: $missing"
[[ -z "$extra" ]] || ms_fail "catalog ids that src/log_ids.h does not define: $extra"
ms_assert_eq "$n_ids" "$(wc -l <"$T/list-catalog.log")" "entries in the private catalog database"
journalctl --root="$root" --dump-catalog 3914cbdc3afa3b0e74a449d1de1bc4fd >"$T/dump.log" 2>&1 ||
    ms_fail "journalctl --dump-catalog failed"
grep -q '^Subject: Entry invalid for @MEMBERSYNC_TARGET@$' "$T/dump.log" || ms_fail "dumped entry: $(cat "$T/dump.log")"
ms_log "catalog: $n_ids entries, one per id in src/log_ids.h"

# ---------------------------------------------------------------- journal

ms_journal_check || ms_skip "$MS_JOURNAL_SKIP"

ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target)"

cat >"$T/in-journal.sh" <<'EOF'
# Without --foreground, with stderr a file: the daemon picks the journal
# itself, as it does under systemd.
rc=0
"$MEMBERSYNCD" --once --config "$T/membersync.conf" </dev/null >"$T/daemon.log" 2>&1 || rc=$?
echo "$rc" >"$T/daemon.rc"
EOF
ms_log "running systemd-journald and membersyncd --once in a private mount namespace"
ns_rc=0
ms_journal_run "$root" "$T/in-journal.sh" || ns_rc=$?
if [[ -s "$T/namespace.err" ]]; then
    ms_skip "$(cat "$T/namespace.err"): $(tail -n 5 "$T/journald.log" | tr '\n' ' ')"
fi
ms_assert_eq 0 "$ns_rc" "the namespace script's exit status ($(cat "$T/namespace.log"))"
ms_assert_eq 0 "$(cat "$T/daemon.rc")" "membersyncd --once exit status"
if grep -q 'skipping\|cycle 1 finished' "$T/daemon.log"; then
    ms_fail "membersyncd logged to stderr, not to the journal: $(head -n 3 "$T/daemon.log")"
fi

shopt -s nullglob
files=("$root"/run/log/journal/*/system.journal)
shopt -u nullglob
ms_assert_eq 1 "${#files[@]}" "journal files written by systemd-journald"
jf=${files[0]}
jq_file() {
    journalctl --file "$jf" --no-pager -o json "$@" | jq -s -c '.'
}

# The three entries the rainbond mapping rejects (see sync-rainbond.sh).
invalid=$(jq_file MEMBERSYNC_TARGET=rainbond MEMBERSYNC_RESULT=invalid)
ms_assert_eq 3 "$(jq length <<<"$invalid")" "invalid events for rainbond"
ms_assert_eq '["3914cbdc3afa3b0e74a449d1de1bc4fd"]' "$(jq -c '[.[].MESSAGE_ID] | unique' <<<"$invalid")" \
    "MESSAGE_ID of the invalid events"
ms_assert_eq '["skip"]' "$(jq -c '[.[].MEMBERSYNC_ACTION] | unique' <<<"$invalid")" "MEMBERSYNC_ACTION"
ms_assert_eq '["4"]' "$(jq -c '[.[].PRIORITY] | unique' <<<"$invalid")" "PRIORITY (warning)"
ms_assert_eq '["membersyncd"]' "$(jq -c '[.[].SYSLOG_IDENTIFIER] | unique' <<<"$invalid")" "SYSLOG_IDENTIFIER"
ms_assert_eq "uid=averyveryverylongusername01,$LDAP_PEOPLE uid=j.doe,$LDAP_PEOPLE uid=nomail,$LDAP_PEOPLE" \
    "$(jq -r '[.[].MEMBERSYNC_DN] | sort | join(" ")' <<<"$invalid")" "MEMBERSYNC_DN of the invalid events"
jq -e '.[] | select(.MEMBERSYNC_DN == "uid=nomail,'"$LDAP_PEOPLE"'")
        | .MESSAGE | test("email: required, but the mapping gives no value")' <<<"$invalid" >/dev/null ||
    ms_fail "the reason for nomail is not in its MESSAGE: $invalid"
jq -e 'all(.[]; has("MEMBERSYNC_HTTP_STATUS") | not)' <<<"$invalid" >/dev/null ||
    ms_fail "a mapping rejection carries an HTTP status: $invalid"

# Matches are exact: another target name finds nothing.
ms_assert_eq 0 "$(jq_file MEMBERSYNC_TARGET=dingtalk | jq length)" "events for a target not configured"

added=$(jq_file MEMBERSYNC_TARGET=rainbond MESSAGE_ID=0bc14200aa8e77b687198c4f2184b18d)
ms_assert_eq 203 "$(jq length <<<"$added")" "member-added events"
ms_assert_eq '[{"MEMBERSYNC_ACTION":"add","MEMBERSYNC_RESULT":"ok","MEMBERSYNC_HTTP_STATUS":"201"}]' \
    "$(jq -c '[.[] | {MEMBERSYNC_ACTION, MEMBERSYNC_RESULT, MEMBERSYNC_HTTP_STATUS}] | unique' <<<"$added")" \
    "fields of the member-added events"
zs=$(jq -c '.[] | select(.MEMBERSYNC_MEMBER == "zhangsan")' <<<"$added")
ms_assert_eq "uid=zhangsan,$LDAP_PEOPLE" "$(jq -r .MEMBERSYNC_DN <<<"$zs")" "MEMBERSYNC_DN of zhangsan"
# A query by DN finds the one member, as the README tells operators.
ms_assert_eq 1 "$(jq_file "MEMBERSYNC_DN=uid=zhangsan,$LDAP_PEOPLE" | jq length)" "events for zhangsan's DN"

ms_assert_eq 1 "$(jq_file MESSAGE_ID=a19784eb93c4faac4a1c32b5374d8c64 | jq length)" "cycle-started events"
finished=$(jq_file MESSAGE_ID=03709a70fdb0c0efc49706bb1ac8d1bf)
ms_assert_eq 1 "$(jq length <<<"$finished")" "cycle-finished events"
ms_assert_eq ok "$(jq -r '.[0].MEMBERSYNC_RESULT' <<<"$finished")" "MEMBERSYNC_RESULT of the cycle"
jq -e '.[0].MESSAGE | test("rainbond: 203 added, 0 already there, 0 updated, 0 rejected, 0 failed, 3 invalid")' \
    <<<"$finished" >/dev/null || ms_fail "cycle summary: $(jq -r '.[0].MESSAGE' <<<"$finished")"

# Every MESSAGE_ID the daemon sent is one the catalog explains.
sent=$(journalctl --file "$jf" -o json SYSLOG_IDENTIFIER=membersyncd | jq -r 'select(.MESSAGE_ID) | .MESSAGE_ID' |
    sort -u)
unexplained=$(comm -23 <(echo "$sent") <(echo "$listed"))
[[ -z "$unexplained" ]] || ms_fail "MESSAGE_IDs in the journal without a catalog entry: $unexplained"

# journalctl -x: journalctl (systemd 252) reads the catalog only from
# /var/lib/systemd/catalog/database, even with --root, so it runs in a
# mount namespace where that folder is the private root's.
journalctl --file "$jf" -o export >/dev/null || ms_fail "journalctl cannot read $jf"
[[ -d /var/lib/systemd ]] || ms_skip "no /var/lib/systemd to put the private catalog database over"
# shellcheck disable=SC2016 # expanded by the inner sh
unshare "${MS_UNSHARE_ARGS[@]}" sh -c 'mount -t tmpfs tmpfs /var/lib/systemd &&
    mkdir /var/lib/systemd/catalog && cp "$0/var/lib/systemd/catalog/database" /var/lib/systemd/catalog/ &&
    exec journalctl --file "$1" --no-pager -x MEMBERSYNC_TARGET=rainbond MEMBERSYNC_RESULT=invalid "$2"' \
    "$root" "$jf" "MEMBERSYNC_DN=uid=nomail,$LDAP_PEOPLE" >"$T/explained.log" 2>&1 ||
    ms_fail "journalctl -x failed: $(cat "$T/explained.log")"
grep -q 'skipping uid=nomail' "$T/explained.log" || ms_fail "journalctl -x: no event: $(cat "$T/explained.log")"
# The subject, with the event's target filled in, and the advice.
grep -q 'Subject: Entry invalid for rainbond$' "$T/explained.log" ||
    ms_fail "journalctl -x did not explain the event: $(cat "$T/explained.log")"
grep -q 'Defined-By: membersync$' "$T/explained.log" || ms_fail "journalctl -x: no Defined-By"
grep -q "membersync members --invalid" "$T/explained.log" || ms_fail "journalctl -x: no advice in the body"
ms_log "journal: $(journalctl --file "$jf" SYSLOG_IDENTIFIER=membersyncd -q | wc -l) events from membersyncd"
