/*
 * The /_sim/ control plane: how a test looks inside the simulator and makes
 * it misbehave. No auth, no latency, no faults, not counted in the stats.
 */
#include "sim.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONTROL_PREFIX "/_sim"
/* Ten minutes is far beyond any client timeout a test would use. */
#define MAX_LATENCY_MS 600000

bool sim_control_path(const char *path)
{
	size_t n = strlen(CONTROL_PREFIX);

	return strncmp(path, CONTROL_PREFIX, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

static int reply_ok(struct sim_reply *reply)
{
	return sim_reply_json(reply, MHD_HTTP_OK, json_object_new_object());
}

static int method_not_allowed(struct sim_reply *reply, const char *allow)
{
	sim_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	sim_reply_header(reply, MHD_HTTP_HEADER_ALLOW, allow);
	return 0;
}

/* The body of a control POST must be a JSON object; answers 400 and
 * returns NULL otherwise. */
static json_object *body_object(const struct sim_request *req, struct sim_reply *reply)
{
	if (req->json_error || !req->json) {
		sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "malformed JSON");
		return NULL;
	}
	if (!json_object_is_type(req->json, json_type_object)) {
		sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "body must be a JSON object");
		return NULL;
	}
	return req->json;
}

/* Unsigned decimal query parameter; -EINVAL if present but malformed. */
static int query_size(const struct sim_request *req, const char *name, size_t *out)
{
	const char *s = sim_request_query(req, name);
	char *end;
	unsigned long long n;

	if (!s)
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	*out = (errno == ERANGE || n > SIZE_MAX) ? SIZE_MAX : (size_t)n;
	return 0;
}

static int get_state(struct sim *sim, const struct sim_request *req,
		     struct sim_reply *reply)
{
	json_object *obj, *apis;
	const char *log = sim_request_query(req, "log");
	size_t since = 0, limit = SIZE_MAX;

	/* ?log=0, ?log_since=SEQ and ?log_limit=N keep polling cheap when
	 * the log holds millions of lines. */
	if (query_size(req, "log_since", &since) < 0 ||
	    query_size(req, "log_limit", &limit) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "log_since and log_limit must be non-negative integers");
	obj = json_object_new_object();
	apis = json_object_new_object();
	for (size_t i = 0; sim_apis[i]; i++)
		json_object_object_add(apis, sim_apis[i]->name,
				       sim_apis[i]->dump(sim->api_state[i]));
	json_object_object_add(obj, "apis", apis);
	json_object_object_add(obj, "stats", sim_stats_dump(sim));
	/* Entry i has seq i + 1, so "since seq N" starts at index N. */
	if (!log || strcmp(log, "0") != 0)
		json_object_object_add(obj, "log", sim_log_dump(sim, since, limit));
	return sim_reply_json(reply, MHD_HTTP_OK, obj);
}

/* Reads an optional integer member. Returns 0 (absent leaves *out alone),
 * or -EINVAL if present but not an integer within [min, max]. */
static int opt_int(json_object *obj, const char *name, long long min,
		   long long max, long long *out)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	n = json_object_get_int64(v);
	/* json-c clamps numbers beyond 64 bits instead of failing; ERANGE
	 * covers versions that report it, the range check the rest. */
	if (errno == ERANGE || n < min || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Optional string member; -EINVAL if present but not a string. */
static int opt_str(json_object *obj, const char *name, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = json_object_get_string(v);
	return 0;
}

static bool header_name_ok(const char *name)
{
	/* These are MHD's to set, or would break the framing. */
	static const char *const reserved[] = {
		"content-length", "content-type", "transfer-encoding", "connection",
	};

	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p <= ' ' || *p >= 127 || strchr("()<>@,;:\\\"/[]?={}", *p))
			return false;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcasecmp(name, reserved[i]) == 0)
			return false;
	}
	return true;
}

static bool header_value_ok(json_object *v)
{
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (!json_object_is_type(v, json_type_string) || strlen(s) != len)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return false;
	}
	return true;
}

