#!/usr/bin/env bash
# The membersync verbs over the state cache (status, plan, show, members,
# retry, approve, forget) against a state database written here with
# sqlite3: the schema of src/state/state_sqlite.c at user_version 4, and
# rows of every status, a held plan, pauses, target status and runs. No
# directory, no target: output, exit statuses, --json, and what the
# writing verbs change in the database.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"

ms_need_membersync
ms_require_cmd sqlite3 jq
ms_setup

mkdir -p "$T/state"
DB=$T/state/state.db
printf 'secret\n' >"$T/ldap.pw"
printf 'key\n' >"$T/rb.key"
chmod 600 "$T/ldap.pw" "$T/rb.key"
target() { # NAME [EXTRA]
    cat <<EOT
  { name = "$1"; driver = "rainbond"; url = "http://127.0.0.1:9"; $2
    auth = { key_file = "$T/rb.key"; };
    map = { nick_name = "\${uid}"; email = "\${mail | lower}"; password = "\${random_password(12)}";
            enterprise_id = "ent-1"; };
  }
EOT
}
cat >"$T/membersync.conf" <<EOT
source = {
  uri = "ldaps://ldap.example.org";
  bind_dn = "cn=membersync,ou=services,dc=example,dc=org";
  bind_password_file = "$T/ldap.pw";
  base = "ou=people,dc=example,dc=org";
};
state_dir = "$T/state";
targets = (
$(target rainbond "max_deprovision = 1;"),
$(target archive "enabled = false;")
);
EOT

ms() {
    "$MEMBERSYNC" -c "$T/membersync.conf" "$@"
}
# run NAME EXPECTED_RC ARGS...: ms ARGS with stdout to $T/NAME.out and
# stderr to $T/NAME.err; fails unless it exits EXPECTED_RC.
run() {
    local name=$1 want=$2 rc=0
    shift 2
    ms "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    if [[ "$rc" != "$want" ]]; then
        cat "$T/$name.out" "$T/$name.err" >&2
        ms_fail "membersync $*: exit status $rc, expected $want"
    fi
}
has() { # NAME REGEX: $T/NAME.out (or .err with NAME.err) has a line matching REGEX
    local f=$T/$1
    [[ "$1" == *.err ]] || f=$T/$1.out
    grep -qE -- "$2" "$f" || { cat "$f" >&2; ms_fail "$1: no line matching '$2'"; }
}
sql() {
    sqlite3 "$DB" "$1"
}

ms_log "no state database yet"
run nodb-status 66 status
has nodb-status.err "^membersync: $T/state/state.db: no state database: membersyncd has not run yet$"
[[ ! -e "$DB" ]] || ms_fail "status created the database"
run nodb-retry 66 retry --all
[[ ! -e "$DB" ]] || ms_fail "retry created the database"
run nodb-show 66 show alice

NOW=$(date +%s)
# The schema state_sqlite.c's migrations 1-4 leave, as membersyncd makes it.
sqlite3 "$DB" >/dev/null <<EOT
PRAGMA journal_mode = WAL;
CREATE TABLE members (
  target TEXT NOT NULL, source_id TEXT NOT NULL, dn TEXT NOT NULL, member_key TEXT, payload_hash TEXT,
  remote_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed', 'invalid', 'quarantined',
    'disabled', 'deleted')),
  op TEXT CHECK (op IN ('add', 'update', 'disable', 'enable', 'delete', 'lookup')),
  attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
  last_error TEXT, excluded TEXT, first_seen INTEGER NOT NULL, last_synced INTEGER,
  updated_at INTEGER NOT NULL, gone_at INTEGER,
  PRIMARY KEY (target, source_id)
) WITHOUT ROWID;
CREATE INDEX members_status ON members (target, status);
CREATE INDEX members_source_id ON members (source_id);
CREATE INDEX members_key ON members (target, member_key);
CREATE TABLE cursors (source TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY (source, kind));
CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,
  result TEXT NOT NULL, entries INTEGER NOT NULL, adds INTEGER NOT NULL, skipped INTEGER NOT NULL,
  failed INTEGER NOT NULL, updates INTEGER NOT NULL DEFAULT 0, deprovisions INTEGER NOT NULL DEFAULT 0);
