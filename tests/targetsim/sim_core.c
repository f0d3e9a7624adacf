/*
 * HTTP plumbing shared by every simulated API: body collection, dispatch,
 * latency, rate limits, fault injection, stats and the request log.
 */
#include "sim.h"

#include <json-c/printbuf.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct sim_api *const sim_apis[] = {
	&sim_api_rainbond,
	&sim_api_rest,
	&sim_api_dingtalk,
	&sim_api_babelbird,
	&sim_api_compai,
	&sim_api_devin,
	&sim_api_scim,
	NULL,
};

/* ------------------------------------------------------------------ */
/* allocation */

static void oom(void)
{
	fputs("targetsim: out of memory\n", stderr);
	abort();
}

void *sim_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *sim_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *sim_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		oom();
	return p;
}

char *sim_xstrdup(const char *s)
{
	return sim_xstrndup(s, strlen(s));
}

char *sim_xstrndup(const char *s, size_t n)
{
	char *p = sim_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------------ */
/* time */

uint64_t sim_now_ms(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_MONOTONIC with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t sim_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t sim_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ */
/* hash map: open addressing with linear probing and backward-shift
 * deletion, so lookups stay O(1) in load tests with many members. */

static uint64_t map_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ull;
	}
	return h;
}

void sim_map_init(struct sim_map *map)
{
	map->slots = NULL;
	map->cap = 0;
	map->len = 0;
}

void sim_map_clear(struct sim_map *map)
{
	for (size_t i = 0; i < map->cap; i++)
		free(map->slots[i].key);
	free(map->slots);
	sim_map_init(map);
}

static size_t map_find(const struct sim_map *map, const char *key, uint64_t h)
{
	size_t mask = map->cap - 1;
	size_t i = h & mask;

	while (map->slots[i].key) {
		if (map->slots[i].hash == h && strcmp(map->slots[i].key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static void map_grow(struct sim_map *map)
{
	struct sim_map_slot *old = map->slots;
	size_t old_cap = map->cap;

	map->cap = old_cap ? old_cap * 2 : 16;
	map->slots = sim_xcalloc(map->cap, sizeof(*map->slots));
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].key) {
			size_t j = map_find(map, old[i].key, old[i].hash);

			map->slots[j] = old[i];
		}
	}
	free(old);
}

void *sim_map_get(const struct sim_map *map, const char *key)
{
	size_t i;

	if (!map->cap)
		return NULL;
	i = map_find(map, key, map_hash(key));
	return map->slots[i].key ? map->slots[i].value : NULL;
}

void sim_map_put(struct sim_map *map, const char *key, void *value)
{
	uint64_t h = map_hash(key);
	size_t i;

	if ((map->len + 1) * 10 > map->cap * 7)
		map_grow(map);
	i = map_find(map, key, h);
	if (!map->slots[i].key) {
		map->slots[i].key = sim_xstrdup(key);
		map->slots[i].hash = h;
		map->len++;
	}
	map->slots[i].value = value;
}

void sim_map_del(struct sim_map *map, const char *key)
{
	size_t mask, i, j;

	if (!map->cap)
		return;
	mask = map->cap - 1;
	i = map_find(map, key, map_hash(key));
	if (!map->slots[i].key)
		return;
	free(map->slots[i].key);
	map->len--;
	/* Pull later members of the probe chain back so no lookup stops
	 * early at the hole. */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!map->slots[j].key)
			break;
		home = map->slots[j].hash & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			map->slots[i] = map->slots[j];
			i = j;
		}
	}
	map->slots[i].key = NULL;
	map->slots[i].value = NULL;
	map->slots[i].hash = 0;
}

/* ------------------------------------------------------------------ */
/* UTF-8 */

int sim_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t avail, n;
	uint32_t c, min;

	if (*pos >= len)
		return -EILSEQ;
	avail = len - *pos;
	if (p[0] < 0x80) {
		*cp = p[0];
		*pos += 1;
		return 0;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return -EILSEQ;
	}
	if (avail < n)
		return -EILSEQ;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -EILSEQ;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EILSEQ;
	*cp = c;
	*pos += n;
	return 0;
}

