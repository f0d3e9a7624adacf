/* The text, list and logic functions of the mapping language (fn_text.c,
 * fn_list.c, fn_logic.c) and the parts of the language they lean on:
 * attribute selection, interpolation, literals, pipes and comparisons.
 * Every function gets ordinary, empty, null, multi-valued, non-UTF-8 and
 * megabyte-sized input; the regex functions also get hostile patterns. */
#include "config.h"

#include "mapping/expr.h"
#include "mapping/lookup.h"
#include "mapping_fixture.h"
#include "unit.h"
#include "util/sbuf.h"
#include "util/utf8.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB (1024u * 1024u)

/* ---- fixtures */

static struct entry *sample(void)
{
	struct entry *e = entry_new("uid=jdoe,ou=people,dc=example,dc=org");
	entry_set_id(e, "t");
	entry_add(e, "uid", "jdoe");
	entry_add(e, "mail", "JDoe@Example.org");
	entry_add(e, "mail", "second@example.org");
	entry_add(e, "mail", "third@example.org");
	entry_add(e, "cn", "张三");
	entry_add(e, "empty", "");
	entry_add(e, "active", "FALSE");
	entry_add(e, "len", "3");
	return e;
}

/* sample() plus values that are not text: the evaluator must refuse them
 * wherever they are read, naming the attribute. */
static struct entry *bad_entry(void)
{
	struct entry *e = sample();
	entry_attr_add_value(entry_attr_get_or_add(e, "bad"), "\xff\xfe", 2);
	struct entry_attr *m = entry_attr_get_or_add(e, "badmulti");
	entry_attr_add_value(m, "ok", 2);
	entry_attr_add_value(m, "ab\xc3\x28", 4);
	entry_attr_add_value(entry_attr_get_or_add(e, "nul"), "a\0b", 3);
	entry_attr_add_value(entry_attr_get_or_add(e, "overlong"), "\xc0\xaf", 2);
	entry_attr_add_value(entry_attr_get_or_add(e, "surrogate"), "\xed\xa0\x80", 3);
	entry_attr_add_value(entry_attr_get_or_add(e, "toobig"), "\xf4\x90\x80\x80", 4);
	entry_attr_add_value(entry_attr_get_or_add(e, "cut"), "x\xe4\xb8", 3);
	return e;
}

/* unit repeated n times; caller frees. */
static char *rep(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static char *cat3(const char *a, const char *b, const char *c)
{
	char *s;
	if (asprintf(&s, "%s%s%s", a, b, c) < 0)
		abort();
	return s;
}

static struct mlookups *sample_tables(void)
{
	struct mlookups *l = mlookups_new();
	struct mlookup *t = mlookups_add(l, "dept");
	struct mval v = MVAL_NULL;
	mval_set_string(&v, "S01", 3);
	mlookup_put(t, "Sales", &v);
	mval_set_string(&v, "R01", 3);
	mlookup_put(t, "R&D", &v);
	mval_set_string(&v, "", 0);
	mlookup_put(t, "none", &v);
	mval_set_string(&v, "U1", 2);
	mlookup_put(t, "Ünï 张", &v);
	mval_set_int(&v, 7);
	mlookup_put(t, "42", &v);
	mval_set_array(&v, 2);
	struct mval item = MVAL_NULL;
	mval_set_string(&item, "x", 1);
	mval_array_push(&v, &item);
	mval_set_string(&item, "y", 1);
	mval_array_push(&v, &item);
	mlookup_put(t, "multi", &v);
	t = mlookups_add(l, "country");
	mval_set_string(&v, "EU", 2);
	mlookup_put(t, "DE", &v);
	mval_clear(&v);
	return l;
}

/* Under valgrind or the sanitizers time means nothing (they only check
 * memory), and limits on address space cannot be applied. */
static bool instrumented(void)
{
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "vgpreload"))
		return true;
#ifdef __SANITIZE_ADDRESS__
	return true;
#else
	return false;
#endif
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Checks that what ran since t0 took at most `seconds` (native builds only). */
#define EXPECT_FAST(t0, seconds, what)                                                                   \
	do {                                                                                             \
		double el_ = now() - (t0);                                                               \
		if (!instrumented() && el_ > (seconds))                                                  \
			fprintf(stderr, "\n  %s took %.3f s (budget %.3f s)\n", (what), el_, (seconds)); \
		CU_ASSERT(instrumented() || el_ <= (seconds));                                           \
	} while (0)

/* Compiles and evaluates; returns 0 with *out, or -1 (compile) / -2 (eval). */
static int eval_raw(const struct mexpr_env *env, const struct entry *e, const char *src, struct mval *out)
{
	char *err = NULL;
	int col;
	struct mexpr *x = mexpr_compile(src, env, &err, &col);
	if (!x) {
		free(err);
		return -1;
	}
	int r = mexpr_eval(x, e, out, &err);
	free(err);
	mexpr_free(x);
	return r < 0 ? -2 : 0;
}

/* Like MFIX_EXPECT for megabyte results: compares "type:" + text, and on a
 * mismatch prints lengths and the first difference, not the values. */
static void expect_big(const struct mexpr_env *env, const struct entry *e, const char *src, const char *type,
		       const char *text, int line)
{
	char *got = mfix_eval_env(src, e, env);
	char *want = cat3(type, ":", text);
	bool ok = strcmp(got, want) == 0;
	if (!ok) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		fprintf(stderr,
			"\n  line %d: %.60s => %zu bytes (expected %zu), first difference at %zu: %.60s\n",
			line, src, strlen(got), strlen(want), i, got + i);
	}
	CU_assertImplementation(ok, (unsigned)line, "expect_big", __FILE__, "", CU_FALSE);
	free(got);
	free(want);
}

#define EXPECT_BIG(env, e, src, type, text) expect_big((env), (e), (src), (type), (text), __LINE__)

/* The byte length of a string result, or -1. */
static long long result_len(const struct mexpr_env *env, const struct entry *e, const char *src)
{
	struct mval v = MVAL_NULL;
	long long n = -1;
	if (eval_raw(env, e, src, &v) == 0 && v.type == MV_STRING)
		n = (long long)v.u.str.len;
	mval_clear(&v);
	return n;
}

/* MV_STRING promises valid UTF-8 without NUL; checks a value and its
 * elements keep the promise. */
static bool mval_clean(const struct mval *v)
{
	if (v->type == MV_STRING)
		return strlen(v->u.str.s) == v->u.str.len && utf8_valid(v->u.str.s, v->u.str.len);
	if (v->type == MV_ARRAY)
		for (size_t i = 0; i < v->u.arr.n; i++)
			if (!mval_clean(&v->u.arr.items[i]))
				return false;
	return true;
}

/* True when src is refused (at load or evaluation) or yields clean text. */
static bool yields_clean_text(const struct mexpr_env *env, const struct entry *e, const char *src)
{
	struct mval v = MVAL_NULL;
	bool ok = eval_raw(env, e, src, &v) < 0 || mval_clean(&v);
	if (!ok)
		fprintf(stderr, "\n  %s produced a string that is not NUL-free UTF-8\n", src);
	mval_clear(&v);
	return ok;
}

/* Evaluates src in a child process limited to `seconds` of wall time and,
 * when extra_bytes is not 0, to that much more address space than it has:
 * a hang or an allocation failure (which aborts) shows up as a failed
 * assertion instead of stalling or killing the suite. Returns the
 * rendering (at most 255 bytes) or NULL when the child did not exit
 * normally, with a message naming the cause. */
