/*
 * Rainbond console OpenAPI users endpoints (/openapi/v1/users), behaving
 * like the real Django REST framework server, warts included: the raw-key
 * auth header, the "origion" spelling, the empty 201, three different
 * shapes of "duplicate" and the HTML 500 on a duplicate phone.
 *
 * Served (Authorization: <raw key> on all of them, else 401):
 *   GET    /openapi/v1/users?query=&page=&page_size=
 *          {"users":[user...],"total":N}; query is a substring of
 *          nick_name or email; page_size defaults to 10.
 *   POST   /openapi/v1/users          create: 201 with an empty body.
 *   GET    /openapi/v1/users/{id}     the user; a non-numeric or unknown
 *          id falls back to the nick_name, as the console does; 404 with
 *          an empty body.
 *   PUT    /openapi/v1/users/{id}     UpdateUserSerializer: password,
 *          enterprise_id, email, phone, is_active (null allowed) are
 *          validated; email, phone, is_active and password are applied;
 *          anything else (nick_name, origion) is ignored. 200 with an
 *          empty body. The console updates with a filter, so an unknown
 *          id is a 200 that changes nothing, unless a password is sent
 *          (then it fetches the user: 404 with an empty body).
 *   DELETE /openapi/v1/users/{id}     200 or 404, both with empty bodies.
 * (openapi/views/user_view.py and console/services/user_services.py of
 * goodrain/rainbond-console.) Whether the console refuses an update to
 * an email or phone another user has is not known: the create's answers
 * are given.
 *
 * The dump: {"users":[user + "password"] (deleted users gone), "by_nick":
 * {nick_name: {"creates", "rejected_creates", "updates", "deletes"}}}:
 * the 201s for the nick_name, the 409s a POST of it got, the PUTs that
 * reached its user (200 for an unknown id is not one), the DELETEs that
 * removed it; kept across a delete and a new create.
 */
#include "sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PREFIX "/openapi/v1/users"
#define ROUTE_LIST PREFIX
#define ROUTE_ITEM PREFIX "/{id}"
#define PAGE_SIZE_DEFAULT 10
#define PAGE_SIZE_MAX 1000

enum rb_field {
	RB_NICK_NAME,
	RB_PASSWORD,
	RB_ENTERPRISE_ID,
	RB_EMAIL,
	RB_PHONE,
	RB_IS_ACTIVE,
	RB_ORIGION,
	RB_NFIELDS,
};

struct rb_rule {
	const char *name;
	bool is_bool;
	bool required;		/* on create; nothing is required on update */
	bool updatable;		/* in UpdateUserSerializer: validated on update */
	size_t min_len;		/* code points, 0 = no minimum */
	size_t max_len;
	bool (*check)(const char *s, size_t len);
	const char *check_msg;
};

static bool nick_ok(const char *s, size_t len);
static bool email_ok(const char *s, size_t len);

/* Declaration order of the server's serializer: DRF reports errors in it. */
static const struct rb_rule rules[RB_NFIELDS] = {
	[RB_NICK_NAME] = { "nick_name", false, true, false, 0, 24, nick_ok,
			   "This value does not match the required pattern." },
	[RB_PASSWORD] = { "password", false, true, true, 8, 16, NULL, NULL },
	[RB_ENTERPRISE_ID] = { "enterprise_id", false, true, true, 0, 32, NULL, NULL },
	[RB_EMAIL] = { "email", false, true, true, 0, 35, email_ok,
		       "Enter a valid email address." },
	[RB_PHONE] = { "phone", false, false, true, 0, 11, NULL, NULL },
	[RB_IS_ACTIVE] = { "is_active", true, false, true, 0, 0, NULL, NULL },
	[RB_ORIGION] = { "origion", false, false, false, 0, 12, NULL, NULL },
};

struct rb_input {
	bool present[RB_NFIELDS];
	char *str[RB_NFIELDS];	/* whitespace-trimmed, as DRF hands it on */
	bool is_active;
};

struct rb_user {
	long long id;
	char *nick_name;
	char *password;
	char *enterprise_id;
	char *email;
	char *phone;		/* NULL if never given */
	char *origion;		/* NULL if never given */
	bool is_active;
	time_t create_time;
};

/* What happened to a nick_name, kept when its user is deleted. */
struct rb_nick_stats {
	char *nick_name;
	unsigned long long creates;
	unsigned long long rejected_creates;	/* POSTs answered 409 */
	unsigned long long updates;		/* PUTs that reached its user */
	unsigned long long deletes;
};

