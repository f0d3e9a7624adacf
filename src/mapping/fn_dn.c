/* DN functions: the parts of a DN (manager, member, the entry's own dn)
 * and group membership. DNs are parsed by libldap, as RFC 4514 strings,
 * so escapes ("Smith\, John", "\2C"), "#<hex BER>" values and multi-valued
 * RDNs read the way the directory meant them. */
#include "config.h"

#include "ldap/dn.h"
#include "mapping/fn_tables.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* libldap looks for a NUL in the rest of the string before each RDN, so
 * parsing costs the length times the number of RDNs: a 1 MB value of
 * "a=b," takes over a second. Real DNs are well under a kilobyte; at this
 * size the worst case is a few milliseconds. */
#define DN_MAX_BYTES ((unsigned)DN_MAX_LEN)

/* The attribute groups_annotate (ldap/groups.h) writes on each user entry
 * when source.groups is configured, even when the user is in no group. */
#define DN_ATTR_GROUP_DNS "group_dns"

/* Parses a string value as a DN into *dn (NULL for the root DN ""). */
static int dn_parse(struct meval *ctx, const char *fname, const struct mval *v, LDAPDN *dn)
{
	*dn = NULL;
	if (v->u.str.len > DN_MAX_BYTES)
		return mfunc_fail_value(ctx, fname, v, "is too long for a DN (over %u bytes)", DN_MAX_BYTES);
	/* ldap_str2dn with the length we have: a NUL inside would be an
	 * error, not the end (the parser still needs the terminating NUL,
	 * which every MV_STRING has). */
	struct berval bv = { .bv_len = v->u.str.len, .bv_val = v->u.str.s };
	if (ldap_bv2dn(&bv, dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		ldap_dnfree(*dn);
		*dn = NULL;
		return mfunc_fail_value(ctx, fname, v, "is not a DN");
	}
	return 0;
}

/* The length of the BER TLV header of a "#<hex>" value whose content is
 * character data, or 0 when b is not exactly one such TLV. RFC 4514 says
 * the hex is the value's BER encoding; directories use it for strings, so
 * the string types are read and anything else is not text. */
static size_t dn_ber_string_header(const unsigned char *b, size_t len)
{
	static const unsigned char string_tags[] = {
		0x04, /* OCTET STRING */
		0x0C, /* UTF8String */
		0x12, /* NumericString */
		0x13, /* PrintableString */
		0x16, /* IA5String */
		0x1A, /* VisibleString */
	};
	if (len < 2 || !memchr(string_tags, b[0], sizeof(string_tags)))
		return 0;
	size_t hdr = 2, content;
	if (b[1] < 0x80) {
		content = b[1];
	} else {
		/* Long form; 0x80 (indefinite) is for constructed values only. */
		size_t nlen = b[1] & 0x7F;
		if (nlen == 0 || nlen > 4 || len < 2 + nlen)
			return 0;
		content = 0;
		for (size_t i = 0; i < nlen; i++)
			content = content << 8 | b[2 + i];
		hdr += nlen;
	}
	return content == len - hdr ? hdr : 0;
}

/* An AVA's value as text, or a reason it has none. */
static int dn_ava_text(struct meval *ctx, const char *fname, const struct mval *v, const LDAPAVA *ava,
		       struct mval *out)
{
	/* An empty value at the very end ("cn=") has no buffer at all. */
	const char *s = ava->la_value.bv_val ? ava->la_value.bv_val : "";
	size_t len = ava->la_value.bv_val ? ava->la_value.bv_len : 0;
	if (ava->la_flags & LDAP_AVA_BINARY) {
		size_t hdr = dn_ber_string_header((const unsigned char *)s, len);
		if (hdr == 0)
			return mfunc_fail_value(ctx, fname, v,
						"has a #hex attribute value that is not a text string");
		s += hdr;
		len -= hdr;
	}
	/* "\ff" and "\00" unescape to bytes that are not text. */
	if (!utf8_valid(s, len))
		return mfunc_fail_value(ctx, fname, v, "has an attribute value that is not UTF-8 text");
	mval_set_string(out, s, len);
	return 0;
}

static int op_rdn(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	LDAPDN dn;
	if (dn_parse(ctx, "rdn", item, &dn) < 0)
		return -EINVAL;
	struct mval res = MVAL_NULL;
	int r = 0;
	if (dn)
		r = dn_ava_text(ctx, "rdn", item, dn[0][0], &res);
	ldap_dnfree(dn);
	if (r == 0)
		mval_move(item, &res);
	return r;
}

/* "CN=Smith\, John,OU=Staff,DC=x" -> "Smith, John"; for "cn=a+uid=b,..."
 * the first value as written, "a". The root DN "" has none: null. */
static int fn_rdn(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_rdn, NULL);
	mval_move(out, &args[0]);
	return r;
}

