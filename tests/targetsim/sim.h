/*
 * targetsim: an in-process stand-in for the HTTP APIs membersync pushes
 * members into, so tests can see exactly what the daemon sent and make the
 * far side misbehave on purpose.
 *
 * Adding an API: write sim_<api>.c defining one `const struct sim_api`,
 * declare it below and add it to sim_apis[] in sim_core.c. What the core
 * does for every API, so an API file need not:
 *   - collects the body and parses it as JSON (req->json) and, for
 *     application/x-www-form-urlencoded, as a form (req->form);
 *   - latency, faults (error answers, huge answers, delays, dropped
 *     connections, slow bodies) and rate limits, all configured through
 *     /_sim/;
 *   - stats and the request log (with arrival times).
 * What an API may add: a throttle hook, to answer a rate-limited request
 * the way the real server does, and a control hook, for test-only levers
 * under /_sim/api/<name>/ (see struct sim_api). Time for tokens comes from
 * sim_now_ms() and sim_wall_s().
 *
 * The control plane (sim_control.c), all of it JSON:
 *   GET    /_sim/state[?log=0][&log_since=SEQ][&log_limit=N]
 *          {"apis":      {name: what the API's dump() returns},
 *           "stats":     {"requests": n, "log_dropped": n,
 *                         "by_route": {"METHOD /route": {"status": n}},
 *                         "throttled": {name: n},   (every API, 0 too)
 *                         "now_ms": n},  (the clock log t_ms is read on)
 *           "ratelimits": {name: {"limit": n, "window_ms": n,
 *                                 "in_window": n}},  (only limited APIs)
 *           "faults":    [fault, ...],  (in matching order, newest first)
 *           "log":       [{"seq", "t_ms", "received_at", "api", "method",
 *                          "path", "status", "key", "throttled", "fault"},
 *                         ...]}
 *          t_ms: when the request's headers arrived, in ms since start.
 *          received_at: the same moment on the wall clock, in us since
 *          the epoch (to compare with a client's clock; t_ms for
 *          durations, the wall clock can jump).
 *          api: null when no API owns the path. status 0: the connection
 *          was dropped without an answer ("reset" fault); by_route counts
 *          those under "0" too.
 *   POST   /_sim/reset      back to the state right after start-up: API
 *                           state, stats, log and throttle counts cleared,
 *                           latency, rate limits and faults as on the
 *                           command line.
 *   POST   /_sim/latency    {"ms": N}
 *   POST   /_sim/fault      see sim_fault_from_json() in sim_control.c
 *   DELETE /_sim/fault      all faults
 *   POST   /_sim/ratelimit  {"api": name, "limit": N, "window_ms": M}:
 *                           more than N requests of that API within any M
 *                           ms are throttled (429, Retry-After, {"error":
 *                           "rate limit exceeded"}, or the API's throttle
 *                           hook), neither faulted nor handled. Only the
 *                           admitted take a slot; a faulted one does. limit
 *                           0 lifts it; every POST starts an empty window.
 *                           The limiter counts when it decides, i.e. after
 *                           any latency, not at t_ms.
 *   DELETE /_sim/ratelimit[?api=NAME]
 *   ANY    /_sim/api/<name>/<action...>  the API's control hook
 */
#ifndef TARGETSIM_SIM_H
#define TARGETSIM_SIM_H

/* microhttpd.h relies on these being included first on some platforms. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <pthread.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#define SIM_JSON_CT "application/json; charset=utf-8"
/* Deep enough for any real member payload, shallow enough that a hostile
 * body cannot exhaust the parser's stack. */
#define SIM_JSON_MAX_DEPTH 64
/* Upper bound on the request log: a load test must not eat all memory.
 * Overridable so the cap itself can be tested without 2M requests. */
#ifndef SIM_LOG_CAP
#define SIM_LOG_CAP 2000000u
#endif
#define SIM_REPLY_MAX_HEADERS 8
#define SIM_FORM_CT "application/x-www-form-urlencoded"
/* Ten minutes is far beyond any client timeout a test would use. */
#define SIM_MAX_DELAY_MS 600000u
/* A ring of this many timestamps is 8 MB; far more than a test sends in
 * one window. */
