/* The DingTalk driver and its auth provider: the requests they build, how
 * every errcode and hostile body is read, the lookup that adopts an
 * existing member's userid, the field schema through the real mapping,
 * and the token flow (fetch, cache, margin, refresh, refusal). */
#include "config.h"

#include "config/conf.h"
#include "mapping/mapping.h"
#include "targets/target.h"
#include "util/xalloc.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"

#include <errno.h>

static char *dir;
static struct conf *conf;

#define APPKEY "ding key+1"
#define APPSECRET "s3cr/t=&x?"
#define NOW 1700000000

/* Every field mapped from the attribute of the same name, so a test
 * entry can set any of them. */
static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	" { name = \"dt\"; driver = \"dingtalk\"; url = \"http://127.0.0.1:9/dt/\";\n"
	"   auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\"; };\n"
	"   map = { name = \"${name}\"; mobile = \"${mobile}\"; dept_id_list = \"${dept_id_list}\";\n"
	"     userid = \"${userid}\"; hired_date = \"${hired_date}\"; title = \"${title}\"; email = \"${email}\";\n"
	"     org_email = \"${org_email}\"; org_email_type = \"${org_email_type}\"; job_number = \"${job_number}\";\n"
	"     telephone = \"${telephone}\"; work_place = \"${work_place}\"; remark = \"${remark}\";\n"
	"     manager_userid = \"${manager_userid}\"; senior_mode = \"${senior_mode}\";\n"
	"     exclusive_account = \"${exclusive_account}\"; exclusive_account_type = \"${exclusive_account_type}\";\n"
	"     login_id = \"${login_id}\"; init_password = \"${init_password}\";\n"
	"     send_password_to_user = \"${send_password_to_user}\"; exclusive_mobile = \"${exclusive_mobile}\";\n"
	"     avatarMediaId = \"${avatarMediaId}\"; nickname = \"${nickname}\"; extension = \"${extension}\"; }; },\n"
	DRIVER_CONF_DINGTALK_CUSTOM ",\n"
	DRIVER_CONF_DINGTALK_MAIL "\n"
	");\n";

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "dt.appkey", APPKEY "\n", 0600));
	free(unit_write(dir, "dt.appsecret", APPSECRET, 0600));
	conf = fixture_load(dir, conf_text);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

/* One step (status < 0: the first call, no answer); req and out are left
 * as the driver filled them (caller clears). */
static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out, bool *creates)
{
	return fixture_step(t, it, status, body, -1, req, out, creates);
}

#define PAYLOAD "{\"name\":\"张三\",\"mobile\":\"13800000001\",\"dept_id_list\":\"2,3\",\"userid\":\"zhangsan\"}"

/* The answer to a create; expects the member to be finished. */
#define EXPECT_ANSWER(t, status, body, kind_, retry_, reason_)                                          \
	do {                                                                                            \
		struct push_item it_ = item("13800000001", PAYLOAD);                                    \
		struct http_request req_;                                                               \
		struct outcome o_;                                                                      \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, NULL), STEP_DONE);        \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                      \
		CU_ASSERT_EQUAL(o_.retry_after, (retry_));                                              \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                                  \
		http_request_clear(&req_);                                                              \
		outcome_clear(&o_);                                                                     \
		item_clear(&it_);                                                                       \
	} while (0)

/* The answer to a create that makes the member look itself up. */
#define EXPECT_LOOKUP(t, body)                                                                          \
	do {                                                                                            \
		struct push_item it_ = item("13800000001", PAYLOAD);                                    \
		struct http_request req_;                                                               \
		struct outcome o_;                                                                      \
		bool creates_ = true;                                                                   \
		CU_ASSERT_EQUAL(step((t), &it_, 200, (body), &req_, &o_, &creates_), STEP_SEND);        \
		CU_ASSERT_FALSE(creates_);                                                              \
		CU_ASSERT_STRING_EQUAL(req_.url, "http://127.0.0.1:9/dt/topapi/v2/user/getbymobile");   \
		http_request_clear(&req_);                                                              \
		outcome_clear(&o_);                                                                     \
		item_clear(&it_);                                                                       \
	} while (0)

static struct target *target(const char *name)
{
	return target_new(conf_find_target(conf, name), NULL);
}

/* ------------------------------------------------------------ requests */

static void test_request(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = item("13800000001", PAYLOAD);
	struct http_request req;
	struct outcome o;
	bool creates = false;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/dt/topapi/v2/user/create");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, PAYLOAD);
	CU_ASSERT_EQUAL(req.body_len, strlen(PAYLOAD));
	/* No token yet: the engine must fetch one first. */
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, NOW), -EAGAIN);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/dt/topapi/v2/user/create");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	const struct conf_target *c = conf_find_target(conf, "dt");
	CU_ASSERT_STRING_EQUAL(auth_type(c->auth), "dingtalk");
	CU_ASSERT_STRING_EQUAL(mapping_key_field(c->mapping), "mobile");
	CU_ASSERT_DOUBLE_EQUAL(c->rate_limit, 18.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(conf_find_target(conf, "custom")->rate_limit, 5.0, 1e-9);
	CU_ASSERT_STRING_EQUAL(mapping_key_field(conf_find_target(conf, "custom")->mapping), "userid");
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ answers */

static void test_answers_ok(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = item("13800000001", PAYLOAD);
	struct http_request req;
	struct outcome o;

	step(t, &it, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"result\":{\"userid\":\"zhangsan\",\"unionId\":\"u1\"},"
			  "\"request_id\":\"r\"}", &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "zhangsan");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A numeric userid is still an id. */
	step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":12345}}", &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "12345");
	http_request_clear(&req);
	outcome_clear(&o);
	/* Success without (or with a strange) result: created, no id. */
	static const char *const no_id[] = {
		"{\"errcode\":0}", "{\"errcode\":0,\"result\":[1]}", "{\"errcode\":0,\"result\":{\"userid\":{}}}",
		"{\"errcode\":0,\"result\":{\"userid\":\"\"}}", "{\"errcode\":\"0\",\"result\":null}",
	};
	for (size_t i = 0; i < sizeof(no_id) / sizeof(no_id[0]); i++) {
		step(t, &it, 200, no_id[i], &req, &o, NULL);
		CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
		CU_ASSERT_PTR_NULL(o.remote_id);
		http_request_clear(&req);
		outcome_clear(&o);
	}
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_answers_codes(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103,\"errmsg\":\"手机号码不合法\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60103: 手机号码不合法");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60105,\"errmsg\":\"邮箱不合法\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60105: 邮箱不合法");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60112,\"errmsg\":\"用户姓名不合法\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60112: 用户姓名不合法");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60113,\"errmsg\":\"手机号码和邮箱不能同时为空\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60113: 手机号码和邮箱不能同时为空");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60123,\"errmsg\":\"工号不合法\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60123: 工号不合法");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60003,\"errmsg\":\"部门不存在\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60003: 部门不存在");
	EXPECT_ANSWER(t, 200, "{\"errcode\":40035,\"errmsg\":\"缺少参数 dept_id_list\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 40035: 缺少参数 dept_id_list");
	EXPECT_ANSWER(t, 200, "{\"errcode\":-1,\"errmsg\":\"系统繁忙\"}", OUTCOME_TRANSIENT, -1,
		      "DingTalk errcode -1: 系统繁忙");
	EXPECT_ANSWER(t, 200, "{\"errcode\":40014,\"errmsg\":\"不合法的access_token\"}", OUTCOME_AUTH, -1,
		      "DingTalk errcode 40014: 不合法的access_token");
	EXPECT_ANSWER(t, 200, "{\"errcode\":42001,\"errmsg\":\"access_token超时\"}", OUTCOME_AUTH, -1,
		      "DingTalk errcode 42001: access_token超时");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60011,\"errmsg\":\"管理员权限不足\"}", OUTCOME_AUTH, -1,
		      "DingTalk errcode 60011: 管理员权限不足");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60020,\"errmsg\":\"访问ip不在白名单之中\"}", OUTCOME_AUTH, -1,
		      "DingTalk errcode 60020: 访问ip不在白名单之中");
	EXPECT_ANSWER(t, 200, "{\"errcode\":90002,\"errmsg\":\"qps\"}", OUTCOME_THROTTLED, 1,
		      "DingTalk errcode 90002: qps");
	EXPECT_ANSWER(t, 200, "{\"errcode\":90018,\"errmsg\":\"app qps\"}", OUTCOME_THROTTLED, 1,
		      "DingTalk errcode 90018: app qps");
	EXPECT_ANSWER(t, 200, "{\"errcode\":90019,\"errmsg\":\"qpm\"}", OUTCOME_THROTTLED, 1,
		      "DingTalk errcode 90019: qpm");
	/* The engine pauses until midnight when no time is given. */
	EXPECT_ANSWER(t, 200, "{\"errcode\":90020,\"errmsg\":\"月调用量超限\"}", OUTCOME_QUOTA, -1,
		      "DingTalk errcode 90020: 月调用量超限");
	EXPECT_ANSWER(t, 200, "{\"errcode\":12345,\"errmsg\":\"new\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk errcode 12345: new");
	/* errmsg missing or of the wrong type: the code is still read. */
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103}", OUTCOME_INVALID, -1, "DingTalk errcode 60103: ");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103,\"errmsg\":{\"a\":1}}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60103: ");
	/* Duplicates are not finished: the member is looked up. */
	EXPECT_LOOKUP(t, "{\"errcode\":60102,\"errmsg\":\"userid exists\"}");
	EXPECT_LOOKUP(t, "{\"errcode\":60104,\"errmsg\":\"mobile exists\"}");
	EXPECT_LOOKUP(t, "{\"errcode\":60106,\"errmsg\":\"email exists\"}");
	EXPECT_LOOKUP(t, "{\"errcode\":60107,\"errmsg\":\"mobile is a user\"}");
	EXPECT_LOOKUP(t, "{\"errcode\":88,\"sub_code\":\"60104\",\"sub_msg\":\"mobile exists\"}");
	target_free(t);
	teardown();
}

