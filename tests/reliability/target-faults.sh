#!/usr/bin/env bash
# Target faults against a running membersyncd (real slapd, a few hundred
# generated users, the target simulator), one fault class per phase.
# This file runs the transport faults (MS_FAULT_SET=transport, the
# default):
#   - a 5xx storm (500, 502 and 503 answers to every add for a while);
#   - timeouts (answers later than the target's timeout);
#   - connection resets, before the API saw the add;
#   - resets after the API handled the add (the answer lost: the
#     double-add risk, Rainbond's adds are not idempotent);
#   - slow-loris answers (the body trickles past the timeout);
#   - a 429 storm with Retry-After;
#   - Devin's batched adds: a 5xx storm and resets.
# target-faults-answers.sh sources it with MS_FAULT_SET=answers for the
# bad answers:
#   - 10 MB answers, one success-looking (201) and one error (500): the
#     daemon must stop reading at max_response_size, and its peak RSS must
#     not grow by much more than that cap;
#   - wrong content types: an HTML page with 200 (Rainbond, and Devin's
#     batched adds) and with 500, a JSON error as text/plain;
#   - a 429 storm without Retry-After;
#   - DingTalk (errors as HTTP 200 + errcode): a storm of errcode -1
#     ("system busy") and malformed JSON with 200.
# Each phase starts from an empty simulator and state database, starts
# membersyncd (poll_interval = 1) with the fault on, lets it run into the
# fault, then checks: the daemon is still running, logged what went wrong,
# and did not hammer the API (per member and in all, requests stay within
# what max_retries and retry_backoff allow); then the fault is cleared and,
# after recovery, every member is at the simulator exactly once, created by
# exactly one successful request, nothing is left pending or failed in the
# state database, and SIGTERM stops the daemon with status 0.
# MS_FAULT_USERS changes the number of generated users (default 150);
# MS_FAULT_PHASES (space-separated phase names) runs only some phases.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

# Which phases: transport (this file) or answers (target-faults-answers.sh).
FAULT_SET=${MS_FAULT_SET:-transport}
case $FAULT_SET in
    transport) FAULT_DRIVERS="rb dv" ;;
    answers) FAULT_DRIVERS="rb dt dv" ;;
    *) ms_error "MS_FAULT_SET must be transport or answers, not '$FAULT_SET'" ;;
esac

ms_require_cmd sqlite3
ms_setup
users=${MS_FAULT_USERS:-150}
bash "$srcroot/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start

RB_ADD=/openapi/v1/users
DT_CREATE=/dingtalk/topapi/v2/user/create
MAX_RETRIES=2
# Members that failed wait 2 to 4 s (jitter) before a later cycle tries
# them again; poll_interval is 1 s, so a daemon that ignored the backoff
# would try each member every second or so.
BACKOFF=4

# What every target shares: a short timeout, few retries within a cycle,
# and a backoff between cycles that is long next to poll_interval.
common_keys() {
    cat <<EOT
    timeout = 2; connect_timeout = 2; max_inflight = ${1:-4}; max_wait = 5;
    max_response_size = ${MS_FAULT_MAXRESP:-1048576};
    retry_delay = 0.05; retry_max_delay = 0.2; max_retries = $MAX_RETRIES;
    retry_backoff = $BACKOFF; retry_backoff_max = $BACKOFF;
EOT
}

rb_target() {
    ms_rainbond_target | sed "s|^    retry_delay = .*|$(common_keys "$@" | tr '\n' ' ')|"
}

dt_target() {
    cat <<EOT
  { name = "dingtalk"; driver = "dingtalk"; url = "$SIM_URL/dingtalk";
    auth = { appkey_file = "$SIM_SECRETS/dingtalk.appkey";
             appsecret_file = "$SIM_SECRETS/dingtalk.appsecret"; };
    rate_limit = 0;
$(common_keys "$@")
    map = {
      name = "\${displayName | default(cn)}";
      mobile = "\${mobile}";
      dept_id_list = "1";
      userid = "\${uid}";
      email = "\${mail | lower}";
    };
  }
EOT
}

# Devin adds members in batches (up to 100 user ids a call), after looking
# each email up; the organization and the enterprise's users are set up
# in the simulator by sim_prepare.
DV_ORG=org-main
DV_ADD=/devin/v2/enterprise/organizations/$DV_ORG/members
dv_target() {
    cat <<EOT
  { name = "devin"; driver = "devin"; url = "$SIM_URL/devin"; org_id = "$DV_ORG";
    auth = { key_file = "$SIM_SECRETS/devin.key"; };
$(common_keys "$@")
    map = { email = "\${mail | lower}"; };
  }
EOT
}

