/* store_hnsw.c: a store's HNSW settings (read from and written to the
 * manifest, checked) and attaching the graph builder to a segment writer.
 * The builder is segment_index.c; opening a segment's graph is segment.c.
 * See store_hnsw_internal.h. */
#include "store_hnsw_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"

#include <stdlib.h>
#include <string.h>

int vs_store_hnsw_read(json_t *manifest, struct vs_store_settings *st)
{
    st->hnsw_m = st->hnsw_ef_construction = 0;
    st->hnsw_seeded = 0;
    st->hnsw_seed = 0;
    st->hnsw_quant = 0;
    json_t *o = json_object_get(manifest, "hnsw");
    if (!o || json_is_null(o))
        return VS_OK;
    json_t *m = json_object_get(o, "M"), *e = json_object_get(o, "ef_construction");
    if (!json_is_integer(m) || !json_is_integer(e) || json_integer_value(m) < 2 ||
        json_integer_value(m) > 1024 || json_integer_value(e) < 1 ||
        json_integer_value(e) > 100000)
        return VS_E_CORRUPT;
    st->hnsw_m = (uint32_t)json_integer_value(m);
    st->hnsw_ef_construction = (uint32_t)json_integer_value(e);
    json_t *seed = json_object_get(o, "seed"), *quant = json_object_get(o, "quant");
    if (seed) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            return VS_E_CORRUPT;
        st->hnsw_seeded = 1;
        st->hnsw_seed = (uint64_t)json_integer_value(seed);
    }
    if (quant) {
        enum vs_quant_kind k;
        if (!json_is_string(quant) || vs_quant_parse(json_string_value(quant), &k) != VS_OK)
            return VS_E_VERSION;
        st->hnsw_quant = (uint32_t)k;
    }
    return VS_OK;
}

json_t *vs_store_hnsw_json(const struct vs_store_settings *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "M", json_integer(st->hnsw_m));
    json_object_set_new(o, "ef_construction",
                        json_integer(st->hnsw_ef_construction ? st->hnsw_ef_construction : 200));
    json_object_set_new(o, "min_rows", json_integer(VS_HNSW_MIN_ROWS));
    if (st->hnsw_seeded)
        json_object_set_new(o, "seed", json_integer((json_int_t)st->hnsw_seed));
    if (st->hnsw_quant)
        json_object_set_new(o, "quant",
                            json_string(vs_quant_name((enum vs_quant_kind)st->hnsw_quant)));
    return o;
}

int vs_store_hnsw_check(const struct vs_store_settings *st, struct vs_diag *d)
{
    if (st->hnsw_m && (st->hnsw_m < 2 || st->hnsw_m > 1024))
        return vs_diag_set(d, VS_E_USAGE, "hnsw M must be between 2 and 1024");
    if (st->hnsw_ef_construction > 100000)
        return vs_diag_set(d, VS_E_USAGE, "hnsw ef_construction must be at most 100000");
    if (st->hnsw_quant > VS_QUANT_BINARY)
        return vs_diag_set(d, VS_E_USAGE, "unknown vector code kind %u", st->hnsw_quant);
    if (!st->hnsw_m && (st->hnsw_quant || st->hnsw_seeded))
        return vs_diag_set(d, VS_E_USAGE, "a seed or vector codes need HNSW graphs (M)");
    if (st->hnsw_seed > (uint64_t)INT64_MAX)
        return vs_diag_set(d, VS_E_USAGE, "the hnsw seed must be below 2^63");
    return VS_OK;
}

int vs_store_hnsw_attach(struct vs_segw *w, const struct vs_store_settings *st,
                         struct vs_diag *d)
{
    if (!st->hnsw_m)
        return VS_OK;
    /* a seeded store builds on one thread: the same rows, the same graph */
    struct vs_hnsw_opts o = {.M = st->hnsw_m,
                             .ef_construction = st->hnsw_ef_construction,
                             .seed = st->hnsw_seeded ? st->hnsw_seed : 1,
                             .threads = st->hnsw_seeded ? 1 : 0,
                             .simd = -1, .quant = st->hnsw_quant};
    return vs_segw_hnsw(w, st->metric, &o, VS_HNSW_MIN_ROWS, d);
}
