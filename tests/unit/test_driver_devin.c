/* The devin driver: the journey of a member (identity cache, lookup,
 * paging, invitation), the batched add and every answer it can get
 * (hostile ones included), the other ops (update as a re-add, removal,
 * lookup in the organization's member list), its schema and its config
 * keys. */
#include "config.h"

#include "config/conf.h"
#include "ldap/entry.h"
#include "state/state.h"
#include "targets/target.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"
#include "util/sbuf.h"

static char *dir;
static struct conf *conf;
static struct state *st;

static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	DRIVER_CONF_DEVIN_DV ",\n"
	DRIVER_CONF_DEVIN_DVI ",\n"
	" { name = \"dvk\"; driver = \"devin\"; url = \"http://127.0.0.1:9\"; org_id = \"org-k\"; key = \"user_id\";\n"
	"   org_role = \"org_member\"; auth = { key_file = \"devin.key\"; };\n"
	"   map = { email = \"${mail}\"; user_id = \"${employeeNumber}\"; org_role = \"${title}\";\n"
	"           group_names = \"${ou[*]}\"; }; }\n"
	");\n";

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "devin.key", "apk_user_secret\n", 0600));
	conf = fixture_load(dir, conf_text);
	char *db = NULL, *err = NULL;
	if (asprintf(&db, "%s/state.db", dir) < 0)
		abort();
	int r = state_open(db, false, &st, &err);
	if (r < 0)
		fprintf(stderr, "state_open: %s\n", err);
	free(err);
	free(db);
	CU_ASSERT_EQUAL_FATAL(r, 0);
}

static void teardown(void)
{
	state_close(st);
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

static struct target *tgt(const char *name)
{
	return target_new(conf_find_target(conf, name), st);
}

/* One step: status -1 is the first call (no answer). req and out are
 * left as the driver filled them (caller clears). */
static enum step_result step_ra(struct target *t, struct push_item *it, long status, const char *body, long ra,
				struct http_request *req, struct outcome *out, bool *creates)
{
	return fixture_step(t, it, status, body, ra, req, out, creates);
}

static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out)
{
	bool creates;
	enum step_result r = step_ra(t, it, status, body, -1, req, out, &creates);
	/* Lookups and invitations never create the member: only the add does. */
	CU_ASSERT(!creates);
	return r;
}

static void clear(struct http_request *req, struct outcome *o)
{
	http_request_clear(req);
	outcome_clear(o);
}

static char *cached(struct target *t, const char *email)
{
	char *id = NULL;
	if (target_identity_get(t, email, &id) < 0)
		return NULL;
	return id;
}

#define EXPECT_STR(got, want)                                                                   \
	do {                                                                                    \
		const char *g_ = (got);                                                         \
		if (!g_ || strcmp(g_, (want)) != 0)                                             \
			fprintf(stderr, "\n  got:      %s\n  expected: %s\n", g_ ? g_ : "(null)", (want)); \
		CU_ASSERT_STRING_EQUAL(g_ ? g_ : "(null)", (want));                             \
	} while (0)

/* ------------------------------------------------------------ lookups */

static void test_lookup_request(void)
{
	setup();
	struct target *t = tgt("dv");
	struct push_item it = item("a+b@x.org", "{\"email\":\"A+b@x.org\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=A%2Bb%40x.org&skip=0&limit=200");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, 0), 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer apk_user_secret"));
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_lookup_found_and_cached(void)
{
	setup();
	struct target *t = tgt("dv");
	struct push_item it = item("a@x.org", "{\"email\":\"A@x.org\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	clear(&req, &o);
	/* A search: only the exact email (any case) counts. */
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"items\":[{\"user_id\":\"u-9\",\"email\":\"xa@x.org\"},"
			     "{\"user_id\":\"u-1\",\"email\":\"a@X.ORG\"},{\"user_id\":\"u-2\",\"email\":\"a@x.org\"}],"
			     "\"total\":3}", &req, &o), STEP_BATCH);
	EXPECT_STR(it.resolved_id, "u-1");
	EXPECT_STR(it.remote_id, "u-1");
	char *id = cached(t, "a@x.org");
	EXPECT_STR(id, "u-1");
	free(id);
	clear(&req, &o);
	/* A retry of a resolved member goes straight back to the batch. */
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_BATCH);
	clear(&req, &o);
	item_clear(&it);

	/* Next time (another cycle): the cache answers, no request. */
	it = item("a@x.org", "{\"email\":\"a@X.org\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_BATCH);
	CU_ASSERT_PTR_NULL(req.url);
	EXPECT_STR(it.resolved_id, "u-1");
	clear(&req, &o);
	item_clear(&it);

	/* A user id the directory knows needs neither lookup nor cache. */
	struct target *ti = tgt("dvi");
	it = item("b@x.org", "{\"email\":\"b@x.org\",\"user_id\":\"u-77\"}");
	CU_ASSERT_EQUAL(step(ti, &it, -1, NULL, &req, &o), STEP_BATCH);
	EXPECT_STR(it.resolved_id, "u-77");
	CU_ASSERT_PTR_NULL(cached(ti, "b@x.org"));
	clear(&req, &o);
	item_clear(&it);
	/* Numbers are ids too. */
	it = item("c@x.org", "{\"email\":\"c@x.org\"}");
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[{\"user_id\":42,\"email\":\"c@x.org\"}]}", &req, &o),
			STEP_BATCH);
	EXPECT_STR(it.resolved_id, "42");
	clear(&req, &o);
	item_clear(&it);
	target_free(ti);
	target_free(t);
	teardown();
}

