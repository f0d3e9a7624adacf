/*
 * application/x-www-form-urlencoded bodies, for the APIs that take forms
 * (OAuth token endpoints, older PHP-style servers).
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes into a new NUL-terminated buffer. Strict: a '%' not followed by
 * two hex digits is an error rather than a literal, so a client that
 * forgot to encode a '%' is caught. */
static int form_decode(const char *s, size_t len, char **out, size_t *out_len)
{
	char *buf = sim_xmalloc(len + 1);
	size_t o = 0;
	size_t ignored;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			buf[o++] = ' ';
		} else if (s[i] == '%') {
			int hi = len - i > 2 ? hex_digit(s[i + 1]) : -1;
			int lo = len - i > 2 ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				free(buf);
				return -EINVAL;
			}
			buf[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			buf[o++] = s[i];
		}
	}
	buf[o] = '\0';
	/* What is stored is dumped as JSON; keep that valid. */
	if (sim_utf8_count(buf, o, &ignored) < 0) {
		free(buf);
		return -EILSEQ;
	}
	*out = buf;
	*out_len = o;
	return 0;
}

static int add_pair(json_object *obj, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t name_len, value_len;
	char *name, *value;
	json_object *v, *arr;
	int rc;

	rc = form_decode(s, eq ? (size_t)(eq - s) : len, &name, &name_len);
	if (rc < 0)
		return rc;
	if (strlen(name) != name_len) {
		free(name);
		return -EINVAL;
	}
	if (eq)
		rc = form_decode(eq + 1, len - (size_t)(eq - s) - 1, &value, &value_len);
	else
		rc = form_decode("", 0, &value, &value_len);
	if (rc < 0) {
		free(name);
		return rc;
	}
	v = json_object_new_string_len(value, (int)value_len);
	free(value);
	/* Brackets are looked at after decoding, as PHP and Rack do, so
	 * "d%5B%5D" is an array too. */
	if (name_len >= 2 && strcmp(name + name_len - 2, "[]") == 0) {
		name[name_len - 2] = '\0';
		if (!json_object_object_get_ex(obj, name, &arr) ||
		    !json_object_is_type(arr, json_type_array)) {
			arr = json_object_new_array();
			json_object_object_add(obj, name, arr);
		}
		json_object_array_add(arr, v);
	} else {
		json_object_object_add(obj, name, v);
	}
	free(name);
	return 0;
}

int sim_form_parse(const char *body, size_t len, json_object **out)
{
	json_object *obj;
	size_t pos = 0;

	*out = NULL;
	/* json-c string lengths are ints. */
	if (len >= INT32_MAX)
		return -EINVAL;
	obj = json_object_new_object();
	while (pos < len) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - body) : len;

		if (end > pos) {
			int rc = add_pair(obj, body + pos, end - pos);

			if (rc < 0) {
				json_object_put(obj);
				return rc;
			}
		}
		pos = end + 1;
	}
	*out = obj;
	return 0;
}

bool sim_form_content_type(const char *value)
{
	size_t n = strlen(SIM_FORM_CT);

	if (!value)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, SIM_FORM_CT, n) != 0)
		return false;
	value += n;
	return *value == '\0' || *value == ';' || *value == ' ' || *value == '\t';
}
