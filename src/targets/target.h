/* A target at run time: its configuration plus what lives across cycles
 * (the auth token cache, the adapted request rate, a pause the API asked
 * for, the driver's own state). The daemon owns one per configured target
 * and rebuilds them on reload. */
#ifndef MS_TARGETS_TARGET_H
#define MS_TARGETS_TARGET_H

#include <stdint.h>

#include "config/conf.h"
#include "http/ratelimit.h"
#include "state/state.h"
#include "targets/auth.h"

struct target {
	const struct conf_target *conf;
	struct state *state;
	struct auth_session *auth;
	struct ratelimit rl;
	uint64_t resume_at;	/* monotonic usec: send nothing before (Retry-After) */
	/* Monotonic usec: no cycle sends anything before (refused
	 * credentials, auth_pause). Not kept across restarts and reloads:
	 * fixing the credentials takes one of those. */
	uint64_t auth_paused_until;
	void *drv;		/* the driver's runtime state */
};

/* The target keeps pointers to conf and st, which must outlive it. */
struct target *target_new(const struct conf_target *conf, struct state *st);
void target_free(struct target *t);

/* The identity cache (email -> the API's user id) for drivers that
 * resolve ids. get returns 0 and *id (caller frees) or -ENOENT. */
int target_identity_get(struct target *t, const char *key, char **id);
void target_identity_put(struct target *t, const char *key, const char *id);
/* Drops a cached id the API has just refused (the person may be gone). */
void target_identity_forget(struct target *t, const char *key);

/* A pause until a wall-clock time (a monthly quota), kept in the state
 * database so a restart does not hammer the API. */
int64_t target_paused_until(struct target *t, char **reason);
int target_pause_until(struct target *t, int64_t until, const char *reason);

#endif