int sim_utf8_count(const char *s, size_t len, size_t *count)
{
	size_t pos = 0, n = 0;
	uint32_t cp;

	while (pos < len) {
		if (sim_utf8_next(s, len, &pos, &cp) < 0)
			return -EILSEQ;
		n++;
	}
	*count = n;
	return 0;
}

char *sim_utf8_sanitize(const char *s, size_t len, size_t *out_len)
{
	/* Worst case every byte becomes a 3-byte U+FFFD. */
	char *out = sim_xmalloc(len * 3 + 1);
	size_t pos = 0, o = 0;
	uint32_t cp;

	while (pos < len) {
		size_t start = pos;

		if (sim_utf8_next(s, len, &pos, &cp) == 0) {
			memcpy(out + o, s + start, pos - start);
			o += pos - start;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			pos = start + 1;
		}
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}

/* ------------------------------------------------------------------ */
/* JSON */

int sim_json_parse(const char *buf, size_t len, json_object **out)
{
	json_tokener *tok;
	json_object *obj;
	int ret = -EINVAL;

	*out = NULL;
	if (len >= INT32_MAX)
		return -EINVAL;
	tok = json_tokener_new_ex(SIM_JSON_MAX_DEPTH);
	if (!tok)
		oom();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* Including the terminating NUL tells the tokener the input is
	 * complete, so a bare top-level number is accepted. */
	obj = json_tokener_parse_ex(tok, buf, (int)len + 1);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		goto out;
	}
	/* A NUL inside the body ends parsing early; what follows it is
	 * garbage, not the end of the document. */
	if (json_tokener_get_parse_end(tok) < len) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
			if (!strchr(" \t\r\n", buf[i]) || buf[i] == '\0') {
				json_object_put(obj);
				goto out;
			}
		}
	}
	*out = obj;
	ret = 0;
out:
	json_tokener_free(tok);
	return ret;
}

const char *sim_item_id(const char *path, const char *prefix)
{
	const char *id = path + strlen(prefix);

	if (*id != '/' || !id[1] || strchr(id + 1, '/'))
		return NULL;
	return id + 1;
}

const char *sim_json_string(json_object *obj, const char *name, size_t *len)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* ------------------------------------------------------------------ */
/* requests and replies */

const char *sim_request_query(const struct sim_request *req, const char *name)
{
	const char *v;

	if (!req->conn)
		return NULL;
	v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
	if (v)
		return v;
	/* MHD reports "?flag" (no '=') as present with a NULL value. */
	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
					  name, strlen(name), NULL, NULL) == MHD_YES)
		return "";
	return NULL;
}

const char *sim_request_header(const struct sim_request *req, const char *name)
{
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static void reply_clear(struct sim_reply *reply)
{
	free(reply->content_type);
	free(reply->body);
	for (size_t i = 0; i < reply->n_headers; i++) {
		free(reply->headers[i].name);
		free(reply->headers[i].value);
	}
	memset(reply, 0, sizeof(*reply));
}

int sim_reply_text(struct sim_reply *reply, unsigned int status,
		   const char *content_type, const char *body, size_t len)
{
	reply_clear(reply);
	reply->status = status;
	reply->content_type = sim_xstrdup(content_type);
	reply->body = sim_xstrndup(body ? body : "", body ? len : 0);
	reply->body_len = body ? len : 0;
	return 0;
}

int sim_reply_json(struct sim_reply *reply, unsigned int status, json_object *obj)
{
	size_t len;
	const char *s;

	s = json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s) {
		sim_reply_text(reply, status, SIM_JSON_CT, s, len);
	} else {
		/* only past json-c's 2 GiB printbuf limit */
		static const char msg[] = "{\"error\":\"response too large to serialise\"}";

		sim_reply_text(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, SIM_JSON_CT,
			       msg, sizeof(msg) - 1);
	}
	json_object_put(obj);
	return 0;
}

int sim_reply_empty(struct sim_reply *reply, unsigned int status)
{
	/* Even an empty answer says what it is; the real servers do too. */
	return sim_reply_text(reply, status, SIM_JSON_CT, NULL, 0);
}

int sim_reply_error(struct sim_reply *reply, unsigned int status, const char *msg)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "error", json_object_new_string(msg));
	return sim_reply_json(reply, status, obj);
}

