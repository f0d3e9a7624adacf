#include "config.h"

#include "ldap/syncrepl.h"
#include "ldap/entry.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 4533 section 2. */
#define SYNCREPL_OID_REQUEST "1.3.6.1.4.1.4203.1.9.1.1"
#define SYNCREPL_OID_STATE "1.3.6.1.4.1.4203.1.9.1.2"
#define SYNCREPL_OID_DONE "1.3.6.1.4.1.4203.1.9.1.3"
#define SYNCREPL_OID_INFO "1.3.6.1.4.1.4203.1.9.1.4"

/* syncInfoValue's CHOICE: [0] is a primitive OCTET STRING, the others
 * constructed SEQUENCEs (the module uses implicit tags). */
#define SYNCREPL_TAG_NEW_COOKIE ((ber_tag_t)0x80U)
#define SYNCREPL_TAG_REFRESH_DELETE ((ber_tag_t)0xa1U)
#define SYNCREPL_TAG_REFRESH_PRESENT ((ber_tag_t)0xa2U)
#define SYNCREPL_TAG_ID_SET ((ber_tag_t)0xa3U)

#define SYNCREPL_UUID_RAW 16
/* A refresh of 100k entries must show life to the watchdog. */
#define SYNCREPL_PROGRESS_EVERY 500
/* Messages one persist poll handles before giving the event loop back. */
#define SYNCREPL_POLL_BATCH 1000
/* The present set is presized from the hint, but not absurdly. */
#define SYNCREPL_PRESIZE_MAX ((size_t)1 << 20)

/* ---------------------------------------------------------------- codec */

static void syncrepl_uuid_text(const void *raw, char out[SYNCREPL_UUID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = raw;
	size_t o = 0;
	for (size_t i = 0; i < SYNCREPL_UUID_RAW; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0xf];
	}
	out[o] = '\0';
}

int syncrepl_request_control(enum syncrepl_mode mode, const struct berval *cookie, bool reload_hint,
			     LDAPControl **out)
{
	struct berval bv = { 0, NULL };

	*out = NULL;
	if (mode != SYNCREPL_REFRESH_ONLY && mode != SYNCREPL_REFRESH_AND_PERSIST)
		return -EINVAL;
	if (cookie && cookie->bv_len > SYNCREPL_COOKIE_MAX)
		return -EINVAL;
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	if (!ber)
		abort();
	/* liblber only fails here for want of memory. */
	if (ber_printf(ber, "{e", (ber_int_t)mode) == -1)
		abort();
	if (cookie && cookie->bv_len > 0 && ber_printf(ber, "O", cookie) == -1)
		abort();
	/* DER leaves out a value equal to its DEFAULT (FALSE). */
	if (reload_hint && ber_printf(ber, "b", (ber_int_t)1) == -1)
		abort();
	if (ber_printf(ber, "}") == -1 || ber_flatten2(ber, &bv, 0) < 0)
		abort();
	if (ldap_control_create(SYNCREPL_OID_REQUEST, 1, &bv, 1, out) != LDAP_SUCCESS)
		abort();
	ber_free(ber, 1);
	return 0;
}

/* A decoder over value, which must outlive it; NULL for an empty value,
 * which no syncrepl value may be. */
static BerElement *syncrepl_ber_open(const struct berval *value)
{
	if (!value || !value->bv_val || value->bv_len == 0)
		return NULL;
	BerElement *ber = ber_alloc_t(0);
	if (!ber)
		abort();
	/* ber_init2 reads in place; "m" below hands out pointers into it. */
	struct berval bv = *value;
	ber_init2(ber, &bv, 0);
	return ber;
}

static void syncrepl_ber_close(BerElement *ber)
{
	if (ber)
		ber_free(ber, 0);
}

static ber_len_t syncrepl_left(BerElement *ber)
{
	ber_len_t n = 0;
	if (ber_get_option(ber, LBER_OPT_REMAINING_BYTES, &n) != LBER_OPT_SUCCESS)
		return 0;
	return n;
}

/* Enters a constructed element. Each one in these values is the last
 * element of what contains it, so its length must be exactly what is
 * left: liblber itself does not keep track of where a SEQUENCE ends. */
