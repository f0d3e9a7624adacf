/* The registry of mapping functions and the helpers they share. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct mfunc_table *const mfunc_tables[] = {
	&mfunc_text_table,  &mfunc_list_table, &mfunc_logic_table, &mfunc_time_table,
	&mfunc_phone_table, &mfunc_dn_table,   &mfunc_codec_table, &mfunc_password_table,
};

#define N_TABLES (sizeof(mfunc_tables) / sizeof(mfunc_tables[0]))

const struct mfunc *mfunc_find(const char *name)
{
	for (size_t t = 0; t < N_TABLES; t++)
		for (size_t i = 0; i < mfunc_tables[t]->n; i++)
			if (strcmp(mfunc_tables[t]->funcs[i].name, name) == 0)
				return &mfunc_tables[t]->funcs[i];
	return NULL;
}

const char *mfunc_suggest(const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t t = 0; t < N_TABLES; t++)
		for (size_t i = 0; i < mfunc_tables[t]->n; i++)
			str_suggest_consider(name, mfunc_tables[t]->funcs[i].name, &best, &best_d);
	return best;
}

void mfunc_foreach(void (*fn)(const struct mfunc *f, void *ud), void *ud)
{
	for (size_t t = 0; t < N_TABLES; t++)
		for (size_t i = 0; i < mfunc_tables[t]->n; i++)
			fn(&mfunc_tables[t]->funcs[i], ud);
}

int mfunc_each(struct meval *ctx, struct mval *v, mfunc_item_op op, const void *ud)
{
	if (v->type == MV_NULL)
		return 0;
	if (v->type != MV_ARRAY)
		return op(ctx, ud, v);
	for (size_t i = 0; i < v->u.arr.n; i++) {
		/* Nested arrays ([[a, b], c]) are walked too. */
		int r = mfunc_each(ctx, &v->u.arr.items[i], op, ud);
		if (r < 0)
			return r;
	}
	return 0;
}

int mfunc_fail_value(struct meval *ctx, const char *fname, const struct mval *v, const char *fmt, ...)
{
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "%s: value ", fname);
	mval_append_quoted(v, &sb);
	sbuf_addch(&sb, ' ');
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	meval_fail(ctx, "%s", sb.buf);
	sbuf_release(&sb);
	return -EINVAL;
}

void mfunc_as_text(struct mval *v)
{
	if (v->type == MV_NULL || v->type == MV_STRING || v->type == MV_ARRAY)
		return;
	struct sbuf sb;
	sbuf_init(&sb);
	mval_append_text(v, &sb, ",");
	size_t len;
	char *s = sbuf_detach(&sb, &len);
	sbuf_release(&sb);
	mval_take_string(v, s, len);
}

bool mfunc_text_input(struct mval *v)
{
	mfunc_as_text(v);
	if (v->type != MV_STRING)
		return false;
	if (v->u.str.len == 0) {
		mval_clear(v);
		return false;
	}
	return true;
}

int mfunc_arg_int(struct meval *ctx, const char *fname, const struct mval *v, long long min, long long max,
		  long long *out)
{
	long long i = 0;
	bool ok = false;
	if (v->type == MV_INT) {
		i = v->u.i;
		ok = true;
	} else if (v->type == MV_STRING && v->u.str.len > 0) {
		char *end;
		errno = 0;
		i = strtoll(v->u.str.s, &end, 10);
		ok = errno == 0 && *end == '\0';
	}
	if (!ok || i < min || i > max)
		return meval_fail(ctx, "%s: expected an integer from %lld to %lld", fname, min, max);
	*out = i;
	return 0;
}

const char *mfunc_arg_string(struct meval *ctx, const char *fname, struct mval *v)
{
	mfunc_as_text(v);
	if (v->type != MV_STRING) {
		meval_fail(ctx, "%s: expected a text argument, got %s", fname, mval_type_name(v->type));
		return NULL;
	}
	return v->u.str.s;
}
