/* The DN functions (rdn, dn_parent, attr_of_dn, is_member_of) and the
 * conversions and encodings (int, bool, md5, sha256, base64): normal,
 * empty, missing, multi-valued, non-UTF-8, huge and hostile values, and
 * the mistakes caught at load time. */
#include "config.h"

#include "ldap/groups.h"
#include "mapping/expr.h"
#include "mapping_fixture.h"
#include "unit.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#define ONE_MB (1u << 20)

/* An entry whose attribute `attr` holds the one value v. */
static struct entry *entry1(const char *attr, const char *v)
{
	return mfix_entry(attr, v, NULL);
}

/* Evaluates src on an entry with attr = v and checks the outcome. */
#define EXPECT1(attr, v, src, expected)                   \
	do {                                              \
		struct entry *e_ = entry1((attr), (v));   \
		MFIX_EXPECT(NULL, e_, (src), (expected)); \
		entry_free(e_);                           \
	} while (0)

#define EXPECT1_ERR(attr, v, src, part)                   \
	do {                                              \
		struct entry *e_ = entry1((attr), (v));   \
		MFIX_EXPECT_ERR(NULL, e_, (src), (part)); \
		entry_free(e_);                           \
	} while (0)

/* A string of n copies of unit (n * strlen(unit) bytes) followed by tail;
 * caller frees. */
static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *s = xmalloc(n * ul + tl + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + n * ul, tail, tl + 1);
	return s;
}

/* "<prefix><s>"; caller frees. */
static char *prefixed(const char *prefix, const char *s)
{
	return xasprintf("%s%s", prefix, s);
}

/* ------------------------------------------------------------ rdn */

static void test_rdn(void)
{
	EXPECT1("manager", "CN=Smith\\, John,OU=Staff,DC=x", "${manager | rdn}", "string:Smith, John");
	EXPECT1("manager", "uid=jdoe,ou=People,dc=example,dc=org", "${manager | rdn}", "string:jdoe");
	EXPECT1("manager", "cn=Smith\\2C John,dc=x", "${manager | rdn}", "string:Smith, John");
	EXPECT1("manager", "cn=\\C3\\BCmlaut,dc=x", "${manager | rdn}", "string:\xc3\xbcmlaut");
	EXPECT1("manager", "cn=Zoë Müller,dc=x", "${manager | rdn}", "string:Zoë Müller");
	EXPECT1("manager", " cn = a b  , dc=x", "${manager | rdn}", "string:a b");
	EXPECT1("manager", "cn=\\ padded\\ ,dc=x", "${manager | rdn}", "string: padded ");
	EXPECT1("manager", "cn=a+uid=b,dc=x", "${manager | rdn}", "string:a");
	EXPECT1("manager", "uid=b+cn=a,dc=x", "${manager | rdn}", "string:b");
	EXPECT1("manager", "cn=a\\+b,dc=x", "${manager | rdn}", "string:a+b");
	EXPECT1("manager", "cn=a=b,dc=x", "${manager | rdn}", "string:a=b");
	EXPECT1("manager", "cn=,dc=x", "${manager | rdn}", "string:");
	EXPECT1("manager", "cn=", "${manager | rdn}", "string:");
	EXPECT1("manager", "C1a=", "${manager | rdn}", "string:");
	EXPECT1("manager", "cn=a,dc=", "${manager | attr_of_dn('dc')}", "string:");
	EXPECT1("manager", "cn=a,dc=", "${manager | dn_parent}", "string:dc=");
	EXPECT1("manager", "cn=only", "${manager | rdn}", "string:only");
	EXPECT1("manager", "2.5.4.3=oid", "${manager | rdn}", "string:oid");
	/* "#" values are BER: an OCTET STRING and a UTF8String of "abc". */
	EXPECT1("manager", "cn=#0403616263,dc=x", "${manager | rdn}", "string:abc");
	EXPECT1("manager", "cn=#0C03616263,dc=x", "${manager | rdn}", "string:abc");
	EXPECT1("manager", "cn=#048103616263,dc=x", "${manager | rdn}", "string:abc");
	EXPECT1("manager", "cn=#0400,dc=x", "${manager | rdn}", "string:");
	/* The DN of the entry itself. */
	EXPECT1("x", "y", "${dn | rdn}", "string:t");

	/* Empty and missing. */
	EXPECT1("manager", "", "${manager | rdn}", "NULL");
	EXPECT1("manager", "x", "${missing | rdn}", "NULL");
	EXPECT1("manager", "x", "${missing[*] | rdn}", "[]");

	/* Multi-valued, element by element. */
	struct entry *e = mfix_entry("member", "cn=A,dc=x", "CN=B\\, C,DC=x", "", NULL);
	MFIX_EXPECT(NULL, e, "${member[*] | rdn}", "[A|B, C|]");
	MFIX_EXPECT(NULL, e, "${member[*] | rdn | count}", "integer:3");
	MFIX_EXPECT(NULL, e, "${[member, null] | rdn}", "[A|]");
	entry_free(e);
	e = mfix_entry("member", "cn=A,dc=x", "not a dn", NULL);
	MFIX_EXPECT(NULL, e, "${member[*] | rdn}", "ERR:rdn: value \"not a dn\" is not a DN");
	entry_free(e);

	/* Not DNs. */
	EXPECT1("manager", "not a dn", "${manager | rdn}", "ERR:rdn: value \"not a dn\" is not a DN");
	EXPECT1("manager", "cn=a,", "${manager | rdn}", "ERR:rdn: value \"cn=a,\" is not a DN");
	EXPECT1("manager", "cn=a\\", "${manager | rdn}", "ERR:rdn: value \"cn=a\\\\\" is not a DN");
	EXPECT1("manager", "cn=a\\zz", "${manager | rdn}", "ERR:rdn: value \"cn=a\\\\zz\" is not a DN");
	EXPECT1("manager", "cn=a;dc=x", "${manager | rdn}", "ERR:rdn: value \"cn=a;dc=x\" is not a DN");
	EXPECT1("manager", "cn=\"q\",dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=\\\"q\\\",dc=x\" is not a DN");
	EXPECT1("manager", "=a", "${manager | rdn}", "ERR:rdn: value \"=a\" is not a DN");
	EXPECT1("manager", "   ", "${manager | rdn}", "ERR:rdn: value \"   \" is not a DN");
	EXPECT1("manager", "cn=#zz", "${manager | rdn}", "ERR:rdn: value \"cn=#zz\" is not a DN");
	EXPECT1("manager", "cn=#041", "${manager | rdn}", "ERR:rdn: value \"cn=#041\" is not a DN");
	EXPECT1("n", "42", "${n | int | rdn}", "ERR:rdn: value \"42\" is not a DN");
	EXPECT1("n", "x", "${true | rdn}", "ERR:rdn: value \"true\" is not a DN");

	/* Values that parse but are not text. */
	EXPECT1("manager", "cn=\\ff,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=\\\\ff,dc=x\" has an attribute value that is not UTF-8 text");
	EXPECT1("manager", "cn=a\\00b,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=a\\\\00b,dc=x\" has an attribute value that is not UTF-8 text");
	EXPECT1("manager", "cn=#0401ff,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=#0401ff,dc=x\" has an attribute value that is not UTF-8 text");
	EXPECT1("manager", "cn=#020105,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=#020105,dc=x\" has a #hex attribute value that is not a text string");
	EXPECT1("manager", "cn=#040461,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=#040461,dc=x\" has a #hex attribute value that is not a text string");
	EXPECT1("manager", "cn=#0480,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=#0480,dc=x\" has a #hex attribute value that is not a text string");
	EXPECT1("manager", "cn=#,dc=x", "${manager | rdn}",
		"ERR:rdn: value \"cn=#,dc=x\" has a #hex attribute value that is not a text string");
	/* Only the first RDN is read: a bad value further on does not matter
	 * once the DN parses. */
	EXPECT1("manager", "cn=a,ou=\\ff", "${manager | rdn}", "string:a");

	/* The evaluator refuses bytes that are not UTF-8 before rdn runs. */
	EXPECT1_ERR("manager", "cn=\xff,dc=x", "${manager | rdn}",
		    "attribute 'manager' has a value that is not valid UTF-8 text");
}