CREATE TABLE identities (target TEXT NOT NULL, lookup_key TEXT NOT NULL, remote_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY (target, lookup_key)) WITHOUT ROWID;
CREATE TABLE target_pauses (target TEXT PRIMARY KEY, paused_until INTEGER NOT NULL, reason TEXT);
CREATE TABLE holds (target TEXT PRIMARY KEY, held_at INTEGER NOT NULL, count INTEGER NOT NULL,
  members INTEGER NOT NULL, lim INTEGER NOT NULL, approved_at INTEGER, plan TEXT NOT NULL);
CREATE TABLE target_status (target TEXT PRIMARY KEY, last_cycle_at INTEGER NOT NULL,
  last_result TEXT NOT NULL, last_error TEXT, last_error_at INTEGER);
PRAGMA user_version = 4;

INSERT INTO members (target, source_id, dn, member_key, payload_hash, remote_id, status, op, attempts,
  failures, next_attempt_at, last_error, excluded, first_seen, last_synced, updated_at, gone_at) VALUES
 ('rainbond', 'id-alice', 'uid=alice,ou=people,dc=example,dc=org', 'alice', 'h1', 'r-1', 'synced', NULL,
  0, 0, NULL, NULL, NULL, $NOW - 86400, $NOW - 3600, $NOW - 3600, NULL),
 ('rainbond', 'id-bob', 'uid=bob,ou=people,dc=example,dc=org', 'bob', 'h2', 'r-2', 'synced', NULL,
  0, 0, NULL, NULL, NULL, $NOW - 86400, $NOW - 3600, $NOW - 3600, NULL),
 ('rainbond', 'id-carol', 'uid=carol,ou=people,dc=example,dc=org', 'carol', 'h3', NULL, 'pending', 'add',
  0, 0, NULL, NULL, NULL, $NOW - 600, NULL, $NOW - 600, NULL),
 ('rainbond', 'id-dave', 'uid=dave,ou=people,dc=example,dc=org', 'dave', 'h4', 'r-4', 'failed', 'update',
  2, 1, $NOW + 600, 'HTTP 503: unavailable', NULL, $NOW - 86400, $NOW - 7200, $NOW - 300, NULL),
 ('rainbond', 'id-erin', 'uid=erin,ou=people,dc=example,dc=org', 'erin', 'h5', NULL, 'quarantined', 'add',
  5, 5, NULL, 'HTTP 400: email taken', NULL, $NOW - 86400, NULL, $NOW - 300, NULL),
 ('rainbond', 'id-frank', 'uid=frank,ou=people,dc=example,dc=org', NULL, NULL, NULL, 'invalid', NULL,
  0, 0, NULL, 'mobile: value "12345" does not match the required format', NULL, $NOW - 86400, NULL,
  $NOW - 86400, NULL),
 ('rainbond', 'id-gina', 'uid=gina,ou=people,dc=example,dc=org', 'gina', 'h7', 'r-7', 'disabled', NULL,
  0, 0, NULL, NULL, 'disabled in the directory', $NOW - 86400, $NOW - 300, $NOW - 300, NULL),
 ('rainbond', 'id-hank', 'uid=hank,ou=people,dc=example,dc=org', 'hank', 'h8', 'r-8', 'deleted', NULL,
  0, 0, NULL, NULL, NULL, $NOW - 86400, $NOW - 300, $NOW - 300, $NOW - 400),
 ('archive', 'id-alice', 'uid=alice,ou=people,dc=example,dc=org', 'alice', 'h1', 'a-1', 'synced', NULL,
  0, 0, NULL, NULL, NULL, $NOW - 86400, $NOW - 86400, $NOW - 86400, NULL),
 ('archive', 'id-zed', 'uid=zed,ou=people,dc=example,dc=org', 'zed', 'h9', NULL, 'failed', 'add',
  1, 0, $NOW + 60, 'connection refused', NULL, $NOW - 86400, NULL, $NOW - 86400, NULL);