struct rb_state {
	struct rb_user **users;	/* users[id - 1]; NULL once deleted */
	size_t len;
	size_t cap;
	struct sim_map by_nick;
	struct sim_map by_email;
	struct sim_map by_phone;
	struct rb_nick_stats *stats;	/* in order of first sight */
	size_t n_stats;
	size_t cap_stats;
	struct sim_map stats_by_nick;	/* nick_name -> 1-based index into stats */
};

/* ------------------------------------------------------------------ */
/* validation helpers */

/* Python's str.isspace(), which is what DRF's trim_whitespace uses. */
static bool py_isspace(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
	       c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

/* s must be valid UTF-8. */
static void trim(const char *s, size_t len, size_t *start, size_t *end)
{
	size_t pos = 0, first = len, last = 0;
	uint32_t cp;

	while (pos < len) {
		size_t at = pos;

		if (sim_utf8_next(s, len, &pos, &cp) < 0)
			break;
		if (!py_isspace(cp)) {
			if (first == len)
				first = at;
			last = pos;
		}
	}
	if (first == len) {
		*start = *end = 0;
		return;
	}
	*start = first;
	*end = last;
}

static bool nick_ok(const char *s, size_t len)
{
	size_t pos = 0;
	uint32_t cp;

	if (!len)
		return false;
	while (pos < len) {
		if (sim_utf8_next(s, len, &pos, &cp) < 0)
			return false;
		if (!((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		      (cp >= '0' && cp <= '9') || cp == '_' || cp == '-' ||
		      (cp >= 0x4e00 && cp <= 0x9fa5)))
			return false;
	}
	return true;
}

static bool email_ok(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t pos = 0;
	uint32_t cp;
	const char *dom;
	size_t dlen;

	if (!at || at == s || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
		return false;
	while (pos < len) {
		if (sim_utf8_next(s, len, &pos, &cp) < 0)
			return false;
		if (cp < 0x20 || cp == 0x7f || py_isspace(cp))
			return false;
	}
	dom = at + 1;
	dlen = len - (size_t)(dom - s);
	if (dlen < 3 || !memchr(dom, '.', dlen) || dom[0] == '.' || dom[dlen - 1] == '.')
		return false;
	for (size_t i = 1; i < dlen; i++) {
		if (dom[i] == '.' && dom[i - 1] == '.')
			return false;
	}
	return true;
}

static void add_err(json_object *err, const char *field, const char *msg)
{
	json_object *arr;

	if (!json_object_object_get_ex(err, field, &arr)) {
		arr = json_object_new_array();
		json_object_object_add(err, field, arr);
	}
	json_object_array_add(arr, json_object_new_string(msg));
}

/* One field, the way DRF's CharField / BooleanField run_validation goes:
 * required, null, blank, type, then every validator (all errors kept). */
static void check_field(json_object *body, enum rb_field f, bool update,
			struct rb_input *in, json_object *err)
{
	const struct rb_rule *r = &rules[f];
	json_object *v;
	const char *s;
	size_t len, start, end, n;
	char msg[96];
	bool ok = true;

	if (!json_object_object_get_ex(body, r->name, &v)) {
		if (r->required && !update)
			add_err(err, r->name, "This field is required.");
		return;
	}
	if (!v) {
		/* is_active is a NullBooleanField on update: null leaves it. */
		if (!(update && r->is_bool))
			add_err(err, r->name, "This field may not be null.");
		return;
	}
	if (r->is_bool) {
		if (!json_object_is_type(v, json_type_boolean)) {
			add_err(err, r->name, "Must be a valid boolean.");
			return;
		}
		in->present[f] = true;
		in->is_active = json_object_get_boolean(v);
		return;
	}
	if (!json_object_is_type(v, json_type_string)) {
		add_err(err, r->name, "Not a valid string.");
		return;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* Python would have failed decoding the body; here it is the field
	 * that cannot be a string. */
	if (sim_utf8_count(s, len, &n) < 0) {
		add_err(err, r->name, "Not a valid string.");
		return;
	}
	trim(s, len, &start, &end);
	if (start == end) {
		add_err(err, r->name, "This field may not be blank.");
		return;
	}
	s += start;
	len = end - start;
	sim_utf8_count(s, len, &n);
	if (r->max_len && n > r->max_len) {
		snprintf(msg, sizeof(msg),
			 "Ensure this field has no more than %zu characters.", r->max_len);
		add_err(err, r->name, msg);
		ok = false;
	}
	if (r->min_len && n < r->min_len) {
		snprintf(msg, sizeof(msg),
			 "Ensure this field has at least %zu characters.", r->min_len);
		add_err(err, r->name, msg);
		ok = false;
	}
	if (memchr(s, '\0', len)) {
		add_err(err, r->name, "Null characters are not allowed.");
		ok = false;
	}
	if (r->check && !r->check(s, len)) {
		add_err(err, r->name, r->check_msg);
		ok = false;
	}
	if (ok) {
		in->present[f] = true;
		in->str[f] = sim_xstrndup(s, len);
	}
}

static void input_free(struct rb_input *in)
{
	for (int f = 0; f < RB_NFIELDS; f++)
		free(in->str[f]);
}

/* ------------------------------------------------------------------ */
/* replies in the server's own shapes */

static int reply_code_msg(struct sim_reply *reply, unsigned int status,
			  const char *msg, const char *msg_show)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "code", json_object_new_int((int)status));
	json_object_object_add(obj, "msg", json_object_new_string(msg));
	if (msg_show)
		json_object_object_add(obj, "msg_show", json_object_new_string(msg_show));
	return sim_reply_json(reply, status, obj);
}

/* Takes ownership of err. */
static int reply_invalid(struct sim_reply *reply, json_object *err)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "detail", json_object_new_string("参数错误"));
	json_object_object_add(obj, "err", err);
	json_object_object_add(obj, "code", json_object_new_int(20400));
	return sim_reply_json(reply, MHD_HTTP_BAD_REQUEST, obj);
}

