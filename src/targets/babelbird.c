/* BabelBird enterprise network disk: POST /nd/api/enterprise/add_ent_mem.
 * Facts (shared/targets/README.md): OAuth bearer tokens (auth_babelbird.c);
 * every answer is an envelope {"code":0,"success":true,...} where a code
 * other than 0 or success false is an error; members are looked up with
 * POST /nd/api/enterprise/enterprise_members keyName=... Guesses, each a
 * setting: the body encoding (a PHP-style form by default), which codes
 * mean "already there", "invalid" and "token refused", and where the
 * answers keep ids and messages.
 *
 * There is no delete. Disable and enable freeze and unfreeze the member
 * (POST /api/updateUserInfo.do frozen=1 or 0), and an update sends the
 * changed payload there too; the member is named by the id the lookup
 * lists, found first when none is stored. updateUserInfo.do's parameters
 * are a guess as well: its path, the name of the id parameter, and the
 * codes meaning "no such member" are settings. */
#include "config.h"

#include "http/encode.h"
#include "mapping/checks.h"
#include "mapping/mapping.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reasons quote at most this much of the API's message. */
#define BB_MESSAGE_CHARS 200
/* An id longer than this is not one; it is not stored. */
#define BB_MAX_ID_LEN 256
#define BB_COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* 9999-12-31T23:59:59Z: a larger join_time is in milliseconds, not seconds. */
#define BB_MAX_UNIX_S 253402300799LL

enum babelbird_stage {
	BB_ADD,
	BB_LOOKUP,	/* already there: find its id */
};

/* The stages of an update, a disable or an enable. */
enum babelbird_op_stage {
	BB_FIND,	/* no id stored: look the member up by email */
	BB_CHANGE,	/* updateUserInfo.do */
};

static const struct field_schema babelbird_fields[] = {
	{ .name = "email", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .check = check_email,
	  .check_desc = "an email address" },
	{ .name = "password", .type = FT_STRING, .flags = FIELD_REQUIRED | FIELD_SECRET, .min_chars = 1 },
	{ .name = "name", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1 },
	{ .name = "enterprise_role", .type = FT_INT },
	{ .name = "department_ids", .type = FT_STRING_LIST, .min_chars = 1 },
	{ .name = "department_roles", .type = FT_STRING_LIST },
	{ .name = "sex", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = 2 },
	{ .name = "phone", .type = FT_STRING },
	{ .name = "babelId", .type = FT_STRING },
	{ .name = "spacelimit", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = LLONG_MAX },
	{ .name = "can_ownfile", .type = FT_INT, .flags = FIELD_RANGE, .min_value = -1, .max_value = 1 },
	{ .name = "remarks", .type = FT_STRING },
	{ .name = "join_time", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = BB_MAX_UNIX_S },
	{ .name = "password_is_md5", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = 1 },
};

static const struct cfg_key babelbird_keys[] = {
	{ "encoding", CFG_T_STRING, 0 },
	{ "add_path", CFG_T_STRING, 0 },
	{ "lookup_path", CFG_T_STRING, 0 },
	{ "remote_id_path", CFG_T_STRING, 0 },
	{ "message_path", CFG_T_STRING, 0 },
	{ "duplicate_codes", CFG_T_INTS, 0 },
	{ "invalid_codes", CFG_T_INTS, 0 },
	{ "auth_codes", CFG_T_INTS, 0 },
	{ "lookup_list_path", CFG_T_STRING, 0 },
	{ "lookup_id_field", CFG_T_STRING, 0 },
	{ "lookup_email_field", CFG_T_STRING, 0 },
	{ "update_path", CFG_T_STRING, 0 },
	{ "update_id_param", CFG_T_STRING, 0 },
	{ "absent_codes", CFG_T_INTS, 0 },
	{ NULL, 0, 0 },
};

struct babelbird_codes {
	long long *v;
	size_t n;
};

