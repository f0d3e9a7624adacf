/* Static header authentication: a key from a secret file in one header,
 * raw ("Authorization: <key>", Rainbond), with a scheme ("Authorization:
 * Bearer <key>", type "bearer"), or under its own name ("X-API-Key"). */
#include "config.h"

#include "targets/auth.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct auth_header_conf {
	char *header;
	char *scheme;
	struct secret *key;
};

static const struct cfg_key auth_header_keys[] = {
	{ "key_file", CFG_T_STRING, CFG_REQUIRED },
	{ "header", CFG_T_STRING, 0 },
	{ "scheme", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

/* RFC 7230 token characters: anything else would break the header. */
static bool auth_token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static void auth_header_free_config(void *conf)
{
	struct auth_header_conf *c = conf;
	if (!c)
		return;
	free(c->header);
	free(c->scheme);
	secret_free(c->key);
	free(c);
}

static void *auth_header_configure_as(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				      const char *config_dir, const char *def_header, const char *def_scheme)
{
	struct auth_header_conf *c = XNEW(struct auth_header_conf);
	bool ok = true;
	c->header = xstrdup(cfg_string(g, "header", def_header));
	c->scheme = xstrdup(cfg_string(g, "scheme", def_scheme));
	if (!auth_token_ok(c->header)) {
		cfg_error(cc, config_setting_get_member(g, "header"), "%s.header: '%s' is not a valid header name",
			  where, c->header);
		ok = false;
	}
	if (*c->scheme && !auth_token_ok(c->scheme)) {
		cfg_error(cc, config_setting_get_member(g, "scheme"), "%s.scheme: '%s' is not a valid scheme", where,
			  c->scheme);
		ok = false;
	}
	if (config_setting_get_member(g, "key_file") &&
	    auth_read_secret(cc, g, where, "key_file", config_dir, &c->key) < 0)
		ok = false;
	if (!ok || !c->key) {
		auth_header_free_config(c);
		return NULL;
	}
	return c;
}

static void *auth_header_configure(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				   const char *config_dir, const struct auth_defaults *def)
{
	return auth_header_configure_as(cc, g, where, config_dir,
					def && def->header ? def->header : "Authorization",
					def && def->scheme ? def->scheme : "");
}

static void *auth_bearer_configure(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				   const char *config_dir, const struct auth_defaults *def)
{
	return auth_header_configure_as(cc, g, where, config_dir, "Authorization", "Bearer");
}

static int auth_header_apply(const void *conf, void *session, struct http_request *req, int64_t now)
{
	const struct auth_header_conf *c = conf;
	if (*c->scheme)
		http_request_add_header(req, "%s: %s %s", c->header, c->scheme, c->key->value);
	else
		http_request_add_header(req, "%s: %s", c->header, c->key->value);
	return 0;
}

const struct auth_provider auth_provider_header = {
	.type = "header",
	.summary = "a key from a file in one header (raw, with a scheme, or under its own name)",
	.keys = auth_header_keys,
	.configure = auth_header_configure,
	.free_config = auth_header_free_config,
	.apply = auth_header_apply,
};

const struct auth_provider auth_provider_bearer = {
	.type = "bearer",
	.summary = "Authorization: Bearer <key from a file>",
	.keys = auth_header_keys,
	.configure = auth_bearer_configure,
	.free_config = auth_header_free_config,
	.apply = auth_header_apply,
};
