/* The BabelBird driver and its OAuth provider: the requests they build,
 * every answer they can get (hostile ones included), the field schema and
 * the settings' checks. */
#include "config.h"

#include "config/conf.h"
#include "ldap/entry.h"
#include "mapping/mapping.h"
#include "targets/target.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"
#include "util/diag.h"
#include "util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#define SECRET "s3cr3t-client-secret"

static char *dir;
static struct conf *conf;

static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	" { name = \"bb\"; driver = \"babelbird\"; url = \"http://127.0.0.1:9/pan/\";\n"
	"   auth = { client_id = \"cid-1\"; client_secret_file = \"bb.secret\";\n"
	"            redirect_uri = \"https://ms.example/cb\"; };\n"
	"   map = { email = \"${mail}\"; password = \"${random_password(12)}\"; name = \"${cn}\";\n"
	"           department_ids = \"${departmentNumber[*]}\"; sex = \"${gender}\";\n"
	"           join_time = \"${joined}\"; can_ownfile = -1; spacelimit = \"${quota}\";\n"
	"           password_is_md5 = \"${md5}\"; phone = \"${mobile}\"; }; },\n"
	DRIVER_CONF_BABELBIRD_BBJSON ",\n"
	DRIVER_CONF_BABELBIRD_BBID "\n"
	");\n";

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "bb.secret", SECRET "\n", 0600));
	conf = fixture_load(dir, conf_text);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

/* The value of header `name` (borrowed), or NULL. */
static const char *header_value(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	for (const struct curl_slist *l = req->headers; l; l = l->next)
		if (strncmp(l->data, name, n) == 0 && l->data[n] == ':')
			return l->data + n + 2;
	return NULL;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static size_t header_count(const struct http_request *req)
{
	size_t n = 0;
	for (const struct curl_slist *l = req->headers; l; l = l->next)
		n++;
	return n;
}

/* One step (status < 0: the first call, no answer). */
static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out, bool *creates)
{
	return fixture_step(t, it, status, body, -1, req, out, creates);
}

/* ------------------------------------------------------------ requests */

static void test_add_request_form(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct push_item it = item("a b@x.org", "{\"email\":\"a b@x.org\",\"password\":\"p&w=1\",\"name\":\"张 三\","
						"\"department_ids\":[\"3\",\"7\",\"12\"],\"sex\":1,\"spacelimit\":0}");
	struct http_request req;
	struct outcome o;
	bool creates;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/nd/api/enterprise/add_ent_mem");
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_EQUAL(header_count(&req), 2);
	CU_ASSERT_STRING_EQUAL(req.body, "email=a%20b%40x.org&password=p%26w%3D1&name=%E5%BC%A0%20%E4%B8%89"
					 "&department_ids%5B%5D=3&department_ids%5B%5D=7&department_ids%5B%5D=12"
					 "&sex=1&spacelimit=0");
	CU_ASSERT_EQUAL(req.body_len, strlen(req.body));
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_add_request_json(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bbjson"), NULL);
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"department_ids\":[\"3\",\"7\"],"
					      "\"enterprise_role\":2}");
	struct http_request req;
	struct outcome o;
	bool creates;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v2/members/add");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"email\":\"a@x.org\",\"department_ids\":[\"3\",\"7\"],\"enterprise_role\":2}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ answers */

#define EXPECT_ANSWER(t, status, body, kind_, reason_, id_)                                         \
	do {                                                                                        \
		struct push_item it_ = item("a@x.org", "{\"email\":\"a@x.org\"}");                  \
		struct http_request req_;                                                           \
		struct outcome o_;                                                                  \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, NULL), STEP_DONE);    \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                  \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                              \
		const char *id__ = (id_);                                                           \
		if (!id__) {                                                                        \
			CU_ASSERT_PTR_NULL(o_.remote_id);                                           \
		} else {                                                                            \
			CU_ASSERT_STRING_EQUAL(o_.remote_id ? o_.remote_id : "", id__);             \
		}                                                                                   \
		http_request_clear(&req_);                                                          \
		outcome_clear(&o_);                                                                 \
		item_clear(&it_);                                                                   \
	} while (0)

static const char *const no_id = NULL;

