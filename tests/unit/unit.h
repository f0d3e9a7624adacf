/* Shared scaffolding for the CUnit suites: a runner and temp-file helpers. */
#ifndef MS_TESTS_UNIT_H
#define MS_TESTS_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

static inline int unit_run(const char *suite, const struct unit_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	for (const struct unit_test *t = tests; t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failed || ran == 0 ? 1 : 0;
}

/* A fresh private directory under $TMPDIR; caller frees the path. */
static inline char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;
	if (asprintf(&tmpl, "%s/ms-unit-XXXXXX", base && *base ? base : "/tmp") < 0 || !mkdtemp(tmpl))
		abort();
	return tmpl;
}

/* Writes dir/name with the given content and mode; returns the path. */
static inline char *unit_write(const char *dir, const char *name, const char *content, mode_t mode)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static inline void unit_rmrf(const char *dir)
{
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(cmd);
}

#endif
