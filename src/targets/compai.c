/* Comp AI: POST /v1/people and POST /v1/people/bulk.
 * Facts (shared/targets/README.md): X-API-Key auth, the organization comes
 * from the key; a NestJS server with a strict whitelist (an unknown
 * property is a 400), so nothing but the member fields is ever sent; the
 * directory knows emails while the API wants Comp AI user ids, so the
 * organization's members are listed (GET /v1/people) to find who is
 * already there, deactivated members are reactivated rather than added
 * again, people without a known user id may be invited by email, and
 * adds go in bulk (up to 1000, partial success). Error texts are the
 * server's own: {"statusCode":400,"message":"..." or [...],"error":"..."}.
 *
 * Beyond adds: an update is PATCH /v1/people/{id}; deprovisioning is
 * DELETE /v1/people/{id}, which in Comp AI deactivates the member (the
 * server sets deactivated and isActive false, ends the person's sessions
 * and unassigns their tasks; the member stays, listed with
 * includeDeactivated) rather than PATCH isActive:false, which leaves the
 * person signed in and, not being "deactivated", still counts as a member
 * for adds. There is no hard delete (servers before reactivation existed
 * deleted the row; the current one never does), so OP_DELETE is not
 * offered. A deactivated member comes back with PATCH
 * /v1/people/{id}/reactivate, as in the add. A member whose id the state
 * cache does not have is found in the listing, like an add. */
#include "config.h"

#include "http/encode.h"
#include "mapping/checks.h"
#include "mapping/mapping.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMPAI_PEOPLE_PATH "v1/people"
#define COMPAI_MAX_BATCH 1000
#define COMPAI_DEFAULT_LIST_TTL 60
/* Words of "User <email> is already a member of this organization". */
#define COMPAI_DEFAULT_DUPLICATE_TEXT "already a member"
/* Reasons end up in logs and the state database: keep them short. */
#define COMPAI_REASON_CHARS 300

enum compai_stage {
	CA_LIST,	/* find the person among the organization's members */
	CA_ADD,		/* waiting for, or in, a bulk add */
	CA_REACTIVATE,
	CA_INVITE,
	CA_OP,		/* an update, deactivation or reactivation is out */
};

static const char *const compai_departments[] = { "none", "admin", "gov", "hr", "it", "itsm", "qms", NULL };

/* What PATCH /v1/people/{id} is sent. Not userId (it would hand the
 * membership to another person) and not email (the update DTO takes it,
 * but it renames the user's login everywhere, not just here). */
static const char *const compai_update_fields[] = {
	"role", "department", "isActive", "fleetDmLabelId", "jobTitle", NULL,
};

/* What POST /v1/people accepts; the server refuses anything else. */
static const char *const compai_member_fields[] = {
	"userId", "role", "department", "isActive", "fleetDmLabelId", "jobTitle", NULL,
};

static const struct field_schema compai_fields[] = {
	/* Only for finding members and for invites: never in a member body. */
	{ .name = "email", .type = FT_STRING, .max_chars = 254, .check = check_email,
	  .check_desc = "an email address" },
	{ .name = "userId", .type = FT_STRING, .min_chars = 1 },
	{ .name = "role", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1 },
	{ .name = "department", .type = FT_STRING, .enum_values = compai_departments },
	{ .name = "isActive", .type = FT_BOOL },
	/* A PostgreSQL integer; the server stores 0 as "none". */
	{ .name = "fleetDmLabelId", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 1,
	  .max_value = INT32_MAX },
	{ .name = "jobTitle", .type = FT_STRING },
};

