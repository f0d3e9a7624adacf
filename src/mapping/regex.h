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
 * frees), naming the position of the error in characters, when it does
 * not compile. \C (one byte, which can split a character) is refused. */
struct mregex *mregex_compile(const char *pattern, size_t len, char **err);
void mregex_free(struct mregex *re);
/* The number of capture groups. */
unsigned mregex_groups(const struct mregex *re);

/* Longest value a regex is run on. PCRE2's match limit does not count the
 * rescans of lookaheads such as (?=.*[0-9]), which take time quadratic in
 * the length: this bounds them to a fraction of a second. */
#define MREGEX_MAX_SUBJECT (16u << 10)

/* Searches s (valid UTF-8). Returns 1 on a match, 0 on none, -E2BIG when
 * the match limit was hit, -EFBIG when s is over MREGEX_MAX_SUBJECT. */
int mregex_match(const struct mregex *re, const char *s, size_t len);

/* Checks a replacement string: "$1" or "${1}" (group numbers up to
 * mregex_groups), "${name}" and "$$". Returns 0 or -EINVAL with *err. */
int mregex_check_replacement(const struct mregex *re, const char *repl, char **err);
/* Replaces every match in s with repl (a group that did not take part in
 * the match gives ""). Returns 0 with *out (caller frees) and *out_len,
 * -E2BIG when the match limit was hit, -EFBIG when the result would be
 * over max bytes, -EMSGSIZE when s is over MREGEX_MAX_SUBJECT, -EINVAL
 * otherwise (with *err, caller frees). */
int mregex_replace(const struct mregex *re, const char *s, size_t len, const char *repl, size_t max, char **out,
		   size_t *out_len, char **err);

#endif
