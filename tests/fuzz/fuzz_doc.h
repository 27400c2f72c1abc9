/* fuzz_doc.h: the HTML and Markdown loader targets (fuzz_html.c,
 * fuzz_markdown.c): load a file as vs-chunk does, then split the document
 * with every splitter and check what comes out.
 *
 * A file that loads must give valid UTF-8 text, sections in order inside
 * it, and chunk records whose text is exactly the document's bytes
 * [start, end), with no chunk over its size (code points or words). */
#ifndef VS_FUZZ_DOC_H
#define VS_FUZZ_DOC_H

#include <jansson.h>

#include "fuzz.h"
#include "loader_internal.h"
#include "vs_chunk.h"

struct fuzz_chunks {
    const char *text;
    size_t len;
    const struct vs_chunk_options *o;
    size_t n;
};

static size_t fuzz_units(const char *s, size_t n, enum vs_chunk_unit u)
{
    size_t c = 0;
    int inword = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (u == VS_CHUNK_CHARS) {
            c += (b & 0xc0) != 0x80;
        } else {
            int ws = b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v';
            c += !ws && !inword;
            inword = !ws;
        }
    }
    return c;
}

static int fuzz_chunk_emit(void *ctx, json_t *rec)
{
    struct fuzz_chunks *c = ctx;
    json_int_t start = json_integer_value(json_object_get(rec, "start"));
    json_int_t end = json_integer_value(json_object_get(rec, "end"));
    const char *t = json_string_value(json_object_get(rec, "text"));
    FUZZ_CHECK(t != NULL);
    FUZZ_CHECK(start >= 0 && start < end && (size_t)end <= c->len);
    FUZZ_CHECK(json_integer_value(json_object_get(rec, "chunk")) == (json_int_t)c->n);
    FUZZ_CHECK(json_string_length(json_object_get(rec, "text")) == (size_t)(end - start));
    FUZZ_CHECK(memcmp(t, c->text + start, (size_t)(end - start)) == 0);
    FUZZ_CHECK(fuzz_units(t, (size_t)(end - start), c->o->unit) <= c->o->size);
    c->n++;
    return VS_OK;
}

static void fuzz_doc(const char *name, const unsigned char *data, size_t size)
{
    char path[512];
    fuzz_write(name, data, size, path, sizeof path);
    struct vs_doc *doc = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_doc_load_file(path, "fuzz", &doc, &d);
    if (st != VS_OK) {
        FUZZ_CHECK(doc == NULL);
        FUZZ_CHECK(st == VS_E_DATA || st == VS_E_NOMEM);
        return;
    }
    size_t len = 0;
    const char *text = vs_doc_text(doc, &len);
    FUZZ_CHECK(text != NULL && vs_utf8_valid(text, len));
    FUZZ_CHECK(json_is_object(vs_doc_metadata(doc)));
    size_t ns = vs_doc_nsections(doc), prev = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t s = vs_doc_section_start(doc, i);
        FUZZ_CHECK(s >= prev && s <= len);
        FUZZ_CHECK(json_is_array(vs_doc_section_path(doc, i)));
        prev = s;
    }
    static const struct vs_chunk_options opts[] = {
        {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 64, 16},
        {VS_SPLITTER_MARKDOWN, VS_CHUNK_WORDS, 12, 3},
        {VS_SPLITTER_SENTENCE, VS_CHUNK_CHARS, 40, 0},
        {VS_SPLITTER_FIXED, VS_CHUNK_CHARS, 17, 5},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        struct vs_chunker *c = NULL;
        FUZZ_CHECK(vs_chunker_new(&opts[i], &c, &d) == VS_OK);
        struct fuzz_chunks fc = {text, len, &opts[i], 0};
        size_t nch = 0;
        st = vs_chunker_doc(c, doc, fuzz_chunk_emit, &fc, &nch, &d);
        FUZZ_CHECK(st == VS_OK);
        FUZZ_CHECK(nch == fc.n);
        vs_chunker_free(c);
    }
    vs_doc_free(doc);
}

#endif
