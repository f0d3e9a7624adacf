/*
 * targetsim: an in-process stand-in for the HTTP APIs membersync pushes
 * members into, so tests can see exactly what the daemon sent and make the
 * far side misbehave on purpose.
 *
 * Adding an API: write sim_<api>.c defining one `const struct sim_api`,
 * declare it below and add it to sim_apis[] in sim_core.c.
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

/* ---- configuration (filled by main.c, read-only afterwards) ---- */
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
};

struct sim_log_entry {
	uint64_t seq;
	char *method;
	char *path;
	char *key;		/* NULL when the request carried none */
	size_t key_len;
	unsigned int status;
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
};

extern const struct sim_api sim_api_rainbond;
extern const struct sim_api sim_api_rest;

/* NULL-terminated. */
extern const struct sim_api *const sim_apis[];

/* Index into sim_apis[], or -ENOENT. */
int sim_api_index(const char *name);

/* ---- core ---- */
int sim_init(struct sim *sim, const struct sim_config *cfg);
void sim_fini(struct sim *sim);
/* Back to the state right after start-up. Lock held. */
void sim_reset(struct sim *sim);
/* Lock held. Takes ownership of fault; replaces one with the same filters. */
void sim_fault_add(struct sim *sim, struct sim_fault *fault);
void sim_fault_free(struct sim_fault *fault);
void sim_faults_clear(struct sim *sim);
/* Lock held. New references. */
json_object *sim_stats_dump(const struct sim *sim);
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

/* ---- control plane (sim_control.c) ---- */
bool sim_control_path(const char *path);
/* Lock held. */
int sim_control_handle(struct sim *sim, const struct sim_request *req,
		       struct sim_reply *reply);

#endif
