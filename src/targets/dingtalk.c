/* DingTalk: POST <url>/topapi/v2/user/create with ?access_token= (the
 * dingtalk auth provider). Facts (shared/targets/README.md): the answer is
 * always HTTP 200 and the outcome is in errcode; 88 defers to sub_code;
 * a per-address ban answers {"status":1111,"wait":N,"punish":"deny"}
 * without any errcode. A member that is already there (userid, mobile or
 * email taken) is looked up by mobile (POST topapi/v2/user/getbymobile) to
 * adopt its userid. Which errcodes mean what is configurable: only some
 * are documented, and DingTalk adds new ones.
 *
 * Beyond the add: update (POST topapi/v2/user/update), delete (POST
 * topapi/v2/user/delete) and lookup (getbymobile again), each naming the
 * member by its userid, found by mobile first when none is stored.
 * DingTalk has no way to deactivate a user, so no disable or enable. */
#include "config.h"

#include "mapping/checks.h"
#include "mapping/mapping.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define DT_CREATE_PATH "topapi/v2/user/create"
#define DT_LOOKUP_PATH "topapi/v2/user/getbymobile"
#define DT_UPDATE_PATH "topapi/v2/user/update"
#define DT_DELETE_PATH "topapi/v2/user/delete"
#define DT_MAX_DEPTS 100
#define DT_MAX_DEPT_DIGITS 18
#define DT_EXTENSION_DEPTH 16
#define DT_MSG_CHARS 200
/* errcode 88: "鉴权异常", the details are in sub_code and sub_msg. */
#define DT_SUBCODE_ERRCODE 88
#define DT_THROTTLE_WAIT 1
/* "userid exists": the payload's userid is the member's. */
#define DT_USERID_EXISTS 60102

enum dingtalk_stage {
	DT_ADD,
	DT_LOOKUP,		/* already there: find its userid by mobile */
	DT_LOOKUP_USERID,	/* the same, after "userid exists": the payload's userid is a fallback */
};

/* The stages of an update or a delete. */
enum dingtalk_op_stage {
	DT_FIND,		/* no userid stored: find it by mobile */
	DT_CHANGE,		/* update or delete the member named by its userid */
};

/* ------------------------------------------------------------ schema */

/* DingTalk takes "+86-13800000000", "+8613800000000" and "13800000000";
 * the API is the judge, this only catches what cannot be a number. */
static bool dingtalk_phone_ok(const char *s, size_t len)
{
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (!(s[i] == '+' && i == 0) && s[i] != '-' && s[i] != ' ')
			return false;
	}
	return digits > 0;
}

/* "2,3,4": 1 to 100 positive decimal ids, nothing else. */
static bool dingtalk_dept_ids_ok(const char *s, size_t len)
{
	size_t ids = 0, digits = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (digits == 0 || ++ids > DT_MAX_DEPTS)
				return false;
			digits = 0;
		} else if (s[i] < '0' || s[i] > '9' || (digits == 0 && s[i] == '0') || ++digits > DT_MAX_DEPT_DIGITS) {
			return false;
		}
	}
	return true;
}

/* At least 8 characters (min_chars), and not only letters or only digits. */
static bool dingtalk_password_ok(const char *s, size_t len)
{
	bool letters = true, digits = true;
	for (size_t i = 0; i < len; i++) {
		bool letter = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');
		bool digit = s[i] >= '0' && s[i] <= '9';
		letters = letters && letter;
		digits = digits && digit;
	}
	return !letters && !digits;
}

/* The text of a JSON object, as the API parses extension. */
static bool dingtalk_json_object_ok(const char *s, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(DT_EXTENSION_DEPTH);
	if (!tok)
		abort();
	json_object *obj = json_tokener_parse_ex(tok, s, (int)len);
	bool ok = obj && json_tokener_get_error(tok) == json_tokener_success &&
		  json_object_is_type(obj, json_type_object);
	for (size_t i = json_tokener_get_parse_end(tok); ok && i < len; i++)
		ok = strchr(" \t\r\n", s[i]) != NULL;
	json_object_put(obj);
	json_tokener_free(tok);
	return ok;
}

