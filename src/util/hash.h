/* Digests used for payload change detection. */
#ifndef MS_UTIL_HASH_H
#define MS_UTIL_HASH_H

#include <stddef.h>

#define HASH_SHA256_HEX_LEN 64

#define HASH_MD5_HEX_LEN 32

/* Writes the lowercase hex MD5 of data into out (NUL-terminated), for APIs
 * and mappings that want one. Returns 0, or -ENOTSUP when this OpenSSL
 * refuses MD5 (FIPS mode). */
int hash_md5_hex(const void *data, size_t len, char out[HASH_MD5_HEX_LEN + 1]);

/* Writes the lowercase hex SHA-256 of data into out (NUL-terminated). */
void hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX_LEN + 1]);

/* The same digest over data given in pieces: hash_begin, any number of
 * updates, hash_end (which frees the context). */
struct hash_ctx;
struct hash_ctx *hash_begin(void);
void hash_update(struct hash_ctx *h, const void *data, size_t len);
/* A string with its terminating NUL, so consecutive strings cannot run
 * together; NULL hashes like "". */
void hash_update_str(struct hash_ctx *h, const char *s);
void hash_end(struct hash_ctx *h, char out[HASH_SHA256_HEX_LEN + 1]);

/* A SHA-256 digester for many small digests (every entry's payload hash):
 * the algorithm is fetched and the context allocated once, which is most
 * of the cost of hash_sha256_hex on a short input. Not thread-safe. */
struct hasher;
struct hasher *hasher_new(void);
void hasher_free(struct hasher *h);
void hasher_sha256_hex(struct hasher *h, const void *data, size_t len, char out[HASH_SHA256_HEX_LEN + 1]);

#endif
