/* Config loading: every kind of mistake gives file:line and a clear
 * message; valid files load into a ready-to-run conf. */
#include "config.h"

#include "config/conf.h"
#include "unit.h"
#include "util/sbuf.h"

static char *dir;

#define SOURCE_OK                                                              \
	"source = {\n"                                                         \
	"  uri = \"ldap://127.0.0.1:3890\";\n"                                 \
	"  starttls = true;\n"                                                 \
	"  bind_dn = \"cn=svc,dc=example,dc=org\";\n"                          \
	"  bind_password_file = \"ldap.pw\";\n"                                \
	"  base = \"ou=people,dc=example,dc=org\";\n"                          \
	"};\n"

#define TARGET_OK                                                              \
	"targets = ( {\n"                                                      \
	"  name = \"rb\"; driver = \"rainbond\"; url = \"http://127.0.0.1:1\";\n" \
	"  auth = { key_file = \"rb.key\"; };\n"                               \
	"  map = { nick_name = \"${uid}\"; email = \"${mail}\";\n"             \
	"          password = \"${random_password(12)}\"; enterprise_id = \"e1\"; };\n" \
	"} );\n"

static void setup(void)
{
	dir = unit_tmpdir();
	free(unit_write(dir, "ldap.pw", "pw-secret\n", 0600));
	free(unit_write(dir, "rb.key", "rb-secret", 0600));
	free(unit_write(dir, "open.key", "open-secret", 0644));
}

static void teardown(void)
{
	unit_rmrf(dir);
	free(dir);
}

/* Loads `text` as membersync.conf; returns every diagnostic, one per line,
 * with the temp dir replaced by "D". *rc gets conf_load's result. */
static char *load(const char *text, int *rc, struct conf **out)
{
	char *path = unit_write(dir, "membersync.conf", text, 0644);
	struct diag *d = diag_new();
	struct conf *c = NULL;
	*rc = conf_load(path, &c, d);
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->items[i]);
		const char *p = line;
		size_t dl = strlen(dir);
		/* Replace every occurrence of the temp dir. */
		for (const char *hit; (hit = strstr(p, dir)); p = hit + dl) {
			sbuf_add(&sb, p, (size_t)(hit - p));
			sbuf_addch(&sb, 'D');
		}
		sbuf_addstr(&sb, p);
		sbuf_addch(&sb, '\n');
		free(line);
	}
	diag_free(d);
	free(path);
	if (out)
		*out = c;
	else
		conf_free(c);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static void expect(const char *text, const char *expected_diag)
{
	setup();
	int rc;
	char *got = load(text, &rc, NULL);
	if (!strstr(got, expected_diag))
		fprintf(stderr, "\n  expected: %s\n  got:\n%s", expected_diag, got);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, expected_diag));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	free(got);
	teardown();
}

static void test_valid(void)
{
	setup();
	int rc;
	struct conf *c;
	char *got = load(SOURCE_OK TARGET_OK "log_level = \"debug\";\nstate_dir = \"/tmp/x\";\n", &rc, &c);
	CU_ASSERT_STRING_EQUAL(got, "");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(c->n_targets, 1);
	CU_ASSERT_STRING_EQUAL(c->targets[0]->name, "rb");
	CU_ASSERT_STRING_EQUAL(c->targets[0]->driver->name, "rainbond");
	CU_ASSERT_STRING_EQUAL(mapping_key_field(c->targets[0]->mapping), "nick_name");
	/* Requests evenly spaced unless a burst is asked for. */
	CU_ASSERT_DOUBLE_EQUAL(c->targets[0]->burst, 1, 0);
	CU_ASSERT_STRING_EQUAL(c->source.bind_password->value, "pw-secret");
	CU_ASSERT_EQUAL(c->source.page_size, 500);
	CU_ASSERT_EQUAL(c->source.poll_interval, 300);
	CU_ASSERT_EQUAL(c->source.scope, CONF_SCOPE_SUB);
	CU_ASSERT_STRING_EQUAL(c->state_dir, "/tmp/x");
	CU_ASSERT_EQUAL(c->log_priority, 7);
	/* The id attribute, what disabled detection reads and every mapped
	 * attribute are requested. */
	CU_ASSERT_EQUAL(c->source.n_attributes, 5);
	CU_ASSERT_STRING_EQUAL(c->source.attributes[0], "entryUUID");
	CU_ASSERT_STRING_EQUAL(c->source.attributes[1], "userAccountControl");
	CU_ASSERT_STRING_EQUAL(c->source.attributes[2], "pwdAccountLockedTime");
	CU_ASSERT_STRING_EQUAL(c->source.attributes[3], "uid");
	CU_ASSERT_STRING_EQUAL(c->source.attributes[4], "mail");
	CU_ASSERT_PTR_NULL(c->source.attributes[5]);
	CU_ASSERT_EQUAL(c->source.bind_method, CONF_BIND_SIMPLE);
	CU_ASSERT_EQUAL(c->source.change_detection, CONF_CHANGES_AUTO);
	CU_ASSERT_EQUAL(c->source.full_sync_interval, 86400);
	CU_ASSERT_FALSE(c->source.follow_referrals);
	CU_ASSERT_FALSE(c->source.groups.enabled);
	CU_ASSERT_EQUAL(strlen(c->fingerprint), 64);
	char *sp = conf_state_path(c);
	CU_ASSERT_STRING_EQUAL(sp, "/tmp/x/state.db");
	free(sp);
	free(got);
	conf_free(c);
	teardown();
}

