/* The RFC 4533 codec: the request control byte for byte against hand-made
 * BER, syncState/syncInfo/syncDone parsing, and malformed values refused
 * with -EPROTO (run under ASan/UBSan too: every truncation and every
 * single-byte change of the good values is thrown at the parsers). */
#include "config.h"

#include "ldap/syncrepl.h"
#include "unit.h"

#include <errno.h>

#define OID_REQUEST "1.3.6.1.4.1.4203.1.9.1.1"
#define OID_STATE "1.3.6.1.4.1.4203.1.9.1.2"
#define OID_DONE "1.3.6.1.4.1.4203.1.9.1.3"

/* 16 raw bytes and their canonical text. */
#define UUID1 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef
#define UUID1_TEXT "12345678-9abc-def0-0123-456789abcdef"
#define UUID2 0xff, 0x00, 0xff, 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0
#define UUID2_TEXT "ff00ff00-1020-3040-5060-708090a0b0c0"

#define BYTES(...) ((const unsigned char[]){ __VA_ARGS__ }), sizeof((const unsigned char[]){ __VA_ARGS__ })

static struct berval mkbv(const unsigned char *p, size_t n)
{
	struct berval bv = { (ber_len_t)n, (char *)p };
	return bv;
}

static LDAPControl mkctrl(const char *oid, const unsigned char *p, size_t n)
{
	LDAPControl c = { (char *)oid, mkbv(p, n), 0 };
	return c;
}

static bool cookie_is(const struct berval *c, const char *s)
{
	return c && c->bv_len == strlen(s) && memcmp(c->bv_val, s, c->bv_len) == 0;
}

/* ---------------------------------------------------------- request */

static void check_request(enum syncrepl_mode mode, const struct berval *cookie, bool reload,
			  const unsigned char *want, size_t n)
{
	LDAPControl *c = NULL;
	CU_ASSERT_EQUAL_FATAL(syncrepl_request_control(mode, cookie, reload, &c), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->ldctl_oid, OID_REQUEST);
	CU_ASSERT(c->ldctl_iscritical);
	CU_ASSERT_EQUAL(c->ldctl_value.bv_len, n);
	if (c->ldctl_value.bv_len == n) {
		CU_ASSERT(memcmp(c->ldctl_value.bv_val, want, n) == 0);
	}
	ldap_control_free(c);
}

static void test_request_encodings(void)
{
	struct berval abc = { 3, "abc" }, empty = { 0, "" };

	check_request(SYNCREPL_REFRESH_ONLY, NULL, false, BYTES(0x30, 0x03, 0x0a, 0x01, 0x01));
	check_request(SYNCREPL_REFRESH_AND_PERSIST, NULL, false, BYTES(0x30, 0x03, 0x0a, 0x01, 0x03));
	check_request(SYNCREPL_REFRESH_ONLY, &abc, false,
		      BYTES(0x30, 0x08, 0x0a, 0x01, 0x01, 0x04, 0x03, 'a', 'b', 'c'));
	check_request(SYNCREPL_REFRESH_AND_PERSIST, &abc, false,
		      BYTES(0x30, 0x08, 0x0a, 0x01, 0x03, 0x04, 0x03, 'a', 'b', 'c'));
	check_request(SYNCREPL_REFRESH_ONLY, NULL, true, BYTES(0x30, 0x06, 0x0a, 0x01, 0x01, 0x01, 0x01, 0xff));
	check_request(SYNCREPL_REFRESH_AND_PERSIST, NULL, true,
		      BYTES(0x30, 0x06, 0x0a, 0x01, 0x03, 0x01, 0x01, 0xff));
	check_request(SYNCREPL_REFRESH_ONLY, &abc, true,
		      BYTES(0x30, 0x0b, 0x0a, 0x01, 0x01, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff));
	check_request(SYNCREPL_REFRESH_AND_PERSIST, &abc, true,
		      BYTES(0x30, 0x0b, 0x0a, 0x01, 0x03, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff));
	/* An empty cookie is no cookie. */
	check_request(SYNCREPL_REFRESH_ONLY, &empty, false, BYTES(0x30, 0x03, 0x0a, 0x01, 0x01));
}

