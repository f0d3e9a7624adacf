/* Text functions: case, whitespace, length, regexes, splitting, e-mail
 * parts. Applied to an array they apply to each element. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "mapping/regex.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Case mapping without a locale: the daemon's answer must not depend on
 * LANG. Covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (with
 * the Kazakh, Tatar and other letters of Cyrillic Supplement), the
 * scripts with case that directories hold (Turkish dotted/dotless i map
 * to ASCII I/i); CJK has no case. No mapping
 * makes a character longer in UTF-8, so text is rewritten in place. */
/* Greek letters with tonos or dialytika that are not 0x20 apart. */
static const uint16_t greek_pairs[][2] = {
	{ 0x386, 0x3AC }, { 0x388, 0x3AD }, { 0x389, 0x3AE }, { 0x38A, 0x3AF },
	{ 0x38C, 0x3CC }, { 0x38E, 0x3CD }, { 0x38F, 0x3CE },
};

static uint32_t text_case_map(uint32_t c, bool upper)
{
	for (size_t i = 0; c >= 0x386 && c <= 0x3CE && i < sizeof(greek_pairs) / sizeof(greek_pairs[0]); i++)
		if (c == greek_pairs[i][upper ? 1 : 0])
			return greek_pairs[i][upper ? 0 : 1];
	if (upper && c == 0x3C2) /* final sigma */
		return 0x3A3;
	if (c < 0x80)
		return upper ? (uint32_t)toupper((int)c) : (uint32_t)tolower((int)c);
	if (upper) {
		if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) ||
		    (c >= 0x430 && c <= 0x44F))
			return c - 0x20;
		if (c >= 0x450 && c <= 0x45F)
			return c - 0x50;
		if (c == 0xFF)
			return 0x178;
		if (c == 0x131) /* dotless i */
			return 'I';
		if ((c >= 0x100 && c <= 0x137 && (c & 1)) || (c >= 0x14A && c <= 0x177 && (c & 1)))
			return c - 1;
		if ((c >= 0x139 && c <= 0x148 && !(c & 1)) || (c >= 0x179 && c <= 0x17E && !(c & 1)))
			return c - 1;
		if (((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F)) &&
		    (c & 1))
			return c - 1;
		if (c >= 0x4C1 && c <= 0x4CE && !(c & 1))
			return c - 1;
		if (c == 0x4CF)
			return 0x4C0;
		return c;
	}
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
	    (c >= 0x410 && c <= 0x42F))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c == 0x178)
		return 0xFF;
	if (c == 0x130) /* I with dot above */
		return 'i';
	if ((c >= 0x100 && c <= 0x137 && !(c & 1) && c != 0x130) || (c >= 0x14A && c <= 0x177 && !(c & 1)))
		return c + 1;
	if ((c >= 0x139 && c <= 0x148 && (c & 1)) || (c >= 0x179 && c <= 0x17E && (c & 1)))
		return c + 1;
	if (((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F)) && !(c & 1))
		return c + 1;
	if (c >= 0x4C1 && c <= 0x4CE && (c & 1))
		return c + 1;
	if (c == 0x4C0)
		return 0x4CF;
	return c;
}

static size_t text_put(char *s, uint32_t c)
{
	if (c < 0x80) {
		s[0] = (char)c;
		return 1;
	}
	s[0] = (char)(0xC0 | (c >> 6));
	s[1] = (char)(0x80 | (c & 0x3F));
	return 2;
}

static int op_case(struct meval *ctx, const void *ud, struct mval *item)
{
	bool upper = ud != NULL;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char *s = item->u.str.s;
	size_t len = item->u.str.len, out = 0;
	for (size_t pos = 0; pos < len;) {
		unsigned char b = (unsigned char)s[pos];
		if (b < 0x80) {
			/* ASCII, most of any directory: no decoding. */
			if (upper ? b >= 'a' && b <= 'z' : b >= 'A' && b <= 'Z')
				b ^= 0x20;
			s[out++] = (char)b;
			pos++;
			continue;
		}
		size_t start = pos;
		uint32_t c = utf8_next(s, len, &pos);
		uint32_t m = text_case_map(c, upper);
		if (m == c) {
			memmove(s + out, s + start, pos - start);
			out += pos - start;
		} else {
			out += text_put(s + out, m);
		}
	}
	item->u.str.len = out;
	s[out] = '\0';
	return 0;
}

