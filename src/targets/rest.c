/* Generic REST: a JSON or form API described entirely in the config: the
 * URL (a template with {key} and {field} placeholders), the method, the
 * body encoding, rules saying which answers mean created, already there,
 * invalid, throttled and so on, and where the answer keeps the remote id. */
#include "config.h"

#include "http/encode.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cfg_key rest_keys[] = {
	{ "method", CFG_T_STRING, 0 },
	{ "encoding", CFG_T_STRING, 0 },
	{ "success_status", CFG_T_INTS, 0 },
	{ "duplicate_status", CFG_T_INTS, 0 },
	{ "remote_id_path", CFG_T_STRING, 0 },
	{ "rules", CFG_T_GROUPS, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_key rest_rule_keys[] = {
	{ "result", CFG_T_STRING, CFG_REQUIRED },
	{ "status", CFG_T_INTS, 0 },
	{ "field", CFG_T_STRING, 0 },
	{ "equals", CFG_T_SCALARS, 0 },
	{ "contains", CFG_T_STRING, 0 },
	{ "message", CFG_T_STRING, 0 },
	{ "retry_after", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

struct rest_rule {
	enum outcome_kind result;
	long long *status;
	size_t n_status;
	char *field;		/* dotted path into the JSON answer */
	char **equals;		/* values compared as text */
	size_t n_equals;
	char *contains;
	char *message;		/* path of the reason text */
	char *retry_after;	/* path of a "wait this many seconds" number */
};

struct rest_conf {
	char *method;
	enum body_encoding encoding;
	long long *success, *duplicate;
	size_t n_success, n_duplicate;
	char *remote_id_path;
	struct rest_rule *rules;
	size_t n_rules;
};

static const struct {
	const char *name;
	enum outcome_kind kind;
} rest_results[] = {
	{ "ok", OUTCOME_OK }, { "duplicate", OUTCOME_DUPLICATE }, { "invalid", OUTCOME_INVALID },
	{ "auth", OUTCOME_AUTH }, { "throttled", OUTCOME_THROTTLED }, { "transient", OUTCOME_TRANSIENT },
	{ "permanent", OUTCOME_PERMANENT }, { "quota", OUTCOME_QUOTA },
};

static void rest_free_rule(struct rest_rule *r)
{
	free(r->status);
	free(r->field);
	for (size_t i = 0; i < r->n_equals; i++)
		free(r->equals[i]);
	free(r->equals);
	free(r->contains);
	free(r->message);
	free(r->retry_after);
}

static void rest_free_config(void *conf)
{
	struct rest_conf *c = conf;
	if (!c)
		return;
	free(c->method);
	free(c->success);
	free(c->duplicate);
	free(c->remote_id_path);
	for (size_t i = 0; i < c->n_rules; i++)
		rest_free_rule(&c->rules[i]);
	free(c->rules);
	free(c);
}

static bool rest_status_ok(const struct cfg_ctx *cc, const config_setting_t *s, const char *where, const char *key,
			   const long long *v, size_t n)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 100 || v[i] > 599) {
			cfg_error(cc, s, "%s: %s: %lld is not an HTTP status", where, key, v[i]);
			ok = false;
		}
	return ok;
}

static long long *rest_statuses(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
				const char *key, const long long *defaults, size_t n_defaults, size_t *n, bool *ok)
{
	long long *v = cfg_ints(target, key, n);
	if (!v) {
		*n = n_defaults;
		return xmemdup(defaults, n_defaults * sizeof(long long));
	}
	*ok = rest_status_ok(cc, config_setting_get_member(target, key), where, key, v, *n) && *ok;
	return v;
}

/* `equals` is one scalar or a list of them; all compared as text. */
static void rest_rule_equals(const config_setting_t *s, struct rest_rule *r)
{
	bool list = config_setting_type(s) == CONFIG_TYPE_ARRAY || config_setting_type(s) == CONFIG_TYPE_LIST;
	int n = list ? config_setting_length(s) : 1;
	r->equals = xcalloc((size_t)n, sizeof(char *));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = list ? config_setting_get_elem(s, (unsigned)i) : s;
		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING: r->equals[i] = xstrdup(config_setting_get_string(e)); break;
		case CONFIG_TYPE_BOOL: r->equals[i] = xstrdup(config_setting_get_bool(e) ? "true" : "false"); break;
		case CONFIG_TYPE_FLOAT: r->equals[i] = xasprintf("%g", config_setting_get_float(e)); break;
		default: r->equals[i] = xasprintf("%lld", config_setting_get_int64(e)); break;
		}
	}
	r->n_equals = (size_t)n;
}

