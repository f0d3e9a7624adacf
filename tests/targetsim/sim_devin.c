/*
 * Devin Enterprise API v2 (/devin/v2/enterprise/...), the parts membersync
 * uses, behaving like the FastAPI server: a bearer personal key, 422
 * {"detail":[{"loc","msg","type"}]} for every validation error, enterprise
 * users found by email, invitations that create pending users, the
 * batched organization member add, which is atomic (one unknown user or
 * organization fails the call and nothing is applied) and idempotent (a
 * re-add sets the role and groups it names), an organization's member
 * list (paged with skip/limit), and the removal of one member.
 *
 * What Devin documents for the member list and the removal is 200 and 422
 * only; the rest follows the add's conventions (*guess*): an unknown
 * organization is a 422 at ["path","org_id"], an unknown user a 422 at
 * ["path","user_id"], and a known user who is not a member of the
 * organization a 404 {"detail":"Member not found"} (FastAPI's
 * HTTPException).
 *
 * Test levers (POST /_sim/api/devin/<action>, JSON bodies):
 *   add-user    {"email": e} -> {"user_id": id}, or {"emails": [..]} ->
 *               {"user_ids": [..]}; an email already known keeps its id
 *   delete-user {"email": e} or {"user_id": id}: the user and its
 *               organization memberships are gone
 *   add-org     {"org_id": id}
 * The dump: users, organizations with their members (and how many
 * successful add calls named each), every handled member-add call's size
 * and status, counts of lookups and invitations, and per organization and
 * user id the successful add calls that named the user ("member_adds") and
 * the removals ("member_removes"), which, unlike a member's "adds", outlive
 * the membership, so a test can assert adds were not repeated.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "/devin"
#define P_MEMBERS PREFIX "/v2/enterprise/members"
#define P_INVITE PREFIX "/v2/enterprise/members/invite"
#define P_ORGS PREFIX "/v2/enterprise/organizations/"
#define ROUTE_ORG_MEMBERS P_ORGS "{org_id}/members"
#define ROUTE_ORG_MEMBER P_ORGS "{org_id}/members/{user_id}"
#define LIMIT_DEFAULT 100
#define LIMIT_MAX 200
#define INVITE_MAX 100

struct dv_user {
	char *id;
	char *email;		/* as given */
	char *email_lc;		/* the index key */
	bool invited;		/* pending invitation rather than an active user */
};

struct dv_member {
	struct dv_user *user;
	char *role;
	json_object *groups;	/* array or NULL */
	long long adds;		/* successful add calls that named this user */
};

struct dv_org {
	char *id;
	struct dv_member *members;
	size_t len;
	size_t cap;
};

struct dv_state {
	struct dv_user **users;	/* creation order; NULL once deleted */
	size_t len;
	size_t cap;
	struct sim_map by_email;	/* lowercased email -> user */
	struct sim_map by_id;		/* user id -> user */
	struct dv_org **orgs;
	size_t n_orgs;
	size_t cap_orgs;
	struct sim_map org_by_id;
	unsigned long long next_id;
	json_object *add_calls;	/* [{"org_id","size","status"}] */
	json_object *member_adds;	/* {org: {user id: successful adds}} */
	json_object *member_removes;	/* {org: {user id: removals}} */
	long long lookups;
	long long member_lists;
	long long invite_calls;
	long long invited;
};

/* ------------------------------------------------------------------ */
/* paths */

/* Splits PREFIX/v2/enterprise/organizations/{org}/members[/{user}]. */
static bool parse_org_path(const char *path, const char **org, size_t *org_len,
			   const char **user)
{
	const char *p, *slash;

	if (strncmp(path, P_ORGS, strlen(P_ORGS)) != 0)
		return false;
	p = path + strlen(P_ORGS);
	slash = strchr(p, '/');
	if (!slash || slash == p || strncmp(slash, "/members", 8) != 0)
		return false;
	*org = p;
	*org_len = (size_t)(slash - p);
	p = slash + 8;
	if (!*p) {
		*user = NULL;
		return true;
	}
	if (*p != '/' || !p[1] || strchr(p + 1, '/'))
		return false;
	*user = p + 1;
	return true;
}

