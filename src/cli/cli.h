/* The membersync command: verbs over the config and the state cache for
 * operators. Each verb is one file with one entry point. */
#ifndef MS_CLI_CLI_H
#define MS_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/conf.h"
#include "state/state.h"

struct json_object;

struct cli {
	const char *config_path;
	bool json;
	struct conf *conf;	/* loaded by cli_load_conf */
};

/* Loads cli->config_path, printing every problem as file:line to stderr.
 * Returns 0, or EX_CONFIG after printing. */
int cli_load_conf(struct cli *cli);
/* Prints "membersync: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints o as one pretty JSON document on stdout and drops the reference. */
void cli_print_json(struct json_object *o);

/* cli_state.c: what the verbs over the state cache share. */

/* Options of the verbs over the state cache. -c, --json and --state are
 * every verb's; the others only where `accepted` has them. */
#define CLI_OPT_TARGET 0x1u	/* -t, --target T */
#define CLI_OPT_MEMBER 0x2u	/* -m, --member M */
#define CLI_OPT_ALL 0x4u	/* --all */
#define CLI_OPT_YES 0x8u	/* --yes */
#define CLI_OPT_STATUS 0x10u	/* --synced, --failed, ... (one member status) */
struct cli_opts {
	const char *state_path, *target, *member;
	const char *operand;	/* the verb's one operand */
	bool all, yes;
	int status;		/* a member_status, or -1 */
};
/* Parses a verb's argv (after optind = 0, see the verbs below) into *o.
 * `operand` says what the verb's one operand names, for the message when
 * it is missing ("member? Give its source id, DN or member key"); NULL:
 * the verb takes none. Returns 0, or EX_USAGE after printing why. */
int cli_options(struct cli *cli, int argc, char **argv, unsigned accepted, const char *operand,
		struct cli_opts *o);
/* The `operand` of the verbs that take one member. */
#define CLI_MEMBER_OPERAND "member? Give its source id (entryUUID, objectGUID), DN or member key"
enum {
	CLI_STATE_WRITE = 0x1,	/* open it read-write (retry, approve, forget) */
	CLI_STATE_CONF = 0x2,	/* load the configuration even with --state (the verb needs its targets) */
};
/* Finds the state database, --state's `state_path` when given, else the
 * configuration's (state_dir/state.db, the configuration loaded with
 * cli_load_conf unless it is already), and opens it; never creates one.
 * When the configuration is loaded, `target` (NULL: none) must name one of
 * its targets. Returns 0 with *out (state_close it) and *path_out (caller
 * frees), or an exit status after printing why: EX_CONFIG, EX_USAGE (no
 * such target), EX_NOINPUT (no database: membersyncd has not run yet, or
 * unreadable), EX_NOPERM (not writable), EX_UNAVAILABLE (state_open
 * failed, e.g. another schema version). */
int cli_state_open(struct cli *cli, const char *state_path, const char *target, unsigned flags,
		   struct state **out, char **path_out);
/* t (seconds since the epoch) as ISO 8601 UTC, "2026-11-24T10:15:02Z";
 * "-" when t <= 0. Returns buf. */
#define CLI_TIME_LEN 32
const char *cli_time(int64_t t, char buf[CLI_TIME_LEN]);
/* t relative to now, rounded: "12 min ago", "in 3 h", "just now"; "-" when
 * t <= 0. */
const char *cli_ago(int64_t t, int64_t now, char buf[CLI_TIME_LEN]);
/* Both: "2026-11-24T10:15:02Z (12 min ago)". */
#define CLI_WHEN_LEN 80
const char *cli_when(int64_t t, int64_t now, char buf[CLI_WHEN_LEN]);
/* The operation a pending, failed, invalid or quarantined row is about
 * ("add" when the row names none); NULL for other statuses. */
const char *cli_member_op(const struct state_member *m);
/* Every field of m, absent ones left out, times as numbers (new object). */
struct json_object *cli_member_json(const struct state_member *m);

/* Verbs: argv[0] is the verb's name; they return the exit status. They
 * parse argv with getopt_long after optind = 0, so that glibc starts
 * afresh and lets options follow operands (main's "+" stopped at the
 * verb, and only optind = 0 forgets that). */
int cli_map(struct cli *cli, int argc, char **argv);
int cli_members(struct cli *cli, int argc, char **argv);
int cli_status(struct cli *cli, int argc, char **argv);
int cli_plan(struct cli *cli, int argc, char **argv);
int cli_show(struct cli *cli, int argc, char **argv);
int cli_retry(struct cli *cli, int argc, char **argv);
int cli_approve(struct cli *cli, int argc, char **argv);
int cli_forget(struct cli *cli, int argc, char **argv);

#endif
