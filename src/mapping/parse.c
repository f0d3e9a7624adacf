/* Compiler for mapping expressions.
 *
 *   template := ( text | "$$" | "${" expr "}" )*
 *   expr     := pipe [ ( "==" | "!=" ) pipe ]
 *   pipe     := primary ( "|" NAME [ "(" args ")" ] )*
 *   primary  := STRING | INT | "true" | "false" | "null"
 *             | NAME "(" args ")"                       function call
 *             | NAME [ "[" ( "*" | INT ) "]" ]          attribute
 *             | "[" args "]" | "(" expr ")"
 *   args     := [ expr ( "," expr )* ]
 *
 * A template that is exactly one ${expr} keeps the expression's type
 * (array, int, ...); anything else is a string.
 */
#include "config.h"

#include "mapping/ast.h"
#include "mapping/expr.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Deep nesting has no use in a mapping and would only risk the stack. */
#define PARSE_MAX_DEPTH 32

struct parser {
	const struct mexpr_env *env;
	const char *src;
	size_t len, pos;
	int depth;
	char *err;
	int err_col;
};

static struct mnode *parse_expr(struct parser *p);

static void parse_fail_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void parse_fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	p->err = xvasprintf(fmt, ap);
	va_end(ap);
	p->err_col = (int)utf8_length(p->src, pos) + 1;
}

static struct mnode *mnode_new(enum mnode_kind kind, struct parser *p, size_t pos)
{
	struct mnode *n = XNEW(struct mnode);
	n->kind = kind;
	n->column = (int)utf8_length(p->src, pos) + 1;
	return n;
}

void mnode_free(struct mnode *n)
{
	if (!n)
		return;
	if (n->data && n->fn && n->fn->free_data)
		n->fn->free_data(n->data);
	mval_clear(&n->lit);
	free(n->attr);
	for (size_t i = 0; i < n->nargs; i++)
		mnode_free(n->args[i]);
	free(n->args);
	free(n);
}

static void mnode_add_arg(struct mnode *n, struct mnode *arg)
{
	n->args = xreallocarray(n->args, n->nargs + 1, sizeof(*n->args));
	n->args[n->nargs++] = arg;
}

static char parse_peek(const struct parser *p)
{
	if (p->pos >= p->len)
		return '\0';
	return p->src[p->pos];
}

static void parse_skip_ws(struct parser *p)
{
	while (p->pos < p->len && isspace((unsigned char)p->src[p->pos]))
		p->pos++;
}

static bool parse_is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool parse_is_name_char(char c)
{
	/* LDAP attribute names may contain '-' (msDS-...) and ';' options. */
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ';' || c == '.';
}

static char *parse_name(struct parser *p)
{
	size_t start = p->pos;
	if (!parse_is_name_start(parse_peek(p)))
		return NULL;
	while (p->pos < p->len && parse_is_name_char(p->src[p->pos]))
		p->pos++;
	return xstrndup(p->src + start, p->pos - start);
}

static struct mnode *parse_string(struct parser *p)
{
	size_t start = p->pos;
	char quote = p->src[p->pos++];
	struct sbuf sb;
	sbuf_init(&sb);
	for (;;) {
		if (p->pos >= p->len) {
			parse_fail_at(p, start, "unterminated string literal");
			sbuf_release(&sb);
			return NULL;
		}
		char c = p->src[p->pos++];
		if (c == quote)
			break;
		if (c == '\\' && p->pos < p->len) {
			char e = p->src[p->pos++];
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': case '\'': case '"': c = e; break;
			default:
				parse_fail_at(p, p->pos - 2, "unknown escape '\\%.*s' in string literal",
					      (int)utf8_char_bytes(p->src, p->len, p->pos - 1), p->src + p->pos - 1);
				sbuf_release(&sb);
				return NULL;
			}
		}
		sbuf_addch(&sb, c);
	}
	struct mnode *n = mnode_new(MN_LITERAL, p, start);
	size_t len;
	char *s = sbuf_detach(&sb, &len);
	sbuf_release(&sb);
	mval_take_string(&n->lit, s, len);
	return n;
}