# sim_prepare DRIVER: an empty simulator with what the driver's API must
# know beforehand.
sim_prepare() {
    local emails
    ms_sim_reset
    if [[ $1 == dv ]]; then
        curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data-binary "{\"org_id\": \"$DV_ORG\"}" "$SIM_URL/_sim/api/devin/add-org" ||
            ms_error "cannot create the Devin organization"
        emails=$(awk '/^mail: / { print tolower($2) }' "$T/users.ldif" | jq -Rn '{emails: [inputs]}')
        curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data-binary "$emails" "$SIM_URL/_sim/api/devin/add-user" ||
            ms_error "cannot create the Devin users"
    fi
}

write_conf() {
    local driver=$1
    shift
    ms_conf_write "$T/membersync.conf" "$("${driver}_target" "$@")" "poll_interval = 1;"
}

# The simulator's answers for a driver's adds, and its users' keys.
add_path() {
    case $1 in
        rb) echo "$RB_ADD" ;;
        dt) echo "$DT_CREATE" ;;
        dv) echo "$DV_ADD" ;;
    esac
}
sim_keys() {
    case $1 in
        rb) ms_sim_jq '.apis.rainbond.users[].nick_name' ;;
        dt) ms_sim_jq '.apis.dingtalk.users[].userid' ;;
        dv) ms_sim_jq --arg o "$DV_ORG" '.apis.devin.orgs[$o][].email' ;;
    esac
}

synced_rows() {
    ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'"
}
unsettled_rows() {
    ms_state_sql "SELECT count(*) FROM members WHERE status IN ('pending', 'failed', 'quarantined')"
}

# Baselines without faults: how many members each driver takes (the
# generated set has entries that one API or the other refuses).
declare -A expect
for d in $FAULT_DRIVERS; do
    sim_prepare "$d"
    rm -rf "$T/state"
    write_conf "$d"
    ms_once "baseline-$d"
    ms_assert_eq 0 "$MS_RC" "exit status of the $d baseline run"
    expect[$d]=$(synced_rows)
    ms_assert_eq "${expect[$d]}" "$(sim_keys "$d" | wc -l)" "$d baseline: members at the simulator"
    ((expect[$d] >= users)) || ms_fail "$d baseline: only ${expect[$d]} of $users users synced"
    ms_log "$d baseline: ${expect[$d]} members"
done

DPID=
start_daemon() {
    "$MEMBERSYNCD" --foreground --config "$T/membersync.conf" >"$T/$1.log" 2>&1 &
    DPID=$!
    ms_register_pid "$DPID"
}

stop_daemon() {
    local rc=0 i
    kill -TERM "$DPID" 2>/dev/null || ms_fail "$1: the daemon was gone before SIGTERM"
    # Not wait alone: a daemon that ignores SIGTERM would hang the test.
    for ((i = 0; i < 300; i++)); do
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DPID" 2>/dev/null && ms_fail "$1: the daemon ignored SIGTERM for 30 s"
    wait "$DPID" || rc=$?
    ms_assert_eq 0 "$rc" "$1: exit status after SIGTERM"
}

alive() {
    kill -0 "$DPID" 2>/dev/null || ms_fail "$1: membersyncd died during the fault: $(tail -n 5 "$T/$1.log")"
}

# Peak resident set of the running daemon, in KiB.
peak_rss() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status"
}

# Requests to PATH that a fault answered (or dropped), and the most any one
# member got.
faulted() {
    ms_sim_jq --arg p "$1" '[.log[] | select(.path == $p and .fault)] | length'
}
faulted_per_key_max() {
    ms_sim_jq --arg p "$1" '[.log[] | select(.path == $p and .fault) | .key] | group_by(.) | map(length) | max // 0'
}

recovered() {
    [[ "$(sim_keys "$1" | wc -l)" == "${expect[$1]}" && "$(unsettled_rows)" == 0 &&
        "$(synced_rows)" == "${expect[$1]}" ]]
}

