/* store_export.c: every live record of a store, as vs-index export and
 * list-ids write them (vs_store_export, vs_store.h). */
#include "vs_store.h"

#include "vs_filter.h"
#include "vs_ndjson.h"

int vs_store_export(struct vs_store *s, const struct vs_filter *f, int ids_only,
                    int b64, int (*write)(const json_t *rec, void *arg), void *arg,
                    long long *n, struct vs_diag *d)
{
    long long count = 0;
    int st = VS_OK;
    uint32_t dim = vs_store_settings(s)->dim;
    for (size_t i = 0; st == VS_OK && i < vs_store_nsegments(s); i++) {
        struct vs_segment *g = vs_store_segment(s, i);
        const char *const *ids;
        const float *v = NULL;
        if ((st = vs_segment_ids(g, &ids, d)) != VS_OK ||
            (!ids_only && (st = vs_segment_vectors(g, &v, d)) != VS_OK))
            break;
        for (uint64_t r = 0; r < vs_segment_rows(g); r++) {
            if (!vs_segment_live(g, r))
                continue;
            json_t *rec;
            if (ids_only) {
                if (!(rec = json_pack("{s:s}", "id", ids[r]))) {
                    st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                    break;
                }
            } else {
                if ((st = vs_segment_doc(g, r, &rec, d)) != VS_OK)
                    break;
                if (f && !vs_filter_match(f, rec)) {
                    json_decref(rec);
                    continue;
                }
                if (vs_record_set_vector(rec, v + r * dim, dim, b64) != VS_OK) {
                    json_decref(rec);
                    st = vs_diag_set(d, VS_E_NOMEM, "cannot build a record");
                    break;
                }
            }
            st = write(rec, arg);
            json_decref(rec);
            if (st != VS_OK)
                break;
            count++;
        }
    }
    if (n)
        *n = count;
    return st;
}
