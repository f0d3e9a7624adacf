/* Evaluator for compiled mapping expressions. */
#include "config.h"

#include "mapping/ast.h"
#include "mapping/expr.h"
#include "util/sbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int meval_fail(struct meval *ctx, const char *fmt, ...)
{
	if (!ctx->error) {
		va_list ap;
		va_start(ap, fmt);
		ctx->error = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int eval_value(struct meval *ctx, const char *attr, const struct entry_value *v, struct mval *out)
{
	if (!utf8_valid(v->data, v->len))
		return meval_fail(ctx, "attribute '%s' has a value that is not valid UTF-8 text", attr);
	mval_set_string(out, v->data, v->len);
	return 0;
}

static int eval_attr(struct meval *ctx, const struct mnode *n, struct mval *out)
{
	const struct entry *e = ctx->entry;
	/* The DN is not an attribute, but mappings need it: it reads as a
	 * single-valued one. */
	if (strcmp(n->attr, "dn") == 0) {
		struct entry_value dnv = { .data = e->dn, .len = strlen(e->dn) };
		if (n->select == MATTR_INDEX && n->index != 0 && n->index != -1)
			return 0;
		if (n->select == MATTR_ALL) {
			struct mval item = MVAL_NULL;
			int r = eval_value(ctx, "dn", &dnv, &item);
			mval_set_array(out, 1);
			mval_array_push(out, &item);
			return r;
		}
		return eval_value(ctx, "dn", &dnv, out);
	}
	const struct entry_attr *a = entry_get_lower(e, n->attr);
	size_t count = a ? a->n : 0;

	switch (n->select) {
	case MATTR_FIRST:
		return count ? eval_value(ctx, n->attr, &a->values[0], out) : 0;
	case MATTR_INDEX: {
		long idx = n->index < 0 ? (long)count + n->index : n->index;
		if (idx < 0 || (size_t)idx >= count)
			return 0;
		return eval_value(ctx, n->attr, &a->values[idx], out);
	}
	case MATTR_ALL:
		mval_set_array(out, count);
		for (size_t i = 0; i < count; i++) {
			struct mval item = MVAL_NULL;
			int r = eval_value(ctx, n->attr, &a->values[i], &item);
			if (r < 0)
				return r;
			mval_array_push(out, &item);
		}
		return 0;
	}
	return 0;
}

static int eval_node(struct meval *ctx, const struct mnode *n, struct mval *out);

static int eval_args(struct meval *ctx, const struct mnode *n, struct mval *args)
{
	for (size_t i = 0; i < n->nargs; i++) {
		int r = eval_node(ctx, n->args[i], &args[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int eval_lazy(struct meval *ctx, const struct mnode *n, struct mval *out)
{
	int r;
	switch (n->fn->lazy) {
	case MFUNC_IF: {
		struct mval cond = MVAL_NULL;
		r = eval_node(ctx, n->args[0], &cond);
		bool yes = r == 0 && mval_truthy(&cond);
		mval_clear(&cond);
		if (r < 0)
			return r;
		if (yes)
			return eval_node(ctx, n->args[1], out);
		return n->nargs > 2 ? eval_node(ctx, n->args[2], out) : 0;
	}
	case MFUNC_FIRST_NON_EMPTY:
		for (size_t i = 0; i < n->nargs; i++) {
			mval_clear(out);
			r = eval_node(ctx, n->args[i], out);
			if (r < 0 || !mval_is_empty(out))
				return r;
		}
		return 0;
	case MFUNC_EAGER:
		break;
	}
	return 0;
}

/* Most calls have one to three arguments: those live on the stack, so a
 * typical evaluation allocates only the values it produces. */
#define EVAL_STACK_ARGS 4

static int eval_call(struct meval *ctx, const struct mnode *n, struct mval *out)
{
	if (n->fn->lazy != MFUNC_EAGER)
		return eval_lazy(ctx, n, out);
	struct mval stack[EVAL_STACK_ARGS];
	struct mval *args = n->nargs <= EVAL_STACK_ARGS ? stack : xcalloc(n->nargs, sizeof(*args));
	for (size_t i = 0; i < n->nargs; i++)
		args[i] = MVAL_NULL;
	int r = eval_args(ctx, n, args);
	if (r == 0)
		r = n->fn->fn(ctx, n->data, args, n->nargs, out);
	for (size_t i = 0; i < n->nargs; i++)
		mval_clear(&args[i]);
	if (args != stack)
		free(args);
	return r;
}

static int eval_concat(struct meval *ctx, const struct mnode *n, struct mval *out)
{
	struct sbuf sb;
	int r = 0;
	sbuf_init(&sb);
	for (size_t i = 0; i < n->nargs && r == 0; i++) {
		if (n->args[i]->kind == MN_LITERAL) {
			mval_append_text(&n->args[i]->lit, &sb, ",");
			continue;
		}
		struct mval part = MVAL_NULL;
		r = eval_node(ctx, n->args[i], &part);
		mval_append_text(&part, &sb, ",");
		mval_clear(&part);
	}
	size_t len;
	char *s = sbuf_detach(&sb, &len);
	sbuf_release(&sb);
	mval_take_string(out, s, len);
	return r;
}

static int eval_node(struct meval *ctx, const struct mnode *n, struct mval *out)
{
	int r = 0;

	switch (n->kind) {
	case MN_LITERAL:
		mval_copy(out, &n->lit);
		return 0;
	case MN_ATTR:
		return eval_attr(ctx, n, out);
	case MN_CALL:
		return eval_call(ctx, n, out);
	case MN_ARRAY:
		mval_set_array(out, n->nargs);
		for (size_t i = 0; i < n->nargs && r == 0; i++) {
			struct mval item = MVAL_NULL;
			r = eval_node(ctx, n->args[i], &item);
			mval_array_push(out, &item);
		}
		return r;
	case MN_CONCAT:
		return eval_concat(ctx, n, out);
	case MN_EQ:
	case MN_NE: {
		struct mval a = MVAL_NULL, b = MVAL_NULL;
		r = eval_node(ctx, n->args[0], &a);
		if (r == 0)
			r = eval_node(ctx, n->args[1], &b);
		if (r == 0)
			mval_set_bool(out, mval_equal_text(&a, &b) == (n->kind == MN_EQ));
		mval_clear(&a);
		mval_clear(&b);
		return r;
	}
	}
	return r;
}

int mexpr_eval(const struct mexpr *x, const struct entry *e, struct mval *out, char **err)
{
	struct meval ctx = { .entry = e };
	*err = NULL;
	mval_clear(out);
	int r = eval_node(&ctx, x->root, out);
	if (r < 0) {
		mval_clear(out);
		*err = ctx.error ? ctx.error : xstrdup("evaluation failed");
		return r;
	}
	free(ctx.error);
	return 0;
}
