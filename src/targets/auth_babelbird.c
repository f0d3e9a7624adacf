/* BabelBird OAuth, headless. A daemon has no browser for the authorization
 * code grant, so the code comes from authorizeByJWT.do, which takes a JWT
 * signed with the client secret (HS256, carrying client_id, iat and exp:
 * a guess, see membersync.conf(5)); token.do swaps the code for an access
 * token (one hour) and a refresh token (about 30 days), and
 * refreshToken.do renews them. The engine drives the steps: apply() says
 * -EAGAIN while no token is fresh, token_request() builds the next request
 * of the flow and token_answer() reads its answer.
 *
 * Nothing here may reach a log: the secret, the JWT, codes and tokens are
 * only ever put into requests, and reasons are scrubbed of them. */
#include "config.h"

#include "targets/auth.h"
#include "targets/classify.h"
#include "util/base64.h"
#include "util/sbuf.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define BB_DEFAULT_JWT_TTL 300
#define BB_DEFAULT_MARGIN 300
/* The documented lifetime, for an answer that leaves expires_in out. */
#define BB_DEFAULT_EXPIRES_IN 3600
/* A year: longer lifetimes are clamped so now + expires_in cannot overflow. */
#define BB_MAX_EXPIRES_IN (366LL * 86400)
/* Reasons quote at most this much of an answer. */
#define BB_REASON_CHARS 200

static const struct cfg_key babelbird_auth_keys[] = {
	{ "client_id", CFG_T_STRING, CFG_REQUIRED },
	{ "client_secret_file", CFG_T_STRING, CFG_REQUIRED },
	{ "redirect_uri", CFG_T_STRING, CFG_REQUIRED },
	{ "jwt_ttl", CFG_T_INT, 0 },
	{ "refresh_margin", CFG_T_INT, 0 },
	{ "authorize_path", CFG_T_STRING, 0 },
	{ "token_path", CFG_T_STRING, 0 },
	{ "refresh_path", CFG_T_STRING, 0 },
	{ "code_path", CFG_T_STRING, 0 },
	{ "refresh_basic_auth", CFG_T_BOOL, 0 },
	{ NULL, 0, 0 },
};

struct babelbird_auth_conf {
	char *client_id;
	struct secret *client_secret;
	char *redirect_uri;
	long long jwt_ttl;
	long long margin;
	char *authorize_path;
	char *token_path;
	char *refresh_path;
	char *code_path;
	bool refresh_basic;
};

enum babelbird_flow_step {
	BB_SENT_NONE,
	BB_SENT_AUTHORIZE,
	BB_SENT_TOKEN,
	BB_SENT_REFRESH,
};

struct babelbird_session {
	char *access_token;
	int64_t renew_at;	/* unix seconds: from then on, fetch a new one */
	char *refresh_token;
	char *code;		/* between authorizeByJWT.do and token.do */
	/* The JWT, code or refresh token of the request in flight, kept
	 * only to scrub it from the reason should the answer quote it. */
	char *sent_credential;
	enum babelbird_flow_step sent;
};

