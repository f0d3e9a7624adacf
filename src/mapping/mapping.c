#include "config.h"

#include "mapping/mapping.h"
#include "mapping/regex.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mapping_field {
	char *name;
	struct mexpr *expr;
	const struct field_schema *schema;	/* the driver's, or &own */
	/* The driver's schema tightened by the operator's rule, when there
	 * is one; its pattern and enum values are owned here. */
	struct field_schema own;
	struct mregex *pattern;
	char *pattern_src;
	char **enum_values;
};

struct mapping {
	const struct field_schema *schema;
	size_t n_schema;
	bool open_schema;
	struct mapping_field *fields;
	size_t n, cap;
	int key_index;
	/* Field indexes sorted by name: the hash must not change when an
	 * operator reorders the lines of a map. */
	size_t *hash_order;
	struct hasher *hasher;
};

static const struct field_schema open_field = { .name = NULL, .type = FT_ANY };
static const struct field_schema open_secret_field = { .name = NULL, .type = FT_ANY, .flags = FIELD_SECRET };

struct mapping *mapping_new(const struct field_schema *fields, size_t n_fields, bool open_schema)
{
	struct mapping *m = XNEW(struct mapping);
	m->schema = fields;
	m->n_schema = n_fields;
	m->open_schema = open_schema;
	m->key_index = -1;
	m->hasher = hasher_new();
	return m;
}

void mapping_free(struct mapping *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->fields[i].name);
		mexpr_free(m->fields[i].expr);
		mregex_free(m->fields[i].pattern);
		free(m->fields[i].pattern_src);
		strv_free(m->fields[i].enum_values);
	}
	free(m->fields);
	free(m->hash_order);
	hasher_free(m->hasher);
	free(m);
}

static const struct field_schema *mapping_schema_field(const struct mapping *m, const char *name)
{
	for (size_t i = 0; i < m->n_schema; i++)
		if (strcmp(m->schema[i].name, name) == 0)
			return &m->schema[i];
	return NULL;
}