static const struct cfg_key compai_keys[] = {
	{ "invite", CFG_T_BOOL, 0 },
	{ "list_ttl", CFG_T_INT, 0 },
	{ "list_deactivated", CFG_T_BOOL, 0 },
	{ "duplicate_text", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

struct compai_conf {
	char *people_url;
	bool list_deactivated;
	char *bulk_url;
	char *invite_url;
	bool invite;
	uint64_t list_ttl_usec;
	char *duplicate_text;
};

/* One member of the organization, as the last listing showed it. */
struct compai_member {
	char *id;
	char *user_id;	/* NULL when the listing did not say */
	char *email;	/* lower case; NULL when the listing did not say */
	bool active;
	bool deactivated;	/* offboarded (DELETE), not just isActive false */
	bool gone;	/* vanished since the listing (a 404 on it) */
};

/* The listing, kept across cycles and fetched again once list_ttl old. */
struct compai_state {
	struct compai_member *members;
	size_t n;
	struct compai_member **by_email;	/* sorted, NULL emails left out */
	size_t n_email;
	struct compai_member **by_user;
	size_t n_user;
	uint64_t loaded_at;	/* monotonic usec; 0: never loaded */
	/* A listing in flight, until (monotonic usec): others wait for it.
	 * A deadline rather than a flag, so a request the engine dropped (a
	 * stop) cannot leave everyone waiting in the next cycle. */
	uint64_t listing_until;
	/* Failed listings, so that a storm of errors costs a few requests,
	 * not one per member and retry: while one stands, members fail at
	 * once with its reason, and after it one member at a time tries
	 * again (a probe) while the others keep failing at once. */
	unsigned failures;	/* in a row; 0: none since the last success */
	uint64_t hold_until;	/* monotonic usec: the failure stands until then */
	char *probe;		/* the member key of the member trying again */
	uint64_t probe_until;	/* a probe the engine dropped does not count */
	enum outcome_kind failed_kind;
	char *failed_reason;
};

/* ------------------------------------------------------------ config */

static void compai_free_config(void *conf)
{
	struct compai_conf *c = conf;
	if (!c)
		return;
	free(c->people_url);
	free(c->bulk_url);
	free(c->invite_url);
	free(c->duplicate_text);
	free(c);
}

static void *compai_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			      const char *config_dir)
{
	struct compai_conf *c = XNEW(struct compai_conf);
	size_t errors = cc->diag->errors;

	c->people_url = http_url_join(cfg_string(target, "url", ""), COMPAI_PEOPLE_PATH);
	c->list_deactivated = cfg_bool(target, "list_deactivated", true);
	c->bulk_url = xasprintf("%s/bulk", c->people_url);
	c->invite_url = xasprintf("%s/invite", c->people_url);
	c->invite = cfg_bool(target, "invite", false);
	c->list_ttl_usec = (uint64_t)cfg_int_range(cc, target, where, "list_ttl", COMPAI_DEFAULT_LIST_TTL, 1, 86400) *
			   1000000u;
	const char *dup = cfg_string(target, "duplicate_text", COMPAI_DEFAULT_DUPLICATE_TEXT);
	if (!*dup)
		cfg_error(cc, config_setting_get_member(target, "duplicate_text"),
			  "%s: duplicate_text must not be empty", where);
	c->duplicate_text = xstrdup(dup);
	if (cc->diag->errors != errors) {
		compai_free_config(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------------ the listing */

static void compai_state_clear(struct compai_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->members[i].id);
		free(st->members[i].user_id);
		free(st->members[i].email);
	}
	free(st->members);
	free(st->by_email);
	free(st->by_user);
	st->members = NULL;
	st->by_email = st->by_user = NULL;
	st->n = st->n_email = st->n_user = 0;
	st->loaded_at = 0;
}

static void *compai_open(struct target *t)
{
	return XNEW(struct compai_state);
}

static void compai_close(void *drv)
{
	struct compai_state *st = drv;
	if (!st)
		return;
	compai_state_clear(st);
	free(st->failed_reason);
	free(st->probe);
	free(st);
}

static char *compai_lower(const char *s)
{
	char *l = xstrdup(s);
	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

static int compai_cmp_email(const void *a, const void *b)
{
	return strcmp((*(struct compai_member *const *)a)->email, (*(struct compai_member *const *)b)->email);
}

static int compai_cmp_user(const void *a, const void *b)
{
	return strcmp((*(struct compai_member *const *)a)->user_id, (*(struct compai_member *const *)b)->user_id);
}

/* A string member, or NULL (numbers are not ids or emails here). */
static const char *compai_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return NULL;
	/* Ids, emails and messages end up in reasons, logs and the state
	 * cache: a string with a NUL or invalid UTF-8 is no answer (found by
	 * tests/fuzz/fuzz_drivers.c: corpus/drivers/ca-update-invalid-utf8-id). */
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len || !utf8_valid(s, len))
		return NULL;
	return s;
}

/* true when obj[key] is the boolean `value`. */
static bool compai_bool_is(json_object *obj, const char *key, bool value)
{
	json_object *v;
	return json_object_is_type(obj, json_type_object) && json_object_object_get_ex(obj, key, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v) == value;
}

/* Replaces the listing with the members of {"data":[...]}; entries
 * without an id are left out. Returns false when there is no such array. */
static bool compai_load(struct compai_state *st, json_object *body)
{
	json_object *data;
	if (!body || !json_object_object_get_ex(body, "data", &data) || !json_object_is_type(data, json_type_array))
		return false;
	size_t n = json_object_array_length(data);
	compai_state_clear(st);
	st->members = xcalloc(n ? n : 1, sizeof(*st->members));
	st->by_email = xcalloc(n ? n : 1, sizeof(*st->by_email));
	st->by_user = xcalloc(n ? n : 1, sizeof(*st->by_user));
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(data, i), *user = NULL;
		const char *id = compai_string(m, "id");
		if (!id)
			continue;
		if (json_object_is_type(m, json_type_object))
			json_object_object_get_ex(m, "user", &user);
		const char *uid = compai_string(m, "userId");
		const char *email = compai_string(user, "email");
		if (!uid)
			uid = compai_string(user, "id");
		struct compai_member *cm = &st->members[st->n++];
		cm->id = xstrdup(id);
		cm->user_id = uid ? xstrdup(uid) : NULL;
		cm->email = email ? compai_lower(email) : NULL;
		/* Either flag says so: the server keeps both. */
		cm->active = !compai_bool_is(m, "isActive", false) && !compai_bool_is(m, "deactivated", true);
		cm->deactivated = compai_bool_is(m, "deactivated", true);
		if (cm->email)
			st->by_email[st->n_email++] = cm;
		if (cm->user_id)
			st->by_user[st->n_user++] = cm;
	}
	qsort(st->by_email, st->n_email, sizeof(*st->by_email), compai_cmp_email);
	qsort(st->by_user, st->n_user, sizeof(*st->by_user), compai_cmp_user);
	st->loaded_at = time_now_mono_usec();
	st->failures = 0;
	free(st->probe);
	st->probe = NULL;
	return true;
}

