/* A driver's member schema: the fields its API takes, with the type and
 * limits the API enforces, so an entry the API would reject is skipped with
 * a precise reason before anything is sent. */
#ifndef MS_MAPPING_SCHEMA_H
#define MS_MAPPING_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

struct mregex;

enum field_type {
	FT_STRING,
	FT_INT,
	FT_BOOL,
	FT_STRING_LIST,
	FT_ANY,		/* whatever the expression yields (generic drivers) */
};

#define FIELD_REQUIRED 0x1u
/* Secret fields (initial passwords) are sent but never hashed, logged,
 * printed by --dry-run or stored: a new random password must not look
 * like a change. */
#define FIELD_SECRET 0x2u
/* Integer fields: min_value..max_value is enforced. */
#define FIELD_RANGE 0x4u

struct field_schema {
	const char *name;
	enum field_type type;
	unsigned flags;
	size_t min_chars, max_chars;	/* code points; 0 = no limit */
	/* Extra format rule for strings; NULL = none. */
	bool (*check)(const char *s, size_t len);
	const char *check_desc;		/* "letters, digits, '_', '-' ..." */
	/* Strings: the only values allowed (NULL-terminated), or NULL. */
	const char *const *enum_values;
	/* Integers with FIELD_RANGE. */
	long long min_value, max_value;
	/* An operator's pattern (the target's `fields` block), compiled when
	 * the config is loaded; drivers leave these NULL. */
	const struct mregex *pattern;
	const char *pattern_src;
};

#endif