static const char *const dingtalk_org_email_types[] = { "profession", "base", NULL };
static const char *const dingtalk_account_types[] = { "dingtalk", "sso", NULL };

static const struct field_schema dingtalk_fields[] = {
	{ .name = "name", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .max_chars = 80 },
	{ .name = "mobile", .type = FT_STRING, .flags = FIELD_REQUIRED, .check = dingtalk_phone_ok,
	  .check_desc = "digits, optionally a leading '+', '-' and spaces" },
	{ .name = "dept_id_list", .type = FT_STRING, .flags = FIELD_REQUIRED, .check = dingtalk_dept_ids_ok,
	  .check_desc = "1 to 100 positive department ids separated by commas, such as \"2,3,4\"" },
	{ .name = "userid", .type = FT_STRING, .min_chars = 1, .max_chars = 64 },
	{ .name = "hired_date", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = LLONG_MAX },
	{ .name = "title", .type = FT_STRING, .max_chars = 200 },
	{ .name = "email", .type = FT_STRING, .max_chars = 50, .check = check_email, .check_desc = "an email address" },
	{ .name = "org_email", .type = FT_STRING, .max_chars = 100, .check = check_email,
	  .check_desc = "an email address" },
	{ .name = "org_email_type", .type = FT_STRING, .enum_values = dingtalk_org_email_types },
	{ .name = "job_number", .type = FT_STRING, .max_chars = 50 },
	{ .name = "telephone", .type = FT_STRING, .max_chars = 50 },
	{ .name = "work_place", .type = FT_STRING, .max_chars = 100 },
	{ .name = "remark", .type = FT_STRING, .max_chars = 2000 },
	{ .name = "manager_userid", .type = FT_STRING, .min_chars = 1, .max_chars = 64 },
	{ .name = "senior_mode", .type = FT_BOOL },
	{ .name = "exclusive_account", .type = FT_BOOL },
	{ .name = "exclusive_account_type", .type = FT_STRING, .enum_values = dingtalk_account_types },
	{ .name = "login_id", .type = FT_STRING },
	{ .name = "init_password", .type = FT_STRING, .flags = FIELD_SECRET, .min_chars = 8,
	  .check = dingtalk_password_ok, .check_desc = "not only letters and not only digits" },
	{ .name = "send_password_to_user", .type = FT_BOOL },
	{ .name = "exclusive_mobile", .type = FT_STRING, .check = dingtalk_phone_ok,
	  .check_desc = "digits, optionally a leading '+', '-' and spaces" },
	{ .name = "avatarMediaId", .type = FT_STRING },
	{ .name = "nickname", .type = FT_STRING },
	{ .name = "extension", .type = FT_STRING, .max_chars = 2000, .check = dingtalk_json_object_ok,
	  .check_desc = "the text of a JSON object, such as {\"hobby\":\"travel\"}" },
};

/* ------------------------------------------------------------ config */

/* Which errcodes mean what. The documented ones are defaults; the rest
 * (40035, 60003, 60011, 60020 and what 88's sub_code may say) are what
 * DingTalk's global code list suggests, so each list can be replaced. */
static const long long dt_duplicate_default[] = { 60102, 60104, 60106, 60107 };
static const long long dt_invalid_default[] = { 40035, 60003, 60103, 60105, 60112, 60113, 60123 };
static const long long dt_auth_default[] = { 40014, 42001, 60011, 60020 };
static const long long dt_throttle_default[] = { 90002, 90018, 90019 };
static const long long dt_quota_default[] = { 90020 };
static const long long dt_transient_default[] = { -1 };
/* 60121 "找不到该用户": what update, delete, get and getbymobile answer
 * for a userid or mobile nobody has. */
static const long long dt_absent_default[] = { 60121 };

#define DT_LIST(a) a, sizeof(a) / sizeof((a)[0])

