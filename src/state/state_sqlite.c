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
	STMT_EXCLUDED,
	STMT_LEAVING,
	STMT_HOLD_GET,
	STMT_HOLD_SET,
	STMT_HOLD_APPROVE,
	STMT_HOLD_DELETE,
	STMT_TSTATUS_GET,
	STMT_TSTATUS_SET,
	STMT_COUNT_ALL,
	STMT_KEY_SHARED,
	STMT_LAST_RUN,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_READ_BEGIN,
	STMT_READ_END,
	STMT__MAX,
};

/* A member row's columns, as state_member_from_row reads them. */
#define STATE_MEMBER_COLUMNS                                                                                    \
	"dn, member_key, payload_hash, remote_id, status, attempts, next_attempt_at, last_error, first_seen, " \
	"last_synced, updated_at, gone_at, op, excluded, failures"

static const char *const stmt_sql[STMT__MAX] = {
	[STMT_GET] =
		"SELECT " STATE_MEMBER_COLUMNS " FROM members WHERE target = ?1 AND source_id = ?2",
	[STMT_PENDING] =
		"INSERT INTO members (target, source_id, dn, member_key, payload_hash, status, op,"
		" first_seen, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?7, ?6, ?6)"
		" ON CONFLICT (target, source_id) DO UPDATE SET dn = ?3, member_key = ?4, payload_hash = ?5,"
		" status = 'pending', op = ?7, updated_at = ?6",
	/* last_synced: when the target last got what we wanted it to have
	 * (?14: the status says so). Not `?3 IN (...)`: SQLite builds an
	 * ephemeral table for every IN list of more than two constants, each
	 * time the statement runs, and this one runs once per answer. */
	[STMT_OUTCOME] =
		"INSERT INTO members (target, source_id, dn, member_key, payload_hash, remote_id, status, op,"
		" attempts, failures, next_attempt_at, last_error, first_seen, last_synced, updated_at)"
		" VALUES (?1, ?2, coalesce(?9, ''), ?10, ?4, ?5, ?3, ?11, ?12, ?13, ?7, ?6, ?8,"
		" CASE WHEN ?14 THEN ?8 END, ?8)"
		" ON CONFLICT (target, source_id) DO UPDATE SET status = ?3, op = ?11,"
		" payload_hash = coalesce(?4, payload_hash), remote_id = coalesce(?5, remote_id), last_error = ?6,"
		" next_attempt_at = ?7, attempts = ?12, failures = ?13,"
		" member_key = coalesce(?10, member_key),"
		" last_synced = CASE WHEN ?14 THEN ?8 ELSE last_synced END,"
		" updated_at = ?8",
	[STMT_INVALID] =
		"INSERT INTO members (target, source_id, dn, status, attempts, last_error, first_seen, updated_at)"
		" VALUES (?1, ?2, ?3, 'invalid', 0, ?4, ?5, ?5)"
		" ON CONFLICT (target, source_id) DO UPDATE SET dn = ?3, last_error = ?4, updated_at = ?5,"
		" status = CASE WHEN status = 'synced' THEN 'synced' ELSE 'invalid' END,"
		" payload_hash = CASE WHEN status = 'synced' THEN payload_hash ELSE NULL END",
	[STMT_CLEAR_ERROR] =
		"UPDATE members SET last_error = NULL, updated_at = ?3 WHERE target = ?1 AND source_id = ?2",
	[STMT_RUN] =
		"INSERT INTO runs (started_at, finished_at, result, entries, adds, updates, deprovisions, skipped,"
		" failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
	/* A plain scan of the table, not DISTINCT: that walks the source_id
	 * index and looks every row up in the table for gone_at (100,000
	 * B-tree searches per full read at 100k members). The caller
	 * copes with an id listed once per target. */
	[STMT_KNOWN] = "SELECT source_id FROM members NOT INDEXED WHERE gone_at IS NULL",
	[STMT_DUE] =
		"SELECT DISTINCT source_id FROM members WHERE gone_at IS NULL"
		" AND (status = 'pending' OR (status = 'failed' AND next_attempt_at <= ?1))"
		/* A failure recorded "in the future": the wall clock was set
		 * back since, and its retry time would wait out the jump too.
		 * Due now; the retry records a time on the new clock. */
		" OR (status = 'failed' AND updated_at > ?1 AND gone_at IS NULL)",
	[STMT_GONE] = "UPDATE members SET gone_at = ?2, updated_at = ?2 WHERE source_id = ?1 AND gone_at IS NULL",
	[STMT_BACK] = "UPDATE members SET gone_at = NULL, updated_at = ?2 WHERE source_id = ?1 AND gone_at IS NOT NULL",
	[STMT_RENAME] = "UPDATE members SET dn = ?2, updated_at = ?3 WHERE source_id = ?1 AND dn <> ?2",
	[STMT_EXCLUDED] =
		"UPDATE members SET excluded = ?3, updated_at = ?4 WHERE target = ?1 AND source_id = ?2",
	[STMT_LEAVING] =
		"SELECT target, source_id, " STATE_MEMBER_COLUMNS " FROM members WHERE target = ?1"
		" AND (gone_at IS NOT NULL OR excluded IS NOT NULL) AND status <> 'deleted'",
	[STMT_HOLD_GET] =
		"SELECT held_at, count, members, lim, approved_at, plan FROM holds WHERE target = ?1",
	[STMT_HOLD_SET] =
		"INSERT INTO holds (target, held_at, count, members, lim, approved_at, plan)"
		" VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)"
		" ON CONFLICT (target) DO UPDATE SET held_at = ?2, count = ?3, members = ?4, lim = ?5,"
		" approved_at = NULL, plan = ?6",
	[STMT_HOLD_APPROVE] = "UPDATE holds SET approved_at = ?2 WHERE target = ?1",
	[STMT_HOLD_DELETE] = "DELETE FROM holds WHERE target = ?1",
	[STMT_TSTATUS_GET] =
		"SELECT last_cycle_at, last_result, last_error, last_error_at FROM target_status WHERE target = ?1",
	[STMT_TSTATUS_SET] =
		"INSERT INTO target_status (target, last_cycle_at, last_result, last_error, last_error_at)"
		" VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NOT NULL THEN ?2 END)"
		" ON CONFLICT (target) DO UPDATE SET last_cycle_at = ?2, last_result = ?3,"
		" last_error = coalesce(?4, last_error),"
		" last_error_at = CASE WHEN ?4 IS NOT NULL THEN ?2 ELSE last_error_at END",
	[STMT_COUNT_ALL] = "SELECT status, count(*) FROM members WHERE target = ?1 GROUP BY status",
	[STMT_KEY_SHARED] =
		"SELECT EXISTS (SELECT 1 FROM members WHERE target = ?1 AND member_key = ?2 AND source_id <> ?3"
		" AND gone_at IS NULL AND excluded IS NULL AND status IN ('synced', 'pending'))",
	[STMT_LAST_RUN] =
		"SELECT started_at, finished_at, result, entries, adds, updates, deprovisions, skipped, failed"
		" FROM runs ORDER BY id DESC LIMIT 1",
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_READ_BEGIN] = "BEGIN DEFERRED",
	[STMT_READ_END] = "COMMIT",
};