static void test_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	/* Success, with the id as a number, as a string, or not at all. */
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"success\":true,\"msg\":\"success\",\"data\":{\"id\":100042}}", OUTCOME_OK,
		      "created", "100042");
	EXPECT_ANSWER(t, 200, "{\"code\":\"0\",\"success\":true,\"data\":{\"id\":\"m-9\"}}", OUTCOME_OK, "created",
		      "m-9");
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"success\":true}", OUTCOME_OK, "created", no_id);
	EXPECT_ANSWER(t, 201, "{\"success\":true,\"data\":{\"id\":[1]}}", OUTCOME_OK, "created", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"data\":{\"id\":true}}", OUTCOME_OK, "created", no_id);
	/* Each code list. */
	EXPECT_ANSWER(t, 200, "{\"code\":10004,\"success\":false,\"msg\":\"invalid phone number: 12345\"}",
		      OUTCOME_INVALID, "rejected by BabelBird: invalid phone number: 12345 (code 10004)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: name\"}",
		      OUTCOME_INVALID, "rejected by BabelBird: missing parameter: name (code 10001)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10002,\"success\":false,\"msg\":\"invalid email\"}", OUTCOME_INVALID,
		      "rejected by BabelBird: invalid email (code 10002)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10003,\"success\":false,\"msg\":\"invalid password\"}", OUTCOME_INVALID,
		      "rejected by BabelBird: invalid password (code 10003)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10005,\"success\":false,\"msg\":\"invalid sex\"}", OUTCOME_INVALID,
		      "rejected by BabelBird: invalid sex (code 10005)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":40001,\"success\":false,\"msg\":\"invalid access_token\"}", OUTCOME_AUTH,
		      "BabelBird refused the access token: invalid access_token (code 40001)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":\"40002\",\"success\":false,\"msg\":\"access_token expired\"}", OUTCOME_AUTH,
		      "BabelBird refused the access token: access_token expired (code 40002)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":50010,\"success\":false,\"msg\":\"seat limit reached\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: seat limit reached (code 50010)", no_id);
	/* Errors an envelope can hide. */
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"success\":false,\"msg\":\"nope\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: nope (code 0)", no_id);
	EXPECT_ANSWER(t, 200, "{\"success\":false}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: HTTP 200: {\"success\":false}", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":\"E42\",\"success\":true,\"msg\":\"odd\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: odd", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":[0],\"msg\":\"odd\"}", OUTCOME_PERMANENT, "BabelBird refused the member: odd",
		      no_id);
	EXPECT_ANSWER(t, 400, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: email\"}",
		      OUTCOME_INVALID, "rejected by BabelBird: missing parameter: email (code 10001)", no_id);
	EXPECT_ANSWER(t, 400, "{\"code\":0,\"success\":true}", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird: HTTP 400: {\"code\":0,\"success\":true}", no_id);
	/* HTTP-level answers. */
	EXPECT_ANSWER(t, 401, "{\"code\":40000,\"success\":false,\"msg\":\"missing access token\"}", OUTCOME_AUTH,
		      "HTTP 401: {\"code\":40000,\"success\":false,\"msg\":\"missing access token\"}", no_id);
	EXPECT_ANSWER(t, 403, "", OUTCOME_AUTH, "HTTP 403 with an empty body", no_id);
	EXPECT_ANSWER(t, 429, "{\"code\":42900,\"success\":false,\"msg\":\"too many requests\"}", OUTCOME_THROTTLED,
		      "HTTP 429: {\"code\":42900,\"success\":false,\"msg\":\"too many requests\"}", no_id);
	EXPECT_ANSWER(t, 500, "<h1>500</h1>", OUTCOME_TRANSIENT, "HTTP 500: <h1>500</h1>", no_id);
	EXPECT_ANSWER(t, 502, "", OUTCOME_TRANSIENT, "HTTP 502 with an empty body", no_id);
	EXPECT_ANSWER(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", no_id);
	EXPECT_ANSWER(t, 404, "<html>Not Found</html>", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 404: <html>Not Found</html>", no_id);
	EXPECT_ANSWER(t, 302, "", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 302 with an empty body", no_id);
	/* Hostile bodies: not JSON, not an object, wrong types, trailing
	 * garbage, control characters, invalid UTF-8. */
	EXPECT_ANSWER(t, 200, "{not json", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200: {not json", no_id);
	EXPECT_ANSWER(t, 200, "[{\"code\":0}]", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200: [{\"code\":0}]", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":0} x", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200: {\"code\":0} x", no_id);
	EXPECT_ANSWER(t, 200, "{\"success\":\"true\",\"code\":null}", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200: {\"success\":\"true\",\"code\":null}",
		      no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10004,\"msg\":{\"text\":\"x\"}}", OUTCOME_INVALID,
		      "rejected by BabelBird: HTTP 200: {\"code\":10004,\"msg\":{\"text\":\"x\"}} (code 10004)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":10004,\"msg\":\"line1\\nline2\\u0001\"}", OUTCOME_INVALID,
		      "rejected by BabelBird: line1\\x0aline2\\x01 (code 10004)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":1\xff}", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200: {\"code\":1\\xff}", no_id);
	EXPECT_ANSWER(t, 200, "", OUTCOME_PERMANENT,
		      "unexpected answer from BabelBird (no code or success): HTTP 200 with an empty body", no_id);
	target_free(t);
	teardown();
}

static void test_answers_configured(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bbjson"), NULL);
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"success\":true,\"result\":{\"member\":{\"id\":\"u-1\"}}}", OUTCOME_OK,
		      "created", "u-1");
	/* data.id is not where this target keeps it. */
	EXPECT_ANSWER(t, 200, "{\"code\":0,\"data\":{\"id\":5}}", OUTCOME_OK, "created", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":30100,\"error\":{\"text\":\"bad\"}}", OUTCOME_INVALID,
		      "rejected by BabelBird: bad (code 30100)", no_id);
	/* Not configured here: the defaults no longer apply. */
	EXPECT_ANSWER(t, 200, "{\"code\":10004,\"msg\":\"bad phone\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: HTTP 200: {\"code\":10004,\"msg\":\"bad phone\"} (code 10004)", no_id);
	EXPECT_ANSWER(t, 200, "{\"code\":40002,\"error\":{\"text\":\"expired\"}}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: expired (code 40002)", no_id);
	target_free(t);
	teardown();
}

static void test_long_message_cut(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	size_t n = 100000;
	char *body = malloc(n + 64);
	strcpy(body, "{\"code\":10001,\"msg\":\"");
	size_t off = strlen(body);
	memset(body + off, 'x', n);
	strcpy(body + off + n, "\"}");
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\"}");
	struct http_request req;
	struct outcome o;
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (100000 bytes) (code 10001)"));
	http_request_clear(&req);
	outcome_clear(&o);
	/* A huge body that is not JSON is cut too. */
	memset(body, '{', n);
	body[n] = '\0';
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT(strlen(o.reason) < 400);
	http_request_clear(&req);
	outcome_clear(&o);
	/* Deeply nested JSON is refused by the parser, not followed. */
	for (size_t i = 0; i < n / 2; i++)
		body[i] = '[';
	for (size_t i = n / 2; i < n; i++)
		body[i] = ']';
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	http_request_clear(&req);
	outcome_clear(&o);
	/* An id too long to be one is not stored. */
	memset(body, 0, n + 64);
	strcpy(body, "{\"code\":0,\"data\":{\"id\":\"");
	memset(body + strlen(body), '7', 300);
	strcat(body, "\"}}");
	step(t, &it, 200, body, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_PTR_NULL(o.remote_id);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	free(body);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ duplicates */

static void test_duplicate_lookup(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct push_item it = item("Dup@X.org", "{\"email\":\"Dup@X.org\",\"name\":\"D\"}");
	struct http_request req;
	struct outcome o;
	bool creates;

	/* Already there: not done yet, the member is looked up by email. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":20001,\"success\":false,\"msg\":\"email already exists\"}", &req,
			     &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_EQUAL(it.stage, 1);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/nd/api/enterprise/enterprise_members");
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT_STRING_EQUAL(req.body, "keyName=Dup%40X.org");
	http_request_clear(&req);
	outcome_clear(&o);

	/* keyName is a search: only the exact email counts (ASCII case aside). */
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"code\":0,\"success\":true,\"data\":{\"total\":3,\"list\":["
			     "{\"id\":1,\"email\":\"dup@x.org.cn\"},{\"id\":2},\"junk\",null,"
			     "{\"id\":100007,\"email\":\"dup@x.org\",\"name\":\"D\"}]}}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "100007");
	CU_ASSERT_STRING_EQUAL(o.reason, "already at BabelBird as member 100007");
	http_request_clear(&req);
	outcome_clear(&o);

	/* A lookup that fails transiently is retried at the same stage... */
	CU_ASSERT_EQUAL(step(t, &it, 503, "busy", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/nd/api/enterprise/enterprise_members");
	http_request_clear(&req);
	outcome_clear(&o);
	/* ...so is one refused for the token (after a refresh)... */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":40002,\"success\":false,\"msg\":\"access_token expired\"}", &req,
			     &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_AUTH);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 429, "", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	http_request_clear(&req);
	outcome_clear(&o);
	/* ...and one that cannot find it still counts the member as there. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true,\"data\":{\"total\":0,\"list\":[]}}", &req, &o,
			     NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_PTR_NULL(o.remote_id);
	CU_ASSERT_STRING_EQUAL(o.reason, "already at BabelBird (no member with this email in the lookup)");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"data\":{\"list\":{\"id\":1}}}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_PTR_NULL(o.remote_id);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: keyName\"}",
			     &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.reason, "already at BabelBird (its id could not be looked up: rejected by BabelBird: "
					 "missing parameter: keyName (code 10001))");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 404, "nope", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "garbage", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_duplicate_lookup_configured(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bbjson"), NULL);
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":\"30002\",\"success\":false}", &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v2/members/search");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"keyName\":\"a@x.org\"}");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"result\":{\"items\":[{\"uid\":\"u-77\",\"mail\":\"A@x.org\"}]}}",
			     &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "u-77");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	/* 20001 is the default's, not this target's. */
	EXPECT_ANSWER(t, 200, "{\"code\":20001,\"msg\":\"email already exists\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: HTTP 200: {\"code\":20001,\"msg\":\"email already exists\"} (code 20001)",
		      no_id);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ other ops */

#define BB_UPDATE_URL "http://127.0.0.1:9/pan/api/updateUserInfo.do"
#define BB_LOOKUP_URL "http://127.0.0.1:9/pan/nd/api/enterprise/enterprise_members"


#define OP_PAYLOAD "{\"email\":\"a@x.org\",\"password\":\"pw\",\"name\":\"A\"}"

/* Sends op for member 100007 of target "bb" and reads the answer. */
#define EXPECT_OP(t, op_, status, body, kind_, reason_)                                                    \
	do {                                                                                               \
		struct push_item it_ = op_item((op_), "a@x.org", OP_PAYLOAD, "100007");                    \
		struct http_request req_;                                                                  \
		struct outcome o_;                                                                         \
		bool creates_ = true;                                                                      \
		CU_ASSERT_EQUAL(step((t), &it_, -1, NULL, &req_, &o_, &creates_), STEP_SEND);              \
		CU_ASSERT_FALSE(creates_);                                                                 \
		CU_ASSERT_STRING_EQUAL(req_.url, BB_UPDATE_URL);                                           \
		http_request_clear(&req_);                                                                 \
		outcome_clear(&o_);                                                                        \
		creates_ = true;                                                                           \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, &creates_), STEP_DONE);      \
		CU_ASSERT_FALSE(creates_);                                                                 \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                         \
		FIXTURE_EXPECT_REASON(&o_, (reason_));                                                     \
		http_request_clear(&req_);                                                                 \
		outcome_clear(&o_);                                                                        \
		item_clear(&it_);                                                                          \
	} while (0)

static void test_ops_declared(void)
{
	setup();
	const struct conf_target *c = conf_find_target(conf, "bb");
	CU_ASSERT_EQUAL(driver_ops(c->driver, c->driver_conf),
			OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) | OP_BIT(OP_ENABLE) | OP_BIT(OP_LOOKUP));
	CU_ASSERT_FALSE(c->driver->idempotent_add);

	/* No delete API: asked anyway, nothing is sent. */
	struct target *t = target_new(c, NULL);
	struct push_item it = op_item(OP_DELETE, "a@x.org", NULL, "100007");
	struct http_request req;
	struct outcome o;
	bool creates = true;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_PTR_NULL(req.url);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "BabelBird has no way to delete a member");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_freeze_requests(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* Gone from the directory: the stored id is all there is. */
	struct push_item it = op_item(OP_DISABLE, "a@x.org", NULL, "100007");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "id=100007&frozen=1");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true,\"msg\":\"success\",\"data\":{\"id\":100007}}",
			     &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "froze member 100007");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "100007");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Back in scope: unfrozen, nothing else sent. */
	it = op_item(OP_ENABLE, "a@x.org", OP_PAYLOAD, "100007");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	CU_ASSERT_STRING_EQUAL(req.body, "id=100007&frozen=0");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "unfroze member 100007");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* A stored id that is no number goes as text; JSON where configured,
	 * with this target's id parameter and path. */
	target_free(t);
	t = target_new(conf_find_target(conf, "bbjson"), NULL);
	it = op_item(OP_DISABLE, "a@x.org", NULL, "u-77");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v2/members/update");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"uid\":\"u-77\",\"frozen\":1}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	static const struct {
		const char *id, *body;
	} ids[] = {
		{ "100007", "{\"uid\":100007,\"frozen\":0}" },
		{ "0", "{\"uid\":0,\"frozen\":0}" },
		{ "007", "{\"uid\":\"007\",\"frozen\":0}" },
		{ "-5", "{\"uid\":\"-5\",\"frozen\":0}" },
		{ "12 ", "{\"uid\":\"12 \",\"frozen\":0}" },
		{ "1234567890123456789012", "{\"uid\":\"1234567890123456789012\",\"frozen\":0}" },
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		it = op_item(OP_ENABLE, "a@x.org", NULL, ids[i].id);
		CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
		CU_ASSERT_STRING_EQUAL(req.body, ids[i].body);
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}
	target_free(t);
	teardown();
}

static void test_update_request(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct push_item it = op_item(OP_UPDATE, "a b@x.org",
				      "{\"email\":\"a b@x.org\",\"password\":\"p&w=1\",\"name\":\"张 三\","
				      "\"department_ids\":[\"3\",\"7\"],\"sex\":1,\"phone\":\"13800000001\","
				      "\"password_is_md5\":0,\"spacelimit\":0,\"join_time\":1600000000}", "100007");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	CU_ASSERT(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	/* Neither the password nor what says how it is written. */
	CU_ASSERT_STRING_EQUAL(req.body, "id=100007&email=a%20b%40x.org&name=%E5%BC%A0%20%E4%B8%89"
					 "&department_ids%5B%5D=3&department_ids%5B%5D=7&sex=1&phone=13800000001"
					 "&spacelimit=0&join_time=1600000000");
	CU_ASSERT_PTR_NULL(strstr(req.body, "password"));
	CU_ASSERT_PTR_NULL(strstr(req.body, "p%26w"));
	CU_ASSERT_PTR_NULL(strstr(req.body, "frozen"));
	http_request_clear(&req);
	outcome_clear(&o);
	/* A retry builds it again. */
	CU_ASSERT_EQUAL(step(t, &it, 502, "", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	CU_ASSERT(starts_with(req.body, "id=100007&email="));
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true,\"data\":{\"id\":999}}", &req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "updated member 100007");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "100007");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);

	/* JSON: the configured id parameter wins over a payload field of the
	 * same name. */
	t = target_new(conf_find_target(conf, "bbjson"), NULL);
	it = op_item(OP_UPDATE, "a@x.org", "{\"email\":\"a@x.org\",\"password\":\"x\",\"name\":\"A\","
					   "\"department_ids\":[\"3\"],\"enterprise_role\":2}", "u-1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v2/members/update");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"uid\":\"u-1\",\"email\":\"a@x.org\",\"name\":\"A\",\"department_ids\":[\"3\"],"
					 "\"enterprise_role\":2}");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_op_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":0,\"success\":true,\"msg\":\"success\"}", OUTCOME_OK,
		  "updated member 100007");
	EXPECT_OP(t, OP_UPDATE, 201, "{\"success\":true}", OUTCOME_OK, "updated member 100007");
	/* Gone at BabelBird: an update or enable adds it again, a disable is
	 * done. */
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":20002,\"success\":false,\"msg\":\"member does not exist\"}",
		  OUTCOME_ABSENT, "no such member at BabelBird: member does not exist (code 20002)");
	EXPECT_OP(t, OP_DISABLE, 200, "{\"code\":\"20002\",\"success\":false,\"msg\":\"member does not exist\"}",
		  OUTCOME_ABSENT, "no such member at BabelBird: member does not exist (code 20002)");
	EXPECT_OP(t, OP_ENABLE, 200, "{\"code\":20002,\"success\":false}", OUTCOME_ABSENT,
		  "no such member at BabelBird: HTTP 200: {\"code\":20002,\"success\":false} (code 20002)");
	/* Validation. */
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":10004,\"success\":false,\"msg\":\"invalid phone number: 1\"}",
		  OUTCOME_INVALID, "rejected by BabelBird: invalid phone number: 1 (code 10004)");
	EXPECT_OP(t, OP_UPDATE, 400, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: id\"}",
		  OUTCOME_INVALID, "rejected by BabelBird: missing parameter: id (code 10001)");
	/* The new email is another member's. */
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":20001,\"success\":false,\"msg\":\"email already exists\"}",
		  OUTCOME_INVALID, "already at BabelBird: email already exists (code 20001)");
	EXPECT_OP(t, OP_DISABLE, 200, "{\"code\":20001,\"success\":false,\"msg\":\"email already exists\"}",
		  OUTCOME_PERMANENT, "unexpected answer from BabelBird: already at BabelBird: email already exists "
				     "(code 20001)");
	/* Tokens, throttling, servers, the network. */
	EXPECT_OP(t, OP_DISABLE, 200, "{\"code\":40002,\"success\":false,\"msg\":\"access_token expired\"}", OUTCOME_AUTH,
		  "BabelBird refused the access token: access_token expired (code 40002)");
	EXPECT_OP(t, OP_DISABLE, 401, "{\"code\":40000,\"success\":false}", OUTCOME_AUTH,
		  "HTTP 401: {\"code\":40000,\"success\":false}");
	EXPECT_OP(t, OP_ENABLE, 429, "{\"code\":42900}", OUTCOME_THROTTLED, "HTTP 429: {\"code\":42900}");
	EXPECT_OP(t, OP_ENABLE, 500, "<h1>500</h1>", OUTCOME_TRANSIENT, "HTTP 500: <h1>500</h1>");
	EXPECT_OP(t, OP_UPDATE, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	/* The endpoint is a guess: a 404 for it is no member's absence. */
	EXPECT_OP(t, OP_DISABLE, 404, "<html>Not Found</html>", OUTCOME_PERMANENT,
		  "unexpected answer from BabelBird (no code or success): HTTP 404: <html>Not Found</html>");
	EXPECT_OP(t, OP_DISABLE, 404, "{\"code\":404,\"success\":false,\"msg\":\"no such endpoint\"}", OUTCOME_PERMANENT,
		  "BabelBird refused the member: no such endpoint (code 404)");
	/* Malformed answers and wrong types. */
	EXPECT_OP(t, OP_UPDATE, 200, "{not json", OUTCOME_PERMANENT,
		  "unexpected answer from BabelBird (no code or success): HTTP 200: {not json");
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":[0]}", OUTCOME_PERMANENT, "BabelBird refused the member: HTTP 200: "
									   "{\"code\":[0]}");
	EXPECT_OP(t, OP_UPDATE, 200, "{\"success\":\"true\"}", OUTCOME_PERMANENT,
		  "unexpected answer from BabelBird (no code or success): HTTP 200: {\"success\":\"true\"}");
	EXPECT_OP(t, OP_UPDATE, 200, "{\"code\":50010,\"success\":false,\"msg\":\"locked\"}", OUTCOME_PERMANENT,
		  "BabelBird refused the member: locked (code 50010)");
	target_free(t);

	/* Configured absent codes; the defaults no longer count. */
	t = target_new(conf_find_target(conf, "bbjson"), NULL);
	struct push_item it = op_item(OP_DISABLE, "a@x.org", NULL, "u-1");
	struct http_request req;
	struct outcome o;
	step(t, &it, -1, NULL, &req, &o, NULL);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":30405,\"error\":{\"text\":\"gone\"}}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "no such member at BabelBird: gone (code 30405)");
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":20002,\"error\":{\"text\":\"gone\"}}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);

	/* The add still reads an absent code as nothing it expects. */
	t = target_new(conf_find_target(conf, "bb"), NULL);
	EXPECT_ANSWER(t, 200, "{\"code\":20002,\"success\":false,\"msg\":\"member does not exist\"}", OUTCOME_PERMANENT,
		      "BabelBird refused the member: member does not exist (code 20002)", no_id);
	target_free(t);
	teardown();
}

