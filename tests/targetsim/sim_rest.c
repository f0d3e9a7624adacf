/*
 * A deliberately plain REST member API (/rest/members): the baseline a
 * generic driver is tested against before the vendor quirks. JSON only;
 * every request needs "Authorization: Bearer <token>" (else 401). The key
 * field (--rest-key-field, default "email") identifies a member; ids are
 * "m-<n>", never reused.
 *
 *   GET    /rest/members[?<key field>=v]  {"members":[member...]}; with
 *          the parameter, only the member with that key (or none): the
 *          lookup.
 *   POST   /rest/members         create: 201 and the member (with "id");
 *          409 {"error":"already exists","id":...} when the key is taken;
 *          422 without the key field.
 *   GET    /rest/members/{id}    200 and the member.
 *   PUT    /rest/members/{id}    replace: the body becomes the member
 *          (its "id" kept); 200 and the member.
 *   PATCH  /rest/members/{id}    merge (RFC 7396, top level): members of
 *          the body replace the stored ones, null removes one; 200 and
 *          the member. {"active":false} is how a test disables.
 *   DELETE /rest/members/{id}    204.
 * Unknown ids are 404 {"error":"not found"}; PUT and PATCH refuse to
 * drop the key field (422) or take another member's key (409).
 *
 * The dump: {"members":[member...] (deleted ones gone), "by_key": {key:
 * {"creates", "rejected_creates", "updates", "deletes"}}}: 201s, 409s to
 * a POST, PUT or PATCH answered 200, DELETEs answered 204, per key (the
 * key a member had then; kept after a delete).
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/rest/members"
#define ROUTE_LIST PREFIX
#define ROUTE_ITEM PREFIX "/{id}"

struct rest_member {
	char *id;
	json_object *obj;	/* what GET returns, "id" included; NULL once deleted */
};

/* What happened to a key, kept when its member is deleted. */
struct rest_key_stats {
	char *key;
	unsigned long long creates;
	unsigned long long rejected_creates;
	unsigned long long updates;
	unsigned long long deletes;
};

struct rest_state {
	struct rest_member *members;	/* members[n - 1] has id "m-<n>" */
	size_t len;
	size_t cap;
	/* key field value -> 1-based index (members[] moves when it grows) */
	struct sim_map by_key;
	struct rest_key_stats *stats;	/* in order of first sight */
	size_t n_stats;
	size_t cap_stats;
	struct sim_map stats_by_key;	/* key -> 1-based index into stats */
};

static int method_not_allowed(struct sim_reply *reply, const char *allow)
{
	sim_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, allow);
	return 0;
}

static bool authorized(const struct sim *sim, const struct sim_request *req)
{
	const char *auth = sim_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	static const char scheme[] = "Bearer ";

	return auth && strncmp(auth, scheme, sizeof(scheme) - 1) == 0 &&
	       strcmp(auth + sizeof(scheme) - 1, sim->cfg.rest_token) == 0;
}

static struct rest_member *member_by_id(const struct rest_state *st, const char *id)
{
	unsigned long long n = 0;
	const char *p;

	/* Only the canonical spelling: "m-01" is not "m-1". */
	if (strncmp(id, "m-", 2) != 0 || id[2] < '1' || id[2] > '9')
		return NULL;
	for (p = id + 2; *p; p++) {
		if (*p < '0' || *p > '9' || n > st->len)
			return NULL;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (n == 0 || n > st->len || !st->members[n - 1].obj)
		return NULL;
	return &st->members[n - 1];
}

static struct rest_key_stats *key_stats(struct rest_state *st, const char *key)
{
	uintptr_t idx = (uintptr_t)sim_map_get(&st->stats_by_key, key);

	if (idx)
		return &st->stats[idx - 1];
	if (st->n_stats == st->cap_stats) {
		st->cap_stats = st->cap_stats ? st->cap_stats * 2 : 64;
		st->stats = sim_xrealloc(st->stats, st->cap_stats * sizeof(*st->stats));
	}
	st->stats[st->n_stats] = (struct rest_key_stats){ .key = sim_xstrdup(key) };
	sim_map_put(&st->stats_by_key, key, (void *)(uintptr_t)(st->n_stats + 1));
	return &st->stats[st->n_stats++];
}

/* The member's key: its key field, which every stored member has. */
static const char *member_key(const struct sim *sim, const struct rest_member *m)
{
	const char *key = sim_json_string(m->obj, sim->cfg.rest_key_field, NULL);

	return key ? key : "";
}

static int reply_key_required(const struct sim *sim, struct sim_reply *reply)
{
	const char *field = sim->cfg.rest_key_field;
	size_t n = strlen(field) + sizeof(" is required");
	char *msg = sim_xmalloc(n);

	snprintf(msg, n, "%s is required", field);
	sim_reply_error(reply, MHD_HTTP_UNPROCESSABLE_CONTENT, msg);
	free(msg);
	return 0;
}

/* A usable key: a non-empty string without NUL (json-c keys are C
 * strings). */
static const char *body_key(const struct sim *sim, json_object *obj)
{
	size_t len;
	const char *key = sim_json_string(obj, sim->cfg.rest_key_field, &len);

	return key && len && strlen(key) == len ? key : NULL;
}

/* Answers and returns true when the body cannot be stored. */
static bool refuse_body(const struct sim_request *req, struct sim_reply *reply)
{
	size_t ignored;

	if (!json_object_is_type(req->json, json_type_object)) {
		sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "body must be a JSON object");
		return true;
	}
	/* Whatever is stored is echoed back; keep the output valid JSON. */
	if (sim_utf8_count(req->body, req->body_len, &ignored) < 0) {
		sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "body is not valid UTF-8");
		return true;
	}
	return false;
}

