/* libFuzzer target for the mapping language: the compiler (parse.c), the
 * evaluator (eval.c), every function of every fn_*.c table, lookup tables,
 * PCRE2 regexes, and the coercion of results against a driver schema
 * (mapping.c).
 *
 * Input format (one input = one expression and one directory entry):
 *
 *   line 1            The expression source: the bytes up to the first '\n'
 *                     (the whole input when there is none). A NUL byte ends
 *                     it, as it ends a config string.
 *   lines 2, 3, ...   Attribute values, one per line, raw bytes: NUL bytes,
 *                     '\r' and invalid UTF-8 are kept as they come. Line k
 *                     (k = 0 for line 2) goes to slot k % 8 of
 *                       uid cn mail mobile whenCreated group_dns department dn
 *                     so "${mail[*]}" sees lines 4, 12, 20, ... An empty
 *                     line is no value (LDAP has no empty values): it only
 *                     moves on to the next slot. The first value in the dn
 *                     slot is the entry's DN (a NUL ends it), later ones
 *                     are ignored; without one the DN is
 *                     "uid=fuzz,ou=people,dc=example,dc=org".
 *
 *   An empty first line selects "all functions" mode: every function the
 *   registry has (mfunc_foreach, so functions added to any fn_*.c table are
 *   covered without touching this file) is called with each arity it
 *   accepts (up to 4 arguments), as ${f(a0, a1, ...)} and again with
 *   uid[*] as a0. Argument i is the attribute of slot i (uid, cn, mail,
 *   mobile), or, where the function requires a literal (regexes, tables),
 *   value line i as a quoted string literal.
 *
 *   Environment for lookup(): tables "dept" (Engineering -> "ENG",
 *   Sales -> 42, HR -> true, Ops -> ["ops", "sre"], "" -> null) and
 *   "country" (DE -> "EU", US -> "NA").
 *
 * Per input: compile; on failure the error and column must be set (the
 * column within the source); on success evaluate twice (the result must be
 * a pure function of the entry: equal both times unless a
 * nondeterministic function is used or a regex gave up, which has a wall
 * clock deadline), and check the result: strings are
 * valid UTF-8 without NUL and NUL-terminated at their length, arrays
 * well-formed, types known; a failed evaluation returns -EINVAL with a
 * UTF-8 message and leaves null behind. Then the expression becomes the
 * key field of a fixed schema (string with limits, format check, enum,
 * ranged and plain int, bool, string lists, a secret, an any field) and of
 * an open schema, the value it gave fills every other field, and
 * mapping_apply must either give a payload, a hash and the key, or -EINVAL
 * with UTF-8 reasons. Everything is freed: LeakSanitizer stays quiet. A
 * violated invariant aborts with a description on stderr. (To fuzz past a
 * finding that is reported but not fixed yet, tolerate it where it is
 * checked with a comment marked KNOWN, and remove that with the fix.)
 *
 * Inputs over 64 KiB are ignored (run.sh passes -max_len=65536); nothing
 * else is capped: a slow or huge evaluation is a finding.
 *
 * With MAPPING_FUZZ_VERBOSE=1 in the environment each expression and the
 * outcome of its evaluation are printed to stderr (for writing seeds).
 *
 * LLVMFuzzerInitialize: with MAPPING_FUZZ_DICT=path in the environment it
 * writes a libFuzzer dictionary (the syntax's tokens, slot names, table
 * names and every registered function name) to path and exits; run.sh uses
 * it. */
#include "config.h"

#include "ldap/entry.h"
#include "mapping/checks.h"
#include "mapping/expr.h"
#include "mapping/functions.h"
#include "mapping/lookup.h"
#include "mapping/mapping.h"
#include "mapping/schema.h"
#include "mapping/value.h"
#include "util/sbuf.h"
#include "util/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAX_INPUT (64u * 1024u)
#define FUZZ_MAX_ARGS 4

static const char *const slots[] = {
	"uid", "cn", "mail", "mobile", "whenCreated", "group_dns", "department", "dn",
};
#define N_SLOTS (sizeof(slots) / sizeof(slots[0]))
#define DN_SLOT (N_SLOTS - 1)
#define DEFAULT_DN "uid=fuzz,ou=people,dc=example,dc=org"