static const char *dv_route(const struct sim_request *req)
{
	const char *org, *user;
	size_t org_len;

	if (strcmp(req->path, P_MEMBERS) == 0)
		return P_MEMBERS;
	if (strcmp(req->path, P_INVITE) == 0)
		return P_INVITE;
	if (parse_org_path(req->path, &org, &org_len, &user))
		return user ? ROUTE_ORG_MEMBER : ROUTE_ORG_MEMBERS;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* FastAPI's answers */

struct detail {
	json_object *list;
};

static void detail_init(struct detail *d)
{
	d->list = json_object_new_array();
}

/* loc: up to three parts; an int part is given as a string of digits
 * prefixed with '#'. */
static void detail_add(struct detail *d, const char *const *loc, size_t n_loc,
		       const char *msg, const char *type)
{
	json_object *e = json_object_new_object();
	json_object *l = json_object_new_array();

	for (size_t i = 0; i < n_loc; i++) {
		if (loc[i][0] == '#')
			json_object_array_add(l, json_object_new_int(atoi(loc[i] + 1)));
		else
			json_object_array_add(l, json_object_new_string(loc[i]));
	}
	json_object_object_add(e, "loc", l);
	json_object_object_add(e, "msg", json_object_new_string(msg));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_array_add(d->list, e);
}

static void detail_add_at(struct detail *d, const char *where, const char *field,
			  size_t idx, const char *msg, const char *type)
{
	char num[24];
	const char *loc[3] = { where, field, num };

	snprintf(num, sizeof(num), "#%zu", idx);
	detail_add(d, loc, 3, msg, type);
}

/* Answers 422 when anything was added; takes the list either way. */
static bool detail_reply(struct detail *d, struct sim_reply *reply)
{
	json_object *obj;

	if (!json_object_array_length(d->list)) {
		json_object_put(d->list);
		return false;
	}
	obj = json_object_new_object();
	json_object_object_add(obj, "detail", d->list);
	sim_reply_json(reply, 422, obj);
	return true;
}

static int reply_detail_text(struct sim_reply *reply, unsigned int status, const char *text)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "detail", json_object_new_string(text));
	return sim_reply_json(reply, status, obj);
}

static int reply_success(struct sim_reply *reply)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "status", json_object_new_string("success"));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

static int method_not_allowed(struct sim_reply *reply, const char *allow)
{
	reply_detail_text(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
	sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, allow);
	return 0;
}

/* The JSON body as an object, or a 422 answered the way FastAPI does. */
static json_object *body_object(const struct sim_request *req, struct sim_reply *reply)
{
	struct detail d;
	static const char *const loc_body[] = { "body" };
	static const char *const loc_body0[] = { "body", "#0" };

	if (json_object_is_type(req->json, json_type_object))
		return req->json;
	detail_init(&d);
	if (req->json_error)
		detail_add(&d, loc_body0, 2, "JSON decode error", "json_invalid");
	else if (!req->json)
		detail_add(&d, loc_body, 1, "Field required", "missing");
	else
		detail_add(&d, loc_body, 1,
			   "Input should be a valid dictionary or object to extract fields from",
			   "model_attributes_type");
	detail_reply(&d, reply);
	return NULL;
}

/* A required list of strings member; reports into d. NULL when bad. */
static json_object *string_list(json_object *obj, const char *name, bool required, struct detail *d)
{
	const char *loc[2] = { "body", name };
	json_object *v;
	bool ok = true;

	if (!json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			detail_add(d, loc, 2, "Field required", "missing");
		return NULL;
	}
	if (!json_object_is_type(v, json_type_array)) {
		detail_add(d, loc, 2, "Input should be a valid list", "list_type");
		return NULL;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string)) {
			detail_add_at(d, "body", name, i, "Input should be a valid string", "string_type");
			ok = false;
		}
	}
	return ok ? v : NULL;
}

/* ------------------------------------------------------------------ */
/* emails, the way email-validator (behind pydantic's EmailStr) sees them */

static bool atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

