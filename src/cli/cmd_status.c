/* membersync status: per configured target, its members by status, its
 * deprovisioning policy, hold and pause, and how its last cycle went;
 * then the last run overall. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "targets/driver.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* What the state cache says about one target. */
struct status_target {
	const struct conf_target *conf;
	long counts[MEMBER__COUNT];
	bool held;
	struct state_hold hold;
	int64_t paused_until;	/* 0: not paused (or the pause is over) */
	char *pause_reason;
	bool ran;		/* a cycle was recorded */
	struct state_target_status ts;
	char *ts_result, *ts_error;
};

static void status_target_clear(struct status_target *t)
{
	state_hold_clear(&t->hold);
	free(t->pause_reason);
	free(t->ts_result);
	free(t->ts_error);
	memset(t, 0, sizeof(*t));
}

/* Returns 0 or -EIO. */
static int status_target_read(struct state *st, const struct conf_target *ct, int64_t now, struct status_target *t)
{
	memset(t, 0, sizeof(*t));
	t->conf = ct;
	if (state_count_all(st, ct->name, t->counts) < 0)
		return -EIO;
	int r = state_hold_get(st, ct->name, &t->hold);
	if (r < 0 && r != -ENOENT)
		return -EIO;
	t->held = r == 0;
	if (state_pause_get(st, ct->name, &t->paused_until, &t->pause_reason) < 0)
		return -EIO;
	if (t->paused_until <= now) {
		t->paused_until = 0;
		free(t->pause_reason);
		t->pause_reason = NULL;
	}
	r = state_target_status_get(st, ct->name, &t->ts, &t->ts_result, &t->ts_error);
	if (r < 0 && r != -ENOENT)
		return -EIO;
	t->ran = r == 0;
	return 0;
}

static const char *const status_deprovision_names[] = {
	[CONF_DEPROVISION_NONE] = "none",
	[CONF_DEPROVISION_DISABLE] = "disable",
	[CONF_DEPROVISION_DELETE] = "delete",
};

/* Column order of the members table and of --json's "members". */
static const enum member_status status_columns[] = {
	MEMBER_SYNCED, MEMBER_PENDING, MEMBER_FAILED, MEMBER_QUARANTINED,
	MEMBER_INVALID, MEMBER_DISABLED, MEMBER_DELETED,
};
#define STATUS_NCOLUMNS (sizeof(status_columns) / sizeof(status_columns[0]))

static json_object *status_run_json(const struct state_run *run)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "started_at", json_object_new_int64(run->started_at));
	json_object_object_add(o, "finished_at", json_object_new_int64(run->finished_at));
	json_object_object_add(o, "result", json_object_new_string(run->result ? run->result : ""));
	json_object_object_add(o, "entries", json_object_new_int64(run->entries));
	json_object_object_add(o, "adds", json_object_new_int64(run->adds));
	json_object_object_add(o, "updates", json_object_new_int64(run->updates));
	json_object_object_add(o, "deprovisions", json_object_new_int64(run->deprovisions));
	json_object_object_add(o, "skipped", json_object_new_int64(run->skipped));
	json_object_object_add(o, "failed", json_object_new_int64(run->failed));
	return o;
}

