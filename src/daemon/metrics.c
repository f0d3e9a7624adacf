#include "config.h"

#include "daemon/metrics.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const double metrics_bounds[] = { METRICS_LATENCY_BOUNDS };
#define METRICS_N_BOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

/* The cycle results counted by membersync_cycles_total, in output order. */
static const char *const metrics_results[] = { "ok", "partial", "source-failed", "stopped" };
#define METRICS_N_RESULTS (sizeof(metrics_results) / sizeof(metrics_results[0]))

struct metrics_target {
	char *name;
	bool members_known;
	long members[MEMBER__COUNT];
	uint64_t adds, present, updates, enables, disables, deletes, rejected, failures, quarantined;
	uint64_t throttles, retries, requests;
	/* Not cumulative: [i] counts durations in (bound[i-1], bound[i]];
	 * the last slot is above every bound. */
	uint64_t latency[METRICS_N_BOUNDS + 1];
	uint64_t latency_count;
	double latency_sum;
	int64_t last_success;	/* unix seconds; 0: never */
	int64_t last_cycle;
};

struct metrics {
	int64_t started_at;
	struct metrics_target **targets;
	size_t n_targets;
	uint64_t cycles[METRICS_N_RESULTS];
	bool have_cycle;
	int64_t last_cycle_at;
	double last_cycle_seconds;
	bool last_source_ok;
	uint64_t last_entries;
};

struct metrics *metrics_new(int64_t started_at)
{
	struct metrics *m = XNEW(struct metrics);
	m->started_at = started_at;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_targets; i++) {
		free(m->targets[i]->name);
		free(m->targets[i]);
	}
	free(m->targets);
	free(m);
}

static struct metrics_target *metrics_find(const struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n_targets; i++)
		if (strcmp(m->targets[i]->name, name) == 0)
			return m->targets[i];
	return NULL;
}

struct metrics_target *metrics_target(struct metrics *m, const char *name)
{
	struct metrics_target *t = metrics_find(m, name);
	if (t)
		return t;
	t = XNEW(struct metrics_target);
	t->name = xstrdup(name);
	m->targets = xreallocarray(m->targets, m->n_targets + 1, sizeof(*m->targets));
	m->targets[m->n_targets++] = t;
	return t;
}

void metrics_observe_seconds(struct metrics_target *t, double seconds)
{
	size_t i = 0;
	if (!(seconds >= 0))	/* NaN too */
		seconds = 0;
	while (i < METRICS_N_BOUNDS && seconds > metrics_bounds[i])
		i++;
	t->latency[i]++;
	t->latency_count++;
	t->latency_sum += seconds;
}

void metrics_observe(void *ud, const struct http_response *resp)
{
	metrics_observe_seconds(ud, resp->elapsed);
}

void metrics_add_cycle(struct metrics *m, const struct cycle_report *r, int64_t now)
{
	const char *result = !r->source_ok ? "source-failed" : r->stopped ? "stopped" : r->failed ? "partial" : "ok";
	for (size_t i = 0; i < METRICS_N_RESULTS; i++)
		if (strcmp(metrics_results[i], result) == 0)
			m->cycles[i]++;
	m->have_cycle = true;
	m->last_cycle_at = now;
	m->last_cycle_seconds = r->seconds;
	m->last_source_ok = r->source_ok;
	m->last_entries = r->entries;

	for (size_t i = 0; i < r->n_targets; i++) {
		const struct cycle_target_report *tr = &r->targets[i];
		if (!tr->ran)
			continue;
		struct metrics_target *t = metrics_target(m, tr->name);
		const struct push_stats *s = &tr->push;
		t->adds += s->added;
		t->present += s->duplicate + s->found;
		t->updates += s->updated;
		t->enables += s->enabled;
		t->disables += s->disabled;
		t->deletes += s->deleted;
		t->rejected += s->rejected;
		t->failures += s->failed;
		t->quarantined += s->quarantined;
		t->throttles += s->throttled;
		t->retries += s->retries;
		t->requests += s->requests;
		t->last_cycle = now;
		if (tr->result && (strcmp(tr->result, "ok") == 0 || strcmp(tr->result, "held") == 0))
			t->last_success = now;
	}
}

void metrics_set_members(struct metrics *m, const char *target, const long counts[MEMBER__COUNT])
{
	struct metrics_target *t = metrics_target(m, target);
	memcpy(t->members, counts, sizeof(t->members));
	t->members_known = true;
}

