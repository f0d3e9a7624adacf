/* Generic REST: a JSON or form API described entirely in the config: the
 * URL (a template with {key} and {field} placeholders), the method, the
 * body encoding, rules saying which answers mean created, already there,
 * invalid, throttled and so on, and where the answer keeps the remote id.
 *
 * The other ops exist only as far as the config describes them, each in a
 * group of its own (update, disable, enable, delete, lookup) with a URL
 * template of {id} (the member's id at the target) and {key}. An op whose
 * URL needs {id} for a member whose id is unknown finds it with the lookup
 * first. */
#include "config.h"

#include "http/encode.h"
#include "targets/classify.h"
#include "targets/drivers.h"
#include "targets/target.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest API message quoted in a reason. */
#define REST_MESSAGE_CHARS 200

/* Deep enough for any real answer, shallow enough for a hostile one. */
#define REST_JSON_DEPTH 32

static const struct cfg_key rest_keys[] = {
	{ "method", CFG_T_STRING, 0 },
	{ "encoding", CFG_T_STRING, 0 },
	{ "success_status", CFG_T_INTS, 0 },
	{ "duplicate_status", CFG_T_INTS, 0 },
	{ "remote_id_path", CFG_T_STRING, 0 },
	{ "rules", CFG_T_GROUPS, 0 },
	{ "update", CFG_T_GROUP, 0 },
	{ "disable", CFG_T_GROUP, 0 },
	{ "enable", CFG_T_GROUP, 0 },
	{ "delete", CFG_T_GROUP, 0 },
	{ "lookup", CFG_T_GROUP, 0 },
	{ NULL, 0, 0 },
};

/* Keys of every op group. */
static const struct cfg_key rest_op_keys[] = {
	{ "url", CFG_T_STRING, CFG_REQUIRED },
	{ "success_status", CFG_T_INTS, 0 },
	{ "absent_status", CFG_T_INTS, 0 },
	{ "rules", CFG_T_GROUPS, 0 },
	{ NULL, 0, 0 },
};

