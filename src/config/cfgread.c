#include "config.h"

#include "config/cfgread.h"
#include "util/sbuf.h"
#include "util/strutil.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cfg_type_name(int libconfig_type)
{
	switch (libconfig_type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "an unknown type";
	}
}

static const char *cfg_expected_name(enum cfg_type t)
{
	switch (t) {
	case CFG_T_STRING: return "a string";
	case CFG_T_INT: return "an integer";
	case CFG_T_NUMBER: return "a number";
	case CFG_T_BOOL: return "a boolean (true or false)";
	case CFG_T_GROUP: return "a group { ... }";
	case CFG_T_STRINGS: return "a string or a list of strings";
	case CFG_T_INTS: return "an integer or a list of integers";
	case CFG_T_GROUPS: return "a list of groups ( { ... }, ... )";
	case CFG_T_SCALAR: return "a string, number or boolean";
	case CFG_T_SCALARS: return "a string, number or boolean, or a list of them";
	}
	return "?";
}

static bool cfg_is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static bool cfg_all_elems(const config_setting_t *s, int type_a, int type_b)
{
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		int t = config_setting_type(config_setting_get_elem(s, (unsigned)i));
		if (t != type_a && t != type_b)
			return false;
	}
	return true;
}

static bool cfg_type_matches(const config_setting_t *s, enum cfg_type want)
{
	int t = config_setting_type(s);
	bool aggregate = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
	switch (want) {
	case CFG_T_STRING: return t == CONFIG_TYPE_STRING;
	case CFG_T_INT: return cfg_is_int(s);
	case CFG_T_NUMBER: return cfg_is_int(s) || t == CONFIG_TYPE_FLOAT;
	case CFG_T_BOOL: return t == CONFIG_TYPE_BOOL;
	case CFG_T_GROUP: return t == CONFIG_TYPE_GROUP;
	case CFG_T_STRINGS:
		return t == CONFIG_TYPE_STRING ||
		       (aggregate && cfg_all_elems(s, CONFIG_TYPE_STRING, CONFIG_TYPE_STRING));
	case CFG_T_INTS:
		return cfg_is_int(s) ||
		       (aggregate && cfg_all_elems(s, CONFIG_TYPE_INT, CONFIG_TYPE_INT64));
	case CFG_T_GROUPS:
		return t == CONFIG_TYPE_LIST && cfg_all_elems(s, CONFIG_TYPE_GROUP, CONFIG_TYPE_GROUP);
	case CFG_T_SCALAR:
		return t == CONFIG_TYPE_STRING || cfg_is_int(s) || t == CONFIG_TYPE_FLOAT ||
		       t == CONFIG_TYPE_BOOL;
	case CFG_T_SCALARS:
		if (!aggregate)
			return cfg_type_matches(s, CFG_T_SCALAR);
		for (int i = 0; i < config_setting_length(s); i++)
			if (!cfg_type_matches(config_setting_get_elem(s, (unsigned)i), CFG_T_SCALAR))
				return false;
		return true;
	}
	return false;
}

static const struct cfg_key *cfg_find_key(const struct cfg_key *const *tables, const char *name)
{
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			if (strcmp(k->name, name) == 0)
				return k;
	return NULL;
}

static const char *cfg_suggest(const struct cfg_key *const *tables, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			str_suggest_consider(name, k->name, &best, &best_d);
	return best;
}

size_t cfg_check_group(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
		       const struct cfg_key *const *tables)
{
	size_t before = cc->diag->errors;
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct cfg_key *k = cfg_find_key(tables, name);
		if (!k) {
			const char *hint = cfg_suggest(tables, name);
			if (hint)
				cfg_error(cc, s, "%s: unknown key '%s' (did you mean '%s'?)", where, name, hint);
			else
				cfg_error(cc, s, "%s: unknown key '%s'", where, name);
			continue;
		}
		if (!cfg_type_matches(s, k->type))
			cfg_error(cc, s, "%s: %s must be %s, not %s", where, name, cfg_expected_name(k->type),
				  cfg_type_name(config_setting_type(s)));
	}
	for (size_t t = 0; tables[t]; t++)
		for (const struct cfg_key *k = tables[t]; k->name; k++)
			if ((k->flags & CFG_REQUIRED) && !config_setting_get_member(group, k->name))
				cfg_error(cc, group, "%s: required key '%s' is missing", where, k->name);
	return cc->diag->errors - before;
}

