/*
 * A SCIM 2.0 service provider (RFC 7643, RFC 7644) under /scim, strict the
 * way a careful server is: bearer auth, the core User schema with the
 * enterprise extension, attribute names case-insensitive, userName unique
 * case-insensitively (409 scimType "uniqueness"), wrong types refused as
 * 400 invalidValue, SCIM error bodies with "status" as a string, filters
 * (attrPath op value, the value a JSON literal), ListResponse paging,
 * PUT/PATCH/DELETE, /ServiceProviderConfig, and resource meta. Telephone
 * numbers are checked by a rule of its own, stricter than membersync's
 * mapping, so a test can see the server's own reason come back.
 *
 * On /Users/{id} (RFC 7644 3.5): PUT replaces every attribute (one left
 * out is cleared, except the writeOnly password, which a PUT without one
 * keeps) and answers 200 with the resource; PATCH applies add, replace and
 * remove operations to a copy, validates the result as a whole and
 * answers 200 with the resource; DELETE answers 204 and the user is gone
 * (a later GET, PUT, PATCH or DELETE is 404). A userName taken by another
 * user is 409 "uniqueness" on PUT and PATCH too. If-Match is honoured
 * (3.14: the ETag is W/"<version>", "*" matches any): a stale one is 412.
 * An absent "active" counts as active: RFC 7643 4.1.1 leaves its meaning
 * to the provider, and the common servers treat a user as active unless
 * told otherwise.
 *
 * The dump (GET /_sim/state, apis.scim):
 *   "users":   the users as GET returns them, in creation order, plus the
 *              writeOnly "password";
 *   "active":  {userName: bool}, every user's effective active flag;
 *   "creates": {userName: n}, the successful POSTs per userName since the
 *              last reset, deleted users included, so a test can assert a
 *              user was created exactly once.
 * Both maps are keyed by the userName in ASCII lowercase, the key the
 * server's uniqueness works on.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PREFIX "/scim"
#define USERS PREFIX "/Users"
#define SPC PREFIX "/ServiceProviderConfig"
#define ROUTE_ITEM USERS "/{id}"

#define URN_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define URN_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define URN_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define URN_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define URN_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define URN_SPC "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_CT "application/scim+json"

#define MAX_RESULTS 200
#define DEFAULT_TOKEN "scim-test-token"
/* Values quoted in error details are cut here. */
#define QUOTE_MAX 64

struct su_user {
	char *id;
	char *fold;		/* userName, ASCII lowercase: the uniqueness key */
	json_object *res;	/* canonical attributes, without id, meta, password */
	char *password;		/* writeOnly: never returned, only dumped */
	int64_t created;
	int64_t modified;
	unsigned long long version;
};

struct su_state {
	struct su_user **users;	/* creation order */
	size_t len;
	size_t cap;
	struct sim_map by_fold;
	struct sim_map by_id;
	unsigned long long next_id;
	json_object *creates;	/* folded userName -> successful POSTs */
};

/* A validation failure: RFC 7644 3.12 scimType and a detail. */
struct su_err {
	unsigned int status;
	const char *type;
	char detail[320];
};

static bool su_fail(struct su_err *e, unsigned int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool su_fail(struct su_err *e, unsigned int status, const char *type, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->type = type;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return false;
}

/* ------------------------------------------------------------------ */
/* text helpers */

/* Client text fit for a detail: valid UTF-8, cut. Caller frees. */
static char *su_quote(const char *s, size_t len)
{
	char *clean = sim_utf8_sanitize(s, len > QUOTE_MAX ? QUOTE_MAX : len, NULL);
	size_t n = strlen(clean);

	/* A cut may leave half a character, now U+FFFD: harmless. */
	if (len > QUOTE_MAX) {
		clean = sim_xrealloc(clean, n + 4);
		memcpy(clean + n, "...", 4);
	}
	return clean;
}

static char *su_fold(const char *s)
{
	char *f = sim_xstrdup(s);

	for (char *p = f; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return f;
}

/* s contains needle, ASCII case folded when fold. */
static bool su_contains(const char *s, const char *needle, bool fold)
{
	char *fs, *fn;
	bool found;

	if (!fold)
		return strstr(s, needle) != NULL;
	fs = su_fold(s);
	fn = su_fold(needle);
	found = strstr(fs, fn) != NULL;
	free(fs);
	free(fn);
	return found;
}

static bool su_equal(const char *a, const char *b, bool fold)
{
	return fold ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static void su_iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The member of obj whose name matches name case-insensitively
 * (RFC 7643 2.1: attribute names are case-insensitive). */
static json_object *su_get(json_object *obj, const char *name, const char **key)
{
	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, k, v) {
		if (strcasecmp(k, name) == 0) {
			if (key)
				*key = k;
			return v;
		}
	}
	return NULL;
}

static bool su_has(json_object *obj, const char *name)
{
	const char *key = NULL;

	su_get(obj, name, &key);
	return key != NULL;
}

/* A deep copy; NULL (JSON null) stays NULL. */
static json_object *su_copy(json_object *v)
{
	json_object *c = NULL;

	if (v && json_object_deep_copy(v, &c, NULL) < 0)
		abort();
	return c;
}

/* ------------------------------------------------------------------ */
/* replies */

static void su_set_ct(struct sim_reply *reply)
{
	free(reply->content_type);
	reply->content_type = sim_xstrdup(SCIM_CT);
}

static int su_json(struct sim_reply *reply, unsigned int status, json_object *obj)
{
	sim_reply_json(reply, status, obj);
	su_set_ct(reply);
	return 0;
}

/* RFC 7644 3.12: {"schemas":[Error],"status":"400","scimType":..,"detail":..}. */
static int su_error(struct sim_reply *reply, unsigned int status, const char *type, const char *detail)
{
	json_object *obj = json_object_new_object();
	json_object *schemas = json_object_new_array();
	char st[8];

	snprintf(st, sizeof(st), "%u", status);
	json_object_array_add(schemas, json_object_new_string(URN_ERROR));
	json_object_object_add(obj, "schemas", schemas);
	json_object_object_add(obj, "status", json_object_new_string(st));
	if (type)
		json_object_object_add(obj, "scimType", json_object_new_string(type));
	json_object_object_add(obj, "detail", json_object_new_string(detail));
	return su_json(reply, status, obj);
}

static int su_reply_err(struct sim_reply *reply, const struct su_err *e)
{
	return su_error(reply, e->status, e->type, e->detail);
}

static int su_not_found(struct sim_reply *reply, const char *id)
{
	char *q = su_quote(id, strlen(id));
	char detail[128];

	snprintf(detail, sizeof(detail), "Resource %s not found", q);
	free(q);
	return su_error(reply, MHD_HTTP_NOT_FOUND, NULL, detail);
}

static int su_method_not_allowed(struct sim_reply *reply, const char *allow)
{
	su_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "Method not allowed");
	sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, allow);
	return 0;
}

