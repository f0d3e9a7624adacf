#include "config.h"

#include "http/backoff.h"
#include "log_ids.h"
#include "sync/push.h"
#include "targets/classify.h"
#include "util/minheap.h"
#include "util/ptrq.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Requests prepared in one round; bounds the stack, not throughput. */
#define PUSH_ROUND_MAX 64
#define PUSH_TIMER_ACCURACY_USEC 1
/* Throttled answers tolerated per member in one cycle. */
#define PUSH_MAX_THROTTLES 20

/* A member of the plan on its way (the engine's view around the driver's
 * struct push_item). */
struct pitem {
	struct push_item it;
	const struct action *action;
	unsigned attempts;	/* retries after transient failures */
	unsigned throttles;
	unsigned auth_epoch;	/* the push's auth_epoch when last sent */
	bool pending;		/* recorded pending: a creating request went out */
	bool done;
};

enum job_kind {
	JOB_STEP,	/* one member's step request */
	JOB_BATCH,	/* a batched add */
	JOB_TOKEN,	/* an auth token fetch */
};

struct job {
	struct push *push;
	enum job_kind kind;
	struct pitem **items;
	size_t n;
	struct http_request req;
	bool creates;
};

/* An answer waiting to be handled (push_on_answer). */
struct answer {
	struct job *job;
	struct http_response resp;	/* a copy: the engine's is only lent for the call */
};

struct push {
	struct push_params params;
	struct push_stats stats;
	struct pitem *items;
	size_t n_items;
	struct ptrq ready;	/* members whose next step is to be built */
	struct ptrq waiting;	/* members stepped again after the next answer */
	struct ptrq prepared;	/* jobs built but not sent (rate limit, token) */
	struct ptrq answers;	/* answers not handled yet (struct answer) */
	struct minheap delayed;	/* members waiting out a retry backoff */
	struct pitem **pool;	/* members waiting for a batched add */
	size_t pool_len;
	size_t inflight;	/* sent and not handled yet, queued answers included */
	unsigned txn_depth;
	bool txn_open;		/* a transaction of ours is open */
	unsigned token_attempts;
	/* Bumped when a refused token is dropped: answers to requests sent
	 * with an older token say nothing about the new one. */
	unsigned auth_epoch;
	bool token_inflight;
	bool auth_refreshed;	/* a refused token was refreshed once this cycle */
	bool stopping;
	bool finished;
	bool first_throttle_logged;
	/* Retries are silent until a member runs out of them, which in a
	 * storm of timeouts can take minutes: the first one per cycle is
	 * logged so the operator sees the target is in trouble. */
	bool first_transient_logged;
	/* Counts answers, so one throttled answer about a batch slows the
	 * target once, not once per member. */
	uint64_t answer_seq, throttled_seq;
	sd_event_source *timer;
	/* Runs the pump, and handles the answers, after every other ready
	 * event of the loop iteration: see push_on_answer. */
	sd_event_source *kick;
};

static void push_pump(struct push *p);

static const struct conf_target *push_conf(const struct push *p)
{
	return p->params.target->conf;
}

/* ------------------------------------------------------------ state */

/* All writes of one event-loop callback share a transaction; it is
 * committed before control returns to the loop, hence before any request
 * marked pending in it leaves the process. */
static void push_txn_begin(struct push *p)
{
	if (p->txn_depth++ > 0)
		return;
	if (state_begin(p->params.state) < 0)
		log_error(p->params.log, "%s: cannot write to the state database: %s", push_conf(p)->name,
			  state_errmsg(p->params.state));
	else
		p->txn_open = true;
}

/* Commits what the open transaction holds; also called before a round's
 * requests leave, whose pending marks must be on disk first: if the
 * commit at the end of the callback failed (disk full), requests no row
 * remembers would be out, and the next run would send them again. The
 * transaction is not reopened then: the requests go right after, and what
 * little the callback may still write is committed statement by
 * statement. */
static int push_txn_commit(struct push *p)
{
	if (!p->txn_open)
		return 0;
	p->txn_open = false;
	int r = state_commit(p->params.state);
	if (r < 0) {
		log_error(p->params.log, "%s: cannot commit to the state database: %s", push_conf(p)->name,
			  state_errmsg(p->params.state));
		state_rollback(p->params.state);
	}
	return r;
}

static void push_txn_end(struct push *p)
{
	if (--p->txn_depth == 0)
		push_txn_commit(p);
}

static const struct log_fields *push_fields(struct log_fields *f, const struct push *p, const struct action *a,
					    const char *action, const char *result, int http_status,
					    const char *msgid)
{
	*f = (struct log_fields){
		.message_id = msgid, .target = push_conf(p)->name, .dn = a->dn, .member = a->key,
		.action = action, .result = result, .http_status = http_status,
	};
	return f;
}