static bool compai_fresh(const struct compai_state *st, const struct compai_conf *c)
{
	return st->loaded_at && time_now_mono_usec() - st->loaded_at < c->list_ttl_usec;
}

/* The person's membership: by email first (what the directory knows),
 * else by user id. NULL when not a member (or gone since). */
static struct compai_member *compai_find(struct compai_state *st, const char *email, const char *uid)
{
	struct compai_member key = { 0 }, *kp = &key, **hit = NULL;
	char *lower = email ? compai_lower(email) : NULL;
	/* bsearch of an empty list may get a NULL base: undefined. */
	if (lower && st->n_email) {
		key.email = lower;
		hit = bsearch(&kp, st->by_email, st->n_email, sizeof(*st->by_email), compai_cmp_email);
	}
	if ((!hit || (*hit)->gone) && uid && st->n_user) {
		key.user_id = (char *)uid;
		hit = bsearch(&kp, st->by_user, st->n_user, sizeof(*st->by_user), compai_cmp_user);
	}
	free(lower);
	return hit && !(*hit)->gone ? *hit : NULL;
}

/* ------------------------------------------------------------ answers */

/* Text from an answer, made safe for logs and cut short. Caller frees. */
static char *compai_clean(const char *s)
{
	return http_text_excerpt(s, COMPAI_REASON_CHARS);
}

/* The server's own words: "message" is a string, or a list of them for
 * validation errors. Caller frees; NULL when there are none. */
static char *compai_message(json_object *body)
{
	json_object *msg;
	if (!body || !json_object_object_get_ex(body, "message", &msg))
		return NULL;
	if (json_object_is_type(msg, json_type_string))
		return compai_clean(json_object_get_string(msg));
	if (!json_object_is_type(msg, json_type_array))
		return NULL;
	struct sbuf sb;
	sbuf_init(&sb);
	size_t n = json_object_array_length(msg);
	for (size_t i = 0; i < n && sb.len < COMPAI_REASON_CHARS * 4; i++) {
		json_object *m = json_object_array_get_idx(msg, i);
		if (json_object_is_type(m, json_type_string))
			sbuf_addf(&sb, "%s%s", sb.len ? "; " : "", json_object_get_string(m));
	}
	char *clean = sb.len ? compai_clean(sb.buf) : NULL;
	sbuf_release(&sb);
	return clean;
}

/* The server's words, else the status and the start of the body. */
static char *compai_reason(json_object *body, const struct http_response *resp)
{
	char *msg = compai_message(body);
	if (msg) {
		char *r = xasprintf("HTTP %ld: %s", resp->status, msg);
		free(msg);
		return r;
	}
	return classify_status_reason(resp);
}

/* NestJS answers an unknown route with 404 "Cannot POST /path": the URL
 * is wrong, not the member. */
static bool compai_no_route(const struct http_response *resp, json_object *body)
{
	const char *msg = classify_json_text(body, "message");
	return resp->status == 404 && msg && strncmp(msg, "Cannot ", 7) == 0;
}

/* What every request's answer shares: no answer, auth, throttling, 5xx,
 * a missing route. true when decided. */
static bool compai_common(const struct http_response *resp, json_object *body, struct outcome *out)
{
	if (classify_common(resp, out))
		return true;
	if (!compai_no_route(resp, body))
		return false;
	char *r = compai_reason(body, resp);
	outcome_set(out, OUTCOME_PERMANENT, "Comp AI has no such endpoint (is url right?): %s", r);
	free(r);
	return true;
}

static void compai_unexpected(const struct http_response *resp, json_object *body, struct outcome *out)
{
	char *r = compai_reason(body, resp);
	if (resp->status >= 400 && resp->status < 500)
		outcome_set(out, OUTCOME_INVALID, "rejected by Comp AI: %s", r);
	else
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer from Comp AI: %s", r);
	free(r);
}

/* Remembers a failed listing. A server error stands for retry_delay,
 * doubling with each one in a row up to retry_max_delay, so members
 * retrying with the same backoff meet about one request per wave; one
 * that retrying cannot mend stands for list_ttl. Throttling and refused
 * credentials are the engine's to handle for the whole target. */
static void compai_list_failed(struct target *t, const struct outcome *o)
{
	struct compai_state *st = t->drv;
	const struct compai_conf *c = t->conf->driver_conf;

	if (o->kind != OUTCOME_TRANSIENT && o->kind != OUTCOME_PERMANENT)
		return;
	if (st->failures < 32)
		st->failures++;
	unsigned doublings = st->failures - 1 < 20 ? st->failures - 1 : 20;
	double hold = t->conf->retry_delay * (double)(1u << doublings);
	if (hold > t->conf->retry_max_delay)
		hold = t->conf->retry_max_delay;
	st->hold_until = time_now_mono_usec() +
			 (o->kind == OUTCOME_PERMANENT ? c->list_ttl_usec : (uint64_t)(hold * 1e6));
	st->failed_kind = o->kind;
	free(st->failed_reason);
	st->failed_reason = xstrdup(o->reason ? o->reason : "the member list is not available");
}

/* After a failed listing: true (with *out set) while the failure stands
 * or another member's new try (the probe) is out; otherwise this member
 * becomes the probe. */