INSERT INTO runs (started_at, finished_at, result, entries, adds, updates, deprovisions, skipped, failed)
  VALUES ($NOW - 4000, $NOW - 3960, 'ok', 9, 8, 0, 0, 1, 0),
         ($NOW - 340, $NOW - 300, 'partial', 10, 1, 2, 1, 1, 2);
INSERT INTO target_pauses VALUES ('rainbond', $NOW + 3600, 'the API''s quota is spent (monthly)'),
                                 ('archive', $NOW - 100, 'an old pause');
INSERT INTO target_status VALUES ('rainbond', $NOW - 300, 'held', 'HTTP 503: unavailable', $NOW - 300);
INSERT INTO holds VALUES ('rainbond', $NOW - 300, 3, 4, 1, NULL,
  '[{"dn":"uid=alice,ou=people,dc=example,dc=org","key":"alice","op":"delete","reason":"left the directory (or the search)"},{"dn":"uid=bob,ou=people,dc=example,dc=org","key":"bob","op":"delete","reason":"left the directory (or the search)"},{"dn":"uid=gina,ou=people,dc=example,dc=org","key":"gina","op":"delete","reason":"disabled in the directory"}]');
EOT

ms_log "status"
run status 0 status
has status '^last run      [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(5 min ago\): partial in 40 s$'
has status '^              10 entries: 1 added, 2 updated, 1 deprovisioned, 1 skipped, 2 failed$'
has status '^TARGET    DRIVER    SYNCED  PENDING  FAILED  QUARANTINED  INVALID  DISABLED  DELETED$'
has status '^rainbond  rainbond       2        1       1            1        1         1        1$'
has status '^archive   rainbond       1        0       1            0        0         0        0$'
has status '^archive \(disabled in the configuration'
has status '^  deprovision   none \(members who leave stay at the target\)$'
has status '^  last cycle    [-0-9T:]+Z \(5 min ago\): held$'
has status '^  last error    [-0-9T:]+Z \(5 min ago\): HTTP 503: unavailable$'
has status "^  paused        until [-0-9T:]+Z \(in (59 min|1 h)\): the API's quota is spent \(monthly\)$"
has status '^  held          3 deprovisions, more than the limit of 1 \(4 members\), since'
has status "not approved: 'membersync plan --target rainbond' lists them, 'membersync approve rainbond'"
has status '^  last cycle    never$'
ms_assert_eq 1 "$(grep -c '^  paused' "$T/status.out")" "only rainbond is paused (archive's pause is over)"
ms_assert_eq 1 "$(grep -c '^  held' "$T/status.out")" "only rainbond is held"

run status-json 0 --json status
jq -e . "$T/status-json.out" >/dev/null || ms_fail "status --json is not JSON"
ms_assert_eq '2 1 1 1 1 1 1 8' "$(jq -r '.targets[0].members | "\(.synced) \(.pending) \(.failed) \(.quarantined) \(.invalid) \(.disabled) \(.deleted) \(.total)"' "$T/status-json.out")" \
    "status --json: rainbond's members"
ms_assert_eq 'rainbond rainbond true none 1 false' \
    "$(jq -r '.targets[0] | "\(.name) \(.driver) \(.enabled) \(.deprovision) \(.max_deprovision) \(.max_deprovision_percent)"' "$T/status-json.out")" \
    "status --json: rainbond"
ms_assert_eq "3 1 4 false $((NOW - 300))" \
    "$(jq -r '.targets[0].held | "\(.count) \(.limit) \(.members) \(.approved) \(.held_at)"' "$T/status-json.out")" \
    "status --json: the hold"
ms_assert_eq "$((NOW + 3600))" "$(jq '.targets[0].paused.until' "$T/status-json.out")" "status --json: paused until"
ms_assert_eq "held $((NOW - 300)) HTTP 503: unavailable" \
    "$(jq -r '.targets[0] | "\(.last_cycle.result) \(.last_cycle.at) \(.last_error.message)"' "$T/status-json.out")" \
    "status --json: last cycle"
