#include "config.h"

#include "ldap/conn.h"
#include "ldap/search.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Far more than any directory needs (AD hands out 1500 values per range),
 * but a server that keeps answering with the same range must not keep us
 * here forever. */
#define SEARCH_MAX_RANGE_ROUNDS 100000

char *search_escape_value(const void *data, size_t len)
{
	const unsigned char *p = data;
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '*' || p[i] == '(' || p[i] == ')' || p[i] == '\\' || p[i] < 0x20 || p[i] >= 0x7f)
			sbuf_addf(&sb, "\\%02x", p[i]);
		else
			sbuf_addch(&sb, (char)p[i]);
	}
	char *out = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return out;
}

/* "member;range=0-1499" -> base "member", high 1499, *last false.
 * "member;range=1500-*" -> *last true. Returns false for other names. */
static bool search_parse_range(const char *name, char **base, unsigned long *high, bool *last)
{
	const char *opt = strcasestr(name, ";range=");
	if (!opt)
		return false;
	const char *dash = strchr(opt + 7, '-');
	if (!dash)
		return false;
	*base = xstrndup(name, (size_t)(opt - name));
	*last = dash[1] == '*';
	*high = *last ? 0 : strtoul(dash + 1, NULL, 10);
	return true;
}

static void search_add_values(LDAP *ld, LDAPMessage *m, const char *attr, struct entry_attr *a)
{
	struct berval **vals = ldap_get_values_len(ld, m, attr);
	for (size_t i = 0; vals && vals[i]; i++)
		entry_attr_add_value(a, vals[i]->bv_val, vals[i]->bv_len);
	ldap_value_free_len(vals);
}

/* Fetches the rest of a ranged attribute, one base search per range. */
static int search_fetch_range(LDAP *ld, const struct search_params *p, const char *dn, const char *base,
			      unsigned long high, struct entry_attr *a, struct search_result *res, char **err)
{
	struct timeval tv = { .tv_sec = p->timeout };
	int r = 0;

	for (unsigned rounds = 0;; rounds++) {
		char *want = xasprintf("%s;range=%lu-*", base, high + 1);
		char *attrs[] = { want, NULL };
		LDAPMessage *msg = NULL;
		bool done = true, progressed = false;

		res->ranged_fetches++;
		int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1,
					   &msg);
		res->ldap_rc = rc;
		free(want);
		if (rc != LDAP_SUCCESS) {
			char *what = xasprintf("reading the values of %s from %lu on of %s", base, high + 1, dn);
			*err = conn_error(ld, rc, what);
			free(what);
			ldap_msgfree(msg);
			return conn_lost(rc) ? -ECONNRESET : -EIO;
		}
		LDAPMessage *m = ldap_first_entry(ld, msg);
		BerElement *ber = NULL;
		for (char *name = m ? ldap_first_attribute(ld, m, &ber) : NULL; name;
		     name = ldap_next_attribute(ld, m, ber)) {
			char *b = NULL;
			unsigned long h;
			bool last;
			if (search_parse_range(name, &b, &h, &last) && strcasecmp(b, base) == 0) {
				search_add_values(ld, m, name, a);
				done = last;
				progressed = last || h > high;
				high = h;
			}
			free(b);
			ldap_memfree(name);
		}
		ber_free(ber, 0);
		ldap_msgfree(msg);
		if (done)
			break;
		if (!progressed || rounds >= SEARCH_MAX_RANGE_ROUNDS) {
			*err = xasprintf("the server keeps returning the same range of %s for %s", base, dn);
			r = -EIO;
			break;
		}
	}
	return r;
}

/* One attribute's values, read in place from the message's BER (they are
 * copied once, into the entry) rather than through ldap_get_values_len,
 * which allocates each value and its berval before we copy it again. */
static void search_add_bervals(struct entry_attr *a, const struct berval *vals)
{
	for (size_t i = 0; vals && vals[i].bv_val; i++)
		entry_attr_add_value(a, vals[i].bv_val, vals[i].bv_len);
}

