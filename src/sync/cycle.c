#include "config.h"

#include "log_ids.h"
#include "sync/cycle.h"
#include "sync/plan.h"
#include "sync/push.h"
#include "util/sbuf.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* Gone entries named one by one in the log before a summary takes over. */
#define CYCLE_GONE_LOGGED 20

struct cycle_scope {
	int *index;		/* source scope indexes of the target's groups */
	size_t n;
};

struct cycle {
	struct cycle_params params;
	struct plan **plans;		/* one per conf target; NULL when disabled */
	struct push **pushes;
	struct cycle_scope *scopes;	/* per target */
	size_t n_targets;
	struct cycle_report report;
	struct cycle_target_report *target_reports;	/* per target */
	struct source_result read;
	struct strmap *seen;		/* ids planned this cycle */
	struct strmap *gone;		/* ids reported gone */
	struct strmap *back;		/* ids seen again after being gone */
	struct strmap *renamed;		/* id -> new DN (owned) */
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

static bool cycle_in_scope(const struct cycle *c, size_t target, const struct entry *e)
{
	const struct cycle_scope *sc = &c->scopes[target];
	if (sc->n == 0)
		return true;
	for (size_t i = 0; i < sc->n; i++)
		if (source_in_scope(c->params.source, sc->index[i], e))
			return true;
	return false;
}

static int cycle_on_entry(void *ud, const struct entry *e)
{
	struct cycle *c = ud;
	const struct conf *conf = c->params.conf;
	int64_t now = time_now_unix();

	/* An entry is planned once per cycle, even when a retry fetch or a
	 * server brings it twice. */
	if (strmap_contains(c->seen, e->id))
		return 0;
	strmap_put(c->seen, e->id, NULL);
	for (size_t i = 0; i < c->n_targets; i++) {
		struct plan *p = c->plans[i];
		if (!p)
			continue;
		const struct conf_target *t = conf->targets[i];
		struct state_member ex;
		int r = state_get_member(c->params.state, t->name, e->id, &ex);
		if (r < 0 && r != -ENOENT) {
			log_error(c->params.log, "%s: cannot read the state database: %s", t->name,
				  state_errmsg(c->params.state));
			return -EIO;
		}
		if (r == 0 && ex.gone_at)
			strmap_put(c->back, e->id, NULL);
		if (r == 0 && ex.dn && strcmp(ex.dn, e->dn) != 0 && !strmap_contains(c->renamed, e->id)) {
			log_info(c->params.log, "%s was renamed to %s (same entry, id %s)", ex.dn, e->dn, e->id);
			strmap_put(c->renamed, e->id, xstrdup(e->dn));
		}
		if (e->disabled || !cycle_in_scope(c, i, e)) {
			plan_exclude(p, e, r == 0 ? &ex : NULL, e->disabled ? PLAN_DISABLED : PLAN_OUT_OF_SCOPE, now);
		} else {
			struct mapped m = { 0 };
			/* The target has the member: whatever the plan decides
			 * (unchanged, an update), no secret is sent, so none is
			 * made (a random password per entry per cycle). */
			unsigned flags = r == 0 && ex.status == MEMBER_SYNCED ? MAPPING_SKIP_SECRETS : 0;
			mapping_apply_ext(t->mapping, e, flags, &m);
			plan_entry(p, e, &m, r == 0 ? &ex : NULL, now);
			mapped_clear(&m);
		}
		if (r == 0)
			state_member_clear(&ex);
	}
	return 0;
}

static int cycle_on_deleted(void *ud, const char *id)
{
	struct cycle *c = ud;
	strmap_put(c->gone, id, NULL);
	return 0;
}

static void cycle_on_known(void *ud, void (*fn)(void *fn_ud, const char *id), void *fn_ud)
{
	struct cycle *c = ud;
	if (state_foreach_known(c->params.state, fn, fn_ud) < 0)
		log_error(c->params.log, "cannot list the members in the state database: %s",
			  state_errmsg(c->params.state));
}

static void cycle_on_notice(void *ud, const char *text)
{
	struct cycle *c = ud;
	log_notice(c->params.log, "%s", text);
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
	sbuf_addf(&sb, "cycle %u %s in %.1f s: %zu %s", r->number,
		    !r->source_ok ? "could not read the whole directory" : r->stopped ? "stopped" : "finished",
		    r->seconds, r->entries, r->incremental ? "changed entries" : "entries");
	if (r->skipped_entries)
		sbuf_addf(&sb, ", %zu unusable", r->skipped_entries);
	if (r->gone)
		sbuf_addf(&sb, ", %zu members' entries gone from the directory", r->gone);
	if (!r->source_ok)
		sbuf_addf(&sb, "; adds and updates only, nothing treated as gone");
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct plan *p = c->plans[i];
		if (!p)
			continue;
		const struct push_stats *s = c->pushes[i] ? push_get_stats(c->pushes[i]) : NULL;
		const struct plan_counts *pc = &p->counts;
		sbuf_addf(&sb, "; %s: %zu added, %zu already there, %zu updated, %zu rejected, %zu failed, "
				 "%zu invalid, %zu unchanged",
			    p->target->name, s ? s->added + s->found : 0, s ? s->duplicate : 0, s ? s->updated : 0,
			    s ? s->rejected : 0, s ? s->failed : 0, pc->invalid_new + pc->invalid_known, pc->unchanged);
		if (s && (s->disabled || s->deleted || s->enabled))
			sbuf_addf(&sb, ", %zu disabled, %zu deleted, %zu enabled again", s->disabled, s->deleted,
				    s->enabled);
		if (pc->held)
			sbuf_addf(&sb, ", %zu deprovisions HELD (over max_deprovision %ld; 'membersync approve %s')",
				    pc->held, p->limit, p->target->name);
		if (pc->blocked)
			sbuf_addf(&sb, ", %zu deprovisions not planned (%s)", pc->blocked, p->blocked_why);
		if (pc->stale)
			sbuf_addf(&sb, ", %zu changed but not updatable", pc->stale);
		if (pc->disabled)
			sbuf_addf(&sb, ", %zu disabled in the directory", pc->disabled);
		if (pc->out_of_scope)
			sbuf_addf(&sb, ", %zu not in its groups", pc->out_of_scope);
		if (pc->kept)
			sbuf_addf(&sb, ", %zu leaving members kept (deprovision = none)", pc->kept);
		if (pc->shared)
			sbuf_addf(&sb, ", %zu leaving members kept because another entry maps to the same member",
				    pc->shared);
		if (pc->waiting)
			sbuf_addf(&sb, ", %zu waiting to retry", pc->waiting);
		if (pc->quarantined || (s && s->quarantined))
			sbuf_addf(&sb, ", %zu quarantined", pc->quarantined + (s ? s->quarantined : 0));
		if (s && s->throttled)
			sbuf_addf(&sb, ", %zu throttled answers", s->throttled);
		if (s && s->retries)
			sbuf_addf(&sb, ", %zu retries", s->retries);
		if (s && s->finished < s->total)
			sbuf_addf(&sb, ", %zu not attempted", s->total - s->finished);
	}
	if (r->method)
		sbuf_addf(&sb, "; read: %s%s", r->method, r->incremental ? ", changes only" : "");
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
		r->disabled += p->counts.disabled;
		r->out_of_scope += p->counts.out_of_scope;
		r->held += p->counts.held;
		r->blocked += p->counts.blocked;
		r->quarantined += p->counts.quarantined;
		r->work |= plan_has_work(p);
		if (!c->pushes[i])
			continue;
		const struct push_stats *s = push_get_stats(c->pushes[i]);
		r->not_attempted += s->total - s->finished;
		r->added += s->added;
		r->duplicate += s->duplicate;
		r->found += s->found;
		r->updated += s->updated;
		r->enabled += s->enabled;
		r->disabled_at_target += s->disabled;
		r->deleted += s->deleted;
		r->rejected += s->rejected;
		r->failed += s->failed;
		r->quarantined += s->quarantined;
	}
}