/* Without a stored id the member is looked up by email first. */
static void test_find_first(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct push_item it = op_item(OP_DISABLE, "Dup@X.org", NULL, NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, BB_LOOKUP_URL);
	CU_ASSERT_STRING_EQUAL(req.body, "keyName=Dup%40X.org");
	http_request_clear(&req);
	outcome_clear(&o);
	/* Trouble on the way is retried as a lookup. */
	CU_ASSERT_EQUAL(step(t, &it, 503, "busy", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	CU_ASSERT_PTR_NULL(it.remote_id);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, BB_LOOKUP_URL);
	http_request_clear(&req);
	outcome_clear(&o);
	/* keyName is a search: only the exact email counts; the freeze
	 * follows at once. */
	creates = true;
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"code\":0,\"success\":true,\"data\":{\"total\":2,\"list\":["
			     "{\"id\":1,\"email\":\"dup@x.org.cn\"},{\"id\":100009,\"email\":\"dup@x.org\"}]}}", &req, &o,
			     &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "100009");
	CU_ASSERT_PTR_NULL(o.reason);
	CU_ASSERT_PTR_NULL(o.remote_id);
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	CU_ASSERT_STRING_EQUAL(req.body, "id=100009&frozen=1");
	http_request_clear(&req);
	outcome_clear(&o);
	/* A retry of the freeze does not look up again. */
	CU_ASSERT_EQUAL(step(t, &it, 0, NULL, &req, &o, &creates), STEP_DONE);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, BB_UPDATE_URL);
	http_request_clear(&req);
	outcome_clear(&o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "100009");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	/* Nobody with the email: absent, nothing changed. */
	static const struct {
		enum push_op op;
		long status;
		const char *body;
		enum outcome_kind kind;
	} finds[] = {
		{ OP_DISABLE, 200, "{\"code\":0,\"success\":true,\"data\":{\"total\":0,\"list\":[]}}", OUTCOME_ABSENT },
		{ OP_UPDATE, 200, "{\"code\":0,\"data\":{\"list\":[{\"id\":5,\"email\":\"other@x.org\"}]}}", OUTCOME_ABSENT },
		{ OP_ENABLE, 200, "{\"code\":0,\"data\":{\"list\":[{\"email\":\"a@x.org\"}]}}", OUTCOME_ABSENT },
		{ OP_ENABLE, 200, "{\"code\":0,\"data\":{\"list\":{\"id\":1}}}", OUTCOME_ABSENT },
		{ OP_ENABLE, 200, "{\"code\":20002,\"msg\":\"member does not exist\"}", OUTCOME_ABSENT },
		{ OP_DISABLE, 200, "{\"code\":10001,\"msg\":\"missing parameter: keyName\"}", OUTCOME_INVALID },
		{ OP_DISABLE, 200, "{\"code\":20001,\"msg\":\"email already exists\"}", OUTCOME_PERMANENT },
		{ OP_DISABLE, 200, "{\"code\":40001,\"msg\":\"invalid access_token\"}", OUTCOME_AUTH },
		{ OP_DISABLE, 429, "", OUTCOME_THROTTLED },
		{ OP_DISABLE, 200, "garbage", OUTCOME_PERMANENT },
	};
	for (size_t i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		it = op_item(finds[i].op, "a@x.org", OP_PAYLOAD, NULL);
		CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
		CU_ASSERT_STRING_EQUAL(req.url, BB_LOOKUP_URL);
		http_request_clear(&req);
		outcome_clear(&o);
		creates = true;
		CU_ASSERT_EQUAL(step(t, &it, finds[i].status, finds[i].body, &req, &o, &creates), STEP_DONE);
		CU_ASSERT_FALSE(creates);
		if (o.kind != finds[i].kind)
			fprintf(stderr, "\n  find %zu: %s (%s)\n", i, outcome_kind_name(o.kind), o.reason);
		CU_ASSERT_EQUAL(o.kind, finds[i].kind);
		CU_ASSERT_PTR_NULL(it.remote_id);
		CU_ASSERT_PTR_NULL(o.remote_id);
		CU_ASSERT_PTR_NULL(req.url);
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}
	it = op_item(OP_DISABLE, "a@x.org", NULL, NULL);
	step(t, &it, -1, NULL, &req, &o, NULL);
	http_request_clear(&req);
	outcome_clear(&o);
	step(t, &it, 200, "{\"code\":0,\"data\":{\"list\":[]}}", &req, &o, NULL);
	CU_ASSERT_STRING_EQUAL(o.reason, "no member at BabelBird has email a@x.org");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);

	/* Keyed by something else and gone from the directory: nothing to
	 * look it up by; with a payload, its email. */
	t = target_new(conf_find_target(conf, "bbid"), NULL);
	it = op_item(OP_DISABLE, "E-17", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_PTR_NULL(req.url);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "no id stored for this member and no email to look it up at BabelBird by");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	it = op_item(OP_UPDATE, "E-17", "{\"email\":\"e@x.org\",\"name\":\"E\",\"babelId\":\"E-17\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/nd/api/enterprise/enterprise_members");
	CU_ASSERT_STRING_EQUAL(req.body, "keyName=e%40x.org");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* OP_LOOKUP: an interrupted add; is the member there? */
