/* phone_e164: phone numbers as directories hold them ("(415) 555-2671",
 * "+44 (0)20 7946 0958", "134 1234 1234") to E.164 ("+14155552671"). A
 * number without a country code is read with the default region's rules,
 * which is why the region is a literal checked at load time. This is not
 * libphonenumber: it checks lengths, not number ranges, and knows only the
 * regions of the table below. */
#include "config.h"

#include "mapping/fn_tables.h"
#include "util/sbuf.h"
#include "util/strutil.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* E.164: at most 15 digits with the country code. The minimum is ours: no
 * country we know of has shorter numbers that a directory would hold. */
#define E164_MIN_DIGITS 8
#define E164_MAX_DIGITS 15
/* Digits kept while scanning; a value with more is refused. */
#define PHONE_KEEP_DIGITS 32

/* National numbers start with 0, which stays (Italy). */
#define PHONE_KEEPS_0 1u
/* The trunk prefix is also the first digit of some national numbers
 * (Russia's 8-800 toll-free numbers): it goes only when that leaves a
 * number of the right length. */
#define PHONE_TRUNK_AMBIGUOUS 2u

struct phone_region {
	const char *alpha2, *alpha3, *name;
	const char *cc; /* calling code */
	const char *trunk; /* national (trunk) prefix dropped before the calling code, "" for none */
	unsigned char min_nsn, max_nsn; /* national significant number length */
	unsigned char flags;
};

/* Regions that share a calling code are in the order a calling code given
 * as the region picks them: US for +1, RU for +7. Lengths are those of
 * fixed and mobile numbers (ITU-T E.164 national plans), not short codes,
 * and never make fewer than E164_MIN_DIGITS with the calling code. */
