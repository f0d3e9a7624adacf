#include "config.h"

#include "util/base64.h"
#include "util/xalloc.h"

#include <openssl/evp.h>
#include <stdlib.h>

char *base64_encode(const void *data, size_t len, bool url, size_t *out_len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	if (n < 0)
		abort();
	if (url) {
		while (n > 0 && out[n - 1] == '=')
			n--;
		for (int i = 0; i < n; i++)
			if (out[i] == '+')
				out[i] = '-';
			else if (out[i] == '/')
				out[i] = '_';
	}
	out[n] = '\0';
	if (out_len)
		*out_len = (size_t)n;
	return out;
}
