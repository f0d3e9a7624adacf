/* DN comparison: a directory hands back the same DN with different case,
 * spacing and escaping ("CN=Foo, DC=x" in a member value, "cn=foo,dc=x" as
 * the entry's own DN), so DNs are compared in a canonical form. */
#ifndef MS_LDAP_DN_H
#define MS_LDAP_DN_H

/* The canonical form of an RFC 4514 DN (caller frees), or NULL when dn does
 * not parse. libldap parses and re-serialises it (spaces around ',', '+'
 * and '=' dropped, one escaping style: "cn=Smith\, John" and
 * "cn=Smith\2C John" agree), the values of a multi-valued RDN are put in a
 * fixed order, and the result is ASCII-lowercased.
 * Not schema-aware: case is folded for every attribute (right for the naming
 * attributes cn, ou, dc, uid, o, l, which all match case-insensitively),
 * non-ASCII letters only match in the same case, and an OID type
 * ("2.5.4.3=x") does not match its name ("cn=x").
 * "" is the root DN and normalises to "". A DN over DN_MAX_LEN bytes
 * does not parse. */
#define DN_MAX_LEN 65536
char *dn_normalize(const char *dn);

/* The DN part of an RFC 4517 NameAndOptionalUID value (uniqueMember), as a
 * copy (caller frees): "cn=a,dc=x#'0101'B" gives "cn=a,dc=x". A value
 * without a trailing #'<bits>'B is copied whole. Never NULL. */
char *dn_strip_uid(const char *value);

#endif
