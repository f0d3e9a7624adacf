/* The plan: what one cycle must do for one target, decided per entry from
 * the mapping result and the state cache row, and for members whose
 * entries left the directory or the target's scope. Pure logic: no I/O,
 * so every rule is unit-tested. */
#ifndef MS_SYNC_PLAN_H
#define MS_SYNC_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "config/conf.h"
#include "ldap/entry.h"
#include "mapping/mapping.h"
#include "state/state.h"

enum action_kind {
	ACTION_PUSH,		/* a request to the target; op says which */
	ACTION_RECORD_INVALID,	/* the mapping rejected the entry: record and log once */
	ACTION_CLEAR_ERROR,	/* a synced member's mapping is valid again */
	ACTION_STALE,		/* changed, but this target cannot update members */
	ACTION_EXCLUDE,		/* record why the target should no longer have it */
	ACTION_INCLUDE,		/* back in the target's scope: clear that */
	ACTION_QUARANTINE,	/* cannot go on safely without an operator: quarantine */
	ACTION_HELD,		/* a deprovision held back by max_deprovision */
	/* The target still has the member although its row says otherwise (a
	 * deprovision that failed before the entry came back): synced again. */
	ACTION_RESTORE,
};

struct action {
	enum action_kind kind;
	enum push_op op;	/* ACTION_PUSH and ACTION_HELD */
	char *source_id;
	char *dn;
	char *key;		/* member key; NULL for invalid entries */
	char *payload;		/* JSON text, may hold secret fields; NULL without a mapping */
	char hash[HASH_SHA256_HEX_LEN + 1];	/* of payload; "" without one */
	/* The payload the target had when the state was written: what a
	 * lookup that finds the member records (NULL: unknown). */
	char *stored_hash;
	char *remote_id;	/* the stored id at the target */
	char *reason;		/* why this action */
	int attempts, failures;	/* of the state row, for the next failure */
};

struct plan_counts {
	size_t push[OP__COUNT];	/* requests to send, by op */
	size_t invalid_new;	/* newly invalid (recorded and logged now) */
	size_t invalid_known;	/* invalid as before: nothing to do */
	size_t unchanged;
	size_t waiting;		/* failed earlier, retry not due yet */
	size_t quarantined;	/* left alone until `membersync retry` */
	size_t stale;
	size_t cleared;
	size_t disabled;	/* disabled accounts, not added */
	size_t out_of_scope;	/* not in the target's groups, not added */
	size_t kept;		/* leaving members kept: deprovision = none */
	size_t shared;		/* leaving, but another entry maps to the same member: kept */
	size_t held;		/* deprovisions held back by max_deprovision */
	size_t blocked;		/* deprovisions not planned: the read is not trustworthy */
};

enum plan_exclusion {
	PLAN_DISABLED,
	PLAN_OUT_OF_SCOPE,
};

struct plan {
	const struct conf_target *target;
	struct action *actions;
	size_t n, cap;
	size_t n_push;		/* ACTION_PUSH actions */
	struct plan_counts counts;
	/* Deprovisions gathered until plan_finish decides on them. */
	struct action *leaving;
	size_t n_leaving, cap_leaving;
	bool held;		/* max_deprovision held the deprovisions back */
	long limit;		/* what max_deprovision allowed (plan_finish) */
	bool approved;		/* ran over the limit on an operator's approval */
	/* Whether another entry in scope maps to m's member key (set by the
	 * caller, which can ask the state cache; NULL: never). Such a member
	 * is never deprovisioned: it would remove a person still there. */
	bool (*key_shared)(void *ud, const struct state_member *m);
	void *key_shared_ud;
	const char *blocked_why;	/* static; set when counts.blocked */
};

struct plan *plan_new(const struct conf_target *target);
void plan_free(struct plan *p);

/* Decides what to do for entry e given its mapping result m (valid when
 * m->payload is set) and its state row `existing` (NULL when absent). */
void plan_entry(struct plan *p, const struct entry *e, const struct mapped *m,
		const struct state_member *existing, int64_t now);

/* Entry e must not be this target's member (disabled account, or not in
 * the target's groups): never added, and a member the target has is
 * deprovisioned under the target's policy (see plan_finish). */
void plan_exclude(struct plan *p, const struct entry *e, const struct state_member *ex, enum plan_exclusion why,
		  int64_t now);

/* The target may still have member m although its entry left the
 * directory or the target's scope (`why`): a deprovision candidate under
 * the target's policy. For rows not seen in this cycle's read. */
void plan_leaving(struct plan *p, const struct state_member *m, const char *why, int64_t now);

struct plan_limits {
	bool read_complete;	/* deprovisioning needs a complete read */
	bool read_empty;	/* a full read found no entries at all */
	long members;		/* the target's members now, for a percentage */
	const struct state_hold *hold;	/* the target's hold, NULL: none */
};

/* Decides on the deprovision candidates: none from an untrustworthy read;
 * held (ACTION_HELD) when more than max_deprovision and not approved;
 * otherwise planned. Call once, after every entry. */
void plan_finish(struct plan *p, const struct plan_limits *lim);

/* Whether the plan changes anything at the target or in the state cache
 * (for --check). */
bool plan_has_work(const struct plan *p);

/* The held deprovisions as a JSON array text of {dn, key, op, reason}
 * (caller frees), for the state cache and `membersync plan`. */
char *plan_held_json(const struct plan *p);

/* Prints the counts and, with `actions`, every action with its reason
 * (secrets redacted), for --dry-run and --check. */
void plan_print(const struct plan *p, FILE *out, bool actions);

#endif