/* ------------------------------------------------------------ dn_parent */

static void test_dn_parent(void)
{
	EXPECT1("manager", "uid=a,ou=People,dc=x", "${manager | dn_parent}", "string:ou=People,dc=x");
	EXPECT1("manager", "uid=a, OU=People , DC=x", "${manager | dn_parent}", "string:OU=People , DC=x");
	EXPECT1("manager", "uid=a,\t ou=x", "${manager | dn_parent}", "string:ou=x");
	EXPECT1("manager", "CN=Smith\\, John,OU=Staff,DC=x", "${manager | dn_parent}",
		"string:OU=Staff,DC=x");
	EXPECT1("manager", "cn=a\\2C b,ou=x", "${manager | dn_parent}", "string:ou=x");
	EXPECT1("manager", "cn=a\\\\,ou=x", "${manager | dn_parent}", "string:ou=x");
	EXPECT1("manager", "cn=a+uid=b,dc=x", "${manager | dn_parent}", "string:dc=x");
	EXPECT1("manager", "cn=a,ou=b\\,c+uid=d,dc=x", "${manager | dn_parent}",
		"string:ou=b\\,c+uid=d,dc=x");
	EXPECT1("manager", "cn=#0403616263,dc=x", "${manager | dn_parent}", "string:dc=x");
	EXPECT1("manager", "cn=#04 ,dc=x", "${manager | dn_parent}", "string:dc=x");
	/* Chained: the grandparent. */
	EXPECT1("manager", "uid=a,ou=People,dc=x", "${manager | dn_parent | dn_parent}", "string:dc=x");
	EXPECT1("manager", "uid=a,ou=People,dc=x", "${manager | dn_parent | rdn}", "string:People");

	/* No parent. */
	EXPECT1("manager", "dc=x", "${manager | dn_parent}", "NULL");
	EXPECT1("manager", "cn=a+uid=b", "${manager | dn_parent}", "NULL");
	EXPECT1("manager", "cn=a\\,b", "${manager | dn_parent}", "NULL");
	EXPECT1("manager", "", "${manager | dn_parent}", "NULL");
	EXPECT1("manager", "x", "${missing | dn_parent}", "NULL");

	struct entry *e = mfix_entry("member", "cn=A,ou=x", "dc=y", "cn=B,ou=z,dc=q", NULL);
	MFIX_EXPECT(NULL, e, "${member[*] | dn_parent}", "[ou=x||ou=z,dc=q]");
	MFIX_EXPECT(NULL, e, "${member[*] | dn_parent | count}", "integer:3");
	entry_free(e);

	EXPECT1("manager", "not a dn", "${manager | dn_parent}",
		"ERR:dn_parent: value \"not a dn\" is not a DN");
	EXPECT1("manager", "cn=a,ou=b\\", "${manager | dn_parent}",
		"ERR:dn_parent: value \"cn=a,ou=b\\\\\" is not a DN");
	EXPECT1("manager", "cn=a,,dc=x", "${manager | dn_parent}",
		"ERR:dn_parent: value \"cn=a,,dc=x\" is not a DN");
	/* Checked whole, not only up to the first comma. */
	EXPECT1("manager", "cn=a,garbage", "${manager | dn_parent}",
		"ERR:dn_parent: value \"cn=a,garbage\" is not a DN");
	EXPECT1_ERR("manager", "cn=a,\xc3", "${manager | dn_parent}",
		    "attribute 'manager' has a value that is not valid UTF-8 text");
}