static void test_op_lookup(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct push_item it = op_item(OP_LOOKUP, "a@x.org", OP_PAYLOAD, NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_STRING_EQUAL(req.url, BB_LOOKUP_URL);
	CU_ASSERT_STRING_EQUAL(req.body, "keyName=a%40x.org");
	http_request_clear(&req);
	outcome_clear(&o);
	creates = true;
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"code\":0,\"success\":true,\"data\":{\"total\":1,\"list\":["
					  "{\"id\":100003,\"email\":\"A@X.org\",\"name\":\"A\"}]}}", &req, &o, &creates),
			STEP_DONE);
	CU_ASSERT_FALSE(creates);
	CU_ASSERT_PTR_NULL(req.url);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "100003");
	CU_ASSERT_STRING_EQUAL(it.remote_id, "100003");
	CU_ASSERT_STRING_EQUAL(o.reason, "at BabelBird as member 100003");
	http_request_clear(&req);
	outcome_clear(&o);
	item_clear(&it);

	static const struct {
		long status;
		const char *body;
		enum outcome_kind kind;
	} answers[] = {
		{ 200, "{\"code\":0,\"success\":true,\"data\":{\"total\":0,\"list\":[]}}", OUTCOME_ABSENT },
		{ 200, "{\"code\":0,\"success\":true}", OUTCOME_ABSENT },
		{ 200, "{\"code\":20002,\"success\":false}", OUTCOME_ABSENT },
		{ 200, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: keyName\"}", OUTCOME_INVALID },
		{ 200, "{\"code\":20001,\"success\":false}", OUTCOME_PERMANENT },
		{ 200, "{\"code\":40002,\"success\":false}", OUTCOME_AUTH },
		{ 401, "", OUTCOME_AUTH },
		{ 429, "", OUTCOME_THROTTLED },
		{ 500, "", OUTCOME_TRANSIENT },
		{ 0, NULL, OUTCOME_TRANSIENT },
		{ 200, "{\"code\":0", OUTCOME_PERMANENT },
		{ 200, "{\"code\":{}}", OUTCOME_PERMANENT },
		{ 404, "nope", OUTCOME_PERMANENT },
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		it = op_item(OP_LOOKUP, "a@x.org", OP_PAYLOAD, "stale");
		/* A stored id does not stand in for the lookup. */
		CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
		CU_ASSERT_STRING_EQUAL(req.url, BB_LOOKUP_URL);
		http_request_clear(&req);
		outcome_clear(&o);
		creates = true;
		CU_ASSERT_EQUAL(step(t, &it, answers[i].status, answers[i].body, &req, &o, &creates), STEP_DONE);
		CU_ASSERT_FALSE(creates);
		CU_ASSERT_PTR_NULL(req.url);
		if (o.kind != answers[i].kind)
			fprintf(stderr, "\n  answer %zu: %s (%s)\n", i, outcome_kind_name(o.kind), o.reason);
		CU_ASSERT_EQUAL(o.kind, answers[i].kind);
		CU_ASSERT_PTR_NULL(o.remote_id);
		http_request_clear(&req);
		outcome_clear(&o);
		item_clear(&it);
	}
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ auth */

