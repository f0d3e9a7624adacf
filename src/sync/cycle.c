#include "config.h"

#include "log_ids.h"
#include "sync/cycle.h"
#include "sync/plan.h"
#include "sync/push.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

struct cycle {
	struct cycle_params params;
	struct plan **plans;		/* one per conf target; NULL when disabled */
	struct push **pushes;
	size_t n_targets;
	struct cycle_report report;
	sd_event_source *finish;
	uint64_t started_usec;
	int64_t started_at;
	uint64_t last_status_usec;
	bool reported;
};

static void cycle_status(struct cycle *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cycle_status(struct cycle *c, const char *fmt, ...)
{
	if (!c->params.status)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	c->params.status(c->params.ud, text);
	free(text);
}

static int cycle_on_entry(void *ud, const struct entry *e)
{
	struct cycle *c = ud;
	const struct conf *conf = c->params.conf;
	int64_t now = time_now_unix();

	for (size_t i = 0; i < c->n_targets; i++) {
		struct plan *p = c->plans[i];
		if (!p)
			continue;
		const struct conf_target *t = conf->targets[i];
		struct mapped m = { 0 };
		struct state_member ex;
		mapping_apply(t->mapping, e, &m);
		int r = state_get_member(c->params.state, t->name, e->id, &ex);
		if (r < 0 && r != -ENOENT) {
			log_error(c->params.log, "%s: cannot read the state database: %s", t->name,
				  state_errmsg(c->params.state));
			mapped_clear(&m);
			return -EIO;
		}
		plan_entry(p, e, &m, r == 0 ? &ex : NULL, now);
		if (r == 0)
			state_member_clear(&ex);
		mapped_clear(&m);
	}
	return 0;
}

static void cycle_on_skipped(void *ud, const char *dn, const char *reason)
{
	struct cycle *c = ud;
	/* These cannot be recorded in the state cache (no id), so say it once
	 * per daemon run, then only at debug level. */
	int prio = c->params.number == 1 ? LOG_WARNING : LOG_DEBUG;
	struct log_fields f = { .message_id = MSGID_MEMBER_SKIPPED, .dn = dn, .action = "skip", .result = "no-id" };
	log_event(c->params.log, prio, &f, "skipping directory entry %s: %s", dn, reason);
}

static void cycle_on_progress(void *ud, size_t entries)
{
	struct cycle *c = ud;
	/* A long read blocks the loop; each page is proof of life. */
	sd_notify(0, "WATCHDOG=1");
	cycle_status(c, "cycle %u: reading the directory (%zu entries)", c->params.number, entries);
}

static void cycle_push_status(struct cycle *c, bool force)
{
	uint64_t now = time_now_mono_usec();
	if (!force && now - c->last_status_usec < 1000000)
		return;
	c->last_status_usec = now;
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "cycle %u: pushing", c->params.number);
	for (size_t i = 0; i < c->n_targets; i++) {
		if (!c->pushes[i])
			continue;
		const struct push_stats *s = push_get_stats(c->pushes[i]);
		sbuf_addf(&sb, " %s %zu/%zu, %zu failed;", c->params.conf->targets[i]->name, s->finished, s->total,
			    s->failed);
	}
	if (sb.len && sb.buf[sb.len - 1] == ';')
		sb.buf[--sb.len] = '\0';
	cycle_status(c, "%s", sb.buf);
	sbuf_release(&sb);
}

static void cycle_log_summary(struct cycle *c)
{
	struct cycle_report *r = &c->report;
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "cycle %u %s in %.1f s: %zu entries", r->number,
		    !r->source_ok ? "failed to read the directory" : r->stopped ? "stopped" : "finished", r->seconds,
		    r->entries);
	if (r->skipped_entries)
		sbuf_addf(&sb, " (%zu unusable)", r->skipped_entries);
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct plan *p = c->plans[i];
		if (!p)
			continue;
		const struct push_stats *s = c->pushes[i] ? push_get_stats(c->pushes[i]) : NULL;
		sbuf_addf(&sb, "; %s: %zu added, %zu already there, %zu rejected, %zu failed, %zu invalid, "
				 "%zu unchanged",
			    p->target->name, s ? s->added : 0, s ? s->duplicate : 0, s ? s->rejected : 0,
			    s ? s->failed : 0, p->counts.invalid_new + p->counts.invalid_known, p->counts.unchanged);
		if (p->counts.stale)
			sbuf_addf(&sb, ", %zu changed but not updatable", p->counts.stale);
		if (p->counts.waiting)
			sbuf_addf(&sb, ", %zu waiting to retry", p->counts.waiting);
		if (s && s->throttled)
			sbuf_addf(&sb, ", %zu throttled answers", s->throttled);
		if (s && s->retries)
			sbuf_addf(&sb, ", %zu retries", s->retries);
		if (s && s->finished < s->total)
			sbuf_addf(&sb, ", %zu not attempted", s->total - s->finished);
	}
	struct log_fields f = { .message_id = MSGID_CYCLE_FINISHED,
				.result = !r->source_ok ? "source-failed" : r->stopped ? "stopped"
								      : r->failed ? "partial" : "ok" };
	log_event(c->params.log, r->source_ok ? LOG_INFO : LOG_ERR, &f, "%s", sb.buf);
	sbuf_release(&sb);
}

