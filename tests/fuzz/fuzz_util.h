/* Shared by the libFuzzer targets in tests/fuzz: a per-process scratch
 * directory (created once, removed at exit), files written into it, and
 * the abort-with-a-description every violated invariant ends in. */
#ifndef MS_TESTS_FUZZ_UTIL_H
#define MS_TESTS_FUZZ_UTIL_H

/* config.h (included first) defines _GNU_SOURCE: nftw's FTW_DEPTH, FTW_PHYS. */

#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A violated invariant: say which, with the input's context, and abort so
 * libFuzzer (or replay, or valgrind) reports the input. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: invariant violated: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static char *fuzz_dir;

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static inline void fuzz_dir_remove(void)
{
	if (fuzz_dir)
		nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fuzz_dir);
	fuzz_dir = NULL;
}

/* The scratch directory ($TMPDIR/ms-fuzz-XXXXXX), created on first use;
 * removed when the process exits normally (a crash leaves it behind, with
 * the files the crashing input was written to). */
static inline const char *fuzz_scratch(void)
{
	if (fuzz_dir)
		return fuzz_dir;
	const char *base = getenv("TMPDIR");
	if (asprintf(&fuzz_dir, "%s/ms-fuzz-XXXXXX", base && *base ? base : "/tmp") < 0 || !mkdtemp(fuzz_dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir;
}

/* Writes len bytes to scratch/name (replacing it); returns the path
 * (caller frees). */
static inline char *fuzz_write(const char *name, const void *data, size_t len)
{
	char *path;
	if (asprintf(&path, "%s/%s", fuzz_scratch(), name) < 0)
		abort();
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

static inline void fuzz_write_str(const char *name, const char *text)
{
	free(fuzz_write(name, text, strlen(text)));
}

#endif