static const char *cycle_target_result(const struct cycle *c, size_t i)
{
	const struct plan *p = c->plans[i];
	const struct push_stats *s = c->pushes[i] ? push_get_stats(c->pushes[i]) : NULL;
	return s && s->paused ? "paused" : c->report.stopped ? "stopped" : p->held ? "held"
	       : s && s->failed ? "partial" : !c->report.source_ok ? "source-failed" : "ok";
}

/* Per target, for the daemon's metrics. */
static void cycle_report_targets(struct cycle *c)
{
	for (size_t i = 0; i < c->n_targets; i++) {
		struct cycle_target_report *tr = &c->target_reports[i];
		tr->name = c->params.conf->targets[i]->name;
		tr->ran = c->plans[i] != NULL;
		tr->result = tr->ran ? cycle_target_result(c, i) : NULL;
		if (c->pushes[i])
			tr->push = *push_get_stats(c->pushes[i]);
	}
	c->report.targets = c->target_reports;
	c->report.n_targets = c->n_targets;
}

/* Per target, for `membersync status`. */
static void cycle_record_targets(struct cycle *c)
{
	struct state *st = c->params.state;
	int64_t now = time_now_unix();
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct plan *p = c->plans[i];
		if (!p)
			continue;
		const struct push_stats *s = c->pushes[i] ? push_get_stats(c->pushes[i]) : NULL;
		struct state_target_status ts = {
			.last_cycle_at = now,
			.last_result = cycle_target_result(c, i),
			.last_error = s ? s->last_error : NULL,
		};
		if (state_target_status_set(st, p->target->name, &ts) < 0)
			log_warning(c->params.log, "%s: cannot record the cycle's result in the state database: %s",
				    p->target->name, state_errmsg(st));
	}
}