ms_assert_eq 'archive false null null null' \
    "$(jq -r '.targets[1] | "\(.name) \(.enabled) \(.held) \(.paused) \(.last_cycle)"' "$T/status-json.out")" \
    "status --json: archive"
ms_assert_eq "partial $((NOW - 340)) $((NOW - 300)) 10 1 2 1 1 2" \
    "$(jq -r '.last_run | "\(.result) \(.started_at) \(.finished_at) \(.entries) \(.adds) \(.updates) \(.deprovisions) \(.skipped) \(.failed)"' "$T/status-json.out")" \
    "status --json: last run"
ms_assert_eq '[]' "$(jq -c '[.. | select(type == "string" and test("^[0-9]+$"))]' "$T/status-json.out")" \
    "status --json: numbers are numbers"
# Options after the verb, and --target.
run status-one 0 status --json --target archive
ms_assert_eq archive "$(jq -r '[.targets[].name] | join(",")' "$T/status-one.out")" "status --target"
run status-unknown 64 status --target nope
has status-unknown.err "^membersync: no target named 'nope' in $T/membersync.conf$"
rc=0
"$MEMBERSYNC" -c "$T/nonexistent.conf" status >/dev/null 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "status with a missing configuration"

ms_log "plan"
run plan 0 plan
has plan '^rainbond: deprovisioning held since [-0-9T:]+Z \(5 min ago\)$'
has plan '^  3 deprovisions planned; max_deprovision allows 1 \(of 4 members\)$'
has plan "^  not approved: 'membersync approve rainbond' lets the next cycle carry it out, once$"
has plan '^  OP      KEY    DN / REASON$'
has plan '^  delete  gina   uid=gina,ou=people,dc=example,dc=org$'
has plan '^                 disabled in the directory$'
run plan-json 0 plan --json
ms_assert_eq 'rainbond 3 1 false 3 delete|uid=bob,ou=people,dc=example,dc=org|bob|left the directory (or the search)' \
    "$(jq -r '.[0] | "\(.target) \(.count) \(.limit) \(.approved) \(.plan | length) \(.plan[1] | "\(.op)|\(.dn)|\(.key)|\(.reason)")"' "$T/plan-json.out")" \
    "plan --json"
run plan-none 0 plan --target archive
has plan-none '^No deprovisioning plan is held for archive: none exceeded max_deprovision\.$'
has plan-none "^'membersyncd --dry-run' prints the full plan of a cycle\.$"
run plan-none-json 0 plan --target archive --json
ms_assert_eq '[]' "$(jq -c . "$T/plan-none-json.out")" "plan --json with nothing held"

ms_log "show"
run show 0 show alice
has show '^archive: uid=alice,ou=people,dc=example,dc=org$'
has show '^rainbond: uid=alice,ou=people,dc=example,dc=org$'
has show '^  remote id     r-1$'
run show-dave 0 show UID=Dave,ou=People,dc=example,dc=org
has show-dave '^  status        failed \(update\)$'
has show-dave '^  attempts      2 failed in a row, 1 of them permanent$'
has show-dave '^  next attempt  [-0-9T:]+Z \(in (9|10) min\)$'
has show-dave '^  last error    HTTP 503: unavailable$'
run show-erin 0 show id-erin
has show-erin "^  next attempt  none until 'membersync retry --member id-erin'"
run show-gina 0 show gina --json
ms_assert_eq 'disabled|disabled in the directory|r-7|null' \
    "$(jq -r '.[] | "\(.status)|\(.excluded)|\(.remote_id)|\(.op)"' "$T/show-gina.out")" "show --json"
run show-hank 0 --json show hank
ms_assert_eq "deleted $((NOW - 400)) 0 0" \
    "$(jq -r '.[0] | "\(.status) \(.gone_at) \(.attempts) \(.failures)"' "$T/show-hank.out")" "show --json: gone_at"
run show-alice-json 0 show alice --json
ms_assert_eq 'archive rainbond' "$(jq -r '[.[].target] | join(" ")' "$T/show-alice-json.out")" "show: every target"
run show-none 66 show nobody
has show-none.err "^membersync: no member 'nobody' in $T/state/state.db"
[[ ! -s "$T/show-none.out" ]] || ms_fail "show: output for a member not found"
run show-usage 64 show