/* Frees a string that held a credential, wiping it first. */
static void bb_wipe(char **s)
{
	if (!*s)
		return;
	OPENSSL_cleanse(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

static void babelbird_auth_free_config(void *conf)
{
	struct babelbird_auth_conf *c = conf;
	if (!c)
		return;
	free(c->client_id);
	secret_free(c->client_secret);
	free(c->redirect_uri);
	free(c->authorize_path);
	free(c->token_path);
	free(c->refresh_path);
	free(c->code_path);
	free(c);
}

/* Printable ASCII without spaces: what can go into a header or a JWT claim
 * without surprises. */
static bool bb_visible_ascii(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static char *bb_path_setting(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
			     const char *key, const char *def, bool *ok)
{
	const char *v = cfg_string(g, key, def);
	if (!*v || !bb_visible_ascii(v)) {
		cfg_error(cc, config_setting_get_member(g, key), "%s.%s must be a non-empty path without spaces",
			  where, key);
		*ok = false;
	}
	return xstrdup(v);
}

static void *babelbird_auth_configure(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				      const char *config_dir, const struct auth_defaults *def)
{
	struct babelbird_auth_conf *c = XNEW(struct babelbird_auth_conf);
	size_t errors = cc->diag->errors;
	bool ok = true;

	const char *id = cfg_string(g, "client_id", NULL);
	if (id && !bb_visible_ascii(id)) {
		cfg_error(cc, config_setting_get_member(g, "client_id"),
			  "%s.client_id must be printable ASCII without spaces", where);
		ok = false;
	}
	c->client_id = xstrdup(id ? id : "");
	/* The client id goes into HTTP Basic credentials, where a colon
	 * would end it. */
	if (strchr(c->client_id, ':')) {
		cfg_error(cc, config_setting_get_member(g, "client_id"), "%s.client_id must not contain ':'", where);
		ok = false;
	}
	const char *uri = cfg_string(g, "redirect_uri", NULL);
	if (uri && strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0) {
		cfg_error(cc, config_setting_get_member(g, "redirect_uri"),
			  "%s.redirect_uri must start with http:// or https://", where);
		ok = false;
	}
	c->redirect_uri = xstrdup(uri ? uri : "");
	c->jwt_ttl = cfg_int_range(cc, g, where, "jwt_ttl", BB_DEFAULT_JWT_TTL, 1, 86400);
	c->margin = cfg_int_range(cc, g, where, "refresh_margin", BB_DEFAULT_MARGIN, 0, 86400);
	c->authorize_path = bb_path_setting(cc, g, where, "authorize_path", "/api/authorizeByJWT.do", &ok);
	c->token_path = bb_path_setting(cc, g, where, "token_path", "/api/token.do", &ok);
	c->refresh_path = bb_path_setting(cc, g, where, "refresh_path", "/api/refreshToken.do", &ok);
	c->code_path = bb_path_setting(cc, g, where, "code_path", "data.code", &ok);
	c->refresh_basic = cfg_bool(g, "refresh_basic_auth", true);
	if (config_setting_get_member(g, "client_secret_file") &&
	    auth_read_secret(cc, g, where, "client_secret_file", config_dir, &c->client_secret) < 0)
		ok = false;
	if (!ok || !id || !uri || !c->client_secret || cc->diag->errors != errors) {
		babelbird_auth_free_config(c);
		return NULL;
	}
	return c;
}

static void *babelbird_session_new(const void *conf)
{
	return XNEW(struct babelbird_session);
}

static void babelbird_session_free(void *session)
{
	struct babelbird_session *s = session;
	if (!s)
		return;
	bb_wipe(&s->access_token);
	bb_wipe(&s->refresh_token);
	bb_wipe(&s->code);
	bb_wipe(&s->sent_credential);
	free(s);
}

static int babelbird_auth_apply(const void *conf, void *session, struct http_request *req, int64_t now)
{
	struct babelbird_session *s = session;
	if (!s->access_token || now >= s->renew_at)
		return -EAGAIN;
	http_request_add_header(req, "Authorization: Bearer %s", s->access_token);
	return 0;
}

/* The JWT authorizeByJWT.do takes: HS256 over {"client_id","iat","exp"}. */
static char *bb_jwt(const struct babelbird_auth_conf *c, int64_t now)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	json_object *claims = json_object_new_object();
	json_object_object_add(claims, "client_id", json_object_new_string(c->client_id));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + c->jwt_ttl));
	const char *payload = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
	char *h64 = base64_encode(header, sizeof(header) - 1, true, NULL);
	char *p64 = base64_encode(payload, strlen(payload), true, NULL);
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "%s.%s", h64, p64);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (!HMAC(EVP_sha256(), c->client_secret->value, (int)c->client_secret->len, (const unsigned char *)sb.buf,
		  sb.len, mac, &mac_len))
		abort();
	char *sig = base64_encode(mac, mac_len, true, NULL);
	sbuf_addf(&sb, ".%s", sig);
	OPENSSL_cleanse(mac, sizeof(mac));
	free(sig);
	free(h64);
	free(p64);
	json_object_put(claims);
	char *jwt = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return jwt;
}

