/* List functions: LDAP attributes are multi-valued, APIs want one value,
 * a JSON array or a comma-joined string. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/strmap.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fn_first(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type != MV_ARRAY)
		mval_move(out, v);
	else if (v->u.arr.n > 0)
		mval_move(out, &v->u.arr.items[0]);
	return 0;
}

static int fn_last(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type != MV_ARRAY)
		mval_move(out, v);
	else if (v->u.arr.n > 0)
		mval_move(out, &v->u.arr.items[v->u.arr.n - 1]);
	return 0;
}

static int fn_count(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	const struct mval *v = &args[0];
	long long n = v->type == MV_ARRAY ? (long long)v->u.arr.n : v->type == MV_NULL ? 0 : 1;
	mval_set_int(out, n);
	return 0;
}

/* Null elements are skipped: joining [a, null, b] gives "a,b", not "a,,b". */
static int fn_join(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	const struct mval *v = &args[0];
	if (v->type == MV_NULL)
		return 0;
	const char *sep = mfunc_arg_string(ctx, "join", &args[1]);
	if (!sep)
		return -EINVAL;
	struct sbuf sb;
	sbuf_init(&sb);
	size_t n = v->type == MV_ARRAY ? v->u.arr.n : 1, written = 0;
	for (size_t i = 0; i < n && sb.len <= MFUNC_MAX_RESULT_BYTES; i++) {
		const struct mval *item = v->type == MV_ARRAY ? &v->u.arr.items[i] : v;
		if (item->type == MV_NULL)
			continue;
		if (written++)
			sbuf_addstr(&sb, sep);
		mval_append_text(item, &sb, sep);
	}
	if (sb.len > MFUNC_MAX_RESULT_BYTES) {
		sbuf_release(&sb);
		return meval_fail(ctx, "join: the result would be over %u bytes", MFUNC_MAX_RESULT_BYTES);
	}
	size_t len;
	char *s = sbuf_detach(&sb, &len);
	sbuf_release(&sb);
	mval_take_string(out, s, len);
	return 0;
}

/* Equal in type and value, element by element for arrays: [1] and ["1"]
 * are different values. */
static bool list_same(const struct mval *a, const struct mval *b)
{
	if (a->type != b->type)
		return false;
	if (a->type != MV_ARRAY)
		return mval_equal_text(a, b);
	if (a->u.arr.n != b->u.arr.n)
		return false;
	for (size_t i = 0; i < a->u.arr.n; i++)
		if (!list_same(&a->u.arr.items[i], &b->u.arr.items[i]))
			return false;
	return true;
}

/* A text key that tells values apart exactly as list_same does. */
static void list_key(const struct mval *v, struct sbuf *key)
{
	sbuf_addch(key, (char)('a' + v->type));
	if (v->type != MV_ARRAY) {
		/* Length first: no byte a value may hold can end it early. */
		struct sbuf text;
		sbuf_init(&text);
		mval_append_text(v, &text, "");
		sbuf_addf(key, "%zu:", text.len);
		sbuf_add(key, text.buf, text.len);
		sbuf_release(&text);
		return;
	}
	sbuf_addf(key, "%zu[", v->u.arr.n);
	for (size_t i = 0; i < v->u.arr.n; i++)
		list_key(&v->u.arr.items[i], key);
	sbuf_addch(key, ']');
}

/* Up to this many values, comparing each with those kept is cheaper than
 * building a hash set; attributes rarely hold more. */
#define UNIQUE_LINEAR_MAX 16

/* Keeps the first of equal values (compared as text, case-sensitively), in
 * their original order. A hash set keeps 10k-valued attributes linear. */
static int fn_unique(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type != MV_ARRAY) {
		mval_move(out, v);
		return 0;
	}
	mval_set_array(out, v->u.arr.n);
	if (v->u.arr.n <= UNIQUE_LINEAR_MAX) {
		for (size_t i = 0; i < v->u.arr.n; i++) {
			bool dup = false;
			for (size_t k = 0; k < out->u.arr.n && !dup; k++)
				dup = list_same(&out->u.arr.items[k], &v->u.arr.items[i]);
			if (!dup)
				mval_array_push(out, &v->u.arr.items[i]);
		}
		return 0;
	}
	struct strmap *seen = strmap_new();
	struct sbuf key;
	sbuf_init(&key);
	for (size_t i = 0; i < v->u.arr.n; i++) {
		struct mval *item = &v->u.arr.items[i];
		sbuf_reset(&key);
		list_key(item, &key);
		if (strmap_contains(seen, key.buf))
			continue;
		strmap_put(seen, key.buf, NULL);
		mval_array_push(out, item);
	}
	sbuf_release(&key);
	strmap_free(seen);
	return 0;
}

static int list_cmp(const void *pa, const void *pb)
{
	const struct mval *a = pa, *b = pb;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case MV_STRING: {
		size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
		int c = memcmp(a->u.str.s, b->u.str.s, n);
		if (c)
			return c;
		return a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len;
	}
	case MV_INT:
	case MV_TIME: return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
	case MV_BOOL: return (int)a->u.b - (int)b->u.b;
	default: return 0;
	}
}

/* Strings sort by code point (byte order of UTF-8), numbers and times by
 * value; in a mixed array, values group by type. */
static int fn_sort(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	if (v->type == MV_ARRAY && v->u.arr.n > 1)
		qsort(v->u.arr.items, v->u.arr.n, sizeof(struct mval), list_cmp);
	mval_move(out, v);
	return 0;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("first", 1, 1, fn_first, "${values | first}"),
	MFUNC_PLAIN("last", 1, 1, fn_last, "${values | last}"),
	MFUNC_PLAIN("count", 1, 1, fn_count, "${values | count}"),
	MFUNC_PLAIN("join", 2, 2, fn_join, "${values | join('separator')}"),
	MFUNC_PLAIN("unique", 1, 1, fn_unique, "${values | unique}"),
	MFUNC_PLAIN("sort", 1, 1, fn_sort, "${values | sort}"),
};

MFUNC_TABLE(mfunc_list_table, funcs);