/* ------------------------------------------------------------ attr_of_dn */

static void test_attr_of_dn(void)
{
	const char *dn = "uid=jdoe,ou=Sales,ou=People,dc=example";
	EXPECT1("manager", dn, "${manager | attr_of_dn('ou')}", "string:Sales");
	EXPECT1("manager", dn, "${manager | attr_of_dn('OU')}", "string:Sales");
	EXPECT1("manager", dn, "${manager | attr_of_dn('uid')}", "string:jdoe");
	EXPECT1("manager", dn, "${manager | attr_of_dn('dc')}", "string:example");
	EXPECT1("manager", dn, "${manager | attr_of_dn('cn')}", "NULL");
	EXPECT1("manager", dn, "${manager | attr_of_dn('o')}", "NULL");
	EXPECT1("manager", "CN=Smith\\, John,OU=R\\2BD,DC=x", "${manager | attr_of_dn('ou')}", "string:R+D");
	EXPECT1("manager", "cn=a+uid=b,uid=c", "${manager | attr_of_dn('uid')}", "string:b");
	EXPECT1("manager", "2.5.4.11=oid,ou=name", "${manager | attr_of_dn('ou')}", "string:name");
	EXPECT1("manager", "2.5.4.11=oid,ou=name", "${manager | attr_of_dn('2.5.4.11')}", "string:oid");
	EXPECT1("manager", "cn;lang-en=opt,dc=x", "${manager | attr_of_dn('cn')}", "string:opt");
	EXPECT1("manager", "cn=a,ou=#0403616263", "${manager | attr_of_dn('ou')}", "string:abc");
	EXPECT1("manager", "", "${manager | attr_of_dn('ou')}", "NULL");
	EXPECT1("manager", "x", "${missing | attr_of_dn('ou')}", "NULL");

	struct entry *e = mfix_entry("member", "cn=A,ou=X,dc=x", "cn=B,dc=x", "ou=Y", NULL);
	MFIX_EXPECT(NULL, e, "${member[*] | attr_of_dn('ou')}", "[X||Y]");
	MFIX_EXPECT(NULL, e, "${member[*] | attr_of_dn('ou') | count}", "integer:3");
	entry_free(e);

	EXPECT1("manager", "not a dn", "${manager | attr_of_dn('ou')}",
		"ERR:attr_of_dn: value \"not a dn\" is not a DN");
	/* Only the matching value has to be text. */
	EXPECT1("manager", "cn=\\ff,ou=a", "${manager | attr_of_dn('ou')}", "string:a");
	EXPECT1("manager", "cn=a,ou=\\ff", "${manager | attr_of_dn('ou')}",
		"ERR:attr_of_dn: value \"cn=a,ou=\\\\ff\" has an attribute value that is not UTF-8 text");
	EXPECT1_ERR("manager", "ou=\xff", "${manager | attr_of_dn('ou')}",
		    "attribute 'manager' has a value that is not valid UTF-8 text");

	/* The type is checked at load time. */
	EXPECT1("m", "x", "${m | attr_of_dn('o u')}",
		"COMPILE:7:attr_of_dn: 'o u' is not an attribute type name or OID (like 'ou' or '2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn('')}",
		"COMPILE:7:attr_of_dn: '' is not an attribute type name or OID (like 'ou' or '2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn('1.')}",
		"COMPILE:7:attr_of_dn: '1.' is not an attribute type name or OID (like 'ou' or '2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn('01.2')}",
		"COMPILE:7:attr_of_dn: '01.2' is not an attribute type name or OID (like 'ou' or "
		"'2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn('-cn')}",
		"COMPILE:7:attr_of_dn: '-cn' is not an attribute type name or OID (like 'ou' or '2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn('ou=x')}",
		"COMPILE:7:attr_of_dn: 'ou=x' is not an attribute type name or OID (like 'ou' or "
		"'2.5.4.11')");
	EXPECT1("m", "x", "${m | attr_of_dn(3)}",
		"COMPILE:7:attr_of_dn: the attribute type must be a string, like 'ou'");
	EXPECT1("m", "x", "${m | attr_of_dn(m)}",
		"COMPILE:7:argument 2 of 'attr_of_dn' must be a literal (usage: ${value | "
		"attr_of_dn('type')})");
	EXPECT1("m", "x", "${m | attr_of_dn}",
		"COMPILE:7:wrong number of arguments for 'attr_of_dn' (usage: ${value | "
		"attr_of_dn('type')})");
	EXPECT1("m", "ou=x", "${m | attr_of_dn('0')}", "NULL");
	EXPECT1("m", "ou=x", "${m | attr_of_dn('x-Custom-2')}", "NULL");
}

