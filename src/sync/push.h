/* Push: carries out one target's plan on the shared HTTP engine. A member
 * moves through its driver's steps for its op (lookups, the add or update,
 * batched adds, deprovisioning); the
 * push keeps at most max_inflight requests out, within the target's
 * adaptive rate limit, fetches auth tokens when the provider needs one,
 * retries transient failures with backoff, waits out Retry-After, and
 * splits atomic batches that fail. Every request that may create a member
 * is recorded `pending` (committed) before it is sent, and every outcome
 * when it arrives (the answers that arrive together in one transaction),
 * so a crash loses nothing. */
#ifndef MS_SYNC_PUSH_H
#define MS_SYNC_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "http/http.h"
#include "log.h"
#include "state/state.h"
#include "sync/plan.h"
#include "targets/target.h"

struct push_stats {
	size_t total;		/* members with a request to send */
	size_t finished;	/* members with a final outcome this cycle */
	size_t requests;	/* HTTP requests sent, lookups and retries included */
	size_t added;
	size_t duplicate;
	size_t found;		/* interrupted adds the target turned out to have */
	size_t updated;
	size_t enabled;
	size_t disabled;
	size_t deleted;
	size_t rejected;	/* the API said invalid */
	size_t failed;		/* gave up for this cycle (retries spent, auth, ...) */
	size_t quarantined;	/* of those, now quarantined */
	size_t retries;		/* requests repeated after a transient failure */
	size_t throttled;	/* answers asking us to slow down */
	size_t recorded;	/* invalid entries recorded, errors cleared */
	bool paused;		/* the target stopped early this cycle */
	char *last_error;	/* the last failure this cycle, for `membersync status` */
};

struct push;
typedef void (*push_done_fn)(void *ud);

struct push_params {
	struct target *target;
	const struct plan *plan;	/* must outlive the push */
	struct state *state;
	struct http_engine *http;
	struct logger *log;
	sd_event *event;
	push_done_fn done;		/* called once, from the event loop */
	push_done_fn progress;		/* after answers were handled; may be NULL */
	void *ud;
};

/* Records the plan's non-HTTP actions at once and starts the adds from the
 * event loop. With nothing to send the push is finished at once (see
 * push_finished) and `done` is not called. */
struct push *push_start(const struct push_params *params);
/* Sends nothing more; requests in flight are answered and recorded, then
 * done is called. With nothing in flight the push is finished at once and
 * done is not called (check push_finished). */
void push_stop(struct push *p);
bool push_finished(const struct push *p);
const struct push_stats *push_get_stats(const struct push *p);
void push_free(struct push *p);

#endif
