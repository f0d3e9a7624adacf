/*
 * BabelBird enterprise network disk (prefix /babelbird): the headless OAuth
 * flow and the enterprise member endpoints.
 *
 *   GET  /api/authorizeByJWT.do?response_type=code&client_id=..&jwt_token=..
 *        The JWT must be HS256-signed with the client secret and carry
 *        client_id, iat and exp (at most a day apart, not expired, not
 *        issued more than a minute ahead).
 *        -> 200 {"code":0,"success":true,"msg":"success",
 *                "data":{"code":"<code>","expires_in":60}}
 *        401 {"code":40100|40101,"success":false,"msg":...} when refused,
 *        400 {"code":10001,...} when a parameter is missing.
 *   POST /api/token.do?grant_type=authorization_code&code=..&redirect_uri=..
 *        HTTP Basic client_id:client_secret; codes are single-use and live
 *        60 s. -> 200 {"access_token","token_type":"bearer","expires_in":3600,
 *        "refresh_token"}; OAuth errors otherwise: 401 invalid_client,
 *        400 unsupported_grant_type, invalid_request, invalid_grant.
 *   POST /api/refreshToken.do?grant_type=refresh_token&refresh_token=..
 *        Basic auth too; the refresh token (30 days) is rotated: the old
 *        one dies, a new pair comes back.
 *   POST /nd/api/enterprise/add_ent_mem    form or JSON body
 *   POST /nd/api/enterprise/enterprise_members  keyName, page, pageSize
 *        -> list items {id, email, name, phone, frozen}
 *   POST /api/updateUserInfo.do  id (the lookup's), frozen (0/1), and any
 *        of the add's fields: only those given change, each checked as the
 *        add checks it. The real parameters are undocumented (the README
 *        only says frozen=1 freezes): the member is taken to be named by
 *        "id", as the lookup lists it, and unknown parameters to be
 *        ignored, as a PHP backend would; the dump lists their names per
 *        member so a test can see they were sent.
 *        Authorization: Bearer <access_token>; missing: HTTP 401 code
 *        40000; unknown: 200 code 40001; expired: 200 code 40002.
 *        Every answer is the envelope {"code","success","msg","data"}:
 *          0      success, data {"id"} (add, update) or {"total","list"}
 *                 (lookup)
 *          10001  a missing or malformed parameter
 *          10002  invalid email
 *          10003  invalid password
 *          10004  invalid phone number (mainland mobile: 1[3-9] + 9 digits)
 *          10005  a value out of range (sex, can_ownfile, department ids...)
 *          20001  email already exists (a duplicate; also an update to
 *                 another member's email)
 *          20002  no member has that id (update; undocumented, so the
 *                 code is this simulator's, like the others)
 *   Rate-limited requests: 429, Retry-After and {"code":42900,...}.
 *
 * Control hooks, all POST /_sim/api/babelbird/<action>, JSON body optional:
 *   expire-tokens   {"after": N}  access tokens expire now, or when the
 *                   Nth add_ent_mem request from now arrives (before it is
 *                   handled); refresh tokens stay valid
 *   revoke-refresh  {"after": N}  refresh tokens become invalid, likewise
 *   refuse-tokens   {"on": true|false}  every access token is answered
 *                   as invalid (code 40001), as after a key was revoked
 *   token-ttl       {"seconds": N}  expires_in of access tokens issued
 *                   from now on (default 3600)
 *   add-member      {"email": .., "name": ..}  a member that was there
 *                   before membersync; -> {"id": N}
 *
 * The dump: members (each as stored, password included, with "frozen"
 * 0/1, "creates": successful add_ent_mem calls for its email (0 for one
 * made with add-member), "updates", "password_updates" and
 * "ignored_update_fields"), creates ({lowercased email: successful adds}),
 * duplicates_refused ({lowercased email: adds refused with 20001}),
 * issued, refused, access_tokens, refresh_tokens and token_ttl.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PREFIX "/babelbird"
#define R_AUTHORIZE PREFIX "/api/authorizeByJWT.do"
#define R_TOKEN PREFIX "/api/token.do"
#define R_REFRESH PREFIX "/api/refreshToken.do"
#define R_ADD PREFIX "/nd/api/enterprise/add_ent_mem"
#define R_LOOKUP PREFIX "/nd/api/enterprise/enterprise_members"
#define R_UPDATE PREFIX "/api/updateUserInfo.do"

#define DEFAULT_CLIENT_ID "babelbird-client"
#define DEFAULT_CLIENT_SECRET "babelbird-secret"
#define CODE_TTL_MS 60000u
#define ACCESS_TTL_S 3600u
#define REFRESH_TTL_MS (30ull * 86400000ull)
#define JWT_MAX_LIFETIME_S 86400
#define JWT_LEEWAY_S 60
#define TOKEN_HEX 32
#define FIRST_MEMBER_ID 100001
#define PAGE_SIZE_DEFAULT 20
#define PAGE_SIZE_MAX 100
/* Codes nobody exchanged are dropped past this many. */
#define MAX_LIVE_CODES 1024

enum bb_code {
	BB_OK = 0,
	BB_E_PARAM = 10001,
	BB_E_EMAIL = 10002,
	BB_E_PASSWORD = 10003,
	BB_E_PHONE = 10004,
	BB_E_VALUE = 10005,
	BB_E_EXISTS = 20001,
	BB_E_NO_MEMBER = 20002,
	BB_E_NO_TOKEN = 40000,
	BB_E_TOKEN_INVALID = 40001,
	BB_E_TOKEN_EXPIRED = 40002,
	BB_E_CLIENT = 40100,
	BB_E_JWT = 40101,
	BB_E_THROTTLED = 42900,
};

enum bb_token_kind {
	TOK_CODE,
	TOK_ACCESS,
	TOK_REFRESH,
};

struct bb_token {
	enum bb_token_kind kind;
	char value[TOKEN_HEX + 1];
	uint64_t expires_ms;
	bool dead;		/* used (codes), rotated or revoked (refresh) */
};

struct bb_member {
	long long id;
	char *email_key;	/* lowercased: the duplicate index */
	json_object *obj;	/* what the dump shows */
	long long creates;	/* adds of this email, this member's included */
	long long updates;
	long long password_updates;
	json_object *ignored;	/* names an update sent that it does not know */
};