static bool rest_parse_rule(const struct cfg_ctx *cc, const config_setting_t *g, const char *where,
			    struct rest_rule *r)
{
	static const struct cfg_key *const tables[] = { rest_rule_keys, NULL };
	bool ok = cfg_check_group(cc, g, where, tables) == 0;
	const char *result = cfg_string(g, "result", NULL);
	bool known = false;

	for (size_t i = 0; result && i < sizeof(rest_results) / sizeof(rest_results[0]); i++)
		if (strcmp(result, rest_results[i].name) == 0) {
			r->result = rest_results[i].kind;
			known = true;
		}
	if (result && !known) {
		cfg_error(cc, config_setting_get_member(g, "result"),
			  "%s: result must be ok, duplicate, invalid, auth, throttled, transient, permanent or quota, "
			  "not '%s'", where, result);
		ok = false;
	}
	r->status = cfg_ints(g, "status", &r->n_status);
	ok = rest_status_ok(cc, config_setting_get_member(g, "status"), where, "status", r->status, r->n_status) &&
	     ok;
	const char *field = cfg_string(g, "field", NULL);
	r->field = field ? xstrdup(field) : NULL;
	const config_setting_t *eq = config_setting_get_member(g, "equals");
	if (eq && (config_setting_type(eq) == CONFIG_TYPE_GROUP ||
		   ((config_setting_type(eq) == CONFIG_TYPE_ARRAY || config_setting_type(eq) == CONFIG_TYPE_LIST) &&
		    config_setting_length(eq) == 0))) {
		cfg_error(cc, eq, "%s: equals must be a value or a non-empty list of values", where);
		ok = false;
	} else if (eq) {
		rest_rule_equals(eq, r);
	}
	const char *contains = cfg_string(g, "contains", NULL);
	r->contains = contains ? xstrdup(contains) : NULL;
	if ((r->n_equals || r->contains) && !r->field) {
		cfg_error(cc, g, "%s: equals and contains need field, the JSON path they test", where);
		ok = false;
	}
	if (r->field && !r->n_equals && !r->contains) {
		cfg_error(cc, g, "%s: field needs equals or contains", where);
		ok = false;
	}
	if (!r->n_status && !r->field) {
		cfg_error(cc, g, "%s: a rule needs status, field, or both", where);
		ok = false;
	}
	const char *msg = cfg_string(g, "message", NULL), *ra = cfg_string(g, "retry_after", NULL);
	r->message = msg ? xstrdup(msg) : NULL;
	r->retry_after = ra ? xstrdup(ra) : NULL;
	return ok;
}

static void *rest_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir)
{
	static const long long def_success[] = { 200, 201 }, def_duplicate[] = { 409 };
	struct rest_conf *c = XNEW(struct rest_conf);
	bool ok = true;

	const char *method = cfg_string(target, "method", "POST");
	if (strcasecmp(method, "POST") && strcasecmp(method, "PUT") && strcasecmp(method, "PATCH")) {
		cfg_error(cc, config_setting_get_member(target, "method"),
			  "%s: method must be POST, PUT or PATCH, not '%s'", where, method);
		ok = false;
	}
	c->method = xstrdup(!strcasecmp(method, "PUT") ? "PUT" : !strcasecmp(method, "PATCH") ? "PATCH" : "POST");
	const char *enc = cfg_string(target, "encoding", "json");
	if (encode_parse_name(enc, &c->encoding) < 0) {
		cfg_error(cc, config_setting_get_member(target, "encoding"), "%s: encoding must be json or form, not '%s'",
			  where, enc);
		ok = false;
	}
	c->success = rest_statuses(cc, target, where, "success_status", def_success, 2, &c->n_success, &ok);
	c->duplicate = rest_statuses(cc, target, where, "duplicate_status", def_duplicate, 1, &c->n_duplicate, &ok);
	const char *rid = cfg_string(target, "remote_id_path", NULL);
	c->remote_id_path = rid ? xstrdup(rid) : NULL;

	const config_setting_t *rules = config_setting_get_member(target, "rules");
	int n = rules && config_setting_type(rules) == CONFIG_TYPE_LIST ? config_setting_length(rules) : 0;
	c->rules = xcalloc((size_t)(n ? n : 1), sizeof(*c->rules));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(rules, (unsigned)i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			continue;
		char *rwhere = xasprintf("%s: rules[%d]", where, i);
		ok = rest_parse_rule(cc, g, rwhere, &c->rules[c->n_rules++]) && ok;
		free(rwhere);
	}
	if (!ok) {
		rest_free_config(c);
		return NULL;
	}
	return c;
}

/* Expands {key} and {field} placeholders, percent-encoding the values. A
 * placeholder without a value makes the member invalid (*missing set). */
