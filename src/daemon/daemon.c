#include "config.h"

#include "daemon/daemon.h"
#include "daemon/live.h"
#include "daemon/metrics.h"
#include "http/http.h"
#include "ldap/source.h"
#include "log_ids.h"
#include "state/state.h"
#include "sync/cycle.h"
#include "targets/target.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

/* After a failed directory read, retry sooner than poll_interval: first
 * after this many seconds, doubling each time. */
#define DAEMON_RETRY_FIRST 5

struct daemon {
	struct daemon_options opt;
	struct conf *conf;
	struct logger *log;
	sd_event *event;
	struct state *state;
	char *state_path;
	int lock_fd;		/* flock on state_dir/membersyncd.lock; -1: none */
	struct http_engine *http;
	struct source *source;
	struct cycle *cycle;
	struct source_batch *cycle_batch;	/* the live changes the running cycle runs */
	struct live *live;
	struct target **targets;	/* runtime state per conf target */
	struct http_engine **target_http;	/* per conf target: http observed for metrics */
	size_t n_targets;
	struct metrics *metrics;
	int metrics_error;	/* the last write's -errno, so a failure is said once */
	sd_event_source *timer;
	sd_event_source *watchdog;	/* NULL: systemd wants no pings */
	uint64_t watchdog_usec;
	bool watchdog_withheld;		/* the last ping was withheld (logged once) */
	sd_event_source *signals[3];
	unsigned cycle_no;
	unsigned source_failures;
	bool ready;
	bool stopping;
	bool reload_pending;
	bool poll_pending;	/* the poll timer fired while a cycle ran */
	int exit_code;
};

static void daemon_start_cycle(struct daemon *d);

static void daemon_status(void *ud, const char *text)
{
	(void)ud;
	sd_notifyf(0, "STATUS=%s", text);
}

/* Like mkdir -p; new folders are private (mode 700): the state names
 * every member. */
static int daemon_mkdir_state(struct daemon *d, char **err)
{
	char *path = xstrdup(d->conf->state_dir);
	int r = 0;
	for (char *p = path + 1;; p++) {
		bool end = *p == '\0';
		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			r = -errno;
			*err = xasprintf("cannot create state directory %s: %s", path, strerror(errno));
			break;
		}
		if (end)
			break;
		*p = '/';
	}
	free(path);
	return r;
}

/* Two daemons (or --once runs) on one state database would both send the
 * adds neither has recorded yet: the second one adds members twice. An
 * flock on a file in the state directory keeps it to one; the kernel drops
 * it when the holder dies, so a crash leaves nothing stale behind. The
 * holder's pid is written into the file for the message. */
static int daemon_lock_state(struct daemon *d, int *fd_out, char **err)
{
	char *path = xasprintf("%s/membersyncd.lock", d->conf->state_dir);
	int r = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		*err = xasprintf("cannot open the lock file %s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (errno == EWOULDBLOCK) {
			char pid[32] = "";
			ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			*err = xasprintf("another membersyncd%s%s is using the state directory %s (it holds %s); "
					 "refusing to run beside it, as both would add the same members",
					 pid[0] ? " with pid " : "", pid, d->conf->state_dir, path);
			r = -EBUSY;
		} else {
			*err = xasprintf("cannot lock %s: %s", path, strerror(errno));
		}
		close(fd);
		goto out;
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		log_debug(d->log, "cannot write our pid to %s: %s", path, strerror(errno));
	*fd_out = fd;
out:
	free(path);
	return r;
}

static int daemon_open_state(struct daemon *d)
{
	char *err = NULL;
	char *path = conf_state_path(d->conf);
	struct state *st = NULL;
	int lock_fd = -1;
	int r = 0;

	if (!d->opt.dry_run && (r = daemon_mkdir_state(d, &err)) < 0)
		goto out;
	/* --check only reads and compares: it may run beside the daemon. */
	if (!d->opt.dry_run && !d->opt.check && (r = daemon_lock_state(d, &lock_fd, &err)) < 0)
		goto out;
	if ((r = state_open(path, d->opt.dry_run, &st, &err)) < 0)
		goto out;
	state_close(d->state);
	d->state = st;
	if (lock_fd >= 0) {
		if (d->lock_fd >= 0)
			close(d->lock_fd);
		d->lock_fd = lock_fd;
		lock_fd = -1;
	}
	free(d->state_path);
	d->state_path = path;
	path = NULL;
out:
	if (lock_fd >= 0)
		close(lock_fd);
	if (r < 0) {
		log_error(d->log, "%s", err);
		free(err);
	}
	free(path);
	return r;
}

