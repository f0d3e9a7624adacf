#!/usr/bin/env bash
# metrics_file: after a cycle the Prometheus text file holds what the cycle
# did (adds, members by status, one latency sample per request the
# simulator saw), is replaced by rename (no temporary file left, mode 644,
# no secret in it); a path that cannot be written is reported with the
# path and the reason and does not stop syncing; a bad value is a config
# error with file:line.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 awk stat
ms_setup
ms_slapd_start
ms_sim_start
ms_conf_write "$T/membersync.conf" "$(ms_rest_target hr-api)"
mkdir -p "$T/prom"
prom="$T/prom/membersync.prom"
set_metrics_file() {
    sed -i '/^metrics_file = /d' "$T/membersync.conf"
    sed -i "/^state_dir = /a metrics_file = \"$1\";" "$T/membersync.conf"
}
set_metrics_file "$prom"

# metric SERIES [FILE]: the value of the sample named exactly SERIES
# (name{labels} as written), or "missing".
metric() {
    awk -v s="$1" 'substr($0, 1, length(s) + 1) == s " " { v = substr($0, length(s) + 2) } END { print (v == "" ? "missing" : v) }' \
        "${2:-$prom}"
}
rest_requests() {
    ms_sim_jq '[.log[] | select(.path | startswith("/rest/"))] | length'
}

ms_once run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
[[ -f "$prom" ]] || ms_fail "no metrics file after a cycle"
cp "$prom" "$T/run1.prom"
ms_assert_eq "membersync.prom" "$(ls -A "$T/prom")" "only the metrics file in its folder (no temporary file)"
ms_assert_eq 644 "$(stat -c %a "$prom")" "metrics file mode"

api_members=$(ms_sim_jq '.apis.rest.members | length')
ms_assert_eq 205 "$api_members" "members at the API"
ms_assert_eq "$api_members" "$(metric 'membersync_adds_total{target="hr-api"}')" "adds_total"
for st in synced invalid failed pending quarantined disabled deleted; do
    want=$(ms_state_sql "SELECT count(*) FROM members WHERE target = 'hr-api' AND status = '$st'")
    ms_assert_eq "$want" "$(metric "membersync_members{target=\"hr-api\",status=\"$st\"}")" "members with status $st"
done
ms_assert_eq 205 "$(metric 'membersync_members{target="hr-api",status="synced"}')" "synced members"
reqs=$(rest_requests)
ms_assert_eq "$reqs" "$(metric 'membersync_request_duration_seconds_count{target="hr-api"}')" \
    "latency histogram count = requests the simulator saw"
ms_assert_eq "$reqs" "$(metric 'membersync_request_duration_seconds_bucket{target="hr-api",le="+Inf"}')" \
    "+Inf bucket = count"
ms_assert_eq "$reqs" "$(metric 'membersync_requests_total{target="hr-api"}')" "requests_total"
ms_assert_eq 0 "$(metric 'membersync_failures_total{target="hr-api"}')" "failures_total"
ms_assert_eq 0 "$(metric 'membersync_throttles_total{target="hr-api"}')" "throttles_total"
ms_assert_eq 1 "$(metric 'membersync_cycles_total{result="ok"}')" "cycles ok"
ms_assert_eq 1 "$(metric membersync_directory_up)" "directory_up"
last=$(metric 'membersync_last_success_timestamp_seconds{target="hr-api"}')
now=$(date +%s)
if ! [[ "$last" =~ ^[0-9]+$ ]] || ((last < now - 120 || last > now)); then
    ms_fail "last success timestamp '$last' is not about now ($now)"
fi
# Buckets never decrease.
awk '/^membersync_request_duration_seconds_bucket\{target="hr-api"/ { if ($2 < prev) bad = 1; prev = $2 }
     END { exit bad }' "$prom" || ms_fail "histogram buckets are not cumulative"
# Every sample's family has HELP and TYPE lines before it.
awk '/^# TYPE / { typed[$3] = 1; next } /^#/ { next }
     { n = $1; sub(/\{.*/, "", n); b = n; sub(/_(bucket|sum|count)$/, "", b)
       if (!(n in typed) && !(b in typed)) { print "untyped: " n; bad = 1 } }
     END { exit bad }' "$prom" || ms_fail "a sample without # TYPE"
if grep -qF -- "$(<"$SIM_REST_TOKENFILE")" "$prom"; then
    ms_fail "the API token is in the metrics file"
fi

if _ms_have_cmd promtool; then
    promtool check metrics <"$prom" >"$T/promtool.log" 2>&1 || ms_fail "promtool check metrics failed: $(<"$T/promtool.log")"
else
    ms_log "promtool not installed: format check skipped"
fi

ms_log "a second run replaces the file by rename; counters start again with the process"
ino1=$(stat -c %i "$prom")
ms_once run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ino2=$(stat -c %i "$prom")
[[ "$ino1" != "$ino2" ]] || ms_fail "the metrics file was rewritten in place (same inode $ino1)"
ms_assert_eq "membersync.prom" "$(ls -A "$T/prom")" "no temporary file after the second run"
ms_assert_eq 0 "$(metric 'membersync_adds_total{target="hr-api"}')" "adds in the second run"
ms_assert_eq 205 "$(metric 'membersync_members{target="hr-api",status="synced"}')" "synced members after run 2"
ms_assert_eq "$(($(rest_requests) - reqs))" "$(metric 'membersync_request_duration_seconds_count{target="hr-api"}')" \
    "second run's requests"

ms_log "a metrics file that cannot be written is reported and syncing goes on"
set_metrics_file "$T/no-such-dir/membersync.prom"
ms_add_user metricsuser
ms_once run3
ms_assert_eq 0 "$MS_RC" "exit status with an unwritable metrics file"
ms_assert_eq 1 "$(ms_sim_jq '[.apis.rest.members[] | select(.uid == "metricsuser")] | length')" \
    "the new member still reached the API"
grep -qF "cannot write metrics to $T/no-such-dir/membersync.prom" "$T/run3.log" ||
    ms_fail "no warning naming the metrics path"
grep -qF "No such file or directory" "$T/run3.log" || ms_fail "the warning does not say why"
[[ ! -e "$T/no-such-dir" ]] || ms_fail "the daemon created the missing folder"

ms_log "a relative metrics_file is a config error with file:line"
set_metrics_file "relative.prom"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/check.log" 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "--check-config exit status"
line=$(grep -n '^metrics_file = ' "$T/membersync.conf" | cut -d: -f1)
grep -qF "membersync.conf:$line: metrics_file must be the absolute path of a file" "$T/check.log" ||
    ms_fail "no file:line error for metrics_file: $(<"$T/check.log")"
