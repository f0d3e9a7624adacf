/* The group index and what it stands on: the string map and DN
 * normalisation. */
#include "config.h"

#include "ldap/dn.h"
#include "ldap/groups.h"
#include "unit.h"
#include "util/sbuf.h"
#include "util/strmap.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

/* ------------------------------------------------------------ strmap */

static void test_strmap_basic(void)
{
	struct strmap *m = strmap_new();
	int a = 1, b = 2;
	char key[] = "alpha";

	CU_ASSERT_EQUAL(strmap_count(m), 0);
	CU_ASSERT_PTR_NULL(strmap_get(m, "alpha"));
	CU_ASSERT_FALSE(strmap_contains(m, "alpha"));
	strmap_put(m, key, &a);
	key[0] = 'X';	/* the map holds its own copy */
	CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &a);
	CU_ASSERT_PTR_NULL(strmap_get(m, "Xlpha"));
	CU_ASSERT_EQUAL(strmap_count(m), 1);

	strmap_put(m, "alpha", &b);
	CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &b);
	CU_ASSERT_EQUAL(strmap_count(m), 1);

	/* A stored NULL is there; only contains can tell. */
	strmap_put(m, "", NULL);
	CU_ASSERT_TRUE(strmap_contains(m, ""));
	CU_ASSERT_PTR_NULL(strmap_get(m, ""));
	CU_ASSERT_EQUAL(strmap_count(m), 2);
	CU_ASSERT_FALSE(strmap_contains(m, "ALPHA"));

	strmap_free(m);
	strmap_free(NULL);
}

struct foreach_check {
	size_t calls;
	size_t bad;
};

static void foreach_fn(const char *key, void *value, void *ud)
{
	struct foreach_check *c = ud;
	char expect[32];
	snprintf(expect, sizeof(expect), "key-%zu", (size_t)(uintptr_t)value);
	c->calls++;
	if (strcmp(key, expect) != 0)
		c->bad++;
}

static void test_strmap_grow_foreach(void)
{
	enum { N = 200000 };
	struct strmap *m = strmap_new();
	char key[32];

	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		strmap_put(m, key, (void *)(uintptr_t)i);
	}
	CU_ASSERT_EQUAL(strmap_count(m), N);
	size_t wrong = 0;
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		if (!strmap_contains(m, key) || (uintptr_t)strmap_get(m, key) != i)
			wrong++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_FALSE(strmap_contains(m, "key-200000"));
	CU_ASSERT_FALSE(strmap_contains(m, "key-"));

	/* Replacing after growth keeps the count. */
	strmap_put(m, "key-12345", (void *)(uintptr_t)12345);
	CU_ASSERT_EQUAL(strmap_count(m), N);

	struct foreach_check c = { 0 };
	strmap_foreach(m, foreach_fn, &c);
	CU_ASSERT_EQUAL(c.calls, N);
	CU_ASSERT_EQUAL(c.bad, 0);
	strmap_free(m);
}

/* ------------------------------------------------------------ dn */

