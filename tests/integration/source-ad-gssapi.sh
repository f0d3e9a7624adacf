#!/usr/bin/env bash
# SASL GSSAPI (Kerberos) binds against a real Samba AD DC with its KDC:
# membersyncd gets its ticket from a keytab alone (keytab_file, through
# KRB5_CLIENT_KTNAME), with no kinit and no credential cache beforehand,
# reads the directory over plain ldap:// protected by the GSSAPI security
# layer, and says what is wrong when the keytab holds the wrong key.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/lib-samba.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3
ms_setup
[[ -n "$(find /usr/lib /usr/local/lib -path '*/sasl2/libgssapiv2.so*' -print -quit 2>/dev/null)" ]] ||
    ms_skip "the Cyrus SASL GSSAPI module is missing (Debian: libsasl2-modules-gssapi-mit)"
ms_samba_start --kdc
ms_sim_start

# The client side of a Kerberos deployment: the realm's KDC, no DNS, and
# the DC's service principal named after the address in the URI (no name
# resolves to the test's 127.x.y.z address).
ms_samba_tool spn add "ldap/$SAMBA_ADDR" 'DC1$' >/dev/null
cat >"$T/krb5.conf" <<EOT
[libdefaults]
	default_realm = $SAMBA_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
[realms]
	$SAMBA_REALM = {
		kdc = $SAMBA_ADDR
	}
EOT
export KRB5_CONFIG="$T/krb5.conf" KRB5CCNAME="FILE:$T/krb5cc"
# libldap would otherwise ask DNS for the host's canonical name.
export LDAPSASL_NOCANON=on
unset KRB5_CLIENT_KTNAME
(umask 077 && _ms_samba_env "$_MS_SAMBA_DIR" samba-tool domain exportkeytab "$T/svc.keytab" \
    --principal="membersync-svc@$SAMBA_REALM" -s "$SAMBA_CONF" >>"$T/keytab.log" 2>&1) ||
    ms_error "cannot export the service account's keytab"

ms_samba_user_create alice --mail-address=alice@msync.test
ms_samba_user_create bob --mail-address=bob@msync.test

gss_conf() {
    cat >"$T/membersync.conf" <<EOT
source = {
  uri = "ldap://$SAMBA_ADDR";
  bind_method = "sasl-gssapi";
  keytab_file = "$1";
  base = "$SAMBA_PEOPLE";
  filter = "(&(objectClass=user)(!(objectClass=computer)))";
  id_attribute = "objectGUID";
  attributes = [ "sAMAccountName" ];
  change_detection = "usn";
  timeout = 20;
};
state_dir = "$T/state";
log_level = "info";
targets = (
  { name = "ad-api"; driver = "rest"; url = "$SIM_URL/rest/members";
    key = "uid"; remote_id_path = "id";
    auth = { key_file = "$SIM_REST_TOKENFILE"; };
    map = { uid = "\${sAMAccountName}"; email = "\${mail}"; name = "\${cn}"; };
  }
);
EOT
}

ms_log "a keytab and nothing else"
gss_conf "$T/svc.keytab"
ms_once gss1
ms_assert_eq 0 "$MS_RC" "GSSAPI run exit status"
ms_assert_eq '["alice","bob"]' "$(ms_sim_jq -c '[.apis.rest.members[].uid] | sort')" "members at the API"
[[ -s "$T/krb5cc" ]] || ms_fail "no ticket was cached: the bind did not go through Kerberos"

ms_log "a stale keytab (the password changed since): refused, and the log says where to look"
rm -f "$T/krb5cc"
ms_samba_user_create stale
(umask 077 && _ms_samba_env "$_MS_SAMBA_DIR" samba-tool domain exportkeytab "$T/stale.keytab" \
    --principal="stale@$SAMBA_REALM" -s "$SAMBA_CONF" >>"$T/keytab.log" 2>&1) || ms_error "cannot export stale's keytab"
ms_samba_tool user setpassword stale --random-password >/dev/null
gss_conf "$T/stale.keytab"
ms_once gss2
ms_assert_eq 69 "$MS_RC" "exit status with a stale keytab"
grep -q "SASL GSSAPI bind failed (keytab, Kerberos realm and the server's principal right?)" "$T/gss2.log" ||
    ms_fail "no clear message for a failed Kerberos bind"
ms_assert_eq 2 "$(ms_posts /rest/members)" "POSTs after the failed bind"
ms_log "source-ad-gssapi passed"
