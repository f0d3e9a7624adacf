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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_PUSH);
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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 0);
	CU_ASSERT_EQUAL(p->counts.stale, 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_STALE);
	plan_free(p);
	teardown();
}

static void test_pending_is_checked_first(void)
{
	setup();
	/* A driver that can look members up: never re-sent blindly. */
	target.ops = OP_BIT(OP_LOOKUP);
	struct mapped m = valid("h2");
	struct state_member ex = row(MEMBER_PENDING, "h1", NULL);
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 0);
	CU_ASSERT_EQUAL(p->counts.push[OP_LOOKUP], 1);
	CU_ASSERT_EQUAL(p->actions[0].op, OP_LOOKUP);
	/* A found member has the payload that was sent, not the new one. */
	CU_ASSERT_STRING_EQUAL(p->actions[0].stored_hash, "h1");
	CU_ASSERT_STRING_EQUAL(p->actions[0].hash, "h2");
	plan_free(p);

	/* Without a lookup: an operator decides. */
	target.ops = 0;
	m = valid("h1");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_QUARANTINE);
	plan_free(p);

	/* An API where adding twice is harmless: sent again. */
	target.driver = driver_find("devin");
	m = valid("h1");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
	plan_free(p);

	/* An interrupted update is sent again as an update. */
	target.ops = OP_BIT(OP_UPDATE) | OP_BIT(OP_LOOKUP);
	target.driver = driver_find("rainbond");
	ex.op = "update";
	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_UPDATE], 1);
	plan_free(p);
	teardown();
}

static void test_synced_changed_is_updated(void)
{
	setup();
	target.ops = OP_BIT(OP_UPDATE);
	struct mapped m = valid("h2");
	struct state_member ex = row(MEMBER_SYNCED, "h1", NULL);
	ex.remote_id = "u-42";
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n_push, 1);
	CU_ASSERT_EQUAL(p->actions[0].op, OP_UPDATE);
	CU_ASSERT_STRING_EQUAL(p->actions[0].remote_id, "u-42");
	CU_ASSERT_STRING_EQUAL(p->actions[0].hash, "h2");
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "changed in the directory");
	plan_free(p);

	/* A rejected update waits for the next change, then is an update
	 * again (the member is at the target). */
	ex = row(MEMBER_INVALID, "h2", "rejected");
	ex.op = "update";
	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n_push, 0);
	plan_free(p);
	m = valid("h3");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_UPDATE], 1);
	plan_free(p);
	teardown();
}

static void test_back_in_scope(void)
{
	setup();
	target.ops = OP_BIT(OP_ENABLE) | OP_BIT(OP_DISABLE);
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_DISABLED, "h1", NULL);
	ex.excluded = "not in the target's groups";
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ENABLE], 1);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_INCLUDE);
	plan_free(p);

	ex = row(MEMBER_DELETED, "h1", NULL);
	m = valid("h1");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
	plan_free(p);
	teardown();
}

static void test_failed_deprovision_back_in_scope(void)
{
	setup();
	target.ops = OP_BIT(OP_DELETE);
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_FAILED, "h1", "HTTP 500");
	ex.op = "delete";
	struct plan *p = decide(&m, &ex, 100);
	/* The delete never went through: the target has the member, and the
	 * row says so again; nothing is sent. */
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_RESTORE);
	plan_free(p);

	/* A failed update the target can no longer take: left stale. */
	ex = row(MEMBER_FAILED, "h1", "HTTP 500");
	ex.op = "update";
	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->counts.stale, 1);
	plan_free(p);
	teardown();
}

static void test_quarantined_left_alone(void)
{
	setup();
	struct mapped m = valid("h1");
	struct state_member ex = row(MEMBER_QUARANTINED, "h1", "HTTP 418");
	struct plan *p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->counts.quarantined, 1);
	plan_free(p);
	/* A change may be the fix: tried again. */
	m = valid("h2");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
	plan_free(p);
	teardown();
}

/* n synced members leaving a target of `members`, planned and finished. */
static struct plan *leave(int n, long members, bool complete, const struct state_hold *hold)
{
	struct plan *p = plan_new(&target);
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "id%d", i);
		struct state_member m = row(MEMBER_SYNCED, "h", NULL);
		m.source_id = id;
		m.dn = "uid=x,dc=example,dc=org";
		m.member_key = "x";
		plan_leaving(p, &m, "left the directory", 100);
	}
	struct plan_limits lim = { .read_complete = complete, .members = members, .hold = hold };
	plan_finish(p, &lim);
	return p;
}

static bool shared_always(void *ud, const struct state_member *m)
{
	(void)ud;
	return m->member_key != NULL;
}

