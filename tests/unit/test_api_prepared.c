/* test_api_prepared.c: the prepared searches a handle keeps (api_search.c,
 * one per set of options, reused by the next search with the same ones).
 * Up to VS_API_PREPARED_MAX are kept; a search with new options when that
 * many are kept replaces the idle one used longest ago, so a caller that
 * cycles through more option sets (k per call) keeps the recent ones
 * instead of setting up a new search on every call. */
#include <ftw.h>
#include <stdint.h>
#include <unistd.h>

#include "api_internal.h"
#include "test.h"

enum { DIM = 4, ROWS = 60 };

static char root[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static vs_db *make_store(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/s.vs", root);
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.dim = DIM;
    c.metric = "l2";
    vs_db *db = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_db_open(path, VS_DB_WRITE | VS_DB_CREATE, &c, 0, &db, &err), VS_OK);
    for (int i = 0; i < ROWS; i++) {
        float v[DIM] = {(float)i, (float)(i % 7), 1.0f, (float)(i % 3)};
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        struct vs_record r = {id, v, DIM, NULL, NULL, NULL};
        CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_OK);
    }
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    return db;
}

static void search_k(vs_db *db, size_t k)
{
    float q[DIM] = {3, 1, 1, 0};
    struct vs_search_query sq = {.vector = q, .dim = DIM};
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.k = k;
    o.mode = VS_SEARCH_VECTOR;
    vs_results *r = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_db_search(db, &sq, &o, &r, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(r, 0), k);
    vs_results_free(r);
}

/* 1 when a prepared search of db was made from the options key (keys,
 * not pointers: a new prepared search may get a freed one's address) */
static int kept(const vs_db *db, const char *key)
{
    for (size_t i = 0; i < db->nprep; i++)
        if (strcmp(db->prep[i].key, key) == 0)
            return 1;
    return 0;
}

/* the key of db's idle prepared search used longest ago (a copy) */
static char *oldest_key(const vs_db *db)
{
    size_t oldest = 0;
    for (size_t i = 1; i < db->nprep; i++)
        if (db->prep[i].used < db->prep[oldest].used)
            oldest = i;
    return strdup(db->prep[oldest].key);
}

static void test_lru(void)
{
    vs_db *db = make_store();
    /* k 1..12: 12 option sets, the last 8 kept */
    for (size_t k = 1; k <= 12; k++)
        search_k(db, k);
    CHECK_EQ_INT(db->nprep, VS_API_PREPARED_MAX);
    char *before[VS_API_PREPARED_MAX];
    struct vs_qtext *made[VS_API_PREPARED_MAX];
    for (size_t i = 0; i < db->nprep; i++) {
        before[i] = strdup(db->prep[i].key);
        made[i] = db->prep[i].t;
        CHECK(!db->prep[i].busy);
    }
    /* k 5..12 again: every one is reused, none set up anew */
    for (size_t k = 5; k <= 12; k++)
        search_k(db, k);
    CHECK_EQ_INT(db->nprep, VS_API_PREPARED_MAX);
    for (size_t i = 0; i < VS_API_PREPARED_MAX; i++) {
        CHECK(kept(db, before[i]));
        CHECK(db->prep[i].t == made[i]);
    }
    /* the one used longest ago now is k 5's; k 1 takes its place */
    char *gone = oldest_key(db);
    search_k(db, 1);
    CHECK_EQ_INT(db->nprep, VS_API_PREPARED_MAX);
    CHECK(!kept(db, gone));
    size_t still = 0;
    for (size_t i = 0; i < VS_API_PREPARED_MAX; i++)
        still += kept(db, before[i]);
    CHECK_EQ_INT(still, VS_API_PREPARED_MAX - 1);
    /* and k 5 comes back in place of k 6's, the oldest then */
    char *next = oldest_key(db);
    CHECK(strcmp(next, gone) != 0);
    search_k(db, 5);
    CHECK_EQ_INT(db->nprep, VS_API_PREPARED_MAX);
    CHECK(kept(db, gone));
    CHECK(!kept(db, next));
    still = 0;
    for (size_t i = 0; i < VS_API_PREPARED_MAX; i++)
        still += kept(db, before[i]);
    CHECK_EQ_INT(still, VS_API_PREPARED_MAX - 1);
    free(gone);
    free(next);
    for (size_t i = 0; i < VS_API_PREPARED_MAX; i++)
        free(before[i]);
    CHECK_EQ_INT(vs_db_close(db), VS_OK);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/vs_api_prepared_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_lru);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return vs_test_done();
}
