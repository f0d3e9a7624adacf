/* The mapping language's functions. Conventions: args[0] is the piped
 * value; string functions applied to an array apply to each element;
 * functions never fail on unusual input where a sensible result exists. */
#include "config.h"

#include "mapping/functions.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

typedef void (*mfunc_string_op)(char *s, size_t *len);

/* Applies op to a string, or to every string in an array. */
static void fn_map_strings(struct mval *v, mfunc_string_op op)
{
	if (v->type == MV_STRING) {
		op(v->u.str.s, &v->u.str.len);
		v->u.str.s[v->u.str.len] = '\0';
	} else if (v->type == MV_ARRAY) {
		for (size_t i = 0; i < v->u.arr.n; i++)
			fn_map_strings(&v->u.arr.items[i], op);
	}
}

/* ASCII only: byte-wise case mapping must not corrupt multi-byte UTF-8. */
static void op_lower(char *s, size_t *len)
{
	for (size_t i = 0; i < *len; i++)
		if ((unsigned char)s[i] < 0x80)
			s[i] = (char)tolower((unsigned char)s[i]);
}

static void op_upper(char *s, size_t *len)
{
	for (size_t i = 0; i < *len; i++)
		if ((unsigned char)s[i] < 0x80)
			s[i] = (char)toupper((unsigned char)s[i]);
}

static void op_trim(char *s, size_t *len)
{
	size_t start = 0, end = *len;
	while (start < end && isspace((unsigned char)s[start]))
		start++;
	while (end > start && isspace((unsigned char)s[end - 1]))
		end--;
	memmove(s, s + start, end - start);
	*len = end - start;
}

static int fn_lower(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	fn_map_strings(&args[0], op_lower);
	mval_move(out, &args[0]);
	return 0;
}

static int fn_upper(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	fn_map_strings(&args[0], op_upper);
	mval_move(out, &args[0]);
	return 0;
}

static int fn_trim(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	fn_map_strings(&args[0], op_trim);
	mval_move(out, &args[0]);
	return 0;
}

static int fn_first(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type != MV_ARRAY)
		mval_move(out, v);
	else if (v->u.arr.n > 0)
		mval_move(out, &v->u.arr.items[0]);
	return 0;
}

static int fn_last(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type != MV_ARRAY)
		mval_move(out, v);
	else if (v->u.arr.n > 0)
		mval_move(out, &v->u.arr.items[v->u.arr.n - 1]);
	return 0;
}

static int fn_count(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	const struct mval *v = &args[0];
	long long n = v->type == MV_ARRAY ? (long long)v->u.arr.n : v->type == MV_NULL ? 0 : 1;
	mval_set_int(out, n);
	return 0;
}

static int fn_default(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	mval_move(out, mval_is_empty(&args[0]) ? &args[1] : &args[0]);
	return 0;
}

static int fn_join(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	if (args[0].type == MV_NULL)
		return 0;
	struct sbuf sep, sb;
	sbuf_init(&sep);
	sbuf_init(&sb);
	mval_append_text(&args[1], &sep, "");
	mval_append_text(&args[0], &sb, sep.buf);
	size_t len;
	char *s = sbuf_detach(&sb, &len);
	mval_take_string(out, s, len);
	sbuf_release(&sb);
	sbuf_release(&sep);
	return 0;
}

#define PASSWORD_MIN 4
#define PASSWORD_MAX 128

/* Uniform in [0, n): rejection sampling, so no character is favoured. */
static int rand_below(unsigned n, unsigned *out)
{
	unsigned limit = (0xFFFFFFFFu / n) * n;
	for (;;) {
		unsigned v;
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return -1;
		if (v < limit) {
			*out = v % n;
			return 0;
		}
	}
}

static int rand_pick(const char *set, char *out)
{
	unsigned i;
	if (rand_below((unsigned)strlen(set), &i) < 0)
		return -1;
	*out = set[i];
	return 0;
}

/* random_password(len[, classes]): classes is any of "a" (lower), "A"
 * (upper), "1" (digits), "!" (symbols); default "aA1". Every class asked for
 * appears at least once, because APIs reject passwords that lack one.
 * Look-alike characters (l, I, O, 0, 1) are left out. */
static int fn_random_password(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out)
{
	static const char *const sets[] = {
		"abcdefghijkmnopqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "!#%+-=@_",
	};
	static const char class_chars[] = "aA1!";
	const char *classes = "aA1";
	char alphabet[128] = "";
	const char *required[4];
	size_t nreq = 0;

	if (args[0].type != MV_INT || args[0].u.i < PASSWORD_MIN || args[0].u.i > PASSWORD_MAX)
		return meval_fail(ctx, "random_password: length must be an integer from %d to %d",
				  PASSWORD_MIN, PASSWORD_MAX);
	if (nargs > 1) {
		if (args[1].type != MV_STRING)
			return meval_fail(ctx, "random_password: classes must be a string such as 'aA1!'");
		classes = args[1].u.str.s;
	}
	for (size_t c = 0; c < 4; c++)
		if (strchr(classes, class_chars[c])) {
			strcat(alphabet, sets[c]);
			required[nreq++] = sets[c];
		}
	if (nreq == 0)
		return meval_fail(ctx, "random_password: classes must contain a, A, 1 or !");

	size_t len = (size_t)args[0].u.i;
	char *buf = xmalloc(len + 1);
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i++)
		r = i < nreq ? rand_pick(required[i], &buf[i]) : rand_pick(alphabet, &buf[i]);
	for (size_t i = len - 1; i > 0 && r == 0; i--) {
		unsigned j = 0;
		if ((r = rand_below((unsigned)(i + 1), &j)) < 0)
			break;
		char tmp = buf[i];
		buf[i] = buf[j];
		buf[j] = tmp;
	}
	if (r < 0) {
		free(buf);
		return meval_fail(ctx, "random_password: no randomness available");
	}
	buf[len] = '\0';
	mval_take_string(out, buf, len);
	return 0;
}

static const struct mfunc mfunc_table[] = {
	{ "count", 1, 1, fn_count, "${values | count}" },
	{ "default", 2, 2, fn_default, "${value | default(fallback)}" },
	{ "first", 1, 1, fn_first, "${values | first}" },
	{ "join", 2, 2, fn_join, "${values | join(separator)}" },
	{ "last", 1, 1, fn_last, "${values | last}" },
	{ "lower", 1, 1, fn_lower, "${value | lower}" },
	{ "random_password", 1, 2, fn_random_password, "${random_password(length[, classes])}" },
	{ "trim", 1, 1, fn_trim, "${value | trim}" },
	{ "upper", 1, 1, fn_upper, "${value | upper}" },
};

const struct mfunc *mfunc_find(const char *name)
{
	for (size_t i = 0; i < sizeof(mfunc_table) / sizeof(mfunc_table[0]); i++)
		if (strcmp(mfunc_table[i].name, name) == 0)
			return &mfunc_table[i];
	return NULL;
}

const char *mfunc_suggest(const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < sizeof(mfunc_table) / sizeof(mfunc_table[0]); i++)
		str_suggest_consider(name, mfunc_table[i].name, &best, &best_d);
	return best;
}