#define SIM_RATELIMIT_MAX_LIMIT 1000000u
/* A day: enough for daily quotas. */
#define SIM_RATELIMIT_MAX_WINDOW_MS 86400000u

/* ---- allocation: failure is not recoverable in a test tool ---- */
void *sim_xmalloc(size_t size);
void *sim_xcalloc(size_t nmemb, size_t size);
void *sim_xrealloc(void *ptr, size_t size);
char *sim_xstrdup(const char *s);
char *sim_xstrndup(const char *s, size_t n);

/* ---- string -> pointer hash map (keys are copied, values borrowed) ---- */
struct sim_map_slot {
	char *key;
	void *value;
	uint64_t hash;
};

struct sim_map {
	struct sim_map_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

void sim_map_init(struct sim_map *map);
void sim_map_clear(struct sim_map *map);
void *sim_map_get(const struct sim_map *map, const char *key);
void sim_map_put(struct sim_map *map, const char *key, void *value);
void sim_map_del(struct sim_map *map, const char *key);

/* ---- UTF-8 ---- */
/* Decode one code point at s[*pos]; strict (no overlongs, surrogates or
 * values above U+10FFFF). Returns 0 or -EILSEQ. */
int sim_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp);
/* Number of code points, or -EILSEQ if s is not valid UTF-8. */
int sim_utf8_count(const char *s, size_t len, size_t *count);
/* Copy with every invalid byte replaced by U+FFFD, so it can go into JSON. */
char *sim_utf8_sanitize(const char *s, size_t len, size_t *out_len);

/* ---- time ---- */
/* Monotonic milliseconds from an arbitrary origin: for durations, rate
 * windows and token lifetimes measured by the simulator itself. */
uint64_t sim_now_ms(void);
/* Wall-clock seconds since the epoch: for what a client compares with its
 * own clock (expires_at, JWT iat/exp). Prefer expires_in + sim_now_ms()
 * for the simulator's own bookkeeping; the wall clock can jump. */
int64_t sim_wall_s(void);
/* Wall-clock microseconds since the epoch: only for the request log, so a
 * client can compare an arrival with its own clock (e.g. the time it made
 * the change that caused the request). 2^53 us is year 2255, so the value
 * survives jq's doubles. */
int64_t sim_wall_us(void);

/* ---- form bodies ---- */
/* Decodes application/x-www-form-urlencoded into a new JSON object of
 * strings: '+' is a space, %XX must be two hex digits, "name[]=v" appends
 * to an array under "name", a plain repeated name keeps the last value (and
 * a later "name" replaces an earlier "name[]" array and vice versa), a name
 * without '=' has the value "", empty pairs ("a=1&&b=2") are skipped. Only
 * a trailing "[]" is special: "a[b]=1" is the name "a[b]". Returns 0,
 * -EINVAL (bad escape, or a NUL in a name: json-c keys are C strings) or
 * -EILSEQ (not UTF-8 once decoded). A NUL in a value is kept; check the
 * length if it matters. */
int sim_form_parse(const char *body, size_t len, json_object **out);
/* Whether a Content-Type header value names SIM_FORM_CT (any parameters,
 * any case). */
bool sim_form_content_type(const char *value);

/* ---- configuration (filled by main.c, read-only afterwards) ---- */
/* One --ratelimit API=N/MS. */
struct sim_ratelimit_spec {
	int api;		/* index into sim_apis[] */
	unsigned int limit;
	unsigned int window_ms;
};

struct sim_config {
	const char *listen;
	unsigned int port;
	const char *port_file;
	unsigned int threads;
	char *rainbond_key;
	char *rest_token;
	const char *rest_key_field;
	unsigned int latency_ms;
	size_t max_body;
	/* --ratelimit and --fault, installed at start and by every reset;
	 * owned by main.c. */
	const struct sim_ratelimit_spec *ratelimits;
	size_t n_ratelimits;
	json_object *const *faults;	/* validated POST /_sim/fault bodies */
	size_t n_faults;
	/* --secret NAME=FILE: credentials of the simulated APIs, by name
	 * ("dingtalk.appsecret"); owned by main.c. */
	const struct sim_secret *secrets;
	size_t n_secrets;
};

