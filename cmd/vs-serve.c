/* vs-serve: serve stores over HTTP (query, upsert, delete, info, compact,
 * snapshot, health, Prometheus metrics). The work is in lib/server*.c. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vs_server.h"

enum {
    OPT_ACCESS_LOG = VS_OPT_FIRST_PROGRAM,
    OPT_BURST,
    OPT_DOC_CACHE,
    OPT_HASH_KEY,
    OPT_HEADER_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_INSECURE_NO_AUTH,
    OPT_KEYS,
    OPT_LISTEN,
    OPT_MAX_BATCH,
    OPT_MAX_BODY,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_K,
    OPT_METRICS_AUTH,
    OPT_RATE,
    OPT_SHARD,
    OPT_SLOW_LOG,
    OPT_SLOW_MS,
    OPT_SNAPSHOT_DIR,
    OPT_THREADS,
    OPT_TIMEOUT_MS,
    OPT_TLS_CERT,
    OPT_TLS_KEY
};

static const struct option longopts[] = {
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"burst", required_argument, NULL, OPT_BURST},
    {"doc-cache", required_argument, NULL, OPT_DOC_CACHE},
    {"hash-key", no_argument, NULL, OPT_HASH_KEY},
    {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"insecure-no-auth", no_argument, NULL, OPT_INSECURE_NO_AUTH},
    {"keys", required_argument, NULL, OPT_KEYS},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-k", required_argument, NULL, OPT_MAX_K},
    {"metrics-auth", no_argument, NULL, OPT_METRICS_AUTH},
    {"rate", required_argument, NULL, OPT_RATE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"slow-log", required_argument, NULL, OPT_SLOW_LOG},
    {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
    {"snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-serve [OPTIONS] [NAME=]STORE... [--shard NAME=SHARD...]\n"
          "       vs-serve --hash-key < KEY\n"
          "Serve each STORE over HTTP as NAME (default: the directory's base name):\n"
          "POST /v1/stores/NAME/query|upsert|delete|compact|snapshot, GET /v1/stores/NAME,\n"
          "GET /healthz, /readyz, /metrics. Runs until SIGINT or SIGTERM.\n"
          "\n"
          "Options:\n"
          "      --listen HOST:PORT    IPv4 address, or [IPv6]:PORT, to listen on (default\n"
          "                            127.0.0.1:8080; port 0 picks a free one)\n"
          "      --threads N           search threads (default 4): searches at once, or one\n"
          "                            exact-scan batch on all, and HTTP threads (no\n"
          "                            thread per connection); queries of concurrent\n"
          "                            requests are searched together in batches\n"
          "      --keys FILE           API keys (NDJSON; see vs-serve(1)); without it only\n"
          "                            127.0.0.1 or [::1] may be used\n"
          "      --insecure-no-auth    allow other addresses without --keys\n"
          "      --metrics-auth        GET /metrics needs a key too (with --keys)\n"
          "      --hash-key            read a key on stdin, print its hash record, exit\n"
          "      --rate R              requests/s per key (default 0: unlimited)\n"
          "      --burst N             token bucket size (default: max(R, 1))\n"
          "      --max-body BYTES      largest request body (default 16777216)\n"
          "      --max-batch N         records per request (default 1000)\n"
          "      --max-k N             largest k (default 1000)\n"
          "      --max-connections N   connections at once (default 256)\n"
          "      --doc-cache MIB       docs kept decompressed for hits, per segment of\n"
          "                            each store (default 64); past it, docs are read\n"
          "                            from disk each time (not local --shard shards:\n"
          "                            opened per request, they keep none between)\n"
          "      --timeout-ms MS       deadline per request (default 10000)\n"
          "      --idle-timeout S      close connections silent for S seconds (default 30)\n"
          "      --header-timeout S    close a connection whose request headers and body\n"
          "                            take longer than S seconds to arrive (default 10)\n"
          "      --slow-ms MS          log queries slower than MS to --slow-log\n"
          "      --slow-log FILE       slow-query log (NDJSON; - for stderr)\n"
          "      --access-log FILE     access log (NDJSON; - for stderr)\n"
          "      --snapshot-dir DIR    where POST .../snapshot writes (default: disabled)\n"
          "      --shard NAME=SHARD    serve the shards given for NAME (repeatable; a store\n"
          "                            or a vs-serve store URL http(s)://H:P/v1/stores/S,\n"
          "                            or http(s)://H:P serving one store; its key from\n"
          "                            VS_QUERY_SHARD_KEY) as one collection: POST\n"
          "                            /v1/stores/NAME/query gives the global top k,\n"
          "                            all shards within --timeout-ms\n"
          "      --tls-cert FILE       HTTPS certificate (PEM), with --tls-key\n"
          "      --tls-key FILE        HTTPS private key (PEM)\n"
          "      --config FILE         read settings from FILE instead of .vecstore.toml\n"
          "      --stats               print counters as JSON on stderr at exit\n"
          "  -q, --quiet               no messages\n"
          "  -v, --verbose             more messages\n"
          "  -h, --help                show this help and exit\n"
          "  -V, --version             show the version and exit\n",
          fp);
}

static int hash_key(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_diag_where(&d, "<stdin>", 1);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if (n <= 0) {
        free(line);
        return vs_cli_report(vs_diag_set(&d, VS_E_DATA, "no key on standard input"), &d);
    }
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)line[i] <= ' ') {
            free(line);
            return vs_cli_report(vs_diag_set(&d, VS_E_DATA, "a key may not hold spaces or control characters"), &d);
        }
    char h[160];
    int st = vs_server_hash_key(line, h, sizeof h, &d);
    memset(line, 0, (size_t)n);
    free(line);
    if (st != VS_OK)
        return vs_cli_report(st, &d);
    json_t *o = json_pack("{s:s}", "hash", h);
    st = vs_cli_write(o);
    json_decref(o);
    return st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, NULL);
}

static FILE *open_log(const char *path, const char *opt)
{
    if (strcmp(path, "-") == 0)
        return stderr;
    FILE *fp = fopen(path, "a");
    if (!fp)
        vs_cli_error("%s '%s': %s", opt, path, strerror(errno));
    return fp;
}

/* The settings of the options a project sets ([serve] in .vecstore.toml),
 * read for the options not given. Not --hash-key (an action) nor
 * --insecure-no-auth: a file found in a parent directory must not turn
 * authentication off; that stays a decision on the command line. */