static char *rest_url(const struct conf_target *tc, const struct push_item *it, char **missing)
{
	struct sbuf sb;
	const char *p = tc->url;
	*missing = NULL;
	sbuf_init(&sb);
	while (*p) {
		const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL;
		if (!open || !close) {
			sbuf_addstr(&sb, p);
			break;
		}
		sbuf_add(&sb, p, (size_t)(open - p));
		char *name = xstrndup(open + 1, (size_t)(close - open - 1));
		const char *v = NULL;
		json_object *jv;
		if (strcmp(name, "key") == 0)
			v = it->key;
		else if (json_object_object_get_ex(it->payload, name, &jv) && jv &&
			 !json_object_is_type(jv, json_type_array) && !json_object_is_type(jv, json_type_object))
			v = json_object_get_string(jv);
		if (!v || !*v) {
			if (!*missing)
				*missing = xstrdup(name);
		} else {
			char *e = encode_url_component(v, strlen(v));
			sbuf_addstr(&sb, e);
			free(e);
		}
		free(name);
		p = close + 1;
	}
	char *url = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return url;
}

static bool rest_in(const long long *list, size_t n, long status)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == status)
			return true;
	return false;
}

static bool rest_rule_matches(const struct rest_rule *r, long status, json_object *body)
{
	if (r->n_status && !rest_in(r->status, r->n_status, status))
		return false;
	if (!r->field)
		return true;
	json_object *v = classify_json_path(body, r->field);
	if (!v)
		return false;
	const char *text = json_object_is_type(v, json_type_boolean) ? (json_object_get_boolean(v) ? "true" : "false")
								     : json_object_get_string(v);
	if (r->contains)
		return text && strstr(text, r->contains);
	for (size_t i = 0; i < r->n_equals; i++)
		if (text && strcmp(text, r->equals[i]) == 0)
			return true;
	return false;
}

static void rest_adopt_id(const struct rest_conf *c, json_object *body, struct outcome *out)
{
	const char *id = c->remote_id_path ? classify_json_path_text(body, c->remote_id_path) : NULL;
	if (id && *id)
		out->remote_id = xstrdup(id);
}

static void rest_apply_rule(const struct rest_rule *r, const struct http_response *resp, json_object *body,
			    struct outcome *out)
{
	const char *msg = r->message ? classify_json_path_text(body, r->message) : NULL;
	if (msg) {
		outcome_set(out, r->result, "%s", msg);
	} else {
		char *reason = classify_status_reason(resp);
		outcome_set(out, r->result, "%s", reason);
		free(reason);
	}
	const char *wait = r->retry_after ? classify_json_path_text(body, r->retry_after) : NULL;
	out->retry_after = wait ? strtol(wait, NULL, 10) : resp->retry_after;
}

static void rest_classify_add(struct target *t, const struct http_response *resp, struct push_item *it,
			      struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	json_object *body = NULL;
	long st = resp->status;

	if (st == 0) {
		classify_common(resp, out);
		return;
	}
	body = classify_json_body(resp);
	for (size_t i = 0; i < c->n_rules; i++)
		if (rest_rule_matches(&c->rules[i], st, body)) {
			rest_apply_rule(&c->rules[i], resp, body, out);
			goto out;
		}
	/* Configured statuses win over the generic reading: an API may well
	 * say "already there" with a 400. */
	if (rest_in(c->success, c->n_success, st)) {
		outcome_set(out, OUTCOME_OK, "HTTP %ld", st);
		goto out;
	}
	if (rest_in(c->duplicate, c->n_duplicate, st)) {
		outcome_set(out, OUTCOME_DUPLICATE, "already there (HTTP %ld)", st);
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
	if (out->kind == OUTCOME_OK || out->kind == OUTCOME_DUPLICATE)
		rest_adopt_id(c, body, out);
	json_object_put(body);
}

static enum step_result rest_step(struct target *t, struct push_item *it, const struct http_response *resp,
				  struct http_request *req, bool *creates, struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	if (resp) {
		rest_classify_add(t, resp, it, out);
		return STEP_DONE;
	}
	char *missing = NULL;
	char *url = rest_url(t->conf, it, &missing);
	if (missing) {
		outcome_set(out, OUTCOME_INVALID, "the URL needs {%s}, which the mapping leaves empty", missing);
		free(missing);
		free(url);
		return STEP_DONE;
	}
	size_t len;
	char *body = encode_body(c->encoding, it->payload, &len);
	req->method = c->method;
	req->url = url;
	http_request_add_header(req, "Content-Type: %s", encode_content_type(c->encoding));
	http_request_add_header(req, "Accept: application/json");
	http_request_set_body(req, body, len);
	*creates = true;
	return STEP_SEND;
}

const struct target_driver driver_rest = {
	.name = "rest",
	.summary = "generic JSON or form REST API described in the config",
	.open_schema = true,
	.keys = rest_keys,
	.auth = { .type = "bearer" },
	.configure = rest_configure,
	.free_config = rest_free_config,
	.step = rest_step,
};