static json_object *su_resource(const struct su_user *u, const struct sim_request *req)
{
	const char *host = sim_request_header(req, MHD_HTTP_HEADER_HOST);
	json_object *out = json_object_new_object();
	json_object *meta = json_object_new_object();
	char when[32], version[40];
	char *loc;
	size_t n;

	json_object_object_add(out, "schemas", su_copy(su_get(u->res, "schemas", NULL)));
	json_object_object_add(out, "id", json_object_new_string(u->id));
	json_object_object_foreach(u->res, k, v) {
		if (strcmp(k, "schemas") != 0)
			json_object_object_add(out, k, su_copy(v));
	}
	json_object_object_add(meta, "resourceType", json_object_new_string("User"));
	su_iso_time(u->created, when, sizeof(when));
	json_object_object_add(meta, "created", json_object_new_string(when));
	su_iso_time(u->modified, when, sizeof(when));
	json_object_object_add(meta, "lastModified", json_object_new_string(when));
	if (!host)
		host = "localhost";
	n = strlen(host) + strlen(USERS) + strlen(u->id) + 16;
	loc = sim_xmalloc(n);
	snprintf(loc, n, "http://%s%s/%s", host, USERS, u->id);
	json_object_object_add(meta, "location", json_object_new_string(loc));
	free(loc);
	snprintf(version, sizeof(version), "W/\"%llu\"", u->version);
	json_object_object_add(meta, "version", json_object_new_string(version));
	json_object_object_add(out, "meta", meta);
	return out;
}

/* One resource as the answer, with its ETag (and Location for a 201). */
static int su_reply_user(struct sim_reply *reply, unsigned int status, const struct su_user *u,
			 const struct sim_request *req)
{
	json_object *res = su_resource(u, req);
	json_object *meta = su_get(res, "meta", NULL);
	/* Copied: the reply takes the object, and headers go after the body
	 * (setting a body clears them). */
	char *loc = sim_xstrdup(json_object_get_string(su_get(meta, "location", NULL)));
	char *etag = sim_xstrdup(json_object_get_string(su_get(meta, "version", NULL)));

	su_json(reply, status, res);
	if (status == MHD_HTTP_CREATED)
		sim_reply_header(reply, MHD_HTTP_HEADER_LOCATION, loc);
	sim_reply_header(reply, MHD_HTTP_HEADER_ETAG, etag);
	free(loc);
	free(etag);
	return 0;
}

/* ------------------------------------------------------------------ */
/* validation: turns a client's User into canonical attributes */

static bool su_string(json_object *v, const char *what, struct su_err *e, bool nonblank)
{
	const char *s;
	size_t len, n;

	if (!json_object_is_type(v, json_type_string))
		return su_fail(e, 400, "invalidValue", "%s must be a string", what);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (sim_utf8_count(s, len, &n) < 0 || memchr(s, '\0', len))
		return su_fail(e, 400, "invalidValue", "%s is not valid UTF-8 text", what);
	if (nonblank) {
		size_t i = 0;

		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			return su_fail(e, 400, "invalidValue", "%s may not be empty", what);
	}
	return true;
}

static bool su_email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	}
	return at[1] != '.' && s[strlen(s) - 1] != '.';
}

/* This server's rule (RFC 7643 only recommends RFC 3966): an optional
 * "tel:" and '+', then 3 to 20 digits among spaces, dots, dashes, slashes
 * and parentheses. */
static bool su_phone_ok(const char *s)
{
	size_t digits = 0;

	if (strncasecmp(s, "tel:", 4) == 0)
		s += 4;
	if (*s == '+')
		s++;
	for (; *s; s++) {
		if (isdigit((unsigned char)*s))
			digits++;
		else if (!strchr(" .-/()", *s))
			return false;
	}
	return digits >= 3 && digits <= 20;
}

static const char *const email_types[] = { "work", "home", "other", NULL };
static const char *const phone_types[] = { "work", "home", "mobile", "fax", "pager", "other", NULL };

