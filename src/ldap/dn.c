#include "config.h"

#include "ldap/dn.h"
#include "util/xalloc.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>

static int dn_ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Byte order after ASCII case folding, which is the order the lowercased
 * output will show. */
static int dn_bv_casecmp(const struct berval *a, const struct berval *b)
{
	size_t n = a->bv_len < b->bv_len ? a->bv_len : b->bv_len;
	for (size_t i = 0; i < n; i++) {
		int ca = dn_ascii_lower((unsigned char)a->bv_val[i]);
		int cb = dn_ascii_lower((unsigned char)b->bv_val[i]);
		if (ca != cb)
			return ca - cb;
	}
	return a->bv_len < b->bv_len ? -1 : a->bv_len > b->bv_len;
}

static int dn_ava_cmp(const void *pa, const void *pb)
{
	const LDAPAVA *a = *(LDAPAVA *const *)pa;
	const LDAPAVA *b = *(LDAPAVA *const *)pb;
	int c = dn_bv_casecmp(&a->la_attr, &b->la_attr);
	return c ? c : dn_bv_casecmp(&a->la_value, &b->la_value);
}

char *dn_normalize(const char *dn)
{
	LDAPDN parsed = NULL;
	char *text = NULL;
	char *out = NULL;

	/* libldap's parse time grows with length times RDN count: a hostile
	 * megabyte-long member value would stall a read for seconds. No real
	 * DN comes near this. */
	if (strnlen(dn, DN_MAX_LEN + 1) > DN_MAX_LEN)
		return NULL;
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	/* "cn=a+uid=b" and "uid=b+cn=a" name the same entry; the AVA arrays
	 * are ours to reorder until ldap_dnfree. */
	for (size_t i = 0; parsed && parsed[i]; i++) {
		size_t n = 0;
		while (parsed[i][n])
			n++;
		if (n > 1)
			qsort(parsed[i], n, sizeof(parsed[i][0]), dn_ava_cmp);
	}
	if (ldap_dn2str(parsed, &text, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !text)
		goto out;
	/* A copy: libldap's memory goes back through ldap_memfree, ours through free. */
	out = xstrdup(text);
	for (char *p = out; *p; p++)
		*p = (char)dn_ascii_lower((unsigned char)*p);
out:
	ldap_memfree(text);
	ldap_dnfree(parsed);
	return out;
}

char *dn_strip_uid(const char *value)
{
	size_t len = strlen(value);
	const char *end = value + len;

	/* Walk back over 'B, the bits and the opening quote to the '#'. */
	if (len < 4 || end[-1] != 'B' || end[-2] != '\'')
		return xstrdup(value);
	const char *p = end - 3;
	while (p > value && (*p == '0' || *p == '1'))
		p--;
	if (p <= value || *p != '\'' || p[-1] != '#')
		return xstrdup(value);
	const char *sharp = p - 1;
	/* An escaped '#' ("\#'01'B") is part of the last RDN value. */
	size_t backslashes = 0;
	for (const char *q = sharp; q > value && q[-1] == '\\'; q--)
		backslashes++;
	if (backslashes % 2)
		return xstrdup(value);
	return xstrndup(value, (size_t)(sharp - value));
}
