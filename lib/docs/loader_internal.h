/* loader_internal.h: the document struct shared by loader*.c (private). */
#ifndef VS_LOADER_INTERNAL_H
#define VS_LOADER_INTERNAL_H

#include "vs_loader.h"

struct vs_section {
    size_t start;
    json_t *path; /* array of strings, owned */
};

struct vs_doc {
    char *id;
    char *source;
    char *text; /* NUL-terminated, len bytes */
    size_t len, cap;
    enum vs_doc_format format;
    json_t *meta;  /* object, owned */
    json_t *extra; /* object or NULL, owned */
    struct vs_section *sec;
    size_t nsec, seccap;
    size_t *pages; /* byte offset of each page start */
    size_t npages, pagecap;
    size_t *keep; /* pairs [start, end): blocks (code, <pre>) in which a
                     blank line is not a paragraph break; sorted, disjoint */
    size_t nkeep, keepcap; /* nkeep counts pairs */
};

/* Append bytes to doc->text. Returns VS_OK or VS_E_NOMEM. */
int vs_doc_append(struct vs_doc *doc, const char *s, size_t n);
/* Add a section at start with a heading path made from the first `level`
 * entries of titles (entries may be NULL: skipped); steals nothing. */
int vs_doc_add_section(struct vs_doc *doc, size_t start, char *const *titles,
                       int level);
int vs_doc_add_page(struct vs_doc *doc, size_t start);
/* Add a keep range [start, end) after the last one (ranges that overlap the
 * last are ignored). Returns VS_OK or VS_E_NOMEM. */
int vs_doc_add_keep(struct vs_doc *doc, size_t start, size_t end);
struct vs_doc *vs_doc_alloc(const char *id);

/* Format parsers: fill doc->text, sections, pages and metadata.title from
 * the raw bytes. Return VS_OK, VS_E_DATA (d->detail set), VS_E_NOMEM,
 * VS_E_UNSUPPORTED. */
int vs_loader_markdown(struct vs_doc *doc, const char *raw, size_t len,
                       struct vs_diag *d);
int vs_loader_html(struct vs_doc *doc, const char *raw, size_t len,
                   struct vs_diag *d);
/* The same with VS_LOAD_* flags (vs_loader_html: main content, flags 0). */
int vs_loader_html_flags(struct vs_doc *doc, const char *raw, size_t len,
                         unsigned flags, struct vs_diag *d);
int vs_loader_pdf(struct vs_doc *doc, const char *raw, size_t len,
                  struct vs_diag *d);

/* Non-zero when s[0..n) is valid UTF-8 without NUL bytes. */
int vs_utf8_valid(const char *s, size_t n);

#endif
