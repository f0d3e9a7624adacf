#include "config.h"

#include "ldap/dn.h"
#include "ldap/groups.h"
#include "util/sbuf.h"
#include "util/strmap.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GROUPS_MAX_CYCLE_REPORTS 20
#define GROUPS_ATTR_DNS "group_dns"
#define GROUPS_ATTR_NAMES "groups"

/* The groups one member key is directly in. One allocation per key: with
 * 100k users these are most of the index. */
struct groups_glist {
	uint32_t n, cap;
	uint32_t ids[];
};

struct groups_group {
	char *dn;	/* as the directory gave it */
	char *ndn;	/* dn_normalize(dn) */
	char *name;
	uint32_t id;	/* index in groups->groups: add order, then DN order from groups_finish */
	char **member_of;	/* normalised memberOf values, until groups_finish */
	size_t n_member_of, cap_member_of;
	uint32_t *parents;	/* groups this one is directly in, sorted, unique */
	size_t n_parents, cap_parents;
	uint32_t *ancestors;	/* every group this one is in at any depth, sorted, without itself */
	size_t n_ancestors;
};

struct groups {
	char *name_attribute;
	char *uid_attribute;
	bool nested;
	bool finished;
	struct groups_group **groups;
	size_t n, cap;
	struct strmap *by_ndn;		/* normalised group DN -> struct groups_group */
	struct strmap *by_member;	/* normalised member/uniqueMember DN -> struct groups_glist */
	struct strmap *by_uid;		/* ASCII-lowercased memberUid -> struct groups_glist */
	struct groups_stats stats;
};

struct groups *groups_new(const struct groups_options *o)
{
	struct groups *g = XNEW(struct groups);
	g->name_attribute = o->name_attribute ? xstrdup(o->name_attribute) : NULL;
	g->uid_attribute = o->uid_attribute ? xstrdup(o->uid_attribute) : NULL;
	g->nested = o->nested;
	g->by_ndn = strmap_new();
	g->by_member = strmap_new();
	g->by_uid = strmap_new();
	return g;
}

static void groups_free_value(const char *key, void *value, void *ud)
{
	free(value);
}

static void groups_group_free(struct groups_group *grp)
{
	for (size_t i = 0; i < grp->n_member_of; i++)
		free(grp->member_of[i]);
	free(grp->member_of);
	free(grp->parents);
	free(grp->ancestors);
	free(grp->dn);
	free(grp->ndn);
	free(grp->name);
	free(grp);
}

void groups_free(struct groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		groups_group_free(g->groups[i]);
	free(g->groups);
	strmap_foreach(g->by_member, groups_free_value, NULL);
	strmap_foreach(g->by_uid, groups_free_value, NULL);
	strmap_free(g->by_ndn);
	strmap_free(g->by_member);
	strmap_free(g->by_uid);
	free(g->name_attribute);
	free(g->uid_attribute);
	free(g);
}