static bool parse_long(struct parser *p, long long *out)
{
	size_t start = p->pos;
	if (parse_peek(p) == '-')
		p->pos++;
	while (p->pos < p->len && isdigit((unsigned char)p->src[p->pos]))
		p->pos++;
	char *num = xstrndup(p->src + start, p->pos - start);
	errno = 0;
	char *end;
	long long v = strtoll(num, &end, 10);
	bool ok = errno == 0 && *end == '\0' && end != num;
	free(num);
	if (!ok)
		parse_fail_at(p, start, "integer literal out of range");
	*out = v;
	return ok;
}

/* Parses "(a, b, ...)" or "[a, b, ...]" after the opening bracket. */
static bool parse_args(struct parser *p, struct mnode *n, char close)
{
	parse_skip_ws(p);
	if (parse_peek(p) == close) {
		p->pos++;
		return true;
	}
	for (;;) {
		struct mnode *arg = parse_expr(p);
		if (!arg)
			return false;
		mnode_add_arg(n, arg);
		parse_skip_ws(p);
		char c = parse_peek(p);
		if (c == ',') {
			p->pos++;
			continue;
		}
		if (c == close) {
			p->pos++;
			return true;
		}
		parse_fail_at(p, p->pos, "expected ',' or '%c'", close);
		return false;
	}
}

static bool parse_check_call(struct parser *p, struct mnode *call, const char *name, size_t name_pos)
{
	const struct mfunc *fn = mfunc_find(name);
	if (!fn) {
		const char *hint = mfunc_suggest(name);
		if (hint)
			parse_fail_at(p, name_pos, "unknown function '%s' (did you mean '%s'?)", name, hint);
		else
			parse_fail_at(p, name_pos, "unknown function '%s'", name);
		return false;
	}
	if (call->nargs < fn->min_args || call->nargs > fn->max_args) {
		parse_fail_at(p, name_pos, "wrong number of arguments for '%s' (usage: %s)", name, fn->usage);
		return false;
	}
	call->fn = fn;
	if (!fn->prepare)
		return true;

	const struct mval *lits[MFUNC_VARIADIC] = { 0 };
	for (size_t i = 0; i < call->nargs; i++) {
		if (call->args[i]->kind == MN_LITERAL)
			lits[i] = &call->args[i]->lit;
		else if (i < 32 && (fn->literal_args & (1u << i))) {
			/* Regexes, tables and group DNs are resolved now so
			 * that a mistake in them is a load-time error. */
			parse_fail_at(p, name_pos, "argument %zu of '%s' must be a literal (usage: %s)", i + 1, name,
				      fn->usage);
			return false;
		}
	}
	char *err = NULL;
	if (fn->prepare(p->env, lits, call->nargs, &call->data, &err) < 0) {
		parse_fail_at(p, name_pos, "%s: %s", name, err ? err : "invalid arguments");
		free(err);
		return false;
	}
	return true;
}

static struct mnode *parse_name_primary(struct parser *p)
{
	size_t start = p->pos;
	char *name = parse_name(p);
	struct mnode *n = NULL;

	if (parse_peek(p) == '(') {
		p->pos++;
		n = mnode_new(MN_CALL, p, start);
		if (!parse_args(p, n, ')') || !parse_check_call(p, n, name, start))
			goto fail;
		goto out;
	}
	if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
		n = mnode_new(MN_LITERAL, p, start);
		mval_set_bool(&n->lit, name[0] == 't');
		goto out;
	}
	if (strcmp(name, "null") == 0) {
		n = mnode_new(MN_LITERAL, p, start);
		goto out;
	}
	n = mnode_new(MN_ATTR, p, start);
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	n->attr = name;
	name = NULL;
	n->select = MATTR_FIRST;
	if (parse_peek(p) == '[') {
		p->pos++;
		parse_skip_ws(p);
		if (parse_peek(p) == '*') {
			p->pos++;
			n->select = MATTR_ALL;
		} else if (isdigit((unsigned char)parse_peek(p)) || parse_peek(p) == '-') {
			long long idx;
			if (!parse_long(p, &idx))
				goto fail;
			if (idx < INT_MIN || idx > INT_MAX) {
				parse_fail_at(p, start, "attribute index out of range");
				goto fail;
			}
			n->select = MATTR_INDEX;
			n->index = (long)idx;
		} else {
			parse_fail_at(p, p->pos, "expected '*' or a number inside [ ]");
			goto fail;
		}
		parse_skip_ws(p);
		if (parse_peek(p) != ']') {
			parse_fail_at(p, p->pos, "expected ']'");
			goto fail;
		}
		p->pos++;
	}
	goto out;
