#!/usr/bin/env bash
# Secrets audit: every credential membersync reads (the LDAP bind password
# and each driver's key, token, app key, app secret or client secret) sits
# in a file of its own holding a unique marker, S3CR3T-<random>-<name>;
# one of them reaches the daemon through $CREDENTIALS_DIRECTORY as systemd
# would pass it. The daemon then runs the ways an operator meets it:
#   - a successful run at log_level debug against slapd and targetsim with
#     all seven drivers (rainbond, dingtalk, babelbird, compai, devin, scim,
#     rest), metrics_file on;
#   - failing runs: a wrong LDAP bind password; wrong credentials for every
#     target (each answered 401 or the API's own refusal, each wrong value
#     a marker too); a configuration with an error next to the secrets;
#   - --dry-run and --check; --check-config;
#   - a long-running daemon: SIGHUP reload, SIGTERM, and crashes (SIGSEGV
#     and SIGABRT with core dumps off);
#   - the membersync CLI: status, members, show, plan (text and --json)
#     and map (which binds to the directory itself);
#   - the same successful and failing runs logging to a private
#     systemd-journald (skipped, with the reason logged, where unshare is
#     not allowed).
# None of the markers, nor their base64 at any alignment (Basic auth),
# nor the access and refresh tokens the simulator handed out (DingTalk,
# BabelBird), may appear in: stdout and stderr of every run, the journal
# (every field, journalctl -o export), the state database and its WAL,
# the metrics file, or /proc/PID/cmdline and /proc/PID/environ of the
# running daemon.
# The scanner proves itself every run: an entry whose uid is a canary
# marker is logged (the mapping rejects it), and the canary must be found
# in the logs, the journal and the state database; a scanner that looked in
# the wrong place, or not at all, fails there.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/lib-journal.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 jq curl base64 od slappasswd
ms_setup
ms_slapd_start

# ---------------------------------------------------------------- markers

MARKERS=()
rand_hex() {
    local r
    r=$(od -An -tx1 -N8 /dev/urandom) || ms_error "cannot read /dev/urandom"
    printf '%s' "${r//[[:space:]]/}"
}
# plant FILE NAME: a marker for NAME in FILE (mode 600), remembered.
plant() {
    local m
    m="S3CR3T-$(rand_hex)-$2"
    mkdir -p -- "$(dirname -- "$1")"
    (umask 077 && printf '%s' "$m" >"$1") || ms_error "cannot write $1"
    MARKERS+=("$m")
}

# The LDAP bind password: the service account's password becomes a marker.
LDAP_PW="$T/secrets/ldap.pw"
plant "$LDAP_PW" ldap-bind
hash=$(slappasswd -T "$LDAP_PW") || ms_error "slappasswd failed"
ms_ldapmodify <<EOT || ms_error "cannot set the service account's password"
dn: $LDAP_SVC_DN
changetype: modify
replace: userPassword
userPassword: $hash
EOT
LDAP_WRONG_PW="$T/secrets/ldap-wrong.pw"
plant "$LDAP_WRONG_PW" ldap-wrong

# The simulator's credentials, written where ms_sim_start looks for them
# (it keeps files that exist) so that it accepts the markers.
plant "$T/rainbond.key" rainbond
plant "$T/rest.token" rest
for name in dingtalk.appkey dingtalk.appsecret babelbird.client_secret compai.key devin.key scim.token; do
    plant "$T/sim-secrets/$name" "$name"
done
# A client id is no secret (it is in the configuration), but it is half of
# BabelBird's Basic credentials.
CLIENT_ID="membersync-audit-$(rand_hex)"
printf '%s' "$CLIENT_ID" >"$T/sim-secrets/babelbird.client_id"
ms_sim_start
[[ "$(<"$SIM_RAINBOND_KEYFILE")" == S3CR3T-* && "$(<"$SIM_SECRETS/scim.token")" == S3CR3T-* ]] ||
    ms_error "the simulator did not take the planted credentials"