/* What --dry-run may prepare on a read-only database. */
static const bool stmt_readonly[STMT__MAX] = {
	[STMT_GET] = true, [STMT_COUNT] = true, [STMT_IDENTITY_GET] = true, [STMT_PAUSE_GET] = true,
	[STMT_CURSOR_GET] = true, [STMT_KNOWN] = true, [STMT_DUE] = true, [STMT_LEAVING] = true,
	[STMT_HOLD_GET] = true, [STMT_TSTATUS_GET] = true, [STMT_COUNT_ALL] = true, [STMT_LAST_RUN] = true,
	[STMT_KEY_SHARED] = true, [STMT_READ_BEGIN] = true, [STMT_READ_END] = true,
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
	/* 4: updates, deprovisioning, quarantine, holds. SQLite cannot alter
	 * a CHECK constraint: the members table is rebuilt. */
	"CREATE TABLE members_v4 ("
	"  target TEXT NOT NULL,"
	"  source_id TEXT NOT NULL,"
	"  dn TEXT NOT NULL,"
	"  member_key TEXT,"
	"  payload_hash TEXT,"
	"  remote_id TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed', 'invalid', 'quarantined',"
	"    'disabled', 'deleted')),"
	"  op TEXT CHECK (op IN ('add', 'update', 'disable', 'enable', 'delete', 'lookup')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER,"
	"  last_error TEXT,"
	"  excluded TEXT,"
	"  first_seen INTEGER NOT NULL,"
	"  last_synced INTEGER,"
	"  updated_at INTEGER NOT NULL,"
	"  gone_at INTEGER,"
	"  PRIMARY KEY (target, source_id)"
	") WITHOUT ROWID;"
	/* Attempts used to count sends, pending ones included; now they count
	 * failures in a row, which only failed rows have. */
	"INSERT INTO members_v4 (target, source_id, dn, member_key, payload_hash, remote_id, status, attempts,"
	"  next_attempt_at, last_error, first_seen, last_synced, updated_at, gone_at)"
	"  SELECT target, source_id, dn, member_key, payload_hash, remote_id, status,"
	"  CASE WHEN status = 'failed' THEN attempts ELSE 0 END, next_attempt_at, last_error, first_seen,"
	"  last_synced, updated_at, gone_at FROM members;"
	"DROP TABLE members;"
	"ALTER TABLE members_v4 RENAME TO members;"
	"CREATE INDEX members_status ON members (target, status);"
	"CREATE INDEX members_source_id ON members (source_id);"
	"CREATE INDEX members_key ON members (target, member_key);"
	/* Each cycle lists the members leaving a target: few of many. */
	"CREATE INDEX members_leaving ON members (target)"
	"  WHERE gone_at IS NOT NULL OR excluded IS NOT NULL;"
	"ALTER TABLE runs ADD COLUMN updates INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN deprovisions INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE holds ("
	"  target TEXT PRIMARY KEY,"
	"  held_at INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  members INTEGER NOT NULL,"
	"  lim INTEGER NOT NULL,"
	"  approved_at INTEGER,"
	"  plan TEXT NOT NULL"
	");"
	"CREATE TABLE target_status ("
	"  target TEXT PRIMARY KEY,"
	"  last_cycle_at INTEGER NOT NULL,"
	"  last_result TEXT NOT NULL,"
	"  last_error TEXT,"
	"  last_error_at INTEGER"
	");",
};