static int post_fault(struct sim *sim, const struct sim_request *req,
		      struct sim_reply *reply)
{
	json_object *body = body_object(req, reply);
	json_object *headers = NULL;
	const char *api = NULL, *method = NULL, *key = NULL;
	const char *fbody = NULL, *ctype = SIM_JSON_CT;
	long long status = 500, count = 1, skip = 0;
	struct sim_fault *f;

	if (!body)
		return 0;
	if (opt_str(body, "api", &api) < 0 || !api)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "api must be a string");
	if (strcmp(api, "*") != 0 && sim_api_index(api) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "unknown api");
	if (opt_int(body, "status", 200, 599, &status) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "status must be an integer in 200..599");
	if (opt_int(body, "count", -1, INT64_MAX, &count) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "count must be an integer >= -1");
	if (opt_int(body, "skip", 0, INT64_MAX, &skip) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "skip must be an integer >= 0");
	if (opt_str(body, "method", &method) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "method must be a string");
	if (opt_str(body, "key", &key) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "key must be a string");
	if (opt_str(body, "body", &fbody) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "body must be a string");
	if (opt_str(body, "content_type", &ctype) < 0 || !*ctype ||
	    strpbrk(ctype, "\r\n"))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "content_type must be a non-empty string");
	if (json_object_object_get_ex(body, "headers", &headers)) {
		if (!json_object_is_type(headers, json_type_object) ||
		    json_object_object_length(headers) >= SIM_REPLY_MAX_HEADERS)
			return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
					       "headers must be an object of a few strings");
		json_object_object_foreach(headers, hname, hval) {
			if (!header_name_ok(hname) || !header_value_ok(hval))
				return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
						       "bad header in headers");
		}
	}

	f = sim_xcalloc(1, sizeof(*f));
	f->api = sim_xstrdup(api);
	f->method = method ? sim_xstrdup(method) : NULL;
	f->key = key ? sim_xstrdup(key) : NULL;
	f->skip = skip;
	f->remaining = count;
	f->status = (unsigned int)status;
	if (fbody) {
		f->body = sim_xstrdup(fbody);
	} else {
		json_object *def = json_object_new_object();

		json_object_object_add(def, "error", json_object_new_string("injected fault"));
		f->body = sim_xstrdup(json_object_to_json_string_ext(def, JSON_C_TO_STRING_PLAIN));
		json_object_put(def);
	}
	f->content_type = sim_xstrdup(ctype);
	/* Copied: the request body is freed outside the lock. */
	if (headers && json_object_deep_copy(headers, &f->headers, NULL) < 0)
		abort();
	sim_fault_add(sim, f);
	return reply_ok(reply);
}

static int post_latency(struct sim *sim, const struct sim_request *req,
			struct sim_reply *reply)
{
	json_object *body = body_object(req, reply);
	long long ms = -1;

	if (!body)
		return 0;
	if (opt_int(body, "ms", 0, MAX_LATENCY_MS, &ms) < 0 || ms < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "ms must be an integer in 0..600000");
	sim->latency_ms = (unsigned int)ms;
	return reply_ok(reply);
}

int sim_control_handle(struct sim *sim, const struct sim_request *req,
		       struct sim_reply *reply)
{
	const char *sub = req->path + strlen(CONTROL_PREFIX);
	const char *m = req->method;

	if (strcmp(sub, "/state") == 0) {
		if (strcmp(m, "GET") != 0)
			return method_not_allowed(reply, "GET");
		return get_state(sim, req, reply);
	}
	if (strcmp(sub, "/reset") == 0) {
		if (strcmp(m, "POST") != 0)
			return method_not_allowed(reply, "POST");
		sim_reset(sim);
		return reply_ok(reply);
	}
	if (strcmp(sub, "/fault") == 0) {
		if (strcmp(m, "POST") == 0)
			return post_fault(sim, req, reply);
		if (strcmp(m, "DELETE") == 0) {
			sim_faults_clear(sim);
			return reply_ok(reply);
		}
		return method_not_allowed(reply, "POST, DELETE");
	}
	if (strcmp(sub, "/latency") == 0) {
		if (strcmp(m, "POST") != 0)
			return method_not_allowed(reply, "POST");
		return post_latency(sim, req, reply);
	}
	return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
}
