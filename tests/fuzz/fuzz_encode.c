/* libFuzzer target for the request body encoders (src/http/encode.c:
 * encode_body for JSON and form, encode_url_component) and the LDIF
 * reader behind `membersync map --ldif` (src/ldap/ldif.c).
 *
 * Input format: the first byte picks the mode, the rest is its input.
 *
 *   'u'    raw bytes (NUL included) for encode_url_component.
 *   'l'    an LDIF file for ldif_read_entries (written to a scratch
 *          directory created once per process, removed at exit).
 *   'j'    JSON text (the rest of the input).
 *   other  JSON text: the whole input, so a JSON document is a seed as is.
 *
 * JSON is parsed with json_tokener at depth JSON_DEPTH, as drivers parse
 * answers; a value that is not an object is wrapped as {"v": value} (a
 * payload is always an object). Text that does not parse goes to
 * encode_url_component instead, so no input is wasted.
 *
 * Invariants:
 *  - encode_url_component: the output holds only RFC 3986 unreserved
 *    characters and %XX escapes (upper-case hex), and decodes back to the
 *    input, byte for byte.
 *  - encode_body(BODY_FORM): the output holds only unreserved characters,
 *    %XX, '=' and '&'; *len is its length; decoding it (the small decoder
 *    below) gives exactly the pairs the encoding promises, in order:
 *    name=value for each member whose value is not null, name[]=element
 *    for each non-null element of an array, strings as their bytes,
 *    booleans as true/false, anything else as its JSON text.
 *  - encode_body(BODY_JSON): *len is the output's length and the output
 *    parses back to an object equal to the input (NaN equal to NaN).
 *  - ldif_read_entries: returns 0, or a negative errno with an error text
 *    that names the file and a line ("PATH:LINE: ..."); every entry
 *    handed to the callback has a DN and attributes with names; a record
 *    skipped as no directory entry is reported with "PATH:LINE" and a
 *    UTF-8 reason; entries are freed (LeakSanitizer).
 * No crash, no leak, no undefined behaviour; a violation aborts with a
 * description on stderr. Inputs over 64 KiB are ignored. */
#include "config.h"

#include "http/encode.h"
#include "ldap/entry.h"
#include "ldap/ldif.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"
#include "fuzz_util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_LEN 65536
#define JSON_DEPTH 32

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *ldif_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!ldif_path)
		ldif_path = fuzz_write("fuzz.ldif", "", 0);
	return 0;
}

/* ------------------------------------------------------------ decoding */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not what encode.c writes */
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

/* Decodes s[0..len) (unreserved and %XX only) into sb; false on anything
 * else. */
static bool pct_decode(const char *s, size_t len, struct sbuf *sb)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			sbuf_addch(sb, (char)c);
		} else if (c == '%' && i + 2 < len) {
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			sbuf_addch(sb, (char)(h << 4 | l));
			i += 2;
		} else {
			return false;
		}
	}
	return true;
}

static void check_url_component(const char *in, size_t len)
{
	char *out = encode_url_component(in, len);
	struct sbuf sb;
	sbuf_init(&sb);
	if (!pct_decode(out, strlen(out), &sb))
		fuzz_fail("encode_url_component gave a character outside unreserved and %%XX: %s", out);
	if (sb.len != len || memcmp(sb.buf, in, len) != 0)
		fuzz_fail("encode_url_component(%zu bytes) = %s does not decode back to its input", len, out);
	sbuf_release(&sb);
	free(out);
}

/* ------------------------------------------------------------ JSON */