static bool su_in(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

/* emails or phoneNumbers: [{value, type, primary, display}]. */
static bool su_multi(json_object *v, const char *attr, bool email, json_object **out, struct su_err *e)
{
	size_t n, primaries = 0;
	char what[64];

	if (!json_object_is_type(v, json_type_array))
		return su_fail(e, 400, "invalidValue", "%s must be an array", attr);
	n = json_object_array_length(v);
	*out = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(v, i);
		json_object *c, *val;
		const char *s;

		if (!json_object_is_type(item, json_type_object))
			return su_fail(e, 400, "invalidValue", "%s[%zu] must be an object", attr, i);
		c = json_object_new_object();
		json_object_array_add(*out, c);
		json_object_object_foreach(item, k, sub) {
			snprintf(what, sizeof(what), "%s[%zu].%s", attr, i, k);
			if (strcasecmp(k, "value") == 0 || strcasecmp(k, "display") == 0) {
				if (!su_string(sub, what, e, strcasecmp(k, "value") == 0))
					return false;
				json_object_object_add(c, strcasecmp(k, "value") == 0 ? "value" : "display",
						       su_copy(sub));
			} else if (strcasecmp(k, "type") == 0) {
				if (!su_string(sub, what, e, true))
					return false;
				s = json_object_get_string(sub);
				if (!su_in(email ? email_types : phone_types, s)) {
					char *q = su_quote(s, strlen(s));

					su_fail(e, 400, "invalidValue", "%s: \"%s\" is not one of the canonical values",
						what, q);
					free(q);
					return false;
				}
				json_object_object_add(c, "type", su_copy(sub));
			} else if (strcasecmp(k, "primary") == 0) {
				if (!json_object_is_type(sub, json_type_boolean))
					return su_fail(e, 400, "invalidValue", "%s must be a boolean", what);
				primaries += json_object_get_boolean(sub);
				json_object_object_add(c, "primary", su_copy(sub));
			} else {
				char *q = su_quote(k, strlen(k));

				su_fail(e, 400, "invalidSyntax", "%s[%zu]: unknown attribute \"%s\"", attr, i, q);
				free(q);
				return false;
			}
		}
		val = su_get(c, "value", NULL);
		if (!val)
			return su_fail(e, 400, "invalidValue", "%s[%zu].value is required", attr, i);
		s = json_object_get_string(val);
		if (email ? !su_email_ok(s) : !su_phone_ok(s)) {
			char *q = su_quote(s, strlen(s));

			su_fail(e, 400, "invalidValue", "%s[%zu].value \"%s\" is not %s", attr, i, q,
				email ? "an email address" : "a telephone number");
			free(q);
			return false;
		}
	}
	if (primaries > 1)
		return su_fail(e, 400, "invalidValue", "%s: only one value may be primary", attr);
	return true;
}

/* A complex attribute of string sub-attributes (name, the enterprise
 * extension), with manager {value, $ref, displayName} inside the latter. */
static const char *const name_subs[] = {
	"formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix", NULL,
};
static const char *const enterprise_subs[] = {
	"employeeNumber", "costCenter", "organization", "division", "department", "manager", NULL,
};
static const char *const manager_subs[] = { "value", "$ref", "displayName", NULL };

static bool su_complex(json_object *v, const char *attr, const char *const *subs, json_object **out,
		       struct su_err *e)
{
	char what[160];

	if (!json_object_is_type(v, json_type_object))
		return su_fail(e, 400, "invalidValue", "%s must be an object", attr);
	*out = json_object_new_object();
	json_object_object_foreach(v, k, sub) {
		const char *canon = NULL;

		for (size_t i = 0; subs[i]; i++) {
			if (strcasecmp(subs[i], k) == 0)
				canon = subs[i];
		}
		if (!canon) {
			char *q = su_quote(k, strlen(k));

			su_fail(e, 400, "invalidSyntax", "%s: unknown attribute \"%s\"", attr, q);
			free(q);
			return false;
		}
		snprintf(what, sizeof(what), "%s.%s", attr, canon);
		if (strcmp(canon, "manager") == 0) {
			json_object *m = NULL;

			if (!su_complex(sub, what, manager_subs, &m, e)) {
				json_object_put(m);
				return false;
			}
			json_object_object_add(*out, canon, m);
			continue;
		}
		if (!su_string(sub, what, e, false))
			return false;
		json_object_object_add(*out, canon, su_copy(sub));
	}
	return true;
}

enum su_kind { K_STRING, K_BOOL, K_SCHEMAS, K_READONLY, K_PASSWORD, K_NAME, K_EMAILS, K_PHONES, K_ENTERPRISE };

static const struct {
	const char *name;
	enum su_kind kind;
} user_attrs[] = {
	{ "schemas", K_SCHEMAS }, { "id", K_READONLY }, { "meta", K_READONLY },
	{ "userName", K_STRING }, { "externalId", K_STRING }, { "name", K_NAME },
	{ "displayName", K_STRING }, { "nickName", K_STRING }, { "profileUrl", K_STRING },
	{ "title", K_STRING }, { "userType", K_STRING }, { "preferredLanguage", K_STRING },
	{ "locale", K_STRING }, { "timezone", K_STRING }, { "active", K_BOOL },
	{ "password", K_PASSWORD }, { "emails", K_EMAILS }, { "phoneNumbers", K_PHONES },
	{ URN_ENTERPRISE, K_ENTERPRISE },
};

static bool su_schemas(json_object *v, bool *enterprise, struct su_err *e)
{
	bool core = false;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return su_fail(e, 400, "invalidValue", "schemas must be an array of URIs");
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		const char *u;

		if (!json_object_is_type(s, json_type_string))
			return su_fail(e, 400, "invalidValue", "schemas[%zu] must be a string", i);
		u = json_object_get_string(s);
		if (strcasecmp(u, URN_CORE_USER) == 0) {
			core = true;
		} else if (strcasecmp(u, URN_ENTERPRISE) == 0) {
			*enterprise = true;
		} else {
			char *q = su_quote(u, (size_t)json_object_get_string_len(s));

			su_fail(e, 400, "invalidValue", "schemas: unknown schema \"%s\"", q);
			free(q);
			return false;
		}
	}
	if (!core)
		return su_fail(e, 400, "invalidValue", "schemas must contain " URN_CORE_USER);
	return true;
}

/* Validates a whole User. On success *res holds the canonical attributes
 * (a new object) and *password the password, if any (caller frees). */
