/* Conversions and encodings: directories hold numbers and flags as text
 * ("0042", "TRUE"), APIs want typed JSON; and some fields want a digest or
 * base64 of a value rather than the value. Applied to an array they apply
 * to each element; null stays null. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/base64.h"
#include "util/hash.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static bool codec_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Narrows [*s, *s + *len) to its text without surrounding ASCII white
 * space. */
static void codec_trim(const char **s, size_t *len)
{
	while (*len > 0 && codec_is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && codec_is_space((*s)[*len - 1]))
		(*len)--;
}

enum codec_int_parse { CODEC_INT_OK, CODEC_INT_BAD, CODEC_INT_RANGE };

/* Decimal with an optional sign, by hand: strtoll would also take "0x1f"
 * (base 0), leading space inside a trimmed value and ignore what follows. */
static enum codec_int_parse codec_parse_int(const char *s, size_t len, long long *out)
{
	codec_trim(&s, &len);
	bool neg = len > 0 && s[0] == '-';
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		len--;
	}
	if (len == 0)
		return CODEC_INT_BAD;
	unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	unsigned long long acc = 0;
	bool range = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CODEC_INT_BAD;
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (limit - d) / 10)
			range = true;
		else
			acc = acc * 10 + d;
	}
	if (range)
		return CODEC_INT_RANGE;
	/* -LLONG_MIN does not fit: negate in unsigned arithmetic. */
	*out = neg ? (long long)(0 - acc) : (long long)acc;
	return CODEC_INT_OK;
}

static int op_int(struct meval *ctx, const void *ud, struct mval *item)
{
	long long i = 0;
	enum codec_int_parse r = CODEC_INT_BAD;
	if (item->type == MV_NULL || item->type == MV_INT)
		return 0;
	/* "" is no value, as for the other conversions: null, not an error. */
	if (item->type == MV_STRING && item->u.str.len == 0) {
		mval_clear(item);
		return 0;
	}
	if (item->type == MV_BOOL) {
		mval_set_int(item, item->u.b ? 1 : 0);
		return 0;
	}
	if (item->type == MV_STRING)
		r = codec_parse_int(item->u.str.s, item->u.str.len, &i);
	if (r == CODEC_INT_OK) {
		mval_set_int(item, i);
		return 0;
	}
	if (r == CODEC_INT_RANGE)
		return mfunc_fail_value(ctx, "int", item, "is out of the integer range (%lld to %lld)",
					LLONG_MIN, LLONG_MAX);
	return mfunc_fail_value(ctx, "int", item, "is not an integer");
}

/* "0042" -> 42, " -7 " -> -7, true -> 1. */
static int fn_int(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_int, NULL);
	mval_move(out, &args[0]);
	return r;
}

/* Boolean text with white space around it, as people type it. */
static int codec_parse_bool(const char *s, size_t len, bool *out)
{
	codec_trim(&s, &len);
	return mval_parse_bool_text(s, len, out) ? 0 : -EINVAL;
}

static int op_bool(struct meval *ctx, const void *ud, struct mval *item)
{
	bool b;
	if (item->type == MV_NULL || item->type == MV_BOOL)
		return 0;
	if (item->type == MV_STRING && item->u.str.len == 0) {
		mval_clear(item);
		return 0;
	}
	if (item->type == MV_INT && (item->u.i == 0 || item->u.i == 1)) {
		mval_set_bool(item, item->u.i == 1);
		return 0;
	}
	if (item->type == MV_STRING && codec_parse_bool(item->u.str.s, item->u.str.len, &b) == 0) {
		mval_set_bool(item, b);
		return 0;
	}
	return mfunc_fail_value(ctx, "bool", item, "is not a boolean (true/false, yes/no, on/off, 1/0)");
}

/* "TRUE" -> true, " no " -> false, 1 -> true. */
static int fn_bool(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_bool, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int op_md5(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char hex[HASH_MD5_HEX_LEN + 1];
	if (hash_md5_hex(item->u.str.s, item->u.str.len, hex) < 0)
		return meval_fail(ctx, "md5: this OpenSSL does not provide MD5 (FIPS mode?); use sha256");
	mval_set_string(item, hex, HASH_MD5_HEX_LEN);
	return 0;
}

/* Lowercase hex MD5 of the value's UTF-8 text (ints as their decimal). */
static int fn_md5(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_md5, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int op_sha256(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char hex[HASH_SHA256_HEX_LEN + 1];
	hash_sha256_hex(item->u.str.s, item->u.str.len, hex);
	mval_set_string(item, hex, HASH_SHA256_HEX_LEN);
	return 0;
}

/* Lowercase hex SHA-256 of the value's UTF-8 text. */
static int fn_sha256(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_sha256, NULL);
	mval_move(out, &args[0]);
	return r;
}

/* What base64's prepare step leaves in data: NULL for RFC 4648 section 4
 * (with padding), this for section 5, base64url without padding. */
static const char codec_base64url[] = "url";

static int base64_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			  void **data, char **err)
{
	if (nargs < 2)
		return 0;
	if (lits[1]->type != MV_STRING || strcmp(lits[1]->u.str.s, codec_base64url) != 0) {
		struct sbuf sb;
		sbuf_init(&sb);
		mval_append_quoted(lits[1], &sb);
		*err = xasprintf("unknown variant %s (the only one is 'url': base64url without padding)",
				 sb.buf);
		sbuf_release(&sb);
		return -EINVAL;
	}
	/* Static: base64 has no free_data. */
	*data = (void *)codec_base64url;
	return 0;
}

static int op_base64(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	size_t n = item->u.str.len;
	/* The output is a third longer than the input: checking the input
	 * first also keeps the size arithmetic from overflowing. */
	size_t out_len = n / 3 * 4;
	if (n % 3)
		out_len += ud ? n % 3 + 1 : 4;
	if (n > MFUNC_MAX_RESULT_BYTES || out_len > MFUNC_MAX_RESULT_BYTES)
		return meval_fail(ctx, "base64: the result would be over %u bytes", MFUNC_MAX_RESULT_BYTES);
	char *out = base64_encode(item->u.str.s, n, ud != NULL, &out_len);
	mval_take_string(item, out, out_len);
	return 0;
}

/* RFC 4648 base64 of the value's UTF-8 text; base64('url'): base64url,
 * unpadded. */
static int fn_base64(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_base64, data);
	mval_move(out, &args[0]);
	return r;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("int", 1, 1, fn_int, "${value | int}"),
	MFUNC_PLAIN("bool", 1, 1, fn_bool, "${value | bool}"),
	MFUNC_PLAIN("md5", 1, 1, fn_md5, "${value | md5}"),
	MFUNC_PLAIN("sha256", 1, 1, fn_sha256, "${value | sha256}"),
	MFUNC_PREPARED("base64", 1, 2, fn_base64, "${value | base64(['url'])}", 0x2u, base64_prepare, NULL),
};

MFUNC_TABLE(mfunc_codec_table, funcs);