static bool syncrepl_enter(BerElement *ber, ber_tag_t tag)
{
	ber_len_t len;
	return ber_skip_tag(ber, &len) == tag && len == syncrepl_left(ber);
}

static bool syncrepl_get_enum(BerElement *ber, ber_int_t *out)
{
	ber_len_t len;
	return ber_peek_tag(ber, &len) == LBER_ENUMERATED && len >= 1 && len <= 4 &&
	       ber_scanf(ber, "e", out) != LBER_ERROR;
}

/* An optional BOOLEAN: *out is left alone (its DEFAULT) when absent. */
static bool syncrepl_get_bool(BerElement *ber, bool *out)
{
	ber_len_t len;
	ber_int_t b;
	if (syncrepl_left(ber) == 0 || ber_peek_tag(ber, &len) != LBER_BOOLEAN)
		return true;
	if (len != 1 || ber_scanf(ber, "b", &b) == LBER_ERROR)
		return false;
	*out = b != 0;
	return true;
}

/* The cookie's content, whatever its tag (OCTET STRING, or [0] for
 * newcookie); *cookie stays NULL when it is empty. */
static bool syncrepl_take_cookie(BerElement *ber, ber_tag_t tag, struct berval **cookie)
{
	ber_len_t len;
	struct berval bv;
	if (ber_peek_tag(ber, &len) != tag || len > SYNCREPL_COOKIE_MAX || ber_scanf(ber, "m", &bv) == LBER_ERROR ||
	    bv.bv_len != len)
		return false;
	if (bv.bv_len > 0 && !(*cookie = ber_bvdup(&bv)))
		abort();
	return true;
}

/* An optional syncCookie. */
static bool syncrepl_get_cookie(BerElement *ber, struct berval **cookie)
{
	ber_len_t len;
	if (syncrepl_left(ber) == 0 || ber_peek_tag(ber, &len) != LBER_OCTETSTRING)
		return true;
	return syncrepl_take_cookie(ber, LBER_OCTETSTRING, cookie);
}

/* syncUUID ::= OCTET STRING (SIZE(16)) */
static bool syncrepl_get_uuid(BerElement *ber, char out[SYNCREPL_UUID_SIZE])
{
	ber_len_t len;
	struct berval bv;
	if (ber_peek_tag(ber, &len) != LBER_OCTETSTRING || len != SYNCREPL_UUID_RAW ||
	    ber_scanf(ber, "m", &bv) == LBER_ERROR || bv.bv_len != SYNCREPL_UUID_RAW)
		return false;
	syncrepl_uuid_text(bv.bv_val, out);
	return true;
}

static bool syncrepl_is(const LDAPControl *ctrl, const char *oid)
{
	return ctrl && ctrl->ldctl_oid && strcmp(ctrl->ldctl_oid, oid) == 0;
}

int syncrepl_parse_state(const LDAPControl *ctrl, enum syncrepl_state *state, char uuid_text[SYNCREPL_UUID_SIZE],
			 struct berval **cookie)
{
	struct berval *ck = NULL;
	char uuid[SYNCREPL_UUID_SIZE];
	ber_int_t st = -1;
	int r = -EPROTO;

	if (!syncrepl_is(ctrl, SYNCREPL_OID_STATE))
		return -EINVAL;
	BerElement *ber = syncrepl_ber_open(&ctrl->ldctl_value);
	if (!ber)
		return -EPROTO;
	if (!syncrepl_enter(ber, LBER_SEQUENCE) || !syncrepl_get_enum(ber, &st) || st < SYNCREPL_PRESENT ||
	    st > SYNCREPL_DELETE || !syncrepl_get_uuid(ber, uuid) || !syncrepl_get_cookie(ber, &ck) ||
	    syncrepl_left(ber) != 0)
		goto out;
	*state = (enum syncrepl_state)st;
	memcpy(uuid_text, uuid, sizeof(uuid));
	*cookie = ck;
	ck = NULL;
	r = 0;
out:
	ber_bvfree(ck);
	syncrepl_ber_close(ber);
	return r;
}

void syncrepl_info_clear(struct syncrepl_info *info)
{
	ber_bvfree(info->cookie);
	free(info->uuids);
	memset(info, 0, sizeof(*info));
}

