/*
 * Per-API rate limits: a sliding window like the real gateways keep, so a
 * test can check that the daemon backs off and honours Retry-After.
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sim_ratelimit_set(struct sim *sim, int api, unsigned int limit,
		       unsigned int window_ms)
{
	struct sim_ratelimit *rl = &sim->ratelimits[api];

	free(rl->admitted);
	rl->admitted = limit ? sim_xcalloc(limit, sizeof(*rl->admitted)) : NULL;
	rl->limit = limit;
	rl->window_ms = limit ? window_ms : 0;
	rl->head = 0;
	rl->len = 0;
}

void sim_ratelimits_clear(struct sim *sim)
{
	for (int i = 0; sim_apis[i]; i++)
		sim_ratelimit_set(sim, i, 0, 0);
}

/* Whether the i-th oldest admission still holds a slot at now. */
static bool slot_taken(const struct sim_ratelimit *rl, size_t i, uint64_t now)
{
	return rl->admitted[(rl->head + i) % rl->limit] + rl->window_ms > now;
}

bool sim_ratelimit_admit(struct sim *sim, int api, uint64_t now,
			 unsigned int *retry_after_s)
{
	struct sim_ratelimit *rl = &sim->ratelimits[api];
	uint64_t wait_ms;

	if (!rl->limit)
		return true;
	while (rl->len && !slot_taken(rl, 0, now)) {
		rl->head = (rl->head + 1) % rl->limit;
		rl->len--;
	}
	if (rl->len < rl->limit) {
		rl->admitted[(rl->head + rl->len) % rl->limit] = now;
		rl->len++;
		return true;
	}
	rl->throttled++;
	/* The oldest admission frees its slot first; a client that waits
	 * the whole Retry-After is sure to get in. */
	wait_ms = rl->admitted[rl->head] + rl->window_ms - now;
	*retry_after_s = (unsigned int)((wait_ms + 999) / 1000);
	if (!*retry_after_s)
		*retry_after_s = 1;
	return false;
}

json_object *sim_ratelimits_dump(const struct sim *sim, uint64_t now)
{
	json_object *obj = json_object_new_object();

	for (int i = 0; sim_apis[i]; i++) {
		const struct sim_ratelimit *rl = &sim->ratelimits[i];
		json_object *o;
		size_t n = 0;

		if (!rl->limit)
			continue;
		/* Counted, not pruned: dumping must not change the state. */
		for (size_t j = 0; j < rl->len; j++) {
			if (slot_taken(rl, j, now))
				n++;
		}
		o = json_object_new_object();
		json_object_object_add(o, "limit", json_object_new_int64(rl->limit));
		json_object_object_add(o, "window_ms", json_object_new_int64(rl->window_ms));
		json_object_object_add(o, "in_window", json_object_new_uint64(n));
		json_object_object_add(obj, sim_apis[i]->name, o);
	}
	return obj;
}

json_object *sim_throttled_dump(const struct sim *sim)
{
	json_object *obj = json_object_new_object();

	/* Every API, so a test reads 0 rather than null. */
	for (int i = 0; sim_apis[i]; i++)
		json_object_object_add(obj, sim_apis[i]->name,
				       json_object_new_uint64(sim->ratelimits[i].throttled));
	return obj;
}

static int parse_uint(const char *s, size_t len, unsigned int max, unsigned int *out)
{
	uint64_t n = 0;

	/* ten digits cannot overflow 64 bits */
	if (!len || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n > max)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

int sim_ratelimit_parse(const char *spec, struct sim_ratelimit_spec *out)
{
	const char *eq = strchr(spec, '=');
	const char *slash;
	char *name;
	int api;

	if (!eq)
		return -EINVAL;
	slash = strchr(eq + 1, '/');
	if (!slash)
		return -EINVAL;
	name = sim_xstrndup(spec, (size_t)(eq - spec));
	api = sim_api_index(name);
	free(name);
	if (api < 0)
		return -EINVAL;
	out->api = api;
	if (parse_uint(eq + 1, (size_t)(slash - eq - 1), SIM_RATELIMIT_MAX_LIMIT,
		       &out->limit) < 0 || !out->limit)
		return -EINVAL;
	if (parse_uint(slash + 1, strlen(slash + 1), SIM_RATELIMIT_MAX_WINDOW_MS,
		       &out->window_ms) < 0 || !out->window_ms)
		return -EINVAL;
	return 0;
}