/* A cookie over 127 bytes needs the long length form, in its DER
 * (shortest) spelling, and so does the SEQUENCE around it. */
static void test_request_long_cookie(void)
{
	char text[201];
	memset(text, 'x', 200);
	text[200] = '\0';
	struct berval cookie = { 200, text };
	unsigned char want[3 + 3 + 3 + 200];
	size_t n = 0;
	want[n++] = 0x30, want[n++] = 0x81, want[n++] = 3 + 3 + 200;
	want[n++] = 0x0a, want[n++] = 0x01, want[n++] = 0x01;
	want[n++] = 0x04, want[n++] = 0x81, want[n++] = 200;
	memcpy(want + n, text, 200);
	n += 200;
	check_request(SYNCREPL_REFRESH_ONLY, &cookie, false, want, n);
}

static void test_request_invalid(void)
{
	LDAPControl *c = (LDAPControl *)1;
	CU_ASSERT_EQUAL(syncrepl_request_control((enum syncrepl_mode)2, NULL, false, &c), -EINVAL);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(syncrepl_request_control((enum syncrepl_mode)0, NULL, false, &c), -EINVAL);
	char *big = calloc(1, SYNCREPL_COOKIE_MAX + 1);
	struct berval cookie = { SYNCREPL_COOKIE_MAX + 1, big };
	CU_ASSERT_EQUAL(syncrepl_request_control(SYNCREPL_REFRESH_ONLY, &cookie, false, &c), -EINVAL);
	CU_ASSERT_PTR_NULL(c);
	free(big);
}

/* ------------------------------------------------------------ syncState */

static int parse_state(const unsigned char *p, size_t n, enum syncrepl_state *st, char uuid[SYNCREPL_UUID_SIZE],
		       struct berval **cookie)
{
	LDAPControl c = mkctrl(OID_STATE, p, n);
	return syncrepl_parse_state(&c, st, uuid, cookie);
}

static void test_state_each(void)
{
	static const char *const names[] = { "present", "add", "modify", "delete" };
	for (unsigned char s = 0; s <= 3; s++) {
		enum syncrepl_state st = 99;
		char uuid[SYNCREPL_UUID_SIZE] = "";
		struct berval *cookie = (struct berval *)1;
		int r = parse_state(BYTES(0x30, 0x15, 0x0a, 0x01, s, 0x04, 0x10, UUID1), &st, uuid, &cookie);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL(st, (enum syncrepl_state)s);
		CU_ASSERT_STRING_EQUAL(uuid, UUID1_TEXT);
		CU_ASSERT_PTR_NULL(cookie);
		if (r != 0)
			fprintf(stderr, "state %s not parsed\n", names[s]);
	}
}

static void test_state_cookie(void)
{
	enum syncrepl_state st;
	char uuid[SYNCREPL_UUID_SIZE];
	struct berval *cookie = NULL;
	CU_ASSERT_EQUAL(parse_state(BYTES(0x30, 0x1a, 0x0a, 0x01, 0x02, 0x04, 0x10, UUID2, 0x04, 0x03, 'x', 'y', 'z'),
				    &st, uuid, &cookie),
			0);
	CU_ASSERT_EQUAL(st, SYNCREPL_MODIFY);
	CU_ASSERT_STRING_EQUAL(uuid, UUID2_TEXT);
	CU_ASSERT(cookie_is(cookie, "xyz"));
	ber_bvfree(cookie);

	/* An empty cookie is no cookie. */
	cookie = (struct berval *)1;
	CU_ASSERT_EQUAL(parse_state(BYTES(0x30, 0x17, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID2, 0x04, 0x00), &st, uuid,
				    &cookie),
			0);
	CU_ASSERT_PTR_NULL(cookie);
}