static void push_record_local(struct push *p)
{
	const struct plan *plan = p->params.plan;
	struct state *st = p->params.state;
	struct logger *log = p->params.log;
	const char *tname = push_conf(p)->name;
	int64_t now = time_now_unix();
	struct log_fields f;

	push_txn_begin(p);
	for (size_t i = 0; i < plan->n; i++) {
		const struct action *a = &plan->actions[i];
		int r;
		switch (a->kind) {
		case ACTION_RECORD_INVALID:
			r = state_record_invalid(st, tname, a->source_id, a->dn, a->reason, now);
			log_event(log, LOG_WARNING, push_fields(&f, p, a, "skip", "invalid", 0, MSGID_MEMBER_INVALID),
				  "%s: skipping %s: %s", tname, a->dn, a->reason);
			break;
		case ACTION_CLEAR_ERROR:
			r = state_clear_error(st, tname, a->source_id, now);
			log_event(log, LOG_INFO, push_fields(&f, p, a, "skip", "valid", 0, MSGID_MEMBER_VALID),
				  "%s: %s is valid again", tname, a->dn);
			break;
		case ACTION_EXCLUDE:
			r = state_set_excluded(st, tname, a->source_id, a->reason, now);
			break;
		case ACTION_RESTORE: {
			struct state_outcome so = { .status = MEMBER_SYNCED, .dn = a->dn, .member_key = a->key };
			r = state_record_outcome(st, tname, a->source_id, &so, now);
			log_info(log, "%s: %s: %s", tname, a->dn, a->reason);
			break;
		}
		case ACTION_INCLUDE:
			r = state_set_excluded(st, tname, a->source_id, NULL, now);
			break;
		case ACTION_QUARANTINE: {
			struct state_outcome so = { .status = MEMBER_QUARANTINED, .dn = a->dn, .member_key = a->key,
						    .error = a->reason, .attempts = a->attempts,
						    .failures = a->failures };
			r = state_record_outcome(st, tname, a->source_id, &so, now);
			p->stats.quarantined++;
			log_event(log, LOG_WARNING,
				  push_fields(&f, p, a, "add", "quarantined", 0, MSGID_MEMBER_QUARANTINED),
				  "%s: %s (%s) is quarantined: %s", tname, a->key, a->dn, a->reason);
			break;
		}
		case ACTION_STALE:
			/* Nothing to record, but whoever looks for this member
			 * should find why it was left alone. */
			log_event(log, LOG_DEBUG, push_fields(&f, p, a, "update", "unsupported", 0, MSGID_MEMBER_STALE),
				  "%s: %s (%s) %s", tname, a->key, a->dn, a->reason);
			continue;
		default:
			continue;
		}
		if (r < 0)
			log_error(log, "%s: cannot record %s in the state database: %s", tname, a->dn,
				  state_errmsg(st));
		else
			p->stats.recorded++;
	}
	push_txn_end(p);
}

/* When a member that failed is tried again: exponential backoff over the
 * failures in a row, with jitter so a target's failures spread out, and
 * never before the API's own Retry-After. */
static int64_t push_next_attempt(const struct conf_target *c, int attempts, long retry_after, int64_t now)
{
	uint64_t usec = backoff_delay_usec((unsigned)attempts, (uint64_t)(c->retry_backoff * 1e6),
					   (uint64_t)(c->retry_backoff_max * 1e6), backoff_random());
	int64_t wait = (int64_t)((usec + 999999u) / 1000000u);
	if (retry_after > wait)
		wait = retry_after;
	return now + wait;
}

/* The log line and stats for an op that went through. */
static void push_log_done(struct push *p, const struct action *a, enum push_op op, const struct outcome *o,
			  int http_status)
{
	const char *tname = push_conf(p)->name;
	struct log_fields f;
	const char *opn = push_op_name(op);
	const char *why = o->reason ? o->reason : "";
	switch (op) {
	case OP_ADD:
		if (o->kind == OUTCOME_DUPLICATE) {
			p->stats.duplicate++;
			log_event(p->params.log, LOG_INFO,
				  push_fields(&f, p, a, opn, "duplicate", http_status, MSGID_MEMBER_ADDED),
				  "%s: %s (%s) is already there; recorded as synced (%s)", tname, a->key, a->dn,
				  o->reason ? o->reason : "duplicate");
			return;
		}
		p->stats.added++;
		log_event(p->params.log, LOG_INFO, push_fields(&f, p, a, opn, "ok", http_status, MSGID_MEMBER_ADDED),
			  "%s: added %s (%s)", tname, a->key, a->dn);
		return;
	case OP_LOOKUP:
		p->stats.found++;
		log_event(p->params.log, LOG_NOTICE, push_fields(&f, p, a, opn, "found", http_status, MSGID_MEMBER_ADDED),
			  "%s: the interrupted add of %s (%s) had arrived; recorded as synced, not sent again", tname,
			  a->key, a->dn);
		return;
	case OP_UPDATE:
	case OP_ENABLE:
		if (op == OP_UPDATE)
			p->stats.updated++;
		else
			p->stats.enabled++;
		log_event(p->params.log, LOG_INFO, push_fields(&f, p, a, opn, "ok", http_status, MSGID_MEMBER_UPDATED),
			  "%s: %s %s (%s): %s", tname, op == OP_UPDATE ? "updated" : "enabled", a->key, a->dn,
			  a->reason);
		return;
	case OP_DISABLE:
	case OP_DELETE:
		if (op == OP_DISABLE && o->kind != OUTCOME_ABSENT)
			p->stats.disabled++;
		else
			p->stats.deleted++;
		log_event(p->params.log, LOG_NOTICE,
			  push_fields(&f, p, a, opn, o->kind == OUTCOME_ABSENT ? "absent" : "ok", http_status,
				      MSGID_MEMBER_DEPROVISIONED),
			  "%s: %s %s (%s): %s%s%s", tname,
			  o->kind == OUTCOME_ABSENT ? "deprovisioned (already gone at the target)"
			  : op == OP_DISABLE	    ? "disabled"
						    : "deleted",
			  a->key, a->dn, a->reason, *why ? "; " : "", why);
		return;
	case OP__COUNT:
		break;
	}
}

