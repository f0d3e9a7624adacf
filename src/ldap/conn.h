/* One connection to the directory: TLS (StartTLS or LDAPS, verification
 * on unless configured off), the configured bind (simple, SASL EXTERNAL or
 * GSSAPI), failover across the URIs in order, and what the rootDSE says
 * about the server. libldap's own defaults (ldap.conf, LDAPTLS_* and the
 * like) apply to everything the configuration leaves unset. */
#ifndef MS_LDAP_CONN_H
#define MS_LDAP_CONN_H

#include <ldap.h>
#include <stdbool.h>

#include "config/conf.h"

/* What the rootDSE says, read right after each bind. */
struct conn_info {
	bool is_ad;		/* Active Directory (or Samba AD) */
	bool has_syncrepl;	/* the RFC 4533 sync request control is supported */
	bool has_paging;	/* the RFC 2696 paged results control is supported */
	char *vendor;		/* vendorName, "Active Directory", or NULL */
	char *highest_usn;	/* AD: highestCommittedUSN (decimal), or NULL */
	char *ds_service_name;	/* AD: the DC's NTDS Settings object DN */
	char *invocation_id;	/* AD: that object's invocationId, as GUID text */
	char *default_nc;	/* AD: defaultNamingContext (where Deleted Objects is) */
};

struct conn;

/* cfg must outlive the connection. Nothing is opened yet. */
struct conn *conn_new(const struct conf_source *cfg);
void conn_free(struct conn *c);

/* Connects and binds if not connected, trying each URI in turn. Returns 0,
 * or -errno with *err (caller frees) naming every URI and why it failed. */
int conn_open(struct conn *c, char **err);
/* Drops the connection (after the server went away mid-operation). */
void conn_close(struct conn *c);
/* NULL when not connected. */
LDAP *conn_ld(struct conn *c);
const char *conn_uri(const struct conn *c);
/* Valid while connected. */
const struct conn_info *conn_info(const struct conn *c);
/* Re-reads the rootDSE (the USN moves on). Returns 0 or -errno with *err. */
int conn_refresh_info(struct conn *c, char **err);

/* "what: LDAP error text (server's diagnostic)". Caller frees. */
char *conn_error(LDAP *ld, int rc, const char *what);
/* True for result codes that mean the connection is unusable. */
bool conn_lost(int rc);

#endif
