# shellcheck shell=bash
# lib-samba.sh: a throwaway Samba Active Directory domain controller for
# membersync integration tests.  Source it after lib.sh:
#
#   . "$srcroot/tests/integration/lib.sh"
#   . "$srcroot/tests/integration/lib-samba.sh"
#   ms_setup
#   ms_samba_start
#   ms_samba_user_create alice --given-name=Alice --surname=Liddell \
#       --mail-address=alice@msync.test
#   ms_samba_bulk_users bk 1600 biggroup
#   ...
#
# The DC is a real `samba` (AD DC role, LDAP service only) run from a
# domain provisioned with samba-tool, listening on 389 (LDAP, StartTLS) and
# 636 (LDAPS), and 3268/3269 (global catalog), of a random 127.x.y.z
# address: AD's ports are fixed, so the address is what keeps parallel tests
# (and any system LDAP server on 127.0.0.1 or a real address) apart.  On
# Linux all of 127/8 is loopback without configuration.
#
# Binding ports below 1024 and provisioning (the sysvol ACLs are xattrs)
# need root: without root, or without the Debian packages samba,
# samba-ad-provision, samba-dsdb-modules and samba-vfs-modules, ms_samba_start
# skips the test (exit 77) and says why.
#
# TLS: each start generates a throwaway CA and a server certificate for
# SAMBA_ADDR (IP subjectAltName) and dc1.msync.test, so clients connect to
# ldaps://SAMBA_ADDR with verification on and SAMBA_CA_FILE as the only CA.
# Simple binds over LDAPS (or StartTLS) work; over plain LDAP they are
# refused with strongAuthRequired unless ms_samba_start --allow-plain-bind.
#
# Provisioning takes a few seconds, so a provisioned template is cached and
# copied: see MS_SAMBA_CACHE below.  The cached template holds the domain,
# OU=People, OU=Groups, the service account and the passwords of the
# service account and Administrator; each instance gets its own copy in $T.
#
# Samba deviations from Windows AD worth knowing (selftest-samba.sh pins
# them, so a Samba upgrade that changes them shows up there):
#   - no MaxValRange: a plain request for `member` returns every value;
#     ranges are only applied when asked for (`member;range=0-1499`), and
#     the last range is named `member;range=N-*`;
#   - no MaxPageSize for unpaged searches: they return every entry instead
#     of 1000 and sizeLimitExceeded.
#
# Functions (like lib.sh's, those that start or stop the DC must run in the
# test's main shell, not in $(...) or a pipeline):
#   ms_samba_start [--allow-plain-bind] [--kdc]   provision/copy, start, wait
#                               for LDAPS; --kdc also runs the KDC (port 88)
#   ms_samba_stop, ms_samba_restart        same address, same certificate
#   ms_samba_ldap TOOL [ARGS]   an OpenLDAP tool (ldapsearch, ldapwhoami...)
#                               with the harness TLS settings (SAMBA_CA_FILE,
#                               verification on) and none of the host's
#                               LDAP* environment; ARGS give -H, -D, ...
#   ms_samba_ldapsearch ARGS    as Administrator over LDAPS, -x -LLL
#                               -o ldif-wrap=no -b SAMBA_BASE (ARGS' -b wins)
#   ms_samba_ldapadd, ms_samba_ldapmodify [ARGS]   LDIF on stdin, as
#                               Administrator over LDAPS, output only on error
#   ms_samba_ldapdelete DN...   as Administrator over LDAPS
#   ms_samba_tool ARGS          samba-tool ARGS on this DC's sam.ldb (local
#                               access, no credentials), e.g.
#                               ms_samba_tool user show alice
#   ms_samba_user_create NAME [samba-tool user add options]
#                               user CN=NAME,SAMBA_PEOPLE (the CN is NAME even
#                               with --given-name/--surname) with a random
#                               password in $SAMBA_PW_DIR/NAME.pw
#   ms_samba_user_disable NAME, ms_samba_user_enable NAME
#   ms_samba_allow_deleted_read NAME   let NAME read CN=Deleted Objects
#                               (List Contents, Read Property), as an AD
#                               admin would for a sync account
#   ms_samba_group_create NAME [samba-tool group add options]
#                               group CN=NAME,SAMBA_GROUPS
#   ms_samba_group_add GROUP MEMBER...   members by sAMAccountName (users or
#                               groups, so groups nest)
#   ms_samba_bulk_users PREFIX COUNT [GROUP]
#                               COUNT users PREFIX00001... in SAMBA_PEOPLE
#                               (enabled, no password; mail, UPN, givenName,
#                               sn, displayName set) through one LDIF import,
#                               about 3 ms a user; with GROUP, all of them
#                               become members of the group of that
#                               sAMAccountName, created in SAMBA_GROUPS if
#                               missing.  PREFIX: a letter, then letters,
#                               digits or '-', at most 15 characters.
#
# Exported by ms_samba_start:
#   SAMBA_ADDR          the DC's 127.x.y.z address
#   SAMBA_URI           ldaps://SAMBA_ADDR
#   SAMBA_LDAP_URI      ldap://SAMBA_ADDR (StartTLS; plain simple binds only
#                       with --allow-plain-bind)
#   SAMBA_CA_FILE       PEM CA that signed the DC's certificate
#   SAMBA_HOSTNAME      dc1.msync.test (also in the certificate; not resolvable)
#   SAMBA_REALM, SAMBA_DOMAIN, SAMBA_BASE   MSYNC.TEST, MSYNC, DC=msync,DC=test
#   SAMBA_ADMIN_DN, SAMBA_ADMIN_PWFILE      Administrator
#   SAMBA_SVC_DN, SAMBA_SVC_PWFILE          membersync's service account, an
#                                           ordinary domain user
#   SAMBA_PEOPLE, SAMBA_GROUPS  OU=People,SAMBA_BASE and OU=Groups,SAMBA_BASE
#   SAMBA_PW_DIR        passwords of users made by ms_samba_user_create
#   SAMBA_CONF          the DC's smb.conf;  SAMBA_PID  its pid
# Password files are mode 600 without a trailing newline.
#
# Environment read:
#   MS_SAMBA_CACHE=0    provision into $T on every start instead of copying a
#                       cached template (about 4 s more per test)
#   MS_SAMBA_CACHE_DIR  where templates are cached (default
#                       ${TMPDIR:-/tmp}/membersync-samba-cache.$EUID, a mode
#                       700 folder; one template per Samba build and version
#                       of the provisioning code, built under an exclusive
#                       flock, copied under a shared one; others are pruned)
#   MS_SAMBA_DEBUG      samba -d level (default 1)
#   MS_SAMBA_MAX_RUNTIME  samba --maximum-runtime in seconds (default 3600):
#                       a DC whose test was killed with SIGKILL still ends
#   MS_SAMBA_START_TIMEOUT  seconds to wait for LDAPS (default 60; a start
#                       takes about 0.3 s)
#
# Files in $T: samba.log (the DC's output, shown on failure), samba/ (the DC:
# smb.conf, private/, tls/, *.pw, users/, bulk LDIF, tool logs).

