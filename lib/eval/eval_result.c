/* eval_result.c: evaluation results (per-query rows, means, named
 * summary values) and their output as trec_eval TSV and JSON. */
#include "eval_internal.h"
#include "vs_ndjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ------------------------------------------------------------ */

int vs_eval_result_new(const char *name, struct vs_eval_result **out)
{
    struct vs_eval_result *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name ? name : ""))) {
        free(r);
        return VS_E_NOMEM;
    }
    *out = r;
    return VS_OK;
}

void vs_eval_result_free(struct vs_eval_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nm; i++)
        free(r->mname[i]);
    for (size_t i = 0; i < r->nr; i++) {
        free(r->rows[i].qid);
        free(r->rows[i].v);
        free(r->rows[i].p);
    }
    for (size_t i = 0; i < r->nex; i++)
        free(r->ex[i].name);
    free(r->ex);
    free(r->rows);
    free(r->mname);
    free(r->mcount);
    free(r->name);
    free(r);
}

int vs_eval_result_add_measure_(struct vs_eval_result *r, const char *name,
                              int count)
{
    char **nn = realloc(r->mname, (r->nm + 1) * sizeof *nn);
    if (!nn)
        return VS_E_NOMEM;
    r->mname = nn;
    int *nc = realloc(r->mcount, (r->nm + 1) * sizeof *nc);
    if (!nc)
        return VS_E_NOMEM;
    r->mcount = nc;
    for (size_t i = 0; i < r->nr; i++) {
        double *v = realloc(r->rows[i].v, (r->nm + 1) * sizeof *v);
        if (!v)
            return VS_E_NOMEM;
        r->rows[i].v = v;
        v[r->nm] = 0;
        unsigned char *p = realloc(r->rows[i].p, r->nm + 1);
        if (!p)
            return VS_E_NOMEM;
        r->rows[i].p = p;
        p[r->nm] = 0;
    }
    if (!(r->mname[r->nm] = strdup(name)))
        return VS_E_NOMEM;
    r->mcount[r->nm] = count;
    r->nm++;
    return VS_OK;
}

struct vs_eval_row *vs_eval_result_add_row_(struct vs_eval_result *r, const char *qid)
{
    if (r->nr == r->rcap) {
        size_t nc = r->rcap ? r->rcap * 2 : 64;
        struct vs_eval_row *nr = realloc(r->rows, nc * sizeof *nr);
        if (!nr)
            return NULL;
        r->rows = nr;
        r->rcap = nc;
    }
    struct vs_eval_row *w = &r->rows[r->nr];
    w->qid = strdup(qid);
    w->v = calloc(r->nm ? r->nm : 1, sizeof *w->v);
    w->p = calloc(r->nm ? r->nm : 1, 1);
    if (!w->qid || !w->v || !w->p) {
        free(w->qid);
        free(w->v);
        free(w->p);
        return NULL;
    }
    r->nr++;
    return w;
}

size_t vs_eval_result_measures(const struct vs_eval_result *r) { return r->nm; }
const char *vs_eval_result_measure(const struct vs_eval_result *r, size_t m) { return r->mname[m]; }
size_t vs_eval_result_queries(const struct vs_eval_result *r) { return r->nr; }
const char *vs_eval_result_qid(const struct vs_eval_result *r, size_t q) { return r->rows[q].qid; }
double vs_eval_result_value(const struct vs_eval_result *r, size_t q, size_t m) { return r->rows[q].v[m]; }
long vs_eval_result_num_q(const struct vs_eval_result *r) { return (long)r->nr; }

long vs_eval_result_find(const struct vs_eval_result *r, const char *name)
{
    for (size_t i = 0; i < r->nm; i++)
        if (strcmp(r->mname[i], name) == 0)
            return (long)i;
    return -1;
}

double vs_eval_result_mean(const struct vs_eval_result *r, size_t m)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->nr; i++)
        if (r->rows[i].p[m]) {
            sum += r->rows[i].v[m];
            n++;
        }
    if (r->mcount[m])
        return sum;
    return n ? sum / (double)n : 0.0;
}

int vs_eval_result_set_extra(struct vs_eval_result *r, const char *name,
                             double value)
{
    for (size_t i = 0; i < r->nex; i++)
        if (strcmp(r->ex[i].name, name) == 0) {
            r->ex[i].v = value;
            return VS_OK;
        }
    struct vs_eval_extra *ne = realloc(r->ex, (r->nex + 1) * sizeof *ne);
    if (!ne)
        return VS_E_NOMEM;
    r->ex = ne;
    if (!(r->ex[r->nex].name = strdup(name)))
        return VS_E_NOMEM;
    r->ex[r->nex].v = value;
    r->nex++;
    return VS_OK;
}