static int reply_not_object(struct sim_reply *reply)
{
	json_object *err = json_object_new_object();

	add_err(err, "non_field_errors", "Invalid data.");
	return reply_invalid(reply, err);
}

/* Response(None, 404): no body at all. */
static int reply_user_not_found(struct sim_reply *reply)
{
	return sim_reply_empty(reply, MHD_HTTP_NOT_FOUND);
}

static int reply_detail(struct sim_reply *reply, unsigned int status,
			const char *what, const char *value, const char *tail)
{
	json_object *obj = json_object_new_object();
	char *clean = sim_utf8_sanitize(value, strlen(value), NULL);
	size_t n = strlen(what) + strlen(clean) + strlen(tail) + 8;
	char *detail = sim_xmalloc(n);

	snprintf(detail, n, "%s \"%s\" %s", what, clean, tail);
	json_object_object_add(obj, "detail", json_object_new_string(detail));
	free(detail);
	free(clean);
	return sim_reply_json(reply, status, obj);
}

static int method_not_allowed(const struct sim_request *req,
			      struct sim_reply *reply, const char *allow)
{
	reply_detail(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "Method", req->method, "not allowed.");
	sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, allow);
	return 0;
}

/* DRF only parses JSON it was told is JSON; anything else is a 415 before
 * validation even starts. Returns true when the request was answered. */