static const config_setting_t *cfg_member_of_type(const config_setting_t *group, const char *name,
						  enum cfg_type want)
{
	if (!group)
		return NULL;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (!s || !cfg_type_matches(s, want))
		return NULL;
	return s;
}

const char *cfg_string(const config_setting_t *group, const char *name, const char *def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_STRING);
	return s ? config_setting_get_string(s) : def;
}

long long cfg_int(const config_setting_t *group, const char *name, long long def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INT);
	return s ? config_setting_get_int64(s) : def;
}

double cfg_number(const config_setting_t *group, const char *name, double def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_NUMBER);
	if (!s)
		return def;
	return cfg_is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
}

bool cfg_bool(const config_setting_t *group, const char *name, bool def)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_BOOL);
	return s ? config_setting_get_bool(s) != 0 : def;
}

char **cfg_strings(const config_setting_t *group, const char *name, size_t *n)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_STRINGS);
	*n = 0;
	if (!s)
		return NULL;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		char **v = xcalloc(2, sizeof(char *));
		v[0] = xstrdup(config_setting_get_string(s));
		*n = 1;
		return v;
	}
	int len = config_setting_length(s);
	char **v = xcalloc((size_t)len + 1, sizeof(char *));
	for (int i = 0; i < len; i++)
		v[i] = xstrdup(config_setting_get_string_elem(s, i));
	*n = (size_t)len;
	return v;
}

long long *cfg_ints(const config_setting_t *group, const char *name, size_t *n)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INTS);
	*n = 0;
	if (!s)
		return NULL;
	if (cfg_is_int(s)) {
		long long *v = xmalloc(sizeof(long long));
		v[0] = config_setting_get_int64(s);
		*n = 1;
		return v;
	}
	int len = config_setting_length(s);
	long long *v = xcalloc((size_t)len, sizeof(long long));
	for (int i = 0; i < len; i++)
		v[i] = config_setting_get_int64_elem(s, i);
	*n = (size_t)len;
	return v;
}

long long cfg_int_range(const struct cfg_ctx *cc, const config_setting_t *group, const char *where,
			const char *name, long long def, long long min, long long max)
{
	const config_setting_t *s = cfg_member_of_type(group, name, CFG_T_INT);
	if (!s)
		return def;
	long long v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cfg_error(cc, s, "%s: %s = %lld is out of range (%lld to %lld)", where, name, v, min, max);
		return def;
	}
	return v;
}

int cfg_line(const config_setting_t *s)
{
	while (s) {
		int line = (int)config_setting_source_line(s);
		if (line > 0)
			return line;
		/* The root has no line: what is missing there is missing
		 * from the file, which starts at line 1. */
		if (!config_setting_parent(s))
			return 1;
		s = config_setting_parent(s);
	}
	return 0;
}

int cfg_key_line(const config_setting_t *group, const char *name)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	return cfg_line(s ? s : group);
}

const char *cfg_file(const struct cfg_ctx *cc, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	return f ? f : cc->file;
}

/* ------------------------------------------------------------ prescan */

/* libconfig's limit, so a deeper chain is reported by us, with the chain. */
#define CFG_INCLUDE_MAX 10
/* Far beyond any real configuration: a bigger file is a wrong -c. */
#define CFG_FILE_MAX (16u << 20)

struct cfg_scan {
	const char *include_dir;
	struct diag *d;		/* NULL: looking for a hint only */
	size_t errors;
	char *real[CFG_INCLUDE_MAX + 1];	/* the files being scanned, outermost first */
	char *written[CFG_INCLUDE_MAX + 1];	/* ... as the @include wrote them */
	size_t depth;
	int hint_before;	/* hint mode: a syntax error at this line */
	int hint_line;		/* ... the last string before it that spans lines */
};

#define cfg_scan_error(sc, file, line, ...)                              \
	do {                                                             \
		if ((sc)->d)                                             \
			diag_error((sc)->d, (file), (line), __VA_ARGS__); \
		(sc)->errors++;                                          \
	} while (0)

static char *cfg_slurp(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	*err = 0;
	if (!f) {
		*err = errno;
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap > CFG_FILE_MAX) {
				*err = EFBIG;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				*err = errno ? errno : EIO;
			break;
		}
	}
	fclose(f);
	if (*err) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Offset of the first byte of s that does not start a valid UTF-8
 * character, or len. */
