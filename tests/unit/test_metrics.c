/* Metrics: the Prometheus text format (HELP/TYPE, label escaping,
 * cumulative histogram buckets, totals across cycles) and the atomic
 * textfile write. */
#include "config.h"

#include "daemon/metrics.h"
#include "unit.h"
#include "util/sbuf.h"

#include <dirent.h>
#include <errno.h>

static char *escaped(const char *value)
{
	struct sbuf sb;
	sbuf_init(&sb);
	metrics_escape_label(&sb, value);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static void test_escape(void)
{
	char *s = escaped("plain-name_1");
	CU_ASSERT_STRING_EQUAL(s, "plain-name_1");
	free(s);
	s = escaped("a\\b\"c\nd");
	CU_ASSERT_STRING_EQUAL(s, "a\\\\b\\\"c\\nd");
	free(s);
	s = escaped("钉钉 main");
	CU_ASSERT_STRING_EQUAL(s, "钉钉 main");
	free(s);
	s = escaped("");
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
}

/* The line that starts with `prefix` followed by a space: its value. */
static const char *value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return p + n + 1;
	return NULL;
}

static bool value_is(const char *text, const char *series, const char *want)
{
	const char *v = value_of(text, series);
	size_t n = strlen(want);
	return v && strncmp(v, want, n) == 0 && v[n] == '\n';
}

static long long num(const char *text, const char *series)
{
	const char *v = value_of(text, series);
	CU_ASSERT_PTR_NOT_NULL(v);
	if (!v) {
		fprintf(stderr, "missing series: %s\n", series);
		return -1;
	}
	return strtoll(v, NULL, 10);
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			n++;
	return n;
}

static void report_one(struct metrics *m, const char *target, const struct push_stats *s, const char *result,
		       bool source_ok, int64_t now)
{
	struct cycle_target_report tr[2] = {
		{ .name = target, .ran = true, .result = result, .push = *s },
		{ .name = "disabled-one", .ran = false },
	};
	struct cycle_report r = { .source_ok = source_ok, .failed = s->failed, .entries = 7, .seconds = 1.5,
				  .targets = tr, .n_targets = 2 };
	metrics_add_cycle(m, &r, now);
}