static const struct phone_region regions[] = {
	{ "US", "USA", "United States", "1", "1", 10, 10, 0 },
	{ "CA", "CAN", "Canada", "1", "1", 10, 10, 0 },
	{ "PR", "PRI", "Puerto Rico", "1", "1", 10, 10, 0 },
	{ "DO", "DOM", "Dominican Republic", "1", "1", 10, 10, 0 },
	{ "JM", "JAM", "Jamaica", "1", "1", 10, 10, 0 },
	{ "TT", "TTO", "Trinidad and Tobago", "1", "1", 10, 10, 0 },
	{ "BS", "BHS", "Bahamas", "1", "1", 10, 10, 0 },
	{ "RU", "RUS", "Russia", "7", "8", 10, 10, PHONE_TRUNK_AMBIGUOUS },
	{ "KZ", "KAZ", "Kazakhstan", "7", "8", 10, 10, PHONE_TRUNK_AMBIGUOUS },
	{ "EG", "EGY", "Egypt", "20", "0", 8, 10, 0 },
	{ "ZA", "ZAF", "South Africa", "27", "0", 9, 9, 0 },
	{ "GR", "GRC", "Greece", "30", "", 10, 10, 0 },
	{ "NL", "NLD", "Netherlands", "31", "0", 9, 9, 0 },
	{ "BE", "BEL", "Belgium", "32", "0", 8, 9, 0 },
	{ "FR", "FRA", "France", "33", "0", 9, 9, 0 },
	{ "ES", "ESP", "Spain", "34", "", 9, 9, 0 },
	{ "HU", "HUN", "Hungary", "36", "06", 8, 9, 0 },
	{ "IT", "ITA", "Italy", "39", "", 6, 11, PHONE_KEEPS_0 },
	{ "RO", "ROU", "Romania", "40", "0", 9, 9, 0 },
	{ "CH", "CHE", "Switzerland", "41", "0", 9, 9, 0 },
	{ "AT", "AUT", "Austria", "43", "0", 6, 13, 0 },
	{ "GB", "GBR", "United Kingdom", "44", "0", 7, 10, 0 },
	{ "DK", "DNK", "Denmark", "45", "", 8, 8, 0 },
	{ "SE", "SWE", "Sweden", "46", "0", 7, 10, 0 },
	{ "NO", "NOR", "Norway", "47", "", 8, 8, 0 },
	{ "PL", "POL", "Poland", "48", "", 9, 9, 0 },
	{ "DE", "DEU", "Germany", "49", "0", 6, 13, 0 },
	{ "PE", "PER", "Peru", "51", "0", 8, 9, 0 },
	{ "MX", "MEX", "Mexico", "52", "", 10, 10, 0 },
	{ "AR", "ARG", "Argentina", "54", "0", 10, 11, 0 },
	{ "BR", "BRA", "Brazil", "55", "0", 10, 11, 0 },
	{ "CL", "CHL", "Chile", "56", "", 9, 9, 0 },
	{ "CO", "COL", "Colombia", "57", "0", 10, 10, 0 },
	{ "VE", "VEN", "Venezuela", "58", "0", 10, 10, 0 },
	{ "MY", "MYS", "Malaysia", "60", "0", 8, 10, 0 },
	{ "AU", "AUS", "Australia", "61", "0", 9, 9, 0 },
	{ "ID", "IDN", "Indonesia", "62", "0", 8, 12, 0 },
	{ "PH", "PHL", "Philippines", "63", "0", 8, 10, 0 },
	{ "NZ", "NZL", "New Zealand", "64", "0", 8, 10, 0 },
	{ "SG", "SGP", "Singapore", "65", "", 8, 8, 0 },
	{ "TH", "THA", "Thailand", "66", "0", 8, 9, 0 },
	{ "JP", "JPN", "Japan", "81", "0", 9, 10, 0 },
	{ "KR", "KOR", "South Korea", "82", "0", 8, 10, 0 },
	{ "VN", "VNM", "Vietnam", "84", "0", 9, 10, 0 },
	{ "CN", "CHN", "China", "86", "0", 10, 11, 0 },
	{ "TR", "TUR", "Turkey", "90", "0", 10, 10, 0 },
	{ "IN", "IND", "India", "91", "0", 10, 10, 0 },
	{ "PK", "PAK", "Pakistan", "92", "0", 8, 10, 0 },
	{ "LK", "LKA", "Sri Lanka", "94", "0", 9, 9, 0 },
	{ "MM", "MMR", "Myanmar", "95", "0", 7, 10, 0 },
	{ "IR", "IRN", "Iran", "98", "0", 10, 10, 0 },
	{ "MA", "MAR", "Morocco", "212", "0", 9, 9, 0 },
	{ "DZ", "DZA", "Algeria", "213", "0", 8, 9, 0 },
	{ "TN", "TUN", "Tunisia", "216", "", 8, 8, 0 },
	{ "GH", "GHA", "Ghana", "233", "0", 9, 9, 0 },
	{ "NG", "NGA", "Nigeria", "234", "0", 8, 10, 0 },
	{ "ET", "ETH", "Ethiopia", "251", "0", 9, 9, 0 },
	{ "KE", "KEN", "Kenya", "254", "0", 7, 10, 0 },
	{ "TZ", "TZA", "Tanzania", "255", "0", 9, 9, 0 },
	{ "UG", "UGA", "Uganda", "256", "0", 9, 9, 0 },
	{ "PT", "PRT", "Portugal", "351", "", 9, 9, 0 },
	{ "LU", "LUX", "Luxembourg", "352", "", 5, 11, 0 },
	{ "IE", "IRL", "Ireland", "353", "0", 7, 10, 0 },
	{ "IS", "ISL", "Iceland", "354", "", 7, 9, 0 },
	{ "AL", "ALB", "Albania", "355", "0", 8, 9, 0 },
	{ "MT", "MLT", "Malta", "356", "", 8, 8, 0 },
	{ "CY", "CYP", "Cyprus", "357", "", 8, 8, 0 },
	{ "FI", "FIN", "Finland", "358", "0", 5, 12, 0 },
	{ "BG", "BGR", "Bulgaria", "359", "0", 8, 9, 0 },
	{ "LV", "LVA", "Latvia", "371", "", 8, 8, 0 },
	{ "EE", "EST", "Estonia", "372", "", 7, 8, 0 },
	{ "AM", "ARM", "Armenia", "374", "0", 8, 8, 0 },
	{ "UA", "UKR", "Ukraine", "380", "0", 9, 9, 0 },
	{ "RS", "SRB", "Serbia", "381", "0", 7, 10, 0 },
	{ "HR", "HRV", "Croatia", "385", "0", 8, 9, 0 },
	{ "SI", "SVN", "Slovenia", "386", "0", 8, 8, 0 },
	{ "BA", "BIH", "Bosnia and Herzegovina", "387", "0", 8, 9, 0 },
	{ "MK", "MKD", "North Macedonia", "389", "0", 8, 8, 0 },
	{ "CZ", "CZE", "Czechia", "420", "", 9, 9, 0 },
	{ "SK", "SVK", "Slovakia", "421", "0", 9, 9, 0 },
	{ "CR", "CRI", "Costa Rica", "506", "", 8, 8, 0 },
	{ "PA", "PAN", "Panama", "507", "", 7, 8, 0 },
	{ "EC", "ECU", "Ecuador", "593", "0", 8, 9, 0 },
	{ "UY", "URY", "Uruguay", "598", "0", 8, 8, 0 },
	{ "HK", "HKG", "Hong Kong", "852", "", 8, 8, 0 },
	{ "MO", "MAC", "Macao", "853", "", 8, 8, 0 },
	{ "KH", "KHM", "Cambodia", "855", "0", 8, 9, 0 },
	{ "BD", "BGD", "Bangladesh", "880", "0", 8, 10, 0 },
	{ "TW", "TWN", "Taiwan", "886", "0", 8, 9, 0 },
	{ "LB", "LBN", "Lebanon", "961", "0", 7, 8, 0 },
	{ "JO", "JOR", "Jordan", "962", "0", 8, 9, 0 },
	{ "IQ", "IRQ", "Iraq", "964", "0", 8, 10, 0 },
	{ "KW", "KWT", "Kuwait", "965", "", 8, 8, 0 },
	{ "SA", "SAU", "Saudi Arabia", "966", "0", 9, 9, 0 },
	{ "AE", "ARE", "United Arab Emirates", "971", "0", 8, 9, 0 },
	{ "IL", "ISR", "Israel", "972", "0", 8, 9, 0 },
	{ "QA", "QAT", "Qatar", "974", "", 8, 8, 0 },
	{ "MN", "MNG", "Mongolia", "976", "0", 8, 8, 0 },
	{ "NP", "NPL", "Nepal", "977", "0", 8, 10, 0 },
	{ "AZ", "AZE", "Azerbaijan", "994", "0", 9, 9, 0 },
	{ "GE", "GEO", "Georgia", "995", "0", 9, 9, 0 },
};

