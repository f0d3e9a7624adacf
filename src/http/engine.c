/* curl multi <-> sd-event glue: curl tells us which sockets to watch and
 * when to wake it (socket and timer callbacks); the loop tells curl what
 * happened (curl_multi_socket_action). */
#include "config.h"

#include "http/http.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

struct http_transfer {
	struct http_engine *engine;
	CURL *easy;
	struct http_request req;
	struct sbuf body;
	bool too_big;
	long retry_after;
	char errbuf[CURL_ERROR_SIZE];
	http_done_fn done;
	void *userdata;
	http_observe_fn observe;
	void *observe_ud;
	uint64_t submitted_usec;	/* monotonic */
	struct http_transfer *prev, *next;
};

/* Easy handles kept for reuse: creating one costs more than the request
 * on a kept-alive loopback connection. */
#define HTTP_SPARE_HANDLES 64
/* Kept-alive connections curl may keep idle, all targets together. */
#define HTTP_MAX_IDLE_CONNECTIONS 256

struct http_engine {
	/* An observed view (http_engine_observed): only these three are set. */
	struct http_engine *parent;
	http_observe_fn observe;
	void *observe_ud;
	sd_event *event;
	CURLM *multi;
	CURL *spare[HTTP_SPARE_HANDLES];
	size_t n_spare;
	sd_event_source *timer;
	/* Completions are delivered from a deferred event so callbacks never
	 * run inside curl or inside http_engine_submit. */
	sd_event_source *defer;
	struct http_transfer *active;
	size_t inflight;
};

static void http_check_done(struct http_engine *h);

static int http_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http_engine *h = userdata;
	int action = 0, running;
	if (revents & EPOLLIN)
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_check_done(h);
	return 0;
}

static int http_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct http_engine *h = userdata;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
	return 0;
}

static int http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_engine *h = userp;
	sd_event_source *io = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (io) {
			sd_event_source_disable_unref(io);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	uint32_t events = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EPOLLOUT;
	if (io) {
		if (sd_event_source_set_io_events(io, events) < 0 ||
		    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
			return -1;
		return 0;
	}
	if (sd_event_add_io(h->event, &io, fd, events, http_on_io, h) < 0)
		return -1;
	sd_event_source_set_description(io, "curl-socket");
	curl_multi_assign(h->multi, fd, io);
	return 0;
}

static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_engine *h = userp;
	if (timeout_ms < 0) {
		if (h->timer)
			sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
		return 0;
	}
	uint64_t now;
	sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	uint64_t when = now + (uint64_t)timeout_ms * 1000u;
	if (h->timer) {
		if (sd_event_source_set_time(h->timer, when) < 0 ||
		    sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
			return -1;
		return 0;
	}
	/* curl's timeouts drive its retransmits and connects; sd-event's
	 * default accuracy (250 ms) would stall them. */
	if (sd_event_add_time(h->event, &h->timer, CLOCK_MONOTONIC, when, 1000, http_on_timer, h) < 0)
		return -1;
	sd_event_source_set_description(h->timer, "curl-timer");
	return 0;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t n = size * nmemb;
	if (t->body.len + n > t->req.max_response) {
		t->too_big = true;
		return 0;
	}
	sbuf_add(&t->body, data, n);
	return n;
}

static size_t http_header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char buf[32];
		size_t len = n - (sizeof(name) - 1);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, data + sizeof(name) - 1, len);
		buf[len] = '\0';
		char *end;
		long v = strtol(buf, &end, 10);
		/* An HTTP-date form is rare for APIs; treat it as "soon". */
		t->retry_after = end != buf && v >= 0 ? v : 1;
	}
	return n;
}

struct http_engine *http_engine_new(sd_event *event)
{
	struct http_engine *h = XNEW(struct http_engine);
	h->event = sd_event_ref(event);
	h->multi = curl_multi_init();
	if (!h->multi)
		abort();
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* By default curl keeps four idle connections per easy handle in the
	 * multi handle; ours leave it as their transfers finish, so between
	 * rounds the bound drops and kept-alive connections are closed (a new
	 * connection every 25 requests or so with max_inflight 8). One
	 * target's max_inflight is at most 256. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MAX_IDLE_CONNECTIONS);
	return h;
}

static void http_transfer_free(struct http_transfer *t)
{
	struct http_engine *h = t->engine;
	if (h->n_spare < HTTP_SPARE_HANDLES) {
		curl_easy_reset(t->easy);
		h->spare[h->n_spare++] = t->easy;
	} else {
		curl_easy_cleanup(t->easy);
	}
	http_request_clear(&t->req);
	sbuf_release(&t->body);
	free(t);
}

