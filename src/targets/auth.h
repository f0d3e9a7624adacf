/* Authentication providers. A target's `auth` group names a provider
 * (`type`, defaulted by the driver) and its settings. Static providers add
 * a secret to each request; token providers (DingTalk gettoken, BabelBird
 * OAuth) first fetch a token, which the push engine drives: apply() says
 * -EAGAIN, the engine sends token_request() and feeds the answer back with
 * token_answer(), possibly over several steps, then applies again.
 * Adding a provider is one file plus one line in auth.c. */
#ifndef MS_TARGETS_AUTH_H
#define MS_TARGETS_AUTH_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/cfgread.h"
#include "http/http.h"

/* What a driver's API expects when the config does not say. */
struct auth_defaults {
	const char *type;	/* "header", "bearer", "query", "dingtalk", "babelbird" */
	const char *header;	/* header providers: header name */
	const char *scheme;	/* header providers: "" sends the raw key */
	const char *param;	/* query provider: parameter name */
};

struct auth_provider {
	const char *type;
	const char *summary;
	const struct cfg_key *keys;	/* settings of the auth group besides `type` */
	/* Reads the group; reports problems to cc; NULL when there were any. */
	void *(*configure)(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
			   const char *config_dir, const struct auth_defaults *def);
	void (*free_config)(void *conf);
	/* Runtime state (a token cache); both NULL for static providers. */
	void *(*session_new)(const void *conf);
	void (*session_free)(void *session);
	/* Adds credentials to req: 0, or -EAGAIN when a token is needed. */
	int (*apply)(const void *conf, void *session, struct http_request *req, int64_t now);
	/* Token providers: the next request of the token flow, against the
	 * target's base URL. */
	void (*token_request)(const void *conf, void *session, const char *base_url, int64_t now,
			      struct http_request *req);
	/* 0: a token is ready; -EAGAIN: send token_request() again (next
	 * step); -EACCES: the credentials are refused; other: failed, worth
	 * another try later. *err (caller frees) says why; *retry_after (set
	 * to -1 by the caller) may name the seconds the API asks us to wait. */
	int (*token_answer)(const void *conf, void *session, const struct http_response *resp, int64_t now,
			    char **err, long *retry_after);
	/* The API refused the token: forget it (a refresh token may stay). */
	void (*invalidate)(const void *conf, void *session);
};

/* Built-in providers (one file each). */
extern const struct auth_provider auth_provider_header;
extern const struct auth_provider auth_provider_bearer;
extern const struct auth_provider auth_provider_query;
extern const struct auth_provider auth_provider_dingtalk;
extern const struct auth_provider auth_provider_babelbird;

/* The `auth` group keys every provider accepts. */
#define AUTH_TYPE_KEY { "type", CFG_T_STRING, 0 }

struct auth;

/* Reads the target's `auth` group with the provider it names (default
 * def->type). NULL when the group is absent (whether that is an error is
 * the driver's key table's business) or on errors (reported to cc). */
struct auth *auth_configure(const struct cfg_ctx *cc, const config_setting_t *target, const char *where,
			    const char *config_dir, const struct auth_defaults *def);
void auth_free(struct auth *a);
const char *auth_type(const struct auth *a);

struct auth_session;

/* Runtime state for one target; a NULL auth gives a session that adds
 * nothing. */
struct auth_session *auth_session_new(const struct auth *a);
void auth_session_free(struct auth_session *s);
int auth_apply(struct auth_session *s, struct http_request *req, int64_t now);
void auth_token_request(struct auth_session *s, const char *base_url, int64_t now, struct http_request *req);
int auth_token_answer(struct auth_session *s, const struct http_response *resp, int64_t now, char **err,
		      long *retry_after);
/* Forgets the token after the API refused it; true when the provider can
 * fetch a new one (retrying with a static key would not help). */
bool auth_invalidate(struct auth_session *s);

/* Helper for providers: reads `key_file` (or another secret-file key) of
 * group into *out; reports to cc. Returns 0 or -EINVAL. */
struct secret;
int auth_read_secret(const struct cfg_ctx *cc, const config_setting_t *group, const char *where, const char *key,
		     const char *config_dir, struct secret **out);

#endif
