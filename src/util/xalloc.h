/* Allocation helpers: allocation failure is not recoverable in a daemon that
 * must never half-apply a sync step, so every helper aborts instead of
 * returning NULL. Callers never check for NULL. */
#ifndef MS_UTIL_XALLOC_H
#define MS_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray(p, n, size): like reallocarray(3), aborts on overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Grows *items (of *cap elements of elem_size) so that index `need` fits. */
void xgrow(void **items, size_t *cap, size_t need, size_t elem_size);

/* Frees a NULL-terminated array of strings and the strings; NULL is a
 * no-op. */
void strv_free(char **v);

#define XNEW(type) ((type *)xcalloc(1, sizeof(type)))

#endif
