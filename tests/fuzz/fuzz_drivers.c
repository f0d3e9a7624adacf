/* libFuzzer target for every driver's response classifier: each driver of
 * driver_list() (through a few targets each, so config variants such as
 * BabelBird's JSON mode, Comp AI's invites and the rest driver's rules are
 * covered), each op it supports, its multi-step journeys (lookups, id
 * resolution, invites), batched adds, and the token providers' answers
 * (DingTalk gettoken, BabelBird OAuth).
 *
 * Input format (text, read leniently so every mutation means something):
 *
 *   line 1       "TARGET OP [batch=N] [id=REMOTE_ID] [nopayload]"
 *                TARGET is a target name of the fixed config below (rb,
 *                api, ding, ops, bare, noid, dt, custom, mail, bb, bbjson,
 *                bbid, ca, inv, uk, dv, dvi, dvk, sc, ent, pt); any other
 *                word picks a target by its hash. OP is add, update,
 *                disable, enable, delete, lookup, or token (the target's
 *                auth token flow); an op the target does not support (or
 *                another word) means add. batch=N (1..4): N members are
 *                stepped to STEP_BATCH and sent as one batch, on drivers
 *                that batch. id= gives the member the remote id the state
 *                cache would have kept (ignored unless non-empty UTF-8,
 *                as every id a driver gives must be); nopayload makes it an entry gone
 *                from the directory (disable, delete).
 *   then         the answers, in the order requests are sent, separated by
 *                lines "--". Each answer is a status line
 *                "STATUS [ct=CONTENT-TYPE] [retry=SECONDS]" and the body
 *                (the rest, raw bytes, NUL included). STATUS is a number
 *                (0: no HTTP answer, a transport error) or "-" (no answer
 *                at all: the engine retries the step).
 *
 * The driver runs as the engine runs it: step() first without an answer,
 * then with each answer while it says STEP_SEND (STEP_WAIT: again without
 * one), at most MAX_STEPS steps; STEP_BATCH goes through build_batch and
 * classify_batch; drivers without step use build_add/classify_add. When
 * the answers run out the member is dropped, as on shutdown.
 *
 * Invariants: STEP_SEND fills a request with a method and a non-empty URL
 * (body_len 0 without a body); every finished member has a valid outcome
 * kind, a reason (if any) that is valid UTF-8, a remote id (if any) that is
 * non-empty valid UTF-8, and retry_after >= -1; a batch gives every member
 * an outcome; token answers return 0, -EAGAIN, -EACCES or another -errno
 * with a UTF-8 error text, and a token flow that succeeds lets
 * auth_apply() add credentials. No crash, no leak, no undefined
 * behaviour. A violation aborts with a description on stderr.
 *
 * Payloads are what the target's mapping gives for a fixed directory entry
 * (built once), so they respect the driver's schema as real ones do.
 * The runtime target (driver state, auth session) and the state database
 * (Devin's identity cache; in memory) are made afresh for each input.
 * Inputs over 64 KiB are ignored. */
#include "config.h"

#include "config/conf.h"
#include "ldap/entry.h"
#include "mapping/mapping.h"
#include "state/state.h"
#include "targets/target.h"
#include "util/utf8.h"
#include "util/xalloc.h"
#include "fuzz_util.h"
#include "../unit/driver_confs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_MAX_LEN 65536
#define MAX_STEPS 24
#define MAX_BATCH 4
#define NOW 1700000000

/* One or more targets per driver; every driver must appear (checked at
 * start-up against driver_list()). Those the driver unit tests load too
 * come from tests/unit/driver_confs.h. */
