#!/usr/bin/env bash
# The directory dies under a running membersyncd (issue 9): slapd is
# killed with SIGKILL in the middle of the paged read of the first cycle,
# in the middle of the push phase, and in the middle of the read of a later
# cycle (when everyone is at the target already and the target's policy is
# deprovision = "delete", so a half read taken for the whole directory
# would delete most users), and restarted a few seconds later each time.
# Checked: the daemon keeps running throughout, logs an error naming the
# directory URI, deletes nobody, retries on its own, and after recovery
# every user is at the Rainbond simulator exactly once (created by one
# POST), nothing left pending. Then in live mode (syncrepl
# refreshAndPersist): slapd is killed while the daemon listens, and a
# change made after the restart still arrives.
# slapd logs every operation (MS_SLAPD_DEBUG=256), so "middle of the read"
# means "after this cycle's 20th page", not a guess at timing.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
users=${MS_LDAPF_USERS:-3000}
# Valid for Rainbond: all but nomail, j.doe and the 27-character uid.
valid=$((users + 3))
export MS_SLAPD_DEBUG=256

ms_setup
bash "$srcroot/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start
# A small page size makes the read hundreds of round trips long.
write_conf() {
    ms_conf_write "$T/membersync.conf" \
        "$(ms_rainbond_target | sed 's|retry_delay = 0.05;|retry_delay = 0.05; deprovision = "delete"; max_inflight = 4;|')" \
        "poll_interval = ${1:-2};"
    sed -i 's|page_size = 50;|page_size = 5;|' "$T/membersync.conf"
}
write_conf

daemon_pid=
start_daemon() {
    "$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >>"$T/daemon.log" 2>&1 &
    daemon_pid=$!
    ms_register_pid "$daemon_pid"
}
alive() {
    kill -0 "$daemon_pid" 2>/dev/null || ms_fail "membersyncd died (see daemon.log)"
}
# Paged searches of ou=people slapd has answered so far.
pages() {
    local n
    n=$(grep -c 'SRCH base="ou=people' "$T/slapd/slapd.log" || true)
    echo "${n:-0}"
}
sim_users() { ms_sim_jq '.apis.rainbond.users | length'; }
deletes() { ms_sim_jq '[.log[] | select(.method == "DELETE")] | length'; }
# Kills slapd once PAGES more pages than BASE were served; fails when the
# read ended (a "cycle N finished" line after line LINE of the log) first.
kill_slapd_mid_read() {
    local base=$1 want=$2 line=$3 i
    for ((i = 0; i < 1200; i++)); do
        if (($(pages) >= base + want)); then
            kill -KILL "$SLAPD_PID"
            ms_log "slapd killed after $(($(pages) - base)) pages of this read"
            return 0
        fi
        if log_since "$line" "cycle [0-9]* finished"; then
            ms_fail "the cycle finished before slapd could be killed mid-read"
        fi
        sleep 0.05
    done
    ms_fail "the read did not reach $want pages within 60 s"
}
# slapd is dead (SIGKILL): reap it and start it on the same port.
restart_slapd() {
    wait "$SLAPD_PID" 2>/dev/null || true
    SLAPD_PID=
    sleep 3
    alive
    ms_slapd_restart
}
log_lines() { wc -l <"$T/daemon.log"; }
# log_since LINE PATTERN: the daemon logged PATTERN (grep -E) from LINE on.
# (grep without -q: with pipefail, tail's SIGPIPE would hide a match.)
log_since() { tail -n +"$1" "$T/daemon.log" | grep -E -- "$2" >/dev/null; }
# count_since LINE PATTERN: how many lines from LINE on match.
count_since() { tail -n +"$1" "$T/daemon.log" | grep -Ec -- "$2" || true; }
live_restarted() { (($(count_since "$1" 'live change tracking started') >= 2)); }
users_at_least() { (($(sim_users) >= $1)); }
sim_has() { [[ -n "$(ms_sim_jq "$1")" ]]; }

: >"$T/daemon.log"
# Twenty ms per request, four in flight: the push lasts some 15 s.
_ms_curl -X POST -d '{"ms": 20}' "$SIM_URL/_sim/latency" >/dev/null

