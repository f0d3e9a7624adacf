/* Time functions: LDAP GeneralizedTime and Active Directory FILETIME in;
 * Unix seconds, milliseconds and ISO 8601 out. The calendar arithmetic is
 * done here (proleptic Gregorian, UTC) rather than with timegm or mktime,
 * so a result never depends on TZ, the locale or the width of time_t.
 * Applied to an array they apply to each element. Null stays null and ""
 * becomes null: an empty value is no value to default(), coalesce and
 * required fields as well. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Instants are limited to the years 1601 to 9999: FILETIME starts in 1601,
 * and four-digit years are all that GeneralizedTime and ISO 8601 (without
 * extensions) can write, so anything outside could not be printed back. */
#define TIME_MIN_MS (-11644473600000LL) /* 1601-01-01T00:00:00Z */
#define TIME_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* FILETIME counts 100 ns from 1601-01-01T00:00:00Z, which is also the
 * earliest instant we accept. */
#define FILETIME_PER_MS 10000LL
#define FILETIME_EPOCH_MS TIME_MIN_MS
#define FILETIME_NEVER INT64_MAX /* accountExpires: "never", as 0 is */

#define GENTIME_FORMAT "GeneralizedTime (YYYYMMDDHHMMSSZ)"
#define ISO8601_FORMAT "ISO 8601 time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])"
#define CONVERT_HINT "convert it with gentime or filetime first"

enum tparse {
	TP_OK,
	TP_SYNTAX, /* not the format at all */
	TP_INVALID, /* the format, with a field out of range: `why` says which */
	TP_EARLY, /* before TIME_MIN_MS */
	TP_LATE, /* after TIME_MAX_MS */
};

/* The fields of a written time, before the zone is applied. */
struct civil {
	int year, month, day, hour, minute, second;
	long long frac_ms; /* the fraction of the last unit written, in ms */
	int offset_min; /* the zone, east of UTC */
};

struct tscan {
	const char *s;
	size_t len, pos;
};

#define WHY_SIZE 96

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): exact for every year, with no table and no libc. */
static long long days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static enum tparse civil_check(const struct civil *c, char *why)
{
	static const char *const months[] = { "January",   "February", "March",    "April",
					      "May",       "June",     "July",     "August",
					      "September", "October",  "November", "December" };
	if (c->month < 1 || c->month > 12)
		snprintf(why, WHY_SIZE, "there is no month %02d", c->month);
	else if (c->day < 1 || c->day > days_in_month(c->year, c->month))
		snprintf(why, WHY_SIZE, "%s %04d has no day %02d", months[c->month - 1], c->year, c->day);
	else if (c->hour > 23)
		snprintf(why, WHY_SIZE, "hour %02d is out of range (00 to 23)", c->hour);
	else if (c->minute > 59)
		snprintf(why, WHY_SIZE, "minute %02d is out of range (00 to 59)", c->minute);
	else if (c->second > 60)
		snprintf(why, WHY_SIZE, "second %02d is out of range (00 to 60)", c->second);
	else
		return TP_OK;
	return TP_INVALID;
}

/* A leap second (:60) is counted as POSIX time counts it: as the first
 * second of the next minute. Unix time has no leap seconds, and this keeps
 * the arithmetic a plain sum. */
static enum tparse civil_to_ms(const struct civil *c, long long *ms, char *why)
{
	enum tparse r = civil_check(c, why);
	if (r != TP_OK)
		return r;
	long long secs = days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600LL +
			 c->minute * 60LL + c->second - c->offset_min * 60LL;
	long long v = secs * 1000 + c->frac_ms;
	if (v < TIME_MIN_MS)
		return TP_EARLY;
	if (v > TIME_MAX_MS)
		return TP_LATE;
	*ms = v;
	return TP_OK;
}

static bool scan_at(const struct tscan *t, char c)
{
	return t->pos < t->len && t->s[t->pos] == c;
}

static bool scan_char(struct tscan *t, char c)
{
	if (!scan_at(t, c))
		return false;
	t->pos++;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits; on failure nothing is consumed. */
static bool scan_digits(struct tscan *t, int n, int *out)
{
	if (t->len - t->pos < (size_t)n)
		return false;
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = t->s[t->pos + (size_t)i];
		if (!is_digit(c))
			return false;
		v = v * 10 + (c - '0');
	}
	t->pos += (size_t)n;
	*out = v;
	return true;
}