static int search_convert(LDAP *ld, const struct search_params *p, LDAPMessage *msg, struct entry **out,
			  struct search_result *res, char **err)
{
	struct berval dn = { 0, NULL }, name, *vals = NULL;
	BerElement *ber = NULL;
	struct entry *e = NULL;
	/* Attribute names are short; a longer one is not one we asked for
	 * and is skipped rather than cut. */
	char namebuf[256];
	int r = 0, rc;

	rc = ldap_get_dn_ber(ld, msg, &ber, &dn);
	if (rc != LDAP_SUCCESS) {
		*err = conn_error(ld, rc, "cannot decode a search entry");
		r = -EIO;
		goto out;
	}
	e = XNEW(struct entry);
	e->dn = xstrndup(dn.bv_val ? dn.bv_val : "", dn.bv_len);
	for (rc = ldap_get_attribute_ber(ld, msg, ber, &name, &vals); rc == LDAP_SUCCESS && name.bv_val;
	     rc = ldap_get_attribute_ber(ld, msg, ber, &name, &vals)) {
		char *base = NULL;
		unsigned long high;
		bool last;
		if (r < 0 || name.bv_len >= sizeof(namebuf)) {
			ber_memfree(vals);
			continue;
		}
		memcpy(namebuf, name.bv_val, name.bv_len);
		namebuf[name.bv_len] = '\0';
		if (search_parse_range(namebuf, &base, &high, &last)) {
			struct entry_attr *a = entry_attr_get_or_add(e, base);
			search_add_bervals(a, vals);
			if (!last)
				r = search_fetch_range(ld, p, e->dn, base, high, a, res, err);
		} else {
			search_add_bervals(entry_attr_get_or_add(e, namebuf), vals);
		}
		free(base);
		ber_memfree(vals);
		vals = NULL;
	}
	if (r == 0 && rc != LDAP_SUCCESS) {
		*err = conn_error(ld, rc, "cannot decode a search entry");
		r = -EIO;
	}
out:
	ber_free(ber, 0);
	if (r < 0) {
		entry_free(e);
		e = NULL;
	}
	*out = e;
	return r;
}

/* Time left until deadline (monotonic microseconds), at least 1 ms so a
 * late answer already read still gets polled. */
static struct timeval search_time_left(uint64_t deadline)
{
	uint64_t now = time_now_mono_usec();
	uint64_t left = deadline > now + 1000 ? deadline - now : 1000;
	return (struct timeval){ .tv_sec = (time_t)(left / 1000000), .tv_usec = (suseconds_t)(left % 1000000) };
}

/* One request: a page, or everything without paging. *cookie is replaced
 * by the server's cookie for the next page (NULL: that was the last).
 * Entries are handled as they arrive, not once the whole page is in: the
 * server sends the rest of the page while we map and plan, instead of
 * each side waiting for the other (a no-change cycle over a large
 * directory is as long as the two together otherwise), and a page is
 * never held in memory whole. */
