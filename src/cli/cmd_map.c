/* membersync map: what a target's mapping makes of one entry, field by
 * field, with the reason for every field that fails. The tool for writing
 * mappings: the entry comes from the directory, an LDIF file or the
 * built-in sample, and nothing is sent or stored. */
#include "config.h"

#include "cli/cli.h"
#include "ldap/dn.h"
#include "ldap/ldif.h"
#include "ldap/source.h"
#include "mapping/sample.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sysexits.h>

struct map_run {
	struct cli *cli;
	const char *target;	/* NULL: every enabled target */
	struct source *source;	/* --dn: for group scopes */
	int **scopes;		/* per conf target, source_scope_add indexes */
	json_object *json;	/* --json: the array printed at the end */
	size_t entries, invalid;
};

struct map_field_print {
	struct sbuf *out;
	json_object *fields;	/* --json */
	int width;
};

static void map_print_field(const struct mapping_field_result *r, void *ud)
{
	struct map_field_print *fp = ud;
	if (fp->fields) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "name", json_object_new_string(r->name));
		if (r->value)
			json_object_object_add(f, "value", json_object_get(r->value));
		if (r->reason)
			json_object_object_add(f, "error", json_object_new_string(r->reason));
		if (r->key)
			json_object_object_add(f, "key", json_object_new_boolean(true));
		if (r->secret)
			json_object_object_add(f, "secret", json_object_new_boolean(true));
		json_object_array_add(fp->fields, f);
		return;
	}
	sbuf_addf(fp->out, "  %-*s ", fp->width, r->name);
	if (r->reason)
		sbuf_addf(fp->out, "! %s", r->reason);
	else if (r->value)
		sbuf_addf(fp->out, "= %s",
			  json_object_to_json_string_ext(r->value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		sbuf_addstr(fp->out, "  (no value; not sent)");
	if (r->key)
		sbuf_addstr(fp->out, "   (member key)");
	if (r->secret && !r->reason)
		sbuf_addstr(fp->out, "   (secret: never logged or stored)");
	sbuf_addch(fp->out, '\n');
}

/* Width of the longest field name, to line the values up. */
static int map_width(const struct mapping *m)
{
	int w = 0;
	for (size_t i = 0; i < mapping_field_count(m); i++) {
		int len = (int)strlen(mapping_field_name(m, i));
		if (len > w)
			w = len;
	}
	return w;
}

/* Why membersyncd would not add this entry to the target whatever its
 * mapping gives, or NULL. */
static const char *map_exclusion(const struct map_run *run, size_t ti, const struct entry *e)
{
	const struct conf_target *t = run->cli->conf->targets[ti];
	if (e->disabled)
		return e->disabled;
	if (!t->n_groups || !run->source)
		return NULL;
	for (size_t g = 0; g < t->n_groups; g++)
		if (source_in_scope(run->source, run->scopes[ti][g], e))
			return NULL;
	return "not a member of any of the target's groups";
}

static void map_one(struct map_run *run, size_t ti, const struct entry *e)
{
	const struct conf_target *t = run->cli->conf->targets[ti];
	struct mapped m = { 0 };
	int valid = mapping_apply(t->mapping, e, &m) == 0;
	const char *excluded = map_exclusion(run, ti, e);
	struct sbuf out;
	sbuf_init(&out);
	struct map_field_print fp = { .out = &out };

	run->entries++;
	run->invalid += !valid;
	if (run->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "target", json_object_new_string(t->name));
		json_object_object_add(o, "dn", json_object_new_string(e->dn));
		json_object_object_add(o, "valid", json_object_new_boolean(valid));
		if (valid && m.key)
			json_object_object_add(o, "key", json_object_new_string(m.key));
		if (valid)
			json_object_object_add(o, "payload_hash", json_object_new_string(m.hash));
		if (excluded)
			json_object_object_add(o, "excluded", json_object_new_string(excluded));
		fp.fields = json_object_new_array();
		mapping_explain(t->mapping, e, map_print_field, &fp);
		json_object_object_add(o, "fields", fp.fields);
		json_object_array_add(run->json, o);
		mapped_clear(&m);
		sbuf_release(&out);
		return;
	}
	sbuf_addf(&out, "%s (%s): %s\n", t->name, t->driver->name, e->dn);
	fp.width = map_width(t->mapping);
	mapping_explain(t->mapping, e, map_print_field, &fp);
	if (valid) {
		char *payload = mapping_payload_redacted(t->mapping, m.payload);
		sbuf_addf(&out, "  -> valid: would be sent as %s\n", payload);
		free(payload);
	} else {
		sbuf_addstr(&out, "  -> invalid: membersyncd records the reasons and skips this entry until it changes\n");
	}
	if (excluded)
		sbuf_addf(&out, "  -> not added all the same: %s\n", excluded);
	fwrite(out.buf, 1, out.len, stdout);
	fputc('\n', stdout);
	sbuf_release(&out);
	mapped_clear(&m);
}

static void map_entry(struct map_run *run, const struct entry *e)
{
	const struct conf *c = run->cli->conf;
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct conf_target *t = c->targets[i];
		if (run->target ? strcmp(t->name, run->target) == 0 : t->enabled)
			map_one(run, i, e);
	}
}

static void map_ldif_entry(void *ud, const struct entry *e)
{
	map_entry(ud, e);
}

/* A record that cannot be a directory entry is invalid for every target:
 * said on stderr (the JSON on stdout holds entries only), counted in the
 * exit status. */
