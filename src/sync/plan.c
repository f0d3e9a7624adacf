#include "config.h"

#include "sync/plan.h"
#include "util/xalloc.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct plan *plan_new(const struct conf_target *target)
{
	struct plan *p = XNEW(struct plan);
	p->target = target;
	return p;
}

static void plan_action_clear(struct action *a)
{
	free(a->source_id);
	free(a->dn);
	free(a->key);
	free(a->payload);
	free(a->stored_hash);
	free(a->remote_id);
	free(a->reason);
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		plan_action_clear(&p->actions[i]);
	for (size_t i = 0; i < p->n_leaving; i++)
		plan_action_clear(&p->leaving[i]);
	free(p->actions);
	free(p->leaving);
	free(p);
}

static bool plan_can(const struct plan *p, enum push_op op)
{
	return (p->target->ops & OP_BIT(op)) != 0;
}

static enum push_op plan_op_from_name(const char *name)
{
	for (int op = 0; name && op < OP__COUNT; op++)
		if (strcmp(push_op_name((enum push_op)op), name) == 0)
			return (enum push_op)op;
	return OP_ADD;
}

/* An action about a state row (no mapping), in the given list. */
static struct action *plan_push_row(struct action **list, size_t *n, size_t *cap, enum action_kind kind,
				    const struct state_member *ex)
{
	xgrow((void **)list, cap, *n, sizeof(**list));
	struct action *a = &(*list)[(*n)++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->source_id = xstrdup(ex->source_id);
	a->dn = xstrdup(ex->dn);
	a->key = ex->member_key ? xstrdup(ex->member_key) : NULL;
	a->stored_hash = ex->payload_hash ? xstrdup(ex->payload_hash) : NULL;
	a->remote_id = ex->remote_id ? xstrdup(ex->remote_id) : NULL;
	a->attempts = ex->attempts;
	a->failures = ex->failures;
	return a;
}

static struct action *plan_push(struct plan *p, enum action_kind kind, const struct entry *e,
				const struct mapped *m, const struct state_member *ex)
{
	xgrow((void **)&p->actions, &p->cap, p->n, sizeof(*p->actions));
	struct action *a = &p->actions[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->source_id = xstrdup(e->id);
	a->dn = xstrdup(e->dn);
	if (m && m->payload) {
		a->key = m->key ? xstrdup(m->key) : NULL;
		memcpy(a->hash, m->hash, sizeof(a->hash));
	} else if (ex && ex->member_key) {
		a->key = xstrdup(ex->member_key);
	}
	if (ex) {
		a->stored_hash = ex->payload_hash ? xstrdup(ex->payload_hash) : NULL;
		a->remote_id = ex->remote_id ? xstrdup(ex->remote_id) : NULL;
		a->attempts = ex->attempts;
		a->failures = ex->failures;
	}
	return a;
}

/* A request for entry e with its valid mapping m. */
static void plan_request(struct plan *p, enum push_op op, const struct entry *e, const struct mapped *m,
			 const struct state_member *ex, char *reason)
{
	struct action *a = plan_push(p, ACTION_PUSH, e, m, ex);
	a->op = op;
	a->payload = xstrdup(json_object_to_json_string_ext(m->payload,
							    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	a->reason = reason;
	p->counts.push[op]++;
	p->n_push++;
}

static void plan_local(struct plan *p, enum action_kind kind, const struct entry *e, const struct mapped *m,
		       const struct state_member *ex, char *reason)
{
	plan_push(p, kind, e, m, ex)->reason = reason;
}

static void plan_invalid(struct plan *p, const struct entry *e, const struct mapped *m,
			 const struct state_member *ex)
{
	/* Logged once: only a new or different reason is worth a record. */
	if (ex && ex->last_error && strcmp(ex->last_error, m->reasons) == 0) {
		p->counts.invalid_known++;
		return;
	}
	plan_local(p, ACTION_RECORD_INVALID, e, m, ex, xstrdup(m->reasons));
	p->counts.invalid_new++;
}

static const char *plan_error(const struct state_member *ex)
{
	return ex->last_error ? ex->last_error : "unknown";
}

/* The target has the member: send a changed payload if it can take it. */
static void plan_present(struct plan *p, const struct entry *e, const struct mapped *m,
			 const struct state_member *ex, bool same, const char *why_update)
{
	if (ex->status != MEMBER_SYNCED) {
		plan_local(p, ACTION_RESTORE, e, m, ex, xasprintf("the target still has it (%s: %s)",
								  member_status_name(ex->status), plan_error(ex)));
		p->counts.cleared++;
	} else if (ex->last_error) {
		plan_local(p, ACTION_CLEAR_ERROR, e, m, ex, xstrdup("the mapping accepts it again"));
		p->counts.cleared++;
	}
	if (same) {
		if (!ex->last_error)
			p->counts.unchanged++;
	} else if (plan_can(p, OP_UPDATE)) {
		plan_request(p, OP_UPDATE, e, m, ex, xstrdup(why_update));
	} else {
		plan_local(p, ACTION_STALE, e, m, ex,
			   xasprintf("changed in the directory; the %s driver cannot update members",
				     p->target->driver->name));
		p->counts.stale++;
	}
}

/* Whether a failed member's retry time is still ahead. next_attempt_at is
 * wall-clock time: a failure recorded "in the future" means the clock was
 * set back since, and waiting for it would add the jump to the backoff
 * (a day back: a day without retries). Such a retry is due now; it records
 * a time on the new clock. (state_foreach_due says the same.) */
static bool plan_retry_waits(const struct state_member *m, int64_t now)
{
	return m->next_attempt_at > now && m->updated_at <= now;
}

/* A request that may have created the member went out and its answer was
 * never recorded (crash, kill). Sending it again blindly could add the
 * person twice. */
static void plan_interrupted_add(struct plan *p, const struct entry *e, const struct mapped *m,
				 const struct state_member *ex)
{
	if (p->target->driver->idempotent_add)
		plan_request(p, OP_ADD, e, m, ex,
			     xstrdup("an earlier add was interrupted; sending it again (the API ignores repeats)"));
	else if (plan_can(p, OP_LOOKUP))
		plan_request(p, OP_LOOKUP, e, m, ex,
			     xstrdup("an earlier add was interrupted; checking whether the target has the member"));
	else
		plan_local(p, ACTION_QUARANTINE, e, m, ex,
			   xasprintf("an add was interrupted and the %s driver cannot check whether it arrived: see "
				     "whether the target has this member, then 'membersync retry' sends it again "
				     "or 'membersync forget' drops it",
				     p->target->driver->name));
}

void plan_entry(struct plan *p, const struct entry *e, const struct mapped *m, const struct state_member *ex,
		int64_t now)
{
	if (ex && ex->excluded)
		plan_local(p, ACTION_INCLUDE, e, m, ex, xstrdup("back in the target's scope"));
	if (!m->payload) {
		plan_invalid(p, e, m, ex);
		return;
	}
	if (!ex) {
		plan_request(p, OP_ADD, e, m, ex, xstrdup("new member"));
		return;
	}
	bool same = ex->payload_hash && strcmp(ex->payload_hash, m->hash) == 0;
	enum push_op op = plan_op_from_name(ex->op);
	switch (ex->status) {
	case MEMBER_PENDING:
		if (op == OP_ADD || op == OP_LOOKUP)
			plan_interrupted_add(p, e, m, ex);
		else
			plan_request(p, op, e, m, ex, xasprintf("an earlier %s was interrupted; sending it again",
								push_op_name(op)));
		return;
	case MEMBER_FAILED:
		if (plan_retry_waits(ex, now)) {
			p->counts.waiting++;
			return;
		}
		if (op == OP_DISABLE || op == OP_DELETE) {
			/* Back in scope before the deprovision got through:
			 * the target still has the member. */
			plan_present(p, e, m, ex, same, "changed in the directory");
			return;
		}
		if (op == OP_LOOKUP) {
			plan_interrupted_add(p, e, m, ex);
			return;
		}
		if (op != OP_ADD && !plan_can(p, op)) {
			/* The configuration changed since: the target has the
			 * member, and can no longer be asked to change it. */
			plan_present(p, e, m, ex, same, "changed in the directory");
			return;
		}
		plan_request(p, op, e, m, ex, xasprintf("retry after failure: %s", plan_error(ex)));
		return;
	case MEMBER_QUARANTINED:
		if (same) {
			p->counts.quarantined++;
			return;
		}
		if (op == OP_LOOKUP)
			op = OP_ADD;
		if (op != OP_ADD && !plan_can(p, op)) {
			plan_present(p, e, m, ex, false, "changed since it was quarantined");
			return;
		}
		plan_request(p, op, e, m, ex, xasprintf("changed since it was quarantined (%s)", plan_error(ex)));
		return;
	case MEMBER_INVALID:
		if (same) {
			p->counts.invalid_known++;
			return;
		}
		if (op == OP_UPDATE && plan_can(p, OP_UPDATE))
			plan_request(p, OP_UPDATE, e, m, ex, xstrdup("changed since the target rejected the update"));
		else
			plan_request(p, OP_ADD, e, m, ex,
				     xstrdup(ex->payload_hash ? "changed since the target rejected it"
							      : "the mapping accepts it now"));
		return;
	case MEMBER_SYNCED:
		plan_present(p, e, m, ex, same, "changed in the directory");
		return;
	case MEMBER_DISABLED:
		if (plan_can(p, OP_ENABLE))
			plan_request(p, OP_ENABLE, e, m, ex, xstrdup("back in scope after it was disabled"));
		else
			plan_request(p, OP_ADD, e, m, ex, xstrdup("back in scope after it was disabled"));
		return;
	case MEMBER_DELETED:
		plan_request(p, OP_ADD, e, m, ex, xstrdup("back in scope after it was deleted"));
		return;
	case MEMBER__COUNT:
		break;
	}
}

static const char *plan_exclusion_reason(enum plan_exclusion why)
{
	return why == PLAN_DISABLED ? "disabled in the directory" : "not in the target's groups";
}

void plan_exclude(struct plan *p, const struct entry *e, const struct state_member *ex, enum plan_exclusion why,
		  int64_t now)
{
	const char *reason = plan_exclusion_reason(why);
	if (why == PLAN_DISABLED)
		p->counts.disabled++;
	else
		p->counts.out_of_scope++;
	if (!ex)
		return;
	if (!ex->excluded || strcmp(ex->excluded, reason) != 0)
		plan_local(p, ACTION_EXCLUDE, e, NULL, ex, xstrdup(reason));
	plan_leaving(p, ex, reason, now);
}

void plan_leaving(struct plan *p, const struct state_member *m, const char *why, int64_t now)
{
	enum conf_deprovision policy = p->target->deprovision;
	enum push_op op = policy == CONF_DEPROVISION_DELETE ? OP_DELETE : OP_DISABLE;
	enum push_op row_op = plan_op_from_name(m->op);
	bool at_target;

	switch (m->status) {
	case MEMBER_SYNCED:
	case MEMBER_PENDING:	/* unknown: a delete of nobody is harmless */
		at_target = true;
		break;
	case MEMBER_DISABLED:
		/* Disabling again is nothing; deleting is a stronger policy. */
		at_target = policy == CONF_DEPROVISION_DELETE;
		break;
	case MEMBER_FAILED:
		if (plan_retry_waits(m, now) && (row_op == OP_DISABLE || row_op == OP_DELETE)) {
			p->counts.waiting++;
			return;
		}
		/* A failed add never reached the target; anything else did. */
		at_target = row_op != OP_ADD && row_op != OP_LOOKUP;
		break;
	case MEMBER_INVALID:
		at_target = row_op == OP_UPDATE;
		break;
	case MEMBER_QUARANTINED:
		p->counts.quarantined++;
		return;
	default:
		return;
	}
	if (!at_target)
		return;
	if (policy == CONF_DEPROVISION_NONE) {
		p->counts.kept++;
		return;
	}
	if (m->member_key && p->key_shared && p->key_shared(p->key_shared_ud, m)) {
		p->counts.shared++;
		return;
	}
	struct action *a = plan_push_row(&p->leaving, &p->n_leaving, &p->cap_leaving, ACTION_PUSH, m);
	a->op = op;
	a->reason = xstrdup(why);
}

/* What max_deprovision allows for a target of `members` members. */
static long plan_limit(const struct conf_target *t, long members)
{
	if (!t->max_deprovision_percent)
		return (long)t->max_deprovision;
	long lim = (long)((double)members * t->max_deprovision / 100.0);
	/* 5 % of a small target rounds to 0; one is never a mass deletion. */
	return lim < 1 && t->max_deprovision > 0 ? 1 : lim;
}

void plan_finish(struct plan *p, const struct plan_limits *lim)
{
	size_t n = p->n_leaving;
	if (n == 0)
		return;
	if (!lim->read_complete || lim->read_empty) {
		p->counts.blocked = n;
		p->blocked_why = !lim->read_complete ? "the directory read did not complete"
						     : "the directory returned no entries at all";
		goto out;
	}
	p->limit = plan_limit(p->target, lim->members);
	const struct state_hold *h = lim->hold;
	bool over = (long)n > p->limit;
	p->approved = over && h && h->approved_at && (long)n <= h->count;
	p->held = over && !p->approved;
	for (size_t i = 0; i < n; i++) {
		xgrow((void **)&p->actions, &p->cap, p->n, sizeof(*p->actions));
		struct action *a = &p->actions[p->n++];
		*a = p->leaving[i];
		if (p->held) {
			a->kind = ACTION_HELD;
			p->counts.held++;
		} else {
			p->counts.push[a->op]++;
			p->n_push++;
		}
	}
	n = 0;
	p->n_leaving = 0;
out:
	for (size_t i = 0; i < n; i++)
		plan_action_clear(&p->leaving[i]);
	p->n_leaving = 0;
}

bool plan_has_work(const struct plan *p)
{
	const struct plan_counts *c = &p->counts;
	return p->n_push || c->invalid_new || c->stale || c->held || c->cleared || c->waiting || c->blocked;
}

char *plan_held_json(const struct plan *p)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct action *a = &p->actions[i];
		if (a->kind != ACTION_HELD)
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "dn", json_object_new_string(a->dn));
		if (a->key)
			json_object_object_add(o, "key", json_object_new_string(a->key));
		json_object_object_add(o, "op", json_object_new_string(push_op_name(a->op)));
		json_object_object_add(o, "reason", json_object_new_string(a->reason));
		json_object_array_add(arr, o);
	}
	char *s = xstrdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return s;
}

static const char *plan_kind_name(const struct action *a)
{
	switch (a->kind) {
	case ACTION_PUSH: return push_op_name(a->op);
	case ACTION_RECORD_INVALID: return "skip";
	case ACTION_CLEAR_ERROR: return "clear-error";
	case ACTION_STALE: return "stale";
	case ACTION_EXCLUDE: return "exclude";
	case ACTION_INCLUDE: return "include";
	case ACTION_QUARANTINE: return "quarantine";
	case ACTION_HELD: return "held";
	case ACTION_RESTORE: return "restore";
	}
	return "?";
}

static const char *const plan_policy_names[] = { "none", "disable", "delete" };

void plan_print(const struct plan *p, FILE *out, bool actions)
{
	const struct plan_counts *c = &p->counts;
	fprintf(out, "target %s (%s): %zu to add, %zu to update, %zu to enable, %zu to check, %zu to disable, "
		     "%zu to delete, %zu newly invalid, %zu still invalid, %zu unchanged, %zu waiting for retry, "
		     "%zu quarantined, %zu changed but not updatable, %zu disabled, %zu not in its groups, "
		     "%zu leaving but kept (deprovision = %s), %zu leaving but shared with another entry\n",
		p->target->name, p->target->driver->name, c->push[OP_ADD], c->push[OP_UPDATE], c->push[OP_ENABLE],
		c->push[OP_LOOKUP], c->push[OP_DISABLE], c->push[OP_DELETE], c->invalid_new, c->invalid_known,
		c->unchanged, c->waiting, c->quarantined, c->stale, c->disabled, c->out_of_scope, c->kept,
		plan_policy_names[p->target->deprovision], c->shared);
	if (c->blocked)
		fprintf(out, "  no deprovisioning: %s (%zu members would have been deprovisioned)\n", p->blocked_why,
			c->blocked);
	if (p->held)
		fprintf(out, "  HELD: %zu deprovisions, more than max_deprovision allows (%ld); "
			     "'membersync approve %s' lets them run once\n",
			c->held, p->limit, p->target->name);
	if (p->approved)
		fprintf(out, "  approved by an operator: deprovisions over max_deprovision (%ld) run once\n", p->limit);
	for (size_t i = 0; actions && i < p->n; i++) {
		const struct action *a = &p->actions[i];
		fprintf(out, "  %-11s %s", plan_kind_name(a), a->dn);
		if (a->key)
			fprintf(out, " [%s]", a->key);
		fprintf(out, ": %s\n", a->reason);
		if (a->kind == ACTION_PUSH && a->payload) {
			json_object *j = json_tokener_parse(a->payload);
			char *red = j ? mapping_payload_redacted(p->target->mapping, j) : xstrdup("?");
			fprintf(out, "        %s\n", red);
			free(red);
			json_object_put(j);
		}
	}
}