static void test_lookup_not_found(void)
{
	setup();
	struct target *t = tgt("dv");
	struct push_item it = item("n@x.org", "{\"email\":\"n@x.org\"}");
	struct http_request req;
	struct outcome o;
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[],\"total\":0}", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	EXPECT_STR(o.reason, "no Devin user with email n@x.org (set invite = true to invite)");
	CU_ASSERT_PTR_NULL(cached(t, "n@x.org"));
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_lookup_pages(void)
{
	setup();
	struct target *t = tgt("dv");
	struct push_item it = item("p@x.org", "{\"email\":\"p@x.org\"}");
	struct http_request req;
	struct outcome o;
	struct sbuf page;
	sbuf_init(&page);
	sbuf_addstr(&page, "{\"items\":[");
	for (int i = 0; i < 200; i++)
		sbuf_addf(&page, "%s{\"user_id\":\"u%d\",\"email\":\"p%d@x.org\"}", i ? "," : "", i, i);
	sbuf_addstr(&page, "]}");

	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	/* A full page without the email: the next page is read. */
	CU_ASSERT_EQUAL(step(t, &it, 200, page.buf, &req, &o), STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=p%40x.org&skip=200&limit=200");
	clear(&req, &o);
	/* Retried (transient trouble): the same page again. */
	CU_ASSERT_EQUAL(step(t, &it, 502, "bad gateway", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=p%40x.org&skip=200&limit=200");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[{\"user_id\":\"u-p\",\"email\":\"p@x.org\"}]}", &req, &o),
			STEP_BATCH);
	EXPECT_STR(it.resolved_id, "u-p");
	clear(&req, &o);
	item_clear(&it);

	/* A server that ignores the filter and skip is not paged forever. */
	it = item("q@x.org", "{\"email\":\"q@x.org\"}");
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	int sends = 0;
	enum step_result r;
	while ((r = step(t, &it, 200, page.buf, &req, &o)) == STEP_SEND && sends < 1000) {
		sends++;
		clear(&req, &o);
	}
	CU_ASSERT_EQUAL(sends, 49);
	CU_ASSERT_EQUAL(r, STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	clear(&req, &o);
	item_clear(&it);
	sbuf_release(&page);
	target_free(t);
	teardown();
}

#define EXPECT_LOOKUP(t, status, body, ra, kind_, reason_)                                   \
	do {                                                                                 \
		struct push_item it_ = item("a@x.org", "{\"email\":\"a@x.org\"}");           \
		struct http_request req_;                                                    \
		struct outcome o_;                                                           \
		bool cr_;                                                                    \
		step_ra((t), &it_, -1, NULL, -1, &req_, &o_, &cr_);                          \
		clear(&req_, &o_);                                                           \
		CU_ASSERT_EQUAL(step_ra((t), &it_, (status), (body), (ra), &req_, &o_, &cr_), STEP_DONE); \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                           \
		EXPECT_STR(o_.reason, (reason_));                                            \
		CU_ASSERT_EQUAL(o_.retry_after, (ra));                                       \
		CU_ASSERT_PTR_NULL(it_.resolved_id);                                         \
		clear(&req_, &o_);                                                           \
		item_clear(&it_);                                                            \
	} while (0)

static void test_lookup_answers(void)
{
	setup();
	struct target *t = tgt("dv");
	EXPECT_LOOKUP(t, 0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Connection refused");
	EXPECT_LOOKUP(t, 401, "{\"detail\":\"Invalid API key\"}", -1, OUTCOME_AUTH,
		      "HTTP 401: {\"detail\":\"Invalid API key\"}");
	EXPECT_LOOKUP(t, 403, "{\"detail\":\"Not authenticated\"}", -1, OUTCOME_AUTH,
		      "HTTP 403: {\"detail\":\"Not authenticated\"}");
	EXPECT_LOOKUP(t, 429, "{\"detail\":\"Rate limit exceeded\"}", 7, OUTCOME_THROTTLED,
		      "HTTP 429: {\"detail\":\"Rate limit exceeded\"}");
	EXPECT_LOOKUP(t, 500, "oops", -1, OUTCOME_TRANSIENT, "HTTP 500: oops");
	EXPECT_LOOKUP(t, 503, "", 3, OUTCOME_THROTTLED, "HTTP 503 with an empty body");
	EXPECT_LOOKUP(t, 422,
		      "{\"detail\":[{\"loc\":[\"query\",\"email\"],\"msg\":\"value is not a valid email\","
		      "\"type\":\"value_error\"}]}", -1, OUTCOME_INVALID,
		      "Devin refused the lookup of a@x.org: value is not a valid email");
	EXPECT_LOOKUP(t, 404, "{\"detail\":\"Not Found\"}", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org: HTTP 404: {\"detail\":\"Not Found\"}");
	EXPECT_LOOKUP(t, 302, "", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org: HTTP 302 with an empty body");
	/* Hostile bodies: not JSON, wrong types, unusable ids. */
	EXPECT_LOOKUP(t, 200, "<html>", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org (no items, or no usable user_id): HTTP 200: <html>");
	EXPECT_LOOKUP(t, 200, "{\"items\":{\"user_id\":\"u\"}}", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org (no items, or no usable user_id): HTTP 200: "
		      "{\"items\":{\"user_id\":\"u\"}}");
	EXPECT_LOOKUP(t, 200, "[1,2]", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org (no items, or no usable user_id): HTTP 200: [1,2]");
	EXPECT_LOOKUP(t, 200, "{\"items\":[{\"email\":\"a@x.org\",\"user_id\":[1]}]}", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org (no items, or no usable user_id): HTTP 200: "
		      "{\"items\":[{\"email\":\"a@x.org\",\"user_id\":[1]}]}");
	EXPECT_LOOKUP(t, 200, "{\"items\":[{\"email\":\"a@x.org\",\"user_id\":\"a b\\n\"}]}", -1, OUTCOME_PERMANENT,
		      "unexpected answer to the lookup of a@x.org (no items, or no usable user_id): HTTP 200: "
		      "{\"items\":[{\"email\":\"a@x.org\",\"user_id\":\"a b\\n\"}]}");
	/* Wrong types and junk around a valid item are skipped. */
	EXPECT_LOOKUP(t, 200, "{\"items\":[null,3,\"x\",{\"email\":7},{\"email\":null}]}", -1, OUTCOME_INVALID,
		      "no Devin user with email a@x.org (set invite = true to invite)");

	/* A long body is cut in the reason. */
	char body[5000];
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\"}");
	struct http_request req;
	struct outcome o;
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	step(t, &it, 200, body, &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT(strlen(o.reason) < 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (4999 bytes)"));
	clear(&req, &o);
	item_clear(&it);

	/* A payload without an email (never from the mapping, but never crash). */
	it = item("k", "{\"user_id\":\"u\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	clear(&req, &o);
	item_clear(&it);
	it = item("k", "not json");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ invitations */

static void test_invite_flow(void)
{
	setup();
	struct target *t = tgt("dvi");
	struct push_item it = item("new@x.org", "{\"email\":\"new@x.org\"}");
	struct http_request req;
	struct outcome o;
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	/* Unknown, invite = true: the email is invited. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[]}", &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members/invite");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	EXPECT_STR(req.body, "{\"emails\":[\"new@x.org\"]}");
	clear(&req, &o);
	/* A retry of the invitation builds it again. */
	CU_ASSERT_EQUAL(step(t, &it, 503, "", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	EXPECT_STR(req.body, "{\"emails\":[\"new@x.org\"]}");
	clear(&req, &o);
	/* Invited: looked up again. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"status\":\"success\"}", &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=new%40x.org&skip=0&limit=200");
	clear(&req, &o);
	/* Not listed yet: transient, and the retry looks again (no second
	 * invitation); a later cycle waits invite_wait. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[]}", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	EXPECT_STR(o.reason, "invited new@x.org, but Devin does not list the user yet");
	CU_ASSERT_EQUAL(o.retry_after, 600);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"items\":[{\"user_id\":\"u-n\",\"email\":\"new@x.org\"}]}", &req, &o),
			STEP_BATCH);
	EXPECT_STR(it.resolved_id, "u-n");
	char *id = cached(t, "new@x.org");
	EXPECT_STR(id, "u-n");
	free(id);
	clear(&req, &o);
	item_clear(&it);

	/* Already invited (409): looked up all the same. */
	it = item("x@x.org", "{\"email\":\"x@x.org\"}");
	step(t, &it, -1, NULL, &req, &o);
	clear(&req, &o);
	step(t, &it, 200, "{\"items\":[]}", &req, &o);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 409, "{\"detail\":\"already invited\"}", &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

#define EXPECT_INVITE(t, status, body, kind_, reason_)                                      \
	do {                                                                                \
		struct push_item it_ = item("b..c@x.org", "{\"email\":\"b..c@x.org\"}");    \
		struct http_request req_;                                                   \
		struct outcome o_;                                                          \
		step((t), &it_, -1, NULL, &req_, &o_);                                      \
		clear(&req_, &o_);                                                          \
		CU_ASSERT_EQUAL(step((t), &it_, 200, "{\"items\":[]}", &req_, &o_), STEP_SEND); \
		clear(&req_, &o_);                                                          \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_), STEP_DONE);  \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                          \
		EXPECT_STR(o_.reason, (reason_));                                           \
		clear(&req_, &o_);                                                          \
		item_clear(&it_);                                                           \
	} while (0)

static void test_invite_answers(void)
{
	setup();
	struct target *t = tgt("dvi");
	EXPECT_INVITE(t, 422,
		      "{\"detail\":[{\"loc\":[\"body\",\"emails\",0],\"msg\":\"value is not a valid email address: "
		      "An email address cannot have two periods in a row.\",\"type\":\"value_error\"}]}",
		      OUTCOME_INVALID,
		      "Devin refused to invite b..c@x.org: value is not a valid email address: An email address "
		      "cannot have two periods in a row.");
	EXPECT_INVITE(t, 400, "{\"detail\":\"domain not allowed\"}", OUTCOME_INVALID,
		      "Devin refused to invite b..c@x.org: domain not allowed");
	EXPECT_INVITE(t, 400, "nope", OUTCOME_INVALID, "Devin refused to invite b..c@x.org: HTTP 400: nope");
	EXPECT_INVITE(t, 404, "{\"detail\":\"Not Found\"}", OUTCOME_PERMANENT,
		      "unexpected answer to the invitation of b..c@x.org: HTTP 404: {\"detail\":\"Not Found\"}");
	EXPECT_INVITE(t, 401, "", OUTCOME_AUTH, "HTTP 401 with an empty body");
	EXPECT_INVITE(t, 429, "", OUTCOME_THROTTLED, "HTTP 429 with an empty body");
	EXPECT_INVITE(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	EXPECT_INVITE(t, 301, "", OUTCOME_PERMANENT,
		      "unexpected answer to the invitation of b..c@x.org: HTTP 301 with an empty body");
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ batches */

static void build(struct target *t, struct push_item **its, size_t n, struct http_request *req)
{
	http_request_init(req, "GET", NULL);
	t->conf->driver->build_batch(t, its, n, req);
}

static void classify(struct target *t, struct push_item **its, size_t n, long status, const char *body, long ra,
		     struct outcome *outs)
{
	struct http_response resp = { .status = status, .retry_after = ra };
	if (status == 0)
		resp.error = "Operation timed out";
	resp.body = (char *)(body ? body : "");
	resp.body_len = body ? strlen(body) : 0;
	for (size_t i = 0; i < n; i++)
		outs[i] = (struct outcome){ .retry_after = -1 };
	t->conf->driver->classify_batch(t, &resp, its, n, outs);
}

static void resolved(struct push_item *it, const char *email, const char *id)
{
	char *payload = NULL;
	if (asprintf(&payload, "{\"email\":\"%s\"}", email) < 0)
		abort();
	*it = (struct push_item){ .key = email, .payload_text = "" };
	it->payload = json_tokener_parse(payload);
	it->resolved_id = strdup(id);
	it->remote_id = strdup(id);
	it->stage = 3;
	free(payload);
}

static void test_batch_request(void)
{
	setup();
	struct target *t = tgt("dv"), *ti = tgt("dvi");
	struct push_item a, b, c;
	resolved(&a, "a@x.org", "u-a");
	resolved(&b, "b@x.org", "u-b");
	resolved(&c, "c@x.org", "u-\"c\"");
	struct push_item *its[] = { &a, &b, &c };
	struct http_request req;
	build(t, its, 3, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-a\",\"u-b\",\"u-\\\"c\\\"\"],\"org_ids\":[\"org-1\"]}");
	CU_ASSERT_EQUAL(req.body_len, strlen(req.body));
	auth_apply(t->auth, &req, 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer apk_user_secret"));
	http_request_clear(&req);

	/* Role and groups when configured; the org id is percent-encoded in the path. */
	build(ti, its, 1, &req);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org%2F7%C3%A9/members");
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-a\"],\"org_ids\":[\"org/7\xc3\xa9\"],\"org_role\":\"org_admin\","
			     "\"group_names\":[\"eng\",\"all staff\"]}");
	http_request_clear(&req);
	CU_ASSERT_EQUAL(t->conf->batch_size, 100);
	CU_ASSERT_EQUAL(ti->conf->batch_size, 10);
	CU_ASSERT_EQUAL(t->conf->driver->max_batch, 100);
	item_clear(&a);
	item_clear(&b);
	item_clear(&c);
	target_free(ti);
	target_free(t);
	teardown();
}

#define EXPECT_BATCH(t, its, n, status, body, ra, kind_, reason_)                            \
	do {                                                                                 \
		struct outcome outs_[8];                                                     \
		classify((t), (its), (n), (status), (body), (ra), outs_);                    \
		for (size_t i_ = 0; i_ < (n); i_++) {                                        \
			CU_ASSERT_EQUAL(outs_[i_].kind, (kind_));                            \
			EXPECT_STR(outs_[i_].reason, (reason_));                             \
			CU_ASSERT_EQUAL(outs_[i_].retry_after, (ra));                        \
			outcome_clear(&outs_[i_]);                                           \
		}                                                                            \
	} while (0)

static void test_batch_answers(void)
{
	setup();
	struct target *t = tgt("dv");
	struct push_item a, b, c;
	resolved(&a, "a@x.org", "u-a");
	resolved(&b, "b@x.org", "u-b");
	resolved(&c, "c@x.org", "u-c");
	struct push_item *its[] = { &a, &b, &c };
	struct outcome outs[3];

	/* Success: every member added, with its user id as remote id. */
	classify(t, its, 3, 200, "{\"status\":\"success\"}", -1, outs);
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(outs[i].kind, OUTCOME_OK);
		EXPECT_STR(outs[i].reason, "added to organization org-1");
		EXPECT_STR(outs[i].remote_id, its[i]->resolved_id);
		outcome_clear(&outs[i]);
	}
	EXPECT_BATCH(t, its, 3, 200, "", -1, OUTCOME_OK, "added to organization org-1");
	EXPECT_BATCH(t, its, 3, 204, "not json", -1, OUTCOME_OK, "added to organization org-1");
	EXPECT_BATCH(t, its, 3, 200, "{\"status\":\"failed\"}", -1, OUTCOME_PERMANENT,
		     "unexpected answer from Devin: HTTP 200: {\"status\":\"failed\"}");

	/* The engine's part: credentials, throttling, server trouble. */
	EXPECT_BATCH(t, its, 3, 0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Operation timed out");
	EXPECT_BATCH(t, its, 3, 401, "{\"detail\":\"Invalid API key\"}", -1, OUTCOME_AUTH,
		     "HTTP 401: {\"detail\":\"Invalid API key\"}");
	EXPECT_BATCH(t, its, 3, 429, "{\"detail\":\"Rate limit exceeded\"}", 4, OUTCOME_THROTTLED,
		     "HTTP 429: {\"detail\":\"Rate limit exceeded\"}");
	EXPECT_BATCH(t, its, 3, 502, "<html>", -1, OUTCOME_TRANSIENT, "HTTP 502: <html>");
	EXPECT_BATCH(t, its, 3, 404, "{\"detail\":\"Not Found\"}", -1, OUTCOME_PERMANENT,
		     "unexpected answer from Devin: HTTP 404: {\"detail\":\"Not Found\"}");
	EXPECT_BATCH(t, its, 3, 400, "{}", -1, OUTCOME_PERMANENT, "unexpected answer from Devin: HTTP 400: {}");
	EXPECT_BATCH(t, its, 3, 307, "", -1, OUTCOME_PERMANENT,
		     "unexpected answer from Devin: HTTP 307 with an empty body");

	/* Atomic refusal of a user: split while there is more than one. */
	static const char user_422[] =
		"{\"detail\":[{\"loc\":[\"body\",\"user_ids\",1],\"msg\":\"User u-b not found in this enterprise\","
		"\"type\":\"value_error\"}]}";
	EXPECT_BATCH(t, its, 3, 422, user_422, -1, OUTCOME_SPLIT,
		     "Devin refused a batch of 3: User u-b not found in this enterprise");
	EXPECT_BATCH(t, its, 2, 422, "{\"detail\":\"User not found\"}", -1, OUTCOME_SPLIT,
		     "Devin refused a batch of 2: User not found");
	EXPECT_BATCH(t, its, 2, 422, "garbage", -1, OUTCOME_SPLIT, "Devin refused a batch of 2: HTTP 422: garbage");
	/* The organization (or a setting): everyone alike, no split, not invalid. */
	EXPECT_BATCH(t, its, 3, 422,
		     "{\"detail\":[{\"loc\":[\"body\",\"org_ids\",0],\"msg\":\"Organization org-1 not found\","
		     "\"type\":\"value_error\"}]}", -1, OUTCOME_PERMANENT,
		     "Devin refused the request for organization org-1: Organization org-1 not found");
	EXPECT_BATCH(t, its, 1, 422,
		     "{\"detail\":[{\"loc\":[\"path\",\"org_id\"],\"msg\":\"Organization not found\"}]}", -1,
		     OUTCOME_PERMANENT, "Devin refused the request for organization org-1: Organization not found");
	EXPECT_BATCH(t, its, 2, 422,
		     "{\"detail\":[{\"loc\":[\"body\",\"org_role\"],\"msg\":\"Input should be 'org_admin' or "
		     "'org_member'\"}]}", -1, OUTCOME_PERMANENT,
		     "Devin refused the request for organization org-1: Input should be 'org_admin' or 'org_member'");

	/* Alone: invalid with the API's words, and its cached id forgotten. */
	target_identity_put(t, "b@x.org", "u-b");
	struct push_item *one[] = { &b };
	classify(t, one, 1, 422, user_422, -1, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_INVALID);
	EXPECT_STR(outs[0].reason, "Devin refused user u-b: User u-b not found in this enterprise");
	CU_ASSERT_PTR_NULL(outs[0].remote_id);
	CU_ASSERT_PTR_NULL(b.remote_id);
	outcome_clear(&outs[0]);
	char *id = cached(t, "b@x.org");
	CU_ASSERT_PTR_NULL(id);
	free(id);
	/* So the next attempt looks the user up again. */
	struct push_item again = item("b@x.org", "{\"email\":\"b@x.org\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &again, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	clear(&req, &o);
	item_clear(&again);

	/* Hostile details: wrong types, control characters, invalid UTF-8,
	 * very long messages. */
	EXPECT_BATCH(t, one, 1, 422, "{\"detail\":[7,null,{\"msg\":[1]},{\"loc\":5,\"msg\":\"a\\nb\\u0001\"}]}", -1,
		     OUTCOME_INVALID, "Devin refused user (none): a\\x0ab\\x01");
	EXPECT_BATCH(t, one, 1, 422, "{\"detail\":[{\"msg\":\"bad \xff byte\"}]}", -1, OUTCOME_INVALID,
		     "Devin refused user (none): bad \\xff byte");
	EXPECT_BATCH(t, one, 1, 422, "{\"detail\":{\"msg\":\"x\"}}", -1, OUTCOME_INVALID,
		     "Devin refused user (none): HTTP 422: {\"detail\":{\"msg\":\"x\"}}");
	struct sbuf big;
	sbuf_init(&big);
	sbuf_addstr(&big, "{\"detail\":[");
	for (int i = 0; i < 2000; i++)
		sbuf_addf(&big, "%s{\"loc\":[\"body\",\"user_ids\",%d],\"msg\":\"User u%d not found\"}", i ? "," : "", i,
			  i);
	sbuf_addstr(&big, "]}");
	classify(t, one, 1, 422, big.buf, -1, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(outs[0].reason) < 400);
	outcome_clear(&outs[0]);
	sbuf_release(&big);
	item_clear(&a);
	item_clear(&b);
	item_clear(&c);
	target_free(t);
	teardown();
}

/* A directory-supplied id is not the cache's to forget. */
static void test_batch_given_id(void)
{
	setup();
	struct target *t = tgt("dvi");
	struct push_item it = item("g@x.org", "{\"email\":\"g@x.org\",\"user_id\":\"u-g\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_BATCH);
	clear(&req, &o);
	target_identity_put(t, "g@x.org", "u-other");
	struct push_item *one[] = { &it };
	struct outcome outs[1];
	classify(t, one, 1, 422, "{\"detail\":[{\"loc\":[\"body\",\"user_ids\",0],\"msg\":\"gone\"}]}", -1, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_INVALID);
	EXPECT_STR(outs[0].reason, "Devin refused user u-g: gone");
	outcome_clear(&outs[0]);
	char *id = cached(t, "g@x.org");
	EXPECT_STR(id, "u-other");
	free(id);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ schema and config */

static char *apply(const char *target, struct entry *e, int *rc)
{
	struct mapped m = { 0 };
	*rc = mapping_apply(conf_find_target(conf, target)->mapping, e, &m);
	char *r = strdup(*rc == 0 ? json_object_to_json_string_ext(m.payload, JSON_C_TO_STRING_PLAIN) : m.reasons);
	mapped_clear(&m);
	entry_free(e);
	return r;
}

static struct entry *person(const char *mail, const char *employee)
{
	struct entry *e = entry_new("uid=p,dc=x");
	entry_set_id(e, "id-p");
	if (mail)
		entry_add(e, "mail", mail);
	if (employee)
		entry_add(e, "employeeNumber", employee);
	return e;
}

static void test_schema(void)
{
	setup();
	int rc;
	char *r;
	r = apply("dvi", person("Jo@Example.org", "u-1"), &rc);
	CU_ASSERT_EQUAL(rc, 0);
	EXPECT_STR(r, "{\"email\":\"jo@example.org\",\"user_id\":\"u-1\"}");
	free(r);
	/* user_id is optional. */
	r = apply("dvi", person("jo@example.org", NULL), &rc);
	CU_ASSERT_EQUAL(rc, 0);
	EXPECT_STR(r, "{\"email\":\"jo@example.org\"}");
	free(r);
	r = apply("dv", person(NULL, NULL), &rc);
	CU_ASSERT(rc < 0);
	EXPECT_STR(r, "email: required, but the mapping gives no value");
	free(r);
	r = apply("dv", person("no-at-sign.example.org", NULL), &rc);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "does not match the required format (an email address)"));
	free(r);
	char long_mail[300];
	memset(long_mail, 'a', 250);
	strcpy(long_mail + 250, "@x.org");
	r = apply("dv", person(long_mail, NULL), &rc);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "is 256 characters long, the maximum is 254"));
	free(r);
	r = apply("dvi", person("jo@example.org", "u 1"), &rc);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "user_id: value \"u 1\" does not match the required format (a Devin user id: "
					 "no spaces or control characters)"));
	free(r);
	char long_id[300];
	memset(long_id, 'u', 257);
	long_id[257] = '\0';
	r = apply("dvi", person("jo@example.org", long_id), &rc);
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "is 257 characters long, the maximum is 256"));
	free(r);
	teardown();
}

/* Every diagnostic of loading `targets` as the whole target list. */
static char *load_errors(const char *targets)
{
	char *text = NULL;
	if (asprintf(&text, "source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\ntargets = (\n%s\n);\n", targets) < 0)
		abort();
	char *path = unit_write(dir, "bad.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	CU_ASSERT(conf_load(path, &c, d) < 0);
	conf_free(c);
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->items[i]);
		sbuf_addf(&sb, "%s\n", strstr(line, "bad.conf:") ? strstr(line, "bad.conf:") : line);
		free(line);
	}
	diag_free(d);
	free(path);
	free(text);
	char *r = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return r;
}

#define EXPECT_CONF_ERROR(targets, msg)                                                          \
	do {                                                                                     \
		char *e_ = load_errors(targets);                                                 \
		if (!strstr(e_, (msg)))                                                          \
			fprintf(stderr, "\n  expected: %s\n  got:\n%s", (msg), e_);              \
		CU_ASSERT_PTR_NOT_NULL(strstr(e_, (msg)));                                       \
		free(e_);                                                                        \
	} while (0)

#define DV_TARGET(extra) \
	"{ name = \"d\"; driver = \"devin\"; url = \"http://h\"; auth = { key_file = \"devin.key\"; };\n" \
	"  map = { email = \"${mail}\"; }; " extra " }"

static void test_config(void)
{
	setup();
	EXPECT_CONF_ERROR(DV_TARGET(""), "bad.conf:3: target d: required key 'org_id' is missing");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"\";"), "target d: org_id must be a non-empty id without spaces or "
						       "control characters");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o 1\";"), "org_id must be a non-empty id");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; org_role = \"owner\";"),
			  "target d: org_role must be org_admin or org_member, not 'owner'");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; batch_size = 101;"), "batch_size");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; batch_size = 0;"), "batch_size");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; group_names = [];"), "group_names is empty");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; group_names = [\"a\", \"\"];"),
			  "group_names: names must be non-empty UTF-8 text");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; invite = \"yes\";"), "invite");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; invite_wait = -1;"), "invite_wait");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; invites = true;"), "invites");
	EXPECT_CONF_ERROR("{ name = \"d\"; driver = \"devin\"; url = \"http://h\"; org_id = \"o\";\n"
			  "  map = { email = \"${mail}\"; }; }", "required key 'auth' is missing");
	EXPECT_CONF_ERROR("{ name = \"d\"; driver = \"devin\"; url = \"http://h\"; org_id = \"o\";\n"
			  "  auth = { key_file = \"devin.key\"; }; map = { user_id = \"${uid}\"; }; }",
			  "field 'email' is required by the devin driver but not mapped");
	EXPECT_CONF_ERROR(DV_TARGET("org_id = \"o\"; map2 = 1;"), "map2");
	/* The defaults. */
	const struct conf_target *ct = conf_find_target(conf, "dv");
	CU_ASSERT_STRING_EQUAL(auth_type(ct->auth), "bearer");
	CU_ASSERT_STRING_EQUAL(mapping_key_field(ct->mapping), "email");
	CU_ASSERT_EQUAL(ct->rate_limit, 0);
	teardown();
}