/* The member's final outcome for this cycle: state, log, stats. */
static void push_finish_item(struct push *p, struct pitem *pi, const struct outcome *o, int http_status)
{
	const struct conf_target *t = push_conf(p);
	const struct action *a = pi->action;
	enum push_op op = pi->it.op;
	int64_t now = time_now_unix();
	struct log_fields f;
	const char *rid = o->remote_id ? o->remote_id : pi->it.remote_id;
	struct state_outcome so = {
		.op = push_op_name(op), .dn = a->dn, .member_key = a->key, .payload_hash = a->hash[0] ? a->hash : NULL,
		.remote_id = rid,
	};

	switch (o->kind) {
	case OUTCOME_OK:
	case OUTCOME_DUPLICATE:
	case OUTCOME_ABSENT:	/* only disable and delete finish with it */
		so.status = op == OP_DELETE || o->kind == OUTCOME_ABSENT ? MEMBER_DELETED
			    : op == OP_DISABLE				  ? MEMBER_DISABLED
									  : MEMBER_SYNCED;
		/* What the target has now: the payload sent, or for a lookup
		 * and an enable, the one it had (an update follows if it
		 * changed since). */
		if (op == OP_LOOKUP || op == OP_ENABLE || op == OP_DISABLE || op == OP_DELETE)
			so.payload_hash = a->stored_hash;
		push_log_done(p, a, op, o, http_status);
		break;
	case OUTCOME_INVALID:
		if (op == OP_DISABLE || op == OP_DELETE || op == OP_LOOKUP)
			goto failed;	/* not about a payload: retrying later is all we can do */
		so.status = MEMBER_INVALID;
		so.error = o->reason;
		p->stats.rejected++;
		log_event(p->params.log, LOG_WARNING,
			  push_fields(&f, p, a, so.op, "invalid", http_status, MSGID_MEMBER_INVALID),
			  "%s: %s (%s) was rejected and is skipped until it changes: %s", t->name, a->key, a->dn,
			  o->reason);
		break;
	default:
	failed:
		so.error = o->reason;
		if (p->stopping && o->kind == OUTCOME_TRANSIENT) {
			/* Not the member's failure: the daemon is stopping. */
			so.status = MEMBER_FAILED;
			so.attempts = a->attempts;
			so.failures = a->failures;
			so.next_attempt_at = now;
			break;
		}
		so.attempts = a->attempts + 1;
		so.failures = a->failures + (o->kind == OUTCOME_PERMANENT || o->kind == OUTCOME_INVALID);
		so.next_attempt_at = push_next_attempt(t, so.attempts, o->retry_after, now);
		so.status = so.failures >= (int)t->max_attempts ? MEMBER_QUARANTINED : MEMBER_FAILED;
		p->stats.failed++;
		free(p->stats.last_error);
		p->stats.last_error = xasprintf("%s %s: %s", so.op, a->key ? a->key : a->dn,
						o->reason ? o->reason : outcome_kind_name(o->kind));
		if (so.status == MEMBER_QUARANTINED) {
			p->stats.quarantined++;
			log_event(p->params.log, LOG_ERR,
				  push_fields(&f, p, a, so.op, "quarantined", http_status, MSGID_MEMBER_QUARANTINED),
				  "%s: %s of %s (%s) failed %d times (%s); quarantined until 'membersync retry': %s",
				  t->name, so.op, a->key, a->dn, so.failures, outcome_kind_name(o->kind),
				  o->reason ? o->reason : "no reason given");
		} else {
			char when[48] = "at the next cycle";
			if (so.next_attempt_at > now)
				snprintf(when, sizeof(when), "in %lld s, or later", (long long)(so.next_attempt_at - now));
			log_event(p->params.log, LOG_WARNING,
				  push_fields(&f, p, a, so.op, outcome_kind_name(o->kind), http_status,
					      MSGID_MEMBER_FAILED),
				  "%s: %s of %s (%s) failed (%s), will retry %s: %s", t->name, so.op, a->key, a->dn,
				  outcome_kind_name(o->kind), when, o->reason ? o->reason : "no reason given");
		}
		break;
	}
	push_txn_begin(p);
	if (state_record_outcome(p->params.state, t->name, a->source_id, &so, now) < 0)
		/* A pending row stays pending: the next cycle checks whether
		 * the target has the member before sending anything. */
		log_error(p->params.log, "%s: cannot record the outcome for %s: %s", t->name, a->dn,
			  state_errmsg(p->params.state));
	push_txn_end(p);
	pi->done = true;
	p->stats.finished++;
	/* Big directories: the parsed payload is not needed any more. */
	json_object_put(pi->it.payload);
	pi->it.payload = NULL;
}

static void push_fail_item(struct push *p, struct pitem *pi, enum outcome_kind kind, const char *reason)
{
	struct outcome o = { .kind = kind, .reason = (char *)reason, .retry_after = -1 };
	push_finish_item(p, pi, &o, 0);
}

/* ------------------------------------------------------------ jobs */

static struct job *push_job_new(struct push *p, enum job_kind kind, struct pitem **items, size_t n)
{
	struct job *j = XNEW(struct job);
	const struct conf_target *t = push_conf(p);
	j->push = p;
	j->kind = kind;
	j->items = n ? xmemdup(items, n * sizeof(*items)) : NULL;
	j->n = n;
	http_request_init(&j->req, "POST", NULL);
	j->req.connect_timeout_ms = t->connect_timeout_ms;
	j->req.timeout_ms = t->timeout_ms;
	j->req.max_response = t->max_response;
	j->req.tls_insecure = !t->tls_verify;
	j->req.ca_file = t->ca_file;
	return j;
}