/* The space libldap skips before an RDN. */
static bool dn_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int op_dn_parent(struct meval *ctx, const void *ud, struct mval *item)
{
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	LDAPDN dn;
	if (dn_parse(ctx, "dn_parent", item, &dn) < 0)
		return -EINVAL;
	bool has_parent = dn && dn[1];
	ldap_dnfree(dn);
	if (!has_parent) {
		mval_clear(item);
		return 0;
	}
	/* Where libldap itself ends the first RDN, rather than a scan of our
	 * own: escapes, '+' and "#hex" values then cannot split differently. */
	struct berval bv = { .bv_len = item->u.str.len, .bv_val = item->u.str.s };
	LDAPRDN rdn = NULL;
	char *next = NULL;
	int r = ldap_bv2rdn(&bv, &rdn, &next, LDAP_DN_FORMAT_LDAPV3);
	ldap_rdnfree(rdn);
	const char *end = item->u.str.s + item->u.str.len;
	if (r != LDAP_SUCCESS || !next || next < item->u.str.s || next >= end || *next != ',')
		return mfunc_fail_value(ctx, "dn_parent", item, "is not a DN");
	const char *p = next + 1;
	while (p < end && dn_is_space(*p))
		p++;
	struct mval res = MVAL_NULL;
	mval_set_string(&res, p, (size_t)(end - p));
	mval_move(item, &res);
	return 0;
}

/* "uid=a,ou=People,dc=x" -> "ou=People,dc=x", in the value's own spelling
 * (the operator recognises it), without the space after the comma. A DN
 * of one RDN, or "", has no parent: null. */
static int fn_dn_parent(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_dn_parent, NULL);
	mval_move(out, &args[0]);
	return r;
}

static bool dn_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool dn_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 4512 descr (a letter, then letters, digits and '-') or numericoid
 * (numbers without leading zeros, joined by dots). */
static bool dn_is_attr_type(const char *s, size_t len)
{
	if (len == 0)
		return false;
	if (dn_is_alpha(s[0])) {
		for (size_t i = 1; i < len; i++)
			if (!dn_is_alpha(s[i]) && !dn_is_digit(s[i]) && s[i] != '-')
				return false;
		return true;
	}
	for (size_t i = 0; i < len;) {
		size_t start = i;
		while (i < len && dn_is_digit(s[i]))
			i++;
		if (i == start || (s[start] == '0' && i - start > 1))
			return false;
		if (i == len)
			return true;
		if (s[i] != '.' || ++i == len)
			return false;
	}
	return false;
}

static int attr_of_dn_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			      void **data, char **err)
{
	if (lits[1]->type != MV_STRING) {
		*err = xstrdup("the attribute type must be a string, like 'ou'");
		return -EINVAL;
	}
	if (!dn_is_attr_type(lits[1]->u.str.s, lits[1]->u.str.len)) {
		*err = xasprintf("'%s' is not an attribute type name or OID (like 'ou' or '2.5.4.11')",
				 lits[1]->u.str.s);
		return -EINVAL;
	}
	*data = xstrdup(lits[1]->u.str.s);
	return 0;
}