if [[ -n "${_MS_SAMBA_LIB_LOADED:-}" ]]; then
    return 0
fi
if [[ -z "${_MS_LIB_LOADED:-}" ]]; then
    echo "ERROR: source lib.sh before lib-samba.sh" >&2
    exit 99
fi
_MS_SAMBA_LIB_LOADED=1
_MS_SAMBA_LIB_FILE="${BASH_SOURCE[0]}"

# The domain.  Fixed, so that one cached template serves every test.
_MS_SAMBA_REALM=MSYNC.TEST
_MS_SAMBA_DOMAIN=MSYNC
_MS_SAMBA_NETBIOS=DC1
_MS_SAMBA_BASE='DC=msync,DC=test'
_MS_SAMBA_SVC=membersync-svc
# Bump when the template's layout changes in a way the hash of the build
# functions does not show.
_MS_SAMBA_TEMPLATE_FORMAT=1

_MS_SAMBA_DIR=       # $T/samba once started; non-empty means "started"
_MS_SAMBA_PID=       # not exported: a nested test must never stop ours
_MS_SAMBA_STDIN_FD=
_MS_SAMBA_PLAIN=no
_MS_SAMBA_SERVICES=ldap
_MS_SAMBA_MODULES=

# -------------------------------------------------------------- internals

# Like ms_error, but names the test's line, not this file's.
_ms_samba_error() {
    local i where='?'
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        if [[ "${BASH_SOURCE[i]}" != "$_MS_LIB_FILE" &&
            "${BASH_SOURCE[i]}" != "$_MS_SAMBA_LIB_FILE" ]]; then
            where="${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
            break
        fi
    done
    printf 'ERROR: %s (%s)\n' "$*" "$where" >&2
    exit 99
}

_ms_samba_need() {
    if [[ -z "$_MS_SAMBA_DIR" ]]; then
        _ms_samba_error "call ms_samba_start first"
    fi
}

# _ms_samba_provision_failed LOG: shows LOG's tail, then a hard error.
_ms_samba_provision_failed() {
    if [[ -s "$1" ]]; then
        ms_log "---- last 20 lines of $1 ----"
        tail -n 20 -- "$1" | sed 's/^/# | /' >&2
    fi
    _ms_samba_error "provisioning the Samba domain failed, see $1"
}

