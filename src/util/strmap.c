#include "config.h"

#include "util/strmap.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing: one flat array, no per-entry node,
 * which matters at a million keys. Without removal there are no tombstones,
 * so an empty slot always ends a probe. */
struct strmap_slot {
	char *key;	/* NULL: empty */
	void *value;
	uint64_t hash;	/* kept so that growing never rehashes and most mismatches skip strcmp */
};

/* Keys are copied into chunks, not allocated one by one: maps of every
 * entry's id and DN hold 100,000s of short keys, and a malloc per key
 * costs its header and rounding (37-byte UUID -> 48 bytes) and a call. There is
 * no removal, so a chunk is only ever freed with the map. */
struct strmap_chunk {
	struct strmap_chunk *next;
	size_t used, size;
	char data[];
};

#define STRMAP_CHUNK_SIZE (64 * 1024 - sizeof(struct strmap_chunk))
#define STRMAP_FIRST_CHUNK 256

struct strmap {
	struct strmap_slot *slots;
	size_t cap;	/* a power of two */
	size_t count;
	struct strmap_chunk *chunks;	/* the newest first */
};

#define STRMAP_MIN_CAP 16

/* FNV-1a, then a murmur3 finaliser: FNV's low bits alone cluster badly for
 * keys that differ only near the end ("uid=u000001,..."), and the slot index
 * is taken from the low bits. */
static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding key, or the empty slot where it belongs. */
static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
	}
}

struct strmap *strmap_new(void)
{
	struct strmap *m = XNEW(struct strmap);
	m->cap = STRMAP_MIN_CAP;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	while (m->chunks) {
		struct strmap_chunk *c = m->chunks;
		m->chunks = c->next;
		free(c);
	}
	free(m->slots);
	free(m);
}

static char *strmap_copy_key(struct strmap *m, const char *key)
{
	size_t len = strlen(key) + 1;
	struct strmap_chunk *c = m->chunks;
	if (!c || c->size - c->used < len) {
		/* Chunks double from a small one (most maps are small and
		 * short-lived); a long key gets a chunk of its own, behind
		 * the current one so that the current one keeps filling up. */
		size_t size = c ? c->size * 2 : STRMAP_FIRST_CHUNK;
		if (size > STRMAP_CHUNK_SIZE)
			size = STRMAP_CHUNK_SIZE;
		if (len > size / 4)
			size = len;
		struct strmap_chunk *n = xmalloc(sizeof(*n) + size);
		n->used = 0;
		n->size = size;
		if (c && size == len) {
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			m->chunks = n;
		}
		c = n;
	}
	char *k = c->data + c->used;
	memcpy(k, key, len);
	c->used += len;
	return k;
}

static void strmap_grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots;
	size_t old_cap = m->cap;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*strmap_find(m, old[i].key, old[i].hash) = old[i];
	free(old);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	return strmap_find(m, key, strmap_hash(key))->value;
}

bool strmap_contains(const struct strmap *m, const char *key)
{
	return strmap_find(m, key, strmap_hash(key))->key != NULL;
}

void strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = strmap_hash(key);
	struct strmap_slot *s = strmap_find(m, key, h);
	if (s->key) {
		s->value = value;
		return;
	}
	/* Past 3/4 full, linear probing's runs get long. */
	if ((m->count + 1) * 4 > m->cap * 3) {
		strmap_grow(m);
		s = strmap_find(m, key, h);
	}
	s->key = strmap_copy_key(m, key);
	s->value = value;
	s->hash = h;
	m->count++;
}

size_t strmap_count(const struct strmap *m)
{
	return m->count;
}

void strmap_foreach(const struct strmap *m, void (*fn)(const char *key, void *value, void *ud), void *ud)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			fn(m->slots[i].key, m->slots[i].value, ud);
}

char **strmap_keys(const struct strmap *m)
{
	char **keys = xcalloc(m->count + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			keys[n++] = xstrdup(m->slots[i].key);
	return keys;
}
