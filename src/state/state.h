/* The state cache: what each target is known to have, in SQLite (WAL) so
 * operators can query it with sqlite3 and a crash at any point loses
 * nothing. Secrets and payloads are never stored, only payload hashes.
 * The API is narrow so a second backend (PostgreSQL) is one new file. */
#ifndef MS_STATE_STATE_H
#define MS_STATE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define STATE_SCHEMA_VERSION 4

enum member_status {
	MEMBER_PENDING,	/* a request may have been sent; outcome unknown */
	MEMBER_SYNCED,	/* the target has it (added, or found already there) */
	MEMBER_FAILED,	/* last attempt failed; retried at next_attempt_at */
	MEMBER_INVALID,	/* mapping or API rejected this payload; not retried until it changes */
	/* Failed max_attempts times with answers retrying cannot fix: left
	 * alone until `membersync retry` (or its payload changes). */
	MEMBER_QUARANTINED,
	MEMBER_DISABLED,	/* deprovisioned by deactivation: the target keeps the account */
	MEMBER_DELETED,		/* deprovisioned by removal; the row is history */
	MEMBER__COUNT,
};

const char *member_status_name(enum member_status s);
/* The status named s, or -1. */
int member_status_from_name(const char *s);

struct state_member {
	char *target;
	char *source_id;
	char *dn;
	char *member_key;
	char *payload_hash;	/* NULL when never computed (mapping-invalid) */
	char *remote_id;
	char *last_error;
	/* For pending, failed, invalid and quarantined rows: the operation
	 * concerned ("add", "update", "disable", "enable", "delete",
	 * "lookup"); NULL means "add". */
	char *op;
	/* Why the target should no longer have this member although its entry
	 * is in the directory (disabled, out of the target's groups); NULL
	 * while it is in scope. */
	char *excluded;
	enum member_status status;
	int attempts;		/* failed attempts in a row (drives the backoff) */
	int failures;		/* of those, permanent ones (drive the quarantine) */
	int64_t next_attempt_at, first_seen, last_synced, updated_at;
	int64_t gone_at;	/* when the entry left the directory; 0: it has not */
};

void state_member_clear(struct state_member *m);

struct state;

/* Opens (creating and migrating) the database at `path`. With `readonly`
 * (--dry-run) nothing is ever written, and a missing database is treated
 * as empty. Returns 0 or -errno with *err (caller frees). */
int state_open(const char *path, bool readonly, struct state **out, char **err);
void state_close(struct state *st);

/* Looks up one member. Returns 0 and fills *m (clear it with
 * state_member_clear), -ENOENT when absent, or -EIO. */
int state_get_member(struct state *st, const char *target, const char *source_id, struct state_member *m);

/* Transactions group writes: pending marks are committed before their
 * requests go out; outcomes are committed as they arrive. */
int state_begin(struct state *st);
int state_commit(struct state *st);
int state_rollback(struct state *st);

/* A read snapshot for many lookups in a row (a cycle's directory read, one
 * state_get_member per entry): one transaction for all of them instead of
 * one per statement, each of which takes and drops the database's read
 * lock. Writes must wait for state_read_end. Returns 0 or -EIO. */
int state_read_begin(struct state *st);
int state_read_end(struct state *st);

/* Records that a request that may create the member is about to be sent
 * (status pending; op names it, NULL: "add"). */
int state_mark_pending(struct state *st, const char *target, const char *source_id, const char *dn,
		       const char *member_key, const char *payload_hash, const char *op, int64_t now);

struct state_outcome {
	enum member_status status;
	const char *op;			/* what a failed/invalid/quarantined row retries; NULL: add */
	const char *dn;			/* for members never marked pending */
	const char *member_key;
	const char *payload_hash;	/* the payload this outcome is about; NULL keeps the stored one */
	const char *remote_id;		/* NULL keeps the stored one */
	const char *error;		/* NULL clears last_error */
	int attempts, failures;		/* stored as given (0 on success) */
	int64_t next_attempt_at;	/* for MEMBER_FAILED */
};

/* Records the outcome for a member (inserting its row if it was never
 * marked pending, e.g. when a lookup before the add failed). */
int state_record_outcome(struct state *st, const char *target, const char *source_id,
			 const struct state_outcome *o, int64_t now);

/* Records that the mapping rejected an entry: inserts it as invalid, or, for
 * a member the target already has, only notes the error (status stays
 * synced: the member is still there). */
int state_record_invalid(struct state *st, const char *target, const char *source_id, const char *dn,
			 const char *reason, int64_t now);
/* Clears last_error of a synced member whose mapping is valid again. */
int state_clear_error(struct state *st, const char *target, const char *source_id, int64_t now);

/* Records why the target should no longer have the member (NULL: it is
 * in scope again). */
int state_set_excluded(struct state *st, const char *target, const char *source_id, const char *reason,
		       int64_t now);

/* Calls fn for every member of `target` the target may still have although
 * its entry left the directory or the target's scope: gone or excluded,
 * and not deleted. Returns 0 or -EIO. */
int state_foreach_leaving(struct state *st, const char *target,
			  void (*fn)(void *ud, const struct state_member *m), void *ud);

/* Whether another entry in the target's scope (not source_id) maps to the
 * same member key and the target has it: 1, 0, or -EIO. Deprovisioning
 * the member of a leaving entry would then remove someone still there. */
int state_key_shared(struct state *st, const char *target, const char *member_key, const char *source_id);

/* A target whose deprovisioning plan exceeded max_deprovision: the plan is
 * kept (as JSON text, for `membersync plan`) until it is approved, which
 * lets the next plan of at most `count` deprovisions run once. */