/* NULL when valid, else the reason (static). */
static const char *email_problem(const char *s, size_t len)
{
	static char buf[160];
	const char *at = memchr(s, '@', len), *dom, *label;
	size_t local_len, dom_len, i, n;
	bool digits_only = true;

	if (strlen(s) != len || sim_utf8_count(s, len, &n) < 0)
		return "The email address contains invalid characters.";
	if (!at || memchr(at + 1, '@', len - (size_t)(at + 1 - s)))
		return "An email address must have exactly one @-sign.";
	local_len = (size_t)(at - s);
	if (local_len == 0)
		return "There must be something before the @-sign.";
	if (local_len > 64) {
		snprintf(buf, sizeof(buf),
			 "The email address is too long before the @-sign (%zu character%s too many).",
			 local_len - 64, local_len - 64 == 1 ? "" : "s");
		return buf;
	}
	if (s[0] == '.')
		return "An email address cannot start with a period.";
	if (at[-1] == '.')
		return "An email address cannot have a period immediately before the @-sign.";
	for (i = 0; i < local_len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return "An email address cannot have two periods in a row.";
		if (s[i] != '.' && !atext((unsigned char)s[i]))
			return "The email address contains invalid characters before the @-sign.";
	}
	dom = at + 1;
	dom_len = len - local_len - 1;
	if (dom_len == 0)
		return "There must be something after the @-sign.";
	if (len > 254)
		return "The email address is too long.";
	if (!memchr(dom, '.', dom_len))
		return "The part after the @-sign is not valid. It should have a period.";
	label = dom;
	for (i = 0; i <= dom_len; i++) {
		if (i < dom_len && dom[i] != '.') {
			unsigned char c = (unsigned char)dom[i];

			if (!isalnum(c) && c != '-' && c < 0x80)
				return "The part after the @-sign contains invalid characters.";
			if (!isdigit(c))
				digits_only = false;
			continue;
		}
		n = (size_t)(dom + i - label);
		if (n == 0)
			return "An email address cannot have two periods in a row.";
		if (n > 63)
			return "The part after the @-sign is too long.";
		if (label[0] == '-' || label[n - 1] == '-')
			return "The part after the @-sign cannot start or end with a hyphen.";
		if (i < dom_len) {
			label = dom + i + 1;
			digits_only = true;
		}
	}
	if (digits_only)
		return "The part after the @-sign is not valid. It is not within a valid top-level domain.";
	return NULL;
}

static char *lower(const char *s)
{
	char *c = sim_xstrdup(s);

	for (char *p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

/* ------------------------------------------------------------------ */
/* users and organizations */

static struct dv_user *user_add(struct dv_state *st, const char *email, bool invited)
{
	char *lc = lower(email);
	struct dv_user *u = sim_map_get(&st->by_email, lc);
	char id[32];
	/* An odd multiplier is a bijection modulo 2^40: ids look random, never clash. */
	unsigned long long mixed;

	if (u) {
		free(lc);
		return u;
	}
	mixed = (++st->next_id * 0x9E3779B1ull) & ((1ull << 40) - 1);
	snprintf(id, sizeof(id), "user-%010llx", mixed);
	u = sim_xcalloc(1, sizeof(*u));
	u->id = sim_xstrdup(id);
	u->email = sim_xstrdup(email);
	u->email_lc = lc;
	u->invited = invited;
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->users = sim_xrealloc(st->users, st->cap * sizeof(*st->users));
	}
	st->users[st->len++] = u;
	sim_map_put(&st->by_email, u->email_lc, u);
	sim_map_put(&st->by_id, u->id, u);
	return u;
}

static void member_clear(struct dv_member *m)
{
	free(m->role);
	json_object_put(m->groups);
}

static void user_delete(struct dv_state *st, struct dv_user *u)
{
	for (size_t o = 0; o < st->n_orgs; o++) {
		struct dv_org *org = st->orgs[o];

		for (size_t i = 0; i < org->len; i++) {
			if (org->members[i].user != u)
				continue;
			member_clear(&org->members[i]);
			memmove(&org->members[i], &org->members[i + 1],
				(org->len - i - 1) * sizeof(*org->members));
			org->len--;
			break;
		}
	}
	for (size_t i = 0; i < st->len; i++) {
		if (st->users[i] == u)
			st->users[i] = NULL;
	}
	sim_map_del(&st->by_email, u->email_lc);
	sim_map_del(&st->by_id, u->id);
	free(u->id);
	free(u->email);
	free(u->email_lc);
	free(u);
}

static struct dv_org *org_find(const struct dv_state *st, const char *id)
{
	return sim_map_get(&st->org_by_id, id);
}

static struct dv_org *org_add(struct dv_state *st, const char *id)
{
	struct dv_org *org = org_find(st, id);

	if (org)
		return org;
	org = sim_xcalloc(1, sizeof(*org));
	org->id = sim_xstrdup(id);
	if (st->n_orgs == st->cap_orgs) {
		st->cap_orgs = st->cap_orgs ? st->cap_orgs * 2 : 4;
		st->orgs = sim_xrealloc(st->orgs, st->cap_orgs * sizeof(*st->orgs));
	}
	st->orgs[st->n_orgs++] = org;
	sim_map_put(&st->org_by_id, org->id, org);
	return org;
}

static struct dv_member *org_member(struct dv_org *org, const struct dv_user *u)
{
	for (size_t i = 0; i < org->len; i++) {
		if (org->members[i].user == u)
			return &org->members[i];
	}
	return NULL;
}

static void org_put_member(struct dv_org *org, struct dv_user *u, const char *role,
			   json_object *groups)
{
	struct dv_member *m = org_member(org, u);

	if (!m) {
		if (org->len == org->cap) {
			org->cap = org->cap ? org->cap * 2 : 64;
			org->members = sim_xrealloc(org->members, org->cap * sizeof(*org->members));
		}
		m = &org->members[org->len++];
		memset(m, 0, sizeof(*m));
		m->user = u;
		m->role = sim_xstrdup(role ? role : "org_member");
	} else if (role) {
		free(m->role);
		m->role = sim_xstrdup(role);
	}
	if (groups) {
		json_object_put(m->groups);
		m->groups = NULL;
		/* The request's JSON is released outside the lock: a copy. */
		json_object_deep_copy(groups, &m->groups, NULL);
	}
	m->adds++;
}

/* counts[org][user]++ */
static void count_member(json_object *counts, const char *org, const char *user)
{
	json_object *per_org, *v;
	int64_t n = 0;

	if (!json_object_object_get_ex(counts, org, &per_org)) {
		per_org = json_object_new_object();
		json_object_object_add(counts, org, per_org);
	}
	if (json_object_object_get_ex(per_org, user, &v))
		n = json_object_get_int64(v);
	json_object_object_add(per_org, user, json_object_new_int64(n + 1));
}

static json_object *user_json(const struct dv_user *u)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "user_id", json_object_new_string(u->id));
	json_object_object_add(obj, "email", json_object_new_string(u->email));
	json_object_object_add(obj, "status", json_object_new_string(u->invited ? "invited" : "active"));
	return obj;
}

