#include "config.h"

#include "ldap/source.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct source {
	const struct conf_source *cfg;
	LDAP *ld;
	size_t uri_index;	/* which URI ld is connected to */
};

struct source *source_new(const struct conf_source *cfg)
{
	struct source *s = XNEW(struct source);
	s->cfg = cfg;
	return s;
}

static void source_disconnect(struct source *s)
{
	if (s->ld)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	s->ld = NULL;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	source_disconnect(s);
	free(s);
}

const char *source_connected_uri(const struct source *s)
{
	return s->ld ? s->cfg->uris[s->uri_index] : NULL;
}

static char *source_ldap_error(LDAP *ld, int rc, const char *what)
{
	char *diag = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	char *msg = diag && *diag ? xasprintf("%s: %s (%s)", what, ldap_err2string(rc), diag)
				  : xasprintf("%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
	return msg;
}

static int source_set_options(struct source *s, LDAP *ld, char **err)
{
	const struct conf_source *c = s->cfg;
	int version = LDAP_VERSION3;
	struct timeval net = { .tv_sec = c->network_timeout };
	struct timeval op = { .tv_sec = c->timeout };
	int require = c->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int zero = 0;

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS) {
		*err = xstrdup("cannot set LDAP connection options");
		return -EINVAL;
	}
	if (c->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file) != LDAP_OPT_SUCCESS) {
		*err = xasprintf("cannot use CA file %s", c->ca_file);
		return -EINVAL;
	}
	/* TLS options only take effect in a new context. */
	int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (rc != LDAP_OPT_SUCCESS) {
		*err = source_ldap_error(ld, rc, "cannot set up TLS (CA file readable?)");
		return -EINVAL;
	}
	return 0;
}

static int source_connect_uri(struct source *s, const char *uri, LDAP **out, char **err)
{
	const struct conf_source *c = s->cfg;
	LDAP *ld = NULL;
	int rc, r = 0;

	*out = NULL;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		*err = source_ldap_error(NULL, rc, "cannot initialise LDAP connection");
		return -EINVAL;
	}
	if ((r = source_set_options(s, ld, err)) < 0)
		goto out;
	if (c->starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			*err = source_ldap_error(ld, rc, "StartTLS failed");
			r = -ECONNREFUSED;
			goto out;
		}
	}
	struct berval cred = { 0, NULL };
	if (c->bind_dn) {
		cred.bv_val = c->bind_password->value;
		cred.bv_len = c->bind_password->len;
	}
	rc = ldap_sasl_bind_s(ld, c->bind_dn ? c->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		*err = source_ldap_error(ld, rc, c->bind_dn ? "bind failed" : "anonymous bind failed");
		r = rc == LDAP_INVALID_CREDENTIALS ? -EACCES : -ECONNREFUSED;
		goto out;
	}
	*out = ld;
	ld = NULL;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}

static int source_connect(struct source *s, char **err)
{
	struct sbuf why;
	int r = -ECONNREFUSED;

	if (s->ld)
		return 0;
	sbuf_init(&why);
	for (size_t i = 0; i < s->cfg->n_uris; i++) {
		char *e = NULL;
		LDAP *ld;
		r = source_connect_uri(s, s->cfg->uris[i], &ld, &e);
		if (r == 0) {
			s->ld = ld;
			s->uri_index = i;
			break;
		}
		sbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", s->cfg->uris[i], e);
		free(e);
	}
	if (r < 0)
		*err = sbuf_detach(&why, NULL);
	sbuf_release(&why);
	return r;
}

/* objectGUID is 16 bytes, the first three groups little-endian. */
static char *source_guid_text(const struct entry_value *v)
{
	const unsigned char *b = (const unsigned char *)v->data;
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2], b[1],
			 b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Sets the entry's id; returns a reason (caller frees) when it cannot. */
static char *source_entry_id(const struct conf_source *c, struct entry *e)
{
	const struct entry_attr *a = entry_get(e, c->id_attribute);
	if (!a || a->n == 0)
		return xasprintf("no %s attribute (is id_attribute right, and may the bind account read it?)",
				 c->id_attribute);
	if (a->n > 1)
		return xasprintf("%s has %zu values; an id must have one", c->id_attribute, a->n);
	const struct entry_value *v = &a->values[0];
	if (strcasecmp(c->id_attribute, "objectGUID") == 0) {
		if (v->len != 16)
			return xasprintf("objectGUID is %zu bytes long, not 16", v->len);
		char *id = source_guid_text(v);
		entry_set_id(e, id);
		free(id);
		return NULL;
	}
	if (v->len == 0 || !utf8_valid(v->data, v->len))
		return xasprintf("%s is empty or not text", c->id_attribute);
	entry_set_id(e, v->data);
	return NULL;
}

