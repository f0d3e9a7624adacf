/* random_password(): initial passwords for APIs that insist on one. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/xalloc.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MIN 4
#define PASSWORD_MAX 128

/* Random bytes drawn ahead: one RAND_bytes call per password instead of
 * one per character. Each call costs thousands of instructions in
 * OpenSSL 3's DRBG whatever its size (parameter lookups, a cipher
 * re-initialised), which made random_password most of the CPU of a cycle
 * that maps 100,000 entries. */
struct rand_pool {
	unsigned char buf[256];
	size_t pos, len;
};

static int rand_u16(struct rand_pool *p, unsigned *out)
{
	if (p->len - p->pos < 2) {
		if (RAND_bytes(p->buf, (int)sizeof(p->buf)) != 1)
			return -1;
		p->pos = 0;
		p->len = sizeof(p->buf);
	}
	*out = (unsigned)p->buf[p->pos] << 8 | p->buf[p->pos + 1];
	p->pos += 2;
	return 0;
}

/* Uniform in [0, n) for n <= 65536: rejection sampling, so no character is
 * favoured (n is at most 128 here, so a draw is rejected at most 0.2 % of
 * the time). */
static int rand_below(struct rand_pool *p, unsigned n, unsigned *out)
{
	unsigned limit = (0x10000u / n) * n;
	for (;;) {
		unsigned v;
		if (rand_u16(p, &v) < 0)
			return -1;
		if (v < limit) {
			*out = v % n;
			return 0;
		}
	}
}

static int rand_pick(struct rand_pool *p, const char *set, char *out)
{
	unsigned i;
	if (rand_below(p, (unsigned)strlen(set), &i) < 0)
		return -1;
	*out = set[i];
	return 0;
}

/* random_password(len[, classes]): classes is any of "a" (lower), "A"
 * (upper), "1" (digits), "!" (symbols); default "aA1". Every class asked for
 * appears at least once, because APIs reject passwords that lack one.
 * Look-alike characters (l, I, O, 0, 1) are left out. */
static int fn_random_password(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			      struct mval *out)
{
	static const char *const sets[] = {
		"abcdefghijkmnopqrstuvwxyz",
		"ABCDEFGHJKLMNPQRSTUVWXYZ",
		"23456789",
		"!#%+-=@_",
	};
	static const char class_chars[] = "aA1!";
	const char *classes = "aA1";
	char alphabet[128] = "";
	const char *required[4];
	size_t nreq = 0;

	if (args[0].type != MV_INT || args[0].u.i < PASSWORD_MIN || args[0].u.i > PASSWORD_MAX)
		return meval_fail(ctx, "random_password: length must be an integer from %d to %d",
				  PASSWORD_MIN, PASSWORD_MAX);
	if (nargs > 1) {
		if (args[1].type != MV_STRING)
			return meval_fail(ctx, "random_password: classes must be a string such as 'aA1!'");
		classes = args[1].u.str.s;
	}
	for (size_t c = 0; c < 4; c++)
		if (strchr(classes, class_chars[c])) {
			strcat(alphabet, sets[c]);
			required[nreq++] = sets[c];
		}
	if (nreq == 0)
		return meval_fail(ctx, "random_password: classes must contain a, A, 1 or !");

	size_t len = (size_t)args[0].u.i;
	char *buf = xmalloc(len + 1);
	/* A draw per character and one per shuffle step, 2 bytes each. */
	struct rand_pool pool = { .pos = 0, .len = 0 };
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i++)
		r = i < nreq ? rand_pick(&pool, required[i], &buf[i]) : rand_pick(&pool, alphabet, &buf[i]);
	for (size_t i = len - 1; i > 0 && r == 0; i--) {
		unsigned j = 0;
		if ((r = rand_below(&pool, (unsigned)(i + 1), &j)) < 0)
			break;
		char tmp = buf[i];
		buf[i] = buf[j];
		buf[j] = tmp;
	}
	OPENSSL_cleanse(pool.buf, sizeof(pool.buf));
	if (r < 0) {
		free(buf);
		return meval_fail(ctx, "random_password: no randomness available");
	}
	buf[len] = '\0';
	mval_take_string(out, buf, len);
	return 0;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("random_password", 1, 2, fn_random_password, "${random_password(length[, classes])}"),
};

MFUNC_TABLE(mfunc_password_table, funcs);
