/*
 * Comp AI's people API (/compai/v1/people...), behaving like the real
 * NestJS server: X-API-Key auth, a strict whitelist (an unknown property
 * is a 400 naming it), class-validator messages, NestJS error bodies
 * ({"statusCode","message","error"}), members listed with their user
 * (deactivated ones only when asked), bulk adds with partial success,
 * invites by email, updates (PATCH /v1/people/{id}), deactivation
 * (DELETE /v1/people/{id}: the member is kept, deactivated, as the
 * current server does), reactivation, and the throttler's 429.
 *
 * Test levers under /_sim/api/compai/:
 *   add-user   {"email","name"} -> {"id"}, or {"users":[{"email","name"}]}
 *              -> {"ids":[...]}: people known to Comp AI, not yet members
 *   add-member {"email"[,"name","role","department"]} -> {"id","userId"}
 *   deactivate {"email"}: the member is deactivated (as offboarding does)
 *   hide       {"email"}: the member is left out of listings, as a
 *              lagging read replica would, so a test can make an add meet
 *              "already a member"
 * The state dump counts, per user id, how often a create carried it
 * ("adds") and how many members were actually created for it ("creates":
 * POST /v1/people, /bulk and an invite's immediate member), per email how
 * often it was invited ("invites") and per member how often it was
 * reactivated ("reactivations"), so a test can assert that nothing was
 * sent twice. Each member in "members" shows its fields, isActive,
 * deactivated, and how often it was updated ("updates") and deactivated
 * ("deactivations").
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PREFIX "/compai"
#define PEOPLE "/v1/people"
#define ROUTE_PEOPLE PREFIX PEOPLE
#define ROUTE_BULK PREFIX PEOPLE "/bulk"
#define ROUTE_INVITE PREFIX PEOPLE "/invite"
#define ROUTE_REACTIVATE PREFIX PEOPLE "/{id}/reactivate"
#define ROUTE_ITEM PREFIX PEOPLE "/{id}"
#define ORG_ID "org_sim0000000001"
#define BULK_MAX 1000
#define DEPARTMENTS "none, admin, gov, hr, it, itsm, qms"

struct ca_user {
	char *id;
	char *email;	/* lower case, as the server keeps invited ones */
	char *name;
	time_t created;
};

struct ca_member {
	char *id;
	struct ca_user *user;
	char *role;
	char *department;
	char *job_title;	/* NULL: none */
	long long fleet;	/* 0: none */
	bool is_active;
	bool deactivated;
	bool hidden;
	time_t created;
	long long updates;	/* PATCH /v1/people/{id} that changed it */
	long long deactivations;	/* DELETE /v1/people/{id} */
};

struct ca_state {
	struct ca_user **users;
	size_t n_users, cap_users;
	struct ca_member **members;
	size_t n_members, cap_members;
	struct sim_map user_by_email;
	struct sim_map user_by_id;
	struct sim_map member_by_user;	/* user id -> member */
	struct sim_map member_by_id;
	json_object *invitations;	/* [{"email","roles"}] */
	json_object *adds;		/* user id -> creates that carried it */
	json_object *creates;		/* user id -> members created for it */
	json_object *invites;		/* email -> invites */
	json_object *reactivations;	/* member id -> count */
	unsigned long long next_id;
};

static const char *const member_fields[] = {
	"userId", "role", "department", "isActive", "fleetDmLabelId", "jobTitle", NULL,
};

/* UpdatePeopleDto: PartialType(CreatePeopleDto) plus the user's name and
 * email. */
static const char *const update_fields[] = {
	"userId", "role", "department", "isActive", "fleetDmLabelId", "jobTitle", "name", "email", NULL,
};

static const char *const departments[] = { "none", "admin", "gov", "hr", "it", "itsm", "qms", NULL };

/* ------------------------------------------------------------------ */
/* helpers */

static char *lower_dup(const char *s)
{
	char *l = sim_utf8_sanitize(s, strlen(s), NULL);

	for (char *p = l; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return l;
}

static char *clean_dup(const char *s)
{
	return sim_utf8_sanitize(s, strlen(s), NULL);
}

static void count(json_object *counts, const char *key)
{
	char *clean = clean_dup(key);
	json_object *v;
	int64_t n = 0;

	if (json_object_object_get_ex(counts, clean, &v))
		n = json_object_get_int64(v);
	json_object_object_add(counts, clean, json_object_new_int64(n + 1));
	free(clean);
}

/* Distinct, and shaped like the server's ids ("usr_abc123def456"). */
static char *new_id(struct ca_state *st, const char *prefix)
{
	unsigned long long n = ++st->next_id;
	char buf[48];

	snprintf(buf, sizeof(buf), "%s_%06llx%06llx", prefix, n,
		 (n * 0x9e3779b97f4a7c15ull >> 40) & 0xffffffull);
	return sim_xstrdup(buf);
}

static void iso_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

/* class-validator's IsEmail, near enough: one '@', a dotted domain, no
 * spaces or control characters. */
static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	const char *dot;

	if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254)
		return false;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	}
	dot = strrchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1];
}

/* ------------------------------------------------------------------ */
/* answers in the server's shapes */

static int reply_nest(struct sim_reply *reply, unsigned int status, json_object *message,
		      const char *error)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "message", message);
	json_object_object_add(obj, "error", json_object_new_string(error));
	json_object_object_add(obj, "statusCode", json_object_new_int((int)status));
	return sim_reply_json(reply, status, obj);
}

