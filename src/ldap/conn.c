#include "config.h"

#include "ldap/conn.h"
#include "ldap/entry.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <sasl/sasl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONN_OID_SYNCREPL "1.3.6.1.4.1.4203.1.9.1.1"
#define CONN_OID_AD_CAPABILITY "1.2.840.113556.1.4.800"

struct conn {
	const struct conf_source *cfg;
	LDAP *ld;
	size_t uri_index;
	struct conn_info info;
};

struct conn *conn_new(const struct conf_source *cfg)
{
	struct conn *c = XNEW(struct conn);
	c->cfg = cfg;
	return c;
}

static void conn_info_clear(struct conn_info *i)
{
	free(i->vendor);
	free(i->highest_usn);
	free(i->ds_service_name);
	free(i->invocation_id);
	free(i->default_nc);
	memset(i, 0, sizeof(*i));
}

void conn_close(struct conn *c)
{
	if (c->ld)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	c->ld = NULL;
	conn_info_clear(&c->info);
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	conn_close(c);
	free(c);
}

LDAP *conn_ld(struct conn *c)
{
	return c->ld;
}

const char *conn_uri(const struct conn *c)
{
	return c->ld ? c->cfg->uris[c->uri_index] : NULL;
}

const struct conn_info *conn_info(const struct conn *c)
{
	return &c->info;
}

char *conn_error(LDAP *ld, int rc, const char *what)
{
	char *diag = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	/* GnuTLS hands over "(unknown error code)", parentheses included. */
	bool wrapped = diag && diag[0] == '(' && diag[strlen(diag) - 1] == ')';
	char *msg = diag && *diag ? xasprintf(wrapped ? "%s: %s %s" : "%s: %s (%s)", what, ldap_err2string(rc), diag)
				  : xasprintf("%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
	return msg;
}

bool conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

static int conn_set_tls(const struct conf_source *cfg, LDAP *ld, char **err)
{
	int require = cfg->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int zero = 0, rc;
	const struct {
		int option;
		const char *value, *what;
	} files[] = {
		{ LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file, "ca_file" },
		{ LDAP_OPT_X_TLS_CACERTDIR, cfg->ca_dir, "ca_dir" },
		{ LDAP_OPT_X_TLS_CERTFILE, cfg->client_cert_file, "client_cert_file" },
		{ LDAP_OPT_X_TLS_KEYFILE, cfg->client_key_file, "client_key_file" },
	};

	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS) {
		*err = xstrdup("cannot set the TLS certificate check");
		return -EINVAL;
	}
	/* A new connection starts without the file settings of libldap's
	 * global context, so what ldap.conf, .ldaprc or LDAPTLS_* set there
	 * is copied over unless the configuration says otherwise. */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *global = NULL;
		const char *v = files[i].value;
		if (!v && ldap_get_option(NULL, files[i].option, &global) == LDAP_OPT_SUCCESS)
			v = global;
		rc = v ? ldap_set_option(ld, files[i].option, v) : LDAP_OPT_SUCCESS;
		if (rc != LDAP_OPT_SUCCESS)
			*err = xasprintf("cannot use %s %s%s", files[i].what, v, global ? " (from ldap.conf or LDAPTLS_*)" : "");
		ldap_memfree(global);
		if (rc != LDAP_OPT_SUCCESS)
			return -EINVAL;
	}
	/* TLS options only take effect in a new context. */
	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (rc != LDAP_OPT_SUCCESS) {
		*err = conn_error(ld, rc, "cannot set up TLS (are ca_file, ca_dir and the client certificate "
					  "readable PEM files?)");
		return -EINVAL;
	}
	return 0;
}

/* SASL asks for the authorization identity; EXTERNAL and GSSAPI need
 * nothing else. An empty answer means "who I authenticated as". */
static int conn_sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	const struct conf_source *cfg = defaults;
	(void)ld;
	(void)flags;
	for (sasl_interact_t *i = in; i->id != SASL_CB_LIST_END; i++) {
		const char *v = i->defresult ? i->defresult : "";
		if (i->id == SASL_CB_USER)
			v = cfg->sasl_authzid ? cfg->sasl_authzid : "";
		i->result = v;
		i->len = (unsigned)strlen(v);
	}
	return LDAP_SUCCESS;
}

