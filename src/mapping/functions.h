/* The functions (filters) of the mapping language. Each lives in one of
 * the fn_*.c files as a line of that file's const table; functions.c
 * finds them by name and holds the helpers they share. */
#ifndef MS_MAPPING_FUNCTIONS_H
#define MS_MAPPING_FUNCTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "ldap/entry.h"
#include "mapping/expr.h"
#include "mapping/value.h"

struct meval {
	const struct entry *entry;
	char *error;	/* set by meval_fail */
};

/* Records why evaluation failed; returns -EINVAL for `return meval_fail(...)`. */
int meval_fail(struct meval *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* args[0] is the piped value when the function is used as "x | f(...)".
 * Functions may consume (move out of) their arguments. `data` is what the
 * function's prepare step built at load time (NULL without one). */
typedef int (*mfunc_fn)(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			struct mval *out);

/* Load-time step for functions with literal arguments (regexes, table
 * names, group DNs): lits[i] is argument i's value when it is a literal,
 * NULL otherwise. Returns 0 with *data (may stay NULL), or -EINVAL with
 * *err (caller frees). */
typedef int (*mfunc_prepare_fn)(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
				void **data, char **err);

/* Functions whose arguments the evaluator must not evaluate up front:
 * only the branch taken, only until a value is found. */
enum mfunc_lazy {
	MFUNC_EAGER,
	MFUNC_IF,	/* if(cond, then[, else]) */
	MFUNC_FIRST_NON_EMPTY,	/* coalesce(a, b, ...) and default(x) */
};

#define MFUNC_VARIADIC 64u	/* max_args of functions taking "a, b, ..." */

struct mfunc {
	const char *name;
	unsigned min_args, max_args;	/* counting the piped value */
	mfunc_fn fn;			/* NULL for lazy functions */
	const char *usage;		/* shown in arity errors */
	unsigned literal_args;		/* bit i set: argument i must be a literal */
	mfunc_prepare_fn prepare;
	void (*free_data)(void *data);
	enum mfunc_lazy lazy;
	/* An attribute the function reads from the entry by itself (NULL:
	 * none), so the config asks for it and checks where it comes from. */
	const char *reads_attr;
};

const struct mfunc *mfunc_find(const char *name);
/* Closest known name for "did you mean" hints, or NULL. */
const char *mfunc_suggest(const char *name);
/* Calls fn for every function, in table order (docs and tests). */
void mfunc_foreach(void (*fn)(const struct mfunc *f, void *ud), void *ud);

/* ---- helpers for the fn_*.c files */

/* Applies op to v when it is a scalar, or to each element when it is an
 * array (nested arrays included); null stays null (op is not called). op
 * may replace *item. Stops at the first error. */
typedef int (*mfunc_item_op)(struct meval *ctx, const void *ud, struct mval *item);
int mfunc_each(struct meval *ctx, struct mval *v, mfunc_item_op op, const void *ud);

/* Fails with "<fname>: value <v quoted> <why>", the form of every
 * function's reasons; returns -EINVAL. */
int mfunc_fail_value(struct meval *ctx, const char *fname, const struct mval *v, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replaces a non-string scalar (int, bool, time) by its text, so string
 * functions accept ${uidNumber}. Null and strings are left alone. */
void mfunc_as_text(struct mval *v);

/* For functions that read text: a non-string scalar becomes its text,
 * and "" becomes null (no value, as default() sees it). Returns whether
 * there is text to work on. */
bool mfunc_text_input(struct mval *v);

/* Reads an integer argument in [min, max]; a numeric string counts.
 * Returns 0, or -EINVAL via meval_fail naming the function. */
int mfunc_arg_int(struct meval *ctx, const char *fname, const struct mval *v, long long min, long long max,
		  long long *out);
/* Reads a string argument (ints are accepted as their text). Returns the
 * text, or NULL after meval_fail. Stays valid while v does. */
const char *mfunc_arg_string(struct meval *ctx, const char *fname, struct mval *v);

/* Sizes above this fail with a reason instead of growing without bound
 * (join of 10k values, replace on 1 MB...): 16 MB is far beyond any API
 * field and still cheap. */
#define MFUNC_MAX_RESULT_BYTES (16u << 20)

#endif
