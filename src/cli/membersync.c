/* membersync: look into what membersyncd does and would do, and leave it
 * notes in the state cache (retry, approve, forget). */
#include "config.h"

#include "cli/cli.h"
#include "util/diag.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: membersync [-c FILE] [--json] COMMAND [OPTIONS]\n"
		"Look into what membersyncd does and would do.\n"
		"\n"
		"Commands:\n"
		"  map --target T (--dn DN | --ldif FILE | --sample)\n"
		"                     show every field a target's mapping gives for an entry,\n"
		"                     or why it fails\n"
		"  status [--target T]\n"
		"                     each target's members, hold, pause and last cycle,\n"
		"                     and the last run\n"
		"  members [--target T] [--synced | --pending | --failed | --quarantined |\n"
		"          --invalid | --disabled | --deleted]\n"
		"                     list members from the state cache\n"
		"  show MEMBER        every target's row of a member (source id, DN or key)\n"
		"  plan [--target T]  deprovisioning plans held over max_deprovision\n"
		"  approve TARGET     let the held plan of TARGET run once\n"
		"  retry (--target T | --member M | --all)\n"
		"                     retry failed and quarantined members at the next\n"
		"                     cycle; with --target or --all also end pauses\n"
		"  forget MEMBER [--target T] --yes\n"
		"                     drop a member's rows from the state cache\n"
		"\n"
		"Commands over the state cache also take --state FILE.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"      --json         machine-readable output\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"See membersync(1).\n",
		CONF_DEFAULT_PATH);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("membersync: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int cli_load_conf(struct cli *cli)
{
	struct diag *d = diag_new();
	int r = conf_load(cli->config_path, &cli->conf, d);
	diag_print(d, stderr);
	if (r < 0)
		fprintf(stderr, "%s: %zu error%s\n", cli->config_path, d->errors, d->errors == 1 ? "" : "s");
	diag_free(d);
	return r < 0 ? EX_CONFIG : 0;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
} verbs[] = {
	{ "map", cli_map },
	{ "members", cli_members },
	{ "status", cli_status },
	{ "plan", cli_plan },
	{ "show", cli_show },
	{ "retry", cli_retry },
	{ "approve", cli_approve },
	{ "forget", cli_forget },
};

enum { OPT_JSON = 256 };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .config_path = CONF_DEFAULT_PATH };
	int c;

	/* '+': stop at the verb; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+c:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_path = optarg; break;
		case OPT_JSON: cli.json = true; break;
		case 'V': printf("membersync %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *verb = argv[optind];
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].name, verb) != 0)
			continue;
		int code = verbs[i].fn(&cli, argc - optind, argv + optind);
		conf_free(cli.conf);
		return code;
	}
	cli_error("unknown command '%s' (try 'membersync --help')", verb);
	return EX_USAGE;
}
