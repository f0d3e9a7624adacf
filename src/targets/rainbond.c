/* Rainbond console OpenAPI: POST /openapi/v1/users.
 * Facts (shared/targets/README.md): the Authorization header carries the
 * raw access key (no "Bearer"); 201 with an empty body; duplicate nick_name
 * is 409, duplicate email is 400 "email already exists", duplicate phone is
 * a 500; the server reads the misspelt field `origion`. A member that is
 * already there is looked up (GET ?query=) to adopt its user_id.
 *
 * The other ops work on /openapi/v1/users/{user_id}: PUT with the changed
 * fields (update), PUT {"is_active": false|true} (disable, enable), DELETE.
 * The add's answer carries no id, so a member's user_id is usually found
 * first with the same query. The console's PUT updates with a filter and
 * answers 200 even for a user_id that does not exist (unless a password is
 * sent), so an update or enable of a stored id checks with GET .../{id}
 * first: otherwise a member deleted at Rainbond would stay deleted. */
#include "config.h"

#include "http/encode.h"
#include "mapping/checks.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest server message quoted in a reason. */
#define RB_REASON_CHARS 300

#define RAINBOND_USERS_PATH "openapi/v1/users"
/* The query is a substring match over nick_name, email and phone: a short
 * nick_name can match many users, so the lookup pages, up to a bound. */
#define RAINBOND_PAGE_SIZE 100
#define RAINBOND_MAX_PAGES 20

enum rainbond_stage {
	RB_ADD,
	RB_LOOKUP,	/* already there: find its user_id; page n is RB_LOOKUP + n - 1 */
};

/* Stages of every op but OP_ADD. */
enum rainbond_op_stage {
	RB_OP_START,
	RB_OP_CHECK,	/* GET .../{id}: is the stored user_id still this member? */
	RB_OP_CHANGE,	/* the PUT or DELETE itself */
	RB_OP_FIND,	/* the query lookup; page n is RB_OP_FIND + n - 1 */
};

/* ^[a-zA-Z0-9_\-\u4e00-\u9fa5]+$, the server's nick_name rule. */
static bool rainbond_nick_ok(const char *s, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		uint32_t cp = utf8_next(s, len, &pos);
		bool ok = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
			  cp == '_' || cp == '-' || (cp >= 0x4E00 && cp <= 0x9FA5);
		if (!ok)
			return false;
	}
	return len > 0;
}

static const struct field_schema rainbond_fields[] = {
	{ .name = "nick_name", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .max_chars = 24,
	  .check = rainbond_nick_ok,
	  .check_desc = "ASCII letters, digits, '_', '-' and CJK ideographs U+4E00-U+9FA5" },
	{ .name = "password", .type = FT_STRING, .flags = FIELD_REQUIRED | FIELD_SECRET, .min_chars = 8,
	  .max_chars = 16 },
	{ .name = "enterprise_id", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .max_chars = 32 },
	/* Optional in the seed page, but the server refuses users without one. */
	{ .name = "email", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .max_chars = 35,
	  .check = check_email, .check_desc = "an email address" },
	{ .name = "phone", .type = FT_STRING, .max_chars = 11 },
	{ .name = "is_active", .type = FT_BOOL },
	{ .name = "origion", .type = FT_STRING, .max_chars = 12 },
};

struct rainbond_conf {
	char *users_url;
};

static void *rainbond_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				const char *config_dir)
{
	struct rainbond_conf *c = XNEW(struct rainbond_conf);
	c->users_url = http_url_join(cfg_string(target, "url", ""), RAINBOND_USERS_PATH);
	return c;
}

static void rainbond_free_config(void *conf)
{
	struct rainbond_conf *c = conf;
	if (!c)
		return;
	free(c->users_url);
	free(c);
}

