/* loader_pdf.c: PDF documents through poppler-glib (when the build found it:
 * VS_HAVE_POPPLER). The text is each page's text as poppler gives it, pages
 * joined by a blank line; each page start is recorded for metadata.page. */
#include "loader_internal.h"

#include <string.h>

#if defined(VS_HAVE_POPPLER) && VS_HAVE_POPPLER
#include <poppler.h>

int vs_loader_pdf(struct vs_doc *doc, const char *raw, size_t len,
                  struct vs_diag *d)
{
    if (len < 5 || memcmp(raw, "%PDF-", 5) != 0)
        return vs_diag_set(d, VS_E_DATA, "not a PDF file (no %%PDF- header)");
    GError *err = NULL;
    GBytes *bytes = g_bytes_new(raw, len);
    PopplerDocument *pd = poppler_document_new_from_bytes(bytes, NULL, &err);
    int st = VS_OK;
    if (!pd) {
        st = vs_diag_set(d, VS_E_DATA, "cannot read the PDF: %s",
                         err && err->message ? err->message : "unknown error");
        goto done;
    }
    gchar *title = poppler_document_get_title(pd);
    if (title && *title && g_utf8_validate(title, -1, NULL) &&
        json_object_set_new(doc->meta, "title", json_string(title)))
        st = VS_E_NOMEM;
    g_free(title);
    int np = poppler_document_get_n_pages(pd);
    if (json_object_set_new(doc->meta, "pages", json_integer(np)))
        st = VS_E_NOMEM;
    for (int i = 0; i < np && st == VS_OK; i++) {
        if (i)
            st = vs_doc_append(doc, "\n\n", 2);
        if (st == VS_OK)
            st = vs_doc_add_page(doc, doc->len);
        PopplerPage *page = poppler_document_get_page(pd, i);
        if (!page)
            continue;
        char *t = poppler_page_get_text(page);
        if (t && st == VS_OK && g_utf8_validate(t, -1, NULL))
            st = vs_doc_append(doc, t, strlen(t));
        g_free(t);
        g_object_unref(page);
    }
    if (st != VS_OK)
        vs_diag_set(d, st, "out of memory");
done:
    if (pd)
        g_object_unref(pd);
    g_bytes_unref(bytes);
    if (err)
        g_error_free(err);
    return st;
}

#else

int vs_loader_pdf(struct vs_doc *doc, const char *raw, size_t len,
                  struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED,
                       "PDF is not supported: built without poppler-glib");
}

#endif
