/* SQLite backend of the state cache. */
#include "config.h"

#include "state/state.h"
#include "util/xalloc.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A writer holding the lock longer than this is a real problem worth an
 * error, not a reason to hang the daemon. */
#define STATE_BUSY_TIMEOUT_MS 10000

enum stmt_id {
	STMT_GET,
	STMT_PENDING,
	STMT_OUTCOME,
	STMT_INVALID,
	STMT_CLEAR_ERROR,
	STMT_RUN,
	STMT_COUNT,
	STMT_IDENTITY_GET,
	STMT_IDENTITY_PUT,
	STMT_IDENTITY_DELETE,
	STMT_PAUSE_GET,
	STMT_PAUSE_SET,
	STMT_CURSOR_GET,
	STMT_CURSOR_SET,
	STMT_CURSOR_DELETE,
	STMT_KNOWN,
	STMT_DUE,
	STMT_GONE,
	STMT_BACK,
	STMT_RENAME,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT__MAX,
};

/* A member row's columns, as state_member_from_row reads them. */
#define STATE_MEMBER_COLUMNS                                                                                    \
	"dn, member_key, payload_hash, remote_id, status, attempts, next_attempt_at, last_error, first_seen, " \
	"last_synced, updated_at, gone_at"

static const char *const stmt_sql[STMT__MAX] = {
	[STMT_GET] =
		"SELECT " STATE_MEMBER_COLUMNS " FROM members WHERE target = ?1 AND source_id = ?2",
	[STMT_PENDING] =
		"INSERT INTO members (target, source_id, dn, member_key, payload_hash, status, attempts,"
		" first_seen, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 1, ?6, ?6)"
		" ON CONFLICT (target, source_id) DO UPDATE SET dn = ?3, member_key = ?4, payload_hash = ?5,"
		" status = 'pending', attempts = attempts + 1, updated_at = ?6",
	[STMT_OUTCOME] =
		"INSERT INTO members (target, source_id, dn, member_key, payload_hash, remote_id, status, attempts,"
		" next_attempt_at, last_error, first_seen, last_synced, updated_at)"
		" VALUES (?1, ?2, coalesce(?9, ''), ?10, ?4, ?5, ?3, CASE WHEN ?3 = 'synced' THEN 0 ELSE 1 END,"
		" ?7, ?6, ?8, CASE WHEN ?3 = 'synced' THEN ?8 END, ?8)"
		" ON CONFLICT (target, source_id) DO UPDATE SET status = ?3, payload_hash = ?4,"
		" remote_id = coalesce(?5, remote_id), last_error = ?6, next_attempt_at = ?7,"
		" attempts = CASE WHEN ?3 = 'synced' THEN 0 ELSE attempts END,"
		" last_synced = CASE WHEN ?3 = 'synced' THEN ?8 ELSE last_synced END, updated_at = ?8",
	[STMT_INVALID] =
		"INSERT INTO members (target, source_id, dn, status, attempts, last_error, first_seen, updated_at)"
		" VALUES (?1, ?2, ?3, 'invalid', 0, ?4, ?5, ?5)"
		" ON CONFLICT (target, source_id) DO UPDATE SET dn = ?3, last_error = ?4, updated_at = ?5,"
		" status = CASE WHEN status = 'synced' THEN 'synced' ELSE 'invalid' END,"
		" payload_hash = CASE WHEN status = 'synced' THEN payload_hash ELSE NULL END",
	[STMT_CLEAR_ERROR] =
		"UPDATE members SET last_error = NULL, updated_at = ?3 WHERE target = ?1 AND source_id = ?2",
	[STMT_RUN] =
		"INSERT INTO runs (started_at, finished_at, result, entries, adds, skipped, failed)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_COUNT] = "SELECT count(*) FROM members WHERE target = ?1 AND status = ?2",
	[STMT_IDENTITY_GET] = "SELECT remote_id FROM identities WHERE target = ?1 AND lookup_key = ?2",
	[STMT_IDENTITY_PUT] =
		"INSERT INTO identities (target, lookup_key, remote_id, updated_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (target, lookup_key) DO UPDATE SET remote_id = ?3, updated_at = ?4",
	[STMT_IDENTITY_DELETE] = "DELETE FROM identities WHERE target = ?1 AND lookup_key = ?2",
	[STMT_PAUSE_GET] = "SELECT paused_until, reason FROM target_pauses WHERE target = ?1",
	[STMT_PAUSE_SET] =
		"INSERT INTO target_pauses (target, paused_until, reason) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (target) DO UPDATE SET paused_until = ?2, reason = ?3",
	[STMT_CURSOR_GET] = "SELECT value FROM cursors WHERE source = 'directory' AND kind = ?1",
	[STMT_CURSOR_SET] =
		"INSERT INTO cursors (source, kind, value, updated_at) VALUES ('directory', ?1, ?2, ?3)"
		" ON CONFLICT (source, kind) DO UPDATE SET value = ?2, updated_at = ?3",
	[STMT_CURSOR_DELETE] = "DELETE FROM cursors WHERE source = 'directory' AND kind = ?1",
	[STMT_KNOWN] = "SELECT DISTINCT source_id FROM members WHERE gone_at IS NULL",
	[STMT_DUE] =
		"SELECT DISTINCT source_id FROM members WHERE gone_at IS NULL"
		" AND (status = 'pending' OR (status = 'failed' AND next_attempt_at <= ?1))",
	[STMT_GONE] = "UPDATE members SET gone_at = ?2, updated_at = ?2 WHERE source_id = ?1 AND gone_at IS NULL",
	[STMT_BACK] = "UPDATE members SET gone_at = NULL, updated_at = ?2 WHERE source_id = ?1 AND gone_at IS NOT NULL",
	[STMT_RENAME] = "UPDATE members SET dn = ?2, updated_at = ?3 WHERE source_id = ?1 AND dn <> ?2",
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
};

