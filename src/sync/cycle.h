/* One sync cycle: read the directory (only what changed since the stored
 * cursor, when the source can tell), map every entry for every enabled
 * target, plan against the state cache, push, record the run, and store
 * the new cursor once everything the read brought is committed. The read
 * is synchronous (with timeouts and per-page progress); pushes run on the
 * event loop, and the cycle reports completion from the loop. */
#ifndef MS_SYNC_CYCLE_H
#define MS_SYNC_CYCLE_H

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config/conf.h"
#include "http/http.h"
#include "ldap/source.h"
#include "log.h"
#include "state/state.h"
#include "sync/push.h"
#include "targets/target.h"

/* One target's part of a cycle. */
struct cycle_target_report {
	const char *name;	/* the conf target's */
	bool ran;		/* enabled, so planned (and pushed unless a dry run) */
	/* "ok", "partial", "paused", "held", "stopped" or "source-failed"
	 * (static), as `membersync status` shows it. */
	const char *result;
	struct push_stats push;	/* zero when nothing was pushed; last_error borrowed */
};

struct cycle_report {
	unsigned number;
	bool source_ok;		/* the directory read completed */
	const char *method;	/* "syncrepl", "usn", "full" or "live" (static) */
	bool incremental;	/* only changes were read */
	size_t entries;
	size_t skipped_entries;	/* unusable entries (no id, ...) */
	size_t gone;		/* members whose entry left the directory */
	size_t disabled, out_of_scope;	/* over all targets */
	size_t added, duplicate, rejected, failed, invalid_new, unchanged, stale, waiting;
	size_t found, updated, enabled, disabled_at_target, deleted, quarantined, held, blocked;
	bool work;		/* some plan had something to do (--check) */
	bool stopped;		/* cut short by a stop request */
	size_t not_attempted;	/* adds left unsent (stop, pause) */
	double seconds;
	/* Parallel to conf->targets; valid during the done callback only. */
	const struct cycle_target_report *targets;
	size_t n_targets;
};

struct cycle_params {
	const struct conf *conf;
	struct target **targets;	/* parallel to conf->targets */
	struct source *source;
	struct state *state;
	struct http_engine *http;
	/* Per conf target, the engine its pushes send on (an observed view
	 * of http, for metrics); NULL, or a NULL entry: http. */
	struct http_engine **target_http;
	struct logger *log;
	sd_event *event;
	unsigned number;
	bool dry_run;		/* print the plan to plan_out, change nothing */
	bool plan_counts_only;	/* dry run: print only each target's counts */
	/* Read everything even if the stored cursor allows reading changes. */
	bool force_full;
	/* Live mode: run these collected changes instead of reading. */
	const struct source_batch *batch;
	FILE *plan_out;
	/* Progress text for STATUS=; also called during long reads. */
	void (*status)(void *ud, const char *text);
	/* Called right after a complete directory read (may be NULL). */
	void (*read_done)(void *ud);
	/* Called once, from the event loop, when the cycle is over. */
	void (*done)(void *ud, const struct cycle_report *report);
	void *ud;
};

struct cycle;

/* Runs the read and plan now and starts the pushes. */
struct cycle *cycle_start(const struct cycle_params *params);
/* Finish in-flight requests, send no more, then report. */
void cycle_stop(struct cycle *c);
void cycle_free(struct cycle *c);

#endif