/* The cursor says "everything before me is done": stored only when
 * everything the read brought was planned and every push was answered and
 * recorded. A failed push is recorded with its retry time and fetched
 * again when due, so it does not hold the cursor back. */
static void cycle_commit_cursor(struct cycle *c)
{
	const struct cycle_report *r = &c->report;
	struct state *st = c->params.state;
	int64_t now = time_now_unix();
	int rc = 0;

	if (!r->source_ok || r->stopped || r->not_attempted)
		return;
	rc |= state_begin(st);
	if (!c->params.batch || c->read.cursor)
		rc |= state_cursor_set(st, "cursor", c->read.cursor, now);
	if (!c->params.batch) {
		rc |= state_cursor_set(st, "fingerprint", c->params.conf->fingerprint, now);
		if (!c->read.incremental) {
			char at[24];
			snprintf(at, sizeof(at), "%" PRId64, now);
			rc |= state_cursor_set(st, "full-read-at", at, now);
		}
	}
	if (rc == 0)
		rc = state_commit(st);
	if (rc != 0) {
		log_warning(c->params.log, "cannot store the change tracking cursor: %s; the next cycle reads "
					   "these changes again",
			    state_errmsg(st));
		state_rollback(st);
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
			.entries = (long)r->entries, .adds = (long)(r->added + r->duplicate + r->found),
			.updates = (long)(r->updated + r->enabled),
			.deprovisions = (long)(r->disabled_at_target + r->deleted),
			.skipped = (long)(r->invalid_new + r->rejected), .failed = (long)r->failed,
		};
		if (state_record_run(c->params.state, &run) < 0)
			log_warning(c->params.log, "cannot record the run in the state database: %s",
				    state_errmsg(c->params.state));
		cycle_record_targets(c);
		cycle_commit_cursor(c);
	}
	cycle_report_targets(c);
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

/* Reads only changes when the stored cursor is good for this
 * configuration and a full read is not due; returns the cursor to use
 * (caller frees) or NULL, and says why a full read was chosen. */
static char *cycle_pick_cursor(struct cycle *c, bool *full, const char **why)
{
	const struct conf *conf = c->params.conf;
	struct state *st = c->params.state;
	char *cursor = NULL, *fp = NULL, *full_at = NULL;

	*full = c->params.force_full;
	*why = c->params.force_full ? "asked for" : NULL;
	state_cursor_get(st, "cursor", &cursor);
	state_cursor_get(st, "fingerprint", &fp);
	state_cursor_get(st, "full-read-at", &full_at);
	if (c->params.dry_run) {
		/* A plan shows everything, not just what changed. */
		*full = true;
		*why = "a dry run plans every entry";
	} else if (cursor && (!fp || strcmp(fp, conf->fingerprint) != 0)) {
		*full = true;
		*why = "the configuration changed what is read or how it is mapped";
	} else if (cursor && conf->source.full_sync_interval > 0) {
		/* A last full read "in the future" means the wall clock was set
		 * back: waiting for the interval would add the jump to it. */
		long long since = full_at ? (long long)time_now_unix() - strtoll(full_at, NULL, 10) : 0;
		if (!full_at || since < 0 || since >= conf->source.full_sync_interval) {
			*full = true;
			*why = since < 0 ? "the clock was set back since the last full read"
					 : "full_sync_interval has passed since the last full read";
		}
	}
	free(fp);
	free(full_at);
	return cursor;
}