static void expect_state_eproto(const char *what, const unsigned char *p, size_t n)
{
	enum syncrepl_state st = 42;
	char uuid[SYNCREPL_UUID_SIZE] = "untouched";
	struct berval *cookie = (struct berval *)1;
	int r = parse_state(p, n, &st, uuid, &cookie);
	if (r != -EPROTO)
		fprintf(stderr, "syncState %s: got %d\n", what, r);
	CU_ASSERT_EQUAL(r, -EPROTO);
	/* Nothing is set on error. */
	CU_ASSERT_EQUAL(st, 42);
	CU_ASSERT_STRING_EQUAL(uuid, "untouched");
	CU_ASSERT_PTR_EQUAL(cookie, (struct berval *)1);
}

static void test_state_malformed(void)
{
	expect_state_eproto("empty", NULL, 0);
	expect_state_eproto("truncated", BYTES(0x30, 0x15, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1) - 1);
	expect_state_eproto("15-byte uuid",
			    BYTES(0x30, 0x14, 0x0a, 0x01, 0x01, 0x04, 0x0f, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
				  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd));
	expect_state_eproto("17-byte uuid", BYTES(0x30, 0x16, 0x0a, 0x01, 0x01, 0x04, 0x11, UUID1, 0x00));
	expect_state_eproto("SET, not SEQUENCE", BYTES(0x31, 0x15, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1));
	expect_state_eproto("INTEGER state", BYTES(0x30, 0x15, 0x02, 0x01, 0x01, 0x04, 0x10, UUID1));
	expect_state_eproto("state 4", BYTES(0x30, 0x15, 0x0a, 0x01, 0x04, 0x04, 0x10, UUID1));
	expect_state_eproto("state -1", BYTES(0x30, 0x15, 0x0a, 0x01, 0xff, 0x04, 0x10, UUID1));
	expect_state_eproto("empty enum", BYTES(0x30, 0x14, 0x0a, 0x00, 0x04, 0x10, UUID1));
	expect_state_eproto("5-byte enum", BYTES(0x30, 0x19, 0x0a, 0x05, 0, 0, 0, 0, 1, 0x04, 0x10, UUID1));
	expect_state_eproto("no uuid", BYTES(0x30, 0x03, 0x0a, 0x01, 0x01));
	expect_state_eproto("uuid with a context tag", BYTES(0x30, 0x15, 0x0a, 0x01, 0x01, 0x80, 0x10, UUID1));
	expect_state_eproto("SEQUENCE too short", BYTES(0x30, 0x14, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1));
	expect_state_eproto("SEQUENCE too long", BYTES(0x30, 0x16, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1));
	expect_state_eproto("trailing bytes", BYTES(0x30, 0x15, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1, 0x00, 0x00));
	expect_state_eproto("cookie with a context tag",
			    BYTES(0x30, 0x1a, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1, 0x80, 0x03, 'x', 'y', 'z'));
	expect_state_eproto("cookie cut short",
			    BYTES(0x30, 0x1a, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1, 0x04, 0x05, 'x', 'y', 'z'));
	expect_state_eproto("huge length", BYTES(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x0a, 0x01, 0x01));
	expect_state_eproto("indefinite length", BYTES(0x30, 0x80, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1, 0x00, 0x00));
	expect_state_eproto("nonsense", BYTES(0xff, 0xff, 0xff, 0xff));

	/* Not a syncState control at all, or no value. */
	enum syncrepl_state st;
	char uuid[SYNCREPL_UUID_SIZE];
	struct berval *cookie;
	LDAPControl c = mkctrl(OID_DONE, BYTES(0x30, 0x15, 0x0a, 0x01, 0x01, 0x04, 0x10, UUID1));
	CU_ASSERT_EQUAL(syncrepl_parse_state(&c, &st, uuid, &cookie), -EINVAL);
	CU_ASSERT_EQUAL(syncrepl_parse_state(NULL, &st, uuid, &cookie), -EINVAL);
	LDAPControl none = { OID_STATE, { 0, NULL }, 0 };
	CU_ASSERT_EQUAL(syncrepl_parse_state(&none, &st, uuid, &cookie), -EPROTO);
}

