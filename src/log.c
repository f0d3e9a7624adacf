#include "config.h"

#include "log.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

struct logger {
	enum log_sink sink;
	int max_priority;
};

static const char *const priority_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

struct logger *logger_new(enum log_sink sink, int max_priority)
{
	struct logger *lg = XNEW(struct logger);
	/* Someone at a terminal wants to see what happens; a service (stderr
	 * not a terminal) belongs in the journal when there is one. */
	if (sink == LOG_SINK_AUTO)
		sink = !isatty(STDERR_FILENO) && access("/run/systemd/journal/socket", W_OK) == 0
			       ? LOG_SINK_JOURNAL
			       : LOG_SINK_STDERR;
	lg->sink = sink;
	lg->max_priority = max_priority;
	return lg;
}

void logger_free(struct logger *lg)
{
	free(lg);
}

void logger_set_priority(struct logger *lg, int max_priority)
{
	lg->max_priority = max_priority;
}

bool logger_uses_journal(const struct logger *lg)
{
	return lg->sink == LOG_SINK_JOURNAL;
}

int log_priority_from_name(const char *name)
{
	/* Only the levels membersync logs at; more would promise nothing. */
	for (int p = LOG_ERR; p <= LOG_DEBUG; p++)
		if (strcasecmp(name, priority_names[p]) == 0)
			return p;
	return -1;
}

#define LOG_MAX_FIELDS 12

static void log_journal(int priority, const struct log_fields *f, const char *msg)
{
	struct iovec iov[LOG_MAX_FIELDS];
	char *owned[LOG_MAX_FIELDS];
	size_t n = 0;

#define ADD_FIELD(...) do { \
		owned[n] = xasprintf(__VA_ARGS__); \
		iov[n].iov_base = owned[n]; \
		iov[n].iov_len = strlen(owned[n]); \
		n++; \
	} while (0)

	ADD_FIELD("MESSAGE=%s", msg);
	ADD_FIELD("PRIORITY=%d", priority);
	ADD_FIELD("SYSLOG_IDENTIFIER=membersyncd");
	if (f) {
		if (f->message_id)
			ADD_FIELD("MESSAGE_ID=%s", f->message_id);
		if (f->target)
			ADD_FIELD("MEMBERSYNC_TARGET=%s", f->target);
		if (f->dn)
			ADD_FIELD("MEMBERSYNC_DN=%s", f->dn);
		if (f->member)
			ADD_FIELD("MEMBERSYNC_MEMBER=%s", f->member);
		if (f->action)
			ADD_FIELD("MEMBERSYNC_ACTION=%s", f->action);
		if (f->result)
			ADD_FIELD("MEMBERSYNC_RESULT=%s", f->result);
		if (f->http_status)
			ADD_FIELD("MEMBERSYNC_HTTP_STATUS=%d", f->http_status);
	}
#undef ADD_FIELD
	/* If the journal is gone (restarted, or we were wrong about it), the
	 * event still has to reach someone. */
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "%s: %s\n", priority_names[priority & 7], msg);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
}

void log_event(struct logger *lg, int priority, const struct log_fields *f, const char *fmt, ...)
{
	if (priority > lg->max_priority)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (lg->sink == LOG_SINK_JOURNAL)
		log_journal(priority, f, msg);
	else
		fprintf(stderr, "%s: %s\n", priority_names[priority & 7], msg);
	free(msg);
}
