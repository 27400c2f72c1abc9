/* cli_config.c: settings (flag, then VS_* environment, then --config FILE or
 * the nearest .vecstore.toml, then the default) and the range-checked
 * parsing of option and setting values, whose errors name where a value
 * came from. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How a parse error names the value: "option '--size'", or, for a value
 * vs_cli_setting returned, where it came from ("FILE:LINE: setting
 * 'chunk.size'" or "VS_CHUNK_SIZE: setting 'chunk.size'"). */
static const char *value_name(const char *opt, const char *s, char *buf, size_t n)
{
    for (int i = 0; i < vs_cli.norigins; i++)
        if (vs_cli.origin[i].value == s) {
            snprintf(buf, n, "%s: setting '%s'", vs_cli.origin[i].where, vs_cli.origin[i].key);
            return buf;
        }
    snprintf(buf, n, "%s '%s'", opt[0] == '-' ? "option" : "setting", opt);
    return buf;
}

int vs_cli_parse_long(const char *opt, const char *s, long min, long max,
                      long *out)
{
    char name[4400];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        vs_cli_usage_error("%s needs an integer from %ld to %ld, not '%s'",
                           value_name(opt, s, name, sizeof name), min, max, s);
        return VS_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int vs_cli_parse_bool(const char *opt, const char *s, int *out)
{
    char name[4400];
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = 0;
        return 0;
    }
    vs_cli_usage_error("%s needs true or false, not '%s'", value_name(opt, s, name, sizeof name), s);
    return VS_EXIT_USAGE;
}

int vs_cli_bad_value(const char *opt, const char *s, const char *choices)
{
    char name[4400];
    vs_cli_usage_error("%s needs %s, not '%s'", value_name(opt, s, name, sizeof name),
                       choices, s);
    return VS_EXIT_USAGE;
}

int vs_cli_parse_double(const char *opt, const char *s, double min, double max,
                        double *out)
{
    char name[4400];
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        vs_cli_usage_error("%s needs a number from %g to %g, not '%s'",
                           value_name(opt, s, name, sizeof name), min, max, s);
        return VS_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

/* Every key .vecstore.toml may hold (documented in .vecstore.toml.example;
 * tests/cli/config.bats checks that this list, the example and the keys the
 * programs read are the same). A trailing '.' admits any key below it. */
static const char *const known_keys[] = {
    "chunk.field", "chunk.html_all", "chunk.keep_going", "chunk.min_size", "chunk.overlap",
    "chunk.size", "chunk.splitter", "chunk.title", "chunk.unit",
    "embed.api_key_env", "embed.api_version", "embed.base_url", "embed.batch",
    "embed.cache_max_mb", "embed.concurrency", "embed.dim", "embed.field", "embed.keep_going",
    "embed.max_retries", "embed.model", "embed.price.", "embed.rpm", "embed.split_long",
    "embed.threads", "embed.timeout", "embed.tpm",
    "eval.judge_model", "eval.judge_url",
    "ingest.analyzer", "ingest.commit_every", "ingest.max_delete", "ingest.metric", "ingest.model",
    "ingest.text_field",
    "query.alpha", "query.b", "query.batch", "query.candidates", "query.ef", "query.fusion",
    "query.group_by", "query.k", "query.k1", "query.keep_going", "query.mode", "query.rrf_k",
    "query.shard_key", "query.threads",
    "rerank.model", "rerank.url",
    "serve.access_log", "serve.burst", "serve.doc_cache", "serve.header_timeout",
    "serve.idle_timeout", "serve.keys",
    "serve.listen", "serve.max_batch", "serve.max_body", "serve.max_connections", "serve.max_k",
    "serve.metrics_auth", "serve.rate", "serve.slow_log", "serve.slow_ms", "serve.snapshot_dir",
    "serve.threads", "serve.timeout_ms", "serve.tls_cert", "serve.tls_key",
};

static int known_key(const char *key)
{
    for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++) {
        size_t n = strlen(known_keys[i]);
        if (known_keys[i][n - 1] == '.' ? strncmp(key, known_keys[i], n) == 0 && key[n]
                                        : strcmp(key, known_keys[i]) == 0)
            return 1;
    }
    return 0;
}

/* The nearest .vecstore.toml: in the current directory or the closest of
 * its parents that has one (as git finds .git), into buf; 0 when found. */