static const char *const conf_text =
	DRIVER_CONF_SOURCE
	"targets = (\n"
	/* rainbond; rest: statuses, rules, form, every op, lookups */
	DRIVER_CONF_RAINBOND_REST ",\n"
	/* dingtalk */
	" { name = \"dt\"; driver = \"dingtalk\"; url = \"http://127.0.0.1:9/dt/\";\n"
	"   auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\"; };\n"
	"   map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"2,3\"; userid = \"${uid}\";\n"
	"           title = \"${title}\"; email = \"${mail}\"; }; },\n"
	DRIVER_CONF_DINGTALK_CUSTOM ",\n"
	DRIVER_CONF_DINGTALK_MAIL ",\n"
	/* babelbird */
	" { name = \"bb\"; driver = \"babelbird\"; url = \"http://127.0.0.1:9/pan/\";\n"
	"   auth = { client_id = \"cid-1\"; client_secret_file = \"bb.secret\";\n"
	"            redirect_uri = \"https://ms.example/cb\"; };\n"
	"   map = { email = \"${mail}\"; password = \"${random_password(12)}\"; name = \"${cn}\";\n"
	"           department_ids = \"${departmentNumber[*]}\"; can_ownfile = -1;\n"
	"           phone = \"${mobile}\"; }; },\n"
	DRIVER_CONF_BABELBIRD_BBJSON ",\n"
	DRIVER_CONF_BABELBIRD_BBID ",\n"
	/* compai */
	" { name = \"ca\"; driver = \"compai\"; url = \"http://127.0.0.1:9/api/\";\n"
	"   auth = { key_file = \"ca.key\"; };\n"
	"   map = { email = \"${mail}\"; userId = \"${employeeType}\"; role = \"${businessCategory}\";\n"
	"           isActive = true; fleetDmLabelId = 7; jobTitle = \"${title}\"; }; },\n"
	DRIVER_CONF_COMPAI_INV ",\n"
	DRIVER_CONF_COMPAI_UK ",\n"
	/* devin */
	DRIVER_CONF_DEVIN_DV ",\n"
	DRIVER_CONF_DEVIN_DVI ",\n"
	" { name = \"dvk\"; driver = \"devin\"; url = \"http://127.0.0.1:9\"; org_id = \"org-k\"; key = \"user_id\";\n"
	"   org_role = \"org_member\"; auth = { key_file = \"devin.key\"; };\n"
	"   map = { email = \"${mail}\"; user_id = \"${employeeNumber}\"; group_names = \"${ou[*]}\"; }; },\n"
	/* scim */
	" { name = \"sc\"; driver = \"scim\"; url = \"http://127.0.0.1:9/scim/v2/\";\n"
	"   auth = { key_file = \"scim.token\"; };\n"
	"   map = { userName = \"${uid}\"; email = \"${mail}\"; givenName = \"${givenName}\";\n"
	"           familyName = \"${sn}\"; formattedName = \"${cn}\"; active = true;\n"
	"           password = \"${random_password(12)}\"; }; },\n"
	DRIVER_CONF_SCIM_ENT_HEAD
	"   map = { userName = \"${uid}\"; externalId = \"${employeeNumber}\"; department = \"${ou}\";\n"
	"           employeeNumber = \"${employeeNumber}\"; }; },\n"
	" { name = \"pt\"; driver = \"scim\"; url = \"http://127.0.0.1:9/scim/v2\"; update_method = \"patch\";\n"
	"   enterprise_extension = true; auth = { key_file = \"scim.token\"; };\n"
	"   map = { userName = \"${uid}\"; givenName = \"${givenName}\"; email = \"${mail}\"; active = true;\n"
	"           password = \"${random_password(12)}\"; department = \"${ou}\"; }; }\n"
	");\n";

static const char *const secret_files[] = {
	"rb.key", "rest.token", "dt.appkey", "dt.appsecret", "bb.secret", "ca.key", "devin.key", "scim.token",
};

/* A target and its members' payloads, mapped once. The runtime target
 * (driver state, auth session) and the state database are made afresh for
 * each input, so an input's outcome does not depend on the ones before. */
struct fz_target {
	struct target *t;	/* during an input */
	const struct conf_target *ct;
	char *payload_text[MAX_BATCH];
	char *key[MAX_BATCH];
};

static struct conf *conf;
static struct fz_target *targets;
static size_t n_targets;

static struct entry *member_entry(size_t i)
{
	char mail[64], uid[32], num[32];
	snprintf(mail, sizeof(mail), "j.doe%zu@example.org", i);
	snprintf(uid, sizeof(uid), "jdoe%zu", i);
	snprintf(num, sizeof(num), "10%zu7", i);
	struct entry *e = entry_new("uid=jdoe,ou=people,dc=x");
	entry_add(e, "uid", uid);
	entry_add(e, "mail", mail);
	entry_add(e, "cn", "J Doe");
	entry_add(e, "givenName", "J");
	entry_add(e, "sn", "Doe");
	entry_add(e, "mobile", "13800000001");
	entry_add(e, "title", "Engineer");
	entry_add(e, "ou", "eng");
	entry_add(e, "ou", "all");
	entry_add(e, "departmentNumber", "3");
	entry_add(e, "departmentNumber", "7");
	entry_add(e, "employeeNumber", num);
	entry_add(e, "employeeType", uid);
	entry_add(e, "businessCategory", "employee");
	return e;
}