static int conn_bind(const struct conf_source *cfg, LDAP *ld, char **err)
{
	const char *mech = NULL, *what = NULL;
	int rc = LDAP_SUCCESS;

	switch (cfg->bind_method) {
	case CONF_BIND_ANONYMOUS:
	case CONF_BIND_SIMPLE: {
		struct berval cred = { 0, NULL };
		if (cfg->bind_method == CONF_BIND_SIMPLE) {
			cred.bv_val = cfg->bind_password->value;
			cred.bv_len = cfg->bind_password->len;
		}
		what = cfg->bind_method == CONF_BIND_SIMPLE ? "simple bind failed" : "anonymous bind failed";
		rc = ldap_sasl_bind_s(ld, cfg->bind_dn ? cfg->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		break;
	}
	case CONF_BIND_SASL_EXTERNAL:
		mech = "EXTERNAL";
		what = "SASL EXTERNAL bind failed (is a client certificate configured and trusted by the server, "
		       "and mapped to an identity?)";
		break;
	case CONF_BIND_SASL_GSSAPI:
		mech = "GSSAPI";
		what = "SASL GSSAPI bind failed (keytab, Kerberos realm and the server's principal right?)";
		/* MIT Kerberos gets initial credentials from the client keytab
		 * by itself; the variable is how it is told where it is. */
		if (cfg->keytab_file)
			setenv("KRB5_CLIENT_KTNAME", cfg->keytab_file, 1);
		break;
	}
	if (mech) {
		if (cfg->sasl_secprops && ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, cfg->sasl_secprops) !=
						  LDAP_OPT_SUCCESS) {
			*err = xasprintf("sasl_secprops '%s' is not understood by the SASL library", cfg->sasl_secprops);
			return -EINVAL;
		}
		rc = ldap_sasl_interactive_bind_s(ld, NULL, mech, NULL, NULL, LDAP_SASL_QUIET, conn_sasl_interact,
						  (void *)cfg);
	}
	if (rc != LDAP_SUCCESS) {
		*err = conn_error(ld, rc, what);
		return rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_STRONG_AUTH_REQUIRED
			       ? -EACCES
			       : -ECONNREFUSED;
	}
	return 0;
}

/* Referrals lead to other servers, which get the same credentials. */
static int conn_rebind(LDAP *ld, const char *url, ber_tag_t request, ber_int_t msgid, void *params)
{
	char *err = NULL;
	(void)url;
	(void)request;
	(void)msgid;
	int r = conn_bind(params, ld, &err);
	free(err);
	return r == 0 ? LDAP_SUCCESS : LDAP_INVALID_CREDENTIALS;
}

static int conn_set_options(const struct conf_source *cfg, LDAP *ld, char **err)
{
	int version = LDAP_VERSION3;
	struct timeval net = { .tv_sec = cfg->network_timeout };
	struct timeval op = { .tv_sec = cfg->timeout };

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, cfg->follow_referrals ? LDAP_OPT_ON : LDAP_OPT_OFF) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS) {
		*err = xstrdup("cannot set LDAP connection options");
		return -EINVAL;
	}
	if (cfg->follow_referrals)
		ldap_set_rebind_proc(ld, conn_rebind, (void *)cfg);
	return conn_set_tls(cfg, ld, err);
}

static bool conn_uri_is_tls(const char *uri)
{
	return strncasecmp(uri, "ldaps://", 8) == 0;
}

/* libldap says only "Can't contact LDAP server" when the TLS handshake
 * fails, whatever the reason. Shaking hands again without checking the
 * certificate tells an untrusted certificate apart from the rest; that
 * connection is closed at once, nothing is sent over it. */
static bool conn_cert_untrusted(const struct conf_source *cfg, const char *uri, bool starttls)
{
	struct conf_source probe = *cfg;
	LDAP *ld = NULL;
	char *err = NULL;
	bool untrusted = false;

	if (!cfg->tls_verify)
		return false;
	probe.tls_verify = false;
	probe.follow_referrals = false;
	if (ldap_initialize(&ld, uri) == LDAP_SUCCESS && conn_set_options(&probe, ld, &err) == 0 &&
	    ldap_connect(ld) == LDAP_SUCCESS)
		untrusted = !starttls || ldap_start_tls_s(ld, NULL, NULL) == LDAP_SUCCESS;
	free(err);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return untrusted;
}

static char *conn_untrusted_error(const struct conf_source *cfg)
{
	return xasprintf("the server's certificate failed verification: it is not signed by a CA in %s%s%s, "
			 "or its names do not include the host in the URI",
			 cfg->ca_file ? cfg->ca_file : cfg->ca_dir ? cfg->ca_dir : "the default CA file of ldap.conf",
			 cfg->ca_file && cfg->ca_dir ? " or " : "", cfg->ca_file && cfg->ca_dir ? cfg->ca_dir : "");
}

static int conn_open_uri(const struct conf_source *cfg, const char *uri, LDAP **out, char **err)
{
	LDAP *ld = NULL;
	int rc, r = 0;

	*out = NULL;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		*err = conn_error(NULL, rc, "cannot initialise LDAP connection");
		return -EINVAL;
	}
	if ((r = conn_set_options(cfg, ld, err)) < 0)
		goto out;
	/* Connecting first tells "cannot reach or trust the server" apart
	 * from "the server refused our credentials". */
	rc = ldap_connect(ld);
	if (rc != LDAP_SUCCESS) {
		if (conn_uri_is_tls(uri) && conn_cert_untrusted(cfg, uri, false))
			*err = conn_untrusted_error(cfg);
		else
			*err = conn_error(ld, rc, "cannot connect");
		r = -ECONNREFUSED;
		goto out;
	}
	if (cfg->starttls && !conn_uri_is_tls(uri) && strncasecmp(uri, "ldapi://", 8) != 0) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			if (conn_cert_untrusted(cfg, uri, true))
				*err = conn_untrusted_error(cfg);
			else
				*err = conn_error(ld, rc, "StartTLS failed");
			r = -ECONNREFUSED;
			goto out;
		}
	}
	if ((r = conn_bind(cfg, ld, err)) < 0)
		goto out;
	*out = ld;
	ld = NULL;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}

