#include "config.h"

#include "util/minheap.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static void minheap_swap(struct minheap *h, size_t a, size_t b)
{
	struct minheap_entry t = h->e[a];
	h->e[a] = h->e[b];
	h->e[b] = t;
}

void minheap_push(struct minheap *h, uint64_t key, void *value)
{
	xgrow((void **)&h->e, &h->cap, h->n, sizeof(*h->e));
	size_t i = h->n++;
	h->e[i] = (struct minheap_entry){ key, value };
	while (i > 0 && h->e[(i - 1) / 2].key > h->e[i].key) {
		minheap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

bool minheap_peek(const struct minheap *h, uint64_t *key)
{
	if (!h->n)
		return false;
	*key = h->e[0].key;
	return true;
}

void *minheap_pop(struct minheap *h)
{
	if (!h->n)
		return NULL;
	void *v = h->e[0].value;
	h->e[0] = h->e[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->e[l].key < h->e[m].key)
			m = l;
		if (r < h->n && h->e[r].key < h->e[m].key)
			m = r;
		if (m == i)
			break;
		minheap_swap(h, i, m);
		i = m;
	}
	return v;
}

void minheap_release(struct minheap *h)
{
	free(h->e);
	memset(h, 0, sizeof(*h));
}