static void test_format(void)
{
	struct metrics *m = metrics_new(1700000000);
	const char *names[] = { "dt \"main\"\\x", "idle" };
	struct metrics_target *t = metrics_target(m, names[0]);

	struct push_stats s1 = { .added = 3, .duplicate = 1, .found = 1, .updated = 2, .failed = 1, .throttled = 4,
				 .requests = 11, .deleted = 2, .disabled = 1, .rejected = 1 };
	report_one(m, names[0], &s1, "partial", true, 1700000100);
	struct push_stats s2 = { .added = 2, .requests = 2 };
	report_one(m, names[0], &s2, "ok", true, 1700000200);
	/* A failed read: no success for the target, whatever it did. */
	report_one(m, names[0], &s2, "source-failed", false, 1700000300);

	metrics_observe_seconds(t, 0.001);	/* <= 0.005 */
	metrics_observe_seconds(t, 0.005);	/* on a bound: that bucket */
	metrics_observe_seconds(t, 0.3);	/* <= 0.5 */
	metrics_observe_seconds(t, 100);	/* +Inf only */
	struct http_response resp = { .elapsed = 2.0 };
	metrics_observe(t, &resp);		/* <= 2.5 */

	long counts[MEMBER__COUNT] = { 0 };
	counts[MEMBER_SYNCED] = 40;
	counts[MEMBER_FAILED] = 2;
	counts[MEMBER_QUARANTINED] = 1;
	metrics_set_members(m, names[0], counts);

	size_t len;
	char *text = metrics_format(m, names, 2, &len);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT(len > 0 && text[len - 1] == '\n');

#define T0 "{target=\"dt \\\"main\\\"\\\\x\""
	CU_ASSERT_EQUAL(num(text, "membersync_adds_total" T0 "}"), 7);
	CU_ASSERT_EQUAL(num(text, "membersync_adds_total{target=\"idle\"}"), 0);
	CU_ASSERT_EQUAL(num(text, "membersync_already_present_total" T0 "}"), 2);
	CU_ASSERT_EQUAL(num(text, "membersync_updates_total" T0 "}"), 2);
	CU_ASSERT_EQUAL(num(text, "membersync_failures_total" T0 "}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_throttles_total" T0 "}"), 4);
	CU_ASSERT_EQUAL(num(text, "membersync_rejected_total" T0 "}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_requests_total" T0 "}"), 15);
	CU_ASSERT_EQUAL(num(text, "membersync_deprovisions_total" T0 ",action=\"disable\"}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_deprovisions_total" T0 ",action=\"delete\"}"), 2);
	CU_ASSERT_EQUAL(num(text, "membersync_members" T0 ",status=\"synced\"}"), 40);
	CU_ASSERT_EQUAL(num(text, "membersync_members" T0 ",status=\"failed\"}"), 2);
	CU_ASSERT_EQUAL(num(text, "membersync_members" T0 ",status=\"quarantined\"}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_members" T0 ",status=\"pending\"}"), 0);
	/* A target whose counts were never read has no member series. */
	CU_ASSERT_PTR_NULL(value_of(text, "membersync_members{target=\"idle\",status=\"synced\"}"));
	/* The disabled target was not planned and is not listed: nothing of it. */
	CU_ASSERT_PTR_NULL(strstr(text, "disabled-one"));

	CU_ASSERT_EQUAL(num(text, "membersync_last_success_timestamp_seconds" T0 "}"), 1700000200);
	CU_ASSERT_EQUAL(num(text, "membersync_last_success_timestamp_seconds{target=\"idle\"}"), 0);
	CU_ASSERT_EQUAL(num(text, "membersync_cycles_total{result=\"ok\"}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_cycles_total{result=\"partial\"}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_cycles_total{result=\"source-failed\"}"), 1);
	CU_ASSERT_EQUAL(num(text, "membersync_cycles_total{result=\"stopped\"}"), 0);
	CU_ASSERT_EQUAL(num(text, "membersync_directory_up"), 0);
	CU_ASSERT_EQUAL(num(text, "membersync_last_cycle_timestamp_seconds"), 1700000300);
	CU_ASSERT_EQUAL(num(text, "membersync_start_time_seconds"), 1700000000);
	CU_ASSERT_EQUAL(num(text, "membersync_last_cycle_entries"), 7);
	CU_ASSERT(value_is(text, "membersync_last_cycle_duration_seconds", "1.500000"));

	/* Histogram: cumulative buckets, +Inf == count, sum. */
#define H "membersync_request_duration_seconds"
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"0.005\"}"), 2);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"0.01\"}"), 2);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"0.5\"}"), 3);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"1\"}"), 3);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"2.5\"}"), 4);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"30\"}"), 4);
	CU_ASSERT_EQUAL(num(text, H "_bucket" T0 ",le=\"+Inf\"}"), 5);
	CU_ASSERT_EQUAL(num(text, H "_count" T0 "}"), 5);
	CU_ASSERT(value_is(text, H "_sum" T0 "}", "102.306000"));
	CU_ASSERT_EQUAL(num(text, H "_bucket{target=\"idle\",le=\"+Inf\"}"), 0);
	CU_ASSERT_EQUAL(num(text, H "_count{target=\"idle\"}"), 0);
	CU_ASSERT_EQUAL(count_lines(text, H "_bucket{target=\"idle\""), 13);

	/* One HELP and one TYPE per family, TYPE right after HELP. */
	CU_ASSERT_EQUAL(count_lines(text, "# TYPE membersync_deprovisions_total counter"), 1);
	CU_ASSERT_EQUAL(count_lines(text, "# TYPE " H " histogram"), 1);
	CU_ASSERT_EQUAL(count_lines(text, "# HELP "), count_lines(text, "# TYPE "));
	for (const char *p = strstr(text, "# HELP "); p; p = strstr(p + 1, "# HELP ")) {
		const char *nl = strchr(p, '\n');
		CU_ASSERT(nl && strncmp(nl + 1, "# TYPE ", 7) == 0);
		CU_ASSERT(strncmp(p + 7, nl + 8, (size_t)(strchr(nl + 8, ' ') - (nl + 8))) == 0);
	}
	/* Every sample's family was introduced before it: no stray names. */
	CU_ASSERT_PTR_NULL(strstr(text, "\n\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "membersync_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
#undef H
#undef T0
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct sbuf sb;
	sbuf_init(&sb);
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&sb, buf, n);
	fclose(f);
	char *s = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return s;
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write(void)
{
	char *dir = unit_tmpdir();
	char *path = NULL, *err = NULL;
	if (asprintf(&path, "%s/membersync.prom", dir) < 0)
		abort();
	mode_t old = umask(077);
	CU_ASSERT_EQUAL(metrics_write(path, "a 1\n", 4, &err), 0);
	CU_ASSERT_PTR_NULL(err);
	CU_ASSERT_EQUAL(metrics_write(path, "b 2\n", 4, &err), 0);
	umask(old);
	char *got = slurp(path);
	CU_ASSERT_STRING_EQUAL(got ? got : "", "b 2\n");
	free(got);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	/* No temporary file left. */
	CU_ASSERT_EQUAL(dir_entries(dir), 1);

	/* A folder that does not exist: -ENOENT, the path in the message,
	 * and nothing created. */
	char *bad = NULL;
	if (asprintf(&bad, "%s/missing/membersync.prom", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(metrics_write(bad, "a 1\n", 4, &err), -ENOENT);
	CU_ASSERT(err && strstr(err, bad) && strstr(err, strerror(ENOENT)));
	free(err);
	err = NULL;
	/* The path is a folder: rename fails, the temporary file goes. */
	CU_ASSERT(metrics_write(dir, "a 1\n", 4, &err) < 0);
	CU_ASSERT(err && strstr(err, dir));
	free(err);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
	free(bad);
	free(path);
	unit_rmrf(dir);
	free(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "label escaping", test_escape },
		{ "text format", test_format },
		{ "atomic write", test_write },
		{ NULL, NULL },
	};
	return unit_run("metrics", tests);
}
