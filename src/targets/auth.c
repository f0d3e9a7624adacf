#include "config.h"

#include "targets/auth.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct auth_header {
	char *header;
	char *scheme;
	struct secret *key;
};

const struct cfg_key auth_header_keys[] = {
	{ "key_file", CFG_T_STRING, CFG_REQUIRED },
	{ "header", CFG_T_STRING, 0 },
	{ "scheme", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

static bool auth_token_ok(const char *s)
{
	/* RFC 7230 token characters: anything else would break the header. */
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

struct auth_header *auth_header_configure(const struct cfg_ctx *cc, const config_setting_t *target,
					  const char *where, const char *config_dir,
					  const char *default_header, const char *default_scheme)
{
	const config_setting_t *g = config_setting_get_member(target, "auth");
	/* Whether auth is required is the driver's key table's business; it
	 * has reported a missing one already. */
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
		return NULL;
	char *gwhere = xasprintf("%s: auth", where);
	const struct cfg_key *const tables[] = { auth_header_keys, NULL };
	struct auth_header *a = NULL;
	size_t errors = cfg_check_group(cc, g, gwhere, tables);

	const char *header = cfg_string(g, "header", default_header);
	const char *scheme = cfg_string(g, "scheme", default_scheme);
	if (!auth_token_ok(header)) {
		cfg_error(cc, config_setting_get_member(g, "header"), "%s.header: '%s' is not a valid header name",
			  gwhere, header);
		errors++;
	}
	if (*scheme && !auth_token_ok(scheme)) {
		cfg_error(cc, config_setting_get_member(g, "scheme"), "%s.scheme: '%s' is not a valid scheme",
			  gwhere, scheme);
		errors++;
	}
	const char *path = cfg_string(g, "key_file", NULL);
	struct secret *key = NULL;
	if (path) {
		char *err = NULL;
		int world = 0;
		const config_setting_t *ks = config_setting_get_member(g, "key_file");
		if (secret_read(path, config_dir, &key, &err, &world) < 0) {
			cfg_error(cc, ks, "%s.key_file: %s", gwhere, err);
			free(err);
			errors++;
		} else if (world) {
			cfg_warning(cc, ks, "%s.key_file: %s is readable by every user; chmod 600 it", gwhere,
				    key->path);
		}
	}
	if (errors == 0) {
		a = XNEW(struct auth_header);
		a->header = xstrdup(header);
		a->scheme = xstrdup(scheme);
		a->key = key;
		key = NULL;
	}
	secret_free(key);
	free(gwhere);
	return a;
}

void auth_header_free(struct auth_header *a)
{
	if (!a)
		return;
	free(a->header);
	free(a->scheme);
	secret_free(a->key);
	free(a);
}

void auth_header_apply(const struct auth_header *a, struct http_request *req)
{
	if (*a->scheme)
		http_request_add_header(req, "%s: %s %s", a->header, a->scheme, a->key->value);
	else
		http_request_add_header(req, "%s: %s", a->header, a->key->value);
}
