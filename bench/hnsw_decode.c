/* hnsw_decode.c: the CPU time to decode every block of a store segment's
 * graph, as 1000 queries over 100k nodes do at first touch (they decode
 * 99% of the blocks): the segment's graph section is mapped, opened and
 * vs_hnsw_verify'd REPS times, each on a fresh graph (its decoded blocks'
 * page faults included). Prints the thread's CPU ms (min, median) and an
 * FNV-1a hash of every level-0 list, to compare two builds' decoders.
 * Compiled by bench_cc (bench/cc_lib.sh, see bench/README.md):
 *
 *   . bench/cc_lib.sh && bench_cc build build/bench/hnsw_decode bench/hnsw_decode.c
 *   build/bench/hnsw_decode STORE_DIR SEGMENT_FILE REPS
 *
 * Run it once per process (REPS 1) and alternate two builds for figures
 * that include the first touch of fresh memory. */
#include "bench_util.h"
#include "hnsw_internal.h"
#include "store_hnsw_internal.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[3]) < 1 || atoi(argv[3]) > 1000) {
        fprintf(stderr, "usage: hnsw_decode STORE_DIR SEGMENT_FILE REPS (1-1000)\n");
        return 2;
    }
    struct vs_diag d = {0};
    struct vs_segment *g;
    const void *map;
    size_t len;
    if (vs_seg_open(argv[1], argv[2], &g, &d) != VS_OK ||
        vs_seg_section_map(g, VS_SECT_HNSW, &map, &len, &d) != VS_OK) {
        fprintf(stderr, "hnsw_decode: %s/%s: no mapped graph section\n", argv[1], argv[2]);
        return 3;
    }
    int reps = atoi(argv[3]);
    double *t = malloc((size_t)reps * sizeof *t);
    unsigned long long fnv = 1469598103934665603ull;
    for (int r = 0; t && r < reps; r++) {
        struct vs_hnsw *h;
        if (vs_hnsw_open_borrowed(map, len, -1, &h, &d) != VS_OK) {
            fprintf(stderr, "hnsw_decode: the graph does not open\n");
            return 3;
        }
        double t0 = cputime();
        int st = vs_hnsw_verify(h, &d);
        t[r] = (cputime() - t0) * 1e3;
        if (st != VS_OK) {
            fprintf(stderr, "hnsw_decode: the graph is damaged\n");
            return 3;
        }
        for (uint64_t u = 0; r == 0 && u < h->n; u++) {
            const uint32_t *l = list_of(h, (uint32_t)u, 0);
            for (uint32_t j = 0; j <= l[0]; j++)
                fnv = (fnv ^ l[j]) * 1099511628211ull;
        }
        vs_hnsw_free(h);
    }
    if (!t)
        return 5;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("decode every block: min %.2f ms median %.2f ms (%d runs), lists fnv %016llx\n", t[0],
           t[reps / 2], reps, fnv);
    free(t);
    vs_seg_close(g);
    return 0;
}
