/* SCIM 2.0 (RFC 7643 core schema, RFC 7644 protocol): POST <users_path>.
 * The mapping fills flat fields; the driver assembles them into a User
 * resource (name.*, emails[], phoneNumbers[], the enterprise extension).
 * 201 carries the created resource and its "id". A userName that is taken
 * is a 409 with scimType "uniqueness" (userName is case-insensitive): the
 * user is then looked up with GET <users_path>?filter=userName eq "..." to
 * adopt its id. Errors are {"schemas":[...Error],"status":"400",
 * "scimType":..,"detail":..}, with status a string.
 *
 * The other ops work on <users_path>/<id>: an update is a PUT of the whole
 * resource (or, with update_method = "patch", a PATCH of replace
 * operations), disable and enable PATCH "active", delete is a DELETE.
 * Without a stored id the user is first found with a filter on the key
 * field (userName eq "<key>" by default); a lookup is that filter alone. */
#include "config.h"

#include "http/encode.h"
#include "mapping/checks.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_DEFAULT_USERS_PATH "/Users"
/* Reasons reach logs and the state database: an API's detail is cut. */
#define SCIM_DETAIL_CHARS 200
/* Longer "ids" are not ids; they would only bloat the state database. */
#define SCIM_ID_MAX 255

enum scim_stage {
	SCIM_ADD,
	SCIM_LOOKUP,	/* the userName is taken: find the user's id */
};

/* The stages of every op but the add. */
enum scim_op_stage {
	SCIM_OP_FIND,	/* no id yet (or OP_LOOKUP): filter on the key */
	SCIM_OP_ACT,	/* the request on <users_path>/<id> */
};

/* Where a flat field goes in the User resource. */
enum scim_dest {
	SCIM_TOP,		/* a top-level attribute */
	SCIM_NAME,		/* name.<attr> */
	SCIM_EMAIL,		/* emails[{value, type, primary}] */
	SCIM_PHONE,		/* phoneNumbers[{value, type}] */
	SCIM_ENTERPRISE,	/* the enterprise extension's <attr> */
	SCIM_MANAGER,		/* the enterprise extension's manager.value */
};

/* ------------------------------------------------------------ schema */

/* Control characters in a userName would only travel badly: in filters,
 * URLs and the logs of every system downstream. */
static bool scim_username_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return len > 0;
}

/* How many ASCII letters (alpha_only) or letters and digits start at pos. */
static size_t scim_span(const char *s, size_t len, size_t pos, bool alpha_only)
{
	size_t n = 0;
	while (pos + n < len && (alpha_only ? isalpha((unsigned char)s[pos + n]) : isalnum((unsigned char)s[pos + n])))
		n++;
	return n;
}

/* A language range of RFC 4647: 1*8ALPHA *("-" 1*8alphanum), or "*". A
 * tag (!range) has a primary subtag of 2 to 8 letters (RFC 5646) and may
 * use '_' (Java-style "en_US", which many servers take in locale).
 * Advances *pos past it. */
static bool scim_lang_range(const char *s, size_t len, size_t *pos, bool range)
{
	if (range && *pos < len && s[*pos] == '*') {
		(*pos)++;
		return true;
	}
	size_t n = scim_span(s, len, *pos, true);
	if (n < (range ? 1u : 2u) || n > 8)
		return false;
	*pos += n;
	while (*pos < len && (s[*pos] == '-' || (!range && s[*pos] == '_'))) {
		n = scim_span(s, len, *pos + 1, false);
		if (n < 1 || n > 8)
			return false;
		*pos += 1 + n;
	}
	return true;
}

/* RFC 7643 locale: an RFC 5646 language tag such as "en-US" ('_' taken
 * too). Checked loosely: the server knows which tags it supports. */
static bool scim_locale_ok(const char *s, size_t len)
{
	size_t pos = 0;
	return scim_lang_range(s, len, &pos, false) && pos == len;
}

static void scim_skip_ows(const char *s, size_t len, size_t *pos)
{
	while (*pos < len && (s[*pos] == ' ' || s[*pos] == '\t'))
		(*pos)++;
}

/* RFC 7643 preferredLanguage: an Accept-Language value (RFC 7231 5.3.5),
 * "da, en-gb;q=0.8, en;q=0.7". */
static bool scim_language_ok(const char *s, size_t len)
{
	size_t pos = 0;
	for (;;) {
		scim_skip_ows(s, len, &pos);
		if (!scim_lang_range(s, len, &pos, true))
			return false;
		scim_skip_ows(s, len, &pos);
		if (pos < len && s[pos] == ';') {
			pos++;
			scim_skip_ows(s, len, &pos);
			if (len - pos < 3 || s[pos] != 'q' || s[pos + 1] != '=')
				return false;
			pos += 2;
			/* qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")] */
			char first = s[pos++];
			if (first != '0' && first != '1')
				return false;
			if (pos < len && s[pos] == '.') {
				size_t d = 0;
				for (pos++; pos < len && isdigit((unsigned char)s[pos]) && d < 3; pos++, d++)
					if (first == '1' && s[pos] != '0')
						return false;
			}
			scim_skip_ows(s, len, &pos);
		}
		if (pos == len)
			return true;
		if (s[pos++] != ',')
			return false;
	}
}

