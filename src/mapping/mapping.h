/* A target's mapping: one compiled expression per API field, checked and
 * coerced against the driver's schema, turned into the member payload the
 * driver sends and the hash the state cache compares. */
#ifndef MS_MAPPING_MAPPING_H
#define MS_MAPPING_MAPPING_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ldap/entry.h"
#include "mapping/expr.h"
#include "mapping/schema.h"
#include "util/hash.h"

struct mapping;

/* `fields` (static, from the driver) may be NULL with open_schema, which
 * accepts any field name with type FT_ANY. A mapping is used from one
 * thread at a time (it reuses its digest context). */
struct mapping *mapping_new(const struct field_schema *fields, size_t n_fields, bool open_schema);
void mapping_free(struct mapping *m);

/* Adds field `name` computed by `expr` (ownership taken, even on error).
 * Returns 0, or -EINVAL with *err (caller frees): unknown field for a fixed
 * schema (with the list of known ones), or a field mapped twice. */
int mapping_add_field(struct mapping *m, const char *name, struct mexpr *expr, char **err);
/* Names the field whose value identifies the member at the target.
 * Returns 0 or -EINVAL with *err when the field is not mapped. */
int mapping_set_key(struct mapping *m, const char *field, char **err);
const char *mapping_key_field(const struct mapping *m);
/* Open schemas: treats a mapped field as secret (sent, but never hashed,
 * logged, printed or stored). Returns 0, or -EINVAL with *err (caller
 * frees) when the field is not mapped or the schema is fixed. */
int mapping_set_secret(struct mapping *m, const char *field, char **err);
/* Operator rules that tighten a field's schema (the `fields` block of a
 * target). Zero/NULL members leave that part of the schema alone. Text
 * rules (lengths, pattern, enum) on an untyped field make it a string. */
struct field_rule {
	bool set_type;		/* open schemas only: the JSON type to send */
	enum field_type type;
	bool required;
	size_t min_chars, max_chars;	/* may tighten, never loosen, the driver's */
	const char *pattern;	/* PCRE2 regex; unanchored, as in JSON Schema */
	const char *const *enum_values;	/* NULL-terminated; copied */
};

/* Applies rule to mapped field `name`. Returns 0, or -EINVAL with *err
 * (caller frees): field not mapped, a type change on a fixed schema, a
 * limit looser than the driver's, a pattern that does not compile. */
int mapping_constrain_field(struct mapping *m, const char *name, const struct field_rule *rule, char **err);

/* Calls fn for each required schema field that has no expression. */
void mapping_foreach_missing_required(const struct mapping *m, void (*fn)(const char *field, void *ud),
				      void *ud);
/* Calls fn for each attribute any field reads (may repeat names). */
void mapping_foreach_attr(const struct mapping *m, void (*fn)(const char *attr, void *ud), void *ud);
size_t mapping_field_count(const struct mapping *m);
/* Name of field i (0 <= i < mapping_field_count), in config order. */
const char *mapping_field_name(const struct mapping *m, size_t i);
/* Whether field's expression reads attribute attr (case-insensitive). */
bool mapping_field_reads(const struct mapping *m, const char *field, const char *attr);

/* The most text one field may carry, in bytes (for a list, all its items
 * together). No API field needs more; a value over it is a directory
 * mistake (a photo, a pasted document) and the entry is invalid, rather
 * than sent at every cycle to an API that refuses it as too large. */
#define MAPPING_MAX_FIELD_BYTES 65536

struct mapped {
	json_object *payload;	/* fields in config order; NULL when invalid */
	char *key;		/* the key field's value as text */
	char hash[HASH_SHA256_HEX_LEN + 1];	/* over non-secret fields */
	char *reasons;		/* "field: why; field: why" when invalid */
};

/* Evaluates every field for entry e. Returns 0 with payload, key and hash
 * set, or -EINVAL with reasons set (every failing field, not just the
 * first). `out` must be zeroed or cleared; release with mapped_clear. */
int mapping_apply(const struct mapping *m, const struct entry *e, struct mapped *out);

enum mapping_apply_flag {
	/* Leave secret fields out: neither evaluated nor checked nor in the
	 * payload (the hash never covers them). For members the target
	 * already has: secrets go only with adds (updates leave them out,
	 * see mapping_payload_public), and evaluating them is not free
	 * (random_password draws from the system's DRBG). */
	MAPPING_SKIP_SECRETS = 1 << 0,
};

/* mapping_apply with MAPPING_* flags. */
int mapping_apply_ext(const struct mapping *m, const struct entry *e, unsigned flags, struct mapped *out);
void mapped_clear(struct mapped *out);

/* One field's outcome for mapping_explain: `value` (borrowed; secret fields
 * come as "********") or `reason`; both NULL when the field has no value
 * and needs none. */
struct mapping_field_result {
	const char *name;
	json_object *value;
	const char *reason;
	bool secret, key;
};

/* Evaluates every field for e like mapping_apply and calls fn once per
 * field in config order, for `membersync map` and --check-config. Returns
 * what mapping_apply would (0 or -EINVAL). */
int mapping_explain(const struct mapping *m, const struct entry *e,
		    void (*fn)(const struct mapping_field_result *r, void *ud), void *ud);

/* The payload without its secret fields (values shared with payload), for
 * updates: a password must not be reset on every change of a phone
 * number. Caller puts. */
json_object *mapping_payload_public(const struct mapping *m, json_object *payload);

/* The payload as JSON text with secret fields replaced by "********", for
 * --dry-run and logs. Caller frees. */
char *mapping_payload_redacted(const struct mapping *m, json_object *payload);

#endif
