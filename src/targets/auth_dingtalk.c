/* DingTalk access tokens: GET <url>/gettoken?appkey=..&appsecret=..
 * answers {"errcode":0,"access_token":"..","expires_in":7200}; the token
 * then rides on every request as ?access_token=. DingTalk hands out the
 * same token (and extends it) while it is valid, so one token serves a
 * whole run; it is fetched again refresh_margin seconds before it expires
 * and whenever the API calls it invalid (40014) or expired (42001).
 * The token request's URL holds the app secret: the engine never logs
 * URLs, and no answer excerpt that might hold a token is ever reported. */
#include "config.h"

#include "targets/auth.h"
#include "targets/classify.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DT_TOKEN_PATH "/gettoken"
#define DT_REFRESH_MARGIN 300
#define DT_DEFAULT_EXPIRES_IN 7200
#define DT_MSG_CHARS 200

/* "不合法的corpId或corpSecret" (40089) and its older relatives; a guess
 * beyond 40089, hence refused_codes. */
static const long long dt_refused_default[] = { 40001, 40013, 40089 };

struct auth_dingtalk_conf {
	struct secret *appkey;
	struct secret *appsecret;
	char *token_path;
	long long refresh_margin;	/* seconds */
	long long *refused;		/* gettoken errcodes meaning "wrong appkey/appsecret" */
	size_t n_refused;
};

struct auth_dingtalk_session {
	struct secret *token;	/* a secret: wiped when dropped */
	int64_t refresh_at;	/* wall seconds from which a new token is wanted */
};

static const struct cfg_key auth_dingtalk_keys[] = {
	{ "appkey_file", CFG_T_STRING, CFG_REQUIRED },
	{ "appsecret_file", CFG_T_STRING, CFG_REQUIRED },
	{ "token_path", CFG_T_STRING, 0 },
	{ "refresh_margin", CFG_T_INT, 0 },
	{ "refused_codes", CFG_T_INTS, 0 },
	{ NULL, 0, 0 },
};

static void auth_dingtalk_free_config(void *conf)
{
	struct auth_dingtalk_conf *c = conf;
	if (!c)
		return;
	secret_free(c->appkey);
	secret_free(c->appsecret);
	free(c->token_path);
	free(c->refused);
	free(c);
}

/* A path that goes into a URL as it is: no spaces or control characters,
 * no query or fragment (the credentials are appended as the query). */
static bool auth_dingtalk_path_ok(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
			return false;
	return true;
}

static void *auth_dingtalk_configure(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				     const char *config_dir, const struct auth_defaults *def)
{
	struct auth_dingtalk_conf *c = XNEW(struct auth_dingtalk_conf);
	bool ok = true;

	c->token_path = xstrdup(cfg_string(g, "token_path", DT_TOKEN_PATH));
	if (!auth_dingtalk_path_ok(c->token_path)) {
		cfg_error(cc, config_setting_get_member(g, "token_path"),
			  "%s.token_path: '%s' is not a URL path (no spaces, '?' or '#')", where, c->token_path);
		ok = false;
	}
	c->refresh_margin = cfg_int_range(cc, g, where, "refresh_margin", DT_REFRESH_MARGIN, 0, 86400);
	c->refused = cfg_ints(g, "refused_codes", &c->n_refused);
	if (!c->refused) {
		c->n_refused = sizeof(dt_refused_default) / sizeof(dt_refused_default[0]);
		c->refused = xmemdup(dt_refused_default, sizeof(dt_refused_default));
	}
	for (size_t i = 0; i < c->n_refused; i++)
		if (c->refused[i] == 0) {
			cfg_error(cc, config_setting_get_member(g, "refused_codes"),
				  "%s.refused_codes: 0 means success, it cannot mean refused", where);
			ok = false;
		}
	/* Absent keys are already reported by the key table. */
	if (config_setting_get_member(g, "appkey_file") &&
	    auth_read_secret(cc, g, where, "appkey_file", config_dir, &c->appkey) < 0)
		ok = false;
	if (config_setting_get_member(g, "appsecret_file") &&
	    auth_read_secret(cc, g, where, "appsecret_file", config_dir, &c->appsecret) < 0)
		ok = false;
	if (!ok || !c->appkey || !c->appsecret) {
		auth_dingtalk_free_config(c);
		return NULL;
	}
	return c;
}

static void *auth_dingtalk_session_new(const void *conf)
{
	return XNEW(struct auth_dingtalk_session);
}

static void auth_dingtalk_drop(struct auth_dingtalk_session *s)
{
	secret_free(s->token);
	s->token = NULL;
	s->refresh_at = 0;
}

static void auth_dingtalk_session_free(void *session)
{
	struct auth_dingtalk_session *s = session;
	if (!s)
		return;
	auth_dingtalk_drop(s);
	free(s);
}

static int auth_dingtalk_apply(const void *conf, void *session, struct http_request *req, int64_t now)
{
	const struct auth_dingtalk_session *s = session;
	if (!s->token || now >= s->refresh_at)
		return -EAGAIN;
	http_request_add_query(req, "access_token", s->token->value);
	return 0;
}