ms_log "members"
run members-q 0 members --quarantined
has members-q '^rainbond +quarantined +uid=erin,ou=people,dc=example,dc=org  \[key erin, add, 5 failed attempts \(5 permanent\), updated'
has members-q '^1 member$'
run members-d 0 members --disabled
has members-d 'uid=gina,.*excluded: disabled in the directory\]$'
run members-x 0 members --deleted --target rainbond
has members-x 'uid=hank,.*gone from the directory'
run members-json 0 members --failed --json
ms_assert_eq 'archive|zed|add|1|0 rainbond|dave|update|2|1' \
    "$(jq -r '[.[] | "\(.target)|\(.key)|\(.op)|\(.attempts)|\(.failures)"] | join(" ")' "$T/members-json.out")" \
    "members --failed --json"
run members-all 0 members --json
ms_assert_eq 10 "$(jq length "$T/members-all.out")" "members --json: every row"

ms_log "--state reads that file without the configuration"
cp "$DB" "$T/copy.db"
rc=0
"$MEMBERSYNC" -c "$T/nonexistent.conf" show alice --state "$T/copy.db" >/dev/null 2>"$T/state-opt.err" || rc=$?
ms_assert_eq 0 "$rc" "show --state without a configuration"
rc=0
"$MEMBERSYNC" -c "$T/nonexistent.conf" status --state "$T/copy.db" >/dev/null 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "status --state still needs the configuration's targets"
sqlite3 "$T/copy.db" 'PRAGMA user_version = 5' >/dev/null
rc=0
ms status --state "$T/copy.db" >/dev/null 2>"$T/newer.err" || rc=$?
ms_assert_eq 69 "$rc" "status on a database of another schema version"
grep -q 'schema version 5, expected 4' "$T/newer.err" || ms_fail "schema version message: $(cat "$T/newer.err")"

ms_log "retry"
run retry-usage 64 retry
has retry-usage.err '^membersync: retry: say what to retry: --target T, --member M'
run retry-mixed 64 retry --all --target rainbond
run retry-unknown 64 retry --target nope
run retry-erin 0 retry --member erin
has retry-erin '^1 member will be retried at the next cycle$'
ms_assert_eq 'failed|0|0|0' "$(sql "SELECT status, attempts, failures, next_attempt_at FROM members WHERE source_id = 'id-erin'")" \
    "retry --member: erin released"
ms_assert_eq "$((NOW + 3600))" "$(sql "SELECT paused_until FROM target_pauses WHERE target = 'rainbond'")" \
    "retry --member leaves pauses alone"
ms_assert_eq 'failed|2|1' "$(sql "SELECT status, attempts, failures FROM members WHERE source_id = 'id-dave'")" \
    "retry --member: dave untouched"
run retry-target 0 retry --target rainbond
# dave, and erin again (failed now, released once more).
has retry-target '^2 members will be retried at the next cycle$'
has retry-target "^rainbond: pause lifted; it was to last until [-0-9T:]+Z \(in (59 min|1 h)\): the API's quota is spent \(monthly\)$"
ms_assert_eq 0 "$(sql "SELECT paused_until FROM target_pauses WHERE target = 'rainbond'")" "retry --target: pause gone"
ms_assert_eq '0|0|0' "$(sql "SELECT attempts, failures, next_attempt_at FROM members WHERE source_id = 'id-dave'")" \
    "retry --target: dave released"
ms_assert_eq "1|$((NOW + 60))" "$(sql "SELECT attempts, next_attempt_at FROM members WHERE target = 'archive' AND source_id = 'id-zed'")" \
    "retry --target rainbond leaves archive alone"
run retry-all 0 --json retry --all
ms_assert_eq '3 0' "$(jq -r '"\(.released) \(.pauses_lifted | length)"' "$T/retry-all.out")" "retry --all --json"
ms_assert_eq 0 "$(sql "SELECT count(*) FROM members WHERE status IN ('failed', 'quarantined') AND next_attempt_at > 0")" \
    "retry --all: everyone due"
