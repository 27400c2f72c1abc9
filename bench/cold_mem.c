/* bench/cold_mem.c STORE QUERY.json [ROWS]: the resident memory of a
 * process that opens STORE for vector queries (the graph, codes and ids of
 * every segment, as vs-query does) and then answers the one query record
 * in QUERY.json (k 10, one thread): private (RssAnon) and mapped-file
 * (RssFile) KiB and bytes per vector (ROWS, default the store's records)
 * at three points: store open, query set up, after the query. Mapped-file
 * pages are the page cache the kernel maps around each block a search
 * touches; they are shared and reclaimable, not copies. bench/cold.sh
 * builds and runs it. */
#include "vs_internal.h"
#include "vs_query.h"

#include <stdio.h>
#include <stdlib.h>

static void rss(const char *when, double n)
{
    FILE *f = fopen("/proc/self/status", "r");
    char l[256];
    long a = 0, fl = 0;
    while (f && fgets(l, sizeof l, f)) {
        sscanf(l, "RssAnon: %ld", &a);
        sscanf(l, "RssFile: %ld", &fl);
    }
    if (f)
        fclose(f);
    printf("%-14s private %8ld KiB %7.1f B/vector   mapped file %8ld KiB %7.1f B/vector\n",
           when, a, (double)a * 1024.0 / n, fl, (double)fl * 1024.0 / n);
}

static int emit(const json_t *hit, void *arg)
{
    (void)hit;
    ++*(int *)arg;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cold_mem STORE QUERY.json [ROWS]\n");
        return 2;
    }
    struct vs_store *s = NULL;
    struct vs_query *q = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_store_open(argv[1], &s, &d) != VS_OK) {
        fprintf(stderr, "cold_mem: %s\n", d.detail);
        return 1;
    }
    double n = argc > 3 ? atof(argv[3]) : (double)vs_store_count(s);
    if (n < 1)
        n = 1;
    rss("store open", n);
    struct vs_query_opts o = {.k = 10, .batch = 1, .threads = 1, .simd = -1, .no_metadata = 1};
    json_error_t je;
    json_t *rec = json_load_file(argv[2], JSON_DISABLE_EOF_CHECK, &je);
    uint64_t nh = 0, ne = 0;
    int hits = 0, rc = 1;
    if (!rec || vs_query_new(s, &o, &q, &d) != VS_OK) {
        fprintf(stderr, "cold_mem: %s\n", rec ? d.detail : je.text);
        goto done;
    }
    rss("query set up", n);
    if (vs_query_add(q, rec, &d) != VS_OK || vs_query_run(q, emit, &hits, &nh, &ne, &d) != VS_OK) {
        fprintf(stderr, "cold_mem: %s\n", d.detail);
        goto done;
    }
    rss("one query", n);
    rc = hits > 0 ? 0 : 1;
done:
    json_decref(rec);
    vs_query_free(q);
    vs_store_close(s);
    return rc;
}