static char *eval_in_child(const struct entry *e, const char *src, unsigned seconds, size_t extra_bytes)
{
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(fds[0]);
		alarm(seconds);
		if (extra_bytes) {
			long pages = 0;
			FILE *f = fopen("/proc/self/statm", "r");
			if (!f || fscanf(f, "%ld", &pages) != 1)
				_exit(3);
			fclose(f);
			struct rlimit rl;
			rl.rlim_cur = rl.rlim_max =
				(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra_bytes;
			if (setrlimit(RLIMIT_AS, &rl) != 0)
				_exit(4);
		}
		char *r = mfix_eval_env(src, e, NULL);
		size_t n = strlen(r) < 255 ? strlen(r) : 255;
		_exit(write(fds[1], r, n) == (ssize_t)n ? 0 : 5);
	}
	close(fds[1]);
	char buf[256];
	size_t got = 0;
	for (ssize_t r; got < sizeof(buf) - 1 && (r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)r;
	buf[got] = '\0';
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return strdup(buf);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		fprintf(stderr, "\n  %.80s: still running after %u s\n", src, seconds);
	else if (WIFSIGNALED(st))
		fprintf(stderr, "\n  %.80s: killed by signal %d\n", src, WTERMSIG(st));
	else
		fprintf(stderr, "\n  %.80s: exited with %d\n", src, WEXITSTATUS(st));
	return NULL;
}

#define X(src, expected) MFIX_EXPECT(NULL, e, (src), (expected))
#define XL(src, expected) MFIX_EXPECT(&env, e, (src), (expected))

/* ---- lower, upper */

static void test_case_basic(void)
{
	struct entry *e = sample();
	X("${uid | upper}", "string:JDOE");
	X("${mail | lower}", "string:jdoe@example.org");
	X("${'MiXeD 123 !?_@' | lower}", "string:mixed 123 !?_@");
	X("${'MiXeD 123 !?_@' | upper}", "string:MIXED 123 !?_@");
	X("${upper(uid)}", "string:JDOE");
	X("${uid | upper | lower}", "string:jdoe");
	/* empty and null */
	X("${empty | lower}", "string:");
	X("${'' | upper}", "string:");
	X("${missing | lower}", "NULL");
	X("${missing | upper}", "NULL");
	X("${missing[*] | lower}", "[]");
	/* arrays apply element by element; nulls stay, numbers become text */
	X("${mail[*] | upper}", "[JDOE@EXAMPLE.ORG|SECOND@EXAMPLE.ORG|THIRD@EXAMPLE.ORG]");
	X("${[uid, null, 42, true, 'Ab'] | upper}", "[JDOE||42|TRUE|AB]");
	X("${[uid, null] | upper | count}", "integer:2");
	X("${[uid, null] | upper | last}", "NULL");
	X("${42 | lower}", "string:42");
	X("${false | upper}", "string:FALSE");
	entry_free(e);
}

static void test_case_latin1(void)
{
	struct entry *e = sample();
	X("${'àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ' | upper}", "string:ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ");
	X("${'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ' | lower}", "string:àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ");
	X("${'Zoë Müller-Lüdenscheidt' | upper}", "string:ZOË MÜLLER-LÜDENSCHEIDT");
	X("${'ÉLODIE François' | lower}", "string:élodie françois");
	/* The multiplication and division signs sit in the letter ranges but
	 * have no case; ß has no one-character capital. */
	X("${'×÷' | upper}", "string:×÷");
	X("${'×÷' | lower}", "string:×÷");
	X("${'ß' | upper}", "string:ß");
	X("${'¡¿ª©®' | upper}", "string:¡¿ª©®");
	entry_free(e);
}

/* ÿ is Latin-1 and its capital Ÿ (U+0178) is Latin Extended-A: both are in
 * the ranges text_case_map documents, and both are two bytes. */
static void test_case_latin1_y_diaeresis(void)
{
	struct entry *e = sample();
	X("${'ÿ' | upper}", "string:Ÿ");
	X("${'Ÿ' | lower}", "string:ÿ");
	entry_free(e);
}

static void test_case_latin_ext_a(void)
{
	struct entry *e = sample();
	X("${'āăąćĉċčďđēĕėęěĝğġģĥħĩīĭįĳĵķ' | upper}", "string:ĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮĲĴĶ");
	X("${'ĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮĲĴĶ' | lower}", "string:āăąćĉċčďđēĕėęěĝğġģĥħĩīĭįĳĵķ");
	X("${'ĺļľŀłńņň' | upper}", "string:ĹĻĽĿŁŃŅŇ");
	X("${'ĹĻĽĿŁŃŅŇ' | lower}", "string:ĺļľŀłńņň");
	X("${'ŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷ' | upper}", "string:ŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶ");
	X("${'ŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶ' | lower}", "string:ŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷ");
	X("${'Dvořák Škoda Łukasz' | upper}", "string:DVOŘÁK ŠKODA ŁUKASZ");
	/* kra and the apostrophe-n have no case */
	X("${'ĸŉ' | upper}", "string:ĸŉ");
	X("${'ĸŉ' | lower}", "string:ĸŉ");
	entry_free(e);
}

/* U+0179..U+017E (Ź ź Ż ż Ž ž) end Latin Extended-A: Polish, Czech,
 * Slovak, Slovene, Croatian, Lithuanian names. */
static void test_case_latin_ext_a_zcaron(void)
{
	struct entry *e = sample();
	X("${'Žižek' | upper}", "string:ŽIŽEK");
	X("${'ŁÓDŹ' | lower}", "string:łódź");
	X("${'żółw' | upper}", "string:ŻÓŁW");
	X("${'ŹŻŽ' | lower}", "string:źżž");
	entry_free(e);
}

/* The Turkish dotted capital I and dotless small i are not a case pair:
 * Unicode lowercases İ to i (U+0069, or i + U+0307 in full mapping) and
 * uppercases ı to I. */
static void test_case_dotted_i(void)
{
	struct entry *e = sample();
	char *lo = mfix_eval_env("${'İstanbul' | lower}", e, NULL);
	bool ok = strcmp(lo, "string:istanbul") == 0 || strcmp(lo, "string:i\xcc\x87stanbul") == 0;
	if (!ok)
		fprintf(stderr, "\n  ${'İstanbul' | lower} => %s (expected string:istanbul)\n", lo);
	CU_ASSERT(ok);
	free(lo);
	X("${'ılık' | upper}", "string:ILIK");
	entry_free(e);
}

static void test_case_greek(void)
{
	struct entry *e = sample();
	X("${'αβγδεζηθικλμνξοπρστυφχψω' | upper}", "string:ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ");
	X("${'ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ' | lower}", "string:αβγδεζηθικλμνξοπρστυφχψω");
	X("${'ΑΘΗΝΑ' | lower}", "string:αθηνα");
	entry_free(e);
}

/* Modern Greek writes a tonos on nearly every word and ends words with ς:
 * Γιώργος is a typical given name. */
static void test_case_greek_tonos_final_sigma(void)
{
	struct entry *e = sample();
	X("${'Γιώργος' | upper}", "string:ΓΙΏΡΓΟΣ");
	X("${'ς' | upper}", "string:Σ");
	X("${'άέήίόύώϊϋ' | upper}", "string:ΆΈΉΊΌΎΏΪΫ");
	X("${'ΆΈΉΊΌΎΏΪΫ' | lower}", "string:άέήίόύώϊϋ");
	entry_free(e);
}

static void test_case_cyrillic(void)
{
	struct entry *e = sample();
	X("${'абвгдежзийклмнопрстуфхцчшщъыьэюя' | upper}", "string:АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ");
	X("${'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ' | lower}", "string:абвгдежзийклмнопрстуфхцчшщъыьэюя");
	X("${'ѐёђѓєѕіїјљњћќѝўџ' | upper}", "string:ЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ");
	X("${'ЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ' | lower}", "string:ѐёђѓєѕіїјљњћќѝўџ");
	X("${'Пётр Чайковский' | upper}", "string:ПЁТР ЧАЙКОВСКИЙ");
	entry_free(e);
}

/* Cyrillic beyond Russian: Ґ/ґ (U+0490/U+0491) is in the Ukrainian
 * alphabet; Ғ Қ Ң Ү Ұ Һ and Ә Ө (U+04D8, U+04E8) are in the Kazakh one. */
static void test_case_cyrillic_extended(void)
{
	struct entry *e = sample();
	X("${'ґ' | upper}", "string:Ґ");
	X("${'Ґ' | lower}", "string:ґ");
	X("${'ғқңүұһ' | upper}", "string:ҒҚҢҮҰҺ");
	X("${'ӘӨ' | lower}", "string:әө");
	X("${'Әлия Өтебаева' | upper}", "string:ӘЛИЯ ӨТЕБАЕВА");
	entry_free(e);
}

static void test_case_uncased(void)
{
	struct entry *e = sample();
	X("${cn | upper}", "string:张三");
	X("${cn | lower}", "string:张三");
	X("${'日本語テキスト 홍길동' | upper}", "string:日本語テキスト 홍길동");
	X("${'שלום مرحبا' | lower}", "string:שלום مرحبا");
	X("${'😀👍🏽👨‍👩‍👧' | upper}", "string:😀👍🏽👨‍👩‍👧");
	/* combining marks survive and their base letter is mapped */
	X("${'e\xcc\x81' | upper}", "string:E\xcc\x81");
	X("${'Ünïcödé 张三 😀' | upper}", "string:ÜNÏCÖDÉ 张三 😀");
	X("${'Ü' | upper | lower | upper}", "string:Ü");
	entry_free(e);
}

/* ---- trim */

static void test_trim(void)
{
	struct entry *e = sample();
	X("${'  padded  ' | trim}", "string:padded");
	X("${' \t\n\r\v\fx y\t ' | trim}", "string:x y");
	X("${'\xc2\xa0张三\xc2\xa0' | trim}", "string:张三");
	X("${'\xe3\x80\x80张三\xe3\x80\x80' | trim}", "string:张三");
	X("${'\xef\xbb\xbf"
	  "abc' | trim}",
	  "string:abc");
	X("${'\xe2\x80\x82x\xe2\x80\x8b' | trim}", "string:x");
	/* inner white space is kept */
	X("${' a \xc2\xa0 b ' | trim}", "string:a \xc2\xa0 b");
	/* letters whose UTF-8 shares bytes with NBSP or U+3000 are not space */
	X("${'à' | trim}", "string:à");
	X("${'Ġ ぃ' | trim}", "string:Ġ ぃ");
	X("${' \xc2\xa0\xe3\x80\x80\t ' | trim}", "string:");
	X("${empty | trim}", "string:");
	X("${missing | trim}", "NULL");
	X("${missing[*] | trim}", "[]");
	X("${[' a ', '\xe3\x80\x80"
	  "b', null, 5] | trim}",
	  "[a|b||5]");
	X("${[' a ', null] | trim | count}", "integer:2");
	X("${trim(' x ')}", "string:x");
	entry_free(e);
}

/* ---- truncate */

static void test_truncate(void)
{
	struct entry *e = sample();
	X("${uid | truncate(2)}", "string:jd");
	X("${uid | truncate(0)}", "string:");
	X("${uid | truncate(4)}", "string:jdoe");
	X("${uid | truncate(100)}", "string:jdoe");
	X("${uid | truncate(16777216)}", "string:jdoe");
	X("${truncate(uid, 1)}", "string:j");
	/* characters, never bytes: a cut never splits a multi-byte sequence */
	X("${cn | truncate(1)}", "string:张");
	X("${'张三李四' | truncate(3)}", "string:张三李");
	X("${'aé' | truncate(1)}", "string:a");
	X("${'aé' | truncate(2)}", "string:aé");
	X("${'éa' | truncate(1)}", "string:é");
	X("${'😀😁' | truncate(1)}", "string:😀");
	X("${'a😀' | truncate(1)}", "string:a");
	X("${'e\xcc\x81x' | truncate(2)}", "string:e\xcc\x81");
	X("${'a€b' | truncate(2)}", "string:a€");
	/* the count may come as text or from an attribute */
	X("${uid | truncate('3')}", "string:jdo");
	X("${uid | truncate(len)}", "string:jdo");
	X("${empty | truncate(3)}", "string:");
	X("${missing | truncate(3)}", "NULL");
	X("${missing[*] | truncate(3)}", "[]");
	X("${mail[*] | truncate(4)}", "[JDoe|seco|thir]");
	X("${[cn, null, 12345] | truncate(1)}", "[张||1]");
	X("${12345 | truncate(2)}", "string:12");
	X("${uid | truncate(-1)}", "ERR:truncate: expected an integer from 0 to 16777216");
	X("${uid | truncate(16777217)}", "ERR:truncate: expected an integer from 0 to 16777216");
	X("${uid | truncate('x')}", "ERR:truncate: expected an integer from 0 to 16777216");
	X("${uid | truncate('3x')}", "ERR:truncate: expected an integer from 0 to 16777216");
	X("${uid | truncate(missing)}", "ERR:truncate: expected an integer from 0 to 16777216");
	X("${uid | truncate(true)}", "ERR:truncate: expected an integer from 0 to 16777216");
	/* every cut of a mixed string is valid UTF-8 */
	const char *mixed = "aé€😀e\xcc\x81张";
	for (int n = 0; n <= 8; n++) {
		char src[128];
		snprintf(src, sizeof(src), "${'%s' | truncate(%d)}", mixed, n);
		struct mval v = MVAL_NULL;
		CU_ASSERT_EQUAL(eval_raw(NULL, e, src, &v), 0);
		CU_ASSERT_EQUAL(v.type, MV_STRING);
		if (v.type == MV_STRING) {
			CU_ASSERT(utf8_valid(v.u.str.s, v.u.str.len));
			CU_ASSERT_EQUAL(utf8_length(v.u.str.s, v.u.str.len), (size_t)(n < 7 ? n : 7));
		}
		mval_clear(&v);
	}
	entry_free(e);
}

/* ---- replace */

static void test_replace(void)
{
	struct entry *e = sample();
	X("${uid | replace('o', '0')}", "string:jd0e");
	X("${'aaa' | replace('a', 'b')}", "string:bbb");
	X("${mail | replace('@.*$', '')}", "string:JDoe");
	X("${replace(uid, 'j', 'J')}", "string:Jdoe");
	X("${'John Smith' | replace('([A-Za-z]+) ([A-Za-z]+)', '$2, $1')}", "string:Smith, John");
	X("${'John Smith' | replace('(?<first>[A-Za-z]+) (?<last>[A-Za-z]+)', '${last} ${first}')}",
	  "string:Smith John");
	X("${'John' | replace('(J)', '${1}$$')}", "string:J$ohn");
	X("${mail | replace('(?i)EXAMPLE', 'ex')}", "string:JDoe@ex.org");
	X("${'a.b.c' | replace('\\\\.', '')}", "string:abc");
	/* UTF-8 mode: '.' is one character, \w knows letters beyond ASCII */
	X("${'Müller' | replace('ü', 'ue')}", "string:Mueller");
	X("${cn | replace('.', 'x')}", "string:xx");
	X("${'é1_ z' | replace('\\\\w', '-')}", "string:--- -");
	X("${'😀x' | replace('^.', '')}", "string:x");
	X("${'abc' | replace('x*', '-')}", "string:-a-b-c-");
	/* a backslash in the replacement is literal text, not an escape */
	X("${'x' | replace('x', '\\\\0')}", "string:\\0");
	X("${empty | replace('^$', 'none')}", "string:none");
	X("${empty | replace('a', 'b')}", "string:");
	X("${missing | replace('a', 'b')}", "NULL");
	X("${missing[*] | replace('a', 'b')}", "[]");
	X("${mail[*] | replace('@.*', '')}", "[JDoe|second|third]");
	X("${['a1', null, 2] | replace('[0-9]', '#')}", "[a#||#]");
	X("${42 | replace('4', 'x')}", "string:x2");
	entry_free(e);
}

/* A group that did not take part in the match (an alternative, an
 * optional part) inserts nothing, as in every other regex dialect: the
 * replacement was accepted at load time, so it must not fail per entry. */
static void test_replace_unset_group(void)
{
	struct entry *e = sample();
	X("${'b' | replace('(a)|b', '[$1]')}", "string:[]");
	X("${'Smith' | replace('^(?:([A-Z])\\\\. )?(.*)$', '$2$1')}", "string:Smith");
	entry_free(e);
}

static void test_replace_compile_errors(void)
{
	struct entry *e = sample();
	X("${uid | replace('(', 'x')}",
	  "COMPILE:9:replace: bad regex at character 2: missing closing parenthesis");
	X("${uid | replace('a)', 'x')}",
	  "COMPILE:9:replace: bad regex at character 2: unmatched closing parenthesis");
	X("${uid | replace('[', 'x')}",
	  "COMPILE:9:replace: bad regex at character 2: missing terminating ] for character class");
	X("${replace(uid, '(', 'x')}",
	  "COMPILE:3:replace: bad regex at character 2: missing closing parenthesis");
	X("张 ${uid | replace('(', 'x')}",
	  "COMPILE:11:replace: bad regex at character 2: missing closing parenthesis");
	X("${uid | replace('(a)', '$2')}",
	  "COMPILE:9:replace: replacement refers to group 2, but the regex has 1");
	X("${uid | replace('a', '$1')}",
	  "COMPILE:9:replace: replacement refers to group 1, but the regex has 0");
	X("${uid | replace('(a)', '${2}')}",
	  "COMPILE:9:replace: replacement refers to group 2, but the regex has 1");
	X("${uid | replace('(?<first>a)', '${last}')}",
	  "COMPILE:9:replace: replacement refers to group 'last', which the regex does not name");
	X("${uid | replace('(a)', '${1')}", "COMPILE:9:replace: '${' in a replacement is not closed by '}'");
	X("${uid | replace('(a)', '$x')}",
	  "COMPILE:9:replace: '$' in a replacement must be followed by a group number, {name} or '$'");
	X("${uid | replace('(a)', 'x$')}",
	  "COMPILE:9:replace: '$' in a replacement must be followed by a group number, {name} or '$'");
	X("${uid | replace(sn, 'x')}", "COMPILE:9:argument 2 of 'replace' must be a literal (usage: ${value "
				       "| replace('regex', 'replacement')})");
	X("${uid | replace('a', sn)}", "COMPILE:9:argument 3 of 'replace' must be a literal (usage: ${value "
				       "| replace('regex', 'replacement')})");
	X("${uid | replace('a' | upper, 'x')}", "COMPILE:9:argument 2 of 'replace' must be a literal (usage: "
						"${value | replace('regex', 'replacement')})");
	X("${uid | replace(1, 'x')}", "COMPILE:9:replace: the regex must be a string");
	X("${uid | replace('a', 1)}", "COMPILE:9:replace: the replacement must be a string");
	X("${uid | replace('a')}", "COMPILE:9:wrong number of arguments for 'replace' (usage: ${value | "
				   "replace('regex', 'replacement')})");
	X("${uid | replace('a', 'b', 'c')}", "COMPILE:9:wrong number of arguments for 'replace' (usage: "
					     "${value | replace('regex', 'replacement')})");
	entry_free(e);
}

/* regex.h: the error names "the character position": after multi-byte
 * characters that is not the byte offset PCRE2 reports. */
static void test_regex_error_position_in_characters(void)
{
	struct entry *e = sample();
	X("${uid | replace('张三)', 'x')}",
	  "COMPILE:9:replace: bad regex at character 3: unmatched closing parenthesis");
	X("${uid | regex_match('éé)')}",
	  "COMPILE:9:regex_match: bad regex at character 3: unmatched closing parenthesis");
	entry_free(e);
}

/* ---- regex_match */

static void test_regex_match(void)
{
	struct entry *e = sample();
	X("${uid | regex_match('^j')}", "boolean:true");
	X("${uid | regex_match('^x')}", "boolean:false");
	X("${regex_match(uid, 'doe$')}", "boolean:true");
	X("${mail | regex_match('example')}", "boolean:false");
	X("${mail | regex_match('(?i)example')}", "boolean:true");
	/* an array matches when any element does */
	X("${mail[*] | regex_match('^third@')}", "boolean:true");
	X("${mail[*] | regex_match('^nobody')}", "boolean:false");
	X("${[null, 'x'] | regex_match('x')}", "boolean:true");
	X("${empty | regex_match('^$')}", "boolean:true");
	X("${empty | regex_match('.')}", "boolean:false");
	X("${missing | regex_match('')}", "boolean:false");
	X("${missing[*] | regex_match('')}", "boolean:false");
	X("${42 | regex_match('^[0-9]+$')}", "boolean:true");
	X("${cn | regex_match('^..$')}", "boolean:true");
	X("${cn | regex_match('^\\\\p{Han}+$')}", "boolean:true");
	X("${'é' | regex_match('^\\\\w$')}", "boolean:true");
	X("${'😀' | regex_match('^.$')}", "boolean:true");
	X("${if(uid | regex_match('^j'), 'y', 'n')}", "string:y");
	/* load-time errors */
	X("${uid | regex_match('(')}",
	  "COMPILE:9:regex_match: bad regex at character 2: missing closing parenthesis");
	X("${uid | regex_match('a{2,1}')}",
	  "COMPILE:9:regex_match: bad regex at character 6: numbers out of order in {} quantifier");
	X("${uid | regex_match(sn)}",
	  "COMPILE:9:argument 2 of 'regex_match' must be a literal (usage: ${value | regex_match('regex')})");
	X("${uid | regex_match(1)}", "COMPILE:9:regex_match: the regex must be a string");
	X("${uid | regex_match}",
	  "COMPILE:9:wrong number of arguments for 'regex_match' (usage: ${value | regex_match('regex')})");
	X("${uid | regex_match('a', 'b')}",
	  "COMPILE:9:wrong number of arguments for 'regex_match' (usage: ${value | regex_match('regex')})");
	entry_free(e);
}

/* ---- hostile regexes and sizes */

static void test_regex_backtracking(void)
{
	struct entry *e = sample();
	char *evil = rep("a", 16001); /* 16000 a then b: under the 16 KiB cap */
	evil[16000] = 'b';
	entry_add(e, "evil", evil);
	entry_add(e, "evil", "aaab");
	free(evil);
	double t0 = now();
	X("${evil | regex_match('(a+)+$')}",
	  "ERR:regex_match: the regex gave up on this value (too much backtracking)");
	X("${evil | replace('(a+)+$', 'x')}",
	  "ERR:replace: the regex gave up on this value (too much backtracking)");
	X("${evil[*] | replace('(a+)+$', 'x')}",
	  "ERR:replace: the regex gave up on this value (too much backtracking)");
	X("${evil | regex_match('(a|aa)+$')}",
	  "ERR:regex_match: the regex gave up on this value (too much backtracking)");
	EXPECT_FAST(t0, 1.0, "catastrophic backtracking");
	/* the short value is fine with the same patterns */
	X("${evil[1] | regex_match('(a+)+$')}", "boolean:false");
	X("${evil[1] | replace('(a+)+b$', 'x')}", "string:x");
	entry_free(e);
}

/* The match limit is there for catastrophic patterns: a pattern that is
 * linear in the value must still work on values up to the subject cap
 * (MREGEX_MAX_SUBJECT, 16 KiB), not give up at a few thousand characters;
 * longer values are refused with a reason. */
static void test_regex_long_values(void)
{
	struct entry *e = sample();
	char *words = rep("aaaaaa ", 1500); /* 10500 characters */
	entry_add(e, "words", words);
	free(words);
	char *big = rep("a", 16384);
	entry_add(e, "big", big);
	free(big);
	char *huge = rep("a", 16385);
	entry_add(e, "huge", huge);
	free(huge);
	X("${words | regex_match('^[a-z ]+$')}", "boolean:true");
	X("${words | regex_match('^(?:[a-z]|\\\\s)+$')}", "boolean:true");
	X("${words | regex_match('^(?:\\\\w+\\\\s?)+$')}", "boolean:true");
	X("${words | replace('^(?:[a-z]|\\\\s)+$', 'ok')}", "string:ok");
	X("${big | regex_match('^(?:a|b)+$')}", "boolean:true");
	X("${huge | regex_match('a')}", "ERR:regex_match: the value is over 16384 bytes, too long for a regex");
	X("${huge | replace('a', 'b')}", "ERR:replace: the value is over 16384 bytes, too long for a regex");
	entry_free(e);
}

/* \C matches one byte, even inside a multi-byte character: a replace can
 * then cut a character in two and hand invalid UTF-8 on, breaking the
 * MV_STRING promise every later step relies on. */
static void test_regex_single_byte_escape(void)
{
	struct entry *e = sample();
	CU_ASSERT(yields_clean_text(NULL, e, "${'é' | replace('^\\\\C', '')}"));
	CU_ASSERT(yields_clean_text(NULL, e, "${cn | replace('\\\\C\\\\C$', '')}"));
	entry_free(e);
}

static void test_replace_result_cap(void)
{
	struct entry *e = sample();
	char *big = rep("a", 16384);
	entry_add(e, "big", big);
	free(big);
	char *k1 = rep("a", 1024), *k1a = rep("a", 1025);
	char *exact = cat3("${big | replace('a', '", k1, "')}");
	char *over = cat3("${big | replace('a', '", k1a, "')}");
	double t0 = now();
	/* 1024 bytes for each of 16 KiB characters is exactly the 16 MiB cap */
	CU_ASSERT_EQUAL(result_len(NULL, e, exact), 16ll * MB);
	X(over, "ERR:replace: the result would be over 16777216 bytes");
	free(k1);
	free(k1a);
	free(exact);
	free(over);
	EXPECT_FAST(t0, 3.0, "16 MiB replacements");
	entry_free(e);
}

/* The cap must bound the memory a replacement takes, not only the size
 * it returns: on a 1 MiB value a 512-byte replacement would build 512 MiB
 * (and a failed allocation kills the daemon) before being refused. The
 * evaluation runs in a child limited to 256 MiB more address space, which
 * cannot be applied under valgrind or ASan: the test is native only. */
static void test_replace_cap_bounds_memory(void)
{
	if (instrumented())
		return;
	struct entry *e = sample();
	char *big = rep("a", 16384);
	entry_add(e, "big", big);
	free(big);
	char *x512 = rep("x", 32768);
	char *huge = cat3("${big | replace('a', '", x512, "')}");
	free(x512);
	char *r = eval_in_child(e, "${big | replace('a', 'xxxxxxxxxxxxxxxx') | truncate(1)}", 10, 256 * MB);
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r)
		CU_ASSERT_STRING_EQUAL(r, "string:x");
	free(r);
	r = eval_in_child(e, huge, 10, 256 * MB);
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r)
		CU_ASSERT_STRING_EQUAL(r, "ERR:replace: the result would be over 16777216 bytes");
	free(r);
	free(huge);
	entry_free(e);
}

