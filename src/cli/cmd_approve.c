/* membersync approve: lets a target's held deprovisioning plan (more than
 * max_deprovision allows) run once, at the next cycle. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "util/timeutil.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

int cli_approve(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, 0, "target? ('membersync plan' lists the held ones)", &opts);
	if (code)
		return code;
	const char *target = opts.operand, *state_path = opts.state_path;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, CLI_STATE_WRITE | CLI_STATE_CONF, &st, &path);
	if (code)
		return code;

	/* One transaction: what is printed is what was approved, even if
	 * membersyncd replaces the hold meanwhile. */
	int64_t now = time_now_unix();
	struct state_hold h = { 0 };
	bool already = false;
	if (state_begin(st) < 0)
		goto ioerr;
	int r = state_hold_get(st, target, &h);
	if (r == -ENOENT) {
		state_rollback(st);
		cli_error("%s: no deprovisioning plan is held, so there is nothing to approve "
			  "('membersync plan' lists held plans)", target);
		code = EX_NOINPUT;
		goto out;
	}
	if (r < 0)
		goto rollback;
	already = h.approved_at > 0;
	if (!already) {
		if (state_hold_approve(st, target, now) < 0)
			goto rollback;
		h.approved_at = now;
	}
	if (state_commit(st) < 0)
		goto rollback;

	if (cli->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_string(target));
		json_object_object_add(o, "held_at", json_object_new_int64(h.held_at));
		json_object_object_add(o, "count", json_object_new_int64(h.count));
		json_object_object_add(o, "limit", json_object_new_int64(h.limit));
		json_object_object_add(o, "members", json_object_new_int64(h.members));
		json_object_object_add(o, "approved_at", json_object_new_int64(h.approved_at));
		json_object_object_add(o, "already_approved", json_object_new_boolean(already));
		cli_print_json(o);
	} else {
		char held[CLI_WHEN_LEN], approved[CLI_WHEN_LEN];
		if (already)
			printf("%s: already approved %s; nothing changed\n", target, cli_when(h.approved_at, now, approved));
		else
			printf("%s: approved %ld deprovision%s (max_deprovision allows %ld of %ld members), held %s\n",
			       target, h.count, h.count == 1 ? "" : "s", h.limit, h.members,
			       cli_when(h.held_at, now, held));
		printf("The next cycle carries out a plan of at most %ld deprovisions, once; a larger one is held "
		       "again.\n",
		       h.count);
	}
	goto out;
rollback:
	cli_error("%s: %s", path, state_errmsg(st));
	state_rollback(st);
	code = EX_IOERR;
	goto out;
ioerr:
	cli_error("%s: %s", path, state_errmsg(st));
	code = EX_IOERR;
out:
	state_hold_clear(&h);
	state_close(st);
	free(path);
	return code;
}