struct babelbird_conf {
	enum body_encoding encoding;
	char *add_url;
	char *lookup_url;
	char *update_url;
	char *update_id_param;
	char *remote_id_path;
	char *message_path;
	/* absent: only read for the answers of updateUserInfo.do and the
	 * lookup; an add cannot be told so. */
	struct babelbird_codes duplicate, invalid, auth, absent;
	char *list_path;
	char *id_field;
	char *email_field;
};

static void babelbird_free_config(void *conf)
{
	struct babelbird_conf *c = conf;
	if (!c)
		return;
	free(c->add_url);
	free(c->lookup_url);
	free(c->update_url);
	free(c->update_id_param);
	free(c->remote_id_path);
	free(c->message_path);
	free(c->duplicate.v);
	free(c->invalid.v);
	free(c->auth.v);
	free(c->absent.v);
	free(c->list_path);
	free(c->id_field);
	free(c->email_field);
	free(c);
}

static char *babelbird_string(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			      const char *key, const char *def, bool *ok)
{
	const char *v = cfg_string(target, key, def);
	if (!*v) {
		cfg_error(cc, config_setting_get_member(target, key), "%s: %s must not be empty", where, key);
		*ok = false;
	}
	return xstrdup(v);
}

static void babelbird_read_codes(const config_setting_t *target, const char *key, const long long *def, size_t n_def,
				 struct babelbird_codes *out)
{
	out->v = cfg_ints(target, key, &out->n);
	if (!out->v) {
		out->n = n_def;
		out->v = xmemdup(def, n_def * sizeof(long long));
	}
}

static bool babelbird_has_code(const struct babelbird_codes *codes, long long code)
{
	for (size_t i = 0; i < codes->n; i++)
		if (codes->v[i] == code)
			return true;
	return false;
}

/* 0 is success, and a code in two lists would mean two things. */
static bool babelbird_codes_ok(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			       const struct babelbird_conf *c)
{
	const struct {
		const char *key;
		const struct babelbird_codes *codes;
	} lists[] = {
		{ "duplicate_codes", &c->duplicate },
		{ "invalid_codes", &c->invalid },
		{ "auth_codes", &c->auth },
		{ "absent_codes", &c->absent },
	};
	const size_t n = BB_COUNT(lists);
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_member(target, lists[i].key);
		for (size_t k = 0; k < lists[i].codes->n; k++) {
			long long code = lists[i].codes->v[k];
			if (code == 0) {
				cfg_error(cc, s, "%s: %s: 0 is BabelBird's success code", where, lists[i].key);
				ok = false;
			}
			for (size_t j = i + 1; code && j < n; j++) {
				if (!babelbird_has_code(lists[j].codes, code))
					continue;
				/* One of the two may be a default: point at the one
				 * in the file. */
				const config_setting_t *at = s ? s : config_setting_get_member(target, lists[j].key);
				cfg_error(cc, at, "%s: %s: code %lld is also in %s", where, lists[i].key, code,
					  lists[j].key);
				ok = false;
			}
		}
	}
	return ok;
}