/* Base64url without padding, as JWTs have it; NULL when malformed. */
static char *b64url_decode(const char *s, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = calloc(1, len + 1);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;
		if (!p) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return out;
}

/* The value of query parameter `name` in url (caller frees), undecoded. */
static char *query_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(name);
	while (q) {
		q++;
		if (strncmp(q, name, n) == 0 && q[n] == '=') {
			const char *end = strchr(q, '&');
			return strndup(q + n + 1, end ? (size_t)(end - q - n - 1) : strlen(q + n + 1));
		}
		q = strchr(q, '&');
	}
	return NULL;
}

static int token_answer(struct target *t, long status, const char *body, int64_t now, char **err)
{
	struct http_response resp = response(status, body);
	*err = NULL;
	long wait;
	return auth_token_answer(t->auth, &resp, now, err, &wait);
}

static void token_request(struct target *t, struct http_request *req)
{
	http_request_init(req, "POST", NULL);
	auth_token_request(t->auth, t->conf->url, (int64_t)time(NULL), req);
}

static void test_auth_flow(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct http_request req;
	char *err = NULL;
	int64_t now = 1700000000;

	/* No token yet. */
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now), -EAGAIN);
	CU_ASSERT_EQUAL(header_count(&req), 0);
	http_request_clear(&req);

	/* Step 1: the JWT. */
	time_t before = time(NULL);
	token_request(t, &req);
	time_t after = time(NULL);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(starts_with(req.url, "http://127.0.0.1:9/pan/api/authorizeByJWT.do?response_type=code"
				       "&client_id=cid-1&jwt_token="));
	CU_ASSERT_PTR_NULL(header_value(&req, "Authorization"));
	char *jwt = query_param(req.url, "jwt_token");
	CU_ASSERT_PTR_NOT_NULL_FATAL(jwt);
	char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(dot2);
	CU_ASSERT_PTR_NULL(strchr(jwt, '='));
	char *hdr = b64url_decode(jwt, (size_t)(dot1 - jwt));
	CU_ASSERT_STRING_EQUAL(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	char *claims_text = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	json_object *claims = json_tokener_parse(claims_text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(claims);
	json_object *v;
	CU_ASSERT(json_object_object_get_ex(claims, "client_id", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "cid-1");
	CU_ASSERT(json_object_object_get_ex(claims, "iat", &v));
	int64_t iat = json_object_get_int64(v);
	CU_ASSERT(iat >= before && iat <= after);
	CU_ASSERT(json_object_object_get_ex(claims, "exp", &v));
	CU_ASSERT_EQUAL(json_object_get_int64(v), iat + 300);
	/* The signature: HMAC-SHA256 with the client secret over header.payload. */
	unsigned char mac[32];
	unsigned int mac_len;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)jwt, (size_t)(dot2 - jwt), mac, &mac_len);
	char *sig = b64url_decode(dot2 + 1, strlen(dot2 + 1));
	CU_ASSERT_EQUAL(mac_len, 32);
	CU_ASSERT(memcmp(sig, mac, 32) == 0);
	free(sig);
	json_object_put(claims);
	free(claims_text);
	free(hdr);
	free(jwt);
	http_request_clear(&req);

	/* The code comes back: next, token.do. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":0,\"success\":true,\"data\":{\"code\":\"c0de/1\",\"expires_in\":60}}",
				     now, &err), -EAGAIN);
	CU_ASSERT_PTR_NULL(err);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/api/token.do?grant_type=authorization_code"
					"&code=c0de%2F1&redirect_uri=https%3A%2F%2Fms.example%2Fcb");
	CU_ASSERT_PTR_NOT_NULL(req.body);
	CU_ASSERT_EQUAL(req.body_len, 0);
	/* base64("cid-1:s3cr3t-client-secret") */
	CU_ASSERT(has_header(&req, "Authorization: Basic Y2lkLTE6czNjcjN0LWNsaWVudC1zZWNyZXQ="));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"AT1\",\"token_type\":\"bearer\",\"expires_in\":3600,"
					     "\"refresh_token\":\"RT1\"}", now, &err), 0);
	CU_ASSERT_PTR_NULL(err);

	/* Cached: applied while fresh, renewed 300 s before expiry. */
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 3299), 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer AT1"));
	CU_ASSERT_EQUAL(header_count(&req), 1);
	http_request_clear(&req);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 3300), -EAGAIN);
	http_request_clear(&req);

	/* Renewal uses the refresh token. */
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/api/refreshToken.do?grant_type=refresh_token"
					"&refresh_token=RT1");
	CU_ASSERT(has_header(&req, "Authorization: Basic Y2lkLTE6czNjcjN0LWNsaWVudC1zZWNyZXQ="));
	http_request_clear(&req);
	now += 3300;
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"AT2\",\"expires_in\":\"7200\",\"refresh_token\":\"RT2\"}",
				     now, &err), 0);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 6899), 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer AT2"));
	http_request_clear(&req);

	/* Refused token: dropped, the refresh token kept (and rotated). */
	CU_ASSERT(auth_invalidate(t->auth));
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now), -EAGAIN);
	http_request_clear(&req);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/api/refreshToken.do?grant_type=refresh_token"
					"&refresh_token=RT2");
	http_request_clear(&req);
	/* A refresh that fails for a while keeps the refresh token... */
	CU_ASSERT_EQUAL(token_answer(t, 502, "bad gateway", now, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err, "refreshToken.do: HTTP 502: bad gateway");
	free(err);
	token_request(t, &req);
	CU_ASSERT_PTR_NOT_NULL(strstr(req.url, "refreshToken.do"));
	http_request_clear(&req);
	/* ...one refused falls back to the JWT flow at once. */
	CU_ASSERT_EQUAL(token_answer(t, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token RT2 is "
					     "invalid\"}", now, &err), -EAGAIN);
	CU_ASSERT_PTR_NULL(err);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_PTR_NOT_NULL(strstr(req.url, "/pan/api/authorizeByJWT.do?"));
	http_request_clear(&req);
	target_free(t);
	teardown();
}