/* Targets keep tokens and learned rates across cycles; a new config or
 * state database means new ones. */
static void daemon_free_targets(struct daemon *d)
{
	for (size_t i = 0; i < d->n_targets; i++) {
		target_free(d->targets[i]);
		http_engine_free(d->target_http[i]);
	}
	free(d->targets);
	free(d->target_http);
	d->targets = NULL;
	d->target_http = NULL;
	d->n_targets = 0;
}

static void daemon_make_targets(struct daemon *d)
{
	daemon_free_targets(d);
	d->n_targets = d->conf->n_targets;
	d->targets = xcalloc(d->n_targets ? d->n_targets : 1, sizeof(*d->targets));
	d->target_http = xcalloc(d->n_targets ? d->n_targets : 1, sizeof(*d->target_http));
	for (size_t i = 0; i < d->n_targets; i++) {
		d->targets[i] = target_new(d->conf->targets[i], d->state);
		d->target_http[i] = http_engine_observed(d->http, metrics_observe,
							 metrics_target(d->metrics, d->conf->targets[i]->name));
	}
}

/* After each cycle (not dry runs): the cycle's counts and the state
 * cache's member counts into the metrics, and the metrics to
 * metrics_file. A file that cannot be written is reported, never fatal. */
static void daemon_write_metrics(struct daemon *d, const struct cycle_report *rep)
{
	const struct conf *conf = d->conf;
	metrics_add_cycle(d->metrics, rep, time_now_unix());
	if (!conf->metrics_file)
		return;
	const char **names = xcalloc(conf->n_targets ? conf->n_targets : 1, sizeof(*names));
	for (size_t i = 0; i < conf->n_targets; i++) {
		long counts[MEMBER__COUNT];
		names[i] = conf->targets[i]->name;
		if (state_count_all(d->state, names[i], counts) == 0)
			metrics_set_members(d->metrics, names[i], counts);
	}
	size_t len;
	char *text = metrics_format(d->metrics, names, conf->n_targets, &len);
	char *err = NULL;
	int r = metrics_write(conf->metrics_file, text, len, &err);
	if (r < 0 && r != d->metrics_error)
		log_warning(d->log, "%s; syncing goes on", err);
	else if (r < 0)
		log_debug(d->log, "%s", err);
	else if (d->metrics_error)
		log_notice(d->log, "metrics written to %s again", conf->metrics_file);
	d->metrics_error = r;
	free(err);
	free(text);
	free(names);
}

