#include "config.h"

#include "http/backoff.h"

#include <stdlib.h>

uint64_t backoff_delay_usec(unsigned attempt, uint64_t base_usec, uint64_t max_usec, double rnd)
{
	uint64_t d = base_usec;
	for (unsigned i = 1; i < attempt && d < max_usec; i++)
		d *= 2;
	if (d > max_usec)
		d = max_usec;
	if (rnd < 0)
		rnd = 0;
	if (rnd > 1)
		rnd = 1;
	uint64_t half = d / 2;
	return half + (uint64_t)((double)half * rnd);
}

double backoff_random(void)
{
	return (double)arc4random() / 4294967296.0;
}
