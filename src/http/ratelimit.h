/* Per-target request rate limit: a token bucket whose rate adapts, halving
 * when the API says "slow down" and growing back additively with each
 * success (AIMD), so a throttled target settles just under its real limit.
 * A configured rate is never exceeded. Without one the target is unlimited
 * until the API first objects; the rate learnt then keeps growing while
 * the API accepts it and becomes unlimited again at four times what was
 * learnt, so one early refusal does not slow a fast API for good.
 * Pure: the caller passes the time, which keeps it exactly testable. */
#ifndef MS_HTTP_RATELIMIT_H
#define MS_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	double max_rate;	/* configured requests/s; 0 = no limit configured */
	double ceiling;		/* configured: max_rate; else the rate learnt */
	double rate;		/* current rate; 0 = unlimited */
	double burst;		/* bucket size */
	double tokens;
	uint64_t last_usec;
	/* For targets without a configured limit: sends in the current
	 * second, to learn a starting rate when first throttled. */
	uint64_t window_start;
	unsigned window_sends;
	double observed;
};

/* rate 0 = unlimited until the API throttles; burst 0 = max(1, rate). */
void ratelimit_init(struct ratelimit *rl, double rate, double burst, uint64_t now_usec);
/* Takes one token: returns 0, or how many microseconds until one is
 * available (nothing is taken then). */
uint64_t ratelimit_take(struct ratelimit *rl, uint64_t now_usec);
/* The API throttled us: halve the rate (not below 0.1/s). */
void ratelimit_throttled(struct ratelimit *rl, uint64_t now_usec);
/* A request went through: grow the rate by a fiftieth of the configured
 * rate (up to it), or a hundredth of the learnt one. */
void ratelimit_success(struct ratelimit *rl);
/* Current rate in requests/s (0 = unlimited). */
double ratelimit_rate(const struct ratelimit *rl);

#endif