void sim_reply_header(struct sim_reply *reply, const char *name, const char *value)
{
	if (reply->n_headers >= SIM_REPLY_MAX_HEADERS)
		return;
	reply->headers[reply->n_headers].name = sim_xstrdup(name);
	reply->headers[reply->n_headers].value = sim_xstrdup(value);
	reply->n_headers++;
}

/* ------------------------------------------------------------------ */
/* faults */

void sim_fault_free(struct sim_fault *fault)
{
	if (!fault)
		return;
	free(fault->api);
	free(fault->method);
	free(fault->key);
	free(fault->body);
	free(fault->content_type);
	json_object_put(fault->headers);
	free(fault);
}

void sim_faults_clear(struct sim *sim)
{
	while (sim->faults) {
		struct sim_fault *f = sim->faults;

		sim->faults = f->next;
		sim_fault_free(f);
	}
}

static bool opt_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

void sim_fault_add(struct sim *sim, struct sim_fault *fault)
{
	struct sim_fault **pp = &sim->faults;

	while (*pp) {
		struct sim_fault *f = *pp;

		if (strcmp(f->api, fault->api) == 0 &&
		    opt_str_eq(f->method, fault->method) &&
		    opt_str_eq(f->key, fault->key)) {
			*pp = f->next;
			sim_fault_free(f);
			continue;
		}
		pp = &f->next;
	}
	if (fault->remaining == 0) {
		/* count 0 only cancels an earlier fault with these filters */
		sim_fault_free(fault);
		return;
	}
	fault->next = sim->faults;
	sim->faults = fault;
}

/* How an answer reaches the client; a fault may change it. */
struct delivery {
	unsigned int delay_ms;
	unsigned int slow_bps;
	bool reset;
};

/* splitmix64: tiny, and good enough to decide which request fails. */
static uint64_t fault_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Consumes one use of the first fault that matches and fires; the caller
 * gets a detached copy of what to do, since the fault may be used up. A
 * fault that lets the request pass, by skip or by chance, leaves it to
 * the older ones: each is a layer of its own. */
static bool fault_take(struct sim *sim, const struct sim_api *api,
		       const char *method, const char *key, size_t key_len,
		       struct sim_reply *reply, struct delivery *how, bool *handle)
{
	struct sim_fault **pp;

	for (pp = &sim->faults; *pp; pp = &(*pp)->next) {
		struct sim_fault *f = *pp;

		if (strcmp(f->api, "*") != 0 && strcmp(f->api, api->name) != 0)
			continue;
		if (f->method && strcmp(f->method, method) != 0)
			continue;
		if (f->key && (!key || strlen(f->key) != key_len ||
			       memcmp(f->key, key, key_len) != 0))
			continue;
		if (f->skip > 0) {
			f->skip--;
			continue;
		}
		/* 53 random bits make a uniform double in [0, 1). */
		if (f->rate >= 0 &&
		    (double)(fault_rand(&f->rng) >> 11) * 0x1.0p-53 >= f->rate)
			continue;
		if (!f->handle) {
			sim_reply_text(reply, f->status, f->content_type, f->body,
				       strlen(f->body));
			if (f->headers) {
				json_object_object_foreach(f->headers, name, val)
					sim_reply_header(reply, name, json_object_get_string(val));
			}
		}
		how->delay_ms = f->delay_ms;
		how->slow_bps = f->slow_bps;
		how->reset = f->reset;
		*handle = f->handle;
		if (f->remaining > 0 && --f->remaining == 0) {
			*pp = f->next;
			sim_fault_free(f);
		}
		return true;
	}
	return false;
}

json_object *sim_faults_dump(const struct sim *sim)
{
	json_object *arr = json_object_new_array();

	for (const struct sim_fault *f = sim->faults; f; f = f->next) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "api", json_object_new_string(f->api));
		json_object_object_add(o, "method", f->method ?
			json_object_new_string(f->method) : NULL);
		json_object_object_add(o, "key", f->key ?
			json_object_new_string(f->key) : NULL);
		json_object_object_add(o, "skip", json_object_new_int64(f->skip));
		json_object_object_add(o, "remaining", json_object_new_int64(f->remaining));
		if (f->handle) {
			json_object_object_add(o, "handle", json_object_new_boolean(1));
		} else if (!f->reset) {
			json_object_object_add(o, "status", json_object_new_int((int)f->status));
		}
		/* The seed is shown even when it was picked at random, so a
		 * failure seen once can be replayed. */
		if (f->rate >= 0) {
			json_object_object_add(o, "rate", json_object_new_double(f->rate));
			json_object_object_add(o, "seed", json_object_new_uint64(f->seed));
		}
		if (f->delay_ms)
			json_object_object_add(o, "delay_ms", json_object_new_int64(f->delay_ms));
		if (f->reset)
			json_object_object_add(o, "reset", json_object_new_boolean(1));
		if (f->slow_bps)
			json_object_object_add(o, "slow_bytes_per_s",
					       json_object_new_int64(f->slow_bps));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* ------------------------------------------------------------------ */
