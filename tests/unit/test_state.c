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

int main(void)
{
	static const struct unit_test tests[] = {
		{ "pending -> failed -> synced", test_lifecycle },
		{ "invalid records", test_invalid_records },
		{ "read-only mode writes nothing", test_readonly },
		{ "newer schema refused", test_newer_schema_refused },
		{ "unwritable path", test_unwritable },
		{ NULL, NULL },
	};
	return unit_run("state", tests);
}