struct cycle_due {
	const struct strmap *seen;
	struct strmap *ids;
};

static void cycle_collect_due(void *ud, const char *id)
{
	struct cycle_due *d = ud;
	if (!strmap_contains(d->seen, id))
		strmap_put(d->ids, id, NULL);
}

/* NULL-terminated copy of a map's keys, in no particular order. */
static char **cycle_keys(const struct strmap *m, size_t *n)
{
	*n = strmap_count(m);
	return strmap_keys(m);
}

/* A read of changes only sees members whose entries changed; members
 * whose push failed earlier are read again when their retry is due. */
static void cycle_fetch_due(struct cycle *c, const struct source_sink *sink)
{
	struct cycle_due due = { c->seen, strmap_new() };
	if (state_foreach_due(c->params.state, time_now_unix(), cycle_collect_due, &due) < 0)
		log_error(c->params.log, "cannot list the members due for a retry: %s", state_errmsg(c->params.state));
	size_t n;
	char **ids = cycle_keys(due.ids, &n);
	strmap_free(due.ids);
	if (n) {
		char *err = NULL;
		size_t before = c->read.entries;
		if (source_fetch(c->params.source, ids, n, sink, &c->read, &err) < 0) {
			log_warning(c->params.log, "cannot read the %zu members due for a retry: %s; trying again next "
						   "cycle",
				    n, err);
			c->read.complete = false;
		} else {
			log_debug(c->params.log, "read %zu of %zu members due for a retry", c->read.entries - before, n);
		}
		free(err);
	}
	strv_free(ids);
}

/* Records entries that left, came back or were renamed. Members whose
 * entries left are marked, never removed here:
 * removing people from a target is deprovisioning's decision. */
static void cycle_record_gone(struct cycle *c)
{
	struct state *st = c->params.state;
	int64_t now = time_now_unix();
	size_t n_gone, n_back;
	char **gone = cycle_keys(c->gone, &n_gone);
	char **back = cycle_keys(c->back, &n_back);
	size_t n_renamed;
	char **renamed = cycle_keys(c->renamed, &n_renamed);
	int rc = 0;

	if (c->params.dry_run || (n_gone == 0 && n_back == 0 && n_renamed == 0))
		goto out;
	rc = state_begin(st);
	for (size_t i = 0; i < n_gone && rc == 0; i++) {
		long rows = 0;
		struct state_member m;
		rc = state_mark_gone(st, gone[i], now, &rows);
		if (rc < 0 || rows == 0)
			continue;
		c->report.gone++;
		if (c->report.gone > CYCLE_GONE_LOGGED)
			continue;
		bool named = false;
		for (size_t t = 0; t < c->n_targets && !named; t++)
			if (state_get_member(st, c->params.conf->targets[t]->name, gone[i], &m) == 0) {
				struct log_fields f = { .message_id = MSGID_MEMBER_GONE, .dn = m.dn,
							.action = "gone", .result = "gone" };
				log_event(c->params.log, LOG_NOTICE, &f,
					  "%s (id %s) left the directory or the search (%ld target%s had it; each "
					  "target's deprovision policy decides)",
					  m.dn, gone[i], rows, rows == 1 ? "" : "s");
				state_member_clear(&m);
				named = true;
			}
	}
	for (size_t i = 0; i < n_back && rc == 0; i++)
		rc = state_mark_back(st, back[i], now);
	for (size_t i = 0; i < n_renamed && rc == 0; i++)
		rc = state_set_dn(st, renamed[i], strmap_get(c->renamed, renamed[i]), now);
	if (rc == 0)
		rc = state_commit(st);
	if (rc != 0) {
		log_error(c->params.log, "cannot record entries gone from the directory: %s", state_errmsg(st));
		state_rollback(st);
		/* The cursor must not move past changes that were not recorded. */
		c->report.source_ok = false;
	}
	if (c->report.gone > CYCLE_GONE_LOGGED)
		log_notice(c->params.log, "%zu more members' entries left the directory (see the members table's "
					  "gone_at)",
			   c->report.gone - CYCLE_GONE_LOGGED);
out:
	strv_free(gone);
	strv_free(back);
	strv_free(renamed);
}