static void drivers_free(void)
{
	for (size_t i = 0; i < n_targets; i++) {
		for (size_t k = 0; k < MAX_BATCH; k++) {
			free(targets[i].payload_text[k]);
			free(targets[i].key[k]);
		}
	}
	free(targets);
	targets = NULL;
	n_targets = 0;
	conf_free(conf);
	conf = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (conf)
		return 0;
	for (size_t i = 0; i < sizeof(secret_files) / sizeof(*secret_files); i++) {
		char *p = fuzz_write(secret_files[i], "fuzz-secret\n", 12);
		chmod(p, 0600);
		free(p);
	}
	char *path = fuzz_write("drivers.conf", conf_text, strlen(conf_text));
	struct diag *d = diag_new();
	int r = conf_load(path, &conf, d);
	diag_print(d, stderr);
	diag_free(d);
	free(path);
	if (r < 0)
		fuzz_fail("the fixed driver config does not load");

	/* Every registered driver is fuzzed. */
	for (const struct target_driver *const *dl = driver_list(); *dl; dl++) {
		bool found = false;
		for (size_t i = 0; i < conf->n_targets; i++)
			found |= conf->targets[i]->driver == *dl;
		if (!found)
			fuzz_fail("driver %s has no target in fuzz_drivers.c's config: add one", (*dl)->name);
	}

	n_targets = conf->n_targets;
	targets = xcalloc(n_targets, sizeof(*targets));
	for (size_t i = 0; i < n_targets; i++) {
		struct fz_target *ft = &targets[i];
		ft->ct = conf->targets[i];
		for (size_t k = 0; k < MAX_BATCH; k++) {
			struct entry *e = member_entry(k);
			struct mapped m = { 0 };
			if (mapping_apply(ft->ct->mapping, e, &m) < 0)
				fuzz_fail("target %s: the fixed entry does not map: %s", ft->ct->name,
					  m.reasons ? m.reasons : "?");
			ft->payload_text[k] =
				xstrdup(json_object_to_json_string_ext(m.payload, JSON_C_TO_STRING_PLAIN));
			ft->key[k] = xstrdup(m.key);
			mapped_clear(&m);
			entry_free(e);
		}
	}
	atexit(drivers_free);
	return 0;
}

/* ------------------------------------------------------------ the input */

struct answer {
	bool none;	/* "-": no answer at all */
	long status;
	long retry_after;
	char *content_type;
	char *body;	/* exactly body_len + 1 bytes, NUL-terminated */
	size_t body_len;
};

struct script {
	struct answer *answers;
	size_t n, next;
};

static const char *memmem_line(const char *p, const char *end, const char *sep, size_t seplen)
{
	for (const char *q = p; q + seplen <= end; q++)
		if (memcmp(q, sep, seplen) == 0)
			return q;
	return NULL;
}

/* The value of "name=..." among the words of line (NUL-terminated), or
 * NULL; *len is its length. */
static const char *word_value(const char *line, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = line; *p;) {
		p += strspn(p, " \t\r");
		size_t wl = strcspn(p, " \t\r");
		if (wl > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			*len = wl - nl - 1;
			return p + nl + 1;
		}
		if (!wl)
			break;
		p += wl;
	}
	return NULL;
}

static bool has_word(const char *line, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = line; *p;) {
		p += strspn(p, " \t\r");
		size_t wl = strcspn(p, " \t\r");
		if (wl == n && strncmp(p, w, n) == 0)
			return true;
		if (!wl)
			break;
		p += wl;
	}
	return false;
}

static void parse_answer(struct answer *a, const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *line_end = nl ? nl : end;
	char *line = xstrndup(p, (size_t)(line_end - p));
	const char *s = line + strspn(line, " \t");
	a->retry_after = -1;
	if (*s == '-') {
		a->none = true;
	} else {
		char *e;
		long st = strtol(s, &e, 10);
		/* No number: the common answer. Keep statuses in HTTP's range
		 * (and 0, no answer): curl gives nothing else. */
		a->status = e == s ? 200 : st < 0 ? -st % 1000 : st % 1000;
	}
	size_t len;
	const char *v = word_value(line, "ct", &len);
	if (v)
		a->content_type = xstrndup(v, len);
	v = word_value(line, "retry", &len);
	if (v) {
		char *tmp = xstrndup(v, len);
		long ra = strtol(tmp, NULL, 10);
		/* What http.c's Retry-After parser can give: -1 or >= 0. */
		a->retry_after = ra < 0 ? -1 : ra;
		free(tmp);
	}
	free(line);
	const char *body = nl ? nl + 1 : end;
	a->body_len = (size_t)(end - body);
	a->body = xmalloc(a->body_len + 1);
	memcpy(a->body, body, a->body_len);
	a->body[a->body_len] = '\0';
}