static void assert_norm(const char *in, const char *expect)
{
	char *n = dn_normalize(in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	if (strcmp(n, expect) != 0)
		fprintf(stderr, "\n  dn_normalize(%s) = %s, expected %s\n", in, n, expect);
	CU_ASSERT_STRING_EQUAL(n, expect);
	free(n);
}

static void test_dn_normalize(void)
{
	assert_norm("CN=Foo Bar, OU=x,DC=Example,DC=org", "cn=foo bar,ou=x,dc=example,dc=org");
	assert_norm("cn=foo bar,ou=x,dc=example,dc=org", "cn=foo bar,ou=x,dc=example,dc=org");
	assert_norm(" cn = Foo ,  dc = X ", "cn=foo,dc=x");
	/* One escaping style, whichever the directory used. */
	assert_norm("cn=Smith\\, John,dc=x", "cn=smith\\2c john,dc=x");
	assert_norm("CN=Smith\\2C John, DC=X", "cn=smith\\2c john,dc=x");
	assert_norm("cn=caf\\C3\\A9,dc=x", "cn=caf\\c3\\a9,dc=x");
	assert_norm("cn=café,dc=x", "cn=caf\\c3\\a9,dc=x");
	/* An escaped comma is not an RDN boundary. */
	char *escaped = dn_normalize("cn=Smith\\, John,dc=x");
	char *split = dn_normalize("cn=Smith,cn=John,dc=x");
	CU_ASSERT_STRING_NOT_EQUAL(escaped, split);
	free(escaped);
	free(split);
	/* Multi-valued RDNs in any order. */
	assert_norm("UID=b+cn=A,dc=x", "cn=a+uid=b,dc=x");
	assert_norm("cn=A+UID=b,dc=x", "cn=a+uid=b,dc=x");
	assert_norm("", "");

	CU_ASSERT_PTR_NULL(dn_normalize("foo"));
	CU_ASSERT_PTR_NULL(dn_normalize("cn=a,,dc=x"));
	CU_ASSERT_PTR_NULL(dn_normalize("cn=a,dc=x,"));
	CU_ASSERT_PTR_NULL(dn_normalize("=a,dc=x"));
	CU_ASSERT_PTR_NULL(dn_normalize("cn=a\"b,dc=x"));
}

static void assert_strip(const char *in, const char *expect)
{
	char *s = dn_strip_uid(in);
	CU_ASSERT_STRING_EQUAL(s, expect);
	free(s);
}

static void test_dn_strip_uid(void)
{
	assert_strip("cn=a,dc=x#'0101'B", "cn=a,dc=x");
	assert_strip("cn=a,dc=x#''B", "cn=a,dc=x");
	assert_strip("cn=a,dc=x", "cn=a,dc=x");
	assert_strip("cn=a#b,dc=x", "cn=a#b,dc=x");
	assert_strip("cn=a,dc=x#'012'B", "cn=a,dc=x#'012'B");
	assert_strip("cn=a,dc=x#'01'b", "cn=a,dc=x#'01'b");
	assert_strip("cn=a,dc=x#01'B", "cn=a,dc=x#01'B");
	/* An escaped '#' belongs to the value. */
	assert_strip("cn=a\\#'01'B", "cn=a\\#'01'B");
	assert_strip("cn=a\\\\#'01'B", "cn=a\\\\");
	assert_strip("#'01'B", "");
	assert_strip("", "");
}

/* ------------------------------------------------------------ groups */

/* An entry from a DN and (attribute, value) pairs, NULL-terminated. */
static struct entry *mk(const char *dn, ...)
{
	struct entry *e = entry_new(dn);
	va_list ap;
	va_start(ap, dn);
	for (const char *attr; (attr = va_arg(ap, const char *));)
		entry_add(e, attr, va_arg(ap, const char *));
	va_end(ap);
	return e;
}

/* Adds the group and frees the entry; returns groups_add's result. */
static int add(struct groups *g, struct entry *e)
{
	int r = groups_add(g, e);
	entry_free(e);
	return r;
}

static const struct groups_group *resolve(const struct groups *g, const char *ref)
{
	const struct groups_group *h = NULL;
	char *err = NULL;
	int r = groups_resolve(g, ref, &h, &err);
	if (r != 0)
		fprintf(stderr, "\n  resolve(%s): %s\n", ref, err);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_PTR_NULL(err);
	free(err);
	return h;
}

/* The values of attribute name joined with '|'; caller frees. */
static char *values(const struct entry *e, const char *name)
{
	const struct entry_attr *a = entry_get(e, name);
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t i = 0; a && i < a->n; i++)
		sbuf_addf(&sb, "%s%s", i ? "|" : "", a->values[i].data);
	char *out = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return out;
}

/* Annotates user and checks both attributes. */
static void assert_annotate(const struct groups *g, struct entry *user, size_t n, const char *dns,
			    const char *names)
{
	CU_ASSERT_EQUAL(groups_annotate(g, user), n);
	char *d = values(user, "group_dns");
	char *m = values(user, "groups");
	if (strcmp(d, dns) != 0 || strcmp(m, names) != 0)
		fprintf(stderr, "\n  %s: group_dns=%s groups=%s\n", user->dn, d, m);
	CU_ASSERT_STRING_EQUAL(d, dns);
	CU_ASSERT_STRING_EQUAL(m, names);
	free(d);
	free(m);
}

