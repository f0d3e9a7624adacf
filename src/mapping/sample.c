#include "config.h"

#include "mapping/sample.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SAMPLE_DN "CN=Ada Lovelace\\, Countess,OU=Staff,DC=example,DC=org"

/* Values separated by '\n' make a multi-valued attribute. */
static const struct {
	const char *attr, *values;
} sample_values[] = {
	{ "uid", "ada" },
	{ "sAMAccountName", "ada" },
	{ "userPrincipalName", "ada@example.org" },
	{ "cn", "Ada Lovelace" },
	{ "displayName", "Ada Lovelace" },
	{ "name", "Ada Lovelace" },
	{ "givenName", "Ada" },
	{ "sn", "Lovelace" },
	{ "initials", "AL" },
	{ "mail", "ada.lovelace@example.org\nada@example.org" },
	{ "proxyAddresses", "SMTP:ada.lovelace@example.org\nsmtp:ada@example.org" },
	{ "telephoneNumber", "+44 20 7946 0958" },
	{ "mobile", "+86 134-1234-1234" },
	{ "homePhone", "+44 20 7946 0000" },
	{ "ipPhone", "4321" },
	{ "title", "Analyst" },
	{ "department", "Engineering" },
	{ "departmentNumber", "2" },
	{ "division", "Research" },
	{ "ou", "Staff" },
	{ "o", "Example" },
	{ "company", "Example Ltd" },
	{ "employeeNumber", "1001" },
	{ "employeeID", "1001" },
	{ "employeeType", "staff" },
	{ "manager", "CN=Charles Babbage,OU=Staff,DC=example,DC=org" },
	{ "l", "London" },
	{ "st", "Greater London" },
	{ "c", "GB" },
	{ "co", "United Kingdom" },
	{ "street", "12 St James's Square" },
	{ "postalCode", "SW1Y 4LB" },
	{ "physicalDeliveryOfficeName", "London" },
	{ "preferredLanguage", "en" },
	{ "description", "Sample user" },
	{ "uidNumber", "10001" },
	{ "gidNumber", "10000" },
	{ "homeDirectory", "/home/ada" },
	{ "loginShell", "/bin/bash" },
	{ "entryUUID", "6f1c2b1e-8a53-4d0b-9b1a-2f3e4d5c6b7a" },
	{ "whenCreated", "20240102030405.0Z" },
	{ "whenChanged", "20240605040302.0Z" },
	{ "createTimestamp", "20240102030405Z" },
	{ "modifyTimestamp", "20240605040302Z" },
	{ "pwdLastSet", "133500000000000000" },
	{ "lastLogonTimestamp", "133600000000000000" },
	{ "accountExpires", "9223372036854775807" },
	{ "userAccountControl", "512" },
	{ "memberOf", "CN=Engineering,OU=Groups,DC=example,DC=org\nCN=All Staff,OU=Groups,DC=example,DC=org" },
	{ "groups", "Engineering\nAll Staff" },
	{ "group_dns", "cn=engineering,ou=groups,dc=example,dc=org\ncn=all staff,ou=groups,dc=example,dc=org" },
};

static const char *sample_lookup(const char *attr)
{
	for (size_t i = 0; i < sizeof(sample_values) / sizeof(sample_values[0]); i++)
		if (strcasecmp(sample_values[i].attr, attr) == 0)
			return sample_values[i].values;
	return NULL;
}

struct sample_ctx {
	struct entry *e;
	const struct entry *overrides;
	char **generic;
	size_t n_generic;
};

static void sample_add_attr(const char *attr, void *ud)
{
	struct sample_ctx *sc = ud;
	if (strcasecmp(attr, "dn") == 0 || entry_get(sc->e, attr))
		return;
	struct entry_attr *a = entry_attr_get_or_add(sc->e, attr);
	const struct entry_attr *given = sc->overrides ? entry_get(sc->overrides, attr) : NULL;
	if (given) {
		for (size_t i = 0; i < given->n; i++)
			entry_attr_add_value(a, given->values[i].data, given->values[i].len);
		return;
	}
	const char *values = sample_lookup(attr);
	if (!values) {
		entry_attr_add_value(a, "sample", 6);
		sc->generic = xreallocarray(sc->generic, sc->n_generic + 2, sizeof(char *));
		sc->generic[sc->n_generic++] = xstrdup(attr);
		sc->generic[sc->n_generic] = NULL;
		return;
	}
	for (const char *v = values;;) {
		size_t len = strcspn(v, "\n");
		entry_attr_add_value(a, v, len);
		if (!v[len])
			break;
		v += len + 1;
	}
}

struct entry *sample_entry_new(const struct mapping *m, const struct entry *overrides, char ***generic)
{
	const char *dn = overrides && overrides->dn && overrides->dn[0] ? overrides->dn : SAMPLE_DN;
	struct sample_ctx sc = { .e = entry_new(dn), .overrides = overrides };
	entry_set_id(sc.e, sample_lookup("entryUUID"));
	mapping_foreach_attr(m, sample_add_attr, &sc);
	*generic = sc.generic;
	return sc.e;
}