static void script_parse(struct script *s, const char *p, const char *end)
{
	static const char sep[] = "\n--\n";
	size_t cap = 0;
	while (p < end) {
		const char *q = memmem_line(p, end, sep, sizeof(sep) - 1);
		const char *stop = q ? q : end;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 8;
			s->answers = xrealloc(s->answers, cap * sizeof(*s->answers));
		}
		struct answer *a = &s->answers[s->n++];
		memset(a, 0, sizeof(*a));
		parse_answer(a, p, stop);
		if (!q)
			break;
		p = q + sizeof(sep) - 1;
	}
}

static void script_free(struct script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->answers[i].body);
		free(s->answers[i].content_type);
	}
	free(s->answers);
}

/* The next answer as an http_response in *resp, or false when none is
 * left. *is_null: the answer is "-" (no response at all). */
static bool script_next(struct script *s, struct http_response *resp, bool *is_null)
{
	if (s->next >= s->n)
		return false;
	struct answer *a = &s->answers[s->next++];
	*resp = (struct http_response){ .status = a->status, .retry_after = a->retry_after };
	*is_null = a->none;
	if (a->status == 0) {
		resp->error = (char *)"Connection refused";
		resp->curl_code = CURLE_COULDNT_CONNECT;
	}
	resp->body = a->body;
	resp->body_len = a->body_len;
	resp->content_type = a->content_type;
	return true;
}

/* ------------------------------------------------------------ checks */

static const char *cur_target = "?";

static void check_text(const char *what, const char *s, bool nonempty)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (nonempty && n == 0)
		fuzz_fail("%s: %s is empty", cur_target, what);
	if (!utf8_valid(s, n))
		fuzz_fail("%s: %s is not valid UTF-8: %s", cur_target, what, s);
}

static void check_outcome(const struct outcome *o, const char *where)
{
	if ((unsigned)o->kind > OUTCOME_SPLIT)
		fuzz_fail("%s: %s: outcome kind %d is not one of enum outcome_kind", cur_target, where, (int)o->kind);
	check_text("outcome reason", o->reason, false);
	check_text("outcome remote_id", o->remote_id, true);
	if (o->retry_after < -1)
		fuzz_fail("%s: %s: retry_after %ld", cur_target, where, o->retry_after);
	if (getenv("DRIVERS_FUZZ_VERBOSE"))
		fprintf(stderr, "  %s: %s reason=%s remote_id=%s retry_after=%ld\n", where, outcome_kind_name(o->kind),
			o->reason ? o->reason : "-", o->remote_id ? o->remote_id : "-", o->retry_after);
}

static void check_request(const struct http_request *req, const char *where)
{
	if (!req->method || !*req->method)
		fuzz_fail("%s: %s: a request without a method", cur_target, where);
	if (!req->url || !*req->url)
		fuzz_fail("%s: %s: a request without a URL", cur_target, where);
	if (!req->body && req->body_len)
		fuzz_fail("%s: %s: body_len %zu without a body", cur_target, where, req->body_len);
	if (getenv("DRIVERS_FUZZ_VERBOSE"))
		fprintf(stderr, "  %s: %s %s\n", where, req->method, req->url);
}

/* ------------------------------------------------------------ runs */

static struct push_item make_item(struct fz_target *ft, size_t k, enum push_op op, const char *remote_id,
				  bool payload)
{
	struct push_item it = { .op = op, .source_id = "src-id", .dn = "uid=jdoe,ou=people,dc=x",
				.key = ft->key[k], .hash = "0123456789abcdef" };
	if (payload) {
		it.payload_text = ft->payload_text[k];
		it.payload = json_tokener_parse(it.payload_text);
	}
	it.remote_id = remote_id ? xstrdup(remote_id) : NULL;
	return it;
}

static void item_clear(struct push_item *it)
{
	json_object_put(it->payload);
	free(it->remote_id);
	free(it->resolved_id);
	memset(it, 0, sizeof(*it));
}

/* A batch of the items that reached STEP_BATCH: build it, classify the
 * next answer. */
