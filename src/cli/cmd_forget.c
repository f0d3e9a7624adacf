/* membersync forget: removes a member's rows from the state cache, so the
 * next cycle treats its entry as new and the driver's duplicate handling
 * adopts what the target has. Nothing is removed at any target. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct forget_run {
	const char *target;	/* NULL: every target */
	json_object *rows;	/* the rows to remove, printed once they are */
};

static void forget_row(void *ud, const struct state_member *m)
{
	struct forget_run *run = ud;
	if (!run->target || strcmp(run->target, m->target) == 0)
		json_object_array_add(run->rows, cli_member_json(m));
}

static const char *forget_field(json_object *row, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(row, name, &v) ? json_object_get_string(v) : "-";
}

int cli_forget(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, CLI_OPT_TARGET | CLI_OPT_YES, CLI_MEMBER_OPERAND, &opts);
	if (code)
		return code;
	const char *member = opts.operand, *target = opts.target, *state_path = opts.state_path;
	bool yes = opts.yes;
	if (!yes) {
		cli_error("forget: nothing done without --yes ('membersync show %s' lists the rows first)", member);
		fprintf(stderr,
			"Forgetting removes what the state cache knows of the member%s%s: its status, remote id,\n"
			"failures and payload hash. Nothing is removed at the target. The next cycle treats the\n"
			"entry as new and adds it again, and the driver's duplicate handling then adopts the\n"
			"member the target already has.\n",
			target ? " in " : "", target ? target : "");
		return EX_USAGE;
	}
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, CLI_STATE_WRITE, &st, &path);
	if (code)
		return code;

	/* The rows are listed, then removed, in one transaction: the list is
	 * what went. */
	struct forget_run run = { .target = target, .rows = json_object_new_array() };
	long rows = 0;
	if (state_begin(st) < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		code = EX_IOERR;
		goto out;
	}
	if (state_find_member(st, member, forget_row, &run) < 0 || state_forget(st, target, member, &rows) < 0 ||
	    state_commit(st) < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		state_rollback(st);
		code = EX_IOERR;
		goto out;
	}
	if (!rows) {
		cli_error("no member '%s'%s%s in %s (give a source id, DN or member key); nothing forgotten", member,
			  target ? " of target " : "", target ? target : "", path);
		code = EX_NOINPUT;
	} else if (cli->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "removed", json_object_new_int64(rows));
		json_object_object_add(o, "rows", json_object_get(run.rows));
		cli_print_json(o);
	} else {
		for (size_t i = 0; i < json_object_array_length(run.rows); i++) {
			json_object *row = json_object_array_get_idx(run.rows, i);
			printf("%s: forgot %s (%s, key %s)\n", forget_field(row, "target"), forget_field(row, "dn"),
			       forget_field(row, "status"), forget_field(row, "key"));
		}
		printf("%ld row%s removed; the next cycle treats the entry as new\n", rows, rows == 1 ? "" : "s");
	}
out:
	json_object_put(run.rows);
	state_close(st);
	free(path);
	return code;
}