struct bb_state {
	struct bb_member **members;
	size_t len, cap;
	struct sim_map by_email;
	struct bb_token *tokens;
	size_t n_tokens, cap_tokens;
	unsigned int token_ttl_s;
	long long expire_after;	/* add requests until expire-tokens; -1 none */
	long long revoke_after;
	bool refuse_all;	/* refuse-tokens */
	uint64_t rng;
	uint64_t issued_codes, issued_access, issued_refresh;
	uint64_t refused_missing, refused_invalid, refused_expired;
	json_object *creates;		/* email key -> successful adds */
	json_object *duplicates;	/* email key -> adds refused as taken */
};

/* ------------------------------------------------------------------ */
/* SHA-256 and HMAC (FIPS 180-4, RFC 2104): written out here so the check
 * does not share code, or a bug, with the daemon's OpenSSL calls. */

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t buf_len;
	uint64_t total;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = k + s1 + ch + sha256_k[i] + w[i];
		uint32_t s0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = s0 + maj;

		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->buf_len = 0;
	s->total = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->total += len;
	while (len) {
		size_t n = 64 - s->buf_len < len ? 64 - s->buf_len : len;

		memcpy(s->buf + s->buf_len, p, n);
		s->buf_len += n;
		p += n;
		len -= n;
		if (s->buf_len == 64) {
			sha256_block(s->h, s->buf);
			s->buf_len = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, zero = 0, len[8];

	sha256_update(s, &pad, 1);
	while (s->buf_len != 56)
		sha256_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

static void hmac_sha256(const char *key, size_t key_len, const char *msg, size_t msg_len, uint8_t out[32])
{
	uint8_t k[64] = { 0 }, pad[64], inner[32];
	struct sha256 s;

	if (key_len > 64) {
		sha256_init(&s);
		sha256_update(&s, key, key_len);
		sha256_final(&s, k);
	} else {
		memcpy(k, key, key_len);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&s);
	sha256_update(&s, pad, 64);
	sha256_update(&s, msg, msg_len);
	sha256_final(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&s);
	sha256_update(&s, pad, 64);
	sha256_update(&s, inner, 32);
	sha256_final(&s, out);
}

/* ------------------------------------------------------------------ */
/* base64 */

static int b64_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Decodes standard base64 (padding required) or base64url (no padding, as
 * JWTs have it) into a new NUL-terminated buffer; -EINVAL if malformed. */
static int b64_decode(const char *s, size_t len, bool url, char **out, size_t *out_len)
{
	char *buf;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (!url) {
		if (len % 4)
			return -EINVAL;
		for (int i = 0; i < 2 && len && s[len - 1] == '='; i++)
			len--;
	} else if (len % 4 == 1) {
		return -EINVAL;
	}
	buf = sim_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i], url);

		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* replies */

static int reply_envelope(struct sim_reply *reply, unsigned int status, int code, const char *msg,
			  json_object *data)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "code", json_object_new_int(code));
	json_object_object_add(obj, "success", json_object_new_boolean(code == BB_OK));
	json_object_object_add(obj, "msg", json_object_new_string(msg));
	if (data)
		json_object_object_add(obj, "data", data);
	return sim_reply_json(reply, status, obj);
}

/* "what: value", the value cut to 100 bytes; the cut may split a
 * character, so the result is made valid UTF-8 again. */
static int reply_bad_value(struct sim_reply *reply, int code, const char *what, const char *value)
{
	char msg[256];
	char *clean;

	snprintf(msg, sizeof(msg), "%s: %.100s", what, value);
	clean = sim_utf8_sanitize(msg, strlen(msg), NULL);
	reply_envelope(reply, 200, code, clean, NULL);
	free(clean);
	return 0;
}

static int reply_oauth_error(struct sim_reply *reply, unsigned int status, const char *error, const char *desc)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "error", json_object_new_string(error));
	json_object_object_add(obj, "error_description", json_object_new_string(desc));
	return sim_reply_json(reply, status, obj);
}

static int method_not_allowed(struct sim_reply *reply, const char *allow)
{
	reply_envelope(reply, 405, 405, "method not allowed", NULL);
	sim_reply_header(reply, "Allow", allow);
	return 0;
}

/* ------------------------------------------------------------------ */
/* tokens */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void drop_dead_codes(struct bb_state *st)
{
	size_t live = 0, o = 0;
	uint64_t now = sim_now_ms();

	for (size_t i = 0; i < st->n_tokens; i++)
		live += st->tokens[i].kind == TOK_CODE;
	if (live < MAX_LIVE_CODES)
		return;
	for (size_t i = 0; i < st->n_tokens; i++) {
		const struct bb_token *t = &st->tokens[i];

		if (t->kind == TOK_CODE && (t->dead || now >= t->expires_ms))
			continue;
		st->tokens[o++] = *t;
	}
	st->n_tokens = o;
}

static const char *token_new(struct bb_state *st, enum bb_token_kind kind, uint64_t ttl_ms)
{
	struct bb_token *t;

	if (kind == TOK_CODE)
		drop_dead_codes(st);
	if (st->n_tokens == st->cap_tokens) {
		st->cap_tokens = st->cap_tokens ? st->cap_tokens * 2 : 16;
		st->tokens = sim_xrealloc(st->tokens, st->cap_tokens * sizeof(*st->tokens));
	}
	t = &st->tokens[st->n_tokens++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->expires_ms = sim_now_ms() + ttl_ms;
	snprintf(t->value, sizeof(t->value), "%016llx%016llx", (unsigned long long)splitmix64(&st->rng),
		 (unsigned long long)splitmix64(&st->rng));
	return t->value;
}

static struct bb_token *token_find(struct bb_state *st, enum bb_token_kind kind, const char *value)
{
	for (size_t i = 0; value && i < st->n_tokens; i++) {
		if (st->tokens[i].kind == kind && strcmp(st->tokens[i].value, value) == 0)
			return &st->tokens[i];
	}
	return NULL;
}

static bool token_live(const struct bb_token *t)
{
	return t && !t->dead && sim_now_ms() < t->expires_ms;
}

static void expire_access_tokens(struct bb_state *st)
{
	uint64_t now = sim_now_ms();

	for (size_t i = 0; i < st->n_tokens; i++) {
		if (st->tokens[i].kind == TOK_ACCESS && st->tokens[i].expires_ms > now)
			st->tokens[i].expires_ms = now;
	}
}

static void revoke_refresh_tokens(struct bb_state *st)
{
	for (size_t i = 0; i < st->n_tokens; i++) {
		if (st->tokens[i].kind == TOK_REFRESH)
			st->tokens[i].dead = true;
	}
}

static int reply_new_tokens(struct bb_state *st, struct sim_reply *reply)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "access_token",
			       json_object_new_string(token_new(st, TOK_ACCESS, st->token_ttl_s * 1000ull)));
	json_object_object_add(obj, "token_type", json_object_new_string("bearer"));
	json_object_object_add(obj, "expires_in", json_object_new_int((int)st->token_ttl_s));
	json_object_object_add(obj, "refresh_token",
			       json_object_new_string(token_new(st, TOK_REFRESH, REFRESH_TTL_MS)));
	st->issued_access++;
	st->issued_refresh++;
	return sim_reply_json(reply, 200, obj);
}

