/* The mapping language: compiler errors, evaluation, functions, and
 * coercion against a driver's schema. */
#include "config.h"

#include "mapping/expr.h"
#include "mapping/mapping.h"
#include "targets/driver.h"
#include "mapping_fixture.h"
#include "unit.h"
#include "util/sbuf.h"

#include <json-c/json.h>

static struct entry *sample_entry(void)
{
	struct entry *e = entry_new("uid=jdoe,ou=people,dc=example,dc=org");
	entry_set_id(e, "11111111-2222-3333-4444-555555555555");
	entry_add(e, "uid", "jdoe");
	entry_add(e, "givenName", "Zoë");
	entry_add(e, "sn", "Müller");
	entry_add(e, "cn", "张三");
	entry_add(e, "mail", "JDoe@Example.org");
	entry_add(e, "mail", "second@example.org");
	entry_add(e, "mail", "third@example.org");
	entry_add(e, "description", "  padded  ");
	entry_add(e, "active", "TRUE");
	entry_add(e, "employeeNumber", "0042");
	return e;
}

#define EXPECT_EVAL(src, expected)                                   \
	do {                                                         \
		struct entry *e_ = sample_entry();                   \
		char *got_ = mfix_eval_env((src), e_, NULL);                   \
		if (strcmp(got_, (expected)) != 0)                   \
			fprintf(stderr, "\n  %s => %s (expected %s)\n", (src), got_, (expected)); \
		CU_ASSERT_STRING_EQUAL(got_, (expected));            \
		free(got_);                                          \
		entry_free(e_);                                      \
	} while (0)

static void test_attributes(void)
{
	EXPECT_EVAL("${uid}", "string:jdoe");
	EXPECT_EVAL("${UID}", "string:jdoe");
	EXPECT_EVAL("${mail}", "string:JDoe@Example.org");
	EXPECT_EVAL("${mail[*]}", "[JDoe@Example.org|second@example.org|third@example.org]");
	EXPECT_EVAL("${mail[1]}", "string:second@example.org");
	EXPECT_EVAL("${mail[-1]}", "string:third@example.org");
	EXPECT_EVAL("${mail[7]}", "NULL");
	EXPECT_EVAL("${missing}", "NULL");
	EXPECT_EVAL("${missing[*]}", "[]");
	EXPECT_EVAL("${dn}", "string:uid=jdoe,ou=people,dc=example,dc=org");
	EXPECT_EVAL("${dn[-1]}", "string:uid=jdoe,ou=people,dc=example,dc=org");
	EXPECT_EVAL("${dn[1]}", "NULL");
	EXPECT_EVAL("${dn[*]}", "[uid=jdoe,ou=people,dc=example,dc=org]");
}

static void test_templates_and_literals(void)
{
	EXPECT_EVAL("${givenName} ${sn}", "string:Zoë Müller");
	EXPECT_EVAL("${givenName} ${missing}!", "string:Zoë !");
	EXPECT_EVAL("plain text", "string:plain text");
	EXPECT_EVAL("", "string:");
	EXPECT_EVAL("cost $$5 ${uid}", "string:cost $5 jdoe");
	EXPECT_EVAL("${'lit'}", "string:lit");
	EXPECT_EVAL("${\"it's\"}", "string:it's");
	EXPECT_EVAL("${'a\\'b'}", "string:a'b");
	EXPECT_EVAL("${42}", "integer:42");
	EXPECT_EVAL("${-7}", "integer:-7");
	EXPECT_EVAL("${true}", "boolean:true");
	EXPECT_EVAL("${null}", "NULL");
	EXPECT_EVAL("${[uid, 'x', 3]}", "[jdoe|x|3]");
	EXPECT_EVAL("all: ${mail[*]}", "string:all: JDoe@Example.org,second@example.org,third@example.org");
	EXPECT_EVAL("${ ( uid ) }", "string:jdoe");
}