/* Attribute types are ASCII and case-insensitive; no locale may change
 * that. */
static bool dn_type_equal(const struct berval *a, const char *b)
{
	size_t len = strlen(b);
	if (a->bv_len != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char x = a->bv_val[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static int op_attr_of_dn(struct meval *ctx, const void *ud, struct mval *item)
{
	const char *type = ud;
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	LDAPDN dn;
	if (dn_parse(ctx, "attr_of_dn", item, &dn) < 0)
		return -EINVAL;
	const LDAPAVA *hit = NULL;
	for (size_t i = 0; dn && dn[i] && !hit; i++)
		for (size_t j = 0; dn[i][j] && !hit; j++)
			if (dn_type_equal(&dn[i][j]->la_attr, type))
				hit = dn[i][j];
	struct mval res = MVAL_NULL;
	int r = hit ? dn_ava_text(ctx, "attr_of_dn", item, hit, &res) : 0;
	ldap_dnfree(dn);
	if (r == 0)
		mval_move(item, &res);
	return r;
}

/* The value of the first AVA of that type, leftmost RDN first:
 * "uid=jdoe,ou=Sales,ou=People,dc=example" | attr_of_dn('ou') -> "Sales".
 * No such AVA: null. A type written as an OID only matches that OID. */
static int fn_attr_of_dn(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			 struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_attr_of_dn, data);
	mval_move(out, &args[0]);
	return r;
}

static int is_member_of_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
				void **data, char **err)
{
	if (lits[0]->type != MV_STRING) {
		*err = xstrdup("the group DN must be a string, like 'cn=admins,ou=groups,dc=example,dc=org'");
		return -EINVAL;
	}
	char *ndn = dn_normalize(lits[0]->u.str.s);
	if (!ndn || !*ndn) {
		*err = ndn ? xstrdup("the group DN is empty")
			   : xasprintf("'%s' is not a valid DN", lits[0]->u.str.s);
		free(ndn);
		return -EINVAL;
	}
	*data = ndn;
	return 0;
}

/* True when the entry's group_dns holds the group. Those values are the
 * group DNs as the directory spelled them, so each is normalised before
 * the compare (users are in tens of groups, not thousands). */
static int fn_is_member_of(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			   struct mval *out)
{
	const char *want = data;
	const struct entry_attr *a = entry_get(ctx->entry, DN_ATTR_GROUP_DNS);
	/* Annotated entries always have the attribute, even with no values;
	 * without it, false would claim a membership nobody looked up. */
	if (!a)
		return meval_fail(ctx,
				  "is_member_of: this entry has no group information; is_member_of needs "
				  "'groups' in the source configuration (see membersync.conf(5))");
	bool member = false;
	for (size_t i = 0; i < a->n && !member; i++) {
		const struct entry_value *v = &a->values[i];
		/* The index only holds DNs that parsed; anything else, or a
		 * value too long to be one, is not this group. */
		if (v->len > DN_MAX_BYTES || strlen(v->data) != v->len)
			continue;
		char *ndn = dn_normalize(v->data);
		member = ndn && strcmp(ndn, want) == 0;
		free(ndn);
	}
	mval_set_bool(out, member);
	return 0;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("rdn", 1, 1, fn_rdn, "${value | rdn}"),
	MFUNC_PLAIN("dn_parent", 1, 1, fn_dn_parent, "${value | dn_parent}"),
	MFUNC_PREPARED("attr_of_dn", 2, 2, fn_attr_of_dn, "${value | attr_of_dn('type')}", 0x2u,
		       attr_of_dn_prepare, free),
	{ .name = "is_member_of",
	  .min_args = 1,
	  .max_args = 1,
	  .fn = fn_is_member_of,
	  .usage = "${is_member_of('group DN')}",
	  .literal_args = 0x1u,
	  .prepare = is_member_of_prepare,
	  .free_data = free,
	  .reads_attr = DN_ATTR_GROUP_DNS },
};

MFUNC_TABLE(mfunc_dn_table, funcs);