/* ------------------------------------------------------------- syncInfo */

static int parse_info(const unsigned char *p, size_t n, struct syncrepl_info *info)
{
	struct berval bv = mkbv(p, n);
	return syncrepl_parse_info(&bv, info);
}

static void test_info_new_cookie(void)
{
	struct syncrepl_info info;
	CU_ASSERT_EQUAL_FATAL(parse_info(BYTES(0x80, 0x03, 'a', 'b', 'c'), &info), 0);
	CU_ASSERT_EQUAL(info.kind, SYNCREPL_INFO_NEW_COOKIE);
	CU_ASSERT(cookie_is(info.cookie, "abc"));
	CU_ASSERT_EQUAL(info.n_uuids, 0);
	syncrepl_info_clear(&info);
	CU_ASSERT_PTR_NULL(info.cookie);
}

static void check_phase(const unsigned char *p, size_t n, enum syncrepl_info_kind kind, const char *cookie,
			bool done)
{
	struct syncrepl_info info;
	CU_ASSERT_EQUAL_FATAL(parse_info(p, n, &info), 0);
	CU_ASSERT_EQUAL(info.kind, kind);
	if (cookie) {
		CU_ASSERT(cookie_is(info.cookie, cookie));
	} else {
		CU_ASSERT_PTR_NULL(info.cookie);
	}
	CU_ASSERT_EQUAL(info.refresh_done, done);
	syncrepl_info_clear(&info);
}

static void test_info_phases(void)
{
	for (unsigned char t = 0xa1; t <= 0xa2; t++) {
		enum syncrepl_info_kind k = t == 0xa1 ? SYNCREPL_INFO_REFRESH_DELETE : SYNCREPL_INFO_REFRESH_PRESENT;
		/* refreshDone DEFAULT TRUE */
		check_phase(BYTES(t, 0x00), k, NULL, true);
		check_phase(BYTES(t, 0x05, 0x04, 0x03, 'a', 'b', 'c'), k, "abc", true);
		check_phase(BYTES(t, 0x03, 0x01, 0x01, 0x00), k, NULL, false);
		check_phase(BYTES(t, 0x03, 0x01, 0x01, 0xff), k, NULL, true);
		check_phase(BYTES(t, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0x00), k, "abc", false);
		check_phase(BYTES(t, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff), k, "abc", true);
		/* BER (not DER) TRUE is any nonzero octet. */
		check_phase(BYTES(t, 0x03, 0x01, 0x01, 0x01), k, NULL, true);
	}
}

static void test_info_id_set(void)
{
	struct syncrepl_info info;

	/* refreshDeletes DEFAULT FALSE, no cookie, two ids. */
	CU_ASSERT_EQUAL_FATAL(parse_info(BYTES(0xa3, 0x26, 0x31, 0x24, 0x04, 0x10, UUID1, 0x04, 0x10, UUID2), &info), 0);
	CU_ASSERT_EQUAL(info.kind, SYNCREPL_INFO_ID_SET);
	CU_ASSERT_PTR_NULL(info.cookie);
	CU_ASSERT_FALSE(info.refresh_deletes);
	CU_ASSERT_EQUAL_FATAL(info.n_uuids, 2);
	CU_ASSERT_STRING_EQUAL(info.uuids[0], UUID1_TEXT);
	CU_ASSERT_STRING_EQUAL(info.uuids[1], UUID2_TEXT);
	syncrepl_info_clear(&info);

	/* Cookie and refreshDeletes TRUE. */
	CU_ASSERT_EQUAL_FATAL(parse_info(BYTES(0xa3, 0x1c, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff, 0x31, 0x12,
					       0x04, 0x10, UUID2),
					 &info),
			      0);
	CU_ASSERT(cookie_is(info.cookie, "abc"));
	CU_ASSERT_TRUE(info.refresh_deletes);
	CU_ASSERT_EQUAL_FATAL(info.n_uuids, 1);
	CU_ASSERT_STRING_EQUAL(info.uuids[0], UUID2_TEXT);
	syncrepl_info_clear(&info);

	/* refreshDeletes FALSE spelled out, empty set. */
	CU_ASSERT_EQUAL_FATAL(parse_info(BYTES(0xa3, 0x05, 0x01, 0x01, 0x00, 0x31, 0x00), &info), 0);
	CU_ASSERT_FALSE(info.refresh_deletes);
	CU_ASSERT_EQUAL(info.n_uuids, 0);
	syncrepl_info_clear(&info);
}

