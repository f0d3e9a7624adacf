/* The SCIM 2.0 driver: the User resource it assembles from flat fields,
 * the requests it builds (the add, and the filter lookup with its value
 * escaped), how it reads every answer (SCIM errors with "status" as a
 * string, ListResponses, hostile bodies), its field schema and its
 * configuration keys. */
#include "config.h"

#include "config/conf.h"
#include "ldap/entry.h"
#include "targets/target.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"

#define CORE "urn:ietf:params:scim:schemas:core:2.0:User"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static char *dir;
static struct conf *conf;

static const char *const source_text = DRIVER_CONF_SOURCE;

static const char *const targets_text =
	"targets = (\n"
	" { name = \"sc\"; driver = \"scim\"; url = \"http://127.0.0.1:9/scim/v2/\";\n"
	"   auth = { key_file = \"scim.token\"; };\n"
	"   map = { userName = \"${uid}\"; email = \"${mail}\"; givenName = \"${givenName}\";\n"
	"           familyName = \"${sn}\"; formattedName = \"${cn}\"; active = true;\n"
	"           locale = \"${l}\"; timezone = \"${tz}\"; preferredLanguage = \"${preferredLanguage}\";\n"
	"           password = \"${random_password(12)}\"; }; },\n"
	DRIVER_CONF_SCIM_ENT_HEAD
	"   map = { userName = \"${uid}\"; externalId = \"${employeeNumber}\"; department = \"${ou}\";\n"
	"           manager = \"${manager}\"; employeeNumber = \"${employeeNumber}\"; }; },\n"
	" { name = \"pt\"; driver = \"scim\"; url = \"http://127.0.0.1:9/scim/v2\"; update_method = \"patch\";\n"
	"   enterprise_extension = true; auth = { key_file = \"scim.token\"; };\n"
	"   map = { userName = \"${uid}\"; givenName = \"${givenName}\"; email = \"${mail}\"; active = true;\n"
	"           password = \"${random_password(12)}\"; department = \"${ou}\"; manager = \"${manager}\"; }; }\n"
	");\n";

static char *conf_path(const char *text)
{
	char *full;
	if (asprintf(&full, "%s%s", source_text, text) < 0)
		abort();
	char *path = unit_write(dir, "m.conf", full, 0644);
	free(full);
	return path;
}

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "scim.token", "s3cr3t-token\n", 0600));
	char *path = conf_path(targets_text);
	conf = fixture_load_path(path);
	free(path);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

static size_t n_headers(const struct http_request *req)
{
	size_t n = 0;
	for (const struct curl_slist *l = req->headers; l; l = l->next)
		n++;
	return n;
}

/* One step with an answer (status < 0: no answer, the first call or a
 * retry). req and out are left as the driver filled them. */
static enum step_result answer(struct target *t, struct push_item *it, long status, const char *body,
			       long retry_after, struct http_request *req, struct outcome *out, bool *creates)
{
	return fixture_step(t, it, status, body, retry_after, req, out, creates);
}

static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out)
{
	bool creates;
	return answer(t, it, status, body, -1, req, out, &creates);
}

static void done(struct http_request *req, struct outcome *o)
{
	http_request_clear(req);
	outcome_clear(o);
}

static struct target *target(const char *name)
{
	return target_new(conf_find_target(conf, name), NULL);
}

/* ------------------------------------------------------------ requests */

static void expect_body(const char *target_name, const char *payload, const char *body)
{
	struct target *t = target(target_name);
	struct push_item it = item("k", payload);
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	if (!req.body || strcmp(req.body, body) != 0)
		fprintf(stderr, "\n  body:     %s\n  expected: %s\n", req.body, body);
	CU_ASSERT_STRING_EQUAL(req.body ? req.body : "", body);
	CU_ASSERT_EQUAL(req.body_len, strlen(body));
	done(&req, &o);
	item_clear(&it);
	target_free(t);
}

