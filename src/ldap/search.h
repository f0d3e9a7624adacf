/* A complete search: paged (RFC 2696) when asked, with Active Directory's
 * ranged attributes ("member;range=0-1499") fetched in full, so callers see
 * every value under the attribute's plain name. A search either reads
 * everything or says it did not. */
#ifndef MS_LDAP_SEARCH_H
#define MS_LDAP_SEARCH_H

#include <ldap.h>
#include <stdbool.h>
#include <stddef.h>

#include "ldap/entry.h"

struct search_params {
	const char *base;
	int scope;			/* LDAP_SCOPE_* */
	const char *filter;
	char **attributes;		/* NULL-terminated; NULL: all user attributes */
	int page_size;			/* 0: one request, no paging */
	int timeout;			/* seconds, per request */
	LDAPControl **controls;		/* extra server controls (may be NULL) */
	/* Each entry, owned by the callee (free it with entry_free). A
	 * negative return stops the search (it is then incomplete). */
	int (*entry)(void *ud, struct entry *e);
	/* After each page (may be NULL): long reads must show life. */
	void (*page)(void *ud, size_t entries_so_far);
	void *ud;
};

struct search_result {
	size_t entries;
	size_t pages;
	size_t ranged_fetches;		/* extra requests for ranged attributes */
	int ldap_rc;			/* the last LDAP result code */
};

/* Runs the search on ld. Returns 0 when every page was read, or -errno with
 * *err (caller frees): -ECONNRESET when the connection is gone (see
 * res->ldap_rc), -ECANCELED when the entry callback stopped it, -EIO for
 * other failures (size or time limit, no such base, ...). */
int search_run(LDAP *ld, const struct search_params *p, struct search_result *res, char **err);

/* A filter-safe copy of a value (RFC 4515: * ( ) \ NUL and non-ASCII bytes
 * as \XX). Caller frees. */
char *search_escape_value(const void *data, size_t len);

#endif