/* A big set (as slapd sends for a large present phase) in long-form
 * lengths. */
static void test_info_big_set(void)
{
	const size_t n = 10000, inner = n * 18;
	unsigned char *v = malloc(inner + 12);
	size_t o = 0;
	v[o++] = 0xa3, v[o++] = 0x83;
	size_t outer = inner + 5;
	v[o++] = (unsigned char)(outer >> 16), v[o++] = (unsigned char)(outer >> 8), v[o++] = (unsigned char)outer;
	v[o++] = 0x31, v[o++] = 0x83;
	v[o++] = (unsigned char)(inner >> 16), v[o++] = (unsigned char)(inner >> 8), v[o++] = (unsigned char)inner;
	for (size_t i = 0; i < n; i++) {
		v[o++] = 0x04, v[o++] = 0x10;
		memset(v + o, 0, 16);
		v[o] = (unsigned char)(i >> 8), v[o + 15] = (unsigned char)i;
		o += 16;
	}
	struct syncrepl_info info;
	CU_ASSERT_EQUAL_FATAL(parse_info(v, o, &info), 0);
	CU_ASSERT_EQUAL(info.n_uuids, n);
	CU_ASSERT_STRING_EQUAL(info.uuids[n - 1], "27000000-0000-0000-0000-00000000000f");
	syncrepl_info_clear(&info);
	/* Cut anywhere inside the set, the value is refused. */
	CU_ASSERT_EQUAL(parse_info(v, o - 1, &info), -EPROTO);
	CU_ASSERT_EQUAL(parse_info(v, o - 18, &info), -EPROTO);
	free(v);
}

static void expect_info_eproto(const char *what, const unsigned char *p, size_t n)
{
	struct syncrepl_info info;
	memset(&info, 0x5a, sizeof(info));
	int r = parse_info(p, n, &info);
	if (r != -EPROTO)
		fprintf(stderr, "syncInfo %s: got %d\n", what, r);
	CU_ASSERT_EQUAL(r, -EPROTO);
	/* Cleared on error: safe to clear again. */
	CU_ASSERT_PTR_NULL(info.cookie);
	CU_ASSERT_PTR_NULL(info.uuids);
	CU_ASSERT_EQUAL(info.n_uuids, 0);
	syncrepl_info_clear(&info);
}