/* ------------------------------------------------------------------ */
/* the OAuth endpoints */

static const char *client_id(const struct sim *sim)
{
	return sim_secret(sim, "babelbird.client_id", DEFAULT_CLIENT_ID);
}

static const char *client_secret(const struct sim *sim)
{
	return sim_secret(sim, "babelbird.client_secret", DEFAULT_CLIENT_SECRET);
}

/* A parameter from the query string, else from a form body. */
static const char *param(const struct sim_request *req, const char *name)
{
	const char *v = sim_request_query(req, name);

	return v ? v : sim_json_string(req->form, name, NULL);
}

static bool claim_int(json_object *claims, const char *name, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(claims, name, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* NULL when the JWT is good, else why not. */
static const char *jwt_refusal(const struct sim *sim, const char *jwt)
{
	const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	char *header = NULL, *payload = NULL, *sig = NULL;
	size_t hlen, plen, slen;
	json_object *h = NULL, *claims = NULL, *v;
	const char *why = NULL, *secret = client_secret(sim);
	uint8_t mac[32];
	int64_t iat, exp, now = sim_wall_s();

	if (!dot1 || !dot2 || strchr(dot2 + 1, '.') ||
	    b64_decode(jwt, (size_t)(dot1 - jwt), true, &header, &hlen) < 0 ||
	    b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), true, &payload, &plen) < 0 ||
	    b64_decode(dot2 + 1, strlen(dot2 + 1), true, &sig, &slen) < 0 ||
	    sim_json_parse(header, hlen, &h) < 0 || sim_json_parse(payload, plen, &claims) < 0 ||
	    !json_object_is_type(h, json_type_object) || !json_object_is_type(claims, json_type_object)) {
		why = "malformed";
		goto out;
	}
	if (!json_object_object_get_ex(h, "alg", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "HS256") != 0) {
		why = "alg must be HS256";
		goto out;
	}
	hmac_sha256(secret, strlen(secret), jwt, (size_t)(dot2 - jwt), mac);
	if (slen != sizeof(mac) || memcmp(sig, mac, sizeof(mac)) != 0) {
		why = "bad signature";
		goto out;
	}
	if (!sim_json_string(claims, "client_id", NULL) ||
	    strcmp(sim_json_string(claims, "client_id", NULL), client_id(sim)) != 0) {
		why = "client_id claim does not match";
		goto out;
	}
	if (!claim_int(claims, "iat", &iat) || !claim_int(claims, "exp", &exp)) {
		why = "iat and exp are required";
		goto out;
	}
	if (exp <= now)
		why = "expired";
	else if (iat > now + JWT_LEEWAY_S)
		why = "issued in the future";
	else if (exp - iat > JWT_MAX_LIFETIME_S || exp < iat)
		why = "lifetime too long";
out:
	json_object_put(h);
	json_object_put(claims);
	free(header);
	free(payload);
	free(sig);
	return why;
}

static int authorize(struct sim *sim, struct bb_state *st, const struct sim_request *req,
		     struct sim_reply *reply)
{
	const char *rt = param(req, "response_type"), *id = param(req, "client_id");
	const char *jwt = param(req, "jwt_token"), *why;
	char msg[96];
	json_object *data;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "GET, POST");
	if (!rt || !id || !jwt) {
		snprintf(msg, sizeof(msg), "missing parameter: %s",
			 !rt ? "response_type" : !id ? "client_id" : "jwt_token");
		return reply_envelope(reply, 400, BB_E_PARAM, msg, NULL);
	}
	if (strcmp(rt, "code") != 0)
		return reply_envelope(reply, 400, BB_E_PARAM, "unsupported response_type", NULL);
	if (strcmp(id, client_id(sim)) != 0)
		return reply_envelope(reply, 401, BB_E_CLIENT, "invalid client_id", NULL);
	why = jwt_refusal(sim, jwt);
	if (why) {
		snprintf(msg, sizeof(msg), "invalid jwt_token: %s", why);
		return reply_envelope(reply, 401, BB_E_JWT, msg, NULL);
	}
	data = json_object_new_object();
	json_object_object_add(data, "code", json_object_new_string(token_new(st, TOK_CODE, CODE_TTL_MS)));
	json_object_object_add(data, "expires_in", json_object_new_int(CODE_TTL_MS / 1000));
	st->issued_codes++;
	return reply_envelope(reply, 200, BB_OK, "success", data);
}

/* HTTP Basic with the client's id and secret. */
static bool client_authenticated(const struct sim *sim, const struct sim_request *req)
{
	const char *h = sim_request_header(req, "Authorization");
	const char *id = client_id(sim), *secret = client_secret(sim);
	char *pair = NULL;
	size_t len, idlen = strlen(id);
	bool ok;

	if (!h || strncasecmp(h, "Basic ", 6) != 0 || b64_decode(h + 6, strlen(h + 6), false, &pair, &len) < 0)
		return false;
	ok = len == idlen + 1 + strlen(secret) && memcmp(pair, id, idlen) == 0 && pair[idlen] == ':' &&
	     memcmp(pair + idlen + 1, secret, strlen(secret)) == 0;
	free(pair);
	return ok;
}

static int token_grant(struct sim *sim, struct bb_state *st, const struct sim_request *req,
		       struct sim_reply *reply)
{
	const char *gt = param(req, "grant_type"), *code = param(req, "code");
	const char *uri = param(req, "redirect_uri");
	struct bb_token *t;

