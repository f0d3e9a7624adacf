/* Devin Enterprise API v2: POST /v2/enterprise/organizations/{org_id}/members.
 * Facts (shared/targets/README.md): an enterprise admin's personal key as
 * "Authorization: Bearer apk_user_*"; the add takes Devin user ids, not
 * emails, many at once, and is atomic: one unknown user or organization
 * fails the whole call with a 422 {"detail":[{loc,msg,type}]}; re-adding a
 * member is idempotent (so duplicates cannot be told apart). Emails are
 * resolved with GET /v2/enterprise/members?email= (limit <= 200), and
 * unknown people may be invited (POST /v2/enterprise/members/invite).
 *
 * A member's journey: its user id from the payload, the identity cache or
 * a lookup (after an invitation, when enabled), then the batched add.
 *
 * Beyond adds: since re-adding is idempotent and the add takes org_role
 * and group_names, an update is the add again, for the one member, with
 * the role and groups of its new payload (a member's own org_role or
 * group_names also send its add alone: a batch carries one of each).
 * Removal is DELETE .../organizations/{org_id}/members/{user_id}; there is
 * no way to deactivate. A lookup pages through the organization's members
 * (GET .../organizations/{org_id}/members, skip/limit <= 200), though the
 * engine needs none: an interrupted add is simply sent again. */
#include "config.h"

#include "http/encode.h"
#include "mapping/checks.h"
#include "mapping/mapping.h"
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

#define DEVIN_MEMBERS_PATH "v2/enterprise/members"
#define DEVIN_INVITE_PATH "v2/enterprise/members/invite"
#define DEVIN_ORGS_PATH "v2/enterprise/organizations"
/* The API's maximum page size. */
#define DEVIN_LOOKUP_LIMIT 200
/* Pages read before giving up on one email: the filter should make one
 * enough, and a server that ignored it must not be paged through forever. */
#define DEVIN_LOOKUP_MAX_PAGES 50
/* An organization's members are read whole: 500 pages are 100000. */
#define DEVIN_MEMBERS_MAX_PAGES 500
#define DEVIN_MAX_BATCH 100
#define DEVIN_ID_MAX_CHARS 256
#define DEVIN_REASON_CHARS 300
#define DEVIN_INVITE_WAIT_DEFAULT 3600

/* it->stage: the phase in the low bits, the lookup page above them. */
#define DEVIN_PHASE_MASK 0xf
#define DEVIN_PAGE_SHIFT 4

enum devin_phase {
	DV_LOOKUP,	/* find the user id by email */
	DV_INVITE,	/* unknown: invite the email */
	DV_RELOOKUP,	/* invited: find the new user's id */
	DV_READY,	/* resolved: waiting for the batched add */
	DV_SENT,	/* the member's own request is out (add, update, removal) */
	DV_MEMBERS,	/* a lookup reads the organization's members */
};

/* What a 422 blames, besides users. */
#define DV_BLAME_ORG 0x1u	/* the organization */
#define DV_BLAME_SETTING 0x2u	/* org_role or group_names */

