/* The time functions (gentime, filetime, unix_s, unix_ms, iso8601) and
 * phone_e164: normal, empty, missing, multi-valued, non-UTF-8, huge and
 * hostile values, and load-time errors. */
#include "config.h"

#include "mapping/expr.h"
#include "mapping_fixture.h"
#include "unit.h"

#include <time.h>

/* src evaluated against an entry whose attribute "v" holds `value`. */
#define EXPECT_V(value, src, expected)                             \
	do {                                                       \
		struct entry *e_ = mfix_entry("v", (value), NULL); \
		MFIX_EXPECT(NULL, e_, (src), (expected));          \
		entry_free(e_);                                    \
	} while (0)

/* src evaluated against an entry whose attribute "v" holds a and b. */
#define EXPECT_V2(a, b, src, expected)                              \
	do {                                                        \
		struct entry *e_ = mfix_entry("v", (a), (b), NULL); \
		MFIX_EXPECT(NULL, e_, (src), (expected));           \
		entry_free(e_);                                     \
	} while (0)

#define HUGE_LEN ((size_t)1 << 20)

/* A 1 MB value: `head`, then `fill` repeated, then `tail`. */
static char *huge_value(const char *head, char fill, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(HUGE_LEN + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, fill, HUGE_LEN);
	memcpy(s, head, hl);
	memcpy(s + HUGE_LEN - tl, tail, tl);
	s[HUGE_LEN] = '\0';
	return s;
}

/* The error for a huge value: mval_append_quoted shows its first 64
 * characters and its length. */
