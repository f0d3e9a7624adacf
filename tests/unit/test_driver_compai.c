/* The compai driver: its settings, its schema (through the mapping), the
 * requests of each step (listing, reactivation, invite, single and bulk
 * adds; updates, deactivations, reactivations and lookups), and how it
 * reads every answer, hostile ones included. */
#include "config.h"

#include "config/conf.h"
#include "mapping/mapping.h"
#include "targets/target.h"
#include "driver_confs.h"
#include "driver_fixture.h"
#include "unit.h"
#include "util/sbuf.h"

#include <time.h>

static char *dir;
static struct conf *conf;

static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	" { name = \"ca\"; driver = \"compai\"; url = \"http://127.0.0.1:9/api/\";\n"
	"   auth = { key_file = \"ca.key\"; };\n"
	"   map = { email = \"${mail}\"; userId = \"${employeeType}\"; role = \"${businessCategory}\";\n"
	"           department = \"${departmentNumber}\"; isActive = \"${l}\";\n"
	"           fleetDmLabelId = \"${employeeNumber}\"; jobTitle = \"${title}\"; }; },\n"
	DRIVER_CONF_COMPAI_INV ",\n"
	DRIVER_CONF_COMPAI_UK "\n"
	");\n";

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "ca.key", "ca-secret-key\n", 0600));
	conf = fixture_load(dir, conf_text);
}

static void teardown(void)
{
	conf_free(conf);
	unit_rmrf(dir);
	free(dir);
}

/* One step with the answer (status < 0: none, the first call or a retry);
 * req and out are left as the driver filled them (caller clears). */
static enum step_result step_resp(struct target *t, struct push_item *it, const struct http_response *resp,
				  struct http_request *req, struct outcome *out, bool *creates)
{
	bool c = false;
	http_request_init(req, "POST", NULL);
	*out = (struct outcome){ .retry_after = -1 };
	enum step_result r = t->conf->driver->step(t, it, resp, req, &c, out);
	if (creates)
		*creates = c;
	return r;
}

static enum step_result step(struct target *t, struct push_item *it, long status, const char *body,
			     struct http_request *req, struct outcome *out, bool *creates)
{
	return fixture_step(t, it, status, body, -1, req, out, creates);
}

static void clear(struct http_request *req, struct outcome *o)
{
	http_request_clear(req);
	outcome_clear(o);
}

static void expect_reason(const struct outcome *o, const char *reason)
{
	if (!o->reason || strcmp(o->reason, reason) != 0)
		fprintf(stderr, "\n  reason:   %s\n  expected: %s\n", o->reason, reason);
	CU_ASSERT_STRING_EQUAL(o->reason ? o->reason : "", reason);
}

#define LIST_BODY                                                                                              \
	"{\"data\":["                                                                                          \
	"{\"id\":\"mem_1\",\"userId\":\"usr_1\",\"isActive\":true,\"deactivated\":false,"                    \
	"\"user\":{\"id\":\"usr_1\",\"email\":\"Active@Example.org\"}},"                                     \
	"{\"id\":\"mem_2\",\"userId\":\"usr_2\",\"isActive\":false,\"deactivated\":true,"                    \
	"\"user\":{\"id\":\"usr_2\",\"email\":\"gone@example.org\"}},"                                       \
	"{\"id\":\"mem_3\",\"isActive\":true,\"deactivated\":true,\"user\":{\"id\":\"usr_3\"}},"             \
	"{\"id\":\"mem_4\",\"userId\":\"usr_4\",\"isActive\":false,\"user\":{\"email\":\"off@example.org\"}}," \
	"{\"id\":42,\"userId\":\"usr_x\"},\"junk\",null,[1],{\"user\":\"nope\"},"                            \
	"{\"id\":\"mem_5\",\"userId\":[\"usr_5\"],\"user\":{\"email\":5}}"                                   \
	"],\"count\":9,\"authType\":\"api-key\"}"

/* Loads LIST_BODY into t's listing through a first member's steps. */
static void load_list(struct target *t)
{
	struct push_item it = item("active@example.org", "{\"email\":\"active@example.org\",\"role\":\"r\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, LIST_BODY, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	clear(&req, &o);
	item_clear(&it);
}

/* ------------------------------------------------------------ settings */

static void test_defaults(void)
{
	setup();
	const struct target_driver *d = driver_find("compai");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->default_key, "email");
	CU_ASSERT_STRING_EQUAL(d->auth.type, "header");
	CU_ASSERT_STRING_EQUAL(d->auth.header, "X-API-Key");
	CU_ASSERT_STRING_EQUAL(d->auth.scheme, "");
	CU_ASSERT(d->auth_required);
	CU_ASSERT_EQUAL(d->max_batch, 1000);
	CU_ASSERT_DOUBLE_EQUAL(d->default_rate_limit, 1.5, 1e-9);
	const struct conf_target *ca = conf_find_target(conf, "ca");
	CU_ASSERT_EQUAL(ca->batch_size, 1000);
	CU_ASSERT_DOUBLE_EQUAL(ca->rate_limit, 1.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(mapping_key_field(ca->mapping), "email");
	CU_ASSERT_EQUAL(conf_find_target(conf, "inv")->batch_size, 10);
	teardown();
}

/* Loads text as a config; returns the errors, joined by newlines. */
static char *config_errors(const char *targets)
{
	char *d0 = unit_tmpdir();
	free(unit_write(d0, "ca.key", "k", 0600));
	char *text;
	if (asprintf(&text, "source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\ntargets = (\n%s\n);\n", targets) < 0)
		abort();
	char *path = unit_write(d0, "m.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	struct sbuf sb;
	sbuf_init(&sb);
	if (conf_load(path, &c, d) == 0)
		conf_free(c);
	for (size_t i = 0; i < d->n; i++) {
		char *m = diag_format(&d->items[i]);
		sbuf_addf(&sb, "%s\n", m);
		free(m);
	}
	diag_free(d);
	free(path);
	free(text);
	unit_rmrf(d0);
	free(d0);
	char *errs = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return errs;
}

static void expect_config_error(const char *target_text, const char *message)
{
	char *errs = config_errors(target_text);
	if (!strstr(errs, message))
		fprintf(stderr, "\n  errors: %s\n  expected: %s\n", errs, message);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, message));
	free(errs);
}

#define CA_TARGET(extra, map)                                                                       \
	"{ name = \"t\"; driver = \"compai\"; url = \"http://h\"; auth = { key_file = \"ca.key\"; };" \
	extra " map = { " map " }; }"

static void test_config_errors(void)
{
	expect_config_error(CA_TARGET("list_ttl = 0;", "email = \"${mail}\"; role = \"r\";"),
			    "target t: list_ttl = 0 is out of range (1 to 86400)");
	expect_config_error(CA_TARGET("list_ttl = 86401;", "email = \"${mail}\"; role = \"r\";"),
			    "list_ttl = 86401 is out of range");
	expect_config_error(CA_TARGET("duplicate_text = \"\";", "email = \"${mail}\"; role = \"r\";"),
			    "target t: duplicate_text must not be empty");
	expect_config_error(CA_TARGET("invite = \"yes\";", "email = \"${mail}\"; role = \"r\";"),
			    "target t: invite must be a boolean (true or false), not a string");
	expect_config_error(CA_TARGET("invites = true;", "email = \"${mail}\"; role = \"r\";"),
			    "target t: unknown key 'invites' (did you mean 'invite'?)");
	expect_config_error(CA_TARGET("batch_size = 1001;", "email = \"${mail}\"; role = \"r\";"),
			    "batch_size = 1001 is out of range (1 to 1000)");
	/* The whitelist starts at the schema: nothing else can be mapped. */
	expect_config_error(CA_TARGET("", "email = \"${mail}\"; role = \"r\"; name = \"${cn}\";"),
			    "map.name: unknown field 'name' (this driver's fields are: email userId role department "
			    "isActive fleetDmLabelId jobTitle)");
	expect_config_error(CA_TARGET("", "email = \"${mail}\";"),
			    "target t: map: field 'role' is required by the compai driver but not mapped");
	/* email is the default key, so it must be mapped. */
	expect_config_error(CA_TARGET("", "userId = \"${uid}\"; role = \"r\";"), "target t: key field 'email' is not mapped");
	expect_config_error("{ name = \"t\"; driver = \"compai\"; url = \"http://h\"; map = { email = \"${mail}\"; "
			    "role = \"r\"; }; }",
			    "required key 'auth' is missing");
	char *none = config_errors(CA_TARGET("key = \"userId\"; invite = true; list_ttl = 5;",
					     "userId = \"${uid}\"; role = \"r\";"));
	CU_ASSERT_STRING_EQUAL(none, "");
	free(none);
}