static void test_answers_subcode(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_ANSWER(t, 200,
		      "{\"errcode\":88,\"sub_code\":\"90018\",\"sub_msg\":\"限流\",\"errmsg\":\"ding talk error\"}",
		      OUTCOME_THROTTLED, 1, "DingTalk errcode 88, sub_code 90018: 限流");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":\"-1\",\"sub_msg\":\"系统繁忙\"}", OUTCOME_TRANSIENT, -1,
		      "DingTalk errcode 88, sub_code -1: 系统繁忙");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":60011,\"sub_msg\":\"没有调用该接口的权限\"}", OUTCOME_AUTH,
		      -1, "DingTalk errcode 88, sub_code 60011: 没有调用该接口的权限");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":\"90020\",\"sub_msg\":\"quota\"}", OUTCOME_QUOTA, -1,
		      "DingTalk errcode 88, sub_code 90020: quota");
	/* Anything else is a complaint about this payload. */
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":\"isv.invalid-parameter\",\"sub_msg\":\"参数错误\"}",
		      OUTCOME_INVALID, -1, "DingTalk errcode 88, sub_code isv.invalid-parameter: 参数错误");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":\"4000\",\"sub_msg\":\"unknown\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 88, sub_code 4000: unknown");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"errmsg\":\"鉴权异常\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 88: 鉴权异常");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":[],\"sub_msg\":7}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 88: 7");
	target_free(t);
	teardown();
}

static void test_answers_ban_and_http(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_ANSWER(t, 200, "{\"status\":1111,\"wait\":5,\"punish\":\"deny\"}", OUTCOME_THROTTLED, 5,
		      "DingTalk bans this address for 5 s (punish: deny)");
	/* Whatever status the gateway picks. */
	EXPECT_ANSWER(t, 403, "{\"status\":1111,\"wait\":\"7\",\"punish\":\"deny\"}", OUTCOME_THROTTLED, 7,
		      "DingTalk bans this address for 7 s (punish: deny)");
	EXPECT_ANSWER(t, 200, "{\"wait\":0}", OUTCOME_THROTTLED, 1, "DingTalk bans this address for 0 s (punish: unknown)");
	EXPECT_ANSWER(t, 200, "{\"wait\":99999999999}", OUTCOME_THROTTLED, 86400,
		      "DingTalk bans this address for 99999999999 s (punish: unknown)");
	EXPECT_ANSWER(t, 0, NULL, OUTCOME_TRANSIENT, -1, "no answer: Connection refused");
	EXPECT_ANSWER(t, 500, "oops", OUTCOME_TRANSIENT, -1, "HTTP 500: oops");
	EXPECT_ANSWER(t, 502, "{\"errcode\":0}", OUTCOME_TRANSIENT, -1, "HTTP 502: {\"errcode\":0}");
	EXPECT_ANSWER(t, 401, "", OUTCOME_AUTH, -1, "HTTP 401 with an empty body");
	EXPECT_ANSWER(t, 429, "", OUTCOME_THROTTLED, -1, "HTTP 429 with an empty body");
	EXPECT_ANSWER(t, 404, "{\"errcode\":404,\"errmsg\":\"请求的URI地址不存在\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 404: {\"errcode\":404,\"errmsg\":\"请求的URI地址不存在\"}");
	EXPECT_ANSWER(t, 302, "", OUTCOME_PERMANENT, -1, "unexpected answer from DingTalk: HTTP 302 with an empty body");

	/* A 503 with Retry-After is throttling; the wait is the server's. */
	struct push_item it = item("13800000001", PAYLOAD);
	struct http_request req;
	struct outcome o = { .retry_after = -1 };
	struct http_response resp = response(503, "busy");
	bool creates;
	resp.retry_after = 9;
	http_request_init(&req, "GET", NULL);
	CU_ASSERT_EQUAL(t->conf->driver->step(t, &it, &resp, &req, &creates, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_EQUAL(o.retry_after, 9);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_answers_hostile(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_ANSWER(t, 200, "", OUTCOME_PERMANENT, -1, "unexpected answer from DingTalk: HTTP 200 with an empty body");
	EXPECT_ANSWER(t, 200, "<html>gateway</html>", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: <html>gateway</html>");
	EXPECT_ANSWER(t, 200, "{\"errcode\":0", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":0");
	EXPECT_ANSWER(t, 200, "{\"errcode\":0} trailing", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":0} trailing");
	EXPECT_ANSWER(t, 200, "[0]", OUTCOME_PERMANENT, -1, "unexpected answer from DingTalk: HTTP 200: [0]");
	EXPECT_ANSWER(t, 200, "{\"errcode\":[0]}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":[0]}");
	EXPECT_ANSWER(t, 200, "{\"errcode\":0.5}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":0.5}");
	EXPECT_ANSWER(t, 200, "{\"errcode\":\"abc\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":\"abc\"}");
	EXPECT_ANSWER(t, 200, "{\"errcode\":99999999999999999999999}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":99999999999999999999999}");
	EXPECT_ANSWER(t, 200, "{\"errcode\":null}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"errcode\":null}");
	EXPECT_ANSWER(t, 200, "{\"status\":1111,\"wait\":\"soon\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk: HTTP 200: {\"status\":1111,\"wait\":\"soon\"}");
	/* Control characters and invalid UTF-8 in errmsg are escaped. */
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103,\"errmsg\":\"a\\nb\\u0001\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60103: a\\x0ab\\x01");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103,\"errmsg\":\"\xff\xfe\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 60103: \\xff\\xfe");

	/* Deep nesting is not parsed. */
	char deep[400];
	size_t n = 0;
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"errcode\":0,\"x\":");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	struct push_item it = item("13800000001", PAYLOAD);
	struct http_request req;
	struct outcome o;
	step(t, &it, 200, deep, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	http_request_clear(&req);
	outcome_clear(&o);

	/* Long bodies and long messages are cut. */
	size_t big = 200000;
	char *body = malloc(big + 64);
	memset(body, 'x', big);
	body[big] = '\0';
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (200000 bytes)"));
	http_request_clear(&req);
	outcome_clear(&o);
	n = (size_t)sprintf(body, "{\"errcode\":60112,\"errmsg\":\"");
	memset(body + n, 'y', big);
	strcpy(body + n + big, "\"}");
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (200000 bytes)"));
	http_request_clear(&req);
	outcome_clear(&o);
	free(body);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_custom_codes(void)
{
	setup();
	struct target *t = target("custom");
	/* Replaced lists: 60105 is no longer "invalid" here, 77777 is a
	 * duplicate, 90020 is in no list, and throttling has no fixed wait. */
	EXPECT_ANSWER(t, 200, "{\"errcode\":60105,\"errmsg\":\"e\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk errcode 60105: e");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60103,\"errmsg\":\"m\"}", OUTCOME_INVALID, -1, "DingTalk errcode 60103: m");
	EXPECT_ANSWER(t, 200, "{\"errcode\":90020,\"errmsg\":\"q\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk errcode 90020: q");
	EXPECT_ANSWER(t, 200, "{\"errcode\":90018,\"errmsg\":\"t\"}", OUTCOME_THROTTLED, -1, "DingTalk errcode 90018: t");

	struct push_item it = item("u1", "{\"name\":\"a\",\"mobile\":\"1\",\"dept_id_list\":\"1\",\"userid\":\"u1\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":77777}", &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/topapi/v2/user/getbymobile");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ lookup */

static void test_lookup(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = item("13800000001", PAYLOAD);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60104,\"errmsg\":\"mobile exists\"}", &req, &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/dt/topapi/v2/user/getbymobile");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"13800000001\"}");
	CU_ASSERT_PTR_NULL(o.reason);
	http_request_clear(&req);
	outcome_clear(&o);
	/* The lookup is retried as a lookup (same stage, request rebuilt). */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":-1,\"errmsg\":\"busy\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/dt/topapi/v2/user/getbymobile");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":42001,\"errmsg\":\"expired\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_AUTH);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"status\":1111,\"wait\":3}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_EQUAL(o.retry_after, 3);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 0, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	/* Found: the userid is adopted. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"legacy7\"}}", &req, &o, NULL),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "legacy7");
	CU_ASSERT_STRING_EQUAL(o.reason, "already at DingTalk as userid legacy7");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A repeated lookup replaces the id (no leak under the sanitizers). */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"legacy8\"}}", &req, &o, NULL),
			STEP_DONE);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "legacy8");
	http_request_clear(&req);
	outcome_clear(&o);
	/* Not found, or an answer we cannot read: the mobile is free, so what
	 * DingTalk found taken is another user's: invalid, not synced. */
	static const char *const unknown[] = {
		"{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", "{\"errcode\":0}", "{\"errcode\":0,\"result\":7}",
		"garbage", "{\"errcode\":90020}", "{\"errcode\":60103}",
	};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		CU_ASSERT_EQUAL(step(t, &it, 200, unknown[i], &req, &o, NULL), STEP_DONE);
		CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
		CU_ASSERT_EQUAL(o.retry_after, -1);
		CU_ASSERT_PTR_NULL(it.remote_id);
		CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "but no user has mobile"));
		http_request_clear(&req);
		outcome_clear(&o);
	}
	item_clear(&it);

	/* "userid exists" and nobody has the mobile: the payload's userid. */
	it = item("13800000001", PAYLOAD);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60102,\"errmsg\":\"userid exists\"}", &req, &o, NULL),
			STEP_SEND);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "zhangsan");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Exclusive accounts are only found when asked for. */
	it = item("13800000002", "{\"name\":\"a\",\"mobile\":\"+86-13800000002\",\"dept_id_list\":\"1\","
				 "\"exclusive_account\":true}");
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60104}", &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"+86-13800000002\",\"support_exclusive_account_search\":true}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ other ops */

