/* api_chunks.c: chunking of texts and files (vs_chunks_* of vecstore.h),
 * over the docs/ module: the same splitters and chunk records as vs-chunk.
 * A vs_chunks object holds the records as JSON texts. */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "vs_chunk.h"
#include "vs_loader.h"

struct vs_chunks {
    char **rec; /* JSON object texts */
    size_t n, cap;
};

void vs_chunks_opts_init(struct vs_chunks_opts *o, size_t size)
{
    if (!o)
        return;
    struct vs_chunks_opts def = {size, "recursive", "chars", 1000, 0, (size_t)-1};
    memcpy(o, &def, size < sizeof def ? size : sizeof def);
}

void vs_chunks_free(vs_chunks *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->rec[i]);
    free(c->rec);
    free(c);
}

size_t vs_chunks_count(const vs_chunks *c) { return c ? c->n : 0; }

const char *vs_chunks_record(const vs_chunks *c, size_t i)
{
    return c && i < c->n ? c->rec[i] : NULL;
}

static int keep_record(void *ctx, json_t *rec)
{
    vs_chunks *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **r = realloc(c->rec, cap * sizeof *r);
        if (!r)
            return VS_E_NOMEM;
        c->rec = r;
        c->cap = cap;
    }
    char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s)
        return VS_E_NOMEM;
    c->rec[c->n++] = s;
    return VS_OK;
}

/* The module's options from the caller's; VS_OK or VS_E_USAGE in err. */
static int chunk_options(const struct vs_chunks_opts *opts, struct vs_chunk_options *co,
                         struct vs_error *err)
{
    struct vs_chunks_opts o;
    vs_chunks_opts_init(&o, sizeof o);
    int rc = vs_api_take_opts(&o, sizeof o, opts, err, "vs_chunks_opts");
    if (rc != VS_OK)
        return rc;
    memset(co, 0, sizeof *co);
    if (vs_splitter_parse(o.splitter ? o.splitter : "recursive", &co->splitter) != VS_OK)
        return vs_api_usage(err, "splitter",
                            "splitter must be fixed, recursive, sentence or markdown");
    if (vs_chunk_unit_parse(o.unit ? o.unit : "chars", &co->unit) != VS_OK)
        return vs_api_usage(err, "unit", "unit must be chars or words");
    co->size = o.chunk_size;
    co->overlap = o.overlap;
    co->min_size = o.min_size == (size_t)-1 ? o.chunk_size / 10 : o.min_size;
    return VS_OK;
}

/* Split doc into a new vs_chunks object (doc is freed). */
static int split_doc(struct vs_doc *doc, const struct vs_chunk_options *co, vs_chunks **out,
                     struct vs_error *err)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_chunker *ch = NULL;
    vs_chunks *c = calloc(1, sizeof *c);
    int rc = c ? vs_chunker_new(co, &ch, &d) : vs_diag_set(&d, VS_E_NOMEM, "out of memory");
    if (rc == VS_E_USAGE)
        vs_diag_field(&d, "%s", strstr(d.detail, "overlap")   ? "overlap"
                                : strstr(d.detail, "minimum") ? "min_size"
                                                              : "chunk_size");
    if (rc == VS_OK)
        rc = vs_chunker_doc(ch, doc, keep_record, c, NULL, &d);
    if (rc == VS_E_NOMEM && !d.detail[0])
        vs_diag_set(&d, VS_E_NOMEM, "out of memory");
    vs_chunker_free(ch);
    vs_doc_free(doc);
    if (rc != VS_OK) {
        vs_chunks_free(c);
        return vs_api_fail(err, rc, &d);
    }
    *out = c;
    return VS_OK;
}

int vs_chunks_split_text(const char *doc_id, const char *text, size_t len, int markdown,
                         const struct vs_chunks_opts *opts, vs_chunks **out,
                         struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!doc_id || !*doc_id || (!text && len) || !out)
        return vs_api_usage(err, doc_id && *doc_id ? NULL : "doc_id",
                            "vs_chunks_split_text needs a doc_id, a text and an out pointer");
    struct vs_chunk_options co;
    int rc = chunk_options(opts, &co, err);
    if (rc != VS_OK)
        return rc;
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_doc *doc;
    rc = vs_doc_from_text(doc_id, text ? text : "", len,
                          markdown ? VS_FORMAT_MARKDOWN : VS_FORMAT_TEXT, &doc, &d);
    if (rc != VS_OK)
        return vs_api_fail(err, rc, &d);
    return split_doc(doc, &co, out, err);
}

int vs_chunks_split_file(const char *path, const char *doc_id,
                         const struct vs_chunks_opts *opts, vs_chunks **out,
                         struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return vs_api_usage(err, "path", "vs_chunks_split_file needs a path and an out pointer");
    struct vs_chunk_options co;
    int rc = chunk_options(opts, &co, err);
    if (rc != VS_OK)
        return rc;
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_doc *doc;
    rc = vs_doc_load_file(path, doc_id && *doc_id ? doc_id : path, &doc, &d);
    if (rc != VS_OK)
        return vs_api_fail(err, rc, &d);
    return split_doc(doc, &co, out, err);
}
