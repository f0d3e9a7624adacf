/* Runs a libFuzzer target's LLVMFuzzerTestOneInput on files, without
 * libFuzzer: the seed corpus (and any reproducer) is replayed by
 * `make check` in every build: gcc, the sanitizer build, valgrind.
 *
 *   replay_TARGET                  every file in
 *                                  $top_srcdir/tests/fuzz/corpus/TARGET
 *   replay_TARGET PATH...          those files, and the files in those
 *                                  directories
 *
 * One program per target (replay_mapping, replay_config, replay_drivers,
 * replay_encode): this file linked with the target's fuzz_TARGET.c. The
 * corpus is named by FUZZ_CORPUS when the build defines it, else by the
 * program's own name (the part after "replay_"), so Makefile.am needs no
 * per-target flags. The target's LLVMFuzzerInitialize, when it has one,
 * runs first, as libFuzzer runs it.
 *
 * Files in a directory run in sorted (strcmp) order; names starting with
 * '.' are skipped. Each file's name is printed before it runs, so a crash
 * names its input. Exits 0 after printing how many inputs ran, or 1 when a
 * file cannot be read or nothing was found to run (a missing or empty
 * corpus directory). A failing input aborts (the target's own checks, or
 * a sanitizer). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: weak, NULL when it has none. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define CORPUS_DIR "tests/fuzz/corpus/"

/* The corpus name: FUZZ_CORPUS, else what follows "replay_" in the
 * program's name (a libtool or valgrind wrapper keeps the name). */
static const char *corpus_name(const char *argv0)
{
#ifdef FUZZ_CORPUS
	(void)argv0;
	return FUZZ_CORPUS;
#else
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	const char *name = strstr(base, "replay_");
	if (!name || !name[7]) {
		fprintf(stderr, "replay: cannot tell the target from the program name '%s'\n", argv0);
		exit(1);
	}
	return name + 7;
#endif
}

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		abort();
	for (;;) {
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (len < cap) {
			if (ferror(f)) {
				fprintf(stderr, "replay: %s: read error\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			break;
		}
		cap *= 2;
		buf = realloc(buf, cap);
		if (!buf)
			abort();
	}
	fclose(f);
	/* Exactly len bytes, as libFuzzer hands them: a read past the end is
	 * then caught by AddressSanitizer and valgrind. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	*data = exact;
	*size = len;
	return 0;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t size;
	if (read_file(path, &data, &size) < 0)
		return -1;
	printf("replay: %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir; returns the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	long ran = 0;
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			abort();
		struct stat st;
		if (stat(path, &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			failed = 1;
		} else if (S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				failed = 1;
			else
				ran++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return failed ? -1 : ran;
}

static long run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path);
	return run_file(path) < 0 ? -1 : 1;
}

int main(int argc, char **argv)
{
	long total = 0;
	int failed = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		const char *top = getenv("top_srcdir");
		char *dir = NULL;
		if (asprintf(&dir, "%s/%s%s", top && *top ? top : ".", CORPUS_DIR, corpus_name(argv[0])) < 0)
			abort();
		long n = run_dir(dir);
		if (n < 0)
			failed = 1;
		else
			total = n;
		if (n == 0)
			fprintf(stderr, "replay: %s: no inputs\n", dir);
		free(dir);
	} else {
		for (int i = 1; i < argc; i++) {
			long n = run_path(argv[i]);
			if (n < 0)
				failed = 1;
			else
				total += n;
		}
	}
	printf("replay: ran %ld input%s\n", total, total == 1 ? "" : "s");
	return failed || total == 0 ? 1 : 0;
}