/* Rainbond's validation answer: {"detail":"参数错误","err":{field:[msg]},"code":20400}. */
static char *rainbond_reason(json_object *body, const struct http_response *resp)
{
	json_object *err;
	/* The server's words go through http_text_excerpt, as other drivers'
	 * do: cut, control characters and invalid UTF-8 escaped (fuzz_drivers.c
	 * found raw bytes reaching reasons, logs and the state cache). */
	if (body && json_object_object_get_ex(body, "err", &err) && err) {
		char *e = http_text_excerpt(json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN |
										 JSON_C_TO_STRING_NOSLASHESCAPE),
					    RB_REASON_CHARS);
		char *s = xasprintf("rejected by Rainbond: %s", e);
		free(e);
		return s;
	}
	const char *msg = classify_json_text(body, "msg");
	if (!msg)
		msg = classify_json_text(body, "detail");
	if (msg) {
		char *m = http_text_excerpt(msg, RB_REASON_CHARS);
		char *s = xasprintf("rejected by Rainbond: HTTP %ld: %s", resp->status, m);
		free(m);
		return s;
	}
	char *r = classify_status_reason(resp);
	char *s = xasprintf("rejected by Rainbond: %s", r);
	free(r);
	return s;
}

/* The server leaks an IntegrityError when the phone is taken; say so,
 * since retrying cannot help then. */
static void rainbond_note_phone(struct outcome *out)
{
	char *r = out->reason;
	out->reason = xasprintf("%s (Rainbond answers 500 when the phone number already belongs to another user)", r);
	free(r);
}

static void rainbond_classify(const struct http_response *resp, struct outcome *out)
{
	json_object *body = NULL;
	long st = resp->status;

	/* Rainbond answers an add with no body. A web page with a 2xx is a
	 * proxy's or a login portal's, not Rainbond's: taking it for
	 * "created" would lose the member. A retry is safe: if the add did
	 * get through, Rainbond answers 409 and the member is looked up. */
	if ((st == 200 || st == 201) && resp->content_type &&
	    strncasecmp(resp->content_type, "text/html", strlen("text/html")) == 0) {
		/* Not the header itself: its bytes are the proxy's, not text we
		 * checked (fuzz_drivers.c: invalid UTF-8 in the reason). */
		outcome_set(out, OUTCOME_TRANSIENT, "HTTP %ld with an HTML page (text/html), not an answer from Rainbond",
			    st);
		goto out;
	}
	if (st == 200 || st == 201) {
		outcome_set(out, OUTCOME_OK, "created");
		goto out;
	}
	if (classify_common(resp, out)) {
		if (st == 500)
			rainbond_note_phone(out);
		goto out;
	}
	body = classify_json_body(resp);
	const char *msg = classify_json_text(body, "msg");
	if (st == 409 || (st == 400 && msg && strstr(msg, "already exists"))) {
		char *m = msg ? http_text_excerpt(msg, RB_REASON_CHARS) : NULL;
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond: %s", m ? m : "HTTP 409");
		free(m);
		goto out;
	}
	if (st >= 400 && st < 500) {
		char *r = rainbond_reason(body, resp);
		outcome_set(out, OUTCOME_INVALID, "%s", r);
		free(r);
		goto out;
	}
	char *r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from Rainbond: %s", r);
	free(r);
out:
	json_object_put(body);
}

/* What a page of the query lookup says about a nick_name. */
enum rainbond_found {
	RB_FOUND,	/* *id set */
	RB_NOT_LISTED,	/* no such user, and no page after this one */
	RB_NEXT_PAGE,	/* not on this page, but there are more */
	RB_UNREADABLE,	/* not a {"users":[...],"total":N} answer */
};

/* GET ?query=<key>&page=<page>&page_size=100. */
static void rainbond_lookup_request(const struct rainbond_conf *c, const char *key, int page,
				    struct http_request *req)
{
	char *q = encode_url_component(key, strlen(key));
	req->method = "GET";
	req->url = xasprintf("%s?query=%s&page=%d&page_size=%d", c->users_url, q, page, RAINBOND_PAGE_SIZE);
	free(q);
	http_request_add_header(req, "Accept: application/json");
}

