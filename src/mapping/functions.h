/* The functions (filters) of the mapping language. Each is one entry in a
 * const table; adding a function is one C function plus one table line. */
#ifndef MS_MAPPING_FUNCTIONS_H
#define MS_MAPPING_FUNCTIONS_H

#include <stddef.h>

#include "ldap/entry.h"
#include "mapping/value.h"

struct meval {
	const struct entry *entry;
	char *error;	/* set by meval_fail */
};

/* Records why evaluation failed; returns -EINVAL for `return meval_fail(...)`. */
int meval_fail(struct meval *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* args[0] is the piped value when the function is used as "x | f(...)".
 * Functions may consume (move out of) their arguments. */
typedef int (*mfunc_fn)(struct meval *ctx, struct mval *args, size_t nargs, struct mval *out);

struct mfunc {
	const char *name;
	unsigned min_args, max_args;	/* counting the piped value */
	mfunc_fn fn;
	const char *usage;		/* shown in arity errors */
};

const struct mfunc *mfunc_find(const char *name);
/* Closest known name for "did you mean" hints, or NULL. */
const char *mfunc_suggest(const char *name);

#endif