static void test_functions(void)
{
	EXPECT_EVAL("${mail | lower}", "string:jdoe@example.org");
	EXPECT_EVAL("${mail[*] | upper}", "[JDOE@EXAMPLE.ORG|SECOND@EXAMPLE.ORG|THIRD@EXAMPLE.ORG]");
	/* Only ASCII is case-mapped: multi-byte UTF-8 stays intact. */
	EXPECT_EVAL("${sn | upper}", "string:MÜLLER");
	EXPECT_EVAL("${description | trim}", "string:padded");
	EXPECT_EVAL("${mail[*] | first}", "string:JDoe@Example.org");
	EXPECT_EVAL("${mail[*] | last}", "string:third@example.org");
	EXPECT_EVAL("${uid | first}", "string:jdoe");
	EXPECT_EVAL("${missing[*] | first}", "NULL");
	EXPECT_EVAL("${mail[*] | count}", "integer:3");
	EXPECT_EVAL("${missing | count}", "integer:0");
	EXPECT_EVAL("${missing | default('none')}", "string:none");
	EXPECT_EVAL("${missing | default(uid)}", "string:jdoe");
	EXPECT_EVAL("${uid | default('none')}", "string:jdoe");
	EXPECT_EVAL("${default(missing, cn)}", "string:张三");
	EXPECT_EVAL("${mail[*] | join(';')}", "string:JDoe@Example.org;second@example.org;third@example.org");
	EXPECT_EVAL("${uid | join(',')}", "string:jdoe");
	EXPECT_EVAL("${missing | join(',')}", "NULL");
	EXPECT_EVAL("${mail[*] | lower | join(', ') | upper}",
		    "string:JDOE@EXAMPLE.ORG, SECOND@EXAMPLE.ORG, THIRD@EXAMPLE.ORG");
}

static void test_random_password(void)
{
	struct entry *e = sample_entry();
	char *a = mfix_eval_env("${random_password(16)}", e, NULL);
	char *b = mfix_eval_env("${random_password(16)}", e, NULL);
	CU_ASSERT_EQUAL(strlen(a), strlen("string:") + 16);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	bool lower = false, upper = false, digit = false;
	for (const char *p = a + 7; *p; p++) {
		lower |= *p >= 'a' && *p <= 'z';
		upper |= *p >= 'A' && *p <= 'Z';
		digit |= *p >= '0' && *p <= '9';
	}
	CU_ASSERT(lower && upper && digit);
	free(a);
	free(b);
	for (int i = 0; i < 200; i++) {
		char *s = mfix_eval_env("${random_password(4, 'aA1!')}", e, NULL);
		bool sym = strpbrk(s + 7, "!#%+-=@_") != NULL;
		CU_ASSERT(sym);
		free(s);
	}
	char *bad = mfix_eval_env("${random_password(2)}", e, NULL);
	CU_ASSERT_STRING_EQUAL(bad, "ERR:random_password: length must be an integer from 4 to 128");
	free(bad);
	entry_free(e);
}

static void test_compile_errors(void)
{
	EXPECT_EVAL("${uid", "COMPILE:1:'${' is not closed by '}'");
	EXPECT_EVAL("${uid | lowr}", "COMPILE:9:unknown function 'lowr' (did you mean 'lower'?)");
	EXPECT_EVAL("${uid | frobnicate}", "COMPILE:9:unknown function 'frobnicate'");
	EXPECT_EVAL("${uid | join}", "COMPILE:9:wrong number of arguments for 'join' (usage: ${values | join('separator')})");
	EXPECT_EVAL("${uid | lower('x')}", "COMPILE:9:wrong number of arguments for 'lower' (usage: ${value | lower})");
	EXPECT_EVAL("${'abc}", "COMPILE:3:unterminated string literal");
	EXPECT_EVAL("${'a\\qb'}", "COMPILE:5:unknown escape '\\q' in string literal");
	EXPECT_EVAL("${uid !}", "COMPILE:7:expected '|' or '}'");
	EXPECT_EVAL("${}", "COMPILE:3:expected an attribute name, a literal or a function call");
	EXPECT_EVAL("${uid |}", "COMPILE:8:expected a function name after '|'");
	EXPECT_EVAL("${mail[x]}", "COMPILE:8:expected '*' or a number inside [ ]");
	EXPECT_EVAL("${join(mail, ','}", "COMPILE:17:expected ',' or ')'");
	EXPECT_EVAL("${99999999999999999999}", "COMPILE:3:integer literal out of range");
	/* Columns count characters, not bytes. */
	EXPECT_EVAL("张三 ${uid | nope}", "COMPILE:12:unknown function 'nope' (did you mean 'not'?)");
	char deep[200] = "${";
	for (int i = 0; i < 40; i++)
		strcat(deep, "(");
	strcat(deep, "uid");
	for (int i = 0; i < 40; i++)
		strcat(deep, ")");
	strcat(deep, "}");
	struct entry *e = sample_entry();
	char *r = mfix_eval_env(deep, e, NULL);
	CU_ASSERT(strstr(r, "nested too deeply") != NULL);
	free(r);
	entry_free(e);
	/* Invalid UTF-8 in the expression itself. */
	EXPECT_EVAL("${uid}\xff", "COMPILE:1:expression is not valid UTF-8");
}

