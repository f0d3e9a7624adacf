#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include "mapping/regex.h"
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
#define MREGEX_MATCH_LIMIT 10000000u
#define MREGEX_HEAP_LIMIT_KIB (64u * 1024u)
#define MREGEX_JIT_STACK_MAX (64u << 20)

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
	pcre2_set_match_limit(re->mctx, MREGEX_MATCH_LIMIT);
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

static bool mregex_limit_hit(int rc)
{
	return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
	       rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

int mregex_match(const struct mregex *re, const char *s, size_t len)
{
	if (len > MREGEX_MAX_SUBJECT)
		return -EFBIG;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!md)
		abort();
	/* Values are checked UTF-8 before they reach a regex. */
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, md, re->mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return mregex_limit_hit(rc) ? -E2BIG : 0;
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

int mregex_replace(const struct mregex *re, const char *s, size_t len, const char *repl, size_t max, char **out,
		   size_t *out_len, char **err)
{
	*err = NULL;
	if (len > MREGEX_MAX_SUBJECT)
		return -EMSGSIZE;
	/* Most replacements keep the length about the same: one pass. When
	 * the buffer is short, PCRE2 says the length it needs. */
	PCRE2_SIZE cap = len * 2 + 64 < max + 1 ? len * 2 + 64 : max + 1;
	for (int pass = 0; pass < 2; pass++) {
		PCRE2_UCHAR *buf = xmalloc(cap);
		PCRE2_SIZE got = cap;
		int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0,
					  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
						  PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_NO_UTF_CHECK,
					  NULL, re->mctx, (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED, buf, &got);
		if (rc >= 0 && got > max) {
			free(buf);
			return -EFBIG;
		}
		if (rc >= 0) {
			*out = (char *)buf;
			*out_len = got;
			return 0;
		}
		free(buf);
		/* On overflow, got counts the terminating NUL too. */
		if (rc == PCRE2_ERROR_NOMEMORY && got > max + 1)
			return -EFBIG;
		if (rc == PCRE2_ERROR_NOMEMORY && pass == 0) {
			cap = got + 1;
			continue;
		}
		if (mregex_limit_hit(rc))
			return -E2BIG;
		*err = mregex_error_text(rc);
		return -EINVAL;
	}
	*err = xstrdup("replacement result did not fit");
	return -EINVAL;
}