static json_object *status_target_json(const struct status_target *t)
{
	const struct conf_target *ct = t->conf;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(ct->name));
	json_object_object_add(o, "driver", json_object_new_string(ct->driver->name));
	json_object_object_add(o, "enabled", json_object_new_boolean(ct->enabled));
	json_object *m = json_object_new_object();
	long total = 0;
	for (size_t i = 0; i < STATUS_NCOLUMNS; i++) {
		long n = t->counts[status_columns[i]];
		json_object_object_add(m, member_status_name(status_columns[i]), json_object_new_int64(n));
		total += n;
	}
	json_object_object_add(m, "total", json_object_new_int64(total));
	json_object_object_add(o, "members", m);
	json_object_object_add(o, "deprovision", json_object_new_string(status_deprovision_names[ct->deprovision]));
	json_object_object_add(o, "max_deprovision", json_object_new_double(ct->max_deprovision));
	json_object_object_add(o, "max_deprovision_percent", json_object_new_boolean(ct->max_deprovision_percent));

	json_object *h = NULL;
	if (t->held) {
		h = json_object_new_object();
		json_object_object_add(h, "held_at", json_object_new_int64(t->hold.held_at));
		json_object_object_add(h, "count", json_object_new_int64(t->hold.count));
		json_object_object_add(h, "limit", json_object_new_int64(t->hold.limit));
		json_object_object_add(h, "members", json_object_new_int64(t->hold.members));
		json_object_object_add(h, "approved", json_object_new_boolean(t->hold.approved_at > 0));
		if (t->hold.approved_at > 0)
			json_object_object_add(h, "approved_at", json_object_new_int64(t->hold.approved_at));
	}
	json_object_object_add(o, "held", h);

	json_object *p = NULL;
	if (t->paused_until) {
		p = json_object_new_object();
		json_object_object_add(p, "until", json_object_new_int64(t->paused_until));
		json_object_object_add(p, "reason", t->pause_reason ? json_object_new_string(t->pause_reason) : NULL);
	}
	json_object_object_add(o, "paused", p);

	json_object *c = NULL;
	if (t->ran) {
		c = json_object_new_object();
		json_object_object_add(c, "at", json_object_new_int64(t->ts.last_cycle_at));
		json_object_object_add(c, "result", json_object_new_string(t->ts.last_result ? t->ts.last_result : ""));
	}
	json_object_object_add(o, "last_cycle", c);

	json_object *e = NULL;
	if (t->ts.last_error) {
		e = json_object_new_object();
		json_object_object_add(e, "at", json_object_new_int64(t->ts.last_error_at));
		json_object_object_add(e, "message", json_object_new_string(t->ts.last_error));
	}
	json_object_object_add(o, "last_error", e);
	return o;
}

static void status_print_run(const struct state_run *run, bool have, int64_t now)
{
	char when[CLI_WHEN_LEN];
	if (!have) {
		printf("last run      never (membersyncd has not finished a cycle yet)\n");
		return;
	}
	printf("last run      %s: %s", cli_when(run->finished_at, now, when), run->result ? run->result : "?");
	if (run->finished_at >= run->started_at)
		printf(" in %lld s", (long long)(run->finished_at - run->started_at));
	printf("\n              %ld entries: %ld added, %ld updated, %ld deprovisioned, %ld skipped, %ld failed\n",
	       run->entries, run->adds, run->updates, run->deprovisions, run->skipped, run->failed);
}

static int status_digits(long n)
{
	int d = 1;
	while (n >= 10 || n <= -10) {
		n /= 10;
		d++;
	}
	return d;
}

/* One row per target: name, driver and its members by status. */
static void status_print_table(const struct status_target *ts, size_t n)
{
	int wname = (int)strlen("TARGET"), wdriver = (int)strlen("DRIVER"), w[STATUS_NCOLUMNS];
	for (size_t c = 0; c < STATUS_NCOLUMNS; c++)
		w[c] = (int)strlen(member_status_name(status_columns[c]));
	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen(ts[i].conf->name);
		wname = len > wname ? len : wname;
		len = (int)strlen(ts[i].conf->driver->name);
		wdriver = len > wdriver ? len : wdriver;
		for (size_t c = 0; c < STATUS_NCOLUMNS; c++) {
			len = status_digits(ts[i].counts[status_columns[c]]);
			w[c] = len > w[c] ? len : w[c];
		}
	}
	printf("%-*s  %-*s", wname, "TARGET", wdriver, "DRIVER");
	for (size_t c = 0; c < STATUS_NCOLUMNS; c++) {
		char head[16];
		const char *name = member_status_name(status_columns[c]);
		size_t k;
		for (k = 0; k < sizeof(head) - 1 && name[k]; k++)
			head[k] = (char)toupper((unsigned char)name[k]);
		head[k] = '\0';
		printf("  %*s", w[c], head);
	}
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		printf("%-*s  %-*s", wname, ts[i].conf->name, wdriver, ts[i].conf->driver->name);
		for (size_t c = 0; c < STATUS_NCOLUMNS; c++)
			printf("  %*ld", w[c], ts[i].counts[status_columns[c]]);
		putchar('\n');
	}
}

