/* server_gen.c: the generation of each served store a request reads (opened
 * again when its MANIFEST changes, shared by reference count) and the
 * server's clock. The lowest file of serve/: it calls no other. */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

double vs_srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int manifest_id(const char *path, dev_t *dev, ino_t *ino, long long *mt)
{
    char f[4200];
    struct stat sb;
    snprintf(f, sizeof f, "%s/MANIFEST", path);
    if (stat(f, &sb) != 0)
        return -1;
    *dev = sb.st_dev;
    *ino = sb.st_ino;
    *mt = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    return 0;
}

static void gen_unref_locked(struct vs_srv_gen *g)
{
    if (g && --g->refs == 0) {
        for (int i = 0; i < g->npool; i++)
            vs_qtext_free(g->pool[i]);
        vs_qtext_free(g->scanq);
        vs_store_close(g->store);
        free(g);
    }
}

/* Open the current generation when the MANIFEST changed (or none is open).
 * The MANIFEST is looked at (stat) at most once per VS_SRV_MANIFEST_CHECK_S
 * seconds per store, or on the next call after vs_srv_gen_recheck. */
int vs_srv_gen_acquire(struct vs_srv_store *e, struct vs_srv_gen **out,
                       struct vs_diag *d)
{
    double now = vs_srv_now();
    *out = NULL;
    pthread_mutex_lock(&e->mu);
    struct vs_srv_gen *g = e->cur;
    if (g && e->checked > 0 && now - e->checked < VS_SRV_MANIFEST_CHECK_S) {
        g->refs++;
        *out = g;
        pthread_mutex_unlock(&e->mu);
        return VS_OK;
    }
    pthread_mutex_unlock(&e->mu);
    dev_t dev = 0;
    ino_t ino = 0;
    long long mt = 0;
    int have = manifest_id(e->path, &dev, &ino, &mt) == 0;
    pthread_mutex_lock(&e->mu);
    g = e->cur;
    if (g && (!have || (g->dev == dev && g->ino == ino && g->mtime_ns == mt))) {
        e->stale = !have;
        if (have && e->checked < now) /* a missing one is looked at again each time */
            e->checked = now;
        g->refs++;
        *out = g;
        pthread_mutex_unlock(&e->mu);
        return VS_OK;
    }
    pthread_mutex_unlock(&e->mu);
    /* open outside the lock; another thread may race us, the newest wins */
    struct vs_srv_gen *ng = calloc(1, sizeof *ng);
    if (!ng)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = vs_store_open(e->path, &ng->store, d);
    if (st != VS_OK) {
        free(ng);
        if (g) { /* keep serving the generation we have */
            pthread_mutex_lock(&e->mu);
            e->stale = 1;
            g = e->cur;
            g->refs++;
            *out = g;
            pthread_mutex_unlock(&e->mu);
            return VS_OK;
        }
        return st;
    }
    /* the docs cache's bound (--doc-cache) before a query sets the
     * default one (the first budget stays); a docs index that does not
     * read is reported by the queries that need it */
    for (size_t p = 0; p < vs_store_nsegments(ng->store); p++)
        (void)vs_segment_doc_cache(vs_store_segment(ng->store, p), e->doc_cache, NULL);
    ng->dev = dev;
    ng->ino = ino;
    ng->mtime_ns = mt;
    ng->refs = 2; /* e->cur and the caller */
    pthread_mutex_lock(&e->mu);
    if (e->cur && vs_store_generation(e->cur->store) > vs_store_generation(ng->store)) {
        /* someone installed a newer one meanwhile */
        e->cur->refs++;
        *out = e->cur;
        ng->refs = 1;
        gen_unref_locked(ng);
    } else {
        gen_unref_locked(e->cur);
        e->cur = ng;
        e->stale = 0;
        e->checked = now;
        *out = ng;
    }
    pthread_mutex_unlock(&e->mu);
    return VS_OK;
}

void vs_srv_gen_recheck(struct vs_srv_store *e)
{
    pthread_mutex_lock(&e->mu);
    e->checked = 0;
    pthread_mutex_unlock(&e->mu);
}

void vs_srv_gen_release(struct vs_srv_store *e, struct vs_srv_gen *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&e->mu);
    gen_unref_locked(g);
    pthread_mutex_unlock(&e->mu);
}

void vs_srv_gen_drop(struct vs_srv_store *e)
{
    pthread_mutex_lock(&e->mu);
    gen_unref_locked(e->cur);
    e->cur = NULL;
    pthread_mutex_unlock(&e->mu);
}