static int mapping_find(const struct mapping *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int mapping_cmp_order(const void *a, const void *b, void *ud)
{
	const struct mapping *m = ud;
	return strcmp(m->fields[*(const size_t *)a].name, m->fields[*(const size_t *)b].name);
}

int mapping_add_field(struct mapping *m, const char *name, struct mexpr *expr, char **err)
{
	const struct field_schema *fs = mapping_schema_field(m, name);
	*err = NULL;
	if (!fs && !m->open_schema) {
		struct sbuf sb;
		sbuf_init(&sb);
		sbuf_addf(&sb, "unknown field '%s' (this driver's fields are:", name);
		for (size_t i = 0; i < m->n_schema; i++)
			sbuf_addf(&sb, " %s", m->schema[i].name);
		sbuf_addch(&sb, ')');
		*err = sbuf_detach(&sb, NULL);
		sbuf_release(&sb);
		mexpr_free(expr);
		return -EINVAL;
	}
	if (mapping_find(m, name) >= 0) {
		*err = xasprintf("field '%s' is mapped twice", name);
		mexpr_free(expr);
		return -EINVAL;
	}
	xgrow((void **)&m->fields, &m->cap, m->n, sizeof(*m->fields));
	m->fields[m->n++] = (struct mapping_field){
		.name = xstrdup(name), .expr = expr, .schema = fs ? fs : &open_field,
	};
	m->hash_order = xreallocarray(m->hash_order, m->n, sizeof(size_t));
	for (size_t i = 0; i < m->n; i++)
		m->hash_order[i] = i;
	qsort_r(m->hash_order, m->n, sizeof(size_t), mapping_cmp_order, m);
	return 0;
}

int mapping_set_key(struct mapping *m, const char *field, char **err)
{
	int i = mapping_find(m, field);
	*err = NULL;
	if (i < 0) {
		*err = xasprintf("key field '%s' is not mapped", field);
		return -EINVAL;
	}
	if (m->fields[i].schema->flags & FIELD_SECRET) {
		*err = xasprintf("key field '%s' is a secret field", field);
		return -EINVAL;
	}
	m->key_index = i;
	return 0;
}

int mapping_set_secret(struct mapping *m, const char *field, char **err)
{
	int i = mapping_find(m, field);
	*err = NULL;
	if (!m->open_schema) {
		*err = xstrdup("this driver's schema already says which fields are secret");
		return -EINVAL;
	}
	if (i < 0) {
		*err = xasprintf("secret field '%s' is not mapped", field);
		return -EINVAL;
	}
	if (i == m->key_index) {
		*err = xasprintf("the key field '%s' cannot be secret", field);
		return -EINVAL;
	}
	if (m->fields[i].schema == &m->fields[i].own)
		m->fields[i].own.flags |= FIELD_SECRET;
	else
		m->fields[i].schema = &open_secret_field;
	return 0;
}

static bool enum_contains(const char *const *values, const char *s);

static const char *field_type_name(enum field_type t)
{
	switch (t) {
	case FT_STRING: return "string";
	case FT_INT: return "integer";
	case FT_BOOL: return "boolean";
	case FT_STRING_LIST: return "list of strings";
	case FT_ANY: return "any";
	}
	return "?";
}

int mapping_constrain_field(struct mapping *m, const char *name, const struct field_rule *rule, char **err)
{
	int i = mapping_find(m, name);
	*err = NULL;
	if (i < 0) {
		*err = xasprintf("field '%s' is not mapped", name);
		return -EINVAL;
	}
	struct mapping_field *f = &m->fields[i];
	struct field_schema fs = *f->schema;
	if (rule->set_type) {
		if (fs.type != FT_ANY && fs.type != rule->type) {
			*err = xasprintf("the driver sends '%s' as a %s; its type cannot be changed", name,
					 field_type_name(fs.type));
			return -EINVAL;
		}
		fs.type = rule->type;
	}
	/* Text rules on an untyped field would otherwise never run: they
	 * make it a string field. */
	bool text_rules = rule->pattern || rule->min_chars || rule->max_chars || rule->enum_values;
	if (fs.type == FT_ANY && text_rules)
		fs.type = FT_STRING;
	if (text_rules && (fs.type == FT_INT || fs.type == FT_BOOL)) {
		*err = xasprintf("min_length, max_length, pattern and enum apply to text, and '%s' is %s field",
				 name, fs.type == FT_INT ? "an integer" : "a boolean");
		return -EINVAL;
	}
	if (rule->max_chars) {
		if (fs.max_chars && rule->max_chars > fs.max_chars) {
			*err = xasprintf("max_length %zu is more than the driver allows for '%s' (%zu)", rule->max_chars,
					 name, fs.max_chars);
			return -EINVAL;
		}
		fs.max_chars = rule->max_chars;
	}
	if (rule->min_chars) {
		if (fs.max_chars && rule->min_chars > fs.max_chars) {
			*err = xasprintf("min_length %zu is more than the maximum length of '%s' (%zu)", rule->min_chars,
					 name, fs.max_chars);
			return -EINVAL;
		}
		fs.min_chars = rule->min_chars > fs.min_chars ? rule->min_chars : fs.min_chars;
	}
	if (rule->required)
		fs.flags |= FIELD_REQUIRED;
	if (rule->pattern) {
		struct mregex *re = mregex_compile(rule->pattern, strlen(rule->pattern), err);
		if (!re)
			return -EINVAL;
		mregex_free(f->pattern);
		free(f->pattern_src);
		f->pattern = re;
		f->pattern_src = xstrdup(rule->pattern);
		fs.pattern = re;
		fs.pattern_src = f->pattern_src;
	}
	if (rule->enum_values) {
		for (const char *const *v = rule->enum_values; *v; v++)
			if (fs.enum_values && !enum_contains(fs.enum_values, *v)) {
				*err = xasprintf("enum value '%s' is not one the driver accepts for '%s'", *v, name);
				return -EINVAL;
			}
		size_t n = 0;
		while (rule->enum_values[n])
			n++;
		char **copy = xcalloc(n + 1, sizeof(char *));
		for (size_t k = 0; k < n; k++)
			copy[k] = xstrdup(rule->enum_values[k]);
		strv_free(f->enum_values);
		f->enum_values = copy;
		fs.enum_values = (const char *const *)copy;
	}
	f->own = fs;
	f->schema = &f->own;
	return 0;
}

const char *mapping_key_field(const struct mapping *m)
{
	return m->key_index >= 0 ? m->fields[m->key_index].name : NULL;
}

void mapping_foreach_missing_required(const struct mapping *m, void (*fn)(const char *, void *), void *ud)
{
	for (size_t i = 0; i < m->n_schema; i++)
		if ((m->schema[i].flags & FIELD_REQUIRED) && mapping_find(m, m->schema[i].name) < 0)
			fn(m->schema[i].name, ud);
}

void mapping_foreach_attr(const struct mapping *m, void (*fn)(const char *, void *), void *ud)
{
	for (size_t i = 0; i < m->n; i++)
		mexpr_foreach_attr(m->fields[i].expr, fn, ud);
}

struct mapping_reads_ctx {
	const char *attr;
	bool found;
};

static void mapping_reads_one(const char *attr, void *ud)
{
	struct mapping_reads_ctx *rc = ud;
	rc->found = rc->found || strcasecmp(attr, rc->attr) == 0;
}

bool mapping_field_reads(const struct mapping *m, const char *field, const char *attr)
{
	int i = mapping_find(m, field);
	struct mapping_reads_ctx rc = { attr, false };
	if (i >= 0)
		mexpr_foreach_attr(m->fields[i].expr, mapping_reads_one, &rc);
	return rc.found;
}

const char *mapping_field_name(const struct mapping *m, size_t i)
{
	return m->fields[i].name;
}

size_t mapping_field_count(const struct mapping *m)
{
	return m->n;
}

static void reason_add(struct sbuf *reasons, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reason_add(struct sbuf *reasons, const char *field, const char *fmt, ...)
{
	if (reasons->len)
		sbuf_addstr(reasons, "; ");
	sbuf_addf(reasons, "%s: ", field);
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(reasons, fmt, ap);
	va_end(ap);
}

static char *quoted(const struct mval *v)
{
	struct sbuf sb;
	sbuf_init(&sb);
	mval_append_quoted(v, &sb);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

/* A list with one element is taken as that element: LDAP attributes are
 * multi-valued even where the directory holds one value. */
static char *describe_value(const struct field_schema *fs, const struct mval *orig);

static const struct mval *single(const struct field_schema *fs, const struct mval *v, const char *field,
				 struct sbuf *reasons)
{
	if (v->type != MV_ARRAY)
		return v;
	if (v->u.arr.n == 1)
		return &v->u.arr.items[0];
	if (v->u.arr.n == 0)
		return NULL;
	char *what = describe_value(fs, v);
	reason_add(reasons, field, "got %zu values where one is expected (use first or join): %s", v->u.arr.n,
		   what);
	free(what);
	return NULL;
}

static bool parse_int_text(const char *s, long long *out)
{
	char *end;
	while (*s == ' ')
		s++;
	if (!*s)
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	while (*end == ' ')
		end++;
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* "value \"...\"" for reasons; secret values are never echoed, not even
 * there (reasons reach logs and the state database). Caller frees. */
static char *describe_value(const struct field_schema *fs, const struct mval *orig)
{
	if (fs->flags & FIELD_SECRET)
		return xstrdup("value");
	char *q = quoted(orig);
	char *d = xasprintf("value %s", q);
	free(q);
	return d;
}

static bool enum_contains(const char *const *values, const char *s)
{
	for (; *values; values++)
		if (strcmp(*values, s) == 0)
			return true;
	return false;
}

static char *enum_list(const char *const *values)
{
	struct sbuf sb;
	sbuf_init(&sb);
	for (; *values; values++)
		sbuf_addf(&sb, "%s%s", sb.len ? ", " : "", *values);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static json_object *check_int(const struct field_schema *fs, const char *field, long long v, struct sbuf *reasons)
{
	if ((fs->flags & FIELD_RANGE) && (v < fs->min_value || v > fs->max_value)) {
		reason_add(reasons, field, "value %lld is out of range (%lld to %lld)", v, fs->min_value,
			   fs->max_value);
		return NULL;
	}
	return json_object_new_int64(v);
}

static json_object *check_string(const struct field_schema *fs, const char *field, const char *s, size_t len,
				 const struct mval *orig, struct sbuf *reasons)
{
	size_t chars = utf8_length(s, len);
	char *what = NULL;
	int matched;

	if (fs->max_chars && chars > fs->max_chars) {
		what = describe_value(fs, orig);
		reason_add(reasons, field, "%s is %zu characters long, the maximum is %zu", what, chars,
			   fs->max_chars);
	} else if (fs->min_chars && chars < fs->min_chars) {
		what = describe_value(fs, orig);
		reason_add(reasons, field, "%s is %zu characters long, the minimum is %zu", what, chars,
			   fs->min_chars);
	} else if (fs->check && !fs->check(s, len)) {
		what = describe_value(fs, orig);
		reason_add(reasons, field, "%s does not match the required format (%s)", what, fs->check_desc);
	} else if (fs->pattern && (matched = mregex_match(fs->pattern, s, len)) != 1) {
		what = describe_value(fs, orig);
		if (matched == -EFBIG)
			reason_add(reasons, field, "%s is over %u bytes, too long for the pattern %s", what,
				   MREGEX_MAX_SUBJECT, fs->pattern_src);
		else if (matched < 0)
			reason_add(reasons, field, "%s: the pattern %s gave up on it (too much backtracking)", what,
				   fs->pattern_src);
		else
			reason_add(reasons, field, "%s does not match the pattern %s", what, fs->pattern_src);
	} else if (fs->enum_values && !enum_contains(fs->enum_values, s)) {
		what = describe_value(fs, orig);
		char *allowed = enum_list(fs->enum_values);
		reason_add(reasons, field, "%s is not one of: %s", what, allowed);
		free(allowed);
	} else {
		return json_object_new_string_len(s, (int)len);
	}
	free(what);
	return NULL;
}

static json_object *coerce_any(const struct mval *v)
{
	switch (v->type) {
	case MV_NULL: return NULL;
	case MV_STRING: return json_object_new_string_len(v->u.str.s, (int)v->u.str.len);
	case MV_INT: return json_object_new_int64(v->u.i);
	case MV_BOOL: return json_object_new_boolean(v->u.b);
	case MV_TIME: {
		struct sbuf sb;
		sbuf_init(&sb);
		mval_append_iso8601(v->u.i, &sb);
		json_object *j = json_object_new_string_len(sb.buf, (int)sb.len);
		sbuf_release(&sb);
		return j;
	}
	case MV_ARRAY: {
		json_object *a = json_object_new_array_ext((int)v->u.arr.n);
		for (size_t i = 0; i < v->u.arr.n; i++) {
			json_object *item = coerce_any(&v->u.arr.items[i]);
			json_object_array_add(a, item ? item : json_object_new_null());
		}
		return a;
	}
	}
	return NULL;
}

/* Converts v to the field's JSON type. Returns NULL when there is no value
 * (*missing set) or when it cannot be converted (a reason is added). */
static json_object *coerce(const struct field_schema *fs, const char *field, const struct mval *v,
			   struct sbuf *reasons, bool *missing)
{
	*missing = false;
	if (fs->type == FT_ANY) {
		/* As for typed fields, "" and [] are no value: never a key. */
		json_object *j = mval_is_empty(v) ? NULL : coerce_any(v);
		*missing = j == NULL;
		return j;
	}
	if (fs->type == FT_STRING_LIST) {
		if (v->type == MV_NULL || (v->type == MV_ARRAY && v->u.arr.n == 0)) {
			*missing = true;
			return NULL;
		}
		json_object *a = json_object_new_array();
		size_t n = v->type == MV_ARRAY ? v->u.arr.n : 1;
		for (size_t i = 0; i < n; i++) {
			const struct mval *item = v->type == MV_ARRAY ? &v->u.arr.items[i] : v;
			struct sbuf text;
			sbuf_init(&text);
			mval_append_text(item, &text, ",");
			json_object *s = check_string(fs, field, text.buf, text.len, item, reasons);
			sbuf_release(&text);
			if (!s) {
				json_object_put(a);
				return NULL;
			}
			json_object_array_add(a, s);
		}
		return a;
	}

	const struct mval *one = single(fs, v, field, reasons);
	if (!one) {
		*missing = v->type == MV_ARRAY && v->u.arr.n == 0;
		return NULL;
	}
	if (one->type == MV_NULL || (one->type == MV_STRING && one->u.str.len == 0)) {
		*missing = true;
		return NULL;
	}
	switch (fs->type) {
	case FT_STRING: {
		if (one->type == MV_STRING)
			return check_string(fs, field, one->u.str.s, one->u.str.len, one, reasons);
		struct sbuf text;
		sbuf_init(&text);
		mval_append_text(one, &text, ",");
		json_object *s = check_string(fs, field, text.buf, text.len, one, reasons);
		sbuf_release(&text);
		return s;
	}
	case FT_INT: {
		long long i;
		if (one->type == MV_INT)
			return check_int(fs, field, one->u.i, reasons);
		if (one->type == MV_STRING && parse_int_text(one->u.str.s, &i))
			return check_int(fs, field, i, reasons);
		break;
	}
	case FT_BOOL: {
		bool b;
		if (one->type == MV_BOOL)
			return json_object_new_boolean(one->u.b);
		if (one->type == MV_INT && (one->u.i == 0 || one->u.i == 1))
			return json_object_new_boolean(one->u.i == 1);
		if (one->type == MV_STRING && mval_parse_bool_text(one->u.str.s, one->u.str.len, &b))
			return json_object_new_boolean(b);
		break;
	}
	default:
		break;
	}
	char *what = describe_value(fs, one);
	if (one->type == MV_TIME && fs->type == FT_INT)
		reason_add(reasons, field, "%s is a time, not an integer (use unix_s or unix_ms)", what);
	else
		reason_add(reasons, field, "%s is not %s", what, fs->type == FT_INT ? "an integer" : "a boolean");
	free(what);
	return NULL;
}

static void mapping_hash(const struct mapping *m, json_object *payload, char out[HASH_SHA256_HEX_LEN + 1])
{
	struct sbuf sb;
	sbuf_init(&sb);
	for (size_t k = 0; k < m->n; k++) {
		const struct mapping_field *f = &m->fields[m->hash_order[k]];
		if (f->schema->flags & FIELD_SECRET)
			continue;
		json_object *v;
		if (!json_object_object_get_ex(payload, f->name, &v))
			continue;
		sbuf_addstr(&sb, f->name);
		sbuf_addch(&sb, '=');
		sbuf_addstr(&sb, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		sbuf_addch(&sb, '\n');
	}
	hasher_sha256_hex(m->hasher, sb.buf, sb.len, out);
	sbuf_release(&sb);
}

/* The bytes of text in a field's value: a string's length, or the sum
 * of a list's string items (nested lists are not made by the mapping). */
static size_t mapping_text_bytes(json_object *j)
{
	if (json_object_is_type(j, json_type_string))
		return (size_t)json_object_get_string_len(j);
	if (!json_object_is_type(j, json_type_array))
		return 0;
	size_t sum = 0;
	for (size_t k = 0; k < json_object_array_length(j); k++) {
		json_object *item = json_object_array_get_idx(j, k);
		if (json_object_is_type(item, json_type_string))
			sum += (size_t)json_object_get_string_len(item);
	}
	return sum;
}

/* True when s holds nothing but ASCII and Unicode white space (what JSON
 * consumers and the usual trim() functions strip). */
static bool mapping_blank(const char *s)
{
	size_t len = strlen(s), pos = 0;
	while (pos < len) {
		uint32_t c = utf8_next(s, len, &pos);
		if (!(c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
		      (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
		      c == 0x3000))
			return false;
	}
	return true;
}

/* Evaluates and coerces field f into *j, or appends "name: why" to *why. */
static void mapping_field_eval(const struct mapping *m, size_t i, const struct entry *e, json_object **j,
			       struct sbuf *why)
{
	const struct mapping_field *f = &m->fields[i];
	struct mval v = MVAL_NULL;
	char *err = NULL;
	*j = NULL;
	if (mexpr_eval(f->expr, e, &v, &err) < 0) {
		reason_add(why, f->name, "%s", err);
		free(err);
		return;
	}
	bool missing;
	*j = coerce(f->schema, f->name, &v, why, &missing);
	mval_clear(&v);
	size_t bytes = mapping_text_bytes(*j);
	if (bytes > MAPPING_MAX_FIELD_BYTES) {
		if (f->schema->flags & FIELD_SECRET)
			reason_add(why, f->name, "value is %zu bytes long, more than the %u one field may carry", bytes,
				   (unsigned)MAPPING_MAX_FIELD_BYTES);
		else if (json_object_is_type(*j, json_type_array))
			reason_add(why, f->name, "value (a list of %zu values) is %zu bytes long, more than the %u one "
				   "field may carry", json_object_array_length(*j), bytes,
				   (unsigned)MAPPING_MAX_FIELD_BYTES);
		else {
			/* The start of the value, cut on a character boundary. */
			const char *text = json_object_get_string(*j);
			size_t cut = utf8_prefix_bytes(text, strlen(text), 32);
			reason_add(why, f->name, "value \"%.*s...\" is %zu bytes long, more than the %u one field "
				   "may carry", (int)cut, text, bytes, (unsigned)MAPPING_MAX_FIELD_BYTES);
		}
		json_object_put(*j);
		*j = NULL;
		return;
	}
	/* A key of only white space names no one: APIs trim it to nothing
	 * and refuse it, or file every such entry under one member. */
	if (*j && (int)i == m->key_index && json_object_is_type(*j, json_type_string) &&
	    mapping_blank(json_object_get_string(*j))) {
		reason_add(why, f->name, "is the member key, but its value is only white space");
		json_object_put(*j);
		*j = NULL;
		return;
	}
	if (*j)
		return;
	if (missing && (f->schema->flags & FIELD_REQUIRED))
		reason_add(why, f->name, "required, but the mapping gives no value");
	else if (missing && (int)i == m->key_index)
		reason_add(why, f->name, "is the member key, but the mapping gives no value");
}

static int mapping_run(const struct mapping *m, const struct entry *e, unsigned flags, json_object *payload,
		       struct sbuf *reasons, void (*fn)(const struct mapping_field_result *r, void *ud), void *ud)
{
	struct sbuf why;
	sbuf_init(&why);
	for (size_t i = 0; i < m->n; i++) {
		const struct mapping_field *f = &m->fields[i];
		json_object *j;
		if ((flags & MAPPING_SKIP_SECRETS) && (f->schema->flags & FIELD_SECRET))
			continue;
		sbuf_reset(&why);
		mapping_field_eval(m, i, e, &j, &why);
		if (why.len) {
			if (reasons->len)
				sbuf_addstr(reasons, "; ");
			sbuf_add(reasons, why.buf, why.len);
		}
		if (fn) {
			bool secret = f->schema->flags & FIELD_SECRET;
			json_object *shown = j && secret ? json_object_new_string("********") : j;
			struct mapping_field_result r = {
				.name = f->name,
				.value = shown,
				/* Past the "name: " every reason starts with. */
				.reason = why.len ? why.buf + strlen(f->name) + 2 : NULL,
				.secret = secret,
				.key = (int)i == m->key_index,
			};
			fn(&r, ud);
			if (shown != j)
				json_object_put(shown);
		}
		if (j)
			json_object_object_add(payload, f->name, j);
	}
	sbuf_release(&why);
	return reasons->len ? -EINVAL : 0;
}

int mapping_apply(const struct mapping *m, const struct entry *e, struct mapped *out)
{
	return mapping_apply_ext(m, e, 0, out);
}

int mapping_apply_ext(const struct mapping *m, const struct entry *e, unsigned flags, struct mapped *out)
{
	struct sbuf reasons;
	json_object *payload = json_object_new_object();
	sbuf_init(&reasons);

	if (mapping_run(m, e, flags, payload, &reasons, NULL, NULL) < 0) {
		json_object_put(payload);
		out->reasons = sbuf_detach(&reasons, NULL);
		sbuf_release(&reasons);
		return -EINVAL;
	}
	sbuf_release(&reasons);
	if (m->key_index >= 0) {
		json_object *k;
		if (json_object_object_get_ex(payload, m->fields[m->key_index].name, &k))
			out->key = xstrdup(json_object_get_type(k) == json_type_string
						   ? json_object_get_string(k)
						   : json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN));
	}
	mapping_hash(m, payload, out->hash);
	out->payload = payload;
	return 0;
}

int mapping_explain(const struct mapping *m, const struct entry *e,
		    void (*fn)(const struct mapping_field_result *r, void *ud), void *ud)
{
	struct sbuf reasons;
	json_object *payload = json_object_new_object();
	sbuf_init(&reasons);
	int r = mapping_run(m, e, 0, payload, &reasons, fn, ud);
	json_object_put(payload);
	sbuf_release(&reasons);
	return r;
}

void mapped_clear(struct mapped *out)
{
	json_object_put(out->payload);
	free(out->key);
	free(out->reasons);
	memset(out, 0, sizeof(*out));
}

static bool mapping_field_secret(const struct mapping *m, const char *name)
{
	int i = mapping_find(m, name);
	return i >= 0 && (m->fields[i].schema->flags & FIELD_SECRET);
}

json_object *mapping_payload_public(const struct mapping *m, json_object *payload)
{
	json_object *o = json_object_new_object();
	json_object_object_foreach(payload, name, v) {
		if (!mapping_field_secret(m, name))
			json_object_object_add(o, name, json_object_get(v));
	}
	return o;
}

char *mapping_payload_redacted(const struct mapping *m, json_object *payload)
{
	json_object *copy = NULL;
	if (json_object_deep_copy(payload, &copy, NULL) < 0)
		abort();
	for (size_t i = 0; i < m->n; i++)
		if ((m->fields[i].schema->flags & FIELD_SECRET) &&
		    json_object_object_get_ex(copy, m->fields[i].name, NULL))
			json_object_object_add(copy, m->fields[i].name, json_object_new_string("********"));
	char *s = xstrdup(json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(copy);
	return s;
}