static const struct dingtalk_code_list {
	const char *key;
	enum outcome_kind kind;
	const long long *def;
	size_t n_def;
} dingtalk_code_lists[] = {
	{ "duplicate_codes", OUTCOME_DUPLICATE, DT_LIST(dt_duplicate_default) },
	{ "invalid_codes", OUTCOME_INVALID, DT_LIST(dt_invalid_default) },
	{ "auth_codes", OUTCOME_AUTH, DT_LIST(dt_auth_default) },
	{ "throttle_codes", OUTCOME_THROTTLED, DT_LIST(dt_throttle_default) },
	{ "quota_codes", OUTCOME_QUOTA, DT_LIST(dt_quota_default) },
	{ "transient_codes", OUTCOME_TRANSIENT, DT_LIST(dt_transient_default) },
	/* Only read for update, delete and lookup: an add cannot be told so. */
	{ "absent_codes", OUTCOME_ABSENT, DT_LIST(dt_absent_default) },
};

#define DT_N_LISTS (sizeof(dingtalk_code_lists) / sizeof(dingtalk_code_lists[0]))

static const struct cfg_key dingtalk_keys[] = {
	{ "duplicate_codes", CFG_T_INTS, 0 },
	{ "invalid_codes", CFG_T_INTS, 0 },
	{ "auth_codes", CFG_T_INTS, 0 },
	{ "throttle_codes", CFG_T_INTS, 0 },
	{ "quota_codes", CFG_T_INTS, 0 },
	{ "transient_codes", CFG_T_INTS, 0 },
	{ "absent_codes", CFG_T_INTS, 0 },
	{ "throttle_wait", CFG_T_INT, 0 },
	{ NULL, 0, 0 },
};

struct dingtalk_conf {
	char *create_url;
	char *lookup_url;
	char *update_url;
	char *delete_url;
	long long *codes[DT_N_LISTS];	/* parallel to dingtalk_code_lists */
	size_t n_codes[DT_N_LISTS];
	long throttle_wait;		/* seconds; -1: the engine's backoff */
};

static void dingtalk_free_config(void *conf)
{
	struct dingtalk_conf *c = conf;
	if (!c)
		return;
	free(c->create_url);
	free(c->lookup_url);
	free(c->update_url);
	free(c->delete_url);
	for (size_t i = 0; i < DT_N_LISTS; i++)
		free(c->codes[i]);
	free(c);
}

/* 0 is success and 88 is read through its sub_code, so neither can be in
 * a list; a code in two lists would be a coin toss. */
static bool dingtalk_check_codes(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				 const struct dingtalk_conf *c)
{
	bool ok = true;
	for (size_t i = 0; i < DT_N_LISTS; i++) {
		const char *key = dingtalk_code_lists[i].key;
		const config_setting_t *s = config_setting_get_member(target, key);
		for (size_t k = 0; k < c->n_codes[i]; k++) {
			long long code = c->codes[i][k];
			if (code == 0 || code == DT_SUBCODE_ERRCODE) {
				cfg_error(cc, s, "%s: %s: errcode %lld cannot be listed (%s)", where, key, code,
					  code == 0 ? "it means success" : "it is read through its sub_code");
				ok = false;
			}
			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < c->n_codes[j]; m++)
					if (c->codes[j][m] == code) {
						cfg_error(cc, s, "%s: %s: errcode %lld is also in %s", where, key, code,
							  dingtalk_code_lists[j].key);
						ok = false;
					}
		}
	}
	return ok;
}

