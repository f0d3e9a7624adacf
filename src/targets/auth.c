#include "config.h"

#include "targets/auth.h"
#include "util/sbuf.h"
#include "util/secret.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct auth_provider *const providers[] = {
	&auth_provider_header,
	&auth_provider_bearer,
	&auth_provider_query,
	&auth_provider_dingtalk,
	&auth_provider_babelbird,
	NULL,
};

struct auth {
	const struct auth_provider *provider;
	void *conf;
};

struct auth_session {
	const struct auth *auth;
	void *state;
};

static const struct auth_provider *auth_find(const char *type)
{
	for (size_t i = 0; providers[i]; i++)
		if (strcmp(providers[i]->type, type) == 0)
			return providers[i];
	return NULL;
}

int auth_read_secret(const struct cfg_ctx *cc, const config_setting_t *group, const char *where, const char *key,
		     const char *config_dir, struct secret **out)
{
	const config_setting_t *ks = config_setting_get_member(group, key);
	const char *path = cfg_string(group, key, NULL);
	char *err = NULL;
	int world = 0;

	*out = NULL;
	if (!path)
		return -EINVAL;
	if (secret_read(path, config_dir, out, &err, &world) < 0) {
		cfg_error(cc, ks, "%s.%s: %s", where, key, err);
		free(err);
		return -EINVAL;
	}
	if (world)
		cfg_warning(cc, ks, "%s.%s: %s is readable by every user; chmod 600 it", where, key, (*out)->path);
	return 0;
}

struct auth *auth_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir, const struct auth_defaults *def)
{
	const config_setting_t *g = config_setting_get_member(target, "auth");
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
		return NULL;
	char *gwhere = xasprintf("%s: auth", where);
	struct auth *a = NULL;
	const char *type = cfg_string(g, "type", def && def->type ? def->type : "header");
	const struct auth_provider *p = auth_find(type);

	if (!p) {
		struct sbuf known;
		const char *best = NULL;
		size_t best_d = 3;
		sbuf_init(&known);
		for (size_t i = 0; providers[i]; i++) {
			sbuf_addf(&known, "%s%s", known.len ? ", " : "", providers[i]->type);
			str_suggest_consider(type, providers[i]->type, &best, &best_d);
		}
		cfg_error(cc, config_setting_get_member(g, "type"), "%s: unknown type '%s'%s%s%s (known: %s)", gwhere,
			  type, best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "", known.buf);
		sbuf_release(&known);
		goto out;
	}
	static const struct cfg_key type_key[] = { AUTH_TYPE_KEY, { NULL, 0, 0 } };
	const struct cfg_key *const tables[] = { type_key, p->keys, NULL };
	size_t errors = cfg_check_group(cc, g, gwhere, tables);
	void *conf = p->configure(cc, g, gwhere, config_dir, def);
	if (!conf || errors) {
		if (conf)
			p->free_config(conf);
		goto out;
	}
	a = XNEW(struct auth);
	a->provider = p;
	a->conf = conf;
out:
	free(gwhere);
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	a->provider->free_config(a->conf);
	free(a);
}

const char *auth_type(const struct auth *a)
{
	return a ? a->provider->type : "none";
}

struct auth_session *auth_session_new(const struct auth *a)
{
	struct auth_session *s = XNEW(struct auth_session);
	s->auth = a;
	if (a && a->provider->session_new)
		s->state = a->provider->session_new(a->conf);
	return s;
}

void auth_session_free(struct auth_session *s)
{
	if (!s)
		return;
	if (s->auth && s->auth->provider->session_free)
		s->auth->provider->session_free(s->state);
	free(s);
}

int auth_apply(struct auth_session *s, struct http_request *req, int64_t now)
{
	if (!s->auth)
		return 0;
	return s->auth->provider->apply(s->auth->conf, s->state, req, now);
}

void auth_token_request(struct auth_session *s, const char *base_url, int64_t now, struct http_request *req)
{
	s->auth->provider->token_request(s->auth->conf, s->state, base_url, now, req);
}

int auth_token_answer(struct auth_session *s, const struct http_response *resp, int64_t now, char **err,
		      long *retry_after)
{
	*retry_after = -1;
	return s->auth->provider->token_answer(s->auth->conf, s->state, resp, now, err, retry_after);
}

bool auth_invalidate(struct auth_session *s)
{
	if (!s->auth || !s->auth->provider->invalidate)
		return false;
	s->auth->provider->invalidate(s->auth->conf, s->state);
	return true;
}
