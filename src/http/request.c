#include "config.h"

#include "http/encode.h"
#include "http/http.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/secret.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void http_request_init(struct http_request *req, const char *method, char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->connect_timeout_ms = 10000;
	req->timeout_ms = 30000;
	req->max_response = 1024 * 1024;
}

void http_request_add_header(struct http_request *req, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *h = xvasprintf(fmt, ap);
	va_end(ap);
	struct curl_slist *l = curl_slist_append(req->headers, h);
	free(h);
	if (!l)
		abort();
	req->headers = l;
}

void http_request_set_body(struct http_request *req, char *body, size_t len)
{
	free(req->body);
	req->body = body;
	req->body_len = len;
}

void http_request_clear(struct http_request *req)
{
	free(req->url);
	curl_slist_free_all(req->headers);
	free(req->body);
	memset(req, 0, sizeof(*req));
}

static char *http_excerpt(const char *b, size_t len, size_t max_chars)
{
	/* Masked before the cut: an API that quotes the key or token it
	 * refuses must not get it (or its first half) into logs and state. */
	size_t rlen;
	char *redacted = secret_redact(b, len, &rlen);
	if (redacted) {
		b = redacted;
		len = rlen;
	}
	struct sbuf sb;
	sbuf_init(&sb);
	bool text = utf8_valid(b, len);
	size_t cut = text ? utf8_prefix_bytes(b, len, max_chars) : (len < max_chars ? len : max_chars);
	for (size_t i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)b[i];
		if (c < 0x20 || c == 0x7f || (!text && c >= 0x80))
			sbuf_addf(&sb, "\\x%02x", c);
		else
			sbuf_addch(&sb, (char)c);
	}
	if (cut < len)
		sbuf_addf(&sb, "... (%zu bytes)", len);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	free(redacted);
	return s;
}

char *http_body_excerpt(const struct http_response *resp, size_t max_chars)
{
	return http_excerpt(resp->body ? resp->body : "", resp->body ? resp->body_len : 0, max_chars);
}

char *http_text_excerpt(const char *s, size_t max_chars)
{
	return http_excerpt(s ? s : "", s ? strlen(s) : 0, max_chars);
}

char *http_url_join(const char *base, const char *path)
{
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	while (*path == '/')
		path++;
	return xasprintf("%.*s/%s", (int)blen, base, path);
}

void http_request_add_query(struct http_request *req, const char *name, const char *value)
{
	char *n = encode_url_component(name, strlen(name));
	char *v = encode_url_component(value, strlen(value));
	char *url = xasprintf("%s%c%s=%s", req->url, strchr(req->url, '?') ? '&' : '?', n, v);
	free(req->url);
	req->url = url;
	free(n);
	free(v);
}