/* RFC 7643 timezone: an IANA time zone database name, "Europe/Paris",
 * "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC". */
static bool scim_timezone_ok(const char *s, size_t len)
{
	size_t part = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/') {
			if (part == 0)
				return false;
			part = 0;
			continue;
		}
		if (part == 0 && !isalpha(c))
			return false;
		if (!isalnum(c) && c != '_' && c != '-' && c != '+')
			return false;
		part++;
	}
	return part > 0;
}

static const struct field_schema scim_fields[] = {
	{ .name = "userName", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1,
	  .check = scim_username_ok, .check_desc = "no control characters" },
	{ .name = "externalId", .type = FT_STRING },
	{ .name = "displayName", .type = FT_STRING },
	{ .name = "givenName", .type = FT_STRING },
	{ .name = "familyName", .type = FT_STRING },
	{ .name = "middleName", .type = FT_STRING },
	{ .name = "formattedName", .type = FT_STRING },
	{ .name = "nickName", .type = FT_STRING },
	{ .name = "title", .type = FT_STRING },
	{ .name = "userType", .type = FT_STRING },
	{ .name = "preferredLanguage", .type = FT_STRING, .check = scim_language_ok,
	  .check_desc = "an Accept-Language value such as \"en-US\" or \"da, en-gb;q=0.8\"" },
	{ .name = "locale", .type = FT_STRING, .check = scim_locale_ok,
	  .check_desc = "a language tag such as \"en-US\"" },
	{ .name = "timezone", .type = FT_STRING, .check = scim_timezone_ok,
	  .check_desc = "an IANA time zone name such as \"Europe/Paris\"" },
	{ .name = "active", .type = FT_BOOL },
	{ .name = "email", .type = FT_STRING, .check = check_email, .check_desc = "an email address" },
	{ .name = "phoneNumber", .type = FT_STRING },
	{ .name = "password", .type = FT_STRING, .flags = FIELD_SECRET },
	{ .name = "employeeNumber", .type = FT_STRING },
	{ .name = "costCenter", .type = FT_STRING },
	{ .name = "organization", .type = FT_STRING },
	{ .name = "division", .type = FT_STRING },
	{ .name = "department", .type = FT_STRING },
	{ .name = "manager", .type = FT_STRING },
};

/* The resource's layout, in the order attributes are sent. */
static const struct {
	const char *field;
	enum scim_dest dest;
	const char *attr;
} scim_layout[] = {
	{ "userName", SCIM_TOP, "userName" },
	{ "externalId", SCIM_TOP, "externalId" },
	{ "formattedName", SCIM_NAME, "formatted" },
	{ "familyName", SCIM_NAME, "familyName" },
	{ "givenName", SCIM_NAME, "givenName" },
	{ "middleName", SCIM_NAME, "middleName" },
	{ "displayName", SCIM_TOP, "displayName" },
	{ "nickName", SCIM_TOP, "nickName" },
	{ "title", SCIM_TOP, "title" },
	{ "userType", SCIM_TOP, "userType" },
	{ "preferredLanguage", SCIM_TOP, "preferredLanguage" },
	{ "locale", SCIM_TOP, "locale" },
	{ "timezone", SCIM_TOP, "timezone" },
	{ "active", SCIM_TOP, "active" },
	{ "email", SCIM_EMAIL, "emails" },
	{ "phoneNumber", SCIM_PHONE, "phoneNumbers" },
	{ "password", SCIM_TOP, "password" },
	{ "employeeNumber", SCIM_ENTERPRISE, "employeeNumber" },
	{ "costCenter", SCIM_ENTERPRISE, "costCenter" },
	{ "organization", SCIM_ENTERPRISE, "organization" },
	{ "division", SCIM_ENTERPRISE, "division" },
	{ "department", SCIM_ENTERPRISE, "department" },
	{ "manager", SCIM_MANAGER, "manager" },
};

#define SCIM_N_LAYOUT (sizeof(scim_layout) / sizeof(scim_layout[0]))
/* scim_layout[] entry of userName. */
#define SCIM_USERNAME 0

