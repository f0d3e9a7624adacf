/* A list of diagnostics in the "file:line: message" form operators expect
 * from compilers. Config loading and mapping compilation collect every
 * problem here instead of stopping at the first one. */
#ifndef MS_UTIL_DIAG_H
#define MS_UTIL_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
	enum diag_level level;
	char *file;	/* may be NULL */
	int line;	/* 0 = unknown */
	char *message;
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t errors;
};

struct diag *diag_new(void);
void diag_free(struct diag *d);
void diag_add(struct diag *d, enum diag_level level, const char *file, int line,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define diag_error(d, file, line, ...) diag_add((d), DIAG_ERROR, (file), (line), __VA_ARGS__)
#define diag_warning(d, file, line, ...) diag_add((d), DIAG_WARNING, (file), (line), __VA_ARGS__)
/* Writes every item as "file:line: [warning: ]message\n". */
void diag_print(const struct diag *d, FILE *out);
/* One item formatted like diag_print does; caller frees. */
char *diag_format(const struct diag_item *item);
/* The same without "warning: ", for a log line that carries the level
 * itself; caller frees. */
char *diag_format_for_log(const struct diag_item *item);

#endif
