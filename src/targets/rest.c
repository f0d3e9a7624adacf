/* Generic REST: a JSON API described entirely in the config: where to send
 * a member, with which method and auth header, and which statuses mean
 * created or already there. */
#include "config.h"

#include "targets/auth.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "config/conf.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cfg_key rest_keys[] = {
	{ "auth", CFG_T_GROUP, 0 },
	{ "method", CFG_T_STRING, 0 },
	{ "success_status", CFG_T_INTS, 0 },
	{ "duplicate_status", CFG_T_INTS, 0 },
	{ "remote_id_field", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

struct rest_conf {
	struct auth_header *auth;	/* NULL: no auth header */
	char *method;
	long long *success, *duplicate;
	size_t n_success, n_duplicate;
	char *remote_id_field;
};

static void rest_free_config(void *conf)
{
	struct rest_conf *c = conf;
	if (!c)
		return;
	auth_header_free(c->auth);
	free(c->method);
	free(c->success);
	free(c->duplicate);
	free(c->remote_id_field);
	free(c);
}

static long long *rest_statuses(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				const char *key, const long long *defaults, size_t n_defaults, size_t *n,
				size_t *errors)
{
	long long *v = cfg_ints(target, key, n);
	if (!v) {
		*n = n_defaults;
		return xmemdup(defaults, n_defaults * sizeof(long long));
	}
	for (size_t i = 0; i < *n; i++)
		if (v[i] < 100 || v[i] > 599) {
			cfg_error(cc, config_setting_get_member(target, key), "%s: %s: %lld is not an HTTP status",
				  where, key, v[i]);
			(*errors)++;
		}
	return v;
}

static void *rest_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir)
{
	static const long long def_success[] = { 200, 201 }, def_duplicate[] = { 409 };
	struct rest_conf *c = XNEW(struct rest_conf);
	size_t errors = 0;

	if (config_setting_get_member(target, "auth")) {
		c->auth = auth_header_configure(cc, target, where, config_dir, "Authorization", "Bearer");
		if (!c->auth)
			errors++;
	}
	const char *method = cfg_string(target, "method", "POST");
	if (strcasecmp(method, "POST") != 0 && strcasecmp(method, "PUT") != 0) {
		cfg_error(cc, config_setting_get_member(target, "method"), "%s: method must be POST or PUT, not '%s'",
			  where, method);
		errors++;
	}
	c->method = xstrdup(strcasecmp(method, "PUT") == 0 ? "PUT" : "POST");
	c->success = rest_statuses(cc, target, where, "success_status", def_success, 2, &c->n_success, &errors);
	c->duplicate = rest_statuses(cc, target, where, "duplicate_status", def_duplicate, 1, &c->n_duplicate,
				     &errors);
	const char *rid = cfg_string(target, "remote_id_field", NULL);
	c->remote_id_field = rid ? xstrdup(rid) : NULL;
	if (errors) {
		rest_free_config(c);
		return NULL;
	}
	return c;
}

static void rest_build_add(const struct conf_target *tc, const char *payload, struct http_request *req)
{
	const struct rest_conf *c = tc->driver_conf;
	req->method = c->method;
	req->url = xstrdup(tc->url);
	if (c->auth)
		auth_header_apply(c->auth, req);
	http_request_add_header(req, "Content-Type: application/json");
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, xstrdup(payload), strlen(payload));
}

static bool rest_in(const long long *list, size_t n, long status)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == status)
			return true;
	return false;
}

static void rest_adopt_id(const struct rest_conf *c, json_object *body, struct outcome *out)
{
	const char *id = c->remote_id_field ? classify_json_text(body, c->remote_id_field) : NULL;
	if (id && *id)
		out->remote_id = xstrdup(id);
}

static void rest_classify_add(const struct conf_target *tc, const struct http_response *resp,
			      struct outcome *out)
{
	const struct rest_conf *c = tc->driver_conf;
	json_object *body = NULL;
	long st = resp->status;

	/* Configured statuses win over the generic reading: an API may well
	 * say "already there" with a 400. */
	if (st && (rest_in(c->success, c->n_success, st) || rest_in(c->duplicate, c->n_duplicate, st))) {
		body = classify_json_body(resp);
		if (rest_in(c->success, c->n_success, st))
			outcome_set(out, OUTCOME_OK, "HTTP %ld", st);
		else
			outcome_set(out, OUTCOME_DUPLICATE, "already there (HTTP %ld)", st);
		rest_adopt_id(c, body, out);
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	char *r = classify_status_reason(resp);
	if (st >= 400 && st < 500)
		outcome_set(out, OUTCOME_INVALID, "rejected: %s", r);
	else
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer: %s", r);
	free(r);
out:
	json_object_put(body);
}

const struct target_driver driver_rest = {
	.name = "rest",
	.summary = "generic JSON REST API described in the config",
	.open_schema = true,
	.keys = rest_keys,
	.configure = rest_configure,
	.free_config = rest_free_config,
	.build_add = rest_build_add,
	.classify_add = rest_classify_add,
};