/* stats and log */

/* What stats_record() needs to know beyond method, route and path. */
struct outcome {
	int api;		/* index into sim_apis[], or -1 */
	uint64_t arrival_ms;
	int64_t arrival_us;	/* sim_wall_us() */
	unsigned int status;	/* 0: dropped */
	const char *key;
	size_t key_len;
	bool throttled;
	bool fault;
};

static void log_append(struct sim *sim, const char *method, const char *path,
		       const struct outcome *out)
{
	struct sim_log_entry *e;

	if (sim->log_len >= SIM_LOG_CAP) {
		sim->log_dropped++;
		return;
	}
	if (sim->log_len == sim->log_cap) {
		sim->log_cap = sim->log_cap ? sim->log_cap * 2 : 256;
		if (sim->log_cap > SIM_LOG_CAP)
			sim->log_cap = SIM_LOG_CAP;
		sim->log = sim_xrealloc(sim->log, sim->log_cap * sizeof(*sim->log));
	}
	e = &sim->log[sim->log_len++];
	e->seq = sim->requests;
	e->t_ms = out->arrival_ms - sim->t0_ms;
	e->received_us = out->arrival_us;
	e->api = out->api;
	e->method = sim_utf8_sanitize(method, strlen(method), NULL);
	e->path = sim_utf8_sanitize(path, strlen(path), NULL);
	e->status = out->status;
	e->throttled = out->throttled;
	e->fault = out->fault;
	e->key = NULL;
	e->key_len = 0;
	if (out->key)
		e->key = sim_utf8_sanitize(out->key, out->key_len, &e->key_len);
}

static void stats_record(struct sim *sim, const char *method, const char *route,
			 const char *path, const struct outcome *out)
{
	size_t mlen = strlen(method), rlen = strlen(route);
	char *rkey = sim_xmalloc(mlen + 1 + rlen + 1);
	char *clean;
	char code[16];
	json_object *per_route, *count;

	sim->requests++;

	memcpy(rkey, method, mlen);
	rkey[mlen] = ' ';
	memcpy(rkey + mlen + 1, route, rlen + 1);
	/* The method is whatever the client sent; keep the JSON valid. */
	clean = sim_utf8_sanitize(rkey, strlen(rkey), NULL);
	free(rkey);
	if (!json_object_object_get_ex(sim->by_route, clean, &per_route)) {
		per_route = json_object_new_object();
		json_object_object_add(sim->by_route, clean, per_route);
	}
	free(clean);
	snprintf(code, sizeof(code), "%u", out->status);
	if (json_object_object_get_ex(per_route, code, &count))
		json_object_int_inc(count, 1);
	else
		json_object_object_add(per_route, code, json_object_new_int64(1));

	log_append(sim, method, path, out);
}

static void log_clear(struct sim *sim)
{
	for (size_t i = 0; i < sim->log_len; i++) {
		free(sim->log[i].method);
		free(sim->log[i].path);
		free(sim->log[i].key);
	}
	free(sim->log);
	sim->log = NULL;
	sim->log_len = 0;
	sim->log_cap = 0;
}

json_object *sim_stats_dump(const struct sim *sim)
{
	json_object *obj = json_object_new_object();
	json_object *routes = NULL;

	if (json_object_deep_copy(sim->by_route, &routes, NULL) < 0)
		oom();
	json_object_object_add(obj, "requests", json_object_new_uint64(sim->requests));
	json_object_object_add(obj, "log_dropped", json_object_new_uint64(sim->log_dropped));
	json_object_object_add(obj, "by_route", routes);
	json_object_object_add(obj, "throttled", sim_throttled_dump(sim));
	json_object_object_add(obj, "now_ms", json_object_new_uint64(sim_now_ms() - sim->t0_ms));
	return obj;
}

