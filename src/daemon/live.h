/* Live change tracking: the source's syncrepl refreshAndPersist search,
 * watched by the event loop. Changes are collected into a batch, and the
 * daemon is told as soon as one is ready, so it can run it as a cycle
 * while the next changes collect. */
#ifndef MS_DAEMON_LIVE_H
#define MS_DAEMON_LIVE_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "ldap/source.h"
#include "log.h"

struct live_callbacks {
	/* Changes are waiting (live_take them). */
	void (*ready)(void *ud);
	/* The search ended (connection lost, server refused); it is stopped
	 * and the changes not yet taken are dropped: they are read again from
	 * the last stored cursor. */
	void (*ended)(void *ud);
	void *ud;
};

struct live;

struct live *live_new(sd_event *event, struct logger *log, const struct live_callbacks *cb);
/* Stops the search first. NULL is a no-op. */
void live_free(struct live *l);

/* Starts the search on source s (which must outlive it, or be stopped
 * first) from `cursor`. Returns 0 or -errno (logged). */
int live_start(struct live *l, struct source *s, const char *cursor);
void live_stop(struct live *l);
bool live_running(const struct live *l);

/* Whether entries or deletions are waiting. */
bool live_has_changes(const struct live *l);
/* The changes collected so far (caller frees with source_batch_free), or
 * NULL when there are none. */
struct source_batch *live_take(struct live *l);

#endif