static void *dingtalk_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				const char *config_dir)
{
	struct dingtalk_conf *c = XNEW(struct dingtalk_conf);
	const char *url = cfg_string(target, "url", "");

	c->create_url = http_url_join(url, DT_CREATE_PATH);
	c->lookup_url = http_url_join(url, DT_LOOKUP_PATH);
	c->update_url = http_url_join(url, DT_UPDATE_PATH);
	c->delete_url = http_url_join(url, DT_DELETE_PATH);
	for (size_t i = 0; i < DT_N_LISTS; i++) {
		const struct dingtalk_code_list *l = &dingtalk_code_lists[i];
		c->codes[i] = cfg_ints(target, l->key, &c->n_codes[i]);
		if (!c->codes[i]) {
			c->codes[i] = xmemdup(l->def, l->n_def * sizeof(long long));
			c->n_codes[i] = l->n_def;
		}
	}
	long long wait = cfg_int_range(cc, target, where, "throttle_wait", DT_THROTTLE_WAIT, 0, 3600);
	c->throttle_wait = wait > 0 ? (long)wait : -1;
	if (!dingtalk_check_codes(cc, target, where, c)) {
		dingtalk_free_config(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------------ answers */

/* An integer member, also when sent as a string ("sub_code":"60011"). */
static bool dingtalk_code(json_object *obj, const char *key, long long *out)
{
	json_object *v;
	return obj && json_object_object_get_ex(obj, key, &v) && classify_json_int(v, out);
}

/* The API's words, cut and with control characters escaped. Caller frees. */
static char *dingtalk_msg(json_object *body, const char *key)
{
	return http_text_excerpt(classify_json_text(body, key), DT_MSG_CHARS);
}

/* absent: whether absent_codes counts (not for an add, where such a code
 * is as unexpected as any unlisted one). */
static bool dingtalk_listed(const struct dingtalk_conf *c, long long code, bool absent, enum outcome_kind *kind)
{
	for (size_t i = 0; i < DT_N_LISTS; i++)
		for (size_t k = 0; k < c->n_codes[i]; k++)
			if (c->codes[i][k] == code && (absent || dingtalk_code_lists[i].kind != OUTCOME_ABSENT)) {
				*kind = dingtalk_code_lists[i].kind;
				return true;
			}
	return false;
}

/* Reads any DingTalk answer into out; *code is the errcode (or the
 * sub_code of an 88) when there was one, else 0. absent: see
 * dingtalk_listed. Returns true when the answer was a success (errcode
 * 0): the caller reads its result. */
static bool dingtalk_classify(const struct dingtalk_conf *c, const struct http_response *resp, json_object *body,
			      bool absent, long long *code, struct outcome *out)
{
	long long wait, sub;
	char *msg = NULL, *extra = NULL;
	enum outcome_kind kind;
	bool ok = false;

	*code = 0;
	if (resp->status == 0) {
		classify_common(resp, out);
		goto out;
	}
	/* The ban comes from a gateway, whatever the status. */
	if (body && !json_object_object_get_ex(body, "errcode", NULL) && dingtalk_code(body, "wait", &wait)) {
		extra = dingtalk_msg(body, "punish");
		outcome_set(out, OUTCOME_THROTTLED, "DingTalk bans this address for %lld s (punish: %s)", wait,
			    *extra ? extra : "unknown");
		out->retry_after = wait > 0 ? (long)(wait < 86400 ? wait : 86400) : 1;
		goto out;
	}
	if (resp->status != 200 || !dingtalk_code(body, "errcode", code)) {
		*code = 0;
		if (resp->status != 200 && classify_common(resp, out))
			goto out;
		extra = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from DingTalk: %s", extra);
		goto out;
	}
	if (*code == 0) {
		outcome_set(out, OUTCOME_OK, "created");
		ok = true;
		goto out;
	}
	if (*code == DT_SUBCODE_ERRCODE) {
		bool numeric = dingtalk_code(body, "sub_code", &sub);
		extra = dingtalk_msg(body, "sub_code");
		msg = dingtalk_msg(body, classify_json_text(body, "sub_msg") ? "sub_msg" : "errmsg");
		if (numeric && dingtalk_listed(c, sub, absent, &kind)) {
			*code = sub;
			outcome_set(out, kind, "DingTalk errcode 88, sub_code %lld: %s", sub, msg);
		} else {
			/* A complaint about this request that no list knows. */
			kind = OUTCOME_INVALID;
			outcome_set(out, kind, "DingTalk errcode 88%s%s: %s", *extra ? ", sub_code " : "", extra, msg);
		}
	} else {
		msg = dingtalk_msg(body, "errmsg");
		if (!dingtalk_listed(c, *code, absent, &kind))
			kind = OUTCOME_PERMANENT;
		outcome_set(out, kind, "%sDingTalk errcode %lld: %s",
			    kind == OUTCOME_PERMANENT ? "unexpected answer from " : "", *code, msg);
	}
	if (kind == OUTCOME_THROTTLED)
		out->retry_after = c->throttle_wait;
out:
	free(msg);
	free(extra);
	return ok;
}

/* ------------------------------------------------------------ steps */

/* A POST of q as JSON to url. */
static void dingtalk_post(const char *url, json_object *q, struct http_request *req)
{
	const char *text = json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	req->method = "POST";
	req->url = xstrdup(url);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, xstrdup(text), strlen(text));
}

static void dingtalk_lookup_request(const struct dingtalk_conf *c, const struct push_item *it, const char *mobile,
				    struct http_request *req)
{
	json_object *q = json_object_new_object(), *v;
	json_object_object_add(q, "mobile", json_object_new_string(mobile ? mobile : ""));
	/* Exclusive accounts are only found when asked for. */
	if (it->payload && json_object_object_get_ex(it->payload, "exclusive_account", &v) &&
	    json_object_get_boolean(v))
		json_object_object_add(q, "support_exclusive_account_search", json_object_new_boolean(1));
	dingtalk_post(c->lookup_url, q, req);
	json_object_put(q);
}

/* A userid in an answer, or NULL: it becomes the remote id (state cache,
 * logs, later URLs), so only non-empty UTF-8 text counts (found by
 * tests/fuzz/fuzz_drivers.c: corpus/drivers/dt-add-invalid-utf8-userid). */
static const char *dingtalk_userid_at(json_object *body, const char *path)
{
	const char *id = classify_json_path_text(body, path);
	return id && *id && utf8_valid(id, strlen(id)) ? id : NULL;
}

/* The lookup answered. Being there is what counts; the id is a bonus, so
 * only trouble worth a retry is reported as such. */
static void dingtalk_lookup_answer(const struct dingtalk_conf *c, const struct http_response *resp,
				   struct push_item *it, struct outcome *out)
{
	json_object *body = classify_json_body(resp);
	long long code;
	const char *id = NULL;

	if (dingtalk_classify(c, resp, body, false, &code, out))
		id = dingtalk_userid_at(body, "result.userid");
	else if (out->kind == OUTCOME_TRANSIENT || out->kind == OUTCOME_THROTTLED || out->kind == OUTCOME_AUTH)
		goto out;
	/* "userid exists" and nobody has the mobile: that userid is the one. */
	if ((!id || !*id) && it->stage == DT_LOOKUP_USERID)
		id = classify_json_text(it->payload, "userid");
	free(it->remote_id);
	it->remote_id = id && *id ? xstrdup(id) : NULL;
	out->retry_after = -1;
	if (it->remote_id)
		outcome_set(out, OUTCOME_DUPLICATE, "already at DingTalk as userid %s", it->remote_id);
	else if (it->stage == DT_LOOKUP)
		/* The mobile is free, so what is taken (the email) is another
		 * user's: calling this member synced would lose it. */
		outcome_set(out, OUTCOME_INVALID,
			    "DingTalk says the user's mobile or email is taken, but no user has mobile %s: the email "
			    "belongs to another user",
			    classify_json_text(it->payload, "mobile") ? classify_json_text(it->payload, "mobile") : "");
	else
		outcome_set(out, OUTCOME_DUPLICATE, "already at DingTalk (its userid could not be looked up by mobile)");
out:
	json_object_put(body);
}

/* ------------------------------------------------------------ other ops */

/* What the update takes is what the create takes (topapi/v2/user/update,
 * per DingTalk's SDK) but for what only a create sets: userid names the
 * member and cannot change; exclusive_account and its type fix the kind
 * of account for good; login_id is the exclusive account's login (the
 * update spells it loginId, and renaming a login is no sync's business);
 * send_password_to_user goes with the initial password. */
static const char *const dingtalk_create_only[] = {
	"userid", "exclusive_account", "exclusive_account_type", "login_id", "send_password_to_user", NULL,
};

/* Secret fields are never updated: the initial password would be reset
 * on every change of a phone number. */
static bool dingtalk_updatable(const char *name)
{
	for (size_t i = 0; dingtalk_create_only[i]; i++)
		if (strcmp(dingtalk_create_only[i], name) == 0)
			return false;
	for (size_t i = 0; i < sizeof(dingtalk_fields) / sizeof(dingtalk_fields[0]); i++)
		if (strcmp(dingtalk_fields[i].name, name) == 0)
			return !(dingtalk_fields[i].flags & FIELD_SECRET);
	/* Nothing the mapping can make. */
	return false;
}

/* The mobile to find the member by: the payload's, else the key when the
 * target keys members by mobile (a deprovision of an entry gone from the
 * directory comes without a payload). */
static const char *dingtalk_find_mobile(const struct target *t, const struct push_item *it)
{
	const char *mobile = classify_json_text(it->payload, "mobile");
	const char *field = mapping_key_field(t->conf->mapping);
	if (mobile && *mobile)
		return mobile;
	if (field && strcmp(field, "mobile") == 0 && it->key && *it->key)
		return it->key;
	return NULL;
}

/* getbymobile's userid: result.userid, or for an exclusive account (asked
 * for with support_exclusive_account_search) the one userid of
 * result.exclusive_account_userid_list. NULL when neither says. */
static const char *dingtalk_found_id(json_object *body)
{
	const char *id = dingtalk_userid_at(body, "result.userid");
	json_object *list = classify_json_path(body, "result.exclusive_account_userid_list");
	if (id && *id)
		return id;
	if (!list || !json_object_is_type(list, json_type_array) || json_object_array_length(list) != 1)
		return NULL;
	id = dingtalk_userid_at(body, "result.exclusive_account_userid_list.0");
	return id && *id ? id : NULL;
}

/* The answer to an op's lookup: true when found (it->remote_id set), else
 * out says why not, OUTCOME_ABSENT when nobody has the mobile. */
static bool dingtalk_find_answer(const struct dingtalk_conf *c, const struct http_response *resp, const char *mobile,
				 struct push_item *it, struct outcome *out)
{
	json_object *body = classify_json_body(resp);
	char *why = NULL;
	long long code;
	bool found = false;

	if (dingtalk_classify(c, resp, body, true, &code, out)) {
		const char *id = dingtalk_found_id(body);
		if (id) {
			free(it->remote_id);
			it->remote_id = xstrdup(id);
			found = true;
		} else {
			why = classify_status_reason(resp);
			outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from DingTalk (no userid for mobile %s): %s",
				    mobile, why);
		}
	} else if (out->kind == OUTCOME_ABSENT) {
		why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_ABSENT, "no user at DingTalk has mobile %s (%s)", mobile, why);
	} else if (out->kind == OUTCOME_DUPLICATE) {
		/* "Already exists" answers no question a lookup asks. */
		why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from %s", why);
	}
	free(why);
	json_object_put(body);
	return found;
}