static struct entry *source_convert(LDAP *ld, LDAPMessage *msg)
{
	char *dn = ldap_get_dn(ld, msg);
	struct entry *e = entry_new(dn ? dn : "");
	ldap_memfree(dn);
	BerElement *ber = NULL;
	for (char *attr = ldap_first_attribute(ld, msg, &ber); attr; attr = ldap_next_attribute(ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(ld, msg, attr);
		struct entry_attr *a = entry_attr_get_or_add(e, attr);
		for (size_t i = 0; vals && vals[i]; i++)
			entry_attr_add_value(a, vals[i]->bv_val, vals[i]->bv_len);
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	return e;
}

static bool source_connection_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

static int source_scope(const struct conf_source *c)
{
	switch (c->scope) {
	case CONF_SCOPE_BASE: return LDAP_SCOPE_BASE;
	case CONF_SCOPE_ONE: return LDAP_SCOPE_ONELEVEL;
	case CONF_SCOPE_SUB: break;
	}
	return LDAP_SCOPE_SUBTREE;
}

/* Reads one page (or everything when paging is off). *cookie is replaced
 * by the server's cookie for the next page (NULL or empty: done). */
static int source_read_page(struct source *s, const struct source_sink *sink, struct berval **cookie,
			    struct source_result *res, int *ldap_rc, char **err)
{
	const struct conf_source *c = s->cfg;
	LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL };
	LDAPMessage *msg = NULL;
	LDAPControl **srv = NULL;
	struct timeval tv = { .tv_sec = c->timeout };
	int r = 0, rc;

	if (c->page_size > 0) {
		rc = ldap_create_page_control(s->ld, (ber_int_t)c->page_size, *cookie, 0, &page);
		if (rc != LDAP_SUCCESS) {
			*err = source_ldap_error(s->ld, rc, "cannot create paged results control");
			*ldap_rc = rc;
			return -EINVAL;
		}
		ctrls[0] = page;
	}
	rc = ldap_search_ext_s(s->ld, c->base, source_scope(c), c->filter, c->attributes, 0, ctrls, NULL, &tv,
			       LDAP_NO_LIMIT, &msg);
	*ldap_rc = rc;
	if (rc != LDAP_SUCCESS) {
		*err = source_ldap_error(s->ld, rc, "search failed");
		r = -EIO;
		goto out;
	}
	for (LDAPMessage *m = ldap_first_entry(s->ld, msg); m; m = ldap_next_entry(s->ld, m)) {
		struct entry *e = source_convert(s->ld, m);
		char *why = source_entry_id(c, e);
		if (why) {
			res->skipped++;
			if (sink->skipped)
				sink->skipped(sink->ud, e->dn, why);
			free(why);
		} else {
			res->entries++;
			if (sink->entry(sink->ud, e) < 0) {
				entry_free(e);
				*err = xstrdup("read stopped early (see the previous error)");
				r = -ECANCELED;
				goto out;
			}
		}
		entry_free(e);
	}
	int result_rc = LDAP_SUCCESS;
	rc = ldap_parse_result(s->ld, msg, &result_rc, NULL, NULL, NULL, &srv, 0);
	if (rc != LDAP_SUCCESS || result_rc != LDAP_SUCCESS) {
		*ldap_rc = rc != LDAP_SUCCESS ? rc : result_rc;
		*err = source_ldap_error(s->ld, *ldap_rc, "search result");
		r = -EIO;
		goto out;
	}
	ber_bvfree(*cookie);
	*cookie = NULL;
	if (page) {
		LDAPControl *resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, srv, NULL);
		ber_int_t estimate;
		struct berval next = { 0, NULL };
		if (resp && ldap_parse_pageresponse_control(s->ld, resp, &estimate, &next) == LDAP_SUCCESS &&
		    next.bv_len > 0)
			*cookie = ber_bvdup(&next);
		ber_memfree(next.bv_val);
	}
out:
	ldap_controls_free(srv);
	ldap_msgfree(msg);
	ldap_control_free(page);
	return r;
}

int source_read(struct source *s, const struct source_sink *sink, struct source_result *res, char **err)
{
	struct berval *cookie = NULL;
	int r;
	bool retried = false;

	memset(res, 0, sizeof(*res));
	*err = NULL;
again:
	if ((r = source_connect(s, err)) < 0)
		return r;
	for (;;) {
		int rc = LDAP_SUCCESS;
		size_t before = res->entries + res->skipped;
		r = source_read_page(s, sink, &cookie, res, &rc, err);
		if (r < 0) {
			if (source_connection_lost(rc))
				source_disconnect(s);
			/* A kept-alive connection may have been closed by the
			 * server while we slept; one fresh start is worth it
			 * if nothing was read yet. */
			if (source_connection_lost(rc) && !retried && before == 0 && res->entries == 0) {
				retried = true;
				free(*err);
				*err = NULL;
				ber_bvfree(cookie);
				cookie = NULL;
				goto again;
			}
			break;
		}
		if (sink->progress)
			sink->progress(sink->ud, res->entries);
		if (!cookie) {
			res->complete = true;
			break;
		}
	}
	ber_bvfree(cookie);
	return r;
}