static size_t cfg_utf8_bad_offset(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t k;
		for (k = 1; k <= 4 && i + k <= len; k++)
			if (utf8_valid(s + i, k))
				break;
		if (k > 4 || i + k > len)
			return i;
		i += k;
	}
	return len;
}

/* Reports the first line that is not UTF-8: messages, logs and target
 * APIs all expect it, and a Latin-1 file would otherwise load with
 * mangled names. */
static bool cfg_scan_utf8(struct cfg_scan *sc, const char *shown, const char *text, size_t len)
{
	int line = 1;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		size_t bad = cfg_utf8_bad_offset(text + start, i - start);
		if (bad < i - start) {
			cfg_scan_error(sc, shown, line,
				       "the file is not valid UTF-8 text (byte 0x%02X at column %zu); save it as UTF-8",
				       (unsigned char)text[start + bad], bad + 1);
			return false;
		}
		line++;
		start = i + 1;
	}
	return true;
}

static void cfg_scan_file(struct cfg_scan *sc, const char *path, const char *shown, const char *written);

/* @include "name" at text[*i] (just after the '@'). */
static void cfg_scan_include(struct cfg_scan *sc, const char *shown, const char *text, size_t len, size_t *i,
			     int line)
{
	size_t p = *i;
	if (len - p < 7 || strncmp(text + p, "include", 7) != 0)
		return;	/* libconfig reports it */
	p += 7;
	while (p < len && (text[p] == ' ' || text[p] == '\t'))
		p++;
	if (p >= len || text[p] != '"')
		return;
	size_t q = ++p;
	while (q < len && text[q] != '"' && text[q] != '\n')
		q++;
	if (q >= len || text[q] != '"')
		return;
	*i = q + 1;
	char *name = xstrndup(text + p, q - p);
	char *path = name[0] == '/' || !sc->include_dir ? xstrdup(name) : xasprintf("%s/%s", sc->include_dir, name);
	char *real = realpath(path, NULL);
	struct stat st;
	if (!real) {
		cfg_scan_error(sc, shown, line, "@include \"%s\": cannot open %s: %s", name, path, strerror(errno));
	} else {
		size_t k;
		for (k = 0; k < sc->depth && strcmp(sc->real[k], real) != 0; k++)
			;
		if (k < sc->depth) {
			struct sbuf chain;
			sbuf_init(&chain);
			for (size_t j = k; j < sc->depth; j++)
				sbuf_addf(&chain, "%s -> ", sc->written[j]);
			sbuf_addf(&chain, "%s", name);
			cfg_scan_error(sc, shown, line, "@include \"%s\": an @include cycle (%s); a file cannot include itself",
				       name, chain.buf);
			sbuf_release(&chain);
		} else if (sc->depth == CFG_INCLUDE_MAX) {
			cfg_scan_error(sc, shown, line, "@include \"%s\": includes are nested more than %d deep", name,
				       CFG_INCLUDE_MAX);
		} else if (stat(real, &st) < 0 || !S_ISREG(st.st_mode) || access(real, R_OK) < 0) {
			/* A directory (@include "" or "."), a device, an unreadable
			 * file: said where the @include is, not as an error of a file
			 * named "" at line 0 (found by tests/fuzz/fuzz_config.c). */
			cfg_scan_error(sc, shown, line, "@include \"%s\": %s is not a readable file", name, path);
		} else {
			cfg_scan_file(sc, path, name, name);
		}
	}
	free(real);
	free(path);
	free(name);
}

static bool cfg_name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-' || c == '_'));
}

/* A number token at text[*i]: libconfig 1.5 reads an integer without an L
 * suffix into 32 bits and wraps it without a word (4294967396 becomes
 * 100), so a value out of that range is refused here. */