static void test_info_malformed(void)
{
	expect_info_eproto("empty", NULL, 0);
	expect_info_eproto("unknown choice [4]", BYTES(0xa4, 0x00));
	expect_info_eproto("universal SEQUENCE", BYTES(0x30, 0x00));
	expect_info_eproto("constructed newcookie", BYTES(0xa0, 0x05, 0x04, 0x03, 'a', 'b', 'c'));
	expect_info_eproto("primitive refreshDelete", BYTES(0x81, 0x00));
	expect_info_eproto("newcookie truncated", BYTES(0x80, 0x04, 'a', 'b', 'c'));
	expect_info_eproto("newcookie with trailing bytes", BYTES(0x80, 0x03, 'a', 'b', 'c', 0x00));
	expect_info_eproto("refreshDelete too long", BYTES(0xa1, 0x04, 0x01, 0x01, 0x00));
	expect_info_eproto("refreshDelete too short", BYTES(0xa1, 0x02, 0x01, 0x01, 0x00));
	expect_info_eproto("2-byte BOOLEAN", BYTES(0xa2, 0x04, 0x01, 0x02, 0x00, 0xff));
	expect_info_eproto("empty BOOLEAN", BYTES(0xa2, 0x02, 0x01, 0x00));
	expect_info_eproto("BOOLEAN before cookie", BYTES(0xa2, 0x08, 0x01, 0x01, 0x00, 0x04, 0x03, 'a', 'b', 'c'));
	expect_info_eproto("INTEGER in refreshPresent", BYTES(0xa2, 0x03, 0x02, 0x01, 0x00));
	expect_info_eproto("id set without SET", BYTES(0xa3, 0x03, 0x01, 0x01, 0xff));
	expect_info_eproto("id set, SEQUENCE for SET", BYTES(0xa3, 0x14, 0x30, 0x12, 0x04, 0x10, UUID1));
	expect_info_eproto("id set, 15-byte uuid",
			   BYTES(0xa3, 0x13, 0x31, 0x11, 0x04, 0x0f, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01,
				 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd));
	expect_info_eproto("id set, INTEGER member", BYTES(0xa3, 0x14, 0x31, 0x12, 0x02, 0x10, UUID1));
	expect_info_eproto("id set, huge SET length",
			   BYTES(0xa3, 0x18, 0x31, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x04, 0x10, UUID1));
	expect_info_eproto("id set, SET longer than the value",
			   BYTES(0xa3, 0x26, 0x31, 0x24, 0x04, 0x10, UUID1, 0x04, 0x10, UUID2) - 1);
	expect_info_eproto("id set, garbage after SET", BYTES(0xa3, 0x05, 0x31, 0x00, 0x01, 0x01, 0x00));
	expect_info_eproto("huge choice length", BYTES(0xa2, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x00));
	expect_info_eproto("length of length 9", BYTES(0x80, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0));

	/* A cookie over the limit is not a cookie. */
	size_t n = SYNCREPL_COOKIE_MAX + 1;
	unsigned char *big = calloc(1, n + 4);
	big[0] = 0x80, big[1] = 0x83;
	big[2] = (unsigned char)(n >> 16), big[3] = (unsigned char)(n >> 8), big[4] = (unsigned char)n;
	expect_info_eproto("cookie over the limit", big, n + 5);
	/* ... while one at the limit is. */
	n = SYNCREPL_COOKIE_MAX;
	big[2] = (unsigned char)(n >> 16), big[3] = (unsigned char)(n >> 8), big[4] = (unsigned char)n;
	memset(big + 5, 'c', n);
	struct syncrepl_info info;
	CU_ASSERT_EQUAL(parse_info(big, n + 5, &info), 0);
	CU_ASSERT(info.cookie && info.cookie->bv_len == n);
	syncrepl_info_clear(&info);
	free(big);
}

/* ------------------------------------------------------------- syncDone */

static int parse_done(const unsigned char *p, size_t n, struct berval **cookie, bool *deletes)
{
	LDAPControl c = mkctrl(OID_DONE, p, n);
	return syncrepl_parse_done(&c, cookie, deletes);
}

static void check_done(const unsigned char *p, size_t n, const char *cookie, bool deletes)
{
	struct berval *c = (struct berval *)1;
	bool d = !deletes;
	CU_ASSERT_EQUAL_FATAL(parse_done(p, n, &c, &d), 0);
	if (cookie) {
		CU_ASSERT(cookie_is(c, cookie));
	} else {
		CU_ASSERT_PTR_NULL(c);
	}
	CU_ASSERT_EQUAL(d, deletes);
	ber_bvfree(c);
}