static void push_job_free(struct job *j)
{
	if (!j)
		return;
	http_request_clear(&j->req);
	free(j->items);
	free(j);
}

static enum step_result push_step(struct push *p, struct pitem *pi, const struct http_response *resp,
				  struct http_request *req, bool *creates, struct outcome *out)
{
	struct target *t = p->params.target;
	const struct target_driver *d = push_conf(p)->driver;
	if (d->step)
		return d->step(t, &pi->it, resp, req, creates, out);
	/* One request per member: the driver builds it and reads the answer.
	 * Such drivers can only add (the plan asks nothing else of them). */
	if (pi->it.op != OP_ADD) {
		outcome_set(out, OUTCOME_PERMANENT, "the %s driver cannot %s members", d->name,
			    push_op_name(pi->it.op));
		return STEP_DONE;
	}
	if (!resp) {
		d->build_add(t, &pi->it, req);
		*creates = true;
		return STEP_SEND;
	}
	d->classify_add(t, resp, &pi->it, out);
	return STEP_DONE;
}

static struct job *push_batch_job_of(struct push *p, struct pitem **items, size_t n)
{
	struct job *j = push_job_new(p, JOB_BATCH, items, n);
	struct push_item **its = xcalloc(n, sizeof(*its));
	for (size_t i = 0; i < n; i++)
		its[i] = &j->items[i]->it;
	push_conf(p)->driver->build_batch(p->params.target, its, n, &j->req);
	free(its);
	j->creates = true;
	return j;
}

/* A batch of the first n members of the pool. */
static struct job *push_batch_job(struct push *p, size_t n)
{
	struct job *j = push_batch_job_of(p, p->pool, n);
	memmove(p->pool, p->pool + n, (p->pool_len - n) * sizeof(*p->pool));
	p->pool_len -= n;
	return j;
}

static void push_handle_outcome(struct push *p, struct pitem *pi, struct outcome *o, int http_status);

/* Runs the member's next step; returns a job to send, or NULL when the
 * member finished, joined the batch pool, or was put back. */
static struct job *push_step_item(struct push *p, struct pitem *pi)
{
	struct outcome o = { .retry_after = -1 };
	struct job *j = push_job_new(p, JOB_STEP, &pi, 1);
	if (!pi->it.payload && pi->it.payload_text &&
	    !(pi->it.op == OP_ADD && push_conf(p)->driver->add_uses_text))
		pi->it.payload = json_tokener_parse(pi->it.payload_text);
	enum step_result r = push_step(p, pi, NULL, &j->req, &j->creates, &o);
	if (r == STEP_SEND) {
		outcome_clear(&o);
		return j;
	}
	push_job_free(j);
	if (r == STEP_BATCH)
		p->pool[p->pool_len++] = pi;
	else if (r == STEP_WAIT)
		ptrq_push_back(&p->waiting, pi);
	else
		push_handle_outcome(p, pi, &o, 0);
	outcome_clear(&o);
	return NULL;
}

/* The next job to send, or NULL. `going` is how many the current round
 * already has, so a half-full batch is only sent when nothing else could
 * still join it. */
static struct job *push_next_job(struct push *p, size_t going)
{
	unsigned batch = push_conf(p)->batch_size;
	struct job *j = ptrq_pop_front(&p->prepared);
	if (j)
		return j;
	for (;;) {
		if (batch && p->pool_len >= batch)
			return push_batch_job(p, batch);
		struct pitem *pi = ptrq_pop_front(&p->ready);
		if (!pi)
			break;
		if ((j = push_step_item(p, pi)))
			return j;
	}
	uint64_t due;
	if (p->pool_len && p->inflight + going == 0 && !minheap_peek(&p->delayed, &due))
		return push_batch_job(p, p->pool_len);
	return NULL;
}

/* ------------------------------------------------------------ outcomes */