/* ------------------------------------------------------------ is_member_of */

static struct entry *mk_entry(const char *dn)
{
	struct entry *e = entry_new(dn);
	entry_set_id(e, dn);
	return e;
}

/* A user annotated by a real group index, as the source does. */
static void test_is_member_of_annotated(void)
{
	struct groups_options o = { .name_attribute = "cn", .uid_attribute = "uid", .nested = true };
	struct groups *g = groups_new(&o);
	struct entry *grp = mk_entry("CN=Admins, OU=Groups,DC=Example,DC=org");
	entry_add(grp, "cn", "Admins");
	entry_add(grp, "member", "uid=alice,ou=People,dc=example,dc=org");
	CU_ASSERT_EQUAL(groups_add(g, grp), 0);
	entry_free(grp);
	grp = mk_entry("cn=Staff\\, all,ou=Groups,dc=example,dc=org");
	entry_add(grp, "member", "CN=Admins,OU=Groups,DC=example,DC=org");
	entry_add(grp, "member", "uid=bob,ou=People,dc=example,dc=org");
	CU_ASSERT_EQUAL(groups_add(g, grp), 0);
	entry_free(grp);
	groups_finish(g, NULL, NULL);

	struct entry *alice = mk_entry("uid=alice,ou=People,dc=example,dc=org");
	struct entry *bob = mk_entry("uid=bob,ou=People,dc=example,dc=org");
	struct entry *carol = mk_entry("uid=carol,ou=People,dc=example,dc=org");
	CU_ASSERT_EQUAL(groups_annotate(g, alice), 2);
	CU_ASSERT_EQUAL(groups_annotate(g, bob), 1);
	CU_ASSERT_EQUAL(groups_annotate(g, carol), 0);

	MFIX_EXPECT(NULL, alice, "${is_member_of('cn=admins,ou=groups,dc=example,dc=org')}", "boolean:true");
	MFIX_EXPECT(NULL, alice, "${is_member_of('CN=Admins , OU=Groups,DC=EXAMPLE,DC=ORG')}",
		    "boolean:true");
	MFIX_EXPECT(NULL, alice, "${is_member_of('cn=Staff\\\\2C all,ou=Groups,dc=example,dc=org')}",
		    "boolean:true");
	MFIX_EXPECT(NULL, alice, "${is_member_of('cn=admins,dc=example,dc=org')}", "boolean:false");
	MFIX_EXPECT(NULL, bob, "${is_member_of('cn=admins,ou=groups,dc=example,dc=org')}", "boolean:false");
	MFIX_EXPECT(NULL, bob, "${is_member_of('cn=staff\\\\, all,ou=groups,dc=example,dc=org')}",
		    "boolean:true");
	MFIX_EXPECT(NULL, carol, "${is_member_of('cn=admins,ou=groups,dc=example,dc=org')}", "boolean:false");
	MFIX_EXPECT(NULL, alice,
		    "${if(is_member_of('cn=admins,ou=groups,dc=example,dc=org'), 'admin', 'user')}",
		    "string:admin");
	MFIX_EXPECT(NULL, carol,
		    "${if(is_member_of('cn=admins,ou=groups,dc=example,dc=org'), 'admin', 'user')}",
		    "string:user");

	entry_free(alice);
	entry_free(bob);
	entry_free(carol);
	groups_free(g);
}