static char *groups_lower(const char *s)
{
	char *out = xstrdup(s);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* A value with a NUL inside is not text, so it is no DN or uid either. */
static bool groups_is_text(const struct entry_value *v)
{
	return strlen(v->data) == v->len;
}

/* Records that key is directly in group id. A group's values are added
 * together, so a repeat (member and uniqueMember naming the same DN) is
 * always the list's last id. */
static void groups_index_add(struct groups *g, struct strmap *map, const char *key, uint32_t id)
{
	struct groups_glist *l = strmap_get(map, key);
	if (l && l->n > 0 && l->ids[l->n - 1] == id)
		return;
	if (!l || l->n == l->cap) {
		uint32_t cap = l ? l->cap * 2 : 2;
		uint32_t n = l ? l->n : 0;
		l = xrealloc(l, sizeof(*l) + cap * sizeof(l->ids[0]));
		l->n = n;
		l->cap = cap;
		strmap_put(map, key, l);
	}
	l->ids[l->n++] = id;
	g->stats.memberships++;
}

static void groups_add_member_dns(struct groups *g, const struct groups_group *grp, const struct entry_attr *a,
				  bool unique_member)
{
	for (size_t i = 0; a && i < a->n; i++) {
		if (!groups_is_text(&a->values[i])) {
			g->stats.invalid_values++;
			continue;
		}
		char *dn = unique_member ? dn_strip_uid(a->values[i].data) : NULL;
		char *ndn = dn_normalize(dn ? dn : a->values[i].data);
		if (!ndn)
			g->stats.invalid_values++;
		else if (*ndn)
			groups_index_add(g, g->by_member, ndn, grp->id);
		free(ndn);
		free(dn);
	}
}

/* The first RDN's (first) value, unescaped: "cn=Smith\, John,ou=x" gives
 * "Smith, John". NULL for the root DN. */
static char *groups_rdn_value(const char *dn)
{
	LDAPDN parsed = NULL;
	char *out = NULL;
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	if (parsed && parsed[0] && parsed[0][0])
		out = xstrndup(parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len);
	ldap_dnfree(parsed);
	return out;
}

static char *groups_entry_name(const struct groups *g, const struct entry *e)
{
	const struct entry_attr *a = g->name_attribute ? entry_get(e, g->name_attribute) : NULL;
	if (a && a->n > 0 && a->values[0].len > 0 && groups_is_text(&a->values[0]))
		return xstrdup(a->values[0].data);
	char *rdn = groups_rdn_value(e->dn);
	return rdn ? rdn : xstrdup(e->dn);
}

/* Calls out of order are bugs that would give wrong memberships quietly
 * (ids not yet in DN order, no ancestors), so they stop the daemon. */
static void groups_require(const struct groups *g, bool finished)
{
	if (g->finished != finished)
		abort();
}

int groups_add(struct groups *g, const struct entry *e)
{
	groups_require(g, false);
	char *ndn = dn_normalize(e->dn);
	if (!ndn) {
		g->stats.invalid_values++;
		return -EINVAL;
	}
	if (strmap_contains(g->by_ndn, ndn)) {
		free(ndn);
		return -EEXIST;
	}
	if (g->n >= UINT32_MAX)
		abort();

	struct groups_group *grp = XNEW(struct groups_group);
	grp->dn = xstrdup(e->dn);
	grp->ndn = ndn;
	grp->name = groups_entry_name(g, e);
	grp->id = (uint32_t)g->n;
	xgrow((void **)&g->groups, &g->cap, g->n, sizeof(*g->groups));
	g->groups[g->n++] = grp;
	strmap_put(g->by_ndn, ndn, grp);
	g->stats.groups++;

	groups_add_member_dns(g, grp, entry_get(e, "member"), false);
	groups_add_member_dns(g, grp, entry_get(e, "uniquemember"), true);

	const struct entry_attr *a = entry_get(e, "memberuid");
	for (size_t i = 0; a && i < a->n; i++) {
		if (a->values[i].len == 0 || !groups_is_text(&a->values[i])) {
			g->stats.invalid_values++;
			continue;
		}
		char *uid = groups_lower(a->values[i].data);
		groups_index_add(g, g->by_uid, uid, grp->id);
		free(uid);
	}

	/* Kept as text: the groups they name may not have been added yet. */
	a = entry_get(e, "memberof");
	for (size_t i = 0; a && i < a->n; i++) {
		char *v = groups_is_text(&a->values[i]) ? dn_normalize(a->values[i].data) : NULL;
		if (!v) {
			g->stats.invalid_values++;
			continue;
		}
		xgrow((void **)&grp->member_of, &grp->cap_member_of, grp->n_member_of, sizeof(*grp->member_of));
		grp->member_of[grp->n_member_of++] = v;
	}
	return 0;
}

static int groups_cmp_ndn(const void *pa, const void *pb)
{
	const struct groups_group *a = *(struct groups_group *const *)pa;
	const struct groups_group *b = *(struct groups_group *const *)pb;
	return strcmp(a->ndn, b->ndn);
}

static int groups_cmp_id(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return a < b ? -1 : a > b;
}

/* Sorts ids and drops repeats; returns the new count. */
static size_t groups_sort_unique(uint32_t *ids, size_t n)
{
	size_t out = 0;
	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(*ids), groups_cmp_id);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || ids[out - 1] != ids[i])
			ids[out++] = ids[i];
	return out;
}

