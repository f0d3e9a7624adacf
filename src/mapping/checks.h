/* Format checks for field schemas, shared by drivers. Each takes UTF-8
 * text and its length. */
#ifndef MS_MAPPING_CHECKS_H
#define MS_MAPPING_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

/* local@domain.tld: one '@', non-empty local part, a dot inside the domain,
 * no spaces or control characters. Deliberately lenient: the API decides. */
bool check_email(const char *s, size_t len);

#endif