static bool compai_list_failing(struct target *t, const struct push_item *it, struct outcome *out)
{
	struct compai_state *st = t->drv;
	uint64_t now = time_now_mono_usec();

	if (!st->failures)
		return false;
	const char *key = it->key ? it->key : "";
	if (now < st->hold_until || (st->probe && strcmp(st->probe, key) != 0 && now < st->probe_until)) {
		outcome_set(out, st->failed_kind, "%s", st->failed_reason);
		return true;
	}
	free(st->probe);
	st->probe = xstrdup(key);
	st->probe_until = now + (uint64_t)t->conf->timeout_ms * 1000u + (uint64_t)(t->conf->retry_max_delay * 1e6);
	return false;
}

/* The listing's answer: 0 with the listing loaded, or -1 with *out set. */
static int compai_read_list(struct target *t, const struct push_item *it, const struct http_response *resp,
			    struct outcome *out)
{
	struct compai_state *st = t->drv;
	json_object *body = NULL;
	int r = -1;

	if (st->probe && strcmp(st->probe, it->key ? it->key : "") == 0) {
		free(st->probe);
		st->probe = NULL;
	}

	/* Our own size cap, not a network hiccup: retrying cannot help. */
	if (resp->status == 0 && resp->curl_code == CURLE_WRITE_ERROR) {
		outcome_set(out, OUTCOME_PERMANENT,
			    "the list of the organization's members is too big (%s); raise max_response_size",
			    resp->error ? resp->error : "too big");
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	body = classify_json_body(resp);
	if (resp->status == 200 && compai_load(t->drv, body)) {
		r = 0;
		goto out;
	}
	char *reason = compai_reason(body, resp);
	outcome_set(out, OUTCOME_PERMANENT, "cannot read the organization's members (GET /v1/people): %s", reason);
	free(reason);
out:
	if (r < 0)
		compai_list_failed(t, out);
	json_object_put(body);
	return r;
}

/* ------------------------------------------------------------ requests */

static json_object *compai_payload(struct push_item *it)
{
	/* A member deprovisioned after it left the directory has neither. */
	if (!it->payload && it->payload_text)
		it->payload = json_tokener_parse(it->payload_text);
	return it->payload;
}

/* Who the member is: the payload's email and user id or, for an entry
 * gone from the directory (no payload), its member key when the key is
 * one of them. Borrowed. */
static void compai_who(struct target *t, struct push_item *it, const char **email, const char **uid)
{
	json_object *payload = compai_payload(it);
	const char *kf = mapping_key_field(t->conf->mapping);

	*email = classify_json_text(payload, "email");
	*uid = classify_json_text(payload, "userId");
	if (payload || it->payload_text || it->op == OP_ADD || !it->key || !kf)
		return;
	if (strcmp(kf, "email") == 0)
		*email = it->key;
	else if (strcmp(kf, "userId") == 0)
		*uid = it->key;
}

static bool compai_mapped(const struct target *t, const char *field)
{
	const struct mapping *m = t->conf->mapping;
	size_t n = mapping_field_count(m);
	for (size_t i = 0; i < n; i++)
		if (strcmp(mapping_field_name(m, i), field) == 0)
			return true;
	return false;
}

/* The update: the payload's updatable fields. A field the mapping has
 * but gives no value for this time is cleared, so the member follows the
 * directory; a field the mapping leaves out stays as Comp AI has it
 * (someone may keep it by hand). isActive without a value is left alone:
 * deactivating is deprovisioning's business. */
static json_object *compai_update_body(struct target *t, struct push_item *it)
{
	json_object *payload = compai_payload(it), *body = json_object_new_object(), *v;
	for (const char *const *f = compai_update_fields; *f; f++) {
		if (payload && json_object_object_get_ex(payload, *f, &v) && v)
			json_object_object_add(body, *f, json_object_get(v));
		else if (!compai_mapped(t, *f) || strcmp(*f, "isActive") == 0)
			continue;
		else if (strcmp(*f, "department") == 0)
			/* The server's own "no department"; it takes no null. */
			json_object_object_add(body, *f, json_object_new_string("none"));
		else
			json_object_object_add(body, *f, NULL);
	}
	return body;
}

/* The member body: the whitelisted fields of the payload. */
static json_object *compai_member_body(struct push_item *it)
{
	json_object *payload = compai_payload(it), *body = json_object_new_object(), *v;
	for (const char *const *f = compai_member_fields; *f; f++)
		if (payload && json_object_object_get_ex(payload, *f, &v) && v)
			json_object_object_add(body, *f, json_object_get(v));
	return body;
}

/* Takes obj. */
static void compai_set_json(struct http_request *req, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_set_body(req, xstrdup(s), strlen(s));
	json_object_put(obj);
}

static void compai_request(struct http_request *req, const char *method, char *url)
{
	req->method = method;
	free(req->url);
	req->url = url;
	http_request_add_header(req, "Accept: application/json");
}

static void compai_build_reactivate(const struct compai_conf *c, const struct push_item *it,
				    struct http_request *req)
{
	char *id = encode_url_component(it->remote_id, strlen(it->remote_id));
	compai_request(req, "PATCH", xasprintf("%s/%s/reactivate", c->people_url, id));
	free(id);
}

/* The request of a non-add op for the member it->remote_id. */
static void compai_build_op(struct target *t, struct push_item *it, struct http_request *req)
{
	const struct compai_conf *c = t->conf->driver_conf;
	char *id;

	if (it->op == OP_ENABLE) {
		compai_build_reactivate(c, it, req);
		return;
	}
	id = encode_url_component(it->remote_id, strlen(it->remote_id));
	compai_request(req, it->op == OP_UPDATE ? "PATCH" : "DELETE", xasprintf("%s/%s", c->people_url, id));
	free(id);
	if (it->op == OP_UPDATE)
		compai_set_json(req, compai_update_body(t, it));
}

static void compai_build_invite(const struct compai_conf *c, struct push_item *it, struct http_request *req)
{
	json_object *payload = compai_payload(it), *inv = json_object_new_object(), *roles = json_object_new_array(),
		    *list = json_object_new_array(), *body = json_object_new_object(), *v;
	if (json_object_object_get_ex(payload, "email", &v) && v)
		json_object_object_add(inv, "email", json_object_get(v));
	if (json_object_object_get_ex(payload, "role", &v) && v)
		json_object_array_add(roles, json_object_get(v));
	json_object_object_add(inv, "roles", roles);
	json_object_array_add(list, inv);
	json_object_object_add(body, "invites", list);
	compai_request(req, "POST", xstrdup(c->invite_url));
	compai_set_json(req, body);
}

/* ------------------------------------------------------------ the journey */

/* What to do about a person once the listing is at hand. */
static enum step_result compai_decide(struct target *t, struct push_item *it, struct http_request *req,
				      bool *creates, struct outcome *out)
{
	const struct compai_conf *c = t->conf->driver_conf;
	json_object *payload = compai_payload(it);
	const char *email = classify_json_text(payload, "email");
	const char *uid = classify_json_text(payload, "userId");

	if (!email && !uid) {
		outcome_set(out, OUTCOME_INVALID,
			    "neither email nor userId has a value: Comp AI needs one to find the person");
		return STEP_DONE;
	}
	struct compai_member *m = compai_find(t->drv, email, uid);
	if (m && m->active) {
		outcome_set(out, OUTCOME_DUPLICATE, "already an active member (%s)", m->id);
		out->remote_id = xstrdup(m->id);
		return STEP_DONE;
	}
	if (m && compai_bool_is(payload, "isActive", false)) {
		outcome_set(out, OUTCOME_DUPLICATE, "already a member, deactivated as the mapping says (%s)", m->id);
		out->remote_id = xstrdup(m->id);
		return STEP_DONE;
	}
	if (m) {
		/* Adding a deactivated member again fails; reactivating is
		 * what brings them back. */
		free(it->remote_id);
		it->remote_id = xstrdup(m->id);
		it->stage = CA_REACTIVATE;
		compai_build_reactivate(c, it, req);
		*creates = true;
		return STEP_SEND;
	}
	if (uid) {
		it->stage = CA_ADD;
		return STEP_BATCH;
	}
	if (!c->invite) {
		outcome_set(out, OUTCOME_INVALID, "no Comp AI user id for %s; map userId or set invite = true", email);
		return STEP_DONE;
	}
	it->stage = CA_INVITE;
	compai_build_invite(c, it, req);
	*creates = true;
	return STEP_SEND;
}

static enum step_result compai_reactivated(struct target *t, struct push_item *it, const struct http_response *resp,
					   struct http_request *req, bool *creates, struct outcome *out)
{
	json_object *body = classify_json_body(resp);
	enum step_result r = STEP_DONE;
	json_object *payload = compai_payload(it);

