/* Growable byte buffer, always NUL-terminated so it can be used as a C string
 * (the content itself may contain NUL bytes; use len). Not called "strbuf":
 * libconfig exports internal strbuf_* symbols that ours would interpose. */
#ifndef MS_UTIL_SBUF_H
#define MS_UTIL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *buf;	/* never NULL after sbuf_init */
	size_t len;
	size_t cap;
};

void sbuf_init(struct sbuf *sb);
/* Frees the content; the buffer may be reused after sbuf_init. */
void sbuf_release(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_addstr(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the content (caller frees) and leaves sb empty and initialised. */
char *sbuf_detach(struct sbuf *sb, size_t *len);

#endif
