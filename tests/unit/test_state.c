/* The state cache: schema, transitions, read-only mode, versioning. */
#include "config.h"

#include "state/state.h"
#include "unit.h"

#include <errno.h>
#include <sqlite3.h>

static char *dir, *path;

static struct state *open_rw(void)
{
	struct state *st = NULL;
	char *err = NULL;
	int r = state_open(path, false, &st, &err);
	if (r < 0)
		fprintf(stderr, "state_open: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	return st;
}

static void setup(void)
{
	dir = unit_tmpdir();
	if (asprintf(&path, "%s/state.db", dir) < 0)
		abort();
}

static void teardown(void)
{
	unit_rmrf(dir);
	free(dir);
	free(path);
}

static void test_lifecycle(void)
{
	setup();
	struct state *st = open_rw();
	struct state_member m;
	CU_ASSERT_EQUAL(state_get_member(st, "rb", "id1", &m), -ENOENT);

	CU_ASSERT_EQUAL(state_begin(st), 0);
	CU_ASSERT_EQUAL(state_mark_pending(st, "rb", "id1", "uid=a", "a", "h1", NULL, 1000), 0);
	CU_ASSERT_EQUAL(state_commit(st), 0);
	CU_ASSERT_EQUAL_FATAL(state_get_member(st, "rb", "id1", &m), 0);
	CU_ASSERT_EQUAL(m.status, MEMBER_PENDING);
	CU_ASSERT_STRING_EQUAL(m.op, "add");
	CU_ASSERT_EQUAL(m.attempts, 0);
	CU_ASSERT_STRING_EQUAL(m.payload_hash, "h1");
	CU_ASSERT_STRING_EQUAL(m.member_key, "a");
	CU_ASSERT_EQUAL(m.first_seen, 1000);
	state_member_clear(&m);

	struct state_outcome fail = { .status = MEMBER_FAILED, .payload_hash = "h1", .error = "HTTP 500",
				      .next_attempt_at = 1060, .attempts = 1, .failures = 1 };
	CU_ASSERT_EQUAL(state_record_outcome(st, "rb", "id1", &fail, 1001), 0);
	state_get_member(st, "rb", "id1", &m);
	CU_ASSERT_EQUAL(m.attempts, 1);
	CU_ASSERT_EQUAL(m.failures, 1);
	CU_ASSERT_EQUAL(m.next_attempt_at, 1060);
	CU_ASSERT_STRING_EQUAL(m.op, "add");
	state_member_clear(&m);
	CU_ASSERT_EQUAL(state_mark_pending(st, "rb", "id1", "uid=a", "a", "h1", "update", 1070), 0);
	state_get_member(st, "rb", "id1", &m);
	CU_ASSERT_EQUAL(m.attempts, 1);
	CU_ASSERT_STRING_EQUAL(m.op, "update");
	CU_ASSERT_STRING_EQUAL(m.last_error, "HTTP 500");
	state_member_clear(&m);

	struct state_outcome ok = { .status = MEMBER_SYNCED, .payload_hash = "h1", .remote_id = "42" };
	CU_ASSERT_EQUAL(state_record_outcome(st, "rb", "id1", &ok, 1080), 0);
	state_get_member(st, "rb", "id1", &m);
	CU_ASSERT_EQUAL(m.status, MEMBER_SYNCED);
	CU_ASSERT_EQUAL(m.attempts, 0);
	CU_ASSERT_EQUAL(m.failures, 0);
	CU_ASSERT_PTR_NULL(m.op);
	CU_ASSERT_PTR_NULL(m.last_error);
	CU_ASSERT_STRING_EQUAL(m.remote_id, "42");
	CU_ASSERT_EQUAL(m.last_synced, 1080);
	CU_ASSERT_EQUAL(m.first_seen, 1000);
	state_member_clear(&m);

	/* A later outcome without an id keeps the adopted one. */
	struct state_outcome again = { .status = MEMBER_SYNCED, .payload_hash = "h2" };
	state_record_outcome(st, "rb", "id1", &again, 1090);
	state_get_member(st, "rb", "id1", &m);
	CU_ASSERT_STRING_EQUAL(m.remote_id, "42");
	CU_ASSERT_STRING_EQUAL(m.payload_hash, "h2");
	state_member_clear(&m);

	long n;
	CU_ASSERT_EQUAL(state_count(st, "rb", MEMBER_SYNCED, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(state_count(st, "other", MEMBER_SYNCED, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	state_close(st);
	teardown();
}

static void test_invalid_records(void)
{
	setup();
	struct state *st = open_rw();
	struct state_member m;
	CU_ASSERT_EQUAL(state_record_invalid(st, "rb", "id2", "uid=b", "email: required", 10), 0);
	state_get_member(st, "rb", "id2", &m);
	CU_ASSERT_EQUAL(m.status, MEMBER_INVALID);
	CU_ASSERT_PTR_NULL(m.payload_hash);
	CU_ASSERT_STRING_EQUAL(m.last_error, "email: required");
	state_member_clear(&m);

	/* For a synced member only the error is noted: it is still there. */
	state_mark_pending(st, "rb", "id3", "uid=c", "c", "h3", NULL, 10);
	struct state_outcome ok = { .status = MEMBER_SYNCED, .payload_hash = "h3" };
	state_record_outcome(st, "rb", "id3", &ok, 11);
	CU_ASSERT_EQUAL(state_record_invalid(st, "rb", "id3", "uid=c", "email: required", 12), 0);
	state_get_member(st, "rb", "id3", &m);
	CU_ASSERT_EQUAL(m.status, MEMBER_SYNCED);
	CU_ASSERT_STRING_EQUAL(m.payload_hash, "h3");
	CU_ASSERT_STRING_EQUAL(m.last_error, "email: required");
	state_member_clear(&m);
	CU_ASSERT_EQUAL(state_clear_error(st, "rb", "id3", 13), 0);
	state_get_member(st, "rb", "id3", &m);
	CU_ASSERT_PTR_NULL(m.last_error);
	state_member_clear(&m);

	struct state_run run = { .started_at = 1, .finished_at = 2, .result = "ok", .entries = 3 };
	CU_ASSERT_EQUAL(state_record_run(st, &run), 0);
	state_close(st);
	teardown();
}

static void test_readonly(void)
{
	setup();
	struct state *st = NULL;
	char *err = NULL;
	/* A missing database in read-only mode is empty and stays missing. */
	CU_ASSERT_EQUAL(state_open(path, true, &st, &err), 0);
	struct state_member m;
	CU_ASSERT_EQUAL(state_get_member(st, "rb", "x", &m), -ENOENT);
	state_close(st);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);

	st = open_rw();
	state_mark_pending(st, "rb", "x", "uid=x", "x", "h", NULL, 1);
	state_close(st);
	CU_ASSERT_EQUAL(state_open(path, true, &st, &err), 0);
	CU_ASSERT_EQUAL(state_get_member(st, "rb", "x", &m), 0);
	state_member_clear(&m);
	state_close(st);
	teardown();
}

static void test_newer_schema_refused(void)
{
	setup();
	state_close(open_rw());
	sqlite3 *db;
	CU_ASSERT_EQUAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct state *st = NULL;
	char *err = NULL;
	CU_ASSERT_EQUAL(state_open(path, false, &st, &err), -EPROTO);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT(err && strstr(err, "schema version 99, newer than this membersyncd") != NULL);
	free(err);
	teardown();
}

/* A version 3 database (issue 5's schema) is migrated in place: rows
 * kept, attempts now counting failures only, the new statuses allowed. */
static void test_migrate_v3(void)
{
	setup();
	sqlite3 *db;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	const char *v3 =
		"CREATE TABLE members (target TEXT NOT NULL, source_id TEXT NOT NULL, dn TEXT NOT NULL,"
		" member_key TEXT, payload_hash TEXT, remote_id TEXT,"
		" status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed', 'invalid')),"
		" attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_error TEXT,"
		" first_seen INTEGER NOT NULL, last_synced INTEGER, updated_at INTEGER NOT NULL, gone_at INTEGER,"
		" PRIMARY KEY (target, source_id)) WITHOUT ROWID;"
		"CREATE INDEX members_status ON members (target, status);"
		"CREATE INDEX members_source_id ON members (source_id);"
		"CREATE TABLE cursors (source TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"
		" updated_at INTEGER NOT NULL, PRIMARY KEY (source, kind));"
		"CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,"
		" result TEXT NOT NULL, entries INTEGER NOT NULL, adds INTEGER NOT NULL, skipped INTEGER NOT NULL,"
		" failed INTEGER NOT NULL);"
		"CREATE TABLE identities (target TEXT NOT NULL, lookup_key TEXT NOT NULL, remote_id TEXT NOT NULL,"
		" updated_at INTEGER NOT NULL, PRIMARY KEY (target, lookup_key)) WITHOUT ROWID;"
		"CREATE TABLE target_pauses (target TEXT PRIMARY KEY, paused_until INTEGER NOT NULL, reason TEXT);"
		"INSERT INTO members VALUES ('rb', 'a', 'uid=a', 'a', 'h1', '7', 'synced', 3, NULL, NULL, 1, 2, 2, NULL);"
		"INSERT INTO members VALUES ('rb', 'b', 'uid=b', 'b', 'h2', NULL, 'failed', 2, 50, 'HTTP 500', 1, NULL, 2,"
		" 40);"
		"INSERT INTO runs VALUES (1, 1, 2, 'ok', 10, 1, 0, 1);"
		"PRAGMA user_version = 3;";
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, v3, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct state *st = open_rw();
	struct state_member m;
	CU_ASSERT_EQUAL_FATAL(state_get_member(st, "rb", "a", &m), 0);
	CU_ASSERT_EQUAL(m.status, MEMBER_SYNCED);
	CU_ASSERT_EQUAL(m.attempts, 0);
	CU_ASSERT_STRING_EQUAL(m.remote_id, "7");
	CU_ASSERT_PTR_NULL(m.op);
	state_member_clear(&m);
	CU_ASSERT_EQUAL_FATAL(state_get_member(st, "rb", "b", &m), 0);
	CU_ASSERT_EQUAL(m.status, MEMBER_FAILED);
	CU_ASSERT_EQUAL(m.attempts, 2);
	CU_ASSERT_EQUAL(m.gone_at, 40);
	CU_ASSERT_STRING_EQUAL(m.last_error, "HTTP 500");
	state_member_clear(&m);
	struct state_run run;
	char *result;
	CU_ASSERT_EQUAL(state_last_run(st, &run, &result), 0);
	CU_ASSERT_STRING_EQUAL(result, "ok");
	CU_ASSERT_EQUAL(run.updates, 0);
	free(result);

	struct state_outcome q = { .status = MEMBER_QUARANTINED, .op = "update", .error = "HTTP 418", .failures = 5 };
	CU_ASSERT_EQUAL(state_record_outcome(st, "rb", "b", &q, 60), 0);
	CU_ASSERT_EQUAL_FATAL(state_get_member(st, "rb", "b", &m), 0);
	CU_ASSERT_EQUAL(m.status, MEMBER_QUARANTINED);
	CU_ASSERT_STRING_EQUAL(m.op, "update");
	CU_ASSERT_STRING_EQUAL(m.payload_hash, "h2");	/* NULL keeps the stored hash */
	state_member_clear(&m);
	state_close(st);
	teardown();
}

static void count_row(void *ud, const struct state_member *m)
{
	(void)m;
	++*(int *)ud;
}

static void test_holds_release_forget(void)
{
	setup();
	struct state *st = open_rw();
	struct state_hold h = { .held_at = 10, .count = 4, .members = 50, .limit = 2, .plan = "[]" }, got;
	CU_ASSERT_EQUAL(state_hold_get(st, "rb", &got), -ENOENT);
	CU_ASSERT_EQUAL(state_hold_approve(st, "rb", 11), -ENOENT);
	CU_ASSERT_EQUAL(state_hold_set(st, "rb", &h), 0);
	CU_ASSERT_EQUAL(state_hold_approve(st, "rb", 12), 0);
	CU_ASSERT_EQUAL_FATAL(state_hold_get(st, "rb", &got), 0);
	CU_ASSERT_EQUAL(got.count, 4);
	CU_ASSERT_EQUAL(got.approved_at, 12);
	state_hold_clear(&got);
	/* A new hold replaces the approval of the old one. */
	CU_ASSERT_EQUAL(state_hold_set(st, "rb", &h), 0);
	CU_ASSERT_EQUAL_FATAL(state_hold_get(st, "rb", &got), 0);
	CU_ASSERT_EQUAL(got.approved_at, 0);
	state_hold_clear(&got);
	CU_ASSERT_EQUAL(state_hold_delete(st, "rb"), 0);
	CU_ASSERT_EQUAL(state_hold_get(st, "rb", &got), -ENOENT);

	struct state_outcome q = { .status = MEMBER_QUARANTINED, .dn = "uid=q,dc=x", .member_key = "q@x",
				   .error = "HTTP 418", .attempts = 5, .failures = 5, .next_attempt_at = 999 };
	CU_ASSERT_EQUAL(state_record_outcome(st, "rb", "id-q", &q, 20), 0);
	CU_ASSERT_EQUAL(state_record_outcome(st, "other", "id-q", &q, 20), 0);
	long rows;
	CU_ASSERT_EQUAL(state_release(st, "rb", "UID=Q,DC=X", 30, &rows), 0);	/* a DN, any case */
	CU_ASSERT_EQUAL(rows, 1);
	struct state_member m;
	CU_ASSERT_EQUAL_FATAL(state_get_member(st, "rb", "id-q", &m), 0);
	CU_ASSERT_EQUAL(m.status, MEMBER_FAILED);
	CU_ASSERT_EQUAL(m.next_attempt_at, 0);
	CU_ASSERT_EQUAL(m.failures, 0);
	state_member_clear(&m);
	int n = 0;
	CU_ASSERT_EQUAL(state_find_member(st, "q@x", count_row, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(state_forget(st, NULL, "id-q", &rows), 0);
	CU_ASSERT_EQUAL(rows, 2);
	CU_ASSERT_EQUAL(state_get_member(st, "rb", "id-q", &m), -ENOENT);

	/* Leaving rows and shared keys. */
	struct state_outcome ok = { .status = MEMBER_SYNCED, .dn = "uid=a", .member_key = "same" };
	state_record_outcome(st, "rb", "a", &ok, 1);
	ok.dn = "uid=b";
	state_record_outcome(st, "rb", "b", &ok, 1);
	CU_ASSERT_EQUAL(state_key_shared(st, "rb", "same", "a"), 1);
	CU_ASSERT_EQUAL(state_set_excluded(st, "rb", "b", "not in the target's groups", 2), 0);
	CU_ASSERT_EQUAL(state_key_shared(st, "rb", "same", "a"), 0);
	n = 0;
	CU_ASSERT_EQUAL(state_foreach_leaving(st, "rb", count_row, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	state_close(st);
	teardown();
}

static void test_unwritable(void)
{
	setup();
	struct state *st = NULL;
	char *err = NULL;
	char *bad;
	if (asprintf(&bad, "%s/no/such/dir/state.db", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(state_open(bad, false, &st, &err), -EIO);
	CU_ASSERT(err && strstr(err, "cannot open state database") != NULL);
	free(err);
	free(bad);
	teardown();
}

static void count_id(void *ud, const char *id)
{
	(void)id;
	(*(int *)ud)++;
}

/* next_attempt_at is wall-clock time: a clock set back a day must not
 * postpone a retry by a day. A row updated "in the future" is due. */
static void test_due_after_clock_jump(void)
{
	setup();
	struct state *st = open_rw();
	struct state_outcome fail = { .status = MEMBER_FAILED, .error = "HTTP 503", .next_attempt_at = 100060,
				      .attempts = 1 };
	CU_ASSERT_EQUAL(state_record_outcome(st, "rb", "id1", &fail, 100000), 0);
	int n = 0;
	CU_ASSERT_EQUAL(state_foreach_due(st, 100030, count_id, &n), 0);
	CU_ASSERT_EQUAL(n, 0);	/* not yet */
	n = 0;
	state_foreach_due(st, 100060, count_id, &n);
	CU_ASSERT_EQUAL(n, 1);	/* due on time */
	n = 0;
	state_foreach_due(st, 100000 - 86400, count_id, &n);
	CU_ASSERT_EQUAL(n, 1);	/* the clock went back a day */
	long rows;
	CU_ASSERT_EQUAL(state_mark_gone(st, "id1", 100001, &rows), 0);
	n = 0;
	state_foreach_due(st, 100000 - 86400, count_id, &n);
	CU_ASSERT_EQUAL(n, 0);	/* gone rows are never due */
	state_close(st);
	teardown();
}

/* SQLite's messages name neither the file nor the system's reason. */
static void test_errmsg_names_file(void)
{
	setup();
	struct state *st = open_rw();
	sqlite3 *other;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &other), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	/* Waits out the busy timeout, then fails. */
	CU_ASSERT_EQUAL(state_begin(st), -EIO);
	const char *msg = state_errmsg(st);
	CU_ASSERT(strstr(msg, "locked") != NULL);
	CU_ASSERT(strstr(msg, path) != NULL);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	CU_ASSERT_EQUAL(state_begin(st), 0);
	CU_ASSERT_EQUAL(state_commit(st), 0);
	state_close(st);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "pending -> failed -> synced", test_lifecycle },
		{ "invalid records", test_invalid_records },
		{ "read-only mode writes nothing", test_readonly },
		{ "newer schema refused", test_newer_schema_refused },
		{ "unwritable path", test_unwritable },
		{ "version 3 migrated", test_migrate_v3 },
		{ "holds, release, forget, leaving rows", test_holds_release_forget },
		{ "retries due after the clock went back", test_due_after_clock_jump },
		{ "errors name the database", test_errmsg_names_file },
		{ NULL, NULL },
	};
	return unit_run("state", tests);
}