static int reply_msg(struct sim_reply *reply, unsigned int status, const char *error,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int reply_msg(struct sim_reply *reply, unsigned int status, const char *error,
		     const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char *clean;
	int r;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	clean = clean_dup(buf);
	r = reply_nest(reply, status, json_object_new_string(clean), error);
	free(clean);
	return r;
}

/* Express answers a path or method it has no route for like this. */
static int reply_no_route(const struct sim_request *req, struct sim_reply *reply)
{
	return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found", "Cannot %s %s", req->method,
			 req->path + strlen(PREFIX));
}

static void add_msg(json_object *msgs, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_msg(json_object *msgs, const char *prefix, const char *fmt, ...)
{
	char buf[512], full[600];
	va_list ap;
	char *clean;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s%s", prefix, buf);
	clean = clean_dup(full);
	json_object_array_add(msgs, json_object_new_string(clean));
	free(clean);
}

/* forbidNonWhitelisted: every property not in `allowed` is named. */
static void check_whitelist(json_object *obj, const char *const *allowed, const char *prefix,
			    json_object *msgs)
{
	json_object_object_foreach(obj, name, val) {
		(void)val;
		if (!in_list(allowed, name))
			add_msg(msgs, prefix, "property %s should not exist", name);
	}
}

/* IsString + IsNotEmpty. */
static void check_required_string(json_object *obj, const char *name, const char *prefix,
				  json_object *msgs)
{
	json_object *v = NULL;
	bool present = json_object_object_get_ex(obj, name, &v) && v;

	if (!present || (json_object_is_type(v, json_type_string) && !json_object_get_string_len(v)))
		add_msg(msgs, prefix, "%s should not be empty", name);
	if (!present || !json_object_is_type(v, json_type_string))
		add_msg(msgs, prefix, "%s must be a string", name);
}

/* CreatePeopleDto. */
static void check_member(json_object *obj, const char *prefix, json_object *msgs)
{
	json_object *v;

	check_whitelist(obj, member_fields, prefix, msgs);
	check_required_string(obj, "userId", prefix, msgs);
	check_required_string(obj, "role", prefix, msgs);
	/* IsOptional: null and absent both skip the rest. */
	if (json_object_object_get_ex(obj, "department", &v) && v &&
	    (!json_object_is_type(v, json_type_string) || !in_list(departments, json_object_get_string(v))))
		add_msg(msgs, prefix, "department must be one of the following values: " DEPARTMENTS);
	if (json_object_object_get_ex(obj, "isActive", &v) && v && !json_object_is_type(v, json_type_boolean))
		add_msg(msgs, prefix, "isActive must be a boolean value");
	if (json_object_object_get_ex(obj, "fleetDmLabelId", &v) && v &&
	    !json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		add_msg(msgs, prefix, "fleetDmLabelId must be a number conforming to the specified constraints");
	if (json_object_object_get_ex(obj, "jobTitle", &v) && v && !json_object_is_type(v, json_type_string))
		add_msg(msgs, prefix, "jobTitle must be a string");
}

/* The body as express.json and the ValidationPipe see it: 400 for JSON
 * that does not parse; anything that is not a JSON object (or not sent as
 * JSON at all) validates as an empty object. Returns NULL when answered. */
static json_object *body_object(const struct sim_request *req, struct sim_reply *reply, bool *empty)
{
	const char *ct = sim_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	bool json_ct = ct && strncasecmp(ct, "application/json", 16) == 0;

	*empty = false;
	if (json_ct && req->json_error) {
		reply_msg(reply, MHD_HTTP_BAD_REQUEST, "Bad Request",
			  "Unexpected token in JSON at position 0");
		return NULL;
	}
	if (!json_ct || !json_object_is_type(req->json, json_type_object)) {
		*empty = true;
		return json_object_new_object();
	}
	return req->json;
}

/* ------------------------------------------------------------------ */
/* people */

static json_object *user_json(const struct ca_user *u)
{
	json_object *obj = json_object_new_object();
	char when[40];

	iso_time(u->created, when, sizeof(when));
	json_object_object_add(obj, "id", json_object_new_string(u->id));
	json_object_object_add(obj, "name", json_object_new_string(u->name));
	json_object_object_add(obj, "email", json_object_new_string(u->email));
	json_object_object_add(obj, "emailVerified", json_object_new_boolean(1));
	json_object_object_add(obj, "image", NULL);
	json_object_object_add(obj, "createdAt", json_object_new_string(when));
	json_object_object_add(obj, "updatedAt", json_object_new_string(when));
	json_object_object_add(obj, "lastLogin", NULL);
	json_object_object_add(obj, "role", json_object_new_string("user"));
	return obj;
}

static json_object *member_json(const struct ca_member *m)
{
	json_object *obj = json_object_new_object();
	char when[40];

	iso_time(m->created, when, sizeof(when));
	json_object_object_add(obj, "id", json_object_new_string(m->id));
	json_object_object_add(obj, "organizationId", json_object_new_string(ORG_ID));
	json_object_object_add(obj, "userId", json_object_new_string(m->user->id));
	json_object_object_add(obj, "role", json_object_new_string(m->role));
	json_object_object_add(obj, "createdAt", json_object_new_string(when));
	json_object_object_add(obj, "department", json_object_new_string(m->department));
	json_object_object_add(obj, "jobTitle", m->job_title ? json_object_new_string(m->job_title) : NULL);
	json_object_object_add(obj, "isActive", json_object_new_boolean(m->is_active));
	json_object_object_add(obj, "deactivated", json_object_new_boolean(m->deactivated));
	json_object_object_add(obj, "fleetDmLabelId", m->fleet ? json_object_new_int64(m->fleet) : NULL);
	json_object_object_add(obj, "user", user_json(m->user));
	return obj;
}

static json_object *with_auth(json_object *obj)
{
	json_object_object_add(obj, "authType", json_object_new_string("api-key"));
	return obj;
}

static struct ca_user *user_add(struct ca_state *st, const char *email, const char *name)
{
	struct ca_user *u = sim_xcalloc(1, sizeof(*u));
	const char *at;

	u->id = new_id(st, "usr");
	u->email = lower_dup(email);
	if (name && *name) {
		u->name = clean_dup(name);
	} else {
		at = strchr(u->email, '@');
		u->name = sim_xstrndup(u->email, at ? (size_t)(at - u->email) : strlen(u->email));
	}
	u->created = time(NULL);
	if (st->n_users == st->cap_users) {
		st->cap_users = st->cap_users ? st->cap_users * 2 : 64;
		st->users = sim_xrealloc(st->users, st->cap_users * sizeof(*st->users));
	}
	st->users[st->n_users++] = u;
	sim_map_put(&st->user_by_email, u->email, u);
	sim_map_put(&st->user_by_id, u->id, u);
	return u;
}

static struct ca_user *user_by_email(struct ca_state *st, const char *email)
{
	char *l = lower_dup(email);
	struct ca_user *u = sim_map_get(&st->user_by_email, l);

	free(l);
	return u;
}

/* Takes nothing; copies what it keeps. */
static struct ca_member *member_add(struct ca_state *st, struct ca_user *u, const char *role,
				    const char *department, const char *job_title, long long fleet,
				    bool is_active)
{
	struct ca_member *m = sim_xcalloc(1, sizeof(*m));

	m->id = new_id(st, "mem");
	m->user = u;
	m->role = clean_dup(role);
	m->department = sim_xstrdup(department ? department : "none");
	m->job_title = job_title ? clean_dup(job_title) : NULL;
	m->fleet = fleet;
	m->is_active = is_active;
	m->created = time(NULL);
	if (st->n_members == st->cap_members) {
		st->cap_members = st->cap_members ? st->cap_members * 2 : 64;
		st->members = sim_xrealloc(st->members, st->cap_members * sizeof(*st->members));
	}
	st->members[st->n_members++] = m;
	sim_map_put(&st->member_by_user, u->id, m);
	sim_map_put(&st->member_by_id, m->id, m);
	return m;
}

static void member_reactivate(struct ca_member *m, const char *role)
{
	m->deactivated = false;
	m->is_active = true;
	if (role) {
		free(m->role);
		m->role = clean_dup(role);
	}
}

static bool member_active(const struct ca_member *m)
{
	return !m->deactivated && m->is_active;
}

static struct ca_member *member_from_body(struct ca_state *st, json_object *o)
{
	json_object *v;
	const char *department = NULL, *job = NULL;
	long long fleet = 0;
	bool active = true;
	struct ca_user *u = sim_map_get(&st->user_by_id, sim_json_string(o, "userId", NULL));

	if (json_object_object_get_ex(o, "department", &v) && v)
		department = json_object_get_string(v);
	if (json_object_object_get_ex(o, "jobTitle", &v) && v)
		job = json_object_get_string(v);
	if (json_object_object_get_ex(o, "fleetDmLabelId", &v) && v)
		fleet = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "isActive", &v) && v)
		active = json_object_get_boolean(v);
	count(st->creates, u->id);
	return member_add(st, u, sim_json_string(o, "role", NULL), department, job, fleet, active);
}