#define N_REGIONS (sizeof(regions) / sizeof(regions[0]))

static bool phone_is_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static const struct phone_region *phone_by_cc(const char *cc, size_t len)
{
	for (size_t i = 0; i < N_REGIONS; i++)
		if (strlen(regions[i].cc) == len && memcmp(regions[i].cc, cc, len) == 0)
			return &regions[i];
	return NULL;
}

/* The region whose calling code starts the digits. Calling codes are a
 * prefix code (ITU-T E.164), so at most one length matches. */
static const struct phone_region *phone_by_number(const char *digits, size_t n)
{
	for (size_t len = 1; len <= 3 && len <= n; len++) {
		const struct phone_region *r = phone_by_cc(digits, len);
		if (r)
			return r;
	}
	return NULL;
}

/* "Did you mean": the UK's common but unofficial code, alpha-3 codes,
 * English names (close misspellings too), and calling codes written with
 * the "00" international prefix. */
static const char *phone_region_hint(const char *s, size_t len, char *buf, size_t bufsize)
{
	if (len == 2 && strcasecmp(s, "UK") == 0)
		return "GB";
	if (len > 2 && s[0] == '0' && s[1] == '0' && phone_is_digits(s + 2, len - 2) &&
	    phone_by_cc(s + 2, len - 2)) {
		snprintf(buf, bufsize, "+%s", s + 2);
		return buf;
	}
	if (len > 40)
		return NULL;
	const char *best = NULL;
	size_t best_d = 3;
	char lower[48], name[48];
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	for (size_t i = 0; i < N_REGIONS; i++) {
		if (strcasecmp(s, regions[i].alpha3) == 0 || strcasecmp(s, regions[i].name) == 0)
			return regions[i].alpha2;
		size_t n = strlen(regions[i].name);
		for (size_t j = 0; j <= n; j++)
			name[j] = (char)tolower((unsigned char)regions[i].name[j]);
		const char *prev = best;
		str_suggest_consider(lower, name, &best, &best_d);
		if (best != prev)
			best = regions[i].alpha2;
	}
	/* Two edits turn a short input into too many names for a hint to
	 * be more than a guess. */
	return len > 4 ? best : NULL;
}