static bool refuse_media_type(const struct sim_request *req, struct sim_reply *reply)
{
	const char *ct = sim_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	if (!req->body_len)
		return false;
	if (ct) {
		while (*ct == ' ' || *ct == '\t')
			ct++;
		if (strncasecmp(ct, "application/json", n) == 0 &&
		    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t'))
			return false;
	}
	reply_detail(reply, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
		     ct ? ct : "", "in request.");
	return true;
}

/* ------------------------------------------------------------------ */
/* users */

static void format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

static json_object *opt_string(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *user_json(const struct rb_user *u, bool with_password)
{
	json_object *obj = json_object_new_object();
	char when[32];

	format_time(u->create_time, when, sizeof(when));
	json_object_object_add(obj, "user_id", json_object_new_int64(u->id));
	json_object_object_add(obj, "nick_name", json_object_new_string(u->nick_name));
	json_object_object_add(obj, "email", json_object_new_string(u->email));
	json_object_object_add(obj, "phone", opt_string(u->phone));
	json_object_object_add(obj, "is_active", json_object_new_boolean(u->is_active));
	json_object_object_add(obj, "enterprise_id", json_object_new_string(u->enterprise_id));
	json_object_object_add(obj, "origion", opt_string(u->origion));
	json_object_object_add(obj, "create_time", json_object_new_string(when));
	if (with_password)
		json_object_object_add(obj, "password", json_object_new_string(u->password));
	return obj;
}

static void user_free(struct rb_user *u)
{
	if (!u)
		return;
	free(u->nick_name);
	free(u->password);
	free(u->enterprise_id);
	free(u->email);
	free(u->phone);
	free(u->origion);
	free(u);
}

/* Numeric ids only; anything else simply matches no user. */
static struct rb_user *user_by_id(const struct rb_state *st, const char *s)
{
	unsigned long long id = 0;

	if (!*s)
		return NULL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return NULL;
		if (id > (st->len + 1) * 10ull)
			return NULL;	/* beyond any id handed out; avoids overflow */
		id = id * 10 + (unsigned long long)(*s - '0');
	}
	if (id == 0 || id > st->len)
		return NULL;
	return st->users[id - 1];
}

static struct rb_nick_stats *nick_stats(struct rb_state *st, const char *nick)
{
	uintptr_t idx = (uintptr_t)sim_map_get(&st->stats_by_nick, nick);

	if (idx)
		return &st->stats[idx - 1];
	if (st->n_stats == st->cap_stats) {
		st->cap_stats = st->cap_stats ? st->cap_stats * 2 : 64;
		st->stats = sim_xrealloc(st->stats, st->cap_stats * sizeof(*st->stats));
	}
	st->stats[st->n_stats] = (struct rb_nick_stats){ .nick_name = sim_xstrdup(nick) };
	sim_map_put(&st->stats_by_nick, nick, (void *)(uintptr_t)(st->n_stats + 1));
	return &st->stats[st->n_stats++];
}

/* Which existing user, other than self, already holds one of the unique
 * values; answers the way the server does and returns true if so. */
static bool refuse_duplicate(struct rb_state *st, const struct rb_input *in,
			     const struct rb_user *self, struct sim_reply *reply)
{
	struct rb_user *o;

	if (in->present[RB_NICK_NAME]) {
		o = sim_map_get(&st->by_nick, in->str[RB_NICK_NAME]);
		if (o && o != self) {
			reply_code_msg(reply, MHD_HTTP_CONFLICT, "username already exists",
				       "用户名已存在");
			return true;
		}
	}
	if (in->present[RB_EMAIL]) {
		o = sim_map_get(&st->by_email, in->str[RB_EMAIL]);
		if (o && o != self) {
			reply_code_msg(reply, MHD_HTTP_BAD_REQUEST, "email already exists",
				       "邮箱已存在");
			return true;
		}
	}
	if (in->present[RB_PHONE]) {
		o = sim_map_get(&st->by_phone, in->str[RB_PHONE]);
		if (o && o != self) {
			/* The real server has no check and trips over the
			 * database's unique index: Django's bare 500 page. */
			static const char page[] = "<h1>Server Error (500)</h1>";

			sim_reply_text(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/html",
				       page, sizeof(page) - 1);
			return true;
		}
	}
	return false;
}

/* Moves the value into *slot, keeping the index in step. */
static void set_indexed(struct sim_map *map, struct rb_user *u, char **slot, char **value)
{
	if (*slot)
		sim_map_del(map, *slot);
	free(*slot);
	*slot = *value;
	*value = NULL;
	sim_map_put(map, *slot, u);
}

static void take(char **slot, char **value)
{
	free(*slot);
	*slot = *value;
	*value = NULL;
}

/* Validates the body into *in; answers and returns true when it is bad. */
static bool refuse_body(const struct sim_request *req, bool update,
			struct rb_input *in, struct sim_reply *reply)
{
	json_object *err;

	if (refuse_media_type(req, reply))
		return true;
	if (!json_object_is_type(req->json, json_type_object)) {
		reply_not_object(reply);
		return true;
	}
	err = json_object_new_object();
	for (int f = 0; f < RB_NFIELDS; f++) {
		if (!update || rules[f].updatable)
			check_field(req->json, (enum rb_field)f, update, in, err);
	}
	if (json_object_object_length(err)) {
		reply_invalid(reply, err);
		return true;
	}
	json_object_put(err);
	return false;
}

static int create_user(struct rb_state *st, const struct sim_request *req,
		       struct sim_reply *reply)
{
	struct rb_input in = { 0 };
	struct rb_user *u;

	if (refuse_body(req, false, &in, reply))
		goto out;
	if (refuse_duplicate(st, &in, NULL, reply)) {
		if (reply->status == MHD_HTTP_CONFLICT)
			nick_stats(st, in.str[RB_NICK_NAME])->rejected_creates++;
		goto out;
	}

	u = sim_xcalloc(1, sizeof(*u));
	u->id = (long long)st->len + 1;
	u->create_time = time(NULL);
	u->is_active = in.present[RB_IS_ACTIVE] ? in.is_active : true;
	set_indexed(&st->by_nick, u, &u->nick_name, &in.str[RB_NICK_NAME]);
	set_indexed(&st->by_email, u, &u->email, &in.str[RB_EMAIL]);
	if (in.present[RB_PHONE])
		set_indexed(&st->by_phone, u, &u->phone, &in.str[RB_PHONE]);
	take(&u->password, &in.str[RB_PASSWORD]);
	take(&u->enterprise_id, &in.str[RB_ENTERPRISE_ID]);
	take(&u->origion, &in.str[RB_ORIGION]);
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->users = sim_xrealloc(st->users, st->cap * sizeof(*st->users));
	}
	st->users[st->len++] = u;
	nick_stats(st, u->nick_name)->creates++;
	sim_reply_empty(reply, MHD_HTTP_CREATED);
out:
	input_free(&in);
	return 0;
}

