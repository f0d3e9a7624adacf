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
#define API_PREFIX "/api/"
#define MAX_LATENCY_MS SIM_MAX_DELAY_MS
/* At a gigabyte a second nothing is slow any more. */
#define MAX_SLOW_BPS 1000000000
/* "body_repeat": big enough for a 10 MB answer from a one-line body,
 * small enough that a typo cannot eat the machine's memory. */
#define MAX_FAULT_BODY_BYTES (64u << 20)

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
	json_object_object_add(obj, "ratelimits", sim_ratelimits_dump(sim, sim_now_ms()));
	json_object_object_add(obj, "faults", sim_faults_dump(sim));
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

/* Optional boolean member; -EINVAL if present but not a boolean. */
static int opt_bool(json_object *obj, const char *name, bool *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

/* Optional number member (integer or not) within [min, max]. */
static int opt_double(json_object *obj, const char *name, double min, double max,
		      double *out)
{
	json_object *v;
	double d;

	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return -EINVAL;
	d = json_object_get_double(v);
	/* written this way round so NaN fails too */
	if (!(d >= min && d <= max))
		return -EINVAL;
	*out = d;
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

/* A seed for a fault without one: different every time, but shown in
 * GET /_sim/state so the run can be replayed. 53 bits, so it survives a
 * trip through a double (jq) and is a valid "seed" to post back. */
static uint64_t fresh_seed(void)
{
	static uint64_t counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
		(__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ull)) &
	       ((UINT64_C(1) << 53) - 1);
}

#define FAIL(msg) do { *err = (msg); return -EINVAL; } while (0)

/*
 * A fault: the next matching API requests are not handled but answered
 * with an error, or answered late, slowly or not at all. Members, all
 * optional except api:
 *   api       API name or "*"
 *   method    only this method
 *   key       only requests whose log key is this
 *   skip      let this many matching requests through first (default 0)
 *   count     fail this many, -1 until cleared, 0 removes the fault with
 *             these api/method/key (default 1, or -1 with rate)
 *   status, body, content_type, headers    the answer (500, {"error":
 *             "injected fault"}, JSON, none)
 *   body_repeat  send body this many times over, back to back (default
 *             1; at most 64 MiB in all): a huge answer, such as 10 MB of
 *             JSON-looking text, without posting it to the control plane
 *   rate      0.0-1.0: each match past skip fails with this probability
 *   seed      integer seeding those draws, so a test sees the same
 *             sequence every run (default: random, shown in the state)
 *   delay_ms  answer this much later (up to 600000), without holding a
 *             thread: longer than the client's timeout makes it time out
 *   reset     true: drop the connection instead of answering (after
 *             delay_ms, if any), with a RST where the OS allows; logged
 *             with status 0
 *   slow_bytes_per_s   send the body at this rate, the headers at once
 *             (0: at full speed)
 *   handle    true: the API handles the request and its own answer is
 *             what gets delayed, dropped or slowed (a create that
 *             succeeded but whose answer was lost); needs delay_ms, reset
 *             or slow_bytes_per_s, and takes none of status, body,
 *             content_type or headers
 * A newer fault with the same api, method and key replaces an older one.
 * Faults are tried newest first, each on its own: one that lets a request
 * pass (skip, rate) leaves it to the older ones.
 */
int sim_fault_from_json(json_object *body, struct sim_fault **out, const char **err)
{
	json_object *headers = NULL, *v;
	const char *api = NULL, *method = NULL, *key = NULL;
	const char *fbody = NULL, *ctype = SIM_JSON_CT;
	long long status = 500, count = 1, skip = 0, seed = -1, delay = 0, slow = 0, repeat = 1;
	double rate = -1;
	bool reset = false, handle = false;
	struct sim_fault *f;

	*out = NULL;
	if (!json_object_is_type(body, json_type_object))
		FAIL("body must be a JSON object");
	if (opt_str(body, "api", &api) < 0 || !api)
		FAIL("api must be a string");
	if (strcmp(api, "*") != 0 && sim_api_index(api) < 0)
		FAIL("unknown api");
	if (opt_int(body, "status", 200, 599, &status) < 0)
		FAIL("status must be an integer in 200..599");
	if (opt_double(body, "rate", 0, 1, &rate) < 0)
		FAIL("rate must be a number in 0..1");
	/* With a rate, the fault lasts until cleared unless told otherwise. */
	if (rate >= 0)
		count = -1;
	if (opt_int(body, "count", -1, INT64_MAX, &count) < 0)
		FAIL("count must be an integer >= -1");
	if (opt_int(body, "skip", 0, INT64_MAX, &skip) < 0)
		FAIL("skip must be an integer >= 0");
	if (opt_int(body, "seed", 0, INT64_MAX, &seed) < 0)
		FAIL("seed must be an integer >= 0");
	if (opt_int(body, "delay_ms", 0, SIM_MAX_DELAY_MS, &delay) < 0)
		FAIL("delay_ms must be an integer in 0..600000");
	if (opt_int(body, "slow_bytes_per_s", 0, MAX_SLOW_BPS, &slow) < 0)
		FAIL("slow_bytes_per_s must be an integer in 0..1000000000");
	if (opt_bool(body, "reset", &reset) < 0)
		FAIL("reset must be a boolean");
	if (opt_bool(body, "handle", &handle) < 0)
		FAIL("handle must be a boolean");
	if (reset && slow)
		FAIL("reset and slow_bytes_per_s exclude each other");
	if (handle && !reset && !slow && !delay)
		FAIL("handle needs delay_ms, reset or slow_bytes_per_s");
	if (handle && (json_object_object_get_ex(body, "status", &v) ||
		       json_object_object_get_ex(body, "body", &v) ||
		       json_object_object_get_ex(body, "content_type", &v) ||
		       json_object_object_get_ex(body, "headers", &v)))
		FAIL("handle answers with the API's own reply: no status, body, "
		     "content_type or headers");
	if (opt_str(body, "method", &method) < 0)
		FAIL("method must be a string");
	if (opt_str(body, "key", &key) < 0)
		FAIL("key must be a string");
	if (opt_str(body, "body", &fbody) < 0)
		FAIL("body must be a string");
	if (opt_int(body, "body_repeat", 1, MAX_FAULT_BODY_BYTES, &repeat) < 0)
		FAIL("body_repeat must be an integer in 1..67108864");
	if (handle && json_object_object_get_ex(body, "body_repeat", &v))
		FAIL("handle answers with the API's own reply: no body_repeat");
	if (repeat > 1 && (!fbody || !*fbody || strlen(fbody) > MAX_FAULT_BODY_BYTES / (size_t)repeat))
		FAIL("body_repeat needs a non-empty body, and at most 64 MiB in all");
	if (opt_str(body, "content_type", &ctype) < 0 || !*ctype || strpbrk(ctype, "\r\n"))
		FAIL("content_type must be a non-empty string");
	if (json_object_object_get_ex(body, "headers", &headers)) {
		if (!json_object_is_type(headers, json_type_object) ||
		    json_object_object_length(headers) >= SIM_REPLY_MAX_HEADERS)
			FAIL("headers must be an object of a few strings");
		json_object_object_foreach(headers, hname, hval) {
			if (!header_name_ok(hname) || !header_value_ok(hval))
				FAIL("bad header in headers");
		}
	}

	f = sim_xcalloc(1, sizeof(*f));
	f->api = sim_xstrdup(api);
	f->method = method ? sim_xstrdup(method) : NULL;
	f->key = key ? sim_xstrdup(key) : NULL;
	f->skip = skip;
	f->remaining = count;
	f->status = (unsigned int)status;
	if (fbody && repeat > 1) {
		size_t len = strlen(fbody);

		f->body = sim_xmalloc(len * (size_t)repeat + 1);
		for (long long i = 0; i < repeat; i++)
			memcpy(f->body + len * (size_t)i, fbody, len);
		f->body[len * (size_t)repeat] = '\0';
	} else if (fbody) {
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
	f->rate = rate;
	f->seed = seed >= 0 ? (uint64_t)seed : fresh_seed();
	f->rng = f->seed;
	f->delay_ms = (unsigned int)delay;
	f->slow_bps = (unsigned int)slow;
	f->reset = reset;
	f->handle = handle;
	*out = f;
	return 0;
}

#undef FAIL

static int post_fault(struct sim *sim, const struct sim_request *req,
		      struct sim_reply *reply)
{
	json_object *body = body_object(req, reply);
	struct sim_fault *f;
	const char *err;

	if (!body)
		return 0;
	if (sim_fault_from_json(body, &f, &err) < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, err);
	sim_fault_add(sim, f);
	return reply_ok(reply);
}

static int post_ratelimit(struct sim *sim, const struct sim_request *req,
			  struct sim_reply *reply)
{
	json_object *body = body_object(req, reply);
	const char *api = NULL;
	long long limit = -1, window = 0;
	int idx;

	if (!body)
		return 0;
	if (opt_str(body, "api", &api) < 0 || !api)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "api must be a string");
	idx = sim_api_index(api);
	if (idx < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "unknown api");
	if (opt_int(body, "limit", 0, SIM_RATELIMIT_MAX_LIMIT, &limit) < 0 || limit < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "limit must be an integer in 0..1000000");
	if (opt_int(body, "window_ms", 1, SIM_RATELIMIT_MAX_WINDOW_MS, &window) < 0 ||
	    (limit && !window))
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST,
				       "window_ms must be an integer in 1..86400000");
	sim_ratelimit_set(sim, idx, (unsigned int)limit, (unsigned int)window);
	return reply_ok(reply);
}

