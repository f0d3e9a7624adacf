/* Allocation helpers: allocation failure is not recoverable in a daemon that
 * must never half-apply a sync step, so every helper aborts instead of
 * returning NULL. Callers never check for NULL. */
#ifndef MS_UTIL_XALLOC_H
#define MS_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* returns_nonnull says so to the compiler and to the static analyzers,
 * which otherwise follow "allocation returned NULL" paths that cannot
 * happen. */
#define XALLOC_NONNULL __attribute__((returns_nonnull))

void *xmalloc(size_t size) XALLOC_NONNULL;
void *xcalloc(size_t nmemb, size_t size) XALLOC_NONNULL;
void *xrealloc(void *ptr, size_t size) XALLOC_NONNULL;
/* xreallocarray(p, n, size): like reallocarray(3), aborts on overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size) XALLOC_NONNULL;
char *xstrdup(const char *s) XALLOC_NONNULL;
char *xstrndup(const char *s, size_t n) XALLOC_NONNULL;
void *xmemdup(const void *src, size_t n) XALLOC_NONNULL;
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))) XALLOC_NONNULL;
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0))) XALLOC_NONNULL;

#if defined(__clang_analyzer__) && !defined(MS_XALLOC_IMPL)
/* clang 14's analyzer (clang-tidy, scan-build) ignores returns_nonnull and
 * follows "xasprintf returned NULL" paths into false reports. Under
 * analysis only (never in a build), each call goes through an inline that
 * says so in a way it understands. */
#include <stdlib.h>
static inline void *xalloc_analyzed(void *p)
{
	if (!p)
		abort();
	return p;
}
#define xmalloc(...) xalloc_analyzed(xmalloc(__VA_ARGS__))
#define xcalloc(...) xalloc_analyzed(xcalloc(__VA_ARGS__))
#define xrealloc(...) xalloc_analyzed(xrealloc(__VA_ARGS__))
#define xreallocarray(...) xalloc_analyzed(xreallocarray(__VA_ARGS__))
#define xmemdup(...) xalloc_analyzed(xmemdup(__VA_ARGS__))
#define xstrdup(...) ((char *)xalloc_analyzed(xstrdup(__VA_ARGS__)))
#define xstrndup(...) ((char *)xalloc_analyzed(xstrndup(__VA_ARGS__)))
#define xasprintf(...) ((char *)xalloc_analyzed(xasprintf(__VA_ARGS__)))
#define xvasprintf(...) ((char *)xalloc_analyzed(xvasprintf(__VA_ARGS__)))
#endif

/* Grows *items (of *cap elements of elem_size) so that index `need` fits. */
void xgrow(void **items, size_t *cap, size_t need, size_t elem_size);

/* Frees a NULL-terminated array of strings and the strings; NULL is a
 * no-op. */
void strv_free(char **v);

#define XNEW(type) ((type *)xcalloc(1, sizeof(type)))

#endif