/* groups_contains must agree before and after annotating. */
static void assert_in(const struct groups *g, const char *ref, struct entry *user, bool expect)
{
	const struct groups_group *grp = resolve(g, ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(grp);
	bool annotated = entry_get(user, "group_dns") != NULL;
	CU_ASSERT_EQUAL(groups_contains(g, grp, user), expect);
	if (annotated)
		return;
	struct entry *copy = entry_new(user->dn);
	for (size_t i = 0; i < user->n_attrs; i++) {
		struct entry_attr *a = entry_attr_get_or_add(copy, user->attrs[i].name);
		for (size_t j = 0; j < user->attrs[i].n; j++)
			entry_attr_add_value(a, user->attrs[i].values[j].data, user->attrs[i].values[j].len);
	}
	groups_annotate(g, copy);
	CU_ASSERT_EQUAL(groups_contains(g, grp, copy), expect);
	entry_free(copy);
}

static struct groups *new_groups(bool nested)
{
	struct groups_options o = { .name_attribute = "cn", .uid_attribute = "uid", .nested = nested };
	return groups_new(&o);
}

static void test_groups_direct(void)
{
	struct groups *g = new_groups(true);
	CU_ASSERT_EQUAL(add(g, mk("cn=G1,ou=Groups,dc=x", "cn", "G1", "member", "UID=Alice, OU=People,DC=X",
				 "member", "not a dn", NULL)),
			0);
	CU_ASSERT_EQUAL(add(g, mk("cn=g2,ou=groups,dc=x", "cn", "g2", "uniqueMember",
				 "uid=bob,ou=people,dc=x#'0101'B", NULL)),
			0);
	CU_ASSERT_EQUAL(add(g, mk("cn=g3,ou=groups,dc=x", "cn", "g3", "memberUid", "Carol", "memberUid", "",
				 NULL)),
			0);
	CU_ASSERT_EQUAL(add(g, mk("cn=g4,ou=groups,dc=x", "cn", "g4", NULL)), 0);
	/* The same group again, spelt differently. */
	CU_ASSERT_EQUAL(add(g, mk("CN=G1, OU=groups, DC=x", "cn", "G1 again", NULL)), -EEXIST);
	CU_ASSERT_EQUAL(add(g, mk("not a dn", "cn", "broken", NULL)), -EINVAL);
	groups_finish(g, NULL, NULL);

	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.groups, 4);
	CU_ASSERT_EQUAL(st.memberships, 3);
	/* "not a dn", the empty memberUid, the broken group's own DN */
	CU_ASSERT_EQUAL(st.invalid_values, 3);
	CU_ASSERT_EQUAL(st.cycles, 0);

	struct entry *alice = mk("uid=alice,ou=people,dc=x", "uid", "alice", NULL);
	struct entry *bob = mk("uid=bob,ou=people,dc=x", "uid", "bob", NULL);
	struct entry *carol = mk("uid=carol,ou=people,dc=x", "uid", "carol", NULL);
	struct entry *dave = mk("uid=dave,ou=people,dc=x", "uid", "dave", "memberOf", "CN=G4,OU=Groups,DC=X",
				"memberOf", "cn=unknown,dc=x", "memberOf", "garbage", NULL);
	struct entry *eve = mk("uid=eve,ou=people,dc=x", "uid", "eve", NULL);

	assert_in(g, "g1", alice, true);
	assert_in(g, "g2", alice, false);
	assert_in(g, "g2", bob, true);
	assert_in(g, "g3", carol, true);
	assert_in(g, "g3", alice, false);
	assert_in(g, "g4", dave, true);
	assert_in(g, "g1", dave, false);
	for (const char *const *ref = (const char *const[]){ "g1", "g2", "g3", "g4", NULL }; *ref; ref++)
		assert_in(g, *ref, eve, false);

	assert_annotate(g, alice, 1, "cn=G1,ou=Groups,dc=x", "G1");
	assert_annotate(g, bob, 1, "cn=g2,ou=groups,dc=x", "g2");
	assert_annotate(g, carol, 1, "cn=g3,ou=groups,dc=x", "g3");
	assert_annotate(g, dave, 1, "cn=g4,ou=groups,dc=x", "g4");
	assert_annotate(g, eve, 0, "", "");
	CU_ASSERT_PTR_NOT_NULL(entry_get(eve, "group_dns"));
	/* Annotated entries answer from their annotation. */
	assert_in(g, "g1", alice, true);
	assert_in(g, "g2", alice, false);
	assert_in(g, "g4", eve, false);

	entry_free(alice);
	entry_free(bob);
	entry_free(carol);
	entry_free(dave);
	entry_free(eve);
	groups_free(g);
	groups_free(NULL);
}