	if (compai_common(resp, body, out))
		goto out;
	if (resp->status == 200 || resp->status == 201) {
		const char *id = compai_string(body, "id");
		struct compai_member *m = compai_find(t->drv, classify_json_text(payload, "email"),
						      classify_json_text(payload, "userId"));
		if (m)
			m->active = true;
		outcome_set(out, OUTCOME_OK, "reactivated member %s", id ? id : it->remote_id);
		out->remote_id = xstrdup(id ? id : it->remote_id);
		goto out;
	}
	if (resp->status == 404) {
		/* Gone since the listing: treat the person as new. */
		struct compai_member *m = compai_find(t->drv, classify_json_text(payload, "email"),
						      classify_json_text(payload, "userId"));
		if (m)
			m->gone = true;
		free(it->remote_id);
		it->remote_id = NULL;
		it->stage = CA_LIST;
		r = compai_decide(t, it, req, creates, out);
		goto out;
	}
	compai_unexpected(resp, body, out);
out:
	json_object_put(body);
	return r;
}

/* The invite's answer: {"results":[{"email","success","error"}]}. */
static void compai_invited(const struct compai_conf *c, struct push_item *it, const struct http_response *resp,
			   struct outcome *out)
{
	json_object *body = classify_json_body(resp), *results, *mine = NULL;
	const char *email = classify_json_text(compai_payload(it), "email");