struct state_hold {
	int64_t held_at;
	long count;		/* deprovisions in the held plan */
	long members;		/* the target's members when it was held */
	long limit;		/* what max_deprovision allowed */
	int64_t approved_at;	/* 0: not approved */
	char *plan;		/* JSON array of {dn, key, op, reason} */
};
void state_hold_clear(struct state_hold *h);
/* get returns 0 and fills *h, -ENOENT when the target is not held, -EIO. */
int state_hold_get(struct state *st, const char *target, struct state_hold *h);
/* Holds the target (replacing an earlier hold and its approval). */
int state_hold_set(struct state *st, const char *target, const struct state_hold *h);
/* Approves the hold; -ENOENT when the target is not held. */
int state_hold_approve(struct state *st, const char *target, int64_t now);
int state_hold_delete(struct state *st, const char *target);
/* Calls fn for every held target (h borrowed for the call). */
int state_foreach_hold(struct state *st, void (*fn)(void *ud, const char *target, const struct state_hold *h),
		       void *ud);

/* Per target: how its last cycle went, for `membersync status`. */
struct state_target_status {
	int64_t last_cycle_at;
	const char *last_result;	/* "ok", "partial", "paused", "held", "stopped" */
	const char *last_error;		/* NULL: none this cycle (the stored one is kept) */
	int64_t last_error_at;
};
int state_target_status_set(struct state *st, const char *target, const struct state_target_status *s);
/* Fills *s; its last_result and last_error point to *result and *error,
 * which the caller frees. -ENOENT when the target never ran, -EIO. */
int state_target_status_get(struct state *st, const char *target, struct state_target_status *s, char **result,
			    char **error);

/* `membersync retry`: failed and quarantined members of `target` (NULL:
 * every target) matching `member` (a source id, DN or member key; NULL:
 * all) are due at once, their failure counts reset. *rows: how many. */
int state_release(struct state *st, const char *target, const char *member, int64_t now, long *rows);
/* `membersync forget`: removes the rows of `member` (source id, DN or
 * member key) of `target` (NULL: every target) from the cache; the next
 * cycle treats the entry as new, and the drivers' duplicate handling
 * adopts what the target has. *rows: how many. */
int state_forget(struct state *st, const char *target, const char *member, long *rows);
/* Calls fn for every row whose source id, DN (case-insensitively) or
 * member key is `member`. */
int state_find_member(struct state *st, const char *member,
		      void (*fn)(void *ud, const struct state_member *m), void *ud);

struct state_run {
	int64_t started_at, finished_at;
	const char *result;	/* "ok", "partial", "source-failed", "stopped" */
	long entries, adds, updates, deprovisions, skipped, failed;
};

int state_record_run(struct state *st, const struct state_run *run);

/* Identity cache: the target's own id for a lookup key (an email), for
 * APIs that want their user id rather than ours. get returns 0 and *id
 * (caller frees), -ENOENT, or -EIO. */
int state_identity_get(struct state *st, const char *target, const char *lookup_key, char **id);
int state_identity_put(struct state *st, const char *target, const char *lookup_key, const char *id,
		       int64_t now);
int state_identity_delete(struct state *st, const char *target, const char *lookup_key);

/* A target told to stop until a time (monthly quota): kept across
 * restarts. get returns 0 with *until (0 = not paused) and *reason (caller
 * frees, may be NULL), or -EIO. */
int state_pause_get(struct state *st, const char *target, int64_t *until, char **reason);
int state_pause_set(struct state *st, const char *target, int64_t until, const char *reason);

/* Change tracking cursors of the directory ("cursor", "fingerprint",
 * "full-read-at"): get returns 0 and *value (caller frees), -ENOENT or
 * -EIO; set stores value, or deletes the cursor when value is NULL. */
int state_cursor_get(struct state *st, const char *name, char **value);
int state_cursor_set(struct state *st, const char *name, const char *value, int64_t now);

/* Every source id some target has and that is not gone; an id that
 * several targets have comes once per target. */
int state_foreach_known(struct state *st, void (*fn)(void *ud, const char *id), void *ud);
/* Source ids with a push due again: failed with next_attempt_at <= now, or
 * left pending by a crash. */
int state_foreach_due(struct state *st, int64_t now, void (*fn)(void *ud, const char *id), void *ud);
/* The entry left the directory or the search: marks every target's row
 * (*rows says how many). Nothing is removed at any target here. */
int state_mark_gone(struct state *st, const char *source_id, int64_t now, long *rows);
/* The entry is back: clears gone_at. */
int state_mark_back(struct state *st, const char *source_id, int64_t now);

/* The entry was renamed or moved (same id, new DN): every target's row
 * follows, so logs name it as the directory does now. */
int state_set_dn(struct state *st, const char *source_id, const char *dn, int64_t now);

/* Calls fn for every member row, ordered by target and DN: of `target`
 * only (NULL: all), with `status` only (a member_status, or -1: any).
 * Returns 0 or -EIO. */
int state_foreach_member(struct state *st, const char *target, int status,
			 void (*fn)(void *ud, const struct state_member *m), void *ud);

/* Counts members of a target by status (for summaries and tests). */
int state_count(struct state *st, const char *target, enum member_status status, long *out);
/* Members of every status at once: counts[MEMBER__COUNT]. */
int state_count_all(struct state *st, const char *target, long counts[MEMBER__COUNT]);
/* The last run recorded (0 and *run with result owned by the caller,
 * -ENOENT before the first, -EIO). */
int state_last_run(struct state *st, struct state_run *run, char **result);

/* Last SQLite error message, for logs. */
const char *state_errmsg(struct state *st);

#endif
