/* UTF-8 helpers: directory values are arbitrary bytes and APIs count
 * characters, not bytes. */
#ifndef MS_UTIL_UTF8_H
#define MS_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict RFC 3629 validation: no overlongs, no surrogates, <= U+10FFFF, no NUL. */
bool utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8. */
size_t utf8_length(const char *s, size_t len);
/* Decodes the code point at s[*pos] (valid UTF-8 assumed) and advances *pos. */
uint32_t utf8_next(const char *s, size_t len, size_t *pos);
/* Bytes of the character at s[pos] (valid UTF-8 assumed, pos < len). */
size_t utf8_char_bytes(const char *s, size_t len, size_t pos);
/* Byte length of the longest prefix of s holding at most max_chars code points. */
size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_chars);

#endif