struct sim_secret {
	char *name;
	char *value;
};


/* An injected failure; see POST /_sim/fault in sim_control.c. */
struct sim_fault {
	struct sim_fault *next;
	char *api;		/* API name or "*" */
	char *method;		/* only this method, or NULL for any */
	char *key;		/* only requests whose log key matches, or NULL */
	long long skip;		/* let this many matching requests through first */
	long long remaining;	/* -1: until cleared */
	unsigned int status;
	char *body;
	char *content_type;
	json_object *headers;	/* object of extra header name -> string, or NULL */
	/* "rate": each match past skip fails with this probability; < 0 when
	 * every one does. The draws come from rng, seeded from "seed", so a
	 * sequential client sees the same sequence every time. */
	double rate;
	uint64_t seed;
	uint64_t rng;
	unsigned int delay_ms;	/* answer this much later, unlocked */
	unsigned int slow_bps;	/* send the body at this many bytes/s; 0: at once */
	bool reset;		/* drop the connection instead of answering */
	bool handle;		/* the API handles it; only delivery is faulted */
};

/* ---- rate limits (sim_ratelimit.c) ---- */
/* A sliding-window log: the admission times of the requests in the
 * current window. Only admitted requests take a slot, so a client that
 * keeps retrying while throttled is not punished beyond the window. */
struct sim_ratelimit {
	unsigned int limit;	/* 0: no limit */
	unsigned int window_ms;
	uint64_t *admitted;	/* ring of sim_now_ms() times, oldest at head */
	size_t head;
	size_t len;
	uint64_t throttled;	/* answers throttled since the last reset */
};

/* ---- waiting without blocking MHD's threads (sim_wait.c) ---- */
/* Delays suspend the connection and let a timer thread resume it: a
 * sleeping handler would stall every other connection its MHD worker
 * thread serves, the control plane included. */
struct sim_wait;

struct sim_waits {
	pthread_mutex_t lock;	/* its own; never taken with sim->lock held */
	pthread_cond_t cond;	/* on CLOCK_MONOTONIC, like sim_now_ms() */
	pthread_t thread;
	bool started;
	bool stopping;
	struct sim_wait *heap;	/* min-heap on due time */
	size_t len;
	size_t cap;
	uint64_t next_order;
};

int sim_waits_start(struct sim_waits *w);
/* Resumes every suspended connection and refuses to suspend more; MHD
 * must not be stopped with suspended connections. Idempotent. */
void sim_waits_stop(struct sim_waits *w);
void sim_waits_fini(struct sim_waits *w);
/* Suspends conn until sim_now_ms() reaches due_ms. Only from an MHD access
 * handler or content reader callback, never with sim->lock held; MHD then
 * calls that callback again. Returns 0, or -ESHUTDOWN once stopping (the
 * caller then goes on at once). */
int sim_wait_until(struct sim_waits *w, struct MHD_Connection *conn, uint64_t due_ms);

struct sim_log_entry {
	uint64_t seq;
	uint64_t t_ms;		/* arrival, ms since sim_init() */
	int64_t received_us;	/* arrival, sim_wall_us() */
	int api;		/* index into sim_apis[], or -1 */
	char *method;
	char *path;
	char *key;		/* NULL when the request carried none */
	size_t key_len;
	unsigned int status;	/* 0: dropped without an answer */
	bool throttled;
	bool fault;
};

struct sim {
	pthread_mutex_t lock;	/* guards everything below */
	struct sim_config cfg;
	unsigned int latency_ms;
	uint64_t requests;
	uint64_t log_dropped;
	json_object *by_route;	/* "METHOD /route" -> { "status": count } */
	struct sim_log_entry *log;
	size_t log_len;
	size_t log_cap;
	struct sim_fault *faults;	/* newest first */
	void **api_state;	/* parallel to sim_apis[] */
	struct sim_ratelimit *ratelimits;	/* parallel to sim_apis[] */
	uint64_t t0_ms;		/* sim_now_ms() at sim_init(); read-only */
	struct sim_waits waits;	/* not under lock: has its own */
};

