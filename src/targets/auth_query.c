/* Query-string authentication: the key from a secret file as a URL
 * parameter (?access_token=...), for APIs that take no header. */
#include "config.h"

#include "http/encode.h"
#include "targets/auth.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct auth_query_conf {
	char *param;
	struct secret *key;
};

static const struct cfg_key auth_query_keys[] = {
	{ "key_file", CFG_T_STRING, CFG_REQUIRED },
	{ "param", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

static void auth_query_free_config(void *conf)
{
	struct auth_query_conf *c = conf;
	if (!c)
		return;
	free(c->param);
	secret_free(c->key);
	free(c);
}

static void *auth_query_configure(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
				  const char *config_dir, const struct auth_defaults *def)
{
	struct auth_query_conf *c = XNEW(struct auth_query_conf);
	c->param = xstrdup(cfg_string(g, "param", def && def->param ? def->param : "access_token"));
	if (!config_setting_get_member(g, "key_file") ||
	    auth_read_secret(cc, g, where, "key_file", config_dir, &c->key) < 0) {
		auth_query_free_config(c);
		return NULL;
	}
	return c;
}

static int auth_query_apply(const void *conf, void *session, struct http_request *req, int64_t now)
{
	const struct auth_query_conf *c = conf;
	http_request_add_query(req, c->param, c->key->value);
	return 0;
}

const struct auth_provider auth_provider_query = {
	.type = "query",
	.summary = "a key from a file as a URL query parameter",
	.keys = auth_query_keys,
	.configure = auth_query_configure,
	.free_config = auth_query_free_config,
	.apply = auth_query_apply,
};