/* The match limit stops exponential backtracking, but a lookahead that
 * rescans the rest of the value from every start position is quadratic
 * and never reaches it (neither the JIT nor the interpreter counts the
 * scan of .* as steps): on 80 KB these take seconds, on 1 MiB many
 * minutes. The 16 KiB subject cap bounds them: the 1 MiB value is refused
 * at once and a 16 KiB one is answered quickly. Each case runs in a child
 * that gets 3 seconds (native builds only). */
static void test_regex_quadratic(void)
{
	if (instrumented())
		return;
	struct entry *e = sample();
	char *sp = rep(" ", MB);
	entry_add(e, "spaces", sp);
	free(sp);
	sp = rep(" ", 16384);
	entry_add(e, "sp16k", sp);
	free(sp);
	sp = rep("a", 16000);
	entry_add(e, "a16k", sp);
	free(sp);
	static const char *const cases[][2] = {
		{ "${spaces | regex_match('(?=.*[0-9])(?=.*[a-z])')}",
		  "ERR:regex_match: the value is over 16384 bytes, too long for a regex" },
		{ "${spaces | regex_match(' (?=.*@)')}",
		  "ERR:regex_match: the value is over 16384 bytes, too long for a regex" },
		{ "${spaces | replace(' (?=.*@)', '') | count}",
		  "ERR:replace: the value is over 16384 bytes, too long for a regex" },
		{ "${sp16k | regex_match('(?=.*[0-9])(?=.*[a-z])')}", "boolean:false" },
		{ "${sp16k | regex_match(' (?=.*@)')}", "boolean:false" },
		{ "${sp16k | replace(' (?=.*@)', '') | count}", "integer:1" },
		/* Just under the match limit at each of 16000 start positions
		 * (the limit is per position): minutes without the deadline. */
		{ "${a16k | regex_match('a{0,3000}a{0,3000}[bc]')}", "boolean:false" },
		{ "${a16k | replace('a{0,3000}a{0,3000}[bc]', 'x') | count}", "integer:1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = eval_in_child(e, cases[i][0], 3, 0);
		bool ok = r && (strcmp(r, cases[i][1]) == 0 ||
				(strncmp(r, "ERR:", 4) == 0 && strstr(r, "gave up")));
		if (r && !ok)
			fprintf(stderr, "\n  %s => %s\n", cases[i][0], r);
		CU_ASSERT(ok);
		free(r);
	}
	entry_free(e);
}

/* Strings stay NUL-free, valid UTF-8 whatever the functions do. */
static void test_nul_free(void)
{
	struct entry *e = bad_entry();
	/* a value holding NUL is refused like any other non-text value */
	X("${nul}", "ERR:attribute 'nul' has a value that is not valid UTF-8 text");
	X("${nul | replace('\\\\x00', '')}", "ERR:attribute 'nul' has a value that is not valid UTF-8 text");
	static const char *const srcs[] = {
		"${'x' | replace('x', '\\\\0')}",
		"${'x' | replace('x', '\\\\x00')}",
		"${'abc' | replace('', '\\\\u0000')}",
		"${'a\tb' | replace('\\\\s', '\\\\n')}",
		"${'aé€😀' | truncate(3)}",
		"${'aé€😀' | upper | lower}",
		"${'\xc2\xa0x\xc2\xa0' | trim}",
		"${'a,b' | split(',')}",
		"${'x@Ünï.org' | email_domain}",
		"${[uid, 1, true, null] | join('')}",
		"${mail[*] | sort | unique | join(',')}",
		"x ${mail[*]} ${42} ${null}",
		NULL,
	};
	for (size_t i = 0; srcs[i]; i++)
		CU_ASSERT(yields_clean_text(NULL, e, srcs[i]));
	entry_free(e);
}

/* ---- split */

static void test_split(void)
{
	struct entry *e = sample();
	X("${'a,b,,c' | split(',')}", "[a|b||c]");
	X("${'a,b,,c' | split(',') | count}", "integer:4");
	X("${split('a;b', ';')}", "[a|b]");
	X("${'a' | split(',')}", "[a]");
	X("${'a,' | split(',') | count}", "integer:2");
	X("${',' | split(',') | count}", "integer:2");
	X("${'a::b::c' | split('::')}", "[a|b|c]");
	X("${'a:::b' | split('::')}", "[a|:b]");
	X("${'张三、李四' | split('、')}", "[张三|李四]");
	X("${'a😀b' | split('😀')}", "[a|b]");
	/* "" has one, empty, part */
	X("${empty | split(',') | count}", "integer:1");
	X("${empty | split(',') | first}", "string:");
	X("${missing | split(',')}", "NULL");
	X("${missing[*] | split(',')}", "[]");
	/* arrays split element by element into one flat array */
	X("${['a,b', null, 'c'] | split(',')}", "[a|b|c]");
	X("${mail[*] | split('@')}", "[JDoe|Example.org|second|example.org|third|example.org]");
	X("${12345 | split('3')}", "[12|45]");
	X("${'a,b' | split(',') | join(';')}", "string:a;b");
	/* load-time errors */
	X("${uid | split('')}", "COMPILE:9:split: the separator must be a non-empty string");
	X("${uid | split(\"\")}", "COMPILE:9:split: the separator must be a non-empty string");
	X("${uid | split(1)}", "COMPILE:9:split: the separator must be a non-empty string");
	X("${uid | split(null)}", "COMPILE:9:split: the separator must be a non-empty string");
	X("${uid | split(sn)}",
	  "COMPILE:9:argument 2 of 'split' must be a literal (usage: ${value | split('separator')})");
	X("${uid | split}",
	  "COMPILE:9:wrong number of arguments for 'split' (usage: ${value | split('separator')})");
	X("${split(uid)}",
	  "COMPILE:3:wrong number of arguments for 'split' (usage: ${value | split('separator')})");
	entry_free(e);
}

/* ---- email_local, email_domain */

static void test_email_parts(void)
{
	struct entry *e = sample();
	X("${mail | email_local}", "string:JDoe");
	X("${mail | email_domain}", "string:example.org");
	X("${email_domain(mail)}", "string:example.org");
	X("${mail[*] | email_local}", "[JDoe|second|third]");
	X("${mail[*] | email_domain}", "[example.org|example.org|example.org]");
	/* the last '@' separates */
	X("${'a@b@Example.COM' | email_local}", "string:a@b");
	X("${'a@b@Example.COM' | email_domain}", "string:example.com");
	X("${'\"a@b\"@x.org' | email_local}", "string:\"a@b\"");
	/* the domain is lowercased beyond ASCII; the local part is kept */
	X("${'Jörg@BÜCHER.DE' | email_domain}", "string:bücher.de");
	X("${'Jörg@BÜCHER.DE' | email_local}", "string:Jörg");
	X("${'用户@例子.广告' | email_local}", "string:用户");
	X("${'用户@例子.广告' | email_domain}", "string:例子.广告");
	/* no '@', or nothing on one side of it: null */
	X("${'nobody' | email_local}", "NULL");
	X("${'nobody' | email_domain}", "NULL");
	X("${'@x.org' | email_local}", "NULL");
	X("${'@x.org' | email_domain}", "NULL");
	X("${'x@' | email_local}", "NULL");
	X("${'x@' | email_domain}", "NULL");
	X("${'@' | email_domain}", "NULL");
	X("${empty | email_local}", "NULL");
	X("${empty | email_domain}", "NULL");
	X("${missing | email_local}", "NULL");
	X("${missing | email_domain}", "NULL");
	X("${missing[*] | email_domain}", "[]");
	X("${['a@X.org', 'bad', null] | email_domain}", "[x.org||]");
	X("${['a@X.org', 'bad', null] | email_domain | count}", "integer:3");
	X("${42 | email_local}", "NULL");
	X("${uid | email_local(1)}",
	  "COMPILE:9:wrong number of arguments for 'email_local' (usage: ${mail | email_local})");
	X("${uid | email_domain('x')}",
	  "COMPILE:9:wrong number of arguments for 'email_domain' (usage: ${mail | email_domain})");
	entry_free(e);
}

/* ---- first, last, count */

static void test_first_last_count(void)
{
	struct entry *e = sample();
	X("${mail[*] | first}", "string:JDoe@Example.org");
	X("${mail[*] | last}", "string:third@example.org");
	X("${first(mail[*])}", "string:JDoe@Example.org");
	X("${uid | first}", "string:jdoe");
	X("${uid | last}", "string:jdoe");
	X("${empty | first}", "string:");
	X("${empty | last}", "string:");
	X("${missing | first}", "NULL");
	X("${missing | last}", "NULL");
	X("${missing[*] | first}", "NULL");
	X("${missing[*] | last}", "NULL");
	X("${[] | first}", "NULL");
	X("${[null, 'a'] | first}", "NULL");
	X("${['a', null] | last}", "NULL");
	X("${[[1, 2], 3] | first}", "[1|2]");
	X("${[1, [2, 3]] | last | count}", "integer:2");
	X("${42 | first}", "integer:42");
	X("${true | last}", "boolean:true");
	X("${cn | first}", "string:张三");
	X("${mail[*] | count}", "integer:3");
	X("${uid | count}", "integer:1");
	X("${empty | count}", "integer:1");
	X("${missing | count}", "integer:0");
	X("${missing[*] | count}", "integer:0");
	X("${[] | count}", "integer:0");
	X("${[null] | count}", "integer:1");
	X("${[[1, 2], [3]] | count}", "integer:2");
	X("${0 | count}", "integer:1");
	X("${first(uid, 1)}", "COMPILE:3:wrong number of arguments for 'first' (usage: ${values | first})");
	X("${uid | last(1)}", "COMPILE:9:wrong number of arguments for 'last' (usage: ${values | last})");
	X("${count()}", "COMPILE:3:wrong number of arguments for 'count' (usage: ${values | count})");
	entry_free(e);
}

/* ---- join */

static void test_join(void)
{
	struct entry *e = sample();
	X("${mail[*] | join(';')}", "string:JDoe@Example.org;second@example.org;third@example.org");
	X("${join(mail[*], ', ')}", "string:JDoe@Example.org, second@example.org, third@example.org");
	X("${uid | join(',')}", "string:jdoe");
	X("${empty | join(',')}", "string:");
	X("${missing | join(',')}", "NULL");
	X("${missing[*] | join(',')}", "string:");
	X("${[] | join(',')}", "string:");
	/* nulls are skipped, not joined as empty */
	X("${['a', null, 'b'] | join('-')}", "string:a-b");
	X("${[null, null] | join('-')}", "string:");
	X("${['', ''] | join('-')}", "string:-");
	X("${[1, true, 'x'] | join(0)}", "string:10true0x");
	X("${['a', ['b', 'c']] | join('/')}", "string:a/b/c");
	X("${['a', 'b'] | join('')}", "string:ab");
	X("${['张', '三'] | join('・')}", "string:张・三");
	X("${['a', 'b'] | join(uid)}", "string:ajdoeb");
	X("${['a', 'b'] | join(null)}", "ERR:join: expected a text argument, got null");
	X("${['a', 'b'] | join(missing)}", "ERR:join: expected a text argument, got null");
	X("${['a', 'b'] | join(['x'])}", "ERR:join: expected a text argument, got array");
	X("${uid | join(',', ';')}",
	  "COMPILE:9:wrong number of arguments for 'join' (usage: ${values | join('separator')})");
	entry_free(e);
}

/* ---- unique */

static void test_unique(void)
{
	struct entry *e = sample();
	X("${['a', 'b', 'a', 'A', 'b'] | unique}", "[a|b|A]");
	X("${['b', 'a', 'b'] | unique | join(',')}", "string:b,a");
	X("${mail[*] | unique | count}", "integer:3");
	/* 1 and "1", true and "true" differ; so do null and "" */
	X("${[1, '1', 1] | unique | count}", "integer:2");
	X("${[true, 'true', true] | unique | count}", "integer:2");
	X("${[null, null, ''] | unique | count}", "integer:2");
	X("${['张', '张', 'e\xcc\x81', 'é'] | unique | count}", "integer:3");
	X("${uid | unique}", "string:jdoe");
	X("${empty | unique}", "string:");
	X("${missing | unique}", "NULL");
	X("${missing[*] | unique}", "[]");
	X("${[] | unique | count}", "integer:0");
	X("${[[1, 2], [1, 2]] | unique | count}", "integer:1");
	X("${uid | unique(1)}",
	  "COMPILE:9:wrong number of arguments for 'unique' (usage: ${values | unique})");
	entry_free(e);
}

/* The type prefix keeps 1 and "1" apart only at the top level, and the
 * element separator is a character values may hold: nested arrays that
 * differ are taken for equal. */
static void test_unique_nested(void)
{
	struct entry *e = sample();
	X("${[[1], ['1']] | unique | count}", "integer:2");
	X("${[[null], ['']] | unique | count}", "integer:2");
	X("${[['a', 'b'], ['a\x1f"
	  "b']] | unique | count}",
	  "integer:2");
	/* the same with more than a handful of values (a hash set then) */
	X("${[['a\x1f"
	  "bb', 'c'], ['a', 'b\x1f"
	  "bc'], 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16] | unique | count}",
	  "integer:18");
	X("${[[1], ['1'], [null], [''], [], 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16] | "
	  "unique | count}",
	  "integer:21");
	entry_free(e);
}

/* ---- sort */

static void test_sort(void)
{
	struct entry *e = sample();
	X("${['b', 'a', 'C'] | sort}", "[C|a|b]");
	X("${mail[*] | sort}", "[JDoe@Example.org|second@example.org|third@example.org]");
	X("${mail[*] | sort | last}", "string:third@example.org");
	/* code point order */
	X("${['é', 'z', 'Z', '张', '😀', 'e', 'ÿ', 'Ā'] | sort}", "[Z|e|z|é|ÿ|Ā|张|😀]");
	X("${['abc', 'ab', 'a', ''] | sort}", "[|a|ab|abc]");
	X("${[10, 9, -1, 0, 9] | sort}", "[-1|0|9|9|10]");
	X("${['10', '9'] | sort}", "[10|9]");
	/* mixed arrays group by type: null, strings, numbers, booleans */
	X("${['b', 2, 'a', 1, true, false] | sort}", "[a|b|1|2|false|true]");
	X("${['a', null] | sort | first}", "NULL");
	X("${['a', null] | sort | count}", "integer:2");
	X("${uid | sort}", "string:jdoe");
	X("${empty | sort}", "string:");
	X("${missing | sort}", "NULL");
	X("${missing[*] | sort}", "[]");
	X("${['x'] | sort}", "[x]");
	X("${['b', 'a', 'b', 'a'] | sort | unique}", "[a|b]");
	X("${sort(uid, 1)}", "COMPILE:3:wrong number of arguments for 'sort' (usage: ${values | sort})");
	entry_free(e);
}

/* ---- 10k-valued attributes */

static void test_list_10k(void)
{
	struct entry *e = sample();
	struct entry_attr *many = entry_attr_get_or_add(e, "many");
	struct entry_attr *dups = entry_attr_get_or_add(e, "dups");
	char v[32];
	for (int i = 9999; i >= 0; i--) {
		int n = snprintf(v, sizeof(v), "u%05d", i);
		entry_attr_add_value(many, v, (size_t)n);
		n = snprintf(v, sizeof(v), "x%02d", i % 100);
		entry_attr_add_value(dups, v, (size_t)n);
	}
	double t0 = now();
	X("${many[*] | count}", "integer:10000");
	X("${many[*] | unique | count}", "integer:10000");
	X("${dups[*] | unique | count}", "integer:100");
	X("${dups[*] | unique | first}", "string:x99");
	X("${many[*] | sort | first}", "string:u00000");
	X("${many[*] | sort | last}", "string:u09999");
	X("${many[*] | first}", "string:u09999");
	X("${many[-1]}", "string:u00000");
	X("${many[*] | regex_match('^u00000$')}", "boolean:true");
	X("${many[*] | upper | lower | trim | truncate(6) | email_local | count}", "integer:10000");
	X("${dups[*] | sort | unique | join(',') | split(',') | count}", "integer:100");
	CU_ASSERT_EQUAL(result_len(NULL, e, "${many[*] | sort | unique | join(',')}"), 10000 * 6 + 9999);
	char *j = mfix_eval_env("${many[*] | sort | unique | join(',')}", e, NULL);
	CU_ASSERT(strncmp(j, "string:u00000,u00001,u00002,", 28) == 0);
	CU_ASSERT(strcmp(j + strlen(j) - 14, ",u09998,u09999") == 0);
	free(j);
	j = mfix_eval_env("${many[*]}", e, NULL);
	CU_ASSERT_EQUAL(strlen(j), 2 + 10000 * 6 + 9999);
	free(j);
	EXPECT_FAST(t0, 0.5, "10k-valued list functions");

	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };
	t0 = now();
	XL("${many[*] | lookup('dept', 'other') | unique}", "[other]");
	XL("${coalesce(missing, many[*]) | count}", "integer:10000");
	XL("${if(many[*], 'y', 'n')}", "string:y");
	XL("${many[*] | not_empty}", "boolean:true");
	EXPECT_FAST(t0, 0.5, "10k-valued logic functions");
	mlookups_free(l);
	entry_free(e);
}