static int list_people(struct ca_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	const char *all = sim_request_query(req, "includeDeactivated");
	bool deactivated_too = all && strcmp(all, "true") == 0;
	json_object *obj = json_object_new_object(), *data = json_object_new_array();

	for (size_t i = 0; i < st->n_members; i++) {
		const struct ca_member *m = st->members[i];

		if (m->hidden || (!deactivated_too && !member_active(m)))
			continue;
		json_object_array_add(data, member_json(m));
	}
	json_object_object_add(obj, "count", json_object_new_int64((int64_t)json_object_array_length(data)));
	json_object_object_add(obj, "data", data);
	return sim_reply_json(reply, MHD_HTTP_OK, with_auth(obj));
}

static int create_person(struct ca_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	bool empty;
	json_object *body = body_object(req, reply, &empty), *msgs;
	const char *uid;
	struct ca_user *u;
	struct ca_member *m;

	if (!body)
		return 0;
	msgs = json_object_new_array();
	check_member(body, "", msgs);
	if (empty)
		json_object_put(body);
	if (json_object_array_length(msgs))
		return reply_nest(reply, MHD_HTTP_BAD_REQUEST, msgs, "Bad Request");
	json_object_put(msgs);

	uid = sim_json_string(req->json, "userId", NULL);
	count(st->adds, uid);
	u = sim_map_get(&st->user_by_id, uid);
	if (!u)
		return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found", "User with ID %s not found", uid);
	m = sim_map_get(&st->member_by_user, uid);
	if (m && !m->deactivated)
		return reply_msg(reply, MHD_HTTP_BAD_REQUEST, "Bad Request",
				 "User %s is already a member of this organization", u->email);
	if (m)
		/* The (userId, organizationId) unique index, uncaught. */
		return reply_msg(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				 "Failed to create member");
	m = member_from_body(st, req->json);
	return sim_reply_json(reply, MHD_HTTP_CREATED, with_auth(member_json(m)));
}

