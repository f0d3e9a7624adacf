/* The membersync command: verbs over the config and the state cache for
 * operators (map, members; more come with the sync verbs). Each verb is
 * one file with one entry point. */
#ifndef MS_CLI_CLI_H
#define MS_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config/conf.h"

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

/* Verbs: argv[0] is the verb's name; they return the exit status. */
int cli_map(struct cli *cli, int argc, char **argv);
int cli_members(struct cli *cli, int argc, char **argv);

#endif
