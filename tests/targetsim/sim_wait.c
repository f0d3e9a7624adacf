/*
 * Timed waits for connections: latency, fault delays and slow bodies
 * suspend the connection in MHD and this timer thread resumes it when due.
 * Sleeping in the callback instead would hold an MHD worker thread, and
 * with it every other connection that thread serves (two threads by
 * default, so two slow answers would freeze the control plane as well).
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sim_wait {
	uint64_t due_ms;
	uint64_t order;	/* equal due times resume first come, first served */
	struct MHD_Connection *conn;
};

static bool wait_before(const struct sim_wait *a, const struct sim_wait *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->order < b->order);
}

static void heap_push(struct sim_waits *w, struct sim_wait item)
{
	size_t i;

	if (w->len == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->heap = sim_xrealloc(w->heap, w->cap * sizeof(*w->heap));
	}
	i = w->len++;
	while (i > 0 && wait_before(&item, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = item;
}

static struct sim_wait heap_pop(struct sim_waits *w)
{
	struct sim_wait top = w->heap[0];
	struct sim_wait last = w->heap[--w->len];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->len)
			break;
		if (c + 1 < w->len && wait_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!wait_before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->len)
		w->heap[i] = last;
	return top;
}

static void *waits_run(void *arg)
{
	struct sim_waits *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		uint64_t due;

		if (!w->len) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		due = w->heap[0].due_ms;
		if (due <= sim_now_ms()) {
			struct sim_wait item = heap_pop(w);

			/* Unlocked: MHD takes its own locks in here, and a
			 * worker suspends while holding ours. */
			pthread_mutex_unlock(&w->lock);
			MHD_resume_connection(item.conn);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		{
			struct timespec ts = {
				.tv_sec = (time_t)(due / 1000),
				.tv_nsec = (long)(due % 1000) * 1000000L,
			};

			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int sim_waits_start(struct sim_waits *w)
{
	pthread_condattr_t attr;
	int rc;

	memset(w, 0, sizeof(*w));
	rc = pthread_mutex_init(&w->lock, NULL);
	if (rc)
		return -rc;
	rc = pthread_condattr_init(&attr);
	if (rc)
		goto fail_mutex;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc)
		goto fail_mutex;
	rc = pthread_create(&w->thread, NULL, waits_run, w);
	if (rc) {
		pthread_cond_destroy(&w->cond);
		goto fail_mutex;
	}
	w->started = true;
	return 0;
fail_mutex:
	pthread_mutex_destroy(&w->lock);
	return -rc;
}

void sim_waits_stop(struct sim_waits *w)
{
	struct sim_wait *pending;
	size_t n;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->stopping = true;
	pending = w->heap;
	n = w->len;
	w->heap = NULL;
	w->len = w->cap = 0;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(pending[i].conn);
	free(pending);
	/* The thread may be resuming one it popped just before; wait for it. */
	pthread_join(w->thread, NULL);
}

void sim_waits_fini(struct sim_waits *w)
{
	if (!w->started)
		return;
	sim_waits_stop(w);
	free(w->heap);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	w->started = false;
}

int sim_wait_until(struct sim_waits *w, struct MHD_Connection *conn, uint64_t due_ms)
{
	/* started only changes while MHD is not running */
	if (!w->started)
		return -ESHUTDOWN;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	/* Suspended before it is queued, and both under the lock, so the
	 * timer can never resume a connection that is not suspended yet. */
	MHD_suspend_connection(conn);
	heap_push(w, (struct sim_wait){ .due_ms = due_ms, .order = w->next_order++, .conn = conn });
	if (w->heap[0].conn == conn)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}