static int bulk_create(struct ca_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	static const char *const top[] = { "members", NULL };
	bool empty;
	json_object *body = body_object(req, reply, &empty), *msgs, *list = NULL;
	json_object *created, *errors, *summary, *obj;
	size_t n = 0;
	bool *valid = NULL;

	if (!body)
		return 0;
	msgs = json_object_new_array();
	check_whitelist(body, top, "", msgs);
	if (!json_object_object_get_ex(body, "members", &list) || !json_object_is_type(list, json_type_array)) {
		add_msg(msgs, "", "members must be an array");
		list = NULL;
	} else {
		n = json_object_array_length(list);
		if (n < 1)
			add_msg(msgs, "", "Members array cannot be empty");
		if (n > BULK_MAX)
			add_msg(msgs, "", "Maximum %d members allowed per bulk request", BULK_MAX);
		for (size_t i = 0; i < n && n <= BULK_MAX; i++) {
			json_object *o = json_object_array_get_idx(list, i);
			char prefix[40];

			snprintf(prefix, sizeof(prefix), "members.%zu.", i);
			if (!json_object_is_type(o, json_type_object))
				add_msg(msgs, "", "each value in nested property members must be either object or array");
			else
				check_member(o, prefix, msgs);
		}
	}
	if (json_object_array_length(msgs)) {
		if (empty)
			json_object_put(body);
		return reply_nest(reply, MHD_HTTP_BAD_REQUEST, msgs, "Bad Request");
	}
	json_object_put(msgs);

	/* Like the server: every member is checked against the state before
	 * any is created, then the valid ones are inserted, skipping those
	 * already there (a deactivated member is not created again, but is
	 * returned with the created ones, as the server's findMany does). */
	errors = json_object_new_array();
	created = json_object_new_array();
	valid = sim_xcalloc(n, sizeof(*valid));
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(list, i), *e;
		const char *uid = sim_json_string(o, "userId", NULL);
		struct ca_user *u = sim_map_get(&st->user_by_id, uid);
		struct ca_member *m = u ? sim_map_get(&st->member_by_user, uid) : NULL;
		char text[512];

		count(st->adds, uid);
		if (!u)
			snprintf(text, sizeof(text), "User with ID %s not found", uid);
		else if (m && !m->deactivated)
			snprintf(text, sizeof(text), "User %s is already a member of this organization", u->email);
		else {
			valid[i] = true;
			continue;
		}
		e = json_object_new_object();
		json_object_object_add(e, "index", json_object_new_int64((int64_t)i));
		json_object_object_add(e, "userId", json_object_new_string(uid));
		json_object_object_add(e, "error", json_object_new_string(text));
		json_object_array_add(errors, e);
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(list, i);
		const char *uid = sim_json_string(o, "userId", NULL);

		if (valid[i] && !sim_map_get(&st->member_by_user, uid))
			member_from_body(st, o);
	}
	for (size_t i = 0; i < n; i++) {
		const char *uid = sim_json_string(json_object_array_get_idx(list, i), "userId", NULL);
		struct ca_member *m = valid[i] ? sim_map_get(&st->member_by_user, uid) : NULL;
		bool seen = false;

		for (size_t k = 0; m && k < i; k++)
			seen = seen || (valid[k] && strcmp(uid, sim_json_string(json_object_array_get_idx(list, k),
										 "userId", NULL)) == 0);
		if (m && !seen)
			json_object_array_add(created, member_json(m));
	}
	free(valid);
	summary = json_object_new_object();
	json_object_object_add(summary, "total", json_object_new_int64((int64_t)n));
	json_object_object_add(summary, "successful",
			       json_object_new_int64((int64_t)json_object_array_length(created)));
	json_object_object_add(summary, "failed", json_object_new_int64((int64_t)json_object_array_length(errors)));
	obj = json_object_new_object();
	json_object_object_add(obj, "created", created);
	json_object_object_add(obj, "errors", errors);
	json_object_object_add(obj, "summary", summary);
	return sim_reply_json(reply, MHD_HTTP_CREATED, with_auth(obj));
}

/* employee and contractor are added at once; other roles get an
 * invitation to accept, unless the person is a deactivated member. */
static bool restricted_roles(json_object *roles)
{
	size_t n = json_object_array_length(roles);

	for (size_t i = 0; i < n; i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(roles, i));

		if (strcmp(r, "employee") != 0 && strcmp(r, "contractor") != 0)
			return false;
	}
	return true;
}

static char *roles_text(json_object *roles)
{
	size_t n = json_object_array_length(roles), len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(json_object_get_string(json_object_array_get_idx(roles, i))) + 1;
	s = sim_xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, json_object_get_string(json_object_array_get_idx(roles, i)));
	}
	return s;
}

static void check_invite(json_object *o, const char *prefix, json_object *msgs)
{
	static const char *const allowed[] = { "email", "roles", NULL };
	json_object *roles;
	const char *email = sim_json_string(o, "email", NULL);

	check_whitelist(o, allowed, prefix, msgs);
	if (!email || !*email)
		add_msg(msgs, prefix, "email should not be empty");
	if (!email || !email_ok(email))
		add_msg(msgs, prefix, "email must be an email");
	if (!json_object_object_get_ex(o, "roles", &roles) || !json_object_is_type(roles, json_type_array)) {
		add_msg(msgs, prefix, "roles must contain at least 1 elements");
		add_msg(msgs, prefix, "each value in roles must be a string");
		add_msg(msgs, prefix, "roles must be an array");
		return;
	}
	if (json_object_array_length(roles) < 1)
		add_msg(msgs, prefix, "roles must contain at least 1 elements");
	for (size_t i = 0; i < json_object_array_length(roles); i++) {
		if (!json_object_is_type(json_object_array_get_idx(roles, i), json_type_string)) {
			add_msg(msgs, prefix, "each value in roles must be a string");
			break;
		}
	}
}