#define DT_URL "http://127.0.0.1:9/dt/topapi/v2/user/"


/* Sends op for a member stored as userid u1 and reads the answer; the
 * request must go to DT_URL path_ and never create. */
#define EXPECT_OP(t, op_, path_, status, body, kind_, retry_, reason_)                                     \
	do {                                                                                               \
		struct push_item it_ = op_item((op_), "13800000001", PAYLOAD, "u1");                       \
		struct http_request req_;                                                                  \
		struct outcome o_;                                                                         \
		bool creates_ = true;                                                                      \
		CU_ASSERT_EQUAL(step((t), &it_, -1, NULL, &req_, &o_, &creates_), STEP_SEND);              \
		CU_ASSERT_FALSE(creates_);                                                                 \
		CU_ASSERT_STRING_EQUAL(req_.url, DT_URL path_);                                            \
		http_request_clear(&req_);                                                                 \
		outcome_clear(&o_);                                                                        \
		creates_ = true;                                                                           \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, &creates_), STEP_DONE);      \
		CU_ASSERT_FALSE(creates_);                                                                 \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                         \
		CU_ASSERT_EQUAL(o_.retry_after, (retry_));                                                 \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                                     \
		http_request_clear(&req_);                                                                 \
		outcome_clear(&o_);                                                                        \
		item_clear(&it_);                                                                          \
	} while (0)

static void test_ops_declared(void)
{
	setup();
	const struct conf_target *c = conf_find_target(conf, "dt");
	unsigned ops = driver_ops(c->driver, c->driver_conf);
	CU_ASSERT_EQUAL(ops, OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP));
	/* An interrupted create must be looked up, not sent again. */
	CU_ASSERT_FALSE(c->driver->idempotent_add);

	/* DingTalk cannot deactivate: asked anyway, nothing is sent. */
	struct target *t = target("dt");
	static const enum push_op no[] = { OP_DISABLE, OP_ENABLE };
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct push_item it = op_item(no[i], "13800000001", PAYLOAD, "u1");
		struct http_request req;
		struct outcome o;
		bool creates = true;
		CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
		CU_ASSERT_FALSE(creates);
		CU_ASSERT_PTR_NULL(req.url);
		CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}
	target_free(t);
	teardown();
}

/* Every field of the schema, with a userid stored that is not the
 * payload's. */
#define FULL_PAYLOAD                                                                                             \
	"{\"name\":\"张三\",\"mobile\":\"13800000001\",\"dept_id_list\":\"2,3\",\"userid\":\"zhangsan\","              \
	"\"hired_date\":1600000000000,\"title\":\"T\",\"email\":\"a@x.cn\",\"org_email\":\"b@x.cn\","                \
	"\"org_email_type\":\"profession\",\"job_number\":\"J1\",\"telephone\":\"010\",\"work_place\":\"W\","        \
	"\"remark\":\"R\",\"manager_userid\":\"boss\",\"senior_mode\":false,\"exclusive_account\":true,"             \
	"\"exclusive_account_type\":\"dingtalk\",\"login_id\":\"zs\",\"init_password\":\"Secret123x\","             \
	"\"send_password_to_user\":true,\"exclusive_mobile\":\"13900000000\",\"avatarMediaId\":\"m1\","             \
	"\"nickname\":\"zs\",\"extension\":\"{\\\"a\\\":1}\"}"