static void test_invalid_utf8_value(void)
{
	struct entry *e = entry_new("uid=bad,dc=example,dc=org");
	entry_attr_add_value(entry_attr_get_or_add(e, "cn"), "ab\xc3\x28", 4);
	entry_attr_add_value(entry_attr_get_or_add(e, "sn"), "a\0b", 3);
	char *r = mfix_eval_env("${cn}", e, NULL);
	CU_ASSERT_STRING_EQUAL(r, "ERR:attribute 'cn' has a value that is not valid UTF-8 text");
	free(r);
	r = mfix_eval_env("${sn}", e, NULL);
	CU_ASSERT(strncmp(r, "ERR:attribute 'sn'", 18) == 0);
	free(r);
	entry_free(e);
}

static struct mapping *rainbond_mapping(const char *const *fields)
{
	const struct target_driver *drv = driver_find("rainbond");
	struct mapping *m = mapping_new(drv->fields, drv->n_fields, false);
	for (size_t i = 0; fields[i]; i += 2) {
		char *err = NULL;
		int col;
		struct mexpr *x = mexpr_compile(fields[i + 1], NULL, &err, &col);
		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		CU_ASSERT_EQUAL(mapping_add_field(m, fields[i], x, &err), 0);
	}
	char *err = NULL;
	CU_ASSERT_EQUAL(mapping_set_key(m, "nick_name", &err), 0);
	return m;
}

static const char *const rb_fields[] = {
	"nick_name", "${uid}",
	"email", "${mail | lower}",
	"password", "${random_password(12)}",
	"enterprise_id", "ent-1",
	"is_active", "${active}",
	NULL,
};

static void test_mapping_valid(void)
{
	struct mapping *m = rainbond_mapping(rb_fields);
	struct entry *e = sample_entry();
	struct mapped a = { 0 }, b = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m, e, &a), 0);
	CU_ASSERT_EQUAL(mapping_apply(m, e, &b), 0);
	CU_ASSERT_STRING_EQUAL(a.key, "jdoe");
	json_object *v;
	CU_ASSERT(json_object_object_get_ex(a.payload, "is_active", &v) && json_object_get_boolean(v));
	CU_ASSERT(json_object_object_get_ex(a.payload, "email", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "jdoe@example.org");
	/* New random passwords must not look like a change. */
	json_object *pa, *pb;
	json_object_object_get_ex(a.payload, "password", &pa);
	json_object_object_get_ex(b.payload, "password", &pb);
	CU_ASSERT_STRING_NOT_EQUAL(json_object_get_string(pa), json_object_get_string(pb));
	CU_ASSERT_STRING_EQUAL(a.hash, b.hash);
	char *red = mapping_payload_redacted(m, a.payload);
	CU_ASSERT(strstr(red, "\"password\":\"********\"") != NULL);
	CU_ASSERT(strstr(red, json_object_get_string(pa)) == NULL);
	free(red);
	mapped_clear(&a);
	mapped_clear(&b);
	entry_free(e);
	mapping_free(m);
}

static void test_mapping_hash_order_independent(void)
{
	static const char *const reordered[] = {
		"is_active", "${active}",
		"enterprise_id", "ent-1",
		"password", "${random_password(12)}",
		"email", "${mail | lower}",
		"nick_name", "${uid}",
		NULL,
	};
	struct mapping *m1 = rainbond_mapping(rb_fields), *m2 = rainbond_mapping(reordered);
	struct entry *e = sample_entry();
	struct mapped a = { 0 }, b = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m1, e, &a), 0);
	CU_ASSERT_EQUAL(mapping_apply(m2, e, &b), 0);
	CU_ASSERT_STRING_EQUAL(a.hash, b.hash);
	/* ... but a changed value is a change. */
	struct entry *changed = sample_entry();
	entry_add(changed, "uid", "second-uid-value-is-not-mapped");
	struct mapped c = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m1, changed, &c), 0);
	CU_ASSERT_STRING_EQUAL(a.hash, c.hash);
	mapped_clear(&c);
	struct entry_attr *active = entry_attr_get_or_add(changed, "active");
	free(active->values[0].data);
	active->values[0].data = strdup("FALSE");
	active->values[0].len = 5;
	CU_ASSERT_EQUAL(mapping_apply(m1, changed, &c), 0);
	CU_ASSERT_STRING_NOT_EQUAL(a.hash, c.hash);
	mapped_clear(&c);
	entry_free(changed);
	mapped_clear(&a);
	mapped_clear(&b);
	entry_free(e);
	mapping_free(m1);
	mapping_free(m2);
}