static bool syncrepl_get_uuid_set(BerElement *ber, struct syncrepl_info *out)
{
	size_t cap = 0;
	if (!syncrepl_enter(ber, LBER_SET))
		return false;
	/* Bounded by the value: each id takes 18 bytes of it. */
	while (syncrepl_left(ber) > 0) {
		xgrow((void **)&out->uuids, &cap, out->n_uuids, sizeof(*out->uuids));
		if (!syncrepl_get_uuid(ber, out->uuids[out->n_uuids]))
			return false;
		out->n_uuids++;
	}
	return true;
}

int syncrepl_parse_info(const struct berval *value, struct syncrepl_info *out)
{
	ber_len_t len;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	BerElement *ber = syncrepl_ber_open(value);
	if (!ber)
		return -EPROTO;
	ber_tag_t tag = ber_peek_tag(ber, &len);
	switch (tag) {
	case SYNCREPL_TAG_NEW_COOKIE:
		out->kind = SYNCREPL_INFO_NEW_COOKIE;
		ok = syncrepl_take_cookie(ber, tag, &out->cookie);
		break;
	case SYNCREPL_TAG_REFRESH_DELETE:
	case SYNCREPL_TAG_REFRESH_PRESENT:
		out->kind = tag == SYNCREPL_TAG_REFRESH_DELETE ? SYNCREPL_INFO_REFRESH_DELETE
							       : SYNCREPL_INFO_REFRESH_PRESENT;
		out->refresh_done = true;
		ok = syncrepl_enter(ber, tag) && syncrepl_get_cookie(ber, &out->cookie) &&
		     syncrepl_get_bool(ber, &out->refresh_done);
		break;
	case SYNCREPL_TAG_ID_SET:
		out->kind = SYNCREPL_INFO_ID_SET;
		ok = syncrepl_enter(ber, tag) && syncrepl_get_cookie(ber, &out->cookie) &&
		     syncrepl_get_bool(ber, &out->refresh_deletes) && syncrepl_get_uuid_set(ber, out);
		break;
	default:
		break;
	}
	ok = ok && syncrepl_left(ber) == 0;
	syncrepl_ber_close(ber);
	if (!ok) {
		syncrepl_info_clear(out);
		return -EPROTO;
	}
	return 0;
}

int syncrepl_parse_done(const LDAPControl *ctrl, struct berval **cookie, bool *refresh_deletes)
{
	struct berval *ck = NULL;
	bool deletes = false;
	int r = -EPROTO;

	if (!syncrepl_is(ctrl, SYNCREPL_OID_DONE))
		return -EINVAL;
	BerElement *ber = syncrepl_ber_open(&ctrl->ldctl_value);
	if (!ber)
		return -EPROTO;
	if (!syncrepl_enter(ber, LBER_SEQUENCE) || !syncrepl_get_cookie(ber, &ck) ||
	    !syncrepl_get_bool(ber, &deletes) || syncrepl_left(ber) != 0)
		goto out;
	*cookie = ck;
	ck = NULL;
	*refresh_deletes = deletes;
	r = 0;
out:
	ber_bvfree(ck);
	syncrepl_ber_close(ber);
	return r;
}

/* -------------------------------------------------------------- id sets */

static void syncrepl_idset_add(struct syncrepl_idset *set, const char *id, size_t presize)
{
	if (set->cap == 0 && presize > 0)
		xgrow((void **)&set->ids, &set->cap, presize < SYNCREPL_PRESIZE_MAX ? presize : SYNCREPL_PRESIZE_MAX,
		      sizeof(*set->ids));
	xgrow((void **)&set->ids, &set->cap, set->n, sizeof(*set->ids));
	memcpy(set->ids[set->n++], id, SYNCREPL_UUID_SIZE);
	set->sorted = false;
}

static int syncrepl_idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int syncrepl_idcasecmp(const void *key, const void *elem)
{
	return strcasecmp(key, elem);
}

/* A server may repeat an id (present entries and an id set overlap). */
static void syncrepl_idset_finish(struct syncrepl_idset *set)
{
	size_t o = 0;
	if (set->n > 1)
		qsort(set->ids, set->n, sizeof(*set->ids), syncrepl_idcmp);
	for (size_t i = 0; i < set->n; i++)
		if (o == 0 || strcmp(set->ids[o - 1], set->ids[i]) != 0)
			memmove(set->ids[o++], set->ids[i], SYNCREPL_UUID_SIZE);
	set->n = o;
	set->sorted = true;
}

