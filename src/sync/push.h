/* Push: carries out one target's plan. Adds go out at most max_inflight at
 * a time on the shared HTTP engine; each is recorded `pending` in the state
 * cache (committed) before its request is sent and gets its outcome
 * recorded when the answer arrives, so a crash at any point loses nothing. */
#ifndef MS_SYNC_PUSH_H
#define MS_SYNC_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "log.h"
#include "state/state.h"
#include "sync/plan.h"

struct push_stats {
	size_t total;		/* adds in the plan */
	size_t sent;		/* requests issued */
	size_t added;
	size_t duplicate;
	size_t rejected;	/* the API said invalid */
	size_t failed;		/* transient, throttled, auth, permanent */
	size_t recorded;	/* invalid entries recorded, errors cleared */
	bool paused;		/* stopped early: auth refused, throttled or state failure */
};

struct push;
typedef void (*push_done_fn)(void *ud);

struct push_params {
	const struct conf_target *target;
	const struct plan *plan;	/* must outlive the push */
	struct state *state;
	struct http_engine *http;
	struct logger *log;
	push_done_fn done;		/* called once, from the event loop */
	push_done_fn progress;		/* after each answer; may be NULL */
	void *ud;
};

/* Records the non-HTTP actions at once and starts sending adds. Returns
 * the push; when it has nothing to send it is already finished (see
 * push_finished) and `done` will not be called. */
struct push *push_start(const struct push_params *params);
/* Stops issuing requests; in-flight ones complete and are recorded, then
 * done is called. With nothing in flight the push is finished at once and
 * done is not called (check push_finished). */
void push_stop(struct push *p);
bool push_finished(const struct push *p);
const struct push_stats *push_get_stats(const struct push *p);
void push_free(struct push *p);

#endif