static void *babelbird_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				 const char *config_dir)
{
	/* The simulator's codes (tests/targetsim/sim_babelbird.c); the real
	 * ones are undocumented. */
	static const long long def_duplicate[] = { 20001 };
	static const long long def_invalid[] = { 10001, 10002, 10003, 10004, 10005 };
	static const long long def_auth[] = { 40001, 40002 };
	static const long long def_absent[] = { 20002 };
	struct babelbird_conf *c = XNEW(struct babelbird_conf);
	bool ok = true;

	const char *enc = cfg_string(target, "encoding", "form");
	if (encode_parse_name(enc, &c->encoding) < 0) {
		cfg_error(cc, config_setting_get_member(target, "encoding"),
			  "%s: encoding must be form or json, not '%s'", where, enc);
		ok = false;
	}
	const char *url = cfg_string(target, "url", "");
	char *add = babelbird_string(cc, target, where, "add_path", "/nd/api/enterprise/add_ent_mem", &ok);
	char *lookup = babelbird_string(cc, target, where, "lookup_path", "/nd/api/enterprise/enterprise_members", &ok);
	char *update = babelbird_string(cc, target, where, "update_path", "api/updateUserInfo.do", &ok);
	c->add_url = http_url_join(url, add);
	c->lookup_url = http_url_join(url, lookup);
	c->update_url = http_url_join(url, update);
	free(add);
	free(lookup);
	free(update);
	c->update_id_param = babelbird_string(cc, target, where, "update_id_param", "id", &ok);
	c->remote_id_path = babelbird_string(cc, target, where, "remote_id_path", "data.id", &ok);
	c->message_path = babelbird_string(cc, target, where, "message_path", "msg", &ok);
	c->list_path = babelbird_string(cc, target, where, "lookup_list_path", "data.list", &ok);
	c->id_field = babelbird_string(cc, target, where, "lookup_id_field", "id", &ok);
	c->email_field = babelbird_string(cc, target, where, "lookup_email_field", "email", &ok);
	babelbird_read_codes(target, "duplicate_codes", def_duplicate, BB_COUNT(def_duplicate), &c->duplicate);
	babelbird_read_codes(target, "invalid_codes", def_invalid, BB_COUNT(def_invalid), &c->invalid);
	babelbird_read_codes(target, "auth_codes", def_auth, BB_COUNT(def_auth), &c->auth);
	babelbird_read_codes(target, "absent_codes", def_absent, BB_COUNT(def_absent), &c->absent);
	ok = babelbird_codes_ok(cc, target, where, c) && ok;
	if (!ok) {
		babelbird_free_config(c);
		return NULL;
	}
	return c;
}

/* What the envelope says. */
struct babelbird_env {
	bool present;		/* it has a code or a success member */
	bool ok;
	bool has_code;
	long long code;
};

/* An envelope code: an integer, or a string holding one. */
static struct babelbird_env babelbird_envelope(json_object *body)
{
	struct babelbird_env e = { .ok = true };
	json_object *v;
	if (!body)
		return (struct babelbird_env){ .present = false };
	if (json_object_object_get_ex(body, "success", &v) && json_object_is_type(v, json_type_boolean)) {
		e.present = true;
		e.ok = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "code", &v) && v) {
		e.present = true;
		e.has_code = classify_json_int(v, &e.code);
		/* A code we cannot read is no success either. */
		if (!e.has_code || e.code != 0)
			e.ok = false;
	}
	return e;
}

/* The API's message, cut and with control characters escaped; else the
 * start of the body. Caller frees. */
static char *babelbird_message(const struct babelbird_conf *c, const struct http_response *resp, json_object *body)
{
	const char *msg = classify_json_path_text(body, c->message_path);
	if (!msg || !*msg)
		return classify_status_reason(resp);
	return http_text_excerpt(msg, BB_MESSAGE_CHARS);
}

static void babelbird_adopt_id(json_object *body, const char *path, struct outcome *out)
{
	const char *id = classify_json_path_text(body, path);
	if (id && *id && strlen(id) <= BB_MAX_ID_LEN) {
		free(out->remote_id);
		out->remote_id = xstrdup(id);
	}
}

/* Reads the answer to add_ent_mem (and, for the codes, to the lookup and
 * updateUserInfo.do). absent: whether absent_codes counts. */
static void babelbird_classify(const struct babelbird_conf *c, const struct http_response *resp, bool absent,
			       struct outcome *out)
{
	json_object *body = NULL;
	char *msg = NULL;

