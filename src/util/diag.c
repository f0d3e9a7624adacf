#include "config.h"

#include "util/diag.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdlib.h>

struct diag *diag_new(void)
{
	return XNEW(struct diag);
}

void diag_free(struct diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	free(d);
}

void diag_add(struct diag *d, enum diag_level level, const char *file, int line, const char *fmt, ...)
{
	xgrow((void **)&d->items, &d->cap, d->n, sizeof(*d->items));
	struct diag_item *it = &d->items[d->n++];
	va_list ap;
	va_start(ap, fmt);
	it->message = xvasprintf(fmt, ap);
	va_end(ap);
	it->level = level;
	it->file = file ? xstrdup(file) : NULL;
	it->line = line;
	if (level == DIAG_ERROR)
		d->errors++;
}

static char *diag_render(const struct diag_item *it, const char *sev)
{
	if (it->file && it->line > 0)
		return xasprintf("%s:%d: %s%s", it->file, it->line, sev, it->message);
	if (it->file)
		return xasprintf("%s: %s%s", it->file, sev, it->message);
	return xasprintf("%s%s", sev, it->message);
}

char *diag_format(const struct diag_item *it)
{
	return diag_render(it, it->level == DIAG_WARNING ? "warning: " : "");
}

char *diag_format_for_log(const struct diag_item *it)
{
	return diag_render(it, "");
}

void diag_print(const struct diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->items[i]);
		fprintf(out, "%s\n", s);
		free(s);
	}
}
