#include "config.h"

#include "targets/target.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>

/* A configured rate_limit is paced a little under: the API counts
 * requests as they arrive, and one delayed by a few milliseconds on the
 * way lands in the next second's window, which at exactly the limit is
 * one too many (measured against DingTalk's simulated gateway: a refusal
 * every few seconds, each halving the rate). */
#define TARGET_RATE_PACE 0.97

struct target *target_new(const struct conf_target *conf, struct state *st)
{
	struct target *t = XNEW(struct target);
	t->conf = conf;
	t->state = st;
	t->auth = auth_session_new(conf->auth);
	ratelimit_init(&t->rl, conf->rate_limit * TARGET_RATE_PACE, conf->burst, time_now_mono_usec());
	if (conf->driver->open)
		t->drv = conf->driver->open(t);
	return t;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	if (t->conf->driver->close)
		t->conf->driver->close(t->drv);
	auth_session_free(t->auth);
	free(t);
}

int target_identity_get(struct target *t, const char *key, char **id)
{
	return state_identity_get(t->state, t->conf->name, key, id);
}

void target_identity_put(struct target *t, const char *key, const char *id)
{
	/* A cache: losing an entry costs one lookup, so failures are not
	 * worth stopping for. */
	state_identity_put(t->state, t->conf->name, key, id, time_now_unix());
}

void target_identity_forget(struct target *t, const char *key)
{
	state_identity_delete(t->state, t->conf->name, key);
}

int64_t target_paused_until(struct target *t, char **reason)
{
	int64_t until = 0;
	*reason = NULL;
	if (state_pause_get(t->state, t->conf->name, &until, reason) < 0)
		return 0;
	return until;
}

int target_pause_until(struct target *t, int64_t until, const char *reason)
{
	return state_pause_set(t->state, t->conf->name, until, reason);
}
