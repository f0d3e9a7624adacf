/* Logging: journald with structured MEMBERSYNC_* fields so operators can
 * filter (journalctl MEMBERSYNC_TARGET=rainbond), or stderr when running in a
 * terminal or where no journal exists. Library modules (config, mapping,
 * state) never log; they return errors, and the orchestration code logs. */
#ifndef MS_LOG_H
#define MS_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_sink {
	LOG_SINK_AUTO,		/* stderr on a terminal, else journald if it runs, else stderr */
	LOG_SINK_STDERR,
	LOG_SINK_JOURNAL,
};

/* Optional structured fields of one event; NULL/0 members are left out. */
struct log_fields {
	const char *message_id;	/* 32 hex digits, one per event kind (see log_ids.h) */
	const char *target;
	const char *dn;
	const char *member;	/* the member key at the target */
	const char *action;	/* add, update, skip, ... */
	const char *result;	/* ok, duplicate, invalid, failed, ... */
	int http_status;
};

struct logger;

struct logger *logger_new(enum log_sink sink, int max_priority);
void logger_free(struct logger *lg);
void logger_set_priority(struct logger *lg, int max_priority);
bool logger_uses_journal(const struct logger *lg);

/* Parses "debug", "info", "notice", "warning", "error"; -1 if unknown. */
int log_priority_from_name(const char *name);

void log_event(struct logger *lg, int priority, const struct log_fields *fields,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(lg, ...) log_event((lg), LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(lg, ...) log_event((lg), LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(lg, ...) log_event((lg), LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(lg, ...) log_event((lg), LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(lg, ...) log_event((lg), LOG_ERR, NULL, __VA_ARGS__)

#endif
