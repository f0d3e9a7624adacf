/* Regular expressions for mappings and field patterns: PCRE2 in UTF mode.
 * PCRE2 rather than POSIX regex because it has defined UTF-8 semantics
 * whatever the locale, and a match limit: a pattern that backtracks
 * exponentially on a hostile directory value gives up with an error
 * instead of stalling the daemon. */
#ifndef MS_MAPPING_REGEX_H
#define MS_MAPPING_REGEX_H

#include <stddef.h>

struct mregex;

/* Compiles pattern (UTF-8, len bytes). Returns NULL with *err (caller
 * frees), naming the character position of the error, when it does not
 * compile. */
struct mregex *mregex_compile(const char *pattern, size_t len, char **err);
void mregex_free(struct mregex *re);
/* The number of capture groups. */
unsigned mregex_groups(const struct mregex *re);

/* Searches s (valid UTF-8). Returns 1 on a match, 0 on none, -E2BIG when
 * the match limit was hit. */
int mregex_match(const struct mregex *re, const char *s, size_t len);

/* Checks a replacement string: "$1" or "${1}" (group numbers up to
 * mregex_groups), "${name}" and "$$". Returns 0 or -EINVAL with *err. */
int mregex_check_replacement(const struct mregex *re, const char *repl, char **err);
/* Replaces every match in s with repl. Returns 0 with *out (caller frees)
 * and *out_len, -E2BIG when the match limit was hit, -EINVAL otherwise
 * (with *err, caller frees). */
int mregex_replace(const struct mregex *re, const char *s, size_t len, const char *repl, char **out,
		   size_t *out_len, char **err);

#endif
