/* A double-ended queue of pointers (ring buffer), for work queues. */
#ifndef MS_UTIL_PTRQ_H
#define MS_UTIL_PTRQ_H

#include <stddef.h>

struct ptrq {
	void **items;
	size_t head, len, cap;
};

void ptrq_push_back(struct ptrq *q, void *p);
void ptrq_push_front(struct ptrq *q, void *p);
/* NULL when empty. */
void *ptrq_pop_front(struct ptrq *q);
void ptrq_release(struct ptrq *q);

#endif
