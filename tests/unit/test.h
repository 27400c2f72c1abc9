/* test.h: a tiny TAP-emitting harness for the C unit tests.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(test_something); return vs_test_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" with "# " lines for
 * every failed check; SKIP("why") inside a test marks it skipped. */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int vs_test_n, vs_test_failed_total, vs_test_cur_failed;
static const char *vs_test_skip_reason;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);\
            vs_test_cur_failed++;                                              \
        }                                                                      \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            printf("#   %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,     \
                   __LINE__, #a, #b, va_, vb_);                                \
            vs_test_cur_failed++;                                              \
        }                                                                      \
    } while (0)
#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                           \
            printf("#   %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, \
                   __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");\
            vs_test_cur_failed++;                                              \
        }                                                                      \
    } while (0)
#define CHECK_NEAR(a, b, eps)                                                  \
    do {                                                                       \
        double da_ = (double)(a), db_ = (double)(b);                           \
        if (!(fabs(da_ - db_) <= (eps))) {                                     \
            printf("#   %s:%d: %s ~= %s failed: %.9g != %.9g\n", __FILE__,     \
                   __LINE__, #a, #b, da_, db_);                                \
            vs_test_cur_failed++;                                              \
        }                                                                      \
    } while (0)
#define SKIP(why)                                                              \
    do {                                                                       \
        vs_test_skip_reason = (why);                                           \
        return;                                                                \
    } while (0)

static inline void vs_test_run(const char *name, void (*fn)(void))
{
    vs_test_cur_failed = 0;
    vs_test_skip_reason = NULL;
    fn();
    vs_test_n++;
    if (vs_test_skip_reason)
        printf("ok %d - %s # SKIP %s\n", vs_test_n, name, vs_test_skip_reason);
    else if (vs_test_cur_failed) {
        printf("not ok %d - %s\n", vs_test_n, name);
        vs_test_failed_total++;
    } else
        printf("ok %d - %s\n", vs_test_n, name);
    fflush(stdout);
}
#define RUN(fn) vs_test_run(#fn, fn)

static inline int vs_test_done(void)
{
    printf("1..%d\n", vs_test_n);
    return vs_test_failed_total ? 1 : 0;
}

/* The shared data directory (VS_DATA, default ../shared/data), or NULL. */
static inline const char *vs_test_data(void)
{
    const char *d = getenv("VS_DATA");
    return d && *d ? d : "../shared/data";
}

/* A fresh directory $TMPDIR/vs-test-NAME-XXXXXX (TMPDIR default /tmp) in
 * buf; prints "Bail out!" and returns -1 when it cannot be made. */
static inline int vs_test_tmpdir(char *buf, size_t n, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/vs-test-%s-XXXXXX", t && *t ? t : "/tmp", name);
    if (!mkdtemp(buf)) {
        printf("Bail out! cannot make a temporary directory %s\n", buf);
        return -1;
    }
    return 0;
}

/* Remove a directory tree made by vs_test_tmpdir. */
static inline void vs_test_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# cleanup of %s failed\n", dir);
}

/* The file at path as a NUL-terminated string in a static 64 KiB buffer
 * (longer files are cut), or NULL when it cannot be read. */
static inline char *vs_test_slurp(const char *path)
{
    static char buf[65536];
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* Write text to DIR/NAME; returns that path in a static buffer (the next
 * call reuses it). A file that cannot be written is left absent, for the
 * test's own checks to notice. */
static inline const char *vs_test_write(const char *dir, const char *name,
                                        const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    return path;
}

/* Damage a file on purpose: xor the byte at offset at of path with mask.
 * 0, or -1 when the file cannot be opened, read or written there. */
static inline int vs_test_flip_byte(const char *path, uint64_t at, unsigned char mask)
{
    int fd = open(path, O_RDWR);
    unsigned char c = 0;
    int ok = fd >= 0 && pread(fd, &c, 1, (off_t)at) == 1;
    c ^= mask;
    ok = ok && pwrite(fd, &c, 1, (off_t)at) == 1;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

#endif
