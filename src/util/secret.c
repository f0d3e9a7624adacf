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
