#include "config.h"

#include "config/cfgread.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *cfg_type_name(int libconfig_type)
{
	switch (libconfig_type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "an unknown type";
	}
}

static const char *cfg_expected_name(enum cfg_type t)
{
	switch (t) {
	case CFG_T_STRING: return "a string";
	case CFG_T_INT: return "an integer";
	case CFG_T_NUMBER: return "a number";
	case CFG_T_BOOL: return "a boolean (true or false)";
	case CFG_T_GROUP: return "a group { ... }";
	case CFG_T_STRINGS: return "a string or a list of strings";
	case CFG_T_INTS: return "an integer or a list of integers";
	case CFG_T_GROUPS: return "a list of groups ( { ... }, ... )";
	case CFG_T_SCALAR: return "a string, number or boolean";
	case CFG_T_SCALARS: return "a string, number or boolean, or a list of them";
	}
	return "?";
}

static bool cfg_is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static bool cfg_all_elems(const config_setting_t *s, int type_a, int type_b)
{
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		int t = config_setting_type(config_setting_get_elem(s, (unsigned)i));
		if (t != type_a && t != type_b)
			return false;
	}
	return true;
}

static bool cfg_type_matches(const config_setting_t *s, enum cfg_type want)
{
	int t = config_setting_type(s);
	bool aggregate = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
	switch (want) {
	case CFG_T_STRING: return t == CONFIG_TYPE_STRING;
	case CFG_T_INT: return cfg_is_int(s);
	case CFG_T_NUMBER: return cfg_is_int(s) || t == CONFIG_TYPE_FLOAT;
	case CFG_T_BOOL: return t == CONFIG_TYPE_BOOL;
	case CFG_T_GROUP: return t == CONFIG_TYPE_GROUP;
	case CFG_T_STRINGS:
		return t == CONFIG_TYPE_STRING ||
		       (aggregate && cfg_all_elems(s, CONFIG_TYPE_STRING, CONFIG_TYPE_STRING));
	case CFG_T_INTS:
		return cfg_is_int(s) ||
		       (aggregate && cfg_all_elems(s, CONFIG_TYPE_INT, CONFIG_TYPE_INT64));
	case CFG_T_GROUPS:
		return t == CONFIG_TYPE_LIST && cfg_all_elems(s, CONFIG_TYPE_GROUP, CONFIG_TYPE_GROUP);
	case CFG_T_SCALAR:
		return t == CONFIG_TYPE_STRING || cfg_is_int(s) || t == CONFIG_TYPE_FLOAT ||
		       t == CONFIG_TYPE_BOOL;
	case CFG_T_SCALARS:
		if (!aggregate)
			return cfg_type_matches(s, CFG_T_SCALAR);
		for (int i = 0; i < config_setting_length(s); i++)
			if (!cfg_type_matches(config_setting_get_elem(s, (unsigned)i), CFG_T_SCALAR))
				return false;
		return true;
	}
	return false;
}

static const struct cfg_key *cfg_find_key(const struct cfg_key *const *tables, const char *name)
{
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			if (strcmp(k->name, name) == 0)
				return k;
	return NULL;
}

static const char *cfg_suggest(const struct cfg_key *const *tables, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			str_suggest_consider(name, k->name, &best, &best_d);
	return best;
}

size_t cfg_check_group(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
		       const struct cfg_key *const *tables)
{
	size_t before = cc->diag->errors;
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct cfg_key *k = cfg_find_key(tables, name);
		if (!k) {
			const char *hint = cfg_suggest(tables, name);
			if (hint)
				cfg_error(cc, s, "%s: unknown key '%s' (did you mean '%s'?)", where, name, hint);
			else
				cfg_error(cc, s, "%s: unknown key '%s'", where, name);
			continue;
		}
		if (!cfg_type_matches(s, k->type))
			cfg_error(cc, s, "%s: %s must be %s, not %s", where, name, cfg_expected_name(k->type),
				  cfg_type_name(config_setting_type(s)));
	}
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			if ((k->flags & CFG_REQUIRED) && !config_setting_get_member(group, k->name))
				cfg_error(cc, group, "%s: required key '%s' is missing", where, k->name);
	return cc->diag->errors - before;
}

static const config_setting_t *cfg_member_of_type(const config_setting_t *group, const char *name,
						  enum cfg_type want)
{
	if (!group)
		return NULL;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (!s || !cfg_type_matches(s, want))
		return NULL;
	return s;
}

const char *cfg_string(const config_setting_t *group, const char *name, const char *def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_STRING);
	return s ? config_setting_get_string(s) : def;
}

long long cfg_int(const config_setting_t *group, const char *name, long long def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INT);
	return s ? config_setting_get_int64(s) : def;
}

double cfg_number(const config_setting_t *group, const char *name, double def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_NUMBER);
	if (!s)
		return def;
	return cfg_is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
}

bool cfg_bool(const config_setting_t *group, const char *name, bool def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_BOOL);
	return s ? config_setting_get_bool(s) != 0 : def;
}

char **cfg_strings(const config_setting_t *group, const char *name, size_t *n)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_STRINGS);
	*n = 0;
	if (!s)
		return NULL;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		char **v = xcalloc(2, sizeof(char *));
		v[0] = xstrdup(config_setting_get_string(s));
		*n = 1;
		return v;
	}
	int len = config_setting_length(s);
	char **v = xcalloc((size_t)len + 1, sizeof(char *));
	for (int i = 0; i < len; i++)
		v[i] = xstrdup(config_setting_get_string_elem(s, i));
	*n = (size_t)len;
	return v;
}

long long *cfg_ints(const config_setting_t *group, const char *name, size_t *n)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INTS);
	*n = 0;
	if (!s)
		return NULL;
	if (cfg_is_int(s)) {
		long long *v = xmalloc(sizeof(long long));
		v[0] = config_setting_get_int64(s);
		*n = 1;
		return v;
	}
	int len = config_setting_length(s);
	long long *v = xcalloc((size_t)len, sizeof(long long));
	for (int i = 0; i < len; i++)
		v[i] = config_setting_get_int64_elem(s, i);
	*n = (size_t)len;
	return v;
}

long long cfg_int_range(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
			const char *name, long long def, long long min, long long max)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INT);
	if (!s)
		return def;
	long long v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cfg_error(cc, s, "%s: %s = %lld is out of range (%lld to %lld)", where, name, v, min, max);
		return def;
	}
	return v;
}

int cfg_line(const config_setting_t *s)
{
	while (s) {
		int line = (int)config_setting_source_line(s);
		if (line > 0)
			return line;
		s = config_setting_parent(s);
	}
	return 0;
}

int cfg_key_line(const config_setting_t *group, const char *name)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	return cfg_line(s ? s : group);
}

const char *cfg_file(const struct cfg_ctx *cc, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	return f ? f : cc->file;
}