static void test_update_request(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = op_item(OP_UPDATE, "13800000001", FULL_PAYLOAD, "legacy7");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "update");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	/* Named by the stored userid; no secret and nothing only a create
	 * sets (userid, exclusive_account, its type, login_id,
	 * send_password_to_user). */
	CU_ASSERT_STRING_EQUAL(req.body,
			       "{\"userid\":\"legacy7\",\"name\":\"张三\",\"mobile\":\"13800000001\",\"dept_id_list\":\"2,3\","
			       "\"hired_date\":1600000000000,\"title\":\"T\",\"email\":\"a@x.cn\",\"org_email\":\"b@x.cn\","
			       "\"org_email_type\":\"profession\",\"job_number\":\"J1\",\"telephone\":\"010\","
			       "\"work_place\":\"W\",\"remark\":\"R\",\"manager_userid\":\"boss\",\"senior_mode\":false,"
			       "\"exclusive_mobile\":\"13900000000\",\"avatarMediaId\":\"m1\",\"nickname\":\"zs\","
			       "\"extension\":\"{\\\"a\\\":1}\"}");
	CU_ASSERT_PTR_NULL(strstr(req.body, "Secret123x"));
	CU_ASSERT_PTR_NULL(strstr(req.body, "password"));
	CU_ASSERT_PTR_NULL(strstr(req.body, "zhangsan"));
	CU_ASSERT_EQUAL(req.body_len, strlen(req.body));
	/* No token yet: the engine fetches one, as for a create. */
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, NOW), -EAGAIN);
	http_request_clear(&req);
	outcome_clear(&o);

	/* A retry builds the same request again. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":-1,\"errmsg\":\"busy\"}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "update");
	CU_ASSERT_PTR_NOT_NULL(strstr(req.body, "{\"userid\":\"legacy7\",\"name\":"));
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"errmsg\":\"ok\",\"result\":{},\"request_id\":\"r\"}", &req,
			     &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "updated userid legacy7");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "legacy7");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_update_answers(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", OUTCOME_OK, -1, "updated userid u1");
	/* Deleted at DingTalk meanwhile: absent, the engine adds it again. */
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", OUTCOME_ABSENT, -1,
		  "DingTalk errcode 60121: 找不到该用户");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":88,\"sub_code\":\"60121\",\"sub_msg\":\"找不到该用户\"}",
		  OUTCOME_ABSENT, -1, "DingTalk errcode 88, sub_code 60121: 找不到该用户");
	/* Validation errors skip the payload until it changes. */
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":60103,\"errmsg\":\"手机号码不合法\"}", OUTCOME_INVALID, -1,
		  "DingTalk errcode 60103: 手机号码不合法");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":60112,\"errmsg\":\"用户姓名不合法\"}", OUTCOME_INVALID, -1,
		  "DingTalk errcode 60112: 用户姓名不合法");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":40035,\"errmsg\":\"不合法的参数\"}", OUTCOME_INVALID, -1,
		  "DingTalk errcode 40035: 不合法的参数");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":88,\"sub_code\":\"isv.invalid-parameter\",\"sub_msg\":\"x\"}",
		  OUTCOME_INVALID, -1, "DingTalk errcode 88, sub_code isv.invalid-parameter: x");
	/* The new mobile or email is another user's: not "synced". */
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":60104,\"errmsg\":\"手机号码在公司中已存在\"}",
		  OUTCOME_INVALID, -1, "DingTalk errcode 60104: 手机号码在公司中已存在");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":60106,\"errmsg\":\"邮箱在公司中已存在\"}", OUTCOME_INVALID,
		  -1, "DingTalk errcode 60106: 邮箱在公司中已存在");
	/* Tokens, throttling, quota, busy, as for a create. */
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":40014,\"errmsg\":\"不合法的access_token\"}", OUTCOME_AUTH, -1,
		  "DingTalk errcode 40014: 不合法的access_token");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":42001,\"errmsg\":\"access_token超时\"}", OUTCOME_AUTH, -1,
		  "DingTalk errcode 42001: access_token超时");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":90018,\"errmsg\":\"app qps\"}", OUTCOME_THROTTLED, 1,
		  "DingTalk errcode 90018: app qps");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":90020,\"errmsg\":\"quota\"}", OUTCOME_QUOTA, -1,
		  "DingTalk errcode 90020: quota");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":-1,\"errmsg\":\"系统繁忙\"}", OUTCOME_TRANSIENT, -1,
		  "DingTalk errcode -1: 系统繁忙");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"status\":1111,\"wait\":6,\"punish\":\"deny\"}", OUTCOME_THROTTLED, 6,
		  "DingTalk bans this address for 6 s (punish: deny)");
	EXPECT_OP(t, OP_UPDATE, "update", 0, NULL, OUTCOME_TRANSIENT, -1, "no answer: Connection refused");
	EXPECT_OP(t, OP_UPDATE, "update", 500, "oops", OUTCOME_TRANSIENT, -1, "HTTP 500: oops");
	EXPECT_OP(t, OP_UPDATE, "update", 429, "", OUTCOME_THROTTLED, -1, "HTTP 429 with an empty body");
	EXPECT_OP(t, OP_UPDATE, "update", 401, "", OUTCOME_AUTH, -1, "HTTP 401 with an empty body");
	/* A 404 is the endpoint's, not the member's: DingTalk names members
	 * in the body. */
	EXPECT_OP(t, OP_UPDATE, "update", 404, "{\"errcode\":404,\"errmsg\":\"请求的URI地址不存在\"}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 404: {\"errcode\":404,\"errmsg\":\"请求的URI地址不存在\"}");
	/* Malformed answers and wrong types. */
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":0", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200: {\"errcode\":0");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "<html>gw</html>", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200: <html>gw</html>");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":[0]}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200: {\"errcode\":[0]}");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":\"abc\"}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200: {\"errcode\":\"abc\"}");
	EXPECT_OP(t, OP_UPDATE, "update", 200, "{\"errcode\":12345,\"errmsg\":\"new\"}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk errcode 12345: new");
	target_free(t);
	teardown();
}

static void test_delete(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = op_item(OP_DELETE, "13800000001", NULL, "u1");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* No payload needed: the stored userid names the member. */
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "delete");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userid\":\"u1\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* With a payload too: nothing of it is sent. */
	it = op_item(OP_DELETE, "13800000001", FULL_PAYLOAD, "u1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userid\":\"u1\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", OUTCOME_OK, -1, "deleted userid u1");
	/* Gone already: done. */
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", OUTCOME_ABSENT, -1,
		  "DingTalk errcode 60121: 找不到该用户");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":60104,\"errmsg\":\"x\"}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk errcode 60104: x");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":40035,\"errmsg\":\"缺少参数 userid\"}", OUTCOME_INVALID, -1,
		  "DingTalk errcode 40035: 缺少参数 userid");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":60011,\"errmsg\":\"管理员权限不足\"}", OUTCOME_AUTH, -1,
		  "DingTalk errcode 60011: 管理员权限不足");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":90019,\"errmsg\":\"qpm\"}", OUTCOME_THROTTLED, 1,
		  "DingTalk errcode 90019: qpm");
	EXPECT_OP(t, OP_DELETE, "delete", 503, "busy", OUTCOME_TRANSIENT, -1, "HTTP 503: busy");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200 with an empty body");
	EXPECT_OP(t, OP_DELETE, "delete", 200, "{\"errcode\":null}", OUTCOME_PERMANENT, -1,
		  "unexpected answer from DingTalk: HTTP 200: {\"errcode\":null}");
	target_free(t);
	teardown();
}