	if (strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "POST");
	if (!client_authenticated(sim, req))
		return reply_oauth_error(reply, 401, "invalid_client", "client authentication failed");
	if (!gt || strcmp(gt, "authorization_code") != 0)
		return reply_oauth_error(reply, 400, "unsupported_grant_type", "grant_type must be authorization_code");
	if (!uri || (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0))
		return reply_oauth_error(reply, 400, "invalid_request", "redirect_uri is required");
	t = token_find(st, TOK_CODE, code);
	if (!token_live(t)) {
		if (t)
			t->dead = true;
		return reply_oauth_error(reply, 400, "invalid_grant", "authorization code is invalid or expired");
	}
	t->dead = true;
	return reply_new_tokens(st, reply);
}

static int token_refresh(struct sim *sim, struct bb_state *st, const struct sim_request *req,
			 struct sim_reply *reply)
{
	const char *gt = param(req, "grant_type");
	struct bb_token *t;

	if (strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "POST");
	if (!client_authenticated(sim, req))
		return reply_oauth_error(reply, 401, "invalid_client", "client authentication failed");
	if (!gt || strcmp(gt, "refresh_token") != 0)
		return reply_oauth_error(reply, 400, "unsupported_grant_type", "grant_type must be refresh_token");
	t = token_find(st, TOK_REFRESH, param(req, "refresh_token"));
	if (!token_live(t))
		return reply_oauth_error(reply, 400, "invalid_grant", "refresh token is invalid or expired");
	t->dead = true;
	return reply_new_tokens(st, reply);
}

/* Answers and returns true when the bearer token is not good. */
static bool refuse_bearer(struct bb_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	const char *h = sim_request_header(req, "Authorization");
	struct bb_token *t;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		st->refused_missing++;
		reply_envelope(reply, 401, BB_E_NO_TOKEN, "missing access token", NULL);
		return true;
	}
	t = token_find(st, TOK_ACCESS, h + 7);
	if (!t || st->refuse_all) {
		st->refused_invalid++;
		reply_envelope(reply, 200, BB_E_TOKEN_INVALID, "invalid access_token", NULL);
		return true;
	}
	if (!token_live(t)) {
		st->refused_expired++;
		reply_envelope(reply, 200, BB_E_TOKEN_EXPIRED, "access_token expired", NULL);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* members */

/* The request's parameters: the form, or the JSON object. Answers and
 * returns NULL when there is neither. */
static json_object *input(const struct sim_request *req, const char **encoding, struct sim_reply *reply)
{
	if (req->form) {
		*encoding = "form";
		return req->form;
	}
	if (req->form_error) {
		reply_envelope(reply, 200, BB_E_PARAM, "malformed form body", NULL);
		return NULL;
	}
	if (json_object_is_type(req->json, json_type_object)) {
		*encoding = "json";
		return req->json;
	}
	reply_envelope(reply, 200, BB_E_PARAM, "request body must be a form or a JSON object", NULL);
	return NULL;
}

enum got {
	GOT_NONE,
	GOT_OK,
	GOT_BAD,
};

/* A text parameter (a JSON number is taken as its text): valid UTF-8
 * without NUL, and an empty one counts as absent, as PHP has it. */
static enum got get_text(json_object *in, const char *name, const char **out, size_t *chars)
{
	json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(in, name, &v) || !v)
		return GOT_NONE;
	if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
		return GOT_BAD;
	s = json_object_get_string(v);
	len = json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v) : strlen(s);
	if (strlen(s) != len || sim_utf8_count(s, len, chars) < 0)
		return GOT_BAD;
	if (!len)
		return GOT_NONE;
	*out = s;
	return GOT_OK;
}

/* An integer parameter: a JSON integer or a string holding one. */
static enum got get_int(json_object *in, const char *name, long long *out)
{
	json_object *v;
	const char *s;
	char *end;

	if (!json_object_object_get_ex(in, name, &v) || !v)
		return GOT_NONE;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return GOT_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return GOT_BAD;
	s = json_object_get_string(v);
	if (!*s)
		return GOT_NONE;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end || end == s ? GOT_BAD : GOT_OK;
}

/* An array parameter (form "name[]=", or JSON) of texts; a single value
 * makes a list of one. A new array of strings, or NULL (*bad set when it
 * was there but unusable). */
static json_object *get_list(json_object *in, const char *name, bool *bad)
{
	json_object *v, *list;
	size_t n;

	*bad = false;
	if (!json_object_object_get_ex(in, name, &v) || !v)
		return NULL;
	list = json_object_new_array();
	n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
		size_t chars;

		if (!e || (!json_object_is_type(e, json_type_string) && !json_object_is_type(e, json_type_int)) ||
		    sim_utf8_count(json_object_get_string(e), strlen(json_object_get_string(e)), &chars) < 0) {
			*bad = true;
			json_object_put(list);
			return NULL;
		}
		json_object_array_add(list, json_object_new_string(json_object_get_string(e)));
	}
	return list;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *dot;

	if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 100)
		return false;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	}
	dot = strrchr(at + 1, '.');
	return dot && dot != at + 1 && dot[1];
}

static bool phone_ok(const char *s)
{
	if (strlen(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9')
		return false;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
	}
	return true;
}

static bool digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

static bool md5_hex(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			return false;
	}
	return true;
}

