#include "config.h"

#include "daemon/live.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct live {
	sd_event *event;
	struct logger *log;
	struct live_callbacks cb;
	struct source *source;
	sd_event_source *io;
	struct source_batch *batch;
};

struct live *live_new(sd_event *event, struct logger *log, const struct live_callbacks *cb)
{
	struct live *l = XNEW(struct live);
	l->event = event;
	l->log = log;
	l->cb = *cb;
	return l;
}

void live_stop(struct live *l)
{
	l->io = sd_event_source_disable_unref(l->io);
	if (l->source)
		source_persist_stop(l->source);
	l->source = NULL;
	source_batch_free(l->batch);
	l->batch = NULL;
}

void live_free(struct live *l)
{
	if (!l)
		return;
	live_stop(l);
	free(l);
}

bool live_running(const struct live *l)
{
	return l->io != NULL;
}

bool live_has_changes(const struct live *l)
{
	return l->batch && (l->batch->n_entries || l->batch->n_deleted);
}

struct source_batch *live_take(struct live *l)
{
	if (!live_has_changes(l))
		return NULL;
	struct source_batch *b = l->batch;
	l->batch = NULL;
	return b;
}

static int live_on_input(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct live *l = ud;
	bool more;
	int r;
	(void)s;
	(void)fd;
	(void)revents;

	/* libldap may have read several messages into its own buffer, where
	 * the fd no longer shows them. */
	do {
		char *err = NULL;
		r = source_persist_poll(l->source, &l->batch, &more, &err);
		if (r < 0) {
			log_warning(l->log, "live change tracking stopped: %s; changes are read at the next poll", err);
			free(err);
			live_stop(l);
			l->cb.ended(l->cb.ud);
			return 0;
		}
	} while (more);
	if (live_has_changes(l))
		l->cb.ready(l->cb.ud);
	return 0;
}

int live_start(struct live *l, struct source *s, const char *cursor)
{
	char *err = NULL;
	live_stop(l);
	int r = source_persist_start(s, cursor, &err);
	if (r < 0) {
		log_warning(l->log, "cannot start live change tracking: %s; changes are read at each poll", err);
		free(err);
		return r;
	}
	l->source = s;
	r = sd_event_add_io(l->event, &l->io, source_persist_fd(s), EPOLLIN, live_on_input, l);
	if (r < 0) {
		log_warning(l->log, "cannot watch the live change tracking connection: %s", strerror(-r));
		live_stop(l);
		return r;
	}
	sd_event_source_set_description(l->io, "ldap-live");
	log_info(l->log, "live change tracking started (syncrepl refreshAndPersist)");
	return 0;
}
