/* Response classification shared by drivers: the parts every HTTP API
 * agrees on, and JSON reading that never trusts the body. */
#ifndef MS_TARGETS_CLASSIFY_H
#define MS_TARGETS_CLASSIFY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "http/http.h"
#include "targets/driver.h"

/* Classifies what needs no knowledge of the API: no answer (transport
 * error), 401/403, 429, 5xx. Returns true when it decided. */
bool classify_common(const struct http_response *resp, struct outcome *out);

/* Parses the body as a JSON object; NULL if it is not one (depth-limited).
 * Caller puts the result. */
json_object *classify_json_body(const struct http_response *resp);

/* A string or number member of obj as text, or NULL. */
const char *classify_json_text(json_object *obj, const char *key);
/* The value at a dotted path ("data.id", "items.0.user_id": numbers index
 * arrays), or NULL. Borrowed from obj. */
json_object *classify_json_path(json_object *obj, const char *path);
/* Like classify_json_text, at a dotted path. */
const char *classify_json_path_text(json_object *obj, const char *path);

/* An integer, also when the API sends it as a decimal string
 * ("sub_code":"60011"); false for anything else. */
bool classify_json_int(json_object *v, long long *out);

/* Default reason text: "HTTP <status>: <body excerpt>". Caller frees. */
char *classify_status_reason(const struct http_response *resp);

#endif
