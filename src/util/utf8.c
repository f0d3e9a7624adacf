#include "config.h"

#include "util/utf8.h"

bool utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		uint32_t cp, min;
		if ((c & 0xE0) == 0xC0) {
			need = 1; cp = c & 0x1F; min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2; cp = c & 0x0F; min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

size_t utf8_length(const char *str, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)str[i] & 0xC0) != 0x80)
			n++;
	return n;
}

uint32_t utf8_next(const char *str, size_t len, size_t *pos)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = *pos;
	unsigned char c = s[i];
	uint32_t cp;
	size_t need;
	if (c < 0x80) {
		*pos = i + 1;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		need = 1; cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		need = 2; cp = c & 0x0F;
	} else {
		need = 3; cp = c & 0x07;
	}
	for (size_t k = 1; k <= need && i + k < len; k++)
		cp = (cp << 6) | (s[i + k] & 0x3F);
	*pos = i + need + 1 > len ? len : i + need + 1;
	return cp;
}

size_t utf8_prefix_bytes(const char *str, size_t len, size_t max_chars)
{
	size_t chars = 0;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)str[i] & 0xC0) != 0x80) {
			if (chars == max_chars)
				return i;
			chars++;
		}
	}
	return len;
}

size_t utf8_char_bytes(const char *s, size_t len, size_t pos)
{
	size_t next = pos;
	utf8_next(s, len, &next);
	return next - pos;
}
