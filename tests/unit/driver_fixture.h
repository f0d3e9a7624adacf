/* Shared by the driver unit tests: a config loaded from text, and the
 * members, answers and requests they feed the drivers. */
#ifndef MS_TESTS_DRIVER_FIXTURE_H
#define MS_TESTS_DRIVER_FIXTURE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "config/conf.h"
#include "targets/target.h"
#include "unit.h"
#include "util/xalloc.h"

/* Loads the config at path (diagnostics printed); fails the test when it
 * does not load. */
static inline struct conf *fixture_load_path(const char *path)
{
	struct conf *c = NULL;
	struct diag *d = diag_new();
	int r = conf_load(path, &c, d);
	diag_print(d, stderr);
	diag_free(d);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	return c;
}

/* Loads `text` as dir/m.conf. */
static inline struct conf *fixture_load(const char *dir, const char *text)
{
	char *path = unit_write(dir, "m.conf", text, 0644);
	struct conf *c = fixture_load_path(path);
	free(path);
	return c;
}

static inline bool has_header(const struct http_request *req, const char *h)
{
	for (const struct curl_slist *l = req->headers; l; l = l->next)
		if (strcmp(l->data, h) == 0)
			return true;
	return false;
}

static inline struct push_item item(const char *key, const char *payload)
{
	struct push_item it = { .source_id = "id", .dn = "uid=a,dc=x", .key = key, .payload_text = payload };
	it.payload = json_tokener_parse(payload);
	return it;
}

/* A member the engine asks op of: remote_id the id the state cache kept
 * (NULL: none), payload NULL for an entry gone from the directory. */
static inline struct push_item op_item(enum push_op op, const char *key, const char *payload,
				       const char *remote_id)
{
	struct push_item it = { .source_id = "id", .dn = "uid=a,dc=x", .key = key };
	if (payload)
		it = item(key, payload);
	it.op = op;
	it.remote_id = remote_id ? xstrdup(remote_id) : NULL;
	return it;
}

static inline void item_clear(struct push_item *it)
{
	json_object_put(it->payload);
	free(it->remote_id);
	free(it->resolved_id);
}

/* Asserts the outcome's reason; when it differs, prints both and the line
 * (CUnit shows neither string). */
#define FIXTURE_EXPECT_REASON(o, want)                                                                   \
	do {                                                                                             \
		const char *got__ = (o)->reason, *want__ = (want);                                       \
		if (!got__ || strcmp(got__, want__) != 0)                                                \
			fprintf(stderr, "\n  line %d reason: %s\n  expected: %s\n", __LINE__,            \
				got__ ? got__ : "(none)", want__);                                       \
		CU_ASSERT_STRING_EQUAL(got__ ? got__ : "", want__);                                      \
	} while (0)

/* An answer with this status and body; status 0 is "no answer". */
static inline struct http_response response(long status, const char *body)
{
	struct http_response resp = { .status = status, .retry_after = -1 };
	if (status == 0)
		resp.error = "Connection refused";
	resp.body = (char *)(body ? body : "");
	resp.body_len = body ? strlen(body) : 0;
	return resp;
}

/* One step of the driver: status < 0 gives no answer (the first call, or
 * a retry). req and out are left as the driver filled them (caller
 * clears them); *creates starts false, as in the engine (may be NULL). */
static inline enum step_result fixture_step(struct target *t, struct push_item *it, long status, const char *body,
					    long retry_after, struct http_request *req, struct outcome *out,
					    bool *creates)
{
	struct http_response resp = response(status, body);
	bool c = false;
	resp.retry_after = retry_after;
	if (!creates)
		creates = &c;
	*creates = false;
	http_request_init(req, "GET", NULL);
	*out = (struct outcome){ .retry_after = -1 };
	return t->conf->driver->step(t, it, status < 0 ? NULL : &resp, req, creates, out);
}

#endif