static void test_auth_failures(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct http_request req;
	char *err = NULL;
	int64_t now = 1700000000;
	const char *code_ok = "{\"code\":0,\"success\":true,\"data\":{\"code\":\"C1\"}}";

	/* A refused JWT or client id: stop, do not hammer. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 401, "{\"code\":40101,\"success\":false,\"msg\":\"invalid jwt_token: bad "
					     "signature\"}", now, &err), -EACCES);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: HTTP 401: invalid jwt_token: bad signature");
	free(err);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":40100,\"success\":false,\"msg\":\"invalid client_id\"}", now,
				     &err), -EACCES);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: HTTP 200: invalid client_id");
	free(err);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 400, "{\"code\":10001,\"success\":false,\"msg\":\"missing parameter: "
					     "jwt_token\"}", now, &err), -EACCES);
	free(err);
	/* Trouble worth a retry later. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 0, NULL, now, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: no answer: Connection refused");
	free(err);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 429, "", now, &err), -EIO);
	free(err);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 503, "<html>", now, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: HTTP 503: <html>");
	free(err);
	/* Answers without a usable code. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":0,\"success\":true,\"data\":{\"code\":[1]}}", now, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: the answer has no authorization code at data.code");
	free(err);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "not json", now, &err), -EPROTO);
	free(err);

	/* token.do refusals. The code is single-use: whatever happened,
	 * the next attempt starts with a new JWT. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, code_ok, now, &err), -EAGAIN);
	token_request(t, &req);
	CU_ASSERT_PTR_NOT_NULL(strstr(req.url, "token.do?"));
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"authorization code "
					     "is invalid or expired\"}", now, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err, "token.do: HTTP 400: invalid_grant: authorization code is invalid or expired");
	free(err);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, code_ok, now, &err), -EAGAIN);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 401, "{\"error\":\"invalid_client\"}", now, &err), -EACCES);
	CU_ASSERT_STRING_EQUAL(err, "token.do: HTTP 401: invalid_client");
	free(err);
	/* Hostile token answers. */
	static const struct {
		const char *body;
		const char *err;
	} bad[] = {
		{ "{\"token_type\":\"bearer\"}", "token.do: the answer has no access_token" },
		{ "{\"access_token\":42}", "token.do: the answer has no access_token" },
		{ "{\"access_token\":\"a\\r\\nX-Evil: 1\"}", "token.do: the answer's tokens hold characters a header "
							     "cannot carry" },
		{ "{\"access_token\":\"\"}", "token.do: the answer's tokens hold characters a header cannot carry" },
		{ "{\"access_token\":\"ok\",\"refresh_token\":\"r t\"}", "token.do: the answer's tokens hold characters "
									 "a header cannot carry" },
		{ "{\"access_token\":\"ok\",\"expires_in\":0}", "token.do: expires_in is not a positive number of seconds" },
		{ "{\"access_token\":\"ok\",\"expires_in\":\"soon\"}", "token.do: expires_in is not a positive number of "
									"seconds" },
		{ "{\"code\":50000,\"success\":false,\"msg\":\"oops\"}", "token.do: HTTP 200: oops" },
		{ "[\"access_token\"]", "token.do: HTTP 200: [\"access_token\"]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		token_request(t, &req);
		http_request_clear(&req);
		CU_ASSERT_EQUAL(token_answer(t, 200, code_ok, now, &err), -EAGAIN);
		token_request(t, &req);
		http_request_clear(&req);
		CU_ASSERT_EQUAL(token_answer(t, 200, bad[i].body, now, &err), -EPROTO);
		if (!err || strcmp(err, bad[i].err) != 0)
			fprintf(stderr, "\n  err: %s\n  expected: %s\n", err, bad[i].err);
		CU_ASSERT_STRING_EQUAL(err ? err : "", bad[i].err);
		free(err);
		http_request_init(&req, "POST", xstrdup("http://x/"));
		CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now), -EAGAIN);
		http_request_clear(&req);
	}
	/* Whatever credential the request carried is scrubbed from reasons
	 * that quote it. */
	token_request(t, &req);
	char *sent_jwt = query_param(req.url, "jwt_token");
	http_request_clear(&req);
	char *echo;
	if (asprintf(&echo, "{\"code\":40101,\"msg\":\"bad jwt_token %s\"}", sent_jwt) < 0)
		abort();
	CU_ASSERT_EQUAL(token_answer(t, 401, echo, now, &err), -EACCES);
	CU_ASSERT_STRING_EQUAL(err, "authorizeByJWT.do: HTTP 401: bad jwt_token ********");
	free(err);
	free(echo);
	free(sent_jwt);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":0,\"data\":{\"code\":\"CODE-4711\"}}", now, &err), -EAGAIN);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"code CODE-4711 "
					     "expired\"}", now, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err, "token.do: HTTP 400: invalid_grant: code ******** expired");
	free(err);
	/* An answer to nothing. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{}", now, &err), -EPROTO);
	free(err);
	target_free(t);
	teardown();
}

static void test_auth_token_shapes(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bb"), NULL);
	struct http_request req;
	char *err = NULL;
	int64_t now = 1700000000;
	const char *code_ok = "{\"code\":0,\"success\":true,\"data\":{\"code\":\"C1\"}}";

	/* Wrapped in the envelope, without expires_in (an hour assumed) nor
	 * a refresh token (so the renewal is a new JWT). */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, code_ok, now, &err), -EAGAIN);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":0,\"success\":true,\"data\":{\"access_token\":\"W1\"}}", now,
				     &err), 0);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 3299), 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer W1"));
	http_request_clear(&req);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 3300), -EAGAIN);
	http_request_clear(&req);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	http_request_clear(&req);
	/* A short-lived token is renewed half-way, not at once. */
	CU_ASSERT_EQUAL(token_answer(t, 200, code_ok, now, &err), -EAGAIN);
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"S1\",\"expires_in\":60,\"refresh_token\":\"R\"}", now,
				     &err), 0);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 29), 0);
	http_request_clear(&req);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 30), -EAGAIN);
	http_request_clear(&req);
	/* An absurd lifetime is clamped to a year. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"L1\",\"expires_in\":9223372036854775807}", now, &err),
			0);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 366LL * 86400 - 301), 0);
	http_request_clear(&req);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 366LL * 86400 - 300), -EAGAIN);
	http_request_clear(&req);
	/* The refresh token (kept from before) is never echoed in a reason. */
	token_request(t, &req);
	CU_ASSERT_PTR_NOT_NULL(strstr(req.url, "refresh_token=R"));
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 500, "{\"msg\":\"secret s3cr3t-client-secret leaked\"}", now, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err, "refreshToken.do: HTTP 500: secret ******** leaked");
	free(err);
	/* So are tokens of this session. */
	token_request(t, &req);
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"ACCESS-1\",\"refresh_token\":\"REFRESH-1\"}", now,
				     &err), 0);
	CU_ASSERT(auth_invalidate(t->auth));
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/pan/api/refreshToken.do?grant_type=refresh_token"
					"&refresh_token=REFRESH-1");
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 503, "REFRESH-1 is busy; retry REFRESH-1", now, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err, "refreshToken.do: HTTP 503: ******** is busy; retry ********");
	free(err);
	target_free(t);
	teardown();
}

