/* Drivers: the requests they build, how they read every kind of answer
 * (including hostile ones), and the auth providers' headers. */
#include "config.h"

#include "config/conf.h"
#include "targets/target.h"
#include "driver_fixture.h"
#include "unit.h"

static char *dir;
static struct conf *conf;

static const char *const conf_text =
	"source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\n"
	"targets = (\n"
	" { name = \"rb\"; driver = \"rainbond\"; url = \"http://127.0.0.1:9/console/\";\n"
	"   auth = { key_file = \"rb.key\"; };\n"
	"   map = { nick_name = \"${uid}\"; email = \"${mail}\"; password = \"${random_password(12)}\";"
	" enterprise_id = \"e\"; }; },\n"
	" { name = \"api\"; driver = \"rest\"; url = \"http://127.0.0.1:9/rest/members\";\n"
	"   key = \"email\"; remote_id_path = \"data.id\"; success_status = [201];\n"
	"   duplicate_status = [409, 400];\n"
	"   auth = { key_file = \"rest.token\"; };\n"
	"   map = { email = \"${mail}\"; }; },\n"
	" { name = \"ding\"; driver = \"rest\"; url = \"http://127.0.0.1:9/user/{email}?x=1\"; method = \"PUT\";\n"
	"   key = \"email\"; encoding = \"form\"; remote_id_path = \"result.userid\";\n"
	"   auth = { type = \"query\"; key_file = \"rest.token\"; param = \"access_token\"; };\n"
	"   secret_fields = [\"pw\"];\n"
	"   rules = (\n"
	"     { field = \"errcode\"; equals = 0; result = \"ok\"; },\n"
	"     { field = \"errcode\"; equals = [60102, 60104]; result = \"duplicate\"; message = \"errmsg\"; },\n"
	"     { field = \"errcode\"; equals = 90018; result = \"throttled\"; retry_after = \"wait\"; },\n"
	"     { status = 200; field = \"errmsg\"; contains = \"quota\"; result = \"quota\"; }\n"
	"   );\n"
	"   map = { email = \"${mail}\"; dept = \"${ou[*]}\"; pw = \"${random_password(10)}\"; }; }\n"
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
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                        \
			fprintf(stderr, "\n  reason: %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));              \
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

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rainbond request", test_rainbond_request },
		{ "rainbond answers", test_rainbond_answers },
		{ "rainbond adopts an existing member's id", test_rainbond_duplicate_adopts_id },
		{ "long bodies are cut", test_rainbond_long_body_cut },
		{ "rest statuses", test_rest_statuses },
		{ "rest rules, form encoding, URL template", test_rest_rules_form_template },
		{ NULL, NULL },
	};
	return unit_run("drivers", tests);
}