static json_object *log_entry_json(const struct sim_log_entry *e)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_uint64(e->seq));
	json_object_object_add(o, "t_ms", json_object_new_uint64(e->t_ms));
	json_object_object_add(o, "received_at", json_object_new_int64(e->received_us));
	json_object_object_add(o, "api", e->api >= 0 ?
		json_object_new_string(sim_apis[e->api]->name) : NULL);
	json_object_object_add(o, "method", json_object_new_string(e->method));
	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "status", json_object_new_int((int)e->status));
	json_object_object_add(o, "key", e->key ?
		json_object_new_string_len(e->key, (int)e->key_len) : NULL);
	json_object_object_add(o, "throttled", json_object_new_boolean(e->throttled));
	json_object_object_add(o, "fault", json_object_new_boolean(e->fault));
	return o;
}

struct log_view {
	const struct sim *sim;
	size_t from;
	size_t to;
};

/* json-c serializer for the log array: one entry object at a time, so
 * memory follows the size of the text rather than of a json-c tree with
 * millions of nodes. */
static int log_to_json(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const struct log_view *v = json_object_get_userdata(jso);

	if (printbuf_memappend(pb, "[", 1) < 0)
		return -1;
	for (size_t i = v->from; i < v->to; i++) {
		json_object *o = log_entry_json(&v->sim->log[i]);
		size_t len;
		const char *s = json_object_to_json_string_length(o, flags, &len);
		int rc;

		rc = (i > v->from) ? printbuf_memappend(pb, ",", 1) : 0;
		if (rc >= 0 && s && len < INT32_MAX)
			rc = printbuf_memappend(pb, s, (int)len);
		else
			rc = -1;
		json_object_put(o);
		if (rc < 0)
			return -1;
	}
	return printbuf_memappend(pb, "]", 1) < 0 ? -1 : 0;
}

json_object *sim_log_dump(const struct sim *sim, size_t from, size_t limit)
{
	json_object *arr = json_object_new_array();
	struct log_view *v = sim_xmalloc(sizeof(*v));

	v->sim = sim;
	v->from = from < sim->log_len ? from : sim->log_len;
	v->to = limit < sim->log_len - v->from ? v->from + limit : sim->log_len;
	json_object_set_serializer(arr, log_to_json, v, json_object_free_userdata);
	return arr;
}

/* ------------------------------------------------------------------ */
/* life cycle */

int sim_api_index(const char *name)
{
	for (int i = 0; sim_apis[i]; i++) {
		if (strcmp(sim_apis[i]->name, name) == 0)
			return i;
	}
	return -ENOENT;
}

/* The command line's rate limits and faults; main.c validated them. */
static void install_baseline(struct sim *sim)
{
	for (size_t i = 0; i < sim->cfg.n_ratelimits; i++) {
		const struct sim_ratelimit_spec *rl = &sim->cfg.ratelimits[i];

		sim_ratelimit_set(sim, rl->api, rl->limit, rl->window_ms);
	}
	/* In command-line order, so a later --fault wins like a later POST. */
	for (size_t i = 0; i < sim->cfg.n_faults; i++) {
		struct sim_fault *f;
		const char *err;

		if (sim_fault_from_json(sim->cfg.faults[i], &f, &err) == 0)
			sim_fault_add(sim, f);
	}
}

int sim_init(struct sim *sim, const struct sim_config *cfg)
{
	size_t n = 0;
	int rc;

	memset(sim, 0, sizeof(*sim));
	rc = pthread_mutex_init(&sim->lock, NULL);
	if (rc)
		return -rc;
	sim->cfg = *cfg;
	sim->latency_ms = cfg->latency_ms;
	sim->t0_ms = sim_now_ms();
	sim->by_route = json_object_new_object();
	while (sim_apis[n])
		n++;
	sim->api_state = sim_xcalloc(n, sizeof(*sim->api_state));
	for (size_t i = 0; i < n; i++)
		sim->api_state[i] = sim_apis[i]->state_new(sim);
	sim->ratelimits = sim_xcalloc(n, sizeof(*sim->ratelimits));
	install_baseline(sim);
	rc = sim_waits_start(&sim->waits);
	if (rc < 0) {
		sim_fini(sim);
		return rc;
	}
	return 0;
}