static bool su_validate(json_object *in, json_object **res, char **password, struct su_err *e)
{
	json_object *out = NULL, *schemas = NULL;
	bool listed_ext = false, ok = false;

	*res = NULL;
	*password = NULL;
	if (!json_object_is_type(in, json_type_object))
		return su_fail(e, 400, "invalidSyntax", "the request body must be a JSON object");
	out = json_object_new_object();
	json_object_object_foreach(in, k, v) {
		enum su_kind kind = K_READONLY;
		const char *canon = NULL;
		json_object *c = NULL;

		for (size_t i = 0; i < sizeof(user_attrs) / sizeof(user_attrs[0]); i++) {
			if (strcasecmp(user_attrs[i].name, k) == 0) {
				canon = user_attrs[i].name;
				kind = user_attrs[i].kind;
			}
		}
		if (!canon) {
			char *q = su_quote(k, strlen(k));

			su_fail(e, 400, "invalidSyntax", "unknown attribute \"%s\"", q);
			free(q);
			goto out;
		}
		/* null means "no value" (RFC 7643 2.5): as if left out. */
		if (!v && kind != K_SCHEMAS)
			continue;
		bool good = true;
		switch (kind) {
		case K_READONLY:
			/* RFC 7644 3.3: readOnly values sent by a client are ignored. */
			continue;
		case K_SCHEMAS:
			good = su_schemas(v, &listed_ext, e);
			schemas = v;
			break;
		case K_STRING:
			good = su_string(v, canon, e, strcmp(canon, "userName") == 0);
			c = good ? su_copy(v) : NULL;
			break;
		case K_BOOL:
			good = json_object_is_type(v, json_type_boolean) ||
			       su_fail(e, 400, "invalidValue", "%s must be a boolean", canon);
			c = good ? su_copy(v) : NULL;
			break;
		case K_PASSWORD:
			good = su_string(v, canon, e, true);
			if (good) {
				free(*password);
				*password = sim_xstrdup(json_object_get_string(v));
			}
			break;
		case K_NAME:
			good = su_complex(v, canon, name_subs, &c, e);
			break;
		case K_ENTERPRISE:
			good = su_complex(v, canon, enterprise_subs, &c, e);
			break;
		case K_EMAILS:
		case K_PHONES:
			good = su_multi(v, canon, kind == K_EMAILS, &c, e);
			break;
		}
		if (!good) {
			json_object_put(c);
			goto out;
		}
		if (c)
			json_object_object_add(out, canon, c);
	}
	if (!schemas) {
		su_fail(e, 400, "invalidValue", "schemas is required");
		goto out;
	}
	if (!su_has(out, "userName")) {
		su_fail(e, 400, "invalidValue", "userName is required");
		goto out;
	}
	/* RFC 7643 3: the URIs of the extensions used are listed. */
	if (su_has(out, URN_ENTERPRISE) && !listed_ext) {
		su_fail(e, 400, "invalidValue", "the enterprise extension is used but " URN_ENTERPRISE
			" is not in schemas");
		goto out;
	}
	json_object_object_add(out, "schemas", su_copy(schemas));
	*res = out;
	out = NULL;
	ok = true;
out:
	json_object_put(out);
	if (!ok) {
		free(*password);
		*password = NULL;
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* users */

static void su_user_free(struct su_user *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->fold);
	json_object_put(u->res);
	free(u->password);
	free(u);
}

static const char *su_user_name(const struct su_user *u)
{
	return json_object_get_string(su_get(u->res, "userName", NULL));
}

/* 409 when another user holds the userName (case-insensitively). */
static bool su_unique(struct su_state *st, json_object *res, const struct su_user *self, struct su_err *e)
{
	const char *name = json_object_get_string(su_get(res, "userName", NULL));
	char *fold = su_fold(name);
	struct su_user *o = sim_map_get(&st->by_fold, fold);

	free(fold);
	if (o && o != self) {
		char *q = su_quote(name, strlen(name));

		su_fail(e, 409, "uniqueness", "userName \"%s\" is already taken", q);
		free(q);
		return false;
	}
	return true;
}

static bool su_media_ok(const struct sim_request *req)
{
	const char *ct = sim_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char *const ok[] = { SCIM_CT, "application/json" };

	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(ok[i]);

		if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return true;
	}
	return false;
}

/* The parsed body, or NULL after answering why there is none. */
static json_object *su_body(const struct sim_request *req, struct sim_reply *reply)
{
	if (!su_media_ok(req)) {
		su_error(reply, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
			 "Content-Type must be " SCIM_CT " or application/json");
		return NULL;
	}
	if (req->json_error || !req->json) {
		su_error(reply, MHD_HTTP_BAD_REQUEST, "invalidSyntax", "the request body is not valid JSON");
		return NULL;
	}
	return req->json;
}

static void su_index(struct su_state *st, struct su_user *u, json_object *res)
{
	if (u->fold)
		sim_map_del(&st->by_fold, u->fold);
	free(u->fold);
	json_object_put(u->res);
	u->res = res;
	u->fold = su_fold(su_user_name(u));
	sim_map_put(&st->by_fold, u->fold, u);
}

static int su_create(struct su_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	json_object *body = su_body(req, reply), *res;
	struct su_user *u;
	struct su_err e;
	char *password, id[64];

	if (!body)
		return 0;
	if (!su_validate(body, &res, &password, &e))
		return su_reply_err(reply, &e);
	if (!su_unique(st, res, NULL, &e)) {
		json_object_put(res);
		free(password);
		return su_reply_err(reply, &e);
	}
	u = sim_xcalloc(1, sizeof(*u));
	st->next_id++;
	snprintf(id, sizeof(id), "%08x-5c1f-4a2e-8d3b-%012llx", (unsigned int)(st->next_id * 2654435761u),
		 st->next_id);
	u->id = sim_xstrdup(id);
	u->password = password;
	u->created = u->modified = sim_wall_s();
	u->version = 1;
	su_index(st, u, res);
	sim_map_put(&st->by_id, u->id, u);
	json_object *n;
	int64_t count = json_object_object_get_ex(st->creates, u->fold, &n) ? json_object_get_int64(n) : 0;
	json_object_object_add(st->creates, u->fold, json_object_new_int64(count + 1));
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->users = sim_xrealloc(st->users, st->cap * sizeof(*st->users));
	}
	st->users[st->len++] = u;
	return su_reply_user(reply, MHD_HTTP_CREATED, u, req);
}

