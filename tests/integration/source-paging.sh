#!/usr/bin/env bash
# Completeness of paged reads (RFC 2696) against a real slapd holding
# 5000 users: a full read in pages of 100 brings every user to the API.
# slapd killed in the middle of a read (held with SIGSTOP once enough pages
# were read, so the kill always lands mid-read): --once exits 69
# (EX_UNAVAILABLE) and says the read was incomplete, what was read is
# pushed, nothing is marked gone (also when the state knows every user),
# the cursors do not move; after slapd comes back the next run completes
# and every user is at the API exactly once.  Then the daemon across the
# same failure: it retries, reconnects and completes the cycle; and across
# a restart between cycles.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 socat
ms_setup

N_USERS=5000
# gen-users.sh adds 6 special users; nomail has no key (email) and is
# skipped by the REST target.
ENTRIES=$((N_USERS + 6))
MEMBERS=$((N_USERS + 5))
base=${MS_LDAP_BASE:-dc=example,dc=org}
"$srcroot/tests/data/gen-users.sh" -n "$N_USERS" -b "$base" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start

# ms_conf_write sets page_size = 50, and libconfig rejects a key given
# twice, so the page size is swapped in afterwards.
write_conf() {
    local page_size=$1
    shift
    ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api)" "$*"
    sed -i "s/^  page_size = 50;$/  page_size = $page_size;/" "$T/membersync.conf"
    grep -q "^  page_size = $page_size;$" "$T/membersync.conf" || ms_error "page_size not set in the config"
}

