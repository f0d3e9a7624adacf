/* Retry delays: exponential with "equal jitter" (half fixed, half random),
 * so retries spread out instead of arriving at the API in waves. */
#ifndef MS_HTTP_BACKOFF_H
#define MS_HTTP_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `attempt` (1 = the first retry):
 * min(max, base * 2^(attempt-1)) * (0.5 + rnd/2), rnd in [0, 1]. */
uint64_t backoff_delay_usec(unsigned attempt, uint64_t base_usec, uint64_t max_usec, double rnd);
/* A uniformly random double in [0, 1), from the kernel's generator. */
double backoff_random(void);

#endif
