/*
 * DingTalk's user API under /dingtalk, behaving like oapi.dingtalk.com:
 * GET /gettoken hands out one access token (the same one, renewed, while
 * it is valid); every /topapi call needs it as ?access_token= and answers
 * HTTP 200 whatever happens, with the outcome in errcode (40014 unknown
 * token, 42001 expired, 60112 bad name, 60103 bad mobile, 60113 neither
 * mobile nor email, 60105 bad email, 40035 missing or malformed
 * parameter, 60003 unknown department, 60123 bad job number, 60102 /
 * 60104 / 60106 userid / mobile / email taken, 90018 throttled, 90020
 * monthly quota spent, 60121 no user with that userid or mobile). The
 * per-address ban answers {"status":1111,"wait":N,"punish":"deny"}
 * without any errcode.
 *
 * Users: POST /topapi/v2/user/create, /getbymobile {mobile}, /get
 * {userid}, /delete {userid} and /update {userid, fields...}. The update
 * changes only the fields it is given, checked as the create checks them
 * (a mobile or email another user has: 60104 / 60106); it takes what
 * DingTalk's SDK lists for it. What the real server does with a
 * parameter the update does not know (exclusive_account, login_id, the
 * create's spelling of loginId) is undocumented: like DingTalk's other
 * endpoints it is taken to ignore it; the dump lists such names per user
 * so a test can see they were sent. init_password is accepted (the SDK
 * has it) but only counted: a sync must never reset passwords.
 *
 * Credentials: sim_secret "dingtalk.appkey" and "dingtalk.appsecret".
 * Departments 1 to 9999 exist. Control hooks, under /_sim/api/dingtalk/:
 *   POST expire-tokens     every token issued so far expires now (42001)
 *   POST ip-ban            {"wait":N,"count":M,"skip":K}: after K more
 *                          requests, the next M get the ban answer
 *                          (defaults 5, 1, 0); DELETE lifts it
 *   POST quota             every create answers 90020; DELETE clears it
 * The dump: users (without init_password; each with "creates": how many
 * creates of its mobile succeeded since the last reset, deletes between
 * them included, "updates", "password_resets" and "ignored_update_fields"),
 * creates ({mobile: successful creates}, deleted users included),
 * duplicates_refused ({mobile: creates refused with 60102/60104/60106}),
 * deleted ([{userid, mobile}] in order), tokens_issued, tokens, bans
 * (when each ban answer was given, in ms since start, like the log's t_ms)
 * and quota.
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/dingtalk"
#define ROUTE_TOKEN PREFIX "/gettoken"
#define ROUTE_CREATE PREFIX "/topapi/v2/user/create"
#define ROUTE_BY_MOBILE PREFIX "/topapi/v2/user/getbymobile"
#define ROUTE_GET PREFIX "/topapi/v2/user/get"
#define ROUTE_DELETE PREFIX "/topapi/v2/user/delete"
#define ROUTE_UPDATE PREFIX "/topapi/v2/user/update"
#define TOKEN_TTL_S 7200
#define MAX_DEPT_ID 9999
#define MAX_DEPTS 100
#define DEFAULT_BAN_WAIT 5
#define DEFAULT_APPKEY "dingtalk-appkey"
#define DEFAULT_APPSECRET "dingtalk-appsecret"

struct dt_user {
	char *userid;
	char *mobile;
	char *email;		/* NULL if none */
	json_object *obj;	/* what get returns */
	long long creates;	/* of this mobile, this user's create included */
	long long updates;
	long long password_resets;
	json_object *ignored;	/* names an update sent that it does not take */
};

struct dt_token {
	char *value;
	uint64_t expires_ms;	/* sim_now_ms() */
};

