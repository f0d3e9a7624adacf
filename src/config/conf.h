/* The daemon's configuration: loaded from a libconfig file, validated in
 * full (every problem reported as file:line), mappings compiled and
 * secrets read, so a loaded conf is ready to run and a reload can swap it
 * in atomically. */
#ifndef MS_CONFIG_CONF_H
#define MS_CONFIG_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "mapping/mapping.h"
#include "targets/driver.h"
#include "util/diag.h"
#include "util/secret.h"

#define CONF_DEFAULT_PATH "/etc/membersync/membersync.conf"
/* systemd StateDirectory=membersync; $STATE_DIRECTORY overrides it. */
#define CONF_DEFAULT_STATE_DIR "/var/lib/membersync"

enum conf_scope { CONF_SCOPE_BASE, CONF_SCOPE_ONE, CONF_SCOPE_SUB };

struct conf_source {
	char **uris;		/* tried in order */
	size_t n_uris;
	bool starttls;
	bool tls_verify;
	char *ca_file;
	char *bind_dn;		/* NULL: anonymous */
	struct secret *bind_password;
	bool allow_plaintext_bind;
	char *base;
	enum conf_scope scope;
	char *filter;
	char *id_attribute;
	/* What to request: the id attribute, every attribute a mapping reads
	 * and the configured extras (NULL-terminated). */
	char **attributes;
	size_t n_attributes;
	int page_size;		/* 0 = no paging */
	int network_timeout;	/* seconds */
	int timeout;		/* seconds, per operation */
	int poll_interval;	/* seconds */
};

struct conf_target {
	char *name;
	const struct target_driver *driver;
	void *driver_conf;
	struct auth *auth;	/* NULL: no credentials sent */
	char *url;
	struct mapping *mapping;
	bool enabled;
	long connect_timeout_ms;
	long timeout_ms;
	unsigned max_inflight;
	size_t max_response;
	double rate_limit;	/* requests/s; 0 = none until the API throttles */
	double burst;
	unsigned max_retries;	/* per member and cycle, for transient failures */
	double retry_delay;	/* seconds before the first retry; doubles */
	double retry_max_delay;
	double max_wait;	/* longest Retry-After waited out within a cycle */
	unsigned batch_size;	/* members per batched add */
};

struct conf {
	char *path;
	char *dir;
	struct conf_source source;
	struct conf_target **targets;
	size_t n_targets;
	char *state_dir;
	int log_priority;
};

/* Loads and validates `path`. Every error and warning goes to d. Returns 0
 * and *out, or -EINVAL (config errors, d->errors > 0) or -errno. */
int conf_load(const char *path, struct conf **out, struct diag *d);
void conf_free(struct conf *c);

const struct conf_target *conf_find_target(const struct conf *c, const char *name);
/* state_dir + "/state.db"; caller frees. */
char *conf_state_path(const struct conf *c);

#endif
