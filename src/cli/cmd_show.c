/* membersync show: everything the state cache holds about one member, in
 * every target, found by its source id, DN or member key. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "util/timeutil.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct show_run {
	json_object *json;
	int64_t now;
	size_t n;
};

static const char *show_str(const char *s)
{
	return s ? s : "-";
}

static void show_one(void *ud, const struct state_member *m)
{
	struct show_run *run = ud;
	char when[CLI_WHEN_LEN];
	const char *op = cli_member_op(m);

	if (run->json) {
		json_object_array_add(run->json, cli_member_json(m));
		run->n++;
		return;
	}
	if (run->n++)
		putchar('\n');
	printf("%s: %s\n", m->target, m->dn);
	printf("  status        %s", member_status_name(m->status));
	if (op)
		printf(" (%s)", op);
	putchar('\n');
	printf("  source id     %s\n", show_str(m->source_id));
	printf("  member key    %s\n", show_str(m->member_key));
	printf("  remote id     %s\n", show_str(m->remote_id));
	printf("  payload hash  %s\n", show_str(m->payload_hash));
	printf("  attempts      %d failed in a row, %d of them permanent\n", m->attempts, m->failures);
	if (m->status == MEMBER_FAILED)
		printf("  next attempt  %s\n",
		       m->next_attempt_at <= run->now ? "at the next cycle" : cli_when(m->next_attempt_at, run->now, when));
	else if (m->status == MEMBER_QUARANTINED)
		printf("  next attempt  none until 'membersync retry --member %s' (or its payload changes)\n",
		       m->source_id);
	else
		printf("  next attempt  -\n");
	printf("  last error    %s\n", show_str(m->last_error));
	printf("  excluded      %s\n", show_str(m->excluded));
	printf("  first seen    %s\n", cli_when(m->first_seen, run->now, when));
	printf("  last synced   %s\n", cli_when(m->last_synced, run->now, when));
	printf("  updated       %s\n", cli_when(m->updated_at, run->now, when));
	printf("  gone          %s\n", m->gone_at ? cli_when(m->gone_at, run->now, when) : "- (in the directory)");
}

int cli_show(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, 0, CLI_MEMBER_OPERAND, &opts);
	if (code)
		return code;
	const char *member = opts.operand, *state_path = opts.state_path;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, NULL, 0, &st, &path);
	if (code)
		return code;

	struct show_run run = { .json = cli->json ? json_object_new_array() : NULL, .now = time_now_unix() };
	if (state_find_member(st, member, show_one, &run) < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		code = EX_IOERR;
		json_object_put(run.json);
	} else if (!run.n) {
		cli_error("no member '%s' in %s (give a source id, DN or member key)", member, path);
		code = EX_NOINPUT;
		json_object_put(run.json);
	} else if (run.json) {
		cli_print_json(run.json);
	}
	state_close(st);
	free(path);
	return code;
}