	if (compai_common(resp, body, out))
		goto out;
	if (resp->status != 200 && resp->status != 201) {
		compai_unexpected(resp, body, out);
		goto out;
	}
	if (json_object_object_get_ex(body, "results", &results) && json_object_is_type(results, json_type_array)) {
		size_t n = json_object_array_length(results);
		for (size_t i = 0; i < n && !mine; i++) {
			json_object *r = json_object_array_get_idx(results, i);
			const char *e = compai_string(r, "email");
			if (n == 1 || (e && email && strcasecmp(e, email) == 0))
				mine = r;
		}
	}
	if (!compai_bool_is(mine, "success", false)) {
		outcome_set(out, OUTCOME_OK, "invited by email");
		goto out;
	}
	const char *err = compai_string(mine, "error");
	char *why = compai_clean(err ? err : "the invite failed without a reason");
	if (strcasestr(why, c->duplicate_text))
		outcome_set(out, OUTCOME_DUPLICATE, "already at Comp AI: %s", why);
	else
		outcome_set(out, OUTCOME_INVALID, "rejected by Comp AI: %s", why);
	free(why);
out:
	json_object_put(body);
}

/* ------------------------------------------------------------ other ops */

static enum step_result compai_op_send(struct target *t, struct push_item *it, const char *id,
				       struct http_request *req)
{
	if (id != it->remote_id) {
		free(it->remote_id);
		it->remote_id = xstrdup(id);
	}
	it->stage = CA_OP;
	compai_build_op(t, it, req);
	return STEP_SEND;
}

/* A non-add op before any listing: straight to the member when its id is
 * known (a lookup always reads the listing: the id of an add that never
 * answered is not). true when decided, with *r. */
static bool compai_op_start(struct target *t, struct push_item *it, struct http_request *req,
			    struct outcome *out, enum step_result *r)
{
	const char *email, *uid;

	if (it->op != OP_UPDATE && it->op != OP_DISABLE && it->op != OP_ENABLE && it->op != OP_LOOKUP) {
		outcome_set(out, OUTCOME_PERMANENT, "Comp AI cannot %s a member (it only deactivates them)",
			    push_op_name(it->op));
		*r = STEP_DONE;
		return true;
	}
	if (it->op != OP_LOOKUP && it->remote_id && *it->remote_id) {
		*r = compai_op_send(t, it, it->remote_id, req);
		return true;
	}
	compai_who(t, it, &email, &uid);
	if (!email && !uid) {
		outcome_set(out, OUTCOME_PERMANENT,
			    "no member id stored, and neither email nor userId known: cannot find the member");
		*r = STEP_DONE;
		return true;
	}
	return false;
}

/* A non-add op once the listing is at hand. */
static enum step_result compai_op_decide(struct target *t, struct push_item *it, struct http_request *req,
					 struct outcome *out)
{
	const char *email, *uid;

	compai_who(t, it, &email, &uid);
	struct compai_member *m = compai_find(t->drv, email, uid);
	if (!m) {
		outcome_set(out, OUTCOME_ABSENT, "not a member of the organization (%s)",
			    email ? email : uid);
		return STEP_DONE;
	}
	switch (it->op) {
	case OP_LOOKUP:
		/* What the add would have counted as there (compai_decide). */
		if (m->active || compai_bool_is(compai_payload(it), "isActive", false))
			break;
		outcome_set(out, OUTCOME_ABSENT, "only a deactivated member (%s): the add reactivates it",
			    m->id);
		return STEP_DONE;
	case OP_UPDATE:
		/* The server does not update deactivated members (404). */
		if (m->deactivated) {
			outcome_set(out, OUTCOME_ABSENT, "member %s is deactivated", m->id);
			return STEP_DONE;
		}
		return compai_op_send(t, it, m->id, req);
	case OP_DISABLE:
		/* Deactivating again would unassign and notify all over. */
		if (!m->deactivated)
			return compai_op_send(t, it, m->id, req);
		outcome_set(out, OUTCOME_OK, "already deactivated (%s)", m->id);
		break;
	case OP_ENABLE:
		if (!m->active)
			return compai_op_send(t, it, m->id, req);
		outcome_set(out, OUTCOME_OK, "already active (%s)", m->id);
		break;
	default:
		outcome_set(out, OUTCOME_PERMANENT, "internal error: op %s", push_op_name(it->op));
		return STEP_DONE;
	}
	if (it->op == OP_LOOKUP)
		outcome_set(out, OUTCOME_OK, "a member of the organization (%s)", m->id);
	out->remote_id = xstrdup(m->id);
	return STEP_DONE;
}

/* DELETE refuses some members whatever the credentials (the owner, Comp
 * AI's own staff, the key's own user) with a 403 whose words say so;
 * missing permissions say "access denied", "lacks ... scope" and alike. */
static bool compai_refused_removal(const struct http_response *resp, json_object *body)
{
	const char *msg = classify_json_text(body, "message");
	return resp->status == 403 && msg && strcasestr(msg, "remov");
}

static enum step_result compai_op_answer(struct target *t, struct push_item *it,
					 const struct http_response *resp, struct outcome *out)
{
	struct compai_state *st = t->drv;
	json_object *body = classify_json_body(resp);
	const char *email, *uid, *id;
	char *r;

	if (it->op == OP_DISABLE && compai_refused_removal(resp, body)) {
		r = compai_reason(body, resp);
		outcome_set(out, OUTCOME_INVALID, "Comp AI refuses to deactivate member %s: %s",
			    it->remote_id, r);
		free(r);
		goto out;
	}
	if (compai_common(resp, body, out))
		goto out;
	if (resp->status == 404) {
		/* Gone, or deactivated (an update is a 404 then): the listing
		 * no longer says which, so the next member reads it again. */
		st->loaded_at = 0;
		r = compai_reason(body, resp);
		outcome_set(out, OUTCOME_ABSENT, "no member %s at Comp AI: %s", it->remote_id, r);
		free(r);
		goto out;
	}
	if (resp->status != 200 && resp->status != 201) {
		compai_unexpected(resp, body, out);
		goto out;
	}
	id = compai_string(body, "id");
	compai_who(t, it, &email, &uid);
	struct compai_member *m = compai_find(st, email, uid);
	switch (it->op) {
	case OP_UPDATE:
		outcome_set(out, OUTCOME_OK, "updated member %s", id ? id : it->remote_id);
		if (m && json_object_object_get_ex(compai_payload(it), "isActive", NULL))
			m->active = !compai_bool_is(compai_payload(it), "isActive", false);
		break;
	case OP_DISABLE:
		/* {"success":true,"deletedMember":{"id",...}} */
		id = classify_json_path_text(body, "deletedMember.id");
		outcome_set(out, OUTCOME_OK, "deactivated member %s", id ? id : it->remote_id);
		if (m) {
			m->active = false;
			m->deactivated = true;
		}
		break;
	default:
		outcome_set(out, OUTCOME_OK, "reactivated member %s", id ? id : it->remote_id);
		if (m) {
			m->active = true;
			m->deactivated = false;
		}
		break;
	}
	out->remote_id = xstrdup(id ? id : it->remote_id);
out:
	json_object_put(body);
	return STEP_DONE;
}

static enum step_result compai_step(struct target *t, struct push_item *it, const struct http_response *resp,
				    struct http_request *req, bool *creates, struct outcome *out)
{
	const struct compai_conf *c = t->conf->driver_conf;
	struct compai_state *st = t->drv;

