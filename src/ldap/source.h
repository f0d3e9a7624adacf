/* The directory source: reads the configured entries (and the groups and
 * disabled accounts that scope them) and hands each entry to a sink, with
 * its stable id, whether the account is disabled and, when groups are
 * configured, the groups it is in. It picks how to find changes
 * (syncrepl, uSNChanged, or reading everything) and says which it did.
 *
 * A read that does not complete says so, and entries are reported gone
 * only by a read that completed or by the server saying so, so callers
 * never mistake a failed or partial read for people having left. */
#ifndef MS_LDAP_SOURCE_H
#define MS_LDAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf.h"
#include "ldap/entry.h"

struct source_sink {
	/* One entry with its id set; valid only during the call. Returning
	 * a negative value stops the read (it is then incomplete). */
	int (*entry)(void *ud, const struct entry *e);
	/* An entry that cannot be used (no id, ...), with the reason. */
	void (*skipped)(void *ud, const char *dn, const char *reason);
	/* Called after each page: long reads must show life (watchdog). */
	void (*progress)(void *ud, size_t entries_so_far);
	/* An entry (by its id) is gone from the directory or from the
	 * search's scope. May be NULL: gone entries are then not reported.
	 * Returning a negative value stops the read. */
	int (*deleted)(void *ud, const char *id);
	/* The ids the caller holds from earlier reads. Reads that list what
	 * is there rather than what left (complete full reads, syncrepl
	 * present phases) report each one not seen through `deleted`. May be
	 * NULL. An id may be given more than once. fn must not be called
	 * after known returns. */
	void (*known)(void *ud, void (*fn)(void *fn_ud, const char *id), void *fn_ud);
	/* Something the operator should hear about (a group cycle, a change
	 * tracking fallback); may be NULL. */
	void (*notice)(void *ud, const char *text);
	void *ud;
};

struct source_request {
	/* The cursor of the last read whose changes were committed, or NULL. */
	const char *cursor;
	/* Read everything even when the cursor allows reading only changes. */
	bool full;
};

struct source_result {
	size_t entries;		/* handed to the sink */
	size_t skipped;
	size_t deleted;		/* reported gone */
	size_t disabled;	/* of entries, how many are disabled accounts */
	bool complete;		/* every page / the whole refresh was read without error */
	/* Entries are only what changed since the cursor; otherwise they are
	 * everything in scope (when complete). */
	bool incremental;
	const char *method;	/* "syncrepl", "usn" or "full" (static) */
	/* To store once what this read brought is committed (NULL: nothing
	 * to store); caller frees, with source_result_clear. */
	char *cursor;
	/* Why the read was a full one although a cursor was given, or NULL. */
	char *why_full;
};

void source_result_clear(struct source_result *res);

struct source;

/* The source keeps a pointer to cfg, which must outlive it. */
struct source *source_new(const struct conf_source *cfg);
void source_free(struct source *s);

/* Target scoping: registers a group (DN or name, as in a target's groups)
 * to be resolved at every read, and returns its index for
 * source_in_scope. Registering the same reference again returns the same
 * index. */
int source_scope_add(struct source *s, const char *group_ref);
/* Whether entry e (as handed to a sink) is a member of scope group `index`,
 * directly or through nested groups, as of the last read. */
bool source_in_scope(const struct source *s, int index, const struct entry *e);

/* Reads the entries: only the changes since req->cursor when the cursor is
 * still good, else everything. Connects (or reconnects) as needed, trying
 * each URI in turn. Returns 0 when the read completed, or -errno with *err
 * (caller frees) when it failed; res (clear it with source_result_clear)
 * says how far it got either way. */
int source_read(struct source *s, const struct source_request *req, const struct source_sink *sink,
		struct source_result *res, char **err);

/* Reads the entries with the given ids again (members whose push is due
 * for a retry, in a cycle that read only changes), through the same sink.
 * Ids no longer in scope are not reported. Call after a source_read.
 * Returns 0 or -errno with *err; res counts are added to. */
int source_fetch(struct source *s, char *const *ids, size_t n, const struct source_sink *sink,
		 struct source_result *res, char **err);

/* The URI of the current connection, or NULL. */
const char *source_connected_uri(const struct source *s);

/* ------------------------------------------------------------ live mode
 * With syncrepl, the daemon also keeps a refreshAndPersist search open on a
 * second connection, so a change reaches the targets within moments. Its
 * changes are collected into a batch, which the daemon runs as a cycle. */

/* Whether the last read used syncrepl, so live mode can start. */
bool source_can_persist(const struct source *s);

/* Starts the live search from `cursor` (that of the last committed read).
 * Returns 0, or -errno with *err. */
int source_persist_start(struct source *s, const char *cursor, char **err);
/* The connection's fd to watch for input, or -1 when not running. */
int source_persist_fd(const struct source *s);
bool source_persist_running(const struct source *s);

/* Changes collected from the live search, ready to run as a cycle. */
struct source_batch {
	struct entry **entries;	/* processed like a read's (id, disabled, groups) */
	size_t n_entries, cap_entries;
	char **deleted;		/* ids */
	size_t n_deleted, cap_deleted;
	char *cursor;		/* to store once the batch is committed; may be NULL */
};

void source_batch_free(struct source_batch *b);

/* Reads what has arrived without blocking, adding it to *batch (created
 * when NULL). Call when the fd is readable. Returns 0, or -errno with *err
 * when the live search ended (it is then stopped; start it again later
 * from the last committed cursor). *more is set when messages may still be
 * buffered: call again without waiting for the fd. */
int source_persist_poll(struct source *s, struct source_batch **batch, bool *more, char **err);
void source_persist_stop(struct source *s);

/* Replays a batch into a sink, as source_read would. */
int source_batch_deliver(const struct source_batch *b, const struct source_sink *sink, struct source_result *res);

#endif
