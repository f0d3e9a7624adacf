#!/usr/bin/env bash
# The state database in trouble (issue 9), with real slapd and the
# Rainbond simulator, whose adds are not idempotent (a second POST of a
# user is a 409), so a doubled add shows:
#  1. a second membersyncd on the same state directory refuses to run,
#     naming the other one's pid, while the first goes on;
#  2. the database locked by another process (a transaction held open by
#     sqlite3 from python3) while the daemon starts and runs: errors name
#     the database and say "locked", the daemon does not spin (its CPU time
#     stays low), sends no add it cannot record, and once the lock goes
#     every new user arrives, once;
#  3. the wall clock (an LD_PRELOAD shim built here) jumps a day forward, then back, while
#     failed members wait for their retry (next_attempt_at is wall-clock
#     time in the database): forward, each is retried once (no burst);
#     back, they are retried at the next cycle, not a day later;
#  4. disk full: the state directory is a 32 MB tmpfs (in a private mount
#     namespace), filled up in the middle of the push: errors name the
#     database and "No space left on device", no add goes out unrecorded,
#     and once space is back every user is there exactly once, the
#     database passes PRAGMA integrity_check, nothing is left pending.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 python3 unshare nsenter mount cc
users=${MS_STATEF_USERS:-1500}
valid=$((users + 3))

ms_setup
# Mounting needs privileges; find out before starting anything.
if ! unshare --mount --propagation private sh -c "mount -t tmpfs -o size=1m tmpfs '$T'" 2>"$T/unshare.err"; then
    ms_skip "cannot mount a tmpfs in a private mount namespace: $(head -n1 "$T/unshare.err")"
fi
bash "$srcroot/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start

# conf NAME [TARGET SETTINGS] [SOURCE SETTINGS]: $T/NAME.conf with its
# state in $T/NAME/ (poll every 2 s).
conf() {
    local name=$1
    ms_conf_write "$T/$name.conf" \
        "$(ms_rainbond_target | sed "s|retry_delay = 0.05;|retry_delay = 0.05; max_inflight = 4; ${2:-}|")" \
        "poll_interval = 2; ${3:-}"
    sed -i "s|^state_dir = .*|state_dir = \"$T/$name\";|" "$T/$name.conf"
}
daemon_pid=
# start NAME [PREFIX...]: the daemon with $T/NAME.conf, logging to NAME.log.
start() {
    local name=$1
    shift
    "$@" "$MEMBERSYNCD" --foreground --config "$T/$name.conf" >>"$T/$name.log" 2>&1 &
    daemon_pid=$!
    ms_register_pid "$daemon_pid"
}
stop() {
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
}
alive() {
    kill -0 "$daemon_pid" 2>/dev/null || ms_fail "membersyncd died (see $1.log)"
}
sim_users() { ms_sim_jq '.apis.rainbond.users | length'; }
users_at_least() { (($(sim_users) >= $1)); }
posts_ok() { ms_sim_jq '[.log[] | select(.method == "POST" and .status == 201)] | length'; }
# log_has NAME PATTERN [FROM_LINE] (grep -E; not -q: see lib.sh on SIGPIPE)
log_has() { tail -n +"${3:-1}" "$T/$1.log" | grep -E -- "$2" >/dev/null; }
lines() { wc -l <"$T/$1.log"; }
# SQL_NS: a command prefix entering the namespace the database is in.
SQL_NS=()
sql() { "${SQL_NS[@]}" sqlite3 -readonly "$1" "$2"; }
# CPU time (user + system, in clock ticks) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# recover NAME SECS WHEN: every valid user arrives within SECS, then a
# whole cycle finishes with the daemon alive; stops it.
recover() {
    ms_wait_until "$2" users_at_least "$valid" ||
        ms_fail "not every user arrived $3: $(sim_users) of $valid"
    local line=$(($(lines "$1") + 1))
    ms_wait_until 30 log_has "$1" "cycle [0-9]+ finished in" "$line" || ms_fail "no cycle finished $3"
    alive "$1"
    stop
}
# Everyone at the simulator once, created by one POST, nothing pending.
check_exactly_once() {
    local db=$1
    ms_assert_eq "$valid" "$(sim_users)" "$2: users at the simulator"
    ms_assert_eq "$valid" "$(ms_sim_jq '[.apis.rainbond.users[].nick_name] | unique | length')" "$2: distinct users"
    ms_assert_eq "$valid" "$(posts_ok)" "$2: successful POSTs (one per user)"
    ms_assert_eq "$valid" "$(sql "$db" "SELECT count(*) FROM members WHERE status = 'synced'")" "$2: synced rows"
    ms_assert_eq 0 "$(sql "$db" "SELECT count(*) FROM members WHERE status IN ('pending', 'failed', 'quarantined')")" \
        "$2: rows pending or failed"
}