/* Looks for the user whose nick_name is exactly `nick` in page `page` of
 * a {"users":[...],"total":N} answer (the query is a substring match). */
static enum rainbond_found rainbond_find_user(const struct http_response *resp, const char *nick, int page,
					      char **id)
{
	json_object *body = classify_json_body(resp), *users;
	enum rainbond_found f = RB_UNREADABLE;
	*id = NULL;
	if (!body || !json_object_object_get_ex(body, "users", &users) || !json_object_is_type(users, json_type_array))
		goto out;
	size_t n = json_object_array_length(users);
	for (size_t i = 0; i < n && !*id; i++) {
		json_object *u = json_object_array_get_idx(users, i);
		const char *name = classify_json_text(u, "nick_name");
		const char *uid = classify_json_text(u, "user_id");
		/* The id becomes the remote id: UTF-8 text only. */
		if (name && uid && *uid && utf8_valid(uid, strlen(uid)) && strcmp(name, nick) == 0)
			*id = xstrdup(uid);
	}
	long long total = 0;
	json_object *jt;
	if (*id)
		f = RB_FOUND;
	else if (n >= RAINBOND_PAGE_SIZE && json_object_object_get_ex(body, "total", &jt) &&
		 classify_json_int(jt, &total) && total > (long long)page * RAINBOND_PAGE_SIZE)
		f = RB_NEXT_PAGE;
	else
		f = RB_NOT_LISTED;
out:
	json_object_put(body);
	return f;
}

/* The URL of the member's own user, /openapi/v1/users/{user_id}. */
static char *rainbond_user_url(const struct rainbond_conf *c, const char *remote_id)
{
	char *id = encode_url_component(remote_id, strlen(remote_id));
	char *url = xasprintf("%s/%s", c->users_url, id);
	free(id);
	return url;
}

/* The PUT or DELETE of an op. */
static void rainbond_change_request(const struct target *t, const struct push_item *it,
				    struct http_request *req)
{
	const struct rainbond_conf *c = t->conf->driver_conf;
	json_object *body;

	req->url = rainbond_user_url(c, it->remote_id);
	http_request_add_header(req, "Accept: application/json");
	if (it->op == OP_DELETE) {
		req->method = "DELETE";
		return;
	}
	req->method = "PUT";
	if (it->op == OP_UPDATE) {
		body = mapping_payload_public(t->conf->mapping, it->payload);
	} else {
		body = json_object_new_object();
		json_object_object_add(body, "is_active", json_object_new_boolean(it->op == OP_ENABLE));
	}
	size_t len;
	char *text = encode_body(BODY_JSON, body, &len);
	json_object_put(body);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_set_body(req, text, len);
}

/* The answer to a PUT or DELETE on the member's own URL. */
static void rainbond_classify_change(const struct push_item *it, const struct http_response *resp,
				     struct outcome *out)
{
	static const char *const done[OP__COUNT] = {
		[OP_UPDATE] = "updated", [OP_DISABLE] = "disabled", [OP_ENABLE] = "enabled", [OP_DELETE] = "deleted",
	};
	json_object *body = NULL;
	long st = resp->status;

	if (st == 200 || st == 204) {
		outcome_set(out, OUTCOME_OK, "%s", done[it->op] ? done[it->op] : "done");
		out->remote_id = xstrdup(it->remote_id);
		goto out;
	}
	if (st == 404) {
		outcome_set(out, OUTCOME_ABSENT, "Rainbond has no user %s", it->remote_id);
		goto out;
	}
	if (classify_common(resp, out)) {
		if (st == 500 && it->op == OP_UPDATE)
			rainbond_note_phone(out);
		goto out;
	}
	body = classify_json_body(resp);
	if (st >= 400 && st < 500) {
		char *r = rainbond_reason(body, resp);
		/* Only an update carries values the API can refuse; anything
		 * else refused is not this member's data at fault. */
		outcome_set(out, it->op == OP_UPDATE ? OUTCOME_INVALID : OUTCOME_PERMANENT, "%s", r);
		free(r);
		goto out;
	}
	char *r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from Rainbond to %s: %s", push_op_name(it->op), r);
	free(r);
out:
	json_object_put(body);
}