/* What --dry-run may prepare on a read-only database. */
static const bool stmt_readonly[STMT__MAX] = {
	[STMT_GET] = true, [STMT_COUNT] = true, [STMT_IDENTITY_GET] = true, [STMT_PAUSE_GET] = true,
	[STMT_CURSOR_GET] = true, [STMT_KNOWN] = true, [STMT_DUE] = true,
};

/* Each step is one transaction; user_version records how far we are. */
static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE members ("
	"  target TEXT NOT NULL,"
	"  source_id TEXT NOT NULL,"
	"  dn TEXT NOT NULL,"
	"  member_key TEXT,"
	"  payload_hash TEXT,"
	"  remote_id TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed', 'invalid')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER,"
	"  last_error TEXT,"
	"  first_seen INTEGER NOT NULL,"
	"  last_synced INTEGER,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (target, source_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX members_status ON members (target, status);"
	"CREATE TABLE cursors ("
	"  source TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, kind)"
	");"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL,"
	"  result TEXT NOT NULL,"
	"  entries INTEGER NOT NULL,"
	"  adds INTEGER NOT NULL,"
	"  skipped INTEGER NOT NULL,"
	"  failed INTEGER NOT NULL"
	");",
	/* 2: identity cache and persistent target pauses */
	"CREATE TABLE identities ("
	"  target TEXT NOT NULL,"
	"  lookup_key TEXT NOT NULL,"
	"  remote_id TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (target, lookup_key)"
	") WITHOUT ROWID;"
	"CREATE TABLE target_pauses ("
	"  target TEXT PRIMARY KEY,"
	"  paused_until INTEGER NOT NULL,"
	"  reason TEXT"
	");",
	/* 3: entries that left the directory (or the search) */
	"ALTER TABLE members ADD COLUMN gone_at INTEGER;"
	"CREATE INDEX members_source_id ON members (source_id);",
};

struct state {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT__MAX];
	bool readonly;
};

static const char *const status_names[] = {
	[MEMBER_PENDING] = "pending", [MEMBER_SYNCED] = "synced",
	[MEMBER_FAILED] = "failed", [MEMBER_INVALID] = "invalid",
};

const char *member_status_name(enum member_status s)
{
	return status_names[s];
}