static void http_unlink(struct http_engine *h, struct http_transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		h->active = t->next;
	if (t->next)
		t->next->prev = t->prev;
	h->inflight--;
}

void http_engine_free(struct http_engine *h)
{
	if (!h)
		return;
	if (h->parent) {
		free(h);
		return;
	}
	/* Walks by the saved next pointer rather than re-reading h->active:
	 * same effect, and the analyzer need not know the head has no prev. */
	for (struct http_transfer *t = h->active, *next; t; t = next) {
		next = t->next;
		curl_multi_remove_handle(h->multi, t->easy);
		http_unlink(h, t);
		http_transfer_free(t);
	}
	curl_multi_cleanup(h->multi);
	while (h->n_spare)
		curl_easy_cleanup(h->spare[--h->n_spare]);
	sd_event_source_disable_unref(h->timer);
	sd_event_source_disable_unref(h->defer);
	sd_event_unref(h->event);
	free(h);
}

size_t http_engine_inflight(const struct http_engine *h)
{
	return h->parent ? h->parent->inflight : h->inflight;
}

struct http_engine *http_engine_observed(struct http_engine *h, http_observe_fn observe, void *ud)
{
	struct http_engine *v = XNEW(struct http_engine);
	v->parent = h->parent ? h->parent : h;
	v->observe = observe;
	v->observe_ud = ud;
	return v;
}

static void http_finish(struct http_engine *h, struct http_transfer *t, CURLcode code)
{
	struct http_response resp = { .curl_code = code, .retry_after = t->retry_after };
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &resp.elapsed);
	char *ct = NULL;
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
	resp.content_type = ct;
	if (code != CURLE_OK) {
		if (t->too_big)
			resp.error = xasprintf("response larger than %zu bytes", t->req.max_response);
		else
			resp.error = xstrdup(t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
		/* A truncated or failed transfer has no trustworthy answer. */
		resp.status = 0;
	}
	resp.body = t->body.buf;
	resp.body_len = t->body.len;
	if (t->observe)
		t->observe(t->observe_ud, &resp);
	t->done(&resp, t->userdata);
	free(resp.error);
}

static void http_check_done(struct http_engine *h)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct http_transfer *t = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode code = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(h->multi, easy);
		http_unlink(h, t);
		http_finish(h, t, code);
		http_transfer_free(t);
	}
}

static int http_on_defer(sd_event_source *s, void *userdata)
{
	struct http_engine *h = userdata;
	int running;
	/* Kick curl so newly added transfers start, then report any that
	 * finished (or failed) at once. */
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
	return 0;
}

static void http_kick(struct http_engine *h)
{
	if (!h->defer) {
		if (sd_event_add_defer(h->event, &h->defer, http_on_defer, h) < 0)
			abort();
		sd_event_source_set_description(h->defer, "curl-kick");
	}
	sd_event_source_set_enabled(h->defer, SD_EVENT_ONESHOT);
}

void http_engine_submit(struct http_engine *h, struct http_request *req, http_done_fn done, void *userdata)
{
	struct http_transfer *t = XNEW(struct http_transfer);
	if (h->parent) {
		t->observe = h->observe;
		t->observe_ud = h->observe_ud;
		h = h->parent;
	}
	t->engine = h;
	t->req = *req;
	memset(req, 0, sizeof(*req));
	t->done = done;
	t->userdata = userdata;
	t->retry_after = -1;
	sbuf_init(&t->body);
	t->easy = h->n_spare ? h->spare[--h->n_spare] : curl_easy_init();
	if (!t->easy)
		abort();

	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, t->req.url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->req.method);
	if (strcmp(t->req.method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (t->req.body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req.body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req.headers);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, t->req.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, t->req.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "membersync/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/* HTTP/2 where a TLS server offers it, keep-alive HTTP/1.1 otherwise. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Spare handles are curl_easy_reset(), so one target's settings never
	 * carry over to another's request. CAINFO only when given: NULL
	 * would drop the built-in CA bundle, not restore it. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->req.tls_insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->req.tls_insecure ? 0L : 2L);
	if (t->req.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->req.ca_file);

	t->submitted_usec = time_now_mono_usec();
	t->next = h->active;
	if (h->active)
		h->active->prev = t;
	h->active = t;
	h->inflight++;
	CURLMcode mc = curl_multi_add_handle(h->multi, e);
	if (mc != CURLM_OK)
		abort();
	http_kick(h);
}

uint64_t http_engine_oldest_usec(const struct http_engine *h)
{
	if (h->parent)
		h = h->parent;
	uint64_t oldest = 0;
	/* Newest first: the last one is the oldest. */
	for (const struct http_transfer *t = h->active; t; t = t->next)
		oldest = t->submitted_usec;
	return oldest;
}
