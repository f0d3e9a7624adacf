/* Bad directory data (issue 9) where a unit test can reach it: keys made
 * of white space, megabyte values and 10,000-value lists in the mapping,
 * and LDIF records that cannot be entries (empty DN, a NUL in the DN, not
 * a DN). The rest of the corpus is tests/reliability/bad-data.sh. */
#include "config.h"

#include "ldap/ldif.h"
#include "mapping/expr.h"
#include "mapping/mapping.h"
#include "unit.h"
#include "util/sbuf.h"

#include <json-c/json.h>

/* An open-schema mapping: key = ${uid}, name = ${cn}, mails = ${mail[*]}. */
static struct mapping *open_mapping(void)
{
	static const char *const fields[] = { "key", "${uid}", "name", "${cn}", "mails", "${mail[*]}", NULL };
	struct mapping *m = mapping_new(NULL, 0, true);
	char *err = NULL;
	int col;
	for (size_t i = 0; fields[i]; i += 2) {
		struct mexpr *x = mexpr_compile(fields[i + 1], NULL, &err, &col);
		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		CU_ASSERT_EQUAL_FATAL(mapping_add_field(m, fields[i], x, &err), 0);
	}
	CU_ASSERT_EQUAL_FATAL(mapping_set_key(m, "key", &err), 0);
	return m;
}

static struct entry *person(const char *uid)
{
	struct entry *e = entry_new("uid=x,dc=example,dc=org");
	entry_set_id(e, "1");
	entry_add(e, "uid", uid);
	entry_add(e, "cn", "X");
	entry_add(e, "mail", "x@example.org");
	return e;
}

/* Returns the reasons of an invalid entry (caller frees), or NULL when
 * the entry is valid. */
static char *apply(const struct mapping *m, const struct entry *e)
{
	struct mapped r = { 0 };
	char *why = NULL;
	if (mapping_apply(m, e, &r) < 0)
		why = strdup(r.reasons);
	else
		CU_ASSERT_PTR_NOT_NULL(r.payload);
	mapped_clear(&r);
	return why;
}

static void test_blank_key(void)
{
	struct mapping *m = open_mapping();
	/* ASCII spaces, a tab, an ideographic space and a no-break space:
	 * all of them white space only. */
	const char *blanks[] = { " ", "   ", " \t ", "\u3000", "\u00a0 ", NULL };
	for (const char **b = blanks; *b; b++) {
		struct entry *e = person(*b);
		char *why = apply(m, e);
		CU_ASSERT_PTR_NOT_NULL(why);
		if (why)
			CU_ASSERT_STRING_EQUAL(why, "key: is the member key, but its value is only white space");
		free(why);
		entry_free(e);
	}
	/* Spaces around a name are a name. */
	struct entry *e = person(" jdoe ");
	char *why = apply(m, e);
	CU_ASSERT_PTR_NULL(why);
	free(why);
	entry_free(e);
	/* A blank value in a field that is not the key is sent as it is. */
	e = person("jdoe");
	entry_attr_get_or_add(e, "cn")->values[0].data[0] = ' ';
	why = apply(m, e);
	CU_ASSERT_PTR_NULL(why);
	free(why);
	entry_free(e);
	mapping_free(m);
}