static enum member_status status_from_name(const char *s)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return (enum member_status)i;
	/* The CHECK constraint makes this unreachable unless someone edits
	 * the database by hand; retrying is the safe reading. */
	return MEMBER_FAILED;
}

const char *state_errmsg(struct state *st)
{
	return sqlite3_errmsg(st->db);
}

static int state_exec(struct state *st, const char *sql, char **err)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err = xstrdup(msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int state_user_version(struct state *st, int *version)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	int r = sqlite3_step(s) == SQLITE_ROW ? 0 : -EIO;
	*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return r;
}

static int state_migrate(struct state *st, char **err)
{
	int version;
	int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
	if (state_user_version(st, &version) < 0) {
		*err = xasprintf("cannot read schema version: %s", sqlite3_errmsg(st->db));
		return -EIO;
	}
	if (version > target) {
		*err = xasprintf("state database has schema version %d, newer than this membersyncd (%d); "
				 "refusing to touch it", version, target);
		return -EPROTO;
	}
	for (int v = version; v < target; v++) {
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1);
		int r = state_exec(st, sql, err);
		free(sql);
		if (r < 0) {
			char *e = *err;
			*err = xasprintf("migrating state database to version %d: %s", v + 1, e);
			free(e);
			state_exec(st, "ROLLBACK", &(char *){ NULL });
			return r;
		}
	}
	return 0;
}