	if (classify_common(resp, out))
		goto out;
	body = classify_json_body(resp);
	struct babelbird_env env = babelbird_envelope(body);
	if (!env.present) {
		char *r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from BabelBird (no code or success): %s", r);
		free(r);
		goto out;
	}
	if (env.ok) {
		if (resp->status >= 200 && resp->status <= 299) {
			outcome_set(out, OUTCOME_OK, "created");
			babelbird_adopt_id(body, c->remote_id_path, out);
		} else {
			char *r = classify_status_reason(resp);
			outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from BabelBird: %s", r);
			free(r);
		}
		goto out;
	}
	msg = babelbird_message(c, resp, body);
	if (!env.has_code)
		outcome_set(out, OUTCOME_PERMANENT, "BabelBird refused the member: %s", msg);
	else if (babelbird_has_code(&c->duplicate, env.code))
		outcome_set(out, OUTCOME_DUPLICATE, "already at BabelBird: %s (code %lld)", msg, env.code);
	else if (babelbird_has_code(&c->invalid, env.code))
		outcome_set(out, OUTCOME_INVALID, "rejected by BabelBird: %s (code %lld)", msg, env.code);
	else if (babelbird_has_code(&c->auth, env.code))
		outcome_set(out, OUTCOME_AUTH, "BabelBird refused the access token: %s (code %lld)", msg, env.code);
	else if (absent && babelbird_has_code(&c->absent, env.code))
		outcome_set(out, OUTCOME_ABSENT, "no such member at BabelBird: %s (code %lld)", msg, env.code);
	else
		outcome_set(out, OUTCOME_PERMANENT, "BabelBird refused the member: %s (code %lld)", msg, env.code);
out:
	free(msg);
	json_object_put(body);
}

/* The id of the member whose email is `email` (ASCII case aside) in the
 * lookup's list; keyName is a search, so others may be listed too. */
static char *babelbird_find_member(const struct babelbird_conf *c, json_object *body, const char *email)
{
	json_object *list = classify_json_path(body, c->list_path);
	if (!list || !json_object_is_type(list, json_type_array))
		return NULL;
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(list, i);
		if (!m || !json_object_is_type(m, json_type_object))
			continue;
		const char *e = classify_json_text(m, c->email_field);
		const char *id = classify_json_text(m, c->id_field);
		if (e && id && *id && strlen(id) <= BB_MAX_ID_LEN && strcasecmp(e, email) == 0)
			return xstrdup(id);
	}
	return NULL;
}

static const char *babelbird_email(const struct push_item *it)
{
	json_object *v;
	if (it->payload && json_object_object_get_ex(it->payload, "email", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return it->key;
}

static void babelbird_body(const struct babelbird_conf *c, struct http_request *req, json_object *obj)
{
	size_t len;
	char *body = encode_body(c->encoding, obj, &len);
	http_request_add_header(req, "Content-Type: %s", encode_content_type(c->encoding));
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, body, len);
}

/* keyName is a search over names and emails. */
static void babelbird_lookup_request(const struct babelbird_conf *c, const char *email, struct http_request *req)
{
	json_object *q = json_object_new_object();
	json_object_object_add(q, "keyName", json_object_new_string(email));
	req->method = "POST";
	req->url = xstrdup(c->lookup_url);
	babelbird_body(c, req, q);
	json_object_put(q);
}

/* The lookup answered. Being there is what counts; the id is a bonus for
 * later updates, so only trouble worth a retry is reported as such. */
static void babelbird_lookup_answer(const struct babelbird_conf *c, const struct http_response *resp,
				    const char *email, struct outcome *out)
{
	babelbird_classify(c, resp, false, out);
	switch (out->kind) {
	case OUTCOME_TRANSIENT:
	case OUTCOME_THROTTLED:
	case OUTCOME_AUTH:
		return;
	case OUTCOME_OK:
		break;
	default: {
		char *why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_DUPLICATE, "already at BabelBird (its id could not be looked up: %s)", why);
		free(why);
		return;
	}
	}
	json_object *body = classify_json_body(resp);
	char *id = babelbird_find_member(c, body, email);
	json_object_put(body);
	free(out->remote_id);
	out->remote_id = id;
	if (id)
		outcome_set(out, OUTCOME_DUPLICATE, "already at BabelBird as member %s", id);
	else
		outcome_set(out, OUTCOME_DUPLICATE, "already at BabelBird (no member with this email in the lookup)");
}

/* ------------------------------------------------------------ other ops */

