/* Small string helpers shared across modules. */
#ifndef MS_UTIL_STRUTIL_H
#define MS_UTIL_STRUTIL_H

#include <stddef.h>

/* Levenshtein distance, for "did you mean" hints; strings longer than 64
 * bytes are reported as far apart. */
size_t str_edit_distance(const char *a, const char *b);

/* Keeps the candidate closest to `name` (distance <= 2) across calls:
 * start with *best = NULL and *best_distance = 3. */
void str_suggest_consider(const char *name, const char *candidate, const char **best,
			  size_t *best_distance);

/* Writes the lowercase hex of len bytes of data into out, which holds
 * 2 * len + 1 bytes (NUL-terminated). */
void str_hex(const void *data, size_t len, char *out);

#endif
