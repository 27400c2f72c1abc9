/* embed_search.c: embed documents, store them, embed a query, search.
 *
 *   embed_search STORE MODEL "QUERY" < docs.txt
 *
 * Each input line is one document. MODEL is any embedder vs-embed takes
 * ("hash", a BERT or USE-lite folder, "openai:..."); the store pins its
 * identity. Documents are embedded with the document role, the query with
 * the query role, and the 3 nearest documents printed as
 * "RANK ID SCORE TEXT". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vecstore.h>

#define MAXDOCS 1000

static int fail(const char *what, const struct vs_error *err)
{
    fprintf(stderr, "embed_search: %s: %s (%s)\n", what, err->detail, vs_errname(err->status));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed_search STORE MODEL QUERY < docs.txt\n");
        return 2;
    }
    static char *docs[MAXDOCS];
    char line[8192];
    size_t n = 0;
    while (n < MAXDOCS && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        size_t len = strlen(line) + 1;
        if (len > 1 && !(docs[n++] = malloc(len)))
            return 1;
        if (len > 1)
            memcpy(docs[n - 1], line, len);
    }
    struct vs_error err;
    vs_encoder *enc;
    if (vs_encoder_open(argv[2], 0, NULL, &enc, &err) != VS_OK)
        return fail("model", &err);
    size_t dim = vs_encoder_dim(enc);
    float *vecs = malloc((n + 1) * dim * sizeof *vecs);
    if (!vecs)
        return 1;
    if (vs_encoder_embed(enc, VS_ROLE_DOCUMENT, (const char *const *)docs, n, vecs, NULL, &err) != VS_OK)
        return fail("embed", &err);
    struct vs_db_config cfg;
    vs_db_config_init(&cfg, sizeof cfg);
    cfg.dim = dim;
    cfg.model = vs_encoder_identity(enc);
    vs_db *db;
    if (vs_db_open(argv[1], VS_DB_CREATE, &cfg, 0, &db, &err) != VS_OK)
        return fail("open", &err);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%zu", i + 1);
        struct vs_record rec = {id, vecs + i * dim, dim, docs[i], NULL, NULL};
        if (vs_db_upsert(db, &rec, &err) != VS_OK)
            return fail("upsert", &err);
    }
    if (vs_db_commit(db, &err) != VS_OK)
        return fail("commit", &err);
    const char *query = argv[3];
    float *qv = vecs + n * dim;
    if (vs_encoder_embed(enc, VS_ROLE_QUERY, &query, 1, qv, NULL, &err) != VS_OK)
        return fail("embed query", &err);
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_VECTOR;
    o.k = 3;
    struct vs_search_query q = {"q", qv, dim, NULL, NULL, 0};
    vs_results *res;
    if (vs_db_search(db, &q, &o, &res, &err) != VS_OK)
        return fail("search", &err);
    printf("model %s, %zu documents\n", vs_encoder_identity(enc), n);
    for (size_t i = 0; i < vs_results_count(res, 0); i++) {
        const struct vs_hit *h = vs_results_hit(res, 0, i);
        printf("%zu %s %.4f %s\n", h->rank, h->id, h->score, h->text);
    }
    vs_results_free(res);
    vs_db_close(db);
    vs_encoder_free(enc);
    free(vecs);
    for (size_t i = 0; i < n; i++)
        free(docs[i]);
    return 0;
}