# phase NAME DRIVER SECS LOG_REGEX PER_KEY_MAX FAULT_JSON...: see the
# header. The fault stays on for SECS seconds (or, for faults with a count,
# until the simulator used them up, at most SECS), then is cleared.
# LOG_REGEX must match the daemon's log; PER_KEY_MAX bounds the faulted
# requests any one member got.
phase() {
    local name=$1 d=$2 secs=$3 logre=$4 per_key_max=$5 f n max total path i
    shift 5
    want_phase "$name" || return 0
    ms_log "phase $name: $*"
    local t0=$SECONDS
    path=$(add_path "$d")
    sim_prepare "$d"
    rm -rf "$T/state"
    write_conf "$d" "${PHASE_INFLIGHT:-4}"
    for f in "$@"; do
        ms_sim_fault "$f" || ms_error "$name: the simulator refused the fault $f"
    done
    local started=$SECONDS left
    start_daemon "$name"
    # The fault lasts SECS from the daemon's start (PER_KEY_MAX counts the
    # cycles that fit in that), but at least a second from its first
    # request: under memcheck on a busy machine the read alone can take
    # longer than SECS.
    first_request() { alive "$name" && (($(ms_sim_jq '.stats.requests') > 0)); }
    ms_wait_until 300 first_request || ms_fail "$name: no request within 300 s of the daemon's start"
    left=$((secs - (SECONDS - started)))
    ((left >= 1)) || left=1
    for ((i = 0; i < left * 2; i++)); do
        sleep 0.5
        alive "$name"
        # Faults with a count end by themselves; no need to wait longer.
        if [[ "$(ms_sim_jq '.faults | length')" == 0 ]]; then
            break
        fi
    done
    alive "$name"
    n=$(faulted "$path")
    max=$(faulted_per_key_max "$path")
    total=$(ms_sim_jq '.stats.requests')
    ((n > 0)) || ms_fail "$name: no request met the fault; the phase proved nothing"
    ((max <= per_key_max)) ||
        ms_fail "$name: one member got $max faulted requests (at most $per_key_max expected: the daemon hammers the API)"
    # Every member that failed may be tried (1 + max_retries) times per
    # cycle it is due in; a few extra for lookups and tokens.
    ((total <= expect[$d] * per_key_max + 50)) ||
        ms_fail "$name: $total requests during the fault (at most $((expect[$d] * per_key_max + 50)) expected)"
    if [[ -n "${PHASE_HOOK:-}" ]]; then
        "$PHASE_HOOK" "$name"
    fi
    # A member is logged when its last retry failed; give slow faults
    # (timeouts: 2 s a try) the time to get there.
    for ((i = 0; i < 60; i++)); do
        grep -Eq "$logre" "$T/$name.log" && break
        alive "$name"
        sleep 0.5
    done
    grep -Eq "$logre" "$T/$name.log" ||
        ms_fail "$name: no log line matches /$logre/ during the fault"
    ms_sim_clear_faults
    # After a 429 storm the rate climbs back additively: 20 to 40 s here,
    # several times that under memcheck (scripts/test-valgrind.sh).
    local recover_s=60
    [[ -z "${MS_MEMCHECK:-}" ]] || recover_s=300
    for ((i = 0; i < recover_s * 2; i++)); do
        recovered "$d" && break
        alive "$name"
        sleep 0.5
    done
    alive "$name"
    ms_assert_eq "${expect[$d]}" "$(sim_keys "$d" | wc -l)" "$name: members at the simulator after recovery"
    ms_assert_eq "${expect[$d]}" "$(sim_keys "$d" | sort -u | wc -l)" "$name: distinct members at the simulator"
    ms_assert_eq "${expect[$d]}" "$(synced_rows)" "$name: synced rows"
    ms_assert_eq 0 "$(unsettled_rows)" "$name: rows left pending, failed or quarantined"
    # No member taken twice by the API (a handle fault's lost answer aside,
    # whose retry the API refuses as a duplicate).
    if [[ $d == dv ]]; then
        # Batches carry no key in the log; Devin counts adds per member.
        ms_assert_eq "${expect[$d]}" "$(ms_sim_jq '[.apis.devin.add_calls[] | select(.status == 200) | .size] | add // 0')" \
            "$name: user ids in successful add calls"
        ms_assert_eq 0 "$(ms_sim_jq --arg o "$DV_ORG" '[.apis.devin.orgs[$o][] | select(.adds != 1)] | length')" \
            "$name: members added more than once"
    else
        ms_assert_eq 0 "$(ms_sim_jq --arg p "$path" '[.log[] | select(.path == $p and .method == "POST"
            and .status >= 200 and .status < 300 and (.fault | not)) | .key]
            | group_by(.) | map(select(length > 1)) | length')" "$name: members created by more than one request"
    fi
    # The log must say what happened, not carry the answers themselves.
    max=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/$name.log")
    ((max < 4096)) || ms_fail "$name: a log line of $max bytes"
    max=$(ms_state_sql "SELECT coalesce(max(length(last_error)), 0) FROM members")
    ((max < 4096)) || ms_fail "$name: a last_error of $max bytes in the state database"
    stop_daemon "$name"
    ms_log "phase $name: $n faulted requests (at most $(faulted_per_key_max "$path") per member), $total in all; recovered; $((SECONDS - t0)) s"
}