/* Keeps the target's hold in step with its plan: a plan over
 * max_deprovision is stored and logged for an operator; a hold that was
 * approved and used, or is no longer needed, goes. */
static void cycle_record_hold(struct cycle *c, const struct plan *p, const struct state_hold *before,
			      long members)
{
	struct state *st = c->params.state;
	const char *tname = p->target->name;
	int r = 0;

	if (p->held) {
		struct state_hold h = {
			.held_at = time_now_unix(), .count = (long)p->counts.held, .members = members, .limit = p->limit,
			.plan = plan_held_json(p),
		};
		/* The same plan, still waiting: said once, not every cycle
		 * (live mode runs one per change). */
		if (before && !before->approved_at && before->plan && strcmp(before->plan, h.plan) == 0) {
			log_info(c->params.log, "%s: still held: %zu deprovisions wait for 'membersync approve %s'",
				 tname, p->counts.held, tname);
			state_hold_clear(&h);
			return;
		}
		r = state_hold_set(st, tname, &h);
		struct log_fields f = { .message_id = MSGID_TARGET_HELD, .target = tname, .action = "deprovision",
					.result = "held" };
		log_event(c->params.log, LOG_WARNING, &f,
			  "%s: %zu deprovisions planned, more than max_deprovision allows (%ld of %ld members); none "
			  "carried out. 'membersync plan' shows them, 'membersync approve %s' lets them run once",
			  tname, p->counts.held, p->limit, h.members, tname);
		size_t shown = 0;
		for (size_t i = 0; i < p->n && shown < CYCLE_GONE_LOGGED; i++) {
			const struct action *a = &p->actions[i];
			if (a->kind != ACTION_HELD)
				continue;
			struct log_fields af = { .message_id = MSGID_TARGET_HELD, .target = tname, .dn = a->dn,
						 .member = a->key, .action = push_op_name(a->op), .result = "held" };
			log_event(c->params.log, LOG_NOTICE, &af, "%s: held: %s %s (%s): %s", tname,
				  push_op_name(a->op), a->key ? a->key : "-", a->dn, a->reason);
			shown++;
		}
		state_hold_clear(&h);
	} else if (before && !p->counts.blocked) {
		r = state_hold_delete(st, tname);
		if (p->approved)
			log_notice(c->params.log, "%s: carrying out %zu deprovisions an operator approved", tname,
				   p->counts.push[OP_DISABLE] + p->counts.push[OP_DELETE]);
	}
	if (r < 0)
		log_error(c->params.log, "%s: cannot record the deprovisioning hold: %s", tname, state_errmsg(st));
}

/* plan->key_shared: asks the state cache. An error counts as shared:
 * keeping a member is always the safe side. */
static bool cycle_key_shared(void *ud, const struct state_member *m)
{
	struct cycle *c = ud;
	int r = state_key_shared(c->params.state, m->target, m->member_key, m->source_id);
	if (r < 0)
		log_error(c->params.log, "%s: cannot read the state database: %s", m->target,
			  state_errmsg(c->params.state));
	return r != 0;
}

struct cycle_leaving {
	struct cycle *c;
	struct plan *plan;
	struct strmap *planned;
	int64_t now;
};

static void cycle_leaving_row(void *ud, const struct state_member *m)
{
	struct cycle_leaving *l = ud;
	/* Seen in this read: planned with its entry already. */
	if (strmap_contains(l->c->seen, m->source_id) || strmap_contains(l->planned, m->source_id))
		return;
	strmap_put(l->planned, m->source_id, NULL);
	plan_leaving(l->plan, m, m->gone_at || !m->excluded ? "left the directory (or the search)" : m->excluded,
		     l->now);
}

/* Members a target may still have although their entries left the
 * directory or the target's scope: deprovision candidates, decided on by
 * plan_finish under the target's policy and max_deprovision. */
