#include "config.h"

#include "ldap/ldif.h"
#include "util/xalloc.h"

#include <errno.h>
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

int ldif_read_entries(const char *path, void (*fn)(void *ud, const struct entry *e), void *ud, char **err)
{
	*err = NULL;
	LDIFFP *fp = ldif_open(path, "r");
	if (!fp) {
		int r = -errno;
		*err = xasprintf("%s: %s", path, strerror(errno));
		return r ? r : -EIO;
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
		/* A version: line is a record of its own to libldap; skip it. */
		if (strncasecmp(buf, "version:", 8) == 0 && !strstr(buf, "\ndn:"))
			continue;
		struct berval bv = { .bv_len = strlen(buf), .bv_val = buf };
		if (ldap_parse_ldif_record(&bv, lineno, &rec, "membersync", LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS) !=
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
		struct entry *e = ldif_entry_from_record(&rec);
		ldap_ldif_record_done(&rec);
		fn(ud, e);
		entry_free(e);
	}
	ber_memfree(buf);
	ldif_close(fp);
	return r;
}