static void test_syntax_error(void)
{
	expect("source = {\n  uri = \"ldap://x\";\n  base = ;\n};\n",
	       "D/membersync.conf:3: syntax error\n");
}

static void test_unknown_key(void)
{
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  pagesize = 10;\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: unknown key 'pagesize' (did you mean 'page_size'?)\n");
	expect(SOURCE_OK TARGET_OK "colour = \"blue\";\n", "D/membersync.conf:14: top level: unknown key 'colour'\n");
}

static void test_wrong_type(void)
{
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  page_size = \"10\";\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: page_size must be an integer, not a string\n");
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  starttls = 1;\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: starttls must be a boolean (true or false), not an integer\n");
	expect(SOURCE_OK "targets = { name = \"x\"; };\n",
	       "D/membersync.conf:8: top level: targets must be a list of groups ( { ... }, ... ), not a group\n");
}

static void test_missing_required(void)
{
	expect("source = {\n  uri = \"ldaps://h\";\n};\n" TARGET_OK,
	       "D/membersync.conf:1: source: required key 'base' is missing\n");
	expect(SOURCE_OK, "D/membersync.conf:1: top level: required key 'targets' is missing\n");
}

static void test_out_of_range(void)
{
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  poll_interval = 0;\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: poll_interval = 0 is out of range (1 to 604800)\n");
}

static void test_unknown_driver(void)
{
	expect(SOURCE_OK "targets = ( { name = \"t\"; driver = \"rainbow\"; url = \"http://x\"; map = { a = \"b\"; }; } );\n",
	       "D/membersync.conf:8: target t: unknown driver 'rainbow' (did you mean 'rainbond'?) (known: babelbird, compai, devin, dingtalk, rainbond, scim, rest)\n");
}

static void test_mapping_errors(void)
{
	expect(SOURCE_OK "targets = ( {\n name = \"rb\"; driver = \"rainbond\"; url = \"http://x\";\n"
	       " auth = { key_file = \"rb.key\"; };\n"
	       " map = {\n  nick_name = \"${uid | lowr}\";\n  email = \"${mail}\";\n"
	       "  password = \"x\";\n  enterprise_id = \"e\";\n };\n} );\n",
	       "D/membersync.conf:12: target rb: map.nick_name: unknown function 'lowr' (did you mean 'lower'?) "
	       "(column 9 of the expression)\n");
	expect(SOURCE_OK "targets = ( {\n name = \"rb\"; driver = \"rainbond\"; url = \"http://x\";\n"
	       " auth = { key_file = \"rb.key\"; };\n map = { nick_name = \"${uid}\"; email = \"${mail}\";\n"
	       "  enterprise_id = \"e\";\n  origin = \"ldap\";\n };\n} );\n",
	       "D/membersync.conf:13: target rb: map.origin: unknown field 'origin'");
	expect(SOURCE_OK "targets = ( {\n name = \"rb\"; driver = \"rainbond\"; url = \"http://x\";\n"
	       " auth = { key_file = \"rb.key\"; };\n map = { nick_name = \"${uid}\"; email = \"${mail}\";\n"
	       "  enterprise_id = \"e\";\n };\n} );\n",
	       "D/membersync.conf:11: target rb: map: field 'password' is required by the rainbond driver but not mapped\n");
	expect(SOURCE_OK "targets = ( {\n name = \"api\"; driver = \"rest\"; url = \"http://x\";\n"
	       " map = { email = \"${mail}\"; };\n} );\n",
	       "D/membersync.conf:8: target api: the rest driver needs 'key', the mapped field that identifies a member\n");
	expect(SOURCE_OK "targets = ( {\n name = \"api\"; driver = \"rest\"; url = \"http://x\"; key = \"mail\";\n"
	       " map = { email = \"${mail}\"; };\n} );\n",
	       "D/membersync.conf:9: target api: key field 'mail' is not mapped\n");
}