static int phone_prepare(const struct mexpr_env *env, const struct mval *const *lits, size_t nargs,
			 void **data, char **err)
{
	const struct mval *lit = lits[1];
	char num[24];
	const char *s;
	size_t len;
	if (lit->type == MV_INT) {
		len = (size_t)snprintf(num, sizeof(num), "%lld", lit->u.i);
		s = num;
	} else if (lit->type == MV_STRING) {
		s = lit->u.str.s;
		len = lit->u.str.len;
	} else {
		*err = xstrdup("the region must be a text such as 'CN' or '+86'");
		return -EINVAL;
	}

	const struct phone_region *r = NULL;
	size_t plus = len > 0 && s[0] == '+' ? 1 : 0;
	bool cc = phone_is_digits(s + plus, len - plus);
	if (cc)
		r = phone_by_cc(s + plus, len - plus);
	else if (len == 2)
		for (size_t i = 0; i < N_REGIONS && !r; i++)
			if (strcasecmp(s, regions[i].alpha2) == 0)
				r = &regions[i];
	if (r) {
		*data = (void *)r; /* static: nothing to free */
		return 0;
	}

	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addstr(&sb, cc && s[0] != '0' ? "unknown calling code " : "unknown region ");
	mval_append_quoted(lit, &sb);
	char buf[8];
	const char *hint = phone_region_hint(s, len, buf, sizeof(buf));
	if (hint)
		sbuf_addf(&sb, " (did you mean '%s'?)", hint);
	else
		sbuf_addstr(&sb,
			    " (expected an ISO 3166-1 alpha-2 code such as 'CN' or a calling code such as "
			    "'+86', of a region phone_e164 knows; see membersync.conf(5))");
	*err = sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	return -EINVAL;
}

/* Spaces (incl. NBSP, the narrow and ideographic spaces of typeset and CJK
 * input), dashes and the punctuation of national formats. */
static bool phone_is_separator(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' ||
	       c == 0xA0 || (c >= 0x2000 && c <= 0x200A) || (c >= 0x2010 && c <= 0x2015) || c == 0x202F ||
	       c == 0x2212 || c == 0x3000 || c == 0xFF08 || c == 0xFF09 || c == 0xFF0D;
}

/* ASCII and fullwidth digits (CJK input methods type the latter), as 0-9,
 * or -1. */
static int phone_digit(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 0xFF10 && c <= 0xFF19)
		return (int)(c - 0xFF10);
	return -1;
}

static bool phone_has_prefix_ci(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && strncasecmp(s, p, n) == 0;
}

/* Whether the text from s on is an extension: "x123", "ext. 5",
 * "extension 5", ";ext=5", "#5", ", 5". */
static bool phone_is_extension(const char *s, size_t len)
{
	static const char *const marks[] = { ";ext=", "extension", "ext", "x", "#", ",", ";" };
	size_t i = 0;
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		if (phone_has_prefix_ci(s, len, marks[m])) {
			i = strlen(marks[m]);
			break;
		}
	}
	if (i == 0)
		return false;
	while (i < len && (s[i] == ' ' || s[i] == '.' || s[i] == ':' || s[i] == '='))
		i++;
	size_t digits = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	while (i < len && s[i] == ' ')
		i++;
	return digits > 0 && i == len;
}

