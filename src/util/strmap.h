/* A map from C strings to pointers, for indexes keyed by DNs, uids and
 * names. Keys are copied and owned by the map; values belong to the caller
 * and are never freed by the map. It grows by itself and stays O(1) per
 * lookup at millions of keys. There is no removal: every user builds a map,
 * queries it and frees it. */
#ifndef MS_UTIL_STRMAP_H
#define MS_UTIL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Frees the map and its keys, not the values (free those through
 * strmap_foreach first when the map holds the only pointers). NULL is a
 * no-op. */
void strmap_free(struct strmap *m);

/* The value stored under key, or NULL when there is none; a stored NULL
 * looks the same, strmap_contains tells them apart. */
void *strmap_get(const struct strmap *m, const char *key);
/* Stores value under a copy of key, replacing the value an earlier put
 * stored (the caller still owns that one). */
void strmap_put(struct strmap *m, const char *key, void *value);
bool strmap_contains(const struct strmap *m, const char *key);
/* Number of distinct keys. */
size_t strmap_count(const struct strmap *m);

/* A NULL-terminated copy of the keys, in strmap_foreach's order; free it
 * with strv_free. */
char **strmap_keys(const struct strmap *m);

/* Calls fn for every key, in no particular order (not insertion order;
 * sort the keys when the order shows). fn may change what the values point
 * to but must not put into m. */
void strmap_foreach(const struct strmap *m, void (*fn)(const char *key, void *value, void *ud), void *ud);

#endif
