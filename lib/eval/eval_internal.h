/* eval_internal.h: structures shared by the eval_*.c files (private). */
#ifndef VS_EVAL_INTERNAL_H
#define VS_EVAL_INTERNAL_H

#include "vs_eval.h"

struct vs_eval_hit {
    char *docno;
    double score;
    double elapsed_us;
    int has_elapsed;
    long line;
};

/* One query of a run: hits in trec_eval order (score descending, then
 * docno descending by strcmp). */
struct vs_eval_rq {
    char *qid;
    struct vs_eval_hit *hits;
    size_t n;
};

struct vs_eval_run {
    char *name;
    char *runid;
    const char *format;
    struct vs_eval_rq *q; /* sorted by qid (strcmp) */
    size_t nq;
    size_t nhits;
    struct vs_eval_hit *all; /* storage of every hit */
    int doc_level;           /* ids mapped to documents at load */
    size_t merged;           /* hits dropped as a better chunk's document */
};

/* Results: one row per query, values per measure (p: value present). */
struct vs_eval_row {
    char *qid;
    double *v;
    unsigned char *p;
};

struct vs_eval_extra {
    char *name;
    double v;
};

struct vs_eval_result {
    char *name;
    int has_runid, has_num_q;
    int ranked; /* made by vs_eval_evaluate: every value is defined */
    char **mname;
    int *mcount;
    size_t nm;
    struct vs_eval_row *rows;
    size_t nr, rcap;
    struct vs_eval_extra *ex;
    size_t nex;
};

/* Add a measure column (count: summed and printed as an integer), and a
 * row for qid with every value absent. */
int vs_eval_result_add_measure_(struct vs_eval_result *r, const char *name,
                                int count);
struct vs_eval_row *vs_eval_result_add_row_(struct vs_eval_result *r,
                                            const char *qid);

/* Lookup a query of a run by qid (binary search), or NULL. */
const struct vs_eval_rq *vs_eval_run_query(const struct vs_eval_run *r,
                                           const char *qid);

/* A growable string buffer used by the judge and gate code. */
int vs_eval_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
