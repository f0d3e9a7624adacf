/* The target driver contract. A driver describes one API: its member
 * schema, its extra config keys, how to build an add request and how to
 * read the answer. The HTTP engine, the push logic and the state cache are
 * shared, so adding an API is one new file plus one line in registry.c. */
#ifndef MS_TARGETS_DRIVER_H
#define MS_TARGETS_DRIVER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/cfgread.h"
#include "http/http.h"
#include "mapping/schema.h"

struct conf_target;

/* What an API's answer means for the member. */
enum outcome_kind {
	OUTCOME_OK,		/* created */
	OUTCOME_DUPLICATE,	/* already there: counts as synced */
	OUTCOME_INVALID,	/* the API rejected this payload: skip until it changes */
	OUTCOME_AUTH,		/* our credentials were refused: pause the target */
	OUTCOME_THROTTLED,	/* slow down; retry later */
	OUTCOME_TRANSIENT,	/* server or network trouble: retry later */
	OUTCOME_PERMANENT,	/* an answer we do not understand: do not hammer */
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

struct target_driver {
	const char *name;
	const char *summary;
	const struct field_schema *fields;	/* NULL with open_schema */
	size_t n_fields;
	bool open_schema;
	const char *default_key;		/* NULL: the target must set key */
	/* Keys this driver adds to a target's group (NULL-terminated by a
	 * { NULL } entry), besides the common ones. */
	const struct cfg_key *keys;
	/* Reads the driver's settings from the target group; reports problems
	 * to cc. Returns the driver's config (freed with free_config) or NULL
	 * when there were errors. */
	void *(*configure)(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   const char *config_dir);
	void (*free_config)(void *conf);
	/* Fills req (already initialised with timeouts) to add one member
	 * whose payload is the JSON object text `payload`. */
	void (*build_add)(const struct conf_target *tc, const char *payload, struct http_request *req);
	/* Reads the answer to an add. */
	void (*classify_add)(const struct conf_target *tc, const struct http_response *resp,
			     struct outcome *out);
};

const struct target_driver *driver_find(const char *name);
/* NULL-terminated list of every driver, for help texts and errors. */
const struct target_driver *const *driver_list(void);

#endif
