/* The mapping side of the config: lookup tables, each target's map, key,
 * secret_fields and fields rules, and --check-config's evaluation of every
 * map against a sample entry. */
#include "config.h"

#include "config/conf_private.h"
#include "mapping/lookup.h"
#include "mapping/sample.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A lookup value: what a map field may hold literally. */
static bool conf_lookup_value(const config_setting_t *s, struct mval *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		mval_set_string(out, config_setting_get_string(s), strlen(config_setting_get_string(s)));
		return true;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		mval_set_int(out, config_setting_get_int64(s));
		return true;
	case CONFIG_TYPE_BOOL:
		mval_set_bool(out, config_setting_get_bool(s) != 0);
		return true;
	default:
		return false;
	}
}

static void conf_lookup_put(const struct cfg_ctx *cc, const config_setting_t *at, const char *table,
			    struct mlookup *t, const char *key, const config_setting_t *value)
{
	struct mval v = MVAL_NULL;
	if (!conf_lookup_value(value, &v)) {
		cfg_error(cc, at, "lookups.%s: the value for '%s' must be a string, an integer or a boolean", table,
			  key);
		return;
	}
	if (!mlookup_put(t, key, &v))
		cfg_error(cc, at, "lookups.%s: key '%s' is given twice", table, key);
	mval_clear(&v);
}

/* A table is either { key = value; ... } (keys that are valid setting
 * names) or a list of pairs ( ["Sales & Marketing", "12"], ... ) for keys
 * with spaces or punctuation, as department names have. */
static void conf_load_lookup(const struct cfg_ctx *cc, const config_setting_t *s, struct mlookup *t)
{
	const char *name = config_setting_name(s);
	int n = config_setting_length(s);
	bool group = config_setting_type(s) == CONFIG_TYPE_GROUP;

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (group) {
			conf_lookup_put(cc, e, name, t, config_setting_name(e), e);
			continue;
		}
		int et = config_setting_type(e);
		const config_setting_t *k = (et == CONFIG_TYPE_ARRAY || et == CONFIG_TYPE_LIST)
						    ? config_setting_get_elem(e, 0)
						    : NULL;
		if (!k || config_setting_length(e) != 2 || config_setting_type(k) != CONFIG_TYPE_STRING) {
			cfg_error(cc, e, "lookups.%s: entry %d must be a pair [\"key\", value]", name, i + 1);
			continue;
		}
		conf_lookup_put(cc, e, name, t, config_setting_get_string(k), config_setting_get_elem(e, 1));
	}
	if (n == 0)
		cfg_error(cc, s, "lookups.%s is empty", name);
}

struct mlookups *conf_load_lookups(const struct cfg_ctx *cc, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "lookups");
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
		return NULL;
	struct mlookups *l = mlookups_new();
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		int type = config_setting_type(s);
		if (type != CONFIG_TYPE_GROUP && type != CONFIG_TYPE_LIST) {
			cfg_error(cc, s,
				  "lookups.%s must be a group { key = value; } or a list of pairs ( [\"key\", value], "
				  "... )",
				  config_setting_name(s));
			continue;
		}
		conf_load_lookup(cc, s, mlookups_add(l, config_setting_name(s)));
	}
	return l;
}

struct conf_missing_ctx {
	const struct cfg_ctx *cc;
	const config_setting_t *map;
	const char *where;
	const char *driver;
};

static void conf_report_missing(const char *field, void *ud)
{
	struct conf_missing_ctx *m = ud;
	/* A field whose expression failed is already reported; calling it
	 * "not mapped" as well would only confuse. */
	if (config_setting_get_member(m->map, field))
		return;
	cfg_error(m->cc, m->map, "%s: map: field '%s' is required by the %s driver but not mapped", m->where, field,
		  m->driver);
}