/* Functions whose result legitimately differs between two evaluations
 * (substring match on the source: a false positive only skips a check). */
static const char *const nondeterministic[] = { "random_password", "now", "today" };

/* ------------------------------------------------------------ reporting */

static const char *cur_src; /* for failure reports */

static void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "\nfuzz_mapping: invariant violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  expression: %s\n", cur_src ? cur_src : "(none)");
	fflush(stderr);
	abort();
}

static bool verbose(void)
{
	static int v = -1;
	if (v < 0) {
		const char *s = getenv("MAPPING_FUZZ_VERBOSE");
		v = s && *s && strcmp(s, "0") != 0;
	}
	return v;
}

/* Text that reaches logs, the state database and JSON must be UTF-8. */
static void check_text(const char *what, const char *s)
{
	if (!s)
		fuzz_fail("%s is NULL", what);
	if (!utf8_valid(s, strlen(s)))
		fuzz_fail("%s is not valid UTF-8: %s", what, s);
}

/* ------------------------------------------------------------ the schema */

static const char *const roles[] = { "admin", "user", "guest", NULL };

static const struct field_schema schema[] = {
	{ .name = "userid", .type = FT_STRING, .flags = FIELD_REQUIRED, .min_chars = 1, .max_chars = 64 },
	{ .name = "name", .type = FT_STRING, .max_chars = 16 },
	{ .name = "email", .type = FT_STRING, .check = check_email, .check_desc = "an e-mail address" },
	{ .name = "role", .type = FT_STRING, .enum_values = roles },
	{ .name = "age", .type = FT_INT, .flags = FIELD_RANGE, .min_value = 0, .max_value = 150 },
	{ .name = "count", .type = FT_INT },
	{ .name = "active", .type = FT_BOOL },
	{ .name = "groups", .type = FT_STRING_LIST, .max_chars = 32 },
	{ .name = "roles", .type = FT_STRING_LIST, .enum_values = roles },
	{ .name = "password", .type = FT_STRING, .flags = FIELD_SECRET, .min_chars = 8, .max_chars = 128 },
	{ .name = "extra", .type = FT_ANY },
};
#define N_SCHEMA (sizeof(schema) / sizeof(schema[0]))

/* ------------------------------------------------------------ the environment */

static struct mlookups *make_lookups(void)
{
	struct mlookups *l = mlookups_new();
	struct mlookup *dept = mlookups_add(l, "dept");
	struct mlookup *country = mlookups_add(l, "country");
	struct mval v = MVAL_NULL;

	mval_set_string(&v, "ENG", 3);
	mlookup_put(dept, "Engineering", &v);
	mval_set_int(&v, 42);
	mlookup_put(dept, "Sales", &v);
	mval_set_bool(&v, true);
	mlookup_put(dept, "HR", &v);
	mval_set_array(&v, 2);
	struct mval item = MVAL_NULL;
	mval_set_string(&item, "ops", 3);
	mval_array_push(&v, &item);
	mval_set_string(&item, "sre", 3);
	mval_array_push(&v, &item);
	mlookup_put(dept, "Ops", &v);
	mval_clear(&v);
	mlookup_put(dept, "", &v);
	mval_set_string(&v, "EU", 2);
	mlookup_put(country, "DE", &v);
	mval_set_string(&v, "NA", 2);
	mlookup_put(country, "US", &v);
	mval_clear(&v);
	return l;
}

/* ------------------------------------------------------------ the input */

struct line {
	const char *p;
	size_t len;
};

struct input {
	char *src; /* line 1 up to '\n' or NUL */
	struct line *values;
	size_t n_values;
};

static void input_parse(const uint8_t *data, size_t size, struct input *in)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t first = nl ? (size_t)(nl - s) : size;
	size_t srclen = strnlen(s, first);
	in->src = malloc(srclen + 1);
	if (!in->src)
		abort();
	memcpy(in->src, s, srclen);
	in->src[srclen] = '\0';
	in->values = NULL;
	in->n_values = 0;
	if (!nl)
		return;
	const char *p = nl + 1, *end = s + size;
	/* A trailing newline ends the last value; it does not add an empty one. */
	size_t cap = 0;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		if (in->n_values == cap) {
			cap = cap ? cap * 2 : 16;
			in->values = realloc(in->values, cap * sizeof(*in->values));
			if (!in->values)
				abort();
		}
		in->values[in->n_values++] = (struct line){ p, len };
		p += len + 1;
	}
}