/* The answer to GET .../{id}: 200 with this member's nick_name lets the
 * change go ahead (true); anything else fills out, or (another user's
 * nick_name: the stored id is stale) forgets the id. */
static bool rainbond_check_user(struct push_item *it, const struct http_response *resp, struct outcome *out)
{
	if (resp->status == 404) {
		outcome_set(out, OUTCOME_ABSENT, "Rainbond has no user %s", it->remote_id);
		return false;
	}
	if (classify_common(resp, out))
		return false;
	json_object *body = resp->status == 200 ? classify_json_body(resp) : NULL;
	const char *nick = classify_json_text(body, "nick_name");
	bool ours = nick && strcmp(nick, it->key) == 0;
	if (!body) {
		char *r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from Rainbond to GET user %s: %s",
			    it->remote_id, r);
		free(r);
	} else if (!ours) {
		free(it->remote_id);
		it->remote_id = NULL;
	}
	json_object_put(body);
	return ours;
}

/* Every op but OP_ADD: find the user_id (query lookup) when it is not
 * known, check a known one before a PUT that cannot tell (see the top),
 * then PUT or DELETE. OP_LOOKUP is the query lookup alone. */
static enum step_result rainbond_op_step(struct target *t, struct push_item *it, const struct http_response *resp,
					 struct http_request *req, struct outcome *out)
{
	const struct rainbond_conf *c = t->conf->driver_conf;

	if (it->stage == RB_OP_START) {
		if (it->remote_id && !*it->remote_id) {
			/* Stored empty: as good as unknown (and .../users/ is the
			 * list). */
			free(it->remote_id);
			it->remote_id = NULL;
		}
		if (it->op == OP_UPDATE && !json_object_is_type(it->payload, json_type_object)) {
			outcome_set(out, OUTCOME_PERMANENT, "nothing to update: the member has no payload");
			return STEP_DONE;
		}
		if (it->op == OP_LOOKUP || !it->remote_id)
			it->stage = RB_OP_FIND;
		else if (it->op == OP_UPDATE || it->op == OP_ENABLE)
			it->stage = RB_OP_CHECK;
		else
			it->stage = RB_OP_CHANGE;
	}
	if (!resp)
		goto send;

	if (it->stage == RB_OP_CHANGE) {
		rainbond_classify_change(it, resp, out);
		return STEP_DONE;
	}
	if (it->stage == RB_OP_CHECK) {
		if (rainbond_check_user(it, resp, out))
			it->stage = RB_OP_CHANGE;
		else if (!it->remote_id)
			it->stage = RB_OP_FIND;
		else
			return STEP_DONE;
		goto send;
	}

	/* RB_OP_FIND and its later pages. */
	if (classify_common(resp, out))
		return STEP_DONE;
	int page = it->stage - RB_OP_FIND + 1;
	char *id = NULL;
	enum rainbond_found f = resp->status == 200 ? rainbond_find_user(resp, it->key, page, &id) : RB_UNREADABLE;
	switch (f) {
	case RB_FOUND:
		free(it->remote_id);
		it->remote_id = id;
		if (it->op == OP_LOOKUP) {
			outcome_set(out, OUTCOME_OK, "at Rainbond as user %s", it->remote_id);
			out->remote_id = xstrdup(it->remote_id);
			return STEP_DONE;
		}
		/* Just found: no need to check it. */
		it->stage = RB_OP_CHANGE;
		goto send;
	case RB_NEXT_PAGE:
		if (page < RAINBOND_MAX_PAGES) {
			it->stage++;
			goto send;
		}
		outcome_set(out, OUTCOME_PERMANENT, "nick_name %s is not among the first %d users Rainbond's query "
			    "matches", it->key, RAINBOND_MAX_PAGES * RAINBOND_PAGE_SIZE);
		return STEP_DONE;
	case RB_NOT_LISTED:
		outcome_set(out, OUTCOME_ABSENT, "Rainbond has no user with nick_name %s", it->key);
		return STEP_DONE;
	case RB_UNREADABLE:
		break;
	}
	char *r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from Rainbond to the user lookup: %s", r);
	free(r);
	return STEP_DONE;

send:
	if (it->stage >= RB_OP_FIND) {
		rainbond_lookup_request(c, it->key, it->stage - RB_OP_FIND + 1, req);
		return STEP_SEND;
	}
	if (it->stage == RB_OP_CHECK) {
		req->method = "GET";
		req->url = rainbond_user_url(c, it->remote_id);
		http_request_add_header(req, "Accept: application/json");
		return STEP_SEND;
	}
	rainbond_change_request(t, it, req);
	return STEP_SEND;
}