bool syncrepl_idset_contains(const struct syncrepl_idset *set, const char *id)
{
	/* Ids are lowercase hex, so strcasecmp orders them as strcmp did. */
	return set->sorted && set->n > 0 && bsearch(id, set->ids, set->n, sizeof(*set->ids), syncrepl_idcasecmp);
}

void syncrepl_idset_clear(struct syncrepl_idset *set)
{
	free(set->ids);
	memset(set, 0, sizeof(*set));
}

/* ----------------------------------------------------------- the search */

struct syncrepl_run {
	LDAP *ld;
	int msgid;
	size_t size_hint;
	bool had_cookie;	/* the request carried one */
	bool refresh_done;	/* the refresh stage is over */
	bool present_phase;
	bool finished;		/* SearchResultDone received */
	bool refresh_required;
	struct berval *cookie;	/* newest not yet handed out */
	struct syncrepl_idset present;
	size_t added, modified, deleted, presents, messages;
};

static char *syncrepl_ldap_error(LDAP *ld, int rc, const char *diag_in, const char *what)
{
	char *diag = NULL;
	if (!diag_in && ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	const char *d = diag_in ? diag_in : diag;
	char *msg = d && *d ? xasprintf("%s: %s (%s)", what, ldap_err2string(rc), d)
			    : xasprintf("%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
	return msg;
}

static bool syncrepl_connection_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

/* ldap_result failed: libldap only does that when the connection is gone. */
static int syncrepl_lost(LDAP *ld, char **err)
{
	int rc = LDAP_SERVER_DOWN;
	ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
	*err = syncrepl_ldap_error(ld, rc, NULL, "connection lost during the sync search");
	return -ENOTCONN;
}

static void syncrepl_set_cookie(struct syncrepl_run *run, struct berval *cookie)
{
	if (!cookie)
		return;
	ber_bvfree(run->cookie);
	run->cookie = cookie;
}

static int syncrepl_start(struct syncrepl_run *run, LDAP *ld, const struct syncrepl_params *p,
			  enum syncrepl_mode mode, char **err)
{
	LDAPControl *ctrl = NULL;

	memset(run, 0, sizeof(*run));
	run->ld = ld;
	run->msgid = -1;
	run->size_hint = p->size_hint;
	run->had_cookie = p->cookie && p->cookie->bv_len > 0;
	if (syncrepl_request_control(mode, p->cookie, p->reload_hint, &ctrl) < 0) {
		*err = xasprintf("cannot build the sync request (cookie of %zu bytes?)",
				 p->cookie ? (size_t)p->cookie->bv_len : (size_t)0);
		return -EINVAL;
	}
	LDAPControl *ctrls[2] = { ctrl, NULL };
	/* No time limit: a persistent search never ends by itself, and every
	 * wait for the next message of a refresh has its own timeout. */
	int rc = ldap_search_ext(ld, p->base, p->scope, p->filter ? p->filter : "(objectClass=*)", p->attrs, 0, ctrls,
				 NULL, NULL, LDAP_NO_LIMIT, &run->msgid);
	ldap_control_free(ctrl);
	if (rc != LDAP_SUCCESS) {
		*err = syncrepl_ldap_error(ld, rc, NULL, "cannot send the sync search");
		return syncrepl_connection_lost(rc) ? -ENOTCONN : -EIO;
	}
	return 0;
}

static void syncrepl_abandon(struct syncrepl_run *run)
{
	if (!run->finished && run->msgid >= 0)
		ldap_abandon_ext(run->ld, run->msgid, NULL, NULL);
	run->finished = true;
}

/* Kept equivalent to source.c's conversion, so both kinds of reads give
 * the mapping the same entries. */
static struct entry *syncrepl_convert(LDAP *ld, LDAPMessage *msg)
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

static int syncrepl_deleted(struct syncrepl_run *run, const struct source_sink *sink, const char *id, char **err)
{
	if (!sink->deleted) {
		*err = xstrdup("the server reported a deletion, but this read cannot take one");
		return -EINVAL;
	}
	if (sink->deleted(sink->ud, id) < 0) {
		*err = xstrdup("read stopped early (see the previous error)");
		return -ECANCELED;
	}
	run->deleted++;
	return 0;
}

static void syncrepl_present(struct syncrepl_run *run, const char *id)
{
	/* Outside the refresh stage "present" says nothing. */
	if (run->refresh_done)
		return;
	syncrepl_idset_add(&run->present, id, run->size_hint);
	run->presents++;
}

static int syncrepl_on_entry(struct syncrepl_run *run, LDAPMessage *msg, const struct source_sink *sink,
			     char **err)
{
	LDAPControl **ctrls = NULL;
	struct berval *cookie = NULL;
	enum syncrepl_state state;
	char id[SYNCREPL_UUID_SIZE];
	struct entry *e = NULL;
	int r = 0;

	int rc = ldap_get_entry_controls(run->ld, msg, &ctrls);
	if (rc != LDAP_SUCCESS) {
		*err = syncrepl_ldap_error(run->ld, rc, NULL, "cannot read the controls of an entry");
		r = -EPROTO;
		goto out;
	}
	/* Without its id the entry is useless, and skipping it would make
	 * the end of a present phase take it for deleted. */
	if ((r = syncrepl_parse_state(ldap_control_find(SYNCREPL_OID_STATE, ctrls, NULL), &state, id, &cookie)) <
	    0) {
		char *dn = ldap_get_dn(run->ld, msg);
		*err = xasprintf("entry %s came with %s syncState control", dn ? dn : "(no DN)",
				 r == -EINVAL ? "no" : "a malformed");
		ldap_memfree(dn);
		r = -EPROTO;
		goto out;
	}
	syncrepl_set_cookie(run, cookie);
	switch (state) {
	case SYNCREPL_PRESENT:
		syncrepl_present(run, id);
		break;
	case SYNCREPL_ADD:
	case SYNCREPL_MODIFY:
		e = syncrepl_convert(run->ld, msg);
		entry_set_id(e, id);
		if (sink->entry(sink->ud, e) < 0) {
			*err = xstrdup("read stopped early (see the previous error)");
			r = -ECANCELED;
			goto out;
		}
		if (state == SYNCREPL_ADD)
			run->added++;
		else
			run->modified++;
		break;
	case SYNCREPL_DELETE:
		r = syncrepl_deleted(run, sink, id, err);
		break;
	}
out:
	entry_free(e);
	ldap_controls_free(ctrls);
	return r;
}

static int syncrepl_on_info(struct syncrepl_run *run, LDAPMessage *msg, const struct source_sink *sink, char **err)
{
	char *oid = NULL;
	struct berval *data = NULL;
	struct syncrepl_info info = { 0 };
	int r = 0;

	int rc = ldap_parse_intermediate(run->ld, msg, &oid, &data, NULL, 0);
	if (rc != LDAP_SUCCESS) {
		*err = syncrepl_ldap_error(run->ld, rc, NULL, "cannot parse an intermediate response");
		r = -EPROTO;
		goto out;
	}
	/* RFC 4511 4.13: intermediate responses one does not know are
	 * ignored. */
	if (!oid || strcmp(oid, SYNCREPL_OID_INFO) != 0)
		goto out;
	if (syncrepl_parse_info(data, &info) < 0) {
		*err = xstrdup("the server sent a malformed syncInfo message");
		r = -EPROTO;
		goto out;
	}
	syncrepl_set_cookie(run, info.cookie);
	info.cookie = NULL;
	switch (info.kind) {
	case SYNCREPL_INFO_NEW_COOKIE:
		break;
	case SYNCREPL_INFO_REFRESH_PRESENT:
		run->present_phase = true;
		/* fall through */
	case SYNCREPL_INFO_REFRESH_DELETE:
		if (info.refresh_done)
			run->refresh_done = true;
		break;
	case SYNCREPL_INFO_ID_SET:
		for (size_t i = 0; i < info.n_uuids && r == 0; i++) {
			if (info.refresh_deletes)
				r = syncrepl_deleted(run, sink, info.uuids[i], err);
			else
				syncrepl_present(run, info.uuids[i]);
		}
		break;
	}
out:
	syncrepl_info_clear(&info);
	ber_bvfree(data);
	ldap_memfree(oid);
	return r;
}

static int syncrepl_on_done(struct syncrepl_run *run, LDAPMessage *msg, char **err)
{
	LDAPControl **ctrls = NULL;
	char *diag = NULL;
	struct berval *cookie = NULL;
	bool deletes = false;
	int code = LDAP_OTHER, r = 0;

	run->finished = true;
	int rc = ldap_parse_result(run->ld, msg, &code, NULL, &diag, NULL, &ctrls, 0);
	if (rc != LDAP_SUCCESS) {
		*err = syncrepl_ldap_error(run->ld, rc, NULL, "cannot parse the result of the sync search");
		r = -EPROTO;
		goto out;
	}
	/* slapd refuses a cookie newer than its own state (a provider
	 * restored from a backup) as unwillingToPerform; a full refresh is the
	 * way out there too, and is always safe. */
	if (code == SYNCREPL_REFRESH_REQUIRED || (code == LDAP_UNWILLING_TO_PERFORM && run->had_cookie)) {
		run->refresh_required = true;
		*err = syncrepl_ldap_error(run->ld, code, diag, "the server requires a full refresh (cookie not usable)");
		r = -ESTALE;
		goto out;
	}
	if (code == LDAP_UNAVAILABLE_CRITICAL_EXTENSION) {
		*err = syncrepl_ldap_error(run->ld, code, diag,
					   "the server does not support content synchronization (syncprov)");
		r = -EOPNOTSUPP;
		goto out;
	}
	if (code != LDAP_SUCCESS) {
		*err = syncrepl_ldap_error(run->ld, code, diag, "sync search failed");
		r = syncrepl_connection_lost(code) ? -ENOTCONN : -EIO;
		goto out;
	}
	if (syncrepl_parse_done(ldap_control_find(SYNCREPL_OID_DONE, ctrls, NULL), &cookie, &deletes) < 0) {
		*err = xstrdup("the sync search ended without a valid syncDone control");
		r = -EPROTO;
		goto out;
	}
	syncrepl_set_cookie(run, cookie);
	/* refreshDeletes FALSE: the last phase was a present phase. */
	if (!deletes)
		run->present_phase = true;
	run->refresh_done = true;
out:
	ldap_memfree(diag);
	ldap_controls_free(ctrls);
	return r;
}

/* Handles one message of the search. */
static int syncrepl_handle(struct syncrepl_run *run, LDAPMessage *msg, const struct source_sink *sink, char **err)
{
	run->messages++;
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		return syncrepl_on_entry(run, msg, sink, err);
	case LDAP_RES_INTERMEDIATE:
		return syncrepl_on_info(run, msg, sink, err);
	case LDAP_RES_SEARCH_RESULT:
		return syncrepl_on_done(run, msg, err);
	default:
		/* References: referrals are not chased, as in full reads. */
		return 0;
	}
}

static void syncrepl_progress(const struct syncrepl_run *run, const struct source_sink *sink)
{
	if (sink->progress && run->messages % SYNCREPL_PROGRESS_EVERY == 0)
		sink->progress(sink->ud, run->added + run->modified);
}

/* The refresh is over: a read without cookie was all there is. */
static void syncrepl_refresh_over(struct syncrepl_run *run)
{
	if (!run->had_cookie)
		run->present_phase = true;
	syncrepl_idset_finish(&run->present);
}

int syncrepl_refresh(LDAP *ld, const struct syncrepl_params *p, const struct source_sink *sink,
		     struct syncrepl_result *res, char **err)
{
	struct syncrepl_run run;
	int r;

	memset(res, 0, sizeof(*res));
	*err = NULL;
	if ((r = syncrepl_start(&run, ld, p, SYNCREPL_REFRESH_ONLY, err)) < 0)
		return r;
	int timeout = p->timeout > 0 ? p->timeout : 60;
	while (!run.finished) {
		struct timeval tv = { .tv_sec = timeout };
		LDAPMessage *msg = NULL;
		int rc = ldap_result(ld, run.msgid, LDAP_MSG_ONE, &tv, &msg);
		if (rc == 0) {
			*err = xasprintf("no answer from the server within %d s during the sync search", timeout);
			r = -ENOTCONN;
			break;
		}
		if (rc < 0) {
			r = syncrepl_lost(ld, err);
			break;
		}
		r = syncrepl_handle(&run, msg, sink, err);
		ldap_msgfree(msg);
		if (r < 0)
			break;
		syncrepl_progress(&run, sink);
	}
	if (r == 0 && sink->progress)
		sink->progress(sink->ud, run.added + run.modified);
	res->complete = r == 0 && run.finished;
	syncrepl_abandon(&run);
	syncrepl_refresh_over(&run);
	res->cookie = run.cookie;
	res->refresh_required = run.refresh_required;
	res->present_phase = run.present_phase;
	res->present = run.present;
	res->added = run.added;
	res->modified = run.modified;
	res->deleted = run.deleted;
	res->presents = run.presents;
	res->messages = run.messages;
	return r;
}

void syncrepl_result_clear(struct syncrepl_result *res)
{
	ber_bvfree(res->cookie);
	syncrepl_idset_clear(&res->present);
	memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------- persist */

struct syncrepl_persist {
	struct syncrepl_run run;
	bool present_handed_out;	/* freed at the next poll */
	bool over;			/* an error was reported */
};

int syncrepl_persist_start(LDAP *ld, const struct syncrepl_params *p, struct syncrepl_persist **out, char **err)
{
	struct syncrepl_persist *sp = XNEW(struct syncrepl_persist);
	*out = NULL;
	*err = NULL;
	int r = syncrepl_start(&sp->run, ld, p, SYNCREPL_REFRESH_AND_PERSIST, err);
	if (r < 0) {
		free(sp);
		return r;
	}
	*out = sp;
	return 0;
}

int syncrepl_persist_poll(struct syncrepl_persist *sp, const struct source_sink *sink,
			  struct syncrepl_persist_status *st, char **err)
{
	struct syncrepl_run *run = &sp->run;
	size_t added = run->added, modified = run->modified, deleted = run->deleted, presents = run->presents,
	       messages = run->messages;
	int r = 0;

	memset(st, 0, sizeof(*st));
	*err = NULL;
	if (sp->present_handed_out) {
		syncrepl_idset_clear(&run->present);
		sp->present_handed_out = false;
	}
	if (sp->over) {
		*err = xstrdup("the sync search is over");
		return -EINVAL;
	}
	for (size_t n = 0;; n++) {
		if (n == SYNCREPL_POLL_BATCH) {
			st->more = true;
			break;
		}
		struct timeval zero = { 0, 0 };
		LDAPMessage *msg = NULL;
		int rc = ldap_result(run->ld, run->msgid, LDAP_MSG_ONE, &zero, &msg);
		if (rc == 0)
			break;
		if (rc < 0) {
			r = syncrepl_lost(run->ld, err);
			break;
		}
		bool was_done = run->refresh_done;
		r = syncrepl_handle(run, msg, sink, err);
		ldap_msgfree(msg);
		if (r < 0)
			break;
		if (run->finished) {
			/* A persistent search has no successful end. */
			*err = xstrdup("the server ended the persistent sync search");
			r = -EIO;
			break;
		}
		syncrepl_progress(run, sink);
		/* The caller applies the refresh before any later change. */
		if (!was_done && run->refresh_done) {
			syncrepl_refresh_over(run);
			st->refresh_ended = true;
			st->present_phase = run->present_phase;
			sp->present_handed_out = true;
			st->more = true;
			break;
		}
	}
	st->refresh_done = run->refresh_done;
	st->cookie = run->cookie;
	run->cookie = NULL;
	st->added = run->added - added;
	st->modified = run->modified - modified;
	st->deleted = run->deleted - deleted;
	st->presents = run->presents - presents;
	st->messages = run->messages - messages;
	if (r < 0) {
		sp->over = true;
		st->more = false;
		syncrepl_abandon(run);
	}
	return r;
}

const struct syncrepl_idset *syncrepl_persist_present(const struct syncrepl_persist *sp)
{
	return &sp->run.present;
}

void syncrepl_persist_free(struct syncrepl_persist *sp)
{
	if (!sp)
		return;
	syncrepl_abandon(&sp->run);
	ber_bvfree(sp->run.cookie);
	syncrepl_idset_clear(&sp->run.present);
	free(sp);
}