struct state {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT__MAX];
	bool readonly;
	char *path;
	char *errmsg;	/* the last state_errmsg text */
};

static const char *const status_names[MEMBER__COUNT] = {
	[MEMBER_PENDING] = "pending", [MEMBER_SYNCED] = "synced", [MEMBER_FAILED] = "failed",
	[MEMBER_INVALID] = "invalid", [MEMBER_QUARANTINED] = "quarantined", [MEMBER_DISABLED] = "disabled",
	[MEMBER_DELETED] = "deleted",
};

const char *member_status_name(enum member_status s)
{
	return s < MEMBER__COUNT ? status_names[s] : "?";
}

int member_status_from_name(const char *s)
{
	for (int i = 0; i < MEMBER__COUNT; i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

static enum member_status status_from_name(const char *s)
{
	int st = member_status_from_name(s);
	/* The CHECK constraint makes -1 unreachable unless someone edits the
	 * database by hand; retrying is the safe reading. */
	return st < 0 ? MEMBER_FAILED : (enum member_status)st;
}

/* SQLite says "database or disk is full" or "disk I/O error" without the
 * file or the system's reason; operators need both to act. */
const char *state_errmsg(struct state *st)
{
	int code = sqlite3_extended_errcode(st->db);
	int sys = sqlite3_system_errno(st->db);
	/* system_errno is only meaningful for the codes that come from a
	 * failed system call; for others it may be left from long ago. */
	bool os = (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CANTOPEN;
	/* SQLite does not always keep the errno of a full disk. */
	if ((code & 0xff) == SQLITE_FULL && !sys)
		sys = ENOSPC;
	free(st->errmsg);
	if (os && sys)
		st->errmsg = xasprintf("%s (%s: %s)", sqlite3_errmsg(st->db), st->path, strerror(sys));
	else
		st->errmsg = xasprintf("%s (%s)", sqlite3_errmsg(st->db), st->path);
	return st->errmsg;
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
	st->path = xstrdup(path);

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
		/* The CHECK constraints on members.status and members.op are IN
		 * lists of constants, which SQLite evaluates through an ephemeral
		 * table built on every insert or update: six per pushed member,
		 * more than half of what recording it costs. What this process
		 * writes comes from its own name tables (and is checked in C,
		 * see state_op_ok); other connections, an operator's sqlite3,
		 * are still held to the constraints. */
		if ((r = state_exec(st, "PRAGMA ignore_check_constraints = ON;", err)) < 0) {
			char *e = *err;
			*err = xasprintf("cannot set up state database %s: %s", path, e);
			free(e);
			goto out;
		}
	} else {
		int version = 0;	/* reported as 0, like a blank database, when unreadable */
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
	free(st->path);
	free(st->errmsg);
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
	m->op = column_dup(s, first + 12);
	m->excluded = column_dup(s, first + 13);
	m->failures = sqlite3_column_int(s, first + 14);
}

/* Hands each row of s (target, source_id, then the member columns) to fn,
 * then finalizes s when it was prepared for this one call. */
static int state_foreach_rows(sqlite3_stmt *s, bool one_off, void (*fn)(void *ud, const struct state_member *m),
			      void *ud)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_member m;
		state_member_from_row(s, 2, &m);
		m.target = column_dup(s, 0);
		m.source_id = column_dup(s, 1);
		fn(ud, &m);
		state_member_clear(&m);
	}
	if (one_off)
		sqlite3_finalize(s);
	else
		sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
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
	return state_foreach_rows(s, true, fn, ud);
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
	free(m->op);
	free(m->excluded);
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

int state_read_begin(struct state *st)
{
	return state_step_done(state_stmt(st, STMT_READ_BEGIN));
}

int state_read_end(struct state *st)
{
	return state_step_done(state_stmt(st, STMT_READ_END));
}

/* What the members table's CHECK constraint on op allows (NULL: "add"),
 * which this connection does not evaluate (state_open). */
static bool state_op_ok(const char *op)
{
	static const char *const ops[] = { "add", "update", "disable", "enable", "delete", "lookup" };
	if (!op)
		return true;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			return true;
	return false;
}

int state_mark_pending(struct state *st, const char *target, const char *source_id, const char *dn,
		       const char *member_key, const char *payload_hash, const char *op, int64_t now)
{
	if (!state_op_ok(op))
		return -EINVAL;
	sqlite3_stmt *s = state_stmt(st, STMT_PENDING);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	bind_text(s, 3, dn);
	bind_text(s, 4, member_key);
	bind_text(s, 5, payload_hash);
	sqlite3_bind_int64(s, 6, now);
	bind_text(s, 7, op ? op : "add");
	return state_step_done(s);
}

int state_record_outcome(struct state *st, const char *target, const char *source_id,
			 const struct state_outcome *o, int64_t now)
{
	if ((unsigned)o->status >= MEMBER__COUNT || !state_op_ok(o->op))
		return -EINVAL;
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
	bool has_op = o->status == MEMBER_PENDING || o->status == MEMBER_FAILED || o->status == MEMBER_INVALID ||
		      o->status == MEMBER_QUARANTINED;
	bind_text(s, 11, has_op ? (o->op ? o->op : "add") : NULL);
	sqlite3_bind_int(s, 12, o->attempts);
	sqlite3_bind_int(s, 13, o->failures);
	sqlite3_bind_int(s, 14, o->status == MEMBER_SYNCED || o->status == MEMBER_DISABLED ||
				       o->status == MEMBER_DELETED);
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
	sqlite3_bind_int64(s, 6, run->updates);
	sqlite3_bind_int64(s, 7, run->deprovisions);
	sqlite3_bind_int64(s, 8, run->skipped);
	sqlite3_bind_int64(s, 9, run->failed);
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

int state_set_excluded(struct state *st, const char *target, const char *source_id, const char *reason,
		       int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_EXCLUDED);
	bind_text(s, 1, target);
	bind_text(s, 2, source_id);
	bind_text(s, 3, reason);
	sqlite3_bind_int64(s, 4, now);
	return state_step_done(s);
}

int state_foreach_leaving(struct state *st, const char *target,
			  void (*fn)(void *ud, const struct state_member *m), void *ud)
{
	sqlite3_stmt *s = state_stmt(st, STMT_LEAVING);
	bind_text(s, 1, target);
	return state_foreach_rows(s, false, fn, ud);
}

void state_hold_clear(struct state_hold *h)
{
	free(h->plan);
	memset(h, 0, sizeof(*h));
}

static void state_hold_from_row(sqlite3_stmt *s, int first, struct state_hold *h)
{
	h->held_at = sqlite3_column_int64(s, first);
	h->count = (long)sqlite3_column_int64(s, first + 1);
	h->members = (long)sqlite3_column_int64(s, first + 2);
	h->limit = (long)sqlite3_column_int64(s, first + 3);
	h->approved_at = sqlite3_column_int64(s, first + 4);
	h->plan = column_dup(s, first + 5);
}

int state_hold_get(struct state *st, const char *target, struct state_hold *h)
{
	sqlite3_stmt *s = state_stmt(st, STMT_HOLD_GET);
	bind_text(s, 1, target);
	memset(h, 0, sizeof(*h));
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		state_hold_from_row(s, 0, h);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int state_hold_set(struct state *st, const char *target, const struct state_hold *h)
{
	sqlite3_stmt *s = state_stmt(st, STMT_HOLD_SET);
	bind_text(s, 1, target);
	sqlite3_bind_int64(s, 2, h->held_at);
	sqlite3_bind_int64(s, 3, h->count);
	sqlite3_bind_int64(s, 4, h->members);
	sqlite3_bind_int64(s, 5, h->limit);
	bind_text(s, 6, h->plan ? h->plan : "[]");
	return state_step_done(s);
}

int state_hold_approve(struct state *st, const char *target, int64_t now)
{
	sqlite3_stmt *s = state_stmt(st, STMT_HOLD_APPROVE);
	bind_text(s, 1, target);
	sqlite3_bind_int64(s, 2, now);
	int r = state_step_done(s);
	return r < 0 ? r : sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int state_hold_delete(struct state *st, const char *target)
{
	sqlite3_stmt *s = state_stmt(st, STMT_HOLD_DELETE);
	bind_text(s, 1, target);
	return state_step_done(s);
}

int state_foreach_hold(struct state *st, void (*fn)(void *ud, const char *target, const struct state_hold *h),
		       void *ud)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT target, held_at, count, members, lim, approved_at, plan FROM holds"
			       " ORDER BY target",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_hold h;
		state_hold_from_row(s, 1, &h);
		fn(ud, (const char *)sqlite3_column_text(s, 0), &h);
		state_hold_clear(&h);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int state_target_status_set(struct state *st, const char *target, const struct state_target_status *ts)
{
	sqlite3_stmt *s = state_stmt(st, STMT_TSTATUS_SET);
	bind_text(s, 1, target);
	sqlite3_bind_int64(s, 2, ts->last_cycle_at);
	bind_text(s, 3, ts->last_result);
	bind_text(s, 4, ts->last_error);
	return state_step_done(s);
}

int state_target_status_get(struct state *st, const char *target, struct state_target_status *ts, char **result,
			    char **error)
{
	sqlite3_stmt *s = state_stmt(st, STMT_TSTATUS_GET);
	bind_text(s, 1, target);
	memset(ts, 0, sizeof(*ts));
	*result = *error = NULL;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ts->last_cycle_at = sqlite3_column_int64(s, 0);
		ts->last_result = *result = column_dup(s, 1);
		ts->last_error = *error = column_dup(s, 2);
		ts->last_error_at = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* The WHERE clause naming one member the way operators do: by source id,
 * DN (as typed, any case) or member key. */
#define STATE_MEMBER_MATCH "(source_id = ?2 OR dn = ?2 COLLATE NOCASE OR member_key = ?2)"

/* Runs a one-off writing statement with ?1 = target (or NULL: any) and
 * ?2 = member (or NULL: any), and ?3 = now when the SQL uses it. */
static int state_exec_member(struct state *st, const char *sql, const char *target, const char *member,
			     int64_t now, long *rows)
{
	sqlite3_stmt *s;
	*rows = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 1, target);
	bind_text(s, 2, member);
	if (sqlite3_bind_parameter_count(s) >= 3)
		sqlite3_bind_int64(s, 3, now);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -EIO;
	*rows = (long)sqlite3_changes(st->db);
	return 0;
}

int state_release(struct state *st, const char *target, const char *member, int64_t now, long *rows)
{
	return state_exec_member(st,
				 "UPDATE members SET status = 'failed', next_attempt_at = 0, attempts = 0,"
				 " failures = 0, updated_at = ?3"
				 " WHERE status IN ('failed', 'quarantined') AND (?1 IS NULL OR target = ?1)"
				 " AND (?2 IS NULL OR " STATE_MEMBER_MATCH ")",
				 target, member, now, rows);
}

int state_forget(struct state *st, const char *target, const char *member, long *rows)
{
	return state_exec_member(st,
				 "DELETE FROM members WHERE (?1 IS NULL OR target = ?1) AND " STATE_MEMBER_MATCH,
				 target, member, 0, rows);
}

int state_find_member(struct state *st, const char *member,
		      void (*fn)(void *ud, const struct state_member *m), void *ud)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT target, source_id, " STATE_MEMBER_COLUMNS " FROM members"
			       " WHERE " STATE_MEMBER_MATCH " ORDER BY target",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	bind_text(s, 2, member);
	return state_foreach_rows(s, true, fn, ud);
}

int state_count_all(struct state *st, const char *target, long counts[MEMBER__COUNT])
{
	sqlite3_stmt *s = state_stmt(st, STMT_COUNT_ALL);
	bind_text(s, 1, target);
	memset(counts, 0, MEMBER__COUNT * sizeof(*counts));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int i = member_status_from_name((const char *)sqlite3_column_text(s, 0));
		if (i >= 0)
			counts[i] = (long)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int state_last_run(struct state *st, struct state_run *run, char **result)
{
	sqlite3_stmt *s = state_stmt(st, STMT_LAST_RUN);
	memset(run, 0, sizeof(*run));
	*result = NULL;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		run->started_at = sqlite3_column_int64(s, 0);
		run->finished_at = sqlite3_column_int64(s, 1);
		run->result = *result = column_dup(s, 2);
		run->entries = (long)sqlite3_column_int64(s, 3);
		run->adds = (long)sqlite3_column_int64(s, 4);
		run->updates = (long)sqlite3_column_int64(s, 5);
		run->deprovisions = (long)sqlite3_column_int64(s, 6);
		run->skipped = (long)sqlite3_column_int64(s, 7);
		run->failed = (long)sqlite3_column_int64(s, 8);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int state_key_shared(struct state *st, const char *target, const char *member_key, const char *source_id)
{
	sqlite3_stmt *s = state_stmt(st, STMT_KEY_SHARED);
	bind_text(s, 1, target);
	bind_text(s, 2, member_key);
	bind_text(s, 3, source_id);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -EIO;
	sqlite3_reset(s);
	return r;
}