# The rest token reaches the daemon as a systemd credential: key_file names
# it relative, and $CREDENTIALS_DIRECTORY holds it.
CREDS="$T/creds"
mkdir -p "$CREDS"
cp -- "$SIM_REST_TOKENFILE" "$CREDS/rest.token"
chmod 600 "$CREDS/rest.token"
export CREDENTIALS_DIRECTORY="$CREDS"

# Wrong credentials for every target, markers as well.
W="$T/secrets/wrong"
for name in rainbond rest dingtalk.appkey dingtalk.appsecret babelbird.client_secret compai.key devin.key scim.token; do
    plant "$W/$name" "wrong-$name"
done
ms_log "planted ${#MARKERS[@]} markers"

# The canary: an entry whose uid is logged (no mail: every target's
# mapping skips it) and stored in the state database.
CANARY="CANARY-$(rand_hex)-uid"
ms_ldapadd <<EOT || ms_error "cannot add the canary entry"
dn: uid=$CANARY,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: $CANARY
cn: Canary
sn: Canary
EOT

# ------------------------------------------------------------- the config

ORG=org-audit
curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"org_id\":\"$ORG\"}" "$SIM_URL/_sim/api/devin/add-org" ||
    ms_error "cannot create the Devin organization"

RETRY='retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 1;'
# targets DIR: every driver, credentials from DIR (the simulator's files,
# or $W for the wrong ones). The rest token: the systemd credential
# "rest.token" for the right one.
targets() {
    local d=$1 rb rt dk ds bs ck dv sc
    if [[ "$d" == ok ]]; then
        rb=$SIM_RAINBOND_KEYFILE rt=rest.token dk=$SIM_SECRETS/dingtalk.appkey ds=$SIM_SECRETS/dingtalk.appsecret
        bs=$SIM_SECRETS/babelbird.client_secret ck=$SIM_SECRETS/compai.key dv=$SIM_SECRETS/devin.key
        sc=$SIM_SECRETS/scim.token
    else
        rb=$W/rainbond rt=$W/rest dk=$W/dingtalk.appkey ds=$W/dingtalk.appsecret
        bs=$W/babelbird.client_secret ck=$W/compai.key dv=$W/devin.key sc=$W/scim.token
    fi
    cat <<EOT
  { name = "rainbond"; driver = "rainbond"; url = "$SIM_URL"; $RETRY
    auth = { key_file = "$rb"; };
    map = { nick_name = "\${uid}"; email = "\${mail | lower}"; password = "\${random_password(12)}";
            enterprise_id = "ent-demo"; phone = "\${mobile}"; is_active = true; origion = "ldap"; };
  },
  { name = "rest"; driver = "rest"; url = "$SIM_URL/rest/members"; key = "email"; remote_id_path = "id"; $RETRY
    auth = { key_file = "$rt"; };
    map = { email = "\${mail | lower}"; name = "\${displayName | default(cn)}"; uid = "\${uid}"; };
  },
  { name = "dingtalk"; driver = "dingtalk"; url = "$SIM_URL/dingtalk"; $RETRY rate_limit = 0;
    auth = { appkey_file = "$dk"; appsecret_file = "$ds"; };
    map = { name = "\${displayName | default(cn)}"; mobile = "\${mobile}";
            dept_id_list = "\${departmentNumber[*] | join(',') | default('1')}"; userid = "\${uid}";
            email = "\${mail | lower}"; };
  },
  { name = "babelbird"; driver = "babelbird"; url = "$SIM_URL/babelbird"; $RETRY
    auth = { client_id = "$CLIENT_ID"; client_secret_file = "$bs";
             redirect_uri = "https://membersync.example.org/oauth/callback"; };
    map = { email = "\${mail | lower}"; password = "\${random_password(12)}"; name = "\${displayName | default(cn)}";
            phone = "\${mobile}"; sex = 0; can_ownfile = -1; spacelimit = 10; };
  },
  { name = "compai"; driver = "compai"; url = "$SIM_URL/compai"; $RETRY
    auth = { key_file = "$ck"; };
    map = { email = "\${mail | lower}"; userId = "\${employeeType}"; role = "employee"; isActive = true; };
  },
  { name = "devin"; driver = "devin"; url = "$SIM_URL/devin"; org_id = "$ORG"; $RETRY
    auth = { key_file = "$dv"; };
    map = { email = "\${mail | lower}"; };
  },
  { name = "scim"; driver = "scim"; url = "$SIM_URL/scim"; $RETRY
    auth = { key_file = "$sc"; };
    map = { userName = "\${uid}"; externalId = "\${entryUUID}"; displayName = "\${displayName | default(cn)}";
            email = "\${mail | lower}"; active = true; password = "\${random_password(16)}"; };
  }
EOT
}
# conf FILE CREDS [PWFILE [EXTRA_SOURCE]]: a configuration at log_level
# debug (the most that can be logged), metrics on.
conf() {
    ms_conf_write "$1" "$(targets "$2")" "poll_interval = 2; ${4:-}"
    sed -i -e "s|^  bind_password_file = .*|  bind_password_file = \"${3:-$LDAP_PW}\";|" \
        -e 's|^log_level = .*|log_level = "debug";|' \
        -e "/^state_dir = /a metrics_file = \"$T/metrics.prom\";" "$1"
}
conf "$T/membersync.conf" ok

