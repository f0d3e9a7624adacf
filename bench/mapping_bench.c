/* CPU cost of the mapping language, side by side with its floor.
 *
 *   mapping_bench CONFIG TARGET N [ROUNDS]
 *
 * Builds N realistic directory entries in memory, then maps each with
 * TARGET's map from CONFIG (mapping_apply: evaluate, coerce, validate,
 * build the JSON payload, hash it), and measures the process CPU time.
 * The floor is the least any mapping must do for the same fields: copy
 * the first value of each attribute read into a JSON object and hash its
 * text. Prints both and their ratio; bench/mapping.sh runs it. ROUNDS > 1
 * maps the entries that many times more (for profiling the mapping). */
#include "config.h"

#include "config/conf.h"
#include "mapping/mapping.h"
#include "util/hash.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const given[] = { "Ada", "张", "Zoë", "Ольга", "Ελένη", "John", "Mary", "Li" };
static const char *const family[] = { "Lovelace", "三", "Müller", "Иванова", "Παππά", "Smith", "O'Neil", "Wei" };
static const char *const titles[] = { "  Engineer ", "Analyst", "", "Manager", "Director of Research" };
static const char *const depts[] = { "2", "3", "7", "12", "Sales & Marketing" };

static struct entry *bench_entry(size_t i)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "uid=user%zu,ou=People,dc=example,dc=org", i);
	struct entry *e = entry_new(buf);
	snprintf(buf, sizeof(buf), "id-%zu", i);
	entry_set_id(e, buf);
	snprintf(buf, sizeof(buf), "user%zu", i);
	entry_add(e, "uid", buf);
	const char *g = given[i % 8], *f = family[(i / 8) % 8];
	entry_add(e, "givenName", g);
	entry_add(e, "sn", f);
	snprintf(buf, sizeof(buf), "%s %s", g, f);
	entry_add(e, "cn", buf);
	snprintf(buf, sizeof(buf), "User%zu@Example.ORG", i);
	entry_add(e, "mail", buf);
	snprintf(buf, sizeof(buf), "user%zu@alias.example.org", i);
	entry_add(e, "mail", buf);
	snprintf(buf, sizeof(buf), "+86 13%01zu-%04zu-%04zu", i % 10, (i / 10) % 10000, i % 10000);
	entry_add(e, "mobile", buf);
	entry_add(e, "title", titles[i % 5]);
	entry_add(e, "departmentNumber", depts[i % 5]);
	if (i % 3 == 0)
		entry_add(e, "departmentNumber", depts[(i + 1) % 5]);
	snprintf(buf, sizeof(buf), "2024%02zu%02zu%02zu%02zu%02zu.0Z", i % 12 + 1, i % 28 + 1, i % 24, i % 60,
		 (i / 60) % 60);
	entry_add(e, "createTimestamp", buf);
	entry_add(e, "employeeType", i % 10 == 0 ? "contractor" : "staff");
	entry_add(e, "manager", "cn=Boss\\, The,ou=People,dc=example,dc=org");
	return e;
}

struct floor_ctx {
	const struct entry *e;
	json_object *payload;
};

static void floor_attr(const char *attr, void *ud)
{
	struct floor_ctx *fc = ud;
	const struct entry_attr *a = entry_get(fc->e, attr);
	if (a && a->n)
		json_object_object_add(fc->payload, attr,
				       json_object_new_string_len(a->values[0].data, (int)a->values[0].len));
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: mapping_bench CONFIG TARGET N [ROUNDS]\n");
		return 64;
	}
	struct diag *d = diag_new();
	struct conf *c = NULL;
	if (conf_load(argv[1], &c, d) < 0) {
		diag_print(d, stderr);
		return 78;
	}
	diag_free(d);
	const struct conf_target *t = conf_find_target(c, argv[2]);
	if (!t) {
		fprintf(stderr, "mapping_bench: no target %s\n", argv[2]);
		return 64;
	}
	size_t n = strtoul(argv[3], NULL, 10);
	struct entry **entries = xcalloc(n, sizeof(*entries));
	for (size_t i = 0; i < n; i++)
		entries[i] = bench_entry(i);

	for (unsigned long r = argc == 5 ? strtoul(argv[4], NULL, 10) : 1; r > 1; r--)
		for (size_t i = 0; i < n; i++) {
			struct mapped m = { 0 };
			mapping_apply(t->mapping, entries[i], &m);
			mapped_clear(&m);
		}
	size_t valid = 0;
	double t0 = cpu_seconds();
	for (size_t i = 0; i < n; i++) {
		struct mapped m = { 0 };
		valid += mapping_apply(t->mapping, entries[i], &m) == 0;
		mapped_clear(&m);
	}
	double mapping_cpu = cpu_seconds() - t0;

	t0 = cpu_seconds();
	for (size_t i = 0; i < n; i++) {
		struct floor_ctx fc = { entries[i], json_object_new_object() };
		mapping_foreach_attr(t->mapping, floor_attr, &fc);
		const char *text = json_object_to_json_string_ext(fc.payload, JSON_C_TO_STRING_PLAIN);
		char hex[HASH_SHA256_HEX_LEN + 1];
		hash_sha256_hex(text, strlen(text), hex);
		json_object_put(fc.payload);
	}
	double floor_cpu = cpu_seconds() - t0;

	printf("entries %zu valid %zu fields %zu\n", n, valid, mapping_field_count(t->mapping));
	printf("mapping_cpu_s %.3f per_entry_us %.2f\n", mapping_cpu, mapping_cpu * 1e6 / (double)n);
	printf("floor_cpu_s %.3f per_entry_us %.2f\n", floor_cpu, floor_cpu * 1e6 / (double)n);
	printf("ratio %.2f\n", floor_cpu > 0 ? mapping_cpu / floor_cpu : 0.0);

	for (size_t i = 0; i < n; i++)
		entry_free(entries[i]);
	free(entries);
	conf_free(c);
	return 0;
}
