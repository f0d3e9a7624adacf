/* The plan: what one cycle must do for one target, decided per entry from
 * the mapping result and the state cache row. Pure logic: no I/O, so every
 * rule is unit-tested. */
#ifndef MS_SYNC_PLAN_H
#define MS_SYNC_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "config/conf.h"
#include "ldap/entry.h"
#include "mapping/mapping.h"
#include "state/state.h"

enum action_kind {
	ACTION_ADD,		/* send the member to the target */
	ACTION_RECORD_INVALID,	/* the mapping rejected the entry: record and log once */
	ACTION_CLEAR_ERROR,	/* a synced member's mapping is valid again */
	ACTION_STALE,		/* changed, but this driver cannot update members yet */
};

struct action {
	enum action_kind kind;
	char *source_id;
	char *dn;
	char *key;		/* member key; NULL for invalid entries */
	char *payload;		/* ADD: JSON text, may hold secret fields */
	char hash[HASH_SHA256_HEX_LEN + 1];
	char *reason;		/* why this action (ADD), or why invalid */
};

struct plan_counts {
	size_t add;
	size_t invalid_new;	/* newly invalid (recorded and logged now) */
	size_t invalid_known;	/* invalid as before: nothing to do */
	size_t unchanged;
	size_t waiting;		/* failed earlier, retry not due yet */
	size_t stale;
	size_t cleared;
	size_t disabled;	/* disabled accounts, not added */
	size_t out_of_scope;	/* not in the target's groups, not added */
	size_t excluded_present;	/* of those two, members the target has (kept) */
};

enum plan_exclusion {
	PLAN_DISABLED,
	PLAN_OUT_OF_SCOPE,
};

struct plan {
	const struct conf_target *target;
	struct action *actions;
	size_t n, cap;
	struct plan_counts counts;
};

struct plan *plan_new(const struct conf_target *target);
void plan_free(struct plan *p);

/* Decides what to do for entry e given its mapping result m (valid when
 * m->payload is set) and its state row `existing` (NULL when absent). */
void plan_entry(struct plan *p, const struct entry *e, const struct mapped *m,
		const struct state_member *existing, int64_t now);

/* Entry e must not become this target's member (disabled account, or not
 * in the target's groups): counted, never added. A member the target has
 * already (ex synced) stays there: removing people is deprovisioning's
 * job, under its own policy. */
void plan_exclude(struct plan *p, const struct entry *e, const struct state_member *ex, enum plan_exclusion why);

/* Prints every action with its reason (secrets redacted), for --dry-run. */
void plan_print(const struct plan *p, FILE *out);

#endif