static void status_print_target(const struct status_target *t, int64_t now)
{
	const struct conf_target *ct = t->conf;
	char when[CLI_WHEN_LEN];

	printf("\n%s%s\n", ct->name, ct->enabled ? "" : " (disabled in the configuration: membersyncd leaves it alone)");
	printf("  deprovision   %s", status_deprovision_names[ct->deprovision]);
	if (ct->deprovision == CONF_DEPROVISION_NONE)
		printf(" (members who leave stay at the target)\n");
	else
		printf(", at most %g%s per cycle without approval (max_deprovision)\n", ct->max_deprovision,
		       ct->max_deprovision_percent ? "% of its members" : " members");
	if (t->ran)
		printf("  last cycle    %s: %s\n", cli_when(t->ts.last_cycle_at, now, when),
		       t->ts.last_result ? t->ts.last_result : "?");
	else
		printf("  last cycle    never\n");
	if (t->ts.last_error)
		printf("  last error    %s: %s\n", cli_when(t->ts.last_error_at, now, when), t->ts.last_error);
	if (t->paused_until)
		printf("  paused        until %s: %s\n                'membersync retry --target %s' ends it sooner\n",
		       cli_when(t->paused_until, now, when), t->pause_reason ? t->pause_reason : "no reason recorded",
		       ct->name);
	if (t->held) {
		printf("  held          %ld deprovisions, more than the limit of %ld (%ld members), since %s\n",
		       t->hold.count, t->hold.limit, t->hold.members, cli_when(t->hold.held_at, now, when));
		if (t->hold.approved_at)
			printf("                approved %s: the next cycle carries them out\n",
			       cli_when(t->hold.approved_at, now, when));
		else
			printf("                not approved: 'membersync plan --target %s' lists them, "
			       "'membersync approve %s' lets them run once\n",
			       ct->name, ct->name);
	}
}

int cli_status(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, CLI_OPT_TARGET, NULL, &opts);
	if (code)
		return code;
	const char *target = opts.target, *state_path = opts.state_path;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, CLI_STATE_CONF, &st, &path);
	if (code)
		return code;

	int64_t now = time_now_unix();
	struct status_target *ts = xcalloc(cli->conf->n_targets ? cli->conf->n_targets : 1, sizeof(*ts));
	size_t n = 0;
	struct state_run run;
	char *run_result = NULL;
	int r = state_last_run(st, &run, &run_result);
	if (r < 0 && r != -ENOENT)
		goto ioerr;
	bool have_run = r == 0;
	for (size_t i = 0; i < cli->conf->n_targets; i++) {
		const struct conf_target *ct = cli->conf->targets[i];
		if (target && strcmp(ct->name, target) != 0)
			continue;
		if (status_target_read(st, ct, now, &ts[n++]) < 0)
			goto ioerr;
	}

	if (cli->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "last_run", have_run ? status_run_json(&run) : NULL);
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, status_target_json(&ts[i]));
		json_object_object_add(o, "targets", arr);
		cli_print_json(o);
	} else {
		status_print_run(&run, have_run, now);
		putchar('\n');
		status_print_table(ts, n);
		for (size_t i = 0; i < n; i++)
			status_print_target(&ts[i], now);
	}
	goto out;
ioerr:
	cli_error("%s: %s", path, state_errmsg(st));
	code = EX_IOERR;
out:
	for (size_t i = 0; i < n; i++)
		status_target_clear(&ts[i]);
	free(ts);
	free(run_result);
	state_close(st);
	free(path);
	return code;
}
