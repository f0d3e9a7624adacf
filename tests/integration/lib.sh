# shellcheck shell=bash
# lib.sh: harness for membersync integration tests.
#
# Usage, from a test run by automake (which sets top_srcdir, top_builddir,
# MEMBERSYNCD and TARGETSIM):
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
#   ms_setup
#   ms_slapd_start
#   ms_sim_start
#   ...
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error (the
# harness itself could not do its job).
#
# Sourcing this file changes no shell options.  It does:
#   - append /usr/sbin and /sbin to PATH (slapd and friends live there);
#   - define ms_* functions and _ms_* internals and _MS_* variables.
# ms_setup additionally installs EXIT/HUP/INT/TERM traps (do not replace
# them; use ms_register_pid for processes that must be stopped) and adds
# 127.0.0.1 and localhost to no_proxy/NO_PROXY so that curl and libcurl in
# the daemon never send test traffic through a proxy from the environment.
#
# Functions that start processes (ms_slapd_start, ms_slapd_restart,
# ms_sim_start) must be called from the test's main shell, not inside $(...)
# or a pipeline, or the harness loses track of the process.  Likewise
# ms_fail/ms_skip/ms_error only end the test when not called in a subshell.
#
# Functions:
#   ms_log MSG...            "# MSG" on stderr
#   ms_skip MSG...           "SKIP: MSG", exit 77
#   ms_fail MSG...           "FAIL: MSG (file:line)", exit 1
#   ms_error MSG...          "ERROR: MSG (file:line)", exit 99
#   ms_require_cmd CMD...    skip unless every CMD is installed
#   ms_assert_eq EXP ACT MSG fail unless EXP == ACT
#   ms_wait_until SECS CMD.. run CMD every 0.1 s until it succeeds; status 1
#                            if it did not within SECS seconds
#   ms_need_membersync       MEMBERSYNC, default the build's membersync;
#                            error unless it is an executable
#   ms_memcheck_skips WHAT   under scripts/test-valgrind.sh (MS_MEMCHECK=1):
#                            log that WHAT, a part that needs a request
#                            rate memcheck's slowdown cannot reach, is
#                            skipped, and succeed; otherwise fail
#   ms_setup                 private temp dir $T, cleanup trap
#   ms_register_pid PID...   stop PID (TERM, then KILL after 5 s) at exit
#   ms_slapd_start [LDIF]    slapd loaded with LDIF (default: gen-users.sh)
#   ms_slapd_stop, ms_slapd_restart
#   ms_ldapadd, ms_ldapmodify [ARGS]   LDIF on stdin, as rootdn
#   ms_ldapdelete DN...                as rootdn
#   ms_ldapsearch ARGS...              as rootdn, -LLL, -o ldif-wrap=no (so
#                                      ARGS must not repeat that -o), and
#                                      -b LDAP_BASE unless ARGS has a -b
#   ms_sim_start [ARGS], ms_sim_stop  (ms_sim_start skips without curl/jq)
#   ms_sim_state, ms_sim_jq FILTER, ms_sim_fault JSON, ms_sim_clear_faults,
#   ms_sim_reset
#
# Environment read: MS_KEEP_TMP=1 keeps $T when the test fails (not on pass
# or skip); MS_LDAP_BASE (default dc=example,dc=org) is the suffix
# ms_slapd_start serves; MS_SLAPD_DEBUG (default 32768, i.e. only messages
# slapd logs regardless of level, such as bind errors) is passed to slapd -d;
# MS_SLAPD_MAXSIZE overrides the mdb maxsize (default 1 GiB, or 8 times the
# LDIF size if that is more).
#
# Opt-in slapd features, read by ms_slapd_start (unset or empty: off; the
# plain ldap:// setup above is unchanged either way):
#   MS_SLAPD_TLS=1  a throwaway PKI in $T/pki (made with openssl; the test
#       skips without it) and slapd serving ldaps:// on a second port as
#       well as ldap:// (StartTLS works there too).  PKI: a CA ("membersync
#       test CA"); a server certificate for IP:127.0.0.1 and DNS:localhost
#       signed by it; a client certificate "CN=membersync-client,O=membersync
#       tests" signed by it; an unrelated "membersync other CA" (for checks
#       that verification fails); keys mode 600.  slapd asks for a client
#       certificate (TLSVerifyClient try) and maps the client certificate's
#       identity, cn=membersync-client,o=membersync tests, to LDAP_SVC_DN, so
#       a SASL EXTERNAL bind with it reads what the service account reads.
#       ms_slapd_start checks that bind before it returns.  The ms_ldap*
#       helpers keep using LDAP_URI (ldap://, no TLS); ms_slapd_restart keeps
#       both ports.  Exports LDAPS_URI (ldaps://127.0.0.1:PORT, no trailing
#       slash), LDAP_CA_FILE, LDAP_CA_DIR (a directory holding only the CA
#       certificate, under its OpenSSL subject-hash name HASH.0),
#       LDAP_OTHER_CA_FILE, LDAP_CLIENT_CERT, LDAP_CLIENT_KEY.  OpenLDAP tools
#       and libldap read TLS settings from /etc/ldap/ldap.conf, ~/.ldaprc,
#       ./ldaprc and LDAPTLS_* variables; tests that need none of those
#       should clear them (see tests/integration/source-tls.sh).
#   MS_SLAPD_OVERLAYS="memberof ppolicy" (either or both, any order): those
#       overlays on the database, above syncprov.  memberof: defaults
#       (groupOfNames, member, memberOf) and memberof-refint TRUE; memberOf is
#       operational, so ask for it by name (or "+"), and it is only
#       maintained for groups written over LDAP (ms_ldapadd), not for groups
#       in the LDIF given to ms_slapd_start (slapadd bypasses overlays).
#       ppolicy: OpenLDAP 2.5's built-in schema, no default policy;
#       operational attributes such as pwdAccountLockedTime can be written by
#       the rootdn (ms_ldapmodify) and read by the service account when asked
#       for by name.
#
# Exported by ms_setup: T.  By ms_slapd_start: LDAP_URI, LDAP_BASE,
# LDAP_PEOPLE, LDAP_ADMIN_DN, LDAP_ADMIN_PWFILE, LDAP_SVC_DN,
# LDAP_SVC_PWFILE, SLAPD_PID (empty while stopped), and with MS_SLAPD_TLS=1
# the TLS variables listed above.  By ms_sim_start:
# SIM_URL, SIM_PID, SIM_RAINBOND_KEYFILE, SIM_REST_TOKENFILE, and SIM_SECRETS (a folder
# holding one file per credential of the other simulated APIs, named as the
# simulator knows it: dingtalk.appkey, dingtalk.appsecret,
# babelbird.client_id, babelbird.client_secret, compai.key, devin.key,
# scim.token).
#
# Files in $T: slapd/{slapd.conf,slapd.log,db/,*.pw}, sim.log, sim.port,
# and with MS_SLAPD_TLS=1 pki/{ca,server,client,other-ca}.{crt,key},
# pki/cadir/HASH.0 and pki/openssl.log.
# On failure the tail of every $T/*.log and $T/slapd/*.log is printed, so
# tests should write their own logs (e.g. the daemon's) as $T/NAME.log.

if [[ -n "${_MS_LIB_LOADED:-}" ]]; then
    return 0
fi
_MS_LIB_LOADED=1
# Frames from this file are skipped when reporting where a test failed.
_MS_LIB_FILE="${BASH_SOURCE[0]}"
_MS_SRCDIR="${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
_MS_T=
_MS_PIDS=()
_MS_SLAPD_PORT=
_MS_SLAPD_TLS_PORT=

case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH="$PATH:/sbin" ;; esac

# ---------------------------------------------------------------- reporting

# Sets _MS_WHERE to file:line of the innermost caller outside this file.
# Not a $(...) helper, because the subshell would add a frame of its own.
_ms_where() {
    local i
    _MS_WHERE='?'
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        if [[ "${BASH_SOURCE[i]}" != "$_MS_LIB_FILE" ]]; then
            _MS_WHERE="${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
            return 0
        fi
    done
}

ms_log() {
    printf '# %s\n' "$*" >&2
}

ms_skip() {
    printf 'SKIP: %s\n' "$*" >&2
    exit 77
}

ms_fail() {
    _ms_where
    printf 'FAIL: %s (%s)\n' "$*" "$_MS_WHERE" >&2
    exit 1
}

ms_error() {
    _ms_where
    printf 'ERROR: %s (%s)\n' "$*" "$_MS_WHERE" >&2
    exit 99
}

# Not "command -v": for want of an executable, bash reports a
# non-executable file of that name, which is then "Permission denied".
_ms_have_cmd() {
    local dir
    local -a dirs
    IFS=: read -r -a dirs <<<"$PATH:/usr/sbin:/sbin"
    for dir in "${dirs[@]}"; do
        if [[ -f "${dir:-.}/$1" && -x "${dir:-.}/$1" ]]; then
            return 0
        fi
    done
    return 1
}

ms_require_cmd() {
    local cmd
    for cmd in "$@"; do
        if ! _ms_have_cmd "$cmd"; then
            ms_skip "$cmd not installed"
        fi
    done
}

ms_assert_eq() {
    if (($# != 3)); then
        ms_error "ms_assert_eq needs EXPECTED ACTUAL MSG, got $# arguments"
    fi
    if [[ "$1" != "$2" ]]; then
        ms_fail "$3: expected '$1', got '$2'"
    fi
}

ms_wait_until() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.1
    done
    "$@"
}

# ------------------------------------------------------------ setup/cleanup

ms_need_membersync() {
    MEMBERSYNC=${MEMBERSYNC:-${top_builddir:-.}/membersync}
    if [[ ! -x "$MEMBERSYNC" ]]; then
        ms_error "MEMBERSYNC=$MEMBERSYNC is not an executable"
    fi
}

ms_memcheck_skips() {
    [[ -n ${MS_MEMCHECK:-} ]] || return 1
    ms_log "under memcheck: $1 is skipped (it needs a request rate memcheck cannot reach)"
}

ms_setup() {
    if [[ -n "$_MS_T" ]]; then
        ms_error "ms_setup called twice"
    fi
    local name="${0##*/}"
    name="${name%.sh}"
    _MS_T=$(mktemp -d "${TMPDIR:-/tmp}/ms-${name}.XXXXXX") ||
        ms_error "cannot create a temp dir under ${TMPDIR:-/tmp}"
    T=$_MS_T
    export T
    trap '_ms_on_exit' EXIT
    # Turn signals into a normal exit so that the EXIT trap cleans up.
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
    NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
    export no_proxy NO_PROXY
}

_ms_need_setup() {
    if [[ -z "$_MS_T" ]]; then
        ms_error "call ms_setup first"
    fi
}

ms_register_pid() {
    local pid
    for pid in "$@"; do
        if ! [[ "$pid" =~ ^[1-9][0-9]*$ ]]; then
            ms_error "ms_register_pid: not a pid: '$pid'"
        fi
        _MS_PIDS+=("$pid")
    done
}

# _ms_stop_pids TENTHS PID...: SIGTERM, wait up to TENTHS/10 s, then SIGKILL.
_ms_stop_pids() {
    local tenths=$1 pid i
    shift
    local alive=() still
    for pid in "$@"; do
        if [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null; then
            alive+=("$pid")
        fi
    done
    for ((i = 0; i < tenths && ${#alive[@]} > 0; i++)); do
        sleep 0.1
        still=()
        for pid in "${alive[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                still+=("$pid")
            fi
        done
        alive=("${still[@]}")
    done
    for pid in "${alive[@]}"; do
        ms_log "pid $pid ignored SIGTERM for $((tenths / 10)) s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    done
    # Reap our children so bash does not report them as "Terminated".
    for pid in "$@"; do
        if [[ -n "$pid" ]]; then
            wait "$pid" 2>/dev/null || true
        fi
    done
    return 0
}

_ms_dump_logs() {
    local f
    for f in "$_MS_T"/*.log "$_MS_T"/slapd/*.log; do
        if [[ -s "$f" ]]; then
            ms_log "---- last 30 lines of ${f#"$_MS_T"/} ----"
            tail -n 30 -- "$f" | sed 's/^/# | /' >&2
        fi
    done
}

_ms_on_exit() {
    local rc=$?
    # Cleanup must run to the end whatever the test's options were.
    set +eu
    trap '' HUP INT TERM
    # Clients first, so that they do not log errors about vanished servers.
    _ms_stop_pids 50 "${_MS_PIDS[@]}"
    _ms_stop_pids 50 "${SIM_PID:-}" "${SLAPD_PID:-}"
    if ((rc != 0 && rc != 77)); then
        ms_log "test exited with status $rc"
        _ms_dump_logs
        if [[ "${MS_KEEP_TMP:-}" == 1 ]]; then
            ms_log "kept temp dir: $_MS_T"
            exit "$rc"
        fi
        ms_log "set MS_KEEP_TMP=1 to keep the temp dir"
    fi
    rm -rf -- "$_MS_T"
    exit "$rc"
}

# ------------------------------------------------------------------ helpers

_ms_write_secret() {
    local secret
    # od rather than tr|head: no SIGPIPE for a caller running with pipefail.
    secret=$(od -An -tx1 -N16 /dev/urandom) || ms_error "cannot read /dev/urandom"
    secret=${secret//[[:space:]]/}
    (umask 077 && printf '%s' "$secret" >"$1") || ms_error "cannot write $1"
}

_ms_random_port() {
    echo $((20000 + (RANDOM * 32768 + RANDOM) % 40001))
}

# ------------------------------------------------------------------- slapd

# _ms_openssl ARGS...: openssl with its chatter in $_MS_T/pki/openssl.log.
_ms_openssl() {
    openssl "$@" </dev/null >>"$_MS_T/pki/openssl.log" 2>&1 ||
        ms_error "openssl $1 failed, see $_MS_T/pki/openssl.log"
}

# _ms_pki_cert NAME SUBJECT EXTENSIONS [CA]: NAME.key (mode 600) and
# NAME.crt in $_MS_T/pki, signed by CA (a name there) or self-signed.
_ms_pki_cert() {
    local name=$1 subj=$2 ext=$3 ca=${4:-} dir="$_MS_T/pki" serial
    # EC keys: as good as RSA for this and generated in no time.
    (umask 077 && _ms_openssl genpkey -algorithm EC \
        -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key")
    chmod 600 "$dir/$name.key" || ms_error "cannot chmod $dir/$name.key"
    printf '%s\n' "$ext" >"$dir/$name.ext" || ms_error "cannot write $dir/$name.ext"
    _ms_openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr"
    serial=$(od -An -tx1 -N8 /dev/urandom) || ms_error "cannot read /dev/urandom"
    serial=${serial//[[:space:]]/}
    if [[ -n "$ca" ]]; then
        _ms_openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" \
            -CAkey "$dir/$ca.key" -set_serial "0x7$serial" -days 2 \
            -extfile "$dir/$name.ext" -out "$dir/$name.crt"
    else
        _ms_openssl x509 -req -in "$dir/$name.csr" -signkey "$dir/$name.key" \
            -set_serial "0x7$serial" -days 2 \
            -extfile "$dir/$name.ext" -out "$dir/$name.crt"
    fi
    rm -f -- "$dir/$name.csr" "$dir/$name.ext"
}

# _ms_pki_create: the throwaway PKI of MS_SLAPD_TLS=1 in $_MS_T/pki.
_ms_pki_create() {
    local dir="$_MS_T/pki" hash
    local ca_ext="basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash"
    local leaf_ext="basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid"

    mkdir -p "$dir/cadir" || ms_error "cannot create $dir/cadir"
    : >"$dir/openssl.log"
    _ms_pki_cert ca "/CN=membersync test CA" "$ca_ext"
    _ms_pki_cert server "/CN=127.0.0.1" "$leaf_ext
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost" ca
    # Written O first, so that its LDAP form is cn=...,o=....
    _ms_pki_cert client "/O=membersync tests/CN=membersync-client" "$leaf_ext
extendedKeyUsage = clientAuth" ca
    _ms_pki_cert other-ca "/CN=membersync other CA" "$ca_ext"
    # The layout openssl rehash/c_rehash make, without needing either.
    hash=$(openssl x509 -hash -noout -in "$dir/ca.crt") || ms_error "openssl x509 -hash failed"
    cp -- "$dir/ca.crt" "$dir/cadir/$hash.0" || ms_error "cannot copy the CA certificate to $dir/cadir"
    LDAP_CA_FILE="$dir/ca.crt"
    LDAP_CA_DIR="$dir/cadir"
    LDAP_OTHER_CA_FILE="$dir/other-ca.crt"
    LDAP_CLIENT_CERT="$dir/client.crt"
    LDAP_CLIENT_KEY="$dir/client.key"
    export LDAP_CA_FILE LDAP_CA_DIR LDAP_OTHER_CA_FILE LDAP_CLIENT_CERT LDAP_CLIENT_KEY
}

# _ms_ldap_tls TOOL ARGS...: an OpenLDAP tool trusting only the test CA and
# presenting the client certificate, whatever ldap.conf, ~/.ldaprc or the
# environment say (LDAPNOINIT would also drop the LDAPTLS_* set here).
_ms_ldap_tls() (
    local v
    for v in $(compgen -e); do
        if [[ "$v" == LDAP[!_]* ]]; then
            unset "$v"
        fi
    done
    cd "$_MS_T/pki" || exit 1
    HOME="$_MS_T/pki" LDAPTLS_CACERT="$LDAP_CA_FILE" LDAPTLS_REQCERT=demand \
        LDAPTLS_CERT="$LDAP_CLIENT_CERT" LDAPTLS_KEY="$LDAP_CLIENT_KEY" "$@"
)

_ms_ldap() {
    local tool=$1
    shift
    # LDAPNOINIT: the host's ldap.conf and ~/.ldaprc must not leak in.
    LDAPNOINIT=1 "$tool" -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" \
        -y "$LDAP_ADMIN_PWFILE" "$@"
}

# Output only on failure; the tool's status is returned.
_ms_ldap_quiet() {
    local out rc=0
    out=$(_ms_ldap "$@" 2>&1) || rc=$?
    if ((rc != 0)); then
        printf '%s: %s\n' "$1" "$out" >&2
    fi
    return "$rc"
}

ms_ldapadd() {
    _ms_ldap_quiet ldapadd "$@"
}

ms_ldapmodify() {
    _ms_ldap_quiet ldapmodify "$@"
}

ms_ldapdelete() {
    _ms_ldap_quiet ldapdelete "$@"
}

ms_ldapsearch() {
    # ldapsearch keeps the last -b, so the caller's own -b wins.
    _ms_ldap ldapsearch -LLL -o ldif-wrap=no -b "$LDAP_BASE" "$@"
}

_ms_slapd_alive_and_ready() {
    kill -0 "$SLAPD_PID" 2>/dev/null &&
        _ms_ldap ldapsearch -o nettimeout=2 -LLL -s base -b "$LDAP_BASE" dn \
            >/dev/null 2>&1
}

# _ms_slapd_launch PORT [TLS_PORT]: 0 when serving, 2 when a port was
# taken; any other problem is a hard error.  With TLS_PORT, ldaps:// there.
_ms_slapd_launch() {
    local port=$1 tls_port=${2:-} dir="$_MS_T/slapd" i
    local log="$dir/slapd.log" off=0 out urls
    if [[ -f "$log" ]]; then
        off=$(stat -c %s "$log")
    fi
    LDAP_URI="ldap://127.0.0.1:$port"
    urls="$LDAP_URI/"
    if [[ -n "$tls_port" ]]; then
        LDAPS_URI="ldaps://127.0.0.1:$tls_port"
        urls="$urls $LDAPS_URI/"
    fi
    slapd -d "${MS_SLAPD_DEBUG:-32768}" -f "$dir/slapd.conf" \
        -h "$urls" </dev/null >>"$log" 2>&1 &
    SLAPD_PID=$!
    for ((i = 0; i < 100; i++)); do
        # slapd binds every listener before it serves any.
        if _ms_slapd_alive_and_ready; then
            _MS_SLAPD_PORT=$port
            export LDAP_URI SLAPD_PID
            if [[ -n "$tls_port" ]]; then
                _MS_SLAPD_TLS_PORT=$tls_port
                export LDAPS_URI
            fi
            return 0
        fi
        if ! kill -0 "$SLAPD_PID" 2>/dev/null; then
            wait "$SLAPD_PID" 2>/dev/null || true
            SLAPD_PID=
            # Not tail|grep -q: with pipefail, tail's SIGPIPE would hide a match.
            out=$(tail -c +"$((off + 1))" "$log")
            if [[ "$out" == *errno=98* ]]; then
                return 2
            fi
            ms_error "slapd exited at startup, see $log"
        fi
        sleep 0.1
    done
    _ms_stop_pids 50 "$SLAPD_PID"
    SLAPD_PID=
    ms_error "slapd not answering on $LDAP_URI after 10 s"
}

ms_slapd_start() {
    _ms_need_setup
    if [[ -n "$_MS_SLAPD_PORT" ]]; then
        ms_error "slapd was started already; use ms_slapd_restart"
    fi
    ms_require_cmd slapd slapadd ldapadd ldapsearch slappasswd
    local ldif="${1:-}" dir="$_MS_T/slapd" base="${MS_LDAP_BASE:-dc=example,dc=org}"
    local admin_hash svc_hash attempt rc maxsize port tls_port='' ov
    local tls="${MS_SLAPD_TLS:-}" modules='' overlays='' global_tls=''
    local -A want=()

    case "$tls" in
        '' | 0) tls='' ;;
        1) ms_require_cmd openssl ldapwhoami ;;
        *) ms_error "MS_SLAPD_TLS must be 1, 0 or empty, not '$tls'" ;;
    esac
    for ov in ${MS_SLAPD_OVERLAYS:-}; do
        case "$ov" in
            memberof | ppolicy) want[$ov]=1 ;;
            *) ms_error "MS_SLAPD_OVERLAYS: unknown overlay '$ov' (known: memberof ppolicy)" ;;
        esac
    done
    # slapd.conf stacks overlays: the last one configured sees an operation
    # first.  syncprov, configured last, sees every change the others make.
    if [[ -n "${want[memberof]:-}" ]]; then
        modules+=$'moduleload memberof\n'
        overlays+=$'overlay memberof\nmemberof-refint TRUE\n'
    fi
    if [[ -n "${want[ppolicy]:-}" ]]; then
        modules+=$'moduleload ppolicy\n'
        overlays+=$'overlay ppolicy\n'
    fi

    mkdir -p "$dir/db" || ms_error "cannot create $dir/db"
    LDAP_BASE=$base
    LDAP_PEOPLE="ou=people,$base"
    LDAP_ADMIN_DN="cn=admin,$base"
    LDAP_ADMIN_PWFILE="$dir/admin.pw"
    LDAP_SVC_DN="cn=membersync,ou=services,$base"
    LDAP_SVC_PWFILE="$dir/svc.pw"
    export LDAP_BASE LDAP_PEOPLE LDAP_ADMIN_DN LDAP_ADMIN_PWFILE \
        LDAP_SVC_DN LDAP_SVC_PWFILE
    _ms_write_secret "$LDAP_ADMIN_PWFILE"
    _ms_write_secret "$LDAP_SVC_PWFILE"
    admin_hash=$(slappasswd -T "$LDAP_ADMIN_PWFILE") || ms_error "slappasswd failed"
    svc_hash=$(slappasswd -T "$LDAP_SVC_PWFILE") || ms_error "slappasswd failed"

    if [[ -z "$ldif" ]]; then
        ldif="$dir/users.ldif"
        "$_MS_SRCDIR/tests/data/gen-users.sh" -b "$base" >"$ldif" ||
            ms_error "gen-users.sh failed"
    fi
    if [[ ! -r "$ldif" ]]; then
        ms_error "cannot read LDIF file $ldif"
    fi
    # 1 GiB holds about 800k generated users; the map is sparse, so a
    # bigger one for bigger LDIF costs nothing.
    maxsize=$(stat -c %s "$ldif") || ms_error "cannot stat $ldif"
    maxsize=$((maxsize * 8 > 1073741824 ? maxsize * 8 : 1073741824))
    maxsize=${MS_SLAPD_MAXSIZE:-$maxsize}

    if [[ -n "$tls" ]]; then
        _ms_pki_create
        # For SASL EXTERNAL slapd takes the client certificate's subject,
        # normalised, as the authentication DN, and maps it with this.
        global_tls="TLSCACertificateFile \"$LDAP_CA_FILE\"
TLSCertificateFile \"$_MS_T/pki/server.crt\"
TLSCertificateKeyFile \"$_MS_T/pki/server.key\"
TLSVerifyClient try
authz-regexp \"^cn=membersync-client,o=membersync tests\$\" \"$LDAP_SVC_DN\"
"
    fi

    # ACLs sit in the database section so that the rootDSE and schema
    # stay readable under the default frontend ACL.
    cat >"$dir/slapd.conf" <<EOF || ms_error "cannot write $dir/slapd.conf"
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile "$dir/slapd.pid"
argsfile "$dir/slapd.args"
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
${modules}sizelimit unlimited
${global_tls}
database mdb
maxsize $maxsize
suffix "$base"
rootdn "$LDAP_ADMIN_DN"
rootpw $admin_hash
directory "$dir/db"
index objectClass eq
index uid,mail,cn eq
index entryCSN,entryUUID eq
${overlays}overlay syncprov
syncprov-checkpoint 100 10
access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by dn.exact="$LDAP_SVC_DN" read
    by * none
EOF

    cat >"$dir/svc.ldif" <<EOF || ms_error "cannot write $dir/svc.ldif"
dn: $LDAP_SVC_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: membersync
description: membersync integration test service account
userPassword: $svc_hash
EOF
    # slapadd (offline, -q) is far faster than ldapadd for big directories;
    # -w stores the contextCSN that syncprov serves to consumers.
    if ! slapadd -q -w -f "$dir/slapd.conf" -b "$base" -l "$ldif" \
        >"$dir/slapadd.log" 2>&1; then
        ms_error "slapadd of $ldif failed"
    fi
    if ! slapadd -q -w -f "$dir/slapd.conf" -b "$base" -l "$dir/svc.ldif" \
        >>"$dir/slapadd.log" 2>&1; then
        ms_error "slapadd of the service account failed (does the LDIF have ou=services,$base?)"
    fi

    for ((attempt = 1; attempt <= 10; attempt++)); do
        rc=0
        port=$(_ms_random_port)
        if [[ -n "$tls" ]]; then
            tls_port=$(_ms_random_port)
            while ((tls_port == port)); do
                tls_port=$(_ms_random_port)
            done
        fi
        _ms_slapd_launch "$port" "$tls_port" || rc=$?
        if ((rc == 0)); then
            if [[ -n "$tls" ]]; then
                _ms_slapd_check_tls
            fi
            return 0
        fi
    done
    ms_error "slapd could not bind a free port in 10 attempts"
}

# Fails unless a SASL EXTERNAL bind with the client certificate over
# ldaps:// and over StartTLS comes out as the service account.
_ms_slapd_check_tls() {
    local uri out
    for uri in "$LDAPS_URI" "$LDAP_URI -ZZ"; do
        # shellcheck disable=SC2086 # "$LDAP_URI -ZZ" is split on purpose
        out=$(_ms_ldap_tls ldapwhoami -o nettimeout=5 -Q -Y EXTERNAL -H $uri 2>&1) ||
            ms_error "ldapwhoami -Y EXTERNAL -H $uri failed: $out"
        if [[ "$out" != "dn:$LDAP_SVC_DN" ]]; then
            ms_error "SASL EXTERNAL with the client certificate over $uri is '$out', not dn:$LDAP_SVC_DN"
        fi
    done
}

ms_slapd_stop() {
    if [[ -n "${SLAPD_PID:-}" ]]; then
        _ms_stop_pids 100 "$SLAPD_PID"
    fi
    SLAPD_PID=
    export SLAPD_PID
}

ms_slapd_restart() {
    local attempt rc
    if [[ -z "$_MS_SLAPD_PORT" ]]; then
        ms_error "ms_slapd_restart before ms_slapd_start"
    fi
    ms_slapd_stop
    # Clients are configured with this URI, so only this port will do; a
    # short wait covers sockets the old process has not released yet.
    for ((attempt = 1; attempt <= 10; attempt++)); do
        rc=0
        _ms_slapd_launch "$_MS_SLAPD_PORT" "$_MS_SLAPD_TLS_PORT" || rc=$?
        if ((rc == 0)); then
            return 0
        fi
        sleep 0.5
    done
    ms_error "slapd could not bind port $_MS_SLAPD_PORT${_MS_SLAPD_TLS_PORT:+ or $_MS_SLAPD_TLS_PORT} again"
}

# --------------------------------------------------------------- simulator

_ms_curl() {
    curl -sS -f --max-time 10 --noproxy '*' "$@"
}

_ms_sim_need() {
    if [[ -z "${SIM_URL:-}" ]]; then
        ms_error "simulator not started (ms_sim_start)"
    fi
}

ms_sim_start() {
    _ms_need_setup
    if [[ -n "${SIM_PID:-}" ]]; then
        ms_error "simulator already running"
    fi
    if [[ -z "${TARGETSIM:-}" ]]; then
        ms_error "TARGETSIM is not set"
    fi
    if [[ ! -x "$TARGETSIM" ]]; then
        ms_error "TARGETSIM=$TARGETSIM is not an executable"
    fi
    # jq here, not in ms_sim_jq: a skip inside $(...) would not end the test.
    ms_require_cmd curl jq
    local portfile="$_MS_T/sim.port" port='' i
    SIM_RAINBOND_KEYFILE="$_MS_T/rainbond.key"
    SIM_REST_TOKENFILE="$_MS_T/rest.token"
    export SIM_RAINBOND_KEYFILE SIM_REST_TOKENFILE
    # Kept across ms_sim_stop/ms_sim_start so the daemon's config stays valid.
    if [[ ! -s "$SIM_RAINBOND_KEYFILE" ]]; then
        _ms_write_secret "$SIM_RAINBOND_KEYFILE"
    fi
    if [[ ! -s "$SIM_REST_TOKENFILE" ]]; then
        _ms_write_secret "$SIM_REST_TOKENFILE"
    fi
    # Credentials of the other simulated APIs, one file each, named as the
    # simulator knows them (SIM_SECRETS/dingtalk.appsecret, ...).
    SIM_SECRETS="$_MS_T/sim-secrets"
    export SIM_SECRETS
    local secret_args=() name
    mkdir -p -- "$SIM_SECRETS"
    for name in dingtalk.appkey dingtalk.appsecret babelbird.client_id babelbird.client_secret \
        compai.key devin.key scim.token; do
        if [[ ! -s "$SIM_SECRETS/$name" ]]; then
            _ms_write_secret "$SIM_SECRETS/$name"
        fi
        secret_args+=(--secret "$name=$SIM_SECRETS/$name")
    done
    rm -f -- "$portfile"
    "$TARGETSIM" --port 0 --port-file "$portfile" \
        --rainbond-key-file "$SIM_RAINBOND_KEYFILE" \
        --rest-token-file "$SIM_REST_TOKENFILE" "${secret_args[@]}" "$@" \
        </dev/null >>"$_MS_T/sim.log" 2>&1 &
    SIM_PID=$!
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            wait "$SIM_PID" 2>/dev/null || true
            SIM_PID=
            ms_error "simulator exited at startup, see $_MS_T/sim.log"
        fi
        if [[ -s "$portfile" ]]; then
            port=$(<"$portfile")
            port=${port//[[:space:]]/}
            # The file may be caught half-written; a request proves it whole.
            if [[ "$port" =~ ^[1-9][0-9]*$ ]] &&
                _ms_curl --max-time 2 -o /dev/null \
                    "http://127.0.0.1:$port/_sim/state" 2>/dev/null; then
                SIM_URL="http://127.0.0.1:$port"
                export SIM_URL SIM_PID
                return 0
            fi
        fi
        sleep 0.1
    done
    ms_error "simulator not ready after 10 s (port file: '${port}')"
}

ms_sim_stop() {
    if [[ -n "${SIM_PID:-}" ]]; then
        _ms_stop_pids 50 "$SIM_PID"
    fi
    SIM_PID=
    export SIM_PID
}

ms_sim_state() {
    _ms_sim_need
    _ms_curl "$SIM_URL/_sim/state"
}

# ms_sim_jq FILTER [JQ_ARGS...]: jq -r over the state, e.g.
#   ms_sim_jq '.apis.rainbond.users | length'
ms_sim_jq() {
    local state
    state=$(ms_sim_state) || return 1
    jq -r "$@" <<<"$state"
}

ms_sim_fault() {
    _ms_sim_need
    _ms_curl -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$1" "$SIM_URL/_sim/fault"
}

ms_sim_clear_faults() {
    _ms_sim_need
    _ms_curl -o /dev/null -X DELETE "$SIM_URL/_sim/fault"
}

ms_sim_reset() {
    _ms_sim_need
    _ms_curl -o /dev/null -X POST "$SIM_URL/_sim/reset"
}