static void daemon_schedule(struct daemon *d, uint64_t seconds)
{
	uint64_t now;
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	uint64_t when = now + seconds * 1000000u;
	sd_event_source_set_time(d->timer, when);
	sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

/* Up to 10 % jitter so several daemons started together drift apart. */
static uint64_t daemon_jitter(uint64_t seconds)
{
	uint32_t span = (uint32_t)(seconds / 10);
	return seconds + (span ? arc4random_uniform(span + 1) : 0);
}

static void daemon_reload(struct daemon *d)
{
	struct diag *dg = diag_new();
	struct conf *nc = NULL;
	uint64_t mono = time_now_mono_usec();
	const char *status = "idle: configuration reloaded";

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		   (unsigned long long)mono);
	int r = conf_load(d->opt.config_path, &nc, dg);
	for (size_t i = 0; i < dg->n; i++) {
		char *msg = diag_format_for_log(&dg->items[i]);
		if (dg->items[i].level == DIAG_ERROR)
			log_error(d->log, "%s", msg);
		else
			log_warning(d->log, "%s", msg);
		free(msg);
	}
	if (r < 0) {
		log_error(d->log, "configuration reload failed (%zu error%s); still running the previous configuration",
			  dg->errors, dg->errors == 1 ? "" : "s");
		status = "idle: configuration reload failed; running the previous configuration";
		goto out;
	}
	struct conf *old = d->conf;
	bool state_moved = strcmp(old->state_dir, nc->state_dir) != 0;
	d->conf = nc;
	if (state_moved && daemon_open_state(d) < 0) {
		log_error(d->log, "configuration reload failed: cannot open the new state database; still running "
				  "the previous configuration");
		d->conf = old;
		conf_free(nc);
		status = "idle: configuration reload failed; running the previous configuration";
		goto out;
	}
	bool was_live = live_running(d->live);
	live_stop(d->live);
	source_free(d->source);
	d->source = source_new(&d->conf->source);
	daemon_make_targets(d);
	/* Live changes resume after a read with the new configuration. */
	if (was_live && !d->cycle)
		daemon_schedule(d, 0);
	logger_set_priority(d->log, d->conf->log_priority);
	conf_free(old);
	struct log_fields f = { .message_id = MSGID_CONFIG_RELOADED };
	log_event(d->log, LOG_INFO, &f, "configuration reloaded from %s (%zu target%s)", d->opt.config_path,
		  d->conf->n_targets, d->conf->n_targets == 1 ? "" : "s");
out:
	diag_free(dg);
	/* RELOADING=1 must be answered by READY=1, but a daemon that has not
	 * read the directory yet is still starting and must not claim it. */
	sd_notifyf(0, "%sSTATUS=%s", d->ready ? "READY=1\n" : "", status);
}

/* systemd considers us started once the directory could be read: that is
 * when membersyncd is doing its job, not when the first push is over. */
static void daemon_on_read_done(void *ud)
{
	struct daemon *d = ud;
	if (d->ready)
		return;
	d->ready = true;
	sd_notify(0, "READY=1");
}

/* After a cycle that read with syncrepl and stored its cursor, keep a
 * live search open so changes arrive within moments. */
static void daemon_maybe_go_live(struct daemon *d)
{
	char *cursor = NULL;
	if (d->opt.once || d->opt.dry_run || d->stopping || live_running(d->live) ||
	    !source_can_persist(d->source))
		return;
	if (state_cursor_get(d->state, "cursor", &cursor) == 0)
		live_start(d->live, d->source, cursor);
	free(cursor);
}

static void daemon_start_live_cycle(struct daemon *d);

static void daemon_on_cycle_done(void *ud, const struct cycle_report *report)
{
	struct daemon *d = ud;
	/* The report lives in the cycle, which is freed below. */
	const struct cycle_report rep = *report;
	bool source_ok = rep.source_ok;
	size_t failed = rep.failed;
	bool was_live = d->cycle_batch != NULL;

	if (!d->opt.dry_run && !d->opt.check)
		daemon_write_metrics(d, report);
	if (!was_live)
		d->source_failures = source_ok ? 0 : d->source_failures + 1;
	cycle_free(d->cycle);
	d->cycle = NULL;
	source_batch_free(d->cycle_batch);
	d->cycle_batch = NULL;

	if (d->opt.check) {
		d->exit_code = !source_ok ? EX_UNAVAILABLE : rep.work ? DAEMON_EXIT_PENDING : 0;
		printf("%s\n", !source_ok  ? "cannot tell: the directory could not be read"
				: rep.work ? "changes pending"
					   : "in sync");
		fflush(stdout);
		sd_event_exit(d->event, d->exit_code);
		return;
	}
	if (d->opt.once || d->opt.dry_run) {
		d->exit_code = !source_ok ? EX_UNAVAILABLE : failed || rep.not_attempted ? DAEMON_EXIT_FAILURES : 0;
		sd_event_exit(d->event, d->exit_code);
		return;
	}
	if (d->stopping) {
		sd_event_exit(d->event, 0);
		return;
	}
	if (d->reload_pending) {
		d->reload_pending = false;
		daemon_reload(d);
	}
	if (source_ok)
		daemon_maybe_go_live(d);
	if (d->poll_pending) {
		d->poll_pending = false;
		daemon_start_cycle(d);
		return;
	}
	if (live_has_changes(d->live)) {
		daemon_start_live_cycle(d);
		return;
	}
	if (was_live) {
		sd_notifyf(0, "STATUS=idle: live changes pushed%s", failed ? " with failures" : "");
		return;
	}
	uint64_t next = daemon_jitter((uint64_t)d->conf->source.poll_interval);
	if (!source_ok) {
		unsigned shift = d->source_failures - 1 < 10 ? d->source_failures - 1 : 10;
		uint64_t retry = (uint64_t)DAEMON_RETRY_FIRST << shift;
		if (retry < next)
			next = retry;
	}
	sd_notifyf(0, "STATUS=idle: cycle %u %s; next in %llu s%s", d->cycle_no,
		   source_ok ? (failed ? "finished with failures" : "finished") : "could not read the directory",
		   (unsigned long long)next, live_running(d->live) ? "; live changes on" : "");
	daemon_schedule(d, next);
}

