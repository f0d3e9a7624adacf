/* Request body encodings. Payloads are JSON objects; APIs that want
 * application/x-www-form-urlencoded get arrays as repeated `name[]=` keys
 * (the PHP/Rails convention BabelBird's docs show). */
#ifndef MS_HTTP_ENCODE_H
#define MS_HTTP_ENCODE_H

#include <json-c/json.h>
#include <stddef.h>

enum body_encoding {
	BODY_JSON,
	BODY_FORM,
};

/* "json" or "form"; returns 0 or -EINVAL. */
int encode_parse_name(const char *name, enum body_encoding *out);
const char *encode_content_type(enum body_encoding enc);

/* Encodes obj (an object). Form: strings and numbers as text, booleans as
 * true/false, null members left out, arrays as name[]=v for each element,
 * nested objects as their JSON text. Caller frees; *len set. */
char *encode_body(enum body_encoding enc, json_object *obj, size_t *len);

/* Percent-encodes s for a URL query or form value (RFC 3986 unreserved
 * characters kept). Caller frees. */
char *encode_url_component(const char *s, size_t len);

#endif
