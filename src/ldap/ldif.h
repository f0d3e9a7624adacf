/* Entries from an LDIF file (RFC 2849), for trying mappings on data that
 * is not in the directory yet: `membersync map --ldif FILE`. Only content
 * records are read; change records are an error. */
#ifndef MS_LDAP_LDIF_H
#define MS_LDAP_LDIF_H

#include "ldap/entry.h"

/* Calls fn with each entry in the file (ids unset; valid only during the
 * call). A record that parses but cannot be a directory entry (its DN is
 * empty, holds a NUL byte, is not UTF-8 or not a DN) is not passed to fn:
 * skip, when not NULL, gets "FILE:LINE" of the record, the DN as far as it
 * is text, and the reason, and the reading goes on. Returns 0, or -errno
 * with *err (caller frees) naming the file and line: unreadable file, a
 * record that does not parse, a change record. */
int ldif_read_entries(const char *path, void (*fn)(void *ud, const struct entry *e),
		      void (*skip)(void *ud, const char *where, const char *dn, const char *why), void *ud,
		      char **err);

#endif