void sim_stop(struct sim *sim)
{
	sim_waits_stop(&sim->waits);
}

void sim_fini(struct sim *sim)
{
	sim_waits_fini(&sim->waits);
	for (size_t i = 0; sim_apis[i]; i++)
		sim_apis[i]->state_free(sim->api_state[i]);
	free(sim->api_state);
	sim_ratelimits_clear(sim);
	free(sim->ratelimits);
	sim_faults_clear(sim);
	log_clear(sim);
	json_object_put(sim->by_route);
	pthread_mutex_destroy(&sim->lock);
}

void sim_reset(struct sim *sim)
{
	for (size_t i = 0; sim_apis[i]; i++) {
		sim_apis[i]->reset(sim->api_state[i]);
		sim->ratelimits[i].throttled = 0;
	}
	sim_faults_clear(sim);
	sim_ratelimits_clear(sim);
	log_clear(sim);
	json_object_put(sim->by_route);
	sim->by_route = json_object_new_object();
	sim->requests = 0;
	sim->log_dropped = 0;
	/* A test that slowed things down must not slow down the next one;
	 * the command-line value is the baseline. */
	sim->latency_ms = sim->cfg.latency_ms;
	install_baseline(sim);
}

/* ------------------------------------------------------------------ */
/* HTTP */

/* Each slow chunk is what the rate earns in this long, so a slow body
 * trickles rather than arriving in one late burst. */
#define SLOW_TICK_MS 100
#define SLOW_BLOCK 1024

/* One per request, hung off MHD's con_cls. */
struct upload {
	char *buf;
	size_t len;
	size_t cap;
	bool too_large;
	bool answered;	/* refused early; MHD must not get a second reply */
	uint64_t arrival_ms;	/* sim_now_ms() when the headers were in */
	int64_t arrival_us;	/* sim_wall_us() at the same moment */
	bool waited;	/* the latency is behind us */
	bool decided;	/* reply and how hold the answer, due after how.delay_ms */
	struct sim_reply reply;
	struct delivery how;
};

static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int find_api(const char *path)
{
	for (int i = 0; sim_apis[i]; i++) {
		if (path_under(path, sim_apis[i]->path_prefix))
			return i;
	}
	return -ENOENT;
}

static struct MHD_Response *make_response(struct sim_reply *reply)
{
	struct MHD_Response *resp;

	if (reply->body_len) {
		resp = MHD_create_response_from_buffer(reply->body_len, reply->body,
						       MHD_RESPMEM_MUST_FREE);
		if (resp)
			reply->body = NULL;	/* MHD frees it now */
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	return resp;
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct sim_reply *reply,
				   struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				reply->content_type ? reply->content_type : SIM_JSON_CT);
	for (size_t i = 0; i < reply->n_headers; i++)
		MHD_add_response_header(resp, reply->headers[i].name, reply->headers[i].value);
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A body sent at a trickle: the "slow_bytes_per_s" fault. */
struct slow_body {
	struct sim_waits *waits;
	struct MHD_Connection *conn;
	char *buf;
	size_t len;
	unsigned int bps;
	uint64_t start_ms;
};

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct slow_body *sb = cls;
	size_t n = sb->bps / (1000 / SLOW_TICK_MS);
	uint64_t due;

	if (pos >= sb->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!n)
		n = 1;
	if (n > max)
		n = max;
	if (n > sb->len - pos)
		n = sb->len - pos;
	/* A chunk leaves once the rate has earned its last byte, so the whole
	 * body takes len / bps seconds after the headers. */
	due = sb->start_ms + ((pos + n) * 1000 + sb->bps - 1) / sb->bps;
	/* Zero means "ask again later"; only allowed with the connection
	 * suspended, or MHD spins. Once the simulator is stopping, the rest
	 * goes at full speed. */
	if (sim_now_ms() < due && sim_wait_until(sb->waits, sb->conn, due) == 0)
		return 0;
	memcpy(buf, sb->buf + pos, n);
	return (ssize_t)n;
}

static void slow_free(void *cls)
{
	struct slow_body *sb = cls;

	free(sb->buf);
	free(sb);
}

