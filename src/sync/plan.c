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

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct action *a = &p->actions[i];
		free(a->source_id);
		free(a->dn);
		free(a->key);
		free(a->payload);
		free(a->reason);
	}
	free(p->actions);
	free(p);
}

static struct action *plan_push(struct plan *p, enum action_kind kind, const struct entry *e,
				const struct mapped *m)
{
	xgrow((void **)&p->actions, &p->cap, p->n, sizeof(*p->actions));
	struct action *a = &p->actions[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->source_id = xstrdup(e->id);
	a->dn = xstrdup(e->dn);
	if (m->payload) {
		a->key = m->key ? xstrdup(m->key) : NULL;
		memcpy(a->hash, m->hash, sizeof(a->hash));
	}
	return a;
}

static void plan_add(struct plan *p, const struct entry *e, const struct mapped *m, char *reason)
{
	struct action *a = plan_push(p, ACTION_ADD, e, m);
	a->payload = xstrdup(json_object_to_json_string_ext(m->payload,
							    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	a->reason = reason;
	p->counts.add++;
}

static void plan_invalid(struct plan *p, const struct entry *e, const struct mapped *m,
			 const struct state_member *ex)
{
	/* Logged once: only a new or different reason is worth a record. */
	if (ex && ex->last_error && strcmp(ex->last_error, m->reasons) == 0) {
		p->counts.invalid_known++;
		return;
	}
	struct action *a = plan_push(p, ACTION_RECORD_INVALID, e, m);
	a->reason = xstrdup(m->reasons);
	p->counts.invalid_new++;
}

void plan_entry(struct plan *p, const struct entry *e, const struct mapped *m, const struct state_member *ex,
		int64_t now)
{
	if (!m->payload) {
		plan_invalid(p, e, m, ex);
		return;
	}
	if (!ex) {
		plan_add(p, e, m, xstrdup("new member"));
		return;
	}
	bool same = ex->payload_hash && strcmp(ex->payload_hash, m->hash) == 0;
	switch (ex->status) {
	case MEMBER_PENDING:
		/* A request went out and its answer was never recorded (crash,
		 * kill). Drivers recognise "already there" answers. */
		plan_add(p, e, m, xstrdup("an earlier attempt was interrupted; sending again"));
		return;
	case MEMBER_FAILED:
		if (ex->next_attempt_at > now) {
			p->counts.waiting++;
			return;
		}
		plan_add(p, e, m, xasprintf("retry after failure: %s", ex->last_error ? ex->last_error : "unknown"));
		return;
	case MEMBER_INVALID:
		if (same) {
			p->counts.invalid_known++;
			return;
		}
		plan_add(p, e, m, xstrdup(ex->payload_hash ? "changed since the target rejected it"
							    : "the mapping accepts it now"));
		return;
	case MEMBER_SYNCED:
		if (ex->last_error) {
			plan_push(p, ACTION_CLEAR_ERROR, e, m)->reason = xstrdup("the mapping accepts it again");
			p->counts.cleared++;
		}
		if (same) {
			if (!ex->last_error)
				p->counts.unchanged++;
		} else {
			plan_push(p, ACTION_STALE, e, m)->reason =
				xasprintf("changed in the directory; the %s driver cannot update members yet",
					  p->target->driver->name);
			p->counts.stale++;
		}
		return;
	}
}

void plan_exclude(struct plan *p, const struct entry *e, const struct state_member *ex, enum plan_exclusion why)
{
	(void)e;
	if (why == PLAN_DISABLED)
		p->counts.disabled++;
	else
		p->counts.out_of_scope++;
	if (ex && ex->status == MEMBER_SYNCED)
		p->counts.excluded_present++;
}

static const char *plan_kind_name(enum action_kind k)
{
	switch (k) {
	case ACTION_ADD: return "add";
	case ACTION_RECORD_INVALID: return "skip";
	case ACTION_CLEAR_ERROR: return "clear-error";
	case ACTION_STALE: return "stale";
	}
	return "?";
}

void plan_print(const struct plan *p, FILE *out)
{
	const struct plan_counts *c = &p->counts;
	fprintf(out, "target %s (%s): %zu to add, %zu newly invalid, %zu still invalid, %zu unchanged, "
		     "%zu waiting for retry, %zu changed but not updatable, %zu disabled, %zu not in its groups"
		     " (%zu of those two kept at the target: deprovisioning is not configured)\n",
		p->target->name, p->target->driver->name, c->add, c->invalid_new, c->invalid_known, c->unchanged,
		c->waiting, c->stale, c->disabled, c->out_of_scope, c->excluded_present);
	for (size_t i = 0; i < p->n; i++) {
		const struct action *a = &p->actions[i];
		fprintf(out, "  %-5s %s", plan_kind_name(a->kind), a->dn);
		if (a->key)
			fprintf(out, " [%s]", a->key);
		fprintf(out, ": %s\n", a->reason);
		if (a->kind == ACTION_ADD) {
			json_object *j = json_tokener_parse(a->payload);
			char *red = j ? mapping_payload_redacted(p->target->mapping, j) : xstrdup("?");
			fprintf(out, "        %s\n", red);
			free(red);
			json_object_put(j);
		}
	}
}
