/* pause_open.c: an LD_PRELOAD shim that holds a reader between reading the
 * manifest and opening a segment, so a test can replace the generation at
 * exactly that instant (tests/cli/store-faults.bats builds it with
 * cc -shared -fPIC). It wraps open and open64.
 *
 * Environment:
 *   VS_PAUSE_MATCH=S  the first open() of a path containing S pauses
 *   VS_PAUSE_DIR=D    handshake directory: the shim creates D/paused, waits
 *                     (at most 20 s) until D/go exists, then opens; when that
 *                     open fails with ENOENT it creates D/enoent
 * Later opens, and all opens without both variables, pass straight through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int done;

static void touch(int (*op)(const char *, int, ...), const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = op(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

static int paused_open(const char *sym, const char *path, int flags, mode_t mode)
{
    int (*op)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
    const char *m = getenv("VS_PAUSE_MATCH"), *dir = getenv("VS_PAUSE_DIR");
    if (!m || !*m || !dir || !*dir || !path || !strstr(path, m) ||
        __atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST))
        return op(path, flags, mode);
    touch(op, dir, "paused");
    char go[4096];
    snprintf(go, sizeof go, "%s/go", dir);
    struct stat st;
    for (int i = 0; i < 20000 && stat(go, &st) != 0; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    int fd = op(path, flags, mode);
    if (fd < 0 && errno == ENOENT) {
        touch(op, dir, "enoent");
        errno = ENOENT;
    }
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return paused_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return paused_open("open64", path, flags, mode);
}