void metrics_escape_label(struct sbuf *sb, const char *value)
{
	for (const char *p = value; *p; p++) {
		switch (*p) {
		case '\\':
			sbuf_addstr(sb, "\\\\");
			break;
		case '"':
			sbuf_addstr(sb, "\\\"");
			break;
		case '\n':
			sbuf_addstr(sb, "\\n");
			break;
		default:
			sbuf_addch(sb, *p);
		}
	}
}

static void metrics_head(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	/* Our help texts have no backslash or newline to escape. */
	sbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{target="T"[,extra]} */
static void metrics_series(struct sbuf *sb, const char *name, const char *suffix, const char *target,
			   const char *extra_label, const char *extra_value)
{
	sbuf_addf(sb, "%s%s{target=\"", name, suffix);
	metrics_escape_label(sb, target);
	sbuf_addch(sb, '"');
	if (extra_label) {
		sbuf_addf(sb, ",%s=\"", extra_label);
		metrics_escape_label(sb, extra_value);
		sbuf_addch(sb, '"');
	}
	sbuf_addch(sb, '}');
}

/* Counters of every target, one family. */
struct metrics_counter {
	const char *name;
	const char *help;
	size_t offset;		/* of a uint64_t in struct metrics_target */
	const char *label, *value;	/* an extra label, or NULL */
};

#define MC(field) offsetof(struct metrics_target, field)
static const struct metrics_counter metrics_counters[] = {
	{ "membersync_adds_total", "Members the target created at our request.", MC(adds), NULL, NULL },
	{ "membersync_already_present_total", "Adds the target answered were already there (adopted as synced).",
	  MC(present), NULL, NULL },
	{ "membersync_updates_total", "Members updated at the target.", MC(updates), NULL, NULL },
	{ "membersync_enables_total", "Deprovisioned members enabled again at the target.", MC(enables), NULL,
	  NULL },
	{ "membersync_deprovisions_total", "Members deprovisioned at the target, by action.", MC(disables), "action",
	  "disable" },
	{ NULL, NULL, MC(deletes), "action", "delete" },
	{ "membersync_rejected_total", "Members the target rejected as invalid.", MC(rejected), NULL, NULL },
	{ "membersync_failures_total", "Members whose push failed for the cycle (retries spent, auth, ...).",
	  MC(failures), NULL, NULL },
	{ "membersync_quarantined_total", "Members quarantined after repeated permanent failures.", MC(quarantined),
	  NULL, NULL },
	{ "membersync_throttles_total", "Answers from the target asking us to slow down (429 and the like).",
	  MC(throttles), NULL, NULL },
	{ "membersync_retries_total", "Requests repeated after a transient failure.", MC(retries), NULL, NULL },
	{ "membersync_requests_total", "HTTP requests sent to the target, lookups, tokens and retries included.",
	  MC(requests), NULL, NULL },
};
#undef MC

static void metrics_format_target_counters(struct sbuf *sb, struct metrics_target *const *ts, size_t n)
{
	size_t nc = sizeof(metrics_counters) / sizeof(metrics_counters[0]);
	for (size_t c = 0; c < nc; c++) {
		const struct metrics_counter *mc = &metrics_counters[c];
		/* A family continued from the row before has no name. */
		const char *name = mc->name;
		for (size_t b = c; !name; b--)
			name = metrics_counters[b - 1].name;
		if (mc->name)
			metrics_head(sb, name, "counter", mc->help);
		for (size_t i = 0; i < n; i++) {
			const uint64_t *v = (const uint64_t *)(const void *)((const char *)ts[i] + mc->offset);
			metrics_series(sb, name, "", ts[i]->name, mc->label, mc->value);
			sbuf_addf(sb, " %" PRIu64 "\n", *v);
		}
	}
}

char *metrics_format(struct metrics *m, const char *const *targets, size_t n, size_t *len)
{
	struct sbuf sb;
	sbuf_init(&sb);
	struct metrics_target **ts = xcalloc(n ? n : 1, sizeof(*ts));
	for (size_t i = 0; i < n; i++)
		ts[i] = metrics_target(m, targets[i]);

	metrics_head(&sb, "membersync_info", "gauge", "membersyncd's version; always 1.");
	sbuf_addstr(&sb, "membersync_info{version=\"");
	metrics_escape_label(&sb, PACKAGE_VERSION);
	sbuf_addstr(&sb, "\"} 1\n");
	metrics_head(&sb, "membersync_start_time_seconds", "gauge",
		     "When the daemon started, in seconds since the epoch; counters count from then.");
	sbuf_addf(&sb, "membersync_start_time_seconds %" PRId64 "\n", m->started_at);
	metrics_head(&sb, "membersync_cycles_total", "counter", "Sync cycles finished, by result.");
	for (size_t i = 0; i < METRICS_N_RESULTS; i++)
		sbuf_addf(&sb, "membersync_cycles_total{result=\"%s\"} %" PRIu64 "\n", metrics_results[i],
			  m->cycles[i]);
	if (m->have_cycle) {
		metrics_head(&sb, "membersync_last_cycle_timestamp_seconds", "gauge",
			     "When the last cycle finished, in seconds since the epoch.");
		sbuf_addf(&sb, "membersync_last_cycle_timestamp_seconds %" PRId64 "\n", m->last_cycle_at);
		metrics_head(&sb, "membersync_last_cycle_duration_seconds", "gauge",
			     "How long the last cycle took, directory read and pushes.");
		sbuf_addf(&sb, "membersync_last_cycle_duration_seconds %.6f\n", m->last_cycle_seconds);
		metrics_head(&sb, "membersync_last_cycle_entries", "gauge",
			     "Directory entries the last cycle read (only changed ones when it read changes).");
		sbuf_addf(&sb, "membersync_last_cycle_entries %" PRIu64 "\n", m->last_entries);
		metrics_head(&sb, "membersync_directory_up", "gauge",
			     "1 if the last cycle read the directory completely, else 0.");
		sbuf_addf(&sb, "membersync_directory_up %d\n", m->last_source_ok ? 1 : 0);
	}

	metrics_head(&sb, "membersync_members", "gauge", "Members in the state cache, by target and status.");
	for (size_t i = 0; i < n; i++) {
		if (!ts[i]->members_known)
			continue;
		for (int s = 0; s < MEMBER__COUNT; s++) {
			metrics_series(&sb, "membersync_members", "", ts[i]->name, "status",
				       member_status_name((enum member_status)s));
			sbuf_addf(&sb, " %ld\n", ts[i]->members[s]);
		}
	}
	metrics_format_target_counters(&sb, ts, n);

	metrics_head(&sb, "membersync_request_duration_seconds", "histogram",
		     "Duration of HTTP requests to the target, answered or failed.");
	for (size_t i = 0; i < n; i++) {
		const struct metrics_target *t = ts[i];
		uint64_t cum = 0;
		char le[32];
		for (size_t b = 0; b <= METRICS_N_BOUNDS; b++) {
			cum += t->latency[b];
			if (b < METRICS_N_BOUNDS)
				snprintf(le, sizeof(le), "%g", metrics_bounds[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			metrics_series(&sb, "membersync_request_duration_seconds", "_bucket", t->name, "le", le);
			sbuf_addf(&sb, " %" PRIu64 "\n", cum);
		}
		metrics_series(&sb, "membersync_request_duration_seconds", "_sum", t->name, NULL, NULL);
		sbuf_addf(&sb, " %.6f\n", t->latency_sum);
		metrics_series(&sb, "membersync_request_duration_seconds", "_count", t->name, NULL, NULL);
		sbuf_addf(&sb, " %" PRIu64 "\n", t->latency_count);
	}

	metrics_head(&sb, "membersync_last_success_timestamp_seconds", "gauge",
		     "When a cycle last finished for the target with every member pushed (result ok or held), "
		     "in seconds since the epoch; 0: not since the daemon started.");
	for (size_t i = 0; i < n; i++) {
		metrics_series(&sb, "membersync_last_success_timestamp_seconds", "", ts[i]->name, NULL, NULL);
		sbuf_addf(&sb, " %" PRId64 "\n", ts[i]->last_success);
	}
	free(ts);
	char *text = sbuf_detach(&sb, len);
	sbuf_release(&sb);
	return text;
}

int metrics_write(const char *path, const char *text, size_t len, char **err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == path ? xstrdup("/") : slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	char *tmp = xasprintf("%s/.%s.XXXXXX", strcmp(dir, "/") == 0 ? "" : dir, base);
	int fd = -1, r = 0, cr, dfd;
	const char *what;

	*err = NULL;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		*err = xasprintf("cannot write metrics to %s: cannot create a temporary file in %s: %s", path, dir,
				 strerror(errno));
		goto out;
	}
	/* mkostemp makes it 0600; the collector may run as another user. */
	what = "chmod";
	if (fchmod(fd, 0644) < 0)
		goto fail;
	what = "write";
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	what = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	what = "close";
	cr = close(fd);
	fd = -1;
	if (cr < 0)
		goto fail;
	what = "rename";
	if (rename(tmp, path) < 0)
		goto fail;
	/* The rename itself durable; failure here loses nothing now. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	goto out;
fail:
	r = -errno;
	*err = xasprintf("cannot write metrics to %s: %s %s: %s", path, what, tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dir);
	return r;
}