/* Entries built by hand the way groups_annotate leaves them. */
static void test_is_member_of(void)
{
	const char *admins = "${is_member_of('cn=admins,ou=groups,dc=example,dc=org')}";
	struct entry *e = mfix_entry("group_dns", "cn=Users,ou=Groups,dc=example,dc=org",
				     "CN=Admins,OU=Groups,DC=example,DC=org", NULL);
	MFIX_EXPECT(NULL, e, admins, "boolean:true");
	MFIX_EXPECT(NULL, e, "${is_member_of('cn=users, ou=groups, dc=example, dc=org')}", "boolean:true");
	MFIX_EXPECT(NULL, e, "${is_member_of('cn=other,ou=groups,dc=example,dc=org')}", "boolean:false");
	MFIX_EXPECT(NULL, e, "${is_member_of('ou=groups,dc=example,dc=org')}", "boolean:false");
	entry_free(e);

	/* Annotated, in no group: the attribute is there with no values. */
	e = mk_entry("uid=t,dc=example,dc=org");
	entry_attr_get_or_add(e, "group_dns");
	entry_attr_get_or_add(e, "groups");
	MFIX_EXPECT(NULL, e, admins, "boolean:false");
	entry_free(e);

	/* Values that cannot be the group are skipped, not errors. */
	char *huge = repeat("a=b,", ONE_MB / 4, "cn=admins,ou=groups,dc=example,dc=org");
	e = mfix_entry("group_dns", "not a dn", "", "cn=admins\xff,ou=groups", huge,
		       "cn=admins,ou=groups,dc=example,dc=org", NULL);
	MFIX_EXPECT(NULL, e, admins, "boolean:true");
	entry_free(e);
	e = mfix_entry("group_dns", "not a dn", huge, "cn=admins\xff,ou=groups,dc=example,dc=org", NULL);
	MFIX_EXPECT(NULL, e, admins, "boolean:false");
	entry_free(e);
	free(huge);

	/* Never annotated: source.groups is not configured. */
	e = mfix_entry("memberOf", "cn=admins,ou=groups,dc=example,dc=org", NULL);
	MFIX_EXPECT(
		NULL, e, admins,
		"ERR:is_member_of: this entry has no group information; is_member_of needs 'groups' in the "
		"source configuration (see membersync.conf(5))");
	MFIX_EXPECT(
		NULL, e, "${coalesce(is_member_of('cn=a,dc=x'), false)}",
		"ERR:is_member_of: this entry has no group information; is_member_of needs 'groups' in the "
		"source configuration (see membersync.conf(5))");
	entry_free(e);

	/* Load-time errors. */
	e = mfix_entry("group_dns", "cn=a,dc=x", NULL);
	MFIX_EXPECT(NULL, e, "${is_member_of('not a dn')}",
		    "COMPILE:3:is_member_of: 'not a dn' is not a valid DN");
	MFIX_EXPECT(NULL, e, "${is_member_of('cn=a,')}", "COMPILE:3:is_member_of: 'cn=a,' is not a valid DN");
	MFIX_EXPECT(NULL, e, "${is_member_of('')}", "COMPILE:3:is_member_of: the group DN is empty");
	MFIX_EXPECT(NULL, e, "${is_member_of(42)}",
		    "COMPILE:3:is_member_of: the group DN must be a string, like "
		    "'cn=admins,ou=groups,dc=example,dc=org'");
	MFIX_EXPECT(NULL, e, "${is_member_of(group_dns)}",
		    "COMPILE:3:argument 1 of 'is_member_of' must be a literal (usage: ${is_member_of('group "
		    "DN')})");
	MFIX_EXPECT(NULL, e, "${group_dns | is_member_of('cn=a,dc=x')}",
		    "COMPILE:15:wrong number of arguments for 'is_member_of' (usage: ${is_member_of('group "
		    "DN')})");
	MFIX_EXPECT(NULL, e, "${is_member_of()}",
		    "COMPILE:3:wrong number of arguments for 'is_member_of' (usage: ${is_member_of('group "
		    "DN')})");
	MFIX_EXPECT(NULL, e, "${is_member_of('cn=a,dc=x')}", "boolean:true");
	entry_free(e);
}

/* ------------------------------------------------------------ hostile DNs */

