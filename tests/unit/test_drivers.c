/* Drivers: the requests they build, how they read every kind of answer
 * (including hostile ones), and the auth providers' headers. */
#include "config.h"

#include "config/conf.h"
#include "targets/target.h"
#include "util/sbuf.h"
#include "util/xalloc.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"

static char *dir;
static struct conf *conf;

static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	DRIVER_CONF_RAINBOND_REST "\n"
	");\n";

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "rb.key", "rb-raw-key\n", 0600));
	free(unit_write(dir, "rest.token", "rest-token", 0600));
	conf = fixture_load(dir, conf_text);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

/* One step: returns the result; req and out are filled as the driver
 * left them (caller clears). */
static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out)
{
	return fixture_step(t, it, status, body, -1, req, out, NULL);
}

static void test_rainbond_request(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	struct push_item it = item("a", "{\"nick_name\":\"a\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/console/openapi/v1/users");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"nick_name\":\"a\"}");
	/* Rainbond wants the raw key, not "Bearer <key>"; the engine adds it. */
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, 0), 0);
	CU_ASSERT(has_header(&req, "Authorization: rb-raw-key"));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

#define EXPECT_ANSWER(t, status, body, kind_, reason_)                                      \
	do {                                                                                \
		struct push_item it_ = item("a", "{\"nick_name\":\"a\"}");                  \
		struct http_request req_;                                                   \
		struct outcome o_;                                                          \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_), STEP_DONE);  \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                          \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                      \
		http_request_clear(&req_);                                                  \
		outcome_clear(&o_);                                                         \
		item_clear(&it_);                                                           \
	} while (0)