static void cycle_tally(struct cycle *c)
{
	struct cycle_report *r = &c->report;
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct plan *p = c->plans[i];
		if (!p)
			continue;
		r->invalid_new += p->counts.invalid_new;
		r->unchanged += p->counts.unchanged;
		r->stale += p->counts.stale;
		r->waiting += p->counts.waiting;
		if (!c->pushes[i])
			continue;
		const struct push_stats *s = push_get_stats(c->pushes[i]);
		r->not_attempted += s->total - s->finished;
		r->added += s->added;
		r->duplicate += s->duplicate;
		r->rejected += s->rejected;
		r->failed += s->failed;
	}
}

static int cycle_on_finish(sd_event_source *s, void *ud)
{
	struct cycle *c = ud;
	if (c->reported)
		return 0;
	c->reported = true;
	struct cycle_report *r = &c->report;
	cycle_tally(c);
	r->seconds = (double)(time_now_mono_usec() - c->started_usec) / 1e6;
	if (!c->params.dry_run) {
		cycle_log_summary(c);
		struct state_run run = {
			.started_at = c->started_at, .finished_at = time_now_unix(),
			.result = !r->source_ok ? "source-failed" : r->stopped ? "stopped" : r->failed ? "partial" : "ok",
			.entries = (long)r->entries, .adds = (long)(r->added + r->duplicate),
			.skipped = (long)(r->invalid_new + r->rejected), .failed = (long)r->failed,
		};
		if (state_record_run(c->params.state, &run) < 0)
			log_warning(c->params.log, "cannot record the run in the state database: %s",
				    state_errmsg(c->params.state));
	}
	c->params.done(c->params.ud, r);
	return 0;
}

static void cycle_check_finished(struct cycle *c)
{
	for (size_t i = 0; i < c->n_targets; i++)
		if (c->pushes[i] && !push_finished(c->pushes[i]))
			return;
	sd_event_source_set_enabled(c->finish, SD_EVENT_ONESHOT);
}

static void cycle_on_push_progress(void *ud)
{
	cycle_push_status(ud, false);
}

static void cycle_on_push_done(void *ud)
{
	struct cycle *c = ud;
	cycle_push_status(c, true);
	cycle_check_finished(c);
}

struct cycle *cycle_start(const struct cycle_params *params)
{
	struct cycle *c = XNEW(struct cycle);
	const struct conf *conf = params->conf;
	struct source_result res;
	char *err = NULL;

	c->params = *params;
	c->report.number = params->number;
	c->started_usec = time_now_mono_usec();
	c->started_at = time_now_unix();
	c->n_targets = conf->n_targets;
	c->plans = xcalloc(c->n_targets, sizeof(*c->plans));
	c->pushes = xcalloc(c->n_targets, sizeof(*c->pushes));
	if (sd_event_add_defer(params->event, &c->finish, cycle_on_finish, c) < 0)
		abort();
	sd_event_source_set_enabled(c->finish, SD_EVENT_OFF);

	for (size_t i = 0; i < c->n_targets; i++)
		if (conf->targets[i]->enabled)
			c->plans[i] = plan_new(conf->targets[i]);

	if (!params->dry_run) {
		struct log_fields f = { .message_id = MSGID_CYCLE_STARTED };
		log_event(params->log, LOG_INFO, &f, "cycle %u started", params->number);
	}
	cycle_status(c, "cycle %u: reading the directory", params->number);
	struct source_sink sink = {
		.entry = cycle_on_entry, .skipped = cycle_on_skipped, .progress = cycle_on_progress, .ud = c,
	};
	int r = source_read(params->source, &sink, &res, &err);
	c->report.entries = res.entries;
	c->report.skipped_entries = res.skipped;
	c->report.source_ok = r == 0 && res.complete;
	if (c->report.source_ok && params->read_done)
		params->read_done(params->ud);
	if (r < 0) {
		struct log_fields f = { .message_id = MSGID_SOURCE_UNREACHABLE, .result = "source-failed" };
		log_event(params->log, LOG_ERR, &f, "cannot read the directory: %s", err);
		free(err);
		/* Members read before the failure are real; their adds are
		 * safe. Nothing here ever removes members, and later
		 * deprovisioning must look at source_ok. */
		if (res.entries == 0) {
			cycle_check_finished(c);
			return c;
		}
	}
	if (params->dry_run) {
		for (size_t i = 0; i < c->n_targets; i++)
			if (c->plans[i])
				plan_print(c->plans[i], params->plan_out);
		fflush(params->plan_out);
		cycle_check_finished(c);
		return c;
	}
	for (size_t i = 0; i < c->n_targets; i++) {
		if (!c->plans[i])
			continue;
		struct push_params pp = {
			.target = params->targets[i], .plan = c->plans[i], .state = params->state,
			.http = params->http, .log = params->log, .event = params->event, .done = cycle_on_push_done,
			.progress = cycle_on_push_progress, .ud = c,
		};
		c->pushes[i] = push_start(&pp);
	}
	cycle_push_status(c, true);
	cycle_check_finished(c);
	return c;
}

void cycle_stop(struct cycle *c)
{
	c->report.stopped = true;
	for (size_t i = 0; i < c->n_targets; i++)
		if (c->pushes[i])
			push_stop(c->pushes[i]);
	cycle_check_finished(c);
}

void cycle_free(struct cycle *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_targets; i++) {
		push_free(c->pushes[i]);
		plan_free(c->plans[i]);
	}
	free(c->pushes);
	free(c->plans);
	sd_event_source_disable_unref(c->finish);
	free(c);
}