static void push_pause(struct push *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void push_pause(struct push *p, const char *fmt, ...)
{
	if (p->stats.paused)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *why = xvasprintf(fmt, ap);
	va_end(ap);
	p->stats.paused = true;
	struct log_fields f = { .message_id = MSGID_TARGET_PAUSED, .target = push_conf(p)->name, .result = "paused" };
	log_event(p->params.log, LOG_ERR, &f, "%s: paused for the rest of this cycle: %s", push_conf(p)->name, why);
	free(why);
}

static void push_delay_item(struct push *p, struct pitem *pi, uint64_t usec)
{
	minheap_push(&p->delayed, time_now_mono_usec() + usec, pi);
}

static void push_throttled(struct push *p, struct pitem *pi, struct outcome *o, int http_status)
{
	struct target *t = p->params.target;
	const struct conf_target *c = push_conf(p);
	uint64_t now = time_now_mono_usec();

	if (p->throttled_seq != p->answer_seq) {
		p->throttled_seq = p->answer_seq;
		p->stats.throttled++;
		ratelimit_throttled(&t->rl, now);
	}
	pi->throttles++;
	uint64_t wait = o->retry_after > 0 ? (uint64_t)o->retry_after * 1000000u
					   : backoff_delay_usec(pi->throttles, (uint64_t)(c->retry_delay * 1e6),
								(uint64_t)(c->retry_max_delay * 1e6), backoff_random());
	if (!p->first_throttle_logged) {
		p->first_throttle_logged = true;
		struct log_fields f = { .message_id = MSGID_TARGET_THROTTLED, .target = c->name, .result = "throttled",
					.http_status = http_status };
		log_event(p->params.log, LOG_NOTICE, &f,
			  "%s: the API asks us to slow down (%s); waiting %.1f s, rate now %.2f requests/s", c->name,
			  o->reason ? o->reason : "throttled", (double)wait / 1e6, ratelimit_rate(&t->rl));
	}
	if ((double)wait / 1e6 > c->max_wait || pi->throttles > PUSH_MAX_THROTTLES) {
		if (o->retry_after < 0)
			o->retry_after = (long)(wait / 1000000u);
		push_finish_item(p, pi, o, http_status);
		push_pause(p, "throttled for longer than max_wait (%.0f s)", c->max_wait);
		return;
	}
	if (t->resume_at < now + wait)
		t->resume_at = now + wait;
	ptrq_push_back(&p->ready, pi);
}

/* Local midnight: DingTalk-style quotas reset daily. */
static int64_t push_next_midnight(int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday++;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* The target has no such member although we thought it might: add it
 * (afresh, from its first step). */
static void push_readd(struct push *p, struct pitem *pi, const struct outcome *o)
{
	const struct conf_target *c = push_conf(p);
	const struct action *a = pi->action;
	if (pi->it.op != OP_LOOKUP)
		log_notice(p->params.log, "%s: %s (%s) is not at the target any more (%s); adding it again", c->name,
			   a->key, a->dn, o->reason ? o->reason : "not found");
	else
		log_info(p->params.log, "%s: the interrupted add of %s (%s) had not arrived; sending it", c->name,
			 a->key, a->dn);
	pi->it.op = OP_ADD;
	pi->it.stage = 0;
	free(pi->it.remote_id);
	pi->it.remote_id = NULL;
	pi->attempts = 0;
	/* Before new members: it was due first, and its row says pending
	 * until the add goes out. */
	ptrq_push_front(&p->ready, pi);
}

static void push_handle_outcome(struct push *p, struct pitem *pi, struct outcome *o, int http_status)
{
	const struct conf_target *c = push_conf(p);
	struct target *t = p->params.target;

	switch (o->kind) {
	case OUTCOME_ABSENT:
		if (pi->it.op == OP_LOOKUP || pi->it.op == OP_UPDATE || pi->it.op == OP_ENABLE) {
			if (pi->it.payload_text) {
				push_readd(p, pi, o);
				return;
			}
		} else if (pi->it.op == OP_ADD) {
			/* A driver bug: adding has no "absent" answer. */
			o->kind = OUTCOME_PERMANENT;
		}
		break;
	case OUTCOME_TRANSIENT:
		if (pi->attempts < c->max_retries && !p->stopping) {
			pi->attempts++;
			p->stats.retries++;
			if (!p->first_transient_logged) {
				p->first_transient_logged = true;
				log_notice(p->params.log, "%s: %s of %s failed (%s); retrying, up to %u times per member",
					   c->name, push_op_name(pi->it.op), pi->action->key ? pi->action->key : pi->action->dn,
					   o->reason ? o->reason : "transient failure", c->max_retries);
			}
			push_delay_item(p, pi,
					backoff_delay_usec(pi->attempts, (uint64_t)(c->retry_delay * 1e6),
							   (uint64_t)(c->retry_max_delay * 1e6), backoff_random()));
			return;
		}
		break;
	case OUTCOME_THROTTLED:
		push_throttled(p, pi, o, http_status);
		return;
	case OUTCOME_AUTH:
		if (pi->auth_epoch != p->auth_epoch) {
			/* Sent with a token already replaced: try the new one. */
			ptrq_push_back(&p->ready, pi);
			return;
		}
		if (!p->auth_refreshed && auth_invalidate(t->auth)) {
			p->auth_refreshed = true;
			p->auth_epoch++;
			log_notice(p->params.log, "%s: the API refused our token; fetching a new one", c->name);
			ptrq_push_back(&p->ready, pi);
			return;
		}
		push_finish_item(p, pi, o, http_status);
		push_pause(p, "the target refused our credentials (%s)", o->reason ? o->reason : "auth");
		if (c->auth_pause > 0) {
			/* Hammering an API with refused credentials can lock the
			 * account. */
			t->auth_paused_until = time_now_mono_usec() + (uint64_t)(c->auth_pause * 1e6);
			log_notice(p->params.log, "%s: no requests for %.0f s (auth_pause), or until membersyncd is "
						  "reloaded or restarted with new credentials",
				   c->name, c->auth_pause);
		}
		return;
	case OUTCOME_QUOTA: {
		int64_t now = time_now_unix();
		int64_t until = o->retry_after > 0 ? now + o->retry_after : push_next_midnight(now);
		o->retry_after = (long)(until - now);
		push_finish_item(p, pi, o, http_status);
		if (target_pause_until(t, until, o->reason) < 0)
			log_error(p->params.log, "%s: cannot record the pause in the state database", c->name);
		push_pause(p, "the API's quota is spent (%s); no requests until %lld", o->reason ? o->reason : "quota",
			   (long long)until);
		return;
	}
	case OUTCOME_SPLIT:
		/* Only meaningful for batches; a batch of one is just invalid. */
		o->kind = OUTCOME_INVALID;
		break;
	default:
		break;
	}
	push_finish_item(p, pi, o, http_status);
}

/* ------------------------------------------------------------ answers */

static void push_submit(struct push *p, struct job *j);
static void push_on_answer(const struct http_response *resp, void *ud);

static void push_token_fetch(struct push *p)
{
	if (p->token_inflight)
		return;
	struct job *j = push_job_new(p, JOB_TOKEN, NULL, 0);
	auth_token_request(p->params.target->auth, push_conf(p)->url, time_now_unix(), &j->req);
	p->token_inflight = true;
	push_submit(p, j);
}

static void push_token_answer(struct push *p, const struct http_response *resp)
{
	char *err = NULL;
	long wait = -1;
	int r = auth_token_answer(p->params.target->auth, resp, time_now_unix(), &err, &wait);
	p->token_inflight = false;
	if (r == -EAGAIN) {
		push_token_fetch(p);
	} else if (r == -EACCES || (r < 0 && ++p->token_attempts > push_conf(p)->max_retries)) {
		push_pause(p, "cannot get an access token: %s", err ? err : "refused");
	} else if (r < 0) {
		log_warning(p->params.log, "%s: getting an access token failed, will retry: %s", push_conf(p)->name,
			    err ? err : "unknown error");
		/* The API's own wait (a ban, a Retry-After) beats our guess. */
		uint64_t delay = wait > 0 ? (uint64_t)wait * 1000000u
					  : backoff_delay_usec(p->token_attempts,
							       (uint64_t)(push_conf(p)->retry_delay * 1e6),
							       (uint64_t)(push_conf(p)->retry_max_delay * 1e6),
							       backoff_random());
		p->params.target->resume_at = time_now_mono_usec() + delay;
	} else {
		p->token_attempts = 0;
	}
	free(err);
}

static void push_batch_answer(struct push *p, struct job *j, const struct http_response *resp)
{
	const struct target_driver *d = push_conf(p)->driver;
	struct outcome *outs = xcalloc(j->n, sizeof(*outs));
	struct push_item **its = xcalloc(j->n, sizeof(*its));
	for (size_t i = 0; i < j->n; i++) {
		its[i] = &j->items[i]->it;
		outs[i].retry_after = -1;
	}
	d->classify_batch(p->params.target, resp, its, j->n, outs);
	if (j->n > 1 && outs[0].kind == OUTCOME_SPLIT) {
		/* An atomic batch failed on some member: the halves show which. */
		size_t half = j->n / 2;
		ptrq_push_front(&p->prepared, push_batch_job_of(p, j->items + half, j->n - half));
		ptrq_push_front(&p->prepared, push_batch_job_of(p, j->items, half));
	} else {
		for (size_t i = 0; i < j->n; i++)
			push_handle_outcome(p, j->items[i], &outs[i], (int)resp->status);
	}
	for (size_t i = 0; i < j->n; i++)
		outcome_clear(&outs[i]);
	free(outs);
	free(its);
}

static void push_step_answer(struct push *p, struct job *j, const struct http_response *resp)
{
	struct pitem *pi = j->items[0];
	struct outcome o = { .retry_after = -1 };
	struct job *next = push_job_new(p, JOB_STEP, &pi, 1);
	enum step_result r = push_step(p, pi, resp, &next->req, &next->creates, &o);

	if (r == STEP_SEND) {
		/* The member's next request goes before new members' first. */
		ptrq_push_front(&p->prepared, next);
		next = NULL;
	} else if (r == STEP_BATCH) {
		p->pool[p->pool_len++] = pi;
	} else if (r == STEP_WAIT) {
		ptrq_push_back(&p->waiting, pi);
	} else {
		push_handle_outcome(p, pi, &o, (int)resp->status);
	}
	push_job_free(next);
	outcome_clear(&o);
}

/* One answer, inside the caller's transaction. */
static void push_answer(struct push *p, struct job *j, const struct http_response *resp)
{
	p->inflight--;
	p->answer_seq++;
	/* A certificate that does not verify will not verify on the next try
	 * either: pause rather than retry every member (each retry a new
	 * handshake with a server that may be an impostor). */
	if (resp->status == 0 &&
	    (resp->curl_code == CURLE_PEER_FAILED_VERIFICATION || resp->curl_code == CURLE_SSL_CACERT_BADFILE))
		push_pause(p, "the API's TLS certificate cannot be verified (%s); trust its CA with ca_file",
			   resp->error ? resp->error : "certificate problem");
	switch (j->kind) {
	case JOB_TOKEN:
		push_token_answer(p, resp);
		break;
	case JOB_BATCH:
		push_batch_answer(p, j, resp);
		break;
	case JOB_STEP:
		push_step_answer(p, j, resp);
		break;
	}
	if (resp->status >= 200 && resp->status < 300)
		ratelimit_success(&p->params.target->rl);
	push_job_free(j);
	/* An answer arrived: whoever waited for one may go on. */
	struct pitem *w;
	while ((w = ptrq_pop_front(&p->waiting)))
		ptrq_push_back(&p->ready, w);
}

static void push_answer_free(struct answer *a)
{
	push_job_free(a->job);
	free(a->resp.error);
	free(a->resp.body);
	free(a->resp.content_type);
	free(a);
}

/* Answers are queued and handled by the kick, which runs once the loop
 * has dispatched every other ready event: the answers that arrived
 * together are recorded in one transaction, with the pending marks of
 * the requests that follow them, instead of a commit each (a commit
 * costs more than the rest of an answer). A crash before that commit
 * loses outcomes, not pending marks: their rows still say pending, and
 * the next run looks those members up before sending anything. */
static void push_on_answer(const struct http_response *resp, void *ud)
{
	struct job *j = ud;
	struct push *p = j->push;
	struct answer *a = XNEW(struct answer);
	a->job = j;
	a->resp = *resp;
	a->resp.error = resp->error ? xstrdup(resp->error) : NULL;
	a->resp.content_type = resp->content_type ? xstrdup(resp->content_type) : NULL;
	/* NUL-terminated like the engine's. */
	a->resp.body = resp->body ? xmemdup(resp->body, resp->body_len + 1) : NULL;
	ptrq_push_back(&p->answers, a);
	sd_event_source_set_enabled(p->kick, SD_EVENT_ONESHOT);
}

static void push_submit(struct push *p, struct job *j)
{
	p->inflight++;
	p->stats.requests++;
	http_engine_submit(p->params.http, &j->req, push_on_answer, j);
}

/* ------------------------------------------------------------ the pump */

static void push_arm(struct push *p, uint64_t when)
{
	uint64_t cur;
	int enabled = SD_EVENT_OFF;
	sd_event_source_get_enabled(p->timer, &enabled);
	if (enabled != SD_EVENT_OFF && sd_event_source_get_time(p->timer, &cur) >= 0 && cur <= when)
		return;
	sd_event_source_set_time(p->timer, when);
	sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static bool push_idle(const struct push *p)
{
	uint64_t due;
	return p->inflight == 0 && !p->token_inflight && !p->ready.len && !p->prepared.len && !p->pool_len &&
	       !p->waiting.len && !minheap_peek(&p->delayed, &due);
}

/* Members left behind by a stop or pause: those already sent once are
 * recorded failed (their pending mark would otherwise mean "unknown");
 * the others were never tried and stay as they were. */
static void push_abandon(struct push *p)
{
	struct job *j;
	while ((j = ptrq_pop_front(&p->prepared)))
		push_job_free(j);
	ptrq_release(&p->ready);
	ptrq_release(&p->waiting);
	minheap_release(&p->delayed);
	p->pool_len = 0;
	const char *why = p->stopping ? "stopped before it could be retried" : "the target was paused";
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].pending && !p->items[i].done)
			push_fail_item(p, &p->items[i], OUTCOME_TRANSIENT, why);
}

static void push_maybe_finish(struct push *p)
{
	if (p->finished)
		return;
	bool halted = p->stopping || p->stats.paused;
	if (halted && (p->inflight || p->token_inflight))
		return;
	if (!halted && !push_idle(p))
		return;
	if (halted)
		push_abandon(p);
	p->finished = true;
}

/* Sends what can be sent now; arms the timer for what must wait. */
static void push_pump(struct push *p)
{
	struct target *t = p->params.target;
	const struct conf_target *c = push_conf(p);
	uint64_t now = time_now_mono_usec(), due;
	struct job *round[PUSH_ROUND_MAX];
	size_t n = 0;

	if (p->finished)
		return;
	while (minheap_peek(&p->delayed, &due) && due <= now)
		ptrq_push_back(&p->ready, minheap_pop(&p->delayed));
	if (p->stopping || p->stats.paused)
		goto out;
	if (t->resume_at > now) {
		push_arm(p, t->resume_at);
		goto out;
	}
	push_txn_begin(p);
	while (p->inflight + n < c->max_inflight && n < PUSH_ROUND_MAX && !p->token_inflight &&
	       !p->stats.paused) {
		struct job *j = push_next_job(p, n);
		if (!j)
			break;
		uint64_t wait = ratelimit_take(&t->rl, now);
		if (wait) {
			ptrq_push_front(&p->prepared, j);
			push_arm(p, now + wait);
			break;
		}
		if (auth_apply(t->auth, &j->req, time_now_unix()) == -EAGAIN) {
			ptrq_push_front(&p->prepared, j);
			push_token_fetch(p);
			break;
		}
		round[n++] = j;
	}
	/* Pending marks are written, and committed, before the requests go. */
	int64_t wall = time_now_unix();
	bool marked = false;
	for (size_t i = 0; i < n; i++) {
		if (!round[i]->creates)
			continue;
		for (size_t k = 0; k < round[i]->n; k++) {
			struct pitem *pi = round[i]->items[k];
			if (state_mark_pending(p->params.state, c->name, pi->action->source_id, pi->action->dn,
					       pi->action->key, pi->action->hash, push_op_name(pi->it.op), wall) < 0) {
				/* Sending without a pending record could add twice
				 * after a crash: send nothing. */
				log_error(p->params.log, "%s: cannot record pending adds in the state database: %s",
					  c->name, state_errmsg(p->params.state));
				push_pause(p, "the state database cannot be written");
				continue;
			}
			pi->pending = true;
			marked = true;
		}
	}
	if (marked && !p->stats.paused && push_txn_commit(p) < 0) {
		/* The marks were rolled back: these were never sent. */
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; round[i]->creates && k < round[i]->n; k++)
				round[i]->items[k]->pending = false;
		push_pause(p, "the state database cannot be written");
	}
	for (size_t i = 0; i < n; i++) {
		if (p->stats.paused) {
			push_job_free(round[i]);
			continue;
		}
		for (size_t k = 0; k < round[i]->n; k++)
			round[i]->items[k]->auth_epoch = p->auth_epoch;
		push_submit(p, round[i]);
	}
	/* Waiting when nothing can bring an answer would wait forever: a
	 * driver bug, but one that must not hang the daemon. */
	if (p->waiting.len && p->inflight == 0 && !p->token_inflight && !p->prepared.len && !p->ready.len &&
	    !p->pool_len && !minheap_peek(&p->delayed, &due)) {
		struct pitem *w;
		while ((w = ptrq_pop_front(&p->waiting)))
			push_fail_item(p, w, OUTCOME_PERMANENT, "the driver waited with no request in flight");
	}
	push_txn_end(p);
	if (minheap_peek(&p->delayed, &due))
		push_arm(p, due);
out:
	push_maybe_finish(p);
}