static void run_batch(struct fz_target *ft, struct push_item **items, size_t n, struct script *s)
{
	const struct target_driver *d = ft->ct->driver;
	if (!d->build_batch || !d->classify_batch)
		fuzz_fail("%s: STEP_BATCH from a driver without build_batch/classify_batch", cur_target);
	struct http_request req;
	http_request_init(&req, "GET", NULL);
	d->build_batch(ft->t, items, n, &req);
	check_request(&req, "build_batch");
	http_request_clear(&req);
	struct http_response resp;
	bool is_null;
	if (!script_next(s, &resp, &is_null) || is_null)
		return;
	struct outcome outs[MAX_BATCH];
	for (size_t i = 0; i < n; i++)
		outs[i] = (struct outcome){ .kind = (enum outcome_kind)-1, .retry_after = -1 };
	d->classify_batch(ft->t, &resp, items, n, outs);
	for (size_t i = 0; i < n; i++) {
		if (outs[i].kind == (enum outcome_kind)-1)
			fuzz_fail("%s: classify_batch left member %zu of %zu without an outcome", cur_target, i, n);
		check_outcome(&outs[i], "classify_batch");
		outcome_clear(&outs[i]);
	}
}

/* One member's journey. Returns true when it is waiting for a batch. */
static bool run_item(struct fz_target *ft, struct push_item *it, struct script *s, bool stop_at_batch)
{
	const struct target_driver *d = ft->ct->driver;
	const struct http_response *prev = NULL;
	struct http_response resp;

	if (!d->step) {
		struct http_request req;
		http_request_init(&req, "GET", NULL);
		d->build_add(ft->t, it, &req);
		check_request(&req, "build_add");
		http_request_clear(&req);
		bool is_null;
		if (!script_next(s, &resp, &is_null) || is_null)
			return false;
		struct outcome o = { .kind = (enum outcome_kind)-1, .retry_after = -1 };
		d->classify_add(ft->t, &resp, it, &o);
		check_outcome(&o, "classify_add");
		outcome_clear(&o);
		return false;
	}
	for (int n = 0; n < MAX_STEPS; n++) {
		struct http_request req;
		struct outcome o = { .kind = (enum outcome_kind)-1, .retry_after = -1 };
		bool creates = false, is_null = false;
		http_request_init(&req, "GET", NULL);
		enum step_result r = d->step(ft->t, it, prev, &req, &creates, &o);
		switch (r) {
		case STEP_SEND:
			check_request(&req, "step");
			http_request_clear(&req);
			outcome_clear(&o);
			if (!script_next(s, &resp, &is_null))
				return false;
			prev = is_null ? NULL : &resp;
			continue;
		case STEP_WAIT:
			http_request_clear(&req);
			outcome_clear(&o);
			prev = NULL;
			continue;
		case STEP_BATCH:
			http_request_clear(&req);
			outcome_clear(&o);
			if (it->op != OP_ADD || d->max_batch < 2)
				fuzz_fail("%s: STEP_BATCH for op %s on a driver with max_batch %u", cur_target,
					  push_op_name(it->op), d->max_batch);
			if (stop_at_batch)
				return true;
			{
				struct push_item *one = it;
				run_batch(ft, &one, 1, s);
			}
			return false;
		case STEP_DONE:
			http_request_clear(&req);
			check_outcome(&o, "step");
			outcome_clear(&o);
			return false;
		default:
			fuzz_fail("%s: step returned %d", cur_target, (int)r);
		}
	}
	return false;
}

