/* membersync retry: failed and quarantined members are due again at the
 * next cycle, their failure counts reset; a target's pause (quota spent,
 * credentials refused) ends. Only writes the state cache: membersyncd does
 * the retrying. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* A pause that was lifted, for the report. */
struct retry_pause {
	const char *target;
	int64_t until;
	char *reason;
};

int cli_retry(struct cli *cli, int argc, char **argv)
{
	struct cli_opts opts;
	int code = cli_options(cli, argc, argv, CLI_OPT_TARGET | CLI_OPT_MEMBER | CLI_OPT_ALL, NULL, &opts);
	if (code)
		return code;
	const char *target = opts.target, *member = opts.member, *state_path = opts.state_path;
	bool all = opts.all;
	if (!all && !target && !member) {
		cli_error("retry: say what to retry: --target T, --member M (source id, DN or member key), or --all "
			  "for every failed and quarantined member of every target");
		return EX_USAGE;
	}
	if (all && (target || member)) {
		cli_error("retry: --all is every member of every target; it does not go with --target or --member");
		return EX_USAGE;
	}
	/* Pauses are per target: with --target that one, with --all every
	 * configured one, so the configuration is needed even with --state. */
	bool unpause = target || all;
	struct state *st;
	char *path;
	code = cli_state_open(cli, state_path, target, CLI_STATE_WRITE | (unpause ? CLI_STATE_CONF : 0), &st,
				  &path);
	if (code)
		return code;

	int64_t now = time_now_unix();
	size_t n_targets = !unpause ? 0 : target ? 1 : cli->conf->n_targets;
	struct retry_pause *lifted = xcalloc(n_targets ? n_targets : 1, sizeof(*lifted));
	size_t n_lifted = 0;
	long rows = 0;

	if (state_begin(st) < 0)
		goto ioerr;
	if (state_release(st, target, member, now, &rows) < 0)
		goto rollback;
	for (size_t i = 0; i < n_targets; i++) {
		const char *name = target ? target : cli->conf->targets[i]->name;
		int64_t until;
		char *reason;
		if (state_pause_get(st, name, &until, &reason) < 0)
			goto rollback;
		if (until > now) {
			lifted[n_lifted++] = (struct retry_pause){ name, until, reason };
		} else {
			free(reason);
			if (until == 0)
				continue;	/* never paused: no row to clear */
		}
		if (state_pause_set(st, name, 0, NULL) < 0)
			goto rollback;
	}
	if (state_commit(st) < 0)
		goto rollback;

	if (cli->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "released", json_object_new_int64(rows));
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n_lifted; i++) {
			json_object *p = json_object_new_object();
			json_object_object_add(p, "target", json_object_new_string(lifted[i].target));
			json_object_object_add(p, "until", json_object_new_int64(lifted[i].until));
			json_object_object_add(p, "reason",
					       lifted[i].reason ? json_object_new_string(lifted[i].reason) : NULL);
			json_object_array_add(arr, p);
		}
		json_object_object_add(o, "pauses_lifted", arr);
		cli_print_json(o);
	} else {
		if (rows)
			printf("%ld member%s will be retried at the next cycle\n", rows, rows == 1 ? "" : "s");
		else
			printf("No failed or quarantined member%s%s%s%s%s: nothing to retry\n", member ? " matches '" : "",
			       member ? member : "", member ? "'" : "", target ? " in " : "", target ? target : "");
		for (size_t i = 0; i < n_lifted; i++) {
			char when[CLI_WHEN_LEN];
			printf("%s: pause lifted; it was to last until %s: %s\n", lifted[i].target,
			       cli_when(lifted[i].until, now, when),
			       lifted[i].reason ? lifted[i].reason : "no reason recorded");
		}
		if (target && !n_lifted)
			printf("%s was not paused\n", target);
		else if (all && !n_lifted)
			printf("No target was paused\n");
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
	for (size_t i = 0; i < n_lifted; i++)
		free(lifted[i].reason);
	free(lifted);
	state_close(st);
	free(path);
	return code;
}
