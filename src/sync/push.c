#include "config.h"

#include "log_ids.h"
#include "sync/push.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct push_request {
	struct push *push;
	const struct action *action;
};

struct push {
	struct push_params params;
	struct push_stats stats;
	size_t next;		/* next action index to consider */
	size_t inflight;
	bool stopping;
	bool finished;
};

static void push_fill(struct push *p);

static const struct log_fields *push_fields(struct log_fields *f, const struct push *p, const struct action *a,
					    const char *action, const char *result, int http_status,
					    const char *msgid)
{
	*f = (struct log_fields){
		.message_id = msgid, .target = p->params.target->name, .dn = a->dn, .member = a->key,
		.action = action, .result = result, .http_status = http_status,
	};
	return f;
}

static void push_record_local(struct push *p)
{
	const struct plan *plan = p->params.plan;
	struct state *st = p->params.state;
	struct logger *log = p->params.log;
	const char *tname = p->params.target->name;
	int64_t now = time_now_unix();
	bool any = false;
	struct log_fields f;

	for (size_t i = 0; i < plan->n; i++) {
		const struct action *a = &plan->actions[i];
		any = any || a->kind == ACTION_RECORD_INVALID || a->kind == ACTION_CLEAR_ERROR;
		/* Nothing to record until updates exist, but whoever looks for
		 * this member should find why it was left alone. */
		if (a->kind == ACTION_STALE)
			log_event(log, LOG_DEBUG, push_fields(&f, p, a, "update", "unsupported", 0, MSGID_MEMBER_STALE),
				  "%s: %s (%s) %s", tname, a->key, a->dn, a->reason);
	}
	if (!any)
		return;
	if (state_begin(st) < 0) {
		log_error(log, "%s: cannot write to the state database: %s", tname, state_errmsg(st));
		return;
	}
	for (size_t i = 0; i < plan->n; i++) {
		const struct action *a = &plan->actions[i];
		int r;
		if (a->kind == ACTION_RECORD_INVALID) {
			r = state_record_invalid(st, tname, a->source_id, a->dn, a->reason, now);
			log_event(log, LOG_WARNING, push_fields(&f, p, a, "skip", "invalid", 0, MSGID_MEMBER_INVALID),
				  "%s: skipping %s: %s", tname, a->dn, a->reason);
		} else if (a->kind == ACTION_CLEAR_ERROR) {
			r = state_clear_error(st, tname, a->source_id, now);
			log_event(log, LOG_INFO, push_fields(&f, p, a, "skip", "valid", 0, MSGID_MEMBER_VALID),
				  "%s: %s is valid again", tname, a->dn);
		} else {
			continue;
		}
		if (r < 0)
			log_error(log, "%s: cannot record %s in the state database: %s", tname, a->dn,
				  state_errmsg(st));
		else
			p->stats.recorded++;
	}
	if (state_commit(st) < 0) {
		log_error(log, "%s: cannot commit to the state database: %s", tname, state_errmsg(st));
		state_rollback(st);
	}
}

static void push_maybe_done(struct push *p)
{
	if (p->finished || p->inflight > 0)
		return;
	bool more = !p->stopping && !p->stats.paused && p->next < p->params.plan->n;
	if (more)
		return;
	p->finished = true;
	p->params.done(p->params.ud);
}

static void push_pause(struct push *p, const char *why)
{
	if (p->stats.paused)
		return;
	p->stats.paused = true;
	struct log_fields f = { .message_id = MSGID_TARGET_PAUSED, .target = p->params.target->name,
				.result = "paused" };
	log_event(p->params.log, LOG_ERR, &f, "%s: paused for the rest of this cycle: %s", p->params.target->name,
		  why);
}