/* Add-order ids to DN-order ids. */
static void groups_renumber_list(const char *key, void *value, void *ud)
{
	const uint32_t *new_id = ud;
	struct groups_glist *l = value;
	for (uint32_t i = 0; i < l->n; i++)
		l->ids[i] = new_id[l->ids[i]];
	qsort(l->ids, l->n, sizeof(l->ids[0]), groups_cmp_id);
}

static void groups_add_parent(struct groups_group *child, uint32_t parent)
{
	xgrow((void **)&child->parents, &child->cap_parents, child->n_parents, sizeof(*child->parents));
	child->parents[child->n_parents++] = parent;
}

static void groups_link(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct groups_group *h = g->groups[i];
		const struct groups_glist *l = strmap_get(g->by_member, h->ndn);
		for (uint32_t j = 0; l && j < l->n; j++)
			groups_add_parent(h, l->ids[j]);
		for (size_t j = 0; j < h->n_member_of; j++) {
			const struct groups_group *p = strmap_get(g->by_ndn, h->member_of[j]);
			if (p)
				groups_add_parent(h, p->id);
		}
		h->n_parents = groups_sort_unique(h->parents, h->n_parents);
	}
}

/* stack[from..n-1] are the groups on the walk's path, the last one in
 * stack[from]. */
static char *groups_cycle_text(const struct groups *g, const uint32_t *stack, size_t from, size_t n)
{
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t i = from; i < n; i++)
		sbuf_addf(&sb, "%s -> ", g->groups[stack[i]]->dn);
	sbuf_addstr(&sb, g->groups[stack[from]]->dn);
	char *text = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return text;
}

/* Iterative depth-first walk along parent links: nesting may be deep and a
 * walk's depth is the daemon's stack. A link to a group still on the path
 * (a back edge) closes a cycle; each back edge is met exactly once. */
static void groups_find_cycles(struct groups *g, void (*cycle_fn)(void *ud, const char *path), void *ud)
{
	enum { WHITE, GREY, BLACK };
	unsigned char *colour = xcalloc(g->n, 1);
	size_t *depth = xcalloc(g->n, sizeof(*depth));	/* position on the stack, while GREY */
	uint32_t *stack = xcalloc(g->n, sizeof(*stack));
	size_t *next = xcalloc(g->n, sizeof(*next));	/* next parent link to follow, per stack level */

	for (uint32_t root = 0; root < g->n; root++) {
		if (colour[root] != WHITE)
			continue;
		size_t sp = 0;
		stack[sp] = root;
		next[sp] = 0;
		depth[root] = sp++;
		colour[root] = GREY;
		while (sp > 0) {
			const struct groups_group *top = g->groups[stack[sp - 1]];
			if (next[sp - 1] == top->n_parents) {
				colour[top->id] = BLACK;
				sp--;
				continue;
			}
			uint32_t p = top->parents[next[sp - 1]++];
			if (colour[p] == GREY) {
				if (g->stats.cycles++ < GROUPS_MAX_CYCLE_REPORTS && cycle_fn) {
					char *text = groups_cycle_text(g, stack, depth[p], sp);
					cycle_fn(ud, text);
					free(text);
				}
			} else if (colour[p] == WHITE) {
				stack[sp] = p;
				next[sp] = 0;
				depth[p] = sp++;
				colour[p] = GREY;
			}
		}
	}
	free(colour);
	free(depth);
	free(stack);
	free(next);
}

/* Each group's ancestors, breadth-first with a per-walk mark so that cycles
 * end the walk. Groups are few (hundreds), so the closure is small and
 * makes annotating a user O(its direct groups x their ancestors). */