/* Stores a validated replacement of u (PUT, PATCH). */
static int su_store(struct su_state *st, struct su_user *u, json_object *res, char *password,
		    const struct sim_request *req, struct sim_reply *reply)
{
	struct su_err e;

	if (!su_unique(st, res, u, &e)) {
		json_object_put(res);
		free(password);
		return su_reply_err(reply, &e);
	}
	su_index(st, u, res);
	/* writeOnly and not returned: a replacement without one keeps it. */
	if (password) {
		free(u->password);
		u->password = password;
	}
	u->modified = sim_wall_s();
	u->version++;
	return su_reply_user(reply, MHD_HTTP_OK, u, req);
}

static int su_replace(struct su_state *st, struct su_user *u, const struct sim_request *req,
		      struct sim_reply *reply)
{
	json_object *body = su_body(req, reply), *res;
	struct su_err e;
	char *password;

	if (!body)
		return 0;
	if (!su_validate(body, &res, &password, &e))
		return su_reply_err(reply, &e);
	return su_store(st, u, res, password, req, reply);
}

/* ---- PATCH (RFC 7644 3.5.2), on a working copy validated as a whole ---- */

/* Sets name in obj, replacing a member spelt in another case. */
static void su_put(json_object *obj, const char *name, json_object *v)
{
	const char *key = NULL;

	su_get(obj, name, &key);
	if (key) {
		char *k = sim_xstrdup(key);

		json_object_object_del(obj, k);
		free(k);
	}
	json_object_object_add(obj, name, v);
}

static void su_remove(json_object *obj, const char *name)
{
	const char *key = NULL;

	su_get(obj, name, &key);
	if (key) {
		char *k = sim_xstrdup(key);

		json_object_object_del(obj, k);
		free(k);
	}
}

/* add appends to multi-valued attributes, replace replaces all their
 * values; both set the sub-attributes given of a complex attribute and
 * leave the others as they were (RFC 7644 3.5.2.1, 3.5.2.3). */
static void su_patch_set(json_object *obj, const char *name, json_object *v, bool add)
{
	json_object *cur = su_get(obj, name, NULL);

	if (add && json_object_is_type(cur, json_type_array) && json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++)
			json_object_array_add(cur, su_copy(json_object_array_get_idx(v, i)));
		return;
	}
	if (json_object_is_type(cur, json_type_object) && json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, sub)
			su_put(cur, k, su_copy(sub));
		return;
	}
	su_put(obj, name, su_copy(v));
}

/* Resolves path to (the object holding it, the attribute name): "attr",
 * "attr.sub", "<URN>:attr". Filters ("emails[type eq ...]") are not
 * supported. The holder is created for add/replace. */
static bool su_patch_target(json_object *work, const char *path, bool create, json_object **holder,
			    char **name, struct su_err *e)
{
	size_t un = strlen(URN_ENTERPRISE);
	const char *p = path;
	json_object *h = work;

	if (strpbrk(path, "[]"))
		return su_fail(e, 400, "invalidPath", "value filters in paths are not supported");
	if (strncasecmp(p, URN_ENTERPRISE, un) == 0 && p[un] == ':') {
		json_object *ext = su_get(work, URN_ENTERPRISE, NULL);

		if (!ext) {
			if (!create)
				return su_fail(e, 400, "noTarget", "no enterprise extension attributes");
			ext = json_object_new_object();
			su_put(work, URN_ENTERPRISE, ext);
		}
		h = ext;
		p += un + 1;
	} else if (strncasecmp(p, "urn:", 4) == 0) {
		return su_fail(e, 400, "invalidPath", "unknown schema in path");
	}
	const char *dot = strchr(p, '.');
	if (dot) {
		char *parent = sim_xstrndup(p, (size_t)(dot - p));
		json_object *sub = su_get(h, parent, NULL);

		if (!sub && create) {
			sub = json_object_new_object();
			su_put(h, parent, sub);
		}
		free(parent);
		if (!json_object_is_type(sub, json_type_object))
			return su_fail(e, 400, "noTarget", "the path's parent attribute is not there");
		h = sub;
		p = dot + 1;
	}
	if (!*p || strchr(p, '.'))
		return su_fail(e, 400, "invalidPath", "the path is not attr, attr.sub or URN:attr");
	*holder = h;
	*name = sim_xstrdup(p);
	return true;
}

static bool su_patch_op(json_object *work, json_object *op, size_t i, struct su_err *e)
{
	json_object *kind = su_get(op, "op", NULL), *path = su_get(op, "path", NULL);
	json_object *value = su_get(op, "value", NULL), *holder = NULL;
	const char *o;
	bool add, remove, ok;
	char *name = NULL;

	if (!json_object_is_type(op, json_type_object) || !json_object_is_type(kind, json_type_string))
		return su_fail(e, 400, "invalidSyntax", "Operations[%zu] needs an op", i);
	o = json_object_get_string(kind);
	add = strcasecmp(o, "add") == 0;
	remove = strcasecmp(o, "remove") == 0;
	if (!add && !remove && strcasecmp(o, "replace") != 0)
		return su_fail(e, 400, "invalidSyntax", "Operations[%zu]: op must be add, remove or replace", i);
	if (path && !json_object_is_type(path, json_type_string))
		return su_fail(e, 400, "invalidPath", "Operations[%zu]: path must be a string", i);
	if (!path) {
		if (remove)
			return su_fail(e, 400, "noTarget", "Operations[%zu]: remove needs a path", i);
		if (!json_object_is_type(value, json_type_object))
			return su_fail(e, 400, "invalidValue", "Operations[%zu]: value must be an object", i);
		json_object_object_foreach(value, k, v)
			su_patch_set(work, k, v, add);
		return true;
	}
	if (!remove && !su_has(op, "value"))
		return su_fail(e, 400, "invalidValue", "Operations[%zu]: value is required", i);
	ok = su_patch_target(work, json_object_get_string(path), !remove, &holder, &name, e);
	if (ok && remove)
		su_remove(holder, name);
	else if (ok)
		su_patch_set(holder, name, value, add);
	free(name);
	return ok;
}

