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

#endif