static json_object *invite_one(struct ca_state *st, json_object *o)
{
	const char *email = sim_json_string(o, "email", NULL);
	json_object *roles, *res = json_object_new_object(), *inv;
	struct ca_user *u;
	struct ca_member *m;
	char *role;
	char *clean = clean_dup(email), *lower = lower_dup(email);

	json_object_object_get_ex(o, "roles", &roles);
	role = roles_text(roles);
	count(st->invites, lower);
	free(lower);
	json_object_object_add(res, "email", json_object_new_string(clean));
	json_object_object_add(res, "success", json_object_new_boolean(1));
	u = user_by_email(st, email);
	m = u ? sim_map_get(&st->member_by_user, u->id) : NULL;
	if (restricted_roles(roles)) {
		if (!u)
			u = user_add(st, email, NULL);
		if (m && !member_active(m))
			member_reactivate(m, role);
		else if (!m) {
			count(st->creates, u->id);
			member_add(st, u, role, NULL, NULL, 0, true);
		}
		json_object_object_add(res, "emailSent", json_object_new_boolean(1));
	} else if (m && m->deactivated) {
		member_reactivate(m, role);
	} else {
		inv = json_object_new_object();
		json_object_object_add(inv, "email", json_object_new_string(u ? u->email : clean));
		json_object_object_add(inv, "role", json_object_new_string(role));
		json_object_array_add(st->invitations, inv);
	}
	free(role);
	free(clean);
	return res;
}

static int invite(struct ca_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	static const char *const top[] = { "invites", NULL };
	bool empty;
	json_object *body = body_object(req, reply, &empty), *msgs, *list = NULL, *results, *obj;
	size_t n = 0;

	if (!body)
		return 0;
	msgs = json_object_new_array();
	check_whitelist(body, top, "", msgs);
	if (!json_object_object_get_ex(body, "invites", &list) || !json_object_is_type(list, json_type_array)) {
		add_msg(msgs, "", "invites must contain at least 1 elements");
		add_msg(msgs, "", "invites must be an array");
	} else {
		n = json_object_array_length(list);
		if (n < 1)
			add_msg(msgs, "", "invites must contain at least 1 elements");
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(list, i);
			char prefix[40];

			snprintf(prefix, sizeof(prefix), "invites.%zu.", i);
			if (!json_object_is_type(o, json_type_object))
				add_msg(msgs, "", "nested property invites must be either object or array");
			else
				check_invite(o, prefix, msgs);
		}
	}
	if (empty)
		json_object_put(body);
	if (json_object_array_length(msgs))
		return reply_nest(reply, MHD_HTTP_BAD_REQUEST, msgs, "Bad Request");
	json_object_put(msgs);

	results = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(results, invite_one(st, json_object_array_get_idx(list, i)));
	obj = json_object_new_object();
	json_object_object_add(obj, "results", results);
	return sim_reply_json(reply, MHD_HTTP_CREATED, with_auth(obj));
}

static int reactivate(struct ca_state *st, const char *id, struct sim_reply *reply)
{
	struct ca_member *m = sim_map_get(&st->member_by_id, id);

	if (!m)
		return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found",
				 "Member with ID %s not found in organization " ORG_ID, id);
	member_reactivate(m, NULL);
	count(st->reactivations, m->id);
	return sim_reply_json(reply, MHD_HTTP_OK, with_auth(member_json(m)));
}

static int get_person(struct ca_state *st, const char *id, struct sim_reply *reply)
{
	struct ca_member *m = sim_map_get(&st->member_by_id, id);

	if (!m || m->deactivated)
		return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found",
				 "Member with ID %s not found in organization " ORG_ID, id);
	return sim_reply_json(reply, MHD_HTTP_OK, with_auth(member_json(m)));
}

/* UpdatePeopleDto: every field optional (null skips its checks too),
 * otherwise as CreatePeopleDto, and the user's name and email. */