/* Joins are capped like replacements: 17 values of 1 MiB are too many. */
static void test_join_cap(void)
{
	struct entry *e = sample();
	char *big = rep("a", MB);
	struct entry_attr *a = entry_attr_get_or_add(e, "bigs");
	for (int i = 0; i < 17; i++)
		entry_attr_add_value(a, big, MB);
	struct entry_attr *b = entry_attr_get_or_add(e, "sixteen");
	for (int i = 0; i < 16; i++)
		entry_attr_add_value(b, big, MB);
	free(big);
	double t0 = now();
	X("${bigs[*] | join('')}", "ERR:join: the result would be over 16777216 bytes");
	X("${sixteen[*] | join(',')}", "ERR:join: the result would be over 16777216 bytes");
	CU_ASSERT_EQUAL(result_len(NULL, e, "${sixteen[*] | join('')}"), 16ll * MB);
	EXPECT_FAST(t0, 2.0, "16 MiB joins");
	entry_free(e);
}

/* ---- one-megabyte values through every function */

static void test_huge_values(void)
{
	struct entry *e = sample();
	char *upper = rep("A", MB), *lower = rep("a", MB), *xs = rep("x", MB);
	char *e_acute = rep("é", MB / 2), *E_acute = rep("É", MB / 2);
	entry_add(e, "big", upper);
	entry_add(e, "bigmb", e_acute);
	char *padded = cat3("\xe3\x80\x80 ", xs, "\t\xc2\xa0");
	entry_add(e, "bigsp", padded);
	char *mail = cat3(lower, "@Example.ORG", "");
	entry_add(e, "bigmail", mail);
	char *csv = rep("a,", MB / 2);
	entry_add(e, "bigcsv", csv);
	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };

	double t0 = now();
	EXPECT_BIG(NULL, e, "${big | lower}", "string", lower);
	EXPECT_BIG(NULL, e, "${big | lower | upper}", "string", upper);
	EXPECT_BIG(NULL, e, "${bigmb | upper}", "string", E_acute);
	EXPECT_BIG(NULL, e, "${bigsp | trim}", "string", xs);
	X("${big | truncate(5)}", "string:AAAAA");
	X("${bigmb | truncate(3)}", "string:ééé");
	EXPECT_BIG(NULL, e, "${bigmb | truncate(1000000)}", "string", e_acute);
	/* Regexes stop at 16 KiB (quadratic lookaheads); the other text
	 * functions take a megabyte. */
	X("${big | replace('A', 'a')}", "ERR:replace: the value is over 16384 bytes, too long for a regex");
	X("${bigmb | regex_match('^\\\\w+$')}", "ERR:regex_match: the value is over 16384 bytes, too long for a regex");
	X("${big | truncate(16384) | replace('A+', 'z')}", "string:z");
	X("${big | truncate(16384) | regex_match('^A+$')}", "boolean:true");
	X("${big | truncate(16384) | regex_match('a')}", "boolean:false");
	X("${bigmb | truncate(8192) | regex_match('^\\\\w+$')}", "boolean:true");
	X("${big | split('A') | count}", "integer:1048577");
	X("${bigcsv | split(',') | count}", "integer:524289");
	X("${bigcsv | split(',') | unique}", "[a|]");
	X("${bigcsv | truncate(20000) | split(',') | count}", "integer:10001");
	X("${big | split(',') | count}", "integer:1");
	EXPECT_BIG(NULL, e, "${bigmail | email_local}", "string", lower);
	X("${bigmail | email_domain}", "string:example.org");
	EXPECT_BIG(NULL, e, "${big | first}", "string", upper);
	EXPECT_BIG(NULL, e, "${big | last}", "string", upper);
	X("${big | count}", "integer:1");
	EXPECT_BIG(NULL, e, "${big | join(',')}", "string", upper);
	X("${[big, big, bigmb] | unique | count}", "integer:2");
	X("${[bigmb, 'a', big] | sort | first | truncate(3)}", "string:AAA");
	X("${[bigmb, 'a', big] | sort | last | truncate(2)}", "string:éé");
	X("${[bigmb, 'a', big] | sort | join('') | truncate(3) | regex_match('^A+$')}", "boolean:true");
	X("${if(big, 'y', 'n')}", "string:y");
	EXPECT_BIG(NULL, e, "${if(true, big, 'n')}", "string", upper);
	EXPECT_BIG(NULL, e, "${coalesce(missing, '', big)}", "string", upper);
	EXPECT_BIG(NULL, e, "${missing | default(big)}", "string", upper);
	X("${big | not}", "boolean:false");
	X("${big | not_empty}", "boolean:true");
	X("${big == big}", "boolean:true");
	X("${big != bigmb}", "boolean:true");
	XL("${big | lookup('dept', 'other')}", "string:other");
	char *a64 = rep("A", 64), *e64 = rep("é", 64);
	char *want = cat3("ERR:value \"", a64,
			  "\"... (1048576 characters) is not in lookup table 'dept' (add it, or give lookup "
			  "a default)");
	XL("${big | lookup('dept')}", want);
	free(want);
	want = cat3(
		"ERR:value \"", e64,
		"\"... (524288 characters) is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${bigmb | lookup('dept')}", want);
	free(want);
	free(a64);
	free(e64);
	char *tpl = cat3("<", upper, ">");
	EXPECT_BIG(NULL, e, "<${big}>", "string", tpl);
	free(tpl);
	EXPECT_FAST(t0, 2.0, "one-megabyte values");

	mlookups_free(l);
	free(upper);
	free(lower);
	free(xs);
	free(e_acute);
	free(E_acute);
	free(padded);
	free(mail);
	free(csv);
	entry_free(e);
}