/* Opaque ids: printable, no spaces (they go into JSON and the state cache). */
static bool devin_id_ok(const char *s, size_t len)
{
	if (len == 0 || !utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static const char *const devin_roles[] = { "org_admin", "org_member", NULL };

static const struct field_schema devin_fields[] = {
	/* 254: the longest address SMTP can carry (RFC 5321). */
	{ .name = "email", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 3, .max_chars = 254,
	  .check = check_email, .check_desc = "an email address" },
	{ .name = "user_id", .type = FT_STRING, .min_chars = 1, .max_chars = DEVIN_ID_MAX_CHARS,
	  .check = devin_id_ok, .check_desc = "a Devin user id: no spaces or control characters" },
	/* Per member, over the target's org_role and group_names. */
	{ .name = "org_role", .type = FT_STRING, .enum_values = devin_roles },
	{ .name = "group_names", .type = FT_STRING_LIST, .min_chars = 1 },
};

static const struct cfg_key devin_keys[] = {
	{ "org_id", CFG_T_STRING, CFG_REQUIRED },
	{ "org_role", CFG_T_STRING, 0 },
	{ "group_names", CFG_T_STRINGS, 0 },
	{ "invite", CFG_T_BOOL, 0 },
	{ "invite_wait", CFG_T_INT, 0 },
	{ NULL, 0, 0 },
};

struct devin_conf {
	char *org_id;
	char *org_role;		/* NULL: the API's default */
	char **group_names;	/* NULL-terminated, or NULL */
	bool invite;
	long invite_wait;	/* seconds before an invited-but-unlisted member is tried again */
	char *lookup_url;
	char *invite_url;
	char *add_url;
};

static void devin_free_config(void *conf)
{
	struct devin_conf *c = conf;
	if (!c)
		return;
	free(c->org_id);
	free(c->org_role);
	strv_free(c->group_names);
	free(c->lookup_url);
	free(c->invite_url);
	free(c->add_url);
	free(c);
}

static void *devin_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			     const char *config_dir)
{
	struct devin_conf *c = XNEW(struct devin_conf);
	const char *base = cfg_string(target, "url", "");
	bool ok = true;

	const char *org = cfg_string(target, "org_id", NULL);
	/* Absent or mistyped is reported by the key check already. */
	if (!org) {
		ok = false;
	} else if (!devin_id_ok(org, strlen(org))) {
		cfg_error(cc, config_setting_get_member(target, "org_id"),
			  "%s: org_id must be a non-empty id without spaces or control characters", where);
		ok = false;
	}
	c->org_id = xstrdup(org ? org : "");

	const char *role = cfg_string(target, "org_role", NULL);
	if (role && strcmp(role, "org_admin") != 0 && strcmp(role, "org_member") != 0) {
		cfg_error(cc, config_setting_get_member(target, "org_role"),
			  "%s: org_role must be org_admin or org_member, not '%s'", where, role);
		ok = false;
	}
	c->org_role = role ? xstrdup(role) : NULL;

	size_t n_groups;
	c->group_names = cfg_strings(target, "group_names", &n_groups);
	for (size_t i = 0; i < n_groups; i++)
		if (!*c->group_names[i] || !utf8_valid(c->group_names[i], strlen(c->group_names[i]))) {
			cfg_error(cc, config_setting_get_member(target, "group_names"),
				  "%s: group_names: names must be non-empty UTF-8 text", where);
			ok = false;
			break;
		}
	if (c->group_names && n_groups == 0) {
		cfg_error(cc, config_setting_get_member(target, "group_names"),
			  "%s: group_names is empty; leave it out instead", where);
		ok = false;
	}

	c->invite = cfg_bool(target, "invite", false);
	c->invite_wait = (long)cfg_int_range(cc, target, where, "invite_wait", DEVIN_INVITE_WAIT_DEFAULT, 0,
					     7 * 86400);

	char *org_enc = encode_url_component(c->org_id, strlen(c->org_id));
	char *path = xasprintf("%s/%s/members", DEVIN_ORGS_PATH, org_enc);
	c->add_url = http_url_join(base, path);
	c->lookup_url = http_url_join(base, DEVIN_MEMBERS_PATH);
	c->invite_url = http_url_join(base, DEVIN_INVITE_PATH);
	free(path);
	free(org_enc);
	if (!ok) {
		devin_free_config(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------------ helpers */

/* Text from the API made safe for logs and the state database: control
 * characters and invalid UTF-8 escaped, cut to a readable length. */
static char *devin_safe(const char *s)
{
	return http_text_excerpt(s, DEVIN_REASON_CHARS);
}

static char *devin_json_text(json_object *obj)
{
	return xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The cache key: emails are matched without regard to case. */
static char *devin_cache_key(const char *email)
{
	char *k = xstrdup(email);
	for (char *p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void devin_set_id(struct push_item *it, const char *id)
{
	free(it->resolved_id);
	free(it->remote_id);
	it->resolved_id = xstrdup(id);
	it->remote_id = xstrdup(id);
}

/* Whether the target's member key is this field. */
static bool devin_key_is(const struct target *t, const char *field)
{
	const char *kf = mapping_key_field(t->conf->mapping);
	return kf && strcmp(kf, field) == 0;
}

/* The member's email: the payload's or, for an entry gone from the
 * directory (no payload), its member key when the key is the email. */
static const char *devin_email(const struct target *t, const struct push_item *it)
{
	if (it->payload || it->payload_text || it->op == OP_ADD)
		return classify_json_text(it->payload, "email");
	return it->key && devin_key_is(t, "email") ? it->key : NULL;
}

static void devin_forget_id(struct target *t, struct push_item *it)
{
	const char *email = devin_email(t, it);
	const char *given = classify_json_text(it->payload, "user_id");
	/* An id the directory supplied was never cached. */
	if (email && !(given && *given)) {
		char *k = devin_cache_key(email);
		target_identity_forget(t, k);
		free(k);
	}
	free(it->resolved_id);
	free(it->remote_id);
	it->resolved_id = it->remote_id = NULL;
}

/* The id this member already has: mapped by the directory, stored by the
 * state cache (not for adds), or cached by an earlier lookup. A removal
 * takes the stored id first: it names the user that was added. */
static bool devin_known_id(struct target *t, struct push_item *it, const char *email)
{
	const char *given = classify_json_text(it->payload, "user_id");
	const char *stored = it->op != OP_ADD && it->remote_id && *it->remote_id ? it->remote_id : NULL;
	char *id = NULL;

	if (stored && it->op == OP_DELETE)
		/* NOLINTNEXTLINE(bugprone-branch-clone): same value, different precedence than the third branch */
		id = xstrdup(stored);
	else if (given && *given)
		id = xstrdup(given);
	else if (stored)
		id = xstrdup(stored);
	else if (!it->payload && !it->payload_text && it->op != OP_ADD && it->key &&
		 devin_key_is(t, "user_id"))
		id = xstrdup(it->key);
	if (!id && email) {
		char *k = devin_cache_key(email);
		if (target_identity_get(t, k, &id) < 0)
			id = NULL;
		free(k);
	}
	if (!id)
		return false;
	devin_set_id(it, id);
	free(id);
	return true;
}

/* The role and groups a member is added with: its payload's, else the
 * target's. The groups are the payload's array (borrowed) or NULL. */
static const char *devin_role(const struct devin_conf *c, json_object *payload)
{
	const char *r = classify_json_text(payload, "org_role");
	return r && *r ? r : c->org_role;
}

static json_object *devin_own_groups(json_object *payload)
{
	json_object *g;
	if (!json_object_is_type(payload, json_type_object) ||
	    !json_object_object_get_ex(payload, "group_names", &g) ||
	    !json_object_is_type(g, json_type_array))
		return NULL;
	return g;
}

/* Whether the member's role or groups differ from the target's: then its
 * add cannot go in a batch, which carries one role and one set of groups. */
static bool devin_own_settings(const struct devin_conf *c, json_object *payload)
{
	const char *role = devin_role(c, payload);
	json_object *groups = devin_own_groups(payload);

	if ((role == NULL) != (c->org_role == NULL) || (role && strcmp(role, c->org_role) != 0))
		return true;
	if (!groups)
		return false;
	size_t n = json_object_array_length(groups), i = 0;
	for (; i < n && c->group_names && c->group_names[i]; i++) {
		const char *g = json_object_get_string(json_object_array_get_idx(groups, i));
		if (!g || strcmp(g, c->group_names[i]) != 0)
			return true;
	}
	return i != n || (c->group_names && c->group_names[i]);
}

/* The API's words in a 422 (FastAPI's {"detail":[{loc,msg,type}]}, or a
 * plain {"detail":"..."}), else the status and body. Caller frees.
 * *blame gets DV_BLAME_ORG when an entry blames the organization,
 * DV_BLAME_SETTING when it blames org_role or group_names. */
static char *devin_detail(const struct http_response *resp, unsigned *blame)
{
	json_object *body = classify_json_body(resp), *detail = NULL;
	struct sbuf sb;
	char *r;

	sbuf_init(&sb);
	if (blame)
		*blame = 0;
	if (body)
		json_object_object_get_ex(body, "detail", &detail);
	if (detail && json_object_is_type(detail, json_type_array)) {
		size_t n = json_object_array_length(detail);
		for (size_t i = 0; i < n && sb.len < DEVIN_REASON_CHARS; i++) {
			json_object *e = json_object_array_get_idx(detail, i), *loc;
			const char *msg = classify_json_text(e, "msg");
			if (msg)
				sbuf_addf(&sb, "%s%s", sb.len ? "; " : "", msg);
			if (!blame || !e || !json_object_object_get_ex(e, "loc", &loc) ||
			    !json_object_is_type(loc, json_type_array))
				continue;
			for (size_t k = 0; k < json_object_array_length(loc); k++) {
				json_object *part = json_object_array_get_idx(loc, k);
				const char *p = json_object_is_type(part, json_type_string) ? json_object_get_string(part)
											     : "";
				if (!strcmp(p, "org_ids") || !strcmp(p, "org_id"))
					*blame |= DV_BLAME_ORG;
				else if (!strcmp(p, "org_role") || !strcmp(p, "group_names"))
					*blame |= DV_BLAME_SETTING;
			}
		}
	} else if (detail && json_object_is_type(detail, json_type_string)) {
		sbuf_addstr(&sb, json_object_get_string(detail));
	}
	if (sb.len) {
		r = devin_safe(sb.buf);
	} else {
		r = classify_status_reason(resp);
	}
	sbuf_release(&sb);
	json_object_put(body);
	return r;
}

/* ------------------------------------------------------------ requests */

static void devin_build_lookup(const struct devin_conf *c, const char *email, unsigned page,
			       struct http_request *req)
{
	char skip[32], limit[16];
	snprintf(skip, sizeof(skip), "%u", page * DEVIN_LOOKUP_LIMIT);
	snprintf(limit, sizeof(limit), "%d", DEVIN_LOOKUP_LIMIT);
	req->method = "GET";
	free(req->url);
	req->url = xstrdup(c->lookup_url);
	http_request_add_query(req, "email", email);
	http_request_add_query(req, "skip", skip);
	http_request_add_query(req, "limit", limit);
	http_request_add_header(req, "Accept: application/json");
}

/* Turns req into a POST of body (consumed) to url. */
static void devin_post_json(struct http_request *req, const char *url, json_object *body)
{
	char *text = devin_json_text(body);
	json_object_put(body);
	req->method = "POST";
	free(req->url);
	req->url = xstrdup(url);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, text, strlen(text));
}

/* One email per invitation, though the API takes 100: invitations are
 * rare (only people Devin does not know yet), and alone a bad address
 * cannot sink other people's invitations. */
static void devin_build_invite(const struct devin_conf *c, const char *email, struct http_request *req)
{
	json_object *body = json_object_new_object(), *emails = json_object_new_array();
	json_object_array_add(emails, json_object_new_string(email));
	json_object_object_add(body, "emails", emails);
	devin_post_json(req, c->invite_url, body);
}

/* The add of n members with role (NULL: the API's default) and groups
 * (a JSON array, or NULL for the target's). */
static void devin_build_add(const struct devin_conf *c, struct push_item **items, size_t n, const char *role,
			    json_object *own_groups, struct http_request *req)
{
	json_object *body = json_object_new_object(), *ids = json_object_new_array(), *orgs = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(ids, json_object_new_string(items[i]->resolved_id ? items[i]->resolved_id : ""));
	json_object_object_add(body, "user_ids", ids);
	json_object_array_add(orgs, json_object_new_string(c->org_id));
	json_object_object_add(body, "org_ids", orgs);
	if (role)
		json_object_object_add(body, "org_role", json_object_new_string(role));
	if (own_groups) {
		json_object_object_add(body, "group_names", json_object_get(own_groups));
	} else if (c->group_names) {
		json_object *groups = json_object_new_array();
		for (char **g = c->group_names; *g; g++)
			json_object_array_add(groups, json_object_new_string(*g));
		json_object_object_add(body, "group_names", groups);
	}
	devin_post_json(req, c->add_url, body);
}

static void devin_build_batch(struct target *t, struct push_item **items, size_t n, struct http_request *req)
{
	const struct devin_conf *c = t->conf->driver_conf;
	devin_build_add(c, items, n, c->org_role, NULL, req);
}

static void devin_build_remove(const struct devin_conf *c, const char *user_id, struct http_request *req)
{
	char *id = encode_url_component(user_id, strlen(user_id));
	req->method = "DELETE";
	free(req->url);
	req->url = xasprintf("%s/%s", c->add_url, id);
	http_request_add_header(req, "Accept: application/json");
	free(id);
}

static void devin_build_members(const struct devin_conf *c, unsigned page, struct http_request *req)
{
	char skip[32], limit[16];
	snprintf(skip, sizeof(skip), "%u", page * DEVIN_LOOKUP_LIMIT);
	snprintf(limit, sizeof(limit), "%d", DEVIN_LOOKUP_LIMIT);
	req->method = "GET";
	free(req->url);
	req->url = xstrdup(c->add_url);
	http_request_add_query(req, "skip", skip);
	http_request_add_query(req, "limit", limit);
	http_request_add_header(req, "Accept: application/json");
}

/* With the member's user id known: its add (batched, or alone with its
 * own role and groups), its update or its removal. */
static enum step_result devin_act(struct target *t, struct push_item *it, struct http_request *req,
				  bool *creates, struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	struct push_item *one[] = { it };

	switch (it->op) {
	case OP_ADD:
		if (!devin_own_settings(c, it->payload)) {
			it->stage = DV_READY;
			return STEP_BATCH;
		}
		/* fall through */
	case OP_UPDATE:
		/* Re-adding sets the role and groups of an existing member, and
		 * adds one that is gone: it may create. */
		it->stage = DV_SENT;
		devin_build_add(c, one, 1, devin_role(c, it->payload), devin_own_groups(it->payload), req);
		*creates = true;
		return STEP_SEND;
	case OP_DELETE:
		it->stage = DV_SENT;
		devin_build_remove(c, it->resolved_id, req);
		return STEP_SEND;
	default:
		break;
	}
	outcome_set(out, OUTCOME_PERMANENT, "internal error: devin cannot %s", push_op_name(it->op));
	return STEP_DONE;
}

/* ------------------------------------------------------------ answers */

enum devin_found {
	DV_FOUND,
	DV_NOT_FOUND,
	DV_NEXT_PAGE,	/* a full page without the email: read on */
	DV_UNREADABLE,
};

/* Looks for the user whose email is exactly `email` (any case) in a
 * {"items":[{"user_id":..,"email":..}, ...]} page; *id is set when found. */
static enum devin_found devin_find(const struct http_response *resp, const char *email, char **id)
{
	json_object *body = classify_json_body(resp), *items;
	enum devin_found r = DV_UNREADABLE;

	*id = NULL;
	if (!body || !json_object_object_get_ex(body, "items", &items) || !json_object_is_type(items, json_type_array))
		goto out;
	size_t n = json_object_array_length(items);
	r = n >= DEVIN_LOOKUP_LIMIT ? DV_NEXT_PAGE : DV_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(items, i);
		const char *e = classify_json_text(u, "email");
		if (!e || strcasecmp(e, email) != 0)
			continue;
		const char *uid = classify_json_text(u, "user_id");
		/* The one match with an unusable id: nothing to add with. */
		if (!uid || !devin_id_ok(uid, strlen(uid)) || utf8_length(uid, strlen(uid)) > DEVIN_ID_MAX_CHARS) {
			r = DV_UNREADABLE;
			goto out;
		}
		*id = xstrdup(uid);
		r = DV_FOUND;
		goto out;
	}
out:
	json_object_put(body);
	return r;
}

static enum step_result devin_resolved(struct target *t, struct push_item *it, const char *email,
				       const char *id, struct http_request *req, bool *creates,
				       struct outcome *out)
{
	char *k = devin_cache_key(email);
	target_identity_put(t, k, id);
	free(k);
	devin_set_id(it, id);
	return devin_act(t, it, req, creates, out);
}

static enum step_result devin_lookup_answer(struct target *t, struct push_item *it, const char *email,
					    const struct http_response *resp, struct http_request *req,
					    bool *creates, struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	enum devin_phase phase = (enum devin_phase)(it->stage & DEVIN_PHASE_MASK);
	unsigned page = (unsigned)it->stage >> DEVIN_PAGE_SHIFT;
	long st = resp->status;
	char *id = NULL, *r;

	if (classify_common(resp, out))
		return STEP_DONE;
	if (st == 422) {
		/* The server refused the query itself, i.e. this email. */
		r = devin_detail(resp, NULL);
		outcome_set(out, OUTCOME_INVALID, "Devin refused the lookup of %s: %s", email, r);
		free(r);
		return STEP_DONE;
	}
	if (st < 200 || st >= 300) {
		r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer to the lookup of %s: %s", email, r);
		free(r);
		return STEP_DONE;
	}
	enum devin_found f = devin_find(resp, email, &id);
	if (f == DV_FOUND) {
		enum step_result sr = devin_resolved(t, it, email, id, req, creates, out);
		free(id);
		return sr;
	}
	if (f == DV_UNREADABLE) {
		r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer to the lookup of %s (no items, or no usable "
			    "user_id): %s", email, r);
		free(r);
		return STEP_DONE;
	}
	if (f == DV_NEXT_PAGE && page + 1 < DEVIN_LOOKUP_MAX_PAGES) {
		it->stage = (int)(phase | (page + 1) << DEVIN_PAGE_SHIFT);
		devin_build_lookup(c, email, page + 1, req);
		return STEP_SEND;
	}
	if (it->op != OP_ADD) {
		/* No such user, so no such member: nothing to update or remove. */
		outcome_set(out, OUTCOME_ABSENT, "no Devin user with email %s", email);
		return STEP_DONE;
	}
	if (phase == DV_RELOOKUP) {
		/* Invited users may take a while to be listed; the in-cycle
		 * retries look again, later cycles wait invite_wait. */
		it->stage = DV_RELOOKUP;
		outcome_set(out, OUTCOME_TRANSIENT, "invited %s, but Devin does not list the user yet", email);
		out->retry_after = c->invite_wait;
		return STEP_DONE;
	}
	if (!c->invite) {
		outcome_set(out, OUTCOME_INVALID, "no Devin user with email %s (set invite = true to invite)", email);
		return STEP_DONE;
	}
	it->stage = DV_INVITE;
	devin_build_invite(c, email, req);
	return STEP_SEND;
}

static enum step_result devin_invite_answer(struct target *t, struct push_item *it, const char *email,
					    const struct http_response *resp, struct http_request *req,
					    struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	long st = resp->status;
	char *r;

	if (classify_common(resp, out))
		return STEP_DONE;
	/* 409 would say "invited already": the lookup finds out either way. */
	if ((st >= 200 && st < 300) || st == 409) {
		it->stage = DV_RELOOKUP;
		devin_build_lookup(c, email, 0, req);
		return STEP_SEND;
	}
	if (st >= 400 && st < 500 && st != 404) {
		r = devin_detail(resp, NULL);
		outcome_set(out, OUTCOME_INVALID, "Devin refused to invite %s: %s", email, r);
		free(r);
		return STEP_DONE;
	}
	r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer to the invitation of %s: %s", email, r);
	free(r);
	return STEP_DONE;
}

static void devin_classify_batch(struct target *t, const struct http_response *resp, struct push_item **items,
				 size_t n, struct outcome *outs)
{
	const struct devin_conf *c = t->conf->driver_conf;
	json_object *body = NULL;
	long st = resp->status;
	char *r = NULL;

	if (n == 0)
		return;
	if (classify_common(resp, &outs[0])) {
		for (size_t i = 1; i < n; i++) {
			outcome_set(&outs[i], outs[0].kind, "%s", outs[0].reason);
			outs[i].retry_after = outs[0].retry_after;
		}
		return;
	}
	/* A web page with a 2xx is a proxy's or a login portal's, not
	 * Devin's: taking it for "added" would lose every member of the
	 * batch. Adds are idempotent, so a retry is harmless. */
	if (st >= 200 && st < 300 && resp->content_type &&
	    strncasecmp(resp->content_type, "text/html", strlen("text/html")) == 0) {
		for (size_t i = 0; i < n; i++)
			/* Not the header itself: its bytes are the proxy's, not
			 * text we checked (fuzz_drivers.c: invalid UTF-8). */
			outcome_set(&outs[i], OUTCOME_TRANSIENT,
				    "HTTP %ld with an HTML page (text/html), not an answer from Devin", st);
		return;
	}
	if (st >= 200 && st < 300) {
		body = classify_json_body(resp);
		const char *status = classify_json_text(body, "status");
		if (status && strcmp(status, "success") != 0) {
			r = classify_status_reason(resp);
			for (size_t i = 0; i < n; i++)
				outcome_set(&outs[i], OUTCOME_PERMANENT, "unexpected answer from Devin: %s", r);
			goto out;
		}
		/* Re-adding a member is idempotent and answered alike, so an
		 * existing member reads as added too. */
		for (size_t i = 0; i < n; i++) {
			outcome_set(&outs[i], OUTCOME_OK, "added to organization %s", c->org_id);
			if (items[i]->resolved_id)
				outs[i].remote_id = xstrdup(items[i]->resolved_id);
		}
		goto out;
	}
	if (st == 422) {
		unsigned blame;
		r = devin_detail(resp, &blame);
		if (blame) {
			/* Every member would fail alike: splitting cannot help,
			 * and marking them invalid would outlive a config fix. */
			for (size_t i = 0; i < n; i++)
				outcome_set(&outs[i], OUTCOME_PERMANENT, "Devin refused the request for organization "
					    "%s: %s", c->org_id, r);
			goto out;
		}
		if (n > 1) {
			for (size_t i = 0; i < n; i++)
				outcome_set(&outs[i], OUTCOME_SPLIT, "Devin refused a batch of %zu: %s", n, r);
			goto out;
		}
		outcome_set(&outs[0], OUTCOME_INVALID, "Devin refused user %s: %s",
			    items[0]->resolved_id ? items[0]->resolved_id : "(none)", r);
		/* The cached id may be stale (the user was deleted): look it
		 * up afresh when the member is tried again. */
		devin_forget_id(t, items[0]);
		goto out;
	}
	r = classify_status_reason(resp);
	for (size_t i = 0; i < n; i++)
		outcome_set(&outs[i], OUTCOME_PERMANENT, "unexpected answer from Devin: %s", r);
out:
	free(r);
	json_object_put(body);
}

/* ------------------------------------------------------------ other ops */

/* The answer to a member's own add or update: a batch of one. */
static enum step_result devin_sent_add(struct target *t, struct push_item *it,
				       const struct http_response *resp, struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	struct push_item *one[] = { it };
	unsigned blame = 0;
	char *r;

	/* The member's own role or groups refused: its payload's fault. */
	if (resp->status == 422 && devin_own_settings(c, it->payload)) {
		r = devin_detail(resp, &blame);
		if (blame == DV_BLAME_SETTING) {
			outcome_set(out, OUTCOME_INVALID,
				    "Devin refused the org_role or group_names of user %s: %s",
				    it->resolved_id, r);
			free(r);
			return STEP_DONE;
		}
		free(r);
	}
	devin_classify_batch(t, resp, one, 1, out);
	if (it->op != OP_UPDATE)
		return STEP_DONE;
	if (out->kind == OUTCOME_OK) {
		const char *role = devin_role(c, it->payload);
		outcome_set(out, OUTCOME_OK, "added again to organization %s%s%s", c->org_id,
			    role ? " as " : "", role ? role : "");
	} else if (out->kind == OUTCOME_INVALID) {
		/* Devin does not know the user (any more): the member is not
		 * there, and the add finds out who the person is now. */
		out->kind = OUTCOME_ABSENT;
	}
	return STEP_DONE;
}

/* DELETE .../members/{user_id}: 200 {"status":"success"}; 404 not a
 * member; 422 for an unknown user or organization (*guess*, like the add:
 * Devin documents only 200 and 422). */
static enum step_result devin_removed(struct target *t, struct push_item *it,
				      const struct http_response *resp, struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	long st = resp->status;
	unsigned blame;
	char *r;

	if (classify_common(resp, out))
		return STEP_DONE;
	if (st >= 200 && st < 300) {
		outcome_set(out, OUTCOME_OK, "removed user %s from organization %s", it->resolved_id,
			    c->org_id);
		return STEP_DONE;
	}
	if (st == 404) {
		r = devin_detail(resp, NULL);
		outcome_set(out, OUTCOME_ABSENT, "user %s is not a member of organization %s: %s",
			    it->resolved_id, c->org_id, r);
		free(r);
		return STEP_DONE;
	}
	if (st == 422) {
		r = devin_detail(resp, &blame);
		if (blame & DV_BLAME_ORG) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "Devin refused the request for organization %s: %s", c->org_id, r);
		} else {
			outcome_set(out, OUTCOME_ABSENT, "Devin does not know user %s: %s", it->resolved_id,
				    r);
			devin_forget_id(t, it);
		}
		free(r);
		return STEP_DONE;
	}
	r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer to the removal of user %s: %s",
		    it->resolved_id, r);
	free(r);
	return STEP_DONE;
}

/* Whether id is one this member is known by: mapped, stored or cached. */
static bool devin_is_member_id(struct target *t, struct push_item *it, const char *email, const char *id)
{
	const char *given = classify_json_text(it->payload, "user_id");
	char *cached = NULL, *k;
	bool same;

	if ((given && strcmp(given, id) == 0) || (it->remote_id && strcmp(it->remote_id, id) == 0))
		return true;
	if (!email)
		return false;
	k = devin_cache_key(email);
	same = target_identity_get(t, k, &cached) == 0 && strcmp(cached, id) == 0;
	free(cached);
	free(k);
	return same;
}

/* A page of GET .../organizations/{org_id}/members: {"items":[{user_id,
 * email, org_role, ...}], "has_more", "total", "skip", "limit"}. */
static enum step_result devin_members_answer(struct target *t, struct push_item *it, unsigned page,
					     const struct http_response *resp, struct http_request *req,
					     struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	const char *email = devin_email(t, it);
	json_object *body = NULL, *items, *more;
	enum step_result sr = STEP_DONE;
	long st = resp->status;
	char *r;

	if (classify_common(resp, out))
		goto out;
	if (st == 422) {
		r = devin_detail(resp, NULL);
		outcome_set(out, OUTCOME_PERMANENT, "Devin refused the member list of organization %s: %s",
			    c->org_id, r);
		free(r);
		goto out;
	}
	body = classify_json_body(resp);
	if (st < 200 || st >= 300 || !body || !json_object_object_get_ex(body, "items", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		r = classify_status_reason(resp);
		outcome_set(out, OUTCOME_PERMANENT,
			    "unexpected answer to the member list of organization %s: %s", c->org_id, r);
		free(r);
		goto out;
	}
	size_t n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(items, i);
		const char *uid = classify_json_text(u, "user_id"), *e = classify_json_text(u, "email");
		if (!uid ||
		    !((email && e && strcasecmp(e, email) == 0) || devin_is_member_id(t, it, email, uid)))
			continue;
		if (!devin_id_ok(uid, strlen(uid)) || utf8_length(uid, strlen(uid)) > DEVIN_ID_MAX_CHARS) {
			r = classify_status_reason(resp);
			outcome_set(out, OUTCOME_PERMANENT,
				    "unusable user_id in the member list of organization %s: %s", c->org_id,
				    r);
			free(r);
			goto out;
		}
		outcome_set(out, OUTCOME_OK, "a member of organization %s (user %s)", c->org_id, uid);
		out->remote_id = xstrdup(uid);
		goto out;
	}
	/* has_more says whether to read on; without it, a full page does. */
	bool next = n >= DEVIN_LOOKUP_LIMIT;
	if (json_object_object_get_ex(body, "has_more", &more) && json_object_is_type(more, json_type_boolean))
		next = json_object_get_boolean(more);
	if (!next || n == 0) {
		outcome_set(out, OUTCOME_ABSENT, "not a member of organization %s", c->org_id);
		goto out;
	}
	if (page + 1 >= DEVIN_MEMBERS_MAX_PAGES) {
		outcome_set(out, OUTCOME_PERMANENT,
			    "organization %s has more than %d members: not searched further", c->org_id,
			    DEVIN_MEMBERS_MAX_PAGES * DEVIN_LOOKUP_LIMIT);
		goto out;
	}
	it->stage = (int)(DV_MEMBERS | (page + 1) << DEVIN_PAGE_SHIFT);
	devin_build_members(c, page + 1, req);
	sr = STEP_SEND;
out:
	json_object_put(body);
	return sr;
}

/* Is the person a member of the organization? Read from its member list,
 * by user id or email; never adds. */
static enum step_result devin_step_lookup(struct target *t, struct push_item *it,
					  const struct http_response *resp, struct http_request *req,
					  struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	unsigned page = (unsigned)it->stage >> DEVIN_PAGE_SHIFT;

	if (resp)
		return devin_members_answer(t, it, page, resp, req, out);
	it->stage = (int)(DV_MEMBERS | page << DEVIN_PAGE_SHIFT);
	devin_build_members(c, page, req);
	return STEP_SEND;
}

static enum step_result devin_step(struct target *t, struct push_item *it, const struct http_response *resp,
				   struct http_request *req, bool *creates, struct outcome *out)
{
	const struct devin_conf *c = t->conf->driver_conf;
	const char *email = devin_email(t, it);
	enum devin_phase phase = (enum devin_phase)(it->stage & DEVIN_PHASE_MASK);
	unsigned page = (unsigned)it->stage >> DEVIN_PAGE_SHIFT;

	*creates = false;
	if (it->op == OP_LOOKUP)
		return devin_step_lookup(t, it, resp, req, out);
	if (it->op != OP_ADD && it->op != OP_UPDATE && it->op != OP_DELETE) {
		outcome_set(out, OUTCOME_PERMANENT, "Devin cannot %s a member", push_op_name(it->op));
		return STEP_DONE;
	}
	if ((!email || !*email) && it->op != OP_DELETE) {
		outcome_set(out, OUTCOME_INVALID, "the payload has no email");
		return STEP_DONE;
	}
	switch (phase) {
	case DV_LOOKUP:
	case DV_RELOOKUP:
		if (resp)
			return devin_lookup_answer(t, it, email, resp, req, creates, out);
		if (phase == DV_LOOKUP && page == 0 && devin_known_id(t, it, email))
			return devin_act(t, it, req, creates, out);
		if (!email || !*email) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "no user id stored and no email known: cannot find the member");
			return STEP_DONE;
		}
		devin_build_lookup(c, email, page, req);
		return STEP_SEND;
	case DV_INVITE:
		if (resp)
			return devin_invite_answer(t, it, email, resp, req, out);
		/* Not a creating request: the member is only added by the
		 * batch, and a repeated invitation after a crash is harmless. */
		devin_build_invite(c, email, req);
		return STEP_SEND;
	case DV_SENT:
		if (resp)
			return it->op == OP_DELETE ? devin_removed(t, it, resp, out)
						   : devin_sent_add(t, it, resp, out);
		/* A retry sends it again. */
		/* fall through */
	case DV_READY:
		if (it->resolved_id)
			return devin_act(t, it, req, creates, out);
		break;
	case DV_MEMBERS:
		break;
	}
	/* A stage we never set: start over rather than guess. */
	it->stage = DV_LOOKUP;
	if (!email || !*email) {
		outcome_set(out, OUTCOME_PERMANENT,
			    "no user id stored and no email known: cannot find the member");
		return STEP_DONE;
	}
	devin_build_lookup(c, email, 0, req);
	return STEP_SEND;
}

const struct target_driver driver_devin = {
	.name = "devin",
	.summary = "Devin Enterprise API v2, POST /v2/enterprise/organizations/{org_id}/members (batched)",
	.fields = devin_fields,
	.n_fields = sizeof(devin_fields) / sizeof(devin_fields[0]),
	.default_key = "email",
	.keys = devin_keys,
	.auth = { .type = "bearer" },
	.auth_required = true,
	.max_batch = DEVIN_MAX_BATCH,
	.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP),
	/* Re-adding an existing member is a no-op. */
	.idempotent_add = true,
	.configure = devin_configure,
	.free_config = devin_free_config,
	.step = devin_step,
	.build_batch = devin_build_batch,
	.classify_batch = devin_classify_batch,
};