_ms_samba_now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# A password AD's default complexity rule accepts (upper, lower, digit,
# symbol) and that can never contain a user's name: the rule rejects any
# 3+ character token of sAMAccountName/displayName found in the password,
# and here no run of letters and digits is longer than 2.
_ms_samba_secret() {
    local hex pw='Ab-9z' i
    hex=$(od -An -tx1 -N16 /dev/urandom) || _ms_samba_error "cannot read /dev/urandom"
    hex=${hex//[[:space:]]/}
    for ((i = 0; i < ${#hex}; i += 2)); do
        pw+="-${hex:i:2}"
    done
    (umask 077 && printf '%s' "$pw" >"$1") || _ms_samba_error "cannot write $1"
}

# _ms_samba_env DIR CMD...: runs a Samba program with nothing from the host
# that could redirect it: no systemd notify socket (samba would report
# READY to whatever unit runs the tests), no SMB_CONF_PATH, and the
# domain's own krb5.conf instead of /etc/krb5.conf.
_ms_samba_env() {
    local dir=$1
    shift
    env -u NOTIFY_SOCKET -u SMB_CONF_PATH KRB5_CONFIG="$dir/private/krb5.conf" "$@"
}

# _ms_samba_offline_tool DIR LOG ARGS: samba-tool on DIR's sam.ldb while
# building a template (its smb.conf is the one provisioning wrote).
_ms_samba_offline_tool() {
    local dir=$1 log=$2
    shift 2
    _ms_samba_env "$dir" samba-tool "$@" -s "$dir/etc/smb.conf" \
        --option='ldb:nosync = true' -H "$dir/private/sam.ldb" >>"$log" 2>&1
}

# _ms_samba_build_template DIR: provisions the domain into the empty DIR.
# Status 0 or 1 (details in DIR/build.log).  The hash of this function's
# text is part of the cache key: changing it rebuilds cached templates.
_ms_samba_build_template() {
    local dir=$1 log="$1/build.log"
    mkdir -p "$dir/etc" || return 1
    # An empty config: provisioning would otherwise start from the host's
    # /etc/samba/smb.conf and copy its settings into the domain's.
    : >"$dir/etc/empty.conf" || return 1
    _ms_samba_secret "$dir/admin.pw"
    _ms_samba_secret "$dir/svc.pw"
    # dns-backend NONE: no DNS server (and no nsupdate); ldb:nosync: no
    # fsync, durability is worthless here and it halves the time.
    _ms_samba_env "$dir" samba-tool domain provision -s "$dir/etc/empty.conf" \
        --option='ldb:nosync = true' --targetdir="$dir" \
        --realm="$_MS_SAMBA_REALM" --domain="$_MS_SAMBA_DOMAIN" \
        --host-name="${_MS_SAMBA_NETBIOS,,}" --server-role=dc \
        --dns-backend=NONE --use-rfc2307 \
        --adminpass="$(<"$dir/admin.pw")" >>"$log" 2>&1 || return 1
    # A cached template may be weeks old: passwords must not expire, and
    # tests may change a password more than once a day.
    _ms_samba_offline_tool "$dir" "$log" domain passwordsettings set \
        --max-pwd-age=0 --min-pwd-age=0 || return 1
    _ms_samba_offline_tool "$dir" "$log" ou add OU=People || return 1
    _ms_samba_offline_tool "$dir" "$log" ou add OU=Groups || return 1
    _ms_samba_offline_tool "$dir" "$log" user add "$_MS_SAMBA_SVC" \
        "$(<"$dir/svc.pw")" --use-username-as-cn \
        --description='membersync service account (integration tests)' || return 1
}

# Decides from `samba -b`, not from dpkg, so that a source build works too.
_ms_samba_check_prereqs() {
    local line modules='' setup='' pkgs='samba samba-ad-provision samba-dsdb-modules samba-vfs-modules'
    if ((EUID != 0)); then
        ms_skip "Samba AD DC needs root to bind ports 389/636 and to provision (sysvol ACLs)"
    fi
    if ! _ms_have_cmd samba || ! _ms_have_cmd samba-tool; then
        ms_skip "samba/samba-tool not installed (Debian: $pkgs)"
    fi
    ms_require_cmd ldapsearch ldapadd ldapmodify ldapdelete openssl flock sha256sum mkfifo
    while IFS= read -r line; do
        case "$line" in
            *MODULESDIR:*) modules=${line#*MODULESDIR: } ;;
            *SETUPDIR:*) setup=${line#*SETUPDIR: } ;;
        esac
    done < <(samba -b 2>/dev/null)
    if [[ ! -d "$setup/ad-schema" ]]; then
        ms_skip "Samba's provisioning data ($setup/ad-schema) is missing (Debian: samba-ad-provision)"
    fi
    if [[ ! -f "$modules/ldb/samba_dsdb.so" ]]; then
        ms_skip "Samba's directory modules ($modules/ldb/samba_dsdb.so) are missing (Debian: samba-dsdb-modules)"
    fi
    if [[ ! -f "$modules/vfs/acl_xattr.so" ]]; then
        ms_skip "Samba's acl_xattr module, needed to provision sysvol, is missing (Debian: samba-vfs-modules)"
    fi
    _MS_SAMBA_MODULES=$modules
}

# The cache key: what the template depends on.  The binaries' size and
# mtime change with every package update, also when `samba -V` does not.
_ms_samba_template_key() {
    local f
    {
        echo "format $_MS_SAMBA_TEMPLATE_FORMAT $_MS_SAMBA_REALM $_MS_SAMBA_DOMAIN $_MS_SAMBA_NETBIOS"
        samba -V
        for f in "$(command -v samba)" "$(command -v samba-tool)" \
            "$_MS_SAMBA_MODULES/ldb/samba_dsdb.so"; do
            stat -L -c '%n %s %Y' -- "$f"
        done
        declare -f _ms_samba_build_template _ms_samba_offline_tool _ms_samba_secret
    } | sha256sum | cut -c1-16
}

# A template is usable when its manifest exists and every file in it still
# does: a /tmp cleaner may have removed old files one by one.
_ms_samba_template_ok() {
    local tpl=$1 f
    [[ -f "$tpl/.manifest" ]] || return 1
    while IFS= read -r f; do
        [[ -e "$tpl/$f" ]] || return 1
    done <"$tpl/.manifest"
}

# _ms_samba_from_cache DIR: fills DIR from the cached template, building
# the template first if needed.
_ms_samba_from_cache() {
    local dir=$1 base key tpl lockfd tmp started entry manifest
    base=${MS_SAMBA_CACHE_DIR:-${TMPDIR:-/tmp}/membersync-samba-cache.$EUID}
    if [[ ! -e "$base" ]]; then
        # A parallel test may create it first.
        mkdir -m 700 -- "$base" 2>/dev/null || [[ -d "$base" ]] ||
            _ms_samba_error "cannot create the template cache $base"
    fi
    # Others must not be able to plant a template (the DC runs as root).
    if [[ -L "$base" || ! -d "$base" || ! -O "$base" || "$(stat -c %a -- "$base")" != 700 ]]; then
        _ms_samba_error "template cache $base must be a mode 700 folder owned by uid $EUID (or set MS_SAMBA_CACHE=0)"
    fi
    key=$(_ms_samba_template_key) || _ms_samba_error "cannot compute the template key"
    tpl="$base/$key"
    exec {lockfd}>>"$base/lock" || _ms_samba_error "cannot open $base/lock"
    # Shared lock to copy; exclusive to build or prune, so a template never
    # changes or disappears while someone copies it.
    flock -s -w 300 "$lockfd" || _ms_samba_error "template cache $base stayed locked for 300 s"
    if ! _ms_samba_template_ok "$tpl"; then
        flock -x -w 300 "$lockfd" || _ms_samba_error "template cache $base stayed locked for 300 s"
        # Another test may have built it while we waited.
        if ! _ms_samba_template_ok "$tpl"; then
            started=$(_ms_samba_now_ms)
            for entry in "$base"/*; do
                if [[ "$entry" != "$base/lock" && -d "$entry" ]]; then
                    rm -rf -- "$entry"
                fi
            done
            tmp=$(mktemp -d "$base/tmp.XXXXXX") || _ms_samba_error "cannot create a folder in $base"
            if ! _ms_samba_build_template "$tmp"; then
                cp -- "$tmp/build.log" "$dir/build.log" 2>/dev/null
                rm -rf -- "$tmp"
                _ms_samba_provision_failed "$dir/build.log"
            fi
            if ! manifest=$(cd "$tmp" && find . -mindepth 1 -print) ||
                ! printf '%s\n' "$manifest" >"$tmp/.manifest"; then
                _ms_samba_error "cannot write the template manifest"
            fi
            mv -T -- "$tmp" "$tpl" || _ms_samba_error "cannot move the template into place"
            ms_log "provisioned Samba template $tpl in $(($(_ms_samba_now_ms) - started)) ms"
        fi
    fi
    # -a keeps the sysvol ACLs (xattrs); ownership is ours anyway.
    cp -a -- "$tpl/." "$dir/" || _ms_samba_error "cannot copy the template $tpl"
    exec {lockfd}>&-
}

# _ms_samba_cert ADDR: the DC's certificate for ADDR, signed by the
# instance's CA.  -config /dev/null: the host's openssl.cnf must not add
# extensions (its v3_ca would make the server certificate a CA).
_ms_samba_cert() {
    local addr=$1 tls="$_MS_SAMBA_DIR/tls"
    if [[ ! -s "$tls/ca.pem" ]]; then
        mkdir -p -- "$tls" || _ms_samba_error "cannot create $tls"
        openssl req -config /dev/null -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 7 \
            -subj "/CN=membersync test CA $$" \
            -addext 'basicConstraints=critical,CA:TRUE' \
            -addext 'keyUsage=critical,keyCertSign,cRLSign' \
            -addext 'subjectKeyIdentifier=hash' >>"$_MS_SAMBA_DIR/openssl.log" 2>&1 ||
            _ms_samba_error "openssl could not make the CA, see $_MS_SAMBA_DIR/openssl.log"
    fi
    openssl req -config /dev/null -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -nodes -keyout "$tls/key.pem" -out "$tls/cert.pem" -days 7 \
        -subj "/CN=$SAMBA_HOSTNAME" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -addext "subjectAltName=IP:$addr,DNS:$SAMBA_HOSTNAME" \
        -addext 'basicConstraints=critical,CA:FALSE' \
        -addext 'keyUsage=critical,digitalSignature' \
        -addext 'extendedKeyUsage=serverAuth' >>"$_MS_SAMBA_DIR/openssl.log" 2>&1 ||
        _ms_samba_error "openssl could not make the server certificate, see $_MS_SAMBA_DIR/openssl.log"
}

# Every path Samba would otherwise take from its build defaults (/run/samba,
# /var/lib/samba, /var/log/samba...) points into the instance's folder, so
# parallel DCs and a system Samba never share a pid file, socket or tdb.
_ms_samba_write_conf() {
    local addr=$1 d=$_MS_SAMBA_DIR strong=yes
    if [[ "$_MS_SAMBA_PLAIN" == yes ]]; then
        strong=no
    fi
    cat >"$SAMBA_CONF" <<EOF || _ms_samba_error "cannot write $SAMBA_CONF"
# Written by lib-samba.sh for one test; see $_MS_SAMBA_LIB_FILE.
[global]
	netbios name = $_MS_SAMBA_NETBIOS
	realm = $_MS_SAMBA_REALM
	workgroup = $_MS_SAMBA_DOMAIN
	server role = active directory domain controller
	# LDAP (and the KDC with --kdc) only: no SMB, NetBIOS, RPC, DNS or
	# winbindd, so nothing binds 135/137/445 or a wildcard address.
	server services = $_MS_SAMBA_SERVICES
	interfaces = $addr/8
	bind interfaces only = yes
	idmap_ldb:use rfc2307 = yes
	ldb:nosync = true
	ldap server require strong auth = $strong
	tls enabled = yes
	tls keyfile = $d/tls/key.pem
	tls certfile = $d/tls/cert.pem
	tls cafile = $d/tls/ca.pem
	private dir = $d/private
	binddns dir = $d/bind-dns
	lock directory = $d/lock
	state directory = $d/state
	cache directory = $d/cache
	pid directory = $d/run
	ncalrpc dir = $d/run/ncalrpc
	winbindd socket directory = $d/run/winbindd
	ntp signd socket directory = $d/run/ntp_signd
	log file = $d/log.%m
EOF
}

# Status 0 when LDAPS answers and its certificate verifies with our CA.
_ms_samba_ready() {
    kill -0 "$_MS_SAMBA_PID" 2>/dev/null &&
        ms_samba_ldap ldapsearch -x -H "$SAMBA_URI" -o nettimeout=2 -LLL \
            -s base -b '' dnsHostName >/dev/null 2>&1
}

# _ms_samba_forget_pid PID: drops PID from lib.sh's list of processes to
# stop at exit, lest the trap signal whatever process reuses the number.
_ms_samba_forget_pid() {
    local p keep=()
    for p in "${_MS_PIDS[@]}"; do
        if [[ "$p" != "$1" ]]; then
            keep+=("$p")
        fi
    done
    _MS_PIDS=("${keep[@]}")
}

# _ms_samba_launch ADDR: 0 when serving, 2 when the address was taken; any
# other problem is a hard error.
_ms_samba_launch() {
    local addr=$1 log="$_MS_T/samba.log" off=0 out i tenths fd
    tenths=$((${MS_SAMBA_START_TIMEOUT:-60} * 10))
    SAMBA_ADDR=$addr
    SAMBA_URI="ldaps://$addr"
    SAMBA_LDAP_URI="ldap://$addr"
    if [[ -f "$log" ]]; then
        off=$(stat -c %s -- "$log")
    fi
    # -i: foreground, log to stdout, own process group (on SIGTERM samba
    # signals its whole group), and exit at EOF on stdin when stdin is a
    # FIFO.  The FIFO's writers are this shell and the processes it starts
    # later, never samba: a test killed with SIGKILL takes its DC along
    # once it and its children are gone.  -M single: one process, no forked
    # workers to lose track of.
    (
        # No inherited descriptor but 0-2: not the FIFO's write end, not
        # the template lock, not another test's FIFO.
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then
                { exec {fd}>&-; } 2>/dev/null
            fi
        done
        # exec, so that $! is samba itself.
        exec env -u NOTIFY_SOCKET -u SMB_CONF_PATH \
            KRB5_CONFIG="$_MS_SAMBA_DIR/private/krb5.conf" \
            samba -i -M single -s "$SAMBA_CONF" -d "${MS_SAMBA_DEBUG:-1}" \
            --maximum-runtime="${MS_SAMBA_MAX_RUNTIME:-3600}" \
            <"$_MS_SAMBA_DIR/stdin" >>"$log" 2>&1
    ) &
    _MS_SAMBA_PID=$!
    SAMBA_PID=$_MS_SAMBA_PID
    # At once, so that an interrupted wait below still stops it.
    ms_register_pid "$_MS_SAMBA_PID"
    for ((i = 0; i < tenths; i++)); do
        if _ms_samba_ready; then
            export SAMBA_ADDR SAMBA_URI SAMBA_LDAP_URI SAMBA_PID
            return 0
        fi
        if ! kill -0 "$_MS_SAMBA_PID" 2>/dev/null; then
            wait "$_MS_SAMBA_PID" 2>/dev/null || true
            _ms_samba_forget_pid "$_MS_SAMBA_PID"
            _MS_SAMBA_PID=
            SAMBA_PID=
            # Not tail|grep -q: with pipefail, tail's SIGPIPE would hide a match.
            out=$(tail -c +"$((off + 1))" -- "$log")
            if [[ "$out" == *NT_STATUS_ADDRESS_ALREADY_ASSOCIATED* ]]; then
                return 2
            fi
            _ms_samba_error "samba exited at startup, see $log"
        fi
        sleep 0.1
    done
    # Tell a certificate problem from a server that does not answer.
    if ms_samba_ldap env LDAPTLS_REQCERT=never ldapsearch -x -H "$SAMBA_URI" \
        -o nettimeout=2 -LLL -s base -b '' dnsHostName >/dev/null 2>&1; then
        ms_samba_stop
        _ms_samba_error "$SAMBA_URI answers, but its certificate does not verify with $SAMBA_CA_FILE"
    fi
    ms_samba_stop
    _ms_samba_error "samba not answering on $SAMBA_URI after ${MS_SAMBA_START_TIMEOUT:-60} s, see $log"
}

# 127.100.0.1 - 127.254.255.254: clear of 127.0.0.1, 127.0.1.1 (Debian's
# hostname entry) and 127.0.0.53 (systemd-resolved).
_ms_samba_random_addr() {
    echo "127.$((100 + RANDOM % 155)).$((RANDOM % 256)).$((1 + RANDOM % 254))"
}

# Output only on failure; the command's status is returned.
_ms_samba_quiet() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if ((rc != 0)); then
        printf '%s: %s\n' "$1" "$out" >&2
    fi
    return "$rc"
}

# ------------------------------------------------------------- start/stop

ms_samba_start() {
    _ms_need_setup
    if [[ -n "$_MS_SAMBA_DIR" ]]; then
        _ms_samba_error "the Samba DC was started already; use ms_samba_restart"
    fi
    _MS_SAMBA_PLAIN=no
    _MS_SAMBA_SERVICES=ldap
    while (($# > 0)); do
        case "$1" in
            --allow-plain-bind) _MS_SAMBA_PLAIN=yes ;;
            --kdc) _MS_SAMBA_SERVICES='ldap kdc' ;;
            *) _ms_samba_error "ms_samba_start: unknown option '$1'" ;;
        esac
        shift
    done
    _ms_samba_check_prereqs
    local dir="$_MS_T/samba" attempt rc started addr
    started=$(_ms_samba_now_ms)
    mkdir -p -- "$dir" || _ms_samba_error "cannot create $dir"
    if [[ "${MS_SAMBA_CACHE:-1}" == 0 ]]; then
        if ! _ms_samba_build_template "$dir"; then
            _ms_samba_provision_failed "$dir/build.log"
        fi
        ms_log "provisioned the Samba domain in $(($(_ms_samba_now_ms) - started)) ms"
    else
        _ms_samba_from_cache "$dir"
    fi
    # The provisioning smb.conf names the template's folder; ours is SAMBA_CONF.
    rm -rf -- "${dir:?}/etc"
    mkdir -p -- "$dir/run" "$dir/lock" "$dir/users" || _ms_samba_error "cannot create folders in $dir"
    _MS_SAMBA_DIR=$dir

    SAMBA_CONF="$dir/smb.conf"
    SAMBA_HOSTNAME="${_MS_SAMBA_NETBIOS,,}.${_MS_SAMBA_REALM,,}"
    SAMBA_REALM=$_MS_SAMBA_REALM
    SAMBA_DOMAIN=$_MS_SAMBA_DOMAIN
    SAMBA_BASE=$_MS_SAMBA_BASE
    SAMBA_ADMIN_DN="CN=Administrator,CN=Users,$SAMBA_BASE"
    SAMBA_ADMIN_PWFILE="$dir/admin.pw"
    SAMBA_SVC_DN="CN=$_MS_SAMBA_SVC,CN=Users,$SAMBA_BASE"
    SAMBA_SVC_PWFILE="$dir/svc.pw"
    SAMBA_PEOPLE="OU=People,$SAMBA_BASE"
    SAMBA_GROUPS="OU=Groups,$SAMBA_BASE"
    SAMBA_PW_DIR="$dir/users"
    SAMBA_CA_FILE="$dir/tls/ca.pem"
    export SAMBA_CONF SAMBA_HOSTNAME SAMBA_REALM SAMBA_DOMAIN SAMBA_BASE \
        SAMBA_ADMIN_DN SAMBA_ADMIN_PWFILE SAMBA_SVC_DN SAMBA_SVC_PWFILE \
        SAMBA_PEOPLE SAMBA_GROUPS SAMBA_PW_DIR SAMBA_CA_FILE

    mkfifo -m 600 -- "$dir/stdin" || _ms_samba_error "cannot create $dir/stdin"
    # Read-write, so that opening it never blocks; see _ms_samba_launch.
    exec {_MS_SAMBA_STDIN_FD}<>"$dir/stdin" || _ms_samba_error "cannot open $dir/stdin"

    for ((attempt = 1; attempt <= 10; attempt++)); do
        addr=$(_ms_samba_random_addr)
        _ms_samba_cert "$addr"
        _ms_samba_write_conf "$addr"
        rc=0
        _ms_samba_launch "$addr" || rc=$?
        if ((rc == 0)); then
            ms_log "Samba AD DC up on $SAMBA_URI (pid $SAMBA_PID) $(($(_ms_samba_now_ms) - started)) ms after ms_samba_start"
            return 0
        fi
        ms_log "$addr:389 is taken, trying another address"
    done
    _ms_samba_error "samba could not bind a free 127.x.y.z address in 10 attempts"
}

ms_samba_stop() {
    local pid=$_MS_SAMBA_PID p left=()
    if [[ -z "$pid" ]]; then
        return 0
    fi
    # samba -i leads its own process group and passes SIGTERM on to it.
    _ms_stop_pids 100 "$pid"
    # Belt and braces: anything still in the group outlived its leader.
    if _ms_have_cmd pgrep; then
        while IFS= read -r p; do
            [[ -n "$p" ]] && left+=("$p")
        done < <(pgrep -g "$pid" 2>/dev/null || true)
        if ((${#left[@]} > 0)); then
            ms_log "samba left processes ${left[*]} behind, killing them"
            kill -KILL "${left[@]}" 2>/dev/null || true
        fi
    fi
    _ms_samba_forget_pid "$pid"
    _MS_SAMBA_PID=
    SAMBA_PID=
    export SAMBA_PID
}

ms_samba_restart() {
    local attempt rc
    _ms_samba_need
    ms_samba_stop
    # Clients know this address and trust this certificate, so only they
    # will do; a short wait covers sockets the old process still holds.
    for ((attempt = 1; attempt <= 10; attempt++)); do
        rc=0
        _ms_samba_launch "$SAMBA_ADDR" || rc=$?
        if ((rc == 0)); then
            return 0
        fi
        sleep 0.5
    done
    _ms_samba_error "samba could not bind $SAMBA_ADDR again"
}

# ------------------------------------------------------------------ tools

ms_samba_ldap() {
    local tool=$1 var
    local -a clean=(-u LDAPNOINIT)
    shift
    _ms_samba_need
    # Not LDAPNOINIT as in lib.sh: it also turns off the LDAPTLS_* variables,
    # and ldapsearch has no option for a CA file.  So: no LDAP* variable
    # from the environment, HOME here (no ~/.ldaprc), and the TLS settings
    # as variables, which override /etc/ldap/ldap.conf.
    while IFS= read -r var; do
        clean+=(-u "$var")
    done < <(compgen -e | grep '^LDAP' || true)
    env "${clean[@]}" HOME="$_MS_SAMBA_DIR" LDAPTLS_CACERT="$SAMBA_CA_FILE" \
        LDAPTLS_REQCERT=demand "$tool" "$@"
}

_ms_samba_admin() {
    local tool=$1
    shift
    ms_samba_ldap "$tool" -x -H "$SAMBA_URI" -D "$SAMBA_ADMIN_DN" -y "$SAMBA_ADMIN_PWFILE" "$@"
}

ms_samba_ldapsearch() {
    # ldapsearch keeps the last -b, so the caller's own -b wins.
    _ms_samba_admin ldapsearch -LLL -o ldif-wrap=no -b "$SAMBA_BASE" "$@"
}

ms_samba_ldapadd() {
    _ms_samba_quiet _ms_samba_admin ldapadd "$@"
}

ms_samba_ldapmodify() {
    _ms_samba_quiet _ms_samba_admin ldapmodify "$@"
}

ms_samba_ldapdelete() {
    _ms_samba_quiet _ms_samba_admin ldapdelete "$@"
}

ms_samba_tool() {
    local a
    local -a h=(-H "$_MS_SAMBA_DIR/private/sam.ldb")
    _ms_samba_need
    # samba-tool takes the last -H; a caller's own URL stays in force.
    for a in "$@"; do
        case "$a" in
            -H | --URL | --URL=*) h=() ;;
        esac
    done
    _ms_samba_env "$_MS_SAMBA_DIR" samba-tool "$@" -s "$SAMBA_CONF" "${h[@]}"
}

ms_samba_user_create() {
    if (($# < 1)); then
        _ms_samba_error "ms_samba_user_create needs NAME [OPTIONS]"
    fi
    local name=$1
    shift
    _ms_samba_need
    if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || ((${#name} > 20)); then
        _ms_samba_error "ms_samba_user_create: '$name' is not a sAMAccountName this harness handles (letters, digits, . _ -, at most 20)"
    fi
    _ms_samba_secret "$SAMBA_PW_DIR/$name.pw"
    _ms_samba_quiet ms_samba_tool user add "$name" "$(<"$SAMBA_PW_DIR/$name.pw")" \
        --userou="${SAMBA_PEOPLE%,"$SAMBA_BASE"}" --use-username-as-cn "$@"
}

ms_samba_user_disable() {
    if (($# != 1)); then
        _ms_samba_error "ms_samba_user_disable needs NAME"
    fi
    _ms_samba_quiet ms_samba_tool user disable "$1"
}

ms_samba_user_enable() {
    if (($# != 1)); then
        _ms_samba_error "ms_samba_user_enable needs NAME"
    fi
    _ms_samba_quiet ms_samba_tool user enable "$1"
}

ms_samba_group_create() {
    if (($# < 1)); then
        _ms_samba_error "ms_samba_group_create needs NAME [OPTIONS]"
    fi
    local name=$1
    shift
    _ms_samba_quiet ms_samba_tool group add "$name" \
        --groupou="${SAMBA_GROUPS%,"$SAMBA_BASE"}" "$@"
}

ms_samba_group_add() {
    if (($# < 2)); then
        _ms_samba_error "ms_samba_group_add needs GROUP MEMBER..."
    fi
    local group=$1 list
    shift
    list=$(IFS=, && echo "$*")
    _ms_samba_quiet ms_samba_tool group addmembers "$group" "$list"
}

# ms_samba_allow_deleted_read NAME: what an AD admin grants a sync account
# to follow deletions: List Contents and Read Property on CN=Deleted
# Objects.  samba-tool dsacl cannot see that container (it needs the
# show-deleted control), so this edits its security descriptor locally.
ms_samba_allow_deleted_read() {
    if (($# != 1)); then
        _ms_samba_error "ms_samba_allow_deleted_read needs NAME"
    fi
    local sid
    _ms_samba_need
    sid=$(ms_samba_tool user show "$1" --attributes=objectSid | sed -n 's/^objectSid: //p')
    [[ "$sid" == S-1-5-* ]] || _ms_samba_error "no objectSid for $1"
    # samba-tool's own interpreter: the one that has the samba modules.
    _ms_samba_env "$_MS_SAMBA_DIR" "$(sed -n '1s/^#! *//p' "$(command -v samba-tool)")" - \
        "$SAMBA_CONF" "$_MS_SAMBA_DIR/private/sam.ldb" "CN=Deleted Objects,$SAMBA_BASE" "$sid" \
        >>"$_MS_SAMBA_DIR/tool.log" 2>&1 <<'PY' || _ms_samba_error "cannot change the ACL of CN=Deleted Objects (see $_MS_SAMBA_DIR/tool.log)"
import sys
import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

conf, url, dn, sid = sys.argv[1:]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
controls = ["show_deleted:1", "sd_flags:1:4"]  # 4: the DACL only
res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=controls)
sddl = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0]).as_sddl()
at = sddl.index("(", sddl.index("D:"))
sddl = sddl[:at] + "(A;;RPLCLORC;;;%s)" % sid + sddl[at:]
sd = security.descriptor.from_sddl(sddl, security.dom_sid(sid.rsplit("-", 1)[0]))
m = ldb.Message()
m.dn = res[0].dn
m["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(sd), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
db.modify(m, controls=controls)
print("granted List Contents and Read Property on %s to %s" % (dn, sid))
PY
}

ms_samba_bulk_users() {
    if (($# < 2 || $# > 3)); then
        _ms_samba_error "ms_samba_bulk_users needs PREFIX COUNT [GROUP]"
    fi
    local prefix=$1 count=$2 group=${3:-} i n ldif gdn found started
    _ms_samba_need
    if ! [[ "$prefix" =~ ^[A-Za-z][A-Za-z0-9-]*$ ]] || ((${#prefix} > 15)); then
        _ms_samba_error "ms_samba_bulk_users: bad PREFIX '$prefix' (a letter, then letters, digits or '-'; at most 15, as sAMAccountName has 20)"
    fi
    if ! [[ "$count" =~ ^[1-9][0-9]{0,4}$ ]]; then
        _ms_samba_error "ms_samba_bulk_users: COUNT must be 1..99999, got '$count'"
    fi
    # It goes into a search filter and a DN unescaped.
    if [[ -n "$group" && ! "$group" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
        _ms_samba_error "ms_samba_bulk_users: bad GROUP '$group' (letters, digits, . _ -)"
    fi
    started=$(_ms_samba_now_ms)
    ldif="$_MS_SAMBA_DIR/bulk-$prefix.ldif"
    # userAccountControl 544 = NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled
    # without a password (without it AD creates the user disabled, 546).
    {
        for ((i = 1; i <= count; i++)); do
            printf -v n '%s%05d' "$prefix" "$i"
            printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\nmail: %s@%s\ngivenName: %s\nsn: %05d\ndisplayName: %s %05d\nuserAccountControl: 544\n\n' \
                "$n" "$SAMBA_PEOPLE" "$n" "$n" "${SAMBA_REALM,,}" "$n" "${SAMBA_REALM,,}" \
                "$prefix" "$i" "$prefix" "$i"
        done
    } >"$ldif" || _ms_samba_error "cannot write $ldif"
    ms_samba_ldapadd -f "$ldif" || _ms_samba_error "adding $count users from $ldif failed"
    if [[ -n "$group" ]]; then
        found=$(ms_samba_ldapsearch "(&(objectClass=group)(sAMAccountName=$group))" 1.1) ||
            _ms_samba_error "cannot look up group $group"
        gdn=$(sed -n 's/^dn: //p' <<<"$found")
        {
            if [[ -z "$gdn" ]]; then
                printf 'dn: CN=%s,%s\nobjectClass: group\nsAMAccountName: %s\n' \
                    "$group" "$SAMBA_GROUPS" "$group"
            else
                printf 'dn: %s\nchangetype: modify\nadd: member\n' "$gdn"
            fi
            for ((i = 1; i <= count; i++)); do
                printf 'member: CN=%s%05d,%s\n' "$prefix" "$i" "$SAMBA_PEOPLE"
            done
        } >"$ldif.group" || _ms_samba_error "cannot write $ldif.group"
        if [[ -z "$gdn" ]]; then
            ms_samba_ldapadd -f "$ldif.group" || _ms_samba_error "creating group $group failed"
        else
            ms_samba_ldapmodify -f "$ldif.group" || _ms_samba_error "adding members to $gdn failed"
        fi
    fi
    ms_log "added $count users ${prefix}00001..${group:+ to group $group} in $(($(_ms_samba_now_ms) - started)) ms"
}