fail:
	mnode_free(n);
	n = NULL;
out:
	free(name);
	return n;
}

static struct mnode *parse_primary(struct parser *p)
{
	parse_skip_ws(p);
	size_t start = p->pos;
	char c = parse_peek(p);
	struct mnode *n;

	if (c == '\'' || c == '"')
		return parse_string(p);
	if (isdigit((unsigned char)c) ||
	    (c == '-' && p->pos + 1 < p->len && isdigit((unsigned char)p->src[p->pos + 1]))) {
		long long v;
		if (!parse_long(p, &v))
			return NULL;
		n = mnode_new(MN_LITERAL, p, start);
		mval_set_int(&n->lit, v);
		return n;
	}
	if (c == '[') {
		p->pos++;
		n = mnode_new(MN_ARRAY, p, start);
		if (!parse_args(p, n, ']')) {
			mnode_free(n);
			return NULL;
		}
		return n;
	}
	if (c == '(') {
		p->pos++;
		n = parse_expr(p);
		if (!n)
			return NULL;
		parse_skip_ws(p);
		if (parse_peek(p) != ')') {
			parse_fail_at(p, p->pos, "expected ')'");
			mnode_free(n);
			return NULL;
		}
		p->pos++;
		return n;
	}
	if (parse_is_name_start(c))
		return parse_name_primary(p);
	if (c == '\0' || c == '}')
		parse_fail_at(p, start, "expected an attribute name, a literal or a function call");
	else
		parse_fail_at(p, start, "unexpected character '%.*s'", (int)utf8_char_bytes(p->src, p->len, start),
			      p->src + start);
	return NULL;
}

static struct mnode *parse_pipe(struct parser *p)
{
	if (++p->depth > PARSE_MAX_DEPTH) {
		parse_fail_at(p, p->pos, "expression nested too deeply");
		return NULL;
	}
	struct mnode *n = parse_primary(p);
	while (n) {
		parse_skip_ws(p);
		if (parse_peek(p) != '|')
			break;
		p->pos++;
		parse_skip_ws(p);
		size_t name_pos = p->pos;
		char *name = parse_name(p);
		if (!name) {
			parse_fail_at(p, name_pos, "expected a function name after '|'");
			mnode_free(n);
			return NULL;
		}
		struct mnode *call = mnode_new(MN_CALL, p, name_pos);
		mnode_add_arg(call, n);
		bool ok = true;
		if (parse_peek(p) == '(') {
			p->pos++;
			ok = parse_args(p, call, ')');
		}
		ok = ok && parse_check_call(p, call, name, name_pos);
		free(name);
		if (!ok) {
			mnode_free(call);
			return NULL;
		}
		n = call;
	}
	p->depth--;
	return n;
}

static struct mnode *parse_expr(struct parser *p)
{
	struct mnode *lhs = parse_pipe(p);
	if (!lhs)
		return NULL;
	parse_skip_ws(p);
	size_t op = p->pos;
	bool eq = p->pos + 1 < p->len && p->src[op] == '=' && p->src[op + 1] == '=';
	bool ne = p->pos + 1 < p->len && p->src[op] == '!' && p->src[op + 1] == '=';
	if (!eq && !ne)
		return lhs;
	p->pos += 2;
	struct mnode *cmp = mnode_new(eq ? MN_EQ : MN_NE, p, op);
	mnode_add_arg(cmp, lhs);
	struct mnode *rhs = parse_pipe(p);
	if (!rhs) {
		mnode_free(cmp);
		return NULL;
	}
	mnode_add_arg(cmp, rhs);
	parse_skip_ws(p);
	if (p->pos + 1 < p->len && (p->src[p->pos] == '=' || p->src[p->pos] == '!') && p->src[p->pos + 1] == '=') {
		parse_fail_at(p, p->pos, "comparisons do not chain; use parentheses");
		mnode_free(cmp);
		return NULL;
	}
	return cmp;
}

