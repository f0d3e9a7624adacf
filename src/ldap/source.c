#include "config.h"

#include "ldap/conn.h"
#include "ldap/groups.h"
#include "ldap/search.h"
#include "ldap/source.h"
#include "ldap/syncrepl.h"
#include "util/hash.h"
#include "util/sbuf.h"
#include "util/strmap.h"
#include "util/strutil.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SOURCE_OID_IN_CHAIN "1.2.840.113556.1.4.1941"
/* The well-known GUID of the Deleted Objects container (MS-ADTS 6.1.1.4). */
#define SOURCE_WKGUID_DELETED "18E2EA80684F11D2B9AA00C04F79F805"
#define SOURCE_OID_SHOW_DELETED "1.2.840.113556.1.4.417"
/* Ids per OR-filter when entries are read again by id. */
#define SOURCE_FETCH_BATCH 50
/* ppolicy's "locked by an administrator, for good"; other values are
 * lockouts after failed logins, which expire and are not a departure. */
#define SOURCE_PPOLICY_LOCKED_FOREVER "000001010000Z"
#define SOURCE_UAC_ACCOUNTDISABLE 0x2
/* How much of an id a log message quotes. */
#define SOURCE_ID_QUOTED_CHARS 64

struct source_scope {
	char *ref;
	const struct groups_group *group;	/* from the last read */
	struct strmap *in_chain;		/* member ids, when the server resolved nesting */
};

struct source {
	const struct conf_source *cfg;
	struct conn *conn;
	struct groups *groups;		/* from the last read */
	struct strmap *disabled_ids;	/* disabled_filter matches */
	struct source_scope *scopes;
	size_t n_scopes;
	/* Over the groups, disabled ids and scope members: when it changes,
	 * entries may have changed scope without changing themselves. */
	char scope_hash[HASH_SHA256_HEX_LEN + 1];
	bool scope_ok;		/* the last scope read completed */
	bool deleted_unreadable_told;
	bool in_chain_told;
	bool syncrepl_refused;	/* advertised, but refused to this account */
	/* What the last group read had to say (nesting cycles, counts): said
	 * again only when it changes, not at every poll. */
	char *groups_note;
	const char *last_method;
	/* live mode */
	struct conn *live;
	struct syncrepl_persist *persist;
};

/* One read: where entries go and what has been seen. */
struct source_run {
	struct source *s;
	const struct source_sink *sink;
	struct source_result *res;
	/* id -> DN (owned) of the entries delivered, for gone and duplicate
	 * detection; may be NULL. Freed with source_seen_free. */
	struct strmap *seen;
	struct source_batch *batch;	/* live mode: entries are collected here */
	bool from_syncrepl;		/* entries are the syncrepl loop's, not ours */
};

void source_result_clear(struct source_result *res)
{
	free(res->cursor);
	free(res->why_full);
	memset(res, 0, sizeof(*res));
}

struct source *source_new(const struct conf_source *cfg)
{
	struct source *s = XNEW(struct source);
	s->cfg = cfg;
	s->conn = conn_new(cfg);
	strcpy(s->scope_hash, "-");
	return s;
}

static void source_clear_scope(struct source *s)
{
	groups_free(s->groups);
	s->groups = NULL;
	strmap_free(s->disabled_ids);
	s->disabled_ids = NULL;
	for (size_t i = 0; i < s->n_scopes; i++) {
		s->scopes[i].group = NULL;
		strmap_free(s->scopes[i].in_chain);
		s->scopes[i].in_chain = NULL;
	}
}

void source_free(struct source *s)
{
	if (!s)
		return;
	source_persist_stop(s);
	source_clear_scope(s);
	for (size_t i = 0; i < s->n_scopes; i++)
		free(s->scopes[i].ref);
	free(s->scopes);
	conn_free(s->conn);
	free(s->groups_note);
	free(s);
}

const char *source_connected_uri(const struct source *s)
{
	return conn_uri(s->conn);
}

int source_scope_add(struct source *s, const char *group_ref)
{
	for (size_t i = 0; i < s->n_scopes; i++)
		if (strcmp(s->scopes[i].ref, group_ref) == 0)
			return (int)i;
	s->scopes = xreallocarray(s->scopes, s->n_scopes + 1, sizeof(*s->scopes));
	s->scopes[s->n_scopes] = (struct source_scope){ .ref = xstrdup(group_ref) };
	return (int)s->n_scopes++;
}

bool source_in_scope(const struct source *s, int index, const struct entry *e)
{
	if (index < 0 || (size_t)index >= s->n_scopes)
		return false;
	const struct source_scope *sc = &s->scopes[index];
	if (sc->in_chain)
		return e->id && strmap_contains(sc->in_chain, e->id);
	return s->groups && sc->group && groups_contains(s->groups, sc->group, e);
}