/* ---- values that are not UTF-8 text */

static void test_invalid_utf8(void)
{
	struct entry *e = bad_entry();
	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };
	static const char *const srcs[] = {
		"${bad}",
		"${bad | lower}",
		"${bad | upper}",
		"${bad | trim}",
		"${bad | truncate(1)}",
		"${bad | replace('a', 'b')}",
		"${bad | regex_match('a')}",
		"${bad | split(',')}",
		"${bad | email_local}",
		"${bad | email_domain}",
		"${bad | first}",
		"${bad | last}",
		"${bad | count}",
		"${bad | join(',')}",
		"${bad | unique}",
		"${bad | sort}",
		"${if(bad, 'y', 'n')}",
		"${coalesce(bad, 'x')}",
		"${coalesce(missing, '', bad)}",
		"${bad | default('x')}",
		"${missing | default(bad)}",
		"${bad | not}",
		"${bad | not_empty}",
		"${bad | lookup('dept', 'x')}",
		"${bad[*] | count}",
		"${bad[-1]}",
		"${BAD}",
		"${uid | join(bad)}",
		"${uid | truncate(bad)}",
		"${'zz' | lookup('dept', bad)}",
		"${[uid, bad] | first}",
		"${bad == 'x'}",
		"${uid != bad}",
		"name: ${bad}!",
		NULL,
	};
	for (size_t i = 0; srcs[i]; i++)
		XL(srcs[i], "ERR:attribute 'bad' has a value that is not valid UTF-8 text");
	/* each value is checked where it is read */
	XL("${badmulti}", "string:ok");
	XL("${badmulti[0]}", "string:ok");
	XL("${badmulti[1]}", "ERR:attribute 'badmulti' has a value that is not valid UTF-8 text");
	XL("${badmulti[*] | first}", "ERR:attribute 'badmulti' has a value that is not valid UTF-8 text");
	XL("${badmulti[*] | count}", "ERR:attribute 'badmulti' has a value that is not valid UTF-8 text");
	XL("${nul | lower}", "ERR:attribute 'nul' has a value that is not valid UTF-8 text");
	XL("${overlong | lower}", "ERR:attribute 'overlong' has a value that is not valid UTF-8 text");
	XL("${surrogate | upper}", "ERR:attribute 'surrogate' has a value that is not valid UTF-8 text");
	XL("${toobig | trim}", "ERR:attribute 'toobig' has a value that is not valid UTF-8 text");
	XL("${cut | truncate(1)}", "ERR:attribute 'cut' has a value that is not valid UTF-8 text");
	/* a branch or fallback that is not taken is not read */
	XL("${if(true, 'y', bad)}", "string:y");
	XL("${if(false, bad, 'n')}", "string:n");
	XL("${if(false, bad)}", "NULL");
	XL("${coalesce(uid, bad)}", "string:jdoe");
	XL("${uid | default(bad)}", "string:jdoe");
	mlookups_free(l);
	entry_free(e);

	e = entry_new("uid=\xff,dc=example,dc=org");
	X("${dn}", "ERR:attribute 'dn' has a value that is not valid UTF-8 text");
	X("${dn | lower}", "ERR:attribute 'dn' has a value that is not valid UTF-8 text");
	X("${dn[*] | count}", "ERR:attribute 'dn' has a value that is not valid UTF-8 text");
	entry_free(e);
}

