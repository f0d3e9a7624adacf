/*
 * A deliberately plain REST member API (/rest/members): the baseline a
 * generic driver is tested against before the vendor quirks.
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
	json_object *obj;	/* what GET returns, "id" included */
};

struct rest_state {
	struct rest_member *members;	/* members[n - 1] has id "m-<n>" */
	size_t len;
	size_t cap;
	/* key field value -> 1-based index (members[] moves when it grows) */
	struct sim_map by_key;
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
	if (n == 0 || n > st->len)
		return NULL;
	return &st->members[n - 1];
}

static int create_member(const struct sim *sim, struct rest_state *st,
			 const struct sim_request *req, struct sim_reply *reply)
{
	const char *field = sim->cfg.rest_key_field;
	const char *key;
	size_t key_len, ignored;
	uintptr_t idx;
	struct rest_member *m;
	json_object *obj, *copy;
	char id[32];
	char *msg;

	if (!json_object_is_type(req->json, json_type_object))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "body must be a JSON object");
	/* Whatever is stored is echoed back; keep the output valid JSON. */
	if (sim_utf8_count(req->body, req->body_len, &ignored) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "body is not valid UTF-8");
	key = sim_json_string(req->json, field, &key_len);
	if (!key || !key_len || strlen(key) != key_len) {
		size_t n = strlen(field) + sizeof(" is required");

		msg = sim_xmalloc(n);
		snprintf(msg, n, "%s is required", field);
		sim_reply_error(reply, MHD_HTTP_UNPROCESSABLE_CONTENT, msg);
		free(msg);
		return 0;
	}
	idx = (uintptr_t)sim_map_get(&st->by_key, key);
	if (idx) {
		m = &st->members[idx - 1];
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
		copy = NULL;
		if (val && json_object_deep_copy(val, &copy, NULL) < 0)
			abort();
		json_object_object_add(obj, name, copy);
	}
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->members = sim_xrealloc(st->members, st->cap * sizeof(*st->members));
	}
	m = &st->members[st->len++];
	m->id = sim_xstrdup(id);
	m->obj = obj;
	sim_map_put(&st->by_key, key, (void *)(uintptr_t)st->len);
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
		for (size_t i = 0; i < st->len; i++)
			json_object_array_add(arr, json_object_get(st->members[i].obj));
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
	if (strcmp(req->method, "GET") != 0)
		return method_not_allowed(reply, "GET");
	m = member_by_id(st, id);
	if (!m)
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "not found");
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
}

static void *rest_state_new(const struct sim *sim)
{
	struct rest_state *st = sim_xcalloc(1, sizeof(*st));

	sim_map_init(&st->by_key);
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

	for (size_t i = 0; i < st->len; i++)
		json_object_array_add(arr, json_object_get(st->members[i].obj));
	json_object_object_add(obj, "members", arr);
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