/* The update or delete of the member named by it->remote_id. */
static void dingtalk_change_request(const struct dingtalk_conf *c, const struct push_item *it,
				    struct http_request *req)
{
	json_object *q = json_object_new_object();
	json_object_object_add(q, "userid", json_object_new_string(it->remote_id));
	if (it->op == OP_UPDATE) {
		json_object_object_foreach(it->payload, name, value) {
			if (dingtalk_updatable(name))
				json_object_object_add(q, name, json_object_get(value));
		}
	}
	dingtalk_post(it->op == OP_UPDATE ? c->update_url : c->delete_url, q, req);
	json_object_put(q);
}

static void dingtalk_change_answer(const struct dingtalk_conf *c, const struct http_response *resp,
				   const struct push_item *it, struct outcome *out)
{
	json_object *body = classify_json_body(resp);
	char *why;
	long long code;

	if (dingtalk_classify(c, resp, body, true, &code, out)) {
		outcome_set(out, OUTCOME_OK, "%s userid %s", it->op == OP_UPDATE ? "updated" : "deleted", it->remote_id);
		if (it->op == OP_UPDATE)
			out->remote_id = xstrdup(it->remote_id);
	} else if (out->kind == OUTCOME_DUPLICATE && it->op == OP_UPDATE) {
		/* The new mobile, email or userid is another user's: this
		 * payload cannot be applied until it changes. */
		out->kind = OUTCOME_INVALID;
	} else if (out->kind == OUTCOME_DUPLICATE) {
		why = out->reason;
		out->reason = NULL;
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from %s", why);
		free(why);
	}
	json_object_put(body);
}

