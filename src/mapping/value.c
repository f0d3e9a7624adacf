#include "config.h"

#include "mapping/value.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void mval_clear(struct mval *v)
{
	switch (v->type) {
	case MV_STRING:
		free(v->u.str.s);
		break;
	case MV_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			mval_clear(&v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	default:
		break;
	}
	*v = MVAL_NULL;
}

void mval_set_string(struct mval *v, const char *s, size_t len)
{
	char *copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, s, len);
	copy[len] = '\0';
	mval_take_string(v, copy, len);
}

void mval_take_string(struct mval *v, char *s, size_t len)
{
	mval_clear(v);
	v->type = MV_STRING;
	v->u.str.s = s;
	v->u.str.len = len;
}

void mval_set_int(struct mval *v, long long i)
{
	mval_clear(v);
	v->type = MV_INT;
	v->u.i = i;
}

void mval_set_bool(struct mval *v, bool b)
{
	mval_clear(v);
	v->type = MV_BOOL;
	v->u.b = b;
}

void mval_set_time(struct mval *v, long long ms)
{
	mval_clear(v);
	v->type = MV_TIME;
	v->u.i = ms;
}

void mval_set_array(struct mval *v, size_t n)
{
	mval_clear(v);
	v->type = MV_ARRAY;
	v->u.arr.items = n ? xcalloc(n, sizeof(struct mval)) : NULL;
	v->u.arr.n = 0;
	v->u.arr.cap = n;
}

void mval_array_push(struct mval *v, struct mval *item)
{
	xgrow((void **)&v->u.arr.items, &v->u.arr.cap, v->u.arr.n, sizeof(struct mval));
	v->u.arr.items[v->u.arr.n++] = *item;
	*item = MVAL_NULL;
}

void mval_copy(struct mval *dst, const struct mval *src)
{
	switch (src->type) {
	case MV_STRING:
		mval_set_string(dst, src->u.str.s, src->u.str.len);
		break;
	case MV_ARRAY:
		mval_set_array(dst, src->u.arr.n);
		for (size_t i = 0; i < src->u.arr.n; i++) {
			struct mval item = MVAL_NULL;
			mval_copy(&item, &src->u.arr.items[i]);
			dst->u.arr.items[dst->u.arr.n++] = item;
		}
		break;
	default:
		mval_clear(dst);
		*dst = *src;
		break;
	}
}

void mval_move(struct mval *dst, struct mval *src)
{
	mval_clear(dst);
	*dst = *src;
	*src = MVAL_NULL;
}

bool mval_is_empty(const struct mval *v)
{
	switch (v->type) {
	case MV_NULL: return true;
	case MV_STRING: return v->u.str.len == 0;
	case MV_ARRAY: return v->u.arr.n == 0;
	default: return false;
	}
}

/* ASCII only, so the answer does not depend on the locale. */
static bool value_word_equal(const char *s, size_t len, const char *word)
{
	if (strlen(word) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

bool mval_parse_bool_text(const char *s, size_t len, bool *out)
{
	static const char *const words[][2] = {
		{ "true", "false" },
		{ "yes", "no" },
		{ "on", "off" },
		{ "1", "0" },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		for (int b = 0; b < 2; b++)
			if (value_word_equal(s, len, words[i][b])) {
				*out = b == 0;
				return true;
			}
	return false;
}

bool mval_truthy(const struct mval *v)
{
	bool b;
	switch (v->type) {
	case MV_NULL: return false;
	case MV_BOOL: return v->u.b;
	case MV_INT: return v->u.i != 0;
	case MV_TIME: return true;
	case MV_ARRAY: return v->u.arr.n > 0;
	case MV_STRING:
		if (mval_parse_bool_text(v->u.str.s, v->u.str.len, &b) && !b)
			return false;
		return v->u.str.len > 0;
	}
	return false;
}

bool mval_equal_text(const struct mval *a, const struct mval *b)
{
	if (a->type == MV_STRING && b->type == MV_STRING)
		return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	struct sbuf ta, tb;
	sbuf_init(&ta);
	sbuf_init(&tb);
	mval_append_text(a, &ta, ",");
	mval_append_text(b, &tb, ",");
	bool eq = ta.len == tb.len && memcmp(ta.buf, tb.buf, ta.len) == 0;
	sbuf_release(&ta);
	sbuf_release(&tb);
	return eq;
}

const char *mval_type_name(enum mval_type t)
{
	switch (t) {
	case MV_NULL: return "null";
	case MV_STRING: return "string";
	case MV_INT: return "integer";
	case MV_BOOL: return "boolean";
	case MV_ARRAY: return "array";
	case MV_TIME: return "time";
	}
	return "?";
}

void mval_append_text(const struct mval *v, struct sbuf *sb, const char *sep)
{
	switch (v->type) {
	case MV_NULL:
		break;
	case MV_STRING:
		sbuf_add(sb, v->u.str.s, v->u.str.len);
		break;
	case MV_INT:
		sbuf_addf(sb, "%lld", v->u.i);
		break;
	case MV_BOOL:
		sbuf_addstr(sb, v->u.b ? "true" : "false");
		break;
	case MV_TIME:
		mval_append_iso8601(v->u.i, sb);
		break;
	case MV_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++) {
			if (i)
				sbuf_addstr(sb, sep);
			mval_append_text(&v->u.arr.items[i], sb, sep);
		}
		break;
	}
}

#define QUOTE_MAX_CHARS 64

void mval_append_quoted(const struct mval *v, struct sbuf *sb)
{
	if (v->type == MV_ARRAY) {
		sbuf_addch(sb, '[');
		for (size_t i = 0; i < v->u.arr.n && i < 5; i++) {
			if (i)
				sbuf_addstr(sb, ", ");
			mval_append_quoted(&v->u.arr.items[i], sb);
		}
		if (v->u.arr.n > 5)
			sbuf_addf(sb, ", ... (%zu values)", v->u.arr.n);
		sbuf_addch(sb, ']');
		return;
	}
	if (v->type != MV_STRING) {
		if (v->type == MV_NULL)
			sbuf_addstr(sb, "null");
		else
			mval_append_text(v, sb, ",");
		return;
	}
	const char *s = v->u.str.s;
	size_t len = v->u.str.len;
	size_t cut = utf8_prefix_bytes(s, len, QUOTE_MAX_CHARS);
	sbuf_addch(sb, '"');
	for (size_t i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			sbuf_addf(sb, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sbuf_addf(sb, "\\x%02x", c);
		else
			sbuf_addch(sb, (char)c);
	}
	sbuf_addch(sb, '"');
	if (cut < len)
		sbuf_addf(sb, "... (%zu characters)", utf8_length(s, len));
}

void mval_append_iso8601(long long ms, struct sbuf *sb)
{
	/* Floor division: -1 ms is 1969-12-31T23:59:59.999Z. */
	long long secs = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		sbuf_addf(sb, "@%lld", ms);
		return;
	}
	sbuf_addf(sb, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		  tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac)
		sbuf_addf(sb, ".%03lld", frac);
	sbuf_addch(sb, 'Z');
}