static void test_request(void)
{
	setup();
	struct target *t = target("sc");
	struct push_item it = item("jdoe", "{\"userName\":\"jdoe\"}");
	struct http_request req;
	struct outcome o;
	bool creates;
	CU_ASSERT_EQUAL(answer(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(creates);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/scim/v2/Users");
	CU_ASSERT(has_header(&req, "Content-Type: application/scim+json"));
	CU_ASSERT(has_header(&req, "Accept: application/scim+json"));
	CU_ASSERT_EQUAL(n_headers(&req), 2);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"schemas\":[\"" CORE "\"],\"userName\":\"jdoe\"}");
	/* The default auth is bearer; the engine adds it. */
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, 0), 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer s3cr3t-token"));
	CU_ASSERT_STRING_EQUAL(auth_type(t->conf->auth), "bearer");
	done(&req, &o);
	item_clear(&it);
	target_free(t);

	/* Another users_path and media type. */
	t = target("ent");
	it = item("7", "{\"userName\":\"jdoe\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "https://idp.example.com/api/v2/Users");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_body(void)
{
	setup();
	/* Every core field, in the resource's shape and order; the flat
	 * names never reach the server. */
	expect_body("sc",
		    "{\"password\":\"pw-1\",\"phoneNumber\":\"+1 555 0100\",\"email\":\"j@x.org\",\"active\":false,"
		    "\"timezone\":\"Europe/Paris\",\"locale\":\"fr-FR\",\"preferredLanguage\":\"fr, en;q=0.5\","
		    "\"userType\":\"Employee\",\"title\":\"Dr\",\"nickName\":\"jj\",\"displayName\":\"J Doe\","
		    "\"middleName\":\"Q\",\"givenName\":\"J\",\"familyName\":\"Doe\",\"formattedName\":\"J Q Doe\","
		    "\"externalId\":\"e-1\",\"userName\":\"jdoe\"}",
		    "{\"schemas\":[\"" CORE "\"],\"userName\":\"jdoe\",\"externalId\":\"e-1\","
		    "\"name\":{\"formatted\":\"J Q Doe\",\"familyName\":\"Doe\",\"givenName\":\"J\",\"middleName\":\"Q\"},"
		    "\"displayName\":\"J Doe\",\"nickName\":\"jj\",\"title\":\"Dr\",\"userType\":\"Employee\","
		    "\"preferredLanguage\":\"fr, en;q=0.5\",\"locale\":\"fr-FR\",\"timezone\":\"Europe/Paris\","
		    "\"active\":false,\"emails\":[{\"value\":\"j@x.org\",\"type\":\"work\",\"primary\":true}],"
		    "\"phoneNumbers\":[{\"value\":\"+1 555 0100\",\"type\":\"work\"}],\"password\":\"pw-1\"}");
	/* Only the name parts that are mapped; slashes and Unicode as is. */
	expect_body("sc", "{\"userName\":\"a/b\",\"familyName\":\"张\"}",
		    "{\"schemas\":[\"" CORE "\"],\"userName\":\"a/b\",\"name\":{\"familyName\":\"张\"}}");
	/* The enterprise extension: its URN is listed, manager is complex,
	 * and the configured email and phone types are used. */
	expect_body("ent",
		    "{\"userName\":\"jdoe\",\"email\":\"j@x.org\",\"phoneNumber\":\"555\",\"department\":\"R&D\","
		    "\"manager\":\"26118915-6090-4610-87e4-49d8ca9f808d\",\"employeeNumber\":\"701984\","
		    "\"costCenter\":\"4130\",\"organization\":\"Universal Studios\",\"division\":\"Theme Park\"}",
		    "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"jdoe\","
		    "\"emails\":[{\"value\":\"j@x.org\",\"type\":\"home\",\"primary\":true}],"
		    "\"phoneNumbers\":[{\"value\":\"555\",\"type\":\"mobile\"}],"
		    "\"" ENT "\":{\"employeeNumber\":\"701984\",\"costCenter\":\"4130\","
		    "\"organization\":\"Universal Studios\",\"division\":\"Theme Park\",\"department\":\"R&D\","
		    "\"manager\":{\"value\":\"26118915-6090-4610-87e4-49d8ca9f808d\"}}}");
	/* No extension attributes: the extension is not listed. */
	expect_body("ent", "{\"userName\":\"jdoe\"}", "{\"schemas\":[\"" CORE "\"],\"userName\":\"jdoe\"}");
	teardown();
}

/* ------------------------------------------------------------ answers */

static void expect_id(const char *got, const char *want)
{
	if (!want) {
		CU_ASSERT_PTR_NULL(got);
	} else {
		CU_ASSERT_PTR_NOT_NULL(got);
		CU_ASSERT_STRING_EQUAL(got ? got : "", want);
	}
}

#define EXPECT_ADD(t, status, body, retry_after, kind_, reason_, id_)                           \
	do {                                                                                    \
		struct push_item it_ = item("a", "{\"userName\":\"a\"}");                       \
		struct http_request req_;                                                       \
		struct outcome o_;                                                              \
		bool c_;                                                                        \
		CU_ASSERT_EQUAL(answer((t), &it_, (status), (body), (retry_after), &req_, &o_, &c_), \
				STEP_DONE);                                                     \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                              \
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                            \
			fprintf(stderr, "\n  reason:   %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));                  \
		expect_id(o_.remote_id, (id_));                                                 \
		CU_ASSERT_EQUAL(it_.stage, 0);                                                  \
		done(&req_, &o_);                                                               \
		item_clear(&it_);                                                               \
	} while (0)

#define ERR(status, type, detail) \
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"" status "\"" type \
	",\"detail\":\"" detail "\"}"

/* 255 characters, the longest id taken. */
#define ID_50 "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdef"
#define LONG_ID ID_50 ID_50 ID_50 ID_50 ID_50 "abcde"

static void test_add_answers(void)
{
	setup();
	struct target *t = target("sc");
	const char *none = NULL;
	EXPECT_ADD(t, 201, "{\"schemas\":[\"" CORE "\"],\"id\":\"2819c223-7f76\",\"userName\":\"a\"}", -1, OUTCOME_OK,
		   "created as user 2819c223-7f76", "2819c223-7f76");
	EXPECT_ADD(t, 200, "{\"id\":42}", -1, OUTCOME_OK, "created as user 42", "42");
	/* Created, even if the answer does not say as what. */
	EXPECT_ADD(t, 201, "", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "<html>", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "{\"id\":{\"value\":\"x\"}}", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "{\"id\":\"\"}", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "[\"id\"]", -1, OUTCOME_OK, "created (the answer has no id)", none);
	/* Nothing that could break a log line or bloat the state database. */
	EXPECT_ADD(t, 201, "{\"id\":\"a\\nb\"}", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "{\"id\":\"\xff\"}", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "{\"id\":\"" LONG_ID "x\"}", -1, OUTCOME_OK, "created (the answer has no id)", none);
	EXPECT_ADD(t, 201, "{\"id\":\"" LONG_ID "\"}", -1, OUTCOME_OK, "created as user " LONG_ID, LONG_ID);

	/* Validation: the API's own words, scimType included. */
	EXPECT_ADD(t, 400, ERR("400", ",\"scimType\":\"invalidValue\"", "active must be a boolean"), -1,
		   OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400 invalidValue: active must be a boolean",
		   none);
	EXPECT_ADD(t, 400, ERR("400", ",\"scimType\":\"invalidSyntax\"", "unknown attribute \\\"foo\\\""), -1,
		   OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400 invalidSyntax: unknown attribute \"foo\"", none);
	/* status as a number (not the RFC's string) reads the same. */
	EXPECT_ADD(t, 400, "{\"status\":400,\"detail\":\"bad\"}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: bad", none);
	EXPECT_ADD(t, 422, "{\"detail\":\"Unprocessable\"}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 422: Unprocessable", none);
	EXPECT_ADD(t, 400, "", -1, OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400 with an empty body", none);

	/* Credentials, throttling, server trouble. */
	EXPECT_ADD(t, 401, ERR("401", "", "Authorization failure"), -1, OUTCOME_AUTH,
		   "HTTP 401: " ERR("401", "", "Authorization failure"), none);
	EXPECT_ADD(t, 403, "", -1, OUTCOME_AUTH, "HTTP 403 with an empty body", none);
	EXPECT_ADD(t, 429, ERR("429", "", "Too many requests"), 7, OUTCOME_THROTTLED,
		   "HTTP 429: " ERR("429", "", "Too many requests"), none);
	EXPECT_ADD(t, 413, ERR("413", "", "Payload too large"), -1, OUTCOME_TRANSIENT,
		   "the SCIM server found the request too large: HTTP 413: Payload too large", none);
	EXPECT_ADD(t, 507, ERR("507", "", "Insufficient storage"), -1, OUTCOME_TRANSIENT,
		   "HTTP 507: " ERR("507", "", "Insufficient storage"), none);
	EXPECT_ADD(t, 500, "<h1>oops</h1>", -1, OUTCOME_TRANSIENT, "HTTP 500: <h1>oops</h1>", none);
	EXPECT_ADD(t, 503, "", 3, OUTCOME_THROTTLED, "HTTP 503 with an empty body", none);
	EXPECT_ADD(t, 503, "", -1, OUTCOME_TRANSIENT, "HTTP 503 with an empty body", none);
	EXPECT_ADD(t, 0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Connection refused", none);

	/* A wrong endpoint is not the member's fault: not skipped as invalid. */
	EXPECT_ADD(t, 404, ERR("404", "", "no such endpoint"), -1, OUTCOME_PERMANENT,
		   "the SCIM server refused the request (check url, users_path and media_type): HTTP 404: "
		   "no such endpoint", none);
	EXPECT_ADD(t, 415, "", -1, OUTCOME_PERMANENT,
		   "the SCIM server refused the request (check url, users_path and media_type): HTTP 415 with an "
		   "empty body", none);
	EXPECT_ADD(t, 302, "", -1, OUTCOME_PERMANENT,
		   "unexpected answer from the SCIM server: HTTP 302 with an empty body", none);
	EXPECT_ADD(t, 204, "", -1, OUTCOME_PERMANENT,
		   "unexpected answer from the SCIM server: HTTP 204 with an empty body", none);

	/* Retry-After reaches the engine. */
	struct push_item it = item("a", "{\"userName\":\"a\"}");
	struct http_request req;
	struct outcome o;
	bool creates;
	answer(t, &it, 429, "", 7, &req, &o, &creates);
	CU_ASSERT_EQUAL(o.retry_after, 7);
	done(&req, &o);
	answer(t, &it, 413, "", 30, &req, &o, &creates);
	CU_ASSERT_EQUAL(o.retry_after, 30);
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_hostile_answers(void)
{
	setup();
	struct target *t = target("sc");
	const char *none = NULL;
	/* Not JSON, truncated JSON, trailing garbage. */
	EXPECT_ADD(t, 400, "{\"detail\":", -1, OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400: {\"detail\":",
		   none);
	EXPECT_ADD(t, 400, "{\"detail\":\"x\"} trailing", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: {\"detail\":\"x\"} trailing", none);
	/* Wrong types: detail an array, scimType an object. */
	EXPECT_ADD(t, 400, "{\"detail\":[1],\"scimType\":{}}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: {\"detail\":[1],\"scimType\":{}}", none);
	EXPECT_ADD(t, 400, "{\"detail\":\"d\",\"scimType\":[\"uniqueness\"]}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: d", none);
	/* Control characters and invalid UTF-8 in the detail are escaped. */
	EXPECT_ADD(t, 400, "{\"detail\":\"line1\\nline2\\u0001\"}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: line1\\x0aline2\\x01", none);
	EXPECT_ADD(t, 400, "{\"detail\":\"bad \xff\xfe bytes\"}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: bad \\xff\\xfe bytes", none);
	/* Deeper than the parser allows: read as not JSON, no crash. */
	char deep[2100];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 1000; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	struct push_item it = item("a", "{\"userName\":\"a\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, 400, deep, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 201, deep, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	done(&req, &o);

	/* A very long detail is cut, and so is a very long body. */
	size_t big = 100000;
	char *body = malloc(big + 32);
	strcpy(body, "{\"detail\":\"");
	memset(body + strlen(body), 'x', big);
	strcpy(body + 11 + big, "\"}");
	CU_ASSERT_EQUAL(step(t, &it, 400, body, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (100000 bytes)"));
	done(&req, &o);
	memset(body, 'y', big);
	body[big] = '\0';
	CU_ASSERT_EQUAL(step(t, &it, 400, body, &req, &o), STEP_DONE);
	CU_ASSERT(strlen(o.reason) < 300);
	done(&req, &o);
	free(body);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ duplicates */

static const char *const list_one =
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":1,"
	"\"startIndex\":1,\"itemsPerPage\":1,\"Resources\":[{\"id\":\"u-9\",\"userName\":\"JDoe\"}]}";

/* A 409 for it (a fresh item) and the lookup it leads to. */
static void to_lookup(struct target *t, struct push_item *it, const char *conflict, const char *url)
{
	struct http_request req;
	struct outcome o;
	bool creates = true;
	CU_ASSERT_EQUAL(answer(t, it, 409, conflict, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_EQUAL(it->stage, 1);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	if (strcmp(req.url, url) != 0)
		fprintf(stderr, "\n  url:      %s\n  expected: %s\n", req.url, url);
	CU_ASSERT_STRING_EQUAL(req.url, url);
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(has_header(&req, "Accept: application/scim+json"));
	CU_ASSERT_EQUAL(n_headers(&req), 1);
	done(&req, &o);
}

#define LOOKUP_URL(enc) "http://127.0.0.1:9/scim/v2/Users?filter=userName%20eq%20%22" enc "%22"

#define EXPECT_LOOKUP(t, status, body, kind_, reason_, id_)                                     \
	do {                                                                                    \
		struct push_item it_ = item("jdoe", "{\"userName\":\"jdoe\"}");                 \
		struct http_request req_;                                                       \
		struct outcome o_;                                                              \
		to_lookup((t), &it_, ERR("409", ",\"scimType\":\"uniqueness\"", "taken"),      \
			  LOOKUP_URL("jdoe"));                                                  \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_), STEP_DONE);      \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                              \
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                            \
			fprintf(stderr, "\n  reason:   %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));                  \
		expect_id(o_.remote_id, (id_));                                                 \
		done(&req_, &o_);                                                               \
		item_clear(&it_);                                                               \
	} while (0)

static void test_duplicate_lookup(void)
{
	setup();
	struct target *t = target("sc");
	const char *none = NULL;
	/* userName is case-insensitive: the server's JDoe is our jdoe. */
	EXPECT_LOOKUP(t, 200, list_one, OUTCOME_DUPLICATE, "already at the SCIM server as user u-9", "u-9");
	/* An exact match wins over one that differs in case. */
	EXPECT_LOOKUP(t, 200,
		      "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"userName\":\"JDOE\"},"
		      "{\"id\":\"u-2\",\"userName\":\"jdoe\"}]}",
		      OUTCOME_DUPLICATE, "already at the SCIM server as user u-2", "u-2");
	/* A lone result without userName (attributes=id servers) is taken. */
	EXPECT_LOOKUP(t, 200, "{\"totalResults\":1,\"Resources\":[{\"id\":\"u-3\"}]}", OUTCOME_DUPLICATE,
		      "already at the SCIM server as user u-3", "u-3");
	/* A server that ignored the filter: someone else is not adopted. */
	EXPECT_LOOKUP(t, 200, "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"userName\":\"alice\"},"
			      "{\"id\":\"u-2\",\"userName\":\"bob\"}]}",
		      OUTCOME_DUPLICATE, "already at the SCIM server (the lookup found 2 users, none named \"jdoe\")",
		      none);
	EXPECT_LOOKUP(t, 200, "{\"totalResults\":5,\"itemsPerPage\":0}", OUTCOME_DUPLICATE,
		      "already at the SCIM server (the lookup found 5 users, none named \"jdoe\")", none);
	/* No such user: the conflict is on another unique attribute. */
	EXPECT_LOOKUP(t, 200, "{\"totalResults\":0,\"Resources\":[]}", OUTCOME_INVALID,
		      "the SCIM server refused the user as a duplicate, but no user is named \"jdoe\": another user "
		      "holds one of its unique values", none);
	EXPECT_LOOKUP(t, 200, "{\"schemas\":[\"x\"],\"totalResults\":0}", OUTCOME_INVALID,
		      "the SCIM server refused the user as a duplicate, but no user is named \"jdoe\": another user "
		      "holds one of its unique values", none);
	EXPECT_LOOKUP(t, 200, "{\"Resources\":[]}", OUTCOME_INVALID,
		      "the SCIM server refused the user as a duplicate, but no user is named \"jdoe\": another user "
		      "holds one of its unique values", none);
	/* Lookups that cannot tell: still synced, without an id. */
	EXPECT_LOOKUP(t, 200, "{}", OUTCOME_DUPLICATE,
		      "already at the SCIM server (the answer to the lookup is not a ListResponse)", none);
	EXPECT_LOOKUP(t, 200, "not json", OUTCOME_DUPLICATE,
		      "already at the SCIM server (its id could not be looked up: HTTP 200: not json)", none);
	EXPECT_LOOKUP(t, 200, "{\"Resources\":{\"id\":\"u-1\"}}", OUTCOME_DUPLICATE,
		      "already at the SCIM server (the answer to the lookup is not a ListResponse)", none);
	EXPECT_LOOKUP(t, 200, "{\"totalResults\":1,\"Resources\":[7,null,\"x\",{\"id\":[1],\"userName\":\"jdoe\"}]}",
		      OUTCOME_DUPLICATE, "already at the SCIM server (the lookup found 4 users, none named \"jdoe\")",
		      none);
	EXPECT_LOOKUP(t, 400, ERR("400", ",\"scimType\":\"invalidFilter\"", "filter not supported"),
		      OUTCOME_DUPLICATE,
		      "already at the SCIM server (its id could not be looked up: HTTP 400 invalidFilter: filter not "
		      "supported)", none);
	EXPECT_LOOKUP(t, 501, ERR("501", "", "Filtering is not supported"), OUTCOME_DUPLICATE,
		      "already at the SCIM server (its id could not be looked up: HTTP 501: Filtering is not "
		      "supported)", none);
	EXPECT_LOOKUP(t, 500, "", OUTCOME_TRANSIENT, "HTTP 500 with an empty body", none);
	/* A token that may create but not search does not pause the target... */
	EXPECT_LOOKUP(t, 403, ERR("403", "", "Forbidden"), OUTCOME_DUPLICATE,
		      "already at the SCIM server (its id could not be looked up: HTTP 403: Forbidden)", none);
	/* ...but refused credentials do, and trouble is retried. */
	EXPECT_LOOKUP(t, 401, "", OUTCOME_AUTH, "HTTP 401 with an empty body", none);
	EXPECT_LOOKUP(t, 429, "", OUTCOME_THROTTLED, "HTTP 429 with an empty body", none);
	EXPECT_LOOKUP(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", none);

	/* A retried lookup is built again, not the add. */
	struct push_item it = item("jdoe", "{\"userName\":\"jdoe\"}");
	struct http_request req;
	struct outcome o;
	bool creates = true;
	to_lookup(t, &it, "", LOOKUP_URL("jdoe"));
	CU_ASSERT_EQUAL(step(t, &it, 503, "", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	done(&req, &o);
	CU_ASSERT_EQUAL(answer(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, LOOKUP_URL("jdoe"));
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, list_one, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "u-9");
	done(&req, &o);
	item_clear(&it);

	/* 400 with scimType uniqueness (some servers) is a conflict too. */
	it = item("jdoe", "{\"userName\":\"jdoe\"}");
	CU_ASSERT_EQUAL(step(t, &it, 400, ERR("400", ",\"scimType\":\"Uniqueness\"", "taken"), &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	done(&req, &o);
	item_clear(&it);
	/* Any 409 is a conflict, whatever its body. */
	it = item("jdoe", "{\"userName\":\"jdoe\"}");
	CU_ASSERT_EQUAL(step(t, &it, 409, "<html>Conflict</html>", &req, &o), STEP_SEND);
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_filter_escaping(void)
{
	setup();
	struct target *t = target("sc");
	/* RFC 7644 3.4.2.2: the value is a JSON string; then the whole
	 * filter is percent-encoded. */
	struct push_item it = item("k", "{\"userName\":\"O\\\"Brien\\\\x\\ty é+&=\"}");
	to_lookup(t, &it, "", LOOKUP_URL("O%5C%22Brien%5C%5Cx%5Cu0009y%20%C3%A9%2B%26%3D"));
	item_clear(&it);
	/* The filter uses userName, not the member key. */
	target_free(t);
	t = target("ent");
	it = item("701984", "{\"userName\":\"jdoe\",\"externalId\":\"701984\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, 409, "", &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "https://idp.example.com/api/v2/Users?filter=userName%20eq%20%22jdoe%22");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ other ops */

#define PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define USERS "http://127.0.0.1:9/scim/v2/Users"
#define FIND_URL(enc) USERS "?filter=userName%20eq%20%22" enc "%22"


/* The first request of it: sent, and never one that may create. */
static void expect_request(struct target *t, struct push_item *it, const char *method, const char *url,
			   const char *body)
{
	struct http_request req;
	struct outcome o;
	bool creates = true;
	CU_ASSERT_EQUAL(answer(t, it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_STRING_EQUAL(req.method, method);
	if (strcmp(req.url, url) != 0)
		fprintf(stderr, "\n  url:      %s\n  expected: %s\n", req.url, url);
	CU_ASSERT_STRING_EQUAL(req.url, url);
	if (!body) {
		CU_ASSERT_PTR_NULL(req.body);
		CU_ASSERT(has_header(&req, "Accept: application/scim+json"));
		CU_ASSERT_EQUAL(n_headers(&req), 1);
	} else {
		if (!req.body || strcmp(req.body, body) != 0)
			fprintf(stderr, "\n  body:     %s\n  expected: %s\n", req.body, body);
		CU_ASSERT_STRING_EQUAL(req.body ? req.body : "", body);
		CU_ASSERT(has_header(&req, "Content-Type: application/scim+json"));
		CU_ASSERT(has_header(&req, "Accept: application/scim+json"));
		CU_ASSERT_EQUAL(n_headers(&req), 2);
	}
	done(&req, &o);
}

static void test_op_requests(void)
{
	setup();
	struct target *t = target("sc");
	const char *payload = "{\"userName\":\"jdoe\",\"password\":\"pw-1\",\"givenName\":\"J\",\"email\":\"j@x.org\","
			      "\"active\":true}";
	/* An update replaces the resource, the password left out: it would
	 * reset the person's password on every change. */
	struct push_item it = op_item(OP_UPDATE, "jdoe", payload, "u-1");
	expect_request(t, &it, "PUT", USERS "/u-1",
		       "{\"schemas\":[\"" CORE "\"],\"userName\":\"jdoe\",\"name\":{\"givenName\":\"J\"},"
		       "\"active\":true,\"emails\":[{\"value\":\"j@x.org\",\"type\":\"work\",\"primary\":true}]}");
	CU_ASSERT_EQUAL(it.stage, 0);
	item_clear(&it);
	/* Disable and enable need no payload. */
	it = op_item(OP_DISABLE, "jdoe", NULL, "u-1");
	expect_request(t, &it, "PATCH", USERS "/u-1",
		       "{\"schemas\":[\"" PATCH_OP "\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\","
		       "\"value\":false}]}");
	item_clear(&it);
	it = op_item(OP_ENABLE, "jdoe", payload, "u-1");
	expect_request(t, &it, "PATCH", USERS "/u-1",
		       "{\"schemas\":[\"" PATCH_OP "\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\","
		       "\"value\":true}]}");
	item_clear(&it);
	it = op_item(OP_DELETE, "jdoe", NULL, "u-1");
	expect_request(t, &it, "DELETE", USERS "/u-1", NULL);
	item_clear(&it);
	/* The id is one path segment, whatever it holds. */
	it = op_item(OP_DELETE, "jdoe", NULL, "a/b c?d");
	expect_request(t, &it, "DELETE", USERS "/a%2Fb%20c%3Fd", NULL);
	item_clear(&it);
	/* A lookup filters, even with an id at hand. */
	it = op_item(OP_LOOKUP, "jdoe", payload, "u-1");
	expect_request(t, &it, "GET", FIND_URL("jdoe"), NULL);
	item_clear(&it);
	/* The key escaped as a JSON string, then percent-encoded. */
	it = op_item(OP_LOOKUP, "O\"Brien\\x", NULL, NULL);
	expect_request(t, &it, "GET", FIND_URL("O%5C%22Brien%5C%5Cx"), NULL);
	item_clear(&it);
	/* No stored id (or an empty one, which would name the collection):
	 * found first. */
	static const enum push_op ops[] = { OP_UPDATE, OP_DISABLE, OP_ENABLE, OP_DELETE };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		it = op_item(ops[i], "jdoe", payload, NULL);
		expect_request(t, &it, "GET", FIND_URL("jdoe"), NULL);
		item_clear(&it);
		it = op_item(ops[i], "jdoe", payload, "");
		expect_request(t, &it, "GET", FIND_URL("jdoe"), NULL);
		item_clear(&it);
	}
	target_free(t);

	/* update_method = "patch": one replace per attribute, the extension's
	 * one by one (the URN alone is no path); still no password. */
	t = target("pt");
	it = op_item(OP_UPDATE, "jdoe",
		     "{\"userName\":\"jdoe\",\"password\":\"pw-1\",\"givenName\":\"J\",\"email\":\"j@x.org\","
		     "\"active\":true,\"department\":\"R&D\",\"manager\":\"m-1\"}",
		     "u-1");
	expect_request(t, &it, "PATCH", USERS "/u-1",
		       "{\"schemas\":[\"" PATCH_OP "\"],\"Operations\":["
		       "{\"op\":\"replace\",\"path\":\"userName\",\"value\":\"jdoe\"},"
		       "{\"op\":\"replace\",\"path\":\"name\",\"value\":{\"givenName\":\"J\"}},"
		       "{\"op\":\"replace\",\"path\":\"active\",\"value\":true},"
		       "{\"op\":\"replace\",\"path\":\"emails\",\"value\":[{\"value\":\"j@x.org\",\"type\":\"work\","
		       "\"primary\":true}]},"
		       "{\"op\":\"replace\",\"path\":\"" ENT ":department\",\"value\":\"R&D\"},"
		       "{\"op\":\"replace\",\"path\":\"" ENT ":manager\",\"value\":{\"value\":\"m-1\"}}]}");
	item_clear(&it);
	/* Disable is the same PATCH with either method. */
	it = op_item(OP_DISABLE, "jdoe", NULL, "u-1");
	expect_request(t, &it, "PATCH", USERS "/u-1",
		       "{\"schemas\":[\"" PATCH_OP "\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\","
		       "\"value\":false}]}");
	item_clear(&it);
	target_free(t);

	/* A key other than userName is what the filter is on. */
	t = target("ent");
	it = op_item(OP_DELETE, "701984", NULL, NULL);
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "https://idp.example.com/api/v2/Users?filter=externalId%20eq%20%22701984%22");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* The act of op on user u-1 answered (status < 0: retried, no answer). */
#define EXPECT_ACT(t, op, status, body, ra_, kind_, reason_, id_)                              \
	do {                                                                                    \
		struct push_item it_ = op_item((op), "jdoe", "{\"userName\":\"jdoe\"}", "u-1"); \
		struct http_request req_;                                                       \
		struct outcome o_;                                                              \
		bool c_ = true;                                                                 \
		CU_ASSERT_EQUAL(answer((t), &it_, -1, NULL, -1, &req_, &o_, &c_), STEP_SEND);   \
		CU_ASSERT(!c_);                                                                 \
		done(&req_, &o_);                                                               \
		CU_ASSERT_EQUAL(answer((t), &it_, (status), (body), (ra_), &req_, &o_, &c_), STEP_DONE); \
		CU_ASSERT(!c_);                                                                 \
		if (o_.kind != (kind_))                                                         \
			fprintf(stderr, "\n  kind:     %s\n  expected: %s\n", outcome_kind_name(o_.kind), \
				outcome_kind_name(kind_));                                      \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                              \
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                            \
			fprintf(stderr, "\n  reason:   %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));                  \
		expect_id(o_.remote_id, (id_));                                                 \
		CU_ASSERT_EQUAL(o_.retry_after, (kind_) == OUTCOME_THROTTLED ? (ra_) : -1);     \
		done(&req_, &o_);                                                               \
		item_clear(&it_);                                                               \
	} while (0)

#define NOT_FOUND ERR("404", "", "Resource u-1 not found")

static void test_op_answers(void)
{
	setup();
	struct target *t = target("sc");
	const char *none = NULL;

	/* Updated: the id the answer gives, else the one used. */
	EXPECT_ACT(t, OP_UPDATE, 200, "{\"schemas\":[\"" CORE "\"],\"id\":\"u-1\",\"userName\":\"jdoe\"}", -1,
		   OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 200, "{\"id\":\"u-2\"}", -1, OUTCOME_OK, "updated user u-1", "u-2");
	EXPECT_ACT(t, OP_UPDATE, 200, "", -1, OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 200, "<html>", -1, OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 200, "{\"id\":[1]}", -1, OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 200, "{\"id\":\"a\\nb\"}", -1, OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 204, "", -1, OUTCOME_OK, "updated user u-1", "u-1");
	/* Deleted at the server: the engine adds it again. */
	EXPECT_ACT(t, OP_UPDATE, 404, NOT_FOUND, -1, OUTCOME_ABSENT,
		   "user u-1 is not at the SCIM server: HTTP 404: Resource u-1 not found", none);
	EXPECT_ACT(t, OP_UPDATE, 404, "", -1, OUTCOME_ABSENT,
		   "user u-1 is not at the SCIM server: HTTP 404 with an empty body", none);
	/* A new userName someone else holds: this payload cannot be applied. */
	EXPECT_ACT(t, OP_UPDATE, 409, ERR("409", ",\"scimType\":\"uniqueness\"", "userName \\\"bob\\\" is taken"), -1,
		   OUTCOME_INVALID,
		   "the SCIM server refused the change as a conflict: HTTP 409 uniqueness: userName \"bob\" is taken",
		   none);
	EXPECT_ACT(t, OP_UPDATE, 400, ERR("400", ",\"scimType\":\"invalidValue\"", "bad phone"), -1,
		   OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400 invalidValue: bad phone", none);
	EXPECT_ACT(t, OP_UPDATE, 400, ERR("400", ",\"scimType\":\"mutability\"", "userName is immutable"), -1,
		   OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400 mutability: userName is immutable", none);
	EXPECT_ACT(t, OP_UPDATE, 412, ERR("412", "", "version mismatch"), -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 412: version mismatch", none);
	/* Malformed and hostile error bodies. */
	EXPECT_ACT(t, OP_UPDATE, 400, "{\"detail\":", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: {\"detail\":", none);
	EXPECT_ACT(t, OP_UPDATE, 400, "{\"detail\":[1],\"scimType\":{}}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: {\"detail\":[1],\"scimType\":{}}", none);
	EXPECT_ACT(t, OP_UPDATE, 400, "{\"detail\":\"a\\nb\"}", -1, OUTCOME_INVALID,
		   "rejected by the SCIM server: HTTP 400: a\\x0ab", none);
	/* Credentials, throttling, server trouble. */
	EXPECT_ACT(t, OP_UPDATE, 401, "", -1, OUTCOME_AUTH, "HTTP 401 with an empty body", none);
	EXPECT_ACT(t, OP_UPDATE, 403, ERR("403", "", "Forbidden"), -1, OUTCOME_AUTH,
		   "HTTP 403: " ERR("403", "", "Forbidden"), none);
	EXPECT_ACT(t, OP_UPDATE, 429, "", 7, OUTCOME_THROTTLED, "HTTP 429 with an empty body", none);
	EXPECT_ACT(t, OP_UPDATE, 503, "", 3, OUTCOME_THROTTLED, "HTTP 503 with an empty body", none);
	EXPECT_ACT(t, OP_UPDATE, 500, "<h1>oops</h1>", -1, OUTCOME_TRANSIENT, "HTTP 500: <h1>oops</h1>", none);
	EXPECT_ACT(t, OP_UPDATE, 0, NULL, -1, OUTCOME_TRANSIENT, "no answer: Connection refused", none);
	EXPECT_ACT(t, OP_UPDATE, 413, "", -1, OUTCOME_TRANSIENT,
		   "the SCIM server found the request too large: HTTP 413 with an empty body", none);
	/* What every member would get is not retried, nor skipped as invalid. */
	EXPECT_ACT(t, OP_UPDATE, 405, ERR("405", "", "Method not allowed"), -1, OUTCOME_PERMANENT,
		   "the SCIM server does not take PUT on users (try update_method = \"patch\"): HTTP 405: Method "
		   "not allowed", none);
	EXPECT_ACT(t, OP_UPDATE, 415, "", -1, OUTCOME_PERMANENT,
		   "the SCIM server refused the request (check url, users_path and media_type): HTTP 415 with an "
		   "empty body", none);
	EXPECT_ACT(t, OP_UPDATE, 201, "{\"id\":\"u-1\"}", -1, OUTCOME_PERMANENT,
		   "unexpected answer from the SCIM server: HTTP 201: {\"id\":\"u-1\"}", none);
	EXPECT_ACT(t, OP_UPDATE, 302, "", -1, OUTCOME_PERMANENT,
		   "unexpected answer from the SCIM server: HTTP 302 with an empty body", none);

	/* Disable and enable: done only if the answer does not say otherwise. */
	EXPECT_ACT(t, OP_DISABLE, 200, "{\"id\":\"u-1\",\"active\":false}", -1, OUTCOME_OK, "disabled user u-1",
		   "u-1");
	EXPECT_ACT(t, OP_DISABLE, 204, "", -1, OUTCOME_OK, "disabled user u-1", "u-1");
	EXPECT_ACT(t, OP_DISABLE, 200, "{\"id\":\"u-1\"}", -1, OUTCOME_OK, "disabled user u-1", "u-1");
	EXPECT_ACT(t, OP_DISABLE, 200, "{\"id\":\"u-1\",\"active\":\"false\"}", -1, OUTCOME_OK, "disabled user u-1",
		   "u-1");
	EXPECT_ACT(t, OP_DISABLE, 200, "{\"id\":\"u-1\",\"active\":true}", -1, OUTCOME_PERMANENT,
		   "the SCIM server answered HTTP 200 but user u-1 is still active", none);
	EXPECT_ACT(t, OP_ENABLE, 200, "{\"id\":\"u-1\",\"active\":true}", -1, OUTCOME_OK, "enabled user u-1", "u-1");
	EXPECT_ACT(t, OP_ENABLE, 200, "{\"id\":\"u-1\",\"active\":false}", -1, OUTCOME_PERMANENT,
		   "the SCIM server answered HTTP 200 but user u-1 is still inactive", none);
	/* Gone: a disable is done, an enable adds it again (the engine's). */
	EXPECT_ACT(t, OP_DISABLE, 404, NOT_FOUND, -1, OUTCOME_ABSENT,
		   "user u-1 is not at the SCIM server: HTTP 404: Resource u-1 not found", none);
	EXPECT_ACT(t, OP_ENABLE, 404, NOT_FOUND, -1, OUTCOME_ABSENT,
		   "user u-1 is not at the SCIM server: HTTP 404: Resource u-1 not found", none);
	EXPECT_ACT(t, OP_DISABLE, 400, ERR("400", ",\"scimType\":\"invalidPath\"", "no such path"), -1,
		   OUTCOME_INVALID, "rejected by the SCIM server: HTTP 400 invalidPath: no such path", none);
	EXPECT_ACT(t, OP_DISABLE, 501, ERR("501", "", "PATCH is not supported"), -1, OUTCOME_PERMANENT,
		   "the SCIM server does not take PATCH on users: HTTP 501: PATCH is not supported", none);
	EXPECT_ACT(t, OP_ENABLE, 401, "", -1, OUTCOME_AUTH, "HTTP 401 with an empty body", none);
	EXPECT_ACT(t, OP_DISABLE, 429, "", 2, OUTCOME_THROTTLED, "HTTP 429 with an empty body", none);
	EXPECT_ACT(t, OP_DISABLE, 502, "", -1, OUTCOME_TRANSIENT, "HTTP 502 with an empty body", none);

	/* Delete: no id to keep. */
	EXPECT_ACT(t, OP_DELETE, 204, "", -1, OUTCOME_OK, "deleted user u-1", none);
	EXPECT_ACT(t, OP_DELETE, 200, "{}", -1, OUTCOME_OK, "deleted user u-1", none);
	EXPECT_ACT(t, OP_DELETE, 404, NOT_FOUND, -1, OUTCOME_ABSENT,
		   "user u-1 is not at the SCIM server: HTTP 404: Resource u-1 not found", none);
	EXPECT_ACT(t, OP_DELETE, 405, "", -1, OUTCOME_PERMANENT,
		   "the SCIM server does not take DELETE on users: HTTP 405 with an empty body", none);
	EXPECT_ACT(t, OP_DELETE, 409, ERR("409", "", "locked"), -1, OUTCOME_INVALID,
		   "the SCIM server refused the change as a conflict: HTTP 409: locked", none);
	EXPECT_ACT(t, OP_DELETE, 403, "", -1, OUTCOME_AUTH, "HTTP 403 with an empty body", none);
	EXPECT_ACT(t, OP_DELETE, 500, "", -1, OUTCOME_TRANSIENT, "HTTP 500 with an empty body", none);
	target_free(t);

	t = target("pt");
	EXPECT_ACT(t, OP_UPDATE, 200, "{\"id\":\"u-1\"}", -1, OUTCOME_OK, "updated user u-1", "u-1");
	EXPECT_ACT(t, OP_UPDATE, 501, "", -1, OUTCOME_PERMANENT,
		   "the SCIM server does not take PATCH on users (try update_method = \"put\"): HTTP 501 with an "
		   "empty body", none);
	target_free(t);
	teardown();
}

/* The lookup of OP_LOOKUP for jdoe answered. */
#define EXPECT_FIND(t, status, body, kind_, reason_, id_)                                       \
	do {                                                                                    \
		struct push_item it_ = op_item(OP_LOOKUP, "jdoe", "{\"userName\":\"jdoe\"}", NULL); \
		struct http_request req_;                                                       \
		struct outcome o_;                                                              \
		bool c_ = true;                                                                 \
		CU_ASSERT_EQUAL(answer((t), &it_, (status), (body), 4, &req_, &o_, &c_), STEP_DONE); \
		CU_ASSERT(!c_);                                                                 \
		if (o_.kind != (kind_))                                                         \
			fprintf(stderr, "\n  kind:     %s\n  expected: %s\n", outcome_kind_name(o_.kind), \
				outcome_kind_name(kind_));                                      \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                              \
		if (!o_.reason || strcmp(o_.reason, (reason_)) != 0)                            \
			fprintf(stderr, "\n  reason:   %s\n  expected: %s\n", o_.reason, (reason_)); \
		CU_ASSERT_STRING_EQUAL(o_.reason ? o_.reason : "", (reason_));                  \
		expect_id(o_.remote_id, (id_));                                                 \
		CU_ASSERT_EQUAL(it_.stage, 0);                                                  \
		done(&req_, &o_);                                                               \
		item_clear(&it_);                                                               \
	} while (0)

static void test_op_lookup(void)
{
	setup();
	struct target *t = target("sc");
	const char *none = NULL;

	/* Found: userName is case-insensitive. */
	EXPECT_FIND(t, 200, list_one, OUTCOME_OK, "found as user u-9", "u-9");
	EXPECT_FIND(t, 200,
		    "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"userName\":\"JDOE\"},"
		    "{\"id\":\"u-2\",\"userName\":\"jdoe\"}]}",
		    OUTCOME_OK, "found as user u-2", "u-2");
	EXPECT_FIND(t, 200, "{\"totalResults\":1,\"Resources\":[{\"id\":\"u-3\"}]}", OUTCOME_OK,
		    "found as user u-3", "u-3");
	/* Nobody: the engine adds it. */
	EXPECT_FIND(t, 200, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],"
			    "\"totalResults\":0,\"Resources\":[]}",
		    OUTCOME_ABSENT, "no user with userName \"jdoe\" at the SCIM server", none);
	EXPECT_FIND(t, 200, "{\"totalResults\":0}", OUTCOME_ABSENT, "no user with userName \"jdoe\" at the SCIM server",
		    none);
	EXPECT_FIND(t, 200, "{\"totalResults\":\"0\"}", OUTCOME_ABSENT,
		    "no user with userName \"jdoe\" at the SCIM server", none);
	EXPECT_FIND(t, 200, "{\"Resources\":[]}", OUTCOME_ABSENT, "no user with userName \"jdoe\" at the SCIM server",
		    none);
	/* What cannot be read as found or not found: never a second add, and
	 * never someone else. */
	EXPECT_FIND(t, 200, "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"userName\":\"alice\"},"
			    "{\"id\":\"u-2\",\"userName\":\"bob\"}]}",
		    OUTCOME_PERMANENT, "the lookup found 2 users, none with userName \"jdoe\"", none);
	EXPECT_FIND(t, 200, "{\"totalResults\":1,\"Resources\":[7,null,{\"id\":[1],\"userName\":\"jdoe\"}]}",
		    OUTCOME_PERMANENT, "the lookup found 3 users, none with userName \"jdoe\"", none);
	EXPECT_FIND(t, 200, "{\"totalResults\":3,\"Resources\":[]}", OUTCOME_PERMANENT,
		    "the lookup found 3 users but listed none", none);
	EXPECT_FIND(t, 200, "{}", OUTCOME_PERMANENT, "the answer to the lookup is not a ListResponse: HTTP 200: {}",
		    none);
	EXPECT_FIND(t, 200, "{\"totalResults\":true}", OUTCOME_PERMANENT,
		    "the answer to the lookup is not a ListResponse: HTTP 200: {\"totalResults\":true}", none);
	EXPECT_FIND(t, 200, "{\"totalResults\":0,\"Resources\":{\"id\":\"u-1\"}}", OUTCOME_PERMANENT,
		    "the answer to the lookup is not a ListResponse: HTTP 200: {\"totalResults\":0,\"Resources\":"
		    "{\"id\":\"u-1\"}}", none);
	EXPECT_FIND(t, 200, "not json", OUTCOME_PERMANENT,
		    "the answer to the lookup is not a ListResponse: HTTP 200: not json", none);
	EXPECT_FIND(t, 200, "[]", OUTCOME_PERMANENT, "the answer to the lookup is not a ListResponse: HTTP 200: []",
		    none);
	/* A server that cannot filter. */
	EXPECT_FIND(t, 400, ERR("400", ",\"scimType\":\"invalidFilter\"", "filter not supported"), OUTCOME_PERMANENT,
		    "the SCIM server cannot look users up by userName: HTTP 400 invalidFilter: filter not supported",
		    none);
	EXPECT_FIND(t, 501, ERR("501", "", "Filtering is not supported"), OUTCOME_PERMANENT,
		    "the SCIM server cannot look users up by userName: HTTP 501: Filtering is not supported", none);
	EXPECT_FIND(t, 404, "", OUTCOME_PERMANENT,
		    "the SCIM server refused the request (check url, users_path and media_type): HTTP 404 with an "
		    "empty body", none);
	EXPECT_FIND(t, 400, ERR("400", ",\"scimType\":\"invalidValue\"", "bad"), OUTCOME_INVALID,
		    "rejected by the SCIM server: HTTP 400 invalidValue: bad", none);
	EXPECT_FIND(t, 401, "", OUTCOME_AUTH, "HTTP 401 with an empty body", none);
	EXPECT_FIND(t, 403, "", OUTCOME_AUTH, "HTTP 403 with an empty body", none);
	EXPECT_FIND(t, 429, "", OUTCOME_THROTTLED, "HTTP 429 with an empty body", none);
	EXPECT_FIND(t, 500, "", OUTCOME_TRANSIENT, "HTTP 500 with an empty body", none);
	EXPECT_FIND(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", none);
	struct push_item it = op_item(OP_LOOKUP, "jdoe", NULL, NULL);
	struct http_request req;
	struct outcome o;
	answer(t, &it, 429, "", 4, &req, &o, NULL);
	CU_ASSERT_EQUAL(o.retry_after, 4);
	done(&req, &o);
	item_clear(&it);
	target_free(t);

	/* externalId is caseExact (RFC 7643 3.1), and a value two users hold
	 * names nobody for sure. */
	t = target("ent");
	it = op_item(OP_LOOKUP, "e-7", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"totalResults\":1,\"Resources\":[{\"id\":\"u-1\",\"externalId\":\"E-7\"}]}",
			     &req, &o),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "the lookup found 1 users, none with externalId \"e-7\"");
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"externalId\":\"e-7\"},"
			     "{\"id\":\"u-2\",\"externalId\":\"e-7\"}]}",
			     &req, &o),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_STRING_EQUAL(o.reason, "2 users at the SCIM server have externalId \"e-7\"");
	CU_ASSERT_PTR_NULL(o.remote_id);
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"totalResults\":2,\"Resources\":[{\"id\":\"u-1\",\"externalId\":\"E-7\"},"
			     "{\"id\":\"u-2\",\"externalId\":\"e-7\"}]}",
			     &req, &o),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "u-2");
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* An op without a stored id: the lookup, then the act on what it found. */
static void test_op_lookup_first(void)
{
	setup();
	struct target *t = target("sc");
	struct http_request req;
	struct outcome o;
	bool creates = true;

	struct push_item it = op_item(OP_DISABLE, "jdoe", NULL, NULL);
	CU_ASSERT_EQUAL(answer(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, FIND_URL("jdoe"));
	done(&req, &o);
	/* A failed lookup is retried as a lookup. */
	CU_ASSERT_EQUAL(step(t, &it, 503, "", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	done(&req, &o);
	/* Found: the PATCH goes to the id found, at once. */
	CU_ASSERT_EQUAL(answer(t, &it, 200, list_one, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_EQUAL(it.stage, 1);
	CU_ASSERT_STRING_EQUAL(it.remote_id, "u-9");
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, USERS "/u-9");
	CU_ASSERT_PTR_NOT_NULL(req.body && strstr(req.body, "\"value\":false"));
	done(&req, &o);
	/* A failed PATCH is retried as the PATCH, not the lookup. */
	CU_ASSERT_EQUAL(step(t, &it, 500, "", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	done(&req, &o);
	CU_ASSERT_EQUAL(answer(t, &it, -1, NULL, -1, &req, &o, &creates), STEP_SEND);
	CU_ASSERT(!creates);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, USERS "/u-9");
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 204, "", &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.reason, "disabled user u-9");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "u-9");
	done(&req, &o);
	item_clear(&it);

	/* The update found first is a PUT without the password. */
	it = op_item(OP_UPDATE, "jdoe", "{\"userName\":\"jdoe\",\"password\":\"pw-1\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	done(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, list_one, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"schemas\":[\"" CORE "\"],\"userName\":\"jdoe\"}");
	done(&req, &o);
	item_clear(&it);

	/* Nobody found: every op ends ABSENT without sending more. */
	static const enum push_op ops[] = { OP_UPDATE, OP_DISABLE, OP_ENABLE, OP_DELETE };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		it = op_item(ops[i], "jdoe", i % 2 ? NULL : "{\"userName\":\"jdoe\"}", NULL);
		CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
		done(&req, &o);
		CU_ASSERT_EQUAL(answer(t, &it, 200, "{\"totalResults\":0,\"Resources\":[]}", -1, &req, &o, &creates),
				STEP_DONE);
		CU_ASSERT(!creates);
		CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
		CU_ASSERT_STRING_EQUAL(o.reason, "no user with userName \"jdoe\" at the SCIM server");
		CU_ASSERT_PTR_NULL(o.remote_id);
		CU_ASSERT_PTR_NULL(it.remote_id);
		done(&req, &o);
		item_clear(&it);
	}
	/* ...and one that cannot tell stops there too. */
	it = op_item(OP_DELETE, "jdoe", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"Resources\":[{\"id\":\"u-1\",\"userName\":\"alice\"}]}", &req, &o),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_PTR_NULL(it.remote_id);
	done(&req, &o);
	item_clear(&it);
	target_free(t);

	/* A key other than userName: found by it, then deleted. */
	t = target("ent");
	it = op_item(OP_DELETE, "701984", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, 200,
			     "{\"totalResults\":1,\"Resources\":[{\"id\":\"u-5\",\"userName\":\"jdoe\","
			     "\"externalId\":\"701984\"}]}",
			     &req, &o),
			STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, "https://idp.example.com/api/v2/Users/u-5");
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* The payload's key when the state cache has none; what the ops do not
 * know is refused, never sent. */
static void test_op_edges(void)
{
	setup();
	struct target *t = target("sc");
	struct http_request req;
	struct outcome o;

	struct push_item it = op_item(OP_LOOKUP, NULL, "{\"userName\":\"from-payload\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, FIND_URL("from-payload"));
	done(&req, &o);
	item_clear(&it);

	it = op_item(OP_UPDATE, "jdoe", NULL, "u-1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	done(&req, &o);
	item_clear(&it);

	it = op_item(OP__COUNT, "jdoe", NULL, "u-1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	CU_ASSERT_PTR_NULL(req.url);
	done(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ schema */

static const struct field_schema *field(const char *name)
{
	const struct target_driver *d = driver_find("scim");
	for (size_t i = 0; i < d->n_fields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i];
	return NULL;
}

static bool check(const char *name, const char *value)
{
	const struct field_schema *f = field(name);
	return f->check(value, strlen(value));
}

static void test_schema(void)
{
	const struct target_driver *d = driver_find("scim");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->default_key, "userName");
	CU_ASSERT(d->auth_required);
	CU_ASSERT_STRING_EQUAL(d->auth.type, "bearer");
	CU_ASSERT_EQUAL(d->max_batch, 0);
	CU_ASSERT_EQUAL(driver_ops(d, NULL), OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) |
					       OP_BIT(OP_ENABLE) | OP_BIT(OP_DELETE) | OP_BIT(OP_LOOKUP));
	/* A second POST of the same user is a 409, not a second user, but the
	 * engine must look before it sends one: not idempotent. */
	CU_ASSERT(!d->idempotent_add);
	CU_ASSERT_EQUAL(d->n_fields, 23);
	CU_ASSERT_EQUAL(field("userName")->flags, FIELD_REQUIRED);
	CU_ASSERT_EQUAL(field("userName")->min_chars, 1);
	CU_ASSERT_EQUAL(field("password")->flags, FIELD_SECRET);
	CU_ASSERT_EQUAL(field("active")->type, FT_BOOL);
	for (size_t i = 0; i < d->n_fields; i++) {
		if (strcmp(d->fields[i].name, "active") != 0)
			CU_ASSERT_EQUAL(d->fields[i].type, FT_STRING);
		if (strcmp(d->fields[i].name, "userName") != 0 && strcmp(d->fields[i].name, "password") != 0)
			CU_ASSERT_EQUAL(d->fields[i].flags, 0);
		CU_ASSERT_EQUAL(d->fields[i].max_chars, 0);
		CU_ASSERT_PTR_NULL(d->fields[i].enum_values);
		CU_ASSERT((d->fields[i].check == NULL) == (d->fields[i].check_desc == NULL));
	}
	CU_ASSERT_PTR_NOT_NULL(field("department"));
	CU_ASSERT_PTR_NOT_NULL(field("manager"));

	CU_ASSERT(check("userName", "jdoe"));
	CU_ASSERT(check("userName", "O\"Brien\\x é"));
	CU_ASSERT(!check("userName", "a\tb"));
	CU_ASSERT(!check("userName", "a\x7f"));
	CU_ASSERT(check("email", "a@b.org"));
	CU_ASSERT(!check("email", "ab.org"));

	static const char *const locales_ok[] = { "en", "en-US", "zh-Hans-CN", "de_DE", "sgn-BE-FR", NULL };
	static const char *const locales_bad[] = { "", "e", "english-", "en US", "toolonglanguage", "en--US",
						   "-en", "en-", "12", "en-123456789", NULL };
	for (size_t i = 0; locales_ok[i]; i++)
		CU_ASSERT(check("locale", locales_ok[i]));
	for (size_t i = 0; locales_bad[i]; i++) {
		if (check("locale", locales_bad[i]))
			fprintf(stderr, "\n  locale accepted: '%s'\n", locales_bad[i]);
		CU_ASSERT(!check("locale", locales_bad[i]));
	}
	static const char *const langs_ok[] = { "en", "en-US", "*", "da, en-gb;q=0.8, en;q=0.7", "fr;q=1.000",
						"en;q=0", "de ; q=0.5", NULL };
	static const char *const langs_bad[] = { "", "en,", ",en", "en;q=2", "en;q=1.5", "en;q=0.1234", "en;x=1",
						 "en_US", "english please", "en;q=", NULL };
	for (size_t i = 0; langs_ok[i]; i++)
		CU_ASSERT(check("preferredLanguage", langs_ok[i]));
	for (size_t i = 0; langs_bad[i]; i++) {
		if (check("preferredLanguage", langs_bad[i]))
			fprintf(stderr, "\n  preferredLanguage accepted: '%s'\n", langs_bad[i]);
		CU_ASSERT(!check("preferredLanguage", langs_bad[i]));
	}
	static const char *const tz_ok[] = { "UTC", "Europe/Paris", "America/Argentina/Buenos_Aires",
					     "Etc/GMT+5", "America/Port-au-Prince", NULL };
	static const char *const tz_bad[] = { "", "/Europe", "Europe/", "Europe//Paris", "Europe/Paris ",
					      "+01:00", "Europe/1x", NULL };
	for (size_t i = 0; tz_ok[i]; i++)
		CU_ASSERT(check("timezone", tz_ok[i]));
	for (size_t i = 0; tz_bad[i]; i++) {
		if (check("timezone", tz_bad[i]))
			fprintf(stderr, "\n  timezone accepted: '%s'\n", tz_bad[i]);
		CU_ASSERT(!check("timezone", tz_bad[i]));
	}
}

/* The mapping of target "sc" applied to an entry: its reasons, or "". */
static char *apply(const char *uid, const char *mail, const char *l, const char *tz, const char *lang)
{
	struct entry *e = entry_new("uid=x,dc=x");
	if (uid)
		entry_add(e, "uid", uid);
	if (mail)
		entry_add(e, "mail", mail);
	entry_add(e, "givenName", "Jane");
	entry_add(e, "sn", "Doe");
	entry_add(e, "cn", "Jane Doe");
	if (l)
		entry_add(e, "l", l);
	if (tz)
		entry_add(e, "tz", tz);
	if (lang)
		entry_add(e, "preferredLanguage", lang);
	struct mapped m = { 0 };
	int r = mapping_apply(conf_find_target(conf, "sc")->mapping, e, &m);
	char *out = strdup(r == 0 ? "" : m.reasons);
	if (r == 0) {
		/* The password is sent, never hashed: a new one is no change. */
		json_object *pw;
		CU_ASSERT(json_object_object_get_ex(m.payload, "password", &pw));
		CU_ASSERT_EQUAL(json_object_get_string_len(pw), 12);
		CU_ASSERT_STRING_EQUAL(m.key, uid);
	}
	mapped_clear(&m);
	entry_free(e);
	return out;
}

#define EXPECT_MAPPED(expected, ...)                                                    \
	do {                                                                            \
		char *r_ = apply(__VA_ARGS__);                                          \
		if (strcmp(r_, (expected)) != 0)                                        \
			fprintf(stderr, "\n  reasons:  %s\n  expected: %s\n", r_, (expected)); \
		CU_ASSERT_STRING_EQUAL(r_, (expected));                                 \
		free(r_);                                                               \
	} while (0)

static void test_schema_mapping(void)
{
	setup();
	EXPECT_MAPPED("", "jdoe", "j@x.org", "en-US", "Europe/Paris", "en;q=0.9");
	/* Everything but userName is optional. */
	EXPECT_MAPPED("", "jdoe", NULL, NULL, NULL, NULL);
	EXPECT_MAPPED("userName: required, but the mapping gives no value", NULL, "j@x.org", NULL, NULL, NULL);
	EXPECT_MAPPED("userName: value \"a\\x09b\" does not match the required format (no control characters)", "a\tb",
		      NULL, NULL, NULL, NULL);
	EXPECT_MAPPED("email: value \"nobody\" does not match the required format (an email address)", "jdoe",
		      "nobody", NULL, NULL, NULL);
	EXPECT_MAPPED("locale: value \"en US\" does not match the required format (a language tag such as "
		      "\"en-US\")", "jdoe", NULL, "en US", NULL, NULL);
	EXPECT_MAPPED("timezone: value \"GMT +1\" does not match the required format (an IANA time zone name such "
		      "as \"Europe/Paris\")", "jdoe", NULL, NULL, "GMT +1", NULL);
	EXPECT_MAPPED("preferredLanguage: value \"english please\" does not match the required format (an "
		      "Accept-Language value such as \"en-US\" or \"da, en-gb;q=0.8\")", "jdoe", NULL, NULL, NULL,
		      "english please");
	teardown();
}

/* ------------------------------------------------------------ config */

/* Every diagnostic of loading `targets` (with the usual source). */
static char *load_errors(const char *targets)
{
	char *path = conf_path(targets);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	size_t len = 0;
	char *all = NULL;
	FILE *f = open_memstream(&all, &len);
	int r = conf_load(path, &c, d);
	CU_ASSERT(r < 0);
	diag_print(d, f);
	fclose(f);
	conf_free(c);
	diag_free(d);
	free(path);
	return all;
}

#define EXPECT_CONF_ERROR(targets, expected)                                            \
	do {                                                                            \
		char *e_ = load_errors(targets);                                        \
		if (!strstr(e_, (expected)))                                            \
			fprintf(stderr, "\n  expected: %s\n  got:\n%s", (expected), e_); \
		CU_ASSERT_PTR_NOT_NULL(strstr(e_, (expected)));                         \
		free(e_);                                                               \
	} while (0)

#define TARGET(extra, map)                                                                   \
	"targets = ( { name = \"s\"; driver = \"scim\"; url = \"http://h/scim\"; " extra        \
	" auth = { key_file = \"scim.token\"; }; map = { userName = \"${uid}\"; " map " }; } );\n"

static void test_config(void)
{
	setup();
	const struct conf_target *ct = conf_find_target(conf, "sc");
	CU_ASSERT_STRING_EQUAL(mapping_key_field(ct->mapping), "userName");
	CU_ASSERT_STRING_EQUAL(mapping_key_field(conf_find_target(conf, "ent")->mapping), "externalId");

	EXPECT_CONF_ERROR(TARGET("", "department = \"${ou}\";"),
			  "target s: map.department belongs to the enterprise extension "
			  "(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User): set enterprise_extension = true "
			  "to send it");
	EXPECT_CONF_ERROR(TARGET("enterprise_extension = false;", "manager = \"${manager}\";"),
			  "target s: map.manager belongs to the enterprise extension");
	EXPECT_CONF_ERROR(TARGET("users_path = \"Users\";", ""),
			  "target s: users_path must be a path such as \"/Users\": starting with '/', without spaces, "
			  "'?' or '#', not 'Users'");
	EXPECT_CONF_ERROR(TARGET("users_path = \"/Users?x=1\";", ""), "users_path must be a path");
	EXPECT_CONF_ERROR(TARGET("users_path = \"/\";", ""), "users_path must be a path");
	EXPECT_CONF_ERROR(TARGET("users_path = \"/my Users\";", ""), "users_path must be a path");
	EXPECT_CONF_ERROR(TARGET("email_type = \"office\";", ""),
			  "target s: email_type must be one of work, home, other, not 'office'");
	EXPECT_CONF_ERROR(TARGET("phone_type = \"cell\";", ""),
			  "target s: phone_type must be one of work, home, mobile, fax, pager, other, not 'cell'");
	EXPECT_CONF_ERROR(TARGET("media_type = \"text/json\";", ""),
			  "target s: media_type must be one of application/scim+json, application/json, not "
			  "'text/json'");
	EXPECT_CONF_ERROR(TARGET("update_method = \"post\";", ""),
			  "m.conf:2: target s: update_method must be one of put, patch, not 'post'");
	EXPECT_CONF_ERROR(TARGET("update_method = \"PUT\";", ""), "update_method must be one of put, patch");
	EXPECT_CONF_ERROR(TARGET("update_method = true;", ""), "update_method");
	EXPECT_CONF_ERROR(TARGET("enterprise_extension = \"yes\";", ""), "enterprise_extension");
	EXPECT_CONF_ERROR(TARGET("", "emails = \"${mail}\";"), "emails");
	EXPECT_CONF_ERROR("targets = ( { name = \"s\"; driver = \"scim\"; url = \"http://h/scim\";"
			  " map = { userName = \"${uid}\"; }; } );\n",
			  "target s: required key 'auth' is missing");
	EXPECT_CONF_ERROR("targets = ( { name = \"s\"; driver = \"scim\"; url = \"http://h/scim\";"
			  " auth = { key_file = \"scim.token\"; }; map = { email = \"${mail}\"; }; } );\n",
			  "userName");
	EXPECT_CONF_ERROR(TARGET("batch_size = 10;", ""), "target s: the scim driver does not batch adds");
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "request", test_request },
		{ "the User resource", test_body },
		{ "answers to the add", test_add_answers },
		{ "hostile answers", test_hostile_answers },
		{ "duplicates are looked up to adopt their id", test_duplicate_lookup },
		{ "filter value escaping", test_filter_escaping },
		{ "requests of update, disable, enable, delete, lookup", test_op_requests },
		{ "answers to update, disable, enable, delete", test_op_answers },
		{ "answers to the lookup", test_op_lookup },
		{ "ops without a stored id look the user up first", test_op_lookup_first },
		{ "op edge cases", test_op_edges },
		{ "field schema", test_schema },
		{ "field schema through a mapping", test_schema_mapping },
		{ "configuration", test_config },
		{ NULL, NULL },
	};
	return unit_run("scim", tests);
}