static void push_on_response(const struct http_response *resp, void *ud)
{
	struct push_request *pr = ud;
	struct push *p = pr->push;
	const struct action *a = pr->action;
	const struct conf_target *t = p->params.target;
	struct state *st = p->params.state;
	struct outcome o = { .retry_after = -1 };
	struct log_fields f;
	int64_t now = time_now_unix();
	int http_status = (int)resp->status;

	free(pr);
	p->inflight--;
	t->driver->classify_add(t, resp, &o);

	struct state_outcome so = { .payload_hash = a->hash, .remote_id = o.remote_id };
	switch (o.kind) {
	case OUTCOME_OK:
		so.status = MEMBER_SYNCED;
		p->stats.added++;
		log_event(p->params.log, LOG_INFO, push_fields(&f, p, a, "add", "ok", http_status, MSGID_MEMBER_ADDED),
			  "%s: added %s (%s)", t->name, a->key, a->dn);
		break;
	case OUTCOME_DUPLICATE:
		so.status = MEMBER_SYNCED;
		p->stats.duplicate++;
		log_event(p->params.log, LOG_INFO,
			  push_fields(&f, p, a, "add", "duplicate", http_status, MSGID_MEMBER_ADDED),
			  "%s: %s (%s) is already there; recorded as synced (%s)", t->name, a->key, a->dn, o.reason);
		break;
	case OUTCOME_INVALID:
		so.status = MEMBER_INVALID;
		so.error = o.reason;
		p->stats.rejected++;
		log_event(p->params.log, LOG_WARNING,
			  push_fields(&f, p, a, "add", "invalid", http_status, MSGID_MEMBER_INVALID),
			  "%s: %s (%s) was rejected and is skipped until it changes: %s", t->name, a->key, a->dn,
			  o.reason);
		break;
	default:
		so.status = MEMBER_FAILED;
		so.error = o.reason;
		so.next_attempt_at = now + (o.retry_after > 0 ? o.retry_after : 0);
		p->stats.failed++;
		log_event(p->params.log, LOG_WARNING,
			  push_fields(&f, p, a, "add", outcome_kind_name(o.kind), http_status, MSGID_MEMBER_FAILED),
			  "%s: adding %s (%s) failed (%s), will retry: %s", t->name, a->key, a->dn,
			  outcome_kind_name(o.kind), o.reason);
		if (o.kind == OUTCOME_AUTH)
			push_pause(p, "the target refused our credentials");
		else if (o.kind == OUTCOME_THROTTLED)
			push_pause(p, "the target asks us to slow down");
		break;
	}
	if (state_record_outcome(st, t->name, a->source_id, &so, now) < 0)
		/* The row stays pending: the next cycle sends it again and the
		 * driver recognises it as already there. */
		log_error(p->params.log, "%s: cannot record the outcome for %s: %s", t->name, a->dn,
			  state_errmsg(st));
	outcome_clear(&o);
	if (p->params.progress)
		p->params.progress(p->params.ud);
	push_fill(p);
	push_maybe_done(p);
}

/* Marks the next batch pending in one transaction, then sends it. */
static void push_fill(struct push *p)
{
	const struct plan *plan = p->params.plan;
	const struct conf_target *t = p->params.target;
	struct state *st = p->params.state;
	const struct action *batch[256];
	size_t nb = 0;

	if (p->stopping || p->stats.paused)
		return;
	while (p->inflight + nb < t->max_inflight && p->next < plan->n && nb < 256) {
		const struct action *a = &plan->actions[p->next++];
		if (a->kind == ACTION_ADD)
			batch[nb++] = a;
	}
	if (nb == 0)
		return;
	int64_t now = time_now_unix();
	int r = state_begin(st);
	for (size_t i = 0; i < nb && r == 0; i++)
		r = state_mark_pending(st, t->name, batch[i]->source_id, batch[i]->dn, batch[i]->key, batch[i]->hash,
				       now);
	if (r == 0)
		r = state_commit(st);
	if (r < 0) {
		/* Sending without a pending record could add twice after a
		 * crash; better to send nothing. */
		log_error(p->params.log, "%s: cannot record pending adds in the state database: %s", t->name,
			  state_errmsg(st));
		state_rollback(st);
		push_pause(p, "the state database cannot be written");
		return;
	}
	for (size_t i = 0; i < nb; i++) {
		struct http_request req;
		http_request_init(&req, "POST", NULL);
		req.connect_timeout_ms = t->connect_timeout_ms;
		req.timeout_ms = t->timeout_ms;
		req.max_response = t->max_response;
		t->driver->build_add(t, batch[i]->payload, &req);
		struct push_request *pr = XNEW(struct push_request);
		pr->push = p;
		pr->action = batch[i];
		p->inflight++;
		p->stats.sent++;
		http_engine_submit(p->params.http, &req, push_on_response, pr);
	}
}

struct push *push_start(const struct push_params *params)
{
	struct push *p = XNEW(struct push);
	p->params = *params;
	p->stats.total = params->plan->counts.add;
	push_record_local(p);
	push_fill(p);
	if (p->inflight == 0)
		p->finished = true;
	return p;
}

void push_stop(struct push *p)
{
	p->stopping = true;
	if (p->inflight == 0)
		p->finished = true;
}

bool push_finished(const struct push *p)
{
	return p->finished;
}

const struct push_stats *push_get_stats(const struct push *p)
{
	return &p->stats;
}

void push_free(struct push *p)
{
	free(p);
}