static void groups_close(struct groups *g)
{
	uint32_t *mark = xcalloc(g->n, sizeof(*mark));
	uint32_t *queue = xcalloc(g->n, sizeof(*queue));

	for (uint32_t i = 0; i < g->n; i++) {
		struct groups_group *grp = g->groups[i];
		uint32_t stamp = i + 1;
		size_t head = 0, tail = 0;
		mark[i] = stamp;
		for (size_t j = 0; j < grp->n_parents; j++)
			if (mark[grp->parents[j]] != stamp) {
				mark[grp->parents[j]] = stamp;
				queue[tail++] = grp->parents[j];
			}
		while (head < tail) {
			const struct groups_group *a = g->groups[queue[head++]];
			for (size_t j = 0; j < a->n_parents; j++)
				if (mark[a->parents[j]] != stamp) {
					mark[a->parents[j]] = stamp;
					queue[tail++] = a->parents[j];
				}
		}
		if (tail > 0) {
			grp->ancestors = xmemdup(queue, tail * sizeof(*queue));
			grp->n_ancestors = groups_sort_unique(grp->ancestors, tail);
		}
	}
	free(mark);
	free(queue);
}

void groups_finish(struct groups *g, void (*cycle_fn)(void *ud, const char *path), void *ud)
{
	groups_require(g, false);
	g->finished = true;

	/* DN order makes ids sort like DNs: annotations come out ordered
	 * without comparing strings, and cycles are found in a stable order. */
	uint32_t *new_id = xcalloc(g->n, sizeof(*new_id));
	if (g->n > 0)
		qsort(g->groups, g->n, sizeof(*g->groups), groups_cmp_ndn);
	for (uint32_t i = 0; i < g->n; i++) {
		new_id[g->groups[i]->id] = i;
		g->groups[i]->id = i;
	}
	strmap_foreach(g->by_member, groups_renumber_list, new_id);
	strmap_foreach(g->by_uid, groups_renumber_list, new_id);
	free(new_id);

	if (g->nested) {
		groups_link(g);
		groups_find_cycles(g, cycle_fn, ud);
		groups_close(g);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct groups_group *grp = g->groups[i];
		for (size_t j = 0; j < grp->n_member_of; j++)
			free(grp->member_of[j]);
		free(grp->member_of);
		grp->member_of = NULL;
		grp->n_member_of = grp->cap_member_of = 0;
	}
}

int groups_resolve(const struct groups *g, const char *ref, const struct groups_group **handle, char **err)
{
	*handle = NULL;
	if (strchr(ref, '=')) {
		char *ndn = dn_normalize(ref);
		if (!ndn) {
			*err = xasprintf("\"%s\" is not a valid DN", ref);
			return -EINVAL;
		}
		*handle = strmap_get(g->by_ndn, ndn);
		free(ndn);
		if (!*handle) {
			*err = xasprintf("no group with DN \"%s\" was read (is it under the group base, "
					 "and does it match the group filter?)", ref);
			return -ENOENT;
		}
		return 0;
	}

	size_t matches = 0;
	const char *best = NULL;
	size_t best_distance = 3;
	for (size_t i = 0; i < g->n; i++) {
		if (strcasecmp(g->groups[i]->name, ref) == 0) {
			if (matches++ == 0)
				*handle = g->groups[i];
		} else {
			str_suggest_consider(ref, g->groups[i]->name, &best, &best_distance);
		}
	}
	if (matches == 1)
		return 0;
	*handle = NULL;
	if (matches == 0) {
		*err = best ? xasprintf("no group named \"%s\" (did you mean \"%s\"?)", ref, best)
			    : xasprintf("no group named \"%s\"", ref);
		return -ENOENT;
	}
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addf(&sb, "%zu groups are named \"%s\"; use a DN:", matches, ref);
	for (size_t i = 0; i < g->n; i++)
		if (strcasecmp(g->groups[i]->name, ref) == 0)
			sbuf_addf(&sb, " \"%s\"", g->groups[i]->dn);
	*err = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return -EEXIST;
}

const char *groups_group_dn(const struct groups_group *grp)
{
	return grp->dn;
}

const char *groups_group_name(const struct groups_group *grp)
{
	return grp->name;
}

/* Visits each group user is directly in (possibly more than once); stops
 * when visit returns true, and returns whether one did. */