/* ---- if */

static void test_if_truthiness(void)
{
	struct entry *e = sample();
	static const char *const table[][2] = {
		{ "missing", "n" }, { "null", "n" },       { "''", "n" },      { "empty", "n" },
		{ "[]", "n" },      { "missing[*]", "n" }, { "false", "n" },   { "0", "n" },
		{ "'false'", "n" }, { "'FALSE'", "n" },    { "'False'", "n" }, { "'NO'", "n" },
		{ "'no'", "n" },    { "'0'", "n" },        { "'off'", "n" },   { "'OFF'", "n" },
		{ "active", "n" },  { "'x'", "y" },        { "1", "y" },       { "-1", "y" },
		{ "true", "y" },    { "'true'", "y" },     { "'yes'", "y" },   { "'on'", "y" },
		{ "['']", "y" },    { "[false]", "y" },    { "[null]", "y" },  { "' 0'", "y" },
		{ "'00'", "y" },    { "'0.0'", "y" },      { "'nope'", "y" },  { "'n'", "y" },
		{ "uid", "y" },     { "mail[*]", "y" },    { "len", "y" },     { "'false '", "y" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char src[96], want[32];
		snprintf(src, sizeof(src), "${if(%s, 'y', 'n')}", table[i][0]);
		snprintf(want, sizeof(want), "string:%s", table[i][1]);
		X(src, want);
		snprintf(src, sizeof(src), "${%s | not}", table[i][0]);
		snprintf(want, sizeof(want), "boolean:%s", table[i][1][0] == 'y' ? "false" : "true");
		X(src, want);
	}
	X("${if(false, 'y')}", "NULL");
	X("${if(true, 'y')}", "string:y");
	X("${uid | if('y', 'n')}", "string:y");
	X("${missing | if('y', 'n')}", "string:n");
	X("${if(1, 2, 3)}", "integer:2");
	X("${if(true, mail[*], 'n')}", "[JDoe@Example.org|second@example.org|third@example.org]");
	X("${if(uid == 'jdoe', 'me', 'other')}", "string:me");
	X("${if(uid != 'jdoe', 'me', 'other')}", "string:other");
	X("${if(mail[*] | regex_match('^third'), 'has', 'not')}", "string:has");
	X("a${if(false, 'b')}c", "string:ac");
	X("${if(true)}",
	  "COMPILE:3:wrong number of arguments for 'if' (usage: ${if(condition, then[, else])})");
	X("${if(1, 2, 3, 4)}",
	  "COMPILE:3:wrong number of arguments for 'if' (usage: ${if(condition, then[, else])})");
	X("${if()}", "COMPILE:3:wrong number of arguments for 'if' (usage: ${if(condition, then[, else])})");
	entry_free(e);
}

/* if, coalesce and default evaluate only what they use. */
static void test_lazy(void)
{
	struct entry *e = sample();
	char *evil = rep("a", 16001); /* 16000 a then b: under the 16 KiB cap */
	evil[16000] = 'b';
	entry_add(e, "evil", evil);
	free(evil);
	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };
	/* the failing branch on its own */
	XL("${'zz' | lookup('dept')}",
	   "ERR:value \"zz\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${if(true, 'a', 'zz' | lookup('dept'))}", "string:a");
	XL("${if(false, 'zz' | lookup('dept'), 'b')}", "string:b");
	XL("${if(false, 'zz' | lookup('dept'))}", "NULL");
	XL("${if(false, 'a', 'zz' | lookup('dept'))}",
	   "ERR:value \"zz\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${if('zz' | lookup('dept'), 'a', 'b')}",
	   "ERR:value \"zz\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${coalesce(uid, 'zz' | lookup('dept'))}", "string:jdoe");
	XL("${coalesce(missing, 'zz' | lookup('dept'), uid)}",
	   "ERR:value \"zz\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${uid | default('zz' | lookup('dept'))}", "string:jdoe");
	XL("${missing | default('zz' | lookup('dept'))}",
	   "ERR:value \"zz\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${if(true, 'a', truncate(uid, -1))}", "string:a");
	XL("${if(true, 'a', [1] | join(null))}", "string:a");
	double t0 = now();
	XL("${if(true, 'ok', evil | regex_match('(a+)+$'))}", "string:ok");
	XL("${coalesce('ok', evil | replace('(a+)+$', ''))}", "string:ok");
	EXPECT_FAST(t0, 0.05, "untaken catastrophic branches");
	/* lazy or not, a wrong table name is a load-time error */
	XL("${if(true, 'a', uid | lookup('nope'))}", "COMPILE:23:lookup: unknown lookup table 'nope'");
	mlookups_free(l);
	entry_free(e);
}

