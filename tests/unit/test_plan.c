/* The plan's rules: what each (mapping result, state row) pair becomes. */
#include "config.h"

#include "sync/plan.h"
#include "unit.h"
#include "util/xalloc.h"

#include <json-c/json.h>

static struct conf_target target;
static struct entry *entry;

static void setup(void)
{
	memset(&target, 0, sizeof(target));
	target.name = "rb";
	target.driver = driver_find("rainbond");
	entry = entry_new("uid=a,dc=example,dc=org");
	entry_set_id(entry, "id-a");
}

static void teardown(void)
{
	entry_free(entry);
}

static struct mapped valid(const char *hash)
{
	struct mapped m = { 0 };
	m.payload = json_object_new_object();
	json_object_object_add(m.payload, "nick_name", json_object_new_string("a"));
	m.key = xstrdup("a");
	snprintf(m.hash, sizeof(m.hash), "%s", hash);
	return m;
}

static struct mapped invalid(const char *reasons)
{
	struct mapped m = { 0 };
	m.reasons = xstrdup(reasons);
	return m;
}

static struct state_member row(enum member_status st, const char *hash, const char *last_error)
{
	struct state_member r = { 0 };
	r.status = st;
	r.payload_hash = (char *)hash;
	r.last_error = (char *)last_error;
	return r;
}

/* Runs one decision and returns the plan (caller frees). */
static struct plan *decide(struct mapped *m, const struct state_member *ex, int64_t now)
{
	struct plan *p = plan_new(&target);
	plan_entry(p, entry, m, ex, now);
	mapped_clear(m);
	return p;
}

static void test_new_entry_is_added(void)
{
	setup();
	struct mapped m = valid("h1");
	struct plan *p = decide(&m, NULL, 100);
	CU_ASSERT_EQUAL(p->n, 1);
	CU_ASSERT_EQUAL(p->counts.add, 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_ADD);
	CU_ASSERT_STRING_EQUAL(p->actions[0].source_id, "id-a");
	CU_ASSERT_STRING_EQUAL(p->actions[0].key, "a");
	CU_ASSERT_STRING_EQUAL(p->actions[0].hash, "h1");
	CU_ASSERT_STRING_EQUAL(p->actions[0].payload, "{\"nick_name\":\"a\"}");
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "new member");
	plan_free(p);
	teardown();
}

static void test_synced_unchanged_is_nothing(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_SYNCED, "h1", NULL);
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->counts.unchanged, 1);
	plan_free(p);
	teardown();
}

static void test_synced_changed_is_stale_not_readded(void)
{
	setup();
	struct mapped m = valid("h2");
	struct state_member ex = row(MEMBER_SYNCED, "h1", NULL);
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.add, 0);
	CU_ASSERT_EQUAL(p->counts.stale, 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_STALE);
	plan_free(p);
	teardown();
}

static void test_pending_is_resent(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_PENDING, "h1", NULL);
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.add, 1);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "an earlier attempt was interrupted; sending again");
	plan_free(p);
	teardown();
}

static void test_failed_waits_until_due(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_FAILED, "h1", "HTTP 500");
	ex.next_attempt_at = 200;
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.add, 0);
	CU_ASSERT_EQUAL(p->counts.waiting, 1);
	plan_free(p);

	m = valid("h1");
	p = decide(&m, &ex, 200);
	CU_ASSERT_EQUAL(p->counts.add, 1);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "retry after failure: HTTP 500");
	plan_free(p);
	teardown();
}

static void test_rejected_payload_not_retried_until_changed(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_INVALID, "h1", "rejected by Rainbond");
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->counts.invalid_known, 1);
	plan_free(p);

	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.add, 1);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "changed since the target rejected it");
	plan_free(p);

	/* Invalid by mapping (no hash), now valid. */
	m = valid("h1");
	ex = row(MEMBER_INVALID, NULL, "email: required");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.add, 1);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "the mapping accepts it now");
	plan_free(p);
	teardown();
}

static void test_invalid_recorded_once(void)
{
	setup();
	struct mapped m = invalid("email: required");
	struct plan *p = decide(&m, NULL, 100);
	CU_ASSERT_EQUAL(p->counts.invalid_new, 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_RECORD_INVALID);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "email: required");
	CU_ASSERT_PTR_NULL(p->actions[0].key);
	plan_free(p);

	/* Same reason as recorded: nothing to record or log again. */
	struct state_member ex = row(MEMBER_INVALID, NULL, "email: required");
	m = invalid("email: required");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->counts.invalid_known, 1);
	plan_free(p);

	/* A different reason is news. */
	m = invalid("nick_name: too long");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.invalid_new, 1);
	plan_free(p);

	/* A synced member whose mapping breaks is recorded, never re-added. */
	ex = row(MEMBER_SYNCED, "h1", NULL);
	m = invalid("email: required");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.invalid_new, 1);
	CU_ASSERT_EQUAL(p->counts.add, 0);
	plan_free(p);
	teardown();
}

static void test_synced_error_cleared(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_SYNCED, "h1", "email: required");
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.cleared, 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_CLEAR_ERROR);
	CU_ASSERT_EQUAL(p->counts.add, 0);
	plan_free(p);

	/* Valid again but changed: the old error goes, the change is stale. */
	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n, 2);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_CLEAR_ERROR);
	CU_ASSERT_EQUAL(p->actions[1].kind, ACTION_STALE);
	CU_ASSERT_EQUAL(p->counts.unchanged, 0);
	plan_free(p);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "new entry is added", test_new_entry_is_added },
		{ "synced and unchanged: nothing", test_synced_unchanged_is_nothing },
		{ "synced and changed: stale, never re-added", test_synced_changed_is_stale_not_readded },
		{ "pending is sent again", test_pending_is_resent },
		{ "failed waits until due", test_failed_waits_until_due },
		{ "rejected payload waits for a change", test_rejected_payload_not_retried_until_changed },
		{ "invalid recorded once", test_invalid_recorded_once },
		{ "synced error cleared", test_synced_error_cleared },
		{ NULL, NULL },
	};
	return unit_run("plan", tests);
}
