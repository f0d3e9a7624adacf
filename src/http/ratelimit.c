#include "config.h"

#include "http/ratelimit.h"

#include <math.h>

#define RATELIMIT_FLOOR 0.1
/* Send rates are estimated over at least this long: a refusal after the
 * first few requests says little about the rate the API allows. */
#define RATELIMIT_MIN_WINDOW_USEC 100000u
/* A learnt rate that grows this far without objection is dropped. */
#define RATELIMIT_RELEARN 4

static double rl_burst_for(double rate, double burst)
{
	if (burst > 0)
		return burst;
	return rate >= 1 ? rate : 1;
}

void ratelimit_init(struct ratelimit *rl, double rate, double burst, uint64_t now_usec)
{
	*rl = (struct ratelimit){
		.max_rate = rate, .ceiling = rate, .rate = rate, .burst = rl_burst_for(rate, burst),
		.last_usec = now_usec, .window_start = now_usec,
	};
	rl->tokens = rl->burst;
}

static void rl_refill(struct ratelimit *rl, uint64_t now)
{
	if (now > rl->last_usec) {
		rl->tokens += rl->rate * (double)(now - rl->last_usec) / 1e6;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_usec = now;
}

static void rl_observe(struct ratelimit *rl, uint64_t now)
{
	if (now - rl->window_start >= 1000000u) {
		double secs = (double)(now - rl->window_start) / 1e6;
		rl->observed = rl->window_sends / secs;
		rl->window_start = now;
		rl->window_sends = 0;
	}
	rl->window_sends++;
}

uint64_t ratelimit_take(struct ratelimit *rl, uint64_t now_usec)
{
	rl_observe(rl, now_usec);
	if (rl->rate <= 0)
		return 0;
	rl_refill(rl, now_usec);
	if (rl->tokens >= 1) {
		rl->tokens -= 1;
		return 0;
	}
	rl->window_sends--;
	double need = (1 - rl->tokens) / rl->rate;
	return (uint64_t)ceil(need * 1e6);
}

void ratelimit_throttled(struct ratelimit *rl, uint64_t now_usec)
{
	if (rl->rate <= 0) {
		/* No limit was configured: start from half of what we were
		 * sending when the API objected. */
		uint64_t span = now_usec - rl->window_start;
		if (span < RATELIMIT_MIN_WINDOW_USEC)
			span = RATELIMIT_MIN_WINDOW_USEC;
		double current = rl->window_sends * 1e6 / (double)span;
		double seen = rl->observed > current ? rl->observed : current;
		rl->ceiling = seen > 2 * RATELIMIT_FLOOR ? seen : 2 * RATELIMIT_FLOOR;
		rl->rate = rl->ceiling;
		rl->burst = rl_burst_for(rl->ceiling, 0);
		rl->tokens = 0;
		rl->last_usec = now_usec;
	} else {
		rl_refill(rl, now_usec);
	}
	rl->rate /= 2;
	if (rl->rate < RATELIMIT_FLOOR)
		rl->rate = RATELIMIT_FLOOR;
	/* A throttled API wants a pause, not an immediate burst. */
	if (rl->tokens > 1)
		rl->tokens = 1;
}

void ratelimit_success(struct ratelimit *rl)
{
	if (rl->rate <= 0)
		return;
	if (rl->max_rate > 0) {
		if (rl->rate < rl->max_rate)
			rl->rate += rl->max_rate / 50;
		if (rl->rate > rl->max_rate)
			rl->rate = rl->max_rate;
		return;
	}
	rl->rate += rl->ceiling / 100;
	rl->burst = rl->rate >= 1 ? rl->rate : 1;
	if (rl->rate >= RATELIMIT_RELEARN * rl->ceiling)
		rl->rate = 0;
}

double ratelimit_rate(const struct ratelimit *rl)
{
	return rl->rate;
}
