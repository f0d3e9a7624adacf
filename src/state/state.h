/* The state cache: what each target is known to have, in SQLite (WAL) so
 * operators can query it with sqlite3 and a crash at any point loses
 * nothing. Secrets and payloads are never stored, only payload hashes.
 * The API is narrow so a second backend (PostgreSQL) is one new file. */
#ifndef MS_STATE_STATE_H
#define MS_STATE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define STATE_SCHEMA_VERSION 3

enum member_status {
	MEMBER_PENDING,	/* a request may have been sent; outcome unknown */
	MEMBER_SYNCED,	/* the target has it (added, or found already there) */
	MEMBER_FAILED,	/* last attempt failed; retried at next_attempt_at */
	MEMBER_INVALID,	/* mapping or API rejected this payload; not retried until it changes */
};

const char *member_status_name(enum member_status s);

struct state_member {
	char *target;
	char *source_id;
	char *dn;
	char *member_key;
	char *payload_hash;	/* NULL when never computed (mapping-invalid) */
	char *remote_id;
	char *last_error;
	enum member_status status;
	int attempts;
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

/* Looks up one member. Returns 0 and fills *out (clear it with
 * state_member_clear), -ENOENT when absent, or -EIO. */
int state_get_member(struct state *st, const char *target, const char *source_id, struct state_member *out);

/* Transactions group writes: pending marks are committed before their
 * requests go out; outcomes are committed as they arrive. */
int state_begin(struct state *st);
int state_commit(struct state *st);
int state_rollback(struct state *st);

/* Records that an add is about to be sent (status pending, attempts + 1). */
int state_mark_pending(struct state *st, const char *target, const char *source_id, const char *dn,
		       const char *member_key, const char *payload_hash, int64_t now);

struct state_outcome {
	enum member_status status;
	const char *dn;			/* for members never marked pending */
	const char *member_key;
	const char *payload_hash;	/* the payload this outcome is about */
	const char *remote_id;		/* NULL keeps the stored one */
	const char *error;		/* NULL clears last_error */
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

struct state_run {
	int64_t started_at, finished_at;
	const char *result;	/* "ok", "partial", "source-failed", "stopped" */
	long entries, adds, skipped, failed;
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

/* Every source id some target has and that is not gone. */
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

/* Last SQLite error message, for logs. */
const char *state_errmsg(struct state *st);

#endif