/* u is in a; a is in b (b's member); b is in c (b's own memberOf). */
static struct groups *nested_three(bool nested)
{
	struct groups *g = new_groups(nested);
	CU_ASSERT_EQUAL(add(g, mk("cn=c,ou=g,dc=x", "cn", "c", NULL)), 0);
	CU_ASSERT_EQUAL(add(g, mk("cn=b,ou=g,dc=x", "cn", "b", "member", "CN=A,OU=G,DC=X", "memberOf",
				 "cn=C, ou=g, dc=x", NULL)),
			0);
	CU_ASSERT_EQUAL(add(g, mk("cn=a,ou=g,dc=x", "cn", "a", "member", "uid=u,dc=x", NULL)), 0);
	return g;
}

static void test_groups_nested(void)
{
	struct groups *g = nested_three(true);
	groups_finish(g, NULL, NULL);
	struct entry *u = mk("uid=u,dc=x", NULL);
	assert_in(g, "a", u, true);
	assert_in(g, "b", u, true);
	assert_in(g, "c", u, true);
	assert_annotate(g, u, 3, "cn=a,ou=g,dc=x|cn=b,ou=g,dc=x|cn=c,ou=g,dc=x", "a|b|c");
	entry_free(u);

	/* A group is also a member, and then in its ancestors. */
	struct entry *a = mk("cn=a,ou=g,dc=x", "cn", "a", NULL);
	assert_in(g, "a", a, false);
	assert_in(g, "c", a, true);
	assert_annotate(g, a, 2, "cn=b,ou=g,dc=x|cn=c,ou=g,dc=x", "b|c");
	entry_free(a);
	groups_free(g);
}

struct cycles {
	size_t n;
	char *text[8];
};

static void on_cycle(void *ud, const char *path)
{
	struct cycles *c = ud;
	if (c->n < 8)
		c->text[c->n] = xstrdup(path);
	c->n++;
}

static void test_groups_cycles(void)
{
	struct groups *g = new_groups(true);
	struct cycles c = { 0 };

	/* x <-> y */
	add(g, mk("cn=X,dc=x", "member", "cn=y,dc=x", "member", "uid=u1,dc=x", NULL));
	add(g, mk("cn=Y,dc=x", "member", "cn=x,dc=x", NULL));
	/* p -> q -> r -> p, "->" reading "is a member of" */
	add(g, mk("cn=Q,dc=x", "member", "cn=p,dc=x", NULL));
	add(g, mk("cn=R,dc=x", "member", "cn=q,dc=x", NULL));
	add(g, mk("cn=P,dc=x", "member", "cn=r,dc=x", "memberUid", "u2", NULL));
	/* s is in itself, and in x */
	add(g, mk("cn=S,dc=x", "member", "cn=s,dc=x", "memberOf", "cn=x,dc=x", "member", "uid=u3,dc=x", NULL));
	groups_finish(g, on_cycle, &c);

	CU_ASSERT_EQUAL_FATAL(c.n, 3);
	CU_ASSERT_STRING_EQUAL(c.text[0], "cn=P,dc=x -> cn=Q,dc=x -> cn=R,dc=x -> cn=P,dc=x");
	CU_ASSERT_STRING_EQUAL(c.text[1], "cn=S,dc=x -> cn=S,dc=x");
	CU_ASSERT_STRING_EQUAL(c.text[2], "cn=X,dc=x -> cn=Y,dc=x -> cn=X,dc=x");
	for (size_t i = 0; i < c.n; i++)
		free(c.text[i]);
	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.cycles, 3);

	struct entry *u1 = mk("uid=u1,dc=x", NULL);
	struct entry *u2 = mk("uid=u2,dc=x", "uid", "U2", NULL);
	struct entry *u3 = mk("uid=u3,dc=x", NULL);
	assert_in(g, "x", u1, true);
	assert_in(g, "y", u1, true);
	assert_in(g, "p", u1, false);
	assert_in(g, "r", u2, true);
	assert_in(g, "s", u3, true);
	assert_in(g, "y", u3, true);
	assert_annotate(g, u1, 2, "cn=X,dc=x|cn=Y,dc=x", "X|Y");
	assert_annotate(g, u2, 3, "cn=P,dc=x|cn=Q,dc=x|cn=R,dc=x", "P|Q|R");
	assert_annotate(g, u3, 3, "cn=S,dc=x|cn=X,dc=x|cn=Y,dc=x", "S|X|Y");
	entry_free(u1);
	entry_free(u2);
	entry_free(u3);
	groups_free(g);
}

