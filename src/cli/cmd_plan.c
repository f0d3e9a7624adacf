/* membersync plan: the deprovisioning plans membersyncd held because they
 * exceeded a target's max_deprovision, entry by entry, for an operator to
 * review before `membersync approve`. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "util/timeutil.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct plan_run {
	json_object *json;	/* --json: the array printed at the end */
	int64_t now;
	size_t n;
};

static const char *plan_entry_string(json_object *e, const char *name)
{
	json_object *v;
	if (!json_object_object_get_ex(e, name, &v) || !json_object_is_type(v, json_type_string))
		return "-";
	return json_object_get_string(v);
}

static void plan_print(const char *target, const struct state_hold *h, json_object *plan, int64_t now)
{
	char when[CLI_WHEN_LEN];

	printf("%s: deprovisioning held since %s\n", target, cli_when(h->held_at, now, when));
	printf("  %ld deprovision%s planned; max_deprovision allows %ld (of %ld members)\n", h->count,
	       h->count == 1 ? "" : "s", h->limit, h->members);
	if (h->approved_at)
		printf("  approved %s: the next cycle carries out a plan of at most %ld, once\n",
		       cli_when(h->approved_at, now, when), h->count);
	else
		printf("  not approved: 'membersync approve %s' lets the next cycle carry it out, once\n", target);
	if (!plan) {
		printf("  (the stored plan is not a JSON array: %s)\n", h->plan ? h->plan : "none");
		return;
	}
	size_t n = json_object_array_length(plan);
	int wop = 2, wkey = 3;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(plan, i);
		int len = (int)strlen(plan_entry_string(e, "op"));
		wop = len > wop ? len : wop;
		len = (int)strlen(plan_entry_string(e, "key"));
		wkey = len > wkey ? len : wkey;
	}
	printf("\n  %-*s  %-*s  %s\n", wop, "OP", wkey, "KEY", "DN / REASON");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(plan, i);
		printf("  %-*s  %-*s  %s\n", wop, plan_entry_string(e, "op"), wkey, plan_entry_string(e, "key"),
		       plan_entry_string(e, "dn"));
		printf("  %-*s  %-*s  %s\n", wop, "", wkey, "", plan_entry_string(e, "reason"));
	}
}

static void plan_one(void *ud, const char *target, const struct state_hold *h)
{
	struct plan_run *run = ud;
	json_object *plan = h->plan ? json_tokener_parse(h->plan) : NULL;
	if (plan && !json_object_is_type(plan, json_type_array)) {
		json_object_put(plan);
		plan = NULL;
	}
	run->n++;
	if (run->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_string(target));
		json_object_object_add(o, "held_at", json_object_new_int64(h->held_at));
		json_object_object_add(o, "count", json_object_new_int64(h->count));
		json_object_object_add(o, "limit", json_object_new_int64(h->limit));
		json_object_object_add(o, "members", json_object_new_int64(h->members));
		json_object_object_add(o, "approved", json_object_new_boolean(h->approved_at > 0));
		if (h->approved_at)
			json_object_object_add(o, "approved_at", json_object_new_int64(h->approved_at));
		json_object_object_add(o, "plan", plan ? plan : json_object_new_array());
		json_object_array_add(run->json, o);
		return;
	}
	if (run->n > 1)
		putchar('\n');
	plan_print(target, h, plan, run->now);
	json_object_put(plan);
}

int cli_plan(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, CLI_OPT_TARGET, NULL, &opts);
	if (code)
		return code;
	const char *target = opts.target, *state_path = opts.state_path;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, 0, &st, &path);
	if (code)
		return code;

	struct plan_run run = { .json = cli->json ? json_object_new_array() : NULL, .now = time_now_unix() };
	int r;
	if (target) {
		struct state_hold h;
		r = state_hold_get(st, target, &h);
		if (r == 0)
			plan_one(&run, target, &h);
		state_hold_clear(&h);
		if (r == -ENOENT)
			r = 0;
	} else {
		r = state_foreach_hold(st, plan_one, &run);
	}
	if (r < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		code = EX_IOERR;
		json_object_put(run.json);
	} else if (run.json) {
		cli_print_json(run.json);
	} else if (!run.n) {
		printf("No deprovisioning plan is held%s%s: none exceeded max_deprovision.\n"
		       "'membersyncd --dry-run' prints the full plan of a cycle.\n",
		       target ? " for " : "", target ? target : "");
	}
	state_close(st);
	free(path);
	return code;
}
