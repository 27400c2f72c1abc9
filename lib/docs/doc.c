/* doc.c: the document object (struct vs_doc, loader_internal.h): text,
 * sections, pages, keep ranges, formats, UTF-8 validation. The loaders and
 * format parsers build documents through it; it calls none of them. */
#include "vs_loader.h"
#include "loader_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *vs_doc_format_name(enum vs_doc_format f)
{
    switch (f) {
    case VS_FORMAT_TEXT: return "text";
    case VS_FORMAT_MARKDOWN: return "markdown";
    case VS_FORMAT_HTML: return "html";
    case VS_FORMAT_PDF: return "pdf";
    case VS_FORMAT_NDJSON: return "ndjson";
    case VS_FORMAT_RECORD: return "record";
    }
    return "unknown";
}

enum vs_doc_format vs_doc_format_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return VS_FORMAT_TEXT;
    dot++;
    if (!strcasecmp(dot, "md") || !strcasecmp(dot, "markdown") ||
        !strcasecmp(dot, "mdown") || !strcasecmp(dot, "mkd"))
        return VS_FORMAT_MARKDOWN;
    if (!strcasecmp(dot, "html") || !strcasecmp(dot, "htm") ||
        !strcasecmp(dot, "xhtml"))
        return VS_FORMAT_HTML;
    if (!strcasecmp(dot, "pdf"))
        return VS_FORMAT_PDF;
    if (!strcasecmp(dot, "jsonl") || !strcasecmp(dot, "ndjson"))
        return VS_FORMAT_NDJSON;
    return VS_FORMAT_TEXT;
}

int vs_doc_is_document(const char *path)
{
    static const char *const text_ext[] = {
        "txt", "text", "rst", "adoc", "asciidoc", "org", "tex", "mdown", "mkd", NULL};
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) /* README, NEWS, LICENSE: text */
        return 1;
    if (vs_doc_format_of(path) != VS_FORMAT_TEXT)
        return 1;
    for (size_t i = 0; text_ext[i]; i++)
        if (!strcasecmp(dot + 1, text_ext[i]))
            return 1;
    return 0;
}

int vs_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; min = 0x80; c &= 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; min = 0x800; c &= 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

struct vs_doc *vs_doc_alloc(const char *id)
{
    struct vs_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->id = strdup(id ? id : "");
    doc->meta = json_object();
    doc->text = malloc(1);
    if (!doc->id || !doc->meta || !doc->text) {
        vs_doc_free(doc);
        return NULL;
    }
    doc->text[0] = '\0';
    doc->cap = 1;
    return doc;
}

void vs_doc_free(struct vs_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nsec; i++)
        json_decref(doc->sec[i].path);
    free(doc->sec);
    free(doc->pages);
    free(doc->keep);
    json_decref(doc->meta);
    json_decref(doc->extra);
    free(doc->text);
    free(doc->source);
    free(doc->id);
    free(doc);
}

int vs_doc_append(struct vs_doc *doc, const char *s, size_t n)
{
    if (doc->len + n + 1 > doc->cap) {
        size_t cap = doc->cap ? doc->cap : 64;
        while (cap < doc->len + n + 1)
            cap *= 2;
        char *p = realloc(doc->text, cap);
        if (!p)
            return VS_E_NOMEM;
        doc->text = p;
        doc->cap = cap;
    }
    memcpy(doc->text + doc->len, s, n);
    doc->len += n;
    doc->text[doc->len] = '\0';
    return VS_OK;
}

int vs_doc_add_section(struct vs_doc *doc, size_t start, char *const *titles,
                       int level)
{
    if (doc->nsec == doc->seccap) {
        size_t cap = doc->seccap ? doc->seccap * 2 : 8;
        struct vs_section *p = realloc(doc->sec, cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->sec = p;
        doc->seccap = cap;
    }
    json_t *path = json_array();
    if (!path)
        return VS_E_NOMEM;
    for (int i = 0; i < level; i++)
        if (titles[i] && json_array_append_new(path, json_string(titles[i]))) {
            json_decref(path);
            return VS_E_NOMEM;
        }
    /* Two headings at one offset (nothing between them): keep the later. */
    if (doc->nsec && doc->sec[doc->nsec - 1].start == start) {
        json_decref(doc->sec[doc->nsec - 1].path);
        doc->sec[doc->nsec - 1].path = path;
        return VS_OK;
    }
    doc->sec[doc->nsec].start = start;
    doc->sec[doc->nsec].path = path;
    doc->nsec++;
    return VS_OK;
}

int vs_doc_add_page(struct vs_doc *doc, size_t start)
{
    if (doc->npages == doc->pagecap) {
        size_t cap = doc->pagecap ? doc->pagecap * 2 : 8;
        size_t *p = realloc(doc->pages, cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->pages = p;
        doc->pagecap = cap;
    }
    doc->pages[doc->npages++] = start;
    return VS_OK;
}

int vs_doc_add_keep(struct vs_doc *doc, size_t start, size_t end)
{
    if (end <= start ||
        (doc->nkeep && start < doc->keep[2 * doc->nkeep - 1]))
        return VS_OK;
    if (doc->nkeep == doc->keepcap) {
        size_t cap = doc->keepcap ? doc->keepcap * 2 : 8;
        size_t *p = realloc(doc->keep, 2 * cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->keep = p;
        doc->keepcap = cap;
    }
    doc->keep[2 * doc->nkeep] = start;
    doc->keep[2 * doc->nkeep + 1] = end;
    doc->nkeep++;
    return VS_OK;
}

const char *vs_doc_id(const struct vs_doc *doc) { return doc->id; }
const char *vs_doc_source(const struct vs_doc *doc) { return doc->source; }
const char *vs_doc_text(const struct vs_doc *doc, size_t *len)
{
    if (len)
        *len = doc->len;
    return doc->text;
}
enum vs_doc_format vs_doc_format(const struct vs_doc *doc) { return doc->format; }
json_t *vs_doc_metadata(const struct vs_doc *doc) { return doc->meta; }
json_t *vs_doc_extra(const struct vs_doc *doc) { return doc->extra; }
size_t vs_doc_nsections(const struct vs_doc *doc) { return doc->nsec; }
size_t vs_doc_section_start(const struct vs_doc *doc, size_t i)
{
    return doc->sec[i].start;
}
json_t *vs_doc_section_path(const struct vs_doc *doc, size_t i)
{
    return doc->sec[i].path;
}

long vs_doc_page_at(const struct vs_doc *doc, size_t off)
{
    if (!doc->npages)
        return 0;
    size_t lo = 0, hi = doc->npages; /* last page with start <= off */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (doc->pages[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return (long)lo + 1;
}
