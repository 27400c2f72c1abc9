/* bench/scale_query.c STORE QUERIES TRUTH D EF...: queries through the
 * library's query path (vs_query, as vs-query runs them, without the
 * process start and the NDJSON output) on one thread, for bench/scale.sh.
 * QUERIES: little-endian float32 rows of D (hnsw_bench gen); TRUTH: the
 * exact top 10 rows of each (hnsw_bench truth); the store's ids are
 * PREFIX + row as bench/vectors_ndjson.py writes them (any prefix: the
 * digits at the end are the row). Per EF (0 = exact): recall@10, CPU
 * microseconds of the querying thread per query and queries per CPU second
 * (all queries, twice, the faster pass kept), then the process's private
 * and mapped-file resident memory (RssAnon, RssFile) in KiB. Output:
 * "key value" lines. */
#include "vs_internal.h"
#include "vs_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10

#include "bench_util.h"

struct acc {
    const uint32_t *truth;
    size_t found, hits;
};

static int emit(const json_t *hit, void *arg)
{
    struct acc *a = arg;
    const char *qid = json_string_value(json_object_get(hit, "qid"));
    const char *id = json_string_value(json_object_get(hit, "id"));
    if (!qid || !id)
        return 0;
    size_t qi = strtoul(qid + 1, NULL, 10), l = strlen(id);
    while (l > 0 && id[l - 1] >= '0' && id[l - 1] <= '9')
        l--;
    uint32_t row = (uint32_t)strtoul(id + l, NULL, 10);
    a->hits++;
    for (size_t j = 0; j < K; j++)
        if (a->truth[qi * K + j] == row) {
            a->found++;
            break;
        }
    return 0;
}

static void rss(long *anon, long *file)
{
    FILE *f = fopen("/proc/self/status", "r");
    char l[256];
    *anon = *file = 0;
    while (f && fgets(l, sizeof l, f)) {
        sscanf(l, "RssAnon: %ld", anon);
        sscanf(l, "RssFile: %ld", file);
    }
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: scale_query STORE QUERIES TRUTH D EF...\n");
        return 2;
    }
    size_t d = strtoul(argv[4], NULL, 10), qb = 0, tb = 0;
    float *qv = load(argv[2], &qb);
    uint32_t *truth = load(argv[3], &tb);
    size_t nq = d ? qb / (d * sizeof(float)) : 0;
    if (!qv || !truth || nq == 0 || tb < nq * K * sizeof *truth) {
        fprintf(stderr, "scale_query: cannot read %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    json_t **recs = malloc(nq * sizeof *recs);
    for (size_t i = 0; i < nq; i++) {
        json_t *v = json_array();
        for (size_t j = 0; j < d; j++)
            json_array_append_new(v, json_real(qv[i * d + j]));
        char id[32];
        snprintf(id, sizeof id, "q%zu", i);
        recs[i] = json_pack("{s:s, s:o}", "id", id, "vector", v);
    }
    struct vs_store *s = NULL;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    double t0 = cputime();
    if (vs_store_open(argv[1], &s, &dg) != VS_OK) {
        fprintf(stderr, "scale_query: %s\n", dg.detail);
        return 1;
    }
    printf("open_cpu_ms %.2f\n", (cputime() - t0) * 1e3);
    printf("queries %zu\n", nq);
    int rc = 0;
    for (int a = 5; a < argc && rc == 0; a++) {
        size_t ef = strtoul(argv[a], NULL, 10);
        struct vs_query_opts o = {.k = K, .batch = 64, .threads = 1, .simd = -1,
                                  .no_metadata = 1, .ef = ef, .exact = ef == 0};
        struct vs_query *q = NULL;
        if (vs_query_new(s, &o, &q, &dg) != VS_OK) {
            fprintf(stderr, "scale_query: %s\n", dg.detail);
            rc = 1;
            break;
        }
        double best = 0;
        struct acc ac = {truth, 0, 0};
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            ac.found = ac.hits = 0;
            uint64_t nh = 0, ne = 0;
            double c0 = cputime();
            for (size_t i = 0; i < nq && rc == 0; i++) {
                if (vs_query_add(q, recs[i], &dg) != VS_OK ||
                    ((vs_query_full(q) || i + 1 == nq) &&
                     vs_query_run(q, emit, &ac, &nh, &ne, &dg) != VS_OK)) {
                    fprintf(stderr, "scale_query: %s\n", dg.detail);
                    rc = 1;
                }
            }
            double c = cputime() - c0;
            if (pass == 0 || c < best)
                best = c;
        }
        vs_query_free(q);
        printf("ef %zu recall %.4f us_per_query %.2f cpuqps %.1f\n", ef,
               (double)ac.found / (double)(nq * K), best * 1e6 / (double)nq,
               (double)nq / best);
    }
    long an, fl;
    rss(&an, &fl);
    printf("rss_anon_kib %ld\nrss_file_kib %ld\n", an, fl);
    for (size_t i = 0; i < nq; i++)
        json_decref(recs[i]);
    free(recs);
    vs_store_close(s);
    free(qv);
    free(truth);
    return rc;
}