static void test_groups_not_nested(void)
{
	struct groups *g = nested_three(false);
	groups_finish(g, NULL, NULL);
	struct entry *u = mk("uid=u,dc=x", NULL);
	assert_in(g, "a", u, true);
	assert_in(g, "b", u, false);
	assert_in(g, "c", u, false);
	assert_annotate(g, u, 1, "cn=a,ou=g,dc=x", "a");
	entry_free(u);
	groups_free(g);

	/* Without nesting, loops are not looked for. */
	g = new_groups(false);
	add(g, mk("cn=x,dc=x", "member", "cn=y,dc=x", NULL));
	add(g, mk("cn=y,dc=x", "member", "cn=x,dc=x", NULL));
	struct cycles c = { 0 };
	groups_finish(g, on_cycle, &c);
	CU_ASSERT_EQUAL(c.n, 0);
	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.cycles, 0);
	groups_free(g);
}

static void test_groups_resolve(void)
{
	struct groups *g = new_groups(true);
	add(g, mk("cn=G1,ou=Groups,dc=Example,dc=org", "cn", "Group One", NULL));
	add(g, mk("cn=staff,ou=a,dc=example,dc=org", "cn", "staff", NULL));
	add(g, mk("cn=staff,ou=b,dc=example,dc=org", "cn", "Staff", NULL));
	/* No cn value: the name comes from the RDN, unescaped. */
	add(g, mk("cn=Smith\\, John,dc=example,dc=org", NULL));
	groups_finish(g, NULL, NULL);

	const struct groups_group *h = resolve(g, "CN=g1, OU=groups, DC=example, DC=ORG");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(groups_group_dn(h), "cn=G1,ou=Groups,dc=Example,dc=org");
	CU_ASSERT_STRING_EQUAL(groups_group_name(h), "Group One");
	CU_ASSERT_PTR_EQUAL(resolve(g, "group one"), h);
	h = resolve(g, "smith, john");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(groups_group_name(h), "Smith, John");

	char *err = NULL;
	h = (const void *)1;
	CU_ASSERT_EQUAL(groups_resolve(g, "STAFF", &h, &err), -EEXIST);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cn=staff,ou=a,dc=example,dc=org"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cn=staff,ou=b,dc=example,dc=org"));
	free(err);
	/* A DN picks one of them. */
	CU_ASSERT_PTR_NOT_NULL(resolve(g, "cn=Staff,ou=B,dc=example,dc=org"));

	err = NULL;
	CU_ASSERT_EQUAL(groups_resolve(g, "nobody", &h, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(groups_resolve(g, "stuff", &h, &err), -ENOENT);
	CU_ASSERT_TRUE(err && strstr(err, "did you mean") != NULL);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(groups_resolve(g, "cn=g2,ou=groups,dc=example,dc=org", &h, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(groups_resolve(g, "cn=g1,,dc=org", &h, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
	groups_free(g);
}

static void test_groups_annotate_order(void)
{
	struct groups *g = new_groups(true);
	/* Added out of order; u is in "zeta" three ways and "eng" has two
	 * groups of that name. */
	add(g, mk("cn=zeta,dc=x", "cn", "zeta", "member", "uid=u,dc=x", "uniqueMember", "UID=U,DC=X#'1'B",
		  "memberUid", "u", NULL));
	add(g, mk("cn=eng,ou=b,dc=x", "cn", "eng", "member", "uid=u,dc=x", "member", "uid=u,dc=x", NULL));
	add(g, mk("cn=alpha,dc=x", "cn", "alpha", "memberUid", "U", NULL));
	add(g, mk("cn=eng,ou=a,dc=x", "cn", "eng", NULL));
	groups_finish(g, NULL, NULL);
	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.memberships, 4);	/* zeta: DN and uid; eng: DN once; alpha: uid */

	struct entry *u = mk("uid=u,dc=x", "uid", "u", "memberOf", "cn=zeta,dc=x", "memberOf",
			     "cn=eng,ou=a,dc=x", NULL);
	const char *dns = "cn=alpha,dc=x|cn=eng,ou=a,dc=x|cn=eng,ou=b,dc=x|cn=zeta,dc=x";
	assert_annotate(g, u, 4, dns, "alpha|eng|zeta");
	/* Again: values replaced, not added. */
	assert_annotate(g, u, 4, dns, "alpha|eng|zeta");
	entry_free(u);
	groups_free(g);
}

static void test_groups_large(void)
{
	enum { N = 5000 };
	struct groups *g = new_groups(true);
	struct entry *big = mk("cn=big,dc=x", "cn", "big", NULL);
	char dn[64];
	for (int i = 0; i < N; i++) {
		snprintf(dn, sizeof(dn), "UID=user%d, OU=People, DC=X", i);
		entry_add(big, "member", dn);
	}
	CU_ASSERT_EQUAL(add(g, big), 0);
	add(g, mk("cn=top,dc=x", "cn", "top", "member", "cn=big,dc=x", NULL));
	groups_finish(g, NULL, NULL);
	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.memberships, N + 1);

	const struct groups_group *top = resolve(g, "top");
	size_t wrong = 0;
	for (int i = 0; i < N + 10; i++) {
		snprintf(dn, sizeof(dn), "uid=user%d,ou=people,dc=x", i);
		struct entry *u = entry_new(dn);
		if (groups_contains(g, top, u) != (i < N))
			wrong++;
		if (groups_annotate(g, u) != (i < N ? 2u : 0u))
			wrong++;
		if (groups_contains(g, top, u) != (i < N))
			wrong++;
		entry_free(u);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	groups_free(g);
}

static void test_groups_empty(void)
{
	struct groups *g = new_groups(true);
	struct cycles c = { 0 };
	groups_finish(g, on_cycle, &c);
	CU_ASSERT_EQUAL(c.n, 0);
	struct entry *u = mk("uid=u,dc=x", "uid", "u", "memberOf", "cn=g,dc=x", NULL);
	CU_ASSERT_EQUAL(groups_annotate(g, u), 0);
	entry_free(u);
	const struct groups_group *h;
	char *err = NULL;
	CU_ASSERT_EQUAL(groups_resolve(g, "g", &h, &err), -ENOENT);
	free(err);
	struct groups_stats st;
	groups_get_stats(g, &st);
	CU_ASSERT_EQUAL(st.groups, 0);
	groups_free(g);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "strmap: put, get, replace", test_strmap_basic },
		{ "strmap: 200k keys, foreach", test_strmap_grow_foreach },
		{ "dn_normalize", test_dn_normalize },
		{ "dn_strip_uid", test_dn_strip_uid },
		{ "groups: direct membership", test_groups_direct },
		{ "groups: nested three levels", test_groups_nested },
		{ "groups: nesting off", test_groups_not_nested },
		{ "groups: cycles", test_groups_cycles },
		{ "groups: resolve", test_groups_resolve },
		{ "groups: annotate order, no repeats", test_groups_annotate_order },
		{ "groups: 5000 members", test_groups_large },
		{ "groups: no groups", test_groups_empty },
		{ NULL, NULL },
	};
	return unit_run("groups", tests);
}