static void test_deprovision_policy(void)
{
	setup();
	target.ops = OP_BIT(OP_DISABLE) | OP_BIT(OP_DELETE);
	target.max_deprovision = 5;
	target.max_deprovision_percent = true;

	/* none (the default): kept, nothing sent. */
	struct plan *p = leave(1, 100, true, NULL);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->counts.kept, 1);
	plan_free(p);

	target.deprovision = CONF_DEPROVISION_DISABLE;
	p = leave(5, 100, true, NULL);
	CU_ASSERT_EQUAL(p->counts.push[OP_DISABLE], 5);
	CU_ASSERT_FALSE(p->held);
	plan_free(p);

	target.deprovision = CONF_DEPROVISION_DELETE;
	p = leave(2, 10, true, NULL);	/* 5 % of 10 rounds to 0: one is allowed, two are not */
	CU_ASSERT_TRUE(p->held);
	CU_ASSERT_EQUAL(p->limit, 1);
	plan_free(p);
	p = leave(1, 10, true, NULL);
	CU_ASSERT_EQUAL(p->counts.push[OP_DELETE], 1);
	plan_free(p);

	/* An incomplete read never deprovisions. */
	p = leave(1, 100, false, NULL);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->counts.blocked, 1);
	CU_ASSERT_TRUE(plan_has_work(p));
	plan_free(p);

	/* Nor does a full read that found nobody. */
	p = plan_new(&target);
	struct state_member m = row(MEMBER_SYNCED, "h", NULL);
	m.source_id = "a";
	m.dn = "uid=a";
	plan_leaving(p, &m, "left the directory", 100);
	struct plan_limits lim = { .read_complete = true, .read_empty = true, .members = 1 };
	plan_finish(p, &lim);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->counts.blocked, 1);
	plan_free(p);

	/* Another entry maps to the same member: removing it would remove a
	 * person still in scope. */
	p = plan_new(&target);
	p->key_shared = shared_always;
	m = row(MEMBER_SYNCED, "h", NULL);
	m.source_id = "dup2";
	m.dn = "uid=dup2";
	m.member_key = "same@example.org";
	plan_leaving(p, &m, "left the directory", 100);
	CU_ASSERT_EQUAL(p->n_leaving, 0);
	CU_ASSERT_EQUAL(p->counts.shared, 1);
	plan_free(p);

	/* Deleted, invalid and never-added rows have nothing to remove. */
	p = plan_new(&target);
	m = row(MEMBER_INVALID, NULL, "email: required");
	m.source_id = "b";
	m.dn = "uid=b";
	plan_leaving(p, &m, "left", 100);
	m.status = MEMBER_FAILED;
	plan_leaving(p, &m, "left", 100);
	CU_ASSERT_EQUAL(p->n_leaving, 0);
	plan_free(p);
	teardown();
}

static void test_threshold_hold_and_approve(void)
{
	setup();
	target.ops = OP_BIT(OP_DELETE);
	target.deprovision = CONF_DEPROVISION_DELETE;
	target.max_deprovision = 3;
	target.max_deprovision_percent = false;

	struct plan *p = leave(4, 100, true, NULL);
	CU_ASSERT_TRUE(p->held);
	CU_ASSERT_EQUAL(p->n_push, 0);
	CU_ASSERT_EQUAL(p->counts.held, 4);
	CU_ASSERT_EQUAL(p->actions[0].kind, ACTION_HELD);
	char *json = plan_held_json(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"op\":\"delete\""));
	free(json);
	plan_free(p);

	/* Held, not approved: still held. */
	struct state_hold h = { .count = 4, .limit = 3, .members = 100 };
	p = leave(4, 100, true, &h);
	CU_ASSERT_TRUE(p->held);
	plan_free(p);

	/* Approved: this plan (or a smaller one) runs once. */
	h.approved_at = 50;
	p = leave(4, 100, true, &h);
	CU_ASSERT_FALSE(p->held);
	CU_ASSERT_TRUE(p->approved);
	CU_ASSERT_EQUAL(p->counts.push[OP_DELETE], 4);
	plan_free(p);

	/* More than was approved: held again. */
	p = leave(9, 100, true, &h);
	CU_ASSERT_TRUE(p->held);
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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 0);
	CU_ASSERT_EQUAL(p->counts.waiting, 1);
	plan_free(p);

	m = valid("h1");
	p = decide(&m, &ex, 200);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
	CU_ASSERT_STRING_EQUAL(p->actions[0].reason, "changed since the target rejected it");
	plan_free(p);

	/* Invalid by mapping (no hash), now valid. */
	m = valid("h1");
	ex = row(MEMBER_INVALID, NULL, "email: required");
	p = decide(&m, &ex, 100);
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 1);
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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 0);
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
	CU_ASSERT_EQUAL(p->counts.push[OP_ADD], 0);
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
		{ "pending is checked before anything is sent", test_pending_is_checked_first },
		{ "synced and changed: updated", test_synced_changed_is_updated },
		{ "back in scope: enabled or added", test_back_in_scope },
		{ "quarantined left alone", test_quarantined_left_alone },
		{ "failed deprovision, entry back in scope", test_failed_deprovision_back_in_scope },
		{ "deprovision policy", test_deprovision_policy },
		{ "max_deprovision holds, approve releases once", test_threshold_hold_and_approve },
		{ "failed waits until due", test_failed_waits_until_due },
		{ "rejected payload waits for a change", test_rejected_payload_not_retried_until_changed },
		{ "invalid recorded once", test_invalid_recorded_once },
		{ "synced error cleared", test_synced_error_cleared },
		{ NULL, NULL },
	};
	return unit_run("plan", tests);
}