static const struct {
    int opt;
    const char *key;
} settings[] = {
    {OPT_ACCESS_LOG, "serve.access_log"},
    {OPT_BURST, "serve.burst"},
    {OPT_DOC_CACHE, "serve.doc_cache"},
    {OPT_HEADER_TIMEOUT, "serve.header_timeout"},
    {OPT_IDLE_TIMEOUT, "serve.idle_timeout"},
    {OPT_KEYS, "serve.keys"},
    {OPT_LISTEN, "serve.listen"},
    {OPT_MAX_BATCH, "serve.max_batch"},
    {OPT_MAX_BODY, "serve.max_body"},
    {OPT_MAX_CONNECTIONS, "serve.max_connections"},
    {OPT_MAX_K, "serve.max_k"},
    {OPT_METRICS_AUTH, "serve.metrics_auth"},
    {OPT_RATE, "serve.rate"},
    {OPT_SLOW_LOG, "serve.slow_log"},
    {OPT_SLOW_MS, "serve.slow_ms"},
    {OPT_SNAPSHOT_DIR, "serve.snapshot_dir"},
    {OPT_THREADS, "serve.threads"},
    {OPT_TIMEOUT_MS, "serve.timeout_ms"},
    {OPT_TLS_CERT, "serve.tls_cert"},
    {OPT_TLS_KEY, "serve.tls_key"},
};
#define NOPT (OPT_TLS_KEY - VS_OPT_FIRST_PROGRAM + 1)

/* The option's long name, for messages ("--max-body"). */
static const char *opt_name(int opt, char *buf, size_t n)
{
    for (const struct option *p = longopts; p->name; p++)
        if (p->val == opt) {
            snprintf(buf, n, "--%s", p->name);
            return buf;
        }
    return "?";
}

/* Parse the value of option opt (given, or from its setting) into o and
 * the log paths; returns 0 or an exit code. */
