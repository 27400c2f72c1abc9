/* store_snapshot.c: `vs-index snapshot`: a new store directory made of hard
 * links to the immutable files of the current generation and a copy of its
 * manifest (docs/store-format.md, "Snapshots"). */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST "MANIFEST"
#define OPEN_RETRIES 50

/* ---- snapshots ---- */

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return e;
    }
    char buf[1 << 16];
    ssize_t n;
    int e = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (vs_io_write_all(out, buf, (size_t)n) != VS_OK) {
            e = errno ? errno : EIO;
            break;
        }
    if (n < 0)
        e = errno;
    if (!e && fsync(out) != 0)
        e = errno;
    close(in);
    if (close(out) != 0 && !e)
        e = errno;
    return e;
}

static int link_or_copy(const char *src_dir, const char *dst_dir, const char *name)
{
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", src_dir, name);
    snprintf(b, sizeof b, "%s/%s", dst_dir, name);
    if (link(a, b) == 0)
        return 0;
    if (errno == EXDEV || errno == EPERM || errno == EMLINK)
        return copy_file(a, b);
    return errno;
}

static void empty_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(dp), de->d_name, 0);
    closedir(dp);
}

int vs_store_snapshot(const char *path, const char *dest, struct vs_diag *d)
{
    if (mkdir(dest, 0755) != 0) {
        int e = errno;
        vs_diag_where(d, dest, 0);
        return vs_diag_set(d, e == EEXIST ? VS_E_EXISTS : vs_status_from_errno(e),
                           "cannot create the snapshot: %s", strerror(e));
    }
    for (int attempt = 0; attempt < OPEN_RETRIES; attempt++) {
        struct vs_store *s;
        int st = vs_store_open(path, &s, d);
        if (st != VS_OK) {
            rmdir(dest);
            return st;
        }
        int e = 0;
        for (size_t i = 0; i < vs_store_nsegments(s) && !e; i++) {
            const struct vs_segment *g = vs_store_segment(s, i);
            e = link_or_copy(path, dest, g->name);
            if (!e && g->delname[0])
                e = link_or_copy(path, dest, g->delname);
        }
        if (e == ENOENT) { /* a writer replaced the generation meanwhile */
            vs_store_close(s);
            empty_dir(dest);
            continue;
        }
        if (!e) {
            char mf[4200], tmp[4200];
            snprintf(mf, sizeof mf, "%s/" MANIFEST, dest);
            snprintf(tmp, sizeof tmp, "%s/" MANIFEST ".tmp.%ld", dest, (long)getpid());
            int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0)
                e = errno;
            else {
                size_t mlen;
                const char *mbytes = vs_store_manifest_bytes(s, &mlen);
                if (vs_io_write_all(fd, mbytes, mlen) != VS_OK ||
                    fsync(fd) != 0)
                    e = errno ? errno : EIO;
                if (close(fd) != 0 && !e)
                    e = errno;
                if (!e && rename(tmp, mf) != 0)
                    e = errno;
            }
            if (!e && vs_io_fsync_dir(dest) != VS_OK)
                e = errno ? errno : EIO;
        }
        vs_store_close(s);
        if (e) {
            empty_dir(dest);
            rmdir(dest);
            vs_diag_where(d, dest, 0);
            return vs_diag_set(d, vs_status_from_errno(e), "cannot write the snapshot: %s",
                               strerror(e));
        }
        return VS_OK;
    }
    empty_dir(dest);
    rmdir(dest);
    vs_diag_where(d, path, 0);
    return vs_diag_set(d, VS_E_STORE, "the store kept changing; no snapshot taken");
}
