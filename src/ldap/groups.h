/* The group index: which groups each user is in, for scoping a target to
 * the members of some groups and for giving mappings a user's group names.
 *
 * The source adds every group entry, calls groups_finish once, then asks
 * about each user entry it reads. Membership is the union of what
 * directories record it with: a group's member and uniqueMember values
 * (DNs), its memberUid values (a user attribute's values, RFC 2307), and a
 * user's or group's own memberOf values (naming known groups). Any DN in a
 * member value may be a user, a group, or both. With nesting, a member of
 * a group is also in every group that group is in, at any depth; cycles in
 * the group graph are reported and otherwise harmless. */
#ifndef MS_LDAP_GROUPS_H
#define MS_LDAP_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ldap/entry.h"

struct groups_options {
	/* A group's name is the first value of this attribute (e.g. "cn");
	 * without one (or when NULL), the first RDN value of its DN. */
	const char *name_attribute;
	/* The user attribute memberUid values refer to (e.g. "uid"); NULL:
	 * memberUid values are not matched against users. Matched ASCII
	 * case-insensitively, like uid itself. */
	const char *uid_attribute;
	/* Group-in-group membership counts (and cycles are looked for). */
	bool nested;
};

struct groups;
/* A group in the index; valid until groups_free. */
struct groups_group;

/* The strings in o are copied. */
struct groups *groups_new(const struct groups_options *o);
/* NULL is a no-op. */
void groups_free(struct groups *g);

/* Adds one group entry (not kept: what is needed is copied), before
 * groups_finish. Values that cannot be used (member, uniqueMember and
 * memberOf values that are not valid DNs, empty memberUid values) are
 * ignored and counted in groups_stats.invalid_values; the empty DN in a
 * member value, a usual placeholder in groups that must have a member, is
 * skipped silently.
 * Returns 0; -EEXIST when a group with the same DN (compared normalised)
 * was added before (this one is ignored); -EINVAL when the entry's own DN
 * does not parse (ignored, counted as an invalid value). */
int groups_add(struct groups *g, const struct entry *e);

/* Call once, after the last groups_add: adding after it, or annotating or
 * asking groups_contains before it, is a bug and aborts.
 * When nested, links groups to the groups they are in (group H is in group
 * G when H's DN is among G's member/uniqueMember values, or G's DN among
 * H's memberOf) and looks for cycles: one per back edge of a depth-first
 * walk in DN order, so every loop in the graph shows up, no cycle is
 * reported twice, and the report is the same on every run. For the first
 * 20, cycle_fn (may be NULL) gets a text of the original DNs where each
 * arrow reads "is a member of": "cn=a,dc=x -> cn=b,dc=x -> cn=a,dc=x";
 * groups_stats.cycles counts all. Without nesting, group-in-group links
 * mean nothing, so none are made and no cycles are looked for. */
void groups_finish(struct groups *g, void (*cycle_fn)(void *ud, const char *path), void *ud);

/* Resolves a target's group reference: a DN when ref contains '=', else a
 * group name (matched ASCII case-insensitively; it must name one group).
 * Returns 0 and *handle; or, with *err (caller frees) saying why, -EINVAL
 * (ref is not a valid DN), -ENOENT (no such group among those added) or
 * -EEXIST (the name belongs to several groups; *err lists their DNs).
 * *handle is NULL on error. */
int groups_resolve(const struct groups *g, const char *ref, const struct groups_group **handle, char **err);

/* The group's DN as the directory gave it, and its name. */
const char *groups_group_dn(const struct groups_group *grp);
const char *groups_group_name(const struct groups_group *grp);

/* Writes the groups `user` is in to two attributes of user, replacing any
 * values they had: "group_dns" (each group's DN as the directory gave it)
 * and "groups" (each group's name; two groups of the same name give it
 * once). Both are ordered by normalised group DN, so the same membership
 * always gives the same values (and payload hash), and both are created
 * even when empty, which marks the entry as annotated for groups_contains.
 * Returns the number of groups. */
size_t groups_annotate(const struct groups *g, struct entry *user);

/* True when `user` is in grp, directly or (when nested) through groups in
 * grp, at any depth. An entry annotated by groups_annotate of this same
 * index is answered from its "group_dns" (a few string compares); any
 * other entry is looked up in the index (its DN normalised, a few hash
 * lookups), so annotating first is faster but not required. */
bool groups_contains(const struct groups *g, const struct groups_group *grp, const struct entry *user);

struct groups_stats {
	size_t groups;		/* added (duplicates and bad DNs not counted) */
	size_t memberships;	/* distinct member/uniqueMember/memberUid values, over all groups */
	size_t invalid_values;	/* values ignored by groups_add, and groups skipped for a bad DN */
	size_t cycles;		/* found by groups_finish, reported or not */
};

void groups_get_stats(const struct groups *g, struct groups_stats *out);

#endif