static void input_free(struct input *in)
{
	free(in->src);
	free(in->values);
}

static struct entry *input_entry(const struct input *in)
{
	char *dn = NULL;
	for (size_t k = 0; k < in->n_values && !dn; k++) {
		if (k % N_SLOTS != DN_SLOT || in->values[k].len == 0)
			continue;
		size_t len = strnlen(in->values[k].p, in->values[k].len);
		dn = malloc(len + 1);
		if (!dn)
			abort();
		memcpy(dn, in->values[k].p, len);
		dn[len] = '\0';
	}
	struct entry *e = entry_new(dn ? dn : DEFAULT_DN);
	free(dn);
	entry_set_id(e, "fuzz");
	for (size_t k = 0; k < in->n_values; k++) {
		if (k % N_SLOTS == DN_SLOT || in->values[k].len == 0)
			continue;
		struct entry_attr *a = entry_attr_get_or_add(e, slots[k % N_SLOTS]);
		entry_attr_add_value(a, in->values[k].p, in->values[k].len);
	}
	return e;
}

/* ------------------------------------------------------------ value checks */

static void check_value(const struct mval *v, int depth)
{
	switch (v->type) {
	case MV_NULL:
	case MV_INT:
	case MV_BOOL:
	case MV_TIME:
		return;
	case MV_STRING:
		if (!v->u.str.s)
			fuzz_fail("string value with a NULL pointer");
		if (v->u.str.s[v->u.str.len] != '\0')
			fuzz_fail("string value of %zu bytes is not NUL-terminated at its length", v->u.str.len);
		if (!utf8_valid(v->u.str.s, v->u.str.len))
			fuzz_fail("string value of %zu bytes is not valid UTF-8 or holds a NUL: %s", v->u.str.len,
				  v->u.str.s);
		return;
	case MV_ARRAY:
		if (v->u.arr.n && !v->u.arr.items)
			fuzz_fail("array of %zu items with a NULL item pointer", v->u.arr.n);
		if (depth > 1000)
			fuzz_fail("arrays nested over 1000 deep");
		for (size_t i = 0; i < v->u.arr.n; i++)
			check_value(&v->u.arr.items[i], depth + 1);
		return;
	}
	fuzz_fail("value of unknown type %d", (int)v->type);
}

/* An unambiguous rendering for comparing two evaluations. */
static void render(const struct mval *v, struct sbuf *sb)
{
	switch (v->type) {
	case MV_NULL: sbuf_addstr(sb, "N"); return;
	case MV_INT: sbuf_addf(sb, "I%lld", v->u.i); return;
	case MV_TIME: sbuf_addf(sb, "T%lld", v->u.i); return;
	case MV_BOOL: sbuf_addstr(sb, v->u.b ? "Bt" : "Bf"); return;
	case MV_STRING:
		sbuf_addf(sb, "S%zu:", v->u.str.len);
		sbuf_add(sb, v->u.str.s, v->u.str.len);
		return;
	case MV_ARRAY:
		sbuf_addf(sb, "A%zu[", v->u.arr.n);
		for (size_t i = 0; i < v->u.arr.n; i++)
			render(&v->u.arr.items[i], sb);
		sbuf_addch(sb, ']');
		return;
	}
}

static bool uses_nondeterministic(const char *src)
{
	for (size_t i = 0; i < sizeof(nondeterministic) / sizeof(nondeterministic[0]); i++)
		if (strstr(src, nondeterministic[i]))
			return true;
	return false;
}

