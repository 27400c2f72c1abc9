/* fuzz.h: helpers shared by the libFuzzer targets in tests/fuzz/ (one
 * static copy per target; each target is its own program).
 *
 * A target reports a broken invariant with FUZZ_CHECK, which prints the
 * condition and aborts, so libFuzzer records the input as a crash. Inputs
 * that must be files are written to a private temporary directory made once
 * per process (fuzz_dir) and removed at exit. */
#ifndef VS_FUZZ_H
#define VS_FUZZ_H

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vs_status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define FUZZ_CHECK(c)                                                          \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,    \
                    __LINE__, #c);                                             \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* FUZZ_CHECK for a status: prints its name and the diag's detail. */
#define FUZZ_CHECK_ST(c, st, d)                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s (status %s: %s: %s)\n", \
                    __FILE__, __LINE__, #c, vs_status_name(st), (d)->file,     \
                    (d)->detail);                                              \
            abort();                                                           \
        }                                                                      \
    } while (0)

static char fuzz_dir_path[256];

static int fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)remove(path); /* best effort: go on */
    return 0;
}

static void fuzz_dir_remove(void)
{
    if (fuzz_dir_path[0])
        nftw(fuzz_dir_path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A directory of our own for this process (abort when none can be made),
 * removed at exit (libFuzzer ends a timed run with exit()). */
static const char *fuzz_dir(void)
{
    char *dir = fuzz_dir_path;
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof fuzz_dir_path, "%s/vs-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return dir;
}

/* Write len bytes to dir/name (replacing it); the full path goes to path.
 * Aborts on a write error: the harness, not the code under test, failed. */
static void fuzz_write(const char *name, const void *buf, size_t len,
                       char *path, size_t pathsz)
{
    snprintf(path, pathsz, "%s/%s", fuzz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const char *p = buf;
    while (fd >= 0 && len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            break;
        p += n;
        len -= (size_t)n;
    }
    if (fd < 0 || len > 0 || close(fd) != 0) {
        perror("fuzz: write");
        abort();
    }
}

/* The input of a tokenizer target: byte 0 even, the rest is text for the
 * target's bundled table (table 0); byte 0 odd, the bytes up to the first
 * NUL are a table file, written to dir/name (its path in path), and the
 * text is what follows the NUL (text NULL when there is no NUL: the target
 * encodes a text of its own). Returns 0 for an empty input. */
struct fuzz_table_input {
    int table;
    const char *text;
    size_t len;
    char path[512];
};

static int fuzz_table_input(const unsigned char *data, size_t size, const char *name,
                            struct fuzz_table_input *in)
{
    if (size < 1)
        return 0;
    in->table = data[0] & 1;
    in->text = (const char *)data + 1;
    in->len = size - 1;
    in->path[0] = 0;
    if (!in->table)
        return 1;
    const unsigned char *nul = memchr(data + 1, 0, size - 1);
    size_t vlen = nul ? (size_t)(nul - data - 1) : size - 1;
    fuzz_write(name, data + 1, vlen, in->path, sizeof in->path);
    in->text = nul ? (const char *)nul + 1 : NULL;
    in->len = nul ? size - vlen - 2 : 0;
    return 1;
}

/* A NUL-terminated copy of the input (malloc'd). */
static char *fuzz_str(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* A file of the repository (a vocabulary): $VS_FUZZ_ROOT/rel, the root
 * being "." by default (run.sh runs the targets from the repository root). */
static const char *fuzz_repo_file(const char *rel)
{
    static char path[1024];
    const char *e = getenv("VS_FUZZ_ROOT");
    snprintf(path, sizeof path, "%s/%s", e && *e ? e : ".", rel);
    return path;
}

static uint64_t fuzz_get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t fuzz_get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void fuzz_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

#endif