struct phone_scan {
	char digits[PHONE_KEEP_DIGITS];
	size_t n; /* digits seen; more than PHONE_KEEP_DIGITS is an error */
	bool plus;
	size_t marker; /* index of the 0 of a "(0)", or SIZE_MAX */
};

static int phone_scan(struct meval *ctx, const struct mval *v, struct phone_scan *ps)
{
	const char *s = v->u.str.s;
	size_t len = v->u.str.len;
	ps->n = 0;
	ps->plus = false;
	ps->marker = SIZE_MAX;
	for (size_t pos = 0; pos < len;) {
		size_t start = pos;
		uint32_t c = utf8_next(s, len, &pos);
		int d = phone_digit(c);
		if (d >= 0) {
			if (c == '0' && start > 0 && s[start - 1] == '(' && pos < len && s[pos] == ')')
				ps->marker = ps->n;
			if (ps->n < PHONE_KEEP_DIGITS)
				ps->digits[ps->n] = (char)('0' + d);
			ps->n++;
		} else if (c == '+' || c == 0xFF0B) {
			if (ps->n > 0 || ps->plus)
				return mfunc_fail_value(ctx, "phone_e164", v,
							"has a '+' that is not at the start");
			ps->plus = true;
		} else if (phone_is_separator(c)) {
			continue;
		} else if (ps->n > 0 && phone_is_extension(s + start, len - start)) {
			return mfunc_fail_value(ctx, "phone_e164", v,
						"has an extension, which an E.164 number cannot hold");
		} else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
			return mfunc_fail_value(ctx, "phone_e164", v,
						"has letters, which an E.164 number cannot hold");
		} else if (c > 0x20 && c < 0x7F && c != '\'') {
			return mfunc_fail_value(ctx, "phone_e164", v,
						"has '%c', which is not part of a phone number", (char)c);
		} else {
			return mfunc_fail_value(
				ctx, "phone_e164", v,
				"has the character U+%04X, which is not part of a phone number", (unsigned)c);
		}
	}
	if (ps->n == 0)
		return mfunc_fail_value(ctx, "phone_e164", v, "has no digits");
	if (ps->n > PHONE_KEEP_DIGITS)
		return mfunc_fail_value(
			ctx, "phone_e164", v,
			"has %zu digits, more than any phone number (E.164 allows at most %d)", ps->n,
			E164_MAX_DIGITS);
	return 0;
}

static void phone_drop(struct phone_scan *ps, size_t at, size_t count)
{
	memmove(ps->digits + at, ps->digits + at + count, ps->n - at - count);
	ps->n -= count;
	if (ps->marker != SIZE_MAX)
		ps->marker = ps->marker >= at + count ? ps->marker - count : SIZE_MAX;
}

static int phone_length_fail(struct meval *ctx, const struct mval *v, const char *what, size_t n,
			     unsigned min, unsigned max)
{
	const char *which = n < min ? "short" : "long";
	if (min == max)
		return mfunc_fail_value(ctx, "phone_e164", v,
					"is too %s for %s (expected %u digits, got %zu)", which, what, min,
					n);
	return mfunc_fail_value(ctx, "phone_e164", v, "is too %s for %s (expected %u to %u digits, got %zu)",
				which, what, min, max, n);
}

static void phone_result(struct mval *item, const char *cc, const char *nsn, size_t n)
{
	char out[2 + 2 * PHONE_KEEP_DIGITS];
	int len = snprintf(out, sizeof(out), "+%s%.*s", cc, (int)n, nsn);
	mval_set_string(item, out, (size_t)len);
}

/* Digits after "+" or "00": the country code is in them. A "(0)" is the
 * trunk prefix that European numbers show after it, and so is a 0 right
 * after a country code whose numbers never start with 0 ("+44 020..."):
 * both are dropped, as dialling from abroad does. */