/* ---- requests and replies ---- */
struct sim_request {
	const char *method;
	const char *path;	/* percent-decoded, without the query string */
	struct MHD_Connection *conn;
	const char *body;	/* NUL-terminated, may contain NULs itself */
	size_t body_len;
	/* Parsed body: NULL if the body was empty or not JSON (json_error then
	 * says which). Owned by the core; APIs must deep-copy what they keep,
	 * because it is released outside the lock. */
	json_object *json;
	bool json_error;
	/* Parsed form, only for a Content-Type of SIM_FORM_CT (an empty body
	 * is an empty object); NULL otherwise or if the body is not a valid
	 * form (form_error then). Same ownership as json. Both are filled
	 * independently, so a form body usually also sets json_error. */
	json_object *form;
	bool form_error;
};

/* Query parameter or header value, NULL when absent (a parameter given
 * without '=' reads as ""). */
const char *sim_request_query(const struct sim_request *req, const char *name);
const char *sim_request_header(const struct sim_request *req, const char *name);

struct sim_header {
	char *name;
	char *value;
};

struct sim_reply {
	unsigned int status;
	char *content_type;
	char *body;
	size_t body_len;
	struct sim_header headers[SIM_REPLY_MAX_HEADERS];
	size_t n_headers;
};

/* All of these replace whatever the reply held before and return 0. */
/* Takes ownership of obj. */
int sim_reply_json(struct sim_reply *reply, unsigned int status, json_object *obj);
int sim_reply_text(struct sim_reply *reply, unsigned int status,
		   const char *content_type, const char *body, size_t len);
int sim_reply_empty(struct sim_reply *reply, unsigned int status);
/* {"error": msg} */
int sim_reply_error(struct sim_reply *reply, unsigned int status, const char *msg);
void sim_reply_header(struct sim_reply *reply, const char *name, const char *value);

/* Strict JSON parse with a depth limit; trailing garbage is an error.
 * buf must have a NUL at buf[len]. Returns 0 or -EINVAL. */
int sim_json_parse(const char *buf, size_t len, json_object **out);
/* Looks up a string member; NULL if obj is not an object or the member is
 * missing or not a string. */
const char *sim_json_string(json_object *obj, const char *name, size_t *len);
/* The {id} of PREFIX/{id}, or NULL when the path is PREFIX itself or
 * something deeper. */
const char *sim_item_id(const char *path, const char *prefix);

/* ---- the pluggable APIs ---- */
struct sim_api {
	const char *name;
	/* Owns this path and everything below it ("prefix/..."). */
	const char *path_prefix;
	void *(*state_new)(const struct sim *sim);
	void (*state_free)(void *state);
	void (*reset)(void *state);
	/* Called with the lock held. Returns 0 or -errno (the core then
	 * answers 500). */
	int (*handle)(struct sim *sim, void *state,
		      const struct sim_request *req, struct sim_reply *reply);
	/* What GET /_sim/state shows for this API; a new reference. */
	json_object *(*dump)(void *state);
	/* Route pattern for the stats, e.g. "/openapi/v1/users/{id}"; must
	 * not look at the state, because faulted requests are never handled. */
	const char *(*route)(const struct sim_request *req);
	/* The member key the request carried (borrowed from req->json), for
	 * the request log; NULL if none. */
	const char *(*log_key)(const struct sim *sim,
			       const struct sim_request *req, size_t *len);
	/* Optional. Answers a request the rate limit refused, the way the
	 * real server does (DingTalk: 200 with errcode 90018). retry_after_s
	 * is when a slot frees, rounded up, at least 1. Called with the lock
	 * held; the request is not handled, but is counted and logged with
	 * the status given here. Returns 0 or -errno (500). Without it: 429,
	 * Retry-After and {"error": "rate limit exceeded"}. */
	int (*throttle)(struct sim *sim, void *state, const struct sim_request *req,
			unsigned int retry_after_s, struct sim_reply *reply);
	/* Optional. Any method on /_sim/api/<name>/<action...> lands here,
	 * lock held: test-only levers such as "expire-tokens". action is
	 * everything after "<name>/", never empty; answer 404 to an unknown
	 * one. Not counted, logged, throttled or faulted. Returns 0 or -errno
	 * (500). */
	int (*control)(struct sim *sim, void *state, const char *action,
		       const struct sim_request *req, struct sim_reply *reply);
};