static int find_config(char *buf, size_t n)
{
    char dir[3800];
    if (!getcwd(dir, sizeof dir))
        dir[0] = '\0';
    size_t up = 0;
    for (;;) {
        struct stat sb;
        size_t k = 0;
        for (size_t i = 0; i < up && k + 3 < n; i++, k += 3)
            memcpy(buf + k, "../", 3);
        snprintf(buf + k, n - k, ".vecstore.toml");
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode))
            return 0;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir || up > 256)
            return -1; /* checked the root's child; the root itself next */
        *slash = '\0';
        up++;
    }
}

/* Load --config FILE, or the nearest .vecstore.toml, once; a file that does
 * not parse or holds a key no program knows ends the program with exit 2. */
static void load_config(void)
{
    vs_cli.cfg_loaded = 1;
    const char *path = vs_cli.config;
    if (!path && find_config(vs_cli.cfg_path, sizeof vs_cli.cfg_path) == 0)
        path = vs_cli.cfg_path;
    if (!path) {
        vs_cli_info(2, "config: no .vecstore.toml here or in a parent directory");
        return;
    }
    if (path != vs_cli.cfg_path)
        snprintf(vs_cli.cfg_path, sizeof vs_cli.cfg_path, "%s", path);
    vs_cli_info(1, "config: %s", path);
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_config_load(path, &vs_cli.cfg, &d);
    for (size_t i = 0; st == VS_OK && i < vs_config_count(vs_cli.cfg); i++) {
        const char *k = vs_config_key(vs_cli.cfg, i);
        if (!known_key(k)) {
            vs_diag_where(&d, path, vs_config_key_line(vs_cli.cfg, i));
            st = vs_diag_set(&d, VS_E_CONFIG,
                             "unknown key '%s' (see .vecstore.toml.example)", k);
        }
    }
    if (st != VS_OK)
        exit(vs_cli_exit(vs_cli_report(st, &d)));
}

/* Remember where a setting's value came from, for parse errors. */
static void remember_origin(const char *value, const char *key, const char *where)
{
    int n = vs_cli.norigins;
    for (int i = 0; i < n; i++)
        if (vs_cli.origin[i].value == value)
            return;
    if (n >= (int)(sizeof vs_cli.origin / sizeof vs_cli.origin[0]))
        return;
    vs_cli.origin[n].value = value;
    snprintf(vs_cli.origin[n].key, sizeof vs_cli.origin[n].key, "%s", key);
    snprintf(vs_cli.origin[n].where, sizeof vs_cli.origin[n].where, "%s", where);
    vs_cli.norigins = n + 1;
}

const char *vs_cli_setting(const char *key)
{
    char env[256] = "VS_";
    size_t n = 3;
    for (const char *p = key; *p && n + 1 < sizeof env; p++)
        env[n++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    env[n] = '\0';
    const char *v = getenv(env);
    if (v && *v) {
        remember_origin(v, key, env);
        return v;
    }
    if (!vs_cli.cfg_loaded)
        load_config();
    v = vs_cli.cfg ? vs_config_get(vs_cli.cfg, key) : NULL;
    for (size_t i = 0; v && i < vs_config_count(vs_cli.cfg); i++)
        if (!strcmp(vs_config_key(vs_cli.cfg, i), key)) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%ld", vs_cli.cfg_path,
                     vs_config_key_line(vs_cli.cfg, i));
            remember_origin(v, key, where);
            break;
        }
    return v;
}

/* Paths vs_cli_setting_path made (valid until exit: reachable, so no leak). */
static char *made_paths[32];
static int nmade;

const char *vs_cli_setting_path(const char *key)
{
    const char *v = vs_cli_setting(key);
    if (!v || v[0] == '/' || !vs_cli.cfg || v != vs_config_get(vs_cli.cfg, key))
        return v; /* absolute, from the environment, or none */
    const char *slash = strrchr(vs_cli.cfg_path, '/');
    if (!slash || nmade >= (int)(sizeof made_paths / sizeof *made_paths))
        return v; /* the file is in the current directory */
    int dl = (int)(slash - vs_cli.cfg_path);
    size_t n = (size_t)dl + 1 + strlen(v) + 1;
    char *p = malloc(n);
    if (!p)
        return v;
    snprintf(p, n, "%.*s/%s", dl, vs_cli.cfg_path, v);
    made_paths[nmade++] = p;
    for (int i = 0; i < vs_cli.norigins; i++)
        if (vs_cli.origin[i].value == v) {
            remember_origin(p, key, vs_cli.origin[i].where);
            break;
        }
    return p;
}
