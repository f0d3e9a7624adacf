#include "config.h"

#include "config/conf_private.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cfg_key source_keys[] = {
	{ "uri", CFG_T_STRINGS, CFG_REQUIRED },
	{ "starttls", CFG_T_BOOL, 0 },
	{ "tls_verify", CFG_T_BOOL, 0 },
	{ "ca_file", CFG_T_STRING, 0 },
	{ "ca_dir", CFG_T_STRING, 0 },
	{ "client_cert_file", CFG_T_STRING, 0 },
	{ "client_key_file", CFG_T_STRING, 0 },
	{ "bind_method", CFG_T_STRING, 0 },
	{ "bind_dn", CFG_T_STRING, 0 },
	{ "bind_password_file", CFG_T_STRING, 0 },
	{ "sasl_authzid", CFG_T_STRING, 0 },
	{ "sasl_secprops", CFG_T_STRING, 0 },
	{ "keytab_file", CFG_T_STRING, 0 },
	{ "allow_plaintext_bind", CFG_T_BOOL, 0 },
	{ "follow_referrals", CFG_T_BOOL, 0 },
	{ "base", CFG_T_STRING, CFG_REQUIRED },
	{ "scope", CFG_T_STRING, 0 },
	{ "filter", CFG_T_STRING, 0 },
	{ "attributes", CFG_T_STRINGS, 0 },
	{ "id_attribute", CFG_T_STRING, 0 },
	{ "page_size", CFG_T_INT, 0 },
	{ "network_timeout", CFG_T_INT, 0 },
	{ "timeout", CFG_T_INT, 0 },
	{ "poll_interval", CFG_T_INT, 0 },
	{ "detect_disabled", CFG_T_BOOL, 0 },
	{ "disabled_filter", CFG_T_STRING, 0 },
	{ "change_detection", CFG_T_STRING, 0 },
	{ "syncrepl_persist", CFG_T_BOOL, 0 },
	{ "full_sync_interval", CFG_T_INT, 0 },
	{ "groups", CFG_T_GROUP, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_key group_keys[] = {
	{ "base", CFG_T_STRING, CFG_REQUIRED },
	{ "scope", CFG_T_STRING, 0 },
	{ "filter", CFG_T_STRING, 0 },
	{ "name_attribute", CFG_T_STRING, 0 },
	{ "member_attributes", CFG_T_STRINGS, 0 },
	{ "uid_attribute", CFG_T_STRING, 0 },
	{ "nested", CFG_T_BOOL, 0 },
	{ "in_chain", CFG_T_BOOL, 0 },
	{ NULL, 0, 0 },
};

/* What directories use for groups: OpenLDAP/389 groupOfNames,
 * groupOfUniqueNames and posixGroup, Active Directory group. */
#define CONF_DEFAULT_GROUP_FILTER \
	"(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))"

bool conf_strv_contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], s) == 0)
			return true;
	return false;
}