static void expect_reasons(const char *const *fields, struct entry *e, const char *expected)
{
	struct mapping *m = rainbond_mapping(fields);
	struct mapped r = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m, e, &r), -EINVAL);
	CU_ASSERT_PTR_NULL(r.payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.reasons);
	if (strcmp(r.reasons, expected) != 0)
		fprintf(stderr, "\n  reasons: %s\n  expected: %s\n", r.reasons, expected);
	CU_ASSERT_STRING_EQUAL(r.reasons, expected);
	mapped_clear(&r);
	mapping_free(m);
	entry_free(e);
}

static void test_mapping_reasons(void)
{
	/* Missing required email. */
	struct entry *e = entry_new("uid=nomail,dc=example,dc=org");
	entry_add(e, "uid", "nomail");
	expect_reasons(rb_fields, e, "email: required, but the mapping gives no value");

	/* nick_name pattern and length; several reasons at once. */
	e = entry_new("uid=j.doe,dc=example,dc=org");
	entry_add(e, "uid", "j.doe");
	entry_add(e, "mail", "not-an-email");
	expect_reasons(rb_fields, e,
		       "nick_name: value \"j.doe\" does not match the required format (ASCII letters, digits, '_', '-' "
		       "and CJK ideographs U+4E00-U+9FA5); email: value \"not-an-email\" does not match the required "
		       "format (an email address)");

	e = entry_new("uid=long,dc=example,dc=org");
	entry_add(e, "uid", "averyveryverylongusername01");
	entry_add(e, "mail", "long@example.org");
	expect_reasons(rb_fields, e,
		       "nick_name: value \"averyveryverylongusername01\" is 27 characters long, the maximum is 24");

	/* Several values where one is expected. */
	static const char *const multi[] = {
		"nick_name", "${uid}", "email", "${mail[*]}", "password", "secret12", "enterprise_id", "e", NULL,
	};
	expect_reasons(multi, sample_entry(),
		       "email: got 3 values where one is expected (use first or join): value "
		       "[\"JDoe@Example.org\", \"second@example.org\", \"third@example.org\"]");

	/* Secret values never appear in reasons. */
	static const char *const shortpw[] = {
		"nick_name", "${uid}", "email", "${mail}", "password", "tiny", "enterprise_id", "e", NULL,
	};
	expect_reasons(shortpw, sample_entry(), "password: value is 4 characters long, the minimum is 8");
	static const char *const longpw[] = {
		"nick_name", "${uid}", "email", "${mail}", "password", "TopSecret-0123456789", "enterprise_id", "e",
		NULL,
	};
	expect_reasons(longpw, sample_entry(), "password: value is 20 characters long, the maximum is 16");
	static const char *const multipw[] = {
		"nick_name", "${uid}", "email", "${mail}", "password", "${mail[*]}", "enterprise_id", "e", NULL,
	};
	expect_reasons(multipw, sample_entry(),
		       "password: got 3 values where one is expected (use first or join): value");

	/* Type coercion failures. */
	static const char *const badbool[] = {
		"nick_name", "${uid}", "email", "${mail}", "password", "secret12", "enterprise_id", "e",
		"is_active", "${uid}", NULL,
	};
	expect_reasons(badbool, sample_entry(), "is_active: value \"jdoe\" is not a boolean");

	/* CJK nick_names are fine, and counted in characters. */
	static const char *const cjk[] = {
		"nick_name", "${cn}", "email", "${mail}", "password", "secret12", "enterprise_id", "e", NULL,
	};
	struct mapping *m = rainbond_mapping(cjk);
	struct entry *ok = sample_entry();
	struct mapped r = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m, ok, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.key, "张三");
	mapped_clear(&r);
	entry_free(ok);
	mapping_free(m);
}

