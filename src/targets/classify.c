#include "config.h"

#include "targets/classify.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLASSIFY_EXCERPT_CHARS 200
#define CLASSIFY_JSON_DEPTH 32

const char *outcome_kind_name(enum outcome_kind k)
{
	switch (k) {
	case OUTCOME_OK: return "ok";
	case OUTCOME_DUPLICATE: return "duplicate";
	case OUTCOME_ABSENT: return "absent";
	case OUTCOME_INVALID: return "invalid";
	case OUTCOME_AUTH: return "auth";
	case OUTCOME_THROTTLED: return "throttled";
	case OUTCOME_TRANSIENT: return "transient";
	case OUTCOME_PERMANENT: return "permanent";
	case OUTCOME_QUOTA: return "quota";
	case OUTCOME_SPLIT: return "split";
	}
	return "?";
}

void outcome_clear(struct outcome *o)
{
	free(o->reason);
	free(o->remote_id);
	memset(o, 0, sizeof(*o));
	o->retry_after = -1;
}

void outcome_set(struct outcome *o, enum outcome_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(o->reason);
	o->reason = xvasprintf(fmt, ap);
	va_end(ap);
	o->kind = kind;
}

char *classify_status_reason(const struct http_response *resp)
{
	char *excerpt = http_body_excerpt(resp, CLASSIFY_EXCERPT_CHARS);
	char *r = *excerpt ? xasprintf("HTTP %ld: %s", resp->status, excerpt)
			   : xasprintf("HTTP %ld with an empty body", resp->status);
	free(excerpt);
	return r;
}

bool classify_common(const struct http_response *resp, struct outcome *out)
{
	long st = resp->status;
	enum outcome_kind kind;

	if (st == 0) {
		outcome_set(out, OUTCOME_TRANSIENT, "no answer: %s", resp->error ? resp->error : "transfer failed");
		return true;
	}
	if (st == 401 || st == 403)
		kind = OUTCOME_AUTH;
	else if (st == 429)
		kind = OUTCOME_THROTTLED;
	else if (st >= 500)
		kind = resp->retry_after >= 0 && st == 503 ? OUTCOME_THROTTLED : OUTCOME_TRANSIENT;
	else
		return false;
	char *reason = classify_status_reason(resp);
	outcome_set(out, kind, "%s", reason);
	free(reason);
	out->retry_after = resp->retry_after;
	return true;
}

json_object *classify_json_body(const struct http_response *resp)
{
	if (!resp->body || resp->body_len == 0)
		return NULL;
	json_tokener *tok = json_tokener_new_ex(CLASSIFY_JSON_DEPTH);
	if (!tok)
		abort();
	json_object *obj = json_tokener_parse_ex(tok, resp->body, (int)resp->body_len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = json_tokener_get_parse_end(tok); complete && i < resp->body_len; i++)
		complete = strchr(" \t\r\n", resp->body[i]) != NULL;
	json_tokener_free(tok);
	if (!obj || !complete || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Strings and numbers as text; anything else is not a usable value. */
static const char *classify_scalar_text(json_object *v)
{
	if (!v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
		return json_object_get_string(v);
	default:
		return NULL;
	}
}

const char *classify_json_text(json_object *obj, const char *key)
{
	json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return classify_scalar_text(v);
}

json_object *classify_json_path(json_object *obj, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	json_object *cur = obj;
	for (char *part = strtok_r(copy, ".", &save); part && cur; part = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, part, &cur))
				cur = NULL;
		} else if (json_object_is_type(cur, json_type_array)) {
			char *end;
			long idx = strtol(part, &end, 10);
			cur = *end == '\0' && idx >= 0 && (size_t)idx < json_object_array_length(cur)
				      ? json_object_array_get_idx(cur, (size_t)idx)
				      : NULL;
		} else {
			cur = NULL;
		}
	}
	free(copy);
	return cur;
}

const char *classify_json_path_text(json_object *obj, const char *path)
{
	return classify_scalar_text(classify_json_path(obj, path));
}

bool classify_json_int(json_object *v, long long *out)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_string))
		return false;
	/* The text, not json_object_get_int64(): json-c clamps a number out
	 * of range but keeps what the API sent, so an overflow shows. */
	const char *text = json_object_get_string(v);
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (end == text || *end || errno)
		return false;
	*out = n;
	return true;
}