static struct mexpr *conf_map_expr(const struct cfg_ctx *cc, const config_setting_t *s, const char *where,
				   const struct mexpr_env *env)
{
	struct mexpr *x = NULL;
	struct mval lit = MVAL_NULL;
	char *err = NULL;
	int col = 0;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		x = mexpr_compile(config_setting_get_string(s), env, &err, &col);
		if (!x) {
			cfg_error(cc, s, "%s: map.%s: %s (column %d of the expression)", where, config_setting_name(s),
				  err, col);
			free(err);
		}
		return x;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_BOOL:
		conf_lookup_value(s, &lit);
		x = mexpr_new_literal(&lit);
		mval_clear(&lit);
		return x;
	default:
		cfg_error(cc, s, "%s: map.%s must be an expression string, an integer or a boolean", where,
			  config_setting_name(s));
		return NULL;
	}
}

static const struct cfg_key field_rule_keys[] = {
	{ "type", CFG_T_STRING, 0 },
	{ "required", CFG_T_BOOL, 0 },
	{ "min_length", CFG_T_INT, 0 },
	{ "max_length", CFG_T_INT, 0 },
	{ "pattern", CFG_T_STRING, 0 },
	{ "enum", CFG_T_STRINGS, 0 },
	{ NULL, 0, 0 },
};

static bool conf_field_type(const char *name, enum field_type *out)
{
	static const struct {
		const char *name;
		enum field_type type;
	} types[] = {
		{ "string", FT_STRING }, { "integer", FT_INT }, { "boolean", FT_BOOL }, { "strings", FT_STRING_LIST },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0) {
			*out = types[i].type;
			return true;
		}
	return false;
}

/* fields = { mobile = { pattern = "^\\+86"; max_length = 20; }; }: the
 * operator's own rules, checked before anything is sent. */
static void conf_load_field_rules(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				  struct mapping *m)
{
	const config_setting_t *fields = config_setting_get_member(target, "fields");
	if (!fields || config_setting_type(fields) != CONFIG_TYPE_GROUP)
		return;
	static const struct cfg_key *const tables[] = { field_rule_keys, NULL };
	for (int i = 0; i < config_setting_length(fields); i++) {
		const config_setting_t *g = config_setting_get_elem(fields, (unsigned)i);
		const char *name = config_setting_name(g);
		char *gwhere = xasprintf("%s: fields.%s", where, name);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			cfg_error(cc, g, "%s must be a group { pattern = \"...\"; max_length = N; ... }", gwhere);
			free(gwhere);
			continue;
		}
		if (cfg_check_group(cc, g, gwhere, tables)) {
			free(gwhere);
			continue;
		}
		struct field_rule rule = {
			.required = cfg_bool(g, "required", false),
			.min_chars = (size_t)cfg_int_range(cc, g, gwhere, "min_length", 0, 0, 1 << 24),
			.max_chars = (size_t)cfg_int_range(cc, g, gwhere, "max_length", 0, 0, 1 << 24),
			.pattern = cfg_string(g, "pattern", NULL),
		};
		const char *type = cfg_string(g, "type", NULL);
		if (type && !conf_field_type(type, &rule.type))
			cfg_error(cc, config_setting_get_member(g, "type"),
				  "%s: type must be string, integer, boolean or strings, not '%s'", gwhere, type);
		rule.set_type = type != NULL;
		size_t n_enum = 0;
		char **values = cfg_strings(g, "enum", &n_enum);
		rule.enum_values = (const char *const *)values;
		if (values && n_enum == 0)
			cfg_error(cc, config_setting_get_member(g, "enum"), "%s: enum is empty", gwhere);
		char *err = NULL;
		if (mapping_constrain_field(m, name, &rule, &err) < 0)
			cfg_error(cc, g, "%s: %s", gwhere, err);
		free(err);
		strv_free(values);
		free(gwhere);
	}
}

struct mapping *conf_load_map(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			      const struct target_driver *drv, const struct mexpr_env *env)
{
	const config_setting_t *map = config_setting_get_member(target, "map");
	if (!map || config_setting_type(map) != CONFIG_TYPE_GROUP)
		return NULL;
	struct mapping *m = mapping_new(drv->fields, drv->n_fields, drv->open_schema);
	size_t before = cc->diag->errors;
	int n = config_setting_length(map);