static void cfg_scan_number(struct cfg_scan *sc, const char *shown, const char *text, size_t len, size_t *i,
			    int line)
{
	size_t p = *i, start = p;
	bool hex = false, fl = false;
	if (text[p] == '+' || text[p] == '-')
		p++;
	if (p + 1 < len && text[p] == '0' && (text[p + 1] == 'x' || text[p + 1] == 'X'))
		hex = true;
	for (; p < len; p++) {
		char c = text[p];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
			continue;
		if (c == '.') {
			fl = true;
			continue;
		}
		if ((c == '+' || c == '-') && !hex && (text[p - 1] == 'e' || text[p - 1] == 'E'))
			continue;
		break;
	}
	*i = p;
	char *tok = xstrndup(text + start, p - start);
	size_t tl = p - start;
	if (!hex && (strchr(tok, 'e') || strchr(tok, 'E')))
		fl = true;
	if (!fl && tl && tok[tl - 1] != 'L') {
		char *end;
		errno = 0;
		long long v = hex ? (long long)strtoull(tok, &end, 16) : strtoll(tok, &end, 10);
		bool too_big = errno == ERANGE || (hex ? (unsigned long long)v > 0x7fffffffULL
						       : v < -2147483647LL - 1 || v > 2147483647LL);
		if (*end == '\0' && too_big)
			cfg_scan_error(sc, shown, line,
				       "the integer %s does not fit in 32 bits and libconfig would silently change "
				       "it; write %sL if you mean it",
				       tok, tok);
	}
	free(tok);
}

static void cfg_scan_text(struct cfg_scan *sc, const char *shown, const char *text, size_t len)
{
	struct {
		char c;
		int line;
	} open[64];
	size_t n_open = 0;
	bool brackets_ok = true, blank = true;
	int line = 1, string_line = 0, first_multiline = 0;

	for (size_t i = 0; i < len;) {
		char c = text[i];
		if (c == '\n') {
			line++;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			i++;
			continue;
		}
		if (c == '#' || (c == '/' && i + 1 < len && text[i + 1] == '/')) {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < len && text[i + 1] == '*') {
			for (i += 2; i < len && !(text[i] == '*' && i + 1 < len && text[i + 1] == '/'); i++)
				if (text[i] == '\n')
					line++;
			i = i < len ? i + 2 : len;
			continue;
		}
		blank = false;
		if (c == '"') {
			string_line = line;
			for (i++; i < len && text[i] != '"'; i++) {
				if (text[i] == '\n') {
					line++;
					continue;
				}
				if (text[i] != '\\' || i + 1 >= len)
					continue;
				char e = text[++i];
				if (e == 'x' && i + 2 < len && isxdigit((unsigned char)text[i + 1]) &&
				    isxdigit((unsigned char)text[i + 2]))
					i += 2;
				else if (!strchr("\\\"fnrt", e) || e == '\0')
					cfg_scan_error(sc, shown, line,
						       "unknown escape '\\%c' in a string (libconfig knows \\\\, \\\", "
						       "\\f, \\n, \\r, \\t and \\xNN; write \\\\ for a backslash)",
						       e == '\n' ? ' ' : e);
				else if (e == '\n')
					line++;
			}
			if (line != string_line) {
				if (!first_multiline)
					first_multiline = string_line;
				if (sc->hint_before && string_line < sc->hint_before)
					sc->hint_line = string_line;
			}
			if (i >= len) {
				/* The quote that opened it is likely a closing one
				 * missing further up: point at the first string
				 * that ran past its line. */
				cfg_scan_error(sc, shown, first_multiline ? first_multiline : string_line,
					       "a string starts on this line and is not closed (a missing '\"'?)");
				return;
			}
			i++;
			continue;
		}
		if (c == '@' && sc->d) {
			i++;
			cfg_scan_include(sc, shown, text, len, &i, line);
			continue;
		}
		if (cfg_name_char(c, true)) {
			while (i < len && cfg_name_char(text[i], false))
				i++;
			continue;
		}
		if ((c >= '0' && c <= '9') || c == '.' ||
		    ((c == '-' || c == '+') && i + 1 < len && ((text[i + 1] >= '0' && text[i + 1] <= '9') || text[i + 1] == '.'))) {
			cfg_scan_number(sc, shown, text, len, &i, line);
			continue;
		}
		i++;
		if (!brackets_ok)
			continue;
		/* A bracket out of place after a string that ran over lines:
		 * the string is the likelier culprit. */
		if (first_multiline && (c == '}' || c == ')' || c == ']') &&
		    (n_open == 0 || open[n_open - 1].c != (c == '}' ? '{' : c == ')' ? '(' : '['))) {
			cfg_scan_error(sc, shown, first_multiline,
				       "a string starts on this line and is not closed (a missing '\"'?)");
			return;
		}
		if (c == '{' || c == '(' || c == '[') {
			if (n_open == sizeof(open) / sizeof(open[0])) {
				cfg_scan_error(sc, shown, line, "groups and lists are nested more than %zu deep", n_open);
				brackets_ok = false;
				continue;
			}
			open[n_open].c = c;
			open[n_open++].line = line;
		} else if (c == '}' || c == ')' || c == ']') {
			int want = c == '}' ? '{' : c == ')' ? '(' : '[';
			if (n_open == 0) {
				cfg_scan_error(sc, shown, line, "'%c' closes nothing: no '%c' is open here", c, want);
				brackets_ok = false;
			} else if (open[n_open - 1].c != want) {
				cfg_scan_error(sc, shown, line, "'%c' does not close the '%c' opened at line %d", c,
					       open[n_open - 1].c, open[n_open - 1].line);
				brackets_ok = false;
			} else {
				n_open--;
			}
		}
	}
	if (brackets_ok && n_open > 0)
		cfg_scan_error(sc, shown, open[n_open - 1].line, "this '%c' is never closed", open[n_open - 1].c);
	if (blank && sc->depth == 1 && sc->d)
		cfg_scan_error(sc, shown, 1, "the file is empty: it needs at least source and targets");
}