static void push_wake(struct push *p)
{
	struct answer *a;
	bool answered = false;
	push_txn_begin(p);
	while ((a = ptrq_pop_front(&p->answers))) {
		push_answer(p, a->job, &a->resp);
		a->job = NULL;	/* push_answer freed it */
		push_answer_free(a);
		answered = true;
	}
	push_pump(p);
	push_txn_end(p);
	if (answered && p->params.progress)
		p->params.progress(p->params.ud);
	/* Last: done may free the push's owner. */
	if (p->finished && p->params.done) {
		push_done_fn done = p->params.done;
		p->params.done = NULL;
		done(p->params.ud);
	}
}

static int push_on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	push_wake(ud);
	return 0;
}

static int push_on_kick(sd_event_source *s, void *ud)
{
	push_wake(ud);
	return 0;
}

/* ------------------------------------------------------------ public */

struct push *push_start(const struct push_params *params)
{
	struct push *p = XNEW(struct push);
	const struct plan *plan = params->plan;
	const struct conf_target *c = params->target->conf;
	p->params = *params;
	p->stats.total = plan->n_push;
	p->items = xcalloc(plan->n_push ? plan->n_push : 1, sizeof(*p->items));
	p->pool = xcalloc(plan->n_push ? plan->n_push : 1, sizeof(*p->pool));
	for (size_t i = 0; i < plan->n; i++) {
		const struct action *a = &plan->actions[i];
		if (a->kind != ACTION_PUSH)
			continue;
		struct pitem *pi = &p->items[p->n_items++];
		pi->action = a;
		pi->it = (struct push_item){ .op = a->op, .source_id = a->source_id, .dn = a->dn, .key = a->key,
					     .hash = a->hash, .payload_text = a->payload,
					     .remote_id = a->remote_id ? xstrdup(a->remote_id) : NULL };
		ptrq_push_back(&p->ready, pi);
	}
	push_record_local(p);

