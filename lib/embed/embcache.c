/* embcache.c: embeddings on disk, one zstd file per (model key, text). */
#include "vs_embcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define MAGIC "VSEC1\n"
#define HDR (6 + 4 + 8 + 8 + 8)

struct vs_embcache {
    char dir[1024]; /* .../embeddings */
    long long max_bytes;
    pthread_mutex_t mu;
    long long hits, misses, puts, evicted;
    unsigned seq;
};

char *vs_embcache_default_dir(char *buf, size_t n)
{
    const char *e = getenv("VS_CACHE_DIR");
    if (e && *e)
        snprintf(buf, n, "%s", e);
    else {
        const char *home = getenv("HOME");
        snprintf(buf, n, "%s/.cache/vecstore", home && *home ? home : "/tmp");
    }
    return buf;
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int vs_embcache_open(const char *dir, long long max_bytes,
                     struct vs_embcache **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_embcache *c = calloc(1, sizeof *c);
    if (!c)
        return VS_E_NOMEM;
    char base[900];
    if (dir)
        snprintf(base, sizeof base, "%s", dir);
    else
        vs_embcache_default_dir(base, sizeof base);
    snprintf(c->dir, sizeof c->dir, "%s/embeddings", base);
    if (mkdirs(c->dir) != 0) {
        int e = errno;
        vs_diag_where(d, c->dir, 0);
        free(c);
        return vs_diag_set(d, vs_status_from_errno(e),
                           "cannot create the embedding cache: %s", strerror(e));
    }
    c->max_bytes = max_bytes > 0 ? max_bytes : VS_EMBCACHE_MAX_DEFAULT;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return VS_OK;
}

static void entry_path(const struct vs_embcache *c, const char *key,
                       const char *text, size_t len, char *path, size_t n)
{
    XXH3_state_t *s = XXH3_createState();
    XXH128_hash_t h;
    if (s) {
        XXH3_128bits_reset(s);
        XXH3_128bits_update(s, key, strlen(key) + 1);
        XXH3_128bits_update(s, text, len);
        h = XXH3_128bits_digest(s);
        XXH3_freeState(s);
    } else
        h = XXH3_128bits(text, len);
    snprintf(path, n, "%s/%02x/%016llx%016llx.zst", c->dir,
             (unsigned)(h.high64 >> 56), (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void make_header(unsigned char *h, const char *key, const char *text,
                        size_t len, size_t dim)
{
    memcpy(h, MAGIC, 6);
    put_u32(h + 6, (uint32_t)dim);
    put_u64(h + 10, XXH64(key, strlen(key), 0));
    put_u64(h + 18, XXH64(text, len, 1));
    put_u64(h + 26, (uint64_t)len);
}

static void count(struct vs_embcache *c, long long *field)
{
    pthread_mutex_lock(&c->mu);
    (*field)++;
    pthread_mutex_unlock(&c->mu);
}

int vs_embcache_get(struct vs_embcache *c, const char *key, const char *text,
                    size_t len, float *vec, size_t dim)
{
    char path[1200];
    entry_path(c, key, text, len, path, sizeof path);
    size_t raw = HDR + dim * 4;
    unsigned char *buf = NULL, *out = NULL;
    int hit = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto done;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || sb.st_size > (off_t)(raw + 4096))
        goto done;
    buf = malloc((size_t)sb.st_size);
    out = malloc(raw);
    if (!buf || !out || fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        goto done;
    size_t got = ZSTD_decompress(out, raw, buf, (size_t)sb.st_size);
    if (ZSTD_isError(got) || got != raw)
        goto done;
    unsigned char want[HDR];
    make_header(want, key, text, len, dim);
    if (memcmp(out, want, HDR) != 0)
        goto done;
    for (size_t i = 0; i < dim; i++) {
        uint32_t u = (uint32_t)out[HDR + 4 * i] | (uint32_t)out[HDR + 4 * i + 1] << 8 |
                     (uint32_t)out[HDR + 4 * i + 2] << 16 |
                     (uint32_t)out[HDR + 4 * i + 3] << 24;
        memcpy(&vec[i], &u, 4);
    }
    hit = 1;
    utimensat(AT_FDCWD, path, NULL, 0); /* most recently used */
done:
    if (f)
        fclose(f);
    free(out);
    free(buf);
    count(c, hit ? &c->hits : &c->misses);
    return hit;
}

int vs_embcache_put(struct vs_embcache *c, const char *key, const char *text,
                    size_t len, const float *vec, size_t dim)
{
    char path[1200], tmp[1300];
    entry_path(c, key, text, len, path, sizeof path);
    size_t raw = HDR + dim * 4, cap = ZSTD_compressBound(raw);
    unsigned char *in = malloc(raw), *z = malloc(cap);
    int st = VS_OK;
    if (!in || !z) {
        st = VS_E_NOMEM;
        goto done;
    }
    make_header(in, key, text, len, dim);
    for (size_t i = 0; i < dim; i++) {
        uint32_t u;
        memcpy(&u, &vec[i], 4);
        put_u32(in + HDR + 4 * i, u);
    }
    size_t zl = ZSTD_compress(z, cap, in, raw, 3);
    if (ZSTD_isError(zl)) {
        st = VS_E_INTERNAL;
        goto done;
    }
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int mr = mkdir(path, 0755);
    int me = errno;
    *slash = '/';
    if (mr != 0 && me != EEXIST) {
        st = vs_status_from_errno(me);
        goto done;
    }
    pthread_mutex_lock(&c->mu);
    unsigned seq = c->seq++;
    pthread_mutex_unlock(&c->mu);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = vs_status_from_errno(errno);
        goto done;
    }
    ssize_t w = write(fd, z, zl);
    int we = errno;
    if (close(fd) != 0 || w != (ssize_t)zl) {
        unlink(tmp);
        st = w < 0 ? vs_status_from_errno(we) : VS_E_IO;
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = vs_status_from_errno(errno);
        unlink(tmp);
        goto done;
    }
    count(c, &c->puts);
done:
    free(z);
    free(in);
    return st;
}

void vs_embcache_counts(struct vs_embcache *c, long long *hits,
                        long long *misses, long long *puts, long long *evicted)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    *puts = c->puts;
    *evicted = c->evicted;
    pthread_mutex_unlock(&c->mu);
}

struct ent {
    struct timespec t;
    long long size;
    char *path;
};

static int ent_cmp(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    if (x->t.tv_sec != y->t.tv_sec)
        return x->t.tv_sec < y->t.tv_sec ? -1 : 1;
    if (x->t.tv_nsec != y->t.tv_nsec)
        return x->t.tv_nsec < y->t.tv_nsec ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Remove the least recently used entries until the cache holds at most 90%
 * of its cap. Best effort: errors leave entries in place. */
static void evict(struct vs_embcache *c)
{
    struct ent *v = NULL;
    size_t n = 0, cap = 0;
    long long total = 0;
    DIR *top = opendir(c->dir);
    if (!top)
        return;
    struct dirent *de;
    char sub[1300], p[1600];
    while ((de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", c->dir, de->d_name);
        DIR *dd = opendir(sub);
        if (!dd)
            continue;
        struct dirent *fe;
        while ((fe = readdir(dd))) {
            if (fe->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", sub, fe->d_name);
            struct stat sb;
            if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                struct ent *nv = realloc(v, nc * sizeof *nv);
                if (!nv)
                    break;
                v = nv;
                cap = nc;
            }
            char *dup = strdup(p);
            if (!dup)
                break;
            v[n++] = (struct ent){sb.st_mtim, (long long)sb.st_blocks * 512, dup};
            total += (long long)sb.st_blocks * 512;
        }
        closedir(dd);
    }
    closedir(top);
    if (total > c->max_bytes) {
        qsort(v, n, sizeof *v, ent_cmp);
        long long target = c->max_bytes / 10 * 9;
        for (size_t i = 0; i < n && total > target; i++) {
            if (unlink(v[i].path) == 0) {
                total -= v[i].size;
                c->evicted++;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

void vs_embcache_close(struct vs_embcache *c)
{
    if (!c)
        return;
    if (c->puts)
        evict(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
