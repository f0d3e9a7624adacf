#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include "mapping/regex.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Generous for any sane mapping pattern on a directory value (patterns run
 * on values up to megabytes, and a group repeated over a long value needs a
 * backtracking frame per repetition), small enough that a catastrophic
 * pattern gives up within a fraction of a second. */
#define MREGEX_MATCH_LIMIT 2000000u
#define MREGEX_MATCH_LIMIT_MIN 10000u
#define MREGEX_PATTERN_UNIT 64u
#define MREGEX_HEAP_LIMIT_KIB (64u * 1024u)
#define MREGEX_JIT_STACK_MAX (64u << 20)
/* All of one value's search (see mregex_find). */
#define MREGEX_DEADLINE_USEC 250000u

struct mregex {
	pcre2_code *code;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;	/* NULL without JIT */
	unsigned groups;
};

static char *mregex_error_text(int code)
{
	PCRE2_UCHAR buf[256];
	if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0)
		return xstrdup("unknown regex error");
	return xstrdup((const char *)buf);
}

struct mregex *mregex_compile(const char *pattern, size_t len, char **err)
{
	int code;
	PCRE2_SIZE offset;
	*err = NULL;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &code,
				      &offset, NULL);
	if (!c) {
		char *why = mregex_error_text(code);
		size_t at = offset <= len && utf8_valid(pattern, offset) ? utf8_length(pattern, offset) : offset;
		*err = xasprintf("bad regex at character %zu: %s", at + 1, why);
		free(why);
		return NULL;
	}
	struct mregex *re = XNEW(struct mregex);
	re->code = c;
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->mctx)
		abort();
	/* A step can compare a whole literal of the pattern: long patterns get
	 * proportionally fewer steps, so a limit costs about the same time. */
	uint32_t limit = MREGEX_MATCH_LIMIT;
	if (len > MREGEX_PATTERN_UNIT)
		limit = (uint32_t)((uint64_t)MREGEX_MATCH_LIMIT * MREGEX_PATTERN_UNIT / len);
	pcre2_set_match_limit(re->mctx, limit > MREGEX_MATCH_LIMIT_MIN ? limit : MREGEX_MATCH_LIMIT_MIN);
	pcre2_set_heap_limit(re->mctx, MREGEX_HEAP_LIMIT_KIB);
	/* JIT is an optimisation: without it (no executable memory under
	 * MemoryDenyWriteExecute) the interpreter gives the same answers. Its
	 * default 32 KiB stack would give up on long values. */
	if (pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0) {
		re->jit_stack = pcre2_jit_stack_create(32u << 10, MREGEX_JIT_STACK_MAX, NULL);
		if (re->jit_stack)
			pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
	}
	uint32_t groups = 0;
	pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &groups);
	re->groups = groups;
	return re;
}

void mregex_free(struct mregex *re)
{
	if (!re)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_jit_stack_free(re->jit_stack);
	pcre2_code_free(re->code);
	free(re);
}

unsigned mregex_groups(const struct mregex *re)
{
	return re->groups;
}

/* Finds the leftmost match at or after `start`. PCRE2's match limit applies at each start
 * position, so a pattern that costs a little less than the limit at every
 * position would run for minutes (a long pattern does it on a short
 * value): positions are tried one at a time, anchored, with the clock
 * checked between them. Returns 1 with the match in md, 0, or -E2BIG (a
 * limit or the deadline; PCRE2's other errors cannot happen on a checked
 * pattern and UTF-8 subject, and are reported the same way rather than as
 * "no match"). */
static int mregex_find(const struct mregex *re, const char *s, size_t len, size_t start, pcre2_match_data *md,
		       uint64_t deadline)
{
	for (size_t pos = start;;) {
		int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, pos, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md,
				     re->mctx);
		if (rc >= 0)
			return 1;
		if (rc != PCRE2_ERROR_NOMATCH)
			return -E2BIG;
		if (pos >= len)
			return 0;
		pos += utf8_char_bytes(s, len, pos);
		if (time_now_mono_usec() > deadline)
			return -E2BIG;
	}
}

int mregex_match(const struct mregex *re, const char *s, size_t len)
{
	if (len > MREGEX_MAX_SUBJECT)
		return -EFBIG;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!md)
		abort();
	/* Values are checked UTF-8 before they reach a regex. */
	int r = mregex_find(re, s, len, 0, md, time_now_mono_usec() + MREGEX_DEADLINE_USEC);
	pcre2_match_data_free(md);
	return r;
}