/* An optional fraction ("." or "," and digits) of a unit of unit_ms,
 * truncated to whole milliseconds. Nine digits are already far below a
 * millisecond of an hour; the rest need only be digits, so a value of a
 * million digits costs one pass and cannot overflow. */
static bool scan_fraction(struct tscan *t, long long unit_ms, long long *out)
{
	*out = 0;
	if (!scan_char(t, '.') && !scan_char(t, ','))
		return true;
	long long num = 0, den = 1;
	size_t n = 0;
	for (; t->pos < t->len && is_digit(t->s[t->pos]); t->pos++, n++) {
		if (n < 9) {
			num = num * 10 + (t->s[t->pos] - '0');
			den *= 10;
		}
	}
	*out = num * unit_ms / den;
	return n > 0;
}

/* The zone and the end of the text: nothing (taken as UTC), "Z", or a
 * sign with HH, HHMM or, in ISO 8601, HH:MM. */
static enum tparse scan_zone(struct tscan *t, bool iso, struct civil *c, char *why)
{
	if (t->pos == t->len)
		return TP_OK;
	if (scan_char(t, 'Z') || (iso && scan_char(t, 'z')))
		return t->pos == t->len ? TP_OK : TP_SYNTAX;
	int sign = scan_char(t, '+') ? 1 : scan_char(t, '-') ? -1 : 0;
	int hh, mm = 0;
	if (!sign || !scan_digits(t, 2, &hh))
		return TP_SYNTAX;
	if (t->pos < t->len) {
		if (iso)
			scan_char(t, ':');
		if (!scan_digits(t, 2, &mm) || t->pos != t->len)
			return TP_SYNTAX;
	}
	if (hh > 23 || mm > 59) {
		snprintf(why, WHY_SIZE, "the zone offset %c%02d%02d is out of range", sign > 0 ? '+' : '-',
			 hh, mm);
		return TP_INVALID;
	}
	c->offset_min = sign * (hh * 60 + mm);
	return TP_OK;
}

/* RFC 4517 GeneralizedTime: YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|+HH[MM]|-HH[MM]),
 * the fraction being of the last unit present. The RFC makes a missing
 * zone mean the server's local time, which we cannot know; it is taken as
 * UTC, the only reading that does not depend on the host running us. */
static enum tparse parse_gentime(const char *s, size_t len, long long *ms, char *why)
{
	struct tscan t = { s, len, 0 };
	struct civil c = { 0 };
	if (!scan_digits(&t, 4, &c.year) || !scan_digits(&t, 2, &c.month) || !scan_digits(&t, 2, &c.day) ||
	    !scan_digits(&t, 2, &c.hour))
		return TP_SYNTAX;
	long long unit = 3600000;
	if (scan_digits(&t, 2, &c.minute)) {
		unit = 60000;
		if (scan_digits(&t, 2, &c.second))
			unit = 1000;
	}
	if (!scan_fraction(&t, unit, &c.frac_ms))
		return TP_SYNTAX;
	enum tparse r = scan_zone(&t, false, &c, why);
	return r == TP_OK ? civil_to_ms(&c, ms, why) : r;
}

/* ISO 8601 / RFC 3339 extended form: YYYY-MM-DD, optionally followed by
 * (T| )HH:MM[:SS[(.|,)fraction]] and a zone. No zone is UTC, as above. */
static enum tparse parse_iso8601(const char *s, size_t len, long long *ms, char *why)
{
	struct tscan t = { s, len, 0 };
	struct civil c = { 0 };
	if (!scan_digits(&t, 4, &c.year) || !scan_char(&t, '-') || !scan_digits(&t, 2, &c.month) ||
	    !scan_char(&t, '-') || !scan_digits(&t, 2, &c.day))
		return TP_SYNTAX;
	if (t.pos < t.len) {
		if (!scan_char(&t, 'T') && !scan_char(&t, 't') && !scan_char(&t, ' '))
			return TP_SYNTAX;
		if (!scan_digits(&t, 2, &c.hour) || !scan_char(&t, ':') || !scan_digits(&t, 2, &c.minute))
			return TP_SYNTAX;
		if (scan_char(&t, ':')) {
			if (!scan_digits(&t, 2, &c.second) || !scan_fraction(&t, 1000, &c.frac_ms))
				return TP_SYNTAX;
		}
		enum tparse r = scan_zone(&t, true, &c, why);
		if (r != TP_OK)
			return r;
	}
	return civil_to_ms(&c, ms, why);
}