/* ------------------------------------------------------------------ */
/* endpoints */

/* FastAPI's int query parameter: "" and junk are a 422. */
static bool query_int(const struct sim_request *req, const char *name, long long def,
		      long long *out, struct detail *d)
{
	const char *loc[2] = { "query", name };
	const char *s = sim_request_query(req, name);
	char *end;

	*out = def;
	if (!s)
		return true;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (!*s || *end || errno) {
		detail_add(d, loc, 2, "Input should be a valid integer, unable to parse string as an integer",
			   "int_parsing");
		return false;
	}
	return true;
}

static int list_members(struct dv_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	static const char *loc_limit[] = { "query", "limit" }, *loc_skip[] = { "query", "skip" };
	const char *email = sim_request_query(req, "email");
	char *needle = email ? lower(email) : NULL;
	json_object *obj, *items;
	long long skip, limit, total = 0;
	struct detail d;

	detail_init(&d);
	if (query_int(req, "skip", 0, &skip, &d) && skip < 0)
		detail_add(&d, loc_skip, 2, "Input should be greater than or equal to 0", "greater_than_equal");
	if (query_int(req, "limit", LIMIT_DEFAULT, &limit, &d)) {
		if (limit < 1)
			detail_add(&d, loc_limit, 2, "Input should be greater than or equal to 1",
				   "greater_than_equal");
		else if (limit > LIMIT_MAX)
			detail_add(&d, loc_limit, 2, "Input should be less than or equal to 200",
				   "less_than_equal");
	}
	if (detail_reply(&d, reply)) {
		free(needle);
		return 0;
	}
	st->lookups++;
	obj = json_object_new_object();
	items = json_object_new_array();
	/* A search, not an exact filter: the client must pick the exact match. */
	for (size_t i = 0; i < st->len; i++) {
		const struct dv_user *u = st->users[i];

		if (!u || (needle && !strstr(u->email_lc, needle)))
			continue;
		if (total >= skip && total < skip + limit)
			json_object_array_add(items, user_json(u));
		total++;
	}
	json_object_object_add(obj, "items", items);
	json_object_object_add(obj, "total", json_object_new_int64(total));
	json_object_object_add(obj, "skip", json_object_new_int64(skip));
	json_object_object_add(obj, "limit", json_object_new_int64(limit));
	free(needle);
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

static int invite(struct dv_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	static const char *loc_emails[] = { "body", "emails" };
	json_object *body = body_object(req, reply), *emails;
	struct detail d;
	size_t n;

	if (!body)
		return 0;
	detail_init(&d);
	emails = string_list(body, "emails", true, &d);
	n = emails ? json_object_array_length(emails) : 0;
	if (emails && n == 0)
		detail_add(&d, loc_emails, 2, "List should have at least 1 item after validation, not 0",
			   "too_short");
	if (n > INVITE_MAX)
		detail_add(&d, loc_emails, 2, "List should have at most 100 items after validation",
			   "too_long");
	for (size_t i = 0; emails && i < n && n <= INVITE_MAX; i++) {
		json_object *e = json_object_array_get_idx(emails, i);
		const char *why = email_problem(json_object_get_string(e),
						(size_t)json_object_get_string_len(e));
		char msg[256];

		if (!why)
			continue;
		snprintf(msg, sizeof(msg), "value is not a valid email address: %s", why);
		detail_add_at(&d, "body", "emails", i, msg, "value_error");
	}
	if (detail_reply(&d, reply))
		return 0;
	st->invite_calls++;
	for (size_t i = 0; i < n; i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(emails, i));
		char *lc = lower(e);

		if (!sim_map_get(&st->by_email, lc)) {
			user_add(st, e, true);
			st->invited++;
		}
		free(lc);
	}
	return reply_success(reply);
}