static void cycle_plan_leaving(struct cycle *c)
{
	struct state *st = c->params.state;
	size_t n_gone;
	char **gone = cycle_keys(c->gone, &n_gone);

	for (size_t i = 0; i < c->n_targets; i++) {
		struct plan *p = c->plans[i];
		if (!p)
			continue;
		const char *tname = p->target->name;
		struct cycle_leaving l = { c, p, strmap_new(), time_now_unix() };
		if (state_foreach_leaving(st, tname, cycle_leaving_row, &l) < 0)
			log_error(c->params.log, "%s: cannot list members leaving the target: %s", tname,
				  state_errmsg(st));
		/* A dry run records nothing, so this read's departures are not
		 * marked gone in the cache yet. */
		for (size_t g = 0; g < n_gone; g++) {
			struct state_member m;
			if (state_get_member(st, tname, gone[g], &m) < 0)
				continue;
			if (!m.gone_at)
				m.gone_at = l.now;
			cycle_leaving_row(&l, &m);
			state_member_clear(&m);
		}
		strmap_free(l.planned);

		long counts[MEMBER__COUNT] = { 0 };
		struct state_hold hold;
		bool held_before = state_hold_get(st, tname, &hold) == 0;
		/* A count over all the target's rows: only when it matters. */
		if (p->n_leaving)
			state_count_all(st, tname, counts);
		struct plan_limits lim = {
			.read_complete = c->report.source_ok,
			.read_empty = c->report.source_ok && !c->read.incremental && !c->params.batch &&
				      c->read.entries == 0,
			.members = counts[MEMBER_SYNCED] + counts[MEMBER_DISABLED],
			.hold = held_before ? &hold : NULL,
		};
		plan_finish(p, &lim);
		if (!c->params.dry_run)
			cycle_record_hold(c, p, held_before ? &hold : NULL, lim.members);
		state_hold_clear(&hold);
	}
	strv_free(gone);
}

static void cycle_read(struct cycle *c)
{
	const struct cycle_params *params = &c->params;
	struct source_sink sink = {
		.entry = cycle_on_entry, .skipped = cycle_on_skipped, .progress = cycle_on_progress,
		.deleted = cycle_on_deleted, .known = cycle_on_known, .notice = cycle_on_notice, .ud = c,
	};
	char *err = NULL;
	int r;

	/* The read only reads the state cache (a lookup per entry); writes
	 * (cycle_record_gone) come after it. Without a snapshot it is not
	 * a problem, just slower. */
	bool snapshot = state_read_begin(params->state) == 0;
	if (params->batch) {
		r = source_batch_deliver(params->batch, &sink, &c->read);
		c->read.method = "live";
		if (r < 0)
			err = xstrdup("a state database error stopped the changes (see above)");
	} else {
		bool full;
		const char *why;
		char *cursor = cycle_pick_cursor(c, &full, &why);
		struct source_request req = { .cursor = cursor, .full = full };
		r = source_read(params->source, &req, &sink, &c->read, &err);
		const char *reason = c->read.why_full ? c->read.why_full : full ? why : NULL;
		if (cursor && !c->read.incremental && reason)
			log_info(params->log, "cycle %u reads the whole directory: %s", params->number, reason);
		free(cursor);
		if (r == 0 && c->read.incremental && c->read.complete)
			cycle_fetch_due(c, &sink);
	}
	if (snapshot && state_read_end(params->state) < 0)
		log_warning(params->log, "cannot end the read of the state database: %s", state_errmsg(params->state));
	c->report.method = c->read.method;
	c->report.incremental = c->read.incremental;
	c->report.entries = c->read.entries;
	c->report.skipped_entries = c->read.skipped;
	c->report.source_ok = r == 0 && c->read.complete;
	if (r < 0) {
		struct log_fields f = { .message_id = MSGID_SOURCE_UNREACHABLE, .result = "source-failed" };
		/* Name the server (connection errors already do): with several
		 * URIs, or a directory that died mid-read, the operator must
		 * know which one failed. */
		const struct conf_source *cs = &params->conf->source;
		const char *uri = source_connected_uri(params->source);
		/* A broken connection is closed by now: then the configured
		 * ones (usually one). */
		if (!uri && cs->n_uris)
			uri = cs->uris[0];
		if (uri && !strstr(err, uri))
			log_event(params->log, LOG_ERR, &f, "cannot read the directory: %s (%s%s)", err, uri,
				  !source_connected_uri(params->source) && cs->n_uris > 1 ? " or another configured URI" : "");
		else
			log_event(params->log, LOG_ERR, &f, "cannot read the directory: %s", err);
		free(err);
	}
	/* Explicit deletions count even from a read that broke off later;
	 * comparisons were only made if it completed (the source's rule). */
	cycle_record_gone(c);
	if (c->report.source_ok && params->read_done)
		params->read_done(params->ud);
}

