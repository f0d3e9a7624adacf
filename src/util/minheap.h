/* A binary min-heap of (key, pointer), for "what is due next" timers. */
#ifndef MS_UTIL_MINHEAP_H
#define MS_UTIL_MINHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct minheap_entry {
	uint64_t key;
	void *value;
};

struct minheap {
	struct minheap_entry *e;
	size_t n, cap;
};

void minheap_push(struct minheap *h, uint64_t key, void *value);
/* false when empty. */
bool minheap_peek(const struct minheap *h, uint64_t *key);
/* The value with the smallest key, or NULL when empty. */
void *minheap_pop(struct minheap *h);
void minheap_release(struct minheap *h);

#endif
