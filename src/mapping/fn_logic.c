/* Conditions, fallbacks and lookup tables. if, coalesce and default are
 * evaluated lazily by eval.c (only the branch taken runs); they are listed
 * here so the compiler knows their names and arity. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "mapping/lookup.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fn_not(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	mval_set_bool(out, !mval_truthy(&args[0]));
	return 0;
}

static int fn_not_empty(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			struct mval *out)
{
	mval_set_bool(out, !mval_is_empty(&args[0]));
	return 0;
}

static int lookup_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			  void **data, char **err)
{
	if (lits[1]->type != MV_STRING) {
		*err = xstrdup("the table name must be a string");
		return -EINVAL;
	}
	const char *name = lits[1]->u.str.s;
	const struct mlookup *t = mlookups_find(env->lookups, name);
	if (!t) {
		const char *hint = mlookups_suggest(env->lookups, name);
		if (hint)
			*err = xasprintf("unknown lookup table '%s' (did you mean '%s'?)", name, hint);
		else if (mlookups_count(env->lookups) == 0)
			*err = xasprintf(
				"unknown lookup table '%s' (no tables are declared; see 'lookups' in "
				"membersync.conf(5))",
				name);
		else
			*err = xasprintf("unknown lookup table '%s'", name);
		return -EINVAL;
	}
	/* Not owned: the tables outlive the expressions (see mexpr_env). */
	*data = (void *)t;
	return 0;
}

struct lookup_call {
	const struct mlookup *table;
	struct mval *fallback; /* NULL: a missing key is an error */
};

static int op_lookup(struct meval *ctx, const void *ud, struct mval *item)
{
	const struct lookup_call *lc = ud;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	const struct mval *hit = mlookup_get(lc->table, item->u.str.s);
	if (hit) {
		mval_copy(item, hit);
		return 0;
	}
	if (lc->fallback) {
		mval_copy(item, lc->fallback);
		return 0;
	}
	struct sbuf q;
	sbuf_init(&q);
	mval_append_quoted(item, &q);
	meval_fail(ctx, "value %s is not in lookup table '%s' (add it, or give lookup a default)", q.buf,
		   mlookup_name(lc->table));
	sbuf_release(&q);
	return -EINVAL;
}

/* Maps each value through the table; an array maps element by element. */
static int fn_lookup(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct lookup_call lc = { .table = data, .fallback = nargs > 2 ? &args[2] : NULL };
	int r = mfunc_each(ctx, &args[0], op_lookup, &lc);
	mval_move(out, &args[0]);
	return r;
}

static const struct mfunc funcs[] = {
	{ .name = "if",
	  .min_args = 2,
	  .max_args = 3,
	  .usage = "${if(condition, then[, else])}",
	  .lazy = MFUNC_IF },
	{ .name = "coalesce",
	  .min_args = 1,
	  .max_args = MFUNC_VARIADIC,
	  .usage = "${coalesce(a, b, ...)}",
	  .lazy = MFUNC_FIRST_NON_EMPTY },
	{ .name = "default",
	  .min_args = 2,
	  .max_args = 2,
	  .usage = "${value | default(fallback)}",
	  .lazy = MFUNC_FIRST_NON_EMPTY },
	MFUNC_PLAIN("not", 1, 1, fn_not, "${value | not}"),
	MFUNC_PLAIN("not_empty", 1, 1, fn_not_empty, "${value | not_empty}"),
	MFUNC_PREPARED("lookup", 2, 3, fn_lookup, "${value | lookup('table'[, default])}", 0x2u,
		       lookup_prepare, NULL),
};

MFUNC_TABLE(mfunc_logic_table, funcs);