static void test_rainbond_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	EXPECT_ANSWER(t, 201, "", OUTCOME_OK, "created");
	EXPECT_ANSWER(t, 400, "{\"detail\":\"参数错误\",\"err\":{\"nick_name\":[\"too long\"]},\"code\":20400}",
		      OUTCOME_INVALID, "rejected by Rainbond: {\"nick_name\":[\"too long\"]}");
	EXPECT_ANSWER(t, 401, "{\"code\":401,\"msg\":\"invalid access key\"}", OUTCOME_AUTH,
		      "HTTP 401: {\"code\":401,\"msg\":\"invalid access key\"}");
	EXPECT_ANSWER(t, 429, "", OUTCOME_THROTTLED, "HTTP 429 with an empty body");
	EXPECT_ANSWER(t, 500, "<h1>Server Error (500)</h1>", OUTCOME_TRANSIENT,
		      "HTTP 500: <h1>Server Error (500)</h1> (Rainbond answers 500 when the phone number already "
		      "belongs to another user)");
	EXPECT_ANSWER(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	EXPECT_ANSWER(t, 302, "", OUTCOME_PERMANENT, "unexpected answer from Rainbond: HTTP 302 with an empty body");
	/* Hostile bodies: not JSON, wrong types, control characters. */
	EXPECT_ANSWER(t, 400, "{not json", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: {not json");
	EXPECT_ANSWER(t, 400, "{\"msg\":[1,2]}", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: {\"msg\":[1,2]}");
	EXPECT_ANSWER(t, 404, "line1\nline2\x01", OUTCOME_INVALID, "rejected by Rainbond: HTTP 404: line1\\x0aline2\\x01");
	target_free(t);
	teardown();
}

static void test_rainbond_duplicate_adopts_id(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	struct push_item it = item("a", "{\"nick_name\":\"a\"}");
	struct http_request req;
	struct outcome o;
	/* 409: not done yet, the member is looked up to adopt its id. */
	CU_ASSERT_EQUAL(step(t, &it, 409, "{\"code\":409,\"msg\":\"username already exists\"}", &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/console/openapi/v1/users?query=a&page=1&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	/* The query is a substring match: only the exact nick_name counts. */
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"users\":[{\"user_id\":7,\"nick_name\":\"ab\"},{\"user_id\":9,\"nick_name\":\"a\"}],"
			     "\"total\":2}", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "9");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A lookup that fails transiently is retried (same stage)... */
	CU_ASSERT_EQUAL(step(t, &it, 503, "busy", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	http_request_clear(&req);
	outcome_clear(&o);
	/* ...and one that cannot find it still counts the member as there. */
	CU_ASSERT_EQUAL(step(t, &it, 404, "{}", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Duplicate email is a 400 with its own message. */
	it = item("b", "{\"nick_name\":\"b\"}");
	CU_ASSERT_EQUAL(step(t, &it, 400, "{\"code\":400,\"msg\":\"email already exists\"}", &req, &o), STEP_SEND);
	http_request_clear(&req);
	outcome_clear(&o);
	/* Nobody is called b: the email is another user's, and b is not at
	 * Rainbond. Calling it synced would lose it. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"users\":[{\"user_id\":7,\"nick_name\":\"bb\"}],\"total\":1}", &req,
			     &o),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT_PTR_NULL(it.remote_id);
	CU_ASSERT_STRING_EQUAL(o.reason, "Rainbond says the user already exists, but has no user with nick_name b: the "
					 "email or phone belongs to another user");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_rainbond_long_body_cut(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	char body[5000];
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct push_item it = item("a", "{}");
	struct http_request req;
	struct outcome o;
	step(t, &it, 418, body, &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (4999 bytes)"));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_rest_statuses(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "api"), NULL);
	struct push_item it = item("a@x", "{\"email\":\"a@x\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/rest/members");
	auth_apply(t->auth, &req, 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer rest-token"));
	http_request_clear(&req);
	outcome_clear(&o);

	step(t, &it, 201, "{\"data\":{\"id\":\"m-7\"}}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "m-7");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A configured duplicate status wins over "4xx = invalid". */
	step(t, &it, 400, "{\"data\":{\"id\":42}}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "42");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	/* 200 is not in this target's success list. */
	EXPECT_ANSWER(t, 200, "{}", OUTCOME_PERMANENT, "unexpected answer: HTTP 200: {}");
	EXPECT_ANSWER(t, 422, "{\"error\":\"email is required\"}", OUTCOME_INVALID,
		      "rejected: HTTP 422: {\"error\":\"email is required\"}");
	EXPECT_ANSWER(t, 503, "busy", OUTCOME_TRANSIENT, "HTTP 503: busy");
	target_free(t);
	teardown();
}

static void test_rest_rules_form_template(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ding"), NULL);
	struct push_item it = item("a b@x", "{\"email\":\"a b@x\",\"dept\":[\"1\",\"2\"],\"pw\":\"s3cret!\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/user/a%20b%40x?x=1");
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT_STRING_EQUAL(req.body, "email=a%20b%40x&dept%5B%5D=1&dept%5B%5D=2&pw=s3cret%21");
	auth_apply(t->auth, &req, 0);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/user/a%20b%40x?x=1&access_token=rest-token");
	http_request_clear(&req);
	outcome_clear(&o);

	/* Always-200 APIs: the rules read the body. */
	step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"u1\"}}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "u1");
	http_request_clear(&req);
	outcome_clear(&o);
	step(t, &it, 200, "{\"errcode\":60104,\"errmsg\":\"mobile already exists\"}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.reason, "mobile already exists");
	http_request_clear(&req);
	outcome_clear(&o);
	step(t, &it, 200, "{\"errcode\":90018,\"errmsg\":\"qps\",\"wait\":3}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_EQUAL(o.retry_after, 3);
	http_request_clear(&req);
	outcome_clear(&o);
	step(t, &it, 200, "{\"errcode\":90020,\"errmsg\":\"monthly quota exceeded\"}", &req, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_QUOTA);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* A placeholder without a value makes the member invalid. */
	it = item("k", "{\"dept\":[]}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT_STRING_EQUAL(o.reason, "the URL needs {email}, which the mapping leaves empty");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ other ops */


struct answer {
	long status;
	const char *body;
};

/* Plays a member's exchange: the first call without an answer, then one
 * call per answer. Every step must send (until the last) and none may
 * create but an add's first. Returns the last step's result; req and out
 * are the last step's (caller clears). */
static enum step_result play(struct target *t, struct push_item *it, const struct answer *a, size_t n,
			     struct http_request *req, struct outcome *out)
{
	bool creates = true;
	enum step_result r = fixture_step(t, it, -1, NULL, -1, req, out, &creates);
	CU_ASSERT_EQUAL(creates, it->op == OP_ADD && r == STEP_SEND);
	for (size_t i = 0; i < n; i++) {
		if (r != STEP_SEND) {
			fprintf(stderr, "\n  finished after %zu of %zu answers: %s\n", i, n,
				out->reason ? out->reason : "");
			CU_FAIL("finished early");
			return r;
		}
		http_request_clear(req);
		outcome_clear(out);
		creates = true;
		r = fixture_step(t, it, a[i].status, a[i].body, -1, req, out, &creates);
		CU_ASSERT_FALSE(creates);
	}
	return r;
}

#define ANSWERS(...) ((const struct answer[]){ __VA_ARGS__ }), \
	(sizeof((const struct answer[]){ __VA_ARGS__ }) / sizeof(struct answer))

/* Plays op for member "a" (payload, stored id rid) through the answers;
 * the outcome must be kind_ with reason_ and remote id rid_ (NULL: none). */
#define EXPECT_OP(t, op_, payload_, rid, kind_, reason_, rid_, ...)                                        \
	do {                                                                                               \
		struct push_item it_ = op_item((op_), "a", (payload_), (rid));                             \
		struct http_request req_;                                                                  \
		struct outcome o_;                                                                         \
		CU_ASSERT_EQUAL(play((t), &it_, ANSWERS(__VA_ARGS__), &req_, &o_), STEP_DONE);             \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                         \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                                     \
		if ((rid_) == NULL) {                                                                      \
			CU_ASSERT_PTR_NULL(o_.remote_id);                                                  \
		} else {                                                                                   \
			CU_ASSERT_STRING_EQUAL(o_.remote_id ? o_.remote_id : "", (rid_) ? (rid_) : "");    \
		}                                                                                          \
		http_request_clear(&req_);                                                                 \
		outcome_clear(&o_);                                                                        \
		item_clear(&it_);                                                                          \
	} while (0)

#define RB_USERS "http://127.0.0.1:9/console/openapi/v1/users"
#define RB_PAYLOAD "{\"nick_name\":\"a\",\"password\":\"s3cret-pw\",\"enterprise_id\":\"e\",\"email\":\"a@x.cn\"}"

static void test_rainbond_ops_declared(void)
{
	setup();
	const struct conf_target *c = conf_find_target(conf, "rb");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf),
			OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) |
				OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP));
	/* A second POST is a 409, not a second user, but a lookup is the
	 * cheaper way to learn the outcome of an interrupted add. */
	CU_ASSERT_FALSE(c->driver->idempotent_add);
	teardown();
}

static void test_rainbond_update(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	struct push_item it = op_item(OP_UPDATE, "a", RB_PAYLOAD, "9");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* A stored id is checked first: the PUT answers 200 for any id. */
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/9");
	CU_ASSERT_PTR_NULL(req.body);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "{\"user_id\":9,\"nick_name\":\"a\",\"is_active\":true}", -1, &req,
				     &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/9");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	/* Everything but the password: an update must not reset it. */
	CU_ASSERT_STRING_EQUAL(req.body, "{\"nick_name\":\"a\",\"enterprise_id\":\"e\",\"email\":\"a@x.cn\"}");
	CU_ASSERT_EQUAL(req.body_len, strlen(req.body));
	CU_ASSERT_PTR_NULL(strstr(req.body, "s3cret"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, 0), 0);
	CU_ASSERT(has_header(&req, "Authorization: rb-raw-key"));
	http_request_clear(&req);
	outcome_clear(&o);
	/* The console's answer to a PUT is an empty 200. */
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "updated");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "9");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A retry (no answer) sends the PUT again, not the check. */
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* No stored id: found by name first (exactly: the query is a
	 * substring match), then changed without a second check. Ids are
	 * percent-encoded into the path. */
	it = op_item(OP_UPDATE, "a b", RB_PAYLOAD, NULL);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a%20b&page=1&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200,
				     "{\"users\":[{\"user_id\":7,\"nick_name\":\"a bc\"},{\"user_id\":\"x/9\","
				     "\"nick_name\":\"a b\"}],\"total\":2}",
				     -1, &req, &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/x%2F9");
	CU_ASSERT_STRING_EQUAL(it.remote_id, "x/9");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 404, "", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "Rainbond has no user x/9");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* The stored id is another user's now: forgotten, found by name. */
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_OK, "updated", "12",
		  { 200, "{\"user_id\":9,\"nick_name\":\"someone\"}" },
		  { 200, "{\"users\":[{\"user_id\":12,\"nick_name\":\"a\"}],\"total\":1}" }, { 200, "" });
	/* Gone at Rainbond: by id, or by name. */
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_ABSENT, "Rainbond has no user 9", NULL, { 404, "" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, NULL, OUTCOME_ABSENT, "Rainbond has no user with nick_name a", NULL,
		  { 200, "{\"users\":[{\"user_id\":7,\"nick_name\":\"ab\"}],\"total\":1}" });
	/* No payload to send. */
	EXPECT_OP(t, OP_UPDATE, NULL, "9", OUTCOME_PERMANENT, "nothing to update: the member has no payload", NULL);
	/* An empty stored id is no id. */
	EXPECT_OP(t, OP_DELETE, NULL, "", OUTCOME_OK, "deleted", "9",
		  { 200, "{\"users\":[{\"user_id\":9,\"nick_name\":\"a\"}],\"total\":1}" }, { 200, "" });
	target_free(t);
	teardown();
}

static void test_rainbond_update_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
#define RB_CHECK_OK { 200, "{\"user_id\":9,\"nick_name\":\"a\"}" }
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_OK, "updated", "9", RB_CHECK_OK, { 204, "" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_INVALID,
		  "rejected by Rainbond: {\"email\":[\"Enter a valid email address.\"]}", NULL, RB_CHECK_OK,
		  { 400, "{\"detail\":\"参数错误\",\"err\":{\"email\":[\"Enter a valid email address.\"]},\"code\":20400}" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: email already exists",
		  NULL, RB_CHECK_OK, { 400, "{\"code\":400,\"msg\":\"email already exists\"}" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_AUTH, "HTTP 401: {\"code\":401,\"msg\":\"invalid access key\"}",
		  NULL, RB_CHECK_OK, { 401, "{\"code\":401,\"msg\":\"invalid access key\"}" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_THROTTLED, "HTTP 429 with an empty body", NULL, RB_CHECK_OK,
		  { 429, "" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_TRANSIENT,
		  "HTTP 500: <h1>Server Error (500)</h1> (Rainbond answers 500 when the phone number already belongs "
		  "to another user)",
		  NULL, RB_CHECK_OK, { 500, "<h1>Server Error (500)</h1>" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_TRANSIENT, "no answer: Connection refused", NULL, RB_CHECK_OK,
		  { 0, NULL });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to update: HTTP 302 with an empty body", NULL, RB_CHECK_OK,
		  { 302, "" });
	/* Hostile bodies. */
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_INVALID, "rejected by Rainbond: HTTP 422: {not json", NULL,
		  RB_CHECK_OK, { 422, "{not json" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: {\"msg\":[1,2]}",
		  NULL, RB_CHECK_OK, { 400, "{\"msg\":[1,2]}" });
	/* The check's own trouble. */
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_THROTTLED, "HTTP 429 with an empty body", NULL, { 429, "" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_TRANSIENT, "HTTP 503: busy", NULL, { 503, "busy" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to GET user 9: HTTP 200: <html>", NULL, { 200, "<html>" });
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to GET user 9: HTTP 400: {}", NULL, { 400, "{}" });
	/* A nick_name of the wrong type in the check: not provably ours, so
	 * found by name. */
	EXPECT_OP(t, OP_UPDATE, RB_PAYLOAD, "9", OUTCOME_OK, "updated", "9", { 200, "{\"nick_name\":[\"a\"]}" },
		  { 200, "{\"users\":[{\"user_id\":9,\"nick_name\":\"a\"}],\"total\":1}" }, { 200, "" });
#undef RB_CHECK_OK
	target_free(t);
	teardown();
}

static void test_rainbond_disable_enable_delete(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* Disable: straight to the PUT, payload or not. */
	struct push_item it = op_item(OP_DISABLE, "a", NULL, "9");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/9");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"is_active\":false}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	EXPECT_OP(t, OP_DISABLE, NULL, "9", OUTCOME_OK, "disabled", "9", { 200, "" });
	EXPECT_OP(t, OP_DISABLE, RB_PAYLOAD, NULL, OUTCOME_OK, "disabled", "9",
		  { 200, "{\"users\":[{\"user_id\":9,\"nick_name\":\"a\"}],\"total\":1}" }, { 200, "" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_ABSENT, "Rainbond has no user with nick_name a", NULL,
		  { 200, "{\"users\":[],\"total\":0}" });
	EXPECT_OP(t, OP_DISABLE, NULL, "9", OUTCOME_ABSENT, "Rainbond has no user 9", NULL, { 404, "" });
	/* Not the member's data at fault: no INVALID. */
	EXPECT_OP(t, OP_DISABLE, NULL, "9", OUTCOME_PERMANENT, "rejected by Rainbond: HTTP 400: {\"code\":400}", NULL,
		  { 400, "{\"code\":400}" });
	EXPECT_OP(t, OP_DISABLE, NULL, "9", OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to disable: HTTP 301 with an empty body", NULL, { 301, "" });

	/* Enable: checked like an update, then is_active true. */
	it = op_item(OP_ENABLE, "a", RB_PAYLOAD, "9");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/9");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "{\"user_id\":9,\"nick_name\":\"a\",\"is_active\":false}", -1, &req,
				     &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"is_active\":true}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	EXPECT_OP(t, OP_ENABLE, RB_PAYLOAD, "9", OUTCOME_OK, "enabled", "9",
		  { 200, "{\"user_id\":9,\"nick_name\":\"a\"}" }, { 200, "" });
	EXPECT_OP(t, OP_ENABLE, RB_PAYLOAD, "9", OUTCOME_ABSENT, "Rainbond has no user 9", NULL, { 404, "" });

	/* Delete: DELETE, no body. */
	it = op_item(OP_DELETE, "a", NULL, "9");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "/9");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT_FALSE(has_header(&req, "Content-Type: application/json"));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	EXPECT_OP(t, OP_DELETE, NULL, "9", OUTCOME_OK, "deleted", "9", { 200, "" });
	EXPECT_OP(t, OP_DELETE, NULL, "9", OUTCOME_ABSENT, "Rainbond has no user 9", NULL, { 404, "" });
	EXPECT_OP(t, OP_DELETE, NULL, NULL, OUTCOME_OK, "deleted", "9",
		  { 200, "{\"users\":[{\"user_id\":9,\"nick_name\":\"a\"}],\"total\":1}" }, { 200, "" });
	EXPECT_OP(t, OP_DELETE, NULL, "9", OUTCOME_AUTH, "HTTP 403: {\"detail\":\"no\"}", NULL,
		  { 403, "{\"detail\":\"no\"}" });
	EXPECT_OP(t, OP_DELETE, NULL, "9", OUTCOME_TRANSIENT, "HTTP 500: oops", NULL, { 500, "oops" });
	target_free(t);
	teardown();
}

/* A page of n users none of which is "a", of total. */
static char *rb_page(int first, int n, int total)
{
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addstr(&sb, "{\"users\":[");
	for (int i = 0; i < n; i++)
		sbuf_addf(&sb, "%s{\"user_id\":%d,\"nick_name\":\"a%d\"}", i ? "," : "", first + i, first + i);
	sbuf_addf(&sb, "],\"total\":%d}", total);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static void test_rainbond_lookup(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "rb"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* Asked by name even with a stored id: the question is whether the
	 * interrupted add created this member. */
	struct push_item it = op_item(OP_LOOKUP, "a", RB_PAYLOAD, "3");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a&page=1&page_size=100");
	CU_ASSERT_PTR_NULL(req.body);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_OK, "at Rainbond as user 9", "9",
		  { 200, "{\"users\":[{\"user_id\":7,\"nick_name\":\"ab\"},{\"user_id\":9,\"nick_name\":\"a\"}],"
			 "\"total\":2}" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_ABSENT, "Rainbond has no user with nick_name a", NULL,
		  { 200, "{\"users\":[{\"user_id\":7,\"nick_name\":\"ab\"}],\"total\":1}" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_ABSENT, "Rainbond has no user with nick_name a", NULL,
		  { 200, "{\"users\":[],\"total\":0}" });
	/* Case matters: the console's names are case-sensitive. */
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_ABSENT, "Rainbond has no user with nick_name a", NULL,
		  { 200, "{\"users\":[{\"user_id\":7,\"nick_name\":\"A\"}],\"total\":1}" });
	/* Wrong types and hostile bodies are not "absent": that would add
	 * the member again. */
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to the user lookup: HTTP 200: {not json", NULL, { 200, "{not json" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to the user lookup: HTTP 200: {\"users\":\"a\"}", NULL,
		  { 200, "{\"users\":\"a\"}" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_PERMANENT,
		  "unexpected answer from Rainbond to the user lookup: HTTP 404 with an empty body", NULL, { 404, "" });
	/* Entries of the wrong shape are skipped, not trusted. */
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_OK, "at Rainbond as user 4", "4",
		  { 200, "{\"users\":[7,null,{\"user_id\":{},\"nick_name\":\"a\"},{\"user_id\":4,\"nick_name\":\"a\"}],"
			 "\"total\":4}" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_AUTH, "HTTP 401: {\"code\":401}", NULL,
		  { 401, "{\"code\":401}" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_THROTTLED, "HTTP 429 with an empty body", NULL, { 429, "" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_TRANSIENT, "HTTP 502: bad gateway", NULL,
		  { 502, "bad gateway" });
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", NULL, { 0, NULL });

	/* Many users match "a": the next page is asked for. */
	char *p1 = rb_page(100, 100, 150), *p2 = rb_page(200, 49, 150);
	it = op_item(OP_LOOKUP, "a", RB_PAYLOAD, NULL);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, p1, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a&page=2&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A retry of page 2 asks for page 2 again. */
	CU_ASSERT_EQUAL(fixture_step(t, &it, 503, "busy", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a&page=2&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, p2, -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	/* Found on page 2. */
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_OK, "at Rainbond as user 5", "5", { 200, p1 },
		  { 200, "{\"users\":[{\"user_id\":5,\"nick_name\":\"a\"}],\"total\":150}" });
	/* A total that lies ends at the bound, not in an endless walk. */
	char *lie = rb_page(100, 100, 1000000);
	EXPECT_OP(t, OP_LOOKUP, RB_PAYLOAD, NULL, OUTCOME_PERMANENT,
		  "nick_name a is not among the first 2000 users Rainbond's query matches", NULL, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie });

	/* The add's own lookup (after a 409) pages the same way; at the
	 * bound the member still counts as there. */
	EXPECT_OP(t, OP_ADD, "{\"nick_name\":\"a\"}", NULL, OUTCOME_DUPLICATE,
		  "already at Rainbond (its id is not among the first 2000 users the query matches)", NULL,
		  { 409, "{\"code\":409,\"msg\":\"username already exists\"}" }, { 200, lie }, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie },
		  { 200, lie }, { 200, lie }, { 200, lie }, { 200, lie });
	it = item("a", "{\"nick_name\":\"a\"}");
	CU_ASSERT_EQUAL(fixture_step(t, &it, 409, "{\"code\":409,\"msg\":\"username already exists\"}", -1, &req, &o,
				     &creates),
			STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a&page=1&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, p1, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, RB_USERS "?query=a&page=2&page_size=100");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "{\"users\":[{\"user_id\":5,\"nick_name\":\"a\"}],\"total\":150}", -1,
				     &req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "5");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	free(p1);
	free(p2);
	free(lie);
	target_free(t);
	teardown();
}

#define OPS_URL "http://127.0.0.1:9/rest/members"
#define OPS_PAYLOAD "{\"email\":\"a\",\"name\":\"A\",\"pw\":\"s3cret-pw\"}"

static void test_rest_ops_declared(void)
{
	setup();
	const struct conf_target *c = conf_find_target(conf, "ops");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf),
			OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) |
				OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP));
	c = conf_find_target(conf, "noid");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf), OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DELETE));
	c = conf_find_target(conf, "bare");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf), OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_LOOKUP));
	c = conf_find_target(conf, "api");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf), OP_BIT(OP_ADD));
	CU_ASSERT_FALSE(c->driver->idempotent_add);

	/* An op the config does not describe is refused without a request. */
	struct target *t = target_new(c, NULL);
	EXPECT_OP(t, OP_DISABLE, NULL, "m-1", OUTCOME_PERMANENT, "this target's config describes no disable", NULL);
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_PERMANENT, "this target's config describes no lookup",
		  NULL);
	target_free(t);
	teardown();
}

static void test_rest_op_requests(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ops"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* Update: PUT (the default) of the payload without secret_fields. */
	struct push_item it = op_item(OP_UPDATE, "a@x", OPS_PAYLOAD, "m/1 x");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "/m%2F1%20x");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"email\":\"a\",\"name\":\"A\"}");
	CU_ASSERT_PTR_NULL(strstr(req.body, "s3cret"));
	auth_apply(t->auth, &req, 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer rest-token"));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Disable: PATCH (the default) of the configured body. */
	it = op_item(OP_DISABLE, "a@x", NULL, "m-1");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "/m-1");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"active\":false}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Enable: its own method, URL and encoding. */
	it = op_item(OP_ENABLE, "a@x", OPS_PAYLOAD, "m-1");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "/m-1/activation");
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT_STRING_EQUAL(req.body, "active=1");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Delete: DELETE (the default), {id} and {key}, no body. */
	it = op_item(OP_DELETE, "a b@x", NULL, "m-1");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "/m-1?by=a%20b%40x");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT_FALSE(has_header(&req, "Content-Type: application/json"));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Lookup: GET by {key}. */
	it = op_item(OP_LOOKUP, "a+b@x", OPS_PAYLOAD, NULL);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "?email=a%2Bb%40x");
	CU_ASSERT_PTR_NULL(req.body);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Form encoding from the target: the update body follows it. */
	target_free(t);
	t = target_new(conf_find_target(conf, "bare"), NULL);
	it = op_item(OP_UPDATE, "a@x", "{\"email\":\"a@x\",\"tags\":[\"x\",\"y\"]}", "5");
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/users/5");
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT_STRING_EQUAL(req.body, "email=a%40x&tags%5B%5D=x&tags%5B%5D=y");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_rest_op_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ops"), NULL);
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_OK, "HTTP 200", "m-1", { 200, "{\"id\":\"m-1\"}" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_OK, "HTTP 204", "m-1", { 204, "" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_ABSENT, "not there (HTTP 404)", NULL,
		  { 404, "{\"error\":\"not found\"}" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_ABSENT, "not there (HTTP 410)", NULL, { 410, "" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_INVALID, "rejected: HTTP 422: {\"error\":\"name too long\"}",
		  NULL, { 422, "{\"error\":\"name too long\"}" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_AUTH, "HTTP 401: {\"error\":\"unauthorized\"}", NULL,
		  { 401, "{\"error\":\"unauthorized\"}" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_THROTTLED, "HTTP 429 with an empty body", NULL,
		  { 429, "" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_TRANSIENT, "HTTP 503: busy", NULL, { 503, "busy" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_TRANSIENT, "no answer: Connection refused", NULL,
		  { 0, NULL });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_PERMANENT, "unexpected answer: HTTP 302 with an empty body",
		  NULL, { 302, "" });
	EXPECT_OP(t, OP_UPDATE, OPS_PAYLOAD, "m-1", OUTCOME_INVALID, "rejected: HTTP 400: {not json", NULL,
		  { 400, "{not json" });
	/* Not an update: a refusal is no fault of the member's data. */
	EXPECT_OP(t, OP_DELETE, NULL, "m-1", OUTCOME_PERMANENT, "rejected: HTTP 400: {\"error\":\"locked\"}", NULL,
		  { 400, "{\"error\":\"locked\"}" });
	EXPECT_OP(t, OP_DELETE, NULL, "m-1", OUTCOME_OK, "HTTP 204", "m-1", { 204, "" });
	EXPECT_OP(t, OP_DELETE, NULL, "m-1", OUTCOME_ABSENT, "not there (HTTP 404)", NULL, { 404, "" });
	EXPECT_OP(t, OP_DISABLE, NULL, "m-1", OUTCOME_OK, "HTTP 200", "m-1", { 200, "{\"active\":false}" });
	EXPECT_OP(t, OP_ENABLE, NULL, "m-1", OUTCOME_ABSENT, "not there (HTTP 404)", NULL, { 404, "" });
	EXPECT_OP(t, OP_UPDATE, NULL, "m-1", OUTCOME_PERMANENT, "nothing to update: the member has no payload", NULL);

	/* Rules of the op read an always-200 API's envelope. */
	target_free(t);
	t = target_new(conf_find_target(conf, "bare"), NULL);
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "5", OUTCOME_OK, "HTTP 200: {\"errcode\":0}", "5",
		  { 200, "{\"errcode\":0}" });
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "5", OUTCOME_ABSENT, "no such user", NULL,
		  { 200, "{\"errcode\":60121,\"errmsg\":\"no such user\"}" });
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "5", OUTCOME_INVALID, "bad mobile", NULL,
		  { 200, "{\"errcode\":60103,\"errmsg\":\"bad mobile\"}" });
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "5", OUTCOME_INVALID, "HTTP 200: [1]", NULL, { 200, "[1]" });
	/* success_status = 200 only. */
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "5", OUTCOME_PERMANENT,
		  "unexpected answer: HTTP 204 with an empty body", NULL, { 204, "" });
	target_free(t);
	teardown();
}

