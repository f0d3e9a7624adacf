/* Drivers: the requests they build and how they read every kind of answer,
 * including hostile ones. */
#include "config.h"

#include "config/conf.h"
#include "unit.h"

static char *dir;
static struct conf *conf;

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "rb.key", "rb-raw-key\n", 0600));
	free(unit_write(dir, "rest.token", "rest-token", 0600));
	char *path = unit_write(dir, "m.conf",
				"source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\n"
				"targets = (\n"
				" { name = \"rb\"; driver = \"rainbond\"; url = \"http://127.0.0.1:9/console/\";\n"
				"   auth = { key_file = \"rb.key\"; };\n"
				"   map = { nick_name = \"${uid}\"; email = \"${mail}\"; password = \"x\";"
				" enterprise_id = \"e\"; }; },\n"
				" { name = \"api\"; driver = \"rest\"; url = \"http://127.0.0.1:9/rest/members\";\n"
				"   key = \"email\"; remote_id_field = \"id\"; success_status = [201];\n"
				"   duplicate_status = [409, 400];\n"
				"   auth = { key_file = \"rest.token\"; };\n"
				"   map = { email = \"${mail}\"; }; }\n"
				");\n",
				0644);
	struct diag *d = diag_new();
	int r = conf_load(path, &conf, d);
	diag_print(d, stderr);
	diag_free(d);
	free(path);
	CU_ASSERT_EQUAL_FATAL(r, 0);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

static bool has_header(const struct http_request *req, const char *h)
{
	for (const struct curl_slist *l = req->headers; l; l = l->next)
		if (strcmp(l->data, h) == 0)
			return true;
	return false;
}

static void test_rainbond_request(void)
{
	setup();
	const struct conf_target *t = conf_find_target(conf, "rb");
	struct http_request req;
	http_request_init(&req, "GET", NULL);
	t->driver->build_add(t, "{\"nick_name\":\"a\"}", &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/console/openapi/v1/users");
	/* Rainbond wants the raw key, not "Bearer <key>". */
	CU_ASSERT(has_header(&req, "Authorization: rb-raw-key"));
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"nick_name\":\"a\"}");
	CU_ASSERT_EQUAL(req.body_len, 17);
	http_request_clear(&req);
	teardown();
}

static struct outcome classify(const char *target, long status, const char *body)
{
	const struct conf_target *t = conf_find_target(conf, target);
	struct http_response resp = { .status = status, .retry_after = -1 };
	if (status == 0)
		resp.error = "Connection refused";
	resp.body = (char *)(body ? body : "");
	resp.body_len = body ? strlen(body) : 0;
	struct outcome o = { .retry_after = -1 };
	t->driver->classify_add(t, &resp, &o);
	return o;
}

#define EXPECT_OUTCOME(target, status, body, kind_, reason_)                                \
	do {                                                                                \
		struct outcome o_ = classify((target), (status), (body));                   \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                          \
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                        \
			fprintf(stderr, "\n  reason: %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));              \
		outcome_clear(&o_);                                                         \
	} while (0)

static void test_rainbond_answers(void)
{
	setup();
	EXPECT_OUTCOME("rb", 201, "", OUTCOME_OK, "created");
	EXPECT_OUTCOME("rb", 409, "{\"code\":409,\"msg\":\"username already exists\",\"msg_show\":\"用户名已存在\"}",
		       OUTCOME_DUPLICATE, "already at Rainbond: username already exists");
	EXPECT_OUTCOME("rb", 400, "{\"code\":400,\"msg\":\"email already exists\",\"msg_show\":\"邮箱已存在\"}",
		       OUTCOME_DUPLICATE, "already at Rainbond: email already exists");
	EXPECT_OUTCOME("rb", 400, "{\"detail\":\"参数错误\",\"err\":{\"nick_name\":[\"too long\"]},\"code\":20400}",
		       OUTCOME_INVALID, "rejected by Rainbond: {\"nick_name\":[\"too long\"]}");
	EXPECT_OUTCOME("rb", 401, "{\"code\":401,\"msg\":\"invalid access key\"}", OUTCOME_AUTH,
		       "HTTP 401: {\"code\":401,\"msg\":\"invalid access key\"}");
	EXPECT_OUTCOME("rb", 429, "", OUTCOME_THROTTLED, "HTTP 429 with an empty body");
	EXPECT_OUTCOME("rb", 500, "<h1>Server Error (500)</h1>", OUTCOME_TRANSIENT,
		       "HTTP 500: <h1>Server Error (500)</h1> (Rainbond answers 500 when the phone number already "
		       "belongs to another user)");
	EXPECT_OUTCOME("rb", 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	EXPECT_OUTCOME("rb", 302, "", OUTCOME_PERMANENT, "unexpected answer from Rainbond: HTTP 302 with an empty body");
	/* Hostile bodies: not JSON, wrong types, control characters. */
	EXPECT_OUTCOME("rb", 400, "{not json", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: {not json");
	EXPECT_OUTCOME("rb", 400, "{\"msg\":[1,2]}", OUTCOME_INVALID, "rejected by Rainbond: HTTP 400: {\"msg\":[1,2]}");
	EXPECT_OUTCOME("rb", 409, "[]", OUTCOME_DUPLICATE, "already at Rainbond: HTTP 409");
	EXPECT_OUTCOME("rb", 404, "line1\nline2\x01", OUTCOME_INVALID,
		       "rejected by Rainbond: HTTP 404: line1\\x0aline2\\x01");
	teardown();
}

static void test_rainbond_long_body_cut(void)
{
	setup();
	char body[5000];
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct outcome o = classify("rb", 418, body);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (4999 bytes)"));
	outcome_clear(&o);
	teardown();
}

static void test_rest(void)
{
	setup();
	const struct conf_target *t = conf_find_target(conf, "api");
	struct http_request req;
	http_request_init(&req, "GET", NULL);
	t->driver->build_add(t, "{\"email\":\"a@x\"}", &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/rest/members");
	CU_ASSERT(has_header(&req, "Authorization: Bearer rest-token"));
	http_request_clear(&req);

	struct outcome o = classify("api", 201, "{\"id\":\"m-7\",\"email\":\"a@x\"}");
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "m-7");
	outcome_clear(&o);
	o = classify("api", 409, "{\"error\":\"already exists\",\"id\":\"m-3\"}");
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "m-3");
	outcome_clear(&o);
	/* A configured duplicate status wins over "4xx = invalid". */
	o = classify("api", 400, "{\"id\":42}");
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "42");
	outcome_clear(&o);
	/* 200 is not in this target's success list. */
	EXPECT_OUTCOME("api", 200, "{}", OUTCOME_PERMANENT, "unexpected answer: HTTP 200: {}");
	EXPECT_OUTCOME("api", 422, "{\"error\":\"email is required\"}", OUTCOME_INVALID,
		       "rejected: HTTP 422: {\"error\":\"email is required\"}");
	EXPECT_OUTCOME("api", 503, "busy", OUTCOME_TRANSIENT, "HTTP 503: busy");
	o = classify("api", 201, "{\"id\":{\"nested\":true}}");
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_PTR_NULL(o.remote_id);
	outcome_clear(&o);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rainbond request", test_rainbond_request },
		{ "rainbond answers", test_rainbond_answers },
		{ "long bodies are cut", test_rainbond_long_body_cut },
		{ "rest", test_rest },
		{ NULL, NULL },
	};
	return unit_run("drivers", tests);
}