static int su_patch(struct su_state *st, struct su_user *u, const struct sim_request *req,
		    struct sim_reply *reply)
{
	json_object *body = su_body(req, reply), *ops, *schemas, *work, *res, *list;
	struct su_err e;
	char *password;
	bool patch_urn = false;
	size_t n;

	if (!body)
		return 0;
	schemas = su_get(body, "schemas", NULL);
	n = json_object_is_type(schemas, json_type_array) ? json_object_array_length(schemas) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(schemas, i);

		if (json_object_is_type(s, json_type_string) && strcasecmp(json_object_get_string(s), URN_PATCH) == 0)
			patch_urn = true;
	}
	if (!patch_urn)
		return su_error(reply, MHD_HTTP_BAD_REQUEST, "invalidValue", "schemas must contain " URN_PATCH);
	ops = su_get(body, "Operations", NULL);
	if (!json_object_is_type(ops, json_type_array) || json_object_array_length(ops) == 0)
		return su_error(reply, MHD_HTTP_BAD_REQUEST, "invalidSyntax", "Operations must be a non-empty array");

	work = su_copy(u->res);
	n = json_object_array_length(ops);
	for (size_t i = 0; i < n; i++) {
		if (!su_patch_op(work, json_object_array_get_idx(ops, i), i, &e)) {
			json_object_put(work);
			return su_reply_err(reply, &e);
		}
	}
	/* Extension attributes added by PATCH bring their schema along. */
	list = su_get(work, "schemas", NULL);
	if (su_has(work, URN_ENTERPRISE) && json_object_is_type(list, json_type_array)) {
		bool listed = false;

		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *s = json_object_array_get_idx(list, i);

			listed |= json_object_is_type(s, json_type_string) &&
				  strcasecmp(json_object_get_string(s), URN_ENTERPRISE) == 0;
		}
		if (!listed)
			json_object_array_add(list, json_object_new_string(URN_ENTERPRISE));
	}
	if (!su_validate(work, &res, &password, &e)) {
		json_object_put(work);
		return su_reply_err(reply, &e);
	}
	json_object_put(work);
	return su_store(st, u, res, password, req, reply);
}

static int su_delete(struct su_state *st, struct su_user *u, struct sim_reply *reply)
{
	size_t i = 0;

	while (i < st->len && st->users[i] != u)
		i++;
	memmove(st->users + i, st->users + i + 1, (st->len - i - 1) * sizeof(*st->users));
	st->len--;
	sim_map_del(&st->by_fold, u->fold);
	sim_map_del(&st->by_id, u->id);
	su_user_free(u);
	return sim_reply_empty(reply, MHD_HTTP_NO_CONTENT);
}

/* ---- filters (RFC 7644 3.4.2.2): attrPath op [value], one comparison ---- */

struct su_filter {
	const char *attr;	/* canonical: userName, externalId, id, displayName, emails.value, active */
	char op[3];
	json_object *value;	/* NULL for pr */
};

static const struct {
	const char *path;
	const char *canon;
	bool fold;		/* caseExact false */
} filter_attrs[] = {
	{ "userName", "userName", true }, { "externalId", "externalId", false }, { "id", "id", false },
	{ "displayName", "displayName", true }, { "emails", "emails.value", true },
	{ "emails.value", "emails.value", true }, { "active", "active", false },
};

static const char *const filter_ops[] = { "eq", "ne", "co", "sw", "ew", NULL };

static bool su_filter_parse(const char *f, struct su_filter *out, bool *fold, struct su_err *e)
{
	const char *p = f, *start;
	char attr[64];
	size_t n;

	memset(out, 0, sizeof(*out));
	while (*p == ' ')
		p++;
	start = p;
	while (isalnum((unsigned char)*p) || *p == '.' || *p == ':' || *p == '$' || *p == '_' || *p == '-')
		p++;
	n = (size_t)(p - start);
	if (!n || n >= sizeof(attr) || *p != ' ')
		return su_fail(e, 400, "invalidFilter", "expected attrPath op value");
	memcpy(attr, start, n);
	attr[n] = '\0';
	for (size_t i = 0; i < sizeof(filter_attrs) / sizeof(filter_attrs[0]); i++) {
		if (strcasecmp(filter_attrs[i].path, attr) == 0) {
			out->attr = filter_attrs[i].canon;
			*fold = filter_attrs[i].fold;
		}
	}
	if (!out->attr)
		return su_fail(e, 400, "invalidFilter", "filtering on this attribute is not supported");
	while (*p == ' ')
		p++;
	start = p;
	while (isalpha((unsigned char)*p))
		p++;
	if (p - start != 2)
		return su_fail(e, 400, "invalidFilter", "expected an operator");
	out->op[0] = (char)tolower((unsigned char)start[0]);
	out->op[1] = (char)tolower((unsigned char)start[1]);
	if (strcmp(out->op, "pr") == 0) {
		while (*p == ' ')
			p++;
		return *p ? su_fail(e, 400, "invalidFilter", "only one comparison is supported") : true;
	}
	if (!su_in(filter_ops, out->op))
		return su_fail(e, 400, "invalidFilter", "operator not supported");
	if (*p != ' ')
		return su_fail(e, 400, "invalidFilter", "expected a value");
	while (*p == ' ')
		p++;
	/* The value is a JSON literal; find where a string one ends. */
	start = p;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
		}
		if (*p != '"')
			return su_fail(e, 400, "invalidFilter", "unterminated string");
		p++;
	} else {
		while (*p && *p != ' ')
			p++;
	}
	char *lit = sim_xstrndup(start, (size_t)(p - start));
	int r = sim_json_parse(lit, strlen(lit), &out->value);
	free(lit);
	if (r < 0 || (!out->value && strncmp(start, "null", 4) != 0))
		return su_fail(e, 400, "invalidFilter", "the value is not a JSON literal");
	while (*p == ' ')
		p++;
	if (*p) {
		json_object_put(out->value);
		out->value = NULL;
		return su_fail(e, 400, "invalidFilter", "only one comparison is supported");
	}
	return true;
}