/* The auth provider's token flow on the answers. */
static void run_token(struct fz_target *ft, struct script *s)
{
	struct auth_session *as = ft->t->auth;
	for (int n = 0; n < MAX_STEPS; n++) {
		struct http_request req;
		/* As the engine applies auth: to a built request, URL set. */
		http_request_init(&req, "GET", xstrdup(ft->ct->url));
		int r = auth_apply(as, &req, NOW);
		http_request_clear(&req);
		if (r == 0)
			return;
		if (r != -EAGAIN)
			fuzz_fail("%s: auth_apply returned %d", cur_target, r);
		http_request_init(&req, "GET", NULL);
		auth_token_request(as, ft->ct->url, NOW, &req);
		check_request(&req, "token_request");
		http_request_clear(&req);
		struct http_response resp;
		bool is_null;
		if (!script_next(s, &resp, &is_null) || is_null)
			return;
		char *err = NULL;
		long retry_after = -1;
		r = auth_token_answer(as, &resp, NOW, &err, &retry_after);
		check_text("token error", err, false);
		if (retry_after < -1)
			fuzz_fail("%s: token answer retry_after %ld", cur_target, retry_after);
		if (getenv("DRIVERS_FUZZ_VERBOSE"))
			fprintf(stderr, "  token_answer: %d %s\n", r, err ? err : "");
		free(err);
		if (r == 0) {
			http_request_init(&req, "GET", xstrdup(ft->ct->url));
			r = auth_apply(as, &req, NOW);
			http_request_clear(&req);
			if (r != 0)
				fuzz_fail("%s: the token flow succeeded but auth_apply returned %d", cur_target, r);
			break;
		}
		if (r > 0)
			fuzz_fail("%s: token_answer returned %d", cur_target, r);
		if (r != -EAGAIN)
			break;
	}
	/* Leave no token behind for the next input. */
	auth_invalidate(as);
}

static size_t pick_target(const char *name)
{
	for (size_t i = 0; i < n_targets; i++)
		if (strcmp(targets[i].ct->name, name) == 0)
			return i;
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % n_targets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_LEN)
		return 0;
	if (!conf)
		LLVMFuzzerInitialize(NULL, NULL);
	const char *p = (const char *)data, *end = p + size;
	const char *nl = memchr(p, '\n', size);
	char *header = xstrndup(p, (size_t)((nl ? nl : end) - p));
	/* A NUL in the header ends it, as in a C string. */
	char name[64] = "";
	char opname[16] = "";
	sscanf(header, "%63s %15s", name, opname);
	struct fz_target *ft = &targets[pick_target(name)];
	cur_target = ft->ct->name;
	const struct target_driver *d = ft->ct->driver;

	struct script s = { 0 };
	script_parse(&s, nl ? nl + 1 : end, end);
	struct state *st = NULL;
	char *err = NULL;
	if (state_open(":memory:", false, &st, &err) < 0)
		fuzz_fail("state_open(:memory:): %s", err ? err : "?");
	ft->t = target_new(ft->ct, st);

	if (strcmp(opname, "token") == 0) {
		run_token(ft, &s);
		goto out;
	}
	enum push_op op = OP_ADD;
	for (int o = 0; o < OP__COUNT; o++)
		if (strcmp(opname, push_op_name((enum push_op)o)) == 0 &&
		    (driver_ops(d, ft->ct->driver_conf) & OP_BIT(o)))
			op = (enum push_op)o;
	size_t idlen;
	const char *idv = word_value(header, "id", &idlen);
	char *remote_id = idv ? xstrndup(idv, idlen) : NULL;
	/* The state cache only keeps ids drivers gave (checked above as
	 * outcomes): non-empty UTF-8. */
	if (remote_id && (!*remote_id || !utf8_valid(remote_id, strlen(remote_id)))) {
		free(remote_id);
		remote_id = NULL;
	}
	bool payload = op == OP_ADD || !has_word(header, "nopayload");
	size_t batch = 1;
	const char *bv = word_value(header, "batch", &idlen);
	if (bv && op == OP_ADD && d->max_batch > 1) {
		batch = (size_t)(*bv - '0');
		batch = batch < 1 ? 1 : batch > MAX_BATCH ? MAX_BATCH : batch;
	}
	if (getenv("DRIVERS_FUZZ_VERBOSE"))
		fprintf(stderr, "target %s (%s) op %s batch %zu, %zu answers\n", cur_target, d->name, push_op_name(op),
			batch, s.n);

	struct push_item items[MAX_BATCH];
	if (batch == 1) {
		items[0] = make_item(ft, 0, op, remote_id, payload);
		run_item(ft, &items[0], &s, false);
		item_clear(&items[0]);
	} else {
		struct push_item *waiting[MAX_BATCH];
		size_t n_waiting = 0;
		for (size_t k = 0; k < batch; k++) {
			items[k] = make_item(ft, k, op, remote_id, payload);
			if (run_item(ft, &items[k], &s, true))
				waiting[n_waiting++] = &items[k];
		}
		if (n_waiting)
			run_batch(ft, waiting, n_waiting, &s);
		for (size_t k = 0; k < batch; k++)
			item_clear(&items[k]);
	}
	free(remote_id);
out:
	target_free(ft->t);
	ft->t = NULL;
	state_close(st);
	script_free(&s);
	free(header);
	return 0;
}