	char *reason = NULL;
	int64_t until = target_paused_until(params->target, &reason);
	if (p->n_items && until > time_now_unix()) {
		struct log_fields f = { .message_id = MSGID_TARGET_PAUSED, .target = c->name, .result = "paused" };
		log_event(params->log, LOG_NOTICE, &f, "%s: paused until %lld (%s); %zu members wait", c->name,
			  (long long)until, reason ? reason : "asked by the API", p->n_items);
		p->stats.paused = true;
		ptrq_release(&p->ready);
	}
	free(reason);
	uint64_t mono = time_now_mono_usec();
	if (p->n_items && !p->stats.paused && params->target->auth_paused_until > mono) {
		struct log_fields f = { .message_id = MSGID_TARGET_PAUSED, .target = c->name, .result = "paused" };
		log_event(params->log, LOG_NOTICE, &f,
			  "%s: paused for %.0f s more: it refused our credentials (auth_pause); %zu members wait", c->name,
			  (double)(params->target->auth_paused_until - mono) / 1e6, p->n_items);
		p->stats.paused = true;
		ptrq_release(&p->ready);
	}
	if (!p->n_items || p->stats.paused) {
		p->finished = true;
		return p;
	}
	/* Accuracy 0 would mean sd-event's default of 250 ms, which alone
	 * caps a rate-limited target at 4 requests/s. */
	if (sd_event_add_time(params->event, &p->timer, CLOCK_MONOTONIC, 0, PUSH_TIMER_ACCURACY_USEC, push_on_timer, p) < 0 ||
	    sd_event_add_defer(params->event, &p->kick, push_on_kick, p) < 0)
		abort();
	sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
	/* Below the curl sockets' priority: answers that arrive together are
	 * all queued before the kick handles them (push_on_answer). */
	sd_event_source_set_priority(p->kick, SD_EVENT_PRIORITY_NORMAL + 1);
	sd_event_source_set_enabled(p->kick, SD_EVENT_ONESHOT);
	return p;
}

void push_stop(struct push *p)
{
	if (p->finished)
		return;
	p->stopping = true;
	push_txn_begin(p);
	push_maybe_finish(p);
	push_txn_end(p);
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
	if (!p)
		return;
	struct job *j;
	while ((j = ptrq_pop_front(&p->prepared)))
		push_job_free(j);
	ptrq_release(&p->prepared);
	struct answer *a;
	while ((a = ptrq_pop_front(&p->answers)))
		push_answer_free(a);
	ptrq_release(&p->answers);
	ptrq_release(&p->ready);
	ptrq_release(&p->waiting);
	minheap_release(&p->delayed);
	for (size_t i = 0; i < p->n_items; i++) {
		json_object_put(p->items[i].it.payload);
		free(p->items[i].it.resolved_id);
		free(p->items[i].it.remote_id);
	}
	free(p->items);
	free(p->pool);
	free(p->stats.last_error);
	sd_event_source_disable_unref(p->timer);
	sd_event_source_disable_unref(p->kick);
	free(p);
}