static char *lowercase(const char *s)
{
	char *l = sim_xstrdup(s);

	for (char *p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

struct int_rule {
	const char *name;
	long long min, max;
	const char *msg;
};

static const struct int_rule int_rules[] = {
	{ "sex", 0, 2, "invalid sex: must be 0, 1 or 2" },
	{ "can_ownfile", -1, 1, "invalid can_ownfile: must be -1, 0 or 1" },
	{ "spacelimit", 0, 1048576, "invalid spacelimit: must be 0 to 1048576 GB" },
	{ "enterprise_role", 0, 100, "invalid enterprise_role" },
	{ "password_is_md5", 0, 1, "invalid password_is_md5: must be 0 or 1" },
	{ "join_time", 0, 0, "invalid join_time: must be unix seconds, not in the future" },
};

static const struct {
	const char *name;
	size_t max;
} text_rules[] = { { "babelId", 32 }, { "remarks", 255 } };

#define N_INT_RULES (sizeof(int_rules) / sizeof(int_rules[0]))
#define N_TEXT_RULES (sizeof(text_rules) / sizeof(text_rules[0]))

/* The integer parameters of int_rules; answers and returns true when one
 * is out of range. *md5 is password_is_md5 when given. */
static bool refuse_ints(json_object *in, long long *md5, struct sim_reply *reply)
{
	long long v;

	for (size_t i = 0; i < N_INT_RULES; i++) {
		long long max = strcmp(int_rules[i].name, "join_time") == 0 ? sim_wall_s() + 86400 : int_rules[i].max;
		enum got g = get_int(in, int_rules[i].name, &v);

		if (g == GOT_BAD || (g == GOT_OK && (v < int_rules[i].min || v > max))) {
			reply_envelope(reply, 200, BB_E_VALUE, int_rules[i].msg, NULL);
			return true;
		}
		if (g == GOT_OK && strcmp(int_rules[i].name, "password_is_md5") == 0)
			*md5 = v;
	}
	return false;
}

/* The text parameters of text_rules, likewise. */
static bool refuse_texts(json_object *in, struct sim_reply *reply)
{
	char msg[128];
	size_t chars;

	for (size_t i = 0; i < N_TEXT_RULES; i++) {
		const char *s = NULL;

		if (get_text(in, text_rules[i].name, &s, &chars) == GOT_BAD || (s && chars > text_rules[i].max)) {
			snprintf(msg, sizeof(msg), "invalid %s: at most %zu characters", text_rules[i].name,
				 text_rules[i].max);
			reply_envelope(reply, 200, BB_E_VALUE, msg, NULL);
			return true;
		}
	}
	return false;
}

/* department_ids[] and department_roles[] (one role per department):
 * new arrays in *depts and *roles (NULL when absent); answers and returns
 * true when they are unusable. */
static bool refuse_depts(json_object *in, json_object **depts, json_object **roles, struct sim_reply *reply)
{
	bool bad;

	*roles = NULL;
	*depts = get_list(in, "department_ids", &bad);
	if (bad) {
		reply_envelope(reply, 200, BB_E_VALUE, "invalid department_ids", NULL);
		return true;
	}
	for (size_t i = 0; *depts && i < json_object_array_length(*depts); i++) {
		const char *d = json_object_get_string(json_object_array_get_idx(*depts, i));

		if (!digits(d)) {
			reply_bad_value(reply, BB_E_VALUE, "invalid department id", d);
			json_object_put(*depts);
			*depts = NULL;
			return true;
		}
	}
	*roles = get_list(in, "department_roles", &bad);
	if (bad || (*roles && (!*depts || json_object_array_length(*roles) != json_object_array_length(*depts)))) {
		json_object_put(*depts);
		json_object_put(*roles);
		*depts = *roles = NULL;
		reply_envelope(reply, 200, BB_E_VALUE,
			       "invalid department_roles: one role per department in department_ids", NULL);
		return true;
	}
	return false;
}

/* Copies the text_rules and int_rules parameters in gives into obj. */
static void copy_rule_fields(json_object *in, json_object *obj)
{
	size_t chars;
	long long v;

	for (size_t i = 0; i < N_TEXT_RULES; i++) {
		const char *s = NULL;

		if (get_text(in, text_rules[i].name, &s, &chars) == GOT_OK)
			json_object_object_add(obj, text_rules[i].name, json_object_new_string(s));
	}
	for (size_t i = 0; i < N_INT_RULES; i++) {
		if (get_int(in, int_rules[i].name, &v) == GOT_OK)
			json_object_object_add(obj, int_rules[i].name, json_object_new_int64(v));
	}
}

/* counts[key] + 1, stored; returns the new count. */
static long long bump(json_object *counts, const char *key)
{
	json_object *v;
	long long n = json_object_object_get_ex(counts, key, &v) ? json_object_get_int64(v) + 1 : 1;

	json_object_object_add(counts, key, json_object_new_int64(n));
	return n;
}

static struct bb_member *member_add(struct bb_state *st, const char *email, json_object *obj)
{
	struct bb_member *m = sim_xcalloc(1, sizeof(*m));

	m->id = FIRST_MEMBER_ID + (long long)st->len;
	m->email_key = lowercase(email);
	m->obj = obj;
	m->ignored = json_object_new_array();
	json_object_object_add(obj, "id", json_object_new_int64(m->id));
	json_object_object_add(obj, "frozen", json_object_new_int(0));
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->members = sim_xrealloc(st->members, st->cap * sizeof(*st->members));
	}
	st->members[st->len++] = m;
	sim_map_put(&st->by_email, m->email_key, m);
	return m;
}

static void countdown(struct bb_state *st)
{
	if (st->expire_after > 0 && --st->expire_after == 0) {
		expire_access_tokens(st);
		st->expire_after = -1;
	}
	if (st->revoke_after > 0 && --st->revoke_after == 0) {
		revoke_refresh_tokens(st);
		st->revoke_after = -1;
	}
}

static int add_member(struct sim *sim, struct bb_state *st, const struct sim_request *req,
		      struct sim_reply *reply)
{
	const char *encoding = NULL, *email = NULL, *password = NULL, *name = NULL, *phone = NULL;
	size_t email_chars, pw_chars, name_chars, chars;
	long long md5 = 0;
	json_object *in, *obj = NULL, *depts = NULL, *roles = NULL;

	if (strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "POST");
	countdown(st);
	if (refuse_bearer(st, req, reply))
		return 0;
	in = input(req, &encoding, reply);
	if (!in)
		return 0;

	if (get_text(in, "email", &email, &email_chars) != GOT_OK)
		return reply_envelope(reply, 200, BB_E_PARAM, "missing parameter: email", NULL);
	if (!email_ok(email))
		return reply_bad_value(reply, BB_E_EMAIL, "invalid email", email);
	if (get_text(in, "password", &password, &pw_chars) != GOT_OK)
		return reply_envelope(reply, 200, BB_E_PARAM, "missing parameter: password", NULL);
	if (get_text(in, "name", &name, &name_chars) != GOT_OK)
		return reply_envelope(reply, 200, BB_E_PARAM, "missing parameter: name", NULL);
	if (name_chars > 50)
		return reply_envelope(reply, 200, BB_E_VALUE, "invalid name: at most 50 characters", NULL);
	switch (get_text(in, "phone", &phone, &chars)) {
	case GOT_BAD:
		return reply_envelope(reply, 200, BB_E_PHONE, "invalid phone number", NULL);
	case GOT_OK:
		if (!phone_ok(phone))
			return reply_bad_value(reply, BB_E_PHONE, "invalid phone number", phone);
		break;
	case GOT_NONE:
		break;
	}
	if (refuse_ints(in, &md5, reply))
		return 0;
	/* Never echoed: it is a password. */
	if (md5 ? !md5_hex(password) : pw_chars < 6 || pw_chars > 32)
		return reply_envelope(reply, 200, BB_E_PASSWORD,
				      md5 ? "invalid password: password_is_md5 is 1 but it is no MD5 digest"
					  : "invalid password: must be 6 to 32 characters", NULL);
	if (refuse_texts(in, reply) || refuse_depts(in, &depts, &roles, reply))
		return 0;

	{
		char *key = lowercase(email);
		bool taken = sim_map_get(&st->by_email, key) != NULL;

		if (taken)
			bump(st->duplicates, key);
		free(key);
		if (taken) {
			json_object_put(depts);
			json_object_put(roles);
			return reply_envelope(reply, 200, BB_E_EXISTS, "email already exists", NULL);
		}
	}

	obj = json_object_new_object();
	json_object_object_add(obj, "email", json_object_new_string(email));
	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(obj, "password", json_object_new_string(password));
	if (phone)
		json_object_object_add(obj, "phone", json_object_new_string(phone));
	copy_rule_fields(in, obj);
	if (depts)
		json_object_object_add(obj, "department_ids", depts);
	if (roles)
		json_object_object_add(obj, "department_roles", roles);
	json_object_object_add(obj, "encoding", json_object_new_string(encoding));
	{
		struct bb_member *m = member_add(st, email, obj);
		json_object *data = json_object_new_object();

		m->creates = bump(st->creates, m->email_key);
		json_object_object_add(data, "id", json_object_new_int64(m->id));
		return reply_envelope(reply, 200, BB_OK, "success", data);
	}
}

/* The parameters updateUserInfo.do knows (a guess: the add's, frozen,
 * and the member's id). */
static bool update_param(const char *name)
{
	static const char *const known[] = {
		"id", "frozen", "email", "name", "phone", "password", "department_ids", "department_roles", NULL,
	};

	for (size_t i = 0; known[i]; i++) {
		if (strcmp(known[i], name) == 0)
			return true;
	}
	for (size_t i = 0; i < N_INT_RULES; i++) {
		if (strcmp(int_rules[i].name, name) == 0)
			return true;
	}
	for (size_t i = 0; i < N_TEXT_RULES; i++) {
		if (strcmp(text_rules[i].name, name) == 0)
			return true;
	}
	return false;
}

static int update_member(struct sim *sim, struct bb_state *st, const struct sim_request *req,
			 struct sim_reply *reply)
{
	const char *encoding = NULL, *email = NULL, *name = NULL, *phone = NULL, *password = NULL;
	size_t chars, pw_chars = 0;
	long long id, frozen = -1, md5 = 0;
	json_object *in, *depts = NULL, *roles = NULL;
	struct bb_member *m;
	enum got g;

	if (strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "POST");
	if (refuse_bearer(st, req, reply))
		return 0;
	in = input(req, &encoding, reply);
	if (!in)
		return 0;

	g = get_int(in, "id", &id);
	if (g == GOT_NONE)
		return reply_envelope(reply, 200, BB_E_PARAM, "missing parameter: id", NULL);
	if (g == GOT_BAD)
		return reply_envelope(reply, 200, BB_E_PARAM, "invalid id", NULL);
	m = id >= FIRST_MEMBER_ID && id - FIRST_MEMBER_ID < (long long)st->len ? st->members[id - FIRST_MEMBER_ID]
										: NULL;
	if (!m)
		return reply_envelope(reply, 200, BB_E_NO_MEMBER, "member does not exist", NULL);
	g = get_int(in, "frozen", &frozen);
	if (g == GOT_BAD || (g == GOT_OK && frozen != 0 && frozen != 1))
		return reply_envelope(reply, 200, BB_E_VALUE, "invalid frozen: must be 0 or 1", NULL);

	/* Each given field is checked as the add checks it. */
	if (get_text(in, "email", &email, &chars) == GOT_BAD || (email && !email_ok(email)))
		return reply_bad_value(reply, BB_E_EMAIL, "invalid email", email ? email : "");
	if (get_text(in, "name", &name, &chars) == GOT_BAD || (name && chars > 50))
		return reply_envelope(reply, 200, BB_E_VALUE, "invalid name: at most 50 characters", NULL);
	g = get_text(in, "phone", &phone, &chars);
	if (g == GOT_BAD)
		return reply_envelope(reply, 200, BB_E_PHONE, "invalid phone number", NULL);
	if (phone && !phone_ok(phone))
		return reply_bad_value(reply, BB_E_PHONE, "invalid phone number", phone);
	if (refuse_ints(in, &md5, reply))
		return 0;
	if (get_text(in, "password", &password, &pw_chars) == GOT_BAD ||
	    (password && (md5 ? !md5_hex(password) : pw_chars < 6 || pw_chars > 32)))
		return reply_envelope(reply, 200, BB_E_PASSWORD, "invalid password", NULL);
	if (refuse_texts(in, reply) || refuse_depts(in, &depts, &roles, reply))
		return 0;
	if (email) {
		char *key = lowercase(email);
		struct bb_member *other = sim_map_get(&st->by_email, key);

		if (other && other != m) {
			free(key);
			json_object_put(depts);
			json_object_put(roles);
			return reply_envelope(reply, 200, BB_E_EXISTS, "email already exists", NULL);
		}
		sim_map_del(&st->by_email, m->email_key);
		free(m->email_key);
		m->email_key = key;
		sim_map_put(&st->by_email, m->email_key, m);
		json_object_object_add(m->obj, "email", json_object_new_string(email));
	}

	if (name)
		json_object_object_add(m->obj, "name", json_object_new_string(name));
	if (phone)
		json_object_object_add(m->obj, "phone", json_object_new_string(phone));
	if (password) {
		m->password_updates++;
		json_object_object_add(m->obj, "password", json_object_new_string(password));
	}
	copy_rule_fields(in, m->obj);
	if (depts)
		json_object_object_add(m->obj, "department_ids", depts);
	if (roles)
		json_object_object_add(m->obj, "department_roles", roles);
	if (frozen >= 0)
		json_object_object_add(m->obj, "frozen", json_object_new_int((int)frozen));
	json_object_object_foreach(in, key, val) {
		bool seen = false;

		(void)val;
		if (update_param(key))
			continue;
		for (size_t i = 0; i < json_object_array_length(m->ignored); i++)
			seen = seen || strcmp(json_object_get_string(json_object_array_get_idx(m->ignored, i)), key) == 0;
		if (!seen)
			json_object_array_add(m->ignored, json_object_new_string(key));
	}
	m->updates++;
	{
		json_object *data = json_object_new_object();

		json_object_object_add(data, "id", json_object_new_int64(m->id));
		return reply_envelope(reply, 200, BB_OK, "success", data);
	}
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	}
	return !n;
}

