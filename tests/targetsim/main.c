/*
 * targetsim entry point: arguments, secrets, start, wait for a signal,
 * stop.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 64
/* A secret larger than this is a wrong path, not a key. */
#define MAX_SECRET 65536
#define MAX_THREADS 256
#define MAX_LATENCY_MS SIM_MAX_DELAY_MS
/* Bodies are buffered whole and json-c takes an int length. */
#define MAX_BODY_LIMIT (1024ul * 1024 * 1024)

static void usage(FILE *out)
{
	fputs("usage: targetsim [--listen ADDR] [--port N] [--port-file FILE] [--threads N]\n"
	      "                 [--rainbond-key-file FILE] [--rest-token-file FILE]\n"
	      "                 [--rest-key-field NAME] [--latency-ms N] [--max-body BYTES]\n"
	      "                 [--ratelimit API=N/MS]... [--fault JSON]...\n"
	      "                 [--secret NAME=FILE]...  (credentials of the other APIs)\n"
	      "                 [--tls-cert FILE --tls-key FILE]  (serve HTTPS, PEM files)\n",
	      out);
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Whole file, trailing newline(s) stripped. */
static int read_secret(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len;
	int ret = 0;

	if (!f)
		return -errno;
	buf = sim_xmalloc(MAX_SECRET + 1);
	len = fread(buf, 1, MAX_SECRET + 1, f);
	if (ferror(f)) {
		ret = -EIO;
		goto out;
	}
	if (len > MAX_SECRET) {
		ret = -EFBIG;
		goto out;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	/* An empty key would let a request with an empty header in, and a
	 * NUL would make the comparison silently shorter. */
	if (!len || strlen(buf) != len) {
		ret = -EINVAL;
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return ret;
}

/* The --ratelimit and --fault values, kept for every reset. */
struct baseline {
	struct sim_ratelimit_spec *ratelimits;
	size_t n_ratelimits;
	json_object **faults;
	size_t n_faults;
	struct sim_secret *secrets;
	size_t n_secrets;
};

static void baseline_free(struct baseline *b)
{
	free(b->ratelimits);
	for (size_t i = 0; i < b->n_faults; i++)
		json_object_put(b->faults[i]);
	free(b->faults);
	for (size_t i = 0; i < b->n_secrets; i++) {
		free(b->secrets[i].name);
		free(b->secrets[i].value);
	}
	free(b->secrets);
}

static int add_ratelimit(struct baseline *b, const char *spec)
{
	struct sim_ratelimit_spec rl;

	if (sim_ratelimit_parse(spec, &rl) < 0) {
		fprintf(stderr, "targetsim: --ratelimit %s: want API=N/MS with a known API, "
			"N in 1..%u and MS in 1..%u\n", spec, SIM_RATELIMIT_MAX_LIMIT,
			SIM_RATELIMIT_MAX_WINDOW_MS);
		return -EINVAL;
	}
	b->ratelimits = sim_xrealloc(b->ratelimits,
				     (b->n_ratelimits + 1) * sizeof(*b->ratelimits));
	b->ratelimits[b->n_ratelimits++] = rl;
	return 0;
}

/* Checked here, so a typo fails the start rather than every reset. */
static int add_fault(struct baseline *b, const char *text)
{
	json_object *obj;
	struct sim_fault *f;
	const char *err;

	if (sim_json_parse(text, strlen(text), &obj) < 0) {
		fprintf(stderr, "targetsim: --fault %s: not JSON\n", text);
		return -EINVAL;
	}
	if (sim_fault_from_json(obj, &f, &err) < 0) {
		fprintf(stderr, "targetsim: --fault %s: %s\n", text, err);
		json_object_put(obj);
		return -EINVAL;
	}
	sim_fault_free(f);
	b->faults = sim_xrealloc(b->faults, (b->n_faults + 1) * sizeof(*b->faults));
	b->faults[b->n_faults++] = obj;
	return 0;
}

/* Fills addr from a literal loopback address; anything else is refused so
 * a test can never expose the simulator beyond the machine. */
static int loopback_addr(const char *s, unsigned int port,
			 struct sockaddr_storage *addr, bool *ipv6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
			return -EADDRNOTAVAIL;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*ipv6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return -EADDRNOTAVAIL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*ipv6 = true;
		return 0;
	}
	return -EINVAL;
}

/* Written under a temporary name and renamed, so a test polling for the
 * file never reads half a number. */
static int write_port_file(const char *path, unsigned int port)
{
	size_t n = strlen(path) + sizeof(".tmp");
	char *tmp = sim_xmalloc(n);
	FILE *f;
	int ret = 0;

	snprintf(tmp, n, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		ret = -errno;
		goto out;
	}
	if (fprintf(f, "%u\n", port) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	free(tmp);
	return ret;
}

enum {
	OPT_LISTEN = 256,
	OPT_PORT,
	OPT_PORT_FILE,
	OPT_THREADS,
	OPT_RAINBOND_KEY_FILE,
	OPT_REST_TOKEN_FILE,
	OPT_REST_KEY_FIELD,
	OPT_LATENCY_MS,
	OPT_MAX_BODY,
	OPT_RATELIMIT,
	OPT_FAULT,
	OPT_SECRET,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "rainbond-key-file", required_argument, NULL, OPT_RAINBOND_KEY_FILE },
	{ "rest-token-file", required_argument, NULL, OPT_REST_TOKEN_FILE },
	{ "rest-key-field", required_argument, NULL, OPT_REST_KEY_FIELD },
	{ "latency-ms", required_argument, NULL, OPT_LATENCY_MS },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "ratelimit", required_argument, NULL, OPT_RATELIMIT },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --secret NAME=FILE */
static int add_secret(struct baseline *base, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *value = NULL;
	int rc;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "targetsim: --secret wants NAME=FILE, not '%s'\n", arg);
		return -EINVAL;
	}
	rc = read_secret(eq + 1, &value);
	if (rc < 0) {
		fprintf(stderr, "targetsim: cannot use secret file %s: %s\n", eq + 1,
			rc == -EINVAL ? "empty or contains NUL" : strerror(-rc));
		return rc;
	}
	base->secrets = sim_xrealloc(base->secrets, (base->n_secrets + 1) * sizeof(*base->secrets));
	base->secrets[base->n_secrets].name = sim_xstrndup(arg, (size_t)(eq - arg));
	base->secrets[base->n_secrets].value = value;
	base->n_secrets++;
	return 0;
}