static void record_call(struct dv_state *st, const char *org, size_t size, unsigned int status)
{
	json_object *c = json_object_new_object();
	char *clean = sim_utf8_sanitize(org, strlen(org), NULL);

	json_object_object_add(c, "org_id", json_object_new_string(clean));
	json_object_object_add(c, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(c, "status", json_object_new_int((int)status));
	json_object_array_add(st->add_calls, c);
	free(clean);
}

static int add_members(struct dv_state *st, const struct sim_request *req, const char *org_id,
		       struct sim_reply *reply)
{
	static const char *loc_role[] = { "body", "org_role" }, *loc_path[] = { "path", "org_id" };
	json_object *body = body_object(req, reply), *users = NULL, *orgs, *groups = NULL, *v;
	const char *role = NULL;
	struct detail d;
	size_t n = 0;

	if (!body)
		goto out;
	detail_init(&d);
	users = string_list(body, "user_ids", true, &d);
	orgs = string_list(body, "org_ids", true, &d);
	n = users ? json_object_array_length(users) : 0;
	if (json_object_object_get_ex(body, "group_names", &v))
		groups = string_list(body, "group_names", false, &d);
	if (json_object_object_get_ex(body, "org_role", &v) && !json_object_is_type(v, json_type_null)) {
		role = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!role)
			detail_add(&d, loc_role, 2, "Input should be a valid string", "string_type");
		else if (strcmp(role, "org_admin") != 0 && strcmp(role, "org_member") != 0)
			detail_add(&d, loc_role, 2, "Input should be 'org_admin' or 'org_member'", "enum");
	}
	if (detail_reply(&d, reply))
		goto out;

	/* Every id is checked before anything is applied: all or nothing. */
	detail_init(&d);
	if (!org_find(st, org_id))
		detail_add(&d, loc_path, 2, "Organization not found", "value_error");
	for (size_t i = 0; i < json_object_array_length(orgs); i++) {
		const char *o = json_object_get_string(json_object_array_get_idx(orgs, i));
		char msg[160];

		if (org_find(st, o))
			continue;
		snprintf(msg, sizeof(msg), "Organization %.100s not found", o);
		detail_add_at(&d, "body", "org_ids", i, msg, "value_error");
	}
	for (size_t i = 0; i < n; i++) {
		const char *u = json_object_get_string(json_object_array_get_idx(users, i));
		char msg[160];

		if (sim_map_get(&st->by_id, u))
			continue;
		snprintf(msg, sizeof(msg), "User %.100s not found in this enterprise", u);
		detail_add_at(&d, "body", "user_ids", i, msg, "value_error");
	}
	if (detail_reply(&d, reply))
		goto out;
	for (size_t k = 0; k < json_object_array_length(orgs); k++) {
		struct dv_org *org = org_find(st, json_object_get_string(json_object_array_get_idx(orgs, k)));

		for (size_t i = 0; i < n; i++) {
			const char *u = json_object_get_string(json_object_array_get_idx(users, i));

			org_put_member(org, sim_map_get(&st->by_id, u), role, groups);
			count_member(st->member_adds, org->id, u);
		}
	}
	reply_success(reply);
out:
	record_call(st, org_id, n, reply->status);
	return 0;
}

/* The organization of a path, or NULL with a 422 answered. */
static struct dv_org *path_org(struct dv_state *st, const char *org_id, struct sim_reply *reply)
{
	static const char *const loc_path[] = { "path", "org_id" };
	struct dv_org *org = org_find(st, org_id);
	struct detail d;

	if (org)
		return org;
	detail_init(&d);
	detail_add(&d, loc_path, 2, "Organization not found", "value_error");
	detail_reply(&d, reply);
	return NULL;
}

static json_object *org_member_json(const struct dv_org *org, const struct dv_member *m)
{
	json_object *obj = json_object_new_object();
	/* The name Devin shows: the address's local part here. */
	size_t name_len = strcspn(m->user->email, "@");

	json_object_object_add(obj, "user_id", json_object_new_string(m->user->id));
	json_object_object_add(obj, "email", json_object_new_string(m->user->email));
	json_object_object_add(obj, "name", json_object_new_string_len(m->user->email, (int)name_len));
	json_object_object_add(obj, "org_id", json_object_new_string(org->id));
	json_object_object_add(obj, "org_name", json_object_new_string(org->id));
	json_object_object_add(obj, "org_role", json_object_new_string(m->role));
	json_object_object_add(obj, "enterprise_role", NULL);
	return obj;
}