static void test_big_values(void)
{
	struct mapping *m = open_mapping();
	size_t n = MAPPING_MAX_FIELD_BYTES;
	char *big = malloc(n + 2);
	memset(big, 'y', n + 1);
	big[n + 1] = '\0';

	/* One byte over the limit: invalid, the reason quoting 32 characters. */
	struct entry *e = person("jdoe");
	struct entry_attr *cn = entry_attr_get_or_add(e, "cn");
	free(cn->values[0].data);
	cn->values[0].data = strdup(big);
	cn->values[0].len = n + 1;
	char *why = apply(m, e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "name: value \"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...\" is 65537 bytes long, more "
				    "than the 65536 one field may carry");
	free(why);
	/* At the limit: valid. */
	cn->values[0].data[n] = '\0';
	cn->values[0].len = n;
	why = apply(m, e);
	CU_ASSERT_PTR_NULL(why);
	free(why);
	entry_free(e);

	/* 10,000 values: valid while the list's text fits, invalid past it,
	 * and never quoted whole. */
	e = person("jdoe");
	struct entry_attr *mail = entry_attr_get_or_add(e, "mail");
	for (int i = 1; i < 10000; i++) {
		char v[32];
		snprintf(v, sizeof(v), "m%05d@example.org", i); /* 18 bytes */
		entry_attr_add_value(mail, v, strlen(v));
	}
	why = apply(m, e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, "mails: value (a list of 10000 values) is 179995 bytes long, more than the "
				    "65536 one field may carry");
	free(why);
	entry_free(e);
	free(big);
	mapping_free(m);
}

struct ldif_seen {
	struct sbuf log;
};

static void on_entry(void *ud, const struct entry *e)
{
	struct ldif_seen *s = ud;
	sbuf_addf(&s->log, "entry %s\n", e->dn);
}

static void on_skip(void *ud, const char *where, const char *dn, const char *why)
{
	struct ldif_seen *s = ud;
	/* Only the line number: the path is a temp dir. */
	const char *line = strrchr(where, ':');
	sbuf_addf(&s->log, "skip %s \"%s\": %s\n", line ? line + 1 : where, dn, why);
}

static void test_ldif_bad_dns(void)
{
	char *dir = unit_tmpdir();
	char *path = unit_write(dir, "bad.ldif",
				"dn: uid=a,dc=example,dc=org\nuid: a\n\n"
				"dn:\nuid: empty\n\n"
				/* "uid=b\0c,dc=example,dc=org" */
				"dn:: dWlkPWIAYyxkYz1leGFtcGxlLGRjPW9yZw==\nuid: nul\n\n"
				"dn: not a DN\nuid: notadn\n\n"
				/* "uid=\xff,dc=x" */
				"dn:: dWlkPf8sZGM9eA==\nuid: utf8\n\n"
				"dn: uid=z,dc=example,dc=org\nuid: z\n",
				0600);
	struct ldif_seen s;
	sbuf_init(&s.log);
	char *err = NULL;
	CU_ASSERT_EQUAL(ldif_read_entries(path, on_entry, on_skip, &s, &err), 0);
	CU_ASSERT_PTR_NULL(err);
	free(err);
	CU_ASSERT_STRING_EQUAL(s.log.buf ? s.log.buf : "",
			       "entry uid=a,dc=example,dc=org\n"
			       "skip 4 \"\": the DN is empty; no directory entry has an empty DN\n"
			       "skip 7 \"uid=b\": the DN has a NUL byte in it\n"
			       "skip 10 \"not a DN\": the DN does not parse as a DN (RFC 4514)\n"
			       "skip 13 \"(not UTF-8)\": the DN is not valid UTF-8 text\n"
			       "entry uid=z,dc=example,dc=org\n");
	/* Without a skip callback, the bad records are left out silently. */
	sbuf_reset(&s.log);
	CU_ASSERT_EQUAL(ldif_read_entries(path, on_entry, NULL, &s, &err), 0);
	CU_ASSERT_STRING_EQUAL(s.log.buf ? s.log.buf : "",
			       "entry uid=a,dc=example,dc=org\nentry uid=z,dc=example,dc=org\n");
	sbuf_release(&s.log);
	free(path);
	unit_rmrf(dir);
	free(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a member key of white space only is invalid", test_blank_key },
		{ "megabyte values and 10,000-value lists are invalid, not sent", test_big_values },
		{ "LDIF records that cannot be entries are skipped with a reason", test_ldif_bad_dns },
		{ NULL, NULL },
	};
	return unit_run("bad data", tests);
}
