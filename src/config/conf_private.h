/* Helpers shared by the config loader's files; not part of the contract
 * other modules see (that is conf.h). */
#ifndef MS_CONFIG_CONF_PRIVATE_H
#define MS_CONFIG_CONF_PRIVATE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/cfgread.h"
#include "config/conf.h"

/* Appends s to the NULL-terminated vector unless it is there already
 * (attribute names compare case-insensitively). */
void conf_strv_add_unique(char ***v, size_t *n, const char *s);
bool conf_strv_contains(char **v, size_t n, const char *s);

/* Balanced parentheses around the whole filter: catches the common typos
 * before the directory does, with a file:line. */
bool conf_filter_plausible(const char *f);

/* Loads source = { ... } into src, reporting problems to cc. */
void conf_load_source(const struct cfg_ctx *cc, const config_setting_t *g, const char *dir,
		      struct conf_source *src);
void conf_source_clear(struct conf_source *src);

/* Lookup tables from the top-level `lookups` block (NULL when absent). */
struct mlookups *conf_load_lookups(const struct cfg_ctx *cc, const config_setting_t *root);
/* A target's map, key, secret_fields and fields rules, compiled against
 * env. NULL when there is no map block (already reported). */
struct mapping *conf_load_map(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			      const struct target_driver *drv, const struct mexpr_env *env);
/* The top-level `sample_entry` block as an entry (NULL when absent). */
struct entry *conf_load_sample_overrides(const struct cfg_ctx *cc, const config_setting_t *root);
/* --check-config: reports every field of m that fails on the sample
 * entry as an error at its map line. */
void conf_check_map_sample(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   const struct mapping *m, const struct entry *overrides);

#endif