# MS_STATEF_FROM=N starts at part N (for debugging; parts 3 and 4 only
# need the 20 users part 2 adds).
from=${MS_STATEF_FROM:-1}
# ---------------------------------------------------------------- 1 and 2
if ((from <= 2)); then
ms_log "1. a second membersyncd on the same state directory"
conf lock
start lock
ms_wait_until 60 log_has lock "cycle 1 finished in" || ms_fail "first cycle did not finish"
check_exactly_once "$T/lock/state.db" "first sync"
rc=0
"$MEMBERSYNCD" --once --foreground --config "$T/lock.conf" >"$T/second.log" 2>&1 || rc=$?
ms_assert_eq 75 "$rc" "exit status of a second membersyncd (EX_TEMPFAIL)"
grep -q "another membersyncd with pid $daemon_pid is using the state directory $T/lock " "$T/second.log" ||
    ms_fail "the second membersyncd does not say clearly why it refused: $(cat "$T/second.log")"
alive lock
stop

ms_log "2. the state database locked by another process"
# A writer holding the database: BEGIN EXCLUSIVE, kept until $T/unlock exists.
python3 - "$T/lock/state.db" "$T/locked" "$T/unlock" <<'EOF' &
import os, sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
con.execute("UPDATE runs SET result = result")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
con.execute("ROLLBACK")
EOF
locker=$!
ms_register_pid "$locker"
ms_wait_until 10 test -e "$T/locked" || ms_error "the locking script did not take the lock"
for i in $(seq 1 20); do ms_add_user "locked$i"; done
line=$(($(lines lock) + 1))
start lock
ms_wait_until 60 log_has lock "database is locked \($T/lock/state.db\)" "$line" ||
    ms_fail "no error naming the database and saying it is locked"