static int parse_opt(int opt, const char *s, struct vs_server_opts *o, const char **keys,
                     const char **slow_log, const char **access_log)
{
    char name[64];
    const char *on = opt_name(opt, name, sizeof name);
    long v;
    double x;
    int b;
    switch (opt) {
    case OPT_LISTEN: o->listen = s; return 0;
    case OPT_KEYS: *keys = s; return 0;
    case OPT_SLOW_LOG: *slow_log = s; return 0;
    case OPT_ACCESS_LOG: *access_log = s; return 0;
    case OPT_SNAPSHOT_DIR: o->snapshot_dir = s; return 0;
    case OPT_TLS_CERT: o->tls_cert = s; return 0;
    case OPT_TLS_KEY: o->tls_key = s; return 0;
    case OPT_METRICS_AUTH:
        if (vs_cli_parse_bool(on, s, &b))
            return VS_EXIT_USAGE;
        o->metrics_auth = b;
        return 0;
    case OPT_THREADS:
        if (vs_cli_parse_long(on, s, 1, 1024, &v))
            return VS_EXIT_USAGE;
        o->threads = (int)v;
        return 0;
    case OPT_MAX_BODY:
        if (vs_cli_parse_long(on, s, 1, 1L << 31, &v))
            return VS_EXIT_USAGE;
        o->max_body = (size_t)v;
        return 0;
    case OPT_DOC_CACHE:
        if (vs_cli_parse_long(on, s, 1, 1L << 20, &v))
            return VS_EXIT_USAGE;
        o->doc_cache = (size_t)v << 20;
        return 0;
    case OPT_MAX_BATCH:
        if (vs_cli_parse_long(on, s, 1, 1000000, &v))
            return VS_EXIT_USAGE;
        o->max_batch = (size_t)v;
        return 0;
    case OPT_MAX_K:
        if (vs_cli_parse_long(on, s, 1, 100000, &v))
            return VS_EXIT_USAGE;
        o->max_k = (size_t)v;
        return 0;
    case OPT_MAX_CONNECTIONS:
        if (vs_cli_parse_long(on, s, 1, 100000, &v))
            return VS_EXIT_USAGE;
        o->max_conns = (unsigned)v;
        return 0;
    case OPT_IDLE_TIMEOUT:
        if (vs_cli_parse_long(on, s, 1, 86400, &v))
            return VS_EXIT_USAGE;
        o->idle_timeout_s = (unsigned)v;
        return 0;
    case OPT_HEADER_TIMEOUT:
        if (vs_cli_parse_long(on, s, 1, 86400, &v))
            return VS_EXIT_USAGE;
        o->header_timeout_s = (unsigned)v;
        return 0;
    case OPT_TIMEOUT_MS:
        if (vs_cli_parse_double(on, s, 1, 86400000, &x))
            return VS_EXIT_USAGE;
        o->timeout_ms = x;
        return 0;
    case OPT_SLOW_MS:
        if (vs_cli_parse_double(on, s, 0, 86400000, &x))
            return VS_EXIT_USAGE;
        o->slow_ms = x;
        return 0;
    case OPT_RATE:
        if (vs_cli_parse_double(on, s, 0, 1e9, &x))
            return VS_EXIT_USAGE;
        o->rate = x;
        return 0;
    case OPT_BURST:
        if (vs_cli_parse_double(on, s, 1, 1e9, &x))
            return VS_EXIT_USAGE;
        o->burst = x;
        return 0;
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    vs_cli_no_trace(); /* requests are traced, not the process */
    struct vs_server_opts o = {0};
    o.threads = 4;
    o.slow_ms = -1;
    const char *keys = NULL, *slow_log = NULL, *access_log = NULL;
    const char *given[NOPT] = {0}; /* the options given, by code */
    int do_hash = 0, c;
    const char *shard[256];
    size_t nshard = 0;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        if (c < VS_OPT_FIRST_PROGRAM || c > OPT_TLS_KEY)
            return vs_cli_exit(vs_cli_usage_error(NULL));
        if (c == OPT_SHARD) {
            if (nshard == sizeof shard / sizeof *shard)
                return vs_cli_exit(vs_cli_usage_error("more than %zu --shard options",
                                                      sizeof shard / sizeof *shard));
            if (!optarg || !strchr(optarg, '=') || optarg[0] == '=')
                return vs_cli_exit(vs_cli_usage_error("--shard '%s': expected NAME=STORE or "
                                                      "NAME=URL", optarg));
            shard[nshard++] = optarg;
        } else if (c == OPT_HASH_KEY)
            do_hash = 1;
        else if (c == OPT_INSECURE_NO_AUTH)
            o.insecure_no_auth = 1;
        else /* a later one wins, as before */
            given[c - VS_OPT_FIRST_PROGRAM] = optarg ? optarg : "true";
    }
    if (do_hash) {
        if (optind < argc)
            return vs_cli_exit(vs_cli_usage_error("--hash-key takes no STORE"));
        return vs_cli_exit(hash_key());
    }
    if (optind >= argc && !nshard)
        return vs_cli_exit(vs_cli_usage_error("missing STORE"));
    o.shard_key = nshard ? vs_cli_setting("query.shard_key") : NULL;
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        const char **a = &given[settings[i].opt - VS_OPT_FIRST_PROGRAM];
        if (!*a)
            *a = settings[i].opt == OPT_KEYS || settings[i].opt == OPT_SLOW_LOG ||
                         settings[i].opt == OPT_ACCESS_LOG ||
                         settings[i].opt == OPT_SNAPSHOT_DIR ||
                         settings[i].opt == OPT_TLS_CERT || settings[i].opt == OPT_TLS_KEY
                     ? vs_cli_setting_path(settings[i].key)
                     : vs_cli_setting(settings[i].key);
    }
    for (int i = 0; i < NOPT; i++)
        if (given[i] && parse_opt(VS_OPT_FIRST_PROGRAM + i, given[i], &o, &keys, &slow_log,
                                &access_log))
            return vs_cli_exit(VS_EXIT_USAGE);
    if (o.metrics_auth && !keys)
        return vs_cli_exit(vs_cli_usage_error("--metrics-auth needs --keys"));
    if (slow_log && o.slow_ms < 0)
        return vs_cli_exit(vs_cli_usage_error("--slow-log needs --slow-ms"));
    if (o.slow_ms >= 0 && !slow_log)
        slow_log = "-";
    if (!o.listen)
        o.listen = "127.0.0.1:8080";

    int code = VS_EXIT_OK, st = VS_OK;
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_server *srv = NULL;
    if (slow_log && !(o.slow_log = open_log(slow_log, "--slow-log")))
        return vs_cli_exit(VS_EXIT_SYSTEM);
    if (access_log && !(o.access_log = open_log(access_log, "--access-log"))) {
        code = VS_EXIT_SYSTEM;
        goto done;
    }
    if ((st = vs_server_new(&o, &srv, &d)) != VS_OK)
        goto report;
    for (int i = optind; i < argc; i++) {
        char name[80];
        const char *arg = argv[i], *eq = strchr(arg, '='), *path = arg;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 79 ? eq - arg : 79), arg);
            path = eq + 1;
        } else {
            size_t n = strlen(arg);
            while (n > 1 && arg[n - 1] == '/')
                n--;
            const char *b = arg + n;
            while (b > arg && b[-1] != '/')
                b--;
            size_t bl = (size_t)(arg + n - b);
            if (bl > 3 && memcmp(b + bl - 3, ".vs", 3) == 0)
                bl -= 3;
            snprintf(name, sizeof name, "%.*s", (int)(bl < 79 ? bl : 79), b);
        }
        if ((st = vs_server_add_store(srv, name, path, &d)) != VS_OK)
            goto report;
    }
    for (size_t i = 0; i < nshard; i++) {
        const char *eq = strchr(shard[i], '=');
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(eq - shard[i] < 79 ? eq - shard[i] : 79),
                 shard[i]);
        if ((st = vs_server_add_shard(srv, name, eq + 1, &d)) != VS_OK)
            goto report;
    }
    if (keys && (st = vs_server_load_keys(srv, keys, &d)) != VS_OK)
        goto report;
    if ((st = vs_server_trace_from_env(srv, &d)) != VS_OK)
        goto report;
    /* the worker threads inherit this mask; the main thread waits */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((st = vs_server_start(srv, &d)) != VS_OK)
        goto report;
    if (vs_cli.verbosity >= 0)
        fprintf(stderr, "%s: listening on %s://%.*s:%u\n", vs_cli.prog,
                o.tls_cert ? "https" : "http",
                (int)(strrchr(o.listen, ':') - o.listen), o.listen, vs_server_port(srv));
    int sig = 0;
    sigwait(&set, &sig);
    vs_cli_info(1, "signal %d: stopping", sig);
    vs_server_stop(srv);
report:
    if (st != VS_OK)
        code = vs_cli_report(st, &d);
done:
    if (vs_cli.stats)
        vs_cli_stat_int("requests", srv ? (long long)vs_server_requests(srv) : 0);
    vs_server_free(srv);
    if (o.slow_log && o.slow_log != stderr)
        fclose(o.slow_log);
    if (o.access_log && o.access_log != stderr)
        fclose(o.access_log);
    return vs_cli_exit(code);
}