static int range_fail(struct meval *ctx, const char *fname, const struct mval *v, enum tparse r)
{
	return mfunc_fail_value(ctx, fname, v, "is %s",
				r == TP_EARLY ? "before the year 1601" : "after the year 9999");
}

static int op_gentime(struct meval *ctx, const void *ud, struct mval *item)
{
	if (item->type == MV_TIME)
		return 0;
	if (!mfunc_text_input(item))
		return 0;
	char why[WHY_SIZE];
	long long ms;
	enum tparse r = parse_gentime(item->u.str.s, item->u.str.len, &ms, why);
	switch (r) {
	case TP_OK: mval_set_time(item, ms); return 0;
	case TP_SYNTAX: return mfunc_fail_value(ctx, "gentime", item, "is not a " GENTIME_FORMAT);
	case TP_INVALID:
		return mfunc_fail_value(ctx, "gentime", item, "is not a " GENTIME_FORMAT ": %s", why);
	case TP_EARLY:
	case TP_LATE: break;
	}
	return range_fail(ctx, "gentime", item, r);
}

static int fn_gentime(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_gentime, NULL);
	mval_move(out, &args[0]);
	return r;
}

static int filetime_to_time(struct meval *ctx, struct mval *item, long long ft)
{
	if (ft < 0)
		return mfunc_fail_value(ctx, "filetime", item, "is negative (a FILETIME counts from 1601)");
	if (ft == 0 || ft == FILETIME_NEVER) {
		mval_clear(item);
		return 0;
	}
	long long ms = ft / FILETIME_PER_MS + FILETIME_EPOCH_MS;
	if (ms > TIME_MAX_MS)
		return mfunc_fail_value(ctx, "filetime", item, "is after the year 9999");
	mval_set_time(item, ms);
	return 0;
}

/* Decimal text: digits with an optional '-' (so that a negative value is
 * told apart from junk). Digits past INT64_MAX cannot be a FILETIME. */
static int op_filetime(struct meval *ctx, const void *ud, struct mval *item)
{
	if (item->type == MV_TIME)
		return 0;
	if (item->type == MV_INT)
		return filetime_to_time(ctx, item, item->u.i);
	mfunc_as_text(item);
	if (item->type != MV_STRING)
		return 0;
	const char *s = item->u.str.s;
	size_t len = item->u.str.len;
	if (len == 0) {
		mval_clear(item);
		return 0;
	}
	bool neg = s[0] == '-';
	size_t start = neg ? 1 : 0;
	bool digits = start < len;
	for (size_t i = start; i < len && digits; i++)
		digits = is_digit(s[i]);
	if (!digits)
		return mfunc_fail_value(
			ctx, "filetime", item,
			"is not a FILETIME (a count of 100-nanosecond intervals since 1601, in decimal)");
	long long v = 0;
	for (size_t i = start; i < len; i++) {
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10) {
			if (neg)
				return mfunc_fail_value(ctx, "filetime", item,
							"is negative (a FILETIME counts from 1601)");
			return mfunc_fail_value(
				ctx, "filetime", item,
				"is out of range (a FILETIME is at most 9223372036854775807)");
		}
		v = v * 10 + d;
	}
	return filetime_to_time(ctx, item, neg ? -v : v);
}

static int fn_filetime(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_filetime, NULL);
	mval_move(out, &args[0]);
	return r;
}