static void source_notice(const struct source_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void source_notice(const struct source_run *run, const char *fmt, ...)
{
	if (!run->sink->notice)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	run->sink->notice(run->sink->ud, text);
	free(text);
}

static int source_ldap_scope(enum conf_scope scope)
{
	switch (scope) {
	case CONF_SCOPE_BASE: return LDAP_SCOPE_BASE;
	case CONF_SCOPE_ONE: return LDAP_SCOPE_ONELEVEL;
	case CONF_SCOPE_SUB: break;
	}
	return LDAP_SCOPE_SUBTREE;
}

/* Sets the entry's id; returns a reason (caller frees) when it cannot. */
static char *source_entry_id(const struct conf_source *c, struct entry *e)
{
	const struct entry_attr *a = entry_get(e, c->id_attribute);
	if (!a || a->n == 0)
		return xasprintf("no %s attribute (is id_attribute right, and may the bind account read it?)",
				 c->id_attribute);
	if (a->n > 1)
		return xasprintf("%s has %zu values; an id must have one", c->id_attribute, a->n);
	const struct entry_value *v = &a->values[0];
	if (strcasecmp(c->id_attribute, "objectGUID") == 0) {
		if (v->len != 16)
			return xasprintf("objectGUID is %zu bytes long, not 16", v->len);
		char *id = entry_guid_text((const unsigned char *)v->data);
		entry_set_id(e, id);
		free(id);
		return NULL;
	}
	if (v->len == 0 || !utf8_valid(v->data, v->len) || memchr(v->data, '\0', v->len))
		return xasprintf("%s is empty or not text", c->id_attribute);
	entry_set_id(e, v->data);
	return NULL;
}

/* One hex digit, or -1. Not sscanf("%x"): it skips blanks and takes a
 * sign, so malformed ids and cookies would parse as something else. */
static int source_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The filter value that finds an entry by id: objectGUID ids are GUID text
 * here but bytes in the directory. NULL when the id cannot be one. */
static char *source_id_value(const struct conf_source *c, const char *id)
{
	if (strcasecmp(c->id_attribute, "objectGUID") != 0)
		return search_escape_value(id, strlen(id));
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned char b[16];
	size_t k = 0;
	for (const char *p = id; *p && k < 32; p++) {
		if (*p == '-')
			continue;
		int v = source_hexval(*p);
		if (v < 0)
			return NULL;
		if (k % 2 == 0)
			b[order[k / 2]] = (unsigned char)(v << 4);
		else
			b[order[k / 2]] |= (unsigned char)v;
		k++;
	}
	return k == 32 ? search_escape_value(b, 16) : NULL;
}

static const char *source_disabled_reason(const struct source *s, const struct entry *e)
{
	const struct conf_source *c = s->cfg;
	if (c->detect_disabled) {
		const struct entry_attr *uac = entry_get(e, "userAccountControl");
		if (uac && uac->n && (strtoll(uac->values[0].data, NULL, 10) & SOURCE_UAC_ACCOUNTDISABLE))
			return "userAccountControl says the account is disabled";
		const struct entry_attr *lock = entry_get(e, "pwdAccountLockedTime");
		for (size_t i = 0; lock && i < lock->n; i++)
			if (strcmp(lock->values[i].data, SOURCE_PPOLICY_LOCKED_FOREVER) == 0)
				return "pwdAccountLockedTime says an administrator locked the account";
	}
	if (s->disabled_ids && e->id && strmap_contains(s->disabled_ids, e->id))
		return "the entry matches disabled_filter";
	return NULL;
}

/* Every entry, from any kind of read, goes through here: id, disabled,
 * groups, then the sink (or the live batch). Takes ownership of e. */
static int source_deliver(struct source_run *run, struct entry *e)
{
	struct source *s = run->s;
	int r = 0;

	if (!e->id) {
		char *why = source_entry_id(s->cfg, e);
		if (why) {
			run->res->skipped++;
			if (run->sink->skipped)
				run->sink->skipped(run->sink->ud, e->dn, why);
			free(why);
			goto out;
		}
	}
	if (run->seen) {
		/* Two entries with one id (a copied employeeNumber, say) would
		 * be one member pushed twice with different data: the first
		 * read keeps the id, the others are skipped and named. The same
		 * entry twice (same DN) is not a duplicate. */
		const char *first = strmap_get(run->seen, e->id);
		if (first && strcasecmp(first, e->dn) != 0) {
			run->res->skipped++;
			if (run->sink->skipped) {
				size_t cut = utf8_prefix_bytes(e->id, strlen(e->id), SOURCE_ID_QUOTED_CHARS);
				char *why = xasprintf("its %s \"%.*s\"%s is also the id of %s, read before it; "
						      "an id names one member, so this entry is skipped",
						      s->cfg->id_attribute, (int)cut, e->id, e->id[cut] ? "..." : "", first);
				run->sink->skipped(run->sink->ud, e->dn, why);
				free(why);
			}
			goto out;
		}
		if (!first)
			strmap_put(run->seen, e->id, xstrdup(e->dn));
	}
	e->disabled = source_disabled_reason(s, e);
	if (e->disabled)
		run->res->disabled++;
	if (s->groups)
		groups_annotate(s->groups, e);
	run->res->entries++;
	if (run->batch) {
		xgrow((void **)&run->batch->entries, &run->batch->cap_entries, run->batch->n_entries,
		      sizeof(*run->batch->entries));
		run->batch->entries[run->batch->n_entries++] = e;
		return 0;
	}
	r = run->sink->entry(run->sink->ud, e);
out:
	entry_free(e);
	return r;
}

static void source_free_seen_dn(const char *id, void *dn, void *ud)
{
	(void)id;
	(void)ud;
	free(dn);
}

static void source_seen_free(struct strmap *seen)
{
	if (seen)
		strmap_foreach(seen, source_free_seen_dn, NULL);
	strmap_free(seen);
}

static int source_on_search_entry(void *ud, struct entry *e)
{
	return source_deliver(ud, e);
}

static void source_on_page(void *ud, size_t entries)
{
	struct source_run *run = ud;
	(void)entries;
	if (run->sink->progress)
		run->sink->progress(run->sink->ud, run->res->entries);
}

static int source_on_sync_entry(void *ud, const struct entry *e)
{
	return source_deliver(ud, entry_dup(e));
}

static int source_on_sync_deleted(void *ud, const char *id)
{
	struct source_run *run = ud;
	run->res->deleted++;
	if (run->batch) {
		xgrow((void **)&run->batch->deleted, &run->batch->cap_deleted, run->batch->n_deleted,
		      sizeof(*run->batch->deleted));
		run->batch->deleted[run->batch->n_deleted++] = xstrdup(id);
		return 0;
	}
	return run->sink->deleted ? run->sink->deleted(run->sink->ud, id) : 0;
}

static void source_on_sync_progress(void *ud, size_t n)
{
	source_on_page(ud, n);
}

/* ------------------------------------------------------------ the scope */

struct source_collect {
	struct source *s;
	struct source_run *run;	/* for progress while reading */
	struct strmap *ids;
	struct hash_ctx *hash;
	size_t n;
};

/* Reads of groups and ids show life too: in a large AD they take long. */
static void source_on_collect_page(void *ud, size_t entries)
{
	struct source_collect *c = ud;
	if (c->run)
		source_on_page(c->run, entries);
}

static void source_hash_entry(struct hash_ctx *h, const struct entry *e)
{
	hash_update_str(h, e->dn);
	for (size_t i = 0; i < e->n_attrs; i++) {
		hash_update_str(h, e->attrs[i].name);
		for (size_t j = 0; j < e->attrs[i].n; j++) {
			hash_update(h, e->attrs[i].values[j].data, e->attrs[i].values[j].len);
			hash_update(h, "", 1);
		}
	}
}

static int source_on_group(void *ud, struct entry *e)
{
	struct source_collect *c = ud;
	source_hash_entry(c->hash, e);
	groups_add(c->s->groups, e);
	c->n++;
	entry_free(e);
	return 0;
}

static int source_on_id(void *ud, struct entry *e)
{
	struct source_collect *c = ud;
	char *why = source_entry_id(c->s->cfg, e);
	if (!why) {
		hash_update_str(c->hash, e->id);
		strmap_put(c->ids, e->id, NULL);
		c->n++;
	}
	free(why);
	entry_free(e);
	return 0;
}

static void source_on_cycle(void *ud, const char *path)
{
	struct sbuf *note = ud;
	if (note->len)
		sbuf_addch(note, '\n');
	sbuf_addf(note, "nested groups form a cycle (%s); its members are in every group of it", path);
}

static int source_search(struct source *s, const struct search_params *p, struct search_result *res,
			 const char *what, char **err)
{
	struct search_result ignored = { 0 };
	struct search_result *sr = res ? res : &ignored;
	int r = search_run(conn_ld(s->conn), p, sr, err);
	if (r < 0) {
		char *e = xasprintf("%s: %s", what, *err);
		free(*err);
		*err = e;
	}
	return r;
}

static int source_read_ids(struct source *s, const char *filter, struct source_collect *c, const char *what,
			   char **err)
{
	const struct conf_source *cfg = s->cfg;
	char *attrs[] = { cfg->id_attribute, NULL };
	struct search_params p = {
		.base = cfg->base, .scope = source_ldap_scope(cfg->scope), .filter = filter, .attributes = attrs,
		.page_size = cfg->page_size, .timeout = cfg->timeout, .entry = source_on_id,
		.page = source_on_collect_page, .ud = c,
	};
	return source_search(s, &p, NULL, what, err);
}

static bool source_use_in_chain(const struct source *s)
{
	int in_chain = s->cfg->groups.in_chain;
	return in_chain == 1 || (in_chain == -1 && conn_info(s->conn)->is_ad);
}

/* Active Directory hands out at most MaxValRange (1500) values of an
 * attribute and names the rest by range. Asking for the first range
 * explicitly gets the same answer from every AD implementation, Samba
 * included (it has no MaxValRange), so one code path reads every group. */
static char **source_group_attributes(const struct source *s)
{
	const struct conf_groups *g = &s->cfg->groups;
	size_t n = 0;
	while (g->attributes[n])
		n++;
	char **attrs = xcalloc(n + 1, sizeof(char *));
	bool ad = conn_info(s->conn)->is_ad;
	for (size_t i = 0; i < n; i++) {
		const char *a = g->attributes[i];
		bool ranged = ad && (strcasecmp(a, "member") == 0 || strcasecmp(a, "uniqueMember") == 0);
		attrs[i] = ranged ? xasprintf("%s;range=0-1499", a) : xstrdup(a);
	}
	return attrs;
}


/* Groups, disabled accounts and in-chain members: everything that decides
 * an entry's scope without being in the entry. */
static int source_read_scope(struct source *s, struct source_run *run, char **err)
{
	const struct conf_source *cfg = s->cfg;
	struct hash_ctx *h = hash_begin();
	struct source_collect c = { .s = s, .run = run, .hash = h };
	char *filter = NULL;
	int r = 0;

	source_clear_scope(s);
	if (cfg->groups.enabled) {
		struct groups_options o = { cfg->groups.name_attribute,
					    cfg->groups.use_member_uid ? cfg->groups.uid_attribute : NULL,
					    cfg->groups.nested };
		s->groups = groups_new(&o);
		char **attrs = source_group_attributes(s);
		struct search_params p = {
			.base = cfg->groups.base, .scope = source_ldap_scope(cfg->groups.scope),
			.filter = cfg->groups.filter, .attributes = attrs, .page_size = cfg->page_size,
			.timeout = cfg->timeout, .entry = source_on_group, .page = source_on_collect_page, .ud = &c,
		};
		struct search_result sr = { 0 };
		r = source_search(s, &p, &sr, "reading the groups", err);
		strv_free(attrs);
		if (r < 0)
			goto out;
		struct sbuf note;
		sbuf_init(&note);
		groups_finish(s->groups, source_on_cycle, &note);
		struct groups_stats st;
		groups_get_stats(s->groups, &st);
		if (note.len)
			sbuf_addch(&note, '\n');
		sbuf_addf(&note, "%zu groups read under %s, %zu memberships%s", st.groups, cfg->groups.base,
			  st.memberships, sr.ranged_fetches ? ", long member lists read in ranges" : "");
		if (!s->groups_note || strcmp(s->groups_note, note.buf) != 0) {
			free(s->groups_note);
			s->groups_note = sbuf_detach(&note, NULL);
			for (char *line = s->groups_note, *nl; line; line = nl ? nl + 1 : NULL) {
				nl = strchr(line, '\n');
				source_notice(run, "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
			}
		}
		sbuf_release(&note);
	}
	if (cfg->disabled_filter) {
		s->disabled_ids = strmap_new();
		c.ids = s->disabled_ids;
		filter = xasprintf("(&%s%s)", cfg->filter, cfg->disabled_filter);
		hash_update_str(h, "disabled");
		if ((r = source_read_ids(s, filter, &c, "reading the disabled accounts (disabled_filter)", err)) < 0)
			goto out;
		free(filter);
		filter = NULL;
	}
	for (size_t i = 0; i < s->n_scopes; i++) {
		struct source_scope *sc = &s->scopes[i];
		if (!s->groups) {
			*err = xasprintf("a target is scoped to group '%s', but source.groups is not configured", sc->ref);
			r = -EINVAL;
			goto out;
		}
		char *why = NULL;
		if (groups_resolve(s->groups, sc->ref, &sc->group, &why) < 0) {
			*err = xasprintf("a target's group '%s': %s (groups are read under %s with %s)", sc->ref, why,
					 cfg->groups.base, cfg->groups.filter);
			free(why);
			r = -ENOENT;
			goto out;
		}
		if (!source_use_in_chain(s))
			continue;
		if (!conn_info(s->conn)->is_ad && !s->in_chain_told) {
			source_notice(run, "source.groups: in_chain = true, but %s is not Active Directory: servers "
				      "that do not know the in-chain matching rule match nothing with it",
				      conn_uri(s->conn));
			s->in_chain_told = true;
		}
		sc->in_chain = strmap_new();
		c.ids = sc->in_chain;
		char *dn = search_escape_value(groups_group_dn(sc->group), strlen(groups_group_dn(sc->group)));
		filter = xasprintf("(&%s(memberOf:" SOURCE_OID_IN_CHAIN ":=%s))", cfg->filter, dn);
		free(dn);
		hash_update_str(h, sc->ref);
		char *what = xasprintf("reading the members of %s, nested groups included", groups_group_dn(sc->group));
		r = source_read_ids(s, filter, &c, what, err);
		free(what);
		if (r < 0)
			goto out;
		free(filter);
		filter = NULL;
	}
out:
	free(filter);
	hash_end(h, s->scope_hash);
	s->scope_ok = r == 0;
	if (r < 0)
		source_clear_scope(s);
	return r;
}

/* --------------------------------------------------------------- cursors
 * "method;scope-hash;..." so a cursor is used only by the same method
 * over the same scope. syncrepl: the cookie in hex; usn: the DC's
 * invocationId and the USN. */

struct source_cursor {
	char *method, *scope, *a, *b;
	char *buf;
};

static void source_cursor_parse(const char *text, struct source_cursor *c)
{
	memset(c, 0, sizeof(*c));
	if (!text)
		return;
	c->buf = xstrdup(text);
	char *save = NULL;
	c->method = strtok_r(c->buf, ";", &save);
	c->scope = strtok_r(NULL, ";", &save);
	c->a = strtok_r(NULL, ";", &save);
	c->b = strtok_r(NULL, ";", &save);
}

static struct berval *source_unhex(const char *text)
{
	size_t len = text ? strlen(text) : 0;
	if (len == 0 || len % 2)
		return NULL;
	struct berval *bv = ber_memalloc(sizeof(*bv));
	bv->bv_len = len / 2;
	bv->bv_val = ber_memalloc(bv->bv_len + 1);
	for (size_t i = 0; i < bv->bv_len; i++) {
		int hi = source_hexval(text[2 * i]), lo = source_hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			ber_bvfree(bv);
			return NULL;
		}
		bv->bv_val[i] = (char)(hi << 4 | lo);
	}
	bv->bv_val[bv->bv_len] = '\0';
	return bv;
}

static char *source_syncrepl_cursor(const struct source *s, const struct berval *cookie)
{
	char *hex = xmalloc(2 * cookie->bv_len + 1);
	str_hex(cookie->bv_val, cookie->bv_len, hex);
	char *c = xasprintf("syncrepl;%s;%s", s->scope_hash, hex);
	free(hex);
	return c;
}

/* ----------------------------------------------------------- the reads */

struct source_known_ctx {
	struct source_run *run;
	const struct syncrepl_idset *present;
	struct strmap *listed;	/* the gone ones, once each */
	char **gone;
	size_t n, cap;
};

static void source_on_known(void *ud, const char *id)
{
	struct source_known_ctx *k = ud;
	if (strmap_contains(k->run->seen, id) || (k->present && syncrepl_idset_contains(k->present, id)))
		return;
	/* The caller may name an id more than once (once per target). */
	if (strmap_contains(k->listed, id))
		return;
	strmap_put(k->listed, id, NULL);
	xgrow((void **)&k->gone, &k->cap, k->n, sizeof(*k->gone));
	k->gone[k->n++] = xstrdup(id);
}

/* After a complete read that listed everything there is (with present:
 * the ids the server said are still there), what the caller knows and
 * was not listed is gone. */
static int source_report_gone(struct source_run *run, const struct syncrepl_idset *present)
{
	struct source_known_ctx k = { .run = run, .present = present };
	int r = 0;
	if (!run->sink->known || !run->sink->deleted)
		return 0;
	k.listed = strmap_new();
	run->sink->known(run->sink->ud, source_on_known, &k);
	strmap_free(k.listed);
	for (size_t i = 0; i < k.n; i++) {
		if (r == 0) {
			run->res->deleted++;
			r = run->sink->deleted(run->sink->ud, k.gone[i]);
		}
		free(k.gone[i]);
	}
	free(k.gone);
	return r < 0 ? -ECANCELED : 0;
}

static int source_read_full(struct source *s, struct source_run *run, const char *filter, char **err)
{
	const struct conf_source *cfg = s->cfg;
	struct search_params p = {
		.base = cfg->base, .scope = source_ldap_scope(cfg->scope), .filter = filter ? filter : cfg->filter,
		.attributes = cfg->attributes, .page_size = cfg->page_size, .timeout = cfg->timeout,
		.entry = source_on_search_entry, .page = source_on_page, .ud = run,
	};
	return source_search(s, &p, NULL, "reading the directory", err);
}

static int source_read_syncrepl(struct source *s, struct source_run *run, const struct source_cursor *cur,
				char **err)
{
	const struct conf_source *cfg = s->cfg;
	struct berval *cookie = cur ? source_unhex(cur->a) : NULL;
	struct source_sink sink = {
		.entry = source_on_sync_entry, .deleted = source_on_sync_deleted, .progress = source_on_sync_progress,
		.ud = run,
	};
	struct syncrepl_params p = {
		.base = cfg->base, .scope = source_ldap_scope(cfg->scope), .filter = cfg->filter,
		.attrs = cfg->attributes, .cookie = cookie, .timeout = cfg->timeout,
	};
	struct syncrepl_result sr = { 0 };
	int r = syncrepl_refresh(conn_ld(s->conn), &p, &sink, &sr, err);
	if (r == -ESTALE && cookie) {
		/* The server's history does not reach back to our cookie. */
		free(*err);
		*err = NULL;
		syncrepl_result_clear(&sr);
		free(run->res->why_full);
		run->res->why_full = xstrdup("the server no longer has the history since the last read "
					     "(e-syncRefreshRequired)");
		run->res->incremental = false;
		ber_bvfree(cookie);
		cookie = NULL;
		p.cookie = NULL;
		r = syncrepl_refresh(conn_ld(s->conn), &p, &sink, &sr, err);
	}
	if (r == 0 && sr.complete) {
		run->res->complete = true;
		if (sr.present_phase)
			r = source_report_gone(run, &sr.present);
		const struct berval *next = sr.cookie ? sr.cookie : cookie;
		if (r == 0 && next && next->bv_len)
			run->res->cursor = source_syncrepl_cursor(s, next);
	}
	syncrepl_result_clear(&sr);
	ber_bvfree(cookie);
	return r;
}


/* Reports the ids in `ids` gone, in a stable order. */
static int source_report_ids(struct source_run *run, const struct strmap *ids)
{
	char **keys = strmap_keys(ids);
	int r = 0;
	for (char **k = keys; *k && r == 0; k++)
		r = source_on_sync_deleted(run, *k);
	strv_free(keys);
	return r < 0 ? -ECANCELED : 0;
}

/* AD moves deleted objects to the Deleted Objects container, where the
 * show-deleted control lets a permitted account see them with their
 * objectGUID. Without that permission, deletions show at full reads. */
static int source_read_deleted_usn(struct source *s, struct source_run *run, unsigned long long from)
{
	const struct conf_source *cfg = s->cfg;
	const struct conn_info *info = conn_info(s->conn);
	LDAPControl *show = NULL;
	char *attrs[] = { cfg->id_attribute, NULL };
	char unused[HASH_SHA256_HEX_LEN + 1];
	char *err = NULL;
	int r = 0;

	/* Deleted objects keep objectGUID but lose most other attributes. */
	if (!info->default_nc || strcasecmp(cfg->id_attribute, "objectGUID") != 0 ||
	    ldap_control_create(SOURCE_OID_SHOW_DELETED, 1, NULL, 0, &show) != LDAP_SUCCESS)
		return 0;
	LDAPControl *ctrls[] = { show, NULL };
	struct source_collect c = { .s = s, .ids = strmap_new(), .hash = hash_begin() };
	struct search_params p = {
		.base = NULL, .scope = LDAP_SCOPE_BASE, .filter = "(objectClass=*)", .attributes = attrs,
		.page_size = 0, .timeout = cfg->timeout, .controls = ctrls, .entry = source_on_id, .ud = &c,
	};
	struct search_result sr = { 0 };
	/* Without rights on the container AD hides the deleted objects (or
	 * their attributes) without an error: ask the container first. */
	char *container = xasprintf("<WKGUID=" SOURCE_WKGUID_DELETED ",%s>", info->default_nc);
	p.base = container;
	if (search_run(conn_ld(s->conn), &p, &sr, &err) < 0 || c.n != 1) {
		if (!s->deleted_unreadable_told)
			source_notice(run, "cannot read the Deleted Objects container of %s%s%s (grant the service "
				      "account List Contents and Read Property there); deletions will be noticed at "
				      "the next full read",
				      info->default_nc, err ? ": " : "", err ? err : "");
		s->deleted_unreadable_told = true;
		goto out;
	}
	s->deleted_unreadable_told = false;
	strmap_free(c.ids);
	c.ids = strmap_new();
	/* cppcheck-suppress unreadVariable ; source_on_id() counts on from it through p.ud */
	c.n = 0;
	char *filter = xasprintf("(&(isDeleted=TRUE)(uSNChanged>=%llu))", from);
	p.base = info->default_nc;
	p.scope = LDAP_SCOPE_SUBTREE;
	p.filter = filter;
	p.page_size = cfg->page_size;
	if (search_run(conn_ld(s->conn), &p, &sr, &err) < 0)
		source_notice(run, "cannot read deleted objects (%s); deletions will be noticed at the next full read",
			      err);
	else
		r = source_report_ids(run, c.ids);
	free(filter);
out:
	hash_end(c.hash, unused);
	strmap_free(c.ids);
	free(err);
	free(container);
	ldap_control_free(show);
	return r;
}

static int source_read_usn(struct source *s, struct source_run *run, const struct source_cursor *cur, char **err)
{
	const struct conn_info *info = conn_info(s->conn);
	unsigned long long from = 0;
	char *filter = NULL;
	int r;

	/* Taken before the search: what changes during it has a higher USN
	 * and is read again next time, which is harmless. */
	char *high = xstrdup(info->highest_usn);
	if (cur) {
		from = strtoull(cur->b, NULL, 10) + 1;
		filter = xasprintf("(&%s(uSNChanged>=%llu))", s->cfg->filter, from);
	}
	r = source_read_full(s, run, filter, err);
	if (r == 0) {
		run->res->complete = true;
		r = cur ? source_read_deleted_usn(s, run, from) : source_report_gone(run, NULL);
	}
	if (r == 0)
		run->res->cursor = xasprintf("usn;%s;%s;%s", s->scope_hash,
					     info->invocation_id ? info->invocation_id : "-", high);
	free(high);
	free(filter);
	return r;
}

static const char *source_pick_method(const struct source *s)
{
	const struct conn_info *info = conn_info(s->conn);
	switch (s->cfg->change_detection) {
	case CONF_CHANGES_SYNCREPL: return "syncrepl";
	case CONF_CHANGES_USN: return "usn";
	case CONF_CHANGES_FULL: return "full";
	case CONF_CHANGES_AUTO: break;
	}
	if (info->is_ad && info->highest_usn)
		return "usn";
	if (info->has_syncrepl && !s->syncrepl_refused && strcasecmp(s->cfg->id_attribute, "entryUUID") == 0)
		return "syncrepl";
	return "full";
}

/* Whether the stored cursor can be continued; else says why not. */
static bool source_cursor_usable(const struct source *s, const char *method, const struct source_cursor *cur,
				 char **why)
{
	const struct conn_info *info = conn_info(s->conn);
	if (!cur->method || strcmp(method, "full") == 0)
		return false;
	if (strcmp(cur->method, method) != 0) {
		*why = xasprintf("change detection is now %s (was %s)", method, cur->method);
		return false;
	}
	if (!cur->scope || strcmp(cur->scope, s->scope_hash) != 0) {
		*why = xstrdup("the groups or disabled accounts that scope the entries changed");
		return false;
	}
	if (strcmp(method, "syncrepl") == 0) {
		struct berval *cookie = source_unhex(cur->a);
		ber_bvfree(cookie);
		if (!cookie) {
			*why = xstrdup("the stored syncrepl cookie is damaged");
			return false;
		}
	}
	if (strcmp(method, "usn") == 0) {
		if (!cur->a || !cur->b) {
			*why = xstrdup("the stored USN is damaged");
			return false;
		}
		if (strcmp(cur->a, info->invocation_id ? info->invocation_id : "-") != 0) {
			*why = xasprintf("the domain controller is another one, or was restored (invocationId %s, was %s)",
					 info->invocation_id ? info->invocation_id : "unknown", cur->a);
			return false;
		}
	}
	return true;
}

static bool source_conn_gone(int r)
{
	return r == -ECONNRESET || r == -ENOTCONN;
}

int source_read(struct source *s, const struct source_request *req, const struct source_sink *sink,
		struct source_result *res, char **err)
{
	struct source_cursor cur;
	bool retried = false;
	int r;

	*err = NULL;
	memset(res, 0, sizeof(*res));
	source_cursor_parse(req->cursor, &cur);
again:;
	struct source_run run = { .s = s, .sink = sink, .res = res, .seen = strmap_new() };
	if ((r = conn_open(s->conn, err)) < 0)
		goto out;
	if ((r = conn_refresh_info(s->conn, err)) < 0 || (r = source_read_scope(s, &run, err)) < 0)
		goto retry;

	const char *method = source_pick_method(s);
	if (!s->last_method || strcmp(s->last_method, method) != 0)
		source_notice(&run, "change detection: %s (%s %s%s%s)", method,
			      s->cfg->change_detection == CONF_CHANGES_AUTO ? "chosen from the rootDSE of"
									  : "configured; server",
			      conn_uri(s->conn), conn_info(s->conn)->vendor ? ", " : "",
			      conn_info(s->conn)->vendor ? conn_info(s->conn)->vendor : "");
	s->last_method = method;
	res->method = method;
	bool use = !req->full && source_cursor_usable(s, method, &cur, &res->why_full);
	res->incremental = use;

	if (strcmp(method, "syncrepl") == 0) {
		r = source_read_syncrepl(s, &run, use ? &cur : NULL, err);
		if (r == -EOPNOTSUPP && res->entries == 0) {
			source_notice(&run, "the server refused content synchronization (%s); reading everything "
					    "instead. Load the syncprov overlay on the database, or set "
					    "change_detection = \"full\"",
				      *err);
			free(*err);
			*err = NULL;
			s->last_method = res->method = method = "full";
			res->incremental = false;
			/* Chosen, not configured: stop asking until a reload. */
			s->syncrepl_refused = s->cfg->change_detection == CONF_CHANGES_AUTO;
		}
	} else if (strcmp(method, "usn") == 0) {
		if (!conn_info(s->conn)->highest_usn) {
			*err = xstrdup("change_detection = \"usn\", but the server's rootDSE has no highestCommittedUSN "
				       "(not Active Directory?)");
			r = -EOPNOTSUPP;
			goto out;
		}
		r = source_read_usn(s, &run, use ? &cur : NULL, err);
	}
	if (strcmp(method, "full") == 0) {
		r = source_read_full(s, &run, NULL, err);
		if (r == 0) {
			res->complete = true;
			r = source_report_gone(&run, NULL);
		}
	}
retry:
	if (r < 0 && source_conn_gone(r))
		conn_close(s->conn);
	/* A kept-alive connection may have been closed by the server while
	 * we slept; one fresh start is worth it if nothing was read yet. */
	if (r < 0 && source_conn_gone(r) && !retried && res->entries == 0 && res->deleted == 0) {
		retried = true;
		free(*err);
		*err = NULL;
		source_seen_free(run.seen);
		source_result_clear(res);
		goto again;
	}
out:
	source_seen_free(run.seen);
	free(cur.buf);
	if (r < 0)
		res->complete = false;
	return r;
}

int source_fetch(struct source *s, char *const *ids, size_t n, const struct source_sink *sink,
		 struct source_result *res, char **err)
{
	const struct conf_source *cfg = s->cfg;
	struct source_run run = { .s = s, .sink = sink, .res = res };
	struct sbuf f;
	int r = 0;

	*err = NULL;
	if (n == 0)
		return 0;
	if ((r = conn_open(s->conn, err)) < 0)
		return r;
	sbuf_init(&f);
	for (size_t i = 0; i < n && r == 0; i += SOURCE_FETCH_BATCH) {
		size_t listed = 0;
		sbuf_reset(&f);
		sbuf_addf(&f, "(&%s(|", cfg->filter);
		for (size_t j = i; j < n && j < i + SOURCE_FETCH_BATCH; j++) {
			char *v = source_id_value(cfg, ids[j]);
			if (v) {
				sbuf_addf(&f, "(%s=%s)", cfg->id_attribute, v);
				listed++;
			}
			free(v);
		}
		sbuf_addstr(&f, "))");
		if (listed)
			r = source_read_full(s, &run, f.buf, err);
	}
	sbuf_release(&f);
	if (r < 0 && source_conn_gone(r))
		conn_close(s->conn);
	return r;
}

/* ------------------------------------------------------------ live mode */

bool source_can_persist(const struct source *s)
{
	return s->cfg->syncrepl_persist && s->last_method && strcmp(s->last_method, "syncrepl") == 0;
}

bool source_persist_running(const struct source *s)
{
	return s->persist != NULL;
}

void source_persist_stop(struct source *s)
{
	syncrepl_persist_free(s->persist);
	s->persist = NULL;
	conn_free(s->live);
	s->live = NULL;
}

int source_persist_start(struct source *s, const char *cursor, char **err)
{
	const struct conf_source *cfg = s->cfg;
	struct source_cursor cur;
	struct berval *cookie = NULL;
	int r;

	*err = NULL;
	source_persist_stop(s);
	source_cursor_parse(cursor, &cur);
	if (!cur.method || strcmp(cur.method, "syncrepl") != 0 || !cur.scope ||
	    strcmp(cur.scope, s->scope_hash) != 0 || !(cookie = source_unhex(cur.a))) {
		*err = xstrdup("no current syncrepl cookie to continue from");
		r = -ESTALE;
		goto out;
	}
	s->live = conn_new(cfg);
	if ((r = conn_open(s->live, err)) < 0)
		goto out;
	struct syncrepl_params p = {
		.base = cfg->base, .scope = source_ldap_scope(cfg->scope), .filter = cfg->filter,
		.attrs = cfg->attributes, .cookie = cookie, .timeout = cfg->timeout,
	};
	r = syncrepl_persist_start(conn_ld(s->live), &p, &s->persist, err);
out:
	if (r < 0)
		source_persist_stop(s);
	ber_bvfree(cookie);
	free(cur.buf);
	return r;
}

int source_persist_fd(const struct source *s)
{
	int fd = -1;
	if (s->persist && ldap_get_option(conn_ld(s->live), LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	return fd;
}

void source_batch_free(struct source_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_entries; i++)
		entry_free(b->entries[i]);
	for (size_t i = 0; i < b->n_deleted; i++)
		free(b->deleted[i]);
	free(b->entries);
	free(b->deleted);
	free(b->cursor);
	free(b);
}

int source_persist_poll(struct source *s, struct source_batch **batch, bool *more, char **err)
{
	static const struct source_sink none = { 0 };
	struct source_result res = { 0 };
	struct syncrepl_persist_status st = { 0 };
	int r;

	*err = NULL;
	*more = false;
	if (!s->persist) {
		*err = xstrdup("the live search is not running");
		return -ENOTCONN;
	}
	/* Entries are scoped with the groups of the last read; without them
	 * they would be judged out of scope and their change lost. */
	if (!s->scope_ok) {
		source_persist_stop(s);
		*err = xstrdup("the last read of the groups or disabled accounts failed");
		return -ESTALE;
	}
	if (!*batch)
		*batch = XNEW(struct source_batch);
	struct source_run run = { .s = s, .sink = &none, .res = &res, .batch = *batch };
	struct source_sink sink = {
		.entry = source_on_sync_entry, .deleted = source_on_sync_deleted, .ud = &run,
	};
	r = syncrepl_persist_poll(s->persist, &sink, &st, err);
	/* A refresh stage ending with the present list implies deletions
	 * (whatever is not in it) that only a poll, which knows the members,
	 * can find: hand over to one rather than move the cursor past them. */
	if (r == 0 && st.refresh_ended && st.present_phase) {
		*err = xstrdup("the server listed the present entries instead of the deleted ones (no session log); "
			       "a poll finds the deletions");
		r = -ESTALE;
	}
	if (r < 0 && st.cookie) {
		ber_bvfree(st.cookie);
		st.cookie = NULL;
	}
	if (st.cookie) {
		free((*batch)->cursor);
		(*batch)->cursor = source_syncrepl_cursor(s, st.cookie);
		ber_bvfree(st.cookie);
	}
	*more = r == 0 && st.more;
	if (r < 0)
		source_persist_stop(s);
	return r;
}

int source_batch_deliver(const struct source_batch *b, const struct source_sink *sink, struct source_result *res)
{
	memset(res, 0, sizeof(*res));
	res->method = "syncrepl";
	res->incremental = true;
	res->complete = true;
	res->cursor = b->cursor ? xstrdup(b->cursor) : NULL;
	for (size_t i = 0; i < b->n_entries; i++) {
		res->entries++;
		if (b->entries[i]->disabled)
			res->disabled++;
		if (sink->entry(sink->ud, b->entries[i]) < 0)
			return -ECANCELED;
	}
	for (size_t i = 0; i < b->n_deleted; i++) {
		res->deleted++;
		if (sink->deleted && sink->deleted(sink->ud, b->deleted[i]) < 0)
			return -ECANCELED;
	}
	return 0;
}
