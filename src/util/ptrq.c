#include "config.h"

#include "util/ptrq.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static void ptrq_grow(struct ptrq *q)
{
	if (q->len < q->cap)
		return;
	size_t ncap = q->cap ? q->cap * 2 : 16;
	void **items = xcalloc(ncap, sizeof(void *));
	/* len <= cap, so cap is not 0 here; the test spares clang's analyzer
	 * a "% 0" it cannot rule out. */
	for (size_t i = 0; q->cap && i < q->len; i++)
		items[i] = q->items[(q->head + i) % q->cap];
	free(q->items);
	q->items = items;
	q->head = 0;
	q->cap = ncap;
}

void ptrq_push_back(struct ptrq *q, void *p)
{
	ptrq_grow(q);
	q->items[(q->head + q->len) % q->cap] = p;
	q->len++;
}

void ptrq_push_front(struct ptrq *q, void *p)
{
	ptrq_grow(q);
	q->head = (q->head + q->cap - 1) % q->cap;
	q->items[q->head] = p;
	q->len++;
}

void *ptrq_pop_front(struct ptrq *q)
{
	if (!q->len)
		return NULL;
	void *p = q->items[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return p;
}

void ptrq_release(struct ptrq *q)
{
	free(q->items);
	memset(q, 0, sizeof(*q));
}
