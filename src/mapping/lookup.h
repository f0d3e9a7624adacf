/* Named lookup tables declared in the config ("lookups") and used by the
 * lookup() function: department names to API ids, country names to region
 * codes. Tables are resolved when an expression is compiled, so a mapping
 * that names a missing table is a load-time error. */
#ifndef MS_MAPPING_LOOKUP_H
#define MS_MAPPING_LOOKUP_H

#include "mapping/value.h"

struct mlookups;
struct mlookup;

struct mlookups *mlookups_new(void);
/* Frees every table; expressions compiled against them must be freed first. */
void mlookups_free(struct mlookups *l);
/* Adds an empty table. Returns NULL when the name is taken. */
struct mlookup *mlookups_add(struct mlookups *l, const char *name);
/* Stores a copy of value under key, replacing an earlier one; returns
 * false when the key was already there (the config says it twice). */
bool mlookup_put(struct mlookup *t, const char *key, const struct mval *value);

/* Number of tables (0 for NULL). */
size_t mlookups_count(const struct mlookups *l);
const struct mlookup *mlookups_find(const struct mlookups *l, const char *name);
/* Closest table name for "did you mean" hints, or NULL. */
const char *mlookups_suggest(const struct mlookups *l, const char *name);
const char *mlookup_name(const struct mlookup *t);
/* The value stored under key (exact, case-sensitive match), or NULL. */
const struct mval *mlookup_get(const struct mlookup *t, const char *key);

#endif