/* The email to look the member up by: the payload's, else the key when
 * the target keys members by email (a disable of an entry gone from the
 * directory comes without a payload); NULL when there is none. */
static const char *babelbird_find_email(const struct target *t, const struct push_item *it)
{
	const char *field = mapping_key_field(t->conf->mapping);
	json_object *v;
	if (it->payload && json_object_object_get_ex(it->payload, "email", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		return json_object_get_string(v);
	if (field && strcmp(field, "email") == 0 && it->key && *it->key)
		return it->key;
	return NULL;
}

/* The lookup of an op answered: true when the member is listed (its id
 * in it->remote_id), else out says why not, OUTCOME_ABSENT when nobody
 * has the email. */
static bool babelbird_find_answer(const struct babelbird_conf *c, const struct http_response *resp,
				  const char *email, struct push_item *it, struct outcome *out)
{
	char *why;

	babelbird_classify(c, resp, true, out);
	if (out->kind == OUTCOME_DUPLICATE) {
		/* "Already exists" answers no question a lookup asks. */
		why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from BabelBird's lookup: %s", why);
		free(why);
	}
	if (out->kind != OUTCOME_OK)
		return false;
	json_object *body = classify_json_body(resp);
	char *id = babelbird_find_member(c, body, email);
	json_object_put(body);
	free(out->remote_id);
	out->remote_id = NULL;
	if (!id) {
		outcome_set(out, OUTCOME_ABSENT, "no member at BabelBird has email %s", email);
		return false;
	}
	free(it->remote_id);
	it->remote_id = id;
	return true;
}

/* A stored id the lookup gave as a number goes back as one. */
static json_object *babelbird_id_value(const char *id)
{
	size_t n = strspn(id, "0123456789");
	/* Digits without a leading zero, few enough for an int64. */
	if (n && !id[n] && n <= 18 && (id[0] != '0' || n == 1))
		return json_object_new_int64(strtoll(id, NULL, 10));
	return json_object_new_string(id);
}

/* Never in an update: secrets (the password would be reset on every
 * change), and password_is_md5, which only says what the password is. */
static bool babelbird_updatable(const char *name)
{
	if (strcmp(name, "password_is_md5") == 0)
		return false;
	for (size_t i = 0; i < BB_COUNT(babelbird_fields); i++)
		if (strcmp(babelbird_fields[i].name, name) == 0)
			return !(babelbird_fields[i].flags & FIELD_SECRET);
	/* Nothing the mapping can make. */
	return false;
}

/* updateUserInfo.do for the member named by it->remote_id: the payload's
 * fields for an update, frozen=1 or 0 for a disable or an enable. */
static void babelbird_change_request(const struct babelbird_conf *c, const struct push_item *it,
				     struct http_request *req)
{
	json_object *q = json_object_new_object();
	json_object_object_add(q, c->update_id_param, babelbird_id_value(it->remote_id));
	if (it->op == OP_UPDATE) {
		json_object_object_foreach(it->payload, name, value) {
			/* The id parameter is ours, whatever the payload holds. */
			if (babelbird_updatable(name) && strcmp(name, c->update_id_param) != 0)
				json_object_object_add(q, name, json_object_get(value));
		}
	} else {
		json_object_object_add(q, "frozen", json_object_new_int(it->op == OP_DISABLE));
	}
	req->method = "POST";
	req->url = xstrdup(c->update_url);
	babelbird_body(c, req, q);
	json_object_put(q);
}

static void babelbird_change_answer(const struct babelbird_conf *c, const struct http_response *resp,
				    const struct push_item *it, struct outcome *out)
{
	static const char *const done[OP__COUNT] = {
		[OP_UPDATE] = "updated", [OP_DISABLE] = "froze", [OP_ENABLE] = "unfroze",
	};
	char *why;

	babelbird_classify(c, resp, true, out);
	if (out->kind == OUTCOME_OK) {
		outcome_set(out, OUTCOME_OK, "%s member %s", done[it->op], it->remote_id);
		free(out->remote_id);
		out->remote_id = xstrdup(it->remote_id);
	} else if (out->kind == OUTCOME_DUPLICATE && it->op == OP_UPDATE) {
		/* The new email is another member's: this payload cannot be
		 * applied until it changes. */
		out->kind = OUTCOME_INVALID;
	} else if (out->kind == OUTCOME_DUPLICATE) {
		why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from BabelBird: %s", why);
		free(why);
	}
}

/* Update, disable, enable and lookup: find the member's id by email when
 * none is stored (always, for a lookup), then updateUserInfo.do. */
static enum step_result babelbird_op_step(struct target *t, struct push_item *it, const struct http_response *resp,
					  struct http_request *req, struct outcome *out)
{
	const struct babelbird_conf *c = t->conf->driver_conf;
	const char *email = babelbird_find_email(t, it);

	if (it->op != OP_UPDATE && it->op != OP_DISABLE && it->op != OP_ENABLE && it->op != OP_LOOKUP) {
		outcome_set(out, OUTCOME_PERMANENT, "BabelBird has no way to %s a member", push_op_name(it->op));
		return STEP_DONE;
	}
	if (it->op == OP_UPDATE && !json_object_is_type(it->payload, json_type_object)) {
		outcome_set(out, OUTCOME_PERMANENT, "nothing to update BabelBird's member with: no payload");
		return STEP_DONE;
	}
	if (it->op == OP_LOOKUP || (it->stage == BB_FIND && !it->remote_id)) {
		if (!resp && !email) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "no id stored for this member and no email to look it up at BabelBird by");
			return STEP_DONE;
		}
		if (!resp) {
			babelbird_lookup_request(c, email, req);
			return STEP_SEND;
		}
		if (!babelbird_find_answer(c, resp, email, it, out))
			return STEP_DONE;
		if (it->op == OP_LOOKUP) {
			outcome_set(out, OUTCOME_OK, "at BabelBird as member %s", it->remote_id);
			out->remote_id = xstrdup(it->remote_id);
			return STEP_DONE;
		}
		outcome_clear(out);
		resp = NULL;
	}
	if (!resp) {
		it->stage = BB_CHANGE;
		babelbird_change_request(c, it, req);
		return STEP_SEND;
	}
	babelbird_change_answer(c, resp, it, out);
	return STEP_DONE;
}