/* Update, delete and lookup: find the userid by mobile when none is
 * stored (always, for a lookup), then change the member. */
static enum step_result dingtalk_op_step(struct target *t, struct push_item *it, const struct http_response *resp,
					 struct http_request *req, struct outcome *out)
{
	const struct dingtalk_conf *c = t->conf->driver_conf;
	const char *mobile = dingtalk_find_mobile(t, it);
	const char *field = mapping_key_field(t->conf->mapping);

	if (it->op != OP_UPDATE && it->op != OP_DELETE && it->op != OP_LOOKUP) {
		outcome_set(out, OUTCOME_PERMANENT, "DingTalk has no way to %s a user", push_op_name(it->op));
		return STEP_DONE;
	}
	if (it->op == OP_UPDATE && !json_object_is_type(it->payload, json_type_object)) {
		outcome_set(out, OUTCOME_PERMANENT, "nothing to update DingTalk's user with: no payload");
		return STEP_DONE;
	}
	if (it->op == OP_LOOKUP || (it->stage == DT_FIND && !it->remote_id)) {
		if (!resp && !mobile && it->op != OP_LOOKUP && field && strcmp(field, "userid") == 0 && it->key &&
		    *it->key) {
			/* Keyed by userid: the key is the member's name at DingTalk. */
			it->remote_id = xstrdup(it->key);
		} else if (!resp && !mobile) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "no userid stored for this member and no mobile to find it at DingTalk by");
			return STEP_DONE;
		} else if (!resp) {
			dingtalk_lookup_request(c, it, mobile, req);
			return STEP_SEND;
		} else if (!dingtalk_find_answer(c, resp, mobile, it, out)) {
			return STEP_DONE;
		} else if (it->op == OP_LOOKUP) {
			outcome_set(out, OUTCOME_OK, "at DingTalk as userid %s", it->remote_id);
			out->remote_id = xstrdup(it->remote_id);
			return STEP_DONE;
		}
		outcome_clear(out);
		resp = NULL;
	}
	if (!resp) {
		it->stage = DT_CHANGE;
		dingtalk_change_request(c, it, req);
		return STEP_SEND;
	}
	dingtalk_change_answer(c, resp, it, out);
	return STEP_DONE;
}