/* GET .../organizations/{org_id}/members?skip=&limit= */
static int list_org_members(struct dv_state *st, const struct sim_request *req, const char *org_id,
			    struct sim_reply *reply)
{
	static const char *loc_limit[] = { "query", "limit" }, *loc_skip[] = { "query", "skip" };
	json_object *obj, *items;
	long long skip, limit;
	struct dv_org *org;
	struct detail d;
	bool more;

	detail_init(&d);
	if (query_int(req, "skip", 0, &skip, &d) && skip < 0)
		detail_add(&d, loc_skip, 2, "Input should be greater than or equal to 0", "greater_than_equal");
	if (query_int(req, "limit", LIMIT_DEFAULT, &limit, &d)) {
		if (limit < 1)
			detail_add(&d, loc_limit, 2, "Input should be greater than or equal to 1",
				   "greater_than_equal");
		else if (limit > LIMIT_MAX)
			detail_add(&d, loc_limit, 2, "Input should be less than or equal to 200",
				   "less_than_equal");
	}
	if (detail_reply(&d, reply))
		return 0;
	if (!(org = path_org(st, org_id, reply)))
		return 0;
	st->member_lists++;
	obj = json_object_new_object();
	items = json_object_new_array();
	for (long long i = skip; i < (long long)org->len && i < skip + limit; i++)
		json_object_array_add(items, org_member_json(org, &org->members[i]));
	more = skip + limit < (long long)org->len;
	json_object_object_add(obj, "items", items);
	json_object_object_add(obj, "total", json_object_new_int64((int64_t)org->len));
	json_object_object_add(obj, "skip", json_object_new_int64(skip));
	json_object_object_add(obj, "limit", json_object_new_int64(limit));
	json_object_object_add(obj, "has_more", json_object_new_boolean(more));
	json_object_object_add(obj, "next_cursor", more ? json_object_new_int64(skip + limit) : NULL);
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

static int remove_member(struct dv_state *st, const char *org_id, const char *user_id,
			 struct sim_reply *reply)
{
	static const char *const loc_user[] = { "path", "user_id" };
	struct dv_org *org = path_org(st, org_id, reply);
	struct dv_user *u = sim_map_get(&st->by_id, user_id);
	struct dv_member *m;
	struct detail d;
	char msg[160];

	if (!org)
		return 0;
	if (!u) {
		detail_init(&d);
		snprintf(msg, sizeof(msg), "User %.100s not found in this enterprise", user_id);
		detail_add(&d, loc_user, 2, msg, "value_error");
		detail_reply(&d, reply);
		return 0;
	}
	m = org_member(org, u);
	if (!m)
		return reply_detail_text(reply, MHD_HTTP_NOT_FOUND, "Member not found");
	count_member(st->member_removes, org->id, u->id);
	member_clear(m);
	memmove(m, m + 1, (size_t)(org->members + org->len - m - 1) * sizeof(*m));
	org->len--;
	return reply_success(reply);
}

/* ------------------------------------------------------------------ */
/* the sim_api hooks */

static bool authorized(const struct sim *sim, const struct sim_request *req)
{
	const char *auth = sim_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *key = sim_secret(sim, "devin.key", "apk_user_devin-test-key");

	return auth && strncasecmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, key) == 0;
}

static int dv_handle(struct sim *sim, void *state, const struct sim_request *req,
		     struct sim_reply *reply)
{
	struct dv_state *st = state;
	const char *route = dv_route(req), *org, *user, *m = req->method;
	size_t org_len;
	char *org_id;
	int r;

	if (!route)
		return reply_detail_text(reply, MHD_HTTP_NOT_FOUND, "Not Found");
	/* FastAPI's HTTPBearer: no credentials is a 403, wrong ones a 401. */
	if (!sim_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION))
		return reply_detail_text(reply, MHD_HTTP_FORBIDDEN, "Not authenticated");
	if (!authorized(sim, req))
		return reply_detail_text(reply, MHD_HTTP_UNAUTHORIZED, "Invalid API key");

	if (strcmp(route, P_MEMBERS) == 0)
		return strcmp(m, "GET") == 0 ? list_members(st, req, reply) : method_not_allowed(reply, "GET");
	if (strcmp(route, P_INVITE) == 0)
		return strcmp(m, "POST") == 0 ? invite(st, req, reply) : method_not_allowed(reply, "POST");
	parse_org_path(req->path, &org, &org_len, &user);
	org_id = sim_xstrndup(org, org_len);
	if (!user && strcmp(m, "GET") == 0)
		r = list_org_members(st, req, org_id, reply);
	else if (!user)
		r = strcmp(m, "POST") == 0 ? add_members(st, req, org_id, reply)
					   : method_not_allowed(reply, "GET, POST");
	else
		r = strcmp(m, "DELETE") == 0 ? remove_member(st, org_id, user, reply)
					     : method_not_allowed(reply, "DELETE");
	free(org_id);
	return r;
}

