#include "config.h"

#include "config/cfgread.h"
#include "config/conf.h"
#include "config/conf_private.h"
#include "mapping/lookup.h"
#include "log.h"
#include "util/sbuf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cfg_key top_keys[] = {
	{ "source", CFG_T_GROUP, CFG_REQUIRED },
	{ "targets", CFG_T_GROUPS, CFG_REQUIRED },
	{ "state_dir", CFG_T_STRING, 0 },
	{ "log_level", CFG_T_STRING, 0 },
	{ "metrics_file", CFG_T_STRING, 0 },
	{ "lookups", CFG_T_GROUP, 0 },
	{ "sample_entry", CFG_T_GROUP, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_key target_keys[] = {
	{ "name", CFG_T_STRING, CFG_REQUIRED },
	{ "driver", CFG_T_STRING, CFG_REQUIRED },
	{ "url", CFG_T_STRING, CFG_REQUIRED },
	{ "map", CFG_T_GROUP, CFG_REQUIRED },
	{ "key", CFG_T_STRING, 0 },
	{ "enabled", CFG_T_BOOL, 0 },
	{ "connect_timeout", CFG_T_INT, 0 },
	{ "timeout", CFG_T_INT, 0 },
	{ "tls_verify", CFG_T_BOOL, 0 },
	{ "ca_file", CFG_T_STRING, 0 },
	{ "max_inflight", CFG_T_INT, 0 },
	{ "max_response_size", CFG_T_INT, 0 },
	{ "auth", CFG_T_GROUP, 0 },
	{ "rate_limit", CFG_T_NUMBER, 0 },
	{ "burst", CFG_T_NUMBER, 0 },
	{ "max_retries", CFG_T_INT, 0 },
	{ "retry_delay", CFG_T_NUMBER, 0 },
	{ "retry_max_delay", CFG_T_NUMBER, 0 },
	{ "max_wait", CFG_T_NUMBER, 0 },
	{ "batch_size", CFG_T_INT, 0 },
	{ "deprovision", CFG_T_STRING, 0 },
	{ "max_deprovision", CFG_T_SCALAR, 0 },
	{ "max_attempts", CFG_T_INT, 0 },
	{ "retry_backoff", CFG_T_NUMBER, 0 },
	{ "retry_backoff_max", CFG_T_NUMBER, 0 },
	{ "auth_pause", CFG_T_NUMBER, 0 },
	{ "secret_fields", CFG_T_STRINGS, 0 },
	{ "groups", CFG_T_STRINGS, 0 },
	{ "fields", CFG_T_GROUP, 0 },
	{ NULL, 0, 0 },
};

/* Keys of an unknown driver's target are not checked: we cannot know them,
 * and the unknown driver is already reported. */
static const struct cfg_key any_key_placeholder[] = { { NULL, 0, 0 } };

static double conf_number_range(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				const char *name, double def, double min, double max)
{
	double v = cfg_number(g, name, def);
	if (v < min || v > max) {
		cfg_error(cc, config_setting_get_member(g, name), "%s: %s = %g is out of range (%g to %g)", where, name,
			  v, min, max);
		return def;
	}
	return v;
}

/* A target's base URL. Never echoed: it may hold a password. */
static void conf_check_url(const struct cfg_ctx *cc, const config_setting_t *s, const char *where, const char *url)
{
	size_t scheme = strncasecmp(url, "http://", 7) == 0 ? 7 : strncasecmp(url, "https://", 8) == 0 ? 8 : 0;
	if (!scheme) {
		cfg_error(cc, s, "%s: url must start with http:// or https://", where);
		return;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			cfg_error(cc, s, "%s: url must not contain spaces or control characters (percent-encode them, "
					 "as %%20 for a space)",
				  where);
			return;
		}
	const char *host = url + scheme;
	size_t authority = strcspn(host, "/?#");
	/* curl would send user:password@ as Basic credentials, and the URL
	 * is logged: credentials belong in auth, read from a secret file. */
	if (memchr(host, '@', authority)) {
		cfg_error(cc, s, "%s: url must not contain a user name or password (user:password@host); give "
				 "credentials in auth, read from a secret file",
			  where);
		return;
	}
	if (authority == 0 || host[0] == ':')
		cfg_error(cc, s, "%s: url has no host name", where);
}

static bool conf_name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

struct conf_attr_ctx {
	const struct cfg_ctx *cc;
	const config_setting_t *target;
	const char *where;
	struct conf_source *src;
	bool reported;
};

static void conf_collect_attr(const char *attr, void *ud)
{
	struct conf_attr_ctx *a = ud;
	if (strcasecmp(attr, "dn") == 0)
		return;
	if (strcasecmp(attr, CONF_ATTR_GROUPS) == 0 || strcasecmp(attr, CONF_ATTR_GROUP_DNS) == 0) {
		/* Filled in from the group index, never read from entries. */
		if (!a->src->groups.enabled && !a->reported) {
			cfg_error(a->cc, config_setting_get_member(a->target, "map"),
				  "%s: map reads '%s' (directly, or through is_member_of), which comes from "
				  "source.groups, but there is no source.groups block",
				  a->where, attr);
			a->reported = true;
		}
		return;
	}
	conf_strv_add_unique(&a->src->attributes, &a->src->n_attributes, attr);
}

static void conf_hash_setting(struct hash_ctx *h, const config_setting_t *s)
{
	char num[32];
	hash_update_str(h, config_setting_name(s));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		hash_update_str(h, config_setting_get_string(s));
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(num, sizeof(num), "%lld", (long long)config_setting_get_int64(s));
		hash_update_str(h, num);
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(num, sizeof(num), "%.17g", config_setting_get_float(s));
		hash_update_str(h, num);
		break;
	case CONFIG_TYPE_BOOL:
		hash_update_str(h, config_setting_get_bool(s) ? "true" : "false");
		break;
	default:
		for (int i = 0; i < config_setting_length(s); i++)
			conf_hash_setting(h, config_setting_get_elem(s, (unsigned)i));
		hash_update_str(h, "end");
	}
}