static char *huge_error(const char *prefix, const char *value, const char *suffix)
{
	char *r;
	if (asprintf(&r, "ERR:%s\"%.64s\"... (%zu characters) %s", prefix, value, strlen(value), suffix) < 0)
		abort();
	return r;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Evaluates src on a huge value of "v" and checks the exact outcome, and
 * that it took linear rather than quadratic time (generous for valgrind). */
static void expect_huge(char *value, const char *src, const char *expected)
{
	struct entry *e = mfix_entry("v", value, NULL);
	double t0 = now_seconds();
	MFIX_EXPECT(NULL, e, src, expected);
	CU_ASSERT(now_seconds() - t0 < 20.0);
	entry_free(e);
	free(value);
}

/* An entry whose "v" holds bytes that are not UTF-8: the evaluator rejects
 * them before any function sees them. */
static void expect_non_utf8(const char *src)
{
	struct entry *e = entry_new("uid=bad,dc=example,dc=org");
	entry_attr_add_value(entry_attr_get_or_add(e, "v"), "2024\xff\xfe", 6);
	MFIX_EXPECT(NULL, e, src, "ERR:attribute 'v' has a value that is not valid UTF-8 text");
	entry_free(e);
}

static void test_gentime(void)
{
	EXPECT_V("20240102030405Z", "${v | gentime}", "time:2024-01-02T03:04:05Z");
	EXPECT_V("20240102030405.123Z", "${v | gentime}", "time:2024-01-02T03:04:05.123Z");
	EXPECT_V("20240102030405,5Z", "${v | gentime}", "time:2024-01-02T03:04:05.500Z");
	/* Digits below the millisecond are cut, not rounded. */
	EXPECT_V("20240102030405.9999Z", "${v | gentime}", "time:2024-01-02T03:04:05.999Z");
	EXPECT_V("20240102030405.1234567891234567Z", "${v | gentime}", "time:2024-01-02T03:04:05.123Z");
	/* Minutes and seconds are optional; a fraction is of the last unit. */
	EXPECT_V("202401020304Z", "${v | gentime}", "time:2024-01-02T03:04:00Z");
	EXPECT_V("2024010203Z", "${v | gentime}", "time:2024-01-02T03:00:00Z");
	EXPECT_V("2024010203.5Z", "${v | gentime}", "time:2024-01-02T03:30:00Z");
	EXPECT_V("202401020304.25Z", "${v | gentime}", "time:2024-01-02T03:04:15Z");
	EXPECT_V("2024010203,999999999999Z", "${v | gentime}", "time:2024-01-02T03:59:59.999Z");
	/* Zones. */
	EXPECT_V("20240102030405+0800", "${v | gentime}", "time:2024-01-01T19:04:05Z");
	EXPECT_V("20240102030405-0530", "${v | gentime}", "time:2024-01-02T08:34:05Z");
	EXPECT_V("20240102030405+08", "${v | gentime}", "time:2024-01-01T19:04:05Z");
	EXPECT_V("20240102030405-0000", "${v | gentime}", "time:2024-01-02T03:04:05Z");
	EXPECT_V("20240102030405.5+0100", "${v | gentime}", "time:2024-01-02T02:04:05.500Z");
	/* No zone: taken as UTC. */
	EXPECT_V("20240102030405", "${v | gentime}", "time:2024-01-02T03:04:05Z");
	EXPECT_V("2024010203", "${v | gentime}", "time:2024-01-02T03:00:00Z");
	/* Leap years: 2000 is one, 1900 is not. */
	EXPECT_V("20240229120000Z", "${v | gentime}", "time:2024-02-29T12:00:00Z");
	EXPECT_V("20000229000000Z", "${v | gentime}", "time:2000-02-29T00:00:00Z");
	EXPECT_V(
		"20230229000000Z", "${v | gentime}",
		"ERR:gentime: value \"20230229000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): February "
		"2023 has no day 29");
	EXPECT_V(
		"19000229000000Z", "${v | gentime}",
		"ERR:gentime: value \"19000229000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): February "
		"1900 has no day 29");
	EXPECT_V("20240431000000Z", "${v | gentime}",
		 "ERR:gentime: value \"20240431000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): April "
		 "2024 "
		 "has no day 31");
	EXPECT_V("20240100000000Z", "${v | gentime}",
		 "ERR:gentime: value \"20240100000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): January "
		 "2024 has no day 00");
	EXPECT_V(
		"20241301000000Z", "${v | gentime}",
		"ERR:gentime: value \"20241301000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): there is "
		"no month 13");
	EXPECT_V(
		"20240001000000Z", "${v | gentime}",
		"ERR:gentime: value \"20240001000000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): there is "
		"no month 00");
	EXPECT_V("20240101240000Z", "${v | gentime}",
		 "ERR:gentime: value \"20240101240000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): hour 24 "
		 "is "
		 "out of range (00 to 23)");
	EXPECT_V("20240101236000Z", "${v | gentime}",
		 "ERR:gentime: value \"20240101236000Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): minute "
		 "60 "
		 "is out of range (00 to 59)");
	/* A leap second counts as POSIX counts it; :61 does not exist. */
	EXPECT_V("20241231235960Z", "${v | gentime}", "time:2025-01-01T00:00:00Z");
	EXPECT_V("20241231235961Z", "${v | gentime}",
		 "ERR:gentime: value \"20241231235961Z\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): second "
		 "61 "
		 "is out of range (00 to 60)");
	/* Odd zones. */
	EXPECT_V("20240102030405+2400", "${v | gentime}",
		 "ERR:gentime: value \"20240102030405+2400\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): the "
		 "zone offset +2400 is out of range");
	EXPECT_V("20240102030405-0060", "${v | gentime}",
		 "ERR:gentime: value \"20240102030405-0060\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ): the "
		 "zone offset -0060 is out of range");
	static const char *const junk[] = {
		"20240102030405+5",
		"20240102030405+05:30",
		"20240102030405z",
		"20240102030405Z ",
		" 20240102030405Z",
		"20240102030405ZZ",
		"20240102030405+",
		"2024010203.Z",
		"202401020304051Z",
		"20240102030Z",
		"202401020Z",
		"2024-13-01",
		"2024-01-02T03:04:05Z",
		"junk",
		"Z",
		"20240102030405.Z",
		"99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		char *want;
		if (asprintf(&want, "ERR:gentime: value \"%s\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ)",
			     junk[i]) < 0)
			abort();
		EXPECT_V(junk[i], "${v | gentime}", want);
		free(want);
	}
	/* Years 1601 to 9999 only, after the zone is applied. */
	EXPECT_V("16010101000000Z", "${v | gentime}", "time:1601-01-01T00:00:00Z");
	EXPECT_V("99991231235959.999Z", "${v | gentime}", "time:9999-12-31T23:59:59.999Z");
	EXPECT_V("16001231235959Z", "${v | gentime}",
		 "ERR:gentime: value \"16001231235959Z\" is before the year 1601");
	EXPECT_V("00000101000000Z", "${v | gentime}",
		 "ERR:gentime: value \"00000101000000Z\" is before the year 1601");
	EXPECT_V("16010101000000+0100", "${v | gentime}",
		 "ERR:gentime: value \"16010101000000+0100\" is before the year 1601");
	EXPECT_V("99991231235959-0100", "${v | gentime}",
		 "ERR:gentime: value \"99991231235959-0100\" is after the year 9999");
	EXPECT_V("99991231235960Z", "${v | gentime}",
		 "ERR:gentime: value \"99991231235960Z\" is after the year 9999");
	/* Empty and missing values are no value. */
	EXPECT_V("", "${v | gentime}", "NULL");
	EXPECT_V("", "${missing | gentime}", "NULL");
	EXPECT_V("", "${missing[*] | gentime}", "[]");
	/* Arrays: element by element; the first bad one is named. */
	EXPECT_V2("20240102030405Z", "19991231235959Z", "${v[*] | gentime}",
		  "[2024-01-02T03:04:05Z|1999-12-31T23:59:59Z]");
	EXPECT_V2("20240102030405Z", "yesterday", "${v[*] | gentime}",
		  "ERR:gentime: value \"yesterday\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ)");
	EXPECT_V("20240102030405Z", "${[v, null, ''] | gentime}", "[2024-01-02T03:04:05Z||]");
	EXPECT_V("20240102030405Z", "${[[v]] | gentime}", "[2024-01-02T03:04:05Z]");
	/* A time passes through; other scalars are read as text. */
	EXPECT_V("20240102030405Z", "${v | gentime | gentime}", "time:2024-01-02T03:04:05Z");
	EXPECT_V("", "${20240102030405 | gentime}", "time:2024-01-02T03:04:05Z");
	EXPECT_V("", "${true | gentime}",
		 "ERR:gentime: value \"true\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ)");
	/* Control characters are escaped in the reason. */
	EXPECT_V("2024\n", "${v | gentime}",
		 "ERR:gentime: value \"2024\\x0a\" is not a GeneralizedTime (YYYYMMDDHHMMSSZ)");
	expect_non_utf8("${v | gentime}");

	/* 1 MB: a fraction of a million digits parses in one pass; junk is
	 * quoted in part. */
	expect_huge(huge_value("2024010203.", '9', "Z"), "${v | gentime}", "time:2024-01-02T03:59:59.999Z");
	char *junk_value = huge_value("", 'a', "");
	char *want = huge_error("gentime: value ", junk_value, "is not a GeneralizedTime (YYYYMMDDHHMMSSZ)");
	expect_huge(junk_value, "${v | gentime}", want);
	free(want);
	char *nines = huge_value("", '9', "");
	want = huge_error("gentime: value ", nines, "is not a GeneralizedTime (YYYYMMDDHHMMSSZ)");
	expect_huge(nines, "${v | gentime}", want);
	free(want);
}

static void test_filetime(void)
{
	EXPECT_V("133485408000000000", "${v | filetime}", "time:2024-01-01T00:00:00Z");
	/* 100 ns units below the millisecond are cut. */
	EXPECT_V("133485408001239999", "${v | filetime}", "time:2024-01-01T00:00:00.123Z");
	EXPECT_V("116444736000000000", "${v | filetime}", "time:1970-01-01T00:00:00Z");
	EXPECT_V("1", "${v | filetime}", "time:1601-01-01T00:00:00Z");
	EXPECT_V("0000133485408000000000", "${v | filetime}", "time:2024-01-01T00:00:00Z");
	EXPECT_V("", "${133485408000000000 | filetime}", "time:2024-01-01T00:00:00Z");
	/* accountExpires: 0 and INT64_MAX are "never". */
	EXPECT_V("0", "${v | filetime}", "NULL");
	EXPECT_V("9223372036854775807", "${v | filetime}", "NULL");
	EXPECT_V("", "${0 | filetime}", "NULL");
	EXPECT_V("", "${9223372036854775807 | filetime}", "NULL");
	/* The last instant of 9999, and past it. */
	EXPECT_V("2650467743999999999", "${v | filetime}", "time:9999-12-31T23:59:59.999Z");
	EXPECT_V("2650467744000000000", "${v | filetime}",
		 "ERR:filetime: value \"2650467744000000000\" is after the year 9999");
	EXPECT_V("9223372036854775806", "${v | filetime}",
		 "ERR:filetime: value \"9223372036854775806\" is after the year 9999");
	EXPECT_V("", "${9223372036854775806 | filetime}",
		 "ERR:filetime: value 9223372036854775806 is after the year 9999");
	EXPECT_V("9223372036854775808", "${v | filetime}",
		 "ERR:filetime: value \"9223372036854775808\" is out of range (a FILETIME is at most "
		 "9223372036854775807)");
	EXPECT_V("99999999999999999999999", "${v | filetime}",
		 "ERR:filetime: value \"99999999999999999999999\" is out of range (a FILETIME is at most "
		 "9223372036854775807)");
	/* Negative and non-numeric values. */
	EXPECT_V("-1", "${v | filetime}",
		 "ERR:filetime: value \"-1\" is negative (a FILETIME counts from 1601)");
	EXPECT_V(
		"-99999999999999999999999", "${v | filetime}",
		"ERR:filetime: value \"-99999999999999999999999\" is negative (a FILETIME counts from 1601)");
	EXPECT_V("", "${-5 | filetime}", "ERR:filetime: value -5 is negative (a FILETIME counts from 1601)");
	EXPECT_V("-0", "${v | filetime}", "NULL");
	static const char *const junk[] = {
		"12a", " 1", "1 ", "+1", "-", "1.5", "0x10", "never", "--1", "1e9"
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		char *want;
		if (asprintf(&want,
			     "ERR:filetime: value \"%s\" is not a FILETIME (a count of 100-nanosecond "
			     "intervals "
			     "since 1601, in decimal)",
			     junk[i]) < 0)
			abort();
		EXPECT_V(junk[i], "${v | filetime}", want);
		free(want);
	}
	EXPECT_V("", "${v | filetime}", "NULL");
	EXPECT_V("", "${missing | filetime}", "NULL");
	EXPECT_V2("133485408000000000", "0", "${v[*] | filetime}", "[2024-01-01T00:00:00Z|]");
	EXPECT_V2("133485408000000000", "x", "${v[*] | filetime}",
		  "ERR:filetime: value \"x\" is not a FILETIME (a count of 100-nanosecond intervals since "
		  "1601, in "
		  "decimal)");
	/* A time passes through. */
	EXPECT_V("20240102030405Z", "${v | gentime | filetime}", "time:2024-01-02T03:04:05Z");
	expect_non_utf8("${v | filetime}");
	char *ones = huge_value("", '1', "");
	char *want = huge_error("filetime: value ", ones,
				"is out of range (a FILETIME is at most 9223372036854775807)");
	expect_huge(ones, "${v | filetime}", want);
	free(want);
	expect_huge(huge_value("", '0', "1"), "${v | filetime}", "time:1601-01-01T00:00:00Z");
}

static void test_unix(void)
{
	EXPECT_V("20240102030405Z", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("20240102030405Z", "${v | unix_ms}", "integer:1704164645000");
	EXPECT_V("20240102030405.123Z", "${v | unix_ms}", "integer:1704164645123");
	EXPECT_V("20240102030405.999Z", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("20240102030405Z", "${v | gentime | unix_ms}", "integer:1704164645000");
	EXPECT_V("133485408000000000", "${v | filetime | unix_s}", "integer:1704067200");
	/* Seconds are the floor, also before 1970. */
	EXPECT_V("19691231235959.5Z", "${v | unix_ms}", "integer:-500");
	EXPECT_V("19691231235959.5Z", "${v | unix_s}", "integer:-1");
	EXPECT_V("16010101000000Z", "${v | unix_ms}", "integer:-11644473600000");
	EXPECT_V("99991231235959.999Z", "${v | unix_ms}", "integer:253402300799999");
	EXPECT_V("99991231235959.999Z", "${v | unix_s}", "integer:253402300799");
	/* ISO 8601 text. */
	EXPECT_V("2024-01-02T03:04:05Z", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-02", "${v | unix_s}", "integer:1704153600");
	EXPECT_V("2024-01-02 03:04:05", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-02t03:04:05z", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-02T03:04", "${v | unix_s}", "integer:1704164640");
	EXPECT_V("2024-01-02T11:04:05+08:00", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-02T11:04:05+0800", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-02T11:04:05+08", "${v | unix_s}", "integer:1704164645");
	EXPECT_V("2024-01-01T22:04:05.25-05:00", "${v | unix_ms}", "integer:1704164645250");
	EXPECT_V("2024-01-02T03:04:05,5Z", "${v | unix_ms}", "integer:1704164645500");
	/* Digits that make a GeneralizedTime without a zone are one. */
	EXPECT_V("2024010203", "${v | unix_s}", "integer:1704164400");
	/* Numbers are not times. */
	EXPECT_V("", "${1700000000 | unix_s}",
		 "ERR:unix_s: value 1700000000 is a number, not a time (convert it with gentime or filetime "
		 "first)");
	EXPECT_V("1700000000", "${v | unix_s}",
		 "ERR:unix_s: value \"1700000000\" is a number, not a time (convert it with gentime or "
		 "filetime "
		 "first)");
	EXPECT_V("133485408000000000", "${v | unix_ms}",
		 "ERR:unix_ms: value \"133485408000000000\" is a number, not a time (convert it with gentime "
		 "or "
		 "filetime first)");
	EXPECT_V("-5", "${v | unix_ms}",
		 "ERR:unix_ms: value \"-5\" is a number, not a time (convert it with gentime or filetime "
		 "first)");
	EXPECT_V("99999999999999999999999", "${v | unix_s}",
		 "ERR:unix_s: value \"99999999999999999999999\" is a number, not a time (convert it with "
		 "gentime "
		 "or filetime first)");
	/* Malformed times say which format they looked like. */
	EXPECT_V("20230229000000Z", "${v | unix_s}",
		 "ERR:unix_s: value \"20230229000000Z\" is not a valid GeneralizedTime (YYYYMMDDHHMMSSZ): "
		 "February 2023 has no day 29");
	EXPECT_V("20240102030405Q", "${v | unix_s}",
		 "ERR:unix_s: value \"20240102030405Q\" is not a valid GeneralizedTime (YYYYMMDDHHMMSSZ)");
	EXPECT_V("2024-13-01", "${v | unix_ms}",
		 "ERR:unix_ms: value \"2024-13-01\" is not a valid ISO 8601 time "
		 "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM]): there is no month 13");
	EXPECT_V("2024-01-02T24:00:00Z", "${v | unix_s}",
		 "ERR:unix_s: value \"2024-01-02T24:00:00Z\" is not a valid ISO 8601 time "
		 "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM]): hour 24 is out of range (00 to 23)");
	EXPECT_V("2024-01-02T03", "${v | unix_s}",
		 "ERR:unix_s: value \"2024-01-02T03\" is not a valid ISO 8601 time "
		 "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])");
	EXPECT_V("foo", "${v | unix_s}",
		 "ERR:unix_s: value \"foo\" is not a time (expected a GeneralizedTime such as "
		 "20240102030405Z or "
		 "an ISO 8601 time such as 2024-01-02T03:04:05Z)");
	EXPECT_V("", "${true | unix_ms}",
		 "ERR:unix_ms: value \"true\" is not a time (expected a GeneralizedTime such as "
		 "20240102030405Z "
		 "or an ISO 8601 time such as 2024-01-02T03:04:05Z)");
	/* Range. */
	EXPECT_V("1600-12-31T23:59:59Z", "${v | unix_s}",
		 "ERR:unix_s: value \"1600-12-31T23:59:59Z\" is before the year 1601");
	EXPECT_V("9999-12-31T23:59:59-00:01", "${v | unix_s}",
		 "ERR:unix_s: value \"9999-12-31T23:59:59-00:01\" is after the year 9999");
	/* Empty, missing, arrays. */
	EXPECT_V("", "${v | unix_s}", "NULL");
	EXPECT_V("", "${missing | unix_ms}", "NULL");
	EXPECT_V("", "${missing[*] | unix_ms}", "[]");
	EXPECT_V2("20240102030405Z", "2024-01-02", "${v[*] | unix_s}", "[1704164645|1704153600]");
	EXPECT_V2("20240102030405Z", "1", "${v[*] | unix_s}",
		  "ERR:unix_s: value \"1\" is a number, not a time (convert it with gentime or filetime "
		  "first)");
	expect_non_utf8("${v | unix_s}");
	expect_non_utf8("${v | unix_ms}");
	expect_huge(huge_value("2024-01-02T03:04:05.", '7', "Z"), "${v | unix_ms}", "integer:1704164645777");
	char *num = huge_value("", '5', "");
	char *want = huge_error("unix_s: value ", num,
				"is a number, not a time (convert it with gentime or filetime first)");
	expect_huge(num, "${v | unix_s}", want);
	free(want);
}

static void test_iso8601(void)
{
	EXPECT_V("20240102030405Z", "${v | iso8601}", "string:2024-01-02T03:04:05Z");
	EXPECT_V("20240102030405.5+0800", "${v | iso8601}", "string:2024-01-01T19:04:05.500Z");
	EXPECT_V("2024-01-02T03:04:05.123456+01:00", "${v | iso8601}", "string:2024-01-02T02:04:05.123Z");
	EXPECT_V("2024-01-02", "${v | iso8601}", "string:2024-01-02T00:00:00Z");
	EXPECT_V("2024-01-02T03:04:05+14:00", "${v | iso8601}", "string:2024-01-01T13:04:05Z");
	EXPECT_V("2024-01-02T03:04:05-12:00", "${v | iso8601}", "string:2024-01-02T15:04:05Z");
	EXPECT_V("2024-01-02T03:04:05+0530", "${v | iso8601}", "string:2024-01-01T21:34:05Z");
	EXPECT_V("2024-01-02T03:04:05-00:00", "${v | iso8601}", "string:2024-01-02T03:04:05Z");
	EXPECT_V("2016-12-31T23:59:60Z", "${v | iso8601}", "string:2017-01-01T00:00:00Z");
	EXPECT_V("1601-01-01", "${v | iso8601}", "string:1601-01-01T00:00:00Z");
	EXPECT_V("133485408000000000", "${v | filetime | iso8601}", "string:2024-01-01T00:00:00Z");
	EXPECT_V("1", "${v | filetime | iso8601}", "string:1601-01-01T00:00:00Z");
	/* Odd zones. */
	static const char *const bad_zone[] = {
		"2024-01-02T03:04:05+5",
		"2024-01-02T03:04:05+05:3",
		"2024-01-02T03:04:05+05:",
		"2024-01-02T03:04:05+05::30",
		"2024-01-02T03:04:05 Z",
		"2024-01-02Z",
		"2024-01-02T",
		"2024-01-02T03:04:05.",
		"2024-1-02",
		"2024-01-02T3:04:05Z",
		"2024-01-02T03:04:05ZZ",
		"2024-01-02T03:04:05UTC",
	};
	for (size_t i = 0; i < sizeof(bad_zone) / sizeof(bad_zone[0]); i++) {
		char *want;
		if (asprintf(&want,
			     "ERR:iso8601: value \"%s\" is not a valid ISO 8601 time "
			     "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])",
			     bad_zone[i]) < 0)
			abort();
		EXPECT_V(bad_zone[i], "${v | iso8601}", want);
		free(want);
	}
	EXPECT_V("2024-01-02T03:04:05+24:00", "${v | iso8601}",
		 "ERR:iso8601: value \"2024-01-02T03:04:05+24:00\" is not a valid ISO 8601 time "
		 "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM]): the zone offset +2400 is out of range");
	EXPECT_V("2024-02-30", "${v | iso8601}",
		 "ERR:iso8601: value \"2024-02-30\" is not a valid ISO 8601 time "
		 "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM]): February 2024 has no day 30");
	EXPECT_V("", "${42 | iso8601}",
		 "ERR:iso8601: value 42 is a number, not a time (convert it with gentime or filetime first)");
	EXPECT_V("", "${v | iso8601}", "NULL");
	EXPECT_V("", "${missing | iso8601}", "NULL");
	EXPECT_V2("20240102030405Z", "2024-06-30T12:00:00+02:00", "${v[*] | iso8601}",
		  "[2024-01-02T03:04:05Z|2024-06-30T10:00:00Z]");
	EXPECT_V2("20240102030405Z", "2024-06-31", "${v[*] | iso8601}",
		  "ERR:iso8601: value \"2024-06-31\" is not a valid ISO 8601 time "
		  "(YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM]): June 2024 has no day 31");
	/* In a template the result is text like any other. */
	EXPECT_V("20240102030405Z", "since ${v | iso8601}", "string:since 2024-01-02T03:04:05Z");
	expect_non_utf8("${v | iso8601}");
	char *junk = huge_value("2024-01-02T03:04:05", ' ', "Z");
	char *want = huge_error("iso8601: value ", junk,
				"is not a valid ISO 8601 time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])");
	expect_huge(junk, "${v | iso8601}", want);
	free(want);
}

/* phone_e164 with `region` on a single value. */
static void expect_phone(const char *value, const char *region, const char *expected)
{
	char *src;
	if (asprintf(&src, "${v | phone_e164('%s')}", region) < 0)
		abort();
	EXPECT_V(value, src, expected);
	free(src);
}

static void test_phone_examples(void)
{
	expect_phone("+86 134-1234-1234", "CN", "string:+8613412341234");
	expect_phone("134 1234 1234", "CN", "string:+8613412341234");
	expect_phone("0086 134 1234 1234", "CN", "string:+8613412341234");
	expect_phone("(415) 555-2671", "US", "string:+14155552671");
	expect_phone("1-415-555-2671", "US", "string:+14155552671");
	expect_phone("020 7946 0958", "GB", "string:+442079460958");
	expect_phone("+44 (0)20 7946 0958", "GB", "string:+442079460958");
	expect_phone("+44 (0)20 7946 0958", "CN", "string:+442079460958");
	expect_phone("06 12 34 56 78", "FR", "string:+33612345678");
	expect_phone("02 1234 5678", "IT", "string:+390212345678");
}

static void test_phone_rules(void)
{
	/* Regions by code in any case, or by calling code. */
	expect_phone("134 1234 1234", "cn", "string:+8613412341234");
	expect_phone("134 1234 1234", "+86", "string:+8613412341234");
	expect_phone("134 1234 1234", "86", "string:+8613412341234");
	EXPECT_V("134 1234 1234", "${v | phone_e164(86)}", "string:+8613412341234");
	expect_phone("(415) 555-2671", "+1", "string:+14155552671");
	expect_phone("(416) 555-2671", "ca", "string:+14165552671");
	/* Trunk prefixes: 8 in Russia (kept when the 8 belongs to the
	 * number), 06 in Hungary, none in Italy, whose 0 stays. */
	expect_phone("8 (912) 345-67-89", "RU", "string:+79123456789");
	expect_phone("8 800 123-45-67", "RU", "string:+78001234567");
	expect_phone("800 123 45 67", "RU", "string:+78001234567");
	expect_phone("8 (727) 123-45-67", "KZ", "string:+77271234567");
	expect_phone("06 1 234 5678", "HU", "string:+3612345678");
	expect_phone("+39 (0)2 1234 5678", "IT", "string:+390212345678");
	expect_phone("+39 02 1234 5678", "GB", "string:+390212345678");
	expect_phone("612 345 678", "ES", "string:+34612345678");
	expect_phone("030 1234567", "DE", "string:+49301234567");
	expect_phone("090-1234-5678", "JP", "string:+819012345678");
	expect_phone("0412 345 678", "AU", "string:+61412345678");
	expect_phone("98765 43210", "IN", "string:+919876543210");
	expect_phone("2123 4567", "HK", "string:+85221234567");
	/* The trunk 0 after a country code, with or without "(0)". */
	expect_phone("+44 020 7946 0958", "US", "string:+442079460958");
	expect_phone("+49 (0)30 1234567", "DE", "string:+49301234567");
	/* "(0)" goes after any country code, also one not in the table
	 * (Zimbabwe), but not after Italy's. */
	expect_phone("+263 (0)4 123456", "US", "string:+2634123456");
	/* Separators: NBSP, slashes, dots, unicode dashes, ideographic space,
	 * fullwidth digits of CJK input. */
	expect_phone("134\xc2\xa0"
		     "1234\xc2\xa0"
		     "1234",
		     "CN", "string:+8613412341234");
	expect_phone("0 30/123.45.67", "DE", "string:+49301234567");
	expect_phone("134\xe2\x80\x93"
		     "1234\xe3\x80\x80"
		     "1234",
		     "CN", "string:+8613412341234");
	expect_phone("\xef\xbc\x91\xef\xbc\x93\xef\xbc\x94 1234 1234", "CN", "string:+8613412341234");
	expect_phone("\xef\xbc\x8b"
		     "86 134 1234 1234",
		     "US", "string:+8613412341234");
	/* A country code without its '+', when the national reading fails. */
	expect_phone("86 134 1234 1234", "CN", "string:+8613412341234");
	/* Numbers: as text. */
	EXPECT_V("", "${13412341234 | phone_e164('CN')}", "string:+8613412341234");
	/* Already E.164 stays so. */
	expect_phone("+8613412341234", "US", "string:+8613412341234");
	expect_phone("+1 415 555 2671", "CN", "string:+14155552671");
}

static void test_phone_errors(void)
{
	expect_phone(
		"12345", "CN",
		"ERR:phone_e164: value \"12345\" is too short for a CN number (expected 10 to 11 digits, got "
		"5)");
	expect_phone(
		"134 1234 12345", "CN",
		"ERR:phone_e164: value \"134 1234 12345\" is too long for a CN number (expected 10 to 11 "
		"digits, got 12)");
	expect_phone("555-2671", "US",
		     "ERR:phone_e164: value \"555-2671\" is too short for a US number (expected 10 digits, "
		     "got 7)");
	expect_phone(
		"06 12 34 56", "FR",
		"ERR:phone_e164: value \"06 12 34 56\" is too short for an FR number (expected 9 digits, got "
		"7)");
	expect_phone(
		"99999999999999999999999", "US",
		"ERR:phone_e164: value \"99999999999999999999999\" is too long for a US number (expected 10 "
		"digits, got 23)");
	/* A trunk prefix always goes, except Russia's 8 (see above). */
	expect_phone("02291", "DE",
		     "ERR:phone_e164: value \"02291\" is too short for a DE number (expected 6 to 13 digits, "
		     "got 4)");
	expect_phone("1415555267", "US",
		     "ERR:phone_e164: value \"1415555267\" is too short for a US number (expected 10 digits, "
		     "got 9)");
	expect_phone("+86 123", "CN",
		     "ERR:phone_e164: value \"+86 123\" is too short for an international number (expected 8 "
		     "to 15 "
		     "digits, got 5)");
	expect_phone("+1234 5678 9012 3456", "CN",
		     "ERR:phone_e164: value \"+1234 5678 9012 3456\" is too long for an international number "
		     "(expected 8 to 15 digits, got 16)");
	expect_phone(
		"00", "CN",
		"ERR:phone_e164: value \"00\" is too short for an international number (expected 8 to 15 "
		"digits, got 0)");
	expect_phone("+0086 134 1234 1234", "CN",
		     "ERR:phone_e164: value \"+0086 134 1234 1234\" has no country code after '+' (country "
		     "codes do "
		     "not start with 0)");
	expect_phone("000 86 134 1234 1234", "CN",
		     "ERR:phone_e164: value \"000 86 134 1234 1234\" has no country code after '00' (country "
		     "codes "
		     "do not start with 0)");
	/* Extensions, letters, stray characters. */
	static const char *const ext[] = {
		"+1 415 555 2671 x123",       "415-555-2671 ext. 5", "415-555-2671;ext=5", "415-555-2671 #5",
		"415 555 2671 Extension: 12", "415 555 2671, 5",     "4155552671X9",
	};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		char *want;
		if (asprintf(&want,
			     "ERR:phone_e164: value \"%s\" has an extension, which an E.164 number cannot "
			     "hold",
			     ext[i]) < 0)
			abort();
		expect_phone(ext[i], "US", want);
		free(want);
	}
	expect_phone(
		"1-800-FLOWERS", "US",
		"ERR:phone_e164: value \"1-800-FLOWERS\" has letters, which an E.164 number cannot hold");
	expect_phone("x123", "US",
		     "ERR:phone_e164: value \"x123\" has letters, which an E.164 number cannot hold");
	expect_phone(
		"415 555 2671 x", "US",
		"ERR:phone_e164: value \"415 555 2671 x\" has letters, which an E.164 number cannot hold");
	expect_phone("415*555*2671", "US",
		     "ERR:phone_e164: value \"415*555*2671\" has '*', which is not part of a phone number");
	expect_phone("415 555 2671 #", "US",
		     "ERR:phone_e164: value \"415 555 2671 #\" has '#', which is not part of a phone number");
	expect_phone(
		"\xe7\x94\xb5\xe8\xaf\x9d 134 1234 1234", "CN",
		"ERR:phone_e164: value \"\xe7\x94\xb5\xe8\xaf\x9d 134 1234 1234\" has the character U+7535, "
		"which is not part of a phone number");
	expect_phone(
		"134\t1234\n1234", "CN",
		"ERR:phone_e164: value \"134\\x091234\\x0a1234\" has the character U+000A, which is not part "
		"of a phone number");
	expect_phone(
		"134 '1234'", "CN",
		"ERR:phone_e164: value \"134 '1234'\" has the character U+0027, which is not part of a phone "
		"number");
	expect_phone("12+34", "US", "ERR:phone_e164: value \"12+34\" has a '+' that is not at the start");
	expect_phone("++86 134 1234 1234", "CN",
		     "ERR:phone_e164: value \"++86 134 1234 1234\" has a '+' that is not at the start");
	expect_phone("+", "US", "ERR:phone_e164: value \"+\" has no digits");
	expect_phone(" - ( ) ", "US", "ERR:phone_e164: value \" - ( ) \" has no digits");
	EXPECT_V("", "${true | phone_e164('US')}",
		 "ERR:phone_e164: value \"true\" has letters, which an E.164 number cannot hold");
}

static void test_phone_values(void)
{
	EXPECT_V("", "${v | phone_e164('CN')}", "NULL");
	EXPECT_V("", "${missing | phone_e164('CN')}", "NULL");
	EXPECT_V("", "${missing[*] | phone_e164('CN')}", "[]");
	EXPECT_V2("134 1234 1234", "+1 415 555 2671", "${v[*] | phone_e164('CN')}",
		  "[+8613412341234|+14155552671]");
	EXPECT_V2("134 1234 1234", "12", "${v[*] | phone_e164('CN')}",
		  "ERR:phone_e164: value \"12\" is too short for a CN number (expected 10 to 11 digits, got "
		  "2)");
	EXPECT_V("134 1234 1234", "${[v, null, ''] | phone_e164('CN')}", "[+8613412341234||]");
	expect_non_utf8("${v | phone_e164('CN')}");
	char *ones = huge_value("", '1', "");
	char *want = huge_error("phone_e164: value ", ones,
				"has 1048576 digits, more than any phone number (E.164 allows at most 15)");
	expect_huge(ones, "${v | phone_e164('CN')}", want);
	free(want);
	char *spaces = huge_value("", ' ', "");
	want = huge_error("phone_e164: value ", spaces, "has no digits");
	expect_huge(spaces, "${v | phone_e164('CN')}", want);
	free(want);
	char *ext = huge_value("+1 415 555 2671 x", '1', "");
	want = huge_error("phone_e164: value ", ext, "has an extension, which an E.164 number cannot hold");
	expect_huge(ext, "${v | phone_e164('US')}", want);
	free(want);
	expect_huge(huge_value("134 1234 1234", ' ', ""), "${v | phone_e164('CN')}", "string:+8613412341234");
}

static void test_phone_load_errors(void)
{
	static const char *const cases[][2] = {
		{ "${v | phone_e164('XX')}",
		  "COMPILE:7:phone_e164: unknown region \"XX\" (expected an ISO 3166-1 alpha-2 code such as "
		  "'CN' or "
		  "a calling code such as '+86', of a region phone_e164 knows; see membersync.conf(5))" },
		{ "${v | phone_e164('UK')}",
		  "COMPILE:7:phone_e164: unknown region \"UK\" (did you mean 'GB'?)" },
		{ "${v | phone_e164('uk')}",
		  "COMPILE:7:phone_e164: unknown region \"uk\" (did you mean 'GB'?)" },
		{ "${v | phone_e164('CHN')}",
		  "COMPILE:7:phone_e164: unknown region \"CHN\" (did you mean 'CN'?)" },
		{ "${v | phone_e164('usa')}",
		  "COMPILE:7:phone_e164: unknown region \"usa\" (did you mean 'US'?)" },
		{ "${v | phone_e164('China')}",
		  "COMPILE:7:phone_e164: unknown region \"China\" (did you mean 'CN'?)" },
		{ "${v | phone_e164('Germnay')}",
		  "COMPILE:7:phone_e164: unknown region \"Germnay\" (did you mean 'DE'?)" },
		{ "${v | phone_e164('0086')}",
		  "COMPILE:7:phone_e164: unknown region \"0086\" (did you mean '+86'?)" },
		{ "${v | phone_e164('+999')}", "COMPILE:7:phone_e164: unknown calling code \"+999\" "
					       "(expected an ISO 3166-1 alpha-2 code such as "
					       "'CN' or a calling code such as '+86', of a region phone_e164 "
					       "knows; see membersync.conf(5))" },
		{ "${v | phone_e164(999)}", "COMPILE:7:phone_e164: unknown calling code 999 (expected an ISO "
					    "3166-1 alpha-2 code such as "
					    "'CN' or a calling code such as '+86', of a region phone_e164 "
					    "knows; see membersync.conf(5))" },
		{ "${v | phone_e164('')}",
		  "COMPILE:7:phone_e164: unknown region \"\" (expected an ISO 3166-1 alpha-2 code such as "
		  "'CN' or "
		  "a calling code such as '+86', of a region phone_e164 knows; see membersync.conf(5))" },
		{ "${v | phone_e164('C N')}",
		  "COMPILE:7:phone_e164: unknown region \"C N\" (expected an ISO 3166-1 alpha-2 code such as "
		  "'CN' "
		  "or a calling code such as '+86', of a region phone_e164 knows; see membersync.conf(5))" },
		{ "${v | phone_e164(true)}",
		  "COMPILE:7:phone_e164: the region must be a text such as 'CN' or '+86'" },
		{ "${v | phone_e164(null)}",
		  "COMPILE:7:phone_e164: the region must be a text such as 'CN' or '+86'" },
		{ "${v | phone_e164(c)}",
		  "COMPILE:7:argument 2 of 'phone_e164' must be a literal (usage: ${value | "
		  "phone_e164('default_region')})" },
		{ "${v | phone_e164}",
		  "COMPILE:7:wrong number of arguments for 'phone_e164' (usage: ${value | "
		  "phone_e164('default_region')})" },
		{ "${phone_e164(v, 'CN', 'US')}",
		  "COMPILE:3:wrong number of arguments for 'phone_e164' (usage: ${value | "
		  "phone_e164('default_region')})" },
		{ "${v | gentime('x')}",
		  "COMPILE:7:wrong number of arguments for 'gentime' (usage: ${value | gentime})" },
		{ "${v | unix_sec}", "COMPILE:7:unknown function 'unix_sec' (did you mean 'unix_s'?)" },
	};
	struct entry *e = mfix_entry("v", "134 1234 1234", NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		MFIX_EXPECT(NULL, e, cases[i][0], cases[i][1]);
	/* The error message stays short whatever the literal. */
	char *src = malloc(HUGE_LEN + 32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	strcpy(src, "${v | phone_e164('");
	size_t at = strlen(src);
	memset(src + at, 'A', HUGE_LEN);
	strcpy(src + at + HUGE_LEN, "')}");
	char *got = mfix_eval_env(src, e, NULL);
	CU_ASSERT(strncmp(got, "COMPILE:7:phone_e164: unknown region \"AAAA", 42) == 0);
	CU_ASSERT(strlen(got) < 400);
	free(got);
	free(src);
	entry_free(e);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "gentime", test_gentime },
		{ "filetime", test_filetime },
		{ "unix_s and unix_ms", test_unix },
		{ "iso8601", test_iso8601 },
		{ "phone_e164 examples", test_phone_examples },
		{ "phone_e164 rules", test_phone_rules },
		{ "phone_e164 errors", test_phone_errors },
		{ "phone_e164 empty, arrays, huge", test_phone_values },
		{ "phone_e164 load-time errors", test_phone_load_errors },
		{ NULL, NULL },
	};
	return unit_run("fn_time", tests);
}