/* ------------------------------------------------------------ schema */

/* Maps an entry with the "ca" target; returns the reasons or the payload. */
static char *map_entry(const char *const *attrs)
{
	struct entry *e = entry_new("uid=a,dc=x");
	for (; *attrs; attrs += 2)
		entry_add(e, attrs[0], attrs[1]);
	struct mapped m = { 0 };
	const struct conf_target *t = conf_find_target(conf, "ca");
	char *r = mapping_apply(t->mapping, e, &m) == 0
			  ? strdup(json_object_to_json_string_ext(m.payload, JSON_C_TO_STRING_PLAIN))
			  : strdup(m.reasons);
	mapped_clear(&m);
	entry_free(e);
	return r;
}

static void expect_map(const char *const *attrs, const char *expected)
{
	char *r = map_entry(attrs);
	if (strcmp(r, expected) != 0)
		fprintf(stderr, "\n  mapped:   %s\n  expected: %s\n", r, expected);
	CU_ASSERT_STRING_EQUAL(r, expected);
	free(r);
}

static void test_schema(void)
{
	setup();
	expect_map((const char *const[]){ "mail", "a@x.org", "employeeType", "usr_1", "businessCategory", "admin",
					  "departmentNumber", "itsm", "l", "false", "employeeNumber", "2147483647",
					  "title", "Engineer", NULL },
		   "{\"email\":\"a@x.org\",\"userId\":\"usr_1\",\"role\":\"admin\",\"department\":\"itsm\","
		   "\"isActive\":false,\"fleetDmLabelId\":2147483647,\"jobTitle\":\"Engineer\"}");
	/* Only email and role are needed (the key and the required field). */
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", NULL },
		   "{\"email\":\"a@x.org\",\"role\":\"r\"}");
	expect_map((const char *const[]){ "mail", "a@x.org", NULL }, "role: required, but the mapping gives no value");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "departmentNumber", "sales",
					  NULL },
		   "department: value \"sales\" is not one of: none, admin, gov, hr, it, itsm, qms");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "departmentNumber", "IT", NULL },
		   "department: value \"IT\" is not one of: none, admin, gov, hr, it, itsm, qms");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "employeeNumber", "0", NULL },
		   "fleetDmLabelId: value 0 is out of range (1 to 2147483647)");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "employeeNumber", "2147483648",
					  NULL },
		   "fleetDmLabelId: value 2147483648 is out of range (1 to 2147483647)");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "employeeNumber", "12ab", NULL },
		   "fleetDmLabelId: value \"12ab\" is not an integer");
	expect_map((const char *const[]){ "mail", "a@x.org", "businessCategory", "r", "l", "maybe", NULL },
		   "isActive: value \"maybe\" is not a boolean");
	expect_map((const char *const[]){ "mail", "not-an-email", "businessCategory", "r", NULL },
		   "email: value \"not-an-email\" does not match the required format (an email address)");
	char long_mail[300];
	memset(long_mail, 'a', 250);
	strcpy(long_mail + 250, "@x.org");
	char *r = map_entry((const char *const[]){ "mail", long_mail, "businessCategory", "r", NULL });
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "email: value \"aaaa"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "is 256 characters long, the maximum is 254"));
	free(r);
	expect_map((const char *const[]){ "businessCategory", "r", NULL },
		   "email: is the member key, but the mapping gives no value");
	teardown();
}

/* ------------------------------------------------------------ the journey */

static void test_list_request(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");
	struct http_request req;
	struct outcome o;
	bool creates = true;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people?includeDeactivated=true");
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(!creates);
	/* The key goes raw in X-API-Key; the engine adds it. */
	CU_ASSERT_EQUAL(auth_apply(t->auth, &req, 0), 0);
	CU_ASSERT(has_header(&req, "X-API-Key: ca-secret-key"));
	clear(&req, &o);
	item_clear(&it);
	target_free(t);

	/* Another target: no deactivated members asked for, its own auth. */
	t = target_new(conf_find_target(conf, "inv"), NULL);
	it = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people");
	auth_apply(t->auth, &req, 0);
	CU_ASSERT(has_header(&req, "Authorization: Bearer ca-secret-key"));
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* A member decided from the listing without a request of its own. */
#define EXPECT_DECISION(t, payload, result, kind_, reason_, rid)                                       \
	do {                                                                                            \
		struct push_item it_ = item("k", (payload));                                            \
		struct http_request req_;                                                               \
		struct outcome o_;                                                                      \
		CU_ASSERT_EQUAL(step((t), &it_, -1, NULL, &req_, &o_, NULL), (result));                 \
		if ((result) == STEP_DONE) {                                                            \
			CU_ASSERT_EQUAL(o_.kind, (kind_));                                              \
			expect_reason(&o_, (reason_));                                                  \
			CU_ASSERT_STRING_EQUAL(o_.remote_id ? o_.remote_id : "", (rid));               \
		}                                                                                       \
		clear(&req_, &o_);                                                                      \
		item_clear(&it_);                                                                       \
	} while (0)

static void test_decisions(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	load_list(t);
	/* Emails match whatever their case. */
	EXPECT_DECISION(t, "{\"email\":\"ACTIVE@example.ORG\",\"role\":\"r\"}", STEP_DONE, OUTCOME_DUPLICATE,
			"already an active member (mem_1)", "mem_1");
	/* By user id when the email is not known there. */
	EXPECT_DECISION(t, "{\"email\":\"new@example.org\",\"userId\":\"usr_1\",\"role\":\"r\"}", STEP_DONE,
			OUTCOME_DUPLICATE, "already an active member (mem_1)", "mem_1");
	/* deactivated: true wins over isActive: true. */
	EXPECT_DECISION(t, "{\"email\":\"x@example.org\",\"userId\":\"usr_3\",\"role\":\"r\"}", STEP_SEND, 0, "", "");
	/* A deactivated member the mapping wants deactivated is left so. */
	EXPECT_DECISION(t, "{\"email\":\"gone@example.org\",\"role\":\"r\",\"isActive\":false}", STEP_DONE,
			OUTCOME_DUPLICATE, "already a member, deactivated as the mapping says (mem_2)", "mem_2");
	/* Not a member, user id known: the bulk add. */
	EXPECT_DECISION(t, "{\"email\":\"new@example.org\",\"userId\":\"usr_9\",\"role\":\"r\"}", STEP_BATCH, 0, "",
			"");
	/* Entries of the listing without an id, or of the wrong types, are
	 * not members. */
	EXPECT_DECISION(t, "{\"email\":\"y@example.org\",\"userId\":\"usr_x\",\"role\":\"r\"}", STEP_BATCH, 0, "", "");
	EXPECT_DECISION(t, "{\"email\":\"z@example.org\",\"userId\":\"usr_5\",\"role\":\"r\"}", STEP_BATCH, 0, "", "");
	/* No user id and no invites. */
	EXPECT_DECISION(t, "{\"email\":\"new@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_INVALID,
			"no Comp AI user id for new@example.org; map userId or set invite = true", "");
	EXPECT_DECISION(t, "{\"role\":\"r\"}", STEP_DONE, OUTCOME_INVALID,
			"neither email nor userId has a value: Comp AI needs one to find the person", "");
	/* Hostile payloads do not crash it. */
	EXPECT_DECISION(t, "{\"email\":[\"a\"],\"userId\":{},\"role\":\"r\"}", STEP_DONE, OUTCOME_INVALID,
			"neither email nor userId has a value: Comp AI needs one to find the person", "");
	target_free(t);
	teardown();
}

static void test_reactivate(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	load_list(t);
	struct push_item it = item("off@example.org", "{\"email\":\"off@example.org\",\"userId\":\"usr_4\",\"role\":\"r\"}");
	struct http_request req;
	struct outcome o;
	bool creates = false;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_4/reactivate");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(creates);
	clear(&req, &o);
	/* A server error is retried with the same request. */
	CU_ASSERT_EQUAL(step(t, &it, 503, "{\"statusCode\":503,\"message\":\"down\"}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_4/reactivate");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"id\":\"mem_4\",\"isActive\":true}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	expect_reason(&o, "reactivated member mem_4");
	CU_ASSERT_STRING_EQUAL(o.remote_id, "mem_4");
	clear(&req, &o);
	item_clear(&it);
	/* Now active in the listing. */
	EXPECT_DECISION(t, "{\"email\":\"off@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_DUPLICATE,
			"already an active member (mem_4)", "mem_4");

	/* Gone since the listing: added instead. */
	it = item("gone@example.org", "{\"email\":\"gone@example.org\",\"userId\":\"usr_2\",\"role\":\"r\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_2/reactivate");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 404,
			     "{\"message\":\"Member with ID mem_2 not found in organization org_1\",\"error\":"
			     "\"Not Found\",\"statusCode\":404}",
			     &req, &o, NULL),
			STEP_BATCH);
	CU_ASSERT_PTR_NULL(it.remote_id);
	clear(&req, &o);
	item_clear(&it);
	/* ...and no longer found in the listing. */
	EXPECT_DECISION(t, "{\"email\":\"gone@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_INVALID,
			"no Comp AI user id for gone@example.org; map userId or set invite = true", "");

	/* Other answers. */
	it = item("x", "{\"email\":\"x@example.org\",\"userId\":\"usr_3\",\"role\":\"r\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 400, "{\"message\":[\"id must be a string\"],\"statusCode\":400}", &req, &o, NULL),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	expect_reason(&o, "rejected by Comp AI: HTTP 400: id must be a string");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 404, "{\"message\":\"Cannot PATCH /v1/people/mem_3/reactivate\",\"statusCode\":404}",
			     &req, &o, NULL),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	expect_reason(&o, "Comp AI has no such endpoint (is url right?): HTTP 404: Cannot PATCH "
			  "/v1/people/mem_3/reactivate");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "not json", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "mem_3");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 301, "", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	expect_reason(&o, "unexpected answer from Comp AI: HTTP 301 with an empty body");
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