/* Without a stored userid, update and delete find it by mobile first. */
static void test_find_first(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = op_item(OP_UPDATE, "13800000001", PAYLOAD, NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "getbymobile");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"13800000001\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	/* Trouble on the way is retried as a lookup. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":90018,\"errmsg\":\"qps\"}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_PTR_NULL(it.remote_id);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "getbymobile");
	http_request_clear(&req);
	outcome_clear(&o);
	/* Found: the update follows at once, with that userid. */
	creates = true;
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"found9\"}}", &req, &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "found9");
	CU_ASSERT_PTR_NULL(o.reason);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "update");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userid\":\"found9\",\"name\":\"张三\",\"mobile\":\"13800000001\","
					 "\"dept_id_list\":\"2,3\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A retry of the update does not look up again. */
	CU_ASSERT_EQUAL(step(t, &it, 500, "x", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "update");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "found9");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Nobody has the mobile: absent, nothing updated. */
	it = op_item(OP_UPDATE, "13800000001", PAYLOAD, NULL);
	step(t, &it, -1, NULL, &req, &o, NULL);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "no user at DingTalk has mobile 13800000001 (DingTalk errcode 60121: 找不到该用户)");
	CU_ASSERT_PTR_NULL(it.remote_id);
	CU_ASSERT_PTR_NULL(req.url);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* A delete of an entry gone from the directory: the key is the
	 * mobile. */
	it = op_item(OP_DELETE, "+86-13800000002", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "getbymobile");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"+86-13800000002\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"d2\"}}", &req, &o, &creates),
			STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "delete");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userid\":\"d2\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Answers to the lookup that find no one to change. */
	static const struct {
		const char *body;
		enum outcome_kind kind;
	} finds[] = {
		{ "{\"errcode\":0}", OUTCOME_PERMANENT },
		{ "{\"errcode\":0,\"result\":{\"userid\":\"\"}}", OUTCOME_PERMANENT },
		{ "{\"errcode\":0,\"result\":{\"userid\":[\"x\"]}}", OUTCOME_PERMANENT },
		{ "{\"errcode\":60104,\"errmsg\":\"x\"}", OUTCOME_PERMANENT },
		{ "{\"errcode\":60103,\"errmsg\":\"手机号码不合法\"}", OUTCOME_INVALID },
		{ "{\"errcode\":40014}", OUTCOME_AUTH },
		{ "{\"errcode\":-1}", OUTCOME_TRANSIENT },
		{ "not json", OUTCOME_PERMANENT },
	};
	for (size_t i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		it = op_item(OP_DELETE, "13800000001", PAYLOAD, NULL);
		step(t, &it, -1, NULL, &req, &o, NULL);
		http_request_clear(&req);
		outcome_clear(&o);
		CU_ASSERT_EQUAL(step(t, &it, 200, finds[i].body, &req, &o, NULL), STEP_DONE);
		CU_ASSERT_EQUAL(o.kind, finds[i].kind);
		CU_ASSERT_PTR_NULL(it.remote_id);
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}
	target_free(t);

	/* Keyed by userid: the key names the member, no lookup. */
	t = target("custom");
	it = op_item(OP_DELETE, "u77", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/topapi/v2/user/delete");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userid\":\"u77\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);

	/* Keyed by email, no payload, no userid: nothing to go by. */
	t = target("mail");
	it = op_item(OP_DELETE, "a@x.cn", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_PTR_NULL(req.url);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "no userid stored for this member and no mobile to find it at DingTalk by");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	/* With a payload, its mobile. */
	it = op_item(OP_UPDATE, "a@x.cn", "{\"name\":\"a\",\"mobile\":\"13800000003\",\"dept_id_list\":\"1\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"13800000003\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	/* This target's absent_codes. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":60999,\"errmsg\":\"gone\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* OP_LOOKUP: an interrupted create; is the member there? */
static void test_op_lookup(void)
{
	setup();
	struct target *t = target("dt");
	struct push_item it = op_item(OP_LOOKUP, "13800000001", PAYLOAD, NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "getbymobile");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"13800000001\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	creates = true;
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"userid\":\"zhangsan\",\"exclusive_account_userid_"
					  "list\":[]}}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "zhangsan");
	CU_ASSERT_STRING_EQUAL(it.remote_id, "zhangsan");
	CU_ASSERT_STRING_EQUAL(o.reason, "at DingTalk as userid zhangsan");
	CU_ASSERT_PTR_NULL(req.url);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Each answer: found, absent, or trouble; never a create. */
	static const struct {
		const char *body;
		long status;
		enum outcome_kind kind;
		const char *id;
	} answers[] = {
		{ "{\"errcode\":0,\"result\":{\"userid\":12345}}", 200, OUTCOME_OK, "12345" },
		{ "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", 200, OUTCOME_ABSENT, NULL },
		{ "{\"errcode\":88,\"sub_code\":\"60121\"}", 200, OUTCOME_ABSENT, NULL },
		{ "{\"errcode\":0,\"result\":null}", 200, OUTCOME_PERMANENT, NULL },
		{ "{\"errcode\":0,\"result\":{\"userid\":\"\",\"exclusive_account_userid_list\":[\"a\",\"b\"]}}", 200,
		  OUTCOME_PERMANENT, NULL },
		{ "{\"errcode\":60104}", 200, OUTCOME_PERMANENT, NULL },
		{ "{\"errcode\":60103,\"errmsg\":\"bad mobile\"}", 200, OUTCOME_INVALID, NULL },
		{ "{\"errcode\":42001}", 200, OUTCOME_AUTH, NULL },
		{ "{\"errcode\":90002}", 200, OUTCOME_THROTTLED, NULL },
		{ "{\"errcode\":90020}", 200, OUTCOME_QUOTA, NULL },
		{ "{\"errcode\":-1}", 200, OUTCOME_TRANSIENT, NULL },
		{ "{\"wait\":2}", 200, OUTCOME_THROTTLED, NULL },
		{ "", 0, OUTCOME_TRANSIENT, NULL },
		{ "", 502, OUTCOME_TRANSIENT, NULL },
		{ "", 429, OUTCOME_THROTTLED, NULL },
		{ "", 403, OUTCOME_AUTH, NULL },
		{ "{\"errcode\":0", 200, OUTCOME_PERMANENT, NULL },
		{ "{\"errcode\":true}", 200, OUTCOME_PERMANENT, NULL },
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		it = op_item(OP_LOOKUP, "13800000001", PAYLOAD, NULL);
		step(t, &it, -1, NULL, &req, &o, NULL);
		http_request_clear(&req);
		outcome_clear(&o);
		creates = true;
		CU_ASSERT_EQUAL(step(t, &it, answers[i].status, answers[i].body, &req, &o, &creates), STEP_DONE);
		CU_ASSERT_FALSE(creates);
		CU_ASSERT_PTR_NULL(req.url);
		if (o.kind != answers[i].kind)
			fprintf(stderr, "\n  answer %zu: %s (%s)\n", i, outcome_kind_name(o.kind), o.reason);
		CU_ASSERT_EQUAL(o.kind, answers[i].kind);
		if (answers[i].id) {
			CU_ASSERT_STRING_EQUAL(o.remote_id ? o.remote_id : "", answers[i].id);
		} else {
			CU_ASSERT_PTR_NULL(o.remote_id);
		}
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}

	/* An exclusive account is searched for, and found in its list. */
	it = op_item(OP_LOOKUP, "13800000002",
		     "{\"name\":\"a\",\"mobile\":\"13800000002\",\"dept_id_list\":\"1\",\"exclusive_account\":true}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"mobile\":\"13800000002\",\"support_exclusive_account_search\":true}");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"errcode\":0,\"result\":{\"exclusive_account_userid_list\":[\"ex1\"]}}",
			     &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "ex1");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* A stored id does not stand in for the lookup. */
	it = op_item(OP_LOOKUP, "13800000001", PAYLOAD, "old");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, DT_URL "getbymobile");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	target_free(t);

	/* No mobile to go by (keyed by email). */
	t = target("mail");
	it = op_item(OP_LOOKUP, "a@x.cn", "{\"name\":\"a\",\"email\":\"a@x.cn\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_PTR_NULL(req.url);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);

	/* The add itself still reads 60121 as nothing it expects. */
	t = target("dt");
	EXPECT_ANSWER(t, 200, "{\"errcode\":60121,\"errmsg\":\"找不到该用户\"}", OUTCOME_PERMANENT, -1,
		      "unexpected answer from DingTalk errcode 60121: 找不到该用户");
	EXPECT_ANSWER(t, 200, "{\"errcode\":88,\"sub_code\":\"60121\",\"sub_msg\":\"找不到该用户\"}", OUTCOME_INVALID, -1,
		      "DingTalk errcode 88, sub_code 60121: 找不到该用户");
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ schema */

/* Applies the "dt" mapping to an entry with the given attribute/value
 * pairs (NULL-terminated); returns the reasons (NULL when valid) and
 * fills *payload with the JSON text when valid. Caller frees both. */
static char *map_entry(const char *const *kv, char **payload)
{
	const struct conf_target *c = conf_find_target(conf, "dt");
	struct entry *e = entry_new("uid=a,dc=x");
	struct mapped m = { 0 };
	char *reasons = NULL;

	for (size_t i = 0; kv[i]; i += 2)
		entry_add(e, kv[i], kv[i + 1]);
	*payload = NULL;
	if (mapping_apply(c->mapping, e, &m) == 0)
		*payload = xstrdup(json_object_to_json_string_ext(m.payload, JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		reasons = xstrdup(m.reasons);
	mapped_clear(&m);
	entry_free(e);
	return reasons;
}

#define BASE "name", "张三", "mobile", "13800000001", "dept_id_list", "2,3"

#define EXPECT_VALID(...)                                                                  \
	do {                                                                               \
		static const char *const kv_[] = { BASE, __VA_ARGS__, NULL };              \
		char *payload_, *r_ = map_entry(kv_, &payload_);                           \
		if (r_)                                                                    \
			fprintf(stderr, "\n  line %d: unexpected: %s\n", __LINE__, r_ ? r_ : "");    \
		CU_ASSERT_PTR_NULL(r_);                                                    \
		free(r_);                                                                  \
		free(payload_);                                                            \
	} while (0)

#define EXPECT_INVALID(reason, ...)                                                        \
	do {                                                                               \
		static const char *const kv_[] = { __VA_ARGS__, NULL };                    \
		char *payload_, *r_ = map_entry(kv_, &payload_);                           \
		if (!r_ || strcmp(r_, (reason)) != 0)                                      \
			fprintf(stderr, "\n  line %d: reasons: %s\n  expected: %s\n", __LINE__, r_ ? r_ : "(none)", (reason)); \
		CU_ASSERT_STRING_EQUAL(r_ ? r_ : "", (reason));                            \
		free(r_);                                                                  \
		free(payload_);                                                            \
	} while (0)

static void test_schema_valid(void)
{
	setup();
	static const char *const kv[] = { BASE, "hired_date", "1597573616828", "senior_mode", "true",
					  "org_email_type", "base", "exclusive_account", "yes",
					  "exclusive_account_type", "sso", "extension", "{\"Hobby\":\"Travel\"}",
					  "init_password", "abcd1234", NULL };
	char *payload, *r = map_entry(kv, &payload);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_STRING_EQUAL(payload ? payload : "",
			       "{\"name\":\"张三\",\"mobile\":\"13800000001\",\"dept_id_list\":\"2,3\","
			       "\"hired_date\":1597573616828,\"org_email_type\":\"base\",\"senior_mode\":true,"
			       "\"exclusive_account\":true,\"exclusive_account_type\":\"sso\","
			       "\"init_password\":\"abcd1234\",\"extension\":\"{\\\"Hobby\\\":\\\"Travel\\\"}\"}");
	free(r);
	free(payload);
	/* Lenient phone numbers, the longest values, 100 departments. */
	EXPECT_VALID("exclusive_mobile", "+86-134 1234 1234");
	EXPECT_VALID("userid", "0123456789012345678901234567890123456789012345678901234567890123");
	static char depts[400];
	size_t n = 0;
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(depts + n, sizeof(depts) - n, "%s%d", i > 1 ? "," : "", i);
	EXPECT_VALID("dept_id_list", depts);
	EXPECT_VALID("dept_id_list", "999999999999999999");
	EXPECT_VALID("init_password", "Pass-word");
	EXPECT_VALID("init_password", "密码密码密码密码");
	EXPECT_VALID("hired_date", "0");
	EXPECT_VALID("email", "a.b@example.org", "org_email", "x@corp.example.com", "org_email_type", "profession");
	EXPECT_VALID("exclusive_account_type", "dingtalk", "send_password_to_user", "0", "login_id", "zs",
		     "nickname", "San", "avatarMediaId", "@lALP", "manager_userid", "boss");
	EXPECT_VALID("extension", "  {\"a\":{\"b\":[1,2]}}  ");
	teardown();
}

static void test_schema_invalid(void)
{
	setup();
	EXPECT_INVALID("name: required, but the mapping gives no value; mobile: required, but the mapping gives no "
		       "value; dept_id_list: required, but the mapping gives no value",
		       "title", "x");
	char name[100];
	memset(name, 'n', 81);
	name[81] = '\0';
	const char *long_name[] = { "name", name, "mobile", "13800000001", "dept_id_list", "1", NULL };
	char *payload, *r = map_entry(long_name, &payload);
	/* The mapping quotes long values cut short. */
	CU_ASSERT_PTR_NOT_NULL(r && strstr(r, "name: value \"nnnn"));
	CU_ASSERT_PTR_NOT_NULL(r && strstr(r, "\"... (81 characters) is 81 characters long, the maximum is 80"));
	free(r);
	free(payload);

	EXPECT_INVALID("mobile: value \"call me\" does not match the required format (digits, optionally a leading "
		       "'+', '-' and spaces)",
		       "name", "a", "mobile", "call me", "dept_id_list", "1");
	EXPECT_INVALID("mobile: value \"86+1380\" does not match the required format (digits, optionally a leading "
		       "'+', '-' and spaces)",
		       "name", "a", "mobile", "86+1380", "dept_id_list", "1");
	EXPECT_INVALID("mobile: value \"+- \" does not match the required format (digits, optionally a leading "
		       "'+', '-' and spaces)",
		       "name", "a", "mobile", "+- ", "dept_id_list", "1");
	static const char *const bad_depts[] = { "2,", ",2", "2,,3", "0", "02", "2 ,3", "a", "-1", "1.5",
						 "9999999999999999999" };
	for (size_t i = 0; i < sizeof(bad_depts) / sizeof(bad_depts[0]); i++) {
		const char *kv[] = { "name", "a", "mobile", "1", "dept_id_list", bad_depts[i], NULL };
		char reason[300];
		snprintf(reason, sizeof(reason),
			 "dept_id_list: value \"%s\" does not match the required format (1 to 100 positive department "
			 "ids separated by commas, such as \"2,3,4\")", bad_depts[i]);
		r = map_entry(kv, &payload);
		if (!r || strcmp(r, reason) != 0)
			fprintf(stderr, "\n  dept %s: %s\n", bad_depts[i], r ? r : "(none)");
		CU_ASSERT_STRING_EQUAL(r ? r : "", reason);
		free(r);
		free(payload);
	}
	static char depts[400];
	size_t n = 0;
	for (int i = 1; i <= 101; i++)
		n += (size_t)snprintf(depts + n, sizeof(depts) - n, "%s%d", i > 1 ? "," : "", i);
	const char *kv101[] = { "name", "a", "mobile", "1", "dept_id_list", depts, NULL };
	r = map_entry(kv101, &payload);
	CU_ASSERT_PTR_NOT_NULL(r && strstr(r, "dept_id_list: value \"1,2,3,"));
	free(r);
	free(payload);

	EXPECT_INVALID("hired_date: value -1 is out of range (0 to 9223372036854775807)", BASE, "hired_date", "-1");
	EXPECT_INVALID("hired_date: value \"2020-01-01\" is not an integer", BASE, "hired_date", "2020-01-01");
	EXPECT_INVALID("senior_mode: value \"maybe\" is not a boolean", BASE, "senior_mode", "maybe");
	EXPECT_INVALID("org_email_type: value \"pro\" is not one of: profession, base", BASE, "org_email_type", "pro");
	EXPECT_INVALID("exclusive_account_type: value \"ldap\" is not one of: dingtalk, sso", BASE,
		       "exclusive_account_type", "ldap");
	EXPECT_INVALID("email: value \"not-an-email\" does not match the required format (an email address)", BASE,
		       "email", "not-an-email");
	EXPECT_INVALID("org_email: value \"x@y\" does not match the required format (an email address)", BASE,
		       "org_email", "x@y");
	EXPECT_INVALID("email: value \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org\" is 51 characters long, "
		       "the maximum is 50",
		       BASE, "email", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org");
	/* The password is secret: its value is never quoted. */
	EXPECT_INVALID("init_password: value is 7 characters long, the minimum is 8", BASE, "init_password", "ab12345");
	EXPECT_INVALID("init_password: value does not match the required format (not only letters and not only "
		       "digits)",
		       BASE, "init_password", "abcdefgh");
	EXPECT_INVALID("init_password: value does not match the required format (not only letters and not only "
		       "digits)",
		       BASE, "init_password", "12345678");
	EXPECT_INVALID("extension: value \"[1,2]\" does not match the required format (the text of a JSON object, "
		       "such as {\"hobby\":\"travel\"})",
		       BASE, "extension", "[1,2]");
	EXPECT_INVALID("extension: value \"{\\\"a\\\":1} x\" does not match the required format (the text of a JSON "
		       "object, such as {\"hobby\":\"travel\"})",
		       BASE, "extension", "{\"a\":1} x");
	EXPECT_INVALID("extension: value \"{\" does not match the required format (the text of a JSON object, such as "
		       "{\"hobby\":\"travel\"})",
		       BASE, "extension", "{");
	EXPECT_INVALID("exclusive_mobile: value \"x\" does not match the required format (digits, optionally a "
		       "leading '+', '-' and spaces)",
		       BASE, "exclusive_mobile", "x");

	/* Every limit of the schema, read from the driver itself. */
	const struct target_driver *d = driver_find("dingtalk");
	static const struct {
		const char *name;
		size_t min, max;
	} limits[] = {
		{ "name", 1, 80 }, { "userid", 1, 64 }, { "title", 0, 200 }, { "email", 0, 50 },
		{ "org_email", 0, 100 }, { "job_number", 0, 50 }, { "telephone", 0, 50 }, { "work_place", 0, 100 },
		{ "remark", 0, 2000 }, { "manager_userid", 1, 64 }, { "init_password", 8, 0 }, { "extension", 0, 2000 },
	};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		bool found = false;
		for (size_t k = 0; k < d->n_fields; k++)
			if (strcmp(d->fields[k].name, limits[i].name) == 0) {
				found = true;
				CU_ASSERT_EQUAL(d->fields[k].min_chars, limits[i].min);
				CU_ASSERT_EQUAL(d->fields[k].max_chars, limits[i].max);
			}
		CU_ASSERT(found);
	}
	for (size_t k = 0; k < d->n_fields; k++) {
		bool required = strcmp(d->fields[k].name, "name") == 0 || strcmp(d->fields[k].name, "mobile") == 0 ||
				strcmp(d->fields[k].name, "dept_id_list") == 0;
		CU_ASSERT_EQUAL((d->fields[k].flags & FIELD_REQUIRED) != 0, required);
		CU_ASSERT_EQUAL((d->fields[k].flags & FIELD_SECRET) != 0,
				strcmp(d->fields[k].name, "init_password") == 0);
	}
	teardown();
}

/* ------------------------------------------------------------ config */

static int load(const char *target_text, char **messages)
{
	char *text = xasprintf("source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\ntargets = ( %s );\n",
			       target_text);
	char *path = unit_write(dir, "bad.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	int r = conf_load(path, &c, d);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	diag_print(d, f);
	fclose(f);
	*messages = buf;
	diag_free(d);
	conf_free(c);
	free(path);
	free(text);
	return r;
}

#define TARGET(extra, auth)                                                                              \
	"{ name = \"d\"; driver = \"dingtalk\"; url = \"https://oapi.dingtalk.com\"; " extra                 \
	" auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\"; " auth " };"             \
	" map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; }; }"

static void expect_config_error(const char *target_text, const char *message)
{
	char *msgs;
	CU_ASSERT_NOT_EQUAL(load(target_text, &msgs), 0);
	if (!strstr(msgs, message))
		fprintf(stderr, "\n  messages: %s\n  expected: %s\n", msgs ? msgs : "(none)", message);
	CU_ASSERT_PTR_NOT_NULL(strstr(msgs, message));
	free(msgs);
}

static void test_config(void)
{
	setup();
	char *msgs;
	CU_ASSERT_EQUAL(load(TARGET("", ""), &msgs), 0);
	free(msgs);
	expect_config_error("{ name = \"d\"; driver = \"dingtalk\"; url = \"https://x\";"
			    " map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; }; }",
			    "target d: required key 'auth' is missing");
	expect_config_error("{ name = \"d\"; driver = \"dingtalk\"; url = \"https://x\"; auth = { };"
			    " map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; }; }",
			    "appkey_file");
	expect_config_error("{ name = \"d\"; driver = \"dingtalk\"; url = \"https://x\"; map = { name = \"${cn}\"; };"
			    " auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\"; }; }",
			    "field 'mobile' is required by the dingtalk driver but not mapped");
	expect_config_error("{ name = \"d\"; driver = \"dingtalk\"; url = \"https://x\";"
			    " auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"missing.secret\"; };"
			    " map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; }; }",
			    "appsecret_file");
	expect_config_error(TARGET("", "token_path = \"/get token\";"),
			    "token_path: '/get token' is not a URL path");
	expect_config_error(TARGET("", "token_path = \"/gettoken?x=1\";"), "is not a URL path");
	expect_config_error(TARGET("", "refresh_margin = -1;"), "refresh_margin = -1 is out of range (0 to 86400)");
	expect_config_error(TARGET("", "refused_codes = [ 0 ];"), "refused_codes: 0 means success");
	expect_config_error(TARGET("", "tokn_path = \"/x\";"), "tokn_path");
	expect_config_error(TARGET("throttle_wait = 4000;", ""), "throttle_wait = 4000 is out of range (0 to 3600)");
	expect_config_error(TARGET("invalid_codes = [ 60104 ];", ""),
			    "invalid_codes: errcode 60104 is also in duplicate_codes");
	expect_config_error(TARGET("quota_codes = [ 0 ];", ""), "quota_codes: errcode 0 cannot be listed (it means success)");
	expect_config_error(TARGET("auth_codes = [ 88 ];", ""),
			    "auth_codes: errcode 88 cannot be listed (it is read through its sub_code)");
	expect_config_error(TARGET("duplicate_codes = \"60104\";", ""), "duplicate_codes");
	expect_config_error(TARGET("batch_size = 2;", ""), "the dingtalk driver does not batch adds");
	expect_config_error(TARGET("absent_codes = [ 60104 ];", ""),
			    "absent_codes: errcode 60104 is also in duplicate_codes");
	expect_config_error(TARGET("absent_codes = [ 0 ];", ""), "absent_codes: errcode 0 cannot be listed");
	expect_config_error(TARGET("absent_codes = \"60121\";", ""), "absent_codes");
	expect_config_error(TARGET("", "type = \"query\";"), "appkey_file");
	teardown();
}

/* ------------------------------------------------------------ auth */

static int token_answer(struct target *t, long status, const char *body, int64_t now, char **err)
{
	struct http_response resp = response(status, body);
	*err = NULL;
	long wait;
	return auth_token_answer(t->auth, &resp, now, err, &wait);
}

/* A ban on the token endpoint tells how long to wait; the engine uses it
 * instead of its own backoff. */
static void test_auth_ban_wait(void)
{
	setup();
	struct target *t = target("dt");
	struct http_response resp = response(200, "{\"status\":1111,\"wait\":7,\"punish\":\"deny\"}");
	char *err = NULL;
	long wait;
	CU_ASSERT(auth_token_answer(t->auth, &resp, NOW, &err, &wait) < 0);
	CU_ASSERT_EQUAL(wait, 7);
	free(err);
	resp = response(503, "busy");
	resp.retry_after = 4;
	err = NULL;
	CU_ASSERT(auth_token_answer(t->auth, &resp, NOW, &err, &wait) < 0);
	CU_ASSERT_EQUAL(wait, 4);
	free(err);
	target_free(t);
	teardown();
}

/* apply() on a fresh request; returns its result and the URL it left. */
static int apply(struct target *t, int64_t now, char **url)
{
	struct http_request req;
	http_request_init(&req, "POST", xstrdup("http://127.0.0.1:9/dt/topapi/v2/user/create"));
	int r = auth_apply(t->auth, &req, now);
	*url = xstrdup(req.url);
	http_request_clear(&req);
	return r;
}

static void test_auth_flow(void)
{
	setup();
	struct target *t = target("dt");
	struct http_request req;
	char *url, *err;

	CU_ASSERT_EQUAL(apply(t, NOW, &url), -EAGAIN);
	free(url);
	/* The token request: both credentials percent-encoded in the query. */
	http_request_init(&req, "POST", NULL);
	auth_token_request(t->auth, t->conf->url, NOW, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/dt/gettoken?appkey=ding%20key%2B1"
					"&appsecret=s3cr%2Ft%3D%26x%3F");
	CU_ASSERT_PTR_NULL(req.body);
	http_request_clear(&req);

	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"errcode\":0,\"access_token\":\"tok/1+\",\"errmsg\":\"ok\","
					     "\"expires_in\":7200}", NOW, &err), 0);
	CU_ASSERT_PTR_NULL(err);
	CU_ASSERT_EQUAL(apply(t, NOW, &url), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:9/dt/topapi/v2/user/create?access_token=tok%2F1%2B");
	free(url);
	/* Cached until refresh_margin (300 s) before it expires. */
	CU_ASSERT_EQUAL(apply(t, NOW + 7200 - 301, &url), 0);
	free(url);
	CU_ASSERT_EQUAL(apply(t, NOW + 7200 - 300, &url), -EAGAIN);
	free(url);
	/* Refused by the API: forgotten, fetched again. */
	CU_ASSERT(auth_invalidate(t->auth));
	CU_ASSERT_EQUAL(apply(t, NOW, &url), -EAGAIN);
	free(url);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"errcode\":0,\"access_token\":\"tok2\"}", NOW, &err), 0);
	/* No expires_in: DingTalk's documented 7200 s. */
	CU_ASSERT_EQUAL(apply(t, NOW + 6899, &url), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:9/dt/topapi/v2/user/create?access_token=tok2");
	free(url);
	CU_ASSERT_EQUAL(apply(t, NOW + 6900, &url), -EAGAIN);
	free(url);
	/* A short lifetime: the margin shrinks to half of it. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"errcode\":0,\"access_token\":\"tok3\",\"expires_in\":\"100\"}", NOW,
				     &err), 0);
	CU_ASSERT_EQUAL(apply(t, NOW + 49, &url), 0);
	free(url);
	CU_ASSERT_EQUAL(apply(t, NOW + 50, &url), -EAGAIN);
	free(url);
	/* A failed fetch leaves no token behind. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"errcode\":0,\"access_token\":\"tok4\"}", NOW, &err), 0);
	CU_ASSERT_NOT_EQUAL(token_answer(t, 0, NULL, NOW, &err), 0);
	free(err);
	CU_ASSERT_EQUAL(apply(t, NOW, &url), -EAGAIN);
	free(url);
	target_free(t);
	teardown();
}

#define EXPECT_TOKEN_FAIL(t, status, body, ret, message)                                         \
	do {                                                                                     \
		char *err_;                                                                      \
		int r_ = token_answer((t), (status), (body), NOW, &err_);                        \
		CU_ASSERT_EQUAL(r_, (ret));                                                      \
		if (!err_ || strcmp(err_, (message)) != 0)                                       \
			fprintf(stderr, "\n  line %d err: %s\n  expected: %s\n", __LINE__, err_ ? err_ : "(none)", (message)); \
		CU_ASSERT_STRING_EQUAL(err_ ? err_ : "", (message));                             \
		free(err_);                                                                      \
	} while (0)

static void test_auth_failures(void)
{
	setup();
	struct target *t = target("dt");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":40089,\"errmsg\":\"不合法的corpId或corpSecret\"}", -EACCES,
			  "wrong appkey or appsecret: DingTalk's gettoken answered errcode 40089: 不合法的corpId或corpSecret");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":40001,\"errmsg\":\"x\"}", -EACCES,
			  "wrong appkey or appsecret: DingTalk's gettoken answered errcode 40001: x");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":\"40013\"}", -EACCES,
			  "wrong appkey or appsecret: DingTalk's gettoken answered errcode 40013: ");
	/* Worth another try: busy, bans, server errors, unknown codes, garbage. */
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":-1,\"errmsg\":\"系统繁忙\"}", -EBUSY,
			  "DingTalk's gettoken answered errcode -1: 系统繁忙");
	EXPECT_TOKEN_FAIL(t, 200, "{\"status\":1111,\"wait\":5,\"punish\":\"deny\"}", -EBUSY,
			  "DingTalk bans this address for 5 s");
	EXPECT_TOKEN_FAIL(t, 0, NULL, -EIO, "no answer from DingTalk's gettoken: Connection refused");
	EXPECT_TOKEN_FAIL(t, 500, "oops", -EPROTO, "unexpected answer from DingTalk's gettoken: HTTP 500: oops");
	EXPECT_TOKEN_FAIL(t, 401, "", -EPROTO, "unexpected answer from DingTalk's gettoken: HTTP 401 with an empty body");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":90018,\"errmsg\":\"qps\"}", -EPROTO,
			  "DingTalk's gettoken answered errcode 90018: qps");
	EXPECT_TOKEN_FAIL(t, 200, "not json", -EPROTO, "unexpected answer from DingTalk's gettoken: HTTP 200: not json");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":[]}", -EPROTO,
			  "unexpected answer from DingTalk's gettoken: HTTP 200: {\"errcode\":[]}");
	EXPECT_TOKEN_FAIL(t, 200, "{}", -EPROTO, "unexpected answer from DingTalk's gettoken: HTTP 200: {}");
	/* Half-valid success answers are never quoted: they hold a token. */
	static const char *const half[] = {
		"{\"errcode\":0}",
		"{\"errcode\":0,\"access_token\":\"\"}",
		"{\"errcode\":0,\"access_token\":42}",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\",\"expires_in\":0}",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\",\"expires_in\":-5}",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\",\"expires_in\":\"soon\"}",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\",\"expires_in\":null}",
		"{\"errcode\":0,\"access_token\":\"SECRET\\u0000TOKEN\"}",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\"",
		"{\"errcode\":0,\"access_token\":\"SECRETTOKEN\"} x",
	};
	for (size_t i = 0; i < sizeof(half) / sizeof(half[0]); i++) {
		char *err, *url;
		CU_ASSERT_EQUAL(token_answer(t, 200, half[i], NOW, &err), -EPROTO);
		CU_ASSERT_PTR_NOT_NULL_FATAL(err);
		if (strstr(half[i], "access_token"))
			CU_ASSERT_PTR_NULL(strstr(err, "SECRET"));
		CU_ASSERT_EQUAL(apply(t, NOW, &url), -EAGAIN);
		free(url);
		free(err);
	}
	/* A huge answer. */
	char *big = malloc(100001);
	memset(big, 'z', 100000);
	big[100000] = '\0';
	char *err;
	CU_ASSERT_EQUAL(token_answer(t, 200, big, NOW, &err), -EPROTO);
	CU_ASSERT(strlen(err) < 400);
	free(err);
	free(big);
	target_free(t);
	teardown();
}

