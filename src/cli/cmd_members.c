/* membersync members: the members the state cache holds, by target and
 * status, with the reason for each one that is invalid or failing. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct members_run {
	json_object *json;
	size_t n;
};

static void members_one(void *ud, const struct state_member *m)
{
	struct members_run *run = ud;
	run->n++;
	if (run->json) {
		json_object_array_add(run->json, cli_member_json(m));
		return;
	}
	char updated[CLI_TIME_LEN];
	/* An entry the mapping rejected names no operation: there was none. */
	const char *op = m->status == MEMBER_INVALID && !m->op ? NULL : cli_member_op(m);
	printf("%-16s %-11s %s  [key %s", m->target, member_status_name(m->status), m->dn,
	       m->member_key ? m->member_key : "-");
	if (op)
		printf(", %s", op);
	if (m->attempts)
		printf(", %d failed attempt%s", m->attempts, m->attempts == 1 ? "" : "s");
	if (m->failures)
		printf(" (%d permanent)", m->failures);
	printf(", updated %s%s", cli_time(m->updated_at, updated), m->gone_at ? ", gone from the directory" : "");
	if (m->excluded)
		printf(", excluded: %s", m->excluded);
	printf("]\n");
	if (m->last_error)
		printf("%-16s %-11s   %s\n", "", "", m->last_error);
}

int cli_members(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, CLI_OPT_TARGET | CLI_OPT_STATUS, NULL, &opts);
	if (code)
		return code;
	const char *target = opts.target, *state_path = opts.state_path;
	int status = opts.status;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, 0, &st, &path);
	if (code)
		return code;
	struct members_run run = { .json = cli->json ? json_object_new_array() : NULL };
	if (state_foreach_member(st, target, status, members_one, &run) < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		code = EX_IOERR;
		json_object_put(run.json);
	} else if (run.json) {
		cli_print_json(run.json);
	} else {
		printf("%zu member%s\n", run.n, run.n == 1 ? "" : "s");
	}
	state_close(st);
	free(path);
	return code;
}