int state_open(const char *path, bool readonly, struct state **out, char **err)
{
	struct state *st = XNEW(struct state);
	int r = 0;
	*out = NULL;
	*err = NULL;
	st->readonly = readonly;

	int flags = SQLITE_OPEN_FULLMUTEX;
	const char *open_path = path;
	if (readonly && access(path, F_OK) != 0) {
		/* --dry-run before the first real run: an empty in-memory cache
		 * gives the same plan without creating anything on disk. */
		open_path = ":memory:";
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	} else {
		flags |= readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	}
	if (sqlite3_open_v2(open_path, &st->db, flags, NULL) != SQLITE_OK) {
		*err = xasprintf("cannot open state database %s: %s", path,
				 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		r = -EIO;
		goto out;
	}
	sqlite3_busy_timeout(st->db, STATE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	if (!readonly || open_path != path) {
		if ((r = state_exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				    " PRAGMA foreign_keys = ON;", err)) < 0) {
			char *e = *err;
			*err = xasprintf("cannot set up state database %s: %s", path, e);
			free(e);
			goto out;
		}
		if ((r = state_migrate(st, err)) < 0)
			goto out;
	} else {
		int version;
		if (state_user_version(st, &version) < 0 || version != STATE_SCHEMA_VERSION) {
			*err = xasprintf("state database %s has schema version %d, expected %d (run membersyncd once "
					 "without --dry-run to migrate it)", path, version, STATE_SCHEMA_VERSION);
			r = -EPROTO;
			goto out;
		}
	}
	for (int i = 0; i < STMT__MAX; i++) {
		if (readonly && open_path == path && !stmt_readonly[i])
			continue;
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			*err = xasprintf("cannot prepare state query: %s", sqlite3_errmsg(st->db));
			r = -EIO;
			goto out;
		}
	}
	*out = st;
	st = NULL;
out:
	state_close(st);
	return r;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	for (int i = 0; i < STMT__MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

static sqlite3_stmt *state_stmt(struct state *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	/* Writing statements are not prepared in read-only mode; reaching one
	 * there is a bug that must not silently write. */
	if (!s)
		abort();
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static int state_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static char *column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static void state_member_from_row(sqlite3_stmt *s, int first, struct state_member *m)
{
	memset(m, 0, sizeof(*m));
	m->dn = column_dup(s, first + 0);
	m->member_key = column_dup(s, first + 1);
	m->payload_hash = column_dup(s, first + 2);
	m->remote_id = column_dup(s, first + 3);
	m->status = status_from_name((const char *)sqlite3_column_text(s, first + 4));
	m->attempts = sqlite3_column_int(s, first + 5);
	m->next_attempt_at = sqlite3_column_int64(s, first + 6);
	m->last_error = column_dup(s, first + 7);
	m->first_seen = sqlite3_column_int64(s, first + 8);
	m->last_synced = sqlite3_column_int64(s, first + 9);
	m->updated_at = sqlite3_column_int64(s, first + 10);
	m->gone_at = sqlite3_column_int64(s, first + 11);
}

int state_foreach_member(struct state *st, const char *target, int status,
			 void (*fn)(void *ud, const struct state_member *m), void *ud)
{
	sqlite3_stmt *s;
	const char *sql = "SELECT target, source_id, " STATE_MEMBER_COLUMNS " FROM members"
			  " WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR status = ?2)"
			  " ORDER BY target, dn";
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	if (target)
		bind_text(s, 1, target);
	if (status >= 0)
		bind_text(s, 2, member_status_name((enum member_status)status));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_member m;
		state_member_from_row(s, 2, &m);
		m.target = column_dup(s, 0);
		m.source_id = column_dup(s, 1);
		fn(ud, &m);
		state_member_clear(&m);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int state_get_member(struct state *st, const char *target, const char *source_id, struct state_member *m)
{
	sqlite3_stmt *s = state_stmt(st, STMT_GET);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return -EIO;
	}
	state_member_from_row(s, 0, m);
	m->target = xstrdup(target);
	m->source_id = xstrdup(source_id);
	sqlite3_reset(s);
	return 0;
}

void state_member_clear(struct state_member *m)
{
	free(m->target);
	free(m->source_id);
	free(m->dn);
	free(m->member_key);
	free(m->payload_hash);
	free(m->remote_id);
	free(m->last_error);
	memset(m, 0, sizeof(*m));
}

int state_begin(struct state *st)
{
	return state_step_done(state_stmt(st, STMT_BEGIN));
}

int state_commit(struct state *st)
{
	return state_step_done(state_stmt(st, STMT_COMMIT));
}

int state_rollback(struct state *st)
{
	return state_step_done(state_stmt(st, STMT_ROLLBACK));
}

int state_mark_pending(struct state *st, const char *target, const char *source_id, const char *dn,
		       const char *member_key, const char *payload_hash, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PENDING);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	bind_text(s, 3, dn);
	bind_text(s, 4, member_key);
	bind_text(s, 5, payload_hash);
	sqlite3_bind_int64(s, 6, now);
	return state_step_done(s);
}

int state_record_outcome(struct state *st, const char *target, const char *source_id,
			 const struct state_outcome *o, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_OUTCOME);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	bind_text(s, 3, member_status_name(o->status));
	bind_text(s, 4, o->payload_hash);
	bind_text(s, 5, o->remote_id);
	bind_text(s, 6, o->error);
	if (o->status == MEMBER_FAILED)
		sqlite3_bind_int64(s, 7, o->next_attempt_at);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_int64(s, 8, now);
	bind_text(s, 9, o->dn);
	bind_text(s, 10, o->member_key);
	return state_step_done(s);
}

int state_record_invalid(struct state *st, const char *target, const char *source_id, const char *dn,
			 const char *reason, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_INVALID);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	bind_text(s, 3, dn);
	bind_text(s, 4, reason);
	sqlite3_bind_int64(s, 5, now);
	return state_step_done(s);
}

int state_clear_error(struct state *st, const char *target, const char *source_id, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_CLEAR_ERROR);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	sqlite3_bind_int64(s, 3, now);
	return state_step_done(s);
}

int state_record_run(struct state *st, const struct state_run *run)
{
	sqlite3_stmt *s = state_stmt(st, STMT_RUN);
	sqlite3_bind_int64(s, 1, run->started_at);
	sqlite3_bind_int64(s, 2, run->finished_at);
	bind_text(s, 3, run->result);
	sqlite3_bind_int64(s, 4, run->entries);
	sqlite3_bind_int64(s, 5, run->adds);
	sqlite3_bind_int64(s, 6, run->skipped);
	sqlite3_bind_int64(s, 7, run->failed);
	return state_step_done(s);
}

