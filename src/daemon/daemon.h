/* The daemon: one sd-event loop serving the poll timer, signals (SIGTERM/
 * SIGINT stop after in-flight work is recorded, SIGHUP reloads the config),
 * the HTTP engine's sockets, and systemd notifications (READY, STATUS,
 * WATCHDOG, RELOADING, STOPPING). The only mutable top-level object. */
#ifndef MS_DAEMON_DAEMON_H
#define MS_DAEMON_DAEMON_H

#include <stdbool.h>

#include "config/conf.h"
#include "log.h"

/* Exit codes beyond sysexits.h: --once with members that failed. */
#define DAEMON_EXIT_FAILURES 1

struct daemon_options {
	const char *config_path;
	bool once;
	bool dry_run;
	/* A dry run that prints only counts and exits 0 when every target is
	 * in step, DAEMON_EXIT_PENDING when something is to be done. */
	bool check;
};

#define DAEMON_EXIT_PENDING 1

/* Runs until stopped, or for one cycle with once/dry_run. Takes ownership
 * of conf; uses log (caller frees it afterwards). Returns the exit code:
 * 0; DAEMON_EXIT_FAILURES when --once left members failed or unsent
 * (stopped, target paused); EX_UNAVAILABLE
 * when the directory could not be read (--once); EX_CANTCREAT when the
 * state database cannot be opened; EX_SOFTWARE for event loop failures. */
int daemon_run(const struct daemon_options *opt, struct conf *conf, struct logger *log);

#endif