static void check_attr_name(const char *attr, void *ud)
{
	(void)ud;
	if (!attr || !*attr)
		fuzz_fail("mexpr_foreach_attr gave an empty attribute name");
	for (const char *c = attr; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			fuzz_fail("mexpr_foreach_attr gave '%s', which is not lowercased", attr);
}

/* Evaluates x on e, checks the outcome; appends its rendering to sb.
 * Returns whether it succeeded; *keep (if not NULL) receives the value. */
static bool eval_checked(const struct mexpr *x, const struct entry *e, struct sbuf *sb, struct mval *keep)
{
	struct mval v = MVAL_NULL;
	char *err = (char *)"sentinel";
	int r = mexpr_eval(x, e, &v, &err);
	if (r == 0) {
		if (err)
			fuzz_fail("mexpr_eval succeeded but set *err");
		check_value(&v, 0);
		render(&v, sb);
	} else {
		if (r != -EINVAL)
			fuzz_fail("mexpr_eval returned %d, not 0 or -EINVAL (error: %s)", r, err ? err : "NULL");
		if (!err || !*err)
			fuzz_fail("mexpr_eval failed without an error message");
		check_text("evaluation error", err);
		if (v.type != MV_NULL)
			fuzz_fail("mexpr_eval failed but left a %s behind", mval_type_name(v.type));
		sbuf_addstr(sb, "E");
		sbuf_addstr(sb, err);
		free(err);
	}
	if (keep)
		mval_move(keep, &v);
	mval_clear(&v);
	return r == 0;
}

/* Compiles src; on failure checks the error. Returns NULL then. */
static struct mexpr *compile_checked(const char *src, const struct mexpr_env *env)
{
	char *err = (char *)"sentinel";
	int col = -12345;
	struct mexpr *x = mexpr_compile(src, env, &err, &col);
	if (x) {
		if (err)
			fuzz_fail("mexpr_compile succeeded but set *err");
		return x;
	}
	if (!err || !*err)
		fuzz_fail("mexpr_compile failed without an error message");
	size_t len = strlen(src);
	size_t chars = utf8_valid(src, len) ? utf8_length(src, len) : 0;
	if (col < 1 || (size_t)col > chars + 1)
		fuzz_fail("compile error column %d outside 1..%zu (error: %s)", col, chars + 1, err);
	check_text("compile error", err);
	if (verbose())
		fprintf(stderr, "  => compile error at column %d: %s\n", col, err);
	free(err);
	return NULL;
}

/* ------------------------------------------------------------ mapping_apply */

static void check_mapped(int r, const struct mapped *out, const struct mapping *m, bool has_key)
{
	if (r == 0) {
		if (!out->payload)
			fuzz_fail("mapping_apply succeeded without a payload");
		if (out->reasons)
			fuzz_fail("mapping_apply succeeded with reasons: %s", out->reasons);
		if (strlen(out->hash) != 64 || strspn(out->hash, "0123456789abcdef") != 64)
			fuzz_fail("mapping_apply gave a bad hash '%s'", out->hash);
		if (has_key && !out->key)
			fuzz_fail("mapping_apply succeeded without the key");
		if (out->key)
			check_text("member key", out->key);
		const char *json = json_object_to_json_string_ext(out->payload, JSON_C_TO_STRING_PLAIN);
		check_text("payload JSON", json);
		char *red = mapping_payload_redacted(m, out->payload);
		check_text("redacted payload", red);
		free(red);
	} else {
		if (r != -EINVAL)
			fuzz_fail("mapping_apply returned %d, not 0 or -EINVAL", r);
		if (out->payload)
			fuzz_fail("mapping_apply failed but left a payload");
		if (!out->reasons || !*out->reasons)
			fuzz_fail("mapping_apply failed without reasons");
		check_text("mapping reasons", out->reasons);
	}
}

static void count_attr(const char *attr, void *ud)
{
	(void)attr;
	++*(size_t *)ud;
}

static void count_missing(const char *field, void *ud)
{
	(void)field;
	++*(size_t *)ud;
}

/* The expression itself goes into the key field of each mapping (so
 * mapping_apply evaluates it, and an evaluation error becomes a reason);
 * every other field gets the value it gave (mexpr_new_literal: no
 * recompiling), so each coercion of the schema sees it. */
static void run_mapping(const char *src, const struct mexpr_env *env, const struct entry *e,
			const struct mval *result)
{
	char *err = NULL;
	struct mexpr *x;

	/* A driver's fixed schema. */
	struct mapping *m = mapping_new(schema, N_SCHEMA, false);
	for (size_t i = 0; i < N_SCHEMA; i++) {
		if (i == 0) {
			if (!(x = compile_checked(src, env)))
				fuzz_fail("the expression compiled once but not again");
		} else if (result) {
			x = mexpr_new_literal(result);
		} else {
			continue;
		}
		if (mapping_add_field(m, schema[i].name, x, &err) < 0)
			fuzz_fail("mapping_add_field(%s): %s", schema[i].name, err);
	}
	if (mapping_set_key(m, schema[0].name, &err) < 0)
		fuzz_fail("mapping_set_key: %s", err);
	size_t n = 0;
	mapping_foreach_attr(m, count_attr, &n);
	mapping_foreach_missing_required(m, count_missing, &n);
	struct mapped out = { 0 };
	int r = mapping_apply(m, e, &out);
	check_mapped(r, &out, m, true);
	mapped_clear(&out);
	mapping_free(m);

	/* A generic driver's open schema: any type goes, one secret field. */
	m = mapping_new(NULL, 0, true);
	static const char *const open_fields[] = { "id", "value", "token" };
	for (size_t i = 0; i < 3; i++) {
		if (i == 0) {
			if (!(x = compile_checked(src, env)))
				fuzz_fail("the expression compiled once but not again");
		} else if (result) {
			x = mexpr_new_literal(result);
		} else {
			continue;
		}
		if (mapping_add_field(m, open_fields[i], x, &err) < 0)
			fuzz_fail("mapping_add_field(%s): %s", open_fields[i], err);
	}
	if (mapping_set_key(m, "id", &err) < 0)
		fuzz_fail("open schema key: %s", err);
	if (result && mapping_set_secret(m, "token", &err) < 0)
		fuzz_fail("open schema secret: %s", err);
	memset(&out, 0, sizeof(out));
	r = mapping_apply(m, e, &out);
	check_mapped(r, &out, m, true);
	mapped_clear(&out);
	mapping_free(m);
}

/* ------------------------------------------------------------ one expression */

static void run_expression(const char *src, const struct mexpr_env *env, const struct entry *e, bool mapping)
{
	cur_src = src;
	if (verbose())
		fprintf(stderr, "%s\n", src);
	struct mexpr *x = compile_checked(src, env);
	if (!x) {
		cur_src = NULL;
		return;
	}
	mexpr_foreach_attr(x, check_attr_name, NULL);

	struct sbuf a, b;
	struct mval result = MVAL_NULL;
	sbuf_init(&a);
	sbuf_init(&b);
	bool ok = eval_checked(x, e, &a, &result);
	eval_checked(x, e, &b, NULL);
	/* A regex that gives up does so on PCRE2's match limit or on a wall
	 * clock deadline (regex.c, MREGEX_DEADLINE_USEC): the deadline depends
	 * on the machine's load, so an evaluation that gave up may differ
	 * from one that did not, and from one that gave up elsewhere. */
	bool gave_up = strstr(a.buf, "gave up") || strstr(b.buf, "gave up");
	if (!uses_nondeterministic(src) && !gave_up && (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0))
		fuzz_fail("two evaluations differ:\n  first:  %s\n  second: %s", a.buf, b.buf);
	if (verbose())
		fprintf(stderr, "  => %s\n", a.buf);
	sbuf_release(&a);
	sbuf_release(&b);
	mexpr_free(x);

	if (mapping)
		run_mapping(src, env, e, ok ? &result : NULL);
	mval_clear(&result);
	cur_src = NULL;
}

/* ------------------------------------------------------------ all-functions mode */

struct all_ctx {
	const struct input *in;
	const struct mexpr_env *env;
	const struct entry *e;
};

/* Appends value line i as a single-quoted literal; false when there is no
 * such line. Bytes are kept (a NUL ends the source, which must then fail
 * to compile: that is fine). */
static bool add_literal(struct sbuf *sb, const struct input *in, size_t i)
{
	if (i >= in->n_values)
		return false;
	sbuf_addch(sb, '\'');
	for (size_t k = 0; k < in->values[i].len; k++) {
		char c = in->values[i].p[k];
		if (c == '\'' || c == '\\')
			sbuf_addch(sb, '\\');
		sbuf_addch(sb, c);
	}
	sbuf_addch(sb, '\'');
	return true;
}

static void all_one(const struct mfunc *f, void *ud)
{
	const struct all_ctx *c = ud;
	unsigned max = f->max_args < FUZZ_MAX_ARGS ? f->max_args : FUZZ_MAX_ARGS;
	for (unsigned nargs = f->min_args; nargs <= max; nargs++) {
		for (int variant = 0; variant < 2; variant++) {
			struct sbuf sb;
			sbuf_init(&sb);
			sbuf_addf(&sb, "${%s(", f->name);
			bool ok = true;
			for (unsigned i = 0; i < nargs && ok; i++) {
				if (i)
					sbuf_addstr(&sb, ", ");
				if (i < 32 && (f->literal_args & (1u << i)))
					ok = add_literal(&sb, c->in, i);
				else if (i == 0 && variant == 1)
					sbuf_addstr(&sb, "uid[*]");
				else
					sbuf_addstr(&sb, slots[i % N_SLOTS]);
			}
			sbuf_addstr(&sb, ")}");
			/* The source is cut at a NUL as a config string would be. */
			if (ok)
				run_expression(sb.buf, c->env, c->e, false);
			sbuf_release(&sb);
		}
	}
}

/* ------------------------------------------------------------ entry points */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	struct input in;
	input_parse(data, size, &in);
	struct entry *e = input_entry(&in);
	struct mlookups *lookups = make_lookups();
	struct mexpr_env env = { .lookups = lookups };

	if (in.src[0] == '\0' && (size == 0 || data[0] == '\n')) {
		struct all_ctx c = { .in = &in, .env = &env, .e = e };
		mfunc_foreach(all_one, &c);
	} else {
		run_expression(in.src, &env, e, true);
		/* The same expression without lookup tables must fail to
		 * compile or behave the same; it must not crash. */
		cur_src = in.src;
		struct mexpr *x = compile_checked(in.src, NULL);
		if (x) {
			struct sbuf sb;
			sbuf_init(&sb);
			eval_checked(x, e, &sb, NULL);
			sbuf_release(&sb);
			mexpr_free(x);
		}
		cur_src = NULL;
	}

	mlookups_free(lookups);
	entry_free(e);
	input_free(&in);
	return 0;
}