static void test_auth_custom(void)
{
	setup();
	struct target *t = target("custom");
	struct http_request req;
	char *url, *err;
	http_request_init(&req, "POST", NULL);
	auth_token_request(t->auth, t->conf->url, NOW, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v2/token?appkey=ding%20key%2B1&appsecret=s3cr%2Ft%3D%26x%3F");
	http_request_clear(&req);
	/* refused_codes replaces the default list. */
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":40096,\"errmsg\":\"bad\"}", -EACCES,
			  "wrong appkey or appsecret: DingTalk's gettoken answered errcode 40096: bad");
	EXPECT_TOKEN_FAIL(t, 200, "{\"errcode\":40089,\"errmsg\":\"bad\"}", -EPROTO,
			  "DingTalk's gettoken answered errcode 40089: bad");
	/* refresh_margin = 60. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"errcode\":0,\"access_token\":\"t\",\"expires_in\":7200}", NOW, &err), 0);
	CU_ASSERT_EQUAL(apply(t, NOW + 7139, &url), 0);
	free(url);
	CU_ASSERT_EQUAL(apply(t, NOW + 7140, &url), -EAGAIN);
	free(url);
	target_free(t);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "create request", test_request },
		{ "success answers and the remote id", test_answers_ok },
		{ "errcodes", test_answers_codes },
		{ "errcode 88 and its sub_code", test_answers_subcode },
		{ "the address ban and HTTP statuses", test_answers_ban_and_http },
		{ "hostile answers", test_answers_hostile },
		{ "configured errcode lists", test_custom_codes },
		{ "lookup of an existing member", test_lookup },
		{ "ops the driver declares", test_ops_declared },
		{ "update request: no secrets, no creation-only fields", test_update_request },
		{ "update answers", test_update_answers },
		{ "delete", test_delete },
		{ "update and delete find the userid first", test_find_first },
		{ "lookup of an interrupted create", test_op_lookup },
		{ "schema: valid payloads", test_schema_valid },
		{ "schema: invalid payloads", test_schema_invalid },
		{ "config checks", test_config },
		{ "token fetch, cache, margin, refresh", test_auth_flow },
		{ "token failures", test_auth_failures },
		{ "a ban on the token endpoint says how long to wait", test_auth_ban_wait },
		{ "token settings", test_auth_custom },
		{ NULL, NULL },
	};
	return unit_run("dingtalk", tests);
}