static void check_update(json_object *obj, json_object *msgs)
{
	json_object *v;

	check_whitelist(obj, update_fields, "", msgs);
	if (json_object_object_get_ex(obj, "userId", &v) && v)
		check_required_string(obj, "userId", "", msgs);
	if (json_object_object_get_ex(obj, "role", &v) && v)
		check_required_string(obj, "role", "", msgs);
	if (json_object_object_get_ex(obj, "department", &v) && v &&
	    (!json_object_is_type(v, json_type_string) || !in_list(departments, json_object_get_string(v))))
		add_msg(msgs, "", "department must be one of the following values: " DEPARTMENTS);
	if (json_object_object_get_ex(obj, "isActive", &v) && v && !json_object_is_type(v, json_type_boolean))
		add_msg(msgs, "", "isActive must be a boolean value");
	if (json_object_object_get_ex(obj, "fleetDmLabelId", &v) && v &&
	    !json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		add_msg(msgs, "", "fleetDmLabelId must be a number conforming to the specified constraints");
	if (json_object_object_get_ex(obj, "jobTitle", &v) && v && !json_object_is_type(v, json_type_string))
		add_msg(msgs, "", "jobTitle must be a string");
	if (json_object_object_get_ex(obj, "name", &v) && v && !json_object_is_type(v, json_type_string))
		add_msg(msgs, "", "name must be a string");
	if (json_object_object_get_ex(obj, "email", &v) && v &&
	    (!json_object_is_type(v, json_type_string) || !email_ok(json_object_get_string(v))))
		add_msg(msgs, "", "email must be an email");
}

static int update_person(struct ca_state *st, const struct sim_request *req, const char *id,
			 struct sim_reply *reply)
{
	bool empty;
	json_object *body = body_object(req, reply, &empty), *msgs, *v;
	struct ca_member *m, *other;
	struct ca_user *u;
	const char *s;

	if (!body)
		return 0;
	msgs = json_object_new_array();
	check_update(body, msgs);
	if (json_object_array_length(msgs)) {
		if (empty)
			json_object_put(body);
		return reply_nest(reply, MHD_HTTP_BAD_REQUEST, msgs, "Bad Request");
	}
	json_object_put(msgs);
	if (empty) {
		json_object_put(body);
		body = NULL;
	}

	/* validateMemberExists: deactivated members are not found. */
	m = sim_map_get(&st->member_by_id, id);
	if (!m || m->deactivated)
		return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found",
				 "Member with ID %s not found in organization " ORG_ID, id);
	s = body ? sim_json_string(body, "userId", NULL) : NULL;
	if (s && strcmp(s, m->user->id) != 0) {
		u = sim_map_get(&st->user_by_id, s);
		if (!u)
			return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found", "User with ID %s not found",
					 s);
		other = sim_map_get(&st->member_by_user, s);
		if (other && !other->deactivated)
			return reply_msg(reply, MHD_HTTP_BAD_REQUEST, "Bad Request",
					 "User %s is already a member of this organization", u->email);
		if (other)
			/* The (userId, organizationId) unique index, uncaught. */
			return reply_msg(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
					 "Failed to update member");
	}
	s = body ? sim_json_string(body, "email", NULL) : NULL;
	if (s) {
		u = user_by_email(st, s);
		/* The user table's unique email (the server's 409). */
		if (u && u != m->user)
			return reply_msg(reply, MHD_HTTP_CONFLICT, "Conflict", "Email already in use");
	}
	/* department is a required enum column: null reaches the database
	 * and fails there, as on the server. */
	if (body && json_object_object_get_ex(body, "department", &v) && !v)
		return reply_msg(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error",
				 "Failed to update member");

	if (body && (s = sim_json_string(body, "userId", NULL)) && strcmp(s, m->user->id) != 0) {
		sim_map_del(&st->member_by_user, m->user->id);
		m->user = sim_map_get(&st->user_by_id, s);
		sim_map_put(&st->member_by_user, m->user->id, m);
	}
	if (body && (s = sim_json_string(body, "role", NULL))) {
		free(m->role);
		m->role = clean_dup(s);
	}
	if (body && (s = sim_json_string(body, "department", NULL))) {
		free(m->department);
		m->department = sim_xstrdup(s);
	}
	if (body && json_object_object_get_ex(body, "isActive", &v) && v)
		m->is_active = json_object_get_boolean(v);
	if (body && json_object_object_get_ex(body, "fleetDmLabelId", &v))
		m->fleet = v ? json_object_get_int64(v) : 0;
	if (body && json_object_object_get_ex(body, "jobTitle", &v)) {
		free(m->job_title);
		m->job_title = v ? clean_dup(json_object_get_string(v)) : NULL;
	}
	if (body && (s = sim_json_string(body, "name", NULL))) {
		free(m->user->name);
		m->user->name = clean_dup(s);
	}
	if (body && (s = sim_json_string(body, "email", NULL)) && user_by_email(st, s) != m->user) {
		sim_map_del(&st->user_by_email, m->user->email);
		free(m->user->email);
		m->user->email = lower_dup(s);
		sim_map_put(&st->user_by_email, m->user->email, m->user);
	}
	m->updates++;
	return sim_reply_json(reply, MHD_HTTP_OK, with_auth(member_json(m)));
}

/* The current server's DELETE: offboarding, not removal. The member is
 * deactivated (deactivated and isActive false) and kept; the owner cannot
 * go. A deactivated member is found and deactivated again. */
static int delete_person(struct ca_state *st, const char *id, struct sim_reply *reply)
{
	struct ca_member *m = sim_map_get(&st->member_by_id, id);
	json_object *obj, *dm;

	if (!m)
		return reply_msg(reply, MHD_HTTP_NOT_FOUND, "Not Found",
				 "Member with ID %s not found in organization " ORG_ID, id);
	if (strstr(m->role, "owner"))
		return reply_msg(reply, MHD_HTTP_FORBIDDEN, "Forbidden",
				 "Cannot remove the organization owner");
	m->deactivated = true;
	m->is_active = false;
	m->deactivations++;
	obj = json_object_new_object();
	dm = json_object_new_object();
	json_object_object_add(dm, "id", json_object_new_string(m->id));
	json_object_object_add(dm, "name", json_object_new_string(m->user->name));
	json_object_object_add(dm, "email", json_object_new_string(m->user->email));
	json_object_object_add(obj, "success", json_object_new_boolean(1));
	json_object_object_add(obj, "deletedMember", dm);
	return sim_reply_json(reply, MHD_HTTP_OK, with_auth(obj));
}

/* ------------------------------------------------------------------ */
/* routing */

/* "{id}" of PREFIX PEOPLE "/{id}" + suffix, copied, or NULL. */
static char *people_id(const char *path, const char *suffix)
{
	const char *base = ROUTE_PEOPLE "/";
	size_t blen = strlen(base), slen = strlen(suffix), len;

	if (strncmp(path, base, blen) != 0)
		return NULL;
	path += blen;
	len = strlen(path);
	if (len <= slen || strcmp(path + len - slen, suffix) != 0)
		return NULL;
	len -= slen;
	if (memchr(path, '/', len))
		return NULL;
	return sim_xstrndup(path, len);
}

static const char *ca_route(const struct sim_request *req)
{
	const char *p = req->path;
	char *id;

	if (strcmp(p, ROUTE_PEOPLE) == 0)
		return ROUTE_PEOPLE;
	if (strcmp(p, ROUTE_BULK) == 0)
		return ROUTE_BULK;
	if (strcmp(p, ROUTE_INVITE) == 0)
		return ROUTE_INVITE;
	if ((id = people_id(p, "/reactivate"))) {
		free(id);
		return ROUTE_REACTIVATE;
	}
	if ((id = people_id(p, ""))) {
		free(id);
		return ROUTE_ITEM;
	}
	return NULL;
}