/* --tls-cert and --tls-key: HTTPS instead of HTTP, for tests of the
 * daemon's certificate checks. */
struct tls_files {
	const char *cert;
	const char *key;
};

/* Returns 0, 1 for --help, or -EINVAL after saying what is wrong. */
static int parse_args(int argc, char **argv, struct sim_config *cfg,
		      const char **rainbond_key_file, const char **rest_token_file,
		      struct baseline *base, struct tls_files *tls)
{
	unsigned long n;
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			cfg->listen = optarg;
			break;
		case OPT_PORT:
			if (parse_ulong(optarg, 0, 65535, &n) < 0) {
				fprintf(stderr, "targetsim: --port must be 0..65535\n");
				return -EINVAL;
			}
			cfg->port = (unsigned int)n;
			break;
		case OPT_PORT_FILE:
			cfg->port_file = optarg;
			break;
		case OPT_THREADS:
			if (parse_ulong(optarg, 1, MAX_THREADS, &n) < 0) {
				fprintf(stderr, "targetsim: --threads must be 1..%d\n", MAX_THREADS);
				return -EINVAL;
			}
			cfg->threads = (unsigned int)n;
			break;
		case OPT_RAINBOND_KEY_FILE:
			*rainbond_key_file = optarg;
			break;
		case OPT_REST_TOKEN_FILE:
			*rest_token_file = optarg;
			break;
		case OPT_REST_KEY_FIELD:
			if (!*optarg) {
				fprintf(stderr, "targetsim: --rest-key-field must not be empty\n");
				return -EINVAL;
			}
			cfg->rest_key_field = optarg;
			break;
		case OPT_LATENCY_MS:
			if (parse_ulong(optarg, 0, MAX_LATENCY_MS, &n) < 0) {
				fprintf(stderr, "targetsim: --latency-ms must be 0..%u\n",
					MAX_LATENCY_MS);
				return -EINVAL;
			}
			cfg->latency_ms = (unsigned int)n;
			break;
		case OPT_MAX_BODY:
			if (parse_ulong(optarg, 0, MAX_BODY_LIMIT, &n) < 0) {
				fprintf(stderr, "targetsim: --max-body must be 0..%lu\n",
					MAX_BODY_LIMIT);
				return -EINVAL;
			}
			cfg->max_body = n;
			break;
		case OPT_RATELIMIT:
			if (add_ratelimit(base, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_FAULT:
			if (add_fault(base, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_SECRET:
			if (add_secret(base, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_TLS_CERT:
			tls->cert = optarg;
			break;
		case OPT_TLS_KEY:
			tls->key = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			/* getopt has already named the problem */
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "targetsim: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!tls->cert != !tls->key) {
		fprintf(stderr, "targetsim: --tls-cert and --tls-key go together\n");
		return -EINVAL;
	}
	return 0;
}

static int load_secret(const char *path, const char *def, const char *what, char **out)
{
	int rc;

	if (!path) {
		*out = sim_xstrdup(def);
		return 0;
	}
	rc = read_secret(path, out);
	if (rc < 0)
		fprintf(stderr, "targetsim: cannot use %s file %s: %s\n", what, path,
			rc == -EINVAL ? "empty or contains NUL" : strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct sim_config cfg = {
		.listen = "127.0.0.1",
		.port = 0,
		.threads = 2,
		.rest_key_field = "email",
		.latency_ms = 0,
		.max_body = 1048576,
	};
	const char *rainbond_key_file = NULL, *rest_token_file = NULL;
	struct baseline base = { 0 };
	struct tls_files tls = { 0 };
	char *tls_cert = NULL, *tls_key = NULL;
	struct MHD_OptionItem tls_opts[3] = { { MHD_OPTION_END, 0, NULL } };
	struct sockaddr_storage addr;
	struct MHD_Daemon *daemon = NULL;
	const union MHD_DaemonInfo *info;
	struct sim sim;
	bool sim_ready = false, ipv6 = false;
	unsigned int flags, port;
	sigset_t sigs;
	int rc, sig, ret = EXIT_USAGE;

	rc = parse_args(argc, argv, &cfg, &rainbond_key_file, &rest_token_file, &base, &tls);
	if (rc) {
		ret = rc > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	cfg.ratelimits = base.ratelimits;
	cfg.n_ratelimits = base.n_ratelimits;
	cfg.faults = base.faults;
	cfg.n_faults = base.n_faults;
	cfg.secrets = base.secrets;
	cfg.n_secrets = base.n_secrets;
	rc = loopback_addr(cfg.listen, cfg.port, &addr, &ipv6);
	if (rc < 0) {
		fprintf(stderr, "targetsim: --listen %s: %s\n", cfg.listen,
			rc == -EINVAL ? "not a literal IP address"
				      : "only loopback addresses (127.0.0.0/8, ::1) are allowed");
		goto out;
	}
	if (load_secret(rainbond_key_file, "rainbond-test-key", "rainbond key",
			&cfg.rainbond_key) < 0 ||
	    load_secret(rest_token_file, "rest-test-token", "rest token", &cfg.rest_token) < 0)
		goto out;

	if (tls.cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "targetsim: this libmicrohttpd has no TLS support\n");
			goto out;
		}
		if (load_secret(tls.cert, NULL, "TLS certificate", &tls_cert) < 0 ||
		    load_secret(tls.key, NULL, "TLS key", &tls_key) < 0)
			goto out;
		/* MHD keeps the pointers: the buffers live until the end. */
		tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert };
		tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key };
	}

	ret = EXIT_FAILURE;
	rc = sim_init(&sim, &cfg);
	if (rc < 0) {
		fprintf(stderr, "targetsim: init: %s\n", strerror(-rc));
		goto out;
	}
	sim_ready = true;

	/* Blocked before MHD starts its threads so they inherit the mask and
	 * only sigwait() below ever sees these. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Suspend/resume is how waits leave the worker threads free. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
		MHD_ALLOW_SUSPEND_RESUME;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	if (tls_cert)
		flags |= MHD_USE_TLS;
	daemon = MHD_start_daemon(flags, (uint16_t)cfg.port, NULL, NULL,
				  sim_access_handler, &sim,
				  MHD_OPTION_ARRAY, tls_opts,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_NOTIFY_COMPLETED, sim_request_completed, &sim,
				  /* MHD warns about a pool of 0 or 1; with one thread
				   * the list simply ends here. */
				  cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
				  cfg.threads,
				  MHD_OPTION_END);
	if (!daemon) {
		fprintf(stderr, "targetsim: cannot listen on %s port %u\n", cfg.listen, cfg.port);
		goto out;
	}
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "targetsim: cannot tell which port was bound\n");
		goto out;
	}
	port = info->port;
	printf(ipv6 ? "targetsim listening on %s://[%s]:%u\n"
		    : "targetsim listening on %s://%s:%u\n", tls_cert ? "https" : "http", cfg.listen, port);
	fflush(stdout);
	if (cfg.port_file) {
		rc = write_port_file(cfg.port_file, port);
		if (rc < 0) {
			fprintf(stderr, "targetsim: cannot write %s: %s\n", cfg.port_file,
				strerror(-rc));
			goto out;
		}
	}

	do {
		rc = sigwait(&sigs, &sig);
	} while (rc == EINTR);
	ret = 0;
out:
	/* MHD must not be stopped with suspended connections. */
	if (sim_ready)
		sim_stop(&sim);
	if (daemon)
		MHD_stop_daemon(daemon);
	if (sim_ready)
		sim_fini(&sim);
	free(cfg.rainbond_key);
	free(cfg.rest_token);
	free(tls_cert);
	free(tls_key);
	baseline_free(&base);
	return ret;
}
