/* What the verbs over the state cache share: finding and opening the
 * database, times as operators read them, and a member as JSON. */
#include "config.h"

#include "cli/cli.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

int cli_options(struct cli *cli, int argc, char **argv, unsigned accepted, const char *operand,
		struct cli_opts *o)
{
	enum { OPT_JSON = 256, OPT_STATE, OPT_ALL, OPT_YES, OPT_STATUS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "target", required_argument, NULL, 't' },
		{ "member", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "yes", no_argument, NULL, OPT_YES },
		{ "pending", no_argument, NULL, OPT_STATUS + MEMBER_PENDING },
		{ "synced", no_argument, NULL, OPT_STATUS + MEMBER_SYNCED },
		{ "failed", no_argument, NULL, OPT_STATUS + MEMBER_FAILED },
		{ "invalid", no_argument, NULL, OPT_STATUS + MEMBER_INVALID },
		{ "quarantined", no_argument, NULL, OPT_STATUS + MEMBER_QUARANTINED },
		{ "disabled", no_argument, NULL, OPT_STATUS + MEMBER_DISABLED },
		{ "deleted", no_argument, NULL, OPT_STATUS + MEMBER_DELETED },
		{ NULL, 0, NULL, 0 },
	};
	int c, index;

	*o = (struct cli_opts){ .status = -1 };
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:t:m:", longopts, &index)) != -1) {
		unsigned need = c == 't' ? CLI_OPT_TARGET : c == 'm' ? CLI_OPT_MEMBER : c == OPT_ALL ? CLI_OPT_ALL
				: c == OPT_YES ? CLI_OPT_YES : c >= OPT_STATUS ? CLI_OPT_STATUS : 0;
		if (need && !(accepted & need)) {
			cli_error("%s: %s is not an option of this command", argv[0], argv[optind - 1]);
			return EX_USAGE;
		}
		switch (c) {
		case 'c': cli->config_path = optarg; break;
		case OPT_JSON: cli->json = true; break;
		case OPT_STATE: o->state_path = optarg; break;
		case 't': o->target = optarg; break;
		case 'm': o->member = optarg; break;
		case OPT_ALL: o->all = true; break;
		case OPT_YES: o->yes = true; break;
		case '?':
		case ':': return EX_USAGE;
		default: o->status = c - OPT_STATUS; break;
		}
	}
	if (operand && optind == argc) {
		cli_error("%s: which %s", argv[0], operand);
		return EX_USAGE;
	}
	if (operand)
		o->operand = argv[optind++];
	if (optind < argc) {
		cli_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
		return EX_USAGE;
	}
	return 0;
}

int cli_state_open(struct cli *cli, const char *state_path, const char *target, unsigned flags,
		   struct state **out, char **path_out)
{
	bool write = flags & CLI_STATE_WRITE;
	char *path = NULL, *err = NULL;
	int code = 0;

	*out = NULL;
	*path_out = NULL;
	if (!state_path || (flags & CLI_STATE_CONF)) {
		if (!cli->conf && (code = cli_load_conf(cli)) != 0)
			return code;
		if (target && !conf_find_target(cli->conf, target)) {
			cli_error("no target named '%s' in %s", target, cli->config_path);
			return EX_USAGE;
		}
	}
	path = state_path ? xstrdup(state_path) : conf_state_path(cli->conf);
	/* state_open would create a missing database (read-write) or read an
	 * empty one (read-only): neither is what an operator asked about. */
	if (access(path, F_OK) != 0) {
		if (errno == ENOENT)
			cli_error("%s: no state database: membersyncd has not run yet", path);
		else
			cli_error("%s: %s", path, strerror(errno));
		code = EX_NOINPUT;
		goto out;
	}
	if (access(path, write ? R_OK | W_OK : R_OK) != 0) {
		cli_error("%s: %s (%s it takes the user membersyncd runs as, or root)", path, strerror(errno),
			  write ? "changing" : "reading");
		code = write ? EX_NOPERM : EX_NOINPUT;
		goto out;
	}
	if (state_open(path, !write, out, &err) < 0) {
		cli_error("%s", err);
		code = EX_UNAVAILABLE;
		goto out;
	}
	*path_out = path;
	path = NULL;
out:
	free(err);
	free(path);
	return code;
}

const char *cli_time(int64_t t, char buf[CLI_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, CLI_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(buf, "-");
	return buf;
}

const char *cli_ago(int64_t t, int64_t now, char buf[CLI_TIME_LEN])
{
	int64_t d = now - t, a = d < 0 ? -d : d, n;
	const char *unit;
	if (t <= 0) {
		strcpy(buf, "-");
		return buf;
	}
	if (a < 30) {
		strcpy(buf, d >= 0 ? "just now" : "in under a minute");
		return buf;
	}
	/* Rounded to the nearest unit: 599 s is "10 min". */
	if ((n = (a + 30) / 60) < 60) {
		unit = "min";
	} else if ((n = (a + 1800) / 3600) < 48) {
		unit = "h";
	} else {
		n = (a + 43200) / 86400;
		unit = "days";
	}
	if (d > 0)
		snprintf(buf, CLI_TIME_LEN, "%lld %s ago", (long long)n, unit);
	else
		snprintf(buf, CLI_TIME_LEN, "in %lld %s", (long long)n, unit);
	return buf;
}

const char *cli_when(int64_t t, int64_t now, char buf[CLI_WHEN_LEN])
{
	char abs[CLI_TIME_LEN], rel[CLI_TIME_LEN];
	if (t <= 0)
		strcpy(buf, "-");
	else
		snprintf(buf, CLI_WHEN_LEN, "%s (%s)", cli_time(t, abs), cli_ago(t, now, rel));
	return buf;
}

const char *cli_member_op(const struct state_member *m)
{
	if (m->op)
		return m->op;
	switch (m->status) {
	case MEMBER_PENDING:
	case MEMBER_FAILED:
	case MEMBER_INVALID:
	case MEMBER_QUARANTINED: return "add";
	default: return NULL;
	}
}

static void json_add_string(json_object *o, const char *name, const char *v)
{
	if (v)
		json_object_object_add(o, name, json_object_new_string(v));
}

static void json_add_time(json_object *o, const char *name, int64_t t)
{
	if (t > 0)
		json_object_object_add(o, name, json_object_new_int64(t));
}

json_object *cli_member_json(const struct state_member *m)
{
	json_object *o = json_object_new_object();
	json_add_string(o, "target", m->target);
	json_add_string(o, "source_id", m->source_id);
	json_add_string(o, "dn", m->dn);
	json_add_string(o, "status", member_status_name(m->status));
	json_add_string(o, "op", cli_member_op(m));
	json_add_string(o, "key", m->member_key);
	json_add_string(o, "remote_id", m->remote_id);
	json_add_string(o, "payload_hash", m->payload_hash);
	json_add_string(o, "reason", m->last_error);
	json_add_string(o, "excluded", m->excluded);
	json_object_object_add(o, "attempts", json_object_new_int(m->attempts));
	json_object_object_add(o, "failures", json_object_new_int(m->failures));
	json_add_time(o, "next_attempt_at", m->next_attempt_at);
	json_add_time(o, "first_seen", m->first_seen);
	json_add_time(o, "updated_at", m->updated_at);
	json_add_time(o, "last_synced", m->last_synced);
	json_add_time(o, "gone_at", m->gone_at);
	return o;
}