static void test_dn_hostile(void)
{
	/* 10k RDNs: parsed whole, quickly. */
	char *deep = repeat("ou=a,", 9999, "dc=x");
	struct entry *e = entry1("manager", deep);
	MFIX_EXPECT(NULL, e, "${manager | rdn}", "string:a");
	MFIX_EXPECT(NULL, e, "${manager | attr_of_dn('dc')}", "string:x");
	MFIX_EXPECT(NULL, e, "${manager | attr_of_dn('cn')}", "NULL");
	char *want = prefixed("string:", deep + 5);
	MFIX_EXPECT(NULL, e, "${manager | dn_parent}", want);
	free(want);
	entry_free(e);
	free(deep);

	/* 10k AVAs in one RDN. */
	char *wide = repeat("cn=a+", 9999, "uid=z,dc=x");
	e = entry1("manager", wide);
	MFIX_EXPECT(NULL, e, "${manager | rdn}", "string:a");
	MFIX_EXPECT(NULL, e, "${manager | attr_of_dn('uid')}", "string:z");
	MFIX_EXPECT(NULL, e, "${manager | dn_parent}", "string:dc=x");
	entry_free(e);
	free(wide);

	/* 10k escaped commas in one value. */
	char *esc = repeat("\\,", 10000, ",dc=x");
	char *v = prefixed("cn=", esc);
	e = entry1("manager", v);
	char *commas = repeat(",", 10000, "");
	want = prefixed("string:", commas);
	MFIX_EXPECT(NULL, e, "${manager | rdn}", want);
	MFIX_EXPECT(NULL, e, "${manager | dn_parent}", "string:dc=x");
	free(want);
	free(commas);
	entry_free(e);
	free(v);
	free(esc);

	/* 1 MB: refused at once, not parsed for seconds. */
	char *many = repeat("a=b,", ONE_MB / 4, "c=d");
	e = entry1("manager", many);
	MFIX_EXPECT_ERR(NULL, e, "${manager | rdn}",
			"(1048579 characters) is too long for a DN (over 65536 bytes)");
	MFIX_EXPECT_ERR(NULL, e, "${manager | dn_parent}", "is too long for a DN (over 65536 bytes)");
	MFIX_EXPECT_ERR(NULL, e, "${manager | attr_of_dn('a')}", "is too long for a DN (over 65536 bytes)");
	entry_free(e);
	free(many);
	char *big = repeat("x", ONE_MB, "");
	memcpy(big, "cn=", 3);
	e = entry1("manager", big);
	MFIX_EXPECT_ERR(NULL, e, "${manager | rdn}", "rdn: value \"cn=xxx");
	entry_free(e);
	free(big);

	/* Just under the limit still works. */
	char *edge = repeat("a", 65536 - 3 - 5, ",dc=x");
	v = prefixed("cn=", edge);
	CU_ASSERT_EQUAL(strlen(v), 65536);
	e = entry1("manager", v);
	MFIX_EXPECT(NULL, e, "${manager | dn_parent}", "string:dc=x");
	entry_free(e);
	free(v);
	free(edge);
}

/* ------------------------------------------------------------ int */

static void test_int(void)
{
	EXPECT1("n", "0042", "${n | int}", "integer:42");
	EXPECT1("n", " -7 ", "${n | int}", "integer:-7");
	EXPECT1("n", "+5", "${n | int}", "integer:5");
	EXPECT1("n", "-0", "${n | int}", "integer:0");
	EXPECT1("n", "\t12\n", "${n | int}", "integer:12");
	EXPECT1("n", "9223372036854775807", "${n | int}", "integer:9223372036854775807");
	EXPECT1("n", "-9223372036854775808", "${n | int}", "integer:-9223372036854775808");
	EXPECT1("n", "x", "${42 | int}", "integer:42");
	EXPECT1("n", "x", "${-3 | int}", "integer:-3");
	EXPECT1("n", "x", "${true | int}", "integer:1");
	EXPECT1("n", "x", "${false | int}", "integer:0");
	EXPECT1("n", "x", "${missing | int}", "NULL");
	EXPECT1("n", "x", "${null | int}", "NULL");

	struct entry *e = mfix_entry("n", "1", " 2", "-3", NULL);
	MFIX_EXPECT(NULL, e, "${n[*] | int}", "[1|2|-3]");
	MFIX_EXPECT(NULL, e, "${[n[*], null, true] | int}", "[1|2|-3||1]");
	entry_free(e);
	e = mfix_entry("n", "1", "two", NULL);
	MFIX_EXPECT(NULL, e, "${n[*] | int}", "ERR:int: value \"two\" is not an integer");
	entry_free(e);

	EXPECT1("n", "abc", "${n | int}", "ERR:int: value \"abc\" is not an integer");
	/* "" is no value, as for the other conversions. */
	EXPECT1("n", "", "${n | int}", "NULL");
	EXPECT1("n", "  ", "${n | int}", "ERR:int: value \"  \" is not an integer");
	EXPECT1("n", "12abc", "${n | int}", "ERR:int: value \"12abc\" is not an integer");
	EXPECT1("n", "1 2", "${n | int}", "ERR:int: value \"1 2\" is not an integer");
	EXPECT1("n", "-", "${n | int}", "ERR:int: value \"-\" is not an integer");
	EXPECT1("n", "--1", "${n | int}", "ERR:int: value \"--1\" is not an integer");
	EXPECT1("n", "1.5", "${n | int}", "ERR:int: value \"1.5\" is not an integer");
	EXPECT1("n", "0x1f", "${n | int}", "ERR:int: value \"0x1f\" is not an integer");
	EXPECT1("n", "1e3", "${n | int}", "ERR:int: value \"1e3\" is not an integer");
	EXPECT1("n", "٣", "${n | int}", "ERR:int: value \"٣\" is not an integer");
#define INT_RANGE " is out of the integer range (-9223372036854775808 to 9223372036854775807)"
	EXPECT1("n", "9223372036854775808", "${n | int}", "ERR:int: value \"9223372036854775808\"" INT_RANGE);
	EXPECT1("n", "-9223372036854775809", "${n | int}",
		"ERR:int: value \"-9223372036854775809\"" INT_RANGE);
	EXPECT1("n", "123456789012345678901234567890", "${n | int}",
		"ERR:int: value \"123456789012345678901234567890\"" INT_RANGE);
#undef INT_RANGE
	/* Thirty digits and then a letter: not a number at all. */
	EXPECT1("n", "123456789012345678901234567890x", "${n | int}",
		"ERR:int: value \"123456789012345678901234567890x\" is not an integer");
	EXPECT1("n", "x", "${[[1, 'x']] | int}", "ERR:int: value \"x\" is not an integer");
	EXPECT1_ERR("n", "1\xff", "${n | int}", "attribute 'n' has a value that is not valid UTF-8 text");

	char *huge = repeat("9", ONE_MB, "");
	EXPECT1_ERR("n", huge, "${n | int}", "is out of the integer range");
	huge[ONE_MB - 1] = 'z';
	EXPECT1_ERR("n", huge, "${n | int}", "is not an integer");
	free(huge);
	huge = repeat("0", ONE_MB, "7");
	EXPECT1("n", huge, "${n | int}", "integer:7");
	free(huge);
}

