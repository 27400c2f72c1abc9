/* hybrid_search.c: one hybrid (vector + BM25 text) query over a store.
 *
 *   hybrid_search STORE "QUERY TEXT" X1,X2,...,XD [K]
 *
 * Fuses the two sides with reciprocal rank fusion and prints one line per
 * hit: "RANK ID SCORE vector=V|- text=T|- TEXT". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vecstore.h>

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: hybrid_search STORE TEXT X1,X2,...,XD [K]\n");
        return 2;
    }
    float vec[4096];
    size_t dim = 0;
    for (char *p = argv[3], *end; *p && dim < 4096; p = *end ? end + 1 : end) {
        vec[dim++] = strtof(p, &end);
        if (end == p) {
            fprintf(stderr, "hybrid_search: bad number in '%s'\n", argv[3]);
            return 2;
        }
    }
    struct vs_error err;
    vs_db *db;
    if (vs_db_open(argv[1], VS_DB_READONLY, NULL, 0, &db, &err) != VS_OK) {
        fprintf(stderr, "hybrid_search: %s: %s\n", argv[1], err.detail);
        return 1;
    }
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_HYBRID;
    o.fusion = VS_FUSION_RRF;
    o.k = argc == 5 ? (size_t)atol(argv[4]) : 5;
    struct vs_search_query q = {"q", vec, dim, argv[2], NULL, 0};
    vs_results *res;
    if (vs_db_search(db, &q, &o, &res, &err) != VS_OK) {
        fprintf(stderr, "hybrid_search: %s (%s)\n", err.detail, vs_errname(err.status));
        vs_db_close(db);
        return 1;
    }
    for (size_t i = 0; i < vs_results_count(res, 0); i++) {
        const struct vs_hit *h = vs_results_hit(res, 0, i);
        printf("%zu %s %.6f", h->rank, h->id, h->score);
        if (h->has_score_vector)
            printf(" vector=%.4f", h->score_vector);
        else
            printf(" vector=-");
        if (h->has_score_text)
            printf(" text=%.4f", h->score_text);
        else
            printf(" text=-");
        printf(" %s\n", h->text ? h->text : "");
    }
    vs_results_free(res);
    vs_db_close(db);
    return 0;
}