static struct MHD_Response *make_slow_response(struct sim *sim, struct MHD_Connection *conn,
					       struct sim_reply *reply, unsigned int bps)
{
	struct slow_body *sb;
	struct MHD_Response *resp;

	if (!reply->body_len)
		return make_response(reply);
	sb = sim_xcalloc(1, sizeof(*sb));
	sb->waits = &sim->waits;
	sb->conn = conn;
	sb->buf = reply->body;
	sb->len = reply->body_len;
	sb->bps = bps;
	sb->start_ms = sim_now_ms();
	resp = MHD_create_response_from_callback(sb->len, SLOW_BLOCK, slow_read, sb, slow_free);
	if (!resp) {
		free(sb);
		return NULL;
	}
	reply->body = NULL;	/* slow_free() frees it now */
	return resp;
}

/* The "reset" fault. MHD closes a connection whose handler says MHD_NO
 * without answering, but orderly: shutdown() first, so the client sees an
 * empty reply (FIN), and SO_LINGER cannot undo a FIN already sent.
 * Connecting a TCP socket to AF_UNSPEC makes Linux abort it with a RST
 * right here, which the client reads as "connection reset by peer"; MHD
 * then closes the disconnected descriptor it still owns. Where that
 * fails, the empty reply is the fallback. */
static enum MHD_Result drop_connection(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)connect(ci->connect_fd, &unspec, sizeof(unspec));
	return MHD_NO;
}

static enum MHD_Result deliver(struct sim *sim, struct MHD_Connection *conn,
			       struct upload *up)
{
	enum MHD_Result ret;

	if (up->how.reset)
		ret = drop_connection(conn);
	else if (up->how.slow_bps)
		ret = queue_reply(conn, &up->reply,
				  make_slow_response(sim, conn, &up->reply, up->how.slow_bps));
	else
		ret = queue_reply(conn, &up->reply, make_response(&up->reply));
	reply_clear(&up->reply);
	return ret;
}

static void throttle_reply(struct sim *sim, int idx, const struct sim_request *req,
			   unsigned int retry_after_s, struct sim_reply *reply)
{
	const struct sim_api *api = sim_apis[idx];
	char secs[16];

	if (api->throttle) {
		if (api->throttle(sim, sim->api_state[idx], req, retry_after_s, reply) < 0 ||
		    !reply->status)
			sim_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
		return;
	}
	sim_reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, "rate limit exceeded");
	snprintf(secs, sizeof(secs), "%u", retry_after_s);
	sim_reply_header(reply, "Retry-After", secs);
}

static void handle_api(struct sim *sim, const struct sim_request *req, struct upload *up)
{
	int idx = find_api(req->path);
	const struct sim_api *api = idx >= 0 ? sim_apis[idx] : NULL;
	struct sim_reply *reply = &up->reply;
	struct outcome out = { .api = idx, .arrival_ms = up->arrival_ms,
			       .arrival_us = up->arrival_us };
	const char *route = "*";
	unsigned int retry_after;
	bool handle = true;

	if (api) {
		const char *r = api->route(req);

		route = r ? r : "*";
		out.key = api->log_key(sim, req, &out.key_len);
	}

	pthread_mutex_lock(&sim->lock);
	if (up->too_large) {
		sim_reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	} else if (!api) {
		sim_reply_error(reply, MHD_HTTP_NOT_FOUND, "no such endpoint");
	} else if (!sim_ratelimit_admit(sim, idx, sim_now_ms(), &retry_after)) {
		/* The gateway in front: ahead of faults and the API itself. */
		out.throttled = true;
		throttle_reply(sim, idx, req, retry_after, reply);
	} else {
		out.fault = fault_take(sim, api, req->method, out.key, out.key_len,
				       reply, &up->how, &handle);
		if (handle && (api->handle(sim, sim->api_state[idx], req, reply) < 0 ||
			       !reply->status))
			sim_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	}
	out.status = up->how.reset ? 0 : reply->status;
	stats_record(sim, req->method, route, req->path, &out);
	pthread_mutex_unlock(&sim->lock);
}