static json_object *copy_value(json_object *val)
{
	json_object *copy = NULL;

	if (val && json_object_deep_copy(val, &copy, NULL) < 0)
		abort();
	return copy;
}

/* Replaces m's object by obj (taken), moving its key in the index; 409
 * when the new key is another member's. */
static int store_update(const struct sim *sim, struct rest_state *st, struct rest_member *m,
			json_object *obj, struct sim_reply *reply)
{
	const char *key = body_key(sim, obj);
	uintptr_t idx, self = (uintptr_t)(m - st->members) + 1;

	if (!key) {
		json_object_put(obj);
		return reply_key_required(sim, reply);
	}
	idx = (uintptr_t)sim_map_get(&st->by_key, key);
	if (idx && idx != self) {
		json_object_put(obj);
		return sim_reply_error(reply, MHD_HTTP_CONFLICT, "already exists");
	}
	sim_map_del(&st->by_key, member_key(sim, m));
	json_object_put(m->obj);
	m->obj = obj;
	sim_map_put(&st->by_key, key, (void *)self);
	key_stats(st, key)->updates++;
	return sim_reply_json(reply, MHD_HTTP_OK, json_object_get(obj));
}

static int replace_member(const struct sim *sim, struct rest_state *st, struct rest_member *m,
			  const struct sim_request *req, struct sim_reply *reply)
{
	json_object *obj;

	if (refuse_body(req, reply))
		return 0;
	obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(m->id));
	json_object_object_foreach(req->json, name, val) {
		if (strcmp(name, "id") != 0)
			json_object_object_add(obj, name, copy_value(val));
	}
	return store_update(sim, st, m, obj, reply);
}

static int patch_member(const struct sim *sim, struct rest_state *st, struct rest_member *m,
			const struct sim_request *req, struct sim_reply *reply)
{
	json_object *obj;

	if (refuse_body(req, reply))
		return 0;
	obj = copy_value(m->obj);
	json_object_object_foreach(req->json, name, val) {
		if (strcmp(name, "id") == 0)
			continue;
		if (val)
			json_object_object_add(obj, name, copy_value(val));
		else
			json_object_object_del(obj, name);
	}
	return store_update(sim, st, m, obj, reply);
}

static int delete_member(const struct sim *sim, struct rest_state *st, struct rest_member *m,
			 struct sim_reply *reply)
{
	const char *key = member_key(sim, m);

	key_stats(st, key)->deletes++;
	sim_map_del(&st->by_key, key);
	json_object_put(m->obj);
	m->obj = NULL;
	return sim_reply_empty(reply, MHD_HTTP_NO_CONTENT);
}

static int create_member(const struct sim *sim, struct rest_state *st,
			 const struct sim_request *req, struct sim_reply *reply)
{
	const char *key;
	uintptr_t idx;
	struct rest_member *m;
	json_object *obj;
	char id[32];

	if (refuse_body(req, reply))
		return 0;
	key = body_key(sim, req->json);
	if (!key)
		return reply_key_required(sim, reply);
	idx = (uintptr_t)sim_map_get(&st->by_key, key);
	if (idx) {
		m = &st->members[idx - 1];
		key_stats(st, key)->rejected_creates++;
		obj = json_object_new_object();
		json_object_object_add(obj, "error", json_object_new_string("already exists"));
		json_object_object_add(obj, "id", json_object_new_string(m->id));
		return sim_reply_json(reply, MHD_HTTP_CONFLICT, obj);
	}

	snprintf(id, sizeof(id), "m-%zu", st->len + 1);
	obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(id));
	json_object_object_foreach(req->json, name, val) {
		/* The server assigns ids; a client-sent one is dropped. */
		if (strcmp(name, "id") == 0)
			continue;
		json_object_object_add(obj, name, copy_value(val));
	}
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->members = sim_xrealloc(st->members, st->cap * sizeof(*st->members));
	}
	m = &st->members[st->len++];
	m->id = sim_xstrdup(id);
	m->obj = obj;
	sim_map_put(&st->by_key, key, (void *)(uintptr_t)st->len);
	key_stats(st, key)->creates++;
	return sim_reply_json(reply, MHD_HTTP_CREATED, json_object_get(obj));
}