static const char *ca_log_key(const struct sim *sim, const struct sim_request *req, size_t *len)
{
	json_object *invites;
	const char *base = ROUTE_PEOPLE "/", *id;

	if (strcmp(req->path, ROUTE_PEOPLE) == 0)
		return sim_json_string(req->json, "userId", len);
	if (strcmp(req->path, ROUTE_INVITE) == 0 && json_object_is_type(req->json, json_type_object) &&
	    json_object_object_get_ex(req->json, "invites", &invites) &&
	    json_object_is_type(invites, json_type_array) && json_object_array_length(invites) > 0)
		return sim_json_string(json_object_array_get_idx(invites, 0), "email", len);
	/* A member's own URL: its id. */
	if (strncmp(req->path, base, strlen(base)) == 0 && strcmp(req->path, ROUTE_BULK) != 0 &&
	    strcmp(req->path, ROUTE_INVITE) != 0) {
		id = req->path + strlen(base);
		*len = strcspn(id, "/");
		return *len ? id : NULL;
	}
	return NULL;
}

static int ca_handle(struct sim *sim, void *state, const struct sim_request *req,
		     struct sim_reply *reply)
{
	struct ca_state *st = state;
	const char *route = ca_route(req);
	const char *key = sim_request_header(req, "X-API-Key");
	const char *want = sim_secret(sim, "compai.key", NULL);
	const char *m = req->method;
	char *id = NULL;
	int r;

	if (!route)
		return reply_no_route(req, reply);
	if (!key || !*key)
		return reply_msg(reply, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
				 "Authentication required: provide an API key or a session");
	if (!want || strcmp(key, want) != 0)
		return reply_msg(reply, MHD_HTTP_UNAUTHORIZED, "Unauthorized", "Invalid or expired API key");

	if (strcmp(route, ROUTE_PEOPLE) == 0) {
		if (strcmp(m, "GET") == 0)
			return list_people(st, req, reply);
		if (strcmp(m, "POST") == 0)
			return create_person(st, req, reply);
	} else if (strcmp(route, ROUTE_BULK) == 0) {
		if (strcmp(m, "POST") == 0)
			return bulk_create(st, req, reply);
	} else if (strcmp(route, ROUTE_INVITE) == 0) {
		if (strcmp(m, "POST") == 0)
			return invite(st, req, reply);
	} else if (strcmp(route, ROUTE_REACTIVATE) == 0) {
		if (strcmp(m, "PATCH") == 0) {
			id = people_id(req->path, "/reactivate");
			r = reactivate(st, id, reply);
			free(id);
			return r;
		}
	} else if (strcmp(m, "GET") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0) {
		id = people_id(req->path, "");
		if (strcmp(m, "GET") == 0)
			r = get_person(st, id, reply);
		else if (strcmp(m, "PATCH") == 0)
			r = update_person(st, req, id, reply);
		else
			r = delete_person(st, id, reply);
		free(id);
		return r;
	}
	return reply_no_route(req, reply);
}

static int ca_throttle(struct sim *sim, void *state, const struct sim_request *req,
		       unsigned int retry_after_s, struct sim_reply *reply)
{
	json_object *obj = json_object_new_object();
	char secs[16];

	json_object_object_add(obj, "statusCode", json_object_new_int(429));
	json_object_object_add(obj, "message",
			       json_object_new_string("ThrottlerException: Too Many Requests"));
	sim_reply_json(reply, MHD_HTTP_TOO_MANY_REQUESTS, obj);
	snprintf(secs, sizeof(secs), "%u", retry_after_s);
	sim_reply_header(reply, "Retry-After", secs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* test levers */

static int ctl_add_user(struct ca_state *st, json_object *body, struct sim_reply *reply)
{
	json_object *users, *obj = json_object_new_object();

	if (json_object_object_get_ex(body, "users", &users) && json_object_is_type(users, json_type_array)) {
		json_object *ids = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(users); i++) {
			json_object *u = json_object_array_get_idx(users, i);
			const char *email = sim_json_string(u, "email", NULL);
			struct ca_user *cu;

			if (!email || !email_ok(email)) {
				json_object_put(ids);
				json_object_put(obj);
				return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
						       "every user needs a valid email");
			}
			cu = user_by_email(st, email);
			if (!cu)
				cu = user_add(st, email, sim_json_string(u, "name", NULL));
			json_object_array_add(ids, json_object_new_string(cu->id));
		}
		json_object_object_add(obj, "ids", ids);
		return sim_reply_json(reply, MHD_HTTP_CREATED, obj);
	}
	const char *email = sim_json_string(body, "email", NULL);
	struct ca_user *u;

	if (!email || !email_ok(email)) {
		json_object_put(obj);
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "email must be a valid email");
	}
	u = user_by_email(st, email);
	if (!u)
		u = user_add(st, email, sim_json_string(body, "name", NULL));
	json_object_object_add(obj, "id", json_object_new_string(u->id));
	return sim_reply_json(reply, MHD_HTTP_CREATED, obj);
}