/* ------------------------------------------------------------ bool */

static void test_bool(void)
{
	static const char *const yes[] = {
		"true", "TRUE", "True", " yes ", "YES", "on", "On", "1", "\ttrue\n"
	};
	static const char *const no[] = { "false", "FALSE", "no", "No", "off", "OFF", "0", " 0 " };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		EXPECT1("b", yes[i], "${b | bool}", "boolean:true");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		EXPECT1("b", no[i], "${b | bool}", "boolean:false");
	EXPECT1("b", "x", "${true | bool}", "boolean:true");
	EXPECT1("b", "x", "${false | bool}", "boolean:false");
	EXPECT1("b", "x", "${1 | bool}", "boolean:true");
	EXPECT1("b", "x", "${0 | bool}", "boolean:false");
	EXPECT1("b", "x", "${missing | bool}", "NULL");

	struct entry *e = mfix_entry("b", "TRUE", "no", "0", NULL);
	MFIX_EXPECT(NULL, e, "${b[*] | bool}", "[true|false|false]");
	entry_free(e);

	const char *hint = "is not a boolean (true/false, yes/no, on/off, 1/0)";
	char *want;
#define EXPECT_NOT_BOOL(src, quoted)                                       \
	do {                                                               \
		want = xasprintf("ERR:bool: value %s %s", (quoted), hint); \
		EXPECT1("b", "maybe", (src), want);                        \
		free(want);                                                \
	} while (0)
	EXPECT_NOT_BOOL("${b | bool}", "\"maybe\"");
	EXPECT1("b", "", "${b | bool}", "NULL");
	EXPECT_NOT_BOOL("${'t' | bool}", "\"t\"");
	EXPECT_NOT_BOOL("${'truex' | bool}", "\"truex\"");
	EXPECT_NOT_BOOL("${'y' | bool}", "\"y\"");
	EXPECT_NOT_BOOL("${'01' | bool}", "\"01\"");
	EXPECT_NOT_BOOL("${2 | bool}", "2");
	EXPECT_NOT_BOOL("${-1 | bool}", "-1");
#undef EXPECT_NOT_BOOL
	EXPECT1_ERR("b", "tru\xc3", "${b | bool}", "attribute 'b' has a value that is not valid UTF-8 text");
	char *huge = repeat(" ", ONE_MB, "true");
	EXPECT1("b", huge, "${b | bool}", "boolean:true");
	free(huge);
	huge = repeat("t", ONE_MB, "");
	EXPECT1_ERR("b", huge, "${b | bool}", "(1048576 characters) is not a boolean");
	free(huge);
}

/* ------------------------------------------------------------ digests */