	switch ((enum compai_stage)it->stage) {
	case CA_LIST:
		if (!resp && it->op != OP_ADD) {
			enum step_result r;
			if (compai_op_start(t, it, req, out, &r))
				return r;
		}
		if (resp) {
			st->listing_until = 0;
			if (compai_read_list(t, it, resp, out) < 0)
				return STEP_DONE;
		} else if (!compai_fresh(t->drv, c)) {
			if (compai_list_failing(t, it, out))
				return STEP_DONE;
			/* One listing serves everyone: the others wait for it. */
			if (time_now_mono_usec() < st->listing_until)
				return STEP_WAIT;
			st->listing_until = time_now_mono_usec() + 2000u * (uint64_t)t->conf->timeout_ms;
			compai_request(req, "GET", xstrdup(c->people_url));
			/* The server leaves deactivated members out unless
			 * asked; they could not be reactivated then. */
			if (c->list_deactivated)
				http_request_add_query(req, "includeDeactivated", "true");
			return STEP_SEND;
		}
		if (it->op != OP_ADD)
			return compai_op_decide(t, it, req, out);
		return compai_decide(t, it, req, creates, out);
	case CA_ADD:
		return STEP_BATCH;
	case CA_REACTIVATE:
		if (resp)
			return compai_reactivated(t, it, resp, req, creates, out);
		compai_build_reactivate(c, it, req);
		*creates = true;
		return STEP_SEND;
	case CA_INVITE:
		if (resp) {
			compai_invited(c, it, resp, out);
			return STEP_DONE;
		}
		compai_build_invite(c, it, req);
		*creates = true;
		return STEP_SEND;
	case CA_OP:
		if (resp)
			return compai_op_answer(t, it, resp, out);
		compai_build_op(t, it, req);
		return STEP_SEND;
	}
	outcome_set(out, OUTCOME_PERMANENT, "internal error: unknown stage %d", it->stage);
	return STEP_DONE;
}

/* ------------------------------------------------------------ adds */

/* One member goes to POST /v1/people, whose answers say exactly what
 * happened to it (and a batch split down to one member lands here);
 * more go to POST /v1/people/bulk. */
static void compai_build_batch(struct target *t, struct push_item **items, size_t n, struct http_request *req)
{
	const struct compai_conf *c = t->conf->driver_conf;
	if (n == 1) {
		compai_request(req, "POST", xstrdup(c->people_url));
		compai_set_json(req, compai_member_body(items[0]));
		return;
	}
	json_object *members = json_object_new_array_ext((int)n), *body = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(members, compai_member_body(items[i]));
	json_object_object_add(body, "members", members);
	compai_request(req, "POST", xstrdup(c->bulk_url));
	compai_set_json(req, body);
}

/* POST /v1/people: 201 with the member; 404 unknown user; 400 already a
 * member, or a validation error. */
static void compai_classify_single(const struct compai_conf *c, const struct http_response *resp,
				   struct outcome *out)
{
	json_object *body = classify_json_body(resp);
	long st = resp->status;

	if (compai_common(resp, body, out))
		goto out;
	if (st == 200 || st == 201) {
		const char *id = compai_string(body, "id");
		if (id) {
			outcome_set(out, OUTCOME_OK, "added as member %s", id);
			out->remote_id = xstrdup(id);
		} else {
			outcome_set(out, OUTCOME_OK, "added");
		}
		goto out;
	}
	char *msg = compai_message(body);
	if (st == 400 && msg && strcasestr(msg, c->duplicate_text))
		outcome_set(out, OUTCOME_DUPLICATE, "already at Comp AI: %s", msg);
	else
		compai_unexpected(resp, body, out);
	free(msg);
out:
	json_object_put(body);
}

/* The entry of errors[] about member i with user id uid: by index, else
 * by user id (an index that names another user does not count). */
static json_object *compai_bulk_error(json_object *errors, size_t i, const char *uid)
{
	size_t n = json_object_array_length(errors);
	for (size_t k = 0; k < n; k++) {
		json_object *e = json_object_array_get_idx(errors, k), *idx;
		const char *euid = compai_string(e, "userId");
		if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "index", &idx) &&
		    json_object_is_type(idx, json_type_int) && json_object_get_int64(idx) == (int64_t)i &&
		    (!euid || !uid || strcmp(euid, uid) == 0))
			return e;
	}
	for (size_t k = 0; uid && k < n; k++) {
		json_object *e = json_object_array_get_idx(errors, k);
		const char *euid = compai_string(e, "userId");
		if (euid && strcmp(euid, uid) == 0)
			return e;
	}
	return NULL;
}