/* ---- coalesce, default */

static void test_coalesce_default(void)
{
	struct entry *e = sample();
	X("${coalesce(missing, empty, missing[*], '', [], uid, 'x')}", "string:jdoe");
	X("${coalesce(uid)}", "string:jdoe");
	X("${coalesce(missing)}", "NULL");
	X("${coalesce(missing, null)}", "NULL");
	X("${coalesce(missing, '')}", "string:");
	X("${coalesce(missing, missing[*])}", "[]");
	/* false and 0 are values, not empty */
	X("${coalesce(false, 'x')}", "boolean:false");
	X("${coalesce(0, 'x')}", "integer:0");
	X("${coalesce([''], 'x') | count}", "integer:1");
	X("${coalesce(missing[*], mail[*], 'x')}", "[JDoe@Example.org|second@example.org|third@example.org]");
	X("${coalesce(empty | trim, cn | truncate(1))}", "string:张");
	X("${coalesce()}",
	  "COMPILE:3:wrong number of arguments for 'coalesce' (usage: ${coalesce(a, b, ...)})");
	/* 64 arguments are allowed, 65 are not */
	struct sbuf sb;
	sbuf_init(&sb);
	sbuf_addstr(&sb, "${coalesce(");
	for (int i = 0; i < 63; i++)
		sbuf_addf(&sb, "%s, ", i % 3 == 0 ? "missing" : i % 3 == 1 ? "''" : "missing[*]");
	sbuf_addstr(&sb, "cn)}");
	X(sb.buf, "string:张三");
	sbuf_reset(&sb);
	sbuf_addstr(&sb, "${coalesce(");
	for (int i = 0; i < 64; i++)
		sbuf_addstr(&sb, "missing, ");
	sbuf_addstr(&sb, "cn)}");
	X(sb.buf, "COMPILE:3:wrong number of arguments for 'coalesce' (usage: ${coalesce(a, b, ...)})");
	sbuf_release(&sb);

	X("${missing | default('x')}", "string:x");
	X("${empty | default('x')}", "string:x");
	X("${missing[*] | default('x')}", "string:x");
	X("${[] | default('x')}", "string:x");
	X("${uid | default('x')}", "string:jdoe");
	X("${mail[*] | default('x') | count}", "integer:3");
	X("${0 | default('x')}", "integer:0");
	X("${false | default('x')}", "boolean:false");
	X("${'0' | default('x')}", "string:0");
	X("${missing | default(missing)}", "NULL");
	X("${missing | default(mail[*]) | count}", "integer:3");
	X("${missing | default(missing2) | default('z')}", "string:z");
	X("${default(missing, 'x')}", "string:x");
	X("${missing | default('')}", "string:");
	X("${uid | default}",
	  "COMPILE:9:wrong number of arguments for 'default' (usage: ${value | default(fallback)})");
	X("${uid | default('a', 'b')}",
	  "COMPILE:9:wrong number of arguments for 'default' (usage: ${value | default(fallback)})");
	entry_free(e);
}

/* ---- not, not_empty */

static void test_not_not_empty(void)
{
	struct entry *e = sample();
	X("${missing | not}", "boolean:true");
	X("${uid | not | not}", "boolean:true");
	X("${not(uid == 'x')}", "boolean:true");
	X("${mail[*] | not}", "boolean:false");
	X("${missing | not_empty}", "boolean:false");
	X("${null | not_empty}", "boolean:false");
	X("${'' | not_empty}", "boolean:false");
	X("${empty | not_empty}", "boolean:false");
	X("${[] | not_empty}", "boolean:false");
	X("${missing[*] | not_empty}", "boolean:false");
	X("${[''] | not_empty}", "boolean:true");
	X("${[null] | not_empty}", "boolean:true");
	X("${0 | not_empty}", "boolean:true");
	X("${false | not_empty}", "boolean:true");
	X("${' ' | not_empty}", "boolean:true");
	X("${uid | not_empty}", "boolean:true");
	X("${mail[*] | not_empty}", "boolean:true");
	X("${not_empty(cn)}", "boolean:true");
	X("${not(uid, 1)}", "COMPILE:3:wrong number of arguments for 'not' (usage: ${value | not})");
	X("${uid | not_empty(1)}",
	  "COMPILE:9:wrong number of arguments for 'not_empty' (usage: ${value | not_empty})");
	entry_free(e);
}

/* ---- lookup */

static void test_lookup(void)
{
	struct entry *e = sample();
	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };
	XL("${'Sales' | lookup('dept')}", "string:S01");
	XL("${lookup('R&D', 'dept')}", "string:R01");
	XL("${'Ünï 张' | lookup('dept')}", "string:U1");
	XL("${'DE' | lookup('country')}", "string:EU");
	XL("${42 | lookup('dept')}", "integer:7");
	XL("${'multi' | lookup('dept')}", "[x|y]");
	XL("${'none' | lookup('dept')}", "string:");
	XL("${'none' | lookup('dept') | default('d')}", "string:d");
	/* exact, case-sensitive keys */
	XL("${'sales' | lookup('dept')}",
	   "ERR:value \"sales\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${'Sales ' | lookup('dept')}",
	   "ERR:value \"Sales \" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${'a\tb\"c' | lookup('dept')}",
	   "ERR:value \"a\\x09b\\\"c\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${'sales' | lookup('dept', 'other')}", "string:other");
	XL("${'sales' | lookup('dept', null)}", "NULL");
	XL("${'sales' | lookup('dept', uid)}", "string:jdoe");
	XL("${'sales' | lookup('dept', mail[*]) | count}", "integer:3");
	XL("${'Sales' | lookup('dept', 'other')}", "string:S01");
	/* empty and null */
	XL("${empty | lookup('dept')}",
	   "ERR:value \"\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${empty | lookup('dept', 'd')}", "string:d");
	XL("${missing | lookup('dept')}", "NULL");
	XL("${missing[*] | lookup('dept')}", "[]");
	/* arrays map element by element */
	XL("${['Sales', 'R&D'] | lookup('dept')}", "[S01|R01]");
	XL("${['Sales', 'nope', 'x'] | lookup('dept')}",
	   "ERR:value \"nope\" is not in lookup table 'dept' (add it, or give lookup a default)");
	XL("${['Sales', 'nope', null] | lookup('dept', '?')}", "[S01|?|]");
	XL("${['Sales', 'multi'] | lookup('dept') | count}", "integer:2");
	XL("${['Sales', 'Sales'] | lookup('dept') | unique}", "[S01]");
	entry_free(e);
	mlookups_free(l);
}

static void test_lookup_compile_errors(void)
{
	struct entry *e = sample();
	struct mlookups *l = sample_tables();
	struct mexpr_env env = { .lookups = l };
	XL("${uid | lookup('dpt')}", "COMPILE:9:lookup: unknown lookup table 'dpt' (did you mean 'dept'?)");
	XL("${uid | lookup('Dept', 'x')}",
	   "COMPILE:9:lookup: unknown lookup table 'Dept' (did you mean 'dept'?)");
	XL("${uid | lookup('zzzzzzz')}", "COMPILE:9:lookup: unknown lookup table 'zzzzzzz'");
	XL("${lookup(uid, 'contry')}",
	   "COMPILE:3:lookup: unknown lookup table 'contry' (did you mean 'country'?)");
	XL("${uid | lookup(sn)}", "COMPILE:9:argument 2 of 'lookup' must be a literal (usage: ${value | "
				  "lookup('table'[, default])})");
	XL("${uid | lookup(1)}", "COMPILE:9:lookup: the table name must be a string");
	XL("${uid | lookup(null)}", "COMPILE:9:lookup: the table name must be a string");
	XL("${uid | lookup}",
	   "COMPILE:9:wrong number of arguments for 'lookup' (usage: ${value | lookup('table'[, default])})");
	XL("${uid | lookup('dept', 'a', 'b')}",
	   "COMPILE:9:wrong number of arguments for 'lookup' (usage: ${value | lookup('table'[, default])})");
	/* no tables at all */
	static const char no_tables[] =
		"COMPILE:9:lookup: unknown lookup table 'dept' (no tables are declared; see 'lookups' in "
		"membersync.conf(5))";
	MFIX_EXPECT(NULL, e, "${uid | lookup('dept')}", no_tables);
	struct mexpr_env none = { .lookups = NULL };
	MFIX_EXPECT(&none, e, "${uid | lookup('dept')}", no_tables);
	mlookups_free(l);
	entry_free(e);
}

/* An empty set of tables declares no table either: the hint that says so
 * should not depend on whether the caller passed NULL or an empty set. */
static void test_lookup_empty_table_set(void)
{
	struct entry *e = sample();
	struct mlookups *l = mlookups_new();
	struct mexpr_env env = { .lookups = l };
	XL("${uid | lookup('dept')}",
	   "COMPILE:9:lookup: unknown lookup table 'dept' (no tables are declared; see 'lookups' in "
	   "membersync.conf(5))");
	mlookups_free(l);
	entry_free(e);
}

/* ---- the language */

static void test_attribute_selection(void)
{
	struct entry *e = sample();
	X("${uid}", "string:jdoe");
	X("${UID}", "string:jdoe");
	X("${mail}", "string:JDoe@Example.org");
	X("${mail[*]}", "[JDoe@Example.org|second@example.org|third@example.org]");
	X("${mail[0]}", "string:JDoe@Example.org");
	X("${mail[1]}", "string:second@example.org");
	X("${mail[2]}", "string:third@example.org");
	X("${mail[3]}", "NULL");
	X("${mail[-1]}", "string:third@example.org");
	X("${mail[-3]}", "string:JDoe@Example.org");
	X("${mail[-4]}", "NULL");
	X("${mail[-0]}", "string:JDoe@Example.org");
	X("${mail[ 1 ]}", "string:second@example.org");
	X("${mail[ * ]}", "[JDoe@Example.org|second@example.org|third@example.org]");
	X("${mail[2147483647]}", "NULL");
	X("${mail[-2147483648]}", "NULL");
	X("${mail[2147483648]}", "COMPILE:3:attribute index out of range");
	X("${mail[x]}", "COMPILE:8:expected '*' or a number inside [ ]");
	X("${mail[1}", "COMPILE:9:expected ']'");
	X("${missing[0]}", "NULL");
	X("${missing[-1]}", "NULL");
	X("${missing[*]}", "[]");
	X("${empty}", "string:");
	X("${empty[*]}", "[]");
	X("${empty[*] | count}", "integer:1");
	X("${cn[-1]}", "string:张三");
	entry_free(e);
}