static void map_ldif_skip(void *ud, const char *where, const char *dn, const char *why)
{
	struct map_run *run = ud;
	cli_error("%s: skipping the record of \"%s\": %s", where, dn, why);
	run->invalid++;
}

struct map_dn_search {
	char *ndn;
	struct entry *found;
};

static int map_dn_sink_entry(void *ud, const struct entry *e)
{
	struct map_dn_search *ds = ud;
	char *ndn = dn_normalize(e->dn);
	bool hit = ndn && strcmp(ndn, ds->ndn) == 0;
	free(ndn);
	if (!hit)
		return 0;
	ds->found = entry_dup(e);
	return -1;	/* found: stop reading */
}

/* Reads the directory as membersyncd does (same filter, attributes,
 * groups and disabled detection) until the entry turns up. */
static int map_from_directory(struct map_run *run, const char *dn)
{
	const struct conf *c = run->cli->conf;
	struct map_dn_search ds = { .ndn = dn_normalize(dn) };
	if (!ds.ndn) {
		cli_error("'%s' is not a valid DN", dn);
		return EX_USAGE;
	}
	run->source = source_new(&c->source);
	run->scopes = xcalloc(c->n_targets, sizeof(int *));
	for (size_t i = 0; i < c->n_targets; i++) {
		run->scopes[i] = xcalloc(c->targets[i]->n_groups + 1, sizeof(int));
		for (size_t g = 0; g < c->targets[i]->n_groups; g++)
			run->scopes[i][g] = source_scope_add(run->source, c->targets[i]->groups[g]);
	}
	struct source_sink sink = { .entry = map_dn_sink_entry, .ud = &ds };
	struct source_request req = { .full = true };
	struct source_result res = { 0 };
	char *err = NULL;
	int code = 0;
	if (source_read(run->source, &req, &sink, &res, &err) < 0 && !ds.found) {
		cli_error("cannot read the directory: %s", err ? err : "unknown error");
		code = EX_UNAVAILABLE;
	} else if (!ds.found) {
		cli_error("no entry '%s' among the %zu the source reads (check base, scope and filter)", dn, res.entries);
		code = EX_NOINPUT;
	} else {
		map_entry(run, ds.found);
	}
	free(err);
	source_result_clear(&res);
	entry_free(ds.found);
	free(ds.ndn);
	return code;
}

static int map_from_ldif(struct map_run *run, const char *path)
{
	char *err = NULL;
	int r = ldif_read_entries(path, map_ldif_entry, map_ldif_skip, run, &err);
	if (r < 0) {
		cli_error("%s", err);
		free(err);
		return r == -ENOENT || r == -EACCES ? EX_NOINPUT : EX_DATAERR;
	}
	if (run->entries == 0 && run->target) {
		cli_error("%s: no entries", path);
		return EX_NOINPUT;
	}
	return 0;
}

static int map_from_sample(struct map_run *run)
{
	const struct conf *c = run->cli->conf;
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct conf_target *t = c->targets[i];
		if (run->target ? strcmp(t->name, run->target) != 0 : !t->enabled)
			continue;
		char **generic = NULL;
		struct entry *e = sample_entry_new(t->mapping, c->sample, &generic);
		map_one(run, i, e);
		for (char **g = generic; g && *g && !run->json; g++)
			printf("  (the sample has no realistic value for '%s'; it reads as \"sample\")\n", *g);
		strv_free(generic);
		entry_free(e);
	}
	return 0;
}

enum { OPT_JSON = 256, OPT_TARGET, OPT_DN, OPT_LDIF, OPT_SAMPLE };

int cli_map(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "target", required_argument, NULL, 't' },
		{ "dn", required_argument, NULL, OPT_DN },
		{ "ldif", required_argument, NULL, OPT_LDIF },
		{ "sample", no_argument, NULL, OPT_SAMPLE },
		{ NULL, 0, NULL, 0 },
	};
	struct map_run run = { .cli = cli };
	const char *dn = NULL, *ldif = NULL;
	bool sample = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config_path = optarg; break;
		case OPT_JSON: cli->json = true; break;
		case 't': run.target = optarg; break;
		case OPT_DN: dn = optarg; break;
		case OPT_LDIF: ldif = optarg; break;
		case OPT_SAMPLE: sample = true; break;
		default: return EX_USAGE;
		}
	}
	if (optind < argc || (dn != NULL) + (ldif != NULL) + sample != 1) {
		cli_error("map takes one of --dn DN, --ldif FILE or --sample (and optionally --target T)");
		return EX_USAGE;
	}
	int code = cli_load_conf(cli);
	if (code)
		return code;
	if (run.target && !conf_find_target(cli->conf, run.target)) {
		cli_error("no target named '%s' in %s", run.target, cli->config_path);
		return EX_USAGE;
	}
	if (cli->json)
		run.json = json_object_new_array();
	if (dn)
		code = map_from_directory(&run, dn);
	else if (ldif)
		code = map_from_ldif(&run, ldif);
	else
		code = map_from_sample(&run);
	if (run.json) {
		if (code == 0)
			printf("%s\n", json_object_to_json_string_ext(run.json, JSON_C_TO_STRING_PRETTY |
										 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(run.json);
	}
	if (run.scopes)
		for (size_t i = 0; i < cli->conf->n_targets; i++)
			free(run.scopes[i]);
	free(run.scopes);
	source_free(run.source);
	/* 1 says "some entry would be skipped": scripts can check mappings. */
	return code ? code : run.invalid ? 1 : 0;
}