static int list_members(struct sim *sim, struct bb_state *st, const struct sim_request *req,
			struct sim_reply *reply)
{
	const char *encoding, *key = NULL;
	size_t chars;
	long long page = 1, size = PAGE_SIZE_DEFAULT;
	unsigned long long first, total = 0;
	json_object *in, *data, *list;

	if (strcmp(req->method, "POST") != 0)
		return method_not_allowed(reply, "POST");
	if (refuse_bearer(st, req, reply))
		return 0;
	in = input(req, &encoding, reply);
	if (!in)
		return 0;
	if (get_text(in, "keyName", &key, &chars) != GOT_OK)
		return reply_envelope(reply, 200, BB_E_PARAM, "missing parameter: keyName", NULL);
	if (get_int(in, "page", &page) == GOT_BAD || page < 1 || page > 1000000 ||
	    get_int(in, "pageSize", &size) == GOT_BAD || size < 1 || size > PAGE_SIZE_MAX)
		return reply_envelope(reply, 200, BB_E_VALUE, "invalid page or pageSize", NULL);
	first = (unsigned long long)(page - 1) * (unsigned long long)size;
	list = json_object_new_array();
	for (size_t i = 0; i < st->len; i++) {
		const struct bb_member *m = st->members[i];
		const char *email = sim_json_string(m->obj, "email", NULL);
		const char *name = sim_json_string(m->obj, "name", NULL);
		json_object *item, *v;

		if (!contains_ci(email, key) && !contains_ci(name, key))
			continue;
		if (total >= first && total < first + (unsigned long long)size) {
			item = json_object_new_object();
			json_object_object_add(item, "id", json_object_new_int64(m->id));
			json_object_object_add(item, "email", json_object_new_string(email));
			json_object_object_add(item, "name", json_object_new_string(name));
			if (json_object_object_get_ex(m->obj, "phone", &v))
				json_object_object_add(item, "phone", json_object_get(v));
			if (json_object_object_get_ex(m->obj, "frozen", &v))
				json_object_object_add(item, "frozen", json_object_get(v));
			json_object_array_add(list, item);
		}
		total++;
	}
	data = json_object_new_object();
	json_object_object_add(data, "total", json_object_new_uint64(total));
	json_object_object_add(data, "list", list);
	return reply_envelope(reply, 200, BB_OK, "success", data);
}