posts_before=$(posts_ok)
cpu0=$(cpu_ticks "$daemon_pid")
sleep 10
alive lock
cpu1=$(cpu_ticks "$daemon_pid")
ms_log "CPU time over 10 s with the database locked: $((cpu1 - cpu0)) ticks"
# A busy loop would burn nearly 10 s (1000 ticks); waiting for a lock, none.
(((cpu1 - cpu0) < 200)) || ms_fail "membersyncd spins while the database is locked: $((cpu1 - cpu0)) ticks in 10 s"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.method == "POST" and ((.key // "") | startswith("locked")))] | length')" \
    "adds sent while their pending marks could not be written"
touch "$T/unlock"
wait "$locker"
valid=$((valid + 20))
recover lock 90 "after the lock was released"
check_exactly_once "$T/lock/state.db" "after the lock"
ms_log "  posts before the release: $posts_before"
else
    for i in $(seq 1 20); do ms_add_user "locked$i"; done
fi

# ------------------------------------------------------------------- 3
if ((from <= 3)); then
ms_log "3. clock jumps with retries waiting"
# Not libfaketime: its epoll_wait and timerfd_settime wrappers make
# sd-event fail ("event loop failed: Invalid argument") once the offset is
# a day, which a real clock jump does not do to CLOCK_MONOTONIC timers.
# This shim moves CLOCK_REALTIME only, by the seconds in a file.
cat >"$T/clockshim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
static long shim_offset(void)
{
	const char *f = getenv("MS_CLOCK_OFFSET_FILE");
	long o = 0;
	FILE *fp = f ? fopen(f, "re") : NULL;
	if (fp) {
		if (fscanf(fp, "%ld", &o) != 1)
			o = 0;
		fclose(fp);
	}
	return o;
}
int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int r = real(id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += shim_offset();
	return r;
}
int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;
	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (tv) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}
time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
EOF
cc -shared -fPIC -O1 -o "$T/clockshim.so" "$T/clockshim.c" -ldl 2>"$T/cc.err" ||
    ms_error "cannot build the clock shim: $(head -n3 "$T/cc.err")"
ms_sim_reset
valid=$((users + 3 + 20))
echo 0 >"$T/offset"
# No retry within the cycle; the next one minutes later in wall time.
conf clock 'max_retries = 0; retry_backoff = 300; retry_backoff_max = 600;'
sed -i "s|retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;||" "$T/clock.conf"
for u in user0001 user0002 user0003 user0004 user0005; do
    ms_sim_fault "{\"api\":\"rainbond\",\"method\":\"POST\",\"key\":\"$u\",\"status\":503,\"count\":-1,\"body\":\"busy\"}"
done
faked=(env LD_PRELOAD="$T/clockshim.so" MS_CLOCK_OFFSET_FILE="$T/offset")
# AddressSanitizer insists on coming first among the preloaded libraries;
# told not to check, it works with the shim beside it.
if [[ "${SANITIZERS:-no}" == yes ]]; then
    faked+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
fi
start clock "${faked[@]}"
ms_wait_until 60 log_has clock "cycle 1 finished in" || ms_fail "first cycle did not finish"
db="$T/clock/state.db"
ms_assert_eq 5 "$(sql "$db" "SELECT count(*) FROM members WHERE status = 'failed'")" "failed members"
wait_s=$(sql "$db" "SELECT min(next_attempt_at - updated_at) FROM members WHERE status = 'failed'")
((wait_s >= 60)) || ms_fail "retries are due after $wait_s s, the test needs more than a minute"
ms_sim_clear_faults
posts0=$(ms_sim_jq '[.log[] | select(.method == "POST")] | length')
# Two cycles without the jump: nothing is retried early.
line=$(($(lines clock) + 1))
ms_wait_until 30 bash -c "[[ \$(tail -n +$line '$T/clock.log' | grep -c 'cycle [0-9]* finished in') -ge 2 ]]" ||
    ms_fail "cycles stopped"
ms_assert_eq "$posts0" "$(ms_sim_jq '[.log[] | select(.method == "POST")] | length')" "POSTs before the retries are due"
ms_log "  a day forward"
echo 86400 >"$T/offset"
ms_wait_until 30 users_at_least "$valid" || ms_fail "the retries due after the jump forward were not made"
line=$(($(lines clock) + 1))
ms_wait_until 30 bash -c "[[ \$(tail -n +$line '$T/clock.log' | grep -c 'cycle [0-9]* finished in') -ge 2 ]]" ||
    ms_fail "cycles stopped after the jump forward"
ms_assert_eq $((posts0 + 5)) "$(ms_sim_jq '[.log[] | select(.method == "POST")] | length')" \
    "POSTs after the jump forward (one per waiting member, no burst)"
ms_assert_eq 0 "$(ms_sim_jq '[.log[] | select(.method == "PUT" or .method == "DELETE")] | length')" \
    "updates or deletes after the jump forward"
alive clock
ms_log "  a day back, with updates waiting for their retry"
for u in user0006 user0007 user0008; do
    ms_sim_fault "{\"api\":\"rainbond\",\"method\":\"PUT\",\"key\":\"$u\",\"status\":503,\"count\":-1,\"body\":\"busy\"}"
    ms_ldapmodify <<EOT
dn: uid=$u,$LDAP_PEOPLE
changetype: modify
replace: mail
mail: moved-$u@example.org
EOT
done
failed_updates() { [[ $(sql "$db" "SELECT count(*) FROM members WHERE status = 'failed' AND op = 'update'") == 3 ]]; }
ms_wait_until 30 failed_updates || ms_fail "the updates did not fail as the faults say"
ms_sim_clear_faults
echo 0 >"$T/offset"
moved() { [[ $(ms_sim_jq '[.apis.rainbond.users[] | select(.email | startswith("moved-"))] | length') == 3 ]]; }
# Without care the retries, due a day and a minute ahead, would wait a day.
ms_wait_until 30 moved || ms_fail "after the clock went back a day the failed updates were not retried"
ms_assert_eq 6 "$(ms_sim_jq '[.log[] | select(.method == "PUT")] | length')" "PUTs (one failed, one retried, each)"
alive clock
stop
check_exactly_once "$db" "after the clock jumps"

fi
# ------------------------------------------------------------------- 4
ms_log "4. disk full under the state database"
valid=$((users + 3 + 20))
ms_sim_reset
ms_sim_clear_faults
_ms_curl -X POST -d '{"ms": 20}' "$SIM_URL/_sim/latency" >/dev/null
conf full
mkdir -p "$T/full"
# A process that keeps a private mount namespace with a tmpfs on the
# state directory; the daemon joins it, the test looks in via /proc.
unshare --mount --propagation private sh -c \
    "mount -t tmpfs -o size=32m,mode=700 tmpfs '$T/full' && touch '$T/full/.mounted' && exec sleep 100000" &
holder=$!
ms_register_pid "$holder"
S="/proc/$holder/root$T/full"
ms_wait_until 10 test -e "$S/.mounted" || ms_error "the tmpfs was not mounted"
start full nsenter --target "$holder" --mount
ms_wait_until 60 users_at_least 300 || ms_fail "the push did not get going"
# Fill the file system, leaving the database as it is.
dd if=/dev/zero of="$S/filler" bs=64k 2>/dev/null || true
ms_log "  disk filled with $(sim_users) users at the simulator"
ms_wait_until 60 log_has full "No space left on device" ||
    ms_fail "no error saying the disk is full"
log_has full "$T/full/state.db: No space left on device" ||
    ms_fail "the disk-full error does not name the database"
sleep 3
alive full
posts1=$(ms_sim_jq '[.log[] | select(.method == "POST")] | length')
sleep 3
posts2=$(ms_sim_jq '[.log[] | select(.method == "POST")] | length')
ms_log "  POSTs while the disk is full: $posts1, 3 s later $posts2"
((posts2 - posts1 <= 4)) || ms_fail "adds keep going out while the state database cannot record them"
rm -f "$S/filler"
recover full 120 "after space came back"
SQL_NS=(nsenter --target "$holder" --mount)
ms_assert_eq ok "$("${SQL_NS[@]}" sqlite3 "$T/full/state.db" 'PRAGMA integrity_check')" "integrity of the state database"
check_exactly_once "$T/full/state.db" "after the disk was full"
ms_log "ok"
