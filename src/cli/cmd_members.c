/* membersync members: the members the state cache holds, by target and
 * status, with the reason for each one that is invalid or failing. */
#include "config.h"

#include "cli/cli.h"
#include "state/state.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

struct members_run {
	json_object *json;
	size_t n;
};

static void members_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		strcpy(buf, "-");
}

static void members_one(void *ud, const struct state_member *m)
{
	struct members_run *run = ud;
	run->n++;
	if (run->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_string(m->target));
		json_object_object_add(o, "source_id", json_object_new_string(m->source_id));
		json_object_object_add(o, "dn", json_object_new_string(m->dn));
		json_object_object_add(o, "status", json_object_new_string(member_status_name(m->status)));
		if (m->member_key)
			json_object_object_add(o, "key", json_object_new_string(m->member_key));
		if (m->remote_id)
			json_object_object_add(o, "remote_id", json_object_new_string(m->remote_id));
		if (m->last_error)
			json_object_object_add(o, "reason", json_object_new_string(m->last_error));
		json_object_object_add(o, "attempts", json_object_new_int(m->attempts));
		json_object_object_add(o, "first_seen", json_object_new_int64(m->first_seen));
		json_object_object_add(o, "updated_at", json_object_new_int64(m->updated_at));
		if (m->last_synced)
			json_object_object_add(o, "last_synced", json_object_new_int64(m->last_synced));
		if (m->gone_at)
			json_object_object_add(o, "gone_at", json_object_new_int64(m->gone_at));
		json_object_array_add(run->json, o);
		return;
	}
	char updated[32];
	members_time(m->updated_at, updated);
	printf("%-16s %-8s %s  [key %s, updated %s%s]\n", m->target, member_status_name(m->status), m->dn,
	       m->member_key ? m->member_key : "-", updated, m->gone_at ? ", gone from the directory" : "");
	if (m->last_error)
		printf("%-16s %-8s   %s\n", "", "", m->last_error);
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
		{ NULL, 0, NULL, 0 },
	};
	const char *target = NULL, *state_path = NULL;
	int status = -1, c;

	optind = 1;
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
		default: return EX_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("members: unexpected argument '%s'", argv[optind]);
		return EX_USAGE;
	}
	char *path = NULL;
	if (state_path) {
		path = xstrdup(state_path);
	} else {
		int code = cli_load_conf(cli);
		if (code)
			return code;
		if (target && !conf_find_target(cli->conf, target)) {
			cli_error("no target named '%s' in %s", target, cli->config_path);
			return EX_USAGE;
		}
		path = conf_state_path(cli->conf);
	}
	if (access(path, R_OK) != 0) {
		cli_error("%s: %s (has membersyncd run yet?)", path, strerror(errno));
		free(path);
		return EX_NOINPUT;
	}
	struct state *st;
	char *err = NULL;
	if (state_open(path, true, &st, &err) < 0) {
		cli_error("%s: %s", path, err);
		free(err);
		free(path);
		return EX_UNAVAILABLE;
	}
	struct members_run run = { .json = cli->json ? json_object_new_array() : NULL };
	int code = 0;
	if (state_foreach_member(st, target, status, members_one, &run) < 0) {
		cli_error("%s: %s", path, state_errmsg(st));
		code = EX_IOERR;
	} else if (run.json) {
		printf("%s\n", json_object_to_json_string_ext(run.json, JSON_C_TO_STRING_PRETTY |
										JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%zu member%s\n", run.n, run.n == 1 ? "" : "s");
	}
	json_object_put(run.json);
	state_close(st);
	free(path);
	return code;
}