static void test_done(void)
{
	check_done(BYTES(0x30, 0x00), NULL, false);
	check_done(BYTES(0x30, 0x05, 0x04, 0x03, 'a', 'b', 'c'), "abc", false);
	check_done(BYTES(0x30, 0x03, 0x01, 0x01, 0xff), NULL, true);
	check_done(BYTES(0x30, 0x03, 0x01, 0x01, 0x00), NULL, false);
	check_done(BYTES(0x30, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff), "abc", true);
	check_done(BYTES(0x30, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0x00), "abc", false);
}

static void expect_done_eproto(const char *what, const unsigned char *p, size_t n)
{
	struct berval *c = (struct berval *)1;
	bool d = true;
	int r = parse_done(p, n, &c, &d);
	if (r != -EPROTO)
		fprintf(stderr, "syncDone %s: got %d\n", what, r);
	CU_ASSERT_EQUAL(r, -EPROTO);
	CU_ASSERT_PTR_EQUAL(c, (struct berval *)1);
	CU_ASSERT_TRUE(d);
}

static void test_done_malformed(void)
{
	expect_done_eproto("empty", NULL, 0);
	expect_done_eproto("SET", BYTES(0x31, 0x00));
	expect_done_eproto("trailing byte", BYTES(0x30, 0x00, 0x00));
	expect_done_eproto("truncated cookie", BYTES(0x30, 0x05, 0x04, 0x03, 'a', 'b'));
	expect_done_eproto("SEQUENCE too short", BYTES(0x30, 0x04, 0x04, 0x03, 'a', 'b', 'c'));
	expect_done_eproto("2-byte BOOLEAN", BYTES(0x30, 0x04, 0x01, 0x02, 0xff, 0xff));
	expect_done_eproto("BOOLEAN first", BYTES(0x30, 0x08, 0x01, 0x01, 0xff, 0x04, 0x03, 'a', 'b', 'c'));
	expect_done_eproto("INTEGER", BYTES(0x30, 0x03, 0x02, 0x01, 0x01));
	expect_done_eproto("huge length", BYTES(0x30, 0x84, 0x10, 0x00, 0x00, 0x00));

	struct berval *c;
	bool d;
	LDAPControl wrong = mkctrl(OID_STATE, BYTES(0x30, 0x00));
	CU_ASSERT_EQUAL(syncrepl_parse_done(&wrong, &c, &d), -EINVAL);
	CU_ASSERT_EQUAL(syncrepl_parse_done(NULL, &c, &d), -EINVAL);
}

/* ---------------------------------------------------------------- fuzz */

/* Every prefix and every one-byte change of a good value either parses or
 * is refused with -EPROTO; the sanitizers catch anything worse. */
static void mutate(const unsigned char *good, size_t n, int (*parse)(const unsigned char *, size_t))
{
	unsigned char *buf = malloc(n);
	CU_ASSERT_EQUAL(parse(good, n), 0);
	for (size_t len = 0; len < n; len++) {
		/* Heap copies of exactly len bytes, so ASan sees overreads. */
		unsigned char *cut = malloc(len ? len : 1);
		memcpy(cut, good, len);
		int r = parse(cut, len);
		CU_ASSERT(r == -EPROTO);
		free(cut);
	}
	static const unsigned char vals[] = { 0x00, 0x01, 0x02, 0x04, 0x0a, 0x10, 0x30, 0x31, 0x7f,
					      0x80, 0x81, 0x84, 0xa1, 0xa3, 0xfe, 0xff };
	for (size_t i = 0; i < n; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			memcpy(buf, good, n);
			buf[i] = vals[v];
			int r = parse(buf, n);
			CU_ASSERT(r == 0 || r == -EPROTO);
		}
	}
	free(buf);
}