/* Works out the answer into up->reply and up->how. */
static void decide(struct sim *sim, struct MHD_Connection *conn,
		   const char *url, const char *method, struct upload *up)
{
	struct sim_request req = {
		.method = method,
		.path = url,
		.conn = conn,
		.body = up->buf ? up->buf : "",
		.body_len = up->too_large ? 0 : up->len,
	};

	if (req.body_len && sim_json_parse(req.body, req.body_len, &req.json) < 0)
		req.json_error = true;
	if (!up->too_large &&
	    sim_form_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							      MHD_HTTP_HEADER_CONTENT_TYPE)) &&
	    sim_form_parse(req.body, req.body_len, &req.form) < 0)
		req.form_error = true;

	if (sim_control_path(url)) {
		pthread_mutex_lock(&sim->lock);
		if (up->too_large)
			sim_reply_error(&up->reply, MHD_HTTP_CONTENT_TOO_LARGE,
					"request body too large");
		else if (sim_control_handle(sim, &req, &up->reply) < 0 || !up->reply.status)
			sim_reply_error(&up->reply, MHD_HTTP_INTERNAL_SERVER_ERROR,
					"internal error");
		pthread_mutex_unlock(&sim->lock);
	} else {
		handle_api(sim, &req, up);
	}

	/* Outside the lock: a big tree takes a while to free. */
	json_object_put(req.json);
	json_object_put(req.form);
}

/* Called once the request is all in, and again after every wait: latency
 * first (before the API sees the request, like a slow network), then any
 * fault delay (after it, like a slow server). */
static enum MHD_Result answer(struct sim *sim, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      struct upload *up)
{
	if (!up->decided) {
		if (!up->waited && !up->answered && !sim_control_path(url)) {
			unsigned int latency;

			up->waited = true;
			pthread_mutex_lock(&sim->lock);
			latency = sim->latency_ms;
			pthread_mutex_unlock(&sim->lock);
			if (latency &&
			    sim_wait_until(&sim->waits, conn, sim_now_ms() + latency) == 0)
				return MHD_YES;
		}
		decide(sim, conn, url, method, up);
		up->decided = true;
		if (up->how.delay_ms &&
		    sim_wait_until(&sim->waits, conn, sim_now_ms() + up->how.delay_ms) == 0)
			return MHD_YES;
	}
	return deliver(sim, conn, up);
}

enum MHD_Result sim_access_handler(void *cls, struct MHD_Connection *conn,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct sim *sim = cls;
	struct upload *up = *con_cls;

	if (!up) {
		const char *cl;

		up = sim_xcalloc(1, sizeof(*up));
		up->arrival_ms = sim_now_ms();
		up->arrival_us = sim_wall_us();
		*con_cls = up;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			/* Refuse before the client uploads (and before MHD
			 * sends "100 Continue"); no latency, nothing to wait
			 * for once the answer is queued this early. */
			if (errno == ERANGE || (end != cl && n > sim->cfg.max_body)) {
				up->too_large = true;
				up->answered = true;
				return answer(sim, conn, url, method, up);
			}
		}
		return MHD_YES;
	}

	if (up->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (up->too_large)
			return MHD_YES;
		if (n > sim->cfg.max_body - up->len) {
			/* Chunked upload went over the limit: drop what we have
			 * and swallow the rest, answering once it is all in. */
			up->too_large = true;
			free(up->buf);
			up->buf = NULL;
			up->len = up->cap = 0;
			return MHD_YES;
		}
		if (up->len + n + 1 > up->cap) {
			size_t cap = up->cap ? up->cap : 4096;

			while (cap < up->len + n + 1)
				cap *= 2;
			up->buf = sim_xrealloc(up->buf, cap);
			up->cap = cap;
		}
		memcpy(up->buf + up->len, upload_data, n);
		up->len += n;
		up->buf[up->len] = '\0';
		return MHD_YES;
	}

	return answer(sim, conn, url, method, up);
}

void sim_request_completed(void *cls, struct MHD_Connection *conn,
			   void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (!up)
		return;
	/* Set when MHD gave up on the connection while it waited. */
	reply_clear(&up->reply);
	free(up->buf);
	free(up);
	*con_cls = NULL;
}

const char *sim_secret(const struct sim *sim, const char *name, const char *def)
{
	for (size_t i = 0; i < sim->cfg.n_secrets; i++)
		if (strcmp(sim->cfg.secrets[i].name, name) == 0)
			return sim->cfg.secrets[i].value;
	return def;
}