static bool groups_each_direct(const struct groups *g, const struct entry *user,
			       bool (*visit)(void *ud, uint32_t id), void *ud)
{
	const struct groups_glist *l;
	const struct entry_attr *a;

	if (g->uid_attribute && strmap_count(g->by_uid) > 0 && (a = entry_get(user, g->uid_attribute))) {
		for (size_t i = 0; i < a->n; i++) {
			if (!groups_is_text(&a->values[i]))
				continue;
			char *uid = groups_lower(a->values[i].data);
			l = strmap_get(g->by_uid, uid);
			free(uid);
			for (uint32_t j = 0; l && j < l->n; j++)
				if (visit(ud, l->ids[j]))
					return true;
		}
	}
	if (strmap_count(g->by_member) > 0) {
		char *ndn = dn_normalize(user->dn);
		l = ndn ? strmap_get(g->by_member, ndn) : NULL;
		free(ndn);
		for (uint32_t j = 0; l && j < l->n; j++)
			if (visit(ud, l->ids[j]))
				return true;
	}
	a = entry_get(user, "memberof");
	for (size_t i = 0; a && i < a->n; i++) {
		char *ndn = groups_is_text(&a->values[i]) ? dn_normalize(a->values[i].data) : NULL;
		const struct groups_group *grp = ndn ? strmap_get(g->by_ndn, ndn) : NULL;
		free(ndn);
		if (grp && visit(ud, grp->id))
			return true;
	}
	return false;
}

struct groups_collect {
	const struct groups *g;
	uint32_t *ids;
	size_t n, cap;
};

static void groups_collect_one(struct groups_collect *c, uint32_t id)
{
	xgrow((void **)&c->ids, &c->cap, c->n, sizeof(*c->ids));
	c->ids[c->n++] = id;
}

static bool groups_collect_visit(void *ud, uint32_t id)
{
	struct groups_collect *c = ud;
	const struct groups_group *grp = c->g->groups[id];
	groups_collect_one(c, id);
	for (size_t i = 0; i < grp->n_ancestors; i++)
		groups_collect_one(c, grp->ancestors[i]);
	return false;
}

/* Frees an attribute's values but keeps it: entry.h has no removal, and an
 * existing attribute is reused by entry_attr_get_or_add. */
static struct entry_attr *groups_attr_reset(struct entry *e, const char *name)
{
	struct entry_attr *a = entry_attr_get_or_add(e, name);
	for (size_t i = 0; i < a->n; i++)
		free(a->values[i].data);
	a->n = 0;
	return a;
}

size_t groups_annotate(const struct groups *g, struct entry *user)
{
	struct groups_collect c = { .g = g };

	groups_require(g, true);
	groups_each_direct(g, user, groups_collect_visit, &c);
	c.n = groups_sort_unique(c.ids, c.n);

	struct entry_attr *dns = groups_attr_reset(user, GROUPS_ATTR_DNS);
	struct entry_attr *names = groups_attr_reset(user, GROUPS_ATTR_NAMES);
	for (size_t i = 0; i < c.n; i++) {
		const struct groups_group *grp = g->groups[c.ids[i]];
		entry_attr_add_value(dns, grp->dn, strlen(grp->dn));
		/* Users are in few groups: a linear check beats a set. */
		bool seen = false;
		for (size_t j = 0; j < names->n && !seen; j++)
			seen = strcmp(names->values[j].data, grp->name) == 0;
		if (!seen)
			entry_attr_add_value(names, grp->name, strlen(grp->name));
	}
	free(c.ids);
	return c.n;
}

struct groups_find {
	const struct groups *g;
	uint32_t target;
};

static bool groups_find_visit(void *ud, uint32_t id)
{
	const struct groups_find *f = ud;
	const struct groups_group *grp = f->g->groups[id];
	if (id == f->target)
		return true;
	return grp->n_ancestors > 0 &&
	       bsearch(&f->target, grp->ancestors, grp->n_ancestors, sizeof(f->target), groups_cmp_id);
}

bool groups_contains(const struct groups *g, const struct groups_group *grp, const struct entry *user)
{
	groups_require(g, true);
	const struct entry_attr *a = entry_get(user, GROUPS_ATTR_DNS);
	if (a) {
		for (size_t i = 0; i < a->n; i++)
			if (strcmp(a->values[i].data, grp->dn) == 0)
				return true;
		return false;
	}
	struct groups_find f = { .g = g, .target = grp->id };
	return groups_each_direct(g, user, groups_find_visit, &f);
}

void groups_get_stats(const struct groups *g, struct groups_stats *out)
{
	*out = g->stats;
}
