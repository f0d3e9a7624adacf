/* One directory entry as the rest of membersync sees it: its DN (for logs),
 * its stable id (entryUUID/objectGUID, never the DN, which changes on
 * rename), and its attributes as raw byte strings. Values are binary-safe;
 * UTF-8 is checked where a value is used as text (the mapping). */
#ifndef MS_LDAP_ENTRY_H
#define MS_LDAP_ENTRY_H

#include <stddef.h>

struct entry_value {
	char *data;	/* NUL-terminated copy; may hold NUL bytes before len */
	size_t len;
};

struct entry_attr {
	char *name;	/* lowercased: attribute names are case-insensitive */
	struct entry_value *values;
	size_t n, cap;
};

struct entry {
	char *dn;
	char *id;	/* NULL until the source sets it */
	/* Why the account is disabled (static text), or NULL when it is not. */
	const char *disabled;
	struct entry_attr *attrs;
	size_t n_attrs, cap_attrs;
};

struct entry *entry_new(const char *dn);
void entry_free(struct entry *e);
/* A deep copy (for entries kept beyond a callback). */
struct entry *entry_dup(const struct entry *e);
void entry_set_id(struct entry *e, const char *id);
/* Returns the attribute, creating it if needed (name matched case-insensitively). */
struct entry_attr *entry_attr_get_or_add(struct entry *e, const char *name);
void entry_attr_add_value(struct entry_attr *a, const void *data, size_t len);
/* Convenience: adds one value to attribute `name`. */
void entry_add(struct entry *e, const char *name, const char *value);
/* NULL when the entry has no such attribute (name case-insensitive). */
const struct entry_attr *entry_get(const struct entry *e, const char *name);
/* The same for a name already in lower case (compiled mappings). */
const struct entry_attr *entry_get_lower(const struct entry *e, const char *lname);

/* A 16-byte GUID (objectGUID, invocationId) as canonical text: the first
 * three groups are little-endian on the wire. Caller frees. */
char *entry_guid_text(const unsigned char *b);

#endif