static void cfg_scan_file(struct cfg_scan *sc, const char *path, const char *shown, const char *written)
{
	size_t len = 0;
	int err;
	char *text = cfg_slurp(path, &len, &err);
	if (!text) {
		/* The main file is libconfig's to report; an included one
		 * could not be opened by realpath either, so this is rare. */
		if (sc->depth > 0 || err == EFBIG)
			cfg_scan_error(sc, shown, 0, "%s", err == EFBIG ? "the file is larger than 16 MiB" : strerror(err));
		return;
	}
	sc->real[sc->depth] = realpath(path, NULL);
	sc->written[sc->depth] = xstrdup(written);
	sc->depth++;
	/* What Windows editors put first: libconfig only says "syntax
	 * error" at line 1. */
	if (sc->d && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		cfg_scan_error(sc, shown, 1,
			       "the file starts with a byte order mark (U+FEFF), which libconfig cannot read; save it "
			       "as UTF-8 without BOM");
	else if (!sc->d || cfg_scan_utf8(sc, shown, text, len))
		cfg_scan_text(sc, shown, text, len);
	sc->depth--;
	free(sc->real[sc->depth]);
	free(sc->written[sc->depth]);
	free(text);
}

size_t cfg_prescan(const char *path, const char *include_dir, struct diag *d)
{
	struct cfg_scan sc = { .include_dir = include_dir, .d = d };
	cfg_scan_file(&sc, path, path, path);
	return sc.errors;
}

/* The only setting name assigned on line `line` of text, or NULL when
 * there are none or several. Caller frees. */
static char *cfg_line_setting(const char *text, size_t len, int line)
{
	size_t i = 0;
	for (int l = 1; l < line && i < len; i++)
		if (text[i] == '\n')
			l++;
	char *found = NULL;
	size_t n = 0;
	while (i < len && text[i] != '\n') {
		char c = text[i];
		if (c == '#' || (c == '/' && i + 1 < len && text[i + 1] == '/'))
			break;
		if (c == '"') {
			for (i++; i < len && text[i] != '"' && text[i] != '\n'; i++)
				if (text[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (!cfg_name_char(c, true)) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && cfg_name_char(text[i], false))
			i++;
		size_t end = i;
		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i < len && (text[i] == '=' || text[i] == ':')) {
			free(found);
			found = xstrndup(text + start, end - start);
			n++;
		}
	}
	if (n != 1) {
		free(found);
		return NULL;
	}
	return found;
}

char *cfg_syntax_hint(const char *file, int line, const char *error)
{
	struct cfg_scan sc = { .hint_before = line };
	if (!file || line <= 0)
		return NULL;
	if (error && strcmp(error, "duplicate setting name") == 0) {
		size_t len = 0;
		int err;
		char *text = cfg_slurp(file, &len, &err);
		char *name = text ? cfg_line_setting(text, len, line) : NULL;
		char *hint = name ? xasprintf("'%s' is set twice in the same group", name) : NULL;
		free(name);
		free(text);
		return hint;
	}
	cfg_scan_file(&sc, file, file, file);
	if (!sc.hint_line)
		return NULL;
	return xasprintf("the string that starts at line %d runs over several lines: a missing '\"'?", sc.hint_line);
}