# --------------------------------------------------------------- scanning

# Everything that must never appear: the markers, their base64 at the
# three alignments (the middle, which does not depend on what surrounds
# the marker in the encoded text), BabelBird's Basic credentials, and
# (added later) the tokens the simulator handed out.
NEEDLES=()
add_needle_b64() {
    local k enc pad
    for k in 0 1 2; do
        pad=$(printf '%*s' "$k" '')
        enc=$(printf '%s%s' "$pad" "$1" | base64 -w0)
        if ((k == 0)); then
            NEEDLES+=("${enc:0:${#enc}-4}")
        else
            NEEDLES+=("${enc:4:${#enc}-8}")
        fi
    done
}
for m in "${MARKERS[@]}"; do
    NEEDLES+=("$m")
    add_needle_b64 "$m"
done
add_needle_b64 "$CLIENT_ID:$(<"$SIM_SECRETS/babelbird.client_secret")"
printf '%s\n' "${NEEDLES[@]}" >"$T/needles"

SCANNED=0
# scan WHAT FILE...: fails when any needle is in any FILE (raw bytes).
scan() {
    local what=$1 f hit
    shift
    for f in "$@"; do
        [[ -e "$f" ]] || ms_error "scan $what: $f does not exist"
        hit=$(grep -aoF -f "$T/needles" -- "$f" | head -n 1 || true)
        if [[ -n "$hit" ]]; then
            ms_fail "$what: a secret is in $f: '$hit'"
        fi
        SCANNED=$((SCANNED + 1))
    done
}
# canary WHAT FILE: the scanner's own check; fails unless the canary is
# in FILE (so the scanner looks where the daemon really writes).
canary() {
    grep -aqF -- "$CANARY" "$2" || ms_fail "$1: the canary uid is not in $2: the scan there proves nothing"
}
state_files() {
    local f
    for f in "$T/state/state.db" "$T/state/state.db-wal" "$T/state/state.db-shm"; do
        if [[ -e "$f" ]]; then
            printf '%s\n' "$f"
        fi
    done
}
scan_state() {
    local files
    mapfile -t files < <(state_files)
    scan "$1: state database" "${files[@]}"
}

# ------------------------------------------------------------ --once runs