void conf_strv_add_unique(char ***v, size_t *n, const char *s)
{
	if (conf_strv_contains(*v, *n, s))
		return;
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

bool conf_filter_plausible(const char *f)
{
	size_t len = strlen(f);
	int depth = 0;
	if (len < 3 || f[0] != '(' || f[len - 1] != ')')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (f[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (f[i] == '(')
			depth++;
		else if (f[i] == ')' && --depth < 0)
			return false;
		if (depth == 0 && i + 1 < len)
			return false;
	}
	return depth == 0;
}

static const config_setting_t *conf_member(const config_setting_t *g, const char *name)
{
	return config_setting_get_member(g, name);
}

static enum conf_scope conf_scope_parse(const struct cfg_ctx *cc, const config_setting_t *g, const char *where)
{
	const char *scope = cfg_string(g, "scope", "sub");
	if (strcmp(scope, "sub") == 0)
		return CONF_SCOPE_SUB;
	if (strcmp(scope, "one") == 0)
		return CONF_SCOPE_ONE;
	if (strcmp(scope, "base") == 0)
		return CONF_SCOPE_BASE;
	cfg_error(cc, conf_member(g, "scope"), "%s: scope must be sub, one or base, not '%s'", where, scope);
	return CONF_SCOPE_SUB;
}

static char *conf_dn(const struct cfg_ctx *cc, const config_setting_t *g, const char *where, const char *key)
{
	const char *v = cfg_string(g, key, "");
	if (conf_member(g, key)) {
		LDAPDN dn = NULL;
		if (ldap_str2dn(v, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
			cfg_error(cc, conf_member(g, key), "%s: %s '%s' is not a valid DN", where, key, v);
		ldap_dnfree(dn);
	}
	return xstrdup(v);
}

static char *conf_filter(const struct cfg_ctx *cc, const config_setting_t *g, const char *where, const char *key,
			 const char *def)
{
	const char *f = cfg_string(g, key, def);
	if (!f)
		return NULL;
	if (!conf_filter_plausible(f))
		cfg_error(cc, conf_member(g, key), "%s: %s '%s' is not a valid LDAP filter (unbalanced parentheses?)",
			  where, key, f);
	return xstrdup(f);
}

/* A file that libldap or Kerberos opens itself: resolved like secrets
 * (systemd credentials first), checked now so a typo fails at load. */
static char *conf_file(const struct cfg_ctx *cc, const config_setting_t *g, const char *key, const char *dir,
		       bool secret, bool directory)
{
	const char *v = cfg_string(g, key, NULL);
	if (!v)
		return NULL;
	char *path = secret ? secret_resolve(v, dir) : v[0] == '/' ? xstrdup(v) : xasprintf("%s/%s", dir, v);
	struct stat st;
	const config_setting_t *s = conf_member(g, key);
	if (stat(path, &st) < 0)
		/* NOLINTNEXTLINE(bugprone-branch-clone): stat and access failures read the same, checked apart */
		cfg_error(cc, s, "source: %s %s: %s", key, path, strerror(errno));
	else if (directory && !S_ISDIR(st.st_mode))
		cfg_error(cc, s, "source: %s %s is not a directory", key, path);
	else if (access(path, R_OK | (directory ? X_OK : 0)) < 0)
		cfg_error(cc, s, "source: %s %s: %s", key, path, strerror(errno));
	else if (!directory && !S_ISREG(st.st_mode))
		cfg_error(cc, s, "source: %s %s is not a regular file", key, path);
	else if (secret && (st.st_mode & S_IROTH))
		cfg_warning(cc, s, "source: %s %s is readable by every user; chmod 600 it", key, path);
	return path;
}

static void conf_load_uris(const struct cfg_ctx *cc, const config_setting_t *g, struct conf_source *src,
			   bool *any_plain, bool *any_ldapi)
{
	const config_setting_t *s = conf_member(g, "uri");
	src->uris = cfg_strings(g, "uri", &src->n_uris);
	for (size_t i = 0; i < src->n_uris; i++) {
		LDAPURLDesc *lud = NULL;
		/* libldap takes "ldap://ldap 2.example.org" as two URIs. */
		if (src->uris[i][strcspn(src->uris[i], " \t\r\n")]) {
			cfg_error(cc, s, "source: uri '%s' contains a space; give several URIs as a list "
					 "( \"ldaps://a\", \"ldaps://b\" )",
				  src->uris[i]);
		} else if (ldap_url_parse(src->uris[i], &lud) != LDAP_URL_SUCCESS) {
			cfg_error(cc, s, "source: uri '%s' is not an LDAP URI (ldap://host:port, ldaps://host)",
				  src->uris[i]);
		} else if (strcasecmp(lud->lud_scheme, "ldap") != 0 && strcasecmp(lud->lud_scheme, "ldaps") != 0 &&
			   strcasecmp(lud->lud_scheme, "ldapi") != 0) {
			cfg_error(cc, s, "source: uri has unsupported scheme '%s'", lud->lud_scheme);
		} else if (strcasecmp(lud->lud_scheme, "ldap") == 0) {
			*any_plain = true;
		} else if (strcasecmp(lud->lud_scheme, "ldapi") == 0) {
			*any_ldapi = true;
		}
		ldap_free_urldesc(lud);
	}
	if (src->n_uris == 0 && s)
		cfg_error(cc, s, "source: uri is empty");
}

static void conf_load_tls(const struct cfg_ctx *cc, const config_setting_t *g, const char *dir,
			  struct conf_source *src)
{
	src->starttls = cfg_bool(g, "starttls", false);
	src->tls_verify = cfg_bool(g, "tls_verify", true);
	if (!src->tls_verify)
		cfg_warning(cc, conf_member(g, "tls_verify"),
			    "source: tls_verify = false: the directory's certificate is not checked, so anyone "
			    "on the network path can impersonate it");
	src->ca_file = conf_file(cc, g, "ca_file", dir, false, false);
	src->ca_dir = conf_file(cc, g, "ca_dir", dir, false, true);
	src->client_cert_file = conf_file(cc, g, "client_cert_file", dir, false, false);
	src->client_key_file = conf_file(cc, g, "client_key_file", dir, true, false);
	if (!src->client_cert_file != !src->client_key_file)
		cfg_error(cc, conf_member(g, src->client_cert_file ? "client_cert_file" : "client_key_file"),
			  "source: client_cert_file and client_key_file go together");
}

static void conf_load_bind(const struct cfg_ctx *cc, const config_setting_t *g, const char *dir,
			   struct conf_source *src, bool any_plain, bool any_ldapi)
{
	const char *bind_dn = cfg_string(g, "bind_dn", NULL);
	const char *pw_file = cfg_string(g, "bind_password_file", NULL);
	/* A password file says "simple" as clearly as a bind DN does. */
	const char *method = cfg_string(g, "bind_method", bind_dn || pw_file ? "simple" : "anonymous");
	const config_setting_t *ms = conf_member(g, "bind_method");

	if (strcmp(method, "simple") == 0) {
		src->bind_method = CONF_BIND_SIMPLE;
	} else if (strcmp(method, "anonymous") == 0) {
		src->bind_method = CONF_BIND_ANONYMOUS;
	} else if (strcmp(method, "sasl-external") == 0) {
		src->bind_method = CONF_BIND_SASL_EXTERNAL;
	} else if (strcmp(method, "sasl-gssapi") == 0) {
		src->bind_method = CONF_BIND_SASL_GSSAPI;
	} else {
		cfg_error(cc, ms, "source: bind_method must be simple, anonymous, sasl-external or sasl-gssapi, not '%s'",
			  method);
		return;
	}

	bool simple = src->bind_method == CONF_BIND_SIMPLE;
	bool sasl = src->bind_method == CONF_BIND_SASL_EXTERNAL || src->bind_method == CONF_BIND_SASL_GSSAPI;
	if (simple && !bind_dn)
		cfg_error(cc, ms ? ms : conf_member(g, "bind_password_file") ? conf_member(g, "bind_password_file") : g,
			  "source: a simple bind needs bind_dn and bind_password_file");
	if (!simple && bind_dn)
		cfg_error(cc, conf_member(g, "bind_dn"), "source: bind_dn is only used by bind_method = \"simple\"");
	if (!simple && pw_file)
		cfg_error(cc, conf_member(g, "bind_password_file"),
			  "source: bind_password_file is only used by bind_method = \"simple\"");
	if (simple && bind_dn && !pw_file)
		cfg_error(cc, conf_member(g, "bind_dn"), "source: bind_dn is set but bind_password_file is missing");
	src->bind_dn = bind_dn && simple ? xstrdup(bind_dn) : NULL;
	if (simple && pw_file) {
		char *err = NULL;
		int world = 0;
		const config_setting_t *s = conf_member(g, "bind_password_file");
		if (secret_read(pw_file, dir, &src->bind_password, &err, &world) < 0) {
			cfg_error(cc, s, "source: bind_password_file: %s", err);
			free(err);
		} else if (world) {
			cfg_warning(cc, s, "source: bind_password_file %s is readable by every user; chmod 600 it",
				    src->bind_password->path);
		}
	}
	src->allow_plaintext_bind = cfg_bool(g, "allow_plaintext_bind", false);
	if (simple && any_plain && !src->starttls && !src->allow_plaintext_bind)
		cfg_error(cc, conf_member(g, "uri"),
			  "source: a simple bind over ldap:// without StartTLS sends the password in clear text; "
			  "set starttls = true, use ldaps://, or set allow_plaintext_bind = true if you accept that");

	const char *authzid = cfg_string(g, "sasl_authzid", NULL);
	const char *secprops = cfg_string(g, "sasl_secprops", NULL);
	if (!sasl && authzid)
		cfg_error(cc, conf_member(g, "sasl_authzid"), "source: sasl_authzid is only used by SASL binds");
	if (!sasl && secprops)
		cfg_error(cc, conf_member(g, "sasl_secprops"), "source: sasl_secprops is only used by SASL binds");
	src->sasl_authzid = authzid ? xstrdup(authzid) : NULL;
	src->sasl_secprops = secprops ? xstrdup(secprops) : NULL;

	if (src->bind_method == CONF_BIND_SASL_EXTERNAL && !src->client_cert_file && !any_ldapi &&
	    !getenv("LDAPTLS_CERT"))
		cfg_error(cc, ms, "source: bind_method = \"sasl-external\" proves who we are with a TLS client "
				  "certificate: set client_cert_file and client_key_file (or use an ldapi:// URI)");
	if (src->bind_method != CONF_BIND_SASL_GSSAPI && conf_member(g, "keytab_file"))
		cfg_error(cc, conf_member(g, "keytab_file"),
			  "source: keytab_file is only used by bind_method = \"sasl-gssapi\"");
	else
		src->keytab_file = conf_file(cc, g, "keytab_file", dir, true, false);
}

static void conf_load_groups(const struct cfg_ctx *cc, const config_setting_t *g, struct conf_groups *gr)
{
	static const struct cfg_key *const tables[] = { group_keys, NULL };
	static const char *const known[] = { "member", "uniqueMember", "memberUid", "memberOf", NULL };
	cfg_check_group(cc, g, "source.groups", tables);

	gr->enabled = true;
	gr->base = conf_dn(cc, g, "source.groups", "base");
	gr->scope = conf_scope_parse(cc, g, "source.groups");
	gr->filter = conf_filter(cc, g, "source.groups", "filter", CONF_DEFAULT_GROUP_FILTER);
	gr->name_attribute = xstrdup(cfg_string(g, "name_attribute", "cn"));
	gr->uid_attribute = xstrdup(cfg_string(g, "uid_attribute", "uid"));
	gr->nested = cfg_bool(g, "nested", true);
	gr->in_chain = conf_member(g, "in_chain") ? cfg_bool(g, "in_chain", false) : -1;

	size_t n_attrs = 0, n_member;
	char **member = cfg_strings(g, "member_attributes", &n_member);
	if (!conf_member(g, "member_attributes")) {
		strv_free(member);
		member = xcalloc(4, sizeof(char *));
		member[0] = xstrdup("member");
		member[1] = xstrdup("uniqueMember");
		member[2] = xstrdup("memberUid");
		n_member = 3;
	}
	if (n_member == 0)
		cfg_error(cc, conf_member(g, "member_attributes"), "source.groups: member_attributes is empty");
	gr->attributes = xcalloc(1, sizeof(char *));
	conf_strv_add_unique(&gr->attributes, &n_attrs, gr->name_attribute);
	for (size_t i = 0; i < n_member; i++) {
		size_t k;
		for (k = 0; known[k] && strcasecmp(known[k], member[i]) != 0; k++)
			;
		if (!known[k]) {
			cfg_error(cc, conf_member(g, "member_attributes"),
				  "source.groups: member_attributes: '%s' is not one of member, uniqueMember, "
				  "memberUid, memberOf",
				  member[i]);
			continue;
		}
		/* Groups' own memberOf says which groups they are in, too. */
		conf_strv_add_unique(&gr->attributes, &n_attrs, known[k]);
		if (k == 2)
			gr->use_member_uid = true;
		if (k == 3)
			gr->use_member_of = true;
	}
	strv_free(member);
}

static void conf_load_changes(const struct cfg_ctx *cc, const config_setting_t *g, struct conf_source *src)
{
	const char *cd = cfg_string(g, "change_detection", "auto");
	if (strcmp(cd, "auto") == 0)
		src->change_detection = CONF_CHANGES_AUTO;
	else if (strcmp(cd, "syncrepl") == 0)
		src->change_detection = CONF_CHANGES_SYNCREPL;
	else if (strcmp(cd, "usn") == 0)
		src->change_detection = CONF_CHANGES_USN;
	else if (strcmp(cd, "full") == 0)
		src->change_detection = CONF_CHANGES_FULL;
	else
		cfg_error(cc, conf_member(g, "change_detection"),
			  "source: change_detection must be auto, syncrepl, usn or full, not '%s'", cd);
	/* syncrepl names entries by entryUUID, in its messages and deletes. */
	if (src->change_detection == CONF_CHANGES_SYNCREPL && strcasecmp(src->id_attribute, "entryUUID") != 0)
		cfg_error(cc, conf_member(g, "change_detection"),
			  "source: change_detection = \"syncrepl\" identifies entries by entryUUID, but id_attribute "
			  "is %s; use id_attribute = \"entryUUID\" or another change_detection",
			  src->id_attribute);
	src->syncrepl_persist = cfg_bool(g, "syncrepl_persist", true);
	src->full_sync_interval = (int)cfg_int_range(cc, g, "source", "full_sync_interval", 86400, 0, 365 * 86400);
}

void conf_load_source(const struct cfg_ctx *cc, const config_setting_t *g, const char *dir, struct conf_source *src)
{
	static const struct cfg_key *const tables[] = { source_keys, NULL };
	bool any_plain = false, any_ldapi = false;

	cfg_check_group(cc, g, "source", tables);
	conf_load_uris(cc, g, src, &any_plain, &any_ldapi);
	conf_load_tls(cc, g, dir, src);
	conf_load_bind(cc, g, dir, src, any_plain, any_ldapi);
	src->follow_referrals = cfg_bool(g, "follow_referrals", false);

	src->base = conf_dn(cc, g, "source", "base");
	src->scope = conf_scope_parse(cc, g, "source");
	src->filter = conf_filter(cc, g, "source", "filter", "(objectClass=inetOrgPerson)");
	src->id_attribute = xstrdup(cfg_string(g, "id_attribute", "entryUUID"));
	src->page_size = (int)cfg_int_range(cc, g, "source", "page_size", 500, 0, 100000);
	src->network_timeout = (int)cfg_int_range(cc, g, "source", "network_timeout", 10, 1, 3600);
	src->timeout = (int)cfg_int_range(cc, g, "source", "timeout", 60, 1, 86400);
	src->poll_interval = (int)cfg_int_range(cc, g, "source", "poll_interval", 300, 1, 7 * 86400);
	src->detect_disabled = cfg_bool(g, "detect_disabled", true);
	src->disabled_filter = conf_filter(cc, g, "source", "disabled_filter", NULL);
	conf_load_changes(cc, g, src);

	const config_setting_t *groups = conf_member(g, "groups");
	if (groups && config_setting_type(groups) == CONFIG_TYPE_GROUP)
		conf_load_groups(cc, groups, &src->groups);

	src->attributes = xcalloc(1, sizeof(char *));
	conf_strv_add_unique(&src->attributes, &src->n_attributes, src->id_attribute);
	if (src->detect_disabled) {
		conf_strv_add_unique(&src->attributes, &src->n_attributes, "userAccountControl");
		/* Operational: returned only when asked for by name. */
		conf_strv_add_unique(&src->attributes, &src->n_attributes, "pwdAccountLockedTime");
	}
	if (src->groups.use_member_of)
		conf_strv_add_unique(&src->attributes, &src->n_attributes, "memberOf");
	if (src->groups.use_member_uid)
		conf_strv_add_unique(&src->attributes, &src->n_attributes, src->groups.uid_attribute);
	size_t n_extra;
	char **extra = cfg_strings(g, "attributes", &n_extra);
	for (size_t i = 0; i < n_extra; i++)
		conf_strv_add_unique(&src->attributes, &src->n_attributes, extra[i]);
	strv_free(extra);
}

void conf_source_clear(struct conf_source *s)
{
	strv_free(s->uris);
	free(s->ca_file);
	free(s->ca_dir);
	free(s->client_cert_file);
	free(s->client_key_file);
	free(s->bind_dn);
	secret_free(s->bind_password);
	free(s->sasl_authzid);
	free(s->sasl_secprops);
	free(s->keytab_file);
	free(s->base);
	free(s->filter);
	free(s->id_attribute);
	strv_free(s->attributes);
	free(s->disabled_filter);
	free(s->groups.base);
	free(s->groups.filter);
	free(s->groups.name_attribute);
	free(s->groups.uid_attribute);
	strv_free(s->groups.attributes);
	memset(s, 0, sizeof(*s));
}
