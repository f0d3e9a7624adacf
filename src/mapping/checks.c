#include "config.h"

#include "mapping/checks.h"

#include <string.h>

bool check_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	if (!at || at == s || memchr(at + 1, '@', len - (size_t)(at + 1 - s)))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	const char *domain = at + 1;
	size_t dlen = len - (size_t)(domain - s);
	const char *dot = memchr(domain, '.', dlen);
	return dot && dot != domain && dot != s + len - 1;
}