	if (n == 0)
		cfg_error(cc, map, "%s: map is empty", where);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(map, (unsigned)i);
		struct mexpr *x = conf_map_expr(cc, s, where, env);
		char *err = NULL;
		if (x && mapping_add_field(m, config_setting_name(s), x, &err) < 0) {
			cfg_error(cc, s, "%s: map.%s: %s", where, config_setting_name(s), err);
			free(err);
		}
	}
	struct conf_missing_ctx mc = { cc, map, where, drv->name };
	mapping_foreach_missing_required(m, conf_report_missing, &mc);

	const char *key = cfg_string(target, "key", drv->default_key);
	char *err = NULL;
	if (!key)
		cfg_error(cc, target, "%s: the %s driver needs 'key', the mapped field that identifies a member",
			  where, drv->name);
	else if (mapping_set_key(m, key, &err) < 0 && cc->diag->errors == before) {
		const config_setting_t *ks = config_setting_get_member(target, "key");
		cfg_error(cc, ks ? ks : map, "%s: %s", where, err);
	}
	free(err);

	size_t n_secret;
	char **secret = cfg_strings(target, "secret_fields", &n_secret);
	for (size_t i = 0; i < n_secret; i++) {
		if (mapping_set_secret(m, secret[i], &err) < 0)
			cfg_error(cc, config_setting_get_member(target, "secret_fields"), "%s: secret_fields: %s", where,
				  err);
		free(err);
		err = NULL;
	}
	strv_free(secret);
	conf_load_field_rules(cc, target, where, m);
	return m;
}

struct entry *conf_load_sample_overrides(const struct cfg_ctx *cc, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "sample_entry");
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
		return NULL;
	struct entry *e = entry_new("");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		int type = config_setting_type(s);
		bool many = type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST;
		int nv = many ? config_setting_length(s) : 1;
		struct entry_attr *a = entry_attr_get_or_add(e, config_setting_name(s));
		for (int k = 0; k < nv; k++) {
			const config_setting_t *v = many ? config_setting_get_elem(s, (unsigned)k) : s;
			if (config_setting_type(v) != CONFIG_TYPE_STRING) {
				cfg_error(cc, v, "sample_entry.%s: values must be strings, as the directory gives them",
					  config_setting_name(s));
				continue;
			}
			const char *text = config_setting_get_string(v);
			if (strcasecmp(config_setting_name(s), "dn") == 0) {
				free(e->dn);
				e->dn = xstrdup(text);
			} else {
				entry_attr_add_value(a, text, strlen(text));
			}
		}
	}
	return e;
}

struct conf_sample_ctx {
	const struct cfg_ctx *cc;
	const config_setting_t *map;
	const char *where;
	char **generic;
	const struct mapping *m;
};

static bool conf_reads_generic(const struct conf_sample_ctx *sc, const char *field)
{
	for (char **g = sc->generic; g && *g; g++)
		if (mapping_field_reads(sc->m, field, *g))
			return true;
	return false;
}

static void conf_sample_field(const struct mapping_field_result *r, void *ud)
{
	struct conf_sample_ctx *sc = ud;
	if (!r->reason)
		return;
	const config_setting_t *s = config_setting_get_member(sc->map, r->name);
	cfg_error(sc->cc, s ? s : sc->map, "%s: map.%s: with the sample entry: %s%s", sc->where, r->name, r->reason,
		  conf_reads_generic(sc, r->name)
			  ? " (the sample has no realistic value for an attribute this reads; give one in "
			    "sample_entry)"
			  : "");
}

void conf_check_map_sample(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   const struct mapping *m, const struct entry *overrides)
{
	char **generic = NULL;
	struct entry *e = sample_entry_new(m, overrides, &generic);
	struct conf_sample_ctx sc = { cc, config_setting_get_member(target, "map"), where, generic, m };
	mapping_explain(m, e, conf_sample_field, &sc);
	strv_free(generic);
	entry_free(e);
}
