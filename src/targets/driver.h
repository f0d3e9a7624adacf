/* The target driver contract. A driver describes one API: its member
 * schema, its extra config keys, its auth defaults, and each member's
 * journey as steps: build a request, read the answer, and either send the
 * next request (a lookup to adopt an existing member's id, say), wait for
 * a batched add, or finish with an outcome. Retries, backoff, throttling,
 * rate limits, auth token refresh and the state cache are the engine's
 * (src/sync/push.c); adding an API is one new file plus one line in
 * registry.c. */
#ifndef MS_TARGETS_DRIVER_H
#define MS_TARGETS_DRIVER_H

#include <json-c/json.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/cfgread.h"
#include "http/http.h"
#include "mapping/schema.h"
#include "targets/auth.h"

struct target;

/* What an API's answer means for a member. */
enum outcome_kind {
	OUTCOME_OK,		/* done: created, updated, disabled, deleted, found */
	OUTCOME_DUPLICATE,	/* already there: counts as synced */
	/* The target has no such member: a lookup found nobody (the add may
	 * go ahead), an update or enable hit a member deleted at the target
	 * (added again), a disable or delete found it gone already (done). */
	OUTCOME_ABSENT,
	OUTCOME_INVALID,	/* the API rejected this payload: skip until it changes */
	OUTCOME_AUTH,		/* credentials refused: refresh once, then pause the target */
	OUTCOME_THROTTLED,	/* slow down; retry after retry_after */
	OUTCOME_TRANSIENT,	/* server or network trouble: retry with backoff */
	OUTCOME_PERMANENT,	/* an answer we do not understand: do not hammer */
	OUTCOME_QUOTA,		/* the API's quota is spent: pause the target for retry_after */
	OUTCOME_SPLIT,		/* an atomic batch failed on some member: retry its halves */
};

struct outcome {
	enum outcome_kind kind;
	char *reason;		/* the API's own words where it gave any */
	char *remote_id;	/* the member's id at the target, when told */
	long retry_after;	/* seconds, -1 = unknown */
};

const char *outcome_kind_name(enum outcome_kind k);
void outcome_clear(struct outcome *o);
/* Sets kind and a formatted reason (replacing any earlier one). */
void outcome_set(struct outcome *o, enum outcome_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What the engine asks of a member. Every op but OP_ADD is optional:
 * a driver lists what its API can do in `ops` (or per target, from its
 * config, with supported_ops). */
enum push_op {
	OP_ADD,		/* create the member from the payload */
	OP_UPDATE,	/* the payload changed: bring the member the target has up to date */
	OP_DISABLE,	/* deprovision by deactivating (freeze, is_active=false) */
	OP_ENABLE,	/* undo OP_DISABLE: the entry is back in scope */
	OP_DELETE,	/* deprovision by removing the member */
	/* An add was interrupted (crash between request and answer): is the
	 * member there? OUTCOME_OK with remote_id when it is, OUTCOME_ABSENT
	 * when it is not (the engine then adds it). Must never create. */
	OP_LOOKUP,
	OP__COUNT,
};
#define OP_BIT(op) (1u << (op))

const char *push_op_name(enum push_op op);

/* One member on its way to a target. For OP_DISABLE and OP_DELETE of an
 * entry gone from the directory there is no payload (payload and
 * payload_text NULL): the driver works from key and remote_id, which the
 * state cache kept. */
struct push_item {
	enum push_op op;
	const char *source_id;	/* from the plan, borrowed */
	const char *dn;
	const char *key;
	const char *hash;
	const char *payload_text;	/* the mapped payload as JSON text */
	json_object *payload;	/* the same, parsed; drivers may read it */
	int stage;		/* the driver's own progress marker, starts at 0 */
	char *resolved_id;	/* the API's id for this person, when it needs one */
	/* The member's id at the target: the stored one when the engine
	 * starts a non-add op (NULL if never learnt), or found on the way. */
	char *remote_id;
};

enum step_result {
	STEP_SEND,	/* send *req; the answer comes back to step() */
	STEP_BATCH,	/* ready for the batched add (build_batch) */
	STEP_DONE,	/* finished: *out says how */
	/* Not yet: call step() again (without an answer) after the next
	 * answer from this target, e.g. while another member's request fetches
	 * something all members need. Only while a request is in flight. */
	STEP_WAIT,
};

struct target_driver {
	const char *name;
	const char *summary;
	const struct field_schema *fields;	/* NULL with open_schema */
	size_t n_fields;
	bool open_schema;
	const char *default_key;		/* NULL: the target must set key */
	/* Keys this driver adds to a target's group ({ NULL } ends it). */
	const struct cfg_key *keys;
	struct auth_defaults auth;		/* auth.type NULL: no default */
	bool auth_required;
	double default_rate_limit;		/* requests/s, 0 = none */
	unsigned max_batch;			/* members per add request; 0 = no batching */
	unsigned ops;				/* OP_BIT()s beyond OP_ADD the API has */
	/* Sending the same add twice cannot create two members (Devin: re-adding
	 * is a no-op): an interrupted add is simply sent again, without
	 * OP_LOOKUP. */
	bool idempotent_add;
	/* The driver builds and reads OP_ADD from payload_text alone: the
	 * engine does not parse the payload for it (a third of the cost of
	 * building an add). payload is NULL in every OP_ADD step then. */
	bool add_uses_text;

	/* Reads the driver's settings; reports problems to cc. Returns the
	 * driver's config (freed with free_config) or NULL on errors. */
	void *(*configure)(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   const char *config_dir);
	void (*free_config)(void *conf);
	/* Optional: the ops a target of this driver supports, when they depend
	 * on its config (rest: only what the config describes). NULL: ops. */
	unsigned (*supported_ops)(const void *driver_conf);
	/* Optional runtime state, kept across cycles. */
	void *(*open)(struct target *t);
	void (*close)(void *drv);

	/* The member's next step, for it->op. `resp` is the answer to the request the
	 * previous call sent, or NULL on the first call and when the engine
	 * retries (then the request of the current stage must be built
	 * again: advance it->stage only on success). STEP_SEND fills req
	 * (method, URL, headers, body; auth is added by the engine) and sets
	 * *creates when the request may create the member (the engine then
	 * records it pending first). STEP_DONE fills out. Optional: drivers
	 * of one request per member and no other op set build_add/classify_add
	 * instead. Batched adds (STEP_BATCH) are for OP_ADD only. */
	enum step_result (*step)(struct target *t, struct push_item *it, const struct http_response *resp,
				 struct http_request *req, bool *creates, struct outcome *out);
	void (*build_add)(struct target *t, struct push_item *it, struct http_request *req);
	void (*classify_add)(struct target *t, const struct http_response *resp, struct push_item *it,
			     struct outcome *out);

	/* Batched adds (max_batch > 1): one request for n members, and its
	 * answer read into one outcome per member. OUTCOME_SPLIT on every
	 * member asks the engine to retry the two halves separately. */
	void (*build_batch)(struct target *t, struct push_item **items, size_t n, struct http_request *req);
	void (*classify_batch)(struct target *t, const struct http_response *resp, struct push_item **items,
			       size_t n, struct outcome *outs);
};

const struct target_driver *driver_find(const char *name);
/* The OP_BIT()s a target of driver d with driver config conf supports
 * (OP_ADD always). */
unsigned driver_ops(const struct target_driver *d, const void *driver_conf);
/* NULL-terminated list of every driver, for help texts and errors. */
const struct target_driver *const *driver_list(void);

#endif