int mregex_check_replacement(const struct mregex *re, const char *repl, char **err)
{
	*err = NULL;
	for (const char *p = repl; *p; p++) {
		if (*p != '$')
			continue;
		p++;
		if (*p == '$')
			continue;
		bool braced = *p == '{';
		if (braced)
			p++;
		if (isdigit((unsigned char)*p)) {
			unsigned long n = strtoul(p, (char **)&p, 10);
			if (n > re->groups) {
				*err = xasprintf("replacement refers to group %lu, but the regex has %u", n,
						 re->groups);
				return -EINVAL;
			}
		} else if (braced && (isalpha((unsigned char)*p) || *p == '_')) {
			const char *start = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			char *name = xstrndup(start, (size_t)(p - start));
			int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
			if (n < 0)
				*err = xasprintf(
					"replacement refers to group '%s', which the regex does not name",
					name);
			free(name);
			if (n < 0)
				return -EINVAL;
		} else {
			*err = xstrdup("'$' in a replacement must be followed by a group number, "
				       "{name} or '$'");
			return -EINVAL;
		}
		if (braced && *p != '}') {
			*err = xstrdup("'${' in a replacement is not closed by '}'");
			return -EINVAL;
		}
		if (!braced)
			p--;
	}
	return 0;
}

/* Appends the replacement for the match in md to out. */
static int mregex_expand(const struct mregex *re, const char *s, size_t len, pcre2_match_data *md,
			 const char *repl, struct sbuf *out, size_t max, char **err)
{
	PCRE2_UCHAR small[256];
	PCRE2_UCHAR *buf = small;
	PCRE2_SIZE got = sizeof(small);
	const uint32_t opts = PCRE2_SUBSTITUTE_MATCHED | PCRE2_SUBSTITUTE_REPLACEMENT_ONLY |
			      PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_NO_UTF_CHECK;
	int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0, opts, md, re->mctx, (PCRE2_SPTR)repl,
				  PCRE2_ZERO_TERMINATED, buf, &got);
	if (rc == PCRE2_ERROR_NOMEMORY && got <= max + 1) {
		buf = xmalloc(got);
		rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0, opts, md, re->mctx, (PCRE2_SPTR)repl,
				      PCRE2_ZERO_TERMINATED, buf, &got);
	}
	int r = 0;
	if (rc == PCRE2_ERROR_NOMEMORY || (rc >= 0 && out->len + got > max))
		r = -EFBIG;
	else if (rc < 0)
		*err = mregex_error_text(rc), r = -EINVAL;
	else
		sbuf_add(out, buf, got);
	if (buf != small)
		free(buf);
	return r;
}

int mregex_replace(const struct mregex *re, const char *s, size_t len, const char *repl, size_t max, char **out,
		   size_t *out_len, char **err)
{
	*err = NULL;
	if (len > MREGEX_MAX_SUBJECT)
		return -EMSGSIZE;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!md)
		abort();
	uint64_t deadline = time_now_mono_usec() + MREGEX_DEADLINE_USEC;
	struct sbuf res;
	sbuf_init(&res);
	size_t pos = 0, copied = 0;
	int r;
	/* As PCRE2's global substitution: after an empty match, a non-empty
	 * one at the same place is tried before moving on one character. */
	while ((r = mregex_find(re, s, len, pos, md, deadline)) == 1) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t from = ov[0], to = ov[1];
		sbuf_add(&res, s + copied, from - copied);
		if ((r = mregex_expand(re, s, len, md, repl, &res, max, err)) < 0)
			break;
		copied = pos = to;
		if (from != to)
			continue;
		/* The retry for a non-empty match at `to` itself: */
		int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, pos,
				     PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, re->mctx);
		if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
			r = -E2BIG;
			break;
		}
		if (rc >= 0) {
			ov = pcre2_get_ovector_pointer(md);
			sbuf_add(&res, s + copied, ov[0] - copied);
			if ((r = mregex_expand(re, s, len, md, repl, &res, max, err)) < 0)
				break;
			copied = pos = ov[1];
			continue;
		}
		if (pos >= len)
			break;
		pos += utf8_char_bytes(s, len, pos);
	}
	pcre2_match_data_free(md);
	if (r >= 0 && res.len + (len - copied) > max)
		r = -EFBIG;
	if (r < 0) {
		sbuf_release(&res);
		return r;
	}
	sbuf_add(&res, s + copied, len - copied);
	*out = sbuf_detach(&res, out_len);
	sbuf_release(&res);
	return 0;
}