static const char *dv_log_key(const struct sim *sim, const struct sim_request *req, size_t *len)
{
	json_object *v;
	const char *key = NULL, *route;

	if (strcmp(req->path, P_MEMBERS) == 0) {
		key = sim_request_query(req, "email");
		if (key)
			*len = strlen(key);
		return key;
	}
	/* A removal names its user in the path. */
	route = dv_route(req);
	if (route && strcmp(route, ROUTE_ORG_MEMBER) == 0) {
		key = strrchr(req->path, '/') + 1;
		*len = strlen(key);
		return key;
	}
	/* Invitations and adds carry lists: the first names the request. */
	if (json_object_is_type(req->json, json_type_object) &&
	    (json_object_object_get_ex(req->json, "emails", &v) ||
	     json_object_object_get_ex(req->json, "user_ids", &v)) &&
	    json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0) {
		v = json_object_array_get_idx(v, 0);
		if (json_object_is_type(v, json_type_string)) {
			*len = (size_t)json_object_get_string_len(v);
			return json_object_get_string(v);
		}
	}
	return NULL;
}

static int dv_throttle(struct sim *sim, void *state, const struct sim_request *req,
		       unsigned int retry_after_s, struct sim_reply *reply)
{
	char secs[16];

	reply_detail_text(reply, MHD_HTTP_TOO_MANY_REQUESTS, "Rate limit exceeded");
	snprintf(secs, sizeof(secs), "%u", retry_after_s);
	sim_reply_header(reply, "Retry-After", secs);
	return 0;
}

/* A non-empty string member without NULs, or NULL. */
static const char *control_string(json_object *body, const char *name)
{
	size_t len;
	const char *s = sim_json_string(body, name, &len);

	return s && len && strlen(s) == len ? s : NULL;
}

static int dv_control(struct sim *sim, void *state, const char *action,
		      const struct sim_request *req, struct sim_reply *reply)
{
	struct dv_state *st = state;
	json_object *body = json_object_is_type(req->json, json_type_object) ? req->json : NULL;
	json_object *emails, *obj;
	const char *s;

	if (strcmp(action, "add-user") == 0) {
		if (body && json_object_object_get_ex(body, "emails", &emails) &&
		    json_object_is_type(emails, json_type_array)) {
			json_object *ids = json_object_new_array();

			for (size_t i = 0; i < json_object_array_length(emails); i++) {
				json_object *e = json_object_array_get_idx(emails, i);

				if (!json_object_is_type(e, json_type_string) ||
				    email_problem(json_object_get_string(e),
						  (size_t)json_object_get_string_len(e))) {
					json_object_put(ids);
					return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
							       "emails must be valid email addresses");
				}
			}
			for (size_t i = 0; i < json_object_array_length(emails); i++) {
				s = json_object_get_string(json_object_array_get_idx(emails, i));
				json_object_array_add(ids, json_object_new_string(user_add(st, s, false)->id));
			}
			obj = json_object_new_object();
			json_object_object_add(obj, "user_ids", ids);
			return sim_reply_json(reply, MHD_HTTP_OK, obj);
		}
		s = control_string(body, "email");
		if (!s || email_problem(s, strlen(s)))
			return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
					       "body must be {\"email\": valid address} or {\"emails\": [...]}");
		obj = json_object_new_object();
		json_object_object_add(obj, "user_id", json_object_new_string(user_add(st, s, false)->id));
		return sim_reply_json(reply, MHD_HTTP_OK, obj);
	}
	if (strcmp(action, "delete-user") == 0) {
		struct dv_user *u = NULL;
		char *lc;

		if ((s = control_string(body, "user_id"))) {
			u = sim_map_get(&st->by_id, s);
		} else if ((s = control_string(body, "email"))) {
			lc = lower(s);
			u = sim_map_get(&st->by_email, lc);
			free(lc);
		} else {
			return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
					       "body must be {\"email\": ...} or {\"user_id\": ...}");
		}
		if (!u)
			return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such user");
		obj = json_object_new_object();
		json_object_object_add(obj, "deleted", json_object_new_string(u->id));
		user_delete(st, u);
		return sim_reply_json(reply, MHD_HTTP_OK, obj);
	}
	if (strcmp(action, "add-org") == 0) {
		s = control_string(body, "org_id");
		if (!s || strchr(s, '/'))
			return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
					       "body must be {\"org_id\": id without '/'}");
		org_add(st, s);
		obj = json_object_new_object();
		json_object_object_add(obj, "org_id", json_object_new_string(s));
		return sim_reply_json(reply, MHD_HTTP_OK, obj);
	}
	return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "unknown action");
}

