/* A realistic directory entry for trying mappings without a directory
 * (--check-config, `membersync map --sample`): Ada Lovelace, with the
 * attributes inetOrgPerson and Active Directory users carry, in the
 * formats directories really use (GeneralizedTime, FILETIME, phone numbers
 * with spaces and dashes, DNs with escapes). */
#ifndef MS_MAPPING_SAMPLE_H
#define MS_MAPPING_SAMPLE_H

#include "ldap/entry.h"
#include "mapping/mapping.h"

/* Builds the sample for mapping m. Attributes in `overrides` (may be NULL;
 * its DN, when not empty, too) replace the built-in ones; an attribute m
 * reads that neither has gets the value "sample" and is listed in
 * *generic (NULL-terminated; caller frees with strv_free; NULL when
 * none). Caller frees the entry. */
struct entry *sample_entry_new(const struct mapping *m, const struct entry *overrides, char ***generic);

#endif