static char *conn_first_value(LDAP *ld, LDAPMessage *m, const char *attr)
{
	struct berval **v = ldap_get_values_len(ld, m, attr);
	char *s = v && v[0] ? xstrndup(v[0]->bv_val, v[0]->bv_len) : NULL;
	ldap_value_free_len(v);
	return s;
}

static bool conn_has_value(LDAP *ld, LDAPMessage *m, const char *attr, const char *value)
{
	struct berval **v = ldap_get_values_len(ld, m, attr);
	bool found = false;
	for (size_t i = 0; v && v[i] && !found; i++)
		found = v[i]->bv_len == strlen(value) && memcmp(v[i]->bv_val, value, v[i]->bv_len) == 0;
	ldap_value_free_len(v);
	return found;
}

/* AD pins a USN to the DC that issued it: its invocationId changes when
 * the DC is restored, and USNs from another DC mean nothing here. */
static void conn_read_invocation_id(struct conn *c)
{
	char *attrs[] = { "invocationId", NULL };
	struct timeval tv = { .tv_sec = c->cfg->timeout };
	LDAPMessage *msg = NULL;
	if (ldap_search_ext_s(c->ld, c->info.ds_service_name, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
			      NULL, &tv, 1, &msg) == LDAP_SUCCESS) {
		LDAPMessage *m = ldap_first_entry(c->ld, msg);
		struct berval **v = m ? ldap_get_values_len(c->ld, m, "invocationId") : NULL;
		if (v && v[0] && v[0]->bv_len == 16)
			c->info.invocation_id = entry_guid_text((const unsigned char *)v[0]->bv_val);
		ldap_value_free_len(v);
	}
	ldap_msgfree(msg);
}

int conn_refresh_info(struct conn *c, char **err)
{
	char *attrs[] = { "supportedControl", "supportedCapabilities", "vendorName", "highestCommittedUSN",
			  "dsServiceName", "defaultNamingContext", NULL };
	struct timeval tv = { .tv_sec = c->cfg->timeout };
	LDAPMessage *msg = NULL;
	int r = 0;

	conn_info_clear(&c->info);
	int rc = ldap_search_ext_s(c->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &msg);
	if (rc != LDAP_SUCCESS) {
		*err = conn_error(c->ld, rc, "cannot read the rootDSE");
		r = conn_lost(rc) ? -ECONNRESET : -EIO;
		goto out;
	}
	LDAPMessage *m = ldap_first_entry(c->ld, msg);
	if (!m)	/* a rootDSE hidden by ACLs: assume the least */
		goto out;
	c->info.is_ad = conn_has_value(c->ld, m, "supportedCapabilities", CONN_OID_AD_CAPABILITY);
	c->info.has_syncrepl = conn_has_value(c->ld, m, "supportedControl", CONN_OID_SYNCREPL);
	c->info.has_paging = conn_has_value(c->ld, m, "supportedControl", LDAP_CONTROL_PAGEDRESULTS);
	c->info.vendor = conn_first_value(c->ld, m, "vendorName");
	if (!c->info.vendor && c->info.is_ad)
		c->info.vendor = xstrdup("Active Directory");
	c->info.highest_usn = conn_first_value(c->ld, m, "highestCommittedUSN");
	c->info.ds_service_name = conn_first_value(c->ld, m, "dsServiceName");
	c->info.default_nc = conn_first_value(c->ld, m, "defaultNamingContext");
	if (c->info.is_ad && c->info.ds_service_name)
		conn_read_invocation_id(c);
out:
	ldap_msgfree(msg);
	return r;
}

int conn_open(struct conn *c, char **err)
{
	struct sbuf why;
	int r = -ECONNREFUSED;

	if (c->ld)
		return 0;
	sbuf_init(&why);
	for (size_t i = 0; i < c->cfg->n_uris; i++) {
		char *e = NULL;
		LDAP *ld;
		r = conn_open_uri(c->cfg, c->cfg->uris[i], &ld, &e);
		if (r == 0) {
			c->ld = ld;
			c->uri_index = i;
			r = conn_refresh_info(c, &e);
			if (r == 0)
				break;
			conn_close(c);
		}
		sbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", c->cfg->uris[i], e);
		free(e);
	}
	if (r < 0)
		*err = sbuf_detach(&why, NULL);
	sbuf_release(&why);
	return r;
}