static enum step_result dingtalk_step(struct target *t, struct push_item *it, const struct http_response *resp,
				      struct http_request *req, bool *creates, struct outcome *out)
{
	const struct dingtalk_conf *c = t->conf->driver_conf;

	if (it->op != OP_ADD) {
		*creates = false;
		return dingtalk_op_step(t, it, resp, req, out);
	}
	if (it->stage == DT_ADD && !resp) {
		req->method = "POST";
		req->url = xstrdup(c->create_url);
		http_request_add_header(req, "Content-Type: application/json");
		http_request_add_header(req, "Accept: application/json");
		http_request_set_body(req, xstrdup(it->payload_text), strlen(it->payload_text));
		*creates = true;
		return STEP_SEND;
	}
	if (it->stage == DT_ADD) {
		json_object *body = classify_json_body(resp);
		long long code;
		if (dingtalk_classify(c, resp, body, false, &code, out)) {
			const char *id = dingtalk_userid_at(body, "result.userid");
			if (id && *id)
				out->remote_id = xstrdup(id);
		}
		json_object_put(body);
		if (out->kind != OUTCOME_DUPLICATE)
			return STEP_DONE;
		it->stage = code == DT_USERID_EXISTS ? DT_LOOKUP_USERID : DT_LOOKUP;
		outcome_clear(out);
		resp = NULL;
	}
	if (!resp) {
		dingtalk_lookup_request(c, it, classify_json_text(it->payload, "mobile"), req);
		*creates = false;
		return STEP_SEND;
	}
	dingtalk_lookup_answer(c, resp, it, out);
	return STEP_DONE;
}

const struct target_driver driver_dingtalk = {
	.name = "dingtalk",
	.summary = "DingTalk, POST /topapi/v2/user/create",
	.fields = dingtalk_fields,
	.n_fields = sizeof(dingtalk_fields) / sizeof(dingtalk_fields[0]),
	.default_key = "mobile",
	.keys = dingtalk_keys,
	.auth = { .type = "dingtalk" },
	.auth_required = true,
	/* The standard edition allows an app 20 requests/s; keep clear of it. */
	.default_rate_limit = 18,
	/* No deactivation: a user is either there or deleted. */
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP),
	.configure = dingtalk_configure,
	.free_config = dingtalk_free_config,
	.step = dingtalk_step,
};
