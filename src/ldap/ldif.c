#include "config.h"

#include "ldap/dn.h"
#include "ldap/ldif.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <ldap.h>
#include <stdio.h> /* ldif.h uses FILE without including it */
#include <ldif.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct entry *ldif_entry_from_record(const LDIFRecord *rec)
{
	struct entry *e = entry_new(rec->lr_dn.bv_val ? rec->lr_dn.bv_val : "");
	for (LDAPMod **m = rec->lrop_mods; m && *m; m++) {
		struct entry_attr *a = entry_attr_get_or_add(e, (*m)->mod_type);
		for (struct berval **v = (*m)->mod_bvalues; v && *v; v++)
			entry_attr_add_value(a, (*v)->bv_val, (*v)->bv_len);
	}
	return e;
}

/* Why the record's DN cannot be an entry's (static text), or NULL. The
 * directory never hands out such a DN, so the rest of membersync need not
 * expect one: "" is the root DSE, not an entry under a base. */
static const char *ldif_bad_dn(const struct berval *dn)
{
	if (!dn->bv_val || dn->bv_len == 0)
		return "the DN is empty; no directory entry has an empty DN";
	if (memchr(dn->bv_val, '\0', dn->bv_len))
		return "the DN has a NUL byte in it";
	if (!utf8_valid(dn->bv_val, dn->bv_len))
		return "the DN is not valid UTF-8 text";
	char *n = dn_normalize(dn->bv_val);
	if (!n)
		return "the DN does not parse as a DN (RFC 4514)";
	free(n);
	return NULL;
}

/* libldap 2.5's record parser trusts the record's shape: a line without
 * an attribute name (": value") or a "-" line in an add record makes it
 * call strcasecmp on NULL, and ": value" after other attributes gives an
 * attribute named "" (found by tests/fuzz/fuzz_encode.c; reproducers in
 * tests/fuzz/corpus/encode/ldif-*). So every line must be empty, a
 * comment, a continuation or NAME:... with a non-empty attribute
 * description, and "-" only follows "changetype: modify" (a change
 * record, refused later). */
static bool ldif_record_shape_ok(const char *buf)
{
	static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-;.";
	bool modify = false;
	for (const char *p = buf; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		size_t len = (size_t)(end - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0 || p[0] == ' ' || p[0] == '#') {
			/* empty, continuation, comment */
		} else if (len == 1 && p[0] == '-') {
			if (!modify)
				return false;
		} else {
			size_t n = strspn(p, name_chars);
			if (n == 0 || n >= len || p[n] != ':')
				return false;
			if (n == 10 && strncasecmp(p, "changetype", 10) == 0) {
				const char *v = p + 11;
				v += strspn(v, " ");
				modify = strncasecmp(v, "modify", 6) == 0;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return true;
}

int ldif_read_entries(const char *path, void (*fn)(void *ud, const struct entry *e),
		      void (*skip)(void *ud, const char *where, const char *dn, const char *why), void *ud,
		      char **err)
{
	*err = NULL;
	LDIFFP *fp = ldif_open(path, "r");
	if (!fp) {
		int r = errno ? -errno : -EIO;
		*err = xasprintf("%s: %s", path, strerror(-r));
		return r;
	}
	unsigned long lineno = 0;
	char *buf = NULL;
	int buflen = 0, r = 0;
	for (;;) {
		unsigned long start = lineno + 1;
		int got = ldif_read_record(fp, &lineno, &buf, &buflen);
		if (got == 0)
			break;
		if (got < 0) {
			*err = xasprintf("%s:%lu: cannot read the LDIF record", path, start);
			r = -EINVAL;
			break;
		}
		LDIFRecord rec;
		memset(&rec, 0, sizeof(rec));
		/* A version: line is a record of its own to libldap; skip it.
		 * libldap can also end such a record without a buffer (fuzzing:
		 * "l6ersion:nu\n" in tests/fuzz/corpus/encode). */
		if (!buf)
			continue;
		/* Comment lines may come before the version: line. */
		const char *first = buf;
		while (*first == '#' && strchr(first, '\n'))
			first = strchr(first, '\n') + 1;
		if (strncasecmp(first, "version:", 8) == 0 && !strstr(first, "\ndn:"))
			continue;
		struct berval bv = { .bv_len = strlen(buf), .bv_val = buf };
		if (!ldif_record_shape_ok(buf) ||
		    ldap_parse_ldif_record(&bv, lineno, &rec, "membersync", LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS) !=
			    LDAP_SUCCESS) {
			*err = xasprintf("%s:%lu: not a valid LDIF record", path, start);
			r = -EINVAL;
			break;
		}
		if (rec.lr_op != LDAP_REQ_ADD) {
			*err = xasprintf("%s:%lu: a change record; only entries (dn: and attributes) can be mapped", path,
					 start);
			ldap_ldif_record_done(&rec);
			r = -EINVAL;
			break;
		}
		const char *bad = ldif_bad_dn(&rec.lr_dn);
		if (bad) {
			if (skip) {
				char *where = xasprintf("%s:%lu", path, start);
				/* Only the text before a NUL, and only if it is UTF-8:
				 * the caller prints it. */
				const char *dn = rec.lr_dn.bv_val ? rec.lr_dn.bv_val : "";
				skip(ud, where, utf8_valid(dn, strlen(dn)) ? dn : "(not UTF-8)", bad);
				free(where);
			}
			ldap_ldif_record_done(&rec);
			continue;
		}
		struct entry *e = ldif_entry_from_record(&rec);
		ldap_ldif_record_done(&rec);
		fn(ud, e);
		entry_free(e);
	}
	ber_memfree(buf);
	ldif_close(fp);
	return r;
}
