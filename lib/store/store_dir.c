/* store_dir.c: the files of a store directory besides its segments, as
 * the writer (store.c) keeps them: MANIFEST, written whole to a temporary
 * file, synced and renamed over the old one (the commit point,
 * docs/store-format.md); LOCK, flock()ed by the one writer and holding its
 * pid; and removing the files the manifest does not name (left by a crash
 * or replaced by a newer generation). */
#include "store_hnsw_internal.h"
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MANIFEST "MANIFEST"
#define LOCKFILE "LOCK"

int vs_store_valid_file_name(const char *name, const char *prefix, const char *suffix)
{
    size_t n = strlen(name), p = strlen(prefix), x = strlen(suffix);
    if (n <= p + x || n >= 64 || strncmp(name, prefix, p) != 0 ||
        strcmp(name + n - x, suffix) != 0)
        return 0;
    for (size_t i = p; i < n - x; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
            return 0;
    return 1;
}

/* ---- writing the manifest and collecting garbage ---- */

int vs_store_write_manifest(const char *dir, const struct vs_store_settings *st,
                            uint64_t gen, uint64_t next_seg, json_t *segs,
                            struct vs_diag *d)
{
    json_t *m = json_object();
    json_object_set_new(m, "format", json_string("vecstore"));
    json_object_set_new(m, "version", json_integer(VS_MANIFEST_VERSION));
    json_object_set_new(m, "generation", json_integer((json_int_t)gen));
    json_object_set_new(m, "next_segment", json_integer((json_int_t)next_seg));
    json_object_set_new(m, "dim", json_integer(st->dim));
    json_object_set_new(m, "metric", json_string(vs_metric_name(st->metric)));
    json_object_set_new(m, "normalize", json_boolean(st->normalize));
    json_object_set_new(m, "model", json_string(st->model));
    if (st->analyzer[0]) {
        json_object_set_new(m, "analyzer", json_string(st->analyzer));
        json_object_set_new(m, "text_field",
                            json_string(st->text_field[0] ? st->text_field : "text"));
    }
    if (st->hnsw_m)
        json_object_set_new(m, "hnsw", vs_store_hnsw_json(st));
    vs_vector_storage_json(m, st->vector_storage);
    json_object_set_new(m, "segments", json_incref(segs));
    char *body = json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!body)
        return vs_diag_set(d, VS_E_NOMEM, "cannot build the manifest");
    size_t blen = strlen(body);
    char *text = malloc(blen + 32);
    if (!text) {
        free(body);
        return vs_diag_set(d, VS_E_NOMEM, "cannot build the manifest");
    }
    memcpy(text, body, blen);
    text[blen++] = '\n';
    free(body);
    size_t len = blen + (size_t)snprintf(text + blen, 32, "xxh64 %016llx\n",
                                         (unsigned long long)XXH64(text, blen, 0));
    char tmp[4200], fin[4200];
    snprintf(tmp, sizeof tmp, "%s/" MANIFEST ".tmp.%ld", dir, (long)getpid());
    snprintf(fin, sizeof fin, "%s/" MANIFEST, dir);
    int rc = VS_OK, e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        e = errno;
    else {
        rc = vs_io_write_all(fd, text, len);
        if (rc != VS_OK)
            e = errno;
        else if (fsync(fd) != 0)
            e = errno;
        if (close(fd) != 0 && !e)
            e = errno;
        if (!e && rename(tmp, fin) != 0)
            e = errno;
    }
    free(text);
    if (e || rc != VS_OK) {
        unlink(tmp);
        vs_diag_where(d, fin, 0);
        return vs_diag_set(d, vs_status_from_errno(e ? e : EIO),
                           "cannot write the manifest: %s", strerror(e ? e : EIO));
    }
    if ((rc = vs_io_fsync_dir(dir)) != VS_OK) {
        vs_diag_where(d, dir, 0);
        return vs_diag_set(d, rc, "cannot sync the store directory");
    }
    return VS_OK;
}

/* Remove files of the store that the manifest (segs) does not name: left by
 * a crash or replaced by a newer generation. Only the writer calls this. */
void vs_store_collect_garbage(const char *dir, json_t *segs)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *n = de->d_name;
        int ours = vs_store_valid_file_name(n, "seg-", ".vseg") ||
                   vs_store_valid_file_name(n, "del-", ".vdel") ||
                   strncmp(n, MANIFEST ".tmp.", sizeof MANIFEST + 4) == 0 ||
                   (strncmp(n, "seg-", 4) == 0 && strstr(n, ".tmp"));
        if (!ours)
            continue;
        int used = 0;
        size_t i;
        json_t *e;
        json_array_foreach(segs, i, e) {
            const char *f = json_string_value(json_object_get(e, "file"));
            const char *x = json_string_value(json_object_get(e, "del"));
            if ((f && strcmp(f, n) == 0) || (x && strcmp(x, n) == 0))
                used = 1;
        }
        if (!used)
            unlinkat(dirfd(dp), n, 0);
    }
    closedir(dp);
}

/* ---- the lock ---- */

int vs_store_lock_take(const char *dir, double wait_s, int *fdout, struct vs_diag *d)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/" LOCKFILE, dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        vs_diag_where(d, dir, 0);
        return vs_diag_set(d, e == ENOENT || e == ENOTDIR ? VS_E_NOSTORE
                                                          : vs_status_from_errno(e),
                           "cannot open the lock file: %s", strerror(e));
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(fd);
            vs_diag_where(d, dir, 0);
            return vs_diag_set(d, vs_status_from_errno(e), "cannot lock: %s", strerror(e));
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (wait_s >= 0 && el >= wait_s) {
            char buf[32] = {0};
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
            close(fd);
            vs_diag_where(d, dir, 0);
            if (pid > 0)
                return vs_diag_set(d, VS_E_LOCKED, "locked by pid %ld%s", pid,
                                   wait_s > 0 ? " (gave up waiting)" : " (use --wait to wait)");
            return vs_diag_set(d, VS_E_LOCKED, "locked by another writer");
        }
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        /* the pid is only informative; the flock is the lock */
    }
    *fdout = fd;
    return VS_OK;
}

void vs_store_lock_release(int fd)
{
    if (fd < 0)
        return;
    if (ftruncate(fd, 0) != 0) {
        /* informative only */
    }
    flock(fd, LOCK_UN);
    close(fd);
}