static void test_auth_configured(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "bbjson"), NULL);
	struct http_request req;
	char *err = NULL;
	int64_t now = 1700000000;

	token_request(t, &req);
	CU_ASSERT(starts_with(req.url, "http://127.0.0.1:9/oauth/jwt?response_type=code&client_id=cid-2&jwt_token="));
	char *jwt = query_param(req.url, "jwt_token");
	char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.');
	char *claims_text = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	json_object *claims = json_tokener_parse(claims_text), *iat, *exp;
	CU_ASSERT(json_object_object_get_ex(claims, "iat", &iat) && json_object_object_get_ex(claims, "exp", &exp));
	CU_ASSERT_EQUAL(json_object_get_int64(exp) - json_object_get_int64(iat), 60);
	json_object_put(claims);
	free(claims_text);
	free(jwt);
	http_request_clear(&req);
	/* code_path: a top-level "code" member that is not a number is not
	 * an envelope's. */
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"code\":0,\"result\":{\"auth_code\":4711}}", now, &err), -EAGAIN);
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/oauth/token?grant_type=authorization_code&code=4711"
					"&redirect_uri=http%3A%2F%2Flocalhost%2Fcb");
	CU_ASSERT(has_header(&req, "Authorization: Basic Y2lkLTI6czNjcjN0LWNsaWVudC1zZWNyZXQ="));
	http_request_clear(&req);
	CU_ASSERT_EQUAL(token_answer(t, 200, "{\"access_token\":\"A\",\"expires_in\":100,\"refresh_token\":\"R9\"}", now,
				     &err), 0);
	/* refresh_margin 10. */
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 89), 0);
	http_request_clear(&req);
	http_request_init(&req, "POST", xstrdup("http://x/"));
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, now + 90), -EAGAIN);
	http_request_clear(&req);
	/* refresh_basic_auth = false. */
	token_request(t, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/oauth/refresh?grant_type=refresh_token&refresh_token=R9");
	CU_ASSERT_PTR_NULL(header_value(&req, "Authorization"));
	http_request_clear(&req);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ schema */

static struct entry *person(void)
{
	struct entry *e = entry_new("uid=a,dc=x");
	entry_add(e, "mail", "a@x.org");
	entry_add(e, "cn", "A Person");
	entry_add(e, "departmentNumber", "3");
	entry_add(e, "departmentNumber", "12");
	entry_add(e, "gender", "2");
	entry_add(e, "joined", "1700000000");
	entry_add(e, "quota", "0");
	entry_add(e, "md5", "0");
	return e;
}

/* The reasons mapping gives entry e for target "bb" ("" when valid). */
static char *reasons(struct entry *e)
{
	struct mapped m = { 0 };
	const struct conf_target *tc = conf_find_target(conf, "bb");
	char *r = strdup(mapping_apply(tc->mapping, e, &m) == 0 ? "" : m.reasons);
	mapped_clear(&m);
	entry_free(e);
	return r;
}

#define EXPECT_REASON(entry, expected)                                                                  \
	do {                                                                                             \
		char *r_ = reasons(entry);                                                               \
		if (!strstr(r_, (expected)))                                                             \
			fprintf(stderr, "\n  reasons: %s\n  expected: %s\n", r_, (expected));            \
		CU_ASSERT_PTR_NOT_NULL(strstr(r_, (expected)));                                          \
		free(r_);                                                                                \
	} while (0)

static void set_attr(struct entry *e, const char *name, const char *value)
{
	struct entry_attr *a = entry_attr_get_or_add(e, name);
	for (size_t i = 0; i < a->n; i++)
		free(a->values[i].data);
	a->n = 0;
	if (value)
		entry_attr_add_value(a, value, strlen(value));
}

static void test_schema(void)
{
	setup();
	const struct conf_target *tc = conf_find_target(conf, "bb");
	struct mapped m = { 0 };
	struct entry *e = person();
	CU_ASSERT_EQUAL(mapping_apply(tc->mapping, e, &m), 0);
	char *shown = mapping_payload_redacted(tc->mapping, m.payload);
	CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\"password\":\"********\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\"department_ids\":[\"3\",\"12\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\"sex\":2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\"join_time\":1700000000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(shown, "\"can_ownfile\":-1"));
	CU_ASSERT_STRING_EQUAL(m.key, "a@x.org");
	free(shown);
	/* The password is secret: a new one is no change. */
	char hash[sizeof(m.hash)];
	memcpy(hash, m.hash, sizeof(hash));
	mapped_clear(&m);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(mapping_apply(tc->mapping, e, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.hash, hash);
	mapped_clear(&m);
	entry_free(e);

	/* Required fields. */
	e = person();
	set_attr(e, "mail", NULL);
	EXPECT_REASON(e, "email: required, but the mapping gives no value");
	e = person();
	set_attr(e, "cn", NULL);
	EXPECT_REASON(e, "name: required, but the mapping gives no value");
	/* Formats and ranges. */
	e = person();
	set_attr(e, "mail", "not-an-address");
	EXPECT_REASON(e, "email: value \"not-an-address\" does not match the required format (an email address)");
	e = person();
	set_attr(e, "gender", "3");
	EXPECT_REASON(e, "sex: value 3 is out of range (0 to 2)");
	e = person();
	set_attr(e, "gender", "-1");
	EXPECT_REASON(e, "sex: value -1 is out of range (0 to 2)");
	e = person();
	set_attr(e, "gender", "male");
	EXPECT_REASON(e, "sex: value \"male\" is not an integer");
	e = person();
	set_attr(e, "joined", "1700000000000");
	EXPECT_REASON(e, "join_time: value 1700000000000 is out of range (0 to 253402300799)");
	e = person();
	set_attr(e, "joined", "-5");
	EXPECT_REASON(e, "join_time: value -5 is out of range");
	e = person();
	set_attr(e, "quota", "-1");
	EXPECT_REASON(e, "spacelimit: value -1 is out of range");
	e = person();
	set_attr(e, "md5", "2");
	EXPECT_REASON(e, "password_is_md5: value 2 is out of range (0 to 1)");
	e = person();
	entry_add(e, "departmentNumber", "");
	EXPECT_REASON(e, "department_ids: value \"\" is 0 characters long, the minimum is 1");
	/* Every field valid, some absent. */
	e = person();
	set_attr(e, "departmentNumber", NULL);
	set_attr(e, "gender", NULL);
	char *none = reasons(e);
	CU_ASSERT_STRING_EQUAL(none, "");
	free(none);
	teardown();
}