ms_assert_eq 0 "$(sql "SELECT paused_until FROM target_pauses WHERE target = 'archive'")" "retry --all: old pause cleared"
run retry-nothing 0 retry --member alice
has retry-nothing "^No failed or quarantined member matches 'alice': nothing to retry$"

ms_log "approve"
run approve-usage 64 approve
run approve-unknown 64 approve nope
has approve-unknown.err "^membersync: no target named 'nope' in $T/membersync.conf$"
run approve-none 66 approve archive
has approve-none.err '^membersync: archive: no deprovisioning plan is held, so there is nothing to approve'
run approve 0 approve rainbond
# The age is checked exactly in plan above; a slow run (memcheck) gets here minutes later.
has approve '^rainbond: approved 3 deprovisions \(max_deprovision allows 1 of 4 members\), held [-0-9T:]+Z \([0-9]+ min ago\)$'
has approve '^The next cycle carries out a plan of at most 3 deprovisions, once; a larger one is held again\.$'
ms_assert_eq 1 "$(sql "SELECT approved_at >= $NOW FROM holds WHERE target = 'rainbond'")" "approve: approved_at"
run approve-again 0 approve rainbond --json
ms_assert_eq 'true 3' "$(jq -r '"\(.already_approved) \(.count)"' "$T/approve-again.out")" "approve twice"
run plan-approved 0 plan
has plan-approved '^  approved [-0-9T:]+Z \(just now\): the next cycle carries out a plan of at most 3, once$'
run status-approved 0 --json status --target rainbond
ms_assert_eq true "$(jq '.targets[0].held.approved' "$T/status-approved.out")" "status: approved"

ms_log "forget"
run forget-noyes 64 forget alice
has forget-noyes.err "^membersync: forget: nothing done without --yes \('membersync show alice' lists the rows first\)$"
has forget-noyes.err "^member the target already has\.$"
ms_assert_eq 2 "$(sql "SELECT count(*) FROM members WHERE source_id = 'id-alice'")" "forget without --yes removes nothing"
run forget-one 0 forget alice --target archive --yes
has forget-one '^archive: forgot uid=alice,ou=people,dc=example,dc=org \(synced, key alice\)$'
has forget-one '^1 row removed; the next cycle treats the entry as new$'
ms_assert_eq rainbond "$(sql "SELECT group_concat(target) FROM members WHERE source_id = 'id-alice'")" \
    "forget --target: only archive's row"
run forget-json 0 --json forget uid=alice,ou=people,dc=example,dc=org --yes
ms_assert_eq '1 rainbond' "$(jq -r '"\(.removed) \(.rows[0].target)"' "$T/forget-json.out")" "forget --json"
run forget-none 66 forget alice --yes
has forget-none.err "^membersync: no member 'alice' in $T/state/state.db"
ms_assert_eq 8 "$(sql "SELECT count(*) FROM members")" "rows left"

# Memory errors and leaks of each verb, reading and writing (valgrind-once.sh
# does the daemon). Under scripts/test-valgrind.sh every call above already
# ran under memcheck, and valgrind cannot run inside valgrind.
VALGRIND=${VALGRIND:-$(command -v valgrind || true)}
if [[ -n "$VALGRIND" && "${SANITIZERS:-no}" != yes && -z ${MS_MEMCHECK:-} ]]; then
    ms_log "valgrind"
    for verb in "status" "--json status" "plan" "show dave" "members --failed" "retry --all" "approve rainbond" \
        "forget bob --yes"; do
        rc=0
        # shellcheck disable=SC2086
        "$VALGRIND" --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --num-callers=30 \
            --log-file="$T/valgrind.log" "$MEMBERSYNC" -c "$T/membersync.conf" $verb >/dev/null 2>&1 || rc=$?
        if [[ "$rc" != 0 ]] || ! grep -q "ERROR SUMMARY: 0 errors" "$T/valgrind.log"; then
            cat "$T/valgrind.log" >&2
            ms_fail "valgrind: membersync $verb (exit status $rc)"
        fi
    done
fi
ms_log "ok"
