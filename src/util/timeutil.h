/* Clocks: wall time for records operators read, monotonic time for intervals. */
#ifndef MS_UTIL_TIMEUTIL_H
#define MS_UTIL_TIMEUTIL_H

#include <stdint.h>

int64_t time_now_unix(void);		/* seconds since the epoch (CLOCK_REALTIME) */
uint64_t time_now_mono_usec(void);	/* CLOCK_MONOTONIC in microseconds */

#endif