static int ctl_add_member(struct ca_state *st, json_object *body, struct sim_reply *reply)
{
	const char *email = sim_json_string(body, "email", NULL);
	const char *role = sim_json_string(body, "role", NULL);
	const char *dept = sim_json_string(body, "department", NULL);
	struct ca_user *u;
	struct ca_member *m;
	json_object *obj;

	if (!email || !email_ok(email))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "email must be a valid email");
	if (dept && !in_list(departments, dept))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "unknown department");
	u = user_by_email(st, email);
	if (!u)
		u = user_add(st, email, sim_json_string(body, "name", NULL));
	m = sim_map_get(&st->member_by_user, u->id);
	if (!m)
		m = member_add(st, u, role ? role : "employee", dept, NULL, 0, true);
	obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(m->id));
	json_object_object_add(obj, "userId", json_object_new_string(u->id));
	return sim_reply_json(reply, MHD_HTTP_CREATED, obj);
}

static int ctl_member(struct ca_state *st, const char *action, json_object *body, struct sim_reply *reply)
{
	const char *email = sim_json_string(body, "email", NULL);
	struct ca_user *u = email ? user_by_email(st, email) : NULL;
	struct ca_member *m = u ? sim_map_get(&st->member_by_user, u->id) : NULL;
	json_object *obj;

	if (!m)
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no member with that email");
	if (strcmp(action, "deactivate") == 0) {
		m->deactivated = true;
		m->is_active = false;
	} else {
		m->hidden = true;
	}
	obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(m->id));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

static int ca_control(struct sim *sim, void *state, const char *action,
		      const struct sim_request *req, struct sim_reply *reply)
{
	struct ca_state *st = state;
	bool known = strcmp(action, "add-user") == 0 || strcmp(action, "add-member") == 0 ||
		     strcmp(action, "deactivate") == 0 || strcmp(action, "hide") == 0;

	if (!known)
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such action");
	if (strcmp(req->method, "POST") != 0) {
		sim_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, "POST");
		return 0;
	}
	if (!json_object_is_type(req->json, json_type_object))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "body must be a JSON object");
	if (strcmp(action, "add-user") == 0)
		return ctl_add_user(st, req->json, reply);
	if (strcmp(action, "add-member") == 0)
		return ctl_add_member(st, req->json, reply);
	return ctl_member(st, action, req->json, reply);
}

/* ------------------------------------------------------------------ */
/* state */

static void ca_reset(void *state)
{
	struct ca_state *st = state;

	for (size_t i = 0; i < st->n_members; i++) {
		struct ca_member *m = st->members[i];

		free(m->id);
		free(m->role);
		free(m->department);
		free(m->job_title);
		free(m);
	}
	for (size_t i = 0; i < st->n_users; i++) {
		free(st->users[i]->id);
		free(st->users[i]->email);
		free(st->users[i]->name);
		free(st->users[i]);
	}
	free(st->members);
	free(st->users);
	st->members = NULL;
	st->users = NULL;
	st->n_members = st->cap_members = st->n_users = st->cap_users = 0;
	sim_map_clear(&st->user_by_email);
	sim_map_clear(&st->user_by_id);
	sim_map_clear(&st->member_by_user);
	sim_map_clear(&st->member_by_id);
	json_object_put(st->invitations);
	json_object_put(st->adds);
	json_object_put(st->creates);
	json_object_put(st->invites);
	json_object_put(st->reactivations);
	st->invitations = json_object_new_array();
	st->adds = json_object_new_object();
	st->creates = json_object_new_object();
	st->invites = json_object_new_object();
	st->reactivations = json_object_new_object();
	st->next_id = 0;
}

static void *ca_state_new(const struct sim *sim)
{
	struct ca_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->user_by_email);
	sim_map_init(&st->user_by_id);
	sim_map_init(&st->member_by_user);
	sim_map_init(&st->member_by_id);
	ca_reset(st);
	return st;
}

static void ca_state_free(void *state)
{
	struct ca_state *st = state;

	if (!st)
		return;
	ca_reset(st);
	json_object_put(st->invitations);
	json_object_put(st->adds);
	json_object_put(st->creates);
	json_object_put(st->invites);
	json_object_put(st->reactivations);
	free(st);
}

static json_object *ca_dump(void *state)
{
	struct ca_state *st = state;
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array(), *members = json_object_new_array();

	for (size_t i = 0; i < st->n_users; i++) {
		json_object *u = json_object_new_object();

		json_object_object_add(u, "id", json_object_new_string(st->users[i]->id));
		json_object_object_add(u, "email", json_object_new_string(st->users[i]->email));
		json_object_object_add(u, "name", json_object_new_string(st->users[i]->name));
		json_object_array_add(users, u);
	}
	for (size_t i = 0; i < st->n_members; i++) {
		json_object *m = member_json(st->members[i]);

		/* Flat, for jq. */
		json_object_object_add(m, "email", json_object_new_string(st->members[i]->user->email));
		json_object_object_del(m, "user");
		json_object_object_add(m, "hidden", json_object_new_boolean(st->members[i]->hidden));
		json_object_object_add(m, "updates", json_object_new_int64(st->members[i]->updates));
		json_object_object_add(m, "deactivations",
				       json_object_new_int64(st->members[i]->deactivations));
		json_object_array_add(members, m);
	}
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "members", members);
	json_object_object_add(obj, "invitations", json_object_get(st->invitations));
	json_object_object_add(obj, "adds", json_object_get(st->adds));
	json_object_object_add(obj, "creates", json_object_get(st->creates));
	json_object_object_add(obj, "invites", json_object_get(st->invites));
	json_object_object_add(obj, "reactivations", json_object_get(st->reactivations));
	return obj;
}

const struct sim_api sim_api_compai = {
	.name = "compai",
	.path_prefix = PREFIX,
	.state_new = ca_state_new,
	.state_free = ca_state_free,
	.reset = ca_reset,
	.handle = ca_handle,
	.dump = ca_dump,
	.route = ca_route,
	.log_key = ca_log_key,
	.throttle = ca_throttle,
	.control = ca_control,
};