static void conf_target_fingerprint(const config_setting_t *g, struct conf_target *t)
{
	static const char *const keys[] = { "driver", "map", "key", "secret_fields", "groups", "fields", NULL };
	struct hash_ctx *h = hash_begin();
	hash_update_str(h, t->name);
	for (size_t i = 0; keys[i]; i++) {
		const config_setting_t *s = config_setting_get_member(g, keys[i]);
		if (s)
			conf_hash_setting(h, s);
	}
	hash_end(h, t->fingerprint);
}

/* lookups: the tables maps read (NULL when none). */
static void conf_fingerprint(struct conf *c, const config_setting_t *lookups)
{
	const struct conf_source *s = &c->source;
	struct hash_ctx *h = hash_begin();
	char num[16];
	hash_update_str(h, s->base);
	snprintf(num, sizeof(num), "%d", (int)s->scope);
	hash_update_str(h, num);
	hash_update_str(h, s->filter);
	hash_update_str(h, s->id_attribute);
	for (size_t i = 0; i < s->n_attributes; i++)
		hash_update_str(h, s->attributes[i]);
	hash_update_str(h, s->detect_disabled ? "disabled" : "");
	hash_update_str(h, s->disabled_filter);
	if (s->groups.enabled) {
		hash_update_str(h, s->groups.base);
		hash_update_str(h, s->groups.filter);
		hash_update_str(h, s->groups.name_attribute);
		for (char **a = s->groups.attributes; a && *a; a++)
			hash_update_str(h, *a);
		hash_update_str(h, s->groups.nested ? "nested" : "flat");
	}
	for (size_t i = 0; i < c->n_targets; i++)
		if (c->targets[i]->enabled)
			hash_update_str(h, c->targets[i]->fingerprint);
	if (lookups)
		conf_hash_setting(h, lookups);
	hash_end(h, c->fingerprint);
}

