/* membersync members: the members the state cache holds, by target and
 * status, with the reason for each one that is invalid or failing. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"

#include <getopt.h>
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

enum { OPT_JSON = 256, OPT_STATE };

int cli_members(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "target", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "invalid", no_argument, NULL, 'I' },
		{ "failed", no_argument, NULL, 'F' },
		{ "pending", no_argument, NULL, 'P' },
		{ "synced", no_argument, NULL, 'S' },
		{ "quarantined", no_argument, NULL, 'Q' },
		{ "disabled", no_argument, NULL, 'D' },
		{ "deleted", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	const char *target = NULL, *state_path = NULL;
	int status = -1, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config_path = optarg; break;
		case OPT_JSON: cli->json = true; break;
		case 't': target = optarg; break;
		case OPT_STATE: state_path = optarg; break;
		case 'I': status = MEMBER_INVALID; break;
		case 'F': status = MEMBER_FAILED; break;
		case 'P': status = MEMBER_PENDING; break;
		case 'S': status = MEMBER_SYNCED; break;
		case 'Q': status = MEMBER_QUARANTINED; break;
		case 'D': status = MEMBER_DISABLED; break;
		case 'X': status = MEMBER_DELETED; break;
		default: return EX_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("members: unexpected argument '%s'", argv[optind]);
		return EX_USAGE;
	}
	struct state *st;
	char *path;
	int code = cli_state_open(cli, state_path, target, 0, &st, &path);
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
