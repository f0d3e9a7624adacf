/* Rainbond console OpenAPI: POST /openapi/v1/users.
 * Facts (shared/targets/README.md): the Authorization header carries the
 * raw access key (no "Bearer"); 201 with an empty body; duplicate nick_name
 * is 409, duplicate email is 400 "email already exists", duplicate phone is
 * a 500; the server reads the misspelt field `origion`. A member that is
 * already there is looked up (GET ?query=) to adopt its user_id. */
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

#define RAINBOND_USERS_PATH "openapi/v1/users"

enum rainbond_stage {
	RB_ADD,
	RB_LOOKUP,	/* already there: find its user_id */
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
	if (body && json_object_object_get_ex(body, "err", &err) && err)
		return xasprintf("rejected by Rainbond: %s",
				 json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN |
									 JSON_C_TO_STRING_NOSLASHESCAPE));
	const char *msg = classify_json_text(body, "msg");
	if (!msg)
		msg = classify_json_text(body, "detail");
	if (msg)
		return xasprintf("rejected by Rainbond: HTTP %ld: %s", resp->status, msg);
	char *r = classify_status_reason(resp);
	char *s = xasprintf("rejected by Rainbond: %s", r);
	free(r);
	return s;
}

static void rainbond_classify(const struct http_response *resp, struct outcome *out)
{
	json_object *body = NULL;
	long st = resp->status;

	if (st == 200 || st == 201) {
		outcome_set(out, OUTCOME_OK, "created");
		goto out;
	}
	if (classify_common(resp, out)) {
		/* The server leaks an IntegrityError when the phone is taken;
		 * say so, since retrying cannot help then. */
		if (st == 500) {
			char *r = out->reason;
			out->reason = xasprintf("%s (Rainbond answers 500 when the phone number already belongs "
						"to another user)", r);
			free(r);
		}
		goto out;
	}
	body = classify_json_body(resp);
	const char *msg = classify_json_text(body, "msg");
	if (st == 409 || (st == 400 && msg && strstr(msg, "already exists"))) {
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond: %s", msg ? msg : "HTTP 409");
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

/* The user_id of the user whose nick_name is exactly `nick` in a
 * {"users":[...],"total":N} page (the query is a substring match). */
static char *rainbond_find_user(const struct http_response *resp, const char *nick)
{
	json_object *body = classify_json_body(resp), *users;
	char *id = NULL;
	if (body && json_object_object_get_ex(body, "users", &users) && json_object_is_type(users, json_type_array)) {
		size_t n = json_object_array_length(users);
		for (size_t i = 0; i < n && !id; i++) {
			json_object *u = json_object_array_get_idx(users, i);
			const char *name = classify_json_text(u, "nick_name");
			const char *uid = classify_json_text(u, "user_id");
			if (name && uid && strcmp(name, nick) == 0)
				id = xstrdup(uid);
		}
	}
	json_object_put(body);
	return id;
}

static enum step_result rainbond_step(struct target *t, struct push_item *it, const struct http_response *resp,
				      struct http_request *req, bool *creates, struct outcome *out)
{
	const struct rainbond_conf *c = t->conf->driver_conf;

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
		char *q = encode_url_component(it->key, strlen(it->key));
		req->method = "GET";
		req->url = xasprintf("%s?query=%s&page=1&page_size=100", c->users_url, q);
		free(q);
		http_request_add_header(req, "Accept: application/json");
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
	it->remote_id = resp->status == 200 ? rainbond_find_user(resp, it->key) : NULL;
	if (it->remote_id)
		outcome_set(out, OUTCOME_DUPLICATE, "already at Rainbond as user %s", it->remote_id);
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
	.configure = rainbond_configure,
	.free_config = rainbond_free_config,
	.step = rainbond_step,
};