static void test_rest_lookup_first(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ops"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* No stored id: the lookup finds it, then the update goes out. */
	struct push_item it = op_item(OP_UPDATE, "a@x", OPS_PAYLOAD, NULL);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "?email=a%40x");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A lookup that fails transiently is retried (same stage)... */
	CU_ASSERT_EQUAL(fixture_step(t, &it, 503, "busy", 4, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_EQUAL(o.retry_after, 4);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	http_request_clear(&req);
	outcome_clear(&o);
	/* ...and once it answers, the update goes to the id it found. */
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "{\"members\":[{\"id\":\"m-7\",\"email\":\"a@x\"}]}", -1, &req, &o,
				     &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_PTR_NULL(o.reason);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.url, OPS_URL "/m-7");
	CU_ASSERT_STRING_EQUAL(it.remote_id, "m-7");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 200, "{}", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "m-7");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	EXPECT_OP(t, OP_DELETE, NULL, NULL, OUTCOME_OK, "HTTP 204", "m-7",
		  { 200, "{\"members\":[{\"id\":\"m-7\"}]}" }, { 204, "" });
	EXPECT_OP(t, OP_DELETE, NULL, "", OUTCOME_OK, "HTTP 204", "m-7",
		  { 200, "{\"members\":[{\"id\":\"m-7\"}]}" }, { 204, "" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)", NULL,
		  { 200, "{\"members\":[]}" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 404)", NULL,
		  { 404, "" });
	/* Wrong types: found_path is no array, so nobody is there. */
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)", NULL,
		  { 200, "{\"members\":\"m-7\"}" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_PERMANENT,
		  "the lookup found the member, but no id at members.0.id in its answer", NULL,
		  { 200, "{\"members\":[{\"id\":{\"x\":1}}]}" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_PERMANENT, "unexpected answer to the lookup: HTTP 200: <html>",
		  NULL, { 200, "<html>" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_PERMANENT,
		  "unexpected answer to the lookup: HTTP 200: {\"members\":[]} trailing", NULL,
		  { 200, "{\"members\":[]} trailing" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_PERMANENT, "unexpected answer to the lookup: HTTP 400: {}", NULL,
		  { 400, "{}" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_AUTH, "HTTP 403: {}", NULL, { 403, "{}" });
	EXPECT_OP(t, OP_DISABLE, NULL, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", NULL, { 0, NULL });

	/* OP_LOOKUP itself. */
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_OK, "found (HTTP 200)", "m-3",
		  { 200, "{\"members\":[{\"id\":\"m-3\"}]}" });
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_OK, "found (HTTP 200)", "42",
		  { 200, "{\"members\":[{\"id\":42}]}" });
	/* found_path decides; an id is a bonus. */
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_OK, "found (HTTP 200)", NULL,
		  { 200, "{\"members\":[{\"email\":\"a\"}]}" });
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)", NULL,
		  { 200, "{\"members\":[]}" });
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)", NULL,
		  { 200, "{}" });
	EXPECT_OP(t, OP_LOOKUP, OPS_PAYLOAD, NULL, OUTCOME_THROTTLED, "HTTP 429 with an empty body", NULL, { 429, "" });
	target_free(t);

	/* A bare array, and an id_path without found_path. */
	t = target_new(conf_find_target(conf, "bare"), NULL);
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_OK, "found (HTTP 200)", "5",
		  { 200, "[{\"id\":5,\"email\":\"a\"}]" });
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)",
		  NULL, { 200, "[]" });
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 200)",
		  NULL, { 200, "[{\"id\":null}]" });
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_ABSENT, "the lookup found no such member (HTTP 400)",
		  NULL, { 400, "" });
	EXPECT_OP(t, OP_LOOKUP, "{\"email\":\"a\"}", NULL, OUTCOME_PERMANENT,
		  "unexpected answer to the lookup: HTTP 200: null", NULL, { 200, "null" });
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", NULL, OUTCOME_OK, "HTTP 200: {\"errcode\":0}", "5",
		  { 200, "[{\"id\":5}]" }, { 200, "{\"errcode\":0}" });
	target_free(t);

	/* No lookup configured: an op needing {id} cannot go ahead; one that
	 * does not goes ahead without it. */
	t = target_new(conf_find_target(conf, "noid"), NULL);
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", NULL, OUTCOME_PERMANENT,
		  "update needs the member's id at the target ({id} in its url), which membersync does not know: "
		  "configure `lookup` so the id can be found",
		  NULL);
	EXPECT_OP(t, OP_UPDATE, "{\"email\":\"a\"}", "u-1", OUTCOME_OK, "HTTP 200", "u-1", { 200, "" });
	it = op_item(OP_DELETE, "a@x", NULL, NULL);
	CU_ASSERT_EQUAL(fixture_step(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/users/by-email/a%40x");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(fixture_step(t, &it, 204, "", -1, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_PTR_NULL(o.remote_id);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* Every diagnostic loading `targets` gives, one per line, the temp dir
 * shown as "D". *rc is conf_load's result. */
static char *load_diags(const char *targets, int *rc)
{
	char *text = xasprintf("source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\ntargets = (\n%s\n);\n", targets);
	char *path = unit_write(dir, "bad.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	struct sbuf sb;
	*rc = conf_load(path, &c, d);
	sbuf_init(&sb);
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->items[i]);
		const char *rest = strncmp(line, dir, strlen(dir)) == 0 ? line + strlen(dir) : line;
		sbuf_addf(&sb, "D%s\n", rest);
		free(line);
	}
	conf_free(c);
	diag_free(d);
	free(path);
	free(text);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

#define REST_HEAD \
	" { name = \"x\"; driver = \"rest\"; url = \"http://h/u\"; key = \"k\"; map = { k = \"${uid}\"; };\n"

#define EXPECT_DIAGS(targets, rc_, diags)                                                        \
	do {                                                                                     \
		int rc__;                                                                        \
		char *got_ = load_diags((targets), &rc__);                                       \
		if (strcmp(got_, (diags)) != 0)                                                  \
			fprintf(stderr, "\n  line %d got:\n%s  expected:\n%s", __LINE__, got_, (diags)); \
		CU_ASSERT_STRING_EQUAL(got_, (diags));                                           \
		CU_ASSERT_EQUAL(rc__, (rc_));                                                    \
		free(got_);                                                                      \
	} while (0)

static void test_rest_op_config_errors(void)
{
	setup();
	EXPECT_DIAGS(REST_HEAD "   update = { url = \"http://h/u/{uid}\"; };\n"
			       "   delete = { method = \"DELETE\"; };\n"
			       "   disable = { url = \"ftp://h/u/{id}\"; };\n"
			       "   enable = { url = \"http://h/u/{id\"; body = \"{active:true}\"; method = \"GET\"; };\n"
			       "   lookup = { url = \"http://h/u/{id}\"; id_pth = \"id\"; };\n"
			       " }",
		     -EINVAL,
		     "D/bad.conf:4: target x: update: url: unknown placeholder {uid} (an op's url knows {id} and {key})\n"
		     "D/bad.conf:6: target x: disable: url must start with http:// or https://\n"
		     "D/bad.conf:7: target x: enable: url: '{' without a closing '}'\n"
		     "D/bad.conf:7: target x: enable: method must be PUT, PATCH, POST or DELETE, not 'GET'\n"
		     "D/bad.conf:7: target x: enable: body is not valid JSON\n"
		     "D/bad.conf:5: target x: delete: required key 'url' is missing\n"
		     "D/bad.conf:8: target x: lookup: unknown key 'id_pth' (did you mean 'id_path'?)\n"
		     "D/bad.conf:8: target x: lookup: url: {id} is what the lookup finds; look the member up by {key}\n"
		     "D/bad.conf:8: target x: lookup: a lookup needs id_path, found_path, or both: what in its answer "
		     "says the member is there\n");
	EXPECT_DIAGS(REST_HEAD "   update = { url = \"http://h/u/{id}\"; method = \"DELETE\"; body = \"{}\";\n"
			       "              rules = ( { status = 409; result = \"duplicate\"; } ); };\n"
			       "   lookup = { url = \"http://h/u?k={key}\"; found_path = \"items\"; method = \"GET\"; };\n"
			       "   rules = ( { status = 404; result = \"absent\"; } );\n"
			       " }",
		     -EINVAL,
		     "D/bad.conf:7: target x: rules[0]: result must be ok, duplicate, invalid, auth, throttled, "
		     "transient, permanent or quota, not 'absent'\n"
		     "D/bad.conf:4: target x: update: unknown key 'body'\n"
		     "D/bad.conf:4: target x: update: method must be PUT, PATCH or POST, not 'DELETE'\n"
		     "D/bad.conf:5: target x: update: rules[0]: result must be ok, absent, invalid, auth, throttled, "
		     "transient, permanent or quota, not 'duplicate'\n"
		     "D/bad.conf:6: target x: lookup: unknown key 'method'\n"
		     "D/bad.conf:6: target x: lookup: needs id_path: update's url uses {id}, which the lookup must "
		     "find\n");
	/* Loads, with a warning: no member's id is ever known. */
	EXPECT_DIAGS(REST_HEAD "   disable = { url = \"http://h/u/{id}\"; body = \"{\\\"active\\\":false}\"; };\n"
			       "   delete = { url = \"http://h/u/{key}\"; encoding = \"form\"; body = \"{not json\"; };\n"
			       " }",
		     0,
		     "D/bad.conf:4: warning: target x: disable: its url uses {id}, but with neither remote_id_path "
		     "nor lookup membersync never learns a member's id\n");
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rainbond request", test_rainbond_request },
		{ "rainbond answers", test_rainbond_answers },
		{ "rainbond adopts an existing member's id", test_rainbond_duplicate_adopts_id },
		{ "long bodies are cut", test_rainbond_long_body_cut },
		{ "rest statuses", test_rest_statuses },
		{ "rest rules, form encoding, URL template", test_rest_rules_form_template },
		{ "rainbond declares its ops", test_rainbond_ops_declared },
		{ "rainbond update", test_rainbond_update },
		{ "rainbond update answers", test_rainbond_update_answers },
		{ "rainbond disable, enable, delete", test_rainbond_disable_enable_delete },
		{ "rainbond lookup", test_rainbond_lookup },
		{ "rest ops from the config", test_rest_ops_declared },
		{ "rest op requests", test_rest_op_requests },
		{ "rest op answers", test_rest_op_answers },
		{ "rest lookup, and lookup first", test_rest_lookup_first },
		{ "rest op config errors", test_rest_op_config_errors },
		{ NULL, NULL },
	};
	return unit_run("drivers", tests);
}