static json_object *compai_bulk_created(json_object *created, const char *uid)
{
	size_t n = json_object_array_length(created);
	for (size_t k = 0; uid && k < n; k++) {
		json_object *m = json_object_array_get_idx(created, k), *user = NULL;
		const char *muid = compai_string(m, "userId");
		if (!muid && json_object_object_get_ex(m, "user", &user))
			muid = compai_string(user, "id");
		if (muid && strcmp(muid, uid) == 0)
			return m;
	}
	return NULL;
}

/* 201 {"created":[members],"errors":[{"index","userId","error"}],
 * "summary":{...}}: partial success, member by member. */
static void compai_bulk_members(const struct compai_conf *c, json_object *body, struct push_item **items, size_t n,
				struct outcome *outs)
{
	json_object *created = NULL, *errors = NULL;
	json_object *empty = json_object_new_array();

	if (!json_object_object_get_ex(body, "created", &created) || !json_object_is_type(created, json_type_array))
		created = empty;
	if (!json_object_object_get_ex(body, "errors", &errors) || !json_object_is_type(errors, json_type_array))
		errors = empty;
	for (size_t i = 0; i < n; i++) {
		const char *uid = classify_json_text(compai_payload(items[i]), "userId");
		json_object *e = compai_bulk_error(errors, i, uid), *m;
		if (e) {
			const char *err = compai_string(e, "error");
			char *why = compai_clean(err ? err : "refused without a reason");
			if (strcasestr(why, c->duplicate_text))
				outcome_set(&outs[i], OUTCOME_DUPLICATE, "already at Comp AI: %s", why);
			else
				outcome_set(&outs[i], OUTCOME_INVALID, "rejected by Comp AI: %s", why);
			free(why);
		} else if ((m = compai_bulk_created(created, uid))) {
			const char *id = compai_string(m, "id");
			outcome_set(&outs[i], OUTCOME_OK, "added in bulk as member %s", id ? id : "(no id given)");
			if (id)
				outs[i].remote_id = xstrdup(id);
		} else {
			outcome_set(&outs[i], OUTCOME_PERMANENT,
				    "Comp AI's bulk answer neither created nor refused this member (userId %s)",
				    uid ? uid : "none");
		}
	}
	json_object_put(empty);
}

static void compai_classify_batch(struct target *t, const struct http_response *resp, struct push_item **items,
				  size_t n, struct outcome *outs)
{
	const struct compai_conf *c = t->conf->driver_conf;
	json_object *body = NULL;
	long st = resp->status;

	if (n == 1) {
		compai_classify_single(c, resp, &outs[0]);
		return;
	}
	body = classify_json_body(resp);
	if (compai_common(resp, body, &outs[0])) {
		if (compai_no_route(resp, body)) {
			char *r = outs[0].reason;
			outs[0].reason = xasprintf("%s (set batch_size = 1 for a server without /bulk)", r);
			free(r);
		}
	} else if ((st == 200 || st == 201) && body) {
		compai_bulk_members(c, body, items, n, outs);
		goto out;
	} else if (st == 400 || st == 413 || st == 422) {
		/* The whole request was refused, most likely for one
		 * member's sake: halves show whose. */
		char *r = compai_reason(body, resp);
		outcome_set(&outs[0], OUTCOME_SPLIT, "the batch was refused: %s", r);
		free(r);
	} else {
		char *r = compai_reason(body, resp);
		outcome_set(&outs[0], OUTCOME_PERMANENT, "unexpected answer from Comp AI: %s", r);
		free(r);
	}
	for (size_t i = 1; i < n; i++) {
		outcome_set(&outs[i], outs[0].kind, "%s", outs[0].reason);
		outs[i].retry_after = outs[0].retry_after;
	}
out:
	json_object_put(body);
}

const struct target_driver driver_compai = {
	.name = "compai",
	.summary = "Comp AI people API, POST /v1/people and /v1/people/bulk",
	.fields = compai_fields,
	.n_fields = sizeof(compai_fields) / sizeof(compai_fields[0]),
	.default_key = "email",
	.keys = compai_keys,
	.auth = { .type = "header", .header = "X-API-Key", .scheme = "" },
	.auth_required = true,
	.default_rate_limit = 1.5,
	.max_batch = COMPAI_MAX_BATCH,
	/* No OP_DELETE: Comp AI only deactivates (see the top of this file). */
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) | OP_BIT(OP_LOOKUP),
	.configure = compai_configure,
	.free_config = compai_free_config,
	.open = compai_open,
	.close = compai_close,
	.step = compai_step,
	.build_batch = compai_build_batch,
	.classify_batch = compai_classify_batch,
};