ms_log "1. a successful run, every driver, log_level debug"
ms_once good
grep -q "cycle 1 finished" "$T/good.log" || ms_fail "good: the cycle did not finish"
ms_assert_eq 205 "$(ms_sim_jq '.apis.rest.members | length')" "good: members at the rest API"
for t in rainbond rest dingtalk babelbird scim; do
    n=$(ms_state_sql "SELECT count(*) FROM members WHERE target = '$t' AND status = 'synced'")
    ((n > 100)) || ms_fail "good: only $n members synced to $t: the run did not really send credentials there"
done
# Each driver sent its credentials and got past them.
for t in compai devin; do
    n=$(ms_sim_jq --arg a "$t" '[.log[] | select(.api == $a and .status != 401 and .status != 403)] | length')
    ((n > 0)) || ms_fail "good: no accepted request at $t"
done
# The tokens handed out are secrets too.
mapfile -t tokens < <(ms_sim_jq '(.apis.dingtalk.tokens // [])[], (.apis.babelbird.access_tokens // [])[], (.apis.babelbird.refresh_tokens // [])[]')
((${#tokens[@]} >= 3)) || ms_fail "good: the simulator handed out ${#tokens[@]} tokens, expected DingTalk's and BabelBird's"
printf '%s\n' "${tokens[@]}" >>"$T/needles"
ms_log "scanning for ${#MARKERS[@]} markers, their base64 and ${#tokens[@]} tokens"
scan good "$T/good.log" "$T/metrics.prom"
scan_state good
canary good "$T/good.log"
canary good "$T/state/state.db"
grep -q '^membersync_' "$T/metrics.prom" || ms_fail "good: the metrics file has no membersync metrics"

ms_log "2. dry runs and --check-config"
for mode in dry-run check check-config; do
    rc=0
    "$MEMBERSYNCD" "--$mode" --foreground --config "$T/membersync.conf" >"$T/$mode.log" 2>&1 || rc=$?
    [[ -s "$T/$mode.log" ]] || ms_fail "--$mode printed nothing (exit status $rc)"
    scan "--$mode" "$T/$mode.log"
done

ms_log "3. the membersync CLI"
cli() {
    local name=$1 rc=0
    shift
    "$MEMBERSYNC" -c "$T/membersync.conf" "$@" >"$T/cli-$name.out" 2>"$T/cli-$name.err" || rc=$?
    [[ -s "$T/cli-$name.out" || -s "$T/cli-$name.err" ]] || ms_fail "membersync $*: no output (exit status $rc)"
    scan "membersync $*" "$T/cli-$name.out" "$T/cli-$name.err"
}
cli status status
cli status-json --json status
cli members members
cli members-json --json members --invalid
cli show show user0001@example.org
cli show-json --json show "uid=$CANARY,$LDAP_PEOPLE"
canary "membersync show" "$T/cli-show-json.out"
cli plan --json plan
cli map map --target rest --dn "uid=user0002,$LDAP_PEOPLE"
cli map-rb --json map --target babelbird --sample
grep -q 'user0002@example.org' "$T/cli-map.out" || ms_fail "membersync map did not read the entry (did it bind?)"

ms_log "4. failing runs: a wrong bind password, wrong credentials everywhere, a bad configuration"
conf "$T/bad-ldap.conf" ok "$LDAP_WRONG_PW"
rc=0
"$MEMBERSYNCD" --once --foreground --config "$T/bad-ldap.conf" >"$T/bad-ldap.log" 2>&1 || rc=$?
[[ "$rc" != 0 ]] || ms_fail "bad-ldap: exit status 0 with a wrong bind password"
grep -qi "invalid credentials\|cannot read the directory" "$T/bad-ldap.log" ||
    ms_fail "bad-ldap: the bind failure is not reported"
scan bad-ldap "$T/bad-ldap.log"

ms_sim_reset
curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"org_id\":\"$ORG\"}" "$SIM_URL/_sim/api/devin/add-org"
conf "$T/wrong.conf" wrong
sed -i "s|^state_dir = .*|state_dir = \"$T/state-wrong\";|" "$T/wrong.conf"
rc=0
"$MEMBERSYNCD" --once --foreground --config "$T/wrong.conf" >"$T/wrong.log" 2>&1 || rc=$?
for t in rainbond rest dingtalk babelbird compai devin scim; do
    grep -q "$t: paused for the rest of this cycle\|$t: .*refused\|$t: .*access token" "$T/wrong.log" ||
        ms_fail "wrong: no refusal reported for $t"
done
scan wrong "$T/wrong.log"
scan "wrong: state database" "$T/state-wrong/state.db"

# APIs that quote the credentials they refuse: the daemon logs (and keeps
# in the state database) what an API answers, so a secret in an answer
# must be blanked out before it is shown anywhere.
ms_sim_reset
curl -sS -f --noproxy '*' --max-time 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"org_id\":\"$ORG\"}" "$SIM_URL/_sim/api/devin/add-org"
# echo_fault API STATUS BODY: every request to API answered so.
echo_fault() {
    ms_sim_fault "$(jq -nc --arg a "$1" --argjson s "$2" --arg b "$3" \
        '{api: $a, status: $s, body: $b, content_type: "application/json", count: -1}')" ||
        ms_error "cannot set a fault on $1"
}
sec() { jq -Rs . <"$1"; }
echo_fault rainbond 401 "{\"code\":401,\"msg\":$(sec "$SIM_RAINBOND_KEYFILE" | sed 's/^"/"invalid access key /')}"
echo_fault rest 401 "{\"error\":$(sec "$SIM_REST_TOKENFILE" | sed 's/^"/"invalid token /')}"
echo_fault scim 401 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"401\",\"detail\":$(sec "$SIM_SECRETS/scim.token" | sed 's/^"/"bad bearer token /')}"
echo_fault devin 401 "{\"detail\":$(sec "$SIM_SECRETS/devin.key" | sed 's/^"/"Invalid API key /')}"
echo_fault compai 401 "{\"message\":$(sec "$SIM_SECRETS/compai.key" | sed 's/^"/"unknown key /')}"
# DingTalk: the access token is fetched here first; the simulator hands
# the daemon the same one (it renews a valid token), and then every call
# answers that this token is invalid, quoting it.
dt_token=$(curl -sS -f --noproxy '*' --max-time 10 -G --data-urlencode "appkey@$SIM_SECRETS/dingtalk.appkey" \
    --data-urlencode "appsecret@$SIM_SECRETS/dingtalk.appsecret" "$SIM_URL/dingtalk/gettoken" | jq -r .access_token)
[[ -n "$dt_token" && "$dt_token" != null ]] || ms_error "no DingTalk token from the simulator"
printf '%s\n' "$dt_token" >>"$T/needles"
ms_sim_fault "$(jq -nc --arg b "{\"errcode\":40014,\"errmsg\":\"invalid access_token $dt_token\"}" \
    '{api: "dingtalk", skip: 1, status: 200, body: $b, content_type: "application/json", count: -1}')"
echo_fault babelbird 401 "{\"error\":\"invalid_client\",\"error_description\":$(sec "$SIM_SECRETS/babelbird.client_secret" | sed 's/^"/"wrong client secret /')}"
sed "s|^state_dir = .*|state_dir = \"$T/state-echo\";|" "$T/membersync.conf" >"$T/echo.conf"
rc=0
"$MEMBERSYNCD" --once --foreground --config "$T/echo.conf" >"$T/echo.log" 2>&1 || rc=$?
ms_sim_clear_faults
for t in rainbond rest dingtalk babelbird compai devin scim; do
    n=$(ms_sim_jq --arg a "$t" '[.log[] | select(.api == $a and .fault != null)] | length')
    ((n > 0)) || ms_fail "echo: no request to $t met the fault"
done
# The answers were logged, masked: otherwise the scan proves nothing.
for t in rainbond rest scim devin compai babelbird; do
    grep -q "^error: $t: paused for the rest of this cycle: .*[*]\{8\}" "$T/echo.log" ||
        ms_fail "echo: $t's answer quoting the credential is not in the log, masked"
done
grep -q "^warning: dingtalk: .*invalid access_token [*]\{8\}" "$T/echo.log" ||
    ms_fail "echo: DingTalk's answer quoting the token is not in the log, masked"
scan "echo: answers quoting the credentials" "$T/echo.log"
scan "echo: state database" "$T/state-echo/state.db"

# A configuration error on a target, next to the secrets: an inline key
# (which membersync does not take) holding a marker, and a syntax error on
# the line after it. The messages must not quote either.
INLINE="S3CR3T-$(rand_hex)-inline"
MARKERS+=("$INLINE")
printf '%s\n' "$INLINE" >>"$T/needles"
add_needle_b64 "$INLINE"
printf '%s\n' "${NEEDLES[@]: -3}" >>"$T/needles"
sed -e "s|auth = { key_file = \"$SIM_RAINBOND_KEYFILE\"; };|auth = { key = \"$INLINE\"; key_file = \"$SIM_RAINBOND_KEYFILE\"; };|" \
    "$T/membersync.conf" >"$T/bad-key.conf"
grep -qF "$INLINE" "$T/bad-key.conf" || ms_error "bad-key.conf: the inline key was not written"
sed -e "s|bind_password_file = \"$LDAP_PW\";|bind_password = $INLINE;|" "$T/membersync.conf" >"$T/bad-syntax.conf"
grep -qF "$INLINE" "$T/bad-syntax.conf" || ms_error "bad-syntax.conf: the inline password was not written"
for c in bad-key bad-syntax; do
    for mode in once check-config; do
        rc=0
        "$MEMBERSYNCD" "--$mode" --foreground --config "$T/$c.conf" >"$T/$c-$mode.log" 2>&1 || rc=$?
        ms_assert_eq 78 "$rc" "$c --$mode: exit status (EX_CONFIG)"
        scan "$c --$mode" "$T/$c-$mode.log"
    done
done

# ----------------------------------------------------- a running daemon

ms_log "5. a running daemon: /proc, SIGHUP, SIGTERM"
# start_daemon NAME: membersyncd in the background, stderr and stdout to
# $T/NAME.log, core dumps off; sets DPID.
start_daemon() {
    (
        ulimit -c 0
        exec "$MEMBERSYNCD" --foreground --config "$T/membersync.conf" </dev/null >"$T/$1.log" 2>&1
    ) &
    DPID=$!
    ms_register_pid "$DPID"
}
wait_log() { # NAME REGEX SECS
    ms_wait_until "$3" grep -qs -- "$2" "$T/$1.log" || ms_fail "$1: no '$2' in the log after $3 s"
}
start_daemon live
wait_log live "cycle 1 finished" 60
# A running daemon's argv and environment (the environment does hold
# CREDENTIALS_DIRECTORY, a path, which is fine).
tr '\0' '\n' <"/proc/$DPID/cmdline" >"$T/live.cmdline"
tr '\0' '\n' <"/proc/$DPID/environ" >"$T/live.environ"
grep -q -- '--config' "$T/live.cmdline" || ms_error "read the wrong process's cmdline: $(cat "$T/live.cmdline")"
grep -q '^CREDENTIALS_DIRECTORY=' "$T/live.environ" || ms_error "read the wrong process's environment"
scan "/proc/PID/cmdline" "$T/live.cmdline"
scan "/proc/PID/environ" "$T/live.environ"
scan_state "running daemon"
kill -HUP "$DPID"
wait_log live "configuration reloaded from" 60
wait_log live "cycle 2 finished" 60
tr '\0' '\n' <"/proc/$DPID/cmdline" >"$T/live-hup.cmdline"
scan "/proc/PID/cmdline after SIGHUP" "$T/live-hup.cmdline"
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
ms_assert_eq 0 "$rc" "the daemon's exit status after SIGTERM"
scan "running daemon, SIGHUP, SIGTERM" "$T/live.log" "$T/metrics.prom"
scan_state "after SIGTERM"

ms_log "6. crashes: SIGSEGV and SIGABRT with core dumps off"
for sig in SEGV ABRT; do
    start_daemon "crash-$sig"
    wait_log "crash-$sig" "cycle 1 finished" 60
    kill "-$sig" "$DPID"
    rc=0
    wait "$DPID" || rc=$?
    # AddressSanitizer catches SIGSEGV itself: a report (scanned below
    # like any crash message) and exit status 1 instead of the signal.
    if ((rc <= 128)) && ! [[ "${SANITIZERS:-no}" == yes && $sig == SEGV && $rc != 0 ]]; then
        ms_fail "crash-$sig: exit status $rc, expected death by a signal"
    fi
    scan "crash-$sig" "$T/crash-$sig.log"
done
scan_state "after the crashes"

# ------------------------------------------------------------- journald

ms_log "7. logging to a private systemd-journald"
if ! ms_journal_check; then
    ms_log "SKIPPED the journal part: $MS_JOURNAL_SKIP"
else
    root="$T/jroot"
    sed "s|^state_dir = .*|state_dir = \"$T/state-journal\";|" "$T/membersync.conf" >"$T/journal-ok.conf"
    sed "s|^state_dir = .*|state_dir = \"$T/state-journal-wrong\";|" "$T/wrong.conf" >"$T/journal-wrong.conf"
    sed "s|^state_dir = .*|state_dir = \"$T/state-journal\";|" "$T/bad-ldap.conf" >"$T/journal-ldap.conf"
    # membersyncd without --foreground and with stderr a file picks the
    # journal (see lib-journal.sh).
    cat >"$T/in-journal.sh" <<'EOF'
for c in journal-ok journal-wrong journal-ldap; do
    rc=0
    "$MEMBERSYNCD" --once --config "$T/$c.conf" </dev/null >"$T/$c.out" 2>&1 || rc=$?
    echo "$rc" >"$T/$c.rc"
done
EOF
    ns_rc=0
    ms_journal_run "$root" "$T/in-journal.sh" || ns_rc=$?
    if [[ -s "$T/namespace.err" ]]; then
        ms_log "SKIPPED the journal part: $(cat "$T/namespace.err"): $(tail -n 5 "$T/journald.log" | tr '\n' ' ')"
    else
        ms_assert_eq 0 "$ns_rc" "the namespace script's exit status ($(cat "$T/namespace.log"))"
        ms_assert_eq 0 "$(cat "$T/journal-ok.rc")" "journal-ok: membersyncd --once exit status"
        shopt -s nullglob
        files=("$root"/run/log/journal/*/*.journal)
        shopt -u nullglob
        ((${#files[@]} > 0)) || ms_fail "systemd-journald wrote no journal file"
        : >"$T/journal.export"
        for f in "${files[@]}"; do
            journalctl --file "$f" --no-pager -o export >>"$T/journal.export" ||
                ms_fail "journalctl cannot read $f"
        done
        n=$(grep -ac '^SYSLOG_IDENTIFIER=membersyncd$' "$T/journal.export" || true)
        ((n > 200)) || ms_fail "only $n entries from membersyncd in the journal"
        # -o export writes binary fields as length and raw bytes, which the
        # byte-wise scan covers too.
        canary journal "$T/journal.export"
        scan journal "$T/journal.export" "$T/journal-ok.out" "$T/journal-wrong.out" "$T/journal-ldap.out"
        grep -q "dingtalk: paused for the rest of this cycle" "$T/journal.export" ||
            ms_fail "journal: the failing run's refusals are not in the journal"
        ms_log "journal: $n entries from membersyncd scanned"
    fi
fi

ms_log "scanned $SCANNED files for ${#MARKERS[@]} markers (and base64, tokens): none found"