static void bb_add_basic_auth(const struct babelbird_auth_conf *c, struct http_request *req)
{
	struct sbuf pair;
	sbuf_init(&pair);
	sbuf_addf(&pair, "%s:%s", c->client_id, c->client_secret->value);
	char *b64 = base64_encode(pair.buf, pair.len, false, NULL);
	secret_note(b64, strlen(b64));
	http_request_add_header(req, "Authorization: Basic %s", b64);
	OPENSSL_cleanse(pair.buf, pair.len);
	sbuf_release(&pair);
	bb_wipe(&b64);
}

static void babelbird_token_request(const void *conf, void *session, const char *base_url, int64_t now,
				    struct http_request *req)
{
	const struct babelbird_auth_conf *c = conf;
	struct babelbird_session *s = session;

	free(req->url);
	bb_wipe(&s->sent_credential);
	if (s->code) {
		req->method = "POST";
		req->url = http_url_join(base_url, c->token_path);
		http_request_add_query(req, "grant_type", "authorization_code");
		http_request_add_query(req, "code", s->code);
		http_request_add_query(req, "redirect_uri", c->redirect_uri);
		bb_add_basic_auth(c, req);
		/* Single use: a failed exchange starts the flow again. */
		s->sent_credential = s->code;
		s->code = NULL;
		s->sent = BB_SENT_TOKEN;
	} else if (s->refresh_token) {
		req->method = "POST";
		req->url = http_url_join(base_url, c->refresh_path);
		http_request_add_query(req, "grant_type", "refresh_token");
		http_request_add_query(req, "refresh_token", s->refresh_token);
		if (c->refresh_basic)
			bb_add_basic_auth(c, req);
		s->sent_credential = xstrdup(s->refresh_token);
		s->sent = BB_SENT_REFRESH;
	} else {
		char *jwt = bb_jwt(c, now);
		req->method = "GET";
		req->url = http_url_join(base_url, c->authorize_path);
		http_request_add_query(req, "response_type", "code");
		http_request_add_query(req, "client_id", c->client_id);
		http_request_add_query(req, "jwt_token", jwt);
		s->sent_credential = jwt;
		s->sent = BB_SENT_AUTHORIZE;
	}
	/* An empty body still makes curl send Content-Length: 0, which some
	 * servers want on a POST. */
	if (strcmp(req->method, "POST") == 0)
		http_request_set_body(req, xstrdup(""), 0);
	http_request_add_header(req, "Accept: application/json");
}

/* Replaces every occurrence of `secret` in *text with asterisks. */
static void bb_redact(char **text, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	if (n < 4 || !strstr(*text, secret))
		return;
	struct sbuf sb;
	sbuf_init(&sb);
	const char *p = *text, *hit;
	while ((hit = strstr(p, secret))) {
		sbuf_add(&sb, p, (size_t)(hit - p));
		sbuf_addstr(&sb, "********");
		p = hit + n;
	}
	sbuf_addstr(&sb, p);
	free(*text);
	*text = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
}

/* "what: HTTP 400: invalid_grant: ...": the answer's own words where it
 * has any (OAuth error members, else the BabelBird envelope's msg), else
 * the start of the body; never any credential this session holds. */
static char *bb_reason(const struct babelbird_auth_conf *c, const struct babelbird_session *s,
		       const struct http_response *resp, json_object *body, const char *what)
{
	char *r;
	if (resp->status == 0) {
		r = xasprintf("%s: no answer: %s", what, resp->error ? resp->error : "transfer failed");
	} else {
		const char *err = classify_json_text(body, "error");
		const char *desc = classify_json_text(body, "error_description");
		const char *msg = classify_json_text(body, "msg");
		if (!msg)
			msg = classify_json_text(body, "message");
		char *words;
		if (err || desc)
			words = xasprintf("%s%s%s", err ? err : "", err && desc ? ": " : "", desc ? desc : "");
		else if (msg)
			words = xstrdup(msg);
		else
			words = NULL;
		if (words) {
			char *cut = http_text_excerpt(words, BB_REASON_CHARS);
			r = xasprintf("%s: HTTP %ld: %s", what, resp->status, cut);
			free(cut);
			free(words);
		} else {
			char *sr = classify_status_reason(resp);
			r = xasprintf("%s: %s", what, sr);
			free(sr);
		}
	}
	bb_redact(&r, c->client_secret->value);
	bb_redact(&r, s->refresh_token);
	bb_redact(&r, s->access_token);
	bb_redact(&r, s->sent_credential);
	return r;
}

