#include "config.h"

#include "http/encode.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int encode_parse_name(const char *name, enum body_encoding *out)
{
	if (strcmp(name, "json") == 0)
		*out = BODY_JSON;
	else if (strcmp(name, "form") == 0)
		*out = BODY_FORM;
	else
		return -EINVAL;
	return 0;
}

const char *encode_content_type(enum body_encoding enc)
{
	return enc == BODY_FORM ? "application/x-www-form-urlencoded" : "application/json";
}

static void encode_escape_into(struct sbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			sbuf_addch(sb, (char)c);
		} else {
			sbuf_addch(sb, '%');
			sbuf_addch(sb, hex[c >> 4]);
			sbuf_addch(sb, hex[c & 15]);
		}
	}
}

char *encode_url_component(const char *s, size_t len)
{
	struct sbuf sb;
	sbuf_init(&sb);
	encode_escape_into(&sb, s, len);
	char *r = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return r;
}

static void encode_form_value(struct sbuf *sb, json_object *v)
{
	const char *text;
	switch (json_object_get_type(v)) {
	case json_type_string:
		encode_escape_into(sb, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	case json_type_boolean:
		sbuf_addstr(sb, json_object_get_boolean(v) ? "true" : "false");
		return;
	default:
		text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		encode_escape_into(sb, text, strlen(text));
		return;
	}
}

static void encode_form_pair(struct sbuf *sb, const char *name, const char *suffix, json_object *v)
{
	if (sb->len)
		sbuf_addch(sb, '&');
	encode_escape_into(sb, name, strlen(name));
	sbuf_addstr(sb, suffix);
	sbuf_addch(sb, '=');
	encode_form_value(sb, v);
}

char *encode_body(enum body_encoding enc, json_object *obj, size_t *len)
{
	if (enc == BODY_JSON) {
		const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
		*len = strlen(s);
		return xstrdup(s);
	}
	struct sbuf sb;
	sbuf_init(&sb);
	json_object_object_foreach(obj, name, v) {
		if (!v)
			continue;
		if (json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			for (size_t i = 0; i < n; i++) {
				json_object *item = json_object_array_get_idx(v, i);
				if (item)
					encode_form_pair(&sb, name, "%5B%5D", item);
			}
		} else {
			encode_form_pair(&sb, name, "", v);
		}
	}
	char *r = sbuf_detach(&sb, len);
	sbuf_release(&sb);
	return r;
}
