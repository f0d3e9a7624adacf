/* Digests used for payload change detection. */
#ifndef MS_UTIL_HASH_H
#define MS_UTIL_HASH_H

#include <stddef.h>

#define HASH_SHA256_HEX_LEN 64

/* Writes the lowercase hex SHA-256 of data into out (NUL-terminated). */
void hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX_LEN + 1]);

#endif
