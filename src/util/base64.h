/* Base64 (RFC 4648 section 4), or its URL-safe form without padding
 * (section 5, as JWTs want), through OpenSSL. */
#ifndef MS_UTIL_BASE64_H
#define MS_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Encodes len bytes of data (len below INT_MAX / 4 * 3). Returns a
 * NUL-terminated string (caller frees; wipe it when data was a secret) and
 * its length in *out_len when out_len is not NULL. */
char *base64_encode(const void *data, size_t len, bool url, size_t *out_len);

#endif