static bool su_compare(const char *have, const struct su_filter *f, bool fold)
{
	const char *want;
	size_t hl, wl;

	if (!json_object_is_type(f->value, json_type_string))
		return false;
	want = json_object_get_string(f->value);
	hl = strlen(have);
	wl = strlen(want);
	if (strcmp(f->op, "eq") == 0)
		return su_equal(have, want, fold);
	if (strcmp(f->op, "ne") == 0)
		return !su_equal(have, want, fold);
	if (strcmp(f->op, "co") == 0)
		return su_contains(have, want, fold);
	if (strcmp(f->op, "sw") == 0)
		return hl >= wl && (fold ? strncasecmp(have, want, wl) : strncmp(have, want, wl)) == 0;
	return hl >= wl && su_equal(have + hl - wl, want, fold);
}

static bool su_matches(const struct su_user *u, const struct su_filter *f, bool fold)
{
	json_object *v;

	if (strcmp(f->attr, "id") == 0)
		return strcmp(f->op, "pr") == 0 || su_compare(u->id, f, fold);
	if (strcmp(f->attr, "emails.value") == 0) {
		json_object *emails = su_get(u->res, "emails", NULL);
		size_t n = emails ? json_object_array_length(emails) : 0;

		for (size_t i = 0; i < n; i++) {
			v = su_get(json_object_array_get_idx(emails, i), "value", NULL);
			if (v && (strcmp(f->op, "pr") == 0 || su_compare(json_object_get_string(v), f, fold)))
				return true;
		}
		return false;
	}
	v = su_get(u->res, f->attr, NULL);
	if (!v)
		return strcmp(f->op, "ne") == 0;
	if (strcmp(f->op, "pr") == 0)
		return true;
	if (json_object_is_type(v, json_type_boolean)) {
		bool eq = json_object_is_type(f->value, json_type_boolean) &&
			  json_object_get_boolean(v) == json_object_get_boolean(f->value);
		return strcmp(f->op, "eq") == 0 ? eq : strcmp(f->op, "ne") == 0 ? !eq : false;
	}
	return su_compare(json_object_get_string(v), f, fold);
}

/* A non-negative integer query parameter; def when absent. */
static bool su_query_int(const struct sim_request *req, const char *name, long long def, long long *out,
			 struct su_err *e)
{
	const char *s = sim_request_query(req, name);
	char *end;

	*out = def;
	if (!s)
		return true;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end == s || *end || errno == ERANGE)
		return su_fail(e, 400, "invalidValue", "%s must be an integer", name);
	return true;
}

static int su_list(struct su_state *st, const struct sim_request *req, struct sim_reply *reply)
{
	const char *filter = sim_request_query(req, "filter");
	struct su_filter f = { 0 };
	struct su_err e;
	long long start, count;
	bool fold = false;
	json_object *obj, *res, *schemas;
	unsigned long long total = 0;

	if (!su_query_int(req, "startIndex", 1, &start, &e) || !su_query_int(req, "count", MAX_RESULTS, &count, &e))
		return su_reply_err(reply, &e);
	/* RFC 7644 3.4.2.4: below 1 means 1; a negative count means 0. */
	if (start < 1)
		start = 1;
	if (count < 0)
		count = 0;
	if (count > MAX_RESULTS)
		count = MAX_RESULTS;
	if (filter && !su_filter_parse(filter, &f, &fold, &e))
		return su_reply_err(reply, &e);

	res = json_object_new_array();
	for (size_t i = 0; i < st->len; i++) {
		if (filter && !su_matches(st->users[i], &f, fold))
			continue;
		total++;
		if (total >= (unsigned long long)start && total < (unsigned long long)start + (unsigned long long)count)
			json_object_array_add(res, su_resource(st->users[i], req));
	}
	json_object_put(f.value);
	obj = json_object_new_object();
	schemas = json_object_new_array();
	json_object_array_add(schemas, json_object_new_string(URN_LIST));
	json_object_object_add(obj, "schemas", schemas);
	json_object_object_add(obj, "totalResults", json_object_new_uint64(total));
	json_object_object_add(obj, "startIndex", json_object_new_int64(start));
	json_object_object_add(obj, "itemsPerPage", json_object_new_uint64(json_object_array_length(res)));
	json_object_object_add(obj, "Resources", res);
	return su_json(reply, MHD_HTTP_OK, obj);
}

static int su_spc(struct sim_reply *reply)
{
	static const char doc[] =
		"{\"schemas\":[\"" URN_SPC "\"],"
		"\"documentationUri\":\"https://www.rfc-editor.org/rfc/rfc7644\","
		"\"patch\":{\"supported\":true},"
		"\"bulk\":{\"supported\":false,\"maxOperations\":0,\"maxPayloadSize\":0},"
		"\"filter\":{\"supported\":true,\"maxResults\":200},"
		"\"changePassword\":{\"supported\":false},"
		"\"sort\":{\"supported\":false},"
		"\"etag\":{\"supported\":true},"
		"\"authenticationSchemes\":[{\"type\":\"oauthbearertoken\",\"name\":\"OAuth Bearer Token\","
		"\"description\":\"Authentication scheme using the OAuth Bearer Token Standard\","
		"\"specUri\":\"https://www.rfc-editor.org/rfc/rfc6750\",\"primary\":true}],"
		"\"meta\":{\"resourceType\":\"ServiceProviderConfig\",\"location\":\"" SPC "\"}}";
	json_object *obj = NULL;

	if (sim_json_parse(doc, sizeof(doc) - 1, &obj) < 0)
		return -EINVAL;
	return su_json(reply, MHD_HTTP_OK, obj);
}

