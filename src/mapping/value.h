/* Typed values produced by mapping expressions. A value owns its memory;
 * mval_clear releases it and leaves MV_NULL behind. */
#ifndef MS_MAPPING_VALUE_H
#define MS_MAPPING_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/sbuf.h"

enum mval_type {
	MV_NULL,	/* no value (a missing attribute) */
	MV_STRING,	/* valid UTF-8, no NUL */
	MV_INT,
	MV_BOOL,
	MV_ARRAY,
	MV_TIME,	/* an instant: u.i milliseconds since 1970-01-01 UTC */
};

struct mval {
	enum mval_type type;
	union {
		struct {
			char *s;
			size_t len;
		} str;
		long long i;
		bool b;
		struct {
			struct mval *items;
			size_t n, cap;
		} arr;
	} u;
};

#define MVAL_NULL ((struct mval){ .type = MV_NULL })

void mval_clear(struct mval *v);
void mval_set_string(struct mval *v, const char *s, size_t len);	/* copies */
void mval_take_string(struct mval *v, char *s, size_t len);	/* takes ownership */
void mval_set_int(struct mval *v, long long i);
void mval_set_bool(struct mval *v, bool b);
void mval_set_time(struct mval *v, long long ms);
/* Makes v an empty array with room for n items. */
void mval_set_array(struct mval *v, size_t n);
/* Appends (moves) item into array v; item becomes MV_NULL. */
void mval_array_push(struct mval *v, struct mval *item);
void mval_copy(struct mval *dst, const struct mval *src);
/* Moves src into dst (dst is cleared first); src becomes MV_NULL. */
void mval_move(struct mval *dst, struct mval *src);

/* "Empty" for default()/coalesce: null, "", or an empty array. */
bool mval_is_empty(const struct mval *v);
/* Reads boolean text: true/false, yes/no, on/off, 1/0, in any ASCII case
 * ("TRUE" is the LDAP Boolean syntax), the whole of s[0..len) and nothing
 * else. Returns false when s is none of them. */
bool mval_parse_bool_text(const char *s, size_t len, bool *out);
/* Truth for if() and not(): null, "", [], false and 0 are false, and so
 * are the strings "false", "no", "off" and "0" in any case (directories
 * store booleans as text); everything else is true. */
bool mval_truthy(const struct mval *v);
/* Equality for == and !=: both sides compared as text (mval_append_text
 * with ","), so ${employeeNumber} == 42 holds for "42". */
bool mval_equal_text(const struct mval *a, const struct mval *b);
const char *mval_type_name(enum mval_type t);

/* Appends the value as text: strings as is, ints in decimal, booleans as
 * true/false, times in ISO 8601 UTC, arrays joined with `sep`, null as
 * nothing. */
void mval_append_text(const struct mval *v, struct sbuf *sb, const char *sep);
/* Appends a short, quoted, control-character-escaped rendering for error
 * messages (long strings are cut). */
void mval_append_quoted(const struct mval *v, struct sbuf *sb);
/* Appends ms (since the epoch, UTC) as "2024-01-02T03:04:05Z", with
 * ".123" before the Z when there are milliseconds. */
void mval_append_iso8601(long long ms, struct sbuf *sb);

#endif
