/* Private to src/mapping: the compiled form shared by the compiler
 * (parse.c) and the evaluator (eval.c). */
#ifndef MS_MAPPING_AST_H
#define MS_MAPPING_AST_H

#include "mapping/functions.h"
#include "mapping/value.h"

enum mnode_kind {
	MN_LITERAL,
	MN_ATTR,	/* attribute reference */
	MN_CALL,	/* function call; a pipe "x | f(a)" is f(x, a) */
	MN_ARRAY,	/* [a, b, ...] */
	MN_CONCAT,	/* "text ${expr} text": parts joined as text */
	MN_EQ,		/* a == b */
	MN_NE,		/* a != b */
};

enum mattr_select {
	MATTR_FIRST,	/* ${attr} */
	MATTR_ALL,	/* ${attr[*]} */
	MATTR_INDEX,	/* ${attr[n]}, negative counts from the end */
};

struct mnode {
	enum mnode_kind kind;
	int column;
	struct mval lit;
	char *attr;
	enum mattr_select select;
	long index;
	const struct mfunc *fn;
	void *data;	/* fn->prepare's result, freed with fn->free_data */
	struct mnode **args;
	size_t nargs;
};

struct mexpr {
	struct mnode *root;
};

void mnode_free(struct mnode *n);

#endif
