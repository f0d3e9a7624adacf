/* Shared by the mapping suites: compile an expression, evaluate it against
 * an entry and render the outcome as one comparable string. */
#ifndef MS_TESTS_MAPPING_FIXTURE_H
#define MS_TESTS_MAPPING_FIXTURE_H

#include "mapping/expr.h"
#include "util/sbuf.h"
#include "unit.h"

#include <stdarg.h>
#include <stdbool.h>

/* "type:text" for scalars ("string:x", "integer:3", "boolean:true",
 * "time:2024-01-02T03:04:05Z"), "[a|b]" for arrays, "NULL", "ERR:<why>" for
 * an evaluation error and "COMPILE:<column>:<why>" for a compile error. */
static inline char *mfix_eval_env(const char *src, const struct entry *e, const struct mexpr_env *env)
{
	char *err = NULL;
	int col = 0;
	struct mexpr *x = mexpr_compile(src, env, &err, &col);
	if (!x) {
		char *r;
		if (asprintf(&r, "COMPILE:%d:%s", col, err) < 0)
			abort();
		free(err);
		return r;
	}
	struct mval v = MVAL_NULL;
	struct sbuf sb;
	sbuf_init(&sb);
	if (mexpr_eval(x, e, &v, &err) < 0) {
		sbuf_addf(&sb, "ERR:%s", err);
		free(err);
	} else if (v.type == MV_ARRAY) {
		sbuf_addch(&sb, '[');
		mval_append_text(&v, &sb, "|");
		sbuf_addch(&sb, ']');
	} else if (v.type == MV_NULL) {
		sbuf_addstr(&sb, "NULL");
	} else {
		sbuf_addf(&sb, "%s:", mval_type_name(v.type));
		mval_append_text(&v, &sb, ",");
	}
	mval_clear(&v);
	mexpr_free(x);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

/* Checks that src evaluates to `expected` on entry e (see mfix_eval_env),
 * printing both on a mismatch. */
#define MFIX_EXPECT(env, e, src, expected)                                                          \
	do {                                                                                        \
		char *got_ = mfix_eval_env((src), (e), (env));                                      \
		if (strcmp(got_, (expected)) != 0)                                                  \
			fprintf(stderr, "\n  %s => %s (expected %s)\n", (src), got_, (expected));   \
		CU_ASSERT_STRING_EQUAL(got_, (expected));                                           \
		free(got_);                                                                         \
	} while (0)

/* Checks that src fails at evaluation with a message containing `part`. */
#define MFIX_EXPECT_ERR(env, e, src, part)                                                          \
	do {                                                                                        \
		char *got_ = mfix_eval_env((src), (e), (env));                                      \
		bool ok_ = strncmp(got_, "ERR:", 4) == 0 && strstr(got_, (part)) != NULL;           \
		if (!ok_)                                                                           \
			fprintf(stderr, "\n  %s => %s (expected an error with '%s')\n", (src), got_, (part)); \
		CU_ASSERT(ok_);                                                                     \
		free(got_);                                                                         \
	} while (0)

/* An entry with one attribute holding the given values (NULL-terminated). */
static inline struct entry *mfix_entry(const char *attr, ...)
{
	struct entry *e = entry_new("uid=t,dc=example,dc=org");
	entry_set_id(e, "t");
	va_list ap;
	va_start(ap, attr);
	struct entry_attr *a = entry_attr_get_or_add(e, attr);
	for (const char *v; (v = va_arg(ap, const char *));)
		entry_attr_add_value(a, v, strlen(v));
	va_end(ap);
	return e;
}

#endif
