/* Rainbond console OpenAPI: POST /openapi/v1/users.
 * Facts (shared/targets/README.md): the Authorization header carries the
 * raw access key (no "Bearer"); 201 with an empty body; duplicate nick_name
 * is 409, duplicate email is 400 "email already exists", duplicate phone is
 * a 500; the server reads the misspelt field `origion`. */
#include "config.h"

#include "mapping/checks.h"
#include "targets/auth.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "config/conf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define RAINBOND_USERS_PATH "openapi/v1/users"

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
	{ "nick_name", FT_STRING, FIELD_REQUIRED, 1, 24, rainbond_nick_ok,
	  "ASCII letters, digits, '_', '-' and CJK ideographs U+4E00-U+9FA5" },
	{ "password", FT_STRING, FIELD_REQUIRED | FIELD_SECRET, 8, 16, NULL, NULL },
	{ "enterprise_id", FT_STRING, FIELD_REQUIRED, 1, 32, NULL, NULL },
	/* Optional in the seed page, but the server refuses users without one. */
	{ "email", FT_STRING, FIELD_REQUIRED, 1, 35, check_email, "an email address" },
	{ "phone", FT_STRING, 0, 0, 11, NULL, NULL },
	{ "is_active", FT_BOOL, 0, 0, 0, NULL, NULL },
	{ "origion", FT_STRING, 0, 0, 12, NULL, NULL },
};

static const struct cfg_key rainbond_keys[] = {
	{ "auth", CFG_T_GROUP, CFG_REQUIRED },
	{ NULL, 0, 0 },
};

struct rainbond_conf {
	struct auth_header *auth;
	char *users_url;
};

static void *rainbond_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				const char *config_dir)
{
	struct auth_header *auth =
		auth_header_configure(cc, target, where, config_dir, "Authorization", "");
	if (!auth)
		return NULL;
	struct rainbond_conf *c = XNEW(struct rainbond_conf);
	c->auth = auth;
	c->users_url = http_url_join(cfg_string(target, "url", ""), RAINBOND_USERS_PATH);
	return c;
}

static void rainbond_free_config(void *conf)
{
	struct rainbond_conf *c = conf;
	if (!c)
		return;
	auth_header_free(c->auth);
	free(c->users_url);
	free(c);
}

static void rainbond_build_add(const struct conf_target *tc, const char *payload, struct http_request *req)
{
	const struct rainbond_conf *c = tc->driver_conf;
	req->method = "POST";
	req->url = xstrdup(c->users_url);
	auth_header_apply(c->auth, req);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, xstrdup(payload), strlen(payload));
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

static void rainbond_classify_add(const struct conf_target *tc, const struct http_response *resp,
				  struct outcome *out)
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

const struct target_driver driver_rainbond = {
	.name = "rainbond",
	.summary = "Rainbond console OpenAPI, POST /openapi/v1/users",
	.fields = rainbond_fields,
	.n_fields = sizeof(rainbond_fields) / sizeof(rainbond_fields[0]),
	.default_key = "nick_name",
	.keys = rainbond_keys,
	.configure = rainbond_configure,
	.free_config = rainbond_free_config,
	.build_add = rainbond_build_add,
	.classify_add = rainbond_classify_add,
};