/* ------------------------------------------------------------------ */
/* the sim_api hooks */

static const char *bb_route(const struct sim_request *req)
{
	static const char *const routes[] = { R_AUTHORIZE, R_TOKEN, R_REFRESH, R_ADD, R_LOOKUP, R_UPDATE };

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(req->path, routes[i]) == 0)
			return routes[i];
	}
	return NULL;
}

static const char *bb_log_key(const struct sim *sim, const struct sim_request *req, size_t *len)
{
	json_object *in = req->form ? req->form : req->json;

	if (strcmp(req->path, R_ADD) == 0)
		return sim_json_string(in, "email", len);
	if (strcmp(req->path, R_LOOKUP) == 0)
		return sim_json_string(in, "keyName", len);
	/* The member's id, when sent as text (a form always is). */
	if (strcmp(req->path, R_UPDATE) == 0)
		return sim_json_string(in, "id", len);
	return NULL;
}

static int bb_handle(struct sim *sim, void *state, const struct sim_request *req, struct sim_reply *reply)
{
	struct bb_state *st = state;
	const char *r = bb_route(req);

	if (!r)
		return reply_envelope(reply, 404, 404, "no such endpoint", NULL);
	if (strcmp(r, R_AUTHORIZE) == 0)
		return authorize(sim, st, req, reply);
	if (strcmp(r, R_TOKEN) == 0)
		return token_grant(sim, st, req, reply);
	if (strcmp(r, R_REFRESH) == 0)
		return token_refresh(sim, st, req, reply);
	if (strcmp(r, R_ADD) == 0)
		return add_member(sim, st, req, reply);
	if (strcmp(r, R_UPDATE) == 0)
		return update_member(sim, st, req, reply);
	return list_members(sim, st, req, reply);
}

static int bb_throttle(struct sim *sim, void *state, const struct sim_request *req, unsigned int retry_after_s,
		       struct sim_reply *reply)
{
	char secs[16];

	reply_envelope(reply, 429, BB_E_THROTTLED, "too many requests", NULL);
	snprintf(secs, sizeof(secs), "%u", retry_after_s);
	sim_reply_header(reply, "Retry-After", secs);
	return 0;
}

/* {"name": N} of a control body, def when absent; -1 when malformed. */
static long long control_int(const struct sim_request *req, const char *name, long long def, long long min,
			     long long max)
{
	json_object *v;

	if (!req->body_len)
		return def;
	if (!json_object_is_type(req->json, json_type_object))
		return -1;
	if (!json_object_object_get_ex(req->json, name, &v))
		return def;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
	    json_object_get_int64(v) > max)
		return -1;
	return json_object_get_int64(v);
}

static int bb_control(struct sim *sim, void *state, const char *action, const struct sim_request *req,
		      struct sim_reply *reply)
{
	struct bb_state *st = state;
	long long n;

