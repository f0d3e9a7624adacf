#include "config.h"

#include "ldap/entry.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry *entry_new(const char *dn)
{
	struct entry *e = XNEW(struct entry);
	e->dn = xstrdup(dn);
	return e;
}

void entry_free(struct entry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_attrs; i++) {
		struct entry_attr *a = &e->attrs[i];
		for (size_t j = 0; j < a->n; j++)
			free(a->values[j].data);
		free(a->values);
		free(a->name);
	}
	free(e->attrs);
	free(e->dn);
	free(e->id);
	free(e);
}

struct entry *entry_dup(const struct entry *e)
{
	struct entry *c = entry_new(e->dn);
	if (e->id)
		c->id = xstrdup(e->id);
	c->disabled = e->disabled;
	for (size_t i = 0; i < e->n_attrs; i++) {
		struct entry_attr *a = entry_attr_get_or_add(c, e->attrs[i].name);
		for (size_t j = 0; j < e->attrs[i].n; j++)
			entry_attr_add_value(a, e->attrs[i].values[j].data, e->attrs[i].values[j].len);
	}
	return c;
}

void entry_set_id(struct entry *e, const char *id)
{
	free(e->id);
	e->id = xstrdup(id);
}

const struct entry_attr *entry_get(const struct entry *e, const char *name)
{
	/* Names are stored lowercased: comparing the first letter first
	 * skips most of them without a full case-insensitive compare (the
	 * mapping looks up every attribute of every entry). */
	char first = (char)tolower((unsigned char)name[0]);
	for (size_t i = 0; i < e->n_attrs; i++)
		if (e->attrs[i].name[0] == first && strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

const struct entry_attr *entry_get_lower(const struct entry *e, const char *lname)
{
	for (size_t i = 0; i < e->n_attrs; i++)
		if (e->attrs[i].name[0] == lname[0] && strcmp(e->attrs[i].name, lname) == 0)
			return &e->attrs[i];
	return NULL;
}

struct entry_attr *entry_attr_get_or_add(struct entry *e, const char *name)
{
	struct entry_attr *a = (struct entry_attr *)entry_get(e, name);
	if (a)
		return a;
	xgrow((void **)&e->attrs, &e->cap_attrs, e->n_attrs, sizeof(*e->attrs));
	a = &e->attrs[e->n_attrs++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	for (char *p = a->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return a;
}

void entry_attr_add_value(struct entry_attr *a, const void *data, size_t len)
{
	xgrow((void **)&a->values, &a->cap, a->n, sizeof(*a->values));
	struct entry_value *v = &a->values[a->n++];
	v->data = xmalloc(len + 1);
	if (len)
		memcpy(v->data, data, len);
	v->data[len] = '\0';
	v->len = len;
}

void entry_add(struct entry *e, const char *name, const char *value)
{
	entry_attr_add_value(entry_attr_get_or_add(e, name), value, strlen(value));
}

char *entry_guid_text(const unsigned char *b)
{
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2], b[1],
			 b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