static void test_secrets(void)
{
	expect("source = {\n  uri = \"ldaps://h\";\n  bind_dn = \"cn=a\";\n  bind_password_file = \"nope.pw\";\n"
	       "  base = \"dc=x\";\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: bind_password_file: cannot open secret file D/nope.pw: No such file or directory\n");
	expect("source = {\n  uri = \"ldaps://h\";\n  bind_dn = \"cn=a\";\n  base = \"dc=x\";\n};\n" TARGET_OK,
	       "D/membersync.conf:3: source: bind_dn is set but bind_password_file is missing\n");

	/* World-readable secrets load, with a warning. */
	setup();
	int rc;
	char *got = load(SOURCE_OK "targets = ( { name = \"rb\"; driver = \"rainbond\"; url = \"http://x\";\n"
			 " auth = { key_file = \"open.key\"; };\n map = { nick_name = \"${uid}\"; email = \"${mail}\";"
			 " password = \"x\"; enterprise_id = \"e\"; }; } );\n", &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "D/membersync.conf:9: warning: target rb: auth.key_file: D/open.key is "
					   "readable by every user; chmod 600 it\n"));
	free(got);

	/* $CREDENTIALS_DIRECTORY wins for relative names. */
	char *creds = unit_tmpdir();
	free(unit_write(creds, "ldap.pw", "from-credentials", 0600));
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	struct conf *c;
	got = load(SOURCE_OK TARGET_OK, &rc, &c);
	unsetenv("CREDENTIALS_DIRECTORY");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(c->source.bind_password->value, "from-credentials");
	conf_free(c);
	free(got);
	unit_rmrf(creds);
	free(creds);
	teardown();
}

static void test_plaintext_bind(void)
{
	expect("source = {\n  uri = \"ldap://h\";\n  bind_dn = \"cn=a\";\n  bind_password_file = \"ldap.pw\";\n"
	       "  base = \"dc=x\";\n};\n" TARGET_OK,
	       "D/membersync.conf:2: source: a simple bind over ldap:// without StartTLS sends the password in clear text");
	setup();
	int rc;
	char *got = load("source = {\n  uri = \"ldap://h\";\n  bind_dn = \"cn=a\";\n  bind_password_file = \"ldap.pw\";\n"
			 "  allow_plaintext_bind = true;\n  base = \"dc=x\";\n};\n" TARGET_OK, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	free(got);
	teardown();
}

static void test_source_values(void)
{
	expect("source = {\n  uri = \"http://h\";\n  base = \"dc=x\";\n};\n" TARGET_OK,
	       "D/membersync.conf:2: source: uri 'http://h' is not an LDAP URI");
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  filter = \"(uid=a\";\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: filter '(uid=a' is not a valid LDAP filter (unbalanced parentheses?)\n");
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  scope = \"subtree\";\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: scope must be sub, one or base, not 'subtree'\n");
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"not a dn\";\n};\n" TARGET_OK,
	       "D/membersync.conf:3: source: base 'not a dn' is not a valid DN\n");
}

static void test_paths_and_levels(void)
{
	expect(SOURCE_OK TARGET_OK "state_dir = \"var/state\";\n",
	       "D/membersync.conf:14: state_dir must be an absolute path, not 'var/state'\n");
	expect("source = {\n  uri = \"ldaps://h\";\n  base = \"dc=x\";\n  ca_file = \"ca.pem\";\n};\n" TARGET_OK,
	       "D/membersync.conf:4: source: ca_file D/ca.pem: No such file or directory\n");
	expect(SOURCE_OK TARGET_OK "log_level = \"crit\";\n",
	       "D/membersync.conf:14: log_level must be debug, info, notice, warning or error, not 'crit'\n");
	/* systemd's $STATE_DIRECTORY may list several folders. */
	setup();
	int rc;
	struct conf *c;
	setenv("STATE_DIRECTORY", "/var/lib/membersync:/var/lib/other", 1);
	char *got = load(SOURCE_OK TARGET_OK, &rc, &c);
	unsetenv("STATE_DIRECTORY");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(c->state_dir, "/var/lib/membersync");
	conf_free(c);
	free(got);
	teardown();
}

static void test_duplicate_target(void)
{
	expect(SOURCE_OK "targets = (\n"
	       " { name = \"a\"; driver = \"rest\"; url = \"http://x\"; key = \"k\"; map = { k = \"${uid}\"; }; },\n"
	       " { name = \"a\"; driver = \"rest\"; url = \"http://y\"; key = \"k\"; map = { k = \"${uid}\"; }; }\n);\n",
	       "D/membersync.conf:10: target name 'a' is used twice\n");
}

static void test_missing_file(void)
{
	setup();
	struct diag *d = diag_new();
	struct conf *c = NULL;
	CU_ASSERT_EQUAL(conf_load("/nonexistent/membersync.conf", &c, d), -EINVAL);
	char *line = diag_format(&d->items[0]);
	CU_ASSERT_STRING_EQUAL(line, "/nonexistent/membersync.conf: cannot read the configuration file: No such file "
				     "or directory");
	free(line);
	diag_free(d);
	teardown();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "valid file", test_valid },
		{ "syntax error", test_syntax_error },
		{ "unknown keys", test_unknown_key },
		{ "wrong types", test_wrong_type },
		{ "missing required keys", test_missing_required },
		{ "out of range", test_out_of_range },
		{ "unknown driver", test_unknown_driver },
		{ "mapping errors", test_mapping_errors },
		{ "secrets", test_secrets },
		{ "plaintext bind refused", test_plaintext_bind },
		{ "source values", test_source_values },
		{ "paths and log levels", test_paths_and_levels },
		{ "duplicate target names", test_duplicate_target },
		{ "missing file", test_missing_file },
		{ NULL, NULL },
	};
	return unit_run("config", tests);
}