static int phone_international(struct meval *ctx, struct mval *item, struct phone_scan *ps, size_t prefix)
{
	phone_drop(ps, 0, prefix);
	if (ps->n > 0 && ps->digits[0] == '0')
		return mfunc_fail_value(ctx, "phone_e164", item,
					"has no country code after '%s' (country codes do not start with 0)",
					prefix ? "00" : "+");
	const struct phone_region *r = phone_by_number(ps->digits, ps->n);
	if (ps->marker != SIZE_MAX && !(r && (r->flags & PHONE_KEEPS_0)))
		phone_drop(ps, ps->marker, 1);
	if (r && strcmp(r->trunk, "0") == 0) {
		size_t cclen = strlen(r->cc);
		if (ps->n > cclen && ps->digits[cclen] == '0')
			phone_drop(ps, cclen, 1);
	}
	if (ps->n < E164_MIN_DIGITS || ps->n > E164_MAX_DIGITS)
		return phone_length_fail(ctx, item, "an international number", ps->n, E164_MIN_DIGITS,
					 E164_MAX_DIGITS);
	phone_result(item, "", ps->digits, ps->n);
	return 0;
}

static bool phone_fits(const struct phone_region *r, size_t n)
{
	size_t total = strlen(r->cc) + n;
	return n >= r->min_nsn && n <= r->max_nsn && total >= E164_MIN_DIGITS && total <= E164_MAX_DIGITS;
}

/* A national number: the region's trunk prefix goes, its calling code
 * comes first. */
static int phone_national(struct meval *ctx, struct mval *item, struct phone_scan *ps,
			  const struct phone_region *r)
{
	size_t tlen = strlen(r->trunk), cclen = strlen(r->cc);
	bool trunk = tlen > 0 && ps->n > tlen && memcmp(ps->digits, r->trunk, tlen) == 0;
	if (trunk &&
	    (!(r->flags & PHONE_TRUNK_AMBIGUOUS) || phone_fits(r, ps->n - tlen) || !phone_fits(r, ps->n))) {
		phone_drop(ps, 0, tlen);
	} else if (!phone_fits(r, ps->n) && ps->n > cclen && memcmp(ps->digits, r->cc, cclen) == 0 &&
		   phone_fits(r, ps->n - cclen)) {
		/* The country code without its '+': "86 134 1234 1234". */
		phone_drop(ps, 0, cclen);
	}
	if (!phone_fits(r, ps->n)) {
		char what[24];
		snprintf(what, sizeof(what), "a%s %s number", strchr("AEFHILMNORSX", r->alpha2[0]) ? "n" : "",
			 r->alpha2);
		return phone_length_fail(ctx, item, what, ps->n, r->min_nsn, r->max_nsn);
	}
	phone_result(item, r->cc, ps->digits, ps->n);
	return 0;
}

static int op_phone(struct meval *ctx, const void *ud, struct mval *item)
{
	if (!mfunc_text_input(item))
		return 0;
	struct phone_scan ps;
	if (phone_scan(ctx, item, &ps) < 0)
		return -EINVAL;
	if (ps.plus)
		return phone_international(ctx, item, &ps, 0);
	if (ps.n >= 2 && ps.digits[0] == '0' && ps.digits[1] == '0')
		return phone_international(ctx, item, &ps, 2);
	return phone_national(ctx, item, &ps, ud);
}

static int fn_phone_e164(struct meval *ctx, const void *data, struct mval *args, size_t nargs,
			 struct mval *out)
{
	int r = mfunc_each(ctx, &args[0], op_phone, data);
	mval_move(out, &args[0]);
	return r;
}

static const struct mfunc funcs[] = {
	MFUNC_PREPARED("phone_e164", 2, 2, fn_phone_e164, "${value | phone_e164('default_region')}", 0x2u,
		       phone_prepare, NULL),
};

MFUNC_TABLE(mfunc_phone_table, funcs);