/* Whether a BabelBird envelope says no: a code other than 0 or success
 * false. OAuth answers have neither member. */
static bool bb_envelope_error(json_object *body)
{
	json_object *v;
	if (json_object_object_get_ex(body, "success", &v) && json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v))
		return true;
	if (!json_object_object_get_ex(body, "code", &v) || !v)
		return false;
	/* A numeric string is an envelope code too; any other "code" (an
	 * authorization code at the top level, say) is not. */
	long long n;
	return classify_json_int(v, &n) && n != 0;
}

/* A failed answer of a token endpoint: -EIO for trouble worth a retry
 * later (no answer, throttled, server error), -EACCES for a refusal that
 * retrying cannot change (the engine pauses the target), else -EPROTO. */
static int bb_failure_kind(const struct http_response *resp)
{
	long st = resp->status;
	if (st == 0 || st == 429 || st >= 500)
		return -EIO;
	if (st == 401 || st == 403)
		return -EACCES;
	return -EPROTO;
}

static int bb_authorize_answer(const struct babelbird_auth_conf *c, struct babelbird_session *s,
			       const struct http_response *resp, json_object *body, char **err)
{
	const char *what = "authorizeByJWT.do";
	if (resp->status < 200 || resp->status > 299 || !body || bb_envelope_error(body)) {
		int r = bb_failure_kind(resp);
		/* A refused JWT or client id, or a request it calls malformed,
		 * comes back the same next time: stop rather than hammer. */
		if (r == -EPROTO)
			r = -EACCES;
		if (!body && resp->status >= 200 && resp->status <= 299)
			r = -EPROTO;
		*err = bb_reason(c, s, resp, body, what);
		return r;
	}
	const char *code = classify_json_path_text(body, c->code_path);
	if (!code || !*code) {
		*err = xasprintf("%s: the answer has no authorization code at %s", what, c->code_path);
		return -EPROTO;
	}
	bb_wipe(&s->code);
	s->code = xstrdup(code);
	return -EAGAIN;
}

/* Reads {access_token, refresh_token, expires_in}, at the top level or,
 * should a deployment wrap it in the BabelBird envelope, under "data". */
static int bb_take_tokens(const struct babelbird_auth_conf *c, struct babelbird_session *s, json_object *body,
			  int64_t now, const char *what, char **err)
{
	json_object *src = body;
	if (!classify_json_text(src, "access_token")) {
		json_object *data = classify_json_path(body, "data");
		if (data && json_object_is_type(data, json_type_object))
			src = data;
	}
	json_object *at = NULL, *rt = NULL, *ei = NULL;
	json_object_object_get_ex(src, "access_token", &at);
	json_object_object_get_ex(src, "refresh_token", &rt);
	json_object_object_get_ex(src, "expires_in", &ei);
	if (!at || !json_object_is_type(at, json_type_string)) {
		*err = xasprintf("%s: the answer has no access_token", what);
		return -EPROTO;
	}
	/* They go into an Authorization header and a URL: a control
	 * character or a space could forge another header. */
	if (!bb_visible_ascii(json_object_get_string(at)) ||
	    (rt && json_object_is_type(rt, json_type_string) && !bb_visible_ascii(json_object_get_string(rt)))) {
		*err = xasprintf("%s: the answer's tokens hold characters a header cannot carry", what);
		return -EPROTO;
	}
	long long expires_in = BB_DEFAULT_EXPIRES_IN;
	if (ei && (json_object_is_type(ei, json_type_int) || json_object_is_type(ei, json_type_string))) {
		long long v;
		if (!classify_json_int(ei, &v) || v <= 0) {
			*err = xasprintf("%s: expires_in is not a positive number of seconds", what);
			return -EPROTO;
		}
		expires_in = v > BB_MAX_EXPIRES_IN ? BB_MAX_EXPIRES_IN : v;
	}
	/* Renew `margin` early, but never so early that a short-lived token
	 * is renewed as soon as it arrives. */
	long long margin = c->margin < expires_in / 2 ? c->margin : expires_in / 2;
	bb_wipe(&s->access_token);
	s->access_token = xstrdup(json_object_get_string(at));
	secret_note(s->access_token, strlen(s->access_token));
	s->renew_at = now + expires_in - margin;
	if (rt && json_object_is_type(rt, json_type_string)) {
		bb_wipe(&s->refresh_token);
		s->refresh_token = xstrdup(json_object_get_string(rt));
		secret_note(s->refresh_token, strlen(s->refresh_token));
	}
	return 0;
}