/* The secret given with --secret NAME=FILE, or def when none was. The
 * APIs read their credentials here so adding one needs no new option. */
const char *sim_secret(const struct sim *sim, const char *name, const char *def);

extern const struct sim_api sim_api_rainbond;
extern const struct sim_api sim_api_rest;
extern const struct sim_api sim_api_dingtalk;
extern const struct sim_api sim_api_babelbird;
extern const struct sim_api sim_api_compai;
extern const struct sim_api sim_api_devin;
extern const struct sim_api sim_api_scim;

/* NULL-terminated. */
extern const struct sim_api *const sim_apis[];

/* Index into sim_apis[], or -ENOENT. */
int sim_api_index(const char *name);

/* ---- core ---- */
/* Also installs the command-line rate limits and faults. */
int sim_init(struct sim *sim, const struct sim_config *cfg);
/* Resumes every waiting connection; call before MHD_stop_daemon(). */
void sim_stop(struct sim *sim);
void sim_fini(struct sim *sim);
/* Back to the state right after start-up. Lock held. */
void sim_reset(struct sim *sim);
/* Lock held. Takes ownership of fault; replaces one with the same filters. */
void sim_fault_add(struct sim *sim, struct sim_fault *fault);
void sim_fault_free(struct sim_fault *fault);
void sim_faults_clear(struct sim *sim);
/* Lock held. New references. */
json_object *sim_stats_dump(const struct sim *sim);
json_object *sim_faults_dump(const struct sim *sim);
/* Log entries [from, from + limit). The entries are only turned into JSON
 * when the result is serialised (a full log is millions of lines), so that
 * must happen before the lock is released. */
json_object *sim_log_dump(const struct sim *sim, size_t from, size_t limit);

/* MHD callbacks; cls is the struct sim. */
enum MHD_Result sim_access_handler(void *cls, struct MHD_Connection *conn,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls);
void sim_request_completed(void *cls, struct MHD_Connection *conn,
			   void **con_cls, enum MHD_RequestTerminationCode toe);

/* Lock held (sim_ratelimit.c). */
/* limit 0 lifts the limit. Either way the window starts empty. */
void sim_ratelimit_set(struct sim *sim, int api, unsigned int limit,
		       unsigned int window_ms);
/* Lifts every limit; the throttle counts stay. */
void sim_ratelimits_clear(struct sim *sim);
/* Takes a slot of sim_apis[api]'s window at now (non-decreasing between
 * calls). Returns false, counting it as throttled and setting
 * *retry_after_s, when the window is full. */
bool sim_ratelimit_admit(struct sim *sim, int api, uint64_t now,
			 unsigned int *retry_after_s);
/* New references. */
json_object *sim_ratelimits_dump(const struct sim *sim, uint64_t now);
json_object *sim_throttled_dump(const struct sim *sim);
/* "API=N/MS" as given to --ratelimit. Returns 0 or -EINVAL. */
int sim_ratelimit_parse(const char *spec, struct sim_ratelimit_spec *out);

/* ---- control plane (sim_control.c) ---- */
bool sim_control_path(const char *path);
/* Lock held. */
int sim_control_handle(struct sim *sim, const struct sim_request *req,
		       struct sim_reply *reply);
/* Builds a fault from a POST /_sim/fault body. Returns 0, or -EINVAL with
 * *err saying what is wrong (a static string). */
int sim_fault_from_json(json_object *obj, struct sim_fault **out, const char **err);

#endif