static enum step_result rainbond_step(struct target *t, struct push_item *it, const struct http_response *resp,
				      struct http_request *req, bool *creates, struct outcome *out)
{
	const struct rainbond_conf *c = t->conf->driver_conf;

	if (it->op != OP_ADD)
		return rainbond_op_step(t, it, resp, req, out);
	if (it->stage == RB_ADD && !resp) {
		req->method = "POST";
		req->url = xstrdup(c->users_url);
		http_request_add_header(req, "Content-Type: application/json");
		http_request_add_header(req, "Accept: application/json");
		http_request_set_body(req, xstrdup(it->payload_text), strlen(it->payload_text));
		*creates = true;
		return STEP_SEND;
	}
	if (it->stage == RB_ADD) {
		rainbond_classify(resp, out);
		if (out->kind != OUTCOME_DUPLICATE)
			return STEP_DONE;
		it->stage = RB_LOOKUP;
		resp = NULL;
	}
	if (!resp) {
		rainbond_lookup_request(c, it->key, it->stage - RB_LOOKUP + 1, req);
		return STEP_SEND;
	}
	/* The lookup answered. Being there is what counts; the id is a bonus
	 * for later updates, so only trouble worth a retry is reported. */
	if (classify_common(resp, out)) {
		if (out->kind != OUTCOME_TRANSIENT && out->kind != OUTCOME_THROTTLED && out->kind != OUTCOME_AUTH)
			outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond (its id could not be looked up)");
		return STEP_DONE;
	}
	free(it->remote_id);
	it->remote_id = NULL;
	int page = it->stage - RB_LOOKUP + 1;
	enum rainbond_found f = resp->status == 200 ? rainbond_find_user(resp, it->key, page, &it->remote_id)
						    : RB_UNREADABLE;
	if (f == RB_NEXT_PAGE && page < RAINBOND_MAX_PAGES) {
		it->stage++;
		rainbond_lookup_request(c, it->key, page + 1, req);
		return STEP_SEND;
	}
	if (it->remote_id)
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond as user %s", it->remote_id);
	else if (f == RB_NEXT_PAGE)
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond (its id is not among the first %d users the "
			    "query matches)", RAINBOND_MAX_PAGES * RAINBOND_PAGE_SIZE);
	else if (resp->status == 200)
		/* Something else is taken (the email or phone of another user):
		 * calling this member synced would lose it. */
		outcome_set(out, OUTCOME_INVALID,
			    "Rainbond says the user already exists, but has no user with nick_name %s: the email "
			    "or phone belongs to another user",
			    it->key);
	else
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond (its id could not be looked up)");
	return STEP_DONE;
}

const struct target_driver driver_rainbond = {
	.name = "rainbond",
	.summary = "Rainbond console OpenAPI, POST /openapi/v1/users",
	.fields = rainbond_fields,
	.n_fields = sizeof(rainbond_fields) / sizeof(rainbond_fields[0]),
	.default_key = "nick_name",
	.auth = { .type = "header", .header = "Authorization", .scheme = "" },
	.auth_required = true,
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP),
	.add_uses_text = true,
	.configure = rainbond_configure,
	.free_config = rainbond_free_config,
	.step = rainbond_step,
};
