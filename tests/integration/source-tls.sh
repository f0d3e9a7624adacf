#!/usr/bin/env bash
# The source's TLS and bind options against a real slapd serving ldaps://
# and StartTLS (MS_SLAPD_TLS=1): ldaps:// with ca_file, StartTLS with
# ca_dir, a certificate from the wrong CA refused over ldaps:// and over
# StartTLS with a message that says so (and accepted with tls_verify =
# false, with a warning), SASL EXTERNAL with a client certificate, a
# clear-text simple bind refused unless allowed, --check-config on a
# world-readable client key and a missing ca_file, and libldap's own
# defaults (LDAPTLS_CACERT, LDAPTLS_CERT and LDAPTLS_KEY) honoured like the
# OpenLDAP tools honour them.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

# libldap reads ldap.conf, ~/.ldaprc and LDAP* variables (LDAPTLS_CACERT,
# LDAPCONF, LDAPRC, LDAPURI...): none of the host's may change the result.
for v in $(compgen -e); do
    if [[ "$v" == LDAP[!_]* ]]; then
        unset "$v"
    fi
done

ms_require_cmd ldapwhoami
export MS_SLAPD_TLS=1
ms_setup
export HOME="$T"
ms_slapd_start
ms_sim_start

simple=("bind_dn = \"$LDAP_SVC_DN\";" "bind_password_file = \"$LDAP_SVC_PWFILE\";")
external=("bind_method = \"sasl-external\";")
client_cert=("client_cert_file = \"$LDAP_CLIENT_CERT\";" "client_key_file = \"$LDAP_CLIENT_KEY\";")

# tls_conf NAME SETTING...: $T/membersync.conf reading the people with the
# given source settings (one per line, from line 3) and state of its own in
# $T/NAME.state, so that every case adds every member again.
tls_conf() {
    local name=$1 line
    shift
    {
        printf '# source-tls.sh: %s\nsource = {\n' "$name"
        for line in "$@"; do
            printf '  %s\n' "$line"
        done
        cat <<EOT
  base = "$LDAP_PEOPLE";
  filter = "(objectClass=inetOrgPerson)";
  change_detection = "full";
  network_timeout = 5;
  timeout = 20;
};
state_dir = "$T/$name.state";
log_level = "info";
targets = (
$(ms_rest_target hr-api)
);
EOT
    } >"$T/membersync.conf"
}

# synced NAME URI: the --once run NAME read the directory at URI and every
# member reached the API.
synced() {
    ms_assert_eq 0 "$MS_RC" "$1: exit status"
    grep -q "change detection: full (configured; server $2)" "$T/$1.log" ||
        ms_fail "$1: the directory at $2 was not read"
    grep -q "cycle 1 finished in .*: 206 entries; hr-api: 205 added," "$T/$1.log" ||
        ms_fail "$1: no cycle summary with 205 members added"
    ms_assert_eq 205 "$(ms_sim_jq '.apis.rest.members | length')" "$1: members at the API"
}

# refused NAME: the --once run NAME could not read the directory and sent
# nothing.
refused() {
    ms_assert_eq 69 "$MS_RC" "$1: exit status (EX_UNAVAILABLE)"
    grep -q "^error: cannot read the directory: " "$T/$1.log" || ms_fail "$1: no error about the directory"
    ms_assert_eq 0 "$(ms_posts /rest/members)" "$1: POSTs"
}

# line_of SETTING: the line of $T/membersync.conf that sets SETTING.
line_of() {
    grep -n "^  $1 = " "$T/membersync.conf" | cut -d: -f1
}

ms_log "1. ldaps:// with ca_file"
tls_conf ldaps "uri = \"$LDAPS_URI\";" "ca_file = \"$LDAP_CA_FILE\";" "${simple[@]}"
ms_once ldaps
synced ldaps "$LDAPS_URI"

ms_log "2. ldap:// with StartTLS and ca_dir"
ms_sim_reset
tls_conf starttls "uri = \"$LDAP_URI\";" "starttls = true;" "ca_dir = \"$LDAP_CA_DIR\";" "${simple[@]}"
ms_once starttls
synced starttls "$LDAP_URI"

ms_log "3. ldaps:// with a ca_file of another CA: refused, and the log says why"
ms_sim_reset
tls_conf wrong-ca "uri = \"$LDAPS_URI\";" "ca_file = \"$LDAP_OTHER_CA_FILE\";" "${simple[@]}"
ms_once wrong-ca
refused wrong-ca
# Whatever libldap says ("Can't contact LDAP server"), the operator must
# learn that the server's certificate did not pass verification.
grep -Eiq "^error: cannot read the directory: $LDAPS_URI: .*certificate.*(verif|not trusted|untrusted)" \
    "$T/wrong-ca.log" || ms_fail "wrong-ca: the log does not say that certificate verification failed"
# For contrast: nothing listens there, which is no certificate problem.
closed_uri="ldaps://127.0.0.1:1"
tls_conf closed "uri = \"$closed_uri\";" "ca_file = \"$LDAP_CA_FILE\";" "${simple[@]}"
ms_once closed
refused closed
grep -q "^error: cannot read the directory: $closed_uri: " "$T/closed.log" || ms_fail "closed: URI not named"
if grep -Eiq "certificate.*(verif|not trusted|untrusted)" "$T/closed.log"; then
    ms_fail "closed: an unreachable server is blamed on its certificate"
fi

