#include "config.h"

#include "util/hash.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct hash_ctx {
	EVP_MD_CTX *md;
};

int hash_md5_hex(const void *data, size_t len, char out[HASH_MD5_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	/* A FIPS-only OpenSSL refuses MD5: an error to report, not an abort. */
	if (!EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) || mdlen != HASH_MD5_HEX_LEN / 2)
		return -ENOTSUP;
	str_hex(md, mdlen, out);
	return 0;
}

void hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		abort();
	str_hex(md, mdlen, out);
}

struct hash_ctx *hash_begin(void)
{
	struct hash_ctx *h = XNEW(struct hash_ctx);
	h->md = EVP_MD_CTX_new();
	if (!h->md || !EVP_DigestInit_ex(h->md, EVP_sha256(), NULL))
		abort();
	return h;
}

void hash_update(struct hash_ctx *h, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(h->md, data, len))
		abort();
}

void hash_update_str(struct hash_ctx *h, const char *s)
{
	/* With its NUL, so ("ab", "c") and ("a", "bc") differ. */
	hash_update(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

void hash_end(struct hash_ctx *h, char out[HASH_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_DigestFinal_ex(h->md, md, &mdlen))
		abort();
	str_hex(md, mdlen, out);
	EVP_MD_CTX_free(h->md);
	free(h);
}

struct hasher {
	EVP_MD *sha256;
	EVP_MD_CTX *ctx;
};

struct hasher *hasher_new(void)
{
	struct hasher *h = XNEW(struct hasher);
	h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->sha256 || !h->ctx)
		abort();
	return h;
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->sha256);
	free(h);
}

void hasher_sha256_hex(struct hasher *h, const void *data, size_t len, char out[HASH_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_DigestInit_ex(h->ctx, h->sha256, NULL) || !EVP_DigestUpdate(h->ctx, data, len) ||
	    !EVP_DigestFinal_ex(h->ctx, md, &mdlen))
		abort();
	str_hex(md, mdlen, out);
}