	if (strcmp(req->method, "POST") != 0)
		return sim_reply_error(reply, 405, "POST only");
	if (strcmp(action, "expire-tokens") == 0 || strcmp(action, "revoke-refresh") == 0) {
		bool expire = action[0] == 'e';

		n = control_int(req, "after", 0, 0, INT32_MAX);
		if (n < 0)
			return sim_reply_error(reply, 400, "after must be an integer >= 0");
		if (n == 0 && expire)
			expire_access_tokens(st);
		else if (n == 0)
			revoke_refresh_tokens(st);
		else if (expire)
			st->expire_after = n;
		else
			st->revoke_after = n;
		return sim_reply_json(reply, 200, json_object_new_object());
	}
	if (strcmp(action, "refuse-tokens") == 0) {
		json_object *v;

		if (!json_object_is_type(req->json, json_type_object) ||
		    !json_object_object_get_ex(req->json, "on", &v) || !json_object_is_type(v, json_type_boolean))
			return sim_reply_error(reply, 400, "on must be a boolean");
		st->refuse_all = json_object_get_boolean(v);
		return sim_reply_json(reply, 200, json_object_new_object());
	}
	if (strcmp(action, "token-ttl") == 0) {
		n = control_int(req, "seconds", -1, 1, 86400);
		if (n < 0)
			return sim_reply_error(reply, 400, "seconds must be an integer in 1..86400");
		st->token_ttl_s = (unsigned int)n;
		return sim_reply_json(reply, 200, json_object_new_object());
	}
	if (strcmp(action, "add-member") == 0) {
		const char *email = sim_json_string(req->json, "email", NULL);
		const char *name = sim_json_string(req->json, "name", NULL);
		json_object *obj, *res;
		char *key;
		bool taken;

		if (!email || !email_ok(email) || !name)
			return sim_reply_error(reply, 400, "email and name are required");
		key = lowercase(email);
		taken = sim_map_get(&st->by_email, key) != NULL;
		free(key);
		if (taken)
			return sim_reply_error(reply, 409, "email already exists");
		obj = json_object_new_object();
		json_object_object_add(obj, "email", json_object_new_string(email));
		json_object_object_add(obj, "name", json_object_new_string(name));
		json_object_object_add(obj, "encoding", json_object_new_string("control"));
		res = json_object_new_object();
		json_object_object_add(res, "id", json_object_new_int64(member_add(st, email, obj)->id));
		return sim_reply_json(reply, 200, res);
	}
	return sim_reply_error(reply, 404, "no such action");
}

static void bb_reset(void *state)
{
	struct bb_state *st = state;

	for (size_t i = 0; i < st->len; i++) {
		json_object_put(st->members[i]->obj);
		json_object_put(st->members[i]->ignored);
		free(st->members[i]->email_key);
		free(st->members[i]);
	}
	free(st->members);
	st->members = NULL;
	st->len = st->cap = 0;
	sim_map_clear(&st->by_email);
	free(st->tokens);
	st->tokens = NULL;
	st->n_tokens = st->cap_tokens = 0;
	st->token_ttl_s = ACCESS_TTL_S;
	st->expire_after = st->revoke_after = -1;
	st->refuse_all = false;
	st->issued_codes = st->issued_access = st->issued_refresh = 0;
	st->refused_missing = st->refused_invalid = st->refused_expired = 0;
	json_object_put(st->creates);
	st->creates = json_object_new_object();
	json_object_put(st->duplicates);
	st->duplicates = json_object_new_object();
}

static void *bb_state_new(const struct sim *sim)
{
	struct bb_state *st = sim_xcalloc(1, sizeof(*st));
	struct timespec ts;

	sim_map_init(&st->by_email);
	clock_gettime(CLOCK_REALTIME, &ts);
	st->rng = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + (uint64_t)getpid();
	bb_reset(st);
	return st;
}

static void bb_state_free(void *state)
{
	struct bb_state *st = state;

	if (!st)
		return;
	bb_reset(st);
	json_object_put(st->creates);
	json_object_put(st->duplicates);
	free(st);
}

static json_object *bb_dump(void *state)
{
	struct bb_state *st = state;
	json_object *obj = json_object_new_object(), *members = json_object_new_array();
	json_object *issued = json_object_new_object(), *refused = json_object_new_object();
	json_object *access = json_object_new_array(), *refresh = json_object_new_array();

	for (size_t i = 0; i < st->len; i++) {
		const struct bb_member *m = st->members[i];
		json_object *copy = NULL;

		if (json_object_deep_copy(m->obj, &copy, NULL) < 0)
			abort();
		json_object_object_add(copy, "creates", json_object_new_int64(m->creates));
		json_object_object_add(copy, "updates", json_object_new_int64(m->updates));
		json_object_object_add(copy, "password_updates", json_object_new_int64(m->password_updates));
		json_object_object_add(copy, "ignored_update_fields", json_object_get(m->ignored));
		json_object_array_add(members, copy);
	}
	for (size_t i = 0; i < st->n_tokens; i++) {
		if (st->tokens[i].kind == TOK_ACCESS)
			json_object_array_add(access, json_object_new_string(st->tokens[i].value));
		else if (st->tokens[i].kind == TOK_REFRESH)
			json_object_array_add(refresh, json_object_new_string(st->tokens[i].value));
	}
	json_object_object_add(issued, "codes", json_object_new_uint64(st->issued_codes));
	json_object_object_add(issued, "access", json_object_new_uint64(st->issued_access));
	json_object_object_add(issued, "refresh", json_object_new_uint64(st->issued_refresh));
	json_object_object_add(refused, "missing", json_object_new_uint64(st->refused_missing));
	json_object_object_add(refused, "invalid", json_object_new_uint64(st->refused_invalid));
	json_object_object_add(refused, "expired", json_object_new_uint64(st->refused_expired));
	json_object_object_add(obj, "members", members);
	json_object_object_add(obj, "creates", json_object_get(st->creates));
	json_object_object_add(obj, "duplicates_refused", json_object_get(st->duplicates));
	json_object_object_add(obj, "issued", issued);
	json_object_object_add(obj, "refused", refused);
	/* Every token handed out, so a test can look for them in logs. */
	json_object_object_add(obj, "access_tokens", access);
	json_object_object_add(obj, "refresh_tokens", refresh);
	json_object_object_add(obj, "token_ttl", json_object_new_int((int)st->token_ttl_s));
	return obj;
}

const struct sim_api sim_api_babelbird = {
	.name = "babelbird",
	.path_prefix = PREFIX,
	.state_new = bb_state_new,
	.state_free = bb_state_free,
	.reset = bb_reset,
	.handle = bb_handle,
	.dump = bb_dump,
	.route = bb_route,
	.log_key = bb_log_key,
	.throttle = bb_throttle,
	.control = bb_control,
};