static int list_members(const struct sim *sim, struct rest_state *st,
			const struct sim_request *req, struct sim_reply *reply)
{
	/* ?<key field>=v narrows to that one member, for lookups. */
	const char *want = sim_request_query(req, sim->cfg.rest_key_field);
	json_object *obj = json_object_new_object();
	json_object *arr = json_object_new_array();

	if (want) {
		uintptr_t idx = (uintptr_t)sim_map_get(&st->by_key, want);

		if (idx)
			json_object_array_add(arr, json_object_get(st->members[idx - 1].obj));
	} else {
		for (size_t i = 0; i < st->len; i++) {
			if (st->members[i].obj)
				json_object_array_add(arr, json_object_get(st->members[i].obj));
		}
	}
	json_object_object_add(obj, "members", arr);
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

static const char *rest_route(const struct sim_request *req)
{
	if (strcmp(req->path, PREFIX) == 0)
		return ROUTE_LIST;
	return sim_item_id(req->path, PREFIX) ? ROUTE_ITEM : NULL;
}

static const char *rest_log_key(const struct sim *sim, const struct sim_request *req,
				size_t *len)
{
	return sim_json_string(req->json, sim->cfg.rest_key_field, len);
}

static int rest_handle(struct sim *sim, void *state, const struct sim_request *req,
		       struct sim_reply *reply)
{
	struct rest_state *st = state;
	const char *id;
	struct rest_member *m;

	if (!rest_route(req))
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (!authorized(sim, req))
		return sim_reply_error(reply, MHD_HTTP_UNAUTHORIZED, "unauthorized");

	id = sim_item_id(req->path, PREFIX);
	if (!id) {
		if (strcmp(req->method, "GET") == 0)
			return list_members(sim, st, req, reply);
		if (strcmp(req->method, "POST") == 0)
			return create_member(sim, st, req, reply);
		return method_not_allowed(reply, "GET, POST");
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "PUT") != 0 &&
	    strcmp(req->method, "PATCH") != 0 && strcmp(req->method, "DELETE") != 0)
		return method_not_allowed(reply, "GET, PUT, PATCH, DELETE");
	m = member_by_id(st, id);
	if (!m)
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "not found");
	if (strcmp(req->method, "PUT") == 0)
		return replace_member(sim, st, m, req, reply);
	if (strcmp(req->method, "PATCH") == 0)
		return patch_member(sim, st, m, req, reply);
	if (strcmp(req->method, "DELETE") == 0)
		return delete_member(sim, st, m, reply);
	return sim_reply_json(reply, MHD_HTTP_OK, json_object_get(m->obj));
}

static void rest_reset(void *state)
{
	struct rest_state *st = state;

	for (size_t i = 0; i < st->len; i++) {
		free(st->members[i].id);
		json_object_put(st->members[i].obj);
	}
	free(st->members);
	st->members = NULL;
	st->len = st->cap = 0;
	sim_map_clear(&st->by_key);
	for (size_t i = 0; i < st->n_stats; i++)
		free(st->stats[i].key);
	free(st->stats);
	st->stats = NULL;
	st->n_stats = st->cap_stats = 0;
	sim_map_clear(&st->stats_by_key);
}

static void *rest_state_new(const struct sim *sim)
{
	struct rest_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_key);
	sim_map_init(&st->stats_by_key);
	return st;
}

static void rest_state_free(void *state)
{
	if (!state)
		return;
	rest_reset(state);
	free(state);
}

static json_object *rest_dump(void *state)
{
	struct rest_state *st = state;
	json_object *obj = json_object_new_object();
	json_object *arr = json_object_new_array();

	json_object *by_key = json_object_new_object();

	for (size_t i = 0; i < st->len; i++) {
		if (st->members[i].obj)
			json_object_array_add(arr, json_object_get(st->members[i].obj));
	}
	for (size_t i = 0; i < st->n_stats; i++) {
		const struct rest_key_stats *ks = &st->stats[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "creates", json_object_new_uint64(ks->creates));
		json_object_object_add(o, "rejected_creates", json_object_new_uint64(ks->rejected_creates));
		json_object_object_add(o, "updates", json_object_new_uint64(ks->updates));
		json_object_object_add(o, "deletes", json_object_new_uint64(ks->deletes));
		json_object_object_add(by_key, ks->key, o);
	}
	json_object_object_add(obj, "members", arr);
	json_object_object_add(obj, "by_key", by_key);
	return obj;
}

const struct sim_api sim_api_rest = {
	.name = "rest",
	.path_prefix = PREFIX,
	.state_new = rest_state_new,
	.state_free = rest_state_free,
	.reset = rest_reset,
	.handle = rest_handle,
	.dump = rest_dump,
	.route = rest_route,
	.log_key = rest_log_key,
};