static bool is_plain_number(const char *s, size_t len)
{
	size_t i = len > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (i == len)
		return false;
	for (; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Text given to unix_s, unix_ms or iso8601: ISO 8601 when it starts like
 * a date with dashes, GeneralizedTime otherwise. A plain number is more
 * likely seconds, milliseconds or a FILETIME than a time without a zone
 * that fails to parse, and the error says so. */
static int text_to_ms(struct meval *ctx, const char *fname, const struct mval *item, long long *ms)
{
	const char *s = item->u.str.s;
	size_t len = item->u.str.len;
	char why[WHY_SIZE];
	bool iso = len > 4 && s[4] == '-';
	enum tparse r = iso ? parse_iso8601(s, len, ms, why) : parse_gentime(s, len, ms, why);
	if (r == TP_OK)
		return 0;
	if (r == TP_EARLY || r == TP_LATE)
		return range_fail(ctx, fname, item, r);
	if (is_plain_number(s, len))
		return mfunc_fail_value(ctx, fname, item, "is a number, not a time (" CONVERT_HINT ")");
	size_t lead = 0;
	while (lead < len && lead < 10 && is_digit(s[lead]))
		lead++;
	if (!iso && lead < 10)
		return mfunc_fail_value(
			ctx, fname, item,
			"is not a time (expected a GeneralizedTime such as 20240102030405Z or an ISO 8601 "
			"time such as 2024-01-02T03:04:05Z)");
	const char *fmt = iso ? ISO8601_FORMAT : GENTIME_FORMAT;
	if (r == TP_INVALID)
		return mfunc_fail_value(ctx, fname, item, "is not a valid %s: %s", fmt, why);
	return mfunc_fail_value(ctx, fname, item, "is not a valid %s", fmt);
}

enum instant_out { OUT_SECONDS, OUT_MILLIS, OUT_ISO8601 };

struct instant_fn {
	const char *name;
	enum instant_out out;
};

static long long floor_div(long long a, long long b)
{
	long long q = a / b;
	return a % b < 0 ? q - 1 : q;
}

static int op_instant(struct meval *ctx, const void *ud, struct mval *item)
{
	const struct instant_fn *f = ud;
	long long ms = 0;	/* set on every path that reaches the switch */
	if (item->type == MV_TIME) {
		ms = item->u.i;
	} else if (item->type == MV_INT) {
		return mfunc_fail_value(ctx, f->name, item, "is a number, not a time (" CONVERT_HINT ")");
	} else {
		if (!mfunc_text_input(item))
			return 0;
		if (text_to_ms(ctx, f->name, item, &ms) < 0)
			return -EINVAL;
	}
	switch (f->out) {
	case OUT_SECONDS: mval_set_int(item, floor_div(ms, 1000)); break;
	case OUT_MILLIS: mval_set_int(item, ms); break;
	case OUT_ISO8601: {
		struct sbuf sb;
		sbuf_init(&sb);
		mval_append_iso8601(ms, &sb);
		size_t len;
		char *s = sbuf_detach(&sb, &len);
		sbuf_release(&sb);
		mval_take_string(item, s, len);
		break;
	}
	}
	return 0;
}

static const struct instant_fn fn_unix_s_def = { "unix_s", OUT_SECONDS };
static const struct instant_fn fn_unix_ms_def = { "unix_ms", OUT_MILLIS };
static const struct instant_fn fn_iso8601_def = { "iso8601", OUT_ISO8601 };

static int fn_unix_s(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_instant, &fn_unix_s_def);
	mval_move(out, &args[0]);
	return r;
}

static int fn_unix_ms(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_instant, &fn_unix_ms_def);
	mval_move(out, &args[0]);
	return r;
}

static int fn_iso8601(struct meval *ctx, const void *data, struct mval *args, size_t nargs, struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_instant, &fn_iso8601_def);
	mval_move(out, &args[0]);
	return r;
}

static const struct mfunc funcs[] = {
	MFUNC_PLAIN("gentime", 1, 1, fn_gentime, "${value | gentime}"),
	MFUNC_PLAIN("filetime", 1, 1, fn_filetime, "${value | filetime}"),
	MFUNC_PLAIN("unix_s", 1, 1, fn_unix_s, "${value | unix_s}"),
	MFUNC_PLAIN("unix_ms", 1, 1, fn_unix_ms, "${value | unix_ms}"),
	MFUNC_PLAIN("iso8601", 1, 1, fn_iso8601, "${value | iso8601}"),
};

MFUNC_TABLE(mfunc_time_table, funcs);