static int update_user(struct rb_state *st, const struct sim_request *req,
		       const char *id, struct sim_reply *reply)
{
	struct rb_input in = { 0 };
	struct rb_user *u;

	/* The server validates before it looks the user up. */
	if (refuse_body(req, true, &in, reply))
		goto out;
	u = user_by_id(st, id);
	if (!u) {
		/* Users.objects.filter(user_id=id).update(...) changes no
		 * row and says nothing; only setting a password fetches the
		 * user, and that raises DoesNotExist. */
		if (in.present[RB_PASSWORD])
			reply_user_not_found(reply);
		else
			sim_reply_empty(reply, MHD_HTTP_OK);
		goto out;
	}
	if (refuse_duplicate(st, &in, u, reply))
		goto out;
	if (in.present[RB_EMAIL])
		set_indexed(&st->by_email, u, &u->email, &in.str[RB_EMAIL]);
	if (in.present[RB_PHONE])
		set_indexed(&st->by_phone, u, &u->phone, &in.str[RB_PHONE]);
	if (in.present[RB_PASSWORD])
		take(&u->password, &in.str[RB_PASSWORD]);
	if (in.present[RB_IS_ACTIVE])
		u->is_active = in.is_active;
	nick_stats(st, u->nick_name)->updates++;
	/* Response(None, status.HTTP_200_OK). */
	sim_reply_empty(reply, MHD_HTTP_OK);
out:
	input_free(&in);
	return 0;
}

static int delete_user(struct rb_state *st, const char *id, struct sim_reply *reply)
{
	struct rb_user *u = user_by_id(st, id);

	if (!u)
		return reply_user_not_found(reply);
	sim_map_del(&st->by_nick, u->nick_name);
	sim_map_del(&st->by_email, u->email);
	if (u->phone)
		sim_map_del(&st->by_phone, u->phone);
	st->users[u->id - 1] = NULL;
	nick_stats(st, u->nick_name)->deletes++;
	user_free(u);
	/* Response(): 200 and no body. */
	return sim_reply_empty(reply, MHD_HTTP_OK);
}

static int get_user(struct rb_state *st, const char *id, struct sim_reply *reply)
{
	struct rb_user *u = user_by_id(st, id);

	/* Like the server, fall back to the name when the id is not one. */
	if (!u)
		u = sim_map_get(&st->by_nick, id);
	if (!u)
		return reply_user_not_found(reply);
	return sim_reply_json(reply, MHD_HTTP_OK, user_json(u, false));
}

/* Python's int(): surrounding whitespace and a sign are fine, anything
 * else means "use the default". */
static long long query_int(const struct sim_request *req, const char *name, long long def)
{
	const char *s = sim_request_query(req, name);
	char *end;
	long long n;

	if (!s)
		return def;
	/* Python has no overflow; saturating keeps "huge" meaning huge. */
	n = strtoll(s, &end, 10);
	if (end == s)
		return def;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? def : n;
}

static bool user_matches(const struct rb_user *u, const char *q)
{
	return !*q || strstr(u->nick_name, q) || strstr(u->email, q);
}

static int list_users(struct rb_state *st, const struct sim_request *req,
		      struct sim_reply *reply)
{
	const char *q = sim_request_query(req, "query");
	long long page = query_int(req, "page", 1);
	long long size = query_int(req, "page_size", PAGE_SIZE_DEFAULT);
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array();
	unsigned long long first, total = 0;