static int fuzz_state(const unsigned char *p, size_t n)
{
	enum syncrepl_state st;
	char uuid[SYNCREPL_UUID_SIZE];
	struct berval *cookie = NULL;
	int r = parse_state(p, n, &st, uuid, &cookie);
	if (r == 0) {
		CU_ASSERT_EQUAL(strlen(uuid), 36);
	}
	ber_bvfree(cookie);
	return r;
}

static int fuzz_info(const unsigned char *p, size_t n)
{
	struct syncrepl_info info;
	int r = parse_info(p, n, &info);
	for (size_t i = 0; r == 0 && i < info.n_uuids; i++) {
		CU_ASSERT_EQUAL(strlen(info.uuids[i]), 36);
	}
	syncrepl_info_clear(&info);
	return r;
}

static int fuzz_done(const unsigned char *p, size_t n)
{
	struct berval *cookie = NULL;
	bool d;
	int r = parse_done(p, n, &cookie, &d);
	ber_bvfree(cookie);
	return r;
}

static void test_mutations(void)
{
	mutate(BYTES(0x30, 0x1a, 0x0a, 0x01, 0x02, 0x04, 0x10, UUID2, 0x04, 0x03, 'x', 'y', 'z'), fuzz_state);
	mutate(BYTES(0x80, 0x03, 'a', 'b', 'c'), fuzz_info);
	mutate(BYTES(0xa1, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0x00), fuzz_info);
	mutate(BYTES(0xa2, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0x00), fuzz_info);
	mutate(BYTES(0xa3, 0x2e, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff, 0x31, 0x24, 0x04, 0x10, UUID1, 0x04,
		     0x10, UUID2),
	       fuzz_info);
	mutate(BYTES(0x30, 0x08, 0x04, 0x03, 'a', 'b', 'c', 0x01, 0x01, 0xff), fuzz_done);
}

/* -------------------------------------------------------------- id sets */

static void test_idset(void)
{
	char ids[2][SYNCREPL_UUID_SIZE] = { UUID1_TEXT, UUID2_TEXT };
	struct syncrepl_idset set = { .ids = ids, .n = 2, .cap = 2, .sorted = true };
	CU_ASSERT_TRUE(syncrepl_idset_contains(&set, UUID1_TEXT));
	CU_ASSERT_TRUE(syncrepl_idset_contains(&set, UUID2_TEXT));
	CU_ASSERT_TRUE(syncrepl_idset_contains(&set, "FF00FF00-1020-3040-5060-708090A0B0C0"));
	CU_ASSERT_FALSE(syncrepl_idset_contains(&set, "00000000-0000-0000-0000-000000000000"));
	CU_ASSERT_FALSE(syncrepl_idset_contains(&set, ""));
	set.sorted = false;
	CU_ASSERT_FALSE(syncrepl_idset_contains(&set, UUID1_TEXT));
	struct syncrepl_idset empty = { 0 };
	CU_ASSERT_FALSE(syncrepl_idset_contains(&empty, UUID1_TEXT));
	syncrepl_idset_clear(&empty);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "request control encodings", test_request_encodings },
		{ "request control, long cookie", test_request_long_cookie },
		{ "request control, invalid arguments", test_request_invalid },
		{ "syncState, every state", test_state_each },
		{ "syncState with cookie", test_state_cookie },
		{ "syncState malformed", test_state_malformed },
		{ "syncInfo newcookie", test_info_new_cookie },
		{ "syncInfo refreshDelete/refreshPresent", test_info_phases },
		{ "syncInfo syncIdSet", test_info_id_set },
		{ "syncInfo big syncIdSet", test_info_big_set },
		{ "syncInfo malformed", test_info_malformed },
		{ "syncDone", test_done },
		{ "syncDone malformed", test_done_malformed },
		{ "truncations and mutations", test_mutations },
		{ "id sets", test_idset },
		{ NULL, NULL },
	};
	return unit_run("syncrepl", tests);
}