/* max_deprovision: a count (20) or a share of the members ("5%"). */
static void conf_max_deprovision(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				 struct conf_target *t)
{
	const config_setting_t *s = config_setting_get_member(g, "max_deprovision");
	t->max_deprovision = 5;
	t->max_deprovision_percent = true;
	if (!s)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long n = config_setting_get_int64(s);
		if (n < 0 || n > 100000000)
			goto bad;
		t->max_deprovision = (double)n;
		t->max_deprovision_percent = false;
		return;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);
		char *end;
		errno = 0;
		double pct = strtod(v, &end);
		if (end != v && errno == 0 && strcmp(end, "%") == 0 && pct >= 0 && pct <= 100) {
			t->max_deprovision = pct;
			return;
		}
	}
bad:
	cfg_error(cc, s, "%s: max_deprovision must be a count (e.g. 20) or a percentage of the target's members "
			 "as a string (e.g. \"5%%\")",
		  where);
}

static const char *const conf_deprovision_names[] = { "none", "disable", "delete", NULL };

/* deprovision = none | disable | delete, and only what the driver can. */
static void conf_deprovision(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
			     struct conf_target *t)
{
	const config_setting_t *s = config_setting_get_member(g, "deprovision");
	const char *v = cfg_string(g, "deprovision", "none");
	int i = 0;
	while (conf_deprovision_names[i] && strcmp(conf_deprovision_names[i], v) != 0)
		i++;
	if (!conf_deprovision_names[i]) {
		cfg_error(cc, s, "%s: deprovision must be \"none\", \"disable\" or \"delete\", not \"%s\"", where, v);
		return;
	}
	t->deprovision = (enum conf_deprovision)i;
	enum push_op op = t->deprovision == CONF_DEPROVISION_DISABLE ? OP_DISABLE : OP_DELETE;
	if (t->deprovision != CONF_DEPROVISION_NONE && t->driver && !(t->ops & OP_BIT(op)))
		cfg_error(cc, s, "%s: the %s driver cannot %s members (%s)", where, t->driver->name, push_op_name(op),
			  t->ops & OP_BIT(OP_DISABLE)   ? "use deprovision = \"disable\""
			  : t->ops & OP_BIT(OP_DELETE) ? "use deprovision = \"delete\""
						       : "its API has no such call as configured");
}

static void conf_free_target(struct conf_target *t)
{
	if (!t)
		return;
	if (t->driver && t->driver->free_config)
		t->driver->free_config(t->driver_conf);
	auth_free(t->auth);
	mapping_free(t->mapping);
	strv_free(t->groups);
	free(t->name);
	free(t->url);
	free(t->ca_file);
	free(t);
}

/* tls_verify and ca_file: a private CA is trusted by naming it, never by
 * turning checks off; turning them off is allowed (test setups) but said
 * at every load. ca_file is checked now so that a typo fails with a
 * file:line rather than as a TLS error at the first request. */