static enum step_result babelbird_step(struct target *t, struct push_item *it, const struct http_response *resp,
				       struct http_request *req, bool *creates, struct outcome *out)
{
	const struct babelbird_conf *c = t->conf->driver_conf;

	if (it->op != OP_ADD) {
		*creates = false;
		return babelbird_op_step(t, it, resp, req, out);
	}
	if (it->stage == BB_ADD && !resp) {
		req->method = "POST";
		req->url = xstrdup(c->add_url);
		babelbird_body(c, req, it->payload);
		*creates = true;
		return STEP_SEND;
	}
	if (it->stage == BB_ADD) {
		babelbird_classify(c, resp, false, out);
		if (out->kind != OUTCOME_DUPLICATE)
			return STEP_DONE;
		it->stage = BB_LOOKUP;
		resp = NULL;
	}
	if (!resp) {
		babelbird_lookup_request(c, babelbird_email(it), req);
		*creates = false;
		return STEP_SEND;
	}
	babelbird_lookup_answer(c, resp, babelbird_email(it), out);
	return STEP_DONE;
}

const struct target_driver driver_babelbird = {
	.name = "babelbird",
	.summary = "BabelBird enterprise network disk, POST /nd/api/enterprise/add_ent_mem",
	.fields = babelbird_fields,
	.n_fields = BB_COUNT(babelbird_fields),
	.default_key = "email",
	.keys = babelbird_keys,
	.auth = { .type = "babelbird" },
	.auth_required = true,
	/* No delete API: deprovisioning freezes. */
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) | OP_BIT(OP_LOOKUP),
	.configure = babelbird_configure,
	.free_config = babelbird_free_config,
	.step = babelbird_step,
};
