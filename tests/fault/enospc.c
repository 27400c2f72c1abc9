/* enospc.c: an LD_PRELOAD shim that simulates a full disk, for the store's
 * fault-injection tests (tests/cli/store-faults.bats builds it with
 * cc -shared -fPIC). It wraps write, pwrite, fsync, fdatasync and rename.
 * Only calls on regular files (and every rename) count and can fail: the
 * diagnostics a program writes to a terminal or pipe are never disturbed,
 * and fsync of a directory is passed through (a full disk does not make it
 * fail).
 *
 * Environment:
 *   VS_ENOSPC_BYTES=N  regular-file writes succeed for N bytes in total; the
 *                      write that crosses the budget is short (as a real
 *                      full disk does), every later one fails with ENOSPC,
 *                      and so do later fsync/fdatasync/rename calls
 *   VS_ENOSPC_CALLS=N  the first N counted calls succeed, every later one
 *                      fails with ENOSPC
 *   VS_ENOSPC_COUNT=F  at exit, append "CALLS BYTES\n" (the counted calls and
 *                      bytes this process made) to file F
 * Without VS_ENOSPC_BYTES and VS_ENOSPC_CALLS nothing fails. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);

static long long budget_bytes = -1, budget_calls = -1;
static long long used_bytes, used_calls;
static int full; /* set once the byte budget is spent */

__attribute__((constructor)) static void shim_init(void)
{
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    const char *b = getenv("VS_ENOSPC_BYTES"), *c = getenv("VS_ENOSPC_CALLS");
    if (b && *b)
        budget_bytes = atoll(b);
    if (c && *c)
        budget_calls = atoll(c);
}

__attribute__((destructor)) static void shim_fini(void)
{
    const char *f = getenv("VS_ENOSPC_COUNT");
    if (!f || !*f || !real_write)
        return;
    int fd = open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "%lld %lld\n", used_calls, used_bytes);
    if (n > 0)
        (void)real_write(fd, line, (size_t)n);
    close(fd);
}

static int regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Count one call; nonzero when it must fail. */
static int next_call_fails(void)
{
    long long n = __atomic_add_fetch(&used_calls, 1, __ATOMIC_SEQ_CST);
    if (budget_calls >= 0 && n > budget_calls)
        return 1;
    return __atomic_load_n(&full, __ATOMIC_SEQ_CST);
}

/* How many of len bytes may be written; -1 when none (ENOSPC). */
static ssize_t allowance(size_t len)
{
    if (next_call_fails())
        return -1;
    if (budget_bytes < 0) {
        __atomic_add_fetch(&used_bytes, (long long)len, __ATOMIC_SEQ_CST);
        return (ssize_t)len;
    }
    long long before = __atomic_fetch_add(&used_bytes, (long long)len, __ATOMIC_SEQ_CST);
    long long left = budget_bytes - before;
    if (left >= (long long)len)
        return (ssize_t)len;
    __atomic_store_n(&full, 1, __ATOMIC_SEQ_CST);
    return left > 0 ? (ssize_t)left : -1;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    if (!real_write)
        shim_init();
    if (len == 0 || !regular(fd))
        return real_write(fd, buf, len);
    ssize_t ok = allowance(len);
    if (ok < 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, (size_t)ok);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    if (!real_pwrite)
        shim_init();
    if (len == 0 || !regular(fd))
        return real_pwrite(fd, buf, len, off);
    ssize_t ok = allowance(len);
    if (ok < 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite(fd, buf, (size_t)ok, off);
}

int fsync(int fd)
{
    if (!real_fsync)
        shim_init();
    if (!regular(fd))
        return real_fsync(fd);
    if (next_call_fails()) {
        errno = ENOSPC;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    if (!real_fdatasync)
        shim_init();
    if (!regular(fd))
        return real_fdatasync(fd);
    if (next_call_fails()) {
        errno = ENOSPC;
        return -1;
    }
    return real_fdatasync(fd);
}

int rename(const char *from, const char *to)
{
    if (!real_rename)
        shim_init();
    if (next_call_fails()) {
        errno = ENOSPC;
        return -1;
    }
    return real_rename(from, to);
}