ms_log "1. slapd killed in the middle of the first read"
start_daemon
kill_slapd_mid_read 0 20 1
restart_slapd
alive
ms_wait_until 10 log_since 1 "cannot read the directory: .*$LDAP_URI" ||
    ms_fail "no error naming the directory URI $LDAP_URI after the read broke"
# Adds from the part that was read may go out (by design); deletes never.
ms_assert_eq 0 "$(deletes)" "DELETE requests after a broken first read"

ms_log "2. slapd killed in the middle of the push"
ms_wait_until 60 users_at_least 300 ||
    ms_fail "the push did not get going after slapd came back"
kill -KILL "$SLAPD_PID"
ms_log "slapd killed with $(sim_users) users pushed"
restart_slapd
alive
ms_wait_until 90 users_at_least "$valid" ||
    ms_fail "not every user pushed: $(sim_users) of $valid"
ms_wait_until 30 log_since 1 "cycle [0-9]* finished in" || ms_fail "no cycle finished"
alive

ms_log "3. slapd killed in the middle of a later read (deprovision = delete)"
line=$(($(log_lines) + 1))
ms_wait_until 30 log_since "$line" 'cycle [0-9]* started' ||
    ms_fail "no further cycle started"
kill_slapd_mid_read "$(pages)" 20 "$line"
restart_slapd
alive
ms_wait_until 10 log_since "$line" "cannot read the directory: .*$LDAP_URI" ||
    ms_fail "no error naming $LDAP_URI after the second broken read"
# The retry after a failed read comes 5 s later; then one full cycle.
line=$(($(log_lines) + 1))
ms_wait_until 60 log_since "$line" 'cycle [0-9]* finished in' ||
    ms_fail "no complete cycle after slapd came back"
alive
ms_assert_eq 0 "$(deletes)" "DELETE requests after broken reads"
ms_assert_eq "$valid" "$(sim_users)" "users at the simulator"
ms_assert_eq "$valid" "$(ms_sim_jq '[.apis.rainbond.users[].nick_name] | unique | length')" "distinct users"
ms_assert_eq "$valid" "$(ms_sim_jq '[.log[] | select(.method == "POST" and .status == 201)] | length')" \
    "successful POSTs (one per user)"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status NOT IN ('synced', 'invalid')")" \
    "rows not synced"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE gone_at IS NOT NULL")" \
    "rows marked gone from the directory"

ms_log "4. live mode: slapd killed while the daemon listens"
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
_ms_curl -X POST -d '{"ms": 0}' "$SIM_URL/_sim/latency" >/dev/null
MS_CHANGE_DETECTION=syncrepl
# Polls far apart: only the live search can bring the change in time.
write_conf 3600
line=$(($(log_lines) + 1))
start_daemon
ms_wait_until 90 log_since "$line" 'live change tracking started' ||
    ms_fail "live change tracking did not start"
kill -KILL "$SLAPD_PID"
restart_slapd
alive
ms_wait_until 10 log_since "$line" 'live change tracking stopped' ||
    ms_fail "the end of the live search is not logged"
# Reconnects by a poll DAEMON_RETRY_FIRST (5 s) later, then live again.
ms_wait_until 60 live_restarted "$line" ||
    ms_fail "live change tracking did not start again after slapd came back"
ms_ldapmodify <<EOT
dn: uid=user0007,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: after-restart0007@example.org
EOT
ms_add_user latecomer
ms_wait_until 30 sim_has '.apis.rainbond.users[] | select(.nick_name == "user0007" and .email == "after-restart0007@example.org")' ||
    ms_fail "a modification made after the restart did not arrive"
ms_wait_until 30 sim_has '.apis.rainbond.users[] | select(.nick_name == "latecomer")' ||
    ms_fail "a user added after the restart did not arrive"
alive
ms_assert_eq 0 "$(deletes)" "DELETE requests"
ms_assert_eq $((valid + 1)) "$(ms_sim_jq '[.apis.rainbond.users[].nick_name] | unique | length')" "distinct users"
ms_assert_eq $((valid + 1)) "$(sim_users)" "users at the simulator"
ms_log "ok"