int state_count(struct state *st, const char *target, enum member_status status, long *out)
{
	sqlite3_stmt *s = state_stmt(st, STMT_COUNT);
	bind_text(s, 1, target);
	bind_text(s, 2, member_status_name(status));
	int rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int state_identity_get(struct state *st, const char *target, const char *lookup_key, char **id)
{
	sqlite3_stmt *s = state_stmt(st, STMT_IDENTITY_GET);
	bind_text(s, 1, target);
	bind_text(s, 2, lookup_key);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
	*id = r == 0 ? column_dup(s, 0) : NULL;
	sqlite3_reset(s);
	return r;
}

int state_identity_put(struct state *st, const char *target, const char *lookup_key, const char *id,
		       int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_IDENTITY_PUT);
	bind_text(s, 1, target);
	bind_text(s, 2, lookup_key);
	bind_text(s, 3, id);
	sqlite3_bind_int64(s, 4, now);
	return state_step_done(s);
}

int state_identity_delete(struct state *st, const char *target, const char *lookup_key)
{
	sqlite3_stmt *s = state_stmt(st, STMT_IDENTITY_DELETE);
	bind_text(s, 1, target);
	bind_text(s, 2, lookup_key);
	return state_step_done(s);
}

int state_pause_get(struct state *st, const char *target, int64_t *until, char **reason)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PAUSE_GET);
	bind_text(s, 1, target);
	int rc = sqlite3_step(s);
	*until = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	*reason = rc == SQLITE_ROW ? column_dup(s, 1) : NULL;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int state_pause_set(struct state *st, const char *target, int64_t until, const char *reason)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PAUSE_SET);
	bind_text(s, 1, target);
	sqlite3_bind_int64(s, 2, until);
	bind_text(s, 3, reason);
	return state_step_done(s);
}

int state_cursor_get(struct state *st, const char *name, char **value)
{
	sqlite3_stmt *s = state_stmt(st, STMT_CURSOR_GET);
	bind_text(s, 1, name);
	int rc = sqlite3_step(s);
	*value = rc == SQLITE_ROW ? column_dup(s, 0) : NULL;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int state_cursor_set(struct state *st, const char *name, const char *value, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, value ? STMT_CURSOR_SET : STMT_CURSOR_DELETE);
	bind_text(s, 1, name);
	if (value) {
		bind_text(s, 2, value);
		sqlite3_bind_int64(s, 3, now);
	}
	return state_step_done(s);
}

/* Runs a one-column query and hands each row's text to fn. */
static int state_foreach_id(struct state *st, sqlite3_stmt *s, void (*fn)(void *ud, const char *id), void *ud)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(s, 0);
		if (id)
			fn(ud, (const char *)id);
	}
	sqlite3_reset(s);
	(void)st;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int state_foreach_known(struct state *st, void (*fn)(void *ud, const char *id), void *ud)
{
	return state_foreach_id(st, state_stmt(st, STMT_KNOWN), fn, ud);
}

int state_foreach_due(struct state *st, int64_t now, void (*fn)(void *ud, const char *id), void *ud)
{
	sqlite3_stmt *s = state_stmt(st, STMT_DUE);
	sqlite3_bind_int64(s, 1, now);
	return state_foreach_id(st, s, fn, ud);
}

int state_mark_gone(struct state *st, const char *source_id, int64_t now, long *rows)
{
	sqlite3_stmt *s = state_stmt(st, STMT_GONE);
	bind_text(s, 1, source_id);
	sqlite3_bind_int64(s, 2, now);
	int r = state_step_done(s);
	*rows = r == 0 ? (long)sqlite3_changes(st->db) : 0;
	return r;
}

int state_mark_back(struct state *st, const char *source_id, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_BACK);
	bind_text(s, 1, source_id);
	sqlite3_bind_int64(s, 2, now);
	return state_step_done(s);
}

int state_set_dn(struct state *st, const char *source_id, const char *dn, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_RENAME);
	bind_text(s, 1, source_id);
	bind_text(s, 2, dn);
	sqlite3_bind_int64(s, 3, now);
	return state_step_done(s);
}
