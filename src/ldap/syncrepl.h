/* OpenLDAP content synchronization (RFC 4533, "syncrepl") as a consumer:
 * the codec of its controls and intermediate response, and the two read
 * loops, refreshOnly (one poll with a stored cookie) and refreshAndPersist
 * (live changes on a connection the daemon's event loop watches).
 *
 * Debian's libldap-dev exports ldap_sync_* without installing ldap_sync.h,
 * and that API owns the read loop anyway, so the BER is done here.
 *
 * Cookies are struct berval allocated by liblber: free them with
 * ber_bvfree(). An empty cookie counts as no cookie everywhere. Ids are
 * the entryUUID in canonical lowercase 8-4-4-4-12 text, which is what slapd
 * returns for the entryUUID attribute, so they match the ids of full reads
 * that use id_attribute = entryUUID. */
#ifndef MS_LDAP_SYNCREPL_H
#define MS_LDAP_SYNCREPL_H

#include <stdbool.h>
#include <stddef.h>

#include <lber.h>
#include <ldap.h>

#include "ldap/source.h"

/* Text form of an entryUUID, with its NUL. */
#define SYNCREPL_UUID_SIZE 37
/* Longest cookie accepted from a server. slapd's are one CSN (about 40
 * bytes) per provider; anything this big is not a cookie. */
#define SYNCREPL_COOKIE_MAX 65536
/* The result code of e-syncRefreshRequired. */
#define SYNCREPL_REFRESH_REQUIRED 4096

enum syncrepl_mode {
	SYNCREPL_REFRESH_ONLY = 1,
	SYNCREPL_REFRESH_AND_PERSIST = 3,
};

enum syncrepl_state {
	SYNCREPL_PRESENT = 0,
	SYNCREPL_ADD = 1,
	SYNCREPL_MODIFY = 2,
	SYNCREPL_DELETE = 3,
};

/* ---------------------------------------------------------------- codec */

/* Builds the (critical) sync request control. cookie may be NULL; an empty
 * one is left out. reloadHint is only encoded when true (DEFAULT FALSE).
 * Returns 0 and *out (free with ldap_control_free), or -EINVAL for a bad
 * mode or an oversized cookie. */
int syncrepl_request_control(enum syncrepl_mode mode, const struct berval *cookie, bool reload_hint,
			     LDAPControl **out);

/* Parses a syncState control (of a search entry or reference). On success
 * sets *state, uuid_text (the entryUUID as text) and *cookie (NULL, or a
 * new cookie the caller owns). Returns -EPROTO for anything malformed (and
 * then sets nothing), -EINVAL when ctrl is not a syncState control. */
int syncrepl_parse_state(const LDAPControl *ctrl, enum syncrepl_state *state, char uuid_text[SYNCREPL_UUID_SIZE],
			 struct berval **cookie);

enum syncrepl_info_kind {
	SYNCREPL_INFO_NEW_COOKIE = 0,		/* [0] newcookie */
	SYNCREPL_INFO_REFRESH_DELETE = 1,	/* [1] refreshDelete: a delete phase ended */
	SYNCREPL_INFO_REFRESH_PRESENT = 2,	/* [2] refreshPresent: a present phase ended */
	SYNCREPL_INFO_ID_SET = 3,		/* [3] syncIdSet */
};

struct syncrepl_info {
	enum syncrepl_info_kind kind;
	struct berval *cookie;	/* NULL when absent; owned by the struct */
	bool refresh_done;	/* refreshDelete/refreshPresent (DEFAULT TRUE) */
	bool refresh_deletes;	/* syncIdSet (DEFAULT FALSE): the ids are deleted, else present */
	char (*uuids)[SYNCREPL_UUID_SIZE];	/* syncIdSet: n_uuids ids as text */
	size_t n_uuids;
};

/* Parses the value of a syncInfo intermediate response (the caller checked
 * the OID). Returns 0 and fills *out (release with syncrepl_info_clear), or
 * -EPROTO for anything malformed (*out is then cleared). */
int syncrepl_parse_info(const struct berval *value, struct syncrepl_info *out);
void syncrepl_info_clear(struct syncrepl_info *info);

/* Parses a syncDone control (of the SearchResultDone). *cookie: NULL, or a
 * new cookie the caller owns; *refresh_deletes: the refresh ended with a
 * delete phase (FALSE: with a present phase). -EPROTO when malformed,
 * -EINVAL when ctrl is not a syncDone control; nothing is set on error. */
int syncrepl_parse_done(const LDAPControl *ctrl, struct berval **cookie, bool *refresh_deletes);

/* -------------------------------------------------------------- id sets */

/* The ids a present phase reported. Looked up with syncrepl_idset_contains
 * once the phase is over (the set is then sorted and deduplicated). */
struct syncrepl_idset {
	char (*ids)[SYNCREPL_UUID_SIZE];
	size_t n, cap;
	bool sorted;
};

/* id is compared case-insensitively. False on an unsorted set. */
bool syncrepl_idset_contains(const struct syncrepl_idset *set, const char *id);
void syncrepl_idset_clear(struct syncrepl_idset *set);

/* ---------------------------------------------------------- read loops */