static void conf_target_tls(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
			    const char *dir, struct conf_target *t)
{
	t->tls_verify = cfg_bool(g, "tls_verify", true);
	if (!t->tls_verify)
		cfg_warning(cc, config_setting_get_member(g, "tls_verify"),
			    "%s: tls_verify = false: the API's certificate is not checked, so anyone on the network "
			    "path can impersonate it and read the credentials sent to it",
			    where);
	const char *ca = cfg_string(g, "ca_file", NULL);
	if (!ca)
		return;
	const config_setting_t *s = config_setting_get_member(g, "ca_file");
	t->ca_file = ca[0] == '/' ? xstrdup(ca) : xasprintf("%s/%s", dir, ca);
	struct stat st;
	if (stat(t->ca_file, &st) < 0 || access(t->ca_file, R_OK) < 0)
		cfg_error(cc, s, "%s: ca_file %s: %s", where, t->ca_file, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_error(cc, s, "%s: ca_file %s is not a regular file", where, t->ca_file);
}

static struct conf_target *conf_load_target(const struct cfg_ctx *cc, const config_setting_t *g, int index,
					    const char *dir, const struct mexpr_env *env)
{
	struct conf_target *t = XNEW(struct conf_target);
	const char *name = cfg_string(g, "name", NULL);
	char *where = name && *name ? xasprintf("target %s", name) : xasprintf("targets[%d]", index);
	const char *dname = cfg_string(g, "driver", NULL);
	const struct target_driver *drv = dname ? driver_find(dname) : NULL;
	size_t errors_before = cc->diag->errors;

	const struct cfg_key *const tables[] = { target_keys, drv && drv->keys ? drv->keys : any_key_placeholder, NULL };
	if (drv || !dname)
		cfg_check_group(cc, g, where, tables);

	if (name && !conf_name_ok(name))
		cfg_error(cc, config_setting_get_member(g, "name"),
			  "%s: name may only use letters, digits, '-', '_' and '.' (at most 64)", where);
	if (dname && !drv) {
		struct sbuf sb;
		sbuf_init(&sb);
		const char *best = NULL;
		size_t best_d = 3;
		for (const struct target_driver *const *d = driver_list(); *d; d++) {
			sbuf_addf(&sb, "%s%s", sb.len ? ", " : "", (*d)->name);
			str_suggest_consider(dname, (*d)->name, &best, &best_d);
		}
		cfg_error(cc, config_setting_get_member(g, "driver"), "%s: unknown driver '%s'%s%s%s (known: %s)",
			  where, dname, best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "", sb.buf);
		sbuf_release(&sb);
	}
	t->name = xstrdup(name ? name : "");
	t->driver = drv;
	const char *url = cfg_string(g, "url", NULL);
	t->url = xstrdup(url ? url : "");
	if (url)
		conf_check_url(cc, config_setting_get_member(g, "url"), where, url);
	t->enabled = cfg_bool(g, "enabled", true);
	t->connect_timeout_ms = 1000 * cfg_int_range(cc, g, where, "connect_timeout", 10, 1, 600);
	t->timeout_ms = 1000 * cfg_int_range(cc, g, where, "timeout", 30, 1, 3600);
	conf_target_tls(cc, g, where, dir, t);
	t->max_inflight = (unsigned)cfg_int_range(cc, g, where, "max_inflight", 4, 1, 256);
	t->max_response = (size_t)cfg_int_range(cc, g, where, "max_response_size", 1048576, 1024, 64 << 20);

	t->rate_limit = conf_number_range(cc, g, where, "rate_limit", drv ? drv->default_rate_limit : 0, 0, 100000);
	/* Evenly spaced by default: an API that counts requests in a sliding
	 * second refuses a bucket's worth sent at once on top of the steady rate. */
	t->burst = conf_number_range(cc, g, where, "burst", 1, 0, 100000);
	t->max_retries = (unsigned)cfg_int_range(cc, g, where, "max_retries", 5, 0, 100);
	t->retry_delay = conf_number_range(cc, g, where, "retry_delay", 1, 0.001, 3600);
	t->retry_max_delay = conf_number_range(cc, g, where, "retry_max_delay", 60, 0.001, 86400);
	t->max_wait = conf_number_range(cc, g, where, "max_wait", 300, 0, 86400);
	if (drv && drv->max_batch > 1)
		t->batch_size = (unsigned)cfg_int_range(cc, g, where, "batch_size", drv->max_batch, 1, drv->max_batch);
	else if (config_setting_get_member(g, "batch_size"))
		cfg_error(cc, config_setting_get_member(g, "batch_size"), "%s: the %s driver does not batch adds",
			  where, drv ? drv->name : "?");
	t->groups = cfg_strings(g, "groups", &t->n_groups);
	for (size_t i = 0; i < t->n_groups; i++) {
		LDAPDN dn = NULL;
		const config_setting_t *gs = config_setting_get_member(g, "groups");
		if (!t->groups[i][0])
			cfg_error(cc, gs, "%s: groups: an empty group name", where);
		else if (strchr(t->groups[i], '=') &&
			 ldap_str2dn(t->groups[i], &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
			cfg_error(cc, gs, "%s: groups: '%s' is not a valid DN (a name without '=' is matched against "
					  "the groups' names)",
				  where, t->groups[i]);
		ldap_dnfree(dn);
	}
	if (config_setting_get_member(g, "groups") && t->n_groups == 0)
		cfg_error(cc, config_setting_get_member(g, "groups"), "%s: groups is empty", where);
	if (drv) {
		t->mapping = conf_load_map(cc, g, where, drv, env);
		if (drv->auth_required && !config_setting_get_member(g, "auth"))
			cfg_error(cc, g, "%s: required key 'auth' is missing", where);
		t->auth = auth_configure(cc, g, where, dir, &drv->auth);
		if (drv->configure)
			t->driver_conf = drv->configure(cc, g, where, dir);
		/* A driver config with errors is NULL; the target is dropped
		 * below anyway. */
		t->ops = !drv->configure || t->driver_conf ? driver_ops(drv, t->driver_conf) : OP_BIT(OP_ADD);
	}
	conf_deprovision(cc, g, where, t);
	conf_max_deprovision(cc, g, where, t);
	t->max_attempts = (unsigned)cfg_int_range(cc, g, where, "max_attempts", 5, 1, 1000);
	t->retry_backoff = conf_number_range(cc, g, where, "retry_backoff", 60, 0, 86400);
	t->retry_backoff_max = conf_number_range(cc, g, where, "retry_backoff_max", 21600, 0, 30 * 86400);
	t->auth_pause = conf_number_range(cc, g, where, "auth_pause", 600, 0, 86400);
	free(where);
	if (cc->diag->errors != errors_before) {
		conf_free_target(t);
		return NULL;
	}
	conf_target_fingerprint(g, t);
	return t;
}

/* Names key the state cache and the logs, so they must be unique; checked
 * over the raw list so a duplicate is reported even when either target
 * has other errors. */
static void conf_check_unique_names(const struct cfg_ctx *cc, const config_setting_t *targets)
{
	int n = config_setting_length(targets);
	for (int i = 0; i < n; i++) {
		const char *name = cfg_string(config_setting_get_elem(targets, (unsigned)i), "name", NULL);
		for (int j = 0; name && j < i; j++) {
			const char *other = cfg_string(config_setting_get_elem(targets, (unsigned)j), "name", NULL);
			if (other && strcmp(name, other) == 0) {
				cfg_error(cc, config_setting_get_member(config_setting_get_elem(targets, (unsigned)i), "name"),
					  "target name '%s' is used twice", name);
				break;
			}
		}
	}
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	conf_source_clear(&c->source);
	for (size_t i = 0; i < c->n_targets; i++)
		conf_free_target(c->targets[i]);
	free(c->targets);
	/* After the targets: their expressions point into the tables. */
	mlookups_free(c->lookups);
	entry_free(c->sample);
	free(c->state_dir);
	free(c->metrics_file);
	free(c->path);
	free(c->dir);
	free(c);
}

int conf_load(const char *path, struct conf **out, struct diag *d)
{
	return conf_load_ext(path, 0, out, d);
}

int conf_load_ext(const char *path, unsigned flags, struct conf **out, struct diag *d)
{
	config_t lc;
	struct conf *c = XNEW(struct conf);
	struct cfg_ctx cc = { .file = path, .diag = d };
	size_t errors_before = d->errors;
	int r = 0;

	*out = NULL;
	c->path = xstrdup(path);
	char *tmp = xstrdup(path);
	c->dir = xstrdup(dirname(tmp));
	free(tmp);

	config_init(&lc);
	config_set_include_dir(&lc, c->dir);
	/* What libconfig misses or words unclearly, before it parses. */
	if (cfg_prescan(path, c->dir, d) > 0) {
		r = -EINVAL;
		goto out;
	}
	if (!config_read_file(&lc, path)) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO && !config_error_file(&lc)) {
			diag_error(d, path, 0, "cannot read the configuration file: %s", strerror(errno));
		} else {
			const char *file = config_error_file(&lc) ? config_error_file(&lc) : path;
			char *hint = cfg_syntax_hint(file, config_error_line(&lc), config_error_text(&lc));
			diag_error(d, file, config_error_line(&lc), "%s%s%s%s", config_error_text(&lc),
				   hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
			free(hint);
		}
		r = -EINVAL;
		goto out;
	}

	const config_setting_t *root = config_root_setting(&lc);
	static const struct cfg_key *const tables[] = { top_keys, NULL };
	cfg_check_group(&cc, root, "top level", tables);

	const char *level = cfg_string(root, "log_level", "info");
	c->log_priority = log_priority_from_name(level);
	if (c->log_priority < 0) {
		cfg_error(&cc, config_setting_get_member(root, "log_level"),
			  "log_level must be debug, info, notice, warning or error, not '%s'", level);
		c->log_priority = LOG_INFO;
	}
	/* systemd may list several StateDirectory= paths, colon-separated;
	 * ours is the first. */
	const char *state_env = getenv("STATE_DIRECTORY");
	if (state_env && *state_env)
		c->state_dir = xstrndup(state_env, strcspn(state_env, ":"));
	else
		c->state_dir = xstrdup(CONF_DEFAULT_STATE_DIR);
	const char *state_dir = cfg_string(root, "state_dir", NULL);
	if (state_dir && state_dir[0] != '/') {
		cfg_error(&cc, config_setting_get_member(root, "state_dir"),
			  "state_dir must be an absolute path, not '%s'", state_dir);
	} else if (state_dir) {
		free(c->state_dir);
		c->state_dir = xstrdup(state_dir);
	}
	/* Prometheus textfile: written whole to a temporary file next to it,
	 * then renamed, so the directory must be given and writable. */
	const char *metrics = cfg_string(root, "metrics_file", NULL);
	size_t mlen = metrics ? strlen(metrics) : 0;
	if (metrics && (metrics[0] != '/' || metrics[mlen - 1] == '/')) {
		cfg_error(&cc, config_setting_get_member(root, "metrics_file"),
			  "metrics_file must be the absolute path of a file, not '%s'", metrics);
	} else if (metrics) {
		c->metrics_file = xstrdup(metrics);
	}

	const config_setting_t *src = config_setting_get_member(root, "source");
	if (src && config_setting_type(src) == CONFIG_TYPE_GROUP)
		conf_load_source(&cc, src, c->dir, &c->source);

	c->lookups = conf_load_lookups(&cc, root);
	const struct mexpr_env env = { .lookups = c->lookups };
	c->sample = conf_load_sample_overrides(&cc, root);

	const config_setting_t *targets = config_setting_get_member(root, "targets");
	if (targets && config_setting_type(targets) == CONFIG_TYPE_LIST) {
		int n = config_setting_length(targets);
		if (n == 0)
			cfg_error(&cc, targets, "targets: the list is empty; configure at least one target");
		conf_check_unique_names(&cc, targets);
		for (int i = 0; i < n; i++) {
			const config_setting_t *g = config_setting_get_elem(targets, (unsigned)i);
			if (config_setting_type(g) != CONFIG_TYPE_GROUP)
				continue;
			struct conf_target *t = conf_load_target(&cc, g, i, c->dir, &env);
			if (!t)
				continue;
			char *where = xasprintf("target %s", t->name);
			if (flags & CONF_LOAD_CHECK_SAMPLES)
				conf_check_map_sample(&cc, g, where, t->mapping, c->sample);
			c->targets = xreallocarray(c->targets, c->n_targets + 1, sizeof(*c->targets));
			c->targets[c->n_targets++] = t;
			if (t->enabled) {
				struct conf_attr_ctx ac = { &cc, g, where, &c->source, false };
				mapping_foreach_attr(t->mapping, conf_collect_attr, &ac);
			}
			free(where);
			if (t->n_groups && !c->source.groups.enabled)
				cfg_error(&cc, config_setting_get_member(g, "groups"),
					  "target %s: groups needs a source.groups block saying where groups are",
					  t->name);
		}
	}
	if (d->errors != errors_before)
		r = -EINVAL;
	else
		conf_fingerprint(c, config_setting_get_member(root, "lookups"));
out:
	config_destroy(&lc);
	if (r < 0) {
		conf_free(c);
		return r;
	}
	*out = c;
	return 0;
}

const struct conf_target *conf_find_target(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_targets; i++)
		if (strcmp(c->targets[i]->name, name) == 0)
			return c->targets[i];
	return NULL;
}

char *conf_state_path(const struct conf *c)
{
	return xasprintf("%s/state.db", c->state_dir);
}
