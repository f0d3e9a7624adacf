/* Static header authentication: a key read from a secret file sent in one
 * header, raw ("Authorization: <key>", Rainbond) or with a scheme
 * ("Authorization: Bearer <key>"), or under another name ("X-API-Key"). */
#ifndef MS_TARGETS_AUTH_H
#define MS_TARGETS_AUTH_H

#include <libconfig.h>

#include "config/cfgread.h"
#include "http/http.h"

struct auth_header;

/* Keys of the `auth` group understood here. */
extern const struct cfg_key auth_header_keys[];

/* Reads `auth = { key_file = "..."; header = "..."; scheme = "..."; }` from
 * the target group, with the driver's defaults for header and scheme
 * (scheme "" = the raw key). Reports problems to cc; NULL on error or when
 * the group is absent (the driver's key table decides if that is wrong). */
struct auth_header *auth_header_configure(const struct cfg_ctx *cc, const config_setting_t *target,
					  const char *where, const char *config_dir,
					  const char *default_header, const char *default_scheme);
void auth_header_free(struct auth_header *a);
void auth_header_apply(const struct auth_header *a, struct http_request *req);

#endif
