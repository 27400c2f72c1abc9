/* eval_stats.c: paired comparison of runs (randomization test, Student t),
 * the regularized incomplete beta function, and ANN overlap recall. */
#include "eval_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a small seeded generator, enough for sign flips. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double vs_eval_randomization_p(const double *d, size_t n, long permutations,
                               uint64_t seed)
{
    if (n == 0)
        return 1.0;
    double obs = 0;
    for (size_t i = 0; i < n; i++)
        obs += d[i];
    obs = fabs(obs);
    /* A small tolerance so that sums equal to the observed one but for
     * rounding count as "at least as extreme". */
    double eps = 1e-12 * (obs > 1 ? obs : 1);
    if (n < 63 && permutations > 0 && (1ull << n) <= (uint64_t)permutations) {
        uint64_t total = 1ull << n, count = 0;
        for (uint64_t mask = 0; mask < total; mask++) {
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += (mask >> i) & 1 ? -d[i] : d[i];
            if (fabs(s) >= obs - eps)
                count++;
        }
        return (double)count / (double)total;
    }
    uint64_t state = seed, count = 0;
    for (long p = 0; p < permutations; p++) {
        double s = 0;
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 64 == 0)
                bits = next_rand(&state);
            s += bits & 1 ? -d[i] : d[i];
            bits >>= 1;
        }
        if (fabs(s) >= obs - eps)
            count++;
    }
    return ((double)count + 1.0) / ((double)permutations + 1.0);
}

/* Continued fraction for the incomplete beta (modified Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, dd = 1 - qab * x / qap;
    if (fabs(dd) < tiny)
        dd = tiny;
    dd = 1 / dd;
    double h = dd;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        dd = 1 + aa * dd;
        if (fabs(dd) < tiny)
            dd = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        dd = 1 / dd;
        h *= dd * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        dd = 1 + aa * dd;
        if (fabs(dd) < tiny)
            dd = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        dd = 1 / dd;
        double del = dd * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

double vs_eval_betainc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
                 b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2))
        return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, 1 - x) / b;
}

double vs_eval_t_cdf(double t, double df)
{
    if (isinf(t))
        return t > 0 ? 1 : 0;
    double x = df / (df + t * t);
    double tail = 0.5 * vs_eval_betainc(df / 2, 0.5, x);
    return t > 0 ? 1 - tail : tail;
}

double vs_eval_ttest_p(const double *d, size_t n)
{
    if (n < 2)
        return 1.0;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += d[i];
    mean /= (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (d[i] - mean) * (d[i] - mean);
    double sd = sqrt(ss / (double)(n - 1));
    if (sd == 0)
        return mean == 0 ? 1.0 : 0.0;
    double t = mean / (sd / sqrt((double)n));
    double df = (double)(n - 1);
    /* two-sided: P(|T| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2) */
    return vs_eval_betainc(df / 2, 0.5, df / (df + t * t));
}

int vs_eval_compare(const struct vs_eval_result *run,
                    const struct vs_eval_result *base, const char *name,
                    long permutations, uint64_t seed, struct vs_eval_cmp *out)
{
    memset(out, 0, sizeof *out);
    long mr = vs_eval_result_find(run, name), mb = vs_eval_result_find(base, name);
    if (mr < 0 || mb < 0)
        return VS_E_NOTFOUND;
    size_t nr = vs_eval_result_queries(run), nb = vs_eval_result_queries(base);
    double *d = malloc((nr ? nr : 1) * sizeof *d);
    if (!d)
        return VS_E_NOMEM;
    size_t n = 0;
    double sr = 0, sb = 0;
    /* both results list queries in qid order (strcmp) */
    for (size_t i = 0, j = 0; i < nr && j < nb;) {
        int c = strcmp(vs_eval_result_qid(run, i), vs_eval_result_qid(base, j));
        if (c < 0)
            i++;
        else if (c > 0)
            j++;
        else {
            double a = vs_eval_result_value(run, i, (size_t)mr);
            double b = vs_eval_result_value(base, j, (size_t)mb);
            d[n++] = a - b;
            sr += a;
            sb += b;
            if (a > b)
                out->improved++;
            else if (a < b)
                out->worse++;
            else
                out->ties++;
            i++;
            j++;
        }
    }
    if (n == 0) {
        free(d);
        return VS_E_NOTFOUND;
    }
    out->n = (long)n;
    out->run_mean = sr / (double)n;
    out->base_mean = sb / (double)n;
    out->diff = out->run_mean - out->base_mean;
    out->p_randomization = vs_eval_randomization_p(d, n, permutations, seed);
    out->p_ttest = vs_eval_ttest_p(d, n);
    free(d);
    return VS_OK;
}

json_t *vs_eval_compare_json(const struct vs_eval_result *run,
                             const struct vs_eval_result *base,
                             long permutations, uint64_t seed)
{
    json_t *cmp = json_object();
    for (size_t m = 0; cmp && m < vs_eval_result_measures(run); m++) {
        const char *name = vs_eval_result_measure(run, m);
        struct vs_eval_cmp c;
        if (run->mcount[m] ||
            vs_eval_compare(run, base, name, permutations, seed, &c) != VS_OK)
            continue;
        json_t *x = json_pack("{s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I}",
                              "run", c.run_mean, "baseline", c.base_mean,
                              "diff", c.diff, "p_randomization", c.p_randomization,
                              "p_ttest", c.p_ttest, "n", (json_int_t)c.n,
                              "improved", (json_int_t)c.improved,
                              "worse", (json_int_t)c.worse,
                              "ties", (json_int_t)c.ties);
        if (!x || json_object_set_new(cmp, name, x)) {
            json_decref(cmp);
            return NULL;
        }
    }
    return cmp;
}

int vs_eval_ann(const struct vs_eval_run *approx, const struct vs_eval_run *exact,
                long k, double *recall, long *shortfall, long *nq)
{
    double sum = 0;
    long short_ = 0, n = 0;
    for (size_t i = 0; i < exact->nq; i++) {
        const struct vs_eval_rq *e = &exact->q[i];
        const struct vs_eval_rq *a = vs_eval_run_query(approx, e->qid);
        size_t ke = e->n < (size_t)k ? e->n : (size_t)k;
        size_t ka = a ? (a->n < (size_t)k ? a->n : (size_t)k) : 0;
        n++;
        if (ka < (size_t)k)
            short_++;
        if (ke == 0) {
            sum += 1.0; /* nothing to find, nothing missed */
            continue;
        }
        size_t hit = 0;
        for (size_t x = 0; x < ka; x++)
            for (size_t y = 0; y < ke; y++)
                if (strcmp(a->hits[x].docno, e->hits[y].docno) == 0) {
                    hit++;
                    break;
                }
        sum += (double)hit / (double)ke;
    }
    *recall = n ? sum / (double)n : 0;
    *shortfall = short_;
    *nq = n;
    return VS_OK;
}
