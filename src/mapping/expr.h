/* Mapping expressions: a config string such as "${givenName} ${sn}" or
 * "${mail | first | lower}" compiled once at config load and evaluated per
 * directory entry. The syntax is documented in membersync.conf(5). */
#ifndef MS_MAPPING_EXPR_H
#define MS_MAPPING_EXPR_H

#include "ldap/entry.h"
#include "mapping/value.h"

struct mexpr;
struct mlookups;

/* What an expression may refer to besides attributes. It must outlive the
 * expressions compiled against it. */
struct mexpr_env {
	const struct mlookups *lookups;	/* tables for lookup(); may be NULL */
};

/* Compiles a template; env may be NULL (no lookup tables). On success
 * returns the expression; on error returns NULL with *err (caller frees)
 * and *column (1-based position in src, in characters). Unknown functions,
 * wrong arity, bad regexes and unknown tables are all caught here. */
struct mexpr *mexpr_compile(const char *src, const struct mexpr_env *env, char **err, int *column);
/* An expression that always yields a copy of v (config int/bool literals). */
struct mexpr *mexpr_new_literal(const struct mval *v);
void mexpr_free(struct mexpr *x);

/* Calls fn for each attribute name (lowercased) the expression reads. */
void mexpr_foreach_attr(const struct mexpr *x, void (*fn)(const char *attr, void *ud), void *ud);

/* Evaluates x against entry e into *out (which must be MV_NULL or cleared).
 * Returns 0, or -EINVAL with *err (caller frees) explaining why, e.g. an
 * attribute value that is not UTF-8. Never crashes on any entry. */
int mexpr_eval(const struct mexpr *x, const struct entry *e, struct mval *out, char **err);

#endif