struct syncrepl_params {
	const char *base;
	int scope;		/* LDAP_SCOPE_* */
	const char *filter;	/* NULL: (objectClass=*) */
	char **attrs;		/* NULL: all user attributes */
	const struct berval *cookie;	/* NULL: initial content */
	bool reload_hint;	/* ask the server to send everything rather than refuse a stale cookie */
	int timeout;		/* seconds, per wait for the next message (refreshOnly); 0: 60 */
	size_t size_hint;	/* expected entries, to size the present set; 0: unknown */
};

/* Entries and deletions go through a struct source_sink (source.h):
 *  - state add or modify: sink->entry with a struct entry whose id is the
 *    entryUUID from the syncState control (not from the attributes, which
 *    need not include it), dn and attributes from the message (names
 *    lowercased, values binary-safe, as source_read does); valid during the
 *    call only;
 *  - state delete, syncIdSet with refreshDeletes TRUE: sink->deleted(id),
 *    which must then be set (a NULL deleted makes those reads fail);
 *  - state present, syncIdSet with refreshDeletes FALSE: into the present
 *    set (never to the sink);
 *  - sink->progress every 500 messages; sink->skipped is not used.
 * A sink callback returning <0 stops the read with -ECANCELED. */

struct syncrepl_result {
	/* The newest cookie the server sent, or NULL (keep the old one).
	 * Caller owns it (ber_bvfree). Store it only once what was done with
	 * this read's changes is committed: a cookie says "everything before
	 * me was applied". */
	struct berval *cookie;
	/* e-syncRefreshRequired, or unwillingToPerform to a request with a
	 * cookie (slapd's answer to a cookie newer than its own state): the
	 * cookie is no good; drop it and read again without one (the call then
	 * returns -ESTALE). */
	bool refresh_required;
	/* The refresh ended with a present phase: every id the caller knows
	 * that was neither delivered to sink->entry in this read nor is in
	 * `present` is gone (deleted or out of scope). Always true for a read
	 * without a cookie, where `present` is empty: the delivered entries
	 * are then the whole content, as with a full read. When false (a
	 * delete phase), deletions were all delivered to sink->deleted. */
	bool present_phase;
	struct syncrepl_idset present;
	/* The server said the refresh is over (SearchResultDone, success).
	 * Never act on present_phase unless complete. */
	bool complete;
	/* Counts, for logs and tests. */
	size_t added, modified, deleted, presents, messages;
};

/* One refreshOnly synchronization on an open, bound connection (which it
 * does not own or close). Returns 0 when complete; otherwise res says how
 * far it got and:
 *  -ESTALE       refresh required (res->refresh_required);
 *  -EOPNOTSUPP   the server does not do content synchronization here
 *                (no syncprov overlay, or not allowed);
 *  -ENOTCONN     the connection is lost or timed out: reconnect;
 *  -ECANCELED    a sink callback stopped the read;
 *  -EPROTO       the server sent something malformed;
 *  -EIO          the search failed otherwise;
 * with *err (caller frees). Release res with syncrepl_result_clear. */
int syncrepl_refresh(LDAP *ld, const struct syncrepl_params *p, const struct source_sink *sink,
		     struct syncrepl_result *res, char **err);
void syncrepl_result_clear(struct syncrepl_result *res);

/* refreshAndPersist: the refresh stage as above, then changes as they
 * happen. The object keeps ld (not owned), which must outlive it. */
struct syncrepl_persist;

struct syncrepl_persist_status {
	/* The refresh stage is over (the initial content is complete); stays
	 * true in every later poll. */
	bool refresh_done;
	/* It ended in this poll, which then stopped right after the message
	 * that ended it: apply the refresh now. present_phase and
	 * syncrepl_persist_present() mean what they do for syncrepl_refresh
	 * (with "this read" being every poll up to this one). */
	bool refresh_ended;
	bool present_phase;
	/* The newest cookie received in this poll, or NULL; caller owns it. */
	struct berval *cookie;
	/* Messages may be waiting in libldap's buffer, where the fd does not
	 * show them: call again without waiting for the fd. */
	bool more;
	size_t added, modified, deleted, presents, messages;	/* in this poll */
};

/* Sends the search. Returns 0 and *out, or -errno (as syncrepl_refresh)
 * with *err. */
int syncrepl_persist_start(LDAP *ld, const struct syncrepl_params *p, struct syncrepl_persist **out, char **err);

/* Reads the messages that have arrived, without blocking, delivering to
 * sink; call when the connection's fd (LDAP_OPT_DESC) is readable, and
 * again at once while st->more. Returns 0, or <0 with *err when the search
 * is over: -ESTALE (refresh required: restart without cookie), -ENOTCONN
 * (connection lost: reconnect and restart with the last committed cookie),
 * -EOPNOTSUPP, -EPROTO, -EIO (as for syncrepl_refresh), -ECANCELED (a sink
 * callback stopped it). After an error only syncrepl_persist_free is
 * allowed; st->cookie may still hold a cookie to release. */
int syncrepl_persist_poll(struct syncrepl_persist *sp, const struct source_sink *sink,
			  struct syncrepl_persist_status *st, char **err);

/* The present set of the refresh stage; valid from the poll that reported
 * refresh_ended until the next poll (which frees it). */
const struct syncrepl_idset *syncrepl_persist_present(const struct syncrepl_persist *sp);

/* Abandons the search (if still running) and frees sp; NULL is a no-op. */
void syncrepl_persist_free(struct syncrepl_persist *sp);

#endif