struct dt_state {
	struct dt_user **users;	/* NULL once deleted */
	size_t len;
	size_t cap;
	struct sim_map by_userid;
	struct sim_map by_mobile;
	struct sim_map by_email;
	struct dt_token *tokens;
	size_t n_tokens;
	size_t cap_tokens;
	struct sim_map by_token;	/* value: index + 1 */
	uint64_t next_userid;
	uint64_t next_request;
	long long ban_wait;
	long long ban_count;
	long long ban_skip;
	json_object *bans;
	bool quota;
	json_object *creates;		/* mobile -> successful creates */
	json_object *duplicates;	/* mobile -> creates refused as taken */
	json_object *deleted;		/* [{userid, mobile}] */
};

/* ------------------------------------------------------------------ */
/* answers */

static int reply_code(struct dt_state *st, struct sim_reply *reply, int code, const char *msg,
		      json_object *result)
{
	json_object *obj = json_object_new_object();
	char rid[32];

	snprintf(rid, sizeof(rid), "sim%012llx", (unsigned long long)++st->next_request);
	json_object_object_add(obj, "errcode", json_object_new_int(code));
	json_object_object_add(obj, "errmsg", json_object_new_string(msg));
	if (result)
		json_object_object_add(obj, "result", result);
	json_object_object_add(obj, "request_id", json_object_new_string(rid));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

/* ------------------------------------------------------------------ */
/* validation */

/* A member that is a string (of no NUL), NULL when absent; *bad when
 * present but not usable as one. Empty strings count as absent, as the
 * server treats them. */
static const char *str_member(json_object *body, const char *name, bool *bad)
{
	json_object *v;
	size_t count;

	*bad = false;
	if (!json_object_object_get_ex(body, name, &v) || !v)
		return NULL;
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
	    sim_utf8_count(json_object_get_string(v), strlen(json_object_get_string(v)), &count) < 0) {
		*bad = true;
		return NULL;
	}
	return *json_object_get_string(v) ? json_object_get_string(v) : NULL;
}

static size_t chars(const char *s)
{
	size_t n = 0;

	sim_utf8_count(s, strlen(s), &n);
	return n;
}

static bool all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return !s[n] && n >= min && n <= max;
}

/* Mainland numbers are 11 digits from 1; others "+CC-number". */
static bool mobile_ok(const char *s)
{
	if (*s == '+') {
		const char *dash = strchr(s, '-');
		char cc[8];

		if (!dash || dash - s - 1 < 1 || dash - s - 1 > 4)
			return false;
		memcpy(cc, s + 1, (size_t)(dash - s - 1));
		cc[dash - s - 1] = '\0';
		if (!all_digits(cc, 1, 4))
			return false;
		if (strcmp(cc, "86") != 0)
			return all_digits(dash + 1, 4, 15);
		s = dash + 1;
	}
	return s[0] == '1' && all_digits(s, 11, 11);
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	const char *dot = at ? strrchr(at, '.') : NULL;

	if (!at || at == s || strchr(at + 1, '@') || !dot || dot == at + 1 || !dot[1])
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	}
	return true;
}