	if (!q)
		q = "";
	if (page < 1)
		page = 1;
	if (size < 1)
		size = PAGE_SIZE_DEFAULT;
	if (size > PAGE_SIZE_MAX)
		size = PAGE_SIZE_MAX;
	/* No overflow: page is capped far below where it could matter. */
	if (page > (long long)(UINT32_MAX))
		page = UINT32_MAX;
	first = (unsigned long long)(page - 1) * (unsigned long long)size;

	for (size_t i = 0; i < st->len; i++) {
		const struct rb_user *u = st->users[i];

		if (!u || !user_matches(u, q))
			continue;
		if (total >= first && total < first + (unsigned long long)size)
			json_object_array_add(users, user_json(u, false));
		total++;
	}
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "total", json_object_new_uint64(total));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

/* ------------------------------------------------------------------ */
/* the sim_api hooks */

static const char *rb_route(const struct sim_request *req)
{
	if (strcmp(req->path, PREFIX) == 0)
		return ROUTE_LIST;
	return sim_item_id(req->path, PREFIX) ? ROUTE_ITEM : NULL;
}

static const char *rb_log_key(const struct sim *sim, const struct sim_request *req,
			      size_t *len)
{
	return sim_json_string(req->json, "nick_name", len);
}

static int rb_handle(struct sim *sim, void *state, const struct sim_request *req,
		     struct sim_reply *reply)
{
	struct rb_state *st = state;
	const char *auth = sim_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *m = req->method;
	const char *id;

	if (!rb_route(req))
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (!auth || strcmp(auth, sim->cfg.rainbond_key) != 0)
		return reply_code_msg(reply, MHD_HTTP_UNAUTHORIZED, "invalid access key",
				      "认证失败");

	id = sim_item_id(req->path, PREFIX);
	if (!id) {
		if (strcmp(m, "GET") == 0)
			return list_users(st, req, reply);
		if (strcmp(m, "POST") == 0)
			return create_user(st, req, reply);
		return method_not_allowed(req, reply, "GET, POST");
	}
	if (strcmp(m, "GET") == 0)
		return get_user(st, id, reply);
	if (strcmp(m, "PUT") == 0)
		return update_user(st, req, id, reply);
	if (strcmp(m, "DELETE") == 0)
		return delete_user(st, id, reply);
	return method_not_allowed(req, reply, "GET, PUT, DELETE");
}

static void rb_reset(void *state)
{
	struct rb_state *st = state;

	for (size_t i = 0; i < st->len; i++)
		user_free(st->users[i]);
	free(st->users);
	st->users = NULL;
	st->len = st->cap = 0;
	sim_map_clear(&st->by_nick);
	sim_map_clear(&st->by_email);
	sim_map_clear(&st->by_phone);
	for (size_t i = 0; i < st->n_stats; i++)
		free(st->stats[i].nick_name);
	free(st->stats);
	st->stats = NULL;
	st->n_stats = st->cap_stats = 0;
	sim_map_clear(&st->stats_by_nick);
}

static void *rb_state_new(const struct sim *sim)
{
	struct rb_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_nick);
	sim_map_init(&st->by_email);
	sim_map_init(&st->by_phone);
	sim_map_init(&st->stats_by_nick);
	return st;
}

static void rb_state_free(void *state)
{
	if (!state)
		return;
	rb_reset(state);
	free(state);
}

static json_object *rb_dump(void *state)
{
	struct rb_state *st = state;
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array();

	json_object *by_nick = json_object_new_object();

	/* users[] holds what the API holds and nothing else (tests compare
	 * them field by field); the counts go beside them. */
	for (size_t i = 0; i < st->len; i++) {
		if (st->users[i])
			json_object_array_add(users, user_json(st->users[i], true));
	}
	for (size_t i = 0; i < st->n_stats; i++) {
		const struct rb_nick_stats *ns = &st->stats[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "creates", json_object_new_uint64(ns->creates));
		json_object_object_add(o, "rejected_creates", json_object_new_uint64(ns->rejected_creates));
		json_object_object_add(o, "updates", json_object_new_uint64(ns->updates));
		json_object_object_add(o, "deletes", json_object_new_uint64(ns->deletes));
		json_object_object_add(by_nick, ns->nick_name, o);
	}
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "by_nick", by_nick);
	return obj;
}

const struct sim_api sim_api_rainbond = {
	.name = "rainbond",
	.path_prefix = PREFIX,
	.state_new = rb_state_new,
	.state_free = rb_state_free,
	.reset = rb_reset,
	.handle = rb_handle,
	.dump = rb_dump,
	.route = rb_route,
	.log_key = rb_log_key,
};
