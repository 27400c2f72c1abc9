/* segment_verify.c: the check of a whole segment (vs-index verify): every
 * section against its checksum, then every docs and vectors block, the
 * graph and the codes block by block (segment.c and segment_docs.c read
 * them). */
#include "store_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vs_seg_verify(struct vs_segment *g, struct vs_diag *d)
{
    for (uint32_t i = 0; i < g->nsect; i++) {
        const struct vs_sect *s = &g->sect[i];
        char what[64];
        snprintf(what, sizeof what, "section '%s'", vs_seg_sect_name(s->type));
        void *p;
        /* the docs and vectors sections are checked as a whole (checksum
         * only) here and block by block below */
        int blocks = s->type == VS_SECT_DOCS || s->type == VS_SECT_VECTORS;
        int st = vs_seg_load_bytes(g, what, s->off, s->len, blocks ? s->len : s->raw, s->sum,
                                   blocks ? VS_CODEC_RAW : s->codec, &p, d);
        if (st != VS_OK)
            return st;
        free(p);
    }
    const char *const *ids;
    const float *v;
    int st;
    if ((st = vs_segment_ids(g, &ids, d)) != VS_OK ||
        (st = vs_segment_vectors(g, &v, d)) != VS_OK)
        return st;
    pthread_mutex_lock(&g->mu);
    st = vs_seg_docs_index(g, d);
    uint64_t docs_raw = 0;
    for (uint64_t b = 0; st == VS_OK && b < g->nblocks; b++) {
        if ((st = vs_seg_docs_block(g, b, d)) != VS_OK)
            break;
        docs_raw += g->blk_len;
        /* exactly the docs its entry says */
        uint64_t k = 0;
        for (const char *p = g->blk, *end = g->blk + g->blk_len;
             (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
            k++;
        if (k != g->blk_n)
            st = vs_seg_corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
                                (unsigned long long)b);
    }
    pthread_mutex_unlock(&g->mu);
    if (st == VS_OK && docs_raw != vs_seg_find_sect(g, VS_SECT_DOCS)->raw) {
        vs_diag_where(d, g->path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'docs': size does not match");
    }
    /* the graph and codes: every block decoded and checked on its own too
     * (a search relies on those checks, not on the section's) */
    struct vs_hnsw *h = NULL;
    struct vs_quant *q = NULL;
    int gs = st == VS_OK ? vs_seg_hnsw(g, &h, d) : VS_E_NOTFOUND;
    if (gs == VS_OK && (gs = vs_hnsw_verify(h, d)) != VS_OK)
        vs_diag_where(d, g->path, 0);
    if (gs == VS_OK)
        gs = vs_seg_quant(g, &q, d);
    if (gs == VS_OK && q)
        for (uint64_t b = 0; gs == VS_OK && b < q->nblocks; b++)
            if (vs_quant_check_block(q, b) != 0) {
                vs_diag_where(d, g->path, 0);
                gs = vs_diag_set(d, VS_E_CORRUPT, "section 'quant' block %llu: checksum mismatch",
                                 (unsigned long long)b);
            }
    vs_quant_free(q);
    vs_hnsw_free(h);
    if (st == VS_OK && gs != VS_OK && gs != VS_E_NOTFOUND)
        st = gs;
    return st;
}
