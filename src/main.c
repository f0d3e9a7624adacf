/* membersyncd: keeps membership APIs in step with an LDAP directory. */
#include "config.h"

#include "config/conf.h"
#include "daemon/daemon.h"
#include "log.h"
#include "util/diag.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: membersyncd [OPTIONS]\n"
		"Keep membership APIs in step with an LDAP directory.\n"
		"\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"      --once          run one sync cycle, then exit\n"
		"  -n, --dry-run       print what one cycle would do and change nothing\n"
		"                      (no requests, no state writes; implies --once)\n"
		"      --check         a dry run for monitoring: print each target's counts,\n"
		"                      exit 0 when in sync, 1 when changes are pending\n"
		"  -f, --foreground    log to stderr instead of the systemd journal\n"
		"      --check-config  check the configuration file and exit\n"
		"                      (0 when valid, 78 with file:line messages otherwise)\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          print this help and exit\n"
		"\n"
		"See membersyncd(8) and membersync.conf(5).\n",
		CONF_DEFAULT_PATH);
}

enum { OPT_ONCE = 256, OPT_CHECK_CONFIG, OPT_CHECK };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_options opt = { .config_path = CONF_DEFAULT_PATH };
	bool foreground = false, check_only = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:nfVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.config_path = optarg; break;
		case OPT_ONCE: opt.once = true; break;
		case 'n': opt.dry_run = true; break;
		case 'f': foreground = true; break;
		case OPT_CHECK_CONFIG: check_only = true; break;
		case OPT_CHECK: opt.check = opt.dry_run = opt.once = true; break;
		case 'V': printf("membersyncd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "membersyncd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}

	struct diag *d = diag_new();
	struct conf *conf = NULL;
	int r = conf_load_ext(opt.config_path, check_only ? CONF_LOAD_CHECK_SAMPLES : 0, &conf, d);
	if (r < 0 || check_only) {
		diag_print(d, stderr);
		if (r == 0) {
			printf("%s: OK (%zu target%s:", opt.config_path, conf->n_targets, conf->n_targets == 1 ? "" : "s");
			for (size_t i = 0; i < conf->n_targets; i++)
				printf(" %s/%s%s", conf->targets[i]->name, conf->targets[i]->driver->name,
				       conf->targets[i]->enabled ? "" : " (disabled)");
			printf(")\n");
		} else {
			fprintf(stderr, "%s: %zu error%s\n", opt.config_path, d->errors, d->errors == 1 ? "" : "s");
		}
		conf_free(conf);
		diag_free(d);
		return r < 0 ? EX_CONFIG : 0;
	}

	bool interactive = foreground || opt.dry_run;
	struct logger *log = logger_new(interactive ? LOG_SINK_STDERR : LOG_SINK_AUTO, conf->log_priority);
	/* Only warnings are left. */
	for (size_t i = 0; i < d->n; i++) {
		char *msg = diag_format_for_log(&d->items[i]);
		log_warning(log, "%s", msg);
		free(msg);
	}
	diag_free(d);

	/* A write to a connection the directory has closed must be an error
	 * to handle, not the end of the daemon (systemd ignores SIGPIPE for
	 * services already; a shell does not). */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error(log, "cannot initialise libcurl");
		conf_free(conf);
		logger_free(log);
		return EX_SOFTWARE;
	}
	int code = daemon_run(&opt, conf, log);
	curl_global_cleanup();
	logger_free(log);
	return code;
}