static struct mnode *parse_template(struct parser *p)
{
	struct mnode *concat = mnode_new(MN_CONCAT, p, 0);
	struct sbuf text;
	sbuf_init(&text);

	while (p->pos < p->len) {
		char c = p->src[p->pos];
		if (c == '$' && p->pos + 1 < p->len && p->src[p->pos + 1] == '$') {
			sbuf_addch(&text, '$');
			p->pos += 2;
			continue;
		}
		if (!(c == '$' && p->pos + 1 < p->len && p->src[p->pos + 1] == '{')) {
			sbuf_addch(&text, c);
			p->pos++;
			continue;
		}
		if (text.len) {
			struct mnode *lit = mnode_new(MN_LITERAL, p, p->pos);
			size_t len;
			char *s = sbuf_detach(&text, &len);
			mval_take_string(&lit->lit, s, len);
			mnode_add_arg(concat, lit);
		}
		size_t open = p->pos;
		p->pos += 2;
		struct mnode *e = parse_expr(p);
		if (!e)
			goto fail;
		parse_skip_ws(p);
		if (parse_peek(p) != '}') {
			if (p->pos >= p->len)
				parse_fail_at(p, open, "'${' is not closed by '}'");
			else
				parse_fail_at(p, p->pos, "expected '|' or '}'");
			mnode_free(e);
			goto fail;
		}
		p->pos++;
		mnode_add_arg(concat, e);
	}
	if (text.len || concat->nargs == 0) {
		struct mnode *lit = mnode_new(MN_LITERAL, p, p->pos);
		size_t len;
		char *s = sbuf_detach(&text, &len);
		mval_take_string(&lit->lit, s, len);
		mnode_add_arg(concat, lit);
	}
	sbuf_release(&text);
	if (concat->nargs == 1) {
		struct mnode *only = concat->args[0];
		concat->nargs = 0;
		mnode_free(concat);
		return only;
	}
	return concat;
fail:
	sbuf_release(&text);
	mnode_free(concat);
	return NULL;
}

struct mexpr *mexpr_compile(const char *src, const struct mexpr_env *env, char **err, int *column)
{
	static const struct mexpr_env no_env = { 0 };
	struct parser p = { .env = env ? env : &no_env, .src = src, .len = strlen(src) };
	*err = NULL;
	*column = 0;
	if (!utf8_valid(src, p.len)) {
		*err = xstrdup("expression is not valid UTF-8");
		*column = 1;
		return NULL;
	}
	struct mnode *root = parse_template(&p);
	if (!root) {
		*err = p.err ? p.err : xstrdup("syntax error");
		*column = p.err_col;
		return NULL;
	}
	struct mexpr *x = XNEW(struct mexpr);
	x->root = root;
	return x;
}

struct mexpr *mexpr_new_literal(const struct mval *v)
{
	struct mexpr *x = XNEW(struct mexpr);
	x->root = XNEW(struct mnode);
	x->root->kind = MN_LITERAL;
	x->root->column = 1;
	mval_copy(&x->root->lit, v);
	return x;
}

void mexpr_free(struct mexpr *x)
{
	if (!x)
		return;
	mnode_free(x->root);
	free(x);
}

static void mnode_foreach_attr(const struct mnode *n, void (*fn)(const char *, void *), void *ud)
{
	if (n->kind == MN_ATTR)
		fn(n->attr, ud);
	if (n->kind == MN_CALL && n->fn->reads_attr)
		fn(n->fn->reads_attr, ud);
	for (size_t i = 0; i < n->nargs; i++)
		mnode_foreach_attr(n->args[i], fn, ud);
}

void mexpr_foreach_attr(const struct mexpr *x, void (*fn)(const char *, void *), void *ud)
{
	mnode_foreach_attr(x->root, fn, ud);
}
