/* Secrets (bind passwords, API keys) read from files or systemd credentials.
 * A secret never goes to argv, logs or the state cache; its memory is wiped
 * when freed. */
#ifndef MS_UTIL_SECRET_H
#define MS_UTIL_SECRET_H

#include <stddef.h>

struct secret {
	char *value;	/* NUL-terminated, no trailing newline */
	size_t len;
	char *path;	/* where it was read from, for messages */
};

/* Largest secret file accepted; anything bigger is not a password or key. */
#define SECRET_MAX_SIZE 65536

/* Reads the secret named by `path`:
 *  - an absolute path is read as is;
 *  - a relative path is looked up in $CREDENTIALS_DIRECTORY first (systemd
 *    LoadCredential=), then relative to `base_dir` (the config file's folder).
 * One trailing newline is stripped. Empty secrets, secrets with NUL, CR or LF
 * inside, and files over SECRET_MAX_SIZE are refused.
 * Returns 0 and *out (caller frees with secret_free), or -errno and *err
 * (caller frees) saying why. *world_readable is set when the file's mode lets
 * anyone read it (callers warn). */
int secret_read(const char *path, const char *base_dir, struct secret **out, char **err,
		int *world_readable);
/* Where secret_read looks for `path` (rules above), for secrets that a
 * library reads itself (TLS keys). Caller frees. */
char *secret_resolve(const char *path, const char *base_dir);
struct secret *secret_dup(const struct secret *s);
void secret_free(struct secret *s);

/* Every secret secret_read() returns is also noted here, and providers note
 * what they derive or are handed (tokens, Basic credentials): text from
 * outside, such as an API's answer that quotes the key it refuses, goes
 * through secret_redact() before it is logged or stored. Values shorter
 * than SECRET_NOTE_MIN_LEN are not noted (blanking them would garble
 * messages and hide little); the SECRET_NOTE_MAX most recent are kept
 * (tokens are renewed for as long as the daemon runs). Not thread-safe:
 * the daemon and the CLI are single-threaded. */
#define SECRET_NOTE_MIN_LEN 6
#define SECRET_NOTE_MAX 256
void secret_note(const char *value, size_t len);
/* A copy of text[0..len) with every noted secret replaced by "********"
 * and its length in *out_len (a NUL follows), or NULL when it holds none. */
char *secret_redact(const char *text, size_t len, size_t *out_len);

#endif