static int fn_lower(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_case, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int fn_upper(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_case, "upper");
	mval_move(out, &args[0]);
	return r;
}

/* Unicode white space that directories hold in practice: ASCII space and
 * controls, NBSP, the ideographic space of CJK input methods, and the
 * zero-width no-break space (BOM) pasted from spreadsheets. */
static bool text_is_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x3000 || c == 0xFEFF ||
	       (c >= 0x2000 && c <= 0x200B);
}

static int op_trim(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char *s = item->u.str.s;
	size_t len = item->u.str.len, start = 0, end = 0;
	bool seen = false;
	for (size_t pos = 0; pos < len;) {
		size_t at = pos;
		if (!text_is_space(utf8_next(s, len, &pos))) {
			if (!seen)
				start = at;
			seen = true;
			end = pos;
		}
	}
	if (!seen)
		start = end = 0;
	memmove(s, s + start, end - start);
	item->u.str.len = end - start;
	s[item->u.str.len] = '\0';
	return 0;
}

static int fn_trim(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_trim, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int op_truncate(struct meval *ctx, const void *ud, struct mval *item)
{
	size_t max = *(const size_t *)ud;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	item->u.str.len = utf8_prefix_bytes(item->u.str.s, item->u.str.len, max);
	item->u.str.s[item->u.str.len] = '\0';
	return 0;
}

static int fn_truncate(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	long long n;
	if (mfunc_arg_int(ctx, "truncate", &args[1], 0, 1 << 24, &n) < 0)
		return -EINVAL;
	size_t max = (size_t)n;
	int r = mfunc_each(ctx, &args[0], op_truncate, &max);
	mval_move(out, &args[0]);
	return r;
}

struct text_regex {
	struct mregex *re;
	char *repl;
};

static void text_regex_free(void *data)
{
	struct text_regex *tr = data;
	mregex_free(tr->re);
	free(tr->repl);
	free(tr);
}

static int text_regex_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			      void **data, char **err)
{
	if (lits[1]->type != MV_STRING) {
		*err = xstrdup("the regex must be a string");
		return -EINVAL;
	}
	struct mregex *re = mregex_compile(lits[1]->u.str.s, lits[1]->u.str.len, err);
	if (!re)
		return -EINVAL;
	struct text_regex *tr = XNEW(struct text_regex);
	tr->re = re;
	if (nargs > 2) {
		if (lits[2]->type != MV_STRING) {
			*err = xstrdup("the replacement must be a string");
			text_regex_free(tr);
			return -EINVAL;
		}
		if (mregex_check_replacement(re, lits[2]->u.str.s, err) < 0) {
			text_regex_free(tr);
			return -EINVAL;
		}
		tr->repl = xstrdup(lits[2]->u.str.s);
	}
	*data = tr;
	return 0;
}

static int op_replace(struct meval *ctx, const void *ud, struct mval *item)
{
	const struct text_regex *tr = ud;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char *res, *err;
	size_t len;
	int r = mregex_replace(tr->re, item->u.str.s, item->u.str.len, tr->repl, MFUNC_MAX_RESULT_BYTES, &res, &len,
			       &err);
	if (r == -E2BIG)
		return meval_fail(ctx, "replace: the regex gave up on this value (too much backtracking)");
	if (r == -EMSGSIZE)
		return meval_fail(ctx, "replace: the value is over %u bytes, too long for a regex",
				  MREGEX_MAX_SUBJECT);
	if (r == -EFBIG)
		return meval_fail(ctx, "replace: the result would be over %u bytes", MFUNC_MAX_RESULT_BYTES);
	if (r < 0) {
		meval_fail(ctx, "replace: %s", err);
		free(err);
		return r;
	}
	mval_take_string(item, res, len);
	return 0;
}

static int fn_replace(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_replace, data);
	mval_move(out, &args[0]);
	return r;
}

static int regex_test(struct meval *ctx, const struct text_regex *tr, struct mval *v, bool *matched)
{
	mfunc_as_text(v);
	if (v->type != MV_STRING)
		return 0;
	int r = mregex_match(tr->re, v->u.str.s, v->u.str.len);
	if (r == -EFBIG)
		return meval_fail(ctx, "regex_match: the value is over %u bytes, too long for a regex",
				  MREGEX_MAX_SUBJECT);
	if (r < 0)
		return meval_fail(ctx,
				  "regex_match: the regex gave up on this value (too much backtracking)");
	*matched = *matched || r == 1;
	return 0;
}

