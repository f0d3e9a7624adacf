/* The HTTP engine: one curl multi handle driven by the daemon's sd-event
 * loop, so requests to every target proceed concurrently on kept-alive
 * connections while the loop keeps serving signals and timers. */
#ifndef MS_HTTP_HTTP_H
#define MS_HTTP_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct http_request {
	const char *method;		/* static string: "POST", "GET", ... */
	char *url;
	struct curl_slist *headers;	/* may carry credentials: never logged */
	char *body;
	size_t body_len;
	long connect_timeout_ms;
	long timeout_ms;		/* whole request */
	size_t max_response;		/* bigger answers fail the request */
	bool tls_insecure;		/* HTTPS without certificate checks */
	const char *ca_file;		/* not owned; NULL: the system's CAs */
};

struct http_response {
	long status;		/* 0 when no HTTP answer arrived */
	CURLcode curl_code;
	char *error;		/* transport error text, NULL when status != 0 */
	char *body;		/* NUL-terminated */
	size_t body_len;
	char *content_type;	/* NULL if none */
	long retry_after;	/* seconds from Retry-After, -1 if absent */
	double elapsed;		/* seconds */
};

void http_request_init(struct http_request *req, const char *method, char *url /* taken */);
void http_request_add_header(struct http_request *req, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void http_request_set_body(struct http_request *req, char *body /* taken */, size_t len);
void http_request_clear(struct http_request *req);

/* Appends name=value (both percent-encoded) to the URL's query string. */
void http_request_add_query(struct http_request *req, const char *name, const char *value);

/* base + "/" + path without doubled slashes. Caller frees. */
char *http_url_join(const char *base, const char *path);

/* A short, single-line excerpt of a response body for logs and state
 * (control characters escaped, cut at max_chars). Caller frees. */
char *http_body_excerpt(const struct http_response *resp, size_t max_chars);
/* The same for any text from an API (a message field). Caller frees. */
char *http_text_excerpt(const char *s, size_t max_chars);

struct http_engine;

typedef void (*http_done_fn)(const struct http_response *resp, void *userdata);

struct http_engine *http_engine_new(sd_event *event);
/* Aborts in-flight transfers without calling their callbacks. */
void http_engine_free(struct http_engine *h);

/* Starts a request (ownership of req's contents is taken). `done` is called
 * exactly once from the event loop, never from inside this call. */
void http_engine_submit(struct http_engine *h, struct http_request *req, http_done_fn done, void *userdata);
size_t http_engine_inflight(const struct http_engine *h);
/* When the oldest request in flight was submitted (monotonic usec), or 0
 * when none is: the daemon's watchdog stops vouching for a loop whose
 * requests hang. */
uint64_t http_engine_oldest_usec(const struct http_engine *h);

/* Told about every finished request submitted through an observed engine
 * (metrics: latency per target), just before its done callback. */
typedef void (*http_observe_fn)(void *ud, const struct http_response *resp);

/* A view of h that sends on h's loop and connections and also reports
 * each request's answer to observe(ud, resp). Free it with
 * http_engine_free (requests in flight stay h's, and are still observed:
 * ud must outlive h's transfers) before h. Its inflight count is h's. */
struct http_engine *http_engine_observed(struct http_engine *h, http_observe_fn observe, void *ud);

#endif