static int search_page(LDAP *ld, const struct search_params *p, struct berval **cookie, struct search_result *res,
		       char **err)
{
	LDAPControl *page = NULL, **ctrls = NULL, **srv = NULL;
	LDAPMessage *msg = NULL;
	struct timeval tv = { .tv_sec = p->timeout };
	/* The server gets p->timeout for the whole request, as with
	 * ldap_search_ext_s. */
	uint64_t deadline = time_now_mono_usec() + (uint64_t)p->timeout * 1000000;
	size_t n_extra = 0;
	int msgid = -1;
	int r = 0, rc;

	while (p->controls && p->controls[n_extra])
		n_extra++;
	ctrls = xcalloc(n_extra + 2, sizeof(*ctrls));
	if (n_extra)
		memcpy(ctrls, p->controls, n_extra * sizeof(*ctrls));
	if (p->page_size > 0) {
		rc = ldap_create_page_control(ld, (ber_int_t)p->page_size, *cookie, 0, &page);
		if (rc != LDAP_SUCCESS) {
			*err = conn_error(ld, rc, "cannot create the paged results control");
			res->ldap_rc = rc;
			r = -EINVAL;
			goto out;
		}
		ctrls[n_extra] = page;
	}
	rc = ldap_search_ext(ld, p->base, p->scope, p->filter, p->attributes, 0, ctrls, NULL, &tv, LDAP_NO_LIMIT,
			     &msgid);
	res->ldap_rc = rc;
	if (rc != LDAP_SUCCESS) {
		*err = conn_error(ld, rc, "search failed");
		r = conn_lost(rc) ? -ECONNRESET : -EIO;
		goto out;
	}
	for (;;) {
		struct timeval left = search_time_left(deadline);
		rc = ldap_result(ld, msgid, LDAP_MSG_ONE, &left, &msg);
		if (rc <= 0) {
			int code = LDAP_TIMEOUT;
			if (rc < 0 && ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code) != LDAP_OPT_SUCCESS)
				code = LDAP_SERVER_DOWN;
			res->ldap_rc = code;
			*err = conn_error(ld, code, "search failed");
			r = conn_lost(code) ? -ECONNRESET : -EIO;
			goto out;
		}
		if (rc == LDAP_RES_SEARCH_RESULT)
			break;
		if (rc == LDAP_RES_SEARCH_ENTRY) {
			struct entry *e = NULL;
			uint64_t began = time_now_mono_usec();
			if ((r = search_convert(ld, p, msg, &e, res, err)) < 0)
				goto out;
			res->entries++;
			if (p->entry(p->ud, e) < 0) {
				*err = xstrdup("the read was stopped");
				r = -ECANCELED;
				goto out;
			}
			/* The timeout is the server's: our own work on the
			 * entries (ranged fetches included) does not count. */
			deadline += time_now_mono_usec() - began;
		}
		/* Continuation references are not followed (referrals are off). */
		ldap_msgfree(msg);
		msg = NULL;
	}
	msgid = -1;	/* answered */
	int result_rc = LDAP_SUCCESS;
	char **referrals = NULL;
	rc = ldap_parse_result(ld, msg, &result_rc, NULL, NULL, &referrals, &srv, 0);
	if (rc != LDAP_SUCCESS || result_rc != LDAP_SUCCESS) {
		res->ldap_rc = rc != LDAP_SUCCESS ? rc : result_rc;
		if (res->ldap_rc == LDAP_REFERRAL)
			*err = xasprintf("the server refers the search of %s to %s; set follow_referrals = true to "
					 "follow it, or search the server that holds it",
					 p->base, referrals && referrals[0] ? referrals[0] : "another server");
		else
			*err = conn_error(ld, res->ldap_rc, "search did not complete");
		r = conn_lost(res->ldap_rc) ? -ECONNRESET : -EIO;
		ber_memvfree((void **)referrals);
		goto out;
	}
	ber_memvfree((void **)referrals);
	ber_bvfree(*cookie);
	*cookie = NULL;
	if (page) {
		LDAPControl *resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, srv, NULL);
		ber_int_t estimate;
		struct berval next = { 0, NULL };
		if (resp && ldap_parse_pageresponse_control(ld, resp, &estimate, &next) == LDAP_SUCCESS &&
		    next.bv_len > 0)
			*cookie = ber_bvdup(&next);
		ber_memfree(next.bv_val);
	}
out:
	/* Stopped before the server's answer: tell it, and have libldap drop
	 * whatever of this search is still on its way. */
	if (msgid >= 0)
		ldap_abandon_ext(ld, msgid, NULL, NULL);
	ldap_controls_free(srv);
	ldap_msgfree(msg);
	ldap_control_free(page);
	free(ctrls);
	return r;
}

int search_run(LDAP *ld, const struct search_params *p, struct search_result *res, char **err)
{
	struct berval *cookie = NULL;
	int r;

	*err = NULL;
	do {
		r = search_page(ld, p, &cookie, res, err);
		if (r < 0)
			break;
		res->pages++;
		if (p->page)
			p->page(p->ud, res->entries);
	} while (cookie);
	ber_bvfree(cookie);
	return r;
}