struct cycle *cycle_start(const struct cycle_params *params)
{
	struct cycle *c = XNEW(struct cycle);
	const struct conf *conf = params->conf;

	c->params = *params;
	c->report.number = params->number;
	c->started_usec = time_now_mono_usec();
	c->started_at = time_now_unix();
	c->n_targets = conf->n_targets;
	c->plans = xcalloc(c->n_targets, sizeof(*c->plans));
	c->pushes = xcalloc(c->n_targets, sizeof(*c->pushes));
	c->scopes = xcalloc(c->n_targets, sizeof(*c->scopes));
	c->target_reports = xcalloc(c->n_targets ? c->n_targets : 1, sizeof(*c->target_reports));
	c->seen = strmap_new();
	c->gone = strmap_new();
	c->back = strmap_new();
	c->renamed = strmap_new();
	if (sd_event_add_defer(params->event, &c->finish, cycle_on_finish, c) < 0)
		abort();
	sd_event_source_set_enabled(c->finish, SD_EVENT_OFF);

	for (size_t i = 0; i < c->n_targets; i++) {
		const struct conf_target *t = conf->targets[i];
		if (!t->enabled)
			continue;
		c->plans[i] = plan_new(t);
		c->plans[i]->key_shared = cycle_key_shared;
		c->plans[i]->key_shared_ud = c;
		c->scopes[i].n = t->n_groups;
		c->scopes[i].index = xcalloc(t->n_groups + 1, sizeof(int));
		for (size_t g = 0; g < t->n_groups; g++)
			c->scopes[i].index[g] = source_scope_add(params->source, t->groups[g]);
	}

	if (!params->dry_run) {
		struct log_fields f = { .message_id = MSGID_CYCLE_STARTED };
		log_event(params->log, params->batch ? LOG_DEBUG : LOG_INFO, &f, "cycle %u started%s", params->number,
			  params->batch ? " for live changes" : "");
	}
	cycle_status(c, "cycle %u: reading the directory", params->number);
	cycle_read(c);
	cycle_plan_leaving(c);
	if (!c->report.source_ok) {
		/* Members read before the failure are real; their adds are
		 * safe. Nothing here ever removes members, and later
		 * deprovisioning must look at source_ok. */
		sd_notifyf(0, "STATUS=cycle %u: the directory read did not complete; adds and updates only",
			   params->number);
		if (c->read.entries == 0 && !params->dry_run) {
			cycle_check_finished(c);
			return c;
		}
	}
	if (params->dry_run) {
		for (size_t i = 0; i < c->n_targets; i++)
			if (c->plans[i])
				plan_print(c->plans[i], params->plan_out, !params->plan_counts_only);
		fflush(params->plan_out);
		cycle_check_finished(c);
		return c;
	}
	for (size_t i = 0; i < c->n_targets; i++) {
		if (!c->plans[i])
			continue;
		struct push_params pp = {
			.target = params->targets[i], .plan = c->plans[i], .state = params->state,
			.http = params->target_http && params->target_http[i] ? params->target_http[i] : params->http,
			.log = params->log, .event = params->event, .done = cycle_on_push_done,
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

static void cycle_free_value(const char *key, void *value, void *ud)
{
	(void)key;
	(void)ud;
	free(value);
}

void cycle_free(struct cycle *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_targets; i++) {
		push_free(c->pushes[i]);
		plan_free(c->plans[i]);
		free(c->scopes[i].index);
	}
	free(c->scopes);
	free(c->target_reports);
	free(c->pushes);
	free(c->plans);
	strmap_free(c->seen);
	strmap_free(c->gone);
	strmap_free(c->back);
	if (c->renamed)
		strmap_foreach(c->renamed, cycle_free_value, NULL);
	strmap_free(c->renamed);
	source_result_clear(&c->read);
	sd_event_source_disable_unref(c->finish);
	free(c);
}
