#!/usr/bin/env bash
# membersyncd as a service: sd_notify READY/STATUS/WATCHDOG/RELOADING/
# STOPPING, the poll loop picking up new users, watchdog pings withheld
# while a request hangs longer than the interval, SIGHUP with a broken config
# (kept out) and a good one (applied), and SIGTERM in the middle of a push:
# requests in flight are answered and recorded, nothing is left pending and
# nothing is sent twice afterwards.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd socat sqlite3
ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rainbond_target)" "poll_interval = 1;"
cp "$T/membersync.conf" "$T/good.conf"

user_count() {
    ms_sim_jq --arg p "$1" '[.apis.rainbond.users[] | select(.nick_name | startswith($p))] | length'
}
notified() {
    grep -q -- "$1" "$T/notify.out"
}
# For ms_wait_until, which re-runs a command: $(...) in its arguments
# would be evaluated only once.
users_with_prefix_are() {
    test "$(user_count "$1")" = "$2"
}
all_users_are() {
    test "$(ms_sim_jq '.apis.rainbond.users | length')" = "$1"
}
late_requests_seen() {
    test "$(ms_sim_jq '[.log[] | select(.key | tostring | startswith("late"))] | length')" -ge 1
}
daemon_gone() {
    ! kill -0 "$daemon" 2>/dev/null
}

socat -u "UNIX-RECV:$T/notify.sock" "OPEN:$T/notify.out,creat,append" &
ms_register_pid $!
ms_wait_until 5 test -S "$T/notify.sock" || ms_error "notify socket not created"

NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=2000000 \
    "$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/daemon.log" 2>&1 &
daemon=$!
ms_register_pid "$daemon"

ms_wait_until 15 notified READY=1 || ms_fail "no READY=1"
ms_wait_until 10 all_users_are 203 || ms_fail "first cycle incomplete"
ms_wait_until 5 notified WATCHDOG=1 || ms_fail "no WATCHDOG=1 although WATCHDOG_USEC is set"
ms_wait_until 5 notified "STATUS=idle: cycle" || ms_fail "no idle STATUS"
notified "STATUS=cycle 1: pushing" || ms_fail "no progress STATUS"
# Started means "reading the directory works", not "the first push is over".
ready_at=$(grep -bo 'READY=1' "$T/notify.out" | head -n1 | cut -d: -f1)
push_at=$(grep -bo 'STATUS=cycle 1: pushing' "$T/notify.out" | head -n1 | cut -d: -f1)
((ready_at < push_at)) || ms_fail "READY=1 came after the first push started"

ms_log "the poll loop picks up a new user"
ms_add_user polled1 Lifecycle
ms_wait_until 10 users_with_prefix_are polled1 1 || ms_fail "new user not synced by the poll loop"

ms_log "a target that hangs longer than the watchdog interval: pings stop, then resume"
watchdogs() { grep -o 'WATCHDOG=1' "$T/notify.out" | wc -l; }
withheld() { grep -q "watchdog pings withheld until it ends" "$T/daemon.log"; }
ms_sim_fault '{"api":"rainbond","method":"POST","key":"stalled1","delay_ms":8000,"count":1,"handle":true}'
ms_add_user stalled1 Lifecycle
ms_wait_until 15 withheld || ms_fail "pings not withheld while a request hangs"
before=$(watchdogs)
sleep 2.5
ms_assert_eq "$before" "$(watchdogs)" "WATCHDOG=1 sent while a request hangs longer than the interval"
ms_wait_until 15 users_with_prefix_are stalled1 1 || ms_fail "the stalled user never arrived"
more_watchdogs() { (($(watchdogs) > before)); }
ms_wait_until 5 more_watchdogs || ms_fail "pings did not resume once the request ended"
grep -q "requests are answered again; watchdog pings resume" "$T/daemon.log" || ms_fail "resumed pings not logged"

ms_log "SIGHUP with a broken config keeps the running one"
printf 'bogus_key = 1;\n' >>"$T/membersync.conf"
kill -HUP "$daemon"
ms_wait_until 10 grep -q "configuration reload failed (1 error); still running the previous configuration" \
    "$T/daemon.log" || ms_fail "broken reload not reported"
grep -q "membersync.conf:[0-9]*: top level: unknown key 'bogus_key'" "$T/daemon.log" ||
    ms_fail "reload error without file:line"
notified RELOADING=1 || ms_fail "no RELOADING=1"
kill -0 "$daemon" || ms_fail "daemon died on a bad reload"
ms_add_user polled2 Lifecycle
ms_wait_until 10 users_with_prefix_are polled2 1 || ms_fail "syncing stopped after a bad reload"

ms_log "SIGHUP with a good config applies it"
sed 's/log_level = "info";/log_level = "debug";/' "$T/good.conf" >"$T/membersync.conf"
kill -HUP "$daemon"
ms_wait_until 10 grep -q "configuration reloaded from $T/membersync.conf (1 target)" "$T/daemon.log" ||
    ms_fail "good reload not reported"

ms_log "SIGTERM during a push: in-flight requests finish and are recorded"
curl -sS --noproxy '*' --max-time 5 -o /dev/null -X POST -d '{"ms":300}' "$SIM_URL/_sim/latency"
for i in $(seq 1 24); do ms_add_user "late$i" Lifecycle; done
ms_wait_until 15 late_requests_seen || ms_fail "the push never started"
kill -TERM "$daemon"
rc=0
ms_wait_until 15 daemon_gone || ms_fail "daemon did not stop within 15 s"
wait "$daemon" || rc=$?
ms_assert_eq 0 "$rc" "exit status after SIGTERM"
notified STOPPING=1 || ms_fail "no STOPPING=1"
grep -q "stopping after the requests in flight are answered and recorded" "$T/daemon.log" ||
    ms_fail "stop not logged"
delivered=$(user_count late)
if ((delivered >= 24)); then
    ms_fail "the stop came too late to test anything ($delivered delivered)"
fi
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'pending'")" "pending rows after stop"
ms_assert_eq "$delivered" \
    "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced' AND member_key LIKE 'late%'")" \
    "every delivered member recorded as synced"

ms_log "the notify messages came in the order systemd expects"
# Start, a reload refused (the old configuration goes on: READY=1 again),
# a reload applied, the stop; each RELOADING=1 with MONOTONIC_USEC.
sequence=$(grep -oE 'READY=1|RELOADING=1|MONOTONIC_USEC=[0-9]+|STOPPING=1' "$T/notify.out" |
    sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC/' | tr '\n' ' ')
ms_assert_eq "READY=1 RELOADING=1 MONOTONIC_USEC READY=1 RELOADING=1 MONOTONIC_USEC READY=1 STOPPING=1 " \
    "$sequence" "sequence of READY/RELOADING/STOPPING"

ms_log "the rest follows on the next run, none twice"
curl -sS --noproxy '*' --max-time 5 -o /dev/null -X POST -d '{"ms":0}' "$SIM_URL/_sim/latency"
ms_once after
ms_assert_eq 0 "$MS_RC" "run after the stop"
ms_assert_eq 24 "$(user_count late)" "late users delivered"
ms_assert_eq 24 "$(ms_sim_jq '[.log[] | select((.key | tostring | startswith("late")) and .status == 201)] | length')" \
    "one 201 per late user"
ms_log "ok ($delivered of 24 delivered before the stop)"
