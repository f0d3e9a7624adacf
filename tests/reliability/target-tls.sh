#!/usr/bin/env bash
# Certificate checks on the target side: the simulator serves HTTPS with a
# certificate from the harness's throwaway CA, which no system store
# trusts. Checked:
#  1. by default the API is refused: no member reaches it, none is
#     recorded as synced, the log says the certificate is the problem and
#     the target is paused for the cycle (not every member retried);
#  2. ca_file naming another CA: refused the same way;
#  3. ca_file naming the right CA: every member delivered;
#  4. tls_verify = false: delivered, with a file:line warning at load that
#     the certificate is not checked;
#  5. --check-config: a missing ca_file is a file:line error, tls_verify =
#     false a warning.
# Why: the credentials go in every request, so a target that accepts any
# certificate hands them to whoever sits on the network path.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd openssl curl jq sqlite3
ms_setup
ms_slapd_start
if [[ -z "${TARGETSIM:-}" || ! -x "$TARGETSIM" ]]; then
    ms_error "TARGETSIM is not set or not an executable"
fi
_ms_pki_create
CA="$T/pki/ca.crt"
OTHER_CA="$T/pki/other-ca.crt"

# The simulator over HTTPS, started here rather than with ms_sim_start,
# whose readiness probe speaks plain HTTP.
TOKEN_FILE="$T/rest.token"
(umask 077 && printf 'tls-test-token-%s' "$RANDOM$RANDOM" >"$TOKEN_FILE")
"$TARGETSIM" --port 0 --port-file "$T/sim.port" --rest-token-file "$TOKEN_FILE" \
    --tls-cert "$T/pki/server.crt" --tls-key "$T/pki/server.key" </dev/null >>"$T/sim.log" 2>&1 &
tls_sim_pid=$!
ms_register_pid "$tls_sim_pid"
# sim_curl ARGS...: the simulator's control API, trusting the test CA.
sim_curl() {
    curl -sS -f --max-time 10 --noproxy '*' --cacert "$CA" "$@"
}
port=
for ((i = 0; i < 100; i++)); do
    kill -0 "$tls_sim_pid" 2>/dev/null || ms_error "the simulator exited at startup, see $T/sim.log"
    port=$(cat "$T/sim.port" 2>/dev/null || true)
    if [[ "$port" =~ ^[1-9][0-9]*$ ]] && sim_curl -o /dev/null "https://127.0.0.1:$port/_sim/state" 2>/dev/null; then
        break
    fi
    port=
    sleep 0.1
done
[[ -n "$port" ]] || ms_error "the simulator does not answer over HTTPS, see $T/sim.log"
URL="https://127.0.0.1:$port"
grep -q "listening on https://127.0.0.1:$port" "$T/sim.log" || ms_fail "the simulator does not say it serves HTTPS"
# Plain HTTP to that port must not work: the test really is about TLS.
if curl -sS -f --max-time 5 --noproxy '*' -o /dev/null "http://127.0.0.1:$port/_sim/state" 2>/dev/null; then
    ms_fail "the simulator answers plain HTTP on its HTTPS port"
fi

members() {
    sim_curl "$URL/_sim/state" | jq '.apis.rest.members | length'
}
posts() {
    sim_curl "$URL/_sim/state" | jq '[.log[] | select(.method == "POST" and .path == "/rest/members")] | length'
}
synced_rows() {
    if [[ -f "$T/$1.state/state.db" ]]; then
        sqlite3 -readonly "$T/$1.state/state.db" "SELECT count(*) FROM members WHERE status = 'synced'"
    else
        echo 0
    fi
}