static void test_schema_table(void)
{
	const struct target_driver *d = driver_find("babelbird");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->default_key, "email");
	CU_ASSERT(d->auth_required);
	CU_ASSERT_STRING_EQUAL(d->auth.type, "babelbird");
	CU_ASSERT_EQUAL(d->n_fields, 14);
	static const struct {
		const char *name;
		enum field_type type;
		unsigned flags;
		long long min, max;
	} want[] = {
		{ "email", FT_STRING, FIELD_REQUIRED, 0, 0 },
		{ "password", FT_STRING, FIELD_REQUIRED | FIELD_SECRET, 0, 0 },
		{ "name", FT_STRING, FIELD_REQUIRED, 0, 0 },
		{ "enterprise_role", FT_INT, 0, 0, 0 },
		{ "department_ids", FT_STRING_LIST, 0, 0, 0 },
		{ "department_roles", FT_STRING_LIST, 0, 0, 0 },
		{ "sex", FT_INT, FIELD_RANGE, 0, 2 },
		{ "phone", FT_STRING, 0, 0, 0 },
		{ "babelId", FT_STRING, 0, 0, 0 },
		{ "spacelimit", FT_INT, FIELD_RANGE, 0, LLONG_MAX },
		{ "can_ownfile", FT_INT, FIELD_RANGE, -1, 1 },
		{ "remarks", FT_STRING, 0, 0, 0 },
		{ "join_time", FT_INT, FIELD_RANGE, 0, 253402300799LL },
		{ "password_is_md5", FT_INT, FIELD_RANGE, 0, 1 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && i < d->n_fields; i++) {
		const struct field_schema *f = &d->fields[i];
		CU_ASSERT_STRING_EQUAL(f->name, want[i].name);
		CU_ASSERT_EQUAL(f->type, want[i].type);
		CU_ASSERT_EQUAL(f->flags, want[i].flags);
		if (f->flags & FIELD_RANGE) {
			CU_ASSERT_EQUAL(f->min_value, want[i].min);
			CU_ASSERT_EQUAL(f->max_value, want[i].max);
		}
	}
	CU_ASSERT_PTR_NOT_NULL(d->fields[0].check);
	CU_ASSERT(d->fields[0].check("a@b.org", 7));
	CU_ASSERT(!d->fields[0].check("a@b", 3));
}

/* ------------------------------------------------------------ settings */

/* Every diagnostic of loading a config with this target text. */
static char *load_errors(const char *target)
{
	char *d0 = unit_tmpdir();
	free(unit_write(d0, "bb.secret", SECRET, 0600));
	char *text;
	if (asprintf(&text, "source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\ntargets = (\n%s\n);\n", target) < 0)
		abort();
	char *path = unit_write(d0, "m.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	size_t size = 0;
	char *all = NULL;
	FILE *f = open_memstream(&all, &size);
	if (conf_load(path, &c, d) == 0)
		conf_free(c);
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->items[i]);
		fprintf(f, "%s\n", line);
		free(line);
	}
	fclose(f);
	diag_free(d);
	free(path);
	free(text);
	unit_rmrf(d0);
	free(d0);
	return all;
}

#define BB_AUTH "auth = { client_id = \"c\"; client_secret_file = \"bb.secret\"; redirect_uri = \"https://r/\"; "
#define BB_MAP "map = { email = \"${mail}\"; password = \"x\"; name = \"${cn}\"; };"

static void expect_error(const char *target, const char *expected)
{
	char *got = load_errors(target);
	if (!strstr(got, expected))
		fprintf(stderr, "\n  expected: %s\n  got:\n%s", expected, got);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, expected));
	free(got);
}

static void test_settings(void)
{
	char *ok = load_errors("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_AUTH "}; " BB_MAP " }");
	CU_ASSERT_STRING_EQUAL(ok, "");
	free(ok);
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_MAP " }",
		     "target b: required key 'auth' is missing");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; encoding = \"xml\"; " BB_AUTH "}; "
		     BB_MAP " }", "target b: encoding must be form or json, not 'xml'");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; duplicate_codes = [0]; " BB_AUTH
		     "}; " BB_MAP " }", "target b: duplicate_codes: 0 is BabelBird's success code");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; invalid_codes = [20001]; " BB_AUTH
		     "}; " BB_MAP " }", "m.conf:3: target b: duplicate_codes: code 20001 is also in invalid_codes");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth_codes = 10001; " BB_AUTH
		     "}; " BB_MAP " }", "m.conf:3: target b: invalid_codes: code 10001 is also in auth_codes");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; remote_id_path = \"\"; " BB_AUTH
		     "}; " BB_MAP " }", "target b: remote_id_path must not be empty");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; update_path = \"\"; " BB_AUTH
		     "}; " BB_MAP " }", "target b: update_path must not be empty");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; update_id_param = \"\"; " BB_AUTH
		     "}; " BB_MAP " }", "target b: update_id_param must not be empty");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; absent_codes = [20001]; " BB_AUTH
		     "}; " BB_MAP " }", "target b: duplicate_codes: code 20001 is also in absent_codes");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; absent_codes = [0]; " BB_AUTH
		     "}; " BB_MAP " }", "target b: absent_codes: 0 is BabelBird's success code");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; invalid_codes = [20002]; " BB_AUTH
		     "}; " BB_MAP " }", "target b: invalid_codes: code 20002 is also in absent_codes");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; duplicate_codes = \"x\"; " BB_AUTH
		     "}; " BB_MAP " }", "duplicate_codes");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; map = { email = \"${mail}\"; "
		     "password = \"x\"; }; " BB_AUTH "}; }",
		     "target b: map: field 'name' is required by the babelbird driver but not mapped");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; map = { email = \"${mail}\"; "
		     "password = \"x\"; name = \"n\"; gender = 1; }; " BB_AUTH "}; }", "gender");
	/* The auth group. */
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_id = \"c\"; "
		     "redirect_uri = \"https://r/\"; }; " BB_MAP " }",
		     "target b: auth: required key 'client_secret_file' is missing");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_secret_file = "
		     "\"bb.secret\"; client_id = \"c\"; }; " BB_MAP " }",
		     "target b: auth: required key 'redirect_uri' is missing");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_secret_file = "
		     "\"bb.secret\"; client_id = \"c:d\"; redirect_uri = \"https://r/\"; }; " BB_MAP " }",
		     "target b: auth.client_id must not contain ':'");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_secret_file = "
		     "\"bb.secret\"; client_id = \"c d\"; redirect_uri = \"https://r/\"; }; " BB_MAP " }",
		     "target b: auth.client_id must be printable ASCII without spaces");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_secret_file = "
		     "\"bb.secret\"; client_id = \"c\"; redirect_uri = \"urn:x\"; }; " BB_MAP " }",
		     "target b: auth.redirect_uri must start with http:// or https://");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_AUTH "jwt_ttl = 0; }; " BB_MAP
		     " }", "target b: auth: jwt_ttl = 0 is out of range (1 to 86400)");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_AUTH "refresh_margin = -1; }; "
		     BB_MAP " }", "target b: auth: refresh_margin = -1 is out of range (0 to 86400)");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_AUTH "token_path = \"\"; }; "
		     BB_MAP " }", "target b: auth.token_path must be a non-empty path without spaces");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; auth = { client_secret_file = "
		     "\"missing.secret\"; client_id = \"c\"; redirect_uri = \"https://r/\"; }; " BB_MAP " }",
		     "target b: auth.client_secret_file:");
	expect_error("{ name = \"b\"; driver = \"babelbird\"; url = \"https://pan\"; " BB_AUTH "key_file = \"x\"; }; "
		     BB_MAP " }", "target b: auth: unknown key 'key_file'");
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "add request, form", test_add_request_form },
		{ "add request, json and configured paths", test_add_request_json },
		{ "answers", test_answers },
		{ "answers with configured codes and paths", test_answers_configured },
		{ "long and hostile bodies", test_long_message_cut },
		{ "a duplicate is looked up to adopt its id", test_duplicate_lookup },
		{ "lookup with configured paths", test_duplicate_lookup_configured },
		{ "ops the driver declares", test_ops_declared },
		{ "disable and enable freeze and unfreeze", test_freeze_requests },
		{ "update request: no password", test_update_request },
		{ "answers to updateUserInfo.do", test_op_answers },
		{ "update, disable, enable find the id first", test_find_first },
		{ "lookup of an interrupted add", test_op_lookup },
		{ "auth: JWT, code, token, refresh, invalidate", test_auth_flow },
		{ "auth: refusals and hostile answers", test_auth_failures },
		{ "auth: token answer shapes and lifetimes", test_auth_token_shapes },
		{ "auth: configured paths and lifetimes", test_auth_configured },
		{ "schema rules through the mapping", test_schema },
		{ "schema table", test_schema_table },
		{ "settings are checked", test_settings },
		{ NULL, NULL },
	};
	return unit_run("babelbird", tests);
}
