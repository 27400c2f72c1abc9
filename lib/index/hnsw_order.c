/* hnsw_order.c: graph order, the renumbering of a graph's nodes before a
 * segment is written (vs_hnsw_order, vs_hnsw_renumbered; see vs_hnsw.h):
 * rows numbered in the order a walk meets them sit near their neighbours,
 * which shrinks the graph's gaps on disk and the walk's cache misses. */
#include "hnsw_internal.h"

#include <stdlib.h>
#include <string.h>

/* a neighbour of the node being numbered, by distance to it */
struct kid {
    float d;
    uint32_t id;
};

/* kids by (d, id), closest first: an insertion sort (at most M0 of them) */
static void sort_kids(struct kid *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct kid x = a[i];
        size_t j = i;
        while (j > 0 && (a[j - 1].d > x.d || (a[j - 1].d == x.d && a[j - 1].id > x.id))) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

int vs_hnsw_order(struct vs_hnsw *h, const float *vecs, uint32_t *perm, struct vs_diag *d)
{
    uint64_t n = h->n;
    if (n == 0)
        return VS_OK;
    /* depth first on level 0 from the entry point, the closest unseen
     * neighbour first (list order without vecs): the walk stays in a
     * region of the space until it has numbered it, so neighbours get
     * near numbers. A stack of nodes to visit: each node pushes its unseen
     * neighbours once, when numbered; an entry already numbered when it
     * is popped is skipped. A node no walk reaches (lists are pruned)
     * starts a new one, lowest first. */
    uint8_t *seen = calloc(n, 1);
    size_t cap = 4096, sp = 0;
    uint32_t *stack = malloc(cap * sizeof *stack);
    struct kid *kid = malloc((h->M0 + 1) * sizeof *kid);
    int rc = VS_OK;
    if (!seen || !stack || !kid) {
        rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory ordering the graph");
        goto done;
    }
    uint64_t tail = 0, next = 0;
    stack[sp++] = h->entry;
    for (;;) {
        while (sp) {
            uint32_t u = stack[--sp];
            if (seen[u])
                continue;
            seen[u] = 1;
            perm[tail++] = u;
            const uint32_t *l = list_of(h, u, 0);
            if (!l) {
                rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: a level-0 block is damaged");
                goto done;
            }
            uint32_t c = 0;
            for (uint32_t j = 0; j < l[0]; j++) {
                uint32_t v = l[1 + j];
                if (seen[v])
                    continue;
                kid[c].id = v;
                kid[c].d = vecs ? hnsw_dist(h, vecs + (size_t)u * h->dim, vecs + (size_t)v * h->dim)
                                : (float)j;
                c++;
            }
            sort_kids(kid, c); /* closest first */
            if (sp + c > cap) {
                while (sp + c > cap)
                    cap *= 2;
                uint32_t *ns = realloc(stack, cap * sizeof *stack);
                if (!ns) {
                    rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory ordering the graph");
                    goto done;
                }
                stack = ns;
            }
            for (uint32_t j = c; j-- > 0;) /* the closest is popped first */
                stack[sp++] = kid[j].id;
        }
        if (tail == n)
            break;
        while (seen[next])
            next++;
        stack[sp++] = (uint32_t)next;
    }
done:
    free(seen);
    free(stack);
    free(kid);
    return rc;
}

/* the list l mapped through inv into out (count first), sorted */
static void map_list(const uint32_t *l, const uint32_t *inv, uint32_t *out)
{
    out[0] = l[0];
    for (uint32_t j = 0; j < l[0]; j++)
        out[1 + j] = inv[l[1 + j]];
    qsort(out + 1, out[0], sizeof *out, hnsw_cmp_u32);
}

int vs_hnsw_renumbered(struct vs_hnsw *h, const uint32_t *perm, struct vs_hnsw **out,
                       struct vs_diag *d)
{
    *out = NULL;
    uint64_t n = h->n;
    uint32_t *inv = malloc((n ? n : 1) * sizeof *inv);
    struct vs_hnsw *g = vs_hnsw_alloc(n, h->dim, h->metric, h->M, h->k);
    if (!inv || !g)
        goto nomem;
    memset(inv, 0xff, (n ? n : 1) * sizeof *inv);
    for (uint64_t i = 0; i < n; i++) {
        if (perm[i] >= n || inv[perm[i]] != UINT32_MAX) {
            free(inv);
            vs_hnsw_free(g);
            return vs_diag_set(d, VS_E_INTERNAL, "hnsw: the new order is not a permutation");
        }
        inv[perm[i]] = (uint32_t)i;
    }
    g->efc = h->efc;
    g->seed = h->seed;
    g->maxlevel = h->maxlevel;
    g->entry = n ? inv[h->entry] : 0;
    for (uint64_t b = 0; b < g->nblocks; b++) {
        uint32_t *blk = calloc(blk_rows(g, b) * (g->M0 + 1), sizeof *blk);
        if (!blk)
            goto nomem;
        atomic_store(&g->blocks[b], blk);
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t u = perm[i];
        int L = h->level[u];
        g->level[i] = (uint8_t)L;
        if (L > 0 && !(g->upper[i] = malloc((size_t)L * (g->M + 1) * sizeof(uint32_t))))
            goto nomem;
        for (int lv = 0; lv <= L; lv++) {
            const uint32_t *l = list_of(h, u, lv);
            if (!l) {
                free(inv);
                vs_hnsw_free(g);
                return vs_diag_set(d, VS_E_CORRUPT, "hnsw: a block of the graph is damaged");
            }
            map_list(l, inv, list_of(g, (uint32_t)i, lv));
        }
    }
    free(inv);
    *out = g;
    return VS_OK;
nomem:
    free(inv);
    vs_hnsw_free(g);
    return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory renumbering the graph");
}