static void test_invite(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "inv"), NULL);
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"employee\"}");
	struct http_request req;
	struct outcome o;
	bool creates = false;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	clear(&req, &o);
	/* Without the listing's deactivated members. */
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"data\":[],\"count\":0}", &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/invite");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"invites\":[{\"email\":\"a@x.org\",\"roles\":[\"employee\"]}]}");
	CU_ASSERT(creates);
	clear(&req, &o);

#define EXPECT_INVITE(status, body, kind_, reason_)                                          \
	do {                                                                                  \
		CU_ASSERT_EQUAL(step(t, &it, (status), (body), &req, &o, NULL), STEP_DONE);   \
		CU_ASSERT_EQUAL(o.kind, (kind_));                                             \
		expect_reason(&o, (reason_));                                                 \
		clear(&req, &o);                                                              \
	} while (0)

	EXPECT_INVITE(201, "{\"results\":[{\"email\":\"a@x.org\",\"success\":true,\"emailSent\":true}]}", OUTCOME_OK,
		      "invited by email");
	/* The answer about this email among several. */
	EXPECT_INVITE(201,
		      "{\"results\":[{\"email\":\"b@x.org\",\"success\":true},{\"email\":\"A@X.ORG\",\"success\":false,"
		      "\"error\":\"You cannot assign privileged roles: admin.\"}]}",
		      OUTCOME_INVALID, "rejected by Comp AI: You cannot assign privileged roles: admin.");
	/* duplicate_text is "IS ALREADY" here; matched in any case. */
	EXPECT_INVITE(201, "{\"results\":[{\"email\":\"a@x.org\",\"success\":false,\"error\":\"a@x.org is already "
			   "invited\"}]}",
		      OUTCOME_DUPLICATE, "already at Comp AI: a@x.org is already invited");
	EXPECT_INVITE(201, "{\"results\":[{\"success\":false}]}", OUTCOME_INVALID,
		      "rejected by Comp AI: the invite failed without a reason");
	/* Bodies that say nothing more: a 2xx is an invite. */
	EXPECT_INVITE(201, "{\"results\":\"yes\"}", OUTCOME_OK, "invited by email");
	EXPECT_INVITE(200, "", OUTCOME_OK, "invited by email");
	EXPECT_INVITE(400,
		      "{\"message\":[\"invites.0.email must be an email\",\"invites.0.property name should not exist\"],"
		      "\"error\":\"Bad Request\",\"statusCode\":400}",
		      OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: invites.0.email must be an email; invites.0.property name should "
		      "not exist");
	EXPECT_INVITE(404, "{\"message\":\"Cannot POST /v1/people/invite\",\"error\":\"Not Found\",\"statusCode\":404}",
		      OUTCOME_PERMANENT,
		      "Comp AI has no such endpoint (is url right?): HTTP 404: Cannot POST /v1/people/invite");
	EXPECT_INVITE(429, "{\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}",
		      OUTCOME_THROTTLED, "HTTP 429: {\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}");
	EXPECT_INVITE(401, "{\"message\":\"Invalid or expired API key\",\"statusCode\":401}", OUTCOME_AUTH,
		      "HTTP 401: {\"message\":\"Invalid or expired API key\",\"statusCode\":401}");
	EXPECT_INVITE(0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	/* A retry sends the invite again. */
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/invite");
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* The listing is fetched once and reused until list_ttl has passed. */
static void test_list_reuse(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "inv"), NULL);
	struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"employee\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	clear(&req, &o);
	/* A member asking while the listing is out waits for it... */
	struct push_item it2 = item("b@x.org", "{\"email\":\"b@x.org\",\"role\":\"employee\"}");
	CU_ASSERT_EQUAL(step(t, &it2, -1, NULL, &req, &o, NULL), STEP_WAIT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"data\":[{\"id\":\"m1\",\"user\":{\"email\":\"b@x.org\"}}]}", &req, &o,
			     NULL),
			STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	clear(&req, &o);
	/* ...and, stepped again after the answer, uses it. */
	CU_ASSERT_EQUAL(step(t, &it2, -1, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_DUPLICATE);
	clear(&req, &o);
	item_clear(&it);
	item_clear(&it2);
	/* Later members: no request. */
	EXPECT_DECISION(t, "{\"email\":\"b@x.org\",\"role\":\"employee\"}", STEP_DONE, OUTCOME_DUPLICATE,
			"already an active member (m1)", "m1");
	struct timespec pause = { .tv_sec = 1, .tv_nsec = 50000000 };
	nanosleep(&pause, NULL);
	/* list_ttl (1 s) later: fetched again. */
	it = item("b@x.org", "{\"email\":\"b@x.org\",\"role\":\"employee\"}");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

#define EXPECT_LIST(t, status, body, kind_, reason_)                                                       \
	do {                                                                                                \
		struct push_item it_ = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");           \
		struct http_request req_;                                                                   \
		struct outcome o_;                                                                          \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, NULL), STEP_DONE);            \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                          \
		expect_reason(&o_, (reason_));                                                              \
		clear(&req_, &o_);                                                                          \
		item_clear(&it_);                                                                           \
	} while (0)

static void test_list_answers(void)
{
	setup();
	/* A fresh target each time: a failed listing stands for a while. */
	struct target *t;
#define FRESH(stmt)                                                  \
	do {                                                         \
		t = target_new(conf_find_target(conf, "ca"), NULL); \
		stmt;                                                \
		target_free(t);                                      \
	} while (0)
	FRESH(EXPECT_LIST(t, 401, "{\"message\":\"Invalid or expired API key\",\"error\":\"Unauthorized\","
				  "\"statusCode\":401}",
			  OUTCOME_AUTH,
			  "HTTP 401: {\"message\":\"Invalid or expired API key\",\"error\":\"Unauthorized\","
			  "\"statusCode\":401}"));
	FRESH(EXPECT_LIST(t, 429, "{\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}",
			  OUTCOME_THROTTLED,
			  "HTTP 429: {\"statusCode\":429,\"message\":\"ThrottlerException: Too Many Requests\"}"));
	FRESH(EXPECT_LIST(t, 500, "{\"statusCode\":500,\"message\":\"Failed to retrieve members\"}", OUTCOME_TRANSIENT,
			  "HTTP 500: {\"statusCode\":500,\"message\":\"Failed to retrieve members\"}"));
	FRESH(EXPECT_LIST(t, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused"));
	FRESH(EXPECT_LIST(t, 200, "{not json", OUTCOME_PERMANENT,
			  "cannot read the organization's members (GET /v1/people): HTTP 200: {not json"));
	FRESH(EXPECT_LIST(t, 200, "[]", OUTCOME_PERMANENT,
			  "cannot read the organization's members (GET /v1/people): HTTP 200: []"));
	FRESH(EXPECT_LIST(t, 200, "{\"data\":{\"id\":\"m\"}}", OUTCOME_PERMANENT,
			  "cannot read the organization's members (GET /v1/people): HTTP 200: {\"data\":{\"id\":\"m\"}}"));
	FRESH(EXPECT_LIST(t, 404, "{\"message\":\"Organization with ID org_1 not found\",\"statusCode\":404}",
			  OUTCOME_PERMANENT,
			  "cannot read the organization's members (GET /v1/people): HTTP 404: Organization with ID "
			  "org_1 not found"));
	/* Over max_response_size: our own cap, not worth retrying. */
	FRESH({
		struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");
		struct http_response resp = response(0, NULL);
		struct http_request req;
		struct outcome o;
		resp.curl_code = CURLE_WRITE_ERROR;
		resp.error = "response larger than 1048576 bytes";
		CU_ASSERT_EQUAL(step_resp(t, &it, &resp, &req, &o, NULL), STEP_DONE);
		CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
		expect_reason(&o, "the list of the organization's members is too big (response larger than 1048576 "
				  "bytes); raise max_response_size");
		clear(&req, &o);
		item_clear(&it);
	});
	/* An empty organization. */
	FRESH({
		struct push_item it = item("a@x.org", "{\"email\":\"a@x.org\",\"userId\":\"u\",\"role\":\"r\"}");
		struct http_request req;
		struct outcome o;
		CU_ASSERT_EQUAL(step(t, &it, 200, "{\"data\":[]}", &req, &o, NULL), STEP_BATCH);
		clear(&req, &o);
		item_clear(&it);
	});
	/* A long, hostile listing: wrong types everywhere, invalid UTF-8. */
	FRESH({
		struct sbuf sb;
		sbuf_init(&sb);
		sbuf_addstr(&sb, "{\"data\":[");
		for (int i = 0; i < 20000; i++)
			sbuf_addf(&sb, "%s{\"id\":\"m%d\",\"userId\":%d,\"isActive\":\"no\",\"user\":{\"email\":"
				       "\"u%d@x.org\\u0000\\u00ff\xff\"}}",
				  i ? "," : "", i, i, i);
		sbuf_addstr(&sb, "]}");
		struct push_item it = item("u7@x.org", "{\"email\":\"U7@x.org\",\"userId\":\"7\",\"role\":\"r\"}");
		struct http_request req;
		struct outcome o;
		step(t, &it, 200, sb.buf, &req, &o, NULL);
		clear(&req, &o);
		item_clear(&it);
		sbuf_release(&sb);
	});
#undef FRESH
	teardown();
}

/* A failed listing stands for the others (no request), then one member
 * tries again while the rest keep failing at once. */
static void test_list_failure_stands(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "inv"), NULL);
	struct push_item a = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");
	struct push_item b = item("b@x.org", "{\"email\":\"b@x.org\",\"role\":\"r\"}");
	struct push_item c = item("c@x.org", "{\"email\":\"c@x.org\",\"role\":\"r\"}");
	struct http_request req;
	struct outcome o;
	CU_ASSERT_EQUAL(step(t, &a, 502, "<html>Bad Gateway</html>", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &b, -1, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	expect_reason(&o, "HTTP 502: <html>Bad Gateway</html>");
	CU_ASSERT_PTR_NULL(req.url);
	clear(&req, &o);
	struct timespec pause = { .tv_nsec = 250000000 };
	nanosleep(&pause, NULL);
	/* retry_delay (0.2 s) later: b probes, c fails at once meanwhile. */
	CU_ASSERT_EQUAL(step(t, &b, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &c, -1, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	/* The probe succeeds: everyone goes on. */
	CU_ASSERT_EQUAL(step(t, &b, 200, "{\"data\":[]}", &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/invite");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &c, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/invite");
	clear(&req, &o);
	item_clear(&a);
	item_clear(&b);
	item_clear(&c);
	target_free(t);

	/* One that retrying cannot mend stands for list_ttl. */
	t = target_new(conf_find_target(conf, "inv"), NULL);
	a = item("a@x.org", "{\"email\":\"a@x.org\",\"role\":\"r\"}");
	b = item("b@x.org", "{\"email\":\"b@x.org\",\"role\":\"r\"}");
	CU_ASSERT_EQUAL(step(t, &a, 200, "<html>login</html>", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	clear(&req, &o);
	nanosleep(&pause, NULL);
	CU_ASSERT_EQUAL(step(t, &b, -1, NULL, &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	expect_reason(&o, "cannot read the organization's members (GET /v1/people): HTTP 200: <html>login</html>");
	clear(&req, &o);
	/* Throttling is the engine's to wait out: the next member asks. */
	CU_ASSERT_EQUAL(step(t, &a, 429, "{}", &req, &o, NULL), STEP_DONE);
	clear(&req, &o);
	item_clear(&a);
	item_clear(&b);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ adds */

static void batch(struct target *t, struct push_item **items, size_t n, struct http_request *req)
{
	http_request_init(req, "POST", NULL);
	t->conf->driver->build_batch(t, items, n, req);
}

static void classify(struct target *t, long status, const char *body, struct push_item **items, size_t n,
		     struct outcome *outs)
{
	struct http_response resp = response(status, body);
	for (size_t i = 0; i < n; i++)
		outs[i] = (struct outcome){ .retry_after = -1 };
	t->conf->driver->classify_batch(t, &resp, items, n, outs);
}

static void test_batch_requests(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct push_item a = item("a@x.org", "{\"email\":\"a@x.org\",\"userId\":\"usr_a\",\"role\":\"admin\","
					     "\"department\":\"it\",\"isActive\":true,\"fleetDmLabelId\":7,"
					     "\"jobTitle\":\"Ops / \\\"SRE\\\"\"}");
	struct push_item b = item("b@x.org", "{\"email\":\"b@x.org\",\"userId\":\"usr_b\",\"role\":\"employee\"}");
	struct push_item *items[] = { &a, &b };
	struct http_request req;
	/* One member: POST /v1/people with the member alone; never email. */
	batch(t, items, 1, &req);
	CU_ASSERT_STRING_EQUAL(req.method, "POST");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userId\":\"usr_a\",\"role\":\"admin\",\"department\":\"it\",\"isActive\":true,"
					 "\"fleetDmLabelId\":7,\"jobTitle\":\"Ops / \\\"SRE\\\"\"}");
	http_request_clear(&req);
	batch(t, items, 2, &req);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/bulk");
	CU_ASSERT_STRING_EQUAL(req.body,
			       "{\"members\":[{\"userId\":\"usr_a\",\"role\":\"admin\",\"department\":\"it\","
			       "\"isActive\":true,\"fleetDmLabelId\":7,\"jobTitle\":\"Ops / \\\"SRE\\\"\"},"
			       "{\"userId\":\"usr_b\",\"role\":\"employee\"}]}");
	http_request_clear(&req);
	item_clear(&a);
	item_clear(&b);
	/* The payload is read again if the engine dropped it. */
	a = (struct push_item){ .key = "a", .payload_text = "{\"email\":\"a@x.org\",\"userId\":\"u\",\"role\":\"r\"}" };
	batch(t, items, 1, &req);
	CU_ASSERT_STRING_EQUAL(req.body, "{\"userId\":\"u\",\"role\":\"r\"}");
	http_request_clear(&req);
	item_clear(&a);
	target_free(t);
	teardown();
}

static void test_single_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct push_item a = item("a@x.org", "{\"email\":\"a@x.org\",\"userId\":\"usr_a\",\"role\":\"r\"}");
	struct push_item *items[] = { &a };
	struct outcome o;
#define EXPECT_SINGLE(status, body, kind_, reason_, rid)                          \
	do {                                                                       \
		classify(t, (status), (body), items, 1, &o);                       \
		CU_ASSERT_EQUAL(o.kind, (kind_));                                  \
		expect_reason(&o, (reason_));                                      \
		CU_ASSERT_STRING_EQUAL(o.remote_id ? o.remote_id : "", (rid));    \
		outcome_clear(&o);                                                 \
	} while (0)
	EXPECT_SINGLE(201, "{\"id\":\"mem_abc\",\"userId\":\"usr_a\",\"user\":{\"email\":\"a@x.org\"}}", OUTCOME_OK,
		      "added as member mem_abc", "mem_abc");
	EXPECT_SINGLE(201, "", OUTCOME_OK, "added", "");
	EXPECT_SINGLE(201, "{\"id\":7}", OUTCOME_OK, "added", "");
	EXPECT_SINGLE(404, "{\"message\":\"User with ID usr_a not found\",\"error\":\"Not Found\",\"statusCode\":404}",
		      OUTCOME_INVALID, "rejected by Comp AI: HTTP 404: User with ID usr_a not found", "");
	EXPECT_SINGLE(400,
		      "{\"message\":\"User a@x.org is already a member of this organization\",\"error\":\"Bad "
		      "Request\",\"statusCode\":400}",
		      OUTCOME_DUPLICATE, "already at Comp AI: User a@x.org is already a member of this organization", "");
	EXPECT_SINGLE(400,
		      "{\"message\":[\"property email should not exist\",\"department must be one of the following "
		      "values: none, admin, gov, hr, it, itsm, qms\"],\"error\":\"Bad Request\",\"statusCode\":400}",
		      OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: property email should not exist; department must be one of the "
		      "following values: none, admin, gov, hr, it, itsm, qms",
		      "");
	/* The words "already a member" only count in a 400. */
	EXPECT_SINGLE(404, "{\"message\":\"already a member\"}", OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 404: already a member", "");
	EXPECT_SINGLE(400, "{\"message\":{\"a\":1},\"statusCode\":400}", OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: {\"message\":{\"a\":1},\"statusCode\":400}", "");
	EXPECT_SINGLE(400, "{\"message\":[1,null,\"only text\"]}", OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: only text", "");
	/* Control characters and invalid UTF-8 are escaped. */
	EXPECT_SINGLE(400, "{\"message\":\"bad\\nline\\u0001 \xff\"}", OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: bad\\x0aline\\x01 \\xff", "");
	EXPECT_SINGLE(400, "{\"message\":\"bad\\nline\\u0001\"}", OUTCOME_INVALID,
		      "rejected by Comp AI: HTTP 400: bad\\x0aline\\x01", "");
	EXPECT_SINGLE(404, "{\"message\":\"Cannot POST /v1/people\",\"error\":\"Not Found\",\"statusCode\":404}",
		      OUTCOME_PERMANENT, "Comp AI has no such endpoint (is url right?): HTTP 404: Cannot POST /v1/people",
		      "");
	EXPECT_SINGLE(401, "{\"message\":\"Invalid or expired API key\"}", OUTCOME_AUTH,
		      "HTTP 401: {\"message\":\"Invalid or expired API key\"}", "");
	EXPECT_SINGLE(403, "", OUTCOME_AUTH, "HTTP 403 with an empty body", "");
	EXPECT_SINGLE(500, "{\"statusCode\":500,\"message\":\"Failed to create member\"}", OUTCOME_TRANSIENT,
		      "HTTP 500: {\"statusCode\":500,\"message\":\"Failed to create member\"}", "");
	EXPECT_SINGLE(0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", "");
	EXPECT_SINGLE(302, "", OUTCOME_PERMANENT, "unexpected answer from Comp AI: HTTP 302 with an empty body", "");
	/* Retry-After reaches the engine. */
	struct http_response resp = response(429, "{\"statusCode\":429,\"message\":\"ThrottlerException: Too Many "
						   "Requests\"}");
	resp.retry_after = 42;
	o = (struct outcome){ .retry_after = -1 };
	t->conf->driver->classify_batch(t, &resp, items, 1, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_THROTTLED);
	CU_ASSERT_EQUAL(o.retry_after, 42);
	outcome_clear(&o);
	/* Very long answers are cut. */
	char *big = malloc(100001);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	classify(t, 418, big, items, 1, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 300);
	outcome_clear(&o);
	char *longmsg;
	if (asprintf(&longmsg, "{\"message\":\"%s\"}", big) < 0)
		abort();
	classify(t, 400, longmsg, items, 1, &o);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_INVALID);
	CU_ASSERT(strlen(o.reason) < 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.reason, "... (100000 bytes)"));
	outcome_clear(&o);
	free(longmsg);
	free(big);
#undef EXPECT_SINGLE
	item_clear(&a);
	target_free(t);
	teardown();
}

static void test_bulk_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct push_item its[6] = {
		item("a", "{\"email\":\"a@x.org\",\"userId\":\"usr_a\",\"role\":\"r\"}"),
		item("b", "{\"email\":\"b@x.org\",\"userId\":\"usr_b\",\"role\":\"r\"}"),
		item("c", "{\"email\":\"c@x.org\",\"userId\":\"usr_c\",\"role\":\"r\"}"),
		item("d", "{\"email\":\"d@x.org\",\"userId\":\"usr_d\",\"role\":\"r\"}"),
		item("e", "{\"email\":\"e@x.org\",\"userId\":\"usr_e\",\"role\":\"r\"}"),
		item("f", "{\"email\":\"f@x.org\",\"userId\":\"usr_f\",\"role\":\"r\"}"),
	};
	struct push_item *items[] = { &its[0], &its[1], &its[2], &its[3], &its[4], &its[5] };
	struct outcome outs[6];

	/* Partial success: errors by index (checked against the user id),
	 * created members by user id, in any order. */
	classify(t, 201,
		 "{\"created\":[{\"id\":\"mem_c\",\"userId\":\"usr_c\"},{\"id\":\"mem_a\",\"userId\":\"usr_a\"},"
		 "{\"id\":\"mem_f\",\"user\":{\"id\":\"usr_f\"}},\"junk\",{\"id\":5,\"userId\":\"usr_x\"}],"
		 "\"errors\":[{\"index\":1,\"userId\":\"usr_b\",\"error\":\"User b@x.org is already a member of this "
		 "organization\"},{\"index\":3,\"userId\":\"usr_e\",\"error\":\"User with ID usr_e not found\"},"
		 "{\"index\":\"2\",\"userId\":\"usr_d\",\"error\":\"User with ID usr_d not found\"},7,{\"index\":99}],"
		 "\"summary\":{\"total\":6,\"successful\":3,\"failed\":3}}",
		 items, 6, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_OK);
	expect_reason(&outs[0], "added in bulk as member mem_a");
	CU_ASSERT_STRING_EQUAL(outs[0].remote_id, "mem_a");
	CU_ASSERT_EQUAL(outs[1].kind, OUTCOME_DUPLICATE);
	expect_reason(&outs[1], "already at Comp AI: User b@x.org is already a member of this organization");
	CU_ASSERT_PTR_NULL(outs[1].remote_id);
	CU_ASSERT_EQUAL(outs[2].kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(outs[2].remote_id, "mem_c");
	/* Index 3 names usr_e, not d: matched by user id instead. */
	CU_ASSERT_EQUAL(outs[3].kind, OUTCOME_INVALID);
	expect_reason(&outs[3], "rejected by Comp AI: User with ID usr_d not found");
	CU_ASSERT_EQUAL(outs[4].kind, OUTCOME_INVALID);
	expect_reason(&outs[4], "rejected by Comp AI: User with ID usr_e not found");
	CU_ASSERT_EQUAL(outs[5].kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(outs[5].remote_id, "mem_f");
	for (int i = 0; i < 6; i++)
		outcome_clear(&outs[i]);

	/* Neither created nor refused: not understood, not retried now. */
	classify(t, 201, "{\"created\":[],\"errors\":[{\"index\":0,\"userId\":\"usr_a\"}]}", items, 2, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_INVALID);
	expect_reason(&outs[0], "rejected by Comp AI: refused without a reason");
	CU_ASSERT_EQUAL(outs[1].kind, OUTCOME_PERMANENT);
	expect_reason(&outs[1], "Comp AI's bulk answer neither created nor refused this member (userId usr_b)");
	outcome_clear(&outs[0]);
	outcome_clear(&outs[1]);
	classify(t, 201, "{\"created\":{},\"errors\":\"none\"}", items, 2, outs);
	CU_ASSERT_EQUAL(outs[0].kind, OUTCOME_PERMANENT);
	CU_ASSERT_EQUAL(outs[1].kind, OUTCOME_PERMANENT);
	outcome_clear(&outs[0]);
	outcome_clear(&outs[1]);

#define EXPECT_BULK(status, body, kind_, reason_)                                \
	do {                                                                      \
		classify(t, (status), (body), items, 3, outs);                    \
		for (int i_ = 0; i_ < 3; i_++) {                                  \
			CU_ASSERT_EQUAL(outs[i_].kind, (kind_));                  \
			expect_reason(&outs[i_], (reason_));                      \
			outcome_clear(&outs[i_]);                                 \
		}                                                                 \
	} while (0)
	/* The whole request refused (the DTO): the halves show whose fault. */
	EXPECT_BULK(400,
		    "{\"message\":[\"members.2.property email should not exist\"],\"error\":\"Bad Request\","
		    "\"statusCode\":400}",
		    OUTCOME_SPLIT, "the batch was refused: HTTP 400: members.2.property email should not exist");
	EXPECT_BULK(413, "", OUTCOME_SPLIT, "the batch was refused: HTTP 413 with an empty body");
	EXPECT_BULK(404, "{\"message\":\"Cannot POST /v1/people/bulk\",\"error\":\"Not Found\",\"statusCode\":404}",
		    OUTCOME_PERMANENT,
		    "Comp AI has no such endpoint (is url right?): HTTP 404: Cannot POST /v1/people/bulk (set batch_size "
		    "= 1 for a server without /bulk)");
	EXPECT_BULK(404, "{\"message\":\"Organization with ID org_1 not found\"}", OUTCOME_PERMANENT,
		    "unexpected answer from Comp AI: HTTP 404: Organization with ID org_1 not found");
	EXPECT_BULK(401, "", OUTCOME_AUTH, "HTTP 401 with an empty body");
	EXPECT_BULK(502, "<html>", OUTCOME_TRANSIENT, "HTTP 502: <html>");
	EXPECT_BULK(0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused");
	EXPECT_BULK(201, "{not json", OUTCOME_PERMANENT, "unexpected answer from Comp AI: HTTP 201: {not json");
	EXPECT_BULK(201, "[{\"id\":\"m\"}]", OUTCOME_PERMANENT, "unexpected answer from Comp AI: HTTP 201: [{\"id\":\"m\"}]");
#undef EXPECT_BULK
	struct http_response resp = response(429, "{\"statusCode\":429}");
	resp.retry_after = 7;
	for (int i = 0; i < 3; i++)
		outs[i] = (struct outcome){ .retry_after = -1 };
	t->conf->driver->classify_batch(t, &resp, items, 3, outs);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(outs[i].kind, OUTCOME_THROTTLED);
		CU_ASSERT_EQUAL(outs[i].retry_after, 7);
		outcome_clear(&outs[i]);
	}
	/* A thousand members, a thousand errors. */
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addstr(&sb, "{\"created\":[],\"errors\":[");
	for (int i = 0; i < 1000; i++)
		sbuf_addf(&sb, "%s{\"index\":%d,\"userId\":\"usr_%d\",\"error\":\"User with ID usr_%d not found\"}",
			  i ? "," : "", i, i, i);
	sbuf_addstr(&sb, "]}");
	struct push_item *many = calloc(1000, sizeof(*many));
	struct push_item **pm = calloc(1000, sizeof(*pm));
	struct outcome *mouts = calloc(1000, sizeof(*mouts));
	char payload[1000][96];
	for (int i = 0; i < 1000; i++) {
		snprintf(payload[i], sizeof(payload[i]), "{\"email\":\"u%d@x.org\",\"userId\":\"usr_%d\",\"role\":\"r\"}",
			 i, i);
		many[i] = item("k", payload[i]);
		pm[i] = &many[i];
	}
	classify(t, 201, sb.buf, pm, 1000, mouts);
	for (int i = 0; i < 1000; i++) {
		char want[80];
		snprintf(want, sizeof(want), "rejected by Comp AI: User with ID usr_%d not found", i);
		CU_ASSERT_EQUAL(mouts[i].kind, OUTCOME_INVALID);
		CU_ASSERT_STRING_EQUAL(mouts[i].reason, want);
		outcome_clear(&mouts[i]);
		item_clear(&many[i]);
	}
	free(many);
	free(pm);
	free(mouts);
	sbuf_release(&sb);
	for (int i = 0; i < 6; i++)
		item_clear(&its[i]);
	target_free(t);
	teardown();
}

/* ------------------------------------------------------------ other ops */


#define FULL_PAYLOAD                                                                                  \
	"{\"email\":\"a@x.org\",\"userId\":\"usr_a\",\"role\":\"admin\",\"department\":\"it\","        \
	"\"isActive\":true,\"fleetDmLabelId\":7,\"jobTitle\":\"Ops\"}"

static void test_ops_declared(void)
{
	const struct target_driver *d = driver_find("compai");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(driver_ops(d, NULL), OP_BIT(OP_ADD) | OP_BIT(OP_UPDATE) | OP_BIT(OP_DISABLE) |
						     OP_BIT(OP_ENABLE) | OP_BIT(OP_LOOKUP));
	/* DELETE /v1/people/{id} deactivates: there is no hard delete. */
	CU_ASSERT(!(driver_ops(d, NULL) & OP_BIT(OP_DELETE)));
	CU_ASSERT(!d->idempotent_add);
}

static void test_op_requests(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* An update: PATCH with the updatable fields only, never userId or
	 * email; straight to the stored id, no listing. */
	struct push_item it = op_item(OP_UPDATE, "a@x.org", FULL_PAYLOAD, "mem_1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_1");
	CU_ASSERT(has_header(&req, "Content-Type: application/json"));
	CU_ASSERT(has_header(&req, "Accept: application/json"));
	CU_ASSERT_STRING_EQUAL(req.body, "{\"role\":\"admin\",\"department\":\"it\",\"isActive\":true,"
					 "\"fleetDmLabelId\":7,\"jobTitle\":\"Ops\"}");
	CU_ASSERT(!creates);
	clear(&req, &o);
	/* A retry builds the same request again. */
	CU_ASSERT_EQUAL(step(t, &it, 500, "", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_1");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);

	/* Mapped fields without a value this time are cleared (department
	 * back to the server's "none"); isActive without one is left alone. */
	it = op_item(OP_UPDATE, "a@x.org", "{\"email\":\"a@x.org\",\"role\":\"employee\"}", "mem/1 ?");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem%2F1%20%3F");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"role\":\"employee\",\"department\":\"none\",\"fleetDmLabelId\":null,"
					 "\"jobTitle\":null}");
	clear(&req, &o);
	item_clear(&it);
	/* Fields the mapping leaves out are not touched. */
	struct target *ti = target_new(conf_find_target(conf, "inv"), NULL);
	it = op_item(OP_UPDATE, "a@x.org", "{\"email\":\"a@x.org\",\"role\":\"employee\"}", "mem_1");
	CU_ASSERT_EQUAL(step(ti, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/mem_1");
	CU_ASSERT_STRING_EQUAL(req.body, "{\"role\":\"employee\"}");
	clear(&req, &o);
	item_clear(&it);
	target_free(ti);

	/* Deprovisioning: DELETE (Comp AI's deactivation), no body; the entry
	 * may be gone from the directory. */
	it = op_item(OP_DISABLE, "a@x.org", NULL, "mem_1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_1");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);

	/* Back in scope: the reactivation of the add. */
	it = op_item(OP_ENABLE, "a@x.org", FULL_PAYLOAD, "mem_1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_1/reactivate");
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);

	/* No hard delete: refused without a request. */
	it = op_item(OP_DELETE, "a@x.org", NULL, "mem_1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_PERMANENT);
	expect_reason(&o, "Comp AI cannot delete a member (it only deactivates them)");
	CU_ASSERT_PTR_NULL(req.url);
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

/* One answer to a non-add op's request for stored member mem_1. */
#define EXPECT_OP(t, op, payload, status, body, kind_, reason_, rid)                                         \
	do {                                                                                                  \
		struct push_item it_ = op_item((op), "a@x.org", (payload), "mem_1");                         \
		struct http_request req_;                                                                     \
		struct outcome o_;                                                                            \
		bool cr_ = true;                                                                              \
		CU_ASSERT_EQUAL(step((t), &it_, -1, NULL, &req_, &o_, &cr_), STEP_SEND);                     \
		CU_ASSERT(!cr_);                                                                              \
		clear(&req_, &o_);                                                                            \
		CU_ASSERT_EQUAL(step((t), &it_, (status), (body), &req_, &o_, &cr_), STEP_DONE);             \
		CU_ASSERT(!cr_);                                                                              \
		CU_ASSERT_EQUAL(o_.kind, (kind_));                                                            \
		expect_reason(&o_, (reason_));                                                                \
		CU_ASSERT_STRING_EQUAL(o_.remote_id ? o_.remote_id : "", (rid));                             \
		clear(&req_, &o_);                                                                            \
		item_clear(&it_);                                                                             \
	} while (0)

static void test_op_answers(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	static const char member_404[] =
		"{\"message\":\"Member with ID mem_1 not found in organization org_1\",\"error\":\"Not Found\","
		"\"statusCode\":404}";

	/* Updates. */
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 200, "{\"id\":\"mem_1\",\"role\":\"admin\",\"authType\":\"api-key\"}",
		  OUTCOME_OK, "updated member mem_1", "mem_1");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 200, "not json", OUTCOME_OK, "updated member mem_1", "mem_1");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 200, "{\"id\":42}", OUTCOME_OK, "updated member mem_1", "mem_1");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 404, member_404, OUTCOME_ABSENT,
		  "no member mem_1 at Comp AI: HTTP 404: Member with ID mem_1 not found in organization org_1", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 404,
		  "{\"message\":\"Cannot PATCH /v1/people/mem_1\",\"error\":\"Not Found\",\"statusCode\":404}",
		  OUTCOME_PERMANENT,
		  "Comp AI has no such endpoint (is url right?): HTTP 404: Cannot PATCH /v1/people/mem_1", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 400,
		  "{\"message\":[\"department must be one of the following values: none, admin\"],\"error\":"
		  "\"Bad Request\",\"statusCode\":400}",
		  OUTCOME_INVALID,
		  "rejected by Comp AI: HTTP 400: department must be one of the following values: none, admin", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 409, "{\"message\":\"Email already in use\",\"statusCode\":409}",
		  OUTCOME_INVALID, "rejected by Comp AI: HTTP 409: Email already in use", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 401, "{\"message\":\"Invalid or expired API key\",\"statusCode\":401}",
		  OUTCOME_AUTH, "HTTP 401: {\"message\":\"Invalid or expired API key\",\"statusCode\":401}", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 429, "{\"statusCode\":429}", OUTCOME_THROTTLED,
		  "HTTP 429: {\"statusCode\":429}", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 500, "{\"statusCode\":500,\"message\":\"Failed to update member\"}",
		  OUTCOME_TRANSIENT, "HTTP 500: {\"statusCode\":500,\"message\":\"Failed to update member\"}", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 0, NULL, OUTCOME_TRANSIENT, "no answer: Connection refused", "");
	EXPECT_OP(t, OP_UPDATE, FULL_PAYLOAD, 302, "", OUTCOME_PERMANENT,
		  "unexpected answer from Comp AI: HTTP 302 with an empty body", "");

	/* Deactivations. */
	EXPECT_OP(t, OP_DISABLE, NULL, 200,
		  "{\"success\":true,\"deletedMember\":{\"id\":\"mem_1\",\"name\":\"A\",\"email\":\"a@x.org\"}}",
		  OUTCOME_OK, "deactivated member mem_1", "mem_1");
	EXPECT_OP(t, OP_DISABLE, NULL, 200, "{\"deletedMember\":[1]}", OUTCOME_OK, "deactivated member mem_1", "mem_1");
	EXPECT_OP(t, OP_DISABLE, NULL, 404, member_404, OUTCOME_ABSENT,
		  "no member mem_1 at Comp AI: HTTP 404: Member with ID mem_1 not found in organization org_1", "");
	/* The owner (or the key's own user) cannot go: not the credentials. */
	EXPECT_OP(t, OP_DISABLE, NULL, 403,
		  "{\"message\":\"Cannot remove the organization owner\",\"error\":\"Forbidden\",\"statusCode\":403}",
		  OUTCOME_INVALID,
		  "Comp AI refuses to deactivate member mem_1: HTTP 403: Cannot remove the organization owner", "");
	EXPECT_OP(t, OP_DISABLE, NULL, 403,
		  "{\"message\":\"API key lacks required permission scope\",\"error\":\"Forbidden\","
		  "\"statusCode\":403}",
		  OUTCOME_AUTH,
		  "HTTP 403: {\"message\":\"API key lacks required permission scope\",\"error\":\"Forbidden\","
		  "\"statusCode\":403}",
		  "");
	EXPECT_OP(t, OP_DISABLE, NULL, 403, "<html>remove</html>", OUTCOME_AUTH, "HTTP 403: <html>remove</html>", "");
	EXPECT_OP(t, OP_DISABLE, NULL, 502, "<html>", OUTCOME_TRANSIENT, "HTTP 502: <html>", "");

	/* Reactivations. */
	EXPECT_OP(t, OP_ENABLE, FULL_PAYLOAD, 200, "{\"id\":\"mem_1\",\"isActive\":true}", OUTCOME_OK,
		  "reactivated member mem_1", "mem_1");
	EXPECT_OP(t, OP_ENABLE, NULL, 200, "[]", OUTCOME_OK, "reactivated member mem_1", "mem_1");
	EXPECT_OP(t, OP_ENABLE, NULL, 404, member_404, OUTCOME_ABSENT,
		  "no member mem_1 at Comp AI: HTTP 404: Member with ID mem_1 not found in organization org_1", "");
	EXPECT_OP(t, OP_ENABLE, NULL, 400, "{\"message\":\"nope\"}", OUTCOME_INVALID,
		  "rejected by Comp AI: HTTP 400: nope", "");
	target_free(t);
	teardown();
}

/* A non-add op without a stored id finds the member in the listing. */
#define EXPECT_FOUND(t, op, key, payload, result, kind_, reason_, rid, meth_, url_)                \
	do {                                                                                        \
		struct push_item it_ = op_item((op), (key), (payload), NULL);                      \
		struct http_request req_;                                                           \
		struct outcome o_;                                                                  \
		bool cr_ = true;                                                                    \
		CU_ASSERT_EQUAL(step((t), &it_, -1, NULL, &req_, &o_, &cr_), (result));            \
		CU_ASSERT(!cr_);                                                                    \
		if ((result) == STEP_DONE) {                                                        \
			CU_ASSERT_EQUAL(o_.kind, (kind_));                                          \
			expect_reason(&o_, (reason_));                                              \
			CU_ASSERT_STRING_EQUAL(o_.remote_id ? o_.remote_id : "", (rid));           \
		} else {                                                                            \
			CU_ASSERT_STRING_EQUAL(req_.method, (meth_));                               \
			CU_ASSERT_STRING_EQUAL(req_.url, (url_));                                   \
			CU_ASSERT_STRING_EQUAL(it_.remote_id ? it_.remote_id : "", (rid));         \
		}                                                                                   \
		clear(&req_, &o_);                                                                  \
		item_clear(&it_);                                                                   \
	} while (0)

static void test_op_lookup_first(void)
{
	setup();
	struct target *t = target_new(conf_find_target(conf, "ca"), NULL);
	struct http_request req;
	struct outcome o;
	bool creates = true;

	/* No stored id: the listing first (with the deactivated members). */
	struct push_item it =
		op_item(OP_UPDATE, "active@example.org", "{\"email\":\"Active@example.org\",\"role\":\"r\"}", NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people?includeDeactivated=true");
	CU_ASSERT(!creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, LIST_BODY, &req, &o, &creates), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "PATCH");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/api/v1/people/mem_1");
	CU_ASSERT_STRING_EQUAL(req.body,
			       "{\"role\":\"r\",\"department\":\"none\",\"fleetDmLabelId\":null,\"jobTitle\":null}");
	CU_ASSERT_STRING_EQUAL(it.remote_id, "mem_1");
	CU_ASSERT(!creates);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"id\":\"mem_1\"}", &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "mem_1");
	clear(&req, &o);
	item_clear(&it);

	/* The listing at hand decides the rest without another one. */
	EXPECT_FOUND(t, OP_UPDATE, "k", "{\"email\":\"n@example.org\",\"userId\":\"usr_4\",\"role\":\"r\"}",
		     STEP_SEND, 0, "", "mem_4", "PATCH", "http://127.0.0.1:9/api/v1/people/mem_4");
	EXPECT_FOUND(t, OP_UPDATE, "k", "{\"email\":\"gone@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_ABSENT,
		     "member mem_2 is deactivated", "", "", "");
	EXPECT_FOUND(t, OP_UPDATE, "k", "{\"email\":\"who@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_ABSENT,
		     "not a member of the organization (who@example.org)", "", "", "");
	/* Deprovisioning an entry gone from the directory: its key is the
	 * email. Already deactivated: nothing to send. */
	EXPECT_FOUND(t, OP_DISABLE, "active@example.org", NULL, STEP_SEND, 0, "", "mem_1", "DELETE",
		     "http://127.0.0.1:9/api/v1/people/mem_1");
	EXPECT_FOUND(t, OP_DISABLE, "off@example.org", NULL, STEP_SEND, 0, "", "mem_4", "DELETE",
		     "http://127.0.0.1:9/api/v1/people/mem_4");
	EXPECT_FOUND(t, OP_DISABLE, "GONE@example.org", NULL, STEP_DONE, OUTCOME_OK, "already deactivated (mem_2)",
		     "mem_2", "", "");
	EXPECT_FOUND(t, OP_DISABLE, "who@example.org", NULL, STEP_DONE, OUTCOME_ABSENT,
		     "not a member of the organization (who@example.org)", "", "", "");
	EXPECT_FOUND(t, OP_ENABLE, "k", "{\"email\":\"gone@example.org\",\"role\":\"r\"}", STEP_SEND, 0, "", "mem_2",
		     "PATCH", "http://127.0.0.1:9/api/v1/people/mem_2/reactivate");
	EXPECT_FOUND(t, OP_ENABLE, "k", "{\"email\":\"off@example.org\",\"role\":\"r\"}", STEP_SEND, 0, "", "mem_4",
		     "PATCH", "http://127.0.0.1:9/api/v1/people/mem_4/reactivate");
	EXPECT_FOUND(t, OP_ENABLE, "k", "{\"email\":\"active@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_OK,
		     "already active (mem_1)", "mem_1", "", "");
	EXPECT_FOUND(t, OP_ENABLE, "k", "{\"email\":\"who@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_ABSENT,
		     "not a member of the organization (who@example.org)", "", "", "");
	/* Lookups: there as the add would have left it, or absent. */
	EXPECT_FOUND(t, OP_LOOKUP, "k", "{\"email\":\"active@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_OK,
		     "a member of the organization (mem_1)", "mem_1", "", "");
	EXPECT_FOUND(t, OP_LOOKUP, "k", "{\"email\":\"x@example.org\",\"userId\":\"usr_1\",\"role\":\"r\"}", STEP_DONE,
		     OUTCOME_OK, "a member of the organization (mem_1)", "mem_1", "", "");
	EXPECT_FOUND(t, OP_LOOKUP, "k", "{\"email\":\"gone@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_ABSENT,
		     "only a deactivated member (mem_2): the add reactivates it", "", "", "");
	EXPECT_FOUND(t, OP_LOOKUP, "k", "{\"email\":\"gone@example.org\",\"role\":\"r\",\"isActive\":false}", STEP_DONE,
		     OUTCOME_OK, "a member of the organization (mem_2)", "mem_2", "", "");
	EXPECT_FOUND(t, OP_LOOKUP, "k", "{\"email\":\"who@example.org\",\"role\":\"r\"}", STEP_DONE, OUTCOME_ABSENT,
		     "not a member of the organization (who@example.org)", "", "", "");
	/* A lookup reads the listing even with an id stored: an add that
	 * never answered left none that can be trusted. */
	it = op_item(OP_LOOKUP, "k", "{\"email\":\"active@example.org\",\"role\":\"r\"}", "mem_9");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, &creates), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	CU_ASSERT_STRING_EQUAL(o.remote_id, "mem_1");
	CU_ASSERT(!creates);
	clear(&req, &o);
	item_clear(&it);
	/* Nothing to find the member by. */
	EXPECT_FOUND(t, OP_UPDATE, "k", "{\"role\":\"r\"}", STEP_DONE, OUTCOME_PERMANENT,
		     "no member id stored, and neither email nor userId known: cannot find the member", "", "", "");
	target_free(t);

	/* A 404 on the member: the listing is read again by the next one. */
	t = target_new(conf_find_target(conf, "ca"), NULL);
	load_list(t);
	it = op_item(OP_DISABLE, "active@example.org", NULL, "mem_1");
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 404, "{\"message\":\"Member with ID mem_1 not found\",\"statusCode\":404}",
			     &req, &o, NULL),
			STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_ABSENT);
	clear(&req, &o);
	item_clear(&it);
	EXPECT_FOUND(t, OP_DISABLE, "active@example.org", NULL, STEP_SEND, 0, "", "", "GET",
		     "http://127.0.0.1:9/api/v1/people?includeDeactivated=true");
	target_free(t);

	/* A success updates the listing: deactivated, then back. */
	t = target_new(conf_find_target(conf, "ca"), NULL);
	load_list(t);
	it = op_item(OP_DISABLE, "active@example.org", NULL, "mem_1");
	step(t, &it, -1, NULL, &req, &o, NULL);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"success\":true}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_OK);
	clear(&req, &o);
	item_clear(&it);
	EXPECT_FOUND(t, OP_DISABLE, "active@example.org", NULL, STEP_DONE, OUTCOME_OK, "already deactivated (mem_1)",
		     "mem_1", "", "");
	EXPECT_DECISION(t, "{\"email\":\"active@example.org\",\"role\":\"r\"}", STEP_SEND, 0, "", "");
	it = op_item(OP_ENABLE, "active@example.org", NULL, "mem_1");
	step(t, &it, -1, NULL, &req, &o, NULL);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, "{\"id\":\"mem_1\"}", &req, &o, NULL), STEP_DONE);
	clear(&req, &o);
	item_clear(&it);
	EXPECT_FOUND(t, OP_ENABLE, "active@example.org", NULL, STEP_DONE, OUTCOME_OK, "already active (mem_1)", "mem_1",
		     "", "");
	target_free(t);

	/* The key is the user id: found by it. */
	t = target_new(conf_find_target(conf, "uk"), NULL);
	it = op_item(OP_DISABLE, "usr_4", NULL, NULL);
	CU_ASSERT_EQUAL(step(t, &it, -1, NULL, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people?includeDeactivated=true");
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 200, LIST_BODY, &req, &o, NULL), STEP_SEND);
	CU_ASSERT_STRING_EQUAL(req.method, "DELETE");
	CU_ASSERT_STRING_EQUAL(req.url, "http://127.0.0.1:9/v1/people/mem_4");
	clear(&req, &o);
	item_clear(&it);
	/* A listing that fails fails the op the same way. */
	target_free(t);
	t = target_new(conf_find_target(conf, "uk"), NULL);
	it = op_item(OP_ENABLE, "usr_4", NULL, NULL);
	step(t, &it, -1, NULL, &req, &o, NULL);
	clear(&req, &o);
	CU_ASSERT_EQUAL(step(t, &it, 500, "{\"statusCode\":500}", &req, &o, NULL), STEP_DONE);
	CU_ASSERT_EQUAL(o.kind, OUTCOME_TRANSIENT);
	clear(&req, &o);
	item_clear(&it);
	target_free(t);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "defaults", test_defaults },
		{ "config errors", test_config_errors },
		{ "schema", test_schema },
		{ "the listing request", test_list_request },
		{ "decisions from the listing", test_decisions },
		{ "reactivation", test_reactivate },
		{ "invites", test_invite },
		{ "the listing is reused until list_ttl", test_list_reuse },
		{ "listing answers", test_list_answers },
		{ "a failed listing stands", test_list_failure_stands },
		{ "single and bulk requests", test_batch_requests },
		{ "single add answers", test_single_answers },
		{ "bulk answers", test_bulk_answers },
		{ "ops declared", test_ops_declared },
		{ "update, deactivation and reactivation requests", test_op_requests },
		{ "answers to the other ops", test_op_answers },
		{ "other ops find the member in the listing", test_op_lookup_first },
		{ NULL, NULL },
	};
	return unit_run("compai", tests);
}