want_phase() {
    [[ -z "${MS_FAULT_PHASES:-}" || " $MS_FAULT_PHASES " == *" $1 "* ]]
}

# Adds (POST) only: lookups after a 409 must get through.
post='"method": "POST"'
per_key=$(((1 + MAX_RETRIES) * 2))

if [[ "$FAULT_SET" == transport ]]; then
    # The simulator tries the newest fault first: 500 for a third of the adds,
    # 502 for half the rest, 503 (without Retry-After) for every other request.
    phase 5xx-storm rb 5 "HTTP 50[023]" "$per_key" \
        '{"api": "rainbond", "status": 503, "count": -1}' \
        "{\"api\": \"*\", $post, \"status\": 502, \"rate\": 0.5, \"seed\": 2}" \
        "{\"api\": \"rainbond\", $post, \"status\": 500, \"rate\": 0.34, \"seed\": 1}"

    # Every add answered 2 s after the 2 s timeout: each try costs 2 s, so
    # the daemon gets through few members, and a member only fails (and is
    # logged) after three tries; the first retry of a cycle is logged.
    phase timeouts rb 8 "[Tt]imeout|timed out" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"delay_ms\": 4000, \"count\": -1}"

    phase resets rb 5 "no answer" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"reset\": true, \"rate\": 0.3, \"seed\": 3}"

    # The add happened but its answer was lost: the retry (the daemon's, or
    # libcurl's own on a reused connection) meets a 409 and the member is
    # looked up, never created twice.
    phase handled-resets rb 5 "already there" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"handle\": true, \"reset\": true, \"rate\": 0.3, \"seed\": 4}"

    # A 201 whose body trickles at 10 bytes/s: the 2 s timeout ends it before
    # the body is in, and a half-read answer is not taken as success.
    phase slow-loris rb 8 "[Tt]imeout|timed out" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 201, \"slow_bytes_per_s\": 10, \"count\": -1,
          \"body\": \"{\\\"code\\\": 200, \\\"msg\\\": \\\"created, slowly\\\", \\\"pad\\\": \\\"$(printf '%060d' 0)\\\"}\"}"

    # A 429 storm with Retry-After: the daemon waits what it is told, and
    # its rate halves per throttle (the storm without Retry-After is in
    # the answers set, to share the time between the two files).
    phase 429-retry-after rb 5 "slow down" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 429, \"count\": -1, \"headers\": {\"Retry-After\": \"2\"}}"

    # Devin's batched adds (up to 100 members a call): a 5xx storm, and every
    # add reset (libcurl sends a request once more by itself when a reused
    # connection dies before any answer, so the daemon only sees resets that
    # come twice in a row). The calls carry no member key, so the per-member
    # bound is on all add calls: 2 batches, (1 + max_retries) tries, 2 cycles.
    phase devin-5xx dv 5 "HTTP 50[23]" "$((2 * per_key))" \
        "{\"api\": \"*\", $post, \"status\": 503, \"count\": -1}" \
        "{\"api\": \"devin\", $post, \"status\": 502, \"rate\": 0.5, \"seed\": 9}"
    phase devin-resets dv 5 "no answer" "$((2 * per_key))" \
        "{\"api\": \"devin\", $post, \"reset\": true, \"count\": -1}"
fi