static void daemon_run_cycle(struct daemon *d, struct source_batch *batch)
{
	struct cycle_params p = {
		.conf = d->conf, .targets = d->targets, .source = d->source, .state = d->state, .http = d->http,
		.target_http = d->target_http, .log = d->log, .event = d->event, .number = ++d->cycle_no, .dry_run = d->opt.dry_run,
		.plan_counts_only = d->opt.check, .plan_out = stdout, .batch = batch, .status = daemon_status, .read_done = daemon_on_read_done,
		.done = daemon_on_cycle_done, .ud = d,
	};
	d->cycle_batch = batch;
	d->cycle = cycle_start(&p);
}

static void daemon_start_cycle(struct daemon *d)
{
	if (d->stopping)
		return;
	if (d->cycle) {
		d->poll_pending = true;
		return;
	}
	daemon_run_cycle(d, NULL);
}

static void daemon_start_live_cycle(struct daemon *d)
{
	if (d->stopping || d->cycle)
		return;
	struct source_batch *b = live_take(d->live);
	if (b)
		daemon_run_cycle(d, b);
}

static void daemon_on_live_ready(void *ud)
{
	daemon_start_live_cycle(ud);
}

/* The live search is gone (server restarted, ...): poll soon, which
 * reconnects and, once a read succeeds, goes live again. */
static void daemon_on_live_ended(void *ud)
{
	struct daemon *d = ud;
	if (!d->cycle)
		daemon_schedule(d, DAEMON_RETRY_FIRST);
	else
		d->poll_pending = true;
}

static int daemon_on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	daemon_start_cycle(ud);
	return 0;
}

/* WATCHDOG=1 twice per interval while the daemon makes progress. A
 * request in flight longer than the interval means a hung target (or a
 * per-request timeout longer than WatchdogSec=): the pings stop, and
 * systemd restarts the daemon unless the request ends first. */
static int daemon_on_watchdog(sd_event_source *s, uint64_t usec, void *ud)
{
	struct daemon *d = ud;
	uint64_t now = time_now_mono_usec();
	uint64_t oldest = http_engine_oldest_usec(d->http);
	if (!oldest || now - oldest < d->watchdog_usec) {
		sd_notify(0, "WATCHDOG=1");
		if (d->watchdog_withheld)
			log_notice(d->log, "requests are answered again; watchdog pings resume");
		d->watchdog_withheld = false;
	} else if (!d->watchdog_withheld) {
		d->watchdog_withheld = true;
		log_warning(d->log, "a request has been waiting %.0f s, longer than the watchdog interval (%.0f s): "
				    "watchdog pings withheld until it ends",
			    (double)(now - oldest) / 1e6, (double)d->watchdog_usec / 1e6);
	}
	sd_event_source_set_time(s, usec + d->watchdog_usec / 2);
	return 0;
}