/* update, disable, enable and delete send a request of their own making. */
static const struct cfg_key rest_change_keys[] = {
	{ "method", CFG_T_STRING, 0 },
	{ "encoding", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

/* disable, enable and delete: the body is fixed (update sends the payload). */
static const struct cfg_key rest_fixed_body_keys[] = {
	{ "body", CFG_T_STRING, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_key rest_lookup_keys[] = {
	{ "id_path", CFG_T_STRING, 0 },
	{ "found_path", CFG_T_STRING, 0 },
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

/* One op beyond the add, as its group describes it. */
struct rest_op {
	bool set;
	char *method;
	char *url;		/* a template of {id} and {key} */
	bool needs_id;		/* url has {id} */
	enum body_encoding encoding;
	char *body;		/* disable, enable, delete: sent as is; NULL: none */
	long long *success, *absent;
	size_t n_success, n_absent;
	struct rest_rule *rules;
	size_t n_rules;
	char *id_path;		/* lookup: where the found member's id is */
	char *found_path;	/* lookup: a non-empty array or object there means found */
};

struct rest_conf {
	char *method;
	enum body_encoding encoding;
	long long *success, *duplicate;
	size_t n_success, n_duplicate;
	char *remote_id_path;
	struct rest_rule *rules;
	size_t n_rules;
	struct rest_op ops[OP__COUNT];	/* [OP_ADD] unused */
};

/* `op` tells which table a rule's result is read from: an add can find
 * the member already there, any other op can find it gone. */
static const struct {
	const char *name;
	enum outcome_kind kind;
	bool add, op;
} rest_results[] = {
	{ "ok", OUTCOME_OK, true, true }, { "duplicate", OUTCOME_DUPLICATE, true, false },
	{ "absent", OUTCOME_ABSENT, false, true }, { "invalid", OUTCOME_INVALID, true, true },
	{ "auth", OUTCOME_AUTH, true, true }, { "throttled", OUTCOME_THROTTLED, true, true },
	{ "transient", OUTCOME_TRANSIENT, true, true }, { "permanent", OUTCOME_PERMANENT, true, true },
	{ "quota", OUTCOME_QUOTA, true, true },
};

/* Strict and depth-limited: one JSON value, nothing after it but white
 * space. *out may be NULL for "null". */
static bool rest_json_parse(const char *s, size_t len, json_object **out)
{
	*out = NULL;
	if (len == 0 || len > INT_MAX)
		return false;
	json_tokener *tok = json_tokener_new_ex(REST_JSON_DEPTH);
	if (!tok)
		abort();
	json_object *v = json_tokener_parse_ex(tok, s, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = json_tokener_get_parse_end(tok); complete && i < len; i++)
		complete = s[i] && strchr(" \t\r\n", s[i]) != NULL;
	json_tokener_free(tok);
	if (!complete) {
		json_object_put(v);
		return false;
	}
	*out = v;
	return true;
}

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

static void rest_free_rules(struct rest_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rest_free_rule(&rules[i]);
	free(rules);
}

static void rest_free_op(struct rest_op *op)
{
	free(op->method);
	free(op->url);
	free(op->body);
	free(op->success);
	free(op->absent);
	rest_free_rules(op->rules, op->n_rules);
	free(op->id_path);
	free(op->found_path);
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
	rest_free_rules(c->rules, c->n_rules);
	for (int op = 0; op < OP__COUNT; op++)
		rest_free_op(&c->ops[op]);
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

/* Rules of an add (op false) or of another op. */
static bool rest_parse_rule(const struct cfg_ctx *cc, const config_setting_t *g, const char *where, bool op,
			    struct rest_rule *r)
{
	static const struct cfg_key *const tables[] = { rest_rule_keys, NULL };
	bool ok = cfg_check_group(cc, g, where, tables) == 0;
	const char *result = cfg_string(g, "result", NULL);
	bool known = false;

	for (size_t i = 0; result && i < sizeof(rest_results) / sizeof(rest_results[0]); i++)
		if (strcmp(result, rest_results[i].name) == 0 && (op ? rest_results[i].op : rest_results[i].add)) {
			r->result = rest_results[i].kind;
			known = true;
		}
	if (result && !known) {
		cfg_error(cc, config_setting_get_member(g, "result"),
			  "%s: result must be ok, %s, invalid, auth, throttled, transient, permanent or quota, "
			  "not '%s'", where, op ? "absent" : "duplicate", result);
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

/* The `rules` list of group g. */
static bool rest_parse_rules(const struct cfg_ctx *cc, const config_setting_t *g, const char *where, bool op,
			     struct rest_rule **rules, size_t *n_rules)
{
	const config_setting_t *list = config_setting_get_member(g, "rules");
	int n = list && config_setting_type(list) == CONFIG_TYPE_LIST ? config_setting_length(list) : 0;
	bool ok = true;
	*rules = xcalloc((size_t)(n ? n : 1), sizeof(**rules));
	*n_rules = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *r = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(r) != CONFIG_TYPE_GROUP)
			continue;
		char *rwhere = xasprintf("%s: rules[%d]", where, i);
		ok = rest_parse_rule(cc, r, rwhere, op, &(*rules)[(*n_rules)++]) && ok;
		free(rwhere);
	}
	return ok;
}

/* Checks an op's URL template: http(s), only {id} and {key}. */
static bool rest_op_url_ok(const struct cfg_ctx *cc, const config_setting_t *g, const char *where, enum push_op op,
			   const char *url, bool *needs_id)
{
	const config_setting_t *s = config_setting_get_member(g, "url");
	*needs_id = false;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		cfg_error(cc, s, "%s: url must start with http:// or https://", where);
		return false;
	}
	for (const char *p = strchr(url, '{'); p; p = strchr(p, '{')) {
		const char *close = strchr(p, '}');
		if (!close) {
			cfg_error(cc, s, "%s: url: '{' without a closing '}'", where);
			return false;
		}
		size_t len = (size_t)(close - p - 1);
		if (len == 2 && strncmp(p + 1, "id", 2) == 0 && op != OP_LOOKUP) {
			*needs_id = true;
		} else if (len == 2 && strncmp(p + 1, "id", 2) == 0) {
			cfg_error(cc, s, "%s: url: {id} is what the lookup finds; look the member up by {key}", where);
			return false;
		} else if (len != 3 || strncmp(p + 1, "key", 3) != 0) {
			cfg_error(cc, s, "%s: url: unknown placeholder {%.*s} (an op's url knows {id} and {key})",
				  where, (int)(len > 64 ? 64 : len), p + 1);
			return false;
		}
		p = close + 1;
	}
	return true;
}

/* The group describing op (update, disable, enable, delete, lookup). */
static bool rest_parse_op(const struct cfg_ctx *cc, const config_setting_t *g, const char *target_where,
			  enum push_op op, enum body_encoding target_encoding, struct rest_op *o)
{
	static const long long def_success[] = { 200, 201, 202, 204 }, def_lookup_success[] = { 200 },
			       def_absent[] = { 404, 410 };
	static const struct cfg_key *const change_tables[] = { rest_op_keys, rest_change_keys, NULL };
	static const struct cfg_key *const fixed_tables[] = { rest_op_keys, rest_change_keys, rest_fixed_body_keys,
							       NULL };
	static const struct cfg_key *const lookup_tables[] = { rest_op_keys, rest_lookup_keys, NULL };
	const struct cfg_key *const *tables = op == OP_LOOKUP ? lookup_tables
					      : op == OP_UPDATE ? change_tables
								: fixed_tables;
	char *where = xasprintf("%s: %s", target_where, push_op_name(op));
	bool ok = cfg_check_group(cc, g, where, tables) == 0;

	o->set = true;
	const char *url = cfg_string(g, "url", NULL);
	o->url = xstrdup(url ? url : "");
	if (url)
		ok = rest_op_url_ok(cc, g, where, op, url, &o->needs_id) && ok;

	/* Each op's usual verb; the API may well want another. */
	const char *def_method = op == OP_UPDATE ? "PUT" : op == OP_DELETE ? "DELETE" : "PATCH";
	/* An update sends the payload, which a DELETE cannot carry. */
	static const char *const methods[] = { "PUT", "PATCH", "POST", "DELETE", NULL };
	size_t n_methods = op == OP_UPDATE ? 3 : 4;
	const char *method = cfg_string(g, "method", def_method);
	for (size_t i = 0; i < n_methods && op != OP_LOOKUP && !o->method; i++)
		if (strcasecmp(method, methods[i]) == 0)
			o->method = xstrdup(methods[i]);
	if (op == OP_LOOKUP) {
		o->method = xstrdup("GET");
	} else if (!o->method) {
		cfg_error(cc, config_setting_get_member(g, "method"), "%s: method must be %s, not '%s'", where,
			  op == OP_UPDATE ? "PUT, PATCH or POST" : "PUT, PATCH, POST or DELETE", method);
		o->method = xstrdup(def_method);
		ok = false;
	}

	o->encoding = target_encoding;
	const char *enc = cfg_string(g, "encoding", NULL);
	if (enc && encode_parse_name(enc, &o->encoding) < 0) {
		cfg_error(cc, config_setting_get_member(g, "encoding"), "%s: encoding must be json or form, not '%s'",
			  where, enc);
		ok = false;
	}
	const char *body = cfg_string(g, "body", NULL);
	if (body) {
		/* Sent as it is: a typo would only show as the API's refusal of
		 * every member. */
		json_object *j = NULL;
		if (o->encoding == BODY_JSON && !rest_json_parse(body, strlen(body), &j)) {
			cfg_error(cc, config_setting_get_member(g, "body"), "%s: body is not valid JSON", where);
			ok = false;
		}
		json_object_put(j);
		o->body = xstrdup(body);
	}

	if (op == OP_LOOKUP) {
		o->success = rest_statuses(cc, g, where, "success_status", def_lookup_success, 1, &o->n_success, &ok);
		const char *id_path = cfg_string(g, "id_path", NULL), *found = cfg_string(g, "found_path", NULL);
		o->id_path = id_path ? xstrdup(id_path) : NULL;
		o->found_path = found ? xstrdup(found) : NULL;
		if (!id_path && !found) {
			cfg_error(cc, g, "%s: a lookup needs id_path, found_path, or both: what in its answer says the "
				  "member is there", where);
			ok = false;
		}
	} else {
		o->success = rest_statuses(cc, g, where, "success_status", def_success, 4, &o->n_success, &ok);
	}
	o->absent = rest_statuses(cc, g, where, "absent_status", def_absent, 2, &o->n_absent, &ok);
	ok = rest_parse_rules(cc, g, where, true, &o->rules, &o->n_rules) && ok;
	free(where);
	return ok;
}

/* The op groups, and whether they fit together. */
static bool rest_parse_ops(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			   struct rest_conf *c)
{
	static const enum push_op ops[] = { OP_UPDATE, OP_DISABLE, OP_ENABLE, OP_DELETE, OP_LOOKUP };
	const struct rest_op *lookup = &c->ops[OP_LOOKUP];
	bool ok = true;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const config_setting_t *g = config_setting_get_member(target, push_op_name(ops[i]));
		if (g && config_setting_type(g) == CONFIG_TYPE_GROUP)
			ok = rest_parse_op(cc, g, where, ops[i], c->encoding, &c->ops[ops[i]]) && ok;
	}
	const char *name = NULL;	/* the first op whose url needs {id} */
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && !name; i++)
		if (c->ops[ops[i]].needs_id)
			name = push_op_name(ops[i]);
	if (name && lookup->set && !lookup->id_path) {
		cfg_error(cc, config_setting_get_member(target, "lookup"),
			  "%s: lookup: needs id_path: %s's url uses {id}, which the lookup must find", where, name);
		ok = false;
	} else if (name && !lookup->set && !c->remote_id_path) {
		/* Not an error: ids may come from a state database filled
		 * before; but a new member's never will. */
		cfg_warning(cc, config_setting_get_member(target, name),
			    "%s: %s: its url uses {id}, but with neither remote_id_path nor lookup membersync never "
			    "learns a member's id", where, name);
	}
	return ok;
}

static void *rest_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir)
{
	static const long long def_success[] = { 200, 201 }, def_duplicate[] = { 409 };
	struct rest_conf *c = XNEW(struct rest_conf);
	bool ok = true;

	const char *method = cfg_string(target, "method", "POST");
	if (strcasecmp(method, "POST") != 0 && strcasecmp(method, "PUT") != 0 && strcasecmp(method, "PATCH") != 0) {
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

	ok = rest_parse_rules(cc, target, where, false, &c->rules, &c->n_rules) && ok;
	ok = rest_parse_ops(cc, target, where, c) && ok;
	if (!ok) {
		rest_free_config(c);
		return NULL;
	}
	return c;
}

/* Expands the {name} placeholders of tmpl with value(name), percent-encoded.
 * A placeholder without a value (NULL or "") sets *missing (the first such
 * name; caller frees). */
static char *rest_expand(const char *tmpl, const char *(*value)(const char *name, const void *ud), const void *ud,
			 char **missing)
{
	struct sbuf sb;
	const char *p = tmpl;
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
		const char *v = value(name, ud);
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

/* The add's URL: {key} and {field}, a mapped field (not an array or object). */
static const char *rest_add_value(const char *name, const void *ud)
{
	const struct push_item *it = ud;
	json_object *jv;
	if (strcmp(name, "key") == 0)
		return it->key;
	if (json_object_object_get_ex(it->payload, name, &jv) && jv && !json_object_is_type(jv, json_type_array) &&
	    !json_object_is_type(jv, json_type_object))
		return json_object_get_string(jv);
	return NULL;
}

/* An op's URL: {key} and {id}, nothing else (checked at load). */
static const char *rest_op_value(const char *name, const void *ud)
{
	const struct push_item *it = ud;
	if (strcmp(name, "key") == 0)
		return it->key;
	return strcmp(name, "id") == 0 ? it->remote_id : NULL;
}

/* Expands {key} and {field} placeholders, percent-encoding the values. A
 * placeholder without a value makes the member invalid (*missing set). */
static char *rest_url(const struct conf_target *tc, const struct push_item *it, char **missing)
{
	return rest_expand(tc->url, rest_add_value, it, missing);
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

/* The id at path in an answer, or NULL: ids go to the state cache and
 * logs, so only non-empty UTF-8 text counts (fuzz_drivers.c). */
static const char *rest_id_at(json_object *body, const char *path)
{
	const char *id = path ? classify_json_path_text(body, path) : NULL;
	return id && *id && utf8_valid(id, strlen(id)) ? id : NULL;
}

static void rest_adopt_id(const struct rest_conf *c, json_object *body, struct outcome *out)
{
	const char *id = rest_id_at(body, c->remote_id_path);
	if (id)
		out->remote_id = xstrdup(id);
}

static void rest_apply_rule(const struct rest_rule *r, const struct http_response *resp, json_object *body,
			    struct outcome *out)
{
	const char *msg = r->message ? classify_json_path_text(body, r->message) : NULL;
	if (msg) {
		/* The API's words, as every driver quotes them: cut, control
		 * characters and invalid UTF-8 escaped, secrets masked
		 * (fuzz_drivers.c found raw bytes reaching the reason). */
		char *m = http_text_excerpt(msg, REST_MESSAGE_CHARS);
		outcome_set(out, r->result, "%s", m);
		free(m);
	} else {
		char *reason = classify_status_reason(resp);
		outcome_set(out, r->result, "%s", reason);
		free(reason);
	}
	const char *wait = r->retry_after ? classify_json_path_text(body, r->retry_after) : NULL;
	out->retry_after = wait ? strtol(wait, NULL, 10) : resp->retry_after;
}

/* What an answer means under one table (the target's, for adds, or an
 * op's): its rules first, then its success statuses and its `other` ones
 * (duplicate for an add, absent for the other ops), then what every API
 * agrees on; a 4xx left over is INVALID when the request carried values
 * the API may refuse (`payload`), else PERMANENT. Returns the parsed body
 * (NULL without one; caller puts). */
static json_object *rest_classify(const struct rest_rule *rules, size_t n_rules, const long long *success,
				  size_t n_success, const long long *other, size_t n_other, enum outcome_kind other_kind,
				  bool payload, const struct http_response *resp, struct outcome *out)
{
	long st = resp->status;
	if (st == 0) {
		classify_common(resp, out);
		return NULL;
	}
	json_object *body = classify_json_body(resp);
	for (size_t i = 0; i < n_rules; i++)
		if (rest_rule_matches(&rules[i], st, body)) {
			rest_apply_rule(&rules[i], resp, body, out);
			return body;
		}
	/* Configured statuses win over the generic reading: an API may well
	 * say "already there" with a 400. */
	if (rest_in(success, n_success, st)) {
		outcome_set(out, OUTCOME_OK, "HTTP %ld", st);
		return body;
	}
	if (rest_in(other, n_other, st)) {
		outcome_set(out, other_kind, "%s (HTTP %ld)",
			    other_kind == OUTCOME_DUPLICATE ? "already there" : "not there", st);
		return body;
	}
	if (classify_common(resp, out))
		return body;
	char *r = classify_status_reason(resp);
	if (st >= 400 && st < 500)
		outcome_set(out, payload ? OUTCOME_INVALID : OUTCOME_PERMANENT, "rejected: %s", r);
	else
		outcome_set(out, OUTCOME_PERMANENT, "unexpected answer: %s", r);
	free(r);
	return body;
}

static void rest_classify_add(struct target *t, const struct http_response *resp, struct push_item *it,
			      struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	json_object *body = rest_classify(c->rules, c->n_rules, c->success, c->n_success, c->duplicate,
					  c->n_duplicate, OUTCOME_DUPLICATE, true, resp, out);
	if (body && (out->kind == OUTCOME_OK || out->kind == OUTCOME_DUPLICATE))
		rest_adopt_id(c, body, out);
	json_object_put(body);
}

/* Stages of every op but OP_ADD. */
enum rest_op_stage {
	REST_OP_START,
	REST_OP_FIND,	/* the lookup, for the {id} the op's url needs */
	REST_OP_SEND,	/* the op's own request (for OP_LOOKUP, the lookup) */
};

/* A lookup's answer may be any JSON value (a bare array of matches is
 * common), not only the object classify_json_body accepts. NULL when the
 * body is not JSON (or is null). Caller puts. */
static json_object *rest_json_answer(const struct http_response *resp)
{
	json_object *v = NULL;
	if (!resp->body || !rest_json_parse(resp->body, resp->body_len, &v))
		return NULL;
	return v;
}

static bool rest_nonempty(json_object *v)
{
	if (json_object_is_type(v, json_type_array))
		return json_object_array_length(v) > 0;
	return json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0;
}

/* The lookup's answer: OK (out->remote_id set when id_path gives one) when
 * the member is there, ABSENT when not. */
static void rest_classify_lookup(const struct rest_op *o, const struct http_response *resp, struct outcome *out)
{
	json_object *body = NULL;
	long st = resp->status;
	bool found = false;

	if (st == 0) {
		classify_common(resp, out);
		return;
	}
	body = rest_json_answer(resp);
	for (size_t i = 0; i < o->n_rules; i++)
		if (rest_rule_matches(&o->rules[i], st, body)) {
			rest_apply_rule(&o->rules[i], resp, body, out);
			found = out->kind == OUTCOME_OK;
			goto out;
		}
	if (rest_in(o->success, o->n_success, st) && body) {
		found = o->found_path ? rest_nonempty(classify_json_path(body, o->found_path))
				      : o->id_path && classify_json_path_text(body, o->id_path);
		if (found)
			outcome_set(out, OUTCOME_OK, "found (HTTP %ld)", st);
		else
			outcome_set(out, OUTCOME_ABSENT, "the lookup found no such member (HTTP %ld)", st);
		goto out;
	}
	if (rest_in(o->absent, o->n_absent, st)) {
		outcome_set(out, OUTCOME_ABSENT, "the lookup found no such member (HTTP %ld)", st);
		goto out;
	}
	if (classify_common(resp, out))
		goto out;
	/* A success that is not JSON lands here too: calling the member
	 * absent would have it added a second time. */
	char *r = classify_status_reason(resp);
	outcome_set(out, OUTCOME_PERMANENT, "unexpected answer to the lookup: %s", r);
	free(r);
out:
	if (found && o->id_path) {
		const char *id = rest_id_at(body, o->id_path);
		if (id)
			out->remote_id = xstrdup(id);
	}
	json_object_put(body);
}

/* The answer to update, disable, enable or delete. Only an update
 * carries values the API can refuse. */
static void rest_classify_op(const struct rest_op *o, const struct push_item *it, const struct http_response *resp,
			     struct outcome *out)
{
	json_object *body = rest_classify(o->rules, o->n_rules, o->success, o->n_success, o->absent, o->n_absent,
					  OUTCOME_ABSENT, it->op == OP_UPDATE, resp, out);
	if (out->kind == OUTCOME_OK && it->remote_id)
		out->remote_id = xstrdup(it->remote_id);
	json_object_put(body);
}

/* The request of op o for it. Returns false (out filled) when its URL
 * cannot be made. */
static bool rest_op_request(const struct target *t, const struct rest_op *o, const struct push_item *it,
			    struct http_request *req, struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	char *missing = NULL;
	char *url = rest_expand(o->url, rest_op_value, it, &missing);
	if (missing) {
		outcome_set(out, OUTCOME_PERMANENT, "the url of %s needs {%s}, which is empty for this member",
			    push_op_name(o == &c->ops[OP_LOOKUP] ? OP_LOOKUP : it->op), missing);
		free(missing);
		free(url);
		return false;
	}
	req->method = o->method;
	req->url = url;
	http_request_add_header(req, "Accept: application/json");
	char *body = NULL;
	size_t len = 0;
	if (o == &c->ops[OP_UPDATE]) {
		json_object *pub = mapping_payload_public(t->conf->mapping, it->payload);
		body = encode_body(o->encoding, pub, &len);
		json_object_put(pub);
	} else if (o->body) {
		body = xstrdup(o->body);
		len = strlen(body);
	}
	if (body) {
		http_request_add_header(req, "Content-Type: %s", encode_content_type(o->encoding));
		http_request_set_body(req, body, len);
	}
	return true;
}

/* Every op but OP_ADD, as its group describes it. */
static enum step_result rest_op_step(struct target *t, struct push_item *it, const struct http_response *resp,
				     struct http_request *req, struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	const struct rest_op *o = &c->ops[it->op], *lookup = &c->ops[OP_LOOKUP];

	if (!o->set) {
		/* supported_ops() does not offer it; the engine asked anyway. */
		outcome_set(out, OUTCOME_PERMANENT, "this target's config describes no %s", push_op_name(it->op));
		return STEP_DONE;
	}
	if (it->stage == REST_OP_START) {
		if (it->remote_id && !*it->remote_id) {
			/* Stored empty: as good as unknown. */
			free(it->remote_id);
			it->remote_id = NULL;
		}
		if (it->op == OP_UPDATE && !json_object_is_type(it->payload, json_type_object)) {
			outcome_set(out, OUTCOME_PERMANENT, "nothing to update: the member has no payload");
			return STEP_DONE;
		}
		if (o->needs_id && !it->remote_id && !lookup->set) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "%s needs the member's id at the target ({id} in its url), which membersync does "
				    "not know: configure `lookup` so the id can be found",
				    push_op_name(it->op));
			return STEP_DONE;
		}
		it->stage = o->needs_id && !it->remote_id ? REST_OP_FIND : REST_OP_SEND;
	}
	if (!resp)
		goto send;
	if (it->stage == REST_OP_FIND) {
		rest_classify_lookup(lookup, resp, out);
		if (out->kind != OUTCOME_OK)
			return STEP_DONE;
		if (!out->remote_id) {
			outcome_set(out, OUTCOME_PERMANENT,
				    "the lookup found the member, but no id at %s in its answer", lookup->id_path);
			return STEP_DONE;
		}
		free(it->remote_id);
		it->remote_id = out->remote_id;
		out->remote_id = NULL;
		outcome_clear(out);
		it->stage = REST_OP_SEND;
		goto send;
	}
	if (it->op == OP_LOOKUP) {
		rest_classify_lookup(o, resp, out);
		if (out->kind == OUTCOME_OK && out->remote_id) {
			free(it->remote_id);
			it->remote_id = xstrdup(out->remote_id);
		}
	} else {
		rest_classify_op(o, it, resp, out);
	}
	return STEP_DONE;

send:
	return rest_op_request(t, it->stage == REST_OP_FIND ? lookup : o, it, req, out) ? STEP_SEND : STEP_DONE;
}

static unsigned rest_supported_ops(const void *driver_conf)
{
	const struct rest_conf *c = driver_conf;
	unsigned ops = 0;
	for (int op = 0; op < OP__COUNT; op++)
		if (op != OP_ADD && c->ops[op].set)
			ops |= OP_BIT(op);
	return ops;
}

static enum step_result rest_step(struct target *t, struct push_item *it, const struct http_response *resp,
				  struct http_request *req, bool *creates, struct outcome *out)
{
	const struct rest_conf *c = t->conf->driver_conf;
	if (it->op != OP_ADD)
		return rest_op_step(t, it, resp, req, out);
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
	.supported_ops = rest_supported_ops,
	.step = rest_step,
};