static int bb_token_grant_answer(const struct babelbird_auth_conf *c, struct babelbird_session *s,
				 const struct http_response *resp, json_object *body, int64_t now, char **err)
{
	const char *what = "token.do";
	if (resp->status < 200 || resp->status > 299 || !body || bb_envelope_error(body)) {
		*err = bb_reason(c, s, resp, body, what);
		/* A refused code (expired, used) is worth one more flow, but
		 * counted: the engine gives up after max_retries. */
		return bb_failure_kind(resp);
	}
	return bb_take_tokens(c, s, body, now, what, err);
}

static int bb_refresh_answer(const struct babelbird_auth_conf *c, struct babelbird_session *s,
			     const struct http_response *resp, json_object *body, int64_t now, char **err)
{
	const char *what = "refreshToken.do";
	if (resp->status >= 200 && resp->status <= 299 && body && !bb_envelope_error(body))
		return bb_take_tokens(c, s, body, now, what, err);
	int r = bb_failure_kind(resp);
	if (r == -EIO) {
		*err = bb_reason(c, s, resp, body, what);
		return r;
	}
	/* Refused (expired, revoked, rotated away): the full flow gets a
	 * new pair. */
	bb_wipe(&s->refresh_token);
	return -EAGAIN;
}

static int babelbird_token_answer(const void *conf, void *session, const struct http_response *resp, int64_t now,
				  char **err, long *retry_after)
{
	const struct babelbird_auth_conf *c = conf;
	struct babelbird_session *s = session;
	json_object *body = classify_json_body(resp);
	enum babelbird_flow_step sent = s->sent;
	int r;

	s->sent = BB_SENT_NONE;
	switch (sent) {
	case BB_SENT_AUTHORIZE:
		r = bb_authorize_answer(c, s, resp, body, err);
		break;
	case BB_SENT_TOKEN:
		r = bb_token_grant_answer(c, s, resp, body, now, err);
		break;
	case BB_SENT_REFRESH:
		r = bb_refresh_answer(c, s, resp, body, now, err);
		break;
	default:
		*err = xstrdup("an answer to no token request");
		r = -EPROTO;
		break;
	}
	bb_wipe(&s->sent_credential);
	json_object_put(body);
	/* Worth another try later: the API may say when. */
	if (r < 0 && r != -EAGAIN && r != -EACCES)
		*retry_after = resp->retry_after;
	return r;
}

static void babelbird_invalidate(const void *conf, void *session)
{
	struct babelbird_session *s = session;
	/* The refresh token stays: the API refused the access token, and
	 * renewing it is one request instead of two. */
	bb_wipe(&s->access_token);
	bb_wipe(&s->code);
	s->renew_at = 0;
}

const struct auth_provider auth_provider_babelbird = {
	.type = "babelbird",
	.summary = "BabelBird OAuth: authorizeByJWT.do, token.do and refreshToken.do",
	.keys = babelbird_auth_keys,
	.configure = babelbird_auth_configure,
	.free_config = babelbird_auth_free_config,
	.session_new = babelbird_session_new,
	.session_free = babelbird_session_free,
	.apply = babelbird_auth_apply,
	.token_request = babelbird_token_request,
	.token_answer = babelbird_token_answer,
	.invalidate = babelbird_invalidate,
};
