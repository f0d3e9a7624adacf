/* The directory source: connects (StartTLS/LDAPS, simple bind), reads the
 * configured entries with paged results, and hands each entry to a sink.
 * A read that does not complete says so, so callers never mistake a
 * partial read for people having left. */
#ifndef MS_LDAP_SOURCE_H
#define MS_LDAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf.h"
#include "ldap/entry.h"

struct source_sink {
	/* One entry with its id set; valid only during the call. Returning
	 * a negative value stops the read (it is then incomplete). */
	int (*entry)(void *ud, const struct entry *e);
	/* An entry that cannot be used (no id, ...), with the reason. */
	void (*skipped)(void *ud, const char *dn, const char *reason);
	/* Called after each page: long reads must show life (watchdog). */
	void (*progress)(void *ud, size_t entries_so_far);
	void *ud;
};

struct source_result {
	size_t entries;	/* handed to the sink */
	size_t skipped;
	bool complete;	/* every page was read without error */
};

struct source;

/* The source keeps a pointer to cfg, which must outlive it. */
struct source *source_new(const struct conf_source *cfg);
void source_free(struct source *s);

/* Reads every entry. Connects (or reconnects) as needed, trying each URI in
 * turn. Returns 0 when the read completed, or -errno with *err (caller
 * frees) when it failed; res says how far it got either way. */
int source_read(struct source *s, const struct source_sink *sink, struct source_result *res, char **err);

/* The URI of the current connection, or NULL. */
const char *source_connected_uri(const struct source *s);

#endif