static void test_digests(void)
{
	EXPECT1("v", "", "${v | md5}", "string:d41d8cd98f00b204e9800998ecf8427e");
	EXPECT1("v", "abc", "${v | md5}", "string:900150983cd24fb0d6963f7d28e17f72");
	EXPECT1("v", "x", "${42 | md5}", "string:a1d0c6e83f027327d8461063f4ac58a6");
	EXPECT1("v", "abc", "${v | sha256}",
		"string:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT1("v", "", "${v | sha256}",
		"string:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* UTF-8 bytes: "ü" is c3 bc. */
	EXPECT1("v", "\xc3\xbc", "${v | md5}", "string:c03410a5204b21cd8229ff754688d743");
	EXPECT1("v", "x", "${missing | md5}", "NULL");
	EXPECT1("v", "x", "${missing | sha256}", "NULL");

	struct entry *e = mfix_entry("v", "abc", "", NULL);
	MFIX_EXPECT(NULL, e, "${v[*] | md5}",
		    "[900150983cd24fb0d6963f7d28e17f72|d41d8cd98f00b204e9800998ecf8427e]");
	MFIX_EXPECT(NULL, e, "${[v, null] | sha256}",
		    "[ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|]");
	/* Nested arrays are hashed element by element too. */
	MFIX_EXPECT(NULL, e, "${[v[*]] | md5 | count}", "integer:1");
	MFIX_EXPECT(NULL, e, "${[v[*]] | md5 | first | last}", "string:d41d8cd98f00b204e9800998ecf8427e");
	MFIX_EXPECT(NULL, e, "${v | lower | sha256 | truncate(8)}", "string:ba7816bf");
	entry_free(e);

	EXPECT1_ERR("v", "\xff", "${v | md5}", "attribute 'v' has a value that is not valid UTF-8 text");
	EXPECT1_ERR("v", "\xff", "${v | sha256}", "attribute 'v' has a value that is not valid UTF-8 text");

	char *huge = repeat("a", ONE_MB, "");
	EXPECT1("v", huge, "${v | md5}", "string:7202826a7791073fe2787f0c94603278");
	EXPECT1("v", huge, "${v | sha256}",
		"string:9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360");
	free(huge);
}

/* ------------------------------------------------------------ base64 */

static void test_base64(void)
{
	/* RFC 4648 section 10. */
	static const char *const vectors[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *want = prefixed("string:", vectors[i][1]);
		EXPECT1("v", vectors[i][0], "${v | base64}", want);
		free(want);
		want = prefixed("string:", url[i]);
		EXPECT1("v", vectors[i][0], "${v | base64('url')}", want);
		free(want);
	}
	/* The two alphabets differ in 62 and 63. */
	EXPECT1("v", "?\?>", "${v | base64}", "string:Pz8+");
	EXPECT1("v", "?\??", "${v | base64}", "string:Pz8/");
	EXPECT1("v", "?\?>", "${v | base64('url')}", "string:Pz8-");
	EXPECT1("v", "?\??", "${v | base64('url')}", "string:Pz8_");
	EXPECT1("v", "\xc3\xbc", "${v | base64}", "string:w7w=");
	EXPECT1("v", "\xc3\xbc", "${v | base64(\"url\")}", "string:w7w");
	EXPECT1("v", "x", "${42 | base64}", "string:NDI=");
	EXPECT1("v", "x", "${missing | base64}", "NULL");

	struct entry *e = mfix_entry("v", "f", "fo", NULL);
	MFIX_EXPECT(NULL, e, "${v[*] | base64}", "[Zg==|Zm8=]");
	MFIX_EXPECT(NULL, e, "${v[*] | base64('url')}", "[Zg|Zm8]");
	entry_free(e);

	EXPECT1_ERR("v", "\xff", "${v | base64}", "attribute 'v' has a value that is not valid UTF-8 text");

	/* Load-time errors. */
	EXPECT1("v", "x", "${v | base64('URL')}",
		"COMPILE:7:base64: unknown variant \"URL\" (the only one is 'url': base64url without "
		"padding)");
	EXPECT1("v", "x", "${v | base64('std')}",
		"COMPILE:7:base64: unknown variant \"std\" (the only one is 'url': base64url without "
		"padding)");
	EXPECT1("v", "x", "${v | base64(1)}",
		"COMPILE:7:base64: unknown variant 1 (the only one is 'url': base64url without padding)");
	EXPECT1("v", "x", "${v | base64(v)}",
		"COMPILE:7:argument 2 of 'base64' must be a literal (usage: ${value | base64(['url'])})");
	EXPECT1("v", "x", "${v | base64('url', 'x')}",
		"COMPILE:7:wrong number of arguments for 'base64' (usage: ${value | base64(['url'])})");

	/* 1 MB in, 4/3 MB out. */
	char *huge = repeat("abc", ONE_MB / 3, "a");
	char *out = repeat("YWJj", ONE_MB / 3, "YQ==");
	char *want = prefixed("string:", out);
	EXPECT1("v", huge, "${v | base64}", want);
	free(want);
	free(out);
	free(huge);

	/* The cap: 12 MiB in is exactly 16 MiB out; a byte more is refused. */
	huge = repeat("a", 3u << 22, "");
	e = entry1("v", huge);
	MFIX_EXPECT(NULL, e, "${v | base64 | sha256}",
		    "string:8f32b55719025ba97817a21fea496b8d600a3869845967ab6c5629d568ea9678");
	entry_free(e);
	free(huge);
	huge = repeat("a", (3u << 22) + 1, "");
	e = entry1("v", huge);
	MFIX_EXPECT(NULL, e, "${v | base64}", "ERR:base64: the result would be over 16777216 bytes");
	MFIX_EXPECT(NULL, e, "${v | base64('url')}", "ERR:base64: the result would be over 16777216 bytes");
	entry_free(e);
	free(huge);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rdn", test_rdn },
		{ "dn_parent", test_dn_parent },
		{ "attr_of_dn", test_attr_of_dn },
		{ "is_member_of (annotated by the group index)", test_is_member_of_annotated },
		{ "is_member_of", test_is_member_of },
		{ "hostile DNs", test_dn_hostile },
		{ "int", test_int },
		{ "bool", test_bool },
		{ "md5 and sha256", test_digests },
		{ "base64", test_base64 },
		{ NULL, NULL },
	};
	return unit_run("fn_dn", tests);
}