static int delete_ratelimit(struct sim *sim, const struct sim_request *req,
			    struct sim_reply *reply)
{
	const char *api = sim_request_query(req, "api");
	int idx;

	if (!api) {
		sim_ratelimits_clear(sim);
		return reply_ok(reply);
	}
	idx = sim_api_index(api);
	if (idx < 0)
		return sim_reply_error(reply, MHD_HTTP_BAD_REQUEST, "unknown api");
	sim_ratelimit_set(sim, idx, 0, 0);
	return reply_ok(reply);
}

/* /_sim/api/<name>/<action...>: the API's own control hook. */
static int api_control(struct sim *sim, const char *rest, const struct sim_request *req,
		       struct sim_reply *reply)
{
	const char *slash = strchr(rest, '/');
	char *name;
	int idx;

	if (!slash || !slash[1])
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
	name = sim_xstrndup(rest, (size_t)(slash - rest));
	idx = sim_api_index(name);
	free(name);
	if (idx < 0 || !sim_apis[idx]->control)
		return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
	return sim_apis[idx]->control(sim, sim->api_state[idx], slash + 1, req, reply);
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
	if (strcmp(sub, "/ratelimit") == 0) {
		if (strcmp(m, "POST") == 0)
			return post_ratelimit(sim, req, reply);
		if (strcmp(m, "DELETE") == 0)
			return delete_ratelimit(sim, req, reply);
		return method_not_allowed(reply, "POST, DELETE");
	}
	if (strncmp(sub, API_PREFIX, strlen(API_PREFIX)) == 0)
		return api_control(sim, sub + strlen(API_PREFIX), req, reply);
	return sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
}