static void test_mapping_open_schema(void)
{
	struct mapping *m = mapping_new(NULL, 0, true);
	char *err = NULL;
	int col;
	CU_ASSERT_EQUAL(mapping_add_field(m, "emails", mexpr_compile("${mail[*]}", NULL, &err, &col), &err), 0);
	CU_ASSERT_EQUAL(mapping_add_field(m, "num", mexpr_compile("${employeeNumber}", NULL, &err, &col), &err), 0);
	CU_ASSERT_EQUAL(mapping_add_field(m, "gone", mexpr_compile("${missing}", NULL, &err, &col), &err), 0);
	CU_ASSERT_EQUAL(mapping_add_field(m, "emails", mexpr_compile("x", NULL, &err, &col), &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "field 'emails' is mapped twice");
	free(err);
	CU_ASSERT_EQUAL(mapping_set_key(m, "nope", &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "key field 'nope' is not mapped");
	free(err);
	CU_ASSERT_EQUAL(mapping_set_key(m, "num", &err), 0);
	struct entry *e = sample_entry();
	struct mapped r = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m, e, &r), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(r.payload, JSON_C_TO_STRING_PLAIN),
			       "{\"emails\":[\"JDoe@Example.org\",\"second@example.org\",\"third@example.org\"],"
			       "\"num\":\"0042\"}");
	CU_ASSERT_STRING_EQUAL(r.key, "0042");
	mapped_clear(&r);
	/* An empty value is no value: it can never be a member key. */
	struct entry_attr *num = entry_attr_get_or_add(e, "employeeNumber");
	num->values[0].data[0] = '\0';
	num->values[0].len = 0;
	CU_ASSERT_EQUAL(mapping_apply(m, e, &r), -EINVAL);
	CU_ASSERT_STRING_EQUAL(r.reasons, "num: is the member key, but the mapping gives no value");
	mapped_clear(&r);
	entry_free(e);
	mapping_free(m);
}

static void test_enums_and_ranges(void)
{
	static const char *const depts[] = { "none", "it", "hr", NULL };
	static const struct field_schema fields[] = {
		{ .name = "dept", .type = FT_STRING, .enum_values = depts },
		{ .name = "sex", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = 2 },
		{ .name = "groups", .type = FT_STRING_LIST, .enum_values = depts },
	};
	struct mapping *m = mapping_new(fields, 3, false);
	char *err = NULL;
	int col;
	mapping_add_field(m, "dept", mexpr_compile("${departmentNumber}", NULL, &err, &col), &err);
	mapping_add_field(m, "sex", mexpr_compile("${gender}", NULL, &err, &col), &err);
	mapping_add_field(m, "groups", mexpr_compile("${ou[*]}", NULL, &err, &col), &err);
	struct entry *e = entry_new("uid=a,dc=x");
	entry_add(e, "departmentNumber", "it");
	entry_add(e, "gender", "2");
	entry_add(e, "ou", "hr");
	struct mapped r = { 0 };
	CU_ASSERT_EQUAL(mapping_apply(m, e, &r), 0);
	mapped_clear(&r);
	entry_free(e);

	e = entry_new("uid=b,dc=x");
	entry_add(e, "departmentNumber", "sales");
	entry_add(e, "gender", "3");
	entry_add(e, "ou", "it");
	entry_add(e, "ou", "legal");
	CU_ASSERT_EQUAL(mapping_apply(m, e, &r), -EINVAL);
	CU_ASSERT_STRING_EQUAL(r.reasons, "dept: value \"sales\" is not one of: none, it, hr; "
					  "sex: value 3 is out of range (0 to 2); "
					  "groups: value \"legal\" is not one of: none, it, hr");
	mapped_clear(&r);
	entry_free(e);
	mapping_free(m);
}

static void test_unknown_field(void)
{
	const struct target_driver *drv = driver_find("rainbond");
	struct mapping *m = mapping_new(drv->fields, drv->n_fields, false);
	char *err = NULL;
	int col;
	CU_ASSERT_EQUAL(mapping_add_field(m, "origin", mexpr_compile("x", NULL, &err, &col), &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "unknown field 'origin' (this driver's fields are: nick_name password "
				    "enterprise_id email phone is_active origion)");
	free(err);
	mapping_free(m);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "attributes", test_attributes },
		{ "templates and literals", test_templates_and_literals },
		{ "functions", test_functions },
		{ "random_password", test_random_password },
		{ "compile errors", test_compile_errors },
		{ "invalid UTF-8 values", test_invalid_utf8_value },
		{ "valid rainbond payload", test_mapping_valid },
		{ "hash ignores field order", test_mapping_hash_order_independent },
		{ "invalid entries give reasons", test_mapping_reasons },
		{ "open schema", test_mapping_open_schema },
		{ "enums and ranges", test_enums_and_ranges },
		{ "unknown field", test_unknown_field },
		{ NULL, NULL },
	};
	return unit_run("mapping", tests);
}