/* True when the value (or any element of an array) matches. */
static int fn_regex_match(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			  struct mval *out)
{
	bool matched = false;
	struct mval *v = &args[0];
	size_t n = v->type == MV_ARRAY ? v->u.arr.n : 1;
	for (size_t i = 0; i < n && !matched; i++) {
		int r = regex_test(ctx, data, v->type == MV_ARRAY ? &v->u.arr.items[i] : v, &matched);
		if (r < 0)
			return r;
	}
	mval_set_bool(out, matched);
	return 0;
}

static int text_sep_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			    void **data, char **err)
{
	if (lits[1]->type != MV_STRING || lits[1]->u.str.len == 0) {
		*err = xstrdup("the separator must be a non-empty string");
		return -EINVAL;
	}
	return 0;
}

static void text_split_into(struct mval *out, const char *s, size_t len, const char *sep, size_t seplen)
{
	const char *end = s + len;
	for (;;) {
		const char *hit = memmem(s, (size_t)(end - s), sep, seplen);
		struct mval part = MVAL_NULL;
		mval_set_string(&part, s, hit ? (size_t)(hit - s) : (size_t)(end - s));
		mval_array_push(out, &part);
		if (!hit)
			return;
		s = hit + seplen;
	}
}

/* "a,b" -> ["a", "b"]; an array is split element by element into one
 * flat array. Empty parts are kept: "a,,b" has three. */
static int fn_split(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	struct mval *v = &args[0];
	const struct mval *sep = &args[1];
	if (v->type == MV_NULL)
		return 0;
	mval_set_array(out, 0);
	size_t n = v->type == MV_ARRAY ? v->u.arr.n : 1;
	for (size_t i = 0; i < n; i++) {
		struct mval *item = v->type == MV_ARRAY ? &v->u.arr.items[i] : v;
		mfunc_as_text(item);
		if (item->type != MV_STRING)
			continue;
		text_split_into(out, item->u.str.s, item->u.str.len, sep->u.str.s, sep->u.str.len);
	}
	return 0;
}

/* The part before (local) or after (domain) the last '@'; a value without
 * one has neither and gives null. Domains are case-insensitive, so the
 * domain comes back lowercased; the local part is left as is. */
static int op_email_part(struct meval *ctx, const void *ud, struct mval *item)
{
	bool domain = ud != NULL;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	char *s = item->u.str.s;
	char *at = memrchr(s, '@', item->u.str.len);
	if (!at || at == s || at == s + item->u.str.len - 1) {
		mval_clear(item);
		return 0;
	}
	struct mval part = MVAL_NULL;
	if (domain) {
		mval_set_string(&part, at + 1, item->u.str.len - (size_t)(at + 1 - s));
		op_case(ctx, NULL, &part);
	} else {
		mval_set_string(&part, s, (size_t)(at - s));
	}
	mval_move(item, &part);
	return 0;
}

static int fn_email_local(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			  struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_email_part, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int fn_email_domain(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			   struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_email_part, "domain");
	mval_move(out, &args[0]);
	return r;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("lower", 1, 1, fn_lower, "${value | lower}"),
	MFUNC_PLAIN("upper", 1, 1, fn_upper, "${value | upper}"),
	MFUNC_PLAIN("trim", 1, 1, fn_trim, "${value | trim}"),
	MFUNC_PLAIN("truncate", 2, 2, fn_truncate, "${value | truncate(max_characters)}"),
	MFUNC_PREPARED("replace", 3, 3, fn_replace, "${value | replace('regex', 'replacement')}", 0x6u,
		       text_regex_prepare, text_regex_free),
	MFUNC_PREPARED("regex_match", 2, 2, fn_regex_match, "${value | regex_match('regex')}", 0x2u,
		       text_regex_prepare, text_regex_free),
	MFUNC_PREPARED("split", 2, 2, fn_split, "${value | split('separator')}", 0x2u, text_sep_prepare,
		       NULL),
	MFUNC_PLAIN("email_local", 1, 1, fn_email_local, "${mail | email_local}"),
	MFUNC_PLAIN("email_domain", 1, 1, fn_email_domain, "${mail | email_domain}"),
};

MFUNC_TABLE(mfunc_text_table, funcs);