int vs_eval_result_get(const struct vs_eval_result *r, const char *name,
                       double *value)
{
    long m = vs_eval_result_find(r, name);
    if (m >= 0) {
        size_t n = 0;
        for (size_t i = 0; i < r->nr; i++)
            n += r->rows[i].p[m];
        if (n == 0 && !r->mcount[m] && !r->ranked)
            return 0;
        *value = vs_eval_result_mean(r, (size_t)m);
        return 1;
    }
    if (strcmp(name, "num_q") == 0) {
        *value = (double)r->nr;
        return 1;
    }
    for (size_t i = 0; i < r->nex; i++)
        if (strcmp(r->ex[i].name, name) == 0) {
            *value = r->ex[i].v;
            return 1;
        }
    return 0;
}

int vs_eval_result_add_row(struct vs_eval_result *r, const char *qid,
                           const char *const *names, const double *values,
                           const int *present, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vs_eval_result_find(r, names[i]) < 0) {
            int st = vs_eval_result_add_measure_(r, names[i], 0);
            if (st != VS_OK)
                return st;
        }
    struct vs_eval_row *w = vs_eval_result_add_row_(r, qid);
    if (!w)
        return VS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        long m = vs_eval_result_find(r, names[i]);
        w->v[m] = values[i];
        w->p[m] = (unsigned char)(present ? present[i] != 0 : 1);
    }
    return VS_OK;
}

/* ---- output ------------------------------------------------------------- */

static int wr(FILE *fp, int n)
{
    return n < 0 || ferror(fp) ? vs_status_from_errno(errno) : VS_OK;
}

static int is_count_name(const char *name)
{
    return strcmp(name, "k_shortfall") == 0;
}

int vs_eval_result_write_tsv(FILE *fp, const struct vs_eval_result *r,
                             const char *runid, int per_query)
{
    int st;
    if (per_query)
        for (size_t q = 0; q < r->nr; q++)
            for (size_t m = 0; m < r->nm; m++) {
                if (!r->rows[q].p[m])
                    continue;
                if (r->mcount[m])
                    st = wr(fp, fprintf(fp, "%-22s\t%s\t%ld\n", r->mname[m],
                                        r->rows[q].qid, (long)r->rows[q].v[m]));
                else
                    st = wr(fp, fprintf(fp, "%-22s\t%s\t%6.4f\n", r->mname[m],
                                        r->rows[q].qid, r->rows[q].v[m]));
                if (st != VS_OK)
                    return st;
            }
    if (r->has_runid && (st = wr(fp, fprintf(fp, "%-22s\tall\t%s\n", "runid",
                                             runid ? runid : r->name))) != VS_OK)
        return st;
    if (r->has_num_q && (st = wr(fp, fprintf(fp, "%-22s\tall\t%ld\n", "num_q",
                                             (long)r->nr))) != VS_OK)
        return st;
    for (size_t m = 0; m < r->nm; m++) {
        double v = vs_eval_result_mean(r, m);
        if (r->mcount[m])
            st = wr(fp, fprintf(fp, "%-22s\tall\t%ld\n", r->mname[m], (long)v));
        else
            st = wr(fp, fprintf(fp, "%-22s\tall\t%6.4f\n", r->mname[m], v));
        if (st != VS_OK)
            return st;
    }
    for (size_t i = 0; i < r->nex; i++) {
        if (is_count_name(r->ex[i].name))
            st = wr(fp, fprintf(fp, "%-22s\tall\t%ld\n", r->ex[i].name, (long)r->ex[i].v));
        else
            st = wr(fp, fprintf(fp, "%-22s\tall\t%6.4f\n", r->ex[i].name, r->ex[i].v));
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

static json_t *num_json(double v, int count)
{
    if (count)
        return json_integer((json_int_t)llround(v));
    return json_real(v);
}

json_t *vs_eval_result_json(const struct vs_eval_result *r, size_t q)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (q == (size_t)-1) {
        if (r->has_num_q)
            json_object_set_new(o, "num_q", json_integer((json_int_t)r->nr));
        for (size_t m = 0; m < r->nm; m++) {
            double v;
            if (vs_eval_result_get(r, r->mname[m], &v))
                json_object_set_new(o, r->mname[m], num_json(v, r->mcount[m]));
            else
                json_object_set_new(o, r->mname[m], json_null());
        }
        for (size_t i = 0; i < r->nex; i++)
            json_object_set_new(o, r->ex[i].name,
                                num_json(r->ex[i].v, is_count_name(r->ex[i].name)));
        return o;
    }
    for (size_t m = 0; m < r->nm; m++)
        json_object_set_new(o, r->mname[m],
                            r->rows[q].p[m] ? num_json(r->rows[q].v[m], r->mcount[m])
                                            : json_null());
    return o;
}
