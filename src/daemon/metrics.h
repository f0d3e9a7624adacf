/* Metrics: what the daemon has done since it started, per target, in the
 * Prometheus text exposition format (version 0.0.4), written after each
 * cycle to a file for node_exporter's textfile collector. Counters are
 * totals since the daemon started (a restart starts them at 0 again,
 * which Prometheus' rate() and increase() handle); gauges describe the
 * last cycle and the state cache. Nothing secret is ever written: target
 * names, statuses and numbers only. docs/membersyncd.8 lists every metric. */
#ifndef MS_DAEMON_METRICS_H
#define MS_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "state/state.h"
#include "sync/cycle.h"
#include "util/sbuf.h"

/* Upper bounds (seconds) of the request latency histogram's buckets;
 * +Inf follows. */
#define METRICS_LATENCY_BOUNDS 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30

struct metrics;
struct metrics_target;

struct metrics *metrics_new(int64_t started_at);
void metrics_free(struct metrics *m);

/* The numbers kept for target `name`, created on first use; they live as
 * long as m (so across reloads), whatever the configuration says. */
struct metrics_target *metrics_target(struct metrics *m, const char *name);

/* An http_observe_fn: ud is a struct metrics_target *. Adds the request's
 * duration to the target's latency histogram. */
void metrics_observe(void *ud, const struct http_response *resp);
void metrics_observe_seconds(struct metrics_target *t, double seconds);

/* Adds a finished cycle (not a dry run) at unix time `now`: its counts,
 * per target and overall, and each target's last success (a cycle whose
 * result was "ok" or "held"). */
void metrics_add_cycle(struct metrics *m, const struct cycle_report *r, int64_t now);

/* The target's members by status in the state cache, now. */
void metrics_set_members(struct metrics *m, const char *target, const long counts[MEMBER__COUNT]);

/* The whole exposition: global metrics, then each of targets[0..n) (the
 * configured ones, in order; targets never seen have zero counts).
 * Returns the text (caller frees), *len its length. */
char *metrics_format(struct metrics *m, const char *const *targets, size_t n, size_t *len);

/* Appends a label value escaped as the text format wants (\\, \", \n). */
void metrics_escape_label(struct sbuf *sb, const char *value);

/* Replaces the file at `path` atomically with text: a temporary file in
 * the same folder (".NAME.XXXXXX", which the textfile collector ignores),
 * mode 0644, written, fsync'ed and renamed over path; nothing is left
 * behind on failure. Returns 0, or -errno and *err (caller frees) naming
 * the path and the reason. */
int metrics_write(const char *path, const char *text, size_t len, char **err);

#endif
