/* Typed, validated access to libconfig settings. Every check reports
 * "file:line: message" into a diag list and carries on, so one
 * --check-config run shows every problem in the file. */
#ifndef MS_CONFIG_CFGREAD_H
#define MS_CONFIG_CFGREAD_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"

enum cfg_type {
	CFG_T_STRING,
	CFG_T_INT,
	CFG_T_NUMBER,	/* int or float */
	CFG_T_BOOL,
	CFG_T_GROUP,
	CFG_T_STRINGS,	/* a string or an array/list of strings */
	CFG_T_INTS,	/* an int or an array/list of ints */
	CFG_T_GROUPS,	/* a list of groups */
	CFG_T_SCALAR,	/* string, int, float or bool (mapping expressions) */
	CFG_T_SCALARS,	/* a scalar or an array/list of scalars */
};

#define CFG_REQUIRED 0x1u

struct cfg_key {
	const char *name;
	enum cfg_type type;
	unsigned flags;
};

/* Where diagnostics go and which file to name when libconfig has none. */
struct cfg_ctx {
	const char *file;
	struct diag *diag;
};

/* Reports, for `group` (displayed as `where`): keys that are in none of the
 * NULL-terminated key tables (with a "did you mean" hint), keys of the wrong
 * type and missing required keys. Returns the number of errors reported. */
size_t cfg_check_group(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
		       const struct cfg_key *const *tables);

/* Accessors for keys already checked by cfg_check_group: a key that is
 * absent or of the wrong type (already reported) yields the default. */
const char *cfg_string(const config_setting_t *group, const char *name, const char *def);
long long cfg_int(const config_setting_t *group, const char *name, long long def);
double cfg_number(const config_setting_t *group, const char *name, double def);
bool cfg_bool(const config_setting_t *group, const char *name, bool def);
/* A CFG_T_STRINGS key as a NULL-terminated array (caller frees with
 * strv_free); NULL when absent. */
char **cfg_strings(const config_setting_t *group, const char *name, size_t *n);
/* A CFG_T_INTS key as an array (caller frees); NULL when absent. */
long long *cfg_ints(const config_setting_t *group, const char *name, size_t *n);

/* Like cfg_int, and reports an error when the value is outside [min, max]. */
long long cfg_int_range(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
			const char *name, long long def, long long min, long long max);

/* Line of a setting (or of its group when the key is absent), for messages. */
int cfg_line(const config_setting_t *s);
int cfg_key_line(const config_setting_t *group, const char *name);
/* File a setting came from (@include aware), falling back to cc->file. */
const char *cfg_file(const struct cfg_ctx *cc, const config_setting_t *s);

/* Checks on the raw text of path and of the files it @includes (relative
 * names resolved against include_dir, as libconfig does), for mistakes
 * libconfig reports unclearly or not at all: an @include of a missing file
 * or an @include cycle, text that is not UTF-8, unknown escapes in strings,
 * unbalanced brackets, integers that do not fit the 32 bits libconfig
 * silently wraps them to, and an empty file. Returns the number of errors
 * reported; the file should not be parsed when there are any. An
 * unreadable path is left to libconfig to report. */
size_t cfg_prescan(const char *path, const char *include_dir, struct diag *d);

/* After libconfig reported `error` at file:line: a hint on the likely
 * cause (a string left open above that line, the name of a duplicate
 * setting), or NULL. Caller frees. */
char *cfg_syntax_hint(const char *file, int line, const char *error);

#define cfg_error(cc, setting, ...) \
	diag_error((cc)->diag, cfg_file((cc), (setting)), cfg_line(setting), __VA_ARGS__)
#define cfg_warning(cc, setting, ...) \
	diag_warning((cc)->diag, cfg_file((cc), (setting)), cfg_line(setting), __VA_ARGS__)

#endif