/* ------------------------------------------------------------------ */
/* the sim_api hooks */

static const char *su_route(const struct sim_request *req)
{
	if (strcmp(req->path, USERS) == 0)
		return USERS;
	if (strcmp(req->path, SPC) == 0)
		return SPC;
	return sim_item_id(req->path, USERS) ? ROUTE_ITEM : NULL;
}

static const char *su_log_key(const struct sim *sim, const struct sim_request *req, size_t *len)
{
	return sim_json_string(req->json, "userName", len);
}

static bool su_authorized(const struct sim *sim, const struct sim_request *req)
{
	const char *auth = sim_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token = sim_secret(sim, "scim.token", DEFAULT_TOKEN);

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return strcmp(auth, token) == 0;
}

/* RFC 7644 3.14: a change carrying If-Match applies only to the version
 * it names (weak comparison: the ETags are weak), or to any with "*". */
static bool su_if_match(const struct su_user *u, const struct sim_request *req)
{
	const char *want = sim_request_header(req, MHD_HTTP_HEADER_IF_MATCH);
	char tag[32];

	if (!want)
		return true;
	while (*want == ' ')
		want++;
	if (strcmp(want, "*") == 0)
		return true;
	/* The quotes delimit the version: "1" is not found in "11". */
	snprintf(tag, sizeof(tag), "\"%llu\"", u->version);
	return strstr(want, tag) != NULL;
}

static int su_handle(struct sim *sim, void *state, const struct sim_request *req, struct sim_reply *reply)
{
	struct su_state *st = state;
	const char *m = req->method, *id;
	struct su_user *u;

	if (!su_authorized(sim, req)) {
		su_error(reply, MHD_HTTP_UNAUTHORIZED, NULL, "Authorization failure: a valid bearer token is required");
		sim_reply_header(reply, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"scim\"");
		return 0;
	}
	if (!su_route(req))
		return su_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such endpoint");
	if (strcmp(req->path, SPC) == 0)
		return strcmp(m, "GET") == 0 ? su_spc(reply) : su_method_not_allowed(reply, "GET");
	id = sim_item_id(req->path, USERS);
	if (!id) {
		if (strcmp(m, "GET") == 0)
			return su_list(st, req, reply);
		if (strcmp(m, "POST") == 0)
			return su_create(st, req, reply);
		return su_method_not_allowed(reply, "GET, POST");
	}
	if (strcmp(m, "GET") && strcmp(m, "PUT") && strcmp(m, "PATCH") && strcmp(m, "DELETE"))
		return su_method_not_allowed(reply, "GET, PUT, PATCH, DELETE");
	u = sim_map_get(&st->by_id, id);
	if (!u)
		return su_not_found(reply, id);
	if (strcmp(m, "GET") == 0)
		return su_reply_user(reply, MHD_HTTP_OK, u, req);
	if (!su_if_match(u, req)) {
		char detail[96];

		snprintf(detail, sizeof(detail), "the resource is at version W/\"%llu\"", u->version);
		return su_error(reply, MHD_HTTP_PRECONDITION_FAILED, NULL, detail);
	}
	if (strcmp(m, "PUT") == 0)
		return su_replace(st, u, req, reply);
	if (strcmp(m, "PATCH") == 0)
		return su_patch(st, u, req, reply);
	return su_delete(st, u, reply);
}

static int su_throttle(struct sim *sim, void *state, const struct sim_request *req, unsigned int retry_after_s,
		       struct sim_reply *reply)
{
	char secs[16], detail[96];

	snprintf(secs, sizeof(secs), "%u", retry_after_s);
	snprintf(detail, sizeof(detail), "Too many requests: retry after %u s", retry_after_s);
	su_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL, detail);
	sim_reply_header(reply, "Retry-After", secs);
	return 0;
}

static void su_reset(void *state)
{
	struct su_state *st = state;

	for (size_t i = 0; i < st->len; i++)
		su_user_free(st->users[i]);
	free(st->users);
	st->users = NULL;
	st->len = st->cap = 0;
	st->next_id = 0;
	sim_map_clear(&st->by_fold);
	sim_map_clear(&st->by_id);
	json_object_put(st->creates);
	st->creates = json_object_new_object();
}

static void *su_state_new(const struct sim *sim)
{
	struct su_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_fold);
	sim_map_init(&st->by_id);
	st->creates = json_object_new_object();
	return st;
}

static void su_state_free(void *state)
{
	struct su_state *st = state;

	if (!st)
		return;
	su_reset(st);
	json_object_put(st->creates);
	free(st);
}

/* Users as GET returns them, plus the writeOnly password, each user's
 * active flag and the creates per userName, for the tests. */
static json_object *su_dump(void *state)
{
	struct su_state *st = state;
	struct sim_request none = { .method = "GET", .path = USERS };
	json_object *obj = json_object_new_object();
	json_object *users = json_object_new_array();
	json_object *active = json_object_new_object();

	for (size_t i = 0; i < st->len; i++) {
		const struct su_user *u = st->users[i];
		json_object *r = su_resource(u, &none), *a = su_get(u->res, "active", NULL);

		if (u->password)
			json_object_object_add(r, "password", json_object_new_string(u->password));
		json_object_array_add(users, r);
		json_object_object_add(active, u->fold, json_object_new_boolean(!a || json_object_get_boolean(a)));
	}
	json_object_object_add(obj, "users", users);
	json_object_object_add(obj, "active", active);
	json_object_object_add(obj, "creates", su_copy(st->creates));
	return obj;
}

const struct sim_api sim_api_scim = {
	.name = "scim",
	.path_prefix = PREFIX,
	.state_new = su_state_new,
	.state_free = su_state_free,
	.reset = su_reset,
	.handle = su_handle,
	.dump = su_dump,
	.route = su_route,
	.log_key = su_log_key,
	.throttle = su_throttle,
};