# tls_conf NAME SETTING...: $T/membersync.conf with one rest target at the
# HTTPS simulator, SETTINGs (one per line) in the target, state of its own.
tls_conf() {
    local name=$1 line
    shift
    ms_conf_write "$T/membersync.conf" "$(
        cat <<EOT
  { name = "hr-api"; driver = "rest"; url = "$URL/rest/members";
    key = "email"; remote_id_path = "id";
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 1;
    auth = { key_file = "$TOKEN_FILE"; };
EOT
        for line in "$@"; do
            printf '    %s\n' "$line"
        done
        cat <<EOT
    map = { email = "\${mail | lower}"; name = "\${displayName | default(cn)}"; };
  }
EOT
    )"
    sed -i "s|^state_dir = .*|state_dir = \"$T/$name.state\";|" "$T/membersync.conf"
}
line_of() {
    grep -n "^    $1 = " "$T/membersync.conf" | cut -d: -f1
}

# refused NAME: nothing reached the API, nothing is recorded as synced, and
# the log blames the certificate.
refused() {
    ms_assert_eq 0 "$(members)" "$1: members at the API"
    ms_assert_eq 0 "$(posts)" "$1: POSTs that reached the API"
    ms_assert_eq 0 "$(synced_rows "$1")" "$1: members recorded as synced"
    [[ "$MS_RC" != 0 ]] || ms_fail "$1: exit status 0 although nothing could be sent"
    # One clear message, and a pause rather than a retry of every member:
    # each retry would be one more handshake with a possible impostor.
    grep -q "^error: hr-api: paused for the rest of this cycle: the API's TLS certificate cannot be verified (.*certificate.*); trust its CA with ca_file$" \
        "$T/$1.log" || ms_fail "$1: the log does not say that the API's certificate was refused"
    grep -q "cycle 1 finished in .*hr-api: 0 added,.* not attempted" "$T/$1.log" ||
        ms_fail "$1: the target was not paused: members were still tried after the certificate failed"
}
delivered() {
    ms_assert_eq 0 "$MS_RC" "$1: exit status"
    ms_assert_eq 205 "$(members)" "$1: members at the API"
    ms_assert_eq 205 "$(synced_rows "$1")" "$1: members recorded as synced"
}

ms_log "1. default settings: the test CA is not trusted"
tls_conf default
ms_once default
refused default

ms_log "2. ca_file of another CA: refused"
tls_conf other-ca "ca_file = \"$OTHER_CA\";"
ms_once other-ca
refused other-ca

ms_log "3. ca_file of the CA that signed the API's certificate: delivered"
tls_conf right-ca "ca_file = \"$CA\";"
ms_once right-ca
delivered right-ca
if grep -q 'tls_verify' "$T/right-ca.log"; then
    ms_fail "right-ca: a warning about tls_verify although it is on"
fi

ms_log "4. tls_verify = false: delivered, with a warning"
sim_curl -o /dev/null -X POST "$URL/_sim/reset"
ms_assert_eq 0 "$(members)" "members after the simulator's reset"
tls_conf no-verify "tls_verify = false;"
ms_once no-verify
delivered no-verify
grep -q "membersync.conf:$(line_of tls_verify): .*target hr-api: tls_verify = false: the API's certificate is not checked" \
    "$T/no-verify.log" || ms_fail "no-verify: no file:line warning about the unchecked certificate"

ms_log "5. --check-config: a missing ca_file, tls_verify = false"
tls_conf missing-ca "ca_file = \"$T/no-such-ca.crt\";"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/missing-ca.log" 2>&1 || rc=$?
ms_assert_eq 78 "$rc" "missing-ca: --check-config exit status"
grep -q "membersync.conf:$(line_of ca_file): .*target hr-api: ca_file $T/no-such-ca.crt: No such file or directory" \
    "$T/missing-ca.log" || ms_fail "missing-ca: no file:line error about the missing ca_file"
tls_conf check-no-verify "tls_verify = false;"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/check-no-verify.log" 2>&1 || rc=$?
ms_assert_eq 0 "$rc" "check-no-verify: --check-config exit status"
grep -q "membersync.conf:$(line_of tls_verify): warning: target hr-api: tls_verify = false" \
    "$T/check-no-verify.log" || ms_fail "check-no-verify: no warning from --check-config"