/* ------------------------------------------------------------ other ops */


static void test_ops_declared(void)
{
	const struct target_driver *d = driver_find("devin");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(driver_ops(d, NULL),
			OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP));
	CU_ASSERT(d->idempotent_add);
}

static void test_update(void)
{
	setup();
	struct target *t = tgt("dv"), *ti = tgt("dvi");
	struct http_request req;
	struct outcome o;
	bool creates = false;

	/* The add again, alone, to the stored user id: it may create. */
	struct push_item it = op_item(OP_UPDATE, "a@x.org", "{\"email\":\"a@x.org\"}", "u-1");
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-1\"],\"org_ids\":[\"org-1\"]}");
	CU_ASSERT(creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"status\":\"success\"}", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	EXPECT_STR(o.reason, "added again to organization org-1");
	EXPECT_STR(o.remote_id, "u-1");
	clear(&req, &o);
	item_clear(&it);

	/* The payload's role and groups; the directory's user id first. */
	it = op_item(OP_UPDATE, "a@x.org",
		     "{\"email\":\"a@x.org\",\"user_id\":\"u-new\",\"org_role\":\"org_admin\",\"group_names\":[\"eng\","
		     "\"o\\\"ps\"]}",
		     "u-old");
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-new\"],\"org_ids\":[\"org-1\"],\"org_role\":\"org_admin\","
			     "\"group_names\":[\"eng\",\"o\\\"ps\"]}");
	CU_ASSERT(creates);
	clear(&req, &o);
	/* A retry sends the same again. */
	CU_ASSERT_EQUAL(step_ra(t, &it, 502, "", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-new\"],\"org_ids\":[\"org-1\"],\"org_role\":\"org_admin\","
			     "\"group_names\":[\"eng\",\"o\\\"ps\"]}");
	CU_ASSERT(creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"status\":\"success\"}", -1, &req, &o, &creates), STEP_DONE);
	EXPECT_STR(o.reason, "added again to organization org-1 as org_admin");
	EXPECT_STR(o.remote_id, "u-new");
	clear(&req, &o);
	item_clear(&it);

	/* Without its own: the target's role and groups. */
	it = op_item(OP_UPDATE, "a@x.org", "{\"email\":\"a@x.org\"}", "u-1");
	CU_ASSERT_EQUAL(step_ra(ti, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org%2F7%C3%A9/members");
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-1\"],\"org_ids\":[\"org/7\xc3\xa9\"],\"org_role\":\"org_admin\","
			     "\"group_names\":[\"eng\",\"all staff\"]}");
	clear(&req, &o);
	item_clear(&it);

	/* No stored id: the lookup first (which creates nothing), then the add. */
	it = op_item(OP_UPDATE, "b@x.org", "{\"email\":\"b@x.org\"}", NULL);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=b%40x.org&skip=0&limit=200");
	CU_ASSERT(!creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"items\":[{\"user_id\":\"u-b\",\"email\":\"b@x.org\"}]}", -1, &req, &o,
				&creates),
			STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-b\"],\"org_ids\":[\"org-1\"]}");
	CU_ASSERT(creates);
	char *id = cached(t, "b@x.org");
	EXPECT_STR(id, "u-b");
	free(id);
	clear(&req, &o);
	item_clear(&it);
	/* Next time the cache has it. */
	it = op_item(OP_UPDATE, "b@x.org", "{\"email\":\"b@x.org\"}", NULL);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	clear(&req, &o);
	item_clear(&it);
	/* Nobody: absent, and never an invitation (dvi invites on adds). */
	it = op_item(OP_UPDATE, "n@x.org", "{\"email\":\"n@x.org\"}", NULL);
	CU_ASSERT_EQUAL(step_ra(ti, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(ti, &it, 200, "{\"items\":[]}", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	EXPECT_STR(o.reason, "no Devin user with email n@x.org");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);
	target_free(ti);
	target_free(t);
	teardown();
}

/* The answer to a request of op for stored user u-1, first built. */
#define EXPECT_OP(t, op, payload, status, body, ra, kind_, reason_, rid)                                   \
	do {                                                                                                \
		struct push_item it_ = op_item((op), "a@x.org", (payload), "u-1");                         \
		struct http_request req_;                                                                   \
		struct outcome o_;                                                                          \
		bool cr_;                                                                                   \
		CU_ASSERT_EQUAL(step_ra((t), &it_, -1, NULL, -1, &req_, &o_, &cr_), STEP_SEND);            \
		CU_ASSERT_EQUAL(cr_, (op) == OP_UPDATE);                                                    \
		clear(&req_, &o_);                                                                          \
		CU_ASSERT_EQUAL(step_ra((t), &it_, (status), (body), (ra), &req_, &o_, &cr_), STEP_DONE);  \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                          \
		EXPECT_STR(o_.reason, (reason_));                                                           \
		CU_ASSERT_EQUAL(o_.retry_after, (ra));                                                      \
		EXPECT_STR(o_.remote_id ? o_.remote_id : "", (rid));                                        \
		clear(&req_, &o_);                                                                          \
		item_clear(&it_);                                                                           \
	} while (0)

static void test_update_answers(void)
{
	setup();
	struct target *t = tgt("dv"), *ti = tgt("dvi");
	static const char user_422[] =
		"{\"detail\":[{\"loc\":[\"body\",\"user_ids\",0],\"msg\":\"User u-1 not found in this enterprise\","
		"\"type\":\"value_error\"}]}";
	static const char role_422[] =
		"{\"detail\":[{\"loc\":[\"body\",\"org_role\"],\"msg\":\"Input should be 'org_admin' or 'org_member'\","
		"\"type\":\"enum\"}]}";
	static const char own[] = "{\"email\":\"a@x.org\",\"org_role\":\"org_member\"}";

	/* A user Devin does not know (any more): not there; its cached id
	 * is forgotten, so the add that follows looks the person up. */
	target_identity_put(t, "a@x.org", "u-1");
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a@x.org\"}", 422, user_422, -1, OUTCOME_ABSENT,
		  "Devin refused user u-1: User u-1 not found in this enterprise", "");
	CU_ASSERT_PTR_NULL(cached(t, "a@x.org"));
	/* The member's own role refused: its payload is invalid. */
	EXPECT_OP(t, OP_UPDATE, own, 422, role_422, -1, OUTCOME_INVALID,
		  "Devin refused the org_role or group_names of user u-1: Input should be 'org_admin' or 'org_member'",
		  "");
	/* The target's role or organization refused: the config's fault. */
	EXPECT_OP(ti, OP_UPDATE, "{\"email\":\"a@x.org\"}", 422, role_422, -1, OUTCOME_PERMANENT,
		  "Devin refused the request for organization org/7\xc3\xa9: Input should be 'org_admin' or "
		  "'org_member'",
		  "");
	EXPECT_OP(t, OP_UPDATE, own, 422,
		  "{\"detail\":[{\"loc\":[\"body\",\"org_ids\",0],\"msg\":\"Organization org-1 not found\"}]}", -1,
		  OUTCOME_PERMANENT, "Devin refused the request for organization org-1: Organization org-1 not found",
		  "");
	EXPECT_OP(t, OP_UPDATE, own, 200, "{\"status\":\"failed\"}", -1, OUTCOME_PERMANENT,
		  "unexpected answer from Devin: HTTP 200: {\"status\":\"failed\"}", "");
	EXPECT_OP(t, OP_UPDATE, own, 200, "not json", -1, OUTCOME_OK, "added again to organization org-1 as org_member",
		  "u-1");
	EXPECT_OP(t, OP_UPDATE, own, 401, "{\"detail\":\"Invalid API key\"}", -1, OUTCOME_AUTH,
		  "HTTP 401: {\"detail\":\"Invalid API key\"}", "");
	EXPECT_OP(t, OP_UPDATE, own, 429, "", 9, OUTCOME_THROTTLED, "HTTP 429 with an empty body", "");
	EXPECT_OP(t, OP_UPDATE, own, 500, "oops", -1, OUTCOME_TRANSIENT, "HTTP 500: oops", "");
	EXPECT_OP(t, OP_UPDATE, own, 0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Connection refused", "");
	EXPECT_OP(t, OP_UPDATE, own, 404, "{\"detail\":\"Not Found\"}", -1, OUTCOME_PERMANENT,
		  "unexpected answer from Devin: HTTP 404: {\"detail\":\"Not Found\"}", "");
	target_free(ti);
	target_free(t);
	teardown();
}

/* A member's own role or groups send its add alone; the same as the
 * target's go in the batch. */
static void test_add_own_settings(void)
{
	setup();
	struct target *t = tgt("dv"), *ti = tgt("dvi");
	struct http_request req;
	struct outcome o;
	bool creates = false;

	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"org_role\":\"org_admin\"}");
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	EXPECT_STR(req.body, "{\"user_ids\":[\"u-1\"],\"org_ids\":[\"org-1\"],\"org_role\":\"org_admin\"}");
	CU_ASSERT(creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"status\":\"success\"}", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	EXPECT_STR(o.reason, "added to organization org-1");
	EXPECT_STR(o.remote_id, "u-1");
	clear(&req, &o);
	/* Refused alone: invalid, as in a batch of one. */
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 422, "{\"detail\":[{\"loc\":[\"body\",\"user_ids\",0],\"msg\":\"gone\"}]}", -1,
				&req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	EXPECT_STR(o.reason, "Devin refused user u-1: gone");
	clear(&req, &o);
	item_clear(&it);

#define EXPECT_ADD_PATH(t, payload, result)                                                      \
	do {                                                                                     \
		struct push_item it_ = item("a@x.org", (payload));                               \
		struct http_request req_;                                                        \
		struct outcome o_;                                                               \
		bool cr_;                                                                        \
		CU_ASSERT_EQUAL(step_ra((t), &it_, -1, NULL, -1, &req_, &o_, &cr_), (result));  \
		CU_ASSERT_EQUAL(cr_, (result) == STEP_SEND);                                     \
		clear(&req_, &o_);                                                               \
		item_clear(&it_);                                                                \
	} while (0)
	EXPECT_ADD_PATH(t, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"group_names\":[\"g\"]}", STEP_SEND);
	EXPECT_ADD_PATH(t, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\"}", STEP_BATCH);
	EXPECT_ADD_PATH(ti, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"org_role\":\"org_admin\","
			    "\"group_names\":[\"eng\",\"all staff\"]}",
			STEP_BATCH);
	EXPECT_ADD_PATH(ti, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"org_role\":\"org_member\"}", STEP_SEND);
	EXPECT_ADD_PATH(ti, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"group_names\":[\"eng\"]}", STEP_SEND);
	EXPECT_ADD_PATH(ti, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"group_names\":[\"eng\",\"all staff\",\"x\"]}",
			STEP_SEND);
	EXPECT_ADD_PATH(ti, "{\"email\":\"a@x.org\",\"user_id\":\"u-1\",\"group_names\":[\"all staff\",\"eng\"]}",
			STEP_SEND);
	target_free(ti);
	target_free(t);
	teardown();
}

static void test_delete(void)
{
	setup();
	struct target *t = tgt("dv");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* The stored id, even when the directory maps another now; no payload
	 * needed; no body; never creates. */
	struct push_item it = op_item(OP_DELETE, "a@x.org", "{\"email\":\"a@x.org\",\"user_id\":\"u-new\"}", "u 1/x");
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members/u%201%2Fx");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(!creates);
	clear(&req, &o);
	/* A retry sends it again. */
	CU_ASSERT_EQUAL(step_ra(t, &it, 0, NULL, -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members/u%201%2Fx");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);

	/* Answers. */
	static const char user_422[] =
		"{\"detail\":[{\"loc\":[\"path\",\"user_id\"],\"msg\":\"User u-1 not found in this enterprise\"}]}";
	EXPECT_OP(t, OP_DELETE, NULL, 200, "{\"status\":\"success\"}", -1, OUTCOME_OK,
		  "removed user u-1 from organization org-1", "");
	EXPECT_OP(t, OP_DELETE, NULL, 204, "", -1, OUTCOME_OK, "removed user u-1 from organization org-1", "");
	EXPECT_OP(t, OP_DELETE, NULL, 404, "{\"detail\":\"Member not found\"}", -1, OUTCOME_ABSENT,
		  "user u-1 is not a member of organization org-1: Member not found", "");
	EXPECT_OP(t, OP_DELETE, NULL, 404, "<html>", -1, OUTCOME_ABSENT,
		  "user u-1 is not a member of organization org-1: HTTP 404: <html>", "");
	target_identity_put(t, "a@x.org", "u-1");
	EXPECT_OP(t, OP_DELETE, NULL, 422, user_422, -1, OUTCOME_ABSENT,
		  "Devin does not know user u-1: User u-1 not found in this enterprise", "");
	CU_ASSERT_PTR_NULL(cached(t, "a@x.org"));
	EXPECT_OP(t, OP_DELETE, NULL, 422,
		  "{\"detail\":[{\"loc\":[\"path\",\"org_id\"],\"msg\":\"Organization not found\"}]}", -1,
		  OUTCOME_PERMANENT, "Devin refused the request for organization org-1: Organization not found", "");
	EXPECT_OP(t, OP_DELETE, NULL, 401, "", -1, OUTCOME_AUTH, "HTTP 401 with an empty body", "");
	EXPECT_OP(t, OP_DELETE, NULL, 403, "{\"detail\":\"Not authenticated\"}", -1, OUTCOME_AUTH,
		  "HTTP 403: {\"detail\":\"Not authenticated\"}", "");
	EXPECT_OP(t, OP_DELETE, NULL, 429, "{\"detail\":\"Rate limit exceeded\"}", 5, OUTCOME_THROTTLED,
		  "HTTP 429: {\"detail\":\"Rate limit exceeded\"}", "");
	EXPECT_OP(t, OP_DELETE, NULL, 500, "", -1, OUTCOME_TRANSIENT, "HTTP 500 with an empty body", "");
	EXPECT_OP(t, OP_DELETE, NULL, 405, "{\"detail\":\"Method Not Allowed\"}", -1, OUTCOME_PERMANENT,
		  "unexpected answer to the removal of user u-1: HTTP 405: {\"detail\":\"Method Not Allowed\"}", "");

	/* No stored id, no payload: the key is the email, looked up. */
	it = op_item(OP_DELETE, "c@x.org", NULL, NULL);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/members?email=c%40x.org&skip=0&limit=200");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"items\":[{\"user_id\":\"u-c\",\"email\":\"C@x.org\"}]}", -1, &req, &o,
				&creates),
			STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members/u-c");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);
	/* Cached since: no lookup. */
	it = op_item(OP_DELETE, "c@x.org", NULL, NULL);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	clear(&req, &o);
	item_clear(&it);
	/* No such user: nothing to remove. */
	it = op_item(OP_DELETE, "d@x.org", NULL, NULL);
	step_ra(t, &it, -1, NULL, -1, &req, &o, &creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, "{\"items\":[{\"user_id\":\"u-dd\",\"email\":\"dd@x.org\"}]}", -1,
				&req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	EXPECT_STR(o.reason, "no Devin user with email d@x.org");
	clear(&req, &o);
	item_clear(&it);

	/* The key is the user id: removed by it directly. */
	struct target *tk = tgt("dvk");
	it = op_item(OP_DELETE, "u-k", NULL, NULL);
	CU_ASSERT_EQUAL(step_ra(tk, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	EXPECT_STR(req.url, "http://127.0.0.1:9/v2/enterprise/organizations/org-k/members/u-k");
	clear(&req, &o);
	item_clear(&it);
	target_free(tk);

	/* An email key with no payload and nothing stored or cached: the
	 * lookup; a key that is neither: cannot be found. */
	struct push_item bare = { .op = OP_DELETE };
	CU_ASSERT_EQUAL(step_ra(t, &bare, -1, NULL, -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	EXPECT_STR(o.reason, "no user id stored and no email known: cannot find the member");
	clear(&req, &o);
	item_clear(&bare);

	/* No way to deactivate. */
	it = op_item(OP_DISABLE, "a@x.org", NULL, "u-1");
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	EXPECT_STR(o.reason, "Devin cannot disable a member");
	CU_ASSERT_PTR_NULL(req.url);
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_lookup_op(void)
{
	setup();
	struct target *t = tgt("dv");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* The organization's member list, never the add. */
	struct push_item it = op_item(OP_LOOKUP, "a@x.org", "{\"email\":\"A@x.org\"}", NULL);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members?skip=0&limit=200");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT(!creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200,
				"{\"items\":[{\"user_id\":\"u-9\",\"email\":\"xa@x.org\"},{\"user_id\":\"u-1\","
				"\"email\":\"a@X.org\",\"org_role\":\"org_member\"}],\"has_more\":false,\"total\":2}",
				-1, &req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	EXPECT_STR(o.reason, "a member of organization org-1 (user u-1)");
	EXPECT_STR(o.remote_id, "u-1");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);

	/* By user id: mapped, stored or cached. */
#define EXPECT_MEMBER(payload, rid, body, kind_, reason_, out_id)                                        \
	do {                                                                                              \
		struct push_item it_ = op_item(OP_LOOKUP, "a@x.org", (payload), (rid));                  \
		struct http_request req_;                                                                 \
		struct outcome o_;                                                                        \
		bool cr_;                                                                                 \
		step_ra(t, &it_, -1, NULL, -1, &req_, &o_, &cr_);                                         \
		clear(&req_, &o_);                                                                        \
		CU_ASSERT_EQUAL(step_ra(t, &it_, 200, (body), -1, &req_, &o_, &cr_), STEP_DONE);          \
		CU_ASSERT(!cr_);                                                                          \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                        \
		EXPECT_STR(o_.reason, (reason_));                                                         \
		EXPECT_STR(o_.remote_id ? o_.remote_id : "", (out_id));                                   \
		clear(&req_, &o_);                                                                        \
		item_clear(&it_);                                                                         \
	} while (0)
	static const char other_email[] =
		"{\"items\":[{\"user_id\":\"u-7\",\"email\":\"new@x.org\"}],\"has_more\":false}";
	EXPECT_MEMBER("{\"email\":\"a@x.org\",\"user_id\":\"u-7\"}", NULL, other_email, OUTCOME_OK,
		      "a member of organization org-1 (user u-7)", "u-7");
	EXPECT_MEMBER("{\"email\":\"a@x.org\"}", "u-7", other_email, OUTCOME_OK,
		      "a member of organization org-1 (user u-7)", "u-7");
	EXPECT_MEMBER("{\"email\":\"a@x.org\"}", NULL, other_email, OUTCOME_ABSENT,
		      "not a member of organization org-1", "");
	target_identity_put(t, "a@x.org", "u-7");
	EXPECT_MEMBER("{\"email\":\"a@x.org\"}", NULL, other_email, OUTCOME_OK,
		      "a member of organization org-1 (user u-7)", "u-7");
	EXPECT_MEMBER("{\"email\":\"z@x.org\"}", NULL, "{\"items\":[]}", OUTCOME_ABSENT,
		      "not a member of organization org-1", "");
	/* Junk around, wrong types: skipped; an unusable id for the match is not. */
	EXPECT_MEMBER("{\"email\":\"z@x.org\"}", NULL,
		      "{\"items\":[null,3,{\"email\":\"z@x.org\"},{\"user_id\":[1],\"email\":\"z@x.org\"}],"
		      "\"has_more\":\"yes\"}",
		      OUTCOME_ABSENT, "not a member of organization org-1", "");
	EXPECT_MEMBER("{\"email\":\"z@x.org\"}", NULL, "{\"items\":[{\"user_id\":\"z z\",\"email\":\"z@x.org\"}]}",
		      OUTCOME_PERMANENT,
		      "unusable user_id in the member list of organization org-1: HTTP 200: "
		      "{\"items\":[{\"user_id\":\"z z\",\"email\":\"z@x.org\"}]}",
		      "");
	EXPECT_MEMBER("{\"email\":\"z@x.org\"}", NULL, "<html>", OUTCOME_PERMANENT,
		      "unexpected answer to the member list of organization org-1: HTTP 200: <html>", "");
	EXPECT_MEMBER("{\"email\":\"z@x.org\"}", NULL, "{\"items\":{}}", OUTCOME_PERMANENT,
		      "unexpected answer to the member list of organization org-1: HTTP 200: {\"items\":{}}", "");

	/* Pages: has_more says so; without it, a full page does. */
	struct sbuf full;
	sbuf_init(&full);
	sbuf_addstr(&full, "{\"items\":[");
	for (int i = 0; i < 200; i++)
		sbuf_addf(&full, "%s{\"user_id\":\"u%d\",\"email\":\"p%d@x.org\"}", i ? "," : "", i, i);
	sbuf_addstr(&full, "]}");
	it = op_item(OP_LOOKUP, "q@x.org", "{\"email\":\"q@x.org\"}", NULL);
	step_ra(t, &it, -1, NULL, -1, &req, &o, &creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200,
				"{\"items\":[{\"user_id\":\"u-x\",\"email\":\"x@x.org\"}],\"has_more\":true}", -1,
				&req, &o, &creates),
			STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members?skip=200&limit=200");
	clear(&req, &o);
	/* A retry reads the same page again. */
	CU_ASSERT_EQUAL(step_ra(t, &it, 503, "", 2, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members?skip=200&limit=200");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200, full.buf, -1, &req, &o, &creates), STEP_SEND);
	EXPECT_STR(req.url, "http://127.0.0.1:9/api/v2/enterprise/organizations/org-1/members?skip=400&limit=200");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step_ra(t, &it, 200,
				"{\"items\":[{\"user_id\":\"u-q\",\"email\":\"q@x.org\"}],\"has_more\":true}", -1,
				&req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	EXPECT_STR(o.remote_id, "u-q");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);
	/* A server that always has more is not read forever. */
	it = op_item(OP_LOOKUP, "q@x.org", "{\"email\":\"q@x.org\"}", NULL);
	step_ra(t, &it, -1, NULL, -1, &req, &o, &creates);
	clear(&req, &o);
	int sends = 0;
	enum step_result r;
	while ((r = step_ra(t, &it, 200, full.buf, -1, &req, &o, &creates)) == STEP_SEND && sends < 1000) {
		sends++;
		clear(&req, &o);
	}
	CU_ASSERT_EQUAL(sends, 499);
	CU_ASSERT_EQUAL(r, STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	EXPECT_STR(o.reason, "organization org-1 has more than 100000 members: not searched further");
	clear(&req, &o);
	item_clear(&it);
	sbuf_release(&full);

	/* Other answers. */
#define EXPECT_LIST_ANSWER(status, body, ra, kind_, reason_)                                             \
	do {                                                                                              \
		struct push_item it_ = op_item(OP_LOOKUP, "a@x.org", "{\"email\":\"a@x.org\"}", NULL);   \
		struct http_request req_;                                                                 \
		struct outcome o_;                                                                        \
		bool cr_;                                                                                 \
		step_ra(t, &it_, -1, NULL, -1, &req_, &o_, &cr_);                                         \
		clear(&req_, &o_);                                                                        \
		CU_ASSERT_EQUAL(step_ra(t, &it_, (status), (body), (ra), &req_, &o_, &cr_), STEP_DONE);   \
		CU_ASSERT(!cr_);                                                                          \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                        \
		EXPECT_STR(o_.reason, (reason_));                                                         \
		CU_ASSERT_EQUAL(o_.retry_after, (ra));                                                    \
		clear(&req_, &o_);                                                                        \
		item_clear(&it_);                                                                         \
	} while (0)
	EXPECT_LIST_ANSWER(422, "{\"detail\":[{\"loc\":[\"path\",\"org_id\"],\"msg\":\"Organization not found\"}]}", -1,
			   OUTCOME_PERMANENT,
			   "Devin refused the member list of organization org-1: Organization not found");
	EXPECT_LIST_ANSWER(404, "{\"detail\":\"Not Found\"}", -1, OUTCOME_PERMANENT,
			   "unexpected answer to the member list of organization org-1: HTTP 404: "
			   "{\"detail\":\"Not Found\"}");
	EXPECT_LIST_ANSWER(401, "", -1, OUTCOME_AUTH, "HTTP 401 with an empty body");
	EXPECT_LIST_ANSWER(429, "", 6, OUTCOME_THROTTLED, "HTTP 429 with an empty body");
	EXPECT_LIST_ANSWER(500, "x", -1, OUTCOME_TRANSIENT, "HTTP 500: x");
	EXPECT_LIST_ANSWER(0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Connection refused");
	target_free(t);
	teardown();
}

static void test_schema_ops(void)
{
	setup();
	struct entry *e = person("jo@example.org", "u-1");
	entry_add(e, "title", "org_admin");
	entry_add(e, "ou", "eng");
	entry_add(e, "ou", "ops");
	int rc;
	char *r = apply("dvk", e, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	EXPECT_STR(r, "{\"email\":\"jo@example.org\",\"user_id\":\"u-1\",\"org_role\":\"org_admin\","
		      "\"group_names\":[\"eng\",\"ops\"]}");
	free(r);
	e = person("jo@example.org", "u-1");
	entry_add(e, "title", "owner");
	r = apply("dvk", e, &rc);
	CU_ASSERT(rc < 0);
	EXPECT_STR(r, "org_role: value \"owner\" is not one of: org_admin, org_member");
	free(r);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "lookup request", test_lookup_request },
		{ "lookup finds the exact email and caches the id", test_lookup_found_and_cached },
		{ "lookup without a match", test_lookup_not_found },
		{ "lookup pages", test_lookup_pages },
		{ "lookup answers, hostile ones too", test_lookup_answers },
		{ "invitation flow", test_invite_flow },
		{ "invitation answers", test_invite_answers },
		{ "batch request", test_batch_request },
		{ "batch answers", test_batch_answers },
		{ "a directory-supplied id is never uncached", test_batch_given_id },
		{ "schema", test_schema },
		{ "config keys", test_config },
		{ "ops declared", test_ops_declared },
		{ "update: the add again, alone", test_update },
		{ "update answers", test_update_answers },
		{ "adds with the member's own role or groups", test_add_own_settings },
		{ "removal", test_delete },
		{ "lookup in the organization's member list", test_lookup_op },
		{ "org_role and group_names in the schema", test_schema_ops },
		{ NULL, NULL },
	};
	return unit_run("devin", tests);
}