/* Returns 0, 40035 (malformed) or 60003 (a department that does not exist). */
static int depts_check(const char *s)
{
	size_t n = 0;

	for (;;) {
		size_t len = strspn(s, "0123456789");
		unsigned long long id;

		if (!len || len > 18 || (s[len] && s[len] != ',') || ++n > MAX_DEPTS)
			return 40035;
		id = strtoull(s, NULL, 10);
		if (id == 0)
			return 40035;
		if (id > MAX_DEPT_ID)
			return 60003;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

static bool password_ok(const char *s)
{
	bool letters = true, digits = true;

	if (chars(s) < 8)
		return false;
	for (; *s; s++) {
		bool letter = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z');

		letters = letters && letter;
		digits = digits && *s >= '0' && *s <= '9';
	}
	return !letters && !digits;
}

/* Checks a create body the way the server does, first problem first.
 * Returns 0 or an errcode with *msg. */
static int check_create(json_object *body, const char **msg)
{
	const char *name, *mobile, *email, *depts, *userid, *job;
	bool bad, bad_mobile, bad_email;
	json_object *v;
	int r;

	name = str_member(body, "name", &bad);
	if (!name || bad || chars(name) > 80) {
		*msg = "用户姓名不合法";
		return 60112;
	}
	mobile = str_member(body, "mobile", &bad_mobile);
	email = str_member(body, "email", &bad_email);
	if (!mobile && !email && !bad_mobile && !bad_email) {
		*msg = "手机号码和邮箱不能同时为空";
		return 60113;
	}
	if (bad_mobile || (mobile && !mobile_ok(mobile))) {
		*msg = "手机号码不合法";
		return 60103;
	}
	if (!mobile) {
		*msg = "缺少参数 mobile";
		return 40035;
	}
	if (bad_email || (email && (chars(email) > 50 || !email_ok(email)))) {
		*msg = "邮箱不合法";
		return 60105;
	}
	depts = str_member(body, "dept_id_list", &bad);
	if (!depts || bad) {
		*msg = "缺少参数 dept_id_list";
		return 40035;
	}
	r = depts_check(depts);
	if (r) {
		*msg = r == 60003 ? "部门不存在" : "不合法的参数 dept_id_list";
		return r;
	}
	userid = str_member(body, "userid", &bad);
	if (bad || (userid && chars(userid) > 64)) {
		*msg = "不合法的参数 userid";
		return 40035;
	}
	job = str_member(body, "job_number", &bad);
	if (bad || (job && chars(job) > 50)) {
		*msg = "工号不合法";
		return 60123;
	}
	if (json_object_object_get_ex(body, "hired_date", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)) {
		*msg = "不合法的参数 hired_date";
		return 40035;
	}
	if (json_object_object_get_ex(body, "exclusive_account", &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)) {
		const char *login = str_member(body, "login_id", &bad);
		const char *pw;

		if (!login || bad) {
			*msg = "缺少参数 login_id";
			return 40035;
		}
		pw = str_member(body, "init_password", &bad);
		if (bad || (pw && !password_ok(pw))) {
			*msg = "初始密码不合法";
			return 40035;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* users */

static void user_free(struct dt_user *u)
{
	if (!u)
		return;
	free(u->userid);
	free(u->mobile);
	free(u->email);
	json_object_put(u->obj);
	json_object_put(u->ignored);
	free(u);
}

/* counts[key] + 1, stored; returns the new count. */
static long long bump(json_object *counts, const char *key)
{
	json_object *v;
	long long n = json_object_object_get_ex(counts, key, &v) ? json_object_get_int64(v) + 1 : 1;

	json_object_object_add(counts, key, json_object_new_int64(n));
	return n;
}

static int refuse_duplicate(struct dt_state *st, struct sim_reply *reply, const char *mobile, int code,
			    const char *msg)
{
	bump(st->duplicates, mobile);
	return reply_code(st, reply, code, msg, NULL);
}

static int create_user(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	json_object *body = req->json, *result;
	const char *msg, *userid, *mobile, *email;
	char genid[32];
	struct dt_user *u;
	bool bad;
	int code;

	if (st->quota)
		return reply_code(st, reply, 90020, "应用本月调用量已超过限额", NULL);
	if (!json_object_is_type(body, json_type_object))
		return reply_code(st, reply, 40035, "不合法的参数", NULL);
	code = check_create(body, &msg);
	if (code)
		return reply_code(st, reply, code, msg, NULL);
	userid = str_member(body, "userid", &bad);
	mobile = str_member(body, "mobile", &bad);
	email = str_member(body, "email", &bad);
	if (userid && sim_map_get(&st->by_userid, userid))
		return refuse_duplicate(st, reply, mobile, 60102, "userid在公司中已存在");
	if (sim_map_get(&st->by_mobile, mobile))
		return refuse_duplicate(st, reply, mobile, 60104, "手机号码在公司中已存在");
	if (email && sim_map_get(&st->by_email, email))
		return refuse_duplicate(st, reply, mobile, 60106, "邮箱在公司中已存在");
	if (!userid) {
		/* DingTalk makes up numeric-looking ids; never one a client
		 * already chose. */
		do
			snprintf(genid, sizeof(genid), "%llu", 1000000000000ull + (unsigned long long)++st->next_userid);
		while (sim_map_get(&st->by_userid, genid));
		userid = genid;
	}

	u = sim_xcalloc(1, sizeof(*u));
	u->userid = sim_xstrdup(userid);
	u->mobile = sim_xstrdup(mobile);
	u->email = email ? sim_xstrdup(email) : NULL;
	u->creates = bump(st->creates, mobile);
	u->ignored = json_object_new_array();
	u->obj = json_object_new_object();
	json_object_object_foreach(body, key, val) {
		json_object *copy = NULL;

		/* Kept out of the dump: tests look for secrets in logs. */
		if (strcmp(key, "init_password") == 0 || strcmp(key, "userid") == 0)
			continue;
		if (val && json_object_deep_copy(val, &copy, NULL) < 0)
			abort();
		json_object_object_add(u->obj, key, copy);
	}
	json_object_object_add(u->obj, "userid", json_object_new_string(u->userid));
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->users = sim_xrealloc(st->users, st->cap * sizeof(*st->users));
	}
	st->users[st->len++] = u;
	sim_map_put(&st->by_userid, u->userid, u);
	sim_map_put(&st->by_mobile, u->mobile, u);
	if (u->email)
		sim_map_put(&st->by_email, u->email, u);

	result = json_object_new_object();
	json_object_object_add(result, "userid", json_object_new_string(u->userid));
	snprintf(genid, sizeof(genid), "union%zu", st->len);
	json_object_object_add(result, "unionId", json_object_new_string(genid));
	return reply_code(st, reply, 0, "ok", result);
}

/* The user named by the body's `field` in `map`; answers and returns
 * NULL when there is none. */
static struct dt_user *find_user(struct dt_state *st, const struct sim_request *req, const char *field,
				 struct sim_map *map, struct sim_reply *reply)
{
	const char *v;
	struct dt_user *u;
	bool bad;

	if (!json_object_is_type(req->json, json_type_object)) {
		reply_code(st, reply, 40035, "不合法的参数", NULL);
		return NULL;
	}
	v = str_member(req->json, field, &bad);
	if (!v || bad) {
		char msg[64];

		snprintf(msg, sizeof(msg), "缺少参数 %s", field);
		reply_code(st, reply, 40035, msg, NULL);
		return NULL;
	}
	u = sim_map_get(map, v);
	if (!u)
		reply_code(st, reply, 60121, "找不到该用户", NULL);
	return u;
}

static int by_mobile(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	struct dt_user *u = find_user(st, req, "mobile", &st->by_mobile, reply);
	json_object *result;

	if (!u)
		return 0;
	result = json_object_new_object();
	json_object_object_add(result, "userid", json_object_new_string(u->userid));
	json_object_object_add(result, "exclusive_account_userid_list", json_object_new_array());
	return reply_code(st, reply, 0, "ok", result);
}

static int get_user(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	struct dt_user *u = find_user(st, req, "userid", &st->by_userid, reply);

	if (!u)
		return 0;
	return reply_code(st, reply, 0, "ok", json_object_get(u->obj));
}

static int delete_user(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	struct dt_user *u = find_user(st, req, "userid", &st->by_userid, reply);

	if (!u)
		return 0;
	for (size_t i = 0; i < st->len; i++) {
		if (st->users[i] == u)
			st->users[i] = NULL;
	}
	sim_map_del(&st->by_userid, u->userid);
	sim_map_del(&st->by_mobile, u->mobile);
	if (u->email)
		sim_map_del(&st->by_email, u->email);
	{
		json_object *gone = json_object_new_object();

		json_object_object_add(gone, "userid", json_object_new_string(u->userid));
		json_object_object_add(gone, "mobile", json_object_new_string(u->mobile));
		json_object_array_add(st->deleted, gone);
	}
	user_free(u);
	return reply_code(st, reply, 0, "ok", NULL);
}

/* What /topapi/v2/user/update takes besides userid (DingTalk's SDK), but
 * init_password, which is only counted. */
static const char *const update_fields[] = {
	"name", "mobile", "dept_id_list", "hired_date", "title", "email", "org_email", "org_email_type",
	"job_number", "telephone", "work_place", "remark", "manager_userid", "senior_mode", "extension",
	"exclusive_mobile", "avatarMediaId", "nickname", "hide_mobile", "language", "loginId",
	"dept_order_list", "dept_title_list", "dept_position_list", "force_update_fields", NULL,
};

static bool update_field(const char *name)
{
	for (size_t i = 0; update_fields[i]; i++) {
		if (strcmp(update_fields[i], name) == 0)
			return true;
	}
	return false;
}

/* The create's checks, for the fields an update gives. Returns 0 or an
 * errcode with *msg. */
static int check_update(json_object *body, const char **msg)
{
	const char *v;
	json_object *j;
	bool bad;
	int r;

	if (json_object_object_get_ex(body, "name", NULL)) {
		v = str_member(body, "name", &bad);
		if (!v || bad || chars(v) > 80) {
			*msg = "用户姓名不合法";
			return 60112;
		}
	}
	v = str_member(body, "mobile", &bad);
	if (bad || (v && !mobile_ok(v))) {
		*msg = "手机号码不合法";
		return 60103;
	}
	v = str_member(body, "email", &bad);
	if (bad || (v && (chars(v) > 50 || !email_ok(v)))) {
		*msg = "邮箱不合法";
		return 60105;
	}
	if (json_object_object_get_ex(body, "dept_id_list", NULL)) {
		v = str_member(body, "dept_id_list", &bad);
		r = !v || bad ? 40035 : depts_check(v);
		if (r) {
			*msg = r == 60003 ? "部门不存在" : "不合法的参数 dept_id_list";
			return r;
		}
	}
	v = str_member(body, "job_number", &bad);
	if (bad || (v && chars(v) > 50)) {
		*msg = "工号不合法";
		return 60123;
	}
	if (json_object_object_get_ex(body, "hired_date", &j) &&
	    (!json_object_is_type(j, json_type_int) || json_object_get_int64(j) < 0)) {
		*msg = "不合法的参数 hired_date";
		return 40035;
	}
	return 0;
}

static void rekey(struct sim_map *map, char **slot, const char *value, struct dt_user *u)
{
	if (*slot)
		sim_map_del(map, *slot);
	free(*slot);
	*slot = value ? sim_xstrdup(value) : NULL;
	if (*slot)
		sim_map_put(map, *slot, u);
}

static int update_user(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	struct dt_user *u = find_user(st, req, "userid", &st->by_userid, reply), *other;
	const char *msg, *mobile, *email;
	bool bad;
	int code;

	if (!u)
		return 0;
	code = check_update(req->json, &msg);
	if (code)
		return reply_code(st, reply, code, msg, NULL);
	mobile = str_member(req->json, "mobile", &bad);
	email = str_member(req->json, "email", &bad);
	other = mobile ? sim_map_get(&st->by_mobile, mobile) : NULL;
	if (other && other != u)
		return reply_code(st, reply, 60104, "手机号码在公司中已存在", NULL);
	other = email ? sim_map_get(&st->by_email, email) : NULL;
	if (other && other != u)
		return reply_code(st, reply, 60106, "邮箱在公司中已存在", NULL);

	json_object_object_foreach(req->json, key, val) {
		json_object *copy = NULL;
		bool seen = false;

		if (strcmp(key, "userid") == 0)
			continue;
		if (strcmp(key, "init_password") == 0) {
			u->password_resets++;
			continue;
		}
		if (!update_field(key)) {
			for (size_t i = 0; i < json_object_array_length(u->ignored); i++)
				seen = seen || strcmp(json_object_get_string(json_object_array_get_idx(u->ignored, i)),
						      key) == 0;
			if (!seen)
				json_object_array_add(u->ignored, json_object_new_string(key));
			continue;
		}
		if (val && json_object_deep_copy(val, &copy, NULL) < 0)
			abort();
		json_object_object_add(u->obj, key, copy);
	}
	if (mobile)
		rekey(&st->by_mobile, &u->mobile, mobile, u);
	/* An empty email clears it, as the server treats empty strings. */
	if (email || json_object_object_get_ex(req->json, "email", NULL))
		rekey(&st->by_email, &u->email, email, u);
	u->updates++;
	return reply_code(st, reply, 0, "ok", NULL);
}

/* ------------------------------------------------------------------ */
/* tokens */

static int get_token(const struct sim *sim, struct dt_state *st, const struct sim_request *req,
		     struct sim_reply *reply)
{
	const char *key = sim_request_query(req, "appkey");
	const char *secret = sim_request_query(req, "appsecret");
	uint64_t now = sim_now_ms();
	struct dt_token *t = st->n_tokens ? &st->tokens[st->n_tokens - 1] : NULL;
	json_object *obj;

	if (!key || !secret || strcmp(key, sim_secret(sim, "dingtalk.appkey", DEFAULT_APPKEY)) != 0 ||
	    strcmp(secret, sim_secret(sim, "dingtalk.appsecret", DEFAULT_APPSECRET)) != 0)
		return reply_code(st, reply, 40089, "invalid appkey or appsecret", NULL);
	if (!t || now >= t->expires_ms) {
		char value[64];

		if (st->n_tokens == st->cap_tokens) {
			st->cap_tokens = st->cap_tokens ? st->cap_tokens * 2 : 8;
			st->tokens = sim_xrealloc(st->tokens, st->cap_tokens * sizeof(*st->tokens));
		}
		snprintf(value, sizeof(value), "%016llx%016llx",
			 (unsigned long long)(st->n_tokens + 1) * 0x9e3779b97f4a7c15ull,
			 (unsigned long long)now * 0xbf58476d1ce4e5b9ull);
		t = &st->tokens[st->n_tokens++];
		t->value = sim_xstrdup(value);
		sim_map_put(&st->by_token, t->value, (void *)(uintptr_t)st->n_tokens);
	}
	/* Fetching a valid token again renews it. */
	t->expires_ms = now + TOKEN_TTL_S * 1000u;
	obj = json_object_new_object();
	json_object_object_add(obj, "errcode", json_object_new_int(0));
	json_object_object_add(obj, "access_token", json_object_new_string(t->value));
	json_object_object_add(obj, "errmsg", json_object_new_string("ok"));
	json_object_object_add(obj, "expires_in", json_object_new_int(TOKEN_TTL_S));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

/* Answers and returns true unless the request carries a valid token. */
static bool refuse_token(struct dt_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	const char *tok = sim_request_query(req, "access_token");
	uintptr_t idx = tok ? (uintptr_t)sim_map_get(&st->by_token, tok) : 0;

	if (!idx) {
		reply_code(st, reply, 40014, "不合法的access_token", NULL);
		return true;
	}
	if (sim_now_ms() >= st->tokens[idx - 1].expires_ms) {
		reply_code(st, reply, 42001, "access_token超时", NULL);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* the sim_api hooks */

static const char *dt_route(const struct sim_request *req)
{
	static const char *const routes[] = {
		ROUTE_TOKEN, ROUTE_CREATE, ROUTE_BY_MOBILE, ROUTE_GET, ROUTE_DELETE, ROUTE_UPDATE,
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(req->path, routes[i]) == 0)
			return routes[i];
	}
	return NULL;
}

static const char *dt_log_key(const struct sim *sim, const struct sim_request *req, size_t *len)
{
	const char *route = dt_route(req);

	if (!route || strcmp(route, ROUTE_TOKEN) == 0)
		return NULL;
	if (strcmp(route, ROUTE_CREATE) == 0 || strcmp(route, ROUTE_BY_MOBILE) == 0)
		return sim_json_string(req->json, "mobile", len);
	return sim_json_string(req->json, "userid", len);
}

/* The ban sits in front of everything, gettoken included. */
static bool banned(const struct sim *sim, struct dt_state *st, struct sim_reply *reply)
{
	json_object *obj;

	if (st->ban_count <= 0)
		return false;
	if (st->ban_skip > 0) {
		st->ban_skip--;
		return false;
	}
	st->ban_count--;
	json_object_array_add(st->bans, json_object_new_uint64(sim_now_ms() - sim->t0_ms));
	obj = json_object_new_object();
	json_object_object_add(obj, "status", json_object_new_int(1111));
	json_object_object_add(obj, "wait", json_object_new_int64(st->ban_wait));
	json_object_object_add(obj, "punish", json_object_new_string("deny"));
	sim_reply_json(reply, MHD_HTTP_OK, obj);
	return true;
}

static int dt_handle(struct sim *sim, void *state, const struct sim_request *req, struct sim_reply *reply)
{
	struct dt_state *st = state;
	const char *route = dt_route(req);

	if (banned(sim, st, reply))
		return 0;
	if (!route) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "errcode", json_object_new_int(404));
		json_object_object_add(obj, "errmsg", json_object_new_string("请求的URI地址不存在"));
		return sim_reply_json(reply, MHD_HTTP_NOT_FOUND, obj);
	}
	if (strcmp(route, ROUTE_TOKEN) == 0) {
		if (strcmp(req->method, "GET") != 0)
			return sim_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		return get_token(sim, st, req, reply);
	}
	if (strcmp(req->method, "POST") != 0)
		return sim_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (refuse_token(st, req, reply))
		return 0;
	if (strcmp(route, ROUTE_CREATE) == 0)
		return create_user(st, req, reply);
	if (strcmp(route, ROUTE_BY_MOBILE) == 0)
		return by_mobile(st, req, reply);
	if (strcmp(route, ROUTE_GET) == 0)
		return get_user(st, req, reply);
	if (strcmp(route, ROUTE_UPDATE) == 0)
		return update_user(st, req, reply);
	return delete_user(st, req, reply);
}

static int dt_throttle(struct sim *sim, void *state, const struct sim_request *req, unsigned int retry_after_s,
		       struct sim_reply *reply)
{
	return reply_code(state, reply, 90018, "当前应用调用接口超过每秒调用次数限制", NULL);
}

/* Optional integer member of a control body within [min, max]. */
static int opt_int(const struct sim_request *req, const char *name, long long min, long long max,
		   long long *out)
{
	json_object *v;

	if (!req->json || !json_object_object_get_ex(req->json, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
	    json_object_get_int64(v) > max)
		return -EINVAL;
	*out = json_object_get_int64(v);
	return 0;
}

static int dt_control(struct sim *sim, void *state, const char *action, const struct sim_request *req,
		      struct sim_reply *reply)
{
	struct dt_state *st = state;
	bool post = strcmp(req->method, "POST") == 0, del = strcmp(req->method, "DELETE") == 0;

	if (strcmp(action, "expire-tokens") == 0 && post) {
		uint64_t now = sim_now_ms();

		for (size_t i = 0; i < st->n_tokens; i++) {
			if (st->tokens[i].expires_ms > now)
				st->tokens[i].expires_ms = now;
		}
	} else if (strcmp(action, "ip-ban") == 0 && post) {
		long long wait = DEFAULT_BAN_WAIT, count = 1, skip = 0;

		if ((req->json && !json_object_is_type(req->json, json_type_object)) || req->json_error ||
		    opt_int(req, "wait", 0, 86400, &wait) < 0 || opt_int(req, "count", 0, 1000000, &count) < 0 ||
		    opt_int(req, "skip", 0, 1000000, &skip) < 0)
			return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
					       "wait (0..86400), count and skip (0..1000000) must be integers");
		st->ban_wait = wait;
		st->ban_count = count;
		st->ban_skip = skip;
	} else if (strcmp(action, "ip-ban") == 0 && del) {
		st->ban_count = 0;
	} else if (strcmp(action, "quota") == 0 && (post || del)) {
		st->quota = post;
	} else {
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such control");
	}
	return sim_reply_json(reply, MHD_HTTP_OK, json_object_new_object());
}

static void dt_reset(void *state)
{
	struct dt_state *st = state;

	for (size_t i = 0; i < st->len; i++)
		user_free(st->users[i]);
	free(st->users);
	st->users = NULL;
	st->len = st->cap = 0;
	sim_map_clear(&st->by_userid);
	sim_map_clear(&st->by_mobile);
	sim_map_clear(&st->by_email);
	for (size_t i = 0; i < st->n_tokens; i++)
		free(st->tokens[i].value);
	free(st->tokens);
	st->tokens = NULL;
	st->n_tokens = st->cap_tokens = 0;
	sim_map_clear(&st->by_token);
	st->next_userid = 0;
	st->next_request = 0;
	st->ban_count = st->ban_skip = 0;
	st->ban_wait = DEFAULT_BAN_WAIT;
	json_object_put(st->bans);
	st->bans = json_object_new_array();
	st->quota = false;
	json_object_put(st->creates);
	st->creates = json_object_new_object();
	json_object_put(st->duplicates);
	st->duplicates = json_object_new_object();
	json_object_put(st->deleted);
	st->deleted = json_object_new_array();
}

static void *dt_state_new(const struct sim *sim)
{
	struct dt_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_userid);
	sim_map_init(&st->by_mobile);
	sim_map_init(&st->by_email);
	sim_map_init(&st->by_token);
	st->ban_wait = DEFAULT_BAN_WAIT;
	st->bans = json_object_new_array();
	st->creates = json_object_new_object();
	st->duplicates = json_object_new_object();
	st->deleted = json_object_new_array();
	return st;
}

static void dt_state_free(void *state)
{
	struct dt_state *st = state;

	if (!st)
		return;
	dt_reset(st);
	json_object_put(st->bans);
	json_object_put(st->creates);
	json_object_put(st->duplicates);
	json_object_put(st->deleted);
	free(st);
}

static json_object *dt_dump(void *state)
{
	struct dt_state *st = state;
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array();
	json_object *tokens = json_object_new_array();

	for (size_t i = 0; i < st->len; i++) {
		const struct dt_user *u = st->users[i];
		json_object *copy = NULL;

		if (!u)
			continue;
		if (json_object_deep_copy(u->obj, &copy, NULL) < 0)
			abort();
		json_object_object_add(copy, "creates", json_object_new_int64(u->creates));
		json_object_object_add(copy, "updates", json_object_new_int64(u->updates));
		json_object_object_add(copy, "password_resets", json_object_new_int64(u->password_resets));
		json_object_object_add(copy, "ignored_update_fields", json_object_get(u->ignored));
		json_object_array_add(users, copy);
	}
	for (size_t i = 0; i < st->n_tokens; i++)
		json_object_array_add(tokens, json_object_new_string(st->tokens[i].value));
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "creates", json_object_get(st->creates));
	json_object_object_add(obj, "duplicates_refused", json_object_get(st->duplicates));
	json_object_object_add(obj, "deleted", json_object_get(st->deleted));
	json_object_object_add(obj, "tokens_issued", json_object_new_uint64(st->n_tokens));
	json_object_object_add(obj, "tokens", tokens);
	json_object_object_add(obj, "bans", json_object_get(st->bans));
	json_object_object_add(obj, "quota", json_object_new_boolean(st->quota));
	return obj;
}

const struct sim_api sim_api_dingtalk = {
	.name = "dingtalk",
	.path_prefix = PREFIX,
	.state_new = dt_state_new,
	.state_free = dt_state_free,
	.reset = dt_reset,
	.handle = dt_handle,
	.dump = dt_dump,
	.route = dt_route,
	.log_key = dt_log_key,
	.throttle = dt_throttle,
	.control = dt_control,
};