static void test_interpolation_and_literals(void)
{
	struct entry *e = sample();
	X("${uid}@${'example.org'}", "string:jdoe@example.org");
	X("<${missing}>", "string:<>");
	X("n=${42}", "string:n=42");
	X("${true}!", "string:true!");
	X("${mail[*]};", "string:JDoe@Example.org,second@example.org,third@example.org;");
	X("${uid}${uid}", "string:jdoejdoe");
	X("${cn} ${uid}", "string:张三 jdoe");
	X("$$", "string:$");
	X("$${uid}", "string:${uid}");
	X("$$${uid}", "string:$jdoe");
	X("a$b", "string:a$b");
	X("$", "string:$");
	X("50$", "string:50$");
	X("", "string:");
	X("plain", "string:plain");
	X("${''}", "string:");
	X("${\"dq\"}", "string:dq");
	X("${'a\\tb'}", "string:a\tb");
	X("${'a\\nb'}", "string:a\nb");
	X("${'it\\'s'}", "string:it's");
	X("${\"say \\\"hi\\\"\"}", "string:say \"hi\"");
	X("${'}'}", "string:}");
	X("${'${uid}'}", "string:${uid}");
	X("${-5}", "integer:-5");
	X("${0}", "integer:0");
	X("${null}", "NULL");
	X("${false}", "boolean:false");
	X("${[]}", "[]");
	X("${[1, 'a', [2, 3], null, true]}", "[1|a|2|3||true]");
	X("${[1, [2]] | count}", "integer:2");
	X("${[ uid , cn ]}", "[jdoe|张三]");
	X("${ uid | upper }", "string:JDOE");
	X("${mail[*] | last | upper | email_domain}", "string:example.org");
	X("${(uid)}", "string:jdoe");
	X("${((uid | upper)) | lower}", "string:jdoe");
	X("${(mail[*] | sort) | first}", "string:JDoe@Example.org");
	X("${uid} ${uid", "COMPILE:8:'${' is not closed by '}'");
	X("${uid} ${", "COMPILE:10:expected an attribute name, a literal or a function call");
	X("${(uid}", "COMPILE:7:expected ')'");
	X("${[1, 2}", "COMPILE:8:expected ',' or ']'");
	X("${'a\\x'}", "COMPILE:5:unknown escape '\\x' in string literal");
	entry_free(e);
}

static void test_comparisons(void)
{
	struct entry *e = sample();
	X("${uid == 'jdoe'}", "boolean:true");
	X("${uid != 'jdoe'}", "boolean:false");
	X("${uid == 'JDOE'}", "boolean:false");
	X("${uid=='jdoe'}", "boolean:true");
	X("${cn == '张三'}", "boolean:true");
	/* both sides compare as text */
	X("${'42' == 42}", "boolean:true");
	X("${42 == '42'}", "boolean:true");
	X("${42 == 42}", "boolean:true");
	X("${42 != 42}", "boolean:false");
	X("${'042' == 42}", "boolean:false");
	X("${-1 == '-1'}", "boolean:true");
	X("${true == 'true'}", "boolean:true");
	X("${1 == true}", "boolean:false");
	X("${[1, 2] == [1, 2]}", "boolean:true");
	X("${[1, 2] != [2, 1]}", "boolean:true");
	X("${[1, 2] == '1,2'}", "boolean:true");
	X("${mail[*] == mail[*]}", "boolean:true");
	X("${mail[*] == mail}", "boolean:false");
	X("${mail[*] != mail[*] | sort}", "boolean:false");
	X("${missing == ''}", "boolean:true");
	X("${missing == null}", "boolean:true");
	X("${missing != 'x'}", "boolean:true");
	X("${uid | upper == 'JDOE'}", "boolean:true");
	X("${len == 3}", "boolean:true");
	X("${(uid == 'jdoe') == true}", "boolean:true");
	X("${uid == ('a' == 'a')}", "boolean:false");
	X("${(1 == 1) != (1 == 2)}", "boolean:true");
	X("${[uid == 'jdoe', uid != 'jdoe']}", "[true|false]");
	/* comparisons do not chain */
	X("${uid == 'a' == 'b'}", "COMPILE:14:comparisons do not chain; use parentheses");
	X("${uid != 'a' != 'b'}", "COMPILE:14:comparisons do not chain; use parentheses");
	X("${uid == 'a' != 'b'}", "COMPILE:14:comparisons do not chain; use parentheses");
	X("${1 == 1 == 1}", "COMPILE:10:comparisons do not chain; use parentheses");
	X("${if(uid == 'a' == 'b', 1, 2)}", "COMPILE:17:comparisons do not chain; use parentheses");
	X("${uid = 'a'}", "COMPILE:7:expected '|' or '}'");
	X("${uid ==}", "COMPILE:9:expected an attribute name, a literal or a function call");
	X("${== uid}", "COMPILE:3:unexpected character '='");
	entry_free(e);
}

static void test_unknown_functions(void)
{
	struct entry *e = sample();
	X("${uid | uper}", "COMPILE:9:unknown function 'uper' (did you mean 'upper'?)");
	X("${uid | lowe}", "COMPILE:9:unknown function 'lowe' (did you mean 'lower'?)");
	X("${uid | trimm}", "COMPILE:9:unknown function 'trimm' (did you mean 'trim'?)");
	X("${uid | truncat(3)}", "COMPILE:9:unknown function 'truncat' (did you mean 'truncate'?)");
	X("${uid | replac('a', 'b')}", "COMPILE:9:unknown function 'replac' (did you mean 'replace'?)");
	X("${uid | regex_mach('a')}",
	  "COMPILE:9:unknown function 'regex_mach' (did you mean 'regex_match'?)");
	X("${uid | splitt(',')}", "COMPILE:9:unknown function 'splitt' (did you mean 'split'?)");
	X("${uid | email_domian}",
	  "COMPILE:9:unknown function 'email_domian' (did you mean 'email_domain'?)");
	X("${uid | frst}", "COMPILE:9:unknown function 'frst' (did you mean 'first'?)");
	X("${uid | joinn(',')}", "COMPILE:9:unknown function 'joinn' (did you mean 'join'?)");
	X("${uid | uniqe}", "COMPILE:9:unknown function 'uniqe' (did you mean 'unique'?)");
	X("${sortt(mail[*])}", "COMPILE:3:unknown function 'sortt' (did you mean 'sort'?)");
	X("${coalese(uid)}", "COMPILE:3:unknown function 'coalese' (did you mean 'coalesce'?)");
	X("${uid | defualt('x')}", "COMPILE:9:unknown function 'defualt' (did you mean 'default'?)");
	X("${uid | not_emtpy}", "COMPILE:9:unknown function 'not_emtpy' (did you mean 'not_empty'?)");
	X("${uid | lookupp('t')}", "COMPILE:9:unknown function 'lookupp' (did you mean 'lookup'?)");
	X("${uid | xyzzyq}", "COMPILE:9:unknown function 'xyzzyq'");
	X("${uid | Lower}", "COMPILE:9:unknown function 'Lower' (did you mean 'lower'?)");
	X("  ${uid | trim | uper}", "COMPILE:18:unknown function 'uper' (did you mean 'upper'?)");
	/* errors inside arguments point into the argument */
	X("${coalesce(missing, uid | uper)}", "COMPILE:27:unknown function 'uper' (did you mean 'upper'?)");
	entry_free(e);
}

static void test_arity(void)
{
	struct entry *e = sample();
	X("${uid | lower(1)}", "COMPILE:9:wrong number of arguments for 'lower' (usage: ${value | lower})");
	X("${upper()}", "COMPILE:3:wrong number of arguments for 'upper' (usage: ${value | upper})");
	X("${uid | trim(1)}", "COMPILE:9:wrong number of arguments for 'trim' (usage: ${value | trim})");
	X("${uid | truncate}",
	  "COMPILE:9:wrong number of arguments for 'truncate' (usage: ${value | truncate(max_characters)})");
	X("${uid | truncate(1, 2)}",
	  "COMPILE:9:wrong number of arguments for 'truncate' (usage: ${value | truncate(max_characters)})");
	X("${uid | join}",
	  "COMPILE:9:wrong number of arguments for 'join' (usage: ${values | join('separator')})");
	X("${uid | unique | sort(1)}",
	  "COMPILE:18:wrong number of arguments for 'sort' (usage: ${values | sort})");
	entry_free(e);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "lower/upper: basics, empty, null, arrays", test_case_basic },
		{ "lower/upper: Latin-1", test_case_latin1 },
		{ "lower/upper: y with diaeresis", test_case_latin1_y_diaeresis },
		{ "lower/upper: Latin Extended-A", test_case_latin_ext_a },
		{ "lower/upper: Latin Extended-A Z with acute, dot, caron", test_case_latin_ext_a_zcaron },
		{ "lower/upper: Turkish dotted and dotless i", test_case_dotted_i },
		{ "lower/upper: Greek", test_case_greek },
		{ "lower/upper: Greek tonos and final sigma", test_case_greek_tonos_final_sigma },
		{ "lower/upper: Cyrillic", test_case_cyrillic },
		{ "lower/upper: Cyrillic beyond Russian", test_case_cyrillic_extended },
		{ "lower/upper: scripts without case", test_case_uncased },
		{ "trim", test_trim },
		{ "truncate", test_truncate },
		{ "replace", test_replace },
		{ "replace: unset groups", test_replace_unset_group },
		{ "replace: load-time errors", test_replace_compile_errors },
		{ "regex errors count characters", test_regex_error_position_in_characters },
		{ "regex_match", test_regex_match },
		{ "regex: catastrophic backtracking", test_regex_backtracking },
		{ "regex: linear patterns on long values", test_regex_long_values },
		{ "regex: \\C cannot split characters", test_regex_single_byte_escape },
		{ "replace: 16 MiB cap", test_replace_result_cap },
		{ "replace: the cap bounds memory", test_replace_cap_bounds_memory },
		{ "regex: quadratic lookaheads", test_regex_quadratic },
		{ "strings stay NUL-free UTF-8", test_nul_free },
		{ "split", test_split },
		{ "email_local/email_domain", test_email_parts },
		{ "first/last/count", test_first_last_count },
		{ "join", test_join },
		{ "unique", test_unique },
		{ "unique: nested arrays", test_unique_nested },
		{ "sort", test_sort },
		{ "10k-valued attributes", test_list_10k },
		{ "join: 16 MiB cap", test_join_cap },
		{ "one-megabyte values", test_huge_values },
		{ "values that are not UTF-8", test_invalid_utf8 },
		{ "if: truthiness", test_if_truthiness },
		{ "lazy evaluation", test_lazy },
		{ "coalesce/default", test_coalesce_default },
		{ "not/not_empty", test_not_not_empty },
		{ "lookup", test_lookup },
		{ "lookup: load-time errors", test_lookup_compile_errors },
		{ "lookup: empty set of tables", test_lookup_empty_table_set },
		{ "attribute selection", test_attribute_selection },
		{ "interpolation and literals", test_interpolation_and_literals },
		{ "== and !=", test_comparisons },
		{ "unknown functions", test_unknown_functions },
		{ "arity", test_arity },
		{ NULL, NULL },
	};
	return unit_run("fn_text", tests);
}