static int daemon_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	struct daemon *d = ud;
	if (si->ssi_signo == SIGHUP) {
		if (d->opt.once || d->opt.dry_run) {
			log_notice(d->log, "SIGHUP ignored: running a single cycle");
		} else if (d->cycle) {
			log_info(d->log, "SIGHUP: reloading the configuration after the running cycle");
			d->reload_pending = true;
		} else {
			daemon_reload(d);
		}
		return 0;
	}
	if (d->stopping)
		return 0;
	d->stopping = true;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	if (d->cycle) {
		log_info(d->log, "%s: stopping after the requests in flight are answered and recorded",
			 strsignal((int)si->ssi_signo));
		cycle_stop(d->cycle);
	} else {
		log_info(d->log, "%s: stopping", strsignal((int)si->ssi_signo));
		sd_event_exit(d->event, d->opt.once ? d->exit_code : 0);
	}
	return 0;
}

static int daemon_setup(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t mask;
	int r;

	if ((r = sd_event_new(&d->event)) < 0) {
		log_error(d->log, "cannot create the event loop: %s", strerror(-r));
		return r;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (size_t i = 0; i < 3; i++)
		if ((r = sd_event_add_signal(d->event, &d->signals[i], sigs[i], daemon_on_signal, d)) < 0) {
			log_error(d->log, "cannot watch signals: %s", strerror(-r));
			return r;
		}
	if ((r = sd_event_add_time(d->event, &d->timer, CLOCK_MONOTONIC, 0, 0, daemon_on_timer, d)) < 0) {
		log_error(d->log, "cannot create the poll timer: %s", strerror(-r));
		return r;
	}
	sd_event_source_set_description(d->timer, "poll-timer");
	d->http = http_engine_new(d->event);
	/* Pinged from the loop itself, so a loop that stops turning (a
	 * blocking call that hangs) stops the pings; and only while no request
	 * has been waiting longer than the watchdog interval. */
	if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0) {
		if ((r = sd_event_add_time_relative(d->event, &d->watchdog, CLOCK_MONOTONIC, 0, 0,
						    daemon_on_watchdog, d)) < 0) {
			log_error(d->log, "cannot create the watchdog timer: %s", strerror(-r));
			return r;
		}
		sd_event_source_set_description(d->watchdog, "watchdog");
		sd_event_source_set_enabled(d->watchdog, SD_EVENT_ON);
	}
	d->metrics = metrics_new(time_now_unix());
	d->source = source_new(&d->conf->source);
	struct live_callbacks cb = { daemon_on_live_ready, daemon_on_live_ended, d };
	d->live = live_new(d->event, d->log, &cb);
	return 0;
}

static void daemon_teardown(struct daemon *d)
{
	cycle_free(d->cycle);
	source_batch_free(d->cycle_batch);
	live_free(d->live);
	http_engine_free(d->http);
	daemon_free_targets(d);
	source_free(d->source);
	for (size_t i = 0; i < 3; i++)
		sd_event_source_disable_unref(d->signals[i]);
	sd_event_source_disable_unref(d->timer);
	sd_event_source_disable_unref(d->watchdog);
	sd_event_unref(d->event);
	state_close(d->state);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->state_path);
	conf_free(d->conf);
	/* Last: transfers freed with the engine pointed at its targets. */
	metrics_free(d->metrics);
}

int daemon_run(const struct daemon_options *opt, struct conf *conf, struct logger *log)
{
	struct daemon d = { .opt = *opt, .conf = conf, .log = log, .lock_fd = -1 };
	int code;

	if (daemon_setup(&d) < 0) {
		code = EX_SOFTWARE;
		goto out;
	}
	int r = daemon_open_state(&d);
	if (r < 0) {
		/* Another instance: systemd may try again later. */
		code = r == -EBUSY ? EX_TEMPFAIL : EX_CANTCREAT;
		goto out;
	}
	daemon_make_targets(&d);
	if (!opt->dry_run)
		log_info(log, "membersyncd %s starting: %zu target%s, directory %s, state %s", PACKAGE_VERSION,
			 conf->n_targets, conf->n_targets == 1 ? "" : "s", conf->source.uris[0], d.state_path);
	/* The timer starts disabled at time 0: fire it now. */
	daemon_schedule(&d, 0);
	r = sd_event_loop(d.event);
	code = r < 0 ? EX_SOFTWARE : r;
	if (r < 0)
		log_error(log, "event loop failed: %s", strerror(-r));
out:
	daemon_teardown(&d);
	return code;
}
