#include "config.h"

#include "util/secret.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *secret_resolve(const char *path, const char *base_dir)
{
	if (path[0] == '/')
		return xstrdup(path);
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	if (creds && *creds) {
		char *p = xasprintf("%s/%s", creds, path);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	if (base_dir && *base_dir)
		return xasprintf("%s/%s", base_dir, path);
	return xstrdup(path);
}

int secret_read(const char *path, const char *base_dir, struct secret **out, char **err,
		int *world_readable)
{
	char *full = secret_resolve(path, base_dir);
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r = 0;
	struct stat st;

	*out = NULL;
	*err = NULL;
	if (world_readable)
		*world_readable = 0;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		*err = xasprintf("cannot open secret file %s: %s", full, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		*err = xasprintf("secret file %s is not a regular file", full);
		goto out;
	}
	if (world_readable)
		*world_readable = (st.st_mode & S_IROTH) != 0;
	if (st.st_size > SECRET_MAX_SIZE) {
		r = -EFBIG;
		*err = xasprintf("secret file %s is larger than %d bytes", full, SECRET_MAX_SIZE);
		goto out;
	}
	buf = xmalloc(SECRET_MAX_SIZE + 2);
	for (;;) {
		ssize_t n = read(fd, buf + len, SECRET_MAX_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			*err = xasprintf("cannot read secret file %s: %s", full, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SECRET_MAX_SIZE) {
			r = -EFBIG;
			*err = xasprintf("secret file %s is larger than %d bytes", full, SECRET_MAX_SIZE);
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		r = -EINVAL;
		*err = xasprintf("secret file %s is empty", full);
		goto out;
	}
	if (memchr(buf, '\0', len) || memchr(buf, '\n', len) || memchr(buf, '\r', len)) {
		r = -EINVAL;
		*err = xasprintf("secret file %s contains a NUL byte or a line break inside the secret", full);
		goto out;
	}
	struct secret *s = XNEW(struct secret);
	s->value = xmemdup(buf, len + 1);
	s->len = len;
	s->path = full;
	full = NULL;
	*out = s;
	secret_note(s->value, s->len);
out:
	if (buf) {
		OPENSSL_cleanse(buf, SECRET_MAX_SIZE + 2);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	free(full);
	return r;
}

struct secret *secret_dup(const struct secret *s)
{
	if (!s)
		return NULL;
	struct secret *d = XNEW(struct secret);
	d->value = xmemdup(s->value, s->len + 1);
	d->len = s->len;
	d->path = xstrdup(s->path);
	return d;
}

void secret_free(struct secret *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->value, s->len);
	free(s->value);
	free(s->path);
	free(s);
}

/* A ring of copies: the oldest goes (wiped) when a new one needs room. */
static struct {
	char *value;
	size_t len;
} secret_noted[SECRET_NOTE_MAX];
static size_t secret_noted_n, secret_noted_next;

void secret_note(const char *value, size_t len)
{
	if (!value || len < SECRET_NOTE_MIN_LEN)
		return;
	for (size_t i = 0; i < secret_noted_n; i++)
		if (secret_noted[i].len == len && memcmp(secret_noted[i].value, value, len) == 0)
			return;
	size_t slot;
	if (secret_noted_n < SECRET_NOTE_MAX) {
		slot = secret_noted_n++;
	} else {
		slot = secret_noted_next;
		secret_noted_next = (secret_noted_next + 1) % SECRET_NOTE_MAX;
		OPENSSL_cleanse(secret_noted[slot].value, secret_noted[slot].len);
		free(secret_noted[slot].value);
	}
	secret_noted[slot].value = xmemdup(value, len);
	secret_noted[slot].len = len;
}

/* text with every occurrence of one secret replaced; len updated. */
static char *secret_replace(const char *text, size_t *len, const char *v, size_t vlen)
{
	static const char mask[] = "********";
	char *out = xmalloc(*len / vlen * (sizeof(mask) - 1) + *len + 1);
	size_t o = 0, i = 0;
	const char *hit;
	while ((hit = memmem(text + i, *len - i, v, vlen))) {
		size_t k = (size_t)(hit - (text + i));
		memcpy(out + o, text + i, k);
		o += k;
		memcpy(out + o, mask, sizeof(mask) - 1);
		o += sizeof(mask) - 1;
		i += k + vlen;
	}
	memcpy(out + o, text + i, *len - i);
	o += *len - i;
	out[o] = '\0';
	*len = o;
	return out;
}

char *secret_redact(const char *text, size_t len, size_t *out_len)
{
	char *cur = NULL;	/* NULL while nothing was replaced */
	size_t n = len;
	for (size_t i = 0; i < secret_noted_n; i++) {
		const char *v = secret_noted[i].value;
		size_t vlen = secret_noted[i].len;
		if (!memmem(cur ? cur : text, n, v, vlen))
			continue;
		size_t before = n;
		char *next = secret_replace(cur ? cur : text, &n, v, vlen);
		if (cur) {
			/* It held other secrets, now masked, but also what surrounds
			 * them: wiped like any buffer that held a secret. */
			OPENSSL_cleanse(cur, before);
			free(cur);
		}
		cur = next;
	}
	if (cur)
		*out_len = n;
	return cur;
}
