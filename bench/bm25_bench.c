/* bm25_bench.c: index a BEIR collection with libvecstore's BM25 and write a
 * TREC run of its test queries; timings go to stderr as one JSON object.
 *
 *   bm25_bench [options] DATASET_DIR > run.trec
 *     --analyzer SPEC   analyzer spec (default: the library default)
 *     --k1 X --b X      BM25 parameters (default: the library defaults)
 *     --depth N         hits per query in the run (default 1000)
 *     --segments N      split the corpus into N segment indexes searched
 *                       together (default 1)
 *     --repeat N        run the query set N times for timing (default 1)
 *     --all-queries     every query of queries.jsonl, not only those judged
 *     --exhaustive      score every posting (no top-k pruning), to measure
 *                       what pruning gains; the hits are the same
 *     --prune-all       prune every query of optional terms, however short
 *                       its posting lists (the library prunes from 65,536
 *                       postings); the hits are the same
 *
 * DATASET_DIR holds corpus.jsonl (_id, title, text: title + " " + text is
 * indexed, as BEIR does), queries.jsonl (_id, text) and qrels/test.tsv.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vs_bm25.h"
#include "bm25_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc, const struct vs_diag *d)
{
    fprintf(stderr, "bm25_bench: error: %s: %s%s%s\n", what,
            vs_status_message(rc), d && d->detail[0] ? ": " : "",
            d ? d->detail : "");
    exit(1);
}

struct doc {
    char *id, *text;
};

static struct doc *read_jsonl(const char *path, int title, size_t *n)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "bm25_bench: error: cannot open '%s'\n", path);
        exit(1);
    }
    size_t cap = 1024, m = 0;
    struct doc *v = malloc(cap * sizeof *v);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &lcap, fp)) > 0) {
        lineno++;
        json_error_t e;
        json_t *o = json_loadb(line, (size_t)len, 0, &e);
        if (!o) {
            fprintf(stderr, "bm25_bench: error: %s:%ld: %s\n", path, lineno,
                    e.text);
            exit(1);
        }
        const char *id = json_string_value(json_object_get(o, "_id"));
        const char *t = json_string_value(json_object_get(o, "title"));
        const char *x = json_string_value(json_object_get(o, "text"));
        if (!id) {
            fprintf(stderr, "bm25_bench: error: %s:%ld: no _id\n", path, lineno);
            exit(1);
        }
        if (m == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[m].id = strdup(id);
        size_t tl = title && t ? strlen(t) : 0, xl = x ? strlen(x) : 0;
        v[m].text = malloc(tl + xl + 2);
        memcpy(v[m].text, tl ? t : "", tl);
        v[m].text[tl] = ' ';
        memcpy(v[m].text + tl + 1, x ? x : "", xl);
        v[m].text[tl + 1 + xl] = '\0';
        m++;
        json_decref(o);
    }
    free(line);
    fclose(fp);
    *n = m;
    return v;
}

static int judged(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *spec = NULL, *dir = NULL;
    struct vs_bm25_params p = {VS_BM25_K1_DEFAULT, VS_BM25_B_DEFAULT};
    long depth = 1000, nseg = 1, repeat = 1;
    int all = 0, prune = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--analyzer") == 0 && i + 1 < argc)
            spec = argv[++i];
        else if (strcmp(a, "--k1") == 0 && i + 1 < argc)
            p.k1 = strtod(argv[++i], NULL);
        else if (strcmp(a, "--b") == 0 && i + 1 < argc)
            p.b = strtod(argv[++i], NULL);
        else if (strcmp(a, "--depth") == 0 && i + 1 < argc)
            depth = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--segments") == 0 && i + 1 < argc)
            nseg = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--repeat") == 0 && i + 1 < argc)
            repeat = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--all-queries") == 0)
            all = 1;
        else if (strcmp(a, "--exhaustive") == 0)
            prune = 0;
        else if (strcmp(a, "--prune-all") == 0)
            prune = 2;
        else if (a[0] != '-' && !dir)
            dir = a;
        else {
            fprintf(stderr, "usage: bm25_bench [--analyzer SPEC] [--k1 X] [--b X] "
                            "[--depth N] [--segments N] [--repeat N] "
                            "[--all-queries] [--exhaustive | --prune-all] DATASET_DIR\n");
            return 2;
        }
    }
    if (!dir || depth < 1 || nseg < 1 || repeat < 1) {
        fprintf(stderr, "bm25_bench: error: need DATASET_DIR and positive numbers\n");
        return 2;
    }
    char path[4096];
    size_t ndocs, nq;
    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    struct doc *docs = read_jsonl(path, 1, &ndocs);
    snprintf(path, sizeof path, "%s/queries.jsonl", dir);
    struct doc *qs = read_jsonl(path, 0, &nq);
    /* judged query ids */
    snprintf(path, sizeof path, "%s/qrels/test.tsv", dir);
    char **jq = NULL;
    size_t njq = 0;
    FILE *fp = fopen(path, "r");
    if (fp) {
        char qid[256], did[256];
        int rel;
        char head[512];
        if (!fgets(head, sizeof head, fp))
            head[0] = '\0';
        while (fscanf(fp, "%255s %255s %d", qid, did, &rel) == 3)
            if (!judged(jq, njq, qid)) {
                jq = realloc(jq, (njq + 1) * sizeof *jq);
                jq[njq++] = strdup(qid);
            }
        fclose(fp);
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    /* index: nseg builders over consecutive slices */
    double t0 = now();
    struct vs_bm25 **ix = calloc((size_t)nseg, sizeof *ix);
    size_t *base = calloc((size_t)nseg + 1, sizeof *base);
    size_t bytes = 0;
    for (long s = 0; s < nseg; s++) {
        size_t from = ndocs * (size_t)s / (size_t)nseg,
               to = ndocs * (size_t)(s + 1) / (size_t)nseg;
        base[s] = from;
        struct vs_bm25_builder *b;
        int rc = vs_bm25_builder_new(spec, &b, &d);
        if (rc)
            die("analyzer", rc, &d);
        for (size_t i = from; i < to; i++)
            if ((rc = vs_bm25_builder_add(b, i - from, docs[i].text,
                                          strlen(docs[i].text), &d)))
                die("index", rc, &d);
        void *buf;
        size_t len;
        if ((rc = vs_bm25_builder_finish(b, &buf, &len, &d)))
            die("finish", rc, &d);
        vs_bm25_builder_free(b);
        bytes += len;
        if ((rc = vs_bm25_open(buf, len, VS_BM25_OWN, &ix[s], &d)))
            die("open", rc, &d);
    }
    base[nseg] = ndocs;
    double t_index = now() - t0;

    struct vs_bm25_view *views = calloc((size_t)nseg, sizeof *views);
    for (long s = 0; s < nseg; s++)
        views[s].index = ix[s];
    struct vs_analyzer *an;
    int rc = vs_analyzer_new(vs_bm25_analyzer(ix[0]), &an, &d);
    if (rc)
        die("analyzer", rc, &d);
    struct vs_bm25_hit *hits = malloc((size_t)depth * sizeof *hits);
    struct vs_bm25_scratch *sc = vs_bm25_scratch_new();
    size_t nrun = 0;
    double t_query = 0;
    unsigned long long postings = 0; /* decoded, over every pass */
    for (long r = 0; r < repeat; r++) {
        int write = r == 0;
        for (size_t i = 0; i < nq; i++) {
            if (!all && jq && !judged(jq, njq, qs[i].id))
                continue;
            double t1 = now();
            struct vs_bm25_query *q;
            if ((rc = vs_bm25_query_parse(an, qs[i].text, &q, &d)))
                die("query", rc, &d);
            size_t nh;
            struct vs_bm25_search_stats st;
            if ((rc = vs_bm25_search_opt(views, (size_t)nseg, q, &p, (size_t)depth,
                                         sc, hits, &nh, &st, prune, &d)))
                die("search", rc, &d);
            postings += st.postings;
            vs_bm25_query_free(q);
            t_query += now() - t1;
            nrun++;
            if (!write)
                continue;
            for (size_t h = 0; h < nh; h++)
                printf("%s Q0 %s %zu %.6f vecstore-bm25\n", qs[i].id,
                       docs[base[hits[h].view] + hits[h].row].id, h + 1,
                       hits[h].score);
        }
    }
    fprintf(stderr,
            "{\"docs\":%zu,\"segments\":%ld,\"index_s\":%.4f,\"index_bytes\":%zu,"
            "\"queries\":%zu,\"query_s\":%.4f,\"qps\":%.1f,\"analyzer\":\"%s\","
            "\"k1\":%g,\"b\":%g,\"depth\":%ld,\"pruning\":%d,"
            "\"postings_per_query\":%.1f}\n",
            ndocs, nseg, t_index, bytes, nrun, t_query,
            t_query > 0 ? (double)nrun / t_query : 0.0, vs_bm25_analyzer(ix[0]),
            p.k1, p.b, depth, prune, nrun ? (double)postings / (double)nrun : 0.0);
    vs_bm25_scratch_free(sc);
    free(hits);
    vs_analyzer_free(an);
    for (long s = 0; s < nseg; s++)
        vs_bm25_close(ix[s]);
    free(ix);
    free(views);
    free(base);
    for (size_t i = 0; i < ndocs; i++) {
        free(docs[i].id);
        free(docs[i].text);
    }
    for (size_t i = 0; i < nq; i++) {
        free(qs[i].id);
        free(qs[i].text);
    }
    for (size_t i = 0; i < njq; i++)
        free(jq[i]);
    free(jq);
    free(docs);
    free(qs);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