ms_log "3b. StartTLS with a ca_dir of another CA: refused the same way; with tls_verify = false: works, with a warning"
# ca_dir holding only the other CA, under its hash name, as c_rehash lays it out.
mkdir -p "$T/other-cadir"
cp -- "$LDAP_OTHER_CA_FILE" "$T/other-cadir/$(openssl x509 -hash -noout -in "$LDAP_OTHER_CA_FILE").0"
tls_conf wrong-ca-starttls "uri = \"$LDAP_URI\";" "starttls = true;" "ca_dir = \"$T/other-cadir\";" "${simple[@]}"
ms_once wrong-ca-starttls
refused wrong-ca-starttls
grep -Eiq "^error: cannot read the directory: $LDAP_URI: .*certificate.*(verif|not trusted|untrusted)" \
    "$T/wrong-ca-starttls.log" || ms_fail "wrong-ca-starttls: the log does not say that certificate verification failed"
tls_conf no-verify-starttls "uri = \"$LDAP_URI\";" "starttls = true;" "ca_dir = \"$T/other-cadir\";" \
    "tls_verify = false;" "${simple[@]}"
ms_once no-verify-starttls
synced no-verify-starttls "$LDAP_URI"
grep -q "^warning: .*membersync.conf:$(line_of tls_verify): .*tls_verify = false: the directory's certificate is not checked" \
    "$T/no-verify-starttls.log" || ms_fail "no-verify-starttls: no warning about the unchecked certificate"
ms_sim_reset

ms_log "4. the same wrong CA with tls_verify = false: works, with a warning"
tls_conf no-verify "uri = \"$LDAPS_URI\";" "ca_file = \"$LDAP_OTHER_CA_FILE\";" "tls_verify = false;" \
    "${simple[@]}"
ms_once no-verify
synced no-verify "$LDAPS_URI"
grep -q "^warning: .*membersync.conf:$(line_of tls_verify): .*tls_verify = false: the directory's certificate is not checked" \
    "$T/no-verify.log" || ms_fail "no-verify: no warning about the unchecked certificate"

ms_log "5. SASL EXTERNAL with a client certificate over ldaps://"
ms_sim_reset
tls_conf external "uri = \"$LDAPS_URI\";" "ca_file = \"$LDAP_CA_FILE\";" "${external[@]}" "${client_cert[@]}"
ms_once external
# The service account alone may read the people: slapd mapped the
# certificate to it.
synced external "$LDAPS_URI"

ms_log "6. a simple bind in clear text: refused unless allowed"
ms_sim_reset
tls_conf plaintext "uri = \"$LDAP_URI\";" "${simple[@]}"
ms_once plaintext
ms_assert_eq 78 "$MS_RC" "plaintext: exit status (EX_CONFIG)"
grep -q "membersync.conf:$(line_of uri): source: a simple bind over ldap:// without StartTLS sends the password in clear text" \
    "$T/plaintext.log" || ms_fail "plaintext: no file:line error about the clear-text bind"
ms_assert_eq 0 "$(ms_posts /rest/members)" "plaintext: POSTs"
tls_conf plaintext-allowed "uri = \"$LDAP_URI\";" "allow_plaintext_bind = true;" "${simple[@]}"
ms_once plaintext-allowed
synced plaintext-allowed "$LDAP_URI"

ms_log "7. --check-config: a world-readable client key, a missing ca_file"
cp -- "$LDAP_CLIENT_KEY" "$T/client-644.key"
chmod 644 "$T/client-644.key"
tls_conf key-644 "uri = \"$LDAPS_URI\";" "ca_file = \"$LDAP_CA_FILE\";" "${external[@]}" \
    "client_cert_file = \"$LDAP_CLIENT_CERT\";" "client_key_file = \"$T/client-644.key\";"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/key-644.out" 2>"$T/key-644.log" || rc=$?
ms_assert_eq 0 "$rc" "key-644: --check-config exit status"
grep -qx "$T/membersync.conf:$(line_of client_key_file): warning: source: client_key_file $T/client-644.key is readable by every user; chmod 600 it" \
    "$T/key-644.log" || ms_fail "key-644: no warning about the world-readable key"
tls_conf missing-ca "uri = \"$LDAPS_URI\";" "ca_file = \"$T/no-such-ca.crt\";" "${simple[@]}"
rc=0
"$MEMBERSYNCD" --check-config --config "$T/membersync.conf" >"$T/missing-ca.out" 2>"$T/missing-ca.log" || rc=$?
ms_assert_eq 78 "$rc" "missing-ca: --check-config exit status"
grep -qx "$T/membersync.conf:$(line_of ca_file): source: ca_file $T/no-such-ca.crt: No such file or directory" \
    "$T/missing-ca.log" || ms_fail "missing-ca: no file:line error about the missing ca_file"

ms_log "8. libldap's defaults: LDAPTLS_CACERT, LDAPTLS_CERT and LDAPTLS_KEY"
# Without a CA the server is not trusted, so what follows is the variable's doing.
ms_sim_reset
tls_conf env-none "uri = \"$LDAPS_URI\";" "${simple[@]}"
ms_once env-none
refused env-none
# The OpenLDAP tools trust the CA that LDAPTLS_CACERT names...
out=$(LDAPTLS_CACERT="$LDAP_CA_FILE" ldapwhoami -x -o nettimeout=5 -H "$LDAPS_URI" 2>&1) ||
    ms_error "ldapwhoami with LDAPTLS_CACERT failed: $out"
# ...and so must membersyncd.
tls_conf env-ca "uri = \"$LDAPS_URI\";" "${simple[@]}"
LDAPTLS_CACERT="$LDAP_CA_FILE" ms_once env-ca
synced env-ca "$LDAPS_URI"
ms_sim_reset
tls_conf env-cert "uri = \"$LDAPS_URI\";" "${external[@]}"
LDAPTLS_CACERT="$LDAP_CA_FILE" LDAPTLS_CERT="$LDAP_CLIENT_CERT" LDAPTLS_KEY="$LDAP_CLIENT_KEY" ms_once env-cert
synced env-cert "$LDAPS_URI"