static void auth_dingtalk_token_request(const void *conf, void *session, const char *base_url, int64_t now,
					struct http_request *req)
{
	const struct auth_dingtalk_conf *c = conf;
	free(req->url);
	req->method = "GET";
	req->url = http_url_join(base_url, c->token_path);
	http_request_add_query(req, "appkey", c->appkey->value);
	http_request_add_query(req, "appsecret", c->appsecret->value);
	http_request_add_header(req, "Accept: application/json");
}

/* An integer member, also when sent as a string ("sub_code":"60011"). */
static bool auth_dingtalk_code(json_object *obj, const char *key, long long *out)
{
	json_object *v;
	return obj && json_object_object_get_ex(obj, key, &v) && classify_json_int(v, out);
}

/* The API's words, cut and with control characters escaped. Caller frees. */
static char *auth_dingtalk_msg(json_object *body, const char *key)
{
	return http_text_excerpt(classify_json_text(body, key), DT_MSG_CHARS);
}

/* Why an answer cannot be used. The body is only quoted when it cannot
 * hold a token: a half-valid success answer must not end up in a log. */
static char *auth_dingtalk_unexpected(const struct http_response *resp)
{
	if (resp->body && memmem(resp->body, resp->body_len, "access_token", strlen("access_token")))
		return xasprintf("unexpected answer from DingTalk's gettoken: HTTP %ld (%zu bytes, not quoted)",
				 resp->status, resp->body_len);
	char *r = classify_status_reason(resp);
	char *s = xasprintf("unexpected answer from DingTalk's gettoken: %s", r);
	free(r);
	return s;
}

static bool auth_dingtalk_refused(const struct auth_dingtalk_conf *c, long long code)
{
	for (size_t i = 0; i < c->n_refused; i++)
		if (c->refused[i] == code)
			return true;
	return false;
}

static int auth_dingtalk_token_answer(const void *conf, void *session, const struct http_response *resp,
				      int64_t now, char **err, long *retry_after)
{
	const struct auth_dingtalk_conf *c = conf;
	struct auth_dingtalk_session *s = session;
	json_object *body = NULL, *tok;
	long long code, expires_in = DT_DEFAULT_EXPIRES_IN, wait, margin;
	int r;

	auth_dingtalk_drop(s);
	if (resp->status == 0) {
		*err = xasprintf("no answer from DingTalk's gettoken: %s", resp->error ? resp->error : "transfer failed");
		r = -EIO;
		goto out;
	}
	body = classify_json_body(resp);
	/* The per-address ban has no errcode: {"status":1111,"wait":N,...}. */
	if (body && !json_object_object_get_ex(body, "errcode", NULL) && auth_dingtalk_code(body, "wait", &wait)) {
		*err = xasprintf("DingTalk bans this address for %lld s", wait);
		*retry_after = wait > 0 ? (long)wait : -1;
		r = -EBUSY;
		goto out;
	}
	if (resp->status != 200 || !auth_dingtalk_code(body, "errcode", &code)) {
		*retry_after = resp->retry_after;
		*err = auth_dingtalk_unexpected(resp);
		r = -EPROTO;
		goto out;
	}
	if (code != 0) {
		char *msg = auth_dingtalk_msg(body, "errmsg");
		bool refused = auth_dingtalk_refused(c, code);
		*err = xasprintf("%sDingTalk's gettoken answered errcode %lld: %s",
				 refused ? "wrong appkey or appsecret: " : "", code, msg);
		free(msg);
		/* -1 (busy) and anything unknown are worth another try. */
		r = refused ? -EACCES : code == -1 ? -EBUSY : -EPROTO;
		goto out;
	}
	if (!json_object_object_get_ex(body, "access_token", &tok) || !json_object_is_type(tok, json_type_string) ||
	    json_object_get_string_len(tok) == 0 ||
	    strlen(json_object_get_string(tok)) != (size_t)json_object_get_string_len(tok) ||
	    (json_object_object_get_ex(body, "expires_in", NULL) &&
	     (!auth_dingtalk_code(body, "expires_in", &expires_in) || expires_in <= 0))) {
		*err = auth_dingtalk_unexpected(resp);
		r = -EPROTO;
		goto out;
	}
	s->token = XNEW(struct secret);
	s->token->len = (size_t)json_object_get_string_len(tok);
	s->token->value = xstrndup(json_object_get_string(tok), s->token->len);
	secret_note(s->token->value, s->token->len);
	/* A margin of more than half the lifetime would ask for a new token
	 * straight away, again and again. */
	margin = c->refresh_margin < expires_in / 2 ? c->refresh_margin : expires_in / 2;
	s->refresh_at = now + expires_in - margin;
	r = 0;
out:
	json_object_put(body);
	return r;
}

static void auth_dingtalk_invalidate(const void *conf, void *session)
{
	auth_dingtalk_drop(session);
}

const struct auth_provider auth_provider_dingtalk = {
	.type = "dingtalk",
	.summary = "DingTalk access token from appkey and appsecret files, sent as ?access_token=",
	.keys = auth_dingtalk_keys,
	.configure = auth_dingtalk_configure,
	.free_config = auth_dingtalk_free_config,
	.session_new = auth_dingtalk_session_new,
	.session_free = auth_dingtalk_session_free,
	.apply = auth_dingtalk_apply,
	.token_request = auth_dingtalk_token_request,
	.token_answer = auth_dingtalk_token_answer,
	.invalidate = auth_dingtalk_invalidate,
};
