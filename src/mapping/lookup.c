#include "config.h"

#include "mapping/lookup.h"
#include "util/strmap.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct mlookup {
	char *name;
	struct strmap *values; /* key -> struct mval * (owned) */
};

struct mlookups {
	struct mlookup **tables;
	size_t n, cap;
};

struct mlookups *mlookups_new(void)
{
	return XNEW(struct mlookups);
}

static void mlookup_free_value(const char *key, void *value, void *ud)
{
	(void)key;
	(void)ud;
	mval_clear(value);
	free(value);
}

void mlookups_free(struct mlookups *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		strmap_foreach(l->tables[i]->values, mlookup_free_value, NULL);
		strmap_free(l->tables[i]->values);
		free(l->tables[i]->name);
		free(l->tables[i]);
	}
	free(l->tables);
	free(l);
}

struct mlookup *mlookups_add(struct mlookups *l, const char *name)
{
	if (mlookups_find(l, name))
		return NULL;
	struct mlookup *t = XNEW(struct mlookup);
	t->name = xstrdup(name);
	t->values = strmap_new();
	xgrow((void **)&l->tables, &l->cap, l->n, sizeof(*l->tables));
	l->tables[l->n++] = t;
	return t;
}

bool mlookup_put(struct mlookup *t, const char *key, const struct mval *value)
{
	struct mval *old = strmap_get(t->values, key);
	struct mval *v = XNEW(struct mval);
	mval_copy(v, value);
	strmap_put(t->values, key, v);
	if (old) {
		mval_clear(old);
		free(old);
		return false;
	}
	return true;
}

size_t mlookups_count(const struct mlookups *l)
{
	return l ? l->n : 0;
}

const struct mlookup *mlookups_find(const struct mlookups *l, const char *name)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->tables[i]->name, name) == 0)
			return l->tables[i];
	return NULL;
}

const char *mlookups_suggest(const struct mlookups *l, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; l && i < l->n; i++)
		str_suggest_consider(name, l->tables[i]->name, &best, &best_d);
	return best;
}

const char *mlookup_name(const struct mlookup *t)
{
	return t->name;
}

const struct mval *mlookup_get(const struct mlookup *t, const char *key)
{
	return strmap_get(t->values, key);
}
