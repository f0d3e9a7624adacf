/* The daemon's configuration: loaded from a libconfig file, validated in
 * full (every problem reported as file:line), mappings compiled and
 * secrets read, so a loaded conf is ready to run and a reload can swap it
 * in atomically. */
#ifndef MS_CONFIG_CONF_H
#define MS_CONFIG_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "mapping/mapping.h"
#include "targets/driver.h"
#include "util/diag.h"
#include "util/hash.h"
#include "util/secret.h"

#define CONF_DEFAULT_PATH "/etc/membersync/membersync.conf"
/* systemd StateDirectory=membersync; $STATE_DIRECTORY overrides it. */
#define CONF_DEFAULT_STATE_DIR "/var/lib/membersync"

enum conf_scope { CONF_SCOPE_BASE, CONF_SCOPE_ONE, CONF_SCOPE_SUB };

enum conf_bind_method {
	CONF_BIND_ANONYMOUS,
	CONF_BIND_SIMPLE,
	CONF_BIND_SASL_EXTERNAL,	/* the TLS client certificate (or ldapi:// peer) */
	CONF_BIND_SASL_GSSAPI,		/* Kerberos, keytab via KRB5_CLIENT_KTNAME */
};

enum conf_change_detection {
	CONF_CHANGES_AUTO,	/* syncrepl, usn or full, from the rootDSE */
	CONF_CHANGES_SYNCREPL,	/* RFC 4533 content synchronisation */
	CONF_CHANGES_USN,	/* Active Directory uSNChanged high-water mark */
	CONF_CHANGES_FULL,	/* every cycle reads everything */
};

/* Groups read to scope targets and to give mappings group names. */
struct conf_groups {
	bool enabled;
	char *base;
	enum conf_scope scope;
	char *filter;
	char *name_attribute;
	char *uid_attribute;	/* the user attribute memberUid values hold */
	char **attributes;	/* requested on group entries (NULL-terminated) */
	bool use_member_of;	/* read users' memberOf */
	bool use_member_uid;	/* read users' uid_attribute for memberUid */
	bool nested;
	int in_chain;		/* -1: when the server is AD; 0: never; 1: always */
};

struct conf_source {
	char **uris;		/* tried in order */
	size_t n_uris;
	bool starttls;
	bool tls_verify;
	char *ca_file;		/* NULL: ldap.conf / LDAPTLS_CACERT, else system default */
	char *ca_dir;
	char *client_cert_file;
	char *client_key_file;
	enum conf_bind_method bind_method;
	char *bind_dn;		/* simple binds only */
	struct secret *bind_password;
	char *sasl_authzid;	/* SASL: identity to act as; NULL: the authenticated one */
	char *sasl_secprops;	/* SASL security properties, e.g. "maxssf=0" */
	char *keytab_file;	/* GSSAPI: client keytab; NULL: the environment's */
	bool allow_plaintext_bind;
	bool follow_referrals;
	char *base;
	enum conf_scope scope;
	char *filter;
	char *id_attribute;
	/* What to request: the id attribute, every attribute a mapping reads
	 * and the configured extras (NULL-terminated). */
	char **attributes;
	size_t n_attributes;
	int page_size;		/* 0 = no paging */
	int network_timeout;	/* seconds */
	int timeout;		/* seconds, per operation */
	int poll_interval;	/* seconds */
	bool detect_disabled;	/* userAccountControl bit 2, pwdAccountLockedTime */
	char *disabled_filter;	/* NULL: none; entries matching it are disabled */
	enum conf_change_detection change_detection;
	bool syncrepl_persist;	/* daemon mode: refreshAndPersist */
	int full_sync_interval;	/* seconds between forced full reads; 0 = never */
	struct conf_groups groups;
};

/* Attributes the source adds to user entries from the group index. */
#define CONF_ATTR_GROUPS "groups"
#define CONF_ATTR_GROUP_DNS "group_dns"

/* What becomes of a member whose entry left the directory or the
 * target's scope. */
enum conf_deprovision {
	CONF_DEPROVISION_NONE,		/* nothing: it stays at the target */
	CONF_DEPROVISION_DISABLE,	/* deactivated, account kept */
	CONF_DEPROVISION_DELETE,	/* removed */
};

struct conf_target {
	char *name;
	const struct target_driver *driver;
	void *driver_conf;
	struct auth *auth;	/* NULL: no credentials sent */
	char *url;
	struct mapping *mapping;
	bool enabled;
	long connect_timeout_ms;
	long timeout_ms;
	/* HTTPS: false skips certificate and host name checks (warned at
	 * load); ca_file (absolute, NULL: the system's CAs) is what is
	 * trusted instead of the system's store. */
	bool tls_verify;
	char *ca_file;
	unsigned max_inflight;
	size_t max_response;
	double rate_limit;	/* requests/s; 0 = none until the API throttles */
	double burst;
	unsigned max_retries;	/* per member and cycle, for transient failures */
	double retry_delay;	/* seconds before the first retry; doubles */
	double retry_max_delay;
	double max_wait;	/* longest Retry-After waited out within a cycle */
	unsigned batch_size;	/* members per batched add */
	unsigned ops;		/* driver_ops(): OP_BIT()s this target supports */
	enum conf_deprovision deprovision;
	/* Most deprovisions one plan may carry out unapproved: a count, or
	 * with max_deprovision_percent a share of the target's members. */
	double max_deprovision;
	bool max_deprovision_percent;
	unsigned max_attempts;	/* permanent failures before quarantine */
	double retry_backoff;	/* seconds before a failed member is tried again; doubles */
	double retry_backoff_max;
	double auth_pause;	/* seconds a target refusing our credentials rests */
	/* Only members of these groups (DNs or names, nested resolved) are
	 * this target's; none: every entry the source reads. */
	char **groups;
	size_t n_groups;
	/* Over what decides the payloads (driver, mapping, key, groups): a
	 * change means every entry must be mapped again. */
	char fingerprint[HASH_SHA256_HEX_LEN + 1];
};

struct conf {
	char *path;
	char *dir;
	struct conf_source source;
	struct conf_target **targets;
	size_t n_targets;
	char *state_dir;
	/* Prometheus text format written after each cycle; NULL: none. */
	char *metrics_file;
	int log_priority;
	struct mlookups *lookups;	/* lookup tables; NULL when none */
	/* sample_entry: the operator's values for the sample entry that
	 * --check-config and `membersync map --sample` map; NULL when none. */
	struct entry *sample;
	/* Over what entries are read and how enabled targets map them: when
	 * it changes, the next read is a full one. */
	char fingerprint[HASH_SHA256_HEX_LEN + 1];
};

/* Loads and validates `path`. Every error and warning goes to d. Returns 0
 * and *out, or -EINVAL (config errors, d->errors > 0) or -errno. */
int conf_load(const char *path, struct conf **out, struct diag *d);
/* --check-config: also evaluate every map against the sample entry (see
 * mapping/sample.h) and report fields that fail as errors. */
#define CONF_LOAD_CHECK_SAMPLES 0x1u
int conf_load_ext(const char *path, unsigned flags, struct conf **out, struct diag *d);
void conf_free(struct conf *c);

const struct conf_target *conf_find_target(const struct conf *c, const char *name);
/* state_dir + "/state.db"; caller frees. */
char *conf_state_path(const struct conf *c);

#endif