static void dict_word(FILE *f, const char *w)
{
	fputc('"', f);
	for (const char *c = w; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			fprintf(f, "\\x%02X", (unsigned char)*c);
		else
			fputc(*c, f);
	}
	fputs("\"\n", f);
}

static void dict_fn(const struct mfunc *fn, void *ud)
{
	FILE *f = ud;
	dict_word(f, fn->name);
	char *call = NULL;
	if (asprintf(&call, "| %s(", fn->name) >= 0) {
		dict_word(f, call);
		free(call);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *path = getenv("MAPPING_FUZZ_DICT");
	if (!path || !*path)
		return 0;
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	static const char *const tokens[] = {
		"${", "}", "$$", "[*]", "[0]", "[1]", "[-1]", "|", "==", "!=", "(", ")", "[", "]", ",",
		"'", "\"", "\\n", "\\t", "\\\\", "true", "false", "null", "-9223372036854775808",
		"9223372036854775807", "dept", "country", "Engineering", "Sales", "HR", "Ops", "DE",
		"'aA1!'", "(a+)+$", "$1", "${1}", "(?<n>x)", "${n}", "\xC3\xA9", "\xE5\xBC\xA0",
		"\xF0\x9F\x98\x80", "\xC0\x80", "\xED\xA0\x80", "\xFF", "\n", "@", "cn=", ",dc=",
		"20240102030405Z", "+8613800138000",
	};
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		dict_word(f, tokens[i]);
	for (size_t i = 0; i < N_SLOTS; i++)
		dict_word(f, slots[i]);
	mfunc_foreach(dict_fn, f);
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	exit(0);
}