if [[ "$FAULT_SET" == answers ]]; then
    # 10 MB answers, success-looking and error: the daemon stops reading at
    # max_response_size (1 MiB). Two transfers at a time, so reading them
    # whole would take 20 MB more; the cap allows about 2 x 2 MiB (a buffer
    # grows by doubling).
    BIG_CHUNK="{\\\"id\\\": 1, \\\"pad\\\": \\\"$(printf '%0990d' 0)\\\"},"
    BIG_REPEAT=10486
    RSS_BASE=
    record_rss() {
        RSS_BASE=$(peak_rss)
    }
    check_rss() {
        local peak
        peak=$(peak_rss)
        ms_log "$1: peak RSS $peak KiB (${RSS_BASE} KiB in rss-baseline)"
        # AddressSanitizer and memcheck keep freed memory in quarantine, so
        # each capped 1 MiB buffer stays resident: the bound only holds
        # without them.
        if grep -aq __asan_init "$MEMBERSYNCD"; then
            ms_log "$1: AddressSanitizer build, peak RSS not checked"
            return 0
        fi
        if [[ -n ${MS_MEMCHECK:-} ]]; then
            ms_log "$1: under memcheck, peak RSS not checked"
            return 0
        fi
        ((peak <= RSS_BASE + 6144)) ||
            ms_fail "$1: peak RSS $peak KiB, $((peak - RSS_BASE)) KiB above rss-baseline's: the answer was not capped at 1 MiB"
    }
    PHASE_HOOK=record_rss PHASE_INFLIGHT=2
    phase rss-baseline rb 5 "HTTP 500" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 500, \"count\": 6, \"body\": \"$BIG_CHUNK\"}"
    PHASE_HOOK=check_rss PHASE_INFLIGHT=2
    phase big-201 rb 20 "response larger than" "$((1 + MAX_RETRIES))" \
        "{\"api\": \"rainbond\", $post, \"status\": 201, \"count\": 6, \"body\": \"$BIG_CHUNK\", \"body_repeat\": $BIG_REPEAT}"
    phase big-500 rb 20 "response larger than" "$((1 + MAX_RETRIES))" \
        "{\"api\": \"rainbond\", $post, \"status\": 500, \"count\": 6, \"body\": \"$BIG_CHUNK\", \"body_repeat\": $BIG_REPEAT}"
    PHASE_HOOK='' PHASE_INFLIGHT=''

    # Wrong content types: a proxy's HTML page with 200 (nothing was created)
    # and with 500, and a JSON error sent as text/plain.
    HTML='<html><head><title>Sign in</title></head><body>Please sign in to continue</body></html>'
    phase html-200 rb 5 "HTML|html" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 200, \"content_type\": \"text/html\", \"body\": \"$HTML\",
          \"rate\": 0.3, \"seed\": 5}"
    phase devin-html-200 dv 5 "HTML|html" "$((2 * per_key))" \
        "{\"api\": \"devin\", $post, \"status\": 200, \"content_type\": \"text/html\", \"body\": \"$HTML\",
          \"rate\": 0.5, \"seed\": 11}"
    phase html-500 rb 5 "HTTP 500" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 500, \"content_type\": \"text/html\", \"body\": \"$HTML\",
          \"rate\": 0.3, \"seed\": 6}"
    phase json-as-text rb 5 "HTTP 503" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 503, \"content_type\": \"text/plain\",
          \"body\": \"{\\\"code\\\": 503, \\\"msg\\\": \\\"busy\\\"}\", \"rate\": 0.3, \"seed\": 7}"

    # A 429 storm without Retry-After: the daemon backs off on its own and
    # halves its rate per throttle; after the storm the rate climbs back.
    phase 429-storm rb 5 "slow down" "$per_key" \
        "{\"api\": \"rainbond\", $post, \"status\": 429, \"count\": -1}"

    # DingTalk answers errors with HTTP 200 and an errcode: -1 ("system busy")
    # is transient; a 200 whose JSON is cut short is not a success.
    phase dt-busy dt 5 "errcode -1" "$per_key" \
        "{\"api\": \"dingtalk\", $post, \"status\": 200, \"count\": -1,
          \"body\": \"{\\\"errcode\\\": -1, \\\"errmsg\\\": \\\"system busy\\\"}\"}"
    phase dt-malformed dt 5 "unexpected answer" "$per_key" \
        "{\"api\": \"dingtalk\", $post, \"status\": 200, \"rate\": 0.3, \"seed\": 8,
          \"body\": \"{\\\"errcode\\\": 0, \\\"result\\\": {\\\"userid\\\": \"}"
fi

ms_log "ok"
