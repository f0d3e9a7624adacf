/* libFuzzer target for the config loader: libconfig's parser as we drive
 * it (@include relative to the config's directory), every key table
 * (top level, source, groups, targets, each driver's configure(), each
 * auth provider's), lookup tables, sample_entry, mapping compilation
 * against the driver schemas, and --check-config's sample evaluation.
 *
 * Input format: the bytes of a config file, as they are. Each input is
 * written to fuzz.conf in a scratch directory created once per process
 * ($TMPDIR/ms-fuzz-XXXXXX, removed at exit) and loaded twice: with
 * conf_load() and with conf_load_ext(CONF_LOAD_CHECK_SAMPLES).
 *
 * The scratch directory also holds what configs refer to by relative
 * name, so inputs get past the secret checks to the code behind them:
 * the secret files of the example and integration configs (ldap.pw,
 * ldap.secret, rb.key, rainbond.key, dingtalk.appkey, dingtalk.appsecret,
 * babelbird.secret, compai.key, devin.key, scim.token, api.token,
 * crm.token, membersync.key, bb.secret, dt.appkey, dt.appsecret,
 * ca.key, rest.token), a readable CA file (ca.pem), and two fragments for
 * @include: targets.conf (one valid rainbond target list) and sample.conf
 * (a sample_entry group, no lookups).
 *
 * Invariants, per load: the return is 0 with a conf and no error
 * diagnostics, or negative (-EINVAL or -errno) without a conf and with at
 * least one error; every diagnostic has a file, a line >= 1 (the input's
 * own problems all have a place in it) and a non-empty message; both
 * loads agree on whether the config is valid unless the sample check
 * found errors; everything is freed (LeakSanitizer). A violation aborts
 * with a description on stderr.
 *
 * Inputs over 64 KiB are ignored (run.sh passes -max_len=65536). */
#include "config.h"

#include "config/conf.h"
#include "util/diag.h"
#include "fuzz_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_MAX_LEN 65536

static char *conf_path;

static const char *const secret_names[] = {
	"ldap.pw",	   "ldap.secret",     "rb.key",	     "rainbond.key", "dingtalk.appkey", "dingtalk.appsecret",
	"babelbird.secret", "compai.key",      "devin.key",   "scim.token",   "api.token",	      "crm.token",
	"membersync.key",   "bb.secret",       "dt.appkey",   "dt.appsecret", "ca.key",	      "rest.token",
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_scratch();
	for (size_t i = 0; i < sizeof(secret_names) / sizeof(*secret_names); i++) {
		char *p = fuzz_write(secret_names[i], "s3cret-value\n", 13);
		/* Secrets readable by others are refused: keep them private. */
		chmod(p, 0600);
		free(p);
	}
	fuzz_write_str("ca.pem", "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n");
	fuzz_write_str("targets.conf",
		       "targets = ( { name = \"rb\"; driver = \"rainbond\"; url = \"http://127.0.0.1:9\";\n"
		       "  auth = { key_file = \"rb.key\"; };\n"
		       "  map = { nick_name = \"${uid}\"; email = \"${mail | lower}\"; password = \"${random_password(12)}\";\n"
		       "          enterprise_id = \"e\"; }; } );\n");
	fuzz_write_str("sample.conf", "sample_entry = { uid = \"jdoe\"; mail = [ \"J.Doe@Example.org\" ]; cn = \"J Doe\";\n"
				      "  mobile = \"+49 30 1234567\"; };\n");
	conf_path = fuzz_write("fuzz.conf", "", 0);
	/* Where the loader looks for the state directory when the config
	 * names none: the scratch directory, not the host's. */
	setenv("STATE_DIRECTORY", fuzz_scratch(), 1);
	return 0;
}

static void check_diag(const struct diag *d, const char *what)
{
	size_t errors = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		if (it->level == DIAG_ERROR)
			errors++;
		if (!it->file || !*it->file)
			fuzz_fail("%s: diagnostic %zu has no file: %s", what, i, it->message ? it->message : "(null)");
		if (it->line < 1)
			fuzz_fail("%s: diagnostic %zu has no line: %s: %s", what, i, it->file,
				  it->message ? it->message : "(null)");
		if (!it->message || !*it->message)
			fuzz_fail("%s: diagnostic %zu (%s:%d) has no message", what, i, it->file, it->line);
	}
	if (errors != d->errors)
		fuzz_fail("%s: %zu error items but d->errors = %zu", what, errors, d->errors);
}

/* Loads the input with flags; returns 1 when it loaded, 0 when not. */
static int load(unsigned flags)
{
	const char *what = flags ? "conf_load_ext(CHECK_SAMPLES)" : "conf_load";
	if (!conf_path)
		LLVMFuzzerInitialize(NULL, NULL);
	struct diag *d = diag_new();
	struct conf *c = (struct conf *)(uintptr_t)1; /* must be reset */
	int r = conf_load_ext(conf_path, flags, &c, d);
	if (getenv("CONFIG_FUZZ_VERBOSE")) {
		fprintf(stderr, "%s: %d (%s)\n", what, r, r < 0 ? strerror(-r) : "ok");
		diag_print(d, stderr);
	}
	check_diag(d, what);
	if (r == 0) {
		if (!c)
			fuzz_fail("%s returned 0 without a conf", what);
		if (d->errors)
			fuzz_fail("%s returned 0 with %zu errors", what, d->errors);
		for (size_t i = 0; i < c->n_targets; i++)
			if (!c->targets[i] || !c->targets[i]->name || !c->targets[i]->driver ||
			    !c->targets[i]->mapping)
				fuzz_fail("%s: target %zu is incomplete", what, i);
		conf_free(c);
	} else {
		if (r > 0)
			fuzz_fail("%s returned %d", what, r);
		if (c)
			fuzz_fail("%s returned %d but left a conf", what, r);
		if (!d->errors)
			fuzz_fail("%s returned %d (%s) without an error diagnostic", what, r, strerror(-r));
	}
	diag_free(d);
	return r == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_LEN)
		return 0;
	if (!conf_path)
		LLVMFuzzerInitialize(NULL, NULL);
	FILE *f = fopen(conf_path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(conf_path);
		abort();
	}
	int plain = load(0);
	int checked = load(CONF_LOAD_CHECK_SAMPLES);
	/* The sample check only adds errors: it cannot make a bad config
	 * load. */
	if (checked && !plain)
		fuzz_fail("the config fails conf_load but passes conf_load_ext(CHECK_SAMPLES)");
	return 0;
}