static bool json_equal(json_object *a, json_object *b)
{
	if (!a || !b)
		return !a && !b;
	enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
	/* Numbers: compared by value whatever json-c made of them. */
	bool na = ta == json_type_int || ta == json_type_double, nb = tb == json_type_int || tb == json_type_double;
	if (na && nb) {
		if (ta == json_type_int && tb == json_type_int)
			return json_object_get_int64(a) == json_object_get_int64(b) &&
			       json_object_get_uint64(a) == json_object_get_uint64(b);
		double x = json_object_get_double(a), y = json_object_get_double(b);
		return x == y || (isnan(x) && isnan(y));
	}
	if (ta != tb)
		return false;
	switch (ta) {
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		       memcmp(json_object_get_string(a), json_object_get_string(b),
			      (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array: {
		size_t n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!json_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
				return false;
		return true;
	}
	case json_type_object: {
		if (json_object_object_length(a) != json_object_object_length(b))
			return false;
		json_object_object_foreach(a, k, va) {
			json_object *vb;
			if (!json_object_object_get_ex(b, k, &vb) || !json_equal(va, vb))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

static json_object *json_parse(const char *s, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		abort();
	json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	if (o && json_tokener_get_parse_end(tok) != len) {
		/* Trailing bytes: not one JSON document. */
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void check_json_body(json_object *obj)
{
	size_t len = 0;
	char *out = encode_body(BODY_JSON, obj, &len);
	if (len != strlen(out))
		fuzz_fail("encode_body(JSON): len %zu but strlen %zu", len, strlen(out));
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH + 2);
	json_object *back = json_tokener_parse_ex(tok, out, (int)len);
	if (!back || json_tokener_get_parse_end(tok) != len)
		fuzz_fail("encode_body(JSON) does not parse back: %s", out);
	if (!json_equal(obj, back))
		fuzz_fail("encode_body(JSON) parses back to a different value: %s", out);
	json_object_put(back);
	json_tokener_free(tok);
	free(out);
}

/* One expected form pair: name (+ "[]") and the value's bytes. */
static void expect_pair(struct sbuf *want, const char *name, bool array, json_object *v)
{
	const char *text;
	size_t n;
	switch (json_object_get_type(v)) {
	case json_type_string:
		text = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		break;
	case json_type_boolean:
		text = json_object_get_boolean(v) ? "true" : "false";
		n = strlen(text);
		break;
	default:
		text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		n = strlen(text);
		break;
	}
	/* Pairs as name NUL value-length value: unambiguous whatever the
	 * bytes. */
	sbuf_addstr(want, name);
	if (array)
		sbuf_addstr(want, "[]");
	sbuf_addch(want, '\0');
	sbuf_addf(want, "%zu:", n);
	sbuf_add(want, text, n);
}

static void check_form_body(json_object *obj)
{
	size_t len = 0;
	char *out = encode_body(BODY_FORM, obj, &len);
	if (len != strlen(out))
		fuzz_fail("encode_body(FORM): len %zu but strlen %zu", len, strlen(out));

	struct sbuf want, got;
	sbuf_init(&want);
	sbuf_init(&got);
	json_object_object_foreach(obj, name, v) {
		if (!v)
			continue;
		if (json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			for (size_t i = 0; i < n; i++) {
				json_object *item = json_object_array_get_idx(v, i);
				if (item)
					expect_pair(&want, name, true, item);
			}
		} else {
			expect_pair(&want, name, false, v);
		}
	}

	/* Decode: pairs separated by '&', name and value by the first '='. */
	for (const char *p = out, *end = out + len; len && p <= end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (!eq)
			fuzz_fail("encode_body(FORM): a pair without '=': %s", out);
		struct sbuf dname, dvalue;
		sbuf_init(&dname);
		sbuf_init(&dvalue);
		if (!pct_decode(p, (size_t)(eq - p), &dname) ||
		    !pct_decode(eq + 1, (size_t)(stop - eq - 1), &dvalue))
			fuzz_fail("encode_body(FORM): a character outside unreserved, %%XX, '=' and '&': %s", out);
		sbuf_add(&got, dname.buf, dname.len);
		sbuf_addch(&got, '\0');
		sbuf_addf(&got, "%zu:", dvalue.len);
		sbuf_add(&got, dvalue.buf, dvalue.len);
		sbuf_release(&dname);
		sbuf_release(&dvalue);
		if (!amp)
			break;
		p = amp + 1;
	}
	if (want.len != got.len || (want.len && memcmp(want.buf, got.buf, want.len) != 0))
		fuzz_fail("encode_body(FORM) does not decode to the object's pairs: %s (from %s)", out,
			  json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	sbuf_release(&want);
	sbuf_release(&got);
	free(out);
}

/* ------------------------------------------------------------ LDIF */

static void ldif_entry_cb(void *ud, const struct entry *e)
{
	size_t *n = ud;
	if (!e->dn)
		fuzz_fail("ldif: an entry without a DN");
	for (size_t i = 0; i < e->n_attrs; i++)
		if (!e->attrs[i].name || !*e->attrs[i].name)
			fuzz_fail("ldif: entry %s has an attribute without a name", e->dn);
	(*n)++;
}

/* A record skipped as no directory entry: where is "FILE:LINE", the DN
 * (as far as it is text) and the reason are UTF-8 text. */
static void ldif_skip_cb(void *ud, const char *where, const char *dn, const char *why)
{
	(void)ud;
	size_t pl = strlen(ldif_path);
	if (!where || strncmp(where, ldif_path, pl) != 0 || where[pl] != ':' || atol(where + pl + 1) < 1)
		fuzz_fail("ldif: a skipped record's place is not FILE:LINE: %s", where ? where : "(null)");
	if (!why || !*why || !utf8_valid(why, strlen(why)))
		fuzz_fail("ldif: a skipped record (%s) has no UTF-8 reason", where);
	if (dn && !utf8_valid(dn, strlen(dn)))
		fuzz_fail("ldif: a skipped record's DN (%s) is not UTF-8", where);
}

static void check_ldif(const uint8_t *data, size_t size)
{
	FILE *f = fopen(ldif_path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(ldif_path);
		abort();
	}
	char *err = (char *)"unset";
	size_t n = 0;
	int r = ldif_read_entries(ldif_path, ldif_entry_cb, ldif_skip_cb, &n, &err);
	if (getenv("ENCODE_FUZZ_VERBOSE"))
		fprintf(stderr, "ldif_read_entries: %d, %zu entries%s%s\n", r, n, err ? ": " : "", err ? err : "");
	if (r > 0)
		fuzz_fail("ldif_read_entries returned %d", r);
	if (r == 0 && err)
		fuzz_fail("ldif_read_entries returned 0 with an error: %s", err);
	if (r < 0) {
		size_t pl = strlen(ldif_path);
		if (!err || strncmp(err, ldif_path, pl) != 0 || err[pl] != ':')
			fuzz_fail("ldif_read_entries returned %d with an error not naming the file: %s", r,
				  err ? err : "(null)");
		char *end;
		long line = strtol(err + pl + 1, &end, 10);
		if (end == err + pl + 1 || *end != ':' || line < 1)
			fuzz_fail("ldif_read_entries: the error names no line: %s", err);
	}
	free(err == (char *)"unset" ? NULL : err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_LEN)
		return 0;
	if (!ldif_path)
		LLVMFuzzerInitialize(NULL, NULL);
	char mode = size ? (char)data[0] : 0;
	if (mode == 'u' || mode == 'l' || mode == 'j') {
		data++;
		size--;
	}
	if (mode == 'l') {
		check_ldif(data, size);
		return 0;
	}
	if (mode == 'u') {
		check_url_component((const char *)data, size);
		return 0;
	}
	json_object *o = json_parse((const char *)data, size);
	if (!o) {
		check_url_component((const char *)data, size);
		return 0;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object *w = json_object_new_object();
		json_object_object_add(w, "v", o);
		o = w;
	}
	check_json_body(o);
	check_form_body(o);
	json_object_put(o);
	return 0;
}