/* The scim_layout[] entry of a field, or -1. */
static int scim_layout_find(const char *field)
{
	for (size_t i = 0; i < SCIM_N_LAYOUT; i++)
		if (strcmp(scim_layout[i].field, field) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ config */

static const struct cfg_key scim_keys[] = {
	{ "users_path", CFG_T_STRING, 0 },
	{ "enterprise_extension", CFG_T_BOOL, 0 },
	{ "email_type", CFG_T_STRING, 0 },
	{ "phone_type", CFG_T_STRING, 0 },
	{ "media_type", CFG_T_STRING, 0 },
	{ "update_method", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

/* RFC 7643 canonical values of emails.type and phoneNumbers.type. */
static const char *const scim_email_types[] = { "work", "home", "other", NULL };
static const char *const scim_phone_types[] = { "work", "home", "mobile", "fax", "pager", "other", NULL };
static const char *const scim_media_types[] = { "application/scim+json", "application/json", NULL };
/* PUT replaces the whole resource (RFC 7644 3.5.1); some servers only
 * take PATCH (3.5.2). */
static const char *const scim_update_methods[] = { "put", "patch", NULL };

struct scim_conf {
	char *users_url;
	bool enterprise;
	char *email_type;
	char *phone_type;
	char *media_type;
	bool update_patch;	/* update_method = "patch" */
	size_t key_layout;	/* scim_layout[] entry of the key field */
};

static void scim_free_config(void *conf)
{
	struct scim_conf *c = conf;
	if (!c)
		return;
	free(c->users_url);
	free(c->email_type);
	free(c->phone_type);
	free(c->media_type);
	free(c);
}

static bool scim_one_of(const char *const *values, const char *s)
{
	for (; *values; values++)
		if (strcmp(*values, s) == 0)
			return true;
	return false;
}

/* Reads an enumerated string key; reports a value outside `values`. */
static char *scim_enum_key(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   const char *key, const char *const *values, bool *ok)
{
	const char *v = cfg_string(target, key, values[0]);
	if (!scim_one_of(values, v)) {
		struct sbuf sb;
		sbuf_init(&sb);
		for (size_t i = 0; values[i]; i++)
			sbuf_addf(&sb, "%s%s", i ? ", " : "", values[i]);
		cfg_error(cc, config_setting_get_member(target, key), "%s: %s must be one of %s, not '%s'", where, key,
			  sb.buf, v);
		sbuf_release(&sb);
		*ok = false;
	}
	return xstrdup(v);
}

/* A path below the base URL: no query, fragment, spaces or controls,
 * which would make the lookup's "?filter=" land in the wrong place. */
static bool scim_path_ok(const char *p)
{
	if (p[0] != '/' || p[1] == '\0')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
			return false;
	return true;
}

static void *scim_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir)
{
	struct scim_conf *c = XNEW(struct scim_conf);
	bool ok = true;

	const char *path = cfg_string(target, "users_path", SCIM_DEFAULT_USERS_PATH);
	if (!scim_path_ok(path)) {
		cfg_error(cc, config_setting_get_member(target, "users_path"),
			  "%s: users_path must be a path such as \"/Users\": starting with '/', without spaces, "
			  "'?' or '#', not '%s'", where, path);
		ok = false;
	}
	c->users_url = http_url_join(cfg_string(target, "url", ""), path);
	c->enterprise = cfg_bool(target, "enterprise_extension", false);
	c->email_type = scim_enum_key(cc, target, where, "email_type", scim_email_types, &ok);
	c->phone_type = scim_enum_key(cc, target, where, "phone_type", scim_phone_types, &ok);
	c->media_type = scim_enum_key(cc, target, where, "media_type", scim_media_types, &ok);
	char *method = scim_enum_key(cc, target, where, "update_method", scim_update_methods, &ok);
	c->update_patch = strcmp(method, "patch") == 0;
	free(method);
	/* A member gone from the directory is found by its key alone. A key
	 * that is no field is reported by the mapping; userName is then as
	 * good a guess as any. */
	int key = scim_layout_find(cfg_string(target, "key", driver_scim.default_key));
	c->key_layout = key < 0 ? 0 : (size_t)key;

	/* Sending extension attributes without the extension is what a server
	 * would refuse for every member; not sending them would drop mapped
	 * data without a word. So it is a configuration error. */
	const config_setting_t *map = config_setting_get_member(target, "map");
	for (size_t i = 0; map && !c->enterprise && i < SCIM_N_LAYOUT; i++) {
		if (scim_layout[i].dest != SCIM_ENTERPRISE && scim_layout[i].dest != SCIM_MANAGER)
			continue;
		const config_setting_t *s = config_setting_get_member(map, scim_layout[i].field);
		if (s) {
			cfg_error(cc, s,
				  "%s: map.%s belongs to the enterprise extension (%s): set enterprise_extension = "
				  "true to send it", where, scim_layout[i].field, SCIM_ENTERPRISE_USER);
			ok = false;
		}
	}
	if (!ok) {
		scim_free_config(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------------ requests */

/* The object under key in obj, created on first use. */
static json_object *scim_child(json_object *obj, const char *key)
{
	json_object *child;
	if (!json_object_object_get_ex(obj, key, &child)) {
		child = json_object_new_object();
		json_object_object_add(obj, key, child);
	}
	return child;
}

/* Secret fields (the password) are for the add only: an update that
 * carried one would reset the person's password on every change. */
static bool scim_is_secret(size_t layout)
{
	if (strcmp(scim_layout[layout].attr, "password") == 0)
		return true;
	for (size_t i = 0; i < sizeof(scim_fields) / sizeof(scim_fields[0]); i++)
		if (strcmp(scim_fields[i].name, scim_layout[layout].field) == 0)
			return (scim_fields[i].flags & FIELD_SECRET) != 0;
	return false;
}

/* The User resource for a mapped payload, without secret fields unless
 * `secrets`. Values are shared with the payload (referenced, not copied).
 * Caller puts. */
static json_object *scim_user(const struct scim_conf *c, json_object *payload, bool secrets)
{
	json_object *user = json_object_new_object(), *schemas = json_object_new_array(), *ext = NULL;

	json_object_array_add(schemas, json_object_new_string(SCIM_CORE_USER));
	json_object_object_add(user, "schemas", schemas);
	for (size_t i = 0; i < SCIM_N_LAYOUT; i++) {
		json_object *v, *item, *multi;
		if (!payload || !json_object_object_get_ex(payload, scim_layout[i].field, &v) || !v)
			continue;
		if (!secrets && scim_is_secret(i))
			continue;
		switch (scim_layout[i].dest) {
		case SCIM_TOP:
			json_object_object_add(user, scim_layout[i].attr, json_object_get(v));
			break;
		case SCIM_NAME:
			json_object_object_add(scim_child(user, "name"), scim_layout[i].attr, json_object_get(v));
			break;
		case SCIM_EMAIL:
		case SCIM_PHONE:
			item = json_object_new_object();
			json_object_object_add(item, "value", json_object_get(v));
			json_object_object_add(item, "type", json_object_new_string(
				scim_layout[i].dest == SCIM_EMAIL ? c->email_type : c->phone_type));
			/* The only address sent is the one to use. */
			if (scim_layout[i].dest == SCIM_EMAIL)
				json_object_object_add(item, "primary", json_object_new_boolean(true));
			multi = json_object_new_array();
			json_object_array_add(multi, item);
			json_object_object_add(user, scim_layout[i].attr, multi);
			break;
		case SCIM_ENTERPRISE:
		case SCIM_MANAGER:
			/* configure() refuses these fields without the extension. */
			if (!c->enterprise)
				break;
			if (!ext)
				ext = json_object_new_object();
			if (scim_layout[i].dest == SCIM_ENTERPRISE) {
				json_object_object_add(ext, scim_layout[i].attr, json_object_get(v));
			} else {
				item = json_object_new_object();
				json_object_object_add(item, "value", json_object_get(v));
				json_object_object_add(ext, scim_layout[i].attr, item);
			}
			break;
		}
	}
	/* RFC 7643 3: schemas lists the extensions whose attributes are present. */
	if (ext) {
		json_object_array_add(schemas, json_object_new_string(SCIM_ENTERPRISE_USER));
		json_object_object_add(user, SCIM_ENTERPRISE_USER, ext);
	}
	return user;
}

static void scim_headers(const struct scim_conf *c, struct http_request *req, bool body)
{
	if (body)
		http_request_add_header(req, "Content-Type: %s", c->media_type);
	http_request_add_header(req, "Accept: %s", c->media_type);
}

static void scim_build_add(const struct scim_conf *c, const struct push_item *it, struct http_request *req)
{
	json_object *user = scim_user(c, it->payload, true);
	const char *text = json_object_to_json_string_ext(user, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	req->method = "POST";
	req->url = xstrdup(c->users_url);
	scim_headers(c, req, true);
	http_request_set_body(req, xstrdup(text), strlen(text));
	json_object_put(user);
}

/* <attr> eq "<value>", the value a JSON string as RFC 7644 3.4.2.2 wants
 * (quotes, backslashes and control characters escaped). Caller frees. */
static char *scim_filter(const char *attr, const char *value)
{
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "%s eq \"", attr);
	for (const char *p = value; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\')
			sbuf_addf(&sb, "\\%c", ch);
		else if (ch < 0x20)
			sbuf_addf(&sb, "\\u%04x", ch);
		else
			sbuf_addch(&sb, (char)ch);
	}
	sbuf_addch(&sb, '"');
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static const char *scim_user_name(const struct push_item *it)
{
	json_object *v;
	if (it->payload && json_object_object_get_ex(it->payload, "userName", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return it->key;
}

static void scim_build_lookup(const struct scim_conf *c, const struct push_item *it, struct http_request *req)
{
	char *filter = scim_filter("userName", scim_user_name(it));
	req->method = "GET";
	req->url = xstrdup(c->users_url);
	http_request_add_query(req, "filter", filter);
	scim_headers(c, req, false);
	free(filter);
}

/* ------------------------------------------------------------ answers */

/* An API's text made fit for a log line: cut, control characters escaped. */
static char *scim_excerpt(const char *text)
{
	return http_text_excerpt(text, SCIM_DETAIL_CHARS);
}

/* "HTTP 400 invalidValue: <detail>" from a SCIM error, else the status
 * and the start of the body. Caller frees. */
static char *scim_error_reason(const struct http_response *resp, json_object *body)
{
	const char *detail = classify_json_text(body, "detail");
	const char *type = classify_json_text(body, "scimType");
	if (!detail || !*detail)
		return classify_status_reason(resp);
	char *d = scim_excerpt(detail);
	char *t = type && *type ? scim_excerpt(type) : NULL;
	char *r = xasprintf("HTTP %ld%s%s: %s", resp->status, t ? " " : "", t ? t : "", d);
	free(d);
	free(t);
	return r;
}

/* The resource's "id" when it is one: it goes to logs and the state
 * database as it is, so nothing that could break a line. */
static const char *scim_id(json_object *res)
{
	const char *id = classify_json_text(res, "id");
	size_t len = id ? strlen(id) : 0;
	if (len == 0 || len > SCIM_ID_MAX || !utf8_valid(id, len))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return NULL;
	return id;
}

static bool scim_is_uniqueness(json_object *body)
{
	const char *type = classify_json_text(body, "scimType");
	return type && strcasecmp(type, "uniqueness") == 0;
}

/* A refusal read alike for every op, once what is special to the op is
 * decided. r is scim_error_reason(). */
static void scim_classify_refusal(const struct http_response *resp, const char *r, struct outcome *out)
{
	long st = resp->status;

	if (st == 413) {
		/* Too large for the server now, not wrong: its limits may rise. */
		outcome_set(out, OUTCOME_TRANSIENT, "the SCIM server found the request too large: %s", r);
		out->retry_after = resp->retry_after;
	} else if (st == 404 || st == 405 || st == 406 || st == 415) {
		/* Every member would get the same answer: the endpoint is wrong,
		 * not this payload, so it is not skipped as invalid. */
		outcome_set(out, OUTCOME_PERMANENT, "the SCIM server refused the request (check url, users_path and "
			    "media_type): %s", r);
	} else if (st >= 400 && st < 500) {
		outcome_set(out, OUTCOME_INVALID, "rejected by the SCIM server: %s", r);
	} else {
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from the SCIM server: %s", r);
	}
}

/* Reads the answer to the POST. Returns true when the member is already
 * there and is to be looked up. */
static bool scim_classify_add(const struct http_response *resp, struct outcome *out)
{
	json_object *body = NULL;
	long st = resp->status;
	bool conflict = false;
	char *r = NULL;

	if (st == 200 || st == 201) {
		body = classify_json_body(resp);
		const char *id = scim_id(body);
		if (id) {
			out->remote_id = xstrdup(id);
			outcome_set(out, OUTCOME_OK, "created as user %s", id);
		} else {
			outcome_set(out, OUTCOME_OK, "created (the answer has no id)");
		}
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	body = classify_json_body(resp);
	r = scim_error_reason(resp, body);
	/* RFC 7644 3.3: a taken userName is 409 with scimType "uniqueness";
	 * some servers use 400 with the same scimType. */
	if (st == 409 || (st >= 400 && st < 500 && scim_is_uniqueness(body))) {
		outcome_set(out, OUTCOME_DUPLICATE, "already at the SCIM server: %s", r);
		conflict = true;
	} else {
		scim_classify_refusal(resp, r, out);
	}
out:
	free(r);
	json_object_put(body);
	return conflict;
}

/* ASCII case folding: userName is caseExact=false, and a server matching
 * other scripts without case still answers with the one user it found. */
static bool scim_same_name(const char *a, const char *b, bool fold)
{
	return fold ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

enum scim_match {
	SCIM_MATCH_NONE,	/* the resource does not show the attribute */
	SCIM_MATCH_OTHER,	/* it holds other values */
	SCIM_MATCH_SAME,	/* it holds the value */
};

/* How resource u stands to value in the attribute of scim_layout[li]
 * (folding ASCII case when fold). */
static enum scim_match scim_match(json_object *u, size_t li, const char *value, bool fold)
{
	const char *attr = scim_layout[li].attr, *text;
	json_object *holder = u, *multi;
	enum scim_match m = SCIM_MATCH_NONE;

	switch (scim_layout[li].dest) {
	case SCIM_TOP:
		break;
	case SCIM_NAME:
		holder = classify_json_path(u, "name");
		break;
	case SCIM_EMAIL:
	case SCIM_PHONE:
		/* Multi-valued: any of its values. */
		multi = classify_json_path(u, attr);
		if (!json_object_is_type(multi, json_type_array))
			return SCIM_MATCH_NONE;
		for (size_t i = 0; i < json_object_array_length(multi); i++) {
			text = classify_json_text(json_object_array_get_idx(multi, i), "value");
			if (text && scim_same_name(text, value, fold))
				return SCIM_MATCH_SAME;
			if (text)
				m = SCIM_MATCH_OTHER;
		}
		return m;
	case SCIM_ENTERPRISE:
	case SCIM_MANAGER:
		/* Not classify_json_path(): the URN has dots. */
		if (!json_object_object_get_ex(u, SCIM_ENTERPRISE_USER, &holder))
			holder = NULL;
		if (scim_layout[li].dest == SCIM_MANAGER) {
			holder = classify_json_path(holder, "manager");
			attr = "value";
		}
		break;
	}
	text = classify_json_text(holder, attr);
	if (!text)
		return SCIM_MATCH_NONE;
	return scim_same_name(text, value, fold) ? SCIM_MATCH_SAME : SCIM_MATCH_OTHER;
}

/* The id of the user whose attribute scim_layout[li] holds value, among
 * a ListResponse's resources: an exact match first, then one that differs
 * in case (unless the attribute is caseExact, as externalId is, RFC 7643
 * 3.1); a lone result without the attribute is taken at the server's word.
 * *matches: how many users matched as well as the one returned. */
static char *scim_find_user(json_object *res, size_t li, const char *value, size_t *matches)
{
	size_t n = json_object_array_length(res);
	bool case_exact = strcmp(scim_layout[li].attr, "externalId") == 0;
	char *found = NULL;

	*matches = 0;
	for (int fold = 0; fold < (case_exact ? 1 : 2) && !found; fold++)
		for (size_t i = 0; i < n; i++) {
			json_object *u = json_object_array_get_idx(res, i);
			const char *id = scim_id(u);
			if (!id || scim_match(u, li, value, fold) != SCIM_MATCH_SAME)
				continue;
			if (!found)
				found = xstrdup(id);
			++*matches;
		}
	if (!found && n == 1) {
		json_object *u = json_object_array_get_idx(res, 0);
		const char *id = scim_id(u);
		if (id && scim_match(u, li, value, false) == SCIM_MATCH_NONE) {
			found = xstrdup(id);
			*matches = 1;
		}
	}
	return found;
}

/* The lookup answered. Being there is what counts: the id is for later
 * updates, so only trouble worth a retry is passed on. */
static void scim_classify_lookup(const struct http_response *resp, const struct push_item *it, struct outcome *out)
{
	json_object *body = NULL, *res;
	const char *user_name = scim_user_name(it);
	char *r = NULL, *id = NULL, *name = NULL;
	long st = resp->status;

	/* A token that may create but not search is not refused credentials,
	 * and a server without filters (501) will not grow them by retrying. */
	if (st != 403 && st != 501 && classify_common(resp, out))
		goto out;
	body = classify_json_body(resp);
	if (st != 200 || !body) {
		r = scim_error_reason(resp, body);
		outcome_set(out, OUTCOME_DUPLICATE, "already at the SCIM server (its id could not be looked up: %s)",
			    r);
		goto out;
	}
	/* RFC 7644 3.4.2: Resources may be left out when totalResults is 0. */
	const char *total_text = classify_json_text(body, "totalResults");
	long long total = total_text ? strtoll(total_text, NULL, 10) : -1;
	res = classify_json_path(body, "Resources");
	if (res && !json_object_is_type(res, json_type_array))
		res = NULL;
	size_t n = res ? json_object_array_length(res) : 0;
	name = scim_excerpt(user_name);
	size_t matches;
	if (n && (id = scim_find_user(res, SCIM_USERNAME, user_name, &matches))) {
		out->remote_id = xstrdup(id);
		outcome_set(out, OUTCOME_DUPLICATE, "already at the SCIM server as user %s", id);
	} else if (n == 0 && (total == 0 || (res && total < 0))) {
		/* The conflict is not on the userName: another user holds a
		 * value of this one that must be unique (externalId, email). */
		outcome_set(out, OUTCOME_INVALID, "the SCIM server refused the user as a duplicate, but no user is "
			    "named \"%s\": another user holds one of its unique values", name);
	} else if (n || total > 0) {
		outcome_set(out, OUTCOME_DUPLICATE, "already at the SCIM server (the lookup found %lld users, none "
			    "named \"%s\")", n ? (long long)n : total, name);
	} else {
		outcome_set(out, OUTCOME_DUPLICATE, "already at the SCIM server (the answer to the lookup is not a "
			    "ListResponse)");
	}
out:
	free(id);
	free(name);
	free(r);
	json_object_put(body);
}

/* ------------------------------------------------------------ other ops */

/* The key's attribute as a filter's attrPath (RFC 7644 3.4.2.2), for
 * scim_layout[li]. Caller frees. */
static char *scim_attr_path(size_t li)
{
	const char *attr = scim_layout[li].attr;
	switch (scim_layout[li].dest) {
	case SCIM_NAME:
		return xasprintf("name.%s", attr);
	case SCIM_EMAIL:
	case SCIM_PHONE:
		return xasprintf("%s.value", attr);
	case SCIM_ENTERPRISE:
		return xasprintf("%s:%s", SCIM_ENTERPRISE_USER, attr);
	case SCIM_MANAGER:
		return xasprintf("%s:%s.value", SCIM_ENTERPRISE_USER, attr);
	case SCIM_TOP:
		break;
	}
	return xstrdup(attr);
}

/* The member's key: what the state cache kept, else the payload's. */
static const char *scim_key(const struct scim_conf *c, const struct push_item *it)
{
	json_object *v;
	if (it->key)
		return it->key;
	if (it->payload && json_object_object_get_ex(it->payload, scim_layout[c->key_layout].field, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

/* GET <users_path>?filter=<key attribute> eq "<key>". */
static void scim_build_find(const struct scim_conf *c, const struct push_item *it, struct http_request *req)
{
	char *path = scim_attr_path(c->key_layout);
	char *filter = scim_filter(path, scim_key(c, it));
	req->method = "GET";
	req->url = xstrdup(c->users_url);
	http_request_add_query(req, "filter", filter);
	scim_headers(c, req, false);
	free(filter);
	free(path);
}

/* {"op":"replace","path":path,"value":value}; value is taken. */
static void scim_add_replace(json_object *ops, const char *path, json_object *value)
{
	json_object *op = json_object_new_object();
	json_object_object_add(op, "op", json_object_new_string("replace"));
	json_object_object_add(op, "path", json_object_new_string(path));
	json_object_object_add(op, "value", value);
	json_object_array_add(ops, op);
}

/* A PatchOp message (RFC 7644 3.5.2) of ops (taken). Caller puts. */
static json_object *scim_patch_message(json_object *ops)
{
	json_object *msg = json_object_new_object(), *schemas = json_object_new_array();
	json_object_array_add(schemas, json_object_new_string(SCIM_PATCH_OP));
	json_object_object_add(msg, "schemas", schemas);
	json_object_object_add(msg, "Operations", ops);
	return msg;
}

/* An update as replace operations, one per attribute of the resource:
 * a complex one (name) has the sub-attributes sent replaced, a multi-valued
 * one (emails) all its values (RFC 7644 3.5.2.3). The extension's
 * attributes go one by one as "<URN>:<attr>": the URN alone is no path. */
static json_object *scim_patch_update(json_object *user)
{
	json_object *ops = json_object_new_array();
	json_object_object_foreach(user, k, v) {
		if (strcmp(k, "schemas") == 0)
			continue;
		if (strcmp(k, SCIM_ENTERPRISE_USER) != 0) {
			scim_add_replace(ops, k, json_object_get(v));
			continue;
		}
		json_object_object_foreach(v, sub, sv) {
			char *path = xasprintf("%s:%s", SCIM_ENTERPRISE_USER, sub);
			scim_add_replace(ops, path, json_object_get(sv));
			free(path);
		}
	}
	return scim_patch_message(ops);
}

/* The method of the request on <users_path>/<id> for op. */
static const char *scim_act_method(const struct scim_conf *c, enum push_op op)
{
	if (op == OP_DELETE)
		return "DELETE";
	return op == OP_UPDATE && !c->update_patch ? "PUT" : "PATCH";
}

/* The request on <users_path>/<id> for it->op. */
static void scim_build_act(const struct scim_conf *c, const struct push_item *it, struct http_request *req)
{
	char *enc = encode_url_component(it->remote_id, strlen(it->remote_id));
	json_object *body = NULL, *ops, *user;

	req->method = scim_act_method(c, it->op);
	req->url = http_url_join(c->users_url, enc);
	free(enc);
	switch (it->op) {
	case OP_UPDATE:
		user = scim_user(c, it->payload, false);
		if (c->update_patch) {
			body = scim_patch_update(user);
			json_object_put(user);
		} else {
			/* PUT replaces every attribute, so the whole resource. */
			body = user;
		}
		break;
	case OP_DISABLE:
	case OP_ENABLE:
		ops = json_object_new_array();
		scim_add_replace(ops, "active", json_object_new_boolean(it->op == OP_ENABLE));
		body = scim_patch_message(ops);
		break;
	default:	/* OP_DELETE: no body; scim_step_op() lets no other op through */
		break;
	}
	scim_headers(c, req, body != NULL);
	if (body) {
		const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
		http_request_set_body(req, xstrdup(text), strlen(text));
		json_object_put(body);
	}
}

/* Reads the answer to the filter: true with *id when one user holds the
 * key; otherwise out says why not (OUTCOME_ABSENT: nobody does). */
static bool scim_classify_find(const struct scim_conf *c, const struct http_response *resp,
			       const struct push_item *it, char **id, struct outcome *out)
{
	json_object *body = NULL, *res, *v;
	long st = resp->status;
	long long total = -1;
	size_t matches = 0;
	char *r = NULL, *key = scim_excerpt(scim_key(c, it)), *path = scim_attr_path(c->key_layout);
	bool found = false;

	*id = NULL;
	/* Every member would get the same answer: no use retrying it. */
	if (st == 501 || st == 405) {
		body = classify_json_body(resp);
		r = scim_error_reason(resp, body);
		outcome_set(out, OUTCOME_PERMANENT, "the SCIM server cannot look users up by %s: %s", path, r);
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	body = classify_json_body(resp);
	if (st != 200) {
		r = scim_error_reason(resp, body);
		const char *type = classify_json_text(body, "scimType");
		if (type && strcasecmp(type, "invalidFilter") == 0)
			outcome_set(out, OUTCOME_PERMANENT, "the SCIM server cannot look users up by %s: %s", path, r);
		else
			scim_classify_refusal(resp, r, out);
		goto out;
	}
	res = classify_json_path(body, "Resources");
	if (json_object_object_get_ex(body, "totalResults", &v) && !classify_json_int(v, &total))
		total = -1;
	if (!body || (res && !json_object_is_type(res, json_type_array)) || (!res && total < 0)) {
		r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "the answer to the lookup is not a ListResponse: %s", r);
		goto out;
	}
	size_t n = res ? json_object_array_length(res) : 0;
	/* RFC 7644 3.4.2: Resources may be left out when totalResults is 0. */
	if (n == 0 && total <= 0) {
		outcome_set(out, OUTCOME_ABSENT, "no user with %s \"%s\" at the SCIM server", path, key);
	} else if (n == 0) {
		outcome_set(out, OUTCOME_PERMANENT, "the lookup found %lld users but listed none", total);
	} else if (!(*id = scim_find_user(res, c->key_layout, scim_key(c, it), &matches))) {
		/* A server that ignored the filter: acting on someone else, or
		 * adding a second user, would be worse than stopping. */
		outcome_set(out, OUTCOME_PERMANENT, "the lookup found %zu users, none with %s \"%s\"", n, path,
			    key);
	} else if (matches > 1) {
		outcome_set(out, OUTCOME_PERMANENT, "%zu users at the SCIM server have %s \"%s\"", matches, path,
			    key);
		free(*id);
		*id = NULL;
	} else {
		found = true;
	}
out:
	free(path);
	free(key);
	free(r);
	json_object_put(body);
	return found;
}

static const char *scim_done_verb(enum push_op op)
{
	switch (op) {
	case OP_UPDATE: return "updated";
	case OP_DISABLE: return "disabled";
	case OP_ENABLE: return "enabled";
	case OP_DELETE: return "deleted";
	default: return "found";
	}
}

/* Reads the answer to the request on <users_path>/<id>. */
static void scim_classify_act(const struct scim_conf *c, const struct http_response *resp,
			      const struct push_item *it, struct outcome *out)
{
	json_object *body = classify_json_body(resp), *active;
	long st = resp->status;
	char *r = NULL, *rid = scim_excerpt(it->remote_id);

	if (st == 200 || st == 204) {
		/* A server that took the PATCH but kept "active" as it was
		 * (it does not support deactivation) must not pass for done. */
		bool want = it->op == OP_ENABLE;
		if ((it->op == OP_DISABLE || it->op == OP_ENABLE) &&
		    json_object_object_get_ex(body, "active", &active) &&
		    json_object_is_type(active, json_type_boolean) && json_object_get_boolean(active) != want) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "the SCIM server answered HTTP %ld but user %s is still %s", st, rid,
				    want ? "inactive" : "active");
			goto out;
		}
		const char *id = scim_id(body);
		if (it->op != OP_DELETE)
			out->remote_id = xstrdup(id ? id : it->remote_id);
		outcome_set(out, OUTCOME_OK, "%s user %s", scim_done_verb(it->op), rid);
		goto out;
	}
	/* The server has no such method on users: every member would get the
	 * same answer (501 is no server trouble to retry). */
	if (st == 405 || st == 501) {
		const char *hint = "";
		if (it->op == OP_UPDATE)
			hint = c->update_patch ? " (try update_method = \"put\")" : " (try update_method = \"patch\")";
		r = scim_error_reason(resp, body);
		outcome_set(out, OUTCOME_PERMANENT, "the SCIM server does not take %s on users%s: %s",
			    scim_act_method(c, it->op), hint, r);
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	r = scim_error_reason(resp, body);
	if (st == 404) {
		outcome_set(out, OUTCOME_ABSENT, "user %s is not at the SCIM server: %s", rid, r);
	} else if (st == 409) {
		/* An update that gives the user a userName (or another unique
		 * value) someone else holds: this payload cannot be applied. */
		outcome_set(out, OUTCOME_INVALID, "the SCIM server refused the change as a conflict: %s", r);
	} else if (st >= 200 && st < 300) {
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from the SCIM server: %s", r);
	} else {
		scim_classify_refusal(resp, r, out);
	}
out:
	free(rid);
	free(r);
	json_object_put(body);
}

/* Every op but the add: find the user when its id is not known (or that
 * is the op), then act on <users_path>/<id>. Nothing here creates. */
static enum step_result scim_step_op(const struct scim_conf *c, struct push_item *it,
				     const struct http_response *resp, struct http_request *req,
				     struct outcome *out)
{
	if (it->op >= OP__COUNT || !(driver_scim.ops & OP_BIT(it->op))) {
		outcome_set(out, OUTCOME_PERMANENT, "the scim driver cannot %s", push_op_name(it->op));
		return STEP_DONE;
	}
	if (it->op == OP_UPDATE && !it->payload) {
		outcome_set(out, OUTCOME_PERMANENT, "an update without a payload");
		return STEP_DONE;
	}
	/* An empty id would make <users_path>/<id> the collection itself. */
	if (it->stage == SCIM_OP_FIND && (it->op == OP_LOOKUP || !it->remote_id || !*it->remote_id)) {
		char *id;
		if (!resp) {
			scim_build_find(c, it, req);
			return STEP_SEND;
		}
		if (!scim_classify_find(c, resp, it, &id, out))
			return STEP_DONE;
		if (it->op == OP_LOOKUP) {
			outcome_set(out, OUTCOME_OK, "found as user %s", id);
			out->remote_id = id;
			return STEP_DONE;
		}
		free(it->remote_id);
		it->remote_id = id;
		it->stage = SCIM_OP_ACT;
		resp = NULL;
	}
	if (!resp) {
		scim_build_act(c, it, req);
		return STEP_SEND;
	}
	scim_classify_act(c, resp, it, out);
	return STEP_DONE;
}

static enum step_result scim_step(struct target *t, struct push_item *it, const struct http_response *resp,
				  struct http_request *req, bool *creates, struct outcome *out)
{
	const struct scim_conf *c = t->conf->driver_conf;

	if (it->op != OP_ADD)
		return scim_step_op(c, it, resp, req, out);

	if (it->stage == SCIM_ADD && !resp) {
		scim_build_add(c, it, req);
		*creates = true;
		return STEP_SEND;
	}
	if (it->stage == SCIM_ADD) {
		if (!scim_classify_add(resp, out))
			return STEP_DONE;
		it->stage = SCIM_LOOKUP;
		resp = NULL;
	}
	if (!resp) {
		scim_build_lookup(c, it, req);
		return STEP_SEND;
	}
	scim_classify_lookup(resp, it, out);
	return STEP_DONE;
}

const struct target_driver driver_scim = {
	.name = "scim",
	.summary = "SCIM 2.0 service provider (RFC 7643/7644), POST /Users",
	.fields = scim_fields,
	.n_fields = sizeof(scim_fields) / sizeof(scim_fields[0]),
	.default_key = "userName",
	.keys = scim_keys,
	.auth = { .type = "bearer" },
	.auth_required = true,
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) | OP_BIT(OP_DELETE) |
	       OP_BIT(OP_LOOKUP),
	.configure = scim_configure,
	.free_config = scim_free_config,
	.step = scim_step,
};