# notify_listen NAME: an sd_notify socket $T/NAME.sock whose datagrams are
# appended to $T/NAME.out.
notify_listen() {
    socat -u "UNIX-RECV:$T/$1.sock" "OPEN:$T/$1.out,creat,append" &
    ms_register_pid $!
    ms_wait_until 5 test -S "$T/$1.sock" || ms_error "notify socket $1 not created"
}
# Entries read so far, from the last "reading the directory" STATUS.
entries_read() {
    local n
    n=$(grep -ao 'reading the directory ([0-9]* entries)' "$T/$1.out" | tail -n 1 | tr -dc 0-9) || true
    echo "${n:-0}"
}
# stop_slapd_mid_read NAME MIN: once the reader has reported MIN entries,
# freezes slapd (so the read cannot finish meanwhile), checks that the
# read is indeed unfinished, and kills slapd for good.
stop_slapd_mid_read() {
    local name=$1 min=$2 i n
    for ((i = 0; i < 3000; i++)); do
        n=$(entries_read "$name")
        if ((n >= min)); then
            break
        fi
        sleep 0.01
    done
    ((n >= min)) || ms_fail "the read did not get to $min entries within 30 s"
    kill -STOP "$SLAPD_PID"
    n=$(entries_read "$name")
    if ((n >= ENTRIES)) || grep -aq "pushing" "$T/$name.out"; then
        ms_error "the read finished before slapd could be stopped ($n entries); the test cannot test anything"
    fi
    kill -KILL "$SLAPD_PID"
    wait "$SLAPD_PID" 2>/dev/null || true
    SLAPD_PID=
    ms_log "slapd killed after $n entries were read"
}
# run_cut NAME: membersyncd --once, with slapd killed mid-read; sets
# CUT_RC and CUT_N (entries read, from the summary).
run_cut() {
    local name=$1 pid
    notify_listen "$name"
    NOTIFY_SOCKET="$T/$name.sock" "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" \
        >"$T/$name.log" 2>&1 &
    pid=$!
    ms_register_pid "$pid"
    stop_slapd_mid_read "$name" 1000
    ms_wait_until 30 eval "! kill -0 $pid 2>/dev/null" || ms_fail "membersyncd still running 30 s after slapd died"
    CUT_RC=0
    wait "$pid" || CUT_RC=$?
    CUT_N=$(sed -n 's/.*cycle 1 could not read the whole directory in [0-9.]* s: \([0-9]*\) entries;.*/\1/p' \
        "$T/$name.log")
    [[ -n "$CUT_N" ]] || ms_fail "$name: no summary saying the read was incomplete"
}
gone_count() { ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NOT NULL"; }
cursors() { ms_state_sql "SELECT kind || '=' || value || '@' || updated_at FROM cursors ORDER BY kind"; }
distinct_posted() { ms_sim_jq '[.log[] | select(.method == "POST" and .path == "/rest/members") | .key] | unique | length'; }
at_api() { ms_sim_jq '.apis.rest.members | length'; }

ms_log "slapd killed in the middle of the first read (pages of 5)"
write_conf 5
run_cut cut1
ms_assert_eq 69 "$CUT_RC" "exit status after an incomplete read"
((CUT_N >= 1000 && CUT_N < ENTRIES)) || ms_fail "entries read before the kill: $CUT_N"
grep -q "^error: cannot read the directory: reading the directory: " "$T/cut1.log" ||
    ms_fail "the failed read is not reported"
grep -q "cycle 1 could not read the whole directory in .*: $CUT_N entries; adds and updates only, nothing treated as gone; hr-api: $CUT_N added, 0 already there, 0 updated, 0 rejected, 0 failed, 0 invalid, 0 unchanged; read: full$" \
    "$T/cut1.log" || ms_fail "summary of the incomplete read"
# What was read is real: it is pushed, once.
ms_assert_eq "$CUT_N" "$(ms_posts /rest/members)" "POSTs after the incomplete read"
ms_assert_eq "$CUT_N" "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 0 "$(gone_count)" "members marked gone after the incomplete read"
ms_assert_eq "" "$(cursors)" "cursors stored after the incomplete first read"
ms_assert_eq "source-failed" "$(ms_state_sql "SELECT result FROM runs ORDER BY id DESC LIMIT 1")" "recorded run"

ms_log "slapd back: a full read in pages of 100 completes; every user once"
ms_slapd_restart
write_conf 100
notify_listen full1
NOTIFY_SOCKET="$T/full1.sock" ms_once full1
ms_assert_eq 0 "$MS_RC" "exit status of the complete read"
grep -q "cycle 1 finished in .*: $ENTRIES entries; hr-api: $((MEMBERS - CUT_N)) added, 0 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, $CUT_N unchanged; read: full$" \
    "$T/full1.log" || ms_fail "summary of the complete read"
# Pages of 100 as the reader reported them, up to the last entry.
grep -aq "reading the directory (100 entries)" "$T/full1.out" || ms_fail "no page of 100 reported"
grep -aq "reading the directory (5000 entries)" "$T/full1.out" || ms_fail "no progress at 5000 entries"
ms_assert_eq "$ENTRIES" "$(entries_read full1)" "entries read in the last progress report"
ms_assert_eq "$MEMBERS" "$(at_api)" "members at the API"
ms_assert_eq "$MEMBERS" "$(ms_posts /rest/members)" "POSTs in total (none twice)"
ms_assert_eq "$MEMBERS" "$(distinct_posted)" "distinct members POSTed"
ms_assert_eq 0 "$(gone_count)" "members marked gone after the complete read"
ms_assert_eq 1 "$(ms_state_sql "SELECT count(*) FROM cursors WHERE kind = 'full-read-at'")" \
    "full-read-at stored after the complete read"

ms_log "slapd killed mid-read again, now that the state knows every user"
before=$(cursors)
# full-read-at has a resolution of a second.
sleep 1
write_conf 5
run_cut cut2
ms_assert_eq 69 "$CUT_RC" "exit status after the second incomplete read"
((CUT_N >= 1000 && CUT_N < ENTRIES)) || ms_fail "entries read before the second kill: $CUT_N"
grep -q "cycle 1 could not read the whole directory in .*: $CUT_N entries; adds and updates only, nothing treated as gone; hr-api: 0 added, .* $CUT_N unchanged; read: full$" \
    "$T/cut2.log" || ms_fail "summary of the second incomplete read"
# The users after the cut were not seen; they must not be taken for gone.
ms_assert_eq 0 "$(gone_count)" "members marked gone after an incomplete read"
if grep -q "left the directory or the search" "$T/cut2.log"; then
    ms_fail "members reported gone after an incomplete read"
fi
# The page size is part of the fingerprint; compare with that put back.
after=$(cursors)
ms_assert_eq "$(grep -v '^fingerprint=' <<<"$before")" "$(grep -v '^fingerprint=' <<<"$after")" \
    "cursors after the incomplete read (but the fingerprint)"
ms_assert_eq "$MEMBERS" "$(ms_posts /rest/members)" "no POSTs during the incomplete read"

ms_slapd_restart
write_conf 100
ms_once full2
ms_assert_eq 0 "$MS_RC" "exit status of the read after the second restart"
grep -q "cycle 1 finished in .*: $ENTRIES entries; hr-api: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, $MEMBERS unchanged; read: full$" \
    "$T/full2.log" || ms_fail "summary after the second restart"
ms_assert_eq 0 "$(gone_count)" "members marked gone after the second restart"
ms_assert_eq "$MEMBERS" "$(ms_posts /rest/members)" "POSTs after the second restart"

ms_log "the daemon: slapd killed mid-cycle and restarted; the daemon reconnects and completes"
for i in 1 2 3; do ms_add_user "late$i" Paging; done
# Polls every 3 s (or a little more: jitter), which is also how soon a
# failed read is retried.
write_conf 5 "poll_interval = 3;"
notify_listen daemon
NOTIFY_SOCKET="$T/daemon.sock" "$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/daemon.log" 2>&1 &
daemon=$!
ms_register_pid "$daemon"
stop_slapd_mid_read daemon 1000
ms_wait_until 30 grep -q "cycle 1 could not read the whole directory" "$T/daemon.log" ||
    ms_fail "the daemon did not report the incomplete read"
kill -0 "$daemon" || ms_fail "the daemon died when slapd did"
ms_slapd_restart
ms_wait_until 30 grep -q "cycle 2 finished" "$T/daemon.log" || ms_fail "the daemon did not complete a cycle after the restart"
grep -q "cycle 2 finished in .*: $((ENTRIES + 3)) entries; hr-api: 3 added, 0 already there, 0 updated, 0 rejected, 0 failed, 1 invalid, $MEMBERS unchanged; read: full$" \
    "$T/daemon.log" || ms_fail "summary of the daemon's cycle after the restart"
late_at_api() { test "$(ms_sim_jq '[.apis.rest.members[] | select(.uid | startswith("late"))] | length')" = "$1"; }
late_at_api 3 || ms_fail "late users not at the API"

ms_log "the daemon: slapd restarted between cycles; the kept connection is replaced"
ms_slapd_restart
ms_add_user late4 Paging
ms_wait_until 30 late_at_api 4 || ms_fail "late4 did not reach the API after a restart between cycles"
kill -0 "$daemon" || ms_fail "the daemon died"
kill -TERM "$daemon"
rc=0
ms_wait_until 15 eval "! kill -0 $daemon 2>/dev/null" || ms_fail "the daemon did not stop within 15 s"
wait "$daemon" || rc=$?
ms_assert_eq 0 "$rc" "daemon exit status after SIGTERM"
ms_assert_eq "$((MEMBERS + 4))" "$(ms_posts /rest/members)" "POSTs in total after the daemon's cycles"
ms_assert_eq "$((MEMBERS + 4))" "$(distinct_posted)" "distinct members POSTed in total"
ms_assert_eq "$((MEMBERS + 4))" "$(at_api)" "members at the API in the end"
ms_assert_eq 0 "$(gone_count)" "members marked gone after the daemon's cycles"