static void dv_reset(void *state)
{
	struct dv_state *st = state;

	for (size_t i = 0; i < st->len; i++) {
		if (!st->users[i])
			continue;
		free(st->users[i]->id);
		free(st->users[i]->email);
		free(st->users[i]->email_lc);
		free(st->users[i]);
	}
	free(st->users);
	st->users = NULL;
	st->len = st->cap = 0;
	for (size_t o = 0; o < st->n_orgs; o++) {
		for (size_t i = 0; i < st->orgs[o]->len; i++)
			member_clear(&st->orgs[o]->members[i]);
		free(st->orgs[o]->members);
		free(st->orgs[o]->id);
		free(st->orgs[o]);
	}
	free(st->orgs);
	st->orgs = NULL;
	st->n_orgs = st->cap_orgs = 0;
	sim_map_clear(&st->by_email);
	sim_map_clear(&st->by_id);
	sim_map_clear(&st->org_by_id);
	json_object_put(st->add_calls);
	json_object_put(st->member_adds);
	json_object_put(st->member_removes);
	st->add_calls = json_object_new_array();
	st->member_adds = json_object_new_object();
	st->member_removes = json_object_new_object();
	st->next_id = 0;
	st->lookups = st->invite_calls = st->invited = st->member_lists = 0;
}

static void *dv_state_new(const struct sim *sim)
{
	struct dv_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_email);
	sim_map_init(&st->by_id);
	sim_map_init(&st->org_by_id);
	st->add_calls = json_object_new_array();
	st->member_adds = json_object_new_object();
	st->member_removes = json_object_new_object();
	return st;
}

static void dv_state_free(void *state)
{
	struct dv_state *st = state;

	if (!st)
		return;
	dv_reset(st);
	json_object_put(st->add_calls);
	json_object_put(st->member_adds);
	json_object_put(st->member_removes);
	free(st);
}

static json_object *dv_dump(void *state)
{
	struct dv_state *st = state;
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array(), *orgs = json_object_new_object();

	for (size_t i = 0; i < st->len; i++) {
		if (st->users[i])
			json_object_array_add(users, user_json(st->users[i]));
	}
	for (size_t o = 0; o < st->n_orgs; o++) {
		const struct dv_org *org = st->orgs[o];
		json_object *members = json_object_new_array();

		for (size_t i = 0; i < org->len; i++) {
			const struct dv_member *m = &org->members[i];
			json_object *mj = json_object_new_object();

			json_object_object_add(mj, "user_id", json_object_new_string(m->user->id));
			json_object_object_add(mj, "email", json_object_new_string(m->user->email));
			json_object_object_add(mj, "org_role", json_object_new_string(m->role));
			json_object *groups = NULL;

			if (m->groups)
				json_object_deep_copy(m->groups, &groups, NULL);
			json_object_object_add(mj, "group_names", groups);
			json_object_object_add(mj, "adds", json_object_new_int64(m->adds));
			json_object_array_add(members, mj);
		}
		json_object_object_add(orgs, org->id, members);
	}
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "orgs", orgs);
	json_object *calls = NULL;

	/* A copy: the dump may be serialised after the lock is released. */
	json_object_deep_copy(st->add_calls, &calls, NULL);
	json_object_object_add(obj, "add_calls", calls);
	calls = NULL;
	json_object_deep_copy(st->member_adds, &calls, NULL);
	json_object_object_add(obj, "member_adds", calls);
	calls = NULL;
	json_object_deep_copy(st->member_removes, &calls, NULL);
	json_object_object_add(obj, "member_removes", calls);
	json_object_object_add(obj, "member_lists", json_object_new_int64(st->member_lists));
	json_object_object_add(obj, "lookups", json_object_new_int64(st->lookups));
	json_object_object_add(obj, "invite_calls", json_object_new_int64(st->invite_calls));
	json_object_object_add(obj, "invited", json_object_new_int64(st->invited));
	return obj;
}

const struct sim_api sim_api_devin = {
	.name = "devin",
	.path_prefix = PREFIX,
	.state_new = dv_state_new,
	.state_free = dv_state_free,
	.reset = dv_reset,
	.handle = dv_handle,
	.dump = dv_dump,
	.route = dv_route,
	.log_key = dv_log_key,
	.throttle = dv_throttle,
	.control = dv_control,
};
